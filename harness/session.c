#include "harness/session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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
           "  --batch N          most tokens per forward pass (default 64)\n"
           "  --weights W        map|read|hugepage: mmap the file, or read it into heap\n"
           "                     memory, or into 2 MiB transparent huge pages (default map)\n";
}

int session_parse_flag(struct session_opts *o, int argc, char **argv, int *i)
{
    const char *f = argv[*i];
    static const char *const flags_with_value[] = { "-m", "--model", "-t", "--threads", "--kernels", "--kv",
                                                    "--wait", "--pin", "--ctx", "--batch", "--weights", NULL };
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
    } else if (!strcmp(f, "--weights")) {
        int c = cli_parse_choice(f, v, filebuf_kind_names);
        if (c < 0)
            return -CLI_EUSAGE;
        o->weights = (enum filebuf_kind)c;
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
    return 0;
fail:
    session_close(s);
    return 1;
}

/* ---- SIGBUS guard ------------------------------------------------------ */

/* The one guarded mapping. A signal handler can only reach it through a
 * static; fields change only while armed is 0. */
static struct {
    volatile sig_atomic_t armed;
    uintptr_t lo, hi;
    int fd;
    char path[PATH_MAX];
} guard;

/* Async-signal-safe appends for the handler's message. */
static size_t put_str(char *buf, size_t used, size_t cap, const char *s)
{
    while (*s && used + 1 < cap)
        buf[used++] = *s++;
    return used;
}

static size_t put_u64(char *buf, size_t used, size_t cap, uint64_t v)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && used + 1 < cap)
        buf[used++] = d[--n];
    return used;
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (guard.armed && si->si_code > 0 && a >= guard.lo && a < guard.hi) {
        char msg[PATH_MAX + 256];
        size_t n = 0, cap = sizeof msg;
        n = put_str(msg, n, cap, "ggperf: ");
        n = put_str(msg, n, cap, guard.path);
        n = put_str(msg, n, cap, ": the file changed while mapped (SIGBUS reading byte ");
        n = put_u64(msg, n, cap, (uint64_t)(a - guard.lo));
        n = put_str(msg, n, cap, " of the ");
        n = put_u64(msg, n, cap, (uint64_t)(guard.hi - guard.lo));
        n = put_str(msg, n, cap, " mapped");
        struct stat st;
        if (guard.fd >= 0 && fstat(guard.fd, &st) == 0) {
            n = put_str(msg, n, cap, "; the file now has ");
            n = put_u64(msg, n, cap, (uint64_t)st.st_size);
            n = put_str(msg, n, cap, " bytes");
        }
        n = put_str(msg, n, cap, "): was it truncated or rewritten by another process?\n");
        ssize_t w = write(2, msg, n);
        (void)w;
        _exit(1);
    }
    /* not the guarded mapping: the default action, as if never caught */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (si->si_code <= 0) /* sent, not a fault: returning would not repeat it */
        raise(sig);
}

void session_guard_mapping(const char *path, int fd, const void *map, size_t bytes)
{
    guard.armed = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (!map || !bytes)
        return;
    snprintf(guard.path, sizeof guard.path, "%s", path ? path : "(model)");
    guard.fd = fd;
    guard.lo = (uintptr_t)map;
    guard.hi = (uintptr_t)map + bytes;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    guard.armed = 1;
}

void session_guard(const struct session *s, const char *path)
{
    session_guard_mapping(path, s->fd, s->map, s->map_bytes);
}

void session_close(struct session *s)
{
    if (!s)
        return;
    if (guard.armed && s->map && guard.lo == (uintptr_t)s->map)
        session_guard_mapping(NULL, -1, NULL, 0);
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
