/* history — gated runs over time: every run `ggperf gate --history` (or
 * `ggperf ab --history`, or `ggperf history import`) stores one point per
 * configuration x gated metric in the store's history table (store.h),
 * keyed by the machine's fingerprint, with its branch and commit. From
 * the series: change points (E-divisive means) and a noise band that can
 * set the gate's threshold (`ggperf gate --threshold auto`).
 *
 * Machine fingerprint: 16 hex digits of FNV-1a over the CPU model, the
 * logical CPU count and the memory size recorded in a results file's
 * environment: runners of one CI matrix row share it, another machine
 * type does not. Series never mix fingerprints.
 *
 * Change points: E-divisive means (Matteson & James, "A nonparametric
 * approach for multiple change point analysis of multivariate data",
 * JASA 2014; the method MongoDB and Apache Otava run on CI performance
 * data), alpha = 1: the split tau maximizing
 *   q(tau) = tau (T - tau) / T * (2/(tau (T - tau)) sum |x_i - y_j|
 *            - C(tau,2)^-1 sum |x_i - x_k| - C(T - tau,2)^-1 sum |y_j - y_k|)
 * over segments of at least min_size points, accepted when a permutation
 * test (perms shuffles from a fixed seed: deterministic) gives p < sig,
 * then applied again inside both halves (binary segmentation).
 */
#ifndef GGPERF_HARNESS_HISTORY_H
#define GGPERF_HARNESS_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/store/gate.h"

enum history_status {
    HISTORY_OK = 0,
    HISTORY_EIO = -1,      /* the store or a results file could not be read or written (err says why) */
    HISTORY_ENOMEM = -2,
    HISTORY_EINPUT = -3,   /* not a usable results file */
};

/* The machine fingerprint of a results file's environment into buf (>= 17 bytes). */
void history_fingerprint(const json_t *environment, char *buf, size_t len);

/* Store the gated rows of r (their current medians) as one point each,
 * with the fingerprint, commit and time of the current results file
 * cur_path and the branch (NULL: $GGPERF_BRANCH, $GITHUB_HEAD_REF,
 * $GITHUB_REF_NAME, $CI_COMMIT_REF_NAME, else ""). The store is created
 * when missing. Returns 0 or a code with err filled. */
int history_record(const char *store_path, const struct gate_report *r, const char *cur_path, const char *branch,
                   char *err, size_t err_len);

/* Import a results file into the history without gating: one point per
 * configuration x metric of its declared primary set (the medians); what
 * a CI matrix row or a Slurm task's results add to the shared store.
 * *n_points gets the number stored. */
int history_import(const char *store_path, const char *results_path, const char *branch, size_t *n_points,
                   char *err, size_t err_len);

/* One series: the points of one machine x workload x configuration x
 * metric, oldest first. */
struct history_series {
    char machine[24], workload[64], config[256], metric[48], unit[32], better[12];
    size_t n;
    double *value;         /* owned */
    char (*commit)[64];    /* owned, [n] */
    char (*branch)[64];    /* owned, [n] */
    char (*time)[32];      /* owned, [n] */
};

struct history_filter {
    const char *machine, *workload, *metric;  /* exact; NULL: any */
    const char *config;                        /* substring; NULL: any */
};

/* The series matching f. Returns 0 with *out (free with
 * history_series_free) and *n, or a code with err filled (a missing
 * store is HISTORY_EIO). */
int history_series_get(const char *store_path, const struct history_filter *f, struct history_series **out,
                       size_t *n, char *err, size_t err_len);
void history_series_free(struct history_series *s, size_t n);

struct history_cp_opts {
    double sig;          /* permutation-test level (0.05) */
    int perms;           /* permutations per test (199) */
    int min_size;        /* points per segment at least (3) */
    uint64_t seed;       /* of the permutations (1): the same series gives the same answer */
};

/* 0.05, 199, 3, 1. */
void history_cp_default(struct history_cp_opts *o);

/* Change points of x[0..n): the indices where a new segment starts,
 * ascending, into cps (capacity max); returns how many (0 when none), or
 * HISTORY_ENOMEM. p_values (may be NULL) gets each one's permutation p. */
int history_change_points(const double *x, size_t n, const struct history_cp_opts *o, size_t *cps, double *p_values,
                          size_t max);

/* The noise band of a series: 1.4826 MAD of the relative deviations from
 * the median, over the points after the last change point; NaN with
 * fewer than 5 such points. */
double history_noise(const double *x, size_t n, const struct history_cp_opts *o);

#endif
