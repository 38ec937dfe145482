/* test_install — `make install` into a temporary DESTDIR and use the
 * installed copy as a user would, from another directory with a bare
 * environment: ggperf info on a golden model, the man page through man -l,
 * the bash completion, the example program built with pkg-config against
 * the installed engine library (its top logit against llama.cpp's golden
 * logits), then `make uninstall` and nothing may be left. Also `make deb`:
 * the package's Depends names the libraries the binaries link.
 *
 * The make runs use the build under test (GGPERF_BUILD, and the sanitizer
 * of this binary's own build flags), so under `make asan` nothing is
 * rebuilt without the sanitizer. */
#include <check.h>
#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/machine/buildinfo.h"
#include "tests/testutil.h"

#define PFX "/usr/local"

enum { P = 1024, CMD = 16384 }; /* path and command buffer sizes */

static char repo[P];
static char make_vars[P + 256]; /* BUILD=... SAN=... */
static char san_cflags[256];           /* -fsanitize=... for the example, when this build has it */
static char version[64];               /* the VERSION file */

/* The source tree (tests run from its root) and the make variables that
 * select the build under test. */
static void setup_paths(void)
{
    ck_assert_ptr_nonnull(getcwd(repo, sizeof repo));
    char mk[P + 16];
    snprintf(mk, sizeof mk, "%s/Makefile", repo);
    ck_assert_msg(access(mk, R_OK) == 0, "tests must run from the source root (no %s)", mk);
    snprintf(mk, sizeof mk, "%s/VERSION", repo);
    FILE *vf = fopen(mk, "r");
    ck_assert_msg(vf, "no %s", mk);
    ck_assert_int_eq(fscanf(vf, "%63s", version), 1);
    fclose(vf);
    const char *build = getenv("GGPERF_BUILD");
    const char *san = strstr(buildinfo_cflags, "-fsanitize=");
    char san_val[128] = "";
    if (san)
        sscanf(san + strlen("-fsanitize="), "%127[^ ]", san_val);
    snprintf(make_vars, sizeof make_vars, "%s%s SAN=%s", build ? "BUILD=" : "", build ? build : "", san_val);
    snprintf(san_cflags, sizeof san_cflags, "%s%s", san_val[0] ? "-fsanitize=" : "", san_val);
}

/* make TARGET in the source tree with this build's variables. MAKEFLAGS of
 * an outer make (jobserver descriptors) are dropped. */
static int run_make(const char *target, const char *dest, char *err, size_t err_len)
{
    char cmd[CMD];
    snprintf(cmd, sizeof cmd, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C '%s' %s PREFIX=" PFX " DESTDIR='%s' %s",
             repo, make_vars, dest, target);
    return tu_run(cmd, NULL, 0, err, err_len);
}

/* Run cmd in dir with a bare environment (nothing pointing at the source
 * tree); returns the exit status. */
static int run_in(const char *dir, const char *cmd, char *out, size_t out_len, char *err, size_t err_len)
{
    char full[CMD + 4 * P];
    snprintf(full, sizeof full, "cd '%s' && env -i PATH=/usr/bin:/bin HOME='%s' LC_ALL=C %s", dir, dir, cmd);
    return tu_run(full, out, out_len, err, err_len);
}

/* What the completion function offers for the words (the last is completed). */
static void complete(const char *dest, const char *work, const char *words, char *out, size_t out_len)
{
    char cmd[CMD], err[1024];
    snprintf(cmd, sizeof cmd,
             "bash -c 'source %s" PFX "/share/bash-completion/completions/ggperf; COMP_WORDS=(%s); "
             "COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _ggperf; echo \"${COMPREPLY[*]}\"'",
             dest, words);
    ck_assert_int_eq(run_in(work, cmd, out, out_len, err, sizeof err), 0);
    out[strcspn(out, "\n")] = '\0';
}

START_TEST(test_install_use_uninstall)
{
    setup_paths();
    char dest[P], work[P], cmd[CMD], path[2 * P], err[8192];
    static char out[1 << 16];
    snprintf(dest, sizeof dest, "%s/dest", tu_tmpdir());
    snprintf(work, sizeof work, "%s", tu_tmpdir());

    ck_assert_msg(run_make("install", dest, err, sizeof err) == 0, "make install: %s", err);

    /* The golden F32 model, copied out of the tree. */
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/model.gguf'", tu_golden_path(path, sizeof path, "shared-F32.gguf"), work);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 0);

    /* ggperf info and version, installed, from elsewhere. */
    snprintf(cmd, sizeof cmd, "%s" PFX "/bin/ggperf info model.gguf", dest);
    ck_assert_msg(run_in(work, cmd, out, sizeof out, err, sizeof err) == 0, "installed info: %s", err);
    ck_assert_ptr_nonnull(strstr(out, "tensors:       21"));
    ck_assert_ptr_nonnull(strstr(out, "\"llama\""));
    snprintf(cmd, sizeof cmd, "%s" PFX "/bin/ggperf version", dest);
    ck_assert_int_eq(run_in(work, cmd, out, sizeof out, err, sizeof err), 0);
    /* The release from the VERSION file and a commit; the same lines as the
     * binary under test prints (install copies it: make test does not
     * rebuild between, but a tree edited meanwhile may). */
    char want[256];
    snprintf(want, sizeof want, "ggperf %s (commit ", version);
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "version printed '%s', wanted '%s...'", out, want);
    ck_assert_msg(isdigit((unsigned char)version[0]) && strchr(version, '.'), "'%s' is not a semantic version", version);
    const char *commit = out + strlen(want);
    ck_assert_msg(isxdigit((unsigned char)commit[0]) || strncmp(commit, "unknown", 7) == 0, "no commit in '%s'", out);
    static char built[4096];
    snprintf(cmd, sizeof cmd, "%s version", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, built, sizeof built, NULL, 0), 0);
    /* the last line, the cache directory, depends on the environment (the
     * installed copy runs with a bare one): compare what the build says */
    char *c1 = strstr(out, "\ncache: "), *c2 = strstr(built, "\ncache: ");
    ck_assert_msg(c1 && c2, "no cache line: '%s' / '%s'", out, built);
    c1[1] = c2[1] = '\0';
    ck_assert_str_eq(out, built);

    /* A results file written by the installed copy records both. */
    snprintf(cmd, sizeof cmd, "%s" PFX "/bin/ggperf run sleep --us 100 -r 1 --warmup 0 --stream s.jsonl", dest);
    ck_assert_msg(run_in(work, cmd, NULL, 0, err, sizeof err) == 0, "installed run: %s", err);
    snprintf(path, sizeof path, "%s/s.json", work);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    ck_assert_msg(doc, "%s: %s", path, jerr.text);
    json_t *b = json_object_get(json_object_get(doc, "environment"), "build");
    ck_assert_str_eq(json_string_value(json_object_get(b, "version")), version);
    const char *rc_commit = json_string_value(json_object_get(b, "commit"));
    ck_assert_msg(rc_commit && strncmp(commit, rc_commit, strlen(rc_commit)) == 0, "results commit '%s' vs '%s'",
                  rc_commit ? rc_commit : "(none)", commit);
    json_decref(doc);

    /* The man page: a section per command, holding that command's --help. */
    snprintf(cmd, sizeof cmd, "MANWIDTH=100 man -l %s" PFX "/share/man/man1/ggperf.1", dest);
    ck_assert_msg(run_in(work, cmd, out, sizeof out, err, sizeof err) == 0, "man -l: %s", err);
    static const char *const sections[] = { "GGPERF INFO", "GGPERF BENCH", "GGPERF RUN", "GGPERF GATE",
                                            "GGPERF COMPLETION", "EXIT STATUS" };
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
        ck_assert_msg(strstr(out, sections[i]), "man page has no section '%s'", sections[i]);
    ck_assert_ptr_nonnull(strstr(out, "usage: ggperf info MODEL.gguf [--json]"));

    /* Completion: commands, a workload, an axis value in a list, a flag. */
    complete(dest, work, "ggperf ru", out, sizeof out);
    ck_assert_str_eq(out, "run");
    complete(dest, work, "ggperf run conte", out, sizeof out); /* contention and contention_calib */
    ck_assert_str_eq(out, "contention contention_calib");
    complete(dest, work, "ggperf run meta", out, sizeof out);
    ck_assert_str_eq(out, "metadata");
    complete(dest, work, "ggperf run load --load read,mm", out, sizeof out);
    ck_assert_str_eq(out, "read,mmap");
    complete(dest, work, "ggperf bench --threa", out, sizeof out);
    ck_assert_str_eq(out, "--threads");
    complete(dest, work, "ggperf synth --shape ti", out, sizeof out);
    ck_assert_str_eq(out, "tiny");
    complete(dest, work, "ggperf run decode --ker", out, sizeof out);
    ck_assert_str_eq(out, "--kernels");

    /* pkg-config carries the library and libc/libm/pthreads only. */
    char pc_env[2 * P + 128];
    snprintf(pc_env, sizeof pc_env, "PKG_CONFIG_PATH=%s" PFX "/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s", dest, dest);
    snprintf(cmd, sizeof cmd, "%s pkg-config --libs ggperf-engine", pc_env);
    ck_assert_msg(run_in(work, cmd, out, sizeof out, err, sizeof err) == 0, "pkg-config: %s", err);
    for (char *save = NULL, *tok = strtok_r(out, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
        ck_assert_msg(strncmp(tok, "-L", 2) == 0 || strcmp(tok, "-lggperf-engine") == 0 || strcmp(tok, "-lm") == 0 ||
                          strcmp(tok, "-pthread") == 0,
                      "ggperf-engine.pc links '%s'", tok);

    /* The example, built against the installed copy only. */
    snprintf(cmd, sizeof cmd,
             "cc -std=c17 -Wall -Werror -o top_logit %s" PFX "/share/doc/ggperf/top_logit.c "
             "$(%s pkg-config --cflags --libs ggperf-engine) %s",
             dest, pc_env, san_cflags);
    ck_assert_msg(run_in(work, cmd, out, sizeof out, err, sizeof err) == 0, "building the example: %s", err);

    /* Its top logit after the golden token sequence vs llama.cpp's. */
    json_t *meta = json_load_file(tu_golden_path(path, sizeof path, "shared-F32.json"), 0, &jerr);
    ck_assert_msg(meta, "shared-F32.json: %s", jerr.text);
    json_t *toks = json_object_get(meta, "tokens");
    int n_vocab = (int)json_integer_value(json_object_get(meta, "n_vocab"));
    ck_assert(json_array_size(toks) > 0 && n_vocab > 0);
    int len = snprintf(cmd, sizeof cmd, "./top_logit model.gguf");
    for (size_t i = 0; i < json_array_size(toks); i++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %lld", json_integer_value(json_array_get(toks, i)));
    ck_assert_msg(run_in(work, cmd, out, sizeof out, err, sizeof err) == 0, "top_logit: %s", err);
    int top = -1;
    double logit = NAN;
    ck_assert_msg(sscanf(out, "top %d logit %lf", &top, &logit) == 2, "top_logit printed '%s'", out);

    size_t bytes;
    float *ref = tu_read_file(tu_golden_path(path, sizeof path, "shared-F32.logits.f32"), &bytes);
    size_t n_tok = json_array_size(toks);
    ck_assert_uint_eq(bytes, n_tok * (size_t)n_vocab * sizeof(float));
    const float *last = ref + (n_tok - 1) * (size_t)n_vocab;
    int ref_top = 0;
    for (int i = 1; i < n_vocab; i++)
        if (last[i] > last[ref_top])
            ref_top = i;
    ck_assert_int_eq(top, ref_top);
    /* F32 model, F16 KV cache: 3e-3 (tests/golden/README.md) */
    ck_assert_msg(fabs(logit - last[ref_top]) <= 3e-3, "top logit %.6f, llama.cpp %.6f", logit, last[ref_top]);
    free(ref);
    json_decref(meta);

    /* Uninstall: no file left, and ggperf's own folders gone. */
    ck_assert_msg(run_make("uninstall", dest, err, sizeof err) == 0, "make uninstall: %s", err);
    snprintf(cmd, sizeof cmd, "find '%s' ! -type d", dest);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_msg(out[0] == '\0', "left after make uninstall:\n%s", out);
    struct stat st;
    snprintf(path, sizeof path, "%s" PFX "/include/ggperf", dest);
    ck_assert_msg(stat(path, &st) != 0, "%s left after make uninstall", path);
    snprintf(path, sizeof path, "%s" PFX "/share/doc/ggperf", dest);
    ck_assert_msg(stat(path, &st) != 0, "%s left after make uninstall", path);
}
END_TEST

/* make deb: a package whose Depends names the runtime libraries the
 * binaries link, holding the binaries, the man page and the library. */
START_TEST(test_deb)
{
    setup_paths();
    char err[8192], cmd[CMD];
    static char out[1 << 16];
    ck_assert_msg(run_make("deb", "", err, sizeof err) == 0, "make deb: %s", err);
    const char *build = getenv("GGPERF_BUILD") ? getenv("GGPERF_BUILD") : "build";
    snprintf(cmd, sizeof cmd, "cd '%s' && deb=$(ls -t %s/ggperf_%s_*.deb | head -1) && dpkg-deb -f \"$deb\" Version Depends",
             repo, build, version);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "dpkg-deb -f: %s", err);
    char want[128];
    snprintf(want, sizeof want, "Version: %s\n", version);
    ck_assert_msg(strstr(out, want), "control: %s", out);
    static const char *const libs[] = { "libpfm4", "libjansson4", "libsqlite3-0", "libopenblas", "libbenchmark1",
                                        "libc6" };
    for (size_t i = 0; i < sizeof libs / sizeof *libs; i++)
        ck_assert_msg(strstr(out, libs[i]), "Depends lacks %s: %s", libs[i], out);
    snprintf(cmd, sizeof cmd, "cd '%s' && dpkg-deb -c $(ls -t %s/ggperf_%s_*.deb | head -1)", repo, build, version);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    static const char *const files[] = { "./usr/bin/ggperf\n", "./usr/bin/ggperf-microbench\n",
                                         "./usr/share/man/man1/ggperf.1\n", "./usr/lib/libggperf-engine.a\n",
                                         "./usr/lib/pkgconfig/ggperf-engine.pc\n",
                                         "./usr/include/ggperf/engine/infer.h\n",
                                         "./usr/share/bash-completion/completions/ggperf\n" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        ck_assert_msg(strstr(out, files[i]), "the package lacks %s", files[i]);
}
END_TEST

Suite *install_suite(void)
{
    Suite *s = suite_create("install");
    TCase *tc = tcase_create("install");
    tcase_add_test(tc, test_install_use_uninstall);
    tcase_add_test(tc, test_deb);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}
