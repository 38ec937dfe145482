/* ctr_backends — the one list of counter backends (struct ctr_backend in
 * ctr_impl.h) and what ctr.h tells callers about it: count, names, bits,
 * availability. Adding a backend is its file plus one word here. */
#include <string.h>

#include "base/err.h"
#include "harness/counters/ctr_impl.h"

/* The backends, in bit order (CTR_HW, CTR_SW, CTR_SCHED are bits 0..2).
 * Adding one: its file ctr_<name>.c defining ctr_backend_<name>, and its
 * name at the end of this list. New ones go last: a bit is a position. */
#define CTR_BACKENDS(X) X(hw) X(sw) X(sched)

#define CTR_DECLARE(n) extern const struct ctr_backend ctr_backend_##n;
#define CTR_ADDRESS(n) &ctr_backend_##n,
CTR_BACKENDS(CTR_DECLARE)
const struct ctr_backend *const ctr_backend_list[] = { CTR_BACKENDS(CTR_ADDRESS) };
#undef CTR_DECLARE
#undef CTR_ADDRESS
#define N_BACKENDS (int)(sizeof ctr_backend_list / sizeof ctr_backend_list[0])
_Static_assert(sizeof ctr_backend_list / sizeof ctr_backend_list[0] <= 32, "one bit per backend in an unsigned");
const int ctr_backend_n = N_BACKENDS;

int ctr_backend_count(void)
{
    return N_BACKENDS;
}

unsigned ctr_backends_all(void)
{
    return N_BACKENDS == 32 ? ~0u : (1u << N_BACKENDS) - 1u;
}

const char *ctr_backend_name(int i)
{
    return i >= 0 && i < N_BACKENDS ? ctr_backend_list[i]->name : NULL;
}

int ctr_backend_bit(const char *name)
{
    for (int i = 0; name && i < N_BACKENDS; i++)
        if (strcmp(ctr_backend_list[i]->name, name) == 0)
            return (int)(1u << i);
    return 0;
}

bool ctr_backend_available(int i, char *why, size_t why_len)
{
    if (i < 0 || i >= N_BACKENDS) {
        err_set(why, why_len, "no counter backend %d", i);
        return false;
    }
    return ctr_backend_list[i]->describe(why, why_len);
}
