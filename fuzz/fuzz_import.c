/* fuzz_import — libFuzzer target for the readers of results files and of
 * other tools' benchmark JSON.
 *
 * The first input byte picks the reader, the rest is the file:
 *   0  a ggperf results file (JSONL stream or JSON document) through
 *      results_reader_open / _next and results_stats
 *   1  llama-bench JSON or JSONL      (import_parse IMPORT_LLAMA_BENCH)
 *   2  ggperf bench JSON              (IMPORT_GGPERF_BENCH)
 *   3  Google Benchmark JSON          (IMPORT_GBENCH)
 * Invariants, checked with __builtin_trap(): a refused import leaves one
 * line of message and no outputs (a refused results file a message); an accepted import, written as a JSONL
 * stream (import_write_jsonl) and read back with the results reader, gives
 * back every sample it produced, in order, each with its header's config
 * and a config in range, and its statistics compute.
 *
 * Files go through memfd_create, so nothing touches the disk.
 *
 * Built and run by scripts/fuzz.sh; tests/test_harden_fuzz_import.c feeds
 * the seeds and past findings through it in `make test`.
 * fuzz-build: results/results.c results/results_stats.c results/results_view.c results/stats.c results/fmt.c reports/import.c reports/import_llama.c reports/import_ggperf.c reports/import_gbench.c -ljansson -lsqlite3
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "results/results.h"
#include "reports/import.h"

static void fzi_check_message(const char *err)
{
    if (!err[0] || strchr(err, '\n'))
        __builtin_trap();
}

/* A memfd holding data[0..n) and its /proc path; -1 when it cannot be made. */
static int fzi_memfile(const void *data, size_t n, char *path, size_t len)
{
    int fd = memfd_create("fuzz_import", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

/* The results reader's own messages may quote the file's text (line
 * breaks included; `ggperf report` flattens them): only non-empty. */
static void fzi_check_reader_message(const char *err)
{
    if (!err[0])
        __builtin_trap();
}

/* Reads every sample of path; returns the count, or -1 when the reader
 * refused the file or a record (the message is checked). */
static long fzi_read_all(const char *path, const json_t *expect)
{
    struct results_reader *r;
    char err[512] = "";
    if (results_reader_open(&r, path, err, sizeof err) != 0) {
        fzi_check_reader_message(err);
        return -1;
    }
    const json_t *h = results_reader_header(r);
    int n_configs = results_header_n_configs(h);
    long n = 0;
    int rc;
    json_t *s;
    while ((rc = results_reader_next(r, &s, err, sizeof err)) == 1) {
        json_int_t c = json_integer_value(json_object_get(s, "config"));
        if (c < 0 || c >= n_configs)
            __builtin_trap();
        if (expect) {
            const json_t *want = json_array_get(expect, (size_t)n);
            if (!want || json_integer_value(json_object_get(want, "config")) != c ||
                json_integer_value(json_object_get(want, "rep")) != json_integer_value(json_object_get(s, "rep")))
                __builtin_trap();
        }
        json_decref(s);
        n++;
    }
    if (rc < 0) {
        fzi_check_reader_message(err);
        results_reader_close(r);
        return -1;
    }
    json_t *stats = NULL;
    err[0] = '\0';
    if (results_stats(r, NULL, &stats, err, sizeof err) != 0) {
        fzi_check_reader_message(err);
        if (expect) /* what the importer wrote must compute */
            __builtin_trap();
    } else if (json_array_size(stats) != (size_t)n_configs) {
        __builtin_trap();
    }
    json_decref(stats);
    results_reader_close(r);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 4;
    data++;
    size--;
    char path[64];
    if (mode == 0) {
        int fd = fzi_memfile(data, size, path, sizeof path);
        if (fd < 0)
            return 0;
        fzi_read_all(path, NULL);
        close(fd);
        return 0;
    }
    static const int kinds[] = { 0, IMPORT_LLAMA_BENCH, IMPORT_GGPERF_BENCH, IMPORT_GBENCH };
    json_t *header = NULL, *samples = NULL;
    char err[512] = "";
    int rc = import_parse(kinds[mode], (const char *)data, size, "fuzz.json", &header, &samples, err, sizeof err);
    if (rc != 0) {
        fzi_check_message(err);
        if (header || samples)
            __builtin_trap();
        return 0;
    }
    if (!header || !json_is_array(samples) || json_array_size(samples) == 0)
        __builtin_trap();
    int fd = memfd_create("fuzz_import_out", MFD_CLOEXEC);
    if (fd >= 0) {
        FILE *f = fdopen(dup(fd), "w");
        if (f) {
            int wrc = import_write_jsonl(f, header, samples);
            if (fclose(f) != 0 || wrc != 0)
                __builtin_trap();
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            if (fzi_read_all(path, samples) != (long)json_array_size(samples))
                __builtin_trap();
        }
        close(fd);
    }
    json_decref(header);
    json_decref(samples);
    return 0;
}
