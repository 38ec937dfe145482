/* results_stats — per-configuration statistics over a results file's
 * samples (results_cacc_*, results_stats; see results.h): what the gate,
 * the views and the reports summarize from. */
#include "results/results.h"
#include "base/err.h"

#include "results/fmt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/bitset.h"


/* Values buffered per statistics pass: bounds the memory of results_stats
 * whatever the number of repetitions and configurations (32 MiB). */
#define STATS_BUDGET_VALUES ((size_t)4 << 20)
#define MAX_ERRORS_KEPT 3

/* ---- statistics ---------------------------------------------------------- */

void results_cacc_free(struct results_cacc *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nm; i++) {
        free(c->m[i].v);
        free(c->m[i].rep);
    }
    free(c->m);
    json_decref(c->errors);
    memset(c, 0, sizeof *c);
}

static struct results_macc *cacc_metric(struct results_cacc *c, const char *name, const char *unit,
                                        const char *source)
{
    for (size_t i = 0; i < c->nm; i++)
        if (strcmp(c->m[i].name, name) == 0)
            return &c->m[i];
    if (c->nm == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct results_macc *p = realloc(c->m, cap * sizeof *p);
        if (!p)
            return NULL;
        c->m = p;
        c->cap = cap;
    }
    struct results_macc *m = &c->m[c->nm++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->unit, sizeof m->unit, "%s", unit ? unit : "");
    snprintf(m->source, sizeof m->source, "%s", source ? source : "");
    return m;
}

int results_cacc_add(struct results_cacc *c, const json_t *s)
{
    c->n_reps++;
    bool ok = json_is_true(json_object_get(s, "ok"));
    if (!ok) {
        c->n_failed++;
        const char *e = json_string_value(json_object_get(s, "error"));
        if (!c->errors)
            c->errors = json_array();
        bool known = false;
        size_t i;
        json_t *v;
        json_array_foreach(c->errors, i, v) known = known || (e && strcmp(json_string_value(v), e) == 0);
        if (!known && json_array_size(c->errors) < MAX_ERRORS_KEPT)
            json_array_append_new(c->errors, json_string(e ? e : "(no message)"));
        return 0;
    }
    c->n_ok++;
    size_t i;
    json_t *jm;
    json_array_foreach(json_object_get(s, "metrics"), i, jm) {
        const char *name = json_string_value(json_object_get(jm, "name"));
        if (!name)
            continue;
        struct results_macc *m = cacc_metric(c, name, json_string_value(json_object_get(jm, "unit")),
                                     json_string_value(json_object_get(jm, "source")));
        if (!m)
            return -1;
        /* the first declaration seen wins; a later different one is noted */
        struct metric_sem sem = { (unsigned char)metric_better_from_name(json_string_value(json_object_get(jm, "better"))),
                                  (unsigned char)metric_kind_from_name(json_string_value(json_object_get(jm, "kind"))),
                                  json_is_true(json_object_get(jm, "gated")),
                                  (float)json_number_value(json_object_get(jm, "tolerance")) };
        if (!m->sem_seen && (sem.better || sem.kind)) {
            m->sem = sem;
            m->sem_seen = true;
        } else if (m->sem_seen && (sem.better != m->sem.better || sem.kind != m->sem.kind || sem.gated != m->sem.gated)) {
            m->sem_conflict = true;
        }
        const char *status = json_string_value(json_object_get(jm, "status"));
        json_t *val = json_object_get(jm, "value");
        if (status && strcmp(status, "ok") == 0 && json_is_number(val) && isfinite(json_number_value(val))) {
            if (m->n == m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 16;
                double *p = realloc(m->v, cap * sizeof *p);
                if (!p)
                    return -1;
                m->v = p;
                long *q = realloc(m->rep, cap * sizeof *q);
                if (!q)
                    return -1;
                m->rep = q;
                m->cap = cap;
            }
            m->rep[m->n] = (long)json_integer_value(json_object_get(s, "rep"));
            m->v[m->n++] = json_number_value(val);
        } else {
            if (status && strcmp(status, "not counted") == 0)
                m->n_notc++;
            else
                m->n_unsup++;
            const char *reason = json_string_value(json_object_get(jm, "reason"));
            if (!m->status[0])
                snprintf(m->status, sizeof m->status, "%s", status ? status : "no value");
            if (!m->reason[0] && reason)
                snprintf(m->reason, sizeof m->reason, "%s", reason);
        }
    }
    return 0;
}

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *macc_stats(struct results_macc *m, const struct stats_limits *lim)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", m->name, "unit", m->unit, "source", m->source);
    if (m->sem_seen) {
        json_object_set_new(o, "better", json_string(metric_better_name(m->sem.better)));
        json_object_set_new(o, "kind", json_string(metric_kind_name(m->sem.kind)));
        json_object_set_new(o, "gated", json_boolean(m->sem.gated));
        if (m->sem.tolerance > 0)
            json_object_set_new(o, "tolerance", json_real(m->sem.tolerance));
    }
    struct stats_summary s;
    if (m->n > 0 && stats_summarize(m->v, m->n, lim, &s) == STATS_OK) {
        json_object_set_new(o, "status", json_string("ok"));
        json_object_set_new(o, "n", json_integer((json_int_t)s.n));
        json_object_set_new(o, "median", jreal(s.median));
        json_object_set_new(o, "mad", jreal(s.mad));
        json_object_set_new(o, "mean", jreal(s.mean));
        json_object_set_new(o, "stddev", jreal(s.stddev));
        json_object_set_new(o, "min", jreal(s.min));
        json_object_set_new(o, "max", jreal(s.max));
        json_object_set_new(o, "ci_level", json_real(lim->level));
        json_object_set_new(o, "ci_lo", jreal(s.ci_lo));
        json_object_set_new(o, "ci_hi", jreal(s.ci_hi));
        json_object_set_new(o, "ci_coverage", jreal(s.ci_coverage));
        json_object_set_new(o, "noisy", json_boolean(s.noisy));
        json_object_set_new(o, "warning", s.warning[0] ? json_string(s.warning) : json_null());
    } else {
        json_object_set_new(o, "status", json_string(m->n_notc > m->n_unsup ? "not counted" : "unsupported"));
        json_object_set_new(o, "n", json_integer(0));
        const char *keys[] = { "median", "mad", "mean", "stddev", "min", "max", "ci_level", "ci_lo", "ci_hi",
                               "ci_coverage" };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            json_object_set_new(o, keys[i], json_null());
        json_object_set_new(o, "noisy", json_false());
        json_object_set_new(o, "warning", json_null());
    }
    json_object_set_new(o, "n_unsupported", json_integer((json_int_t)(m->n_unsup + m->n_notc)));
    json_object_set_new(o, "reason", m->reason[0] ? json_string(m->reason) : json_null());
    return o;
}

int results_stats(struct results_reader *r, const struct stats_limits *lim, json_t **out, char *err, size_t err_len)
{
    *out = NULL;
    if (!lim)
        lim = &stats_default_limits;
    int nc = results_header_n_configs(results_reader_header(r)), rc;
    json_t *sample;
    /* pass 1: values per configuration, to cut the work into batches
     * whose samples fit the budget */
    size_t *values = calloc((size_t)nc + 1, sizeof *values);
    struct results_cacc *acc = calloc((size_t)nc + 1, sizeof *acc);
    json_t *all = json_array();
    if (!values || !acc || !all) {
        rc = err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
        goto done;
    }
    if ((rc = results_reader_rewind(r, err, err_len)) != 0)
        goto done;
    while ((rc = results_reader_next(r, &sample, err, err_len)) == 1) {
        values[json_integer_value(json_object_get(sample, "config"))] +=
            json_array_size(json_object_get(sample, "metrics")) + 1;
        json_decref(sample);
    }
    if (rc < 0)
        goto done;
    for (int c0 = 0; c0 < nc;) {
        int c1 = c0;
        size_t budget = 0;
        while (c1 < nc && (c1 == c0 || budget + values[c1] <= STATS_BUDGET_VALUES))
            budget += values[c1++];
        if ((rc = results_reader_rewind(r, err, err_len)) != 0)
            goto done;
        while ((rc = results_reader_next(r, &sample, err, err_len)) == 1) {
            int c = (int)json_integer_value(json_object_get(sample, "config"));
            int bad = c >= c0 && c < c1 ? results_cacc_add(&acc[c], sample) : 0;
            json_decref(sample);
            if (bad) {
                rc = err_fail(err, err_len, RESULTS_ENOMEM, "results: out of memory");
                goto done;
            }
        }
        if (rc < 0)
            goto done;
        for (int c = c0; c < c1; c++) {
            json_t *metrics = json_array();
            for (size_t i = 0; i < acc[c].nm; i++)
                json_array_append_new(metrics, macc_stats(&acc[c].m[i], lim));
            json_t *cfg = json_array_get(json_object_get(results_reader_header(r), "configs"), (size_t)c);
            json_array_append_new(
                all, json_pack("{s:i, s:O, s:I, s:I, s:I, s:o, s:o}", "config", c, "axes",
                               json_object_get(cfg, "axes") ? json_object_get(cfg, "axes") : json_null(), "n_reps",
                               (json_int_t)acc[c].n_reps, "n_ok", (json_int_t)acc[c].n_ok, "n_failed",
                               (json_int_t)acc[c].n_failed, "errors", acc[c].errors ? json_incref(acc[c].errors) : json_array(),
                               "metrics", metrics));
            results_cacc_free(&acc[c]);
        }
        c0 = c1;
    }
    rc = RESULTS_OK;
    *out = all;
    all = NULL;
done:
    if (acc)
        for (int c = 0; c < nc; c++)
            results_cacc_free(&acc[c]);
    free(acc);
    free(values);
    json_decref(all);
    return rc;
}
