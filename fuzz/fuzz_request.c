/* fuzz_request — libFuzzer target for the completions request parser
 * (serve/request.c) and the JSON string escaper the server writes tokens
 * with.
 *
 * Invariants, checked with __builtin_trap(): a refused body leaves a
 * one-line message and no allocations in the request; an accepted one has
 * a prompt (text, or 1..max_prompt_tokens ids each < n_vocab), max_tokens
 * within 1..cap, temperature and top_p in range. The escaper's output for
 * the same bytes, in quotes, is always a valid JSON string (jansson parses
 * it, NUL bytes allowed as \u0000), and asking for the length first gives
 * the same length.
 *
 * Built and run by scripts/fuzz.sh; tests/test_harden_fuzz_request.c feeds
 * the seeds and past findings through it in `make test`.
 * fuzz-build: serve/request.c -ljansson
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct serve_limits lim = { .n_vocab = 1024, .max_prompt_tokens = 64, .max_tokens_cap = 512,
                                .default_max_tokens = 16 };
    struct serve_req r;
    char err[512];
    err[0] = '\0';
    int rc = serve_req_parse((const char *)data, size, &lim, &r, err, sizeof err);
    if (rc != SERVE_REQ_OK) {
        if (!err[0] || strchr(err, '\n') || r.text || r.tokens)
            __builtin_trap();
    } else {
        if (!r.text == !r.tokens)
            __builtin_trap();
        if (r.text && (r.text_len == 0 || r.text[r.text_len] != '\0'))
            __builtin_trap();
        if (r.tokens && (r.n_tokens < 1 || r.n_tokens > lim.max_prompt_tokens))
            __builtin_trap();
        for (int i = 0; r.tokens && i < r.n_tokens; i++)
            if (r.tokens[i] < 0 || r.tokens[i] >= lim.n_vocab)
                __builtin_trap();
        if (r.max_tokens < 1 || r.max_tokens > lim.max_tokens_cap || !(r.temperature >= 0) ||
            !(r.top_p > 0 && r.top_p <= 1))
            __builtin_trap();
    }
    serve_req_release(&r);

    size_t need = serve_json_escape((const char *)data, size, NULL, 0);
    char *buf = malloc(need + 2);
    if (!buf)
        return 0;
    buf[0] = '"';
    if (serve_json_escape((const char *)data, size, buf + 1, need) != need)
        __builtin_trap();
    buf[need + 1] = '"';
    json_error_t je;
    json_t *v = json_loadb(buf, need + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v || !json_is_string(v))
        __builtin_trap();
    json_decref(v);
    free(buf);
    return 0;
}
