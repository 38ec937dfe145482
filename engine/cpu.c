/* cpu — CPU feature detection from cpuid and xgetbv (see cpu.h). */
#include "engine/cpu.h"

#include <cpuid.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static uint64_t xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

/* Linux's arch_prctl(2) request for a dynamically enabled state component
 * (asm/prctl.h; spelled out so that old headers build), and AMX's tile data
 * component. */
#define CPU_ARCH_REQ_XCOMP_PERM 0x1023
#define CPU_XFEATURE_XTILEDATA 18

/* Ask Linux for the AMX tile data permission (once per process, shared by
 * its threads; asking again is harmless). False where the kernel is too old
 * (EINVAL), forbids it, or a thread's signal stack is too small for the
 * larger signal frame. */
static bool amx_permission(void)
{
#ifdef SYS_arch_prctl
    return syscall(SYS_arch_prctl, CPU_ARCH_REQ_XCOMP_PERM, CPU_XFEATURE_XTILEDATA) == 0;
#else
    return false;
#endif
}

void cpu_detect(struct cpu_features *f)
{
    memset(f, 0, sizeof *f);
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    f->sse42 = c & bit_SSE4_2;
    f->fma = c & bit_FMA;
    f->f16c = c & bit_F16C;
    bool osxsave = c & bit_OSXSAVE;
    bool avx_hw = c & bit_AVX;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    /* The OS saves XMM+YMM (bits 1,2) and, for AVX-512, opmask+ZMM (5,6,7). */
    bool os_avx = (xcr0 & 0x6) == 0x6;
    bool os_avx512 = (xcr0 & 0xe6) == 0xe6;
    f->avx = avx_hw && os_avx;
    if (!f->avx) {
        f->fma = f->f16c = false;
    }
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f->avx2 = f->avx && (b & bit_AVX2);
        f->gfni = c & (1u << 8);
        if (os_avx512) {
            f->avx512f = b & bit_AVX512F;
            f->avx512dq = b & bit_AVX512DQ;
            f->avx512bw = b & bit_AVX512BW;
            f->avx512vl = b & bit_AVX512VL;
            f->avx512vnni = c & bit_AVX512VNNI;
            f->avx512fp16 = d & (1u << 23);
            f->avx512vbmi = c & (1u << 1);
            unsigned a1, b1, c1, d1;
            __cpuid_count(7, 1, a1, b1, c1, d1);
            f->avx512bf16 = a1 & (1u << 5);
            f->avxvnni = a1 & (1u << 4);
            /* AMX-TILE (edx bit 24), AMX-INT8 (25), AMX-BF16 (22), the tile config and
             * data saved by the OS (XCR0 bits 17, 18); the kernels that use
             * tiles also use AVX-512, hence under os_avx512 */
            const bool amx_tile = d & (1u << 24), os_amx = (xcr0 & (3ull << 17)) == (3ull << 17);
            const bool amx_ok = f->avx512f && amx_tile && os_amx && amx_permission();
            f->amx_int8 = amx_ok && (d & (1u << 25));
            f->amx_bf16 = amx_ok && (d & (1u << 22));
        } else {
            unsigned a1, b1, c1, d1;
            __cpuid_count(7, 1, a1, b1, c1, d1);
            f->avxvnni = f->avx2 && (a1 & (1u << 4));
        }
    }
    unsigned max_ext = __get_cpuid_max(0x80000000u, NULL);
    if (max_ext >= 0x80000004u) {
        uint32_t regs[12];
        for (unsigned i = 0; i < 3; i++)
            __cpuid(0x80000002u + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
        memcpy(f->brand, regs, 48);
        f->brand[48] = '\0';
        /* trim the spaces some CPUs pad with, on both sides */
        char *p = f->brand;
        while (*p == ' ')
            p++;
        memmove(f->brand, p, strlen(p) + 1);
        size_t n = strlen(f->brand);
        while (n > 0 && f->brand[n - 1] == ' ')
            f->brand[--n] = '\0';
    }
}

static const struct {
    const char *name;
    size_t off;
} feature_tab[] = {
    { "sse4.2", offsetof(struct cpu_features, sse42) },
    { "avx", offsetof(struct cpu_features, avx) },
    { "avx2", offsetof(struct cpu_features, avx2) },
    { "fma", offsetof(struct cpu_features, fma) },
    { "f16c", offsetof(struct cpu_features, f16c) },
    { "avx_vnni", offsetof(struct cpu_features, avxvnni) },
    { "avx512f", offsetof(struct cpu_features, avx512f) },
    { "avx512bw", offsetof(struct cpu_features, avx512bw) },
    { "avx512vl", offsetof(struct cpu_features, avx512vl) },
    { "avx512dq", offsetof(struct cpu_features, avx512dq) },
    { "avx512_vnni", offsetof(struct cpu_features, avx512vnni) },
    { "avx512_bf16", offsetof(struct cpu_features, avx512bf16) },
    { "avx512_fp16", offsetof(struct cpu_features, avx512fp16) },
    { "avx512_vbmi", offsetof(struct cpu_features, avx512vbmi) },
    { "gfni", offsetof(struct cpu_features, gfni) },
    { "amx_int8", offsetof(struct cpu_features, amx_int8) },
    { "amx_bf16", offsetof(struct cpu_features, amx_bf16) },
};
#define N_FEATURES (sizeof feature_tab / sizeof feature_tab[0])

void cpu_features_str(const struct cpu_features *f, char *buf, unsigned len)
{
    unsigned used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < N_FEATURES; i++) {
        if (!*(const bool *)((const char *)f + feature_tab[i].off))
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? " " : "", feature_tab[i].name);
        if (w < 0 || (unsigned)w >= len - used)
            break;
        used += (unsigned)w;
    }
}

int cpu_features_disable(struct cpu_features *f, const char *list, char *err, unsigned err_len)
{
    const char *p = list ? list : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        bool found = false;
        if (n == 6 && strncmp(p, "avx512", 6) == 0) {
            f->avx512f = false; /* the rest follows below */
            found = true;
        }
        for (size_t i = 0; !found && i < N_FEATURES; i++)
            if (strlen(feature_tab[i].name) == n && strncmp(feature_tab[i].name, p, n) == 0) {
                *(bool *)((char *)f + feature_tab[i].off) = false;
                found = true;
            }
        if (!found && n) {
            if (err && err_len) {
                int w = snprintf(err, err_len, "cpu feature '%.*s' is not one of avx512", (int)n, p);
                for (size_t i = 0; i < N_FEATURES && w > 0 && (unsigned)w < err_len; i++)
                    w += snprintf(err + w, err_len - (unsigned)w, " %s", feature_tab[i].name);
            }
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!f->avx)
        f->avx2 = f->fma = f->f16c = false;
    if (!f->avx2)
        f->avxvnni = f->avx512f = false;
    if (!f->avx512f)
        f->avx512bw = f->avx512vl = f->avx512dq = f->avx512vnni = f->avx512bf16 = f->avx512fp16 = f->avx512vbmi =
            f->amx_int8 = f->amx_bf16 = false;
    return 0;
}
