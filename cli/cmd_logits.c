/* ggperf logits — the conformance interface: evaluate token ids from an
 * empty cache and write every position's logits as little-endian float32,
 * row-major [n_tokens][n_vocab]. Keep it stable: tests and outside checks
 * use it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/engine_flags.h"
#include "cli/sigbus.h"
#include "harness/run/session.h"

#define MAX_TOKENS 65536

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf logits -m MODEL --tokens ID,ID,... [--mode batch|decode] [-o OUT.f32 [--force]]\n"
               "                     [engine flags]\n\n"
               "Evaluate the token ids from an empty KV cache and write the logits of every\n"
               "position as little-endian float32, row-major [n_tokens][n_vocab].\n"
               "  --mode batch    all tokens in one pass (default)\n"
               "  --mode decode   one token at a time through the KV cache\n"
               "  -o FILE         output file (default: stdout); an existing file is kept unless\n"
               "                  ggperf wrote it (and it is unchanged since)\n"
               "  --force         replace an existing -o FILE (atomically: written aside, then renamed)\n"
               "Exit: 0 ok, 1 bad model or token id, 2 usage error.\n\nengine flags:\n%s",
            cli_engine_flags_help());
}

/* The -o file. A new file is created exclusively (O_EXCL) and removed if
 * the write fails; an existing regular file is refused unless --force, and
 * then replaced atomically (written to PATH.tmp.PID, renamed into place
 * when complete, so a full disk leaves it as it was); anything else that
 * exists (/dev/null, a FIFO) is written as is. */
struct out_file {
    int fd;
    const char *path;
    char tmp[4096];      /* the file being written when it is not path itself */
    bool created;        /* fd is a file this run created: remove it on failure */
};

static int out_open(struct out_file *o, const char *path, bool force, char *err, size_t err_len)
{
    struct stat st;
    o->path = path;
    o->tmp[0] = '\0';
    bool exists = stat(path, &st) == 0;
    if (exists && S_ISREG(st.st_mode)) {
        /* ggperf's own earlier output (unchanged since) is replaced like with --force */
        if (!force && !cli_output_is_ours(path)) {
            snprintf(err, err_len, "%s exists and is not an output ggperf wrote (or was changed since); not "
                     "overwriting it (--force replaces it)", path);
            return -1;
        }
        int w = snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
        if (w < 0 || (size_t)w >= sizeof o->tmp) {
            snprintf(err, err_len, "%s: path too long", path);
            o->tmp[0] = '\0';
            return -1;
        }
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        o->created = o->fd >= 0;
        if (o->fd < 0) {
            snprintf(err, err_len, "%s: cannot create: %s", o->tmp, strerror(errno));
            o->tmp[0] = '\0';
            return -1;
        }
        return 0;
    }
    if (!exists) {
        o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        o->created = o->fd >= 0;
    } else {
        o->fd = open(path, O_WRONLY | O_CLOEXEC); /* a device or FIFO */
    }
    if (o->fd < 0) {
        snprintf(err, err_len, "%s: cannot open for writing: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Write the bytes, sync, and rename into place; 0 or -1 with a message
 * (the output is then removed or left as it was by out_abort). */
static int out_commit(struct out_file *o, const void *data, size_t n, char *err, size_t err_len)
{
    const char *p = data;
    size_t left = n;
    while (left) {
        ssize_t w = write(o->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            snprintf(err, err_len, "%s: write failed after %zu of %zu bytes: %s%s%s", o->path, n - left, n,
                     strerror(e), e == ENOSPC ? " (the disk is full)" : e == EFBIG ? " (the file size limit)" : "",
                     o->tmp[0] ? "; the existing file is left as it was"
                     : o->created ? "; the partial file is removed" : "");
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    struct stat st;
    if (fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(o->fd) != 0) {
        snprintf(err, err_len, "%s: fsync: %s", o->path, strerror(errno));
        return -1;
    }
    if (close(o->fd) != 0) {
        o->fd = -1;
        snprintf(err, err_len, "%s: close: %s", o->path, strerror(errno));
        return -1;
    }
    o->fd = -1;
    if (o->tmp[0]) {
        if (rename(o->tmp, o->path) != 0) {
            snprintf(err, err_len, "%s: rename into place failed: %s", o->path, strerror(errno));
            return -1;
        }
        o->tmp[0] = '\0';
    }
    o->created = false; /* done: nothing to remove */
    return 0;
}

/* After a failure: close, and remove what this run created. */
static void out_abort(struct out_file *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->created)
        unlink(o->tmp[0] ? o->tmp : o->path);
    o->created = false;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct session_opts so;
    session_opts_init(&so);
    const char *tokens_arg = NULL, *out_path = NULL;
    int mode = 0;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        int r = cli_engine_flag(&so, argc, argv, &i);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        const char *f = argv[i];
        if (!strcmp(f, "--force")) {
            force = true;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "%s: unknown flag or missing value (ggperf logits --help)", f);
        if (!strcmp(f, "--tokens")) {
            tokens_arg = argv[++i];
        } else if (!strcmp(f, "-o") || !strcmp(f, "--out")) {
            out_path = argv[++i];
        } else if (!strcmp(f, "--mode")) {
            static const char *const modes[] = { "batch", "decode", NULL };
            if ((mode = cli_parse_choice(f, argv[++i], modes)) < 0)
                return CLI_EUSAGE;
        } else {
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf logits --help)", f);
        }
    }
    if (!so.model_path)
        return cli_error(CLI_EUSAGE, "-m MODEL is required");
    if (!tokens_arg)
        return cli_error(CLI_EUSAGE, "--tokens is required");
    int *ids = malloc(sizeof(int) * MAX_TOKENS);
    if (!ids)
        return cli_error(CLI_EFAIL, "out of memory");
    int n = cli_parse_int_list("--tokens", tokens_arg, 0, 1 << 30, ids, MAX_TOKENS);
    if (n <= 0) {
        free(ids);
        return CLI_EUSAGE;
    }
    if (so.infer.n_ctx == 0)
        so.infer.n_ctx = n;
    else if (so.infer.n_ctx < n) {
        free(ids);
        return cli_error(CLI_EUSAGE, "--ctx %d is smaller than the %d tokens", so.infer.n_ctx, n);
    }

    struct session s;
    char err[1024];
    int rc = CLI_EFAIL;
    float *logits = NULL;
    struct out_file of = { .fd = -1 };
    if (session_open(&s, &so, true, err, sizeof err) != 0) {
        cli_error(CLI_EFAIL, "%s", err);
        goto done;
    }
    cli_guard_session(&s, so.model_path); /* a file truncated under us: one line, exit 1 */
    int n_vocab = s.m.hp.n_vocab;
    for (int i = 0; i < n; i++)
        if (ids[i] >= n_vocab) {
            cli_error(CLI_EFAIL, "token id %d (position %d) is outside the vocabulary of %s (0..%d)", ids[i], i,
                      so.model_path, n_vocab - 1);
            goto done;
        }
    /* the output is claimed before the work, so a refusal costs nothing */
    if (out_path && out_open(&of, out_path, force, err, sizeof err) != 0) {
        cli_error(CLI_EFAIL, "%s", err);
        goto done;
    }
    logits = malloc(sizeof(float) * (size_t)n * (size_t)n_vocab);
    if (!logits) {
        cli_error(CLI_EFAIL, "out of memory for %d x %d logits", n, n_vocab);
        goto done;
    }
    int32_t *toks = (int32_t *)ids; /* int and int32_t are the same here */
    if (mode == 0) {
        if (infer_eval(s.ctx, toks, n, logits, err, sizeof err) != INFER_OK) {
            cli_error(CLI_EFAIL, "%s", err);
            goto done;
        }
    } else {
        for (int i = 0; i < n; i++) {
            if (infer_eval(s.ctx, toks + i, 1, logits + (size_t)i * n_vocab, err, sizeof err) != INFER_OK) {
                cli_error(CLI_EFAIL, "%s", err);
                goto done;
            }
        }
    }
    size_t count = (size_t)n * n_vocab;
    if (!out_path) {
        if (fwrite(logits, sizeof(float), count, stdout) != count || fflush(stdout) != 0) {
            cli_error(CLI_EFAIL, "stdout: write failed: %s", strerror(errno));
            goto done;
        }
    } else if (out_commit(&of, logits, sizeof(float) * count, err, sizeof err) != 0) {
        cli_error(CLI_EFAIL, "%s", err);
        goto done;
    } else {
        cli_output_mark(out_path);
    }
    rc = CLI_OK;
done:
    out_abort(&of);
    free(logits);
    free(ids);
    session_close(&s);
    return rc;
}

const struct cli_cmd cmd_logits = { "logits", "evaluate token ids and write the logits of every position", run };
