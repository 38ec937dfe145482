/* runner — sweeps a workload over the cartesian product of its axes.
 *
 * Order: after the warm-up repetitions, the sweep proceeds in rounds; each
 * round shuffles the configurations with a PRNG seeded from (seed, round)
 * and runs one repetition of each, so slow drift (thermal, page cache,
 * other tenants) spreads over all configurations instead of favouring the
 * ones measured first. The order is a pure function of the seed: a resumed
 * sweep runs the remaining (config, rep) pairs in the order the original
 * would have.
 *
 * Rounds continue until every configuration has `repetitions` of them and
 * (with min_time_s) until each configuration's run() time adds up to
 * min_time_s, never beyond max_rounds.
 *
 * Every repetition is appended to the JSONL stream (results/results.h)
 * and fsync'ed before the next starts. The runner holds no samples in
 * memory: only a bit per (config, rep) done and a time per configuration.
 *
 * Every sample carries two figures from the runner, source "time":
 *   run_ns              wall time of the workload's run() (measured in the
 *                       child for isolated repetitions)
 *   runner_overhead_ns  wall time between the end of the previous run()
 *                       and the start of this one: the runner's own cost
 *                       per repetition (writing + fsync of the previous
 *                       sample, shuffling, progress, fork and pipe for
 *                       isolated repetitions). The first measured
 *                       repetition counts from the start of the rounds.
 * and, when the workload declares its work, bandwidth_gbps and gflops
 * (source "derived": work / run_ns).
 */
#ifndef GGPERF_HARNESS_RUNNER_H
#define GGPERF_HARNESS_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/run/workload.h"

#define RUNNER_MAX_VALUES 64        /* values per axis */
#define RUNNER_MAX_CONFIGS 100000
#define RUNNER_DEFAULT_MAX_ROUNDS 100000

enum runner_status {
    RUNNER_OK = 0,
    RUNNER_EINVAL = -1,      /* bad axis value, bad option */
    RUNNER_ERESULTS = -2,    /* the stream could not be written or read */
    RUNNER_EMISMATCH = -3,   /* --resume of a stream of another workload / plan */
    RUNNER_ENOMEM = -4,
    RUNNER_ESTOPPED = -5,    /* *stop was set: the stream is resumable */
    RUNNER_EMODEL = -6,      /* the model could not be read or synthesized */
};

/* The values swept on each axis. */
struct runner_plan {
    const struct workload *wl;
    int n_axes;
    int n_values[WORKLOAD_MAX_AXES];
    char *values[WORKLOAD_MAX_AXES][RUNNER_MAX_VALUES];   /* owned */
    int64_t nums[WORKLOAD_MAX_AXES][RUNNER_MAX_VALUES];   /* INT: value; CHOICE: index */
    int n_configs;
};

/* Build the plan of wl from one comma list per axis (lists[i] for
 * wl->axes[i]; NULL or lists NULL: that axis's defaults). Every value is
 * checked against its axis (a word of the list, an integer in range, no
 * repeats). Returns 0, or RUNNER_EINVAL with a message naming the axis
 * and the allowed values. Free with runner_plan_free. */
int runner_plan_init(struct runner_plan *p, const struct workload *wl, const char *const *lists, char *err,
                     size_t err_len);
void runner_plan_free(struct runner_plan *p); /* NULL does nothing */

/* The values of configuration id (0 <= id < n_configs) into cfg (text
 * pointers borrowed from the plan); model_path, cache_dir and seed are
 * left as they were. */
void runner_plan_config(const struct runner_plan *p, int id, struct workload_config *cfg);

/* "load=mmap cache=cold" for configuration id. */
void runner_plan_label(const struct runner_plan *p, int id, char *buf, size_t len);

/* The order in which round `round` visits n configurations: a
 * permutation of 0..n-1 into order[], a pure function of (seed, round). */
void runner_round_order(int n, uint64_t seed, uint64_t round, int *order);

struct runner_progress {
    int position, n_configs;    /* this repetition is the position-th (1-based) of its round */
    int round, min_rounds;      /* 0-based round; rounds planned at least */
    long done, total;           /* repetitions done this invocation / planned (at least) */
    bool warmup;
    double elapsed_s, eta_s;    /* eta < 0: unknown */
    const char *label;          /* the configuration, "load=mmap cache=cold" */
};

struct runner_opts {
    const struct workload *wl;
    const char *const *axis_lists;  /* [wl->n_axes] comma lists, NULL entries: defaults (ignored on resume) */
    const char *model_path;         /* for WORKLOAD_NEEDS_MODEL (ignored on resume: the header's) */
    const char *cache_dir;          /* passed to workloads and to the model hash cache; may be NULL */
    int repetitions;                /* >= 1 */
    int warmup;                     /* >= 0 */
    double min_time_s;              /* 0: off */
    int max_rounds;                 /* 0: RUNNER_DEFAULT_MAX_ROUNDS */
    bool until_trusted;             /* after `repetitions`, repeat configurations whose primary figures are
                                     * still flagged noisy (harness/run/trust.h), up to max_rounds (ignored on
                                     * resume: the header's) */
    uint64_t seed;
    const char *stream_path;        /* the JSONL stream: created (must not exist) or resumed */
    bool resume;                    /* continue stream_path: plan, model and seed come from its header */
    bool skip_env;                  /* tests: record no environment (it takes a few ms) */
    int shard_k, shard_n;           /* run only configurations with id % shard_n == shard_k - 1 (1 <= k <= n);
                                     * 0, 0: all. The header keeps every configuration (the same plan) and
                                     * records "shard":{"k","n"}; results_merge joins the shards. Ignored on
                                     * resume: the header's */
    /* Called before each repetition (progress lines are the caller's to print). */
    void (*progress)(void *user, const struct runner_progress *p);
    void *progress_user;
    volatile sig_atomic_t *stop;    /* when set (by a signal handler): stop after the current repetition */
    const char *question;           /* what the sweep asks (a study's), stored in the header; may be NULL */
    const char *compare;            /* its comparisons, ';'-separated (reports/conclude.h), stored as the
                                       header's "study": {"question", "compare": [...]}; may be NULL */
};

struct runner_summary {
    int n_configs;
    long reps_run, reps_ok, reps_failed, reps_skipped;  /* this invocation; skipped: done before (resume) */
    int rounds;
    bool complete;                  /* the sweep finished ("end" written) */
    double overhead_median_ns;      /* median runner_overhead_ns of this invocation (-1: none) */
    double elapsed_s;
};

/* Run the sweep. Failed repetitions and failed setups are recorded and the
 * sweep goes on; the return value is about the sweep itself: RUNNER_OK,
 * RUNNER_ESTOPPED, or a negative runner_status with a message. */
int runner_run(const struct runner_opts *o, struct runner_summary *sum, char *err, size_t err_len);

/* The synthesized model SHAPE/TYPE in cache_dir: its path into path, and
 * whether it exists yet. */
bool runner_synth_path(const char *cache_dir, const char *shape, const char *type, char *path, size_t len);

/* Synthesize model SHAPE (synth shape name) of TYPE (synth --type name)
 * into cache_dir once; later calls reuse the file. Returns 0 with the path,
 * or RUNNER_EMODEL with a message. */
int runner_synth_model(const char *cache_dir, const char *shape, const char *type, char *path, size_t len,
                       char *err, size_t err_len);

/* The built-in default model for workloads that need one and got no -m. */
#define RUNNER_DEFAULT_SHAPE "110m"
#define RUNNER_DEFAULT_TYPE "Q8_0"

#endif
