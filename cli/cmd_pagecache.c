/* ggperf pagecache — how much of a file is in the page cache, and put it
 * there or take it out: the check every timing of a mapped model needs
 * (the kernel evicts page cache on its own), usable on files another tool
 * reads too (scripts/compare-llamacpp.sh checks llama.cpp's side with it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "harness/run/filebuf.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf pagecache [--warm | --evict] [-o text|json] FILE...\n\n"
               "Print the fraction of each file's pages in the page cache (mincore over a mapping).\n"
               "  --warm    read the file through a mapping first (one byte a page); the mapping\n"
               "            is advised MADV_HUGEPAGE, so what comes from disk is cached in 2 MiB\n"
               "            folios where the file system can (JSON: huge_fraction, the share\n"
               "            mapped as 2 MiB pages)\n"
               "  --evict   drop the file's clean pages from the page cache first\n"
               "            (fdatasync + posix_fadvise DONTNEED; pages other processes map stay)\n"
               "  -o FMT    text (default): \"FRACTION FILE\" a line; json: an array of objects\n"
               "Exit status: 0, 1 when a file cannot be read, 2 on a usage error.\n");
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    int warm = 0, evict = 0, json = 0, first = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--warm")) {
            warm = 1;
        } else if (!strcmp(argv[i], "--evict")) {
            evict = 1;
        } else if (!strcmp(argv[i], "-o")) {
            static const char *const fmts[] = { "text", "json", NULL };
            if (i + 1 >= argc)
                return cli_error(CLI_EUSAGE, "-o: missing value");
            if ((json = cli_parse_choice("-o", argv[++i], fmts)) < 0)
                return CLI_EUSAGE;
        } else if (argv[i][0] == '-') {
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf pagecache --help)", argv[i]);
        } else {
            first = i;
            break;
        }
    }
    if (warm && evict)
        return cli_error(CLI_EUSAGE, "--warm and --evict: choose one");
    if (!first)
        return cli_error(CLI_EUSAGE, "no FILE given (usage: ggperf pagecache [--warm|--evict] FILE...)");
    int rc = CLI_OK;
    if (json)
        printf("[");
    for (int i = first, n = 0; i < argc; i++) {
        char err[256];
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
            rc = cli_error(CLI_EFAIL, "%s: %s", argv[i],
                           fd < 0 ? strerror(errno) : "not a non-empty regular file");
            if (fd >= 0)
                close(fd);
            continue;
        }
        struct filebuf b;
        if (filebuf_load(&b, fd, (uint64_t)st.st_size, FILEBUF_MAP, err, sizeof err) != 0) {
            rc = cli_error(CLI_EFAIL, "%s: %s", argv[i], err);
            close(fd);
            continue;
        }
        int64_t huge = -1;
        if (warm) {
            filebuf_touch(&b);
            huge = filebuf_huge_bytes(&b);
        }
        if (evict && filebuf_evict(&b, fd, err, sizeof err) != 0)
            rc = cli_error(CLI_EFAIL, "%s: %s", argv[i], err);
        double f = filebuf_resident_fraction(&b);
        filebuf_free(&b);
        close(fd);
        if (f < 0) {
            rc = cli_error(CLI_EFAIL, "%s: mincore failed", argv[i]);
            continue;
        }
        if (json) {
            json_t *js = json_string(argv[i]);
            char *name = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL; /* quoted and escaped */
            json_decref(js);
            char hf[32] = "";
            if (huge >= 0)
                snprintf(hf, sizeof hf, ", \"huge_fraction\": %.4f", (double)huge / (double)st.st_size);
            printf("%s\n  {\"file\": %s, \"bytes\": %lld, \"resident_fraction\": %.4f%s}", n++ ? "," : "",
                   name ? name : "null", (long long)st.st_size, f, hf);
            free(name);
        }
        else
            printf("%.4f %s\n", f, argv[i]);
    }
    if (json)
        printf("\n]\n");
    return rc;
}

const struct cli_cmd cmd_pagecache = { "pagecache", "page-cache residency of files (mincore); --warm, --evict", run };
