/* gguf_util.h — what the gguf suites share (tests/test_gguf*.c): an open
 * over an exact-size heap copy (so ASan sees any read past the end) with
 * caller-provided index storage, and expect_fail, which asserts the
 * specific code and message of a refused file. Header-only and static
 * inline, so each suite keeps its own copy, as when the suites were one
 * file, and one that does not use a helper gets no warning for it. */
#ifndef GGPERF_TESTS_GGUF_UTIL_H
#define GGPERF_TESTS_GGUF_UTIL_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "tests/gguf_fixture.h"

/* An open over an exact-size copy with caller-provided index storage. */
struct opened {
    struct gguf g;
    void *copy;
    void *store;
    int rc;
    char err[512];
};

static inline int open_copy(struct opened *o, const void *data, size_t len)
{
    memset(o, 0, sizeof *o);
    o->copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(o->copy);
    if (len)
        memcpy(o->copy, data, len);
    size_t ib = gguf_index_bytes(o->copy, len);
    o->store = ib ? malloc(ib) : NULL;
    o->rc = gguf_open(&o->g, o->copy, len, o->store, ib, o->err, sizeof o->err);
    return o->rc;
}

static inline void close_copy(struct opened *o)
{
    gguf_close(&o->g);
    free(o->copy);
    free(o->store);
}

/* Open b; expect code and a message containing s1 and s2 (either may be NULL). */
static inline void expect_fail_at(const struct gfx *b, int code, const char *s1, const char *s2, int line)
{
    struct opened o;
    int rc = open_copy(&o, b->buf, b->len);
    ck_assert_msg(rc == code, "line %d: expected %s (%d), got %s (%d): %s", line,
                  gguf_status_name(code), code, gguf_status_name(rc), rc, o.err);
    ck_assert_msg(o.err[0] != '\0', "line %d: empty message", line);
    ck_assert_msg(strchr(o.err, '\n') == NULL, "line %d: message has a newline: %s", line, o.err);
    ck_assert_msg(!s1 || strstr(o.err, s1), "line %d: message lacks '%s': %s", line, s1, o.err);
    ck_assert_msg(!s2 || strstr(o.err, s2), "line %d: message lacks '%s': %s", line, s2, o.err);
    ck_assert_ptr_null(o.g.index);
    close_copy(&o);
}
#define expect_fail(b, code, s1, s2) expect_fail_at(b, code, s1, s2, __LINE__)

#endif
