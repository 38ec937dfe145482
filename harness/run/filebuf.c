/* filebuf — a file's bytes in memory: mapped, copied, or copied into huge
 * pages (see filebuf.h). */
#include "harness/run/filebuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness/machine/sysfs.h"

#define HUGE_ALIGN ((size_t)2 << 20)
#define READ_CHUNK ((size_t)1 << 30)

const char *const filebuf_kind_names[] = { "map", "read", "hugepage", NULL };

static int read_all(int fd, uint8_t *dst, uint64_t size, char *err, size_t err_len)
{
    uint64_t off = 0;
    while (off < size) {
        size_t want = size - off > READ_CHUNK ? READ_CHUNK : (size_t)(size - off);
        ssize_t r = pread(fd, dst + off, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, err_len, "read at byte %" PRIu64 " of %" PRIu64 ": %s", off, size,
                     r < 0 ? strerror(errno) : "unexpected end of file");
            return -1;
        }
        off += (uint64_t)r;
    }
    return 0;
}

int filebuf_load(struct filebuf *b, int fd, uint64_t size, enum filebuf_kind kind, char *err, size_t err_len)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    if (size == 0 || size > SIZE_MAX - 2 * HUGE_ALIGN) {
        snprintf(err, err_len, "cannot hold %" PRIu64 " bytes in memory", size);
        return -1;
    }
    b->size = (size_t)size;
    switch (kind) {
    case FILEBUF_MAP: {
        /* At a 2 MiB boundary and advised MADV_HUGEPAGE: where the file
         * system caches the file in 2 MiB folios (ext4 and xfs with large
         * folios; the advice also makes a fault read ahead in 2 MiB folios
         * when the file is not cached), the kernel maps them with one PMD
         * entry each, which decode's TLB misses notice; folios already
         * cached small stay 4 KiB mappings. filebuf_huge_bytes says which. */
        size_t len = ((b->size + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1)) + HUGE_ALIGN;
        uint8_t *r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED) {
            snprintf(err, err_len, "cannot reserve %zu bytes of address space for the mapping: %s", len,
                     strerror(errno));
            return -1;
        }
        uint8_t *a = (uint8_t *)(((uintptr_t)r + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
        void *p = mmap(a, b->size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
        if (p == MAP_FAILED) {
            snprintf(err, err_len, "mmap of %zu bytes: %s", b->size, strerror(errno));
            munmap(r, len);
            return -1;
        }
        /* give back the reservation around the file's pages */
        const size_t page = (size_t)sysconf(_SC_PAGESIZE);
        uint8_t *end = a + ((b->size + page - 1) & ~(page - 1));
        if (a > r)
            munmap(r, (size_t)(a - r));
        if (r + len > end)
            munmap(end, (size_t)(r + len - end));
        if (filebuf_thp_usable())
            (void)madvise(a, b->size, MADV_HUGEPAGE); /* advice only: EINVAL on a kernel without file THP */
        b->base = a;
        b->base_len = b->size;
        b->bytes = a;
        return 0;
    }
    case FILEBUF_READ:
    case FILEBUF_HUGEPAGE:
        break;
    default:
        snprintf(err, err_len, "unknown placement %d", (int)kind);
        return -1;
    }
    /* a copy bigger than the memory left would end in the OOM killer */
    const uint64_t avail = sysfs_mem_available();
    if (avail && size > avail) {
        snprintf(err, err_len, "a %s copy needs %" PRIu64 " MiB, only %" PRIu64
                 " MiB of memory is available (--weights map needs none)",
                 filebuf_kind_names[kind], size >> 20, avail >> 20);
        return -1;
    }
    switch (kind) {
    case FILEBUF_READ: {
        void *p = NULL;
        size_t len = (b->size + 63) & ~(size_t)63;
        if (posix_memalign(&p, 64, len) != 0) {
            snprintf(err, err_len, "cannot allocate %zu bytes to read the file into (--weights map needs none)",
                     len);
            return -1;
        }
        b->base = p;
        b->base_len = len;
        b->bytes = p;
        break;
    }
    case FILEBUF_HUGEPAGE: {
        /* one spare huge page to align the start; THP needs 2 MiB-aligned
         * 2 MiB extents */
        size_t len = ((b->size + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1)) + HUGE_ALIGN;
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            snprintf(err, err_len, "cannot map %zu anonymous bytes to read the file into: %s", len, strerror(errno));
            return -1;
        }
        b->base = p;
        b->base_len = len;
        uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
        /* EINVAL means a kernel without THP: a 4 KiB copy is still a copy,
         * and filebuf_huge_bytes reports the 0 huge pages it got */
        if (madvise(a, (b->size + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1), MADV_HUGEPAGE) != 0 && errno != EINVAL) {
            snprintf(err, err_len, "madvise(MADV_HUGEPAGE): %s", strerror(errno));
            filebuf_free(b);
            return -1;
        }
        b->bytes = a;
        break;
    }
    default: /* FILEBUF_MAP returned above */
        break;
    }
    if (read_all(fd, (uint8_t *)(uintptr_t)b->bytes, size, err, err_len) != 0) {
        filebuf_free(b);
        return -1;
    }
    return 0;
}

void filebuf_free(struct filebuf *b)
{
    if (!b || !b->base)
        return;
    if (b->kind == FILEBUF_READ)
        free(b->base);
    else
        munmap(b->base, b->base_len);
    b->base = NULL;
    b->bytes = NULL;
    b->base_len = b->size = 0;
}

int64_t filebuf_huge_bytes(const struct filebuf *b)
{
    if (!b || !b->bytes)
        return -1;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    uintptr_t lo = (uintptr_t)b->bytes, hi = lo + b->size;
    char line[512];
    int in = 0, seen = 0;
    int64_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        uintptr_t s, e;
        /* a mapping's header line: "start-end perms offset dev inode path";
         * field lines ("AnonHugePages: 0 kB") have no hex-hex start */
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &s, &e) == 2) {
            in = s < hi && e > lo;
            continue;
        }
        long long v;
        /* a copy's huge pages are anonymous; a mapping's are page-cache
         * folios mapped whole (FilePmdMapped) */
        if (in && (sscanf(line, "AnonHugePages: %lld kB", &v) == 1 || sscanf(line, "FilePmdMapped: %lld kB", &v) == 1)) {
            kb += v;
            seen = 1;
        }
    }
    fclose(f);
    if (!seen)
        return -1;
    /* the mappings extend past the file's last byte (to the end of its last
     * 2 MiB page): count only the file's bytes */
    return kb * 1024 < (int64_t)b->size ? kb * 1024 : (int64_t)b->size;
}

bool filebuf_small_pages(const struct filebuf *b)
{
    const int64_t huge = filebuf_huge_bytes(b);
    return huge >= 0 && (uint64_t)huge < b->size / 2;
}

bool filebuf_thp_usable(void)
{
    char w[32];
    return sysfs_selected("/sys/kernel/mm/transparent_hugepage/enabled", w, sizeof w) == 0 &&
           (strcmp(w, "always") == 0 || strcmp(w, "madvise") == 0);
}

enum filebuf_kind filebuf_fast_kind(uint64_t size, uint64_t avail, bool thp)
{
    if (!thp)
        return FILEBUF_MAP;
    return avail == 0 || size <= avail / 4 * 3 ? FILEBUF_HUGEPAGE : FILEBUF_MAP;
}

double filebuf_resident_fraction(const struct filebuf *b)
{
    if (!b || !b->bytes || !b->size)
        return -1;
    /* The file's bytes only: a huge-page copy's mapping runs on past them. */
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t lo = (uintptr_t)b->bytes & ~(page - 1);
    const size_t len = (size_t)((uintptr_t)b->bytes + b->size - lo);
    const size_t pages = (len + page - 1) / page;
    unsigned char *vec = malloc(pages);
    if (!vec)
        return -1;
    double frac = -1;
    if (mincore((void *)lo, len, vec) == 0) {
        size_t in = 0;
        for (size_t i = 0; i < pages; i++)
            in += vec[i] & 1;
        frac = (double)in / (double)pages;
    }
    free(vec);
    return frac;
}

void filebuf_touch(const struct filebuf *b)
{
    if (!b || !b->bytes)
        return;
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const volatile uint8_t *p = b->bytes;
    uint8_t sink = 0;
    for (size_t off = 0; off < b->size; off += page)
        sink ^= p[off];
    sink ^= p[b->size - 1];
    (void)sink;
}

int filebuf_evict(struct filebuf *b, int fd, char *err, size_t err_len)
{
    if (!b || b->kind != FILEBUF_MAP || !b->base) {
        snprintf(err, err_len, "only a mapping can be evicted (--weights map)");
        return -1;
    }
    if (madvise(b->base, b->base_len, MADV_DONTNEED) != 0) {
        snprintf(err, err_len, "madvise(MADV_DONTNEED): %s", strerror(errno));
        return -1;
    }
    /* Dirty pages (a file just written) are not dropped: write them first. */
    if (fdatasync(fd) != 0 && errno != EINVAL) {
        snprintf(err, err_len, "fdatasync: %s", strerror(errno));
        return -1;
    }
    int e = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (e != 0) {
        snprintf(err, err_len, "posix_fadvise(DONTNEED): %s", strerror(e));
        return -1;
    }
    return 0;
}

void filebuf_io_now(struct filebuf_io *out)
{
    struct rusage ru;
    out->major_faults = getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_majflt : -1;
    out->disk_read_bytes = -1;
    FILE *f = fopen("/proc/self/io", "r");
    if (!f)
        return;
    char line[128];
    while (fgets(line, sizeof line, f)) {
        long long v;
        if (sscanf(line, "read_bytes: %lld", &v) == 1)
            out->disk_read_bytes = v;
    }
    fclose(f);
}
