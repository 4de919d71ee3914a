// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fs/objfs/objfs.c - objfs: a filesystem whose data and metadata are
 * objects of a struct pc_objstore (objstore.h), laid out as CephFS lays
 * files over RADOS. Written only against pagecache/fs.h, like a filesystem
 * outside the tree.
 *
 * Objects (formats in format.c): the superblock "objfs.super", one
 * "<ino>.inode" per inode, one "<ino>.dir" per directory, and the data of
 * a regular file in "<ino>.<objno>" objects, striped per the inode's
 * layout (layout.c, Ceph's arithmetic).
 *
 * Files: objfs.c (this: object I/O with the mount's snap context, inode
 * objects, the super_operations, mount), dir.c (directories and the
 * namespace operations), file.c (data objects, the address_space
 * operations, O_DIRECT, setattr), format.c (the byte formats, mkfs),
 * layout.c (striping).
 *
 * Snap contexts: every object write carries the realm's current context
 * (objfs_get_snapc: sbi->realm, restored at mount from the snapshot
 * table), and the data a_ops are the snap layer's (src/snap): each dirty
 * page carries the context it was dirtied in and writeback writes older
 * contexts first. Snapshots and the .snap directories are in snap.c.
 *
 * Metadata: namespace changes (create, mkdir, symlink, unlink, rmdir,
 * rename) write the objects they change before they return, synchronously
 * (a new inode's object before the directory entry that names it). Size,
 * times and mode changes mark the inode dirty; write_inode writes
 * "<ino>.inode" (the flusher, fsync, sync). Truncate and setattr write the
 * inode object at once. Inode numbers are reserved OBJFS_INO_BATCH at a
 * time by a superblock write, so creating a file costs two object writes.
 *
 * Data path:
 *  - readpage / readahead: asynchronous object reads (pc_obj_req); the
 *    completion sets each page uptodate (error on failure) and unlocks
 *    it. Readahead reads pages contiguous in the file and in one object
 *    with one request. A missing object or a short read is zero-filled.
 *  - writepages (pc_snap_writepages): the oldest context with dirty pages
 *    first; pages contiguous in the file and in one object are batched
 *    into one object write of up to wsize bytes (objfs_run_max_pages:
 *    default the object size, bounded by the store's max_write_size),
 *    submitted asynchronously with the pages' context (file.c
 *    objfs_write_pages); a failure marks the pages in error and records
 *    it on the mapping, so fsync reports it once per open file. The write
 *    is clipped at the size of its context.
 *  - write_begin (pc_snap_write_begin) writes a page's older-context data
 *    first, and skips the read for a full-page write and for a page
 *    wholly past EOF.
 *  - truncate: pc_truncate_setsize, then every object past the new size is
 *    removed and the object(s) holding the new EOF truncated to it
 *    (pc_objfs_object_size_for); truncating up trims the objects holding
 *    the old EOF the same way, so the bytes that become visible are zeros.
 *  - max_size (CephFS's, file.c objfs_raise_max_size): the inode object
 *    records a bound on where the data objects may hold bytes, raised
 *    durably before a write passes it; truncate and growth cut what a
 *    crash left in [size, max_size), so it never shows in a hole.
 *  - fsync: pc_generic_file_fsync (write back and wait, write_inode,
 *    sync_fs = the store's flush, errors once per file).
 *  - O_DIRECT: the range is written back and dropped from the cache, then
 *    synchronous object reads/writes per extent (hostdirfs's scheme, not
 *    yet the placeholder machinery).
 *
 * Locking: the VFS's (docs/locking.md). Directory contents are protected
 * by the directory's i_rwsem; an inode object write is serialised by the
 * inode's meta_lock (the flusher's write_inode and a namespace operation
 * may write the same object); inode numbers by sbi->ino_lock.
 *
 * Snapshots: sbi->snap_rwsem is held shared around every metadata object
 * write (namespace changes, write_inode, setattr, eviction) and exclusive
 * by snapshot creation/removal (snap.c), which writes changed inode
 * records with the old context before the new one is used.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "objfs_int.h"

/* ---- snap context and synchronous object I/O ---- */

/* The context new writes carry, referenced: pc_snap_context_put it. */
struct pc_snap_context *objfs_get_snapc(struct objfs_sb *sbi)
{
	return pc_snap_realm_get_context(&sbi->realm);
}

/* Write @buf as the whole content of @oid with the current context. */
int objfs_put(struct objfs_sb *sbi, const char *oid, const void *buf, size_t len)
{
	struct pc_snap_context *sc = objfs_get_snapc(sbi);
	int err = objfs_put_object(sbi->os, sc, oid, buf, len);

	pc_snap_context_put(sc);
	return err;
}

/* REMOVE or TRUNCATE @oid with context @sc (a missing object is not an error). */
int objfs_obj_op_ctx(struct objfs_sb *sbi, enum pc_obj_op op, const char *oid, uint64_t off,
		     const struct pc_snap_context *sc)
{
	struct pc_obj_req req = { .op = op, .oid = oid, .off = off, .snapc = sc,
				  .flags = PC_OBJ_F_FULL_TRY };
	int64_t r = pc_objstore_exec(sbi->os, &req);

	return r == -ENOENT ? 0 : r < 0 ? (int)r : 0;
}

/* REMOVE or TRUNCATE @oid with the current context. */
int objfs_obj_op(struct objfs_sb *sbi, enum pc_obj_op op, const char *oid, uint64_t off)
{
	struct pc_snap_context *sc = objfs_get_snapc(sbi);
	int err = objfs_obj_op_ctx(sbi, op, oid, off, sc);

	pc_snap_context_put(sc);
	return err;
}

/* Size of @oid at @snapid (-ENOENT if missing). */
int objfs_stat_at(struct objfs_sb *sbi, uint64_t snapid, const char *oid, uint64_t *size)
{
	struct pc_obj_req req = { .op = PC_OBJ_STAT, .oid = oid, .snapid = snapid };
	int64_t r = pc_objstore_exec(sbi->os, &req);

	if (r < 0)
		return (int)r;
	*size = req.size;
	return 0;
}

int objfs_stat(struct objfs_sb *sbi, const char *oid, uint64_t *size)
{
	return objfs_stat_at(sbi, PC_SNAP_HEAD, oid, size);
}

int objfs_read(struct objfs_sb *sbi, const char *oid, uint64_t off, void *buf, size_t len,
	       size_t *got)
{
	return objfs_read_at(sbi, PC_SNAP_HEAD, oid, off, buf, len, got);
}

/* Read up to @len bytes of @oid at @off, as snapshot @snapid has it, into
 * @buf; *@got: bytes of the object. */
int objfs_read_at(struct objfs_sb *sbi, uint64_t snapid, const char *oid, uint64_t off, void *buf,
		  size_t len, size_t *got)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct pc_obj_req req = { .op = PC_OBJ_READ, .oid = oid, .off = off, .len = len,
				  .iov = &iov, .iovcnt = 1, .snapid = snapid };
	int64_t r = pc_objstore_exec(sbi->os, &req);

	if (r < 0)
		return (int)r;
	if ((uint64_t)r < len)
		memset((char *)buf + r, 0, len - (size_t)r);	/* the contract, kept */
	if (got)
		*got = (size_t)((uint64_t)r < len ? (uint64_t)r : len);
	return 0;
}

/* ---- timestamps ---- */

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	if (ts.tv_nsec < 0) {
		ts.tv_nsec += 1000000000;
		ts.tv_sec--;
	}
	return ts;
}

void objfs_touch(struct pc_inode *inode, unsigned which)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	pc_inode_set_times(inode, which, &now);
}

/* ---- inode objects ---- */

static int store_inode(struct pc_inode *inode, bool if_linked, const struct pc_snap_context *sc,
		       const int64_t *size, const struct timespec *mtime, bool only_changed,
		       unsigned flags);

/*
 * Write @inode's object now with the current context. meta_lock serialises
 * the writes of one inode object and guards the fields it encodes that the
 * VFS does not protect otherwise from the flusher (i_nlink, i_mode, i_uid,
 * i_gid: objfs changes them under meta_lock). @if_linked: do nothing for
 * an unlinked inode (its objects go at eviction). The caller holds
 * sbi->snap_rwsem shared (objfs_meta_lock). Snapshot inodes are never
 * written.
 */
int objfs_store_inode_cond(struct pc_inode *inode, bool if_linked)
{
	struct pc_snap_context *sc = objfs_get_snapc(OBJFS_SB(inode->i_sb));
	int err = store_inode(inode, if_linked, sc, NULL, NULL, false, 0);

	pc_snap_context_put(sc);
	return err;
}

/*
 * objfs_store_inode_cond(inode, true) with PC_OBJ_F_SYNC: the record is
 * durable when it returns (a max_size raise, before the data it allows is
 * sent). Caller holds sbi->snap_rwsem shared.
 */
int objfs_store_inode_cond_sync(struct pc_inode *inode)
{
	struct pc_snap_context *sc = objfs_get_snapc(OBJFS_SB(inode->i_sb));
	int err = store_inode(inode, true, sc, NULL, NULL, false, PC_OBJ_F_SYNC);

	pc_snap_context_put(sc);
	return err;
}

/*
 * Write @inode's object with context @sc (a snapshot's old context), with
 * the size and mtime given (a cap_snap's) instead of the inode's when not
 * NULL, and only if the record differs from the one last written. Caller
 * holds sbi->snap_rwsem exclusive.
 */
int objfs_store_inode_ctx(struct pc_inode *inode, const struct pc_snap_context *sc,
			  const int64_t *size, const struct timespec *mtime)
{
	return store_inode(inode, true, sc, size, mtime, true, 0);
}

static int store_inode(struct pc_inode *inode, bool if_linked, const struct pc_snap_context *sc,
		       const int64_t *size, const struct timespec *mtime, bool only_changed,
		       unsigned flags)
{
	struct objfs_inode *oi = OBJFS_I(inode);
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	unsigned char buf[OBJFS_INODE_HDR + OBJFS_SYMLINK_MAX];
	struct objfs_inode_rec r = { 0 };
	struct timespec at, mt, ct;
	char oid[OBJFS_OID_LEN];
	size_t len;
	int err;

	if (!objfs_is_head(inode))
		return 0;
	pthread_mutex_lock(&oi->meta_lock);
	if (if_linked && inode->i_nlink == 0) {
		pthread_mutex_unlock(&oi->meta_lock);
		return 0;
	}
	pc_inode_get_times(inode, &at, &mt, &ct);
	r.ino = inode->i_ino;
	r.mode = inode->i_mode;
	r.uid = inode->i_uid;
	r.gid = inode->i_gid;
	r.nlink = inode->i_nlink;
	r.size = size ? (uint64_t)*size : (uint64_t)pc_i_size_read(inode);
	if (mtime)
		mt = *mtime;
	r.atime_ns = ts_ns(&at);
	r.mtime_ns = ts_ns(&mt);
	r.ctime_ns = ts_ns(&ct);
	r.layout = oi->layout;
	r.max_size = oi->max_size;
	if (oi->target) {
		r.target = oi->target;
		r.target_len = (uint32_t)strlen(oi->target);
	}
	len = objfs_encode_inode(buf, &r);
	if (only_changed && oi->last_valid && !memcmp(oi->last_rec, buf, sizeof(oi->last_rec))) {
		pthread_mutex_unlock(&oi->meta_lock);
		return 0;
	}
	objfs_oid_inode(oid, inode->i_ino);
	err = objfs_put_object_flags(sbi->os, sc, oid, buf, len, flags);
	oi->last_valid = !err;
	if (!err)
		memcpy(oi->last_rec, buf, sizeof(oi->last_rec));
	pthread_mutex_unlock(&oi->meta_lock);
	return err;
}

int objfs_store_inode(struct pc_inode *inode)
{
	return objfs_store_inode_cond(inode, false);
}

/* Change i_nlink by @delta (or set it to 0 with @zero) under meta_lock. */
void objfs_nlink(struct pc_inode *inode, int delta, bool zero)
{
	struct objfs_inode *oi = OBJFS_I(inode);

	pthread_mutex_lock(&oi->meta_lock);
	if (zero)
		inode->i_nlink = 0;
	else if (delta > 0 || inode->i_nlink > 0)
		inode->i_nlink = (unsigned)((int)inode->i_nlink + delta);
	pthread_mutex_unlock(&oi->meta_lock);
}

/* ---- inodes ---- */

void objfs_set_ops(struct pc_inode *inode)
{
	if (!objfs_is_head(inode)) {
		/* A snapshot's inode: read-only operations (snap.c). */
		switch (inode->i_mode & S_IFMT) {
		case S_IFDIR:
			pc_inode_set_ops(inode, &objfs_snap_dir_iops, &objfs_snap_dir_fops, NULL);
			break;
		case S_IFLNK:
			pc_inode_set_ops(inode, &objfs_snap_symlink_iops, NULL, NULL);
			break;
		default:
			pc_inode_set_ops(inode, &objfs_snap_file_iops, &objfs_snapfile_fops,
					 &objfs_snap_aops);
			break;
		}
		return;
	}
	switch (inode->i_mode & S_IFMT) {
	case S_IFDIR:
		pc_inode_set_ops(inode, &objfs_dir_iops, &objfs_dir_fops, NULL);
		break;
	case S_IFLNK:
		pc_inode_set_ops(inode, &objfs_symlink_iops, NULL, NULL);
		break;
	default:
		pc_inode_set_ops(inode, &objfs_file_iops, &objfs_file_fops, &objfs_aops);
		break;
	}
}

static struct pc_inode *objfs_alloc_inode(struct pc_super_block *sb)
{
	struct objfs_inode *oi = calloc(1, sizeof(*oi));

	(void)sb;
	if (!oi)
		return NULL;
	pthread_mutex_init(&oi->meta_lock, NULL);
	pc_list_init(&oi->dir.entries);
	pc_list_init(&oi->sb_item);
	oi->snapid = PC_SNAP_HEAD;
	return &oi->vfs;
}

/* A head inode joins the mount's list (snapshots walk it). */
void objfs_inode_live(struct pc_inode *inode)
{
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct objfs_inode *oi = OBJFS_I(inode);

	oi->ino = inode->i_ino;
	if (S_ISREG(inode->i_mode) && !oi->si_live) {
		pc_snap_inode_init(&oi->si, inode, &sbi->realm, &objfs_snap_ops);
		oi->si_live = true;
	}
	pthread_mutex_lock(&sbi->inodes_lock);
	if (!oi->on_sb_list) {
		pc_list_add_tail(&oi->sb_item, &sbi->inodes);
		oi->on_sb_list = true;
	}
	pthread_mutex_unlock(&sbi->inodes_lock);
}

static void objfs_destroy_inode(struct pc_inode *inode)
{
	struct objfs_inode *oi = OBJFS_I(inode);
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);

	if (oi->on_sb_list) {
		pthread_mutex_lock(&sbi->inodes_lock);
		pc_list_del_init(&oi->sb_item);
		pthread_mutex_unlock(&sbi->inodes_lock);
	}
	if (oi->si_live)
		pc_snap_inode_destroy(&oi->si);

	objfs_dir_free(&oi->dir);
	free(oi->target);
	pthread_mutex_destroy(&oi->meta_lock);
	free(oi);
}

static int objfs_read_inode(struct pc_inode *inode)
{
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct objfs_inode *oi = OBJFS_I(inode);
	unsigned char buf[OBJFS_INODE_HDR + OBJFS_SYMLINK_MAX];
	struct objfs_inode_rec r;
	char oid[OBJFS_OID_LEN], why[200];
	struct timespec ts;
	size_t got;
	uint64_t slot = OBJFS_SLOT(inode->i_ino);
	int err;

	oi->ino = inode->i_ino & OBJFS_INO_MASK;
	oi->slot = slot;
	if (slot == OBJFS_SLOT_SNAPDIR)
		return objfs_read_snapdir_inode(inode);
	if (slot) {
		struct objfs_snap *sn;

		pthread_rwlock_rdlock(&sbi->snap_rwsem);
		sn = objfs_snap_by_slot(sbi, slot);
		oi->snapid = sn ? sn->snapid : 0;
		pthread_rwlock_unlock(&sbi->snap_rwsem);
		if (!sn)
			return -ENOENT;
	}
	objfs_oid_inode(oid, oi->ino);
	err = objfs_stat_at(sbi, oi->snapid, oid, &(uint64_t){ 0 });
	if (err)
		return err;		/* -ENOENT: no such inode */
	err = objfs_read_at(sbi, oi->snapid, oid, 0, buf, sizeof(buf), &got);
	if (err)
		return err;
	err = objfs_decode_inode(buf, got, oi->ino, &r, why, sizeof(why));
	if (err) {
		pc_fs_set_error("objfs: %s", why);
		return err;
	}
	if (!slot && r.version == OBJFS_INODE_VERSION && got >= sizeof(oi->last_rec)) {
		memcpy(oi->last_rec, buf, sizeof(oi->last_rec));
		oi->last_valid = true;
	}
	inode->i_mode = r.mode;
	inode->i_uid = r.uid;
	inode->i_gid = r.gid;
	inode->i_nlink = r.nlink;
	inode->i_blkbits = PC_PAGE_SHIFT;
	pc_i_size_write(inode, (loff_t)r.size);
	inode->i_blocks = (r.size + 511) >> 9;
	ts = ns_ts(r.atime_ns);
	pc_inode_set_times(inode, PC_ATTR_ATIME, &ts);
	ts = ns_ts(r.mtime_ns);
	pc_inode_set_times(inode, PC_ATTR_MTIME, &ts);
	ts = ns_ts(r.ctime_ns);
	pc_inode_set_times(inode, PC_ATTR_CTIME, &ts);
	oi->layout = r.layout;
	/* Bytes in [size, max_size) are left by a crash that lost a size
	 * change: cut before the file grows over them (objfs_clean_tail). */
	oi->max_size = r.max_size;
	oi->dirty_tail = S_ISREG(r.mode) && r.max_size > r.size;
	if (S_ISLNK(r.mode)) {
		oi->target = strndup(r.target, r.target_len);
		if (!oi->target)
			return -ENOMEM;
	}
	if (S_ISDIR(r.mode)) {
		err = objfs_load_dir(inode);
		if (err)
			return err;
	}
	objfs_set_ops(inode);
	if (!slot)
		objfs_inode_live(inode);
	return 0;
}

static int objfs_write_inode(struct pc_inode *inode, struct pc_writeback_control *wbc)
{
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	int err;

	(void)wbc;
	if (inode->i_sb->s_readonly || !objfs_is_head(inode))
		return 0;
	/* An unlinked inode's objects go at eviction. */
	objfs_meta_lock(sbi);
	err = objfs_store_inode_cond(inode, true);
	objfs_meta_unlock(sbi);
	return err;
}

static void objfs_evict_inode(struct pc_inode *inode)
{
	char oid[OBJFS_OID_LEN];
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct objfs_inode *oi = OBJFS_I(inode);

	/* Data dirty in an older context belongs to a snapshot: it reaches
	 * the store before the pages go (an unlinked file still in a
	 * snapshot keeps its data there). */
	if (oi->si_live && !inode->i_sb->s_readonly)
		pc_snap_inode_flush_older(&oi->si);
	pc_truncate_inode_pages(&inode->i_data, 0);
	if (inode->i_nlink || inode->i_sb->s_readonly || !objfs_is_head(inode))
		return;
	/* The last reference to an unlinked inode: its objects go. Errors
	 * leave orphan objects (nothing names them), not a corrupt tree. */
	objfs_meta_lock(sbi);
	if (S_ISREG(inode->i_mode))
		objfs_remove_data(inode, (uint64_t)pc_i_size_read(inode));
	if (S_ISDIR(inode->i_mode)) {
		objfs_oid_dir(oid, inode->i_ino);
		objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
	}
	objfs_oid_inode(oid, inode->i_ino);
	objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
	objfs_meta_unlock(sbi);
}

static int objfs_sync_fs(struct pc_super_block *sb, int wait)
{
	struct objfs_sb *sbi = OBJFS_SB(sb);

	(void)wait;
	if (!sbi->os->ops->flush)
		return 0;
	return sbi->os->ops->flush(sbi->os);
}

static int objfs_statfs(struct pc_super_block *sb, struct pc_statfs *buf)
{
	struct objfs_sb *sbi = OBJFS_SB(sb);
	struct pc_objstore_statfs st = { 0 };
	int err = 0;

	if (sbi->os->ops->statfs)
		err = sbi->os->ops->statfs(sbi->os, &st);
	if (err)
		return err;
	buf->f_bsize = PC_PAGE_SIZE;
	buf->f_blocks = st.total / PC_PAGE_SIZE;
	buf->f_bfree = (st.total - (st.used < st.total ? st.used : st.total)) / PC_PAGE_SIZE;
	buf->f_bavail = st.avail / PC_PAGE_SIZE;
	if (buf->f_bavail > buf->f_bfree)
		buf->f_bfree = buf->f_bavail;
	buf->f_ffree = (uint64_t)1 << 32;
	buf->f_files = st.objects + buf->f_ffree;
	buf->f_namelen = OBJFS_NAME_MAX;
	return 0;
}

static void objfs_free_sbi(struct objfs_sb *sbi)
{
	if (sbi->bdi_up)
		pc_bdi_destroy(&sbi->bdi);
	if (sbi->locked && sbi->os->ops->unlock)
		sbi->os->ops->unlock(sbi->os, sbi->cookie);
	if (sbi->own_os)
		pc_objstore_close(sbi->os);
	if (sbi->realm_up)
		pc_snap_realm_destroy(&sbi->realm);
	objfs_snaps_free(sbi);
	pthread_mutex_destroy(&sbi->ino_lock);
	pthread_mutex_destroy(&sbi->io_lock);
	pthread_cond_destroy(&sbi->io_cond);
	pthread_mutex_destroy(&sbi->inodes_lock);
	pthread_rwlock_destroy(&sbi->snap_rwsem);
	free(sbi);
}

void objfs_io_begin(struct objfs_sb *sbi)
{
	pthread_mutex_lock(&sbi->io_lock);
	sbi->io_inflight++;
	pthread_mutex_unlock(&sbi->io_lock);
}

/* Called as the very last step of a completion: nothing of the request,
 * its pages or the mount may be touched after it. */
void objfs_io_end(struct objfs_sb *sbi)
{
	pthread_mutex_lock(&sbi->io_lock);
	if (--sbi->io_inflight == 0)
		pthread_cond_broadcast(&sbi->io_cond);
	pthread_mutex_unlock(&sbi->io_lock);
}

/* Wait until every asynchronous request's completion has returned (a
 * readahead the unmount did not wait for still drops its page references
 * after unlocking the pages). */
static void objfs_io_drain(struct objfs_sb *sbi)
{
	pthread_mutex_lock(&sbi->io_lock);
	while (sbi->io_inflight)
		pthread_cond_wait(&sbi->io_cond, &sbi->io_lock);
	pthread_mutex_unlock(&sbi->io_lock);
}

static void objfs_put_super(struct pc_super_block *sb)
{
	struct objfs_sb *sbi = OBJFS_SB(sb);

	objfs_io_drain(sbi);

	if (!sb->s_readonly && sbi->os->ops->flush) {
		int err = sbi->os->ops->flush(sbi->os);

		if (err && !sb->s_put_super_err)
			sb->s_put_super_err = err;
	}
	objfs_free_sbi(sbi);
	sb->s_fs_info = NULL;
}

/* s_op->snap_stats: the realm's counters (pc_mount_get_snap_stats). */
static int objfs_snap_stats(struct pc_super_block *sb, struct pc_snap_stats *st)
{
	struct objfs_sb *sbi = OBJFS_SB(sb);

	if (!sbi->realm_up)
		return -EOPNOTSUPP;
	pc_snap_realm_get_stats(&sbi->realm, st);
	return 0;
}

static const struct pc_super_operations objfs_sops = {
	.alloc_inode = objfs_alloc_inode,
	.destroy_inode = objfs_destroy_inode,
	.read_inode = objfs_read_inode,
	.write_inode = objfs_write_inode,
	.evict_inode = objfs_evict_inode,
	.sync_fs = objfs_sync_fs,
	.statfs = objfs_statfs,
	.put_super = objfs_put_super,
	.snap_stats = objfs_snap_stats,
};

/* A free inode number; reserves OBJFS_INO_BATCH more with a superblock
 * write when the reserve is used up. */
int objfs_alloc_ino(struct objfs_sb *sbi, uint64_t *ino)
{
	int err = 0;

	pthread_mutex_lock(&sbi->ino_lock);
	if (sbi->next_ino >= sbi->reserved_end) {
		struct objfs_super_rec r = { .layout = sbi->layout, .root_ino = sbi->root_ino,
					     .next_ino = sbi->next_ino + OBJFS_INO_BATCH };
		unsigned char buf[OBJFS_SB_SIZE];

		if (r.next_ino > OBJFS_INO_MASK) {	/* snapshot inode numbers use the bits above */
			err = -ENOSPC;
		} else {
			objfs_encode_super(buf, &r);
			err = objfs_put(sbi, PC_OBJFS_SUPER_OID, buf, sizeof(buf));
			if (!err)
				sbi->reserved_end = r.next_ino;
		}
	}
	if (!err)
		*ino = sbi->next_ino++;
	pthread_mutex_unlock(&sbi->ino_lock);
	return err;
}

/* ---- mount ---- */

/* Open the store @source names. The embedded and RADOS backends are not in
 * this build yet: only pc_mount_opts.objstore mounts. */
/*
 * Open the store a source string names, for a mount given no open store:
 * "rados:POOL" is a pool of the Ceph cluster CEPH_CONF (or the default
 * ceph.conf) names, anything else a directory made by pc_objstore_mkfs_dir.
 * The mount owns what this opens and closes it at umount.
 */
static int objfs_open_source(const char *source, struct pc_objstore **out, char *msg, size_t msglen)
{
	char why[256] = "";
	int err;

	if (!source || !*source) {
		snprintf(msg, msglen, "objfs: no source: a store directory or rados:POOL");
		return -EINVAL;
	}
	if (!strncmp(source, "rados:", 6)) {
#if PC_HAVE_RADOS
		struct pc_rados_opts ro = { .size = sizeof(ro), .why = why, .whylen = sizeof(why) };

		err = pc_objstore_open_rados(source + 6, &ro, out);
		if (err)
			snprintf(msg, msglen, "objfs: %s: %s", source, why[0] ? why : strerror(-err));
		return err;
#else
		snprintf(msg, msglen, "objfs: %s: this build has no RADOS support (built without "
			 "librados)", source);
		return -EOPNOTSUPP;
#endif
	}
	err = pc_objstore_open_dir(source, 0, out);
	if (err) {
		pc_objstore_dir_strerror(NULL, why, sizeof(why));
		snprintf(msg, msglen, "objfs: %s: %s", source, why[0] ? why : strerror(-err));
	}
	return err;
}

static int objfs_fill_super(struct pc_super_block *sb, const char *source,
			    const struct pc_mount_opts *opts, char *msg, size_t msglen)
{
	unsigned char buf[OBJFS_SB_SIZE], ibuf[OBJFS_INODE_HDR + OBJFS_SYMLINK_MAX];
	struct objfs_super_rec r;
	struct objfs_inode_rec ir;
	struct pc_objstore *os = opts ? opts->objstore : NULL;
	struct objfs_sb *sbi;
	char why[200], oid[OBJFS_OID_LEN], dummy[1];
	size_t got;
	int err;

	if (!msg) {
		msg = dummy;
		msglen = sizeof(dummy);
	}
	if (opts && opts->bdev) {
		snprintf(msg, msglen, "objfs has no block device (pc_mount_opts.bdev)");
		return -EINVAL;
	}
	bool own_os = false;

	if (!os) {
		err = objfs_open_source(source, &os, msg, msglen);
		if (err)
			return err;
		own_os = true;
	}
	if (!os->ops || !os->ops->submit) {
		snprintf(msg, msglen, "objfs: the object store has no submit operation");
		if (own_os)
			pc_objstore_close(os);
		return -EINVAL;
	}
	sbi = calloc(1, sizeof(*sbi));
	if (!sbi) {
		if (own_os)
			pc_objstore_close(os);
		return -ENOMEM;
	}
	sbi->os = os;
	sbi->own_os = own_os;
	pthread_mutex_init(&sbi->ino_lock, NULL);
	pthread_mutex_init(&sbi->io_lock, NULL);
	pthread_cond_init(&sbi->io_cond, NULL);
	pthread_mutex_init(&sbi->inodes_lock, NULL);
	pc_list_init(&sbi->inodes);
	{
		pthread_rwlockattr_t ra;

		pthread_rwlockattr_init(&ra);
		pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&sbi->snap_rwsem, &ra);
		pthread_rwlockattr_destroy(&ra);
	}
	if (pc_snap_realm_init(&sbi->realm, 0)) {
		err = -ENOMEM;
		goto fail;
	}
	sbi->realm_up = true;
	snprintf(sbi->cookie, sizeof(sbi->cookie), "objfs-%ld-%p", (long)getpid(), (void *)sb);
	if (os->ops->lock) {
		why[0] = '\0';
		err = os->ops->lock(os, sbi->cookie, why, sizeof(why));
		if (err) {
			snprintf(msg, msglen, "objfs: %s: %s", os->name,
				 why[0] ? why : err == -EBUSY ? "in use by another mount" : strerror(-err));
			goto fail;
		}
		sbi->locked = true;
	}
	err = objfs_read(sbi, PC_OBJFS_SUPER_OID, 0, buf, sizeof(buf), &got);
	if (err) {
		snprintf(msg, msglen, "objfs: reading %s from %s: %s", PC_OBJFS_SUPER_OID, os->name,
			 strerror(-err));
		goto fail;
	}
	if (got == 0) {
		snprintf(msg, msglen, "objfs: %s holds no filesystem (no %s object; run mkfs)", os->name,
			 PC_OBJFS_SUPER_OID);
		err = -EINVAL;
		goto fail;
	}
	err = objfs_decode_super(buf, got, &r, why, sizeof(why));
	if (err) {
		snprintf(msg, msglen, "objfs: %s: %s", os->name, why);
		goto fail;
	}
	if (os->max_object_size && r.layout.object_size > os->max_object_size) {
		snprintf(msg, msglen, "objfs: object size %u exceeds the store's limit %llu",
			 r.layout.object_size, (unsigned long long)os->max_object_size);
		err = -EINVAL;
		goto fail;
	}
	/* The root is read again by the VFS; checking it here gives a clear
	 * message for a corrupt one. */
	objfs_oid_inode(oid, r.root_ino);
	err = objfs_read(sbi, oid, 0, ibuf, sizeof(ibuf), &got);
	if (!err)
		err = objfs_decode_inode(ibuf, got, r.root_ino, &ir, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "reading the root inode: %s", strerror(-err));
	if (!err && !S_ISDIR(ir.mode)) {
		snprintf(why, sizeof(why), "root inode %" PRIx64 " is not a directory", r.root_ino);
		err = -EUCLEAN;
	}
	if (err) {
		snprintf(msg, msglen, "objfs: %s: %s", os->name, why);
		goto fail;
	}
	/* The live snapshots and the seq: the realm's first context. */
	err = objfs_snaps_load(sbi, msg, msglen);
	if (err)
		goto fail;
	sbi->layout = r.layout;
	sbi->root_ino = r.root_ino;
	sbi->next_ino = r.next_ino;
	sbi->reserved_end = r.next_ino;	/* the first allocation reserves */
	sbi->wsize = r.layout.object_size;
	if (os->max_write_size && sbi->wsize > os->max_write_size)
		sbi->wsize = os->max_write_size & PC_PAGE_MASK;
	if (sbi->wsize < PC_PAGE_SIZE)
		sbi->wsize = PC_PAGE_SIZE;
	/* A readahead request covers pages contiguous in one object: a whole
	 * object with one stripe, a stripe unit otherwise. */
	sbi->rsize = r.layout.stripe_count == 1 ? r.layout.object_size : r.layout.stripe_unit;
	if (sbi->rsize > (4u << 20))
		sbi->rsize = 4u << 20;
	err = pc_bdi_init(&sbi->bdi, sb->s_cache, "objfs");
	if (err) {
		snprintf(msg, msglen, "objfs: cannot start its flusher: %s", strerror(-err));
		goto fail;
	}
	sbi->bdi_up = true;
	if (opts && opts->ra_kb)
		sbi->bdi.ra_pages = opts->ra_kb / (PC_PAGE_SIZE / 1024);
	sb->s_fs_info = sbi;
	sb->s_op = &objfs_sops;
	pc_sb_set_blocksize(sb, PC_PAGE_SIZE);
	sb->s_maxbytes = (loff_t)pc_objfs_max_bytes(&r.layout);
	sb->s_dio_align = OBJFS_DIO_ALIGN;
	sb->s_bdev = NULL;
	sb->s_bdi = &sbi->bdi;
	sb->s_root_ino = r.root_ino;
	return 0;

fail:
	objfs_free_sbi(sbi);
	return err;
}

PC_EXPORT const struct pc_fs_type pc_objfs_fs_type = {
	.name = "objfs",
	.fill_super = objfs_fill_super,
};

/* Called once by the VFS registry (src/vfs/super.c) before its first use. */
int pc_objfs_register(void);
int pc_objfs_register(void)
{
	return pc_register_filesystem(&pc_objfs_fs_type);
}

