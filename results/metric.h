/* metric — one measured figure and where it came from.
 *
 * Every figure ggperf prints or stores carries its source. A figure that
 * could not be had is METRIC_UNSUPPORTED with the reason; one that was set
 * up but never ran is METRIC_NOT_COUNTED. Neither is ever shown as 0.
 */
#ifndef GGPERF_HARNESS_METRIC_H
#define GGPERF_HARNESS_METRIC_H

#include <stdint.h>

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
};

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
