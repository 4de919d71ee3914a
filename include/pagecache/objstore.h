/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/objstore.h - the object store a filesystem such as objfs keeps
 * its data and metadata in: named objects of bytes, written with a snapshot
 * context and read at a snapshot id, with self-managed snapshots as Ceph
 * RADOS has them (librados' rados_ioctx_selfmanaged_snap_*).
 *
 * A store is a struct pc_objstore: an operations table and the backend's
 * private data. Two backends ship: a directory on the host (embedded, the
 * default) and Ceph RADOS through librados; a user may supply their own by
 * filling in the table. Wrappers built on the same table (an ordering
 * checker, a fault injector) stack on any store.
 *
 * Objects: names of 1 to PC_OBJ_NAME_MAX bytes of [A-Za-z0-9._-]; contents
 * a byte array of up to max_object_size bytes. A missing object, and any
 * byte past an object's end or never written, reads as zeros.
 *
 * Snapshots (RADOS semantics): pc_objstore_ops.snap_create hands out a new
 * snap id, larger than every earlier one. A write carries a
 * struct pc_snap_context (snap.h): the first write (or zero, truncate,
 * remove) of an object under a context whose seq is newer than the seq the
 * object was last written with keeps a clone of the object as it was, for
 * the snapshots of the context newer than that seq. A read at snap id S
 * returns the object as it was when snapshot S was taken (a clone, or the
 * head if the object has not changed since). snap_remove forgets a
 * snapshot and trims the clones no remaining snapshot needs.
 *
 * Ordering (the rule objfs and the snap layer keep): for each object, no
 * write of an older context may follow a write of a newer one. RADOS
 * enforces it with LIBRADOS_OPERATION_ORDERSNAP (-PC_EOLDSNAPC); the
 * checking wrapper enforces it for every backend.
 */
#ifndef PAGECACHE_OBJSTORE_H
#define PAGECACHE_OBJSTORE_H

#include "compiler.h"
#include "snap.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Ceph's EOLDSNAPC: a write with an older snap context than the object's. */
#define PC_EOLDSNAPC 85

/* Longest object name, in bytes, without the terminating NUL. */
#define PC_OBJ_NAME_MAX 100

/* Operations of one request (struct pc_obj_req.op). */
enum pc_obj_op {
	PC_OBJ_READ = 1,   /* read [off, off+len) at snapid into iov */
	PC_OBJ_WRITE,      /* write iov at off, creating the object */
	PC_OBJ_ZERO,       /* zero [off, off+len) (a hole where possible) */
	PC_OBJ_TRUNCATE,   /* set the object's size to off, creating it */
	PC_OBJ_REMOVE,     /* remove the object (missing: -ENOENT) */
	PC_OBJ_STAT,       /* size and mtime at snapid (missing: -ENOENT) */
};

struct pc_obj_req;
/* Completion callback: called exactly once per accepted request, from any
 * thread (a backend thread, or inline from submit). It may submit further
 * requests and may free @req. It must not sleep for long: it runs on the
 * backend's completion thread. */
typedef void (*pc_obj_done_t)(struct pc_obj_req *req);

/*
 * struct pc_obj_req - one asynchronous object operation. The caller owns
 * the struct and every buffer it points to until @done has been called.
 * @op:      enum pc_obj_op.
 * @oid:     the object's name (NUL-terminated, see PC_OBJ_NAME_MAX).
 * @off:     byte offset in the object (TRUNCATE: the new size).
 * @len:     bytes (READ, ZERO); for WRITE the sum of the iov lengths.
 * @iov, @iovcnt: the data of WRITE (read by the store) or the buffers of
 *           READ (filled by the store; bytes past the object's end and of a
 *           missing object are zero-filled).
 * @snapc:   the write context of WRITE, ZERO, TRUNCATE, REMOVE (referenced
 *           by the caller until @done); NULL means an empty context
 *           (seq 0, no snapshots).
 * @snapid:  READ and STAT: PC_SNAP_HEAD or a snapshot id.
 * @flags:   PC_OBJ_F_* below.
 * @result:  set before @done: >= 0 success (READ: bytes of the object read,
 *           before zero-fill; others 0), or a negative errno:
 *           -ENOENT   STAT/REMOVE of a missing object (READ never: zeros);
 *           -EFBIG    the write would make the object larger than
 *                     max_object_size;
 *           -EMSGSIZE a single write larger than max_write_size;
 *           -ENOSPC   the store is full (never a hang);
 *           -EIO      the store failed the operation;
 *           -ETIMEDOUT the store did not answer within its timeout;
 *           -PC_EOLDSNAPC a write whose context is older than one the
 *                     object was already written with (an ordering bug);
 *           -EINVAL   a bad name, op, or snap context.
 * @size, @mtime_ns: STAT results (bytes; nanoseconds since the epoch).
 * @done:    completion callback; @private: the caller's.
 */
struct pc_obj_req {
	enum pc_obj_op op;
	const char *oid;
	uint64_t off;
	uint64_t len;
	const struct iovec *iov;
	int iovcnt;
	const struct pc_snap_context *snapc;
	uint64_t snapid;
	unsigned flags;
	int64_t result;
	uint64_t size;
	int64_t mtime_ns;
	pc_obj_done_t done;
	void *private;
};

/* The write is part of an integrity sync: durable before @done (WB_SYNC_ALL). */
#define PC_OBJ_F_SYNC 0x1u
/* REMOVE/TRUNCATE while full must still be attempted (RADOS' FULL_TRY). */
#define PC_OBJ_F_FULL_TRY 0x2u

struct pc_objstore;

/* Space as the store counts it, in bytes. */
struct pc_objstore_statfs {
	uint64_t total;
	uint64_t used;
	uint64_t avail;
	uint64_t objects;
};

/*
 * struct pc_objstore_ops - a backend. Every member returns 0 or a negative
 * errno unless said otherwise; none may abort on bad input. The table may
 * grow: new members only at the end, and a NULL member means "not
 * supported" (callers get -EOPNOTSUPP).
 * @submit:      start @req. Returns 0 once the request is accepted (then
 *               @req->done is called exactly once, maybe before submit
 *               returns), or a negative errno without calling done
 *               (-EINVAL bad request, -ENOMEM, -ESHUTDOWN store closed).
 *               Requests on different objects may complete in any order;
 *               on one object, in submission order.
 * @snap_create: allocate a new self-managed snapshot id into *@snapid.
 * @snap_remove: forget @snapid; clones only it needed are trimmed (now or
 *               later). -ENOENT if unknown.
 * @lock:        take the store's exclusive lock for a mounted filesystem
 *               (@cookie identifies the holder, for the message). -EBUSY if
 *               another holder has it; the message for the user goes into
 *               @why (a NUL-terminated line of at most @whylen bytes).
 * @unlock:      release that lock.
 * @flush:       every request completed before the call is durable
 *               (survives a crash of the process and of the host where the
 *               backend can promise that) when it returns.
 * @statfs:      space used and free.
 * @close:       wait for requests in flight, release everything, free @os.
 */
struct pc_objstore_ops {
	int (*submit)(struct pc_objstore *os, struct pc_obj_req *req);
	int (*snap_create)(struct pc_objstore *os, uint64_t *snapid);
	int (*snap_remove)(struct pc_objstore *os, uint64_t snapid);
	int (*lock)(struct pc_objstore *os, const char *cookie, char *why, size_t whylen);
	int (*unlock)(struct pc_objstore *os, const char *cookie);
	int (*flush)(struct pc_objstore *os);
	int (*statfs)(struct pc_objstore *os, struct pc_objstore_statfs *st);
	void (*close)(struct pc_objstore *os);
};

/*
 * struct pc_objstore - an open store. The backend's constructor allocates
 * it and fills every member; users only read it.
 * @ops:             the backend's table.
 * @private:         the backend's data.
 * @max_object_size: largest object, bytes (RADOS: osd_max_object_size).
 * @max_write_size:  largest single WRITE, bytes (RADOS: osd_max_write_size).
 * @name:            a short description for messages ("dir:/path",
 *                   "rados:pool").
 */
struct pc_objstore {
	const struct pc_objstore_ops *ops;
	void *private;
	uint64_t max_object_size;
	uint64_t max_write_size;
	char name[128];
};

/* ---- synchronous helpers: submit one request and wait for it ---- */

/* Run @req to completion on @os (its done/private are overwritten).
 * Returns req->result, or submit's error. Sleeps. */
PC_EXPORT int64_t pc_objstore_exec(struct pc_objstore *os, struct pc_obj_req *req);

/* Close @os (NULL is ignored): os->ops->close(os). */
PC_EXPORT void pc_objstore_close(struct pc_objstore *os);

#endif /* PAGECACHE_OBJSTORE_H */
