/* cli — the ggperf command table and the strict argument parsing every
 * subcommand shares.
 *
 * Exit codes of every subcommand: 0 success, 1 a bad input file or a failed
 * run (one-line error on stderr), 2 a usage error (the message names the
 * flag and the allowed values).
 */
#ifndef GGPERF_HARNESS_CLI_H
#define GGPERF_HARNESS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { CLI_OK = 0, CLI_EFAIL = 1, CLI_EUSAGE = 2 };

struct cli_cmd {
    const char *name;
    const char *summary;   /* one line for `ggperf help` */
    int (*run)(int argc, char **argv);  /* argv[0] is the subcommand name */
};

/* Every subcommand, in the order `ggperf help` lists them. */
extern const struct cli_cmd *const cli_commands[];

/* The name of predefined study i (cmd_study.c), NULL past the end: the
 * completion script lists them from here. */
const char *cmd_study_name_at(size_t i);

/* Print the list of subcommands (ggperf help). */
void cli_print_help(FILE *f);

/* Print "ggperf: " + message + newline to stderr; returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when argv contains --help or -h (before any "--"). */
bool cli_wants_help(int argc, char **argv);

/* Strict number parsing: the whole string must be a number within
 * [lo, hi]. On failure print "ggperf: FLAG: 'TEXT' is not ... (allowed
 * LO..HI)" and return CLI_EUSAGE; else 0. */
int cli_parse_i64(const char *flag, const char *text, int64_t lo, int64_t hi, int64_t *out);
int cli_parse_u64(const char *flag, const char *text, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_parse_int(const char *flag, const char *text, int lo, int hi, int *out);
int cli_parse_double(const char *flag, const char *text, double lo, double hi, double *out);

/* Parse a comma list of integers ("1,2,4") into out[0..max). Returns the
 * count, or -CLI_EUSAGE after printing the error. */
int cli_parse_int_list(const char *flag, const char *text, int lo, int hi, int *out, int max);

/* Match text against a NULL-terminated list of allowed words; returns the
 * index, or prints "FLAG: 'x' is not one of a|b|c" and returns -CLI_EUSAGE. */
int cli_parse_choice(const char *flag, const char *text, const char *const *allowed);

/* Whether a file can be created at path, checked before any long work:
 * path is not a directory and a file can be made (and is removed again) in
 * its directory, which is where an atomic write puts its temporary file.
 * Prints "ggperf: FLAG PATH: why" and returns CLI_EUSAGE; else 0. Whether
 * an existing file may be replaced is the caller's decision. */
int cli_check_writable(const char *flag, const char *path);

/* Output files ggperf wrote, remembered in the cache directory
 * (outputs-written.tsv: device, inode, size, mtime, ctime, real path) so
 * that a later run may replace its own output without --force while a
 * file ggperf did not write, or one changed since, is still refused.
 * cli_output_mark records path as just written (call after it is complete
 * and renamed into place; failures are ignored: it only costs a --force);
 * cli_output_is_ours says whether path is such a file, unchanged. */
void cli_output_mark(const char *path);
bool cli_output_is_ours(const char *path);

/* --cache-geometry GEOM: check GEOM (cpuinfo_caches_parse) and put it in this
 * process's $GGPERF_CACHE_GEOMETRY, where the cache simulator, the probe
 * and the environment capture (and every child they start) take the
 * geometry from, with source "user". Returns 0, or prints the parse error
 * naming the flag and returns CLI_EUSAGE. */
int cli_cache_flag(const char *flag, const char *geom);

/* True when stdout (fd 1) / stderr is a terminal: progress only then. */
bool cli_stdout_is_tty(void);
bool cli_stderr_is_tty(void);

/* The default stream of a sweep of workload wl: ggperf-results/WL-STAMP-PID.jsonl
 * in the current directory (made if missing). Returns 0, or -1 (errno set). */
int cli_default_stream(const char *wl, char *buf, size_t len);

#endif
