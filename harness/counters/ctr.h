/* ctr — counter sets: what the CPU and the kernel did during a region of work.
 *
 * Four backends, each figure tagged with its source (results/metric.h):
 *   hw     PMU events named through libpfm4 (no hand-made encodings), opened
 *          as one perf group per thread; multiplexing is detected and the
 *          counts scaled (metric.running_fraction = time running / enabled).
 *   sw     kernel software events (task clock, context switches, CPU
 *          migrations, minor/major faults) plus the voluntary/involuntary
 *          split from getrusage or /proc/<tid>/status.
 *   sched  wake-up-to-run latency of the watched threads from the
 *          sched_wakeup/sched_wakeup_new/sched_switch tracepoints (per-CPU
 *          perf ring buffers), and run-queue wait from /proc/<tid>/schedstat.
 *   sim    valgrind callgrind cache simulation of a whole command, counting
 *          only inside a chosen region (out of process; ctr_sim_* below).
 * hw, sw and sched count in this process and sit behind one interface,
 * struct ctr_backend in ctr_impl.h (describe, open, start, stop, read,
 * close), listed once in ctr_backends.c: adding such a backend is one file
 * plus one word in that list. sim runs a child under valgrind and is driven by its
 * own calls below.
 *
 * What a set watches:
 *   n_tids == 0  "this process": every thread alive at open, each with
 *                inherit, so threads (and child processes) they create later
 *                are counted by hw and sw. Per-thread figures (schedstat,
 *                wake-up latency) cover the threads alive at open.
 *   n_tids > 0   exactly these threads (e.g. a thread pool's workers, from
 *                pool_thread_tid), no inherit. Each must belong to this process.
 *
 * Use: ctr_open; ctr_snap_new twice; ctr_read before and after the work;
 * ctr_delta gives the metrics of the interval. For a thread pool:
 *     int tids[64]; for (i = 0; i < n; i++) tids[i] = pool_thread_tid(pool, i);
 *     ctr_open(&set, &cfg, tids, n, err, sizeof err);
 * and for per-region totals, ctr_regions_new + ctr_region_hooks handed to the
 * engine. Counters run free from open to
 * close; a read is one read() per perf group (hw, sw, task clock: up to three
 * per thread), plus one pread() per /proc file when cfg.thread_stats is on.
 *
 * A backend or event that cannot be opened is not an error: its metrics come
 * back METRIC_UNSUPPORTED with the reason (e.g. "perf_event_open(cycles):
 * ENOENT, no PMU in this VM"); an event that opened but never ran is
 * METRIC_NOT_COUNTED. Neither is ever a 0.
 *
 * Not thread-safe: one set is driven from one thread at a time.
 */
#ifndef GGPERF_HARNESS_CTR_H
#define GGPERF_HARNESS_CTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/region.h"
#include "results/metric.h"

/* Return codes (0 = success). */
enum {
    CTR_EINVAL = -1,       /* bad argument */
    CTR_ENOMEM = -2,       /* out of memory */
    CTR_EIO = -3,          /* a read or a system call failed */
    CTR_EUNSUPPORTED = -4, /* not supported on this machine (reason in err) */
    CTR_EPERM = -5,        /* no permission (reason in err) */
    CTR_ECORRUPT = -6,     /* a file we parse is not what we expect */
};

/* Backends, for ctr_config.backends: bit i is backend i of the list in
 * ctr_backends.c (behind the interface of ctr_impl.h). These name the first three;
 * a backend added later is found by name (ctr_backend_bit). */
enum { CTR_HW = 1u << 0, CTR_SW = 1u << 1, CTR_SCHED = 1u << 2 };

/* How many backends there are; every one's bit; backend i's name ("hw"),
 * or NULL past the end; the bit of a name, or 0 when there is none. */
int ctr_backend_count(void);
unsigned ctr_backends_all(void);
const char *ctr_backend_name(int i);
int ctr_backend_bit(const char *name);

/* Whether backend i can count in this process here; why not when it
 * cannot (ctr_hw_pmu_present, ctr_sw_available, ctr_sched_available). */
bool ctr_backend_available(int i, char *why, size_t why_len);

/* Default hardware events (libpfm4 names: perf generic aliases, which every
 * PMU libpfm4 knows maps to the right encoding) and their metric names. */
#define CTR_HW_DEFAULT_N 5
extern const char *const ctr_hw_default_events[CTR_HW_DEFAULT_N];       /* "cycles", ... */
extern const char *const ctr_hw_default_metric_names[CTR_HW_DEFAULT_N]; /* "cycles", "instructions",
                                                                           "l1d_load_misses",
                                                                           "llc_load_misses",
                                                                           "dtlb_load_misses" */

struct ctr_config {
    unsigned backends;            /* CTR_HW | CTR_SW | CTR_SCHED (ctr_backends_all: every one) */
    const char *const *hw_events; /* libpfm4 event names; NULL = ctr_hw_default_events */
    int n_hw_events;
    bool uncore;                  /* also try memory-controller (uncore IMC) events:
                                     system-wide, bytes = 64 x CAS count; best effort */
    bool thread_stats;            /* per-thread /proc reads at every ctr_read: run-queue
                                     wait (schedstat) and, for a tid list, the
                                     voluntary/involuntary split. Off = cheaper reads,
                                     and those metrics are unsupported ("disabled") */
    int sched_ring_pages;         /* ring buffer per CPU, pages, power of two (0 = 256:
                                     1 MiB, ~10000 wake-ups with their switches) */
};

/* Fill cfg with: all backends, default hw events, no uncore, thread_stats on. */
void ctr_config_default(struct ctr_config *cfg);

struct ctr_set;
struct ctr_snap;

/* Open a counter set on tids[0..n_tids) (n_tids == 0: this process, see
 * above). Returns 0 and *out (close with ctr_close), or CTR_EINVAL (bad
 * config, a tid not in this process) / CTR_ENOMEM with err filled. Events
 * that cannot be opened do not fail the open: see ctr_describe. */
int ctr_open(struct ctr_set **out, const struct ctr_config *cfg, const int *tids, int n_tids,
             char *err, size_t err_len);

/* Close every descriptor and free the set; NULL does nothing. */
void ctr_close(struct ctr_set *s);

/* Number of metrics ctr_delta writes (fixed from open to close). */
int ctr_n_metrics(const struct ctr_set *s);

/* The metrics of the set as opened, without values: name, unit, source, and
 * status OK or UNSUPPORTED + reason. Writes min(max, ctr_n_metrics) entries;
 * returns ctr_n_metrics. */
int ctr_describe(const struct ctr_set *s, struct metric *out, int max);

/* A snapshot sized for s (free with ctr_snap_free; NULL on out of memory).
 * Snapshots of one set may be reused for any number of reads. */
struct ctr_snap *ctr_snap_new(const struct ctr_set *s);
void ctr_snap_free(struct ctr_snap *snap);

/* Monotonic time of the snapshot (CLOCK_MONOTONIC ns, as harness/machine/clock.h). */
uint64_t ctr_snap_ns(const struct ctr_snap *snap);

/* Read every counter of s into snap (and its time). Returns 0, or CTR_EIO
 * when a read failed (the message is in ctr_last_error; values that could not
 * be read repeat the last good ones). Cheap: see the header comment; about
 * 2 us for sw alone on a 2-core VM (three syscalls). With sched, a
 * tracepoint ring more than half full is drained here too (parsing its
 * records, possibly growing the latency store). */
int ctr_read(struct ctr_set *s, struct ctr_snap *snap);

/* The message of the last failed ctr_read ("" if none). Borrowed from s. */
const char *ctr_last_error(const struct ctr_set *s);

/* The metrics of the interval a..b (both read from s, a first) into
 * out[0..max): counter differences (hw scaled for multiplexing), wall_ns,
 * and for sched the wake-up latency distribution of the wake-ups whose time
 * lies in [a, b). Drains the tracepoint ring buffers, then forgets latencies
 * older than a. Returns the number of metrics (ctr_n_metrics; entries past
 * max are dropped), or CTR_EINVAL. */
int ctr_delta(struct ctr_set *s, const struct ctr_snap *a, const struct ctr_snap *b,
              struct metric *out, int max);

/* Move the tracepoint records from the kernel ring buffers into s's
 * latency store. ctr_delta does it; call it between intervals on long runs
 * so the rings (cfg.sched_ring_pages) do not overflow (lost events are
 * counted in the metric wakeup_lost_events). No-op without sched. */
void ctr_sched_drain(struct ctr_set *s);

/* Find a metric by name in m[0..n); NULL if absent. */
const struct metric *ctr_metric_find(const struct metric *m, int n, const char *name);

/* What the counter backends declare their figures mean, by source: hw,
 * sw and sched counts vary from repetition to repetition (kind sample,
 * lower is better, not gated by default: scheduling noise, not the code);
 * sim counts are deterministic (kind count, lower is better, gated).
 * Other sources: undeclared (all zero). A workload's own table overrides
 * this for a figure it knows better (a cache size, a token count). */
struct metric_sem ctr_metric_sem(enum metric_source source);

/* ---- whole commands -------------------------------------------------- */

/* Run argv (argv[0] searched in PATH) as a child and count it from its exec
 * to its exit, child processes and threads included (like perf stat): hw
 * and sw metrics of cfg (sched is ignored), voluntary/involuntary switches
 * from the child's rusage, wall_ns. The child's stdout/stderr are those of
 * the caller unless quiet (then /dev/null). Returns the number of metrics
 * written to out[0..max) and the child's wait status in *wstatus, or a
 * negative code with err filled (fork/exec failure: CTR_EIO). */
int ctr_run_cmd(char *const argv[], const struct ctr_config *cfg, bool quiet, struct metric *out,
                int max, int *wstatus, char *err, size_t err_len);

/* ---- region hooks ---------------------------------------------------- */

/* Per-region-kind accumulation of a set's metrics for the engine's region
 * markers (engine/region.h). begin pushes a snapshot, end pops it and adds
 * the differences to the kind's totals; regions nest (a stack of 16).
 * Additive metrics only: the wake-up latency distribution is per interval
 * (ctr_delta), not per region. With set == NULL only counts and wall time
 * are kept ("counters off"); passing no hooks at all to the engine is the
 * third, zero-overhead setting — compare the three to measure overhead. */
struct ctr_regions;

/* Returns 0 and *out (free with ctr_regions_free), or CTR_ENOMEM. set is
 * borrowed and must outlive the regions. */
int ctr_regions_new(struct ctr_regions **out, struct ctr_set *set, char *err, size_t err_len);
void ctr_regions_free(struct ctr_regions *r);

/* Hooks whose user pointer is r (valid while r lives). */
struct region_hooks ctr_region_hooks(struct ctr_regions *r);

/* Zero every total (keeps the set). Must not be called inside a region. */
void ctr_regions_reset(struct ctr_regions *r);

/* Totals of one kind: *count regions ended, *total_ns their wall time, and
 * the summed metrics into out[0..max) (source and status as the set's;
 * hw running_fraction over all of them). Returns the number of metrics, or
 * CTR_EINVAL for a bad kind. */
int ctr_regions_get(const struct ctr_regions *r, enum region_kind kind, uint64_t *count,
                    uint64_t *total_ns, struct metric *out, int max);

/* Markers that did not pair up (end without begin, wrong kind, nesting
 * deeper than the stack, a failed read): those regions are not counted. */
uint64_t ctr_regions_errors(const struct ctr_regions *r);

/* ---- hw helpers (libpfm4) -------------------------------------------- */

/* A libpfm4 event name resolved to what perf_event_open takes. */
struct ctr_hw_encoding {
    uint32_t type;      /* PERF_TYPE_HARDWARE, _HW_CACHE, _RAW, or a sysfs PMU type */
    uint64_t config, config1, config2;
    char fstr[256];     /* libpfm4's fully qualified name, "perf::PERF_COUNT_HW_CPU_CYCLES:u=1:..." */
};

/* Resolve name (user level only: PFM_PLM3). Returns 0, or CTR_EUNSUPPORTED
 * with err naming the event and libpfm4's message. */
int ctr_hw_encode(const char *name, struct ctr_hw_encoding *out, char *err, size_t err_len);

/* Whether the kernel exposes a CPU PMU. When not, why: e.g. "no PMU in
 * this VM (/sys/bus/event_source/devices/cpu missing; perf_event_open(
 * PERF_TYPE_HARDWARE cycles): ENOENT)". */
bool ctr_hw_pmu_present(char *why, size_t why_len);

/* libpfm4's default (most specific present) CPU PMU, "icl (Intel Icelake)",
 * or "" when it knows none. */
void ctr_hw_pfm_pmu(char *buf, size_t len);

/* Encode and open event name alone on this thread, then close it. Returns 0
 * if it opened, else a negative code and the reason (same wording as the
 * metrics' reasons). */
int ctr_hw_try(const char *name, char *reason, size_t reason_len);

/* /proc/sys/kernel/perf_event_paranoid, or INT32_MIN when unreadable. */
int ctr_perf_event_paranoid(void);

/* Whether this thread can open software events (perf_event_open of task
 * clock); the reason when not. */
bool ctr_sw_available(char *why, size_t why_len);

/* ---- sched helpers --------------------------------------------------- */

/* Where tracefs is mounted ("/sys/kernel/tracing" or
 * "/sys/kernel/debug/tracing") into buf; 0, or CTR_EUNSUPPORTED and why
 * (not mounted, with the command that mounts it). */
int ctr_tracefs_dir(char *buf, size_t len, char *why, size_t why_len);

/* In a tracepoint format file's text, the byte offset and size of field
 * name ("pid", "next_pid"). Returns 0, or CTR_ECORRUPT if absent. */
int ctr_tp_field(const char *format_text, const char *name, int *offset, int *size);

/* Whether this process can open the sched tracepoints on every CPU (tries
 * and closes them); the reason when not. */
bool ctr_sched_available(char *why, size_t why_len);

/* ---- sim (valgrind callgrind) ---------------------------------------- */

/* One simulated cache level. */
struct ctr_sim_cache {
    uint64_t size_bytes;
    int ways;
    int line_bytes;
};

struct ctr_sim_opts {
    struct ctr_sim_cache i1, d1, ll; /* size 0 = the machine's (ctr_sim_cache_machine) */
    const char *region;   /* GGPERF_SIM_REGION for the child: "decode", "layer:3", ... (NULL: unset) */
    const char *isa_path; /* recorded in the result: the kernel path the child runs
                             ("avx2": valgrind hides AVX-512, so the engine picks AVX2) */
    bool keep_files;      /* keep the callgrind output and logs (their dir is in the result) */
};

struct ctr_sim_result {
    /* Totals of the collected region(s), callgrind's event names. */
    uint64_t ir, dr, dw, i1mr, d1mr, d1mw, ilmr, dlmr, dlmw;
    struct ctr_sim_cache i1, d1, ll; /* what was simulated */
    char geometry_source[16];        /* where i1/d1/ll came from: "sysfs", "cpuid", "getconf", "user" */
    char geometry_note[400];         /* how the machine's geometry was adjusted ("" if not) */
    char isa_path[16];
    char valgrind_version[32];       /* "valgrind-3.19.0" */
    char dir[128];                   /* work dir (only kept with keep_files) */
    int wstatus;                     /* the command's wait status under valgrind */
};

/* Default geometry: the machine's cache levels by cpuinfo_caches_get()
 * ($GGPERF_CACHE_GEOMETRY, sysfs, CPUID, getconf: source says which),
 * adjusted so valgrind accepts them (the number of sets must be a power of
 * two: a 480 MiB 16-way LL becomes 15-way). I1 defaults to D1 and LL to D1
 * when the source has no such level. note says what changed. Returns 0, or
 * CTR_EUNSUPPORTED with note saying why each source had nothing. */
int ctr_sim_cache_machine(struct ctr_sim_cache *i1, struct ctr_sim_cache *d1, struct ctr_sim_cache *ll,
                          char *source, size_t source_len, char *note, size_t note_len);

/* Make c valgrind-valid (power-of-two sets and line): prefer the nearest
 * associativity that gives power-of-two sets, else round the size down.
 * Returns true if c changed. */
bool ctr_sim_cache_fix(struct ctr_sim_cache *c);

/* Run `valgrind --tool=callgrind --cache-sim=yes --I1=.. --D1=.. --LL=..
 * --collect-atstart=no <argv>` with GGPERF_SIM=1 (and GGPERF_SIM_REGION) in
 * the child's environment; only what the child brackets with
 * ctr_sim_collect_begin/end is counted. Parses the totals into *res.
 * Returns 0 (even if the command failed: see res->wstatus), or
 * CTR_EUNSUPPORTED (valgrind not installed: err says so), CTR_EIO,
 * CTR_ECORRUPT with err filled (with the tail of valgrind's log). */
int ctr_sim_run(char *const argv[], const struct ctr_sim_opts *opts, struct ctr_sim_result *res,
                char *err, size_t err_len);

/* Parse the totals of a callgrind output file (the "events:" line and the
 * "totals:" or "summary:" line; events it lacks stay 0). Returns 0 or
 * CTR_EIO / CTR_ECORRUPT with err naming the file and line. */
int ctr_sim_parse(const char *path, struct ctr_sim_result *res, char *err, size_t err_len);

/* Metrics of a result (source sim): instructions (Ir), d1_misses (D1mr +
 * D1mw), ll_misses (DLmr + DLmw), data_reads (Dr), data_writes (Dw),
 * i1_misses (I1mr). Returns the number written (at most max). */
int ctr_sim_metrics(const struct ctr_sim_result *res, struct metric *out, int max);

/* "valgrind-3.19.0" into buf; 0, or CTR_EUNSUPPORTED when valgrind is not
 * in PATH ($GGPERF_VALGRIND overrides the program). */
int ctr_sim_valgrind_version(char *buf, size_t len);

/* In-process side, for code that runs under valgrind. All are a few
 * no-op instructions natively. */
bool ctr_sim_running(void);          /* RUNNING_ON_VALGRIND */
void ctr_sim_collect_begin(void);    /* start counting (CALLGRIND_TOGGLE_COLLECT) */
void ctr_sim_collect_end(void);      /* stop counting; pairs with begin */

/* Region hooks that collect only while inside the region of the chosen
 * kind (and index, -1 = any), outermost occurrence only. */
struct ctr_sim_regions {
    enum region_kind kind;
    int index;
    int depth;         /* nesting of the chosen kind (internal) */
    uint64_t n_collected;
};

/* Parse "decode", "layer", "layer:3" (region_kind_name [":" index]) into
 * st; 0, or CTR_EINVAL with err naming the text and the allowed kinds. */
int ctr_sim_regions_parse(struct ctr_sim_regions *st, const char *text, char *err, size_t err_len);
struct region_hooks ctr_sim_region_hooks(struct ctr_sim_regions *st);

/* For the program run by ctr_sim_run: when running under valgrind with
 * GGPERF_SIM_REGION set, parse it into st and return 1 (use
 * ctr_sim_region_hooks(st)); 0 when not under valgrind or unset (collect
 * nothing through hooks); CTR_EINVAL with err for a bad value. */
int ctr_sim_regions_from_env(struct ctr_sim_regions *st, char *err, size_t err_len);

#endif
