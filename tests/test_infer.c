/* infer suite: the forward pass against llama.cpp's logits for every golden
 * model (tests/golden/README.md gives the tolerances), in batch and decode
 * modes, at 1 and 2 threads, with fast and reference kernels; and the
 * engine's refusals and its no-allocation promise. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run/session.h"
#include "tests/testutil.h"

#define N_TOK 16
static const int32_t golden_tokens[N_TOK] = { 1, 17, 300, 42, 999, 5, 77, 512, 3, 250, 128, 64, 900, 11, 600, 33 };

struct cmp {
    double max_abs, rms;
    int argmax_agree;
};

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static struct cmp compare(const float *a, const float *b, int n_tok, int n_vocab)
{
    struct cmp c = { 0, 0, 0 };
    double sq = 0;
    for (int t = 0; t < n_tok; t++) {
        for (int i = 0; i < n_vocab; i++) {
            double d = fabs((double)a[t * n_vocab + i] - b[t * n_vocab + i]);
            if (!(d <= c.max_abs)) /* NaN propagates as a failure */
                c.max_abs = isnan(d) ? INFINITY : d;
            sq += d * d;
        }
        c.argmax_agree += argmax(a + t * n_vocab, n_vocab) == argmax(b + t * n_vocab, n_vocab);
    }
    c.rms = sqrt(sq / ((double)n_tok * n_vocab));
    return c;
}

/* Tolerances from tests/golden/README.md "Suggested acceptance". */
static void check_tolerance(const char *variant, bool kv_f32, struct cmp c, const char *what)
{
    bool is_f32 = strcmp(variant, "F32") == 0 || strcmp(variant, "tied-F32") == 0;
    if (is_f32 && kv_f32) {
        ck_assert_msg(c.max_abs <= 1e-4, "%s %s: max %.3g > 1e-4", variant, what, c.max_abs);
    } else if (is_f32 || strcmp(variant, "F16") == 0) {
        ck_assert_msg(c.max_abs <= 3e-3, "%s %s: max %.3g > 3e-3", variant, what, c.max_abs);
    } else if (strcmp(variant, "BF16") == 0) {
        ck_assert_msg(c.max_abs <= 0.015 && c.rms <= 0.003 && c.argmax_agree >= 15,
                      "%s %s: max %.3g rms %.3g argmax %d/16", variant, what, c.max_abs, c.rms, c.argmax_agree);
    } else {
        ck_assert_msg(c.max_abs <= 0.05 && c.rms <= 0.01 && c.argmax_agree >= 14,
                      "%s %s: max %.3g rms %.3g argmax %d/16", variant, what, c.max_abs, c.rms, c.argmax_agree);
    }
}

static const char *const variants[] = {
    "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K",
    "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "mix-Q4_0", "mix-Q4_K_S", "mix-Q4_K_M", "mix-Q5_K_M",
    "tied-F32", "tied-Q8_0",
};
#define N_VARIANTS (int)(sizeof variants / sizeof variants[0])

/* GGPERF_TEST_QUICK=1 (make tsan in CI: ThreadSanitizer is ~10x slower)
 * runs a subset that still covers every code path the threads share: F32
 * and F16 rows, a legacy and a K-quant block type, a per-tensor mix and
 * tied embeddings. */
static const char *const quick_variants[] = { "F32", "F16", "Q4_0", "Q6_K", "mix-Q4_K_M", "tied-Q8_0" };
static const char *const *run_variants = variants;

/* infer_opts.act_chunk_bytes for eval_golden (0: the default) */
static size_t golden_act_chunk;
/* infer_set_small_pages for eval_golden: 0 or 1, or -1 for what the session says */
static int golden_small_pages = -1;

/* Evaluate the golden tokens with the given engine settings. */
static float *eval_golden(const char *variant, int threads, bool decode, bool kv_f32, enum quant_isa isa)
{
    char path[1024], name[128], err[1024];
    snprintf(name, sizeof name, "shared-%s.gguf", variant);
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = tu_golden_path(path, sizeof path, name);
    so.infer.n_threads = threads;
    so.infer.n_ctx = 64;
    so.infer.kv_type = kv_f32 ? INFER_KV_F32 : INFER_KV_F16;
    so.infer.max_isa = isa;
    so.infer.act_chunk_bytes = golden_act_chunk;
    struct session s;
    ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
    if (golden_small_pages >= 0)
        infer_set_small_pages(s.ctx, golden_small_pages == 1);
    int nv = s.m.hp.n_vocab;
    ck_assert_int_eq(nv, 1024);
    float *out = malloc(sizeof(float) * N_TOK * nv);
    if (decode) {
        for (int i = 0; i < N_TOK; i++)
            ck_assert_msg(infer_eval(s.ctx, golden_tokens + i, 1, out + i * nv, err, sizeof err) == 0, "%s", err);
    } else {
        ck_assert_msg(infer_eval(s.ctx, golden_tokens, N_TOK, out, err, sizeof err) == 0, "%s", err);
    }
    session_close(&s);
    return out;
}

static float *load_ref(const char *variant, bool kv_f32)
{
    char path[1024], name[128];
    snprintf(name, sizeof name, kv_f32 ? "shared-%s.logits-kvf32.f32" : "shared-%s.logits.f32", variant);
    size_t len = 0;
    float *ref = tu_read_file(tu_golden_path(path, sizeof path, name), &len);
    ck_assert_msg(ref != NULL, "cannot read %s", path);
    ck_assert_uint_eq(len, sizeof(float) * N_TOK * 1024);
    return ref;
}

/* One loop iteration per golden variant (tcase_add_loop_test). */
START_TEST(test_golden_fast_kernels)
{
    const char *v = run_variants[_i];
    for (int kvf = 0; kvf < 2; kvf++) {
        float *ref = load_ref(v, kvf);
        for (int threads = 1; threads <= 2; threads++) {
            for (int decode = 0; decode < 2; decode++) {
                float *got = eval_golden(v, threads, decode, kvf, QISA_AVX512);
                struct cmp c = compare(got, ref, N_TOK, 1024);
                char what[96];
                snprintf(what, sizeof what, "%s t%d kv%s", decode ? "decode" : "batch", threads, kvf ? "f32" : "f16");
                printf("golden %-11s %-18s max %.3g rms %.3g argmax %d/16\n", v, what, c.max_abs, c.rms,
                       c.argmax_agree);
                check_tolerance(v, kvf, c, what);
                free(got);
            }
        }
        free(ref);
    }
}
END_TEST

START_TEST(test_golden_reference_kernels)
{
    const char *v = run_variants[_i];
    float *ref = load_ref(v, false);
    float *got = eval_golden(v, 2, false, false, QISA_REF);
    struct cmp c = compare(got, ref, N_TOK, 1024);
    check_tolerance(v, false, c, "batch ref-kernels");
    free(got);
    free(ref);
}
END_TEST

START_TEST(test_batch_equals_decode_and_threads)
{
    /* Own consistency: batch vs one-at-a-time within the same bounds, and
     * 1 vs 2 threads bit-identical (the work split never changes sums). */
    const char *v = run_variants[_i];
    float *b1 = eval_golden(v, 1, false, false, QISA_AVX512);
    float *b2 = eval_golden(v, 2, false, false, QISA_AVX512);
    float *d1 = eval_golden(v, 1, true, false, QISA_AVX512);
    ck_assert_msg(memcmp(b1, b2, sizeof(float) * N_TOK * 1024) == 0, "%s: 1 vs 2 threads differ", v);
    /* the dot kernels' activation chunks (8 rows here, 2 chunks of the
     * 16-token prompt) keep every row in the same tile position: equal bits */
    golden_act_chunk = 1;
    float *bc = eval_golden(v, 2, false, false, QISA_AVX512);
    golden_act_chunk = 0;
    ck_assert_msg(memcmp(b1, bc, sizeof(float) * N_TOK * 1024) == 0, "%s: chunked activations differ", v);
    free(bc);
    check_tolerance(v, false, compare(b1, d1, N_TOK, 1024), "batch vs decode");
    /* decode with the kernels for weights in 4 KiB pages and without, both
     * against llama.cpp's logits (F16 has such a kernel; for the other
     * types the two are one kernel) */
    float *ref = load_ref(v, false);
    for (int sp = 0; sp < 2; sp++) {
        golden_small_pages = sp;
        float *d = eval_golden(v, 2, true, false, QISA_AVX512);
        check_tolerance(v, false, compare(d, ref, N_TOK, 1024), sp ? "decode, 4 KiB-page kernels" : "decode, 2 MiB-page kernels");
        free(d);
    }
    golden_small_pages = -1;
    free(ref);
    free(b1);
    free(b2);
    free(d1);
}
END_TEST

START_TEST(test_logits_cli)
{
    char cmd[4096], path[1024], err[2048], out_path[1024];
    const char *dir = tu_tmpdir();
    snprintf(out_path, sizeof out_path, "%s/out.f32", dir);
    tu_golden_path(path, sizeof path, "shared-Q4_0.gguf");
    snprintf(cmd, sizeof cmd,
             "%s logits -m %s --tokens 1,17,300,42,999,5,77,512,3,250,128,64,900,11,600,33 --mode decode -t 2 -o %s",
             tu_ggperf_bin(), path, out_path);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 0);
    size_t len;
    float *got = tu_read_file(out_path, &len);
    ck_assert_uint_eq(len, 16 * 1024 * 4);
    float *ref = load_ref("Q4_0", false);
    check_tolerance("Q4_0", false, compare(got, ref, N_TOK, 1024), "cli decode");
    free(got);
    free(ref);
    /* a token outside the vocabulary: exit 1, one clear line */
    snprintf(cmd, sizeof cmd, "%s logits -m %s --tokens 1,5000 -o %s", tu_ggperf_bin(), path, out_path);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "5000"));
    /* usage errors: exit 2 */
    snprintf(cmd, sizeof cmd, "%s logits -m %s --tokens 1,x", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    snprintf(cmd, sizeof cmd, "%s logits -m %s --tokens 1 --mode sideways", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "batch|decode"));
    /* a missing model: exit 1 naming it */
    snprintf(cmd, sizeof cmd, "%s logits -m /nonexistent.gguf --tokens 1", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent.gguf"));
}
END_TEST

START_TEST(test_no_allocation_in_eval)
{
    char path[1024], err[1024];
    struct mem_counter mc = { 0 };
    struct mem_hooks hooks = mem_counting_hooks(&mc);
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = tu_golden_path(path, sizeof path, "shared-mix-Q4_K_M.gguf");
    so.infer.n_threads = 2;
    so.infer.n_ctx = 64;
    so.infer.mem = &hooks;
    struct session s;
    ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
    size_t before = mc.n_alloc;
    ck_assert_uint_gt(before, 0); /* the context did allocate through the hook */
    ck_assert_int_eq(infer_eval(s.ctx, golden_tokens, N_TOK, NULL, err, sizeof err), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(infer_eval(s.ctx, golden_tokens + i, 1, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(mc.n_alloc, before);
    /* A full cache is refused, not overrun. */
    int32_t many[64] = { 0 };
    ck_assert_int_eq(infer_eval(s.ctx, many, 64, NULL, err, sizeof err), INFER_EFULL);
    session_close(&s);
    ck_assert_uint_eq(mc.n_alloc, mc.n_free);
}
END_TEST


/* The alignment knob: weights copied into an engine-owned buffer at any
 * offset give the same logits, bit for bit, as the mapped file. */
START_TEST(test_weight_copy_offsets)
{
    char path[1024], err[1024];
    size_t len;
    void *buf = tu_read_file(tu_golden_path(path, sizeof path, "shared-mix-Q4_K_M.gguf"), &len);
    ck_assert_ptr_nonnull(buf);
    struct gguf g;
    ck_assert_msg(gguf_open_alloc(&g, buf, len, err, sizeof err) == GGUF_OK, "%s", err);
    float *ref = NULL;
    const size_t offsets[] = { 0, 2, 18, 32 };
    for (int k = -1; k < 4; k++) {
        struct model_opts mo = { k < 0 ? MODEL_WEIGHTS_BORROW : MODEL_WEIGHTS_COPY, 64, k < 0 ? 0 : offsets[k], NULL };
        struct model m;
        ck_assert_msg(model_load(&m, &g, &mo, err, sizeof err) == MODEL_OK, "%s", err);
        if (k >= 0) {
            ck_assert_ptr_nonnull(m.owned);
            ck_assert_uint_eq((uintptr_t)m.layers[0].wq.data % 64, offsets[k] % 64);
        }
        struct infer_opts io;
        infer_opts_default(&io);
        io.n_threads = 2;
        io.n_ctx = 32;
        struct infer *c;
        ck_assert_msg(infer_new(&c, &m, &io, err, sizeof err) == INFER_OK, "%s", err);
        float *out = malloc(sizeof(float) * N_TOK * 1024);
        ck_assert_int_eq(infer_eval(c, golden_tokens, N_TOK, out, err, sizeof err), 0);
        if (!ref)
            ref = out;
        else {
            ck_assert_msg(memcmp(ref, out, sizeof(float) * N_TOK * 1024) == 0, "offset %zu changes logits",
                          offsets[k]);
            free(out);
        }
        infer_free(c);
        model_free(&m);
    }
    free(ref);
    gguf_close(&g);
    free(buf);
}
END_TEST

/* ---- many sequences in one pass (infer_eval_batch) ---- */

/* Sequence k of a multi-sequence run: the golden tokens for even k (so it
 * can be checked against llama.cpp's logits), reversed for odd k (so slots
 * hold different contents and a mix-up between slots shows). */
static void seq_tokens(int k, int32_t *out)
{
    for (int i = 0; i < N_TOK; i++)
        out[i] = k % 2 == 0 ? golden_tokens[i] : golden_tokens[N_TOK - 1 - i];
}

/* 2 * n_slots sequences through n_slots slots with continuous batching:
 * slot s's first sequence joins at step s, a finished sequence leaves and
 * the next one takes its slot the step after; each sequence starts with a
 * prefill chunk of 1 + (k * 3) % 7 tokens and then decodes one token per
 * step, so passes mix prefill chunks and decode tokens of different slots at
 * different positions. out[k] gets [N_TOK][1024] logits of sequence k. */
static void run_multi(const char *variant, int n_slots, int threads, enum quant_isa isa, float **out)
{
    char path[1024], name[128], err[1024];
    snprintf(name, sizeof name, "shared-%s.gguf", variant);
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = tu_golden_path(path, sizeof path, name);
    so.infer.n_threads = threads;
    so.infer.n_ctx = 32;
    so.infer.n_seq = n_slots;
    so.infer.max_isa = isa;
    so.infer.act_chunk_bytes = golden_act_chunk;
    struct session s;
    ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(infer_n_seq(s.ctx), n_slots);
    const int n_seqs = 2 * n_slots, nv = 1024;
    int slot_seq[8], done[16] = { 0 }, next = 0, finished = 0;
    int32_t toks[16][N_TOK], btok[64];
    int bseq[64], bwho[64], bidx[64];
    float *logits = malloc(sizeof(float) * 64 * nv);
    for (int k = 0; k < n_seqs; k++) {
        seq_tokens(k, toks[k]);
        out[k] = malloc(sizeof(float) * N_TOK * nv);
    }
    for (int i = 0; i < n_slots; i++)
        slot_seq[i] = -1;
    for (int step = 0; finished < n_seqs; step++) {
        ck_assert_int_lt(step, 200);
        for (int i = 0; i < n_slots; i++)
            if (slot_seq[i] < 0 && i <= step && next < n_seqs) {
                slot_seq[i] = next++;
                infer_seq_reset(s.ctx, i);
            }
        int n = 0;
        for (int i = 0; i < n_slots; i++) {
            int k = slot_seq[i];
            if (k < 0)
                continue;
            int take = done[k] == 0 ? 1 + (k * 3) % 7 : 1;
            if (take > N_TOK - done[k])
                take = N_TOK - done[k];
            for (int j = 0; j < take; j++, n++) {
                btok[n] = toks[k][done[k] + j];
                bseq[n] = i;
                bwho[n] = k;
                bidx[n] = done[k] + j;
            }
            done[k] += take;
        }
        if (n == 0)
            continue;
        ck_assert_msg(infer_eval_batch(s.ctx, btok, bseq, NULL, n, logits, err, sizeof err) == 0, "%s", err);
        for (int j = 0; j < n; j++)
            memcpy(out[bwho[j]] + (size_t)bidx[j] * nv, logits + (size_t)j * nv, sizeof(float) * nv);
        for (int i = 0; i < n_slots; i++)
            if (slot_seq[i] >= 0 && done[slot_seq[i]] == N_TOK) {
                ck_assert_int_eq(infer_seq_pos(s.ctx, i), N_TOK);
                slot_seq[i] = -1;
                finished++;
            }
    }
    free(logits);
    session_close(&s);
}

/* The same sequence alone in a one-slot context, all tokens in one pass. */
static float *run_alone(const char *variant, int k, int threads, enum quant_isa isa)
{
    char path[1024], name[128], err[1024];
    snprintf(name, sizeof name, "shared-%s.gguf", variant);
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = tu_golden_path(path, sizeof path, name);
    so.infer.n_threads = threads;
    so.infer.n_ctx = 32;
    so.infer.max_isa = isa;
    so.infer.act_chunk_bytes = golden_act_chunk;
    struct session s;
    ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
    int32_t toks[N_TOK];
    seq_tokens(k, toks);
    float *out = malloc(sizeof(float) * N_TOK * 1024);
    ck_assert_msg(infer_eval(s.ctx, toks, N_TOK, out, err, sizeof err) == 0, "%s", err);
    session_close(&s);
    return out;
}

/* Every sequence of a 2..8-slot run against llama.cpp's logits (even
 * sequences) and against itself run alone (all), fast kernels. */
START_TEST(test_multi_seq_golden)
{
    const char *v = quick_variants[_i];
    float *ref = load_ref(v, false);
    float *alone[2] = { run_alone(v, 0, 2, QISA_AVX512), run_alone(v, 1, 2, QISA_AVX512) };
    for (int slots = 2; slots <= 8; slots++) {
        float *out[16];
        run_multi(v, slots, 2, QISA_AVX512, out);
        for (int k = 0; k < 2 * slots; k++) {
            char what[96];
            snprintf(what, sizeof what, "%d slots, sequence %d", slots, k);
            if (k % 2 == 0)
                check_tolerance(v, false, compare(out[k], ref, N_TOK, 1024), what);
            check_tolerance(v, false, compare(out[k], alone[k % 2], N_TOK, 1024), what);
            free(out[k]);
        }
    }
    free(alone[0]);
    free(alone[1]);
    free(ref);
}
END_TEST

/* With the reference kernels a token's result does not depend on what else
 * is in its pass: batched logits equal the lone run's bit for bit. */
START_TEST(test_multi_seq_bitexact_ref)
{
    const char *v = quick_variants[_i];
    float *alone[2] = { run_alone(v, 0, 2, QISA_REF), run_alone(v, 1, 2, QISA_REF) };
    for (int slots = 2; slots <= 8; slots += 3) {
        float *out[16];
        run_multi(v, slots, 2, QISA_REF, out);
        for (int k = 0; k < 2 * slots; k++) {
            ck_assert_msg(memcmp(out[k], alone[k % 2], sizeof(float) * N_TOK * 1024) == 0,
                          "%s: %d slots, sequence %d differs from its lone run", v, slots, k);
            free(out[k]);
        }
    }
    free(alone[0]);
    free(alone[1]);
}
END_TEST

/* Refusals: a bad slot, a full slot, too many tokens; nothing is evaluated
 * (positions unchanged), and a pass allocates nothing. */
START_TEST(test_multi_seq_refusals)
{
    char path[1024], err[1024];
    struct mem_counter mc = { 0 };
    struct mem_hooks hooks = mem_counting_hooks(&mc);
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = tu_golden_path(path, sizeof path, "shared-Q4_0.gguf");
    so.infer.n_threads = 2;
    so.infer.n_ctx = 8;
    so.infer.n_seq = 3;
    so.infer.mem = &hooks;
    struct session s;
    ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
    size_t before = mc.n_alloc;
    float *logits = malloc(sizeof(float) * 8 * 1024);
    int32_t tok[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    int seq[8] = { 0, 1, 2, 0, 1, 2, 0, 1 };
    uint8_t want[8] = { 0, 0, 0, 0, 0, 1, 1, 1 };
    ck_assert_int_eq(infer_eval_batch(s.ctx, tok, seq, want, 8, logits, err, sizeof err), 0);
    ck_assert_int_eq(infer_seq_pos(s.ctx, 0), 3);
    ck_assert_int_eq(infer_seq_pos(s.ctx, 1), 3);
    ck_assert_int_eq(infer_seq_pos(s.ctx, 2), 2);
    ck_assert_uint_eq(mc.n_alloc, before);
    int bad[1] = { 3 };
    ck_assert_int_eq(infer_eval_batch(s.ctx, tok, bad, NULL, 1, logits, err, sizeof err), INFER_EARG);
    ck_assert_ptr_nonnull(strstr(err, "slot 3"));
    int all0[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(infer_eval_batch(s.ctx, tok, all0, NULL, 6, logits, err, sizeof err), INFER_EFULL);
    ck_assert_int_eq(infer_seq_pos(s.ctx, 0), 3);
    ck_assert_int_eq(infer_eval_batch(s.ctx, tok, all0, NULL, 9, logits, err, sizeof err), INFER_EARG);
    infer_seq_reset(s.ctx, 1);
    ck_assert_int_eq(infer_seq_pos(s.ctx, 1), 0);
    ck_assert_int_eq(infer_seq_pos(s.ctx, 2), 2);
    free(logits);
    session_close(&s);
    ck_assert_uint_eq(mc.n_alloc, mc.n_free);
}
END_TEST

Suite *infer_suite(void)
{
    Suite *s = suite_create("infer");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 120);
    int n_variants = N_VARIANTS;
    const char *quick = getenv("GGPERF_TEST_QUICK");
    if (quick && strcmp(quick, "1") == 0) {
        run_variants = quick_variants;
        n_variants = (int)(sizeof quick_variants / sizeof quick_variants[0]);
        printf("infer: GGPERF_TEST_QUICK=1: %d of the %d golden variants\n", n_variants, N_VARIANTS);
        fflush(stdout); /* before Check forks: a buffered line would print once per test */
    }
    tcase_add_loop_test(tc, test_golden_fast_kernels, 0, n_variants);
    tcase_add_loop_test(tc, test_golden_reference_kernels, 0, n_variants);
    tcase_add_loop_test(tc, test_batch_equals_decode_and_threads, 0, n_variants);
    tcase_add_test(tc, test_logits_cli);
    tcase_add_test(tc, test_no_allocation_in_eval);
    tcase_add_test(tc, test_weight_copy_offsets);
    /* The multi-sequence runs cover the quick set: every kernel family the
     * full list has, at seven slot counts each. */
    int n_quick = (int)(sizeof quick_variants / sizeof quick_variants[0]);
    tcase_add_loop_test(tc, test_multi_seq_golden, 0, n_quick);
    tcase_add_loop_test(tc, test_multi_seq_bitexact_ref, 0, n_quick);
    tcase_add_test(tc, test_multi_seq_refusals);
    suite_add_tcase(s, tc);
    return s;
}
