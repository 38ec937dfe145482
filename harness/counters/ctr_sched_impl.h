/* ctr_sched_impl — what the sched backend (ctr_sched.c) takes from
 * sched_tracefs.c: the three tracepoints, their ids and field offsets, and
 * the online CPUs. Not for use outside harness/counters/. */
#ifndef GGPERF_HARNESS_CTR_SCHED_IMPL_H
#define GGPERF_HARNESS_CTR_SCHED_IMPL_H

#include <stddef.h>

enum { TP_SWITCH, TP_WAKEUP, TP_WAKEUP_NEW, TP_N };
extern const char *const sched_tp_names[TP_N]; /* "sched_switch", "sched_wakeup", "sched_wakeup_new" */

/* ids and field offsets of the three tracepoints (wakee `pid`, switch
 * `next_pid` in offs[], switch `prev_pid` in *prev_off); 0, or a CTR_E*
 * code with why filled. */
int sched_tp_lookup(int ids[TP_N], int offs[TP_N], int *prev_off, char *why, size_t why_len);

/* Online CPUs from /sys/devices/system/cpu/online ("0-3,6") into a malloc'd
 * *out; returns how many, or CTR_ENOMEM. */
int sched_online_cpus(int **out);

#endif
