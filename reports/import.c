/* import — llama-bench, ggperf bench and Google Benchmark JSON as ggperf
 * results files (see import.h): the entry points, reading the JSON, and the
 * builder every format's parser fills (import_impl.h). The parsers are
 * import_llama.c, import_ggperf.c and import_gbench.c. */
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
#include "reports/import_impl.h"

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

void import_ibuild_free(struct ibuild *b)
{
    if (!b)
        return;
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

struct ientry *import_ibuild_entry(struct ibuild *b)
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

struct irep *import_ientry_rep(struct ientry *e, bool ok, const char *error)
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

int import_irep_metric(struct irep *r, const char *name, const char *unit, enum metric_source src, double v)
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

int import_set_val(struct ientry *e, int axis, const char *v)
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
int import_ibuild_finish(struct ibuild *b, const char *workload, const char *description, json_t *env, json_t *model,
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
    struct results_plan plan = { 0, 0, 0, 1, 0, false };
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
int import_get_int(const json_t *o, const char *key, long long lo, long long hi, long long *out, const char *src,
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

int import_get_num(const json_t *o, const char *key, double lo, double *out, const char *src, const char *where,
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

int import_get_str(const json_t *o, const char *key, const char **out, const char *src, const char *where, char *err,
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
long import_get_samples(const json_t *o, const char *key, double lo, bool strict, const char *src,
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
char *import_value_text(const json_t *v)
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

bool import_in_names(const char *const *names, const char *k)
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
int import_varying_keys(const json_t *arr, const char *const *skip, char (*out)[METRIC_NAME_MAX], int max,
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
            if (import_in_names(skip, k) || json_object_get(seen, k))
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

const char *import_base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
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
    case IMPORT_LLAMA_BENCH: rc = import_parse_llama(root, src, header, samples, err, err_len); break;
    case IMPORT_GGPERF_BENCH: rc = import_parse_ggperf_bench(root, src, header, samples, err, err_len); break;
    default: rc = import_parse_gbench(root, src, header, samples, err, err_len); break;
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
