/* import_ggperf — the importer of `ggperf bench`'s JSON output into the builder of import_impl.h. */
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

/* ---- ggperf bench ------------------------------------------------------------ */

int import_parse_ggperf_bench(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
                              size_t err_len)
{
    if (!json_is_array(root))
        return err_fail(err, err_len, IMPORT_EFORMAT, "%s: not ggperf bench JSON (expected an array of test objects)",
                    src);
    struct ibuild b = { .src = src };
    int rc = IMPORT_ENOMEM;
    json_t *env = NULL, *model = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(root, i, o) {
        if (!json_is_object(o))
            return err_fail(err, err_len, IMPORT_EFORMAT, "%s: test %zu is not an object", src, i);
    }
    const char *vary[MAX_AXES];
    int nv = 0;
    /* what can differ between tests of one file (several bench runs cat'ed
     * together): an axis when it does */
    static const char *const params[] = { "model", "kernels", "weights" };
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++) {
        const json_t *first = json_object_get(json_array_get(root, 0), params[k]);
        json_array_foreach(root, i, o) {
            json_t *v = json_object_get(o, params[k]);
            if ((!v) != (!first) || (v && !json_equal(v, first))) {
                vary[nv++] = params[k];
                break;
            }
        }
    }
    for (int k = 0; k < nv; k++)
        snprintf(b.axis[k], sizeof b.axis[k], "%s", vary[k]);
    snprintf(b.axis[nv], sizeof b.axis[nv], "test");
    snprintf(b.axis[nv + 1], sizeof b.axis[nv + 1], "threads");
    b.axis_numeric[nv + 1] = true;
    b.n_axes = nv + 2;
    json_array_foreach(root, i, o) {
        char where[32];
        snprintf(where, sizeof where, "test %zu", i);
        const char *test = NULL, *s;
        long long threads = 0, n_tokens = 0;
        double bpt = 0;
        int g;
        if ((g = import_get_str(o, "test", &test, src, where, err, err_len)) <= 0 || !*test) {
            rc = g < 0 ? IMPORT_EFORMAT
                       : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: test missing or empty (not ggperf bench JSON?)",
                              src, where);
            goto done;
        }
        if ((g = import_get_int(o, "threads", 1, 1 << 20, &threads, src, where, err, err_len)) <= 0) {
            rc = g < 0 ? IMPORT_EFORMAT : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: threads missing", src, where);
            goto done;
        }
        if (import_get_int(o, "n_tokens", 0, INT32_MAX, &n_tokens, src, where, err, err_len) < 0 ||
            import_get_num(o, "bytes_per_token", 0, &bpt, src, where, err, err_len) < 0 ||
            import_get_str(o, "model", &s, src, where, err, err_len) < 0 ||
            import_get_str(o, "kernels", &s, src, where, err, err_len) < 0 ||
            import_get_str(o, "weights", &s, src, where, err, err_len) < 0) {
            rc = IMPORT_EFORMAT;
            goto done;
        }
        long n = import_get_samples(o, "samples", 0, true, src, where, err, err_len);
        if (n <= 0) {
            rc = n < 0 ? IMPORT_EFORMAT : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: samples missing", src, where);
            goto done;
        }
        struct ientry *e = import_ibuild_entry(&b);
        if (!e)
            goto oom;
        for (int k = 0; k < nv; k++) {
            json_t *v = json_object_get(o, vary[k]);
            if (!(e->vals[k] = strcmp(vary[k], "model") == 0 && json_is_string(v)
                                   ? strdup(import_base_name(json_string_value(v))) : import_value_text(v)))
                goto oom;
        }
        char thr[24];
        snprintf(thr, sizeof thr, "%lld", threads);
        if (import_set_val(e, nv, test) != 0 || import_set_val(e, nv + 1, thr) != 0)
            goto oom;
        json_t *a = json_object_get(o, "samples");
        for (long r = 0; r < n; r++) {
            struct irep *rp = import_ientry_rep(e, true, NULL);
            if (!rp || import_irep_metric(rp, "tokens_per_s", "tok/s", METRIC_SRC_TIME,
                                   json_number_value(json_array_get(a, (size_t)r))) != 0)
                goto oom;
            if (bpt > 0 && import_irep_metric(rp, "bytes_per_token", "bytes", METRIC_SRC_DERIVED, bpt) != 0)
                goto oom;
        }
    }
    {
        const json_t *f = json_array_get(root, 0);
        env = json_pack("{s:s, s:{s:s, s:s}}", "engine", "ggperf", "imported", "tool", "ggperf bench", "file", src);
        model = json_object();
        if (!env || !model)
            goto oom;
        if (json_is_string(json_object_get(f, "kernels")))
            json_object_set(env, "kernels", json_object_get(f, "kernels"));
        if (json_is_string(json_object_get(f, "weights")))
            json_object_set(env, "weights", json_object_get(f, "weights"));
        if (json_is_string(json_object_get(f, "model")))
            json_object_set(model, "path", json_object_get(f, "model"));
    }
    rc = import_ibuild_finish(&b, "bench", "prompt processing (pp) and generation (tg) speed, imported from ggperf bench",
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
