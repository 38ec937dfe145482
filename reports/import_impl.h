/* import_impl — what import.c shares with the per-format parsers
 * (import_llama.c, import_ggperf.c, import_gbench.c); not for use outside
 * reports/import*.c. A parser reads one format's JSON root and fills an
 * ibuild: an entry per configuration (its axis values), repetitions and
 * their metrics; import_build_finish turns that into a results header and
 * samples. */
#ifndef GGPERF_REPORTS_IMPORT_IMPL_H
#define GGPERF_REPORTS_IMPORT_IMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "results/metric.h"

#define MAX_AXES 8

struct irep {
    bool ok;
    char *error;           /* failed repetitions: why */
    struct metric *m;
    int nm, cap;
};

struct ientry {
    char *vals[MAX_AXES];  /* the axis values of this entry */
    struct irep *reps;
    int n_reps, cap;
};

struct ibuild {
    const char *src;
    int n_axes;
    char axis[MAX_AXES][METRIC_NAME_MAX];
    bool axis_numeric[MAX_AXES];   /* sort the values as numbers */
    struct ientry *e;
    size_t n, cap;
};

void import_ibuild_free(struct ibuild *b);
struct ientry *import_ibuild_entry(struct ibuild *b);
struct irep *import_ientry_rep(struct ientry *e, bool ok, const char *error);
int import_irep_metric(struct irep *r, const char *name, const char *unit, enum metric_source src, double v);
int import_set_val(struct ientry *e, int axis, const char *v);
int import_ibuild_finish(struct ibuild *b, const char *workload, const char *description, json_t *env, json_t *model,
                         json_t **header, json_t **samples, char *err, size_t err_len);
int import_get_int(const json_t *o, const char *key, long long lo, long long hi, long long *out, const char *src,
                   const char *where, char *err, size_t err_len);
int import_get_num(const json_t *o, const char *key, double lo, double *out, const char *src, const char *where,
                   char *err, size_t err_len);
int import_get_str(const json_t *o, const char *key, const char **out, const char *src, const char *where, char *err,
                   size_t err_len);
long import_get_samples(const json_t *o, const char *key, double lo, bool strict, const char *src,
                        const char *where, char *err, size_t err_len);
char *import_value_text(const json_t *v);
bool import_in_names(const char *const *names, const char *k);
int import_varying_keys(const json_t *arr, const char *const *skip, char (*out)[METRIC_NAME_MAX], int max,
                        const char *src, char *err, size_t err_len);
const char *import_base_name(const char *p);

/* The parsers: 0, or an IMPORT_E* code with err naming src and the place. */
int import_parse_llama(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
                       size_t err_len);
int import_parse_ggperf_bench(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
                              size_t err_len);
int import_parse_gbench(const json_t *root, const char *src, json_t **header, json_t **samples, char *err,
                        size_t err_len);

#endif
