// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fs/objfs/file.c - objfs regular files: data objects (truncate), the
 * address_space operations (asynchronous object reads, batched
 * asynchronous writeback, write_begin/write_end), O_DIRECT and setattr.
 * The design is in objfs.c's header comment and docs/objfs.md.
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

/* ---- data objects ---- */

/*
 * Make the objects of @inode match a file of @new_size bytes that was
 * @old_size bytes: objects wholly past the new size are removed, the ones
 * holding the new end truncated to it. Growing: the objects holding the old
 * end are trimmed to it (bytes past an old EOF must read as zeros). The
 * work is bounded by the old size (validated against the layout).
 */
int objfs_truncate_objects(struct pc_inode *inode, uint64_t old_size, uint64_t new_size)
{
	struct pc_snap_context *sc = objfs_get_snapc(OBJFS_SB(inode->i_sb));
	int err = objfs_truncate_objects_ctx(inode, old_size, new_size, sc);

	pc_snap_context_put(sc);
	return err;
}

/* The same with write context @sc (a write section's, see objfs_setattr). */
int objfs_truncate_objects_ctx(struct pc_inode *inode, uint64_t old_size, uint64_t new_size,
			       const struct pc_snap_context *sc)
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
			e = objfs_obj_op_ctx(sbi, PC_OBJ_REMOVE, oid, 0, sc);
		} else {
			e = objfs_stat(sbi, oid, &cur);
			if (e == -ENOENT)
				e = 0;
			else if (!e && want == 0)
				e = objfs_obj_op_ctx(sbi, PC_OBJ_REMOVE, oid, 0, sc);
			else if (!e && cur > want)
				e = objfs_obj_op_ctx(sbi, PC_OBJ_TRUNCATE, oid, want, sc);
		}
		if (e && !err)
			err = e;
	}
	return err;
}

/* Remove every data object of @inode (size @size; objects up to max_size
 * too when a crash may have left bytes past the size). */
int objfs_remove_data(struct pc_inode *inode, uint64_t size)
{
	struct objfs_inode *oi = OBJFS_I(inode);

	if (oi->dirty_tail && oi->max_size > size)
		size = oi->max_size;
	return objfs_truncate_objects(inode, size, 0);
}

/*
 * max_size (CephFS's): every byte the data objects hold lies below
 * oi->max_size, which the inode object records. A data write may send
 * bytes past the recorded size (the inode object with the new size is
 * written later by the flusher, fsync or unmount), never past the
 * recorded max_size: objfs_raise_max_size writes the inode object with a
 * larger max_size, durably, before. So after a crash, stale bytes can only
 * lie in [size, max_size) of the inode object read back (dirty_tail), and
 * they are cut before the file grows over them (objfs_clean_tail) or when
 * it is truncated (objfs_setattr cuts up to max_size, then lowers it).
 */

/*
 * Cut the objects of @inode in [i_size, max_size) when they may hold
 * bytes (dirty_tail), with context @sc, before the size grows over them.
 * Inode lock held exclusive; inside a write section (older contexts
 * flushed first, so no older write lands on a cut object after the cut).
 * 0 or the store's -errno (dirty_tail then stays set).
 */
int objfs_clean_tail(struct pc_inode *inode, const struct pc_snap_context *sc)
{
	struct objfs_inode *oi = OBJFS_I(inode);
	uint64_t size = (uint64_t)pc_i_size_read(inode);
	int err;

	if (!oi->dirty_tail)
		return 0;
	if (oi->max_size <= size) {
		oi->dirty_tail = false;
		return 0;
	}
	err = objfs_truncate_objects_ctx(inode, oi->max_size, size, sc);
	if (!err)
		oi->dirty_tail = false;
	return err;
}

/*
 * Make the recorded max_size at least @end (file bytes) before data up to
 * @end is written: when @end passes it, the inode object is written with
 * PC_OBJ_F_SYNC and max_size = the larger of @end rounded up to the object
 * size and twice the old value (one metadata write per growth step, not
 * per write), with the current context. Inode lock held exclusive, no
 * write section open, no page lock (takes snap_rwsem shared, then
 * meta_lock). 0, or the store's -errno (nothing may be written then).
 */
int objfs_raise_max_size(struct pc_inode *inode, uint64_t end)
{
	struct objfs_inode *oi = OBJFS_I(inode);
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	uint64_t osz = oi->layout.object_size, lim = pc_objfs_max_bytes(&oi->layout);
	uint64_t old, want;
	int err;

	if (end <= oi->max_size)
		return 0;
	want = (end + osz - 1) / osz * osz;
	if (oi->max_size <= lim / 2 && want < 2 * oi->max_size)
		want = 2 * oi->max_size;
	if (want > lim)
		want = lim > end ? lim : end;
	objfs_meta_lock(sbi);
	pthread_mutex_lock(&oi->meta_lock);
	old = oi->max_size;
	oi->max_size = want;
	pthread_mutex_unlock(&oi->meta_lock);
	/* An unlinked file writes no inode object (a crash leaves orphans,
	 * which nothing names); eviction removes up to max_size. */
	err = objfs_store_inode_cond_sync(inode);
	if (err) {
		pthread_mutex_lock(&oi->meta_lock);
		oi->max_size = old;
		pthread_mutex_unlock(&oi->meta_lock);
	} else {
		oi->max_size_raises++;
	}
	objfs_meta_unlock(sbi);
	return err;
}

/* ---- reads ---- */

struct objfs_rd {
	struct pc_obj_req req;
	unsigned nr;
	char oid[OBJFS_OID_LEN];
	struct pc_page **pages;
	struct iovec *iov;
	struct objfs_sb *sbi;
};

static void objfs_read_done(struct pc_obj_req *req)
{
	struct objfs_rd *rd = pc_container_of(req, struct objfs_rd, req);
	struct objfs_sb *sbi = rd->sbi;
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
	objfs_io_end(sbi);
}

/* Start an asynchronous read of @nr pages (locked, referenced by us) at
 * @objoff of object @objno. On a submit failure the pages end in error. */
static void objfs_submit_read(struct pc_inode *inode, struct objfs_rd *rd, uint64_t objno,
			      uint64_t objoff)
{
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	int err;

	objfs_oid_data(rd->oid, OBJFS_I(inode)->ino, objno);
	for (unsigned i = 0; i < rd->nr; i++) {
		rd->iov[i].iov_base = pc_page_address(rd->pages[i]);
		rd->iov[i].iov_len = PC_PAGE_SIZE;
	}
	rd->req = (struct pc_obj_req){
		.op = PC_OBJ_READ, .oid = rd->oid, .off = objoff,
		.len = (uint64_t)rd->nr << PC_PAGE_SHIFT, .iov = rd->iov, .iovcnt = (int)rd->nr,
		.snapid = OBJFS_I(inode)->snapid, .done = objfs_read_done,
	};
	rd->sbi = sbi;
	objfs_io_begin(sbi);
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

/* ---- writeback (through the snap layer: src/snap) ---- */

/* One object write of a run of pages the snap layer hands us. */
struct objfs_wb {
	struct pc_obj_req req;
	struct pc_snap_write *sw;
	struct objfs_sb *sbi;
	char oid[OBJFS_OID_LEN];
	struct iovec iov[];
};

static void objfs_write_done(struct pc_obj_req *req)
{
	struct objfs_wb *wb = pc_container_of(req, struct objfs_wb, req);
	struct pc_snap_write *sw = wb->sw;
	struct objfs_sb *sbi = wb->sbi;
	int err = req->result < 0 ? (int)req->result : 0;

	free(wb);
	pc_snap_write_done(sw, err);
	objfs_io_end(sbi);
}

/*
 * pc_snap_inode_ops.write_pages: one WRITE of @sw->len bytes at the object
 * and offset @sw->pos maps to, with the context the pages were dirtied in
 * (@sw->snapc). The run never crosses objfs_run_max_pages's boundary, so
 * it lies in one object.
 */
static int objfs_write_pages(struct pc_snap_inode *si, struct pc_snap_write *sw)
{
	struct pc_inode *inode = si->inode;
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct objfs_wb *wb = malloc(sizeof(*wb) + sw->nr_pages * sizeof(struct iovec));
	uint64_t objno, objoff;
	size_t left = sw->len;
	int err;

	if (!wb)
		return -ENOMEM;
	pc_objfs_file_to_object(&OBJFS_I(inode)->layout, (uint64_t)sw->pos, sw->len, &objno, &objoff);
	objfs_oid_data(wb->oid, OBJFS_I(inode)->ino, objno);
	unsigned n = 0;

	for (; n < sw->nr_pages && left; n++) {
		size_t l = left < PC_PAGE_SIZE ? left : PC_PAGE_SIZE;

		wb->iov[n].iov_base = pc_page_address(sw->pages[n]);
		wb->iov[n].iov_len = l;
		left -= l;
	}
	wb->sw = sw;
	wb->sbi = sbi;
	wb->req = (struct pc_obj_req){
		.op = PC_OBJ_WRITE, .oid = wb->oid, .off = objoff, .len = sw->len,
		.iov = wb->iov, .iovcnt = (int)n, .snapc = sw->snapc,
		.flags = sw->sync ? PC_OBJ_F_SYNC : 0, .done = objfs_write_done,
	};
	objfs_io_begin(sbi);
	err = sbi->os->ops->submit(sbi->os, &wb->req);
	if (err) {
		free(wb);
		objfs_io_end(sbi);
		return err;
	}
	return 0;
}

/*
 * The most pages a write starting at page @index may carry: to the end of
 * the bytes contiguous in its object (the object's end with one stripe,
 * the stripe unit's otherwise), at most wsize (Ceph's
 * ceph_calc_file_object_mapping + wsize cut). At least 1. This is the
 * snap layer's pc_snap_inode_ops.max_pages when objfs moves to it.
 */
static unsigned long objfs_run_max_pages(struct pc_snap_inode *si, pc_pgoff_t index)
{
	struct pc_inode *inode = si->inode;
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

const struct pc_snap_inode_ops objfs_snap_ops = {
	.write_pages = objfs_write_pages,
	.max_pages = objfs_run_max_pages,
};

/* ---- buffered writes ---- */

/*
 * a_ops->write_end: the snap layer's (size, dirtying in the page's
 * context), then the inode's metadata is dirty when the size grew.
 */
static int objfs_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			   unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	struct pc_inode *inode = mapping->host;
	loff_t old = pc_i_size_read(inode);
	int ret = pc_snap_write_end(file, mapping, pos, len, copied, page, fsdata);

	if (pc_i_size_read(inode) != old) {
		inode->i_blocks = ((uint64_t)pc_i_size_read(inode) + 511) >> 9;
		pc___mark_inode_dirty(inode, PC_I_DIRTY_SYNC | PC_I_DIRTY_DATASYNC);
	}
	return ret;
}

/* ---- O_DIRECT ---- */

/*
 * a_ops->direct_IO: write back and drop the cached pages of the range,
 * then read or write the objects directly, one stripe-unit extent at a
 * time (synchronous). Writes hold i_rwsem (the VFS's).
 */
static ssize_t objfs_direct_IO(struct pc_kiocb *iocb, struct pc_iov_iter *iter)
{
	struct pc_inode *inode = iocb->ki_filp->f_inode;
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct objfs_inode *oi = OBJFS_I(inode);
	struct pc_address_space *mapping = inode->i_mapping;
	struct pc_snap_context *wsc = NULL;
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
	/* Older contexts' dirty pages reach the store first (writepage
	 * would refuse them out of order, and the store must see them
	 * before a write of a newer context). */
	if (oi->si_live) {
		err = pc_snap_inode_flush_older(&oi->si);
		if (err)
			return err;
	}
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
	if (iter->dir == PC_WRITE && oi->si_live) {
		/* A write section: a snapshot taken meanwhile is ordered
		 * after this write (its cap_snap waits for it). */
		pc_snap_get_write(&oi->si);
		err = pc_snap_inode_flush_older(&oi->si);
		if (err) {
			pc_snap_put_write(&oi->si);
			free(buf);
			return err;
		}
		wsc = pc_snap_inode_write_context(&oi->si);
	}
	while (done < count) {
		uint64_t objno, objoff, n;
		char oid[OBJFS_OID_LEN];

		n = pc_objfs_file_to_object(l, (uint64_t)pos + done, count - done, &objno, &objoff);
		objfs_oid_data(oid, oi->ino, objno);
		if (iter->dir == PC_READ) {
			err = objfs_read_at(sbi, oi->snapid, oid, objoff, buf, n, NULL);
			if (err)
				break;
			pc_copy_to_iter(buf, n, iter);
		} else {
			struct pc_snap_context *sc = pc_snap_context_get(wsc);
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
	}
	if (wsc) {
		pc_snap_context_put(wsc);
		pc_snap_put_write(&oi->si);
	}
	if (iter->dir == PC_WRITE && done) {
		/* A buffered reader may have cached the old data meanwhile. */
		pc_invalidate_inode_pages2_range(mapping, pos >> PC_PAGE_SHIFT,
						 (pos + (loff_t)done - 1) >> PC_PAGE_SHIFT);
	}
	return done ? (ssize_t)done : err;
}

int objfs_setattr(struct pc_inode *inode, const struct pc_iattr *attr)
{
	int err = 0;

	if (attr->ia_valid & PC_ATTR_SIZE) {
		uint64_t old = (uint64_t)pc_i_size_read(inode), new = (uint64_t)attr->ia_size;

		if (!S_ISREG(inode->i_mode))
			return S_ISDIR(inode->i_mode) ? -EISDIR : -EINVAL;
		if (new > pc_objfs_max_bytes(&OBJFS_I(inode)->layout))
			return -EFBIG;
		if (new != old) {
			struct objfs_inode *oi = OBJFS_I(inode);
			struct pc_snap_context *sc;

			/* A write section (a snapshot meanwhile is ordered
			 * after the cut); snapshotted data reaches the store
			 * before the objects are cut. */
			pc_snap_get_write(&oi->si);
			err = pc_snap_inode_flush_older(&oi->si);
			if (err) {
				pc_snap_put_write(&oi->si);
				return err;
			}
			sc = pc_snap_inode_write_context(&oi->si);
			if (new > old) {
				/* Growing: bytes a crash left past the old
				 * size must not appear in the new range. */
				err = objfs_clean_tail(inode, sc);
				pc_truncate_setsize(inode, attr->ia_size);
				if (!err)
					err = objfs_truncate_objects_ctx(inode, old, new, sc);
			} else {
				uint64_t from = old;

				/* Shrinking: cut up to max_size where a crash
				 * may have left bytes, then lower it. */
				if (oi->dirty_tail && oi->max_size > from)
					from = oi->max_size;
				pc_truncate_setsize(inode, attr->ia_size);
				err = objfs_truncate_objects_ctx(inode, from, new, sc);
				if (!err) {
					pthread_mutex_lock(&oi->meta_lock);
					if (oi->max_size > new)
						oi->max_size = new;
					oi->dirty_tail = false;
					pthread_mutex_unlock(&oi->meta_lock);
				}
			}
			pc_snap_context_put(sc);
			inode->i_blocks = (new + 511) >> 9;
			objfs_touch(inode, PC_ATTR_MTIME | PC_ATTR_CTIME);
			pc_snap_put_write(&oi->si);
		}
	}
	pthread_mutex_lock(&OBJFS_I(inode)->meta_lock);
	pc_setattr_copy(inode, attr);
	pthread_mutex_unlock(&OBJFS_I(inode)->meta_lock);
	if (!(attr->ia_valid & (PC_ATTR_CTIME | PC_ATTR_SIZE)))
		objfs_touch(inode, PC_ATTR_CTIME);
	{
		int e;

		objfs_meta_lock(OBJFS_SB(inode->i_sb));
		e = objfs_store_inode_cond(inode, true);
		objfs_meta_unlock(OBJFS_SB(inode->i_sb));
		if (!err)
			err = e;
	}
	return err;
}

/*
 * f_op->write_iter: pc_generic_file_write_iter (buffered and O_DIRECT)
 * after the max_size steps: a write past EOF first cuts what a crash left
 * past the size (in a write section, closed again before write_begin
 * opens its own), and the recorded max_size is raised past the write's
 * end before any of its data can reach the store. Takes the inode lock.
 */
static ssize_t objfs_file_write_iter(struct pc_kiocb *iocb, struct pc_iov_iter *from)
{
	struct pc_inode *inode = iocb->ki_filp->f_mapping->host;
	struct objfs_inode *oi = OBJFS_I(inode);
	ssize_t ret;

	pc_inode_lock(inode);
	ret = pc_generic_write_checks(iocb, from);
	if (ret > 0 && oi->si_live) {
		uint64_t end = (uint64_t)iocb->ki_pos + pc_iov_iter_count(from);
		int err = 0;

		if (oi->dirty_tail && end > (uint64_t)pc_i_size_read(inode)) {
			struct pc_snap_context *sc;

			pc_snap_get_write(&oi->si);
			err = pc_snap_inode_flush_older(&oi->si);
			if (!err) {
				sc = pc_snap_inode_write_context(&oi->si);
				err = objfs_clean_tail(inode, sc);
				pc_snap_context_put(sc);
			}
			pc_snap_put_write(&oi->si);
		}
		if (!err)
			err = objfs_raise_max_size(inode, end);
		if (err)
			ret = err;
	}
	if (ret > 0)
		ret = pc___generic_file_write_iter(iocb, from);
	pc_inode_unlock(inode);
	if (ret > 0)
		ret = pc_generic_write_sync(iocb, ret);
	return ret;
}

const struct pc_inode_operations objfs_file_iops = {
	.setattr = objfs_setattr,
};
const struct pc_file_operations objfs_file_fops = {
	.read_iter = pc_generic_file_read_iter,
	.write_iter = objfs_file_write_iter,
	.fsync = pc_generic_file_fsync,
	.llseek = pc_generic_file_llseek,
};
const struct pc_address_space_operations objfs_aops = {
	.writepage = pc_snap_writepage,
	.readpage = objfs_readpage,
	.writepages = pc_snap_writepages,
	.set_page_dirty = pc_snap_set_page_dirty,
	.readahead = objfs_readahead,
	.write_begin = pc_snap_write_begin,	/* skips the read for full pages and past EOF */
	.write_end = objfs_write_end,
	.invalidatepage = pc_snap_invalidatepage,
	.releasepage = pc_snap_releasepage,
	.direct_IO = objfs_direct_IO,
};

/* A snapshot's file: reads at its snap id only (nothing is ever dirtied). */
const struct pc_address_space_operations objfs_snap_aops = {
	.readpage = objfs_readpage,
	.readahead = objfs_readahead,
	.direct_IO = objfs_direct_IO,
};