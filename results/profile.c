/* profile — the per-operation profile format: building, JSON both ways,
 * folded stacks (see profile.h for the schema). */
#include "results/profile.h"
#include "base/err.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

struct profile *profile_new(int n_threads)
{
    if (n_threads < 1 || n_threads > PROFILE_MAX_THREADS)
        return NULL;
    struct profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n_threads = n_threads;
    p->step_unmarked_ns = -1;
    return p;
}

void profile_free(struct profile *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_ops; i++) {
        free(p->ops[i].busy_ns);
        free(p->ops[i].thread_wait_ns);
    }
    free(p->ops);
    free(p);
}

struct profile_op *profile_add_op(struct profile *p, const char *op, int layer)
{
    if (p->n_ops == p->cap_ops) {
        int cap = p->cap_ops ? p->cap_ops * 2 : 64;
        struct profile_op *n = realloc(p->ops, sizeof *n * (size_t)cap);
        if (!n)
            return NULL;
        p->ops = n;
        p->cap_ops = cap;
    }
    struct profile_op *o = &p->ops[p->n_ops];
    memset(o, 0, sizeof *o);
    o->busy_ns = calloc((size_t)p->n_threads, sizeof(double));
    o->thread_wait_ns = calloc((size_t)p->n_threads, sizeof(double));
    if (!o->busy_ns || !o->thread_wait_ns) {
        free(o->busy_ns);
        free(o->thread_wait_ns);
        return NULL;
    }
    copy_str(o->op, sizeof o->op, op);
    o->layer = layer;
    p->n_ops++;
    return o;
}

const struct profile_op *profile_find(const struct profile *p, const char *op, int layer)
{
    for (int i = 0; i < p->n_ops; i++)
        if (p->ops[i].layer == layer && strcmp(p->ops[i].op, op) == 0)
            return &p->ops[i];
    return NULL;
}

bool profile_kind_total(const struct profile *p, const char *op, struct profile_op *out)
{
    bool any = false;
    memset(out, 0, sizeof *out);
    copy_str(out->op, sizeof out->op, op);
    out->layer = -1;
    for (int i = 0; i < p->n_ops; i++) {
        const struct profile_op *o = &p->ops[i];
        if (strcmp(o->op, op) != 0)
            continue;
        any = true;
        out->calls += o->calls;
        out->time_ns += o->time_ns;
        out->wait_ns += o->wait_ns;
        out->overhead_ns += o->overhead_ns;
        out->bytes_weights += o->bytes_weights;
        out->bytes_act += o->bytes_act;
        out->bytes_kv += o->bytes_kv;
        out->flops += o->flops;
    }
    return any;
}

int profile_kinds(const struct profile *p, const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < p->n_ops; i++) {
        int j;
        for (j = 0; j < n; j++)
            if (strcmp(names[j], p->ops[i].op) == 0)
                break;
        if (j == n && n < max)
            names[n++] = p->ops[i].op;
    }
    return n;
}

double profile_op_bytes(const struct profile_op *o) { return o->bytes_weights + o->bytes_act + o->bytes_kv; }

double profile_op_gbps(const struct profile_op *o)
{
    return o->time_ns > 0 && profile_op_bytes(o) > 0 ? profile_op_bytes(o) / o->time_ns : NAN;
}

double profile_op_gflops(const struct profile_op *o)
{
    return o->time_ns > 0 && o->flops > 0 ? o->flops / o->time_ns : NAN;
}

double profile_op_intensity(const struct profile_op *o)
{
    return profile_op_bytes(o) > 0 && o->flops > 0 ? o->flops / profile_op_bytes(o) : NAN;
}

const struct profile_ceiling *profile_ceiling_find(const struct profile *p, const char *name)
{
    for (int i = 0; i < p->n_ceilings; i++)
        if (strcmp(p->ceilings[i].name, name) == 0)
            return &p->ceilings[i];
    return NULL;
}

/* ---- JSON ---------------------------------------------------------------- */

/* A finite number, or null (JSON has no NaN). */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *darray(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, num(v[i]));
    return a;
}

json_t *profile_to_json(const struct profile *p)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "schema", json_string(PROFILE_SCHEMA));
    json_object_set_new(j, "version", json_integer(PROFILE_VERSION));
    json_object_set_new(j, "created", json_string(p->created));
    json_object_set_new(j, "model", json_pack("{s:s,s:s,s:s,s:i}", "path", p->model_path, "desc", p->model_desc,
                                              "type", p->model_type, "n_layer", p->n_layer));
    json_object_set_new(j, "mode", json_string(p->mode));
    json_object_set_new(j, "threads", json_integer(p->n_threads));
    json_object_set_new(j, "steps", json_integer(p->n_steps));
    json_object_set_new(j, "tokens_per_step", json_integer(p->tokens_per_step));
    json_object_set_new(j, "pos0", json_integer(p->pos0));
    json_object_set_new(j, "isa", json_string(p->isa));
    json_object_set_new(j, "kv", json_string(p->kv));
    json_object_set_new(j, "step_ns", num(p->step_ns));
    json_object_set_new(j, "step_raw_ns", num(p->step_raw_ns));
    json_object_set_new(j, "step_unmarked_ns", p->step_unmarked_ns >= 0 ? num(p->step_unmarked_ns) : json_null());
    json_object_set_new(j, "marker_ns", num(p->marker_ns));
    json_object_set_new(j, "overhead_ns", num(p->overhead_ns));
    json_object_set_new(j, "sim", json_string(p->sim_note));
    json_object_set_new(j, "hw", json_string(p->hw_note));
    json_t *ce = json_array();
    for (int i = 0; i < p->n_ceilings; i++) {
        const struct profile_ceiling *c = &p->ceilings[i];
        json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:s}", "name", c->name, "kind", c->kind, "value", num(c->value),
                              "unit", strcmp(c->kind, "bw") == 0 ? "GB/s" : "GFLOP/s", "source", c->source);
        json_array_append_new(ce, o);
    }
    json_object_set_new(j, "ceilings", ce);
    json_t *ops = json_array();
    for (int i = 0; i < p->n_ops; i++) {
        const struct profile_op *o = &p->ops[i];
        json_t *r = json_object();
        json_object_set_new(r, "op", json_string(o->op));
        json_object_set_new(r, "layer", json_integer(o->layer));
        json_object_set_new(r, "calls", num(o->calls));
        json_object_set_new(r, "time_ns", num(o->time_ns));
        json_object_set_new(r, "wait_ns", num(o->wait_ns));
        json_object_set_new(r, "overhead_ns", num(o->overhead_ns));
        json_object_set_new(r, "bytes_weights", num(o->bytes_weights));
        json_object_set_new(r, "bytes_act", num(o->bytes_act));
        json_object_set_new(r, "bytes_kv", num(o->bytes_kv));
        json_object_set_new(r, "flops", num(o->flops));
        json_object_set_new(r, "busy_ns", darray(o->busy_ns, p->n_threads));
        json_object_set_new(r, "thread_wait_ns", darray(o->thread_wait_ns, p->n_threads));
        json_array_append_new(ops, r);
    }
    json_object_set_new(j, "ops", ops);
    json_t *sim = json_array();
    for (int i = 0; i < p->n_sim; i++)
        json_array_append_new(sim, json_pack("{s:s,s:o,s:o,s:o}", "op", p->sim[i].op, "instructions",
                                             num(p->sim[i].instructions), "d1_misses", num(p->sim[i].d1_misses),
                                             "ll_misses", num(p->sim[i].ll_misses)));
    json_object_set_new(j, "sim_ops", sim);
    return j;
}

/* Readers: a missing or mistyped field is a format error naming it. */
struct rd {
    char *err;
    size_t err_len;
    int rc;
};

static double rd_num(struct rd *r, const json_t *o, const char *key, bool nullable)
{
    json_t *v = json_object_get(o, key);
    if (v && json_is_number(v))
        return json_number_value(v);
    if (v && json_is_null(v) && nullable)
        return NAN;
    if (r->rc == 0)
        r->rc = err_fail(r->err, r->err_len, PROFILE_EFORMAT, "profile: field \"%s\" is %s (a number expected)", key,
                     v ? "not a number" : "missing");
    return NAN;
}

static void rd_str(struct rd *r, const json_t *o, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (v && json_is_string(v)) {
        copy_str(dst, cap, json_string_value(v));
        return;
    }
    if (r->rc == 0)
        r->rc = err_fail(r->err, r->err_len, PROFILE_EFORMAT, "profile: field \"%s\" is %s (a string expected)", key,
                     v ? "not a string" : "missing");
}

static void rd_darray(struct rd *r, const json_t *o, const char *key, double *dst, int n)
{
    json_t *a = json_object_get(o, key);
    if (!a || !json_is_array(a) || (int)json_array_size(a) != n) {
        if (r->rc == 0)
            r->rc = err_fail(r->err, r->err_len, PROFILE_EFORMAT,
                         "profile: field \"%s\" is not an array of %d numbers (one per thread)", key, n);
        return;
    }
    for (int i = 0; i < n; i++) {
        json_t *v = json_array_get(a, (size_t)i);
        dst[i] = json_is_number(v) ? json_number_value(v) : NAN;
    }
}

int profile_from_json(const json_t *j, struct profile **out, char *err, size_t err_len)
{
    *out = NULL;
    json_t *s = json_object_get(j, "schema");
    if (!json_is_object(j) || !s || !json_is_string(s) || strcmp(json_string_value(s), PROFILE_SCHEMA) != 0)
        return err_fail(err, err_len, PROFILE_EFORMAT, "not a ggperf profile (\"schema\" is not \"%s\")", PROFILE_SCHEMA);
    json_t *v = json_object_get(j, "version");
    if (!json_is_integer(v) || json_integer_value(v) != PROFILE_VERSION)
        return err_fail(err, err_len, PROFILE_EFORMAT, "profile version %lld is not %d, the one this build reads",
                    v && json_is_integer(v) ? (long long)json_integer_value(v) : -1LL, PROFILE_VERSION);
    struct rd r = { err, err_len, 0 };
    double nt = rd_num(&r, j, "threads", false);
    if (r.rc)
        return r.rc;
    if (!(nt >= 1 && nt <= PROFILE_MAX_THREADS))
        return err_fail(err, err_len, PROFILE_EFORMAT, "profile: \"threads\" %g is outside 1..%d", nt, PROFILE_MAX_THREADS);
    struct profile *p = profile_new((int)nt);
    if (!p)
        return err_fail(err, err_len, PROFILE_ENOMEM, "out of memory reading a profile");
    rd_str(&r, j, "created", p->created, sizeof p->created);
    json_t *m = json_object_get(j, "model");
    if (!json_is_object(m) && r.rc == 0)
        r.rc = err_fail(err, err_len, PROFILE_EFORMAT, "profile: field \"model\" is missing or not an object");
    if (r.rc == 0) {
        rd_str(&r, m, "path", p->model_path, sizeof p->model_path);
        rd_str(&r, m, "desc", p->model_desc, sizeof p->model_desc);
        rd_str(&r, m, "type", p->model_type, sizeof p->model_type);
        p->n_layer = (int)rd_num(&r, m, "n_layer", false);
    }
    rd_str(&r, j, "mode", p->mode, sizeof p->mode);
    p->n_steps = (int)rd_num(&r, j, "steps", false);
    p->tokens_per_step = (int)rd_num(&r, j, "tokens_per_step", false);
    p->pos0 = (int)rd_num(&r, j, "pos0", false);
    rd_str(&r, j, "isa", p->isa, sizeof p->isa);
    rd_str(&r, j, "kv", p->kv, sizeof p->kv);
    p->step_ns = rd_num(&r, j, "step_ns", false);
    p->step_raw_ns = rd_num(&r, j, "step_raw_ns", false);
    double un = rd_num(&r, j, "step_unmarked_ns", true);
    p->step_unmarked_ns = isfinite(un) ? un : -1;
    p->marker_ns = rd_num(&r, j, "marker_ns", false);
    p->overhead_ns = rd_num(&r, j, "overhead_ns", false);
    rd_str(&r, j, "sim", p->sim_note, sizeof p->sim_note);
    rd_str(&r, j, "hw", p->hw_note, sizeof p->hw_note);
    json_t *ce = json_object_get(j, "ceilings");
    if (r.rc == 0 && !json_is_array(ce))
        r.rc = err_fail(err, err_len, PROFILE_EFORMAT, "profile: field \"ceilings\" is missing or not an array");
    for (size_t i = 0; r.rc == 0 && i < json_array_size(ce) && p->n_ceilings < PROFILE_MAX_CEILINGS; i++) {
        json_t *c = json_array_get(ce, i);
        struct profile_ceiling *pc = &p->ceilings[p->n_ceilings++];
        rd_str(&r, c, "name", pc->name, sizeof pc->name);
        rd_str(&r, c, "kind", pc->kind, sizeof pc->kind);
        rd_str(&r, c, "source", pc->source, sizeof pc->source);
        pc->value = rd_num(&r, c, "value", true);
    }
    json_t *ops = json_object_get(j, "ops");
    if (r.rc == 0 && !json_is_array(ops))
        r.rc = err_fail(err, err_len, PROFILE_EFORMAT, "profile: field \"ops\" is missing or not an array");
    for (size_t i = 0; r.rc == 0 && i < json_array_size(ops); i++) {
        json_t *o = json_array_get(ops, i);
        char name[24] = "";
        rd_str(&r, o, "op", name, sizeof name);
        int layer = (int)rd_num(&r, o, "layer", false);
        if (r.rc)
            break;
        struct profile_op *po = profile_add_op(p, name, layer);
        if (!po) {
            r.rc = err_fail(err, err_len, PROFILE_ENOMEM, "out of memory reading a profile");
            break;
        }
        po->calls = rd_num(&r, o, "calls", false);
        po->time_ns = rd_num(&r, o, "time_ns", false);
        po->wait_ns = rd_num(&r, o, "wait_ns", false);
        po->overhead_ns = rd_num(&r, o, "overhead_ns", false);
        po->bytes_weights = rd_num(&r, o, "bytes_weights", false);
        po->bytes_act = rd_num(&r, o, "bytes_act", false);
        po->bytes_kv = rd_num(&r, o, "bytes_kv", false);
        po->flops = rd_num(&r, o, "flops", false);
        rd_darray(&r, o, "busy_ns", po->busy_ns, p->n_threads);
        rd_darray(&r, o, "thread_wait_ns", po->thread_wait_ns, p->n_threads);
    }
    json_t *sim = json_object_get(j, "sim_ops");
    for (size_t i = 0; r.rc == 0 && json_is_array(sim) && i < json_array_size(sim) && p->n_sim < PROFILE_MAX_SIM; i++) {
        json_t *o = json_array_get(sim, i);
        struct profile_sim *ps = &p->sim[p->n_sim++];
        rd_str(&r, o, "op", ps->op, sizeof ps->op);
        ps->instructions = rd_num(&r, o, "instructions", true);
        ps->d1_misses = rd_num(&r, o, "d1_misses", true);
        ps->ll_misses = rd_num(&r, o, "ll_misses", true);
    }
    if (r.rc) {
        profile_free(p);
        return r.rc;
    }
    *out = p;
    return PROFILE_OK;
}

int profile_write_file(const struct profile *p, const char *path, char *err, size_t err_len)
{
    json_t *j = profile_to_json(p);
    if (!j)
        return err_fail(err, err_len, PROFILE_ENOMEM, "out of memory writing the profile");
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        json_decref(j);
        return err_fail(err, err_len, PROFILE_EINVAL, "%s: path too long", path);
    }
    int rc = json_dump_file(j, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (rc != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return err_fail(err, err_len, PROFILE_EIO, "%s: cannot write the profile (%s)", path, strerror(e));
    }
    return PROFILE_OK;
}

int profile_read_file(const char *path, struct profile **out, char *err, size_t err_len)
{
    *out = NULL;
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) {
        if (je.line < 1)
            return err_fail(err, err_len, PROFILE_EIO, "%s: %s", path, je.text);
        return err_fail(err, err_len, PROFILE_EFORMAT, "%s:%d: not JSON: %s", path, je.line, je.text);
    }
    char msg[256] = "";
    int rc = profile_from_json(j, out, msg, sizeof msg);
    json_decref(j);
    if (rc)
        return err_fail(err, err_len, rc, "%s: %s", path, msg);
    return PROFILE_OK;
}

/* ---- folded stacks -------------------------------------------------------- */

static int folded_line(FILE *f, const struct profile *p, const struct profile_op *o, const char *leaf, double ns)
{
    long long v = llround(ns);
    if (!(ns > 0) || v <= 0)
        return 0;
    int w = o->layer >= 0 ? fprintf(f, "%s;layer %d;%s;%s %lld\n", p->mode, o->layer, o->op, leaf, v)
                          : fprintf(f, "%s;%s;%s %lld\n", p->mode, o->op, leaf, v);
    return w < 0 ? PROFILE_EIO : 0;
}

int profile_write_folded(const struct profile *p, FILE *f)
{
    for (int i = 0; i < p->n_ops; i++) {
        const struct profile_op *o = &p->ops[i];
        for (int t = 0; t < p->n_threads; t++) {
            char leaf[64];
            snprintf(leaf, sizeof leaf, "thread %d", t);
            if (folded_line(f, p, o, leaf, o->busy_ns[t]))
                return PROFILE_EIO;
            snprintf(leaf, sizeof leaf, "thread %d;barrier wait", t);
            if (folded_line(f, p, o, leaf, o->thread_wait_ns[t]))
                return PROFILE_EIO;
        }
    }
    return ferror(f) ? PROFILE_EIO : PROFILE_OK;
}
