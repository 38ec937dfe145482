/* cli — the command table, dispatch, and the strict argument parsers every
 * subcommand shares (see cli.h). */
#include "cli/cli.h"
#include "harness/machine/cpuinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/machine/env.h"

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ggperf: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

int cli_parse_i64(const char *flag, const char *text, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!text || !*text)
        return cli_error(CLI_EUSAGE, "%s: empty value (allowed %" PRId64 "..%" PRId64 ")", flag, lo, hi);
    long long v = strtoll(text, &end, 10);
    if (errno == ERANGE || *end != '\0' || end == text)
        return cli_error(CLI_EUSAGE, "%s: '%s' is not an integer (allowed %" PRId64 "..%" PRId64 ")",
                         flag, text, lo, hi);
    if (v < lo || v > hi)
        return cli_error(CLI_EUSAGE, "%s: %s is out of range (allowed %" PRId64 "..%" PRId64 ")",
                         flag, text, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_u64(const char *flag, const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!text || !*text || text[0] == '-')
        return cli_error(CLI_EUSAGE, "%s: '%s' is not a non-negative integer (allowed %" PRIu64 "..%" PRIu64 ")",
                         flag, text ? text : "", lo, hi);
    unsigned long long v = strtoull(text, &end, 10);
    if (errno == ERANGE || *end != '\0' || end == text)
        return cli_error(CLI_EUSAGE, "%s: '%s' is not an integer (allowed %" PRIu64 "..%" PRIu64 ")",
                         flag, text, lo, hi);
    if (v < lo || v > hi)
        return cli_error(CLI_EUSAGE, "%s: %s is out of range (allowed %" PRIu64 "..%" PRIu64 ")",
                         flag, text, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_int(const char *flag, const char *text, int lo, int hi, int *out)
{
    int64_t v;
    int rc = cli_parse_i64(flag, text, lo, hi, &v);
    if (rc == 0)
        *out = (int)v;
    return rc;
}

int cli_parse_double(const char *flag, const char *text, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    if (!text || !*text)
        return cli_error(CLI_EUSAGE, "%s: empty value (allowed %g..%g)", flag, lo, hi);
    double v = strtod(text, &end);
    if (errno == ERANGE || *end != '\0' || end == text || !isfinite(v))
        return cli_error(CLI_EUSAGE, "%s: '%s' is not a number (allowed %g..%g)", flag, text, lo, hi);
    if (v < lo || v > hi)
        return cli_error(CLI_EUSAGE, "%s: %s is out of range (allowed %g..%g)", flag, text, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_int_list(const char *flag, const char *text, int lo, int hi, int *out, int max)
{
    int n = 0;
    const char *p = text;
    if (!text || !*text) {
        cli_error(CLI_EUSAGE, "%s: empty list", flag);
        return -CLI_EUSAGE;
    }
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (len == 0 || len >= sizeof item) {
            cli_error(CLI_EUSAGE, "%s: bad list '%s' (expected numbers separated by commas)", flag, text);
            return -CLI_EUSAGE;
        }
        if (n >= max) {
            cli_error(CLI_EUSAGE, "%s: more than %d values in '%s'", flag, max, text);
            return -CLI_EUSAGE;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (cli_parse_int(flag, item, lo, hi, &out[n]) != 0)
            return -CLI_EUSAGE;
        n++;
        p += len;
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                cli_error(CLI_EUSAGE, "%s: bad list '%s' (trailing comma)", flag, text);
                return -CLI_EUSAGE;
            }
        }
    }
    return n;
}

int cli_cache_flag(const char *flag, const char *geom)
{
    struct cpuinfo_caches cs;
    char err[256];
    if (cpuinfo_caches_parse(geom, &cs, err, sizeof err) != 0)
        return cli_error(CLI_EUSAGE, "%s: %s", flag, err);
    /* the environment, not an option threaded through: the simulation runs
     * in workloads several calls down and in child processes */
    if (setenv("GGPERF_CACHE_GEOMETRY", geom, 1) != 0)
        return cli_error(CLI_EFAIL, "%s: setenv: out of memory", flag);
    return 0;
}

int cli_parse_choice(const char *flag, const char *text, const char *const *allowed)
{
    for (int i = 0; allowed[i]; i++)
        if (text && strcasecmp(text, allowed[i]) == 0)
            return i;
    char list[512] = "";
    size_t used = 0;
    for (int i = 0; allowed[i]; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? "|" : "", allowed[i]);
        if (w < 0 || (size_t)w >= sizeof list - used)
            break;
        used += (size_t)w;
    }
    cli_error(CLI_EUSAGE, "%s: '%s' is not one of %s", flag, text ? text : "", list);
    return -CLI_EUSAGE;
}

bool cli_stdout_is_tty(void) { return isatty(1) == 1; }
bool cli_stderr_is_tty(void) { return isatty(2) == 1; }

int cli_check_writable(const char *flag, const char *path)
{
    if (!path || !*path)
        return cli_error(CLI_EUSAGE, "%s: empty path", flag);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cli_error(CLI_EUSAGE, "%s %s: is a directory", flag, path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return 0; /* /dev/null, a pipe: written in place */
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) != 0)
        return cli_error(CLI_EUSAGE, "%s %s: directory %s: %s", flag, path, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cli_error(CLI_EUSAGE, "%s %s: %s is not a directory", flag, path, dir);
    /* try it: access() says nothing of read-only mounts or full quotas */
    char probe[PATH_MAX];
    int w = snprintf(probe, sizeof probe, "%s/.ggperf-write-check-XXXXXX", dir);
    if (w < 0 || (size_t)w >= sizeof probe)
        return cli_error(CLI_EUSAGE, "%s %s: path too long", flag, path);
    int fd = mkstemp(probe);
    if (fd < 0)
        return cli_error(CLI_EUSAGE, "%s %s: cannot create a file in %s: %s", flag, path, dir, strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

/* ---- outputs ggperf wrote -------------------------------------------------- */

static bool outputs_registry(char *buf, size_t len)
{
    char cache[PATH_MAX], err[256];
    if (env_cache_dir(cache, sizeof cache, err, sizeof err) != 0)
        return false;
    int w = snprintf(buf, len, "%s/outputs-written.tsv", cache);
    return w > 0 && (size_t)w < len;
}

static long long stamp_ns(struct timespec t)
{
    return (long long)t.tv_sec * 1000000000ll + t.tv_nsec;
}

void cli_output_mark(const char *path)
{
    char reg[PATH_MAX], real[PATH_MAX];
    struct stat st;
    if (!outputs_registry(reg, sizeof reg) || !realpath(path, real) || stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    int fd = open(reg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    char line[PATH_MAX + 160];
    int n = snprintf(line, sizeof line, "%llu\t%llu\t%lld\t%lld\t%lld\t%s\n", (unsigned long long)st.st_dev,
                     (unsigned long long)st.st_ino, (long long)st.st_size, stamp_ns(st.st_mtim),
                     stamp_ns(st.st_ctim), real);
    if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) != n) {
        /* a lost entry only means the next run asks for --force */
    }
    close(fd);
}

bool cli_output_is_ours(const char *path)
{
    char reg[PATH_MAX], real[PATH_MAX];
    struct stat st;
    if (!outputs_registry(reg, sizeof reg) || !realpath(path, real) || stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    FILE *f = fopen(reg, "r");
    if (!f)
        return false;
    bool ours = false;
    char *line = NULL;
    size_t cap = 0;
    while (!ours && getline(&line, &cap, f) > 0) {
        unsigned long long dev, ino;
        long long size, mt, ct;
        int off = 0;
        line[strcspn(line, "\n")] = '\0';
        /* any write since changes mtime or ctime (a restored mtime still moves ctime) */
        ours = sscanf(line, "%llu\t%llu\t%lld\t%lld\t%lld\t%n", &dev, &ino, &size, &mt, &ct, &off) == 5 &&
               off > 0 && dev == (unsigned long long)st.st_dev && ino == (unsigned long long)st.st_ino &&
               size == (long long)st.st_size && mt == stamp_ns(st.st_mtim) && ct == stamp_ns(st.st_ctim) &&
               strcmp(line + off, real) == 0;
    }
    free(line);
    fclose(f);
    return ours;
}
