/* ggperf probe — what this machine offers for measurement: PMU and hardware
 * events, software events, scheduler tracepoints, valgrind, THP, caches,
 * memory bandwidth and context-switch cost. Also the helper modes the tests
 * and cross-checks run (--touch-pages, --sim-walk, --count). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "results/fmt.h"
#include "cli/cli.h"
#include "engine/quant.h"
#include "harness/counters/ctr.h"
#include "harness/machine/probe.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf probe [--json] [--quick] [--no-bandwidth] [--no-ctxsw]\n"
            "       ggperf probe --count CMD [ARGS...]\n"
            "\n"
            "What this machine offers for measurement: PMU and which hardware events open,\n"
            "software events, scheduler tracepoints, valgrind, perf_event_paranoid, THP mode,\n"
            "cache geometry; then memory bandwidth (STREAM copy and triad, 1..N threads,\n"
            "three arrays of 4 x LLC) and context-switch cost (two threads pinned to one CPU\n"
            "ping-ponging through a futex and through pipes). A figure that could not be had\n"
            "is shown as unsupported or not counted with the reason, never as 0.\n"
            "\n"
            "  --json           one JSON object (the same the results files embed)\n"
            "  --quick          small in-cache arrays, few round trips: fast, but the\n"
            "                   bandwidth is then cache bandwidth, not memory bandwidth\n"
            "  --no-bandwidth   skip the bandwidth benchmark\n"
            "  --no-ctxsw       skip the context-switch benchmark\n"
            "  --count CMD ...  run CMD and print its hardware and software counts from exec\n"
            "                   to exit, children included (like perf stat)\n"
            "\n"
            "helper modes for tests:\n"
            "  --touch-pages N    write one byte to each of N fresh 4 KiB pages, then exit\n"
            "  --sim-walk BYTES   fill a BYTES buffer, then read one byte per 64-byte line\n"
            "                     (a decode region of four layer regions); under valgrind\n"
            "                     (ctr_sim_run) only the walk is collected, or only the\n"
            "                     region named by GGPERF_SIM_REGION (\"layer:2\")\n");
}

/* "12.34" or "unsupported (why)" — never a 0 for a figure we do not have. */
static const char *fmt_metric(char *buf, size_t len, const struct metric *m, const char *fmt)
{
    if (m->status == METRIC_OK)
        snprintf(buf, len, fmt, m->value);
    else
        snprintf(buf, len, "%s (%s)", metric_status_name(m->status), m->reason[0] ? m->reason : "no reason recorded");
    return buf;
}

static void print_text(const struct probe_info *p)
{
    char a[256], b[256];
    printf("cpu                  %s, %d online CPUs, Linux %s\n", p->cpu_model, p->n_cpus, p->kernel);
    if (p->cpu.family >= 0)
        printf("cpu identity         %s family %d model %d (0x%x) stepping %d, %s%s%s%s\n", p->cpu.vendor,
               p->cpu.family, p->cpu.model, (unsigned)p->cpu.model, p->cpu.stepping,
               p->cpu.uarch[0] ? p->cpu.uarch : "microarchitecture unknown", p->cpu.uarch_basis[0] ? " (from " : "",
               p->cpu.uarch_basis, p->cpu.uarch_basis[0] ? ")" : "");
    else
        printf("cpu identity         unknown (no CPUID)\n");
    printf("pmu                  %s%s\n", p->pmu_present ? "present" : "absent: ", p->pmu_present ? "" : p->pmu_reason);
    printf("libpfm4 pmu          %s\n", p->pfm_pmu[0] ? p->pfm_pmu : "none known");
    if (p->perf_event_paranoid != INT32_MIN)
        printf("perf_event_paranoid  %d\n", p->perf_event_paranoid);
    else
        printf("perf_event_paranoid  unknown (unreadable)\n");
    printf("hw events (each opened alone, user level):\n");
    for (int i = 0; i < p->n_hw; i++)
        printf("  %-18s %-22s %s\n", p->hw[i].metric, p->hw[i].name,
               p->hw[i].opens ? "opens" : p->hw[i].reason);
    printf("sw events            %s%s\n", p->sw_ok ? "ok" : "unsupported: ", p->sw_ok ? "" : p->sw_reason);
    if (p->tracepoints_ok)
        printf("sched tracepoints    ok (%s)\n", p->tracefs);
    else
        printf("sched tracepoints    unsupported: %s\n", p->tracepoints_reason);
    printf("valgrind             %s%s\n", p->valgrind_ok ? "" : "unsupported: ", p->valgrind);
    printf("THP                  enabled=%s defrag=%s\n", p->thp_enabled, p->thp_defrag);
    printf("page-cache reclaim   %s\n", p->reclaim);
    if (p->caches.n)
        printf("caches (cpu0)        source %s\n", cpuinfo_source_name(p->caches.source));
    else
        printf("caches (cpu0)        unknown: %s\n", p->caches.why);
    for (int i = 0; i < p->caches.n; i++) {
        const struct cpuinfo_cache *c = &p->caches.c[i];
        fmt_bytes(a, sizeof a, (double)(c->size_bytes));
        snprintf(b, sizeof b, "%d", c->sets);
        printf("  L%d %-12s %9s %3d-way %3d B lines %7s sets  cpus %-8s %s\n", c->level, c->type, a, c->ways,
               c->line_bytes, c->sets ? b : "?", c->shared_cpus[0] ? c->shared_cpus : "?",
               cpuinfo_source_name(p->caches.source));
    }
    struct quant_kernels k;
    quant_kernels_init(&k, QISA_AVX512);
    const char *off = getenv("GGPERF_CPU_DISABLE");
    printf("kernels              %s%s%s%s\n", quant_isa_name(k.isa), off && *off ? " (GGPERF_CPU_DISABLE=" : "",
           off && *off ? off : "", off && *off ? ")" : "");
    for (int t = 0; t < QT_COUNT; t++)
        if (k.dot_variant[t] && k.dot_isa[t] != QISA_REF)
            printf("  %-8s dot %-*s%s%s\n", quant_type_name(t), k.gemm_variant[t] ? 17 : 0, k.dot_variant[t],
                   k.gemm_variant[t] ? " gemm " : "", k.gemm_variant[t] ? k.gemm_variant[t] : "");
    printf("  %-8s %s\n", "attn", k.attn_variant ? k.attn_variant : "?");
    if (p->flags & PROBE_NO_BANDWIDTH) {
        printf("bandwidth            %s\n", fmt_metric(a, sizeof a, &p->peak_triad_gbps, "%.2f"));
    } else {
        fmt_bytes(a, sizeof a, (double)(p->bw_array_bytes));
        printf("bandwidth            3 arrays x %s, best of %d%s\n", a, p->bw_reps,
               (p->flags & PROBE_QUICK) ? " (quick: in cache, not memory bandwidth)" : "");
        if (p->n_bw)
            printf("  threads  copy GB/s   triad GB/s\n");
        for (int i = 0; i < p->n_bw; i++)
            printf("  %-7d  %-11s %s\n", p->bw[i].threads, fmt_metric(a, sizeof a, &p->bw[i].copy_gbps, "%.2f"),
                   fmt_metric(b, sizeof b, &p->bw[i].triad_gbps, "%.2f"));
        printf("  peak     %-11s %s\n", fmt_metric(a, sizeof a, &p->peak_copy_gbps, "%.2f"),
               fmt_metric(b, sizeof b, &p->peak_triad_gbps, "%.2f"));
    }
    if (p->flags & PROBE_NO_CTXSW) {
        printf("ctxswitch            %s\n", fmt_metric(a, sizeof a, &p->ctxsw_futex_ns, "%.0f"));
    } else {
        printf("ctxswitch            futex %s ns/switch, pipe %s ns/switch", fmt_metric(a, sizeof a, &p->ctxsw_futex_ns, "%.0f"),
               fmt_metric(b, sizeof b, &p->ctxsw_pipe_ns, "%.0f"));
        if (p->ctxsw_cpu >= 0)
            printf(" (2 threads pinned to cpu %d, best of 3 x %ld round trips)\n", p->ctxsw_cpu, p->ctxsw_rounds);
        else
            printf(" (2 threads, not pinned, best of 3 x %ld round trips)\n", p->ctxsw_rounds);
    }
}

static int run_count(char **argv)
{
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_HW | CTR_SW;
    struct metric m[64];
    char err[256];
    int ws = 0;
    int n = ctr_run_cmd(argv, &cfg, false, m, 64, &ws, err, sizeof err);
    if (n < 0)
        return cli_error(CLI_EFAIL, "probe --count: %s", err);
    fprintf(stderr, "\n counts of '%s' (from exec to exit, children included):\n", argv[0]);
    for (int i = 0; i < n && i < 64; i++) {
        char v[256];
        fprintf(stderr, "  %-22s %-6s %s%s%s\n", m[i].name, metric_source_name(m[i].source),
                fmt_metric(v, sizeof v, &m[i], "%.0f"), m[i].status == METRIC_OK && m[i].unit ? " " : "",
                m[i].status == METRIC_OK && m[i].unit ? m[i].unit : "");
    }
    if (WIFEXITED(ws))
        return WEXITSTATUS(ws) == 0 ? CLI_OK : CLI_EFAIL;
    return CLI_EFAIL;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    unsigned flags = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--quick") == 0) {
            flags |= PROBE_QUICK;
        } else if (strcmp(a, "--no-bandwidth") == 0) {
            flags |= PROBE_NO_BANDWIDTH;
        } else if (strcmp(a, "--no-ctxsw") == 0) {
            flags |= PROBE_NO_CTXSW;
        } else if (strcmp(a, "--count") == 0) {
            if (i + 1 >= argc)
                return cli_error(CLI_EUSAGE, "probe --count: no command given (usage: ggperf probe --count CMD [ARGS...])");
            return run_count(argv + i + 1);
        } else if (strcmp(a, "--touch-pages") == 0) {
            int64_t n;
            char err[160];
            if (i + 1 >= argc)
                return cli_error(CLI_EUSAGE, "--touch-pages: missing value (allowed 1..%d)", 1 << 24);
            if (cli_parse_i64("--touch-pages", argv[i + 1], 1, 1 << 24, &n) != 0)
                return CLI_EUSAGE;
            if (probe_touch_pages((long)n, err, sizeof err) != 0)
                return cli_error(CLI_EFAIL, "probe: %s", err);
            printf("touched %" PRId64 " pages\n", n);
            return CLI_OK;
        } else if (strcmp(a, "--sim-walk") == 0) {
            uint64_t n, sum = 0;
            char err[160];
            if (i + 1 >= argc)
                return cli_error(CLI_EUSAGE, "--sim-walk: missing value (allowed 64..%llu)", 1ull << 34);
            if (cli_parse_u64("--sim-walk", argv[i + 1], 64, 1ull << 34, &n) != 0)
                return CLI_EUSAGE;
            struct ctr_sim_regions st;
            struct region_hooks h;
            int rc = ctr_sim_regions_from_env(&st, err, sizeof err);
            if (rc < 0)
                return cli_error(CLI_EUSAGE, "probe: GGPERF_SIM_REGION: %s", err);
            h = ctr_sim_region_hooks(&st);
            if (probe_sim_walk((size_t)n, rc == 1 ? &h : NULL, &sum, err, sizeof err) != 0)
                return cli_error(CLI_EFAIL, "probe: %s", err);
            printf("sim-walk: %" PRIu64 " bytes, %" PRIu64 " lines read, sum %" PRIu64 "%s\n", n, n / 64, sum,
                   ctr_sim_running() ? " (under valgrind)" : "");
            return CLI_OK;
        } else {
            return cli_error(CLI_EUSAGE, "probe: unknown option '%s' (ggperf probe --help lists them)", a);
        }
    }
    struct probe_info info;
    probe_collect(&info, flags);
    if (json) {
        json_t *o;
        if (probe_to_json(&info, &o) != 0)
            return cli_error(CLI_EFAIL, "probe: out of memory");
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        json_decref(o);
        if (!s)
            return cli_error(CLI_EFAIL, "probe: out of memory");
        printf("%s\n", s);
        free(s);
    } else {
        print_text(&info);
    }
    return CLI_OK;
}

const struct cli_cmd cmd_probe = { "probe", "what this machine offers: PMU, events, tracepoints, bandwidth", run };
