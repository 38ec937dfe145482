/* names — how a metric is called in a report: a humanized name without
 * the unit its raw name carries ("map_read_ns" -> "map/read"), and the unit
 * it is shown in ("fraction" as %, "bool" as yes/no). A small table keyed by
 * metric name for the metrics the studies show, and rules for the rest, so
 * a workload written later still reads well. Display only: what a metric
 * means (its direction, whether it is gated) lives with its declaration. */
#include "reports/report_impl.h"

#include <string.h>

static const struct {
    const char *name, *label;
} known[] = {
    { "tokens_per_s", "tokens/s" },
    { "prefill_tokens_per_s", "prefill tokens/s" },
    { "open_ns", "open" },
    { "map_read_ns", "map/read" },
    { "parse_ns", "parse" },
    { "touch_ns", "first touch" },
    { "open_parse_ns", "open+parse" },
    { "ready_ns", "ready (open to touched)" },
    { "first_token_ns", "first token" },
    { "engine_setup_ns", "engine setup" },
    { "ttft_ns", "time to first token" },
    { "test_ns", "test time" },
    { "load_gbps", "load rate" },
    { "file_bytes", "file size" },
    { "cold_ok", "cold cache verified" },
    { "resident_before_fraction", "resident before load" },
    { "rss_delta_bytes", "RSS increase" },
    { "rss_anon_delta_bytes", "anonymous RSS increase" },
    { "rss_file_delta_bytes", "file-backed RSS increase" },
    { "pss_anon_delta_bytes", "anonymous PSS increase" },
    { "pss_file_delta_bytes", "file-backed PSS increase" },
    { "anon_huge_delta_bytes", "huge-page memory increase" },
    { "disk_read_bytes", "read from disk" },
    { "vm_thp_fault_alloc", "THP faults served" },
    { "vm_thp_fault_fallback", "THP fault fallbacks" },
    { "vm_thp_collapse_alloc", "THP collapses" },
    { "vm_compact_stall", "compaction stalls" },
    { "vm_pgscan", "pages scanned (reclaim)" },
    { "vm_pgsteal", "pages reclaimed" },
    { "vm_pgmajfault", "major faults (system)" },
    { "vm_pgpgin_bytes", "paged in (system)" },
    { "vm_refault_file", "page-cache refaults (system)" },
    { "vm_pagecache_hits", "page-cache hits" },
    { "readahead_bytes", "readahead window" },
    { "token_p50_ns", "token latency p50" },
    { "token_p90_ns", "token latency p90" },
    { "token_p99_ns", "token latency p99" },
    { "token_max_ns", "token latency max" },
    { "eff_bw_gbps", "effective bandwidth" },
    { "peak_triad_gbps", "STREAM triad peak" },
    { "bw_fraction_of_peak", "share of STREAM peak" },
    { "matmul_gflops", "matmul GFLOP/s" },
    { "gflops", "GFLOP/s" },
    { "weights_huge_fraction", "weights in huge pages" },
    { "kernel_isa_level", "kernel ISA level" },
    { "wakeup_latency_p50_ns", "wake-up latency p50" },
    { "wakeup_latency_p99_ns", "wake-up latency p99" },
    { "wakeup_latency_max_ns", "wake-up latency max" },
    { "runq_wait_ns", "run-queue wait" },
    { "ns_per_1024_rows", "time per 1024 rows" },
    { "ns_per_1024_rows_min", "best time per 1024 rows" },
    { "ns_per_matmul", "time per matmul" },
    { "ns_per_step", "time per step" },
    { "oversubscribed", "oversubscribed" },
    { "run_ns", "repetition time" },
    { "runner_overhead_ns", "runner overhead" },
};

void report_metric_label(const char *name, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i].name) == 0) {
            report_str_fmt(buf, len, "%s", known[i].label);
            return;
        }
    char tmp[METRIC_NAME_MAX + 8];
    report_str_fmt(tmp, sizeof tmp, "%s", name);
    /* vmstat deltas read as the kernel names them, without the prefix */
    char *t = strncmp(tmp, "vm_", 3) == 0 ? tmp + 3 : tmp;
    size_t n = strlen(t);
    static const char *const suffix[] = { "_ns", "_bytes", "_gbps", "_gflops", "_fraction" };
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        size_t sl = strlen(suffix[i]);
        if (n > sl && strcmp(t + n - sl, suffix[i]) == 0) {
            t[n - sl] = '\0';
            break;
        }
    }
    n = strlen(t);
    if (n > 6 && strcmp(t + n - 6, "_per_s") == 0)
        strcpy(t + n - 6, "/s");
    for (char *p = t; *p; p++)
        if (*p == '_')
            *p = ' ';
    /* "ns per 1024 rows" is a time per 1024 rows, whatever unit shows it */
    char out[METRIC_NAME_MAX + 16] = "";
    for (char *save = NULL, *w = strtok_r(t, " ", &save); w; w = strtok_r(NULL, " ", &save))
        report_str_fmt(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? " " : "",
                       strcmp(w, "ns") == 0 ? "time" : w);
    report_str_fmt(buf, len, "%s", out);
}

const char *report_unit_shown(const char *unit)
{
    if (strcmp(unit, "fraction") == 0)
        return "%";
    if (strcmp(unit, "bool") == 0 || strcmp(unit, "count") == 0 || strcmp(unit, "value") == 0 ||
        strcmp(unit, "level") == 0)
        return "";
    return unit;
}
