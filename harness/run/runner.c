/* runner — the sweep runner (see runner.h): the sweep itself, its context
 * and the stream it writes (header, resume, samples, end). The plan and the
 * round order are in runner_plan.c, one repetition (in process or in a
 * child) in runner_rep.c. */
#include "harness/run/runner.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitset.h"
#include "base/err.h"
#include "harness/counters/ctr.h"
#include "harness/machine/clock.h"
#include "harness/machine/env.h"
#include "harness/machine/probe.h"
#include "harness/run/runner_impl.h"
#include "harness/run/trust.h"
#include "results/results.h"
#include "results/stats.h"

/* ---- the sweep ----------------------------------------------------------- */

/* Overheads kept for the summary's median: a reservoir bounded in size so
 * memory does not grow with the sweep. */
#define OVERHEAD_KEEP 4096

static bool is_done(const struct ctx *c, int cfg, int rep)
{
    return bitset_test(&c->done[cfg], (size_t)rep);
}

static int mark_done(struct ctx *c, int cfg, int rep)
{
    return bitset_set(&c->done[cfg], (size_t)rep);
}

/* The runner's own figures: the repetition's wall time is a sample like
 * any other, but the workload's primary set is what the gate judges; the
 * derived rates follow run_ns. */
static const struct metric_decl runner_metrics[] = {
    { "run_ns", METRIC_SEM(LOWER, SAMPLE, false) },
    { "runner_overhead_ns", METRIC_SEM(LOWER, SAMPLE, false) },
    { "bandwidth_gbps", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "gflops", METRIC_SEM(HIGHER, SAMPLE, false) },
};

/* Declared semantics for every figure of the sink that has none yet: the
 * workload's table, then the runner's, then the counter backend that
 * made it (ctr_metric_sem). What none declares stays undeclared, and the
 * gate will not judge it. */
static void declare_metrics(const struct workload *wl, struct workload_sink *sink)
{
    for (int i = 0; i < sink->n; i++) {
        struct metric *m = &sink->m[i];
        if (m->sem.kind)
            continue;
        const struct metric_decl *d = metric_decl_find(wl->metrics, wl->n_metrics, m->name);
        if (!d)
            d = metric_decl_find(runner_metrics, (int)(sizeof runner_metrics / sizeof runner_metrics[0]), m->name);
        if (d)
            m->sem = d->sem;
        else
            m->sem = ctr_metric_sem(m->source);
    }
}

static void add_runner_metrics(struct ctx *c, int cfg, struct workload_sink *sink, bool ok, double run_ns,
                               double overhead_ns)
{
    /* the runner's figures always fit: the workload's share is WORKLOAD_MAX_METRICS - 4 at most */
    if (sink->n > WORKLOAD_MAX_METRICS - 4)
        sink->n = WORKLOAD_MAX_METRICS - 4;
    workload_emit(sink, "run_ns", "ns", METRIC_SRC_TIME, run_ns);
    workload_emit(sink, "runner_overhead_ns", "ns", METRIC_SRC_TIME, overhead_ns);
    if (ok && c->o->wl->work && run_ns > 0) {
        double bytes = 0, flops = 0;
        c->o->wl->work(c->states[cfg], &bytes, &flops);
        if (bytes > 0)
            workload_emit(sink, "bandwidth_gbps", "GB/s", METRIC_SRC_DERIVED, bytes / run_ns);
        if (flops > 0)
            workload_emit(sink, "gflops", "GFLOP/s", METRIC_SRC_DERIVED, flops / run_ns);
    }
}

static void keep_overhead(struct ctx *c, double v)
{
    if (c->n_over < OVERHEAD_KEEP) {
        if (c->n_over == c->cap_over) {
            size_t cap = c->cap_over ? c->cap_over * 2 : 64;
            double *p = realloc(c->overheads, cap * sizeof *p);
            if (!p)
                return;
            c->overheads = p;
            c->cap_over = cap;
        }
        c->overheads[c->n_over++] = v;
    }
}

static int record(struct ctx *c, int cfg, int rep, bool ok, const char *error, const struct workload_sink *sink,
                  double t_s, char *err, size_t err_len)
{
    struct results_sample s = { cfg, rep, ok, ok ? NULL : error, t_s, sink ? sink->m : NULL, sink ? sink->n : 0 };
    json_t *rec = results_sample_new(c->header, &s);
    if (!rec)
        return err_fail(err, err_len, RUNNER_ENOMEM, "runner: cannot build the sample record");
    int rc = results_stream_put(c->stream, rec, err, err_len);
    json_decref(rec);
    if (rc != 0)
        return RUNNER_ERESULTS;
    if (mark_done(c, cfg, rep) != 0)
        return err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
    return 0;
}

/* Rebuild the plan from a stream header (resume). */
static int plan_from_header(struct ctx *c, const json_t *h, char *err, size_t err_len)
{
    const struct workload *wl = c->o->wl;
    const char *name = json_string_value(json_object_get(json_object_get(h, "workload"), "name"));
    if (!name || strcmp(name, wl->name) != 0)
        return err_fail(err, err_len, RUNNER_EMISMATCH, "%s: a sweep of workload '%s', not '%s'", c->o->stream_path,
                    name ? name : "?", wl->name);
    json_t *axes = json_object_get(h, "axes");
    if ((int)json_array_size(axes) != wl->n_axes)
        return err_fail(err, err_len, RUNNER_EMISMATCH, "%s: %zu axes in the header, workload %s has %d",
                    c->o->stream_path, json_array_size(axes), wl->name, wl->n_axes);
    char *lists[WORKLOAD_MAX_AXES] = { 0 };
    int rc = 0;
    for (int i = 0; i < wl->n_axes && rc == 0; i++) {
        json_t *a = json_array_get(axes, (size_t)i);
        const char *an = json_string_value(json_object_get(a, "name"));
        if (!an || strcmp(an, wl->axes[i].name) != 0) {
            rc = err_fail(err, err_len, RUNNER_EMISMATCH, "%s: axis %d is '%s', workload %s calls it '%s'",
                      c->o->stream_path, i, an ? an : "?", wl->name, wl->axes[i].name);
            break;
        }
        size_t len = 1, k;
        json_t *v;
        json_array_foreach(json_object_get(a, "values"), k, v) len += strlen(json_string_value(v) ? json_string_value(v) : "") + 1;
        lists[i] = calloc(1, len);
        if (!lists[i]) {
            rc = err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
            break;
        }
        json_array_foreach(json_object_get(a, "values"), k, v) {
            if (k)
                strcat(lists[i], ",");
            strcat(lists[i], json_string_value(v) ? json_string_value(v) : "");
        }
    }
    if (rc == 0)
        rc = runner_plan_init(&c->plan, wl, (const char *const *)lists, err, err_len);
    for (int i = 0; i < WORKLOAD_MAX_AXES; i++)
        free(lists[i]);
    if (rc == 0 && c->plan.n_configs != results_header_n_configs(h)) {
        runner_plan_free(&c->plan);
        rc = err_fail(err, err_len, RUNNER_EMISMATCH, "%s: header lists %d configurations, its axes make %d",
                  c->o->stream_path, results_header_n_configs(h), c->plan.n_configs);
    }
    return rc == 0 ? 0 : (rc == RUNNER_ENOMEM ? rc : RUNNER_EMISMATCH);
}

/* The probe summary for the header: capabilities only (PMU, events,
 * tracepoints, THP, caches). Its benchmarks (bandwidth, context switch)
 * take seconds to a minute: `ggperf probe` runs them; sweeps do not. */
static json_t *collect_probe(bool skip)
{
    if (skip)
        return json_pack("{s:s, s:s}", "status", "not collected", "reason", "skipped by the caller");
    struct probe_info *info = calloc(1, sizeof *info);
    json_t *j = NULL;
    if (info && probe_collect(info, PROBE_NO_BANDWIDTH | PROBE_NO_CTXSW) == 0 && probe_to_json(info, &j) == 0)
        json_object_set_new(j, "benchmarks", json_string("skipped in sweeps (ggperf probe runs them)"));
    else
        j = json_pack("{s:s, s:s}", "status", "not collected", "reason", "probe failed (out of memory)");
    free(info);
    return j;
}

static double sample_run_ns(const json_t *s)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(s, "metrics"), i, m) {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (n && strcmp(n, "run_ns") == 0)
            return json_number_value(json_object_get(m, "value"));
    }
    return 0;
}

/* Does configuration i want a round beyond the planned repetitions: it has
 * not yet run min_time_s in all, or its primary figures are still flagged
 * noisy (until-trusted plans; max_rounds bounds both). */
static bool wants_extra_round(const struct ctx *c, int i, double min_time_s)
{
    return (min_time_s > 0 && c->run_ns_sum[i] * 1e-9 < min_time_s) || trust_wants_more(c->trust, i, NULL, 0);
}

static void ctx_free(struct ctx *c)
{
    int n = c->plan.n_configs;
    if (c->states && c->ready)
        for (int i = 0; i < n; i++)
            if (c->ready[i] && c->o->wl->teardown)
                c->o->wl->teardown(c->states[i]);
    free(c->states);
    free(c->ready);
    if (c->setup_err)
        for (int i = 0; i < n; i++)
            free(c->setup_err[i]);
    free(c->setup_err);
    if (c->done)
        for (int i = 0; i < n; i++)
            bitset_free(&c->done[i]);
    free(c->done);
    free(c->run_ns_sum);
    trust_free(c->trust);
    free(c->order);
    free(c->overheads);
    results_stream_close(c->stream);
    json_decref(c->header);
    runner_plan_free(&c->plan);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The header's "study": what the sweep asks and the comparisons a report
 * concludes on, as declared by `ggperf study` (nothing when neither). */
static int add_study(json_t *header, const char *question, const char *compare)
{
    if ((!question || !*question) && (!compare || !*compare))
        return 0;
    json_t *st = json_object(), *list = json_array();
    if (!st || !list || json_object_set_new(header, "study", st) != 0) {
        json_decref(st);
        json_decref(list);
        return -1;
    }
    if (question && *question && json_object_set_new(st, "question", json_string(question)) != 0) {
        json_decref(list);
        return -1;
    }
    for (const char *p = compare ? compare : ""; *p;) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' ')) {
            p++;
            n--;
        }
        if (n && json_array_append_new(list, json_stringn(p, n)) != 0) {
            json_decref(list);
            return -1;
        }
        p += n;
        if (*p == ';')
            p++;
    }
    return json_object_set_new(st, "compare", list);
}

/* Whether configuration id belongs to this sweep's shard. */
static bool in_shard(const struct ctx *c, int id)
{
    return c->shard_n <= 1 || id % c->shard_n == c->shard_k - 1;
}

int runner_run(const struct runner_opts *o, struct runner_summary *sum, char *err, size_t err_len)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    memset(sum, 0, sizeof *sum);
    sum->overhead_median_ns = -1;
    c.o = o;
    c.t_start = clock_ns();
    const struct workload *wl = o->wl;
    int rc = 0, reps = o->repetitions, warmup = o->warmup, max_rounds = o->max_rounds;
    double min_time_s = o->min_time_s;
    bool until_trusted = o->until_trusted;
    uint64_t seed = o->seed;
    const char *model_path = o->model_path;
    bool already_complete = false;

    if (!o->stream_path)
        return err_fail(err, err_len, RUNNER_EINVAL, "runner: no stream path");
    if (o->resume) {
        struct results_reader *r = NULL;
        if (results_reader_open(&r, o->stream_path, err, err_len) != 0)
            return RUNNER_ERESULTS;
        c.header = json_deep_copy(results_reader_header(r));
        json_object_del(c.header, "kind");
        json_object_set_new(c.header, "kind", json_string("header"));
        if ((rc = plan_from_header(&c, c.header, err, err_len)) != 0) {
            results_reader_close(r);
            goto out;
        }
        json_t *plan = json_object_get(c.header, "plan");
        reps = (int)json_integer_value(json_object_get(plan, "repetitions"));
        warmup = (int)json_integer_value(json_object_get(plan, "warmup"));
        min_time_s = json_number_value(json_object_get(plan, "min_time_s"));
        max_rounds = (int)json_integer_value(json_object_get(plan, "max_rounds"));
        seed = (uint64_t)json_integer_value(json_object_get(plan, "seed"));
        until_trusted = json_is_true(json_object_get(plan, "until_trusted"));
        model_path = json_string_value(json_object_get(json_object_get(c.header, "model"), "path"));
        json_t *shard = json_object_get(c.header, "shard");
        c.shard_k = (int)json_integer_value(json_object_get(shard, "k"));
        c.shard_n = (int)json_integer_value(json_object_get(shard, "n"));
        int n = c.plan.n_configs;
        c.done = calloc((size_t)n, sizeof *c.done);
        c.run_ns_sum = calloc((size_t)n, sizeof *c.run_ns_sum);
        if (!c.done || !c.run_ns_sum ||
            (until_trusted && trust_new(&c.trust, wl->metrics, wl->n_metrics, n) != 0)) {
            results_reader_close(r);
            rc = err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
            goto out;
        }
        json_t *s;
        int got;
        while ((got = results_reader_next(r, &s, err, err_len)) == 1) {
            int cfg = (int)json_integer_value(json_object_get(s, "config"));
            int rep = (int)json_integer_value(json_object_get(s, "rep"));
            c.run_ns_sum[cfg] += sample_run_ns(s);
            int kept = trust_add_json(c.trust, cfg, s);
            json_decref(s);
            if (kept != 0 || mark_done(&c, cfg, rep) != 0) {
                got = err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
                break;
            }
            sum->reps_skipped++;
        }
        already_complete = results_reader_complete(r);
        results_reader_close(r);
        if (got < 0) {
            rc = RUNNER_ERESULTS;
            goto out;
        }
        if (results_stream_reopen(&c.stream, o->stream_path, err, err_len) != 0) {
            rc = RUNNER_ERESULTS;
            goto out;
        }
        char now[32];
        results_time_iso(now, sizeof now);
        json_t *env = o->skip_env ? json_null() : env_collect();
        json_t *rec = json_pack("{s:s, s:s, s:I, s:o}", "kind", "resume", "time", now, "samples_before",
                                (json_int_t)sum->reps_skipped, "environment", env ? env : json_null());
        rc = results_stream_put(c.stream, rec, err, err_len);
        json_decref(rec);
        if (rc != 0) {
            rc = RUNNER_ERESULTS;
            goto out;
        }
    } else {
        if (reps < 1 || warmup < 0 || min_time_s < 0 || max_rounds < 0) {
            rc = err_fail(err, err_len, RUNNER_EINVAL, "runner: repetitions must be >= 1, warmup and min time >= 0");
            goto out;
        }
        if (o->shard_n < 0 || (o->shard_n > 0 && (o->shard_k < 1 || o->shard_k > o->shard_n))) {
            rc = err_fail(err, err_len, RUNNER_EINVAL, "runner: shard %d/%d: K must lie in 1..N", o->shard_k, o->shard_n);
            goto out;
        }
        c.shard_k = o->shard_k;
        c.shard_n = o->shard_n;
        if (max_rounds == 0)
            max_rounds = RUNNER_DEFAULT_MAX_ROUNDS;
        if (max_rounds < reps)
            max_rounds = reps;
        if ((wl->flags & WORKLOAD_NEEDS_MODEL) && !model_path) {
            rc = err_fail(err, err_len, RUNNER_EMODEL, "workload %s needs a model (-m MODEL)", wl->name);
            goto out;
        }
        if ((rc = runner_plan_init(&c.plan, wl, o->axis_lists, err, err_len)) != 0)
            goto out;
        json_t *model = NULL;
        if (model_path && (wl->flags & WORKLOAD_NEEDS_MODEL)) {
            model = env_model(model_path, o->cache_dir, err, err_len);
            if (!model) {
                rc = RUNNER_EMODEL;
                goto out;
            }
        }
        json_t *env = o->skip_env ? NULL : env_collect();
        json_t *probe = collect_probe(o->skip_env);
        struct results_axis axes[WORKLOAD_MAX_AXES];
        for (int i = 0; i < c.plan.n_axes; i++)
            axes[i] = (struct results_axis){ wl->axes[i].name, c.plan.n_values[i],
                                             (const char *const *)c.plan.values[i] };
        struct results_plan rp = { reps, warmup, min_time_s, max_rounds, seed, until_trusted };
        c.header = results_header_new(wl->name, wl->description, (wl->flags & WORKLOAD_ISOLATE) != 0, axes,
                                      c.plan.n_axes, &rp, env, probe, model);
        json_decref(env);
        json_decref(probe);
        json_decref(model);
        if (!c.header || add_study(c.header, o->question, o->compare) != 0) {
            rc = err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
            goto out;
        }
        if (c.shard_n > 1)
            json_object_set_new(c.header, "shard", json_pack("{s:i, s:i}", "k", c.shard_k, "n", c.shard_n));
        int n = c.plan.n_configs;
        c.done = calloc((size_t)n, sizeof *c.done);
        c.run_ns_sum = calloc((size_t)n, sizeof *c.run_ns_sum);
        if (!c.done || !c.run_ns_sum ||
            (until_trusted && trust_new(&c.trust, wl->metrics, wl->n_metrics, n) != 0)) {
            rc = err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
            goto out;
        }
        if (results_stream_create(&c.stream, o->stream_path, c.header, err, err_len) != 0) {
            rc = RUNNER_ERESULTS;
            goto out;
        }
    }

    int n = c.plan.n_configs;
    sum->n_configs = n;
    if (already_complete) {
        sum->complete = true;
        goto out;
    }
    c.states = calloc((size_t)n, sizeof *c.states);
    c.setup_err = calloc((size_t)n, sizeof *c.setup_err);
    c.ready = calloc((size_t)n, sizeof *c.ready);
    c.order = malloc((size_t)n * sizeof *c.order);
    if (!c.states || !c.setup_err || !c.ready || !c.order) {
        rc = err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
        goto out;
    }

    /* which configurations still need work: setup only those */
    for (int i = 0; i < n; i++) {
        if (!in_shard(&c, i))
            continue; /* another shard's: never set up, never run */
        bool needed = false;
        for (int r = 0; r < reps && !needed; r++)
            needed = !is_done(&c, i, r);
        needed = needed || wants_extra_round(&c, i, min_time_s);
        if (!needed)
            continue;
        struct workload_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.model_path = model_path;
        cfg.cache_dir = o->cache_dir;
        cfg.seed = seed;
        runner_plan_config(&c.plan, i, &cfg);
        char serr[512] = "";
        void *st = NULL;
        if (wl->setup && wl->setup(&cfg, &st, serr, sizeof serr) != 0) {
            size_t need = strlen(serr) + 32;
            c.setup_err[i] = malloc(need);
            if (!c.setup_err[i]) {
                rc = err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
                goto out;
            }
            snprintf(c.setup_err[i], need, "setup failed: %s", serr[0] ? serr : "(no message)");
            continue;
        }
        c.states[i] = st;
        c.ready[i] = true;
    }

    struct workload_sink *sink = &c.sink;
    char rerr[1024], label[256];
    int n_mine = 0;
    for (int i = 0; i < n; i++)
        n_mine += in_shard(&c, i);
    long total = (long)n_mine * reps - sum->reps_skipped;
    if (total < 0)
        total = 0;

    /* warm-up: unrecorded, interleaved like the rounds */
    for (int w = 0; w < warmup && !(o->stop && *o->stop); w++) {
        runner_round_order(n, seed, UINT64_MAX - (uint64_t)w, c.order);
        for (int k = 0; k < n && !(o->stop && *o->stop); k++) {
            int i = c.order[k];
            if (!c.ready[i]) /* failed setup, or nothing left to do (resume) */
                continue;
            if (o->progress) {
                runner_plan_label(&c.plan, i, label, sizeof label);
                struct runner_progress p = { k + 1, n, w, reps, 0, total, true,
                                             clock_seconds(c.t_start, clock_ns()), -1, label };
                o->progress(o->progress_user, &p);
            }
            uint64_t t0, t1;
            runner_run_one(&c, i, sink, &t0, &t1, rerr, sizeof rerr);
        }
    }

    c.prev_run_end = clock_ns();
    int round;
    for (round = 0; round < max_rounds; round++) {
        if (o->stop && *o->stop)
            break;
        bool want = round < reps;
        long n_extra = 0;
        if (!want)
            for (int i = 0; i < n; i++)
                n_extra += in_shard(&c, i) && !c.setup_err[i] && wants_extra_round(&c, i, min_time_s);
        if (!want && n_extra == 0)
            break;
        total += n_extra; /* min-time and until-trusted extend the plan a round at a time */
        runner_round_order(n, seed, (uint64_t)round, c.order);
        for (int k = 0; k < n; k++) {
            if (o->stop && *o->stop)
                break;
            int i = c.order[k];
            if (is_done(&c, i, round) || (!c.ready[i] && !c.setup_err[i]))
                continue;
            if (round >= reps && (c.setup_err[i] || !wants_extra_round(&c, i, min_time_s)))
                continue;
            double t_s = clock_seconds(c.t_start, clock_ns());
            if (o->progress) {
                runner_plan_label(&c.plan, i, label, sizeof label);
                long done = sum->reps_run;
                double eta = done > 0 ? t_s / (double)done * (double)(total - done) : -1;
                struct runner_progress p = { k + 1, n, round, reps, done, total, false, t_s, eta, label };
                o->progress(o->progress_user, &p);
            }
            if (c.setup_err[i]) {
                sink->n = 0;
                rc = record(&c, i, round, false, c.setup_err[i], sink, t_s, err, err_len);
                if (rc != 0)
                    goto out;
                sum->reps_run++;
                sum->reps_failed++;
                continue;
            }
            uint64_t t0 = 0, t1 = 0;
            int rr = runner_run_one(&c, i, sink, &t0, &t1, rerr, sizeof rerr);
            bool ok = rr == 0;
            if (t0 == 0) { /* the child never reported: the whole slot was the runner's and the child's */
                t0 = c.prev_run_end;
                t1 = clock_ns();
            }
            double run_ns = (double)(t1 - t0);
            double over_ns = t0 > c.prev_run_end ? (double)(t0 - c.prev_run_end) : 0;
            c.prev_run_end = t1;
            c.run_ns_sum[i] += run_ns;
            add_runner_metrics(&c, i, sink, ok, run_ns, over_ns);
            declare_metrics(c.o->wl, sink);
            if (ok && trust_add(c.trust, i, sink->m, sink->n) != 0) {
                rc = err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
                goto out;
            }
            keep_overhead(&c, over_ns);
            rc = record(&c, i, round, ok, rerr, sink, clock_seconds(c.t_start, t0), err, err_len);
            if (rc != 0)
                goto out;
            sum->reps_run++;
            if (ok)
                sum->reps_ok++;
            else
                sum->reps_failed++;
        }
    }
    sum->rounds = round;
    if (o->stop && *o->stop) {
        rc = err_fail(err, err_len, RUNNER_ESTOPPED, "stopped after %ld repetitions; resume with --resume %s",
                  sum->reps_run, o->stream_path);
        goto out;
    }
    {
        char now[32];
        results_time_iso(now, sizeof now);
        json_t *end = json_pack("{s:s, s:s, s:I}", "kind", "end", "time", now, "samples",
                                (json_int_t)(sum->reps_run + sum->reps_skipped));
        rc = results_stream_put(c.stream, end, err, err_len);
        json_decref(end);
        if (rc != 0) {
            rc = RUNNER_ERESULTS;
            goto out;
        }
        sum->complete = true;
    }
out:
    if (c.n_over) {
        qsort(c.overheads, c.n_over, sizeof *c.overheads, cmp_d);
        sum->overhead_median_ns = stats_median_sorted(c.overheads, c.n_over);
    }
    sum->elapsed_s = clock_seconds(c.t_start, clock_ns());
    ctx_free(&c);
    return rc;
}
