/* reclaim — detect DAMON proactive reclaim (see reclaim.h for why). */
#include "harness/machine/reclaim.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine/sysfs.h"

static uint64_t read_u64(const char *path, uint64_t dflt)
{
    char line[64];
    if (sysfs_read_line(path, line, sizeof line) != 0)
        return dflt;
    char *end;
    unsigned long long v = strtoull(line, &end, 10);
    return end == line ? dflt : (uint64_t)v;
}

/* Numbered entries ("0", "1", ...) of a sysfs directory: their count, or 0. */
static int count_dir(const char *path)
{
    char real[1024];
    if (sysfs_path(path, real, sizeof real) != 0)
        return 0;
    DIR *d = opendir(real);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
            n++;
    closedir(d);
    return n;
}

static void note_scheme(struct reclaim_info *r, uint64_t age_us, uint64_t quota, uint64_t interval_ms)
{
    if (r->n_schemes == 0 || age_us < r->min_age_us)
        r->min_age_us = age_us;
    if (quota > r->quota_bytes) {
        r->quota_bytes = quota;
        r->quota_interval_ms = interval_ms;
    }
    r->n_schemes++;
    r->active = true;
}

void reclaim_probe(struct reclaim_info *out)
{
    memset(out, 0, sizeof *out);
    const char *admin = "/sys/kernel/mm/damon/admin/kdamonds";
    char p[512], v[64];
    const int nk = count_dir(admin);
    for (int k = 0; k < nk; k++) {
        snprintf(p, sizeof p, "%s/%d/state", admin, k);
        if (sysfs_read_line(p, v, sizeof v) != 0 || strcmp(v, "on") != 0)
            continue;
        snprintf(p, sizeof p, "%s/%d/contexts", admin, k);
        const int nc = count_dir(p);
        for (int c = 0; c < nc; c++) {
            char ctx[384];
            snprintf(ctx, sizeof ctx, "%s/%d/contexts/%d", admin, k, c);
            snprintf(p, sizeof p, "%s/monitoring_attrs/intervals/aggr_us", ctx);
            const uint64_t aggr_us = read_u64(p, 0);
            snprintf(p, sizeof p, "%s/schemes", ctx);
            const int ns = count_dir(p);
            for (int s = 0; s < ns; s++) {
                snprintf(p, sizeof p, "%s/schemes/%d/action", ctx, s);
                if (sysfs_read_line(p, v, sizeof v) != 0 || strcmp(v, "pageout") != 0)
                    continue;
                snprintf(p, sizeof p, "%s/schemes/%d/access_pattern/age/min", ctx, s);
                const uint64_t age = read_u64(p, 0); /* in aggregation intervals */
                snprintf(p, sizeof p, "%s/schemes/%d/quotas/bytes", ctx, s);
                const uint64_t quota = read_u64(p, 0);
                snprintf(p, sizeof p, "%s/schemes/%d/quotas/reset_interval_ms", ctx, s);
                note_scheme(out, age * aggr_us, quota, read_u64(p, 0));
            }
        }
    }
    /* The older module interface: one built-in scheme with its own knobs. */
    const char *mod = "/sys/module/damon_reclaim/parameters";
    snprintf(p, sizeof p, "%s/enabled", mod);
    if (sysfs_read_line(p, v, sizeof v) == 0 && (v[0] == 'Y' || v[0] == '1')) {
        snprintf(p, sizeof p, "%s/min_age", mod);
        const uint64_t age = read_u64(p, 0);
        snprintf(p, sizeof p, "%s/quota_sz", mod);
        const uint64_t q = read_u64(p, 0);
        snprintf(p, sizeof p, "%s/quota_reset_interval_ms", mod);
        note_scheme(out, age, q, read_u64(p, 0));
    }
    if (!out->active) {
        snprintf(out->summary, sizeof out->summary,
                 nk ? "no DAMON pageout scheme running" : "no DAMON reclaim (no kdamonds in sysfs)");
        return;
    }
    char quota[96] = "no quota";
    if (out->quota_bytes)
        snprintf(quota, sizeof quota, "up to %.0f MiB per %" PRIu64 " ms", (double)out->quota_bytes / (1 << 20),
                 out->quota_interval_ms);
    snprintf(out->summary, sizeof out->summary,
             "DAMON pageout on (%d scheme%s): pages idle >= %.0f s are paged out, %s; "
             "a model file left untouched that long leaves the page cache",
             out->n_schemes, out->n_schemes == 1 ? "" : "s", (double)out->min_age_us / 1e6, quota);
}
