/* cli_rules suite: the command line behaves the same way everywhere, tried
 * as a new user would through the binary ($GGPERF_BIN): one thread limit
 * (the engine's) checked while parsing, every list value checked before
 * any work, outputs checked before a sweep, one context rule for generate,
 * ggperf's own outputs recognised as such, one cache directory for the
 * demo and the commands, and one store search order in every help. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/pool.h"
#include "harness/store/store.h"
#include "tests/testutil.h"

static char out[65536], err[8192];

/* Run the ggperf binary with args (a shell fragment); returns its status. */
static int gg(const char *env, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' %s", env ? env : "", tu_ggperf_bin(), args);
    return tu_run(cmd, out, sizeof out, err, sizeof err);
}

static const char *golden(void)
{
    static char path[1024];
    return tu_golden_path(path, sizeof path, "shared-Q4_0.gguf");
}

START_TEST(test_thread_limit_is_the_engines)
{
    char args[2048], want[64];
    snprintf(want, sizeof want, "(allowed 1..%d)", POOL_MAX_THREADS);
    /* above the engine's limit: exit 2 naming the flag, not the model */
    snprintf(args, sizeof args, "generate -m '%s' -p hi -n 1 -t %d", golden(), POOL_MAX_THREADS + 1);
    ck_assert_int_eq(gg(NULL, args), 2);
    ck_assert_msg(strstr(err, "-t:") && strstr(err, want), "%s", err);
    ck_assert_msg(strstr(err, golden()) == NULL, "blames the model: %s", err);
    snprintf(args, sizeof args, "logits -m '%s' --tokens 1 --threads 999", golden());
    ck_assert_int_eq(gg(NULL, args), 2);
    ck_assert_msg(strstr(err, "--threads:") && strstr(err, want), "%s", err);
    /* bench: every value of the list before any result */
    snprintf(args, sizeof args, "bench -m '%s' -t 1,999 -p 4 -n 2 -r 1", golden());
    ck_assert_int_eq(gg(NULL, args), 2);
    ck_assert_msg(strstr(err, "-t:") && strstr(err, "999"), "%s", err);
    ck_assert_msg(out[0] == '\0', "results printed before the refusal:\n%s", out);
    /* run's threads axis has the same limit */
    snprintf(args, sizeof args, "run decode -m '%s' --threads 1,999 -r 1 --stream /nonexistent/s.jsonl", golden());
    ck_assert_int_eq(gg(NULL, args), 2);
    snprintf(want, sizeof want, "1..%d", POOL_MAX_THREADS);
    ck_assert_msg(strstr(err, "--threads") && strstr(err, want), "%s", err);
    ck_assert_msg(strstr(err, "streaming") == NULL, "%s", err);
}
END_TEST

START_TEST(test_run_checks_outputs_before_the_sweep)
{
    const char *dir = tu_tmpdir();
    char args[2048], stream[512];
    snprintf(stream, sizeof stream, "%s/s.jsonl", dir);
    /* an --out that cannot be written: refused up front, naming the flag and the path */
    snprintf(args, sizeof args, "run sleep --us 1 -r 1 --warmup 0 --stream '%s' --out /nonexistent/dir/x.md", stream);
    ck_assert_int_eq(gg(NULL, args), 2);
    ck_assert_msg(strstr(err, "--out") && strstr(err, "/nonexistent/dir"), "%s", err);
    ck_assert_msg(strstr(err, "streaming") == NULL, "announced a stream before refusing: %s", err);
    ck_assert_msg(strstr(err, ".tmp.") == NULL, "names a temporary file: %s", err);
    ck_assert_int_eq(access(stream, F_OK), -1);
    snprintf(args, sizeof args, "run sleep --us 1 -r 1 --warmup 0 --stream '%s' --out '%s'", stream, dir);
    ck_assert_int_eq(gg(NULL, args), 2);
    ck_assert_msg(strstr(err, "is a directory"), "%s", err);
    ck_assert_int_eq(access(stream, F_OK), -1);
    /* a bad axis value: no stream announced or created either */
    snprintf(args, sizeof args, "run sleep --us x -r 1 --stream '%s'", stream);
    ck_assert_int_eq(gg(NULL, args), 2);
    ck_assert_msg(strstr(err, "--us") && strstr(err, "streaming") == NULL, "%s", err);
    ck_assert_int_eq(access(stream, F_OK), -1);
    /* and a good one runs, announcing its stream */
    char md[600];
    snprintf(md, sizeof md, "%s/x.md", dir);
    snprintf(args, sizeof args, "run sleep --us 1 -r 1 --warmup 0 --stream '%s' --out '%s'", stream, md);
    ck_assert_msg(gg(NULL, args) == 0, "%s", err);
    ck_assert_msg(strstr(err, "streaming samples to"), "%s", err);
    ck_assert_int_eq(access(md, F_OK), 0);
}
END_TEST

/* generate: prompt + -n must fit in the context, given or the model's (256 here). */
START_TEST(test_generate_one_context_rule)
{
    char args[2048];
    snprintf(args, sizeof args, "generate -m '%s' -p hi -n 5000 -t 1", golden());
    ck_assert_int_eq(gg(NULL, args), 2);
    ck_assert_msg(strstr(err, "-n 5000") && strstr(err, "context of 256"), "%s", err);
    snprintf(args, sizeof args, "generate -m '%s' -p hi --ctx 256 -n 600 -t 1", golden());
    ck_assert_int_eq(gg(NULL, args), 2);
    ck_assert_msg(strstr(err, "-n 600") && strstr(err, "--ctx 256"), "%s", err);
    /* within the model's context without --ctx; an explicit larger --ctx is the user's choice */
    snprintf(args, sizeof args, "generate -m '%s' -p hi -n 3 -t 1", golden());
    ck_assert_msg(gg(NULL, args) == 0, "%s", err);
    snprintf(args, sizeof args, "generate -m '%s' -p hi --ctx 300 -n 260 -t 1 --kernels ref", golden());
    ck_assert_msg(gg(NULL, args) == 0, "%s", err);
}
END_TEST

/* logits -o over its own earlier output replaces it; over anything else, or
 * an output changed since, it refuses without --force. */
START_TEST(test_logits_replaces_its_own_output)
{
    const char *dir = tu_tmpdir();
    char env[600], path[600], args[2048];
    snprintf(env, sizeof env, "GGPERF_CACHE='%s/cache'", dir);
    snprintf(path, sizeof path, "%s/out.f32", dir);
    snprintf(args, sizeof args, "logits -m '%s' --tokens 1,2 -t 1 -o '%s'", golden(), path);
    ck_assert_msg(gg(env, args) == 0, "%s", err);
    size_t n1, n2;
    void *a = tu_read_file(path, &n1);
    ck_assert_ptr_nonnull(a);
    ck_assert_msg(gg(env, args) == 0, "second run over its own output: %s", err);
    void *b = tu_read_file(path, &n2);
    ck_assert(b && n1 == n2 && memcmp(a, b, n1) == 0);
    /* changed since (same size, different bytes): no longer ggperf's output */
    ((unsigned char *)b)[0] ^= 1;
    ck_assert_int_eq(tu_write_file(path, b, n2), 0);
    ck_assert_int_eq(gg(env, args), 1);
    ck_assert_msg(strstr(err, path) && strstr(err, "--force"), "%s", err);
    free(a);
    a = tu_read_file(path, &n1); /* the changed bytes are kept */
    ck_assert(a && n1 == n2 && memcmp(a, b, n1) == 0);
    free(a);
    free(b);
    /* --force takes it back; then it is ours again */
    snprintf(args, sizeof args, "logits -m '%s' --tokens 1,2 -t 1 -o '%s' --force", golden(), path);
    ck_assert_msg(gg(env, args) == 0, "%s", err);
    snprintf(args, sizeof args, "logits -m '%s' --tokens 1,2 -t 1 -o '%s'", golden(), path);
    ck_assert_msg(gg(env, args) == 0, "%s", err);
    /* another cache directory has no record of it: refused */
    snprintf(env, sizeof env, "GGPERF_CACHE='%s/other-cache'", dir);
    ck_assert_int_eq(gg(env, args), 1);
}
END_TEST

/* The demo puts its model where every command looks: ggperf's cache
 * directory (XDG_CACHE_HOME honoured), not the checkout. */
START_TEST(test_demo_uses_the_user_cache_dir)
{
    const char *dir = tu_tmpdir();
    char env[1200], cmd[2400], want[600];
    snprintf(env, sizeof env, "env -u GGPERF_CACHE XDG_CACHE_HOME='%s/xdg'", dir);
    ck_assert_int_eq(gg(env, "version"), 0);
    snprintf(want, sizeof want, "cache: %s/xdg/ggperf\n", dir);
    ck_assert_msg(strstr(out, want), "%s", out);
    ck_assert_int_eq(gg("GGPERF_CACHE=/tmp/ggperf-cache-x", "version"), 0);
    ck_assert_msg(strstr(out, "cache: /tmp/ggperf-cache-x\n"), "%s", out);
    rmdir("/tmp/ggperf-cache-x");

    ck_assert_int_eq(access("scripts/demo.sh", X_OK), 0);
    snprintf(cmd, sizeof cmd, "%s DEMO_OUT='%s/demo' DEMO_STEPS=1 GGPERF_BIN='%s' scripts/demo.sh", env, dir,
             tu_ggperf_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    snprintf(want, sizeof want, "%s/xdg/ggperf/tiny-q4_0.gguf", dir);
    ck_assert_msg(access(want, R_OK) == 0, "no %s after the demo's model step:\n%s", want, out);
    ck_assert_msg(strstr(out, want), "the demo shows another model path:\n%s", out);
}
END_TEST

/* Collapse runs of whitespace to one space and drop backticks. */
static void squash(const char *in, char *o, size_t len)
{
    size_t n = 0;
    bool space = false;
    for (; *in && n + 1 < len; in++) {
        if (*in == '`')
            continue;
        if (*in == ' ' || *in == '\n' || *in == '\t') {
            space = true;
            continue;
        }
        if (space && n)
            o[n++] = ' ';
        space = false;
        o[n++] = *in;
    }
    o[n] = '\0';
}

START_TEST(test_store_search_order_everywhere)
{
    static char sq[65536];
    char order[256];
    squash(STORE_SEARCH_ORDER("  "), order, sizeof order);
    ck_assert_ptr_nonnull(strstr(order, "$XDG_DATA_HOME/ggperf/store.sqlite"));
    static const char *const cmds[] = { "gate --help", "baseline --help", NULL };
    for (int i = 0; cmds[i]; i++) {
        ck_assert_int_eq(gg(NULL, cmds[i]), 0);
        squash(out, sq, sizeof sq);
        ck_assert_msg(strstr(sq, order), "%s lacks '%s':\n%s", cmds[i], order, out);
    }
    size_t n;
    char *readme = tu_read_file("README.md", &n);
    ck_assert_ptr_nonnull(readme);
    squash(readme, sq, sizeof sq);
    free(readme);
    ck_assert_msg(strstr(sq, order), "README.md lacks '%s'", order);
}
END_TEST

Suite *cli_rules_suite(void)
{
    Suite *s = suite_create("cli_rules");
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_thread_limit_is_the_engines);
    tcase_add_test(tc, test_run_checks_outputs_before_the_sweep);
    tcase_add_test(tc, test_generate_one_context_rule);
    tcase_add_test(tc, test_logits_replaces_its_own_output);
    tcase_add_test(tc, test_demo_uses_the_user_cache_dir);
    tcase_add_test(tc, test_store_search_order_everywhere);
    suite_add_tcase(s, tc);
    return s;
}
