/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/errseq.h - error sequence counters (the kernel's errseq_t).
 *
 * A 32-bit value holding the last error (low 12 bits, a positive errno),
 * a SEEN flag, and a counter bumped each time a new error is recorded after
 * the previous one was seen. Each open file samples the mapping's value at
 * open and reports an error from fsync only if the value moved since its
 * sample: every opener sees each writeback error once, none is dropped.
 */
#ifndef PAGECACHE_ERRSEQ_H
#define PAGECACHE_ERRSEQ_H

#include <stdatomic.h>
#include <stdint.h>
#include "compiler.h"

typedef _Atomic uint32_t pc_errseq_t;

/* Record -@err (negative errno) in @eseq. Returns the new value. Lock-free. */
PC_EXPORT uint32_t pc_errseq_set(pc_errseq_t *eseq, int err);
/* Sample for a new opener: 0 if the current error was never seen, else the value. */
PC_EXPORT uint32_t pc_errseq_sample(pc_errseq_t *eseq);
/* Negative errno if @eseq moved since @since, else 0. Does not mark seen. */
PC_EXPORT int pc_errseq_check(pc_errseq_t *eseq, uint32_t since);
/* Like check, but marks the error seen and updates *@since. Returns -errno or 0. */
PC_EXPORT int pc_errseq_check_and_advance(pc_errseq_t *eseq, uint32_t *since);

#endif /* PAGECACHE_ERRSEQ_H */
