/* sysfs — reading the one-line kernel files (sysfs, procfs) that the
 * probes, the environment capture and the counters all look at.
 *
 * Every machine-wide /sys and /proc path goes through here so that a test
 * (or a user debugging another machine's tree) can put a fake root in front
 * of them: "/sys/x" is read as ROOT/sys/x. The root is the one given to
 * sysfs_set_root(), else $GGPERF_SYSFS_ROOT, else none. This is a test and
 * debug knob: per-process files (/proc/self/...) are never redirected and
 * are not read through these functions. */
#ifndef GGPERF_HARNESS_SYSFS_H
#define GGPERF_HARNESS_SYSFS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Use root (a directory standing for "/") in front of every path read
 * through these functions; NULL or "" goes back to $GGPERF_SYSFS_ROOT (or
 * none). For tests: not thread-safe against concurrent readers. */
void sysfs_set_root(const char *root);

/* The root in use ("" for the real one). */
const char *sysfs_root(void);

/* path (absolute, "/sys/...") under the root into buf. Returns 0, or -1
 * when it does not fit. */
int sysfs_path(const char *path, char *buf, size_t len);

/* fopen(path under the root, "r"); NULL with errno as fopen. */
FILE *sysfs_fopen(const char *path);

/* access(path under the root, mode): 0, or -1 with errno. */
int sysfs_access(const char *path, int mode);

/* The first line of path, without its newline, into buf. Returns 0, or -1
 * when the file cannot be opened or is empty. */
int sysfs_read_line(const char *path, char *buf, size_t len);

/* The selected word of a kernel selector file ("always [madvise] never" ->
 * "madvise"; a line without brackets as it is) into buf. Returns 0, or -1
 * when the file cannot be read. */
int sysfs_selected(const char *path, char *buf, size_t len);

/* MemAvailable of /proc/meminfo in bytes, or 0 when it cannot be read. */
uint64_t sysfs_mem_available(void);

/* A decimal kernel field ("12"): its value, or 0 when it is not an int
 * (atoi has undefined behaviour on overflow and reports no errors). */
int sysfs_int(const char *s);

/* A size with an optional K/M/G suffix ("48K", "480M"), in bytes. */
uint64_t sysfs_size(const char *s);

#endif
