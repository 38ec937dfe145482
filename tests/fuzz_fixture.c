/* fuzz_fixture — replaying fuzz/regress and fuzz/seeds inputs through a
 * fuzz target's entry point as test cases (see fuzz_fixture.h). */
#include "tests/fuzz_fixture.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/testutil.h"

struct fzx_list {
    char target[32];
    int n;
    char *paths[FZX_MAX_INPUTS];
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir appended to l, sorted. */
static void add_dir(struct fzx_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    int first = l->n;
    struct dirent *e;
    while ((e = readdir(d)) && l->n < FZX_MAX_INPUTS) {
        char path[PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        char *p = strdup(path);
        if (p)
            l->paths[l->n++] = p;
    }
    closedir(d);
    qsort(l->paths + first, (size_t)(l->n - first), sizeof l->paths[0], cmp_str);
}

int fzx_inputs(const char *target, const char *const **paths)
{
    static struct fzx_list lists[4];
    struct fzx_list *l = NULL;
    for (int i = 0; i < 4 && !l; i++)
        if (strcmp(lists[i].target, target) == 0 || !lists[i].target[0])
            l = &lists[i];
    if (!l)
        return 0;
    if (!l->target[0]) {
        snprintf(l->target, sizeof l->target, "%s", target);
        const char *root = getenv("GGPERF_FUZZ_DIR");
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/regress/%s", root ? root : "fuzz", target);
        add_dir(l, dir);
        snprintf(dir, sizeof dir, "%s/seeds/%s", root ? root : "fuzz", target);
        add_dir(l, dir);
    }
    *paths = (const char *const *)l->paths;
    return l->n;
}

int fzx_run(const char *path, int (*entry)(const uint8_t *data, size_t size))
{
    size_t n;
    uint8_t *data = tu_read_file(path, &n);
    if (!data)
        return -1;
    printf("fuzz input %s (%zu bytes)\n", path, n);
    fflush(stdout);
    int rc = entry(data, n);
    free(data);
    return rc;
}
