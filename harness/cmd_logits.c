/* ggperf logits — the conformance interface: evaluate token ids from an
 * empty cache and write every position's logits as little-endian float32,
 * row-major [n_tokens][n_vocab]. Keep it stable: tests and outside checks
 * use it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/session.h"

#define MAX_TOKENS 65536

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf logits -m MODEL --tokens ID,ID,... [--mode batch|decode] [-o OUT.f32] [engine flags]\n\n"
               "Evaluate the token ids from an empty KV cache and write the logits of every\n"
               "position as little-endian float32, row-major [n_tokens][n_vocab].\n"
               "  --mode batch    all tokens in one pass (default)\n"
               "  --mode decode   one token at a time through the KV cache\n"
               "  -o FILE         output file (default: stdout)\n"
               "Exit: 0 ok, 1 bad model or token id, 2 usage error.\n\nengine flags:\n%s",
            session_flags_help());
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct session_opts so;
    session_opts_init(&so);
    const char *tokens_arg = NULL, *out_path = NULL;
    int mode = 0;
    for (int i = 1; i < argc; i++) {
        int r = session_parse_flag(&so, argc, argv, &i);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        const char *f = argv[i];
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "%s: unknown flag or missing value (ggperf logits --help)", f);
        if (!strcmp(f, "--tokens")) {
            tokens_arg = argv[++i];
        } else if (!strcmp(f, "-o") || !strcmp(f, "--out")) {
            out_path = argv[++i];
        } else if (!strcmp(f, "--mode")) {
            static const char *const modes[] = { "batch", "decode", NULL };
            if ((mode = cli_parse_choice(f, argv[++i], modes)) < 0)
                return CLI_EUSAGE;
        } else {
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf logits --help)", f);
        }
    }
    if (!so.model_path)
        return cli_error(CLI_EUSAGE, "-m MODEL is required");
    if (!tokens_arg)
        return cli_error(CLI_EUSAGE, "--tokens is required");
    int *ids = malloc(sizeof(int) * MAX_TOKENS);
    if (!ids)
        return cli_error(CLI_EFAIL, "out of memory");
    int n = cli_parse_int_list("--tokens", tokens_arg, 0, 1 << 30, ids, MAX_TOKENS);
    if (n <= 0) {
        free(ids);
        return CLI_EUSAGE;
    }
    if (so.infer.n_ctx == 0)
        so.infer.n_ctx = n;
    else if (so.infer.n_ctx < n) {
        free(ids);
        return cli_error(CLI_EUSAGE, "--ctx %d is smaller than the %d tokens", so.infer.n_ctx, n);
    }

    struct session s;
    char err[1024];
    int rc = CLI_EFAIL;
    float *logits = NULL;
    FILE *out = NULL;
    if (session_open(&s, &so, true, err, sizeof err) != 0) {
        cli_error(CLI_EFAIL, "%s", err);
        goto done;
    }
    int n_vocab = s.m.hp.n_vocab;
    for (int i = 0; i < n; i++)
        if (ids[i] >= n_vocab) {
            cli_error(CLI_EFAIL, "token id %d (position %d) is outside the vocabulary of %s (0..%d)", ids[i], i,
                      so.model_path, n_vocab - 1);
            goto done;
        }
    logits = malloc(sizeof(float) * (size_t)n * (size_t)n_vocab);
    if (!logits) {
        cli_error(CLI_EFAIL, "out of memory for %d x %d logits", n, n_vocab);
        goto done;
    }
    int32_t *toks = (int32_t *)ids; /* int and int32_t are the same here */
    if (mode == 0) {
        if (infer_eval(s.ctx, toks, n, logits, err, sizeof err) != INFER_OK) {
            cli_error(CLI_EFAIL, "%s", err);
            goto done;
        }
    } else {
        for (int i = 0; i < n; i++) {
            if (infer_eval(s.ctx, toks + i, 1, logits + (size_t)i * n_vocab, err, sizeof err) != INFER_OK) {
                cli_error(CLI_EFAIL, "%s", err);
                goto done;
            }
        }
    }
    out = out_path ? fopen(out_path, "wb") : stdout;
    if (!out) {
        cli_error(CLI_EFAIL, "%s: %s", out_path, strerror(errno));
        goto done;
    }
    size_t count = (size_t)n * n_vocab;
    if (fwrite(logits, sizeof(float), count, out) != count || fflush(out) != 0) {
        cli_error(CLI_EFAIL, "%s: write failed: %s", out_path ? out_path : "stdout", strerror(errno));
        goto done;
    }
    rc = CLI_OK;
done:
    if (out && out != stdout && fclose(out) != 0 && rc == CLI_OK)
        rc = cli_error(CLI_EFAIL, "%s: %s", out_path, strerror(errno));
    free(logits);
    free(ids);
    session_close(&s);
    return rc;
}

const struct cli_cmd cmd_logits = { "logits", "evaluate token ids and write the logits of every position", run };
