/* ggperf profile — where the time of one token (or one prefill pass) goes:
 * per operation and layer, time and share, bytes and FLOPs, attained GB/s
 * and GFLOP/s against the probe's ceilings, per-thread busy and barrier
 * wait; a roofline, a flame graph, a comparison with an older profile, and
 * conclusions in prose. The measuring is harness/profile/profiler.c, the
 * drawing reports/prof_*.c; this file glues them to the command line. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/engine_flags.h"
#include "cli/sigbus.h"
#include "engine/quant.h"
#include "harness/counters/ctr.h"
#include "harness/machine/probe.h"
#include "harness/profile/profiler.h"
#include "harness/run/session.h"
#include "reports/prof_report.h"
#include "results/profile.h"
#include "results/results.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf profile -m MODEL [--mode decode|prefill] [-t N] [-n TOKENS] [--sim] [--counters LIST]\n"
            "                      [-o DIR] [--json] [--baseline OLD.json] [engine flags]\n"
            "       ggperf profile --from PROFILE.json [-o DIR] [--baseline OLD.json]\n\n"
            "Where the time of one step goes, per operation kind and per layer: time and share\n"
            "of the step, calls, bytes moved (weights, activations, KV), FLOPs, attained GB/s and\n"
            "GFLOP/s, arithmetic intensity, fraction of the roofline, per-thread busy and\n"
            "barrier-wait time (load imbalance). Conclusions in prose come first.\n\n"
            "  --mode M          decode (default: one token per step) or prefill (one pass of -n tokens)\n"
            "  -n N              decode: steps (tokens) to record (default 16); prefill: prompt tokens (default 64)\n"
            "  -r N              prefill: passes to record (default 3)\n"
            "  --pos P           decode: fill the KV cache with P tokens first (attention over P+ positions)\n"
            "  --warmup N        unrecorded steps first (default 2)\n"
            "  --no-unmarked     skip timing the same steps without markers (the measured overhead)\n"
            "  --no-probe        no ceilings (skips the bandwidth and peak-compute probe, ~2 s)\n"
            "  --bw-mib N        array for the read-bandwidth probe, MiB (default 512)\n"
            "  --sim             also run each op kind under valgrind callgrind (one run per kind, one\n"
            "                    thread): instructions, D1 and LL misses per op. Valgrind 3.19 cannot run\n"
            "                    AVX-512 code, so those runs take the AVX2 kernel path; the profile says so\n"
            "  --counters LIST   hw: hardware counters per op (needs a PMU; says unsupported and why without)\n"
            "  -o DIR            write profile.json, profile.folded (flamegraph.pl), profile.speedscope.json,\n"
            "                    flame.svg, roofline.{dat,gp,png,svg} and report.html into DIR\n"
            "  --json            print the profile JSON instead of the text\n"
            "  --baseline FILE   compare with an earlier profile.json, per operation\n"
            "  --from FILE       render an existing profile.json (no model is run)\n"
            "  --desc TEXT       how the model is named in the conclusions (default from the file)\n\n"
            "Timing runs should not overlap other measurements (flock /tmp/ggperf-timing.lock ...).\n"
            "\nengine flags:\n%s",
            cli_engine_flags_help());
}

static void progress(void *user, int done, int total)
{
    (void)user;
    fprintf(stderr, "\rprofile: step %d/%d", done, total);
    if (done == total)
        fprintf(stderr, "\n");
}

static void add_ceiling(struct profile *p, const char *name, const char *kind, double value, const char *source)
{
    if (p->n_ceilings >= PROFILE_MAX_CEILINGS)
        return;
    struct profile_ceiling *c = &p->ceilings[p->n_ceilings++];
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    c->value = value;
    snprintf(c->source, sizeof c->source, "%s", source);
}

/* The roofline's ceilings at the profile's thread count. */
static void probe_ceilings(struct profile *p, int threads, uint64_t bw_bytes)
{
    char err[256], src[160];
    struct metric m;
    if (probe_read_bandwidth(bw_bytes, threads, 5, &m, err, sizeof err) == 0 && m.status == METRIC_OK) {
        snprintf(src, sizeof src, "probe: sum of a %" PRIu64 " MiB array, %d thread%s, best of 5", bw_bytes >> 20,
                 threads, threads == 1 ? "" : "s");
        add_ceiling(p, "read bandwidth", "bw", m.value, src);
    }
    struct probe_bw_row row;
    int th[1] = { threads };
    struct probe_bw_opts bo = { .array_bytes = bw_bytes / 2, .reps = 3, .threads = th, .n_threads = 1 };
    if (probe_bandwidth(&bo, &row, err, sizeof err) == 1 && row.triad_gbps.status == METRIC_OK) {
        snprintf(src, sizeof src, "probe: STREAM triad, 3 x %" PRIu64 " MiB, %d thread%s, best of 3",
                 (bw_bytes / 2) >> 20, threads, threads == 1 ? "" : "s");
        add_ceiling(p, "triad bandwidth", "bw", row.triad_gbps.value, src);
    }
    struct probe_peak pk[8];
    int n = probe_peak_compute(threads, pk, 8, err, sizeof err);
    for (int i = 0; i < n; i++)
        if (pk[i].gflops.status == METRIC_OK) {
            snprintf(src, sizeof src, "probe: measured %s loop, %d thread%s", pk[i].insn, threads,
                     threads == 1 ? "" : "s");
            add_ceiling(p, pk[i].name, "compute", pk[i].gflops.value, src);
        }
}

/* The child of --sim: run the steps with collection only inside one op. */
static int sim_child(struct session_opts *so, const char *op, int mode, int steps, int prompt)
{
    char err[1024];
    struct profiler_sim st;
    if (profiler_sim_parse(&st, op, err, sizeof err) != 0)
        return cli_error(CLI_EUSAGE, "--sim-child: %s", err);
    struct region_hooks hooks = { 0 };
    so->infer.regions = &hooks;
    struct session s;
    if (session_open(&s, so, true, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "%s", err);
    cli_guard_session(&s, so->model_path);
    int32_t toks[4096];
    int n = prompt < 4096 ? prompt : 4096;
    for (int i = 0; i < n; i++)
        toks[i] = (int32_t)((i * 7919 + 13) % s.m.hp.n_vocab);
    int rc = CLI_OK;
    if (mode == PROFILER_DECODE) {
        if (n > 0 && infer_eval(s.ctx, toks, n, NULL, err, sizeof err) != 0)
            rc = cli_error(CLI_EFAIL, "%s", err);
        hooks = profiler_sim_hooks(&st);
        for (int i = 0; rc == CLI_OK && i < steps; i++) {
            int32_t tok = (int32_t)((i * 104729 + 1) % s.m.hp.n_vocab);
            if (infer_eval(s.ctx, &tok, 1, NULL, err, sizeof err) != 0)
                rc = cli_error(CLI_EFAIL, "%s", err);
        }
    } else {
        hooks = profiler_sim_hooks(&st);
        for (int i = 0; rc == CLI_OK && i < steps; i++) {
            infer_reset(s.ctx);
            if (infer_eval(s.ctx, toks, n, NULL, err, sizeof err) != 0)
                rc = cli_error(CLI_EFAIL, "%s", err);
        }
    }
    if (st.on)
        ctr_sim_collect_end();
    memset(&hooks, 0, sizeof hooks);
    cli_guard_mapping(NULL, -1, NULL, 0);
    session_close(&s);
    return rc;
}

/* --sim: one callgrind run per op kind of the profile. */
static void run_sim(struct profile *p, const char *model, const char *mode, int steps, int prompt, bool tty)
{
    char self[PATH_MAX], err[1024];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        snprintf(p->sim_note, sizeof p->sim_note, "unsupported (cannot find this program: /proc/self/exe)");
        return;
    }
    self[len] = '\0';
    char ver[64];
    if (ctr_sim_valgrind_version(ver, sizeof ver) != 0) {
        snprintf(p->sim_note, sizeof p->sim_note, "unsupported (%s)", ver);
        return;
    }
    const char *kinds[64];
    int nk = profile_kinds(p, kinds, 64);
    char s_steps[16], s_prompt[16];
    snprintf(s_steps, sizeof s_steps, "%d", steps);
    snprintf(s_prompt, sizeof s_prompt, "%d", prompt);
    struct ctr_sim_result res = { 0 };
    int done = 0;
    for (int k = 0; k < nk && p->n_sim < PROFILE_MAX_SIM; k++) {
        if (strcmp(kinds[k], "dispatch") == 0)
            continue;
        if (tty)
            fprintf(stderr, "\rprofile --sim: callgrind run %d (%s)      ", done + 1, kinds[k]);
        char *argv[] = { self, "profile", "-m", (char *)model, "--mode", (char *)mode, "-t", "1",
                         "--sim-child", (char *)kinds[k], "--sim-steps", s_steps,
                         strcmp(mode, "decode") == 0 ? "--pos" : "-n", s_prompt, NULL };
        struct ctr_sim_opts so = { .isa_path = "avx2" };
        if (ctr_sim_run(argv, &so, &res, err, sizeof err) != 0) {
            snprintf(p->sim_note, sizeof p->sim_note, "failed on %s: %.200s", kinds[k], err);
            return;
        }
        if (!WIFEXITED(res.wstatus) || WEXITSTATUS(res.wstatus) != 0) {
            snprintf(p->sim_note, sizeof p->sim_note, "the callgrind run of %s failed (status %d)", kinds[k],
                     res.wstatus);
            return;
        }
        struct profile_sim *s = &p->sim[p->n_sim++];
        snprintf(s->op, sizeof s->op, "%s", kinds[k]);
        s->instructions = (double)res.ir / steps;
        s->d1_misses = (double)(res.d1mr + res.d1mw) / steps;
        s->ll_misses = (double)(res.dlmr + res.dlmw) / steps;
        done++;
    }
    if (tty)
        fprintf(stderr, "\n");
    snprintf(p->sim_note, sizeof p->sim_note,
             "callgrind (%s), %d runs (one per op kind, all layers), 1 thread, %d steps each, per step; "
             "AVX2 kernels: valgrind 3.19 cannot run AVX-512 code, so these runs differ from the timed %s path; "
             "D1 %" PRIu64 " KiB, LL %" PRIu64 " KiB simulated",
             res.valgrind_version, done, steps, p->isa, res.d1.size_bytes >> 10, res.ll.size_bytes >> 10);
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct session_opts so;
    session_opts_init(&so);
    static const char *const modes[] = { "decode", "prefill", NULL };
    int mode = PROFILER_DECODE, n = -1, reps = 3, pos = 0, warmup = 2, bw_mib = 512, sim_steps = 0;
    bool sim = false, json = false, unmarked = true, no_probe = false, counters_hw = false;
    const char *outdir = NULL, *baseline = NULL, *from = NULL, *desc = NULL, *sim_op = NULL;
    for (int i = 1; i < argc; i++) {
        int r = cli_engine_flag(&so, argc, argv, &i);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        const char *f = argv[i];
        if (!strcmp(f, "--sim")) {
            sim = true;
            continue;
        } else if (!strcmp(f, "--json")) {
            json = true;
            continue;
        } else if (!strcmp(f, "--no-unmarked")) {
            unmarked = false;
            continue;
        } else if (!strcmp(f, "--no-probe")) {
            no_probe = true;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "%s: unknown flag or missing value (ggperf profile --help)", f);
        const char *v = argv[++i];
        if (!strcmp(f, "--mode")) {
            if ((mode = cli_parse_choice(f, v, modes)) < 0)
                return CLI_EUSAGE;
        } else if (!strcmp(f, "-n")) {
            if (cli_parse_int(f, v, 1, 4096, &n))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "-r")) {
            if (cli_parse_int(f, v, 1, 1000, &reps))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--pos")) {
            if (cli_parse_int(f, v, 0, 4096, &pos))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--warmup")) {
            if (cli_parse_int(f, v, 0, 1000, &warmup))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--bw-mib")) {
            if (cli_parse_int(f, v, 1, 1 << 16, &bw_mib))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--counters")) {
            static const char *const kinds[] = { "hw", NULL };
            char buf[128];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (cli_parse_choice(f, t, kinds) < 0)
                    return CLI_EUSAGE;
            counters_hw = true;
        } else if (!strcmp(f, "-o")) {
            outdir = v;
        } else if (!strcmp(f, "--baseline")) {
            baseline = v;
        } else if (!strcmp(f, "--from")) {
            from = v;
        } else if (!strcmp(f, "--desc")) {
            desc = v;
        } else if (!strcmp(f, "--sim-child")) {   /* internal: the process --sim runs under callgrind */
            sim_op = v;
        } else if (!strcmp(f, "--sim-steps")) {
            if (cli_parse_int(f, v, 1, 4096, &sim_steps))
                return CLI_EUSAGE;
        } else {
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf profile --help)", f);
        }
    }
    if (sim_op) {
        if (!so.model_path)
            return cli_error(CLI_EUSAGE, "--sim-child needs -m MODEL");
        return sim_child(&so, sim_op, mode, sim_steps > 0 ? sim_steps : 1,
                         mode == PROFILER_DECODE ? pos : (n > 0 ? n : 64));
    }
    if (from && so.model_path)
        return cli_error(CLI_EUSAGE, "--from renders a saved profile: give it or -m MODEL, not both");
    if (!from && !so.model_path)
        return cli_error(CLI_EUSAGE, "-m MODEL is required (or --from PROFILE.json)");
    if (outdir) {
        struct stat st;
        if (stat(outdir, &st) != 0 && mkdir(outdir, 0755) != 0)
            return cli_error(CLI_EFAIL, "-o %s: cannot create the directory", outdir);
    }
    char err[1024];
    struct profile *base = NULL, *p = NULL;
    if (baseline && profile_read_file(baseline, &base, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "--baseline: %s", err);
    int rc = CLI_EFAIL;
    struct session s;
    memset(&s, 0, sizeof s);
    s.fd = -1;
    if (from) {
        if (profile_read_file(from, &p, err, sizeof err) != 0) {
            cli_error(CLI_EFAIL, "--from: %s", err);
            goto done;
        }
    } else {
        struct region_hooks hooks = { 0 };
        struct profiler_opts po;
        profiler_opts_default(&po);
        po.mode = mode;
        po.steps = mode == PROFILER_DECODE ? (n > 0 ? n : 16) : reps;
        po.prompt = mode == PROFILER_DECODE ? pos : (n > 0 ? n : 64);
        po.warmup = warmup;
        po.unmarked = unmarked;
        po.kv_elt = so.infer.kv_type == INFER_KV_F32 ? 4 : 2;
        if (cli_stderr_is_tty()) {
            po.progress = progress;
        }
        int need = mode == PROFILER_DECODE ? pos + po.steps + 1 : po.prompt;
        if (so.infer.n_ctx == 0)
            so.infer.n_ctx = need < 256 ? 256 : need;
        if (mode == PROFILER_PREFILL && so.infer.n_batch == 0)
            so.infer.n_batch = po.prompt;   /* one pass per step */
        so.infer.regions = &hooks;
        if (session_open(&s, &so, true, err, sizeof err) != 0) {
            cli_error(CLI_EFAIL, "%s", err);
            goto done;
        }
        cli_guard_session(&s, so.model_path);
        int prc = profiler_run(s.ctx, &hooks, &s.m, &po, &p, err, sizeof err);
        if (prc != 0) {
            cli_error(prc == PROFILER_EINVAL ? CLI_EUSAGE : CLI_EFAIL, "%s", err);
            rc = prc == PROFILER_EINVAL ? CLI_EUSAGE : CLI_EFAIL;
            goto done;
        }
        results_time_iso(p->created, sizeof p->created);
        snprintf(p->model_path, sizeof p->model_path, "%s", so.model_path);
        snprintf(p->model_type, sizeof p->model_type, "%s", quant_type_name(s.m.layers[0].wq.type));
        if (desc) {
            snprintf(p->model_desc, sizeof p->model_desc, "%s", desc);
        } else {
            const char *b = strrchr(so.model_path, '/');
            snprintf(p->model_desc, sizeof p->model_desc, "%s %s", b ? b + 1 : so.model_path, p->model_type);
        }
        if (!no_probe) {
            if (cli_stderr_is_tty())
                fprintf(stderr, "profile: probing the ceilings (bandwidth, peak compute)...\n");
            probe_ceilings(p, p->n_threads, (uint64_t)bw_mib << 20);
        }
        char why[256] = "";
        if (!counters_hw)
            snprintf(p->hw_note, sizeof p->hw_note, "not asked for (--counters hw)");
        else if (!ctr_hw_pmu_present(why, sizeof why))
            snprintf(p->hw_note, sizeof p->hw_note, "unsupported (%s)", why);
        else
            snprintf(p->hw_note, sizeof p->hw_note,
                     "unsupported (per-operation hardware counting is not implemented yet; use ggperf run "
                     "with the decode workload's region counters)");
        int sim_n = po.steps;
        cli_guard_mapping(NULL, -1, NULL, 0);
        session_close(&s);
        memset(&s, 0, sizeof s);
        s.fd = -1;
        if (sim)
            run_sim(p, so.model_path, modes[mode], sim_n, po.prompt, cli_stderr_is_tty());
        else
            snprintf(p->sim_note, sizeof p->sim_note, "not asked for (--sim)");
    }
    if (outdir) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/profile.json", outdir);
        if (!from && profile_write_file(p, path, err, sizeof err) != 0) {
            cli_error(CLI_EFAIL, "%s", err);
            goto done;
        }
        if (prof_report_write_dir(outdir, p, base, err, sizeof err) != 0) {
            cli_error(CLI_EFAIL, "%s", err);
            goto done;
        }
    }
    if (json) {
        json_t *j = profile_to_json(p);
        if (!j || json_dumpf(j, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0) {
            json_decref(j);
            cli_error(CLI_EFAIL, "cannot write the profile JSON");
            goto done;
        }
        json_decref(j);
        printf("\n");
    } else if (prof_report_text(stdout, p, base) != 0) {
        cli_error(CLI_EFAIL, "cannot write the report");
        goto done;
    }
    if (outdir && !json)
        printf("\nwrote %s/profile.json, profile.folded, profile.speedscope.json, flame.svg, roofline.png/svg, "
               "report.html\n",
               outdir);
    rc = CLI_OK;
done:
    cli_guard_mapping(NULL, -1, NULL, 0);
    session_close(&s);
    profile_free(p);
    profile_free(base);
    return rc;
}

const struct cli_cmd cmd_profile = { "profile", "where the time of one token goes: per-op profile, roofline, flame graph",
                                     run };
