/* request — the /v1/completions body parser (see request.h), on jansson. */
#include "serve/request.h"
#include "base/err.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void serve_req_release(struct serve_req *r)
{
    if (!r)
        return;
    free(r->text);
    free(r->tokens);
    r->text = NULL;
    r->tokens = NULL;
    r->n_tokens = 0;
    r->text_len = 0;
}

/* A JSON number as a double, or NAN when it is not one. */
static double num(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static int parse_prompt(const json_t *p, const struct serve_limits *lim, struct serve_req *out, char *err,
                        size_t err_len)
{
    /* A one-element list of prompts is the same as the prompt. */
    if (json_is_array(p) && json_array_size(p) == 1 &&
        (json_is_string(json_array_get(p, 0)) || json_is_array(json_array_get(p, 0))))
        p = json_array_get(p, 0);
    if (json_is_string(p)) {
        size_t n = json_string_length(p);
        if (n == 0)
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "prompt: empty text");
        out->text = malloc(n + 1);
        if (!out->text)
            return err_fail(err, err_len, SERVE_REQ_ENOMEM, "prompt: out of memory for %zu bytes", n);
        memcpy(out->text, json_string_value(p), n);
        out->text[n] = '\0';
        out->text_len = n;
        return SERVE_REQ_OK;
    }
    if (!json_is_array(p))
        return err_fail(err, err_len, SERVE_REQ_EFIELD, "prompt: expected a string or an array of token ids");
    size_t n = json_array_size(p);
    if (n == 0)
        return err_fail(err, err_len, SERVE_REQ_EFIELD, "prompt: empty token list");
    if (n > (size_t)lim->max_prompt_tokens)
        return err_fail(err, err_len, SERVE_REQ_ETOOLONG, "prompt: %zu tokens, the context holds %d", n,
                    lim->max_prompt_tokens);
    out->tokens = malloc(n * sizeof *out->tokens);
    if (!out->tokens)
        return err_fail(err, err_len, SERVE_REQ_ENOMEM, "prompt: out of memory for %zu tokens", n);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(p, i);
        if (!json_is_integer(v))
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "prompt[%zu]: expected a token id (integer)", i);
        json_int_t id = json_integer_value(v);
        if (id < 0 || id >= lim->n_vocab)
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "prompt[%zu]: token id %lld outside 0..%d", i,
                        (long long)id, lim->n_vocab - 1);
        out->tokens[i] = (int32_t)id;
    }
    out->n_tokens = (int)n;
    return SERVE_REQ_OK;
}

static int parse_fields(const json_t *root, const struct serve_limits *lim, struct serve_req *out, char *err,
                        size_t err_len)
{
    const json_t *p = json_object_get(root, "prompt");
    if (!p)
        return err_fail(err, err_len, SERVE_REQ_EFIELD, "prompt: missing");
    int rc = parse_prompt(p, lim, out, err, err_len);
    if (rc)
        return rc;
    const json_t *v;
    if ((v = json_object_get(root, "max_tokens")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > lim->max_tokens_cap)
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "max_tokens: expected an integer in 1..%d",
                        lim->max_tokens_cap);
        out->max_tokens = (int)json_integer_value(v);
    }
    if ((v = json_object_get(root, "temperature")) && !json_is_null(v)) {
        double t = num(v);
        if (!(t >= 0 && t <= 100))
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "temperature: expected a number in 0..100");
        out->temperature = (float)t;
    }
    if ((v = json_object_get(root, "top_p")) && !json_is_null(v)) {
        double t = num(v);
        if (!(t > 0 && t <= 1))
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "top_p: expected a number in (0, 1]");
        out->top_p = (float)t;
    }
    if ((v = json_object_get(root, "top_k")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > lim->n_vocab)
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "top_k: expected an integer in 0..%d", lim->n_vocab);
        out->top_k = (int)json_integer_value(v);
    }
    if ((v = json_object_get(root, "seed")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "seed: expected a non-negative integer");
        out->seed = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(root, "stream")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "stream: expected true or false");
        out->stream = json_is_true(v);
    }
    if ((v = json_object_get(root, "ignore_eos")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "ignore_eos: expected true or false");
        out->ignore_eos = json_is_true(v);
    }
    if ((v = json_object_get(root, "n")) && !json_is_null(v))
        if (!json_is_integer(v) || json_integer_value(v) != 1)
            return err_fail(err, err_len, SERVE_REQ_EFIELD, "n: only 1 completion per request is supported");
    return SERVE_REQ_OK;
}

int serve_req_parse(const char *body, size_t len, const struct serve_limits *lim, struct serve_req *out,
                    char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    out->max_tokens = lim->default_max_tokens;
    out->temperature = 1.0f;
    out->top_p = 1.0f;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        /* jansson quotes the text near the error, which may hold a line
         * break or other control bytes: the message stays one line. */
        for (char *c = je.text; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7F)
                *c = ' ';
        return err_fail(err, err_len, SERVE_REQ_EJSON, "malformed JSON at line %d column %d: %s", je.line, je.column,
                    je.text);
    }
    int rc = json_is_object(root) ? parse_fields(root, lim, out, err, err_len)
                                  : err_fail(err, err_len, SERVE_REQ_EJSON, "the body must be a JSON object");
    json_decref(root);
    if (rc)
        serve_req_release(out);
    return rc;
}

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4, min = 0x10000;
    else
        return 0;
    if (n < need)
        return 0;
    unsigned cp = c & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

size_t serve_json_escape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
#define PUT(str, k)                                                                                           \
    do {                                                                                                      \
        for (size_t q_ = 0; q_ < (k); q_++, o++)                                                              \
            if (o < cap)                                                                                      \
                out[o] = (str)[q_];                                                                           \
    } while (0)
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            PUT(e, 2);
            i++;
        } else if (c == '\n') {
            PUT("\\n", 2);
            i++;
        } else if (c == '\r') {
            PUT("\\r", 2);
            i++;
        } else if (c == '\t') {
            PUT("\\t", 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            PUT(e, 6);
            i++;
        } else {
            size_t k = utf8_len(u + i, n - i);
            if (k == 0) {
                PUT("\xEF\xBF\xBD", 3);
                i++;
            } else {
                PUT(s + i, k);
                i += k;
            }
        }
    }
#undef PUT
    return o;
}
