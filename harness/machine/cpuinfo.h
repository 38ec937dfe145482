/* cpuinfo — which CPU this is and its cache geometry, with where each
 * figure came from.
 *
 * Cache geometry is wanted by the cache simulator (valgrind needs sizes,
 * associativity and line size), the bandwidth probe (array sizes) and the
 * environment capture. Machines differ in what they tell: a VM may have no
 * /sys/devices/system/cpu/cpu0/cache at all while CPUID knows the caches.
 * So the geometry is looked up in this order, the first that gives an L1
 * data cache winning:
 *
 *   user     $GGPERF_CACHE_GEOMETRY (or --cache on the simulating commands),
 *            "L1d=48K/12/64,L2=2M/16/64,LL=105M/15/64"
 *   sysfs    /sys/devices/system/cpu/cpu0/cache/index* (under sysfs_root())
 *   cpuid    Intel leaf 4; AMD leaf 0x8000001D (topology extensions), else
 *            AMD's legacy leaves 0x80000005/0x80000006
 *   getconf  sysconf(_SC_LEVEL1_DCACHE_SIZE, ...)
 *
 * CPU identity (vendor, family/model/stepping, the microarchitecture where
 * known, the trimmed model name) comes from CPUID and /proc/cpuinfo;
 * cpuinfo_cpu_name() is the one way ggperf names a CPU (probe, environment
 * capture, gate).
 *
 * The CPUID decoders take the CPUID instruction as a function so that tests
 * can feed them the leaves of CPUs they do not run on. Library code: nothing
 * here prints or exits.
 */
#ifndef GGPERF_HARNESS_CPUINFO_H
#define GGPERF_HARNESS_CPUINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUINFO_MAX_CACHES 8

enum cpuinfo_source {
    CPUINFO_SRC_NONE = 0,
    CPUINFO_SRC_USER,
    CPUINFO_SRC_SYSFS,
    CPUINFO_SRC_CPUID,
    CPUINFO_SRC_GETCONF,
};

/* "none", "user", "sysfs", "cpuid", "getconf". */
const char *cpuinfo_source_name(enum cpuinfo_source s);

struct cpuinfo_cache {
    int level;              /* 1, 2, 3 (4) */
    char type[16];          /* "Data", "Instruction", "Unified" */
    uint64_t size_bytes;
    int ways, line_bytes, sets; /* sets 0 when the source does not say */
    char shared_cpus[32];   /* sysfs shared_cpu_list ("0-1"); "" when unknown */
};

/* The cache levels of one CPU, all from one source. */
struct cpuinfo_caches {
    struct cpuinfo_cache c[CPUINFO_MAX_CACHES];
    int n;
    enum cpuinfo_source source;
    char why[400];          /* n == 0: why each source gave nothing; else "" */
};

/* The geometry by the order above. Returns 0 with out->source set, or -1
 * with out->n == 0 and out->why saying what each source lacked (a malformed
 * $GGPERF_CACHE_GEOMETRY is such a reason: it is never silently skipped). */
int cpuinfo_caches_get(struct cpuinfo_caches *out);

/* One source each; 0 when it gave an L1 data cache, else -1 with out->why.
 * sysfs reads cpu0's cache dirs under sysfs_root(). */
int cpuinfo_caches_sysfs(struct cpuinfo_caches *out);
int cpuinfo_caches_getconf(struct cpuinfo_caches *out);

/* CPUID as a function: regs = {eax, ebx, ecx, edx} of (leaf, subleaf).
 * Returns false when the leaf is beyond the CPU's maximum (or not x86). */
typedef bool (*cpuinfo_cpuid_fn)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/* This CPU's CPUID (false everywhere on a non-x86 build). */
bool cpuinfo_cpuid_native(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/* Cache geometry decoded from CPUID (fn NULL: the native one). */
int cpuinfo_caches_cpuid(struct cpuinfo_caches *out, cpuinfo_cpuid_fn fn, void *ctx);

/* Parse a user geometry: comma-separated LEVEL=SIZE/WAYS/LINE with LEVEL one
 * of L1d, L1i, L2, L3, LL (LL: the last level, stored as level 3 unless
 * another level is given with it) and SIZE in bytes with an optional K/M/G
 * suffix: "L1d=48K/12/64,LL=32M/16/64". L1d is required. Returns 0, or -1
 * with err naming the item and what is allowed. */
int cpuinfo_caches_parse(const char *spec, struct cpuinfo_caches *out, char *err, size_t err_len);

/* The cache of out with this level and type ("Data", "Instruction",
 * "Unified"), or NULL. */
const struct cpuinfo_cache *cpuinfo_cache_find(const struct cpuinfo_caches *cs, int level, const char *type);

/* The last-level cache (highest level, not an instruction cache), or NULL. */
const struct cpuinfo_cache *cpuinfo_cache_last(const struct cpuinfo_caches *cs);

/* ---- CPU identity ------------------------------------------------------ */

struct cpuinfo_cpu {
    char vendor[16];        /* CPUID vendor: "GenuineIntel", "AuthenticAMD"; "" unknown */
    int family, model, stepping; /* display family/model (base + extended); -1 unknown */
    bool hypervisor;        /* CPUID.1:ECX[31]: the figures are what a hypervisor reports */
    char model_name[80];    /* /proc/cpuinfo "model name", else the CPUID brand; trimmed */
    char uarch[40];         /* "Sapphire Rapids", "Zen 5", "Sapphire Rapids class"; "" unknown */
    char uarch_basis[96];   /* how uarch was found: "family/model", or why the features were used */
};

/* Fill out from CPUID (fn NULL: native) and, for the model name, the
 * "model name" line of /proc/cpuinfo under sysfs_root() (proc_cpuinfo NULL),
 * or the given text (tests). Never fails: unknown fields stay ""/-1. */
void cpuinfo_cpu_get(struct cpuinfo_cpu *out, cpuinfo_cpuid_fn fn, void *ctx, const char *proc_cpuinfo);

/* The microarchitecture of (vendor, family, model) from a table ("" when
 * not in it). */
const char *cpuinfo_uarch_of(const char *vendor, int family, int model);

/* How ggperf names a CPU everywhere: the trimmed model name, else
 * "VENDOR family F model M". */
void cpuinfo_cpu_name(const struct cpuinfo_cpu *c, char *buf, size_t len);

/* Whitespace trimmed from both ends of s, in place; returns s. */
char *cpuinfo_trim(char *s);

#endif
