/* session — a model file opened for the CLI and workloads: mapping, GGUF
 * index, bound model and inference context, built from the engine flags
 * every model-running subcommand shares:
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
#include "harness/filebuf.h"

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

/* Try one flag (argv[*i]) of the list above, consuming its value
 * (argv[*i + 1]) when it has one. Returns 1 when handled, 0 when the flag
 * is not a session flag, -CLI_EUSAGE after printing the error. */
int session_parse_flag(struct session_opts *o, int argc, char **argv, int *i);

/* Help text for the session flags. */
const char *session_flags_help(void);

/* Place the file (map it, or read it into memory), open and validate the GGUF, bind the model; with
 * with_ctx, create the inference context too. Returns 0, or 1 with a
 * message naming the file (a bad file or a failed start). */
int session_open(struct session *s, const struct session_opts *o, bool with_ctx, char *err, size_t err_len);

/* Release everything; safe on a partly opened or zeroed session. Ends a
 * session_guard_mapping of this session's mapping. */
void session_close(struct session *s);

/* For the CLI: turn a SIGBUS on bytes [map, map + bytes) -- the file behind
 * the mapping was truncated or rewritten by another process, or a page of
 * it could not be read -- into one line on stderr,
 *   ggperf: PATH: the file changed while mapped (SIGBUS reading byte N of
 *   the M mapped; the file now has K bytes): was it truncated or rewritten
 *   by another process?
 * and exit status 1, instead of "Bus error" and a core. fd (may be -1) is
 * the open file, for its size now. A SIGBUS anywhere else keeps the default
 * action. One mapping is guarded at a time: a later call replaces the
 * earlier; map NULL ends the guard. The handler ends the process, so
 * library code and workloads (whose isolated repetitions report the signal
 * itself) do not install it. path is copied (up to PATH_MAX bytes). */
void session_guard_mapping(const char *path, int fd, const void *map, size_t bytes);

/* session_guard_mapping of an open session's file. */
void session_guard(const struct session *s, const char *path);

#endif
