/* env — the environment a result was measured in: machine, kernel
 * settings, build, and the model file (path, shape, type, content hash).
 *
 * Everything that could explain a number is recorded; what cannot be read
 * here is recorded as "unreadable", never guessed.
 *
 * The model's content hash is XXH64 (seed 0) over the whole file. Hashing
 * a 1 GB file takes a second or more, so the result is cached in the cache
 * directory (file-hashes-v2.tsv), keyed by (real path, size, mtime and
 * ctime in ns, inode). A file rewritten in place gets a new mtime or ctime
 * and is hashed again; a file changed less than ENV_HASH_RACY_NS ago is
 * always hashed and never remembered, since a same-size rewrite within
 * one timestamp tick would leave all of the key unchanged.
 */
#ifndef GGPERF_HARNESS_ENV_H
#define GGPERF_HARNESS_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum env_status {
    ENV_OK = 0,
    ENV_EIO = -1,       /* a file could not be read / created */
    ENV_EMODEL = -2,    /* the model is not a GGUF file this reader accepts */
    ENV_ENOMEM = -3,
};

/* ggperf's cache directory: $GGPERF_CACHE, else $XDG_CACHE_HOME/ggperf,
 * else $HOME/.cache/ggperf; created (with parents) when missing. Returns 0
 * with the path in buf, or ENV_EIO with a message. */
int env_cache_dir(char *buf, size_t len, char *err, size_t err_len);

/* The machine and build as a JSON object: hostname, kernel (uname), cpu
 * (name as cpuinfo_cpu_name() gives it, vendor, family, model, stepping,
 * hypervisor, microarchitecture and its basis, brand, cpuid features,
 * trimmed /proc/cpuinfo model name and flags, logical CPUs online and
 * configured, SMT), caches (cpuinfo_caches_get(): per level and type, each
 * with its source; or {source "none", reason}), kernels (the engine's exact
 * kernel variant per type: probe_kernels_json), memory
 * (MemTotal), thp (enabled, defrag), cpufreq (governor, boost),
 * build (commit, compiler, flags), time (UTC). Never fails; what cannot be
 * read is "unreadable". Returns NULL only when out of memory. */
json_t *env_collect(void);

/* The model file as a JSON object: path, realpath, size_bytes, mtime,
 * xxh64 (hex) and whether the hash came from the cache, and the GGUF
 * shape: architecture, n_layer, n_embd, n_ff, n_head, n_head_kv, n_ctx,
 * n_vocab, file_type, n_params, n_tensors, tensor type counts. cache_dir
 * may be NULL (no hash cache). Returns NULL with a message in err when the
 * file cannot be read or parsed. */
json_t *env_model(const char *path, const char *cache_dir, char *err, size_t err_len);

/* How long after its last change a file's hash may be cached: above the
 * coarse kernel clock's tick and the 1-2 s timestamps of some filesystems. */
#define ENV_HASH_RACY_NS 3000000000ll

/* XXH64 of the whole file at path, through the cache in cache_dir (NULL:
 * no cache). *from_cache tells which. Returns 0 or ENV_EIO. */
int env_file_hash(const char *path, const char *cache_dir, uint64_t *hash, bool *from_cache, char *err,
                  size_t err_len);

/* XXH64, streaming. */
struct env_xxh64 {
    uint64_t v[4];
    uint64_t total;
    uint8_t buf[32];
    size_t used;
    uint64_t seed;
};
void env_xxh64_init(struct env_xxh64 *s, uint64_t seed);
void env_xxh64_update(struct env_xxh64 *s, const void *p, size_t n);
uint64_t env_xxh64_digest(const struct env_xxh64 *s);

/* XXH64 of one buffer. */
uint64_t env_xxh64(const void *p, size_t n, uint64_t seed);

#endif
