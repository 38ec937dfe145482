/* prof_flame — folded stacks to a tree, an SVG icicle graph and speedscope
 * JSON (see prof_flame.h). */
#include "reports/prof_flame.h"
#include "base/err.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reports/html.h"

static struct prof_flame_node *child(struct prof_flame_node *n, const char *name, size_t len)
{
    for (int i = 0; i < n->n_kids; i++)
        if (strlen(n->kids[i]->name) == len && memcmp(n->kids[i]->name, name, len) == 0)
            return n->kids[i];
    if (n->n_kids == n->cap_kids) {
        int cap = n->cap_kids ? n->cap_kids * 2 : 4;
        struct prof_flame_node **k = realloc(n->kids, sizeof *k * (size_t)cap);
        if (!k)
            return NULL;
        n->kids = k;
        n->cap_kids = cap;
    }
    struct prof_flame_node *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strndup(name, len))) {
        free(c);
        return NULL;
    }
    n->kids[n->n_kids++] = c;
    return c;
}

static void node_free(struct prof_flame_node *n)
{
    for (int i = 0; i < n->n_kids; i++) {
        node_free(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    free(n->name);
}

void prof_flame_free(struct prof_flame *f)
{
    if (!f)
        return;
    node_free(&f->root);
    for (int i = 0; i < f->n_stacks; i++)
        free(f->stacks[i]);
    free(f->stacks);
    free(f->values);
    free(f);
}

int prof_flame_parse(const char *text, struct prof_flame **out, char *err, size_t err_len)
{
    *out = NULL;
    struct prof_flame *f = calloc(1, sizeof *f);
    if (!f || !(f->root.name = strdup("all"))) {
        free(f);
        return err_fail(err, err_len, -2, "out of memory parsing folded stacks");
    }
    int cap = 0, line = 0;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        if (len == 0) {
            p = eol ? eol + 1 : NULL;
            continue;
        }
        /* The value: digits after the last space. */
        const char *sp = NULL;
        for (size_t i = len; i > 0; i--)
            if (p[i - 1] == ' ') {
                sp = p + i - 1;
                break;
            }
        bool ok = sp && sp > p && sp + 1 < p + len;
        uint64_t v = 0;
        for (const char *q = sp ? sp + 1 : p; ok && q < p + len; q++) {
            if (!isdigit((unsigned char)*q) || v > UINT64_MAX / 10)
                ok = false;
            else
                v = v * 10 + (uint64_t)(*q - '0');
        }
        if (!ok) {
            prof_flame_free(f);
            return err_fail(err, err_len, -1, "folded stacks, line %d: not \"FRAME;FRAME... VALUE\": '%.*s'", line,
                        (int)(len > 80 ? 80 : len), p);
        }
        if (f->n_stacks == cap) {
            cap = cap ? cap * 2 : 256;
            char **s = realloc(f->stacks, sizeof *s * (size_t)cap);
            uint64_t *vv = s ? realloc(f->values, sizeof *vv * (size_t)cap) : NULL;
            if (s)
                f->stacks = s;
            if (vv)
                f->values = vv;
            if (!s || !vv) {
                prof_flame_free(f);
                return err_fail(err, err_len, -2, "out of memory parsing folded stacks");
            }
        }
        f->stacks[f->n_stacks] = strndup(p, (size_t)(sp - p));
        f->values[f->n_stacks] = v;
        if (!f->stacks[f->n_stacks]) {
            prof_flame_free(f);
            return err_fail(err, err_len, -2, "out of memory parsing folded stacks");
        }
        f->n_stacks++;
        struct prof_flame_node *n = &f->root;
        n->total += v;
        const char *fr = p;
        int depth = 0;
        while (fr < sp) {
            const char *semi = memchr(fr, ';', (size_t)(sp - fr));
            const char *end = semi ? semi : sp;
            n = child(n, fr, (size_t)(end - fr));
            if (!n) {
                prof_flame_free(f);
                return err_fail(err, err_len, -2, "out of memory parsing folded stacks");
            }
            n->total += v;
            depth++;
            fr = end + 1;
        }
        n->self += v;
        if (depth > f->max_depth)
            f->max_depth = depth;
        p = eol ? eol + 1 : NULL;
    }
    *out = f;
    return 0;
}

/* A stable colour from the frame name: warm for busy, grey-blue for waits. */
static void colour(const char *name, char *buf, size_t len)
{
    unsigned h = 2166136261u;
    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    if (strstr(name, "wait"))
        snprintf(buf, len, "rgb(%u,%u,%u)", 150 + h % 30, 170 + h % 30, 200 + h % 40);
    else if (strncmp(name, "mm_", 3) == 0)
        snprintf(buf, len, "rgb(%u,%u,%u)", 220 + h % 35, 110 + h % 70, 40 + h % 40);
    else
        snprintf(buf, len, "rgb(%u,%u,%u)", 200 + h % 55, 180 + h % 60, 60 + h % 50);
}

struct svg_ctx {
    FILE *f;
    double scale;       /* px per ns */
    uint64_t root_total;
    int row_h;
    char path[1024];
};

static void draw(struct svg_ctx *c, const struct prof_flame_node *n, double x, int depth)
{
    double w = (double)n->total * c->scale;
    if (w < 0.3)
        return;
    size_t plen = strlen(c->path);
    if (depth > 0)
        snprintf(c->path + plen, sizeof c->path - plen, "%s%s", plen ? ";" : "", n->name);
    char col[32];
    colour(n->name, col, sizeof col);
    int y = depth * c->row_h + 24;
    fprintf(c->f, "<g><title>");
    html_escape(c->f, depth > 0 ? c->path : n->name);
    fprintf(c->f, " — %" PRIu64 " ns (%.2f%%)</title>", n->total,
            c->root_total ? 100.0 * (double)n->total / (double)c->root_total : 0.0);
    fprintf(c->f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" stroke=\"#fff\" "
                  "stroke-width=\"0.5\"/>",
            x, y, w, c->row_h - 1, col);
    /* A label when it fits (about 6.5 px per character at 11 px). */
    int fit = (int)((w - 6) / 6.5);
    if (fit >= 3) {
        char label[128];
        size_t nl = strlen(n->name);
        if ((int)nl <= fit)
            snprintf(label, sizeof label, "%s", n->name);
        else
            snprintf(label, sizeof label, "%.*s..", fit - 2 > 0 ? fit - 2 : 0, n->name);
        fprintf(c->f, "<text x=\"%.2f\" y=\"%d\">", x + 3, y + c->row_h - 5);
        html_escape(c->f, label);
        fprintf(c->f, "</text>");
    }
    fprintf(c->f, "</g>\n");
    double cx = x;
    for (int i = 0; i < n->n_kids; i++) {
        draw(c, n->kids[i], cx, depth + 1);
        cx += (double)n->kids[i]->total * c->scale;
    }
    c->path[plen] = '\0';
}

int prof_flame_svg(FILE *f, const struct prof_flame *fl, const char *title, int width)
{
    struct svg_ctx c = { f, 0, fl->root.total, 18, "" };
    if (width < 100)
        width = 100;
    c.scale = fl->root.total ? (double)(width - 20) / (double)fl->root.total : 0;
    int height = (fl->max_depth + 1) * c.row_h + 34;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans Mono,monospace\" font-size=\"11\">\n",
            width, height, width, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fdfdf8\"/>\n<text x=\"10\" y=\"16\" font-size=\"13\">");
    html_escape(f, title ? title : "");
    fprintf(f, "</text>\n<g transform=\"translate(10,0)\">\n");
    draw(&c, &fl->root, 0, 0);
    fprintf(f, "</g>\n</svg>\n");
    return ferror(f) ? -1 : 0;
}

int prof_flame_speedscope(FILE *f, const struct prof_flame *fl, const char *name)
{
    json_t *frames = json_array(), *index = json_object(), *samples = json_array(), *weights = json_array();
    int rc = -1;
    if (!frames || !index || !samples || !weights)
        goto out;
    for (int i = 0; i < fl->n_stacks; i++) {
        json_t *s = json_array();
        const char *fr = fl->stacks[i];
        while (*fr) {
            const char *semi = strchr(fr, ';');
            size_t len = semi ? (size_t)(semi - fr) : strlen(fr);
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)len, fr);
            json_t *idx = json_object_get(index, key);
            if (!idx) {
                idx = json_integer((json_int_t)json_array_size(frames));
                json_object_set_new(index, key, idx);
                json_array_append_new(frames, json_pack("{s:s}", "name", key));
            }
            json_array_append(s, idx);
            fr += len + (semi ? 1 : 0);
        }
        json_array_append_new(samples, s);
        json_array_append_new(weights, json_integer((json_int_t)fl->values[i]));
    }
    json_t *doc = json_pack("{s:s,s:{s:O},s:[{s:s,s:s,s:s,s:i,s:I,s:O,s:O}],s:s,s:s}",
                            "$schema", "https://www.speedscope.app/file-format-schema.json", "shared", "frames",
                            frames, "profiles", "type", "sampled", "name", name ? name : "ggperf profile", "unit",
                            "nanoseconds", "startValue", 0, "endValue", (json_int_t)fl->root.total, "samples",
                            samples, "weights", weights, "name", name ? name : "ggperf profile", "exporter",
                            "ggperf profile");
    if (doc) {
        rc = json_dumpf(doc, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF ? 0 : -1;
        json_decref(doc);
    }
out:
    json_decref(frames);
    json_decref(index);
    json_decref(samples);
    json_decref(weights);
    return rc;
}
