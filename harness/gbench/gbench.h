/* gbench — a small C interface to Google Benchmark (libbenchmark 1.7.1).
 *
 * The project's only C++ lives behind this header (harness/gbench/gbench.cc), so
 * kernel microbenchmarks are written in C (bench/) and still get Google
 * Benchmark's iteration control, repetitions, statistics, filters, JSON/CSV
 * output and tools/compare.py.
 *
 * Typical use:
 *
 *     static void bm_dot(struct gbench_state *st, void *arg)
 *     {
 *         struct my_case *c = arg;                  // set up outside the loop
 *         int64_t n = gbench_arg(st, 0);
 *         while (gbench_keep_running_batch(st, 64)) // one C++ crossing per 64
 *             for (int i = 0; i < 64; i++)
 *                 run_kernel(c, n);
 *         gbench_set_bytes_processed(st, gbench_iterations(st) * bytes_per_iter);
 *     }
 *     ...
 *     struct gbench *b = gbench_register("dot/Q4_0", bm_dot, &my_case);
 *     gbench_range(b, 256, 4096);
 *     return gbench_main(argc, argv);
 *
 * Handles and states are the library's own objects seen through opaque
 * pointers: no wrapper is allocated per call and the per-iteration cost of
 * gbench_keep_running is one out-of-line call around the library's inline
 * KeepRunning. For kernels of a few nanoseconds use the batched forms.
 *
 * Errors: registration and configuration functions validate their arguments
 * and return GBENCH_EINVAL instead of letting the library's checks abort the
 * process. Functions called from inside a benchmark have preconditions
 * (documented per function) that are the library's; the shim makes the ones
 * that would abort harmless where it can (pause/resume after an error).
 *
 * Threads: a benchmark registered with gbench_threads(b, n) runs its function
 * on n threads at once with the same arg (each with its own state); the
 * function must be thread-safe for that arg. Everything else here is called
 * from the main thread before gbench_main, or is per-state.
 */
#ifndef GGPERF_HARNESS_GBENCH_H
#define GGPERF_HARNESS_GBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes (0 = success). */
enum {
    GBENCH_EINVAL = -1, /* bad argument (NULL, empty, out of range) */
    GBENCH_ENOMEM = -2, /* out of memory inside the library */
    GBENCH_EEXIST = -3, /* the context key is already set */
};

/* Flags of gbench_counter (the library's Counter::Flags plus
 * GBENCH_COUNTER_1024); unsigned constants since INVERT is bit 31. */
#define GBENCH_COUNTER_DEFAULT 0u
#define GBENCH_COUNTER_RATE 0x1u           /* divided by the run's time: per second */
#define GBENCH_COUNTER_AVG_THREADS 0x2u    /* divided by the number of threads */
#define GBENCH_COUNTER_ITER_INVARIANT 0x4u /* value is per iteration: multiplied by iterations */
#define GBENCH_COUNTER_AVG_ITERATIONS 0x8u /* divided by the number of iterations */
#define GBENCH_COUNTER_1024 0x40000000u    /* print with 1024-based prefixes (Ki, Mi) */
#define GBENCH_COUNTER_INVERT 0x80000000u  /* finally 1/x (e.g. seconds per item) */

/* Time unit of a benchmark's report. */
enum gbench_unit { GBENCH_NS = 0, GBENCH_US, GBENCH_MS, GBENCH_S };

struct gbench;       /* a registered benchmark (family); owned by the library */
struct gbench_state; /* the running state of one benchmark run on one thread */

/* The benchmark body: called once per run (and per thread with threads),
 * with the arg given at registration. It must loop on gbench_keep_running
 * (or the batched form) until it returns false, or call
 * gbench_skip_with_error and return. */
typedef void (*gbench_fn)(struct gbench_state *st, void *arg);

/* ---- registration (main thread, before gbench_main) ------------------ */

/* Register fn under name (copied). arg is borrowed: it must stay valid until
 * gbench_main returns. Returns the handle to configure (owned by the
 * library, valid until gbench_main returns), or NULL when name is NULL or
 * empty, fn is NULL, or out of memory. */
struct gbench *gbench_register(const char *name, gbench_fn fn, void *arg);

/* Add one run with the argument tuple args[0..n) (1 <= n <= 16; every run
 * of a benchmark must have the same n). Returns 0 or GBENCH_EINVAL. */
int gbench_args(struct gbench *b, const int64_t *args, int n);

/* Add runs for one argument picked from [lo, hi]: lo, the powers of the
 * range multiplier (default 8) in between, and hi. Requires 0 <= lo <= hi.
 * Returns 0 or GBENCH_EINVAL. */
int gbench_range(struct gbench *b, int64_t lo, int64_t hi);

/* Add runs for lo, lo + step, ..., up to hi (and hi). Requires lo <= hi,
 * step >= 1. Returns 0 or GBENCH_EINVAL. */
int gbench_dense_range(struct gbench *b, int64_t lo, int64_t hi, int step);

/* Multiplier of later gbench_range calls (>= 2). Returns 0 or GBENCH_EINVAL. */
int gbench_range_multiplier(struct gbench *b, int mult);

/* Names of the arguments, shown in the run names ("dot/k:2048/m:256");
 * n must equal the tuple size. Names are copied. Returns 0 or GBENCH_EINVAL. */
int gbench_arg_names(struct gbench *b, const char *const *names, int n);

/* Run the function on n threads at once (adds a run per call; n >= 1).
 * Returns 0 or GBENCH_EINVAL. */
int gbench_threads(struct gbench *b, int n);

/* Runs with lo, 2 lo, 4 lo, ... and hi threads (1 <= lo <= hi). */
int gbench_thread_range(struct gbench *b, int lo, int hi);

/* Minimum measured time per run in seconds (> 0), overriding
 * --benchmark_min_time. Returns 0 or GBENCH_EINVAL. */
int gbench_min_time(struct gbench *b, double seconds);

/* Repeat each run n times (>= 1), overriding --benchmark_repetitions. */
int gbench_repetitions(struct gbench *b, int n);

/* Run exactly n iterations (n >= 1) instead of growing to the min time.
 * Only for exact iteration control; not to bound a benchmark's run time. */
int gbench_fixed_iterations(struct gbench *b, int64_t n);

/* Report time in this unit. Returns 0 or GBENCH_EINVAL. */
int gbench_unit(struct gbench *b, enum gbench_unit u);

/* Measure and pace by wall-clock time instead of the main thread's CPU time
 * (needed when the work runs on other threads, e.g. a thread pool). */
int gbench_use_real_time(struct gbench *b);

/* Report the CPU time of the whole process (all threads) instead of the
 * calling thread's. */
int gbench_measure_process_cpu_time(struct gbench *b);

/* Add key = value to the "context" of every report (copied). Returns 0,
 * GBENCH_EINVAL (NULL or empty key, NULL value), GBENCH_EEXIST (the key is
 * already set: the first value stays) or GBENCH_ENOMEM. Keys the library
 * writes itself ("date", "host_name", "num_cpus", ...) are not visible here:
 * avoid them, or the report holds the key twice. */
int gbench_add_context(const char *key, const char *value);

/* What library the numbers come from, found out rather than assumed: its
 * version (the real name of the shared object it was loaded from), its
 * build type (what the library's own JSON reporter writes as
 * library_build_type) and whether it links libpfm (its DT_NEEDED). Fills
 * buf with one line, e.g. "libbenchmark 1.7.1 (/usr/lib/.../libbenchmark.so.1.7.1),
 * library built as debug (...), no libpfm (...)". Returns 0, or
 * GBENCH_EINVAL / GBENCH_ENOMEM. */
int gbench_library_describe(char *buf, size_t len);

/* Parse Google Benchmark's flags from argv (Initialize, which removes the
 * ones it knows), refuse any argument left over (printed by the library),
 * run the benchmarks the filter selects, Shutdown. Prints (this is a main).
 * Returns 0 when at least one benchmark ran (or was listed), 1 when the
 * filter matched none, 2 for unrecognized arguments. Call once. */
int gbench_main(int argc, char **argv);

/* ---- inside a benchmark body --------------------------------------- */

/* True while the library wants another iteration; starts the timer on the
 * first call and stops it on the last. */
bool gbench_keep_running(struct gbench_state *st);

/* True while the library wants n more iterations (n >= 1): one crossing per
 * n iterations. The last batch may overshoot the library's target; the
 * overshoot is counted, so gbench_iterations stays exact. */
bool gbench_keep_running_batch(struct gbench_state *st, int64_t n);

/* The library's iteration target for this run (known before the loop):
 * gbench_keep_running_batch(st, gbench_max_iterations(st)) runs the whole
 * run in one crossing, with the timer around the C loop only. */
int64_t gbench_max_iterations(const struct gbench_state *st);

/* Iterations completed so far (after the loop: all of them; 0 before the
 * first keep_running call). */
int64_t gbench_iterations(const struct gbench_state *st);

/* Argument i of this run's tuple. Requires i < the tuple size. */
int64_t gbench_arg(const struct gbench_state *st, int i);

/* This run's thread index (0..threads-1) and thread count. */
int gbench_thread_index(const struct gbench_state *st);
int gbench_thread_count(const struct gbench_state *st);

/* Stop / restart the timer inside the loop (costly: a few clock reads and
 * a lock each; not for tiny kernels). No-ops after gbench_skip_with_error. */
void gbench_pause_timing(struct gbench_state *st);
void gbench_resume_timing(struct gbench_state *st);

/* Work done by this run, reported as bytes_per_second / items_per_second
 * (divided by the run's time). Call after the loop. */
void gbench_set_bytes_processed(struct gbench_state *st, int64_t bytes);
void gbench_set_items_processed(struct gbench_state *st, int64_t items);

/* Set the user counter name (copied) to value with GBENCH_COUNTER_* flags.
 * Counters of the threads of a run are summed (see AVG_THREADS). Returns 0,
 * GBENCH_EINVAL (NULL or empty name) or GBENCH_ENOMEM. */
int gbench_counter(struct gbench_state *st, const char *name, double value, unsigned flags);

/* Mark this run as failed with msg (copied): the loop ends at the next
 * keep_running call (which returns false at once if the loop has not
 * started; the body may also simply return after this call), and the
 * report shows error_occurred and msg instead of timings. The first call
 * on a state wins; later calls are ignored. */
void gbench_skip_with_error(struct gbench_state *st, const char *msg);

/* True after gbench_skip_with_error on this state. */
bool gbench_error_occurred(const struct gbench_state *st);

/* A free-text label for this run's report line (copied). Call after the loop. */
void gbench_set_label(struct gbench_state *st, const char *label);

/* Make the compiler assume *p is read and may be written (keeps a result
 * alive without the cost of a volatile store). */
static inline void gbench_do_not_optimize(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Make the compiler assume all memory may be read and written here. */
static inline void gbench_clobber_memory(void)
{
    __asm__ volatile("" : : : "memory");
}

#ifdef __cplusplus
}
#endif

#endif
