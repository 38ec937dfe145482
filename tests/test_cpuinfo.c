/* cpuinfo suite: CPU identity and cache geometry from every source, on
 * every machine. Both sides of each machine-dependent path run here
 * whatever the machine has: fake /sys and /proc trees (sysfs_set_root) with
 * and without cache data and tracefs, and fake CPUID leaves of CPUs this
 * machine is not (Intel leaf 4, AMD leaf 0x8000001D and AMD's legacy
 * leaves). Where this machine has both sysfs and CPUID geometry, they must
 * agree. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/counters/ctr.h"
#include "harness/machine/cpuinfo.h"
#include "harness/machine/reclaim.h"
#include "harness/machine/env.h"
#include "harness/machine/probe.h"
#include "harness/machine/sysfs.h"
#include "tests/testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* ---- fake trees ------------------------------------------------------------ */

/* mkdir -p of the directory part of root/rel, then write text to it. */
static void put(const char *root, const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
            *p = '/';
        }
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
}

static void put_cache(const char *root, int index, const char *level, const char *type, const char *size,
                      const char *ways, const char *sets, const char *shared)
{
    static const char *const names[] = { "level", "type", "size", "ways_of_associativity", "coherency_line_size",
                                         "number_of_sets", "shared_cpu_list" };
    const char *vals[] = { level, type, size, ways, "64", sets, shared };
    for (int i = 0; i < 7; i++) {
        char rel[128], v[64];
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu0/cache/index%d/%s", index, names[i]);
        snprintf(v, sizeof v, "%s\n", vals[i]);
        put(root, rel, v);
    }
}

/* A root whose sysfs has cpu0's caches (48K/12 L1d, 32K/8 L1i, 2M/16 L2,
 * 32M/16 L3) and a /proc/cpuinfo whose model name has trailing spaces. */
static const char *root_with_caches(void)
{
    const char *root = tu_tmpdir();
    put_cache(root, 0, "1", "Data", "48K", "12", "64", "0");
    put_cache(root, 1, "1", "Instruction", "32K", "8", "64", "0");
    put_cache(root, 2, "2", "Unified", "2048K", "16", "2048", "0");
    put_cache(root, 3, "3", "Unified", "32768K", "16", "32768", "0-1");
    put(root, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Fake(R) CPU 9000   \n"
                              "flags\t\t: fpu avx\n");
    return root;
}

/* A root with a CPU directory but no cache data (the VM of issue 13). */
static const char *root_without_caches(void)
{
    const char *root = tu_tmpdir();
    put(root, "sys/devices/system/cpu/online", "0-1\n");
    return root;
}

/* ---- fake CPUID -------------------------------------------------------------- */

struct leaf {
    uint32_t leaf, sub, r[4];
};

struct fake_cpu {
    const struct leaf *leaves;
    int n;
};

/* A listed (leaf, subleaf); zeros for another subleaf of a listed leaf (the
 * end of leaf 4's list); false for a leaf not listed (beyond the maximum). */
static bool fake_cpuid(void *ctx, uint32_t leaf, uint32_t sub, uint32_t regs[4])
{
    const struct fake_cpu *c = ctx;
    bool any = false;
    for (int i = 0; i < c->n; i++) {
        if (c->leaves[i].leaf != leaf)
            continue;
        any = true;
        if (c->leaves[i].sub == sub) {
            memcpy(regs, c->leaves[i].r, 16);
            return true;
        }
    }
    if (any)
        memset(regs, 0, 16);
    return any;
}

/* Leaf 4 / 0x8000001D registers of one cache. */
#define DCP(type, level, line, ways, sets) \
    { (type) | ((level) << 5) | (1u << 8), ((line) - 1u) | ((ways) - 1u) << 22, (sets) - 1u, 0 }
#define VENDOR(a, b, c) { 0x10, a, c, b } /* EBX, EDX, ECX spell the vendor */

/* "GenuineIntel": EBX "Genu", EDX "ineI", ECX "ntel" */
#define INTEL VENDOR(0x756e6547u, 0x49656e69u, 0x6c65746eu)
/* "AuthenticAMD": EBX "Auth", EDX "enti", ECX "cAMD" */
#define AMD VENDOR(0x68747541u, 0x69746e65u, 0x444d4163u)

static const struct leaf spr_leaves[] = {
    { 0, 0, INTEL },
    { 1, 0, { 0x000806f8u, 0, 0x80000000u, 0 } },              /* family 6 model 0x8f stepping 8, hypervisor */
    { 4, 0, DCP(1, 1, 64, 12, 64) },                           /* L1d 48K */
    { 4, 1, DCP(2, 1, 64, 8, 64) },                            /* L1i 32K */
    { 4, 2, DCP(3, 2, 64, 16, 2048) },                         /* L2 2M */
    { 4, 3, DCP(3, 3, 64, 15, 114688) },                       /* L3 105M */
    { 7, 0, { 0, 1u << 16, 0, 1u << 24 } },                    /* avx512f, amx-tile */
};

static const struct leaf zen5_leaves[] = {
    { 0, 0, AMD },
    { 1, 0, { 0x00b00f21u, 0, 0, 0 } },                        /* family 0x1a model 0x02 stepping 1 */
    { 7, 0, { 0, 1u << 16, 0, 0 } },                           /* avx512f */
    { 0x80000001u, 0, { 0, 0, 1u << 22, 0 } },                 /* topology extensions */
    { 0x8000001du, 0, DCP(1, 1, 64, 12, 64) },                 /* L1d 48K */
    { 0x8000001du, 1, DCP(2, 1, 64, 8, 64) },                  /* L1i 32K */
    { 0x8000001du, 2, DCP(3, 2, 64, 16, 1024) },               /* L2 1M */
    { 0x8000001du, 3, DCP(3, 3, 64, 16, 32768) },              /* L3 32M */
    /* the legacy leaves say something else, to see which one was used */
    { 0x80000005u, 0, { 0, 0, (64u << 24) | (4u << 16) | 64u, (64u << 24) | (4u << 16) | 64u } },
};

static const struct leaf zen1_leaves[] = {
    { 0, 0, AMD },
    { 1, 0, { 0x00800f11u, 0, 0, 0 } },                        /* family 0x17 model 0x01 */
    { 0x80000001u, 0, { 0, 0, 0, 0 } },                        /* no topology extensions */
    { 0x80000005u, 0, { 0, 0, (32u << 24) | (8u << 16) | (1u << 8) | 64u, (64u << 24) | (4u << 16) | (1u << 8) | 64u } },
    /* L2 512K code 6 (8-way); L3 16 x 512K = 8M code 8 (16-way) */
    { 0x80000006u, 0, { 0, 0, (512u << 16) | (6u << 12) | (1u << 8) | 64u, (16u << 18) | (8u << 12) | 64u } },
};

/* family 6 model 0xa7 (Rocket Lake: AVX-512, no AMX) that has AMX: what a
 * hypervisor reports for a Sapphire Rapids host in a VM of this project */
static const struct leaf vm_leaves[] = {
    { 0, 0, INTEL },
    { 1, 0, { 0x000a0671u, 0, 0x80000000u, 0 } },
    { 7, 0, { 0, 1u << 16, 0, 1u << 24 } },
    { 0x80000000u, 0, { 0x80000004u, 0, 0, 0 } },
    /* brand "  Fake Brand 1   " padded to 48 bytes */
    { 0x80000002u, 0, { 0x61462020u, 0x4220656bu, 0x646e6172u, 0x20203120u } },
    { 0x80000003u, 0, { 0x20202020u, 0x20202020u, 0x20202020u, 0x20202020u } },
    { 0x80000004u, 0, { 0x20202020u, 0x20202020u, 0x20202020u, 0x00202020u } },
};

#define FAKE(x) { x, (int)(sizeof x / sizeof x[0]) }

static void ck_cache(const struct cpuinfo_caches *cs, int level, const char *type, uint64_t size, int ways, int line)
{
    const struct cpuinfo_cache *c = cpuinfo_cache_find(cs, level, type);
    ck_assert_msg(c != NULL, "no L%d %s (source %s)", level, type, cpuinfo_source_name(cs->source));
    ck_assert_msg(c->size_bytes == size && c->ways == ways && c->line_bytes == line,
                  "L%d %s: %llu B %d-way %d B, want %llu B %d-way %d B", level, type,
                  (unsigned long long)c->size_bytes, c->ways, c->line_bytes, (unsigned long long)size, ways, line);
    ck_assert_msg(c->sets == 0 || (uint64_t)c->sets * (uint64_t)ways * (uint64_t)line == size, "L%d %s sets %d",
                  level, type, c->sets);
}

/* ---- proactive reclaim (reclaim.h) ------------------------------------------------ */

/* A running kdamond with a pageout scheme is found and described with its
 * idle age (age/min x aggr_us) and quota; a stopped one, a non-pageout
 * scheme and no DAMON at all say "no". */
START_TEST(test_reclaim_damon)
{
    char root[1024];
    snprintf(root, sizeof root, "%s/damon", tu_tmpdir());
    ck_assert(mkdir(root, 0755) == 0 || errno == EEXIST);
    const char *k = "sys/kernel/mm/damon/admin/kdamonds/0";
    char rel[512];
    snprintf(rel, sizeof rel, "%s/state", k);
    put(root, rel, "on\n");
    snprintf(rel, sizeof rel, "%s/contexts/0/monitoring_attrs/intervals/aggr_us", k);
    put(root, rel, "5000000\n");
    snprintf(rel, sizeof rel, "%s/contexts/0/schemes/0/action", k);
    put(root, rel, "pageout\n");
    snprintf(rel, sizeof rel, "%s/contexts/0/schemes/0/access_pattern/age/min", k);
    put(root, rel, "12\n");
    snprintf(rel, sizeof rel, "%s/contexts/0/schemes/0/quotas/bytes", k);
    put(root, rel, "134217728\n");
    snprintf(rel, sizeof rel, "%s/contexts/0/schemes/0/quotas/reset_interval_ms", k);
    put(root, rel, "1000\n");
    snprintf(rel, sizeof rel, "%s/contexts/0/schemes/1/action", k); /* not a reclaim */
    put(root, rel, "stat\n");
    sysfs_set_root(root);
    struct reclaim_info r;
    reclaim_probe(&r);
    ck_assert(r.active);
    ck_assert_int_eq(r.n_schemes, 1);
    ck_assert_uint_eq(r.min_age_us, 60000000u);
    ck_assert_uint_eq(r.quota_bytes, 134217728u);
    ck_assert_msg(strstr(r.summary, "60 s") && strstr(r.summary, "128 MiB per 1000 ms"), "%s", r.summary);
    snprintf(rel, sizeof rel, "%s/state", k);
    put(root, rel, "off\n");
    reclaim_probe(&r);
    ck_assert(!r.active);
    ck_assert_msg(strstr(r.summary, "no DAMON pageout") != NULL, "%s", r.summary);
    snprintf(root, sizeof root, "%s/nodamon", tu_tmpdir());
    ck_assert(mkdir(root, 0755) == 0 || errno == EEXIST);
    put(root, "sys/kernel/x", "1\n");
    sysfs_set_root(root);
    reclaim_probe(&r);
    ck_assert(!r.active);
    ck_assert_msg(strstr(r.summary, "no kdamonds") != NULL, "%s", r.summary);
    sysfs_set_root(NULL);
}
END_TEST

/* ---- sysfs root ---------------------------------------------------------------- */

START_TEST(test_sysfs_root)
{
    const char *root = tu_tmpdir();
    put(root, "sys/kernel/x", "hello\n");
    put(root, "proc/meminfo", "MemTotal: 100 kB\nMemAvailable:    2048 kB\n");
    char buf[64], path[512];
    sysfs_set_root(root);
    ck_assert_str_eq(sysfs_root(), root);
    ck_assert_int_eq(sysfs_read_line("/sys/kernel/x", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "hello");
    ck_assert_int_eq(sysfs_mem_available(), 2048u << 10);
    ck_assert_int_eq(sysfs_path("/sys/a", path, sizeof path), 0);
    snprintf(buf, sizeof buf, "%s/sys/a", root);
    ck_assert_str_eq(path, buf);
    ck_assert_int_eq(sysfs_path("/sys/a", path, 4), -1); /* does not fit */
    /* a trailing slash on the root does not double */
    char slashed[512];
    snprintf(slashed, sizeof slashed, "%s/", root);
    sysfs_set_root(slashed);
    ck_assert_int_eq(sysfs_read_line("/sys/kernel/x", buf, sizeof buf), 0);
    /* the environment variable, when nothing was set */
    sysfs_set_root(NULL);
    setenv("GGPERF_SYSFS_ROOT", root, 1);
    ck_assert_str_eq(sysfs_root(), root);
    ck_assert_int_eq(sysfs_read_line("/sys/kernel/x", buf, sizeof buf), 0);
    unsetenv("GGPERF_SYSFS_ROOT");
    ck_assert_str_eq(sysfs_root(), "");
    ck_assert_int_eq(sysfs_read_line("/sys/kernel/x", buf, sizeof buf), -1);
}
END_TEST

/* ---- geometry: sysfs has it / has none ------------------------------------------ */

START_TEST(test_caches_sysfs_present)
{
    unsetenv("GGPERF_CACHE_GEOMETRY");
    sysfs_set_root(root_with_caches());
    struct cpuinfo_caches cs;
    ck_assert_int_eq(cpuinfo_caches_sysfs(&cs), 0);
    ck_assert_int_eq(cs.n, 4);
    ck_cache(&cs, 1, "Data", 48 << 10, 12, 64);
    ck_cache(&cs, 1, "Instruction", 32 << 10, 8, 64);
    ck_cache(&cs, 2, "Unified", 2 << 20, 16, 64);
    ck_cache(&cs, 3, "Unified", 32 << 20, 16, 64);
    ck_assert_str_eq(cpuinfo_cache_find(&cs, 3, "Unified")->shared_cpus, "0-1");
    ck_assert_int_eq(cpuinfo_cache_last(&cs)->level, 3);
    /* sysfs comes first */
    ck_assert_int_eq(cpuinfo_caches_get(&cs), 0);
    ck_assert_int_eq(cs.source, CPUINFO_SRC_SYSFS);
    /* the probe and the simulator take it from there, saying so */
    struct probe_info p;
    ck_assert_int_eq(probe_collect(&p, PROBE_NO_BANDWIDTH | PROBE_NO_CTXSW), 0);
    ck_assert_int_eq(p.caches.source, CPUINFO_SRC_SYSFS);
    ck_assert_int_eq(p.caches.n, 4);
    ck_assert_str_eq(p.cpu.model_name, "Fake(R) CPU 9000"); /* trimmed */
    ck_assert_str_eq(p.cpu_model, "Fake(R) CPU 9000");
    struct ctr_sim_cache i1, d1, ll;
    char src[16], note[400];
    ck_assert_int_eq(ctr_sim_cache_machine(&i1, &d1, &ll, src, sizeof src, note, sizeof note), 0);
    ck_assert_str_eq(src, "sysfs");
    ck_assert(d1.size_bytes == 48 << 10 && d1.ways == 12 && d1.line_bytes == 64);
    ck_assert(ll.size_bytes == 32u << 20 && ll.ways == 16);
    sysfs_set_root(NULL);
}
END_TEST

START_TEST(test_caches_sysfs_absent)
{
    unsetenv("GGPERF_CACHE_GEOMETRY");
    const char *root = root_without_caches();
    sysfs_set_root(root);
    struct cpuinfo_caches cs;
    ck_assert_int_eq(cpuinfo_caches_sysfs(&cs), -1);
    ck_assert_int_eq(cs.n, 0);
    ck_assert_msg(strstr(cs.why, "sysfs: no L1 data cache") && strstr(cs.why, root), "%s", cs.why);
    /* the next source answers: CPUID on x86, getconf elsewhere */
    struct cpuinfo_caches via_cpuid;
    bool have_cpuid = cpuinfo_caches_cpuid(&via_cpuid, NULL, NULL) == 0;
    ck_assert_int_eq(cpuinfo_caches_get(&cs), 0);
    ck_assert_int_eq(cs.source, have_cpuid ? CPUINFO_SRC_CPUID : CPUINFO_SRC_GETCONF);
    ck_assert(cpuinfo_cache_find(&cs, 1, "Data") != NULL);
    struct probe_info p;
    ck_assert_int_eq(probe_collect(&p, PROBE_NO_BANDWIDTH | PROBE_NO_CTXSW), 0);
    ck_assert_int_eq(p.caches.source, cs.source);
    ck_assert_int_gt(p.caches.n, 0);
    struct ctr_sim_cache i1, d1, ll;
    char src[16], note[400];
    ck_assert_int_eq(ctr_sim_cache_machine(&i1, &d1, &ll, src, sizeof src, note, sizeof note), 0);
    ck_assert_str_eq(src, cpuinfo_source_name(cs.source));
    ck_assert(d1.size_bytes > 0 && ll.size_bytes >= d1.size_bytes);
    /* the environment capture records where each level came from */
    json_t *env = env_collect();
    json_t *c0 = json_array_get(json_object_get(env, "caches"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(c0, "source")), cpuinfo_source_name(cs.source));
    json_decref(env);
    sysfs_set_root(NULL);
}
END_TEST

/* Where this machine has both, sysfs and CPUID describe the same caches
 * (Linux builds the sysfs entries from the same leaves). */
START_TEST(test_caches_sysfs_agrees_with_cpuid)
{
    struct cpuinfo_caches sys, id;
    if (cpuinfo_caches_sysfs(&sys) != 0) {
        tu_skip("sysfs-vs-cpuid", "nothing to compare: %s", sys.why);
        return;
    }
    if (cpuinfo_caches_cpuid(&id, NULL, NULL) != 0) {
        tu_skip("cpuid-vs-sysfs", "nothing to compare: %s", id.why);
        return;
    }
    int compared = 0;
    for (int i = 0; i < sys.n; i++) {
        const struct cpuinfo_cache *s = &sys.c[i], *c = cpuinfo_cache_find(&id, s->level, s->type);
        ck_assert_msg(c != NULL, "CPUID lacks L%d %s that sysfs has", s->level, s->type);
        ck_assert_msg(s->size_bytes == c->size_bytes && s->ways == c->ways && s->line_bytes == c->line_bytes,
                      "L%d %s: sysfs %llu B %d-way %d B, cpuid %llu B %d-way %d B", s->level, s->type,
                      (unsigned long long)s->size_bytes, s->ways, s->line_bytes, (unsigned long long)c->size_bytes,
                      c->ways, c->line_bytes);
        compared++;
    }
    ck_assert_int_eq(compared, id.n);
}
END_TEST

START_TEST(test_caches_getconf)
{
    struct cpuinfo_caches g, sys;
    if (cpuinfo_caches_getconf(&g) != 0) {
        ck_assert(g.n == 0 && strstr(g.why, "getconf") != NULL);
        tu_skip("getconf-cache", "%s", g.why);
        return;
    }
    ck_assert_int_eq(g.source, CPUINFO_SRC_GETCONF);
    const struct cpuinfo_cache *d = cpuinfo_cache_find(&g, 1, "Data");
    ck_assert(d->size_bytes >= 4096 && d->ways > 0 && d->line_bytes >= 16);
    if (cpuinfo_caches_sysfs(&sys) == 0) /* glibc reads CPUID too: the same L1d */
        ck_cache(&sys, 1, "Data", d->size_bytes, d->ways, d->line_bytes);
}
END_TEST

/* ---- geometry: CPUID of other CPUs ------------------------------------------ */

START_TEST(test_caches_cpuid_intel_leaf4)
{
    struct fake_cpu c = FAKE(spr_leaves);
    struct cpuinfo_caches cs;
    ck_assert_int_eq(cpuinfo_caches_cpuid(&cs, fake_cpuid, &c), 0);
    ck_assert_int_eq(cs.source, CPUINFO_SRC_CPUID);
    ck_assert_int_eq(cs.n, 4);
    ck_cache(&cs, 1, "Data", 48 << 10, 12, 64);
    ck_cache(&cs, 1, "Instruction", 32 << 10, 8, 64);
    ck_cache(&cs, 2, "Unified", 2 << 20, 16, 64);
    ck_cache(&cs, 3, "Unified", 105u << 20, 15, 64);
}
END_TEST

START_TEST(test_caches_cpuid_amd_topology_leaf)
{
    struct fake_cpu c = FAKE(zen5_leaves);
    struct cpuinfo_caches cs;
    ck_assert_int_eq(cpuinfo_caches_cpuid(&cs, fake_cpuid, &c), 0);
    ck_assert_int_eq(cs.n, 4);
    ck_cache(&cs, 1, "Data", 48 << 10, 12, 64); /* from 0x8000001D, not the legacy leaf's 64K */
    ck_cache(&cs, 1, "Instruction", 32 << 10, 8, 64);
    ck_cache(&cs, 2, "Unified", 1 << 20, 16, 64);
    ck_cache(&cs, 3, "Unified", 32u << 20, 16, 64);
}
END_TEST

START_TEST(test_caches_cpuid_amd_legacy)
{
    struct fake_cpu c = FAKE(zen1_leaves);
    struct cpuinfo_caches cs;
    ck_assert_int_eq(cpuinfo_caches_cpuid(&cs, fake_cpuid, &c), 0);
    ck_assert_int_eq(cs.n, 4);
    ck_cache(&cs, 1, "Data", 32 << 10, 8, 64);
    ck_cache(&cs, 1, "Instruction", 64 << 10, 4, 64);
    ck_cache(&cs, 2, "Unified", 512 << 10, 8, 64);
    ck_cache(&cs, 3, "Unified", 8u << 20, 16, 64);
    /* no CPUID at all: a reason, no geometry */
    struct fake_cpu none = { NULL, 0 };
    ck_assert_int_eq(cpuinfo_caches_cpuid(&cs, fake_cpuid, &none), -1);
    ck_assert_int_eq(cs.n, 0);
    ck_assert_msg(strstr(cs.why, "cpuid") != NULL, "%s", cs.why);
}
END_TEST

/* ---- geometry: the user's ----------------------------------------------------- */

START_TEST(test_caches_parse)
{
    struct cpuinfo_caches cs;
    char err[256];
    ck_assert_int_eq(cpuinfo_caches_parse("L1d=48K/12/64,L2=2M/16/64,LL=32M/16/64", &cs, err, sizeof err), 0);
    ck_assert_int_eq(cs.source, CPUINFO_SRC_USER);
    ck_cache(&cs, 1, "Data", 48 << 10, 12, 64);
    ck_cache(&cs, 2, "Unified", 2 << 20, 16, 64);
    ck_cache(&cs, 3, "Unified", 32u << 20, 16, 64); /* LL after L2 is L3 */
    ck_assert_int_eq(cpuinfo_caches_parse("L1d=32768/8/64,L1i=32K/8/64", &cs, err, sizeof err), 0);
    ck_assert_int_eq(cs.n, 2);
    ck_assert_int_eq(cpuinfo_caches_parse("L1d=48K/12/64,L2=1M/16/64,L3=32M/16/64", &cs, err, sizeof err), 0);
    ck_assert_int_eq(cpuinfo_cache_last(&cs)->level, 3);
    static const struct {
        const char *spec, *says;
    } bad[] = {
        { "", "empty" },
        { "L2=1M/16/64", "no L1d" },
        { "L1d=48K/12", "SIZE/WAYS/LINE" },
        { "L1d=48K/13/64", "not a multiple" },
        { "L1d=0/12/64", "SIZE/WAYS/LINE" },
        { "L1d=48X/12/64", "SIZE/WAYS/LINE" },
        { "L9=1M/16/64", "not one of" },
        { "L1d", "no '='" },
        { "L1d=48K/12/64,L1d=48K/12/64", "twice" },
        { "L1d=48K/12/64,L3=32M/16/64,LL=32M/16/64", "LL given with L3" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(cpuinfo_caches_parse(bad[i].spec, &cs, err, sizeof err) == -1, "'%s' accepted", bad[i].spec);
        ck_assert_msg(strstr(err, bad[i].says) != NULL, "'%s': %s", bad[i].spec, err);
    }
}
END_TEST

START_TEST(test_caches_env_user)
{
    sysfs_set_root(root_with_caches());
    setenv("GGPERF_CACHE_GEOMETRY", "L1d=32K/8/64,LL=8M/16/64", 1);
    struct cpuinfo_caches cs;
    ck_assert_int_eq(cpuinfo_caches_get(&cs), 0); /* before sysfs */
    ck_assert_int_eq(cs.source, CPUINFO_SRC_USER);
    ck_cache(&cs, 1, "Data", 32 << 10, 8, 64);
    struct ctr_sim_cache i1, d1, ll;
    char src[16], note[400];
    ck_assert_int_eq(ctr_sim_cache_machine(&i1, &d1, &ll, src, sizeof src, note, sizeof note), 0);
    ck_assert_str_eq(src, "user");
    ck_assert(ll.size_bytes == 8u << 20 && i1.size_bytes == d1.size_bytes); /* no L1i given: D1's */
    /* a bad value is an error, never a silent fall back to sysfs */
    setenv("GGPERF_CACHE_GEOMETRY", "L1d=oops", 1);
    ck_assert_int_eq(cpuinfo_caches_get(&cs), -1);
    ck_assert_int_eq(cs.n, 0);
    ck_assert_msg(strstr(cs.why, "GGPERF_CACHE_GEOMETRY") != NULL, "%s", cs.why);
    ck_assert_int_eq(ctr_sim_cache_machine(&i1, &d1, &ll, src, sizeof src, note, sizeof note), CTR_EUNSUPPORTED);
    ck_assert_msg(strstr(note, "GGPERF_CACHE_GEOMETRY") != NULL, "%s", note);
    unsetenv("GGPERF_CACHE_GEOMETRY");
    sysfs_set_root(NULL);
}
END_TEST

/* ---- identity ------------------------------------------------------------------- */

START_TEST(test_cpu_identity_fake)
{
    struct cpuinfo_cpu c;
    struct fake_cpu spr = FAKE(spr_leaves), zen5 = FAKE(zen5_leaves), zen1 = FAKE(zen1_leaves), vm = FAKE(vm_leaves);
    cpuinfo_cpu_get(&c, fake_cpuid, &spr, "model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz  \n");
    ck_assert_str_eq(c.vendor, "GenuineIntel");
    ck_assert(c.family == 6 && c.model == 0x8f && c.stepping == 8 && c.hypervisor);
    ck_assert_str_eq(c.uarch, "Sapphire Rapids");
    ck_assert_str_eq(c.uarch_basis, "family/model");
    ck_assert_str_eq(c.model_name, "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz");
    char name[96];
    cpuinfo_cpu_name(&c, name, sizeof name);
    ck_assert_str_eq(name, "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz");

    cpuinfo_cpu_get(&c, fake_cpuid, &zen5, "");
    ck_assert_str_eq(c.vendor, "AuthenticAMD");
    ck_assert(c.family == 0x1a && c.model == 0x02 && c.stepping == 1 && !c.hypervisor);
    ck_assert_str_eq(c.uarch, "Zen 5");
    cpuinfo_cpu_name(&c, name, sizeof name); /* no model name, no brand leaves */
    ck_assert_str_eq(name, "AuthenticAMD family 26 model 2");

    cpuinfo_cpu_get(&c, fake_cpuid, &zen1, "");
    ck_assert(c.family == 0x17 && c.model == 1);
    ck_assert_str_eq(c.uarch, "Zen/Zen+");

    /* a model number the features contradict: named by the features */
    cpuinfo_cpu_get(&c, fake_cpuid, &vm, "");
    ck_assert(c.family == 6 && c.model == 0xa7);
    ck_assert_str_eq(c.uarch, "Sapphire Rapids class");
    ck_assert_msg(strstr(c.uarch_basis, "Rocket Lake") && strstr(c.uarch_basis, "AMX"), "%s", c.uarch_basis);
    ck_assert_str_eq(c.model_name, "Fake Brand 1"); /* the CPUID brand, trimmed */

    ck_assert_str_eq(cpuinfo_uarch_of("AuthenticAMD", 0x19, 0x11), "Zen 4");
    ck_assert_str_eq(cpuinfo_uarch_of("AuthenticAMD", 0x19, 0x21), "Zen 3");
    ck_assert_str_eq(cpuinfo_uarch_of("GenuineIntel", 6, 0xcf), "Emerald Rapids");
    ck_assert_str_eq(cpuinfo_uarch_of("GenuineIntel", 6, 0x6a), "Ice Lake-SP");
    ck_assert_str_eq(cpuinfo_uarch_of("GenuineIntel", 6, 0x01), "");

    char t[] = " \t a b \n";
    ck_assert_str_eq(cpuinfo_trim(t), "a b");
}
END_TEST

/* This machine: the name has no padding, and probe, env and the CPUID
 * brand agree on it. */
START_TEST(test_cpu_identity_here)
{
    struct cpuinfo_cpu c;
    cpuinfo_cpu_get(&c, NULL, NULL, NULL);
    char name[96];
    cpuinfo_cpu_name(&c, name, sizeof name);
    size_t n = strlen(name);
    ck_assert(n > 0 && name[n - 1] != ' ' && name[0] != ' ');
    json_t *env = env_collect();
    json_t *cpu = json_object_get(env, "cpu");
    ck_assert_str_eq(json_string_value(json_object_get(cpu, "name")), name); /* what gate compares */
    struct probe_info p;
    ck_assert_int_eq(probe_collect(&p, PROBE_NO_BANDWIDTH | PROBE_NO_CTXSW), 0);
    ck_assert_str_eq(p.cpu_model, name); /* what probe prints */
    const char *mn = json_string_value(json_object_get(cpu, "model_name"));
    ck_assert(mn && (strcmp(mn, "unreadable") == 0 || mn[strlen(mn) - 1] != ' '));
    const char *brand = json_string_value(json_object_get(cpu, "brand"));
    ck_assert(brand && (!brand[0] || brand[strlen(brand) - 1] != ' '));
    if (c.family >= 0) {
        ck_assert(json_integer_value(json_object_get(cpu, "family")) == c.family);
        ck_assert_str_eq(json_string_value(json_object_get(cpu, "vendor")), c.vendor);
    }
    /* the exact kernel variants are recorded */
    json_t *q4 = json_object_get(json_object_get(json_object_get(env, "kernels"), "types"), "Q4_0");
    ck_assert(json_is_string(json_object_get(q4, "dot")));
    json_decref(env);
}
END_TEST

/* ---- tracefs: mounted / not mounted -------------------------------------------- */

START_TEST(test_tracefs_fake_roots)
{
    const char *mounted = tu_tmpdir();
    put(mounted, "sys/kernel/tracing/events/sched/sched_switch/id", "316\n");
    char dir[512], why[256], want[512];
    sysfs_set_root(mounted);
    ck_assert_int_eq(ctr_tracefs_dir(dir, sizeof dir, why, sizeof why), 0);
    snprintf(want, sizeof want, "%s/sys/kernel/tracing", mounted);
    ck_assert_str_eq(dir, want);
    /* the older debugfs place */
    const char *debugfs = tu_tmpdir();
    put(debugfs, "sys/kernel/debug/tracing/events/sched/sched_switch/id", "316\n");
    sysfs_set_root(debugfs);
    ck_assert_int_eq(ctr_tracefs_dir(dir, sizeof dir, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(dir, "/sys/kernel/debug/tracing"));
    /* not mounted: unsupported with the reason and the fix */
    sysfs_set_root(root_without_caches());
    ck_assert_int_eq(ctr_tracefs_dir(dir, sizeof dir, why, sizeof why), CTR_EUNSUPPORTED);
    ck_assert_msg(strstr(why, "not mounted") && strstr(why, "mount -t tracefs"), "%s", why);
    struct probe_info p;
    ck_assert_int_eq(probe_collect(&p, PROBE_NO_BANDWIDTH | PROBE_NO_CTXSW), 0);
    ck_assert(!p.tracepoints_ok);
    ck_assert_msg(strstr(p.tracepoints_reason, "not mounted") != NULL, "%s", p.tracepoints_reason);
    sysfs_set_root(NULL);
}
END_TEST

/* ---- the command line ----------------------------------------------------------- */

START_TEST(test_cli_probe_sources)
{
    static char out[65536], err[4096];
    char cmd[1024];
    const char *root = root_without_caches();
    struct cpuinfo_caches cs;
    sysfs_set_root(root);
    unsetenv("GGPERF_CACHE_GEOMETRY");
    ck_assert_int_eq(cpuinfo_caches_get(&cs), 0);
    const char *src = cpuinfo_source_name(cs.source);
    sysfs_set_root(NULL);
    snprintf(cmd, sizeof cmd, "GGPERF_SYSFS_ROOT=%s %s probe --no-bandwidth --no-ctxsw", root, tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    char want[64];
    snprintf(want, sizeof want, "caches (cpu0)        source %s\n", src);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "  L1 Data "));
    ck_assert_ptr_nonnull(strstr(out, "cpu identity "));
    snprintf(cmd, sizeof cmd, "GGPERF_SYSFS_ROOT=%s %s probe --no-bandwidth --no-ctxsw --json", root, tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    json_t *o = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "caches_source")), src);
    ck_assert(json_array_size(json_object_get(o, "caches")) > 0);
    json_decref(o);
    /* the user's geometry, and a bad one: the reason, not an empty list */
    snprintf(cmd, sizeof cmd, "GGPERF_CACHE_GEOMETRY=L1d=32K/8/64,LL=8M/16/64 %s probe --no-bandwidth --no-ctxsw",
             tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, "caches (cpu0)        source user\n") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "GGPERF_CACHE_GEOMETRY=L1d=oops %s probe --no-bandwidth --no-ctxsw", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, "caches (cpu0)        unknown: $GGPERF_CACHE_GEOMETRY") != NULL, "%s", out);
    /* --cache-geometry is checked before anything runs, and names the flag */
    snprintf(cmd, sizeof cmd, "%s run contention --cache-geometry L1d=48K/13/64 -r 1", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--cache-geometry") && strstr(err, "not a multiple"), "%s", err);
    snprintf(cmd, sizeof cmd, "%s study contention --cache-geometry L1d", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--cache-geometry") != NULL, "%s", err);
    snprintf(cmd, sizeof cmd, "GGPERF_CPU_DISABLE=avx9 %s probe --no-bandwidth --no-ctxsw", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "GGPERF_CPU_DISABLE") && strstr(err, "avx9"), "%s", err);
}
END_TEST

/* --sim on where sysfs has no cache data: simulated L1d misses, with the
 * geometry's source in the results' environment. */
START_TEST(test_cli_sim_without_sysfs_caches)
{
#ifdef TEST_ASAN
    tu_skip("sanitizer", "ggperf is built with AddressSanitizer, which cannot run under valgrind");
    return;
#endif
    char vg[128];
    if (ctr_sim_valgrind_version(vg, sizeof vg) != 0) {
        tu_skip("valgrind", "%s", vg);
        return;
    }
    static char out[262144], err[8192];
    char cmd[2048];
    const char *root = root_without_caches(), *dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd,
             "GGPERF_SYSFS_ROOT=%s %s run contention --type q4_0 --op dot --align 0 --threads 1 --layout padded "
             "--sim on -r 1 --warmup 0 -o csv --stream %s/s.jsonl",
             root, tu_ggperf_bin(), dir);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(strstr(out, "l1d_misses_per_1024_rows,count,sim,ok") != NULL, "%s\n%s", out, err);
    char path[1024];
    snprintf(path, sizeof path, "%s/s.json", dir);
    json_t *doc = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    json_t *env = json_object_get(doc, "environment");
    if (!env)
        env = json_object_get(json_object_get(doc, "header"), "environment");
    json_t *c0 = json_array_get(json_object_get(env, "caches"), 0);
    const char *src = json_string_value(json_object_get(c0, "source"));
    ck_assert_msg(src && (strcmp(src, "cpuid") == 0 || strcmp(src, "getconf") == 0), "source %s", src ? src : "?");
    json_decref(doc);
}
END_TEST

Suite *cpuinfo_suite(void)
{
    Suite *s = suite_create("cpuinfo");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sysfs_root);
    tcase_add_test(tc, test_reclaim_damon);
    tcase_add_test(tc, test_caches_sysfs_present);
    tcase_add_test(tc, test_caches_sysfs_absent);
    tcase_add_test(tc, test_caches_sysfs_agrees_with_cpuid);
    tcase_add_test(tc, test_caches_getconf);
    tcase_add_test(tc, test_caches_cpuid_intel_leaf4);
    tcase_add_test(tc, test_caches_cpuid_amd_topology_leaf);
    tcase_add_test(tc, test_caches_cpuid_amd_legacy);
    tcase_add_test(tc, test_caches_parse);
    tcase_add_test(tc, test_caches_env_user);
    tcase_add_test(tc, test_cpu_identity_fake);
    tcase_add_test(tc, test_cpu_identity_here);
    tcase_add_test(tc, test_tracefs_fake_roots);
    tcase_add_test(tc, test_cli_probe_sources);
    tcase_add_test(tc, test_cli_sim_without_sysfs_caches);
    suite_add_tcase(s, tc);
    return s;
}
