/* top_logit — the smallest program on the ggperf engine library: open a
 * GGUF model, evaluate a sequence of token ids in one batch and print the
 * token with the highest logit after the last one, and that logit.
 *
 * Build it against an installed ggperf (make install, or the .deb):
 *     cc top_logit.c $(pkg-config --cflags --libs ggperf-engine) -o top_logit
 *     ./top_logit model.gguf 1 17 300 42
 *     top 619 logit 1.234567
 *
 * The library needs only libc, libm and pthreads. The headers are installed
 * in include/ggperf/engine/; pkg-config's -I.../include/ggperf makes them
 * <engine/x.h>, the same names they have inside the source tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <engine/gguf.h>
#include <engine/infer.h>
#include <engine/model.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf TOKEN_ID...\n", argv[0]);
        return 2;
    }
    int n = argc - 2;
    int32_t *tokens = malloc(sizeof *tokens * (size_t)n);
    if (!tokens)
        return 1;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long v = strtol(argv[i + 2], &end, 10);
        if (errno || *end || end == argv[i + 2] || v < 0 || v > INT32_MAX) {
            fprintf(stderr, "top_logit: token %d: '%s' is not a token id\n", i + 1, argv[i + 2]);
            return 2;
        }
        tokens[i] = (int32_t)v;
    }

    /* The engine reads the file where it lies: map it read-only. */
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "top_logit: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    void *buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (buf == MAP_FAILED) {
        fprintf(stderr, "top_logit: %s: mmap: %s\n", argv[1], strerror(errno));
        return 1;
    }

    char err[256];
    struct gguf g;
    struct model m;
    struct infer *ctx = NULL;
    struct infer_opts o;
    int rc = 1;
    if (gguf_open_alloc(&g, buf, (size_t)st.st_size, err, sizeof err) != GGUF_OK) {
        fprintf(stderr, "top_logit: %s: %s\n", argv[1], err);
        goto unmap;
    }
    if (model_load(&m, &g, NULL, err, sizeof err) != MODEL_OK) {
        fprintf(stderr, "top_logit: %s: %s\n", argv[1], err);
        goto close;
    }
    infer_opts_default(&o);
    if (infer_new(&ctx, &m, &o, err, sizeof err) != INFER_OK ||
        infer_eval(ctx, tokens, n, NULL, err, sizeof err) != INFER_OK) {
        fprintf(stderr, "top_logit: %s\n", err);
        goto free;
    }

    const float *logits = infer_logits(ctx);
    int best = 0;
    for (int i = 1; i < m.hp.n_vocab; i++)
        if (logits[i] > logits[best])
            best = i;
    printf("top %d logit %.6f\n", best, logits[best]);
    rc = 0;
free:
    infer_free(ctx);
    model_free(&m);
close:
    gguf_close(&g);
unmap:
    munmap(buf, (size_t)st.st_size);
    free(tokens);
    return rc;
}
