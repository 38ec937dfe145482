/* session — open a model file for the CLI and the workloads: place its
 * bytes, index the GGUF, bind the model, optionally make a context. */
#include "harness/run/session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


void session_opts_init(struct session_opts *o)
{
    memset(o, 0, sizeof *o);
    infer_opts_default(&o->infer);
}

int session_open(struct session *s, const struct session_opts *o, bool with_ctx, char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    const char *path = o->model_path;
    char e[512];
    if (!path) {
        snprintf(err, err_len, "no model given (-m FILE)");
        return -1;
    }
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file", path);
        goto fail;
    }
    if (st.st_size == 0) {
        snprintf(err, err_len, "%s: empty file", path);
        goto fail;
    }
    s->map_bytes = (size_t)st.st_size;
    if (filebuf_load(&s->file, s->fd, (uint64_t)st.st_size, o->weights, e, sizeof e) != 0) {
        snprintf(err, err_len, "%s: %s", path, e);
        goto fail;
    }
    if (s->file.kind == FILEBUF_MAP)
        s->map = (void *)(uintptr_t)s->file.bytes;
    if (gguf_open_alloc(&s->g, s->file.bytes, s->file.size, e, sizeof e) != GGUF_OK) {
        snprintf(err, err_len, "%s: %s", path, e);
        goto fail;
    }
    s->gguf_open = true;
    if (model_load(&s->m, &s->g, NULL, e, sizeof e) != MODEL_OK) {
        snprintf(err, err_len, "%s: %s", path, e);
        goto fail;
    }
    s->model_loaded = true;
    if (with_ctx && infer_new(&s->ctx, &s->m, &o->infer, e, sizeof e) != INFER_OK) {
        snprintf(err, err_len, "%s: %s", path, e);
        goto fail;
    }
    /* a copy's pages are known now; a mapping's are not yet touched and
     * count as small, as the page cache's folios mostly are after read(2) */
    if (s->ctx)
        infer_set_small_pages(s->ctx, filebuf_small_pages(&s->file));
    return 0;
fail:
    session_close(s);
    return -1;
}

void session_close(struct session *s)
{
    if (!s)
        return;
    infer_free(s->ctx);
    s->ctx = NULL;
    if (s->model_loaded)
        model_free(&s->m);
    if (s->gguf_open)
        gguf_close(&s->g);
    filebuf_free(&s->file);
    if (s->fd >= 0)
        close(s->fd);
    s->model_loaded = s->gguf_open = false;
    s->map = NULL;
    s->fd = -1;
}
