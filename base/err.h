/* err — the one error-message helper: fill a caller's message buffer and
 * return a code, the way every library module reports failure (STYLE.md:
 * library code returns a code and fills a message buffer; it never prints).
 *
 * Header-only and libc-only on purpose: base/ is the one folder every layer
 * may include, the engine too, so it must add no object file, no library and
 * no include of ours (scripts/check-layering.sh enforces both). A NULL err
 * or a zero err_len is allowed: the message is then dropped. */
#ifndef GGPERF_BASE_ERR_H
#define GGPERF_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Format into err[0..err_len) (truncating), or do nothing without a buffer. */
static inline void err_vset(char *err, size_t err_len, const char *fmt, va_list ap)
{
    if (err && err_len)
        vsnprintf(err, err_len, fmt, ap);
}

static inline void err_set(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void err_set(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, err_len, fmt, ap);
    va_end(ap);
}

/* err_set, then return code: `return err_fail(err, err_len, X_EIO, "...")`. */
static inline int err_fail(char *err, size_t err_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int err_fail(char *err, size_t err_len, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, err_len, fmt, ap);
    va_end(ap);
    return code;
}

#endif
