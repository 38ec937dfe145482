/* synth_write — writing a planned model: each tensor's random weights from
 * its quant type's recipe (engine/quant_random.c), streamed through one
 * fixed buffer with the one GGUF writer, to a temporary file that is synced
 * and then renamed into place (synth_write in synth.h). */
#include "modelgen/synth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/err.h"
#include "engine/quant.h"
#include "modelgen/gguf_writer.h"
#include "modelgen/synth_impl.h"

/* The staging buffer of synth_write: the only allocation that scales with
 * nothing but this constant. */
#define SYNTH_BUF_BYTES (4u << 20)

/* Spread of the synthesized weights: what llama-style initialisation and
 * the golden model use. */
#define WEIGHT_STD 0.02f

/* ------------------------------------------------------------------ */
/* Random weights                                                       */

/* The blocks come from each type's recipe in the quant type table
 * (engine/quant_random.c); the stream of one tensor depends only on
 * (seed, tensor name). */
static void rng_seed(struct quant_rng *r, uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 0x100000001b3ull;
    quant_rng_seed(r, seed, h);
}

/* Fill nb blocks of type `type` at p with random content. */
static void fill_blocks(int type, struct quant_rng *r, uint8_t *p, size_t nb)
{
    if (quant_random_blocks(type, r, p, nb, WEIGHT_STD) != 0)
        /* Unreachable: plans only hold types with a recipe. Zeros keep the
         * file well-formed if a type is ever added to a plan alone. */
        memset(p, 0, nb * quant_traits_get(type)->type_size);
}

/* ------------------------------------------------------------------ */
/* Writing                                                              */

struct write_ctx {
    struct gguf_writer w;
    const struct synth_plan *plan;
    synth_progress_fn progress;
    void *user;
    bool canceled;
};

static int write_tensor(struct write_ctx *c, const struct synth_tensor *t)
{
    struct gguf_writer *w = &c->w;
    const struct quant_traits *tr = quant_traits_get(t->type);
    const uint64_t total_blocks = (uint64_t)t->ne[0] / (uint64_t)tr->blck * (uint64_t)t->ne[1];
    const uint64_t per_chunk = gguf_writer_reserve_max(w) / tr->type_size;
    const bool is_norm = t->n_dims == 1;
    struct quant_rng r;
    rng_seed(&r, c->plan->spec.seed, t->name);
    for (uint64_t done = 0; done < total_blocks;) {
        uint64_t nb = total_blocks - done < per_chunk ? total_blocks - done : per_chunk;
        uint8_t *p = gguf_writer_reserve(w, (size_t)(nb * tr->type_size));
        if (!p)
            return w->status;
        if (is_norm) {
            const float one = 1.0f;
            for (uint64_t i = 0; i < nb; i++)
                memcpy(p + 4 * i, &one, 4);
        } else {
            fill_blocks(t->type, &r, p, (size_t)nb);
        }
        done += nb;
        if (c->progress && c->progress(w->offset, c->plan->file_bytes, c->user) != 0) {
            c->canceled = true;
            return GGUF_WRITER_OK;
        }
    }
    return gguf_writer_pad(w, SYNTH_ALIGNMENT);
}

static int synth_status_of(int writer_status)
{
    switch (writer_status) {
    case GGUF_WRITER_OK: return SYNTH_OK;
    case GGUF_WRITER_ENOSPC: return SYNTH_ENOSPC;
    case GGUF_WRITER_EINVAL: return SYNTH_EINVAL;
    default: return SYNTH_EIO;
    }
}

/* The directory part of path ("." when it has none). */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Move tmp to path, refusing to replace path unless force. */
static int publish(const char *tmp, const char *path, bool force, char *err, size_t err_len)
{
    if (force) {
        if (rename(tmp, path) == 0)
            return SYNTH_OK;
    } else {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
            return SYNTH_OK;
        if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
            /* A file system without RENAME_NOREPLACE: a hard link does not
             * replace either. */
            if (link(tmp, path) == 0) {
                unlink(tmp);
                return SYNTH_OK;
            }
            /* Nor hard links (some FUSE and network file systems): check,
             * then rename, accepting the small race. */
            struct stat st;
            if (errno != EEXIST) {
                if (lstat(path, &st) == 0)
                    errno = EEXIST;
                else if (rename(tmp, path) == 0)
                    return SYNTH_OK;
            }
        }
        if (errno == EEXIST) {
            snprintf(err, err_len, "%s already exists (appeared while writing)", path);
            return SYNTH_EEXIST;
        }
    }
    snprintf(err, err_len, "rename %s -> %s: %s", tmp, path, strerror(errno));
    return SYNTH_EIO;
}

int synth_write(const struct synth_spec *s, const char *path, unsigned flags,
                synth_progress_fn progress, void *user, char *err, size_t err_len)
{
    const bool force = (flags & SYNTH_FORCE) != 0;
    struct synth_plan *plan = NULL;
    char tmp[PATH_MAX], dir[PATH_MAX];
    uint8_t *buf = NULL;
    int fd = -1;
    bool tmp_made = false;
    struct stat st;

    int rc = synth_plan_new(s, &plan, err, err_len);
    if (rc != SYNTH_OK)
        return rc;
    if (!path || !*path) {
        snprintf(err, err_len, "empty output path");
        rc = SYNTH_EINVAL;
        goto out;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, err_len, "output path too long (%zu bytes)", strlen(path));
        rc = SYNTH_EINVAL;
        goto out;
    }
    if (lstat(path, &st) == 0) {
        if (!force) {
            snprintf(err, err_len, "%s already exists", path);
            rc = SYNTH_EEXIST;
            goto out;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, err_len, "%s is a directory", path);
            rc = SYNTH_EINVAL;
            goto out;
        }
    }
    dir_of(path, dir, sizeof dir);
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0) {
        snprintf(err, err_len, "output directory %s: %s", dir, strerror(errno));
        rc = SYNTH_EIO;
        goto out;
    }
    const uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    if (avail < plan->file_bytes) {
        snprintf(err, err_len, "not enough space in %s: the file needs %" PRIu64 " bytes (%.1f MiB), %"
                 PRIu64 " bytes (%.1f MiB) are available", dir, plan->file_bytes,
                 (double)plan->file_bytes / 1048576.0, avail, (double)avail / 1048576.0);
        rc = SYNTH_ENOSPC;
        goto out;
    }
    buf = malloc(SYNTH_BUF_BYTES);
    if (!buf) {
        snprintf(err, err_len, "out of memory for the %u-byte write buffer", SYNTH_BUF_BYTES);
        rc = SYNTH_ENOMEM;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_len, "create %s: %s", tmp, strerror(errno));
        rc = errno == ENOSPC || errno == EDQUOT ? SYNTH_ENOSPC : SYNTH_EIO;
        goto out;
    }
    tmp_made = true;
    /* Reserve the blocks up front: a full disk fails now, not at 90%.
     * File systems without fallocate just skip this. */
    if (plan->file_bytes > 0 && fallocate(fd, 0, 0, (off_t)plan->file_bytes) != 0 &&
        (errno == ENOSPC || errno == EDQUOT)) {
        snprintf(err, err_len, "reserving %" PRIu64 " bytes for %s: %s", plan->file_bytes, tmp, strerror(errno));
        rc = SYNTH_ENOSPC;
        goto out;
    }

    struct write_ctx c = { .plan = plan, .progress = progress, .user = user };
    gguf_writer_init(&c.w, fd, buf, SYNTH_BUF_BYTES, GGUF_WRITER_DEFER_MAGIC);
    synth_emit_metadata(&c.w, plan);
    if (c.w.status == GGUF_WRITER_OK && c.w.offset != plan->data_offset) {
        snprintf(err, err_len, "internal: metadata took %" PRIu64 " bytes, planned %" PRIu64,
                 c.w.offset, plan->data_offset);
        rc = SYNTH_EIO;
        goto out;
    }
    for (uint64_t i = 0; i < plan->n_tensors && c.w.status == GGUF_WRITER_OK && !c.canceled; i++)
        write_tensor(&c, &plan->tensors[i]);
    if (c.canceled) {
        snprintf(err, err_len, "canceled after %" PRIu64 " of %" PRIu64 " bytes", c.w.offset, plan->file_bytes);
        rc = SYNTH_ECANCELED;
        goto out;
    }
    if (c.w.status == GGUF_WRITER_OK && c.w.offset != plan->file_bytes) {
        snprintf(err, err_len, "internal: wrote %" PRIu64 " bytes, planned %" PRIu64, c.w.offset,
                 plan->file_bytes);
        rc = SYNTH_EIO;
        goto out;
    }
    if (gguf_writer_finish(&c.w, true) != GGUF_WRITER_OK) {
        snprintf(err, err_len, "%s: %s", tmp, c.w.err);
        rc = synth_status_of(c.w.status);
        goto out;
    }
    if (progress)
        progress(plan->file_bytes, plan->file_bytes, user);
    int fd_closing = fd;
    fd = -1;
    if (close(fd_closing) != 0) {
        snprintf(err, err_len, "close %s: %s", tmp, strerror(errno));
        rc = SYNTH_EIO;
        goto out;
    }
    rc = publish(tmp, path, force, err, err_len);
    if (rc != SYNTH_OK)
        goto out;
    tmp_made = false;
    /* Make the rename durable too. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }

out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        unlink(tmp);
    free(buf);
    synth_plan_free(plan);
    return rc;
}
