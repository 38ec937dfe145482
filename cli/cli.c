/* cli — the command table, dispatch, and the strict argument parsers every
 * subcommand shares (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
