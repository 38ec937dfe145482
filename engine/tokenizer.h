/* tokenizer — SentencePiece-style ("llama" model) tokenizer built from the
 * vocabulary stored in a GGUF file.
 *
 * Keys read (tokenizer.ggml.*): model (must be "llama"), tokens (array of
 * strings, required), scores (float array, optional: 0), token_type (integer
 * array, optional: normal), bos_token_id / eos_token_id / unknown_token_id
 * (defaults 1 / 2 / 0), add_bos_token (default true), add_space_prefix
 * (default true).
 *
 * Encoding follows llama.cpp's SPM tokenizer: spaces become "▁" (U+2581), a
 * "▁" is prefixed when add_space_prefix is set and the text is non-empty, the
 * text is split into UTF-8 characters (a byte that does not start a
 * well-formed sequence is a symbol of its own), then the adjacent pair whose
 * concatenation is a vocabulary piece with the highest score is merged,
 * repeatedly (ties: the leftmost pair). A final symbol that is not a piece
 * becomes one token per byte: the byte token "<0xXX>", else a one-byte piece,
 * else the unknown token. Merges run on a binary heap: O(n log n) in the
 * number of characters.
 *
 * One deliberate difference from llama.cpp: control, unknown and byte tokens
 * never come out of a merge (they can only be emitted by id), so for text
 * without a literal U+2581, decoding the encoding gives the text back exactly
 * (after dropping the added leading space).
 *
 * A struct tok copies what it needs from the GGUF file: it does not borrow
 * the file's buffer and stays valid after gguf_close(). It is immutable after
 * tok_new(), so several threads may encode and decode concurrently.
 */
#ifndef GGPERF_ENGINE_TOKENIZER_H
#define GGPERF_ENGINE_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gguf;
struct mem_hooks;
struct tok;

/* Result codes: 0 is success, each negative code means one thing. */
enum tok_status {
    TOK_OK = 0,
    TOK_EUNSUPPORTED = -1, /* tokenizer model other than "llama" */
    TOK_EMISSING = -2,     /* a required key is absent */
    TOK_ECORRUPT = -3,     /* inconsistent vocabulary (types, lengths, ids) */
    TOK_ELIMIT = -4,       /* vocabulary or input beyond what is accepted */
    TOK_ENOMEM = -5,       /* allocation failed */
    TOK_EINVAL = -6,       /* bad argument (NULL pointer, negative size) */
    TOK_ERANGE = -7,       /* token id outside [0, n_vocab) */
};

/* Token types as stored in tokenizer.ggml.token_type. */
enum tok_type {
    TOK_TYPE_UNDEFINED = 0, /* treated as normal */
    TOK_TYPE_NORMAL = 1,
    TOK_TYPE_UNKNOWN = 2,
    TOK_TYPE_CONTROL = 3,
    TOK_TYPE_USER_DEFINED = 4,
    TOK_TYPE_UNUSED = 5,
    TOK_TYPE_BYTE = 6,
};

#define TOK_MAX_VOCAB (1 << 24)      /* larger vocabularies are rejected before allocating */
#define TOK_MAX_PIECE_BYTES (1 << 20) /* longer pieces are rejected */
#define TOK_MAX_TEXT_BYTES (1 << 28) /* tok_encode refuses longer texts */

/* Build a tokenizer from g's metadata. Allocations (the pieces, a hash table
 * proportional to the vocabulary size, which the file size bounds) go
 * through mem (NULL: the default allocator); mem must outlive the tok.
 * Returns NULL with a one-line message in err on failure: model not
 * "llama" (e.g. "tokenizer model 'gpt2' not supported (only 'llama'
 * SentencePiece)"), tokens missing or not an array of strings, more than
 * TOK_MAX_VOCAB tokens, scores or token_type of another length than tokens,
 * a token type outside 0..6, a byte token whose text is not "<0xXX>", a NaN
 * score, a special token id out of range, a key of the wrong type, or out of
 * memory. If code != NULL it receives the tok_status. */
struct tok *tok_new(const struct gguf *g, const struct mem_hooks *mem, int *code,
                    char *err, size_t err_len);

/* Release t; tok_free(NULL) does nothing. */
void tok_free(struct tok *t);

/* Encode text[0..len) (any bytes, not NUL-terminated; text may be NULL when
 * len is 0), preceded by the BOS token when add_bos is true and the
 * vocabulary has one. Writes the first min(count, max_out) ids to out and
 * returns count, the length of the whole encoding (snprintf style: count >
 * max_out means out was too small; call again with max_out >= count).
 * count never exceeds 3 * len + 4. Returns TOK_EINVAL for NULL pointers with
 * a non-zero size or max_out < 0, TOK_ELIMIT when len > TOK_MAX_TEXT_BYTES,
 * TOK_ENOMEM when the scratch cannot be allocated.
 * Memory: allocates O(len) scratch (about 55 bytes per input byte) through
 * the tok's hooks and frees it before returning; encoding is not on the
 * per-token decode path. */
int tok_encode(const struct tok *t, const char *text, size_t len, bool add_bos, int32_t *out,
               int max_out);

/* The text of token id: a piece's "▁" become spaces, a byte token is its
 * raw byte, control tokens (BOS, EOS...) are empty, the unknown token is
 * "\xE2\x96\x85" ("▅", U+2585, SentencePiece's and llama.cpp's choice). Writes the first
 * min(n, len) bytes to buf (no NUL terminator; the text may contain NUL
 * bytes) and returns n, the full length. Returns TOK_ERANGE for an id
 * outside [0, n_vocab), TOK_EINVAL for buf == NULL with len > 0.
 * Streaming note: when three byte tokens spell "▁" (a vocabulary without a
 * "▁" piece), token by token they give its raw bytes; tok_decode_all turns
 * them into a space. */
int tok_decode(const struct tok *t, int32_t id, char *buf, size_t len);

/* The concatenated text of ids[0..n), as tok_decode gives it. With
 * strip_space, the leading space of the first non-empty piece is dropped
 * (the one tok_encode's space prefix added). Same buffer contract as
 * tok_decode (returns the full length, writes at most len bytes); TOK_ERANGE
 * if an id is out of range, TOK_ELIMIT if the text would exceed INT_MAX. */
int tok_decode_all(const struct tok *t, const int32_t *ids, int n, bool strip_space, char *buf,
                   size_t len);

/* Vocabulary size (>= 1). */
int tok_n_vocab(const struct tok *t);

/* Special ids: BOS / EOS, or -1 when the vocabulary has none (the default id
 * is out of range); the unknown token always exists. */
int32_t tok_bos(const struct tok *t);
int32_t tok_eos(const struct tok *t);
int32_t tok_unk(const struct tok *t);

/* tokenizer.ggml.add_bos_token / add_space_prefix (both default true). */
bool tok_add_bos(const struct tok *t);
bool tok_add_space_prefix(const struct tok *t);

/* Raw piece of token id as stored in the file ("▁w0", "<0x41>", "<s>"):
 * a view owned by t, valid until tok_free, not NUL-terminated, its length
 * in *len. NULL (and *len 0) for an id out of range. */
const char *tok_piece(const struct tok *t, int32_t id, size_t *len);

/* Score and type of token id; 0 and TOK_TYPE_UNDEFINED when out of range. */
float tok_score(const struct tok *t, int32_t id);
enum tok_type tok_type_of(const struct tok *t, int32_t id);

/* Name of a status code ("unsupported", "corrupt"...). */
const char *tok_status_name(int status);

#endif
