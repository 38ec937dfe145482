/* gate suite: the regression gate's verdicts on results files written
 * here (identical, 10% slower with 20 repetitions, too few repetitions,
 * deterministic +2% / +0.5%, throughput direction, no configuration in
 * common, other workload, other CPU, configurations matched by axis values
 * not ids), the exit codes and reports of `ggperf gate`, a stored
 * baseline, and two real measurements of this build (ci/gate.sh, valgrind)
 * that must pass. The statistics on synthetic samples are the gate_stats
 * suite (test_gate_stats.c), history and bisect the gate_history suite
 * (test_gate_history.c); the files come from gate_fixture.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/store/gate.h"
#include "tests/gate_fixture.h"
#include "tests/testutil.h"

/* ---- verdicts ---------------------------------------------------------------- */

START_TEST(test_identical_pass)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, base);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "PASS"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "0 regressed"));
    /* the same figures re-drawn with other noise: still a pass */
    f.seed = 99;
    gfix_write_doc(cur, &f, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_msg(gfix_gate_cli(args) == 0, "%s", gfix_out);
}
END_TEST

START_TEST(test_slowdown_fails)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    f.scale = 1.10;
    f.seed = 7;
    gfix_write_doc(cur, &f, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(gfix_out, "regressed"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "decode_ns"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "statistical (U test, Holm)"));
    ck_assert_ptr_nonnull(strstr(gfix_err, "FAIL"));

    struct gate_report *r = gfix_compare(base, cur, NULL);
    ck_assert_uint_eq(r->counts[GATE_REGRESSED], 2);
    const struct gate_row *row = gfix_find_row(r, "size=s", "decode_ns");
    ck_assert_int_eq(row->verdict, GATE_REGRESSED);
    ck_assert_int_eq(row->kind, GATE_KIND_TIMING);
    ck_assert(row->p < 0.01);
    ck_assert(row->change > 0.07 && row->change < 0.13);
    ck_assert(row->p_adj >= row->p && row->p_adj < 0.01);
    ck_assert(row->ci_lo > 0.05 && row->ci_hi < 0.15 && row->ci_lo < row->change && row->change < row->ci_hi);
    ck_assert(row->mde > 0 && row->mde < 0.03); /* 1% noise, 20 vs 20: a few percent are detectable */
    ck_assert_uint_eq(r->n_family, 2);
    ck_assert_uint_eq(row->n_base, 20);
    ck_assert_uint_eq(row->n_cur, 20);
    ck_assert_int_eq(gate_failed(r), 1);
    gate_report_free(r);

    /* a threshold above the change: significant but small, so unchanged */
    snprintf(args, sizeof args, "--baseline %s --current %s --threshold 15%%", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    /* the same 10% faster is an improvement, not a failure */
    snprintf(args, sizeof args, "--baseline %s --current %s", cur, base);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "improved"));
}
END_TEST

START_TEST(test_throughput_direction)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec tput[] = { { "decode_tps", "tok/s", "derived", 50, 0.01, "higher", "sample", true, 0 } };
    struct fspec f = { .reps = 12, .scale = 1 };
    gfix_write_doc(base, &f, tput, 1);
    f.scale = 0.9;
    f.seed = 3;
    gfix_write_doc(cur, &f, tput, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1); /* 10% fewer tokens per second */
    snprintf(args, sizeof args, "--baseline %s --current %s", cur, base);
    ck_assert_int_eq(gfix_gate_cli(args), 0); /* 11% more: improved */
    ck_assert_ptr_nonnull(strstr(gfix_out, "improved"));
    /* the override list turns the direction round */
    snprintf(args, sizeof args, "--baseline %s --current %s --lower-is-better=decode_tps", cur, base);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
}
END_TEST

START_TEST(test_too_few_reps_undecided)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 3, .scale = 1 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    f.scale = 1.5; /* even a 50% slowdown cannot be shown with 3 vs 3 at alpha 0.01 */
    gfix_write_doc(cur, &f, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0); /* undecided passes by default: no crying wolf */
    ck_assert_ptr_nonnull(strstr(gfix_out, "undecided"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "too few repetitions"));
    ck_assert_ptr_null(strstr(gfix_out, "❌ regressed"));
    snprintf(args, sizeof args, "--baseline %s --current %s --undecided=fail", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    snprintf(args, sizeof args, "--baseline %s --current %s --inconclusive fail", base, base);
    ck_assert_int_eq(gfix_gate_cli(args), 1); /* identical, but still too few to say */

    struct gate_report *r = gfix_compare(base, cur, NULL);
    const struct gate_row *row = gfix_find_row(r, "size=m", "decode_ns");
    ck_assert_int_eq(row->verdict, GATE_UNDECIDED);
    ck_assert(fabs(row->min_p - 0.1) < 1e-12);
    gate_report_free(r);
    /* alpha 0.45 makes 3 vs 3 enough: Holm over the two configurations gives 0.2 */
    snprintf(args, sizeof args, "--baseline %s --current %s --alpha 0.45", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(gfix_out, "❌ regressed"));
}
END_TEST

/* Noise wider than the threshold with a modest n: neither regressed nor
 * unchanged, and the note names the detectable effect. */
START_TEST(test_noisy_undecided)
{
    char base[256], cur[256];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec noisy[] = { { "decode_ns", "ns", "time", 1e6, 0.15, "lower", "sample", true, 0 } };
    struct fspec f = { .reps = 8, .scale = 1 };
    gfix_write_doc(base, &f, noisy, 1);
    f.seed = 11;
    gfix_write_doc(cur, &f, noisy, 1);
    struct gate_report *r = gfix_compare(base, cur, NULL);
    const struct gate_row *row = gfix_find_row(r, "size=s", "decode_ns");
    ck_assert_int_eq(row->verdict, GATE_UNDECIDED);
    ck_assert(row->mde > 0.03);
    ck_assert_ptr_nonnull(strstr(row->note, "detect"));
    ck_assert_int_eq(gate_failed(r), 0);
    gate_report_free(r);
}
END_TEST

START_TEST(test_deterministic)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec sim[] = { { "instructions", "count", "sim", 1e9, 0, "lower", "count", true, 0 },
                                        { "alloc_count", "count", "sw", 1000, 0, "lower", "count", true, 0 } };
    struct fspec f = { .reps = 1, .scale = 1 };
    gfix_write_doc(base, &f, sim, 2);
    f.scale = 1.02;
    f.scale_metric = "instructions";
    gfix_write_doc(cur, &f, sim, 2);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(gfix_out, "instructions"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "deterministic"));
    struct gate_report *r = gfix_compare(base, cur, NULL);
    const struct gate_row *row = gfix_find_row(r, "size=s", "instructions");
    ck_assert_int_eq(row->verdict, GATE_REGRESSED);
    ck_assert_int_eq(row->kind, GATE_KIND_DETERMINISTIC);
    ck_assert(isnan(row->p));
    ck_assert_int_eq(gfix_find_row(r, "size=s", "alloc_count")->kind, GATE_KIND_DETERMINISTIC);
    ck_assert_int_eq(gfix_find_row(r, "size=s", "alloc_count")->verdict, GATE_UNCHANGED);
    gate_report_free(r);

    f.scale = 1.005;
    gfix_write_doc(cur, &f, sim, 2);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    f.scale = 0.98;
    gfix_write_doc(cur, &f, sim, 2);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "improved"));
    /* alloc counts up 2% fail as well */
    f.scale = 1.02;
    f.scale_metric = "alloc_count";
    gfix_write_doc(cur, &f, sim, 2);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(gfix_out, "alloc_count"));
    /* --det-threshold 3% lets a 2% change pass, and so does a threshold for that metric alone */
    snprintf(args, sizeof args, "--baseline %s --current %s --det-threshold 3", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    snprintf(args, sizeof args, "--baseline %s --current %s --metric-threshold alloc_count=3%%,x=1", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "deterministic, 3%"));
    snprintf(args, sizeof args, "--baseline %s --current %s --metric-threshold instructions=3%%", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    snprintf(args, sizeof args, "--baseline %s --current %s --metric-threshold alloc_count", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    /* a tolerance declared with the metric (simulated misses move with layout) */
    static const struct mspec miss[] = { { "d1_misses", "count", "sim", 1e6, 0, "lower", "count", true, 0.05 } };
    struct fspec g = { .reps = 1, .scale = 1 };
    gfix_write_doc(base, &g, miss, 1);
    g.scale = 1.03;
    gfix_write_doc(cur, &g, miss, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "deterministic, 5%"));
    g.scale = 1.06;
    gfix_write_doc(cur, &g, miss, 1);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
}
END_TEST

/* The causes: the STREAM peak (an environment figure, identical
 * across repetitions because it is measured once per run) moved -4.4%, and
 * bw_fraction_of_peak (neither direction is better) rose 8%: neither may
 * fail the gate, even with --all-metrics or named with --metrics. */
START_TEST(test_env_and_fraction_never_gated)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec ms[] = {
        { "tokens_per_s", "tok/s", "time", 100, 0.005, "higher", "sample", true, 0 },
        { "peak_triad_gbps", "GB/s", "derived", 20, 0, "higher", "env", false, 0 },
        { "bw_fraction_of_peak", "fraction", "derived", 0.5, 0.005, "neither", "sample", false, 0 },
        { "context_switches", "count", "sw", 100, 0.005, "lower", "sample", false, 0 },
    };
    struct fspec f = { .reps = 20, .scale = 1 };
    gfix_write_doc(base, &f, ms, 4);
    f.seed = 5;
    f.scale = 0.956;
    f.scale_metric = "peak_triad_gbps";
    gfix_write_doc(cur, &f, ms, 4);
    struct gate_report *r = gfix_compare(base, cur, NULL);
    const struct gate_row *peak = gfix_find_row(r, "size=s", "peak_triad_gbps");
    ck_assert_int_eq(peak->verdict, GATE_NOT_GATED);
    ck_assert_ptr_nonnull(strstr(peak->note, "environment"));
    ck_assert(fabs(peak->change + 0.044) < 1e-6); /* shown, with its change */
    ck_assert_int_eq(gfix_find_row(r, "size=s", "context_switches")->verdict, GATE_NOT_GATED); /* not primary */
    ck_assert_ptr_nonnull(strstr(gfix_find_row(r, "size=s", "context_switches")->note, "primary"));
    ck_assert_uint_eq(r->n_family, 2); /* tokens_per_s in the two configurations */
    ck_assert_int_eq(gate_failed(r), 0);
    gate_report_free(r);
    /* a fraction that rises 8% */
    f.scale = 1.08;
    f.scale_metric = "bw_fraction_of_peak";
    gfix_write_doc(cur, &f, ms, 4);
    snprintf(args, sizeof args, "--baseline %s --current %s --all-metrics", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "neither higher nor lower is better"));
    snprintf(args, sizeof args, "--baseline %s --current %s --metrics bw_fraction_of_peak,peak_triad_gbps", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    /* a non-primary sample metric is gated on request */
    f.scale = 1.3;
    f.scale_metric = "context_switches";
    gfix_write_doc(cur, &f, ms, 4);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    snprintf(args, sizeof args, "--baseline %s --current %s --all-metrics", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    snprintf(args, sizeof args, "--baseline %s --current %s --metrics context_switches", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
}
END_TEST

/* A results file from before semantics: nothing is gated (with a warning),
 * unless the caller declares the metric. */
START_TEST(test_undeclared_old_file)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec old[] = { { "decode_ns", "ns", "time", 1e6, 0.01, NULL, NULL, false, 0 },
                                        { "peak_triad_gbps", "GB/s", "derived", 20, 0, NULL, NULL, false, 0 } };
    struct fspec f = { .reps = 20, .scale = 1 };
    gfix_write_doc(base, &f, old, 2);
    f.scale = 1.2;
    f.seed = 9;
    gfix_write_doc(cur, &f, old, 2);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "no declared metric semantics"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "not gated: no declared semantics"));
    snprintf(args, sizeof args, "--baseline %s --current %s --metrics decode_ns --lower-is-better decode_ns", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    /* forced deterministic: compared without statistics */
    struct gate_opts o;
    gate_opts_default(&o);
    static const char *const det[] = { "decode_ns", NULL };
    o.deterministic = o.lower_better = o.metrics = det;
    struct gate_report *r = gfix_compare(base, cur, &o);
    ck_assert_int_eq(gfix_find_row(r, "size=s", "decode_ns")->kind, GATE_KIND_DETERMINISTIC);
    ck_assert_int_eq(gfix_find_row(r, "size=s", "decode_ns")->verdict, GATE_REGRESSED);
    ck_assert_int_eq(gfix_find_row(r, "size=s", "peak_triad_gbps")->verdict, GATE_NOT_GATED);
    gate_report_free(r);
}
END_TEST

START_TEST(test_unusable_input)
{
    const char *dir = tu_tmpdir();
    char base[256], cur[256], other[300], args[1000];
    gfix_paths(dir, base, cur, sizeof base);
    struct fspec f = { .reps = 5, .scale = 1 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    static const char *const vals[] = { "x", "y" };
    struct fspec g = { .reps = 5, .scale = 1, .values = vals, .n_values = 2 };
    gfix_write_doc(cur, &g, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(gfix_err, "no configurations in common"));
    struct gate_opts o;
    gate_opts_default(&o);
    struct gate_report *r = NULL;
    char err[512];
    ck_assert_int_eq(gate_compare_files(base, cur, NULL, NULL, &o, &r, err, sizeof err), GATE_EINPUT);
    ck_assert_ptr_null(r);

    snprintf(other, sizeof other, "%s/other.json", dir);
    struct fspec w = { .reps = 5, .scale = 1, .workload = "load" };
    gfix_write_doc(other, &w, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, other);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(gfix_err, "different workloads"));
    ck_assert_ptr_nonnull(strstr(gfix_err, "'load'"));

    snprintf(args, sizeof args, "--baseline %s --current %s/missing.json", base, dir);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(gfix_err, "missing.json"));
    snprintf(other, sizeof other, "%s/junk.json", dir);
    ck_assert_int_eq(tu_write_file(other, "{\"hello\": 1}\n", 13), 0);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, other);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(gfix_err, "not a ggperf results file"));
    /* -o json says why too */
    snprintf(args, sizeof args, "--baseline %s --current %s -o json", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    json_error_t je;
    json_t *j = json_loads(gfix_out, 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "result")), "error");
    json_decref(j);
    /* usage errors */
    ck_assert_int_eq(gfix_gate_cli("--current x.json"), 2);
    snprintf(args, sizeof args, "--baseline %s --current %s --alpha 2", base, base);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    snprintf(args, sizeof args, "--baseline %s --current %s --undecided=maybe", base, base);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    ck_assert_int_eq(gfix_gate_cli("--help"), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "usage: ggperf gate"));
}
END_TEST

START_TEST(test_different_cpu)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec both[] = { { "decode_ns", "ns", "time", 1e6, 0.01, "lower", "sample", true, 0 },
                                         { "instructions", "count", "sim", 1e9, 0, "lower", "count", true, 0 } };
    struct fspec f = { .reps = 20, .scale = 1 };
    gfix_write_doc(base, &f, both, 2);
    f.cpu = "Other CPU 2000";
    f.scale = 1.2;
    f.scale_metric = "decode_ns";
    gfix_write_doc(cur, &f, both, 2);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "CPU model differs"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "not gated: different CPU"));
    struct gate_report *r = gfix_compare(base, cur, NULL);
    ck_assert(r->cpu_differs);
    ck_assert_int_eq(gfix_find_row(r, "size=s", "decode_ns")->verdict, GATE_NOT_GATED);
    ck_assert_int_eq(gfix_find_row(r, "size=s", "instructions")->verdict, GATE_UNCHANGED); /* still gated */
    gate_report_free(r);
    snprintf(args, sizeof args, "--baseline %s --current %s --gate-across-cpus", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(gfix_out, "❌ regressed"));
}
END_TEST

/* An older file's untrimmed /proc/cpuinfo model name and a newer file's
 * cpu.name (cpuinfo_cpu_name: trimmed) are the same CPU; cpu.name wins
 * over model_name where a file has both. */
START_TEST(test_same_cpu_named_two_ways)
{
    char base[256], cur[256];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1, .cpu = "Test CPU 1000   " };
    gfix_write_doc(base, &f, gfix_timing, 1);
    f.cpu = "Test CPU 1000";
    f.cpu_name = "Test CPU 1000";
    f.scale = 1.2;
    gfix_write_doc(cur, &f, gfix_timing, 1);
    struct gate_report *r = gfix_compare(base, cur, NULL);
    ck_assert(!r->cpu_differs);
    ck_assert_int_eq(gfix_find_row(r, "size=s", "decode_ns")->verdict, GATE_REGRESSED); /* gated: same CPU */
    gate_report_free(r);
    /* cpu.name decides when both files have it */
    f.cpu = "model name A";
    f.cpu_name = "Same Name";
    gfix_write_doc(base, &f, gfix_timing, 1);
    f.cpu = "model name B";
    gfix_write_doc(cur, &f, gfix_timing, 1);
    r = gfix_compare(base, cur, NULL);
    ck_assert(!r->cpu_differs);
    gate_report_free(r);
    f.cpu_name = "Another Name";
    gfix_write_doc(cur, &f, gfix_timing, 1);
    r = gfix_compare(base, cur, NULL);
    ck_assert(r->cpu_differs);
    gate_report_free(r);
}
END_TEST

START_TEST(test_failed_config_inconclusive)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 10, .scale = 1 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    f.fail_config = "m";
    gfix_write_doc(cur, &f, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1); /* a configuration that no longer runs is no pass */
    ck_assert_ptr_nonnull(strstr(gfix_out, "no successful repetition"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "boom: model exploded"));
    /* failed in the baseline only: not gated */
    snprintf(args, sizeof args, "--baseline %s --current %s", cur, base);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "not gated"));
}
END_TEST

START_TEST(test_configs_matched_by_axes)
{
    char base[256], cur[256];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    static const char *const vals[] = { "a", "b", "c" };
    struct fspec f = { .reps = 10, .scale = 1, .values = vals, .n_values = 3 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    /* the current file numbers its configurations the other way round and
     * only b got slower */
    f.reverse_configs = true;
    f.scale = 1.3;
    f.scale_only = "b";
    f.seed = 5;
    gfix_write_doc(cur, &f, gfix_timing, 1);
    struct gate_report *r = gfix_compare(base, cur, NULL);
    ck_assert_uint_eq(r->n_configs_common, 3);
    ck_assert_uint_eq(r->counts[GATE_REGRESSED], 1);
    ck_assert_str_eq(r->rows[0].config, "size=b");
    ck_assert_int_eq(r->rows[0].verdict, GATE_REGRESSED);
    ck_assert_int_eq(gfix_find_row(r, "size=a", "decode_ns")->verdict, GATE_UNCHANGED);
    ck_assert_int_eq(gfix_find_row(r, "size=c", "decode_ns")->verdict, GATE_UNCHANGED);
    /* and the medians are those of the same axis values */
    const struct gate_row *c = gfix_find_row(r, "size=c", "decode_ns");
    ck_assert(fabs(c->cur_median / c->base_median - 1) < 0.02);
    gate_report_free(r);
}
END_TEST

START_TEST(test_json_report)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    f.scale = 1.1;
    gfix_write_doc(cur, &f, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s -o json", base, cur);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    json_error_t je;
    json_t *j = json_loads(gfix_out, 0, &je);
    ck_assert_msg(j != NULL, "%s", je.text);
    ck_assert_str_eq(json_string_value(json_object_get(j, "result")), "fail");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "counts"), "regressed")), 2);
    json_t *row = json_array_get(json_object_get(j, "comparisons"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(row, "verdict")), "regressed");
    ck_assert_str_eq(json_string_value(json_object_get(row, "evidence")), "statistical (U test, Holm)");
    ck_assert(json_real_value(json_object_get(row, "mde")) > 0);
    ck_assert(json_real_value(json_object_get(row, "p_holm")) >= json_real_value(json_object_get(row, "p")));
    ck_assert(json_real_value(json_object_get(row, "p")) < 0.01);
    json_decref(j);
}
END_TEST

START_TEST(test_md_row_cap)
{
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    static char names[GATE_MD_MAX_ROWS + 50][8];
    const char *vals[GATE_MD_MAX_ROWS + 50];
    for (int i = 0; i < GATE_MD_MAX_ROWS + 50; i++) {
        snprintf(names[i], sizeof names[i], "v%d", i);
        vals[i] = names[i];
    }
    struct fspec f = { .reps = 2, .scale = 1, .values = vals, .n_values = GATE_MD_MAX_ROWS + 50 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, base);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(gfix_out, "150 undecided"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "and 50 more rows"));
    ck_assert_ptr_null(strstr(gfix_out, "size=v149 "));
    snprintf(args, sizeof args, "--baseline %s --current %s -o json", base, base);
    ck_assert_int_eq(gfix_gate_cli(args), 0);
    json_t *j = json_loads(gfix_out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "comparisons")), GATE_MD_MAX_ROWS + 50);
    json_decref(j);
}
END_TEST

START_TEST(test_stored_baseline)
{
    const char *dir = tu_tmpdir();
    char base[256], cur[256], args[1200], cmd[1200];
    gfix_paths(dir, base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1 };
    gfix_write_doc(base, &f, gfix_timing, 1);
    f.scale = 1.1;
    gfix_write_doc(cur, &f, gfix_timing, 1);
    snprintf(cmd, sizeof cmd, "cd %s && %s baseline save main base.json --store %s/s.sqlite", dir, tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err), 0);
    /* "main" is not a file in the working directory: looked up in the store */
    snprintf(cmd, sizeof cmd, "cd %s && %s gate --baseline main --current cur.json --store %s/s.sqlite", dir,
             tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err), 1);
    ck_assert_ptr_nonnull(strstr(gfix_out, "stored baseline"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "decode_ns"));
    /* a directory by that name is no results file: the store is asked */
    snprintf(cmd, sizeof cmd, "cd %s && mkdir main && %s gate --baseline main --current cur.json --store %s/s.sqlite",
             dir, tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err), 1);
    ck_assert_ptr_nonnull(strstr(gfix_out, "stored baseline"));
    /* $GGPERF_STORE is the default store */
    snprintf(cmd, sizeof cmd, "cd %s && GGPERF_STORE=%s/s.sqlite %s gate --baseline main --current base.json", dir,
             dir, tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err), 0);
    snprintf(args, sizeof args, "--baseline nosuch --current %s --store %s/s.sqlite", cur, dir);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(gfix_err, "neither a results file nor a baseline"));
    snprintf(args, sizeof args, "--baseline nosuch --current %s --store %s/absent.sqlite", cur, dir);
    ck_assert_int_eq(gfix_gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(gfix_err, "no store at"));
}
END_TEST

/* ---- real measurements ------------------------------------------------------- */

/* valgrind cannot run a sanitizer build; the measurement needs it installed.
 * False with the skip category and the reason when it cannot measure. */
static bool can_measure(const char **cat, char *why, size_t len)
{
    char out[512];
    if (tu_run("command -v valgrind", NULL, 0, NULL, 0) != 0) {
        *cat = "valgrind";
        snprintf(why, len, "valgrind is not installed");
        return false;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s version", tu_ggperf_bin());
    if (tu_run(cmd, out, sizeof out, NULL, 0) != 0 || strstr(out, "-fsanitize")) {
        *cat = "sanitizer";
        snprintf(why, len, "%s is a sanitizer build (valgrind cannot run it)", tu_ggperf_bin());
        return false;
    }
    /* make test runs from the checkout: a missing script is a broken setup, not a skip */
    ck_assert_msg(access("ci/gate.sh", X_OK) == 0, "ci/gate.sh not found from %.200s",
                  getcwd(out, sizeof out) ? out : "?");
    return true;
}

static int measure(const char *bin, const char *out)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "CI_GATE_MODELS=Q8_0 CI_GATE_MODES=decode ./ci/gate.sh --ggperf %s --measure %s", bin,
             out);
    return tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err);
}

START_TEST(test_real_runs_pass)
{
    char why[256];
    const char *cat = "?";
    if (!can_measure(&cat, why, sizeof why)) {
        tu_skip(cat, "%s", why);
        return;
    }
    char base[256], cur[256], args[700];
    gfix_paths(tu_tmpdir(), base, cur, sizeof base);
    ck_assert_msg(measure(tu_ggperf_bin(), base) == 0, "measure: %s", gfix_err);
    ck_assert_msg(measure(tu_ggperf_bin(), cur) == 0, "measure: %s", gfix_err);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_msg(gfix_gate_cli(args) == 0, "%s", gfix_out);
    struct gate_report *r = gfix_compare(base, cur, NULL);
    ck_assert_uint_eq(r->n_configs_common, 1);
    ck_assert_uint_eq(r->n_rows, 5);
    const struct gate_row *ir = gfix_find_row(r, "model=Q8_0, mode=decode", "instructions");
    ck_assert_int_eq(ir->kind, GATE_KIND_DETERMINISTIC);
    ck_assert(ir->base_median > 1e6);
    ck_assert(ir->base_median == ir->cur_median); /* simulated counts: the same build counts the same */
    gate_report_free(r);

    /* A SLOW_KERNEL=1 build, when one was made (make gate-selftest makes
     * build-slow/ggperf): the deterministic gate must catch it. */
    const char *slow = getenv("GGPERF_SLOW_BIN");
    if (!slow || access(slow, X_OK) != 0) {
        tu_skip("slow-build", "slow-build check: GGPERF_SLOW_BIN unset or not executable (make gate-selftest runs it)");
        return;
    }
    ck_assert_msg(measure(slow, cur) == 0, "measure slow: %s", gfix_err);
    ck_assert_int_eq(gfix_gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(gfix_out, "instructions"));
}
END_TEST

Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("verdicts");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_identical_pass);
    tcase_add_test(tc, test_slowdown_fails);
    tcase_add_test(tc, test_throughput_direction);
    tcase_add_test(tc, test_too_few_reps_undecided);
    tcase_add_test(tc, test_noisy_undecided);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_env_and_fraction_never_gated);
    tcase_add_test(tc, test_undeclared_old_file);
    tcase_add_test(tc, test_unusable_input);
    tcase_add_test(tc, test_different_cpu);
    tcase_add_test(tc, test_same_cpu_named_two_ways);
    tcase_add_test(tc, test_failed_config_inconclusive);
    tcase_add_test(tc, test_configs_matched_by_axes);
    tcase_add_test(tc, test_json_report);
    tcase_add_test(tc, test_md_row_cap);
    tcase_add_test(tc, test_stored_baseline);
    suite_add_tcase(s, tc);
    TCase *real = tcase_create("real");
    tcase_set_timeout(real, 120);
    tcase_add_test(real, test_real_runs_pass);
    suite_add_tcase(s, real);
    return s;
}
