/* testutil — the helpers of tests/testutil.h: fixture paths, temporary
 * directories, running commands, and the skip log with its explanations. */
#include "tests/testutil.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/magic.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/cpu.h"
#include "harness/machine/cpuinfo.h"
#include "harness/machine/probe.h"
#include "harness/machine/sysfs.h"

const char *tu_golden_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        const char *env = getenv("GGPERF_GOLDEN");
        if (env)
            snprintf(dir, sizeof dir, "%s", env);
        else if (!realpath("tests/golden", dir))
            snprintf(dir, sizeof dir, "tests/golden");
    }
    return dir;
}

const char *tu_golden_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tu_golden_dir(), name);
    return buf;
}

const char *tu_tmpdir(void)
{
    static char dirs[16][64];
    static int next;
    char *d = dirs[next++ % 16];
    snprintf(d, sizeof dirs[0], "/tmp/ggperf-test-XXXXXX");
    if (!mkdtemp(d))
        return "/tmp";
    return d;
}

const char *tu_ggperf_bin(void)
{
    const char *b = getenv("GGPERF_BIN");
    return b ? b : "build/ggperf";
}

static void slurp_fd(int fd, char *buf, size_t len)
{
    size_t used = 0;
    char sink[4096];
    for (;;) {
        ssize_t r;
        if (buf && used + 1 < len)
            r = read(fd, buf + used, len - 1 - used);
        else
            r = read(fd, sink, sizeof sink);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (buf && used + 1 < len)
            used += (size_t)r;
    }
    if (buf && len)
        buf[used] = '\0';
}

int tu_run(const char *cmd, char *out, size_t out_len, char *err, size_t err_len)
{
    char ofile[] = "/tmp/ggperf-run-out-XXXXXX", efile[] = "/tmp/ggperf-run-err-XXXXXX";
    int ofd = mkstemp(ofile), efd = mkstemp(efile);
    if (ofd < 0 || efd < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    slurp_fd(ofd, out, out_len);
    slurp_fd(efd, err, err_len);
    close(ofd);
    close(efd);
    unlink(ofile);
    unlink(efile);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

void *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (buf && fread(buf, 1, n, f) != n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

struct metric tu_metric(const char *name, const char *unit, enum metric_source src, double v)
{
    struct metric m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    m.unit = unit;
    m.source = src;
    m.status = METRIC_OK;
    m.value = v;
    m.running_fraction = 1;
    return m;
}

struct metric tu_metric_unsup(const char *name, const char *unit, enum metric_source src, const char *why)
{
    struct metric m = tu_metric(name, unit, src, 0);
    m.status = METRIC_UNSUPPORTED;
    snprintf(m.reason, sizeof m.reason, "%s", why);
    return m;
}

/* ---- skips ---------------------------------------------------------------- */

void tu_skip_named(const char *test, const char *category, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    /* one line per skip: tabs and newlines in a reason would split it */
    for (char *p = reason; *p; p++)
        if (*p == '\t' || *p == '\n')
            *p = ' ';
    printf("SKIP: %s [%s]: %s\n", test ? test : "?", category, reason);
    fflush(stdout);
    const char *log = getenv("GGPERF_SKIP_LOG");
    if (!log || !*log)
        return;
    /* O_APPEND: tests run in forked children, one line is one write */
    char line[800];
    int n = snprintf(line, sizeof line, "%s\t%s\t%s\n", category, test ? test : "?", reason);
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    ck_assert_msg(fd >= 0, "skip log %s: %s", log, strerror(errno));
    ck_assert_int_eq(write(fd, line, (size_t)n), n);
    close(fd);
}

const char *const tu_skip_categories[] = {
    "pmu", "pmu-event", "pmu-present", "tracefs", "valgrind", "sanitizer", "perf", "perf-sw", "avx2",
    "avx512", "avx512-vnni", "avx512-vbmi-gfni", "chromium", "affinity", "meminfo", "disk-space", "slow-build", "tmpfs",
    "sysfs-vs-cpuid", "cpuid-vs-sysfs", "getconf-cache", NULL,
};

/* What the harness's probe says about this machine, collected once. */
static const struct probe_info *probe_once(void)
{
    static struct probe_info info;
    static int done;
    if (!done) {
        probe_collect(&info, PROBE_QUICK | PROBE_NO_BANDWIDTH | PROBE_NO_CTXSW);
        done = 1;
    }
    return &info;
}

bool tu_skip_explained(const char *category, char *why, size_t why_len)
{
    char sink[8];
    if (!why) {
        why = sink;
        why_len = sizeof sink;
    }
    why[0] = '\0';
    if (!category)
        return false;
    struct cpu_features f;
    cpu_detect(&f);
    if (strcmp(category, "pmu") == 0 || strcmp(category, "pmu-present") == 0) {
        const struct probe_info *p = probe_once();
        snprintf(why, why_len, "probe: %s", p->pmu_present ? "PMU present" : p->pmu_reason);
        return strcmp(category, "pmu") == 0 ? !p->pmu_present : p->pmu_present;
    }
    if (strcmp(category, "pmu-event") == 0) {
        const struct probe_info *p = probe_once();
        if (!p->pmu_present) {
            snprintf(why, why_len, "probe: no PMU (%s)", p->pmu_reason);
            return true;
        }
        for (int i = 0; i < p->n_hw; i++)
            if (!p->hw[i].opens) {
                snprintf(why, why_len, "probe: %s does not open: %s", p->hw[i].name, p->hw[i].reason);
                return true;
            }
        snprintf(why, why_len, "probe: every default hardware event opens");
        return false;
    }
    if (strcmp(category, "tracefs") == 0) {
        const struct probe_info *p = probe_once();
        snprintf(why, why_len, "probe: %s", p->tracepoints_ok ? "tracepoints usable" : p->tracepoints_reason);
        return !p->tracepoints_ok;
    }
    if (strcmp(category, "valgrind") == 0) {
        const struct probe_info *p = probe_once();
        snprintf(why, why_len, "probe: %s", p->valgrind);
        return !p->valgrind_ok;
    }
    if (strcmp(category, "perf-sw") == 0) {
        const struct probe_info *p = probe_once();
        snprintf(why, why_len, "probe: %s", p->sw_ok ? "software events open" : p->sw_reason);
        return !p->sw_ok;
    }
    if (strcmp(category, "sanitizer") == 0) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        snprintf(why, why_len, "this is a sanitizer build");
        return true;
#else
        snprintf(why, why_len, "this is not a sanitizer build");
        return false;
#endif
    }
    if (strcmp(category, "perf") == 0) {
        bool have = access("/usr/bin/perf", X_OK) == 0;
        snprintf(why, why_len, "/usr/bin/perf %s", have ? "is installed" : "is not installed");
        return !have;
    }
    if (strcmp(category, "chromium") == 0) {
        bool have = access("/usr/bin/chromium", X_OK) == 0;
        snprintf(why, why_len, "/usr/bin/chromium %s", have ? "is installed" : "is not installed");
        return !have;
    }
    if (strcmp(category, "avx2") == 0) {
        bool have = f.avx2 && f.fma && f.f16c;
        snprintf(why, why_len, "CPU %s avx2+fma+f16c", have ? "has" : "lacks");
        return !have;
    }
    if (strcmp(category, "avx512") == 0) {
        bool have = f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
        snprintf(why, why_len, "CPU %s avx512f/bw/vl/dq", have ? "has" : "lacks");
        return !have;
    }
    if (strcmp(category, "avx512-vnni") == 0) {
        snprintf(why, why_len, "CPU %s avx512vnni", f.avx512vnni ? "has" : "lacks");
        return !f.avx512vnni;
    }
    /* Only the tests that compare one cache-geometry source with another
     * (sysfs vs CPUID) or test one source alone (getconf) may
     * skip for a missing source: everything else gets the geometry from
     * whichever source this machine has (cpuinfo's fallbacks). */
    if (strcmp(category, "sysfs-vs-cpuid") == 0 || strcmp(category, "cpuid-vs-sysfs") == 0 ||
        strcmp(category, "getconf-cache") == 0) {
        struct cpuinfo_caches c;
        int r = category[0] == 's'   ? cpuinfo_caches_sysfs(&c)
                : category[0] == 'c' ? cpuinfo_caches_cpuid(&c, NULL, NULL)
                                     : cpuinfo_caches_getconf(&c);
        snprintf(why, why_len, "%s", r == 0 ? "this source has cache data" : c.why);
        return r != 0;
    }
    if (strcmp(category, "avx512-vbmi-gfni") == 0) {
        bool have = f.avx512vbmi && f.gfni;
        snprintf(why, why_len, "CPU %s avx512vbmi+gfni", have ? "has" : "lacks");
        return !have;
    }
    if (strcmp(category, "affinity") == 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        bool in = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_ISSET(0, &set);
        snprintf(why, why_len, "cpu 0 %s this process's affinity mask", in ? "is in" : "is not in");
        return !in;
    }
    if (strcmp(category, "meminfo") == 0) {
        uint64_t avail = sysfs_mem_available();
        snprintf(why, why_len, "MemAvailable %s", avail ? "present" : "absent");
        return avail == 0;
    }
    if (strcmp(category, "disk-space") == 0) {
        struct statvfs v;
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        if (statvfs(tmp, &v) != 0) {
            snprintf(why, why_len, "statvfs %s: %s", tmp, strerror(errno));
            return false;
        }
        double free_b = (double)v.f_bavail * (double)v.f_frsize;
        snprintf(why, why_len, "%s has %.3g TB free", tmp, free_b / 1e12);
        return free_b > 1e12;
    }
    if (strcmp(category, "tmpfs") == 0) {
        /* page-cache residency tests need files that can be evicted */
        const char *dirs[] = { tu_tmpdir(), tu_golden_dir() };
        for (int i = 0; i < 2; i++) {
            struct statfs sf;
            if (statfs(dirs[i], &sf) == 0 && sf.f_type == TMPFS_MAGIC) {
                snprintf(why, why_len, "%s is on tmpfs", dirs[i]);
                return true;
            }
        }
        snprintf(why, why_len, "neither %s nor %s is on tmpfs", dirs[0], dirs[1]);
        return false;
    }
    if (strcmp(category, "slow-build") == 0) {
        const char *slow = getenv("GGPERF_SLOW_BIN");
        bool have = slow && access(slow, X_OK) == 0;
        snprintf(why, why_len, "GGPERF_SLOW_BIN %s", have ? "is set" : "is unset or not executable");
        return !have;
    }
    snprintf(why, why_len, "'%s' is not a known skip category (tests/testutil.h lists them)", category);
    return false;
}

bool tu_chromium_body(const char *html_path, char *body, size_t len)
{
    const char *bin = "/usr/bin/chromium";
    if (access(bin, X_OK) != 0) {
        tu_skip("chromium", "chromium not installed (scripts/install-deps.sh installs it): HTML check skipped");
        return false;
    }
    char abs[PATH_MAX], cmd[4096 + PATH_MAX];
    ck_assert_ptr_nonnull(realpath(html_path, abs));
    const char *profile = tu_tmpdir();
    snprintf(cmd, sizeof cmd,
             "timeout 60 %s --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage "
             "--user-data-dir=%s --dump-dom 'file://%s' 2>/dev/null | grep -o '<body[^>]*>'",
             bin, profile, abs);
    int rc = tu_run(cmd, body, len, NULL, 0);
    ck_assert_msg(rc == 0, "chromium --dump-dom failed (exit %d)", rc);
    char rm[1200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", profile);
    tu_run(rm, NULL, 0, NULL, 0);
    return true;
}

int tu_body_attr_int(const char *body, const char *attr)
{
    char key[64];
    snprintf(key, sizeof key, "%s=\"", attr);
    const char *p = strstr(body, key);
    return p ? atoi(p + strlen(key)) : -1;
}

int tu_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}
