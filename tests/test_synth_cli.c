/* synth_cli suite: `ggperf synth` as a user runs it: it refuses to
 * overwrite, names bad flags, writes the library's bytes, --dry-run writes
 * nothing, custom dimensions reach the file, and no temporary file is left,
 * also after a SIGINT. Split from the synth suite (tests/test_synth.c);
 * shared helpers in tests/synth_util.h. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "modelgen/synth.h"
#include "tests/synth_util.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------ */
/* the CLI                                                              */

static int run_cmd(const char *args, char *out, size_t out_len, char *errb, size_t err_len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s synth %s", tu_ggperf_bin(), args);
    return tu_run(cmd, out, out_len, errb, err_len);
}

START_TEST(test_cli)
{
    const char *dir = tu_tmpdir();
    char args[1024], out[4096], errb[4096], path[256];
    snprintf(path, sizeof path, "%s/c.gguf", dir);

    ck_assert_int_eq(run_cmd("--help", out, sizeof out, NULL, 0), 0);
    ck_assert(strstr(out, "usage: ggperf synth") != NULL);
    ck_assert_int_eq(run_cmd("--list-shapes", out, sizeof out, NULL, 0), 0);
    ck_assert(strstr(out, "tiny") && strstr(out, "110m") && strstr(out, "1.1b"));

    snprintf(args, sizeof args, "--shape tiny --type Q4_K_M -o %s", path);
    int rc = run_cmd(args, out, sizeof out, errb, sizeof errb);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
    ck_assert_msg(strstr(out, "wrote") != NULL, "%s", out);
    ck_assert_msg(errb[0] == '\0', "stderr not empty when not a tty: %s", errb);
    size_t len1;
    uint8_t *first = tu_read_file(path, &len1);
    ck_assert_ptr_nonnull(first);

    /* Exists: exit 1, names --force, file untouched. */
    snprintf(args, sizeof args, "--shape tiny --type Q4_0 -o %s", path);
    rc = run_cmd(args, NULL, 0, errb, sizeof errb);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(errb, "--force") != NULL, "%s", errb);
    size_t len2;
    uint8_t *second = tu_read_file(path, &len2);
    ck_assert(second && len1 == len2 && memcmp(first, second, len1) == 0);
    free(second);
    snprintf(args, sizeof args, "--shape tiny --type Q4_0 --force -o %s", path);
    ck_assert_int_eq(run_cmd(args, NULL, 0, errb, sizeof errb), 0);
    second = tu_read_file(path, &len2);
    ck_assert(second && memcmp(first, second, len1 < len2 ? len1 : len2) != 0);
    free(second);
    free(first);

    /* The CLI and the library write the same bytes. */
    snprintf(args, sizeof args, "--shape tiny --type IQ4_XS --pure --seed 7 --force -o %s", path);
    ck_assert_int_eq(run_cmd(args, NULL, 0, errb, sizeof errb), 0);
    char lib[256];
    snprintf(lib, sizeof lib, "%s/lib.gguf", dir);
    struct synth_spec s;
    tiny_spec(&s, "IQ4_XS", true);
    s.seed = 7;
    write_ok(&s, lib, 0);
    first = tu_read_file(path, &len1);
    second = tu_read_file(lib, &len2);
    ck_assert(first && second && len1 == len2 && memcmp(first, second, len1) == 0);
    free(first);
    free(second);
    unlink(lib);

    /* Usage errors: exit 2, the message names the flag. */
    static const struct {
        const char *args, *flag;
    } bad[] = {
        { "--shape tiny --type Q4_0 --n-head 5", "--n-head" },
        { "--shape tiny --type Q4_0 --n-head-kv 3", "--n-head-kv" },
        { "--shape tiny --type Q4_K --n-embd 288", "--n-embd" },
        { "--shape tiny --type Q4_K_M --n-ff 1000", "--n-ff" },
        { "--shape tiny --type Q4_0 --n-vocab 100", "--n-vocab" },
        { "--shape tiny --type Q4_0 --n-layer 0", "--n-layer" },
        { "--shape tiny --type Q4_0 --n-ctx abc", "--n-ctx" },
        { "--shape tiny --type Q4_0 --rope-base -1", "--rope-base" },
        { "--shape tiny --type Q4_0 --seed x", "--seed" },
        { "--shape tiny --type Q7", "--type" },
        { "--shape huge --type Q4_0", "--shape" },
        { "--type Q4_0", "--shape" },
        { "--shape tiny", "--type" },
        { "--shape tiny --type Q4_0", "-o" },
        { "--shape tiny --type Q4_0 --bogus", "--bogus" },
        { "--shape tiny --type Q4_0 --n-embd", "--n-embd" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a = bad[i].args;
        rc = run_cmd(a, NULL, 0, errb, sizeof errb);
        ck_assert_msg(rc == 2, "'%s': exit %d (want 2): %s", a, rc, errb);
        ck_assert_msg(strstr(errb, bad[i].flag) != NULL, "'%s': message lacks %s: %s", a, bad[i].flag, errb);
    }

    /* --dry-run writes nothing and prints the plan. */
    char dry[256];
    snprintf(dry, sizeof dry, "%s/dry.gguf", dir);
    snprintf(args, sizeof args, "--shape 1.1b --type Q4_K_M --dry-run -o %s", dry);
    char *big = malloc(1 << 16);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(run_cmd(args, big, 1 << 16, NULL, 0), 0);
    ck_assert_msg(strstr(big, "blk.21.ffn_up.weight") && strstr(big, "file "), "%s", big);
    free(big);
    ck_assert_int_ne(access(dry, F_OK), 0);

    /* Custom dimensions reach the file. */
    snprintf(args, sizeof args, "--shape tiny --type Q8_0 --n-layer 3 --n-vocab 300 --n-ctx 64 --force -o %s", path);
    ck_assert_int_eq(run_cmd(args, NULL, 0, errb, sizeof errb), 0);
    struct loaded l;
    load(&l, path);
    ck_assert_uint_eq(get_u64(&l.g, "llama.block_count"), 3);
    ck_assert_uint_eq(get_u64(&l.g, "llama.context_length"), 64);
    struct gguf_array toks;
    ck_assert_int_eq(gguf_get_arr(&l.g, "tokenizer.ggml.tokens", &toks, NULL, 0), GGUF_OK);
    ck_assert_uint_eq(toks.count, 300);
    ck_assert_ptr_nonnull(gguf_find_tensor(&l.g, "blk.2.ffn_up.weight"));
    unload(&l);

    unlink(path);
    assert_no_tmp(dir);
    rmdir(dir);
}
END_TEST

/* SIGINT while writing: either it finished (exit 0, a complete file) or it
 * stopped (exit 1, no file); never a temporary file left behind. */
START_TEST(test_cli_interrupt)
{
    const char *dir = tu_tmpdir();
    char cmd[1024], out[256], path[256];
    snprintf(path, sizeof path, "%s/i.gguf", dir);
    snprintf(cmd, sizeof cmd, "%s synth --shape 110m --type F16 -o %s & pid=$!; sleep 0.3; kill -INT $pid; "
             "wait $pid; echo $?", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    int rc = atoi(out);
    if (rc == 0) {
        struct loaded l;
        load(&l, path);
        unload(&l);
        unlink(path);
    } else {
        ck_assert_int_eq(rc, 1);
        ck_assert_int_ne(access(path, F_OK), 0);
    }
    assert_no_tmp(dir);
    rmdir(dir);
}
END_TEST

Suite *synth_cli_suite(void)
{
    Suite *s = suite_create("synth_cli");
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, test_cli);
    tcase_add_test(cli, test_cli_interrupt);
    suite_add_tcase(s, cli);
    return s;
}
