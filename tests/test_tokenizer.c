/* tokenizer suite: the golden vocabulary (specials, byte fallback, decode);
 * merge order on small vocabularies built here as in-memory GGUF files
 * (highest score first, ties to the left); exact round trips on random
 * ASCII / UTF-8 / invalid-UTF-8 text; long inputs; the buffer contracts;
 * and one hostile vocabulary per validation rule, each with its code and a
 * message that names the key. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/mem.h"
#include "engine/tokenizer.h"
#include "tests/gguf_fixture.h"
#include "tests/testutil.h"

/* A vocabulary under construction; texts may hold any bytes. */
struct vpiece {
    char text[24];
    size_t len;
    float score;
    int32_t type;
};

struct vocab {
    struct vpiece v[600];
    int n;
};

static int vadd_n(struct vocab *vb, const char *text, size_t len, float score, int32_t type)
{
    ck_assert_int_lt(vb->n, 600);
    ck_assert_uint_le(len, sizeof vb->v[0].text);
    struct vpiece *p = &vb->v[vb->n];
    memcpy(p->text, text, len);
    p->len = len;
    p->score = score;
    p->type = type;
    return vb->n++;
}

static int vadd(struct vocab *vb, const char *text, float score)
{
    return vadd_n(vb, text, strlen(text), score, TOK_TYPE_NORMAL);
}

/* <unk> <s> </s>, then the 256 byte tokens: ids 3 + byte, as in the golden file. */
static void vadd_specials_and_bytes(struct vocab *vb, bool bytes)
{
    vadd_n(vb, "<unk>", 5, 0, TOK_TYPE_UNKNOWN);
    vadd_n(vb, "<s>", 3, 0, TOK_TYPE_CONTROL);
    vadd_n(vb, "</s>", 4, 0, TOK_TYPE_CONTROL);
    for (int i = 0; bytes && i < 256; i++) {
        char t[8];
        snprintf(t, sizeof t, "<0x%02X>", i);
        vadd_n(vb, t, 6, 0, TOK_TYPE_BYTE);
    }
}

/* What to write besides the tokens; the defaults give a valid file. */
struct gopts {
    const char *model;    /* NULL: key omitted */
    int n_scores;         /* entries written; -1: key omitted */
    int n_types;          /* entries written; -1: key omitted */
    int space_prefix;     /* -1: key omitted, else the bool */
    int64_t bos;          /* -1: key omitted */
    bool tokens_as_u32;   /* write tokens as an array of uint32 */
};

static struct gopts gopts_default(const struct vocab *vb)
{
    struct gopts o = { "llama", vb->n, vb->n, -1, -1, false };
    return o;
}

/* The file (metadata only, no tensors) through the test GGUF fixture. */
static void build_gguf(struct gfx *b, const struct vocab *vb, const struct gopts *o)
{
    uint64_t n_kv = 1 + (o->model != NULL) + (o->n_scores >= 0) + (o->n_types >= 0) +
                    (o->space_prefix >= 0) + (o->bos >= 0);
    gfx_init(b);
    gfx_header(b, 3, 0, n_kv);
    if (o->model)
        gfx_kv_str(b, "tokenizer.ggml.model", o->model);
    if (o->tokens_as_u32) {
        gfx_kv_arr_begin(b, "tokenizer.ggml.tokens", GGUF_VT_UINT32, (uint64_t)vb->n);
        for (int i = 0; i < vb->n; i++)
            gfx_u32(b, (uint32_t)i);
    } else {
        gfx_kv_arr_begin(b, "tokenizer.ggml.tokens", GGUF_VT_STRING, (uint64_t)vb->n);
        for (int i = 0; i < vb->n; i++)
            gfx_str_n(b, vb->v[i].text, vb->v[i].len);
    }
    if (o->n_scores >= 0) {
        gfx_kv_arr_begin(b, "tokenizer.ggml.scores", GGUF_VT_FLOAT32, (uint64_t)o->n_scores);
        for (int i = 0; i < o->n_scores; i++)
            gfx_f32(b, i < vb->n ? vb->v[i].score : 0.0f);
    }
    if (o->n_types >= 0) {
        gfx_kv_arr_begin(b, "tokenizer.ggml.token_type", GGUF_VT_INT32, (uint64_t)o->n_types);
        for (int i = 0; i < o->n_types; i++)
            gfx_u32(b, (uint32_t)(i < vb->n ? vb->v[i].type : 1));
    }
    if (o->space_prefix >= 0)
        gfx_kv_bool(b, "tokenizer.ggml.add_space_prefix", (uint8_t)o->space_prefix);
    if (o->bos >= 0)
        gfx_kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)o->bos);
    gfx_pad(b, 32);
}

/* A tokenizer over an in-memory file; the file is freed right away (a tok
 * does not borrow it). Returns NULL with code and err on failure. */
static struct tok *tok_from(const struct vocab *vb, const struct gopts *o,
                            const struct mem_hooks *mem, int *code, char *err, size_t err_len)
{
    struct gfx b;
    build_gguf(&b, vb, o);
    struct gguf g;
    char gerr[256];
    int grc = gguf_open_alloc(&g, b.buf, b.len, gerr, sizeof gerr);
    ck_assert_msg(grc == 0, "fixture does not open: %s", gerr);
    struct tok *t = tok_new(&g, mem, code, err, err_len);
    gguf_close(&g);
    memset(b.buf, 0xAB, b.len); /* prove nothing points into the file any more */
    gfx_free(&b);
    return t;
}

static struct tok *tok_ok(const struct vocab *vb, const struct gopts *o)
{
    char err[256] = "";
    int code = 1;
    struct tok *t = tok_from(vb, o, NULL, &code, err, sizeof err);
    ck_assert_msg(t != NULL, "tok_new failed: %s", err);
    ck_assert_int_eq(code, TOK_OK);
    return t;
}

/* Expect tok_new to fail with code and a message containing want. */
static void expect_fail_at(const struct vocab *vb, const struct gopts *o, int want_code,
                           const char *want, int line)
{
    char err[256] = "";
    int code = 0;
    struct mem_counter mc = { 0 };
    struct mem_hooks h = mem_counting_hooks(&mc);
    struct tok *t = tok_from(vb, o, &h, &code, err, sizeof err);
    ck_assert_msg(t == NULL, "line %d: tok_new accepted a bad vocabulary", line);
    ck_assert_msg(code == want_code, "line %d: code %s (%d), expected %s: %s", line,
                  tok_status_name(code), code, tok_status_name(want_code), err);
    ck_assert_msg(strstr(err, want) != NULL, "line %d: message lacks '%s': %s", line, want, err);
    ck_assert_msg(strchr(err, '\n') == NULL, "line %d: newline in message", line);
    ck_assert_msg(mc.bytes_live == 0 && mc.n_alloc == mc.n_free, "line %d: leak on failure", line);
}
#define expect_fail(vb, o, code, want) expect_fail_at(vb, o, code, want, __LINE__)

/* Encode into a fixed array; asserts it fits. */
static int enc(const struct tok *t, const char *s, size_t len, bool bos, int32_t *out, int max)
{
    int n = tok_encode(t, s, len, bos, out, max);
    ck_assert_msg(n >= 0 && n <= max, "tok_encode returned %d (max %d)", n, max);
    return n;
}

static void assert_ids(const int32_t *got, int n, const int32_t *want, int n_want, int line)
{
    char buf[512] = "";
    size_t o = 0;
    for (int i = 0; i < n && o + 12 < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%d ", got[i]);
    ck_assert_msg(n == n_want, "line %d: %d ids, expected %d: %s", line, n, n_want, buf);
    for (int i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "line %d: id[%d] = %d, expected %d: %s", line, i, got[i],
                      want[i], buf);
}
#define ASSERT_IDS(got, n, ...)                                                                    \
    do {                                                                                           \
        const int32_t want_[] = { __VA_ARGS__ };                                            \
        assert_ids(got, n, want_, (int)(sizeof want_ / sizeof want_[0]), __LINE__);                \
    } while (0)

/* decode(encode(s)) == s with every U+2581 read as a space. */
static void check_round_trip(const struct tok *t, const char *s, size_t len, int32_t *ids,
                             int max_ids, char *out, size_t out_cap)
{
    int n = enc(t, s, len, true, ids, max_ids);
    int m = tok_decode_all(t, ids, n, tok_add_space_prefix(t), out, out_cap);
    ck_assert_int_ge(m, 0);
    size_t want_len = 0;
    char *want = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
            want[want_len++] = ' ';
            i += 2;
        } else {
            want[want_len++] = s[i];
        }
    }
    ck_assert_msg((size_t)m == want_len && memcmp(out, want, want_len) == 0,
                  "round trip of %zu bytes gave %d bytes", len, m);
    free(want);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Random text: ASCII (many spaces), valid 2/3/4-byte UTF-8, stray bytes. */
static size_t random_text(char *s, size_t max)
{
    static const char *const pieces[] = { " ", "  ", "a", "w0", "w1 ", "hello", "é", "€", "日本",
                                          "\xF0\x9F\x98\x80", "\xE2\x96\x81", "\xC3", "\x80",
                                          "\xFF", "\xE2\x96", "\xF0\x9F", "\n", "\t", "<s>",
                                          "<0x41>", "\0" };
    size_t n = 0, np = sizeof pieces / sizeof pieces[0];
    size_t target = rnd() % max;
    while (n < target) {
        if (rnd() % 3 == 0) {
            s[n++] = (char)(rnd() & 0xFF);
            continue;
        }
        const char *p = pieces[rnd() % np];
        size_t len = p[0] ? strlen(p) : 1;
        if (n + len > max)
            break;
        memcpy(s + n, p, len);
        n += len;
    }
    return n;
}

/* --- the golden vocabulary --------------------------------------------- */

struct golden {
    void *buf;
    struct gguf g;
    struct tok *t;
};

static void golden_open(struct golden *gd)
{
    char path[1024];
    size_t len;
    gd->buf = tu_read_file(tu_golden_path(path, sizeof path, "shared-F32.gguf"), &len);
    ck_assert_msg(gd->buf != NULL, "cannot read %s", path);
    char err[256];
    ck_assert_msg(gguf_open_alloc(&gd->g, gd->buf, len, err, sizeof err) == 0, "%s", err);
    int code;
    gd->t = tok_new(&gd->g, NULL, &code, err, sizeof err);
    ck_assert_msg(gd->t != NULL, "tok_new: %s", err);
}

static void golden_close(struct golden *gd)
{
    tok_free(gd->t);
    gguf_close(&gd->g);
    free(gd->buf);
}

START_TEST(test_golden_vocab)
{
    struct golden gd;
    golden_open(&gd);
    const struct tok *t = gd.t;
    ck_assert_int_eq(tok_n_vocab(t), 1024);
    ck_assert_int_eq(tok_bos(t), 1);
    ck_assert_int_eq(tok_eos(t), 2);
    ck_assert_int_eq(tok_unk(t), 0);
    ck_assert(tok_add_bos(t));
    ck_assert(tok_add_space_prefix(t));
    size_t len;
    const char *p = tok_piece(t, 259, &len);
    ck_assert_int_eq(len, 5);
    ck_assert(memcmp(p, "\xE2\x96\x81w0", 5) == 0);
    ck_assert_ptr_null(tok_piece(t, 1024, &len));
    ck_assert_int_eq(len, 0);
    ck_assert_int_eq(tok_type_of(t, 1), TOK_TYPE_CONTROL);
    ck_assert_int_eq(tok_type_of(t, 3 + 0x41), TOK_TYPE_BYTE);
    ck_assert(tok_score(t, 261) == -2.0f);

    /* Decode: control tokens are empty, byte tokens their byte, "▁" a space. */
    char buf[64];
    ck_assert_int_eq(tok_decode(t, 1, buf, sizeof buf), 0);
    ck_assert_int_eq(tok_decode(t, 2, buf, sizeof buf), 0);
    ck_assert_int_eq(tok_decode(t, 3 + 0x41, buf, sizeof buf), 1);
    ck_assert_int_eq(buf[0], 'A');
    ck_assert_int_eq(tok_decode(t, 3, buf, sizeof buf), 1);
    ck_assert_int_eq(buf[0], '\0');
    ck_assert_int_eq(tok_decode(t, 259, buf, sizeof buf), 3);
    ck_assert(memcmp(buf, " w0", 3) == 0);
    ck_assert_int_eq(tok_decode(t, 0, buf, sizeof buf), 3);
    ck_assert(memcmp(buf, "\xE2\x96\x85", 3) == 0);
    ck_assert_int_eq(tok_decode(t, 1024, buf, sizeof buf), TOK_ERANGE);
    ck_assert_int_eq(tok_decode(t, -1, buf, sizeof buf), TOK_ERANGE);
    int32_t seq[] = { 1, 259, 260, 2 };
    int n = tok_decode_all(t, seq, 4, false, buf, sizeof buf);
    ck_assert_int_eq(n, 6);
    ck_assert(memcmp(buf, " w0 w1", 6) == 0);
    n = tok_decode_all(t, seq, 4, true, buf, sizeof buf);
    ck_assert_int_eq(n, 5);
    ck_assert(memcmp(buf, "w0 w1", 5) == 0);
    /* Too small: the full length comes back, only len bytes are written. */
    memset(buf, '#', sizeof buf);
    ck_assert_int_eq(tok_decode_all(t, seq, 4, false, buf, 2), 6);
    ck_assert(memcmp(buf, " w#", 3) == 0);
    ck_assert_int_eq(tok_decode_all(t, seq, 4, false, NULL, 0), 6);
    golden_close(&gd);
}
END_TEST

START_TEST(test_golden_encode)
{
    struct golden gd;
    golden_open(&gd);
    const struct tok *t = gd.t;
    int32_t ids[64];
    /* No piece of this vocabulary is the concatenation of two others
     * ("▁w" and "w0" are absent), so SentencePiece merging, as in
     * llama.cpp, never reaches "▁w0": every character falls back to bytes. */
    int n = enc(t, "w0 w1", 5, true, ids, 64);
    ASSERT_IDS(ids, n, 1, 3 + 0xE2, 3 + 0x96, 3 + 0x81, 3 + 'w', 3 + '0', 3 + 0xE2, 3 + 0x96,
               3 + 0x81, 3 + 'w', 3 + '1');
    char buf[64];
    int m = tok_decode_all(t, ids, n, true, buf, sizeof buf);
    ck_assert_int_eq(m, 5);
    ck_assert(memcmp(buf, "w0 w1", 5) == 0);

    /* "é" is not in the vocabulary: its two UTF-8 bytes. */
    n = enc(t, "\xC3\xA9", 2, false, ids, 64);
    ASSERT_IDS(ids, n, 3 + 0xE2, 3 + 0x96, 3 + 0x81, 3 + 0xC3, 3 + 0xA9);

    /* Empty text: BOS only (no space prefix), or nothing. */
    n = enc(t, "", 0, true, ids, 64);
    ASSERT_IDS(ids, n, 1);
    ck_assert_int_eq(tok_encode(t, NULL, 0, false, NULL, 0), 0);

    /* Buffer contract: the full count comes back, only max_out ids are written. */
    for (int i = 0; i < 64; i++)
        ids[i] = -7;
    ck_assert_int_eq(tok_encode(t, "w0 w1", 5, true, ids, 3), 11);
    ck_assert_int_eq(ids[2], 3 + 0x96);
    ck_assert_int_eq(ids[3], -7);
    ck_assert_int_eq(tok_encode(t, "w0 w1", 5, true, NULL, 0), 11);
    ck_assert_int_eq(tok_encode(t, "w0", 2, true, NULL, 5), TOK_EINVAL);
    ck_assert_int_eq(tok_encode(t, NULL, 3, true, ids, 64), TOK_EINVAL);
    ck_assert_int_eq(tok_encode(t, "w0", 2, true, ids, -1), TOK_EINVAL);
    golden_close(&gd);
}
END_TEST

START_TEST(test_golden_round_trip)
{
    struct golden gd;
    golden_open(&gd);
    enum { MAX = 300 };
    char s[MAX], out[4 * MAX];
    int32_t ids[3 * MAX + 4];
    for (int i = 0; i < 500; i++) {
        size_t len = random_text(s, MAX);
        check_round_trip(gd.t, s, len, ids, 3 * MAX + 4, out, sizeof out);
    }
    golden_close(&gd);
}
END_TEST

/* --- merges on vocabularies of our own design -------------------------- */

START_TEST(test_merge_highest_score_wins)
{
    struct vocab vb = { .n = 0 };
    vadd_specials_and_bytes(&vb, true);
    int a = vadd(&vb, "a", 0), b = vadd(&vb, "b", 0), c = vadd(&vb, "c", 0);
    int ab = vadd(&vb, "ab", -2.0f), bc = vadd(&vb, "bc", -1.0f);
    struct gopts o = gopts_default(&vb);
    o.space_prefix = 0;
    struct tok *t = tok_ok(&vb, &o);
    ck_assert(!tok_add_space_prefix(t));
    int32_t ids[16];
    int n = enc(t, "abc", 3, false, ids, 16);
    ASSERT_IDS(ids, n, a, bc); /* "bc" scores higher than "ab" */
    tok_free(t);

    vb.v[ab].score = 0.0f; /* now "ab" wins */
    t = tok_ok(&vb, &o);
    n = enc(t, "abc", 3, false, ids, 16);
    ASSERT_IDS(ids, n, ab, c);
    tok_free(t);

    vb.v[ab].score = vb.v[bc].score = -1.0f; /* tie: the leftmost pair */
    t = tok_ok(&vb, &o);
    n = enc(t, "abc", 3, false, ids, 16);
    ASSERT_IDS(ids, n, ab, c);
    n = enc(t, "cab", 3, false, ids, 16);
    ASSERT_IDS(ids, n, c, ab);
    n = enc(t, "bbc", 3, false, ids, 16);
    ASSERT_IDS(ids, n, b, bc);
    tok_free(t);
    (void)a;
}
END_TEST

START_TEST(test_merge_chains_and_ties)
{
    struct vocab vb = { .n = 0 };
    vadd_specials_and_bytes(&vb, true);
    int sp = vadd(&vb, "\xE2\x96\x81", -10.0f);
    vadd(&vb, "h", -20);
    vadd(&vb, "e", -20);
    int l = vadd(&vb, "l", -20);
    int o_ = vadd(&vb, "o", -20);
    vadd(&vb, "\xE2\x96\x81h", -3);
    vadd(&vb, "\xE2\x96\x81he", -4);
    vadd(&vb, "\xE2\x96\x81hel", -5);
    int hello = vadd(&vb, "\xE2\x96\x81hello", -6);
    vadd(&vb, "ll", -7);
    vadd(&vb, "lo", -1); /* scores higher than every pair that would lead to "▁hell" */
    vadd(&vb, "\xE2\x96\x81hell", -8);
    int a = vadd(&vb, "a", -1);
    int aa = vadd(&vb, "aa", -1);
    int aaaa = vadd(&vb, "aaaa", -1);
    struct gopts op = gopts_default(&vb);
    struct tok *t = tok_ok(&vb, &op);
    int32_t ids[64];

    /* "▁hello": lo(-1) first, then ▁h(-3), ▁he(-4), ▁hel(-5); "▁hel"+"lo" is
     * "▁hello"(-6). "▁hell" never forms because "l" was taken by "lo". */
    int n = enc(t, "hello", 5, true, ids, 64);
    ASSERT_IDS(ids, n, 1, hello);
    /* Leading space: "▁▁hello" → "▁" + "▁hello". */
    n = enc(t, " hello", 6, false, ids, 64);
    ASSERT_IDS(ids, n, sp, hello);
    /* "hell": no "o" for "lo", so the chain goes on: ▁h(-3), ▁he(-4),
     * ▁hel(-5) beats ll(-7), then "▁hel"+"l" = "▁hell"(-8); the popped "ll"
     * is stale by then (its left "l" is inside "▁hel"). */
    int32_t hell_id = -1;
    for (int i = 0; i < vb.n; i++)
        if (vb.v[i].len == 7 && memcmp(vb.v[i].text, "\xE2\x96\x81hell", 7) == 0)
            hell_id = i;
    n = enc(t, "hell", 4, false, ids, 64);
    ASSERT_IDS(ids, n, hell_id);
    size_t len;
    const char *p = tok_piece(t, hell_id, &len);
    ck_assert(len == 7 && memcmp(p, "\xE2\x96\x81hell", 7) == 0);
    /* Equal scores merge left to right: "aaaaa" → aa aa a → aaaa a. */
    n = enc(t, "aaaaa", 5, false, ids, 64);
    ASSERT_IDS(ids, n, sp, aaaa, a);
    n = enc(t, "aaa", 3, false, ids, 64);
    ASSERT_IDS(ids, n, sp, aa, a);
    /* Unknown characters fall back to bytes: "é" and a stray 0xFF. */
    n = enc(t, "o\xC3\xA9\xFF", 4, false, ids, 64);
    ASSERT_IDS(ids, n, sp, o_, 3 + 0xC3, 3 + 0xA9, 3 + 0xFF);
    (void)l;
    tok_free(t);
}
END_TEST

START_TEST(test_control_tokens_not_produced_from_text)
{
    /* "<s>" typed as text must stay text: control pieces never come out of
     * a merge even when their pieces are all in the vocabulary. */
    struct vocab vb = { .n = 0 };
    vadd_specials_and_bytes(&vb, true);
    vadd(&vb, "<", 0);
    vadd(&vb, "s", 0);
    vadd(&vb, ">", 0);
    int ls = vadd(&vb, "<s", 0);
    int gt = vadd(&vb, ">", 0); /* a duplicate: the later one is the one found */
    struct gopts o = gopts_default(&vb);
    o.space_prefix = 0;
    struct tok *t = tok_ok(&vb, &o);
    int32_t ids[16];
    int n = enc(t, "<s>", 3, false, ids, 16);
    ASSERT_IDS(ids, n, ls, gt);
    char buf[16];
    ck_assert_int_eq(tok_decode_all(t, ids, n, false, buf, sizeof buf), 3);
    ck_assert(memcmp(buf, "<s>", 3) == 0);
    tok_free(t);
}
END_TEST

START_TEST(test_no_byte_tokens_gives_unk)
{
    struct vocab vb = { .n = 0 };
    vadd_specials_and_bytes(&vb, false);
    int x = vadd(&vb, "x", 0);
    int sp = vadd(&vb, "\xE2\x96\x81", 0);
    struct gopts o = gopts_default(&vb);
    struct tok *t = tok_ok(&vb, &o);
    int32_t ids[16];
    int n = enc(t, "x\xC3\xA9", 3, false, ids, 16);
    ASSERT_IDS(ids, n, sp, x, 0, 0);
    tok_free(t);

    /* Without scores and types everything is a normal piece of score 0. */
    o.n_scores = -1;
    o.n_types = -1;
    o.space_prefix = 0;
    t = tok_ok(&vb, &o);
    ck_assert_int_eq(tok_type_of(t, 0), TOK_TYPE_NORMAL);
    n = enc(t, "xx", 2, false, ids, 16);
    ASSERT_IDS(ids, n, x, x);
    tok_free(t);
}
END_TEST

START_TEST(test_round_trip_custom_vocab)
{
    struct vocab vb = { .n = 0 };
    vadd_specials_and_bytes(&vb, true);
    static const char *const words[] = { "\xE2\x96\x81", "\xE2\x96\x81w", "w0", "\xE2\x96\x81w0",
                                         "he", "hel", "hello", "\xE2\x96\x81hello", "l", "o", "lo",
                                         "é", "\xE2\x96\x81é", "日", "本", "日本", "  ", "a", "aa",
                                         "\xE2\x96\x81\xE2\x96\x81", "\n", "<s", "0x" };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        vadd(&vb, words[i], -(float)(i % 5));
    struct gopts o = gopts_default(&vb);
    struct tok *t = tok_ok(&vb, &o);
    enum { MAX = 300 };
    char s[MAX], out[4 * MAX];
    int32_t ids[3 * MAX + 4];
    for (int i = 0; i < 1000; i++) {
        size_t len = random_text(s, MAX);
        check_round_trip(t, s, len, ids, 3 * MAX + 4, out, sizeof out);
    }
    tok_free(t);
    /* Without the space prefix the round trip needs no strip. */
    o.space_prefix = 0;
    t = tok_ok(&vb, &o);
    for (int i = 0; i < 300; i++) {
        size_t len = random_text(s, MAX);
        check_round_trip(t, s, len, ids, 3 * MAX + 4, out, sizeof out);
    }
    tok_free(t);
}
END_TEST

START_TEST(test_long_input)
{
    /* 100 KB: a quadratic merge loop would run into the test timeout. */
    struct vocab vb = { .n = 0 };
    vadd_specials_and_bytes(&vb, true);
    int a = vadd(&vb, "a", 0);
    int aa = vadd(&vb, "aa", -1), a4 = vadd(&vb, "aaaa", -2), a8 = vadd(&vb, "aaaaaaaa", -3);
    int sp = vadd(&vb, "\xE2\x96\x81", 0);
    struct gopts o = gopts_default(&vb);
    struct mem_counter mc = { 0 };
    struct mem_hooks h = mem_counting_hooks(&mc);
    int code;
    char err[256];
    struct tok *t = tok_from(&vb, &o, &h, &code, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    size_t live = mc.bytes_live, n_alloc = mc.n_alloc;

    enum { LEN = 100 * 1000 };
    char *s = malloc(LEN);
    memset(s, 'a', LEN);
    int32_t *ids = malloc(sizeof(int32_t) * (3 * LEN + 4));
    int n = tok_encode(t, s, LEN, false, ids, 3 * LEN + 4);
    /* 100000 = 12500 × 8: all "aaaaaaaa" after the "▁". */
    ck_assert_int_eq(n, 1 + LEN / 8);
    ck_assert_int_eq(ids[0], sp);
    for (int i = 1; i < n; i++)
        ck_assert_int_eq(ids[i], a8);
    /* 99999 = 12499 × 8 + 4 + 2 + 1. */
    ck_assert_int_eq(tok_encode(t, s, LEN - 1, false, NULL, 0), 1 + (LEN - 8) / 8 + 3);
    (void)a;
    (void)aa;
    (void)a4;
    /* Encoding frees its scratch: nothing live remains, one block per call. */
    ck_assert_uint_eq(mc.bytes_live, live);
    ck_assert_uint_eq(mc.n_alloc, n_alloc + 2);

    /* 100 KB of random text round-trips too. */
    char *out = malloc(4 * LEN);
    size_t len = 0;
    while (len < LEN - 400)
        len += random_text(s + len, 300);
    check_round_trip(t, s, len, ids, 3 * LEN + 4, out, 4 * LEN);
    free(out);
    free(ids);
    free(s);
    tok_free(t);
    ck_assert_uint_eq(mc.bytes_live, 0);
    ck_assert_uint_eq(mc.n_alloc, mc.n_free);
}
END_TEST

/* --- hostile vocabularies ---------------------------------------------- */

START_TEST(test_hostile_vocabularies)
{
    struct vocab vb = { .n = 0 };
    vadd_specials_and_bytes(&vb, true);
    vadd(&vb, "x", 0);
    struct gopts o;

    o = gopts_default(&vb);
    o.model = "gpt2";
    expect_fail(&vb, &o, TOK_EUNSUPPORTED,
                "tokenizer model 'gpt2' not supported (only 'llama' SentencePiece)");
    o.model = "bert\n\x01";
    expect_fail(&vb, &o, TOK_EUNSUPPORTED, "tokenizer model 'bert\\x0A\\x01' not supported");
    o.model = NULL;
    expect_fail(&vb, &o, TOK_EMISSING, "tokenizer.ggml.model");

    o = gopts_default(&vb);
    o.n_types = vb.n - 1;
    expect_fail(&vb, &o, TOK_ECORRUPT, "tokenizer.ggml.token_type has 259 entries");
    o = gopts_default(&vb);
    o.n_types = vb.n + 1;
    expect_fail(&vb, &o, TOK_ECORRUPT, "tokenizer.ggml.token_type");
    o = gopts_default(&vb);
    o.n_scores = 3;
    expect_fail(&vb, &o, TOK_ECORRUPT, "tokenizer.ggml.scores has 3 entries");

    o = gopts_default(&vb);
    o.tokens_as_u32 = true;
    expect_fail(&vb, &o, TOK_ECORRUPT, "tokenizer.ggml.tokens: array of uint32");

    o = gopts_default(&vb);
    o.bos = vb.n;
    expect_fail(&vb, &o, TOK_ECORRUPT, "tokenizer.ggml.bos_token_id is 260");

    struct vocab bad = vb;
    bad.v[3 + 0x41].text[3] = 'G'; /* "<0xG1>" typed as byte */
    o = gopts_default(&bad);
    expect_fail(&bad, &o, TOK_ECORRUPT, "token 68 has type byte");

    bad = vb;
    bad.v[259].type = 7;
    expect_fail(&bad, &o, TOK_ECORRUPT, "token 259 has type 7");
    bad.v[259].type = -1;
    expect_fail(&bad, &o, TOK_ECORRUPT, "token 259 has type -1");

    bad = vb;
    bad.v[5].score = __builtin_nanf("");
    expect_fail(&bad, &o, TOK_ECORRUPT, "token 5 is NaN");

    struct vocab one = { .n = 0 };
    vadd(&one, "x", 0);
    o = gopts_default(&one);
    struct tok *t = tok_ok(&one, &o);
    ck_assert_int_eq(tok_bos(t), -1); /* default 1 is out of range: none */
    ck_assert_int_eq(tok_eos(t), -1);
    ck_assert_int_eq(tok_unk(t), 0);
    int32_t ids[8];
    ck_assert_int_eq(tok_encode(t, "", 0, true, ids, 8), 0);
    tok_free(t);
    tok_free(NULL);
}
END_TEST

START_TEST(test_huge_vocab_rejected_before_allocating)
{
    /* 2^24 + 1 empty strings (the smallest file that holds that many): the
     * tokenizer refuses it without allocating anything. A count of 2^31
     * cannot even get past gguf_open, whose file would need 16 GiB. */
    uint64_t n = (uint64_t)TOK_MAX_VOCAB + 1;
    struct gfx b;
    gfx_init(&b);
    gfx_header(&b, 3, 0, 2);
    gfx_kv_str(&b, "tokenizer.ggml.model", "llama");
    gfx_kv_arr_begin(&b, "tokenizer.ggml.tokens", GGUF_VT_STRING, n);
    gfx_zeros(&b, n * 8); /* every string: length 0 */
    gfx_pad(&b, 32);
    struct gguf g;
    char err[256];
    ck_assert_msg(gguf_open_alloc(&g, b.buf, b.len, err, sizeof err) == 0, "%s", err);
    struct mem_counter mc = { 0 };
    struct mem_hooks h = mem_counting_hooks(&mc);
    int code = 0;
    struct tok *t = tok_new(&g, &h, &code, err, sizeof err);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(code, TOK_ELIMIT);
    ck_assert_msg(strstr(err, "16777217 tokens") != NULL, "%s", err);
    ck_assert_uint_eq(mc.n_alloc, 0);
    gguf_close(&g);
    gfx_free(&b);
}
END_TEST

START_TEST(test_memory_accounting)
{
    struct golden gd;
    golden_open(&gd);
    struct mem_counter mc = { 0 };
    struct mem_hooks h = mem_counting_hooks(&mc);
    int code;
    char err[256];
    struct tok *t = tok_new(&gd.g, &h, &code, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_uint_gt(mc.n_alloc, 0);
    /* The hash is proportional to the vocabulary: well under 1 KiB a token. */
    ck_assert_uint_lt(mc.bytes_live, 1024 * 1024);
    size_t live = mc.bytes_live;
    int32_t ids[32];
    char buf[64];
    ck_assert_int_gt(tok_encode(t, "w0 w1", 5, true, ids, 32), 0);
    ck_assert_uint_eq(mc.bytes_live, live);
    size_t n_alloc = mc.n_alloc;
    ck_assert_int_eq(tok_decode_all(t, ids, 11, true, buf, sizeof buf), 5);
    ck_assert_uint_eq(mc.n_alloc, n_alloc); /* decoding allocates nothing */
    tok_free(t);
    ck_assert_uint_eq(mc.bytes_live, 0);
    ck_assert_uint_eq(mc.n_alloc, mc.n_free);
    golden_close(&gd);
}
END_TEST

Suite *tokenizer_suite(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_golden_vocab);
    tcase_add_test(tc, test_golden_encode);
    tcase_add_test(tc, test_golden_round_trip);
    tcase_add_test(tc, test_merge_highest_score_wins);
    tcase_add_test(tc, test_merge_chains_and_ties);
    tcase_add_test(tc, test_control_tokens_not_produced_from_text);
    tcase_add_test(tc, test_no_byte_tokens_gives_unk);
    tcase_add_test(tc, test_round_trip_custom_vocab);
    tcase_add_test(tc, test_long_input);
    tcase_add_test(tc, test_hostile_vocabularies);
    tcase_add_test(tc, test_huge_vocab_rejected_before_allocating);
    tcase_add_test(tc, test_memory_accounting);
    suite_add_tcase(s, tc);
    return s;
}
