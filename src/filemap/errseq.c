/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/filemap/errseq.c - error sequence counters (see errseq.h).
 * Layout: bits 0-11 the errno, bit 12 SEEN, bits 13-31 a counter.
 */
#include <errno.h>
#include <pagecache/errseq.h>

#define ERRNO_BITS 12
#define ERRSEQ_MASK ((1u << ERRNO_BITS) - 1)
#define ERRSEQ_SEEN (1u << ERRNO_BITS)
#define ERRSEQ_CTR_INC (1u << (ERRNO_BITS + 1))

PC_EXPORT uint32_t pc_errseq_set(pc_errseq_t *eseq, int err)
{
	uint32_t old = atomic_load(eseq), new;

	if (err >= 0 || -err > (int)ERRSEQ_MASK)
		return old;
	for (;;) {
		new = (old & ~(ERRSEQ_MASK | ERRSEQ_SEEN)) | (uint32_t)-err;
		/* Bump the counter only if the old error was seen (or none yet),
		 * so repeated unseen errors don't spin the counter. */
		if ((old & ERRSEQ_SEEN) || !(old & ERRSEQ_MASK))
			new += ERRSEQ_CTR_INC;
		if (new == old)
			return old;
		if (atomic_compare_exchange_weak(eseq, &old, new))
			return new;
	}
}

PC_EXPORT uint32_t pc_errseq_sample(pc_errseq_t *eseq)
{
	uint32_t old = atomic_load(eseq);
	/* A new opener must see an error nobody has seen yet. */
	return (old & ERRSEQ_SEEN) ? old : 0;
}

PC_EXPORT int pc_errseq_check(pc_errseq_t *eseq, uint32_t since)
{
	uint32_t cur = atomic_load(eseq);

	if ((cur & ~ERRSEQ_SEEN) == (since & ~ERRSEQ_SEEN))
		return 0;
	return (cur & ERRSEQ_MASK) ? -(int)(cur & ERRSEQ_MASK) : 0;
}

PC_EXPORT int pc_errseq_check_and_advance(pc_errseq_t *eseq, uint32_t *since)
{
	uint32_t old = atomic_load(eseq), new;

	if (old == *since)
		return 0;
	if ((old & ~ERRSEQ_SEEN) == (*since & ~ERRSEQ_SEEN)) {
		*since = old;
		return 0;
	}
	new = old | ERRSEQ_SEEN;
	if (new != old) {
		uint32_t expected = old;	/* a failed CAS must not change what we report */
		atomic_compare_exchange_strong(eseq, &expected, new);
	}
	/* Whether or not we set SEEN, report the error of the value read. */
	*since = new;
	return (new & ERRSEQ_MASK) ? -(int)(new & ERRSEQ_MASK) : 0;
}
