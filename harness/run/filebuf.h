/* filebuf — a file's bytes in memory, placed one of three ways:
 *
 *   map       mmap(PROT_READ, MAP_PRIVATE) of the file at a 2 MiB boundary,
 *             advised MADV_HUGEPAGE: no copy, the pages are the page cache's
 *             (file-backed RSS); where the file system caches the file in
 *             2 MiB folios they are mapped as huge pages (on this VM's ext4
 *             after a fault-driven read: 78 of 80 MiB of a 110m file), else
 *             4 KiB pages wherever the kernel put them
 *   read      read() into 64-byte aligned heap memory (anonymous RSS,
 *             4 KiB pages)
 *   hugepage  read() into anonymous memory aligned to 2 MiB and advised
 *             MADV_HUGEPAGE, so transparent huge pages can back it (when
 *             THP is "never" it is a 4 KiB-page copy; filebuf_huge_bytes
 *             says what was obtained)
 *
 * Why the choice matters beyond load time: decode streams every weight
 * once per token, and on the VM this was written on it ran up to 20%
 * faster from 2 MiB pages than from page-cache pages scattered over
 * physical memory (1.1B Q4_0, 1 thread: 17.5 vs 21.3 tok/s; re-reading the
 * file into a fresh page cache got the mapping to 20.4). The session's
 * --weights flag and the decode workload's weights axis expose it.
 */
#ifndef GGPERF_HARNESS_FILEBUF_H
#define GGPERF_HARNESS_FILEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum filebuf_kind { FILEBUF_MAP = 0, FILEBUF_READ = 1, FILEBUF_HUGEPAGE = 2 };

/* Names in enum order, NULL-terminated: "map", "read", "hugepage". */
extern const char *const filebuf_kind_names[];

struct filebuf {
    const uint8_t *bytes;    /* the file's bytes, size of them */
    size_t size;
    enum filebuf_kind kind;
    void *base;              /* owned: the mapping, heap block or anonymous mapping */
    size_t base_len;
};

/* Put the size bytes of the open file fd in memory the kind's way. Returns
 * 0, or -1 with a message (the failing call and the byte offset for a
 * short read; nothing is left allocated). size must be > 0. */
int filebuf_load(struct filebuf *b, int fd, uint64_t size, enum filebuf_kind kind, char *err, size_t err_len);

/* Release what filebuf_load took; safe on a zeroed or released buffer. */
void filebuf_free(struct filebuf *b);

/* True when transparent huge pages can back a MADV_HUGEPAGE region here
 * (/sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise"). */
bool filebuf_thp_usable(void);

/* The fastest placement for decode that is safe for a file of size bytes:
 * hugepage when thp (filebuf_thp_usable) and the copy takes at most 3/4 of
 * avail (MemAvailable; 0 = unknown, assumed to fit), else map: a 4 KiB
 * copy decodes slower than the mapping, and a model too big to copy stays
 * mapped, where it pages instead of failing. */
enum filebuf_kind filebuf_fast_kind(uint64_t size, uint64_t avail, bool thp);

/* Bytes of b backed by transparent huge pages now (AnonHugePages of a
 * copy, FilePmdMapped of a mapping: page-cache folios of 2 MiB mapped
 * whole; the mappings b spans in /proc/self/smaps, at most b->size: a
 * copy's mapping runs on to the end of its last 2 MiB page), or -1 when
 * that cannot be read. */
int64_t filebuf_huge_bytes(const struct filebuf *b);

/* True when under half of b's bytes are in 2 MiB pages now, the engine's
 * infer_opts.small_pages. A mapping's pages are mapped as they are
 * touched, and untouched ones count as small: ask after a warm-up pass.
 * False when /proc/self/smaps cannot say (the kernels for large pages are
 * the default). */
bool filebuf_small_pages(const struct filebuf *b);

/* ---- residency: know where the weights are before timing them ----------
 * The kernel reclaims page cache on its own (a file read 30 minutes earlier
 * was 99% evicted with 15 GB free on these VMs), and a run that faults its
 * weights in from disk measures the disk. */

/* Fraction of the pages holding b's size bytes resident now (mincore: the
 * page cache's state for a mapping, the process's pages for a copy), or -1
 * when mincore fails or b is empty. */
double filebuf_resident_fraction(const struct filebuf *b);

/* Read one byte of every page of b so its pages are resident (for a
 * mapping: the file's pages come into the page cache). */
void filebuf_touch(const struct filebuf *b);

/* Drop a mapping's pages from this process and ask the kernel to drop the
 * file's clean pages from the page cache (madvise MADV_DONTNEED, then
 * fdatasync and posix_fadvise POSIX_FADV_DONTNEED on fd): for tests that must show a
 * non-resident run. Returns 0, or -1 with a message (b is not a mapping, or
 * a call failed). Pages mapped by other processes stay. */
int filebuf_evict(struct filebuf *b, int fd, char *err, size_t err_len);

/* This process's major page faults and bytes read from storage so far
 * (getrusage ru_majflt; /proc/self/io read_bytes, -1 when unreadable):
 * take them before and after a timed region. */
struct filebuf_io {
    int64_t major_faults;
    int64_t disk_read_bytes;
};
void filebuf_io_now(struct filebuf_io *out);

#endif
