/* session — a model file opened for the CLI and workloads: mapping, GGUF
 * index, bound model and inference context, built from session_opts. The
 * CLI fills them from the engine flags every model-running subcommand
 * shares (cli/engine_flags.h):
 *
 *   -m, --model FILE      the GGUF model
 *   -t, --threads N       worker threads (default: online CPUs)
 *   --kernels K           auto|ref|avx2|avx512 (default auto = fastest)
 *   --kv T                f16|f32 KV cache (default f16, like llama.cpp)
 *   --wait W              spin|futex|hybrid barrier wait policy
 *   --pin LIST            pin threads to CPUs ("0,1", "0-3"), default off
 *   --ctx N               KV cache positions
 *   --batch N             most tokens per forward pass
 *   --weights W           map|read|hugepage: where the file's bytes live
 *                         (filebuf.h); default map, bench's default hugepage
 */
#ifndef GGPERF_HARNESS_SESSION_H
#define GGPERF_HARNESS_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/gguf.h"
#include "engine/infer.h"
#include "engine/model.h"
#include "harness/run/filebuf.h"

#define SESSION_MAX_CPUS 256

struct session_opts {
    const char *model_path;
    struct infer_opts infer;
    int cpus[SESSION_MAX_CPUS];
    bool threads_set;
    enum filebuf_kind weights;   /* --weights; session_opts_init: FILEBUF_MAP */
};

struct session {
    int fd;
    struct filebuf file;    /* the whole file, placed as opts.weights says */
    void *map;              /* file.bytes when it is a mapping (SIGBUS guard), else NULL */
    size_t map_bytes;       /* the file's size */
    struct gguf g;
    struct model m;
    struct infer *ctx;
    bool gguf_open, model_loaded;
};

/* Defaults for every flag. */
void session_opts_init(struct session_opts *o);

/* Place the file (map it, or read it into memory), open and validate the GGUF, bind the model; with
 * with_ctx, create the inference context too. Returns 0, or -1 with a
 * message naming the file (a bad file or a failed start). */
int session_open(struct session *s, const struct session_opts *o, bool with_ctx, char *err, size_t err_len);

/* Release everything; safe on NULL, a partly opened or a zeroed session.
 * A CLI that guarded the mapping (cli/sigbus.h) ends the guard first. */
void session_close(struct session *s);

#endif
