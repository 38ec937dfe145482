/* cmd_study — the table of predefined studies behind `ggperf study`, open
 * to the tests so every study is checked against its workload descriptor. */
#ifndef GGPERF_CLI_CMD_STUDY_H
#define GGPERF_CLI_CMD_STUDY_H

#include <stddef.h>

#include "harness/run/workload.h"

#define STUDY_MAX_AXES 8
#define WORKLOAD_NAME_FLAG_MAX 64 /* "--" + an axis name */

/* Values swept on one axis of the study's workload: a comma list, checked
 * against the axis (its words, its range) by study_check. */
struct study_axis {
    const char *axis;    /* an axis of the workload, by its descriptor name */
    const char *values;  /* "read,mmap" */
};

struct study {
    const char *name;
    const char *summary;          /* one line for `ggperf study list` */
    const char *details;          /* what it shows and how, for --help */
    const char *model_shape;      /* synthesized when no -m is given; NULL: needs no model */
    const char *model_type;
    const struct workload *wl;    /* the descriptor: a renamed workload does not compile */
    struct study_axis axes[STUDY_MAX_AXES]; /* ends at the first axis == NULL; absent axes take defaults */
    int reps, warmup;             /* the plan */
    const char *metrics;          /* the comparison table's columns */
    const char *title;
    const char *question;         /* what the study asks, said first in its report; NULL: none */
    const char *compare;          /* the comparisons its report concludes on ('; '-separated, each
                                     METRIC: AXIS=A vs B [at AXIS=V,...] [per AXIS]: reports/conclude.h) */
};

/* Study i, or NULL past the end. */
const struct study *study_at(size_t i);

/* Check s against its workload descriptor: every axis exists, is given
 * once and its values are valid for it (runner_plan_init's check), the
 * plan is sane, and a model is named exactly when the workload needs one.
 * Returns 0, or -1 with a message naming the study and what is wrong. */
int study_check(const struct study *s, char *err, size_t err_len);

#endif
