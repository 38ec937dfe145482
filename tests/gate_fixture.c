/* gate_fixture.c — results files and helpers for the gate suites (see
 * gate_fixture.h); shared by test_gate.c, test_gate_stats.c and
 * test_gate_history.c, so it lives outside any one suite. */
#include "tests/gate_fixture.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "results/results.h"
#include "tests/testutil.h"

/* ---- writing results files ------------------------------------------------ */

double gfix_uniform(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return ((*state >> 8) & 0xffff) / 32767.5 - 1.0;
}

/* A JSON results document at path with the given metrics per repetition. */
void gfix_write_doc(const char *path, const struct fspec *f, const struct mspec *ms, int n_ms)
{
    static const char *const dflt[] = { "s", "m" };
    const char *const *vals = f->values ? f->values : dflt;
    int nv = f->values ? f->n_values : 2;
    json_t *axes_vals = json_array();
    for (int i = 0; i < nv; i++)
        json_array_append_new(axes_vals, json_string(vals[f->reverse_configs ? nv - 1 - i : i]));
    json_t *configs = json_array();
    for (int i = 0; i < nv; i++)
        json_array_append_new(configs, json_pack("{s:i, s:{s:s}}", "id", i, "axes", "size",
                                                 vals[f->reverse_configs ? nv - 1 - i : i]));
    json_t *env = json_pack("{s:{s:s}, s:{s:s, s:s, s:s}}", "cpu", "model_name", f->cpu ? f->cpu : "Test CPU 1000",
                            "build", "commit", f->commit ? f->commit : "abc123", "compiler", "cc 12", "flags", "-O2");
    if (f->cpu_name)
        json_object_set_new(json_object_get(env, "cpu"), "name", json_string(f->cpu_name));
    json_t *doc = json_pack("{s:s, s:i, s:{s:s}, s:[{s:s, s:o}], s:o, s:o, s:n}", "schema", RESULTS_SCHEMA, "version",
                            RESULTS_VERSION, "workload", "name", f->workload ? f->workload : "fake", "axes", "name",
                            "size", "values", axes_vals, "configs", configs, "environment", env, "probe");
    ck_assert_ptr_nonnull(doc);
    json_t *samples = json_array();
    unsigned st = f->seed ? f->seed : 1;
    for (int i = 0; i < nv; i++) {
        const char *v = vals[f->reverse_configs ? nv - 1 - i : i];
        int rank = 0; /* the value's position in vals: the same figure whatever the id */
        for (int k = 0; k < nv; k++)
            if (strcmp(vals[k], v) == 0)
                rank = k;
        for (int r = 0; r < f->reps; r++) {
            json_t *metrics = json_array();
            for (int m = 0; m < n_ms; m++) {
                double x = ms[m].base * (1 + rank) * (1 + ms[m].noise * gfix_uniform(&st));
                bool scaled = (!f->scale_only || strcmp(f->scale_only, v) == 0) &&
                              (!f->scale_metric || strcmp(f->scale_metric, ms[m].name) == 0);
                if (scaled)
                    x *= f->scale;
                json_t *jm = json_pack("{s:s, s:s, s:s, s:s, s:f}", "name", ms[m].name, "unit", ms[m].unit,
                                       "source", ms[m].source, "status", "ok", "value", x);
                if (ms[m].better) {
                    json_object_set_new(jm, "better", json_string(ms[m].better));
                    json_object_set_new(jm, "kind", json_string(ms[m].kind));
                    json_object_set_new(jm, "gated", json_boolean(ms[m].gated));
                    if (ms[m].tolerance > 0)
                        json_object_set_new(jm, "tolerance", json_real(ms[m].tolerance));
                }
                json_array_append_new(metrics, jm);
            }
            bool failed = f->fail_config && strcmp(f->fail_config, v) == 0;
            if (failed)
                json_array_clear(metrics);
            json_array_append_new(samples, json_pack("{s:s, s:i, s:i, s:{s:s}, s:b, s:s?, s:o}", "kind", "sample",
                                                     "config", i, "rep", r, "axes", "size", v, "ok", !failed, "error",
                                                     failed ? "boom: model exploded" : NULL, "metrics", metrics));
        }
    }
    json_object_set_new(doc, "samples", samples);
    json_object_set_new(doc, "complete", json_true());
    ck_assert_int_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
}

const struct mspec gfix_timing[1] = { { "decode_ns", "ns", "time", 1e6, 0.01, "lower", "sample", true, 0 } };

char gfix_out[1 << 20], gfix_err[8192];

/* Run ggperf gate with args; returns the exit status. */
int gfix_gate_cli(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s gate %s", tu_ggperf_bin(), args);
    return tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err);
}

struct gate_report *gfix_compare(const char *base, const char *cur, const struct gate_opts *o)
{
    struct gate_opts d;
    gate_opts_default(&d);
    struct gate_report *r = NULL;
    char err[512];
    int rc = gate_compare_files(base, cur, NULL, NULL, o ? o : &d, &r, err, sizeof err);
    ck_assert_msg(rc == GATE_OK, "gate_compare_files: %d %s", rc, err);
    return r;
}

const struct gate_row *gfix_find_row(const struct gate_report *r, const char *config, const char *metric)
{
    for (size_t i = 0; i < r->n_rows; i++)
        if (strcmp(r->rows[i].config, config) == 0 && strcmp(r->rows[i].metric, metric) == 0)
            return &r->rows[i];
    ck_abort_msg("no row %s / %s", config, metric);
    return NULL;
}

void gfix_paths(const char *dir, char *base, char *cur, size_t len)
{
    snprintf(base, len, "%s/base.json", dir);
    snprintf(cur, len, "%s/cur.json", dir);
}
