// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Snapshot contexts: immutable, reference-counted lists of the snapshots a
 * write must preserve (Linux: ceph_create_snap_context, ceph_get/put).
 */
#include "pagecache/snap.h"

#include <stdlib.h>

struct pc_snap_context *pc_snap_context_alloc(uint64_t seq, const uint64_t *snaps,
					       uint32_t num_snaps)
{
	struct pc_snap_context *sc;

	for (uint32_t i = 0; i < num_snaps; i++) {
		if (snaps[i] > seq || (i && snaps[i] >= snaps[i - 1]))
			return NULL;
	}
	sc = malloc(sizeof(*sc) + (size_t)num_snaps * sizeof(sc->snaps[0]));
	if (!sc)
		return NULL;
	atomic_init(&sc->nref, 1);
	sc->seq = seq;
	sc->num_snaps = num_snaps;
	for (uint32_t i = 0; i < num_snaps; i++)
		sc->snaps[i] = snaps[i];
	return sc;
}

struct pc_snap_context *pc_snap_context_get(struct pc_snap_context *sc)
{
	if (sc)
		atomic_fetch_add_explicit(&sc->nref, 1, memory_order_relaxed);
	return sc;
}

void pc_snap_context_put(struct pc_snap_context *sc)
{
	if (sc && atomic_fetch_sub_explicit(&sc->nref, 1, memory_order_acq_rel) == 1)
		free(sc);
}
