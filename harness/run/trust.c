/* trust — which configurations still need repetitions under --until-trusted:
 * their primary samples' noise flags, from stats_summarize (see trust.h). */
#include "harness/run/trust.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "results/stats.h"

/* A workload's primary set is small (two figures at most today). */
#define TRUST_MAX_PRIMARY 4

struct trust_vals {
    double *v;
    size_t n, cap;
};

struct trust {
    int n_configs, n_prim;
    const char *names[TRUST_MAX_PRIMARY]; /* borrowed from the workload's table */
    struct trust_vals *vals;               /* [n_configs * n_prim] */
};

int trust_new(struct trust **out, const struct metric_decl *decls, int n_decls, int n_configs)
{
    *out = NULL;
    const char *names[TRUST_MAX_PRIMARY];
    int n_prim = 0;
    for (int i = 0; i < n_decls && n_prim < TRUST_MAX_PRIMARY; i++)
        if (decls[i].sem.gated && decls[i].sem.kind == METRIC_KIND_SAMPLE && !strchr(decls[i].name, '*'))
            names[n_prim++] = decls[i].name;
    if (n_prim == 0 || n_configs <= 0)
        return 0;
    struct trust *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->vals = calloc((size_t)n_configs * (size_t)n_prim, sizeof *t->vals);
    if (!t->vals) {
        free(t);
        return -1;
    }
    t->n_configs = n_configs;
    t->n_prim = n_prim;
    memcpy(t->names, names, sizeof names);
    *out = t;
    return 0;
}

static int keep(struct trust *t, int cfg, const char *name, double v)
{
    for (int p = 0; p < t->n_prim; p++) {
        if (strcmp(t->names[p], name) != 0)
            continue;
        struct trust_vals *tv = &t->vals[(size_t)cfg * (size_t)t->n_prim + (size_t)p];
        if (tv->n == tv->cap) {
            size_t cap = tv->cap ? 2 * tv->cap : 16;
            double *nv = realloc(tv->v, cap * sizeof *nv);
            if (!nv)
                return -1;
            tv->v = nv;
            tv->cap = cap;
        }
        tv->v[tv->n++] = v;
        return 0;
    }
    return 0;
}

int trust_add(struct trust *t, int cfg, const struct metric *m, int n)
{
    if (!t || cfg < 0 || cfg >= t->n_configs)
        return 0;
    for (int i = 0; i < n; i++)
        if (m[i].status == METRIC_OK && keep(t, cfg, m[i].name, m[i].value) != 0)
            return -1;
    return 0;
}

int trust_add_json(struct trust *t, int cfg, const json_t *sample)
{
    if (!t || cfg < 0 || cfg >= t->n_configs || !json_is_true(json_object_get(sample, "ok")))
        return 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(sample, "metrics"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *status = json_string_value(json_object_get(m, "status"));
        json_t *v = json_object_get(m, "value");
        if (name && status && strcmp(status, "ok") == 0 && json_is_number(v) &&
            keep(t, cfg, name, json_number_value(v)) != 0)
            return -1;
    }
    return 0;
}

bool trust_wants_more(const struct trust *t, int cfg, char *why, size_t len)
{
    if (!t || cfg < 0 || cfg >= t->n_configs)
        return false;
    for (int p = 0; p < t->n_prim; p++) {
        const struct trust_vals *tv = &t->vals[(size_t)cfg * (size_t)t->n_prim + (size_t)p];
        if (tv->n == 0)
            continue; /* never measured here (unsupported): more repetitions will not change that */
        double *x = malloc(tv->n * sizeof *x);
        if (!x)
            return false;
        memcpy(x, tv->v, tv->n * sizeof *x);
        struct stats_summary s;
        bool noisy = stats_summarize(x, tv->n, NULL, &s) == STATS_OK && s.noisy;
        free(x);
        if (noisy) {
            if (why)
                snprintf(why, len, "%s: %s", t->names[p], s.warning);
            return true;
        }
    }
    return false;
}

void trust_free(struct trust *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < (size_t)t->n_configs * (size_t)t->n_prim; i++)
        free(t->vals[i].v);
    free(t->vals);
    free(t);
}
