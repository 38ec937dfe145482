/* sysfs — reading the one-line kernel files (sysfs, procfs) that the
 * probes, the environment capture and the counters all look at. */
#ifndef GGPERF_HARNESS_SYSFS_H
#define GGPERF_HARNESS_SYSFS_H

#include <stddef.h>
#include <stdint.h>

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
