/* filebuf suite: the three placements of a file's bytes (map, read,
 * hugepage) hold the same bytes, the hugepage copy is 2 MiB aligned and its
 * huge-page count is sane, a short file is a clear error that leaves
 * nothing behind, and a model placed each way gives bit-identical logits. */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "harness/run/filebuf.h"
#include "harness/run/session.h"
#include "harness/machine/sysfs.h"
#include "testutil.h"

#define FILE_BYTES ((size_t)(5u << 20) + 17)

static uint8_t *write_random_file(char *path, size_t path_len)
{
    snprintf(path, path_len, "%s/filebuf.bin", tu_tmpdir());
    uint8_t *data = malloc(FILE_BYTES);
    ck_assert_ptr_nonnull(data);
    uint64_t st = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < FILE_BYTES; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        data[i] = (uint8_t)st;
    }
    ck_assert_int_eq(tu_write_file(path, data, FILE_BYTES), 0);
    return data;
}

START_TEST(test_each_placement_holds_the_file)
{
    char path[1024], err[256];
    uint8_t *want = write_random_file(path, sizeof path);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    for (int k = FILEBUF_MAP; k <= FILEBUF_HUGEPAGE; k++) {
        struct filebuf b;
        ck_assert_msg(filebuf_load(&b, fd, FILE_BYTES, (enum filebuf_kind)k, err, sizeof err) == 0, "%s: %s",
                      filebuf_kind_names[k], err);
        ck_assert_int_eq(b.kind, k);
        ck_assert_uint_eq(b.size, FILE_BYTES);
        ck_assert_msg(memcmp(b.bytes, want, FILE_BYTES) == 0, "%s: bytes differ", filebuf_kind_names[k]);
        int64_t huge = filebuf_huge_bytes(&b);
        /* /proc/self/smaps exists on every Linux this runs on */
        ck_assert_msg(huge >= 0, "%s: no AnonHugePages for the buffer's mappings", filebuf_kind_names[k]);
        if (k == FILEBUF_HUGEPAGE) {
            ck_assert_uint_eq((uintptr_t)b.bytes % (2u << 20), 0);
            /* whole 2 MiB pages, the last one counted up to the file's end */
            ck_assert_int_le(huge, (int64_t)FILE_BYTES);
            ck_assert(huge % (2 << 20) == 0 || huge == (int64_t)FILE_BYTES);
        } else if (k == FILEBUF_MAP) {
            /* at a 2 MiB boundary, so 2 MiB page-cache folios can be mapped
             * whole; whether the file system made any is its business, but
             * only whole ones inside the file count */
            ck_assert_uint_eq((uintptr_t)b.bytes % (2u << 20), 0);
            ck_assert_int_le(huge, (int64_t)FILE_BYTES);
            ck_assert(huge % (2 << 20) == 0);
        } else {
            ck_assert_int_eq(huge, 0); /* a 64-byte aligned heap copy gets none */
        }
        if (k == FILEBUF_READ)
            ck_assert_uint_eq((uintptr_t)b.bytes % 64, 0);
        /* small pages: a heap copy always; a THP copy, or a mapping whose
         * folios the memcmp above mapped, where under half got 2 MiB */
        if (k == FILEBUF_READ)
            ck_assert_msg(filebuf_small_pages(&b), "a heap copy is not in small pages");
        else
            ck_assert_int_eq(filebuf_small_pages(&b), filebuf_huge_bytes(&b) < (int64_t)FILE_BYTES / 2);
        filebuf_free(&b);
        ck_assert_ptr_null(b.bytes);
        filebuf_free(&b); /* twice is harmless */
    }
    close(fd);
    unlink(path);
    free(want);
}
END_TEST

START_TEST(test_short_file_is_an_error)
{
    char path[1024], err[256];
    uint8_t *want = write_random_file(path, sizeof path);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    for (int k = FILEBUF_READ; k <= FILEBUF_HUGEPAGE; k++) {
        struct filebuf b;
        err[0] = 0;
        ck_assert_int_eq(filebuf_load(&b, fd, FILE_BYTES + 4096, (enum filebuf_kind)k, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "unexpected end of file") && strstr(err, "read at byte"), "%s", err);
        ck_assert_ptr_null(b.base);
        ck_assert_ptr_null(b.bytes);
    }
    struct filebuf b;
    ck_assert_int_eq(filebuf_load(&b, fd, 0, FILEBUF_READ, err, sizeof err), -1);
    ck_assert_int_eq(filebuf_load(&b, -1, 100, FILEBUF_READ, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "Bad file descriptor") != NULL, "%s", err);
    close(fd);
    unlink(path);
    free(want);
}
END_TEST

/* The same golden model placed each way: the engine sees the same bytes at
 * different addresses (the hugepage copy is 2 MiB aligned, the mapping is
 * page aligned), so the logits must be bit-identical. */
START_TEST(test_session_placements_agree)
{
    static const int32_t toks[] = { 1, 17, 300, 42, 999 };
    char path[1024], err[1024];
    float *first = NULL;
    size_t nv = 0;
    for (int k = FILEBUF_MAP; k <= FILEBUF_HUGEPAGE; k++) {
        struct session_opts so;
        session_opts_init(&so);
        so.model_path = tu_golden_path(path, sizeof path, "shared-Q4_0.gguf");
        so.infer.n_threads = 1;
        so.infer.n_ctx = 16;
        so.weights = (enum filebuf_kind)k;
        struct session s;
        ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(s.file.kind, k);
        ck_assert(k == FILEBUF_MAP ? s.map != NULL : s.map == NULL); /* only a mapping is SIGBUS-guarded */
        nv = (size_t)s.m.hp.n_vocab;
        float *out = malloc(sizeof(float) * 5 * nv);
        ck_assert_msg(infer_eval(s.ctx, toks, 5, out, err, sizeof err) == 0, "%s", err);
        session_close(&s);
        if (!first) {
            first = out;
            continue;
        }
        ck_assert_msg(memcmp(first, out, sizeof(float) * 5 * nv) == 0, "%s logits differ from map",
                      filebuf_kind_names[k]);
        free(out);
    }
    free(first);
}
END_TEST

START_TEST(test_weights_flag)
{
    char cmd[2048], path[1024], err[1024], out[4096];
    tu_golden_path(path, sizeof path, "shared-Q4_0.gguf");
    snprintf(cmd, sizeof cmd, "%s logits -m %s --tokens 1,2 --weights bogus -o /dev/null", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--weights") != NULL, "%s", err);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -t 1 -p 4 -n 2 -r 1 --weights read -o json", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, "\"weights\": \"read\"") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -t 1 -p 4 -n 2 -r 1 -o json", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    const char *want = filebuf_thp_usable() ? "\"weights\": \"hugepage\"" : "\"weights\": \"map\"";
    ck_assert_msg(strstr(out, want) != NULL, "bench default should be %s: %s", want, out);
}
END_TEST

/* A copy bigger than the available memory is refused up front, naming the
 * sizes; the mapping takes the same file (sparse: no disk used). Twice the
 * available memory, so that even without the check the allocation would
 * be refused rather than run into the OOM killer. */
START_TEST(test_copy_bigger_than_memory_refused)
{
    const uint64_t avail = sysfs_mem_available();
    if (avail == 0) {
        tu_skip("meminfo", "no MemAvailable in /proc/meminfo");
        return;
    }
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/sparse.bin", tu_tmpdir());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)(2 * avail)), 0);
    for (int k = FILEBUF_READ; k <= FILEBUF_HUGEPAGE; k++) {
        struct filebuf b;
        ck_assert_int_eq(filebuf_load(&b, fd, 2 * avail, (enum filebuf_kind)k, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "of memory is available") && strstr(err, filebuf_kind_names[k]), "%s", err);
        ck_assert_ptr_null(b.base);
    }
    struct filebuf b;
    ck_assert_msg(filebuf_load(&b, fd, 2 * avail, FILEBUF_MAP, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(b.bytes[avail], 0);
    filebuf_free(&b);
    close(fd);
    unlink(path);
}
END_TEST

/* True when path's file system keeps its pages only in the page cache
 * (tmpfs): there nothing can be evicted, and the residency tests say so. */
static int on_tmpfs(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* Residency is measured, restored by a touch, and lost by an eviction. */
START_TEST(test_residency_evict_and_touch)
{
    char path[1024], err[256];
    uint8_t *data = write_random_file(path, sizeof path);
    free(data);
    if (on_tmpfs(path)) {
        tu_skip("tmpfs", "%s is on tmpfs (nothing to evict)", path);
        unlink(path);
        return;
    }
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct filebuf b;
    ck_assert_msg(filebuf_load(&b, fd, FILE_BYTES, FILEBUF_MAP, err, sizeof err) == 0, "%s", err);
    filebuf_touch(&b);
    ck_assert_double_ge(filebuf_resident_fraction(&b), 0.99);
    ck_assert_msg(filebuf_evict(&b, fd, err, sizeof err) == 0, "%s", err);
    ck_assert_double_lt(filebuf_resident_fraction(&b), 0.5);
    struct filebuf_io a, z;
    filebuf_io_now(&a);
    filebuf_touch(&b);
    filebuf_io_now(&z);
    ck_assert_double_ge(filebuf_resident_fraction(&b), 0.99);
    ck_assert_int_gt(z.major_faults, a.major_faults); /* the touch had to go to the file */
    filebuf_free(&b);
    /* A copy cannot be evicted: an error that says so. */
    ck_assert_int_eq(filebuf_load(&b, fd, FILE_BYTES, FILEBUF_READ, err, sizeof err), 0);
    ck_assert_int_eq(filebuf_evict(&b, fd, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "mapping") != NULL, "%s", err);
    filebuf_free(&b);
    close(fd);
    unlink(path);
}
END_TEST

/* bench reports a mapping that was not resident when the clock started,
 * and the major faults it cost (the file is evicted between the warm-up
 * and each timed repetition with --evict); without --evict the same run
 * starts resident. */
START_TEST(test_bench_reports_non_resident_weights)
{
    char path[1024], cmd[2048], out[16384], err[4096];
    tu_golden_path(path, sizeof path, "shared-F32.gguf");
    if (on_tmpfs(path)) {
        tu_skip("tmpfs", "%s is on tmpfs (nothing to evict)", path);
        return;
    }
    snprintf(cmd, sizeof cmd, "%s bench -m %s --weights map --evict -t 1 -p 4 -n 2 -r 2 -o json", tu_ggperf_bin(),
             path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    const char *f = strstr(out, "\"resident_fraction_min\": ");
    ck_assert_msg(f != NULL, "%s", out);
    ck_assert_double_lt(strtod(f + strlen("\"resident_fraction_min\": "), NULL), 0.5);
    const char *m = strstr(out, "\"major_faults\": ");
    ck_assert_msg(m != NULL, "%s", out);
    ck_assert_int_gt(strtol(m + strlen("\"major_faults\": "), NULL, 10), 0);
    ck_assert_msg(strstr(err, "resident when timing started") != NULL, "no warning: %s", err);

    snprintf(cmd, sizeof cmd, "%s bench -m %s --weights map -t 1 -p 4 -n 2 -r 2 -o json", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, "\"resident_fraction_min\": 1.0000") != NULL, "%s", out);
    /* generation's bandwidth as a fraction of the read-only probe */
    const char *fr = strstr(out, "\"bw_fraction_of_read\": ");
    ck_assert_msg(fr != NULL, "no bandwidth fraction: %s", out);
    ck_assert_double_gt(strtod(fr + strlen("\"bw_fraction_of_read\": "), NULL), 0);
    ck_assert_msg(strstr(out, "\"read_probe_gbps\": ") != NULL, "%s", out);
    ck_assert_msg(strstr(err, "resident when timing started") == NULL, "%s", err);
    /* --evict of a copy is a usage error naming the flag */
    snprintf(cmd, sizeof cmd, "%s bench -m %s --weights read --evict -r 1", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--evict") != NULL, "%s", err);
}
END_TEST

/* ggperf pagecache: --evict empties, --warm fills, plain reports; a
 * missing file is exit 1 naming it; two modes at once is a usage error. */
START_TEST(test_pagecache_command)
{
    char path[1024], cmd[2048], out[4096], err[4096];
    uint8_t *data = write_random_file(path, sizeof path);
    free(data);
    if (on_tmpfs(path)) {
        tu_skip("tmpfs", "%s is on tmpfs (nothing to evict)", path);
        unlink(path);
        return;
    }
    snprintf(cmd, sizeof cmd, "%s pagecache --evict %s", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_double_lt(strtod(out, NULL), 0.5);
    snprintf(cmd, sizeof cmd, "%s pagecache --warm -o json %s", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, "\"resident_fraction\": 1.0000") != NULL, "%s", out);
    const char *hf = strstr(out, "\"huge_fraction\": "); /* measured after warming: a share */
    ck_assert_msg(hf != NULL, "%s", out);
    double h = strtod(hf + strlen("\"huge_fraction\": "), NULL);
    ck_assert_msg(h >= 0 && h <= 1, "%s", out);
    snprintf(cmd, sizeof cmd, "%s pagecache %s", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_double_ge(strtod(out, NULL), 0.99);
    snprintf(cmd, sizeof cmd, "%s pagecache %s/no-such-file", tu_ggperf_bin(), tu_tmpdir());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "no-such-file") != NULL, "%s", err);
    snprintf(cmd, sizeof cmd, "%s pagecache --warm --evict %s", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    unlink(path);
}
END_TEST

START_TEST(test_fast_kind)
{
    const uint64_t gib = (uint64_t)1 << 30;
    ck_assert_int_eq(filebuf_fast_kind(gib, 16 * gib, true), FILEBUF_HUGEPAGE);
    ck_assert_int_eq(filebuf_fast_kind(12 * gib, 16 * gib, true), FILEBUF_HUGEPAGE); /* exactly 3/4 */
    ck_assert_int_eq(filebuf_fast_kind(12 * gib + 1, 16 * gib, true), FILEBUF_MAP);
    ck_assert_int_eq(filebuf_fast_kind(40 * gib, 32 * gib, true), FILEBUF_MAP);      /* pages instead of OOM */
    ck_assert_int_eq(filebuf_fast_kind(gib, 16 * gib, false), FILEBUF_MAP);          /* THP off */
    ck_assert_int_eq(filebuf_fast_kind(gib, 0, true), FILEBUF_HUGEPAGE);             /* MemAvailable unknown */
}
END_TEST

Suite *filebuf_suite(void)
{
    Suite *s = suite_create("filebuf");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_each_placement_holds_the_file);
    tcase_add_test(tc, test_short_file_is_an_error);
    tcase_add_test(tc, test_session_placements_agree);
    tcase_add_test(tc, test_weights_flag);
    tcase_add_test(tc, test_fast_kind);
    tcase_add_test(tc, test_copy_bigger_than_memory_refused);
    tcase_add_test(tc, test_residency_evict_and_touch);
    tcase_add_test(tc, test_bench_reports_non_resident_weights);
    tcase_add_test(tc, test_pagecache_command);
    suite_add_tcase(s, tc);
    return s;
}
