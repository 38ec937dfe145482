/* prof_flame — flame graphs of a profile from its folded stacks
 * (profile_write_folded): the stacks parsed into a tree, drawn as an SVG
 * icicle graph ggperf lays out itself (root on top, children left to right
 * in the order they first appear, width = thread time), and written as
 * speedscope's JSON ("sampled" profile: one sample per stack, weighted by
 * its nanoseconds).
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_PROF_FLAME_H
#define GGPERF_REPORTS_PROF_FLAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct prof_flame_node {
    char *name;
    uint64_t total;                    /* this frame and everything under it */
    uint64_t self;                     /* stacks that end here */
    int n_kids, cap_kids;
    struct prof_flame_node **kids;
};

struct prof_flame {
    struct prof_flame_node root;       /* name "all" */
    int n_stacks;
    int max_depth;
    /* The stacks as read (for speedscope): frames joined by ';'. */
    char **stacks;
    uint64_t *values;
};

/* Parse folded-stack text ("a;b;c 123\n" lines). Returns 0 and *out, or -1
 * with err naming the line that is not "FRAMES VALUE" (a non-negative
 * integer after the last space) or -2 when out of memory. */
int prof_flame_parse(const char *text, struct prof_flame **out, char *err, size_t err_len);
void prof_flame_free(struct prof_flame *f);

/* The SVG icicle graph, width px wide; each frame's <title> gives its
 * stack, its nanoseconds and its share of the root. Returns 0 or -1. */
int prof_flame_svg(FILE *f, const struct prof_flame *fl, const char *title, int width);

/* speedscope JSON, name as the profile's name. Returns 0 or -1. */
int prof_flame_speedscope(FILE *f, const struct prof_flame *fl, const char *name);

#endif
