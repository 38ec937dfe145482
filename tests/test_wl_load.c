/* wl_load suite: the load workload on a small golden model (every phase
 * measured, cold verified or flagged, mmap's RSS file-backed and
 * read+copy's anonymous), the metadata workload, and ggperf study. */
#include <check.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine/vmstat.h"
#include "results/results.h"
#include "harness/run/runner.h"
#include "tests/testutil.h"
#include "workloads/registry.h"

static const json_t *metric(const json_t *sample, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(sample, "metrics"), i, m) {
        if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
            return m;
    }
    return NULL;
}

static double value_ok(const json_t *sample, const char *name)
{
    const json_t *m = metric(sample, name);
    ck_assert_msg(m != NULL, "metric %s missing", name);
    ck_assert_msg(strcmp(json_string_value(json_object_get(m, "status")), "ok") == 0, "%s: %s (%s)", name,
                  json_string_value(json_object_get(m, "status")), json_string_value(json_object_get(m, "reason")));
    return json_number_value(json_object_get(m, "value"));
}

/* A private copy of a golden model: the cold repetitions drop its pages. */
static void copy_golden(const char *name, char *path, size_t len, const char *dir)
{
    char src[512];
    size_t n;
    void *bytes = tu_read_file(tu_golden_path(src, sizeof src, name), &n);
    ck_assert_ptr_nonnull(bytes);
    snprintf(path, len, "%s/%s", dir, name);
    ck_assert_int_eq(tu_write_file(path, bytes, n), 0);
    free(bytes);
}

START_TEST(test_load_phases_cache_and_rss)
{
    const char *dir = tu_tmpdir();
    char model[512], stream[512], err[512];
    /* the F32 golden (8 MB): large enough that code pages faulted in on
     * the way (a sanitizer runtime's, ~1 MB) stay small beside it */
    copy_golden("shared-F32.gguf", model, sizeof model, dir);
    snprintf(stream, sizeof stream, "%s/load.jsonl", dir);
    const struct workload *wl = workload_find("load");
    ck_assert_ptr_nonnull(wl);
    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = wl;
    o.model_path = model;
    o.cache_dir = dir;
    o.repetitions = 1;
    o.seed = 3;
    o.stream_path = stream;
    o.skip_env = true;
    struct runner_summary sum;
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sum.n_configs, 14); /* every strategy × cold, warm by default */
    ck_assert_int_eq(sum.reps_run, 14);

    struct results_reader *r;
    ck_assert_int_eq(results_reader_open(&r, stream, err, sizeof err), 0);
    json_t *s;
    int n = 0, ok = 0;
    while (results_reader_next(r, &s, err, sizeof err) == 1) {
        n++;
        json_t *axes = json_object_get(s, "axes");
        const char *mode = json_string_value(json_object_get(axes, "load"));
        bool cold = strcmp(json_string_value(json_object_get(axes, "cache")), "cold") == 0;
        if (!json_is_true(json_object_get(s, "ok"))) {
            /* only an unreachable cold state or a file system without O_DIRECT may fail, and says so */
            const char *e = json_string_value(json_object_get(s, "error"));
            ck_assert_msg((cold && strstr(e, "cold cache not")) || (strcmp(mode, "direct") == 0 && strstr(e, "O_DIRECT")),
                          "%s: %s", mode, e);
            if (cold && strstr(e, "cold cache not"))
                ck_assert_double_eq(value_ok(s, "cold_ok"), 0);
            json_decref(s);
            continue;
        }
        ok++;
        double file = value_ok(s, "file_bytes");
        ck_assert_double_eq(file, 8419008);
        static const char *const phases[] = { "open_ns", "map_read_ns", "parse_ns", "touch_ns", "ready_ns",
                                              "engine_setup_ns", "first_token_ns", NULL };
        for (int k = 0; phases[k]; k++)
            ck_assert_msg(value_ok(s, phases[k]) > 0, "%s %s: %s not positive", mode, cold ? "cold" : "warm",
                          phases[k]);
        /* a cold load is one cycle; a warm one repeats until 100 ms have
         * passed or 256 loads were timed, and its phases are the means */
        double cycles = value_ok(s, "cycles");
        if (cold)
            ck_assert_double_eq(cycles, 1);
        else
            ck_assert_msg(cycles == 256 || value_ok(s, "ready_ns") * cycles >= 100e6,
                          "%s warm: %.0f cycles of %.0f ns", mode, cycles, value_ok(s, "ready_ns"));
        double phase_sum = value_ok(s, "open_ns") + value_ok(s, "map_read_ns") + value_ok(s, "parse_ns") +
                           value_ok(s, "touch_ns");
        ck_assert_msg(phase_sum <= value_ok(s, "ready_ns") * 1.0001 && phase_sum >= value_ok(s, "ready_ns") * 0.9999,
                      "%s: phases %.0f vs ready %.0f", mode, phase_sum, value_ok(s, "ready_ns"));
        ck_assert(value_ok(s, "minor_faults") >= 0);
        ck_assert(value_ok(s, "major_faults") >= 0);
        /* the kernel's side of the load: /proc/vmstat deltas, each counted
         * (this VM's kernel has all of them) and never negative; page-cache
         * hits are not counted by any kernel here and say why */
        static const char *const vm[] = { "vm_thp_fault_alloc", "vm_thp_fault_fallback", "vm_compact_stall",
                                          "vm_pgscan", "vm_pgsteal", "vm_pgmajfault", "vm_pgpgin_bytes",
                                          "vm_refault_file", NULL };
        for (int k = 0; vm[k]; k++)
            ck_assert_msg(value_ok(s, vm[k]) >= 0, "%s %s: %s", mode, cold ? "cold" : "warm", vm[k]);
        const json_t *hits = metric(s, "vm_pagecache_hits");
        ck_assert_ptr_nonnull(hits);
        ck_assert_str_eq(json_string_value(json_object_get(hits, "status")), "unsupported");
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(hits, "reason")), "page-cache hits"));
        double resident = value_ok(s, "resident_before_fraction");
        if (cold) {
            ck_assert_msg(resident <= 0.01, "%s cold: %.3f resident", mode, resident);
            ck_assert_double_eq(value_ok(s, "cold_ok"), 1);
        } else {
            ck_assert_msg(resident >= 0.9, "%s warm: only %.3f resident", mode, resident);
            ck_assert_ptr_null(metric(s, "cold_ok"));
        }
        double anon = value_ok(s, "rss_anon_delta_bytes"), filed = value_ok(s, "rss_file_delta_bytes");
        bool mapped = strcmp(mode, "mmap") == 0 || strcmp(mode, "populate") == 0 || strcmp(mode, "willneed") == 0 ||
                      strcmp(mode, "sequential") == 0;
        /* a copy's throughput and a mapping's are different measures under different names */
        const char *has = mapped ? "map_touch_gbps" : "read_gbps", *lacks = mapped ? "read_gbps" : "map_touch_gbps";
        ck_assert_msg(value_ok(s, has) > 0, "%s: %s", mode, has);
        const json_t *na = metric(s, lacks);
        ck_assert_msg(na != NULL, "%s: no %s", mode, lacks);
        ck_assert_str_eq(json_string_value(json_object_get(na, "status")), "unsupported");
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(na, "reason")), "not applicable"));
        ck_assert_ptr_null(metric(s, "load_gbps"));
        if (mapped) {
            ck_assert_msg(filed >= 0.8 * file, "%s: file-backed RSS grew %.0f of %.0f", mode, filed, file);
            ck_assert_msg(anon < 0.25 * file, "%s: anonymous RSS grew %.0f", mode, anon);
        } else {
            ck_assert_msg(anon >= 0.9 * file, "%s: anonymous RSS grew %.0f of %.0f", mode, anon, file);
            ck_assert_msg(filed < 0.25 * file, "%s: file-backed RSS grew %.0f", mode, filed);
        }
        json_decref(s);
    }
    results_reader_close(r);
    ck_assert_int_eq(n, 14);
    ck_assert_int_ge(ok, 10); /* read, mmap variants and hugepage work everywhere warm at least */
}
END_TEST

/* The vmstat reader on a fixture tree: fields summed into their metric,
 * deltas emitted, a field this "kernel" lacks unsupported with the reason. */
START_TEST(test_vmstat_deltas)
{
    const char *root = tu_tmpdir();
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/proc", root);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/vmstat", dir);
    static const char a[] = "nr_free_pages 100\nthp_fault_alloc 10\npgscan_kswapd 5\npgscan_direct 2\n"
                            "pgpgin 1000\ncompact_stall 1\n";
    static const char b[] = "nr_free_pages 90\nthp_fault_alloc 13\npgscan_kswapd 9\npgscan_direct 3\n"
                            "pgpgin 1004\ncompact_stall 1\n";
    struct vmstat_snap s0, s1;
    ck_assert_int_eq(tu_write_file(path, a, sizeof a - 1), 0);
    ck_assert_int_eq(vmstat_read(root, &s0), 0);
    ck_assert_int_eq(tu_write_file(path, b, sizeof b - 1), 0);
    ck_assert_int_eq(vmstat_read(root, &s1), 0);
    struct workload_sink out = { 0 };
    vmstat_emit(&out, &s0, &s1);
    ck_assert_int_eq(out.n, VMSTAT_N + 1);
    double want[VMSTAT_N] = { [VMSTAT_THP_FAULT_ALLOC] = 3, [VMSTAT_PGSCAN] = 5, [VMSTAT_PGPGIN] = 4096,
                              [VMSTAT_COMPACT_STALL] = 0 };
    for (int m = 0; m < VMSTAT_N; m++) {
        ck_assert_str_eq(out.m[m].name, vmstat_name((enum vmstat_metric)m));
        ck_assert_int_eq(out.m[m].source, METRIC_SRC_SW);
        bool have = m == VMSTAT_THP_FAULT_ALLOC || m == VMSTAT_PGSCAN || m == VMSTAT_PGPGIN ||
                    m == VMSTAT_COMPACT_STALL;
        if (have) {
            ck_assert_int_eq(out.m[m].status, METRIC_OK);
            ck_assert_double_eq(out.m[m].value, want[m]);
        } else {
            ck_assert_int_eq(out.m[m].status, METRIC_UNSUPPORTED);
            ck_assert_ptr_nonnull(strstr(out.m[m].reason, "has no"));
        }
    }
    ck_assert_str_eq(out.m[VMSTAT_N].name, "vm_pagecache_hits");
    ck_assert_int_eq(out.m[VMSTAT_N].status, METRIC_UNSUPPORTED);
    /* no file: every metric unsupported, never 0 */
    char missing[700];
    snprintf(missing, sizeof missing, "%s/nowhere", root);
    struct vmstat_snap s2;
    ck_assert_int_eq(vmstat_read(missing, &s2), -1);
    struct workload_sink out2 = { 0 };
    vmstat_emit(&out2, &s2, &s1);
    for (int m = 0; m < out2.n; m++)
        ck_assert_int_eq(out2.m[m].status, METRIC_UNSUPPORTED);
}
END_TEST

START_TEST(test_load_missing_and_bad_file)
{
    const char *dir = tu_tmpdir();
    char stream[512], bad[512], err[512];
    snprintf(stream, sizeof stream, "%s/bad.jsonl", dir);
    snprintf(bad, sizeof bad, "%s/bad.gguf", dir);
    ck_assert_int_eq(tu_write_file(bad, "GGUF not really a model, just text long enough to map", 52), 0);
    const struct workload *wl = workload_find("load");
    const char *lists[] = { "mmap,read", "warm" };
    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = wl;
    o.axis_lists = lists;
    o.model_path = bad;
    o.repetitions = 2;
    o.stream_path = stream;
    o.skip_env = true;
    struct runner_summary sum;
    /* the model in the header must be a GGUF file */
    ck_assert_int_eq(runner_run(&o, &sum, err, sizeof err), RUNNER_EMODEL);
    o.model_path = NULL;
    ck_assert_int_eq(runner_run(&o, &sum, err, sizeof err), RUNNER_EMODEL);
    ck_assert_ptr_nonnull(strstr(err, "-m MODEL"));
}
END_TEST

START_TEST(test_metadata_workload)
{
    const char *dir = tu_tmpdir();
    char stream[512], err[512];
    snprintf(stream, sizeof stream, "%s/meta.jsonl", dir);
    const struct workload *wl = workload_find("metadata");
    ck_assert_ptr_nonnull(wl);
    const char *lists[] = { "300,2000", NULL };
    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = wl;
    o.axis_lists = lists;
    o.cache_dir = dir;
    o.repetitions = 2;
    o.stream_path = stream;
    o.skip_env = true;
    struct runner_summary sum;
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sum.n_configs, 4);
    ck_assert_int_eq(sum.reps_ok, 8);
    struct results_reader *r;
    ck_assert_int_eq(results_reader_open(&r, stream, err, sizeof err), 0);
    json_t *s;
    while (results_reader_next(r, &s, err, sizeof err) == 1) {
        json_t *axes = json_object_get(s, "axes");
        double vocab = atof(json_string_value(json_object_get(axes, "vocab")));
        bool alloc = strcmp(json_string_value(json_object_get(axes, "index")), "alloc") == 0;
        ck_assert_double_eq(value_ok(s, "n_vocab"), vocab);
        ck_assert(value_ok(s, "open_ns") > 0);
        ck_assert(value_ok(s, "index_bytes") > 0);
        const json_t *h = metric(s, "heap_bytes");
        ck_assert_ptr_nonnull(h);
        if (strcmp(json_string_value(json_object_get(h, "status")), "ok") == 0) {
            double bytes = json_number_value(json_object_get(h, "value"));
            if (alloc) /* the index, at least */
                ck_assert_msg(bytes >= value_ok(s, "index_bytes"), "alloc: heap grew %.0f", bytes);
            else /* gguf_open with caller storage allocates nothing */
                ck_assert_double_eq(bytes, 0);
        } else {
            ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(h, "reason")), "mallinfo2"));
        }
        json_decref(s);
    }
    results_reader_close(r);
}
END_TEST

START_TEST(test_study_cli)
{
    const char *dir = tu_tmpdir();
    char cmd[2048], out[16384], err[4096];
    snprintf(cmd, sizeof cmd, "%s study list", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "load"));
    ck_assert_ptr_nonnull(strstr(out, "metadata"));
    snprintf(cmd, sizeof cmd, "%s study nosuch", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    snprintf(cmd, sizeof cmd, "%s study metadata --bogus 1", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);

    /* the metadata study needs no model */
    snprintf(cmd, sizeof cmd, "cd %s && GGPERF_CACHE=%s %s study metadata -r 2", dir, dir, tu_ggperf_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(out, "## metadata study"));
    ck_assert_ptr_nonnull(strstr(out, "| 128000 | alloc | 2/2 |"));
    ck_assert_ptr_nonnull(strstr(out, "| open_ns ("));
    ck_assert_ptr_null(strstr(out, "runner_overhead_ns")); /* only the study's columns */
    /* --until-trusted reaches the sweep's plan (the demo relies on it) */
    snprintf(cmd, sizeof cmd, "cd %s && GGPERF_CACHE=%s %s study metadata -r 2 --until-trusted 3 --stream %s/ut.jsonl",
             dir, dir, tu_ggperf_bin(), dir);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    char ut[512];
    snprintf(ut, sizeof ut, "%s/ut.jsonl", dir);
    char *hdr = tu_read_file(ut, &(size_t){ 0 });
    ck_assert_ptr_nonnull(hdr);
    ck_assert_msg(strstr(hdr, "\"max_rounds\":3") && strstr(hdr, "\"until_trusted\":true"), "%.600s", hdr);
    free(hdr);

    /* the load study with -m on a golden copy, one repetition, CSV view */
    char model[512], csv[512];
    copy_golden("shared-Q4_0.gguf", model, sizeof model, dir);
    snprintf(csv, sizeof csv, "%s/load.csv", dir);
    snprintf(cmd, sizeof cmd, "cd %s && GGPERF_CACHE=%s %s study load -m %s -r 1 -o csv --out %s", dir, dir,
             tu_ggperf_bin(), model, csv);
    ck_assert_msg(tu_run(cmd, NULL, 0, err, sizeof err) == 0, "%s", err);
    size_t n;
    char *text = tu_read_file(csv, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, ",mmap,cold,touch_ns,ns,time,"));
    ck_assert_ptr_nonnull(strstr(text, ",read,warm,rss_anon_delta_bytes,bytes,sw,"));
    free(text);
}
END_TEST

Suite *wl_load_suite(void)
{
    Suite *s = suite_create("wl_load");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_load_phases_cache_and_rss);
    tcase_add_test(tc, test_vmstat_deltas);
    tcase_add_test(tc, test_load_missing_and_bad_file);
    tcase_add_test(tc, test_metadata_workload);
    tcase_add_test(tc, test_study_cli);
    suite_add_tcase(s, tc);
    return s;
}
