/* prof_report — conclusions, tables, comparison and the HTML page of a
 * profile (see prof_report.h). */
#include "reports/prof_report.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/html.h"
#include "reports/prof_flame.h"
#include "reports/prof_roofline.h"

#define MAX_KINDS 64

/* Append to a string buffer. */
static void cat(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static double share(const struct profile *p, double ns) { return p->step_ns > 0 ? 100.0 * ns / p->step_ns : NAN; }

double prof_report_wait_share(const struct profile *p)
{
    double w = 0;
    for (int i = 0; i < p->n_ops; i++)
        for (int t = 0; t < p->n_threads; t++)
            w += p->ops[i].thread_wait_ns[t];
    return p->step_ns > 0 ? w / (p->n_threads * p->step_ns) : NAN;
}

/* Sum of the op kinds in a NULL-terminated list. */
static void group_total(const struct profile *p, const char *const *ops, struct profile_op *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; ops[i]; i++) {
        struct profile_op t;
        if (!profile_kind_total(p, ops[i], &t))
            continue;
        out->calls += t.calls;
        out->time_ns += t.time_ns;
        out->wait_ns += t.wait_ns;
        out->bytes_weights += t.bytes_weights;
        out->bytes_act += t.bytes_act;
        out->bytes_kv += t.bytes_kv;
        out->flops += t.flops;
    }
}

/* Busy time of thread t in an op kind, all layers. */
static void kind_threads(const struct profile *p, const char *op, double *busy, double *wait)
{
    for (int t = 0; t < p->n_threads; t++)
        busy[t] = wait[t] = 0;
    for (int i = 0; i < p->n_ops; i++)
        if (strcmp(p->ops[i].op, op) == 0)
            for (int t = 0; t < p->n_threads; t++) {
                busy[t] += p->ops[i].busy_ns[t];
                wait[t] += p->ops[i].thread_wait_ns[t];
            }
}

/* max / mean busy time over threads (1 = balanced); NaN with one thread. */
static double imbalance(const struct profile *p, const char *op)
{
    if (p->n_threads < 2)
        return NAN;
    double busy[PROFILE_MAX_THREADS], wait[PROFILE_MAX_THREADS], sum = 0, mx = 0;
    kind_threads(p, op, busy, wait);
    for (int t = 0; t < p->n_threads; t++) {
        sum += busy[t];
        mx = fmax(mx, busy[t]);
    }
    return sum > 0 ? mx / (sum / p->n_threads) : NAN;
}

static const char *const g_ffn[] = { "mm_gate", "mm_up", "mm_down", NULL };
static const char *const g_attn_mm[] = { "mm_q", "mm_k", "mm_v", "mm_o", NULL };
static const char *const g_out[] = { "mm_output", NULL };
static const char *const g_attn[] = { "rope", "attn", NULL };
static const char *const g_norm[] = { "attn_norm", "ffn_norm", "out_norm", NULL };
static const char *const g_quant[] = { "quant", NULL };
static const char *const g_dispatch[] = { "dispatch", NULL };

void prof_report_conclusions(const struct profile *p, char *buf, size_t len)
{
    buf[0] = '\0';
    const struct profile_ceiling *bw = prof_roofline_bw(p);
    struct profile_op g;
    cat(buf, len, "%s, %s, %d thread%s (%s kernels): %.0f us per %s (%.1f tokens/s). ", p->mode, p->model_desc,
        p->n_threads, p->n_threads == 1 ? "" : "s", p->isa, p->step_ns / 1e3,
        strcmp(p->mode, "decode") == 0 ? "token" : "pass", p->tokens_per_step * 1e9 / p->step_ns);
    group_total(p, g_ffn, &g);
    cat(buf, len, "%.0f%% of the step in FFN matmuls", share(p, g.time_ns));
    if (bw && isfinite(profile_op_gbps(&g)))
        cat(buf, len, " at %.1f GB/s = %.0f%% of read bandwidth", profile_op_gbps(&g),
            100 * profile_op_gbps(&g) / bw->value);
    group_total(p, g_attn_mm, &g);
    cat(buf, len, "; q/k/v/o matmuls %.0f%%", share(p, g.time_ns));
    if (bw && isfinite(profile_op_gbps(&g)))
        cat(buf, len, " (%.0f%% of read bandwidth)", 100 * profile_op_gbps(&g) / bw->value);
    group_total(p, g_out, &g);
    cat(buf, len, "; output matmul %.0f%%", share(p, g.time_ns));
    group_total(p, g_attn, &g);
    cat(buf, len, "; attention (rope + softmax) %.0f%%", share(p, g.time_ns));
    group_total(p, g_norm, &g);
    cat(buf, len, "; norms %.1f%%", share(p, g.time_ns));
    group_total(p, g_quant, &g);
    cat(buf, len, "; activation quantization %.1f%%", share(p, g.time_ns));
    group_total(p, g_dispatch, &g);
    cat(buf, len, "; waking/joining threads %.1f%%. ", share(p, g.time_ns));

    double ws = prof_report_wait_share(p);
    if (p->n_threads > 1 && isfinite(ws)) {
        /* Who waits most, and where. */
        const char *kinds[MAX_KINDS];
        int nk = profile_kinds(p, kinds, MAX_KINDS);
        double best = -1;
        int bt = 0;
        const char *bop = "";
        for (int k = 0; k < nk; k++) {
            double busy[PROFILE_MAX_THREADS], wait[PROFILE_MAX_THREADS];
            kind_threads(p, kinds[k], busy, wait);
            for (int t = 0; t < p->n_threads; t++)
                if (wait[t] > best) {
                    best = wait[t];
                    bt = t;
                    bop = kinds[k];
                }
        }
        double total_wait = ws * p->n_threads * p->step_ns;
        cat(buf, len, "Barrier wait is %.1f%% of all threads' time; the largest part (%.0f%% of it) is thread %d "
                      "waiting at the end of %s",
            100 * ws, total_wait > 0 ? 100 * best / total_wait : 0.0, bt, bop);
        double imb = imbalance(p, bop);
        if (isfinite(imb))
            cat(buf, len, ", where the busiest thread works %.2fx the mean", imb);
        if (isfinite(imb) && imb < 1.1)
            cat(buf, len, ": the work is balanced, so the wait is the other thread not running (preempted, or "
                          "waking from a sleep at the previous barrier), not uneven work");
        cat(buf, len, ". ");
    } else {
        cat(buf, len, "One thread: no barrier wait. ");
    }
    /* The op furthest below its roof among those that take > 3% of the step. */
    const char *kinds[MAX_KINDS];
    int nk = profile_kinds(p, kinds, MAX_KINDS);
    const char *worst = NULL;
    double wf = INFINITY, wshare = 0;
    for (int k = 0; k < nk; k++) {
        struct profile_op t;
        profile_kind_total(p, kinds[k], &t);
        double f = prof_roofline_fraction(p, &t);
        if (share(p, t.time_ns) > 3 && isfinite(f) && f < wf) {
            wf = f;
            worst = kinds[k];
            wshare = share(p, t.time_ns);
        }
    }
    if (worst)
        cat(buf, len, "Furthest below its roof: %s (%.0f%% of the step) at %.0f%% of what the roof allows. ", worst,
            wshare, 100 * wf);
    cat(buf, len, "Markers: %.0f ns each, %.1f us per step subtracted (%.1f%%)", p->marker_ns, p->overhead_ns / 1e3,
        share(p, p->overhead_ns));
    if (p->step_unmarked_ns > 0)
        cat(buf, len, "; the same steps with no markers took %.0f us (%+.1f%% against the corrected step)",
            p->step_unmarked_ns / 1e3, 100 * (p->step_unmarked_ns - p->step_ns) / p->step_ns);
    cat(buf, len, ".");
}

static void fmt_num(char *b, size_t n, double v, const char *f)
{
    if (isfinite(v))
        snprintf(b, n, f, v);
    else
        snprintf(b, n, "-");
}

int prof_report_text(FILE *f, const struct profile *p, const struct profile *base)
{
    char buf[4096];
    prof_report_conclusions(p, buf, sizeof buf);
    fprintf(f, "%s\n\n", buf);
    fprintf(f, "%-10s %7s %9s %6s %6s %9s %9s %9s %9s %8s %8s %7s %6s %5s", "op", "calls", "us/step", "share",
            "wait%", "weightMB", "actKB", "kvKB", "MFLOP", "GB/s", "GFLOP/s", "FLOP/B", "roof%", "imb");
    if (p->n_sim)
        fprintf(f, " %10s %9s %9s", "sim Ir", "D1 miss", "LL miss");
    fprintf(f, "\n");
    const char *kinds[MAX_KINDS];
    int nk = profile_kinds(p, kinds, MAX_KINDS);
    double sum = 0;
    for (int k = 0; k < nk; k++) {
        struct profile_op t;
        profile_kind_total(p, kinds[k], &t);
        sum += t.time_ns;
        char c[10][24];
        fmt_num(c[0], 24, profile_op_gbps(&t), "%.2f");
        fmt_num(c[1], 24, profile_op_gflops(&t), "%.2f");
        fmt_num(c[2], 24, profile_op_intensity(&t), "%.2f");
        fmt_num(c[3], 24, 100 * prof_roofline_fraction(p, &t), "%.0f");
        fmt_num(c[4], 24, strcmp(kinds[k], "dispatch") ? imbalance(p, kinds[k]) : NAN, "%.2f");
        fprintf(f, "%-10s %7.1f %9.1f %5.1f%% %5.1f%% %9.3f %9.1f %9.1f %9.3f %8s %8s %7s %6s %5s", kinds[k], t.calls,
                t.time_ns / 1e3, share(p, t.time_ns), t.time_ns > 0 ? 100 * t.wait_ns / t.time_ns : 0.0,
                t.bytes_weights / 1e6, t.bytes_act / 1e3, t.bytes_kv / 1e3, t.flops / 1e6, c[0], c[1], c[2], c[3],
                c[4]);
        for (int s = 0; s < p->n_sim; s++)
            if (strcmp(p->sim[s].op, kinds[k]) == 0)
                fprintf(f, " %10.0f %9.0f %9.0f", p->sim[s].instructions, p->sim[s].d1_misses, p->sim[s].ll_misses);
        fprintf(f, "\n");
    }
    fprintf(f, "%-10s %7s %9.1f %5.1f%%   (step %.1f us: %.1f measured - %.1f marker overhead)\n\n", "sum", "",
            sum / 1e3, share(p, sum), p->step_ns / 1e3, p->step_raw_ns / 1e3, p->overhead_ns / 1e3);

    fprintf(f, "per layer (us/step):\n%-8s %9s %6s  %s\n", "layer", "us", "share", "largest op");
    for (int l = -1; l < p->n_layer; l++) {
        double t = 0, best = -1;
        const char *bop = "";
        for (int i = 0; i < p->n_ops; i++)
            if (p->ops[i].layer == l) {
                t += p->ops[i].time_ns;
                if (p->ops[i].time_ns > best) {
                    best = p->ops[i].time_ns;
                    bop = p->ops[i].op;
                }
            }
        if (l < 0)
            fprintf(f, "%-8s %9.1f %5.1f%%  %s\n", "outside", t / 1e3, share(p, t), bop);
        else
            fprintf(f, "%-8d %9.1f %5.1f%%  %s\n", l, t / 1e3, share(p, t), bop);
    }
    fprintf(f, "\nper thread (us/step):\n%-8s %9s %9s %7s\n", "thread", "busy", "wait", "wait%");
    for (int t = 0; t < p->n_threads; t++) {
        double b = 0, w = 0;
        for (int i = 0; i < p->n_ops; i++) {
            b += p->ops[i].busy_ns[t];
            w += p->ops[i].thread_wait_ns[t];
        }
        fprintf(f, "%-8d %9.1f %9.1f %6.1f%%\n", t, b / 1e3, w / 1e3, b + w > 0 ? 100 * w / (b + w) : 0.0);
    }
    fprintf(f, "\nceilings:\n");
    for (int i = 0; i < p->n_ceilings; i++)
        fprintf(f, "  %-22s %9.1f %-7s %s\n", p->ceilings[i].name, p->ceilings[i].value,
                strcmp(p->ceilings[i].kind, "bw") == 0 ? "GB/s" : "GFLOP/s", p->ceilings[i].source);
    if (!p->n_ceilings)
        fprintf(f, "  none (the probe was not run)\n");
    fprintf(f, "sim: %s\nhw counters: %s\n", p->sim_note, p->hw_note);
    if (base) {
        fprintf(f, "\n");
        if (prof_report_compare(f, p, base))
            return -1;
    }
    return ferror(f) ? -1 : 0;
}

struct cmp_row {
    const char *op;
    double a, b;   /* base, new time per step */
};

static int cmp_delta(const void *x, const void *y)
{
    const struct cmp_row *a = x, *b = y;
    double da = fabs(a->b - a->a), db = fabs(b->b - b->a);
    return da < db ? 1 : da > db ? -1 : 0;
}

int prof_report_compare(FILE *f, const struct profile *p, const struct profile *base)
{
    struct cmp_row rows[MAX_KINDS * 2];
    int n = 0;
    const char *kinds[MAX_KINDS];
    int nk = profile_kinds(p, kinds, MAX_KINDS);
    for (int k = 0; k < nk; k++) {
        struct profile_op a, b;
        bool ha = profile_kind_total(base, kinds[k], &a);
        profile_kind_total(p, kinds[k], &b);
        rows[n++] = (struct cmp_row){ kinds[k], ha ? a.time_ns : NAN, b.time_ns };
    }
    nk = profile_kinds(base, kinds, MAX_KINDS);
    for (int k = 0; k < nk; k++) {
        struct profile_op a, b;
        if (profile_kind_total(p, kinds[k], &b))
            continue;
        profile_kind_total(base, kinds[k], &a);
        rows[n++] = (struct cmp_row){ kinds[k], a.time_ns, NAN };
    }
    qsort(rows, (size_t)n, sizeof rows[0], cmp_delta);
    fprintf(f, "comparison with the baseline (%s, %s, %d threads, %s):\n", base->mode, base->model_desc,
            base->n_threads, base->created);
    fprintf(f, "step: %.1f -> %.1f us (%+.1f%%)\n", base->step_ns / 1e3, p->step_ns / 1e3,
            100 * (p->step_ns - base->step_ns) / base->step_ns);
    fprintf(f, "%-10s %10s %10s %8s %9s %13s\n", "op", "base us", "new us", "change", "delta us", "share b->n");
    for (int i = 0; i < n; i++) {
        double d = rows[i].b - rows[i].a;
        fprintf(f, "%-10s %10.1f %10.1f %+7.1f%% %+9.1f %5.1f%%->%4.1f%%\n", rows[i].op, rows[i].a / 1e3,
                rows[i].b / 1e3, 100 * d / rows[i].a, d / 1e3, 100 * rows[i].a / base->step_ns,
                100 * rows[i].b / p->step_ns);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- the directory of outputs ------------------------------------------------ */

static char *read_all(int dir_fd, const char *name, size_t *len)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *b = NULL;
    if (fstat(fd, &st) == 0 && (b = malloc((size_t)st.st_size + 1))) {
        ssize_t got = 0, r;
        while (got < st.st_size && (r = read(fd, b + got, (size_t)(st.st_size - got))) > 0)
            got += r;
        b[got] = '\0';
        *len = (size_t)got;
    }
    close(fd);
    return b;
}

static FILE *open_in(int dir_fd, const char *name)
{
    int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    if (!f)
        close(fd);
    return f;
}

static void html_table(FILE *f, const struct profile *p)
{
    fprintf(f, "<div class=\"tw\"><table><tr><th>op</th><th>calls/step</th><th>us/step</th><th>share</th>"
               "<th>thread 0 wait</th><th>weights MB</th><th>act KB</th><th>KV KB</th><th>MFLOP</th><th>GB/s</th>"
               "<th>GFLOP/s</th><th>FLOP/byte</th><th>%% of roof</th><th>imbalance (max/mean busy)</th>");
    if (p->n_sim)
        fprintf(f, "<th>sim instructions</th><th>sim D1 misses</th><th>sim LL misses</th>");
    fprintf(f, "</tr>\n");
    const char *kinds[MAX_KINDS];
    int nk = profile_kinds(p, kinds, MAX_KINDS);
    for (int k = 0; k < nk; k++) {
        struct profile_op t;
        profile_kind_total(p, kinds[k], &t);
        char c[6][24];
        fmt_num(c[0], 24, profile_op_gbps(&t), "%.2f");
        fmt_num(c[1], 24, profile_op_gflops(&t), "%.2f");
        fmt_num(c[2], 24, profile_op_intensity(&t), "%.2f");
        fmt_num(c[3], 24, 100 * prof_roofline_fraction(p, &t), "%.0f%%");
        fmt_num(c[4], 24, strcmp(kinds[k], "dispatch") ? imbalance(p, kinds[k]) : NAN, "%.2f");
        fprintf(f, "<tr><td>%s</td><td class=r>%.1f</td><td class=r>%.1f</td><td class=r>%.1f%%</td>"
                   "<td class=r>%.1f%%</td><td class=r>%.3f</td><td class=r>%.1f</td><td class=r>%.1f</td>"
                   "<td class=r>%.3f</td><td class=r>%s</td><td class=r>%s</td><td class=r>%s</td><td class=r>%s</td>"
                   "<td class=r>%s</td>",
                kinds[k], t.calls, t.time_ns / 1e3, share(p, t.time_ns),
                t.time_ns > 0 ? 100 * t.wait_ns / t.time_ns : 0.0, t.bytes_weights / 1e6, t.bytes_act / 1e3,
                t.bytes_kv / 1e3, t.flops / 1e6, c[0], c[1], c[2], c[3], c[4]);
        if (p->n_sim) {
            int s;
            for (s = 0; s < p->n_sim && strcmp(p->sim[s].op, kinds[k]) != 0; s++)
                ;
            if (s < p->n_sim)
                fprintf(f, "<td class=r>%.0f</td><td class=r>%.0f</td><td class=r>%.0f</td>", p->sim[s].instructions,
                        p->sim[s].d1_misses, p->sim[s].ll_misses);
            else
                fprintf(f, "<td>-</td><td>-</td><td>-</td>");
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table></div>\n");
}

int prof_report_write_dir(const char *dir, const struct profile *p, const struct profile *base, char *err,
                          size_t err_len)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return err_fail(err, err_len, -1, "%s: %s", dir, strerror(errno));
    int rc = -1;
    struct prof_flame *fl = NULL;
    char *folded = NULL, *svg = NULL;
    unsigned char *png = NULL;
    size_t len;
    FILE *f = open_in(dfd, "profile.folded");
    if (!f || profile_write_folded(p, f) != 0 || fclose(f) != 0) {
        err_fail(err, err_len, -1, "%s/profile.folded: cannot write", dir);
        goto out;
    }
    if (!(folded = read_all(dfd, "profile.folded", &len))) {
        err_fail(err, err_len, -1, "%s/profile.folded: cannot read back", dir);
        goto out;
    }
    if (prof_flame_parse(folded, &fl, err, err_len) != 0)
        goto out;
    char title[256];
    snprintf(title, sizeof title, "%s, %s, %d thread%s: step > layer > operation > thread (width = thread time)",
             p->mode, p->model_desc, p->n_threads, p->n_threads == 1 ? "" : "s");
    f = open_in(dfd, "flame.svg");
    if (!f || prof_flame_svg(f, fl, title, 1160) != 0 || fclose(f) != 0) {
        err_fail(err, err_len, -1, "%s/flame.svg: cannot write", dir);
        goto out;
    }
    f = open_in(dfd, "profile.speedscope.json");
    if (!f || prof_flame_speedscope(f, fl, title) != 0 || fclose(f) != 0) {
        err_fail(err, err_len, -1, "%s/profile.speedscope.json: cannot write", dir);
        goto out;
    }
    char rerr[512] = "";
    bool have_roof = prof_roofline_write(dfd, p, rerr, sizeof rerr) == 0;
    if (have_roof)
        png = (unsigned char *)read_all(dfd, "roofline.png", &len);
    size_t png_len = png ? len : 0;
    svg = read_all(dfd, "flame.svg", &len);

    f = open_in(dfd, "report.html");
    if (!f) {
        err_fail(err, err_len, -1, "%s/report.html: %s", dir, strerror(errno));
        goto out;
    }
    html_begin(f, "ggperf profile");
    fprintf(f, "<h1>Where the time goes: ");
    html_escape(f, p->mode);
    fprintf(f, ", ");
    html_escape(f, p->model_desc);
    fprintf(f, ", %d thread%s</h1>\n<p class=\"meta\">", p->n_threads, p->n_threads == 1 ? "" : "s");
    html_escape(f, p->model_path);
    fprintf(f, " &middot; %s kernels &middot; KV %s &middot; %d steps from position %d &middot; %s</p>\n", p->isa, p->kv,
            p->n_steps, p->pos0, p->created);
    char concl[4096];
    prof_report_conclusions(p, concl, sizeof concl);
    fprintf(f, "<h2>Conclusions</h2>\n<p id=\"conclusions\">");
    html_escape(f, concl);
    fprintf(f, "</p>\n<h2>Operations (all layers, per step)</h2>\n");
    html_table(f, p);
    fprintf(f, "<p class=\"notes\">Time is thread 0's span in the op, its barrier wait included, with the measured "
               "marker cost subtracted (%.1f us per step in all; %.0f ns per marker). Bytes and FLOPs are counted "
               "from the model's shapes (harness/profile/profiler.h gives the formulas).</p>\n",
            p->overhead_ns / 1e3, p->marker_ns);
    fprintf(f, "<h2>Roofline</h2>\n<figure id=\"roofline\">");
    if (png && png_len) {
        fprintf(f, "<img alt=\"roofline\" src=\"");
        html_data_uri(f, "image/png", png, png_len);
        fprintf(f, "\">");
    } else {
        fprintf(f, "<p class=\"warn\">No roofline plot: ");
        html_escape(f, rerr);
        fprintf(f, "</p>");
    }
    fprintf(f, "<figcaption>Each point an operation kind (intensity, attained GFLOP/s); ceilings from the probe, "
               "each labelled with its source.</figcaption></figure>\n");
    fprintf(f, "<h2>Flame graph</h2>\n<figure id=\"flame\">%s<figcaption>Icicle graph: step, layer, operation, "
               "thread; width is thread time (busy and barrier wait). Hover a frame for its time. Also as "
               "profile.folded (flamegraph.pl) and profile.speedscope.json.</figcaption></figure>\n",
            svg ? svg : "<p class=\"warn\">flame.svg missing</p>");
    if (base) {
        fprintf(f, "<h2>Comparison with the baseline</h2>\n<pre>");
        char *cb = NULL;
        size_t cl = 0;
        FILE *mf = open_memstream(&cb, &cl);
        if (mf) {
            prof_report_compare(mf, p, base);
            fclose(mf);
            html_escape(f, cb);
            free(cb);
        }
        fprintf(f, "</pre>\n");
    }
    fprintf(f, "<h2>Counters</h2>\n<ul class=\"notes\"><li>sim: ");
    html_escape(f, p->sim_note);
    fprintf(f, "</li><li>hw: ");
    html_escape(f, p->hw_note);
    fprintf(f, "</li></ul>\n");
    html_end(f);
    if (fclose(f) != 0) {
        err_fail(err, err_len, -1, "%s/report.html: write failed", dir);
        goto out;
    }
    rc = 0;
out:
    free(png);
    free(svg);
    free(folded);
    prof_flame_free(fl);
    close(dfd);
    return rc;
}
