/* probe_pingpong — the context-switch probe: two threads taking turns on
 * one CPU through a futex or through pipes (probe_pingpong_*), and the CPU
 * it pins them to. Apart from probe.c: its own threads and synchronisation;
 * probe.c's probe_ctxsw turns its timings into metrics. */
#include "harness/machine/probe.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness/machine/clock.h"

/* ---- context switches -------------------------------------------------- */

struct probe_pingpong {
    enum probe_pp_mode mode;
    int cpu;
    pthread_t th[2];
    _Atomic int tid[2];
    /* control: run number and the rounds of that run */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long gen, done_gen[2], rounds;
    bool quit;
    uint64_t elapsed_ns;
    /* futex words: 1 = your turn */
    _Alignas(64) _Atomic uint32_t flag[2];
    int ab[2], ba[2]; /* pipes A->B, B->A */
};

struct pp_arg {
    struct probe_pingpong *pp;
    int side;
};

static void futex_wait(_Atomic uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Wait until my flag is set, then consume it. */
static void take(_Atomic uint32_t *w)
{
    while (atomic_load_explicit(w, memory_order_acquire) == 0)
        futex_wait(w, 0);
    atomic_store_explicit(w, 0, memory_order_relaxed);
}

static void give(_Atomic uint32_t *w)
{
    atomic_store_explicit(w, 1, memory_order_release);
    futex_wake(w);
}

static void pp_rounds(struct probe_pingpong *pp, int side, long rounds)
{
    char c = 'x';
    for (long r = 0; r < rounds; r++) {
        if (pp->mode == PROBE_PP_FUTEX) {
            if (side == 0) {
                give(&pp->flag[1]);
                take(&pp->flag[0]);
            } else {
                take(&pp->flag[1]);
                give(&pp->flag[0]);
            }
        } else {
            ssize_t n;
            if (side == 0) {
                n = write(pp->ab[1], &c, 1);
                n = read(pp->ba[0], &c, 1);
            } else {
                n = read(pp->ab[0], &c, 1);
                n = write(pp->ba[1], &c, 1);
            }
            (void)n;
        }
    }
}

static void *pp_thread(void *arg)
{
    struct pp_arg *a = arg;
    struct probe_pingpong *pp = a->pp;
    int side = a->side;
    free(a);
    if (pp->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(pp->cpu, &set);
        (void)sched_setaffinity(0, sizeof set, &set);
    }
    atomic_store(&pp->tid[side], (int)syscall(SYS_gettid));
    long seen = 0;
    for (;;) {
        pthread_mutex_lock(&pp->mu);
        pthread_cond_broadcast(&pp->cv); /* tid published / previous run done */
        while (pp->gen == seen && !pp->quit)
            pthread_cond_wait(&pp->cv, &pp->mu);
        if (pp->quit) {
            pthread_mutex_unlock(&pp->mu);
            return NULL;
        }
        seen = pp->gen;
        long rounds = pp->rounds;
        pthread_mutex_unlock(&pp->mu);
        uint64_t t0 = clock_ns();
        pp_rounds(pp, side, rounds);
        uint64_t dt = clock_ns() - t0;
        pthread_mutex_lock(&pp->mu);
        if (side == 0)
            pp->elapsed_ns = dt;
        pp->done_gen[side] = seen;
        pthread_cond_broadcast(&pp->cv);
        pthread_mutex_unlock(&pp->mu);
    }
}

void probe_pingpong_free(struct probe_pingpong *pp)
{
    if (!pp)
        return;
    pthread_mutex_lock(&pp->mu);
    pp->quit = true;
    pthread_cond_broadcast(&pp->cv);
    pthread_mutex_unlock(&pp->mu);
    for (int i = 0; i < 2; i++)
        if (pp->th[i])
            pthread_join(pp->th[i], NULL);
    for (int i = 0; i < 2; i++) {
        if (pp->ab[i] >= 0)
            close(pp->ab[i]);
        if (pp->ba[i] >= 0)
            close(pp->ba[i]);
    }
    pthread_cond_destroy(&pp->cv);
    pthread_mutex_destroy(&pp->mu);
    free(pp);
}

int probe_pingpong_new(struct probe_pingpong **out, enum probe_pp_mode mode, int cpu, char *err, size_t err_len)
{
    *out = NULL;
    struct probe_pingpong *pp = calloc(1, sizeof *pp);
    if (!pp) {
        err_set(err, err_len, "pingpong: out of memory");
        return CTR_ENOMEM;
    }
    pp->mode = mode;
    pp->cpu = cpu;
    pp->ab[0] = pp->ab[1] = pp->ba[0] = pp->ba[1] = -1;
    pthread_mutex_init(&pp->mu, NULL);
    pthread_cond_init(&pp->cv, NULL);
    if (mode == PROBE_PP_PIPE && (pipe2(pp->ab, O_CLOEXEC) != 0 || pipe2(pp->ba, O_CLOEXEC) != 0)) {
        err_set(err, err_len, "pingpong: pipe: %s", strerror(errno));
        probe_pingpong_free(pp);
        return CTR_EIO;
    }
    for (int i = 0; i < 2; i++) {
        struct pp_arg *a = malloc(sizeof *a);
        if (a) {
            a->pp = pp;
            a->side = i;
        }
        if (!a || pthread_create(&pp->th[i], NULL, pp_thread, a) != 0) {
            free(a);
            err_set(err, err_len, "pingpong: cannot start thread %d", i);
            probe_pingpong_free(pp);
            return CTR_EIO;
        }
    }
    pthread_mutex_lock(&pp->mu);
    while (!atomic_load(&pp->tid[0]) || !atomic_load(&pp->tid[1]))
        pthread_cond_wait(&pp->cv, &pp->mu);
    pthread_mutex_unlock(&pp->mu);
    *out = pp;
    return 0;
}

void probe_pingpong_tids(const struct probe_pingpong *pp, int tids[2])
{
    tids[0] = atomic_load(&((struct probe_pingpong *)pp)->tid[0]);
    tids[1] = atomic_load(&((struct probe_pingpong *)pp)->tid[1]);
}

int probe_pingpong_run(struct probe_pingpong *pp, long rounds, uint64_t *elapsed_ns)
{
    if (!pp || rounds < 1)
        return CTR_EINVAL;
    pthread_mutex_lock(&pp->mu);
    pp->rounds = rounds;
    long g = ++pp->gen;
    pthread_cond_broadcast(&pp->cv);
    while (pp->done_gen[0] != g || pp->done_gen[1] != g)
        pthread_cond_wait(&pp->cv, &pp->mu);
    if (elapsed_ns)
        *elapsed_ns = pp->elapsed_ns;
    pthread_mutex_unlock(&pp->mu);
    return 0;
}

int probe_first_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            return i;
    return -1;
}
