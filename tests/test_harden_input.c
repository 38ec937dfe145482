/* harden_input suite: input limits. GGUF files claiming huge counts,
 * sizes or nesting are refused by info and logits with one line, in a
 * 256 MB address space and little memory; info's memory is bounded by the
 * file. One of the harden suites (the overview is in tests/test_harden.c;
 * shared helpers in tests/harden_util.h). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "tests/gguf_fixture.h"
#include "tests/harden_util.h"
#include "tests/testutil.h"

/* ---- 5. input limits ----------------------------------------------------------- */

enum { HOSTILE_TENSOR_PAST_END, HOSTILE_KV_2_40, HOSTILE_TENSORS_2_40, HOSTILE_NESTED_DEEP, HOSTILE_NESTED_HUGE,
       HOSTILE_VOCAB_2_31, HOSTILE_STRING_2_62, HOSTILE_COUNT };
static const char *const hostile_names[HOSTILE_COUNT] = {
    "tensor-past-end", "n_kv-2^40", "n_tensors-2^40", "nested-1000-deep", "nested-2^40-arrays",
    "vocab-2^31", "string-2^62",
};

static void hostile_file(int kind, struct gfx *b)
{
    struct gfx_small at;
    switch (kind) {
    case HOSTILE_TENSOR_PAST_END:
        gfx_small(b, 3, &at);
        gfx_patch_u64(b, at.tensor_ne0_at[0], 1ull << 40); /* 2^40 x 2 floats in a file of ~500 bytes */
        return;
    case HOSTILE_KV_2_40:
        gfx_small(b, 3, &at);
        gfx_patch_u64(b, at.n_kv_at, 1ull << 40);
        return;
    case HOSTILE_TENSORS_2_40:
        gfx_small(b, 3, &at);
        gfx_patch_u64(b, at.n_tensors_at, 1ull << 40);
        return;
    case HOSTILE_NESTED_DEEP:
    case HOSTILE_NESTED_HUGE:
        gfx_init(b);
        gfx_header(b, 3, 0, 2);
        gfx_kv_str(b, "general.architecture", "llama");
        if (kind == HOSTILE_NESTED_DEEP) {
            gfx_kv_arr_begin(b, "deep", GGUF_VT_ARRAY, 1);
            for (int i = 0; i < 1000; i++) {
                gfx_u32(b, GGUF_VT_ARRAY);
                gfx_u64(b, 1);
            }
            gfx_u32(b, GGUF_VT_UINT8);
            gfx_u64(b, 1);
            gfx_u8(b, 7);
        } else {
            gfx_kv_arr_begin(b, "wide", GGUF_VT_ARRAY, 1ull << 40);
            for (int i = 0; i < 4; i++) {
                gfx_u32(b, GGUF_VT_UINT8);
                gfx_u64(b, 1ull << 40);
            }
        }
        return;
    case HOSTILE_VOCAB_2_31:
        gfx_init(b);
        gfx_header(b, 3, 0, 3);
        gfx_kv_str(b, "general.architecture", "llama");
        gfx_kv_str(b, "tokenizer.ggml.model", "llama");
        gfx_kv_arr_begin(b, "tokenizer.ggml.tokens", GGUF_VT_STRING, 1ull << 31);
        for (int i = 0; i < 16; i++)
            gfx_str(b, "tok");
        return;
    default:
        gfx_init(b);
        gfx_header(b, 3, 0, 1);
        gfx_u64(b, 1ull << 62); /* the key's length */
        gfx_bytes(b, "general.architecture", 20);
        return;
    }
}

/* An empty array of arrays is 2 deep: as the innermost of 8 levels it would
 * make the value 9 deep, past GGUF_MAX_ARRAY_DEPTH (fuzz finding); one
 * level up it is accepted at exactly the maximum. */
START_TEST(test_gguf_empty_array_of_arrays_depth)
{
    for (int outer = GGUF_MAX_ARRAY_DEPTH - 2; outer <= GGUF_MAX_ARRAY_DEPTH - 1; outer++) {
        struct gfx b;
        gfx_init(&b);
        gfx_header(&b, 3, 0, 1);
        gfx_str(&b, "deep");
        gfx_u32(&b, GGUF_VT_ARRAY);
        for (int i = 0; i < outer; i++) {
            gfx_u32(&b, GGUF_VT_ARRAY);
            gfx_u64(&b, 1);
        }
        gfx_u32(&b, GGUF_VT_ARRAY); /* the innermost: an array of arrays, empty */
        gfx_u64(&b, 0);
        struct gguf g;
        char err[512];
        int rc = gguf_open_alloc(&g, b.buf, b.len, err, sizeof err);
        if (outer == GGUF_MAX_ARRAY_DEPTH - 1) {
            ck_assert_int_eq(rc, GGUF_ELIMIT);
            ck_assert_msg(strstr(err, "nested deeper than 8"), "%s", err);
        } else {
            ck_assert_msg(rc == GGUF_OK, "%s", err);
            struct gguf_array a;
            ck_assert_int_eq(gguf_get_arr(&g, "deep", &a, NULL, 0), GGUF_OK);
            ck_assert_uint_eq(a.depth, GGUF_MAX_ARRAY_DEPTH);
            gguf_close(&g);
        }
        gfx_free(&b);
    }
}
END_TEST

/* info and logits refuse each hostile file with one line and exit 1, in
 * a 256 MB address space (a large allocation would fail visibly), using
 * little memory. */
START_TEST(test_hostile_claims_refused_small)
{
    const char *dir = tu_tmpdir();
    struct proc *p = malloc(sizeof *p);
    struct limits lim = { 0, (rlim_t)256 << 20 };
    for (int k = 0; k < HOSTILE_COUNT; k++) {
        struct gfx b;
        hostile_file(k, &b);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s.gguf", dir, hostile_names[k]);
        ck_assert_int_eq(tu_write_file(path, b.buf, b.len), 0);
        gfx_free(&b);
        const char *info[] = { tu_ggperf_bin(), "info", path, NULL };
        const char *logits[] = { tu_ggperf_bin(), "logits", "-m", path, "--tokens", "1", NULL };
        const char *const *cmds[] = { info, logits };
        for (int c = 0; c < 2; c++) {
            spawn(cmds[c], &lim, p);
            ck_assert_msg(p->status == 1, "%s %s: exit %d: %s", cmds[c][1], hostile_names[k], p->status, p->err);
            ck_assert_msg(tu_count_lines(p->err) == 1 && strstr(p->err, path), "%s %s: %s", cmds[c][1],
                          hostile_names[k], p->err);
            if (!SANITIZED)
                ck_assert_msg(p->maxrss_kb < 64 * 1024, "%s %s: max RSS %ld kB", cmds[c][1], hostile_names[k],
                              p->maxrss_kb);
        }
    }
    free(p);
}
END_TEST

/* info on a file with 200k keys (the most entries per byte the format
 * allows) streams its output: peak memory is the mapping plus the index
 * plus a small constant, and it runs in a 256 MB address space. */
START_TEST(test_info_memory_bounded_by_file)
{
    const char *dir = tu_tmpdir();
    char small[PATH_MAX], big[PATH_MAX];
    struct gfx b;
    gfx_small(&b, 3, NULL);
    snprintf(small, sizeof small, "%s/small.gguf", dir);
    ck_assert_int_eq(tu_write_file(small, b.buf, b.len), 0);
    gfx_free(&b);
    enum { N_KEYS = 200000 };
    gfx_init(&b);
    gfx_header(&b, 3, 0, N_KEYS);
    for (int i = 0; i < N_KEYS; i++) {
        char key[16];
        snprintf(key, sizeof key, "%x", i);
        gfx_kv_bool(&b, key, (uint8_t)(i & 1));
    }
    size_t index = gguf_index_bytes(b.buf, b.len), size = b.len;
    snprintf(big, sizeof big, "%s/big.gguf", dir);
    ck_assert_int_eq(tu_write_file(big, b.buf, b.len), 0);
    gfx_free(&b);

    struct proc *p = malloc(sizeof *p);
    struct limits lim = { 0, (rlim_t)256 << 20 };
    const char *base[] = { tu_ggperf_bin(), "info", "--json", small, NULL };
    spawn(base, &lim, p);
    ck_assert_msg(p->status == 0, "%s", p->err);
    long base_kb = p->maxrss_kb;
    const char *cmd[] = { tu_ggperf_bin(), "info", "--json", big, NULL };
    spawn(cmd, &lim, p);
    ck_assert_msg(p->status == 0, "%s", p->err);
    long grew = (p->maxrss_kb - base_kb) * 1024;
    long bound = (long)(size + index) + (8l << 20) + (SANITIZED ? (long)(size + index) * 2 + (64l << 20) : 0);
    printf("info on %d keys: file %zu B, index %zu B, max RSS +%ld B (bound %ld)\n", N_KEYS, size, index, grew,
           bound);
    ck_assert_msg(grew <= bound, "info grew %ld bytes for a %zu-byte file with a %zu-byte index", grew, size, index);
    free(p);
}
END_TEST

Suite *harden_input_suite(void)
{
    Suite *s = suite_create("harden_input");
    TCase *tl = tcase_create("limits");
    tcase_set_timeout(tl, 120);
    tcase_add_test(tl, test_gguf_empty_array_of_arrays_depth);
    tcase_add_test(tl, test_hostile_claims_refused_small);
    tcase_add_test(tl, test_info_memory_bounded_by_file);
    suite_add_tcase(s, tl);
    return s;
}
