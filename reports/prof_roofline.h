/* prof_roofline — the roofline of a profile: every operation kind a point
 * (arithmetic intensity, attained GFLOP/s), the machine's ceilings from the
 * probe (bandwidth roofs and compute roofs, each labelled with its source),
 * as gnuplot data + script rendered to PNG and SVG.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_PROF_ROOFLINE_H
#define GGPERF_REPORTS_PROF_ROOFLINE_H

#include <stddef.h>
#include <stdio.h>

#include "results/profile.h"

/* The ceiling an op is held to: the read bandwidth roof (or triad when
 * there is no read figure) and the compute roof of the ISA the engine ran
 * (int8 dot for matmuls over quantized weights, f32 FMA otherwise). NULL
 * when the profile has no such ceiling. */
const struct profile_ceiling *prof_roofline_bw(const struct profile *p);
const struct profile_ceiling *prof_roofline_peak(const struct profile *p, const char *op);

/* Attainable GFLOP/s at the op's intensity: min(bw x AI, peak); for an op
 * without FLOPs, its GB/s ceiling. *what gets "bw" or "compute" (the roof
 * that binds). NaN when there is no ceiling. */
double prof_roofline_attainable(const struct profile *p, const struct profile_op *o, const char **what);

/* The op's fraction of its roof: GFLOP/s / attainable, or for an op with
 * no FLOPs GB/s / bandwidth. NaN when unknown. */
double prof_roofline_fraction(const struct profile *p, const struct profile_op *o);

/* Write roofline.dat and roofline.gp into dir_fd and run gnuplot on them
 * (roofline.png, roofline.svg). Returns 0; -1 with err when a file could
 * not be written or gnuplot failed or is missing. */
int prof_roofline_write(int dir_fd, const struct profile *p, char *err, size_t err_len);

#endif
