/* outdir — a report directory with a manifest of what ggperf wrote (see outdir.h). */
#include "reports/outdir.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_MAGIC "# ggperf report manifest v1"
#define NAME_MAX_LEN 128

struct outdir {
    char path[PATH_MAX];
    int dfd;
    bool force;
    char **old;       /* names of the previous manifest */
    size_t n_old;
    char **planned;
    size_t n_planned;
};

bool outdir_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool in_list(char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static int push(char ***list, size_t *n, const char *name)
{
    char **p = realloc(*list, (*n + 1) * sizeof *p);
    if (!p)
        return -1;
    *list = p;
    if (!(p[*n] = strdup(name)))
        return -1;
    (*n)++;
    return 0;
}

/* Reads the previous manifest; a missing or foreign one owns nothing. */
static int read_manifest(struct outdir *d)
{
    int fd = openat(d->dfd, OUTDIR_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return 0;
    }
    char line[NAME_MAX_LEN + 8];
    bool magic = fgets(line, sizeof line, f) && strncmp(line, MANIFEST_MAGIC, strlen(MANIFEST_MAGIC)) == 0;
    int rc = 0;
    while (magic && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (outdir_name_ok(line) && !in_list(d->old, d->n_old, line) && push(&d->old, &d->n_old, line) != 0) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int outdir_open(struct outdir **out, const char *path, bool force, char *err, size_t err_len)
{
    *out = NULL;
    if (!path || !*path)
        return err_fail(err, err_len, OUTDIR_EINVAL, "report: empty output directory");
    struct outdir *d = calloc(1, sizeof *d);
    if (!d)
        return err_fail(err, err_len, OUTDIR_ENOMEM, "report: out of memory");
    d->dfd = -1;
    d->force = force;
    int w = snprintf(d->path, sizeof d->path, "%s", path);
    if (w < 0 || (size_t)w >= sizeof d->path) {
        free(d);
        return err_fail(err, err_len, OUTDIR_EINVAL, "%s: path too long", path);
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        free(d);
        return err_fail(err, err_len, OUTDIR_EIO, "%s: cannot create the report directory: %s", path, strerror(e));
    }
    d->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dfd < 0) {
        int e = errno;
        free(d);
        return err_fail(err, err_len, OUTDIR_EIO, "%s: cannot open the report directory: %s", path,
                    e == ENOTDIR ? "exists and is not a directory" : strerror(e));
    }
    if (read_manifest(d) != 0) {
        outdir_close(d, NULL, 0);
        return err_fail(err, err_len, OUTDIR_ENOMEM, "report: out of memory");
    }
    *out = d;
    return OUTDIR_OK;
}

/* Writes the manifest with the given names (temporary + rename). */
static int write_manifest(struct outdir *d, char *const *a, size_t na, char *const *b, size_t nb, char *err,
                          size_t err_len)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", OUTDIR_MANIFEST, (long)getpid());
    unlinkat(d->dfd, tmp, 0);
    int fd = openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_fail(err, err_len, OUTDIR_EIO, "%s/%s: cannot create: %s", d->path, tmp, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlinkat(d->dfd, tmp, 0);
        return err_fail(err, err_len, OUTDIR_ENOMEM, "report: out of memory");
    }
    fprintf(f, "%s\n", MANIFEST_MAGIC);
    for (size_t i = 0; i < na; i++)
        fprintf(f, "%s\n", a[i]);
    for (size_t i = 0; i < nb; i++)
        if (!in_list(a, na, b[i]))
            fprintf(f, "%s\n", b[i]);
    bool bad = fflush(f) != 0 || ferror(f);
    bad = fclose(f) != 0 || bad;
    if (bad || renameat(d->dfd, tmp, d->dfd, OUTDIR_MANIFEST) != 0) {
        int e = errno;
        unlinkat(d->dfd, tmp, 0);
        return err_fail(err, err_len, OUTDIR_EIO, "%s/%s: cannot write: %s", d->path, OUTDIR_MANIFEST, strerror(e));
    }
    return OUTDIR_OK;
}

int outdir_plan(struct outdir *d, const char *const *names, size_t n, char *err, size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        if (!outdir_name_ok(names[i]) || strcmp(names[i], OUTDIR_MANIFEST) == 0)
            return err_fail(err, err_len, OUTDIR_EINVAL, "report: '%s' is not a safe file name", names[i]);
        struct stat st;
        if (fstatat(d->dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            return err_fail(err, err_len, OUTDIR_EEXIST, "%s/%s: is a directory, not replacing it", d->path, names[i]);
        if (!d->force && !in_list(d->old, d->n_old, names[i]))
            return err_fail(err, err_len, OUTDIR_EEXIST,
                        "%s/%s: exists and was not written by ggperf report (use --force to replace it)", d->path,
                        names[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (!in_list(d->planned, d->n_planned, names[i]) && push(&d->planned, &d->n_planned, names[i]) != 0)
            return err_fail(err, err_len, OUTDIR_ENOMEM, "report: out of memory");
    /* claim the names before the first byte is written: a report cut short
     * still owns what it left behind */
    int rc = write_manifest(d, d->old, d->n_old, d->planned, d->n_planned, err, err_len);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (unlinkat(d->dfd, names[i], 0) != 0 && errno != ENOENT)
            return err_fail(err, err_len, OUTDIR_EIO, "%s/%s: cannot remove the old file: %s", d->path, names[i],
                        strerror(errno));
    return OUTDIR_OK;
}

bool outdir_planned(const struct outdir *d, const char *name)
{
    return in_list(d->planned, d->n_planned, name);
}

static void tmp_name(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, ".%s.tmp.%ld", name, (long)getpid());
}

FILE *outdir_create(struct outdir *d, const char *name, char *err, size_t err_len)
{
    if (!outdir_planned(d, name)) {
        err_fail(err, err_len, OUTDIR_EINVAL, "report: '%s' was not planned", name);
        return NULL;
    }
    char tmp[NAME_MAX_LEN + 32];
    tmp_name(tmp, sizeof tmp, name);
    unlinkat(d->dfd, tmp, 0);
    int fd = openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_fail(err, err_len, OUTDIR_EIO, "%s/%s: cannot create: %s", d->path, tmp, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlinkat(d->dfd, tmp, 0);
        err_fail(err, err_len, OUTDIR_ENOMEM, "report: out of memory");
    }
    return f;
}

int outdir_commit(struct outdir *d, FILE *f, const char *name, char *err, size_t err_len)
{
    char tmp[NAME_MAX_LEN + 32];
    tmp_name(tmp, sizeof tmp, name);
    bool bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    if (!bad && renameat(d->dfd, tmp, d->dfd, name) != 0) {
        bad = true;
        e = errno;
    }
    if (bad) {
        unlinkat(d->dfd, tmp, 0);
        return err_fail(err, err_len, OUTDIR_EIO, "%s/%s: write failed: %s", d->path, name, strerror(e));
    }
    return OUTDIR_OK;
}

void outdir_discard(struct outdir *d, FILE *f, const char *name)
{
    char tmp[NAME_MAX_LEN + 32];
    tmp_name(tmp, sizeof tmp, name);
    if (f)
        fclose(f);
    unlinkat(d->dfd, tmp, 0);
}

const char *outdir_path(const struct outdir *d)
{
    return d->path;
}

int outdir_fd(const struct outdir *d)
{
    return d->dfd;
}

int outdir_close(struct outdir *d, char *err, size_t err_len)
{
    if (!d)
        return OUTDIR_OK;
    int rc = OUTDIR_OK;
    if (d->n_planned) {
        rc = write_manifest(d, d->planned, d->n_planned, NULL, 0, err, err_len);
        if (rc == 0)
            for (size_t i = 0; i < d->n_old; i++)
                if (!in_list(d->planned, d->n_planned, d->old[i]))
                    unlinkat(d->dfd, d->old[i], 0);
    }
    if (d->dfd >= 0)
        close(d->dfd);
    free_list(d->old, d->n_old);
    free_list(d->planned, d->n_planned);
    free(d);
    return rc;
}
