/* tokenizer — the SentencePiece-style tokenizer built from a GGUF
 * vocabulary: encode by best-score merges, decode (see tokenizer.h). */
#include "engine/tokenizer.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "engine/gguf.h"
#include "engine/mem.h"

/* One vocabulary entry; the text lives in the tok's arena. */
struct tok_piece {
    uint64_t off;   /* into arena */
    uint32_t len;
    float score;
    uint8_t type;   /* enum tok_type */
    uint8_t byte;   /* the byte of a TOK_TYPE_BYTE token */
};

struct tok {
    struct mem_hooks mem;      /* copy of the caller's hooks (zero: default allocator) */
    int n_vocab;
    struct tok_piece *pieces;  /* [n_vocab] */
    char *arena;               /* all piece texts back to back */
    size_t arena_bytes;
    int32_t *slots;            /* open-addressing hash of mergeable pieces: id or -1 */
    size_t n_slots;            /* power of two >= 2 * n_vocab */
    uint64_t hash_seed;        /* fixed at tok_new */
    uint32_t max_merge_len;    /* longest mergeable piece: longer lookups miss at once */
    int32_t byte_id[256];      /* byte token for each byte, or -1 */
    int32_t bos, eos, unk;
    bool add_bos, add_space_prefix;
};

/* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's escaped space. */
static const char SPACE_MARK[3] = { '\xE2', '\x96', '\x81' };
/* U+2585, what SentencePiece prints for the unknown token. */
static const char UNK_TEXT[3] = { '\xE2', '\x96', '\x85' };


/* A file string made safe for a message: printable ASCII, other bytes as
 * \xHH, "..." after 32 bytes. cap >= 140. */
static void printable(char *dst, size_t cap, struct gguf_str s)
{
    size_t n = 0;
    for (uint64_t i = 0; i < s.len && n + 8 < cap; i++) {
        if (i == 32) {
            memcpy(dst + n, "...", 3);
            n += 3;
            break;
        }
        unsigned char c = (unsigned char)s.ptr[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            dst[n++] = (char)c;
        else
            n += (size_t)snprintf(dst + n, cap - n, "\\x%02X", c);
    }
    dst[n] = '\0';
}

/* Pieces that may come out of a merge: their decoded text is their piece
 * text, so encoding them keeps the round trip exact. */
static bool mergeable(uint8_t type)
{
    return type == TOK_TYPE_UNDEFINED || type == TOK_TYPE_NORMAL ||
           type == TOK_TYPE_USER_DEFINED || type == TOK_TYPE_UNUSED;
}

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

/* A seeded hash, 8 bytes at a time, each word through a full-avalanche mix.
 * The seed comes from heap addresses (ASLR), so a vocabulary cannot be
 * crafted in advance to pile its pieces into one probe chain and make
 * tok_new quadratic. The seed changes only the table layout, never a result. */
static uint64_t hash_bytes(uint64_t seed, const char *p, size_t n)
{
    uint64_t h = mix64(seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull));
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix64(h ^ w);
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, p, n);
        h = mix64(h ^ w);
    }
    return h;
}

/* Id of the mergeable piece with text p[0..n), or -1. */
static int32_t lookup(const struct tok *t, const char *p, size_t n)
{
    if (n == 0 || n > t->max_merge_len)
        return -1;
    size_t mask = t->n_slots - 1;
    for (size_t i = (size_t)hash_bytes(t->hash_seed, p, n) & mask;; i = (i + 1) & mask) {
        int32_t id = t->slots[i];
        if (id < 0)
            return -1;
        const struct tok_piece *e = &t->pieces[id];
        if (e->len == n && memcmp(t->arena + e->off, p, n) == 0)
            return id;
    }
}

/* Insert id; a later duplicate text replaces an earlier one (as llama.cpp's
 * text-to-id map does). */
static void insert(struct tok *t, int32_t id)
{
    const struct tok_piece *e = &t->pieces[id];
    const char *p = t->arena + e->off;
    size_t mask = t->n_slots - 1;
    for (size_t i = (size_t)hash_bytes(t->hash_seed, p, e->len) & mask;; i = (i + 1) & mask) {
        int32_t cur = t->slots[i];
        if (cur < 0) {
            t->slots[i] = id;
            return;
        }
        const struct tok_piece *c = &t->pieces[cur];
        if (c->len == e->len && memcmp(t->arena + c->off, p, e->len) == 0) {
            t->slots[i] = id;
            return;
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parse "<0xHH>"; returns the byte or -1. */
static int parse_byte_piece(const char *p, size_t n)
{
    if (n != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>')
        return -1;
    int hi = hexval(p[3]), lo = hexval(p[4]);
    if (hi < 0 || lo < 0)
        return -1;
    return hi * 16 + lo;
}

static bool is_int_type(enum gguf_vtype t)
{
    return t == GGUF_VT_UINT8 || t == GGUF_VT_INT8 || t == GGUF_VT_UINT16 ||
           t == GGUF_VT_INT16 || t == GGUF_VT_UINT32 || t == GGUF_VT_INT32 ||
           t == GGUF_VT_UINT64 || t == GGUF_VT_INT64;
}

static bool is_signed_type(enum gguf_vtype t)
{
    return t == GGUF_VT_INT8 || t == GGUF_VT_INT16 || t == GGUF_VT_INT32 || t == GGUF_VT_INT64;
}

/* An optional special-token id: default when absent (-1 if the default is
 * out of range), an error when present but unusable. */
static int read_special(const struct gguf *g, const char *key, int32_t def, int n_vocab,
                        int32_t *out, char *err, size_t err_len)
{
    uint32_t v;
    char msg[160] = "";
    int rc = gguf_get_u32(g, key, &v, msg, sizeof msg);
    if (rc == GGUF_ENOTFOUND) {
        *out = def < n_vocab ? def : -1;
        return TOK_OK;
    }
    if (rc != GGUF_OK) {
        err_set(err, err_len, "%s: %s", key, msg[0] ? msg : "not an unsigned 32-bit integer");
        return TOK_ECORRUPT;
    }
    if (v >= (uint32_t)n_vocab) {
        err_set(err, err_len, "%s is %u, outside the vocabulary of %d tokens", key, v, n_vocab);
        return TOK_ECORRUPT;
    }
    *out = (int32_t)v;
    return TOK_OK;
}

static int read_flag(const struct gguf *g, const char *key, bool def, bool *out, char *err,
                     size_t err_len)
{
    char msg[160] = "";
    int rc = gguf_get_bool(g, key, out, msg, sizeof msg);
    if (rc == GGUF_ENOTFOUND) {
        *out = def;
        return TOK_OK;
    }
    if (rc != GGUF_OK) {
        err_set(err, err_len, "%s: %s", key, msg[0] ? msg : "not a bool");
        return TOK_ECORRUPT;
    }
    return TOK_OK;
}

/* Check the model name, find the token array and its length. */
static int read_model(const struct gguf *g, struct gguf_array *tokens, char *err, size_t err_len)
{
    struct gguf_str model;
    char msg[160] = "";
    int rc = gguf_get_str(g, "tokenizer.ggml.model", &model, msg, sizeof msg);
    if (rc == GGUF_ENOTFOUND) {
        err_set(err, err_len, "tokenizer.ggml.model missing: the file has no tokenizer");
        return TOK_EMISSING;
    }
    if (rc != GGUF_OK) {
        err_set(err, err_len, "tokenizer.ggml.model: %s", msg[0] ? msg : "not a string");
        return TOK_ECORRUPT;
    }
    if (!gguf_str_eq(model, "llama")) {
        char name[160];
        printable(name, sizeof name, model);
        err_set(err, err_len, "tokenizer model '%s' not supported (only 'llama' SentencePiece)",
                name);
        return TOK_EUNSUPPORTED;
    }
    rc = gguf_get_arr(g, "tokenizer.ggml.tokens", tokens, msg, sizeof msg);
    if (rc == GGUF_ENOTFOUND) {
        err_set(err, err_len, "tokenizer.ggml.tokens missing");
        return TOK_EMISSING;
    }
    if (rc != GGUF_OK) {
        err_set(err, err_len, "tokenizer.ggml.tokens: %s", msg[0] ? msg : "not an array");
        return TOK_ECORRUPT;
    }
    if (tokens->elem_type != GGUF_VT_STRING) {
        err_set(err, err_len, "tokenizer.ggml.tokens: array of %s, expected array of string",
                gguf_vtype_name(tokens->elem_type));
        return TOK_ECORRUPT;
    }
    if (tokens->count == 0) {
        err_set(err, err_len, "tokenizer.ggml.tokens: empty vocabulary");
        return TOK_ECORRUPT;
    }
    /* Before any allocation sized by the count. */
    if (tokens->count > TOK_MAX_VOCAB) {
        err_set(err, err_len, "tokenizer.ggml.tokens: %llu tokens, at most %d accepted",
                (unsigned long long)tokens->count, TOK_MAX_VOCAB);
        return TOK_ELIMIT;
    }
    return TOK_OK;
}

/* An optional per-token array: absent (a->count = 0, returns 0 with
 * *present false) or of the vocabulary's length and an allowed type. */
static int read_per_token(const struct gguf *g, const char *key, bool want_float, int n_vocab,
                          struct gguf_array *a, bool *present, char *err, size_t err_len)
{
    char msg[160] = "";
    *present = false;
    int rc = gguf_get_arr(g, key, a, msg, sizeof msg);
    if (rc == GGUF_ENOTFOUND)
        return TOK_OK;
    if (rc != GGUF_OK) {
        err_set(err, err_len, "%s: %s", key, msg[0] ? msg : "not an array");
        return TOK_ECORRUPT;
    }
    bool ok = want_float ? (a->elem_type == GGUF_VT_FLOAT32 || a->elem_type == GGUF_VT_FLOAT64)
                         : is_int_type(a->elem_type);
    if (!ok) {
        err_set(err, err_len, "%s: array of %s, expected array of %s", key,
                gguf_vtype_name(a->elem_type), want_float ? "float32" : "int32");
        return TOK_ECORRUPT;
    }
    if (a->count != (uint64_t)n_vocab) {
        err_set(err, err_len, "%s has %llu entries, tokenizer.ggml.tokens has %d", key,
                (unsigned long long)a->count, n_vocab);
        return TOK_ECORRUPT;
    }
    *present = true;
    return TOK_OK;
}

void tok_free(struct tok *t)
{
    if (!t)
        return;
    struct mem_hooks mem = t->mem;
    mem_free(&mem, t->slots, t->n_slots * sizeof *t->slots);
    mem_free(&mem, t->arena, t->arena_bytes);
    mem_free(&mem, t->pieces, (size_t)t->n_vocab * sizeof *t->pieces);
    mem_free(&mem, t, sizeof *t);
}

struct tok *tok_new(const struct gguf *g, const struct mem_hooks *mem, int *code, char *err,
                    size_t err_len)
{
    struct tok *t = NULL;
    int rc = TOK_OK;
    if (err && err_len)
        err[0] = '\0';
    if (!g) {
        err_set(err, err_len, "tok_new: no GGUF file");
        rc = TOK_EINVAL;
        goto fail;
    }

    struct gguf_array tokens, scores, types;
    bool has_scores, has_types;
    rc = read_model(g, &tokens, err, err_len);
    if (rc)
        goto fail;
    int n_vocab = (int)tokens.count;
    rc = read_per_token(g, "tokenizer.ggml.scores", true, n_vocab, &scores, &has_scores, err,
                        err_len);
    if (rc)
        goto fail;
    rc = read_per_token(g, "tokenizer.ggml.token_type", false, n_vocab, &types, &has_types, err,
                        err_len);
    if (rc)
        goto fail;

    t = mem_alloc(mem, sizeof *t, _Alignof(struct tok));
    if (!t)
        goto nomem;
    memset(t, 0, sizeof *t);
    if (mem)
        t->mem = *mem;
    t->n_vocab = n_vocab;
    t->pieces = mem_alloc(&t->mem, (size_t)n_vocab * sizeof *t->pieces, _Alignof(struct tok_piece));
    if (!t->pieces)
        goto nomem;

    /* Pass 1: lengths, types and scores; the arena size is bounded by the file. */
    uint64_t pos = 0, total = 0;
    struct gguf_value v;
    for (int i = 0; i < n_vocab; i++) {
        if (gguf_array_next(&tokens, &pos, &v) != 1 || v.type != GGUF_VT_STRING) {
            err_set(err, err_len, "tokenizer.ggml.tokens: element %d is not a string", i);
            rc = TOK_ECORRUPT;
            goto fail;
        }
        if (v.v.str.len > TOK_MAX_PIECE_BYTES) {
            err_set(err, err_len, "tokenizer.ggml.tokens: token %d is %llu bytes, at most %d accepted",
                    i, (unsigned long long)v.v.str.len, TOK_MAX_PIECE_BYTES);
            rc = TOK_ELIMIT;
            goto fail;
        }
        struct tok_piece *e = &t->pieces[i];
        e->off = total;
        e->len = (uint32_t)v.v.str.len;
        total += v.v.str.len;

        e->score = 0.0f;
        if (has_scores) {
            double s = gguf_array_f64(&scores, (uint64_t)i);
            if (isnan(s)) {
                err_set(err, err_len, "tokenizer.ggml.scores: score of token %d is NaN", i);
                rc = TOK_ECORRUPT;
                goto fail;
            }
            e->score = (float)s;
        }
        e->type = TOK_TYPE_NORMAL;
        if (has_types) {
            bool ok;
            int64_t ty = 0;
            if (is_signed_type(types.elem_type)) {
                ty = gguf_array_i64(&types, (uint64_t)i);
                ok = ty >= 0 && ty <= TOK_TYPE_BYTE;
            } else {
                uint64_t u = gguf_array_u64(&types, (uint64_t)i);
                ok = u <= TOK_TYPE_BYTE;
                ty = ok ? (int64_t)u : -1;
            }
            if (!ok) {
                err_set(err, err_len,
                        "tokenizer.ggml.token_type: token %d has type %lld, allowed 0..6", i,
                        (long long)ty);
                rc = TOK_ECORRUPT;
                goto fail;
            }
            e->type = (uint8_t)ty;
        }
    }
    if (total > SIZE_MAX - 1)
        goto nomem;
    t->arena_bytes = total ? (size_t)total : 1;
    t->arena = mem_alloc(&t->mem, t->arena_bytes, 1);
    if (!t->arena)
        goto nomem;

    /* Pass 2: copy the texts; byte tokens; the hash. */
    pos = 0;
    for (int b = 0; b < 256; b++)
        t->byte_id[b] = -1;
    size_t n_slots = 16;
    while (n_slots < 2 * (size_t)n_vocab)
        n_slots *= 2;
    t->slots = mem_alloc(&t->mem, n_slots * sizeof *t->slots, _Alignof(int32_t));
    if (!t->slots)
        goto nomem;
    t->n_slots = n_slots;
    t->hash_seed = mix64((uint64_t)(uintptr_t)t ^ ((uint64_t)(uintptr_t)t->slots << 1) ^
                         (uint64_t)n_vocab);
    memset(t->slots, 0xff, n_slots * sizeof *t->slots); /* every slot -1 */
    for (int i = 0; i < n_vocab; i++) {
        gguf_array_next(&tokens, &pos, &v);
        struct tok_piece *e = &t->pieces[i];
        if (e->len)
            memcpy(t->arena + e->off, v.v.str.ptr, e->len);
        if (e->type == TOK_TYPE_BYTE) {
            int b = parse_byte_piece(t->arena + e->off, e->len);
            if (b < 0) {
                char name[160];
                printable(name, sizeof name, v.v.str);
                err_set(err, err_len,
                        "tokenizer.ggml.tokens: token %d has type byte but its text '%s' is not <0xXX>",
                        i, name);
                rc = TOK_ECORRUPT;
                goto fail;
            }
            e->byte = (uint8_t)b;
            if (t->byte_id[b] < 0)
                t->byte_id[b] = i;
        } else if (mergeable(e->type) && e->len > 0) {
            if (e->len > t->max_merge_len)
                t->max_merge_len = e->len;
            insert(t, i);
        }
    }

    rc = read_special(g, "tokenizer.ggml.bos_token_id", 1, n_vocab, &t->bos, err, err_len);
    if (rc)
        goto fail;
    rc = read_special(g, "tokenizer.ggml.eos_token_id", 2, n_vocab, &t->eos, err, err_len);
    if (rc)
        goto fail;
    rc = read_special(g, "tokenizer.ggml.unknown_token_id", 0, n_vocab, &t->unk, err, err_len);
    if (rc)
        goto fail;
    rc = read_flag(g, "tokenizer.ggml.add_bos_token", true, &t->add_bos, err, err_len);
    if (rc)
        goto fail;
    rc = read_flag(g, "tokenizer.ggml.add_space_prefix", true, &t->add_space_prefix, err, err_len);
    if (rc)
        goto fail;
    if (code)
        *code = TOK_OK;
    return t;

nomem:
    err_set(err, err_len, "tokenizer: out of memory for a vocabulary of %llu tokens",
            (unsigned long long)(t ? (uint64_t)t->n_vocab : 0));
    rc = TOK_ENOMEM;
fail:
    tok_free(t);
    if (code)
        *code = rc;
    return NULL;
}

/* ---- encoding ---------------------------------------------------------- */

/* A symbol: a run of the escaped text, linked to its live neighbours. */
struct sym {
    int32_t start, n;   /* n == 0: merged into its left neighbour */
    int32_t prev, next; /* -1 at the ends */
};

/* A candidate merge of symbol left with its right neighbour, valid while
 * sym[left].n + sym[sym[left].next].n == size (a merge on either side
 * changes that sum, so stale entries are recognised when popped). */
struct bigram {
    float score;
    int32_t left;
    int32_t size;
};

/* Max-heap order: higher score first, then the leftmost pair. */
static bool before(const struct bigram *a, const struct bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

struct heap {
    struct bigram *v;
    size_t n;
};

static void heap_push(struct heap *h, struct bigram b)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&b, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = b;
}

static struct bigram heap_pop(struct heap *h)
{
    struct bigram top = h->v[0];
    struct bigram last = h->v[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n > 0)
        h->v[i] = last;
    return top;
}

static void try_bigram(const struct tok *t, const char *esc, const struct sym *s, struct heap *h,
                       int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return;
    int32_t size = s[left].n + s[right].n;
    int32_t id = lookup(t, esc + s[left].start, (size_t)size);
    if (id < 0)
        return;
    struct bigram b = { t->pieces[id].score, left, size };
    heap_push(h, b);
}

/* Length of the UTF-8 character at p[0..n): a well-formed sequence's
 * length, else 1 (the byte stands alone). Only the structure is checked. */
static int32_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t need;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else
        return 1;
    if (need > n)
        return 1;
    for (size_t i = 1; i < need; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 1;
    return (int32_t)need;
}

static void emit(int32_t *out, int max_out, int *count, int32_t id)
{
    if (*count < max_out)
        out[*count] = id;
    (*count)++;
}

static void emit_bytes(const struct tok *t, const char *p, int32_t n, int32_t *out, int max_out,
                       int *count)
{
    for (int32_t j = 0; j < n; j++) {
        unsigned char b = (unsigned char)p[j];
        int32_t id = t->byte_id[b];
        if (id < 0)
            id = lookup(t, p + j, 1);
        if (id < 0)
            id = t->unk;
        emit(out, max_out, count, id);
    }
}

int tok_encode(const struct tok *t, const char *text, size_t len, bool add_bos, int32_t *out,
               int max_out)
{
    if (!t || (!text && len > 0) || max_out < 0 || (!out && max_out > 0))
        return TOK_EINVAL;
    if (len > TOK_MAX_TEXT_BYTES)
        return TOK_ELIMIT;
    int count = 0;
    if (add_bos && t->bos >= 0)
        emit(out, max_out, &count, t->bos);
    if (len == 0)
        return count;

    /* Escaped text: optional "▁" prefix, every space as "▁". */
    size_t esc_len = t->add_space_prefix ? 3 : 0;
    for (size_t i = 0; i < len; i++)
        esc_len += text[i] == ' ' ? 3 : 1;
    size_t max_syms = len + 1;
    size_t max_bigrams = 3 * max_syms;
    size_t sym_off = (esc_len + 15) & ~(size_t)15;
    size_t heap_off = sym_off + max_syms * sizeof(struct sym);
    size_t scratch_bytes = heap_off + max_bigrams * sizeof(struct bigram);
    char *scratch = mem_alloc(&t->mem, scratch_bytes, 16);
    if (!scratch)
        return TOK_ENOMEM;
    char *esc = scratch;
    struct sym *s = (struct sym *)(void *)(scratch + sym_off);
    struct heap h = { (struct bigram *)(void *)(scratch + heap_off), 0 };

    size_t e = 0;
    if (t->add_space_prefix) {
        memcpy(esc, SPACE_MARK, 3);
        e = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(esc + e, SPACE_MARK, 3);
            e += 3;
        } else {
            esc[e++] = text[i];
        }
    }

    int32_t n_syms = 0;
    for (size_t off = 0; off < esc_len;) {
        int32_t n = utf8_len((const unsigned char *)esc + off, esc_len - off);
        s[n_syms].start = (int32_t)off;
        s[n_syms].n = n;
        s[n_syms].prev = n_syms - 1;
        s[n_syms].next = off + (size_t)n < esc_len ? n_syms + 1 : -1;
        n_syms++;
        off += (size_t)n;
    }

    for (int32_t i = 1; i < n_syms; i++)
        try_bigram(t, esc, s, &h, i - 1, i);

    while (h.n > 0) {
        struct bigram b = heap_pop(&h);
        struct sym *l = &s[b.left];
        if (l->n == 0 || l->next < 0)
            continue;
        struct sym *r = &s[l->next];
        if (l->n + r->n != b.size)
            continue; /* stale: a neighbour merged since */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (l->next >= 0)
            s[l->next].prev = b.left;
        try_bigram(t, esc, s, &h, l->prev, b.left);
        try_bigram(t, esc, s, &h, b.left, l->next);
    }

    /* Symbol 0 is never merged away (merges absorb the right symbol). */
    for (int32_t i = 0; i >= 0; i = s[i].next) {
        const char *p = esc + s[i].start;
        int32_t id = lookup(t, p, (size_t)s[i].n);
        if (id >= 0)
            emit(out, max_out, &count, id);
        else
            emit_bytes(t, p, s[i].n, out, max_out, &count);
    }
    mem_free(&t->mem, scratch, scratch_bytes);
    return count;
}

/* ---- decoding ---------------------------------------------------------- */

/* Output with a byte budget, "▁" → " " across piece boundaries (byte
 * tokens may spell it), and an optional strip of the first space. */
struct sink {
    char *buf;
    size_t cap;
    size_t n;        /* bytes produced, written or not */
    unsigned pend;   /* bytes of SPACE_MARK matched so far (0..2) */
    bool strip;      /* drop the next output byte if it is a space */
};

static void sink_out(struct sink *k, char c)
{
    if (k->strip) {
        k->strip = false;
        if (c == ' ')
            return;
    }
    if (k->n < k->cap)
        k->buf[k->n] = c;
    k->n++;
}

static void sink_put(struct sink *k, char c)
{
    for (;;) {
        if (c == SPACE_MARK[k->pend]) {
            if (++k->pend == 3) {
                k->pend = 0;
                sink_out(k, ' ');
            }
            return;
        }
        if (k->pend == 0) {
            sink_out(k, c);
            return;
        }
        /* A partial mark that did not complete: its bytes were literal.
         * SPACE_MARK[0] occurs only at its start, so c restarts the match. */
        for (unsigned i = 0; i < k->pend; i++)
            sink_out(k, SPACE_MARK[i]);
        k->pend = 0;
    }
}

static void sink_flush(struct sink *k)
{
    for (unsigned i = 0; i < k->pend; i++)
        sink_out(k, SPACE_MARK[i]);
    k->pend = 0;
}

static void sink_token(const struct tok *t, struct sink *k, int32_t id)
{
    const struct tok_piece *e = &t->pieces[id];
    switch (e->type) {
    case TOK_TYPE_CONTROL:
        return;
    case TOK_TYPE_BYTE:
        sink_put(k, (char)e->byte);
        return;
    case TOK_TYPE_UNKNOWN:
        for (int i = 0; i < 3; i++)
            sink_put(k, UNK_TEXT[i]);
        return;
    default:
        for (uint32_t i = 0; i < e->len; i++)
            sink_put(k, t->arena[e->off + i]);
        return;
    }
}

int tok_decode_all(const struct tok *t, const int32_t *ids, int n, bool strip_space, char *buf,
                   size_t len)
{
    if (!t || n < 0 || (!ids && n > 0) || (!buf && len > 0))
        return TOK_EINVAL;
    struct sink k = { buf, len, 0, 0, strip_space };
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return TOK_ERANGE;
        sink_token(t, &k, ids[i]);
        if (k.n > INT_MAX - 3)
            return TOK_ELIMIT;
    }
    sink_flush(&k);
    return (int)k.n;
}

int tok_decode(const struct tok *t, int32_t id, char *buf, size_t len)
{
    return tok_decode_all(t, &id, 1, false, buf, len);
}

/* ---- accessors --------------------------------------------------------- */

int tok_n_vocab(const struct tok *t) { return t->n_vocab; }
int32_t tok_bos(const struct tok *t) { return t->bos; }
int32_t tok_eos(const struct tok *t) { return t->eos; }
int32_t tok_unk(const struct tok *t) { return t->unk; }
bool tok_add_bos(const struct tok *t) { return t->add_bos; }
bool tok_add_space_prefix(const struct tok *t) { return t->add_space_prefix; }

const char *tok_piece(const struct tok *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = t->pieces[id].len;
    return t->arena + t->pieces[id].off;
}

float tok_score(const struct tok *t, int32_t id)
{
    return (id >= 0 && id < t->n_vocab) ? t->pieces[id].score : 0.0f;
}

enum tok_type tok_type_of(const struct tok *t, int32_t id)
{
    return (id >= 0 && id < t->n_vocab) ? (enum tok_type)t->pieces[id].type : TOK_TYPE_UNDEFINED;
}

const char *tok_status_name(int status)
{
    switch (status) {
    case TOK_OK: return "ok";
    case TOK_EUNSUPPORTED: return "unsupported";
    case TOK_EMISSING: return "missing";
    case TOK_ECORRUPT: return "corrupt";
    case TOK_ELIMIT: return "limit";
    case TOK_ENOMEM: return "out of memory";
    case TOK_EINVAL: return "invalid argument";
    case TOK_ERANGE: return "out of range";
    default: return "unknown";
    }
}
