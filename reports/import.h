/* import — other benchmark tools' JSON as ggperf results files, so their
 * figures stand as rows in the same tables and plots.
 *
 * Three formats:
 *
 *   llama-bench  llama.cpp's `llama-bench -o json` (an array of objects) or
 *                `-o jsonl` (one object a line). Each object is one test:
 *                n_prompt, n_gen, n_depth make the test name (pp512, tg128,
 *                pp512+tg128, "@d512" appended for a prefilled depth),
 *                n_threads the threads axis; every other parameter whose
 *                value differs between objects (n_batch, type_k, model
 *                file, build commit, ...) becomes an axis of its own.
 *                samples_ts[i] (and samples_ns[i]) are repetition i:
 *                metrics tokens_per_s (tok/s, time) and test_ns (ns, time);
 *                a file without samples_ts gives avg_ts as one repetition.
 *                Generation tests also get bytes_per_token (model_size:
 *                the weights streamed per token; bytes, derived), which the
 *                report uses for the bandwidth roofline. The environment
 *                says engine "llama.cpp", cpu from cpu_info, build commit
 *                and number; the model from model_filename/type/size.
 *   ggperf-bench `ggperf bench -o json` (cli/cmd_bench.c): an array of
 *                {model, kernels, test, threads, n_tokens, samples [tok/s],
 *                bytes_per_token?}; engine "ggperf".
 *   gbench       Google Benchmark's JSON (--benchmark_format=json or
 *                --benchmark_out): context + benchmarks[]. One axis,
 *                "benchmark" (the run_name); repetitions (run_type
 *                "iteration") are the samples; a benchmark reported only
 *                as aggregates gives its median (else mean) as one
 *                repetition, recorded in the environment. Metrics:
 *                real_time_ns, cpu_time_ns (time), bandwidth_gbps from
 *                bytes_per_second, items_per_s, and every user counter
 *                (derived; "X_per_second" counters become X_per_s). A
 *                benchmark with error_occurred is a failed repetition
 *                carrying error_message. NaN and Infinity (which Google
 *                Benchmark writes for empty aggregates) read as missing.
 *
 * Reading is strict: anything malformed (not JSON, a missing or mistyped
 * field, a negative count, a non-finite sample) is IMPORT_EFORMAT with one
 * line naming the file, the entry and the field. Header sizes are bounded
 * (at most 8 axes and 100000 configurations).
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_IMPORT_H
#define GGPERF_REPORTS_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum import_kind { IMPORT_LLAMA_BENCH = 0, IMPORT_GGPERF_BENCH, IMPORT_GBENCH, IMPORT_KIND_COUNT };

enum import_status {
    IMPORT_OK = 0,
    IMPORT_EIO = -1,      /* the input could not be read, or the output written */
    IMPORT_EFORMAT = -2,  /* malformed input (the message names file, entry and field) */
    IMPORT_ENOMEM = -3,
    IMPORT_EEXIST = -4,   /* the output exists (and force is off) */
    IMPORT_ELIMIT = -5,   /* too many axes or configurations for one results file */
};

/* "llama-bench", "ggperf-bench", "gbench" -> the kind, or -1. */
int import_kind_from_name(const char *name);
const char *import_kind_name(int kind);

/* Parse text[0..len) of format kind. src names the input in messages and
 * in the environment. On success *header is a results header record and
 * *samples an array of sample records (new references), and the return is
 * 0; otherwise a negative code with one line in err, and both are NULL. */
int import_parse(int kind, const char *text, size_t len, const char *src, json_t **header, json_t **samples,
                 char *err, size_t err_len);

/* Write header, samples and an "end" record as a JSONL results stream to f.
 * Returns 0 or IMPORT_EIO. */
int import_write_jsonl(FILE *f, const json_t *header, const json_t *samples);

/* Read in_path, parse it as kind and write the results file out_path: a
 * JSON document with statistics, or a JSONL stream when out_path ends in
 * ".jsonl"; to stdout (JSON document) when out_path is NULL. An existing
 * out_path is IMPORT_EEXIST unless force. *n_samples (may be NULL) gets
 * the number of samples written. */
int import_file(int kind, const char *in_path, const char *out_path, bool force, size_t *n_samples, char *err,
                size_t err_len);

#endif
