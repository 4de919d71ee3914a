/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/block/engine.h - private interface between the block layer core
 * (bio.c, bdev.c) and its I/O engines (engine_uring.c, engine_pread.c, and
 * user.c, whose engine hands bios to a user's struct
 * pc_blockdev_operations: the public form of this same contract, see
 * blkdev.h). Nothing here is exported; only src/block includes it.
 *
 * Life of a bio
 * -------------
 *   pc_submit_bio()                                   (bio.c, submitter)
 *     validate; fault injection   --fail-->  pc_blk_end_bio_sync() (submitter)
 *     bd_inflight++
 *     current plug?  --yes-->  queued on the plug; dispatched at 32 bios or
 *                              pc_blk_finish_plug() / pc_blk_flush_plug()
 *     ops->submit_batch(engine, list)                 (engine)
 *   engine does the I/O, continuing short transfers
 *   pc_blk_end_bio(bio, status)                       (engine thread)
 *     statistics; bi_end_io(bio); bd_inflight--
 *
 * Engine contract (the locking table of struct pc_engine_ops)
 * -----------------------------------------------------------
 *                 called from          may block          locks held by caller
 *   create        pc_bdev_open         yes                none
 *   submit_batch  any thread, incl.    briefly (queue     none
 *                 an engine thread     full), never for
 *                 (from bi_end_io)     I/O completion;
 *                                      never on an engine
 *                                      thread
 *   destroy       pc_bdev_close        yes (joins)        none; no bio in flight
 *
 * submit_batch receives a NULL-terminated list linked through bi_next; every
 * bio on it is valid (checked by pc_submit_bio), belongs to the engine's
 * device, and is already counted in bd_inflight. From then on the engine owns
 * bi_next and must call pc_blk_end_bio() exactly once per bio, from one of its
 * own threads, never while holding a lock that submit_batch takes (bi_end_io
 * may submit new bios).
 */
#ifndef PAGECACHE_BLOCK_ENGINE_H
#define PAGECACHE_BLOCK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "pagecache/blkdev.h"

#define PC_BLK_HIDDEN __attribute__((visibility("hidden")))

/* Largest iovec window an engine passes to one preadv/pwritev/SQE. A bio
 * with more segments (only possible with a caller-provided bi_io_vec) is
 * transferred in several windows, like a short transfer. */
#define PC_BLK_IOV_MAX PC_BIO_MAX_VECS

/* Indexes into bd_stat, in the order of struct pc_bdev_stats. */
enum pc_blk_stat {
	PC_BLK_STAT_READ_BIOS,
	PC_BLK_STAT_READ_BYTES,
	PC_BLK_STAT_WRITE_BIOS,
	PC_BLK_STAT_WRITE_BYTES,
	PC_BLK_STAT_FLUSHES,
	PC_BLK_STAT_ERRORS,
	PC_BLK_STAT_INJECTED,
	PC_BLK_NR_STATS
};

struct pc_engine_ops {
	const char *name;	/* "uring" / "pread", becomes bd_engine_name */
	/* Set up the engine for @bdev (bd_fd, bd_size, ... are final).
	 * 0 and *@out, or -errno (e.g. -ENOSYS/-EPERM: io_uring unavailable). */
	int (*create)(struct pc_block_device *bdev, struct pc_engine **out);
	/* Queue a list of bios (see the contract above). No return value:
	 * failures are reported through each bio's completion. */
	void (*submit_batch)(struct pc_engine *engine, struct pc_bio *list);
	/* Stop the threads and free the engine. No bio is in flight. */
	void (*destroy)(struct pc_engine *engine);
};

/* Every engine's private structure starts with this. */
struct pc_engine {
	const struct pc_engine_ops *ops;
	struct pc_block_device *bdev;
};

/* pc_engine_uring_ops exists only where liburing was found (PC_HAVE_URING
 * in config.h); bdev.c checks before using it. */
PC_BLK_HIDDEN extern const struct pc_engine_ops pc_engine_uring_ops;
PC_BLK_HIDDEN extern const struct pc_engine_ops pc_engine_pread_ops;

/*
 * True on the threads of any engine (uring completion threads, pread
 * workers). submit_batch must not sleep waiting for queue space there, since
 * that thread may be the one that would make the space.
 */
PC_BLK_HIDDEN extern _Thread_local bool pc_blk_engine_thread;

/*
 * pc_blk_end_bio - complete a bio that went through submit_batch: store
 * @status (0 or -errno), count it in the statistics, call bi_end_io, then
 * drop it from bd_inflight. Called by engines, once per bio, with no lock
 * held. The bio must not be touched afterwards.
 */
PC_BLK_HIDDEN void pc_blk_end_bio(struct pc_bio *bio, int status);

/*
 * pc_blk_bio_iov - fill @iov (at most @max entries) with the bio's data
 * from byte @done on. Returns the number of entries and the bytes they
 * cover in *@bytes (0 entries when @done >= bi_size).
 */
PC_BLK_HIDDEN unsigned pc_blk_bio_iov(const struct pc_bio *bio, uint32_t done, struct iovec *iov,
				      unsigned max, size_t *bytes);

/* Consume one PC_REQ_OP_FLUSH from the fault injector (for
 * pc_blkdev_issue_flush): 0, or the injected error (already counted). */
PC_BLK_HIDDEN int pc_blk_flush_fault(struct pc_block_device *bdev);

/* Zero the bio's data from byte @from to its end (read past host EOF). */
PC_BLK_HIDDEN void pc_blk_bio_zero(struct pc_bio *bio, uint32_t from);
/* Do @bio with preadv/pwritev on @fd on the calling thread (iov: room for
 * PC_BLK_IOV_MAX entries; *@no_dsync remembers a host without RWF_DSYNC).
 * Returns the bio's status. Does not complete the bio. */
PC_BLK_HIDDEN int pc_blk_host_rw(int fd, struct pc_bio *bio, struct iovec *iov, _Atomic bool *no_dsync);

/*
 * The write log (log_writes.c), active when bdev->bd_log is set; every
 * hook is called only then.
 * pc_blk_log_submit: a bio passed pc_submit_bio's checks (logs FLUSH_ISSUE
 *   for a FLUSH bio or a PREFLUSH write).
 * pc_blk_log_complete: the bio's I/O is over with @status, before bi_end_io
 *   (logs the write with its data, or FLUSH_DONE).
 * pc_blk_log_flush_issue/done: around pc_blkdev_issue_flush's host sync;
 *   issue returns false when the test fault PC_LOG_WRITES_SKIP_FLUSH says
 *   to skip this flush (then nothing is synced or logged).
 * pc_blk_log_close: at pc_bdev_close, nothing in flight.
 * Each takes the log's own mutex, never held across I/O of the device.
 */
PC_BLK_HIDDEN void pc_blk_log_submit(struct pc_bio *bio);
PC_BLK_HIDDEN void pc_blk_log_complete(struct pc_bio *bio, int status);
PC_BLK_HIDDEN bool pc_blk_log_flush_issue(struct pc_block_device *bdev, uint64_t *id);
PC_BLK_HIDDEN void pc_blk_log_flush_done(struct pc_block_device *bdev, uint64_t id, int status);
PC_BLK_HIDDEN void pc_blk_log_close(struct pc_block_device *bdev);

/* Submit @bio to its device's engine now, bypassing the calling thread's
 * plug (same checks as pc_submit_bio): for stacked devices (the fault
 * wrapper), whose submit may run while a plug is being dispatched. */
PC_BLK_HIDDEN void pc_blk_submit_now(struct pc_bio *bio);

/* Host offset in bytes of the bio's first sector. */
static inline uint64_t pc_blk_bio_pos(const struct pc_bio *bio)
{
	return (uint64_t)bio->bi_sector << PC_SECTOR_SHIFT;
}

static inline void pc_blk_stat_add(struct pc_block_device *bdev, enum pc_blk_stat i, uint64_t n)
{
	atomic_fetch_add_explicit(&bdev->bd_stat[i], n, memory_order_relaxed);
}

#endif /* PAGECACHE_BLOCK_ENGINE_H */
