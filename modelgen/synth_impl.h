/* synth_impl — what synth.c shares with synth_write.c; not for use outside
 * modelgen/synth*.c. */
#ifndef GGPERF_MODELGEN_SYNTH_IMPL_H
#define GGPERF_MODELGEN_SYNTH_IMPL_H

#include "modelgen/gguf_writer.h"
#include "modelgen/synth.h"

/* Emit p's header, key/value pairs, tensor infos and the padding before the
 * data (counting mode gives the metadata's size). Returns the writer status. */
int synth_emit_metadata(struct gguf_writer *w, const struct synth_plan *p);

#endif
