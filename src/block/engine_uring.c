/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/block/engine_uring.c - the "uring" engine: io_uring through liburing.
 *
 * Shape
 *  - One ring per device (URING_ENTRIES SQ entries, twice as many CQ
 *    entries), the host file registered as fixed file 0 when possible.
 *  - A table of URING_ENTRIES requests ("slots"), allocated once: a slot
 *    carries one bio through its stages and holds the iovec array of its
 *    current SQE, so the data path allocates nothing per bio. A bio without
 *    a free slot waits (ordinary threads) or goes on the backlog (engine
 *    threads, i.e. a bi_end_io submitting). Each slot has at most one SQE in
 *    flight, so in-flight CQEs never exceed the CQ ring: no CQ overflow.
 *  - Any thread submits: under e->lock it takes slots, prepares one SQE per
 *    bio and calls io_uring_submit once for the whole batch.
 *  - One completion thread (the reaper) waits for CQEs, copies them out,
 *    advances the CQ, then under e->lock moves each slot on (continue a
 *    short transfer, retry -EAGAIN, next stage) or frees it, hands free
 *    slots to the backlog, submits once, and finally, with no lock held,
 *    runs pc_blk_end_bio for the finished bios.
 *
 * Stages of a slot (r->stage)
 *   FLUSH                           FLUSH bio: IORING_OP_FSYNC(DATASYNC)
 *   PREFLUSH → IO [→ POSTFLUSH]     WRITE with PC_REQ_PREFLUSH
 *   IO [→ POSTFLUSH]                READ/WRITE; POSTFLUSH only for a FUA
 *                                   write when the host rejects RWF_DSYNC
 *
 * Locking: e->lock protects the SQ ring, the free list, the backlog, the
 * slots' fields, nr_waiters and no_dsync. The CQ ring belongs to the reaper
 * alone. e->lock is never held while a bi_end_io runs.
 *
 * Shutdown (pc_bdev_close, nothing in flight): a NOP with user_data
 * URING_STOP makes the reaper return; then the ring is torn down.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* O_DIRECT, pwritev2, RWF_DSYNC, statx */
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <liburing.h>

#include "pagecache/blkdev.h"
#include "engine.h"

#define URING_ENTRIES 256		/* SQ size = slots = max bios in flight */
#define URING_REAP_BATCH 64		/* CQEs copied out per lock round */
#define URING_STOP UINT64_MAX		/* user_data of the shutdown NOP */

enum uring_stage { STAGE_IO, STAGE_PREFLUSH, STAGE_POSTFLUSH, STAGE_FLUSH };

struct uring_req {
	struct pc_bio *bio;		/* NULL while free */
	struct uring_req *next;		/* free list */
	uint32_t done;			/* bytes of the bio transferred */
	uint8_t stage;			/* enum uring_stage */
	bool dsync;			/* write with RWF_DSYNC */
	struct iovec iov[PC_BLK_IOV_MAX];
};

struct uring_engine {
	struct pc_engine base;
	struct io_uring ring;
	pthread_mutex_t lock;
	pthread_cond_t slot_cond;	/* ordinary submitters wait for a slot */
	struct uring_req *free;
	struct pc_bio *backlog_head, *backlog_tail;
	unsigned nr_waiters;
	bool fixed_file;
	bool no_dsync;
	pthread_t reaper;
	struct uring_req *reqs;
};

/* ---- submission side (e->lock held) ---- */

static void uring_submit_locked(struct uring_engine *e)
{
	unsigned tries = 0;

	while (io_uring_sq_ready(&e->ring)) {
		int ret = io_uring_submit(&e->ring);

		if (ret > 0 || ret == -EINTR)
			continue;
		/* -EAGAIN/-EBUSY: the kernel is short of request memory or
		 * has overflowed CQEs to flush; the reaper does not need
		 * e->lock to reap, so yield and retry. The SQEs stay in the
		 * ring in any case and go with the next submit. */
		if ((ret == 0 || ret == -EAGAIN || ret == -EBUSY) && ++tries < 10000) {
			sched_yield();
			continue;
		}
		break;
	}
}

static struct io_uring_sqe *uring_get_sqe_locked(struct uring_engine *e)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&e->ring)))
		uring_submit_locked(e);
	return sqe;
}

/* Prepare the SQE for the slot's current stage. */
static void uring_prep_locked(struct uring_engine *e, struct uring_req *r)
{
	struct io_uring_sqe *sqe = uring_get_sqe_locked(e);
	struct pc_bio *bio = r->bio;
	int fd = e->fixed_file ? 0 : e->base.bdev->bd_fd;

	if (r->stage == STAGE_IO) {
		size_t want;
		unsigned cnt = pc_blk_bio_iov(bio, r->done, r->iov, PC_BLK_IOV_MAX, &want);
		uint64_t off = pc_blk_bio_pos(bio) + r->done;

		if (PC_BIO_OP(bio) == PC_REQ_OP_READ) {
			if (cnt == 1)
				io_uring_prep_read(sqe, fd, r->iov[0].iov_base,
						   (unsigned)r->iov[0].iov_len, off);
			else
				io_uring_prep_readv(sqe, fd, r->iov, cnt, off);
		} else {
			if (cnt == 1)
				io_uring_prep_write(sqe, fd, r->iov[0].iov_base,
						    (unsigned)r->iov[0].iov_len, off);
			else
				io_uring_prep_writev(sqe, fd, r->iov, cnt, off);
			if (r->dsync)
				sqe->rw_flags = RWF_DSYNC;
		}
	} else {
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	}
	if (e->fixed_file)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, r);
}

static void uring_start_locked(struct uring_engine *e, struct uring_req *r, struct pc_bio *bio)
{
	enum pc_req_op op = PC_BIO_OP(bio);
	bool write = op == PC_REQ_OP_WRITE;

	r->bio = bio;
	r->done = 0;
	r->dsync = write && (bio->bi_opf & PC_REQ_FUA) && !e->no_dsync;
	if (op == PC_REQ_OP_FLUSH)
		r->stage = STAGE_FLUSH;
	else if (write && (bio->bi_opf & PC_REQ_PREFLUSH))
		r->stage = STAGE_PREFLUSH;
	else
		r->stage = STAGE_IO;
	uring_prep_locked(e, r);
}

static void uring_submit_batch(struct pc_engine *engine, struct pc_bio *list)
{
	struct uring_engine *e = (struct uring_engine *)engine;

	pthread_mutex_lock(&e->lock);
	while (list) {
		struct uring_req *r = e->free;
		struct pc_bio *bio;

		if (!r) {
			if (pc_blk_engine_thread) {
				/* Must not sleep here: this thread may be the
				 * reaper. The reaper starts these as slots free
				 * up (in-flight slots guarantee it will run). */
				struct pc_bio *last = list;

				while (last->bi_next)
					last = last->bi_next;
				if (e->backlog_tail)
					e->backlog_tail->bi_next = list;
				else
					e->backlog_head = list;
				e->backlog_tail = last;
				break;
			}
			/* Let what we prepared run, then wait for a slot. */
			uring_submit_locked(e);
			e->nr_waiters++;
			pthread_cond_wait(&e->slot_cond, &e->lock);
			e->nr_waiters--;
			continue;
		}
		e->free = r->next;
		bio = list;
		list = bio->bi_next;
		bio->bi_next = NULL;
		uring_start_locked(e, r, bio);
	}
	uring_submit_locked(e);
	pthread_mutex_unlock(&e->lock);
}

/* ---- completion side ---- */

/*
 * Move slot @r on after a CQE with result @res. Returns true if it has a new
 * SQE prepared, false if its bio is finished (*@status set).
 */
static bool uring_advance_locked(struct uring_engine *e, struct uring_req *r, int res, int *status)
{
	struct pc_bio *bio = r->bio;
	bool write = PC_BIO_OP(bio) == PC_REQ_OP_WRITE;

	if (res == -EAGAIN || res == -EINTR) {
		uring_prep_locked(e, r);	/* same stage, same offset */
		return true;
	}
	switch (r->stage) {
	case STAGE_FLUSH:
	case STAGE_POSTFLUSH:
		*status = res < 0 ? res : 0;
		return false;
	case STAGE_PREFLUSH:
		if (res < 0) {
			*status = res;
			return false;
		}
		r->stage = STAGE_IO;
		uring_prep_locked(e, r);
		return true;
	default:
		break;
	}

	/* STAGE_IO */
	if (res == -EOPNOTSUPP && r->dsync) {
		/* Host refuses RWF_DSYNC: plain write, then fdatasync. */
		e->no_dsync = true;
		r->dsync = false;
		uring_prep_locked(e, r);
		return true;
	}
	if (res < 0) {
		*status = res;
		return false;
	}
	if (res == 0) {
		if (write) {
			*status = -EIO;	/* no progress: never loop */
			return false;
		}
		/* Host EOF inside bd_size: the rest reads as zeros. */
		pc_blk_bio_zero(bio, r->done);
		r->done = bio->bi_size;
	} else {
		r->done += (uint32_t)res;
	}
	if (r->done < bio->bi_size) {
		uring_prep_locked(e, r);	/* short transfer: continue */
		return true;
	}
	if (write && (bio->bi_opf & PC_REQ_FUA) && !r->dsync) {
		r->stage = STAGE_POSTFLUSH;
		uring_prep_locked(e, r);
		return true;
	}
	*status = 0;
	return false;
}

static void *uring_reaper(void *arg)
{
	struct uring_engine *e = arg;
	struct io_uring_cqe *cqes[URING_REAP_BATCH];
	uint64_t data[URING_REAP_BATCH];
	int res[URING_REAP_BATCH];
	bool stop = false;

	pc_blk_engine_thread = true;
	while (!stop) {
		struct pc_bio *done = NULL, **done_tail = &done, *bio;
		struct io_uring_cqe *cqe;
		unsigned n, i;
		int ret;

		ret = io_uring_wait_cqe(&e->ring, &cqe);
		if (ret < 0) {
			if (ret != -EINTR && ret != -EAGAIN) {
				const struct timespec ms = { .tv_sec = 0, .tv_nsec = 1000000 };

				nanosleep(&ms, NULL);	/* should not happen: do not spin */
			}
			continue;
		}
		n = io_uring_peek_batch_cqe(&e->ring, cqes, URING_REAP_BATCH);
		for (i = 0; i < n; i++) {
			data[i] = cqes[i]->user_data;
			res[i] = cqes[i]->res;
		}
		io_uring_cq_advance(&e->ring, n);

		pthread_mutex_lock(&e->lock);
		for (i = 0; i < n; i++) {
			struct uring_req *r;
			int status = 0;

			if (data[i] == URING_STOP) {
				stop = true;
				continue;
			}
			r = (struct uring_req *)(uintptr_t)data[i];
			if (uring_advance_locked(e, r, res[i], &status))
				continue;
			bio = r->bio;
			bio->bi_status = status;
			*done_tail = bio;
			done_tail = &bio->bi_next;
			r->bio = NULL;
			r->next = e->free;
			e->free = r;
		}
		while (e->free && e->backlog_head) {
			struct uring_req *r = e->free;

			e->free = r->next;
			bio = e->backlog_head;
			e->backlog_head = bio->bi_next;
			if (!e->backlog_head)
				e->backlog_tail = NULL;
			bio->bi_next = NULL;
			uring_start_locked(e, r, bio);
		}
		if (e->free && e->nr_waiters)
			pthread_cond_broadcast(&e->slot_cond);
		uring_submit_locked(e);
		pthread_mutex_unlock(&e->lock);

		*done_tail = NULL;
		while (done) {
			bio = done;
			done = bio->bi_next;
			pc_blk_end_bio(bio, bio->bi_status);
		}
	}
	return NULL;
}

/* ---- setup and teardown ---- */

static void uring_free(struct uring_engine *e)
{
	pthread_cond_destroy(&e->slot_cond);
	pthread_mutex_destroy(&e->lock);
	free(e->reqs);
	free(e);
}

static int uring_create(struct pc_block_device *bdev, struct pc_engine **out)
{
	struct uring_engine *e;
	sigset_t all, old;
	unsigned flags = 0;
	int err, fd = bdev->bd_fd;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->reqs = calloc(URING_ENTRIES, sizeof(*e->reqs));
	if (!e->reqs) {
		free(e);
		return -ENOMEM;
	}
	e->base.ops = &pc_engine_uring_ops;
	e->base.bdev = bdev;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->slot_cond, NULL);
	for (unsigned i = 0; i < URING_ENTRIES; i++) {
		e->reqs[i].next = e->free;
		e->free = &e->reqs[i];
	}

#ifdef IORING_SETUP_SUBMIT_ALL
	flags |= IORING_SETUP_SUBMIT_ALL;	/* 5.18+: do not stop at a bad SQE */
#endif
	err = io_uring_queue_init(URING_ENTRIES, &e->ring, flags);
	if (err == -EINVAL && flags)
		err = io_uring_queue_init(URING_ENTRIES, &e->ring, 0);
	if (err)
		goto out_free;
	e->fixed_file = io_uring_register_files(&e->ring, &fd, 1) == 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&e->reaper, NULL, uring_reaper, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto out_ring;
	*out = &e->base;
	return 0;

out_ring:
	io_uring_queue_exit(&e->ring);
out_free:
	uring_free(e);
	return err;
}

static void uring_destroy(struct pc_engine *engine)
{
	struct uring_engine *e = (struct uring_engine *)engine;
	struct io_uring_sqe *sqe;

	pthread_mutex_lock(&e->lock);
	sqe = uring_get_sqe_locked(e);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, URING_STOP);
	uring_submit_locked(e);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->reaper, NULL);
	/* Drop the registered file now: io_uring_queue_exit only starts the
	 * ring's teardown, which puts its files later from a kernel worker,
	 * and the image's OFD lock and a block device's O_EXCL claim (see
	 * pc_bdev_open, PC_BDEV_EXCL) last until the file's last reference
	 * goes: a mount right after an unmount would find them still held. */
	if (e->fixed_file)
		(void)io_uring_unregister_files(&e->ring);
	io_uring_queue_exit(&e->ring);
	uring_free(e);
}

const struct pc_engine_ops pc_engine_uring_ops = {
	.name = "uring",
	.create = uring_create,
	.submit_batch = uring_submit_batch,
	.destroy = uring_destroy,
};
