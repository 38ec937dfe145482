/* env — environment capture (see env.h). */
#include "harness/machine/env.h"
#include "harness/machine/reclaim.h"
#include "base/err.h"
#include "harness/machine/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "engine/cpu.h"
#include "engine/gguf.h"
#include "engine/quant.h"
#include "harness/machine/buildinfo.h"
#include "harness/machine/cpuinfo.h"
#include "harness/machine/probe.h"
#include "modelgen/synth.h"

#define UNREADABLE "unreadable"

/* ---- XXH64 (from the published algorithm description) -------------------- */

static const uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full, P3 = 0x165667B19E3779F9ull,
                      P4 = 0x85EBCA77C2B2AE63ull, P5 = 0x27D4EB2F165667C5ull;

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian host (x86-64) */
    return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t xxround(uint64_t acc, uint64_t in)
{
    acc += in * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}

static inline uint64_t xxmerge(uint64_t h, uint64_t v)
{
    h ^= xxround(0, v);
    return h * P1 + P4;
}

void env_xxh64_init(struct env_xxh64 *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->v[0] = seed + P1 + P2;
    s->v[1] = seed + P2;
    s->v[2] = seed;
    s->v[3] = seed - P1;
}

static void stripe(uint64_t v[4], const uint8_t *p)
{
    v[0] = xxround(v[0], rd64(p));
    v[1] = xxround(v[1], rd64(p + 8));
    v[2] = xxround(v[2], rd64(p + 16));
    v[3] = xxround(v[3], rd64(p + 24));
}

void env_xxh64_update(struct env_xxh64 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->total += n;
    if (s->used) {
        size_t take = 32 - s->used < n ? 32 - s->used : n;
        memcpy(s->buf + s->used, p, take);
        s->used += take;
        p += take;
        n -= take;
        if (s->used < 32)
            return;
        stripe(s->v, s->buf);
        s->used = 0;
    }
    for (; n >= 32; p += 32, n -= 32)
        stripe(s->v, p);
    memcpy(s->buf, p, n);
    s->used = n;
}

uint64_t env_xxh64_digest(const struct env_xxh64 *s)
{
    uint64_t h;
    if (s->total >= 32) {
        h = rotl64(s->v[0], 1) + rotl64(s->v[1], 7) + rotl64(s->v[2], 12) + rotl64(s->v[3], 18);
        for (int i = 0; i < 4; i++)
            h = xxmerge(h, s->v[i]);
    } else {
        h = s->seed + P5;
    }
    h += s->total;
    const uint8_t *p = s->buf;
    size_t n = s->used;
    for (; n >= 8; p += 8, n -= 8) {
        h ^= xxround(0, rd64(p));
        h = rotl64(h, 27) * P1 + P4;
    }
    if (n >= 4) {
        h ^= (uint64_t)rd32(p) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
        n -= 4;
    }
    for (; n; p++, n--) {
        h ^= (uint64_t)*p * P5;
        h = rotl64(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t env_xxh64(const void *p, size_t n, uint64_t seed)
{
    struct env_xxh64 s;
    env_xxh64_init(&s, seed);
    env_xxh64_update(&s, p, n);
    return env_xxh64_digest(&s);
}

/* ---- small file readers ------------------------------------------------ */

/* First line of a file, trailing newline cut; false when unreadable. */
static bool read_line(const char *path, char *buf, size_t len)
{
    FILE *f = sysfs_fopen(path);
    if (!f)
        return false;
    bool ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok;
}

static json_t *file_str(const char *path)
{
    char buf[512];
    return json_string(read_line(path, buf, sizeof buf) ? buf : UNREADABLE);
}

/* The bracketed choice of a sysfs selector ("always [madvise] never"). */
static json_t *selected_word(const char *path)
{
    char buf[256];
    return json_string(sysfs_selected(path, buf, sizeof buf) == 0 ? buf : UNREADABLE);
}

/* Value of "key<sep>value" in a /proc file such as cpuinfo or meminfo. */
static bool proc_field(const char *path, const char *key, char *out, size_t len)
{
    FILE *f = sysfs_fopen(path);
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    size_t klen = strlen(key);
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != '\t' && line[klen] != ':'))
            continue;
        char *v = strchr(line + klen, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, len, "%s", v);
        found = true;
        break;
    }
    free(line);
    fclose(f);
    return found;
}

/* The cache geometry by cpuinfo's order, each level with its source; where
 * there is none, an object saying why. */
static json_t *caches_json(void)
{
    struct cpuinfo_caches cs;
    if (cpuinfo_caches_get(&cs) != 0)
        return json_pack("{s:s, s:s}", "source", "none", "reason", cs.why);
    return probe_caches_json(&cs);
}

static json_t *boost_json(void)
{
    char buf[64];
    if (read_line("/sys/devices/system/cpu/cpufreq/boost", buf, sizeof buf))
        return json_string(strcmp(buf, "1") == 0 ? "on" : "off");
    if (read_line("/sys/devices/system/cpu/intel_pstate/no_turbo", buf, sizeof buf))
        return json_string(strcmp(buf, "0") == 0 ? "on" : "off");
    return json_string(UNREADABLE);
}

json_t *env_collect(void)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char buf[4096];
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(o, "time", json_string(now));
    json_object_set_new(o, "hostname", json_string(gethostname(buf, sizeof buf) == 0 ? buf : UNREADABLE));
    struct utsname u;
    if (uname(&u) == 0)
        json_object_set_new(o, "kernel", json_pack("{s:s, s:s, s:s, s:s}", "sysname", u.sysname, "release",
                                                   u.release, "version", u.version, "machine", u.machine));
    else
        json_object_set_new(o, "kernel", json_string(UNREADABLE));

    struct cpu_features cf;
    cpu_detect(&cf);
    char feats[512];
    cpu_features_str(&cf, feats, sizeof feats);
    struct cpuinfo_cpu id;
    cpuinfo_cpu_get(&id, NULL, NULL, NULL);
    json_t *cpu = probe_cpu_json(&id);
    if (!cpu)
        cpu = json_object();
    json_object_set_new(cpu, "brand", json_string(cf.brand));
    json_object_set_new(cpu, "features", json_string(feats));
    json_object_set_new(cpu, "model_name", json_string(id.model_name[0] ? id.model_name : UNREADABLE));
    json_object_set_new(cpu, "flags",
                        json_string(proc_field("/proc/cpuinfo", "flags", buf, sizeof buf) ? buf : UNREADABLE));
    json_object_set_new(cpu, "online", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(cpu, "configured", json_integer(sysconf(_SC_NPROCESSORS_CONF)));
    json_object_set_new(cpu, "smt", file_str("/sys/devices/system/cpu/smt/active"));
    json_object_set_new(o, "cpu", cpu);
    json_object_set_new(o, "caches", caches_json());
    json_object_set_new(o, "kernels", probe_kernels_json());
    json_object_set_new(o, "memory", json_pack("{s:s}", "total", proc_field("/proc/meminfo", "MemTotal", buf,
                                                                              sizeof buf) ? buf : UNREADABLE));
    json_object_set_new(o, "thp", json_pack("{s:o, s:o}", "enabled",
                                            selected_word("/sys/kernel/mm/transparent_hugepage/enabled"), "defrag",
                                            selected_word("/sys/kernel/mm/transparent_hugepage/defrag")));
    struct reclaim_info rc;
    reclaim_probe(&rc);
    json_object_set_new(o, "reclaim", json_string(rc.summary));
    json_object_set_new(o, "cpufreq",
                        json_pack("{s:o, s:o, s:o}", "governor",
                                  file_str("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"), "driver",
                                  file_str("/sys/devices/system/cpu/cpu0/cpufreq/scaling_driver"), "boost",
                                  boost_json()));
    json_object_set_new(o, "build", json_pack("{s:s, s:s, s:s, s:s}", "version", buildinfo_version, "commit",
                                              buildinfo_commit, "compiler", buildinfo_cc, "flags",
                                              buildinfo_cflags));
    return o;
}

/* ---- cache directory and file hashes ---------------------------------------- */

static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

int env_cache_dir(char *buf, size_t len, char *err, size_t err_len)
{
    const char *g = getenv("GGPERF_CACHE"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    int w;
    if (g && *g)
        w = snprintf(buf, len, "%s", g);
    else if (x && *x)
        w = snprintf(buf, len, "%s/ggperf", x);
    else if (h && *h)
        w = snprintf(buf, len, "%s/.cache/ggperf", h);
    else
        return err_fail(err, err_len, ENV_EIO, "no cache directory: set GGPERF_CACHE, XDG_CACHE_HOME or HOME");
    if (w < 0 || (size_t)w >= len)
        return err_fail(err, err_len, ENV_EIO, "cache directory path too long");
    if (mkdir_p(buf) != 0)
        return err_fail(err, err_len, ENV_EIO, "%s: cannot create the cache directory: %s", buf, strerror(errno));
    return ENV_OK;
}

static int hash_file(const char *path, uint64_t *hash, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_fail(err, err_len, ENV_EIO, "%s: cannot open: %s", path, strerror(errno));
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    size_t cap = 4u << 20;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return err_fail(err, err_len, ENV_ENOMEM, "out of memory hashing %s", path);
    }
    struct env_xxh64 s;
    env_xxh64_init(&s, 0);
    int rc = ENV_OK;
    for (;;) {
        ssize_t r = read(fd, buf, cap);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = err_fail(err, err_len, ENV_EIO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        env_xxh64_update(&s, buf, (size_t)r);
    }
    free(buf);
    close(fd);
    if (rc == ENV_OK)
        *hash = env_xxh64_digest(&s);
    return rc;
}

int env_file_hash(const char *path, const char *cache_dir, uint64_t *hash, bool *from_cache, char *err,
                  size_t err_len)
{
    *from_cache = false;
    char real[PATH_MAX], cache[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0)
        return err_fail(err, err_len, ENV_EIO, "%s: %s", path, strerror(errno));
    long long mtime = (long long)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
    long long ctime_ns = (long long)st.st_ctim.tv_sec * 1000000000ll + st.st_ctim.tv_nsec;
    /* Timestamps come from the kernel's coarse clock (a tick of up to 10 ms;
     * whole seconds on some filesystems): a same-size rewrite within one tick
     * of the last write leaves size, mtime and ctime as they were. So a hash
     * is remembered only when the file's last change is older than now by
     * more than any tick (git's "racily clean" rule), and the key also holds
     * ctime, which a rewrite that puts the old mtime back cannot restore. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long now_ns = (long long)now.tv_sec * 1000000000ll + now.tv_nsec;
    bool racy = now_ns - mtime < ENV_HASH_RACY_NS || now_ns - ctime_ns < ENV_HASH_RACY_NS;
    FILE *f = NULL;
    if (cache_dir) {
        snprintf(cache, sizeof cache, "%s/file-hashes-v2.tsv", cache_dir);
        f = fopen(cache, "r");
    }
    if (f) {
        /* line: hash \t size \t mtime_ns \t ctime_ns \t inode \t realpath */
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
            unsigned long long h, size, ino;
            long long mt, ct;
            int off = 0;
            line[strcspn(line, "\n")] = '\0';
            if (!racy &&
                sscanf(line, "%16llx\t%llu\t%lld\t%lld\t%llu\t%n", &h, &size, &mt, &ct, &ino, &off) == 5 &&
                off > 0 && size == (unsigned long long)st.st_size && mt == mtime && ct == ctime_ns &&
                ino == (unsigned long long)st.st_ino && strcmp(line + off, real) == 0) {
                *hash = h;
                *from_cache = true;
            }
        }
        free(line);
        fclose(f);
        if (*from_cache)
            return ENV_OK;
    }
    int rc = hash_file(real, hash, err, err_len);
    if (rc != ENV_OK || !cache_dir || racy)
        return rc;
    /* one append per entry; a lost entry only costs a rehash */
    int fd = open(cache, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        char line[PATH_MAX + 128];
        int n = snprintf(line, sizeof line, "%016" PRIx64 "\t%llu\t%lld\t%lld\t%llu\t%s\n", *hash,
                         (unsigned long long)st.st_size, mtime, ctime_ns, (unsigned long long)st.st_ino, real);
        if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) != n) {
            /* the cache is an optimization: a failed write is not an error */
        }
        close(fd);
    }
    return ENV_OK;
}

/* ---- the model ------------------------------------------------------------- */

static void put_u64_key(json_t *o, const struct gguf *g, const char *arch, const char *suffix, const char *name)
{
    char key[128];
    uint64_t v;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (gguf_get_u64(g, key, &v, NULL, 0) == GGUF_OK)
        json_object_set_new(o, name, json_integer((json_int_t)v));
    else
        json_object_set_new(o, name, json_null());
}

json_t *env_model(const char *path, const char *cache_dir, char *err, size_t err_len)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0) {
        err_fail(err, err_len, ENV_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    uint64_t hash = 0;
    bool cached = false;
    if (env_file_hash(real, cache_dir, &hash, &cached, err, err_len) != ENV_OK)
        return NULL;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_fail(err, err_len, ENV_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    void *map = st.st_size > 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) {
        err_fail(err, err_len, ENV_EIO, "%s: cannot map: %s", path, strerror(errno));
        return NULL;
    }
    struct gguf g;
    char gerr[256];
    if (gguf_open_alloc(&g, map, (size_t)st.st_size, gerr, sizeof gerr) != GGUF_OK) {
        munmap(map, (size_t)st.st_size);
        err_fail(err, err_len, ENV_EMODEL, "%s: %s", path, gerr);
        return NULL;
    }
    char hex[17], mtime[32];
    snprintf(hex, sizeof hex, "%016" PRIx64, hash);
    struct tm tm;
    gmtime_r(&st.st_mtim.tv_sec, &tm);
    strftime(mtime, sizeof mtime, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b}", "path", path, "realpath", real, "size_bytes",
                          (json_int_t)st.st_size, "mtime", mtime, "xxh64", hex, "hash_cached", cached);
    struct gguf_str arch_s;
    char arch[64] = "";
    if (gguf_get_str(&g, "general.architecture", &arch_s, NULL, 0) == GGUF_OK)
        snprintf(arch, sizeof arch, "%.*s", (int)(arch_s.len < 63 ? arch_s.len : 63), arch_s.ptr);
    json_object_set_new(o, "architecture", json_string(arch));
    put_u64_key(o, &g, arch, "block_count", "n_layer");
    put_u64_key(o, &g, arch, "embedding_length", "n_embd");
    put_u64_key(o, &g, arch, "feed_forward_length", "n_ff");
    put_u64_key(o, &g, arch, "attention.head_count", "n_head");
    put_u64_key(o, &g, arch, "attention.head_count_kv", "n_head_kv");
    put_u64_key(o, &g, arch, "context_length", "n_ctx");
    struct gguf_array toks;
    json_object_set_new(o, "n_vocab", gguf_get_arr(&g, "tokenizer.ggml.tokens", &toks, NULL, 0) == GGUF_OK
                                          ? json_integer((json_int_t)toks.count)
                                          : json_null());
    uint64_t ft;
    bool has_ft = gguf_get_u64(&g, "general.file_type", &ft, NULL, 0) == GGUF_OK;
    json_object_set_new(o, "file_type", has_ft ? json_integer((json_int_t)ft) : json_null());
    json_object_set_new(o, "file_type_name", has_ft ? json_string(synth_ftype_name((int)ft)) : json_null());
    json_t *types = json_object();
    uint64_t n_params = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(&g, i);
        n_params += (uint64_t)t->n_elements;
        const char *tn = quant_type_name(t->type);
        json_t *c = json_object_get(types, tn);
        json_object_set_new(types, tn, json_integer(c ? json_integer_value(c) + 1 : 1));
    }
    json_object_set_new(o, "n_params", json_integer((json_int_t)n_params));
    json_object_set_new(o, "n_tensors", json_integer((json_int_t)g.n_tensors));
    json_object_set_new(o, "tensor_types", types);
    gguf_close(&g);
    munmap(map, (size_t)st.st_size);
    return o;
}
