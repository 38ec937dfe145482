/* study_contention — `ggperf study contention`: the calibration sweep, the
 * study sweep and their report (reports/contention_report.h). */
#ifndef GGPERF_CLI_STUDY_CONTENTION_H
#define GGPERF_CLI_STUDY_CONTENTION_H

#include <stdbool.h>

/* Run the contention study: study_args is the study's `ggperf run`
 * argument list (workload first; its --threads value is replaced by
 * 1..N and 2N for this machine's N CPUs), user[0..n_user) the user's
 * option/value pairs (-r, --seed, -o, --out, --stream, --resume), already
 * checked. Returns a CLI exit code. */
int study_contention(const char *const *study_args, const char *const *user, int n_user, const char *resume,
                     bool force);

#endif
