/* synth_writer suite: the streaming GGUF writer (modelgen/gguf_writer.c)
 * that synth writes models with: counting mode agreeing with a real
 * write, sticky errors, deferred magic, a full disk via /dev/full. Split
 * from the synth suite (tests/test_synth.c). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/quant.h"
#include "modelgen/gguf_writer.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------ */
/* the writer                                                           */

static void emit_small(struct gguf_writer *w)
{
    const int64_t ne[2] = { 32, 2 };
    gguf_writer_header(w, 1, 3);
    gguf_writer_kv_str(w, "general.architecture", "llama");
    gguf_writer_kv_arr_begin(w, "a", GGUF_WRITER_STRING, 2);
    gguf_writer_arr_str(w, "x", 1);
    gguf_writer_arr_str(w, "yz", 2);
    gguf_writer_kv_f32(w, "f", 1.5f);
    gguf_writer_tensor_info(w, "t", 2, ne, QT_F32, 0);
    gguf_writer_pad(w, 32);
}

START_TEST(test_writer)
{
    /* Counting mode and a real write agree; the file opens. */
    struct gguf_writer c;
    gguf_writer_init(&c, -1, NULL, 0, 0);
    emit_small(&c);
    gguf_writer_reserve(&c, 256);
    ck_assert_int_eq(gguf_writer_finish(&c, false), GGUF_WRITER_OK);

    const char *dir = tu_tmpdir();
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/w.gguf", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    uint8_t buf[64]; /* the smallest buffer: many flushes */
    struct gguf_writer w;
    gguf_writer_init(&w, fd, buf, sizeof buf, GGUF_WRITER_DEFER_MAGIC);
    emit_small(&w);
    float data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (float)i;
    ck_assert_int_eq(gguf_writer_write(&w, data, sizeof data), GGUF_WRITER_OK);
    ck_assert_int_eq(gguf_writer_flush(&w), GGUF_WRITER_OK);
    char magic[4];
    ck_assert_int_eq(pread(fd, magic, 4, 0), 4);
    ck_assert_msg(memcmp(magic, "\0\0\0\0", 4) == 0, "magic written before finish");
    ck_assert_int_eq(gguf_writer_finish(&w, true), GGUF_WRITER_OK);
    ck_assert_uint_eq(w.offset, c.offset);
    close(fd);
    size_t len;
    uint8_t *file = tu_read_file(path, &len);
    ck_assert_uint_eq(len, c.offset);
    struct gguf g;
    ck_assert_int_eq(gguf_open_alloc(&g, file, len, err, sizeof err), GGUF_OK);
    const struct gguf_tensor *t = gguf_find_tensor(&g, "t");
    ck_assert(t && t->n_bytes == 256 && memcmp(t->data, data, 256) == 0);
    float f;
    ck_assert_int_eq(gguf_get_f32(&g, "f", &f, NULL, 0), GGUF_OK);
    ck_assert(f == 1.5f);
    gguf_close(&g);
    free(file);
    unlink(path);
    rmdir(dir);

    /* Sticky errors: the first one wins, later calls do nothing. */
    gguf_writer_init(&c, -1, NULL, 0, 0);
    gguf_writer_header(&c, 0, 1);
    gguf_writer_kv_u32(&c, "a", 1);
    uint64_t off = c.offset;
    ck_assert_int_eq(gguf_writer_kv_u32(&c, "b", 2), GGUF_WRITER_EINVAL);
    ck_assert_msg(strstr(c.err, "'b'") != NULL, "%s", c.err);
    ck_assert_int_eq(gguf_writer_kv_u32(&c, "c", 3), GGUF_WRITER_EINVAL);
    ck_assert_msg(strstr(c.err, "'b'") != NULL, "first error kept: %s", c.err);
    ck_assert_uint_eq(c.offset, off);

    /* Missing pairs and arrays left short are reported at finish. */
    gguf_writer_init(&c, -1, NULL, 0, 0);
    gguf_writer_header(&c, 0, 2);
    gguf_writer_kv_arr_begin(&c, "a", GGUF_WRITER_INT32, 3);
    gguf_writer_arr_i32(&c, 1);
    ck_assert_int_eq(gguf_writer_finish(&c, false), GGUF_WRITER_EINVAL);
    gguf_writer_init(&c, -1, NULL, 0, 0);
    gguf_writer_header(&c, 0, 1);
    ck_assert_int_eq(gguf_writer_kv_arr_begin(&c, "a", GGUF_WRITER_INT32, 1), GGUF_WRITER_OK);
    ck_assert_int_eq(gguf_writer_arr_f32(&c, 1.0f), GGUF_WRITER_EINVAL); /* wrong element type */

    /* Tensor data before the infos is refused. */
    gguf_writer_init(&c, -1, NULL, 0, 0);
    gguf_writer_header(&c, 1, 0);
    ck_assert_int_eq(gguf_writer_write(&c, data, 4), GGUF_WRITER_EINVAL);

    /* A full disk is ENOSPC, not a generic I/O error. */
    fd = open("/dev/full", O_WRONLY);
    if (fd >= 0) {
        gguf_writer_init(&w, fd, buf, sizeof buf, 0);
        emit_small(&w);
        ck_assert_int_eq(gguf_writer_finish(&w, false), GGUF_WRITER_ENOSPC);
        ck_assert_msg(strstr(w.err, "write") != NULL, "%s", w.err);
        close(fd);
    }
}
END_TEST

Suite *synth_writer_suite(void)
{
    Suite *s = suite_create("synth_writer");
    TCase *io = tcase_create("write");
    tcase_set_timeout(io, 60);
    tcase_add_test(io, test_writer);
    suite_add_tcase(s, io);
    return s;
}
