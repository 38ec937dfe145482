/* harden_cli suite: the command line and output paths. Every subcommand
 * refuses unknown flags, bad numbers and missing values with exit 2 naming
 * the flag; nothing ggperf did not create is overwritten without --force.
 * One of the harden suites (the overview is in tests/test_harden.c; shared
 * helpers in tests/harden_util.h). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harden_util.h"
#include "tests/testutil.h"

/* ---- 6. the command line ---------------------------------------------------------- */

/* One row: the command (words; @G a golden model, @D a fresh directory)
 * and its numeric flags, each tried last on the line. */
struct cli_row {
    const char *base;
    const char *numeric[12];
};

static const struct cli_row cli_rows[] = {
    { "info @G", { NULL } },
    { "synth --shape tiny --type Q4_0 --dry-run",
      { "--seed", "--n-embd", "--n-ff", "--n-layer", "--n-head", "--n-head-kv", "--n-vocab", "--n-ctx",
        "--rope-base", "--rms-eps", NULL } },
    { "logits -m @G --tokens 1", { "--tokens", "-t", "--threads", "--ctx", "--batch", NULL } },
    { "generate -m @G -p hello", { "-n", "--seed", "--temp", "--top-p", "--top-k", "-t", "--ctx", "--batch", NULL } },
    { "bench -m @G", { "-t", "-p", "-n", "-r", "--ctx", "--batch", NULL } },
    { "probe", { "--touch-pages", "--sim-walk", NULL } },
    { "run sleep --stream @D/never.jsonl", { "-r", "--warmup", "--min-time", "--seed", "--us", NULL } },
    { "study metadata --stream @D/never.jsonl", { "-r", "--seed", NULL } },
    { "report @D/none.jsonl -o @D/report", { NULL } },
    { "import llama-bench @D/none.json", { NULL } },
    { "gate --baseline @D/a.json --current @D/b.json", { "--threshold", "--det-threshold", "--alpha", NULL } },
    { "baseline show --store @D/store.sqlite", { NULL } },
    { "version", { NULL } },
    { "completion bash", { NULL } },
    { "help", { NULL } },
};

static int split_words(const char *line, const char *golden, const char *dir, char *store, size_t store_len,
                       const char **argv, int max)
{
    int n = 0;
    size_t used = 0;
    for (const char *p = line; *p && n < max;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " ");
        char word[256];
        snprintf(word, sizeof word, "%.*s", (int)len, p);
        char *at = store + used;
        int w;
        if (strcmp(word, "@G") == 0)
            w = snprintf(at, store_len - used, "%s", golden);
        else if (strncmp(word, "@D", 2) == 0)
            w = snprintf(at, store_len - used, "%s%s", dir, word + 2);
        else
            w = snprintf(at, store_len - used, "%s", word);
        ck_assert(w > 0 && (size_t)w < store_len - used);
        used += (size_t)w + 1;
        argv[n++] = at;
        p += len;
    }
    return n;
}

static void expect_usage(const char *const *argv, const char *flag, struct proc *p)
{
    spawn(argv, NULL, p);
    char line[1024] = "";
    for (int i = 0; argv[i]; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? " " : "", i ? argv[i] : "ggperf");
    ck_assert_msg(p->status == 2, "`%s`: exit %d (want 2): %s", line, p->status, p->err);
    ck_assert_msg(strstr(p->err, flag) != NULL, "`%s`: the message does not name %s: %s", line, flag, p->err);
    ck_assert_msg(strncmp(p->err, "ggperf: ", 8) == 0, "`%s`: %s", line, p->err);
}

START_TEST(test_cli_rejects_bad_flags_and_numbers)
{
    const char *dir = tu_tmpdir();
    char golden[PATH_MAX];
    tu_golden_path(golden, sizeof golden, "shared-Q4_0.gguf");
    struct proc *p = malloc(sizeof *p);
    static const char *const bad[] = { "abc", "1x", "-1", "99999999999999999999" };
    int rows = 0, cases = 0;
    for (size_t r = 0; r < sizeof cli_rows / sizeof cli_rows[0]; r++) {
        const struct cli_row *row = &cli_rows[r];
        char store[4096];
        const char *argv[32];
        argv[0] = tu_ggperf_bin();
        int n = 1 + split_words(row->base, golden, dir, store, sizeof store, argv + 1, 24);
        /* an unknown flag, at the end and right after the subcommand */
        argv[n] = "--no-such-flag";
        argv[n + 1] = NULL;
        expect_usage(argv, "--no-such-flag", p);
        const char *early[] = { argv[0], argv[1], "--no-such-flag", NULL };
        expect_usage(early, "--no-such-flag", p);
        cases += 2;
        for (int f = 0; row->numeric[f]; f++) {
            const char *flag = row->numeric[f];
            for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                argv[n] = flag;
                argv[n + 1] = bad[k];
                argv[n + 2] = NULL;
                expect_usage(argv, flag, p);
                cases++;
            }
            argv[n] = flag; /* the value missing */
            argv[n + 1] = NULL;
            expect_usage(argv, flag, p);
            cases++;
        }
        rows++;
    }
    printf("cli: %d subcommands, %d bad command lines, all exit 2 naming the flag\n", rows, cases);
    ck_assert_int_eq(count_prefixed(dir, "never"), 0); /* nothing was started */
    free(p);
}
END_TEST

/* ---- 7. output paths ------------------------------------------------------------------ */

START_TEST(test_outputs_never_overwrite_without_force)
{
    const char *dir = tu_tmpdir();
    char golden[PATH_MAX], path[PATH_MAX], stream[PATH_MAX], doc[PATH_MAX];
    tu_golden_path(golden, sizeof golden, "shared-Q4_0.gguf");
    static const char mine[] = "a file ggperf did not create";
    struct proc *p = malloc(sizeof *p);

    /* logits -o */
    snprintf(path, sizeof path, "%s/user.f32", dir);
    ck_assert_int_eq(tu_write_file(path, mine, sizeof mine), 0);
    const char *logits[] = { tu_ggperf_bin(), "logits", "-m", golden, "--tokens", "1,2", "-t", "1", "-o", path,
                             NULL, NULL };
    spawn(logits, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, path) && strstr(p->err, "--force"), "%d %s", p->status, p->err);
    ck_assert(same_bytes(path, mine, sizeof mine));
    logits[10] = "--force";
    spawn(logits, NULL, p);
    ck_assert_msg(p->status == 0, "%s", p->err);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 2 * 1024 * 4);
    ck_assert_int_eq(count_prefixed(dir, "user.f32"), 1);

    /* synth -o */
    snprintf(path, sizeof path, "%s/user.gguf", dir);
    ck_assert_int_eq(tu_write_file(path, mine, sizeof mine), 0);
    const char *synth[] = { tu_ggperf_bin(), "synth", "--shape", "tiny", "--type", "Q4_0", "-o", path, NULL };
    spawn(synth, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, "--force"), "%d %s", p->status, p->err);
    ck_assert(same_bytes(path, mine, sizeof mine));

    /* run --out, --stream and the STREAM.json document */
    snprintf(path, sizeof path, "%s/user.md", dir);
    snprintf(stream, sizeof stream, "%s/s.jsonl", dir);
    ck_assert_int_eq(tu_write_file(path, mine, sizeof mine), 0);
    const char *run[] = { tu_ggperf_bin(), "run", "sleep", "--us", "1", "-r", "1", "--warmup", "0", "--stream",
                          stream, "--out", path, NULL, NULL };
    spawn(run, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, path) && strstr(p->err, "--force"), "%d %s", p->status, p->err);
    ck_assert(same_bytes(path, mine, sizeof mine));
    ck_assert_int_eq(access(stream, F_OK), -1); /* refused before the sweep */
    snprintf(doc, sizeof doc, "%s/s.json", dir);
    ck_assert_int_eq(tu_write_file(doc, mine, sizeof mine), 0);
    run[11] = NULL; /* no --out: the document alone */
    spawn(run, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, doc) && strstr(p->err, "--force"), "%d %s", p->status, p->err);
    ck_assert(same_bytes(doc, mine, sizeof mine));
    ck_assert_int_eq(access(stream, F_OK), -1);
    run[11] = "--out";
    run[13] = "--force";
    spawn(run, NULL, p);
    ck_assert_msg(p->status == 0, "%s", p->err);
    ck_assert(!same_bytes(path, mine, sizeof mine));
    ck_assert(!same_bytes(doc, mine, sizeof mine));
    /* a new sweep never reuses a stream; a resumed one rewrites its own document */
    spawn(run, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, "--resume"), "%d %s", p->status, p->err);
    const char *resume[] = { tu_ggperf_bin(), "run", "--resume", stream, NULL };
    spawn(resume, NULL, p);
    ck_assert_msg(p->status == 0, "%s", p->err);

    /* import -o: a valid input is imported into a new file, an existing one is kept */
    char bench[PATH_MAX];
    static const char bench_json[] =
        "[{\"model\": \"m.gguf\", \"kernels\": \"avx2\", \"test\": \"tg4\", \"threads\": 1, \"n_tokens\": 4, "
        "\"tokens_per_s\": 10.0, \"stddev\": 0.1, \"median\": 10.0, \"samples\": [9.9, 10.1]}]\n";
    snprintf(bench, sizeof bench, "%s/bench.json", dir);
    ck_assert_int_eq(tu_write_file(bench, bench_json, strlen(bench_json)), 0);
    snprintf(path, sizeof path, "%s/imported.json", dir);
    const char *import[] = { tu_ggperf_bin(), "import", "ggperf-bench", bench, "-o", path, NULL };
    spawn(import, NULL, p);
    ck_assert_msg(p->status == 0, "import of a valid file: %s", p->err);
    snprintf(path, sizeof path, "%s/user.json", dir);
    ck_assert_int_eq(tu_write_file(path, mine, sizeof mine), 0);
    spawn(import, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, "--force"), "import over %s: %d %s", path, p->status, p->err);
    ck_assert(same_bytes(path, mine, sizeof mine));
    free(p);
}
END_TEST

Suite *harden_cli_suite(void)
{
    Suite *s = suite_create("harden_cli");
    TCase *tl = tcase_create("limits");
    tcase_set_timeout(tl, 120);
    tcase_add_test(tl, test_cli_rejects_bad_flags_and_numbers);
    tcase_add_test(tl, test_outputs_never_overwrite_without_force);
    suite_add_tcase(s, tl);
    return s;
}
