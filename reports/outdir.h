/* outdir — the one directory a report is written into, and the promise
 * that nothing else is touched.
 *
 * A report directory holds a manifest, DIR/.ggperf-report, listing every
 * file ggperf wrote there (one name a line after a "# ggperf report
 * manifest v1" line). Before anything is written the caller declares the
 * full list of names (outdir_plan): a name that exists in DIR but is not in
 * the manifest is someone else's file and the plan is refused (unless
 * force), so a refusal leaves the directory as it was. Names are single
 * path components of [A-Za-z0-9._-] (no "..", no leading dot): nothing is
 * ever written outside DIR. Files are written to a temporary name and
 * renamed into place, which also replaces a symbolic link instead of
 * writing through it. At outdir_close the manifest is rewritten and files
 * of an earlier report that this one did not write again (stale plots) are
 * removed.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_OUTDIR_H
#define GGPERF_REPORTS_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OUTDIR_MANIFEST ".ggperf-report"

enum outdir_status {
    OUTDIR_OK = 0,
    OUTDIR_EIO = -1,      /* mkdir/open/write/rename failed (message has errno text) */
    OUTDIR_EEXIST = -2,   /* a file not written by ggperf is in the way (name given) */
    OUTDIR_EINVAL = -3,   /* a name that is not one safe path component, or not planned */
    OUTDIR_ENOMEM = -4,
};

struct outdir;

/* Open (creating it, not its parents, when missing) the directory path.
 * path must be a directory or not exist. Returns 0 or a negative code. */
int outdir_open(struct outdir **out, const char *path, bool force, char *err, size_t err_len);

/* Declare every name this report will write. Refused (OUTDIR_EEXIST,
 * nothing touched) when one exists and is not in the manifest and force is
 * off. Earlier outputs of ggperf with these names are removed, so programs
 * that write them (gnuplot) start from nothing. */
int outdir_plan(struct outdir *d, const char *const *names, size_t n, char *err, size_t err_len);

/* A new file for planned name: a temporary beside it, opened for writing.
 * Returns NULL with a message on failure. Finish with outdir_commit. */
FILE *outdir_create(struct outdir *d, const char *name, char *err, size_t err_len);

/* Flush and close f (from outdir_create) and rename it to name. On
 * failure the temporary is removed. */
int outdir_commit(struct outdir *d, FILE *f, const char *name, char *err, size_t err_len);

/* Drop f (from outdir_create) without publishing it. */
void outdir_discard(struct outdir *d, FILE *f, const char *name);

/* The directory's path as opened, and an O_DIRECTORY descriptor of it
 * (borrowed: valid until outdir_close), for running programs inside it. */
const char *outdir_path(const struct outdir *d);
int outdir_fd(const struct outdir *d);

/* True when name was planned (safe to read back or have a program write). */
bool outdir_planned(const struct outdir *d, const char *name);

/* True when name is one path component of [A-Za-z0-9._-], not starting
 * with a dot, at most 128 bytes. */
bool outdir_name_ok(const char *name);

/* Write the manifest (the planned names), remove stale files of the
 * previous manifest, and free d. NULL does nothing. Returns 0 or the first
 * error (d is freed either way). */
int outdir_close(struct outdir *d, char *err, size_t err_len);

#endif
