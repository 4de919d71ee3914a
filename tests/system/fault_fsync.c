/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/system/fault_fsync.c - writeback errors reach fsync, once per open
 * file (errseq semantics), through the public API only.
 *
 * Usage: fault_fsync IMAGE [ENGINE]
 *   IMAGE   an ext2/3/4 image (it gets a file /fault_fsync.dat)
 *   ENGINE  0 auto (default), 1 io_uring, 2 pread threads
 *
 * Scenario (each step is a check; every failure is printed):
 *   1. fd1 creates the file, writes 64 KiB, fsync -> 0 (blocks allocated,
 *      everything clean). fd2 opens it (before any error).
 *   2. fd1 overwrites the 64 KiB in place; the next write bio is made to
 *      fail (the image is opened with pc_bdev_open, wrapped with
 *      pc_bdev_fault_wrap and mounted through pc_mount_opts.bdev;
 *      pc_bdev_fault_arm(wrap, PC_REQ_OP_WRITE, 1, 1, -EIO) arms it).
 *      fsync(fd1) -> -EIO, fsync(fd1) again -> 0 (reported once),
 *      fsync(fd2) -> -EIO (opened before the error: sees it too), then 0.
 *      fd3 opened now (the error was seen already) -> fsync 0.
 *   3. A second error after all that: each of fd1, fd2, fd3 gets -EIO
 *      once, then 0.
 *   4. A write that succeeds: fsync 0 on every descriptor and the data
 *      reads back.
 *   5. pc_sync -> -EIO: the mount's own cursor (syncfs semantics) sees
 *      the errors once too, although fsync reported them; pc_sync again
 *      -> 0, pc_umount -> 0 (nothing left unreported, nothing failing).
 * Exit status: 0 all checks passed, 1 some check failed, 2 setup failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagecache/pagecache.h>
#include <pagecache/blkdev.h>

#define LEN (64 * 1024)

static int failures;
static int checks;

#define CHECK_EQ(what, got, want)                                                          \
	do {                                                                               \
		long long g_ = (long long)(got), w_ = (long long)(want);                  \
		checks++;                                                                  \
		if (g_ != w_) {                                                            \
			failures++;                                                        \
			printf("FAIL %s:%d: %s = %lld (%s), expected %lld (%s)\n", __FILE__, \
			       __LINE__, what, g_, g_ < 0 ? strerror((int)-g_) : "-", w_,   \
			       w_ < 0 ? strerror((int)-w_) : "-");                         \
		} else {                                                                   \
			printf("ok   %s = %lld\n", what, g_);                                  \
		}                                                                          \
	} while (0)

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)((i * 131u + seed * 7919u) >> 3);
}

int main(int argc, char **argv)
{
	static unsigned char buf[LEN], back[LEN];
	struct pc_mount_opts opts;
	static const enum pc_engine_kind kinds[] = { PC_ENGINE_AUTO, PC_ENGINE_URING, PC_ENGINE_PREAD };
	struct pc_block_device *inner, *bdev;
	struct pc_mount *m;
	const char *path = "/fault_fsync.dat";
	int fd1, fd2, fd3, err, engine;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s IMAGE [ENGINE]\n", argv[0]);
		return 2;
	}
	memset(&opts, 0, sizeof(opts));
	opts.cache_size = 16u << 20;
	engine = argc == 3 ? atoi(argv[2]) : 0;
	if (engine < 0 || engine > 2)
		return 2;
	opts.engine = (enum pc_engine_kind)engine;
	err = pc_bdev_open(argv[1], kinds[opts.engine], PC_BDEV_EXCL, &inner);
	if (!err) {
		err = pc_bdev_fault_wrap(inner, &bdev);
		if (err)
			pc_bdev_close(inner);
	}
	if (err) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(-err));
		return 2;
	}
	opts.bdev = bdev;	/* borrowed by the mount: closed after pc_umount */
	err = pc_mount("ext4", argv[1], &opts, &m);
	if (err) {
		fprintf(stderr, "pc_mount %s: %s (%s)\n", argv[1], strerror(-err), pc_mount_error());
		pc_bdev_close(bdev);
		return 2;
	}

	/* 1. a clean, allocated file; fd2 opened before any error */
	fd1 = pc_open(m, path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (fd1 < 0) {
		fprintf(stderr, "pc_open %s: %s\n", path, strerror(-fd1));
		pc_umount(m);
		pc_bdev_close(bdev);
		return 2;
	}
	fill(buf, LEN, 1);
	CHECK_EQ("pwrite(fd1, A)", pc_pwrite(fd1, buf, LEN, 0), LEN);
	CHECK_EQ("fsync(fd1) before any fault", pc_fsync(fd1), 0);
	fd2 = pc_open(m, path, O_RDWR, 0);
	CHECK_EQ("open fd2 >= 0", fd2 >= 0, 1);

	/* 2. first error */
	fill(buf, LEN, 2);
	CHECK_EQ("pwrite(fd1, B)", pc_pwrite(fd1, buf, LEN, 0), LEN);
	CHECK_EQ("fault_arm(write 1, 1)", pc_bdev_fault_arm(bdev, PC_REQ_OP_WRITE, 1, 1, -EIO), 0);
	CHECK_EQ("fsync(fd1) after the fault", pc_fsync(fd1), -EIO);
	CHECK_EQ("fsync(fd1) again (reported once)", pc_fsync(fd1), 0);
	CHECK_EQ("fsync(fd2) opened before the error", pc_fsync(fd2), -EIO);
	CHECK_EQ("fsync(fd2) again", pc_fsync(fd2), 0);
	fd3 = pc_open(m, path, O_RDWR, 0);
	CHECK_EQ("open fd3 >= 0", fd3 >= 0, 1);
	CHECK_EQ("fsync(fd3) opened after the error was seen", pc_fsync(fd3), 0);

	/* 3. second error: everyone sees it once */
	fill(buf, LEN, 3);
	CHECK_EQ("pwrite(fd2, C)", pc_pwrite(fd2, buf, LEN, 0), LEN);
	CHECK_EQ("fault_arm(write 1, 1) again", pc_bdev_fault_arm(bdev, PC_REQ_OP_WRITE, 1, 1, -EIO), 0);
	CHECK_EQ("fsync(fd3) after the second fault", pc_fsync(fd3), -EIO);
	CHECK_EQ("fsync(fd3) again", pc_fsync(fd3), 0);
	CHECK_EQ("fsync(fd1) after the second fault", pc_fsync(fd1), -EIO);
	CHECK_EQ("fsync(fd1) again", pc_fsync(fd1), 0);
	CHECK_EQ("fdatasync(fd2) after the second fault", pc_fdatasync(fd2), -EIO);
	CHECK_EQ("fdatasync(fd2) again", pc_fdatasync(fd2), 0);

	/* 4. a successful write is durable and reads back */
	fill(buf, LEN, 4);
	CHECK_EQ("pwrite(fd1, D)", pc_pwrite(fd1, buf, LEN, 0), LEN);
	CHECK_EQ("fsync(fd1) without a fault", pc_fsync(fd1), 0);
	CHECK_EQ("fsync(fd2) without a fault", pc_fsync(fd2), 0);
	CHECK_EQ("fsync(fd3) without a fault", pc_fsync(fd3), 0);
	memset(back, 0, LEN);
	CHECK_EQ("pread(fd3)", pc_pread(fd3, back, LEN, 0), LEN);
	CHECK_EQ("data D reads back", memcmp(back, buf, LEN) == 0, 1);

	CHECK_EQ("close(fd1)", pc_close(fd1), 0);
	if (fd2 >= 0)
		CHECK_EQ("close(fd2)", pc_close(fd2), 0);
	if (fd3 >= 0)
		CHECK_EQ("close(fd3)", pc_close(fd3), 0);
	/* 5. syncfs semantics: the mount has its own cursor, so the errors
	 * fsync reported are reported once more, once, to pc_sync; then
	 * nothing is left for pc_umount. */
	CHECK_EQ("sync after the faults", pc_sync(m), -EIO);
	CHECK_EQ("sync again", pc_sync(m), 0);
	CHECK_EQ("umount", pc_umount(m), 0);
	pc_bdev_close(bdev);	/* closes the inner device too */

	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
