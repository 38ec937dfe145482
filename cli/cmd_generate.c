/* ggperf generate — text from a prompt: SentencePiece tokenizer from the
 * model's vocabulary, greedy or sampled decoding, tokens printed as they
 * come, timings at the end (on stderr, so stdout is only the text). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sampler.h"
#include "engine/tokenizer.h"
#include "cli/cli.h"
#include "harness/machine/sysfs.h"
#include "harness/machine/clock.h"
#include "cli/engine_flags.h"
#include "cli/sigbus.h"
#include "harness/run/session.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf generate -m MODEL -p TEXT [-n N] [--seed S] [--temp T] [--top-p P] [--top-k K] [engine flags]\n\n"
               "Generate N tokens after the prompt (default 32); prompt + N must fit in the\n"
               "context (--ctx, default the model's, at most 4096). --temp 0 (default) is greedy;\n"
               "otherwise tokens are sampled with the seed (default 42). Timings go to stderr.\n\n"
               "engine flags:\n%s",
            cli_engine_flags_help());
}

/* The context infer_new gives when asked for none (engine/infer.h). */
static int generate_default_ctx(const struct model_hparams *hp)
{
    return hp->n_ctx_train > 0 && hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct session_opts so;
    session_opts_init(&so);
    const char *prompt = NULL;
    int n_gen = 32;
    struct sampler_opts sopt = { .temp = 0.0f, .top_p = 1.0f, .top_k = 0, .seed = 42 };
    for (int i = 1; i < argc; i++) {
        int r = cli_engine_flag(&so, argc, argv, &i);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        const char *f = argv[i];
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "%s: unknown flag or missing value (ggperf generate --help)", f);
        const char *v = argv[++i];
        double d;
        uint64_t u;
        if (!strcmp(f, "-p") || !strcmp(f, "--prompt")) {
            prompt = v;
        } else if (!strcmp(f, "-n")) {
            if (cli_parse_int(f, v, 1, 1 << 20, &n_gen))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--seed")) {
            if (cli_parse_u64(f, v, 0, UINT64_MAX, &u))
                return CLI_EUSAGE;
            sopt.seed = u;
        } else if (!strcmp(f, "--temp")) {
            if (cli_parse_double(f, v, 0, 100, &d))
                return CLI_EUSAGE;
            sopt.temp = (float)d;
        } else if (!strcmp(f, "--top-p")) {
            if (cli_parse_double(f, v, 0, 1, &d))
                return CLI_EUSAGE;
            sopt.top_p = (float)d;
        } else if (!strcmp(f, "--top-k")) {
            if (cli_parse_int(f, v, 0, 1 << 24, &sopt.top_k))
                return CLI_EUSAGE;
        } else {
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf generate --help)", f);
        }
    }
    if (!so.model_path)
        return cli_error(CLI_EUSAGE, "-m MODEL is required");
    if (!prompt)
        return cli_error(CLI_EUSAGE, "-p TEXT is required");

    struct session s;
    char err[1024];
    int rc = CLI_EFAIL;
    struct tok *tk = NULL;
    struct sampler *sm = NULL;
    int32_t *ids = NULL;
    char *piece = NULL;
    if (session_open(&s, &so, false, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "%s", err);
    cli_guard_session(&s, so.model_path); /* a file truncated under us: one line, exit 1 */
    tk = tok_new(&s.g, NULL, NULL, err, sizeof err);
    if (!tk) {
        cli_error(CLI_EFAIL, "%s: %s", so.model_path, err);
        goto done;
    }
    size_t plen = strlen(prompt);
    int cap = (int)(3 * plen + 8);
    ids = malloc(sizeof(int32_t) * (size_t)cap);
    if (!ids) {
        cli_error(CLI_EFAIL, "out of memory");
        goto done;
    }
    int n_prompt = tok_encode(tk, prompt, plen, tok_add_bos(tk), ids, cap);
    if (n_prompt < 0 || n_prompt > cap) {
        cli_error(CLI_EFAIL, "cannot tokenize the prompt (%d)", n_prompt);
        goto done;
    }
    /* One rule: prompt + -n must fit in the context, which is --ctx when
     * given, else the engine's default (the model's context, at most 4096,
     * as the engine flags' help says). Without --ctx the KV cache is sized
     * to what is needed, not to the whole context. Refused before anything
     * big is allocated. */
    int need_ctx = n_prompt + n_gen;
    bool ctx_given = so.infer.n_ctx > 0;
    int ctx_limit = ctx_given ? so.infer.n_ctx : generate_default_ctx(&s.m.hp);
    if (need_ctx > ctx_limit) {
        if (ctx_given)
            cli_error(CLI_EUSAGE, "-n %d: prompt (%d tokens) + %d tokens need %d positions, more than --ctx %d",
                      n_gen, n_prompt, n_gen, need_ctx, ctx_limit);
        else
            cli_error(CLI_EUSAGE, "-n %d: prompt (%d tokens) + %d tokens need %d positions, more than the model's "
                      "context of %d (--ctx N sets another)", n_gen, n_prompt, n_gen, need_ctx, ctx_limit);
        rc = CLI_EUSAGE;
        goto done;
    }
    if (!ctx_given)
        so.infer.n_ctx = need_ctx;
    uint64_t kv = infer_kv_bytes(&s.m.hp, so.infer.n_ctx, so.infer.kv_type, so.infer.kv_pad);
    uint64_t avail = sysfs_mem_available();
    if (avail && kv > avail) {
        cli_error(CLI_EFAIL, "a KV cache for %d positions needs %" PRIu64 " bytes, more than the %" PRIu64
                             " bytes of memory available",
                  so.infer.n_ctx, kv, avail);
        goto done;
    }
    if (infer_new(&s.ctx, &s.m, &so.infer, err, sizeof err) != INFER_OK) {
        cli_error(CLI_EFAIL, "%s: %s", so.model_path, err);
        goto done;
    }
    sm = sampler_new(s.m.hp.n_vocab, &sopt, NULL, err, sizeof err);
    if (!sm) {
        cli_error(CLI_EFAIL, "sampler: %s", err);
        goto done;
    }
    for (int i = 0; i < n_prompt; i++)
        sampler_accept(sm, ids[i]);
    piece = malloc(4096);
    fwrite(prompt, 1, plen, stdout);
    fflush(stdout);
    uint64_t t0 = clock_ns();
    if (infer_eval(s.ctx, ids, n_prompt, NULL, err, sizeof err) != INFER_OK) {
        cli_error(CLI_EFAIL, "%s", err);
        goto done;
    }
    uint64_t t1 = clock_ns();
    int generated = 0;
    for (; generated < n_gen; generated++) {
        int32_t next = sampler_sample(sm, infer_logits(s.ctx));
        if (next < 0) {
            cli_error(CLI_EFAIL, "sampling failed: logits are all NaN");
            goto done;
        }
        if (next == tok_eos(tk))
            break;
        int len = tok_decode(tk, next, piece, 4096);
        if (len > 0)
            fwrite(piece, 1, (size_t)(len < 4096 ? len : 4096), stdout);
        fflush(stdout);
        if (generated + 1 < n_gen && infer_eval(s.ctx, &next, 1, NULL, err, sizeof err) != INFER_OK) {
            cli_error(CLI_EFAIL, "%s", err);
            goto done;
        }
    }
    uint64_t t2 = clock_ns();
    putchar('\n');
    fprintf(stderr, "prompt: %d tokens in %.1f ms (%.2f t/s); generated: %d tokens in %.1f ms (%.2f t/s); kernels %s\n",
            n_prompt, (t1 - t0) / 1e6, n_prompt / clock_seconds(t0, t1), generated, (t2 - t1) / 1e6,
            generated ? generated / clock_seconds(t1, t2) : 0.0, quant_isa_name(infer_kernels(s.ctx)->isa));
    rc = CLI_OK;
done:
    free(piece);
    free(ids);
    sampler_free(sm);
    tok_free(tk);
    session_close(&s);
    return rc;
}

const struct cli_cmd cmd_generate = { "generate", "generate text from a prompt", run };
