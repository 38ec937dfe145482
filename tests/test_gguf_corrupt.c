/* gguf_corrupt suite: one corrupt variant per validation rule, built in C
 * with tests/gguf_fixture, each asserting the specific code and that the
 * message names the key or tensor. Every open works on an exact-size heap
 * copy so ASan sees any read past the end. Split from the gguf suite
 * (tests/test_gguf.c); shared helpers in tests/gguf_util.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/quant.h"
#include "tests/gguf_fixture.h"
#include "tests/gguf_util.h"
#include "tests/testutil.h"

/* --- the corrupt family -------------------------------------------------- */

START_TEST(test_truncation_at_every_byte)
{
    struct gfx b;
    gfx_small(&b, 3, NULL);
    for (size_t n = 0; n < b.len; n++) {
        struct opened o;
        int rc = open_copy(&o, b.buf, n);
        ck_assert_msg(rc == GGUF_ETRUNC, "truncated to %zu of %zu bytes: got %s: %s", n, b.len,
                      gguf_status_name(rc), o.err);
        ck_assert_msg(o.err[0] != '\0', "truncated to %zu: no message", n);
        close_copy(&o);
    }
    struct opened o;
    ck_assert_int_eq(open_copy(&o, b.buf, b.len), GGUF_OK);
    close_copy(&o);
    gfx_free(&b);
}
END_TEST

START_TEST(test_bad_magic_and_versions)
{
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    b.buf[0] ^= 0x20;
    expect_fail(&b, GGUF_ENOTGGUF, "magic", NULL);
    b.buf[0] ^= 0x20;
    gfx_patch_u32(&b, at.version_at, 1);
    expect_fail(&b, GGUF_EVERSION, "version 1", NULL);
    gfx_patch_u32(&b, at.version_at, 4);
    expect_fail(&b, GGUF_EVERSION, "version 4", "allowed 2 or 3");
    gfx_patch_u32(&b, at.version_at, 0xFFFFFFFFu);
    expect_fail(&b, GGUF_EVERSION, "4294967295", NULL);
    gfx_patch_u32(&b, at.version_at, 0);
    expect_fail(&b, GGUF_EVERSION, "version 0", NULL);
    gfx_patch_u32(&b, at.version_at, 0x03000000u);
    expect_fail(&b, GGUF_EVERSION, "big-endian", NULL);
    gfx_free(&b);

    /* Not GGUF even when shorter than the magic. */
    gfx_init(&b);
    gfx_bytes(&b, "GX", 2);
    expect_fail(&b, GGUF_ENOTGGUF, NULL, NULL);
    gfx_free(&b);
    struct gguf g;
    char err[128];
    ck_assert_int_eq(gguf_open(&g, NULL, 0, NULL, 0, err, sizeof err), GGUF_ETRUNC);
    ck_assert_uint_eq(gguf_index_bytes(NULL, 0), 0);
}
END_TEST

START_TEST(test_absurd_counts)
{
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    gfx_patch_u64(&b, at.n_kv_at, 1ull << 40);
    expect_fail(&b, GGUF_ETRUNC, "header: key count 1099511627776 cannot fit in", NULL);
    /* gguf_index_bytes stays bounded by the buffer for such a header */
    ck_assert_uint_lt(gguf_index_bytes(b.buf, b.len), 16 * b.len + 4096);
    gfx_patch_u64(&b, at.n_kv_at, GFX_SMALL_N_KV);
    gfx_patch_u64(&b, at.n_tensors_at, 1ull << 62);
    expect_fail(&b, GGUF_ETRUNC, "tensor count 4611686018427387904 cannot fit", NULL);
    ck_assert_uint_lt(gguf_index_bytes(b.buf, b.len), 16 * b.len + 4096);
    gfx_patch_u64(&b, at.n_tensors_at, UINT64_MAX);
    expect_fail(&b, GGUF_ETRUNC, "tensor count", NULL);
    /* each count alone fits, both together do not */
    gfx_patch_u64(&b, at.n_kv_at, (b.len - 24) / 13);
    gfx_patch_u64(&b, at.n_tensors_at, (b.len - 24) / 32);
    expect_fail(&b, GGUF_ETRUNC, "cannot fit", NULL);
    gfx_free(&b);

    /* Over the reader's hard limit in a buffer large enough to hold the
     * entries: an untouched anonymous mapping costs no memory. */
    size_t big = (size_t)GGUF_MIN_KV_BYTES * (GGUF_MAX_KV + 1) + 64;
    uint8_t *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ck_assert(m != MAP_FAILED);
    gfx_init(&b);
    gfx_header(&b, 3, 0, (uint64_t)GGUF_MAX_KV + 1);
    memcpy(m, b.buf, b.len);
    struct gguf g;
    char err[256];
    ck_assert_int_eq(gguf_open(&g, m, big, NULL, 0, err, sizeof err), GGUF_ELIMIT);
    ck_assert_ptr_nonnull(strstr(err, "key count 16777217"));
    munmap(m, big);
    gfx_free(&b);
}
END_TEST

START_TEST(test_absurd_string_lengths)
{
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    gfx_patch_u64(&b, at.arch_len_at, 0xFFFFFFFFull);
    expect_fail(&b, GGUF_ETRUNC, "key 'general.architecture'", "string length 4294967295 runs past the end of the file");
    gfx_patch_u64(&b, at.arch_len_at, UINT64_MAX);
    expect_fail(&b, GGUF_ETRUNC, "general.architecture", "18446744073709551615");
    gfx_free(&b);

    gfx_small(&b, 3, &at);
    gfx_patch_u64(&b, 24, UINT64_MAX); /* the first key's own length */
    expect_fail(&b, GGUF_ETRUNC, "at byte 24: key 1 of 8: key length 18446744073709551615", NULL);
    gfx_free(&b);

    /* A key longer than the format allows, though inside the buffer. */
    gfx_init(&b);
    gfx_header(&b, 3, 0, 1);
    gfx_u64(&b, GGUF_MAX_KEY_LEN + 1);
    gfx_zeros(&b, GGUF_MAX_KEY_LEN + 1);
    gfx_u32(&b, GGUF_VT_UINT8);
    gfx_u8(&b, 0);
    expect_fail(&b, GGUF_ELIMIT, "key 1 of 1", "key length 65536 is above the format's limit (65535)");
    gfx_free(&b);

    gfx_small(&b, 3, &at);
    gfx_patch_u64(&b, at.names_count_at, 1ull << 60);
    expect_fail(&b, GGUF_ETRUNC, "test.names", "array count 1152921504606846976");
    gfx_free(&b);

    /* A fixed-size array whose byte size overflows 64 bits. */
    gfx_init(&b);
    gfx_header(&b, 3, 0, 1);
    gfx_kv_arr_begin(&b, "test.u64s", GGUF_VT_UINT64, 1ull << 61);
    gfx_u64(&b, 1);
    expect_fail(&b, GGUF_ETRUNC, "test.u64s", "uint64");
    gfx_free(&b);

    /* A tensor name running past the end. */
    gfx_small(&b, 3, &at);
    size_t name_at = at.tensor_ndims_at[1] - strlen("blk.0.q.weight") - 8;
    gfx_patch_u64(&b, name_at, 1ull << 33);
    expect_fail(&b, GGUF_ETRUNC, "tensor 2 of 3", "name length 8589934592");
    gfx_free(&b);
}
END_TEST

START_TEST(test_bad_dims)
{
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    gfx_patch_u32(&b, at.tensor_ndims_at[2], 0);
    expect_fail(&b, GGUF_ECORRUPT, "tensor 'norm.weight'", "n_dims 0");
    gfx_patch_u32(&b, at.tensor_ndims_at[2], 5);
    expect_fail(&b, GGUF_ECORRUPT, "tensor 'norm.weight'", "n_dims 5");
    gfx_patch_u32(&b, at.tensor_ndims_at[2], 1);
    gfx_patch_u64(&b, at.tensor_ne0_at[2], 0);
    expect_fail(&b, GGUF_ECORRUPT, "norm.weight", "dimension 0 is 0");
    gfx_patch_u64(&b, at.tensor_ne0_at[2], 1ull << 63);
    expect_fail(&b, GGUF_ECORRUPT, "norm.weight", "dimension 0");
    gfx_free(&b);

    /* ne[0] not a multiple of the Q8_0 block size */
    gfx_small(&b, 3, &at);
    gfx_patch_u64(&b, at.tensor_ne0_at[1], 16);
    expect_fail(&b, GGUF_ECORRUPT, "tensor 'blk.0.q.weight'", "not a multiple of the Q8_0 block size 32");
    gfx_free(&b);

    /* dims product overflowing int64, and byte size overflowing 64 bits */
    static const uint64_t huge[4] = { 1ull << 32, 1ull << 32, 1ull << 32, 1 };
    static const uint64_t big_bytes[2] = { 1ull << 31, 1ull << 31 }; /* 2^62 F32 = 2^64 bytes */
    static const uint64_t fits[2] = { 1ull << 20, 1ull << 20 };
    const uint64_t *shapes[3] = { huge, big_bytes, fits };
    const uint32_t ndims[3] = { 4, 2, 2 };
    const int codes[3] = { GGUF_ECORRUPT, GGUF_ECORRUPT, GGUF_ETRUNC };
    const char *msgs[3] = { "more than 2^63 elements", "more than 2^64 bytes", "ends past the end of the file" };
    for (int i = 0; i < 3; i++) {
        gfx_init(&b);
        gfx_header(&b, 3, 1, 0);
        gfx_tensor_info(&b, "big.weight", ndims[i], shapes[i], QT_F32, 0);
        gfx_pad(&b, 32);
        gfx_zeros(&b, 64);
        expect_fail(&b, codes[i], "tensor 'big.weight'", msgs[i]);
        gfx_free(&b);
    }
}
END_TEST

START_TEST(test_bad_offsets)
{
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    char want[160];
    gfx_patch_u64(&b, at.tensor_offset_at[2], 1ull << 40);
    snprintf(want, sizeof want, "data [offset %llu, 8 bytes] ends past the end of the file (%zu bytes)",
             (unsigned long long)(at.data_offset + (1ull << 40)), b.len);
    expect_fail(&b, GGUF_ETRUNC, "tensor 'norm.weight'", want);
    gfx_patch_u64(&b, at.tensor_offset_at[2], UINT64_MAX - 31); /* aligned, wraps when added */
    expect_fail(&b, GGUF_ETRUNC, "tensor 'norm.weight'", "past the end of the file");
    gfx_patch_u64(&b, at.tensor_offset_at[2], at.tensor_off[2] + 32); /* starts in, ends out */
    expect_fail(&b, GGUF_ETRUNC, "norm.weight", "ends past the end");
    gfx_patch_u64(&b, at.tensor_offset_at[2], at.tensor_off[2]);

    /* misaligned */
    gfx_patch_u64(&b, at.tensor_offset_at[1], at.tensor_off[1] + 4);
    expect_fail(&b, GGUF_ECORRUPT, "tensor 'blk.0.q.weight'", "not a multiple of the alignment (32)");
    /* overlapping: norm.weight placed inside blk.0.q.weight */
    gfx_patch_u64(&b, at.tensor_offset_at[1], at.tensor_off[1]);
    gfx_patch_u64(&b, at.tensor_offset_at[2], at.tensor_off[1] + 32);
    expect_fail(&b, GGUF_ECORRUPT, "norm.weight", "overlaps tensor 'blk.0.q.weight'");
    /* two tensors at the same offset */
    gfx_patch_u64(&b, at.tensor_offset_at[2], 0);
    expect_fail(&b, GGUF_ECORRUPT, "overlaps", "tok.weight");
    gfx_free(&b);
}
END_TEST

START_TEST(test_unknown_types)
{
    static const uint32_t bad_tensor_types[] = { 31, 200, 4, 5, 40, 0xFFFFFFFFu };
    for (size_t i = 0; i < sizeof bad_tensor_types / sizeof bad_tensor_types[0]; i++) {
        struct gfx b;
        struct gfx_small at;
        gfx_small(&b, 3, &at);
        gfx_patch_u32(&b, at.tensor_type_at[0], bad_tensor_types[i]);
        char want[64];
        snprintf(want, sizeof want, "unknown tensor type id %u", bad_tensor_types[i]);
        expect_fail(&b, GGUF_ETYPE, "tensor 'tok.weight'", want);
        gfx_free(&b);
    }
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    gfx_patch_u32(&b, at.int_type_at, 13);
    expect_fail(&b, GGUF_ETYPE, "key 'test.count'", "unknown value type 13");
    gfx_patch_u32(&b, at.int_type_at, 0x80000000u);
    expect_fail(&b, GGUF_ETYPE, "test.count", "2147483648");
    gfx_free(&b);
    gfx_small(&b, 3, &at);
    gfx_patch_u32(&b, at.names_count_at - 4, 99);
    expect_fail(&b, GGUF_ETYPE, "key 'test.names'", "element type 99");
    gfx_free(&b);
}
END_TEST

/* One key holding `levels` arrays nested in each other around one uint8. */
static void nested_file(struct gfx *b, int levels)
{
    gfx_init(b);
    gfx_header(b, 3, 0, 1);
    gfx_str(b, "test.deep");
    gfx_u32(b, GGUF_VT_ARRAY);
    for (int i = 0; i < levels; i++) {
        gfx_u32(b, i == levels - 1 ? GGUF_VT_UINT8 : GGUF_VT_ARRAY);
        gfx_u64(b, 1);
    }
    gfx_u8(b, 7);
}

START_TEST(test_nesting_bound)
{
    struct gfx b;
    nested_file(&b, GGUF_MAX_ARRAY_DEPTH);
    struct opened o;
    ck_assert_msg(open_copy(&o, b.buf, b.len) == GGUF_OK, "%s", o.err);
    struct gguf_array a;
    ck_assert_int_eq(gguf_get_arr(&o.g, "test.deep", &a, NULL, 0), GGUF_OK);
    ck_assert_uint_eq(a.depth, GGUF_MAX_ARRAY_DEPTH);
    /* walk down to the innermost uint8 */
    for (int level = 1; level < GGUF_MAX_ARRAY_DEPTH; level++) {
        uint64_t pos = 0;
        struct gguf_value v;
        ck_assert_int_eq(gguf_array_next(&a, &pos, &v), 1);
        ck_assert_int_eq(v.type, GGUF_VT_ARRAY);
        ck_assert_uint_eq(v.v.arr.depth, (uint32_t)(GGUF_MAX_ARRAY_DEPTH - level));
        a = v.v.arr;
    }
    ck_assert_int_eq(a.elem_type, GGUF_VT_UINT8);
    ck_assert_uint_eq(gguf_array_u64(&a, 0), 7);
    close_copy(&o);
    gfx_free(&b);

    nested_file(&b, GGUF_MAX_ARRAY_DEPTH + 1);
    expect_fail(&b, GGUF_ELIMIT, "key 'test.deep'", "nested deeper than 8");
    gfx_free(&b);
    nested_file(&b, 1000);
    expect_fail(&b, GGUF_ELIMIT, "test.deep", "nested deeper");
    gfx_free(&b);
}
END_TEST

START_TEST(test_bad_alignment)
{
    static const uint32_t bad[] = { 0, 3, 48 };
    for (int i = 0; i < 3; i++) {
        struct gfx b;
        struct gfx_small at;
        gfx_small(&b, 3, &at);
        gfx_patch_u32(&b, at.align_value_at, bad[i]);
        char want[64];
        snprintf(want, sizeof want, "value %u is not a power of two", bad[i]);
        expect_fail(&b, GGUF_ECORRUPT, "key 'general.alignment'", want);
        gfx_free(&b);
    }
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    gfx_patch_u32(&b, at.align_value_at, 1u << 21);
    expect_fail(&b, GGUF_ELIMIT, "general.alignment", "2097152");
    gfx_free(&b);

    /* alignment of the wrong type */
    gfx_init(&b);
    gfx_header(&b, 3, 0, 1);
    gfx_kv_str(&b, "general.alignment", "32");
    expect_fail(&b, GGUF_ECORRUPT, "general.alignment", "type string (wanted an unsigned integer)");
    gfx_free(&b);
    gfx_init(&b);
    gfx_header(&b, 3, 0, 1);
    gfx_kv_i32(&b, "general.alignment", -32);
    expect_fail(&b, GGUF_ECORRUPT, "general.alignment", "-32");
    gfx_free(&b);

    /* a valid non-default alignment moves the data section */
    gfx_init(&b);
    gfx_header(&b, 3, 1, 1);
    gfx_kv_u64(&b, "general.alignment", 4096);
    static const uint64_t ne[1] = { 8 };
    gfx_tensor_info(&b, "t", 1, ne, QT_F32, 0);
    gfx_pad(&b, 4096);
    gfx_zeros(&b, 32);
    struct opened o;
    ck_assert_msg(open_copy(&o, b.buf, b.len) == GGUF_OK, "%s", o.err);
    ck_assert_uint_eq(o.g.alignment, 4096);
    ck_assert_uint_eq(o.g.data_offset, 4096);
    close_copy(&o);
    gfx_free(&b);
}
END_TEST

START_TEST(test_duplicates)
{
    static const uint64_t ne[1] = { 32 };
    struct gfx b;
    gfx_init(&b);
    gfx_header(&b, 3, 3, 0);
    gfx_tensor_info(&b, "blk.0.x", 1, ne, QT_F32, 0);
    gfx_tensor_info(&b, "blk.0.y", 1, ne, QT_F32, 128);
    gfx_tensor_info(&b, "blk.0.x", 1, ne, QT_F32, 256);
    gfx_pad(&b, 32);
    gfx_zeros(&b, 384);
    expect_fail(&b, GGUF_ECORRUPT, "tensor 'blk.0.x'", "duplicate tensor name");
    gfx_free(&b);

    gfx_init(&b);
    gfx_header(&b, 3, 0, 3);
    gfx_kv_u32(&b, "a.b", 1);
    gfx_kv_str(&b, "c", "x");
    gfx_kv_str(&b, "a.b", "again");
    expect_fail(&b, GGUF_ECORRUPT, "key 'a.b'", "duplicate key");
    gfx_free(&b);

    /* a name with a newline is printed on one line */
    gfx_init(&b);
    gfx_header(&b, 3, 0, 2);
    gfx_kv_u32(&b, "bad\nkey", 1);
    gfx_kv_u32(&b, "bad\nkey", 2);
    expect_fail(&b, GGUF_ECORRUPT, "key 'bad?key'", "duplicate");
    gfx_free(&b);
}
END_TEST

START_TEST(test_bad_bools)
{
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    gfx_patch_u8(&b, at.bool_value_at, 2);
    expect_fail(&b, GGUF_ECORRUPT, "key 'test.flag'", "bool value 2");
    gfx_free(&b);

    gfx_init(&b);
    gfx_header(&b, 3, 0, 1);
    gfx_kv_arr_begin(&b, "test.bools", GGUF_VT_BOOL, 4);
    gfx_bytes(&b, "\1\0\1\xff", 4);
    expect_fail(&b, GGUF_ECORRUPT, "test.bools", "element 3 of 4: bool value 255");
    gfx_free(&b);
}
END_TEST

Suite *gguf_corrupt_suite(void)
{
    Suite *s = suite_create("gguf_corrupt");
    TCase *bad = tcase_create("corrupt");
    tcase_set_timeout(bad, 60);
    tcase_add_test(bad, test_truncation_at_every_byte);
    tcase_add_test(bad, test_bad_magic_and_versions);
    tcase_add_test(bad, test_absurd_counts);
    tcase_add_test(bad, test_absurd_string_lengths);
    tcase_add_test(bad, test_bad_dims);
    tcase_add_test(bad, test_bad_offsets);
    tcase_add_test(bad, test_unknown_types);
    tcase_add_test(bad, test_nesting_bound);
    tcase_add_test(bad, test_bad_alignment);
    tcase_add_test(bad, test_duplicates);
    tcase_add_test(bad, test_bad_bools);
    suite_add_tcase(s, bad);
    return s;
}
