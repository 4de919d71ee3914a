// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/snap_latency.c - the cost of taking a snapshot with data still
 * dirty in the page cache, through the public API only (bench/ceph_bench.sh
 * runs it for objfs; docs/benchmarks.md).
 *
 * Usage: snap_latency [--cache-size=MIB] [--snapdir=DIR] FSTYPE SOURCE MIB NAME
 *
 * Mounts SOURCE as FSTYPE (e.g. objfs rados:POOL; "-" for a NULL source),
 * writes MIB MiB of random bytes (4 MiB pc_pwrite calls) to the new file
 * /snapdirty.NAME without any fsync, then times pc_mkdir("DIR/NAME") alone
 * (DIR: /.snap by default, the CephFS-style snapshot directory), then
 * pc_fsync of the file, then removes the snapshot and the file
 * (pc_rmdir, pc_unlink) and unmounts. The page cache is sized to hold the
 * whole file dirty (--cache-size, default 2 x MIB + 256 MiB).
 *
 * Prints one line:
 *   snap NAME mib MIB mkdir_ms X fsync_ms Y
 * Exit status: 0; 3 when FSTYPE is not a registered filesystem type
 * (pc_mount -ENODEV: the filesystem is not built in yet), the message on
 * stderr; 1 on any other failure.
 *
 * --snapdir lets the program itself be checked on a filesystem without
 * snapshots (ramfs with --snapdir=/d times an ordinary mkdir; DIR is made
 * when missing).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pagecache/pagecache.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fail(const char *what, long err)
{
	fprintf(stderr, "snap_latency: %s: %s\n", what, strerror((int)-err));
	return 1;
}

int main(int argc, char **argv)
{
	const char *snapdir = "/.snap";
	unsigned long cache_mib = 0;
	int i = 1;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strncmp(argv[i], "--cache-size=", 13) == 0)
			cache_mib = strtoul(argv[i] + 13, NULL, 10);
		else if (strncmp(argv[i], "--snapdir=", 10) == 0)
			snapdir = argv[i] + 10;
		else
			break;
	}
	if (argc - i != 4) {
		fprintf(stderr, "usage: snap_latency [--cache-size=MIB] [--snapdir=DIR] FSTYPE SOURCE MIB NAME\n");
		return 2;
	}
	const char *fstype = argv[i], *source = argv[i + 1], *name = argv[i + 3];
	unsigned long mib = strtoul(argv[i + 2], NULL, 10);
	if (strcmp(source, "-") == 0)
		source = NULL;
	if (!cache_mib)
		cache_mib = 2 * mib + 256;

	char file[4096], snap[4096];
	snprintf(file, sizeof(file), "/snapdirty.%s", name);
	snprintf(snap, sizeof(snap), "%s/%s", snapdir, name);

	size_t chunk = 4u << 20;
	unsigned char *buf = malloc(chunk);
	if (!buf)
		return fail("malloc", -ENOMEM);
	uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
	for (size_t k = 0; k < chunk; k += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + k, &x, 8);
	}

	struct pc_mount_opts opts = { .cache_size = (size_t)cache_mib << 20 };
	struct pc_mount *m;
	int err = pc_mount(fstype, source, &opts, &m);
	if (err == -ENODEV) {
		fprintf(stderr, "snap_latency: no filesystem type %s: %s\n", fstype,
			pc_mount_error() ? pc_mount_error() : strerror(-err));
		free(buf);
		return 3;
	}
	if (err) {
		fprintf(stderr, "snap_latency: pc_mount %s %s: %s\n", fstype, source ? source : "(none)",
			pc_mount_error() ? pc_mount_error() : strerror(-err));
		free(buf);
		return 1;
	}
	int rc = 1, fd;
	if (strcmp(snapdir, "/.snap") != 0) {
		err = pc_mkdir(m, snapdir, 0755);
		if (err && err != -EEXIST) {
			fail(snapdir, err);
			goto out;
		}
	}
	fd = pc_open(m, file, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0) {
		fail(file, fd);
		goto out;
	}
	for (unsigned long off = 0; off < mib << 20; off += chunk) {
		ssize_t n = pc_pwrite(fd, buf, chunk, (off_t)off);
		if (n != (ssize_t)chunk) {
			fail("pc_pwrite", n < 0 ? n : -EIO);
			goto out_close;
		}
	}
	double t0 = now_ms();
	err = pc_mkdir(m, snap, 0755);
	double t1 = now_ms();
	if (err) {
		fail(snap, err);
		goto out_close;
	}
	double t2 = now_ms();
	err = pc_fsync(fd);
	double t3 = now_ms();
	if (err) {
		fail("pc_fsync", err);
		goto out_close;
	}
	printf("snap %s mib %lu mkdir_ms %.3f fsync_ms %.3f\n", name, mib, t1 - t0, t3 - t2);
	fflush(stdout);
	rc = 0;
out_close:
	pc_close(fd);
	err = pc_rmdir(m, snap);
	if (err && err != -ENOENT && rc == 0)
		rc = fail("pc_rmdir", err);
	err = pc_unlink(m, file);
	if (err && rc == 0)
		rc = fail("pc_unlink", err);
out:
	err = pc_umount(m);
	if (err && rc == 0)
		rc = fail("pc_umount", err);
	free(buf);
	return rc;
}
