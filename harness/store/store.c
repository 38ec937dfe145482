/* store — named baselines in SQLite (see store.h). */
#include "harness/store/store.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "harness/machine/buildinfo.h"
#include "results/results.h"

#define STORE_SCHEMA_VERSION 1

struct store {
    sqlite3 *db;
    char path[PATH_MAX];
};

static int sql_fail(const struct store *s, char *err, size_t err_len, const char *what)
{
    return err_fail(err, err_len, STORE_ESQLITE, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int store_default_path(char *buf, size_t len, char *err, size_t err_len)
{
    const char *env = getenv("GGPERF_STORE"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int w;
    if (env && env[0])
        w = snprintf(buf, len, "%s", env);
    else if (xdg && xdg[0] == '/')
        w = snprintf(buf, len, "%s/ggperf/store.sqlite", xdg);
    else if (home && home[0])
        w = snprintf(buf, len, "%s/.local/share/ggperf/store.sqlite", home);
    else
        return err_fail(err, err_len, STORE_EIO, "store: neither GGPERF_STORE nor HOME is set (use --store PATH)");
    if (w < 0 || (size_t)w >= len)
        return err_fail(err, err_len, STORE_EIO, "store: path too long");
    return STORE_OK;
}

/* mkdir -p of the directory part of path. */
static int make_parents(const char *path, char *err, size_t err_len)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return err_fail(err, err_len, STORE_EIO, "store: cannot create directory %s: %s", dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return err_fail(err, err_len, STORE_EIO, "store: cannot create directory %s: %s", dir, strerror(errno));
    return 0;
}

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS baselines("
    " name TEXT PRIMARY KEY, saved TEXT NOT NULL, commit_id TEXT, saved_by TEXT, workload TEXT NOT NULL,"
    " source TEXT, n_configs INTEGER, n_samples INTEGER, document TEXT NOT NULL);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '1');"
    /* the history of gated runs (history.h): a table of its own, added
     * without a schema version bump since no older reader looks at it */
    "CREATE TABLE IF NOT EXISTS history("
    " id INTEGER PRIMARY KEY, time TEXT NOT NULL, machine TEXT NOT NULL, cpu TEXT, branch TEXT, commit_id TEXT,"
    " workload TEXT NOT NULL, config TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT, better TEXT, verdict TEXT,"
    " value REAL NOT NULL, base REAL, change REAL, noise REAL, mde REAL, n INTEGER, source TEXT);"
    "CREATE INDEX IF NOT EXISTS history_series ON history(machine, workload, metric, config, id);";

struct sqlite3 *store_sqlite(struct store *s)
{
    return s->db;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

int store_open(struct store **out, const char *path, bool create, char *err, size_t err_len)
{
    *out = NULL;
    if (!path || !path[0])
        return err_fail(err, err_len, STORE_EINVAL, "store: empty path");
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && !create)
        return err_fail(err, err_len, STORE_ENOSTORE, "%s: no results store here (ggperf baseline save creates it)", path);
    if (!exists) {
        int rc = make_parents(path, err, err_len);
        if (rc != 0)
            return rc;
    }
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return err_fail(err, err_len, STORE_ENOMEM, "store: out of memory");
    snprintf(s->path, sizeof s->path, "%s", path);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    int rc;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        rc = err_fail(err, err_len, STORE_ESQLITE, "%s: cannot open the store: %s", path,
                  s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000); /* two CI jobs saving at once wait rather than fail */
    if (sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = sql_fail(s, err, err_len, "not a ggperf store (creating the tables failed)");
        goto fail;
    }
    sqlite3_stmt *st2 = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st2, NULL) != SQLITE_OK) {
        rc = sql_fail(s, err, err_len, "reading the schema version");
        goto fail;
    }
    int version = sqlite3_step(st2) == SQLITE_ROW ? sqlite3_column_int(st2, 0) : 0;
    sqlite3_finalize(st2);
    if (version != STORE_SCHEMA_VERSION) {
        rc = err_fail(err, err_len, STORE_ESQLITE, "%s: store schema version %d (this build reads %d)", path, version,
                  STORE_SCHEMA_VERSION);
        goto fail;
    }
    *out = s;
    return STORE_OK;
fail:
    store_close(s);
    return rc;
}

int store_check_name(const char *name, char *err, size_t err_len)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > STORE_NAME_MAX)
        return err_fail(err, err_len, STORE_EINVAL, "baseline name must be 1..%d characters (got %zu)", STORE_NAME_MAX, n);
    if (name[0] == '-')
        return err_fail(err, err_len, STORE_EINVAL, "baseline name '%s' must not start with '-'", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= ' ' || c >= 0x7f)
            return err_fail(err, err_len, STORE_EINVAL,
                        "baseline name: character %zu (byte 0x%02x) is not printable ASCII without spaces", i + 1, c);
    }
    return STORE_OK;
}

/* The whole results file as one JSON document text (header fields,
 * samples, complete, stats), with the counts for the entry. */
static int build_document(const char *path, char **text, struct store_entry *e, char *err, size_t err_len)
{
    struct results_reader *r = NULL;
    json_t *doc = NULL, *stats = NULL, *samples = NULL;
    char rerr[512];
    int rc;
    if (results_reader_open(&r, path, rerr, sizeof rerr) != 0)
        return err_fail(err, err_len, STORE_EFORMAT, "%s", rerr);
    if (results_stats(r, NULL, &stats, rerr, sizeof rerr) != 0) {
        rc = err_fail(err, err_len, STORE_EFORMAT, "%s", rerr);
        goto done;
    }
    doc = json_deep_copy(results_reader_header(r));
    samples = json_array();
    if (!doc || !samples)
        goto nomem;
    json_object_del(doc, "kind");
    if ((rc = results_reader_rewind(r, rerr, sizeof rerr)) != 0) {
        rc = err_fail(err, err_len, STORE_EFORMAT, "%s", rerr);
        goto done;
    }
    json_t *smp;
    int got;
    while ((got = results_reader_next(r, &smp, rerr, sizeof rerr)) == 1)
        if (json_array_append_new(samples, smp) != 0)
            goto nomem;
    if (got < 0) {
        rc = err_fail(err, err_len, STORE_EFORMAT, "%s", rerr);
        goto done;
    }
    e->n_samples = (long)json_array_size(samples);
    e->n_configs = results_header_n_configs(results_reader_header(r));
    if (e->n_samples == 0) {
        rc = err_fail(err, err_len, STORE_EFORMAT, "%s: no samples: nothing to save as a baseline", path);
        goto done;
    }
    const char *wl = json_string_value(json_object_get(json_object_get(doc, "workload"), "name"));
    const char *commit =
        json_string_value(json_object_get(json_object_get(json_object_get(doc, "environment"), "build"), "commit"));
    snprintf(e->workload, sizeof e->workload, "%s", wl ? wl : "");
    snprintf(e->commit, sizeof e->commit, "%s", commit ? commit : "");
    if (json_object_set_new(doc, "samples", samples) != 0) {
        samples = NULL;
        goto nomem;
    }
    samples = NULL;
    if (json_object_set_new(doc, "complete", json_boolean(results_reader_complete(r))) != 0 ||
        json_object_set(doc, "stats", stats) != 0)
        goto nomem;
    *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!*text)
        goto nomem;
    e->document_bytes = (long)strlen(*text);
    rc = STORE_OK;
    goto done;
nomem:
    rc = err_fail(err, err_len, STORE_ENOMEM, "store: out of memory");
done:
    json_decref(samples);
    json_decref(stats);
    json_decref(doc);
    results_reader_close(r);
    return rc;
}

static void col_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static void read_entry(sqlite3_stmt *st, struct store_entry *e)
{
    memset(e, 0, sizeof *e);
    col_text(st, 0, e->name, sizeof e->name);
    col_text(st, 1, e->saved, sizeof e->saved);
    col_text(st, 2, e->commit, sizeof e->commit);
    col_text(st, 3, e->saved_by, sizeof e->saved_by);
    col_text(st, 4, e->workload, sizeof e->workload);
    col_text(st, 5, e->source, sizeof e->source);
    e->n_configs = (long)sqlite3_column_int64(st, 6);
    e->n_samples = (long)sqlite3_column_int64(st, 7);
    e->document_bytes = (long)sqlite3_column_int64(st, 8);
}

#define ENTRY_COLUMNS "name, saved, commit_id, saved_by, workload, source, n_configs, n_samples, length(document)"

int store_find(struct store *s, const char *name, struct store_entry *info, char **doc, char *err, size_t err_len)
{
    if (doc)
        *doc = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " ENTRY_COLUMNS ", document FROM baselines WHERE name = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_fail(s, err, err_len, "looking up a baseline");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_DONE) {
        rc = err_fail(err, err_len, STORE_ENOTFOUND, "no baseline named '%s' in the store %s", name, s->path);
    } else if (step != SQLITE_ROW) {
        rc = sql_fail(s, err, err_len, "looking up a baseline");
    } else {
        rc = STORE_OK;
        if (info)
            read_entry(st, info);
        if (doc) {
            const unsigned char *t = sqlite3_column_text(st, 9);
            *doc = strdup(t ? (const char *)t : "");
            if (!*doc)
                rc = err_fail(err, err_len, STORE_ENOMEM, "store: out of memory");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int store_save(struct store *s, const char *name, const char *results_path, bool force, struct store_entry *saved,
               char *err, size_t err_len)
{
    int rc = store_check_name(name, err, err_len);
    if (rc != 0)
        return rc;
    struct store_entry e;
    memset(&e, 0, sizeof e);
    char *text = NULL;
    if ((rc = build_document(results_path, &text, &e, err, err_len)) != 0)
        return rc;
    snprintf(e.name, sizeof e.name, "%s", name);
    results_time_iso(e.saved, sizeof e.saved);
    snprintf(e.saved_by, sizeof e.saved_by, "%s", buildinfo_commit);
    char real[PATH_MAX];
    snprintf(e.source, sizeof e.source, "%.511s", realpath(results_path, real) ? real : results_path);

    /* The check and the write in one transaction, so two savers of one
     * name cannot both think it was free. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sql_fail(s, err, err_len, "starting a transaction");
        goto done;
    }
    if (!force) {
        int f = store_find(s, name, NULL, NULL, err, err_len);
        if (f == STORE_OK) {
            rc = err_fail(err, err_len, STORE_EEXIST, "a baseline named '%s' exists already in %s (--force replaces it)",
                      name, s->path);
            goto rollback;
        }
        if (f != STORE_ENOTFOUND) {
            rc = f;
            goto rollback;
        }
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO baselines(name, saved, commit_id, saved_by, workload, source,"
                           " n_configs, n_samples, document) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sql_fail(s, err, err_len, "saving a baseline");
        goto rollback;
    }
    sqlite3_bind_text(st, 1, e.name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, e.saved, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, e.commit, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, e.saved_by, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, e.workload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, e.source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, e.n_configs);
    sqlite3_bind_int64(st, 8, e.n_samples);
    sqlite3_bind_text(st, 9, text, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = sql_fail(s, err, err_len, "saving a baseline");
        goto rollback;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sql_fail(s, err, err_len, "committing a baseline");
        goto rollback;
    }
    if (saved)
        *saved = e;
    rc = STORE_OK;
    goto done;
rollback:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
done:
    sqlite3_finalize(st);
    free(text);
    return rc;
}

int store_list(struct store *s, struct store_entry **out, size_t *n, char *err, size_t err_len)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " ENTRY_COLUMNS " FROM baselines ORDER BY name", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(s, err, err_len, "listing baselines");
    struct store_entry *v = NULL;
    size_t cap = 0, k = 0;
    int step, rc = STORE_OK;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct store_entry *p = realloc(v, nc * sizeof *p);
            if (!p) {
                rc = err_fail(err, err_len, STORE_ENOMEM, "store: out of memory");
                break;
            }
            v = p;
            cap = nc;
        }
        read_entry(st, &v[k++]);
    }
    if (rc == STORE_OK && step != SQLITE_DONE)
        rc = sql_fail(s, err, err_len, "listing baselines");
    sqlite3_finalize(st);
    if (rc != STORE_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return STORE_OK;
}

int store_remove(struct store *s, const char *name, char *err, size_t err_len)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM baselines WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(s, err, err_len, "removing a baseline");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = STORE_OK;
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sql_fail(s, err, err_len, "removing a baseline");
    else if (sqlite3_changes(s->db) == 0)
        rc = err_fail(err, err_len, STORE_ENOTFOUND, "no baseline named '%s' in the store %s", name, s->path);
    sqlite3_finalize(st);
    return rc;
}

int store_export(struct store *s, const char *name, const char *path, char *err, size_t err_len)
{
    char *doc = NULL;
    int rc = store_find(s, name, NULL, &doc, err, err_len);
    if (rc != 0)
        return rc;
    char tmp[PATH_MAX];
    int w = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (w < 0 || (size_t)w >= sizeof tmp) {
        free(doc);
        return err_fail(err, err_len, STORE_EIO, "%s: path too long", path);
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rc = err_fail(err, err_len, STORE_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(doc);
        return rc;
    }
    size_t n = strlen(doc);
    bool ok = fwrite(doc, 1, n, f) == n && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    free(doc);
    if (!ok || rename(tmp, path) != 0) {
        rc = err_fail(err, err_len, STORE_EIO, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return STORE_OK;
}
