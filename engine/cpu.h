/* cpu — what the processor we run on can execute, from cpuid and xgetbv
 * (the OS must also save the wide registers for AVX/AVX-512 to count). */
#ifndef GGPERF_ENGINE_CPU_H
#define GGPERF_ENGINE_CPU_H

#include <stdbool.h>

struct cpu_features {
    bool sse42, avx, avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512bf16, avx512fp16, avx512vbmi;
    bool avxvnni, gfni;
    /* AMX tiles with int8 (bf16) dot products, usable: the CPU has them, the OS
     * saves the tile state (XCR0 bits 17, 18), and Linux granted this
     * process the tile data (arch_prctl ARCH_REQ_XCOMP_PERM, which
     * cpu_detect asks for; without it the first tile instruction traps). */
    bool amx_int8, amx_bf16;
    char brand[49];   /* "Intel(R) Xeon(R) ..." or "" */
};

/* Detect the features of this CPU (cheap: cpuid, xgetbv and, on a CPU with
 * AMX, one arch_prctl; callers may cache the result). */
void cpu_detect(struct cpu_features *f);

/* Space-separated list of the detected features ("avx2 fma f16c ..."). */
void cpu_features_str(const struct cpu_features *f, char *buf, unsigned len);

/* Turn off the features named in list (comma-separated, the names of
 * cpu_features_str, or "avx512" for every AVX-512 feature), and what
 * depends on them (no avx: no avx2/fma/f16c; no avx2 or avx512f: no
 * AVX-512, and no AMX, whose kernels lean on AVX-512), so that every
 * kernel variant can be forced on a CPU that has a better one. Features the CPU lacks cannot be turned on. Returns 0, or -1
 * with err naming the unknown word and the allowed ones. */
int cpu_features_disable(struct cpu_features *f, const char *list, char *err, unsigned err_len);

#endif
