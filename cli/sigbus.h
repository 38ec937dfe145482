/* sigbus — SIGBUS on a guarded model mapping becomes one line and exit 1. */
#ifndef GGPERF_CLI_SIGBUS_H
#define GGPERF_CLI_SIGBUS_H

#include <stddef.h>

#include "harness/run/session.h"

/* For the CLI: turn a SIGBUS on bytes [map, map + bytes) -- the file behind
 * the mapping was truncated or rewritten by another process, or a page of
 * it could not be read -- into one line on stderr,
 *   ggperf: PATH: the file changed while mapped (SIGBUS reading byte N of
 *   the M mapped; the file now has K bytes): was it truncated or rewritten
 *   by another process?
 * and exit status 1, instead of "Bus error" and a core. fd (may be -1) is
 * the open file, for its size now. A SIGBUS anywhere else keeps the default
 * action. One mapping is guarded at a time: a later call replaces the
 * earlier; map NULL ends the guard. The handler ends the process, so
 * library code and workloads (whose isolated repetitions report the signal
 * itself) do not install it. path is copied (up to PATH_MAX bytes). */
void cli_guard_mapping(const char *path, int fd, const void *map, size_t bytes);

/* cli_guard_mapping of an open session's file. */
void cli_guard_session(const struct session *s, const char *path);

#endif
