/* base suite: the header-only helpers every layer shares (base/err.h,
 * base/bitset.h), and the house rule that every _free/_close of a module
 * takes NULL as a no-op (STYLE.md: cleanup paths need not check). */
#include <check.h>
#include <string.h>

#include "base/bitset.h"
#include "base/err.h"
#include "engine/gguf.h"
#include "engine/infer.h"
#include "engine/model.h"
#include "engine/pool.h"
#include "engine/sampler.h"
#include "engine/tokenizer.h"
#include "harness/counters/ctr.h"
#include "harness/machine/probe.h"
#include "harness/run/filebuf.h"
#include "harness/run/runner.h"
#include "harness/run/session.h"
#include "harness/store/gate.h"
#include "harness/store/store.h"
#include "modelgen/synth.h"
#include "reports/plot.h"
#include "reports/report.h"
#include "results/results.h"
#include "workloads/wlutil.h"

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

/* Every public _free/_close takes NULL (a crash fails the test). */
START_TEST(test_free_null_is_a_noop)
{
    gguf_close(NULL);
    infer_free(NULL);
    model_free(NULL);
    pool_free(NULL);
    sampler_free(NULL);
    tok_free(NULL);
    results_stream_close(NULL);
    results_reader_close(NULL);
    results_cacc_free(NULL);
    synth_plan_free(NULL);
    ctr_close(NULL);
    ctr_snap_free(NULL);
    ctr_regions_free(NULL);
    probe_pingpong_free(NULL);
    filebuf_free(NULL);
    runner_plan_free(NULL);
    session_close(NULL);
    gate_report_free(NULL);
    store_close(NULL);
    wlutil_ctr_close(NULL);
    plot_free(NULL);
    report_free(NULL);
}
END_TEST

Suite *base_suite(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_err_helpers);
    tcase_add_test(tc, test_bitset);
    tcase_add_test(tc, test_free_null_is_a_noop);
    suite_add_tcase(s, tc);
    return s;
}
