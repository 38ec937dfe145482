/* import suite: llama-bench (JSON and JSONL), ggperf bench and Google
 * Benchmark JSON become results files with the right axes, samples and
 * environment; malformed inputs give exit 1 and one line naming the file;
 * usage errors exit 2; an existing output is kept unless --force. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results/results.h"
#include "reports/import.h"
#include "tests/testutil.h"

/* A realistic llama-bench -o json excerpt: two thread counts, pp64 and
 * tg16, n_batch differing between the 4-thread tests and the rest. */
static const char llama_json[] =
    "[\n"
    "  {\"build_commit\": \"8cf427ff\", \"build_number\": 5163,\n"
    "   \"cpu_info\": \"AMD Ryzen 7 7800X3D 8-Core Processor\", \"gpu_info\": \"\", \"backends\": \"CPU\",\n"
    "   \"model_filename\": \"models/tiny-Q4_0.gguf\", \"model_type\": \"llama 1B Q4_0\",\n"
    "   \"model_size\": 637000000, \"model_n_params\": 1100048384, \"n_batch\": 2048, \"n_ubatch\": 512,\n"
    "   \"n_threads\": 2, \"cpu_mask\": \"0x0\", \"cpu_strict\": false, \"poll\": 50, \"type_k\": \"f16\",\n"
    "   \"type_v\": \"f16\", \"n_gpu_layers\": 0, \"split_mode\": \"layer\", \"main_gpu\": 0,\n"
    "   \"no_kv_offload\": false, \"flash_attn\": false, \"tensor_split\": \"0.00\", \"use_mmap\": true,\n"
    "   \"embeddings\": false, \"n_prompt\": 64, \"n_gen\": 0, \"n_depth\": 0,\n"
    "   \"test_time\": \"2025-04-24T11:58:50Z\", \"avg_ns\": 400000000, \"stddev_ns\": 1000000,\n"
    "   \"avg_ts\": 160.0, \"stddev_ts\": 0.5,\n"
    "   \"samples_ns\": [ 400000000, 401000000, 399000000 ],\n"
    "   \"samples_ts\": [ 160.0, 159.6, 160.4 ]},\n"
    "  {\"build_commit\": \"8cf427ff\", \"build_number\": 5163,\n"
    "   \"cpu_info\": \"AMD Ryzen 7 7800X3D 8-Core Processor\", \"gpu_info\": \"\", \"backends\": \"CPU\",\n"
    "   \"model_filename\": \"models/tiny-Q4_0.gguf\", \"model_type\": \"llama 1B Q4_0\",\n"
    "   \"model_size\": 637000000, \"model_n_params\": 1100048384, \"n_batch\": 2048, \"n_ubatch\": 512,\n"
    "   \"n_threads\": 2, \"cpu_mask\": \"0x0\", \"cpu_strict\": false, \"poll\": 50, \"type_k\": \"f16\",\n"
    "   \"type_v\": \"f16\", \"n_gpu_layers\": 0, \"split_mode\": \"layer\", \"main_gpu\": 0,\n"
    "   \"no_kv_offload\": false, \"flash_attn\": false, \"tensor_split\": \"0.00\", \"use_mmap\": true,\n"
    "   \"embeddings\": false, \"n_prompt\": 0, \"n_gen\": 16, \"n_depth\": 0,\n"
    "   \"test_time\": \"2025-04-24T11:58:51Z\", \"avg_ns\": 800000000, \"stddev_ns\": 1000000,\n"
    "   \"avg_ts\": 20.0, \"stddev_ts\": 0.1,\n"
    "   \"samples_ns\": [ 800000000, 790000000, 810000000 ],\n"
    "   \"samples_ts\": [ 20.0, 20.25, 19.75 ]},\n"
    "  {\"build_commit\": \"8cf427ff\", \"build_number\": 5163,\n"
    "   \"cpu_info\": \"AMD Ryzen 7 7800X3D 8-Core Processor\", \"gpu_info\": \"\", \"backends\": \"CPU\",\n"
    "   \"model_filename\": \"models/tiny-Q4_0.gguf\", \"model_type\": \"llama 1B Q4_0\",\n"
    "   \"model_size\": 637000000, \"model_n_params\": 1100048384, \"n_batch\": 512, \"n_ubatch\": 512,\n"
    "   \"n_threads\": 4, \"cpu_mask\": \"0x0\", \"cpu_strict\": false, \"poll\": 50, \"type_k\": \"f16\",\n"
    "   \"type_v\": \"f16\", \"n_gpu_layers\": 0, \"split_mode\": \"layer\", \"main_gpu\": 0,\n"
    "   \"no_kv_offload\": false, \"flash_attn\": false, \"tensor_split\": \"0.00\", \"use_mmap\": true,\n"
    "   \"embeddings\": false, \"n_prompt\": 64, \"n_gen\": 0, \"n_depth\": 0,\n"
    "   \"test_time\": \"2025-04-24T11:58:52Z\", \"avg_ns\": 210000000, \"stddev_ns\": 1000000,\n"
    "   \"avg_ts\": 304.8, \"stddev_ts\": 1.5,\n"
    "   \"samples_ns\": [ 210000000, 211000000, 209000000 ],\n"
    "   \"samples_ts\": [ 304.76, 303.32, 306.22 ]},\n"
    "  {\"build_commit\": \"8cf427ff\", \"build_number\": 5163,\n"
    "   \"cpu_info\": \"AMD Ryzen 7 7800X3D 8-Core Processor\", \"gpu_info\": \"\", \"backends\": \"CPU\",\n"
    "   \"model_filename\": \"models/tiny-Q4_0.gguf\", \"model_type\": \"llama 1B Q4_0\",\n"
    "   \"model_size\": 637000000, \"model_n_params\": 1100048384, \"n_batch\": 512, \"n_ubatch\": 512,\n"
    "   \"n_threads\": 4, \"cpu_mask\": \"0x0\", \"cpu_strict\": false, \"poll\": 50, \"type_k\": \"f16\",\n"
    "   \"type_v\": \"f16\", \"n_gpu_layers\": 0, \"split_mode\": \"layer\", \"main_gpu\": 0,\n"
    "   \"no_kv_offload\": false, \"flash_attn\": false, \"tensor_split\": \"0.00\", \"use_mmap\": true,\n"
    "   \"embeddings\": false, \"n_prompt\": 0, \"n_gen\": 16, \"n_depth\": 0,\n"
    "   \"test_time\": \"2025-04-24T11:58:53Z\", \"avg_ns\": 500000000, \"stddev_ns\": 1000000,\n"
    "   \"avg_ts\": 32.0, \"stddev_ts\": 0.1,\n"
    "   \"samples_ns\": [ 500000000, 498000000, 502000000 ],\n"
    "   \"samples_ts\": [ 32.0, 32.13, 31.87 ]}\n"
    "]\n";

/* Google Benchmark 1.7 JSON: a benchmark with 2 repetitions and its
 * aggregates (the cv aggregate has NaN counters), one reported only as
 * aggregates, one that failed, microsecond times and user counters. */
static const char gbench_json[] =
    "{\n  \"context\": {\"date\": \"2026-11-27T08:41:00+00:00\", \"host_name\": \"benchbox\",\n"
    "    \"executable\": \"./mb\", \"num_cpus\": 2, \"mhz_per_cpu\": 2600, \"cpu_scaling_enabled\": false,\n"
    "    \"caches\": [{\"type\": \"Data\", \"level\": 1, \"size\": 49152, \"num_sharing\": 1}],\n"
    "    \"load_avg\": [0.5, 0.4, 0.3], \"library_build_type\": \"release\", \"cpu_brand\": \"Test CPU\"},\n"
    "  \"benchmarks\": [\n"
    "    {\"name\": \"dot/Q4_0\", \"family_index\": 0, \"per_family_instance_index\": 0, \"run_name\": \"dot/Q4_0\",\n"
    "     \"run_type\": \"iteration\", \"repetitions\": 2, \"repetition_index\": 0, \"threads\": 1,\n"
    "     \"iterations\": 1000, \"real_time\": 1.5, \"cpu_time\": 1.4, \"time_unit\": \"us\",\n"
    "     \"bytes_per_second\": 2.0e9, \"items_per_second\": 6.0e5, \"minor_faults\": 0.0, \"flops_per_second\": 1.0e9},\n"
    "    {\"name\": \"dot/Q4_0\", \"family_index\": 0, \"per_family_instance_index\": 0, \"run_name\": \"dot/Q4_0\",\n"
    "     \"run_type\": \"iteration\", \"repetitions\": 2, \"repetition_index\": 1, \"threads\": 1,\n"
    "     \"iterations\": 1000, \"real_time\": 1.7, \"cpu_time\": 1.6, \"time_unit\": \"us\",\n"
    "     \"bytes_per_second\": 1.8e9, \"items_per_second\": 5.5e5, \"minor_faults\": 2.0, \"flops_per_second\": 0.9e9},\n"
    "    {\"name\": \"dot/Q4_0_mean\", \"family_index\": 0, \"per_family_instance_index\": 0,\n"
    "     \"run_name\": \"dot/Q4_0\", \"run_type\": \"aggregate\", \"repetitions\": 2, \"threads\": 1,\n"
    "     \"aggregate_name\": \"mean\", \"aggregate_unit\": \"time\", \"iterations\": 2, \"real_time\": 1.6,\n"
    "     \"cpu_time\": 1.5, \"time_unit\": \"us\", \"minor_faults\": 1.0},\n"
    "    {\"name\": \"dot/Q4_0_cv\", \"family_index\": 0, \"per_family_instance_index\": 0,\n"
    "     \"run_name\": \"dot/Q4_0\", \"run_type\": \"aggregate\", \"repetitions\": 2, \"threads\": 1,\n"
    "     \"aggregate_name\": \"cv\", \"aggregate_unit\": \"percentage\", \"iterations\": 2, \"real_time\": 0.08,\n"
    "     \"cpu_time\": 0.09, \"time_unit\": \"us\", \"minor_faults\": NaN, \"flops_per_second\": -Infinity},\n"
    "    {\"name\": \"copy/64k_median\", \"family_index\": 1, \"per_family_instance_index\": 0,\n"
    "     \"run_name\": \"copy/64k\", \"run_type\": \"aggregate\", \"repetitions\": 3, \"threads\": 1,\n"
    "     \"aggregate_name\": \"median\", \"aggregate_unit\": \"time\", \"iterations\": 3, \"real_time\": 2.5,\n"
    "     \"cpu_time\": 2.5, \"time_unit\": \"ms\"},\n"
    "    {\"name\": \"copy/64k_mean\", \"family_index\": 1, \"per_family_instance_index\": 0,\n"
    "     \"run_name\": \"copy/64k\", \"run_type\": \"aggregate\", \"repetitions\": 3, \"threads\": 1,\n"
    "     \"aggregate_name\": \"mean\", \"aggregate_unit\": \"time\", \"iterations\": 3, \"real_time\": 2.7,\n"
    "     \"cpu_time\": 2.7, \"time_unit\": \"ms\"},\n"
    "    {\"name\": \"broken\", \"family_index\": 2, \"per_family_instance_index\": 0, \"run_name\": \"broken\",\n"
    "     \"run_type\": \"iteration\", \"repetitions\": 1, \"repetition_index\": 0, \"threads\": 1,\n"
    "     \"iterations\": 0, \"real_time\": 0, \"cpu_time\": 0, \"time_unit\": \"ns\",\n"
    "     \"error_occurred\": true, \"error_message\": \"no AVX-512 here\"}\n"
    "  ]\n}\n";

static const char ggperf_bench_json[] =
    "[\n"
    "  {\"model\": \"/cache/synth-110m-Q8_0.gguf\", \"kernels\": \"avx512\", \"test\": \"pp64\", \"threads\": 1, "
    "\"n_tokens\": 64, \"tokens_per_s\": 30.0, \"stddev\": 0.5, \"median\": 30.0, \"samples\": [30.0, 29.5, 30.5]},\n"
    "  {\"model\": \"/cache/synth-110m-Q8_0.gguf\", \"kernels\": \"avx512\", \"test\": \"tg32\", \"threads\": 1, "
    "\"n_tokens\": 32, \"tokens_per_s\": 9.0, \"stddev\": 0.1, \"median\": 9.0, \"samples\": [9.0, 9.1, 8.9], "
    "\"bytes_per_token\": 143337184, \"eff_bandwidth_gbps\": 1.290}\n"
    "]\n";

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    ck_assert_int_eq(tu_write_file(p, text, strlen(text)), 0);
    return p;
}

/* Every sample of a results file, in order. */
static json_t *read_samples(const char *path, json_t **header)
{
    struct results_reader *r;
    char err[512];
    int rc = results_reader_open(&r, path, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    *header = json_deep_copy(results_reader_header(r));
    json_t *arr = json_array(), *s;
    while ((rc = results_reader_next(r, &s, err, sizeof err)) == 1)
        json_array_append_new(arr, s);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert(results_reader_complete(r));
    results_reader_close(r);
    return arr;
}

static double metric_value(const json_t *sample, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(sample, "metrics"), i, m) {
        if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
            return json_number_value(json_object_get(m, "value"));
    }
    return NAN;
}

static const char *axis_of(const json_t *sample, const char *axis)
{
    return json_string_value(json_object_get(json_object_get(sample, "axes"), axis));
}

static void check_llama(const char *out)
{
    json_t *h, *s = read_samples(out, &h);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "workload"), "name")), "bench");
    /* n_batch differs between tests, so it is an axis; test and threads always are */
    json_t *axes = json_object_get(h, "axes");
    ck_assert_int_eq(json_array_size(axes), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(axes, 0), "name")), "n_batch");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(axes, 1), "name")), "test");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(axes, 2), "name")), "threads");
    ck_assert_int_eq(json_array_size(s), 12);
    int tg = 0;
    size_t i;
    json_t *smp;
    json_array_foreach(s, i, smp) {
        ck_assert(json_is_true(json_object_get(smp, "ok")));
        double tps = metric_value(smp, "tokens_per_s"), ns = metric_value(smp, "test_ns");
        ck_assert(isfinite(tps) && isfinite(ns));
        /* tokens / (ns * 1e-9) matches tokens/s within 2% for every repetition */
        bool is_tg = strncmp(axis_of(smp, "test"), "tg", 2) == 0;
        double tokens = is_tg ? 16 : 64;
        ck_assert_msg(fabs(tokens / (ns * 1e-9) / tps - 1) < 0.02, "tps %g ns %g", tps, ns);
        if (is_tg) {
            tg++;
            ck_assert_double_eq(metric_value(smp, "bytes_per_token"), 637000000);
        } else {
            ck_assert(isnan(metric_value(smp, "bytes_per_token")));
        }
    }
    ck_assert_int_eq(tg, 6);
    /* the first pp64 sample at 2 threads, in file order */
    json_t *first = json_array_get(s, 0);
    ck_assert_str_eq(axis_of(first, "test"), "pp64");
    ck_assert_str_eq(axis_of(first, "threads"), "2");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "rep")), 0);
    ck_assert_double_eq_tol(metric_value(first, "tokens_per_s"), 160.0, 1e-9);
    json_t *env = json_object_get(h, "environment");
    ck_assert_str_eq(json_string_value(json_object_get(env, "engine")), "llama.cpp");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(env, "build"), "commit")), "8cf427ff");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(env, "cpu"), "brand")),
                     "AMD Ryzen 7 7800X3D 8-Core Processor");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "model"), "type")), "llama 1B Q4_0");
    json_decref(h);
    json_decref(s);
}

START_TEST(test_llama_bench_json)
{
    const char *dir = tu_tmpdir();
    char *in = write_tmp(dir, "lb.json", llama_json), out[512], cmd[2048], err[1024];
    snprintf(out, sizeof out, "%s/lb.res.json", dir);
    snprintf(cmd, sizeof cmd, "%s import llama-bench %s -o %s", tu_ggperf_bin(), in, out);
    int rc = tu_run(cmd, NULL, 0, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "12 samples"));
    check_llama(out);
}
END_TEST

/* llama-bench -o jsonl: the same objects one a line. */
START_TEST(test_llama_bench_jsonl)
{
    json_error_t je;
    json_t *arr = json_loads(llama_json, 0, &je);
    ck_assert_ptr_nonnull(arr);
    char *text = malloc(1 << 16);
    size_t used = 0;
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        char *line = json_dumps(o, JSON_COMPACT);
        used += (size_t)snprintf(text + used, (1 << 16) - used, "%s\n", line);
        free(line);
    }
    json_decref(arr);
    const char *dir = tu_tmpdir();
    char *in = write_tmp(dir, "lb.jsonl", text), out[512], err[512];
    free(text);
    snprintf(out, sizeof out, "%s/lb.res.jsonl", dir);
    size_t n = 0;
    int rc = import_file(IMPORT_LLAMA_BENCH, in, out, false, &n, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(n, 12);
    check_llama(out);
}
END_TEST

START_TEST(test_ggperf_bench_json)
{
    json_t *h, *s;
    char err[512];
    ck_assert_int_eq(import_parse(IMPORT_GGPERF_BENCH, ggperf_bench_json, strlen(ggperf_bench_json), "gg.json", &h,
                                  &s, err, sizeof err),
                     0);
    ck_assert_int_eq(json_array_size(s), 6);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "environment"), "engine")), "ggperf");
    ck_assert_int_eq(results_header_n_configs(h), 2);
    size_t i;
    json_t *smp;
    int with_bpt = 0;
    json_array_foreach(s, i, smp) {
        with_bpt += isfinite(metric_value(smp, "bytes_per_token"));
        ck_assert(metric_value(smp, "tokens_per_s") > 0);
    }
    ck_assert_int_eq(with_bpt, 3);
    ck_assert_double_eq_tol(metric_value(json_array_get(s, 4), "tokens_per_s"), 9.1, 1e-9);
    json_decref(h);
    json_decref(s);
}
END_TEST

/* Two bench runs that differ only in --weights, cat'ed into one array:
 * weights becomes an axis, so the 2 tests make 4 configurations. */
START_TEST(test_ggperf_bench_weights_axis)
{
    static const char two[] =
        "[{\"model\": \"m.gguf\", \"kernels\": \"avx512\", \"weights\": \"map\", \"test\": \"tg32\", "
        "\"threads\": 1, \"samples\": [20.0, 20.5]},\n"
        " {\"model\": \"m.gguf\", \"kernels\": \"avx512\", \"weights\": \"map\", \"test\": \"pp64\", "
        "\"threads\": 1, \"samples\": [40.0]},\n"
        " {\"model\": \"m.gguf\", \"kernels\": \"avx512\", \"weights\": \"hugepage\", \"test\": \"tg32\", "
        "\"threads\": 1, \"samples\": [23.0, 23.5]},\n"
        " {\"model\": \"m.gguf\", \"kernels\": \"avx512\", \"weights\": \"hugepage\", \"test\": \"pp64\", "
        "\"threads\": 1, \"samples\": [41.0]}]\n";
    json_t *h, *s;
    char err[512];
    ck_assert_int_eq(import_parse(IMPORT_GGPERF_BENCH, two, strlen(two), "w.json", &h, &s, err, sizeof err), 0);
    ck_assert_int_eq(results_header_n_configs(h), 4);
    ck_assert_int_eq(json_array_size(s), 6);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(s, 4), "axes"), "weights")),
                     "hugepage");
    json_decref(h);
    json_decref(s);
    /* a non-string weights is a format error naming the field */
    static const char bad[] = "[{\"test\": \"tg32\", \"threads\": 1, \"weights\": 3, \"samples\": [1.0]}]";
    ck_assert_int_ne(import_parse(IMPORT_GGPERF_BENCH, bad, strlen(bad), "b.json", &h, &s, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "weights") != NULL, "%s", err);
}
END_TEST

START_TEST(test_gbench_json)
{
    const char *dir = tu_tmpdir();
    char *in = write_tmp(dir, "gb.json", gbench_json), out[512], err[512];
    snprintf(out, sizeof out, "%s/gb.res.json", dir);
    size_t n = 0;
    int rc = import_file(IMPORT_GBENCH, in, out, false, &n, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    /* 2 repetitions + 1 median aggregate + 1 failed */
    ck_assert_int_eq(n, 4);
    json_t *h, *s = read_samples(out, &h);
    ck_assert_int_eq(results_header_n_configs(h), 3);
    json_t *s0 = json_array_get(s, 0), *s1 = json_array_get(s, 1), *s2 = json_array_get(s, 2),
           *s3 = json_array_get(s, 3);
    ck_assert_str_eq(axis_of(s0, "benchmark"), "dot/Q4_0");
    ck_assert_double_eq_tol(metric_value(s0, "real_time_ns"), 1500, 1e-6);
    ck_assert_double_eq_tol(metric_value(s1, "cpu_time_ns"), 1600, 1e-6);
    ck_assert_double_eq_tol(metric_value(s0, "bandwidth_gbps"), 2.0, 1e-12);
    ck_assert_double_eq_tol(metric_value(s0, "items_per_s"), 6.0e5, 1e-6);
    ck_assert_double_eq_tol(metric_value(s1, "minor_faults"), 2.0, 1e-12);
    ck_assert_double_eq_tol(metric_value(s1, "flops_per_s"), 0.9e9, 1e-3);
    /* copy/64k: only aggregates, the median taken */
    ck_assert_str_eq(axis_of(s2, "benchmark"), "copy/64k");
    ck_assert_double_eq_tol(metric_value(s2, "real_time_ns"), 2.5e6, 1e-3);
    /* broken: a failed repetition with its message */
    ck_assert_str_eq(axis_of(s3, "benchmark"), "broken");
    ck_assert(json_is_false(json_object_get(s3, "ok")));
    ck_assert_str_eq(json_string_value(json_object_get(s3, "error")), "no AVX-512 here");
    json_t *env = json_object_get(h, "environment");
    ck_assert_str_eq(json_string_value(json_object_get(env, "hostname")), "benchbox");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(env, "cpu"), "brand")), "Test CPU");
    ck_assert_int_eq(json_array_size(json_object_get(env, "aggregates_only")), 1);
    json_decref(h);
    json_decref(s);
}
END_TEST

/* Each malformed input: exit 1 and one stderr line naming the file and
 * what is wrong. */
START_TEST(test_malformed_inputs)
{
    static const struct {
        const char *fmt, *text, *expect;
    } cases[] = {
        { "llama-bench", "", "not valid JSON" },
        { "llama-bench", "[{\"n_prompt\": 64,", "not valid JSON" },
        { "llama-bench", "{\"n_prompt\": 64}", "expected an array" },
        { "llama-bench", "[1, 2]", "test 0 is not an object" },
        { "llama-bench", "[{\"n_prompt\": 64, \"n_threads\": 2, \"samples_ts\": [1.0]}]", "n_gen" },
        { "llama-bench", "[{\"n_prompt\": 64, \"n_gen\": 0, \"n_threads\": -2, \"samples_ts\": [1.0]}]", "n_threads" },
        { "llama-bench", "[{\"n_prompt\": 64, \"n_gen\": 0, \"n_threads\": 2, \"samples_ts\": [1.0, \"x\"]}]",
          "samples_ts[1]" },
        { "llama-bench", "[{\"n_prompt\": 0, \"n_gen\": 0, \"n_threads\": 2, \"samples_ts\": [1.0]}]", "both 0" },
        { "llama-bench",
          "[{\"n_prompt\": 64, \"n_gen\": 0, \"n_threads\": 2, \"samples_ts\": [1.0], \"samples_ns\": [1, 2]}]",
          "samples_ns has 2 values" },
        { "llama-bench", "[{\"n_prompt\": 64, \"n_gen\": 0, \"n_threads\": 2}]", "neither samples_ts" },
        { "llama-bench", "[{\"n_prompt\": 64, \"n_gen\": 0, \"n_threads\": 2, \"avg_ts\": 5, \"cpu_info\": 7}]",
          "cpu_info is not a string" },
        { "llama-bench", "[]", "no benchmark results" },
        { "ggperf-bench", "[{\"test\": \"tg32\", \"threads\": 1, \"samples\": []}]", "samples" },
        { "ggperf-bench", "[{\"threads\": 1, \"samples\": [1.0]}]", "test missing" },
        { "gbench", "[]", "expected an object with a benchmarks array" },
        { "gbench", "{\"benchmarks\": [{\"name\": \"x\", \"real_time\": \"1\", \"cpu_time\": 1}]}", "real_time" },
        { "gbench", "{\"benchmarks\": [{\"name\": \"x\", \"real_time\": 1, \"cpu_time\": 1, \"time_unit\": \"fortnight\"}]}",
          "time_unit" },
        { "gbench", "{\"benchmarks\": [{\"real_time\": 1, \"cpu_time\": 1}]}", "name missing" },
        { "gbench", "{\"benchmarks\": [{\"name\": \"x\", \"run_type\": \"weird\", \"real_time\": 1, \"cpu_time\": 1}]}",
          "run_type" },
        { "gbench", "{\"benchmarks\": [{\"name\": \"x\", \"real_time\": 1, \"cpu_time\": 1, \"name\": \"y\"}]}",
          "not valid JSON" },
    };
    const char *dir = tu_tmpdir();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32], cmd[1024], out[256], err[1024];
        snprintf(name, sizeof name, "bad%zu.json", i);
        char *in = write_tmp(dir, name, cases[i].text);
        snprintf(cmd, sizeof cmd, "%s import %s %s -o %s/out%zu.json", tu_ggperf_bin(), cases[i].fmt, in, dir, i);
        int rc = tu_run(cmd, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 1, "case %zu: exit %d (%s)", i, rc, err);
        ck_assert_msg(strstr(err, in) != NULL, "case %zu: message does not name the file: %s", i, err);
        ck_assert_msg(strstr(err, cases[i].expect) != NULL, "case %zu: expected '%s' in: %s", i, cases[i].expect,
                      err);
        char *nl = strchr(err, '\n');
        ck_assert_msg(nl && nl[1] == '\0', "case %zu: not one line: %s", i, err);
        char outp[512];
        snprintf(outp, sizeof outp, "%s/out%zu.json", dir, i);
        ck_assert_msg(access(outp, F_OK) != 0, "case %zu: an output was written", i);
    }
}
END_TEST

START_TEST(test_cli_usage_and_force)
{
    const char *dir = tu_tmpdir();
    char *in = write_tmp(dir, "gg.json", ggperf_bench_json), cmd[1024], out[8192], err[1024];
    snprintf(cmd, sizeof cmd, "%s import --help", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: ggperf import"));
    snprintf(cmd, sizeof cmd, "%s import", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 2);
    snprintf(cmd, sizeof cmd, "%s import criterion %s", tu_ggperf_bin(), in);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "llama-bench|ggperf-bench|gbench"));
    snprintf(cmd, sizeof cmd, "%s import gbench %s --bogus", tu_ggperf_bin(), in);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 2);
    snprintf(cmd, sizeof cmd, "%s import llama-bench %s/missing.json", tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "missing.json"));

    /* stdout: the JSON document */
    snprintf(cmd, sizeof cmd, "%s import ggperf-bench %s", tu_ggperf_bin(), in);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    json_error_t je;
    json_t *doc = json_loads(out, 0, &je);
    ck_assert_msg(doc != NULL, "stdout is not JSON: %s", je.text);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "schema")), RESULTS_SCHEMA);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "samples")), 6);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "stats")), 2);
    json_decref(doc);

    /* an existing output is kept unless --force */
    char *existing = write_tmp(dir, "keep.json", "precious\n");
    snprintf(cmd, sizeof cmd, "%s import ggperf-bench %s -o %s", tu_ggperf_bin(), in, existing);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "--force"));
    size_t len;
    char *kept = tu_read_file(existing, &len);
    ck_assert(kept && len == 9 && memcmp(kept, "precious\n", 9) == 0);
    free(kept);
    snprintf(cmd, sizeof cmd, "%s import ggperf-bench %s -o %s --force", tu_ggperf_bin(), in, existing);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 0);
    json_t *h, *s = read_samples(existing, &h);
    ck_assert_int_eq(json_array_size(s), 6);
    json_decref(h);
    json_decref(s);
}
END_TEST

/* The NaN/Infinity reader: only outside strings. */
START_TEST(test_nonfinite_tokens)
{
    static const char text[] = "{\"context\": {\"note\": \"NaN and -Infinity stay text\"}, \"benchmarks\": ["
                               "{\"name\": \"a NaN b\", \"real_time\": 1, \"cpu_time\": 1, \"c\": -Infinity, "
                               "\"d\": NaN, \"e\": Infinity}]}";
    json_t *h, *s;
    char err[256];
    ck_assert_int_eq(import_parse(IMPORT_GBENCH, text, strlen(text), "nf.json", &h, &s, err, sizeof err), 0);
    json_t *ctx = json_object_get(json_object_get(h, "environment"), "gbench_context");
    ck_assert_str_eq(json_string_value(json_object_get(ctx, "note")), "NaN and -Infinity stay text");
    json_t *smp = json_array_get(s, 0);
    ck_assert_str_eq(axis_of(smp, "benchmark"), "a NaN b");
    ck_assert(isnan(metric_value(smp, "c")) && isnan(metric_value(smp, "d")) && isnan(metric_value(smp, "e")));
    json_decref(h);
    json_decref(s);
}
END_TEST

Suite *import_suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("import");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_llama_bench_json);
    tcase_add_test(tc, test_llama_bench_jsonl);
    tcase_add_test(tc, test_ggperf_bench_json);
    tcase_add_test(tc, test_ggperf_bench_weights_axis);
    tcase_add_test(tc, test_gbench_json);
    tcase_add_test(tc, test_malformed_inputs);
    tcase_add_test(tc, test_cli_usage_and_force);
    tcase_add_test(tc, test_nonfinite_tokens);
    suite_add_tcase(s, tc);
    return s;
}
