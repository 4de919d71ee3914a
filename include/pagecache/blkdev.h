/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/blkdev.h - layer 6: block devices and block I/O.
 *
 * A struct pc_block_device is an image file or a raw block device opened
 * (by default) with O_DIRECT, so this library's page cache is the only cache
 * and nothing is cached twice; where the host filesystem refuses O_DIRECT
 * (tmpfs) it falls back to buffered host I/O and says so in its stats.
 *
 * I/O is described by struct pc_bio: a starting sector (512 B units), an
 * operation, and page segments. pc_submit_bio() hands it to an engine:
 *   - "uring": io_uring through liburing; one SQE per bio (readv/writev),
 *     a completion thread reaps CQEs and runs bi_end_io;
 *   - "pread": a pool of threads doing preadv/pwritev, used where io_uring
 *     is unavailable (old kernel, seccomp) or when asked for;
 *   - a user device (pc_bdev_create): the caller's struct
 *     pc_blockdev_operations, completing through pc_bio_endio.
 * A plug (pc_blk_start_plug) collects the bios a thread submits and sends
 * them to the engine in one batch at pc_blk_finish_plug.
 *
 * Completion: bi_end_io runs exactly once per bio, on an engine thread or
 * the thread a user device completes it on (or on the submitter for errors
 * detected at submission). It must not sleep on
 * page locks or I/O. bi_status is 0 or a negative errno.
 *
 * Safety: a bio that reaches past the end of the device, or a write to a
 * read-only device, is failed with -EIO (resp. -EROFS) without touching
 * the device: nothing is ever written outside it.
 */
#ifndef PAGECACHE_BLKDEV_H
#define PAGECACHE_BLKDEV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>
#include "compiler.h"
#include "iov_iter.h"
#include "filemap.h"
#include "writeback.h"
#include "pagecache.h"

struct pc_engine;
struct pc_blockdev_operations;

/* enum pc_engine_kind (PC_ENGINE_AUTO/URING/PREAD) is in pagecache.h: the
 * application chooses it too (pc_mount_opts.engine). */

/* Operations (low byte of bi_opf) and flags. */
enum pc_req_op { PC_REQ_OP_READ = 0, PC_REQ_OP_WRITE = 1, PC_REQ_OP_FLUSH = 2 };
enum {
	PC_REQ_FUA = 1 << 8,	/* write through to stable storage before completing */
	PC_REQ_SYNC = 1 << 9,	/* someone waits for it */
	PC_REQ_META = 1 << 10,	/* metadata (statistics only) */
	PC_REQ_PREFLUSH = 1 << 11, /* flush the device cache before the write */
};
#define PC_BIO_OP(bio) ((enum pc_req_op)((bio)->bi_opf & 0xff))

/* Largest bio: 256 segments (1 MiB of 4 KiB pages). */
#define PC_BIO_MAX_VECS 256

struct pc_bio;
typedef void (*pc_bio_end_io_t)(struct pc_bio *bio);

/*
 * struct pc_bio
 * @bi_sector:  first sector on the device (512 B units).
 * @bi_size:    total bytes (sum of segment lengths); a multiple of 512.
 * @bi_opf:     pc_req_op | PC_REQ_* flags.
 * @bi_status:  0 or -errno, set before bi_end_io runs.
 * @bi_vcnt:    segments used; @bi_max_vecs capacity; @bi_io_vec the array.
 * @bi_end_io:  completion callback (see above); owns the bio from then on
 *              and must pc_bio_put() it.
 * @bi_private: for the submitter.
 * @bi_next:    plug/engine queue link, private to the block layer.
 */
struct pc_bio {
	struct pc_block_device *bi_bdev;
	pc_sector_t bi_sector;
	uint32_t bi_size;
	unsigned bi_opf;
	int bi_status;
	unsigned short bi_vcnt;
	unsigned short bi_max_vecs;
	struct pc_bio_vec *bi_io_vec;
	pc_bio_end_io_t bi_end_io;
	void *bi_private;
	struct pc_bio *bi_next;
	struct pc_bio_vec bi_inline_vecs[];
};

/* Allocate a bio for up to @nr_vecs segments (clamped to PC_BIO_MAX_VECS).
 * NULL when malloc fails (out of memory): every caller must handle that
 * (fail with -ENOMEM, or fall back to smaller I/O). One malloc: the struct and its inline vecs. Every field is zero except
 * bi_bdev = @bdev, bi_io_vec = bi_inline_vecs and bi_max_vecs; the caller
 * sets bi_sector, bi_opf, bi_end_io, bi_private and adds pages. @nr_vecs may
 * be 0 (a FLUSH bio). The caller owns the bio until pc_submit_bio(). No lock. */
PC_EXPORT struct pc_bio *pc_bio_alloc(struct pc_block_device *bdev, unsigned nr_vecs);
/* Free a bio from pc_bio_alloc() (NULL is ignored). Does not touch its
 * pages: page references and locks are the owner's business. Callable from
 * bi_end_io. Never blocks. */
PC_EXPORT void pc_bio_put(struct pc_bio *bio);
/*
 * Append a segment. Returns @len if added, 0 if the bio is full (caller
 * submits it and starts another). @off + @len <= PC_PAGE_SIZE; @len a
 * multiple of 512 (the device's logical block size when direct).
 * A segment that continues the previous one in the same page is merged into
 * it. The bio takes no page reference. Invalid arguments (NULL bio or page,
 * @len 0, outside the page, bi_size overflowing 32 bits) also return 0: a
 * caller that gets 0 on an empty bio must fail rather than retry.
 * Not thread-safe on one bio (the owner builds it alone); never blocks.
 */
PC_EXPORT unsigned pc_bio_add_page(struct pc_bio *bio, struct pc_page *page, unsigned len, unsigned off);
/*
 * Hand the bio to the engine (or the current plug). Never blocks for I/O
 * completion, may block briefly when the engine queue is full (never on an
 * engine thread, i.e. from a bi_end_io: there the bio is queued instead).
 * bi_status is cleared first. Checked before any I/O, failures completing
 * the bio at once on the calling thread (bi_end_io runs before this returns):
 *   -EIO     READ/WRITE with bi_size 0, or reaching past bd_size;
 *   -EROFS   WRITE or FLUSH on a read-only device;
 *   -EINVAL  no bi_bdev, bad opcode, segments not matching bi_size, a
 *            segment NULL/outside its page/not a multiple of 512 bytes, or
 *            (O_DIRECT) position or size not a multiple of
 *            bd_logical_block_size;
 *   injected faults (pc_bdev_inject_fault) with their error.
 * Host errors arrive later as bi_status (-EIO, -ENOSPC, ...). PC_REQ_FUA
 * makes a write durable before completion, PC_REQ_PREFLUSH flushes the host
 * file before the write; both are ignored on reads. The bio is owned by the
 * block layer until bi_end_io runs. No lock may be held that bi_end_io takes.
 */
PC_EXPORT void pc_submit_bio(struct pc_bio *bio);
/* Submit and wait; returns bi_status. Caller still owns and puts the bio.
 * bi_end_io and bi_private are borrowed during the call and restored before
 * return. Dispatches the calling thread's plug first, then bypasses it (so
 * waiting inside a plug cannot deadlock). Sleeps: no page lock or spinning
 * lock the completion path needs may be held, and never call it from a
 * bi_end_io (an engine thread would wait for itself). */
PC_EXPORT int pc_submit_bio_wait(struct pc_bio *bio);

/*
 * pc_submit_bio_direct - do @bio on the CALLING thread (preadv/pwritev on
 * the host), bypassing the engine (a user device has no host file: there it
 * is pc_submit_bio_wait, which sleeps until the device completes it): for a submitter that would only sleep
 * until it completes (the last bio of a synchronous direct I/O), this saves
 * the hand-off to an engine thread and back (two context switches, ~15 us
 * per request on a VM). Same checks, fault injection and statistics as
 * pc_submit_bio; bi_end_io is NOT called. Returns bi_status (also stored in
 * the bio); the caller still owns and puts the bio. Sleeps in the host
 * syscall; no lock the I/O path needs may be held. Does not touch the
 * thread's plug (dispatch it first if bios in it must go before).
 */
PC_EXPORT int pc_submit_bio_direct(struct pc_bio *bio);

/* Plugging: bios submitted by this thread between start and finish are
 * queued and sent to the engine together at finish (or when 32 are queued).
 * The plug is per thread (like the kernel's current->plug), usually on the
 * caller's stack, and must be finished by the thread that started it before
 * the plug's storage goes away. Plugs nest: only the outermost one collects,
 * inner start/finish pairs do nothing. A plug may hold bios of several
 * devices; each device gets its own batch. Unlike the kernel we cannot flush
 * the plug when the thread sleeps: a plugging thread that is about to wait
 * for I/O it submitted must call pc_blk_flush_plug() (pc_submit_bio_wait
 * does it itself). */
#define PC_BLK_PLUG_MAX 32
struct pc_blk_plug {
	struct pc_bio *head, *tail;
	unsigned count;
	struct pc_blk_plug *prev;	/* unused (kept for layout); always NULL */
};
/* Start plugging on the calling thread (no-op apart from init if a plug is
 * already active). Never blocks. */
PC_EXPORT void pc_blk_start_plug(struct pc_blk_plug *plug);
/* Dispatch what @plug collected and stop plugging (no-op for a nested
 * plug). May block briefly like pc_submit_bio. */
PC_EXPORT void pc_blk_finish_plug(struct pc_blk_plug *plug);
/* Dispatch the calling thread's active plug now, keeping it active. Call
 * before sleeping on I/O submitted under a plug. No-op without a plug. */
PC_EXPORT void pc_blk_flush_plug(void);

/* Make completed writes durable (fdatasync of the image/device, or a user
 * device's ops->flush when it has one), on the calling thread. Subject to
 * fault injection of PC_REQ_OP_FLUSH (the fault error is returned, nothing
 * is synced); counted in flushes (and errors on failure). Returns 0, -EROFS
 * on a read-only device (nothing was written through it), or the -errno of
 * fdatasync or ops->flush (-EIO: written data may be lost).
 * Sleeps; any thread; no lock needed. */
PC_EXPORT int pc_blkdev_issue_flush(struct pc_block_device *bdev);

/*
 * Fault injection (the test_io.c idea): make the @nth (1-based, counted from
 * now) bio of @op and the next @count-1 of them fail with @err (negative
 * errno) without touching the device. @nth = 0 disarms.
 * Bios are counted when they pass pc_submit_bio's checks (a bio failed
 * for its range is not counted); the failed ones complete on the submitter.
 * @count 0 is taken as 1, @err >= 0 as -EIO; an unknown @op is ignored.
 * After the last fault the op is disarmed. Re-arming replaces the previous
 * setting. Thread-safe (bd_fault_lock); costs one atomic load per bio when
 * nothing is armed.
 */
PC_EXPORT void pc_bdev_inject_fault(struct pc_block_device *bdev, enum pc_req_op op, unsigned long nth,
				    unsigned long count, int err);

/* Statistics for --stats. Monotonic counters of completed bios:
 * read/write_bios and _bytes count successful READ/WRITE bios; flushes counts
 * FLUSH bios and pc_blkdev_issue_flush calls (successful or not); errors
 * counts every bio or flush completed with an error, including those failed
 * at submission and injected faults; injected_faults counts the latter. */
struct pc_bdev_stats {
	uint64_t read_bios, read_bytes;
	uint64_t write_bios, write_bytes;
	uint64_t flushes;
	uint64_t errors;
	uint64_t injected_faults;
};

/* Options for pc_bdev_open. */
enum {
	PC_BDEV_RDONLY = 1 << 0,
	PC_BDEV_NO_DIRECT = 1 << 1,	/* never use O_DIRECT */
	PC_BDEV_EXCL = 1 << 2,		/* lock the image for the open's life (see pc_bdev_open) */
	/* Testing: behave as if the host refused O_DIRECT at open (EINVAL), so
	 * the buffered fallback runs on every kernel. */
	PC_BDEV_TEST_REFUSE_DIRECT = 1 << 3,
};

/*
 * struct pc_block_device
 * @bd_path:      the path opened (owned).
 * @bd_fd:        host file descriptor (-1 for a user device).
 * @bd_size:      device size in bytes (a multiple of 512; the tail is ignored).
 * @bd_logical_block_size: smallest I/O unit and alignment, bytes (512 or 4096).
 * @bd_direct:    true if opened with O_DIRECT, and for every user device
 *                (pc_bdev_create): bios are then aligned to
 *                bd_logical_block_size.
 * @bd_direct_note: why O_DIRECT is off, for --stats ("" if on).
 * @bd_readonly:  writes fail with -EROFS.
 * @bd_engine_name: "uring" or "pread"; a user device's ops->name.
 * @bd_block_size: block size of @bd_mapping's buffers (bytes; set by
 *                pc_set_blocksize, default 1024).
 * @bd_mapping:   the block device's own address_space (the buffer cache),
 *                initialised by pc_bdev_attach_cache() (buffer layer).
 * @bd_bdi:       the flusher that writes this device's dirty pages, and
 *                those of every file of the filesystem on it.
 */
struct pc_block_device {
	char *bd_path;
	int bd_fd;
	uint64_t bd_size;
	unsigned bd_logical_block_size;
	bool bd_direct;
	bool bd_readonly;
	char bd_direct_note[96];
	const char *bd_engine_name;
	unsigned bd_block_size;
	struct pc_address_space bd_mapping;
	bool bd_mapping_ready;
	struct pc_backing_dev bd_bdi;
	struct pc_engine *bd_engine;
	/* fault injection and statistics: private to src/block */
	pthread_mutex_t bd_fault_lock;
	struct { unsigned long nth, count; int err; } bd_fault[3];
	_Atomic uint64_t bd_stat[7];
	/* private to src/block (added after the public layout) */
	_Atomic long bd_inflight;	/* bios submitted, end_io not yet returned */
	_Atomic unsigned bd_fault_armed; /* bit per op: bd_fault[op] armed */
	struct pc_log_writes *bd_log;	/* write log (testing), or NULL */
	/* user devices (pc_bdev_create), added at the end */
	const struct pc_blockdev_operations *bd_ops; /* NULL for pc_bdev_open's devices */
	void *bd_private;		/* the @private of pc_bdev_create, for @bd_ops */
};

/*
 * pc_bdev_open - open @path (image file or block device).
 * @engine: PC_ENGINE_AUTO tries io_uring then falls back to pread threads.
 *          With AUTO, the environment variable PC_ENGINE=pread|uring picks
 *          one (uring still falls back to pread if unavailable).
 * @flags:  PC_BDEV_*.
 * Returns 0 and *@out, or -errno: -ENOENT/-EACCES from open, -EINVAL if
 * the size is under 1 KiB or @engine was forced and is unavailable
 * (-EOPNOTSUPP for uring unavailable). The caller closes with
 * pc_bdev_close() after all I/O has completed.
 * Also -EINVAL for a path that is neither a regular file nor a block
 * device, -ENOMEM, or -errno of thread creation.
 *
 * O_DIRECT is used unless PC_BDEV_NO_DIRECT; when the host refuses it (open
 * or a probe read fails with EINVAL, or statx reports no direct I/O) the
 * device silently uses buffered host I/O and bd_direct_note says why. The
 * logical block size is BLKSSZGET for a block device, statx's
 * dio_offset_align (or a 512-byte probe read) for a file, 512 when buffered.
 * The pread engine uses 4 threads (PC_PREAD_THREADS=1..64 overrides).
 * Test hook: the flag PC_BDEV_TEST_REFUSE_DIRECT makes the O_DIRECT open
 * behave as if the host had refused it (EINVAL).
 * bd_mapping and bd_bdi are left zeroed (bd_mapping_ready false) for the
 * buffer and writeback layers. Sleeps; any thread.
 *
 * PC_BDEV_EXCL (what a mount uses): the open file description gets an OFD
 * lock on the whole file (fcntl F_OFD_SETLK) held until pc_bdev_close:
 * F_WRLCK when writable, F_RDLCK with PC_BDEV_RDONLY, so one writer or many
 * readers, in this process or any other, never a writer beside anything
 * (OFD locks conflict between two opens in one process too). A writable
 * block device is also opened O_EXCL, which the kernel refuses while it has
 * the device mounted or another program holds it exclusively. Conflicts
 * return -EBUSY at once (no waiting); pc_bdev_describe_holder() names the
 * holder. Advisory: a program that takes no lock is not kept out. Where
 * the host filesystem has no locks (ENOLCK, EINVAL, EOPNOTSUPP from fcntl)
 * the open goes on without one.
 */
PC_EXPORT int pc_bdev_open(const char *path, enum pc_engine_kind engine, unsigned flags,
			   struct pc_block_device **out);
/*
 * pc_bdev_close - wait until no bio of @bdev is in flight (bios sitting in a
 * plug that is never finished would make this wait forever), stop the
 * engine's threads (a user device: call ops->destroy), close the host file
 * and free @bdev (NULL is ignored). A device lent to a mount
 * (pc_mount_opts.bdev) is closed only after pc_umount.
 * Does not sync: call pc_blkdev_issue_flush first for durability. bd_mapping
 * and bd_bdi must already have been torn down by their layers. Must not be
 * called from a bi_end_io or with I/O still being submitted.
 */
PC_EXPORT void pc_bdev_close(struct pc_block_device *bdev);
/*
 * pc_bdev_drain - wait until no bio of @bdev is in flight: every bi_end_io
 * of a bio submitted so far has returned (bios sitting in a plug that is
 * never finished would make this wait forever). What pc_bdev_close does
 * first; a filesystem that borrowed a device (pc_mount_opts.bdev) calls it
 * before it frees what its bi_end_io callbacks touch (the page cache), since
 * the device outlives the mount. Polls (200 us sleeps). Must not be called
 * from a bi_end_io. NULL is ignored. Follows Linux's blk_mq_freeze_queue
 * (the wait part).
 */
PC_EXPORT void pc_bdev_drain(struct pc_block_device *bdev);
/*
 * pc_bdev_describe_holder - after pc_bdev_open(@path, PC_BDEV_EXCL...)
 * returned -EBUSY, name who holds @path: "in use by process PID (COMMAND),
 * which has it open read-write" (found through the OFD lock shown in
 * /proc/PID/fdinfo, matched by the file's device and inode), or "in use by
 * another process" when it cannot tell (another user's process, a lock of
 * another kind, a block device held O_EXCL without a lock). Writes a
 * NUL-terminated line of at most @len bytes into @buf. Returns the holder's
 * pid, or 0 when it is unknown. Reads /proc; racy by nature (the holder may
 * be gone; a killed holder's lock may outlive it briefly while the kernel
 * tears down its io_uring). Any thread.
 */
PC_EXPORT pid_t pc_bdev_describe_holder(const char *path, char *buf, size_t len);
/* Copy the counters into *@st (lock-free; each counter is exact, the set is
 * not a snapshot while I/O runs). */
PC_EXPORT void pc_bdev_get_stats(struct pc_block_device *bdev, struct pc_bdev_stats *st);

/*
 * User block devices
 * ==================
 * struct pc_blockdev_operations lets a program put the buffer cache, mpage
 * and direct I/O (and so a filesystem mounted with pc_mount_opts.bdev) on
 * its own storage: a network block device, an SPDK queue, a RAM disk in a
 * test. pc_bdev_open's image files and raw devices (the uring and pread
 * engines) are one implementation of the same contract, inside the library.
 *
 * The block layer keeps doing for a user device everything it does for its
 * own: pc_submit_bio validates each bio (range, read-only, segments,
 * alignment to bd_logical_block_size), applies pc_bdev_inject_fault and the
 * write log, plugs, counts statistics, and fails bad bios on the submitter;
 * only valid bios reach @submit.
 *
 * Locking table (also in docs/locking.md):
 *   member   called from                 may block         locks held
 *   submit   any submitting thread, also  briefly, never    none
 *            inside a bi_end_io (so from   for the I/O it
 *            a completion the device       was given
 *            reported itself)
 *   flush    pc_blkdev_issue_flush         yes              none
 *            (fsync, sync_fs, umount)
 *   destroy  pc_bdev_close, once, after    yes              none; no bio
 *            every bio completed                            in flight
 *
 * @name:    shown as bd_engine_name (pc_mount_get_stats' engine); NULL:
 *           "user".
 * @submit:  required. @list is a NULL-terminated list of valid bios
 *           linked through bi_next, all of @bdev, in submission order (one
 *           plug batch, or a single bio). From now on the device owns the
 *           bios and bi_next, and must call pc_bio_endio() exactly once per
 *           bio: synchronously from inside @submit, or later from any
 *           thread it likes (its own completion thread, a poller), with no
 *           lock held that @submit takes (bi_end_io may submit new bios,
 *           re-entering @submit). Operations (PC_BIO_OP): PC_REQ_OP_READ
 *           fills the segments from device bytes bi_sector*512 on;
 *           PC_REQ_OP_WRITE stores them; PC_REQ_OP_FLUSH (no data) makes
 *           every write completed before it durable. PC_REQ_PREFLUSH on a
 *           write: flush first; PC_REQ_FUA: the write is durable when it
 *           completes. Errors are reported as the status (-EIO, -ENOSPC,
 *           ...), never by returning: @submit returns nothing. A device
 *           without a volatile cache may ignore FLUSH/FUA/PREFLUSH.
 *           Segment data is at bv_page->virtual + bv_offset, bv_len bytes.
 * @flush:   optional: make every completed write durable, on the calling
 *           thread; 0 or -errno (-EIO: data may be lost). NULL: flushes
 *           succeed at once (a device with nothing volatile).
 * @destroy: optional: release what @private holds. After it returns the
 *           block layer frees @bdev.
 *
 * Growth: new members are only ever added at the end; a zeroed member
 * means "not provided" (the default above).
 */
struct pc_blockdev_operations {
	const char *name;
	void (*submit)(struct pc_block_device *bdev, struct pc_bio *list);
	int (*flush)(struct pc_block_device *bdev);
	void (*destroy)(struct pc_block_device *bdev);
};

/*
 * pc_bdev_create - make a block device whose I/O goes to @ops.
 * @ops:     the operations (borrowed: must outlive the device); @ops->submit
 *           is required.
 * @private: stored in bd_private for @ops; owned by the caller (free it in
 *           @ops->destroy or after pc_bdev_close).
 * @name:    a name for messages and the buffer cache (copied to bd_path);
 *           NULL: "user".
 * @size:    device size in bytes, fixed for the device's life; rounded
 *           down to 512; at least 1 KiB.
 * @logical_block_size: bytes, a power of two from 512 to the page size:
 *           every bio the device receives is aligned to it in position and
 *           size (bd_direct is true), and direct I/O is aligned to it.
 * @flags:   PC_BDEV_RDONLY (writes and flushes fail with -EROFS before
 *           reaching @ops) or 0; other flags are -EINVAL.
 * Returns 0 and *@out, or -EINVAL (NULL @ops/@submit/@out, bad size or
 * block size, unknown flag) or -ENOMEM. The caller closes it with
 * pc_bdev_close() (which waits for in-flight bios, calls @ops->destroy and
 * frees it). Follows Linux's blk_mq_alloc_disk + set_capacity. Any thread.
 */
PC_EXPORT int pc_bdev_create(const struct pc_blockdev_operations *ops, void *private,
			     const char *name, uint64_t size, unsigned logical_block_size,
			     unsigned flags, struct pc_block_device **out);

/*
 * pc_bio_endio - a user device (struct pc_blockdev_operations.submit)
 * completes @bio with @status (0 or a negative errno): statistics and the
 * write log are updated, bi_end_io runs on the calling thread, then the bio
 * stops counting as in flight. Exactly once per bio handed to @submit; the
 * bio must not be touched afterwards (bi_end_io usually frees it). Call
 * with no lock held that @submit or a bi_end_io takes. Follows Linux's
 * bio_endio.
 */
PC_EXPORT void pc_bio_endio(struct pc_bio *bio, int status);

/*
 * pc_bdev_fault_wrap - a fault-injecting device on top of @inner, built on
 * struct pc_blockdev_operations (for tests and pcfs --fault-write): every
 * bio is passed to @inner unchanged, except those pc_bdev_fault_arm
 * chose, which complete with the armed error without reaching @inner.
 * Size, logical block size, bd_direct (and its note), read-only state and
 * engine name are @inner's; flushes go to @inner. On success the wrapper
 * owns @inner: pc_bdev_close(*@out) closes @inner too (never close @inner
 * yourself then); on failure the caller keeps @inner. Returns 0, -EINVAL
 * (NULL argument), -ENOMEM.
 */
PC_EXPORT int pc_bdev_fault_wrap(struct pc_block_device *inner, struct pc_block_device **out);
/*
 * pc_bdev_fault_arm - on a device from pc_bdev_fault_wrap, make the @nth
 * (1-based, counted from now) bio of @op (PC_REQ_OP_READ, _WRITE or
 * _FLUSH bios; pc_blkdev_issue_flush calls count as FLUSH too) and the
 * next @count-1 ones fail with @err. @nth 0 disarms; @count 0 is taken as
 * 1, @err >= 0 as -EIO. Re-arming replaces the previous setting; after the
 * last fault the op is disarmed. Failed bios complete on the submitting
 * thread and count in the wrapper's errors statistic. Returns 0, -EINVAL
 * (not a fault wrapper, unknown @op). Thread-safe.
 */
PC_EXPORT int pc_bdev_fault_arm(struct pc_block_device *wrap, enum pc_req_op op, unsigned long nth,
				unsigned long count, int err);

/*
 * Write log, for crash-simulation tests (the shape of Linux's dm-log-writes).
 *
 * pc_bdev_log_writes_start - from now on, append to the file @path
 * (created or truncated) every write @bdev completes, with its sector and
 * data, and every flush: a FLUSH_ISSUE entry when it is handed to the
 * device, a FLUSH_DONE entry when it completed. A flush makes durable only
 * the writes logged before its FLUSH_ISSUE; a PC_REQ_FUA write is durable
 * when logged. Reads are not logged. Format: src/block/log_writes.c and
 * tests/crash/replay.py, which rebuilds from the log and a copy of the
 * device taken before the start every state a power cut could leave.
 * Call right after pc_bdev_open, before any write; the log is closed by
 * pc_bdev_close. Costs a lock and a host write per logged event.
 * Returns 0, -EINVAL (NULL argument), -EBUSY (a log is already attached),
 * -EROFS (read-only device: nothing to log), -ENOMEM, or the -errno of
 * open/write on @path. Not thread-safe against I/O on @bdev.
 * Test fault: PC_LOG_WRITES_SKIP_FLUSH=N in the environment at start makes
 * every Nth pc_blkdev_issue_flush return 0 without syncing or logging
 * anything (a library that "forgot" a flush), so tests can prove that the
 * replay checker catches such a bug.
 */
PC_EXPORT int pc_bdev_log_writes_start(struct pc_block_device *bdev, const char *path);
/* Append a MARK entry carrying @len bytes of @data (copied), ordered with
 * the I/O entries: the program says "what I was told so far" (e.g. an
 * fsync returned). Any thread. Returns 0, -ENODEV (no log attached),
 * -EINVAL (NULL @data with @len > 0, @len over 4 GiB), or the first error
 * met writing the log (sticky: the log is incomplete from there on). */
PC_EXPORT int pc_bdev_log_mark(struct pc_block_device *bdev, const void *data, size_t len);
/* 0 if every entry so far reached the log file, the first -errno
 * otherwise, -ENODEV without a log. Any thread. */
PC_EXPORT int pc_bdev_log_writes_error(struct pc_block_device *bdev);

#endif /* PAGECACHE_BLKDEV_H */
