/* history — gated runs over time, change points, noise bands (history.h). */
#include "harness/store/history.h"
#include "base/err.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/store/store.h"
#include "results/results.h"
#include "results/stats.h"

static const char *env_get(const json_t *env, const char *a, const char *b)
{
    const char *s = json_string_value(json_object_get(json_object_get(env, a), b));
    return s ? s : "";
}

void history_fingerprint(const json_t *env, char *buf, size_t len)
{
    char text[512];
    snprintf(text, sizeof text, "%s|%lld|%s", env_get(env, "cpu", "model_name"),
             (long long)json_integer_value(json_object_get(json_object_get(env, "cpu"), "online")),
             env_get(env, "memory", "total"));
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = text; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ull;
    }
    snprintf(buf, len, "%016llx", (unsigned long long)h);
}

static const char *default_branch(const char *branch)
{
    static const char *const vars[] = { "GGPERF_BRANCH", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME",
                                        NULL };
    if (branch)
        return branch;
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0])
            return v;
    }
    return "";
}

/* The header of a results file (a new reference) or NULL with err. */
static json_t *read_header(const char *path, char *err, size_t err_len)
{
    struct results_reader *r = NULL;
    if (results_reader_open(&r, path, err, err_len) != 0)
        return NULL;
    json_t *h = json_incref((json_t *)results_reader_header(r));
    results_reader_close(r);
    return h;
}

struct point {
    const char *workload, *config, *metric, *unit, *better, *verdict, *source;
    double value, base, change, noise, mde;
    long n;
};

struct writer {
    struct store *s;
    sqlite3_stmt *ins;
    char machine[24], time[32], commit[64], cpu[128];
    const char *branch;
};

static int writer_open(struct writer *w, const char *store_path, const json_t *header, const char *branch, char *err,
                       size_t err_len)
{
    memset(w, 0, sizeof *w);
    char serr[512];
    if (store_open(&w->s, store_path, true, serr, sizeof serr) != 0)
        return err_fail(err, err_len, HISTORY_EIO, "history: %s", serr);
    const json_t *env = json_object_get(header, "environment");
    history_fingerprint(env, w->machine, sizeof w->machine);
    snprintf(w->commit, sizeof w->commit, "%s", env_get(env, "build", "commit"));
    snprintf(w->cpu, sizeof w->cpu, "%s", env_get(env, "cpu", "model_name"));
    const char *t = json_string_value(json_object_get(header, "created"));
    if (t)
        snprintf(w->time, sizeof w->time, "%s", t);
    else
        results_time_iso(w->time, sizeof w->time);
    w->branch = default_branch(branch);
    sqlite3 *db = store_sqlite(w->s);
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO history(time, machine, cpu, branch, commit_id, workload, config, metric, unit,"
                           " better, verdict, value, base, change, noise, mde, n, source)"
                           " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &w->ins, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = err_fail(err, err_len, HISTORY_EIO, "history: %s", sqlite3_errmsg(db));
        sqlite3_finalize(w->ins);
        store_close(w->s);
        return rc;
    }
    return 0;
}

static void bind_num(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static int writer_put(struct writer *w, const struct point *p, char *err, size_t err_len)
{
    sqlite3_stmt *st = w->ins;
    sqlite3_reset(st);
    const char *txt[] = { w->time, w->machine, w->cpu, w->branch, w->commit, p->workload, p->config, p->metric,
                          p->unit, p->better, p->verdict };
    for (int i = 0; i < 11; i++)
        sqlite3_bind_text(st, i + 1, txt[i] ? txt[i] : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 12, p->value);
    bind_num(st, 13, p->base);
    bind_num(st, 14, p->change);
    bind_num(st, 15, p->noise);
    bind_num(st, 16, p->mde);
    sqlite3_bind_int64(st, 17, p->n);
    sqlite3_bind_text(st, 18, p->source ? p->source : "", -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        return err_fail(err, err_len, HISTORY_EIO, "history: %s", sqlite3_errmsg(store_sqlite(w->s)));
    return 0;
}

static int writer_close(struct writer *w, bool commit, char *err, size_t err_len)
{
    int rc = 0;
    sqlite3 *db = store_sqlite(w->s);
    if (sqlite3_exec(db, commit ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK && commit)
        rc = err_fail(err, err_len, HISTORY_EIO, "history: %s", sqlite3_errmsg(db));
    sqlite3_finalize(w->ins);
    store_close(w->s);
    return rc;
}

int history_record(const char *store_path, const struct gate_report *r, const char *cur_path, const char *branch,
                   char *err, size_t err_len)
{
    json_t *h = read_header(cur_path, err, err_len);
    if (!h)
        return HISTORY_EINPUT;
    struct writer w;
    int rc = writer_open(&w, store_path, h, branch, err, err_len);
    json_decref(h);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < r->n_rows && rc == 0; i++) {
        const struct gate_row *row = &r->rows[i];
        if (!row->gated || isnan(row->cur_median))
            continue;
        struct point p = { r->workload, row->config, row->metric, row->unit, metric_better_name(row->sem.better),
                           gate_verdict_name(row->verdict), row->source, row->cur_median, row->base_median,
                           isfinite(row->change) ? row->change : NAN, row->noise, row->mde, (long)row->n_cur };
        rc = writer_put(&w, &p, err, err_len);
    }
    int c = writer_close(&w, rc == 0, err, err_len);
    return rc ? rc : c;
}

static void axes_text(const json_t *axes, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)axes, k, v) {
        int n = snprintf(buf + used, len - used, "%s%s=%s", used ? ", " : "", k,
                         json_is_string(v) ? json_string_value(v) : "?");
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    if (!buf[0])
        snprintf(buf, len, "(no axes)");
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int history_import(const char *store_path, const char *results_path, const char *branch, size_t *n_points,
                   char *err, size_t err_len)
{
    *n_points = 0;
    struct results_reader *rd = NULL;
    char rerr[512];
    if (results_reader_open(&rd, results_path, rerr, sizeof rerr) != 0)
        return err_fail(err, err_len, HISTORY_EINPUT, "history: %s", rerr);
    const json_t *h = results_reader_header(rd);
    int n_cfg = results_header_n_configs(h);
    struct results_cacc *acc = calloc((size_t)n_cfg + 1, sizeof *acc);
    struct writer w;
    bool open = false;
    int rc = 0;
    if (!acc) {
        rc = err_fail(err, err_len, HISTORY_ENOMEM, "out of memory");
        goto done;
    }
    json_t *smp;
    int got;
    while ((got = results_reader_next(rd, &smp, rerr, sizeof rerr)) == 1) {
        int c = (int)json_integer_value(json_object_get(smp, "config"));
        int a = c >= 0 && c < n_cfg ? results_cacc_add(&acc[c], smp) : 0;
        json_decref(smp);
        if (a != 0) {
            rc = err_fail(err, err_len, HISTORY_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (got < 0) {
        rc = err_fail(err, err_len, HISTORY_EINPUT, "history: %s", rerr);
        goto done;
    }
    if ((rc = writer_open(&w, store_path, h, branch, err, err_len)) != 0)
        goto done;
    open = true;
    const char *workload = json_string_value(json_object_get(json_object_get(h, "workload"), "name"));
    for (int c = 0; c < n_cfg && rc == 0; c++) {
        char cfg[256];
        axes_text(json_object_get(json_array_get(json_object_get(h, "configs"), (size_t)c), "axes"), cfg, sizeof cfg);
        for (size_t m = 0; m < acc[c].nm && rc == 0; m++) {
            struct results_macc *mm = &acc[c].m[m];
            if (!mm->sem.gated || mm->n == 0)
                continue;
            qsort(mm->v, mm->n, sizeof *mm->v, cmp_d);
            struct point p = { workload ? workload : "?", cfg, mm->name, mm->unit, metric_better_name(mm->sem.better),
                               "imported", mm->source, stats_median_sorted(mm->v, mm->n), NAN, NAN, NAN, NAN,
                               (long)mm->n };
            if ((rc = writer_put(&w, &p, err, err_len)) == 0)
                (*n_points)++;
        }
    }
done:
    if (open) {
        int c = writer_close(&w, rc == 0, err, err_len);
        rc = rc ? rc : c;
    }
    for (int c = 0; acc && c < n_cfg; c++)
        results_cacc_free(&acc[c]);
    free(acc);
    results_reader_close(rd);
    return rc;
}

void history_series_free(struct history_series *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        free(s[i].value);
        free(s[i].commit);
        free(s[i].branch);
        free(s[i].time);
    }
    free(s);
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int history_series_get(const char *store_path, const struct history_filter *f, struct history_series **out,
                       size_t *n, char *err, size_t err_len)
{
    *out = NULL;
    *n = 0;
    struct store *s = NULL;
    char serr[512];
    if (store_open(&s, store_path, false, serr, sizeof serr) != 0)
        return err_fail(err, err_len, HISTORY_EIO, "history: %s", serr);
    sqlite3 *db = store_sqlite(s);
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT machine, workload, config, metric, unit, better, value, commit_id, branch, time"
                           " FROM history WHERE (?1 IS NULL OR machine = ?1) AND (?2 IS NULL OR workload = ?2)"
                           " AND (?3 IS NULL OR metric = ?3) AND (?4 IS NULL OR instr(config, ?4) > 0)"
                           " ORDER BY machine, workload, config, metric, id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = err_fail(err, err_len, HISTORY_EIO, "history: %s", sqlite3_errmsg(db));
        goto done;
    }
    const char *binds[4] = { f ? f->machine : NULL, f ? f->workload : NULL, f ? f->metric : NULL,
                             f ? f->config : NULL };
    for (int i = 0; i < 4; i++)
        if (binds[i])
            sqlite3_bind_text(st, i + 1, binds[i], -1, SQLITE_STATIC);
    struct history_series *v = NULL, *cur = NULL;
    size_t nv = 0, cap_pts = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (!cur || strcmp(cur->machine, col(st, 0)) || strcmp(cur->workload, col(st, 1)) ||
            strcmp(cur->config, col(st, 2)) || strcmp(cur->metric, col(st, 3))) {
            struct history_series *p = realloc(v, (nv + 1) * sizeof *p);
            if (!p) {
                rc = err_fail(err, err_len, HISTORY_ENOMEM, "out of memory");
                break;
            }
            v = p;
            cur = &v[nv++];
            memset(cur, 0, sizeof *cur);
            cap_pts = 0;
            snprintf(cur->machine, sizeof cur->machine, "%s", col(st, 0));
            snprintf(cur->workload, sizeof cur->workload, "%s", col(st, 1));
            snprintf(cur->config, sizeof cur->config, "%s", col(st, 2));
            snprintf(cur->metric, sizeof cur->metric, "%s", col(st, 3));
            snprintf(cur->unit, sizeof cur->unit, "%s", col(st, 4));
            snprintf(cur->better, sizeof cur->better, "%s", col(st, 5));
        }
        if (cur->n == cap_pts) {
            size_t nc = cap_pts ? cap_pts * 2 : 16;
            double *a = realloc(cur->value, nc * sizeof *a);
            if (a)
                cur->value = a;
            char(*b)[64] = a ? realloc(cur->commit, nc * sizeof *b) : NULL;
            if (b)
                cur->commit = b;
            char(*c)[64] = b ? realloc(cur->branch, nc * sizeof *c) : NULL;
            if (c)
                cur->branch = c;
            char(*d)[32] = c ? realloc(cur->time, nc * sizeof *d) : NULL;
            if (!d) {
                rc = err_fail(err, err_len, HISTORY_ENOMEM, "out of memory");
                break;
            }
            cur->time = d;
            cap_pts = nc;
        }
        cur->value[cur->n] = sqlite3_column_double(st, 6);
        snprintf(cur->commit[cur->n], 64, "%s", col(st, 7));
        snprintf(cur->branch[cur->n], 64, "%s", col(st, 8));
        snprintf(cur->time[cur->n], 32, "%s", col(st, 9));
        cur->n++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = err_fail(err, err_len, HISTORY_EIO, "history: %s", sqlite3_errmsg(db));
    if (rc != 0) {
        history_series_free(v, nv);
        goto done;
    }
    *out = v;
    *n = nv;
done:
    sqlite3_finalize(st);
    store_close(s);
    return rc;
}

/* ---- E-divisive means ---------------------------------------------------- */

void history_cp_default(struct history_cp_opts *o)
{
    o->sig = 0.05;
    o->perms = 199;
    o->min_size = 3;
    o->seed = 1;
}

/* The best split of x[0..n) and its statistic q (see history.h); d is
 * scratch of n * n. Returns the split (the first index of the right
 * part), or 0 when no split leaves min_size points on both sides. */
static size_t best_split(const double *x, size_t n, int min_size, double *d, double *q_out)
{
    *q_out = -INFINITY;
    if (n < 2 * (size_t)min_size)
        return 0;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            d[i * n + j] = fabs(x[i] - x[j]);
            if (j > i)
                total += d[i * n + j];
        }
    /* moving tau from 1 up: element tau - 1 joins the left part */
    double wl = 0, wr = total, cross = 0;
    size_t best = 0;
    for (size_t tau = 1; tau < n; tau++) {
        size_t e = tau - 1;
        double to_left = 0, to_right = 0;
        for (size_t i = 0; i < e; i++)
            to_left += d[i * n + e];
        for (size_t j = e + 1; j < n; j++)
            to_right += d[e * n + j];
        wl += to_left;
        wr -= to_right;
        cross += to_right - to_left;
        if (tau < (size_t)min_size || n - tau < (size_t)min_size)
            continue;
        double a = (double)tau, b = (double)(n - tau);
        double e_stat = 2.0 * cross / (a * b) - (tau > 1 ? wl / (a * (a - 1) / 2) : 0) -
                        (n - tau > 1 ? wr / (b * (b - 1) / 2) : 0);
        double q = a * b / (double)n * e_stat;
        if (q > *q_out) {
            *q_out = q;
            best = tau;
        }
    }
    return best;
}

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: small, seedable, good enough to shuffle */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct seg {
    size_t lo, hi;
};

int history_change_points(const double *x, size_t n, const struct history_cp_opts *o, size_t *cps, double *p_values,
                          size_t max)
{
    if (n < 2 * (size_t)o->min_size || max == 0)
        return 0;
    double *d = malloc(n * n * sizeof *d), *perm = malloc(n * sizeof *perm);
    struct seg *stack = malloc((n + 1) * sizeof *stack);
    size_t found = 0, top = 0;
    if (!d || !perm || !stack) {
        free(d);
        free(perm);
        free(stack);
        return HISTORY_ENOMEM;
    }
    uint64_t rng = o->seed;
    stack[top++] = (struct seg){ 0, n };
    while (top > 0 && found < max) {
        struct seg s = stack[--top];
        size_t len = s.hi - s.lo;
        double q;
        size_t tau = best_split(x + s.lo, len, o->min_size, d, &q);
        if (tau == 0 || !(q > 0))
            continue;
        int ge = 0;
        for (int k = 0; k < o->perms; k++) {
            memcpy(perm, x + s.lo, len * sizeof *perm);
            for (size_t i = len - 1; i > 0; i--) {
                size_t j = (size_t)(rng_next(&rng) % (i + 1));
                double t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            double qp;
            best_split(perm, len, o->min_size, d, &qp);
            ge += qp >= q;
        }
        double p = (1.0 + ge) / (1.0 + o->perms);
        if (p >= o->sig)
            continue;
        /* insert sorted */
        size_t at = found;
        while (at > 0 && cps[at - 1] > s.lo + tau) {
            cps[at] = cps[at - 1];
            if (p_values)
                p_values[at] = p_values[at - 1];
            at--;
        }
        cps[at] = s.lo + tau;
        if (p_values)
            p_values[at] = p;
        found++;
        stack[top++] = (struct seg){ s.lo, s.lo + tau };
        stack[top++] = (struct seg){ s.lo + tau, s.hi };
    }
    free(d);
    free(perm);
    free(stack);
    return (int)found;
}

double history_noise(const double *x, size_t n, const struct history_cp_opts *o)
{
    size_t cps[64];
    int k = history_change_points(x, n, o, cps, NULL, 64);
    size_t from = k > 0 ? cps[k - 1] : 0, m = n - from;
    if (m < 5)
        return NAN;
    double *a = malloc(m * sizeof *a);
    if (!a)
        return NAN;
    memcpy(a, x + from, m * sizeof *a);
    qsort(a, m, sizeof *a, cmp_d);
    double med = stats_median_sorted(a, m);
    for (size_t i = 0; i < m; i++)
        a[i] = med != 0 ? fabs(x[from + i] - med) / fabs(med) : 0;
    qsort(a, m, sizeof *a, cmp_d);
    double mad = stats_median_sorted(a, m);
    free(a);
    return 1.4826 * mad;
}
