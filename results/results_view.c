/* results_view — the views of a results file: Markdown and CSV tables,
 * the JSON document, JSONL and SQLite (results_write_*; see results.h). */
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
    json_object_foreach((json_t *)results_reader_header(r), k, v) {
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
    dump_to(f, results_reader_header(r));
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

    text = json_dumps(results_reader_header(r), JSON_COMPACT | JSON_REAL_PRECISION(17));
    bind_text(st_run, 1, RESULTS_SCHEMA);
    sqlite3_bind_int64(st_run, 2, json_integer_value(json_object_get(results_reader_header(r), "version")));
    bind_text(st_run, 3, json_string_value(json_object_get(json_object_get(results_reader_header(r), "workload"), "name")));
    bind_text(st_run, 4, json_string_value(json_object_get(results_reader_header(r), "created")));
    sqlite3_bind_int(st_run, 5, results_reader_complete(r));
    bind_text(st_run, 6, text);
    if (sqlite3_step(st_run) != SQLITE_DONE)
        goto sqlfail;

    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(results_reader_header(r), "configs"), i, c) {
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
        return err_fail(err, err_len, RESULTS_EIO, "writing the %s view to stdout failed: %s%s", results_format_name(fmt),
                    strerror(e), why);
    return err_fail(err, err_len, RESULTS_EIO, "%s: writing the %s view failed: %s%s; %s", out_path, results_format_name(fmt),
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
        case RESULTS_FMT_MD: rc = results_write_md(f, results_reader_header(r), stats, vo); break;
        case RESULTS_FMT_CSV: rc = results_write_csv(f, results_reader_header(r), stats, vo); break;
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
            results_fsync_parent_dir(out_path);
    }
done:
    if (rc != 0 && tmp[0])
        unlink(tmp);
    json_decref(stats);
    results_reader_close(r);
    return rc;
}
