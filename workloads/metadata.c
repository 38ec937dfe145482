/* metadata — how long GGUF metadata takes to parse and what it allocates,
 * for vocabularies of 32k and 128k tokens (--vocab), with the index in
 * caller storage or malloc'ed (--index).
 *
 * The file is synthesized once per vocabulary size into the cache
 * directory (harness/synth: a "llama" SentencePiece-style vocabulary of
 * n_vocab tokens with scores and types, one layer of n_embd 64, tied
 * embeddings, pure Q4_0: a few MB, nearly all of it vocabulary), then read
 * into a heap buffer at setup, so the repetitions time parsing, not I/O.
 *
 * Each repetition times one open: gguf_open() into caller storage (sized by
 * gguf_index_bytes and allocated at setup: the reader promises no heap
 * allocation; --index caller) or gguf_open_alloc() (the index malloc'ed;
 * --index alloc). One open per repetition, as separate configurations, so
 * the interleaved order treats both alike (a second open in the same
 * repetition would find the buffer in cache). The buffer is in memory but
 * not necessarily in the CPU caches, as at load time.
 *
 * Allocations are measured with glibc's mallinfo2(): the change of bytes in
 * use (uordblks + hblkhd) and of mmap'ed chunks (hblks) across each open,
 * while the index is still alive. glibc has no counter of malloc calls
 * (its hooks were removed in 2.34), so this is bytes and chunks, not calls;
 * a counting interposer would have to replace malloc for the whole binary
 * (and fight sanitizers). When mallinfo2 does not see a probe allocation
 * (a sanitizer's allocator), the heap figures are "unsupported".
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "harness/machine/clock.h"
#include "modelgen/synth.h"
#include "harness/run/workload.h"

static const char *const metadata_index[] = { "caller", "alloc", NULL };

static const struct workload_axis metadata_axes[] = {
    { "vocab", "vocabulary size (tokens)", WORKLOAD_AXIS_INT, NULL,
      SYNTH_MIN_VOCAB, 1 << 22, "32000,128000" },
    { "index", "index storage: caller-provided (gguf_open) or malloc'ed (gguf_open_alloc)", WORKLOAD_AXIS_CHOICE,
      metadata_index, 0, 0, "caller,alloc" },
};

struct metadata_state {
    uint8_t *buf;
    size_t size;
    void *storage;
    size_t storage_bytes;
    bool heap_visible;    /* mallinfo2 sees allocations in this process */
    bool alloc;           /* gguf_open_alloc instead of gguf_open */
};

static void metadata_teardown(void *state)
{
    struct metadata_state *s = state;
    if (!s)
        return;
    free(s->buf);
    free(s->storage);
    free(s);
}

/* Bytes in use by malloc, ordinary and mmap'ed chunks (all arenas). */
static double heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}

static bool mallinfo_sees_allocations(void)
{
    double before = heap_bytes();
    void *volatile p = malloc(100000);
    bool seen = p && heap_bytes() - before >= 100000;
    free(p);
    return seen;
}

/* Write the file for vocab n into dir (once), its path into path. */
static int metadata_file(const char *dir, int64_t n, char *path, size_t len, char *err, size_t err_len)
{
    snprintf(path, len, "%s/metadata-vocab-%lld.gguf", dir, (long long)n);
    struct stat st;
    if (stat(path, &st) == 0)
        return 0; /* synth_write renames into place only when complete */
    struct synth_spec spec;
    if (synth_shape_find("tiny", &spec) != 0) {
        snprintf(err, err_len, "synth has no 'tiny' shape");
        return -1;
    }
    snprintf(spec.name, sizeof spec.name, "metadata-vocab-%lld", (long long)n);
    spec.n_embd = 64;
    spec.n_ff = 128;
    spec.n_layer = 1;
    spec.n_head = 2;
    spec.n_head_kv = 1;
    spec.n_vocab = n;
    spec.tied = true;
    spec.pure = true;
    spec.ftype = SYNTH_FT_Q4_0;
    char serr[256];
    if (synth_write(&spec, path, 0, NULL, NULL, serr, sizeof serr) != 0 && stat(path, &st) != 0) {
        snprintf(err, err_len, "synthesizing %s: %s", path, serr);
        return -1;
    }
    return 0;
}

static int metadata_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    char path[4096];
    const char *dir = cfg->cache_dir ? cfg->cache_dir : "/tmp";
    if (metadata_file(dir, cfg->num[0], path, sizeof path, err, err_len) != 0)
        return -1;
    struct metadata_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "metadata: out of memory");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        goto fail;
    }
    s->size = (size_t)st.st_size;
    s->buf = malloc(s->size ? s->size : 1);
    size_t got = 0;
    while (s->buf && got < s->size) {
        ssize_t r = read(fd, s->buf + got, s->size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (!s->buf || got != s->size) {
        snprintf(err, err_len, "%s: cannot read %zu bytes", path, s->size);
        goto fail;
    }
    close(fd);
    fd = -1;
    s->storage_bytes = gguf_index_bytes(s->buf, s->size);
    s->storage = aligned_alloc(8, (s->storage_bytes + 7) & ~(size_t)7);
    if (!s->storage_bytes || !s->storage) {
        snprintf(err, err_len, "%s: cannot size or allocate the index (%zu bytes)", path, s->storage_bytes);
        goto fail;
    }
    /* fault the storage in now so the timed open measures parsing only */
    memset(s->storage, 0, s->storage_bytes);
    s->heap_visible = mallinfo_sees_allocations();
    s->alloc = cfg->num[1] == 1;
    *state = s;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    metadata_teardown(s);
    return -1;
}

static void emit_heap(struct metadata_state *s, struct workload_sink *out, const char *name, const char *unit,
                      double v)
{
    if (s->heap_visible)
        workload_emit(out, name, unit, METRIC_SRC_SW, v);
    else
        workload_emit_unsupported(out, name, unit, METRIC_SRC_SW,
                                  "mallinfo2 does not see allocations here (sanitizer allocator?)");
}

static int metadata_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct metadata_state *s = state;
    struct gguf g;
    char gerr[256];

    struct mallinfo2 m0 = mallinfo2();
    double h0 = heap_bytes();
    uint64_t t0 = clock_ns();
    int rc = s->alloc ? gguf_open_alloc(&g, s->buf, s->size, gerr, sizeof gerr)
                      : gguf_open(&g, s->buf, s->size, s->storage, s->storage_bytes, gerr, sizeof gerr);
    uint64_t t1 = clock_ns();
    double h1 = heap_bytes(); /* the index is still alive */
    struct mallinfo2 m1 = mallinfo2();
    if (rc != GGUF_OK) {
        snprintf(err, err_len, "%s: %s", s->alloc ? "gguf_open_alloc" : "gguf_open", gerr);
        return -1;
    }
    struct gguf_array toks;
    double vocab = gguf_get_arr(&g, "tokenizer.ggml.tokens", &toks, NULL, 0) == GGUF_OK ? (double)toks.count : 0;
    uint64_t n_kv = g.n_kv, n_tensors = g.n_tensors;
    gguf_close(&g);

    workload_emit(out, "open_ns", "ns", METRIC_SRC_TIME, (double)(t1 - t0));
    emit_heap(s, out, "heap_bytes", "bytes", h1 - h0);
    emit_heap(s, out, "mmap_chunks", "count", (double)m1.hblks - (double)m0.hblks);
    workload_emit(out, "index_bytes", "bytes", METRIC_SRC_SW, (double)s->storage_bytes);
    workload_emit(out, "file_bytes", "bytes", METRIC_SRC_SW, (double)s->size);
    workload_emit(out, "n_kv", "count", METRIC_SRC_SW, (double)n_kv);
    workload_emit(out, "n_tensors", "count", METRIC_SRC_SW, (double)n_tensors);
    workload_emit(out, "n_vocab", "count", METRIC_SRC_SW, vocab);
    return 0;
}

/* The primary set: the open; the rest describe the file. */
static const struct metric_decl metadata_metrics[] = {
    { "open_ns", METRIC_SEM(LOWER, SAMPLE, true) },
    { "file_bytes", METRIC_SEM(NEITHER, INFO, false) },
    { "index_bytes", METRIC_SEM(NEITHER, INFO, false) },
    { "n_kv", METRIC_SEM(NEITHER, INFO, false) },
    { "n_tensors", METRIC_SEM(NEITHER, INFO, false) },
    { "n_vocab", METRIC_SEM(NEITHER, INFO, false) },
};

const struct workload workload_metadata = {
    WORKLOAD_METRICS(metadata_metrics),
    .name = "metadata",
    .description = "GGUF metadata parse time and heap use for 32k and 128k-token vocabularies",
    .axes = metadata_axes,
    .n_axes = 2,
    .flags = 0,
    .setup = metadata_setup,
    .run = metadata_run,
    .work = NULL,
    .teardown = metadata_teardown,
};
