/* trust — does a configuration need more repetitions before its primary
 * figures can be trusted?
 *
 * `ggperf run --until-trusted MAX` (and the demo) keep repeating a
 * configuration while the sample of any of its primary metrics (declared
 * gated samples: tokens_per_s, ready_ns, ...) is flagged noisy by
 * stats_summarize with the default limits (the same flag the tables and
 * the report's conclusions show), up to MAX repetitions. A flag that comes
 * from too few samples (a wide CI of the median, or a MAD estimated from 10
 * values) goes away with more of them; one that is a real property of the
 * configuration stays, and the report still shows it.
 *
 * Stopping when the flag clears is optional stopping: it favours an
 * unflagged result slightly. It only decides how many repetitions to spend;
 * the statistics of the final sample are computed as always.
 *
 * Ownership: struct trust owns copies of the values it is given; the
 * workload's metric table is borrowed and must outlive it.
 */
#ifndef GGPERF_HARNESS_TRUST_H
#define GGPERF_HARNESS_TRUST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "results/metric.h"

struct trust;

/* A keeper for n_configs configurations of a workload whose metric table
 * is decls[0..n_decls). *out is NULL (and 0 returned) when the table
 * declares no primary sample metric: then nothing is ever wanted. Returns
 * 0, or -1 when out of memory. */
int trust_new(struct trust **out, const struct metric_decl *decls, int n_decls, int n_configs);

/* Add one successful repetition of configuration cfg: its figures m[0..n)
 * (those with status OK among the primary ones are kept). */
int trust_add(struct trust *t, int cfg, const struct metric *m, int n);

/* The same from a sample record of a results stream (on resume). */
int trust_add_json(struct trust *t, int cfg, const json_t *sample);

/* Does configuration cfg need another repetition? When so, why gets
 * "METRIC: WARNING" (may be NULL). False for a NULL keeper. */
bool trust_wants_more(const struct trust *t, int cfg, char *why, size_t len);

void trust_free(struct trust *t);

#endif
