/* sleep — how late does a timed sleep wake up? The floor under every
 * timing on this machine (timer slack, scheduler latency), and a cheap,
 * predictable workload for checking the runner itself. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "harness/machine/clock.h"
#include "harness/run/workload.h"

struct sleep_state {
    int64_t us;
};

static const struct workload_axis sleep_axes[] = {
    { "us", "requested sleep in microseconds", WORKLOAD_AXIS_INT, NULL, 0, 10000000, "100,1000" },
};

static int sleep_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct sleep_state *s = malloc(sizeof *s);
    if (!s) {
        snprintf(err, err_len, "sleep: out of memory");
        return -1;
    }
    s->us = cfg->num[0];
    *state = s;
    return 0;
}

static int sleep_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    const struct sleep_state *s = state;
    struct timespec req = { (time_t)(s->us / 1000000), (long)(s->us % 1000000) * 1000 };
    uint64_t t0 = clock_ns();
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &req)) == EINTR)
        ;
    uint64_t t1 = clock_ns();
    if (rc != 0) {
        snprintf(err, err_len, "clock_nanosleep: error %d", rc);
        return -1;
    }
    double slept = (double)(t1 - t0);
    workload_emit(out, "slept_ns", "ns", METRIC_SRC_TIME, slept);
    workload_emit(out, "overshoot_ns", "ns", METRIC_SRC_TIME, slept - (double)s->us * 1000);
    return 0;
}

static void sleep_teardown(void *state)
{
    free(state);
}

/* The primary set: how late the wake-up comes. */
static const struct metric_decl sleep_metrics[] = {
    { "overshoot_ns", METRIC_SEM(LOWER, SAMPLE, true) },
    { "slept_ns", METRIC_SEM(LOWER, SAMPLE, false) },
};

const struct workload workload_sleep = {
    WORKLOAD_METRICS(sleep_metrics),
    .name = "sleep",
    .description = "timed sleep and its overshoot: the timing floor of this machine",
    .axes = sleep_axes,
    .n_axes = 1,
    .flags = 0,
    .setup = sleep_setup,
    .run = sleep_run,
    .work = NULL,
    .teardown = sleep_teardown,
};
