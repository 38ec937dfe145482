/* runner_plan — what a sweep runs, apart from running it (runner.c): the
 * plan (each axis's values, from the command line or a stream header,
 * checked against the axis), a configuration's values and label, the order
 * of each round (a pure function of seed and round), and the synthesized
 * model a workload gets when it was given none. */
#include "harness/run/runner.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "modelgen/synth.h"
#include "results/results.h"

/* ---- plan ------------------------------------------------------------- */

void runner_plan_free(struct runner_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < WORKLOAD_MAX_AXES; i++)
        for (int v = 0; v < p->n_values[i] && v < RUNNER_MAX_VALUES; v++)
            free(p->values[i][v]);
    memset(p, 0, sizeof *p);
}

/* Allowed values of an axis for messages: "read|mmap" or "1..64". */
static void axis_allowed(const struct workload_axis *a, char *buf, size_t len)
{
    if (a->kind == WORKLOAD_AXIS_INT) {
        snprintf(buf, len, "%" PRId64 "..%" PRId64, a->lo, a->hi);
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; a->choices && a->choices[i]; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? "|" : "", a->choices[i]);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

static int parse_value(const struct workload_axis *a, const char *text, int64_t *num, char *err, size_t err_len)
{
    char allowed[512];
    if (a->kind == WORKLOAD_AXIS_INT) {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (!*text || *end || errno == ERANGE || v < a->lo || v > a->hi) {
            axis_allowed(a, allowed, sizeof allowed);
            return err_fail(err, err_len, RUNNER_EINVAL, "--%s: '%s' is not an integer in %s", a->name, text, allowed);
        }
        *num = v;
        return 0;
    }
    for (int i = 0; a->choices && a->choices[i]; i++)
        if (strcmp(a->choices[i], text) == 0) {
            *num = i;
            return 0;
        }
    axis_allowed(a, allowed, sizeof allowed);
    return err_fail(err, err_len, RUNNER_EINVAL, "--%s: '%s' is not one of %s", a->name, text, allowed);
}

int runner_plan_init(struct runner_plan *p, const struct workload *wl, const char *const *lists, char *err,
                     size_t err_len)
{
    memset(p, 0, sizeof *p);
    p->wl = wl;
    if (wl->n_axes < 0 || wl->n_axes > WORKLOAD_MAX_AXES)
        return err_fail(err, err_len, RUNNER_EINVAL, "%s: %d axes (at most %d)", wl->name, wl->n_axes,
                    WORKLOAD_MAX_AXES);
    p->n_axes = wl->n_axes;
    long n_configs = 1;
    for (int i = 0; i < wl->n_axes; i++) {
        const struct workload_axis *a = &wl->axes[i];
        const char *list = lists && lists[i] ? lists[i] : a->defaults;
        if (!list || !*list) {
            runner_plan_free(p);
            return err_fail(err, err_len, RUNNER_EINVAL, "--%s: empty list", a->name);
        }
        const char *s = list;
        for (;;) {
            size_t n = strcspn(s, ",");
            if (n == 0) {
                runner_plan_free(p);
                return err_fail(err, err_len, RUNNER_EINVAL, "--%s: empty value in '%s'", a->name, list);
            }
            if (p->n_values[i] == RUNNER_MAX_VALUES) {
                runner_plan_free(p);
                return err_fail(err, err_len, RUNNER_EINVAL, "--%s: more than %d values", a->name, RUNNER_MAX_VALUES);
            }
            char *v = strndup(s, n);
            if (!v) {
                runner_plan_free(p);
                return err_fail(err, err_len, RUNNER_ENOMEM, "out of memory");
            }
            int k = p->n_values[i]++;
            p->values[i][k] = v;
            int rc = parse_value(a, v, &p->nums[i][k], err, err_len);
            if (rc != 0) {
                runner_plan_free(p);
                return rc;
            }
            for (int j = 0; j < k; j++)
                if (p->nums[i][j] == p->nums[i][k]) {
                    err_fail(err, err_len, RUNNER_EINVAL, "--%s: '%s' is listed twice", a->name, v);
                    runner_plan_free(p);
                    return RUNNER_EINVAL;
                }
            if (!s[n])
                break;
            s += n + 1;
        }
        n_configs *= p->n_values[i];
        if (n_configs > RUNNER_MAX_CONFIGS) {
            runner_plan_free(p);
            return err_fail(err, err_len, RUNNER_EINVAL, "the sweep has more than %d configurations", RUNNER_MAX_CONFIGS);
        }
    }
    p->n_configs = (int)n_configs;
    return 0;
}

void runner_plan_config(const struct runner_plan *p, int id, struct workload_config *cfg)
{
    int digits[WORKLOAD_MAX_AXES];
    results_config_digits(p->n_axes, p->n_values, id, digits);
    cfg->n_axes = p->n_axes;
    for (int i = 0; i < p->n_axes; i++) {
        cfg->text[i] = p->values[i][digits[i]];
        cfg->num[i] = p->nums[i][digits[i]];
    }
}

void runner_plan_label(const struct runner_plan *p, int id, char *buf, size_t len)
{
    int digits[WORKLOAD_MAX_AXES];
    results_config_digits(p->n_axes, p->n_values, id, digits);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->n_axes; i++) {
        int w = snprintf(buf + used, len - used, "%s%s=%s", i ? " " : "", p->wl->axes[i].name,
                         p->values[i][digits[i]]);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

/* ---- order ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void runner_round_order(int n, uint64_t seed, uint64_t round, int *order)
{
    uint64_t s = seed ^ (round * 0xD1B54A32D192ED03ull + 0x2545F4914F6CDD1Dull);
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        /* multiply-shift maps 64 random bits to [0, i] without modulo bias worth noting */
        int j = (int)(((unsigned __int128)splitmix64(&s) * (unsigned)(i + 1)) >> 64);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* ---- synthesized models -------------------------------------------------- */

bool runner_synth_path(const char *cache_dir, const char *shape, const char *type, char *path, size_t len)
{
    snprintf(path, len, "%s/synth-%s-%s.gguf", cache_dir, shape, type);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int runner_synth_model(const char *cache_dir, const char *shape, const char *type, char *path, size_t len,
                       char *err, size_t err_len)
{
    if (runner_synth_path(cache_dir, shape, type, path, len))
        return 0; /* synth_write renames into place only when complete */
    struct synth_spec spec;
    if (synth_shape_find(shape, &spec) != 0)
        return err_fail(err, err_len, RUNNER_EMODEL, "no synth shape '%s'", shape);
    int ft = synth_ftype_from_name(type, false);
    if (ft < 0)
        return err_fail(err, err_len, RUNNER_EMODEL, "no synth type '%s' (allowed: %s)", type, synth_type_names());
    spec.ftype = ft;
    char serr[256];
    if (synth_write(&spec, path, 0, NULL, NULL, serr, sizeof serr) != 0) {
        if (runner_synth_path(cache_dir, shape, type, path, len)) /* another process won the race */
            return 0;
        return err_fail(err, err_len, RUNNER_EMODEL, "synthesizing %s: %s", path, serr);
    }
    return 0;
}
