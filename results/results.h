/* results — the one versioned results schema, its writers and readers.
 *
 * The source of truth is a JSON schema ("schema": "ggperf-results",
 * "version": 1). While a sweep runs it is written as JSONL, one record per
 * line, each line written whole and fsync'ed before the next repetition
 * starts, so a SIGKILL loses nothing already measured:
 *
 *   {"kind":"header", "schema":"ggperf-results", "version":1,
 *    "created":"2024-05-01T12:00:00Z",
 *    "workload":{"name":"load","description":"...","isolated":true},
 *    "model":{...} or null,                 -- path, size, hash, shape (env)
 *    "axes":[{"name":"load","values":["read","mmap"]}, ...],
 *    "configs":[{"id":0,"axes":{"load":"read","cache":"cold"}}, ...],
 *                                            -- mixed radix, last axis fastest
 *    "plan":{"repetitions":5,"warmup":1,"min_time_s":0,"max_rounds":100000,
 *            "seed":1,"order":"interleaved-shuffled"},
 *    "environment":{...}, "probe":{...}}
 *   {"kind":"sample", "config":3, "rep":0, "axes":{"load":"mmap",...},
 *    "ok":true, "error":null, "t_s":1.25,   -- seconds since the sweep began
 *    "metrics":[{"name":"map_ns","unit":"ns","source":"time","status":"ok",
 *                "value":1234.0, "better":"lower", "kind":"sample",
 *                "gated":true},   -- declared semantics (metric.h); absent in
 *                                    files from before them: "undeclared";
 *                                    optional "tolerance":0.05 (the change
 *                                    the gate lets pass for this metric)
 *               {"name":"first_token_ns","unit":"ns","source":"time",
 *                "status":"unsupported","value":null,"reason":"..."}, ...]}
 *   {"kind":"resume", "time":"...", "environment":{...}}   -- per --resume
 *   {"kind":"end", "time":"...", "samples":70}               -- sweep complete
 *
 * Readers skip kinds they do not know. (config, rep) identifies a sample;
 * a reader keeps the first of duplicates and ignores a truncated last line.
 *
 * The final outputs derive from the stream: the JSON document (the header's
 * fields + "samples": [...] + "stats": [...]) and the views: CSV (one row
 * per configuration × metric with its statistics), JSONL (header, samples,
 * "stats" records, end), Markdown (a row per configuration, "median ± MAD"
 * per metric) and SQLite (tables runs, configs, samples, stats). Each is
 * written to a temporary file and renamed into place.
 *
 * Statistics (per configuration × metric, over successful repetitions with
 * status ok): see "stats" below and results/stats.h.
 *   {"config":3, "axes":{...}, "n_reps":5, "n_ok":5, "n_failed":0,
 *    "errors":["first distinct messages", ...],
 *    "metrics":[{"name":"map_ns","unit":"ns","source":"time","status":"ok",
 *                "n":5,"median":...,"mad":...,"mean":...,"stddev":...,
 *                "min":...,"max":...,"ci_level":0.95,"ci_lo":...,"ci_hi":...,
 *                "ci_coverage":0.96,"noisy":false,"warning":null,
 *                "n_unsupported":0,"reason":null}, ...]}
 *   A metric never had (every sample unsupported / not counted) has status
 *   "unsupported" / "not counted", n 0, null statistics and the reason.
 */
#ifndef GGPERF_HARNESS_RESULTS_H
#define GGPERF_HARNESS_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "results/metric.h"
#include "results/stats.h"

#define RESULTS_SCHEMA "ggperf-results"
#define RESULTS_VERSION 1

enum results_status {
    RESULTS_OK = 0,
    RESULTS_EIO = -1,       /* open/read/write/fsync/rename failed */
    RESULTS_EFORMAT = -2,   /* not a ggperf results file (no header, other schema) */
    RESULTS_EVERSION = -3,  /* a schema version this build does not read */
    RESULTS_ECORRUPT = -4,  /* a record that does not parse or lacks a field (line given) */
    RESULTS_ENOMEM = -5,
    RESULTS_EINVAL = -6,    /* bad argument (format, path) */
    RESULTS_EEXIST = -7,    /* the stream file exists already */
    RESULTS_ESQLITE = -8,   /* SQLite said no (message has its text) */
};

enum results_format {
    RESULTS_FMT_MD = 0, RESULTS_FMT_CSV, RESULTS_FMT_JSON, RESULTS_FMT_JSONL, RESULTS_FMT_SQLITE,
    RESULTS_FMT_COUNT
};

/* "md", "csv", "json", "jsonl", "sqlite" -> the format, or -1. */
int results_format_from_name(const char *name);
const char *results_format_name(int fmt);

/* ---- the header ------------------------------------------------------ */

struct results_axis {
    const char *name;
    int n_values;
    const char *const *values;
};

struct results_plan {
    int repetitions;       /* minimum repetitions per configuration */
    int warmup;            /* unrecorded repetitions per configuration first */
    double min_time_s;     /* keep adding rounds until every configuration ran this long */
    int max_rounds;        /* ... but never more rounds than this */
    uint64_t seed;         /* of the per-round shuffles */
    bool until_trusted;    /* keep adding rounds while a configuration's primary figures are flagged
                            * noisy (harness/run/trust.h), up to max_rounds; stored only when set */
};

/* Build a header record. environment, probe and model are borrowed (a
 * reference is taken; NULL is stored as null). Configurations are the
 * cartesian product of the axes, numbered in mixed radix with the last
 * axis fastest (results_config_digits). Returns NULL when out of memory. */
json_t *results_header_new(const char *workload, const char *description, bool isolated,
                           const struct results_axis *axes, int n_axes, const struct results_plan *plan,
                           json_t *environment, json_t *probe, json_t *model);

/* Number of configurations of a header (its "configs" array). */
int results_header_n_configs(const json_t *header);

/* The digits of configuration id: digits[i] indexes axis i's values. */
void results_config_digits(int n_axes, const int *n_values, int id, int *digits);

/* "2024-05-01T12:00:00Z" for now, into buf (>= 21 bytes). */
void results_time_iso(char *buf, size_t len);

/* ---- samples ----------------------------------------------------------- */

struct results_sample {
    int config;                  /* id in the header's configs */
    int rep;                     /* 0-based repetition index within the configuration */
    bool ok;
    const char *error;           /* why it failed; NULL when ok */
    double t_s;                  /* seconds since the sweep began (its start) */
    const struct metric *metrics;
    int n_metrics;
};

/* Build a sample record; the axes are copied from header's configs[config].
 * Returns NULL when out of memory or config is out of range. */
json_t *results_sample_new(const json_t *header, const struct results_sample *s);

/* ---- the stream (JSONL while running) ------------------------------------ */

struct results_stream;

/* Create path (which must not exist: RESULTS_EEXIST) and write the header
 * line, fsync'ed. */
int results_stream_create(struct results_stream **out, const char *path, const json_t *header,
                          char *err, size_t err_len);

/* Reopen an existing stream to append (--resume). A truncated last line
 * (a write cut short by a kill) is cut off first. */
int results_stream_reopen(struct results_stream **out, const char *path, char *err, size_t err_len);

/* Append one record as one line, written whole and fsync'ed. */
int results_stream_put(struct results_stream *s, const json_t *record, char *err, size_t err_len);

/* Close; NULL does nothing. */
void results_stream_close(struct results_stream *s);

/* ---- reading ----------------------------------------------------------- */

struct results_reader;

/* Open a results file: a JSONL stream or view, or a JSON document. Reads
 * and checks the header (schema and version). */
int results_reader_open(struct results_reader **out, const char *path, char *err, size_t err_len);

/* The header record (borrowed, valid until close). */
const json_t *results_reader_header(const struct results_reader *r);

/* The next sample: returns 1 with *sample (a new reference the caller
 * json_decref's), 0 at the end, negative on a corrupt record (err names the
 * line). Duplicates of an earlier (config, rep) are skipped and counted;
 * a truncated last line is skipped and noted. */
int results_reader_next(struct results_reader *r, json_t **sample, char *err, size_t err_len);

/* Start again from the first sample. */
int results_reader_rewind(struct results_reader *r, char *err, size_t err_len);

/* After a full pass: an "end" record was seen; duplicates skipped; a
 * truncated last line was skipped. */
bool results_reader_complete(const struct results_reader *r);
size_t results_reader_duplicates(const struct results_reader *r);
bool results_reader_truncated(const struct results_reader *r);

/* Close; NULL does nothing. */
void results_reader_close(struct results_reader *r);

/* ---- merging ------------------------------------------------------------- */

enum {
    RESULTS_MERGE_RENUMBER = 1u << 0,  /* number the repetitions of a configuration 0, 1, ... in input
                                        * order (joining rounds of one plan run separately, ggperf ab);
                                        * without it (config, rep) is kept and a duplicate is an error */
};

/* Join the samples of the results files paths[0..n) into one JSONL stream
 * at out_path (written to a temporary file and renamed into place): the
 * shards of one sweep (`ggperf run --shard K/N`) or rounds of one plan.
 * Every input must be of the same workload with equal axes, configs and
 * plan (RESULTS_EINVAL naming the first that differs): the output's header
 * is the first input's without "shard", plus "merged_from" (one entry per
 * input: path, shard, environment), so the merged file has exactly the
 * plan of an unsharded run. It ends with an "end" record when every input
 * was complete. Returns 0 or a code with err filled. */
int results_merge(const char *const *paths, int n, const char *out_path, unsigned flags, char *err, size_t err_len);

/* ---- per-configuration accumulation ------------------------------------- */

/* The samples of one configuration gathered for statistics: what the
 * summaries below and the regression gate (gate.h) both start from. */
struct results_macc {                 /* one metric */
    char name[METRIC_NAME_MAX];
    char unit[32];
    char source[16];
    double *v;                        /* owned: the status-ok values, in sample order */
    long *rep;                        /* owned: the "rep" of each value (pairs them across files) */
    size_t n, cap;
    size_t n_unsup, n_notc;           /* repetitions where it was unsupported / not counted */
    char status[16];                  /* the first such status ("unsupported", ...) */
    char reason[METRIC_REASON_MAX];   /* and its reason */
    struct metric_sem sem;            /* the declared semantics (the first seen) */
    bool sem_seen;                    /* some sample declared them (else: an old file) */
    bool sem_conflict;                /* samples declared different semantics */
};

struct results_cacc {                 /* one configuration; zero it to start */
    size_t n_reps, n_ok, n_failed;
    json_t *errors;                   /* owned: the first distinct error messages, or NULL */
    struct results_macc *m;           /* owned: the metrics in order of appearance */
    size_t nm, cap;
};

/* Add one sample record (failed repetitions count with their error).
 * Returns 0, or -1 when out of memory. */
int results_cacc_add(struct results_cacc *c, const json_t *sample);

/* Release what c holds and zero it; NULL does nothing. */
void results_cacc_free(struct results_cacc *c);

/* ---- statistics and views ------------------------------------------------ */

/* Statistics of every configuration (array, in config order; format above)
 * from one or more passes over the reader; memory is bounded by the
 * samples of a batch of configurations, not the whole file. lim NULL: the
 * defaults. */
int results_stats(struct results_reader *r, const struct stats_limits *lim, json_t **out, char *err,
                  size_t err_len);

struct results_view_opts {
    const char *const *metrics;  /* metric columns to show, NULL-terminated; NULL: all */
    const char *title;           /* Markdown heading; NULL: "WORKLOAD: N configurations" */
};

/* The Markdown table of stats (from results_stats) for header, to f. */
int results_write_md(FILE *f, const json_t *header, const json_t *stats, const struct results_view_opts *vo);

/* The CSV table (one row per configuration × metric) to f. */
int results_write_csv(FILE *f, const json_t *header, const json_t *stats, const struct results_view_opts *vo);

/* Write the view fmt of the results file in_path to out_path (atomically:
 * a temporary file renamed into place), or to stdout when out_path is NULL
 * (not for sqlite). Statistics are computed on the way. */
int results_write_view(const char *in_path, int fmt, const char *out_path, const struct results_view_opts *vo,
                       char *err, size_t err_len);

#endif
