/* cpuinfo — CPU identity and cache geometry from sysfs, CPUID, getconf or
 * the user, each figure with its source. */
#include "harness/machine/cpuinfo.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "harness/machine/sysfs.h"

static void set_why(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_why(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

const char *cpuinfo_source_name(enum cpuinfo_source s)
{
    switch (s) {
    case CPUINFO_SRC_NONE: return "none";
    case CPUINFO_SRC_USER: return "user";
    case CPUINFO_SRC_SYSFS: return "sysfs";
    case CPUINFO_SRC_CPUID: return "cpuid";
    case CPUINFO_SRC_GETCONF: return "getconf";
    }
    return "none";
}

char *cpuinfo_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    s[n] = '\0';
    size_t k = 0;
    while (s[k] && isspace((unsigned char)s[k]))
        k++;
    if (k)
        memmove(s, s + k, n - k + 1);
    return s;
}

static void caches_reset(struct cpuinfo_caches *out, enum cpuinfo_source src)
{
    memset(out, 0, sizeof *out);
    out->source = src;
}

static bool has_l1d(const struct cpuinfo_caches *cs)
{
    const struct cpuinfo_cache *c = cpuinfo_cache_find(cs, 1, "Data");
    return c && c->size_bytes > 0 && c->ways > 0 && c->line_bytes > 0;
}

/* 0 when cs has an L1 data cache; else -1, n = 0 and why = what. */
static int caches_done(struct cpuinfo_caches *cs, const char *what)
{
    if (has_l1d(cs))
        return 0;
    enum cpuinfo_source src = cs->source;
    caches_reset(cs, src);
    snprintf(cs->why, sizeof cs->why, "%s", what);
    return -1;
}

static void caches_add(struct cpuinfo_caches *cs, const struct cpuinfo_cache *c)
{
    if (cs->n < CPUINFO_MAX_CACHES)
        cs->c[cs->n++] = *c;
}

const struct cpuinfo_cache *cpuinfo_cache_find(const struct cpuinfo_caches *cs, int level, const char *type)
{
    for (int i = 0; i < cs->n; i++)
        if (cs->c[i].level == level && strcmp(cs->c[i].type, type) == 0)
            return &cs->c[i];
    return NULL;
}

const struct cpuinfo_cache *cpuinfo_cache_last(const struct cpuinfo_caches *cs)
{
    const struct cpuinfo_cache *best = NULL;
    for (int i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].type, "Instruction") != 0 && (!best || cs->c[i].level > best->level))
            best = &cs->c[i];
    return best;
}

/* ---- sysfs ------------------------------------------------------------- */

int cpuinfo_caches_sysfs(struct cpuinfo_caches *out)
{
    caches_reset(out, CPUINFO_SRC_SYSFS);
    for (int i = 0; i < 16; i++) {
        char base[96], path[160], v[64];
        struct cpuinfo_cache c;
        memset(&c, 0, sizeof c);
        snprintf(base, sizeof base, "/sys/devices/system/cpu/cpu0/cache/index%d", i);
        snprintf(path, sizeof path, "%s/level", base);
        if (sysfs_read_line(path, v, sizeof v) != 0)
            continue;
        c.level = sysfs_int(v);
        snprintf(path, sizeof path, "%s/type", base);
        if (sysfs_read_line(path, c.type, sizeof c.type) != 0)
            continue;
        snprintf(path, sizeof path, "%s/size", base);
        if (sysfs_read_line(path, v, sizeof v) == 0)
            c.size_bytes = sysfs_size(v);
        snprintf(path, sizeof path, "%s/ways_of_associativity", base);
        if (sysfs_read_line(path, v, sizeof v) == 0)
            c.ways = sysfs_int(v);
        snprintf(path, sizeof path, "%s/coherency_line_size", base);
        if (sysfs_read_line(path, v, sizeof v) == 0)
            c.line_bytes = sysfs_int(v);
        snprintf(path, sizeof path, "%s/number_of_sets", base);
        if (sysfs_read_line(path, v, sizeof v) == 0)
            c.sets = sysfs_int(v);
        snprintf(path, sizeof path, "%s/shared_cpu_list", base);
        if (sysfs_read_line(path, c.shared_cpus, sizeof c.shared_cpus) != 0)
            c.shared_cpus[0] = '\0';
        if (c.level < 1 || !c.size_bytes || c.ways < 1 || c.line_bytes < 1)
            continue; /* a level sysfs knows only in part is no geometry */
        caches_add(out, &c);
    }
    char why[160];
    snprintf(why, sizeof why, "sysfs: no L1 data cache geometry in %s/sys/devices/system/cpu/cpu0/cache",
             sysfs_root());
    return caches_done(out, why);
}

/* ---- CPUID ------------------------------------------------------------- */

bool cpuinfo_cpuid_native(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    (void)ctx;
#if defined(__x86_64__) || defined(__i386__)
    unsigned max = __get_cpuid_max(leaf & 0x80000000u, NULL);
    if (max == 0 || leaf > max)
        return false;
    unsigned a, b, c, d;
    __cpuid_count(leaf, subleaf, a, b, c, d);
    regs[0] = a;
    regs[1] = b;
    regs[2] = c;
    regs[3] = d;
    return true;
#else
    (void)leaf, (void)subleaf, (void)regs;
    return false;
#endif
}

static void cpuid_vendor(cpuinfo_cpuid_fn fn, void *ctx, char vendor[16])
{
    uint32_t r[4];
    vendor[0] = '\0';
    if (!fn(ctx, 0, 0, r))
        return;
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = '\0';
}

/* Intel leaf 4 and AMD leaf 0x8000001D share one layout: EAX[4:0] type
 * (0 = no more), EAX[7:5] level, EBX[11:0] line - 1, EBX[21:12]
 * partitions - 1, EBX[31:22] ways - 1, ECX sets - 1. */
static int cpuid_deterministic(struct cpuinfo_caches *out, cpuinfo_cpuid_fn fn, void *ctx, uint32_t leaf)
{
    static const char *const types[] = { NULL, "Data", "Instruction", "Unified" };
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t r[4];
        if (!fn(ctx, leaf, i, r))
            break;
        uint32_t type = r[0] & 0x1f;
        if (type == 0)
            break;
        if (type > 3)
            continue;
        struct cpuinfo_cache c;
        memset(&c, 0, sizeof c);
        c.level = (int)((r[0] >> 5) & 7);
        snprintf(c.type, sizeof c.type, "%s", types[type]);
        c.line_bytes = (int)(r[1] & 0xfff) + 1;
        uint32_t parts = ((r[1] >> 12) & 0x3ff) + 1;
        c.ways = (int)((r[1] >> 22) & 0x3ff) + 1;
        c.sets = (int)r[2] + 1;
        c.size_bytes = (uint64_t)c.ways * parts * (uint64_t)c.line_bytes * (uint64_t)c.sets;
        if (r[0] & (1u << 9)) /* fully associative: one set of all the lines */
            c.ways = (int)(c.size_bytes / (uint64_t)c.line_bytes);
        caches_add(out, &c);
    }
    return out->n;
}

/* AMD's encoded L2/L3 associativity of leaf 0x80000006 (0: none; 9: see
 * leaf 0x8000001D; 0xF: fully associative -> -1). */
static int amd_assoc(uint32_t code)
{
    static const int ways[16] = { 0, 1, 2, 3, 4, 6, 8, 0, 16, 0, 32, 48, 64, 96, 128, -1 };
    return ways[code & 0xf];
}

/* Leaves 0x80000005 (L1: ECX data, EDX instruction; size KB [31:24],
 * ways [23:16] (0xFF fully), line [7:0]) and 0x80000006 (ECX L2: size KB
 * [31:16], ways code [15:12], line [7:0]; EDX L3: size in 512 KB units
 * [31:18], ways code [15:12], line [7:0]). */
static int cpuid_amd_legacy(struct cpuinfo_caches *out, cpuinfo_cpuid_fn fn, void *ctx)
{
    uint32_t r[4];
    if (fn(ctx, 0x80000005u, 0, r)) {
        const char *types[2] = { "Data", "Instruction" };
        uint32_t regs[2] = { r[2], r[3] };
        for (int k = 0; k < 2; k++) {
            struct cpuinfo_cache c;
            memset(&c, 0, sizeof c);
            c.level = 1;
            snprintf(c.type, sizeof c.type, "%s", types[k]);
            c.size_bytes = (uint64_t)(regs[k] >> 24) << 10;
            c.line_bytes = (int)(regs[k] & 0xff);
            uint32_t w = (regs[k] >> 16) & 0xff;
            if (!c.size_bytes || !c.line_bytes || !w)
                continue;
            c.ways = w == 0xff ? (int)(c.size_bytes / (uint64_t)c.line_bytes) : (int)w;
            c.sets = (int)(c.size_bytes / ((uint64_t)c.ways * (uint64_t)c.line_bytes));
            caches_add(out, &c);
        }
    }
    if (fn(ctx, 0x80000006u, 0, r)) {
        struct cpuinfo_cache c[2];
        memset(c, 0, sizeof c);
        c[0].level = 2;
        c[0].size_bytes = (uint64_t)(r[2] >> 16) << 10;
        c[0].ways = amd_assoc(r[2] >> 12);
        c[0].line_bytes = (int)(r[2] & 0xff);
        c[1].level = 3;
        c[1].size_bytes = (uint64_t)(r[3] >> 18) * (512u << 10);
        c[1].ways = amd_assoc(r[3] >> 12);
        c[1].line_bytes = (int)(r[3] & 0xff);
        for (int k = 0; k < 2; k++) {
            snprintf(c[k].type, sizeof c[k].type, "Unified");
            if (!c[k].size_bytes || !c[k].line_bytes || c[k].ways == 0)
                continue;
            if (c[k].ways < 0)
                c[k].ways = (int)(c[k].size_bytes / (uint64_t)c[k].line_bytes);
            c[k].sets = (int)(c[k].size_bytes / ((uint64_t)c[k].ways * (uint64_t)c[k].line_bytes));
            caches_add(out, &c[k]);
        }
    }
    return out->n;
}

int cpuinfo_caches_cpuid(struct cpuinfo_caches *out, cpuinfo_cpuid_fn fn, void *ctx)
{
    if (!fn)
        fn = cpuinfo_cpuid_native;
    caches_reset(out, CPUINFO_SRC_CPUID);
    char vendor[16];
    cpuid_vendor(fn, ctx, vendor);
    if (!vendor[0])
        return caches_done(out, "cpuid: not available (not an x86 CPU)");
    uint32_t r[4];
    if (strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0) {
        /* 0x8000001D exists when CPUID 0x80000001 ECX[22] (topology extensions) is set */
        bool topo = fn(ctx, 0x80000001u, 0, r) && (r[2] & (1u << 22));
        if (topo && cpuid_deterministic(out, fn, ctx, 0x8000001Du) > 0 && has_l1d(out))
            return 0;
        caches_reset(out, CPUINFO_SRC_CPUID);
        cpuid_amd_legacy(out, fn, ctx);
        return caches_done(out, topo ? "cpuid: AMD leaves 0x8000001D and 0x80000005/6 give no L1 data cache"
                                     : "cpuid: AMD legacy leaves 0x80000005/6 give no L1 data cache");
    }
    cpuid_deterministic(out, fn, ctx, 4);
    char why[96];
    snprintf(why, sizeof why, "cpuid: leaf 4 gives no L1 data cache (vendor %s)", vendor);
    return caches_done(out, why);
}

/* ---- getconf ----------------------------------------------------------- */

int cpuinfo_caches_getconf(struct cpuinfo_caches *out)
{
    caches_reset(out, CPUINFO_SRC_GETCONF);
    static const struct {
        int level;
        const char *type;
        int size, assoc, line;
    } q[] = {
        { 1, "Data", _SC_LEVEL1_DCACHE_SIZE, _SC_LEVEL1_DCACHE_ASSOC, _SC_LEVEL1_DCACHE_LINESIZE },
        { 1, "Instruction", _SC_LEVEL1_ICACHE_SIZE, _SC_LEVEL1_ICACHE_ASSOC, _SC_LEVEL1_ICACHE_LINESIZE },
        { 2, "Unified", _SC_LEVEL2_CACHE_SIZE, _SC_LEVEL2_CACHE_ASSOC, _SC_LEVEL2_CACHE_LINESIZE },
        { 3, "Unified", _SC_LEVEL3_CACHE_SIZE, _SC_LEVEL3_CACHE_ASSOC, _SC_LEVEL3_CACHE_LINESIZE },
        { 4, "Unified", _SC_LEVEL4_CACHE_SIZE, _SC_LEVEL4_CACHE_ASSOC, _SC_LEVEL4_CACHE_LINESIZE },
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        long size = sysconf(q[i].size), ways = sysconf(q[i].assoc), line = sysconf(q[i].line);
        if (size <= 0 || ways <= 0 || line <= 0)
            continue;
        struct cpuinfo_cache c;
        memset(&c, 0, sizeof c);
        c.level = q[i].level;
        snprintf(c.type, sizeof c.type, "%s", q[i].type);
        c.size_bytes = (uint64_t)size;
        c.ways = (int)ways;
        c.line_bytes = (int)line;
        c.sets = (int)(c.size_bytes / ((uint64_t)c.ways * (uint64_t)c.line_bytes));
        caches_add(out, &c);
    }
    return caches_done(out, "getconf: sysconf gives no L1 data cache size/associativity/line");
}

/* ---- user -------------------------------------------------------------- */

/* "48K" -> bytes; false when not a positive size. */
static bool parse_size(const char *s, const char *end, uint64_t *out)
{
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (e == s || errno || v == 0)
        return false;
    int shift = 0;
    if (e < end && (*e == 'K' || *e == 'k'))
        shift = 10, e++;
    else if (e < end && (*e == 'M' || *e == 'm'))
        shift = 20, e++;
    else if (e < end && (*e == 'G' || *e == 'g'))
        shift = 30, e++;
    if (e < end && (*e == 'B' || *e == 'b'))
        e++;
    if (e != end || v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

static bool parse_int(const char *s, const char *end, int lo, int hi, int *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (e != end || e == s || errno || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int cpuinfo_caches_parse(const char *spec, struct cpuinfo_caches *out, char *err, size_t err_len)
{
    caches_reset(out, CPUINFO_SRC_USER);
    static const char *const allowed = "LEVEL=SIZE/WAYS/LINE, LEVEL one of L1d L1i L2 L3 LL, e.g. "
                                       "L1d=48K/12/64,L2=2M/16/64,LL=32M/16/64";
    if (!spec || !*spec) {
        set_why(err, err_len, "cache geometry: empty (want %s)", allowed);
        return -1;
    }
    const char *p = spec;
    int ll_index = -1, max_level = 0;
    while (*p) {
        const char *item_end = strchr(p, ',');
        if (!item_end)
            item_end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(item_end - p));
        int item_len = (int)(item_end - p);
        if (!eq) {
            set_why(err, err_len, "cache geometry '%.*s': no '=' (want %s)", item_len, p, allowed);
            return -1;
        }
        struct cpuinfo_cache c;
        memset(&c, 0, sizeof c);
        size_t nl = (size_t)(eq - p);
        bool ll = false;
        if (nl == 3 && strncasecmp(p, "L1d", 3) == 0)
            c.level = 1, snprintf(c.type, sizeof c.type, "Data");
        else if (nl == 3 && strncasecmp(p, "L1i", 3) == 0)
            c.level = 1, snprintf(c.type, sizeof c.type, "Instruction");
        else if (nl == 2 && (p[0] == 'L' || p[0] == 'l') && p[1] >= '2' && p[1] <= '4')
            c.level = p[1] - '0', snprintf(c.type, sizeof c.type, "Unified");
        else if (nl == 2 && strncasecmp(p, "LL", 2) == 0)
            ll = true, c.level = 3, snprintf(c.type, sizeof c.type, "Unified");
        else {
            set_why(err, err_len, "cache geometry '%.*s': level '%.*s' is not one of L1d L1i L2 L3 L4 LL",
                    item_len, p, (int)nl, p);
            return -1;
        }
        const char *s1 = memchr(eq + 1, '/', (size_t)(item_end - eq - 1));
        const char *s2 = s1 ? memchr(s1 + 1, '/', (size_t)(item_end - s1 - 1)) : NULL;
        if (!s1 || !s2 || !parse_size(eq + 1, s1, &c.size_bytes) || !parse_int(s1 + 1, s2, 1, 1024, &c.ways) ||
            !parse_int(s2 + 1, item_end, 8, 4096, &c.line_bytes)) {
            set_why(err, err_len,
                    "cache geometry '%.*s': want SIZE/WAYS/LINE (SIZE > 0 with optional K/M/G, WAYS 1..1024, "
                    "LINE 8..4096)", item_len, p);
            return -1;
        }
        if (c.size_bytes % ((uint64_t)c.ways * (uint64_t)c.line_bytes) != 0) {
            set_why(err, err_len, "cache geometry '%.*s': size %" PRIu64 " is not a multiple of ways x line (%d x %d)",
                    item_len, p, c.size_bytes, c.ways, c.line_bytes);
            return -1;
        }
        c.sets = (int)(c.size_bytes / ((uint64_t)c.ways * (uint64_t)c.line_bytes));
        if (cpuinfo_cache_find(out, c.level, c.type) && !ll) {
            set_why(err, err_len, "cache geometry '%.*s': level given twice", item_len, p);
            return -1;
        }
        if (ll && ll_index >= 0) {
            set_why(err, err_len, "cache geometry '%.*s': LL given twice", item_len, p);
            return -1;
        }
        if (out->n == CPUINFO_MAX_CACHES) {
            set_why(err, err_len, "cache geometry: more than %d levels", CPUINFO_MAX_CACHES);
            return -1;
        }
        if (ll)
            ll_index = out->n;
        else if (c.type[0] != 'I' && c.level > max_level)
            max_level = c.level;
        caches_add(out, &c);
        p = *item_end ? item_end + 1 : item_end;
    }
    if (ll_index >= 0) {
        /* LL is the level after the highest one named (L2 given: LL is L3) */
        int lv = max_level >= 2 ? max_level + 1 : 3;
        if (max_level >= 3) {
            set_why(err, err_len, "cache geometry: LL given with L%d: name the last level once", max_level);
            return -1;
        }
        out->c[ll_index].level = lv;
    }
    if (!has_l1d(out)) {
        set_why(err, err_len, "cache geometry '%s': no L1d (want %s)", spec, allowed);
        caches_reset(out, CPUINFO_SRC_USER);
        return -1;
    }
    return 0;
}

/* ---- the lookup order -------------------------------------------------- */

int cpuinfo_caches_get(struct cpuinfo_caches *out)
{
    const char *user = getenv("GGPERF_CACHE_GEOMETRY");
    char e[256];
    if (user && *user) {
        if (cpuinfo_caches_parse(user, out, e, sizeof e) == 0)
            return 0;
        caches_reset(out, CPUINFO_SRC_NONE);
        snprintf(out->why, sizeof out->why, "$GGPERF_CACHE_GEOMETRY: %s", e);
        return -1;
    }
    char why[3][160];
    if (cpuinfo_caches_sysfs(out) == 0)
        return 0;
    snprintf(why[0], sizeof why[0], "%.150s", out->why);
    if (cpuinfo_caches_cpuid(out, NULL, NULL) == 0)
        return 0;
    snprintf(why[1], sizeof why[1], "%.150s", out->why);
    if (cpuinfo_caches_getconf(out) == 0)
        return 0;
    snprintf(why[2], sizeof why[2], "%.150s", out->why);
    caches_reset(out, CPUINFO_SRC_NONE);
    snprintf(out->why, sizeof out->why, "%.110s; %.90s; %.90s; set GGPERF_CACHE_GEOMETRY (e.g. L1d=48K/12/64,LL=32M/16/64)",
             why[0], why[1], why[2]);
    return -1;
}

/* ---- identity ---------------------------------------------------------- */

/* Feature bits that a named microarchitecture may lack: a hypervisor can
 * hide features of the real CPU but never adds them, so a CPU that has one
 * its reported family/model never had is not that model. */
enum { UF_AVX512 = 1, UF_AMX = 2 };

struct uarch_row {
    const char *vendor;
    int family, model_lo, model_hi;
    const char *name;
    unsigned features; /* UF_* the microarchitecture has */
};

static const struct uarch_row uarch_tab[] = {
    /* Intel family 6 (server parts first where a model is shared) */
    { "GenuineIntel", 6, 0x3c, 0x3c, "Haswell", 0 },
    { "GenuineIntel", 6, 0x3f, 0x3f, "Haswell", 0 },
    { "GenuineIntel", 6, 0x45, 0x46, "Haswell", 0 },
    { "GenuineIntel", 6, 0x3d, 0x3d, "Broadwell", 0 },
    { "GenuineIntel", 6, 0x47, 0x47, "Broadwell", 0 },
    { "GenuineIntel", 6, 0x4f, 0x4f, "Broadwell", 0 },
    { "GenuineIntel", 6, 0x56, 0x56, "Broadwell", 0 },
    { "GenuineIntel", 6, 0x4e, 0x4e, "Skylake", 0 },
    { "GenuineIntel", 6, 0x5e, 0x5e, "Skylake", 0 },
    { "GenuineIntel", 6, 0x55, 0x55, "Skylake-SP/Cascade Lake", UF_AVX512 },
    { "GenuineIntel", 6, 0x8e, 0x8e, "Kaby Lake/Coffee Lake", 0 },
    { "GenuineIntel", 6, 0x9e, 0x9e, "Kaby Lake/Coffee Lake", 0 },
    { "GenuineIntel", 6, 0xa5, 0xa6, "Comet Lake", 0 },
    { "GenuineIntel", 6, 0x66, 0x66, "Cannon Lake", UF_AVX512 },
    { "GenuineIntel", 6, 0x6a, 0x6a, "Ice Lake-SP", UF_AVX512 },
    { "GenuineIntel", 6, 0x6c, 0x6c, "Ice Lake-D", UF_AVX512 },
    { "GenuineIntel", 6, 0x7d, 0x7e, "Ice Lake", UF_AVX512 },
    { "GenuineIntel", 6, 0x8c, 0x8d, "Tiger Lake", UF_AVX512 },
    { "GenuineIntel", 6, 0xa7, 0xa7, "Rocket Lake", UF_AVX512 },
    { "GenuineIntel", 6, 0x97, 0x97, "Alder Lake", 0 },
    { "GenuineIntel", 6, 0x9a, 0x9a, "Alder Lake", 0 },
    { "GenuineIntel", 6, 0xb7, 0xb7, "Raptor Lake", 0 },
    { "GenuineIntel", 6, 0xba, 0xba, "Raptor Lake", 0 },
    { "GenuineIntel", 6, 0xbf, 0xbf, "Raptor Lake", 0 },
    { "GenuineIntel", 6, 0xaa, 0xac, "Meteor Lake", 0 },
    { "GenuineIntel", 6, 0xbd, 0xbd, "Lunar Lake", 0 },
    { "GenuineIntel", 6, 0xc5, 0xc6, "Arrow Lake", 0 },
    { "GenuineIntel", 6, 0x8f, 0x8f, "Sapphire Rapids", UF_AVX512 | UF_AMX },
    { "GenuineIntel", 6, 0xcf, 0xcf, "Emerald Rapids", UF_AVX512 | UF_AMX },
    { "GenuineIntel", 6, 0xad, 0xae, "Granite Rapids", UF_AVX512 | UF_AMX },
    { "GenuineIntel", 6, 0xaf, 0xaf, "Sierra Forest", 0 },
    /* AMD: family 17h Zen/Zen+/Zen 2, 19h Zen 3/Zen 4, 1Ah Zen 5 */
    { "AuthenticAMD", 0x17, 0x00, 0x2f, "Zen/Zen+", 0 },
    { "AuthenticAMD", 0x17, 0x30, 0xff, "Zen 2", 0 },
    { "AuthenticAMD", 0x19, 0x00, 0x0f, "Zen 3", 0 },
    { "AuthenticAMD", 0x19, 0x10, 0x1f, "Zen 4", UF_AVX512 },
    { "AuthenticAMD", 0x19, 0x20, 0x5f, "Zen 3", 0 },
    { "AuthenticAMD", 0x19, 0x60, 0xaf, "Zen 4", UF_AVX512 },
    { "AuthenticAMD", 0x1a, 0x00, 0xff, "Zen 5", UF_AVX512 },
};

static const struct uarch_row *uarch_row(const char *vendor, int family, int model)
{
    for (size_t i = 0; i < sizeof uarch_tab / sizeof uarch_tab[0]; i++) {
        const struct uarch_row *r = &uarch_tab[i];
        if (strcmp(r->vendor, vendor) == 0 && r->family == family && model >= r->model_lo && model <= r->model_hi)
            return r;
    }
    return NULL;
}

const char *cpuinfo_uarch_of(const char *vendor, int family, int model)
{
    const struct uarch_row *r = uarch_row(vendor ? vendor : "", family, model);
    return r ? r->name : "";
}

/* The "model name" of /proc/cpuinfo text (first one), trimmed; false if none. */
static bool model_name_of(const char *text, char *out, size_t len)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "model name", 10) != 0)
            continue;
        const char *c = strchr(p, ':'), *eol = strchr(p, '\n');
        if (!c || (eol && c > eol))
            continue;
        size_t n = eol ? (size_t)(eol - c - 1) : strlen(c + 1);
        snprintf(out, len, "%.*s", (int)n, c + 1);
        cpuinfo_trim(out);
        return out[0] != '\0';
    }
    return false;
}

void cpuinfo_cpu_get(struct cpuinfo_cpu *out, cpuinfo_cpuid_fn fn, void *ctx, const char *proc_cpuinfo)
{
    memset(out, 0, sizeof *out);
    out->family = out->model = out->stepping = -1;
    if (!fn)
        fn = cpuinfo_cpuid_native;
    cpuid_vendor(fn, ctx, out->vendor);
    uint32_t r[4];
    unsigned feats = 0;
    if (out->vendor[0] && fn(ctx, 1, 0, r)) {
        int base_f = (int)((r[0] >> 8) & 0xf), ext_f = (int)((r[0] >> 20) & 0xff);
        int base_m = (int)((r[0] >> 4) & 0xf), ext_m = (int)((r[0] >> 16) & 0xf);
        out->family = base_f == 0xf ? base_f + ext_f : base_f;
        out->model = base_f == 0x6 || base_f == 0xf ? (ext_m << 4) | base_m : base_m;
        out->stepping = (int)(r[0] & 0xf);
        out->hypervisor = (r[2] >> 31) & 1;
        if (fn(ctx, 7, 0, r)) {
            if (r[1] & (1u << 16))
                feats |= UF_AVX512;
            if (r[3] & (1u << 24))
                feats |= UF_AMX;
        }
    }
    /* model name: /proc/cpuinfo (what the kernel and lscpu show), else the CPUID brand */
    char *text = NULL;
    if (!proc_cpuinfo) {
        FILE *f = sysfs_fopen("/proc/cpuinfo");
        if (f) {
            size_t cap = 0;
            /* the first processor's lines are enough */
            text = calloc(1, 8192);
            if (text) {
                cap = fread(text, 1, 8191, f);
                text[cap] = '\0';
            }
            fclose(f);
        }
        proc_cpuinfo = text;
    }
    if (!proc_cpuinfo || !model_name_of(proc_cpuinfo, out->model_name, sizeof out->model_name)) {
        uint32_t b[12];
        bool ok = fn(ctx, 0x80000004u, 0, r);
        for (uint32_t i = 0; ok && i < 3; i++)
            ok = fn(ctx, 0x80000002u + i, 0, &b[4 * i]);
        if (ok) {
            char brand[49];
            memcpy(brand, b, 48);
            brand[48] = '\0';
            snprintf(out->model_name, sizeof out->model_name, "%s", cpuinfo_trim(brand));
        }
    }
    free(text);
    if (out->family < 0)
        return;
    const struct uarch_row *row = uarch_row(out->vendor, out->family, out->model);
    if (row && (feats & ~row->features) == 0) {
        snprintf(out->uarch, sizeof out->uarch, "%s", row->name);
        snprintf(out->uarch_basis, sizeof out->uarch_basis, "family/model");
        return;
    }
    /* not in the table, or the model number contradicts the features (a
     * hypervisor reporting a made-up model): say the class the features
     * place it in, for Intel, where they are distinctive */
    const char *cls = NULL;
    if (strcmp(out->vendor, "GenuineIntel") == 0)
        cls = (feats & UF_AMX) ? "Sapphire Rapids class" : (feats & UF_AVX512) ? "AVX-512 class" : NULL;
    if (!cls)
        return;
    snprintf(out->uarch, sizeof out->uarch, "%s", cls);
    if (row)
        snprintf(out->uarch_basis, sizeof out->uarch_basis, "features: model 0x%x is %s, which has no %s",
                 (unsigned)out->model, row->name, (feats & ~row->features & UF_AMX) ? "AMX" : "AVX-512");
    else
        snprintf(out->uarch_basis, sizeof out->uarch_basis, "features: model 0x%x is not in the table",
                 (unsigned)out->model);
}

void cpuinfo_cpu_name(const struct cpuinfo_cpu *c, char *buf, size_t len)
{
    if (c->model_name[0])
        snprintf(buf, len, "%s", c->model_name);
    else if (c->vendor[0] && c->family >= 0)
        snprintf(buf, len, "%s family %d model %d", c->vendor, c->family, c->model);
    else
        snprintf(buf, len, "unknown CPU");
}
