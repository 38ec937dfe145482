/* ctr_impl — what the counter files (ctr.c, ctr_backends.c, ctr_hw.c,
 * ctr_sw.c, ctr_sched.c, backend_util.c, sched_tracefs.c) share: the
 * backend interface, the set, its perf groups, its metric definitions and
 * the snapshot layout. Not for use outside harness/counters/.
 *
 * A snapshot is a flat array of u64 words; every perf group owns a slice
 * that one read() fills in the kernel's own layout:
 *   group (PERF_FORMAT_GROUP|TOTAL_TIME_ENABLED|TOTAL_TIME_RUNNING):
 *       [nr, time_enabled, time_running, value[0..nr)]
 *   single (TOTAL_TIME_ENABLED|TOTAL_TIME_RUNNING):
 *       [value, time_enabled, time_running]
 * /proc and getrusage values get one word each.
 *
 * perf_event_attr is deliberately absent: ctr_hw.c takes it from libpfm4's
 * <perfmon/perf_event.h>, the others from <linux/perf_event.h>, and the two
 * headers cannot meet in one file.
 */
#ifndef GGPERF_HARNESS_CTR_IMPL_H
#define GGPERF_HARNESS_CTR_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness/counters/ctr.h"

struct ctr_group {
    int fd;          /* leader (or the single event) */
    int *member_fds; /* the other members, closed with the group */
    int n_members;   /* members besides the leader */
    bool is_group;   /* PERF_FORMAT_GROUP layout */
    size_t off;      /* first word in the snapshot */
    size_t words;    /* words read() fills */
};

enum ctr_mk {
    CTR_MK_WALL,       /* snapshot time */
    CTR_MK_PERF,       /* sum over gm[0..ng) of value gm.m of group gm.g */
    CTR_MK_WORD,       /* sum of words off0 + k*stride, k < n */
    CTR_MK_LAT,        /* wake-up latency statistic `member` (enum ctr_lat_stat) */
};

enum ctr_lat_stat { CTR_LAT_COUNT, CTR_LAT_P50, CTR_LAT_P95, CTR_LAT_P99, CTR_LAT_MAX, CTR_LAT_LOST };

struct ctr_mdef {
    struct metric m;   /* name, unit, source; status OK or UNSUPPORTED + reason at open */
    enum ctr_mk kind;
    struct ctr_gm { int g, m; } *gm; /* CTR_MK_PERF: (group, value index; 0 = leader), owned */
    int ng;
    int member;          /* CTR_MK_LAT: which statistic */
    size_t off0, stride; /* CTR_MK_WORD */
    int n;               /* CTR_MK_WORD: how many words */
    double scale;        /* value multiplier (uncore: bytes per count); 1 otherwise */
    bool additive;       /* may be summed across regions */
};

struct ctr_sched;      /* ctr_sched.c */

struct ctr_set {
    struct ctr_config cfg;
    const char **hw_names;  /* copies of the names (owned) */
    int n_hw;
    bool process_mode;      /* n_tids == 0 at open */
    bool inherit;           /* perf events follow new threads/processes */
    bool enable_on_exec;    /* ctr_run_cmd: counting starts at the child's exec */
    bool no_rusage;         /* ctr_run_cmd: rusage comes from wait4 instead */
    int *tids;              /* the watched tasks */
    int n_tids;

    struct ctr_group *groups;
    int n_groups, cap_groups;
    struct ctr_mdef *defs;
    int n_defs, cap_defs;
    size_t words;           /* snapshot size */

    /* /proc files kept open, re-read with pread(fd, .., 0). */
    int *schedstat_fds;     /* [n_tids], -1 where unavailable */
    int *status_fds;        /* [n_tids] (tid mode) */
    size_t schedstat_off;   /* words: runq wait per tid */
    size_t status_off;      /* words: [vol, invol] per tid */
    size_t rusage_off;      /* words: [nvcsw, nivcsw] (process mode) */
    bool have_schedstat, have_status, have_rusage;
    uint64_t *last;         /* [words] last good values, reused when a read fails */

    struct ctr_sched *sched;
    bool started;           /* every backend's start ran (stop is due at close) */
    char last_err[160];
};

/* perf_event_open(2); attr is a struct perf_event_attr of either header. */
int ctr_perf_open(void *attr, pid_t pid, int cpu, int group_fd, unsigned long flags);

/* "what: ENAME" plus ", hint" into buf, e.g. "perf_event_open(cycles):
 * ENOENT, no PMU in this VM". hint NULL: ctr_perf_hint(e, false, 1). */
void ctr_reason(char *buf, size_t len, const char *what, int e, const char *hint);

/* The standard hint for errno e of a perf_event_open: ENOENT/ENODEV/EOPNOTSUPP
 * on hardware events -> no PMU; EACCES/EPERM -> the current
 * perf_event_paranoid and the value the event needs (2: a thread's own
 * user-level events; 1: software events, which count in the kernel; 0:
 * CPU-wide; -1: CPU-wide tracepoint data). */
void ctr_perf_hint(char *buf, size_t len, int e, bool hardware, int need_paranoid);

/* Current /proc/sys/kernel/perf_event_paranoid, or INT32_MIN if unreadable. */
int ctr_paranoid(void);

/* Add a group of `words` snapshot words; returns its index or CTR_ENOMEM. */
int ctr_add_group(struct ctr_set *s, int fd, bool is_group);

/* Add a member fd to group gi (its value word is appended). */
int ctr_group_add_member(struct ctr_set *s, int gi, int fd);

/* Append a metric definition (zeroed but for m.name/unit/source); returns
 * a pointer valid until the next ctr_add_def, or NULL on out of memory. */
struct ctr_mdef *ctr_add_def(struct ctr_set *s, const char *name, const char *unit,
                             enum metric_source src);

/* Reserve n snapshot words; returns the offset of the first. */
size_t ctr_add_words(struct ctr_set *s, size_t n);

/* /proc/self/task/<tid>/<file> (else /proc/<tid>/<file>) opened read-only;
 * the fd or -1 with errno. */
int ctr_proc_open(int tid, const char *file);

/* One counter backend of a set. Each backend file (ctr_hw.c, ctr_sw.c,
 * ctr_sched.c) defines one of these as ctr_backend_<name>; ctr_backends.c
 * lists them in CTR_BACKENDS, and a backend's bit in ctr_config.backends
 * is 1u << its position there. Adding a backend is therefore its file plus
 * one word in that list. Slots a backend does not need are NULL. */
struct ctr_backend {
    const char *name;  /* "hw", "sw", "sched" */
    /* Whether this process can count with it here; why not when it cannot. */
    bool (*describe)(char *why, size_t why_len);
    /* Add its groups, words and metric definitions to s. An event that
     * cannot be opened is not an error (its metrics are unsupported, with
     * the reason); returns 0 or CTR_ENOMEM. */
    int (*open)(struct ctr_set *s);
    /* Begin and end counting, once every backend of s is open and before
     * any is closed. NULL: the counters run free from open to close and
     * ctr_delta takes differences (every current backend). */
    int (*start)(struct ctr_set *s);
    int (*stop)(struct ctr_set *s);
    /* Fill the backend's own snapshot words in v after the perf groups
     * (which ctr_read reads for every backend) and the per-thread /proc
     * words; 0 or CTR_EIO. NULL: it has no words of its own. */
    int (*read)(struct ctr_set *s, uint64_t *v);
    /* Release what open took beyond perf groups, defs and /proc fds (which
     * ctr_close releases for every backend). NULL: nothing. */
    void (*close)(struct ctr_set *s);
};

/* The backends in bit order (ctr_backends.c) and how many there are. */
extern const struct ctr_backend *const ctr_backend_list[];
extern const int ctr_backend_n;

/* The per-thread /proc words (status: voluntary/involuntary switches, sw;
 * schedstat: run-queue wait, sched). 0 or CTR_EIO. */
int ctr_sw_read_proc(struct ctr_set *s, uint64_t *v);

/* Latency statistics of wake-ups in [t0, t1) into vals[CTR_LAT_*]; returns
 * the number of samples. Forgets samples older than t0. */
uint64_t ctr_sched_stats(struct ctr_set *s, uint64_t t0, uint64_t t1, double vals[6]);

/* Append (group g, member m) to def index di. 0 or CTR_ENOMEM. */
int ctr_def_add_gm(struct ctr_set *s, int di, int g, int m);

/* Mark every def added since index first as unsupported with reason. */
void ctr_defs_unsupported(struct ctr_set *s, int first, const char *reason);

#endif
