/* engine_flags — parse the flags every model-running subcommand shares
 * (-m, -t, --kernels, --kv, --wait, --pin, --ctx, --batch, --weights) into
 * session_opts. */
#ifndef GGPERF_CLI_ENGINE_FLAGS_H
#define GGPERF_CLI_ENGINE_FLAGS_H

#include "harness/run/session.h"

/* Try one flag (argv[*i]), consuming its value (argv[*i + 1]) when it has
 * one. Returns 1 when handled, 0 when the flag is not an engine flag,
 * -CLI_EUSAGE after printing the error. */
int cli_engine_flag(struct session_opts *o, int argc, char **argv, int *i);

/* Help text for the engine flags. */
const char *cli_engine_flags_help(void);

#endif
