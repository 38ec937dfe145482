/* results — writers and readers of the ggperf results schema (see results.h). */
#include "results/results.h"
#include "base/err.h"

#include "results/fmt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/bitset.h"

/* Values buffered per statistics pass: bounds the memory of results_stats
 * whatever the number of repetitions and configurations (32 MiB). */
#define STATS_BUDGET_VALUES ((size_t)4 << 20)
#define MAX_ERRORS_KEPT 3

static const char *const format_names[RESULTS_FMT_COUNT] = { "md", "csv", "json", "jsonl", "sqlite" };

int results_format_from_name(const char *name)
{
    for (int i = 0; i < RESULTS_FMT_COUNT; i++)
        if (name && strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

const char *results_format_name(int fmt)
{
    return fmt >= 0 && fmt < RESULTS_FMT_COUNT ? format_names[fmt] : "unknown";
}

void results_time_iso(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void results_config_digits(int n_axes, const int *n_values, int id, int *digits)
{
    for (int i = n_axes - 1; i >= 0; i--) {
        int nv = n_values[i] > 0 ? n_values[i] : 1;
        digits[i] = id % nv;
        id /= nv;
    }
}

/* ---- header and samples ---------------------------------------------------- */

json_t *results_header_new(const char *workload, const char *description, bool isolated,
                           const struct results_axis *axes, int n_axes, const struct results_plan *plan,
                           json_t *environment, json_t *probe, json_t *model)
{
    char now[32];
    results_time_iso(now, sizeof now);
    json_t *h = json_object();
    json_t *jaxes = json_array(), *configs = json_array();
    if (!h || !jaxes || !configs)
        goto oom;
    json_object_set_new(h, "kind", json_string("header"));
    json_object_set_new(h, "schema", json_string(RESULTS_SCHEMA));
    json_object_set_new(h, "version", json_integer(RESULTS_VERSION));
    json_object_set_new(h, "created", json_string(now));
    json_object_set_new(h, "workload", json_pack("{s:s, s:s, s:b}", "name", workload, "description",
                                                 description ? description : "", "isolated", isolated));
    json_object_set(h, "model", model ? model : json_null());

    int n_values[64] = { 0 };
    long n_configs = 1;
    for (int i = 0; i < n_axes && i < 64; i++) {
        json_t *vals = json_array();
        for (int v = 0; v < axes[i].n_values; v++)
            json_array_append_new(vals, json_string(axes[i].values[v]));
        json_array_append_new(jaxes, json_pack("{s:s, s:o}", "name", axes[i].name, "values", vals));
        n_values[i] = axes[i].n_values;
        n_configs *= axes[i].n_values;
    }
    for (long id = 0; id < n_configs; id++) {
        int digits[64];
        results_config_digits(n_axes, n_values, (int)id, digits);
        json_t *ax = json_object();
        for (int i = 0; i < n_axes; i++)
            json_object_set_new(ax, axes[i].name, json_string(axes[i].values[digits[i]]));
        json_array_append_new(configs, json_pack("{s:I, s:o}", "id", (json_int_t)id, "axes", ax));
    }
    json_object_set_new(h, "axes", jaxes);
    json_object_set_new(h, "configs", configs);
    jaxes = configs = NULL;
    json_object_set_new(h, "plan", json_pack("{s:i, s:i, s:f, s:i, s:I, s:s}", "repetitions", plan->repetitions,
                                             "warmup", plan->warmup, "min_time_s", plan->min_time_s,
                                             "max_rounds", plan->max_rounds, "seed", (json_int_t)plan->seed,
                                             "order", "interleaved-shuffled"));
    json_object_set(h, "environment", environment ? environment : json_null());
    json_object_set(h, "probe", probe ? probe : json_null());
    return h;
oom:
    json_decref(h);
    json_decref(jaxes);
    json_decref(configs);
    return NULL;
}

int results_header_n_configs(const json_t *header)
{
    return (int)json_array_size(json_object_get(header, "configs"));
}

static json_t *metric_json(const struct metric *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(m->name));
    json_object_set_new(o, "unit", json_string(m->unit ? m->unit : ""));
    json_object_set_new(o, "source", json_string(metric_source_name(m->source)));
    json_object_set_new(o, "status", json_string(metric_status_name(m->status)));
    /* jansson refuses non-finite reals: a NaN figure is stored as null */
    json_object_set_new(o, "value", m->status == METRIC_OK && isfinite(m->value) ? json_real(m->value) : json_null());
    if (m->status == METRIC_OK && m->running_fraction > 0 && m->running_fraction < 1)
        json_object_set_new(o, "running_fraction", json_real(m->running_fraction));
    if (m->status != METRIC_OK)
        json_object_set_new(o, "reason", json_string(m->reason));
    /* declared semantics; an undeclared figure has none of these keys */
    if (m->sem.better)
        json_object_set_new(o, "better", json_string(metric_better_name(m->sem.better)));
    if (m->sem.kind)
        json_object_set_new(o, "kind", json_string(metric_kind_name(m->sem.kind)));
    if (m->sem.better || m->sem.kind)
        json_object_set_new(o, "gated", json_boolean(m->sem.gated));
    if (m->sem.tolerance > 0)
        json_object_set_new(o, "tolerance", json_real(m->sem.tolerance));
    return o;
}

json_t *results_sample_new(const json_t *header, const struct results_sample *s)
{
    json_t *cfg = json_array_get(json_object_get(header, "configs"), (size_t)s->config);
    if (!cfg || s->config < 0)
        return NULL;
    json_t *metrics = json_array();
    for (int i = 0; i < s->n_metrics; i++)
        json_array_append_new(metrics, metric_json(&s->metrics[i]));
    return json_pack("{s:s, s:i, s:i, s:O, s:b, s:o, s:f, s:o}", "kind", "sample", "config", s->config, "rep",
                     s->rep, "axes", json_object_get(cfg, "axes"), "ok", s->ok, "error",
                     s->ok || !s->error ? json_null() : json_string(s->error), "t_s", s->t_s, "metrics", metrics);
}

/* ---- the stream ---------------------------------------------------------- */

struct results_stream {
    int fd;
    char path[PATH_MAX];  /* for messages */
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_parent_dir(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    int dfd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int results_stream_put(struct results_stream *s, const json_t *record, char *err, size_t err_len)
{
    char *text = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text)
        return err_fail(err, err_len, RESULTS_ENOMEM, "results: cannot serialize a record");
    size_t n = strlen(text);
    /* one write() per line: a kill leaves at most one partial, final line */
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
    }
    line[n] = '\n';
    off_t before = lseek(s->fd, 0, SEEK_END);
    int rc = write_all(s->fd, line, n + 1);
    int e = errno;
    free(line);
    if (rc == 0 && fdatasync(s->fd) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        /* cut a partly written line so the stream stays whole lines: every
         * record before this one is intact and --resume can continue it */
        if (before >= 0 && ftruncate(s->fd, before) == 0)
            lseek(s->fd, before, SEEK_SET);
        return err_fail(err, err_len, RESULTS_EIO, "%s: writing a record failed: %s%s; the %lld bytes of records "
                    "before it are intact", s->path, strerror(e),
                    e == ENOSPC ? " (the disk is full)" : e == EFBIG ? " (the file size limit was reached)" : "",
                    (long long)(before > 0 ? before : 0));
    }
    return RESULTS_OK;
}

int results_stream_create(struct results_stream **out, const char *path, const json_t *header, char *err,
                          size_t err_len)
{
    *out = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_fail(err, err_len, errno == EEXIST ? RESULTS_EEXIST : RESULTS_EIO, "%s: cannot create: %s", path,
                    strerror(errno));
    struct results_stream *s = malloc(sizeof *s);
    if (!s) {
        close(fd);
        return err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
    }
    s->fd = fd;
    snprintf(s->path, sizeof s->path, "%s", path);
    int rc = results_stream_put(s, header, err, err_len);
    if (rc != 0) {
        results_stream_close(s);
        unlink(path);
        return rc;
    }
    fsync_parent_dir(path);
    *out = s;
    return RESULTS_OK;
}

int results_stream_reopen(struct results_stream **out, const char *path, char *err, size_t err_len)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return err_fail(err, err_len, RESULTS_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return err_fail(err, err_len, RESULTS_EIO, "%s: stat: %s", path, strerror(errno));
    }
    /* find the end of the last complete line, scanning backwards */
    off_t end = st.st_size, keep = 0;
    char buf[4096];
    while (end > 0) {
        off_t start = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
        ssize_t r = pread(fd, buf, (size_t)(end - start), start);
        if (r != end - start) {
            close(fd);
            return err_fail(err, err_len, RESULTS_EIO, "%s: read failed", path);
        }
        for (ssize_t i = r - 1; i >= 0; i--)
            if (buf[i] == '\n') {
                keep = start + i + 1;
                goto found;
            }
        end = start;
    }
found:
    if (keep < st.st_size && (ftruncate(fd, keep) != 0 || fsync(fd) != 0)) {
        close(fd);
        return err_fail(err, err_len, RESULTS_EIO, "%s: cannot cut the partial last line: %s", path, strerror(errno));
    }
    if (lseek(fd, 0, SEEK_END) < 0) {
        close(fd);
        return err_fail(err, err_len, RESULTS_EIO, "%s: seek: %s", path, strerror(errno));
    }
    struct results_stream *s = malloc(sizeof *s);
    if (!s) {
        close(fd);
        return err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
    }
    s->fd = fd;
    snprintf(s->path, sizeof s->path, "%s", path);
    *out = s;
    return RESULTS_OK;
}

void results_stream_close(struct results_stream *s)
{
    if (!s)
        return;
    close(s->fd);
    free(s);
}

/* ---- the reader ---------------------------------------------------------- */

struct results_reader {
    char path[PATH_MAX];
    FILE *f;              /* JSONL */
    json_t *doc;          /* JSON document (whole) */
    json_t *header;
    long data_start;      /* JSONL: offset of the line after the header */
    size_t line_no, data_line;
    size_t doc_next;
    int n_configs;
    struct bitset *seen;  /* [config]: reps seen */
    size_t dups;
    bool truncated, complete;
    char *line;
    size_t line_cap;
};

static int check_header(const json_t *h, const char *path, char *err, size_t err_len)
{
    const char *schema = json_string_value(json_object_get(h, "schema"));
    if (!schema || strcmp(schema, RESULTS_SCHEMA) != 0)
        return err_fail(err, err_len, RESULTS_EFORMAT, "%s: not a ggperf results file (schema '%s', expected '%s')",
                    path, schema ? schema : "(none)", RESULTS_SCHEMA);
    json_t *v = json_object_get(h, "version");
    if (!json_is_integer(v))
        return err_fail(err, err_len, RESULTS_EFORMAT, "%s: header has no integer version", path);
    if (json_integer_value(v) > RESULTS_VERSION || json_integer_value(v) < 1)
        return err_fail(err, err_len, RESULTS_EVERSION, "%s: schema version %" JSON_INTEGER_FORMAT
                    " (this build reads up to %d)", path, json_integer_value(v), RESULTS_VERSION);
    if (!json_is_object(json_object_get(h, "workload")) || !json_is_array(json_object_get(h, "axes")) ||
        !json_is_array(json_object_get(h, "configs")))
        return err_fail(err, err_len, RESULTS_ECORRUPT, "%s: header lacks workload, axes or configs", path);
    return RESULTS_OK;
}

void results_reader_close(struct results_reader *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    json_decref(r->doc);
    json_decref(r->header);
    if (r->seen)
        for (int i = 0; i < r->n_configs; i++)
            bitset_free(&r->seen[i]);
    free(r->seen);
    free(r->line);
    free(r);
}

int results_reader_open(struct results_reader **out, const char *path, char *err, size_t err_len)
{
    *out = NULL;
    struct results_reader *r = calloc(1, sizeof *r);
    if (!r)
        return err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
    snprintf(r->path, sizeof r->path, "%s", path);
    int rc;
    r->f = fopen(path, "r");
    if (!r->f) {
        rc = err_fail(err, err_len, RESULTS_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    ssize_t n = getline(&r->line, &r->line_cap, r->f);
    if (n <= 0) {
        rc = err_fail(err, err_len, RESULTS_EFORMAT, "%s: empty file, not a ggperf results file", path);
        goto fail;
    }
    json_error_t je;
    json_t *first = json_loads(r->line, JSON_DISABLE_EOF_CHECK, &je);
    const char *kind = json_string_value(json_object_get(first, "kind"));
    if (first && kind && strcmp(kind, "header") == 0) {
        r->header = first;
        r->line_no = 1;
        r->data_start = ftell(r->f);
    } else {
        /* not a JSONL stream: a JSON document, read whole */
        json_decref(first);
        rewind(r->f);
        r->doc = json_loadf(r->f, 0, &je);
        fclose(r->f);
        r->f = NULL;
        if (!json_is_object(r->doc)) {
            rc = err_fail(err, err_len, RESULTS_EFORMAT, "%s: not a ggperf results file (line %d: %s)", path, je.line,
                      je.text);
            goto fail;
        }
        r->header = json_deep_copy(r->doc);
        json_object_del(r->header, "samples");
        json_object_del(r->header, "stats");
        json_object_del(r->header, "complete");
        json_object_set_new(r->header, "kind", json_string("header"));
        if ((rc = check_header(r->header, path, err, err_len)) != 0)
            goto fail;
        if (!json_is_array(json_object_get(r->doc, "samples"))) {
            rc = err_fail(err, err_len, RESULTS_ECORRUPT, "%s: JSON document without a samples array", path);
            goto fail;
        }
        r->complete = json_is_true(json_object_get(r->doc, "complete"));
    }
    rc = check_header(r->header, path, err, err_len);
    if (rc != 0)
        goto fail;
    r->n_configs = results_header_n_configs(r->header);
    r->seen = calloc((size_t)r->n_configs + 1, sizeof *r->seen);
    if (!r->seen) {
        rc = err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
        goto fail;
    }
    *out = r;
    return RESULTS_OK;
fail:
    results_reader_close(r);
    return rc;
}

const json_t *results_reader_header(const struct results_reader *r)
{
    return r->header;
}

bool results_reader_complete(const struct results_reader *r)
{
    return r->complete;
}

size_t results_reader_duplicates(const struct results_reader *r)
{
    return r->dups;
}

bool results_reader_truncated(const struct results_reader *r)
{
    return r->truncated;
}

int results_reader_rewind(struct results_reader *r, char *err, size_t err_len)
{
    for (int i = 0; i < r->n_configs; i++)
        bitset_clear(&r->seen[i]);
    r->dups = 0;
    r->doc_next = 0;
    if (r->f) {
        if (fseek(r->f, r->data_start, SEEK_SET) != 0)
            return err_fail(err, err_len, RESULTS_EIO, "%s: seek: %s", r->path, strerror(errno));
        r->line_no = 1;
        r->truncated = false;
        r->complete = false;
    }
    return RESULTS_OK;
}

/* Marks (config, rep) seen; returns true when it was seen before. */
static int mark_seen(struct results_reader *r, int config, int rep, bool *dup)
{
    *dup = bitset_test(&r->seen[config], (size_t)rep);
    return bitset_set(&r->seen[config], (size_t)rep);
}

/* Validates a sample record; 0 or RESULTS_ECORRUPT with the reason. */
static int check_sample(const struct results_reader *r, const json_t *s, size_t line, char *err, size_t err_len)
{
    json_t *c = json_object_get(s, "config"), *rep = json_object_get(s, "rep");
    if (!json_is_integer(c) || json_integer_value(c) < 0 || json_integer_value(c) >= r->n_configs)
        return err_fail(err, err_len, RESULTS_ECORRUPT, "%s: record %zu: config missing or not in 0..%d", r->path,
                    line, r->n_configs - 1);
    if (!json_is_integer(rep) || json_integer_value(rep) < 0 || json_integer_value(rep) > INT_MAX / 2)
        return err_fail(err, err_len, RESULTS_ECORRUPT, "%s: record %zu: rep missing or negative", r->path, line);
    if (!json_is_boolean(json_object_get(s, "ok")) || !json_is_array(json_object_get(s, "metrics")))
        return err_fail(err, err_len, RESULTS_ECORRUPT, "%s: record %zu: ok or metrics missing", r->path, line);
    return RESULTS_OK;
}

static int accept_sample(struct results_reader *r, json_t *s, size_t line, json_t **sample, char *err,
                         size_t err_len)
{
    int rc = check_sample(r, s, line, err, err_len);
    if (rc != 0)
        return rc;
    bool dup;
    if (mark_seen(r, (int)json_integer_value(json_object_get(s, "config")),
                  (int)json_integer_value(json_object_get(s, "rep")), &dup) != 0)
        return err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
    if (dup) {
        r->dups++;
        return 0;
    }
    *sample = s;
    return 1;
}

int results_reader_next(struct results_reader *r, json_t **sample, char *err, size_t err_len)
{
    *sample = NULL;
    if (r->doc) {
        json_t *arr = json_object_get(r->doc, "samples");
        while (r->doc_next < json_array_size(arr)) {
            size_t i = r->doc_next++;
            json_t *s = json_array_get(arr, i);
            int rc = accept_sample(r, s, i + 1, sample, err, err_len);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                json_incref(s);
                return 1;
            }
        }
        return 0;
    }
    for (;;) {
        ssize_t n = getline(&r->line, &r->line_cap, r->f);
        if (n < 0)
            return 0;
        r->line_no++;
        bool has_nl = n > 0 && r->line[n - 1] == '\n';
        size_t k = 0;
        while (r->line[k] == ' ' || r->line[k] == '\t' || r->line[k] == '\r' || r->line[k] == '\n')
            k++;
        if (!r->line[k])
            continue;
        json_error_t je;
        json_t *rec = json_loads(r->line, JSON_DISABLE_EOF_CHECK, &je);
        if (!rec) {
            if (!has_nl) { /* the last write was cut short: what it held was never measured */
                r->truncated = true;
                return 0;
            }
            return err_fail(err, err_len, RESULTS_ECORRUPT, "%s: line %zu does not parse: %s", r->path, r->line_no,
                        je.text);
        }
        const char *kind = json_string_value(json_object_get(rec, "kind"));
        if (kind && strcmp(kind, "sample") == 0) {
            int rc = accept_sample(r, rec, r->line_no, sample, err, err_len);
            if (rc == 1)
                return 1;
            json_decref(rec);
            if (rc < 0)
                return rc;
            continue;
        }
        if (kind && strcmp(kind, "end") == 0)
            r->complete = true;
        json_decref(rec);
    }
}

/* ---- merging -------------------------------------------------------------- */

int results_merge(const char *const *paths, int n, const char *out_path, unsigned flags, char *err, size_t err_len)
{
    if (n < 1 || !out_path)
        return err_fail(err, err_len, RESULTS_EINVAL, "merge: no input files");
    static const char *const same[] = { "workload", "axes", "configs", "plan" };
    struct results_reader *r = NULL;
    struct results_stream *st = NULL;
    json_t *header = NULL, *from = json_array();
    int *next_rep = NULL, n_cfg = 0, rc = RESULTS_OK;
    unsigned char *seen = NULL;  /* [n_cfg][max_rep] bitmap for duplicates, grown as needed */
    size_t seen_reps = 0;
    bool complete = true;
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out_path, (long)getpid()) >= (int)sizeof tmp)
        return err_fail(err, err_len, RESULTS_EINVAL, "merge: %s: path too long", out_path);
    unlink(tmp);
    if (!from)
        return err_fail(err, err_len, RESULTS_ENOMEM, "out of memory");
    /* the headers first: the output's header lists every input */
    for (int i = 0; i < n; i++) {
        char rerr[512];
        if ((rc = results_reader_open(&r, paths[i], rerr, sizeof rerr)) != 0) {
            err_fail(err, err_len, rc, "merge: %s", rerr);
            goto done;
        }
        const json_t *h = results_reader_header(r);
        json_t *entry = json_pack("{s:s, s:O?, s:O?}", "path", paths[i], "shard", json_object_get(h, "shard"),
                                  "environment", json_object_get(h, "environment"));
        json_array_append_new(from, entry);
        if (!header) {
            header = json_deep_copy(h);
            json_object_del(header, "shard");
            json_object_del(header, "kind");
            json_object_set_new(header, "kind", json_string("header"));
            n_cfg = results_header_n_configs(header);
            next_rep = calloc((size_t)n_cfg + 1, sizeof *next_rep);
            if (!header || !next_rep) {
                rc = err_fail(err, err_len, RESULTS_ENOMEM, "out of memory");
                goto done;
            }
        } else {
            for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
                if (!json_equal(json_object_get(header, same[k]), json_object_get((json_t *)h, same[k]))) {
                    rc = err_fail(err, err_len, RESULTS_EINVAL, "merge: %s: its %s differs from %s's: not the same plan",
                              paths[i], same[k], paths[0]);
                    goto done;
                }
        }
        results_reader_close(r);
        r = NULL;
    }
    json_object_set(header, "merged_from", from);
    for (int i = 0; i < n; i++) {
        char rerr[512];
        if ((rc = results_reader_open(&r, paths[i], rerr, sizeof rerr)) != 0) {
            err_fail(err, err_len, rc, "merge: %s", rerr);
            goto done;
        }
        if (i == 0 && (rc = results_stream_create(&st, tmp, header, err, err_len)) != 0)
            goto done;
        json_t *smp;
        int got;
        while ((got = results_reader_next(r, &smp, rerr, sizeof rerr)) == 1) {
            int cfg = (int)json_integer_value(json_object_get(smp, "config"));
            if (cfg < 0 || cfg >= n_cfg) {
                json_decref(smp);
                rc = err_fail(err, err_len, RESULTS_ECORRUPT, "merge: %s: a sample of configuration %d (of %d)",
                          paths[i], cfg, n_cfg);
                goto done;
            }
            int rep = (int)json_integer_value(json_object_get(smp, "rep"));
            if (flags & RESULTS_MERGE_RENUMBER) {
                rep = next_rep[cfg]++;
                json_object_set_new(smp, "rep", json_integer(rep));
            } else {
                if (rep < 0) {
                    json_decref(smp);
                    rc = err_fail(err, err_len, RESULTS_ECORRUPT, "merge: %s: negative rep", paths[i]);
                    goto done;
                }
                if ((size_t)rep >= seen_reps) {
                    size_t nr = (size_t)rep * 2 + 8;
                    unsigned char *p = calloc((size_t)n_cfg * nr, 1);
                    if (!p) {
                        json_decref(smp);
                        rc = err_fail(err, err_len, RESULTS_ENOMEM, "out of memory");
                        goto done;
                    }
                    for (int c = 0; c < n_cfg && seen; c++)
                        memcpy(p + (size_t)c * nr, seen + (size_t)c * seen_reps, seen_reps);
                    free(seen);
                    seen = p;
                    seen_reps = nr;
                }
                if (seen[(size_t)cfg * seen_reps + (size_t)rep]) {
                    json_decref(smp);
                    rc = err_fail(err, err_len, RESULTS_EINVAL, "merge: %s: configuration %d repetition %d is in an "
                              "earlier input too (overlapping shards?)", paths[i], cfg, rep);
                    goto done;
                }
                seen[(size_t)cfg * seen_reps + (size_t)rep] = 1;
            }
            rc = results_stream_put(st, smp, err, err_len);
            json_decref(smp);
            if (rc != 0)
                goto done;
        }
        if (got < 0) {
            rc = err_fail(err, err_len, RESULTS_ECORRUPT, "merge: %s", rerr);
            goto done;
        }
        complete = complete && results_reader_complete(r);
        results_reader_close(r);
        r = NULL;
    }
    if (complete) {
        char now[32];
        results_time_iso(now, sizeof now);
        json_t *end = json_pack("{s:s, s:s}", "kind", "end", "time", now);
        rc = results_stream_put(st, end, err, err_len);
        json_decref(end);
        if (rc != 0)
            goto done;
    }
    results_stream_close(st);
    st = NULL;
    if (rename(tmp, out_path) != 0)
        rc = err_fail(err, err_len, RESULTS_EIO, "merge: rename to %s: %s", out_path, strerror(errno));
done:
    results_reader_close(r);
    results_stream_close(st);
    if (rc != 0)
        unlink(tmp);
    json_decref(header);
    json_decref(from);
    free(next_rep);
    free(seen);
    return rc;
}

/* ---- statistics ---------------------------------------------------------- */

void results_cacc_free(struct results_cacc *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nm; i++) {
        free(c->m[i].v);
        free(c->m[i].rep);
    }
    free(c->m);
    json_decref(c->errors);
    memset(c, 0, sizeof *c);
}

static struct results_macc *cacc_metric(struct results_cacc *c, const char *name, const char *unit,
                                        const char *source)
{
    for (size_t i = 0; i < c->nm; i++)
        if (strcmp(c->m[i].name, name) == 0)
            return &c->m[i];
    if (c->nm == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct results_macc *p = realloc(c->m, cap * sizeof *p);
        if (!p)
            return NULL;
        c->m = p;
        c->cap = cap;
    }
    struct results_macc *m = &c->m[c->nm++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->unit, sizeof m->unit, "%s", unit ? unit : "");
    snprintf(m->source, sizeof m->source, "%s", source ? source : "");
    return m;
}

int results_cacc_add(struct results_cacc *c, const json_t *s)
{
    c->n_reps++;
    bool ok = json_is_true(json_object_get(s, "ok"));
    if (!ok) {
        c->n_failed++;
        const char *e = json_string_value(json_object_get(s, "error"));
        if (!c->errors)
            c->errors = json_array();
        bool known = false;
        size_t i;
        json_t *v;
        json_array_foreach(c->errors, i, v) known = known || (e && strcmp(json_string_value(v), e) == 0);
        if (!known && json_array_size(c->errors) < MAX_ERRORS_KEPT)
            json_array_append_new(c->errors, json_string(e ? e : "(no message)"));
        return 0;
    }
    c->n_ok++;
    size_t i;
    json_t *jm;
    json_array_foreach(json_object_get(s, "metrics"), i, jm) {
        const char *name = json_string_value(json_object_get(jm, "name"));
        if (!name)
            continue;
        struct results_macc *m = cacc_metric(c, name, json_string_value(json_object_get(jm, "unit")),
                                     json_string_value(json_object_get(jm, "source")));
        if (!m)
            return -1;
        /* the first declaration seen wins; a later different one is noted */
        struct metric_sem sem = { (unsigned char)metric_better_from_name(json_string_value(json_object_get(jm, "better"))),
                                  (unsigned char)metric_kind_from_name(json_string_value(json_object_get(jm, "kind"))),
                                  json_is_true(json_object_get(jm, "gated")),
                                  (float)json_number_value(json_object_get(jm, "tolerance")) };
        if (!m->sem_seen && (sem.better || sem.kind)) {
            m->sem = sem;
            m->sem_seen = true;
        } else if (m->sem_seen && (sem.better != m->sem.better || sem.kind != m->sem.kind || sem.gated != m->sem.gated)) {
            m->sem_conflict = true;
        }
        const char *status = json_string_value(json_object_get(jm, "status"));
        json_t *val = json_object_get(jm, "value");
        if (status && strcmp(status, "ok") == 0 && json_is_number(val) && isfinite(json_number_value(val))) {
            if (m->n == m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 16;
                double *p = realloc(m->v, cap * sizeof *p);
                if (!p)
                    return -1;
                m->v = p;
                long *q = realloc(m->rep, cap * sizeof *q);
                if (!q)
                    return -1;
                m->rep = q;
                m->cap = cap;
            }
            m->rep[m->n] = (long)json_integer_value(json_object_get(s, "rep"));
            m->v[m->n++] = json_number_value(val);
        } else {
            if (status && strcmp(status, "not counted") == 0)
                m->n_notc++;
            else
                m->n_unsup++;
            const char *reason = json_string_value(json_object_get(jm, "reason"));
            if (!m->status[0])
                snprintf(m->status, sizeof m->status, "%s", status ? status : "no value");
            if (!m->reason[0] && reason)
                snprintf(m->reason, sizeof m->reason, "%s", reason);
        }
    }
    return 0;
}

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *macc_stats(struct results_macc *m, const struct stats_limits *lim)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", m->name, "unit", m->unit, "source", m->source);
    if (m->sem_seen) {
        json_object_set_new(o, "better", json_string(metric_better_name(m->sem.better)));
        json_object_set_new(o, "kind", json_string(metric_kind_name(m->sem.kind)));
        json_object_set_new(o, "gated", json_boolean(m->sem.gated));
        if (m->sem.tolerance > 0)
            json_object_set_new(o, "tolerance", json_real(m->sem.tolerance));
    }
    struct stats_summary s;
    if (m->n > 0 && stats_summarize(m->v, m->n, lim, &s) == STATS_OK) {
        json_object_set_new(o, "status", json_string("ok"));
        json_object_set_new(o, "n", json_integer((json_int_t)s.n));
        json_object_set_new(o, "median", jreal(s.median));
        json_object_set_new(o, "mad", jreal(s.mad));
        json_object_set_new(o, "mean", jreal(s.mean));
        json_object_set_new(o, "stddev", jreal(s.stddev));
        json_object_set_new(o, "min", jreal(s.min));
        json_object_set_new(o, "max", jreal(s.max));
        json_object_set_new(o, "ci_level", json_real(lim->level));
        json_object_set_new(o, "ci_lo", jreal(s.ci_lo));
        json_object_set_new(o, "ci_hi", jreal(s.ci_hi));
        json_object_set_new(o, "ci_coverage", jreal(s.ci_coverage));
        json_object_set_new(o, "noisy", json_boolean(s.noisy));
        json_object_set_new(o, "warning", s.warning[0] ? json_string(s.warning) : json_null());
    } else {
        json_object_set_new(o, "status", json_string(m->n_notc > m->n_unsup ? "not counted" : "unsupported"));
        json_object_set_new(o, "n", json_integer(0));
        const char *keys[] = { "median", "mad", "mean", "stddev", "min", "max", "ci_level", "ci_lo", "ci_hi",
                               "ci_coverage" };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            json_object_set_new(o, keys[i], json_null());
        json_object_set_new(o, "noisy", json_false());
        json_object_set_new(o, "warning", json_null());
    }
    json_object_set_new(o, "n_unsupported", json_integer((json_int_t)(m->n_unsup + m->n_notc)));
    json_object_set_new(o, "reason", m->reason[0] ? json_string(m->reason) : json_null());
    return o;
}

int results_stats(struct results_reader *r, const struct stats_limits *lim, json_t **out, char *err, size_t err_len)
{
    *out = NULL;
    if (!lim)
        lim = &stats_default_limits;
    int nc = r->n_configs, rc;
    json_t *sample;
    /* pass 1: values per configuration, to cut the work into batches
     * whose samples fit the budget */
    size_t *values = calloc((size_t)nc + 1, sizeof *values);
    struct results_cacc *acc = calloc((size_t)nc + 1, sizeof *acc);
    json_t *all = json_array();
    if (!values || !acc || !all) {
        rc = err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
        goto done;
    }
    if ((rc = results_reader_rewind(r, err, err_len)) != 0)
        goto done;
    while ((rc = results_reader_next(r, &sample, err, err_len)) == 1) {
        values[json_integer_value(json_object_get(sample, "config"))] +=
            json_array_size(json_object_get(sample, "metrics")) + 1;
        json_decref(sample);
    }
    if (rc < 0)
        goto done;
    for (int c0 = 0; c0 < nc;) {
        int c1 = c0;
        size_t budget = 0;
        while (c1 < nc && (c1 == c0 || budget + values[c1] <= STATS_BUDGET_VALUES))
            budget += values[c1++];
        if ((rc = results_reader_rewind(r, err, err_len)) != 0)
            goto done;
        while ((rc = results_reader_next(r, &sample, err, err_len)) == 1) {
            int c = (int)json_integer_value(json_object_get(sample, "config"));
            int bad = c >= c0 && c < c1 ? results_cacc_add(&acc[c], sample) : 0;
            json_decref(sample);
            if (bad) {
                rc = err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
                goto done;
            }
        }
        if (rc < 0)
            goto done;
        for (int c = c0; c < c1; c++) {
            json_t *metrics = json_array();
            for (size_t i = 0; i < acc[c].nm; i++)
                json_array_append_new(metrics, macc_stats(&acc[c].m[i], lim));
            json_t *cfg = json_array_get(json_object_get(r->header, "configs"), (size_t)c);
            json_array_append_new(
                all, json_pack("{s:i, s:O, s:I, s:I, s:I, s:o, s:o}", "config", c, "axes",
                               json_object_get(cfg, "axes") ? json_object_get(cfg, "axes") : json_null(), "n_reps",
                               (json_int_t)acc[c].n_reps, "n_ok", (json_int_t)acc[c].n_ok, "n_failed",
                               (json_int_t)acc[c].n_failed, "errors", acc[c].errors ? json_incref(acc[c].errors) : json_array(),
                               "metrics", metrics));
            results_cacc_free(&acc[c]);
        }
        c0 = c1;
    }
    rc = RESULTS_OK;
    *out = all;
    all = NULL;
done:
    if (acc)
        for (int c = 0; c < nc; c++)
            results_cacc_free(&acc[c]);
    free(acc);
    free(values);
    json_decref(all);
    return rc;
}

/* ---- Markdown and CSV ------------------------------------------------------- */

static bool metric_selected(const struct results_view_opts *vo, const char *name)
{
    if (!vo || !vo->metrics)
        return true;
    for (int i = 0; vo->metrics[i]; i++)
        if (strcmp(vo->metrics[i], name) == 0)
            return true;
    return false;
}

/* The metric columns: the union over configurations in order of first
 * appearance, or the requested ones in the requested order. Returns an
 * array of the first stats object seen for each name (borrowed). */
static json_t *metric_columns(const json_t *stats, const struct results_view_opts *vo)
{
    json_t *cols = json_array();
    json_t *seen = json_object();
    size_t i, j;
    json_t *c, *m;
    json_array_foreach(stats, i, c) {
        json_array_foreach(json_object_get(c, "metrics"), j, m) {
            const char *name = json_string_value(json_object_get(m, "name"));
            if (!name || json_object_get(seen, name) || !metric_selected(vo, name))
                continue;
            json_object_set_new(seen, name, json_true());
            json_array_append(cols, m);
        }
    }
    json_decref(seen);
    if (vo && vo->metrics) { /* reorder as requested */
        json_t *ordered = json_array();
        for (int k = 0; vo->metrics[k]; k++) {
            json_array_foreach(cols, i, m) {
                if (strcmp(json_string_value(json_object_get(m, "name")), vo->metrics[k]) == 0)
                    json_array_append(ordered, m);
            }
        }
        json_decref(cols);
        cols = ordered;
    }
    return cols;
}

static const json_t *config_metric(const json_t *cstats, const char *name)
{
    size_t j;
    json_t *m;
    json_array_foreach(json_object_get(cstats, "metrics"), j, m) {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (n && strcmp(n, name) == 0)
            return m;
    }
    return NULL;
}

/* A display unit for a column from the largest |median| (results/fmt.h). */
static struct fmt_scale column_scale(const json_t *stats, const char *name, const char *unit)
{
    double maxv = 0;
    size_t i;
    json_t *c;
    json_array_foreach(stats, i, c) {
        const json_t *m = config_metric(c, name);
        json_t *med = m ? json_object_get(m, "median") : NULL;
        if (json_is_number(med) && fabs(json_number_value(med)) > maxv)
            maxv = fabs(json_number_value(med));
    }
    return fmt_scale_for(unit, maxv);
}

static void config_label(const json_t *axes, char *buf, size_t len)
{
    size_t used = 0;
    const char *k;
    json_t *v;
    buf[0] = '\0';
    json_object_foreach((json_t *)axes, k, v) {
        int w = snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", k, json_string_value(v));
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

int results_write_md(FILE *f, const json_t *header, const json_t *stats, const struct results_view_opts *vo)
{
    json_t *axes = json_object_get(header, "axes");
    json_t *cols = metric_columns(stats, vo);
    size_t i, j;
    json_t *a, *c, *col;
    const char *wname = json_string_value(json_object_get(json_object_get(header, "workload"), "name"));
    json_int_t reps = json_integer_value(json_object_get(json_object_get(header, "plan"), "repetitions"));
    if (vo && vo->title)
        fprintf(f, "## %s\n\n", vo->title);
    else
        fprintf(f, "## %s: %zu configurations × %" JSON_INTEGER_FORMAT " repetitions\n\n", wname ? wname : "?",
                json_array_size(stats), reps);

    struct fmt_scale *sc = calloc(json_array_size(cols) + 1, sizeof *sc);
    if (!sc) {
        json_decref(cols);
        return RESULTS_ENOMEM;
    }
    fputs("|", f);
    json_array_foreach(axes, i, a) fprintf(f, " %s |", json_string_value(json_object_get(a, "name")));
    fputs(" ok |", f);
    json_array_foreach(cols, j, col) {
        const char *name = json_string_value(json_object_get(col, "name"));
        sc[j] = column_scale(stats, name, json_string_value(json_object_get(col, "unit")));
        fprintf(f, " %s (%s, %s) |", name, sc[j].unit, json_string_value(json_object_get(col, "source")));
    }
    fputs("\n|", f);
    json_array_foreach(axes, i, a) fputs(":--|", f);
    fputs("--:|", f);
    json_array_foreach(cols, j, col) fputs("--:|", f);
    fputs("\n", f);

    bool any_noisy = false, any_na = false, any_failed = false;
    json_array_foreach(stats, i, c) {
        json_t *cax = json_object_get(c, "axes");
        fputs("|", f);
        json_array_foreach(axes, j, a) fprintf(f, " %s |", json_string_value(json_object_get(
                                                               cax, json_string_value(json_object_get(a, "name")))));
        json_int_t n_ok = json_integer_value(json_object_get(c, "n_ok"));
        json_int_t n_reps = json_integer_value(json_object_get(c, "n_reps"));
        any_failed = any_failed || n_ok < n_reps;
        fprintf(f, " %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " |", n_ok, n_reps);
        json_array_foreach(cols, j, col) {
            const json_t *m = config_metric(c, json_string_value(json_object_get(col, "name")));
            const char *status = m ? json_string_value(json_object_get(m, "status")) : NULL;
            if (!m) {
                fputs(n_ok == 0 && n_reps > 0 ? " failed |" : " – |", f);
            } else if (!status || strcmp(status, "ok") != 0) {
                fputs(" n/a |", f);
                any_na = true;
            } else {
                char est[64];
                fmt_estimate(est, sizeof est, json_number_value(json_object_get(m, "median")) / sc[j].div,
                             json_number_value(json_object_get(m, "mad")) / sc[j].div);
                bool noisy = json_is_true(json_object_get(m, "noisy"));
                any_noisy = any_noisy || noisy;
                fprintf(f, " %s%s |", est, noisy ? " ⚠" : "");
            }
        }
        fputs("\n", f);
    }
    fputs("\nmedian ± MAD over the successful repetitions; 95% CIs of the median are in the JSON and CSV outputs.\n",
          f);
    char label[256];
    if (any_noisy) {
        /* one line per distinct warning (n too small repeats in every cell) */
        fputs("\n⚠ spread too wide to trust:\n", f);
        json_t *groups = json_object(); /* warning -> [count, first cell] */
        json_array_foreach(stats, i, c) {
            config_label(json_object_get(c, "axes"), label, sizeof label);
            json_array_foreach(cols, j, col) {
                const json_t *m = config_metric(c, json_string_value(json_object_get(col, "name")));
                if (!m || !json_is_true(json_object_get(m, "noisy")))
                    continue;
                const char *w = json_string_value(json_object_get(m, "warning"));
                w = w ? w : "noisy";
                json_t *g = json_object_get(groups, w);
                if (g) {
                    json_array_set_new(g, 0, json_integer(json_integer_value(json_array_get(g, 0)) + 1));
                    continue;
                }
                char cell[384];
                snprintf(cell, sizeof cell, "%s, %s", label, json_string_value(json_object_get(m, "name")));
                json_object_set_new(groups, w, json_pack("[i, s]", 1, cell));
            }
        }
        const char *w;
        json_t *g;
        int lines = 0, more = 0;
        json_object_foreach(groups, w, g) {
            if (lines++ >= 12) {
                more++;
                continue;
            }
            json_int_t cnt = json_integer_value(json_array_get(g, 0));
            if (cnt == 1)
                fprintf(f, "- %s: %s\n", json_string_value(json_array_get(g, 1)), w);
            else
                fprintf(f, "- %s: %" JSON_INTEGER_FORMAT " cells (first: %s)\n", w, cnt,
                        json_string_value(json_array_get(g, 1)));
        }
        if (more)
            fprintf(f, "- ... and %d more warnings (see the JSON or CSV output)\n", more);
        json_decref(groups);
    }
    if (any_na) {
        fputs("\nn/a (not measured):\n", f);
        json_t *said = json_object();
        json_array_foreach(stats, i, c) {
            json_array_foreach(cols, j, col) {
                const json_t *m = config_metric(c, json_string_value(json_object_get(col, "name")));
                const char *status = m ? json_string_value(json_object_get(m, "status")) : NULL;
                if (!m || !status || strcmp(status, "ok") == 0)
                    continue;
                const char *reason = json_string_value(json_object_get(m, "reason"));
                char key[512];
                snprintf(key, sizeof key, "%s\n%s", json_string_value(json_object_get(m, "name")),
                         reason ? reason : "");
                if (json_object_get(said, key))
                    continue;
                json_object_set_new(said, key, json_true());
                fprintf(f, "- %s: %s (%s)\n", json_string_value(json_object_get(m, "name")), status,
                        reason ? reason : "no reason given");
            }
        }
        json_decref(said);
    }
    if (any_failed) {
        fputs("\nfailed repetitions:\n", f);
        json_array_foreach(stats, i, c) {
            json_int_t nf = json_integer_value(json_object_get(c, "n_failed"));
            if (!nf)
                continue;
            config_label(json_object_get(c, "axes"), label, sizeof label);
            const char *e = json_string_value(json_array_get(json_object_get(c, "errors"), 0));
            fprintf(f, "- %s: %" JSON_INTEGER_FORMAT " failed (%s)\n", label, nf, e ? e : "no message");
        }
    }
    free(sc);
    json_decref(cols);
    return ferror(f) ? RESULTS_EIO : RESULTS_OK;
}

static void csv_field(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, const json_t *v)
{
    if (json_is_integer(v))
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        fprintf(f, "%.15g", json_real_value(v));
}

int results_write_csv(FILE *f, const json_t *header, const json_t *stats, const struct results_view_opts *vo)
{
    json_t *axes = json_object_get(header, "axes");
    size_t i, j;
    json_t *a, *c, *m;
    fputs("config", f);
    json_array_foreach(axes, i, a) {
        fputc(',', f);
        csv_field(f, json_string_value(json_object_get(a, "name")));
    }
    static const char *const nums[] = { "n", "n_failed", "median", "mad", "mean", "stddev", "min", "max",
                                        "ci_lo", "ci_hi", "ci_coverage" };
    fputs(",metric,unit,source,status", f);
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
        fprintf(f, ",%s", nums[k]);
    fputs(",noisy,warning\n", f);
    json_array_foreach(stats, i, c) {
        json_t *cax = json_object_get(c, "axes");
        size_t rows = 0;
        json_t *ms = json_object_get(c, "metrics");
        for (j = 0; j <= json_array_size(ms); j++) {
            m = json_array_get(ms, j);
            if (m && !metric_selected(vo, json_string_value(json_object_get(m, "name"))))
                continue;
            if (!m && rows) /* a configuration without metrics (all failed) still gets a row */
                break;
            rows++;
            fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(c, "config")));
            size_t k2;
            json_array_foreach(axes, k2, a) {
                fputc(',', f);
                csv_field(f, json_string_value(json_object_get(cax, json_string_value(json_object_get(a, "name")))));
            }
            fputc(',', f);
            if (m) {
                csv_field(f, json_string_value(json_object_get(m, "name")));
                fputc(',', f);
                csv_field(f, json_string_value(json_object_get(m, "unit")));
                fputc(',', f);
                csv_field(f, json_string_value(json_object_get(m, "source")));
                fputc(',', f);
                csv_field(f, json_string_value(json_object_get(m, "status")));
            } else {
                fputs(",,,failed", f);
            }
            for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
                fputc(',', f);
                if (strcmp(nums[k], "n_failed") == 0)
                    csv_num(f, json_object_get(c, "n_failed"));
                else if (m)
                    csv_num(f, json_object_get(m, nums[k]));
                else if (strcmp(nums[k], "n") == 0)
                    fputs("0", f);
            }
            fprintf(f, ",%d,", m && json_is_true(json_object_get(m, "noisy")) ? 1 : 0);
            csv_field(f, m ? json_string_value(json_object_get(m, "warning")) : NULL);
            fputc('\n', f);
        }
    }
    return ferror(f) ? RESULTS_EIO : RESULTS_OK;
}

/* ---- whole-file views -------------------------------------------------------- */

static int dump_to(FILE *f, const json_t *v)
{
    return json_dumpf(v, f, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) == 0 ? 0 : -1;
}

static int write_json_doc(FILE *f, struct results_reader *r, const json_t *stats, char *err, size_t err_len)
{
    const char *k;
    json_t *v;
    fputs("{", f);
    bool first = true;
    json_object_foreach((json_t *)r->header, k, v) {
        if (strcmp(k, "kind") == 0)
            continue;
        json_t *key = json_string(k);
        fputs(first ? "\n" : ",\n", f);
        dump_to(f, key);
        fputs(": ", f);
        dump_to(f, v);
        json_decref(key);
        first = false;
    }
    int rc = results_reader_rewind(r, err, err_len);
    if (rc != 0)
        return rc;
    fputs(",\n\"samples\": [", f);
    json_t *s;
    size_t n = 0;
    while ((rc = results_reader_next(r, &s, err, err_len)) == 1) {
        fputs(n++ ? ",\n" : "\n", f);
        dump_to(f, s);
        json_decref(s);
    }
    if (rc < 0)
        return rc;
    fprintf(f, "\n],\n\"complete\": %s,\n\"stats\": ", results_reader_complete(r) ? "true" : "false");
    json_dumpf(stats, f, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    fputs("\n}\n", f);
    return RESULTS_OK;
}

static int write_jsonl(FILE *f, struct results_reader *r, const json_t *stats, char *err, size_t err_len)
{
    dump_to(f, r->header);
    fputc('\n', f);
    int rc = results_reader_rewind(r, err, err_len);
    if (rc != 0)
        return rc;
    json_t *s;
    size_t n = 0;
    while ((rc = results_reader_next(r, &s, err, err_len)) == 1) {
        dump_to(f, s);
        fputc('\n', f);
        json_decref(s);
        n++;
    }
    if (rc < 0)
        return rc;
    size_t i;
    json_t *c;
    json_array_foreach(stats, i, c) {
        json_t *rec = json_deep_copy(c);
        json_object_set_new(rec, "kind", json_string("stats"));
        dump_to(f, rec);
        fputc('\n', f);
        json_decref(rec);
    }
    if (results_reader_complete(r)) {
        char now[32];
        results_time_iso(now, sizeof now);
        json_t *end = json_pack("{s:s, s:s, s:I}", "kind", "end", "time", now, "samples", (json_int_t)n);
        dump_to(f, end);
        fputc('\n', f);
        json_decref(end);
    }
    return RESULTS_OK;
}

static const char sqlite_schema[] =
    "CREATE TABLE runs(run_id INTEGER PRIMARY KEY, schema TEXT NOT NULL, version INTEGER NOT NULL,"
    " workload TEXT NOT NULL, created TEXT, complete INTEGER NOT NULL, header TEXT NOT NULL);"
    "CREATE TABLE configs(run_id INTEGER NOT NULL REFERENCES runs, config INTEGER NOT NULL, label TEXT NOT NULL,"
    " axes TEXT NOT NULL, PRIMARY KEY(run_id, config));"
    /* one row per repetition × metric; a repetition without metrics has one row with metric NULL */
    "CREATE TABLE samples(run_id INTEGER NOT NULL REFERENCES runs, config INTEGER NOT NULL, rep INTEGER NOT NULL,"
    " ok INTEGER NOT NULL, error TEXT, t_s REAL, metric TEXT, unit TEXT, source TEXT, status TEXT, value REAL,"
    " reason TEXT);"
    "CREATE TABLE stats(run_id INTEGER NOT NULL REFERENCES runs, config INTEGER NOT NULL, metric TEXT NOT NULL,"
    " unit TEXT, source TEXT, status TEXT NOT NULL, n INTEGER NOT NULL, n_failed INTEGER NOT NULL, median REAL,"
    " mad REAL, mean REAL, stddev REAL, min REAL, max REAL, ci_level REAL, ci_lo REAL, ci_hi REAL,"
    " ci_coverage REAL, noisy INTEGER NOT NULL, warning TEXT, reason TEXT, PRIMARY KEY(run_id, config, metric));"
    "CREATE INDEX samples_by_config ON samples(run_id, config, metric);";

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_num(sqlite3_stmt *st, int i, const json_t *v)
{
    if (json_is_number(v))
        sqlite3_bind_double(st, i, json_number_value(v));
    else
        sqlite3_bind_null(st, i);
}

static int write_sqlite(const char *path, struct results_reader *r, const json_t *stats, char *err, size_t err_len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st_run = NULL, *st_cfg = NULL, *st_smp = NULL, *st_sta = NULL;
    char *text = NULL;
    int rc = RESULTS_ESQLITE;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        goto sqlfail;
    if (sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, sqlite_schema, NULL, NULL, NULL) != SQLITE_OK)
        goto sqlfail;
    if (sqlite3_prepare_v2(db, "INSERT INTO runs VALUES(1,?,?,?,?,?,?)", -1, &st_run, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO configs VALUES(1,?,?,?)", -1, &st_cfg, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO samples VALUES(1,?,?,?,?,?,?,?,?,?,?,?)", -1, &st_smp, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO stats VALUES(1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st_sta,
                           NULL) != SQLITE_OK)
        goto sqlfail;

    /* samples first: completeness is known after a full pass */
    if ((rc = results_reader_rewind(r, err, err_len)) != 0)
        goto done;
    json_t *s;
    while ((rc = results_reader_next(r, &s, err, err_len)) == 1) {
        json_t *ms = json_object_get(s, "metrics");
        size_t n = json_array_size(ms);
        for (size_t i = 0; i < (n ? n : 1); i++) {
            json_t *m = json_array_get(ms, i);
            sqlite3_reset(st_smp);
            sqlite3_bind_int64(st_smp, 1, json_integer_value(json_object_get(s, "config")));
            sqlite3_bind_int64(st_smp, 2, json_integer_value(json_object_get(s, "rep")));
            sqlite3_bind_int(st_smp, 3, json_is_true(json_object_get(s, "ok")));
            bind_text(st_smp, 4, json_string_value(json_object_get(s, "error")));
            bind_num(st_smp, 5, json_object_get(s, "t_s"));
            bind_text(st_smp, 6, json_string_value(json_object_get(m, "name")));
            bind_text(st_smp, 7, json_string_value(json_object_get(m, "unit")));
            bind_text(st_smp, 8, json_string_value(json_object_get(m, "source")));
            bind_text(st_smp, 9, json_string_value(json_object_get(m, "status")));
            bind_num(st_smp, 10, json_object_get(m, "value"));
            bind_text(st_smp, 11, json_string_value(json_object_get(m, "reason")));
            if (sqlite3_step(st_smp) != SQLITE_DONE) {
                json_decref(s);
                rc = RESULTS_ESQLITE;
                goto sqlfail;
            }
        }
        json_decref(s);
    }
    if (rc < 0)
        goto done;

    text = json_dumps(r->header, JSON_COMPACT | JSON_REAL_PRECISION(17));
    bind_text(st_run, 1, RESULTS_SCHEMA);
    sqlite3_bind_int64(st_run, 2, json_integer_value(json_object_get(r->header, "version")));
    bind_text(st_run, 3, json_string_value(json_object_get(json_object_get(r->header, "workload"), "name")));
    bind_text(st_run, 4, json_string_value(json_object_get(r->header, "created")));
    sqlite3_bind_int(st_run, 5, results_reader_complete(r));
    bind_text(st_run, 6, text);
    if (sqlite3_step(st_run) != SQLITE_DONE)
        goto sqlfail;

    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r->header, "configs"), i, c) {
        char label[512], *axes = json_dumps(json_object_get(c, "axes"), JSON_COMPACT);
        config_label(json_object_get(c, "axes"), label, sizeof label);
        sqlite3_reset(st_cfg);
        sqlite3_bind_int64(st_cfg, 1, json_integer_value(json_object_get(c, "id")));
        bind_text(st_cfg, 2, label);
        bind_text(st_cfg, 3, axes ? axes : "{}");
        free(axes);
        if (sqlite3_step(st_cfg) != SQLITE_DONE)
            goto sqlfail;
    }
    json_array_foreach(stats, i, c) {
        size_t j;
        json_t *m;
        json_array_foreach(json_object_get(c, "metrics"), j, m) {
            static const char *const nums[] = { "median", "mad", "mean", "stddev", "min", "max",
                                                "ci_level", "ci_lo", "ci_hi", "ci_coverage" };
            sqlite3_reset(st_sta);
            sqlite3_bind_int64(st_sta, 1, json_integer_value(json_object_get(c, "config")));
            bind_text(st_sta, 2, json_string_value(json_object_get(m, "name")));
            bind_text(st_sta, 3, json_string_value(json_object_get(m, "unit")));
            bind_text(st_sta, 4, json_string_value(json_object_get(m, "source")));
            bind_text(st_sta, 5, json_string_value(json_object_get(m, "status")));
            sqlite3_bind_int64(st_sta, 6, json_integer_value(json_object_get(m, "n")));
            sqlite3_bind_int64(st_sta, 7, json_integer_value(json_object_get(c, "n_failed")));
            for (int k = 0; k < 10; k++)
                bind_num(st_sta, 8 + k, json_object_get(m, nums[k]));
            sqlite3_bind_int(st_sta, 18, json_is_true(json_object_get(m, "noisy")));
            bind_text(st_sta, 19, json_string_value(json_object_get(m, "warning")));
            bind_text(st_sta, 20, json_string_value(json_object_get(m, "reason")));
            if (sqlite3_step(st_sta) != SQLITE_DONE)
                goto sqlfail;
        }
    }
    if (sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK)
        goto sqlfail;
    rc = RESULTS_OK;
    goto done;
sqlfail:
    rc = err_fail(err, err_len, RESULTS_ESQLITE, "%s: sqlite: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
done:
    free(text);
    sqlite3_finalize(st_run);
    sqlite3_finalize(st_cfg);
    sqlite3_finalize(st_smp);
    sqlite3_finalize(st_sta);
    sqlite3_close(db);
    return rc;
}

/* The message of a view that could not be written: what happened, and that
 * the file it would have replaced is untouched (the view goes to a
 * temporary file renamed into place only when complete). */
static int write_failed(char *err, size_t err_len, const char *out_path, int fmt, int e)
{
    const char *why = e == ENOSPC ? " (the disk is full)" : e == EFBIG ? " (the file size limit was reached)" : "";
    if (!out_path)
        return err_fail(err, err_len, RESULTS_EIO, "writing the %s view to stdout failed: %s%s", format_names[fmt],
                    strerror(e), why);
    return err_fail(err, err_len, RESULTS_EIO, "%s: writing the %s view failed: %s%s; %s", out_path, format_names[fmt],
                strerror(e), why,
                access(out_path, F_OK) == 0 ? "the existing file is left as it was" : "nothing was written");
}

int results_write_view(const char *in_path, int fmt, const char *out_path, const struct results_view_opts *vo,
                       char *err, size_t err_len)
{
    if (fmt < 0 || fmt >= RESULTS_FMT_COUNT)
        return err_fail(err, err_len, RESULTS_EINVAL, "results: unknown output format %d", fmt);
    if (fmt == RESULTS_FMT_SQLITE && !out_path)
        return err_fail(err, err_len, RESULTS_EINVAL, "results: the sqlite view needs an output file");
    struct results_reader *r = NULL;
    json_t *stats = NULL;
    FILE *f = NULL;
    char tmp[PATH_MAX] = "";
    int rc = results_reader_open(&r, in_path, err, err_len);
    if (rc != 0)
        return rc;
    if ((rc = results_stats(r, NULL, &stats, err, err_len)) != 0)
        goto done;
    /* A device or FIFO (--out /dev/null, a pipe) is written in place: a
     * rename onto it would replace the device node with a regular file. */
    struct stat ost;
    bool direct = out_path && stat(out_path, &ost) == 0 && !S_ISREG(ost.st_mode);
    if (direct && fmt == RESULTS_FMT_SQLITE) {
        rc = err_fail(err, err_len, RESULTS_EINVAL, "%s: the sqlite view needs a regular file", out_path);
        goto done;
    }
    if (out_path && !direct) {
        int w = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out_path, (long)getpid());
        if (w < 0 || (size_t)w >= sizeof tmp) {
            rc = err_fail(err, err_len, RESULTS_EINVAL, "%s: path too long", out_path);
            goto done;
        }
        unlink(tmp);
    }
    if (fmt == RESULTS_FMT_SQLITE) {
        rc = write_sqlite(tmp, r, stats, err, err_len);
    } else {
        f = direct ? fopen(out_path, "w") : out_path ? fopen(tmp, "w") : stdout;
        if (!f) {
            rc = err_fail(err, err_len, RESULTS_EIO, "%s: cannot create: %s", direct ? out_path : tmp, strerror(errno));
            goto done;
        }
        switch (fmt) {
        case RESULTS_FMT_MD: rc = results_write_md(f, r->header, stats, vo); break;
        case RESULTS_FMT_CSV: rc = results_write_csv(f, r->header, stats, vo); break;
        case RESULTS_FMT_JSON: rc = write_json_doc(f, r, stats, err, err_len); break;
        default: rc = write_jsonl(f, r, stats, err, err_len); break;
        }
        /* a failed write (disk full, file size limit) shows in the stream's
         * error flag; the flush repeats it and sets errno */
        int e = 0;
        if (fflush(f) != 0 || ferror(f))
            e = errno ? errno : EIO;
        else if (out_path && !direct && fsync(fileno(f)) != 0)
            e = errno;
        if (out_path && fclose(f) != 0 && !e)
            e = errno;
        f = NULL;
        if (e && (rc == 0 || rc == RESULTS_EIO))
            rc = write_failed(err, err_len, out_path, fmt, e);
    }
    if (fmt == RESULTS_FMT_SQLITE && rc != 0 && out_path) {
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        rc = err_fail(err, err_len, rc, "%s; %s", why, access(out_path, F_OK) == 0 ? "the existing file is left as it was"
                                                                             : "nothing was written");
    }
    if (rc == 0 && out_path && !direct) {
        if (rename(tmp, out_path) != 0)
            rc = err_fail(err, err_len, RESULTS_EIO, "%s: rename into place failed: %s", out_path, strerror(errno));
        else
            fsync_parent_dir(out_path);
    }
done:
    if (rc != 0 && tmp[0])
        unlink(tmp);
    json_decref(stats);
    results_reader_close(r);
    return rc;
}
