/* load — how a GGUF model gets from the file into memory, phase by phase.
 *
 * Strategies (--load):
 *   read        read() into a 64-byte-aligned heap buffer (llama.cpp --no-mmap)
 *   mmap        lazy private mapping: pages come in when first touched
 *   populate    mmap + MAP_POPULATE: the kernel faults everything in up front
 *   willneed    mmap + MADV_WILLNEED: asynchronous readahead of the whole file
 *   sequential  mmap + MADV_SEQUENTIAL: aggressive readahead, early reclaim
 *   hugepage    read() into anonymous memory advised MADV_HUGEPAGE (2 MiB aligned)
 *   direct      O_DIRECT pread()s in 8 MiB chunks into a 4 KiB-aligned buffer,
 *               bypassing the page cache (pread: io_uring would not change a
 *               single sequential stream much)
 * Cache states (--cache):
 *   cold   the file's pages are dropped first (fdatasync + POSIX_FADV_DONTNEED)
 *          and the drop is verified with mincore() over a mapping of the file;
 *          a repetition with more than 1% still resident is recorded as failed
 *          (cold_ok 0, the fraction in the message), never mixed in
 *   warm   the file is read once first so every page is in the page cache
 *
 * Every repetition runs in a fresh child process (WORKLOAD_ISOLATE): RSS
 * and fault counts start from the same place, and a SIGBUS from a file
 * truncated under the mapping is one failed repetition.
 *
 * Phases, each timed (ns): open_ns (open + fstat), map_read_ns (mmap or
 * the reads), parse_ns (gguf_open_alloc over the bytes), touch_ns (one byte
 * of every 4 KiB page of every tensor's data: the first-touch faults),
 * ready_ns (their sum; with a warm cache, the means over `cycles` loads
 * in one repetition, see load_run), engine_setup_ns (model_load + infer_new, n_ctx 16)
 * and first_token_ns (one decode step of the BOS token from an empty cache).
 * Throughput over ready_ns, file bytes / time, under two names because it
 * measures two things: read_gbps for the strategies that copy the whole
 * file into memory (read, hugepage, direct), map_touch_gbps for the mmap
 * ones (mapping + one touched byte a page of the tensors, no copy); each
 * strategy reports the other one as not applicable.
 * Memory, as increases over the phases open..touch: rss, rss_anon,
 * rss_file (/proc/self/status), pss_anon, pss_file, anon_huge
 * (/proc/self/smaps_rollup); minor/major faults (getrusage); disk_read_bytes
 * (/proc/self/io read_bytes: what the process made the disk deliver).
 * System-wide /proc/vmstat deltas over the same phases (harness/machine/
 * vmstat.h: THP faults and fallbacks, compaction stalls, reclaim, major
 * faults, page-ins, refaults) and the device's readahead window, so a
 * surprising row carries its likely cause; the THP mode is in the header's
 * environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/infer.h"
#include "engine/model.h"
#include "harness/machine/clock.h"
#include "harness/machine/sysfs.h"
#include "harness/machine/vmstat.h"
#include "harness/run/filebuf.h"
#include "harness/run/workload.h"

enum load_mode { LM_READ, LM_MMAP, LM_POPULATE, LM_WILLNEED, LM_SEQUENTIAL, LM_HUGEPAGE, LM_DIRECT };
enum load_cache { LC_COLD, LC_WARM };

static const char *const load_modes[] = { "read", "mmap", "populate", "willneed", "sequential", "hugepage",
                                          "direct", NULL };
static const char *const load_caches[] = { "cold", "warm", NULL };

static const struct workload_axis load_axes[] = {
    { "load", "how the file gets into memory", WORKLOAD_AXIS_CHOICE, load_modes, 0, 0,
      "read,mmap,populate,willneed,sequential,hugepage,direct" },
    { "cache", "page cache state before each repetition", WORKLOAD_AXIS_CHOICE, load_caches, 0, 0, "cold,warm" },
};

#define COLD_MAX_RESIDENT 0.01
#define PAGE 4096u
#define DIRECT_CHUNK (8u << 20)
/* a warm repetition repeats its load until this much time has passed (see load_run) */
#define LOAD_MIN_REP_NS 100e6
#define LOAD_MAX_CYCLES 256

struct load_state {
    char path[4096];
    enum load_mode mode;
    enum load_cache cache;
    uint64_t size;
};

static int load_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct stat st;
    if (!cfg->model_path || stat(cfg->model_path, &st) != 0) {
        snprintf(err, err_len, "%s: %s", cfg->model_path ? cfg->model_path : "(no model)", strerror(errno));
        return -1;
    }
    if (st.st_size <= 0) {
        snprintf(err, err_len, "%s: empty file", cfg->model_path);
        return -1;
    }
    struct load_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "load: out of memory");
        return -1;
    }
    snprintf(s->path, sizeof s->path, "%s", cfg->model_path);
    s->mode = (enum load_mode)cfg->num[0];
    s->cache = (enum load_cache)cfg->num[1];
    s->size = (uint64_t)st.st_size;
    *state = s;
    return 0;
}

static void load_teardown(void *state)
{
    free(state);
}

/* ---- the page cache ------------------------------------------------------ */

/* Fraction of the file's pages in the page cache (mincore over a fresh
 * mapping, which itself brings nothing in); negative when it cannot tell. */
static double resident_fraction(int fd, uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -1;
    size_t pages = (size + PAGE - 1) / PAGE;
    unsigned char *vec = malloc(pages);
    double frac = -1;
    if (vec && mincore(p, size, vec) == 0) {
        size_t in = 0;
        for (size_t i = 0; i < pages; i++)
            in += vec[i] & 1;
        frac = (double)in / (double)pages;
    }
    free(vec);
    munmap(p, size);
    return frac;
}

static int read_through(int fd, char *err, size_t err_len)
{
    static char buf[1 << 20];
    off_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, err_len, "warming the page cache: %s", strerror(errno));
            return -1;
        }
        if (r == 0)
            return 0;
        off += r;
    }
}

/* Put the file in the requested cache state; reports the resident fraction. */
static int prepare_cache(const struct load_state *s, struct workload_sink *out, char *err, size_t err_len)
{
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    int rc = 0;
    double frac;
    if (s->cache == LC_WARM) {
        rc = read_through(fd, err, err_len);
        frac = resident_fraction(fd, s->size);
    } else {
        /* dirty pages cannot be dropped: write them back first; a page
         * someone else still maps stays too, hence the check and one retry */
        for (int attempt = 0; attempt < 2; attempt++) {
            fdatasync(fd);
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            frac = resident_fraction(fd, s->size);
            if (frac >= 0 && frac <= COLD_MAX_RESIDENT)
                break;
        }
    }
    close(fd);
    if (frac < 0)
        workload_emit_unsupported(out, "resident_before_fraction", "fraction", METRIC_SRC_SW,
                                  "mincore over a mapping of the file failed");
    else
        workload_emit(out, "resident_before_fraction", "fraction", METRIC_SRC_SW, frac);
    if (rc == 0 && s->cache == LC_COLD) {
        bool ok = frac >= 0 && frac <= COLD_MAX_RESIDENT;
        workload_emit(out, "cold_ok", "bool", METRIC_SRC_SW, ok ? 1 : 0);
        if (!ok) {
            if (frac < 0)
                snprintf(err, err_len, "cold cache not verified: mincore failed on %s", s->path);
            else
                snprintf(err, err_len,
                         "cold cache not reached: %.1f%% of %s still resident after POSIX_FADV_DONTNEED (limit %.0f%%)",
                         frac * 100, s->path, COLD_MAX_RESIDENT * 100);
            rc = -1;
        }
    }
    return rc;
}

/* ---- process figures ---------------------------------------------------- */

struct mem_snap {
    bool status_ok, rollup_ok, io_ok;
    double rss_anon, rss_file, rss, pss_anon, pss_file, anon_huge; /* bytes */
    double read_bytes;
    long minflt, majflt;
};

/* "Key:   123 kB" lines of a /proc file into bytes. */
static bool proc_kb(const char *path, const char *const *keys, double *vals, int n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        for (int i = 0; i < n; i++) {
            size_t k = strlen(keys[i]);
            if (strncmp(line, keys[i], k) == 0 && line[k] == ':') {
                vals[i] = strtod(line + k + 1, NULL) * 1024;
                found++;
            }
        }
    }
    fclose(f);
    return found == n;
}

static void snap(struct mem_snap *m)
{
    memset(m, 0, sizeof *m);
    static const char *const st_keys[] = { "RssAnon", "RssFile", "VmRSS" };
    double st[3] = { 0 };
    m->status_ok = proc_kb("/proc/self/status", st_keys, st, 3);
    m->rss_anon = st[0];
    m->rss_file = st[1];
    m->rss = st[2];
    static const char *const ro_keys[] = { "Pss_Anon", "Pss_File", "AnonHugePages" };
    double ro[3] = { 0 };
    m->rollup_ok = proc_kb("/proc/self/smaps_rollup", ro_keys, ro, 3);
    m->pss_anon = ro[0];
    m->pss_file = ro[1];
    m->anon_huge = ro[2];
    FILE *f = fopen("/proc/self/io", "r");
    if (f) {
        char line[128];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "read_bytes:", 11) == 0) {
                m->read_bytes = strtod(line + 11, NULL);
                m->io_ok = true;
            }
        fclose(f);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    m->minflt = ru.ru_minflt;
    m->majflt = ru.ru_majflt;
}

static void emit_mem(struct workload_sink *out, const struct mem_snap *a, const struct mem_snap *b)
{
    if (a->status_ok && b->status_ok) {
        workload_emit(out, "rss_delta_bytes", "bytes", METRIC_SRC_SW, b->rss - a->rss);
        workload_emit(out, "rss_anon_delta_bytes", "bytes", METRIC_SRC_SW, b->rss_anon - a->rss_anon);
        workload_emit(out, "rss_file_delta_bytes", "bytes", METRIC_SRC_SW, b->rss_file - a->rss_file);
    } else {
        const char *why = "/proc/self/status has no RssAnon/RssFile here";
        workload_emit_unsupported(out, "rss_delta_bytes", "bytes", METRIC_SRC_SW, why);
        workload_emit_unsupported(out, "rss_anon_delta_bytes", "bytes", METRIC_SRC_SW, why);
        workload_emit_unsupported(out, "rss_file_delta_bytes", "bytes", METRIC_SRC_SW, why);
    }
    if (a->rollup_ok && b->rollup_ok) {
        workload_emit(out, "pss_anon_delta_bytes", "bytes", METRIC_SRC_SW, b->pss_anon - a->pss_anon);
        workload_emit(out, "pss_file_delta_bytes", "bytes", METRIC_SRC_SW, b->pss_file - a->pss_file);
        workload_emit(out, "anon_huge_delta_bytes", "bytes", METRIC_SRC_SW, b->anon_huge - a->anon_huge);
    } else {
        const char *why = "/proc/self/smaps_rollup lacks Pss_Anon/Pss_File (kernel < 5.9?)";
        workload_emit_unsupported(out, "pss_anon_delta_bytes", "bytes", METRIC_SRC_SW, why);
        workload_emit_unsupported(out, "pss_file_delta_bytes", "bytes", METRIC_SRC_SW, why);
        workload_emit_unsupported(out, "anon_huge_delta_bytes", "bytes", METRIC_SRC_SW, why);
    }
    workload_emit(out, "minor_faults", "count", METRIC_SRC_SW, (double)(b->minflt - a->minflt));
    workload_emit(out, "major_faults", "count", METRIC_SRC_SW, (double)(b->majflt - a->majflt));
    if (a->io_ok && b->io_ok)
        workload_emit(out, "disk_read_bytes", "bytes", METRIC_SRC_SW, b->read_bytes - a->read_bytes);
    else
        workload_emit_unsupported(out, "disk_read_bytes", "bytes", METRIC_SRC_SW,
                                  "/proc/self/io unreadable (no task I/O accounting)");
}

/* ---- the phases ---------------------------------------------------------- */

struct loaded {
    const uint8_t *bytes;
    void *map;          /* mmap modes: the mapping */
    size_t map_len;
    struct filebuf fb;  /* read / hugepage: the file read into anonymous memory */
    void *heap;         /* direct: page-aligned heap */
};

static int map_or_read(const struct load_state *s, int fd, struct loaded *l, char *err, size_t err_len)
{
    int flags = MAP_PRIVATE;
    switch (s->mode) {
    case LM_READ:
    case LM_HUGEPAGE:
        if (filebuf_load(&l->fb, fd, s->size, s->mode == LM_READ ? FILEBUF_READ : FILEBUF_HUGEPAGE, err, err_len))
            return -1;
        l->bytes = l->fb.bytes;
        return 0;
    case LM_DIRECT: {
        size_t heap_len = (s->size + PAGE - 1) & ~(size_t)(PAGE - 1);
        if (posix_memalign(&l->heap, PAGE, heap_len) != 0) {
            snprintf(err, err_len, "cannot allocate %zu aligned bytes", heap_len);
            l->heap = NULL;
            return -1;
        }
        uint8_t *dst = l->heap;
        uint64_t off = 0;
        while (off < s->size) {
            size_t want = heap_len - off > DIRECT_CHUNK ? DIRECT_CHUNK : (size_t)(heap_len - off);
            ssize_t r = pread(fd, dst + off, want, (off_t)off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                snprintf(err, err_len, "O_DIRECT pread at byte %llu: %s", (unsigned long long)off,
                         r < 0 ? strerror(errno) : "unexpected end of file");
                return -1;
            }
            off += (uint64_t)r;
        }
        l->bytes = dst;
        return 0;
    }
    case LM_POPULATE:
        flags |= MAP_POPULATE;
        break;
    default:
        break;
    }
    void *p = mmap(NULL, s->size, PROT_READ, flags, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_len, "mmap of %llu bytes: %s", (unsigned long long)s->size, strerror(errno));
        return -1;
    }
    l->map = p;
    l->map_len = s->size;
    l->bytes = p;
    int advice = s->mode == LM_WILLNEED ? MADV_WILLNEED : s->mode == LM_SEQUENTIAL ? MADV_SEQUENTIAL : -1;
    if (advice >= 0 && madvise(p, s->size, advice) != 0) {
        snprintf(err, err_len, "madvise: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void unload(struct loaded *l)
{
    if (l->map)
        munmap(l->map, l->map_len);
    filebuf_free(&l->fb);
    free(l->heap);
}

/* One byte of every page each tensor spans; the sum keeps the reads. */
static uint64_t touch_tensors(const struct gguf *g)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        if (!t->n_bytes)
            continue;
        const volatile uint8_t *p = t->data, *end = t->data + t->n_bytes;
        sum += p[0];
        for (uintptr_t b = ((uintptr_t)p + PAGE) & ~(uintptr_t)(PAGE - 1); b < (uintptr_t)end; b += PAGE)
            sum += *(const volatile uint8_t *)b;
    }
    return sum;
}

/* One decode step of the BOS token from an empty cache. */
static void first_token(const struct gguf *g, struct workload_sink *out)
{
    struct model m;
    struct infer *ctx = NULL;
    char err[256];
    uint64_t t0 = clock_ns();
    if (model_load(&m, g, NULL, err, sizeof err) != MODEL_OK) {
        char why[METRIC_REASON_MAX];
        snprintf(why, sizeof why, "not a model the engine runs: %.120s", err);
        workload_emit_unsupported(out, "engine_setup_ns", "ns", METRIC_SRC_TIME, why);
        workload_emit_unsupported(out, "first_token_ns", "ns", METRIC_SRC_TIME, why);
        return;
    }
    struct infer_opts o;
    infer_opts_default(&o);
    o.n_ctx = 16;
    int rc = infer_new(&ctx, &m, &o, err, sizeof err);
    uint64_t t1 = clock_ns();
    if (rc != INFER_OK) {
        char why[METRIC_REASON_MAX];
        snprintf(why, sizeof why, "infer_new: %.140s", err);
        workload_emit_unsupported(out, "engine_setup_ns", "ns", METRIC_SRC_TIME, why);
        workload_emit_unsupported(out, "first_token_ns", "ns", METRIC_SRC_TIME, why);
        model_free(&m);
        return;
    }
    workload_emit(out, "engine_setup_ns", "ns", METRIC_SRC_TIME, (double)(t1 - t0));
    uint64_t bos = 1;
    gguf_get_u64(g, "tokenizer.ggml.bos_token_id", &bos, NULL, 0);
    int32_t tok = bos < (uint64_t)m.hp.n_vocab ? (int32_t)bos : 0;
    uint64_t t2 = clock_ns();
    rc = infer_eval(ctx, &tok, 1, NULL, err, sizeof err);
    uint64_t t3 = clock_ns();
    if (rc == INFER_OK) {
        workload_emit(out, "first_token_ns", "ns", METRIC_SRC_TIME, (double)(t3 - t2));
    } else {
        char why[METRIC_REASON_MAX];
        snprintf(why, sizeof why, "infer_eval: %.140s", err);
        workload_emit_unsupported(out, "first_token_ns", "ns", METRIC_SRC_TIME, why);
    }
    infer_free(ctx);
    model_free(&m);
}

/* The readahead window of the block device holding the file (a setting
 * that decides how fast a cold mmap streams in), from
 * /sys/dev/block/MAJ:MIN/queue/read_ahead_kb, or of the whole disk when the
 * file lives on a partition. */
static void emit_readahead(struct workload_sink *out, const struct stat *st)
{
    char path[128], line[64];
    unsigned maj = major(st->st_dev), min = minor(st->st_dev);
    snprintf(path, sizeof path, "/sys/dev/block/%u:%u/queue/read_ahead_kb", maj, min);
    int rc = sysfs_read_line(path, line, sizeof line);
    if (rc != 0) {
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/../queue/read_ahead_kb", maj, min);
        rc = sysfs_read_line(path, line, sizeof line);
    }
    if (rc == 0)
        workload_emit(out, "readahead_bytes", "bytes", METRIC_SRC_SW, 1024.0 * sysfs_int(line));
    else
        workload_emit_unsupported(out, "readahead_bytes", "bytes", METRIC_SRC_SW,
                                  "no block device queue for the file's device (tmpfs, overlay or a network file "
                                  "system)");
}

/* One load, open to touched; the caller ends it with cycle_end. t[0..4]:
 * the clock before open, after fstat, after map/read, after parse, after
 * the touch. */
struct cycle {
    int fd;
    struct stat st;
    struct loaded l;
    struct gguf g;
    bool g_open;
    uint64_t t[5];
};

static int cycle_run(const struct load_state *s, struct cycle *c, char *err, size_t err_len)
{
    memset(c, 0, sizeof *c);
    c->t[0] = clock_ns();
    c->fd = open(s->path, O_RDONLY | O_CLOEXEC | (s->mode == LM_DIRECT ? O_DIRECT : 0));
    if (c->fd < 0) {
        if (s->mode == LM_DIRECT && errno == EINVAL)
            snprintf(err, err_len, "O_DIRECT is not supported by the file system of %s", s->path);
        else
            snprintf(err, err_len, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    if (fstat(c->fd, &c->st) != 0) {
        snprintf(err, err_len, "%s: fstat: %s", s->path, strerror(errno));
        return -1;
    }
    if ((uint64_t)c->st.st_size != s->size) {
        snprintf(err, err_len, "%s changed size during the sweep (%llu bytes at setup, %llu now): truncated or "
                 "rewritten by another process?", s->path, (unsigned long long)s->size,
                 (unsigned long long)c->st.st_size);
        return -1;
    }
    c->t[1] = clock_ns();
    if (map_or_read(s, c->fd, &c->l, err, err_len) != 0)
        return -1;
    c->t[2] = clock_ns();
    char gerr[256];
    if (gguf_open_alloc(&c->g, c->l.bytes, s->size, gerr, sizeof gerr) != GGUF_OK) {
        snprintf(err, err_len, "%s: %s", s->path, gerr);
        return -1;
    }
    c->g_open = true;
    c->t[3] = clock_ns();
    volatile uint64_t sum = touch_tensors(&c->g);
    (void)sum;
    c->t[4] = clock_ns();
    return 0;
}

static void cycle_end(struct cycle *c)
{
    if (c->g_open)
        gguf_close(&c->g);
    c->g_open = false;
    unload(&c->l);
    memset(&c->l, 0, sizeof c->l);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int load_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    const struct load_state *s = state;
    if (prepare_cache(s, out, err, err_len) != 0)
        return -1;
    workload_emit(out, "file_bytes", "bytes", METRIC_SRC_SW, (double)s->size);

    struct mem_snap before, after;
    /* The child inherits the runner's heap; free chunks there that are
     * still resident would be reused by the read buffer without any RSS
     * growth. Give them back so every strategy starts from the same place. */
    malloc_trim(0);
    struct vmstat_snap vm_before, vm_after;
    vmstat_read(NULL, &vm_before);
    snap(&before);
    struct cycle c;
    int rc = cycle_run(s, &c, err, err_len);
    snap(&after);
    vmstat_read(NULL, &vm_after);
    if (rc != 0) {
        cycle_end(&c);
        return -1;
    }

    /* A warm load can take a few milliseconds, where the host's jitter is
     * several percent of one timing: such a repetition times further loads
     * (each a complete open..touch..unmap) until LOAD_MIN_REP_NS have
     * passed, and its phase times are the means over all of them, the way
     * a microbenchmark runs iterations. The first cycle is the process's
     * first load and is included. Memory, faults and vmstat are the first
     * cycle's: what one load costs. A cold load cannot repeat without a
     * fresh drop of the cache, so it is always one cycle. */
    double sum[5] = { 0 };
    for (int k = 1; k < 5; k++)
        sum[k] = (double)(c.t[k] - c.t[k - 1]);
    double ready = (double)(c.t[4] - c.t[0]);
    int cycles = 1;
    while (s->cache == LC_WARM && ready < LOAD_MIN_REP_NS && cycles < LOAD_MAX_CYCLES) {
        struct cycle more;
        rc = cycle_run(s, &more, err, err_len);
        if (rc == 0) {
            for (int k = 1; k < 5; k++)
                sum[k] += (double)(more.t[k] - more.t[k - 1]);
            ready += (double)(more.t[4] - more.t[0]);
            cycles++;
        }
        cycle_end(&more);
        if (rc != 0) {
            cycle_end(&c);
            return -1;
        }
    }

    workload_emit(out, "cycles", "count", METRIC_SRC_SW, cycles);
    workload_emit(out, "open_ns", "ns", METRIC_SRC_TIME, sum[1] / cycles);
    workload_emit(out, "map_read_ns", "ns", METRIC_SRC_TIME, sum[2] / cycles);
    workload_emit(out, "parse_ns", "ns", METRIC_SRC_TIME, sum[3] / cycles);
    workload_emit(out, "touch_ns", "ns", METRIC_SRC_TIME, sum[4] / cycles);
    workload_emit(out, "ready_ns", "ns", METRIC_SRC_TIME, ready / cycles);
    /* Two different things, so two names: the read strategies copy every
     * byte of the file into memory; the mmap ones make it addressable and
     * touch one byte a page of the tensors. The other name of each pair is
     * not applicable, not a number beside one that means something else. */
    const bool copies = s->mode == LM_READ || s->mode == LM_HUGEPAGE || s->mode == LM_DIRECT;
    const double gbps = (double)s->size * cycles / ready;
    if (copies) {
        workload_emit(out, "read_gbps", "GB/s", METRIC_SRC_DERIVED, gbps);
        workload_emit_unsupported(out, "map_touch_gbps", "GB/s", METRIC_SRC_DERIVED,
                                  "not applicable: this strategy reads the file into memory (see read_gbps)");
    } else {
        workload_emit(out, "map_touch_gbps", "GB/s", METRIC_SRC_DERIVED, gbps);
        workload_emit_unsupported(out, "read_gbps", "GB/s", METRIC_SRC_DERIVED,
                                  "not applicable: this strategy maps the file and touches one byte a page "
                                  "(see map_touch_gbps)");
    }
    emit_mem(out, &before, &after);
    /* what the kernel did meanwhile: a huge-page copy that is slower with a
     * warm cache shows its compaction stalls and THP fallbacks here */
    vmstat_emit(out, &vm_before, &vm_after);
    emit_readahead(out, &c.st);
    first_token(&c.g, out);
    cycle_end(&c);
    return 0;
}

/* The primary set: the time until the model is ready; the cache state
 * found is context. */
static const struct metric_decl load_metrics[] = {
    { "ready_ns", METRIC_SEM(LOWER, SAMPLE, true) },
    { "load_gbps", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "resident_before_fraction", METRIC_SEM(NEITHER, ENV, false) },
    { "cold_ok", METRIC_SEM(NEITHER, ENV, false) },
    { "file_bytes", METRIC_SEM(NEITHER, INFO, false) },
    { "cycles", METRIC_SEM(NEITHER, INFO, false) },
    { "*_ns", METRIC_SEM(LOWER, SAMPLE, false) },
    { "*_bytes", METRIC_SEM(LOWER, SAMPLE, false) },
    { "minor_faults", METRIC_SEM(LOWER, SAMPLE, false) },
    { "major_faults", METRIC_SEM(LOWER, SAMPLE, false) },
};

const struct workload workload_load = {
    WORKLOAD_METRICS(load_metrics),
    .name = "load",
    .description = "model loading: read vs mmap variants vs O_DIRECT, cold and warm page cache, phase by phase",
    .axes = load_axes,
    .n_axes = 2,
    .flags = WORKLOAD_NEEDS_MODEL | WORKLOAD_ISOLATE,
    .setup = load_setup,
    .run = load_run,
    .work = NULL,  /* read_gbps / map_touch_gbps come from ready_ns: run_ns includes the cache preparation */
    .teardown = load_teardown,
};
