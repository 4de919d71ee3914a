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
	PC_OBJ_ZERO,       /* zero [off, off+len) (a hole where possible); a
			    * range reaching the object's end truncates it to
			    * off, and a missing object stays missing (RADOS) */
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

/* ---- the embedded backend: a directory on the host (src/objstore/dirstore.c) ---- */

/*
 * The directory store keeps each object as a file, its snapshot clones as
 * files beside their metadata, and a small store superblock; see
 * docs/objstore.md for the layout and the crash-safety argument. Snapshots
 * follow RADOS exactly: a mutation (WRITE, ZERO, TRUNCATE, REMOVE) whose
 * context seq is newer than the object's seq first keeps a clone (id = the
 * context's seq) serving the context's live snaps newer than the object's
 * seq, made with FICLONE where the host filesystem can, else
 * copy_file_range of the data extents (holes stay holes). A mutation whose
 * context seq is OLDER than the object's seq fails with -PC_EOLDSNAPC, as a
 * RADOS write with LIBRADOS_OPERATION_ORDERSNAP does. READ/STAT at a snap
 * id that is not a live snapshot give -ENOENT. Requests run on a pool of 4
 * worker threads: all requests on one object go to one worker (so they run
 * and complete in submission order), different objects run in parallel;
 * done is called from the worker with no store lock held and must not wait
 * for another request of the same store. PC_OBJ_F_SYNC mutations are
 * durable (data and the directory entry) before done; flush is syncfs(2)
 * of the host filesystem. Host errors reach @result as their -errno
 * (ENOSPC: -ENOSPC, never a retry or a hang); a metadata file that fails
 * its checksum gives -EUCLEAN and a message (pc_objstore_dir_strerror).
 * The lock is an OFD lock (F_OFD_SETLK, F_WRLCK) on DIR/lock, held from
 * ops->lock until ops->unlock or close; -EBUSY names the holder as
 * pc_bdev_describe_holder does ("in use by process PID (COMM) ...") plus
 * the holder's cookie. Limits: max_object_size 128 MiB, max_write_size
 * 90 MB (Ceph's defaults; pc_objstore_dir_set_limits changes them).
 */

/* pc_objstore_open_dir flag: make the store first when @path is missing or
 * an empty directory (as pc_objstore_mkfs_dir), open it if it is a store. */
#define PC_OBJSTORE_DIR_CREATE 0x1u

/*
 * pc_objstore_mkfs_dir - make an empty directory store at @path (created
 * with mode 0755 when missing; an existing directory must be empty).
 * Durable on return (files and directories fsynced). Returns 0, -EINVAL
 * (NULL @path), -EEXIST (@path already holds a store), -ENOTEMPTY (@path
 * is a non-empty directory that is not a store), -ENOTDIR, or the -errno of
 * the host call that failed (-EACCES, -ENOSPC, ...). On failure
 * pc_objstore_dir_strerror(NULL, ...) explains it. Sleeps.
 */
PC_EXPORT int pc_objstore_mkfs_dir(const char *path);

/*
 * pc_objstore_open_dir - open the directory store at @path (flags:
 * PC_OBJSTORE_DIR_CREATE or 0) into *@osp, starting its worker threads. A
 * removal of snapshots that a crash interrupted is finished first. The lock
 * is not taken: call (*osp)->ops->lock for a mount. Returns 0 (*@osp owned
 * by the caller until pc_objstore_close), -EINVAL (NULL argument, unknown
 * flag, @path not a store), -ENOENT (@path missing, without CREATE),
 * -EUCLEAN (the store's superblock DIR/pcstore is corrupt), -ENOMEM, or a
 * host -errno. On failure pc_objstore_dir_strerror(NULL, ...) says why in
 * a line naming @path. Sleeps.
 */
PC_EXPORT int pc_objstore_open_dir(const char *path, unsigned flags, struct pc_objstore **osp);

/*
 * pc_objstore_dir_set_limits - set @os's max_object_size and max_write_size
 * (bytes; 0 keeps the current value). Requests submitted afterwards are
 * checked against them. Returns 0, -EINVAL (@os is not a directory store).
 * Call before submitting requests (not synchronised with them).
 */
PC_EXPORT int pc_objstore_dir_set_limits(struct pc_objstore *os, uint64_t max_object_size,
					 uint64_t max_write_size);

/*
 * pc_objstore_dir_strerror - copy a message into @buf (NUL-terminated, at
 * most @len bytes): with @os NULL, why the calling thread's last failed
 * pc_objstore_mkfs_dir/pc_objstore_open_dir failed; with a directory store,
 * the first metadata or host error its requests met ("dir:/path: snapset of
 * OBJ is corrupt (checksum)"). Returns the number of bytes of the message
 * (0: nothing to report, @buf gets ""). Thread-safe.
 */
PC_EXPORT size_t pc_objstore_dir_strerror(struct pc_objstore *os, char *buf, size_t len);

/* ---- wrappers built on the operations table (src/objstore/wrap.c) ---- */

/*
 * pc_objstore_order_check_wrap - an ordering checker on top of @inner. It
 * records, per object, the newest context seq of every WRITE, ZERO,
 * TRUNCATE and REMOVE submitted through it (a NULL snapc counts as seq 0)
 * and fails any such request whose seq is older than one already submitted
 * for the same object: the request completes with -PC_EOLDSNAPC (done is
 * called from submit, @inner never sees it), the violation counter grows and
 * the first violation is described (pc_objstore_order_violations). Every
 * other request and call goes to @inner unchanged. The wrapper copies
 * @inner's limits and names itself "order(NAME)". On success the wrapper
 * owns @inner: pc_objstore_close(*@out) closes @inner too; on failure the
 * caller keeps @inner. Returns 0, -EINVAL (NULL argument), -ENOMEM.
 * Thread-safe (one mutex around the per-object table). Follows the
 * assertion RADOS makes for LIBRADOS_OPERATION_ORDERSNAP.
 */
PC_EXPORT int pc_objstore_order_check_wrap(struct pc_objstore *inner, struct pc_objstore **out);

/*
 * pc_objstore_order_violations - on a store from pc_objstore_order_check_wrap:
 * the number of violations so far; the first one is described into @buf
 * (at most @len bytes, NUL-terminated; may be NULL/0): "object OID: ZERO
 * with context seq 3 after WRITE with context seq 5". Returns 0 and "" when
 * there was none, or when @wrap is not an ordering checker. Thread-safe.
 */
PC_EXPORT unsigned long pc_objstore_order_violations(struct pc_objstore *wrap, char *buf,
						     size_t len);

/* pc_objstore_fault_arm @count: fail every matching request from the Nth on. */
#define PC_OBJ_FAULT_FOREVER (~0UL)

/*
 * pc_objstore_fault_wrap - a fault-injecting store on top of @inner (for
 * tests and pcfs): every request is passed to @inner unchanged, except those
 * pc_objstore_fault_arm chose, which complete with the armed error without
 * reaching @inner (done called from submit); completions may be delayed
 * (pc_objstore_fault_delay). snap_create/remove, lock, flush, statfs go to
 * @inner. Limits are @inner's; the name is "fault(NAME)". On success the
 * wrapper owns @inner: pc_objstore_close(*@out) closes @inner too; on
 * failure the caller keeps @inner. Returns 0, -EINVAL (NULL argument),
 * -ENOMEM. Follows pc_bdev_fault_wrap.
 */
PC_EXPORT int pc_objstore_fault_wrap(struct pc_objstore *inner, struct pc_objstore **out);

/*
 * pc_objstore_fault_arm - on a store from pc_objstore_fault_wrap, make the
 * @nth (1-based, counted from now) request of @op (PC_OBJ_WRITE, ... or 0:
 * any of WRITE, ZERO, TRUNCATE, REMOVE) and the next @count-1 ones fail
 * with @err (-EIO, -ENOSPC, ...). @nth 0 disarms; @count 0 is taken as 1,
 * PC_OBJ_FAULT_FOREVER fails every one from the @nth on; @err >= 0 is taken
 * as -EIO. Re-arming replaces the previous setting and restarts the count.
 * Returns 0, -EINVAL (not a fault wrapper, unknown @op). Thread-safe.
 */
PC_EXPORT int pc_objstore_fault_arm(struct pc_objstore *wrap, int op, unsigned long nth,
				    unsigned long count, int err);

/*
 * pc_objstore_fault_delay - on a store from pc_objstore_fault_wrap, delay
 * every completion coming back from @inner by @usec microseconds (slept on
 * @inner's completion thread before the caller's done; 0: no delay).
 * Returns 0, -EINVAL (not a fault wrapper). Thread-safe.
 */
PC_EXPORT int pc_objstore_fault_delay(struct pc_objstore *wrap, unsigned usec);

/* Requests failed by pc_objstore_fault_arm so far (0 if @wrap is not a
 * fault wrapper). Thread-safe. */
PC_EXPORT unsigned long pc_objstore_fault_injected(struct pc_objstore *wrap);

/* ======================================================================
 * Ceph RADOS backend (src/objstore/radosstore.c). Built, and
 * pc_objstore_open_rados exported, only when the library was built with
 * librados (Debian librados-dev); otherwise the symbol is absent and a
 * program that calls it does not link.
 * ====================================================================== */

/* Defaults of struct pc_rados_opts' timeouts, in seconds (Ceph's own are
 * 300 s to mount and "never" for an OSD operation: a cluster that is down
 * or full must come back as an error instead). */
#define PC_RADOS_MOUNT_TIMEOUT_DEFAULT 10
#define PC_RADOS_OP_TIMEOUT_DEFAULT 30

/* Name of the object, in the pool, that pc_objstore_ops.lock locks, and
 * of the lock on it (for `rados -p POOL lock list/info/break`). */
#define PC_RADOS_LOCK_OBJECT "pagecache.lock"
#define PC_RADOS_LOCK_NAME "pagecache"

/*
 * struct pc_rados_opts - how pc_objstore_open_rados connects. All zero
 * (or a NULL pointer) means every default.
 * @size:          sizeof(struct pc_rados_opts) as the caller was compiled,
 *                 or 0 for this first layout. Growth rule: members are only
 *                 ever added at the end, zero always means "default", and
 *                 the library reads only the first @size bytes (members
 *                 past them are taken as zero), so old callers keep working
 *                 with a newer library; a caller newer than the library
 *                 gets -E2BIG only if it set a member the library does not
 *                 know (as Linux's copy_struct_from_user).
 * @conf:          path of a ceph.conf; NULL: $CEPH_CONF, then librados'
 *                 default search (/etc/ceph/ceph.conf, ...). CEPH_ARGS is
 *                 applied on top either way.
 * @client:        the client to connect as: "client.ID", or just "ID";
 *                 NULL: client.admin (librados' default).
 * @mount_timeout: seconds the open may wait for the monitors
 *                 (client_mount_timeout); 0: the configuration's value if
 *                 ceph.conf/CEPH_ARGS set one other than Ceph's 300 s,
 *                 else PC_RADOS_MOUNT_TIMEOUT_DEFAULT.
 * @op_timeout:    seconds before an OSD or monitor operation that gets no
 *                 answer fails with -ETIMEDOUT (rados_osd_op_timeout and
 *                 rados_mon_op_timeout); 0: the configuration's value if it
 *                 sets one other than Ceph's 0 (never), else
 *                 PC_RADOS_OP_TIMEOUT_DEFAULT.
 * @why, @whylen:  where a failed open writes its one-line reason (NUL
 *                 terminated, at most @whylen bytes, truncated to fit);
 *                 NULL: no message.
 */
struct pc_rados_opts {
	size_t size;
	const char *conf;
	const char *client;
	unsigned mount_timeout;
	unsigned op_timeout;
	char *why;
	size_t whylen;
};

/*
 * pc_objstore_open_rados - open pool @pool of a Ceph cluster as an object
 * store (librados: rados_create2, rados_conf_read_file, rados_connect,
 * rados_ioctx_create). Sleeps: connects to the cluster, bounded by the
 * mount timeout.
 * @pool: the pool's name (must exist; the store never creates pools).
 * @opts: NULL or options, see struct pc_rados_opts; read during the call only.
 * @osp:  on success the new store (the caller owns it: pc_objstore_close);
 *        untouched on failure.
 * The store: requests are asynchronous librados operations (any number in
 * flight, submitted from any threads at once, completions called on
 * librados' finisher thread); every data write, zero, truncate and remove
 * carries LIBRADOS_OPERATION_ORDERSNAP (an older context after a newer one
 * gives -PC_EOLDSNAPC, unchanged) and FULL_TRY (a full cluster answers
 * -ENOSPC instead of holding the write); a write context is an ioctx of its
 * own, cached while in use; reads and stats at a snap id use an ioctx with
 * that read snap. READ and WRITE want @len equal to the sum of the iovec
 * lengths (else submit returns -EINVAL). max_object_size and
 * max_write_size come from osd_max_object_size and osd_max_write_size as
 * the configuration has them (Ceph: 128 MiB and 90 MiB), and requests past
 * them complete with -EFBIG / -EMSGSIZE without being sent. A missing
 * object reads as zeros. snap_remove of an id never handed out gives
 * -ENOENT, of one removed already 0 (RADOS does not tell those apart from
 * live ones). statfs reports what the cluster's statistics say (all zero
 * on a cluster without a ceph-mgr, which collects them). lock takes PC_RADOS_LOCK_NAME on
 * PC_RADOS_LOCK_OBJECT with rados_lock_exclusive, for ever (a holder that
 * dies leaves it: the -EBUSY message names the holder and says how to
 * break it). flush waits for every write in flight (RADOS acknowledges a
 * write once it is durable, so PC_OBJ_F_SYNC asks nothing more). close
 * waits for every request in flight and shuts the cluster handle down.
 * Locking: none needed by callers; the store's own mutex is never held
 * across a call that waits for the cluster nor across req->done.
 * Returns 0, or a negative errno with a message in @opts->why:
 *   -EINVAL    @pool or @osp NULL, a bad pool name or option;
 *   -E2BIG     @opts->size larger than known with unknown members set;
 *   -ENOENT    no such pool, the configuration file does not exist, or
 *              it names no monitors (mon_host; DNS SRV lookup is not used);
 *   -ETIMEDOUT the monitors did not answer within the mount timeout;
 *   -ENOMEM;   or another negative errno librados gave (in the message).
 */
PC_EXPORT int pc_objstore_open_rados(const char *pool, const struct pc_rados_opts *opts,
				     struct pc_objstore **osp);

#endif /* PAGECACHE_OBJSTORE_H */
