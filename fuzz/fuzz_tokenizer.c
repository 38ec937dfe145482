/* libFuzzer target for engine/tokenizer: the input is text.
 *
 * 1. A fixed vocabulary (built in memory at start-up: specials, the 256 byte
 *    tokens, and pieces with spaces, multi-byte characters and overlapping
 *    merges), with and without the space prefix: encode, check every id and
 *    the count bound, check the truncated call agrees, decode every token on
 *    its own, and check decode(encode(s)) == s with U+2581 read as a space.
 * 2. A vocabulary made from the input itself (its lines, up to 64 pieces of
 *    up to 16 bytes, varied scores) plus the byte tokens: the same round trip,
 *    so merges run over pieces the fuzzer chooses.
 * For inputs up to 512 bytes the ids must also equal those of a naive
 * quadratic reference merge written here (rescan all pairs, merge the best,
 * leftmost on ties), which checks the heap and its stale-entry logic.
 * Any mismatch aborts.
 * The vocabulary file is written with the test GGUF fixture over the one
 * GGUF writer:
 * fuzz-build: tests/gguf_fixture.c modelgen/gguf_writer.c
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/tokenizer.h"
#include "tests/gguf_fixture.h"

struct piece {
    const uint8_t *text;
    size_t len;
    float score;
    int32_t type;
};

/* A metadata-only GGUF with the given pieces after <unk> <s> </s> and the
 * 256 byte tokens; add_space_prefix as given. */
static void build(struct gfx *b, const struct piece *extra, int n_extra, bool space_prefix)
{
    uint64_t n = 3 + 256 + (uint64_t)n_extra;
    gfx_init(b);
    gfx_header(b, 3, 0, 5);
    gfx_kv_str(b, "tokenizer.ggml.model", "llama");
    gfx_kv_arr_begin(b, "tokenizer.ggml.tokens", GGUF_VT_STRING, n);
    gfx_str(b, "<unk>");
    gfx_str(b, "<s>");
    gfx_str(b, "</s>");
    for (int i = 0; i < 256; i++) {
        char t[8];
        snprintf(t, sizeof t, "<0x%02X>", i);
        gfx_str(b, t);
    }
    for (int i = 0; i < n_extra; i++)
        gfx_str_n(b, extra[i].text, extra[i].len);
    gfx_kv_arr_begin(b, "tokenizer.ggml.scores", GGUF_VT_FLOAT32, n);
    for (uint64_t i = 0; i < n; i++)
        gfx_f32(b, i < 259 ? 0.0f : extra[i - 259].score);
    gfx_kv_arr_begin(b, "tokenizer.ggml.token_type", GGUF_VT_INT32, n);
    for (uint64_t i = 0; i < n; i++)
        gfx_u32(b, (uint32_t)(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : extra[i - 259].type));
    gfx_kv_bool(b, "tokenizer.ggml.add_space_prefix", space_prefix);
    gfx_pad(b, 32);
}

static struct tok *make_tok(const struct piece *extra, int n_extra, bool space_prefix)
{
    struct gfx b;
    build(&b, extra, n_extra, space_prefix);
    struct gguf g;
    char err[256];
    if (gguf_open_alloc(&g, b.buf, b.len, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_tokenizer: vocabulary does not open: %s\n", err);
        abort();
    }
    struct tok *t = tok_new(&g, NULL, NULL, err, sizeof err);
    gguf_close(&g);
    gfx_free(&b);
    if (!t) {
        fprintf(stderr, "fuzz_tokenizer: tok_new: %s\n", err);
        abort();
    }
    return t;
}

static struct tok *fixed_tok[2]; /* [0]: no space prefix, [1]: with */

#define P(s, score) { (const uint8_t *)(s), sizeof(s) - 1, score, 1 }
static const struct piece FIXED[] = {
    P("\xE2\x96\x81", -1), P("\xE2\x96\x81\xE2\x96\x81", -2), P("\xE2\x96\x81t", -3),
    P("\xE2\x96\x81th", -4), P("\xE2\x96\x81the", -5), P("th", -2), P("he", -2), P("the", -6),
    P("e", -9), P("h", -9), P("t", -9), P("a", -9), P("aa", -1), P("aaa", -1), P("aaaa", -1),
    P("in", -3), P("ing", -4), P("\xE2\x96\x81in", -5), P("n", -9), P("g", -9), P("i", -9),
    P("\xC3\xA9", -5), P("\xE2\x96\x81\xC3\xA9", -6), P("\xE6\x97\xA5", -7), P("\xE6\x9C\xAC", -7),
    P("\xE6\x97\xA5\xE6\x9C\xAC", -3), P("\xF0\x9F\x98\x80", -8), P("\n", -4), P("\n\n", -4),
    P("0", -9), P("1", -9), P("01", -1), P("10", -1), P("<", -9), P("s", -9), P(">", -9),
    P("<s", -1), P("\xE2\x96", -1), P("\x96\x81", -1),
    { (const uint8_t *)"<s>", 3, -1, 3 }, /* a control duplicate: never produced from text */
    { (const uint8_t *)"x", 1, -1, 5 },   /* unused: mergeable */
    { (const uint8_t *)"xy", 2, -1, 4 },  /* user-defined: mergeable */
    P("y", -9),
};
#undef P

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int n = (int)(sizeof FIXED / sizeof FIXED[0]);
    fixed_tok[0] = make_tok(FIXED, n, false);
    fixed_tok[1] = make_tok(FIXED, n, true);
    return 0;
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", what);
        abort();
    }
}

/* --- a naive reference encoder ------------------------------------------ */

struct vocab_view {
    const struct piece *extra;
    int n_extra;
    bool space_prefix;
};

/* Id of the mergeable extra piece with this text (the last duplicate), or -1. */
static int32_t ref_lookup(const struct vocab_view *v, const char *p, size_t n)
{
    for (int i = v->n_extra - 1; i >= 0; i--) {
        const struct piece *e = &v->extra[i];
        if (e->type != 1 && e->type != 4 && e->type != 5)
            continue;
        if (e->len == n && n > 0 && memcmp(e->text, p, n) == 0)
            return 259 + i;
    }
    return -1;
}

static size_t ref_char_len(const unsigned char *p, size_t n)
{
    size_t need = (p[0] >= 0xC2 && p[0] <= 0xDF) ? 2 : (p[0] >= 0xE0 && p[0] <= 0xEF) ? 3
                : (p[0] >= 0xF0 && p[0] <= 0xF4) ? 4 : 1;
    if (need > n)
        return 1;
    for (size_t i = 1; i < need; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 1;
    return need;
}

/* Returns the number of ids (BOS first). ids holds 3 * size + 4. */
static int ref_encode(const struct vocab_view *v, const char *text, size_t size, int32_t *ids)
{
    int n = 0;
    ids[n++] = 1;
    if (size == 0)
        return n;
    char *esc = malloc(3 * size + 3);
    size_t *start = malloc(sizeof *start * (size + 1)), *len = malloc(sizeof *len * (size + 1));
    check(esc && start && len, "malloc");
    size_t e = 0;
    if (v->space_prefix) {
        memcpy(esc, "\xE2\x96\x81", 3);
        e = 3;
    }
    for (size_t i = 0; i < size; i++) {
        if (text[i] == ' ') {
            memcpy(esc + e, "\xE2\x96\x81", 3);
            e += 3;
        } else {
            esc[e++] = text[i];
        }
    }
    size_t ns = 0;
    for (size_t o = 0; o < e;) {
        size_t l = ref_char_len((const unsigned char *)esc + o, e - o);
        start[ns] = o;
        len[ns++] = l;
        o += l;
    }
    for (;;) {
        size_t best = SIZE_MAX;
        float best_score = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            int32_t id = ref_lookup(v, esc + start[i], len[i] + len[i + 1]);
            if (id < 0)
                continue;
            float sc = v->extra[id - 259].score;
            if (best == SIZE_MAX || sc > best_score) {
                best = i;
                best_score = sc;
            }
        }
        if (best == SIZE_MAX)
            break;
        len[best] += len[best + 1];
        memmove(start + best + 1, start + best + 2, sizeof *start * (ns - best - 2));
        memmove(len + best + 1, len + best + 2, sizeof *len * (ns - best - 2));
        ns--;
    }
    for (size_t i = 0; i < ns; i++) {
        int32_t id = ref_lookup(v, esc + start[i], len[i]);
        if (id >= 0) {
            ids[n++] = id;
            continue;
        }
        for (size_t j = 0; j < len[i]; j++)
            ids[n++] = 3 + (unsigned char)esc[start[i] + j];
    }
    free(len);
    free(start);
    free(esc);
    return n;
}

/* The whole contract on one tokenizer and one text. */
static void round_trip(const struct tok *t, const struct vocab_view *v, const uint8_t *data,
                       size_t size)
{
    const char *text = (const char *)data;
    int max = (int)(3 * size + 4);
    int32_t *ids = malloc(sizeof *ids * (size_t)max);
    check(ids != NULL, "malloc");
    int n = tok_encode(t, text, size, true, ids, max);
    check(n >= 0 && n <= max, "count out of bounds");
    check(size == 0 || n >= 2, "a non-empty text encodes to at least BOS and one token");
    check(ids[0] == tok_bos(t), "BOS first");
    for (int i = 0; i < n; i++)
        check(ids[i] >= 0 && ids[i] < tok_n_vocab(t), "id out of range");
    for (int i = 1; i < n; i++) {
        enum tok_type ty = tok_type_of(t, ids[i]);
        check(ty != TOK_TYPE_CONTROL && ty != TOK_TYPE_UNKNOWN, "control/unknown from text");
    }

    if (size <= 512) {
        int32_t *want_ids = malloc(sizeof *want_ids * (size_t)max);
        check(want_ids != NULL, "malloc");
        int wn = ref_encode(v, text, size, want_ids);
        check(wn == n && memcmp(want_ids, ids, sizeof *ids * (size_t)n) == 0,
              "ids differ from the reference merge");
        free(want_ids);
    }

    /* A truncated call returns the same count and the same prefix. */
    int half = n / 2;
    int32_t *ids2 = malloc(sizeof *ids2 * (size_t)(half + 1));
    check(ids2 != NULL, "malloc");
    check(tok_encode(t, text, size, true, ids2, half) == n, "truncated call count");
    check(half == 0 || memcmp(ids, ids2, sizeof *ids * (size_t)half) == 0, "truncated prefix");
    free(ids2);

    /* Every token decodes on its own; the lengths add up to at least the
     * whole (pieces of "▁" spelled by byte tokens become one space). */
    char piece[64];
    long sum = 0;
    for (int i = 0; i < n; i++) {
        int m = tok_decode(t, ids[i], piece, sizeof piece);
        check(m >= 0, "tok_decode failed");
        sum += m;
    }

    size_t cap = 3 * size + 16;
    char *out = malloc(cap);
    check(out != NULL, "malloc");
    bool strip = tok_add_space_prefix(t);
    int m = tok_decode_all(t, ids, n, strip, out, cap);
    check(m >= 0 && (size_t)m <= cap, "tok_decode_all failed");
    check(m <= sum, "whole longer than its pieces");
    check(tok_decode_all(t, ids, n, strip, NULL, 0) == m, "length query differs");

    /* Expected: the text with every U+2581 read as a space. */
    size_t w = 0;
    char *want = malloc(size + 1);
    check(want != NULL, "malloc");
    for (size_t i = 0; i < size; i++) {
        if (i + 2 < size && memcmp(text + i, "\xE2\x96\x81", 3) == 0) {
            want[w++] = ' ';
            i += 2;
        } else {
            want[w++] = text[i];
        }
    }
    check((size_t)m == w && memcmp(out, want, w) == 0, "round trip mismatch");
    free(want);
    free(out);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    int n_fixed = (int)(sizeof FIXED / sizeof FIXED[0]);
    struct vocab_view v0 = { FIXED, n_fixed, false }, v1 = { FIXED, n_fixed, true };
    round_trip(fixed_tok[0], &v0, data, size);
    round_trip(fixed_tok[1], &v1, data, size);

    /* A vocabulary from the input's lines. */
    struct piece extra[64];
    int n_extra = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && n_extra < 64; i++) {
        if (i == size || data[i] == '\n') {
            size_t len = i - start;
            if (len > 0 && len <= 16) {
                extra[n_extra].text = data + start;
                extra[n_extra].len = len;
                extra[n_extra].score = -(float)(data[start] % 7);
                extra[n_extra].type = 1;
                n_extra++;
            }
            start = i + 1;
        }
    }
    if (n_extra > 0) {
        struct vocab_view v = { extra, n_extra, (size & 1) != 0 };
        struct tok *t = make_tok(extra, n_extra, v.space_prefix);
        round_trip(t, &v, data, size);
        tok_free(t);
    }
    return 0;
}
