/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/block/engine_pread.c - the "pread" engine: a pool of worker threads
 * doing preadv/pwritev2 for bios taken from one FIFO queue.
 *
 * Used where io_uring is unavailable (old kernels, seccomp filters,
 * io_uring_disabled) or when asked for. Each worker owns a bio from dequeue
 * to pc_blk_end_bio; short transfers are continued in place.
 *
 * Locking: e->lock protects the queue, nr_idle and stop; it is never held
 * during I/O or a completion, so a bi_end_io may submit to this engine.
 * Submission never blocks on queue space (the queue is the bios' own
 * bi_next links).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* O_DIRECT, pwritev2, RWF_DSYNC, statx */
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "pagecache/blkdev.h"
#include "engine.h"

#define PREAD_DEFAULT_THREADS 4
#define PREAD_MAX_THREADS 64

struct pread_engine {
	struct pc_engine base;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* workers wait for bios or stop */
	struct pc_bio *head, *tail;	/* FIFO of queued bios */
	unsigned nr_idle;		/* workers waiting on cond */
	bool stop;
	_Atomic bool no_dsync;		/* host rejected RWF_DSYNC: use fdatasync */
	unsigned nr_threads;
	pthread_t threads[];
};

/* Do the whole bio on this thread (pc_blk_host_rw); returns its status. */
static int pread_do_bio(struct pread_engine *e, struct pc_bio *bio, struct iovec *iov)
{
	return pc_blk_host_rw(e->base.bdev->bd_fd, bio, iov, &e->no_dsync);
}

static void *pread_worker(void *arg)
{
	struct pread_engine *e = arg;
	struct iovec iov[PC_BLK_IOV_MAX];
	struct pc_bio *bio;

	pc_blk_engine_thread = true;
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->head && !e->stop) {
			e->nr_idle++;
			pthread_cond_wait(&e->cond, &e->lock);
			e->nr_idle--;
		}
		bio = e->head;
		if (!bio)
			break;		/* stop, and the queue is empty */
		e->head = bio->bi_next;
		if (!e->head)
			e->tail = NULL;
		pthread_mutex_unlock(&e->lock);

		bio->bi_next = NULL;
		pc_blk_end_bio(bio, pread_do_bio(e, bio, iov));

		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void pread_submit_batch(struct pc_engine *engine, struct pc_bio *list)
{
	struct pread_engine *e = (struct pread_engine *)engine;
	struct pc_bio *last = list;
	unsigned n = 1;

	while (last->bi_next) {
		last = last->bi_next;
		n++;
	}
	pthread_mutex_lock(&e->lock);
	if (e->tail)
		e->tail->bi_next = list;
	else
		e->head = list;
	e->tail = last;
	if (e->nr_idle) {
		if (n == 1)
			pthread_cond_signal(&e->cond);
		else
			pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
}

static void pread_stop(struct pread_engine *e, unsigned started)
{
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(e->threads[i], NULL);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static unsigned pread_nr_threads(void)
{
	const char *env = getenv("PC_PREAD_THREADS");
	char *end;
	unsigned long n;

	if (!env || !*env)
		return PREAD_DEFAULT_THREADS;
	n = strtoul(env, &end, 10);
	if (*end || n < 1 || n > PREAD_MAX_THREADS)
		return PREAD_DEFAULT_THREADS;
	return (unsigned)n;
}

static int pread_create(struct pc_block_device *bdev, struct pc_engine **out)
{
	unsigned nr = pread_nr_threads(), i;
	struct pread_engine *e;
	sigset_t all, old;
	int err = 0;

	e = calloc(1, sizeof(*e) + nr * sizeof(pthread_t));
	if (!e)
		return -ENOMEM;
	e->base.ops = &pc_engine_pread_ops;
	e->base.bdev = bdev;
	e->nr_threads = nr;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);

	/* Engine threads take no signals: they belong to the application. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nr; i++) {
		err = pthread_create(&e->threads[i], NULL, pread_worker, e);
		if (err)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pread_stop(e, i);
		return -err;
	}
	*out = &e->base;
	return 0;
}

static void pread_destroy(struct pc_engine *engine)
{
	struct pread_engine *e = (struct pread_engine *)engine;

	pread_stop(e, e->nr_threads);
}

const struct pc_engine_ops pc_engine_pread_ops = {
	.name = "pread",
	.create = pread_create,
	.submit_batch = pread_submit_batch,
	.destroy = pread_destroy,
};
