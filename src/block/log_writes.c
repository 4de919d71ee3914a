/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/block/log_writes.c - a write log for crash simulation (testing), in
 * the shape of Linux's dm-log-writes (Documentation/admin-guide/
 * device-mapper/log-writes.rst).
 *
 * When a log is attached to a device (pc_bdev_log_writes_start), every
 * write that the device COMPLETES is appended to the log with its data,
 * and every flush is logged twice: FLUSH_ISSUE when it is handed to the
 * device, FLUSH_DONE (with its status) when it has completed. A flush only
 * makes durable the writes that completed before it was issued, that is the
 * WRITE entries before its FLUSH_ISSUE entry; a FUA write is durable by
 * itself. MARK entries carry text from the program (pc_bdev_log_mark), for
 * example "this fsync has returned". tests/crash/replay.py rebuilds every
 * state a power cut could have left from this log and a copy of the image
 * taken before the mount.
 *
 * Ordering: entries are appended under log->lock in the order the events
 * took it. A write's entry is appended after the host has the data and
 * before its bi_end_io runs, so a write whose completion somebody saw
 * before issuing a flush always precedes that flush's FLUSH_ISSUE entry.
 * A FLUSH_ISSUE is logged at pc_submit_bio time (possibly before a plug
 * dispatches it), so the log never claims more durability than the device
 * gave.
 *
 * Format (little-endian; struct pc_log_hdr then entries of struct
 * pc_log_entry, each followed by @len bytes of data): see below and
 * tests/crash/replay.py.
 *
 * Failures writing the log are sticky in log->err and returned by
 * pc_bdev_log_mark and pc_bdev_log_writes_error; they never fail the I/O.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "pagecache/blkdev.h"
#include "engine.h"

#define PC_LOG_MAGIC "PCLOGW01"
#define PC_LOG_ENTRY_MAGIC 0x45474f4cu	/* "LOGE" */

enum pc_log_type {
	PC_LOG_WRITE = 1,	/* a completed write: @sector, @len bytes of data */
	PC_LOG_FLUSH_ISSUE = 2,	/* flush @id handed to the device */
	PC_LOG_FLUSH_DONE = 3,	/* flush @id completed with @status */
	PC_LOG_MARK = 4,	/* @len bytes from pc_bdev_log_mark */
	PC_LOG_WRITE_ERR = 5,	/* a write failed (@status): its sectors are unknown */
};

struct pc_log_hdr {
	char magic[8];
	uint32_t version;		/* 1 */
	uint32_t sector_size;		/* 512 */
	uint64_t dev_size;		/* bytes */
	uint32_t logical_block_size;	/* the device's atomic unit, bytes */
	uint32_t reserved[9];
};
_Static_assert(sizeof(struct pc_log_hdr) == 64, "log header is 64 bytes");

struct pc_log_entry {
	uint32_t magic;
	uint32_t type;
	uint64_t seq;		/* 0, 1, 2, ... */
	uint64_t sector;	/* WRITE, WRITE_ERR */
	uint32_t len;		/* bytes of data after the entry */
	uint32_t flags;		/* bi_opf of a WRITE */
	uint64_t id;		/* FLUSH_*: the flush's number; WRITE_ERR: bytes */
	int32_t status;		/* FLUSH_DONE, WRITE_ERR */
	uint32_t pad;
};
_Static_assert(sizeof(struct pc_log_entry) == 48, "log entry is 48 bytes");

/* A FLUSH bio or PREFLUSH write between submission and completion. */
struct pc_log_pending {
	const struct pc_bio *bio;
	uint64_t id;
	struct pc_log_pending *next;
};

struct pc_log_writes {
	pthread_mutex_t lock;
	int fd;
	uint64_t seq;
	uint64_t next_flush_id;
	int err;			/* first failure writing the log */
	unsigned long skip_every;	/* test fault: skip every Nth flush (0: never) */
	unsigned long nr_flushes;
	struct pc_log_pending *pending;
};

static int write_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Append one entry and its data (@iov, @cnt may be 0). log->lock held. */
static void log_append(struct pc_log_writes *log, struct pc_log_entry *e, struct iovec *data,
		       int cnt)
{
	struct iovec iov[1 + PC_BLK_IOV_MAX];
	int err;

	if (log->err)
		return;
	e->magic = PC_LOG_ENTRY_MAGIC;
	e->seq = log->seq++;
	iov[0].iov_base = e;
	iov[0].iov_len = sizeof(*e);
	if (cnt > PC_BLK_IOV_MAX)
		cnt = PC_BLK_IOV_MAX;
	if (cnt)
		memcpy(&iov[1], data, (size_t)cnt * sizeof(*data));
	err = write_all(log->fd, iov, 1 + cnt);
	if (err)
		log->err = err;
}

static void log_flush_entry(struct pc_log_writes *log, enum pc_log_type type, uint64_t id,
			    int status)
{
	struct pc_log_entry e = { .type = type, .id = id, .status = status };

	log_append(log, &e, NULL, 0);
}

int pc_bdev_log_writes_start(struct pc_block_device *bdev, const char *path)
{
	struct pc_log_writes *log;
	struct pc_log_hdr hdr;
	struct iovec iov;
	const char *env;
	int err;

	if (!bdev || !path)
		return -EINVAL;
	if (bdev->bd_log)
		return -EBUSY;
	if (bdev->bd_readonly)
		return -EROFS;
	log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	log->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log->fd < 0) {
		err = -errno;
		free(log);
		return err;
	}
	env = getenv("PC_LOG_WRITES_SKIP_FLUSH");
	if (env && *env)
		log->skip_every = strtoul(env, NULL, 10);
	memset(&hdr, 0, sizeof(hdr));
	memcpy(hdr.magic, PC_LOG_MAGIC, sizeof(hdr.magic));
	hdr.version = 1;
	hdr.sector_size = PC_SECTOR_SIZE;
	hdr.dev_size = bdev->bd_size;
	hdr.logical_block_size = bdev->bd_logical_block_size;
	iov.iov_base = &hdr;
	iov.iov_len = sizeof(hdr);
	err = write_all(log->fd, &iov, 1);
	if (err) {
		close(log->fd);
		free(log);
		return err;
	}
	pthread_mutex_init(&log->lock, NULL);
	bdev->bd_log = log;
	return 0;
}

int pc_bdev_log_mark(struct pc_block_device *bdev, const void *data, size_t len)
{
	struct pc_log_writes *log = bdev ? bdev->bd_log : NULL;
	struct pc_log_entry e = { .type = PC_LOG_MARK };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	int err;

	if (!log)
		return -ENODEV;
	if ((!data && len) || len > UINT32_MAX)
		return -EINVAL;
	e.len = (uint32_t)len;
	pthread_mutex_lock(&log->lock);
	log_append(log, &e, &iov, len ? 1 : 0);
	err = log->err;
	pthread_mutex_unlock(&log->lock);
	return err;
}

int pc_bdev_log_writes_error(struct pc_block_device *bdev)
{
	struct pc_log_writes *log = bdev ? bdev->bd_log : NULL;
	int err;

	if (!log)
		return -ENODEV;
	pthread_mutex_lock(&log->lock);
	err = log->err;
	pthread_mutex_unlock(&log->lock);
	return err;
}

void pc_blk_log_close(struct pc_block_device *bdev)
{
	struct pc_log_writes *log = bdev->bd_log;

	if (!log)
		return;
	bdev->bd_log = NULL;
	while (log->pending) {
		struct pc_log_pending *p = log->pending;

		log->pending = p->next;
		free(p);
	}
	close(log->fd);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

/* Test fault (PC_LOG_WRITES_SKIP_FLUSH=N): true for every Nth flush, which
 * is then neither done nor logged, as if the library had not issued it.
 * log->lock held. */
static bool skip_this_flush(struct pc_log_writes *log)
{
	log->nr_flushes++;
	return log->skip_every && log->nr_flushes % log->skip_every == 0;
}

bool pc_blk_log_flush_issue(struct pc_block_device *bdev, uint64_t *id)
{
	struct pc_log_writes *log = bdev->bd_log;
	bool skip;

	pthread_mutex_lock(&log->lock);
	skip = skip_this_flush(log);
	if (!skip) {
		*id = ++log->next_flush_id;
		log_flush_entry(log, PC_LOG_FLUSH_ISSUE, *id, 0);
	}
	pthread_mutex_unlock(&log->lock);
	return !skip;
}

void pc_blk_log_flush_done(struct pc_block_device *bdev, uint64_t id, int status)
{
	struct pc_log_writes *log = bdev->bd_log;

	pthread_mutex_lock(&log->lock);
	log_flush_entry(log, PC_LOG_FLUSH_DONE, id, status);
	pthread_mutex_unlock(&log->lock);
}

void pc_blk_log_submit(struct pc_bio *bio)
{
	struct pc_log_writes *log = bio->bi_bdev->bd_log;
	enum pc_req_op op = PC_BIO_OP(bio);
	struct pc_log_pending *p;

	if (op != PC_REQ_OP_FLUSH && !(op == PC_REQ_OP_WRITE && (bio->bi_opf & PC_REQ_PREFLUSH)))
		return;
	p = malloc(sizeof(*p));
	pthread_mutex_lock(&log->lock);
	if (!p) {
		if (!log->err)
			log->err = -ENOMEM;
	} else {
		p->bio = bio;
		p->id = ++log->next_flush_id;
		p->next = log->pending;
		log->pending = p;
		log_flush_entry(log, PC_LOG_FLUSH_ISSUE, p->id, 0);
	}
	pthread_mutex_unlock(&log->lock);
}

void pc_blk_log_complete(struct pc_bio *bio, int status)
{
	struct pc_log_writes *log = bio->bi_bdev->bd_log;
	enum pc_req_op op = PC_BIO_OP(bio);
	struct pc_log_pending **pp, *p = NULL;
	struct iovec iov[PC_BLK_IOV_MAX];

	if (op == PC_REQ_OP_READ)
		return;
	pthread_mutex_lock(&log->lock);
	for (pp = &log->pending; *pp; pp = &(*pp)->next) {
		if ((*pp)->bio == bio) {
			p = *pp;
			*pp = p->next;
			break;
		}
	}
	if (p) {
		/* A PREFLUSH write's flush happened before its data. */
		log_flush_entry(log, PC_LOG_FLUSH_DONE, p->id, status);
		free(p);
	}
	if (op == PC_REQ_OP_WRITE) {
		struct pc_log_entry e = {
			.type = status ? PC_LOG_WRITE_ERR : PC_LOG_WRITE,
			.sector = bio->bi_sector,
			.flags = bio->bi_opf,
			.status = status,
		};
		uint32_t done = 0;

		if (status) {
			e.id = bio->bi_size;	/* the bytes whose content is unknown */
			log_append(log, &e, NULL, 0);
		} else {
			/* One entry per window of iovecs (a bio with more segments
			 * than PC_BLK_IOV_MAX is rare): each is a contiguous
			 * range of sectors. */
			while (done < bio->bi_size) {
				size_t bytes;
				unsigned cnt = pc_blk_bio_iov(bio, done, iov, PC_BLK_IOV_MAX, &bytes);

				if (!cnt)
					break;
				e.sector = bio->bi_sector + (done >> PC_SECTOR_SHIFT);
				e.len = (uint32_t)bytes;
				log_append(log, &e, iov, (int)cnt);
				done += (uint32_t)bytes;
			}
		}
	}
	pthread_mutex_unlock(&log->lock);
}
