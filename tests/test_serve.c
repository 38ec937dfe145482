/* serve suite: `ggperf serve` end to end with real clients (curl and
 * Python's http.client / sockets; tests/serve_client.py, one case per loop
 * iteration): health, completions and streaming, every bad-input answer
 * (400, 413, 404, 405), a full queue (503 + Retry-After), a client hanging
 * up mid-stream (its slot is freed), a stalled request timing out, SIGTERM
 * draining in-flight requests, /metrics, and loadgen's client timeout
 * against a stalling server. Every server case ends with SIGTERM
 * and requires exit status 0, so under make tsan a race report (exit 66)
 * fails it. Also the request parser's own refusals, in process. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine/buildinfo.h"
#include "serve/request.h"
#include "tests/testutil.h"

static const char *const cases[] = { "health_curl", "completion", "stream", "bad_input", "queue_full",
                                     "disconnect", "slow_request_timeout", "queued_outlives_timeout", "drain",
                                     "metrics", "loadgen_timeout" };
#define N_CASES (int)(sizeof cases / sizeof cases[0])

START_TEST(test_serve_case)
{
    char cmd[4096], out[4096], err[8192];
    bool san = strstr(buildinfo_cflags, "-fsanitize") != NULL;
    snprintf(cmd, sizeof cmd, "GGPERF_BIN='%s' GGPERF_GOLDEN='%s' GGPERF_SAN=%s python3 tests/serve_client.py %s",
             tu_ggperf_bin(), tu_golden_dir(), san ? "1" : "", cases[_i]);
    int rc = tu_run(cmd, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: exit %d: %s%s", cases[_i], rc, out, err);
    ck_assert_ptr_nonnull(strstr(out, "ok"));
}
END_TEST

/* The case list here and in the script agree (a case added there runs here). */
START_TEST(test_serve_case_list)
{
    char out[4096], err[1024];
    ck_assert_int_eq(tu_run("python3 tests/serve_client.py --list", out, sizeof out, err, sizeof err), 0);
    int n = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), n++) {
        bool found = false;
        for (int i = 0; i < N_CASES; i++)
            found |= strcmp(cases[i], line) == 0;
        ck_assert_msg(found, "serve_client.py case '%s' is not run by tests/test_serve.c", line);
    }
    ck_assert_int_eq(n, N_CASES);
}
END_TEST

static int parse(const char *body, struct serve_req *r, char *err, size_t len)
{
    struct serve_limits lim = { .n_vocab = 1024, .max_prompt_tokens = 8, .max_tokens_cap = 100,
                                .default_max_tokens = 16 };
    return serve_req_parse(body, strlen(body), &lim, r, err, len);
}

START_TEST(test_request_parser)
{
    struct serve_req r;
    char err[256];
    ck_assert_int_eq(parse("{\"prompt\":\"hi\",\"max_tokens\":5,\"stream\":true,\"seed\":3,\"temperature\":0}", &r,
                           err, sizeof err), SERVE_REQ_OK);
    ck_assert_str_eq(r.text, "hi");
    ck_assert_int_eq(r.max_tokens, 5);
    ck_assert(r.stream);
    ck_assert_uint_eq(r.seed, 3);
    ck_assert(r.temperature == 0.0f);
    serve_req_release(&r);
    ck_assert_int_eq(parse("{\"prompt\":[[1,2,3]],\"model\":\"x\",\"extra\":{}}", &r, err, sizeof err), 0);
    ck_assert_int_eq(r.n_tokens, 3);
    ck_assert_int_eq(r.tokens[2], 3);
    ck_assert_int_eq(r.max_tokens, 16);
    ck_assert(r.temperature == 1.0f);
    serve_req_release(&r);
    struct {
        const char *body, *needle;
        int code;
    } bad[] = {
        { "{\"prompt\":", "malformed JSON", SERVE_REQ_EJSON },
        { "[1]", "object", SERVE_REQ_EJSON },
        { "{}", "prompt: missing", SERVE_REQ_EFIELD },
        { "{\"prompt\":[]}", "empty", SERVE_REQ_EFIELD },
        { "{\"prompt\":[1,2,3,4,5,6,7,8,9]}", "9 tokens", SERVE_REQ_ETOOLONG },
        { "{\"prompt\":[1,1024]}", "prompt[1]", SERVE_REQ_EFIELD },
        { "{\"prompt\":[1,1.5]}", "prompt[1]", SERVE_REQ_EFIELD },
        { "{\"prompt\":\"a\",\"max_tokens\":0}", "max_tokens", SERVE_REQ_EFIELD },
        { "{\"prompt\":\"a\",\"max_tokens\":101}", "max_tokens", SERVE_REQ_EFIELD },
        { "{\"prompt\":\"a\",\"temperature\":\"hot\"}", "temperature", SERVE_REQ_EFIELD },
        { "{\"prompt\":\"a\",\"stream\":1}", "stream", SERVE_REQ_EFIELD },
        { "{\"prompt\":\"a\",\"n\":2}", "n:", SERVE_REQ_EFIELD },
        { "{\"prompt\":\"a\",\"prompt\":\"b\"}", "duplicate", SERVE_REQ_EJSON },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_int_eq(parse(bad[i].body, &r, err, sizeof err), bad[i].code);
        ck_assert_msg(strstr(err, bad[i].needle), "%s: message '%s' lacks '%s'", bad[i].body, err, bad[i].needle);
        ck_assert_ptr_null(r.text);
        ck_assert_ptr_null(r.tokens);
    }
    /* JSON escaping keeps output valid: quotes, controls, broken UTF-8. */
    char out[64];
    size_t n = serve_json_escape("a\"\n\x01\xC3", 5, out, sizeof out);
    ck_assert_uint_eq(n, strlen("a\\\"\\n\\u0001\xEF\xBF\xBD"));
    ck_assert(memcmp(out, "a\\\"\\n\\u0001\xEF\xBF\xBD", n) == 0);
}
END_TEST

/* A thread per connection costs the static TLS of everything the binary
 * links (glibc zeroes it for each new thread): at most 4 KiB in all, so
 * 1024 queued clients stay within the RSS bound. OpenBLAS alone brought
 * 60 KiB; workloads/matmul.c opens it at run time instead. The sanitizer
 * runtimes of make asan/tsan builds (libtsan: 768 KiB) are not shipped and
 * not counted. */
START_TEST(test_static_tls_small)
{
    char cmd[4096], out[8192], err[1024];
    snprintf(cmd, sizeof cmd,
             "b='%s'; for f in \"$b\" $(ldd \"$b\" | awk '$3 ~ /^\\// && $1 !~ /^lib(a|t|l|ub)san/ {print $3}'); do "
             "readelf -lW \"$f\" | awk -v f=\"$f\" '$1 == \"TLS\" {print $6, f}'; done",
             tu_ggperf_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    long total = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        total += strtol(line, NULL, 0); /* MemSiz, in hex */
    ck_assert_msg(total > 0, "no TLS segment found at all (libc has one): %s", out);
    ck_assert_msg(total <= 4096, "%ld bytes of static TLS per thread: %s", total, out);
}
END_TEST

Suite *serve_suite(void)
{
    Suite *s = suite_create("serve");
    TCase *tc = tcase_create("serve");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_request_parser);
    tcase_add_test(tc, test_serve_case_list);
    tcase_add_test(tc, test_static_tls_small);
    tcase_add_loop_test(tc, test_serve_case, 0, N_CASES);
    suite_add_tcase(s, tc);
    return s;
}
