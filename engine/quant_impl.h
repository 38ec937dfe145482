/* quant_impl — private to the quant module: the per-ISA kernel tables that
 * quant.c stitches together in quant_kernels_init(). */
#ifndef GGPERF_ENGINE_QUANT_IMPL_H
#define GGPERF_ENGINE_QUANT_IMPL_H

#include "engine/quant.h"

/* Each file fills the slots it implements and leaves the rest alone. */
void quant_ref_fill(struct quant_kernels *k);    /* quant_ref.c: every supported type */
void quant_avx2_fill(struct quant_kernels *k);   /* quant_avx2.c */
void quant_avx512_fill(struct quant_kernels *k); /* quant_avx512.c */

#endif
