/* gate_fixture — results files and helpers for the gate suites
 * (test_gate.c, test_gate_stats.c, test_gate_history.c): gfix_write_doc writes a
 * JSON results document with declared metric semantics, seeded noise and
 * planted slowdowns; gfix_gate_cli runs `ggperf gate` and keeps its output in
 * gfix_out / gfix_err; gfix_compare and gfix_find_row drive the library directly.
 * Separate so that each suite can write the same files. Failures abort
 * the calling test (Check asserts). */
#ifndef GGPERF_TESTS_GATE_FIXTURE_H
#define GGPERF_TESTS_GATE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/store/gate.h"

struct mspec {
    const char *name, *unit, *source;
    double base;    /* value of configuration 0; configuration c gets base * (1 + c) */
    double noise;   /* relative, uniform in [-noise, noise] */
    const char *better, *kind;  /* declared semantics; NULL better: undeclared (an old file) */
    bool gated;
    double tolerance;           /* declared tolerance (0: none) */
};

struct fspec {
    const char *workload;        /* default "fake" */
    const char *cpu;             /* default "Test CPU 1000" */
    const char *cpu_name;         /* environment cpu.name (files since cpuinfo; NULL: none) */
    const char *const *values;   /* of the one axis "size"; default {"s", "m"} */
    int n_values;
    bool reverse_configs;        /* list the configurations in reverse id order of values */
    int reps;
    double scale;                /* every value times this (1 = baseline) */
    const char *scale_only;      /* only this configuration value is scaled (NULL: all) */
    const char *scale_metric;    /* only this metric is scaled (NULL: all) */
    const char *fail_config;     /* every repetition of this configuration value failed */
    unsigned seed;
    const char *commit;          /* environment.build.commit (default "abc123") */
};

/* A uniform value in [-1, 1] from a linear congruential state. */
double gfix_uniform(unsigned *state);

/* A JSON results document at path with the given metrics per repetition. */
void gfix_write_doc(const char *path, const struct fspec *f, const struct mspec *ms, int n_ms);

/* One declared, gated sample metric: decode_ns, 1 ms, 1% noise, lower is better. */
extern const struct mspec gfix_timing[1];

/* The stdout and stderr of the last gate_cli / tu_run that used them. */
extern char gfix_out[1 << 20], gfix_err[8192];

/* Run ggperf gate with args; returns the exit status. */
int gfix_gate_cli(const char *args);

/* gate_compare_files(base, cur) with o (NULL: the defaults); asserts success. */
struct gate_report *gfix_compare(const char *base, const char *cur, const struct gate_opts *o);

/* The row of config and metric in r; asserts there is one. */
const struct gate_row *gfix_find_row(const struct gate_report *r, const char *config, const char *metric);

/* dir/base.json and dir/cur.json into base and cur (len bytes each). */
void gfix_paths(const char *dir, char *base, char *cur, size_t len);

#endif
