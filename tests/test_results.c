/* results suite: the JSONL stream round trip, tolerance of a torn last
 * line and of duplicates, statistics, exact CSV and Markdown text of a
 * known input, the JSON document, and the SQLite tables. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results/results.h"
#include "tests/testutil.h"

static json_t *make_header(void)
{
    static const char *const modes[] = { "a", "b" };
    struct results_axis axes[] = { { "mode", 2, modes } };
    struct results_plan plan = { 3, 0, 0, 3, 7, false };
    return results_header_new("fake", "a fake workload", false, axes, 1, &plan, NULL, NULL, NULL);
}

/* The known input: mode=a three ok reps (t_ns 1000, 1100, 900); mode=b ok
 * 2000, failed "boom", ok 2200; every rep has an unsupported bytes_x. */
static void write_known(const char *path, bool end)
{
    json_t *h = make_header();
    ck_assert_ptr_nonnull(h);
    struct results_stream *s;
    char err[256];
    ck_assert_int_eq(results_stream_create(&s, path, h, err, sizeof err), 0);
    static const double va[] = { 1000, 1100, 900 }, vb[] = { 2000, 0, 2200 };
    for (int rep = 0; rep < 3; rep++)
        for (int cfg = 0; cfg < 2; cfg++) {
            bool ok = !(cfg == 1 && rep == 1);
            struct metric ms[2] = { tu_metric("t_ns", "ns", METRIC_SRC_TIME, cfg ? vb[rep] : va[rep]),
                                    tu_metric_unsup("bytes_x", "bytes", METRIC_SRC_HW, "no counter") };
            struct results_sample smp = { cfg, rep, ok, ok ? NULL : "boom", rep * 0.5, ms, ok ? 2 : 0 };
            json_t *rec = results_sample_new(h, &smp);
            ck_assert_ptr_nonnull(rec);
            ck_assert_int_eq(results_stream_put(s, rec, err, sizeof err), 0);
            json_decref(rec);
        }
    if (end) {
        json_t *e = json_pack("{s:s}", "kind", "end");
        ck_assert_int_eq(results_stream_put(s, e, err, sizeof err), 0);
        json_decref(e);
    }
    results_stream_close(s);
    json_decref(h);
}

static int count_samples(const char *path, size_t *dups, bool *truncated, bool *complete)
{
    struct results_reader *r;
    char err[256];
    ck_assert_int_eq(results_reader_open(&r, path, err, sizeof err), 0);
    json_t *s;
    int n = 0, rc;
    while ((rc = results_reader_next(r, &s, err, sizeof err)) == 1) {
        n++;
        json_decref(s);
    }
    ck_assert_int_eq(rc, 0);
    if (dups)
        *dups = results_reader_duplicates(r);
    if (truncated)
        *truncated = results_reader_truncated(r);
    if (complete)
        *complete = results_reader_complete(r);
    results_reader_close(r);
    return n;
}

START_TEST(test_stream_round_trip)
{
    char path[256];
    snprintf(path, sizeof path, "%s/s.jsonl", tu_tmpdir());
    write_known(path, true);
    struct results_reader *r;
    char err[256];
    ck_assert_int_eq(results_reader_open(&r, path, err, sizeof err), 0);
    const json_t *h = results_reader_header(r);
    ck_assert_str_eq(json_string_value(json_object_get(h, "schema")), "ggperf-results");
    ck_assert_int_eq(json_integer_value(json_object_get(h, "version")), 1);
    ck_assert_int_eq(results_header_n_configs(h), 2);
    json_t *s;
    int n = 0;
    while (results_reader_next(r, &s, err, sizeof err) == 1) {
        int cfg = (int)json_integer_value(json_object_get(s, "config"));
        int rep = (int)json_integer_value(json_object_get(s, "rep"));
        ck_assert_int_eq(cfg, n % 2); /* stream order kept */
        ck_assert_int_eq(rep, n / 2);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "axes"), "mode")), cfg ? "b" : "a");
        bool ok = json_is_true(json_object_get(s, "ok"));
        ck_assert(ok == !(cfg == 1 && rep == 1));
        if (ok) {
            json_t *m0 = json_array_get(json_object_get(s, "metrics"), 0);
            json_t *m1 = json_array_get(json_object_get(s, "metrics"), 1);
            static const double va[] = { 1000, 1100, 900 }, vb[] = { 2000, 0, 2200 };
            ck_assert_double_eq(json_number_value(json_object_get(m0, "value")), cfg ? vb[rep] : va[rep]);
            ck_assert_str_eq(json_string_value(json_object_get(m0, "unit")), "ns");
            ck_assert_str_eq(json_string_value(json_object_get(m0, "source")), "time");
            ck_assert_str_eq(json_string_value(json_object_get(m1, "status")), "unsupported");
            ck_assert(json_is_null(json_object_get(m1, "value")));
            ck_assert_str_eq(json_string_value(json_object_get(m1, "reason")), "no counter");
        } else {
            ck_assert_str_eq(json_string_value(json_object_get(s, "error")), "boom");
        }
        json_decref(s);
        n++;
    }
    ck_assert_int_eq(n, 6);
    ck_assert(results_reader_complete(r));
    /* rewind gives the same again */
    ck_assert_int_eq(results_reader_rewind(r, err, sizeof err), 0);
    n = 0;
    while (results_reader_next(r, &s, err, sizeof err) == 1) {
        n++;
        json_decref(s);
    }
    ck_assert_int_eq(n, 6);
    results_reader_close(r);

    /* the stream refuses to be created twice */
    struct results_stream *st;
    json_t *h2 = make_header();
    ck_assert_int_eq(results_stream_create(&st, path, h2, err, sizeof err), RESULTS_EEXIST);
    json_decref(h2);
}
END_TEST

START_TEST(test_torn_line_and_duplicates)
{
    char path[256];
    snprintf(path, sizeof path, "%s/t.jsonl", tu_tmpdir());
    write_known(path, false);
    /* a kill in the middle of a write leaves a partial last line */
    FILE *f = fopen(path, "a");
    fputs("{\"kind\":\"sample\",\"config\":0,\"rep\":3,\"ok\":tr", f);
    fclose(f);
    size_t dups;
    bool trunc, complete;
    ck_assert_int_eq(count_samples(path, &dups, &trunc, &complete), 6);
    ck_assert(trunc);
    ck_assert(!complete);
    /* reopening for append cuts the partial line; a duplicate is then skipped */
    struct results_stream *s;
    char err[256];
    ck_assert_int_eq(results_stream_reopen(&s, path, err, sizeof err), 0);
    json_t *h = make_header();
    struct metric m = tu_metric("t_ns", "ns", METRIC_SRC_TIME, 5);
    struct results_sample dup = { 0, 0, true, NULL, 0, &m, 1 };
    json_t *rec = results_sample_new(h, &dup);
    ck_assert_int_eq(results_stream_put(s, rec, err, sizeof err), 0);
    json_decref(rec);
    json_decref(h);
    results_stream_close(s);
    ck_assert_int_eq(count_samples(path, &dups, &trunc, NULL), 6);
    ck_assert_uint_eq(dups, 1);
    ck_assert(!trunc);

    /* garbage in the middle is corruption, reported with its line */
    FILE *g = fopen(path, "a");
    fputs("not json\n{\"kind\":\"end\"}\n", g);
    fclose(g);
    struct results_reader *r;
    ck_assert_int_eq(results_reader_open(&r, path, err, sizeof err), 0);
    json_t *smp;
    int rc;
    while ((rc = results_reader_next(r, &smp, err, sizeof err)) == 1)
        json_decref(smp);
    ck_assert_int_eq(rc, RESULTS_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(err, "line 9"));
    results_reader_close(r);

    /* not a results file at all */
    char other[256];
    snprintf(other, sizeof other, "%s/o.json", tu_tmpdir());
    tu_write_file(other, "{\"schema\":\"else\"}\n", 18);
    ck_assert_int_eq(results_reader_open(&r, other, err, sizeof err), RESULTS_EFORMAT);
    tu_write_file(other, "{\"kind\":\"header\",\"schema\":\"ggperf-results\",\"version\":99}\n", 57);
    ck_assert_int_eq(results_reader_open(&r, other, err, sizeof err), RESULTS_EVERSION);
}
END_TEST

START_TEST(test_stats_of_known_input)
{
    char path[256];
    snprintf(path, sizeof path, "%s/k.jsonl", tu_tmpdir());
    write_known(path, true);
    struct results_reader *r;
    char err[256];
    ck_assert_int_eq(results_reader_open(&r, path, err, sizeof err), 0);
    json_t *st;
    ck_assert_int_eq(results_stats(r, NULL, &st, err, sizeof err), 0);
    ck_assert_uint_eq(json_array_size(st), 2);
    json_t *c1 = json_array_get(st, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(c1, "n_reps")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(c1, "n_ok")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(c1, "n_failed")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c1, "errors"), 0)), "boom");
    json_t *t = json_array_get(json_object_get(c1, "metrics"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(t, "name")), "t_ns");
    ck_assert_double_eq(json_number_value(json_object_get(t, "median")), 2100);
    ck_assert_double_eq(json_number_value(json_object_get(t, "mad")), 100);
    json_t *b = json_array_get(json_object_get(c1, "metrics"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(b, "status")), "unsupported");
    ck_assert(json_is_null(json_object_get(b, "median")));
    json_decref(st);
    results_reader_close(r);
}
END_TEST

static const char expected_csv[] =
    "config,mode,metric,unit,source,status,n,n_failed,median,mad,mean,stddev,min,max,ci_lo,ci_hi,ci_coverage,"
    "noisy,warning\n"
    "0,a,t_ns,ns,time,ok,3,0,1000,100,1000,100,900,1100,900,1100,0.75,1,"
    "\"n=3 is too few for a 95% CI of the median (that CI is min..max, coverage 75.0%)\"\n"
    "0,a,bytes_x,bytes,hw,unsupported,0,0,,,,,,,,,,0,\n"
    "1,b,t_ns,ns,time,ok,2,1,2100,100,2100,141.42135623731,2000,2200,2000,2200,0.5,1,"
    "\"n=2 is too few for a 95% CI of the median (that CI is min..max, coverage 50.0%)\"\n"
    "1,b,bytes_x,bytes,hw,unsupported,0,1,,,,,,,,,,0,\n";

static const char expected_md[] =
    "## fake: 2 configurations × 3 repetitions\n"
    "\n"
    "| mode | ok | t_ns (µs, time) | bytes_x (B, hw) |\n"
    "|:--|--:|--:|--:|\n"
    "| a | 3/3 | 1.0 ± 0.1 ⚠ | n/a |\n"
    "| b | 2/3 | 2.1 ± 0.1 ⚠ | n/a |\n"
    "\n"
    "median ± MAD over the successful repetitions; 95% CIs of the median are in the JSON and CSV outputs.\n"
    "\n"
    "⚠ spread too wide to trust:\n"
    "- mode=a, t_ns: n=3 is too few for a 95% CI of the median (that CI is min..max, coverage 75.0%)\n"
    "- mode=b, t_ns: n=2 is too few for a 95% CI of the median (that CI is min..max, coverage 50.0%)\n"
    "\n"
    "n/a (not measured):\n"
    "- bytes_x: unsupported (no counter)\n"
    "\n"
    "failed repetitions:\n"
    "- mode=b: 1 failed (boom)\n";

START_TEST(test_csv_and_md_exact)
{
    const char *dir = tu_tmpdir();
    char in[256], csv[256], md[256], err[256];
    snprintf(in, sizeof in, "%s/k.jsonl", dir);
    snprintf(csv, sizeof csv, "%s/k.csv", dir);
    snprintf(md, sizeof md, "%s/k.md", dir);
    write_known(in, true);
    ck_assert_int_eq(results_write_view(in, RESULTS_FMT_CSV, csv, NULL, err, sizeof err), 0);
    ck_assert_int_eq(results_write_view(in, RESULTS_FMT_MD, md, NULL, err, sizeof err), 0);
    size_t n;
    char *text = tu_read_file(csv, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, expected_csv);
    free(text);
    text = tu_read_file(md, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, expected_md);
    free(text);
    /* no temporary files are left behind */
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", dir);
    tu_run(cmd, out, sizeof out, NULL, 0);
    ck_assert_str_eq(out, "0\n");

    /* a metric filter selects and orders the columns */
    static const char *const only[] = { "t_ns", NULL };
    struct results_view_opts vo = { only, "Only t" };
    ck_assert_int_eq(results_write_view(in, RESULTS_FMT_MD, md, &vo, err, sizeof err), 0);
    text = tu_read_file(md, &n);
    ck_assert_ptr_nonnull(strstr(text, "## Only t\n"));
    ck_assert_ptr_null(strstr(text, "bytes_x"));
    free(text);
}
END_TEST

START_TEST(test_json_document_and_jsonl_view)
{
    const char *dir = tu_tmpdir();
    char in[256], doc[256], jl[256], err[256];
    snprintf(in, sizeof in, "%s/k.jsonl", dir);
    snprintf(doc, sizeof doc, "%s/k.json", dir);
    snprintf(jl, sizeof jl, "%s/k2.jsonl", dir);
    write_known(in, true);
    ck_assert_int_eq(results_write_view(in, RESULTS_FMT_JSON, doc, NULL, err, sizeof err), 0);
    json_error_t je;
    json_t *d = json_load_file(doc, 0, &je);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(json_string_value(json_object_get(d, "schema")), "ggperf-results");
    ck_assert_uint_eq(json_array_size(json_object_get(d, "samples")), 6);
    ck_assert_uint_eq(json_array_size(json_object_get(d, "stats")), 2);
    ck_assert(json_is_true(json_object_get(d, "complete")));
    json_decref(d);
    /* the document is itself readable as a results file, as is the JSONL view */
    bool complete;
    ck_assert_int_eq(count_samples(doc, NULL, NULL, &complete), 6);
    ck_assert(complete);
    ck_assert_int_eq(results_write_view(doc, RESULTS_FMT_JSONL, jl, NULL, err, sizeof err), 0);
    ck_assert_int_eq(count_samples(jl, NULL, NULL, &complete), 6);
    ck_assert(complete);
}
END_TEST

static int count_rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(test_sqlite_rows)
{
    const char *dir = tu_tmpdir();
    char in[256], db_path[256], err[256];
    snprintf(in, sizeof in, "%s/k.jsonl", dir);
    snprintf(db_path, sizeof db_path, "%s/k.sqlite", dir);
    write_known(in, true);
    ck_assert_int_eq(results_write_view(in, RESULTS_FMT_SQLITE, db_path, NULL, err, sizeof err), 0);
    ck_assert_int_eq(results_write_view(in, RESULTS_FMT_SQLITE, NULL, NULL, err, sizeof err), RESULTS_EINVAL);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM runs"), 1);
    ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM configs"), 2);
    /* 5 ok reps × 2 metrics + 1 failed rep without metrics */
    ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM samples"), 11);
    ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM samples WHERE ok = 0 AND metric IS NULL"), 1);
    ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM stats"), 4);
    ck_assert_int_eq(count_rows(db, "SELECT median FROM stats WHERE config = 1 AND metric = 't_ns'"), 2100);
    ck_assert_int_eq(count_rows(db, "SELECT complete FROM runs"), 1);
    sqlite3_close(db);
}
END_TEST

/* A view written to a FIFO (or a device such as /dev/null) goes through it
 * in place: renaming a temporary file onto it would replace the node. */
START_TEST(test_view_to_fifo_in_place)
{
    const char *dir = tu_tmpdir();
    char in[256], fifo[256], err[256];
    snprintf(in, sizeof in, "%s/k.jsonl", dir);
    snprintf(fifo, sizeof fifo, "%s/view.fifo", dir);
    write_known(in, true);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);   /* a reader, so the writer's open does not block */
    ck_assert_int_ge(rd, 0);
    ck_assert_int_eq(results_write_view(in, RESULTS_FMT_CSV, fifo, NULL, err, sizeof err), 0);
    char buf[4096];
    ssize_t n = read(rd, buf, sizeof buf - 1);
    close(rd);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_ptr_nonnull(strstr(buf, "t_ns"));
    struct stat st;
    ck_assert_int_eq(stat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    /* sqlite needs a regular file: refused, the node kept */
    ck_assert_int_eq(results_write_view(in, RESULTS_FMT_SQLITE, fifo, NULL, err, sizeof err), RESULTS_EINVAL);
    ck_assert_int_eq(stat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_run(cmd, NULL, 0, NULL, 0);
}
END_TEST

Suite *results_suite(void)
{
    Suite *s = suite_create("results");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_stream_round_trip);
    tcase_add_test(tc, test_torn_line_and_duplicates);
    tcase_add_test(tc, test_stats_of_known_input);
    tcase_add_test(tc, test_csv_and_md_exact);
    tcase_add_test(tc, test_json_document_and_jsonl_view);
    tcase_add_test(tc, test_sqlite_rows);
    tcase_add_test(tc, test_view_to_fifo_in_place);
    suite_add_tcase(s, tc);
    return s;
}
