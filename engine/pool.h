/* pool — the engine's thread pool: one dispatch per forward pass, with
 * barriers between ops (like llama.cpp's graph compute).
 *
 * A decode step is ONE pool_run whose function walks every op of the graph
 * and calls pool_barrier between them, so a step has ~200 barriers and the
 * barrier is the hot path: it is a counter + epoch barrier, each word on its
 * own cache line, and on the spin path it makes no system call.
 *
 * Threads: thread 0 is the caller of pool_run; threads 1..n-1 are workers
 * created by pool_new and parked between runs. Between runs (and in a
 * barrier) a thread waits by the pool's wait policy:
 *   POOL_WAIT_SPIN    spin with PAUSE; never sleeps in the kernel. When more
 *                     threads than CPUs share the pool ("oversubscribed":
 *                     n_threads above the caller's affinity count, or two
 *                     threads pinned to one CPU) it calls sched_yield after
 *                     a short spin so the thread being waited for can run;
 *                     otherwise only after a long spin (~16k PAUSEs), which
 *                     keeps progress when other processes share the CPUs.
 *                     Slow when oversubscribed, but it always progresses.
 *   POOL_WAIT_FUTEX   no spinning: sleep on a futex at once (a syscall pair
 *                     per wait; the slow but CPU-friendly end of the sweep).
 *   POOL_WAIT_HYBRID  spin for spin_ns (yielding as SPIN does when
 *                     oversubscribed), then sleep on the futex. The default.
 * A waker calls FUTEX_WAKE only when some thread is actually asleep.
 *
 * Memory comes from the mem hooks given to pool_new; nothing is allocated
 * after pool_new returns. Worker threads block asynchronous signals (not
 * fault signals such as SIGSEGV), so process-directed signals like SIGINT
 * are handled by the caller's threads.
 */
#ifndef GGPERF_ENGINE_POOL_H
#define GGPERF_ENGINE_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "engine/mem.h"

enum pool_wait { POOL_WAIT_SPIN = 0, POOL_WAIT_FUTEX, POOL_WAIT_HYBRID };

/* Error codes of pool_parse_cpus. */
enum pool_status {
    POOL_OK = 0,
    POOL_EINVAL = -1,   /* malformed text or a value out of range */
    POOL_ELIMIT = -2,   /* more CPUs than the output array holds */
};

#define POOL_MAX_THREADS 512
#define POOL_DEFAULT_SPIN_NS 100000u   /* hybrid spin budget when spin_ns == 0 */

struct pool_opts {
    int n_threads;          /* 1..POOL_MAX_THREADS, the caller included */
    enum pool_wait wait;
    uint64_t spin_ns;       /* hybrid spin budget; 0 = POOL_DEFAULT_SPIN_NS */
    const int *cpus;        /* pin thread i to cpus[i % n_cpus]; NULL = no pinning */
    int n_cpus;             /* >= 1 when cpus is given */
};

struct pool;
typedef void (*pool_fn)(void *arg, int ith, int nth);

/* Create a pool of o->n_threads threads (o->n_threads - 1 workers) and wait
 * until every worker runs. With cpus given, the caller's thread is pinned
 * to cpus[0] (its previous mask is restored by pool_free) and worker i
 * starts pinned to cpus[i % n_cpus]. mem may be NULL (default allocator);
 * the struct is copied, but mem->user must outlive the pool. Returns NULL
 * and a message in err on failure: a bad thread count or wait policy, a CPU
 * out of range or not in the caller's affinity mask (the message names the
 * CPU), out of memory, pthread_create failing (names the worker). Call
 * pool_new and pool_free on the same thread. */
struct pool *pool_new(const struct pool_opts *o, const struct mem_hooks *mem, char *err, size_t err_len);

/* Stop and join the workers, restore the caller's affinity mask when it was
 * pinned, free everything. NULL does nothing. Not during a pool_run. */
void pool_free(struct pool *p);

/* Run fn(arg, ith, nth) on every thread, ith 0 on the calling thread, and
 * return when all have returned. With one thread fn is called inline. Not
 * reentrant: fn must not call pool_run, and one thread at a time drives a
 * pool. Everything written before pool_run is visible inside fn, and
 * everything fn wrote is visible after pool_run returns. */
void pool_run(struct pool *p, pool_fn fn, void *arg);

/* Inside fn: wait until all nth threads of the current run call it (each
 * must, the same number of times). Acts as a full memory barrier across
 * threads: writes made by any thread before the barrier are visible to
 * every thread after it. */
void pool_barrier(struct pool *p, int ith);

/* Number of threads, the caller included. */
int pool_threads(const struct pool *p);

/* True when the pool has more threads than CPUs to run them (see above). */
bool pool_oversubscribed(const struct pool *p);

/* The one work-splitting helper every op uses: the contiguous part
 * [*begin, *end) of [0, n) for thread ith of nth. Boundaries are multiples
 * of grain (except the end of the last non-empty part, which is n); the
 * parts' counts of grains differ by at most one, earlier threads getting
 * the extra ones (the last grain of [0, n) may be partial). The
 * parts of ith = 0..nth-1 are disjoint, in order and cover [0, n). Some are
 * empty when n needs fewer than nth grains. n <= 0, nth < 1 or ith outside
 * [0, nth) gives an empty part; grain < 1 counts as 1. */
void pool_split(int64_t n, int ith, int nth, int64_t grain, int64_t *begin, int64_t *end);

/* Linux thread id (gettid) of thread ith: 0 is the thread that called
 * pool_new. -1 when ith is out of range. */
int pool_thread_tid(const struct pool *p, int ith);

/* Scheduling counters, summed over threads since pool_new or the last
 * reset. runs: pool_run calls; barriers: pool_barrier meetings (one per
 * meeting, not per thread; the end-of-run join is not counted);
 * futex_waits / futex_wakes: FUTEX_WAIT / FUTEX_WAKE system calls made;
 * spin_loops: PAUSE iterations spent waiting (including waiting for the
 * next run). */
struct pool_stats {
    uint64_t runs, barriers, futex_waits, futex_wakes, spin_loops;
};

/* Read the counters. Exact between runs except spin_loops and futex_waits
 * of workers still parked, which are added when they next wake. */
void pool_get_stats(const struct pool *p, struct pool_stats *s);

/* Zero the counters (between runs). */
void pool_reset_stats(struct pool *p);

/* The pool's wait policy and effective hybrid spin budget. */
enum pool_wait pool_wait_policy(const struct pool *p);
uint64_t pool_spin_ns(const struct pool *p);

/* "spin", "futex", "hybrid"; "?" for a value outside the enum. */
const char *pool_wait_name(enum pool_wait w);

/* The enum value for "spin", "futex" or "hybrid"; -1 for anything else. */
int pool_wait_from_name(const char *s);

/* Parse a CPU list like "0,2-3" (decimal CPU numbers 0..1023 and ascending
 * ranges, comma separated, no spaces) into cpus[0..max). Duplicates are
 * kept (two threads may share a CPU). Returns the count (>= 1), POOL_EINVAL
 * for malformed text or a value out of range, POOL_ELIMIT when more than max
 * CPUs; err names the offending part. */
int pool_parse_cpus(const char *list, int *cpus, int max, char *err, size_t err_len);

#endif
