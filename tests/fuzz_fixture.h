/* fuzz_fixture — the fuzz targets' inputs as test cases.
 *
 * Every finding of scripts/fuzz.sh becomes a file in fuzz/regress/TARGET/;
 * the harden_fuzz_* suites feed each of those and each seed in
 * fuzz/seeds/TARGET/ through the target's own LLVMFuzzerTestOneInput (the
 * target's .c file is compiled into the suite under another name), one
 * Check loop iteration per file, so a crash fails that file's iteration and
 * names it. Paths are relative to the repository root (where make test
 * runs), or to $GGPERF_FUZZ_DIR when set. */
#ifndef GGPERF_TESTS_FUZZ_FIXTURE_H
#define GGPERF_TESTS_FUZZ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#define FZX_MAX_INPUTS 512

/* The input files of target (regress first, then seeds), sorted by name
 * within each directory; cached after the first call. Returns the count
 * (at most FZX_MAX_INPUTS). */
int fzx_inputs(const char *target, const char *const **paths);

/* Read path and call entry(data, size) once; prints the path first so a
 * crash in the log names the input. Returns entry's value, or -1 when the
 * file cannot be read. */
int fzx_run(const char *path, int (*entry)(const uint8_t *data, size_t size));

#endif
