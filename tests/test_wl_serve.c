/* wl_serve suite: the serve workload through `ggperf run` on a golden
 * model, both routes: every request succeeds, throughput and latency
 * figures are there and positive, the figures the HTTP route cannot see
 * are unsupported with a reason (never 0), and the token count adds up;
 * and `ggperf study serve` ending in its conclusion lines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

/* The CSV line of route/metric; copies it into line. */
static bool find_row(const char *csv, const char *route, const char *metric, char *line, size_t len)
{
    char key[128];
    snprintf(key, sizeof key, ",%s,", route);
    for (const char *p = csv; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n < len) {
            memcpy(line, p, n);
            line[n] = '\0';
            char m[128];
            snprintf(m, sizeof m, ",%s,", metric);
            if (strstr(line, key) && strstr(line, m))
                return true;
        }
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* Column idx (0-based) of a CSV line as a string (static buffer). */
static const char *col(const char *line, int idx)
{
    static char v[256];
    const char *p = line;
    for (int i = 0; i < idx && p; i++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p)
        return "";
    size_t n = strcspn(p, ",");
    snprintf(v, sizeof v, "%.*s", (int)(n < sizeof v ? n : sizeof v - 1), p);
    return v;
}

START_TEST(test_serve_workload_routes)
{
    static char out[1 << 20];
    char cmd[4096], err[4096], path[1024], line[2048];
    snprintf(cmd, sizeof cmd,
             "%s run serve -m %s --route inproc,http --load 3 --slots 2 --threads 1 --requests 6 --prompt 4 --gen 5 "
             "-r 1 --warmup 0 -o csv --stream %s/s.jsonl",
             tu_ggperf_bin(), tu_golden_path(path, sizeof path, "shared-Q4_0.gguf"), tu_tmpdir());
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    /* columns: config,route,mode,load,slots,threads,alloc,prompt,gen,requests,metric,unit,source,status,n,n_failed,median */
    const char *routes[] = { "inproc", "http" };
    for (int r = 0; r < 2; r++) {
        ck_assert_msg(find_row(out, routes[r], "requests_ok", line, sizeof line), "%s: no requests_ok", routes[r]);
        ck_assert_str_eq(col(line, 13), "ok");
        ck_assert_int_eq(atoi(col(line, 16)), 6);
        ck_assert(find_row(out, routes[r], "requests_failed", line, sizeof line));
        ck_assert_int_eq(atoi(col(line, 16)), 0);
        ck_assert(find_row(out, routes[r], "tokens_per_s", line, sizeof line));
        double tps = atof(col(line, 16));
        ck_assert(find_row(out, routes[r], "qps", line, sizeof line));
        double qps = atof(col(line, 16));
        ck_assert_msg(qps > 0 && tps > 0, "%s: qps %g tokens/s %g", routes[r], qps, tps);
        /* 5 tokens per request: tokens/s = 5 x qps (same wall clock) */
        ck_assert_msg(tps > 4.99 * qps && tps < 5.01 * qps, "%s: tokens/s %g is not 5 x qps %g", routes[r], tps, qps);
        static const char *const lat[] = { "ttft_p50_ns", "ttft_max_ns", "itl_p95_ns", "e2e_max_ns", "rss_peak_bytes" };
        for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++) {
            ck_assert_msg(find_row(out, routes[r], lat[i], line, sizeof line), "%s: no %s", routes[r], lat[i]);
            ck_assert_msg(!strcmp(col(line, 13), "ok") && atof(col(line, 16)) > 0, "%s %s: %s", routes[r], lat[i], line);
        }
        /* 6 requests cannot support a p99: reported unsupported, not as the max */
        ck_assert(find_row(out, routes[r], "e2e_p99_ns", line, sizeof line));
        ck_assert_msg(!strcmp(col(line, 13), "unsupported"), "%s", line);
        ck_assert(find_row(out, routes[r], "queue_wait_p50_ns", line, sizeof line));
        ck_assert_str_eq(col(line, 13), r == 0 ? "ok" : "unsupported");
        /* The watched pool threads may never sleep in a short run (the hybrid
         * wait spins first): then the median is "not counted", and only then. */
        ck_assert(find_row(out, routes[r], "wakeup_latency_p50_ns", line, sizeof line));
        char p50_status[32];
        snprintf(p50_status, sizeof p50_status, "%s", col(line, 13));
        if (strcmp(p50_status, "not counted") == 0) {
            ck_assert_msg(find_row(out, routes[r], "wakeup_latency_count", line, sizeof line), "%s: no count", routes[r]);
            ck_assert_msg(!strcmp(col(line, 13), "ok") && atof(col(line, 16)) == 0,
                          "%s: p50 not counted, yet wake-ups were: %s", routes[r], line);
        } else {
            ck_assert_msg(!strcmp(p50_status, "ok") || !strcmp(p50_status, "unsupported"), "%s", line);
        }
    }
}
END_TEST

/* ggperf study serve ends in answers read back from its own results. */
START_TEST(test_serve_study_conclusions)
{
    static char out[1 << 20];
    char cmd[4096], err[4096], path[1024];
    const char *dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd, "%s study serve -m %s -r 1 --stream %s/study.jsonl", tu_ggperf_bin(),
             tu_golden_path(path, sizeof path, "shared-Q4_0.gguf"), dir);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    const char *c = strstr(out, "Conclusions");
    ck_assert_msg(c != NULL, "no conclusions in: %.2000s", out);
    ck_assert_ptr_nonnull(strstr(c, "aggregate tokens/s, inproc, 1 / 8 / 64 clients:"));
    ck_assert_ptr_nonnull(strstr(c, "aggregate tokens/s, http, 1 / 8 / 64 clients:"));
    ck_assert_ptr_nonnull(strstr(c, "HTTP bridge at 1 client:"));
    ck_assert_ptr_nonnull(strstr(c, "p95 TTFT at 64 clients, inproc, prealloc / malloc / arena:"));
    ck_assert_msg(strstr(c, "nan") == NULL, "a conclusion lacks its data: %s", c);
    /* and its plots, next to the document: tokens/s vs load among them */
    const char *pl = strstr(c, "- plots (");
    ck_assert_msg(pl != NULL, "no plots line in: %s", c);
    char vs[1024];
    snprintf(vs, sizeof vs, "%s/study-report/report.html", dir);
    ck_assert_msg(strstr(pl, vs) != NULL, "plots not in %s: %s", vs, pl);
    ck_assert_msg(access(vs, R_OK) == 0, "%s missing", vs);
    snprintf(vs, sizeof vs, "%s/study-report/serve-tokens-per-s-vs-load.dat", dir);
    ck_assert_msg(access(vs, R_OK) == 0, "%s missing: no tokens/s vs load plot", vs);
}
END_TEST

Suite *wl_serve_suite(void)
{
    Suite *s = suite_create("wl_serve");
    TCase *tc = tcase_create("serve");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_serve_workload_routes);
    tcase_add_test(tc, test_serve_study_conclusions);
    suite_add_tcase(s, tc);
    return s;
}
