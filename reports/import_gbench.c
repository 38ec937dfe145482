/* import_gbench — the importer of Google Benchmark's JSON output (--benchmark_format=json, repetitions and aggregates) into the builder of import_impl.h. */
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

/* ---- Google Benchmark ------------------------------------------------------------ */

static const char *const gb_known[] = { "name",           "family_index",   "per_family_instance_index",
                                        "run_name",       "run_type",       "repetitions",
                                        "repetition_index", "threads",      "iterations",
                                        "real_time",      "cpu_time",       "time_unit",
                                        "bytes_per_second", "items_per_second", "label",
                                        "error_occurred", "error_message",  "aggregate_name",
                                        "aggregate_unit", "skipped",        "skip_message",
                                        NULL };

/* Metric name of a user counter: [A-Za-z0-9_], "_per_second" -> "_per_s". */
static const char *counter_name(const char *k, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = k; *p && n + 1 < len; p++)
        buf[n++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p : '_';
    buf[n] = '\0';
    size_t sl = strlen("_per_second");
    if (n > sl && strcmp(buf + n - sl, "_per_second") == 0)
        strcpy(buf + n - sl, "_per_s");
    return buf;
}

static int gb_metrics(const json_t *o, struct irep *rp, double scale_ns)
{
    if (import_irep_metric(rp, "real_time_ns", "ns", METRIC_SRC_TIME, json_number_value(json_object_get(o, "real_time")) * scale_ns) != 0 ||
        import_irep_metric(rp, "cpu_time_ns", "ns", METRIC_SRC_TIME, json_number_value(json_object_get(o, "cpu_time")) * scale_ns) != 0)
        return -1;
    json_t *v;
    if (json_is_number(v = json_object_get(o, "bytes_per_second")) &&
        import_irep_metric(rp, "bandwidth_gbps", "GB/s", METRIC_SRC_DERIVED, json_number_value(v) / 1e9) != 0)
        return -1;
    if (json_is_number(v = json_object_get(o, "items_per_second")) &&
        import_irep_metric(rp, "items_per_s", "items/s", METRIC_SRC_DERIVED, json_number_value(v)) != 0)
        return -1;
    const char *k;
    json_object_foreach((json_t *)o, k, v) {
        if (import_in_names(gb_known, k) || !json_is_number(v))
            continue;
        char name[METRIC_NAME_MAX];
        counter_name(k, name, sizeof name);
        size_t n = strlen(name);
        bool rate = n > 6 && strcmp(name + n - 6, "_per_s") == 0;
        if (import_irep_metric(rp, name, rate ? "/s" : "count", METRIC_SRC_DERIVED, json_number_value(v)) != 0)
            return -1;
    }
    return 0;
}

int import_parse_gbench(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
                        size_t err_len)
{
    json_t *benches = json_object_get(root, "benchmarks");
    if (!json_is_object(root) || !json_is_array(benches))
        return err_fail(err, err_len, IMPORT_EFORMAT,
                    "%s: not Google Benchmark JSON (expected an object with a benchmarks array)", src);
    json_t *ctx = json_object_get(root, "context");
    if (ctx && !json_is_object(ctx))
        return err_fail(err, err_len, IMPORT_EFORMAT, "%s: context is not an object", src);
    struct ibuild b = { .src = src, .n_axes = 1 };
    snprintf(b.axis[0], sizeof b.axis[0], "benchmark");
    int rc = IMPORT_ENOMEM;
    json_t *env = NULL, *byname = json_object(), *agg = json_object(), *agg_only = json_array();
    if (!byname || !agg || !agg_only)
        goto oom;
    size_t i;
    json_t *o;
    /* pass 1: validate; remember each run's preferred aggregate */
    json_array_foreach(benches, i, o) {
        char where[48];
        snprintf(where, sizeof where, "benchmarks[%zu]", i);
        const char *name = NULL, *run_name = NULL, *run_type = NULL, *unit = NULL, *s;
        int g;
        if (!json_is_object(o)) {
            rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s is not an object", src, where);
            goto done;
        }
        if ((g = import_get_str(o, "name", &name, src, where, err, err_len)) <= 0 || !*name) {
            rc = g < 0 ? IMPORT_EFORMAT : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: name missing", src, where);
            goto done;
        }
        if (import_get_str(o, "run_name", &run_name, src, where, err, err_len) < 0 ||
            import_get_str(o, "run_type", &run_type, src, where, err, err_len) < 0 ||
            import_get_str(o, "time_unit", &unit, src, where, err, err_len) < 0 ||
            import_get_str(o, "error_message", &s, src, where, err, err_len) < 0 ||
            import_get_str(o, "aggregate_name", &s, src, where, err, err_len) < 0 ||
            import_get_str(o, "label", &s, src, where, err, err_len) < 0) {
            rc = IMPORT_EFORMAT;
            goto done;
        }
        if (run_type && strcmp(run_type, "iteration") != 0 && strcmp(run_type, "aggregate") != 0) {
            rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: run_type '%s' is not iteration or aggregate", src, where,
                      run_type);
            goto done;
        }
        json_t *eo = json_object_get(o, "error_occurred");
        if (eo && !json_is_boolean(eo)) {
            rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: error_occurred is not a boolean", src, where);
            goto done;
        }
        bool error = json_is_true(eo);
        if (!error) {
            double t;
            if ((g = import_get_num(o, "real_time", 0, &t, src, where, err, err_len)) <= 0 ||
                (g = import_get_num(o, "cpu_time", 0, &t, src, where, err, err_len)) <= 0) {
                rc = g < 0 ? IMPORT_EFORMAT
                           : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: real_time or cpu_time missing", src, where);
                goto done;
            }
            if (unit && strcmp(unit, "ns") != 0 && strcmp(unit, "us") != 0 && strcmp(unit, "ms") != 0 &&
                strcmp(unit, "s") != 0) {
                rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: time_unit '%s' is not ns, us, ms or s", src, where,
                          unit);
                goto done;
            }
        }
        static const char *const nums[] = { "iterations", "bytes_per_second", "items_per_second", "threads",
                                            "repetitions", "repetition_index" };
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
            json_t *v = json_object_get(o, nums[k]);
            if (v && !json_is_null(v) && !json_is_number(v)) {
                rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: %s is not a number", src, where, nums[k]);
                goto done;
            }
        }
        const char *rn = run_name ? run_name : name;
        if (run_type && strcmp(run_type, "aggregate") == 0) {
            const char *an = json_string_value(json_object_get(o, "aggregate_name"));
            const char *au = json_string_value(json_object_get(o, "aggregate_unit"));
            if (!an || (au && strcmp(au, "time") != 0) || error)
                continue;
            json_t *prev = json_object_get(agg, rn);
            if (strcmp(an, "median") == 0 ||
                (strcmp(an, "mean") == 0 &&
                 !(prev && strcmp(json_string_value(json_object_get(prev, "aggregate_name")), "median") == 0)))
                json_object_set(agg, rn, o);
        }
    }
    /* pass 2: entries in order of first appearance of their run_name */
    json_array_foreach(benches, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *rn = json_string_value(json_object_get(o, "run_name"));
        const char *rt = json_string_value(json_object_get(o, "run_type"));
        rn = rn ? rn : name;
        json_t *idx = json_object_get(byname, rn);
        struct ientry *e;
        if (!idx) {
            if (!(e = import_ibuild_entry(&b)) || import_set_val(e, 0, rn) != 0 ||
                json_object_set_new(byname, rn, json_integer((json_int_t)(b.n - 1))) != 0)
                goto oom;
        } else {
            e = &b.e[json_integer_value(idx)];
        }
        if (rt && strcmp(rt, "aggregate") == 0)
            continue;
        if (json_is_true(json_object_get(o, "error_occurred"))) {
            const char *m = json_string_value(json_object_get(o, "error_message"));
            if (!import_ientry_rep(e, false, m ? m : "error_occurred (no message)"))
                goto oom;
            continue;
        }
        const char *unit = json_string_value(json_object_get(o, "time_unit"));
        double scale = !unit || strcmp(unit, "ns") == 0 ? 1 : strcmp(unit, "us") == 0 ? 1e3
                                                           : strcmp(unit, "ms") == 0 ? 1e6 : 1e9;
        struct irep *rp = import_ientry_rep(e, true, NULL);
        if (!rp || gb_metrics(o, rp, scale) != 0)
            goto oom;
    }
    /* runs reported only as aggregates: the median (or mean) as one repetition */
    for (size_t k = 0; k < b.n; k++) {
        if (b.e[k].n_reps)
            continue;
        json_t *a = json_object_get(agg, b.e[k].vals[0]);
        if (!a)
            continue;
        const char *unit = json_string_value(json_object_get(a, "time_unit"));
        double scale = !unit || strcmp(unit, "ns") == 0 ? 1 : strcmp(unit, "us") == 0 ? 1e3
                                                           : strcmp(unit, "ms") == 0 ? 1e6 : 1e9;
        struct irep *rp = import_ientry_rep(&b.e[k], true, NULL);
        if (!rp || gb_metrics(a, rp, scale) != 0)
            goto oom;
        json_array_append_new(agg_only, json_pack("{s:s, s:O}", "benchmark", b.e[k].vals[0], "aggregate",
                                                  json_object_get(a, "aggregate_name")));
    }
    /* a run with no repetition at all (only cv/stddev aggregates) has no row */
    {
        size_t w = 0;
        for (size_t k = 0; k < b.n; k++) {
            if (b.e[k].n_reps) {
                b.e[w++] = b.e[k];
            } else {
                for (int a = 0; a < MAX_AXES; a++)
                    free(b.e[k].vals[a]);
                free(b.e[k].reps);
            }
        }
        b.n = w;
    }
    env = json_pack("{s:s, s:{s:s, s:s}}", "engine", "google-benchmark", "imported", "tool", "Google Benchmark",
                    "file", src);
    if (!env)
        goto oom;
    if (ctx) {
        const char *host = json_string_value(json_object_get(ctx, "host_name"));
        const char *brand = json_string_value(json_object_get(ctx, "cpu_brand"));
        const char *commit = json_string_value(json_object_get(ctx, "ggperf_commit"));
        if (host)
            json_object_set_new(env, "hostname", json_string(host));
        json_t *cpu = json_object();
        if (brand) {
            json_object_set_new(cpu, "brand", json_string(brand));
            json_object_set_new(cpu, "model_name", json_string(brand));
        }
        if (json_is_integer(json_object_get(ctx, "num_cpus")))
            json_object_set(cpu, "online", json_object_get(ctx, "num_cpus"));
        json_object_set_new(env, "cpu", cpu);
        if (commit)
            json_object_set_new(env, "build", json_pack("{s:s}", "commit", commit));
        if (json_is_string(json_object_get(ctx, "date")))
            json_object_set(env, "time", json_object_get(ctx, "date"));
        json_object_set(env, "gbench_context", ctx);
    }
    if (json_array_size(agg_only))
        json_object_set(env, "aggregates_only", agg_only);
    rc = import_ibuild_finish(&b, "gbench", "Google Benchmark results, imported", env, NULL, header, samples, err, err_len);
    goto done;
oom:
    rc = err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", src);
done:
    json_decref(env);
    json_decref(byname);
    json_decref(agg);
    json_decref(agg_only);
    import_ibuild_free(&b);
    return rc;
}
