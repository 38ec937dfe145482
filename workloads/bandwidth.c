/* bandwidth — the STREAM-style memory bandwidth probe (harness/machine/probe.h)
 * as a workload, so it can be swept, repeated and compared like the rest:
 * per repetition, copy (c = a) and triad (a = b + s*c) over three arrays of
 * `mib` MiB each with `threads` threads, best of 3 passes of each.
 *
 * Figures (source derived, STREAM's byte convention: 16 or 24 bytes per
 * element moved, no write-allocate): copy_gbps, triad_gbps, and the
 * array size. Arrays smaller than the last-level cache measure cache
 * bandwidth, not memory: the default of 256 MiB is below the 480 MiB LLC
 * some VMs report (probe_bw_default_bytes picks 4 x LLC; `ggperf probe`
 * prints the geometry). Each repetition allocates and first-touches the
 * arrays outside the timed passes.
 */
#include <stdlib.h>

#include "harness/machine/probe.h"
#include "harness/run/workload.h"

enum { AX_THREADS, AX_MIB, AX_N };

static const struct workload_axis bandwidth_axes[AX_N] = {
    { "threads", "threads running the kernels", WORKLOAD_AXIS_INT, NULL, 1, 1024, "1,2" },
    { "mib", "size of each of the three arrays, MiB", WORKLOAD_AXIS_INT, NULL, 1, 1 << 20, "256" },
};

struct bandwidth_state {
    int threads;
    uint64_t bytes;
};

static int bandwidth_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct bandwidth_state *s = malloc(sizeof *s);
    if (!s) {
        snprintf(err, err_len, "bandwidth: out of memory");
        return -1;
    }
    s->threads = (int)cfg->num[AX_THREADS];
    s->bytes = (uint64_t)cfg->num[AX_MIB] << 20;
    *state = s;
    return 0;
}

static int bandwidth_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct bandwidth_state *s = state;
    struct probe_bw_opts o = { .array_bytes = s->bytes, .reps = 3, .threads = &s->threads, .n_threads = 1 };
    struct probe_bw_row row;
    if (probe_bandwidth(&o, &row, err, err_len) != 1)
        return -1;
    row.copy_gbps.unit = "GB/s";
    row.triad_gbps.unit = "GB/s";
    snprintf(row.copy_gbps.name, sizeof row.copy_gbps.name, "copy_gbps");
    snprintf(row.triad_gbps.name, sizeof row.triad_gbps.name, "triad_gbps");
    if (out->n + 2 <= WORKLOAD_MAX_METRICS) {
        out->m[out->n++] = row.copy_gbps;
        out->m[out->n++] = row.triad_gbps;
    }
    workload_emit(out, "array_bytes", "bytes", METRIC_SRC_DERIVED, (double)s->bytes);
    return 0;
}

static void bandwidth_teardown(void *state)
{
    free(state);
}

/* The primary set: the runner's bandwidth of the kernel (work() / run_ns). */
static const struct metric_decl bandwidth_metrics[] = {
    { "bandwidth_gbps", METRIC_SEM(HIGHER, SAMPLE, true) },
    { "array_bytes", METRIC_SEM(NEITHER, INFO, false) },
};

const struct workload workload_bandwidth = {
    WORKLOAD_METRICS(bandwidth_metrics),
    .name = "bandwidth",
    .description = "STREAM copy and triad memory bandwidth per thread count (the probe as a sweep)",
    .axes = bandwidth_axes,
    .n_axes = AX_N,
    .flags = 0,
    .setup = bandwidth_setup,
    .run = bandwidth_run,
    .work = NULL, /* the probe times its own passes; run() also allocates the arrays */
    .teardown = bandwidth_teardown,
};
