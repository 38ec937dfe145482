/* testutil — helpers shared by the Check suites: fixture paths, temporary
 * directories, and running the ggperf binary as a user would. */
#ifndef GGPERF_TESTS_TESTUTIL_H
#define GGPERF_TESTS_TESTUTIL_H

#include <stddef.h>

#include "results/metric.h"

/* Directory of the golden models (tests/golden), absolute. */
const char *tu_golden_dir(void);

/* Path of a golden file: tu_golden_path(buf, sizeof buf, "shared-Q4_0.gguf"). */
const char *tu_golden_path(char *buf, size_t len, const char *name);

/* A fresh temporary directory for this test (removed by the OS tmp reaper;
 * tests clean what they can). Returns a static-lifetime path per call. */
const char *tu_tmpdir(void);

/* Path of the ggperf binary under test ($GGPERF_BIN). */
const char *tu_ggperf_bin(void);

/* Run the shell command cmd; capture stdout and stderr (each truncated to
 * the buffer, NUL-terminated; either may be NULL). Returns the exit status
 * (0..255), or 128+signal when killed by a signal, or -1 on failure. */
int tu_run(const char *cmd, char *out, size_t out_len, char *err, size_t err_len);

/* Read a whole file into a malloc'ed buffer; *len gets its size. NULL on error. */
void *tu_read_file(const char *path, size_t *len);

/* Write len bytes to path (truncating). Returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

/* A metric with status ok and value v (running fraction 1). */
struct metric tu_metric(const char *name, const char *unit, enum metric_source src, double v);

/* An unsupported metric with its reason. */
struct metric tu_metric_unsup(const char *name, const char *unit, enum metric_source src, const char *why);

#endif
