/* sampler — pick the next token from a row of logits.
 *
 * Greedy (temp <= 0): the argmax, ties to the lowest id. Otherwise, in this
 * order: repetition penalty over the recent tokens (optional), top-k,
 * temperature, softmax, top-p (nucleus), then one draw from a seeded
 * xoshiro256** generator: the same seed and the same logits give the same
 * tokens on every machine that rounds floats the same way.
 *
 * All scratch (n_vocab candidates, the penalty window) is allocated by
 * sampler_new; sampler_sample allocates nothing. A sampler is not shared
 * between threads.
 */
#ifndef GGPERF_ENGINE_SAMPLER_H
#define GGPERF_ENGINE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

struct mem_hooks;
struct sampler;

/* Options; a zeroed struct means greedy with nothing else enabled. */
struct sampler_opts {
    float temp;           /* <= 0: greedy */
    float top_p;          /* in (0, 1): keep the smallest set of most likely tokens whose
                           * probability sums to >= top_p (at least one); otherwise off */
    int top_k;            /* > 0: keep the top_k highest logits; otherwise off */
    uint64_t seed;        /* PRNG seed (any value, 0 included) */
    float repeat_penalty; /* > 0 and != 1: logits of tokens in the window are divided by
                           * it when positive, multiplied when negative (once per distinct
                           * token); otherwise off */
    int repeat_last_n;    /* window of recent tokens for the penalty (0..SAMPLER_MAX_WINDOW) */
};

#define SAMPLER_MAX_WINDOW 65536

/* Result codes of sampler_sample; ids are >= 0. */
enum sampler_status {
    SAMPLER_ENOCAND = -1, /* every logit is NaN: nothing to pick */
    SAMPLER_EINVAL = -2,  /* NULL argument or id out of range */
};

/* A sampler for a vocabulary of n_vocab tokens. Allocates through mem (NULL:
 * default allocator; hooks copied). Returns NULL with a message in err for
 * n_vocab < 1, a NaN temperature/top_p/penalty, repeat_last_n out of range,
 * or out of memory. */
struct sampler *sampler_new(int n_vocab, const struct sampler_opts *opts,
                            const struct mem_hooks *mem, char *err, size_t err_len);

/* Release s; sampler_free(NULL) does nothing. */
void sampler_free(struct sampler *s);

/* Choose a token from logits[0..n_vocab) (not modified; NaN entries are never
 * chosen, -inf entries only if nothing else is left). Records the chosen
 * token in the penalty window. Returns the id, or SAMPLER_ENOCAND /
 * SAMPLER_EINVAL. Allocates nothing. */
int32_t sampler_sample(struct sampler *s, const float *logits);

/* Record a token the sampler did not choose (the prompt) in the penalty
 * window. Returns 0, or SAMPLER_EINVAL for an id out of range. */
int sampler_accept(struct sampler *s, int32_t id);

/* Forget the penalty window and restart the PRNG from seed. */
void sampler_reset(struct sampler *s, uint64_t seed);

/* Reuse s for a new request: set temperature, top-p and top-k (the penalty
 * settings stay), forget the window and restart the PRNG from seed. Returns
 * 0, or SAMPLER_EINVAL for NULL or a NaN. Allocates nothing. */
int sampler_retune(struct sampler *s, float temp, float top_p, int top_k, uint64_t seed);

#endif
