/* profile suite: the per-operation profiler on the tiny golden Q4_0 model.
 * Time shares add up to the step within the stated marker overhead; the
 * byte and FLOP counts match a hand computation from the model's shapes;
 * the folded stacks parse and their totals match the profile; the profile
 * JSON round-trips; markers leave the logits bit-identical; the output
 * directory holds the report with its roofline and flame graph. Nothing
 * here asserts on speed. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/profile/profiler.h"
#include "harness/run/session.h"
#include "reports/prof_flame.h"
#include "reports/prof_report.h"
#include "results/profile.h"
#include "testutil.h"

#define STEPS 3
#define POS0 5

/* Tiny golden model: n_embd 256, n_ff 768, 2 layers, 4 heads, 2 KV heads
 * (head_dim 64), vocab 1024, every matrix Q4_0 (18 bytes per 32 values),
 * activations Q8_0 (34 bytes per 32). */
#define E 256
#define F 768
#define EKV 128
#define HD 64
#define NH 4
#define NKV 2
#define VOCAB 1024
#define Q4(n) ((n) / 32 * 18)
#define Q8(n) ((n) / 32 * 34)

static struct profile *profile_golden(int threads, bool kv_f32, char *path_out, size_t path_len)
{
    char path[1024], err[1024];
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = tu_golden_path(path, sizeof path, "shared-Q4_0.gguf");
    if (path_out)
        snprintf(path_out, path_len, "%s", path);
    so.infer.n_threads = threads;
    so.infer.n_ctx = 64;
    so.infer.kv_type = kv_f32 ? INFER_KV_F32 : INFER_KV_F16;
    struct region_hooks hooks = { 0 };
    so.infer.regions = &hooks;
    struct session s;
    ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
    struct profiler_opts po;
    profiler_opts_default(&po);
    po.steps = STEPS;
    po.prompt = POS0;
    po.warmup = 1;
    po.kv_elt = kv_f32 ? 4 : 2;
    struct profile *p = NULL;
    ck_assert_msg(profiler_run(s.ctx, &hooks, &s.m, &po, &p, err, sizeof err) == 0, "%s", err);
    snprintf(p->model_desc, sizeof p->model_desc, "golden Q4_0");
    snprintf(p->model_type, sizeof p->model_type, "Q4_0");
    session_close(&s);
    return p;
}

START_TEST(test_shares_sum_to_step)
{
    for (int threads = 1; threads <= 2; threads++) {
        struct profile *p = profile_golden(threads, false, NULL, 0);
        ck_assert_int_eq(p->n_threads, threads);
        ck_assert_int_eq(p->n_steps, STEPS);
        ck_assert(p->marker_ns > 0 && p->overhead_ns > 0);
        /* The stated overhead is the markers' cost: number of spans times
         * the measured marker cost, never more than the raw step. */
        ck_assert(p->overhead_ns < p->step_raw_ns);
        double sum = 0;
        for (int i = 0; i < p->n_ops; i++) {
            ck_assert(p->ops[i].time_ns >= 0);
            sum += p->ops[i].time_ns;
        }
        /* Every op of every layer is there, plus embed/out ops and dispatch. */
        ck_assert_int_eq(p->n_ops, 1 + 2 * 14 + 3 + 1);
        /* The shares add up to the step (measured outside the engine, less
         * the overhead) within the stated overhead. */
        double diff = fabs(p->step_ns - sum);
        ck_assert_msg(diff <= p->overhead_ns, "%d threads: ops sum to %.0f ns, step %.0f ns, overhead %.0f ns",
                      threads, sum, p->step_ns, p->overhead_ns);
        /* Each thread's busy + wait fits in the step. */
        for (int t = 0; t < threads; t++) {
            double bw = 0;
            for (int i = 0; i < p->n_ops; i++)
                bw += p->ops[i].busy_ns[t] + p->ops[i].thread_wait_ns[t];
            ck_assert_msg(bw <= p->step_raw_ns, "thread %d: %.0f ns in a %.0f ns step", t, bw, p->step_raw_ns);
            ck_assert(bw > 0);
        }
        /* One call of each op per step on thread 0 (quant: 4 per layer). */
        ck_assert_double_eq_tol(profile_find(p, "mm_q", 1)->calls, 1.0, 1e-9);
        ck_assert_double_eq_tol(profile_find(p, "quant", 0)->calls, 4.0, 1e-9);
        ck_assert_double_eq_tol(profile_find(p, "quant", -1)->calls, 1.0, 1e-9);
        profile_free(p);
    }
}
END_TEST

START_TEST(test_bytes_and_flops_by_hand)
{
    for (int kvf32 = 0; kvf32 <= 1; kvf32++) {
        struct profile *p = profile_golden(2, kvf32, NULL, 0);
        const struct profile_op *o;
        int kv_elt = kvf32 ? 4 : 2;
        /* Wq: 256 rows of 256 Q4_0 values; input one Q8_0 row; output 256 floats. */
        o = profile_find(p, "mm_q", 0);
        ck_assert_double_eq(o->bytes_weights, E * Q4(E));
        ck_assert_double_eq(o->bytes_weights, 36864);
        ck_assert_double_eq(o->bytes_act, Q8(E) + E * 4);
        ck_assert_double_eq(o->flops, 2.0 * E * E);
        ck_assert_double_eq(o->bytes_kv, 0);
        o = profile_find(p, "mm_k", 1);
        ck_assert_double_eq(o->bytes_weights, EKV * Q4(E));
        ck_assert_double_eq(o->flops, 2.0 * E * EKV);
        o = profile_find(p, "mm_down", 1);
        ck_assert_double_eq(o->bytes_weights, E * Q4(F));
        ck_assert_double_eq(o->bytes_weights, 110592);
        ck_assert_double_eq(o->bytes_act, Q8(F) + E * 4);
        ck_assert_double_eq(o->flops, 2.0 * F * E);
        o = profile_find(p, "mm_output", -1);
        ck_assert_double_eq(o->bytes_weights, VOCAB * Q4(E));
        ck_assert_double_eq(o->flops, 2.0 * E * VOCAB);
        o = profile_find(p, "embed", -1);
        ck_assert_double_eq(o->bytes_weights, Q4(E));
        /* Four quantizations per layer: xb, attention out, xb, gate (768). */
        o = profile_find(p, "quant", 0);
        ck_assert_double_eq(o->bytes_act, 3 * (E * 4 + Q8(E)) + (F * 4 + Q8(F)));
        ck_assert_double_eq(o->flops, 3.0 * (3 * E + F));
        /* Attention at positions POS0..POS0+STEPS-1: step s attends to
         * POS0+s+1 positions; K and V rows of both KV heads read once. */
        double mean_kv = 0;
        for (int s = 0; s < STEPS; s++)
            mean_kv += POS0 + s + 1;
        mean_kv /= STEPS;
        o = profile_find(p, "attn", 1);
        ck_assert_double_eq_tol(o->bytes_kv, mean_kv * 2 * EKV * kv_elt, 1e-6);
        ck_assert_double_eq_tol(o->flops, NH * mean_kv * (4.0 * HD + 3), 1e-6);
        o = profile_find(p, "rope", 0);
        ck_assert_double_eq(o->bytes_kv, 2.0 * EKV * kv_elt);
        ck_assert_double_eq(o->flops, 3.0 * (NH + NKV) * HD);
        o = profile_find(p, "swiglu", 0);
        ck_assert_double_eq(o->bytes_act, 3.0 * F * 4);
        /* Whole step: weights read = every matrix once + one embedding row. */
        double w = 0;
        for (int i = 0; i < p->n_ops; i++)
            w += p->ops[i].bytes_weights;
        double per_layer = 2.0 * E * Q4(E) + 2.0 * EKV * Q4(E) + 3.0 * F * Q4(E);
        ck_assert_double_eq(w, 2 * per_layer + VOCAB * Q4(E) + Q4(E));
        profile_free(p);
    }
}
END_TEST

START_TEST(test_folded_stacks_parse_and_total)
{
    struct profile *p = profile_golden(2, false, NULL, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(profile_write_folded(p, f), 0);
    fclose(f);
    struct prof_flame *fl = NULL;
    char err[256];
    ck_assert_msg(prof_flame_parse(buf, &fl, err, sizeof err) == 0, "%s", err);
    /* The total: every op's busy and wait on every thread, as integers. */
    unsigned long long want = 0, want_mm_q0 = 0;
    for (int i = 0; i < p->n_ops; i++)
        for (int t = 0; t < 2; t++) {
            unsigned long long b = (unsigned long long)llround(p->ops[i].busy_ns[t]),
                               w = (unsigned long long)llround(p->ops[i].thread_wait_ns[t]);
            want += b + w;
            if (p->ops[i].layer == 0 && strcmp(p->ops[i].op, "mm_q") == 0)
                want_mm_q0 += b + w;
        }
    ck_assert_uint_eq(fl->root.total, want);
    ck_assert_int_gt(fl->n_stacks, 30);
    /* step > layer > op > thread */
    ck_assert_int_eq(fl->root.n_kids, 1);
    const struct prof_flame_node *step = fl->root.kids[0];
    ck_assert_str_eq(step->name, "decode");
    const struct prof_flame_node *l0 = NULL, *mmq = NULL;
    for (int i = 0; i < step->n_kids; i++)
        if (!strcmp(step->kids[i]->name, "layer 0"))
            l0 = step->kids[i];
    ck_assert_ptr_nonnull(l0);
    for (int i = 0; i < l0->n_kids; i++)
        if (!strcmp(l0->kids[i]->name, "mm_q"))
            mmq = l0->kids[i];
    ck_assert_ptr_nonnull(mmq);
    ck_assert_uint_eq(mmq->total, want_mm_q0);
    ck_assert_int_ge(fl->max_depth, 4);
    /* speedscope: valid JSON with one sample per stack. */
    char *sbuf = NULL;
    size_t slen = 0;
    f = open_memstream(&sbuf, &slen);
    ck_assert_int_eq(prof_flame_speedscope(f, fl, "t"), 0);
    fclose(f);
    json_error_t je;
    json_t *j = json_loads(sbuf, 0, &je);
    ck_assert_msg(j != NULL, "speedscope JSON: %s", je.text);
    json_t *prof = json_array_get(json_object_get(j, "profiles"), 0);
    ck_assert_int_eq((int)json_array_size(json_object_get(prof, "samples")), fl->n_stacks);
    ck_assert_int_eq((long long)json_integer_value(json_object_get(prof, "endValue")), (long long)want);
    json_decref(j);
    free(sbuf);
    prof_flame_free(fl);
    /* A malformed line is refused with its number. */
    ck_assert_int_eq(prof_flame_parse("a;b 10\nno value here\n", &fl, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 2"));
    free(buf);
    profile_free(p);
}
END_TEST

START_TEST(test_json_round_trip)
{
    struct profile *p = profile_golden(2, false, NULL, 0);
    snprintf(p->ceilings[0].name, sizeof p->ceilings[0].name, "read bandwidth");
    snprintf(p->ceilings[0].kind, sizeof p->ceilings[0].kind, "bw");
    snprintf(p->ceilings[0].source, sizeof p->ceilings[0].source, "test");
    p->ceilings[0].value = 10;
    p->n_ceilings = 1;
    char path[1200], err[512];
    snprintf(path, sizeof path, "%s/p.json", tu_tmpdir());
    ck_assert_msg(profile_write_file(p, path, err, sizeof err) == 0, "%s", err);
    struct profile *q = NULL;
    ck_assert_msg(profile_read_file(path, &q, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(q->n_ops, p->n_ops);
    ck_assert_int_eq(q->n_threads, 2);
    ck_assert_double_eq_tol(q->step_ns, p->step_ns, 1e-6 * p->step_ns);
    for (int i = 0; i < p->n_ops; i++) {
        ck_assert_str_eq(q->ops[i].op, p->ops[i].op);
        ck_assert_int_eq(q->ops[i].layer, p->ops[i].layer);
        ck_assert_double_eq_tol(q->ops[i].bytes_weights, p->ops[i].bytes_weights, 1e-6);
        ck_assert_double_eq_tol(q->ops[i].thread_wait_ns[1], p->ops[i].thread_wait_ns[1], 1e-6 * p->ops[i].thread_wait_ns[1] + 1e-3);
    }
    ck_assert_double_eq(q->ceilings[0].value, 10);
    /* Not a profile: refused with the reason. */
    tu_write_file(path, "{\"schema\":\"ggperf-results\"}", 27);
    profile_free(q);
    ck_assert_int_eq(profile_read_file(path, &q, err, sizeof err), PROFILE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "not a ggperf profile"));
    profile_free(p);
}
END_TEST

/* The markers must not change what the engine computes: logits with a
 * live op hook are bit-identical to those with none. */
static int n_calls;
static void count_op(void *user, int ith, enum region_op op, int layer)
{
    (void)user;
    (void)op;
    (void)layer;
    if (ith == 0)
        n_calls++;
}

START_TEST(test_live_hooks_exact)
{
    char path[1024], err[1024];
    float *logits[2];
    for (int hooked = 0; hooked < 2; hooked++) {
        struct session_opts so;
        session_opts_init(&so);
        so.model_path = tu_golden_path(path, sizeof path, "shared-Q4_0.gguf");
        so.infer.n_threads = 2;
        so.infer.n_ctx = 32;
        struct region_hooks hooks = { .op = hooked ? count_op : NULL };
        so.infer.regions = &hooks;
        struct session s;
        ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
        static const int32_t toks[4] = { 1, 17, 300, 42 };
        logits[hooked] = malloc(sizeof(float) * 4 * VOCAB);
        n_calls = 0;
        for (int i = 0; i < 4; i++)
            ck_assert(infer_eval(s.ctx, toks + i, 1, logits[hooked] + i * VOCAB, err, sizeof err) == 0);
        if (hooked) /* per step on thread 0: per layer 15 ops + 4 quants + 14 barriers; outside 4 + 2 + 3 barriers + done */
            ck_assert_int_gt(n_calls, 4 * 2 * 15);
        session_close(&s);
    }
    ck_assert_int_eq(memcmp(logits[0], logits[1], sizeof(float) * 4 * VOCAB), 0);
    free(logits[0]);
    free(logits[1]);
}
END_TEST

START_TEST(test_report_dir)
{
    char mpath[1024];
    struct profile *p = profile_golden(2, false, mpath, sizeof mpath);
    p->n_ceilings = 2;
    struct profile_ceiling c0 = { "read bandwidth", "bw", 8.0, "test ceiling" };
    struct profile_ceiling c1 = { "int8 dot avx512-vnni", "compute", 100.0, "test ceiling" };
    p->ceilings[0] = c0;
    p->ceilings[1] = c1;
    snprintf(p->isa, sizeof p->isa, "avx512");
    const char *dir = tu_tmpdir();
    char err[512];
    ck_assert_msg(prof_report_write_dir(dir, p, p, err, sizeof err) == 0, "%s", err);
    char path[1200];
    size_t len;
    char path_html[1200];
    snprintf(path_html, sizeof path_html, "%s/report.html", dir);
    char *html = tu_read_file(path_html, &len);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "id=\"conclusions\""));
    ck_assert_ptr_nonnull(strstr(html, "<svg"));           /* the flame graph, inline */
    ck_assert_ptr_nonnull(strstr(html, "layer 0"));
    ck_assert_ptr_nonnull(strstr(html, "Comparison with the baseline"));
    /* The roofline is a PNG data URI when gnuplot ran. */
    snprintf(path, sizeof path, "%s/roofline.gp", dir);
    char *gp = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(gp);
    ck_assert_ptr_nonnull(strstr(gp, "test ceiling"));       /* ceilings labelled by source */
    snprintf(path, sizeof path, "%s/roofline.png", dir);
    char *png = tu_read_file(path, &len);
    if (png)
        ck_assert_ptr_nonnull(strstr(html, "data:image/png;base64,"));
    /* In a browser: the roofline image decodes, the flame graph is drawn
     * with its frames, and nothing on the page failed. */
    char body[2048];
    if (tu_chromium_body(path_html, body, sizeof body)) {
        ck_assert_msg(strstr(body, "data-check=\"done\""), "the page's check did not run: %s", body);
        ck_assert_int_eq(tu_body_attr_int(body, "data-images-total"), png ? 1 : 0);
        ck_assert_int_eq(tu_body_attr_int(body, "data-images-ok"), png ? 1 : 0);
        ck_assert_int_eq(tu_body_attr_int(body, "data-plots-visible"), png ? 1 : 0);
        ck_assert_int_ge(tu_body_attr_int(body, "data-svgs-visible"), 1);
        /* step, 2 layers, their ops and threads: far more than 10 frames */
        ck_assert_int_gt(tu_body_attr_int(body, "data-svg-rects"), 10);
        ck_assert_msg(strstr(body, "data-errors=\"\""), "errors on the page: %s", body);
    }
    free(png);
    free(gp);
    free(html);
    /* Conclusions name the shares. */
    char concl[4096];
    prof_report_conclusions(p, concl, sizeof concl);
    ck_assert_ptr_nonnull(strstr(concl, "FFN matmuls"));
    ck_assert_ptr_nonnull(strstr(concl, "Barrier wait"));
    profile_free(p);
}
END_TEST

/* The command as a user runs it: a run into a directory, rendering it
 * again with --from against a baseline, and usage errors. */
START_TEST(test_cli)
{
    char model[1024], cmd[4096], out[16384], err[4096];
    tu_golden_path(model, sizeof model, "shared-Q4_0.gguf");
    const char *dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd, "%s profile -m %s -t 2 -n 2 --warmup 0 --no-probe --counters hw -o %s/a",
             tu_ggperf_bin(), model, dir);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(out, "FFN matmuls"));
    ck_assert_ptr_nonnull(strstr(out, "mm_output"));
    /* No PMU here; with one, per-op hw counting is not implemented: both say unsupported and why. */
    ck_assert_ptr_nonnull(strstr(out, "hw counters: unsupported ("));
    const char *files[] = { "profile.json", "profile.folded", "profile.speedscope.json", "flame.svg", "report.html" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1200];
        size_t len;
        snprintf(path, sizeof path, "%s/a/%s", dir, files[i]);
        void *b = tu_read_file(path, &len);
        ck_assert_msg(b && len > 0, "%s missing or empty", path);
        free(b);
    }
    snprintf(cmd, sizeof cmd, "%s profile --from %s/a/profile.json --baseline %s/a/profile.json", tu_ggperf_bin(),
             dir, dir);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(out, "comparison with the baseline"));
    ck_assert_ptr_nonnull(strstr(out, "+0.0%"));
    snprintf(cmd, sizeof cmd, "%s profile -m %s --mode sideways", tu_ggperf_bin(), model);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--mode"));
    snprintf(cmd, sizeof cmd, "%s profile", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    snprintf(cmd, sizeof cmd, "%s profile --from %s/a/profile.folded", tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "profile.folded"));
    /* prefill: one pass of 8 tokens */
    snprintf(cmd, sizeof cmd, "%s profile -m %s -t 1 --mode prefill -n 8 -r 1 --warmup 0 --no-probe --json",
             tu_ggperf_bin(), model);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(out, "\"tokens_per_step\": 8"));
}
END_TEST

Suite *profile_suite(void)
{
    Suite *s = suite_create("profile");
    TCase *tc = tcase_create("profile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shares_sum_to_step);
    tcase_add_test(tc, test_bytes_and_flops_by_hand);
    tcase_add_test(tc, test_folded_stacks_parse_and_total);
    tcase_add_test(tc, test_json_round_trip);
    tcase_add_test(tc, test_live_hooks_exact);
    tcase_add_test(tc, test_report_dir);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    return s;
}
