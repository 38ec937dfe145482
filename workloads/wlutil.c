/* wlutil — what the engine workloads share: sessions, counters around
 * the work, simulated reruns, random weights (see wlutil.h). */
#include "workloads/wlutil.h"

#include "harness/run/filebuf.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/machine/probe.h"
#include "results/results.h"

const char *const wlutil_kernel_choices[] = { "auto", "ref", "avx2", "avx512", NULL };

int wlutil_kernels(int k, enum quant_isa *isa, char *err, size_t err_len)
{
    struct quant_kernels have;
    quant_kernels_init(&have, QISA_AVX512);
    static const enum quant_isa want[] = { QISA_AVX512, QISA_REF, QISA_AVX2, QISA_AVX512 };
    if (k < 0 || k > 3) {
        snprintf(err, err_len, "kernels: bad choice %d", k);
        return -1;
    }
    if (k > 0 && want[k] > have.isa) {
        snprintf(err, err_len, "kernels %s: this CPU offers at most %s%s", wlutil_kernel_choices[k],
                 quant_isa_name(have.isa), want[k] == QISA_AVX512 ? " (valgrind hides AVX-512)" : "");
        return -1;
    }
    *isa = k == 0 ? have.isa : want[k];
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double wlutil_percentile(const double *sorted, int n, double p)
{
    int rank = (int)ceil(p * n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

void wlutil_emit_latency(struct workload_sink *out, const char *prefix, double *ns, int n)
{
    static const struct {
        const char *suffix;
        double p;
    } q[] = { { "p50_ns", 0.50 }, { "p95_ns", 0.95 }, { "p99_ns", 0.99 }, { "max_ns", 1.0 } };
    if (n > 0)
        qsort(ns, (size_t)n, sizeof *ns, cmp_double);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char name[METRIC_NAME_MAX];
        snprintf(name, sizeof name, "%s_%s", prefix, q[i].suffix);
        /* A percentile needs samples above it, or it is just the maximum
         * (p95 = p99 = max with 16 steps): WLUTIL_PCT_TAIL of them at least. */
        int need = q[i].p < 1 ? (int)ceil(WLUTIL_PCT_TAIL / (1 - q[i].p) - 1e-9) : 1;
        if (n > 0 && n < need) {
            char why[METRIC_REASON_MAX];
            snprintf(why, sizeof why, "%s needs at least %d samples per repetition to differ from the maximum "
                     "(have %d)", q[i].suffix, need, n);
            workload_emit_unsupported(out, name, "ns", METRIC_SRC_TIME, why);
            continue;
        }
        struct metric *m = workload_emit(out, name, "ns", METRIC_SRC_TIME, n > 0 ? wlutil_percentile(ns, n, q[i].p) : 0);
        if (m && n == 0) {
            m->status = METRIC_NOT_COUNTED;
            snprintf(m->reason, sizeof m->reason, "no samples");
        }
    }
}

int32_t wlutil_token(int64_t i, int n_vocab)
{
    if (n_vocab <= 3)
        return 0;
    uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    h ^= h >> 29;
    return (int32_t)(3 + h % (uint64_t)(n_vocab - 3));
}

int wlutil_prefill(struct infer *c, int n_vocab, int64_t first, int n, char *err, size_t err_len)
{
    if (n <= 0)
        return 0;
    int32_t *toks = malloc((size_t)n * sizeof *toks);
    if (!toks) {
        snprintf(err, err_len, "prefill: out of memory for %d tokens", n);
        return -1;
    }
    for (int i = 0; i < n; i++)
        toks[i] = wlutil_token(first + i, n_vocab);
    char e[256];
    int rc = infer_eval(c, toks, n, NULL, e, sizeof e);
    free(toks);
    if (rc != INFER_OK) {
        snprintf(err, err_len, "prefill of %d tokens: %s", n, e);
        return -1;
    }
    return 0;
}

int wlutil_infer_warm(struct infer **c, const struct model *m, const struct infer_opts *o,
                      const struct filebuf *file, char *err, size_t err_len)
{
    char e[256];
    *c = NULL;
    if (infer_new(c, m, o, e, sizeof e) != INFER_OK) {
        snprintf(err, err_len, "infer_new: %s", e);
        return -1;
    }
    if (wlutil_prefill(*c, m->hp.n_vocab, 0, 1, err, err_len) != 0)
        return -1;
    infer_set_small_pages(*c, filebuf_small_pages(file));
    infer_reset(*c);
    return 0;
}

int wlutil_pool_tids(const struct pool *p, int *tids, int max)
{
    int n = pool_threads(p);
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++)
        tids[i] = pool_thread_tid(p, i);
    return n;
}

int wlutil_affinity_cpus(int *cpus, int max)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set))
            cpus[n++] = c;
    return n;
}

/* ---- counters ------------------------------------------------------------ */

void wlutil_ctr_open(struct wlutil_ctr *c, unsigned backends, const int *tids, int n_tids, bool thread_stats)
{
    memset(c, 0, sizeof *c);
    c->n = -1;
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = backends;
    cfg.thread_stats = thread_stats;
    char e[256];
    if (ctr_open(&c->set, &cfg, tids, n_tids, e, sizeof e) != 0) {
        snprintf(c->why, sizeof c->why, "counters could not be opened: %.120s", e);
        c->set = NULL;
        return;
    }
    c->a = ctr_snap_new(c->set);
    c->b = ctr_snap_new(c->set);
    if (!c->a || !c->b) {
        snprintf(c->why, sizeof c->why, "counters: out of memory for snapshots");
        wlutil_ctr_close(c);
        c->n = -1;
    }
}

void wlutil_ctr_begin(struct wlutil_ctr *c)
{
    if (!c->set)
        return;
    c->n = -1;
    c->why[0] = '\0';
    /* A failed read repeats the previous values in the snapshot: a delta
     * from it would silently widen the interval, so the interval fails. */
    c->begin_failed = ctr_read(c->set, c->a) != 0;
    if (c->begin_failed)
        snprintf(c->why, sizeof c->why, "counter read at the interval's start failed: %.110s",
                 ctr_last_error(c->set));
}

void wlutil_ctr_end(struct wlutil_ctr *c)
{
    if (!c->set)
        return;
    if (c->begin_failed) {
        c->n = -1;
        return;
    }
    if (ctr_read(c->set, c->b) != 0) {
        snprintf(c->why, sizeof c->why, "counter read failed: %.130s", ctr_last_error(c->set));
        c->n = -1;
        return;
    }
    int n = ctr_delta(c->set, c->a, c->b, c->m, (int)(sizeof c->m / sizeof c->m[0]));
    c->n = n > (int)(sizeof c->m / sizeof c->m[0]) ? (int)(sizeof c->m / sizeof c->m[0]) : n;
}

void wlutil_ctr_close(struct wlutil_ctr *c)
{
    if (!c)
        return;
    ctr_snap_free(c->a);
    ctr_snap_free(c->b);
    ctr_close(c->set);
    c->a = c->b = NULL;
    c->set = NULL;
}

const struct metric *wlutil_ctr_find(const struct wlutil_ctr *c, const char *name)
{
    return c->n > 0 ? ctr_metric_find(c->m, c->n, name) : NULL;
}

void wlutil_ctr_emit(struct wlutil_ctr *c, struct workload_sink *out, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        const struct metric *m = wlutil_ctr_find(c, names[i]);
        if (m) {
            if (out->n < WORKLOAD_MAX_METRICS)
                out->m[out->n++] = *m;
            continue;
        }
        const char *why = c->why[0] ? c->why : "the counter set has no such metric";
        workload_emit_unsupported(out, names[i], "count", METRIC_SRC_SW, why);
    }
}

/* ---- the bandwidth peak ---------------------------------------------------- */

#define PEAK_CACHE 16

static pthread_mutex_t peak_lock = PTHREAD_MUTEX_INITIALIZER;
/* Process-wide on purpose: every configuration of a sweep shares one
 * measurement per thread count, which is the point of the cache. */
static struct {
    int threads;
    uint64_t bytes;
    struct metric m;
} peak_cache[PEAK_CACHE];
static int peak_n;

void wlutil_peak_triad(int threads, uint64_t array_bytes, struct metric *m)
{
    pthread_mutex_lock(&peak_lock);
    for (int i = 0; i < peak_n; i++)
        if (peak_cache[i].threads == threads && peak_cache[i].bytes == array_bytes) {
            *m = peak_cache[i].m;
            pthread_mutex_unlock(&peak_lock);
            return;
        }
    struct probe_bw_opts o = { .array_bytes = array_bytes, .reps = 3, .threads = &threads, .n_threads = 1 };
    struct probe_bw_row row;
    char e[256];
    int rc = probe_bandwidth(&o, &row, e, sizeof e);
    memset(m, 0, sizeof *m);
    if (rc == 1) {
        *m = row.triad_gbps;
    } else {
        snprintf(m->name, sizeof m->name, "peak_triad_gbps");
        m->unit = "GB/s";
        m->source = METRIC_SRC_DERIVED;
        m->status = METRIC_UNSUPPORTED;
        snprintf(m->reason, sizeof m->reason, "STREAM triad failed: %.130s", e);
    }
    snprintf(m->name, sizeof m->name, "peak_triad_gbps");
    if (peak_n < PEAK_CACHE) {
        peak_cache[peak_n].threads = threads;
        peak_cache[peak_n].bytes = array_bytes;
        peak_cache[peak_n].m = *m;
        peak_n++;
    }
    pthread_mutex_unlock(&peak_lock);
}

/* ---- L1d misses ------------------------------------------------------------ */

static int self_exe(char *buf, size_t len)
{
    const char *b = getenv("GGPERF_BIN");
    if (b && *b) {
        snprintf(buf, len, "%s", b);
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

static void rm_tree_files(const char *dir)
{
    static const char *const names[] = { "s.jsonl", "s.json", "view.csv", NULL };
    char p[PATH_MAX];
    for (int i = 0; names[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int wlutil_sim_rerun(const struct workload *wl, const struct workload_config *cfg, const char *sim_axis,
                     struct ctr_sim_result *res, char *err, size_t err_len)
{
    struct wlutil_sim_req req = { .sim_axis = sim_axis };
    return wlutil_sim_rerun_req(wl, cfg, &req, res, err, err_len);
}

/* The value of axis name in overrides ("axis=value" list), or NULL. */
static const char *sim_override(const char *const *overrides, const char *name)
{
    size_t n = strlen(name);
    for (int k = 0; overrides && overrides[k]; k++)
        if (strncmp(overrides[k], name, n) == 0 && overrides[k][n] == '=')
            return overrides[k] + n + 1;
    return NULL;
}

/* Read the metrics names[] of the first sample of the results stream at
 * path into vals[] (NAN when absent or not ok). */
static int sim_read_back(const char *path, const char *const *names, double *vals, char *err, size_t err_len)
{
    for (int k = 0; names[k]; k++)
        vals[k] = NAN;
    struct results_reader *r = NULL;
    char e[256];
    if (results_reader_open(&r, path, e, sizeof e) != 0) {
        snprintf(err, err_len, "sim: reading the child's results: %s", e);
        return -1;
    }
    json_t *smp = NULL;
    int rc = results_reader_next(r, &smp, e, sizeof e);
    if (rc != 1) {
        snprintf(err, err_len, "sim: the child's results %s hold no sample%s%s", path, rc < 0 ? ": " : "",
                 rc < 0 ? e : "");
        results_reader_close(r);
        return -1;
    }
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(smp, "metrics"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *status = json_string_value(json_object_get(m, "status"));
        json_t *v = json_object_get(m, "value");
        if (!name || !status || strcmp(status, "ok") != 0 || !json_is_number(v))
            continue;
        for (int k = 0; names[k]; k++)
            if (strcmp(names[k], name) == 0)
                vals[k] = json_number_value(v);
    }
    json_decref(smp);
    results_reader_close(r);
    return 0;
}

int wlutil_sim_rerun_req(const struct workload *wl, const struct workload_config *cfg,
                         const struct wlutil_sim_req *req, struct ctr_sim_result *res, char *err, size_t err_len)
{
    for (int k = 0; req->overrides && req->overrides[k]; k++) {
        const char *eq = strchr(req->overrides[k], '=');
        int a = -1;
        for (int i = 0; eq && i < wl->n_axes; i++)
            if (strlen(wl->axes[i].name) == (size_t)(eq - req->overrides[k]) &&
                strncmp(wl->axes[i].name, req->overrides[k], (size_t)(eq - req->overrides[k])) == 0)
                a = i;
        if (a < 0) {
            snprintf(err, err_len, "sim: override '%s' names no axis of %s", req->overrides[k], wl->name);
            return -1;
        }
    }
    const char *sim_axis = req->sim_axis;
    char exe[PATH_MAX], dir[64], stream[PATH_MAX], view[PATH_MAX], seed[32];
    if (self_exe(exe, sizeof exe) != 0) {
        snprintf(err, err_len, "sim: cannot find the ggperf binary (/proc/self/exe unreadable, GGPERF_BIN unset)");
        return -1;
    }
    snprintf(dir, sizeof dir, "/tmp/ggperf-wlsim-XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(err, err_len, "sim: mkdtemp: %s", strerror(errno));
        return -1;
    }
    snprintf(stream, sizeof stream, "%s/s.jsonl", dir);
    snprintf(view, sizeof view, "%s/view.csv", dir);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg->seed);

    char flags[WORKLOAD_MAX_AXES][METRIC_NAME_MAX + 3];
    char *argv[2 * WORKLOAD_MAX_AXES + 24];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "run";
    argv[n++] = (char *)wl->name;
    if ((wl->flags & WORKLOAD_NEEDS_MODEL) && cfg->model_path) {
        argv[n++] = "-m";
        argv[n++] = (char *)cfg->model_path;
    }
    for (int i = 0; i < wl->n_axes && i < cfg->n_axes; i++) {
        snprintf(flags[i], sizeof flags[i], "--%s", wl->axes[i].name);
        argv[n++] = flags[i];
        const char *v = cfg->text[i];
        const char *ov = sim_override(req->overrides, wl->axes[i].name);
        if (sim_axis && strcmp(wl->axes[i].name, sim_axis) == 0)
            v = "off";
        else if (ov)
            v = ov;
        else if (wl->axes[i].choices == wlutil_kernel_choices && strcmp(v, "avx512") == 0)
            v = "auto";
        argv[n++] = (char *)v;
    }
    static const char *const tail[] = { "-r", "1", "--warmup", "0", "-o", "csv" };
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        argv[n++] = (char *)tail[i];
    argv[n++] = "--seed";
    argv[n++] = seed;
    argv[n++] = "--stream";
    argv[n++] = stream;
    argv[n++] = "--out";
    argv[n++] = view;
    argv[n] = NULL;

    struct ctr_sim_opts so;
    memset(&so, 0, sizeof so);
    so.isa_path = "avx2";
    char e[512];
    int rc = ctr_sim_run(argv, &so, res, e, sizeof e);
    if (rc != 0) {
        snprintf(err, err_len, "sim: %s", e);
    } else if (!WIFEXITED(res->wstatus) || WEXITSTATUS(res->wstatus) != 0) {
        snprintf(err, err_len, "sim: `%s run %s ...` under valgrind failed (wait status 0x%x)", exe, wl->name,
                 (unsigned)res->wstatus);
        rc = -1;
    } else if (res->ir == 0) {
        snprintf(err, err_len, "sim: the child collected nothing (no region bracketed)");
        rc = -1;
    } else if (req->read && sim_read_back(stream, req->read, req->read_values, err, err_len) != 0) {
        rc = -1;
    }
    rm_tree_files(dir);
    return rc ? -1 : 0;
}

static void toggle_fn(void *arg, int ith, int nth)
{
    (void)arg, (void)ith, (void)nth;
    ctr_sim_collect_begin(); /* a toggle: begin and end are the same request */
}

void wlutil_sim_toggle_pool(struct pool *p)
{
    if (ctr_sim_running())
        pool_run(p, toggle_fn, NULL);
}

void wlutil_emit_l1d(struct workload_sink *out, const char *name, const struct wlutil_ctr *hw,
                     const struct ctr_sim_result *sim, const char *sim_err, double units)
{
    const struct metric *h = hw ? wlutil_ctr_find(hw, "l1d_load_misses") : NULL;
    if (h && h->status == METRIC_OK) {
        struct metric *m = workload_emit(out, name, "count", METRIC_SRC_HW, h->value / units);
        if (m)
            m->running_fraction = h->running_fraction;
        return;
    }
    char hw_why[METRIC_REASON_MAX];
    snprintf(hw_why, sizeof hw_why, "%s", h ? h->reason : hw && hw->why[0] ? hw->why : "hw counters not opened");
    if (sim) {
        workload_emit(out, name, "count", METRIC_SRC_SIM, (double)sim->d1mr / units);
        workload_emit(out, "sim_d1_write_misses", "count", METRIC_SRC_SIM, (double)sim->d1mw / units);
        workload_emit(out, "sim_ll_misses", "count", METRIC_SRC_SIM, (double)(sim->dlmr + sim->dlmw) / units);
        workload_emit(out, "sim_data_reads", "count", METRIC_SRC_SIM, (double)sim->dr / units);
        workload_emit(out, "sim_instructions", "count", METRIC_SRC_SIM, (double)sim->ir / units);
        struct metric *sz = workload_emit(out, "sim_d1_bytes", "bytes", METRIC_SRC_SIM, (double)sim->d1.size_bytes);
        if (sz) /* the simulated cache's size: a setting, not a result */
            sz->sem = (struct metric_sem)METRIC_SEM(NEITHER, INFO, false);
        return;
    }
    char why[METRIC_REASON_MAX];
    if (sim_err && sim_err[0])
        snprintf(why, sizeof why, "%.150s", sim_err);
    else
        snprintf(why, sizeof why, "hw: %.110s; --sim on simulates it", hw_why);
    workload_emit_unsupported(out, name, "count", METRIC_SRC_HW, why);
}

/* ---- weights ------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void wlutil_random_floats(float *x, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((double)(splitmix(&s) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

int wlutil_random_weights(int t, int64_t rows, int64_t cols, uint64_t seed, void *dst, char *err, size_t err_len)
{
    const struct quant_traits *tr = quant_traits_get(t);
    if (!tr || !tr->name || !quant_supported(t) || cols % tr->blck) {
        snprintf(err, err_len, "weights of type %s with %lld columns cannot be made", quant_type_name(t),
                 (long long)cols);
        return -1;
    }
    size_t row_bytes = quant_row_size(t, cols);
    if (tr->from_float) {
        float *tmp = malloc((size_t)cols * sizeof *tmp);
        if (!tmp) {
            snprintf(err, err_len, "weights: out of memory");
            return -1;
        }
        for (int64_t r = 0; r < rows; r++) {
            wlutil_random_floats(tmp, (size_t)cols, seed + (uint64_t)r * 0x100000001ull);
            for (int64_t i = 0; i < cols; i++)
                tmp[i] *= 0.05f;
            tr->from_float(tmp, (uint8_t *)dst + (size_t)r * row_bytes, cols);
        }
        free(tmp);
        return 0;
    }
    /* Types without a quantizer: the type's random-block recipe, with the
     * spread of the quantized path above (0.05 * U[-1, 1): std 0.029). */
    struct quant_rng rng;
    quant_rng_seed(&rng, seed, 0);
    if (quant_random_blocks(t, &rng, dst, row_bytes / tr->type_size * (size_t)rows, 0.0289f) != 0) {
        snprintf(err, err_len, "weights of type %s cannot be made (no quantizer, no recipe)", tr->name);
        return -1;
    }
    return 0;
}

double wlutil_matmul_params(const struct model *m)
{
    double n = (double)m->output.ne0 * (double)m->output.ne1;
    for (int l = 0; l < m->hp.n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        const struct model_weight *w[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
            n += (double)w[i]->ne0 * (double)w[i]->ne1;
    }
    return n;
}

void wlutil_weights_ready(const struct filebuf *weights, struct workload_sink *out)
{
    double f = filebuf_resident_fraction(weights);
    if (f < 0) {
        workload_emit_unsupported(out, "weights_resident_fraction", "fraction", METRIC_SRC_SW,
                                  "mincore over the weights failed");
        return;
    }
    workload_emit(out, "weights_resident_fraction", "fraction", METRIC_SRC_SW, f);
    const bool rewarm = f < 0.99;
    if (rewarm)
        filebuf_touch(weights);
    workload_emit(out, "weights_rewarmed", "bool", METRIC_SRC_SW, rewarm ? 1 : 0);
}

void wlutil_emit_huge_fraction(const struct filebuf *weights, struct workload_sink *out)
{
    int64_t huge = filebuf_huge_bytes(weights);
    if (huge >= 0 && weights->size > 0)
        workload_emit(out, "weights_huge_fraction", "fraction", METRIC_SRC_SW, (double)huge / (double)weights->size);
    else
        workload_emit_unsupported(out, "weights_huge_fraction", "fraction", METRIC_SRC_SW,
                                  "/proc/self/smaps has no AnonHugePages here");
}
