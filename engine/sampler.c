/* sampler — greedy, or penalty/top-k/temperature/top-p sampling, from a row of
 * logits (see sampler.h). */
#include "engine/sampler.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "engine/mem.h"

/* A candidate token; after the softmax, p holds its weight. */
struct cand {
    float logit;
    float p;
    int32_t id;
};

struct sampler {
    struct mem_hooks mem;   /* copy of the caller's hooks */
    int n_vocab;
    struct sampler_opts opts;
    bool penalty_on;
    uint64_t rng[4];        /* xoshiro256** state */
    struct cand *cand;      /* [n_vocab] scratch */
    int32_t *window;        /* [repeat_last_n] ring of recent tokens (penalty on) */
    uint8_t *mark;          /* [n_vocab] distinct-token marks (penalty on) */
    int win_pos, win_fill;
};


/* ---- PRNG: splitmix64 seeds xoshiro256** -------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_unit(uint64_t s[4])
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

void sampler_reset(struct sampler *s, uint64_t seed)
{
    if (!s)
        return;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64(&x);
    s->win_pos = 0;
    s->win_fill = 0;
}

void sampler_free(struct sampler *s)
{
    if (!s)
        return;
    struct mem_hooks mem = s->mem;
    mem_free(&mem, s->mark, (size_t)s->n_vocab);
    mem_free(&mem, s->window, (size_t)s->opts.repeat_last_n * sizeof *s->window);
    mem_free(&mem, s->cand, (size_t)s->n_vocab * sizeof *s->cand);
    mem_free(&mem, s, sizeof *s);
}

struct sampler *sampler_new(int n_vocab, const struct sampler_opts *opts,
                            const struct mem_hooks *mem, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (!opts) {
        err_set(err, err_len, "sampler: no options");
        return NULL;
    }
    if (n_vocab < 1) {
        err_set(err, err_len, "sampler: n_vocab %d, must be >= 1", n_vocab);
        return NULL;
    }
    if (isnan(opts->temp) || isnan(opts->top_p) || isnan(opts->repeat_penalty)) {
        err_set(err, err_len, "sampler: temp, top_p and repeat_penalty must not be NaN");
        return NULL;
    }
    if (opts->repeat_last_n < 0 || opts->repeat_last_n > SAMPLER_MAX_WINDOW) {
        err_set(err, err_len, "sampler: repeat_last_n %d, allowed 0..%d", opts->repeat_last_n,
                SAMPLER_MAX_WINDOW);
        return NULL;
    }
    struct sampler *s = mem_alloc(mem, sizeof *s, _Alignof(struct sampler));
    if (!s)
        goto nomem;
    memset(s, 0, sizeof *s);
    if (mem)
        s->mem = *mem;
    s->n_vocab = n_vocab;
    s->opts = *opts;
    s->penalty_on = opts->repeat_penalty > 0.0f && opts->repeat_penalty != 1.0f &&
                    opts->repeat_last_n > 0;
    if (!s->penalty_on)
        s->opts.repeat_last_n = 0; /* no window to allocate or free */
    s->cand = mem_alloc(&s->mem, (size_t)n_vocab * sizeof *s->cand, _Alignof(struct cand));
    if (!s->cand)
        goto nomem;
    if (s->penalty_on) {
        s->window = mem_alloc(&s->mem, (size_t)s->opts.repeat_last_n * sizeof *s->window,
                              _Alignof(int32_t));
        s->mark = mem_alloc(&s->mem, (size_t)n_vocab, 1);
        if (!s->window || !s->mark)
            goto nomem;
        memset(s->mark, 0, (size_t)n_vocab);
    }
    sampler_reset(s, opts->seed);
    return s;

nomem:
    err_set(err, err_len, "sampler: out of memory for %d candidates", n_vocab);
    sampler_free(s);
    return NULL;
}

static void record(struct sampler *s, int32_t id)
{
    if (!s->penalty_on)
        return;
    s->window[s->win_pos] = id;
    s->win_pos = (s->win_pos + 1) % s->opts.repeat_last_n;
    if (s->win_fill < s->opts.repeat_last_n)
        s->win_fill++;
}

int sampler_accept(struct sampler *s, int32_t id)
{
    if (!s || id < 0 || id >= s->n_vocab)
        return SAMPLER_EINVAL;
    record(s, id);
    return 0;
}

/* Candidates in id order: the logits, penalised, NaN dropped. Returns the count. */
static int prepare(struct sampler *s, const float *logits)
{
    struct cand *c = s->cand;
    int n = s->n_vocab;
    for (int i = 0; i < n; i++) {
        c[i].logit = logits[i];
        c[i].id = i;
    }
    if (s->penalty_on) {
        float pen = s->opts.repeat_penalty;
        for (int j = 0; j < s->win_fill; j++) {
            int32_t id = s->window[j];
            if (s->mark[id])
                continue;
            s->mark[id] = 1;
            float v = c[id].logit;
            c[id].logit = v > 0.0f ? v / pen : v * pen;
        }
        for (int j = 0; j < s->win_fill; j++)
            s->mark[s->window[j]] = 0;
    }
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(c[i].logit))
            c[m++] = c[i];
    return m;
}

/* a ranks above b: higher logit, then lower id. */
static bool better(const struct cand *a, const struct cand *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* Sift down in a heap whose root is the WORST candidate. */
static void sift_worst(struct cand *h, int n, int i)
{
    struct cand x = h[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && better(&h[c], &h[c + 1]))
            c++;
        if (!better(&x, &h[c]))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

/* Move the k best of c[0..m) to c[0..k), best first: O(m log k). */
static void top_sorted(struct cand *c, int m, int k)
{
    for (int i = k / 2 - 1; i >= 0; i--)
        sift_worst(c, k, i);
    for (int i = k; i < m; i++) {
        if (better(&c[i], &c[0])) {
            c[0] = c[i];
            sift_worst(c, k, 0);
        }
    }
    for (int n = k - 1; n > 0; n--) {
        struct cand w = c[0];
        c[0] = c[n];
        c[n] = w;
        sift_worst(c, n, 0);
    }
}

static int32_t argmax(const struct cand *c, int m)
{
    int best = 0;
    for (int i = 1; i < m; i++)
        if (better(&c[i], &c[best]))
            best = i;
    return c[best].id;
}

int32_t sampler_sample(struct sampler *s, const float *logits)
{
    if (!s || !logits)
        return SAMPLER_EINVAL;
    const struct sampler_opts *o = &s->opts;
    int m = prepare(s, logits);
    if (m == 0)
        return SAMPLER_ENOCAND;
    struct cand *c = s->cand;
    int32_t pick;

    if (o->temp <= 0.0f) {
        pick = argmax(c, m);
        goto done;
    }
    int k = (o->top_k > 0 && o->top_k < m) ? o->top_k : m;
    bool top_p_on = o->top_p > 0.0f && o->top_p < 1.0f;
    bool sorted = k < m || top_p_on;
    if (sorted)
        top_sorted(c, m, k);
    float max = c[0].logit; /* sorted: the best is first */
    if (!sorted)
        for (int i = 1; i < k; i++)
            if (c[i].logit > max)
                max = c[i].logit;
    if (isinf(max)) {
        /* +inf dominates everything; all -inf leaves no distribution. */
        pick = argmax(c, k);
        goto done;
    }
    double sum = 0.0;
    for (int i = 0; i < k; i++) {
        c[i].p = expf((c[i].logit - max) / o->temp);
        sum += c[i].p;
    }
    if (top_p_on) {
        double cum = 0.0, want = (double)o->top_p * sum;
        int keep = k;
        for (int i = 0; i < k; i++) {
            cum += c[i].p;
            if (cum >= want) {
                keep = i + 1;
                break;
            }
        }
        k = keep;
        sum = cum;
    }
    double r = rng_unit(s->rng) * sum, cum = 0.0;
    pick = -1;
    for (int i = 0; i < k; i++) {
        if (c[i].p <= 0.0f)
            continue;
        cum += c[i].p;
        pick = c[i].id;
        if (r < cum)
            break;
    }
    if (pick < 0)
        pick = c[0].id;
done:
    record(s, pick);
    return pick;
}

int sampler_retune(struct sampler *s, float temp, float top_p, int top_k, uint64_t seed)
{
    if (!s || isnan(temp) || isnan(top_p))
        return SAMPLER_EINVAL;
    s->opts.temp = temp;
    s->opts.top_p = top_p;
    s->opts.top_k = top_k;
    s->opts.seed = seed;
    sampler_reset(s, seed);
    return 0;
}
