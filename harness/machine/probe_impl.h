/* probe_impl — what the probe files (probe.c, probe_peak.c) share beyond
 * probe.h: the struct metric helpers. Not for use outside
 * harness/machine/probe*.c. */
#ifndef GGPERF_HARNESS_PROBE_IMPL_H
#define GGPERF_HARNESS_PROBE_IMPL_H

#include "results/metric.h"

/* m zeroed, then named, with its unit and source; running fraction 1. */
void probe_metric_init(struct metric *m, const char *name, const char *unit, enum metric_source src);

/* m not had: status st, value 0, the reason from fmt. */
void probe_metric_fail(struct metric *m, enum metric_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
