/* ctxswitch — the context-switch probe (harness/machine/probe.h) as a workload:
 * two threads hand a token back and forth `rounds` times through a futex
 * or a pipe, both pinned to one CPU (pin on: every hand-over is a context
 * switch on that CPU) or left to the scheduler (pin off: on an idle
 * machine the two usually sit on different CPUs and the figure becomes a
 * cross-CPU wake-up).
 *
 * Per repetition the pair is started, warmed up (rounds / 10 round trips),
 * then timed with software counters on both threads:
 *   switch_ns             round trip / 2 (time)
 *   round_trip_ns         (time)
 *   context_switches, voluntary_switches, involuntary_switches,
 *   cpu_migrations        (sw, over the timed rounds)
 *   switches_per_round_trip  context_switches / rounds (derived; 2 when
 *                         every hand-over switched)
 */
#include <stdlib.h>

#include "harness/machine/probe.h"
#include "workloads/wlutil.h"

static const char *const ctxswitch_kinds[] = { "futex", "pipe", NULL };
static const char *const ctxswitch_pin[] = { "on", "off", NULL };

enum { AX_KIND, AX_PIN, AX_ROUNDS, AX_N };

static const struct workload_axis ctxswitch_axes[AX_N] = {
    { "kind", "how the token is handed over", WORKLOAD_AXIS_CHOICE, ctxswitch_kinds, 0, 0, "futex,pipe" },
    { "pin", "both threads on one CPU (on) or where the scheduler puts them (off)", WORKLOAD_AXIS_CHOICE,
      ctxswitch_pin, 0, 0, "on" },
    { "rounds", "round trips timed per repetition", WORKLOAD_AXIS_INT, NULL, 10, 100000000, "20000" },
};

struct ctxswitch_state {
    enum probe_pp_mode mode;
    bool pin;
    long rounds;
};

static int ctxswitch_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct ctxswitch_state *s = malloc(sizeof *s);
    if (!s) {
        snprintf(err, err_len, "ctxswitch: out of memory");
        return -1;
    }
    s->mode = cfg->num[AX_KIND] == 0 ? PROBE_PP_FUTEX : PROBE_PP_PIPE;
    s->pin = cfg->num[AX_PIN] == 0;
    s->rounds = (long)cfg->num[AX_ROUNDS];
    *state = s;
    return 0;
}

static const char *const ctxswitch_sw[] = { "context_switches", "voluntary_switches", "involuntary_switches",
                                            "cpu_migrations", NULL };

static int ctxswitch_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct ctxswitch_state *s = state;
    struct probe_pingpong *pp;
    int cpu = s->pin ? probe_first_cpu() : -1;
    if (s->pin && cpu < 0) {
        snprintf(err, err_len, "ctxswitch: no CPU to pin to (affinity unreadable)");
        return -1;
    }
    if (probe_pingpong_new(&pp, s->mode, cpu, err, err_len) != 0)
        return -1;
    int tids[2];
    probe_pingpong_tids(pp, tids);
    uint64_t ns = 0;
    int rc = -1;
    if (probe_pingpong_run(pp, s->rounds / 10 + 1, &ns) != 0) {
        snprintf(err, err_len, "ctxswitch: warm-up ping-pong failed");
        probe_pingpong_free(pp);
        return -1;
    }
    struct wlutil_ctr c;
    wlutil_ctr_open(&c, CTR_SW, tids, 2, true);
    wlutil_ctr_begin(&c);
    int r = probe_pingpong_run(pp, s->rounds, &ns);
    wlutil_ctr_end(&c);
    if (r != 0) {
        snprintf(err, err_len, "ctxswitch: ping-pong failed");
        goto done;
    }
    workload_emit(out, "switch_ns", "ns", METRIC_SRC_TIME, (double)ns / (2.0 * s->rounds));
    workload_emit(out, "round_trip_ns", "ns", METRIC_SRC_TIME, (double)ns / s->rounds);
    wlutil_ctr_emit(&c, out, ctxswitch_sw);
    const struct metric *cs = wlutil_ctr_find(&c, "context_switches");
    if (cs && cs->status == METRIC_OK)
        workload_emit(out, "switches_per_round_trip", "count", METRIC_SRC_DERIVED, cs->value / s->rounds);
    else
        workload_emit_unsupported(out, "switches_per_round_trip", "count", METRIC_SRC_DERIVED,
                                  cs ? cs->reason : c.why[0] ? c.why : "no context_switches counter");
    rc = 0;
done:
    wlutil_ctr_close(&c);
    probe_pingpong_free(pp);
    return rc;
}

static void ctxswitch_teardown(void *state)
{
    free(state);
}

/* The primary set: the cost of one switch. */
static const struct metric_decl ctxswitch_metrics[] = {
    { "switch_ns", METRIC_SEM(LOWER, SAMPLE, true) },
    { "round_trip_ns", METRIC_SEM(LOWER, SAMPLE, false) },
    { "switches_per_round_trip", METRIC_SEM(LOWER, SAMPLE, false) },
};

const struct workload workload_ctxswitch = {
    WORKLOAD_METRICS(ctxswitch_metrics),
    .name = "ctxswitch",
    .description = "context-switch cost: two threads ping-ponging through a futex or a pipe, pinned or not",
    .axes = ctxswitch_axes,
    .n_axes = AX_N,
    .flags = 0,
    .setup = ctxswitch_setup,
    .run = ctxswitch_run,
    .work = NULL,
    .teardown = ctxswitch_teardown,
};
