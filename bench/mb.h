/* mb — ggperf's kernel microbenchmarks (the ggperf-microbench binary):
 * the engine's per-type kernels measured through Google Benchmark
 * (harness/gbench/gbench.h). Private to bench/: mb_main.c registers the cases,
 * mb_kernels.c holds the benchmark bodies and their data.
 *
 * Families (one Google Benchmark name per case, "/"-separated):
 *   to_float/TYPE/ISA                dequantize every row of a k x m weight
 *   from_float/TYPE/ISA              quantize 64 activation rows of k floats
 *   dot/TYPE/ISA/off:O               every row of a k x m weight dotted with
 *                                    one activation row (ny = 1, one thread),
 *                                    the weight O bytes past a 64-byte boundary
 *   dot_row/TYPE/ISA/batch:B         one row dot (L1-resident, a few hundred ns)
 *                                    per iteration, B iterations per crossing
 *   dot_mt/TYPE/ISA/threads:T        the dot case's rows split over T
 *                                    Google Benchmark threads (no barrier)
 *   matmul/TYPE/ISA/k:/m:/ny:/nth:   the engine's matmul: quantize ny
 *                                    activation rows, barrier, m row dots, on
 *                                    nth threads of the engine's pool
 *   overhead/...                     the C shim's own per-iteration cost
 *   selftest/...                     shim checks (only with --mb_selftest)
 *
 * Work reported: bytes_per_second counts the bytes the kernel streams in
 * the weight's own format (the row data; for from_float the input floats),
 * items_per_second counts rows (dots, dequantized or quantized rows), and
 * flops_per_second counts 2 k flops per dot (a multiply and an add per value).
 */
#ifndef GGPERF_BENCH_MB_H
#define GGPERF_BENCH_MB_H

#include <stddef.h>
#include <stdint.h>

#include "engine/quant.h"
#include "harness/gbench/gbench.h"

enum mb_family {
    MB_TO_FLOAT,
    MB_FROM_FLOAT,
    MB_DOT,
    MB_DOT_ROW,
    MB_DOT_MT,
    MB_MATMUL,
};

/* What the cases share: the weight matrix of the case running now (built
 * on first use and kept while the next cases ask for the same type, shape
 * and offset, so cases are registered grouped by weight), and whether
 * software counters are wanted. Thread-safe (dot_mt runs a case on several
 * threads at once). */
struct mb_ctx;

/* Returns NULL on out of memory. */
struct mb_ctx *mb_ctx_new(void);
/* Frees the cached weight too. NULL does nothing. */
void mb_ctx_free(struct mb_ctx *c);

/* One registered case; lives until gbench_main returns. Fields a family
 * does not use are 0. matmul takes k, m, ny and nth from the run's
 * arguments instead. */
struct mb_case {
    struct mb_ctx *ctx;
    enum mb_family family;
    int type;                        /* the weight (or, for from_float, output) type */
    enum quant_isa isa;              /* the kernel table's ISA cap */
    const struct quant_kernels *kern;
    int64_t k, m;                    /* values per row, rows */
    int offset;                      /* weight bytes past a 64-byte boundary */
    int batch;                       /* dot_row: iterations per crossing */
    char name[96];                   /* the Google Benchmark name */
    /* --mb_sim: the callgrind pass of this case, run once (first call). */
    int sim_state;                   /* 0 not run, 1 ok, -1 failed or not runnable */
    double sim_ir, sim_d1, sim_ll;   /* per iteration */
    char sim_note[288];              /* why not, when sim_state is -1 */
};

/* The benchmark body for every family (arg is a struct mb_case). */
void mb_run_case(struct gbench_state *st, void *arg);

/* Simulated counters (--mb_sim). Cases of the single-thread families
 * (to_float, from_float, dot, dot_row) then also run once under valgrind
 * callgrind with the cache simulation (harness/counters/ctr.h ctr_sim_run): the
 * binary (exe) re-runs itself as `exe --mb_sim_child=NAME,ITERS`, which
 * runs the case's loop body ITERS times with collection on only around it
 * (no Google Benchmark), and the case attaches the totals divided by ITERS
 * as the user counters sim_instructions, sim_d1_misses, sim_ll_misses
 * (plain per-iteration counts) and sim_isa (0 ref, 1 avx2, 2 avx512).
 * AVX-512 cases cannot run under valgrind 3.19: they attach only sim_isa
 * and say so in their label. exe NULL turns it off (the default). */
void mb_ctx_set_sim(struct mb_ctx *c, const char *exe);

/* Iterations of the case's loop body the sim child runs. */
int64_t mb_sim_iters(const struct mb_case *c);

/* The child side (--mb_sim_child): set up case c, run its loop body iters
 * times between ctr_sim_collect_begin/end, clean up. 0, or -1 with err. */
int mb_sim_child(const struct mb_case *c, int64_t iters, char *err, size_t err_len);

/* Whether the software counters (harness/counters/ctr.h) work here: 0 and a
 * description of what each run reports, or -1 and why not, in buf. */
int mb_sw_counters_probe(char *buf, size_t len);

/* Bodies of the overhead family (arg unused): an empty iteration through
 * gbench_keep_running, through gbench_keep_running_batch(st, 64), and a
 * whole run in one crossing (gbench_max_iterations). */
void mb_overhead_keep_running(struct gbench_state *st, void *arg);
void mb_overhead_batch(struct gbench_state *st, void *arg);
void mb_overhead_one_crossing(struct gbench_state *st, void *arg);

/* Self-test bodies (--mb_selftest): one that fails with MB_SELFTEST_ERROR,
 * and one that sets every kind of counter, a label, and pauses the timer. */
#define MB_SELFTEST_ERROR "selftest: skipped on purpose (--mb_selftest)"
void mb_selftest_skip(struct gbench_state *st, void *arg);
void mb_selftest_counters(struct gbench_state *st, void *arg);

#endif
