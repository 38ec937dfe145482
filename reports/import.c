/* import — llama-bench, ggperf bench and Google Benchmark JSON as ggperf
 * results files (see import.h). */
#include "reports/import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "results/metric.h"
#include "results/results.h"

#define MAX_AXES 8
#define MAX_CONFIGS 100000
#define MAX_INPUT_BYTES ((size_t)1 << 30)

static const char *const kind_names[IMPORT_KIND_COUNT] = { "llama-bench", "ggperf-bench", "gbench" };

int import_kind_from_name(const char *name)
{
    for (int i = 0; i < IMPORT_KIND_COUNT; i++)
        if (name && strcmp(name, kind_names[i]) == 0)
            return i;
    return -1;
}

const char *import_kind_name(int kind)
{
    return kind >= 0 && kind < IMPORT_KIND_COUNT ? kind_names[kind] : "unknown";
}

/* ---- what every format is turned into -------------------------------------- */

struct irep {
    bool ok;
    char *error;           /* failed repetitions: why */
    struct metric *m;
    int nm, cap;
};

struct ientry {
    char *vals[MAX_AXES];  /* the axis values of this entry */
    struct irep *reps;
    int n_reps, cap;
};

struct ibuild {
    const char *src;
    int n_axes;
    char axis[MAX_AXES][METRIC_NAME_MAX];
    bool axis_numeric[MAX_AXES];   /* sort the values as numbers */
    struct ientry *e;
    size_t n, cap;
};

static void ibuild_free(struct ibuild *b)
{
    for (size_t i = 0; i < b->n; i++) {
        for (int a = 0; a < MAX_AXES; a++)
            free(b->e[i].vals[a]);
        for (int r = 0; r < b->e[i].n_reps; r++) {
            free(b->e[i].reps[r].m);
            free(b->e[i].reps[r].error);
        }
        free(b->e[i].reps);
    }
    free(b->e);
    memset(b, 0, sizeof *b);
}

static struct ientry *ibuild_entry(struct ibuild *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct ientry *p = realloc(b->e, cap * sizeof *p);
        if (!p)
            return NULL;
        b->e = p;
        b->cap = cap;
    }
    struct ientry *e = &b->e[b->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static struct irep *ientry_rep(struct ientry *e, bool ok, const char *error)
{
    if (e->n_reps == e->cap) {
        int cap = e->cap ? e->cap * 2 : 8;
        struct irep *p = realloc(e->reps, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        e->reps = p;
        e->cap = cap;
    }
    struct irep *r = &e->reps[e->n_reps];
    memset(r, 0, sizeof *r);
    r->ok = ok;
    if (error && !(r->error = strdup(error)))
        return NULL;
    e->n_reps++;
    return r;
}

static int irep_metric(struct irep *r, const char *name, const char *unit, enum metric_source src, double v)
{
    if (r->nm == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        struct metric *p = realloc(r->m, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        r->m = p;
        r->cap = cap;
    }
    struct metric *m = &r->m[r->nm++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->unit = unit;
    m->source = src;
    m->status = METRIC_OK;
    m->value = v;
    m->running_fraction = 1;
    return 0;
}

static int set_val(struct ientry *e, int axis, const char *v)
{
    free(e->vals[axis]);
    e->vals[axis] = strdup(v);
    return e->vals[axis] ? 0 : -1;
}

static int cmp_numeric(const void *a, const void *b)
{
    double x = strtod(*(const char *const *)a, NULL), y = strtod(*(const char *const *)b, NULL);
    return (x > y) - (x < y);
}

/* The header (axes from the entries' values, in first-appearance order or
 * numerically) and one sample record per repetition. */
static int ibuild_finish(struct ibuild *b, const char *workload, const char *description, json_t *env, json_t *model,
                         json_t **header, json_t **samples, char *err, size_t err_len)
{
    int rc = IMPORT_ENOMEM;
    json_t *index[MAX_AXES] = { 0 };
    const char **values[MAX_AXES] = { 0 };
    struct results_axis axes[MAX_AXES];
    json_t *h = NULL, *arr = NULL;
    int *next_rep = NULL;
    if (b->n == 0) {
        rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: no benchmark results in the file", b->src);
        goto done;
    }
    size_t n_configs = 1;
    for (int a = 0; a < b->n_axes; a++) /* axis names must be distinct keys */
        for (int p = 0; p < a; p++)
            if (strcmp(b->axis[p], b->axis[a]) == 0 && strlen(b->axis[a]) + 1 < sizeof b->axis[a]) {
                strcat(b->axis[a], "_");
                p = -1;
            }
    for (int a = 0; a < b->n_axes; a++) {
        if (!(index[a] = json_object()) || !(values[a] = calloc(b->n, sizeof *values[a])))
            goto done;
        size_t nv = 0;
        for (size_t i = 0; i < b->n; i++) {
            const char *v = b->e[i].vals[a] ? b->e[i].vals[a] : "";
            if (json_object_get(index[a], v))
                continue;
            if (json_object_set_new(index[a], v, json_integer(0)) != 0)
                goto done;
            values[a][nv++] = v;
        }
        if (b->axis_numeric[a])
            qsort(values[a], nv, sizeof *values[a], cmp_numeric);
        for (size_t k = 0; k < nv; k++)
            json_object_set_new(index[a], values[a][k], json_integer((json_int_t)k));
        axes[a] = (struct results_axis){ b->axis[a], (int)nv, values[a] };
        n_configs *= nv;
        if (n_configs > MAX_CONFIGS) {
            rc = err_fail(err, err_len, IMPORT_ELIMIT, "%s: more than %d configurations (the axes' values multiply)",
                      b->src, MAX_CONFIGS);
            goto done;
        }
    }
    struct results_plan plan = { 0, 0, 0, 1, 0 };
    for (size_t i = 0; i < b->n; i++)
        if (b->e[i].n_reps > plan.repetitions)
            plan.repetitions = b->e[i].n_reps;
    if (!(h = results_header_new(workload, description, false, axes, b->n_axes, &plan, env, NULL, model)))
        goto done;
    if (!(arr = json_array()) || !(next_rep = calloc(n_configs, sizeof *next_rep)))
        goto done;
    for (size_t i = 0; i < b->n; i++) {
        size_t id = 0;
        for (int a = 0; a < b->n_axes; a++)
            id = id * (size_t)axes[a].n_values +
                 (size_t)json_integer_value(json_object_get(index[a], b->e[i].vals[a] ? b->e[i].vals[a] : ""));
        for (int r = 0; r < b->e[i].n_reps; r++) {
            struct irep *rp = &b->e[i].reps[r];
            struct results_sample s = { (int)id, next_rep[id]++, rp->ok, rp->error, 0, rp->m, rp->nm };
            json_t *js = results_sample_new(h, &s);
            if (!js || json_array_append_new(arr, js) != 0)
                goto done;
        }
    }
    *header = h;
    *samples = arr;
    h = arr = NULL;
    rc = IMPORT_OK;
done:
    if (rc == IMPORT_ENOMEM)
        err_fail(err, err_len, rc, "%s: out of memory", b->src);
    for (int a = 0; a < MAX_AXES; a++) {
        json_decref(index[a]);
        free(values[a]);
    }
    free(next_rep);
    json_decref(h);
    json_decref(arr);
    return rc;
}

/* ---- reading JSON -------------------------------------------------------------- */

/* A copy of text where NaN, Infinity and -Infinity outside strings read as
 * null (Google Benchmark writes them; JSON has no such numbers). */
static char *nonfinite_to_null(const char *text, size_t len, size_t *out_len)
{
    /* "NaN" (3) -> "null" (4) grows by a third at most */
    char *out = malloc(len + len / 3 + 8);
    if (!out)
        return NULL;
    size_t o = 0;
    bool in_str = false;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (in_str) {
            out[o++] = c;
            if (c == '\\' && i + 1 < len) {
                out[o++] = text[i + 1];
                i += 2;
                continue;
            }
            if (c == '"')
                in_str = false;
            i++;
            continue;
        }
        if (c == '"') {
            in_str = true;
            out[o++] = c;
            i++;
            continue;
        }
        size_t k = i + (c == '-' ? 1 : 0), skip = 0;
        if (len - k >= 3 && memcmp(text + k, "NaN", 3) == 0)
            skip = k - i + 3;
        else if (len - k >= 8 && memcmp(text + k, "Infinity", 8) == 0)
            skip = k - i + 8;
        if (skip) {
            memcpy(out + o, "null", 4);
            o += 4;
            i += skip;
            continue;
        }
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* Parse text as one JSON value, or (jsonl) as one object a line gathered
 * into an array. */
static int load_json(const char *text, size_t len, const char *src, bool jsonl, json_t **root, char *err,
                     size_t err_len)
{
    *root = NULL;
    size_t n;
    char *clean = nonfinite_to_null(text, len, &n);
    if (!clean)
        return err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", src);
    json_error_t je;
    json_t *v = json_loadb(clean, n, JSON_REJECT_DUPLICATES, &je);
    if (v) {
        free(clean);
        *root = v;
        return IMPORT_OK;
    }
    int rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: not valid JSON (line %d, column %d: %s)", src, je.line,
                  je.column, je.text);
    size_t first = 0;
    while (first < n && strchr(" \t\r\n", clean[first]))
        first++;
    if (!jsonl || first >= n || clean[first] != '{') {
        free(clean);
        return rc;
    }
    /* JSONL: one object a line */
    json_t *arr = json_array();
    if (!arr) {
        free(clean);
        return err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", src);
    }
    size_t line_no = 0;
    for (size_t p = 0; p < n;) {
        size_t e = p;
        while (e < n && clean[e] != '\n')
            e++;
        line_no++;
        size_t q = p;
        while (q < e && strchr(" \t\r", clean[q]))
            q++;
        if (q < e) {
            json_t *o = json_loadb(clean + p, e - p, JSON_REJECT_DUPLICATES, &je);
            if (!o) {
                rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: line %zu is not valid JSON (column %d: %s)", src,
                          line_no, je.column, je.text);
                json_decref(arr);
                free(clean);
                return rc;
            }
            json_array_append_new(arr, o);
        }
        p = e + 1;
    }
    free(clean);
    *root = arr;
    return IMPORT_OK;
}

/* Field readers: 1 found and valid, 0 absent, -1 present with the wrong
 * type or out of range (err filled). */
static int get_int(const json_t *o, const char *key, long long lo, long long hi, long long *out, const char *src,
                   const char *where, char *err, size_t err_len)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: %s is not an integer in %lld..%lld", src, where, key, lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 1;
}

static int get_num(const json_t *o, const char *key, double lo, double *out, const char *src, const char *where,
                   char *err, size_t err_len)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < lo) {
        err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: %s is not a finite number >= %g", src, where, key, lo);
        return -1;
    }
    *out = json_number_value(v);
    return 1;
}

static int get_str(const json_t *o, const char *key, const char **out, const char *src, const char *where, char *err,
                   size_t err_len)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: %s is not a string", src, where, key);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

/* Samples array: finite numbers > lo (strict) or >= lo. Returns the count,
 * 0 when absent, -1 when malformed. */
static long get_samples(const json_t *o, const char *key, double lo, bool strict, const char *src,
                        const char *where, char *err, size_t err_len)
{
    json_t *a = json_object_get(o, key);
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) == 0) {
        err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: %s is not a non-empty array", src, where, key);
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        if (!isfinite(x) || x < lo || (strict && x == lo)) {
            err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: %s[%zu] is not a finite number %s %g", src, where, key, i,
                 strict ? ">" : ">=", lo);
            return -1;
        }
    }
    return (long)json_array_size(a);
}

/* Text of a parameter value for an axis. */
static char *value_text(const json_t *v)
{
    char buf[64];
    if (!v)
        return strdup("-");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        return strdup(buf);
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "true" : "false");
    if (json_is_null(v))
        return strdup("null");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return s ? s : strdup("?");
}

static bool in_names(const char *const *names, const char *k)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], k) == 0)
            return true;
    return false;
}

/* The keys (other than skip) whose values differ between the objects of
 * arr (or are missing from some), in order of first appearance, copied
 * into out (at most max). Returns the count, -1 when more than max differ
 * (err says which), -2 when out of memory. */
static int varying_keys(const json_t *arr, const char *const *skip, char (*out)[METRIC_NAME_MAX], int max,
                        const char *src, char *err, size_t err_len)
{
    int n = 0;
    json_t *seen = json_object();
    if (!seen)
        return -2;
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            if (in_names(skip, k) || json_object_get(seen, k))
                continue;
            if (json_object_set_new(seen, k, json_true()) != 0) {
                json_decref(seen);
                return -2;
            }
            bool differs = false;
            size_t j;
            json_t *p;
            json_array_foreach(arr, j, p) {
                json_t *w = json_object_get(p, k);
                if (!w || !json_equal(w, v)) {
                    differs = true;
                    break;
                }
            }
            if (!differs)
                continue;
            if (n == max) {
                err_fail(err, err_len, IMPORT_ELIMIT,
                     "%s: more than %d parameters differ between the tests (%s, %s, ...): split the file", src, max,
                     out[0], k);
                json_decref(seen);
                return -1;
            }
            snprintf(out[n++], METRIC_NAME_MAX, "%s", k);
        }
    }
    json_decref(seen);
    return n;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

/* ---- llama-bench ------------------------------------------------------------ */

static const char *const llama_skip[] = { "test_time",  "avg_ns",        "stddev_ns",      "avg_ts",     "stddev_ts",
                                          "samples_ns", "samples_ts",    "n_prompt",       "n_gen",      "n_depth",
                                          "n_threads",  "model_size",    "model_n_params", "model_type", "build_number",
                                          NULL };

static int parse_llama(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
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
    int nv = varying_keys(root, llama_skip, vary, MAX_AXES - 2, src, err, err_len);
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
        if ((g = get_int(o, "n_prompt", 0, INT32_MAX, &n_prompt, src, where, err, err_len)) <= 0 ||
            (g = get_int(o, "n_gen", 0, INT32_MAX, &n_gen, src, where, err, err_len)) <= 0 ||
            (g = get_int(o, "n_threads", 1, 1 << 20, &n_threads, src, where, err, err_len)) <= 0) {
            if (g == 0)
                err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: n_prompt, n_gen or n_threads missing (not llama-bench JSON?)",
                     src, where);
            rc = IMPORT_EFORMAT;
            goto done;
        }
        if (get_int(o, "n_depth", 0, INT32_MAX, &n_depth, src, where, err, err_len) < 0 ||
            get_num(o, "model_size", 0, &model_size, src, where, err, err_len) < 0) {
            rc = IMPORT_EFORMAT;
            goto done;
        }
        static const char *const strs[] = { "build_commit", "cpu_info", "gpu_info", "backends", "model_filename",
                                            "model_type", "test_time" };
        for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
            if (get_str(o, strs[k], &s, src, where, err, err_len) < 0) {
                rc = IMPORT_EFORMAT;
                goto done;
            }
        if (n_prompt == 0 && n_gen == 0) {
            rc = err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: n_prompt and n_gen are both 0", src, where);
            goto done;
        }
        long n_ts = get_samples(o, "samples_ts", 0, true, src, where, err, err_len);
        long n_ns = n_ts >= 0 ? get_samples(o, "samples_ns", 0, false, src, where, err, err_len) : -1;
        if (n_ts < 0 || n_ns < 0) {
            rc = IMPORT_EFORMAT;
            goto done;
        }
        if (n_ts == 0) {
            int ga = get_num(o, "avg_ts", 0, &avg_ts, src, where, err, err_len);
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
        struct ientry *e = ibuild_entry(&b);
        if (!e)
            goto oom;
        for (int k = 0; k < nv; k++) {
            json_t *v = json_object_get(o, vary[k]);
            char *t = strcmp(vary[k], "model_filename") == 0 && json_is_string(v)
                          ? strdup(base_name(json_string_value(v))) : value_text(v);
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
        if (set_val(e, nv, test) != 0 || set_val(e, nv + 1, thr) != 0)
            goto oom;
        json_t *ts = json_object_get(o, "samples_ts"), *ns = json_object_get(o, "samples_ns");
        long reps = n_ts ? n_ts : 1;
        for (long r = 0; r < reps; r++) {
            struct irep *rp = ientry_rep(e, true, NULL);
            if (!rp)
                goto oom;
            double tps = n_ts ? json_number_value(json_array_get(ts, (size_t)r)) : avg_ts;
            if (irep_metric(rp, "tokens_per_s", "tok/s", METRIC_SRC_TIME, tps) != 0)
                goto oom;
            if (n_ns && irep_metric(rp, "test_ns", "ns", METRIC_SRC_TIME,
                                    json_number_value(json_array_get(ns, (size_t)r))) != 0)
                goto oom;
            if (n_prompt == 0 && model_size > 0 &&
                irep_metric(rp, "bytes_per_token", "bytes", METRIC_SRC_DERIVED, model_size) != 0)
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
    rc = ibuild_finish(&b, "bench", "prompt processing (pp) and generation (tg) speed, imported from llama-bench",
                       env, model, header, samples, err, err_len);
    goto done;
oom:
    rc = err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", src);
done:
    json_decref(env);
    json_decref(model);
    ibuild_free(&b);
    return rc;
}

/* ---- ggperf bench ------------------------------------------------------------ */

static int parse_ggperf_bench(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
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
        if ((g = get_str(o, "test", &test, src, where, err, err_len)) <= 0 || !*test) {
            rc = g < 0 ? IMPORT_EFORMAT
                       : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: test missing or empty (not ggperf bench JSON?)",
                              src, where);
            goto done;
        }
        if ((g = get_int(o, "threads", 1, 1 << 20, &threads, src, where, err, err_len)) <= 0) {
            rc = g < 0 ? IMPORT_EFORMAT : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: threads missing", src, where);
            goto done;
        }
        if (get_int(o, "n_tokens", 0, INT32_MAX, &n_tokens, src, where, err, err_len) < 0 ||
            get_num(o, "bytes_per_token", 0, &bpt, src, where, err, err_len) < 0 ||
            get_str(o, "model", &s, src, where, err, err_len) < 0 ||
            get_str(o, "kernels", &s, src, where, err, err_len) < 0 ||
            get_str(o, "weights", &s, src, where, err, err_len) < 0) {
            rc = IMPORT_EFORMAT;
            goto done;
        }
        long n = get_samples(o, "samples", 0, true, src, where, err, err_len);
        if (n <= 0) {
            rc = n < 0 ? IMPORT_EFORMAT : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: samples missing", src, where);
            goto done;
        }
        struct ientry *e = ibuild_entry(&b);
        if (!e)
            goto oom;
        for (int k = 0; k < nv; k++) {
            json_t *v = json_object_get(o, vary[k]);
            if (!(e->vals[k] = strcmp(vary[k], "model") == 0 && json_is_string(v)
                                   ? strdup(base_name(json_string_value(v))) : value_text(v)))
                goto oom;
        }
        char thr[24];
        snprintf(thr, sizeof thr, "%lld", threads);
        if (set_val(e, nv, test) != 0 || set_val(e, nv + 1, thr) != 0)
            goto oom;
        json_t *a = json_object_get(o, "samples");
        for (long r = 0; r < n; r++) {
            struct irep *rp = ientry_rep(e, true, NULL);
            if (!rp || irep_metric(rp, "tokens_per_s", "tok/s", METRIC_SRC_TIME,
                                   json_number_value(json_array_get(a, (size_t)r))) != 0)
                goto oom;
            if (bpt > 0 && irep_metric(rp, "bytes_per_token", "bytes", METRIC_SRC_DERIVED, bpt) != 0)
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
    rc = ibuild_finish(&b, "bench", "prompt processing (pp) and generation (tg) speed, imported from ggperf bench",
                       env, model, header, samples, err, err_len);
    goto done;
oom:
    rc = err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", src);
done:
    json_decref(env);
    json_decref(model);
    ibuild_free(&b);
    return rc;
}

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
    if (irep_metric(rp, "real_time_ns", "ns", METRIC_SRC_TIME, json_number_value(json_object_get(o, "real_time")) * scale_ns) != 0 ||
        irep_metric(rp, "cpu_time_ns", "ns", METRIC_SRC_TIME, json_number_value(json_object_get(o, "cpu_time")) * scale_ns) != 0)
        return -1;
    json_t *v;
    if (json_is_number(v = json_object_get(o, "bytes_per_second")) &&
        irep_metric(rp, "bandwidth_gbps", "GB/s", METRIC_SRC_DERIVED, json_number_value(v) / 1e9) != 0)
        return -1;
    if (json_is_number(v = json_object_get(o, "items_per_second")) &&
        irep_metric(rp, "items_per_s", "items/s", METRIC_SRC_DERIVED, json_number_value(v)) != 0)
        return -1;
    const char *k;
    json_object_foreach((json_t *)o, k, v) {
        if (in_names(gb_known, k) || !json_is_number(v))
            continue;
        char name[METRIC_NAME_MAX];
        counter_name(k, name, sizeof name);
        size_t n = strlen(name);
        bool rate = n > 6 && strcmp(name + n - 6, "_per_s") == 0;
        if (irep_metric(rp, name, rate ? "/s" : "count", METRIC_SRC_DERIVED, json_number_value(v)) != 0)
            return -1;
    }
    return 0;
}

static int parse_gbench(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
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
        if ((g = get_str(o, "name", &name, src, where, err, err_len)) <= 0 || !*name) {
            rc = g < 0 ? IMPORT_EFORMAT : err_fail(err, err_len, IMPORT_EFORMAT, "%s: %s: name missing", src, where);
            goto done;
        }
        if (get_str(o, "run_name", &run_name, src, where, err, err_len) < 0 ||
            get_str(o, "run_type", &run_type, src, where, err, err_len) < 0 ||
            get_str(o, "time_unit", &unit, src, where, err, err_len) < 0 ||
            get_str(o, "error_message", &s, src, where, err, err_len) < 0 ||
            get_str(o, "aggregate_name", &s, src, where, err, err_len) < 0 ||
            get_str(o, "label", &s, src, where, err, err_len) < 0) {
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
            if ((g = get_num(o, "real_time", 0, &t, src, where, err, err_len)) <= 0 ||
                (g = get_num(o, "cpu_time", 0, &t, src, where, err, err_len)) <= 0) {
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
            if (!(e = ibuild_entry(&b)) || set_val(e, 0, rn) != 0 ||
                json_object_set_new(byname, rn, json_integer((json_int_t)(b.n - 1))) != 0)
                goto oom;
        } else {
            e = &b.e[json_integer_value(idx)];
        }
        if (rt && strcmp(rt, "aggregate") == 0)
            continue;
        if (json_is_true(json_object_get(o, "error_occurred"))) {
            const char *m = json_string_value(json_object_get(o, "error_message"));
            if (!ientry_rep(e, false, m ? m : "error_occurred (no message)"))
                goto oom;
            continue;
        }
        const char *unit = json_string_value(json_object_get(o, "time_unit"));
        double scale = !unit || strcmp(unit, "ns") == 0 ? 1 : strcmp(unit, "us") == 0 ? 1e3
                                                           : strcmp(unit, "ms") == 0 ? 1e6 : 1e9;
        struct irep *rp = ientry_rep(e, true, NULL);
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
        struct irep *rp = ientry_rep(&b.e[k], true, NULL);
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
    rc = ibuild_finish(&b, "gbench", "Google Benchmark results, imported", env, NULL, header, samples, err, err_len);
    goto done;
oom:
    rc = err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", src);
done:
    json_decref(env);
    json_decref(byname);
    json_decref(agg);
    json_decref(agg_only);
    ibuild_free(&b);
    return rc;
}

/* ---- entry points ------------------------------------------------------------ */

/* Messages are one line: the parser quotes input text, which may hold
 * line breaks or other control characters. */
static void one_line(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

int import_parse(int kind, const char *text, size_t len, const char *src, json_t **header, json_t **samples,
                 char *err, size_t err_len)
{
    *header = *samples = NULL;
    if (kind < 0 || kind >= IMPORT_KIND_COUNT)
        return err_fail(err, err_len, IMPORT_EFORMAT, "import: unknown format %d", kind);
    json_t *root;
    int rc = load_json(text, len, src, kind == IMPORT_LLAMA_BENCH, &root, err, err_len);
    if (rc != 0) {
        if (err)
            one_line(err);
        return rc;
    }
    switch (kind) {
    case IMPORT_LLAMA_BENCH: rc = parse_llama(root, src, header, samples, err, err_len); break;
    case IMPORT_GGPERF_BENCH: rc = parse_ggperf_bench(root, src, header, samples, err, err_len); break;
    default: rc = parse_gbench(root, src, header, samples, err, err_len); break;
    }
    json_decref(root);
    if (rc != 0 && err)
        one_line(err);
    return rc;
}

static int dump_line(FILE *f, const json_t *v)
{
    if (json_dumpf(v, f, JSON_COMPACT | JSON_REAL_PRECISION(17)) != 0)
        return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

int import_write_jsonl(FILE *f, const json_t *header, const json_t *samples)
{
    if (dump_line(f, header) != 0)
        return IMPORT_EIO;
    size_t i;
    json_t *s;
    json_array_foreach(samples, i, s) {
        if (dump_line(f, s) != 0)
            return IMPORT_EIO;
    }
    char now[32];
    results_time_iso(now, sizeof now);
    json_t *end = json_pack("{s:s, s:s, s:I}", "kind", "end", "time", now, "samples",
                            (json_int_t)json_array_size(samples));
    int rc = end && dump_line(f, end) == 0 ? IMPORT_OK : IMPORT_EIO;
    json_decref(end);
    return ferror(f) ? IMPORT_EIO : rc;
}

static int read_all(const char *path, char **text, size_t *len, char *err, size_t err_len)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_fail(err, err_len, IMPORT_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= MAX_INPUT_BYTES) {
                free(buf);
                fclose(f);
                return err_fail(err, err_len, IMPORT_EFORMAT, "%s: larger than %zu MiB", path, MAX_INPUT_BYTES >> 20);
            }
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    bool bad = !buf || ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return buf ? err_fail(err, err_len, IMPORT_EIO, "%s: read failed: %s", path, strerror(e))
                   : err_fail(err, err_len, IMPORT_ENOMEM, "%s: out of memory", path);
    }
    *text = buf;
    *len = n;
    return IMPORT_OK;
}

int import_file(int kind, const char *in_path, const char *out_path, bool force, size_t *n_samples, char *err,
                size_t err_len)
{
    char *text;
    size_t len = 0;
    json_t *header = NULL, *samples = NULL;
    char tmp[PATH_MAX] = "";
    FILE *f = NULL;
    struct stat st;
    if (out_path && !force && lstat(out_path, &st) == 0)
        return err_fail(err, err_len, IMPORT_EEXIST, "%s: exists (use --force to replace it)", out_path);
    int rc = read_all(in_path, &text, &len, err, err_len);
    if (rc != 0)
        return rc;
    rc = import_parse(kind, text, len, in_path, &header, &samples, err, err_len);
    free(text);
    if (rc != 0)
        return rc;
    size_t ol = out_path ? strlen(out_path) : 0;
    bool jsonl = ol > 6 && strcmp(out_path + ol - 6, ".jsonl") == 0;
    /* the stream goes beside the output (or to TMPDIR for stdout); a JSON
     * document is derived from it by the results view writer */
    const char *dir = getenv("TMPDIR");
    int w = out_path ? snprintf(tmp, sizeof tmp, "%s.import-XXXXXX", out_path)
                     : snprintf(tmp, sizeof tmp, "%s/ggperf-import-XXXXXX", dir && *dir ? dir : "/tmp");
    if (w < 0 || (size_t)w >= sizeof tmp) {
        rc = err_fail(err, err_len, IMPORT_EIO, "%s: path too long", out_path ? out_path : "TMPDIR");
        tmp[0] = '\0';
        goto done;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = err_fail(err, err_len, IMPORT_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        tmp[0] = '\0';
        goto done;
    }
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        rc = err_fail(err, err_len, IMPORT_ENOMEM, "import: out of memory");
        goto done;
    }
    rc = import_write_jsonl(f, header, samples);
    if (fflush(f) != 0 || (jsonl && fsync(fileno(f)) != 0))
        rc = IMPORT_EIO;
    if (fclose(f) != 0)
        rc = IMPORT_EIO;
    f = NULL;
    if (rc != 0) {
        rc = err_fail(err, err_len, IMPORT_EIO, "%s: write failed: %s", tmp, strerror(errno));
        goto done;
    }
    if (jsonl) {
        if (rename(tmp, out_path) != 0) {
            rc = err_fail(err, err_len, IMPORT_EIO, "%s: rename into place failed: %s", out_path, strerror(errno));
            goto done;
        }
        tmp[0] = '\0';
    } else {
        char verr[512];
        if (results_write_view(tmp, RESULTS_FMT_JSON, out_path, NULL, verr, sizeof verr) != 0) {
            rc = err_fail(err, err_len, IMPORT_EIO, "%s", verr);
            goto done;
        }
    }
    if (n_samples)
        *n_samples = json_array_size(samples);
    rc = IMPORT_OK;
done:
    if (tmp[0])
        unlink(tmp);
    json_decref(header);
    json_decref(samples);
    return rc;
}
