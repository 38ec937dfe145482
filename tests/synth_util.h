/* synth_util.h — what the synth suites share (tests/test_synth*.c):
 * loading a GGUF file with the engine's reader, the tiny spec of a type,
 * writing a model that must succeed, no temporary file left, and key
 * lookups. Header-only and static inline, so each suite keeps its own
 * copy, as when the suites were one file, and one that does not use a
 * helper gets no warning for it. */
#ifndef GGPERF_TESTS_SYNTH_UTIL_H
#define GGPERF_TESTS_SYNTH_UTIL_H

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "modelgen/synth.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------ */
/* helpers                                                              */

struct loaded {
    void *buf;
    size_t len;
    struct gguf g;
};

static inline void load(struct loaded *l, const char *path)
{
    char err[512];
    l->buf = tu_read_file(path, &l->len);
    ck_assert_msg(l->buf != NULL, "cannot read %s", path);
    int rc = gguf_open_alloc(&l->g, l->buf, l->len, err, sizeof err);
    ck_assert_msg(rc == GGUF_OK, "%s: %s", path, err);
}

static inline void unload(struct loaded *l)
{
    gguf_close(&l->g);
    free(l->buf);
}

static inline void tiny_spec(struct synth_spec *s, const char *type, bool pure)
{
    ck_assert_int_eq(synth_shape_find("tiny", s), SYNTH_OK);
    s->ftype = synth_ftype_from_name(type, pure);
    ck_assert_msg(s->ftype >= 0, "type %s", type);
    s->pure = pure;
}

static inline void write_ok(const struct synth_spec *s, const char *path, unsigned flags)
{
    char err[512];
    int rc = synth_write(s, path, flags, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == SYNTH_OK, "synth_write %s: %d %s", path, rc, err);
}

/* No "*.tmp.*" file in dir. */
static inline void assert_no_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        ck_assert_msg(strstr(e->d_name, ".tmp.") == NULL, "temporary file left: %s/%s", dir, e->d_name);
    closedir(d);
}

static inline bool str_is(struct gguf_str s, const char *c)
{
    return gguf_str_eq(s, c);
}

static inline uint64_t get_u64(const struct gguf *g, const char *key)
{
    uint64_t v = 0;
    char err[256];
    ck_assert_msg(gguf_get_u64(g, key, &v, err, sizeof err) == GGUF_OK, "%s: %s", key, err);
    return v;
}

#endif
