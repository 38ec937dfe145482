/* clock — monotonic nanosecond clocks for timed regions.
 *
 * CLOCK_MONOTONIC is the only clock a measurement uses: it never jumps with
 * NTP or the wall clock. CLOCK_REALTIME appears only as the timestamp a
 * result records (clock_wall_ns), never as a duration.
 */
#ifndef GGPERF_HARNESS_CLOCK_H
#define GGPERF_HARNESS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC (arbitrary origin; differences only). */
static inline uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME): a timestamp, not a timer. */
static inline uint64_t clock_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Seconds between two clock_ns() readings, as a double. */
static inline double clock_seconds(uint64_t from_ns, uint64_t to_ns)
{
    return (double)(to_ns - from_ns) * 1e-9;
}

#endif
