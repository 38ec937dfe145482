/* mb_main — ggperf-microbench: registers every kernel case (see bench/mb.h)
 * with Google Benchmark through harness/gbench/gbench.h and runs the ones the
 * filter selects. `make microbench` runs it with a short min time and
 * writes build/microbench.json.
 *
 * Flags: Google Benchmark's own (--benchmark_filter=REGEX,
 * --benchmark_min_time=S, --benchmark_repetitions=N, --benchmark_out=FILE,
 * --benchmark_format=console|json|csv, --benchmark_list_tests, --help), plus
 *   --mb_max_threads=N  thread counts go 1, 2, 4, ... up to N (default: the
 *                       CPUs this process may run on)
 *   --mb_selftest       also register the shim's self-test cases
 *   --mb_sim            also run each single-thread case (to_float, from_float,
 *                       dot, dot_row) once under valgrind callgrind and attach
 *                       sim_instructions, sim_d1_misses, sim_ll_misses (per
 *                       iteration) and sim_isa (see bench/mb.h)
 *   --mb_cache_geometry=GEOM  CPU caches of --mb_sim (cpuinfo.h's syntax)
 *   --mb_help           print these flags
 * Hidden: --mb_sim_child=NAME,ITERS runs case NAME's loop body ITERS times
 * without Google Benchmark, collecting only that (what --mb_sim runs under
 * valgrind).
 * Exit: 0 ran, 1 nothing matched the filter or setup failed, 2 usage error.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/mb.h"
#include "engine/cpu.h"
#include "harness/machine/buildinfo.h"
#include "harness/machine/cpuinfo.h"

#define N_OFFSETS 5
static const int offsets[N_OFFSETS] = { 0, 1, 8, 18, 32 };

/* The 1.1B llama shapes (TinyLlama): k (input, row length) x m (output rows). */
static const int64_t shapes[][2] = {
    { 2048, 2048 },  /* attention q, o */
    { 2048, 256 },   /* attention k, v (GQA: 4 kv heads of 64) */
    { 2048, 5632 },  /* ffn gate, up */
    { 5632, 2048 },  /* ffn down */
    { 2048, 32000 }, /* output */
};

#define DOT_K 2048
#define DOT_M 2048
#define FROM_FLOAT_K 2048
#define PREFILL_NY 64

/* Every case, for freeing after the run. */
struct reg {
    struct mb_ctx *ctx;
    struct mb_case **cases;
    int n, cap;
    int failed;
    bool child; /* --mb_sim_child: build the cases only, register nothing */
};

static struct mb_case *add_case(struct reg *r, const struct mb_case *tmpl)
{
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 256;
        struct mb_case **p = realloc(r->cases, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        r->cases = p;
        r->cap = cap;
    }
    struct mb_case *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *tmpl;
    c->ctx = r->ctx;
    r->cases[r->n++] = c;
    return c;
}

/* Register name -> body(case); counts a failure (reported by main). */
static struct gbench *reg(struct reg *r, const char *name, gbench_fn fn, const struct mb_case *tmpl)
{
    struct mb_case *arg = NULL;
    if (tmpl && !(arg = add_case(r, tmpl))) {
        r->failed++;
        return NULL;
    }
    if (arg)
        snprintf(arg->name, sizeof arg->name, "%s", name);
    if (r->child)
        return NULL;
    struct gbench *b = gbench_register(name, fn, arg);
    if (!b)
        r->failed++;
    return b;
}

static int cpus_allowed(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

/* Alignment the reference kernels need for weights of type t: that of a
 * float for F32, of the fp16 fields (2) for every other supported type. */
static int ref_align(int t)
{
    return t == QT_F32 ? 4 : 2;
}

/* Thread counts 1, 2, 4, ..., max (max included); 0 after max. */
static int next_threads(int n, int max)
{
    if (n >= max)
        return 0;
    return n * 2 > max ? max : n * 2;
}

/* True when the table for level isa brings a kernel of its own for the
 * slot (compared with the reference table). */
static bool own_dot(const struct quant_kernels *k, enum quant_isa isa, int t)
{
    return isa == QISA_REF || k[isa].dot_isa[t] == isa;
}

static bool own_to_float(const struct quant_kernels *k, enum quant_isa isa, int t)
{
    return isa == QISA_REF || (k[isa].to_float[t] != k[isa - 1].to_float[t]);
}

static bool own_from_float(const struct quant_kernels *k, enum quant_isa isa, int t)
{
    return isa == QISA_REF || (k[isa].from_float[t] != k[isa - 1].from_float[t]);
}

static void add_context(const struct quant_kernels *k, int n_isa, int max_threads)
{
    struct cpu_features f;
    cpu_detect(&f);
    char feat[256], buf[512];
    cpu_features_str(&f, feat, sizeof feat);
    char lib[768];
    if (gbench_library_describe(lib, sizeof lib) != 0)
        snprintf(lib, sizeof lib, "libbenchmark (could not be described)");
    gbench_add_context("gbench_build", lib);
    gbench_add_context("ggperf_version", buildinfo_version);
    gbench_add_context("ggperf_commit", buildinfo_commit);
    gbench_add_context("ggperf_cc", buildinfo_cc);
    gbench_add_context("ggperf_cflags", buildinfo_cflags);
    gbench_add_context("cpu_brand", f.brand[0] ? f.brand : "unknown");
    gbench_add_context("cpu_features", feat);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n_isa; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? " " : "",
                                 quant_isa_name((enum quant_isa)i));
    gbench_add_context("kernel_isas", buf);
    gbench_add_context("kernel_isa_best", quant_isa_name(k[n_isa - 1].isa));
    /* Which dot kernels each SIMD level brings (the rest run the reference). */
    used = 0;
    buf[0] = '\0';
    for (int i = 1; i < n_isa; i++) {
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s:", i > 1 ? "; " : "",
                                 quant_isa_name((enum quant_isa)i));
        int before = (int)used;
        for (int t = 0; t < QT_COUNT && used < sizeof buf; t++)
            if (quant_supported(t) && k[i].dot_isa[t] == (enum quant_isa)i)
                used += (size_t)snprintf(buf + used, sizeof buf - used, " %s", quant_type_name(t));
        if ((int)used == before && used < sizeof buf)
            used += (size_t)snprintf(buf + used, sizeof buf - used, " none");
    }
    gbench_add_context("kernel_fast_dots", n_isa > 1 ? buf : "none (reference only)");
    snprintf(buf, sizeof buf, "%d", max_threads);
    gbench_add_context("mb_max_threads", buf);
    gbench_add_context("mb_work",
                       "bytes_per_second: weight bytes streamed in the weight's own format (from_float: "
                       "input floats); items_per_second: rows (dots, dequantized or quantized rows); "
                       "flops_per_second: 2*k per dot");
    mb_sw_counters_probe(buf, sizeof buf);
    gbench_add_context("mb_sw_counters", buf);
    gbench_add_context("mb_offsets", "dot weights at offsets 0 1 8 18 32 bytes past a 64-byte boundary; "
                                     "the reference kernels only at offsets keeping their block alignment "
                                     "(2 bytes, F32 4): they read blocks through struct pointers");
    gbench_add_context("mb_pool", "engine pool, wait policy hybrid, no pinning; matmul timed in wall time");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf-microbench [--benchmark_* flags] [--mb_max_threads=N] [--mb_selftest] [--mb_sim]\n"
               "  --mb_max_threads=N  thread counts 1, 2, 4, ... up to N (default: CPUs allowed)\n"
               "  --mb_selftest       also register the gbench shim's self-test cases\n"
               "  --mb_sim            single-thread cases also run once under valgrind callgrind:\n"
               "                      sim_instructions, sim_d1_misses, sim_ll_misses per iteration,\n"
               "                      sim_isa (0 ref, 1 avx2, 2 avx512: AVX-512 cases are skipped)\n"
               "  --mb_cache_geometry=GEOM  CPU caches for --mb_sim, e.g. L1d=48K/12/64,L2=2M/16/64,LL=32M/16/64\n"
               "                      (default: $GGPERF_CACHE_GEOMETRY, else sysfs, CPUID, getconf)\n"
               "  Google Benchmark's flags: --help\n");
}

/* The shim's self-test (--mb_selftest): cases whose reports tests/test_gbench.c
 * checks, and the argument validation of the registration functions, whose
 * outcome goes to the context as mb_selftest_api ("ok" or the failed check). */
static void register_selftest(struct reg *r)
{
    const char *failed = NULL;
#define MB_EXPECT(cond) ((cond) || failed ? (void)0 : (void)(failed = #cond))
    MB_EXPECT(gbench_register(NULL, mb_selftest_skip, NULL) == NULL);
    MB_EXPECT(gbench_register("", mb_selftest_skip, NULL) == NULL);
    MB_EXPECT(gbench_register("selftest/none", NULL, NULL) == NULL);

    reg(r, "selftest/skip", mb_selftest_skip, NULL);

    struct gbench *b = reg(r, "selftest/counters", mb_selftest_counters, NULL);
    int64_t a = 7;
    MB_EXPECT(gbench_args(b, &a, 1) == 0);
    MB_EXPECT(gbench_threads(b, 1) == 0);
    MB_EXPECT(gbench_threads(b, 2) == 0);
    MB_EXPECT(gbench_args(b, NULL, 1) == GBENCH_EINVAL);
    MB_EXPECT(gbench_args(b, &a, 0) == GBENCH_EINVAL);
    MB_EXPECT(gbench_args(NULL, &a, 1) == GBENCH_EINVAL);
    MB_EXPECT(gbench_threads(b, 0) == GBENCH_EINVAL);
    MB_EXPECT(gbench_thread_range(b, 2, 1) == GBENCH_EINVAL);
    MB_EXPECT(gbench_min_time(b, 0) == GBENCH_EINVAL);
    MB_EXPECT(gbench_repetitions(b, 0) == GBENCH_EINVAL);
    MB_EXPECT(gbench_fixed_iterations(b, 0) == GBENCH_EINVAL);
    MB_EXPECT(gbench_unit(b, (enum gbench_unit)99) == GBENCH_EINVAL);
    MB_EXPECT(gbench_use_real_time(NULL) == GBENCH_EINVAL);

    /* Range 1..64 with multiplier 4: runs n:1, n:4, n:16, n:64. */
    b = reg(r, "selftest/range", mb_selftest_counters, NULL);
    static const char *const n_name[] = { "n" };
    MB_EXPECT(gbench_range_multiplier(b, 1) == GBENCH_EINVAL);
    MB_EXPECT(gbench_range(b, 5, 1) == GBENCH_EINVAL);
    MB_EXPECT(gbench_range(b, -1, 4) == GBENCH_EINVAL);
    MB_EXPECT(gbench_dense_range(b, 1, 4, 0) == GBENCH_EINVAL);
    MB_EXPECT(gbench_range_multiplier(b, 4) == 0);
    MB_EXPECT(gbench_range(b, 1, 64) == 0);
    MB_EXPECT(gbench_arg_names(b, n_name, 1) == 0);
    MB_EXPECT(gbench_arg_names(b, NULL, 1) == GBENCH_EINVAL);
    MB_EXPECT(gbench_unit(b, GBENCH_US) == 0);

    /* Dense range 2..6 step 2: runs 2, 4, 6. */
    b = reg(r, "selftest/dense", mb_selftest_counters, NULL);
    MB_EXPECT(gbench_dense_range(b, 2, 6, 2) == 0);
    MB_EXPECT(gbench_measure_process_cpu_time(b) == 0);

    /* Exactly 40 iterations (5 batches of 8), twice, with aggregates. */
    b = reg(r, "selftest/fixed", mb_selftest_counters, NULL);
    MB_EXPECT(gbench_args(b, &a, 1) == 0);
    MB_EXPECT(gbench_fixed_iterations(b, 40) == 0);
    MB_EXPECT(gbench_repetitions(b, 2) == 0);

    MB_EXPECT(gbench_add_context("", "x") == GBENCH_EINVAL);
    MB_EXPECT(gbench_add_context("k", NULL) == GBENCH_EINVAL);
    MB_EXPECT(gbench_add_context("gbench_build", "again") == GBENCH_EEXIST);
#undef MB_EXPECT
    char buf[200];
    snprintf(buf, sizeof buf, "%s%s", failed ? "failed: " : "ok", failed ? failed : "");
    gbench_add_context("mb_selftest_api", buf);
}

static void register_all(struct reg *r, const struct quant_kernels *k, int n_isa, int max_threads,
                         bool selftest)
{
    char name[128];
    const enum quant_isa best = (enum quant_isa)(n_isa - 1);

    if (selftest)
        register_selftest(r);

    reg(r, "overhead/keep_running", mb_overhead_keep_running, NULL);
    reg(r, "overhead/batch:64", mb_overhead_batch, NULL);
    reg(r, "overhead/one_crossing", mb_overhead_one_crossing, NULL);

    for (int t = 0; t < QT_COUNT; t++) {
        if (!quant_supported(t))
            continue;
        for (int i = 0; i < n_isa; i++) {
            if (!own_to_float(k, (enum quant_isa)i, t))
                continue;
            struct mb_case c = { .family = MB_TO_FLOAT, .type = t, .isa = (enum quant_isa)i, .kern = &k[i],
                                 .k = DOT_K, .m = DOT_M };
            snprintf(name, sizeof name, "to_float/%s/%s", quant_type_name(t), quant_isa_name(c.isa));
            reg(r, name, mb_run_case, &c);
        }
    }

    static const int act_types[] = { QT_Q8_0, QT_Q8_1, QT_Q8_K, QT_F16, QT_BF16 };
    for (size_t a = 0; a < sizeof act_types / sizeof act_types[0]; a++) {
        int t = act_types[a];
        for (int i = 0; i < n_isa; i++) {
            if (!k[i].from_float[t] || !own_from_float(k, (enum quant_isa)i, t))
                continue;
            struct mb_case c = { .family = MB_FROM_FLOAT, .type = t, .isa = (enum quant_isa)i, .kern = &k[i],
                                 .k = FROM_FLOAT_K };
            snprintf(name, sizeof name, "from_float/%s/%s", quant_type_name(t), quant_isa_name(c.isa));
            reg(r, name, mb_run_case, &c);
        }
    }

    /* dot: per type, the weight at each offset, every ISA with a kernel of its own. */
    for (int t = 0; t < QT_COUNT; t++) {
        if (!quant_supported(t))
            continue;
        for (int o = 0; o < N_OFFSETS; o++)
            for (int i = 0; i < n_isa; i++) {
                if (!own_dot(k, (enum quant_isa)i, t))
                    continue;
                /* The reference kernels read blocks through struct pointers:
                 * weights must keep the block's alignment there (GGUF data is
                 * 32-byte aligned and block sizes are even, so real files do).
                 * The SIMD kernels take any byte offset. */
                if (i == QISA_REF && offsets[o] % ref_align(t) != 0)
                    continue;
                struct mb_case c = { .family = MB_DOT, .type = t, .isa = (enum quant_isa)i, .kern = &k[i],
                                     .k = DOT_K, .m = DOT_M, .offset = offsets[o] };
                snprintf(name, sizeof name, "dot/%s/%s/off:%d", quant_type_name(t), quant_isa_name(c.isa),
                         offsets[o]);
                reg(r, name, mb_run_case, &c);
            }
    }

    /* dot_row: the tiny kernel, 64 calls per crossing; Q4_0 also one per
     * crossing, to show what the crossing costs. */
    for (int t = 0; t < QT_COUNT; t++) {
        if (!quant_supported(t))
            continue;
        for (int i = 0; i < n_isa; i++) {
            if (!own_dot(k, (enum quant_isa)i, t))
                continue;
            struct mb_case c = { .family = MB_DOT_ROW, .type = t, .isa = (enum quant_isa)i, .kern = &k[i],
                                 .k = DOT_K, .batch = 64 };
            for (int pass = 0; pass < (t == QT_Q4_0 ? 2 : 1); pass++) {
                if (pass == 1)
                    c.batch = 1;
                snprintf(name, sizeof name, "dot_row/%s/%s/batch:%d", quant_type_name(t),
                         quant_isa_name(c.isa), c.batch);
                reg(r, name, mb_run_case, &c);
            }
        }
    }

    /* dot_mt: the fast kernels' rows split over Google Benchmark threads. */
    for (int t = 0; t < QT_COUNT; t++) {
        if (!quant_supported(t) || best == QISA_REF || k[best].dot_isa[t] == QISA_REF)
            continue;
        enum quant_isa isa = k[best].dot_isa[t];
        struct mb_case c = { .family = MB_DOT_MT, .type = t, .isa = isa, .kern = &k[isa], .k = DOT_K, .m = DOT_M };
        snprintf(name, sizeof name, "dot_mt/%s/%s", quant_type_name(t), quant_isa_name(isa));
        struct gbench *b = reg(r, name, mb_run_case, &c);
        if (b) {
            gbench_thread_range(b, 1, max_threads);
            gbench_use_real_time(b);
        }
    }

    /* matmul at the model's shapes, best kernels, through the pool. ny = 64
     * (prefill) only where a SIMD kernel exists: the reference kernels
     * would take seconds per iteration at the large shapes. */
    static const char *const arg_names[] = { "k", "m", "ny", "nth" };
    for (int t = 0; t < QT_COUNT; t++) {
        if (!quant_supported(t))
            continue;
        enum quant_isa isa = k[best].dot_isa[t];
        struct mb_case c = { .family = MB_MATMUL, .type = t, .isa = isa, .kern = &k[best] };
        snprintf(name, sizeof name, "matmul/%s/%s", quant_type_name(t), quant_isa_name(isa));
        struct gbench *b = reg(r, name, mb_run_case, &c);
        if (!b)
            continue;
        gbench_arg_names(b, arg_names, 4);
        gbench_use_real_time(b);
        gbench_unit(b, GBENCH_US);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int ny = 1; ny <= PREFILL_NY; ny *= PREFILL_NY) {
                if (ny > 1 && isa == QISA_REF)
                    continue;
                for (int nth = 1; nth; nth = next_threads(nth, max_threads)) {
                    int64_t args[4] = { shapes[s][0], shapes[s][1], ny, nth };
                    if (gbench_args(b, args, 4) != 0)
                        r->failed++;
                }
            }
    }
}

/* --mb_sim_child=NAME,ITERS: run case NAME's body ITERS times (0 or 1). */
static int run_child(const struct reg *r, const char *spec)
{
    const char *comma = strrchr(spec, ',');
    char *end;
    errno = 0;
    long long iters = comma ? strtoll(comma + 1, &end, 10) : 0;
    if (!comma || errno || end == comma + 1 || *end || iters < 1 || iters > 1000000) {
        fprintf(stderr, "ggperf-microbench: --mb_sim_child: '%s' is not NAME,ITERS (ITERS in 1..1000000)\n", spec);
        return 2;
    }
    size_t len = (size_t)(comma - spec);
    for (int i = 0; i < r->n; i++) {
        const struct mb_case *c = r->cases[i];
        if (strlen(c->name) == len && strncmp(c->name, spec, len) == 0) {
            char err[256];
            if (mb_sim_child(c, iters, err, sizeof err) != 0) {
                fprintf(stderr, "ggperf-microbench: %s\n", err);
                return 1;
            }
            return 0;
        }
    }
    fprintf(stderr, "ggperf-microbench: --mb_sim_child: no case '%.*s' here (AVX-512 cases do not exist under "
                    "valgrind)\n", (int)len, spec);
    return 1;
}

int main(int argc, char **argv)
{
    int max_threads = cpus_allowed();
    bool selftest = false, sim = false;
    const char *child = NULL;
    char **gargv = calloc((size_t)argc + 1, sizeof *gargv);
    if (!gargv) {
        fprintf(stderr, "ggperf-microbench: out of memory\n");
        return 1;
    }
    int gargc = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i == 0 || strncmp(a, "--mb_", 5) != 0) {
            gargv[gargc++] = argv[i];
            continue;
        }
        if (strcmp(a, "--mb_selftest") == 0) {
            selftest = true;
        } else if (strcmp(a, "--mb_sim") == 0) {
            sim = true;
        } else if (strncmp(a, "--mb_cache_geometry=", 20) == 0) {
            struct cpuinfo_caches cs;
            char e[256];
            if (cpuinfo_caches_parse(a + 20, &cs, e, sizeof e) != 0) {
                fprintf(stderr, "ggperf-microbench: --mb_cache_geometry: %s\n", e);
                free(gargv);
                return 2;
            }
            setenv("GGPERF_CACHE_GEOMETRY", a + 20, 1); /* where ctr_sim_run and the sim children read it */
        } else if (strncmp(a, "--mb_sim_child=", 15) == 0) {
            child = a + 15;
        } else if (strncmp(a, "--mb_max_threads=", 17) == 0) {
            char *end;
            errno = 0;
            long v = strtol(a + 17, &end, 10);
            if (errno || end == a + 17 || *end || v < 1 || v > 512) {
                fprintf(stderr, "ggperf-microbench: --mb_max_threads: '%s' is not a number in 1..512\n", a + 17);
                free(gargv);
                return 2;
            }
            max_threads = (int)v;
        } else if (strcmp(a, "--mb_help") == 0) {
            usage(stdout);
            free(gargv);
            return 0;
        } else {
            fprintf(stderr, "ggperf-microbench: unknown flag '%s'\n", a);
            usage(stderr);
            free(gargv);
            return 2;
        }
    }

    char cpu_err[512];
    if (quant_cpu_disable_check(cpu_err, sizeof cpu_err) != 0) {
        fprintf(stderr, "ggperf-microbench: $GGPERF_CPU_DISABLE: %s\n", cpu_err);
        free(gargv);
        return 2;
    }
    /* Tables for every ISA level the CPU has: k[i] is capped at level i. */
    struct quant_kernels k[3];
    int n_isa = 0;
    for (int i = QISA_REF; i <= QISA_AVX512; i++) {
        quant_kernels_init(&k[i], (enum quant_isa)i);
        if (k[i].isa != (enum quant_isa)i)
            break;
        n_isa++;
    }

    struct reg r = { .ctx = mb_ctx_new(), .child = child != NULL };
    if (!r.ctx) {
        fprintf(stderr, "ggperf-microbench: out of memory\n");
        free(gargv);
        return 1;
    }
    char exe[PATH_MAX];
    if (sim && !child) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            fprintf(stderr, "ggperf-microbench: --mb_sim: cannot read /proc/self/exe: %s\n", strerror(errno));
            mb_ctx_free(r.ctx);
            free(gargv);
            return 1;
        }
        exe[n] = '\0';
        mb_ctx_set_sim(r.ctx, exe);
    }
    if (!child)
        add_context(k, n_isa, max_threads);
    if (sim && !child) {
        struct cpuinfo_caches cs;
        char text[512];
        cpuinfo_caches_get(&cs);
        snprintf(text, sizeof text,
                 "valgrind callgrind cache simulation (cache geometry from %s) of each single-thread case's loop "
                 "body, one warm-up iteration then a fixed count (dot_row 64, others 1) collected; counters per "
                 "iteration; AVX-512 cases skipped (valgrind 3.19 cannot run them), sim_isa 0 ref 1 avx2 2 avx512",
                 cpuinfo_source_name(cs.source));
        gbench_add_context("mb_sim", text);
    }
    register_all(&r, k, n_isa, max_threads, selftest && !child);
    int rc;
    if (child) {
        rc = run_child(&r, child);
    } else if (r.failed) {
        fprintf(stderr, "ggperf-microbench: %d benchmark registrations failed (out of memory)\n", r.failed);
        rc = 1;
    } else {
        rc = gbench_main(gargc, gargv);
    }
    for (int i = 0; i < r.n; i++)
        free(r.cases[i]);
    free(r.cases);
    mb_ctx_free(r.ctx);
    free(gargv);
    return rc;
}
