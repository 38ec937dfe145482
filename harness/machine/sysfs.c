/* sysfs — reading one-line kernel files from sysfs and procfs (see
 * sysfs.h). */
#include "harness/machine/sysfs.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sysfs_read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *r = fgets(buf, (int)len, f);
    fclose(f);
    if (!r)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

int sysfs_int(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return end == s || errno || v < INT_MIN || v > INT_MAX ? 0 : (int)v;
}

uint64_t sysfs_size(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 10);
    if (*end == 'K')
        v <<= 10;
    else if (*end == 'M')
        v <<= 20;
    else if (*end == 'G')
        v <<= 30;
    return v;
}

int sysfs_selected(const char *path, char *buf, size_t len)
{
    char line[256];
    if (sysfs_read_line(path, line, sizeof line) != 0)
        return -1;
    const char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
    if (a && b)
        snprintf(buf, len, "%.*s", (int)(b - a - 1), a + 1);
    else
        snprintf(buf, len, "%s", line);
    return 0;
}

uint64_t sysfs_mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    uint64_t kb = 0;
    if (!f)
        return 0;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1)
            break;
    fclose(f);
    return kb << 10;
}
