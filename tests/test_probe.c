/* probe suite: the capability probe is consistent with itself, the quick
 * benchmarks produce figures, JSON and text never show a missing figure as
 * 0, and the helper modes behind the other suites work. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine/probe.h"
#include "tests/testutil.h"

START_TEST(test_probe_quick_collect)
{
    struct probe_info p;
    ck_assert_int_eq(probe_collect(&p, PROBE_QUICK), 0);
    ck_assert_int_gt(p.n_cpus, 0);
    /* caches from sysfs, CPUID or getconf: an L1 data cache with a sane
     * geometry and a source (a machine with none of them fails here: no
     * x86 or Linux CPU lacks all three) */
    bool l1d = false;
    ck_assert_msg(p.caches.n > 0, "no cache geometry: %s", p.caches.why);
    ck_assert(p.caches.source != CPUINFO_SRC_NONE && p.caches.source != CPUINFO_SRC_USER);
    for (int i = 0; i < p.caches.n; i++) {
        const struct cpuinfo_cache *c = &p.caches.c[i];
        ck_assert(c->size_bytes > 0 && c->ways > 0 && c->line_bytes >= 16);
        if (c->level == 1 && strcmp(c->type, "Data") == 0)
            l1d = true;
    }
    ck_assert(l1d);
    /* PMU verdict and per-event verdicts agree; every "no" has a reason */
    ck_assert_int_eq(p.n_hw, CTR_HW_DEFAULT_N);
    for (int i = 0; i < p.n_hw; i++) {
        ck_assert(p.hw[i].encoding[0] != '\0'); /* libpfm4 resolves every default name */
        if (!p.hw[i].opens)
            ck_assert(p.hw[i].reason[0] != '\0');
        if (!p.pmu_present)
            ck_assert(!p.hw[i].opens);
    }
    if (!p.pmu_present)
        ck_assert(p.pmu_reason[0] != '\0');
    ck_assert(p.sw_ok || p.sw_reason[0]);
    ck_assert(p.tracepoints_ok || p.tracepoints_reason[0]);
    ck_assert(p.valgrind[0] != '\0');
    ck_assert(strcmp(p.thp_enabled, "unknown") == 0 || strcmp(p.thp_enabled, "always") == 0 ||
              strcmp(p.thp_enabled, "madvise") == 0 || strcmp(p.thp_enabled, "never") == 0);
    /* the benchmarks ran: thread counts 1..N, figures present and positive */
    ck_assert_int_ge(p.n_bw, 1);
    ck_assert_int_eq(p.bw[0].threads, 1);
    ck_assert_int_eq(p.bw[p.n_bw - 1].threads, p.n_cpus);
    for (int i = 0; i < p.n_bw; i++) {
        ck_assert_int_eq(p.bw[i].copy_gbps.status, METRIC_OK);
        ck_assert_int_eq(p.bw[i].triad_gbps.status, METRIC_OK);
        ck_assert(p.bw[i].copy_gbps.value > 0 && p.bw[i].triad_gbps.value > 0);
        ck_assert(p.peak_triad_gbps.value >= p.bw[i].triad_gbps.value);
        ck_assert_int_eq(p.bw[i].copy_gbps.source, METRIC_SRC_DERIVED);
    }
    ck_assert_int_eq(p.ctxsw_futex_ns.status, METRIC_OK);
    ck_assert_int_eq(p.ctxsw_pipe_ns.status, METRIC_OK);
    ck_assert(p.ctxsw_futex_ns.value > 0 && p.ctxsw_pipe_ns.value > 0);
}
END_TEST

/* Every metric object: not ok -> a nonempty reason and no value. */
static void check_metrics(json_t *j, int *n_metrics)
{
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
            check_metrics(v, n_metrics);
        return;
    }
    if (!json_is_object(j))
        return;
    json_t *st = json_object_get(j, "status");
    if (json_is_string(st)) {
        (*n_metrics)++;
        const char *name = json_string_value(json_object_get(j, "name"));
        if (strcmp(json_string_value(st), "ok") != 0) {
            json_t *r = json_object_get(j, "reason");
            ck_assert_msg(json_is_string(r) && json_string_length(r) > 0, "%s: no reason", name);
            ck_assert_msg(json_object_get(j, "value") == NULL, "%s is %s but has a value", name,
                          json_string_value(st));
        } else {
            ck_assert_msg(json_is_number(json_object_get(j, "value")), "%s: ok without a value", name);
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
        check_metrics(v, n_metrics);
}

START_TEST(test_probe_json_skipped_benchmarks)
{
    struct probe_info p;
    ck_assert_int_eq(probe_collect(&p, PROBE_NO_BANDWIDTH | PROBE_NO_CTXSW), 0);
    ck_assert_int_eq(p.peak_copy_gbps.status, METRIC_NOT_COUNTED);
    json_t *o;
    ck_assert_int_eq(probe_to_json(&p, &o), 0);
    int n = 0;
    check_metrics(o, &n);
    ck_assert_int_eq(n, 4); /* peak copy/triad, futex/pipe: all skipped */
    json_t *pk = json_object_get(json_object_get(o, "bandwidth"), "peak_triad_gbps");
    ck_assert_str_eq(json_string_value(json_object_get(pk, "status")), "not counted");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(pk, "reason")), "skipped"));
    ck_assert(json_is_boolean(json_object_get(json_object_get(o, "pmu"), "present")));
    ck_assert_int_eq(json_array_size(json_object_get(o, "hw_events")), CTR_HW_DEFAULT_N);
    json_decref(o);
}
END_TEST

START_TEST(test_probe_cli_json)
{
    char cmd[512];
    static char out[65536];
    snprintf(cmd, sizeof cmd, "%s probe --quick --json", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    ck_assert_msg(o != NULL, "not JSON: %s at line %d", e.text, e.line);
    int n = 0;
    check_metrics(o, &n);
    ck_assert_int_ge(n, 6);
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(o, "hw_events"), i, ev) {
        if (!json_is_true(json_object_get(ev, "opens"))) {
            json_t *r = json_object_get(ev, "reason");
            ck_assert(json_is_string(r) && json_string_length(r) > 0);
        }
    }
    json_decref(o);
}
END_TEST

START_TEST(test_probe_cli_text)
{
    char cmd[512];
    static char out[65536];
    snprintf(cmd, sizeof cmd, "%s probe --quick --no-bandwidth", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "perf_event_paranoid"));
    ck_assert_ptr_nonnull(strstr(out, "ctxswitch"));
    /* a missing figure is a word and a reason, never a 0 */
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "unsupported") || strstr(line, "not counted") || strstr(line, "absent")) {
            ck_assert_msg(strchr(line, '(') || strstr(line, ": "), "no reason on: %s", line);
            size_t len = strlen(line);
            ck_assert_msg(!(len >= 2 && strcmp(line + len - 2, " 0") == 0), "a 0 on: %s", line);
        }
    }
}
END_TEST

START_TEST(test_probe_cli_helpers_and_usage)
{
    char cmd[512], out[1024], err[4096];
    const char *bin = tu_ggperf_bin();
    snprintf(cmd, sizeof cmd, "%s probe --bogus", bin);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--bogus"));
    snprintf(cmd, sizeof cmd, "%s probe --touch-pages 0", bin);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--touch-pages"));
    snprintf(cmd, sizeof cmd, "%s probe --touch-pages 10", bin);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "touched 10 pages"));
    snprintf(cmd, sizeof cmd, "%s probe --sim-walk 4096", bin);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "64 lines read, sum 64"));
    snprintf(cmd, sizeof cmd, "%s probe --count", bin);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    snprintf(cmd, sizeof cmd, "%s probe --count %s probe --touch-pages 100", bin, bin);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "minor_faults"));
    snprintf(cmd, sizeof cmd, "%s probe --help", bin);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: ggperf probe"));
}
END_TEST

START_TEST(test_bandwidth_and_pingpong_direct)
{
    struct probe_bw_row rows[PROBE_MAX_BW_ROWS];
    char err[256];
    int threads[2] = { 1, 2 };
    struct probe_bw_opts o = { 1u << 20, 1, threads, 2 };
    ck_assert_int_eq(probe_bandwidth(&o, rows, err, sizeof err), 2);
    ck_assert_int_eq(rows[1].threads, 2);
    ck_assert(rows[0].copy_gbps.value > 0 && rows[1].triad_gbps.value > 0);
    struct probe_bw_opts bad = { 1u << 20, 1, threads, 0 };
    ck_assert_int_eq(probe_bandwidth(&bad, rows, err, sizeof err), CTR_EINVAL);
    uint64_t dflt = probe_bw_default_bytes();
    ck_assert(dflt > 0 && dflt % 4096 == 0);

    struct probe_pingpong *pp;
    ck_assert_int_eq(probe_pingpong_new(&pp, PROBE_PP_PIPE, -1, err, sizeof err), 0);
    int tids[2];
    probe_pingpong_tids(pp, tids);
    ck_assert(tids[0] > 0 && tids[1] > 0 && tids[0] != tids[1]);
    uint64_t ns = 0;
    ck_assert_int_eq(probe_pingpong_run(pp, 200, &ns), 0);
    ck_assert_uint_gt(ns, 0);
    ck_assert_int_eq(probe_pingpong_run(pp, 100, &ns), 0); /* reusable */
    ck_assert_int_eq(probe_pingpong_run(pp, 0, &ns), CTR_EINVAL);
    probe_pingpong_free(pp);
    probe_pingpong_free(NULL);
}
END_TEST

Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_probe_quick_collect);
    tcase_add_test(tc, test_probe_json_skipped_benchmarks);
    tcase_add_test(tc, test_probe_cli_json);
    tcase_add_test(tc, test_probe_cli_text);
    tcase_add_test(tc, test_probe_cli_helpers_and_usage);
    tcase_add_test(tc, test_bandwidth_and_pingpong_direct);
    suite_add_tcase(s, tc);
    return s;
}
