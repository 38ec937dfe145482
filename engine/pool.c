/* pool — thread pool with an epoch barrier (see pool.h).
 *
 * Synchronisation, all with C11 atomics so ThreadSanitizer can check it:
 *
 * - Dispatch: the caller writes fn/arg, then bumps `gen` (seq_cst RMW, so a
 *   release). Workers wait until gen differs from the value they last ran
 *   (acquire loads), then read fn/arg.
 * - Barrier: each thread reads `bar_epoch`, then increments `bar_count`
 *   (acq_rel). The last one to arrive (count == n-1) has, through the chain
 *   of RMWs, acquired every other thread's writes; it resets the count and
 *   stores epoch+1 (seq_cst, a release). The others wait until the epoch
 *   changes (acquire) and so see everything the last one saw. The epoch read
 *   before the increment is current: it can change only once every thread,
 *   this one included, has arrived.
 * - The end of a run is the same barrier, so fn/arg are rewritten only
 *   after every worker is done with them.
 * - Sleeping: a thread about to FUTEX_WAIT on a word increments that word's
 *   sleeper count, then re-reads the word; a waker stores the word, then
 *   reads the sleeper count, and calls FUTEX_WAKE only when it is non-zero.
 *   All four are seq_cst, so at least one side sees the other (and the
 *   kernel re-checks the word inside FUTEX_WAIT): no lost wake-up and no
 *   syscall on the spin path.
 *
 * Each shared word sits on its own 64-byte line so spinning readers of the
 * epoch are not disturbed by arrivals bumping the count.
 */
#include "engine/pool.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"

#define CACHE_LINE 64

/* PAUSE iterations before a spinning thread starts calling sched_yield. */
#define YIELD_AFTER_SPINS 16384u
#define YIELD_AFTER_SPINS_OVERSUB 64u
/* The hybrid policy reads the clock once per this many PAUSEs. */
#define CLOCK_CHECK_MASK 63u

/* Per-thread counters. Only the owning thread writes them (load + store,
 * no locked RMW on the hot path); they are atomics only so that
 * pool_get_stats may read them while workers run. */
struct pool_thread {
    alignas(CACHE_LINE) _Atomic uint64_t runs;
    _Atomic uint64_t barriers;
    _Atomic uint64_t futex_waits;
    _Atomic uint64_t futex_wakes;
    _Atomic uint64_t spin_loops;
    struct pool *pool;
    pthread_t thread;
    int ith;
    int tid;        /* written before n_started is released */
    bool created;
};

struct pool {
    /* Read-only after pool_new. */
    alignas(CACHE_LINE) int n;
    enum pool_wait wait;
    uint64_t spin_ns;
    uint32_t yield_after;
    bool oversubscribed;
    bool pinned;
    struct pool_thread *threads;   /* [n] */
    struct mem_hooks mem;
    pthread_t caller;
    cpu_set_t caller_mask;         /* the caller's mask before pinning */

    /* Written by the caller before a run is published through gen. */
    alignas(CACHE_LINE) pool_fn fn;
    void *arg;

    alignas(CACHE_LINE) _Atomic uint32_t gen;          /* futex word */
    alignas(CACHE_LINE) _Atomic uint32_t gen_sleepers;
    alignas(CACHE_LINE) _Atomic uint32_t bar_count;
    alignas(CACHE_LINE) _Atomic uint32_t bar_epoch;    /* futex word */
    alignas(CACHE_LINE) _Atomic uint32_t bar_sleepers;
    alignas(CACHE_LINE) _Atomic uint32_t n_started;    /* futex word */
    _Atomic int quit;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

static inline void stat_add(_Atomic uint64_t *c, uint64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d, memory_order_relaxed);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int sys_gettid(void)
{
    return (int)syscall(SYS_gettid);
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
    /* EAGAIN (word already changed) and EINTR just send the caller back to
     * re-check the word. */
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Wait until *word != old by the pool's policy; returns the new value, read
 * with acquire ordering. */
static uint32_t wait_change(const struct pool *p, struct pool_thread *me, _Atomic uint32_t *word,
                            _Atomic uint32_t *sleepers, uint32_t old)
{
    uint32_t v;
    uint64_t spins = 0;

    if (p->wait != POOL_WAIT_FUTEX) {
        bool hybrid = p->wait == POOL_WAIT_HYBRID;
        uint64_t t0 = 0;
        /* SPIN leaves only by the goto; HYBRID also by its budget. */
        for (;;) {
            v = atomic_load_explicit(word, memory_order_acquire);
            if (v != old)
                goto done;
            cpu_relax();
            spins++;
            if (spins >= p->yield_after)
                sched_yield();
            if ((spins & CLOCK_CHECK_MASK) == 0 && hybrid) {
                /* The budget starts at the first clock read, so the first
                 * few PAUSEs cost no clock call at all. */
                uint64_t t = now_ns();
                if (t0 == 0)
                    t0 = t;
                else if (t - t0 >= p->spin_ns)
                    break;
            }
        }
    }

    for (;;) {
        atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
        v = atomic_load_explicit(word, memory_order_seq_cst);
        if (v == old) {
            futex_wait(word, old);
            stat_add(&me->futex_waits, 1);
        }
        atomic_fetch_sub_explicit(sleepers, 1, memory_order_relaxed);
        v = atomic_load_explicit(word, memory_order_acquire);
        if (v != old)
            break;
    }
done:
    if (spins)
        stat_add(&me->spin_loops, spins);
    return v;
}

/* Store a new value into a futex word and wake its sleepers, if any. */
static void publish(struct pool_thread *me, _Atomic uint32_t *word, _Atomic uint32_t *sleepers, uint32_t v)
{
    atomic_store_explicit(word, v, memory_order_seq_cst);
    if (atomic_load_explicit(sleepers, memory_order_seq_cst) > 0) {
        futex_wake_all(word);
        stat_add(&me->futex_wakes, 1);
    }
}

static void barrier_wait(struct pool *p, struct pool_thread *me, bool count_it)
{
    uint32_t e = atomic_load_explicit(&p->bar_epoch, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == (uint32_t)p->n - 1) {
        /* Nobody touches the count again before seeing the new epoch. */
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        if (count_it)
            stat_add(&me->barriers, 1);
        publish(me, &p->bar_epoch, &p->bar_sleepers, e + 1);
        return;
    }
    wait_change(p, me, &p->bar_epoch, &p->bar_sleepers, e);
}

static void *worker_main(void *arg)
{
    struct pool_thread *me = arg;
    struct pool *p = me->pool;

    me->tid = sys_gettid();
    atomic_fetch_add_explicit(&p->n_started, 1, memory_order_release);
    futex_wake_all(&p->n_started);

    uint32_t seen = 0;
    for (;;) {
        seen = wait_change(p, me, &p->gen, &p->gen_sleepers, seen);
        if (atomic_load_explicit(&p->quit, memory_order_relaxed))
            break;
        p->fn(p->arg, me->ith, p->n);
        barrier_wait(p, me, false);
    }
    return NULL;
}

/* Format the CPUs of a set as "0-3,6" into buf. */
static void format_cpuset(const cpu_set_t *set, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE && used < len; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int last = c;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
            last++;
        int k = last == c ? snprintf(buf + used, len - used, "%s%d", used ? "," : "", c)
                          : snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", c, last);
        if (k < 0)
            break;
        used += (size_t)k;
        c = last;
    }
}

/* Stop the workers that were created and join them. */
static void stop_workers(struct pool *p)
{
    atomic_store_explicit(&p->quit, 1, memory_order_relaxed);
    /* gen's seq_cst store publishes quit; wake unconditionally: a worker may
     * be between its sleeper increment and FUTEX_WAIT, which is covered by
     * the kernel's re-check, and this is no hot path. */
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_seq_cst);
    futex_wake_all(&p->gen);
    for (int i = 1; i < p->n; i++) {
        if (p->threads[i].created)
            pthread_join(p->threads[i].thread, NULL);
    }
}

static void free_pool_memory(struct pool *p)
{
    struct mem_hooks mem = p->mem;
    mem_free(&mem, p->threads, (size_t)p->n * sizeof *p->threads);
    mem_free(&mem, p, sizeof *p);
}

struct pool *pool_new(const struct pool_opts *o, const struct mem_hooks *mem, char *err, size_t err_len)
{
    if (!o) {
        err_set(err, err_len, "pool_new: no options given");
        return NULL;
    }
    if (o->n_threads < 1 || o->n_threads > POOL_MAX_THREADS) {
        err_set(err, err_len, "n_threads %d out of range 1..%d", o->n_threads, POOL_MAX_THREADS);
        return NULL;
    }
    if (o->wait != POOL_WAIT_SPIN && o->wait != POOL_WAIT_FUTEX && o->wait != POOL_WAIT_HYBRID) {
        err_set(err, err_len, "wait policy %d is not spin, futex or hybrid", (int)o->wait);
        return NULL;
    }
    if (o->cpus && o->n_cpus < 1) {
        err_set(err, err_len, "n_cpus %d: must be >= 1 when a CPU list is given", o->n_cpus);
        return NULL;
    }

    cpu_set_t caller_mask;
    CPU_ZERO(&caller_mask);
    int rc = pthread_getaffinity_np(pthread_self(), sizeof caller_mask, &caller_mask);
    if (rc != 0) {
        err_set(err, err_len, "pthread_getaffinity_np of the caller failed: %s", strerror(rc));
        return NULL;
    }

    int n = o->n_threads;
    bool oversub;
    if (o->cpus) {
        char allowed[256];
        cpu_set_t used;
        CPU_ZERO(&used);
        oversub = false;
        for (int i = 0; i < o->n_cpus; i++) {
            int c = o->cpus[i];
            if (c < 0 || c >= CPU_SETSIZE) {
                err_set(err, err_len, "cpu %d (cpus[%d]) out of range 0..%d", c, i, CPU_SETSIZE - 1);
                return NULL;
            }
            if (!CPU_ISSET(c, &caller_mask)) {
                format_cpuset(&caller_mask, allowed, sizeof allowed);
                err_set(err, err_len, "cpu %d (cpus[%d]) is not in the caller's affinity mask (%s)", c, i,
                        allowed);
                return NULL;
            }
        }
        for (int i = 0; i < n; i++) {
            int c = o->cpus[i % o->n_cpus];
            if (CPU_ISSET(c, &used))
                oversub = true;
            CPU_SET(c, &used);
        }
    } else {
        oversub = n > CPU_COUNT(&caller_mask);
    }

    struct mem_hooks hooks = { 0 };
    if (mem)
        hooks = *mem;
    struct pool *p = mem_alloc(&hooks, sizeof *p, CACHE_LINE);
    if (!p) {
        err_set(err, err_len, "out of memory for the pool (%zu bytes)", sizeof *p);
        return NULL;
    }
    memset(p, 0, sizeof *p);
    p->n = n;
    p->mem = hooks;
    p->threads = mem_alloc(&hooks, (size_t)n * sizeof *p->threads, CACHE_LINE);
    if (!p->threads) {
        err_set(err, err_len, "out of memory for %d thread records", n);
        mem_free(&hooks, p, sizeof *p);
        return NULL;
    }
    memset(p->threads, 0, (size_t)n * sizeof *p->threads);
    p->wait = o->wait;
    p->spin_ns = o->spin_ns ? o->spin_ns : POOL_DEFAULT_SPIN_NS;
    p->oversubscribed = oversub;
    p->yield_after = oversub ? YIELD_AFTER_SPINS_OVERSUB : YIELD_AFTER_SPINS;
    p->caller = pthread_self();
    p->caller_mask = caller_mask;
    atomic_init(&p->gen, 0);
    atomic_init(&p->gen_sleepers, 0);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_epoch, 0);
    atomic_init(&p->bar_sleepers, 0);
    atomic_init(&p->n_started, 0);
    atomic_init(&p->quit, 0);
    for (int i = 0; i < n; i++) {
        struct pool_thread *t = &p->threads[i];
        atomic_init(&t->runs, 0);
        atomic_init(&t->barriers, 0);
        atomic_init(&t->futex_waits, 0);
        atomic_init(&t->futex_wakes, 0);
        atomic_init(&t->spin_loops, 0);
        t->pool = p;
        t->ith = i;
    }
    p->threads[0].tid = sys_gettid();

    if (o->cpus) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(o->cpus[0], &one);
        rc = pthread_setaffinity_np(p->caller, sizeof one, &one);
        if (rc != 0) {
            err_set(err, err_len, "pinning the caller to cpu %d failed: %s", o->cpus[0], strerror(rc));
            free_pool_memory(p);
            return NULL;
        }
        p->pinned = true;
    }

    /* Workers inherit this mask: asynchronous signals blocked, so
     * process-directed signals (SIGINT, timers) go to the caller's threads.
     * Fault signals stay open: blocked, a fault would kill the process
     * without the handler (a sanitizer's report, a crash handler) running. */
    sigset_t block, old_sigs;
    sigfillset(&block);
    static const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&block, faults[i]);
    pthread_sigmask(SIG_SETMASK, &block, &old_sigs);

    int created = 0;
    for (int i = 1; i < n; i++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        if (o->cpus) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(o->cpus[i % o->n_cpus], &one);
            pthread_attr_setaffinity_np(&attr, sizeof one, &one);
        }
        rc = pthread_create(&p->threads[i].thread, &attr, worker_main, &p->threads[i]);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            err_set(err, err_len, "pthread_create for worker %d of %d failed: %s", i, n, strerror(rc));
            break;
        }
        p->threads[i].created = true;
        created++;
    }
    pthread_sigmask(SIG_SETMASK, &old_sigs, NULL);

    /* Wait for the workers to record their tids. */
    uint32_t s;
    while ((s = atomic_load_explicit(&p->n_started, memory_order_acquire)) < (uint32_t)created)
        futex_wait(&p->n_started, s);

    if (created != n - 1) {
        stop_workers(p);
        if (p->pinned)
            pthread_setaffinity_np(p->caller, sizeof p->caller_mask, &p->caller_mask);
        free_pool_memory(p);
        return NULL;
    }
    return p;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    stop_workers(p);
    if (p->pinned)
        pthread_setaffinity_np(p->caller, sizeof p->caller_mask, &p->caller_mask);
    free_pool_memory(p);
}

void pool_run(struct pool *p, pool_fn fn, void *arg)
{
    struct pool_thread *me = &p->threads[0];
    stat_add(&me->runs, 1);
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    uint32_t g = atomic_load_explicit(&p->gen, memory_order_relaxed);
    publish(me, &p->gen, &p->gen_sleepers, g + 1);
    fn(arg, 0, p->n);
    barrier_wait(p, me, false);
}

void pool_barrier(struct pool *p, int ith)
{
    struct pool_thread *me = &p->threads[ith];
    if (p->n == 1) {
        stat_add(&me->barriers, 1);
        return;
    }
    barrier_wait(p, me, true);
}

int pool_threads(const struct pool *p)
{
    return p->n;
}

bool pool_oversubscribed(const struct pool *p)
{
    return p->oversubscribed;
}

enum pool_wait pool_wait_policy(const struct pool *p)
{
    return p->wait;
}

uint64_t pool_spin_ns(const struct pool *p)
{
    return p->spin_ns;
}

void pool_split(int64_t n, int ith, int nth, int64_t grain, int64_t *begin, int64_t *end)
{
    if (n <= 0 || nth < 1 || ith < 0 || ith >= nth) {
        *begin = *end = 0;
        return;
    }
    if (grain < 1)
        grain = 1;
    /* Split g whole grains: the first r threads take q+1, the rest q. */
    int64_t g = n / grain + (n % grain != 0);
    int64_t q = g / nth, r = g % nth;
    int64_t g0 = q * ith + (ith < r ? ith : r);
    int64_t g1 = g0 + q + (ith < r);
    /* g0*grain <= (g-1)*grain < n: no overflow before the clamp. */
    *begin = g0 < g ? g0 * grain : n;
    *end = g1 < g ? g1 * grain : n;
}

int pool_thread_tid(const struct pool *p, int ith)
{
    if (ith < 0 || ith >= p->n)
        return -1;
    return p->threads[ith].tid;
}

void pool_get_stats(const struct pool *p, struct pool_stats *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < p->n; i++) {
        const struct pool_thread *t = &p->threads[i];
        s->runs += atomic_load_explicit(&t->runs, memory_order_relaxed);
        s->barriers += atomic_load_explicit(&t->barriers, memory_order_relaxed);
        s->futex_waits += atomic_load_explicit(&t->futex_waits, memory_order_relaxed);
        s->futex_wakes += atomic_load_explicit(&t->futex_wakes, memory_order_relaxed);
        s->spin_loops += atomic_load_explicit(&t->spin_loops, memory_order_relaxed);
    }
}

void pool_reset_stats(struct pool *p)
{
    for (int i = 0; i < p->n; i++) {
        struct pool_thread *t = &p->threads[i];
        atomic_store_explicit(&t->runs, 0, memory_order_relaxed);
        atomic_store_explicit(&t->barriers, 0, memory_order_relaxed);
        atomic_store_explicit(&t->futex_waits, 0, memory_order_relaxed);
        atomic_store_explicit(&t->futex_wakes, 0, memory_order_relaxed);
        atomic_store_explicit(&t->spin_loops, 0, memory_order_relaxed);
    }
}

const char *pool_wait_name(enum pool_wait w)
{
    switch (w) {
    case POOL_WAIT_SPIN: return "spin";
    case POOL_WAIT_FUTEX: return "futex";
    case POOL_WAIT_HYBRID: return "hybrid";
    }
    return "?";
}

int pool_wait_from_name(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "spin") == 0)
        return POOL_WAIT_SPIN;
    if (strcmp(s, "futex") == 0)
        return POOL_WAIT_FUTEX;
    if (strcmp(s, "hybrid") == 0)
        return POOL_WAIT_HYBRID;
    return -1;
}

/* Parse a decimal CPU number 0..CPU_SETSIZE-1 at *s; advances *s. */
static int parse_cpu_number(const char **s, int *out)
{
    const char *q = *s;
    long v = 0;
    if (*q < '0' || *q > '9')
        return -1;
    while (*q >= '0' && *q <= '9') {
        v = v * 10 + (*q - '0');
        if (v >= CPU_SETSIZE)
            return -1;
        q++;
    }
    *out = (int)v;
    *s = q;
    return 0;
}

int pool_parse_cpus(const char *list, int *cpus, int max, char *err, size_t err_len)
{
    if (!list || !*list) {
        err_set(err, err_len, "empty CPU list");
        return POOL_EINVAL;
    }
    int count = 0;
    const char *s = list;
    for (;;) {
        const char *item = s;
        int lo, hi;
        if (parse_cpu_number(&s, &lo) != 0) {
            err_set(err, err_len, "CPU list '%s': bad CPU number at '%s' (allowed 0..%d)", list, item,
                    CPU_SETSIZE - 1);
            return POOL_EINVAL;
        }
        hi = lo;
        if (*s == '-') {
            s++;
            if (parse_cpu_number(&s, &hi) != 0 || hi < lo) {
                err_set(err, err_len, "CPU list '%s': bad range at '%s' (want LO-HI, LO <= HI <= %d)", list,
                        item, CPU_SETSIZE - 1);
                return POOL_EINVAL;
            }
        }
        if (*s != ',' && *s != '\0') {
            err_set(err, err_len, "CPU list '%s': unexpected '%c' at '%s'", list, *s, s);
            return POOL_EINVAL;
        }
        for (int c = lo; c <= hi; c++) {
            if (count >= max) {
                err_set(err, err_len, "CPU list '%s' has more than %d CPUs", list, max);
                return POOL_ELIMIT;
            }
            cpus[count++] = c;
        }
        if (*s == '\0')
            break;
        s++; /* ',' */
    }
    return count;
}
