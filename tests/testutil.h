/* testutil — helpers shared by the Check suites: fixture paths, temporary
 * directories, running the ggperf binary as a user would, and the suite's
 * skip state (Check has none). */
#ifndef GGPERF_TESTS_TESTUTIL_H
#define GGPERF_TESTS_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
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

/* Load the HTML page html_path in headless Chromium (--dump-dom) and put the
 * attributes of its <body> tag, which the page's own check script
 * (reports/html.c) fills in after load, into body. Returns false, with a
 * counted skip, when /usr/bin/chromium is not installed; fails the test when
 * Chromium does not run. */
bool tu_chromium_body(const char *html_path, char *body, size_t len);

/* The integer value of attribute attr="N" in a tag's text; -1 when absent. */
int tu_body_attr_int(const char *body, const char *attr);

/* Newlines in s: an error message is one line. */
int tu_count_lines(const char *s);

/* Read a whole file into a malloc'ed buffer; *len gets its size. NULL on error. */
void *tu_read_file(const char *path, size_t *len);

/* Write len bytes to path (truncating). Returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

/* A metric with status ok and value v (running fraction 1). */
struct metric tu_metric(const char *name, const char *unit, enum metric_source src, double v);

/* An unsupported metric with its reason. */
struct metric tu_metric_unsup(const char *name, const char *unit, enum metric_source src, const char *why);

/* ---- skips ---------------------------------------------------------------
 * A test that cannot run here calls tu_skip(category, fmt, ...) and returns.
 * The skip is printed at once and appended to the runner's skip log
 * ($GGPERF_SKIP_LOG, set by tests/check_main.c); after the run the summary
 * lists every skip with its reason, and the run FAILS when the machine does
 * not explain a skip: its category names a capability, and the category's
 * condition (tu_skip_explained) must hold on this machine. A category that
 * is not in the table below never explains anything, so "sysfs has no
 * cache files" cannot pass as a skip.
 *
 * Categories (condition that must hold for the skip to count as explained):
 *   pmu          no PMU (probe_collect's pmu_present is false)
 *   pmu-event    a PMU, but one of the default hardware events does not open
 *   pmu-present  a PMU is present (a test of the no-PMU fallback path)
 *   tracefs      scheduler tracepoints are not usable (probe's tracepoints_ok)
 *   valgrind     valgrind cannot be run (probe's valgrind_ok)
 *   sanitizer    this is a sanitizer build (valgrind cannot run it)
 *   perf         /usr/bin/perf is not installed
 *   perf-sw      software perf events cannot be opened (probe's sw_ok)
 *   avx2         the CPU lacks avx2+fma+f16c
 *   avx512       the CPU lacks avx512f/bw/vl/dq
 *   avx512-vnni  the CPU lacks avx512 VNNI
 *   chromium     /usr/bin/chromium is not installed
 *   affinity     cpu 0 is not in this process's affinity mask
 *   meminfo      /proc/meminfo has no MemAvailable
 *   disk-space   the temporary directory has over 1 TB free
 *   slow-build   $GGPERF_SLOW_BIN is unset or not executable (make gate-selftest sets it)
 */
#define tu_skip(category, ...) tu_skip_named(tcase_name(), (category), __VA_ARGS__)

/* tu_skip with the test's name given. */
void tu_skip_named(const char *test, const char *category, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when this machine/build explains a skip of this category; *why (may
 * be NULL) says what was found either way. Unknown categories: false. */
bool tu_skip_explained(const char *category, char *why, size_t why_len);

/* The known categories, NULL-terminated. */
extern const char *const tu_skip_categories[];

#endif
