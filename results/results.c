/* results — writers and readers of the ggperf results schema (see results.h). */
#include "results/results.h"
#include "base/err.h"
#include "results/results_impl.h"

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
    if (plan->until_trusted)
        json_object_set_new(json_object_get(h, "plan"), "until_trusted", json_true());
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

void results_fsync_parent_dir(const char *path)
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
    results_fsync_parent_dir(path);
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
