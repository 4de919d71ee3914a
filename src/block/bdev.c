/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/block/bdev.c - opening and closing block devices: O_DIRECT detection,
 * logical block size, size, engine choice; flushes and statistics.
 *
 * Decisions taken at open, in order:
 *  1. open(O_DIRECT) unless PC_BDEV_NO_DIRECT; EINVAL (tmpfs on old
 *     kernels, some FUSE filesystems) → reopen buffered.
 *  2. Logical block size: BLKSSZGET (block device), statx STATX_DIOALIGN
 *     (file; an offset alignment of 0 means "no direct I/O here"), or a
 *     512-byte O_DIRECT probe read at offset 512 (512 if it works, else
 *     4096). Larger than a page → buffered (our bios are built from pages).
 *  3. A page-sized aligned O_DIRECT read at offset 0; EINVAL → buffered
 *     (O_DIRECT cleared with F_SETFL).
 *  4. Size: BLKGETSIZE64 or st_size, rounded down to 512; under 1 KiB is
 *     -EINVAL.
 *  5. Engine: io_uring unless asked for pread (argument or PC_ENGINE), with
 *     fallback to pread when io_uring is unavailable and the caller did not
 *     force it.
 *  With PC_BDEV_EXCL, a writable block device is opened O_EXCL (step 1) and,
 *  once the descriptor is final (after step 3), an OFD lock is taken on the
 *  whole file: F_WRLCK read-write, F_RDLCK read-only; -EBUSY on conflict.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* O_DIRECT, pwritev2, RWF_DSYNC, statx */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>

#include "pagecache/blkdev.h"
#include "engine.h"

/* Meson's config.h says whether engine_uring.c is built (liburing found);
 * a build without config.h (a one-line gcc build) is assumed to link
 * liburing. */
#if defined(__has_include)
#if __has_include("config.h")
#include "config.h"
#endif
#endif
#ifndef PC_HAVE_URING
#define PC_HAVE_URING 1
#endif

_Static_assert(sizeof(((struct pc_block_device *)0)->bd_stat) ==
	       PC_BLK_NR_STATS * sizeof(uint64_t), "bd_stat matches struct pc_bdev_stats");
_Static_assert(sizeof(struct pc_bdev_stats) == PC_BLK_NR_STATS * sizeof(uint64_t),
	       "struct pc_bdev_stats is the bd_stat counters in order");

#define NOTE_REFUSED "O_DIRECT refused by host filesystem (tmpfs?): buffered host I/O"

static void set_note(struct pc_block_device *bdev, const char *note)
{
	snprintf(bdev->bd_direct_note, sizeof(bdev->bd_direct_note), "%s", note);
}

/* O_DIRECT pread of @len bytes at @off into an aligned buffer: 0 if the
 * host accepted it (short reads included), else -errno. */
static int probe_read(int fd, size_t len, off_t off)
{
	void *buf = aligned_alloc(PC_PAGE_SIZE, PC_PAGE_SIZE);
	ssize_t n;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	do {
		n = pread(fd, buf, len, off);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		err = -errno;
	free(buf);
	return err;
}

/*
 * Direct I/O checks of steps 2 and 3. Returns the logical block size (> 0)
 * to keep O_DIRECT, 0 to fall back to buffered I/O (note set), or -errno.
 */
static int probe_direct(struct pc_block_device *bdev, bool is_blk)
{
	unsigned lbs = 0;
	int err;

	if (is_blk) {
		int ssz = 0;

		if (ioctl(bdev->bd_fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
			lbs = (unsigned)ssz;
	} else {
#ifdef STATX_DIOALIGN
		struct statx stx;

		if (statx(bdev->bd_fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
		    (stx.stx_mask & STATX_DIOALIGN)) {
			if (stx.stx_dio_offset_align == 0) {
				set_note(bdev, "host filesystem has no direct I/O for this file: "
					       "buffered host I/O");
				return 0;
			}
			if (stx.stx_dio_mem_align > PC_PAGE_SIZE) {
				set_note(bdev, "host direct I/O needs buffers aligned beyond a page: "
					       "buffered host I/O");
				return 0;
			}
			lbs = stx.stx_dio_offset_align;
		}
#endif
		if (!lbs) {
			err = probe_read(bdev->bd_fd, 512, 512);
			if (err == -ENOMEM)
				return err;
			lbs = err ? 4096 : 512;
		}
	}
	if (!lbs)
		lbs = 512;
	if (lbs < PC_SECTOR_SIZE || (lbs & (lbs - 1)) || lbs > PC_PAGE_SIZE) {
		snprintf(bdev->bd_direct_note, sizeof(bdev->bd_direct_note),
			 "host direct I/O block size %u unusable: buffered host I/O", lbs);
		return 0;
	}
	err = probe_read(bdev->bd_fd, PC_PAGE_SIZE, 0);
	if (err == -EINVAL) {
		set_note(bdev, NOTE_REFUSED);
		return 0;
	}
	if (err == -ENOMEM)
		return err;
	/* Other errors (a bad sector 0) are left for the real I/O to report. */
	return (int)lbs;
}

static int engine_start(struct pc_block_device *bdev, enum pc_engine_kind kind)
{
	enum pc_engine_kind want = kind;
	const char *env;
	int err;

	if (kind == PC_ENGINE_AUTO && (env = getenv("PC_ENGINE")) != NULL) {
		if (strcmp(env, "pread") == 0)
			want = PC_ENGINE_PREAD;
		else if (strcmp(env, "uring") == 0)
			want = PC_ENGINE_URING;
	}
	if (want != PC_ENGINE_PREAD) {
#if PC_HAVE_URING
		err = pc_engine_uring_ops.create(bdev, &bdev->bd_engine);
		if (!err) {
			bdev->bd_engine_name = pc_engine_uring_ops.name;
			return 0;
		}
#else
		err = -EOPNOTSUPP;	/* built without liburing */
#endif
		if (kind == PC_ENGINE_URING)
			return (err == -ENOMEM) ? err : -EOPNOTSUPP;
	}
	err = pc_engine_pread_ops.create(bdev, &bdev->bd_engine);
	if (err)
		return err;
	bdev->bd_engine_name = pc_engine_pread_ops.name;
	return 0;
}

/* The whole-file OFD lock of PC_BDEV_EXCL: 0, -EBUSY held by another open
 * (here or elsewhere), or -errno. Never waits. A host filesystem without
 * locks (ENOLCK: some network and FUSE filesystems; EINVAL: a kernel
 * before 3.15 without OFD locks) leaves the image unlocked, as e2fsprogs
 * works without them: 0. */
static int bdev_lock(int fd, bool rdonly)
{
	struct flock fl = {
		.l_type = rdonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,	/* to the end, however far the file grows */
	};

	while (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			return -EBUSY;
		if (errno == ENOLCK || errno == EINVAL || errno == EOPNOTSUPP)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/*
 * Find a process holding an OFD lock of @want ("WRITE", "READ" or NULL for
 * either) on the file @dev:@ino through /proc/PID/fdinfo/FD, whose "lock:"
 * lines list the locks owned by that open file ("OFDLCK ADVISORY WRITE -1
 * fe:00:1234 0 EOF": /proc/locks itself shows -1 as an OFD lock's pid).
 * Returns the pid and its lock type in @kind, or 0.
 */
static pid_t find_ofd_holder(dev_t dev, ino_t ino, char *kind, size_t kindlen)
{
	char key[64], path[300], line[256];
	struct dirent *pe, *fe;
	DIR *proc, *fds;
	pid_t found = 0;

	snprintf(key, sizeof(key), "%02x:%02x:%llu ", major(dev), minor(dev),
		 (unsigned long long)ino);
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!found && (pe = readdir(proc)) != NULL) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", pe->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while (!found && (fe = readdir(fds)) != NULL) {
			char fpath[600];
			FILE *f;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(fpath, sizeof(fpath), "/proc/%s/fdinfo/%s", pe->d_name, fe->d_name);
			f = fopen(fpath, "re");
			if (!f)
				continue;
			while (fgets(line, sizeof(line), f)) {
				char *t;

				if (strncmp(line, "lock:", 5) || !strstr(line, "OFDLCK") ||
				    !strstr(line, key))
					continue;
				t = strstr(line, "WRITE") ? "WRITE" : "READ";
				snprintf(kind, kindlen, "%s", t);
				found = (pid_t)atoi(pe->d_name);
				break;
			}
			fclose(f);
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

pid_t pc_bdev_describe_holder(const char *path, char *buf, size_t len)
{
	char kind[8] = "", comm[64] = "", cpath[64];
	struct stat st;
	pid_t pid = 0;
	FILE *f;

	if (!buf || !len)
		return 0;
	if (path && stat(path, &st) == 0)
		pid = find_ofd_holder(st.st_dev, st.st_ino, kind, sizeof(kind));
	if (!pid) {
		snprintf(buf, len, "in use by another process");
		return 0;
	}
	snprintf(cpath, sizeof(cpath), "/proc/%d/comm", (int)pid);
	f = fopen(cpath, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(buf, len, "in use by process %d (%s)%s, which has it open %s", (int)pid,
		 comm[0] ? comm : "?", pid == getpid() ? " (this process)" : "",
		 strcmp(kind, "WRITE") ? "read-only" : "read-write");
	return pid;
}

int pc_bdev_open(const char *path, enum pc_engine_kind engine, unsigned flags,
		 struct pc_block_device **out)
{
	struct pc_block_device *bdev;
	struct stat st;
	uint64_t size;
	bool direct = !(flags & PC_BDEV_NO_DIRECT);
	int oflags, lbs, err;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	if (engine != PC_ENGINE_AUTO && engine != PC_ENGINE_URING && engine != PC_ENGINE_PREAD)
		return -EINVAL;

	bdev = calloc(1, sizeof(*bdev));
	if (!bdev)
		return -ENOMEM;
	bdev->bd_fd = -1;
	bdev->bd_path = strdup(path);
	if (!bdev->bd_path) {
		err = -ENOMEM;
		goto out_free;
	}
	bdev->bd_readonly = flags & PC_BDEV_RDONLY;
	oflags = (bdev->bd_readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	/* O_EXCL on a block device: refused (EBUSY) while the kernel has it
	 * mounted or another program holds it exclusively. */
	if ((flags & PC_BDEV_EXCL) && !bdev->bd_readonly && stat(path, &st) == 0 &&
	    S_ISBLK(st.st_mode))
		oflags |= O_EXCL;

	if (direct) {
		if (flags & PC_BDEV_TEST_REFUSE_DIRECT) {
			errno = EINVAL;
			bdev->bd_fd = -1;
		} else {
			bdev->bd_fd = open(path, oflags | O_DIRECT);
		}
		if (bdev->bd_fd < 0) {
			if (errno != EINVAL) {
				err = -errno;
				goto out_free;
			}
			direct = false;
			set_note(bdev, NOTE_REFUSED);
		}
	} else {
		set_note(bdev, "O_DIRECT not requested (PC_BDEV_NO_DIRECT): buffered host I/O");
	}
	if (bdev->bd_fd < 0) {
		bdev->bd_fd = open(path, oflags);
		if (bdev->bd_fd < 0) {
			err = -errno;
			goto out_free;
		}
	}

	if (fstat(bdev->bd_fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(bdev->bd_fd, BLKGETSIZE64, &size) < 0) {
			err = -errno;
			goto out_close;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		err = -EINVAL;
		goto out_close;
	}
	size &= ~(uint64_t)(PC_SECTOR_SIZE - 1);
	if (size < 1024) {
		err = -EINVAL;
		goto out_close;
	}
	bdev->bd_size = size;

	bdev->bd_logical_block_size = PC_SECTOR_SIZE;
	if (direct) {
		lbs = probe_direct(bdev, S_ISBLK(st.st_mode));
		if (lbs < 0) {
			err = lbs;
			goto out_close;
		}
		if (lbs == 0) {
			int fl = fcntl(bdev->bd_fd, F_GETFL);

			direct = false;
			if (fl < 0 || fcntl(bdev->bd_fd, F_SETFL, fl & ~O_DIRECT) < 0) {
				/* Cannot clear it in place: reopen buffered (the
				 * old descriptor first: O_EXCL). */
				close(bdev->bd_fd);
				bdev->bd_fd = open(path, oflags);
				if (bdev->bd_fd < 0) {
					err = -errno;
					goto out_free;
				}
			}
		} else {
			bdev->bd_logical_block_size = (unsigned)lbs;
		}
	}
	bdev->bd_direct = direct;
	if (direct)
		bdev->bd_direct_note[0] = '\0';
	if (flags & PC_BDEV_EXCL) {
		err = bdev_lock(bdev->bd_fd, bdev->bd_readonly);
		if (err)
			goto out_close;
	}
	bdev->bd_block_size = 1024;
	bdev->bd_mapping_ready = false;

	err = pthread_mutex_init(&bdev->bd_fault_lock, NULL);
	if (err) {
		err = -err;
		goto out_close;
	}
	err = engine_start(bdev, engine);
	if (err)
		goto out_mutex;
	*out = bdev;
	return 0;

out_mutex:
	pthread_mutex_destroy(&bdev->bd_fault_lock);
out_close:
	close(bdev->bd_fd);
out_free:
	free(bdev->bd_path);
	free(bdev);
	return err;
}

void pc_bdev_drain(struct pc_block_device *bdev)
{
	const struct timespec pause = { .tv_sec = 0, .tv_nsec = 200 * 1000 };

	if (!bdev)
		return;
	/* bios still completing (or submitted by a bi_end_io) */
	while (atomic_load_explicit(&bdev->bd_inflight, memory_order_acquire) > 0)
		nanosleep(&pause, NULL);
}

void pc_bdev_close(struct pc_block_device *bdev)
{
	if (!bdev)
		return;
	pc_bdev_drain(bdev);
	bdev->bd_engine->ops->destroy(bdev->bd_engine);	/* user: ops->destroy */
	pc_blk_log_close(bdev);
	if (bdev->bd_fd >= 0)
		close(bdev->bd_fd);
	pthread_mutex_destroy(&bdev->bd_fault_lock);
	free(bdev->bd_path);
	free(bdev);
}

void pc_bdev_get_stats(struct pc_block_device *bdev, struct pc_bdev_stats *st)
{
#define LOAD(i) atomic_load_explicit(&bdev->bd_stat[i], memory_order_relaxed)
	st->read_bios = LOAD(PC_BLK_STAT_READ_BIOS);
	st->read_bytes = LOAD(PC_BLK_STAT_READ_BYTES);
	st->write_bios = LOAD(PC_BLK_STAT_WRITE_BIOS);
	st->write_bytes = LOAD(PC_BLK_STAT_WRITE_BYTES);
	st->flushes = LOAD(PC_BLK_STAT_FLUSHES);
	st->errors = LOAD(PC_BLK_STAT_ERRORS);
	st->injected_faults = LOAD(PC_BLK_STAT_INJECTED);
#undef LOAD
}

int pc_blkdev_issue_flush(struct pc_block_device *bdev)
{
	uint64_t log_id = 0;
	bool logged = false;
	int err;

	if (!bdev)
		return -EINVAL;
	if (bdev->bd_readonly) {
		err = -EROFS;
	} else {
		err = pc_blk_flush_fault(bdev);
		if (!err && pc_unlikely(bdev->bd_log)) {
			logged = pc_blk_log_flush_issue(bdev, &log_id);
			if (!logged)
				return 0;	/* test fault: flush "forgotten" */
		}
		if (!err && bdev->bd_ops) {
			if (bdev->bd_ops->flush)
				err = bdev->bd_ops->flush(bdev);
		} else {
			while (!err && fdatasync(bdev->bd_fd) < 0) {
				if (errno != EINTR)
					err = -errno;
			}
		}
		if (logged)
			pc_blk_log_flush_done(bdev, log_id, err);
	}
	pc_blk_stat_add(bdev, PC_BLK_STAT_FLUSHES, 1);
	if (err)
		pc_blk_stat_add(bdev, PC_BLK_STAT_ERRORS, 1);
	return err;
}
