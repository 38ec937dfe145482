/* ggperf info — print a GGUF file's header, metadata, tensors, totals per
 * type and the model's hyper-parameters, as text or one JSON document.
 *
 * The file is mapped read-only and validated by gguf_open_alloc; only the
 * pages holding the header, metadata and tensor infos are touched. Output is
 * streamed (JSON written by hand), so memory is a small constant plus the
 * index plus the mapping, whatever the file holds. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/sigbus.h"
#include "engine/gguf.h"
#include "engine/quant.h"
#include "cli/cli.h"
#include "harness/run/session.h"

#define USAGE "usage: ggperf info MODEL.gguf [--json]"

/* Arrays longer than this print their first ARRAY_HEAD elements only. */
enum { ARRAY_FULL = 6, ARRAY_HEAD = 3, ARRAY_SHOW_DEPTH = 3, TEXT_STR_MAX = 160 };

/* --- strings -------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, uint64_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

/* Text: C-style escapes for quotes, backslashes and control bytes; valid
 * UTF-8 as is, other bytes as \xNN. At most max bytes of s are shown. */
static void text_escaped(FILE *f, const char *s, uint64_t n, uint64_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t i = 0;
    while (i < n && i < max) {
        unsigned char c = p[i];
        size_t l = utf8_len(p + i, n - i);
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c < 0x20 || c == 0x7f || l == 0) {
            fprintf(f, "\\x%02x", c);
        } else {
            fwrite(p + i, 1, l, f);
            i += l;
            continue;
        }
        i++;
    }
    if (i < n)
        fputs("...", f);
}

static void text_quoted(FILE *f, struct gguf_str s, uint64_t max)
{
    fputc('"', f);
    text_escaped(f, s.ptr, s.len, max);
    fputc('"', f);
    if (s.len > max)
        fprintf(f, " (%" PRIu64 " bytes)", s.len);
}

/* JSON string: RFC 8259 escapes; bytes that are not valid UTF-8 become
 * U+FFFD so the document stays valid. */
static void json_str(FILE *f, const char *s, uint64_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (uint64_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t l = utf8_len(p + i, n - i);
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else if (l == 0) {
            fputs("\\ufffd", f);
        } else {
            fwrite(p + i, 1, l, f);
            i += l;
            continue;
        }
        i++;
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s) { json_str(f, s, strlen(s)); }

/* --- numbers -------------------------------------------------------- */

/* Shortest %g form that reads back as the same float / double. */
static void fmt_f32(char *buf, size_t len, float v)
{
    if (v == truncf(v) && fabsf(v) < 1e15f) { /* 10000, not 1e+04 */
        snprintf(buf, len, "%.0f", (double)v);
        return;
    }
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, len, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v)
            return;
    }
}

static void fmt_f64(char *buf, size_t len, double v)
{
    if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static bool is_float(enum gguf_vtype t) { return t == GGUF_VT_FLOAT32 || t == GGUF_VT_FLOAT64; }
static bool is_signed(enum gguf_vtype t)
{
    return t == GGUF_VT_INT8 || t == GGUF_VT_INT16 || t == GGUF_VT_INT32 || t == GGUF_VT_INT64;
}

/* A scalar (not string, not array) as text; JSON-compatible except that
 * non-finite floats need json_scalar. */
static void scalar_text(FILE *f, const struct gguf_value *v)
{
    char buf[64];
    if (v->type == GGUF_VT_BOOL)
        fputs(v->v.u64 ? "true" : "false", f);
    else if (is_signed(v->type))
        fprintf(f, "%" PRId64, v->v.i64);
    else if (v->type == GGUF_VT_FLOAT32) {
        fmt_f32(buf, sizeof buf, (float)v->v.f64);
        fputs(buf, f);
    } else if (v->type == GGUF_VT_FLOAT64) {
        fmt_f64(buf, sizeof buf, v->v.f64);
        fputs(buf, f);
    } else
        fprintf(f, "%" PRIu64, v->v.u64);
}

static void scalar_json(FILE *f, const struct gguf_value *v)
{
    if (is_float(v->type) && !isfinite(v->v.f64))
        fputs("null", f);
    else
        scalar_text(f, v);
}

/* Element i of a fixed-size array as a value. */
static void array_elem(const struct gguf_array *a, uint64_t i, struct gguf_value *v)
{
    v->type = a->elem_type;
    if (is_float(a->elem_type))
        v->v.f64 = gguf_array_f64(a, i);
    else if (is_signed(a->elem_type))
        v->v.i64 = gguf_array_i64(a, i);
    else
        v->v.u64 = gguf_array_u64(a, i);
}

/* --- values --------------------------------------------------------- */

static void value_text(FILE *f, const struct gguf_value *v, int level);

/* Element i of a (pos: the walk's cursor for strings and nested arrays,
 * which have no fixed stride); false past a malformed element. */
static bool array_at(const struct gguf_array *a, uint64_t i, uint64_t *pos, struct gguf_value *e)
{
    if (a->elem_type == GGUF_VT_STRING || a->elem_type == GGUF_VT_ARRAY)
        return gguf_array_next(a, pos, e);
    array_elem(a, i, e);
    return true;
}

static void array_text(FILE *f, const struct gguf_array *a, int level)
{
    bool full = a->count <= ARRAY_FULL;
    uint64_t show = full ? a->count : ARRAY_HEAD;
    if (level >= ARRAY_SHOW_DEPTH) {
        fprintf(f, "[%" PRIu64 " %ss]", a->count, gguf_vtype_name(a->elem_type));
        return;
    }
    fputc('[', f);
    if (!full)
        fprintf(f, "%" PRIu64 " %ss: ", a->count, gguf_vtype_name(a->elem_type));
    uint64_t pos = 0;
    for (uint64_t i = 0; i < show; i++) {
        struct gguf_value e;
        if (!array_at(a, i, &pos, &e))
            break;
        if (i)
            fputs(", ", f);
        value_text(f, &e, level + 1);
    }
    fputs(full ? "]" : ", ... ]", f);
}

static void value_text(FILE *f, const struct gguf_value *v, int level)
{
    if (v->type == GGUF_VT_STRING)
        text_quoted(f, v->v.str, level ? TEXT_STR_MAX / 4 : TEXT_STR_MAX);
    else if (v->type == GGUF_VT_ARRAY)
        array_text(f, &v->v.arr, level);
    else
        scalar_text(f, v);
}

static void value_json(FILE *f, const struct gguf_value *v, int level);

/* {"elem_type": T, "count": N, "complete": B, "values": [...]} */
static void array_json(FILE *f, const struct gguf_array *a, int level)
{
    bool full = a->count <= ARRAY_FULL && level < ARRAY_SHOW_DEPTH;
    uint64_t show = level >= ARRAY_SHOW_DEPTH ? 0 : full ? a->count : ARRAY_HEAD;
    fprintf(f, "{\"elem_type\": \"%s\", \"count\": %" PRIu64 ", \"complete\": %s, \"values\": [",
            gguf_vtype_name(a->elem_type), a->count, full ? "true" : "false");
    uint64_t pos = 0;
    for (uint64_t i = 0; i < show; i++) {
        struct gguf_value e;
        if (!array_at(a, i, &pos, &e))
            break;
        if (i)
            fputs(", ", f);
        value_json(f, &e, level + 1);
    }
    fputs("]}", f);
}

static void value_json(FILE *f, const struct gguf_value *v, int level)
{
    if (v->type == GGUF_VT_STRING)
        json_str(f, v->v.str.ptr, v->v.str.len);
    else if (v->type == GGUF_VT_ARRAY)
        array_json(f, &v->v.arr, level);
    else
        scalar_json(f, v);
}

/* Type column: "uint32", "array[string]", "array[array]". */
static const char *type_label(char *buf, size_t len, const struct gguf_value *v)
{
    if (v->type != GGUF_VT_ARRAY)
        return gguf_vtype_name(v->type);
    snprintf(buf, len, "array[%s]", gguf_vtype_name(v->v.arr.elem_type));
    return buf;
}

/* --- tensors -------------------------------------------------------- */

/* Largest power of two dividing a file offset, capped at 4096. */
static uint64_t offset_alignment(uint64_t off)
{
    if (off == 0)
        return 4096;
    uint64_t a = off & (~off + 1);
    return a > 4096 ? 4096 : a;
}

static void shape_text(FILE *f, const struct gguf_tensor *t)
{
    fputc('[', f);
    for (uint32_t d = 0; d < t->n_dims; d++)
        fprintf(f, "%s%" PRId64, d ? ", " : "", t->ne[d]);
    fputc(']', f);
}

struct type_total {
    uint64_t count, bytes;
};

static void totals(const struct gguf *g, struct type_total tot[QT_COUNT])
{
    memset(tot, 0, sizeof(struct type_total) * QT_COUNT);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        tot[t->type].count++;
        tot[t->type].bytes += t->n_bytes;
    }
}

/* --- hyper-parameters ------------------------------------------------ */

enum hp_kind { HP_UINT, HP_FLOAT };
struct hparam {
    const char *name;   /* suffix after "<arch>." */
    enum hp_kind kind;
};
static const struct hparam hparams[] = {
    { "embedding_length", HP_UINT },
    { "feed_forward_length", HP_UINT },
    { "block_count", HP_UINT },
    { "attention.head_count", HP_UINT },
    { "attention.head_count_kv", HP_UINT },
    { "context_length", HP_UINT },
    { "rope.freq_base", HP_FLOAT },
    { "attention.layer_norm_rms_epsilon", HP_FLOAT },
};
#define N_HPARAMS (sizeof hparams / sizeof hparams[0])

/* One hyper-parameter resolved: rc GGUF_OK (value in text), ENOTFOUND or
 * EMISMATCH (message in text). */
struct hp_value {
    int rc;
    bool is_float;
    uint64_t u;
    float fl;
    char text[192];
};

static void hp_get(const struct gguf *g, struct gguf_str arch, const struct hparam *h, struct hp_value *out)
{
    char key[256];
    snprintf(key, sizeof key, "%.*s.%s", (int)arch.len, arch.ptr, h->name);
    out->is_float = h->kind == HP_FLOAT;
    if (h->kind == HP_UINT)
        out->rc = gguf_get_u64(g, key, &out->u, out->text, sizeof out->text);
    else
        out->rc = gguf_get_f32(g, key, &out->fl, out->text, sizeof out->text);
    if (out->rc == GGUF_OK) {
        if (out->is_float)
            fmt_f32(out->text, sizeof out->text, out->fl);
        else
            snprintf(out->text, sizeof out->text, "%" PRIu64, out->u);
    }
}

static void vocab_get(const struct gguf *g, struct hp_value *out)
{
    struct gguf_array a;
    out->is_float = false;
    out->rc = gguf_get_arr(g, "tokenizer.ggml.tokens", &a, out->text, sizeof out->text);
    if (out->rc == GGUF_OK) {
        out->u = a.count;
        snprintf(out->text, sizeof out->text, "%" PRIu64, a.count);
    }
}

/* The architecture string, if present and short enough to build keys from. */
static bool arch_of(const struct gguf *g, struct gguf_str *arch)
{
    return gguf_get_str(g, "general.architecture", arch, NULL, 0) == GGUF_OK && arch->len <= 128;
}

/* --- text output ----------------------------------------------------- */

static void print_text(FILE *f, const char *path, const struct gguf *g)
{
    fprintf(f, "file:          %s\n", path);
    fprintf(f, "size:          %" PRIu64 " bytes\n", g->size);
    fprintf(f, "version:       %" PRIu32 "\n", g->version);
    fprintf(f, "tensors:       %" PRIu64 "\n", g->n_tensors);
    fprintf(f, "metadata keys: %" PRIu64 "\n", g->n_kv);
    fprintf(f, "alignment:     %" PRIu64 "\n", g->alignment);
    fprintf(f, "data offset:   %" PRIu64 "\n", g->data_offset);
    fprintf(f, "data bytes:    %" PRIu64 "\n", g->data_bytes);

    int key_w = 0;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        uint64_t l = gguf_kv_at(g, i)->key.len;
        if ((int)l > key_w)
            key_w = l > 48 ? 48 : (int)l;
    }
    fprintf(f, "\nmetadata (%" PRIu64 " keys):\n", g->n_kv);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const struct gguf_kv *kv = gguf_kv_at(g, i);
        char tl[32];
        fputs("  ", f);
        text_escaped(f, kv->key.ptr, kv->key.len, 256);
        int pad = key_w - (int)(kv->key.len < 256 ? kv->key.len : 256);
        fprintf(f, "%*s  %-14s ", pad > 0 ? pad : 0, "", type_label(tl, sizeof tl, &kv->value));
        value_text(f, &kv->value, 0);
        fputc('\n', f);
    }

    int name_w = 4;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        uint64_t l = gguf_tensor_at(g, i)->name.len;
        if ((int)l > name_w)
            name_w = l > 64 ? 64 : (int)l;
    }
    fprintf(f, "\ntensors (%" PRIu64 "):\n", g->n_tensors);
    fprintf(f, "  %5s  %-*s  %-8s  %-24s  %12s  %12s  %5s\n", "#", name_w, "name", "type", "shape", "bytes",
            "offset", "align");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        uint64_t off = g->data_offset + t->offset;
        fprintf(f, "  %5" PRIu64 "  ", i);
        text_escaped(f, t->name.ptr, t->name.len, 256);
        int pad = name_w - (int)(t->name.len < 256 ? t->name.len : 256);
        fprintf(f, "%*s  %-8s  ", pad > 0 ? pad : 0, "", quant_type_name(t->type));
        char shape[128];
        int n = 0;
        for (uint32_t d = 0; d < t->n_dims; d++)
            n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%" PRId64, d ? ", " : "[", t->ne[d]);
        snprintf(shape + n, sizeof shape - (size_t)n, "]");
        fprintf(f, "%-24s  %12" PRIu64 "  %12" PRIu64 "  %5" PRIu64 "\n", shape, t->n_bytes, off,
                offset_alignment(off));
    }

    struct type_total tot[QT_COUNT];
    totals(g, tot);
    uint64_t all = 0;
    fprintf(f, "\ntotals by type:\n");
    fprintf(f, "  %-8s  %7s  %14s\n", "type", "tensors", "bytes");
    for (int t = 0; t < QT_COUNT; t++) {
        if (!tot[t].count)
            continue;
        fprintf(f, "  %-8s  %7" PRIu64 "  %14" PRIu64 "\n", quant_type_name(t), tot[t].count, tot[t].bytes);
        all += tot[t].bytes;
    }
    fprintf(f, "  %-8s  %7" PRIu64 "  %14" PRIu64 "\n", "all", g->n_tensors, all);

    struct gguf_str arch;
    if (!arch_of(g, &arch)) {
        fprintf(f, "\nhyper-parameters: absent (no general.architecture string)\n");
        return;
    }
    fputs("\nhyper-parameters (", f);
    text_escaped(f, arch.ptr, arch.len, 128);
    fputs("):\n", f);
    for (size_t i = 0; i <= N_HPARAMS; i++) {
        struct hp_value v;
        const char *name = i < N_HPARAMS ? hparams[i].name : "vocab_size";
        if (i < N_HPARAMS)
            hp_get(g, arch, &hparams[i], &v);
        else
            vocab_get(g, &v);
        if (v.rc == GGUF_OK || v.rc == GGUF_ENOTFOUND)
            fprintf(f, "  %-32s  %s\n", name, v.rc == GGUF_OK ? v.text : "absent");
        else
            fprintf(f, "  %-32s  invalid: %s\n", name, v.text);
    }
}

/* --- JSON output ----------------------------------------------------- */

static void print_json(FILE *f, const char *path, const struct gguf *g)
{
    fputs("{\n  \"file\": ", f);
    json_cstr(f, path);
    fprintf(f, ",\n  \"header\": {\"version\": %" PRIu32 ", \"n_tensors\": %" PRIu64 ", \"n_kv\": %" PRIu64
               ", \"alignment\": %" PRIu64 ", \"data_offset\": %" PRIu64 ", \"data_bytes\": %" PRIu64
               ", \"file_size\": %" PRIu64 "},\n",
            g->version, g->n_tensors, g->n_kv, g->alignment, g->data_offset, g->data_bytes, g->size);

    fputs("  \"metadata\": [", f);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const struct gguf_kv *kv = gguf_kv_at(g, i);
        fputs(i ? ",\n    {\"key\": " : "\n    {\"key\": ", f);
        json_str(f, kv->key.ptr, kv->key.len);
        fprintf(f, ", \"type\": \"%s\", \"value\": ", gguf_vtype_name(kv->value.type));
        value_json(f, &kv->value, 0);
        fputc('}', f);
    }
    fputs(g->n_kv ? "\n  ],\n" : "],\n", f);

    fputs("  \"tensors\": [", f);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        uint64_t off = g->data_offset + t->offset;
        fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
        json_str(f, t->name.ptr, t->name.len);
        fprintf(f, ", \"type\": \"%s\", \"shape\": ", quant_type_name(t->type));
        shape_text(f, t);
        fprintf(f, ", \"n_elements\": %" PRId64 ", \"bytes\": %" PRIu64 ", \"offset\": %" PRIu64
                   ", \"align\": %" PRIu64 "}",
                t->n_elements, t->n_bytes, off, offset_alignment(off));
    }
    fputs(g->n_tensors ? "\n  ],\n" : "],\n", f);

    struct type_total tot[QT_COUNT];
    totals(g, tot);
    uint64_t all = 0;
    bool first = true;
    fputs("  \"totals\": [", f);
    for (int t = 0; t < QT_COUNT; t++) {
        if (!tot[t].count)
            continue;
        fprintf(f, "%s{\"type\": \"%s\", \"count\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
                first ? "" : ", ", quant_type_name(t), tot[t].count, tot[t].bytes);
        all += tot[t].bytes;
        first = false;
    }
    fprintf(f, "],\n  \"total\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64 "},\n", g->n_tensors, all);

    struct gguf_str arch;
    if (!arch_of(g, &arch)) {
        fputs("  \"hparams\": null\n}\n", f);
        return;
    }
    fputs("  \"hparams\": {\"arch\": ", f);
    json_str(f, arch.ptr, arch.len);
    for (size_t i = 0; i <= N_HPARAMS; i++) {
        struct hp_value v;
        const char *name = i < N_HPARAMS ? hparams[i].name : "vocab_size";
        if (i < N_HPARAMS)
            hp_get(g, arch, &hparams[i], &v);
        else
            vocab_get(g, &v);
        fprintf(f, ", \"%s\": ", name);
        if (v.rc == GGUF_ENOTFOUND)
            fputs("null", f);
        else if (v.rc != GGUF_OK)
            json_cstr(f, "invalid");
        else if (v.is_float && !isfinite(v.fl))
            fputs("null", f);
        else
            fputs(v.text, f);
    }
    fputs("}\n}\n", f);
}

/* --- the command ----------------------------------------------------- */

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf(USAGE "\n\n"
               "Validate a GGUF file and print its header, metadata (long arrays\n"
               "summarized), tensor table (name, type, shape, bytes, file offset and the\n"
               "alignment of that offset, capped at 4096), totals per type, and the\n"
               "model's hyper-parameters when general.architecture is present.\n\n"
               "  --json   print the same as one JSON document\n\n"
               "Exit status: 0 valid file, 1 unreadable or invalid file, 2 usage error.\n");
        return CLI_OK;
    }
    bool json = false, opts = true;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && strcmp(a, "--") == 0) {
            opts = false;
        } else if (opts && strcmp(a, "--json") == 0) {
            json = true;
        } else if (opts && a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_EUSAGE, "info: unknown option '%s' (" USAGE ")", a);
        } else if (path) {
            return cli_error(CLI_EUSAGE, "info: one model file at a time ('%s' and '%s'; " USAGE ")", path, a);
        } else {
            path = a;
        }
    }
    if (!path)
        return cli_error(CLI_EUSAGE, "info: no model file given (" USAGE ")");

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_error(CLI_EFAIL, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return cli_error(CLI_EFAIL, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return cli_error(CLI_EFAIL, "%s: is a directory, not a GGUF file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cli_error(CLI_EFAIL, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return cli_error(CLI_EFAIL, "%s: empty file (0 bytes), not a GGUF file", path);
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    if (map == MAP_FAILED) {
        close(fd);
        return cli_error(CLI_EFAIL, "%s: cannot map %zu bytes: %s", path, size, strerror(map_errno));
    }
    /* a file truncated while we read it: one line and exit 1, not "Bus error" */
    cli_guard_mapping(path, fd, map, size);

    struct gguf g;
    char err[512];
    int rc = gguf_open_alloc(&g, map, size, err, sizeof err);
    if (rc != GGUF_OK) {
        cli_guard_mapping(NULL, -1, NULL, 0);
        munmap(map, size);
        close(fd);
        return cli_error(CLI_EFAIL, "%s: %s", path, err);
    }
    if (json)
        print_json(stdout, path, &g);
    else
        print_text(stdout, path, &g);
    gguf_close(&g);
    cli_guard_mapping(NULL, -1, NULL, 0);
    munmap(map, size);
    close(fd);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_error(CLI_EFAIL, "info: writing the output failed: %s", strerror(errno));
    return CLI_OK;
}

const struct cli_cmd cmd_info = { "info", "print a GGUF file's metadata, tensors and hyper-parameters", run };
