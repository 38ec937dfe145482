/* quant_avx512 — placeholder until the kernels land: fills no slot. */
#include "engine/quant_impl.h"

void quant_avx512_fill(struct quant_kernels *k)
{
    (void)k;
}
