/* metric — one measured figure and where it came from.
 *
 * Every figure ggperf prints or stores carries its source. A figure that
 * could not be had is METRIC_UNSUPPORTED with the reason; one that was set
 * up but never ran is METRIC_NOT_COUNTED. Neither is ever shown as 0.
 */
#ifndef GGPERF_HARNESS_METRIC_H
#define GGPERF_HARNESS_METRIC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum metric_source {
    METRIC_SRC_HW = 0,    /* hardware PMU through perf_event_open + libpfm4 */
    METRIC_SRC_SW,        /* kernel software events, getrusage, /proc */
    METRIC_SRC_SCHED,     /* scheduler tracepoints, schedstat */
    METRIC_SRC_SIM,       /* valgrind cache simulation */
    METRIC_SRC_DERIVED,   /* computed from others (bandwidth = bytes / time) */
    METRIC_SRC_TIME,      /* monotonic wall-clock timing */
    METRIC_SRC_COUNT
};

enum metric_status {
    METRIC_OK = 0,
    METRIC_UNSUPPORTED,   /* could not be opened here; reason says why */
    METRIC_NOT_COUNTED,   /* opened, but never scheduled / never ran */
};

/* What a figure means, declared where it is made (the workload's metric
 * table, a counter backend, the runner) and stored with it in the results
 * file, so the regression gate never guesses it from a unit or a name.
 * All-zero is "undeclared": what a results file from before semantics
 * reads as (the gate then leaves the figure ungated and says so). */
enum metric_better {
    METRIC_BETTER_UNDECLARED = 0,
    METRIC_BETTER_LOWER,         /* times, misses, faults, bytes moved */
    METRIC_BETTER_HIGHER,        /* rates: tok/s, GB/s achieved by the workload */
    METRIC_BETTER_NEITHER,       /* a fraction, a level, a size: no better or worse */
};

enum metric_kind {
    METRIC_KIND_UNDECLARED = 0,
    METRIC_KIND_SAMPLE,          /* varies from repetition to repetition (time, OS counts): statistics */
    METRIC_KIND_COUNT,           /* deterministic: the same build gives the same value (simulated counts) */
    METRIC_KIND_ENV,             /* the environment, measured once per run (peak bandwidth, probe): context */
    METRIC_KIND_INFO,            /* informational (a configuration echo, a checksum): never compared */
    METRIC_KIND_COUNT_
};

struct metric_sem {
    unsigned char better;        /* enum metric_better */
    unsigned char kind;          /* enum metric_kind */
    bool gated;                  /* in the workload's primary set, gated by default */
    float tolerance;             /* > 0: the relative change the gate lets pass for this metric (a simulated
                                  * miss count moves with memory layout); 0: the gate's default threshold */
};

/* Initializers for declaration tables: METRIC_SEM(HIGHER, SAMPLE, true). */
#define METRIC_SEM(b, k, g) { METRIC_BETTER_##b, METRIC_KIND_##k, (g), 0 }

#define METRIC_NAME_MAX 48
#define METRIC_REASON_MAX 160

struct metric {
    char name[METRIC_NAME_MAX];     /* "l1d_load_misses", "minor_faults", "decode_ns" */
    const char *unit;               /* static string: "ns", "count", "bytes", "GB/s", "tok/s" */
    enum metric_source source;
    enum metric_status status;
    double value;                   /* valid when status == METRIC_OK */
    double running_fraction;        /* hw: time_running / time_enabled; 1 otherwise */
    char reason[METRIC_REASON_MAX]; /* why unsupported / not counted */
    struct metric_sem sem;          /* what it means; zero: undeclared */
};

/* One entry of a declaration table: name is exact, a prefix when it ends
 * in '*' ("sim_*"), or a suffix when it starts with one ("*_ns"). The
 * first matching entry of a table wins. */
struct metric_decl {
    const char *name;
    struct metric_sem sem;
};

/* The first entry of decls[0..n) matching name, or NULL. */
static inline const struct metric_decl *metric_decl_find(const struct metric_decl *decls, int n, const char *name)
{
    for (int i = 0; decls && i < n; i++) {
        const char *d = decls[i].name;
        size_t k = strlen(d), len = strlen(name);
        bool hit = k > 0 && d[k - 1] == '*' ? strncmp(d, name, k - 1) == 0
                   : k > 0 && d[0] == '*'   ? len >= k - 1 && strcmp(name + len - (k - 1), d + 1) == 0
                                            : strcmp(d, name) == 0;
        if (hit)
            return &decls[i];
    }
    return NULL;
}

/* "lower", "higher", "neither"; "" when undeclared. */
static inline const char *metric_better_name(unsigned b)
{
    static const char *const names[] = { "", "lower", "higher", "neither" };
    return b < 4 ? names[b] : "";
}

/* "sample", "count", "env", "info"; "" when undeclared. */
static inline const char *metric_kind_name(unsigned k)
{
    static const char *const names[METRIC_KIND_COUNT_] = { "", "sample", "count", "env", "info" };
    return k < METRIC_KIND_COUNT_ ? names[k] : "";
}

/* The enum of a name above; 0 (undeclared) for NULL or an unknown name. */
static inline unsigned metric_better_from_name(const char *s)
{
    for (unsigned i = 1; s && i < 4; i++)
        if (strcmp(s, metric_better_name(i)) == 0)
            return i;
    return 0;
}

static inline unsigned metric_kind_from_name(const char *s)
{
    for (unsigned i = 1; s && i < METRIC_KIND_COUNT_; i++)
        if (strcmp(s, metric_kind_name(i)) == 0)
            return i;
    return 0;
}

/* "hw", "sw", "sched", "sim", "derived", "time". */
static inline const char *metric_source_name(enum metric_source s)
{
    static const char *const names[METRIC_SRC_COUNT] = { "hw", "sw", "sched", "sim", "derived", "time" };
    return (unsigned)s < METRIC_SRC_COUNT ? names[s] : "unknown";
}

/* "ok", "unsupported", "not counted". */
static inline const char *metric_status_name(enum metric_status s)
{
    switch (s) {
    case METRIC_OK: return "ok";
    case METRIC_UNSUPPORTED: return "unsupported";
    case METRIC_NOT_COUNTED: return "not counted";
    }
    return "unknown";
}

#endif
