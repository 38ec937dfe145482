/* quant_dequant suite: the reference kernels (quant_ref.c) dequantizing
 * hand-built blocks of every type to exact expected values, the float
 * types both ways, and all-zero input staying zero.
 *
 * Expected values here are derived from the layout descriptions (weight i
 * lives in bit b of byte k), independently of the loop structure of the
 * kernels under test. Split from the quant suite (tests/test_quant.c),
 * whose helpers it shares through tests/quant_util.h. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "tests/quant_util.h"

/* IQ4_NL's table, written out here as data so a typo in the engine's copy
 * fails. */
static const int8_t k_kv[16] = { -127, -104, -83, -65, -49, -35, -22, -10,
                                 1,    13,   25,  38,  53,  69,  89,  113 };

/* Dequantize n values of type t with the reference kernel and require every
 * one to equal want[] bit for bit. */
static void expect_dequant(int t, const void *blocks, const float *want, int n)
{
    float *got = malloc((size_t)n * sizeof *got);
    ck_assert_ptr_nonnull(got);
    tr_of(t)->to_float(blocks, got, n);
    for (int i = 0; i < n; i++)
        REQUIRE(f2u(got[i]) == f2u(want[i]), "%s: weight %d is %.9g, want %.9g",
                      quant_type_name(t), i, got[i], want[i]);
    free(got);
}

/* ---------------------------------------------------------------------- */
/* hand-built blocks                                                       */

START_TEST(test_dequant_q4_0)
{
    struct block_q4_0 b[2];
    float want[64];
    for (int k = 0; k < 2; k++) {
        b[k].d = k == 0 ? 0x3800 : 0xc000; /* 0.5, -2.0 */
        float d = k == 0 ? 0.5f : -2.0f;
        for (int j = 0; j < 16; j++)
            b[k].qs[j] = (uint8_t)(j | (15 - j) << 4);
        /* weight j < 16: low nibble of qs[j]; weight 16 + j: high nibble */
        for (int j = 0; j < 16; j++) {
            want[32 * k + j] = (float)(j - 8) * d;
            want[32 * k + 16 + j] = (float)(7 - j) * d;
        }
    }
    ck_assert_float_eq(want[0], -4.0f);
    ck_assert_float_eq(want[15], 3.5f);
    ck_assert_float_eq(want[16], 3.5f);
    ck_assert_float_eq(want[63], 16.0f);
    expect_dequant(QT_Q4_0, b, want, 64);
}
END_TEST

START_TEST(test_dequant_q4_1_q5_1)
{
    struct block_q4_1 a = { .d = 0x3800, .m = 0xc000 }; /* 0.5, -2 */
    float wa[32];
    for (int j = 0; j < 16; j++)
        a.qs[j] = (uint8_t)(((7 * j) % 16) | ((7 * (j + 16)) % 16) << 4);
    for (int i = 0; i < 32; i++)
        wa[i] = (float)((7 * i) % 16) * 0.5f - 2.0f;
    ck_assert_float_eq(wa[1], 1.5f);
    expect_dequant(QT_Q4_1, &a, wa, 32);

    struct block_q5_1 b = { .d = 0x3400, .m = 0x3c00 }; /* 0.25, 1 */
    float wb[32];
    uint32_t qh = 0;
    memset(b.qs, 0, sizeof b.qs);
    for (int i = 0; i < 32; i++) {
        int q = (11 * i) % 32;
        b.qs[i % 16] |= (uint8_t)((q & 15) << (i < 16 ? 0 : 4));
        qh |= (uint32_t)(q >> 4) << i;
        wb[i] = (float)q * 0.25f + 1.0f;
    }
    for (int k = 0; k < 4; k++)
        b.qh[k] = (uint8_t)(qh >> (8 * k));
    expect_dequant(QT_Q5_1, &b, wb, 32);
}
END_TEST

START_TEST(test_dequant_q5_0)
{
    struct block_q5_0 b = { .d = 0x3400, .qh = { 0xa5, 0xa5, 0xf0, 0xf0 } }; /* d = 0.25 */
    for (int j = 0; j < 16; j++)
        b.qs[j] = (uint8_t)(j | (15 - j) << 4);
    float want[32];
    for (int i = 0; i < 32; i++) {
        int nib = i < 16 ? b.qs[i] & 15 : b.qs[i - 16] >> 4;
        int bit5 = (b.qh[i / 8] >> (i % 8)) & 1; /* bit i of the 32-bit LE qh */
        want[i] = (float)((nib | bit5 << 4) - 16) * 0.25f;
    }
    ck_assert_float_eq(want[0], 0.0f);   /* nib 0, bit 1 -> 16 */
    ck_assert_float_eq(want[1], -3.75f); /* nib 1, bit 0 -> 1 */
    ck_assert_float_eq(want[16], -0.25f);/* nib 15, bit 0 -> 15 */
    ck_assert_float_eq(want[31], 0.0f);  /* nib 0, bit 1 -> 16 */
    expect_dequant(QT_Q5_0, &b, want, 32);
}
END_TEST

START_TEST(test_dequant_q8_0_q8_1_q8_K)
{
    struct block_q8_0 b = { .d = 0x4000 }; /* 2.0 */
    struct block_q8_1 c = { .d = 0x3800, .s = 0x7bff }; /* 0.5; s is not used */
    float wb[32], wc[32];
    for (int j = 0; j < 32; j++) {
        b.qs[j] = (int8_t)(8 * j - 128);
        c.qs[j] = (int8_t)(127 - 8 * j);
        wb[j] = 2.0f * (float)(8 * j - 128);
        wc[j] = 0.5f * (float)(127 - 8 * j);
    }
    ck_assert_float_eq(wb[0], -256.0f);
    expect_dequant(QT_Q8_0, &b, wb, 32);
    expect_dequant(QT_Q8_1, &c, wc, 32);

    static struct block_q8_K k;
    static float wk[256];
    k.d = -0.25f;
    for (int j = 0; j < 256; j++) {
        k.qs[j] = (int8_t)(j - 128);
        wk[j] = -0.25f * (float)(j - 128);
    }
    expect_dequant(QT_Q8_K, &k, wk, 256);
}
END_TEST

START_TEST(test_dequant_iq4_nl)
{
    struct block_iq4_nl b = { .d = 0x3800 }; /* 0.5 */
    float want[32];
    memset(b.qs, 0, sizeof b.qs);
    for (int i = 0; i < 32; i++) {
        int idx = (3 * i + 1) % 16;
        b.qs[i % 16] |= (uint8_t)(idx << (i < 16 ? 0 : 4));
        want[i] = 0.5f * (float)k_kv[idx];
    }
    ck_assert_float_eq(want[0], -52.0f);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(quant_kvalues_iq4nl[i], k_kv[i]);
    expect_dequant(QT_IQ4_NL, &b, want, 32);
}
END_TEST

START_TEST(test_dequant_q2_K)
{
    struct block_q2_K b;
    float want[256];
    memset(&b, 0, sizeof b);
    b.d = 0x3800;    /* 0.5 */
    b.dmin = 0x3400; /* 0.25 */
    for (int s = 0; s < 16; s++)
        b.scales[s] = (uint8_t)(s | (15 - s) << 4); /* scale s, min 15 - s */
    for (int i = 0; i < 256; i++) {
        int q = (3 * i + 1) % 4;
        /* half i/128 uses qs[32h..32h+31]; weight 32k + l of the half is
         * bits 2k..2k+1 of qs[32h + l] */
        int h = i / 128, k = (i % 128) / 32, l = i % 32;
        b.qs[32 * h + l] |= (uint8_t)(q << (2 * k));
        int s = i / 16;
        want[i] = (0.5f * (float)s) * (float)q - 0.25f * (float)(15 - s);
    }
    ck_assert_float_eq(want[0], -3.75f);       /* s 0, q 1 */
    ck_assert_float_eq(want[255], 15.0f);      /* s 15, q 766 % 4 = 2, min 0 */
    expect_dequant(QT_Q2_K, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_q3_K)
{
    struct block_q3_K b;
    float want[256];
    int raw[16];
    memset(&b, 0, sizeof b);
    b.d = 0x3400; /* 0.25 */
    for (int j = 0; j < 16; j++) {
        raw[j] = (4 * j + 3 + (j % 3) * 17) % 64; /* 6-bit, stored biased by 32 */
        /* low 4 bits: j < 8 low nibble of byte j, else high nibble of byte j - 8;
         * high 2 bits: bits 2*(j/4) of byte 8 + j%4 */
        if (j < 8)
            b.scales[j] |= (uint8_t)(raw[j] & 15);
        else
            b.scales[j - 8] |= (uint8_t)((raw[j] & 15) << 4);
        b.scales[8 + j % 4] |= (uint8_t)((raw[j] >> 4) << (2 * (j / 4)));
    }
    for (int i = 0; i < 256; i++) {
        int q = (5 * i + 2) % 8 - 4; /* -4..3 */
        int hbit = q >= 0, low = hbit ? q : q + 4; /* value = low - (hbit ? 0 : 4) */
        int h = i / 128, k = (i % 128) / 32, l = i % 32;
        b.qs[32 * h + l] |= (uint8_t)(low << (2 * k));
        b.hmask[i % 32] |= (uint8_t)(hbit << (i / 32));
        want[i] = (0.25f * (float)(raw[i / 16] - 32)) * (float)q;
    }
    expect_dequant(QT_Q3_K, &b, want, 256);
}
END_TEST

/* Pack Q4_K/Q5_K's eight 6-bit scales and mins into 12 bytes:
 * bytes 0..3: scale j (j < 4) in the low 6 bits, high 2 bits of scale j + 4 on top;
 * bytes 4..7: min j (j < 4) likewise, high 2 bits of min j + 4 on top;
 * bytes 8..11: low nibble = low 4 bits of scale j + 4, high nibble = of min j + 4. */
static void pack_k4_scales(uint8_t out[12], const int sc[8], const int mn[8])
{
    for (int j = 0; j < 4; j++) {
        out[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        out[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
        out[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
    }
}

static const int k_sc[8] = { 1, 17, 33, 63, 5, 40, 21, 50 };
static const int k_mn[8] = { 0, 2, 63, 7, 33, 12, 48, 1 };

START_TEST(test_dequant_q4_K)
{
    struct block_q4_K b;
    float want[256];
    memset(&b, 0, sizeof b);
    b.d = 0x3c00;    /* 1.0 */
    b.dmin = 0x3800; /* 0.5 */
    pack_k4_scales(b.scales, k_sc, k_mn);
    for (int i = 0; i < 256; i++) {
        int q = (7 * i + 3) % 16;
        /* chunk c = i/64 uses qs[32c..32c+31]: first 32 weights in the low
         * nibbles, next 32 in the high nibbles */
        int c = i / 64, r = i % 64;
        b.qs[32 * c + r % 32] |= (uint8_t)(q << (r < 32 ? 0 : 4));
        want[i] = (float)k_sc[i / 32] * (float)q - 0.5f * (float)k_mn[i / 32];
    }
    ck_assert_float_eq(want[0], 3.0f);
    ck_assert_float_eq(want[64], 67.5f); /* scale 33, q 3, min 63 */
    expect_dequant(QT_Q4_K, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_q5_K)
{
    struct block_q5_K b;
    float want[256];
    memset(&b, 0, sizeof b);
    b.d = 0x3800;    /* 0.5 */
    b.dmin = 0x3c00; /* 1.0 */
    pack_k4_scales(b.scales, k_sc, k_mn);
    for (int i = 0; i < 256; i++) {
        int q = (13 * i + 5) % 32;
        int c = i / 64, r = i % 64;
        b.qs[32 * c + r % 32] |= (uint8_t)((q & 15) << (r < 32 ? 0 : 4));
        b.qh[i % 32] |= (uint8_t)((q >> 4) << (i / 32)); /* fifth bit: bit i/32 of qh[i%32] */
        want[i] = (0.5f * (float)k_sc[i / 32]) * (float)q - (float)k_mn[i / 32];
    }
    expect_dequant(QT_Q5_K, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_q6_K)
{
    struct block_q6_K b;
    float want[256];
    memset(&b, 0, sizeof b);
    b.d = 0x3000; /* 0.125 */
    for (int s = 0; s < 16; s++)
        b.scales[s] = (int8_t)(9 * s - 70);
    for (int i = 0; i < 256; i++) {
        int q = (13 * i + 5) % 64;
        /* half n = i/128 uses ql[64n..] and qh[32n..]; quarter k = (i%128)/32:
         * low 4 bits in ql[64n + l + 32*(k&1)], low nibble for k < 2;
         * high 2 bits at bits 2k of qh[32n + l] */
        int n = i / 128, k = (i % 128) / 32, l = i % 32;
        b.ql[64 * n + l + 32 * (k & 1)] |= (uint8_t)((q & 15) << (k < 2 ? 0 : 4));
        b.qh[32 * n + l] |= (uint8_t)((q >> 4) << (2 * k));
        want[i] = 0.125f * (float)b.scales[i / 16] * (float)(q - 32);
    }
    ck_assert_float_eq(want[0], 0.125f * -70.0f * (5 - 32));
    expect_dequant(QT_Q6_K, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_iq4_xs)
{
    struct block_iq4_xs b;
    float want[256];
    static const int ls[8] = { 0, 63, 32, 31, 1, 45, 17, 60 };
    memset(&b, 0, sizeof b);
    b.d = 0x3800; /* 0.5 */
    for (int ib = 0; ib < 8; ib++) {
        /* low 4 bits: nibble ib%2 of scales_l[ib/2]; high 2: bits 2ib of scales_h */
        b.scales_l[ib / 2] |= (uint8_t)((ls[ib] & 15) << (4 * (ib % 2)));
        b.scales_h |= (uint16_t)((ls[ib] >> 4) << (2 * ib));
    }
    for (int i = 0; i < 256; i++) {
        int idx = (5 * i + 1) % 16, ib = i / 32, r = i % 32;
        b.qs[16 * ib + r % 16] |= (uint8_t)(idx << (r < 16 ? 0 : 4));
        want[i] = (0.5f * (float)(ls[ib] - 32)) * (float)k_kv[idx];
    }
    ck_assert_float_eq(want[0], -16.0f * -104.0f); /* ls 0, idx 1 */
    expect_dequant(QT_IQ4_XS, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_float_types)
{
    const uint16_t h[4] = { 0x3c00, 0xc000, 0x0001, 0x7bff };
    const float wh[4] = { 1.0f, -2.0f, 0x1p-24f, 65504.0f };
    expect_dequant(QT_F16, h, wh, 4);
    const uint16_t bf[3] = { 0x3f80, 0xc040, 0x0001 };
    const float wbf[3] = { 1.0f, -3.0f, u2f(0x00010000) };
    expect_dequant(QT_BF16, bf, wbf, 3);
    const float f[3] = { 1.5f, -0.0f, 1e-30f };
    expect_dequant(QT_F32, f, f, 3);

    float back[4];
    uint16_t hq[4];
    tr_of(QT_F16)->from_float(wh, hq, 4);
    ck_assert_mem_eq(hq, h, sizeof h);
    tr_of(QT_BF16)->from_float(wbf, hq, 3);
    ck_assert_mem_eq(hq, bf, sizeof bf);
    tr_of(QT_F32)->from_float(f, back, 3);
    ck_assert_mem_eq(back, f, sizeof f);
}
END_TEST

START_TEST(test_zero_blocks)
{
    /* An all-zero input quantizes to blocks that dequantize to zeros. */
    static float x[512], y[512];
    static unsigned char buf[4096];
    const int types[] = { QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1, QT_Q8_0, QT_Q8_1, QT_Q8_K, QT_IQ4_NL };
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const struct quant_traits *tr = tr_of(types[k]);
        memset(buf, 0xee, sizeof buf);
        tr->from_float(x, buf, 512);
        for (int i = 0; i < 512; i++)
            y[i] = 1.0f;
        tr->to_float(buf, y, 512);
        for (int i = 0; i < 512; i++)
            REQUIRE(y[i] == 0.0f, "%s: %d is %g", tr->name, i, y[i]);
    }
    struct block_q8_K kb[2];
    tr_of(QT_Q8_K)->from_float(x, kb, 512);
    for (int j = 0; j < 16; j++)
        ck_assert_int_eq(kb[1].bsums[j], 0);
    ck_assert_float_eq(kb[1].d, 0.0f);
}
END_TEST

Suite *quant_dequant_suite(void)
{
    Suite *s = suite_create("quant_dequant");

    TCase *td = tcase_create("dequant");
    tcase_add_test(td, test_dequant_q4_0);
    tcase_add_test(td, test_dequant_q4_1_q5_1);
    tcase_add_test(td, test_dequant_q5_0);
    tcase_add_test(td, test_dequant_q8_0_q8_1_q8_K);
    tcase_add_test(td, test_dequant_iq4_nl);
    tcase_add_test(td, test_dequant_q2_K);
    tcase_add_test(td, test_dequant_q3_K);
    tcase_add_test(td, test_dequant_q4_K);
    tcase_add_test(td, test_dequant_q5_K);
    tcase_add_test(td, test_dequant_q6_K);
    tcase_add_test(td, test_dequant_iq4_xs);
    tcase_add_test(td, test_dequant_float_types);
    tcase_add_test(td, test_zero_blocks);
    suite_add_tcase(s, td);
    return s;
}
