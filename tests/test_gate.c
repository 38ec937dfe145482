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
#include "results/results.h"
#include "tests/testutil.h"

/* ---- writing results files ------------------------------------------------ */

struct mspec {
    const char *name, *unit, *source;
    double base;    /* value of configuration 0; configuration c gets base * (1 + c) */
    double noise;   /* relative, uniform in [-noise, noise] */
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
                            "build", "commit", "abc123", "compiler", "cc 12", "flags", "-O2");
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
                json_array_append_new(metrics, json_pack("{s:s, s:s, s:s, s:s, s:f}", "name", ms[m].name, "unit",
                                                         ms[m].unit, "source", ms[m].source, "status", "ok", "value", x));
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

static const struct mspec timing[] = { { "decode_ns", "ns", "time", 1e6, 0.01 } };

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

START_TEST(test_min_p_and_direction)
{
    ck_assert(fabs(gate_mwu_min_p(3, 3) - 0.1) < 1e-12);          /* 2 / C(6,3) = 2 / 20 */
    ck_assert(fabs(gate_mwu_min_p(5, 5) - 2.0 / 252) < 1e-12);
    ck_assert(fabs(gate_mwu_min_p(20, 20) - 2.0 / 137846528820.0) < 1e-20);
    ck_assert(gate_mwu_min_p(1, 1) == 1.0);
    ck_assert(gate_mwu_min_p(0, 5) == 1.0);
    ck_assert(gate_unit_higher_better("tps", "tok/s"));
    ck_assert(gate_unit_higher_better("bw", "GB/s"));
    ck_assert(gate_unit_higher_better("flops", "GFLOPS"));
    ck_assert(gate_unit_higher_better("x", "ops/s"));
    ck_assert(!gate_unit_higher_better("decode_ns", "ns"));
    ck_assert(!gate_unit_higher_better("minor_faults", "count"));
    ck_assert(!gate_unit_higher_better("alloc_bytes", "bytes"));
    ck_assert_str_eq(gate_verdict_name(GATE_INCONCLUSIVE), "inconclusive");
    ck_assert_str_eq(gate_kind_name(GATE_KIND_TIMING), "timing (Mann-Whitney)");
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
    ck_assert_ptr_nonnull(strstr(out_buf, "timing (Mann-Whitney)"));
    ck_assert_ptr_nonnull(strstr(err_buf, "FAIL"));

    struct gate_report *r = compare(base, cur, NULL);
    ck_assert_uint_eq(r->counts[GATE_REGRESSED], 2);
    const struct gate_row *row = find_row(r, "size=s", "decode_ns");
    ck_assert_int_eq(row->verdict, GATE_REGRESSED);
    ck_assert_int_eq(row->kind, GATE_KIND_TIMING);
    ck_assert(row->p < 0.01);
    ck_assert(row->change > 0.07 && row->change < 0.13);
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
    static const struct mspec tput[] = { { "decode_tps", "tok/s", "derived", 50, 0.01 } };
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

START_TEST(test_too_few_reps_inconclusive)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    struct fspec f = { .reps = 3, .scale = 1 };
    write_doc(base, &f, timing, 1);
    f.scale = 1.5; /* even a 50% slowdown cannot be shown with 3 vs 3 at alpha 0.01 */
    write_doc(cur, &f, timing, 1);
    snprintf(args, sizeof args, "--baseline %s --current %s", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "inconclusive"));
    ck_assert_ptr_nonnull(strstr(out_buf, "too few repetitions"));
    ck_assert_ptr_null(strstr(out_buf, "❌ regressed"));
    snprintf(args, sizeof args, "--baseline %s --current %s --inconclusive=pass", base, cur);
    ck_assert_int_eq(gate_cli(args), 0);
    snprintf(args, sizeof args, "--baseline %s --current %s --inconclusive fail", base, base);
    ck_assert_int_eq(gate_cli(args), 1); /* identical, but still too few to say */

    struct gate_report *r = compare(base, cur, NULL);
    const struct gate_row *row = find_row(r, "size=m", "decode_ns");
    ck_assert_int_eq(row->verdict, GATE_INCONCLUSIVE);
    ck_assert(fabs(row->min_p - 0.1) < 1e-12);
    gate_report_free(r);
    /* alpha 0.2 makes 3 vs 3 enough (smallest p 0.1) */
    snprintf(args, sizeof args, "--baseline %s --current %s --alpha 0.2", base, cur);
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "❌ regressed"));
}
END_TEST

START_TEST(test_deterministic)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec sim[] = { { "instructions", "count", "sim", 1e9, 0 },
                                        { "alloc_count", "count", "sw", 1000, 0 } };
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
}
END_TEST

START_TEST(test_constant_values_are_deterministic)
{
    char base[256], cur[256];
    paths(tu_tmpdir(), base, cur, sizeof base);
    /* a software counter identical in every repetition on both sides: 3 vs 3
     * is too few for the U test, but the values leave no doubt */
    static const struct mspec faults[] = { { "minor_faults", "count", "sw", 500, 0 } };
    struct fspec f = { .reps = 3, .scale = 1 };
    write_doc(base, &f, faults, 1);
    f.scale = 1.02;
    write_doc(cur, &f, faults, 1);
    struct gate_report *r = compare(base, cur, NULL);
    const struct gate_row *row = find_row(r, "size=s", "minor_faults");
    ck_assert_int_eq(row->kind, GATE_KIND_DETERMINISTIC);
    ck_assert_int_eq(row->verdict, GATE_REGRESSED);
    gate_report_free(r);
    /* forced through the list, a noisy timing metric compares without statistics */
    struct fspec g = { .reps = 2, .scale = 1 };
    write_doc(base, &g, timing, 1);
    g.scale = 1.5;
    write_doc(cur, &g, timing, 1);
    struct gate_opts o;
    gate_opts_default(&o);
    static const char *const det[] = { "decode_ns", NULL };
    o.deterministic = det;
    r = compare(base, cur, &o);
    ck_assert_int_eq(find_row(r, "size=s", "decode_ns")->kind, GATE_KIND_DETERMINISTIC);
    ck_assert_int_eq(find_row(r, "size=s", "decode_ns")->verdict, GATE_REGRESSED);
    gate_report_free(r);
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
    snprintf(args, sizeof args, "--baseline %s --current %s --inconclusive=maybe", base, base);
    ck_assert_int_eq(gate_cli(args), 2);
    ck_assert_int_eq(gate_cli("--help"), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "usage: ggperf gate"));
}
END_TEST

START_TEST(test_different_cpu)
{
    char base[256], cur[256], args[700];
    paths(tu_tmpdir(), base, cur, sizeof base);
    static const struct mspec both[] = { { "decode_ns", "ns", "time", 1e6, 0.01 },
                                         { "instructions", "count", "sim", 1e9, 0 } };
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
    ck_assert_str_eq(json_string_value(json_object_get(row, "evidence")), "timing (Mann-Whitney)");
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
    ck_assert_int_eq(gate_cli(args), 1);
    ck_assert_ptr_nonnull(strstr(out_buf, "150 inconclusive"));
    ck_assert_ptr_nonnull(strstr(out_buf, "and 50 more rows"));
    ck_assert_ptr_null(strstr(out_buf, "size=v149 "));
    snprintf(args, sizeof args, "--baseline %s --current %s -o json", base, base);
    ck_assert_int_eq(gate_cli(args), 1);
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

Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("verdicts");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_min_p_and_direction);
    tcase_add_test(tc, test_identical_pass);
    tcase_add_test(tc, test_slowdown_fails);
    tcase_add_test(tc, test_throughput_direction);
    tcase_add_test(tc, test_too_few_reps_inconclusive);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_constant_values_are_deterministic);
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
