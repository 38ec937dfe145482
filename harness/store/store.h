/* store — the results store: named baselines kept in one SQLite database.
 *
 * Not to be confused with the SQLite *view* of one results file
 * (results_write_view, RESULTS_FMT_SQLITE): the store is the persistent,
 * user-wide database of baselines that `ggperf gate --baseline NAME` and
 * `ggperf baseline save|show|rm` use.
 *
 * Where: $GGPERF_STORE, else $XDG_DATA_HOME/ggperf/store.sqlite, else
 * $HOME/.local/share/ggperf/store.sqlite (store_default_path; the commands'
 * --help texts print STORE_SEARCH_ORDER, so they cannot drift apart).
 *
 * Schema (version 1, in table meta):
 *   baselines(name TEXT PRIMARY KEY, saved TEXT -- ISO 8601 UTC,
 *             commit_id TEXT -- environment.build.commit of the results,
 *             saved_by TEXT -- the ggperf commit that saved it,
 *             workload TEXT, source TEXT -- the path it was saved from,
 *             n_configs INTEGER, n_samples INTEGER,
 *             document TEXT -- the whole ggperf results JSON document:
 *                              header fields + samples + complete + stats)
 * A JSONL stream is saved as its JSON document, so what comes back out is
 * always a JSON document results_reader_open reads.
 */
#ifndef GGPERF_HARNESS_STORE_H
#define GGPERF_HARNESS_STORE_H

#include <stdbool.h>
#include <stddef.h>

enum store_status {
    STORE_OK = 0,
    STORE_EIO = -1,        /* a directory or file could not be made / written */
    STORE_ESQLITE = -2,    /* SQLite said no (its message is in err) */
    STORE_ENOTFOUND = -3,  /* no baseline by that name */
    STORE_EEXIST = -4,     /* the name is taken (save without force) */
    STORE_EINVAL = -5,     /* a bad name */
    STORE_ENOMEM = -6,
    STORE_EFORMAT = -7,    /* the results file to save is not usable (err says why) */
    STORE_ENOSTORE = -8,   /* store_open without create: the database does not exist */
};

/* The default store's search order as help text, lines after the first
 * indented by indent (a string literal): what store_default_path does. */
#define STORE_SEARCH_ORDER(indent)                                                                                     \
    "$GGPERF_STORE, else\n" indent "$XDG_DATA_HOME/ggperf/store.sqlite, else\n" indent                                 \
    "~/.local/share/ggperf/store.sqlite"

#define STORE_NAME_MAX 128

struct store_entry {
    char name[STORE_NAME_MAX + 1];
    char saved[32];
    char commit[64];
    char saved_by[64];
    char workload[64];
    char source[512];
    long n_configs, n_samples;
    long document_bytes;
};

struct store;
struct sqlite3;

/* The open database (borrowed until store_close): the history
 * (harness/store/history.h) keeps its table in the same file. */
struct sqlite3 *store_sqlite(struct store *s);

/* The default database path (see above) into buf. Returns 0, or STORE_EIO
 * when neither GGPERF_STORE nor HOME is set, or the path is too long. */
int store_default_path(char *buf, size_t len, char *err, size_t err_len);

/* Open the database at path. With create, make it (and its parent
 * directories) when missing; without, a missing file is STORE_ENOSTORE.
 * Returns 0 and *out (close with store_close), or a code with err filled. */
int store_open(struct store **out, const char *path, bool create, char *err, size_t err_len);

/* Close; NULL does nothing. */
void store_close(struct store *s);

/* A name is 1..STORE_NAME_MAX printable ASCII characters without spaces,
 * not starting with '-'. Returns 0 or STORE_EINVAL with the reason. */
int store_check_name(const char *name, char *err, size_t err_len);

/* Save the results file at results_path (JSONL stream or JSON document) as
 * baseline name. An existing name is STORE_EEXIST unless force (then it is
 * replaced). *saved (may be NULL) gets what was stored. Returns 0 or a code
 * with err filled (STORE_EFORMAT: the file is not a usable results file). */
int store_save(struct store *s, const char *name, const char *results_path, bool force, struct store_entry *saved,
               char *err, size_t err_len);

/* Look a baseline up. Returns 0 with *info (may be NULL) and, when doc is
 * not NULL, *doc (the JSON document text, malloc'ed, the caller frees);
 * STORE_ENOTFOUND when there is none by that name; another code on error. */
int store_find(struct store *s, const char *name, struct store_entry *info, char **doc, char *err, size_t err_len);

/* Every baseline, by name: *out (malloc'ed array, the caller frees) and
 * *n. Returns 0 or a code with err filled. */
int store_list(struct store *s, struct store_entry **out, size_t *n, char *err, size_t err_len);

/* Delete a baseline. Returns 0, STORE_ENOTFOUND, or another code. */
int store_remove(struct store *s, const char *name, char *err, size_t err_len);

/* Write baseline name's document to path (a temporary file renamed into
 * place). Returns 0, STORE_ENOTFOUND, STORE_EIO, ... */
int store_export(struct store *s, const char *name, const char *path, char *err, size_t err_len);

#endif
