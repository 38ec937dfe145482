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

/* The staging buffer of synth_write: the only allocation that scales with
 * nothing but this constant. */
#define SYNTH_BUF_BYTES (4u << 20)

/* Spread of the synthesized weights: what llama-style initialisation and
 * the golden model use. */
#define WEIGHT_STD 0.02f

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
/* Vocabulary                                                           */

#define SP "\xe2\x96\x81" /* U+2581, SentencePiece's space */

/* Normal tokens after the byte tokens, most useful first: "▁", single
 * characters, "▁" + letter, common English (and TinyStories) words with
 * every prefix so SentencePiece merges can reach them, common suffixes.
 * Unique; none has the "▁w<digits>" form of the fillers that follow. */
static const char *const pieces[] = {
    SP, "e", "t", "a", "o", "i", "n", "s", "h", "r", "d", "l", "c", "u", "m", "w", "f", "g", "y", "p", "b",
    "v", "k", "j", "x", "q", "z", "E", "T", "A", "O", "I", "N", "S", "H", "R", "D", "L", "C", "U", "M", "W",
    "F", "G", "Y", "P", "B", "V", "K", "J", "X", "Q", "Z", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    ".", ",", "!", "?", "'", "\"", "-", ":", ";", "(", ")", SP "e", SP "t", SP "a", SP "o", SP "i", SP "n",
    SP "s", SP "h", SP "r", SP "d", SP "l", SP "c", SP "u", SP "m", SP "w", SP "f", SP "g", SP "y", SP "p",
    SP "b", SP "v", SP "k", SP "j", SP "x", SP "q", SP "z", SP "E", SP "T", SP "A", SP "O", SP "I", SP "N",
    SP "S", SP "H", SP "R", SP "D", SP "L", SP "C", SP "U", SP "M", SP "W", SP "F", SP "G", SP "Y", SP "P",
    SP "B", SP "V", SP "K", SP "J", SP "X", SP "Q", SP "Z", SP "th", SP "the", SP "of", SP "an", SP "and",
    SP "to", SP "in", SP "is", SP "wa", SP "was", SP "he", SP "sh", SP "she", SP "it", SP "fo", SP "for",
    SP "on", SP "tha", SP "that", SP "wi", SP "wit", SP "with", SP "as", SP "hi", SP "his", SP "her",
    SP "they", SP "at", SP "be", SP "thi", SP "this", SP "ha", SP "had", SP "no", SP "not", SP "bu",
    SP "but", SP "fr", SP "fro", SP "from", SP "by", SP "hav", SP "have", SP "yo", SP "you", SP "ar",
    SP "are", SP "or", SP "one", SP "al", SP "all", SP "we", SP "wer", SP "were", SP "wh", SP "whe",
    SP "when", SP "ther", SP "there", SP "ca", SP "can", SP "whi", SP "whic", SP "which", SP "thei",
    SP "their", SP "sa", SP "sai", SP "said", SP "if", SP "do", SP "wil", SP "will", SP "ea", SP "eac",
    SP "each", SP "ab", SP "abo", SP "abou", SP "about", SP "ho", SP "how", SP "up", SP "ou", SP "out",
    SP "them", SP "then", SP "so", SP "som", SP "some", SP "wo", SP "wou", SP "woul", SP "would", SP "ma",
    SP "mak", SP "make", SP "li", SP "lik", SP "like", SP "him", SP "int", SP "into", SP "ti", SP "tim",
    SP "time", SP "has", SP "lo", SP "loo", SP "look", SP "tw", SP "two", SP "mo", SP "mor", SP "more",
    SP "go", SP "se", SP "see", SP "way", SP "co", SP "cou", SP "coul", SP "could", SP "my", SP "than",
    SP "fi", SP "fir", SP "firs", SP "first", SP "bee", SP "been", SP "who", SP "its", SP "now", SP "da",
    SP "day", SP "di", SP "did", SP "ge", SP "get", SP "com", SP "come", SP "mad", SP "made", SP "may",
    SP "pa", SP "par", SP "part", SP "onc", SP "once", SP "upo", SP "upon", SP "lit", SP "litt", SP "littl",
    SP "little", SP "gi", SP "gir", SP "girl", SP "bo", SP "boy", SP "na", SP "nam", SP "name", SP "named",
    SP "Li", SP "Lil", SP "Lily", SP "To", SP "Tom", SP "Be", SP "Ben", SP "Su", SP "Sue", SP "Mo", SP "Mom",
    SP "Da", SP "Dad", SP "mom", SP "dad", SP "hap", SP "happ", SP "happy", SP "bi", SP "big", SP "ve",
    SP "ver", SP "very", SP "pl", SP "pla", SP "play", SP "playe", SP "played", SP "saw", SP "wen",
    SP "went", SP "wan", SP "want", SP "wante", SP "wanted", SP "fri", SP "frie", SP "frien", SP "friend",
    SP "friends", SP "tr", SP "tre", SP "tree", SP "ba", SP "bal", SP "ball", SP "dog", SP "cat", SP "bir",
    SP "bird", SP "su", SP "sun", SP "park", SP "fu", SP "fun", SP "toy", SP "toys", SP "hel", SP "help",
    SP "sad", SP "goo", SP "good", SP "ne", SP "new", SP "lov", SP "love", SP "loved", SP "liked", SP "fou",
    SP "foun", SP "found", SP "thank", SP "thanks", SP "Th", SP "The", SP "Ther", SP "There", SP "On",
    SP "Onc", SP "Once", SP "He", SP "Sh", SP "She", SP "They", SP "One", SP "It", SP "Bu", SP "But",
    SP "Wh", SP "Whe", SP "When", SP "Wha", SP "What", SP "Then", SP "Mi", SP "Mia", SP "Ma", SP "Max",
    SP "Ti", SP "Tim", SP "Sa", SP "Sam", SP "An", SP "Ann", SP "Anna", SP "Ja", SP "Jac", SP "Jack",
    SP "hom", SP "home", SP "hou", SP "hous", SP "house", SP "ro", SP "roo", SP "room", SP "car", SP "re",
    SP "red", SP "bl", SP "blu", SP "blue", SP "gr", SP "gre", SP "gree", SP "green", SP "ye", SP "yel",
    SP "yell", SP "yello", SP "yellow", SP "sm", SP "sma", SP "smal", SP "small", SP "ol", SP "old",
    SP "lon", SP "long", SP "ni", SP "nic", SP "nice", SP "ki", SP "kin", SP "kind", SP "sor", SP "sorr",
    SP "sorry", SP "sc", SP "sca", SP "scar", SP "scare", SP "scared", SP "smi", SP "smil", SP "smile",
    SP "smiled", SP "la", SP "lau", SP "laug", SP "laugh", SP "laughe", SP "laughed", SP "ra", SP "ran",
    SP "ju", SP "jum", SP "jump", SP "jumpe", SP "jumped", SP "wal", SP "walk", SP "walke", SP "walked",
    SP "looke", SP "looked", SP "ask", SP "aske", SP "asked", SP "tol", SP "told", SP "kn", SP "kno",
    SP "know", SP "kne", SP "knew", SP "thin", SP "think", SP "tho", SP "thou", SP "thoug", SP "though",
    SP "thought", SP "fe", SP "fel", SP "felt", SP "fee", SP "feel", SP "hu", SP "hug", SP "hugg",
    SP "hugge", SP "hugged", SP "mot", SP "moth", SP "mothe", SP "mother", SP "fa", SP "fat", SP "fath",
    SP "fathe", SP "father", SP "si", SP "sis", SP "sist", SP "siste", SP "sister", SP "br", SP "bro",
    SP "brot", SP "broth", SP "brothe", SP "brother", SP "bab", SP "baby", SP "wat", SP "wate", SP "water",
    SP "foo", SP "food", SP "cak", SP "cake", SP "ap", SP "app", SP "appl", SP "apple", SP "box", SP "bag",
    SP "wha", SP "what", SP "wher", SP "where", SP "why", SP "bec", SP "beca", SP "becau", SP "becaus",
    SP "because", SP "af", SP "aft", SP "afte", SP "after", SP "bef", SP "befo", SP "befor", SP "before",
    SP "ag", SP "aga", SP "agai", SP "again", SP "bac", SP "back", SP "dow", SP "down", SP "ov", SP "ove",
    SP "over", SP "un", SP "und", SP "unde", SP "under", SP "aro", SP "arou", SP "aroun", SP "around",
    SP "aw", SP "awa", SP "away", SP "ev", SP "eve", SP "ever", SP "every", SP "ot", SP "oth", SP "othe",
    SP "other", SP "jus", SP "just", SP "onl", SP "only", SP "als", SP "also", SP "too", "in", "ing", "ed",
    "er", "ly", "es", "est", "ti", "tio", "tion", "me", "men", "ment", "ne", "nes", "ness", "fu", "ful",
    "le", "les", "less", "ab", "abl", "able", "en", "ie", SP ".", SP ",", SP "!", SP "?", SP "'", SP "\"",
};

#define N_PIECES ((int64_t)(sizeof pieces / sizeof pieces[0]))

size_t synth_vocab_token(int64_t id, char *buf, size_t buf_len, float *score, int32_t *token_type)
{
    int n;
    float sc = 0.0f;
    int32_t tt = 1; /* NORMAL */
    if (id == 0) {
        n = snprintf(buf, buf_len, "<unk>");
        tt = 2; /* UNKNOWN */
    } else if (id == 1 || id == 2) {
        n = snprintf(buf, buf_len, id == 1 ? "<s>" : "</s>");
        tt = 3; /* CONTROL */
    } else if (id < 259) {
        n = snprintf(buf, buf_len, "<0x%02X>", (unsigned)(id - 3));
        tt = 6; /* BYTE */
    } else {
        int64_t k = id - 259;
        if (k < N_PIECES)
            n = snprintf(buf, buf_len, "%s", pieces[k]);
        else
            n = snprintf(buf, buf_len, SP "w%" PRId64, k - N_PIECES);
        sc = k == 0 ? 0.0f : -(float)k;
    }
    if (score)
        *score = sc;
    if (token_type)
        *token_type = tt;
    if (n < 0)
        return 0;
    return (size_t)n < buf_len ? (size_t)n : (buf_len ? buf_len - 1 : 0);
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
static int emit_metadata(struct gguf_writer *w, const struct synth_plan *p)
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
    if (emit_metadata(&w, p) != GGUF_WRITER_OK) {
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

/* ------------------------------------------------------------------ */
/* Random weights                                                       */

/* The blocks come from each type's recipe in the quant type table
 * (engine/quant_random.c); the stream of one tensor depends only on
 * (seed, tensor name). */
static void rng_seed(struct quant_rng *r, uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 0x100000001b3ull;
    quant_rng_seed(r, seed, h);
}

/* Fill nb blocks of type `type` at p with random content. */
static void fill_blocks(int type, struct quant_rng *r, uint8_t *p, size_t nb)
{
    if (quant_random_blocks(type, r, p, nb, WEIGHT_STD) != 0)
        /* Unreachable: plans only hold types with a recipe. Zeros keep the
         * file well-formed if a type is ever added to a plan alone. */
        memset(p, 0, nb * quant_traits_get(type)->type_size);
}

/* ------------------------------------------------------------------ */
/* Writing                                                              */

struct write_ctx {
    struct gguf_writer w;
    const struct synth_plan *plan;
    synth_progress_fn progress;
    void *user;
    bool canceled;
};

static int write_tensor(struct write_ctx *c, const struct synth_tensor *t)
{
    struct gguf_writer *w = &c->w;
    const struct quant_traits *tr = quant_traits_get(t->type);
    const uint64_t total_blocks = (uint64_t)t->ne[0] / (uint64_t)tr->blck * (uint64_t)t->ne[1];
    const uint64_t per_chunk = gguf_writer_reserve_max(w) / tr->type_size;
    const bool is_norm = t->n_dims == 1;
    struct quant_rng r;
    rng_seed(&r, c->plan->spec.seed, t->name);
    for (uint64_t done = 0; done < total_blocks;) {
        uint64_t nb = total_blocks - done < per_chunk ? total_blocks - done : per_chunk;
        uint8_t *p = gguf_writer_reserve(w, (size_t)(nb * tr->type_size));
        if (!p)
            return w->status;
        if (is_norm) {
            const float one = 1.0f;
            for (uint64_t i = 0; i < nb; i++)
                memcpy(p + 4 * i, &one, 4);
        } else {
            fill_blocks(t->type, &r, p, (size_t)nb);
        }
        done += nb;
        if (c->progress && c->progress(w->offset, c->plan->file_bytes, c->user) != 0) {
            c->canceled = true;
            return GGUF_WRITER_OK;
        }
    }
    return gguf_writer_pad(w, SYNTH_ALIGNMENT);
}

static int synth_status_of(int writer_status)
{
    switch (writer_status) {
    case GGUF_WRITER_OK: return SYNTH_OK;
    case GGUF_WRITER_ENOSPC: return SYNTH_ENOSPC;
    case GGUF_WRITER_EINVAL: return SYNTH_EINVAL;
    default: return SYNTH_EIO;
    }
}

/* The directory part of path ("." when it has none). */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Move tmp to path, refusing to replace path unless force. */
static int publish(const char *tmp, const char *path, bool force, char *err, size_t err_len)
{
    if (force) {
        if (rename(tmp, path) == 0)
            return SYNTH_OK;
    } else {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
            return SYNTH_OK;
        if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
            /* A file system without RENAME_NOREPLACE: a hard link does not
             * replace either. */
            if (link(tmp, path) == 0) {
                unlink(tmp);
                return SYNTH_OK;
            }
            /* Nor hard links (some FUSE and network file systems): check,
             * then rename, accepting the small race. */
            struct stat st;
            if (errno != EEXIST) {
                if (lstat(path, &st) == 0)
                    errno = EEXIST;
                else if (rename(tmp, path) == 0)
                    return SYNTH_OK;
            }
        }
        if (errno == EEXIST) {
            snprintf(err, err_len, "%s already exists (appeared while writing)", path);
            return SYNTH_EEXIST;
        }
    }
    snprintf(err, err_len, "rename %s -> %s: %s", tmp, path, strerror(errno));
    return SYNTH_EIO;
}

int synth_write(const struct synth_spec *s, const char *path, unsigned flags,
                synth_progress_fn progress, void *user, char *err, size_t err_len)
{
    const bool force = (flags & SYNTH_FORCE) != 0;
    struct synth_plan *plan = NULL;
    char tmp[PATH_MAX], dir[PATH_MAX];
    uint8_t *buf = NULL;
    int fd = -1;
    bool tmp_made = false;
    struct stat st;

    int rc = synth_plan_new(s, &plan, err, err_len);
    if (rc != SYNTH_OK)
        return rc;
    if (!path || !*path) {
        snprintf(err, err_len, "empty output path");
        rc = SYNTH_EINVAL;
        goto out;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, err_len, "output path too long (%zu bytes)", strlen(path));
        rc = SYNTH_EINVAL;
        goto out;
    }
    if (lstat(path, &st) == 0) {
        if (!force) {
            snprintf(err, err_len, "%s already exists", path);
            rc = SYNTH_EEXIST;
            goto out;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, err_len, "%s is a directory", path);
            rc = SYNTH_EINVAL;
            goto out;
        }
    }
    dir_of(path, dir, sizeof dir);
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0) {
        snprintf(err, err_len, "output directory %s: %s", dir, strerror(errno));
        rc = SYNTH_EIO;
        goto out;
    }
    const uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    if (avail < plan->file_bytes) {
        snprintf(err, err_len, "not enough space in %s: the file needs %" PRIu64 " bytes (%.1f MiB), %"
                 PRIu64 " bytes (%.1f MiB) are available", dir, plan->file_bytes,
                 (double)plan->file_bytes / 1048576.0, avail, (double)avail / 1048576.0);
        rc = SYNTH_ENOSPC;
        goto out;
    }
    buf = malloc(SYNTH_BUF_BYTES);
    if (!buf) {
        snprintf(err, err_len, "out of memory for the %u-byte write buffer", SYNTH_BUF_BYTES);
        rc = SYNTH_ENOMEM;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_len, "create %s: %s", tmp, strerror(errno));
        rc = errno == ENOSPC || errno == EDQUOT ? SYNTH_ENOSPC : SYNTH_EIO;
        goto out;
    }
    tmp_made = true;
    /* Reserve the blocks up front: a full disk fails now, not at 90%.
     * File systems without fallocate just skip this. */
    if (plan->file_bytes > 0 && fallocate(fd, 0, 0, (off_t)plan->file_bytes) != 0 &&
        (errno == ENOSPC || errno == EDQUOT)) {
        snprintf(err, err_len, "reserving %" PRIu64 " bytes for %s: %s", plan->file_bytes, tmp, strerror(errno));
        rc = SYNTH_ENOSPC;
        goto out;
    }

    struct write_ctx c = { .plan = plan, .progress = progress, .user = user };
    gguf_writer_init(&c.w, fd, buf, SYNTH_BUF_BYTES, GGUF_WRITER_DEFER_MAGIC);
    emit_metadata(&c.w, plan);
    if (c.w.status == GGUF_WRITER_OK && c.w.offset != plan->data_offset) {
        snprintf(err, err_len, "internal: metadata took %" PRIu64 " bytes, planned %" PRIu64,
                 c.w.offset, plan->data_offset);
        rc = SYNTH_EIO;
        goto out;
    }
    for (uint64_t i = 0; i < plan->n_tensors && c.w.status == GGUF_WRITER_OK && !c.canceled; i++)
        write_tensor(&c, &plan->tensors[i]);
    if (c.canceled) {
        snprintf(err, err_len, "canceled after %" PRIu64 " of %" PRIu64 " bytes", c.w.offset, plan->file_bytes);
        rc = SYNTH_ECANCELED;
        goto out;
    }
    if (c.w.status == GGUF_WRITER_OK && c.w.offset != plan->file_bytes) {
        snprintf(err, err_len, "internal: wrote %" PRIu64 " bytes, planned %" PRIu64, c.w.offset,
                 plan->file_bytes);
        rc = SYNTH_EIO;
        goto out;
    }
    if (gguf_writer_finish(&c.w, true) != GGUF_WRITER_OK) {
        snprintf(err, err_len, "%s: %s", tmp, c.w.err);
        rc = synth_status_of(c.w.status);
        goto out;
    }
    if (progress)
        progress(plan->file_bytes, plan->file_bytes, user);
    int fd_closing = fd;
    fd = -1;
    if (close(fd_closing) != 0) {
        snprintf(err, err_len, "close %s: %s", tmp, strerror(errno));
        rc = SYNTH_EIO;
        goto out;
    }
    rc = publish(tmp, path, force, err, err_len);
    if (rc != SYNTH_OK)
        goto out;
    tmp_made = false;
    /* Make the rename durable too. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }

out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        unlink(tmp);
    free(buf);
    synth_plan_free(plan);
    return rc;
}
