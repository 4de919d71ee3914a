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
 * Snap contexts: every object write carries a const struct
 * pc_snap_context * taken from the mount (objfs_get_snapc): today the
 * empty context (seq 0, no snapshots), held by the mount for its life.
 * Snapshot support replaces that one pointer by the realm's current
 * context and routes the small data a_ops below (set_page_dirty,
 * writepages, write_begin, invalidatepage, releasepage) through the snap
 * layer's helpers; see "Snapshots" at the end of this comment.
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
 *  - writepages: pc_write_cache_pages hands the dirty pages in index
 *    order; pages contiguous in the file and in one object are batched
 *    into one object write of up to wsize bytes (default: the object size,
 *    bounded by the store's max_write_size), submitted asynchronously;
 *    the completion ends writeback on every page and, on failure, marks
 *    the pages in error and records the error on the mapping, so fsync
 *    reports it once per open file (errseq). The write is clipped at
 *    i_size, so an object never holds bytes past the end of the file.
 *  - write_begin skips the read for a full-page write and for a page
 *    wholly past EOF (zeroed); otherwise it reads the page synchronously.
 *  - truncate: pc_truncate_setsize, then every object past the new size is
 *    removed and the object(s) holding the new EOF truncated to it
 *    (pc_objfs_object_size_for); truncating up trims the objects holding
 *    the old EOF the same way, so the bytes that become visible are zeros.
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
 * Snapshots (next change): objfs_set_page_dirty, objfs_writepages,
 * objfs_write_begin, objfs_invalidatepage and objfs_releasepage are the
 * hooks the snap layer replaces (pc_snap_set_page_dirty, ordered
 * writepages per context...); the batch struct objfs_wb already carries
 * its own context reference; metadata writes take objfs_get_snapc() at
 * the moment they are issued.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "objfs_int.h"

struct objfs_sb {
	struct pc_objstore *os;
	bool locked;
	char cookie[64];
	struct pc_backing_dev bdi;
	bool bdi_up;
	struct pc_objfs_layout layout;	/* default for new files */
	uint64_t root_ino;
	uint64_t wsize;			/* bytes per data write */
	uint64_t rsize;			/* bytes per readahead request */
	pthread_mutex_t ino_lock;
	uint64_t next_ino, reserved_end;
	pthread_mutex_t snapc_lock;
	struct pc_snap_context *snapc;	/* the current write context */
	uint64_t snapid;		/* reads: PC_SNAP_HEAD */
};

struct objfs_dirent {
	struct pc_list_head list;
	struct objfs_dirent *hnext;
	uint64_t ino;
	loff_t cookie;
	uint32_t hash;
	unsigned char type;
	unsigned char len;
	char name[];
};

struct objfs_dir {
	struct pc_list_head entries;
	struct objfs_dirent **buckets;
	size_t nbuckets, count;
	loff_t next_cookie;
	uint64_t parent;
	size_t bytes;			/* encoded size of the entries */
};

struct objfs_inode {
	struct pc_inode vfs;
	struct pc_objfs_layout layout;
	pthread_mutex_t meta_lock;
	char *target;			/* symlinks */
	struct objfs_dir dir;		/* directories (buckets NULL otherwise) */
};

static inline struct objfs_inode *OBJFS_I(struct pc_inode *inode)
{
	return pc_container_of(inode, struct objfs_inode, vfs);
}

static inline struct objfs_sb *OBJFS_SB(struct pc_super_block *sb)
{
	return sb->s_fs_info;
}

static const struct pc_inode_operations objfs_dir_iops, objfs_file_iops, objfs_symlink_iops;
static const struct pc_file_operations objfs_file_fops, objfs_dir_fops;
static const struct pc_address_space_operations objfs_aops;

/* ---- snap context and synchronous object I/O ---- */

/* The context new writes carry, referenced: pc_snap_context_put it. */
static struct pc_snap_context *objfs_get_snapc(struct objfs_sb *sbi)
{
	struct pc_snap_context *sc;

	pthread_mutex_lock(&sbi->snapc_lock);
	sc = pc_snap_context_get(sbi->snapc);
	pthread_mutex_unlock(&sbi->snapc_lock);
	return sc;
}

/* Write @buf as the whole content of @oid with the current context. */
static int objfs_put(struct objfs_sb *sbi, const char *oid, const void *buf, size_t len)
{
	struct pc_snap_context *sc = objfs_get_snapc(sbi);
	int err = objfs_put_object(sbi->os, sc, oid, buf, len);

	pc_snap_context_put(sc);
	return err;
}

/* REMOVE or TRUNCATE @oid (a missing object is not an error). */
static int objfs_obj_op(struct objfs_sb *sbi, enum pc_obj_op op, const char *oid, uint64_t off)
{
	struct pc_snap_context *sc = objfs_get_snapc(sbi);
	struct pc_obj_req req = { .op = op, .oid = oid, .off = off, .snapc = sc,
				  .flags = PC_OBJ_F_FULL_TRY };
	int64_t r = pc_objstore_exec(sbi->os, &req);

	pc_snap_context_put(sc);
	return r == -ENOENT ? 0 : r < 0 ? (int)r : 0;
}

/* Size of @oid (-ENOENT if missing). */
static int objfs_stat(struct objfs_sb *sbi, const char *oid, uint64_t *size)
{
	struct pc_obj_req req = { .op = PC_OBJ_STAT, .oid = oid, .snapid = sbi->snapid };
	int64_t r = pc_objstore_exec(sbi->os, &req);

	if (r < 0)
		return (int)r;
	*size = req.size;
	return 0;
}

/* Read up to @len bytes of @oid at @off into @buf; *@got: bytes of the object. */
static int objfs_read(struct objfs_sb *sbi, const char *oid, uint64_t off, void *buf, size_t len,
		      size_t *got)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct pc_obj_req req = { .op = PC_OBJ_READ, .oid = oid, .off = off, .len = len,
				  .iov = &iov, .iovcnt = 1, .snapid = sbi->snapid };
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

static void objfs_touch(struct pc_inode *inode, unsigned which)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	pc_inode_set_times(inode, which, &now);
}

/* ---- inode objects ---- */

/*
 * Write @inode's object now. meta_lock serialises the writes of one inode
 * object and guards the fields it encodes that the VFS does not protect
 * otherwise from the flusher (i_nlink, i_mode, i_uid, i_gid: objfs changes
 * them under meta_lock). @if_linked: do nothing for an unlinked inode
 * (its objects go at eviction).
 */
static int objfs_store_inode_cond(struct pc_inode *inode, bool if_linked)
{
	struct objfs_inode *oi = OBJFS_I(inode);
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	unsigned char buf[OBJFS_INODE_HDR + OBJFS_SYMLINK_MAX];
	struct objfs_inode_rec r = { 0 };
	struct timespec at, mt, ct;
	char oid[OBJFS_OID_LEN];
	size_t len;
	int err;

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
	r.size = (uint64_t)pc_i_size_read(inode);
	r.atime_ns = ts_ns(&at);
	r.mtime_ns = ts_ns(&mt);
	r.ctime_ns = ts_ns(&ct);
	r.layout = oi->layout;
	if (oi->target) {
		r.target = oi->target;
		r.target_len = (uint32_t)strlen(oi->target);
	}
	len = objfs_encode_inode(buf, &r);
	objfs_oid_inode(oid, inode->i_ino);
	err = objfs_put(sbi, oid, buf, len);
	pthread_mutex_unlock(&oi->meta_lock);
	return err;
}

static int objfs_store_inode(struct pc_inode *inode)
{
	return objfs_store_inode_cond(inode, false);
}

/* Change i_nlink by @delta (or set it to 0 with @zero) under meta_lock. */
static void objfs_nlink(struct pc_inode *inode, int delta, bool zero)
{
	struct objfs_inode *oi = OBJFS_I(inode);

	pthread_mutex_lock(&oi->meta_lock);
	if (zero)
		inode->i_nlink = 0;
	else if (delta > 0 || inode->i_nlink > 0)
		inode->i_nlink = (unsigned)((int)inode->i_nlink + delta);
	pthread_mutex_unlock(&oi->meta_lock);
}

/* ---- directories in memory ---- */

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

static int dir_init(struct objfs_dir *d, uint64_t parent)
{
	pc_list_init(&d->entries);
	d->nbuckets = 16;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	d->count = 0;
	d->bytes = 0;
	d->next_cookie = 2;
	d->parent = parent;
	return d->buckets ? 0 : -ENOMEM;
}

static void dir_free(struct objfs_dir *d)
{
	struct pc_list_head *pos, *n;

	if (!d->buckets)
		return;
	pc_list_for_each_safe(pos, n, &d->entries)
		free(pc_list_entry(pos, struct objfs_dirent, list));
	pc_list_init(&d->entries);
	free(d->buckets);
	d->buckets = NULL;
	d->count = 0;
}

static struct objfs_dirent *dir_find(struct objfs_dir *d, const char *name, size_t len)
{
	uint32_t h = name_hash(name, len);

	if (!d->buckets)
		return NULL;
	for (struct objfs_dirent *e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

static void dir_maybe_grow(struct objfs_dir *d)
{
	size_t nn = d->nbuckets * 2;
	struct objfs_dirent **nb;
	struct pc_list_head *pos;

	if (d->count < d->nbuckets * 2)
		return;
	nb = calloc(nn, sizeof(*nb));
	if (!nb)
		return;
	for (pos = d->entries.next; pos != &d->entries; pos = pos->next) {
		struct objfs_dirent *e = pc_list_entry(pos, struct objfs_dirent, list);
		size_t b = e->hash & (nn - 1);

		e->hnext = nb[b];
		nb[b] = e;
	}
	free(d->buckets);
	d->buckets = nb;
	d->nbuckets = nn;
}

static struct objfs_dirent *dirent_new(const char *name, size_t len, uint64_t ino, unsigned char type)
{
	struct objfs_dirent *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->len = (unsigned char)len;
	e->hash = name_hash(name, len);
	e->ino = ino;
	e->type = type;
	e->hnext = NULL;
	return e;
}

static void dir_insert(struct objfs_dir *d, struct objfs_dirent *e)
{
	size_t b;

	dir_maybe_grow(d);
	b = e->hash & (d->nbuckets - 1);
	e->cookie = d->next_cookie++;
	e->hnext = d->buckets[b];
	d->buckets[b] = e;
	pc_list_add_tail(&e->list, &d->entries);
	d->count++;
	d->bytes += 10 + e->len;
}

static void dir_remove(struct objfs_dir *d, struct objfs_dirent *e)
{
	struct objfs_dirent **pp = &d->buckets[e->hash & (d->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	pc_list_del_init(&e->list);
	d->count--;
	d->bytes -= 10 + e->len;
}

/* Write directory @dir's object from its in-memory entries. */
static int objfs_store_dir(struct pc_inode *dir)
{
	struct objfs_dir *d = &OBJFS_I(dir)->dir;
	size_t len = OBJFS_DIR_HDR + d->bytes, off = OBJFS_DIR_HDR;
	unsigned char *buf = malloc(len);
	char oid[OBJFS_OID_LEN];
	struct pc_list_head *pos;
	int err;

	if (!buf)
		return -ENOMEM;
	objfs_encode_dir_hdr(buf, dir->i_ino, d->parent, (uint32_t)d->count);
	for (pos = d->entries.next; pos != &d->entries; pos = pos->next) {
		struct objfs_dirent *e = pc_list_entry(pos, struct objfs_dirent, list);

		off += objfs_encode_dirent(buf + off, e->ino, e->type, e->name, e->len);
	}
	objfs_oid_dir(oid, dir->i_ino);
	err = objfs_put(OBJFS_SB(dir->i_sb), oid, buf, len);
	free(buf);
	return err;
}

static int dir_load_one(void *arg, const struct objfs_dirent_rec *r)
{
	struct objfs_dir *d = arg;
	struct objfs_dirent *e;

	if (dir_find(d, r->name, r->len))
		return -EUCLEAN;	/* a name twice */
	e = dirent_new(r->name, r->len, r->ino, r->type);
	if (!e)
		return -ENOMEM;
	dir_insert(d, e);
	return 0;
}

/* Read directory @inode's object into memory. */
static int objfs_load_dir(struct pc_inode *inode)
{
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct objfs_dir *d = &OBJFS_I(inode)->dir;
	char oid[OBJFS_OID_LEN], why[200];
	unsigned char *buf;
	uint64_t size = 0, parent = 0;
	size_t got;
	int err;

	objfs_oid_dir(oid, inode->i_ino);
	err = objfs_stat(sbi, oid, &size);
	if (err == -ENOENT) {
		pc_fs_set_error("objfs: directory %" PRIx64 ": object %s is missing", inode->i_ino, oid);
		return -EUCLEAN;
	}
	if (err)
		return err;
	if (size > OBJFS_DIR_OBJ_MAX || size < OBJFS_DIR_HDR) {
		pc_fs_set_error("objfs: directory %" PRIx64 ": object of %" PRIu64 " bytes", inode->i_ino,
				size);
		return -EUCLEAN;
	}
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	err = objfs_read(sbi, oid, 0, buf, size, &got);
	if (!err && dir_init(d, 0))
		err = -ENOMEM;
	if (!err) {
		why[0] = '\0';
		err = objfs_decode_dir(buf, got, inode->i_ino, &parent, dir_load_one, d, why,
				       sizeof(why));
		if (err == -EUCLEAN && !why[0])
			snprintf(why, sizeof(why), "directory %" PRIx64 ": a name appears twice",
				 inode->i_ino);
		if (err == -EUCLEAN)
			pc_fs_set_error("objfs: %s", why);
		d->parent = parent;
		if (err)
			dir_free(d);
	}
	free(buf);
	return err;
}

/* ---- data objects ---- */

/*
 * Make the objects of @inode match a file of @new_size bytes that was
 * @old_size bytes: objects wholly past the new size are removed, the ones
 * holding the new end truncated to it. Growing: the objects holding the old
 * end are trimmed to it (bytes past an old EOF must read as zeros). The
 * work is bounded by the old size (validated against the layout).
 */
static int objfs_truncate_objects(struct pc_inode *inode, uint64_t old_size, uint64_t new_size)
{
	struct objfs_inode *oi = OBJFS_I(inode);
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	const struct pc_objfs_layout *l = &oi->layout;
	uint64_t period = (uint64_t)l->object_size * l->stripe_count;
	bool shrink = new_size < old_size;
	uint64_t lo = shrink ? new_size : old_size;
	uint64_t first, last, cur = 0;
	char oid[OBJFS_OID_LEN];
	int err = 0, e;

	/* Objects of the sets before lo's are full and stay. Shrinking, every
	 * set up to the one holding byte old_size-1 may change; growing, only
	 * the set holding the old end is trimmed. */
	first = (lo / period) * l->stripe_count;
	last = shrink ? ((old_size - 1) / period + 1) * l->stripe_count : first + l->stripe_count;
	for (uint64_t objno = first; objno < last; objno++) {
		uint64_t want = pc_objfs_object_size_for(l, objno, lo);

		if (shrink && want == pc_objfs_object_size_for(l, objno, old_size))
			continue;
		objfs_oid_data(oid, inode->i_ino, objno);
		if (want == 0 && shrink) {
			e = objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
		} else {
			e = objfs_stat(sbi, oid, &cur);
			if (e == -ENOENT)
				e = 0;
			else if (!e && want == 0)
				e = objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
			else if (!e && cur > want)
				e = objfs_obj_op(sbi, PC_OBJ_TRUNCATE, oid, want);
		}
		if (e && !err)
			err = e;
	}
	return err;
}

/* Remove every data object of @inode (size @size). */
static int objfs_remove_data(struct pc_inode *inode, uint64_t size)
{
	return objfs_truncate_objects(inode, size, 0);
}

/* ---- reads ---- */

#define OBJFS_RA_MAX_PAGES 1024

struct objfs_rd {
	struct pc_obj_req req;
	unsigned nr;
	char oid[OBJFS_OID_LEN];
	struct pc_page **pages;
	struct iovec *iov;
};

static void objfs_read_done(struct pc_obj_req *req)
{
	struct objfs_rd *rd = pc_container_of(req, struct objfs_rd, req);
	int64_t got = req->result;

	for (unsigned i = 0; i < rd->nr; i++) {
		struct pc_page *page = rd->pages[i];

		if (got < 0) {
			pc_SetPageError(page);
		} else {
			int64_t start = (int64_t)i << PC_PAGE_SHIFT;

			/* A missing object or a short read: zeros. */
			if (got < start + (int64_t)PC_PAGE_SIZE)
				pc_zero_user_segment(page, got > start ? (unsigned)(got - start) : 0,
						     PC_PAGE_SIZE);
			pc_ClearPageError(page);
			pc_SetPageUptodate(page);
		}
		pc_unlock_page(page);
		pc_put_page(page);
	}
	free(rd->pages);
	free(rd->iov);
	free(rd);
}

/* Start an asynchronous read of @nr pages (locked, referenced by us) at
 * @objoff of object @objno. On a submit failure the pages end in error. */
static void objfs_submit_read(struct pc_inode *inode, struct objfs_rd *rd, uint64_t objno,
			      uint64_t objoff)
{
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	int err;

	objfs_oid_data(rd->oid, inode->i_ino, objno);
	for (unsigned i = 0; i < rd->nr; i++) {
		rd->iov[i].iov_base = pc_page_address(rd->pages[i]);
		rd->iov[i].iov_len = PC_PAGE_SIZE;
	}
	rd->req = (struct pc_obj_req){
		.op = PC_OBJ_READ, .oid = rd->oid, .off = objoff,
		.len = (uint64_t)rd->nr << PC_PAGE_SHIFT, .iov = rd->iov, .iovcnt = (int)rd->nr,
		.snapid = sbi->snapid, .done = objfs_read_done,
	};
	err = sbi->os->ops->submit(sbi->os, &rd->req);
	if (err) {
		rd->req.result = err;
		objfs_read_done(&rd->req);
	}
}

static struct objfs_rd *objfs_rd_alloc(unsigned cap)
{
	struct objfs_rd *rd = calloc(1, sizeof(*rd));

	if (!rd)
		return NULL;
	rd->pages = malloc(cap * sizeof(*rd->pages));
	rd->iov = malloc(cap * sizeof(*rd->iov));
	if (!rd->pages || !rd->iov) {
		free(rd->pages);
		free(rd->iov);
		free(rd);
		return NULL;
	}
	return rd;
}

/* a_ops->readpage: page locked, not uptodate. */
static int objfs_readpage(struct pc_file *file, struct pc_page *page)
{
	struct pc_inode *inode = page->mapping->host;
	struct objfs_rd *rd = objfs_rd_alloc(1);
	uint64_t objno, objoff;

	(void)file;
	if (!rd) {
		pc_unlock_page(page);
		return -ENOMEM;
	}
	pc_objfs_file_to_object(&OBJFS_I(inode)->layout, (uint64_t)page->index << PC_PAGE_SHIFT,
				PC_PAGE_SIZE, &objno, &objoff);
	pc_get_page(page);
	rd->pages[0] = page;
	rd->nr = 1;
	objfs_submit_read(inode, rd, objno, objoff);
	return 0;
}

/* a_ops->readahead: runs of pages contiguous in one object, one request each. */
static void objfs_readahead(struct pc_readahead_control *rac)
{
	struct pc_inode *inode = rac->mapping->host;
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	const struct pc_objfs_layout *l = &OBJFS_I(inode)->layout;
	unsigned cap = (unsigned)(sbi->rsize >> PC_PAGE_SHIFT);
	struct objfs_rd *rd = NULL;
	uint64_t objno = 0, objoff = 0, next_off = 0;
	pc_pgoff_t next_index = 0;
	struct pc_page *page;

	while ((page = pc_readahead_page(rac)) != NULL) {
		uint64_t no, oo;

		pc_objfs_file_to_object(l, (uint64_t)page->index << PC_PAGE_SHIFT, PC_PAGE_SIZE,
					&no, &oo);
		if (rd && (rd->nr == cap || page->index != next_index || no != objno ||
			   oo != next_off)) {
			objfs_submit_read(inode, rd, objno, objoff);
			rd = NULL;
		}
		if (!rd) {
			rd = objfs_rd_alloc(cap);
			if (!rd) {
				/* The reader retries it through readpage. */
				pc_unlock_page(page);
				pc_put_page(page);
				continue;
			}
			objno = no;
			objoff = oo;
		}
		rd->pages[rd->nr++] = page;	/* keeps the reference we were handed */
		next_index = page->index + 1;
		next_off = oo + PC_PAGE_SIZE;
	}
	if (rd)
		objfs_submit_read(inode, rd, objno, objoff);
}

/* ---- writeback ---- */

struct objfs_wb {
	struct pc_obj_req req;
	struct pc_address_space *mapping;
	struct pc_snap_context *snapc;
	unsigned nr, cap;
	uint64_t objno, objoff, bytes;
	pc_pgoff_t next_index;
	bool closed;			/* the last page was partial (EOF) */
	char oid[OBJFS_OID_LEN];
	struct pc_page **pages;
	struct iovec *iov;
};

struct objfs_wb_ctx {
	struct pc_inode *inode;
	struct objfs_wb *wb;
	int sync;
};

static void objfs_write_done(struct pc_obj_req *req)
{
	struct objfs_wb *wb = pc_container_of(req, struct objfs_wb, req);
	int err = req->result < 0 ? (int)req->result : 0;

	if (err)
		pc_mapping_set_error(wb->mapping, err);
	for (unsigned i = 0; i < wb->nr; i++) {
		struct pc_page *page = wb->pages[i];

		if (err)
			pc_SetPageError(page);
		else
			pc_ClearPageError(page);
		pc_end_page_writeback(page);
		pc_put_page(page);
	}
	pc_snap_context_put(wb->snapc);
	free(wb->pages);
	free(wb->iov);
	free(wb);
}

static void objfs_wb_submit(struct pc_inode *inode, struct objfs_wb *wb, int sync)
{
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	int err;

	objfs_oid_data(wb->oid, inode->i_ino, wb->objno);
	wb->req = (struct pc_obj_req){
		.op = PC_OBJ_WRITE, .oid = wb->oid, .off = wb->objoff, .len = wb->bytes,
		.iov = wb->iov, .iovcnt = (int)wb->nr, .snapc = wb->snapc,
		.flags = sync ? PC_OBJ_F_SYNC : 0, .done = objfs_write_done,
	};
	err = sbi->os->ops->submit(sbi->os, &wb->req);
	if (err) {
		wb->req.result = err;
		objfs_write_done(&wb->req);
	}
}

/*
 * The most pages a write starting at page @index may carry: to the end of
 * the bytes contiguous in its object (the object's end with one stripe,
 * the stripe unit's otherwise), at most wsize (Ceph's
 * ceph_calc_file_object_mapping + wsize cut). At least 1. This is the
 * snap layer's pc_snap_inode_ops.max_pages when objfs moves to it.
 */
static unsigned long objfs_run_max_pages(struct pc_inode *inode, pc_pgoff_t index)
{
	const struct pc_objfs_layout *l = &OBJFS_I(inode)->layout;
	uint64_t objno, objoff, n, cap = OBJFS_SB(inode->i_sb)->wsize >> PC_PAGE_SHIFT;

	n = pc_objfs_file_to_object(l, (uint64_t)index << PC_PAGE_SHIFT, UINT64_MAX, &objno, &objoff);
	if (l->stripe_count == 1)
		n = l->object_size - objoff;
	n >>= PC_PAGE_SHIFT;
	if (n > cap)
		n = cap;
	return n ? (unsigned long)n : 1;
}

/*
 * The pc_write_cache_pages callback: @page locked, dirty bit cleared. Add
 * it to the batch being built (setting writeback and unlocking it), after
 * sending the batch if the page does not continue it.
 */
static int objfs_writepage_cb(struct pc_page *page, struct pc_writeback_control *wbc, void *data)
{
	struct objfs_wb_ctx *ctx = data;
	struct pc_inode *inode = ctx->inode;
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct objfs_wb *wb = ctx->wb;
	uint64_t pos = (uint64_t)page->index << PC_PAGE_SHIFT;
	uint64_t size = (uint64_t)pc_i_size_read(inode), len, objno, objoff;

	(void)wbc;
	if (pos >= size) {		/* truncated meanwhile: nothing to write */
		pc_unlock_page(page);
		return 0;
	}
	len = size - pos < PC_PAGE_SIZE ? size - pos : PC_PAGE_SIZE;
	pc_objfs_file_to_object(&OBJFS_I(inode)->layout, pos, PC_PAGE_SIZE, &objno, &objoff);
	/* A batch is one run: contiguous pages, no further than
	 * objfs_run_max_pages allows from its first page. */
	if (wb && (wb->closed || wb->nr == wb->cap || page->index != wb->next_index)) {
		objfs_wb_submit(inode, wb, ctx->sync);
		wb = ctx->wb = NULL;
	}
	if (!wb) {
		wb = calloc(1, sizeof(*wb));
		if (wb) {
			wb->cap = (unsigned)objfs_run_max_pages(inode, page->index);
			wb->pages = malloc(wb->cap * sizeof(*wb->pages));
			wb->iov = malloc(wb->cap * sizeof(*wb->iov));
		}
		if (!wb || !wb->pages || !wb->iov) {
			if (wb) {
				free(wb->pages);
				free(wb->iov);
				free(wb);
			}
			pc_redirty_page_for_writepage(wbc, page);
			pc_unlock_page(page);
			return -ENOMEM;
		}
		wb->mapping = page->mapping;
		wb->snapc = objfs_get_snapc(sbi);
		wb->objno = objno;
		wb->objoff = objoff;
		ctx->wb = wb;
	}
	pc_get_page(page);
	wb->pages[wb->nr] = page;
	wb->iov[wb->nr].iov_base = pc_page_address(page);
	wb->iov[wb->nr].iov_len = len;
	wb->nr++;
	wb->bytes += len;
	wb->next_index = page->index + 1;
	wb->closed = len < PC_PAGE_SIZE;
	pc_set_page_writeback(page);
	pc_unlock_page(page);
	return 0;
}

/* a_ops->writepages: batched, asynchronous object writes. */
static int objfs_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc)
{
	struct objfs_wb_ctx ctx = { .inode = mapping->host, .wb = NULL,
				    .sync = wbc->sync_mode == PC_WB_SYNC_ALL };
	int err = pc_write_cache_pages(mapping, wbc, objfs_writepage_cb, &ctx);

	if (ctx.wb)
		objfs_wb_submit(ctx.inode, ctx.wb, ctx.sync);
	return err;
}

/* a_ops->writepage (reclaim, invalidation): a batch of one page. */
static int objfs_writepage(struct pc_page *page, struct pc_writeback_control *wbc)
{
	struct objfs_wb_ctx ctx = { .inode = page->mapping->host, .wb = NULL,
				    .sync = wbc->sync_mode == PC_WB_SYNC_ALL };
	int err = objfs_writepage_cb(page, wbc, &ctx);

	if (ctx.wb)
		objfs_wb_submit(ctx.inode, ctx.wb, ctx.sync);
	return err;
}

/* a_ops->set_page_dirty: the generic one (snapshots: the page's context). */
static bool objfs_set_page_dirty(struct pc_page *page)
{
	return pc___set_page_dirty_nobuffers(page);
}

/* No private page state yet (snapshots: the page's context reference). */
static void objfs_invalidatepage(struct pc_page *page, unsigned offset, unsigned length)
{
	(void)page;
	(void)offset;
	(void)length;
}

static bool objfs_releasepage(struct pc_page *page)
{
	return !pc_PagePrivate(page);
}

/* ---- buffered writes ---- */

/* Read @page (locked) synchronously from its object. */
static int objfs_read_page_sync(struct pc_inode *inode, struct pc_page *page)
{
	char oid[OBJFS_OID_LEN];
	uint64_t objno, objoff;

	pc_objfs_file_to_object(&OBJFS_I(inode)->layout, (uint64_t)page->index << PC_PAGE_SHIFT,
				PC_PAGE_SIZE, &objno, &objoff);
	objfs_oid_data(oid, inode->i_ino, objno);
	return objfs_read(OBJFS_SB(inode->i_sb), oid, objoff, pc_page_address(page), PC_PAGE_SIZE,
			  NULL);
}

static int objfs_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			     unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata)
{
	struct pc_inode *inode = mapping->host;
	struct pc_page *page = pc_grab_cache_page_write_begin(mapping, pos >> PC_PAGE_SHIFT, flags);
	loff_t page_pos = pos & (loff_t)PC_PAGE_MASK;
	int err;

	(void)file;
	(void)fsdata;
	if (!page)
		return -ENOMEM;
	if (pc_PageUptodate(page))
		goto out;
	if ((pos & ~PC_PAGE_MASK) == 0 && len == PC_PAGE_SIZE)
		goto out;		/* the copy covers the page: write_end decides */
	if (page_pos >= pc_i_size_read(inode)) {
		pc_zero_user_segment(page, 0, PC_PAGE_SIZE);	/* wholly past EOF */
		pc_SetPageUptodate(page);
		goto out;
	}
	err = objfs_read_page_sync(inode, page);
	if (err) {
		pc_unlock_page(page);
		pc_put_page(page);
		return err;
	}
	pc_SetPageUptodate(page);
out:
	*pagep = page;
	return 0;
}

static int objfs_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			   unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	struct pc_inode *inode = mapping->host;

	(void)file;
	(void)fsdata;
	if (!pc_PageUptodate(page)) {
		if (copied < len)
			copied = 0;	/* a full-page write that fell short: retry */
		else
			pc_SetPageUptodate(page);
	}
	if (copied) {
		if (pos + (loff_t)copied > pc_i_size_read(inode)) {
			pc_i_size_write(inode, pos + (loff_t)copied);
			inode->i_blocks = ((uint64_t)pos + copied + 511) >> 9;
			pc___mark_inode_dirty(inode, PC_I_DIRTY_SYNC | PC_I_DIRTY_DATASYNC);
		}
		pc_set_page_dirty(page);
	}
	pc_unlock_page(page);
	pc_put_page(page);
	return (int)copied;
}

/* ---- O_DIRECT ---- */

#define OBJFS_DIO_ALIGN 512

/*
 * a_ops->direct_IO: write back and drop the cached pages of the range,
 * then read or write the objects directly, one stripe-unit extent at a
 * time (synchronous). Writes hold i_rwsem (the VFS's).
 */
static ssize_t objfs_direct_IO(struct pc_kiocb *iocb, struct pc_iov_iter *iter)
{
	struct pc_inode *inode = iocb->ki_filp->f_inode;
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct pc_address_space *mapping = inode->i_mapping;
	const struct pc_objfs_layout *l = &OBJFS_I(inode)->layout;
	loff_t pos = iocb->ki_pos;
	size_t count = pc_iov_iter_count(iter), done = 0;
	char *buf;
	int err;

	err = pc_check_dio_alignment(iter, pos, OBJFS_DIO_ALIGN);
	if (err)
		return err;
	if (iter->dir == PC_READ) {
		loff_t size = pc_i_size_read(inode);

		if (pos >= size)
			return 0;
		if ((loff_t)count > size - pos)
			count = (size_t)(size - pos);
	}
	if (count == 0)
		return 0;
	err = pc_filemap_write_and_wait_range(mapping, pos, pos + (loff_t)count - 1);
	if (err)
		return err;
	err = pc_invalidate_inode_pages2_range(mapping, pos >> PC_PAGE_SHIFT,
					       (pos + (loff_t)count - 1) >> PC_PAGE_SHIFT);
	if (err)
		return err;
	buf = malloc(l->stripe_unit);
	if (!buf)
		return -ENOMEM;
	while (done < count) {
		uint64_t objno, objoff, n;
		char oid[OBJFS_OID_LEN];

		n = pc_objfs_file_to_object(l, (uint64_t)pos + done, count - done, &objno, &objoff);
		objfs_oid_data(oid, inode->i_ino, objno);
		if (iter->dir == PC_READ) {
			err = objfs_read(sbi, oid, objoff, buf, n, NULL);
			if (err)
				break;
			pc_copy_to_iter(buf, n, iter);
		} else {
			struct pc_snap_context *sc = objfs_get_snapc(sbi);
			struct iovec iov = { .iov_base = buf, .iov_len = n };
			struct pc_obj_req req = { .op = PC_OBJ_WRITE, .oid = oid, .off = objoff,
						  .len = n, .iov = &iov, .iovcnt = 1, .snapc = sc };
			int64_t r;

			if (pc_copy_from_iter(buf, n, iter) != n) {
				pc_snap_context_put(sc);
				err = -EFAULT;
				break;
			}
			r = pc_objstore_exec(sbi->os, &req);
			pc_snap_context_put(sc);
			if (r < 0) {
				err = (int)r;
				break;
			}
		}
		done += n;
	}
	free(buf);
	if (iter->dir == PC_WRITE && done) {
		if (pos + (loff_t)done > pc_i_size_read(inode)) {
			pc_i_size_write(inode, pos + (loff_t)done);
			pc___mark_inode_dirty(inode, PC_I_DIRTY_SYNC | PC_I_DIRTY_DATASYNC);
		}
		/* A buffered reader may have cached the old data meanwhile. */
		pc_invalidate_inode_pages2_range(mapping, pos >> PC_PAGE_SHIFT,
						 (pos + (loff_t)done - 1) >> PC_PAGE_SHIFT);
	}
	return done ? (ssize_t)done : err;
}

/* ---- inodes ---- */

static void objfs_set_ops(struct pc_inode *inode)
{
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
	return &oi->vfs;
}

static void objfs_destroy_inode(struct pc_inode *inode)
{
	struct objfs_inode *oi = OBJFS_I(inode);

	dir_free(&oi->dir);
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
	int err;

	objfs_oid_inode(oid, inode->i_ino);
	err = objfs_stat(sbi, oid, &(uint64_t){ 0 });
	if (err)
		return err;		/* -ENOENT: no such inode */
	err = objfs_read(sbi, oid, 0, buf, sizeof(buf), &got);
	if (err)
		return err;
	err = objfs_decode_inode(buf, got, inode->i_ino, &r, why, sizeof(why));
	if (err) {
		pc_fs_set_error("objfs: %s", why);
		return err;
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
	return 0;
}

static int objfs_write_inode(struct pc_inode *inode, struct pc_writeback_control *wbc)
{
	(void)wbc;
	if (inode->i_sb->s_readonly)
		return 0;
	/* An unlinked inode's objects go at eviction. */
	return objfs_store_inode_cond(inode, true);
}

static void objfs_evict_inode(struct pc_inode *inode)
{
	char oid[OBJFS_OID_LEN];
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);

	pc_truncate_inode_pages(&inode->i_data, 0);
	if (inode->i_nlink || inode->i_sb->s_readonly)
		return;
	/* The last reference to an unlinked inode: its objects go. Errors
	 * leave orphan objects (nothing names them), not a corrupt tree. */
	if (S_ISREG(inode->i_mode))
		objfs_remove_data(inode, (uint64_t)pc_i_size_read(inode));
	if (S_ISDIR(inode->i_mode)) {
		objfs_oid_dir(oid, inode->i_ino);
		objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
	}
	objfs_oid_inode(oid, inode->i_ino);
	objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
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
	pc_snap_context_put(sbi->snapc);
	pthread_mutex_destroy(&sbi->ino_lock);
	pthread_mutex_destroy(&sbi->snapc_lock);
	free(sbi);
}

static void objfs_put_super(struct pc_super_block *sb)
{
	struct objfs_sb *sbi = OBJFS_SB(sb);

	if (!sb->s_readonly && sbi->os->ops->flush) {
		int err = sbi->os->ops->flush(sbi->os);

		if (err && !sb->s_put_super_err)
			sb->s_put_super_err = err;
	}
	objfs_free_sbi(sbi);
	sb->s_fs_info = NULL;
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
};

/* A free inode number; reserves OBJFS_INO_BATCH more with a superblock
 * write when the reserve is used up. */
static int objfs_alloc_ino(struct objfs_sb *sbi, uint64_t *ino)
{
	int err = 0;

	pthread_mutex_lock(&sbi->ino_lock);
	if (sbi->next_ino >= sbi->reserved_end) {
		struct objfs_super_rec r = { .layout = sbi->layout, .root_ino = sbi->root_ino,
					     .next_ino = sbi->next_ino + OBJFS_INO_BATCH };
		unsigned char buf[OBJFS_SB_SIZE];

		if (r.next_ino > (UINT64_C(1) << 62)) {
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

/* ---- namespace operations (the VFS holds the directory's i_rwsem) ---- */

static unsigned char mode_dt(mode_t mode)
{
	return S_ISDIR(mode) ? DT_DIR : S_ISLNK(mode) ? DT_LNK : DT_REG;
}

static int objfs_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	struct objfs_inode *od = OBJFS_I(dir);
	struct objfs_dirent *e;

	if (len == 1 && name[0] == '.') {
		*ino = dir->i_ino;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*ino = od->dir.parent;
		return 0;
	}
	e = dir_find(&od->dir, name, len);
	if (!e)
		return -ENOENT;
	*ino = e->ino;
	return 0;
}

/* The directory changed: times, and its inode object later. */
static void objfs_dir_changed(struct pc_inode *dir)
{
	objfs_touch(dir, PC_ATTR_MTIME | PC_ATTR_CTIME);
	pc_mark_inode_dirty(dir);
}

static int objfs_mknod(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		       const char *target, struct pc_inode **out)
{
	struct pc_super_block *sb = dir->i_sb;
	struct objfs_sb *sbi = OBJFS_SB(sb);
	struct objfs_inode *od = OBJFS_I(dir), *oi;
	struct objfs_dirent *e;
	struct pc_inode *inode;
	char oid[OBJFS_OID_LEN];
	uint64_t ino;
	int err;

	if (len > OBJFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (target && (strlen(target) == 0 || strlen(target) > OBJFS_SYMLINK_MAX))
		return strlen(target) ? -ENAMETOOLONG : -ENOENT;
	if (dir_find(&od->dir, name, len))
		return -EEXIST;
	err = objfs_alloc_ino(sbi, &ino);
	if (err)
		return err;
	inode = pc_new_inode(sb, ino);
	if (!inode)
		return -ENOMEM;
	oi = OBJFS_I(inode);
	inode->i_mode = mode;
	inode->i_uid = geteuid();
	inode->i_gid = getegid();
	inode->i_blkbits = PC_PAGE_SHIFT;
	inode->i_nlink = S_ISDIR(mode) ? 2 : 1;
	oi->layout = sbi->layout;
	err = -ENOMEM;
	if (S_ISDIR(mode) && dir_init(&oi->dir, dir->i_ino))
		goto fail;
	if (target) {
		oi->target = strdup(target);
		if (!oi->target)
			goto fail;
		pc_i_size_write(inode, (loff_t)strlen(target));
	}
	e = dirent_new(name, len, ino, mode_dt(mode));
	if (!e)
		goto fail;
	objfs_set_ops(inode);
	/* Objects first, then the entry that names them. */
	err = objfs_store_inode(inode);
	if (!err && S_ISDIR(mode))
		err = objfs_store_dir(inode);
	if (err) {
		free(e);
		goto fail_objects;
	}
	dir_insert(&od->dir, e);
	err = objfs_store_dir(dir);
	if (err) {
		dir_remove(&od->dir, e);
		free(e);
		goto fail_objects;
	}
	if (S_ISDIR(mode))
		objfs_nlink(dir, 1, false);
	objfs_dir_changed(dir);
	*out = inode;
	return 0;

fail_objects:
	objfs_oid_inode(oid, ino);
	objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
	if (S_ISDIR(mode)) {
		objfs_oid_dir(oid, ino);
		objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
	}
fail:
	inode->i_nlink = 0;
	/* Evicting it must not remove objects another inode could own: the
	 * number was never published, so removing its own names is safe. */
	pc_iput(inode);
	return err;
}

static int objfs_create(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
			struct pc_inode **out)
{
	return objfs_mknod(dir, name, len, S_IFREG | (mode & 07777), NULL, out);
}

static int objfs_mkdir(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		       struct pc_inode **out)
{
	return objfs_mknod(dir, name, len, S_IFDIR | (mode & 07777), NULL, out);
}

static int objfs_symlink(struct pc_inode *dir, const char *name, size_t len, const char *target,
			 struct pc_inode **out)
{
	return objfs_mknod(dir, name, len, S_IFLNK | 0777, target, out);
}

/* Drop one link of @victim after its entry is gone from the directory. */
static int objfs_drop_link(struct pc_inode *victim)
{
	objfs_nlink(victim, -1, S_ISDIR(victim->i_mode));
	objfs_touch(victim, PC_ATTR_CTIME);
	return objfs_store_inode_cond(victim, true);
	/* nlink 0: the objects are removed when the last reference goes
	 * (an open file keeps its data until then). */
	return 0;
}

static int objfs_unlink(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	struct objfs_inode *od = OBJFS_I(dir);
	struct objfs_dirent *e = dir_find(&od->dir, name, len);
	int err;

	if (!e || e->ino != victim->i_ino)
		return -ENOENT;
	if (S_ISDIR(victim->i_mode))
		return -EISDIR;
	dir_remove(&od->dir, e);
	err = objfs_store_dir(dir);
	if (err) {
		dir_insert(&od->dir, e);	/* back, with a new cookie */
		return err;
	}
	free(e);
	objfs_dir_changed(dir);
	return objfs_drop_link(victim);
}

static int objfs_rmdir(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	struct objfs_inode *od = OBJFS_I(dir);
	struct objfs_dirent *e = dir_find(&od->dir, name, len);
	int err;

	if (!e || e->ino != victim->i_ino)
		return -ENOENT;
	if (!S_ISDIR(victim->i_mode))
		return -ENOTDIR;
	if (OBJFS_I(victim)->dir.count)
		return -ENOTEMPTY;
	dir_remove(&od->dir, e);
	err = objfs_store_dir(dir);
	if (err) {
		dir_insert(&od->dir, e);
		return err;
	}
	free(e);
	objfs_nlink(dir, -1, false);
	objfs_dir_changed(dir);
	return objfs_drop_link(victim);
}

static int objfs_rename(struct pc_inode *odir, const char *oname, size_t olen, struct pc_inode *ndir,
			const char *nname, size_t nlen, struct pc_inode *source,
			struct pc_inode *victim, unsigned flags)
{
	struct objfs_inode *ood = OBJFS_I(odir), *ond = OBJFS_I(ndir);
	struct objfs_dirent *oe, *ve = NULL, *ne;
	bool isdir = S_ISDIR(source->i_mode);
	uint64_t old_parent = 0;
	int err;

	if (flags)
		return -EINVAL;
	if (nlen > OBJFS_NAME_MAX)
		return -ENAMETOOLONG;
	oe = dir_find(&ood->dir, oname, olen);
	if (!oe || oe->ino != source->i_ino)
		return -ENOENT;
	if (victim) {
		ve = dir_find(&ond->dir, nname, nlen);
		if (!ve || ve->ino != victim->i_ino)
			return -ENOENT;
		if (isdir && !S_ISDIR(victim->i_mode))
			return -ENOTDIR;
		if (!isdir && S_ISDIR(victim->i_mode))
			return -EISDIR;
		if (S_ISDIR(victim->i_mode) && OBJFS_I(victim)->dir.count)
			return -ENOTEMPTY;
	} else if (dir_find(&ond->dir, nname, nlen)) {
		return -EEXIST;
	}
	ne = dirent_new(nname, nlen, source->i_ino, oe->type);
	if (!ne)
		return -ENOMEM;
	/* In memory first; the new directory is written first, so a crash
	 * in between leaves the file under both names, never under none. */
	if (ve)
		dir_remove(&ond->dir, ve);
	dir_remove(&ood->dir, oe);
	dir_insert(&ond->dir, ne);
	err = objfs_store_dir(ndir);
	if (err) {
		dir_remove(&ond->dir, ne);
		free(ne);
		dir_insert(&ood->dir, oe);
		if (ve)
			dir_insert(&ond->dir, ve);
		return err;
	}
	free(oe);
	if (odir != ndir)
		err = objfs_store_dir(odir);
	if (isdir && odir != ndir) {
		old_parent = OBJFS_I(source)->dir.parent;
		OBJFS_I(source)->dir.parent = ndir->i_ino;
		if (!err)
			err = objfs_store_dir(source);
		objfs_nlink(odir, -1, false);
		objfs_nlink(ndir, 1, false);
	}
	(void)old_parent;
	if (ve) {
		free(ve);
		if (S_ISDIR(victim->i_mode))
			objfs_nlink(ndir, -1, false);
		if (objfs_drop_link(victim) && !err)
			err = -EIO;
	}
	objfs_touch(source, PC_ATTR_CTIME);
	pc_mark_inode_dirty(source);
	objfs_dir_changed(odir);
	if (ndir != odir)
		objfs_dir_changed(ndir);
	return err;
}

static int objfs_iterate(struct pc_file *file, struct pc_dir_context *ctx)
{
	struct pc_inode *dir = file->f_inode;
	struct objfs_inode *od = OBJFS_I(dir);
	struct pc_list_head *pos;

	if (ctx->pos == 0) {
		if (!ctx->actor(ctx, ".", 1, dir->i_ino, DT_DIR))
			return 0;
		ctx->pos = 1;
	}
	if (ctx->pos == 1) {
		if (!ctx->actor(ctx, "..", 2, od->dir.parent, DT_DIR))
			return 0;
		ctx->pos = 2;
	}
	for (pos = od->dir.entries.next; pos != &od->dir.entries; pos = pos->next) {
		struct objfs_dirent *e = pc_list_entry(pos, struct objfs_dirent, list);

		if (e->cookie < ctx->pos)
			continue;
		ctx->pos = e->cookie;
		if (!ctx->actor(ctx, e->name, e->len, e->ino, e->type))
			return 0;
		ctx->pos = e->cookie + 1;
	}
	if (ctx->pos < od->dir.next_cookie)
		ctx->pos = od->dir.next_cookie;
	return 0;
}

/* ---- attributes ---- */

static int objfs_setattr(struct pc_inode *inode, const struct pc_iattr *attr)
{
	int err = 0;

	if (attr->ia_valid & PC_ATTR_SIZE) {
		uint64_t old = (uint64_t)pc_i_size_read(inode), new = (uint64_t)attr->ia_size;

		if (!S_ISREG(inode->i_mode))
			return S_ISDIR(inode->i_mode) ? -EISDIR : -EINVAL;
		if (new > pc_objfs_max_bytes(&OBJFS_I(inode)->layout))
			return -EFBIG;
		if (new != old) {
			pc_truncate_setsize(inode, attr->ia_size);
			err = objfs_truncate_objects(inode, old, new);
			inode->i_blocks = (new + 511) >> 9;
			objfs_touch(inode, PC_ATTR_MTIME | PC_ATTR_CTIME);
		}
	}
	pthread_mutex_lock(&OBJFS_I(inode)->meta_lock);
	pc_setattr_copy(inode, attr);
	pthread_mutex_unlock(&OBJFS_I(inode)->meta_lock);
	if (!(attr->ia_valid & (PC_ATTR_CTIME | PC_ATTR_SIZE)))
		objfs_touch(inode, PC_ATTR_CTIME);
	{
		int e = objfs_store_inode_cond(inode, true);

		if (!err)
			err = e;
	}
	return err;
}

static ssize_t objfs_readlink(struct pc_inode *inode, char *buf, size_t size)
{
	const char *target = OBJFS_I(inode)->target;
	size_t n;

	if (!target)
		return -EINVAL;
	n = strlen(target);
	if (n > size)
		n = size;
	memcpy(buf, target, n);
	return (ssize_t)n;
}

static int objfs_dir_fsync(struct pc_file *file, loff_t start, loff_t end, int datasync)
{
	return pc_generic_file_fsync(file, start, end, datasync);
}

static const struct pc_inode_operations objfs_dir_iops = {
	.lookup = objfs_lookup,
	.create = objfs_create,
	.mkdir = objfs_mkdir,
	.unlink = objfs_unlink,
	.rmdir = objfs_rmdir,
	.rename = objfs_rename,
	.symlink = objfs_symlink,
	.setattr = objfs_setattr,
};

static const struct pc_inode_operations objfs_file_iops = {
	.setattr = objfs_setattr,
};

static const struct pc_inode_operations objfs_symlink_iops = {
	.readlink = objfs_readlink,
	.setattr = objfs_setattr,
};

static const struct pc_file_operations objfs_file_fops = {
	.read_iter = pc_generic_file_read_iter,
	.write_iter = pc_generic_file_write_iter,
	.fsync = pc_generic_file_fsync,
	.llseek = pc_generic_file_llseek,
};

static const struct pc_file_operations objfs_dir_fops = {
	.iterate = objfs_iterate,
	.fsync = objfs_dir_fsync,
};

static const struct pc_address_space_operations objfs_aops = {
	.writepage = objfs_writepage,
	.readpage = objfs_readpage,
	.writepages = objfs_writepages,
	.set_page_dirty = objfs_set_page_dirty,
	.readahead = objfs_readahead,
	.write_begin = objfs_write_begin,
	.write_end = objfs_write_end,
	.invalidatepage = objfs_invalidatepage,
	.releasepage = objfs_releasepage,
	.direct_IO = objfs_direct_IO,
};

/* ---- mount ---- */

/* Open the store @source names. The embedded and RADOS backends are not in
 * this build yet: only pc_mount_opts.objstore mounts. */
static int objfs_open_source(const char *source, struct pc_objstore **out, char *msg, size_t msglen)
{
	(void)out;
	snprintf(msg, msglen, "objfs: cannot open store \"%s\": this build has no store backend for "
		 "a source path; pass an open store in pc_mount_opts.objstore", source ? source : "");
	return -EOPNOTSUPP;
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
	if (!os) {
		err = objfs_open_source(source, &os, msg, msglen);
		if (err)
			return err;
	}
	if (!os->ops || !os->ops->submit) {
		snprintf(msg, msglen, "objfs: the object store has no submit operation");
		return -EINVAL;
	}
	sbi = calloc(1, sizeof(*sbi));
	if (!sbi)
		return -ENOMEM;
	sbi->os = os;
	sbi->snapid = PC_SNAP_HEAD;
	pthread_mutex_init(&sbi->ino_lock, NULL);
	pthread_mutex_init(&sbi->snapc_lock, NULL);
	sbi->snapc = pc_snap_context_alloc(0, NULL, 0);
	if (!sbi->snapc) {
		err = -ENOMEM;
		goto fail;
	}
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
