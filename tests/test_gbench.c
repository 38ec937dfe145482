/* gbench suite: the C shim over Google Benchmark, exercised through the
 * ggperf-microbench binary ($GGPERF_BUILD/ggperf-microbench, which `make
 * test` builds): a real kernel case reported in JSON with its work counters
 * and context, the skip-with-error path, the self-test cases (batched
 * loops, threads, counter flags, ranges, fixed iterations with
 * repetitions, argument validation), the case list, the exit codes, and
 * the simulated counters of --mb_sim (valgrind callgrind).
 * Every run is short (min time 0.01 s, one case or a handful). */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/mb.h"
#include "engine/quant.h"
#include "harness/counters/ctr.h"
#include "tests/testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#define OUT_MAX (256 * 1024)

static const char *microbench_bin(char *buf, size_t len)
{
    const char *b = getenv("GGPERF_BUILD");
    ck_assert_msg(b != NULL, "GGPERF_BUILD is not set (make test sets it to the build dir)");
    snprintf(buf, len, "%s/ggperf-microbench", b);
    return buf;
}

/* Run the binary with args, JSON written to a temp file; returns the exit
 * status and the parsed report in *root (NULL if none). */
static int run_json(const char *args, json_t **root)
{
    char bin[512], cmd[2048], path[256];
    snprintf(path, sizeof path, "%s/out.json", tu_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' --benchmark_min_time=0.01 --benchmark_out_format=json --benchmark_out='%s' %s",
             microbench_bin(bin, sizeof bin), path, args);
    char *err = malloc(OUT_MAX);
    ck_assert_ptr_nonnull(err);
    int rc = tu_run(cmd, NULL, 0, err, OUT_MAX);
    json_error_t jerr;
    *root = json_load_file(path, 0, &jerr);
    if (rc != 0 || !*root)
        fprintf(stderr, "gbench: '%s' exited %d; stderr: %.2000s\n", cmd, rc, err);
    free(err);
    remove(path);
    return rc;
}

static const json_t *find_run(const json_t *root, const char *name)
{
    const json_t *b = json_object_get(root, "benchmarks"), *v;
    size_t i;
    json_array_foreach(b, i, v) {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && strcmp(n, name) == 0 && !json_object_get(v, "aggregate_name"))
            return v;
    }
    return NULL;
}

static double num(const json_t *run, const char *key)
{
    const json_t *v = json_object_get(run, key);
    ck_assert_msg(v && json_is_number(v), "run has no number '%s'", key);
    return json_number_value(v);
}

static const char *ctx(const json_t *root, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(root, "context"), key));
    ck_assert_msg(s != NULL, "context has no '%s'", key);
    return s;
}

/* The gbench_build note is found out, not written in: its version is the
 * one pkg-config gives for the installed library, its build type is the
 * library's own library_build_type, and "no libpfm" / "with libpfm" is what
 * readelf finds among the library file's DT_NEEDED entries. */
static void check_build_note(const char *note, const char *build_type)
{
    char ver[64] = "", want[320], cmd[1200], out[4096];
    ck_assert_int_eq(tu_run("pkg-config --modversion benchmark", ver, sizeof ver, NULL, 0), 0);
    ver[strcspn(ver, "\n")] = '\0';
    snprintf(want, sizeof want, "libbenchmark %s (", ver);
    ck_assert_msg(strstr(note, want) != NULL, "'%s' lacks '%s'", note, want);
    snprintf(want, sizeof want, "library built as %s", build_type);
    ck_assert_msg(strstr(note, want) != NULL, "'%s' lacks '%s'", note, want);
    /* the file named in the note */
    const char *p = strchr(note, '(') + 1, *e = strchr(p, ')');
    ck_assert(e && *p == '/');
    char lib[1024];
    snprintf(lib, sizeof lib, "%.*s", (int)(e - p), p);
    ck_assert_msg(access(lib, R_OK) == 0, "%s", lib);
    snprintf(cmd, sizeof cmd, "readelf -d '%s'", lib);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "(NEEDED)"));
    bool pfm = strstr(out, "libpfm") != NULL;
    ck_assert_msg(strstr(note, pfm ? "with libpfm" : "no libpfm") != NULL, "'%s' (libpfm needed: %d)", note, pfm);
}

START_TEST(test_kernel_case_json)
{
    json_t *root;
    ck_assert_int_eq(run_json("--benchmark_filter='^dot_row/Q4_0/ref/batch:64$'", &root), 0);
    ck_assert_ptr_nonnull(root);
    ck_assert_uint_eq(json_array_size(json_object_get(root, "benchmarks")), 1);
    const json_t *r = find_run(root, "dot_row/Q4_0/ref/batch:64");
    ck_assert_ptr_nonnull(r);
    ck_assert(!json_is_true(json_object_get(r, "error_occurred")));
    double it = num(r, "iterations"), bps = num(r, "bytes_per_second"), ips = num(r, "items_per_second"),
           fps = num(r, "flops_per_second");
    ck_assert(it >= 64 && fmod(it, 64) == 0); /* whole batches of 64 */
    ck_assert(bps > 0 && ips > 0 && fps > 0);
    /* The rates share one time base: their ratios are the work per dot. */
    ck_assert_double_eq_tol(bps / ips, (double)quant_row_size(QT_Q4_0, 2048), 1e-6);
    ck_assert_double_eq_tol(fps / ips, 2.0 * 2048, 1e-6);
    ck_assert_str_eq(json_string_value(json_object_get(r, "label")), "ref");

    /* The context says what produced the numbers, the library's limits included. */
    check_build_note(ctx(root, "gbench_build"), ctx(root, "library_build_type"));
    ck_assert(strlen(ctx(root, "ggperf_commit")) >= 7);
    ck_assert(strlen(ctx(root, "cpu_brand")) > 0);
    ck_assert(strncmp(ctx(root, "kernel_isas"), "ref", 3) == 0);
    ck_assert(strlen(ctx(root, "kernel_isa_best")) > 0);
    /* Software counters: attached when ctr works here, else the context
     * says why and no counter is made up. */
    const char *sw = ctx(root, "mb_sw_counters");
    if (strncmp(sw, "unavailable", 11) == 0) {
        ck_assert_ptr_null(json_object_get(r, "minor_faults"));
        ck_assert_ptr_null(json_object_get(r, "ctx_switches"));
        tu_skip("perf-sw", "software counters not checked: %s", sw);
    } else {
        ck_assert(num(r, "minor_faults") >= 0);
        ck_assert(num(r, "ctx_switches") >= 0);
    }
    json_decref(root);
}
END_TEST

START_TEST(test_skip_with_error)
{
    json_t *root;
    ck_assert_int_eq(run_json("--mb_selftest --benchmark_filter='^selftest/skip$'", &root), 0);
    ck_assert_ptr_nonnull(root);
    const json_t *r = find_run(root, "selftest/skip");
    ck_assert_ptr_nonnull(r);
    ck_assert(json_is_true(json_object_get(r, "error_occurred")));
    /* The first message wins; the second call was ignored. */
    ck_assert_str_eq(json_string_value(json_object_get(r, "error_message")), MB_SELFTEST_ERROR);
    ck_assert_ptr_null(json_object_get(r, "bytes_per_second"));
    json_decref(root);
}
END_TEST

START_TEST(test_selftest_reports)
{
    json_t *root;
    ck_assert_int_eq(run_json("--mb_selftest --benchmark_filter='^selftest/(counters|range|dense|fixed)'", &root), 0);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(ctx(root, "mb_selftest_api"), "ok");

    for (int nth = 1; nth <= 2; nth++) {
        char name[64], label[32];
        snprintf(name, sizeof name, "selftest/counters/7/threads:%d", nth);
        const json_t *r = find_run(root, name);
        ck_assert_msg(r != NULL, "no run %s", name);
        ck_assert_int_eq((int)num(r, "threads"), nth);
        double it = num(r, "iterations");
        /* Batches of 8, counted by the body, summed over threads. */
        ck_assert(it > 0 && fmod(it, 8) == 0);
        ck_assert_double_eq(num(r, "iterations_seen"), it);
        ck_assert_double_eq(num(r, "batches") * 8, it);
        /* Flags: iteration-invariant is multiplied by iterations (after the
         * sum over threads); thread averages are divided by threads. */
        ck_assert_double_eq(num(r, "per_iteration"), 3.0 * nth * it);
        ck_assert_double_eq(num(r, "thread_avg"), 5.0);
        ck_assert_double_eq(num(r, "arg0"), 7.0);
        ck_assert_double_eq(num(r, "bad_flags_rejected"), 1.0);
        ck_assert_double_eq(num(r, "no_error"), 1.0);
        ck_assert_double_eq_tol(num(r, "bytes_per_second") / num(r, "items_per_second"), 64.0, 1e-9);
        snprintf(label, sizeof label, "threads=%d", nth);
        ck_assert_str_eq(json_string_value(json_object_get(r, "label")), label);
    }
    static const char *const ranged[] = { "selftest/range/n:1", "selftest/range/n:4", "selftest/range/n:16",
                                          "selftest/range/n:64" };
    static const double range_args[] = { 1, 4, 16, 64 };
    for (int i = 0; i < 4; i++) {
        const json_t *r = find_run(root, ranged[i]);
        ck_assert_msg(r != NULL, "no run %s", ranged[i]);
        ck_assert_double_eq(num(r, "arg0"), range_args[i]);
        ck_assert_str_eq(json_string_value(json_object_get(r, "time_unit")), "us");
    }
    ck_assert_ptr_null(find_run(root, "selftest/range/n:8"));
    for (int v = 2; v <= 6; v += 2) {
        char name[64];
        snprintf(name, sizeof name, "selftest/dense/%d/process_time", v);
        const json_t *r = find_run(root, name);
        ck_assert_msg(r != NULL, "no run %s", name);
        ck_assert_double_eq(num(r, "arg0"), v);
    }

    /* Fixed iterations, two repetitions, then the aggregates. */
    const json_t *b = json_object_get(root, "benchmarks"), *v;
    size_t i;
    int reps = 0, aggs = 0;
    json_array_foreach(b, i, v) {
        const char *n = json_string_value(json_object_get(v, "run_name"));
        if (!n || strcmp(n, "selftest/fixed/7/iterations:40/repeats:2") != 0)
            continue;
        if (strcmp(json_string_value(json_object_get(v, "run_type")), "aggregate") == 0) {
            aggs++;
            continue;
        }
        reps++;
        ck_assert_double_eq(num(v, "iterations"), 40);
        ck_assert_double_eq(num(v, "batches"), 5);
    }
    ck_assert_int_eq(reps, 2);
    ck_assert_int_ge(aggs, 3); /* mean, median, stddev (and cv) */
    json_decref(root);
}
END_TEST

static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

START_TEST(test_case_list)
{
    char bin[512], cmd[1024], name[160];
    char *out = malloc(OUT_MAX);
    ck_assert_ptr_nonnull(out);
    snprintf(cmd, sizeof cmd, "'%s' --benchmark_list_tests", microbench_bin(bin, sizeof bin));
    ck_assert_int_eq(tu_run(cmd, out, OUT_MAX, NULL, 0), 0);
    struct quant_kernels k;
    quant_kernels_init(&k, QISA_AVX512);
    static const int offsets[] = { 0, 1, 8, 18, 32 };
    int types = 0;
    for (int t = 0; t < QT_COUNT; t++) {
        if (!quant_supported(t))
            continue;
        types++;
        const char *tn = quant_type_name(t);
        snprintf(name, sizeof name, "to_float/%s/ref", tn);
        ck_assert_msg(listed(out, name), "missing %s", name);
        for (int o = 0; o < 5; o++) {
            /* Reference kernels only where the block alignment holds. */
            int align = t == QT_F32 ? 4 : 2;
            snprintf(name, sizeof name, "dot/%s/ref/off:%d", tn, offsets[o]);
            ck_assert_msg(listed(out, name) == (offsets[o] % align == 0), "%s listed wrongly", name);
            if (k.dot_isa[t] != QISA_REF) {
                snprintf(name, sizeof name, "dot/%s/%s/off:%d", tn, quant_isa_name(k.dot_isa[t]), offsets[o]);
                ck_assert_msg(listed(out, name), "missing %s", name);
            }
        }
        snprintf(name, sizeof name, "dot_row/%s/ref/batch:64", tn);
        ck_assert_msg(listed(out, name), "missing %s", name);
        const char *isa = quant_isa_name(k.dot_isa[t]);
        snprintf(name, sizeof name, "matmul/%s/%s/k:2048/m:32000/ny:1/nth:1/real_time", tn, isa);
        ck_assert_msg(listed(out, name), "missing %s", name);
        snprintf(name, sizeof name, "matmul/%s/%s/k:5632/m:2048/ny:64/nth:1/real_time", tn, isa);
        ck_assert_msg(listed(out, name) == (k.dot_isa[t] != QISA_REF), "%s listed wrongly", name);
    }
    ck_assert_int_ge(types, 15);
    static const char *const act[] = { "Q8_0", "Q8_K", "F16" };
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "from_float/%s/ref", act[i]);
        ck_assert_msg(listed(out, name), "missing %s", name);
    }
    /* Self-test cases only on request. */
    ck_assert(!listed(out, "selftest/skip"));
    free(out);
}
END_TEST

START_TEST(test_exit_codes)
{
    char bin[512], cmd[1024];
    microbench_bin(bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "'%s' --mb_bogus", bin);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 2);
    snprintf(cmd, sizeof cmd, "'%s' --mb_max_threads=0", bin);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 2);
    snprintf(cmd, sizeof cmd, "'%s' --benchmark_nonsense=1", bin);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 2);
    snprintf(cmd, sizeof cmd, "'%s' --benchmark_filter='^no_such_case$'", bin);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 1);
    char out[4096];
    snprintf(cmd, sizeof cmd, "'%s' --mb_help", bin);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: "));
}
END_TEST

/* --mb_sim: the callgrind pass attaches per-iteration counts, the same on
 * every run; an AVX-512 case (where the CPU has one) reports them skipped. */
START_TEST(test_sim_counters)
{
#ifdef TEST_ASAN
    tu_skip("sanitizer", "built with AddressSanitizer, which cannot run under valgrind");
    return;
#else
    char ver[64];
    if (ctr_sim_valgrind_version(ver, sizeof ver) != 0) {
        tu_skip("valgrind", "%s", ver);
        return;
    }
    const char *args = "--mb_sim --benchmark_filter='^dot_row/Q4_0/(ref|avx512)/batch:1$'";
    double ir[2];
    for (int pass = 0; pass < 2; pass++) {
        json_t *root;
        ck_assert_int_eq(run_json(args, &root), 0);
        ck_assert_ptr_nonnull(root);
        const json_t *r = find_run(root, "dot_row/Q4_0/ref/batch:1");
        ck_assert_ptr_nonnull(r);
        ck_assert(!json_is_true(json_object_get(r, "error_occurred")));
        ir[pass] = num(r, "sim_instructions");
        ck_assert(ir[pass] > 0);
        ck_assert(num(r, "sim_d1_misses") >= 0);
        ck_assert(num(r, "sim_ll_misses") >= 0);
        ck_assert(num(r, "sim_d1_misses") <= ir[pass]);
        ck_assert(num(r, "sim_isa") == 0);
        const char *label = json_string_value(json_object_get(r, "label"));
        ck_assert_ptr_nonnull(label);
        ck_assert_ptr_nonnull(strstr(label, "sim: callgrind"));
        ck_assert_ptr_nonnull(strstr(ctx(root, "mb_sim"), "callgrind"));
        /* AVX-512 cannot run under valgrind 3.19: the ISA, no counts. */
        const json_t *a = find_run(root, "dot_row/Q4_0/avx512/batch:1");
        if (a) {
            ck_assert(num(a, "sim_isa") == 2);
            ck_assert_ptr_null(json_object_get(a, "sim_instructions"));
            ck_assert_ptr_null(json_object_get(a, "sim_d1_misses"));
            ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(a, "label")), "skipped"));
        }
        json_decref(root);
    }
    ck_assert_msg(ir[0] == ir[1], "sim_instructions differ between runs: %.3f vs %.3f", ir[0], ir[1]);

    /* Without --mb_sim no sim counter appears (the default run is unchanged). */
    json_t *root;
    ck_assert_int_eq(run_json("--benchmark_filter='^dot_row/Q4_0/ref/batch:1$'", &root), 0);
    const json_t *r = find_run(root, "dot_row/Q4_0/ref/batch:1");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(json_object_get(r, "sim_instructions"));
    ck_assert_ptr_null(json_object_get(r, "sim_isa"));
    json_decref(root);
#endif
}
END_TEST

Suite *gbench_suite(void)
{
    Suite *s = suite_create("gbench");
    TCase *tc = tcase_create("microbench");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kernel_case_json);
    tcase_add_test(tc, test_skip_with_error);
    tcase_add_test(tc, test_selftest_reports);
    tcase_add_test(tc, test_case_list);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_sim_counters);
    suite_add_tcase(s, tc);
    return s;
}
