/* runner suite: plans (cartesian product, value checks), the seeded
 * interleaved order, failed and crashing repetitions recorded while the
 * sweep goes on, stop + resume through the API, and SIGKILL + --resume of
 * a real `ggperf run`. Also env's hash and capture. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/machine/env.h"
#include "results/results.h"
#include "harness/run/runner.h"
#include "tests/testutil.h"
#include "harness/run/workload.h"

/* ---- a fake workload, known only here ---------------------------------- */

static const char *const fake_x[] = { "a", "b", "c", "crash", "badsetup", NULL };

static const struct workload_axis fake_axes[] = {
    { "x", "a word", WORKLOAD_AXIS_CHOICE, fake_x, 0, 0, "a,b" },
    { "n", "a number", WORKLOAD_AXIS_INT, NULL, 1, 10, "1,2,3" },
};

struct fake_state {
    int x;
    int64_t n;
    int calls;
};

static int fake_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    if (strcmp(cfg->text[0], "badsetup") == 0) {
        snprintf(err, err_len, "cannot set up %s", cfg->text[0]);
        return -1;
    }
    struct fake_state *s = calloc(1, sizeof *s);
    s->x = (int)cfg->num[0];
    s->n = cfg->num[1];
    *state = s;
    return 0;
}

static int fake_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct fake_state *s = state;
    s->calls++;
    if (s->x == 3) { /* "crash": a bus error, as a truncated mapped file gives */
        int null = open("/dev/null", O_WRONLY); /* keep a sanitizer's report out of the test log */
        dup2(null, 2);
        raise(s->n % 2 ? SIGBUS : SIGSEGV);
    }
    workload_emit(out, "val", "count", METRIC_SRC_SW, s->x * 100.0 + (double)s->n);
    workload_emit(out, "odd_unit", "widgets", METRIC_SRC_DERIVED, 1);
    if (s->x == 1 && s->calls % 2 == 0) {
        snprintf(err, err_len, "even call %d of b", s->calls);
        return -1;
    }
    return 0;
}

static void fake_work(const void *state, double *bytes, double *flops)
{
    (void)state;
    *bytes = 1000;
    *flops = 0;
}

static void fake_teardown(void *state)
{
    free(state);
}

static const struct workload fake = {
    "fake", "test-only workload", fake_axes, 2, 0, fake_setup, fake_run, fake_work, fake_teardown, NULL, 0,
};

static const struct workload fake_iso = {
    "fake", "test-only workload, isolated", fake_axes, 2, WORKLOAD_ISOLATE, fake_setup, fake_run, fake_work,
    fake_teardown, NULL, 0,
};

/* ---- helpers ----------------------------------------------------------- */

struct tally {
    int n, ok, failed;
    int per_config[64];
    int order[256][2];   /* (config, rep) in stream order */
    char first_error[64][256];
};

static void tally_stream(const char *path, struct tally *t, bool *complete, size_t *dups)
{
    memset(t, 0, sizeof *t);
    struct results_reader *r;
    char err[256];
    ck_assert_msg(results_reader_open(&r, path, err, sizeof err) == 0, "%s", err);
    json_t *s;
    int rc;
    while ((rc = results_reader_next(r, &s, err, sizeof err)) == 1) {
        int c = (int)json_integer_value(json_object_get(s, "config"));
        if (t->n < 256) {
            t->order[t->n][0] = c;
            t->order[t->n][1] = (int)json_integer_value(json_object_get(s, "rep"));
        }
        t->n++;
        t->per_config[c]++;
        if (json_is_true(json_object_get(s, "ok"))) {
            t->ok++;
        } else {
            t->failed++;
            if (!t->first_error[c][0])
                snprintf(t->first_error[c], sizeof t->first_error[c], "%s",
                         json_string_value(json_object_get(s, "error")));
        }
        json_decref(s);
    }
    ck_assert_int_eq(rc, 0);
    if (complete)
        *complete = results_reader_complete(r);
    if (dups)
        *dups = results_reader_duplicates(r);
    results_reader_close(r);
}

static struct runner_opts fake_opts(const struct workload *wl, const char *const *lists, const char *stream)
{
    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = wl;
    o.axis_lists = lists;
    o.repetitions = 3;
    o.warmup = 1;
    o.seed = 42;
    o.stream_path = stream;
    o.skip_env = true;
    return o;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(test_plan_product_and_checks)
{
    struct runner_plan p;
    char err[256];
    ck_assert_int_eq(runner_plan_init(&p, &fake, NULL, err, sizeof err), 0);
    ck_assert_int_eq(p.n_configs, 6); /* defaults: a,b × 1,2,3 */
    struct workload_config cfg;
    memset(&cfg, 0, sizeof cfg);
    runner_plan_config(&p, 4, &cfg); /* last axis fastest: (b, 2) */
    ck_assert_str_eq(cfg.text[0], "b");
    ck_assert_int_eq(cfg.num[0], 1);
    ck_assert_int_eq(cfg.num[1], 2);
    char label[64];
    runner_plan_label(&p, 4, label, sizeof label);
    ck_assert_str_eq(label, "x=b n=2");
    runner_plan_free(&p);

    const char *lists[] = { "a,b,c", "1,2,3,4,5,6,7" };
    ck_assert_int_eq(runner_plan_init(&p, &fake, lists, err, sizeof err), 0);
    ck_assert_int_eq(p.n_configs, 21);
    runner_plan_free(&p);

    const char *bad_word[] = { "a,z", NULL };
    ck_assert_int_eq(runner_plan_init(&p, &fake, bad_word, err, sizeof err), RUNNER_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--x: 'z' is not one of a|b|c"));
    const char *bad_num[] = { NULL, "1,11" };
    ck_assert_int_eq(runner_plan_init(&p, &fake, bad_num, err, sizeof err), RUNNER_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "1..10"));
    const char *twice[] = { "a,a", NULL };
    ck_assert_int_eq(runner_plan_init(&p, &fake, twice, err, sizeof err), RUNNER_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    const char *empty[] = { "a,,b", NULL };
    ck_assert_int_eq(runner_plan_init(&p, &fake, empty, err, sizeof err), RUNNER_EINVAL);
}
END_TEST

START_TEST(test_round_order_seeded)
{
    int a[20], b[20], c[20], d[20];
    runner_round_order(20, 7, 0, a);
    runner_round_order(20, 7, 0, b);
    runner_round_order(20, 7, 1, c);
    runner_round_order(20, 8, 0, d);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    ck_assert(memcmp(a, d, sizeof a) != 0);
    int seen[20] = { 0 };
    for (int i = 0; i < 20; i++)
        seen[a[i]]++;
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(seen[i], 1);
}
END_TEST

START_TEST(test_sweep_records_failures_and_goes_on)
{
    const char *dir = tu_tmpdir();
    char s1[256], s2[256], err[512];
    snprintf(s1, sizeof s1, "%s/a.jsonl", dir);
    snprintf(s2, sizeof s2, "%s/b.jsonl", dir);
    const char *lists[] = { "a,b,badsetup", "1,2" };
    struct runner_opts o = fake_opts(&fake, lists, s1);
    struct runner_summary sum;
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert(sum.complete);
    ck_assert_int_eq(sum.n_configs, 6);
    ck_assert_int_eq(sum.reps_run, 18);
    struct tally t;
    bool complete;
    tally_stream(s1, &t, &complete, NULL);
    ck_assert(complete);
    ck_assert_int_eq(t.n, 18);
    for (int c = 0; c < 6; c++)
        ck_assert_int_eq(t.per_config[c], 3);
    /* b fails on every even call: warm-up is call 1, so reps 0 and 2 fail */
    ck_assert_int_eq(t.failed, 2 * 2 + 2 * 3);
    ck_assert_ptr_nonnull(strstr(t.first_error[2], "even call"));
    ck_assert_ptr_nonnull(strstr(t.first_error[4], "setup failed: cannot set up badsetup"));
    ck_assert_int_eq((int)sum.reps_failed, t.failed);

    /* every round visits every configuration once, in the seeded order */
    for (int round = 0; round < 3; round++) {
        int order[6];
        runner_round_order(6, 42, (uint64_t)round, order);
        for (int k = 0; k < 6; k++) {
            ck_assert_int_eq(t.order[round * 6 + k][0], order[k]);
            ck_assert_int_eq(t.order[round * 6 + k][1], round);
        }
    }
    /* the same seed gives the same stream order */
    o.stream_path = s2;
    ck_assert_int_eq(runner_run(&o, &sum, err, sizeof err), 0);
    struct tally t2;
    tally_stream(s2, &t2, NULL, NULL);
    ck_assert_mem_eq(t.order, t2.order, sizeof t.order);

    /* runner figures on every sample, derived bandwidth on ok ones */
    struct results_reader *r;
    ck_assert_int_eq(results_reader_open(&r, s1, err, sizeof err), 0);
    json_t *st;
    ck_assert_int_eq(results_stats(r, NULL, &st, err, sizeof err), 0);
    json_t *c0 = json_array_get(st, 0), *m;
    size_t i;
    int found = 0;
    json_array_foreach(json_object_get(c0, "metrics"), i, m) {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (strcmp(n, "run_ns") == 0 || strcmp(n, "runner_overhead_ns") == 0 || strcmp(n, "bandwidth_gbps") == 0)
            found++;
        if (strcmp(n, "val") == 0)
            ck_assert_double_eq(json_number_value(json_object_get(m, "median")), 1);
    }
    ck_assert_int_eq(found, 3);
    json_decref(st);
    results_reader_close(r);
}
END_TEST

START_TEST(test_isolated_crashes_are_failed_reps)
{
    char s1[256], err[512];
    snprintf(s1, sizeof s1, "%s/iso.jsonl", tu_tmpdir());
    const char *lists[] = { "a,crash", "1,2" };
    struct runner_opts o = fake_opts(&fake_iso, lists, s1);
    o.warmup = 0;
    o.repetitions = 2;
    struct runner_summary sum;
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert(sum.complete);
    struct tally t;
    tally_stream(s1, &t, NULL, NULL);
    ck_assert_int_eq(t.n, 8);
    ck_assert_int_eq(t.ok, 4);     /* x=a */
    ck_assert_int_eq(t.failed, 4); /* x=crash: SIGBUS (n=1) and SIGSEGV (n=2) */
    /* the message names the signal (a sanitizer may catch it first and exit instead) */
    for (int c = 2; c < 4; c++)
        ck_assert_msg(strstr(t.first_error[c], "signal") || strstr(t.first_error[c], "exited"), "%s",
                      t.first_error[c]);
    /* metrics and their (non-static) units came back over the pipe */
    struct results_reader *r;
    ck_assert_int_eq(results_reader_open(&r, s1, err, sizeof err), 0);
    json_t *s;
    bool saw = false;
    while (results_reader_next(r, &s, err, sizeof err) == 1) {
        if (json_integer_value(json_object_get(s, "config")) == 1 && json_is_true(json_object_get(s, "ok"))) {
            json_t *m0 = json_array_get(json_object_get(s, "metrics"), 0);
            json_t *m1 = json_array_get(json_object_get(s, "metrics"), 1);
            ck_assert_double_eq(json_number_value(json_object_get(m0, "value")), 2);
            ck_assert_str_eq(json_string_value(json_object_get(m1, "unit")), "widgets");
            saw = true;
        }
        json_decref(s);
    }
    results_reader_close(r);
    ck_assert(saw);
}
END_TEST

struct stopper {
    volatile sig_atomic_t *flag;
    int calls, after;
};

static void stop_after(void *user, const struct runner_progress *p)
{
    struct stopper *s = user;
    if (!p->warmup && ++s->calls > s->after)
        *s->flag = 1;
}

START_TEST(test_stop_and_resume_api)
{
    char s1[256], err[512];
    snprintf(s1, sizeof s1, "%s/r.jsonl", tu_tmpdir());
    const char *lists[] = { "a,c", "1,2,3" };
    volatile sig_atomic_t flag = 0;
    struct stopper st = { &flag, 0, 8 };
    struct runner_opts o = fake_opts(&fake, lists, s1);
    o.repetitions = 4;
    o.progress = stop_after;
    o.progress_user = &st;
    o.stop = &flag;
    struct runner_summary sum;
    ck_assert_int_eq(runner_run(&o, &sum, err, sizeof err), RUNNER_ESTOPPED);
    ck_assert_ptr_nonnull(strstr(err, "--resume"));
    ck_assert_int_eq(sum.reps_run, 9); /* the one in flight when the flag was set completes */
    ck_assert(!sum.complete);

    /* resume: the plan comes from the stream; options given are ignored */
    struct runner_opts r = fake_opts(&fake, NULL, s1);
    r.resume = true;
    r.repetitions = 99;
    ck_assert_msg(runner_run(&r, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert(sum.complete);
    ck_assert_int_eq(sum.reps_skipped, 9);
    ck_assert_int_eq(sum.reps_run, 6 * 4 - 9);
    struct tally t;
    bool complete;
    size_t dups;
    tally_stream(s1, &t, &complete, &dups);
    ck_assert(complete);
    ck_assert_uint_eq(dups, 0);
    ck_assert_int_eq(t.n, 24);
    for (int c = 0; c < 6; c++)
        ck_assert_int_eq(t.per_config[c], 4);
    /* resuming a complete sweep runs nothing */
    ck_assert_int_eq(runner_run(&r, &sum, err, sizeof err), 0);
    ck_assert_int_eq(sum.reps_run, 0);
    ck_assert(sum.complete);

    /* a stream of another workload is refused */
    static const struct workload other = { "other", "", fake_axes, 2, 0, fake_setup, fake_run, NULL, fake_teardown, NULL, 0 };
    r.wl = &other;
    ck_assert_int_eq(runner_run(&r, &sum, err, sizeof err), RUNNER_EMISMATCH);
}
END_TEST

START_TEST(test_min_time_rounds_capped)
{
    char s1[256], err[512];
    snprintf(s1, sizeof s1, "%s/m.jsonl", tu_tmpdir());
    const char *lists[] = { "a", "1,2" };
    struct runner_opts o = fake_opts(&fake, lists, s1);
    o.repetitions = 2;
    o.min_time_s = 1e6; /* never reached: the round cap ends the sweep */
    o.max_rounds = 5;
    struct runner_summary sum;
    ck_assert_int_eq(runner_run(&o, &sum, err, sizeof err), 0);
    ck_assert_int_eq(sum.rounds, 5);
    ck_assert_int_eq(sum.reps_run, 10);
}
END_TEST

/* A workload with a primary figure: steady at x=a (100..102: too few
 * samples for a CI at 3, trusted from 6), spread 100/130 at x=b (MAD 15% of
 * the median: flagged however many repetitions). */
static int noisy_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    struct fake_state *s = state;
    s->calls++;
    workload_emit(out, "lat", "ns", METRIC_SRC_TIME, s->x == 1 && s->calls % 2 ? 130.0 : 100.0 + s->calls % 3);
    return 0;
}

static const struct metric_decl noisy_metrics[] = { { "lat", METRIC_SEM(LOWER, SAMPLE, true) } };

static const struct workload fake_noisy = {
    "fake_noisy", "test-only workload with a primary figure", fake_axes, 2, 0, fake_setup, noisy_run, NULL,
    fake_teardown, WORKLOAD_METRICS(noisy_metrics),
};

/* --until-trusted: the steady configuration stops at 6 repetitions (the
 * fewest that give a 95% CI of the median), the noisy one runs to the cap,
 * and the plan records the rule. */
START_TEST(test_until_trusted_repeats_only_noisy)
{
    char s1[256], err[512];
    snprintf(s1, sizeof s1, "%s/ut.jsonl", tu_tmpdir());
    const char *lists[] = { "a,b", "1" };
    struct runner_opts o = fake_opts(&fake_noisy, lists, s1);
    o.repetitions = 3;
    o.until_trusted = true;
    o.max_rounds = 15;
    struct runner_summary sum;
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    struct tally t;
    bool complete = false;
    tally_stream(s1, &t, &complete, NULL);
    ck_assert(complete);
    ck_assert_int_eq(t.per_config[0], 6);
    ck_assert_int_eq(t.per_config[1], 15);
    ck_assert_int_eq(sum.reps_run, 21);
    struct results_reader *r;
    ck_assert(results_reader_open(&r, s1, err, sizeof err) == 0);
    ck_assert(json_is_true(json_object_get(json_object_get(results_reader_header(r), "plan"), "until_trusted")));
    results_reader_close(r);

    /* without the rule, the plan's 3 repetitions each */
    snprintf(s1, sizeof s1, "%s/ut2.jsonl", tu_tmpdir());
    o = fake_opts(&fake_noisy, lists, s1);
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sum.reps_run, 6);
}
END_TEST

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

START_TEST(test_sigkill_then_resume_cli)
{
    const char *dir = tu_tmpdir();
    char stream[256], csv[256], cmd[1024], err[2048];
    snprintf(stream, sizeof stream, "%s/k.jsonl", dir);
    snprintf(csv, sizeof csv, "%s/k.csv", dir);
    setenv("GGPERF_CACHE", dir, 1); /* keep the user's cache out of tests */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(tu_ggperf_bin(), "ggperf", "run", "sleep", "--us", "20000,30000", "-r", "15", "--warmup", "0",
              "--stream", stream, (char *)NULL);
        _exit(127);
    }
    /* wait until some repetitions are on disk (header + >= 5 samples), then kill */
    for (int i = 0; i < 2000 && count_lines(stream) < 6; i++)
        usleep(5000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    struct tally before;
    bool complete;
    tally_stream(stream, &before, &complete, NULL);
    ck_assert(!complete);
    ck_assert_int_ge(before.n, 5);
    ck_assert_int_lt(before.n, 30);

    snprintf(cmd, sizeof cmd, "%s run --resume %s -o csv --out %s", tu_ggperf_bin(), stream, csv);
    ck_assert_msg(tu_run(cmd, NULL, 0, err, sizeof err) == 0, "%s", err);
    struct tally after;
    size_t dups;
    tally_stream(stream, &after, &complete, &dups);
    ck_assert(complete);
    ck_assert_uint_eq(dups, 0);
    ck_assert_int_eq(after.n, 30);
    ck_assert_int_eq(after.per_config[0], 15);
    ck_assert_int_eq(after.per_config[1], 15);
    /* what was measured before the kill is still there, first, unchanged */
    for (int i = 0; i < before.n; i++) {
        ck_assert_int_eq(after.order[i][0], before.order[i][0]);
        ck_assert_int_eq(after.order[i][1], before.order[i][1]);
    }
    /* the view and the document were written */
    size_t n;
    char *text = tu_read_file(csv, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "slept_ns"));
    free(text);
    char doc[256];
    snprintf(doc, sizeof doc, "%s/k.json", dir);
    ck_assert_int_eq(access(doc, R_OK), 0);

    /* a new sweep refuses to overwrite the stream */
    snprintf(cmd, sizeof cmd, "%s run sleep --stream %s", tu_ggperf_bin(), stream);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "--resume"));
    /* usage errors */
    snprintf(cmd, sizeof cmd, "%s run sleep --bogus 1", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--us"));
    snprintf(cmd, sizeof cmd, "%s run sleep --us 5,x", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    snprintf(cmd, sizeof cmd, "%s run nosuch", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
}
END_TEST

/* ggperf run --shard K/N + merge: the shards' union is the unsharded
 * sweep: the same header plan (workload, axes, configs, plan) and the same
 * (config, rep) pairs; overlapping shards are refused. */
START_TEST(test_shards_merge_to_the_same_plan)
{
    const char *dir = tu_tmpdir();
    char all[256], sh[3][256], merged[256], err[512];
    snprintf(all, sizeof all, "%s/all.jsonl", dir);
    snprintf(merged, sizeof merged, "%s/merged.jsonl", dir);
    const char *lists[] = { "a,c", "1,2,3" };
    struct runner_opts o = fake_opts(&fake, lists, all);
    struct runner_summary sum;
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    const char *paths[3];
    int ran = 0;
    for (int k = 0; k < 3; k++) {
        snprintf(sh[k], sizeof sh[k], "%s/shard%d.jsonl", dir, k + 1);
        struct runner_opts so = fake_opts(&fake, lists, sh[k]);
        so.shard_k = k + 1;
        so.shard_n = 3;
        ck_assert_msg(runner_run(&so, &sum, err, sizeof err) == 0, "%s", err);
        ck_assert(sum.complete);
        ran += (int)sum.reps_run;
        paths[k] = sh[k];
    }
    ck_assert_int_eq(ran, 6 * 3); /* each configuration in exactly one shard */
    ck_assert_msg(results_merge(paths, 3, merged, 0, err, sizeof err) == 0, "%s", err);
    struct results_reader *a, *m;
    ck_assert(results_reader_open(&a, all, err, sizeof err) == 0);
    ck_assert(results_reader_open(&m, merged, err, sizeof err) == 0);
    static const char *const keys[] = { "workload", "axes", "configs", "plan" };
    for (int i = 0; i < 4; i++)
        ck_assert_msg(json_equal(json_object_get(results_reader_header(a), keys[i]),
                                 json_object_get(results_reader_header(m), keys[i])), "%s differs", keys[i]);
    ck_assert_ptr_null(json_object_get(results_reader_header(m), "shard"));
    ck_assert_int_eq(json_array_size(json_object_get(results_reader_header(m), "merged_from")), 3);
    results_reader_close(a);
    results_reader_close(m);
    struct tally ta, tm;
    bool complete;
    tally_stream(all, &ta, NULL, NULL);
    tally_stream(merged, &tm, &complete, NULL);
    ck_assert(complete);
    ck_assert_int_eq(ta.n, tm.n);
    for (int c = 0; c < 6; c++)
        ck_assert_int_eq(ta.per_config[c], tm.per_config[c]);
    /* the same shard twice overlaps */
    const char *twice[] = { sh[0], sh[0] };
    snprintf(merged, sizeof merged, "%s/bad.jsonl", dir);
    ck_assert_int_eq(results_merge(twice, 2, merged, 0, err, sizeof err), RESULTS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "earlier input"));
    /* ... unless the repetitions are numbered anew (rounds of one plan) */
    ck_assert_msg(results_merge(twice, 2, merged, RESULTS_MERGE_RENUMBER, err, sizeof err) == 0, "%s", err);
    tally_stream(merged, &tm, NULL, NULL);
    ck_assert_int_eq(tm.n, 2 * 2 * 3);
    /* a bad shard spec */
    struct runner_opts bad = fake_opts(&fake, lists, merged);
    bad.shard_k = 4;
    bad.shard_n = 3;
    ck_assert_int_eq(runner_run(&bad, &sum, err, sizeof err), RUNNER_EINVAL);
}
END_TEST

START_TEST(test_env_hash_and_capture)
{
    ck_assert_uint_eq(env_xxh64("", 0, 0), 0xEF46DB3751D8E999ull);
    ck_assert_uint_eq(env_xxh64("abc", 3, 0), 0x44BC2CF5AD770999ull);
    ck_assert_uint_eq(env_xxh64("Nobody inspects the spammish repetition", 39, 0), 0xFBCEA83C8A378BF1ull);
    /* streaming in odd pieces equals one shot */
    unsigned char buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    struct env_xxh64 s;
    env_xxh64_init(&s, 5);
    for (size_t off = 0, step = 1; off < 1000; off += step, step = step * 3 % 61 + 1)
        env_xxh64_update(&s, buf + off, off + step > 1000 ? 1000 - off : step);
    ck_assert_uint_eq(env_xxh64_digest(&s), env_xxh64(buf, 1000, 5));

    /* the file hash is cached by (path, size, mtime, ctime, inode), and only
     * once the file's last change is older than a timestamp tick */
    const char *dir = tu_tmpdir();
    char f[256];
    snprintf(f, sizeof f, "%s/file.bin", dir);
    ck_assert_int_eq(tu_write_file(f, buf, 1000), 0);
    uint64_t h1, h2;
    bool cached;
    char err[256];
    ck_assert_int_eq(env_file_hash(f, dir, &h1, &cached, err, sizeof err), 0);
    ck_assert(!cached);
    ck_assert_uint_eq(h1, env_xxh64(buf, 1000, 0));
    /* just written: a same-size rewrite in this tick would keep every stamp, so nothing is remembered */
    ck_assert_int_eq(env_file_hash(f, dir, &h2, &cached, err, sizeof err), 0);
    ck_assert(!cached);
    buf[0] ^= 1;
    ck_assert_int_eq(tu_write_file(f, buf, 1000), 0);
    ck_assert_int_eq(env_file_hash(f, dir, &h2, &cached, err, sizeof err), 0);
    ck_assert(!cached);
    ck_assert_uint_ne(h1, h2);
    ck_assert_uint_eq(h2, env_xxh64(buf, 1000, 0));
    h1 = h2;
    /* ctime cannot be set back: wait until the file's last change is old enough to cache */
    struct timespec ts = { ENV_HASH_RACY_NS / 1000000000ll, ENV_HASH_RACY_NS % 1000000000ll + 50000000 };
    nanosleep(&ts, NULL);
    ck_assert_int_eq(env_file_hash(f, dir, &h2, &cached, err, sizeof err), 0);
    ck_assert(!cached);
    ck_assert_int_eq(env_file_hash(f, dir, &h2, &cached, err, sizeof err), 0);
    ck_assert(cached);
    ck_assert_uint_eq(h1, h2);
    /* a same-size rewrite that puts the old mtime back (as within one coarse
     * tick, or cp -p): the mtime matches, the ctime does not */
    struct stat st0;
    ck_assert_int_eq(stat(f, &st0), 0);
    buf[1] ^= 1;
    ck_assert_int_eq(tu_write_file(f, buf, 1000), 0);
    struct timespec times[2] = { st0.st_atim, st0.st_mtim };
    ck_assert_int_eq(utimensat(AT_FDCWD, f, times, 0), 0);
    ck_assert_int_eq(env_file_hash(f, dir, &h2, &cached, err, sizeof err), 0);
    ck_assert(!cached);
    ck_assert_uint_ne(h1, h2);
    ck_assert_uint_eq(h2, env_xxh64(buf, 1000, 0));

    json_t *e = env_collect();
    ck_assert_ptr_nonnull(e);
    ck_assert(json_is_string(json_object_get(e, "hostname")));
    ck_assert(json_is_object(json_object_get(e, "cpu")));
    ck_assert(json_is_string(json_object_get(json_object_get(e, "thp"), "enabled")));
    ck_assert(json_is_string(json_object_get(json_object_get(e, "cpufreq"), "governor")));
    ck_assert(json_is_string(json_object_get(json_object_get(e, "build"), "commit")));
    json_decref(e);

    char gp[512];
    json_t *m = env_model(tu_golden_path(gp, sizeof gp, "shared-Q8_0.gguf"), dir, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "n_layer")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "n_embd")), 256);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "n_vocab")), 1024);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "size_bytes")), 2258656);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "tensor_types"), "Q8_0")), 16);
    ck_assert_str_eq(json_string_value(json_object_get(m, "file_type_name")), "Q8_0");
    json_decref(m);
    ck_assert_ptr_null(env_model(f, dir, err, sizeof err)); /* not a GGUF */
}
END_TEST

Suite *runner_suite(void)
{
    Suite *s = suite_create("runner");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_plan_product_and_checks);
    tcase_add_test(tc, test_round_order_seeded);
    tcase_add_test(tc, test_sweep_records_failures_and_goes_on);
    tcase_add_test(tc, test_isolated_crashes_are_failed_reps);
    tcase_add_test(tc, test_stop_and_resume_api);
    tcase_add_test(tc, test_min_time_rounds_capped);
    tcase_add_test(tc, test_until_trusted_repeats_only_noisy);
    tcase_add_test(tc, test_sigkill_then_resume_cli);
    tcase_add_test(tc, test_env_hash_and_capture);
    tcase_add_test(tc, test_shards_merge_to_the_same_plan);
    suite_add_tcase(s, tc);
    return s;
}
