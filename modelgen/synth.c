/* synth — what a synthesized model contains: the named shapes, the file
 * types and llama-quantize's per-tensor type rules, spec validation, and
 * the plan (tensors, their order, offsets and the metadata, emitted by
 * synth_emit_metadata). The vocabulary is in synth_vocab.c; random weights
 * and writing the file in synth_write.c. See synth.h. */
#include "modelgen/synth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/err.h"
#include "engine/quant.h"
#include "modelgen/gguf_writer.h"
#include "modelgen/synth_impl.h"

/* ------------------------------------------------------------------ */
/* Shapes                                                               */

static const struct synth_shape shapes[] = {
    { "tiny", "the golden test model's shape (2 layers, ~1.3 M matrix weights)",
      256, 768, 2, 4, 2, 1024, 256, 10000.0f, 1e-5f },
    { "15m", "llama2.c stories15M-like (n_embd 288: no K-quants)",
      288, 768, 6, 6, 6, 32000, 256, 10000.0f, 1e-5f },
    { "110m", "llama2.c stories110M-like",
      768, 2048, 12, 12, 12, 32000, 1024, 10000.0f, 1e-5f },
    { "1.1b", "TinyLlama-1.1B (grouped-query attention, 4 kv heads)",
      2048, 5632, 22, 32, 4, 32000, 2048, 10000.0f, 1e-5f },
    { "7b", "Llama-2-7B",
      4096, 11008, 32, 32, 32, 32000, 4096, 10000.0f, 1e-5f },
};

const struct synth_shape *synth_shape_at(size_t i)
{
    return i < sizeof shapes / sizeof shapes[0] ? &shapes[i] : NULL;
}

int synth_shape_find(const char *name, struct synth_spec *out)
{
    for (size_t i = 0; name && i < sizeof shapes / sizeof shapes[0]; i++) {
        const struct synth_shape *sh = &shapes[i];
        if (strcasecmp(sh->name, name) != 0)
            continue;
        memset(out, 0, sizeof *out);
        snprintf(out->name, sizeof out->name, "synth-%s", sh->name);
        out->n_embd = sh->n_embd;
        out->n_ff = sh->n_ff;
        out->n_layer = sh->n_layer;
        out->n_head = sh->n_head;
        out->n_head_kv = sh->n_head_kv;
        out->n_vocab = sh->n_vocab;
        out->n_ctx = sh->n_ctx;
        out->rope_base = sh->rope_base;
        out->rms_eps = sh->rms_eps;
        out->ftype = SYNTH_FT_Q4_0;
        out->pure = false;
        out->tied = false;
        out->seed = 1;
        return SYNTH_OK;
    }
    return SYNTH_EINVAL;
}

/* ------------------------------------------------------------------ */
/* File types                                                           */

struct ftype_info {
    int ftype;
    const char *name;       /* our --type name */
    const char *llama;      /* llama.cpp's LLAMA_FTYPE_ suffix */
    int base;               /* enum qtype */
};

static const struct ftype_info ftypes[] = {
    { SYNTH_FT_ALL_F32, "F32", "ALL_F32", QT_F32 },
    { SYNTH_FT_F16, "F16", "MOSTLY_F16", QT_F16 },
    { SYNTH_FT_BF16, "BF16", "MOSTLY_BF16", QT_BF16 },
    { SYNTH_FT_Q4_0, "Q4_0", "MOSTLY_Q4_0", QT_Q4_0 },
    { SYNTH_FT_Q4_1, "Q4_1", "MOSTLY_Q4_1", QT_Q4_1 },
    { SYNTH_FT_Q5_0, "Q5_0", "MOSTLY_Q5_0", QT_Q5_0 },
    { SYNTH_FT_Q5_1, "Q5_1", "MOSTLY_Q5_1", QT_Q5_1 },
    { SYNTH_FT_Q8_0, "Q8_0", "MOSTLY_Q8_0", QT_Q8_0 },
    { SYNTH_FT_Q2_K, "Q2_K", "MOSTLY_Q2_K", QT_Q2_K },
    { SYNTH_FT_Q3_K_S, "Q3_K_S", "MOSTLY_Q3_K_S", QT_Q3_K },
    { SYNTH_FT_Q3_K_M, "Q3_K_M", "MOSTLY_Q3_K_M", QT_Q3_K },
    { SYNTH_FT_Q3_K_L, "Q3_K_L", "MOSTLY_Q3_K_L", QT_Q3_K },
    { SYNTH_FT_Q4_K_S, "Q4_K_S", "MOSTLY_Q4_K_S", QT_Q4_K },
    { SYNTH_FT_Q4_K_M, "Q4_K_M", "MOSTLY_Q4_K_M", QT_Q4_K },
    { SYNTH_FT_Q5_K_S, "Q5_K_S", "MOSTLY_Q5_K_S", QT_Q5_K },
    { SYNTH_FT_Q5_K_M, "Q5_K_M", "MOSTLY_Q5_K_M", QT_Q5_K },
    { SYNTH_FT_Q6_K, "Q6_K", "MOSTLY_Q6_K", QT_Q6_K },
    { SYNTH_FT_IQ4_NL, "IQ4_NL", "MOSTLY_IQ4_NL", QT_IQ4_NL },
    { SYNTH_FT_IQ4_XS, "IQ4_XS", "MOSTLY_IQ4_XS", QT_IQ4_XS },
};

/* --type names: the engine types, then the recipes. Q3_K/Q4_K/Q5_K are
 * llama-quantize's aliases of the _M recipes; for --pure they take the
 * file type the golden --pure files carry. */
static const struct {
    const char *name;
    int mix, pure;
} type_names[] = {
    { "F32", SYNTH_FT_ALL_F32, SYNTH_FT_ALL_F32 }, { "F16", SYNTH_FT_F16, SYNTH_FT_F16 },
    { "BF16", SYNTH_FT_BF16, SYNTH_FT_BF16 }, { "Q4_0", SYNTH_FT_Q4_0, SYNTH_FT_Q4_0 },
    { "Q4_1", SYNTH_FT_Q4_1, SYNTH_FT_Q4_1 }, { "Q5_0", SYNTH_FT_Q5_0, SYNTH_FT_Q5_0 },
    { "Q5_1", SYNTH_FT_Q5_1, SYNTH_FT_Q5_1 }, { "Q8_0", SYNTH_FT_Q8_0, SYNTH_FT_Q8_0 },
    { "Q2_K", SYNTH_FT_Q2_K, SYNTH_FT_Q2_K }, { "Q3_K", SYNTH_FT_Q3_K_M, SYNTH_FT_Q3_K_M },
    { "Q4_K", SYNTH_FT_Q4_K_M, SYNTH_FT_Q4_K_S }, { "Q5_K", SYNTH_FT_Q5_K_M, SYNTH_FT_Q5_K_M },
    { "Q6_K", SYNTH_FT_Q6_K, SYNTH_FT_Q6_K }, { "IQ4_NL", SYNTH_FT_IQ4_NL, SYNTH_FT_IQ4_NL },
    { "IQ4_XS", SYNTH_FT_IQ4_XS, SYNTH_FT_IQ4_XS }, { "Q3_K_S", SYNTH_FT_Q3_K_S, SYNTH_FT_Q3_K_S },
    { "Q3_K_M", SYNTH_FT_Q3_K_M, SYNTH_FT_Q3_K_M }, { "Q3_K_L", SYNTH_FT_Q3_K_L, SYNTH_FT_Q3_K_L },
    { "Q4_K_S", SYNTH_FT_Q4_K_S, SYNTH_FT_Q4_K_S }, { "Q4_K_M", SYNTH_FT_Q4_K_M, SYNTH_FT_Q4_K_M },
    { "Q5_K_S", SYNTH_FT_Q5_K_S, SYNTH_FT_Q5_K_S }, { "Q5_K_M", SYNTH_FT_Q5_K_M, SYNTH_FT_Q5_K_M },
};

static const struct ftype_info *ftype_info(int ftype)
{
    for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
        if (ftypes[i].ftype == ftype)
            return &ftypes[i];
    return NULL;
}

int synth_ftype_from_name(const char *name, bool pure)
{
    for (size_t i = 0; name && i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcasecmp(type_names[i].name, name) == 0)
            return pure ? type_names[i].pure : type_names[i].mix;
    return -1;
}

const char *synth_ftype_name(int ftype)
{
    const struct ftype_info *fi = ftype_info(ftype);
    return fi ? fi->name : "unknown";
}

const char *synth_ftype_llama_name(int ftype)
{
    const struct ftype_info *fi = ftype_info(ftype);
    return fi ? fi->llama : "unknown";
}

int synth_ftype_base_type(int ftype)
{
    const struct ftype_info *fi = ftype_info(ftype);
    return fi ? fi->base : -1;
}

const char *synth_type_names(void)
{
    return "F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL IQ4_XS "
           "Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M";
}

/* ------------------------------------------------------------------ */
/* Spec validation                                                      */

static int bad(const char **bad_field, const char *field, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int bad(const char **bad_field, const char *field, char *err, size_t err_len, const char *fmt, ...)
{
    if (bad_field)
        *bad_field = field;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, err_len, fmt, ap);
    va_end(ap);
    return SYNTH_EINVAL;
}

#define CHECK_RANGE(field, lo, hi)                                                                        \
    do {                                                                                                  \
        if (s->field < (lo) || s->field > (hi))                                                           \
            return bad(bad_field, #field, err, err_len, #field " %" PRId64 " is out of range (allowed %"  \
                       PRId64 "..%" PRId64 ")", (int64_t)s->field, (int64_t)(lo), (int64_t)(hi));         \
    } while (0)

int synth_spec_check(const struct synth_spec *s, const char **bad_field, char *err, size_t err_len)
{
    if (!memchr(s->name, '\0', sizeof s->name) || s->name[0] == '\0')
        return bad(bad_field, "name", err, err_len, "name must be 1..%zu bytes", sizeof s->name - 1);
    CHECK_RANGE(n_embd, 32, 65536);
    CHECK_RANGE(n_ff, 32, 1 << 20);
    CHECK_RANGE(n_layer, 1, SYNTH_MAX_LAYER);
    CHECK_RANGE(n_head, 1, s->n_embd);
    CHECK_RANGE(n_head_kv, 1, s->n_head);
    CHECK_RANGE(n_vocab, SYNTH_MIN_VOCAB, 1 << 24);
    CHECK_RANGE(n_ctx, 1, 1 << 24);
    if (!(s->rope_base > 0.0f) || !isfinite(s->rope_base))
        return bad(bad_field, "rope_base", err, err_len, "rope_base %g must be a positive finite number",
                   (double)s->rope_base);
    if (!(s->rms_eps > 0.0f) || !(s->rms_eps < 1.0f))
        return bad(bad_field, "rms_eps", err, err_len, "rms_eps %g must be in (0, 1)", (double)s->rms_eps);
    if (s->n_embd % s->n_head != 0)
        return bad(bad_field, "n_head", err, err_len, "n_head %" PRId64 " does not divide n_embd %" PRId64,
                   s->n_head, s->n_embd);
    if ((s->n_embd / s->n_head) % 2 != 0)
        return bad(bad_field, "n_head", err, err_len,
                   "head size n_embd/n_head = %" PRId64 " must be even (RoPE rotates pairs)", s->n_embd / s->n_head);
    if (s->n_head % s->n_head_kv != 0)
        return bad(bad_field, "n_head_kv", err, err_len, "n_head_kv %" PRId64 " does not divide n_head %" PRId64,
                   s->n_head_kv, s->n_head);
    const struct ftype_info *fi = ftype_info(s->ftype);
    if (!fi)
        return bad(bad_field, "ftype", err, err_len, "file type %d is not one of the supported ones", s->ftype);
    const struct quant_traits *tr = quant_traits_get(fi->base);
    if (!tr)
        return bad(bad_field, "ftype", err, err_len, "file type %s: base type %d unknown to the engine",
                   fi->name, fi->base);
    /* Every matrix has n_embd or n_ff as its row length; the base type's
     * block must divide both. (Types the mix upgrades to fall back the way
     * llama-quantize does; see tensor_type.) */
    if (s->n_embd % tr->blck != 0)
        return bad(bad_field, "n_embd", err, err_len,
                   "n_embd %" PRId64 " is not a multiple of %" PRId64 " (the block size of %s)", s->n_embd,
                   tr->blck, tr->name);
    if (s->n_ff % tr->blck != 0)
        return bad(bad_field, "n_ff", err, err_len,
                   "n_ff %" PRId64 " is not a multiple of %" PRId64 " (the block size of %s)", s->n_ff,
                   tr->blck, tr->name);
    return SYNTH_OK;
}

/* ------------------------------------------------------------------ */
/* Per-tensor types: llama-quantize's choice (llama.cpp llama-quant.cpp,
 * llama_tensor_get_type, as of the build that made tests/golden), for the
 * llama architecture without an importance matrix. */

static bool use_more_bits(int64_t i_layer, int64_t n_layer)
{
    return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

static int blck_of(int type)
{
    return (int)quant_traits_get(type)->blck;
}

/* llama-quantize's fallback when a row length is not a multiple of the
 * chosen type's block. */
static int fallback_type(int type, int64_t ne0)
{
    if (ne0 % blck_of(type) == 0)
        return type;
    switch (type) {
    case QT_Q2_K: case QT_Q3_K: case QT_IQ4_XS: type = QT_IQ4_NL; break;
    case QT_Q4_K: type = QT_Q5_0; break;
    case QT_Q5_K: type = QT_Q5_1; break;
    case QT_Q6_K: type = QT_Q8_0; break;
    default: break;
    }
    return ne0 % blck_of(type) == 0 ? type : QT_F16;
}

static int tensor_type(const struct synth_spec *s, enum synth_role role, int64_t layer, int64_t ne0)
{
    if (role == SYNTH_ATTN_NORM || role == SYNTH_FFN_NORM || role == SYNTH_OUTPUT_NORM)
        return QT_F32;
    const int base = synth_ftype_base_type(s->ftype);
    if (!quant_traits_get(base)->is_quantized || s->pure)
        return base;
    const int ft = s->ftype;
    const int64_t n_layer = s->n_layer;
    const int64_t n_gqa = s->n_head / s->n_head_kv;
    int t = base;
    if (role == SYNTH_OUTPUT || (role == SYNTH_TOKEN_EMBD && s->tied)) {
        if (ne0 % QK_K != 0)
            t = QT_Q8_0;
        else if (t != QT_Q8_0)
            t = QT_Q6_K;
    } else if (role == SYNTH_ATTN_V) {
        if (ft == SYNTH_FT_Q2_K)
            t = n_gqa >= 4 ? QT_Q4_K : QT_Q3_K;
        else if (ft == SYNTH_FT_Q3_K_M)
            t = layer < 2 ? QT_Q5_K : QT_Q4_K;
        else if (ft == SYNTH_FT_Q3_K_L)
            t = QT_Q5_K;
        else if ((ft == SYNTH_FT_IQ4_NL || ft == SYNTH_FT_IQ4_XS) && n_gqa >= 4)
            t = QT_Q5_K;
        else if ((ft == SYNTH_FT_Q4_K_M || ft == SYNTH_FT_Q5_K_M) && use_more_bits(layer, n_layer))
            t = QT_Q6_K;
        else if (ft == SYNTH_FT_Q4_K_S && layer < 4)
            t = QT_Q5_K;
        /* llama.cpp's 70B rule: 80 layers with grouped-query attention. */
        if (n_layer == 80 && s->n_head != s->n_head_kv && (t == QT_Q3_K || t == QT_Q4_K))
            t = QT_Q5_K;
    } else if (role == SYNTH_FFN_DOWN) {
        if (ft == SYNTH_FT_Q2_K)
            t = QT_Q3_K;
        else if (ft == SYNTH_FT_Q3_K_M)
            t = layer < n_layer / 16 ? QT_Q5_K : QT_Q4_K;
        else if (ft == SYNTH_FT_Q3_K_L)
            t = QT_Q5_K;
        else if (ft == SYNTH_FT_Q4_K_M && use_more_bits(layer, n_layer))
            t = QT_Q6_K;
        else if ((ft == SYNTH_FT_IQ4_NL || ft == SYNTH_FT_IQ4_XS) && layer < n_layer / 8)
            t = QT_Q5_K;
        else if (ft == SYNTH_FT_Q5_K_M && use_more_bits(layer, n_layer))
            t = QT_Q6_K;
        else if (ft == SYNTH_FT_Q4_K_S && layer < n_layer / 8)
            t = QT_Q5_K;
    } else if (role == SYNTH_ATTN_OUTPUT) {
        if (ft == SYNTH_FT_Q2_K)
            t = QT_Q3_K;
        else if (ft == SYNTH_FT_Q3_K_M)
            t = QT_Q4_K;
        else if (ft == SYNTH_FT_Q3_K_L)
            t = QT_Q5_K;
    }
    return fallback_type(t, ne0);
}

/* ------------------------------------------------------------------ */
/* Plan                                                                 */

/* Two layouts, copied from the golden files: the F32 file is what the
 * converter writes (tensors in model order, general.file_type early, no
 * general.quantization_version); every other type is llama-quantize's
 * output (tensors sorted the way llama.cpp's loader sorts them: tensors
 * outside the blocks by name, then block by block, by name within one;
 * general.quantization_version and general.file_type appended last). */
static bool converter_layout(const struct synth_spec *s)
{
    return s->ftype == SYNTH_FT_ALL_F32;
}

static const char *role_name(enum synth_role r)
{
    switch (r) {
    case SYNTH_TOKEN_EMBD: return "token_embd";
    case SYNTH_OUTPUT_NORM: return "output_norm";
    case SYNTH_OUTPUT: return "output";
    case SYNTH_ATTN_NORM: return "attn_norm";
    case SYNTH_ATTN_Q: return "attn_q";
    case SYNTH_ATTN_K: return "attn_k";
    case SYNTH_ATTN_V: return "attn_v";
    case SYNTH_ATTN_OUTPUT: return "attn_output";
    case SYNTH_FFN_NORM: return "ffn_norm";
    case SYNTH_FFN_GATE: return "ffn_gate";
    case SYNTH_FFN_DOWN: return "ffn_down";
    case SYNTH_FFN_UP: return "ffn_up";
    }
    return "?";
}

static void set_tensor(struct synth_tensor *t, const struct synth_spec *s, enum synth_role role, int layer)
{
    const int64_t n_embd_kv = s->n_embd / s->n_head * s->n_head_kv;
    memset(t, 0, sizeof *t);
    t->role = role;
    t->layer = layer;
    if (layer < 0)
        snprintf(t->name, sizeof t->name, "%s.weight", role_name(role));
    else
        snprintf(t->name, sizeof t->name, "blk.%d.%s.weight", layer, role_name(role));
    t->n_dims = 2;
    switch (role) {
    case SYNTH_TOKEN_EMBD: case SYNTH_OUTPUT:       /* [n_vocab][n_embd] */
        t->ne[0] = s->n_embd; t->ne[1] = s->n_vocab; break;
    case SYNTH_OUTPUT_NORM: case SYNTH_ATTN_NORM: case SYNTH_FFN_NORM: /* [n_embd] */
        t->n_dims = 1; t->ne[0] = s->n_embd; t->ne[1] = 1; break;
    case SYNTH_ATTN_Q: case SYNTH_ATTN_OUTPUT:      /* [n_embd][n_embd] */
        t->ne[0] = s->n_embd; t->ne[1] = s->n_embd; break;
    case SYNTH_ATTN_K: case SYNTH_ATTN_V:           /* [n_embd_kv][n_embd] */
        t->ne[0] = s->n_embd; t->ne[1] = n_embd_kv; break;
    case SYNTH_FFN_GATE: case SYNTH_FFN_UP:         /* [n_ff][n_embd] */
        t->ne[0] = s->n_embd; t->ne[1] = s->n_ff; break;
    case SYNTH_FFN_DOWN:                            /* [n_embd][n_ff] */
        t->ne[0] = s->n_ff; t->ne[1] = s->n_embd; break;
    }
    t->type = tensor_type(s, role, layer, t->ne[0]);
    t->n_bytes = quant_row_size(t->type, t->ne[0]) * (uint64_t)t->ne[1];
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static uint64_t n_kv_of(const struct synth_spec *s)
{
    return converter_layout(s) ? 20 : 21;
}

/* Every key/value pair, in the golden files' order. */
static void emit_kvs(struct gguf_writer *w, const struct synth_spec *s)
{
    const bool conv = converter_layout(s);
    gguf_writer_kv_str(w, "general.architecture", "llama");
    gguf_writer_kv_str(w, "general.name", s->name);
    gguf_writer_kv_u32(w, "general.alignment", SYNTH_ALIGNMENT);
    if (conv)
        gguf_writer_kv_u32(w, "general.file_type", (uint32_t)s->ftype);
    gguf_writer_kv_u32(w, "llama.context_length", (uint32_t)s->n_ctx);
    gguf_writer_kv_u32(w, "llama.embedding_length", (uint32_t)s->n_embd);
    gguf_writer_kv_u32(w, "llama.block_count", (uint32_t)s->n_layer);
    gguf_writer_kv_u32(w, "llama.feed_forward_length", (uint32_t)s->n_ff);
    gguf_writer_kv_u32(w, "llama.rope.dimension_count", (uint32_t)(s->n_embd / s->n_head));
    gguf_writer_kv_u32(w, "llama.attention.head_count", (uint32_t)s->n_head);
    gguf_writer_kv_u32(w, "llama.attention.head_count_kv", (uint32_t)s->n_head_kv);
    gguf_writer_kv_f32(w, "llama.attention.layer_norm_rms_epsilon", s->rms_eps);
    gguf_writer_kv_f32(w, "llama.rope.freq_base", s->rope_base);
    gguf_writer_kv_str(w, "tokenizer.ggml.model", "llama");

    char tok[64];
    float score;
    int32_t type;
    const uint64_t n_vocab = (uint64_t)s->n_vocab;
    gguf_writer_kv_arr_begin(w, "tokenizer.ggml.tokens", GGUF_WRITER_STRING, n_vocab);
    for (uint64_t i = 0; i < n_vocab && w->status == GGUF_WRITER_OK; i++) {
        size_t len = synth_vocab_token((int64_t)i, tok, sizeof tok, NULL, NULL);
        gguf_writer_arr_str(w, tok, len);
    }
    gguf_writer_kv_arr_begin(w, "tokenizer.ggml.scores", GGUF_WRITER_FLOAT32, n_vocab);
    for (uint64_t i = 0; i < n_vocab && w->status == GGUF_WRITER_OK; i++) {
        synth_vocab_token((int64_t)i, tok, sizeof tok, &score, NULL);
        gguf_writer_arr_f32(w, score);
    }
    gguf_writer_kv_arr_begin(w, "tokenizer.ggml.token_type", GGUF_WRITER_INT32, n_vocab);
    for (uint64_t i = 0; i < n_vocab && w->status == GGUF_WRITER_OK; i++) {
        synth_vocab_token((int64_t)i, tok, sizeof tok, NULL, &type);
        gguf_writer_arr_i32(w, type);
    }
    gguf_writer_kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_writer_kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gguf_writer_kv_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    if (!conv) {
        gguf_writer_kv_u32(w, "general.quantization_version", 2);
        gguf_writer_kv_u32(w, "general.file_type", (uint32_t)s->ftype);
    }
}

/* Header, metadata, tensor infos and the padding before the data. */
int synth_emit_metadata(struct gguf_writer *w, const struct synth_plan *p)
{
    gguf_writer_header(w, p->n_tensors, p->n_kv);
    emit_kvs(w, &p->spec);
    for (uint64_t i = 0; i < p->n_tensors; i++) {
        const struct synth_tensor *t = &p->tensors[i];
        gguf_writer_tensor_info(w, t->name, t->n_dims, t->ne, t->type, t->offset);
    }
    return gguf_writer_pad(w, SYNTH_ALIGNMENT);
}

int synth_plan_new(const struct synth_spec *s, struct synth_plan **out, char *err, size_t err_len)
{
    *out = NULL;
    int rc = synth_spec_check(s, NULL, err, err_len);
    if (rc != SYNTH_OK)
        return rc;
    struct synth_plan *p = calloc(1, sizeof *p);
    const uint64_t n_tensors = 2 + (s->tied ? 0 : 1) + 9 * (uint64_t)s->n_layer;
    struct synth_tensor *ts = calloc(n_tensors, sizeof *ts);
    if (!p || !ts) {
        free(p);
        free(ts);
        snprintf(err, err_len, "out of memory planning %" PRIu64 " tensors", n_tensors);
        return SYNTH_ENOMEM;
    }
    p->spec = *s;
    p->tensors = ts;
    p->n_tensors = n_tensors;
    p->n_kv = n_kv_of(s);

    uint64_t n = 0;
    if (converter_layout(s)) {
        static const enum synth_role block[] = { SYNTH_ATTN_NORM, SYNTH_ATTN_Q, SYNTH_ATTN_K, SYNTH_ATTN_V,
                                                 SYNTH_ATTN_OUTPUT, SYNTH_FFN_NORM, SYNTH_FFN_GATE,
                                                 SYNTH_FFN_UP, SYNTH_FFN_DOWN };
        set_tensor(&ts[n++], s, SYNTH_TOKEN_EMBD, -1);
        for (int l = 0; l < s->n_layer; l++)
            for (size_t j = 0; j < sizeof block / sizeof block[0]; j++)
                set_tensor(&ts[n++], s, block[j], l);
        set_tensor(&ts[n++], s, SYNTH_OUTPUT_NORM, -1);
        if (!s->tied)
            set_tensor(&ts[n++], s, SYNTH_OUTPUT, -1);
    } else {
        /* Sorted by name within a block: attn_k < attn_norm < attn_output... */
        static const enum synth_role block[] = { SYNTH_ATTN_K, SYNTH_ATTN_NORM, SYNTH_ATTN_OUTPUT,
                                                 SYNTH_ATTN_Q, SYNTH_ATTN_V, SYNTH_FFN_DOWN,
                                                 SYNTH_FFN_GATE, SYNTH_FFN_NORM, SYNTH_FFN_UP };
        if (!s->tied)
            set_tensor(&ts[n++], s, SYNTH_OUTPUT, -1);
        set_tensor(&ts[n++], s, SYNTH_OUTPUT_NORM, -1);
        set_tensor(&ts[n++], s, SYNTH_TOKEN_EMBD, -1);
        for (int l = 0; l < s->n_layer; l++)
            for (size_t j = 0; j < sizeof block / sizeof block[0]; j++)
                set_tensor(&ts[n++], s, block[j], l);
    }

    uint64_t off = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        ts[i].offset = off;
        off = align_up(off + ts[i].n_bytes, SYNTH_ALIGNMENT);
    }
    p->data_bytes = off;

    /* The metadata's size: the same emitting code, counting only. */
    struct gguf_writer w;
    gguf_writer_init(&w, -1, NULL, 0, 0);
    if (synth_emit_metadata(&w, p) != GGUF_WRITER_OK) {
        snprintf(err, err_len, "planning the metadata: %s", w.err);
        synth_plan_free(p);
        return SYNTH_EINVAL;
    }
    p->data_offset = w.offset;
    p->file_bytes = p->data_offset + p->data_bytes;
    *out = p;
    return SYNTH_OK;
}

void synth_plan_free(struct synth_plan *p)
{
    if (!p)
        return;
    free(p->tensors);
    free(p);
}

const struct synth_tensor *synth_plan_find(const struct synth_plan *p, const char *name)
{
    for (uint64_t i = 0; i < p->n_tensors; i++)
        if (strcmp(p->tensors[i].name, name) == 0)
            return &p->tensors[i];
    return NULL;
}

