/* gate suite: the regression gate's verdicts on results files written
 * here (identical, 10% slower with 20 repetitions, too few repetitions,
 * deterministic +2% / +0.5%, throughput direction, no configuration in
 * common, other workload, other CPU, configurations matched by axis values
 * not ids), the exit codes and reports of `ggperf gate`, a stored
 * baseline, and two real measurements of this build (ci/gate.sh, valgrind)
 * that must pass. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/store/gate.h"
#include "harness/store/history.h"
#include "results/results.h"
#include "results/stats.h"
#include "tests/testutil.h"

/* ---- writing results files ------------------------------------------------ */

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

static double uniform(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return ((*state >> 8) & 0xffff) / 32767.5 - 1.0;
}

/* A JSON results document at path with the given metrics per repetition. */
static void write_doc(const char *path, const struct fspec *f, const struct mspec *ms, int n_ms)
{
    static const char *const dflt[] = { "s", "m" };
    const char *const *vals = f->values ? f->values : dflt;
    int nv = f->values ? f->n_values : 2;
    json_t *axes_vals = json_array();
    for (int i = 0; i < nv; i++)
        json_array_append_new(axes_vals, json_string(vals[f->reverse_configs ? nv - 1 - i : i]));
    json_t *configs = json_array();
    for (int i = 0; i < nv; i++)
        json_array_append_new(configs, json_pack("{s:i, s:{s:s}}", "id", i, "axes", "size",
                                                 vals[f->reverse_configs ? nv - 1 - i : i]));
    json_t *env = json_pack("{s:{s:s}, s:{s:s, s:s, s:s}}", "cpu", "model_name", f->cpu ? f->cpu : "Test CPU 1000",
                            "build", "commit", f->commit ? f->commit : "abc123", "compiler", "cc 12", "flags", "-O2");
    if (f->cpu_name)
        json_object_set_new(json_object_get(env, "cpu"), "name", json_string(f->cpu_name));
    json_t *doc = json_pack("{s:s, s:i, s:{s:s}, s:[{s:s, s:o}], s:o, s:o, s:n}", "schema", RESULTS_SCHEMA, "version",
                            RESULTS_VERSION, "workload", "name", f->workload ? f->workload : "fake", "axes", "name",
                            "size", "values", axes_vals, "configs", configs, "environment", env, "probe");
    ck_assert_ptr_nonnull(doc);
    json_t *samples = json_array();
    unsigned st = f->seed ? f->seed : 1;
    for (int i = 0; i < nv; i++) {
        const char *v = vals[f->reverse_configs ? nv - 1 - i : i];
        int rank = 0; /* the value's position in vals: the same figure whatever the id */
        for (int k = 0; k < nv; k++)
            if (strcmp(vals[k], v) == 0)
                rank = k;
        for (int r = 0; r < f->reps; r++) {
            json_t *metrics = json_array();
            for (int m = 0; m < n_ms; m++) {
                double x = ms[m].base * (1 + rank) * (1 + ms[m].noise * uniform(&st));
                bool scaled = (!f->scale_only || strcmp(f->scale_only, v) == 0) &&
                              (!f->scale_metric || strcmp(f->scale_metric, ms[m].name) == 0);
                if (scaled)
                    x *= f->scale;
                json_t *jm = json_pack("{s:s, s:s, s:s, s:s, s:f}", "name", ms[m].name, "unit", ms[m].unit,
                                       "source", ms[m].source, "status", "ok", "value", x);
                if (ms[m].better) {
                    json_object_set_new(jm, "better", json_string(ms[m].better));
                    json_object_set_new(jm, "kind", json_string(ms[m].kind));
                    json_object_set_new(jm, "gated", json_boolean(ms[m].gated));
                    if (ms[m].tolerance > 0)
                        json_object_set_new(jm, "tolerance", json_real(ms[m].tolerance));
                }
                json_array_append_new(metrics, jm);
            }
            bool failed = f->fail_config && strcmp(f->fail_config, v) == 0;
            if (failed)
                json_array_clear(metrics);
            json_array_append_new(samples, json_pack("{s:s, s:i, s:i, s:{s:s}, s:b, s:s?, s:o}", "kind", "sample",
                                                     "config", i, "rep", r, "axes", "size", v, "ok", !failed, "error",
                                                     failed ? "boom: model exploded" : NULL, "metrics", metrics));
        }
    }
    json_object_set_new(doc, "samples", samples);
    json_object_set_new(doc, "complete", json_true());
    ck_assert_int_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
}

static const struct mspec timing[] = { { "decode_ns", "ns", "time", 1e6, 0.01, "lower", "sample", true, 0 } };

static char out_buf[1 << 20], err_buf[8192];

/* Run ggperf gate with args; returns the exit status. */
static int gate_cli(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s gate %s", tu_ggperf_bin(), args);
    return tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf);
}

static struct gate_report *compare(const char *base, const char *cur, const struct gate_opts *o)
{
    struct gate_opts d;
    gate_opts_default(&d);
    struct gate_report *r = NULL;
    char err[512];
    int rc = gate_compare_files(base, cur, NULL, NULL, o ? o : &d, &r, err, sizeof err);
    ck_assert_msg(rc == GATE_OK, "gate_compare_files: %d %s", rc, err);
    return r;
}

static const struct gate_row *find_row(const struct gate_report *r, const char *config, const char *metric)
{
    for (size_t i = 0; i < r->n_rows; i++)
        if (strcmp(r->rows[i].config, config) == 0 && strcmp(r->rows[i].metric, metric) == 0)
            return &r->rows[i];
    ck_abort_msg("no row %s / %s", config, metric);
    return NULL;
}

static void paths(const char *dir, char *base, char *cur, size_t len)
{
    snprintf(base, len, "%s/base.json", dir);
    snprintf(cur, len, "%s/cur.json", dir);
}

/* ---- pure functions -------------------------------------------------------- */

START_TEST(test_min_p_and_names)
{
    ck_assert(fabs(gate_mwu_min_p(3, 3) - 0.1) < 1e-12);          /* 2 / C(6,3) = 2 / 20 */
    ck_assert(fabs(gate_mwu_min_p(5, 5) - 2.0 / 252) < 1e-12);
    ck_assert(fabs(gate_mwu_min_p(20, 20) - 2.0 / 137846528820.0) < 1e-20);
    ck_assert(gate_mwu_min_p(1, 1) == 1.0);
    ck_assert(gate_mwu_min_p(0, 5) == 1.0);
    ck_assert(fabs(gate_normal_quantile(0.975) - 1.959964) < 1e-5);
    ck_assert(fabs(gate_normal_quantile(0.8) - 0.841621) < 1e-5);
    ck_assert(fabs(gate_normal_quantile(0.5)) < 1e-9);
    ck_assert_str_eq(gate_verdict_name(GATE_UNDECIDED), "undecided");
    ck_assert_str_eq(gate_kind_name(GATE_KIND_TIMING), "statistical (U test, Holm)");
    /* the declaration table matches exact names, prefixes and suffixes, first match winning */
    static const struct metric_decl d[] = { { "sim_d1_bytes", METRIC_SEM(NEITHER, INFO, false) },
                                            { "sim_*", METRIC_SEM(LOWER, COUNT, true) },
                                            { "*_ns", METRIC_SEM(LOWER, SAMPLE, false) } };
    ck_assert_int_eq(metric_decl_find(d, 3, "sim_d1_bytes")->sem.kind, METRIC_KIND_INFO);
    ck_assert_int_eq(metric_decl_find(d, 3, "sim_ll_misses")->sem.kind, METRIC_KIND_COUNT);
    ck_assert_int_eq(metric_decl_find(d, 3, "open_ns")->sem.kind, METRIC_KIND_SAMPLE);
    ck_assert_ptr_null(metric_decl_find(d, 3, "ns_total"));
    ck_assert_int_eq(metric_kind_from_name("env"), METRIC_KIND_ENV);
    ck_assert_int_eq(metric_better_from_name("bogus"), METRIC_BETTER_UNDECLARED);
}
END_TEST

/* ---- verdicts ---------------------------------------------------------------- */

START_TEST(test_identical_pass)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1 };
    write_doc(base, &f, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, base);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "PASS"));
    ck_assert_ptr_nonnull(strstr(out_buf, "0 regressed"));
    /* the same figures re-drawn with other noise: still a pass */
    f.seed = 99;
    write_doc(cur, &f, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_msg(gate_cli(args) == 0, "%s", out_buf);
}
END_TEST

START_TEST(test_slowdown_fails)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1 };
    write_doc(base, &f, timing, 1);
    f.scale = 1.10;
    f.seed = 7;
    write_doc(cur, &f, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "regressed"));
    ck_assert_ptr_nonnull(strstr(out_buf, "decode_ns"));
    ck_assert_ptr_nonnull(strstr(out_buf, "statistical (U test, Holm)"));
    ck_assert_ptr_nonnull(strstr(err_buf, "FAIL"));

    struct gate_report *r = compare(base, cur, NULL);
    ck_assert_uint_eq(r->counts[GATE_REGRESSED], 2);
    const struct gate_row *row = find_row(r, "size=s", "decode_ns");
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
    ck_assert_int_eq(gate_cli(args), 0);
    /* the same 10% faster is an improvement, not a failure */
    snprintf(args, sizeof args, "--baseline %s --current %s", cur, base);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "improved"));
}
END_TEST

START_TEST(test_throughput_direction)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec tput[] = { { "decode_tps", "tok/s", "derived", 50, 0.01, "higher", "sample", true, 0 } };
    struct fspec f = { .reps = 12, .scale = 1 };
    write_doc(base, &f, tput, 1);
    f.scale = 0.9;
    f.seed = 3;
    write_doc(cur, &f, tput, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 1); /* 10% fewer tokens per second */
    snprintf(args, sizeof args, "--baseline %s --current %s", cur, base);
    ck_assert_int_eq(gate_cli(args), 0); /* 11% more: improved */
    ck_assert_ptr_nonnull(strstr(out_buf, "improved"));
    /* the override list turns the direction round */
    snprintf(args, sizeof args, "--baseline %s --current %s --lower-is-better=decode_tps", cur, base);
    ck_assert_int_eq(gate_cli(args), 1);
}
END_TEST

START_TEST(test_too_few_reps_undecided)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 3, .scale = 1 };
    write_doc(base, &f, timing, 1);
    f.scale = 1.5; /* even a 50% slowdown cannot be shown with 3 vs 3 at alpha 0.01 */
    write_doc(cur, &f, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 0); /* undecided passes by default: no crying wolf */
    ck_assert_ptr_nonnull(strstr(out_buf, "undecided"));
    ck_assert_ptr_nonnull(strstr(out_buf, "too few repetitions"));
    ck_assert_ptr_null(strstr(out_buf, "❌ regressed"));
    snprintf(args, sizeof args, "--baseline %s --current %s --undecided=fail", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    snprintf(args, sizeof args, "--baseline %s --current %s --inconclusive fail", base, base);
    ck_assert_int_eq(gate_cli(args), 1); /* identical, but still too few to say */

    struct gate_report *r = compare(base, cur, NULL);
    const struct gate_row *row = find_row(r, "size=m", "decode_ns");
    ck_assert_int_eq(row->verdict, GATE_UNDECIDED);
    ck_assert(fabs(row->min_p - 0.1) < 1e-12);
    gate_report_free(r);
    /* alpha 0.45 makes 3 vs 3 enough: Holm over the two configurations gives 0.2 */
    snprintf(args, sizeof args, "--baseline %s --current %s --alpha 0.45", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "❌ regressed"));
}
END_TEST

/* Noise wider than the threshold with a modest n: neither regressed nor
 * unchanged, and the note names the detectable effect. */
START_TEST(test_noisy_undecided)
{
    char base[256], cur[256];
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec noisy[] = { { "decode_ns", "ns", "time", 1e6, 0.15, "lower", "sample", true, 0 } };
    struct fspec f = { .reps = 8, .scale = 1 };
    write_doc(base, &f, noisy, 1);
    f.seed = 11;
    write_doc(cur, &f, noisy, 1);
    struct gate_report *r = compare(base, cur, NULL);
    const struct gate_row *row = find_row(r, "size=s", "decode_ns");
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
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec sim[] = { { "instructions", "count", "sim", 1e9, 0, "lower", "count", true, 0 },
                                        { "alloc_count", "count", "sw", 1000, 0, "lower", "count", true, 0 } };
    struct fspec f = { .reps = 1, .scale = 1 };
    write_doc(base, &f, sim, 2);
    f.scale = 1.02;
    f.scale_metric = "instructions";
    write_doc(cur, &f, sim, 2);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "instructions"));
    ck_assert_ptr_nonnull(strstr(out_buf, "deterministic"));
    struct gate_report *r = compare(base, cur, NULL);
    const struct gate_row *row = find_row(r, "size=s", "instructions");
    ck_assert_int_eq(row->verdict, GATE_REGRESSED);
    ck_assert_int_eq(row->kind, GATE_KIND_DETERMINISTIC);
    ck_assert(isnan(row->p));
    ck_assert_int_eq(find_row(r, "size=s", "alloc_count")->kind, GATE_KIND_DETERMINISTIC);
    ck_assert_int_eq(find_row(r, "size=s", "alloc_count")->verdict, GATE_UNCHANGED);
    gate_report_free(r);

    f.scale = 1.005;
    write_doc(cur, &f, sim, 2);
    ck_assert_int_eq(gate_cli(args), 0);
    f.scale = 0.98;
    write_doc(cur, &f, sim, 2);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "improved"));
    /* alloc counts up 2% fail as well */
    f.scale = 1.02;
    f.scale_metric = "alloc_count";
    write_doc(cur, &f, sim, 2);
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "alloc_count"));
    /* --det-threshold 3% lets a 2% change pass, and so does a threshold for that metric alone */
    snprintf(args, sizeof args, "--baseline %s --current %s --det-threshold 3", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    snprintf(args, sizeof args, "--baseline %s --current %s --metric-threshold alloc_count=3%%,x=1", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "deterministic, 3%"));
    snprintf(args, sizeof args, "--baseline %s --current %s --metric-threshold instructions=3%%", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    snprintf(args, sizeof args, "--baseline %s --current %s --metric-threshold alloc_count", base, cur);
    ck_assert_int_eq(gate_cli(args), 2);
    /* a tolerance declared with the metric (simulated misses move with layout) */
    static const struct mspec miss[] = { { "d1_misses", "count", "sim", 1e6, 0, "lower", "count", true, 0.05 } };
    struct fspec g = { .reps = 1, .scale = 1 };
    write_doc(base, &g, miss, 1);
    g.scale = 1.03;
    write_doc(cur, &g, miss, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "deterministic, 5%"));
    g.scale = 1.06;
    write_doc(cur, &g, miss, 1);
    ck_assert_int_eq(gate_cli(args), 1);
}
END_TEST

/* The causes: the STREAM peak (an environment figure, identical
 * across repetitions because it is measured once per run) moved -4.4%, and
 * bw_fraction_of_peak (neither direction is better) rose 8%: neither may
 * fail the gate, even with --all-metrics or named with --metrics. */
START_TEST(test_env_and_fraction_never_gated)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec ms[] = {
        { "tokens_per_s", "tok/s", "time", 100, 0.005, "higher", "sample", true, 0 },
        { "peak_triad_gbps", "GB/s", "derived", 20, 0, "higher", "env", false, 0 },
        { "bw_fraction_of_peak", "fraction", "derived", 0.5, 0.005, "neither", "sample", false, 0 },
        { "context_switches", "count", "sw", 100, 0.005, "lower", "sample", false, 0 },
    };
    struct fspec f = { .reps = 20, .scale = 1 };
    write_doc(base, &f, ms, 4);
    f.seed = 5;
    f.scale = 0.956;
    f.scale_metric = "peak_triad_gbps";
    write_doc(cur, &f, ms, 4);
    struct gate_report *r = compare(base, cur, NULL);
    const struct gate_row *peak = find_row(r, "size=s", "peak_triad_gbps");
    ck_assert_int_eq(peak->verdict, GATE_NOT_GATED);
    ck_assert_ptr_nonnull(strstr(peak->note, "environment"));
    ck_assert(fabs(peak->change + 0.044) < 1e-6); /* shown, with its change */
    ck_assert_int_eq(find_row(r, "size=s", "context_switches")->verdict, GATE_NOT_GATED); /* not primary */
    ck_assert_ptr_nonnull(strstr(find_row(r, "size=s", "context_switches")->note, "primary"));
    ck_assert_uint_eq(r->n_family, 2); /* tokens_per_s in the two configurations */
    ck_assert_int_eq(gate_failed(r), 0);
    gate_report_free(r);
    /* a fraction that rises 8% */
    f.scale = 1.08;
    f.scale_metric = "bw_fraction_of_peak";
    write_doc(cur, &f, ms, 4);
    snprintf(args, sizeof args, "--baseline %s --current %s --all-metrics", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "neither higher nor lower is better"));
    snprintf(args, sizeof args, "--baseline %s --current %s --metrics bw_fraction_of_peak,peak_triad_gbps", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    /* a non-primary sample metric is gated on request */
    f.scale = 1.3;
    f.scale_metric = "context_switches";
    write_doc(cur, &f, ms, 4);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    snprintf(args, sizeof args, "--baseline %s --current %s --all-metrics", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    snprintf(args, sizeof args, "--baseline %s --current %s --metrics context_switches", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
}
END_TEST

/* A results file from before semantics: nothing is gated (with a warning),
 * unless the caller declares the metric. */
START_TEST(test_undeclared_old_file)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec old[] = { { "decode_ns", "ns", "time", 1e6, 0.01, NULL, NULL, false, 0 },
                                        { "peak_triad_gbps", "GB/s", "derived", 20, 0, NULL, NULL, false, 0 } };
    struct fspec f = { .reps = 20, .scale = 1 };
    write_doc(base, &f, old, 2);
    f.scale = 1.2;
    f.seed = 9;
    write_doc(cur, &f, old, 2);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "no declared metric semantics"));
    ck_assert_ptr_nonnull(strstr(out_buf, "not gated: no declared semantics"));
    snprintf(args, sizeof args, "--baseline %s --current %s --metrics decode_ns --lower-is-better decode_ns", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    /* forced deterministic: compared without statistics */
    struct gate_opts o;
    gate_opts_default(&o);
    static const char *const det[] = { "decode_ns", NULL };
    o.deterministic = o.lower_better = o.metrics = det;
    struct gate_report *r = compare(base, cur, &o);
    ck_assert_int_eq(find_row(r, "size=s", "decode_ns")->kind, GATE_KIND_DETERMINISTIC);
    ck_assert_int_eq(find_row(r, "size=s", "decode_ns")->verdict, GATE_REGRESSED);
    ck_assert_int_eq(find_row(r, "size=s", "peak_triad_gbps")->verdict, GATE_NOT_GATED);
    gate_report_free(r);
}
END_TEST

/* Family-wise control on synthetic data: 1000 gate runs of 40 null
 * comparisons each (same distribution on both sides, threshold 0 so that
 * only the statistics decide) report a regression in at most about alpha
 * of the runs; the same samples judged per metric at alpha would fail
 * most runs, so the check has teeth. In-process, no files. */
START_TEST(test_familywise_null)
{
    enum { RUNS = 1000, M = 40, N = 16 };
    const double alpha = 0.05;
    unsigned st = 12345;
    int fam_fail = 0, naive_fail = 0, paired_fail = 0;
    double b[N], c[N];
    static struct gate_row prow[M];
    for (int run = 0; run < RUNS; run++) {
        struct gate_report r;
        memset(&r, 0, sizeof r);
        gate_opts_default(&r.opts);
        r.opts.alpha = alpha;
        r.opts.threshold = 0;
        struct gate_row rows[M];
        r.rows = rows;
        r.n_rows = M;
        bool naive = false;
        for (int m = 0; m < M; m++) {
            struct gate_row *row = &rows[m];
            memset(row, 0, sizeof *row);
            snprintf(row->metric, sizeof row->metric, "m%d", m);
            row->kind = GATE_KIND_TIMING;
            row->gated = true;
            row->higher_better = m % 2;
            for (int i = 0; i < N; i++) { /* a skewed null: 100 + exponential-ish noise */
                b[i] = 100 + 5 * -log((uniform(&st) + 1.0001) / 2.0002);
                c[i] = 100 + 5 * -log((uniform(&st) + 1.0001) / 2.0002);
            }
            ck_assert_int_eq(gate_row_measure(row, b, N, c, N, alpha), GATE_OK);
            prow[m] = *row; /* the same samples as pairs (ggperf ab) */
            ck_assert_int_eq(gate_row_measure_paired(&prow[m], b, c, N, alpha), GATE_OK);
            double worse = row->higher_better ? -row->change : row->change;
            naive = naive || (row->p < alpha && worse > 0);
        }
        ck_assert_int_eq(gate_decide(&r), GATE_OK);
        ck_assert_uint_eq(r.n_family, M);
        fam_fail += r.counts[GATE_REGRESSED] > 0;
        naive_fail += naive;
        struct gate_report rp = r;
        rp.rows = prow;
        ck_assert_int_eq(gate_decide(&rp), GATE_OK);
        paired_fail += rp.counts[GATE_REGRESSED] > 0;
    }
    printf("gate: familywise null: %d of %d runs regressed with Holm (alpha %g), %d per metric\n", fam_fail, RUNS,
           alpha, naive_fail);
    /* alpha with a binomial allowance of 3 standard errors */
    ck_assert_msg(fam_fail <= (int)(RUNS * alpha + 3 * sqrt(RUNS * alpha * (1 - alpha))), "%d", fam_fail);
    ck_assert_msg(naive_fail > RUNS / 3, "%d", naive_fail);
    printf("gate: familywise null, paired: %d of %d runs regressed\n", paired_fail, RUNS);
    ck_assert_msg(paired_fail <= (int)(RUNS * alpha + 3 * sqrt(RUNS * alpha * (1 - alpha))), "%d", paired_fail);
}
END_TEST

/* ... and the same machinery still finds one real 5% slowdown among 39 nulls. */
START_TEST(test_familywise_power)
{
    enum { M = 40, N = 20 };
    unsigned st = 777;
    double b[N], c[N];
    struct gate_report r;
    memset(&r, 0, sizeof r);
    gate_opts_default(&r.opts);
    struct gate_row rows[M];
    r.rows = rows;
    r.n_rows = M;
    for (int m = 0; m < M; m++) {
        struct gate_row *row = &rows[m];
        memset(row, 0, sizeof *row);
        snprintf(row->metric, sizeof row->metric, "m%d", m);
        row->kind = GATE_KIND_TIMING;
        row->gated = true;
        row->threshold = r.opts.threshold;
        for (int i = 0; i < N; i++) {
            b[i] = 1e6 * (1 + 0.01 * uniform(&st));
            c[i] = 1e6 * (1 + 0.01 * uniform(&st)) * (m == 17 ? 1.05 : 1);
        }
        ck_assert_int_eq(gate_row_measure(row, b, N, c, N, r.opts.alpha), GATE_OK);
    }
    ck_assert_int_eq(gate_decide(&r), GATE_OK);
    ck_assert_uint_eq(r.counts[GATE_REGRESSED], 1);
    ck_assert_str_eq(r.rows[0].metric, "m17");
    ck_assert_uint_eq(r.counts[GATE_UNCHANGED], M - 1);
}
END_TEST

START_TEST(test_unusable_input)
{
    const char *dir = tu_tmpdir();
    char base[256], cur[256], other[300], args[1000];
    paths(dir, base, cur, sizeof base);
    struct fspec f = { .reps = 5, .scale = 1 };
    write_doc(base, &f, timing, 1);
    static const char *const vals[] = { "x", "y" };
    struct fspec g = { .reps = 5, .scale = 1, .values = vals, .n_values = 2 };
    write_doc(cur, &g, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(err_buf, "no configurations in common"));
    struct gate_opts o;
    gate_opts_default(&o);
    struct gate_report *r = NULL;
    char err[512];
    ck_assert_int_eq(gate_compare_files(base, cur, NULL, NULL, &o, &r, err, sizeof err), GATE_EINPUT);
    ck_assert_ptr_null(r);

    snprintf(other, sizeof other, "%s/other.json", dir);
    struct fspec w = { .reps = 5, .scale = 1, .workload = "load" };
    write_doc(other, &w, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, other);
    ck_assert_int_eq(gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(err_buf, "different workloads"));
    ck_assert_ptr_nonnull(strstr(err_buf, "'load'"));

    snprintf(args, sizeof args, "--baseline %s --current %s/missing.json", base, dir);
    ck_assert_int_eq(gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(err_buf, "missing.json"));
    snprintf(other, sizeof other, "%s/junk.json", dir);
    ck_assert_int_eq(tu_write_file(other, "{\"hello\": 1}\n", 13), 0);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, other);
    ck_assert_int_eq(gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(err_buf, "not a ggperf results file"));
    /* -o json says why too */
    snprintf(args, sizeof args, "--baseline %s --current %s -o json", base, cur);
    ck_assert_int_eq(gate_cli(args), 2);
    json_error_t je;
    json_t *j = json_loads(out_buf, 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "result")), "error");
    json_decref(j);
    /* usage errors */
    ck_assert_int_eq(gate_cli("--current x.json"), 2);
    snprintf(args, sizeof args, "--baseline %s --current %s --alpha 2", base, base);
    ck_assert_int_eq(gate_cli(args), 2);
    snprintf(args, sizeof args, "--baseline %s --current %s --undecided=maybe", base, base);
    ck_assert_int_eq(gate_cli(args), 2);
    ck_assert_int_eq(gate_cli("--help"), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "usage: ggperf gate"));
}
END_TEST

START_TEST(test_different_cpu)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec both[] = { { "decode_ns", "ns", "time", 1e6, 0.01, "lower", "sample", true, 0 },
                                         { "instructions", "count", "sim", 1e9, 0, "lower", "count", true, 0 } };
    struct fspec f = { .reps = 20, .scale = 1 };
    write_doc(base, &f, both, 2);
    f.cpu = "Other CPU 2000";
    f.scale = 1.2;
    f.scale_metric = "decode_ns";
    write_doc(cur, &f, both, 2);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "CPU model differs"));
    ck_assert_ptr_nonnull(strstr(out_buf, "not gated: different CPU"));
    struct gate_report *r = compare(base, cur, NULL);
    ck_assert(r->cpu_differs);
    ck_assert_int_eq(find_row(r, "size=s", "decode_ns")->verdict, GATE_NOT_GATED);
    ck_assert_int_eq(find_row(r, "size=s", "instructions")->verdict, GATE_UNCHANGED); /* still gated */
    gate_report_free(r);
    snprintf(args, sizeof args, "--baseline %s --current %s --gate-across-cpus", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "❌ regressed"));
}
END_TEST

/* An older file's untrimmed /proc/cpuinfo model name and a newer file's
 * cpu.name (cpuinfo_cpu_name: trimmed) are the same CPU; cpu.name wins
 * over model_name where a file has both. */
START_TEST(test_same_cpu_named_two_ways)
{
    char base[256], cur[256];
    paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1, .cpu = "Test CPU 1000   " };
    write_doc(base, &f, timing, 1);
    f.cpu = "Test CPU 1000";
    f.cpu_name = "Test CPU 1000";
    f.scale = 1.2;
    write_doc(cur, &f, timing, 1);
    struct gate_report *r = compare(base, cur, NULL);
    ck_assert(!r->cpu_differs);
    ck_assert_int_eq(find_row(r, "size=s", "decode_ns")->verdict, GATE_REGRESSED); /* gated: same CPU */
    gate_report_free(r);
    /* cpu.name decides when both files have it */
    f.cpu = "model name A";
    f.cpu_name = "Same Name";
    write_doc(base, &f, timing, 1);
    f.cpu = "model name B";
    write_doc(cur, &f, timing, 1);
    r = compare(base, cur, NULL);
    ck_assert(!r->cpu_differs);
    gate_report_free(r);
    f.cpu_name = "Another Name";
    write_doc(cur, &f, timing, 1);
    r = compare(base, cur, NULL);
    ck_assert(r->cpu_differs);
    gate_report_free(r);
}
END_TEST

START_TEST(test_failed_config_inconclusive)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 10, .scale = 1 };
    write_doc(base, &f, timing, 1);
    f.fail_config = "m";
    write_doc(cur, &f, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 1); /* a configuration that no longer runs is no pass */
    ck_assert_ptr_nonnull(strstr(out_buf, "no successful repetition"));
    ck_assert_ptr_nonnull(strstr(out_buf, "boom: model exploded"));
    /* failed in the baseline only: not gated */
    snprintf(args, sizeof args, "--baseline %s --current %s", cur, base);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "not gated"));
}
END_TEST

START_TEST(test_configs_matched_by_axes)
{
    char base[256], cur[256];
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const char *const vals[] = { "a", "b", "c" };
    struct fspec f = { .reps = 10, .scale = 1, .values = vals, .n_values = 3 };
    write_doc(base, &f, timing, 1);
    /* the current file numbers its configurations the other way round and
     * only b got slower */
    f.reverse_configs = true;
    f.scale = 1.3;
    f.scale_only = "b";
    f.seed = 5;
    write_doc(cur, &f, timing, 1);
    struct gate_report *r = compare(base, cur, NULL);
    ck_assert_uint_eq(r->n_configs_common, 3);
    ck_assert_uint_eq(r->counts[GATE_REGRESSED], 1);
    ck_assert_str_eq(r->rows[0].config, "size=b");
    ck_assert_int_eq(r->rows[0].verdict, GATE_REGRESSED);
    ck_assert_int_eq(find_row(r, "size=a", "decode_ns")->verdict, GATE_UNCHANGED);
    ck_assert_int_eq(find_row(r, "size=c", "decode_ns")->verdict, GATE_UNCHANGED);
    /* and the medians are those of the same axis values */
    const struct gate_row *c = find_row(r, "size=c", "decode_ns");
    ck_assert(fabs(c->cur_median / c->base_median - 1) < 0.02);
    gate_report_free(r);
}
END_TEST

START_TEST(test_json_report)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1 };
    write_doc(base, &f, timing, 1);
    f.scale = 1.1;
    write_doc(cur, &f, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s -o json", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    json_error_t je;
    json_t *j = json_loads(out_buf, 0, &je);
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
    paths(tu_tmpdir(), base, cur, sizeof base);
    static char names[GATE_MD_MAX_ROWS + 50][8];
    const char *vals[GATE_MD_MAX_ROWS + 50];
    for (int i = 0; i < GATE_MD_MAX_ROWS + 50; i++) {
        snprintf(names[i], sizeof names[i], "v%d", i);
        vals[i] = names[i];
    }
    struct fspec f = { .reps = 2, .scale = 1, .values = vals, .n_values = GATE_MD_MAX_ROWS + 50 };
    write_doc(base, &f, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, base);
    ck_assert_int_eq(gate_cli(args), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "150 undecided"));
    ck_assert_ptr_nonnull(strstr(out_buf, "and 50 more rows"));
    ck_assert_ptr_null(strstr(out_buf, "size=v149 "));
    snprintf(args, sizeof args, "--baseline %s --current %s -o json", base, base);
    ck_assert_int_eq(gate_cli(args), 0);
    json_t *j = json_loads(out_buf, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "comparisons")), GATE_MD_MAX_ROWS + 50);
    json_decref(j);
}
END_TEST

START_TEST(test_stored_baseline)
{
    const char *dir = tu_tmpdir();
    char base[256], cur[256], args[1200], cmd[1200];
    paths(dir, base, cur, sizeof base);
    struct fspec f = { .reps = 20, .scale = 1 };
    write_doc(base, &f, timing, 1);
    f.scale = 1.1;
    write_doc(cur, &f, timing, 1);
    snprintf(cmd, sizeof cmd, "cd %s && %s baseline save main base.json --store %s/s.sqlite", dir, tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    /* "main" is not a file in the working directory: looked up in the store */
    snprintf(cmd, sizeof cmd, "cd %s && %s gate --baseline main --current cur.json --store %s/s.sqlite", dir,
             tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "stored baseline"));
    ck_assert_ptr_nonnull(strstr(out_buf, "decode_ns"));
    /* a directory by that name is no results file: the store is asked */
    snprintf(cmd, sizeof cmd, "cd %s && mkdir main && %s gate --baseline main --current cur.json --store %s/s.sqlite",
             dir, tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "stored baseline"));
    /* $GGPERF_STORE is the default store */
    snprintf(cmd, sizeof cmd, "cd %s && GGPERF_STORE=%s/s.sqlite %s gate --baseline main --current base.json", dir,
             dir, tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    snprintf(args, sizeof args, "--baseline nosuch --current %s --store %s/s.sqlite", cur, dir);
    ck_assert_int_eq(gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(err_buf, "neither a results file nor a baseline"));
    snprintf(args, sizeof args, "--baseline nosuch --current %s --store %s/absent.sqlite", cur, dir);
    ck_assert_int_eq(gate_cli(args), 2);
    ck_assert_ptr_nonnull(strstr(err_buf, "no store at"));
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
    return tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf);
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
    paths(tu_tmpdir(), base, cur, sizeof base);
    ck_assert_msg(measure(tu_ggperf_bin(), base) == 0, "measure: %s", err_buf);
    ck_assert_msg(measure(tu_ggperf_bin(), cur) == 0, "measure: %s", err_buf);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_msg(gate_cli(args) == 0, "%s", out_buf);
    struct gate_report *r = compare(base, cur, NULL);
    ck_assert_uint_eq(r->n_configs_common, 1);
    ck_assert_uint_eq(r->n_rows, 5);
    const struct gate_row *ir = find_row(r, "model=Q8_0, mode=decode", "instructions");
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
    ck_assert_msg(measure(slow, cur) == 0, "measure slow: %s", err_buf);
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "instructions"));
}
END_TEST

/* The A/B design: pairs share drift (here a slow swing of +-20% over the
 * run, far above the 1% pair noise). Paired, a 5% slowdown is regressed
 * and a null is not; unpaired, the drift drowns the 5%. */
START_TEST(test_paired_cancels_drift)
{
    struct stats_wsr t;
    const double d1[] = { 1, 2, 3, 4, 5 };
    ck_assert_int_eq(stats_wilcoxon_signed_rank(d1, 5, &t), STATS_OK);
    ck_assert(t.exact && fabs(t.p - 2.0 / 32) < 1e-12);
    const double d2[] = { -1, 2, 3, 4, 5, 6, 7, 8 };
    ck_assert_int_eq(stats_wilcoxon_signed_rank(d2, 8, &t), STATS_OK);
    ck_assert(fabs(t.w_plus - 35) < 1e-12 && fabs(t.p - 4.0 / 256) < 1e-12);

    enum { N = 12 };
    double a[N], b[N], b0[N];
    unsigned st = 21;
    for (int k = 0; k < N; k++) {
        double drift = 1 + 0.2 * sin(k * 0.7);
        a[k] = 100 * drift * (1 + 0.005 * uniform(&st));
        b[k] = 100 * drift * 0.95 * (1 + 0.005 * uniform(&st));  /* tokens/s 5% lower */
        b0[k] = 100 * drift * (1 + 0.005 * uniform(&st));
    }
    struct gate_row rows[2];
    struct gate_report r;
    memset(&r, 0, sizeof r);
    gate_opts_default(&r.opts);
    r.rows = rows;
    r.n_rows = 2;
    for (int i = 0; i < 2; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        snprintf(rows[i].metric, sizeof rows[i].metric, "tokens_per_s_%d", i);
        rows[i].kind = GATE_KIND_TIMING;
        rows[i].gated = true;
        rows[i].higher_better = true;
        rows[i].threshold = r.opts.threshold;
        ck_assert_int_eq(gate_row_measure_paired(&rows[i], a, i ? b0 : b, N, r.opts.alpha), GATE_OK);
    }
    ck_assert_int_eq(gate_decide(&r), GATE_OK);
    const struct gate_row *slow = strcmp(r.rows[0].metric, "tokens_per_s_0") == 0 ? &r.rows[0] : &r.rows[1];
    const struct gate_row *same = slow == &r.rows[0] ? &r.rows[1] : &r.rows[0];
    ck_assert_int_eq(slow->verdict, GATE_REGRESSED);
    ck_assert(slow->paired && fabs(slow->change + 0.05) < 0.01);
    ck_assert(slow->mde < 0.03);
    ck_assert_int_ne(same->verdict, GATE_REGRESSED);
    /* unpaired, the same samples cannot show it */
    struct gate_row u;
    memset(&u, 0, sizeof u);
    u.kind = GATE_KIND_TIMING;
    u.gated = true;
    u.higher_better = true;
    u.threshold = r.opts.threshold;
    struct gate_report ru;
    memset(&ru, 0, sizeof ru);
    ru.opts = r.opts;
    ru.rows = &u;
    ru.n_rows = 1;
    ck_assert_int_eq(gate_row_measure(&u, a, N, b, N, r.opts.alpha), GATE_OK);
    ck_assert_int_eq(gate_decide(&ru), GATE_OK);
    ck_assert_int_ne(u.verdict, GATE_REGRESSED);
}
END_TEST

/* ---- history ------------------------------------------------------------------ */

/* A series of 30 with a 10% step at 18 among 1% noise: one change point,
 * there; a flat noisy series (10% noise, no step): none. Deterministic: the
 * same answer twice. */
START_TEST(test_history_change_points)
{
    double x[30], flat[40];
    unsigned st = 3;
    for (int i = 0; i < 30; i++)
        x[i] = 100 * (i >= 18 ? 1.10 : 1.0) * (1 + 0.01 * uniform(&st));
    for (int i = 0; i < 40; i++)
        flat[i] = 100 * (1 + 0.10 * uniform(&st));
    struct history_cp_opts o;
    history_cp_default(&o);
    size_t cps[8], again[8];
    double p[8];
    int n = history_change_points(x, 30, &o, cps, p, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(cps[0], 18);
    ck_assert(p[0] < 0.05);
    ck_assert_int_eq(history_change_points(x, 30, &o, again, NULL, 8), 1);
    ck_assert_uint_eq(again[0], 18);
    ck_assert_int_eq(history_change_points(flat, 40, &o, cps, NULL, 8), 0);
    /* the noise band of the flat part after the step, and none for too few points */
    double band = history_noise(flat, 40, &o);
    ck_assert(band > 0.02 && band < 0.15);
    ck_assert(isnan(history_noise(x, 4, &o)));
}
END_TEST

/* End to end: 12 gated runs stored with --history, the last 6 of a commit
 * 15% slower; `ggperf history` reports the step with that commit, plots it,
 * and --threshold auto learns a band from the history. */
START_TEST(test_history_cli)
{
    const char *dir = tu_tmpdir();
    char base[256], cur[256], cmd[2000], store[300];
    paths(dir, base, cur, sizeof base);
    snprintf(store, sizeof store, "%s/h.sqlite", dir);
    struct fspec f = { .reps = 10, .scale = 1, .commit = "base0" };
    write_doc(base, &f, timing, 1);
    static char commits[12][16];
    for (int i = 0; i < 12; i++) {
        snprintf(commits[i], sizeof commits[i], "c%02d", i);
        struct fspec g = { .reps = 10, .scale = i >= 6 ? 1.15 : 1.0, .seed = 100 + (unsigned)i, .commit = commits[i] };
        write_doc(cur, &g, timing, 1);
        snprintf(cmd, sizeof cmd, "%s gate --baseline %s --current %s --history --branch main --store %s",
                 tu_ggperf_bin(), base, cur, store);
        int rc = tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf);
        ck_assert_msg(rc == (i >= 6 ? 1 : 0), "run %d: %d %s", i, rc, err_buf);
    }
    snprintf(cmd, sizeof cmd, "%s history --store %s --metric decode_ns --config size=s --plot %s/h.png", tu_ggperf_bin(),
             store, dir);
    ck_assert_msg(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf) == 0, "%s", err_buf);
    ck_assert_ptr_nonnull(strstr(out_buf, "change point at run 6, commit c06"));
    ck_assert_ptr_nonnull(strstr(out_buf, "1 change point"));
    char png[300];
    snprintf(png, sizeof png, "%s/h.png", dir);
    if (tu_run("command -v gnuplot", NULL, 0, NULL, 0) == 0)
        ck_assert_msg(access(png, R_OK) == 0, "no plot: %s", err_buf);
    else
        printf("gate: history plot check skipped: gnuplot is not installed\n");
    /* JSON has the same */
    snprintf(cmd, sizeof cmd, "%s history --store %s --metric decode_ns -o json", tu_ggperf_bin(), store);
    ck_assert_int_eq(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    json_t *j = json_loads(out_buf, 0, NULL);
    ck_assert_ptr_nonnull(j);
    json_t *series = json_object_get(j, "series");
    ck_assert_int_eq(json_array_size(series), 2);
    json_t *cp = json_array_get(json_object_get(json_array_get(series, 0), "change_points"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(cp, "commit")), "c06");
    ck_assert(json_real_value(json_object_get(cp, "step")) > 0.1);
    json_decref(j);
    /* import: results files from other runners join the store */
    snprintf(cmd, sizeof cmd, "%s history import --store %s --branch other %s", tu_ggperf_bin(), store, base);
    ck_assert_msg(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf) == 0, "%s", err_buf);
    ck_assert_ptr_nonnull(strstr(err_buf, "2 points"));
    /* --threshold auto: a band from the stored runs after the step */
    snprintf(cmd, sizeof cmd, "%s gate --baseline %s --current %s --threshold auto --store %s", tu_ggperf_bin(), base,
             cur, store);
    tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf);
    ck_assert_msg(strstr(err_buf, "--threshold auto: decode_ns") || strstr(err_buf, "no history"), "%s", err_buf);
}
END_TEST

/* ---- bisect --------------------------------------------------------------------- */

/* A planted test repository: seven commits, the fifth makes the work 10%
 * larger. `ggperf bisect` (with a stand-in ggperf built by copying a
 * script) must name that commit from the counts and confirm it by A/B. */
START_TEST(test_bisect_finds_planted_commit)
{
    if (tu_run("command -v git", NULL, 0, NULL, 0) != 0) {
        printf("gate: bisect test skipped: git is not installed\n");
        return;
    }
    char cwd[512], cmd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    const char *dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd,
             "set -e; cd %s && mkdir repo && cd repo && cp %s/tests/bisect-fake-ggperf.sh fake.sh && "
             "git init -q . && git config user.email t@example.com && git config user.name t && "
             "echo 1000 > cost.txt && git add . && git commit -qm good && "
             "for i in 1 2 3 4 5 6; do if [ $i = 4 ]; then echo 1100 > cost.txt; else echo $i >> notes.txt; fi; "
             "git add . && git commit -qm \"change $i\"; done",
             dir, cwd);
    ck_assert_msg(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf) == 0, "%s", err_buf);
    snprintf(cmd, sizeof cmd,
             "cd %s && %s bisect --repo %s/repo --good HEAD~6 --bad HEAD --dir %s/work "
             "--build-cmd 'mkdir -p build && cp fake.sh build/ggperf' --bin-path build/ggperf -- fake --sim on",
             dir, tu_ggperf_bin(), dir, dir);
    ck_assert_msg(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf) == 0, "%s%s", out_buf, err_buf);
    ck_assert_msg(strstr(out_buf, "first bad commit: ") && strstr(out_buf, " change 4\n"), "%s", out_buf);
    ck_assert_ptr_nonnull(strstr(out_buf, "sim_instructions +10.00%"));
    ck_assert_ptr_nonnull(strstr(out_buf, "regressed (confirmed)"));
    /* binary search: GOOD, BAD and about log2(6) more, not every commit */
    int builds = 0;
    for (const char *p = err_buf; (p = strstr(p, "bisect: building")); p++)
        builds++;
    ck_assert_msg(builds <= 5, "%d builds", builds);
    /* the worktrees are gone */
    snprintf(cmd, sizeof cmd, "git -C %s/repo worktree list | wc -l", dir);
    ck_assert_int_eq(tu_run(cmd, out_buf, sizeof out_buf, NULL, 0), 0);
    ck_assert_int_eq(atoi(out_buf), 1);
    /* a range without a regression */
    snprintf(cmd, sizeof cmd,
             "cd %s && %s bisect --repo %s/repo --good HEAD~6 --bad HEAD~3 --dir %s/work2 "
             "--build-cmd 'mkdir -p build && cp fake.sh build/ggperf' -- fake",
             dir, tu_ggperf_bin(), dir, dir);
    ck_assert_int_eq(tu_run(cmd, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 1);
    ck_assert_ptr_nonnull(strstr(err_buf, "does not regress"));
}
END_TEST

Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("verdicts");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_min_p_and_names);
    tcase_add_test(tc, test_identical_pass);
    tcase_add_test(tc, test_slowdown_fails);
    tcase_add_test(tc, test_throughput_direction);
    tcase_add_test(tc, test_too_few_reps_undecided);
    tcase_add_test(tc, test_noisy_undecided);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_env_and_fraction_never_gated);
    tcase_add_test(tc, test_undeclared_old_file);
    tcase_add_test(tc, test_familywise_null);
    tcase_add_test(tc, test_familywise_power);
    tcase_add_test(tc, test_paired_cancels_drift);
    tcase_add_test(tc, test_history_change_points);
    tcase_add_test(tc, test_history_cli);
    tcase_add_test(tc, test_bisect_finds_planted_commit);
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
