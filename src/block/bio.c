/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/block/bio.c - struct pc_bio, pc_submit_bio and plugging.
 *
 * Invariants
 *  1. bi_end_io runs exactly once per submitted bio: either synchronously in
 *     pc_submit_bio (pc_blk_end_bio_sync: validation or injected fault) or
 *     from an engine thread (pc_blk_end_bio).
 *  2. A bio counts in bd_inflight from the moment it passes validation until
 *     its bi_end_io has returned; pc_bdev_close waits for zero.
 *  3. Nothing outside [0, bd_size) is ever read or written, and nothing is
 *     written to a read-only device: both are checked here, before any bio
 *     reaches an engine.
 *  4. A plug belongs to one thread (thread-local current_plug); only the
 *     outermost plug collects; its list is dispatched in submission order,
 *     one submit_batch per run of bios of the same device.
 *
 * Locking: none here except bd_fault_lock (taken only while a fault is
 * armed, never held across a completion).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* O_DIRECT, pwritev2, RWF_DSYNC, statx */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "pagecache/blkdev.h"
#include "pagecache/mm.h"
#include "engine.h"

_Thread_local bool pc_blk_engine_thread;
static _Thread_local struct pc_blk_plug *current_plug;

/* ---- allocation ---- */

struct pc_bio *pc_bio_alloc(struct pc_block_device *bdev, unsigned nr_vecs)
{
	struct pc_bio *bio;

	if (nr_vecs > PC_BIO_MAX_VECS)
		nr_vecs = PC_BIO_MAX_VECS;
	bio = malloc(sizeof(*bio) + (size_t)nr_vecs * sizeof(struct pc_bio_vec));
	if (pc_unlikely(!bio))
		return NULL;
	memset(bio, 0, sizeof(*bio));
	bio->bi_bdev = bdev;
	bio->bi_max_vecs = (unsigned short)nr_vecs;
	bio->bi_io_vec = bio->bi_inline_vecs;
	return bio;
}

void pc_bio_put(struct pc_bio *bio)
{
	free(bio);
}

unsigned pc_bio_add_page(struct pc_bio *bio, struct pc_page *page, unsigned len, unsigned off)
{
	struct pc_bio_vec *bv;

	if (!bio || !page || len == 0 || off >= PC_PAGE_SIZE || len > PC_PAGE_SIZE - off ||
	    len > UINT32_MAX - bio->bi_size)
		return 0;
	if (bio->bi_vcnt) {
		bv = &bio->bi_io_vec[bio->bi_vcnt - 1];
		if (bv->bv_page == page && bv->bv_offset + bv->bv_len == off) {
			bv->bv_len += len;
			bio->bi_size += len;
			return len;
		}
	}
	if (bio->bi_vcnt >= bio->bi_max_vecs)
		return 0;
	bv = &bio->bi_io_vec[bio->bi_vcnt++];
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = off;
	bio->bi_size += len;
	return len;
}

/* ---- helpers for the engines ---- */

unsigned pc_blk_bio_iov(const struct pc_bio *bio, uint32_t done, struct iovec *iov, unsigned max,
			size_t *bytes)
{
	const struct pc_bio_vec *bv = bio->bi_io_vec, *end = bv + bio->bi_vcnt;
	unsigned n = 0;
	size_t total = 0;

	/* Skip the segments already transferred (only after a short transfer). */
	for (; bv < end && done >= bv->bv_len; bv++)
		done -= bv->bv_len;
	for (; bv < end; bv++) {
		char *base = (char *)bv->bv_page->virtual + bv->bv_offset + done;
		size_t len = bv->bv_len - done;

		/* Segments adjacent in memory (a direct I/O buffer, neighbouring
		 * frames of the pool) become one iovec: the host does less work. */
		if (n && (char *)iov[n - 1].iov_base + iov[n - 1].iov_len == base) {
			iov[n - 1].iov_len += len;
		} else {
			if (n == max)
				break;
			iov[n].iov_base = base;
			iov[n].iov_len = len;
			n++;
		}
		total += len;
		done = 0;
	}
	*bytes = total;
	return n;
}

void pc_blk_bio_zero(struct pc_bio *bio, uint32_t from)
{
	const struct pc_bio_vec *bv = bio->bi_io_vec, *end = bv + bio->bi_vcnt;

	for (; bv < end && from >= bv->bv_len; bv++)
		from -= bv->bv_len;
	for (; bv < end; bv++) {
		memset((char *)bv->bv_page->virtual + bv->bv_offset + from, 0, bv->bv_len - from);
		from = 0;
	}
}

/* Statistics of one finished bio (or flush). */
static void blk_account(struct pc_block_device *bdev, enum pc_req_op op, uint32_t size, int status)
{
	if (status) {
		pc_blk_stat_add(bdev, PC_BLK_STAT_ERRORS, 1);
		if (op == PC_REQ_OP_FLUSH)
			pc_blk_stat_add(bdev, PC_BLK_STAT_FLUSHES, 1);
		return;
	}
	switch (op) {
	case PC_REQ_OP_READ:
		pc_blk_stat_add(bdev, PC_BLK_STAT_READ_BIOS, 1);
		pc_blk_stat_add(bdev, PC_BLK_STAT_READ_BYTES, size);
		break;
	case PC_REQ_OP_WRITE:
		pc_blk_stat_add(bdev, PC_BLK_STAT_WRITE_BIOS, 1);
		pc_blk_stat_add(bdev, PC_BLK_STAT_WRITE_BYTES, size);
		break;
	case PC_REQ_OP_FLUSH:
		pc_blk_stat_add(bdev, PC_BLK_STAT_FLUSHES, 1);
		break;
	}
}

void pc_blk_end_bio(struct pc_bio *bio, int status)
{
	struct pc_block_device *bdev = bio->bi_bdev;

	bio->bi_status = status;
	bio->bi_next = NULL;
	if (pc_unlikely(bdev->bd_log))
		pc_blk_log_complete(bio, status);
	blk_account(bdev, PC_BIO_OP(bio), bio->bi_size, status);
	if (bio->bi_end_io)
		bio->bi_end_io(bio);	/* may free the bio, may submit more */
	atomic_fetch_sub_explicit(&bdev->bd_inflight, 1, memory_order_release);
}

/* Fail a bio on the submitting thread: it never reached an engine. */
static void pc_blk_end_bio_sync(struct pc_bio *bio, int status)
{
	bio->bi_status = status;
	bio->bi_next = NULL;
	if (bio->bi_bdev)
		blk_account(bio->bi_bdev, PC_BIO_OP(bio), bio->bi_size, status);
	if (bio->bi_end_io)
		bio->bi_end_io(bio);
}

/* ---- validation and fault injection ---- */

static int bio_check(const struct pc_bio *bio)
{
	const struct pc_block_device *bdev = bio->bi_bdev;
	enum pc_req_op op = PC_BIO_OP(bio);
	uint64_t sum = 0, pos;
	unsigned i;

	if (op != PC_REQ_OP_READ && op != PC_REQ_OP_WRITE && op != PC_REQ_OP_FLUSH)
		return -EINVAL;
	if (bdev->bd_readonly && op != PC_REQ_OP_READ)
		return -EROFS;
	if (op == PC_REQ_OP_FLUSH)
		return 0;	/* no data: segments are ignored */
	if (bio->bi_size == 0)
		return -EIO;
	if (bio->bi_sector > (bdev->bd_size >> PC_SECTOR_SHIFT) ||
	    ((uint64_t)bio->bi_sector << PC_SECTOR_SHIFT) + bio->bi_size > bdev->bd_size)
		return -EIO;
	if (!bio->bi_io_vec || bio->bi_vcnt == 0 || (bio->bi_size & (PC_SECTOR_SIZE - 1)))
		return -EINVAL;
	for (i = 0; i < bio->bi_vcnt; i++) {
		const struct pc_bio_vec *bv = &bio->bi_io_vec[i];

		if (!bv->bv_page || !bv->bv_page->virtual || bv->bv_len == 0 ||
		    bv->bv_offset >= PC_PAGE_SIZE || bv->bv_len > PC_PAGE_SIZE - bv->bv_offset ||
		    ((bv->bv_len | bv->bv_offset) & (PC_SECTOR_SIZE - 1)))
			return -EINVAL;
		sum += bv->bv_len;
	}
	if (sum != bio->bi_size)
		return -EINVAL;
	if (bdev->bd_direct) {
		pos = (uint64_t)bio->bi_sector << PC_SECTOR_SHIFT;
		if ((pos | bio->bi_size) & (bdev->bd_logical_block_size - 1))
			return -EINVAL;
	}
	return 0;
}

/*
 * Consume one bio of @op from the fault injector. Returns 0 to let the bio
 * through, or the injected error.
 */
static int bio_fault(struct pc_block_device *bdev, enum pc_req_op op)
{
	int err = 0;

	if (pc_likely(!(atomic_load_explicit(&bdev->bd_fault_armed, memory_order_relaxed) &
			(1u << op))))
		return 0;
	pthread_mutex_lock(&bdev->bd_fault_lock);
	if (bdev->bd_fault[op].nth > 1) {
		bdev->bd_fault[op].nth--;
	} else if (bdev->bd_fault[op].nth == 1) {
		err = bdev->bd_fault[op].err;
		if (--bdev->bd_fault[op].count == 0) {
			bdev->bd_fault[op].nth = 0;
			atomic_fetch_and(&bdev->bd_fault_armed, ~(1u << op));
		}
	}
	pthread_mutex_unlock(&bdev->bd_fault_lock);
	if (err)
		pc_blk_stat_add(bdev, PC_BLK_STAT_INJECTED, 1);
	return err;
}

void pc_bdev_inject_fault(struct pc_block_device *bdev, enum pc_req_op op, unsigned long nth,
			  unsigned long count, int err)
{
	if (!bdev || (unsigned)op > PC_REQ_OP_FLUSH)
		return;
	pthread_mutex_lock(&bdev->bd_fault_lock);
	bdev->bd_fault[op].nth = nth;
	bdev->bd_fault[op].count = count ? count : 1;
	bdev->bd_fault[op].err = err < 0 ? err : -EIO;
	if (nth)
		atomic_fetch_or(&bdev->bd_fault_armed, 1u << op);
	else
		atomic_fetch_and(&bdev->bd_fault_armed, ~(1u << op));
	pthread_mutex_unlock(&bdev->bd_fault_lock);
}

int pc_blk_flush_fault(struct pc_block_device *bdev)
{
	return bio_fault(bdev, PC_REQ_OP_FLUSH);
}

/* ---- dispatch ---- */

/* Send a NULL-terminated list to the engines, one batch per run of bios of
 * the same device, in order. */
static void blk_dispatch(struct pc_bio *list)
{
	while (list) {
		struct pc_bio *head = list, *last = list;
		struct pc_block_device *bdev = head->bi_bdev;

		while (last->bi_next && last->bi_next->bi_bdev == bdev)
			last = last->bi_next;
		list = last->bi_next;
		last->bi_next = NULL;
		bdev->bd_engine->ops->submit_batch(bdev->bd_engine, head);
	}
}

static void plug_flush(struct pc_blk_plug *plug)
{
	struct pc_bio *list = plug->head;

	plug->head = plug->tail = NULL;
	plug->count = 0;
	blk_dispatch(list);
}

static bool bio_prepare(struct pc_bio *bio)
{
	int err;

	bio->bi_status = 0;
	bio->bi_next = NULL;
	if (pc_unlikely(!bio->bi_bdev)) {
		pc_blk_end_bio_sync(bio, -EINVAL);
		return false;
	}
	err = bio_check(bio);
	if (!err)
		err = bio_fault(bio->bi_bdev, PC_BIO_OP(bio));
	if (pc_unlikely(err)) {
		pc_blk_end_bio_sync(bio, err);
		return false;
	}
	atomic_fetch_add_explicit(&bio->bi_bdev->bd_inflight, 1, memory_order_relaxed);
	if (pc_unlikely(bio->bi_bdev->bd_log))
		pc_blk_log_submit(bio);
	return true;
}

void pc_submit_bio(struct pc_bio *bio)
{
	struct pc_blk_plug *plug = current_plug;

	if (pc_unlikely(!bio) || !bio_prepare(bio))
		return;
	if (plug) {
		if (plug->tail)
			plug->tail->bi_next = bio;
		else
			plug->head = bio;
		plug->tail = bio;
		if (++plug->count >= PC_BLK_PLUG_MAX)
			plug_flush(plug);
		return;
	}
	bio->bi_bdev->bd_engine->ops->submit_batch(bio->bi_bdev->bd_engine, bio);
}

static int host_datasync(int fd)
{
	while (fdatasync(fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Do the whole bio with preadv/pwritev on @fd, continuing short transfers;
 * returns its status. Shared by the pread engine and pc_submit_bio_direct. */
int pc_blk_host_rw(int fd, struct pc_bio *bio, struct iovec *iov, _Atomic bool *no_dsync)
{
	enum pc_req_op op = PC_BIO_OP(bio);
	uint64_t pos = pc_blk_bio_pos(bio);
	bool fua, dsync;
	uint32_t done = 0;
	int err;

	if (op == PC_REQ_OP_FLUSH)
		return host_datasync(fd);
	fua = op == PC_REQ_OP_WRITE && (bio->bi_opf & PC_REQ_FUA);
	dsync = fua && !atomic_load_explicit(no_dsync, memory_order_relaxed);
	if (op == PC_REQ_OP_WRITE && (bio->bi_opf & PC_REQ_PREFLUSH)) {
		err = host_datasync(fd);
		if (err)
			return err;
	}

	while (done < bio->bi_size) {
		size_t want;
		unsigned cnt = pc_blk_bio_iov(bio, done, iov, PC_BLK_IOV_MAX, &want);
		off_t off = (off_t)(pos + done);
		ssize_t n;

		if (op == PC_REQ_OP_READ) {
			n = preadv(fd, iov, (int)cnt, off);
		} else if (dsync) {
			n = pwritev2(fd, iov, (int)cnt, off, RWF_DSYNC);
			if (n < 0 && errno == EOPNOTSUPP) {
				atomic_store_explicit(no_dsync, true, memory_order_relaxed);
				dsync = false;
				continue;
			}
		} else {
			n = pwritev(fd, iov, (int)cnt, off);
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0) {
			if (op == PC_REQ_OP_WRITE)
				return -EIO;
			/* Host EOF inside bd_size (file shrunk, sparse tail):
			 * the rest reads as zeros. */
			pc_blk_bio_zero(bio, done);
			break;
		}
		done += (uint32_t)n;
	}
	if (fua && !dsync)
		return host_datasync(fd);
	return 0;
}


/* ---- synchronous submission ---- */

static _Atomic bool direct_no_dsync;

int pc_submit_bio_direct(struct pc_bio *bio)
{
	struct iovec iov[PC_BLK_IOV_MAX];
	struct pc_block_device *bdev;
	pc_bio_end_io_t end_io;
	int status;

	if (!bio)
		return -EINVAL;
	if (bio->bi_bdev && bio->bi_bdev->bd_ops)
		return pc_submit_bio_wait(bio);	/* a user device: no host fd */
	end_io = bio->bi_end_io;
	bio->bi_end_io = NULL;		/* failures at submission: just report */
	if (!bio_prepare(bio)) {
		bio->bi_end_io = end_io;
		return bio->bi_status;
	}
	bio->bi_end_io = end_io;
	bdev = bio->bi_bdev;
	status = pc_blk_host_rw(bdev->bd_fd, bio, iov, &direct_no_dsync);
	bio->bi_status = status;
	if (pc_unlikely(bdev->bd_log))
		pc_blk_log_complete(bio, status);
	blk_account(bdev, PC_BIO_OP(bio), bio->bi_size, status);
	atomic_fetch_sub_explicit(&bdev->bd_inflight, 1, memory_order_release);
	return status;
}


struct bio_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void bio_wait_end_io(struct pc_bio *bio)
{
	struct bio_waiter *w = bio->bi_private;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int pc_submit_bio_wait(struct pc_bio *bio)
{
	struct bio_waiter w = { .done = false };
	pc_bio_end_io_t end_io;
	void *private;
	int status;

	if (!bio)
		return -EINVAL;
	end_io = bio->bi_end_io;
	private = bio->bi_private;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	bio->bi_end_io = bio_wait_end_io;
	bio->bi_private = &w;

	pc_blk_flush_plug();
	if (bio_prepare(bio))
		bio->bi_bdev->bd_engine->ops->submit_batch(bio->bi_bdev->bd_engine, bio);

	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);

	status = bio->bi_status;
	bio->bi_end_io = end_io;
	bio->bi_private = private;
	return status;
}

void pc_blk_submit_now(struct pc_bio *bio)
{
	if (bio_prepare(bio))
		bio->bi_bdev->bd_engine->ops->submit_batch(bio->bi_bdev->bd_engine, bio);
}

/* ---- plugging ---- */

void pc_blk_start_plug(struct pc_blk_plug *plug)
{
	plug->head = plug->tail = NULL;
	plug->count = 0;
	plug->prev = NULL;
	if (!current_plug)
		current_plug = plug;	/* nested plugs do not collect */
}

void pc_blk_finish_plug(struct pc_blk_plug *plug)
{
	if (plug != current_plug)
		return;
	plug_flush(plug);
	current_plug = NULL;
}

void pc_blk_flush_plug(void)
{
	struct pc_blk_plug *plug = current_plug;

	if (plug && plug->head)
		plug_flush(plug);
}
