/* fmt — the one way ggperf writes a number for a person.
 *
 * Reports, the results views, the regression gate and the command line all
 * format figures through here, so a time, a size or a spread reads the same
 * everywhere:
 *
 *   units        ns -> ns/µs/ms/s, bytes -> B/KiB/MiB/GiB (powers of 1024),
 *                count -> plain up to 10^7, then thousand/million/billion
 *                words in a column, k/M/G beside a single figure
 *   digits       three significant digits for a figure alone; with a spread,
 *                the spread to one or two significant digits and the figure
 *                to the same decimal place (so 862 ± 0.002 reads 862.000 ±
 *                0.002, capped at six significant digits)
 *   no exponent  below 10^15: people read 0.00012 s as 120 µs, never 1.2e-04
 *
 * Nothing here allocates, prints or fails: every function writes into the
 * caller's buffer (cut short when it is too small).
 */
#ifndef GGPERF_RESULTS_FMT_H
#define GGPERF_RESULTS_FMT_H

#include <stddef.h>
#include <stdint.h>

/* A display unit and the divisor that brings values into it. */
struct fmt_scale {
    const char *unit;   /* static string: "ms", "MiB", or the unit as given */
    double div;         /* value / div is in unit */
};

/* The display unit for values of unit ("ns", "bytes", "count", anything
 * else unchanged) whose largest magnitude is max_abs. */
struct fmt_scale fmt_scale_for(const char *unit, double max_abs);

/* Decimals that show sig significant digits of v (0 for |v| >= 10^(sig-1)
 * and for v == 0; at most 9). */
int fmt_decimals(double v, int sig);

/* v with sig significant digits in fixed notation, e.g. 0.0123, 12.3, 1234. */
void fmt_sig(char *buf, size_t len, double v, int sig);

/* v in unit, scaled to a readable unit with three significant digits:
 * "1.23 ms", "137 MiB", "12.3 tok/s"; a whole count gets thousands
 * separators ("12,345"). NaN: "—". A unit of "count" or "" prints none. */
void fmt_value(char *buf, size_t len, double v, const char *unit);

/* A byte count: "137 MiB", "4 KiB" (exact powers print without decimals). */
void fmt_bytes(char *buf, size_t len, double bytes);

/* A whole number with thousands separators: "1,234,567". */
void fmt_grouped(char *buf, size_t len, double v);

/* A figure and its spread at matching precision, both already in the same
 * display unit: "9.65 ± 0.12", "862.000 ± 0.002", "12 ± 40". A spread of
 * 0 or NaN prints the figure alone with three significant digits. */
void fmt_estimate(char *buf, size_t len, double v, double spread);

/* A ratio: "46×", "1.28×", "0.052×". */
void fmt_ratio(char *buf, size_t len, double q);

/* A p-value: "p = 0.003", "p < 0.001". */
void fmt_p(char *buf, size_t len, double p);

#endif
