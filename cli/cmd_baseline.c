/* ggperf baseline — save, show, remove and export named baselines in the
 * results store (harness/store/store.h), for `ggperf gate --baseline NAME`. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "harness/store/store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf baseline save NAME RESULTS.json [--force] [--store PATH]\n"
               "       ggperf baseline show [NAME] [--store PATH]\n"
               "       ggperf baseline rm NAME [--store PATH]\n"
               "       ggperf baseline export NAME OUT.json [--store PATH]\n\n"
               "Named baselines for `ggperf gate --baseline NAME`, kept in one SQLite store.\n"
               "  save     copy a whole results file (JSONL stream or JSON document) into the\n"
               "           store under NAME, with the time and the commit it was measured at;\n"
               "           an existing NAME is kept unless --force\n"
               "  show     list the baselines, or the details of one\n"
               "  rm       delete a baseline\n"
               "  export   write a baseline back out as a results JSON document\n"
               "  --store PATH   the store (default " STORE_SEARCH_ORDER("                 ") ")\n\n"
               "NAME: 1..%d printable ASCII characters, no spaces, not starting with '-'.\n"
               "Exit: 0 ok, 1 failed (no such baseline, name taken, bad results file), 2 usage error.\n",
            STORE_NAME_MAX);
}

static int open_store(const char *store_path, bool create, struct store **s)
{
    char path[PATH_MAX], err[PATH_MAX + 256];
    if (!store_path) {
        if (store_default_path(path, sizeof path, err, sizeof err) != 0)
            return cli_error(CLI_EFAIL, "%s", err);
        store_path = path;
    }
    if (store_open(s, store_path, create, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "%s", err);
    return 0;
}

static void print_details(const struct store_entry *e, const char *doc)
{
    printf("name:      %s\nsaved:     %s\ncommit:    %s (measured)\nsaved by:  ggperf %s\nworkload:  %s\n"
           "source:    %s\nsamples:   %ld over %ld configurations (%ld bytes)\n",
           e->name, e->saved, e->commit[0] ? e->commit : "unknown", e->saved_by, e->workload, e->source, e->n_samples,
           e->n_configs, e->document_bytes);
    json_error_t je;
    json_t *d = json_loads(doc, 0, &je);
    if (!d) {
        printf("document:  does not parse (line %d: %s)\n", je.line, je.text);
        return;
    }
    json_t *env = json_object_get(d, "environment");
    const char *cpu = json_string_value(json_object_get(json_object_get(env, "cpu"), "model_name"));
    const char *cc = json_string_value(json_object_get(json_object_get(env, "build"), "compiler"));
    const char *created = json_string_value(json_object_get(d, "created"));
    printf("measured:  %s\ncpu:       %s\ncompiler:  %s\n", created ? created : "unknown", cpu ? cpu : "unknown",
           cc ? cc : "unknown");
    /* per configuration: axes, repetitions, metrics (from the stats) */
    size_t i;
    json_t *c;
    printf("configurations:\n");
    json_array_foreach(json_object_get(d, "stats"), i, c) {
        char *axes = json_dumps(json_object_get(c, "axes"), JSON_COMPACT);
        printf("  %s: %" JSON_INTEGER_FORMAT " ok of %" JSON_INTEGER_FORMAT " repetitions;", axes ? axes : "?",
               json_integer_value(json_object_get(c, "n_ok")), json_integer_value(json_object_get(c, "n_reps")));
        free(axes);
        size_t k;
        json_t *m;
        json_array_foreach(json_object_get(c, "metrics"), k, m) {
            printf(" %s", json_string_value(json_object_get(m, "name")));
        }
        printf("\n");
    }
    json_decref(d);
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *store_path = NULL, *pos[3] = { NULL, NULL, NULL };
    int n_pos = 0;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--store")) {
            if (i + 1 >= argc)
                return cli_error(CLI_EUSAGE, "--store needs a path");
            store_path = argv[++i];
        } else if (!strncmp(argv[i], "--store=", 8)) {
            store_path = argv[i] + 8;
        } else if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
            force = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf baseline --help)", argv[i]);
        } else if (n_pos < 3) {
            pos[n_pos++] = argv[i];
        } else {
            return cli_error(CLI_EUSAGE, "%s: too many arguments (ggperf baseline --help)", argv[i]);
        }
    }
    if (n_pos == 0)
        return cli_error(CLI_EUSAGE, "which action? save|show|rm|export (ggperf baseline --help)");
    const char *act = pos[0];
    static const char *const acts[] = { "save", "show", "rm", "export", NULL };
    static const int n_args[] = { 3, -1, 2, 3 };
    int a = cli_parse_choice("action", act, acts);
    if (a < 0)
        return CLI_EUSAGE;
    if (n_args[a] > 0 && n_pos != n_args[a])
        return cli_error(CLI_EUSAGE, "baseline %s takes %d argument%s (ggperf baseline --help)", act, n_args[a] - 1,
                         n_args[a] == 2 ? "" : "s");
    if (force && a != 0)
        return cli_error(CLI_EUSAGE, "--force is for baseline save only");
    char err[PATH_MAX + 512];
    if (pos[1] && store_check_name(pos[1], err, sizeof err) != 0)
        return cli_error(CLI_EUSAGE, "%s", err);

    struct store *s = NULL;
    int rc = open_store(store_path, a == 0, &s);
    if (rc != 0)
        return rc;
    rc = CLI_OK;
    if (a == 0) {
        struct store_entry e;
        if (store_save(s, pos[1], pos[2], force, &e, err, sizeof err) != 0)
            rc = cli_error(CLI_EFAIL, "%s", err);
        else
            printf("saved baseline '%s': workload %s, %ld samples over %ld configurations, commit %s\n", e.name,
                   e.workload, e.n_samples, e.n_configs, e.commit[0] ? e.commit : "unknown");
    } else if (a == 1 && pos[1]) {
        struct store_entry e;
        char *doc = NULL;
        if (store_find(s, pos[1], &e, &doc, err, sizeof err) != 0)
            rc = cli_error(CLI_EFAIL, "%s", err);
        else
            print_details(&e, doc);
        free(doc);
    } else if (a == 1) {
        struct store_entry *v = NULL;
        size_t n = 0;
        if (store_list(s, &v, &n, err, sizeof err) != 0) {
            rc = cli_error(CLI_EFAIL, "%s", err);
        } else if (n == 0) {
            printf("no baselines in the store (ggperf baseline save NAME RESULTS.json adds one)\n");
        } else {
            printf("%-24s %-20s %-16s %-14s %8s\n", "NAME", "SAVED", "WORKLOAD", "COMMIT", "SAMPLES");
            for (size_t i = 0; i < n; i++)
                printf("%-24s %-20s %-16s %-14s %8ld\n", v[i].name, v[i].saved, v[i].workload,
                       v[i].commit[0] ? v[i].commit : "unknown", v[i].n_samples);
        }
        free(v);
    } else if (a == 2) {
        if (store_remove(s, pos[1], err, sizeof err) != 0)
            rc = cli_error(CLI_EFAIL, "%s", err);
        else
            printf("removed baseline '%s'\n", pos[1]);
    } else {
        if (store_export(s, pos[1], pos[2], err, sizeof err) != 0)
            rc = cli_error(CLI_EFAIL, "%s", err);
        else
            printf("wrote baseline '%s' to %s\n", pos[1], pos[2]);
    }
    store_close(s);
    return rc;
}

const struct cli_cmd cmd_baseline = { "baseline", "save and show named baselines in the results store", run };
