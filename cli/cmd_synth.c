/* ggperf synth — write a synthetic llama GGUF model with random weights.
 * The work is in modelgen/synth.c; this file parses flags and reports. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/quant.h"
#include "cli/cli.h"
#include "modelgen/synth.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf synth --shape NAME --type TYPE [options] -o FILE.gguf\n"
            "       ggperf synth --list-shapes\n"
            "\n"
            "Write a llama-architecture GGUF v3 model with random weights: the metadata, tensor\n"
            "names, order and per-tensor types llama.cpp's tools write, a SentencePiece-style\n"
            "vocabulary, float weights ~N(0, 0.02) and quantized blocks of the same spread.\n"
            "The bytes depend only on the arguments. The file is written to FILE.tmp.<pid>,\n"
            "synced, then renamed; nothing is left behind on failure or interrupt.\n"
            "\n"
            "options:\n"
            "  --shape NAME     a named shape (--list-shapes); the flags below override it\n"
            "  --type TYPE      %s\n"
            "                   without --pure: llama-quantize's per-tensor mix for that type\n"
            "                   (output.weight Q6_K, the _M recipes' Q6_K attn_v/ffn_down...)\n"
            "  --pure           every matrix has TYPE (llama-quantize --pure)\n"
            "  --tied           no output.weight: the output projection reuses token_embd\n"
            "  --seed N         random seed (default 1)\n"
            "  --name TEXT      general.name (default synth-SHAPE)\n"
            "  --n-embd N  --n-ff N  --n-layer N  --n-head N  --n-head-kv N\n"
            "  --n-vocab N  --n-ctx N  --rope-base X  --rms-eps X\n"
            "                   override one dimension of the shape\n"
            "  -o, --output FILE  where to write\n"
            "  --force          replace FILE if it exists\n"
            "  --dry-run        print the plan (tensors, types, bytes) and write nothing\n"
            "  --list-shapes    print the named shapes and exit\n",
            synth_type_names());
}

static void list_shapes(void)
{
    printf("%-6s %7s %6s %7s %6s %9s %8s %6s  %s\n", "shape", "n_embd", "n_ff", "n_layer", "n_head",
           "n_head_kv", "n_vocab", "n_ctx", "what");
    for (size_t i = 0; synth_shape_at(i); i++) {
        const struct synth_shape *s = synth_shape_at(i);
        printf("%-6s %7" PRId64 " %6" PRId64 " %7" PRId64 " %6" PRId64 " %9" PRId64 " %8" PRId64 " %6" PRId64
               "  %s\n", s->name, s->n_embd, s->n_ff, s->n_layer, s->n_head, s->n_head_kv, s->n_vocab,
               s->n_ctx, s->summary);
    }
}

/* --- progress and interrupts ------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct progress {
    bool show;
    bool ended;  /* the final line was printed */
    double t0, last;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int on_progress(uint64_t done, uint64_t total, void *user)
{
    struct progress *p = user;
    if (p->show && !p->ended) {
        double t = now_s();
        if (t - p->last >= 0.1 || done == total) {
            double el = t - p->t0;
            fprintf(stderr, "\rsynth: %8.1f / %.1f MB (%3.0f%%) %7.1f MB/s", (double)done / 1e6,
                    (double)total / 1e6, total ? 100.0 * (double)done / (double)total : 100.0,
                    el > 0 ? (double)done / 1e6 / el : 0.0);
            if (done == total) {
                fputc('\n', stderr);
                p->ended = true;
            }
            fflush(stderr);
            p->last = t;
        }
    }
    return interrupted ? 1 : 0;
}

/* --- flags --------------------------------------------------------------- */

/* The flag that sets a spec field ("n_head_kv" -> "--n-head-kv"). */
static const char *flag_of_field(const char *field, char *buf, size_t len)
{
    if (strcmp(field, "ftype") == 0)
        return "--type";
    snprintf(buf, len, "--%s", field);
    for (char *c = buf + 2; *c; c++)
        if (*c == '_')
            *c = '-';
    return buf;
}

static void print_plan(const struct synth_plan *p)
{
    printf("%-28s %-6s %16s %12s %12s\n", "tensor", "type", "ne", "offset", "bytes");
    for (uint64_t i = 0; i < p->n_tensors; i++) {
        const struct synth_tensor *t = &p->tensors[i];
        char ne[40];
        if (t->n_dims == 1)
            snprintf(ne, sizeof ne, "%" PRId64, t->ne[0]);
        else
            snprintf(ne, sizeof ne, "%" PRId64 " x %" PRId64, t->ne[0], t->ne[1]);
        printf("%-28s %-6s %16s %12" PRIu64 " %12" PRIu64 "\n", t->name, quant_type_name(t->type), ne,
               t->offset, t->n_bytes);
    }
    printf("file type %s (general.file_type %d, %s%s), %" PRIu64 " tensors, %" PRIu64 " key/value pairs\n",
           synth_ftype_name(p->spec.ftype), p->spec.ftype, synth_ftype_llama_name(p->spec.ftype),
           p->spec.pure ? ", pure" : "", p->n_tensors, p->n_kv);
    printf("metadata %" PRIu64 " bytes, data %" PRIu64 " bytes, file %" PRIu64 " bytes (%.1f MB)\n",
           p->data_offset, p->data_bytes, p->file_bytes, (double)p->file_bytes / 1e6);
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *shape = NULL, *type = NULL, *out = NULL, *name = NULL, *seed_s = NULL;
    bool pure = false, tied = false, force = false, dry_run = false;
    /* Dimension overrides: flag, field, text (NULL when not given). */
    struct {
        const char *flag;
        const char *text;
    } dims[] = {
        { "--n-embd", NULL }, { "--n-ff", NULL }, { "--n-layer", NULL }, { "--n-head", NULL },
        { "--n-head-kv", NULL }, { "--n-vocab", NULL }, { "--n-ctx", NULL }, { "--rope-base", NULL },
        { "--rms-eps", NULL },
    };
    enum { D_EMBD, D_FF, D_LAYER, D_HEAD, D_HEAD_KV, D_VOCAB, D_CTX, D_ROPE, D_EPS, D_COUNT };

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        char flag[32];
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq && (size_t)(eq - a) < sizeof flag) {
            snprintf(flag, sizeof flag, "%.*s", (int)(eq - a), a);
            val = eq + 1;
            a = flag;
        }
        if (strcmp(a, "--list-shapes") == 0) {
            list_shapes();
            return CLI_OK;
        }
        bool takes_value = true;
        const char **dst = NULL;
        if (strcmp(a, "--pure") == 0) pure = true, takes_value = false;
        else if (strcmp(a, "--tied") == 0) tied = true, takes_value = false;
        else if (strcmp(a, "--force") == 0) force = true, takes_value = false;
        else if (strcmp(a, "--dry-run") == 0) dry_run = true, takes_value = false;
        else if (strcmp(a, "--shape") == 0) dst = &shape;
        else if (strcmp(a, "--type") == 0) dst = &type;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) dst = &out;
        else if (strcmp(a, "--name") == 0) dst = &name;
        else if (strcmp(a, "--seed") == 0) dst = &seed_s;
        else {
            for (int d = 0; d < D_COUNT && !dst; d++)
                if (strcmp(a, dims[d].flag) == 0)
                    dst = &dims[d].text;
            if (!dst)
                return cli_error(CLI_EUSAGE, "synth: unknown option '%s' (ggperf synth --help lists them)", argv[i]);
        }
        if (!takes_value) {
            if (val)
                return cli_error(CLI_EUSAGE, "synth: %s takes no value", a);
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return cli_error(CLI_EUSAGE, "synth: %s needs a value", a);
            val = argv[++i];
        }
        *dst = val;
    }

    if (!shape)
        return cli_error(CLI_EUSAGE, "synth: --shape is required (ggperf synth --list-shapes lists them)");
    struct synth_spec spec;
    if (synth_shape_find(shape, &spec) != SYNTH_OK) {
        fprintf(stderr, "ggperf: --shape: '%s' is not one of", shape);
        for (size_t i = 0; synth_shape_at(i); i++)
            fprintf(stderr, "%s%s", i ? "|" : " ", synth_shape_at(i)->name);
        fputc('\n', stderr);
        return CLI_EUSAGE;
    }
    if (!type)
        return cli_error(CLI_EUSAGE, "synth: --type is required (one of: %s)", synth_type_names());
    spec.ftype = synth_ftype_from_name(type, pure);
    if (spec.ftype < 0)
        return cli_error(CLI_EUSAGE, "--type: '%s' is not one of: %s", type, synth_type_names());
    spec.pure = pure;
    spec.tied = tied;
    if (name) {
        if (strlen(name) == 0 || strlen(name) >= sizeof spec.name)
            return cli_error(CLI_EUSAGE, "--name: must be 1..%zu bytes", sizeof spec.name - 1);
        snprintf(spec.name, sizeof spec.name, "%s", name);
    }
    if (seed_s && cli_parse_u64("--seed", seed_s, 0, UINT64_MAX, &spec.seed) != 0)
        return CLI_EUSAGE;
    int64_t *ifields[] = { &spec.n_embd, &spec.n_ff, &spec.n_layer, &spec.n_head, &spec.n_head_kv,
                           &spec.n_vocab, &spec.n_ctx };
    for (int d = 0; d < D_ROPE; d++)
        if (dims[d].text && cli_parse_i64(dims[d].flag, dims[d].text, 1, INT32_MAX, ifields[d]) != 0)
            return CLI_EUSAGE;
    double v;
    if (dims[D_ROPE].text) {
        if (cli_parse_double("--rope-base", dims[D_ROPE].text, 1e-3, 1e12, &v) != 0)
            return CLI_EUSAGE;
        spec.rope_base = (float)v;
    }
    if (dims[D_EPS].text) {
        if (cli_parse_double("--rms-eps", dims[D_EPS].text, 1e-12, 0.5, &v) != 0)
            return CLI_EUSAGE;
        spec.rms_eps = (float)v;
    }
    char err[512], flagbuf[40];
    const char *field = NULL;
    if (synth_spec_check(&spec, &field, err, sizeof err) != SYNTH_OK)
        return cli_error(CLI_EUSAGE, "%s: %s", flag_of_field(field ? field : "shape", flagbuf, sizeof flagbuf), err);

    if (dry_run) {
        struct synth_plan *plan = NULL;
        int rc = synth_plan_new(&spec, &plan, err, sizeof err);
        if (rc != SYNTH_OK)
            return cli_error(CLI_EFAIL, "synth: %s", err);
        print_plan(plan);
        synth_plan_free(plan);
        return CLI_OK;
    }
    if (!out)
        return cli_error(CLI_EUSAGE, "synth: -o FILE is required");

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    struct progress prog = { .show = cli_stderr_is_tty() };
    prog.t0 = prog.last = now_s();
    int rc = synth_write(&spec, out, force ? SYNTH_FORCE : 0, on_progress, &prog, err, sizeof err);
    double el = now_s() - prog.t0;

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (prog.show && !prog.ended && rc != SYNTH_OK)
        fputc('\n', stderr);

    switch (rc) {
    case SYNTH_OK:
        break;
    case SYNTH_EEXIST:
        return cli_error(CLI_EFAIL, "synth: %s (use --force to replace it)", err);
    case SYNTH_ECANCELED:
        return cli_error(CLI_EFAIL, "synth: interrupted: %s; %s left as it was", err, out);
    default:
        return cli_error(CLI_EFAIL, "synth: %s", err);
    }
    struct synth_plan *plan = NULL;
    if (synth_plan_new(&spec, &plan, err, sizeof err) != SYNTH_OK)
        return cli_error(CLI_EFAIL, "synth: %s", err);
    printf("wrote %s: %" PRIu64 " bytes (%.1f MB), %" PRIu64 " tensors, %s%s (general.file_type %d), "
           "seed %" PRIu64 ", %.2f s, %.0f MB/s\n",
           out, plan->file_bytes, (double)plan->file_bytes / 1e6, plan->n_tensors,
           synth_ftype_name(spec.ftype), spec.pure ? " pure" : "", spec.ftype, spec.seed, el,
           el > 0 ? (double)plan->file_bytes / 1e6 / el : 0.0);
    synth_plan_free(plan);
    return CLI_OK;
}

const struct cli_cmd cmd_synth = { "synth", "write a synthetic llama GGUF model with random weights", run };
