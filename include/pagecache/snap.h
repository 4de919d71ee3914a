/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/snap.h - snapshot contexts for filesystems on object stores.
 *
 * An object store such as Ceph RADOS takes a snapshot at once, on the
 * server; a client that caches dirty data must then write every dirty page
 * with the snapshot context it was dirtied in, and write an older context's
 * data before a newer context's, or the snapshot silently keeps the wrong
 * bytes. This header gives a filesystem the generic part of that rule, as
 * Linux's Ceph client does it (fs/ceph/addr.c, fs/ceph/snap.c): the snap
 * context, a realm holding the current one, per-inode accounting of dirty
 * pages per context (cap_snaps), and address_space operations that keep the
 * order.
 *
 * Units: snapshot ids and seqs are 64-bit numbers the object store hands
 * out (pc_objstore_ops.snap_create), increasing with time.
 */
#ifndef PAGECACHE_SNAP_H
#define PAGECACHE_SNAP_H

#include "compiler.h"
#include <stdatomic.h>
#include <stdint.h>

/* The snap id of the live object (the "head"), as Ceph's CEPH_NOSNAP. */
#define PC_SNAP_HEAD ((uint64_t)-2)

/*
 * struct pc_snap_context - the snapshots a write must preserve (Linux's
 * struct ceph_snap_context).
 * @nref:      references; pc_snap_context_get/put. Immutable otherwise: a
 *             context is never changed once published; a snapshot makes a
 *             new one.
 * @seq:       the newest snap id this context knows (0: none yet). Writes
 *             carry it; an object store keeps a clone of an object for the
 *             snapshots in @snaps newer than the object's own last seq.
 * @num_snaps: entries in @snaps.
 * @snaps:     the live snapshot ids, newest first (descending), as RADOS
 *             requires of a write context.
 */
struct pc_snap_context {
	_Atomic int nref;
	uint64_t seq;
	uint32_t num_snaps;
	uint64_t snaps[];
};

/*
 * pc_snap_context_alloc - a new context with one reference.
 * @seq: its seq; @snaps: @num_snaps ids, copied, which must be in strictly
 * descending order and each <= @seq.
 * Returns the context (the caller owns the reference), or NULL with no
 * memory or when @snaps is out of order (callers check the order first).
 */
PC_EXPORT struct pc_snap_context *pc_snap_context_alloc(uint64_t seq, const uint64_t *snaps,
							 uint32_t num_snaps);

/* Take a reference on @sc (may be NULL: returns NULL). No locks needed. */
PC_EXPORT struct pc_snap_context *pc_snap_context_get(struct pc_snap_context *sc);

/* Drop a reference on @sc (NULL is ignored); the last one frees it. */
PC_EXPORT void pc_snap_context_put(struct pc_snap_context *sc);

#endif /* PAGECACHE_SNAP_H */
