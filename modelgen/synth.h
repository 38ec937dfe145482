/* synth — synthesize llama-architecture GGUF models with random weights.
 *
 * No model downloads on the measurement machines: the engine is studied on
 * files made here. A file looks like what llama.cpp's tools write for a real
 * model of the same shape: the metadata keys, tensor names, shapes, order
 * and per-tensor types of llama-quantize's output (checked against the
 * golden files in tests/golden), a SentencePiece-style "llama" vocabulary,
 * and weights that are random but plausible (float weights ~N(0, 0.02),
 * quantized blocks with finite scales giving values of that spread, norm
 * vectors 1.0), so a forward pass stays finite with logits in a sane range.
 *
 * Output is a pure function of the spec: the bytes of each tensor come from
 * a PRNG seeded with hash(seed, tensor name), independent of the others and
 * of the buffer size. Writing streams through one fixed buffer (4 MiB), so
 * memory use does not grow with the file.
 *
 * Typical use:
 *     struct synth_spec s;
 *     synth_shape_find("tiny", &s);           // defaults for the shape
 *     s.ftype = synth_ftype_from_name("Q4_K_M", false);
 *     s.n_vocab = 32000;                       // any override
 *     synth_write(&s, "/tmp/m.gguf", 0, NULL, NULL, err, sizeof err);
 */
#ifndef GGPERF_HARNESS_SYNTH_H
#define GGPERF_HARNESS_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes: 0 is success, each negative code means one thing. */
enum synth_status {
    SYNTH_OK = 0,
    SYNTH_EINVAL = -1,    /* the spec is invalid (see synth_spec_check) */
    SYNTH_EEXIST = -2,    /* the output exists and SYNTH_FORCE was not given */
    SYNTH_ENOSPC = -3,    /* not enough free space (checked up front, or hit while writing) */
    SYNTH_EIO = -4,       /* open/write/fsync/rename failed */
    SYNTH_ENOMEM = -5,
    SYNTH_ECANCELED = -6, /* the progress callback asked to stop */
};

/* File types: llama.cpp's llama_ftype values, as stored in general.file_type.
 * Each names a base tensor type and, unless the spec is pure, the per-tensor
 * mix llama-quantize chooses for it. */
enum synth_ftype {
    SYNTH_FT_ALL_F32 = 0,
    SYNTH_FT_F16 = 1,
    SYNTH_FT_Q4_0 = 2,
    SYNTH_FT_Q4_1 = 3,
    SYNTH_FT_Q8_0 = 7,
    SYNTH_FT_Q5_0 = 8,
    SYNTH_FT_Q5_1 = 9,
    SYNTH_FT_Q2_K = 10,
    SYNTH_FT_Q3_K_S = 11,
    SYNTH_FT_Q3_K_M = 12,
    SYNTH_FT_Q3_K_L = 13,
    SYNTH_FT_Q4_K_S = 14,
    SYNTH_FT_Q4_K_M = 15,
    SYNTH_FT_Q5_K_S = 16,
    SYNTH_FT_Q5_K_M = 17,
    SYNTH_FT_Q6_K = 18,
    SYNTH_FT_IQ4_NL = 25,
    SYNTH_FT_IQ4_XS = 30,
    SYNTH_FT_BF16 = 32,
};

/* Everything that determines a synthesized file. */
struct synth_spec {
    char name[64];          /* general.name */
    int64_t n_embd;         /* hidden size */
    int64_t n_ff;           /* feed-forward size */
    int64_t n_layer;
    int64_t n_head;
    int64_t n_head_kv;      /* divides n_head (grouped-query attention) */
    int64_t n_vocab;        /* >= SYNTH_MIN_VOCAB */
    int64_t n_ctx;          /* llama.context_length */
    float rope_base;        /* llama.rope.freq_base */
    float rms_eps;          /* llama.attention.layer_norm_rms_epsilon */
    int ftype;              /* enum synth_ftype */
    bool pure;              /* every matrix has the base type (llama-quantize --pure) */
    bool tied;              /* no output.weight: the output reuses token_embd */
    uint64_t seed;
};

/* The vocabulary needs <unk>, <s>, </s>, 256 byte tokens and "▁". */
#define SYNTH_MIN_VOCAB 260
#define SYNTH_MAX_LAYER 1024
#define SYNTH_ALIGNMENT 32

/* A named shape (see synth_shape_at). */
struct synth_shape {
    const char *name;
    const char *summary;
    int64_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab, n_ctx;
    float rope_base, rms_eps;
};

/* Shape number i in listing order, or NULL past the end. */
const struct synth_shape *synth_shape_at(size_t i);

/* Fill *out with shape NAME's dimensions and the defaults: general.name
 * "synth-NAME", ftype Q4_0 mix, seed 1, not pure, not tied. Returns 0, or
 * SYNTH_EINVAL when no shape has that name (*out untouched). */
int synth_shape_find(const char *name, struct synth_spec *out);

/* The file type a --type NAME means (case-insensitive): an engine tensor
 * type (F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K
 * IQ4_NL IQ4_XS) or a llama-quantize recipe (Q3_K_S Q3_K_M Q3_K_L Q4_K_S
 * Q4_K_M Q5_K_S Q5_K_M). Q3_K, Q4_K and Q5_K are llama-quantize's aliases
 * of the _M recipes; with pure they take the file type llama-quantize wrote
 * for the golden --pure files (Q3_K_M, Q4_K_S, Q5_K_M). Returns the enum
 * synth_ftype value, or -1 when unknown. */
int synth_ftype_from_name(const char *name, bool pure);

/* "Q4_K_M" for SYNTH_FT_Q4_K_M...; "unknown" for other values. */
const char *synth_ftype_name(int ftype);

/* llama.cpp's name of the file type: "MOSTLY_Q4_K_M", "ALL_F32"... */
const char *synth_ftype_llama_name(int ftype);

/* The base tensor type (enum qtype) of a file type, or -1 when unknown. */
int synth_ftype_base_type(int ftype);

/* The accepted --type names, space-separated, for usage messages. */
const char *synth_type_names(void);

/* Check a spec. Returns 0, or SYNTH_EINVAL with a message in err and, when
 * bad_field is not NULL, the offending field's name in *bad_field ("n_embd",
 * "n_head_kv", "ftype", "name"...; a static string). */
int synth_spec_check(const struct synth_spec *s, const char **bad_field, char *err, size_t err_len);

/* Roles of the tensors of a llama model. */
enum synth_role {
    SYNTH_TOKEN_EMBD, SYNTH_OUTPUT_NORM, SYNTH_OUTPUT,
    SYNTH_ATTN_NORM, SYNTH_ATTN_Q, SYNTH_ATTN_K, SYNTH_ATTN_V, SYNTH_ATTN_OUTPUT,
    SYNTH_FFN_NORM, SYNTH_FFN_GATE, SYNTH_FFN_DOWN, SYNTH_FFN_UP,
};

/* One tensor of the planned file. */
struct synth_tensor {
    char name[40];          /* "blk.3.attn_v.weight" */
    enum synth_role role;
    int layer;              /* -1 for the tensors outside the blocks */
    int type;               /* enum qtype */
    uint32_t n_dims;
    int64_t ne[2];          /* ne[0] is the row length */
    uint64_t offset;        /* in the data section, aligned */
    uint64_t n_bytes;
};

/* The layout of a file before it is written: everything but the bytes. */
struct synth_plan {
    struct synth_spec spec;
    uint64_t n_tensors;
    struct synth_tensor *tensors;   /* [n_tensors], in file order */
    uint64_t n_kv;
    uint64_t data_offset;           /* start of the data section in the file */
    uint64_t data_bytes;            /* data section, padded */
    uint64_t file_bytes;            /* the exact size of the file */
};

/* Plan the file for spec s: tensor order, types, shapes, offsets and the
 * exact file size. Returns 0 with *out set (free with synth_plan_free), or
 * SYNTH_EINVAL (spec; err says what) or SYNTH_ENOMEM. */
int synth_plan_new(const struct synth_spec *s, struct synth_plan **out, char *err, size_t err_len);

/* Free a plan; synth_plan_free(NULL) does nothing. */
void synth_plan_free(struct synth_plan *p);

/* A tensor of the plan by name, or NULL. */
const struct synth_tensor *synth_plan_find(const struct synth_plan *p, const char *name);

/* Text of vocabulary entry id (< n_vocab) into buf (NUL-terminated; 64
 * bytes always suffice), with its score and token type. Returns the length.
 * ids 0..2: <unk> <s> </s>; 3..258: <0x00>..<0xFF>; then "▁", common English
 * words and pieces, and "▁w<N>" fillers, with decreasing scores. */
size_t synth_vocab_token(int64_t id, char *buf, size_t buf_len, float *score, int32_t *token_type);

/* Flags of synth_write. */
enum { SYNTH_FORCE = 1u << 0 };   /* replace an existing file */

/* Progress: called after each chunk with the bytes written so far and the
 * total; return nonzero to cancel the write (SYNTH_ECANCELED). */
typedef int (*synth_progress_fn)(uint64_t done_bytes, uint64_t total_bytes, void *user);

/* Write the model of spec s to path. Refuses to replace an existing file
 * unless flags has SYNTH_FORCE; checks the free space of the target
 * directory first; writes PATH.tmp.<pid> in the same directory with the
 * magic put in last, fsyncs, then renames it to path. On any failure or
 * cancel the temporary file is removed and path is left as it was.
 * progress may be NULL. Returns 0 or a negative synth_status with a
 * message in err. */
int synth_write(const struct synth_spec *s, const char *path, unsigned flags,
                synth_progress_fn progress, void *user, char *err, size_t err_len);

#endif
