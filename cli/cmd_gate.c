/* ggperf gate — the CI regression gate: compare a current results file with
 * a baseline (a file or a stored baseline) and print a Markdown summary fit
 * for a pull-request comment. The rules are in harness/store/gate.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/store/gate.h"
#include "harness/store/history.h"
#include "harness/store/store.h"
#include "results/results.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf gate --baseline BASE.json|NAME --current CUR.json [--threshold 3%%]\n"
            "                   [--det-threshold 1%%] [--alpha 0.01] [--undecided=pass|fail]\n"
            "                   [--metrics M,..|--all-metrics] [--gate-across-cpus] [-o md|json]\n"
            "                   [--store PATH] [--higher-is-better M,..] [--lower-is-better M,..]\n"
            "                   [--deterministic M,..] [--ignore M,..] [--metric-threshold M=P,..]\n"
            "                   [--history] [--branch B]\n\n"
            "Compare two results files configuration by configuration (matched by axis\n"
            "values) and metric by metric (matched by name); print a Markdown summary.\n\n"
            "  --baseline X        a results file (JSONL or JSON), or the name of a baseline\n"
            "                      in the store (ggperf baseline save) when no file X exists\n"
            "  --current FILE      the results to judge\n"
            "  --threshold P       sample metrics: median change that counts, percent (default 3),\n"
            "                      or 'auto': the noise band learned from the history in the\n"
            "                      store (ggperf history), 3%% when there is too little history\n"
            "  --det-threshold P   deterministic counts: change that counts, percent (default 1)\n"
            "  --alpha A           family-wise significance level of the whole call (default 0.01)\n"
            "  --undecided X       pass|fail: what an undecided comparison does (default pass)\n"
            "  --metrics M,..      gate exactly these metrics (default: each workload's primary set)\n"
            "  --all-metrics       gate every comparable metric (sample or count, with a direction)\n"
            "  --gate-across-cpus  gate sample metrics even when the CPU models differ\n"
            "  -o md|json          output format (default md)\n"
            "  --store PATH        results store (default " STORE_SEARCH_ORDER("                      ") ")\n"
            "  --higher-is-better, --lower-is-better, --deterministic  declare what a metric\n"
            "                      means where the file does not (results from before semantics)\n"
            "  --ignore            leave these metrics out\n"
            "  --metric-threshold  per-metric thresholds in percent, e.g. d1_misses=5%%,ll_misses=5\n"
            "  --history           store this verdict's gated medians in the store's history\n"
            "                      (ggperf history) with the machine fingerprint and commit\n"
            "  --branch B          the branch recorded with it (default $GGPERF_BRANCH,\n"
            "                      $GITHUB_HEAD_REF, $GITHUB_REF_NAME, $CI_COMMIT_REF_NAME)\n\n"
            "What a metric means (better lower/higher/neither; kind sample, count, env, info;\n"
            "gated by default or not) is read from the results file, as the workload or\n"
            "counter backend declared it. Environment figures (a STREAM peak measured once\n"
            "per run), informational ones and fractions are never gated; the rest of the\n"
            "non-primary metrics are shown as not gated. Sample metrics: U test per\n"
            "comparison, Holm over all of them, regressed when significant and worse by more\n"
            "than the threshold, unchanged when the confidence interval rules that out,\n"
            "undecided otherwise (every row reports the minimum detectable effect).\n"
            "Deterministic counts compare medians with their own threshold.\n\n"
            "Exit: 0 no regression, 1 a regression (or undecided under --undecided=fail),\n"
            "2 unusable input (unreadable file, different workload, no configuration in\n"
            "common) or a usage error.\n");
}

/* A comma list as a NULL-terminated array of strings in one allocation. */
static const char **split_list(const char *text)
{
    size_t n = 1, len = strlen(text);
    for (const char *p = text; *p; p++)
        n += *p == ',';
    char **v = malloc((n + 1) * sizeof *v + len + 1);
    if (!v)
        return NULL;
    char *buf = (char *)(v + n + 1);
    memcpy(buf, text, len + 1);
    size_t k = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        v[k++] = tok;
    v[k] = NULL;
    return (const char **)v;
}

static int parse_percent(const char *flag, const char *text, double *out)
{
    char buf[64];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof buf)
        return cli_error(CLI_EUSAGE, "%s: '%s' is not a percentage (e.g. 5%% or 5)", flag, text);
    memcpy(buf, text, n + 1);
    if (buf[n - 1] == '%')
        buf[n - 1] = '\0';
    double v;
    if (cli_parse_double(flag, buf, 0, 1000, &v) != 0)
        return CLI_EUSAGE;
    *out = v / 100;
    return 0;
}

/* "name=P,name=P" (P in percent, '%' optional), appended to *mt. */
static int parse_metric_thresholds(const char *text, struct gate_metric_threshold **mt, size_t *n)
{
    const char **items = split_list(text);
    if (!items)
        return cli_error(CLI_EFAIL, "out of memory");
    int rc = 0;
    for (size_t i = 0; items[i] && rc == 0; i++) {
        const char *eq = strchr(items[i], '=');
        if (!eq || eq == items[i] || !eq[1]) {
            rc = cli_error(CLI_EUSAGE, "--metric-threshold: '%s' is not METRIC=PERCENT", items[i]);
            break;
        }
        double t;
        if ((rc = parse_percent("--metric-threshold", eq + 1, &t)) != 0)
            break;
        struct gate_metric_threshold *p = realloc(*mt, (*n + 1) * sizeof *p);
        char *name = strndup(items[i], (size_t)(eq - items[i]));
        if (!p || !name) {
            if (p)
                *mt = p;
            free(name);
            rc = cli_error(CLI_EFAIL, "out of memory");
            break;
        }
        *mt = p;
        p[*n].name = name;
        p[*n].threshold = t;
        (*n)++;
    }
    free(items);
    return rc;
}

/* Where a stored baseline is exported for the comparison: a private temp dir. */
struct tmp_export {
    char dir[64];
    char path[128];
};

static void tmp_export_remove(struct tmp_export *t)
{
    if (t->path[0])
        unlink(t->path);
    if (t->dir[0])
        rmdir(t->dir);
}

static int resolve_baseline(const char *arg, const char *store_path, struct tmp_export *tmp, char *label,
                            size_t label_len)
{
    struct stat st;
    if (stat(arg, &st) == 0 && !S_ISDIR(st.st_mode)) { /* a directory (./ci) is no results file: try the store */
        snprintf(label, label_len, "%s", arg);
        return 0;
    }
    char path[PATH_MAX], err[PATH_MAX + 256];
    if (!store_path) {
        if (store_default_path(path, sizeof path, err, sizeof err) != 0)
            return cli_error(CLI_EUSAGE, "--baseline %s: no such file, and no store to look it up in: %s", arg, err);
        store_path = path;
    }
    struct store *s = NULL;
    int rc = store_open(&s, store_path, false, err, sizeof err);
    if (rc == STORE_ENOSTORE)
        return cli_error(CLI_EUSAGE, "--baseline %s: neither a results file nor a stored baseline (no store at %s)",
                         arg, store_path);
    if (rc != 0)
        return cli_error(CLI_EUSAGE, "--baseline %s: no such file, and the store failed: %s", arg, err);
    struct store_entry e;
    rc = store_find(s, arg, &e, NULL, err, sizeof err);
    if (rc == STORE_ENOTFOUND) {
        store_close(s);
        return cli_error(CLI_EUSAGE,
                         "--baseline %s: neither a results file nor a baseline in the store %s "
                         "(ggperf baseline show lists them)", arg, store_path);
    }
    snprintf(tmp->dir, sizeof tmp->dir, "%s/ggperf-gate-XXXXXX", "/tmp");
    const char *td = getenv("TMPDIR");
    if (td && td[0] == '/' && strlen(td) < 40)
        snprintf(tmp->dir, sizeof tmp->dir, "%s/ggperf-gate-XXXXXX", td);
    if (rc == 0 && !mkdtemp(tmp->dir)) {
        snprintf(err, sizeof err, "%s: %s", tmp->dir, strerror(errno));
        tmp->dir[0] = '\0';
        rc = -1;
    }
    if (rc == 0) {
        snprintf(tmp->path, sizeof tmp->path, "%s/baseline.json", tmp->dir);
        rc = store_export(s, arg, tmp->path, err, sizeof err);
    }
    store_close(s);
    if (rc != 0) {
        tmp_export_remove(tmp);
        return cli_error(CLI_EUSAGE, "--baseline %s: reading it from the store %s failed: %s", arg, store_path, err);
    }
    snprintf(label, label_len, "%s (stored baseline, saved %s from commit %s)", arg, e.saved,
             e.commit[0] ? e.commit : "unknown");
    return 0;
}

/* --threshold auto: per primary metric, 3 x the noise band its history on
 * this machine shows (history_noise; at least 1%), else the default 3%. */
static int auto_thresholds(const char *cur, const char *store_path, struct gate_opts *o,
                           struct gate_metric_threshold **mt, size_t *n_mt)
{
    char err[1024];
    struct results_reader *rd = NULL;
    if (results_reader_open(&rd, cur, err, sizeof err) != 0)
        return cli_error(CLI_EUSAGE, "gate: --threshold auto: %s", err);
    char machine[24];
    const json_t *h = results_reader_header(rd);
    history_fingerprint(json_object_get(h, "environment"), machine, sizeof machine);
    char workload[64];
    snprintf(workload, sizeof workload, "%s",
             json_string_value(json_object_get(json_object_get(h, "workload"), "name")) ?: "");
    results_reader_close(rd);
    struct history_series *s = NULL;
    size_t ns = 0;
    struct history_filter f = { machine, workload, NULL, NULL };
    if (!store_path || history_series_get(store_path, &f, &s, &ns, err, sizeof err) != 0) {
        fprintf(stderr, "ggperf: gate: --threshold auto: no history (%s); using %g%%\n", store_path ? err : "no store",
                o->threshold * 100);
        return 0;
    }
    struct history_cp_opts co;
    history_cp_default(&co);
    for (size_t i = 0; i < ns; i++) {
        double band = history_noise(s[i].value, s[i].n, &co);
        if (!isfinite(band))
            continue;
        double t = 3 * band < 0.01 ? 0.01 : 3 * band;
        size_t k = 0;
        while (k < *n_mt && strcmp((*mt)[k].name, s[i].metric) != 0)
            k++;
        if (k < *n_mt) { /* the widest band over the configurations */
            if (t > (*mt)[k].threshold)
                (*mt)[k].threshold = t;
            continue;
        }
        struct gate_metric_threshold *p = realloc(*mt, (*n_mt + 1) * sizeof *p);
        char *name = strdup(s[i].metric);
        if (!p || !name) {
            free(name);
            if (p)
                *mt = p;
            history_series_free(s, ns);
            return cli_error(CLI_EFAIL, "out of memory");
        }
        *mt = p;
        p[*n_mt].name = name;
        p[*n_mt].threshold = t;
        (*n_mt)++;
        fprintf(stderr, "ggperf: gate: --threshold auto: %s: %.2g%% (3 x its noise band over %zu stored runs)\n",
                s[i].metric, t * 100, s[i].n);
    }
    if (ns == 0)
        fprintf(stderr, "ggperf: gate: --threshold auto: no history for machine %s, workload %s; using %g%%\n",
                machine, workload, o->threshold * 100);
    history_series_free(s, ns);
    o->metric_thresholds = *mt;
    o->n_metric_thresholds = *n_mt;
    return 0;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct gate_opts o;
    gate_opts_default(&o);
    const char *base_arg = NULL, *cur = NULL, *store_path = NULL;
    const char **lists[5] = { NULL, NULL, NULL, NULL, NULL };
    bool threshold_auto = false, history = false;
    const char *branch = NULL;
    int fmt = 0, rc = CLI_EUSAGE;
    struct gate_metric_threshold *mt = NULL;
    size_t n_mt = 0;
    for (int i = 1; i < argc; i++) {
        char flag[64];
        const char *val = NULL, *a = argv[i];
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq && (size_t)(eq - a) < sizeof flag) {
            memcpy(flag, a, (size_t)(eq - a));
            flag[eq - a] = '\0';
            val = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", a);
        }
        if (!strcmp(flag, "--gate-across-cpus") || !strcmp(flag, "--all-metrics") || !strcmp(flag, "--history")) {
            if (val) {
                cli_error(CLI_EUSAGE, "%s takes no value", flag);
                goto done;
            }
            if (flag[2] == 'g')
                o.gate_across_cpus = true;
            else if (flag[2] == 'a')
                o.all_metrics = true;
            else
                history = true;
            continue;
        }
        static const char *const with_value[] = { "--baseline", "--current", "--threshold", "--det-threshold",
                                                  "--alpha", "--inconclusive", "--undecided", "--metrics", "--branch", "-o", "--format", "--store",
                                                  "--higher-is-better", "--lower-is-better", "--deterministic",
                                                  "--ignore", "--metric-threshold", NULL };
        bool known = false;
        for (int k = 0; with_value[k]; k++)
            known = known || !strcmp(flag, with_value[k]);
        if (!known) {
            cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf gate --help)", a);
            goto done;
        }
        if (!val) {
            if (i + 1 >= argc) {
                cli_error(CLI_EUSAGE, "%s needs a value (ggperf gate --help)", flag);
                goto done;
            }
            val = argv[++i];
        }
        if (!strcmp(flag, "--baseline")) {
            base_arg = val;
        } else if (!strcmp(flag, "--current")) {
            cur = val;
        } else if (!strcmp(flag, "--threshold")) {
            if (!strcmp(val, "auto"))
                threshold_auto = true;
            else if (parse_percent(flag, val, &o.threshold) != 0)
                goto done;
        } else if (!strcmp(flag, "--det-threshold")) {
            if (parse_percent(flag, val, &o.det_threshold) != 0)
                goto done;
        } else if (!strcmp(flag, "--alpha")) {
            if (cli_parse_double(flag, val, 1e-12, 0.5, &o.alpha) != 0)
                goto done;
        } else if (!strcmp(flag, "--inconclusive") || !strcmp(flag, "--undecided")) {
            static const char *const pf[] = { "pass", "fail", NULL };
            int c = cli_parse_choice(flag, val, pf);
            if (c < 0)
                goto done;
            o.undecided_pass = c == 0;
        } else if (!strcmp(flag, "-o") || !strcmp(flag, "--format")) {
            static const char *const fmts[] = { "md", "json", NULL };
            if ((fmt = cli_parse_choice(flag, val, fmts)) < 0)
                goto done;
        } else if (!strcmp(flag, "--store")) {
            store_path = val;
        } else if (!strcmp(flag, "--branch")) {
            branch = val;
        } else if (!strcmp(flag, "--metric-threshold")) {
            if (parse_metric_thresholds(val, &mt, &n_mt) != 0)
                goto done;
        } else {
            int k = !strcmp(flag, "--higher-is-better") ? 0 : !strcmp(flag, "--lower-is-better") ? 1
                    : !strcmp(flag, "--deterministic")  ? 2 : !strcmp(flag, "--ignore") ? 3 : 4;
            free(lists[k]);
            if (!(lists[k] = split_list(val))) {
                rc = cli_error(CLI_EFAIL, "out of memory");
                goto done;
            }
        }
    }
    if (!base_arg || !cur) {
        cli_error(CLI_EUSAGE, "--baseline and --current are required (ggperf gate --help)");
        goto done;
    }
    o.higher_better = lists[0];
    o.lower_better = lists[1];
    o.deterministic = lists[2];
    o.ignore = lists[3];
    o.metrics = lists[4];
    char spbuf[PATH_MAX], serr[512];
    if ((history || threshold_auto) && !store_path && store_default_path(spbuf, sizeof spbuf, serr, sizeof serr) == 0)
        store_path = spbuf;
    if (threshold_auto && auto_thresholds(cur, store_path, &o, &mt, &n_mt) != 0)
        goto done;
    o.metric_thresholds = mt;
    o.n_metric_thresholds = n_mt;

    struct tmp_export tmp = { "", "" };
    char base_label[512];
    if (resolve_baseline(base_arg, store_path, &tmp, base_label, sizeof base_label) != 0)
        goto done; /* exit 2: the baseline cannot be had */
    struct gate_report *r = NULL;
    char err[1024];
    int g = gate_compare_files(tmp.path[0] ? tmp.path : base_arg, cur, base_label, cur, &o, &r, err, sizeof err);
    tmp_export_remove(&tmp);
    if (g != GATE_OK) {
        if (fmt == 1) {
            json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "schema", "ggperf-gate", "result", "error", "exit", 2,
                                  "reason", err);
            if (j) {
                json_dumpf(j, stdout, JSON_INDENT(1));
                fputc('\n', stdout);
                json_decref(j);
            }
        }
        /* exit 2 for out of memory too: no verdict was reached, and that is never a pass */
        rc = cli_error(CLI_EUSAGE, "gate: cannot compare: %s", err);
        goto done;
    }
    if (fmt == 1) {
        json_t *j = gate_report_json(r);
        if (!j || json_dumpf(j, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0) {
            json_decref(j);
            gate_report_free(r);
            rc = cli_error(CLI_EUSAGE, "gate: writing the JSON report failed");
            goto done;
        }
        fputc('\n', stdout);
        json_decref(j);
    } else if (gate_write_md(stdout, r) != GATE_OK) {
        gate_report_free(r);
        rc = cli_error(CLI_EUSAGE, "gate: writing the report failed: %s", strerror(errno));
        goto done;
    }
    fflush(stdout);
    if (history) {
        if (!store_path || history_record(store_path, r, cur, branch, err, sizeof err) != 0)
            fprintf(stderr, "ggperf: gate: warning: not stored in the history: %s\n", store_path ? err : "no store");
        else
            fprintf(stderr, "ggperf: gate: stored in the history of %s\n", store_path);
    }
    rc = gate_failed(r);
    if (rc)
        fprintf(stderr, "ggperf: gate: FAIL: %zu regressed, %zu undecided%s\n", r->counts[GATE_REGRESSED],
                r->counts[GATE_UNDECIDED], r->opts.undecided_pass ? " (undecided passes)" : "");
    else
        fprintf(stderr, "ggperf: gate: PASS: no regression (%zu unchanged, %zu improved, %zu undecided, %zu not gated)\n",
                r->counts[GATE_UNCHANGED], r->counts[GATE_IMPROVED], r->counts[GATE_UNDECIDED],
                r->counts[GATE_NOT_GATED]);
    gate_report_free(r);
done:
    for (int k = 0; k < 5; k++)
        free(lists[k]);
    for (size_t k = 0; k < n_mt; k++)
        free((char *)mt[k].name);
    free(mt);
    return rc;
}

const struct cli_cmd cmd_gate = { "gate", "CI regression gate: compare two result sets", run };
