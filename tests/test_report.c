/* report suite: the exact Markdown tables of a small known input (units,
 * median ± MAD, ratio to the baseline, n/s with its reason, ~ for noisy,
 * failed repetitions), baselines, labels of several files, every plot file
 * a valid PNG / SVG with its axis labels, the HTML report shown by headless
 * Chromium with every image and no error, the output directory's manifest
 * (foreign files kept, stale plots removed, --force), and a report made
 * without gnuplot. */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results/results.h"
#include "reports/html.h"
#include "reports/import.h"
#include "reports/report.h"
#include "tests/testutil.h"

/* ---- writing results files ---------------------------------------------------- */

#define MAX_M 16

struct fake {
    json_t *header;
    json_t *samples;
};

static void fake_begin(struct fake *f, const char *workload, const struct results_axis *axes, int n_axes, int reps,
                       json_t *env, json_t *model)
{
    struct results_plan plan = { reps, 0, 0, 1, 1, false };
    f->header = results_header_new(workload, "a workload made up for the report tests", false, axes, n_axes, &plan,
                                   env, NULL, model);
    json_decref(env);
    json_decref(model);
    ck_assert_ptr_nonnull(f->header);
    f->samples = json_array();
}

static void fake_sample(struct fake *f, int config, int rep, bool ok, const char *error, const struct metric *m,
                        int nm)
{
    struct results_sample s = { config, rep, ok, error, rep * 0.1, m, nm };
    json_t *rec = results_sample_new(f->header, &s);
    ck_assert_ptr_nonnull(rec);
    json_array_append_new(f->samples, rec);
}

static void fake_write(struct fake *f, const char *path)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(import_write_jsonl(fp, f->header, f->samples), 0);
    fclose(fp);
    json_decref(f->header);
    json_decref(f->samples);
}

/* mode=a: six steady repetitions; mode=b: six spread ones and a failure;
 * faults is never supported. */
static void write_small(const char *path, const char *engine)
{
    static const char *const modes[] = { "a", "b" };
    struct results_axis axes[] = { { "mode", 2, modes } };
    struct fake f;
    fake_begin(&f, "small", axes, 1, 6, engine ? json_pack("{s:s}", "engine", engine) : NULL, NULL);
    static const double a[] = { 1000, 1001, 999, 1000, 1002, 998 }, b[] = { 2000, 2600, 1500, 2100, 1900, 2500 };
    for (int rep = 0; rep < 6; rep++)
        for (int c = 0; c < 2; c++) {
            struct metric m[3] = { tu_metric("t_ns", "ns", METRIC_SRC_TIME, c ? b[rep] : a[rep]),
                                   tu_metric("rss_bytes", "bytes", METRIC_SRC_SW, 3 * 1048576.0),
                                   tu_metric_unsup("faults", "count", METRIC_SRC_SW, "no PMU in this VM") };
            fake_sample(&f, c, rep, true, NULL, m, 3);
        }
    fake_sample(&f, 1, 6, false, "boom", NULL, 0);
    fake_write(&f, path);
}

static const char small_md[] =
    "## small — a workload made up for the report tests\n"
    "\n"
    "6 repetitions\n"
    "\n"
    "| mode | reps | t (µs) · time | ÷ base | faults · sw |\n"
    "|:--|--:|--:|--:|--:|\n"
    "| **a** | 6 | 1.000 ± 0.001 | 1.00× | n/s [1] |\n"
    "| b | 6/7 [2] | ~2.0 ± 0.3 | 2.05× | n/s [1] |\n"
    "\n"
    "Same in every row: rss 3 MiB (sw).\n"
    "\n"
    "Cells: median ± MAD over the successful repetitions; ÷ base: t as a ratio to the baseline row (**mode=a**).\n"
    "\n"
    "~ spread too wide to trust (1 cell):\n"
    "- MAD is 14.6% of the median (limit 5.0%) (1 cell)\n"
    "\n"
    "[1] faults: not supported: no PMU in this VM  \n"
    "[2] mode=b: 1 of 7 repetitions failed: boom  \n"
    "\n";

static char *tables_md(const char *const *paths, int n, const char *baseline, int expect_rc)
{
    struct report *r;
    char err[512];
    int rc = report_open(&r, paths, n, baseline, err, sizeof err);
    ck_assert_msg(rc == expect_rc, "report_open: %d (%s)", rc, err);
    if (rc != 0)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(report_write_tables_md(r, f), 0);
    fclose(f);
    report_free(r);
    return buf;
}

START_TEST(test_md_exact)
{
    char path[512];
    snprintf(path, sizeof path, "%s/small.jsonl", tu_tmpdir());
    write_small(path, NULL);
    const char *paths[] = { path };
    char *md = tables_md(paths, 1, NULL, 0);
    ck_assert_msg(strcmp(md, small_md) == 0, "got:\n%s\nexpected:\n%s", md, small_md);
    free(md);
}
END_TEST

START_TEST(test_baseline)
{
    char path[512];
    snprintf(path, sizeof path, "%s/small.jsonl", tu_tmpdir());
    write_small(path, NULL);
    const char *paths[] = { path };
    char *md = tables_md(paths, 1, "mode=b", 0);
    ck_assert_ptr_nonnull(strstr(md, "| a | 6 | 1.000 ± 0.001 | 0.49× |"));
    ck_assert_ptr_nonnull(strstr(md, "| **b** | 6/7 [2] | ~2.0 ± 0.3 | 1.00× |"));
    ck_assert_ptr_nonnull(strstr(md, "(**mode=b**)"));
    free(md);
    ck_assert_ptr_null(tables_md(paths, 1, "mode=c", REPORT_EUSAGE));
    ck_assert_ptr_null(tables_md(paths, 1, "load=mmap", REPORT_EUSAGE));
    ck_assert_ptr_null(tables_md(paths, 1, "mode", REPORT_EUSAGE));
    /* through the CLI: a usage error */
    char cmd[1024], err[512];
    snprintf(cmd, sizeof cmd, "%s report %s -o %s/r --baseline mode=zzz --no-plots", tu_ggperf_bin(), path,
             tu_tmpdir());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "mode=zzz"));
}
END_TEST

/* Two files of one workload: a label column from the field that differs. */
START_TEST(test_several_files)
{
    const char *dir = tu_tmpdir();
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/one.jsonl", dir);
    snprintf(p2, sizeof p2, "%s/two.jsonl", dir);
    write_small(p1, "llama.cpp");
    write_small(p2, "ggperf");
    const char *paths[] = { p1, p2 };
    char *md = tables_md(paths, 2, "engine=ggperf,mode=a", 0);
    ck_assert_ptr_nonnull(strstr(md, "| engine | mode | reps |"));
    ck_assert_ptr_nonnull(strstr(md, "| llama.cpp | a | 6 | 1.000 ± 0.001 | 1.00× |"));
    ck_assert_ptr_nonnull(strstr(md, "| **ggperf** | a | 6 |"));
    ck_assert_ptr_nonnull(strstr(md, "- **llama.cpp** (one.jsonl)"));
    free(md);
}
END_TEST

/* ---- the full report ------------------------------------------------------------ */

static json_t *env_of(const char *cpu)
{
    return json_pack("{s:s, s:{s:s, s:s, s:i}, s:{s:s}}", "hostname", "testhost", "cpu", "brand", cpu, "model_name",
                     cpu, "online", 2, "build", "commit", "abc123");
}

static json_t *model_of(void)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "path", "/models/tiny-Q8_0.gguf", "architecture", "llama",
                     "size_bytes", (json_int_t)143337184, "n_params", (json_int_t)134105856);
}

/* threads × pin × wait with tokens/s, token and wake-up percentiles, the
 * per-configuration STREAM peak and bytes per token. */
static void write_threads(const char *path)
{
    static const char *const thr[] = { "1", "2", "4" }, *const pin[] = { "off", "on" },
                             *const wait[] = { "spin", "futex" };
    struct results_axis axes[] = { { "threads", 3, thr }, { "pin", 2, pin }, { "wait", 2, wait } };
    struct fake f;
    fake_begin(&f, "threads", axes, 3, 3, env_of("Test CPU 9000"), model_of());
    for (int c = 0; c < 12; c++) {
        int t = 1 << (c / 4), p = (c / 2) % 2, w = c % 2;
        for (int rep = 0; rep < 3; rep++) {
            double tps = 10.0 * (t > 2 ? 2.2 : t) * (w ? 0.9 : 1.0) * (1 + 0.01 * rep) + p;
            double wake = 2000.0 * (w ? 10 : 1) * (1 + 0.05 * rep);
            struct metric m[] = {
                tu_metric("tokens_per_s", "tok/s", METRIC_SRC_TIME, tps),
                tu_metric("token_p50_ns", "ns", METRIC_SRC_TIME, 1e9 / tps),
                tu_metric("token_p95_ns", "ns", METRIC_SRC_TIME, 1.2e9 / tps),
                tu_metric("token_p99_ns", "ns", METRIC_SRC_TIME, 1.5e9 / tps),
                tu_metric("token_max_ns", "ns", METRIC_SRC_TIME, 3e9 / tps),
                tu_metric("wakeup_latency_p50_ns", "ns", METRIC_SRC_SCHED, wake),
                tu_metric("wakeup_latency_p95_ns", "ns", METRIC_SRC_SCHED, wake * 4),
                tu_metric("wakeup_latency_p99_ns", "ns", METRIC_SRC_SCHED, wake * 9),
                tu_metric("decode_bytes_per_token", "bytes", METRIC_SRC_DERIVED, 143e6),
                tu_metric("peak_triad_gbps", "GB/s", METRIC_SRC_DERIVED, 5.0 * (t > 2 ? 2 : t)),
                tu_metric("context_switches", "count", METRIC_SRC_SW, 10.0 * t * (w + 1) + rep),
                tu_metric_unsup("cpu_migrations", "count", METRIC_SRC_SW, "perf_event_open: EACCES"),
            };
            fake_sample(&f, c, rep, true, NULL, m, (int)(sizeof m / sizeof m[0]));
        }
    }
    fake_write(&f, path);
}

/* load strategies × cache with the phases. */
static void write_load(const char *path)
{
    static const char *const load[] = { "read", "mmap", "populate" }, *const cache[] = { "cold", "warm" };
    struct results_axis axes[] = { { "load", 3, load }, { "cache", 2, cache } };
    struct fake f;
    fake_begin(&f, "load", axes, 2, 3, env_of("Test CPU 9000"), model_of());
    for (int c = 0; c < 6; c++) {
        double k = (c % 2 ? 0.1 : 1.0) * (1 + c / 2);
        for (int rep = 0; rep < 3; rep++) {
            struct metric m[] = {
                tu_metric("open_ns", "ns", METRIC_SRC_TIME, 6000 + rep),
                tu_metric("map_read_ns", "ns", METRIC_SRC_TIME, c / 2 == 1 ? 3000 : 80e6 * k),
                tu_metric("parse_ns", "ns", METRIC_SRC_TIME, 250e3),
                tu_metric("touch_ns", "ns", METRIC_SRC_TIME, c / 2 == 1 ? 70e6 * k : 1e6),
                tu_metric("ready_ns", "ns", METRIC_SRC_TIME, 90e6 * k + rep * 1e5),
                c == 0 ? tu_metric_unsup("first_token_ns", "ns", METRIC_SRC_TIME, "engine: no model")
                       : tu_metric("first_token_ns", "ns", METRIC_SRC_TIME, 50e6),
                tu_metric("minor_faults", "count", METRIC_SRC_SW, c / 2 == 0 ? 35000 : 480),
                tu_metric("rss_anon_delta_bytes", "bytes", METRIC_SRC_SW, c / 2 == 0 ? 137 * 1048576.0 : 0),
            };
            fake_sample(&f, c, rep, true, NULL, m, (int)(sizeof m / sizeof m[0]));
        }
    }
    fake_write(&f, path);
}

/* alignment × layout with time and (simulated) L1d misses. */
static void write_contention(const char *path)
{
    static const char *const align[] = { "0", "1", "8", "32" }, *const layout[] = { "packed", "padded" };
    struct results_axis axes[] = { { "align", 4, align }, { "layout", 2, layout } };
    struct fake f;
    fake_begin(&f, "contention", axes, 2, 3, env_of("Test CPU 9000"), NULL);
    for (int c = 0; c < 8; c++)
        for (int rep = 0; rep < 3; rep++) {
            double a = atof(align[c / 2]);
            struct metric m[] = {
                tu_metric("ns_per_1024_rows", "ns", METRIC_SRC_TIME, 50000 + 300 * a + (c % 2 ? 0 : 8000) + rep),
                tu_metric("l1d_misses_per_1024_rows", "count", METRIC_SRC_SIM, 4000 + 40 * a + (c % 2 ? 0 : 900)),
            };
            fake_sample(&f, c, rep, true, NULL, m, 2);
        }
    fake_write(&f, path);
}

/* Reads a whole file; NULL when missing. */
static unsigned char *slurp(const char *dir, const char *name, size_t *len)
{
    char p[2048];
    snprintf(p, sizeof p, "%.1000s/%.1000s", dir, name);
    return tu_read_file(p, len);
}

static unsigned be32(const unsigned char *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

/* A PNG: signature, an IHDR with both sizes > 0, more than 2 KB. */
static void check_png(const char *dir, const char *stem)
{
    char name[256];
    snprintf(name, sizeof name, "%.200s.png", stem);
    size_t len;
    unsigned char *d = slurp(dir, name, &len);
    ck_assert_msg(d != NULL, "%s missing", name);
    ck_assert_msg(len > 2048, "%s: only %zu bytes", name, len);
    ck_assert_msg(memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0, "%s: no PNG signature", name);
    ck_assert_msg(memcmp(d + 12, "IHDR", 4) == 0, "%s: no IHDR", name);
    ck_assert_msg(be32(d + 16) > 0 && be32(d + 20) > 0, "%s: %ux%u", name, be32(d + 16), be32(d + 20));
    free(d);
}

/* An SVG: an XML/SVG start, drawn paths, and the axis labels of the .gp. */
static void check_svg(const char *dir, const char *stem)
{
    char name[256];
    snprintf(name, sizeof name, "%.200s.svg", stem);
    size_t len;
    char *d = (char *)slurp(dir, name, &len);
    ck_assert_msg(d != NULL, "%s missing", name);
    ck_assert_msg(strncmp(d, "<?xml", 5) == 0 || strncmp(d, "<svg", 4) == 0, "%s: not SVG", name);
    ck_assert_msg(strstr(d, "<path") || strstr(d, "<polyline"), "%s: nothing drawn", name);
    ck_assert_msg(strstr(d, "</svg>") != NULL, "%s: truncated", name);
    /* the labels the script sets appear as text */
    snprintf(name, sizeof name, "%.200s.gp", stem);
    char *gp = (char *)slurp(dir, name, &len);
    ck_assert_ptr_nonnull(gp);
    static const char *const keys[] = { "set xlabel \"", "set ylabel \"" };
    for (int k = 0; k < 2; k++) {
        char *p = strstr(gp, keys[k]);
        ck_assert_ptr_nonnull(p);
        p += strlen(keys[k]);
        char label[128];
        size_t n = strcspn(p, "\"(&<>'");
        if (n >= sizeof label)
            n = sizeof label - 1;
        memcpy(label, p, n);
        label[n] = '\0';
        while (n > 0 && label[n - 1] == ' ')
            label[--n] = '\0';
        ck_assert_msg(n == 0 || strstr(d, label) != NULL, "%s.svg lacks the axis label '%s'", stem, label);
    }
    ck_assert_msg(strstr(gp, ".dat\"") != NULL, "%s.gp does not read its data file", stem);
    free(gp);
    free(d);
}

/* The plots a report directory holds, from its manifest. */
static int plot_stems(const char *dir, char stems[][96], int max)
{
    size_t len;
    char *m = (char *)slurp(dir, ".ggperf-report", &len);
    ck_assert_ptr_nonnull(m);
    int n = 0;
    for (char *save = NULL, *line = strtok_r(m, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        if (l > 3 && strcmp(line + l - 3, ".gp") == 0 && n < max) {
            snprintf(stems[n], 96, "%.*s", (int)(l - 3), line);
            n++;
        }
    }
    free(m);
    return n;
}

static bool has_stem(char stems[][96], int n, const char *want)
{
    for (int i = 0; i < n; i++)
        if (strncmp(stems[i], want, strlen(want)) == 0)
            return true;
    return false;
}

START_TEST(test_full_report)
{
    const char *dir = tu_tmpdir();
    char p[3][512], out[1024], cmd[4096], sout[1024], serr[4096];
    snprintf(p[0], sizeof p[0], "%s/threads.jsonl", dir);
    snprintf(p[1], sizeof p[1], "%s/load.jsonl", dir);
    snprintf(p[2], sizeof p[2], "%s/contention.jsonl", dir);
    write_threads(p[0]);
    write_load(p[1]);
    write_contention(p[2]);
    snprintf(out, sizeof out, "%s/rep", dir);
    /* the measured probe: the one roofline of every plot */
    char probe[600];
    snprintf(probe, sizeof probe, "%s/probe.json", dir);
    static const char probe_json[] = "{\"bandwidth\":{\"peak_triad_gbps\":{\"status\":\"ok\",\"value\":20.5}}}";
    ck_assert_int_eq(tu_write_file(probe, probe_json, sizeof probe_json - 1), 0);
    snprintf(cmd, sizeof cmd,
             "%s report %s %s %s -o %s --baseline load=mmap,cache=warm --probe %s "
             "--compare 'ready_ns: load=mmap vs read per cache; tokens_per_s: pin=on vs off at threads=1,wait=spin'",
             tu_ggperf_bin(), p[0], p[1], p[2], out, probe);
    int rc = tu_run(cmd, sout, sizeof sout, serr, sizeof serr);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, serr);
    /* stdout: where the report is */
    char want[1100];
    snprintf(want, sizeof want, "%s/report.html\n", out);
    ck_assert_str_eq(sout, want);

    char stems[64][96];
    int n = plot_stems(out, stems, 64);
    ck_assert_msg(n >= 8, "only %d plots", n);
    ck_assert(has_stem(stems, n, "threads-tokens-per-s-vs-threads"));
    ck_assert(has_stem(stems, n, "threads-wakeup-latency-cdf"));
    ck_assert(has_stem(stems, n, "threads-token-percentiles"));
    ck_assert(has_stem(stems, n, "load-phases"));
    ck_assert(has_stem(stems, n, "contention-ns-per-1024-rows-vs-align"));
    ck_assert(has_stem(stems, n, "contention-l1d-misses-per-1024-rows-vs-align"));
    for (int i = 0; i < n; i++) {
        check_png(out, stems[i]);
        check_svg(out, stems[i]);
    }
    /* the roofline is drawn from the probe, its source named */
    size_t len;
    char *gp = (char *)slurp(out, "threads-tokens-per-s-vs-threads.gp", &len);
    ck_assert_ptr_nonnull(gp);
    ck_assert_ptr_nonnull(strstr(gp, "roofline: 20.5 GB/s"));
    ck_assert_ptr_nonnull(strstr(gp, "threads"));
    free(gp);
    char *md = (char *)slurp(out, "report.md", &len);
    ck_assert_ptr_nonnull(md);
    ck_assert_ptr_nonnull(strstr(md, "| load | cache | reps | ready (open to touched) (ms) · time | ÷ base |"));
    ck_assert_ptr_nonnull(strstr(md, "(**load=mmap cache=warm**)"));
    ck_assert_ptr_nonnull(strstr(md, "cpu migrations · sw |"));
    ck_assert_ptr_nonnull(strstr(md, "cpu_migrations: not supported: perf_event_open: EACCES"));
    ck_assert_ptr_nonnull(strstr(md, "first_token_ns: not supported: engine: no model"));
    ck_assert_ptr_nonnull(strstr(md, "tiny-Q8_0.gguf"));
    ck_assert_ptr_nonnull(strstr(md, "Test CPU 9000"));
    ck_assert_ptr_nonnull(strstr(md, "![load time by phase"));
    /* unsupported is never printed as a number */
    ck_assert_ptr_null(strstr(md, "| 0 ± 0 | n/s"));
    free(md);

    char html_path[1100];
    snprintf(html_path, sizeof html_path, "%s/report.html", out);
    char *html = tu_read_file(html_path, &len);
    ck_assert_ptr_nonnull(html);
    int imgs = 0;
    for (char *q = html; (q = strstr(q, "<img ")); q++)
        imgs++;
    ck_assert_int_eq(imgs, n);
    ck_assert_ptr_null(strstr(html, "src=\"http"));
    ck_assert_ptr_null(strstr(html, "src=\"file"));
    free(html);
    char body[1024];
    if (tu_chromium_body(html_path, body, sizeof body)) {
        ck_assert_msg(strstr(body, "data-check=\"done\""), "the page's check did not run: %s", body);
        ck_assert_int_eq(tu_body_attr_int(body, "data-images-total"), n);
        ck_assert_int_eq(tu_body_attr_int(body, "data-images-ok"), n);
        ck_assert_msg(strstr(body, "data-errors=\"\""), "errors on the page: %s", body);
        /* every plot and every conclusion laid out with a size, conclusions
         * before plots before tables */
        ck_assert_int_eq(tu_body_attr_int(body, "data-plots-visible"), n);
        ck_assert_int_eq(tu_body_attr_int(body, "data-conclusions"), 3);
        ck_assert_int_eq(tu_body_attr_int(body, "data-conclusions-visible"), 3);
        ck_assert_int_eq(tu_body_attr_int(body, "data-order-ok"), 1);
    }
}
END_TEST

/* Three configurations of eight repetitions: b drawn like a, c like a
 * shifted by 1.5x. The report concludes "no difference" for b and an
 * effect with its CI and p for c. */
static void write_conclusive(const char *path)
{
    static const char *const modes[] = { "a", "b", "c" };
    struct results_axis axes[] = { { "mode", 3, modes } };
    struct fake f;
    fake_begin(&f, "concl", axes, 1, 8, NULL, NULL);
    json_object_set_new(f.header, "study",
                        json_pack("{s:s, s:[s]}", "question", "Does mode c change t?", "compare",
                                  "t_ns: mode=c vs a"));
    static const double noise[3][8] = { { 1.00, 1.03, 0.98, 1.01, 0.97, 1.02, 0.99, 1.04 },
                                        { 1.01, 0.99, 1.03, 0.97, 1.02, 0.98, 1.00, 1.04 },
                                        { 0.99, 1.02, 1.00, 0.98, 1.03, 0.97, 1.01, 1.04 } };
    for (int rep = 0; rep < 8; rep++)
        for (int c = 0; c < 3; c++) {
            struct metric m[1] = { tu_metric("t_ns", "ns", METRIC_SRC_TIME,
                                             1e6 * noise[c][rep] * (c == 2 ? 1.5 : 1.0)) };
            fake_sample(&f, c, rep, true, NULL, m, 1);
        }
    fake_write(&f, path);
}

START_TEST(test_conclusions)
{
    const char *dir = tu_tmpdir();
    char path[512], out[600];
    snprintf(path, sizeof path, "%s/concl.jsonl", dir);
    snprintf(out, sizeof out, "%s/rep", dir);
    write_conclusive(path);
    const char *paths[] = { path };
    struct report_opts o = { .out_dir = out, .no_plots = true, .compare = "t_ns: mode=b vs a" };
    struct report_summary sum;
    char err[512];
    ck_assert_msg(report_write(paths, 1, &o, &sum, err, sizeof err) == 0, "%s", err);
    size_t len;
    char *md = (char *)slurp(out, "report.md", &len);
    ck_assert_ptr_nonnull(md);
    /* the report opens with the answers, the declared one first */
    static const char head[] = "# ggperf report\n\n## Conclusions\n\n*Does mode c change t?*\n\n";
    ck_assert_msg(strncmp(md, head, strlen(head)) == 0, "%s", md);
    const char *c = strstr(md, "- **concl — t: mode=c 1.51 ms vs mode=a 1.00 ms**: 1.50× more (worse) (95.0% CI 1.46× to 1.55×");
    ck_assert_msg(c != NULL, "%s", md);
    ck_assert_ptr_nonnull(strstr(c, "p < 0.001; n = 8 vs 8)"));
    const char *b = strstr(md, "- **concl — t: mode=b 1.00 ms vs mode=a 1.00 ms**: no difference detected (smallest detectable ");
    ck_assert_msg(b != NULL, "%s", md);
    ck_assert_ptr_nonnull(strstr(b, "%) (p = "));
    ck_assert(strstr(md, "## Conclusions") < strstr(md, "## concl"));
    /* the ratio column says which ratios the test supports */
    ck_assert_ptr_nonnull(strstr(md, "| c | 8 | 1.51 ± 0.03 | 1.50× |"));
    ck_assert_ptr_nonnull(strstr(md, "| b | 8 | 1.00 ± 0.02 | 1.00× n.s. |"));
    free(md);
    /* the study's own comparison given again is no error and no second line */
    o.compare = "t_ns: mode=c vs a";
    ck_assert_msg(report_write(paths, 1, &o, &sum, err, sizeof err) == 0, "%s", err);
    md = (char *)slurp(out, "report.md", &len);
    const char *first = strstr(md, "t: mode=c 1.51 ms");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "t: mode=c 1.51 ms"));
    free(md);
    /* a comparison that names nothing in the results is a usage error */
    o.compare = "t_ns: mode=z vs a";
    ck_assert_int_eq(report_write(paths, 1, &o, &sum, err, sizeof err), REPORT_EUSAGE);
    ck_assert_ptr_nonnull(strstr(err, "mode=z"));
    o.compare = "t_ns mode=b vs a";
    ck_assert_int_eq(report_write(paths, 1, &o, &sum, err, sizeof err), REPORT_EUSAGE);
}
END_TEST

/* The check in the page does see a broken image and a script error. */
START_TEST(test_html_check_detects_failures)
{
    const char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/bad.html", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    html_begin(f, "broken <on purpose>");
    static const unsigned char junk[] = "definitely not a PNG";
    fputs("<img alt=\"broken\" src=\"", f);
    html_data_uri(f, "image/png", junk, sizeof junk);
    fputs("\">\n<img alt=\"remote\" src=\"http://example.invalid/x.png\">\n", f);
    fputs("<script>undefined_function_of_the_test();</script>\n", f);
    html_end(f);
    fclose(f);
    char body[2048];
    if (!tu_chromium_body(path, body, sizeof body))
        return;
    ck_assert_int_eq(tu_body_attr_int(body, "data-images-total"), 2);
    ck_assert_int_eq(tu_body_attr_int(body, "data-images-ok"), 0);
    ck_assert_msg(strstr(body, "undefined_function_of_the_test"), "script error not recorded: %s", body);
    ck_assert_msg(strstr(body, "CSP") || strstr(body, "remote"), "blocked remote image not recorded: %s", body);
}
END_TEST

static bool exists(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

START_TEST(test_output_dir_safety)
{
    const char *dir = tu_tmpdir();
    char small[512], load[512], out[512], cmd[4096], err[2048];
    snprintf(small, sizeof small, "%s/small.jsonl", dir);
    snprintf(load, sizeof load, "%s/load.jsonl", dir);
    write_small(small, NULL);
    write_load(load);
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_eq(mkdir(out, 0755), 0);
    char foreign[600], notes[600];
    snprintf(foreign, sizeof foreign, "%s/report.md", out);
    snprintf(notes, sizeof notes, "%s/notes.txt", out);
    ck_assert_int_eq(tu_write_file(foreign, "mine\n", 5), 0);
    ck_assert_int_eq(tu_write_file(notes, "keep\n", 5), 0);

    /* a report.md ggperf did not write: refused, nothing touched */
    snprintf(cmd, sizeof cmd, "%s report %s %s -o %s", tu_ggperf_bin(), small, load, out);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "report.md"));
    ck_assert_ptr_nonnull(strstr(err, "--force"));
    ck_assert(!exists(out, "report.html") && !exists(out, ".ggperf-report"));
    size_t len;
    char *t = tu_read_file(foreign, &len);
    ck_assert(t && len == 5 && memcmp(t, "mine\n", 5) == 0);
    free(t);

    /* --force replaces it; the unrelated file stays */
    snprintf(cmd, sizeof cmd, "%s report %s %s -o %s --force", tu_ggperf_bin(), small, load, out);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 0);
    ck_assert(exists(out, "report.html") && exists(out, "load-phases.png") && exists(out, "notes.txt"));

    /* again without --force: its own files are replaced */
    snprintf(cmd, sizeof cmd, "%s report %s %s -o %s", tu_ggperf_bin(), small, load, out);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 0);

    /* a smaller report removes the plots it no longer has, only those */
    snprintf(cmd, sizeof cmd, "%s report %s -o %s --no-plots", tu_ggperf_bin(), small, out);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 0);
    ck_assert(!exists(out, "load-phases.png") && !exists(out, "load-phases.gp"));
    ck_assert(exists(out, "report.md") && exists(out, "notes.txt"));
    char *m = (char *)slurp(out, ".ggperf-report", &len);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(strstr(m, "load-phases"));
    ck_assert_ptr_null(strstr(m, "notes.txt"));
    free(m);

    /* a plot file someone else put where a plot goes: refused */
    char squat[600];
    snprintf(squat, sizeof squat, "%s/load-phases.png", out);
    ck_assert_int_eq(tu_write_file(squat, "x", 1), 0);
    snprintf(cmd, sizeof cmd, "%s report %s %s -o %s", tu_ggperf_bin(), small, load, out);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "load-phases.png"));

    /* the output's parent must exist; a file is not a directory */
    snprintf(cmd, sizeof cmd, "%s report %s -o %s/no/such/dir", tu_ggperf_bin(), small, dir);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    snprintf(cmd, sizeof cmd, "%s report %s -o %s", tu_ggperf_bin(), small, notes);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "not a directory"));
}
END_TEST

START_TEST(test_without_gnuplot_and_bad_inputs)
{
    const char *dir = tu_tmpdir();
    char load[512], out[512], cmd[4096], sout[1024], err[2048];
    snprintf(load, sizeof load, "%s/load.jsonl", dir);
    write_load(load);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(cmd, sizeof cmd, "GGPERF_GNUPLOT=/nonexistent/gnuplot %s report %s -o %s", tu_ggperf_bin(), load, out);
    ck_assert_int_eq(tu_run(cmd, sout, sizeof sout, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "not found"));
    ck_assert(exists(out, "load-phases.gp") && exists(out, "load-phases.dat") && !exists(out, "load-phases.png"));
    size_t len;
    char *md = (char *)slurp(out, "report.md", &len);
    ck_assert_ptr_nonnull(strstr(md, "not drawn"));
    free(md);

    /* inputs: missing, not results, usage */
    snprintf(cmd, sizeof cmd, "%s report %s/missing.json -o %s/o2", tu_ggperf_bin(), dir, dir);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "missing.json"));
    char junk[600];
    snprintf(junk, sizeof junk, "%s/junk.json", dir);
    ck_assert_int_eq(tu_write_file(junk, "{\"a\": 1}\n", 9), 0);
    snprintf(cmd, sizeof cmd, "%s report %s -o %s/o3", tu_ggperf_bin(), junk, dir);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "junk.json"));
    snprintf(cmd, sizeof cmd, "%s report", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 2);
    snprintf(cmd, sizeof cmd, "%s report --help", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, sout, sizeof sout, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(sout, "usage: ggperf report"));
    snprintf(cmd, sizeof cmd, "%s report %s --frobnicate", tu_ggperf_bin(), load);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, NULL, 0), 2);
}
END_TEST

/* llama-bench beside ggperf bench: one table, rows labelled by engine,
 * the roofline from --probe. */
START_TEST(test_imported_side_by_side)
{
    static const char lb[] =
        "[{\"build_commit\": \"8cf427ff\", \"cpu_info\": \"Test CPU 9000\", \"model_filename\": \"m.gguf\","
        " \"model_size\": 143337184, \"n_threads\": 1, \"n_prompt\": 0, \"n_gen\": 16,"
        " \"samples_ts\": [20.0, 20.5, 19.5]},"
        " {\"build_commit\": \"8cf427ff\", \"cpu_info\": \"Test CPU 9000\", \"model_filename\": \"m.gguf\","
        " \"model_size\": 143337184, \"n_threads\": 2, \"n_prompt\": 0, \"n_gen\": 16,"
        " \"samples_ts\": [35.0, 35.5, 34.5]}]";
    static const char gg[] =
        "[{\"model\": \"m.gguf\", \"kernels\": \"avx2\", \"test\": \"tg16\", \"threads\": 1, \"n_tokens\": 16,"
        " \"samples\": [15.0, 15.5, 14.5], \"bytes_per_token\": 143337184},"
        " {\"model\": \"m.gguf\", \"kernels\": \"avx2\", \"test\": \"tg16\", \"threads\": 2, \"n_tokens\": 16,"
        " \"samples\": [25.0, 25.5, 24.5], \"bytes_per_token\": 143337184}]";
    static const char probe[] =
        "{\"cpu_model\": \"Test CPU 9000\", \"bandwidth\": {\"peak_triad_gbps\": {\"name\": \"peak_triad_gbps\","
        " \"unit\": \"GB/s\", \"source\": \"derived\", \"status\": \"ok\", \"value\": 14.3}}}";
    const char *dir = tu_tmpdir();
    char in1[512], in2[512], pr[512], r1[512], r2[512], out[512], cmd[4096], err[2048];
    snprintf(in1, sizeof in1, "%s/lb.json", dir);
    snprintf(in2, sizeof in2, "%s/gg.json", dir);
    snprintf(pr, sizeof pr, "%s/probe.json", dir);
    snprintf(r1, sizeof r1, "%s/lb.res.json", dir);
    snprintf(r2, sizeof r2, "%s/gg.res.json", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_eq(tu_write_file(in1, lb, strlen(lb)), 0);
    ck_assert_int_eq(tu_write_file(in2, gg, strlen(gg)), 0);
    ck_assert_int_eq(tu_write_file(pr, probe, strlen(probe)), 0);
    size_t n;
    ck_assert_int_eq(import_file(IMPORT_LLAMA_BENCH, in1, r1, false, &n, err, sizeof err), 0);
    ck_assert_int_eq(import_file(IMPORT_GGPERF_BENCH, in2, r2, false, &n, err, sizeof err), 0);
    snprintf(cmd, sizeof cmd, "%s report %s %s -o %s --probe %s --baseline engine=llama.cpp,threads=1",
             tu_ggperf_bin(), r1, r2, out, pr);
    int rc = tu_run(cmd, NULL, 0, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    size_t len;
    char *md = (char *)slurp(out, "report.md", &len);
    ck_assert_ptr_nonnull(md);
    ck_assert_ptr_nonnull(strstr(md, "| engine | threads | reps | tokens/s (tok/s) · time | ÷ base |"));
    ck_assert_ptr_nonnull(strstr(md, "| **llama.cpp** | 1 | 3 | ~20.0 ± 0.5 | 1.00× |"));
    ck_assert_ptr_nonnull(strstr(md, "| ggperf | 1 | 3 | ~15.0 ± 0.5 | 0.75× n.s. |"));
    free(md);
    char *gp = (char *)slurp(out, "bench-tokens-per-s-vs-threads.gp", &len);
    ck_assert_ptr_nonnull(gp);
    ck_assert_ptr_nonnull(strstr(gp, "title \"llama.cpp\""));
    ck_assert_ptr_nonnull(strstr(gp, "title \"ggperf\""));
    /* 14.3 GB/s / 143337184 bytes = 99.8 tok/s */
    ck_assert_ptr_nonnull(strstr(gp, "= 99.8 tok/s"));
    free(gp);
    check_png(out, "bench-tokens-per-s-vs-threads");
    /* two files of one workload: the A-vs-B view, lines and a plot of the ratios */
    check_png(out, "bench-tokens-per-s-ratio");
    check_svg(out, "bench-tokens-per-s-ratio");
    md = (char *)slurp(out, "report.md", &len);
    ck_assert_ptr_nonnull(strstr(md, "- **bench, threads=1 — tokens/s: ggperf 15 tok/s vs llama.cpp 20 tok/s**: too few "
                                     "repetitions to tell (n = 3 vs 3: the smallest possible p is 0.1)"));
    free(md);
}
END_TEST

Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_md_exact);
    tcase_add_test(tc, test_conclusions);
    tcase_add_test(tc, test_baseline);
    tcase_add_test(tc, test_several_files);
    tcase_add_test(tc, test_full_report);
    tcase_add_test(tc, test_html_check_detects_failures);
    tcase_add_test(tc, test_output_dir_safety);
    tcase_add_test(tc, test_without_gnuplot_and_bad_inputs);
    tcase_add_test(tc, test_imported_side_by_side);
    suite_add_tcase(s, tc);
    return s;
}
