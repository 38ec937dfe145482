#include "harness/session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/cli.h"

void session_opts_init(struct session_opts *o)
{
    memset(o, 0, sizeof *o);
    infer_opts_default(&o->infer);
}

const char *session_flags_help(void)
{
    return "  -m, --model FILE   GGUF model\n"
           "  -t, --threads N    worker threads (default: online CPUs)\n"
           "  --kernels K        auto|ref|avx2|avx512 (default auto: fastest the CPU has)\n"
           "  --kv T             f16|f32 KV cache (default f16)\n"
           "  --wait W           spin|futex|hybrid barrier wait policy (default hybrid)\n"
           "  --pin LIST         pin threads to CPUs, e.g. 0,1 or 0-3 (default: no pinning)\n"
           "  --ctx N            KV cache positions (default: model context, at most 4096)\n"
           "  --batch N          most tokens per forward pass (default 64)\n";
}

int session_parse_flag(struct session_opts *o, int argc, char **argv, int *i)
{
    const char *f = argv[*i];
    static const char *const flags_with_value[] = { "-m", "--model", "-t", "--threads", "--kernels", "--kv",
                                                    "--wait", "--pin", "--ctx", "--batch", NULL };
    int known = 0;
    for (int k = 0; flags_with_value[k]; k++)
        if (strcmp(f, flags_with_value[k]) == 0)
            known = 1;
    if (!known)
        return 0;
    if (*i + 1 >= argc) {
        cli_error(CLI_EUSAGE, "%s: missing value", f);
        return -CLI_EUSAGE;
    }
    const char *v = argv[++*i];
    if (!strcmp(f, "-m") || !strcmp(f, "--model")) {
        o->model_path = v;
    } else if (!strcmp(f, "-t") || !strcmp(f, "--threads")) {
        if (cli_parse_int(f, v, 1, 1024, &o->infer.n_threads))
            return -CLI_EUSAGE;
        o->threads_set = true;
    } else if (!strcmp(f, "--kernels")) {
        static const char *const k[] = { "ref", "avx2", "avx512", "auto", NULL };
        int c = cli_parse_choice(f, v, k);
        if (c < 0)
            return -CLI_EUSAGE;
        o->infer.max_isa = c == 3 ? QISA_AVX512 : (enum quant_isa)c;
    } else if (!strcmp(f, "--kv")) {
        static const char *const k[] = { "f16", "f32", NULL };
        int c = cli_parse_choice(f, v, k);
        if (c < 0)
            return -CLI_EUSAGE;
        o->infer.kv_type = c == 0 ? INFER_KV_F16 : INFER_KV_F32;
    } else if (!strcmp(f, "--wait")) {
        static const char *const k[] = { "spin", "futex", "hybrid", NULL };
        int c = cli_parse_choice(f, v, k);
        if (c < 0)
            return -CLI_EUSAGE;
        o->infer.wait = (enum pool_wait)pool_wait_from_name(k[c]);
    } else if (!strcmp(f, "--pin")) {
        char err[256];
        int n = pool_parse_cpus(v, o->cpus, SESSION_MAX_CPUS, err, sizeof err);
        if (n <= 0) {
            cli_error(CLI_EUSAGE, "--pin: %s", err);
            return -CLI_EUSAGE;
        }
        o->infer.cpus = o->cpus;
        o->infer.n_cpus = n;
    } else if (!strcmp(f, "--ctx")) {
        if (cli_parse_int(f, v, 1, 1 << 24, &o->infer.n_ctx))
            return -CLI_EUSAGE;
    } else if (!strcmp(f, "--batch")) {
        if (cli_parse_int(f, v, 1, 1 << 16, &o->infer.n_batch))
            return -CLI_EUSAGE;
    }
    return 1;
}

int session_open(struct session *s, const struct session_opts *o, bool with_ctx, char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    const char *path = o->model_path;
    char e[512];
    if (!path) {
        snprintf(err, err_len, "no model given (-m FILE)");
        return 1;
    }
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return 1;
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
    s->map = mmap(NULL, s->map_bytes, PROT_READ, MAP_PRIVATE, s->fd, 0);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        snprintf(err, err_len, "%s: mmap: %s", path, strerror(errno));
        goto fail;
    }
    if (gguf_open_alloc(&s->g, s->map, s->map_bytes, e, sizeof e) != GGUF_OK) {
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
    return 0;
fail:
    session_close(s);
    return 1;
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
    if (s->map)
        munmap(s->map, s->map_bytes);
    if (s->fd >= 0)
        close(s->fd);
    s->model_loaded = s->gguf_open = false;
    s->map = NULL;
    s->fd = -1;
}
