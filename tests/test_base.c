/* base suite: the header-only helpers every layer shares (base/err.h,
 * base/bitset.h). */
#include <check.h>
#include <string.h>

#include "base/bitset.h"
#include "base/err.h"

START_TEST(test_err_helpers)
{
    char buf[16] = "unchanged";
    ck_assert_int_eq(err_fail(buf, sizeof buf, -7, "tensor '%s' at %d", "blk.0.attn_q.weight", 42), -7);
    ck_assert_str_eq(buf, "tensor 'blk.0.a");  /* truncated to the buffer, NUL-terminated */
    err_set(buf, sizeof buf, "x=%d", 3);
    ck_assert_str_eq(buf, "x=3");
    ck_assert_int_eq(err_fail(NULL, 0, -2, "dropped"), -2); /* no buffer: no write */
    err_set(buf, 0, "not written");
    ck_assert_str_eq(buf, "x=3");
}
END_TEST

START_TEST(test_bitset)
{
    struct bitset b = { 0 };
    ck_assert(!bitset_test(&b, 0));
    ck_assert(!bitset_test(&b, 1000000));
    const size_t in[] = { 0, 7, 8, 127, 128, 129, 4095, 100000 };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        ck_assert_int_eq(bitset_set(&b, in[i]), 0);
    for (size_t v = 0; v <= 100001; v++) {
        bool want = false;
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
            want = want || in[i] == v;
        ck_assert_msg(bitset_test(&b, v) == want, "bit %zu", v);
    }
    ck_assert_int_eq(bitset_set(&b, 7), 0); /* again: still one bit */
    ck_assert(bitset_test(&b, 7) && !bitset_test(&b, 6));
    bitset_clear(&b);
    ck_assert(!bitset_test(&b, 100000) && !bitset_test(&b, 0));
    ck_assert_uint_ge(b.n_bytes, 100000 / 8 + 1); /* storage kept */
    bitset_free(&b);
    ck_assert_ptr_null(b.bits);
    bitset_free(NULL);
}
END_TEST

Suite *base_suite(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_err_helpers);
    tcase_add_test(tc, test_bitset);
    suite_add_tcase(s, tc);
    return s;
}
