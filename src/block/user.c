/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/block/user.c - block devices on user operations (struct
 * pc_blockdev_operations, pc_bdev_create) and the fault-injecting wrapper
 * built on them (pc_bdev_fault_wrap).
 *
 * A user device is an ordinary struct pc_block_device whose engine is the
 * "user" engine below: submit_batch hands the list to ops->submit, destroy
 * calls ops->destroy. Everything else (validation, plugging, fault
 * injection, the write log, statistics, in-flight counting) is the shared
 * code of bio.c and bdev.c; pc_bio_endio is pc_blk_end_bio made public.
 *
 * The fault wrapper is a user device like any other: its submit passes a
 * clone of each bio (sharing the segment array) to the inner device with
 * pc_blk_submit_now (bypassing the plug: submit may run while a plug is
 * being dispatched, and a clone queued there would be lost at finish), and
 * completes the original from the clone's bi_end_io; the bios it was armed
 * to fail are completed at once with the armed error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pagecache/blkdev.h"
#include "engine.h"

struct pc_engine_user {
	struct pc_engine base;
};

static void user_submit_batch(struct pc_engine *engine, struct pc_bio *list)
{
	struct pc_block_device *bdev = engine->bdev;

	bdev->bd_ops->submit(bdev, list);
}

static void user_destroy(struct pc_engine *engine)
{
	struct pc_block_device *bdev = engine->bdev;

	if (bdev->bd_ops->destroy)
		bdev->bd_ops->destroy(bdev);
	free(engine);
}

static const struct pc_engine_ops user_engine_ops = {
	.name = "user",
	.create = NULL,
	.submit_batch = user_submit_batch,
	.destroy = user_destroy,
};

PC_EXPORT void pc_bio_endio(struct pc_bio *bio, int status)
{
	if (!bio)
		return;
	pc_blk_end_bio(bio, status > 0 ? -EIO : status);
}

PC_EXPORT int pc_bdev_create(const struct pc_blockdev_operations *ops, void *private,
			     const char *name, uint64_t size, unsigned logical_block_size,
			     unsigned flags, struct pc_block_device **out)
{
	struct pc_block_device *bdev;
	struct pc_engine_user *e;
	unsigned lbs = logical_block_size;
	int err;

	if (out)
		*out = NULL;
	if (!ops || !ops->submit || !out || (flags & ~(unsigned)PC_BDEV_RDONLY))
		return -EINVAL;
	size &= ~(uint64_t)(PC_SECTOR_SIZE - 1);
	if (size < 1024 || lbs < PC_SECTOR_SIZE || lbs > PC_PAGE_SIZE || (lbs & (lbs - 1)))
		return -EINVAL;
	bdev = calloc(1, sizeof(*bdev));
	e = calloc(1, sizeof(*e));
	if (!bdev || !e)
		goto nomem;
	bdev->bd_path = strdup(name ? name : "user");
	if (!bdev->bd_path)
		goto nomem;
	err = pthread_mutex_init(&bdev->bd_fault_lock, NULL);
	if (err) {
		free(bdev->bd_path);
		free(bdev);
		free(e);
		return -err;
	}
	bdev->bd_fd = -1;
	bdev->bd_size = size;
	bdev->bd_logical_block_size = lbs;
	bdev->bd_direct = true;
	bdev->bd_readonly = flags & PC_BDEV_RDONLY;
	bdev->bd_block_size = 1024;
	bdev->bd_ops = ops;
	bdev->bd_private = private;
	bdev->bd_engine_name = ops->name ? ops->name : "user";
	e->base.ops = &user_engine_ops;
	e->base.bdev = bdev;
	bdev->bd_engine = &e->base;
	*out = bdev;
	return 0;

nomem:
	if (bdev)
		free(bdev->bd_path);
	free(bdev);
	free(e);
	return -ENOMEM;
}

/* ---- the fault wrapper ---- */

struct fault_dev {
	struct pc_block_device *inner;
	pthread_mutex_t lock;
	_Atomic unsigned armed;		/* bit per op */
	struct { unsigned long nth, count; int err; } f[3];
};

static const struct pc_blockdev_operations fault_ops;

/* 0 to let a bio of @op through, or the armed error. */
static int fault_take(struct fault_dev *fd, enum pc_req_op op)
{
	int err = 0;

	if ((unsigned)op > PC_REQ_OP_FLUSH ||
	    !(atomic_load_explicit(&fd->armed, memory_order_relaxed) & (1u << op)))
		return 0;
	pthread_mutex_lock(&fd->lock);
	if (fd->f[op].nth > 1) {
		fd->f[op].nth--;
	} else if (fd->f[op].nth == 1) {
		err = fd->f[op].err;
		if (--fd->f[op].count == 0) {
			fd->f[op].nth = 0;
			atomic_fetch_and(&fd->armed, ~(1u << op));
		}
	}
	pthread_mutex_unlock(&fd->lock);
	return err;
}

static void fault_clone_end_io(struct pc_bio *clone)
{
	struct pc_bio *orig = clone->bi_private;
	int status = clone->bi_status;

	pc_bio_put(clone);
	pc_bio_endio(orig, status);
}

static void fault_submit(struct pc_block_device *bdev, struct pc_bio *list)
{
	struct fault_dev *fd = bdev->bd_private;

	while (list) {
		struct pc_bio *bio = list, *clone;
		int err;

		list = bio->bi_next;
		bio->bi_next = NULL;
		err = fault_take(fd, PC_BIO_OP(bio));
		if (err) {
			pc_blk_stat_add(bdev, PC_BLK_STAT_INJECTED, 1);
			pc_bio_endio(bio, err);
			continue;
		}
		clone = pc_bio_alloc(fd->inner, 0);
		if (!clone) {
			pc_bio_endio(bio, -ENOMEM);
			continue;
		}
		clone->bi_sector = bio->bi_sector;
		clone->bi_size = bio->bi_size;
		clone->bi_opf = bio->bi_opf;
		clone->bi_vcnt = bio->bi_vcnt;
		clone->bi_io_vec = bio->bi_io_vec;
		clone->bi_end_io = fault_clone_end_io;
		clone->bi_private = bio;
		pc_blk_submit_now(clone);
	}
}

static int fault_flush(struct pc_block_device *bdev)
{
	struct fault_dev *fd = bdev->bd_private;
	int err = fault_take(fd, PC_REQ_OP_FLUSH);

	if (err) {
		pc_blk_stat_add(bdev, PC_BLK_STAT_INJECTED, 1);
		return err;
	}
	return pc_blkdev_issue_flush(fd->inner);
}

static void fault_destroy(struct pc_block_device *bdev)
{
	struct fault_dev *fd = bdev->bd_private;

	pc_bdev_close(fd->inner);
	pthread_mutex_destroy(&fd->lock);
	free(fd);
}

static const struct pc_blockdev_operations fault_ops = {
	.name = "fault",
	.submit = fault_submit,
	.flush = fault_flush,
	.destroy = fault_destroy,
};

PC_EXPORT int pc_bdev_fault_wrap(struct pc_block_device *inner, struct pc_block_device **out)
{
	struct pc_block_device *bdev;
	struct fault_dev *fd;
	int err;

	if (out)
		*out = NULL;
	if (!inner || !out)
		return -EINVAL;
	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	fd->inner = inner;
	pthread_mutex_init(&fd->lock, NULL);
	err = pc_bdev_create(&fault_ops, fd, inner->bd_path, inner->bd_size, PC_SECTOR_SIZE,
			     inner->bd_readonly ? PC_BDEV_RDONLY : 0, &bdev);
	if (err) {
		pthread_mutex_destroy(&fd->lock);
		free(fd);
		return err;
	}
	/* The inner device's properties, as seen by the filesystem above. */
	bdev->bd_logical_block_size = inner->bd_logical_block_size;
	bdev->bd_direct = inner->bd_direct;
	memcpy(bdev->bd_direct_note, inner->bd_direct_note, sizeof(bdev->bd_direct_note));
	bdev->bd_engine_name = inner->bd_engine_name;
	*out = bdev;
	return 0;
}

PC_EXPORT int pc_bdev_fault_arm(struct pc_block_device *wrap, enum pc_req_op op, unsigned long nth,
				unsigned long count, int err)
{
	struct fault_dev *fd;

	if (!wrap || wrap->bd_ops != &fault_ops || (unsigned)op > PC_REQ_OP_FLUSH)
		return -EINVAL;
	fd = wrap->bd_private;
	pthread_mutex_lock(&fd->lock);
	fd->f[op].nth = nth;
	fd->f[op].count = count ? count : 1;
	fd->f[op].err = err < 0 ? err : -EIO;
	if (nth)
		atomic_fetch_or(&fd->armed, 1u << op);
	else
		atomic_fetch_and(&fd->armed, ~(1u << op));
	pthread_mutex_unlock(&fd->lock);
	return 0;
}
