/* store suite: named baselines in SQLite — default path, create vs open,
 * save / find / list / remove / export round trips (JSONL stream saved as
 * its JSON document), refusing a taken name without force, bad names, bad
 * results files, and the `ggperf baseline` subcommands' exit codes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results/results.h"
#include "harness/store/store.h"
#include "tests/testutil.h"

/* A small JSONL stream: 2 configurations x 3 repetitions of t_ns. */
static void write_stream(const char *path, double offset)
{
    static const char *const modes[] = { "a", "b" };
    struct results_axis axes[] = { { "mode", 2, modes } };
    struct results_plan plan = { 3, 0, 0, 3, 1, false };
    json_t *env = json_pack("{s:{s:s}, s:{s:s}}", "cpu", "model_name", "Test CPU", "build", "commit", "feedbeef");
    json_t *h = results_header_new("fake", "a fake workload", false, axes, 1, &plan, env, NULL, NULL);
    json_decref(env);
    ck_assert_ptr_nonnull(h);
    struct results_stream *s;
    char err[256];
    ck_assert_int_eq(results_stream_create(&s, path, h, err, sizeof err), 0);
    for (int rep = 0; rep < 3; rep++)
        for (int cfg = 0; cfg < 2; cfg++) {
            struct metric m;
            memset(&m, 0, sizeof m);
            snprintf(m.name, sizeof m.name, "t_ns");
            m.unit = "ns";
            m.source = METRIC_SRC_TIME;
            m.status = METRIC_OK;
            m.value = 1000 * (cfg + 1) + rep + offset;
            m.running_fraction = 1;
            struct results_sample smp = { cfg, rep, true, NULL, rep, &m, 1 };
            json_t *rec = results_sample_new(h, &smp);
            ck_assert_int_eq(results_stream_put(s, rec, err, sizeof err), 0);
            json_decref(rec);
        }
    results_stream_close(s);
    json_decref(h);
}

static struct store *open_new(const char *dir, char *path, size_t len)
{
    snprintf(path, len, "%s/deep/er/store.sqlite", dir);
    struct store *s = NULL;
    char err[512];
    ck_assert_msg(store_open(&s, path, true, err, sizeof err) == 0, "%s", err);
    return s;
}

START_TEST(test_default_path)
{
    char buf[512], err[256];
    setenv("GGPERF_STORE", "/x/y.sqlite", 1);
    ck_assert_int_eq(store_default_path(buf, sizeof buf, err, sizeof err), 0);
    ck_assert_str_eq(buf, "/x/y.sqlite");
    unsetenv("GGPERF_STORE");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/u", 1);
    ck_assert_int_eq(store_default_path(buf, sizeof buf, err, sizeof err), 0);
    ck_assert_str_eq(buf, "/home/u/.local/share/ggperf/store.sqlite");
    setenv("XDG_DATA_HOME", "/data", 1);
    ck_assert_int_eq(store_default_path(buf, sizeof buf, err, sizeof err), 0);
    ck_assert_str_eq(buf, "/data/ggperf/store.sqlite");
    unsetenv("XDG_DATA_HOME");
    unsetenv("HOME");
    ck_assert_int_eq(store_default_path(buf, sizeof buf, err, sizeof err), STORE_EIO);
}
END_TEST

START_TEST(test_open_missing)
{
    const char *dir = tu_tmpdir();
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/none.sqlite", dir);
    struct store *s = NULL;
    ck_assert_int_eq(store_open(&s, path, false, err, sizeof err), STORE_ENOSTORE);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(access(path, F_OK), -1); /* a lookup never creates the store */
    /* a file that is not SQLite */
    ck_assert_int_eq(tu_write_file(path, "not a database, just text................................", 58), 0);
    ck_assert_int_ne(store_open(&s, path, false, err, sizeof err), 0);
    ck_assert_ptr_null(s);
    store_close(NULL);
}
END_TEST

START_TEST(test_save_find_list_remove)
{
    const char *dir = tu_tmpdir();
    char path[512], res[512], res2[512], err[512];
    struct store *s = open_new(dir, path, sizeof path);
    snprintf(res, sizeof res, "%s/r.jsonl", dir);
    snprintf(res2, sizeof res2, "%s/r2.jsonl", dir);
    write_stream(res, 0);
    write_stream(res2, 0.5);

    struct store_entry e;
    ck_assert_msg(store_save(s, "main", res, false, &e, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(e.name, "main");
    ck_assert_str_eq(e.workload, "fake");
    ck_assert_str_eq(e.commit, "feedbeef");
    ck_assert_int_eq(e.n_samples, 6);
    ck_assert_int_eq(e.n_configs, 2);
    ck_assert_int_eq(strlen(e.saved), 20);

    /* the name is taken: refused without force, the old one kept */
    ck_assert_int_eq(store_save(s, "main", res2, false, NULL, err, sizeof err), STORE_EEXIST);
    ck_assert_ptr_nonnull(strstr(err, "--force"));
    char *doc = NULL;
    ck_assert_int_eq(store_find(s, "main", &e, &doc, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(doc, "1000.0")); /* offset 0 */
    free(doc);
    ck_assert_int_eq(store_save(s, "main", res2, true, NULL, err, sizeof err), 0);
    ck_assert_int_eq(store_find(s, "main", NULL, &doc, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(doc, "1000.5"));
    free(doc);

    ck_assert_int_eq(store_save(s, "release-1.0", res, false, NULL, err, sizeof err), 0);
    struct store_entry *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list(s, &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0].name, "main");
    ck_assert_str_eq(v[1].name, "release-1.0");
    ck_assert_int_gt(v[1].document_bytes, 100);
    free(v);

    ck_assert_int_eq(store_find(s, "nosuch", NULL, NULL, err, sizeof err), STORE_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "nosuch"));
    ck_assert_int_eq(store_remove(s, "main", err, sizeof err), 0);
    ck_assert_int_eq(store_remove(s, "main", err, sizeof err), STORE_ENOTFOUND);
    ck_assert_int_eq(store_list(s, &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 1);
    free(v);
    store_close(s);

    /* it persists */
    ck_assert_int_eq(store_open(&s, path, false, err, sizeof err), 0);
    ck_assert_int_eq(store_find(s, "release-1.0", &e, NULL, err, sizeof err), 0);
    store_close(s);
}
END_TEST

START_TEST(test_export_round_trip)
{
    const char *dir = tu_tmpdir();
    char path[512], res[512], out[512], err[512];
    struct store *s = open_new(dir, path, sizeof path);
    snprintf(res, sizeof res, "%s/r.jsonl", dir);
    snprintf(out, sizeof out, "%s/back.json", dir);
    write_stream(res, 0);
    ck_assert_int_eq(store_save(s, "b", res, false, NULL, err, sizeof err), 0);
    ck_assert_int_eq(store_export(s, "b", out, err, sizeof err), 0);
    ck_assert_int_eq(store_export(s, "zz", out, err, sizeof err), STORE_ENOTFOUND);
    store_close(s);

    /* a JSON document the results reader takes, with every sample and the stats */
    struct results_reader *r;
    ck_assert_msg(results_reader_open(&r, out, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(results_reader_header(r), "workload"), "name")),
                     "fake");
    json_t *smp;
    int got, count = 0;
    double sum = 0;
    while ((got = results_reader_next(r, &smp, err, sizeof err)) == 1) {
        sum += json_number_value(json_object_get(json_array_get(json_object_get(smp, "metrics"), 0), "value"));
        count++;
        json_decref(smp);
    }
    ck_assert_int_eq(got, 0);
    ck_assert_int_eq(count, 6);
    ck_assert(sum == 3 * 1000 + 3 * 2000 + 2 * (0 + 1 + 2));
    results_reader_close(r);
    size_t len;
    char *text = tu_read_file(out, &len);
    ck_assert_ptr_nonnull(text);
    json_t *doc = json_loadb(text, len, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "stats")), 2);
    ck_assert_ptr_null(json_object_get(doc, "kind"));
    json_decref(doc);
    free(text);
}
END_TEST

START_TEST(test_bad_inputs)
{
    const char *dir = tu_tmpdir();
    char path[512], junk[512], err[512];
    struct store *s = open_new(dir, path, sizeof path);
    snprintf(junk, sizeof junk, "%s/junk.json", dir);
    ck_assert_int_eq(tu_write_file(junk, "{\"a\": 1}\n", 9), 0);
    ck_assert_int_eq(store_save(s, "x", junk, false, NULL, err, sizeof err), STORE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "not a ggperf results file"));
    ck_assert_int_eq(store_save(s, "x", "/nonexistent/r.json", false, NULL, err, sizeof err), STORE_EFORMAT);
    ck_assert_int_eq(store_check_name("ok-name_1.2@main", err, sizeof err), 0);
    ck_assert_int_eq(store_check_name("", err, sizeof err), STORE_EINVAL);
    ck_assert_int_eq(store_check_name("has space", err, sizeof err), STORE_EINVAL);
    ck_assert_int_eq(store_check_name("-dash", err, sizeof err), STORE_EINVAL);
    ck_assert_int_eq(store_check_name("tab\tname", err, sizeof err), STORE_EINVAL);
    char longname[STORE_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(store_check_name(longname, err, sizeof err), STORE_EINVAL);
    longname[STORE_NAME_MAX] = '\0';
    ck_assert_int_eq(store_check_name(longname, err, sizeof err), 0);
    ck_assert_int_eq(store_save(s, "has space", junk, false, NULL, err, sizeof err), STORE_EINVAL);
    struct store_entry *v = NULL;
    size_t n = 9;
    ck_assert_int_eq(store_list(s, &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 0);
    free(v);
    store_close(s);
}
END_TEST

START_TEST(test_cli)
{
    const char *dir = tu_tmpdir();
    char res[512], cmd[1500], out[8192], errb[2048];
    snprintf(res, sizeof res, "%s/r.jsonl", dir);
    write_stream(res, 0);
    const char *g = tu_ggperf_bin();
#define RUN(...) (snprintf(cmd, sizeof cmd, __VA_ARGS__), tu_run(cmd, out, sizeof out, errb, sizeof errb))
    ck_assert_int_eq(RUN("GGPERF_STORE=%s/s.sqlite %s baseline save nightly %s", dir, g, res), 0);
    ck_assert_ptr_nonnull(strstr(out, "saved baseline 'nightly'"));
    ck_assert_int_eq(RUN("GGPERF_STORE=%s/s.sqlite %s baseline save nightly %s", dir, g, res), 1);
    ck_assert_ptr_nonnull(strstr(errb, "exists already"));
    ck_assert_int_eq(RUN("%s baseline save nightly %s --force --store %s/s.sqlite", g, res, dir), 0);
    ck_assert_int_eq(RUN("%s baseline show --store %s/s.sqlite", g, dir), 0);
    ck_assert_ptr_nonnull(strstr(out, "nightly"));
    ck_assert_ptr_nonnull(strstr(out, "feedbeef"));
    ck_assert_int_eq(RUN("%s baseline show nightly --store=%s/s.sqlite", g, dir), 0);
    ck_assert_ptr_nonnull(strstr(out, "samples:   6 over 2 configurations"));
    ck_assert_ptr_nonnull(strstr(out, "{\"mode\":\"b\"}"));
    ck_assert_int_eq(RUN("%s baseline export nightly %s/e.json --store %s/s.sqlite", g, dir, dir), 0);
    ck_assert_int_eq(RUN("%s baseline rm nightly --store %s/s.sqlite", g, dir), 0);
    ck_assert_int_eq(RUN("%s baseline rm nightly --store %s/s.sqlite", g, dir), 1);
    ck_assert_ptr_nonnull(strstr(errb, "no baseline named 'nightly'"));
    ck_assert_int_eq(RUN("%s baseline show --store %s/s.sqlite", g, dir), 0);
    ck_assert_ptr_nonnull(strstr(out, "no baselines"));
    ck_assert_int_eq(RUN("%s baseline", g), 2);
    ck_assert_int_eq(RUN("%s baseline frobnicate", g), 2);
    ck_assert_int_eq(RUN("%s baseline save onlyname --store %s/s.sqlite", g, dir), 2);
    ck_assert_int_eq(RUN("%s baseline rm x --force --store %s/s.sqlite", g, dir), 2);
    ck_assert_int_eq(RUN("%s baseline save 'bad name' %s --store %s/s.sqlite", g, res, dir), 2);
    ck_assert_int_eq(RUN("%s baseline --help", g), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: ggperf baseline"));
#undef RUN
}
END_TEST

Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_default_path);
    tcase_add_test(tc, test_open_missing);
    tcase_add_test(tc, test_save_find_list_remove);
    tcase_add_test(tc, test_export_round_trip);
    tcase_add_test(tc, test_bad_inputs);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    return s;
}
