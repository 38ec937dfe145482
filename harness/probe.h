/* probe — what this machine offers for measurement. */
#ifndef GGPERF_HARNESS_PROBE_H
#define GGPERF_HARNESS_PROBE_H
#endif
