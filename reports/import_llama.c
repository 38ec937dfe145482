/* import_llama — the importer of llama-bench's JSON and JSONL output (-o json, -o jsonl) into the builder of import_impl.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "reports/import.h"
#include "reports/import_impl.h"
#include "results/metric.h"
#include "results/results.h"

/* ---- llama-bench ------------------------------------------------------------ */

static const char *const llama_skip[] = { "test_time",  "avg_ns",        "stddev_ns",      "avg_ts",     "stddev_ts",
                                          "samples_ns", "samples_ts",    "n_prompt",       "n_gen",      "n_depth",
                                          "n_threads",  "model_size",    "model_n_params", "model_type", "build_number",
                                          NULL };

int import_parse_llama(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
                       size_t err_len)
{
    if (!json_is_array(root))
        return err_fail(err, err_len, IMPORT_EFORMAT, "%s: not llama-bench JSON (expected an array of test objects)",
                    src);
    struct ibuild b = { .src = src };
    int rc = IMPORT_ENOMEM;
    json_t *env = NULL, *model = NULL;
    char vary[MAX_AXES][METRIC_NAME_MAX];
    size_t i;
    json_t *o;
    json_array_foreach(root, i, o) {
        if (!json_is_object(o))
            return err_fail(err, err_len, IMPORT_EFORMAT, "%s: test %zu is not an object", src, i);
    }
    int nv = import_varying_keys(root, llama_skip, vary, MAX_AXES - 2, src, err, err_len);
    if (nv == -2)
        return err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", src);
    if (nv < 0)
        return IMPORT_ELIMIT;
    for (int k = 0; k < nv; k++)
        snprintf(b.axis[k], sizeof b.axis[k], "%.47s", strcmp(vary[k], "model_filename") == 0 ? "model" : vary[k]);
    snprintf(b.axis[nv], sizeof b.axis[nv], "test");
    snprintf(b.axis[nv + 1], sizeof b.axis[nv + 1], "threads");
    b.axis_numeric[nv + 1] = true;
    b.n_axes = nv + 2;

    json_array_foreach(root, i, o) {
        char where[32];
        snprintf(where, sizeof where, "test %zu", i);
        long long n_prompt = 0, n_gen = 0, n_depth = 0, n_threads = 0;
        double model_size = 0, avg_ts = 0;
        const char *s;
        int g;
        if ((g = import_get_int(o, "n_prompt", 0, INT32_MAX, &n_prompt, src, where, err, err_len)) <= 0 ||
            (g = import_get_int(o, "n_gen", 0, INT32_MAX, &n_gen, src, where, err, err_len)) <= 0 ||
            (g = import_get_int(o, "n_threads", 1, 1 << 20, &n_threads, src, where, err, err_len)) <= 0) {
            if (g == 0)
                err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: n_prompt, n_gen or n_threads missing (not llama-bench JSON?)",
                     src, where);
            rc = IMPORT_EFORMAT;
            goto done;
        }
        if (import_get_int(o, "n_depth", 0, INT32_MAX, &n_depth, src, where, err, err_len) < 0 ||
            import_get_num(o, "model_size", 0, &model_size, src, where, err, err_len) < 0) {
            rc = IMPORT_EFORMAT;
            goto done;
        }
        static const char *const strs[] = { "build_commit", "cpu_info", "gpu_info", "backends", "model_filename",
                                            "model_type", "test_time" };
        for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
            if (import_get_str(o, strs[k], &s, src, where, err, err_len) < 0) {
                rc = IMPORT_EFORMAT;
                goto done;
            }
        if (n_prompt == 0 && n_gen == 0) {
            rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: n_prompt and n_gen are both 0", src, where);
            goto done;
        }
        long n_ts = import_get_samples(o, "samples_ts", 0, true, src, where, err, err_len);
        long n_ns = n_ts >= 0 ? import_get_samples(o, "samples_ns", 0, false, src, where, err, err_len) : -1;
        if (n_ts < 0 || n_ns < 0) {
            rc = IMPORT_EFORMAT;
            goto done;
        }
        if (n_ts == 0) {
            int ga = import_get_num(o, "avg_ts", 0, &avg_ts, src, where, err, err_len);
            if (ga <= 0 || avg_ts <= 0) {
                if (ga >= 0)
                    err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: neither samples_ts nor a positive avg_ts", src,
                         where);
                rc = IMPORT_EFORMAT;
                goto done;
            }
        }
        if (n_ns && n_ns != n_ts) {
            rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: samples_ns has %ld values, samples_ts %ld", src, where,
                      n_ns, n_ts);
            goto done;
        }
        struct ientry *e = import_ibuild_entry(&b);
        if (!e)
            goto oom;
        for (int k = 0; k < nv; k++) {
            json_t *v = json_object_get(o, vary[k]);
            char *t = strcmp(vary[k], "model_filename") == 0 && json_is_string(v)
                          ? strdup(import_base_name(json_string_value(v))) : import_value_text(v);
            if (!t)
                goto oom;
            e->vals[k] = t;
        }
        char test[96];
        if (n_gen == 0)
            snprintf(test, sizeof test, "pp%lld", n_prompt);
        else if (n_prompt == 0)
            snprintf(test, sizeof test, "tg%lld", n_gen);
        else
            snprintf(test, sizeof test, "pp%lld+tg%lld", n_prompt, n_gen);
        if (n_depth > 0)
            snprintf(test + strlen(test), sizeof test - strlen(test), "@d%lld", n_depth);
        char thr[24];
        snprintf(thr, sizeof thr, "%lld", n_threads);
        if (import_set_val(e, nv, test) != 0 || import_set_val(e, nv + 1, thr) != 0)
            goto oom;
        json_t *ts = json_object_get(o, "samples_ts"), *ns = json_object_get(o, "samples_ns");
        long reps = n_ts ? n_ts : 1;
        for (long r = 0; r < reps; r++) {
            struct irep *rp = import_ientry_rep(e, true, NULL);
            if (!rp)
                goto oom;
            double tps = n_ts ? json_number_value(json_array_get(ts, (size_t)r)) : avg_ts;
            if (import_irep_metric(rp, "tokens_per_s", "tok/s", METRIC_SRC_TIME, tps) != 0)
                goto oom;
            if (n_ns && import_irep_metric(rp, "test_ns", "ns", METRIC_SRC_TIME,
                                    json_number_value(json_array_get(ns, (size_t)r))) != 0)
                goto oom;
            if (n_prompt == 0 && model_size > 0 &&
                import_irep_metric(rp, "bytes_per_token", "bytes", METRIC_SRC_DERIVED, model_size) != 0)
                goto oom;
        }
    }
    {
        const json_t *f = json_array_get(root, 0);
        const char *cpu = json_string_value(json_object_get(f, "cpu_info"));
        env = json_pack("{s:s, s:{s:s, s:s}}", "engine", "llama.cpp", "imported", "tool", "llama-bench", "file", src);
        model = json_object();
        if (!env || !model)
            goto oom;
        if (cpu)
            json_object_set_new(env, "cpu", json_pack("{s:s, s:s}", "brand", cpu, "model_name", cpu));
        json_t *build = json_object();
        json_object_set(build, "commit", json_object_get(f, "build_commit") ? json_object_get(f, "build_commit")
                                                                            : json_null());
        if (json_object_get(f, "build_number"))
            json_object_set(build, "number", json_object_get(f, "build_number"));
        json_object_set_new(env, "build", build);
        static const char *const copy[] = { "gpu_info", "backends", "test_time" };
        for (size_t k = 0; k < sizeof copy / sizeof copy[0]; k++)
            if (json_object_get(f, copy[k]))
                json_object_set(env, copy[k], json_object_get(f, copy[k]));
        static const char *const mk[][2] = { { "model_filename", "path" }, { "model_type", "type" },
                                             { "model_size", "size_bytes" }, { "model_n_params", "n_params" } };
        for (size_t k = 0; k < sizeof mk / sizeof mk[0]; k++)
            if (json_object_get(f, mk[k][0]))
                json_object_set(model, mk[k][1], json_object_get(f, mk[k][0]));
    }
    rc = import_ibuild_finish(&b, "bench", "prompt processing (pp) and generation (tg) speed, imported from llama-bench",
                       env, model, header, samples, err, err_len);
    goto done;
oom:
    rc = err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", src);
done:
    json_decref(env);
    json_decref(model);
    import_ibuild_free(&b);
    return rc;
}
