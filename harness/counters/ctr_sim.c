/* ctr_sim — simulated cache counts: a command under valgrind's callgrind
 * with the cache simulator on and collection off until the command's own
 * client requests (CALLGRIND_TOGGLE_COLLECT) bracket the region of interest.
 *
 * The cache geometry comes from cpuinfo_caches_get() (the user's
 * $GGPERF_CACHE_GEOMETRY, else sysfs, CPUID, getconf; valgrind's own cpuid
 * reading gets the LLC wrong in VMs), adjusted to what valgrind accepts
 * (power-of-two sets); the result records which source it was. Valgrind 3.19 does not decode AVX-512 and
 * hides it from cpuid, so the engine's run-time dispatch takes its AVX2
 * path under valgrind; the caller records which (opts->isa_path).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/callgrind.h>
#include <valgrind/valgrind.h>

#include "results/fmt.h"
#include "harness/counters/ctr.h"
#include "harness/machine/cpuinfo.h"
#include "base/err.h"
#include "harness/machine/sysfs.h"

/* ---- in-process side --------------------------------------------------- */

bool ctr_sim_running(void)
{
    return RUNNING_ON_VALGRIND != 0;
}

void ctr_sim_collect_begin(void)
{
    CALLGRIND_TOGGLE_COLLECT;
}

void ctr_sim_collect_end(void)
{
    CALLGRIND_TOGGLE_COLLECT;
}

static bool sim_match(const struct ctr_sim_regions *st, enum region_kind kind, int index)
{
    return kind == st->kind && (st->index < 0 || index == st->index);
}

static void sim_begin(void *user, enum region_kind kind, int index)
{
    struct ctr_sim_regions *st = user;
    if (sim_match(st, kind, index) && st->depth++ == 0)
        ctr_sim_collect_begin();
}

static void sim_end(void *user, enum region_kind kind, int index)
{
    struct ctr_sim_regions *st = user;
    if (sim_match(st, kind, index) && st->depth > 0 && --st->depth == 0) {
        ctr_sim_collect_end();
        st->n_collected++;
    }
}

struct region_hooks ctr_sim_region_hooks(struct ctr_sim_regions *st)
{
    struct region_hooks h = { .begin = sim_begin, .end = sim_end, .user = st };
    return h;
}

int ctr_sim_regions_parse(struct ctr_sim_regions *st, const char *text, char *err, size_t err_len)
{
    memset(st, 0, sizeof *st);
    st->index = -1;
    if (!text)
        text = "";
    const char *colon = strchr(text, ':');
    size_t klen = colon ? (size_t)(colon - text) : strlen(text);
    for (int k = 0; k < REGION_KIND_COUNT; k++) {
        const char *name = region_kind_name((enum region_kind)k);
        if (strlen(name) != klen || strncmp(name, text, klen) != 0)
            continue;
        st->kind = (enum region_kind)k;
        if (colon) {
            char *end;
            errno = 0;
            long v = strtol(colon + 1, &end, 10);
            if (errno || end == colon + 1 || *end || v < 0 || v > 1000000) {
                err_set(err, err_len, "sim region '%s': index after ':' must be an integer 0..1000000", text);
                return CTR_EINVAL;
            }
            st->index = (int)v;
        }
        return 0;
    }
    err_set(err, err_len, "sim region '%s' is not one of load|prefill|decode|layer|matmul|attn (optionally :INDEX)",
            text);
    return CTR_EINVAL;
}

int ctr_sim_regions_from_env(struct ctr_sim_regions *st, char *err, size_t err_len)
{
    const char *v = getenv("GGPERF_SIM_REGION");
    memset(st, 0, sizeof *st);
    st->index = -1;
    if (!ctr_sim_running() || !v || !*v)
        return 0;
    int rc = ctr_sim_regions_parse(st, v, err, err_len);
    return rc ? rc : 1;
}

/* ---- cache geometry ---------------------------------------------------- */

static bool pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

bool ctr_sim_cache_fix(struct ctr_sim_cache *c)
{
    bool changed = false;
    if (c->line_bytes < 16 || !pow2((uint64_t)c->line_bytes)) {
        c->line_bytes = 64;
        changed = true;
    }
    if (c->ways < 1) {
        c->ways = 1;
        changed = true;
    }
    uint64_t lines = c->size_bytes / (uint64_t)c->line_bytes;
    if (lines < 2) {
        lines = 2;
        changed = true;
    }
    if ((uint64_t)c->ways > lines) {
        c->ways = (int)lines;
        changed = true;
    }
    if (lines % (uint64_t)c->ways == 0 && pow2(lines / (uint64_t)c->ways)) {
        if (c->size_bytes != lines * (uint64_t)c->line_bytes) {
            c->size_bytes = lines * (uint64_t)c->line_bytes;
            changed = true;
        }
        return changed;
    }
    /* nearest associativity that keeps the size and gives power-of-two sets */
    for (int dist = 1; dist <= c->ways; dist++) {
        int cand[2] = { c->ways - dist, c->ways + dist };
        for (int i = 0; i < 2; i++) {
            uint64_t a = cand[i] > 0 ? (uint64_t)cand[i] : 0;
            if (a && a <= lines && lines % a == 0 && pow2(lines / a)) {
                c->ways = (int)a;
                c->size_bytes = lines * (uint64_t)c->line_bytes;
                return true;
            }
        }
    }
    /* else keep the associativity and round the sets down */
    uint64_t sets = 1;
    while (sets * 2 <= lines / (uint64_t)c->ways)
        sets *= 2;
    c->size_bytes = sets * (uint64_t)c->ways * (uint64_t)c->line_bytes;
    return true;
}

int ctr_sim_cache_machine(struct ctr_sim_cache *i1, struct ctr_sim_cache *d1, struct ctr_sim_cache *ll,
                          char *source, size_t source_len, char *note, size_t note_len)
{
    struct ctr_sim_cache zero = { 0, 0, 0 };
    *i1 = *d1 = *ll = zero;
    if (note_len)
        note[0] = '\0';
    if (source_len)
        source[0] = '\0';
    struct cpuinfo_caches cs;
    if (cpuinfo_caches_get(&cs) != 0) {
        err_set(note, note_len, "no cache geometry: %s", cs.why);
        return CTR_EUNSUPPORTED;
    }
    snprintf(source, source_len, "%s", cpuinfo_source_name(cs.source));
    const struct cpuinfo_cache *ci = cpuinfo_cache_find(&cs, 1, "Instruction"), *cd = cpuinfo_cache_find(&cs, 1, "Data");
    const struct cpuinfo_cache *cl = cpuinfo_cache_last(&cs);
    if (ci)
        *i1 = (struct ctr_sim_cache){ ci->size_bytes, ci->ways, ci->line_bytes };
    if (cd)
        *d1 = (struct ctr_sim_cache){ cd->size_bytes, cd->ways, cd->line_bytes };
    /* no level above L1 (a user geometry of L1d only): valgrind still needs
     * an LL, and one equal to D1 adds no misses of its own */
    *ll = cl && cl->level > 1 ? (struct ctr_sim_cache){ cl->size_bytes, cl->ways, cl->line_bytes } : *d1;
    if (!i1->size_bytes)
        *i1 = *d1;
    struct ctr_sim_cache *lv[3] = { i1, d1, ll };
    const char *names[3] = { "I1", "D1", "LL" };
    size_t used = 0;
    for (int k = 0; k < 3; k++) {
        struct ctr_sim_cache before = *lv[k];
        if (!ctr_sim_cache_fix(lv[k]))
            continue;
        char a[32], b[32];
        fmt_bytes(a, sizeof a, (double)(before.size_bytes));
        fmt_bytes(b, sizeof b, (double)(lv[k]->size_bytes));
        int w = snprintf(note + used, note_len > used ? note_len - used : 0, "%s%s %s %d-way -> %s %d-way", used ? "; " : "",
                         names[k], a, before.ways, b, lv[k]->ways);
        if (w > 0)
            used += (size_t)w;
        if (used >= note_len)
            break;
    }
    if (used && used + 40 < note_len)
        snprintf(note + used, note_len - used, " (valgrind needs power-of-two sets)");
    return 0;
}

/* ---- valgrind ---------------------------------------------------------- */

/* Full path of prog (searched in PATH unless it has a '/'); 0 or -1. */
static int find_prog(const char *prog, char *out, size_t len)
{
    if (strchr(prog, '/')) {
        snprintf(out, len, "%s", prog);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, len, "%.*s/%s", (int)n, path, prog);
        if (n && access(out, X_OK) == 0)
            return 0;
        path += n;
        if (*path == ':')
            path++;
    }
    return -1;
}

static const char *valgrind_prog(void)
{
    const char *v = getenv("GGPERF_VALGRIND");
    return v && *v ? v : "valgrind";
}

int ctr_sim_valgrind_version(char *buf, size_t len)
{
    char prog[512];
    buf[0] = '\0';
    if (find_prog(valgrind_prog(), prog, sizeof prog) != 0) {
        err_set(buf, len, "valgrind not found in PATH (Debian package: valgrind)");
        return CTR_EUNSUPPORTED;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return CTR_EIO;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return CTR_EIO;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0)
            dup2(nul, 2);
        execl(prog, prog, "--version", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char tmp[128];
    size_t used = 0;
    ssize_t n;
    while (used + 1 < sizeof tmp && (n = read(p[0], tmp + used, sizeof tmp - 1 - used)) > 0)
        used += (size_t)n;
    tmp[used] = '\0';
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    tmp[strcspn(tmp, "\n")] = '\0';
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || strncmp(tmp, "valgrind", 8) != 0) {
        err_set(buf, len, "%s --version failed", prog);
        return CTR_EUNSUPPORTED;
    }
    snprintf(buf, len, "%s", tmp);
    return 0;
}

static const char *const ev_names[] = { "Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw" };
#define N_EV (int)(sizeof ev_names / sizeof ev_names[0])

static uint64_t *ev_field(struct ctr_sim_result *r, int i)
{
    uint64_t *f[N_EV] = { &r->ir, &r->dr, &r->dw, &r->i1mr, &r->d1mr, &r->d1mw, &r->ilmr, &r->dlmr, &r->dlmw };
    return f[i];
}

int ctr_sim_parse(const char *path, struct ctr_sim_result *res, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        err_set(err, err_len, "%s: %s", path, strerror(errno));
        return CTR_EIO;
    }
    int map[64];
    int n_events = 0, lineno = 0, rc = 0;
    bool have_events = false, have_totals = false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "events:", 7) == 0) {
            n_events = 0;
            for (char *save = NULL, *tok = strtok_r(line + 7, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                if (n_events == 64) {
                    err_set(err, err_len, "%s:%d: more than 64 events", path, lineno);
                    rc = CTR_ECORRUPT;
                    goto out;
                }
                map[n_events] = -1;
                for (int i = 0; i < N_EV; i++)
                    if (strcmp(tok, ev_names[i]) == 0)
                        map[n_events] = i;
                n_events++;
            }
            have_events = n_events > 0;
        } else if (strncmp(line, "totals:", 7) == 0 || (strncmp(line, "summary:", 8) == 0 && !have_totals)) {
            if (!have_events) {
                err_set(err, err_len, "%s:%d: totals before an 'events:' line", path, lineno);
                rc = CTR_ECORRUPT;
                goto out;
            }
            for (int i = 0; i < N_EV; i++)
                *ev_field(res, i) = 0;
            char *p = strchr(line, ':') + 1;
            for (int k = 0; k < n_events; k++) {
                char *end;
                errno = 0;
                while (*p == ' ' || *p == '\t')
                    p++;
                if (!*p)
                    break; /* trailing zero counts may be omitted */
                unsigned long long v = strtoull(p, &end, 10);
                if (end == p || errno) {
                    err_set(err, err_len, "%s:%d: '%s' is not a count", path, lineno, p);
                    rc = CTR_ECORRUPT;
                    goto out;
                }
                if (map[k] >= 0)
                    *ev_field(res, map[k]) = v;
                p = end;
            }
            if (line[0] == 't')
                have_totals = true;
            rc = 1; /* seen */
        }
    }
    if (rc != 1) {
        err_set(err, err_len, "%s: no 'totals:' or 'summary:' line (%d lines)", path, lineno);
        rc = CTR_ECORRUPT;
        goto out;
    }
    rc = 0;
out:
    free(line);
    fclose(f);
    return rc;
}

int ctr_sim_metrics(const struct ctr_sim_result *r, struct metric *out, int max)
{
    const struct {
        const char *name;
        uint64_t v;
    } m[] = {
        { "instructions", r->ir },
        { "d1_misses", r->d1mr + r->d1mw },
        { "ll_misses", r->dlmr + r->dlmw },
        { "data_reads", r->dr },
        { "data_writes", r->dw },
        { "i1_misses", r->i1mr },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof m / sizeof m[0] && n < max; i++, n++) {
        memset(&out[n], 0, sizeof out[n]);
        snprintf(out[n].name, sizeof out[n].name, "%s", m[i].name);
        out[n].unit = "count";
        out[n].source = METRIC_SRC_SIM;
        out[n].status = METRIC_OK;
        out[n].value = (double)m[i].v;
        out[n].running_fraction = 1.0;
    }
    return n;
}

/* Last ~300 bytes of a file, one line, for error messages. */
static void tail_of(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char tmp[320];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 300 ? size - 300 : 0, SEEK_SET);
    size_t n = fread(tmp, 1, sizeof tmp - 1, f);
    fclose(f);
    tmp[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (tmp[i] == '\n')
            tmp[i] = ' ';
    snprintf(buf, len, "%s", tmp);
}

static void rm_dir(const char *dir)
{
    static const char *const files[] = { "callgrind.out", "valgrind.log", "child.out" };
    char path[256];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int ctr_sim_run(char *const argv[], const struct ctr_sim_opts *opts, struct ctr_sim_result *res, char *err,
                size_t err_len)
{
    struct ctr_sim_opts none;
    if (!opts) {
        memset(&none, 0, sizeof none);
        opts = &none;
    }
    if (!argv || !argv[0] || !res) {
        err_set(err, err_len, "ctr_sim_run: no command");
        return CTR_EINVAL;
    }
    memset(res, 0, sizeof *res);
    char prog[512];
    if (find_prog(valgrind_prog(), prog, sizeof prog) != 0) {
        err_set(err, err_len, "valgrind not found in PATH (install the Debian package valgrind)");
        return CTR_EUNSUPPORTED;
    }
    if (ctr_sim_valgrind_version(res->valgrind_version, sizeof res->valgrind_version) != 0) {
        err_set(err, err_len, "%s", res->valgrind_version);
        return CTR_EUNSUPPORTED;
    }
    struct ctr_sim_cache si1, sd1, sll;
    char note[sizeof res->geometry_note] = "";
    int grc = ctr_sim_cache_machine(&si1, &sd1, &sll, res->geometry_source, sizeof res->geometry_source, note,
                                    sizeof note);
    struct ctr_sim_cache want[3] = { opts->i1, opts->d1, opts->ll }, sys[3] = { si1, sd1, sll };
    struct ctr_sim_cache *got[3] = { &res->i1, &res->d1, &res->ll };
    for (int k = 0; k < 3; k++) {
        if (want[k].size_bytes) {
            *got[k] = want[k];
            if (ctr_sim_cache_fix(got[k])) {
                err_set(err, err_len, "ctr_sim_run: cache level %d (%" PRIu64 " B, %d-way, %d B lines) has no "
                        "power-of-two number of sets; valgrind would refuse it", k, want[k].size_bytes,
                        want[k].ways, want[k].line_bytes);
                return CTR_EINVAL;
            }
        } else if (grc == 0) {
            *got[k] = sys[k];
        } else {
            err_set(err, err_len, "ctr_sim_run: %s", note);
            return CTR_EUNSUPPORTED;
        }
    }
    if (grc == 0 && (!want[0].size_bytes || !want[1].size_bytes || !want[2].size_bytes))
        snprintf(res->geometry_note, sizeof res->geometry_note, "%s", note);
    if (want[0].size_bytes && want[1].size_bytes && want[2].size_bytes)
        snprintf(res->geometry_source, sizeof res->geometry_source, "user");
    snprintf(res->isa_path, sizeof res->isa_path, "%s", opts->isa_path ? opts->isa_path : "");

    snprintf(res->dir, sizeof res->dir, "/tmp/ggperf-sim-XXXXXX");
    if (!mkdtemp(res->dir)) {
        err_set(err, err_len, "ctr_sim_run: mkdtemp %s: %s", res->dir, strerror(errno));
        return CTR_EIO;
    }
    char a_i1[64], a_d1[64], a_ll[64], a_out[256], a_log[256], p_out[192], p_log[192], p_child[192];
    snprintf(a_i1, sizeof a_i1, "--I1=%" PRIu64 ",%d,%d", res->i1.size_bytes, res->i1.ways, res->i1.line_bytes);
    snprintf(a_d1, sizeof a_d1, "--D1=%" PRIu64 ",%d,%d", res->d1.size_bytes, res->d1.ways, res->d1.line_bytes);
    snprintf(a_ll, sizeof a_ll, "--LL=%" PRIu64 ",%d,%d", res->ll.size_bytes, res->ll.ways, res->ll.line_bytes);
    snprintf(p_out, sizeof p_out, "%s/callgrind.out", res->dir);
    snprintf(p_log, sizeof p_log, "%s/valgrind.log", res->dir);
    snprintf(p_child, sizeof p_child, "%s/child.out", res->dir);
    snprintf(a_out, sizeof a_out, "--callgrind-out-file=%s", p_out);
    snprintf(a_log, sizeof a_log, "--log-file=%s", p_log);
    const char *fixed[] = { prog, "--tool=callgrind", "--cache-sim=yes", a_i1, a_d1, a_ll, "--collect-atstart=no",
                            a_out, a_log };
    size_t nf = sizeof fixed / sizeof fixed[0], na = 0;
    while (argv[na])
        na++;
    char **vargv = calloc(nf + na + 1, sizeof *vargv);
    if (!vargv) {
        rm_dir(res->dir);
        err_set(err, err_len, "ctr_sim_run: out of memory");
        return CTR_ENOMEM;
    }
    for (size_t i = 0; i < nf; i++)
        vargv[i] = (char *)fixed[i];
    for (size_t i = 0; i < na; i++)
        vargv[nf + i] = argv[i];

    /* The child's environment, built here: no setenv between fork and exec. */
    extern char **environ;
    size_t ne = 0;
    while (environ[ne])
        ne++;
    char **envp = calloc(ne + 4, sizeof *envp);
    char e_region[192];
    if (!envp) {
        free(vargv);
        rm_dir(res->dir);
        err_set(err, err_len, "ctr_sim_run: out of memory");
        return CTR_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "GGPERF_SIM=", 11) != 0 && strncmp(environ[i], "GGPERF_SIM_REGION=", 18) != 0 &&
            strncmp(environ[i], "OPENBLAS_NUM_THREADS=", 21) != 0)
            envp[k++] = environ[i];
    envp[k++] = "GGPERF_SIM=1";
    /* OpenBLAS would start its thread pool at load: needless work under valgrind. */
    envp[k++] = "OPENBLAS_NUM_THREADS=1";
    if (opts->region) {
        snprintf(e_region, sizeof e_region, "GGPERF_SIM_REGION=%s", opts->region);
        envp[k++] = e_region;
    }
    envp[k] = NULL;

    int rc = 0;
    pid_t pid = fork();
    if (pid < 0) {
        err_set(err, err_len, "ctr_sim_run: fork: %s", strerror(errno));
        rc = CTR_EIO;
        goto out;
    }
    if (pid == 0) {
        int fd = open(p_child, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execve(prog, vargv, envp);
        _exit(127);
    }
    while (waitpid(pid, &res->wstatus, 0) < 0 && errno == EINTR)
        ;
    rc = ctr_sim_parse(p_out, res, err, err_len);
    if (rc) {
        char t[320];
        size_t used = strlen(err);
        tail_of(p_log, t, sizeof t);
        if (used + 20 < err_len)
            snprintf(err + used, err_len - used, " (valgrind exit status %d; log: %s)",
                     WIFEXITED(res->wstatus) ? WEXITSTATUS(res->wstatus) : -1, t);
    }
out:
    free(envp);
    free(vargv);
    if (!opts->keep_files) {
        rm_dir(res->dir);
        res->dir[0] = '\0';
    }
    return rc;
}
