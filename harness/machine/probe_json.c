/* probe_json — struct probe_info, its metrics, CPU identity, caches and the
 * engine's kernel variants as jansson objects (results files embed them;
 * `ggperf probe --json` prints them). Apart from probe.c: printing, not
 * probing. */
#include "harness/machine/probe.h"

#include <stdlib.h>

#include "engine/quant.h"

/* ---- JSON -------------------------------------------------------------- */

json_t *probe_metric_to_json(const struct metric *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(m->name));
    json_object_set_new(o, "unit", json_string(m->unit ? m->unit : ""));
    json_object_set_new(o, "source", json_string(metric_source_name(m->source)));
    json_object_set_new(o, "status", json_string(metric_status_name(m->status)));
    if (m->status == METRIC_OK)
        json_object_set_new(o, "value", json_real(m->value));
    else
        json_object_set_new(o, "reason", json_string(m->reason[0] ? m->reason : "no reason recorded"));
    if (m->source == METRIC_SRC_HW)
        json_object_set_new(o, "running_fraction", json_real(m->running_fraction));
    return o;
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

json_t *probe_cpu_json(const struct cpuinfo_cpu *c)
{
    char name[96];
    cpuinfo_cpu_name(c, name, sizeof name);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "vendor", str_or_null(c->vendor));
    json_object_set_new(o, "family", c->family >= 0 ? json_integer(c->family) : json_null());
    json_object_set_new(o, "model", c->model >= 0 ? json_integer(c->model) : json_null());
    json_object_set_new(o, "stepping", c->stepping >= 0 ? json_integer(c->stepping) : json_null());
    json_object_set_new(o, "hypervisor", json_boolean(c->hypervisor));
    json_object_set_new(o, "microarchitecture", str_or_null(c->uarch));
    json_object_set_new(o, "microarchitecture_basis", str_or_null(c->uarch_basis));
    return o;
}

json_t *probe_kernels_json(void)
{
    struct quant_kernels k;
    quant_kernels_init(&k, QISA_AVX512);
    const char *off = getenv("GGPERF_CPU_DISABLE");
    json_t *o = json_object(), *types = json_object();
    if (!o || !types) {
        json_decref(o);
        json_decref(types);
        return NULL;
    }
    for (int t = 0; t < QT_COUNT; t++)
        if (k.dot_variant[t])
            json_object_set_new(types, quant_type_name(t),
                                json_pack("{s:s, s:o}", "dot", k.dot_variant[t], "gemm",
                                          k.gemm_variant[t] ? json_string(k.gemm_variant[t]) : json_null()));
    json_object_set_new(o, "isa", json_string(quant_isa_name(k.isa)));
    json_object_set_new(o, "attn_f16", json_string(k.attn_variant ? k.attn_variant : "?"));
    json_object_set_new(o, "cpu_disable", off && *off ? json_string(off) : json_null());
    json_object_set_new(o, "types", types);
    return o;
}

json_t *probe_caches_json(const struct cpuinfo_caches *cs)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (int i = 0; i < cs->n; i++) {
        const struct cpuinfo_cache *c = &cs->c[i];
        json_t *e = json_object();
        json_object_set_new(e, "level", json_integer(c->level));
        json_object_set_new(e, "type", json_string(c->type));
        json_object_set_new(e, "size_bytes", json_integer((json_int_t)c->size_bytes));
        json_object_set_new(e, "ways", json_integer(c->ways));
        json_object_set_new(e, "line_bytes", json_integer(c->line_bytes));
        json_object_set_new(e, "sets", c->sets ? json_integer(c->sets) : json_null());
        json_object_set_new(e, "shared_cpus", str_or_null(c->shared_cpus));
        json_object_set_new(e, "source", json_string(cpuinfo_source_name(cs->source)));
        json_array_append_new(arr, e);
    }
    return arr;
}

int probe_to_json(const struct probe_info *p, json_t **out)
{
    json_t *o = json_object(), *hw = json_array(), *caches = json_array(), *bw = json_array();
    *out = NULL;
    if (!o || !hw || !caches || !bw) {
        json_decref(o);
        json_decref(hw);
        json_decref(caches);
        json_decref(bw);
        return CTR_ENOMEM;
    }
    json_object_set_new(o, "cpu_model", json_string(p->cpu_model));
    json_object_set_new(o, "cpu", probe_cpu_json(&p->cpu));
    json_object_set_new(o, "kernels", probe_kernels_json());
    json_object_set_new(o, "online_cpus", json_integer(p->n_cpus));
    json_object_set_new(o, "kernel", json_string(p->kernel));
    json_t *pmu = json_object();
    json_object_set_new(pmu, "present", json_boolean(p->pmu_present));
    json_object_set_new(pmu, "reason", str_or_null(p->pmu_reason));
    json_object_set_new(pmu, "libpfm4_pmu", str_or_null(p->pfm_pmu));
    json_object_set_new(o, "pmu", pmu);
    if (p->perf_event_paranoid != INT32_MIN)
        json_object_set_new(o, "perf_event_paranoid", json_integer(p->perf_event_paranoid));
    else
        json_object_set_new(o, "perf_event_paranoid", json_null());
    for (int i = 0; i < p->n_hw; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "event", json_string(p->hw[i].name));
        json_object_set_new(e, "metric", json_string(p->hw[i].metric));
        json_object_set_new(e, "encoding", str_or_null(p->hw[i].encoding));
        json_object_set_new(e, "opens", json_boolean(p->hw[i].opens));
        json_object_set_new(e, "reason", p->hw[i].opens ? json_null() : json_string(p->hw[i].reason));
        json_array_append_new(hw, e);
    }
    json_object_set_new(o, "hw_events", hw);
    json_t *sw = json_object();
    json_object_set_new(sw, "ok", json_boolean(p->sw_ok));
    json_object_set_new(sw, "reason", str_or_null(p->sw_reason));
    json_object_set_new(o, "sw_events", sw);
    json_t *tp = json_object();
    json_object_set_new(tp, "ok", json_boolean(p->tracepoints_ok));
    json_object_set_new(tp, "tracefs", str_or_null(p->tracefs));
    json_object_set_new(tp, "reason", str_or_null(p->tracepoints_reason));
    json_object_set_new(o, "sched_tracepoints", tp);
    json_t *vg = json_object();
    json_object_set_new(vg, "ok", json_boolean(p->valgrind_ok));
    json_object_set_new(vg, p->valgrind_ok ? "version" : "reason", json_string(p->valgrind));
    json_object_set_new(o, "valgrind", vg);
    json_t *thp = json_object();
    json_object_set_new(thp, "enabled", json_string(p->thp_enabled));
    json_object_set_new(thp, "defrag", json_string(p->thp_defrag));
    json_object_set_new(o, "reclaim", json_string(p->reclaim));
    json_object_set_new(o, "thp", thp);
    json_decref(caches);
    json_object_set_new(o, "caches", probe_caches_json(&p->caches));
    json_object_set_new(o, "caches_source", json_string(cpuinfo_source_name(p->caches.source)));
    json_object_set_new(o, "caches_reason", p->caches.n ? json_null() : json_string(p->caches.why));
    json_t *b = json_object();
    json_object_set_new(b, "array_bytes", json_integer((json_int_t)p->bw_array_bytes));
    json_object_set_new(b, "arrays", json_integer(3));
    json_object_set_new(b, "best_of", json_integer(p->bw_reps));
    json_object_set_new(b, "quick", json_boolean((p->flags & PROBE_QUICK) != 0));
    json_object_set_new(b, "madv_hugepage", json_true());
    for (int i = 0; i < p->n_bw; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "threads", json_integer(p->bw[i].threads));
        json_object_set_new(e, "copy_gbps", probe_metric_to_json(&p->bw[i].copy_gbps));
        json_object_set_new(e, "triad_gbps", probe_metric_to_json(&p->bw[i].triad_gbps));
        json_array_append_new(bw, e);
    }
    json_object_set_new(b, "rows", bw);
    json_object_set_new(b, "peak_copy_gbps", probe_metric_to_json(&p->peak_copy_gbps));
    json_object_set_new(b, "peak_triad_gbps", probe_metric_to_json(&p->peak_triad_gbps));
    json_object_set_new(o, "bandwidth", b);
    json_t *cs = json_object();
    json_object_set_new(cs, "pinned_cpu", p->ctxsw_cpu >= 0 ? json_integer(p->ctxsw_cpu) : json_null());
    json_object_set_new(cs, "round_trips", json_integer(p->ctxsw_rounds));
    json_object_set_new(cs, "futex_ns_per_switch", probe_metric_to_json(&p->ctxsw_futex_ns));
    json_object_set_new(cs, "pipe_ns_per_switch", probe_metric_to_json(&p->ctxsw_pipe_ns));
    json_object_set_new(o, "ctxswitch", cs);
    *out = o;
    return 0;
}
