/* request — parse the body of an OpenAI-style POST /v1/completions.
 *
 * A library function (no I/O, no globals) so the server, the tests and a
 * libFuzzer target (fuzz/fuzz_request.c) all run the same code. Accepted:
 *   {"prompt": "text" | [ids...] | ["text"] | [[ids...]],
 *    "max_tokens": N, "temperature": T, "top_p": P, "top_k": K,
 *    "seed": S, "stream": bool, "n": 1, "model": "...", "ignore_eos": bool}
 * Unknown keys are ignored, as OpenAI's own server ignores fields it does
 * not use; a known key with the wrong type or range is an error naming it.
 */
#ifndef GGPERF_SERVE_REQUEST_H
#define GGPERF_SERVE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum serve_req_err {
    SERVE_REQ_OK = 0,
    SERVE_REQ_EJSON = -1,     /* not JSON, or not an object (HTTP 400) */
    SERVE_REQ_EFIELD = -2,    /* a field missing, of the wrong type or out of range (400) */
    SERVE_REQ_ETOOLONG = -3,  /* the prompt has more tokens than the context (400) */
    SERVE_REQ_ENOMEM = -4,    /* (500) */
};

struct serve_limits {
    int n_vocab;              /* token ids must be < n_vocab */
    int max_prompt_tokens;    /* a token prompt longer than this: SERVE_REQ_ETOOLONG */
    int max_tokens_cap;       /* largest max_tokens accepted */
    int default_max_tokens;   /* when the body has none (OpenAI: 16) */
};

struct serve_req {
    char *text;               /* prompt as text (malloc, NUL-terminated), or NULL */
    size_t text_len;
    int32_t *tokens;          /* prompt as ids (malloc), or NULL */
    int n_tokens;
    int max_tokens;
    float temperature;        /* default 1 (OpenAI); <= 0 greedy */
    float top_p;              /* default 1 (off) */
    int top_k;                /* default 0 (off) */
    uint64_t seed;            /* default 0 */
    bool stream;
    bool ignore_eos;          /* llama.cpp's extension: generate max_tokens whatever is sampled */
};

/* Parse body[0..len) (need not be NUL-terminated). On success fills out
 * (release it with serve_req_release); on error out is empty and err says
 * what and where (the JSON line and column, or the field). */
int serve_req_parse(const char *body, size_t len, const struct serve_limits *lim, struct serve_req *out,
                    char *err, size_t err_len);

/* Free what a parse allocated; NULL and an empty request do nothing. */
void serve_req_release(struct serve_req *r);

/* Append s[0..n) to out as a JSON string body (quotes not included):
 * escapes ", \ and control bytes, replaces invalid UTF-8 with U+FFFD (a
 * token may end inside a multi-byte character). Writes at most cap bytes;
 * returns the full length it needs (snprintf style). */
size_t serve_json_escape(const char *s, size_t n, char *out, size_t cap);

#endif
