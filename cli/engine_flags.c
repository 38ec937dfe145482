/* engine_flags — the engine flags every model-running command shares,
 * parsed into session_opts (harness/run/session.h). */
#include "cli/engine_flags.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *cli_engine_flags_help(void)
{
    return "  -m, --model FILE   GGUF model\n"
           "  -t, --threads N    worker threads (default: online CPUs)\n"
           "  --kernels K        auto|ref|avx2|avx512 (default auto: fastest the CPU has)\n"
           "  --cpu-disable LIST CPU features the kernels may not use, e.g. avx512_vnni or\n"
           "                     avx512_vbmi,gfni: forces a slower kernel variant\n"
           "                     (also $GGPERF_CPU_DISABLE; `ggperf probe` lists the variants)\n"
           "  --kv T             f16|f32 KV cache (default f16)\n"
           "  --wait W           spin|futex|hybrid barrier wait policy (default hybrid)\n"
           "  --pin LIST         pin threads to CPUs, e.g. 0,1 or 0-3 (default: no pinning)\n"
           "  --ctx N            KV cache positions (default: model context, at most 4096)\n"
           "  --batch N          most tokens per forward pass (default 64)\n"
           "  --weights W        map|read|hugepage: mmap the file, or read it into heap\n"
           "                     memory, or into 2 MiB transparent huge pages (default map)\n";
}

int cli_engine_flag(struct session_opts *o, int argc, char **argv, int *i)
{
    const char *f = argv[*i];
    static const char *const flags_with_value[] = { "-m", "--model", "-t", "--threads", "--kernels", "--kv",
                                                    "--wait", "--pin", "--ctx", "--batch", "--weights", "--cpu-disable",
                                                    NULL };
    int known = 0;
    for (int k = 0; flags_with_value[k]; k++)
        if (strcmp(f, flags_with_value[k]) == 0)
            known = 1;
    if (!known)
        return 0;
    if (*i + 1 >= argc) {
        cli_error(CLI_EUSAGE, "%s: missing value", f);
        return -CLI_EUSAGE;
    }
    const char *v = argv[++*i];
    if (!strcmp(f, "-m") || !strcmp(f, "--model")) {
        o->model_path = v;
    } else if (!strcmp(f, "-t") || !strcmp(f, "--threads")) {
        /* the engine's own limit, so a value it would refuse is refused here, naming the flag */
        if (cli_parse_int(f, v, 1, POOL_MAX_THREADS, &o->infer.n_threads))
            return -CLI_EUSAGE;
        o->threads_set = true;
    } else if (!strcmp(f, "--kernels")) {
        static const char *const k[] = { "ref", "avx2", "avx512", "auto", NULL };
        int c = cli_parse_choice(f, v, k);
        if (c < 0)
            return -CLI_EUSAGE;
        o->infer.max_isa = c == 3 ? QISA_AVX512 : (enum quant_isa)c;
    } else if (!strcmp(f, "--cpu-disable")) {
        /* the environment, where the engine (and every child, e.g. under
         * valgrind) reads it when it picks its kernels */
        char err[512];
        if (setenv("GGPERF_CPU_DISABLE", v, 1) != 0 || quant_cpu_disable_check(err, sizeof err) != 0) {
            cli_error(CLI_EUSAGE, "--cpu-disable: %s", err);
            return -CLI_EUSAGE;
        }
    } else if (!strcmp(f, "--kv")) {
        static const char *const k[] = { "f16", "f32", NULL };
        int c = cli_parse_choice(f, v, k);
        if (c < 0)
            return -CLI_EUSAGE;
        o->infer.kv_type = c == 0 ? INFER_KV_F16 : INFER_KV_F32;
    } else if (!strcmp(f, "--wait")) {
        static const char *const k[] = { "spin", "futex", "hybrid", NULL };
        int c = cli_parse_choice(f, v, k);
        if (c < 0)
            return -CLI_EUSAGE;
        o->infer.wait = (enum pool_wait)pool_wait_from_name(k[c]);
    } else if (!strcmp(f, "--pin")) {
        char err[256];
        int n = pool_parse_cpus(v, o->cpus, SESSION_MAX_CPUS, err, sizeof err);
        if (n <= 0) {
            cli_error(CLI_EUSAGE, "--pin: %s", err);
            return -CLI_EUSAGE;
        }
        o->infer.cpus = o->cpus;
        o->infer.n_cpus = n;
    } else if (!strcmp(f, "--ctx")) {
        if (cli_parse_int(f, v, 1, 1 << 24, &o->infer.n_ctx))
            return -CLI_EUSAGE;
    } else if (!strcmp(f, "--batch")) {
        if (cli_parse_int(f, v, 1, 1 << 16, &o->infer.n_batch))
            return -CLI_EUSAGE;
    } else if (!strcmp(f, "--weights")) {
        int c = cli_parse_choice(f, v, filebuf_kind_names);
        if (c < 0)
            return -CLI_EUSAGE;
        o->weights = (enum filebuf_kind)c;
    }
    return 1;
}

