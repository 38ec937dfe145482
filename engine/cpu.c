/* cpu — CPU feature detection from cpuid and xgetbv (see cpu.h). */
#include "engine/cpu.h"

#include <cpuid.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static uint64_t xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
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
        if (os_avx512) {
            f->avx512f = b & bit_AVX512F;
            f->avx512dq = b & bit_AVX512DQ;
            f->avx512bw = b & bit_AVX512BW;
            f->avx512vl = b & bit_AVX512VL;
            f->avx512vnni = c & bit_AVX512VNNI;
            f->avx512fp16 = d & (1u << 23);
            unsigned a1, b1, c1, d1;
            __cpuid_count(7, 1, a1, b1, c1, d1);
            f->avx512bf16 = a1 & (1u << 5);
            f->avxvnni = a1 & (1u << 4);
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
        /* trim leading spaces some CPUs pad with */
        char *p = f->brand;
        while (*p == ' ')
            p++;
        memmove(f->brand, p, strlen(p) + 1);
    }
}

void cpu_features_str(const struct cpu_features *f, char *buf, unsigned len)
{
    static const struct { const char *name; size_t off; } tab[] = {
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
    };
    unsigned used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (!*(const bool *)((const char *)f + tab[i].off))
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? " " : "", tab[i].name);
        if (w < 0 || (unsigned)w >= len - used)
            break;
        used += (unsigned)w;
    }
}
