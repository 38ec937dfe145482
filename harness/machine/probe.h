/* probe — what this machine offers for measurement, and two small
 * benchmarks of it: STREAM-style memory bandwidth (copy, triad) and
 * context-switch cost (two threads ping-ponging on one CPU through a futex
 * and through pipes).
 *
 * probe_collect fills a struct probe_info: PMU present or not and why, which
 * default hardware events open (each tried alone), software events,
 * scheduler tracepoints, valgrind, perf_event_paranoid, THP mode, CPU
 * identity and cache geometry (cpuinfo.h, each with its source), the
 * engine's kernel variants, bandwidth per thread count and its peak,
 * context-switch cost.
 * Every figure is a struct metric (results/metric.h): one that could not be
 * had is unsupported or not counted with the reason, never a 0.
 * probe_to_json turns it into a jansson object (the runner embeds it in
 * results files); `ggperf probe [--json] [--quick]` prints it.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_HARNESS_PROBE_H
#define GGPERF_HARNESS_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/counters/ctr.h"
#include "harness/machine/cpuinfo.h"
#include "results/metric.h"

/* probe_collect flags. */
enum {
    PROBE_QUICK = 1u << 0,        /* small arrays (in cache: not memory bandwidth), few rounds: for tests */
    PROBE_NO_BANDWIDTH = 1u << 1, /* skip the bandwidth benchmark (its metrics: not counted, "skipped") */
    PROBE_NO_CTXSW = 1u << 2,     /* skip the context-switch benchmark */
};

#define PROBE_MAX_BW_ROWS 8

struct probe_event {
    char name[48];          /* libpfm4 name tried, "L1-DCACHE-LOAD-MISSES" */
    char metric[48];        /* ctr's metric name, "l1d_load_misses" */
    char encoding[256];     /* libpfm4's fully qualified name, "" if it did not resolve */
    bool opens;             /* perf_event_open succeeded */
    char reason[METRIC_REASON_MAX]; /* why not */
};

struct probe_bw_row {
    int threads;
    struct metric copy_gbps, triad_gbps; /* source derived, best of the repetitions */
};

struct probe_info {
    unsigned flags;
    char cpu_model[80];           /* cpuinfo_cpu_name(): how ggperf names the CPU */
    struct cpuinfo_cpu cpu;       /* vendor, family/model/stepping, microarchitecture */
    int n_cpus;                   /* online */
    char kernel[80];              /* uname -r */

    bool pmu_present;
    char pmu_reason[160];         /* why not */
    char pfm_pmu[96];             /* libpfm4's default core PMU, "icl (Intel Icelake)" */
    int perf_event_paranoid;      /* INT32_MIN when unreadable */
    struct probe_event hw[CTR_HW_DEFAULT_N];
    int n_hw;
    bool sw_ok;
    char sw_reason[160];
    bool tracepoints_ok;
    char tracefs[256];            /* where it is mounted (under sysfs_root()) */
    char tracepoints_reason[160];
    bool valgrind_ok;
    char valgrind[96];            /* version, or why not */
    char thp_enabled[24];         /* the selected word of /sys/kernel/mm/transparent_hugepage/enabled */
    char thp_defrag[24];
    char reclaim[256];            /* proactive reclaim (reclaim.h summary): why page cache empties with memory free */

    struct cpuinfo_caches caches; /* cpuinfo_caches_get(): the geometry and its source, or why none */

    uint64_t bw_array_bytes;      /* per array (three arrays) */
    int bw_reps;
    struct probe_bw_row bw[PROBE_MAX_BW_ROWS];
    int n_bw;
    struct metric peak_copy_gbps, peak_triad_gbps;

    int ctxsw_cpu;                /* both threads pinned here (-1: not pinned) */
    long ctxsw_rounds;
    struct metric ctxsw_futex_ns, ctxsw_pipe_ns; /* per switch: round trip / 2 */
};

/* Probe this machine (flags PROBE_*). Runs the benchmarks unless told not
 * to: a few seconds to a minute at full size (three arrays of 4 x LLC,
 * capped by available memory), well under a second with PROBE_QUICK.
 * Returns 0 (what failed is in the metrics and reasons), or CTR_EINVAL for
 * a NULL out. */
int probe_collect(struct probe_info *out, unsigned flags);

/* The whole info as a new JSON object (*out, the caller json_decref's it).
 * Metrics are objects {name, unit, source, status, value (only when ok),
 * reason (only when not), running_fraction (hw only)}. Returns 0 or
 * CTR_ENOMEM. */
int probe_to_json(const struct probe_info *info, json_t **out);

/* The CPU identity as {name, vendor, family, model, stepping, hypervisor,
 * microarchitecture, microarchitecture_basis} (unknown fields null). The
 * environment capture uses it too, so results and probe agree. NULL on out
 * of memory. */
json_t *probe_cpu_json(const struct cpuinfo_cpu *c);

/* The engine's kernels as quant_kernels_init(QISA_AVX512) picks them here
 * (after $GGPERF_CPU_DISABLE): {isa, cpu_disable, types: {TYPE: {dot,
 * gemm}}} with each slot's exact variant ("avx512-vbmi-gfni", ...). NULL on
 * out of memory. */
json_t *probe_kernels_json(void);

/* The cache levels as an array of {level, type, size_bytes, ways,
 * line_bytes, sets, shared_cpus, source}. NULL on out of memory. */
json_t *probe_caches_json(const struct cpuinfo_caches *cs);

/* One metric as such an object (NULL on out of memory). */
json_t *probe_metric_to_json(const struct metric *m);

/* ---- the benchmarks, for direct use and tests --------------------------- */

struct probe_bw_opts {
    uint64_t array_bytes;   /* per array; 0 = probe_bw_default_bytes() */
    int reps;               /* best of; 0 = 5 */
    const int *threads;     /* thread counts to run; NULL = 1, 2, 4, ... up to and including the CPU count */
    int n_threads;
};

/* 4 x the last-level cache (at least 256 MiB), capped so the three arrays
 * take at most half of MemAvailable. */
uint64_t probe_bw_default_bytes(void);

/* Run copy (c = a) and triad (a = b + s*c) over three arrays with each
 * thread count; rows[i] for opts->threads[i] (at most PROBE_MAX_BW_ROWS).
 * The arrays are madvise(MADV_HUGEPAGE)'d (honoured unless THP is "never").
 * GB/s = bytes moved (16 or 24 per element, STREAM's convention: no
 * write-allocate) / best time. Returns the number of rows, or CTR_ENOMEM /
 * CTR_EINVAL / CTR_EIO with err filled. */
int probe_bandwidth(const struct probe_bw_opts *opts, struct probe_bw_row *rows, char *err, size_t err_len);

enum probe_pp_mode { PROBE_PP_FUTEX, PROBE_PP_PIPE };

/* Two threads that, on probe_pingpong_run, hand a token back and forth
 * `rounds` times (A wakes B, B wakes A = one round trip) and then wait for
 * the next run. Pinned to cpu (>= 0) so every hand-over is a context switch
 * on that CPU; cpu < 0 leaves them where the scheduler puts them. */
struct probe_pingpong;

/* Start the pair. Returns 0 and *out, or CTR_EIO / CTR_ENOMEM with err. */
int probe_pingpong_new(struct probe_pingpong **out, enum probe_pp_mode mode, int cpu, char *err, size_t err_len);

/* The two threads' Linux tids (for ctr_open). */
void probe_pingpong_tids(const struct probe_pingpong *pp, int tids[2]);

/* Run `rounds` round trips; *elapsed_ns is thread A's time for them. */
int probe_pingpong_run(struct probe_pingpong *pp, long rounds, uint64_t *elapsed_ns);

/* Stop and join the threads; NULL does nothing. */
void probe_pingpong_free(struct probe_pingpong *pp);

/* The first CPU this thread may run on (for pinning), or -1. */
int probe_first_cpu(void);

/* ---- helpers behind ggperf probe's hidden test modes -------------------- */

/* mmap n fresh anonymous pages, write one byte to each, unmap: n minor
 * faults. 0 or CTR_ENOMEM with err. */
int probe_touch_pages(long n, char *err, size_t err_len);

/* Fill a buffer of `bytes`, then read one byte per 64-byte line. The walk
 * is one decode region made of four layer regions (indices 0..3, a quarter
 * of the lines each) marked through hooks; with hooks NULL, the whole walk
 * is collected directly (ctr_sim_collect_begin/end). Under valgrind the
 * collected part's D1 misses are its bytes/64. *sum gets the bytes' sum.
 * 0 or CTR_ENOMEM / CTR_EINVAL with err. */
int probe_sim_walk(size_t bytes, const struct region_hooks *hooks, uint64_t *sum, char *err, size_t err_len);

/* ---- the roofline's ceilings ---------------------------------------------- */

struct probe_peak {
    char name[48];          /* "f32 FMA avx512", "int8 dot avx512-vnni" */
    char insn[48];          /* the instruction measured: "vfmadd231ps zmm" */
    int threads;
    struct metric gflops;   /* source derived: flops counted / best time; unsupported when the CPU lacks it */
};

/* Peak arithmetic per ISA from measured loops of independent FMA / int8
 * dot instructions on `threads` threads at once (best of 5 runs of ~20 ms
 * each; each thread's rate = its flops / its CPU time, summed over the
 * threads, so preemption by other processes does not lower it): f32 FMA (avx2, avx512; an FMA = 2 flops) and int8 dot (avx2
 * maddubs+madd, avx512-vnni vpdpbusd; a multiply-add = 2 ops). Fills
 * rows[0..max) and returns the count, or CTR_EINVAL / CTR_EIO with err. */
int probe_peak_compute(int threads, struct probe_peak *rows, int max, char *err, size_t err_len);

/* Read-only bandwidth: `threads` threads each summing its part of one
 * array of `bytes` (transparent huge pages asked for), best of reps.
 * GB/s = bytes / time. 0, or CTR_EINVAL / CTR_ENOMEM / CTR_EIO with err. */
int probe_read_bandwidth(uint64_t bytes, int threads, int reps, struct metric *gbps, char *err, size_t err_len);

#endif
