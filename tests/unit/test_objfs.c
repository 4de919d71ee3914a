// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test_objfs.c - objfs (fs/objfs) on the in-memory object store
 * of objstore_mem.c: the striping arithmetic against hand-computed cases
 * and a byte-by-byte reference, then the filesystem through the public
 * API (pagecache.h) with remounts (cold cache) compared byte for byte
 * with a model, holes, truncate, a file over 4 GiB, a striped layout,
 * rm -r removing every object, corrupt objects, a failing write reported
 * once per descriptor, and a 1 MiB cache copying 64 MiB.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pagecache/pagecache.h>
#include <pagecache/objfs.h>
#include "objstore_mem.h"
#include "test_util.h"

#define CHECK(c) TU_CHECK(c, (void)0)

static const struct pc_objfs_layout striped = { 64u << 10, 4, 1u << 20 };

/* ---- the striping arithmetic ---- */

static void expect_map(const struct pc_objfs_layout *l, uint64_t off, uint64_t len,
		       uint64_t objno, uint64_t objoff, uint64_t xlen)
{
	uint64_t no, oo, n = pc_objfs_file_to_object(l, off, len, &no, &oo);

	if (no != objno || oo != objoff || n != xlen)
		fprintf(stderr, "off %" PRIu64 ": got obj %" PRIu64 " off %" PRIu64 " len %" PRIu64
			", want %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", off, no, oo, n, objno, objoff, xlen);
	CHECK(no == objno && oo == objoff && n == xlen);
}

static void test_layout_hand(void **state)
{
	const struct pc_objfs_layout def = { 4u << 20, 1, 4u << 20 };
	const uint64_t K = 1024, M = 1 << 20;
	struct pc_objfs_layout bad;

	(void)state;
	/* su 64 KiB, sc 4, os 1 MiB: a stripe is 256 KiB over objects 0-3,
	 * 16 stripes fill an object set (4 MiB of file), then objects 4-7. */
	expect_map(&striped, 0, 1 * M, 0, 0, 64 * K);
	expect_map(&striped, 64 * K, 10, 1, 0, 10);
	expect_map(&striped, 3 * 64 * K + 5, 1 * M, 3, 5, 64 * K - 5);
	expect_map(&striped, 4 * 64 * K, 4096, 0, 64 * K, 4096);
	expect_map(&striped, 4 * 64 * K + 64 * K + 1, 4096, 1, 64 * K + 1, 4096);
	expect_map(&striped, 4 * M - 1, 100, 3, 1 * M - 1, 1);
	expect_map(&striped, 4 * M, 4096, 4, 0, 4096);
	expect_map(&striped, 4 * M + 7 * 64 * K + 100, 1 * M, 7, 64 * K + 100, 64 * K - 100);
	expect_map(&striped, 9 * M + 3, 1, 8, 256 * K + 3, 1);
	/* The default layout: object n holds [4n MiB, 4n+4 MiB). */
	expect_map(&def, 5ull << 30, 8 * M, 1280, 0, 4 * M);
	expect_map(&def, (4ull << 30) + 4 * M - 10, 100, 1024, 4 * M - 10, 10);

	/* Object sizes of a file of 4 MiB + 7*64 KiB + 100 bytes. */
	for (uint64_t o = 0; o < 4; o++)
		CHECK(pc_objfs_object_size_for(&striped, o, 4 * M + 7 * 64 * K + 100) == 1 * M);
	CHECK(pc_objfs_object_size_for(&striped, 4, 4 * M + 7 * 64 * K + 100) == 128 * K);
	CHECK(pc_objfs_object_size_for(&striped, 6, 4 * M + 7 * 64 * K + 100) == 128 * K);
	CHECK(pc_objfs_object_size_for(&striped, 7, 4 * M + 7 * 64 * K + 100) == 64 * K + 100);
	CHECK(pc_objfs_object_size_for(&striped, 8, 4 * M + 7 * 64 * K + 100) == 0);
	CHECK(pc_objfs_object_size_for(&striped, 0, 0) == 0);
	CHECK(pc_objfs_object_size_for(&def, 1, 5 * M) == 1 * M);

	/* Validation. */
	CHECK(pc_objfs_layout_valid(&def) == 0 && pc_objfs_layout_valid(&striped) == 0);
	bad = (struct pc_objfs_layout){ 0, 1, 4 * M };
	CHECK(pc_objfs_layout_valid(&bad) == -EINVAL);
	bad = (struct pc_objfs_layout){ 64 * K, 0, 4 * M };
	CHECK(pc_objfs_layout_valid(&bad) == -EINVAL);
	bad = (struct pc_objfs_layout){ 64 * K, 1, 0 };
	CHECK(pc_objfs_layout_valid(&bad) == -EINVAL);
	bad = (struct pc_objfs_layout){ 192 * K, 1, 4 * M };	/* does not divide */
	CHECK(pc_objfs_layout_valid(&bad) == -EINVAL);
	bad = (struct pc_objfs_layout){ 1000, 1, 1000 };		/* not page sized */
	CHECK(pc_objfs_layout_valid(&bad) == -EINVAL);
	CHECK(pc_objfs_layout_valid(NULL) == -EINVAL);
	CHECK(pc_objfs_max_bytes(&def) == (1ull << 32) * 4 * M);
}

/*
 * The reference: deal stripe units round-robin over the objects of the
 * current object set, one unit per object per stripe, moving to the next
 * set once the set's objects are full. Byte b of the file then lives in
 * the object the unit b / su was dealt to, at that unit's fill offset.
 */
static void check_layout_bruteforce(const struct pc_objfs_layout *l, uint64_t file_bytes)
{
	uint64_t su = l->stripe_unit, sc = l->stripe_count, os = l->object_size;
	uint64_t units = file_bytes / su, nobj = (units / (sc * (os / su)) + 1) * sc;
	uint64_t *unit_obj = calloc(units, sizeof(uint64_t)), *unit_off = calloc(units, sizeof(uint64_t));
	uint64_t *fill = calloc(nobj, sizeof(uint64_t)), *size = calloc(nobj, sizeof(uint64_t));
	uint64_t set = 0, pos = 0, mism = 0;

	assert_non_null(unit_obj);
	assert_non_null(unit_off);
	assert_non_null(fill);
	assert_non_null(size);
	for (uint64_t u = 0; u < units; u++) {
		uint64_t obj = set * sc + pos;

		unit_obj[u] = obj;
		unit_off[u] = fill[obj];
		fill[obj] += su;
		if (++pos == sc) {
			pos = 0;
			if (fill[set * sc] == os)
				set++;
		}
	}
	for (uint64_t b = 0; b < file_bytes; b++) {
		uint64_t no, oo, n = pc_objfs_file_to_object(l, b, file_bytes - b, &no, &oo);
		uint64_t u = b / su, want_n = su - b % su;

		if (want_n > file_bytes - b)
			want_n = file_bytes - b;
		if (no != unit_obj[u] || oo != unit_off[u] + b % su || n != want_n)
			mism++;
		/* Sizes of the objects for a file of b bytes, checked on a
		 * sample of sizes (every object, before byte b is added). */
		if (b % 1531 == 0 || b % su == 0 || b % su == su - 1)
			for (uint64_t o = 0; o < nobj; o++)
				mism += pc_objfs_object_size_for(l, o, b) != size[o];
		if (size[unit_obj[u]] < unit_off[u] + b % su + 1)
			size[unit_obj[u]] = unit_off[u] + b % su + 1;
	}
	for (uint64_t o = 0; o < nobj; o++)
		mism += pc_objfs_object_size_for(l, o, file_bytes) != size[o];
	if (mism)
		fprintf(stderr, "layout su %" PRIu64 " sc %" PRIu64 " os %" PRIu64 ": %" PRIu64
			" mismatches\n", su, sc, os, mism);
	CHECK(mism == 0);
	free(unit_obj);
	free(unit_off);
	free(fill);
	free(size);
}

static void test_layout_bruteforce(void **state)
{
	(void)state;
	check_layout_bruteforce(&(struct pc_objfs_layout){ 4096, 3, 12288 }, 5 * 3 * 12288 + 4096);
	check_layout_bruteforce(&(struct pc_objfs_layout){ 8192, 2, 32768 }, 4 * 65536 + 8192);
	check_layout_bruteforce(&(struct pc_objfs_layout){ 4096, 1, 16384 }, 5 * 16384);
	check_layout_bruteforce(&(struct pc_objfs_layout){ 4096, 5, 4096 }, 7 * 5 * 4096);
	check_layout_bruteforce(&(struct pc_objfs_layout){ 65536, 4, 1u << 20 }, 9u << 20);
}

/* ---- mounting ---- */

static struct pc_objstore *new_fs(const struct pc_objfs_layout *l)
{
	struct pc_objstore *os = objstore_mem_create();
	char msg[256];

	assert_non_null(os);
	assert_int_equal(pc_objfs_mkfs(os, l, msg, sizeof(msg)), 0);
	return os;
}

static int mount_os(struct pc_objstore *os, size_t cache, struct pc_mount **m)
{
	struct pc_mount_opts o = { .cache_size = cache, .objstore = os };

	return pc_mount("objfs", "mem", &o, m);
}

static struct pc_mount *mnt(struct pc_objstore *os, size_t cache)
{
	struct pc_mount *m = NULL;
	int err = mount_os(os, cache, &m);

	if (err)
		fprintf(stderr, "mount: %d %s\n", err, pc_mount_error());
	assert_int_equal(err, 0);
	return m;
}

static struct pc_mount *remount(struct pc_objstore *os, struct pc_mount *m, size_t cache)
{
	assert_int_equal(pc_umount(m), 0);
	return mnt(os, cache);
}

/* ---- a model of the files ---- */

struct mfile {
	char path[64];
	unsigned char *data;
	size_t size;
};

static ssize_t write_all(struct pc_mount *m, const char *path, const void *buf, size_t len, off_t off)
{
	int fd = pc_open(m, path, O_CREAT | O_RDWR, 0644);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pc_pwrite(fd, buf, len, off);
	pc_close(fd);
	return n;
}

/* Does @path hold exactly @len bytes equal to @want? */
static bool file_is(struct pc_mount *m, const char *path, const unsigned char *want, size_t len)
{
	unsigned char *buf = malloc(len + 1);
	struct stat st = { 0 };
	int fd = pc_open(m, path, O_RDONLY, 0);
	ssize_t n;
	bool ok;

	if (fd < 0 || !buf) {
		free(buf);
		return false;
	}
	n = pc_pread(fd, buf, len + 1, 0);
	pc_fstat(fd, &st);
	ok = n == (ssize_t)len && pc_fstat(fd, &st) == 0 && st.st_size == (off_t)len &&
	     memcmp(buf, want, len) == 0;
	if (!ok)
		fprintf(stderr, "%s: read %zd of %zu bytes (size %lld), first diff at %ld\n", path, n, len,
			(long long)st.st_size,
			n > 0 ? tu_first_diff(buf, want, PC_TU_MIN((size_t)n, len)) : -1L);
	pc_close(fd);
	free(buf);
	return ok;
}

static void test_basic_remount(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 8 << 20);
	struct mfile f[6];
	struct tu_rng rng = { 42 };
	char lbuf[64];
	struct stat st;
	struct pc_dir *d;
	struct pc_dirent de;
	int names = 0;

	(void)state;
	CHECK(pc_mkdir(m, "/d", 0750) == 0);
	CHECK(pc_mkdir(m, "/d/e", 0700) == 0);
	CHECK(pc_mkdir(m, "/d", 0750) == -EEXIST);
	for (int i = 0; i < 6; i++) {
		snprintf(f[i].path, sizeof(f[i].path), i < 3 ? "/f%d" : "/d/e/g%d", i);
		f[i].size = (size_t)tu_rand_below(&rng, 3 << 20) + (i == 0 ? 0 : 1);
		if (i == 0)
			f[i].size = 0;
		f[i].data = malloc(f[i].size + 1);
		tu_fill(f[i].data, 0, f[i].size, (unsigned)i + 1);
		/* In odd pieces, not page aligned. */
		for (size_t off = 0; off < f[i].size;) {
			size_t r = (size_t)tu_rand_below(&rng, 300000) + 1;
			size_t n = PC_TU_MIN(r, f[i].size - off);	/* a macro */

			CHECK(write_all(m, f[i].path, f[i].data + off, n, (off_t)off) == (ssize_t)n);
			off += n;
		}
		if (f[i].size == 0) {
			int fd = pc_open(m, f[i].path, O_CREAT | O_RDWR, 0600);

			CHECK(fd >= 0 && pc_close(fd) == 0);
		}
		CHECK(file_is(m, f[i].path, f[i].data, f[i].size));
	}
	CHECK(pc_symlink(m, "d/e/g3", "/link") == 0);
	CHECK(pc_chmod(m, "/f1", 0600) == 0);
	CHECK(pc_utimens(m, "/f2", (struct timespec[2]){ { 1000, 5 }, { 2000, 7 } }) == 0);
	/* rename over an existing file, and a directory to another parent */
	CHECK(pc_rename(m, "/f2", "/f1") == 0);
	free(f[1].data);
	f[1] = f[2];
	snprintf(f[1].path, sizeof(f[1].path), "/f1");
	f[2].size = (size_t)-1;
	CHECK(pc_rename(m, "/d/e", "/e2") == 0);
	/* A directory over a non-empty one, then over an empty one. */
	CHECK(pc_mkdir(m, "/x", 0755) == 0 && pc_mkdir(m, "/y", 0755) == 0);
	CHECK(write_all(m, "/y/z", "z", 1, 0) == 1);
	CHECK(pc_rename(m, "/x", "/y") == -ENOTEMPTY);
	CHECK(pc_rename(m, "/y/z", "/x") == -EISDIR);
	CHECK(pc_unlink(m, "/y/z") == 0);
	CHECK(pc_rename(m, "/x", "/y") == 0);
	CHECK(pc_rmdir(m, "/y") == 0);
	for (int i = 3; i < 6; i++)
		snprintf(f[i].path, sizeof(f[i].path), "/e2/g%d", i);

	for (int round = 0; round < 2; round++) {
		/* round 0: the warm cache; round 1: after a remount (cold). */
		if (round)
			m = remount(os, m, 8 << 20);
		for (int i = 0; i < 6; i++)
			if (f[i].size != (size_t)-1)
				CHECK(file_is(m, f[i].path, f[i].data, f[i].size));
		CHECK(pc_stat(m, "/f2", &st) == -ENOENT);
		CHECK(pc_stat(m, "/d/e", &st) == -ENOENT);
		CHECK(pc_stat(m, "/e2/..", &st) == 0 && st.st_ino == 1);
		CHECK(pc_stat(m, "/f1", &st) == 0 && st.st_mtim.tv_sec == 2000 &&
		      st.st_mtim.tv_nsec == 7 && (st.st_mode & 07777) == 0644);
		CHECK(pc_stat(m, "/d", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750);
		CHECK(pc_readlink(m, "/link", lbuf, sizeof(lbuf)) == 6 && memcmp(lbuf, "d/e/g3", 6) == 0);
		CHECK(pc_stat(m, "/link", &st) == -ENOENT);	/* its target moved */
		CHECK(pc_stat(m, "/", &st) == 0 && st.st_nlink == 4);	/* ., d, e2 */
		names = 0;
		CHECK(pc_opendir(m, "/", &d) == 0);
		while (pc_readdir(d, &de) == 1)
			names += !strcmp(de.d_name, "f0") + !strcmp(de.d_name, "f1") +
				 !strcmp(de.d_name, "d") + !strcmp(de.d_name, "e2") +
				 !strcmp(de.d_name, "link") + 100 * !strcmp(de.d_name, "f2");
		pc_closedir(d);
		CHECK(names == 5);
	}
	CHECK(pc_chown(m, "/f0", 1234, 5678) == 0);
	/* A partial overwrite of a page that is not cached (cold, after the
	 * remount): write_begin must read the rest of the page first. */
	m = remount(os, m, 8 << 20);
	CHECK(f[3].size > 6000);
	memcpy(f[3].data + 5000, "XYZ", 3);
	CHECK(write_all(m, f[3].path, "XYZ", 3, 5000) == 3);
	m = remount(os, m, 8 << 20);
	CHECK(file_is(m, f[3].path, f[3].data, f[3].size));
	CHECK(pc_stat(m, "/f0", &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678);
	CHECK(pc_umount(m) == 0);
	for (int i = 0; i < 6; i++)
		if (i != 2)
			free(f[i].data);
	pc_objstore_close(os);
}

/* Data objects of inode @ino (objects named "<ino>.<8 hex>"). */
static size_t data_objects(struct pc_objstore *os, uint64_t ino)
{
	char prefix[40];

	snprintf(prefix, sizeof(prefix), "%" PRIx64 ".0", ino);
	return objstore_mem_count(os, prefix);
}

static uint64_t ino_of(struct pc_mount *m, const char *path)
{
	struct stat st;

	assert_int_equal(pc_stat(m, path, &st), 0);
	return st.st_ino;
}

/* Overwrite @len bytes at @off of object @oid. */
static void poke(struct pc_objstore *os, const char *oid, uint64_t off, const void *p, size_t len)
{
	struct iovec iov = { (void *)p, len };
	struct pc_obj_req req = { .op = PC_OBJ_WRITE, .oid = oid, .off = off, .len = len,
				  .iov = &iov, .iovcnt = 1 };

	assert_int_equal(pc_objstore_exec(os, &req), 0);
}

static void test_holes_truncate(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 8 << 20);
	size_t cap = 13u << 20;
	unsigned char *model = calloc(1, cap), *pat = malloc(1 << 20);
	size_t size = 0;
	uint64_t ino;
	int fd;

	(void)state;
	tu_fill(pat, 0, 1 << 20, 7);
	fd = pc_open(m, "/h", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	/* Data at 0, a hole, data at 9 MiB + 5 (object 2), EOF after it. */
	CHECK(pc_pwrite(fd, pat, 5000, 0) == 5000);
	memcpy(model, pat, 5000);
	CHECK(pc_pwrite(fd, pat, 300000, (9 << 20) + 5) == 300000);
	memcpy(model + (9 << 20) + 5, pat, 300000);
	size = (9 << 20) + 5 + 300000;
	CHECK(pc_fsync(fd) == 0);
	ino = ino_of(m, "/h");
	CHECK(data_objects(os, ino) == 2);	/* objects 0 and 2: the hole has none */
	CHECK(pc_close(fd) == 0);
	m = remount(os, m, 8 << 20);
	CHECK(file_is(m, "/h", model, size));

	fd = pc_open(m, "/h", O_RDWR, 0);
	/* Down into the middle of object 0's data: object 2 goes. */
	CHECK(pc_ftruncate(fd, 3001) == 0);
	memset(model + 3001, 0, size - 3001);
	size = 3001;
	CHECK(data_objects(os, ino) == 1);
	/* Up again: the cut-off bytes read as zeros, cached and cold. */
	CHECK(pc_ftruncate(fd, (6 << 20) + 17) == 0);
	size = (6 << 20) + 17;
	CHECK(file_is(m, "/h", model, size));
	/* Write past a partial page at the old EOF, then fdatasync. */
	CHECK(pc_pwrite(fd, pat, 10, (5 << 20) + 1) == 10);
	memcpy(model + (5 << 20) + 1, pat, 10);
	CHECK(pc_fdatasync(fd) == 0);
	CHECK(pc_close(fd) == 0);
	m = remount(os, m, 8 << 20);
	CHECK(file_is(m, "/h", model, size));
	/* Truncate to a page boundary and to zero. */
	CHECK(pc_truncate(m, "/h", 4096) == 0);
	size = 4096;
	memset(model + 4096, 0, cap - 4096);
	CHECK(file_is(m, "/h", model, size));
	CHECK(data_objects(os, ino) == 1);
	/* Stale bytes past EOF in the object holding it (what a crash
	 * between a write and a truncate could leave): growing the file
	 * trims them, so the bytes that appear read as zeros. */
	{
		char oid[64];

		snprintf(oid, sizeof(oid), "%" PRIx64 ".00000000", ino);
		poke(os, oid, 8000, "stale", 5);
		CHECK(pc_truncate(m, "/h", 10000) == 0);
		CHECK(file_is(m, "/h", model, 10000));
		CHECK(pc_truncate(m, "/h", 4096) == 0);
	}
	CHECK(pc_truncate(m, "/h", 0) == 0);
	CHECK(data_objects(os, ino) == 0);
	CHECK(pc_truncate(m, "/h", 100) == 0);
	m = remount(os, m, 8 << 20);
	memset(model, 0, 100);
	CHECK(file_is(m, "/h", model, 100));
	CHECK(pc_umount(m) == 0);
	free(model);
	free(pat);
	pc_objstore_close(os);
}

static void test_big_sparse(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 8 << 20);
	const off_t at = (4ll << 30) + (4 << 20) - 10;	/* crosses into object 1025 */
	char buf[100], back[120];
	struct stat st;
	uint64_t ino;
	int fd;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	fd = pc_open(m, "/big", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK(pc_pwrite(fd, buf, 100, at) == 100);
	CHECK(pc_fsync(fd) == 0);
	CHECK(pc_close(fd) == 0);
	ino = ino_of(m, "/big");
	CHECK(data_objects(os, ino) == 2);
	m = remount(os, m, 8 << 20);
	CHECK(pc_stat(m, "/big", &st) == 0 && st.st_size == at + 100);
	fd = pc_open(m, "/big", O_RDWR, 0);
	memset(back, 1, sizeof(back));
	CHECK(pc_pread(fd, back, 120, at - 10) == 110);
	CHECK(memcmp(back, "\0\0\0\0\0\0\0\0\0\0", 10) == 0 && memcmp(back + 10, buf, 100) == 0);
	CHECK(pc_pread(fd, back, 10, 3ll << 30) == 10 && memcmp(back, "\0\0\0\0\0\0\0\0\0\0", 10) == 0);
	/* Shrink below 4 GiB: both objects go. */
	CHECK(pc_ftruncate(fd, 1 << 20) == 0);
	CHECK(data_objects(os, ino) == 0);
	CHECK(pc_close(fd) == 0);
	CHECK(pc_unlink(m, "/big") == 0);
	CHECK(pc_umount(m) == 0);
	pc_objstore_close(os);
}

static void test_striped(void **state)
{
	struct pc_objstore *os = new_fs(&striped);
	struct pc_mount *m = mnt(os, 8 << 20);
	size_t size = (9 << 20) + 12345;
	unsigned char *data = malloc(size), obj[4096];
	struct pc_obj_req req;
	struct iovec iov = { obj, sizeof(obj) };
	char oid[64];
	uint64_t ino;

	(void)state;
	tu_fill(data, 0, size, 3);
	CHECK(write_all(m, "/s", data, size, 0) == (ssize_t)size);
	CHECK(file_is(m, "/s", data, size));
	m = remount(os, m, 8 << 20);
	CHECK(file_is(m, "/s", data, size));
	ino = ino_of(m, "/s");
	/* 9 MiB + 12345 over 4-object sets of 4 MiB: sets 0, 1 (8 objects)
	 * and the first object of set 2 (bytes 8 MiB..8 MiB+64 KiB go to
	 * object 8, the next 64 KiB to object 9...): objects 8-11 exist. */
	CHECK(data_objects(os, ino) == 12);
	/* Where the layout says: file byte 4 MiB + 7*64 KiB + 100 is byte
	 * 64 KiB + 100 of object 7. */
	snprintf(oid, sizeof(oid), "%" PRIx64 ".%08x", ino, 7);
	req = (struct pc_obj_req){ .op = PC_OBJ_READ, .oid = oid, .off = 65536 + 100, .len = 4096,
				   .iov = &iov, .iovcnt = 1, .snapid = PC_SNAP_HEAD };
	CHECK(pc_objstore_exec(os, &req) == 4096);
	CHECK(memcmp(obj, data + (4 << 20) + 7 * 65536 + 100, 4096) == 0);
	/* The object holding EOF: 9 MiB + 12345 = set 2, stripe 4, unit 0,
	 * 12345 bytes in: object 8 is 4 * 64 KiB + 12345 bytes. */
	snprintf(oid, sizeof(oid), "%" PRIx64 ".%08x", ino, 8);
	req = (struct pc_obj_req){ .op = PC_OBJ_STAT, .oid = oid, .snapid = PC_SNAP_HEAD };
	CHECK(pc_objstore_exec(os, &req) == 0 && req.size == 4 * 65536 + 12345);
	/* Truncate into set 1: objects 8-11 go, 4-7 are cut. */
	CHECK(pc_truncate(m, "/s", (4 << 20) + 65536 * 5 + 7) == 0);
	CHECK(data_objects(os, ino) == 8);
	snprintf(oid, sizeof(oid), "%" PRIx64 ".%08x", ino, 5);
	req = (struct pc_obj_req){ .op = PC_OBJ_STAT, .oid = oid, .snapid = PC_SNAP_HEAD };
	CHECK(pc_objstore_exec(os, &req) == 0 && req.size == 65536 + 7);
	m = remount(os, m, 8 << 20);
	CHECK(file_is(m, "/s", data, (4 << 20) + 65536 * 5 + 7));
	CHECK(pc_umount(m) == 0);
	free(data);
	pc_objstore_close(os);
}

/* rm -r @path (a directory), depth first. */
static void rm_r(struct pc_mount *m, const char *path)
{
	struct pc_dir *d;
	struct pc_dirent de;
	char names[64][300];
	unsigned char types[64];
	int n = 0;

	assert_int_equal(pc_opendir(m, path, &d), 0);
	while (pc_readdir(d, &de) == 1) {
		if (!strcmp(de.d_name, ".") || !strcmp(de.d_name, ".."))
			continue;
		assert_true(n < 64);
		snprintf(names[n], sizeof(names[n]), "%s/%s", path, de.d_name);
		types[n++] = de.d_type;
	}
	pc_closedir(d);
	for (int i = 0; i < n; i++) {
		if (types[i] == DT_DIR)
			rm_r(m, names[i]);
		else
			CHECK(pc_unlink(m, names[i]) == 0);
	}
	CHECK(pc_rmdir(m, path) == 0);
}

static void test_rm_r(void **state)
{
	struct pc_objstore *os = new_fs(&striped);
	struct pc_mount *m = mnt(os, 8 << 20);
	unsigned char *buf = malloc(3 << 20);
	char p[128];
	int fd;

	(void)state;
	tu_fill(buf, 0, 3 << 20, 9);
	CHECK(objstore_mem_count(os, NULL) == 3);	/* super, root inode and dir */
	CHECK(pc_mkdir(m, "/t", 0755) == 0);
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "/t/d%d", i);
		CHECK(pc_mkdir(m, p, 0755) == 0);
		for (int j = 0; j < 5; j++) {
			snprintf(p, sizeof(p), "/t/d%d/f%d", i, j);
			CHECK(write_all(m, p, buf, (size_t)(i * 700000 + j * 4097 + 1), 0) > 0);
		}
		snprintf(p, sizeof(p), "/t/d%d/l", i);
		CHECK(pc_symlink(m, "f0", p) == 0);
	}
	CHECK(pc_rmdir(m, "/t/d1") == -ENOTEMPTY);
	CHECK(pc_rmdir(m, "/t") == -ENOTEMPTY);
	/* An open, unlinked file keeps its data until it is closed. */
	fd = pc_open(m, "/t/d3/f4", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK(pc_sync(m) == 0);
	CHECK(objstore_mem_count(os, NULL) > 3 + 1 + 4 * 6);
	m = remount(os, m, 8 << 20);		/* closes fd too */
	fd = pc_open(m, "/t/d3/f4", O_RDONLY, 0);
	rm_r(m, "/t");
	CHECK(pc_pread(fd, p, 10, 4097) == 10 && memcmp(p, buf + 4097, 10) == 0);
	CHECK(objstore_mem_count(os, NULL) > 3);
	CHECK(pc_close(fd) == 0);
	if (objstore_mem_count(os, NULL) != 3)
		objstore_mem_dump(os);
	CHECK(objstore_mem_count(os, NULL) == 3);
	m = remount(os, m, 8 << 20);
	CHECK(objstore_mem_count(os, NULL) == 3);
	CHECK(pc_stat(m, "/t", &(struct stat){ 0 }) == -ENOENT);
	CHECK(pc_umount(m) == 0);
	free(buf);
	pc_objstore_close(os);
}

static void test_corrupt(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 8 << 20), *m2;
	unsigned char sb[48], big[4] = { 0xff, 0xff, 0xff, 0x7f };
	struct iovec iov = { sb, sizeof(sb) };
	struct pc_obj_req req = { .op = PC_OBJ_READ, .oid = PC_OBJFS_SUPER_OID, .len = sizeof(sb),
				  .iov = &iov, .iovcnt = 1, .snapid = PC_SNAP_HEAD };
	char oid[64];
	uint64_t ino;

	(void)state;
	CHECK(pc_mkdir(m, "/dir", 0755) == 0);
	CHECK(write_all(m, "/dir/f", "hello", 5, 0) == 5);
	CHECK(pc_mkdir(m, "/dir2", 0755) == 0);
	/* A second mount of a mounted store is refused. */
	CHECK(mount_os(os, 1 << 20, &m2) == -EBUSY);
	CHECK(strstr(pc_mount_error(), "locked") != NULL);
	ino = ino_of(m, "/dir/f");
	CHECK(pc_umount(m) == 0);
	CHECK(pc_objstore_exec(os, &req) == 48);

	/* Superblock: bad magic, unknown version, bad layout, bad inode numbers. */
	poke(os, PC_OBJFS_SUPER_OID, 0, "X", 1);
	CHECK(mount_os(os, 1 << 20, &m2) == -EINVAL);
	CHECK(strstr(pc_mount_error(), "bad magic") != NULL);
	poke(os, PC_OBJFS_SUPER_OID, 0, sb, 48);
	poke(os, PC_OBJFS_SUPER_OID, 8, "\x09", 1);
	CHECK(mount_os(os, 1 << 20, &m2) == -EINVAL);
	CHECK(strstr(pc_mount_error(), "version 9") != NULL);
	poke(os, PC_OBJFS_SUPER_OID, 0, sb, 48);
	poke(os, PC_OBJFS_SUPER_OID, 16, "\x00\x10\x00\x00", 4);	/* su 4096 */
	poke(os, PC_OBJFS_SUPER_OID, 24, "\x00\x30\x00\x00", 4);	/* os 12288: fine */
	CHECK(mount_os(os, 1 << 20, &m2) == 0 && pc_umount(m2) == 0);
	poke(os, PC_OBJFS_SUPER_OID, 24, "\x00\x30\x00\x41", 4);	/* > 1 GiB */
	CHECK(mount_os(os, 1 << 20, &m2) == -EUCLEAN);
	CHECK(strstr(pc_mount_error(), "layout") != NULL);
	poke(os, PC_OBJFS_SUPER_OID, 0, sb, 48);
	poke(os, PC_OBJFS_SUPER_OID, 40, "\x00\x00\x00\x00\x00\x00\x00\x00", 8);	/* root 0 */
	CHECK(mount_os(os, 1 << 20, &m2) == -EUCLEAN);
	poke(os, PC_OBJFS_SUPER_OID, 0, sb, 48);
	/* A short superblock. */
	req = (struct pc_obj_req){ .op = PC_OBJ_TRUNCATE, .oid = PC_OBJFS_SUPER_OID, .off = 20 };
	CHECK(pc_objstore_exec(os, &req) == 0);
	CHECK(mount_os(os, 1 << 20, &m2) == -EUCLEAN);
	poke(os, PC_OBJFS_SUPER_OID, 0, sb, 48);

	/* The root inode's magic. */
	poke(os, "1.inode", 0, "Z", 1);
	CHECK(mount_os(os, 1 << 20, &m2) == -EUCLEAN);
	CHECK(strstr(pc_mount_error(), "inode 1") != NULL);
	poke(os, "1.inode", 0, "O", 1);
	CHECK(mount_os(os, 1 << 20, &m2) == 0 && pc_umount(m2) == 0);

	/* A file's inode: a huge size, then a bad mode. */
	snprintf(oid, sizeof(oid), "%" PRIx64 ".inode", ino);
	poke(os, oid, 32 + 4, big, 4);
	m = mnt(os, 1 << 20);
	pc_clear_last_error();
	CHECK(pc_stat(m, "/dir/f", &(struct stat){ 0 }) == -EUCLEAN);
	CHECK(strstr(pc_last_error(), "too large") != NULL);
	CHECK(pc_umount(m) == 0);
	poke(os, oid, 32 + 4, "\0\0\0\0", 4);
	poke(os, oid, 16, "\xff\xff\x00\x00", 4);
	m = mnt(os, 1 << 20);
	CHECK(pc_open(m, "/dir/f", O_RDONLY, 0) == -EUCLEAN);
	CHECK(pc_umount(m) == 0);

	/* A directory whose entry count cannot fit in its object. */
	snprintf(oid, sizeof(oid), "%" PRIx64 ".dir", ino_of(m = mnt(os, 1 << 20), "/dir2"));
	CHECK(pc_umount(m) == 0);
	poke(os, oid, 24, big, 4);
	m = mnt(os, 1 << 20);
	pc_clear_last_error();
	CHECK(pc_stat(m, "/dir2/x", &(struct stat){ 0 }) == -EUCLEAN);
	CHECK(strstr(pc_last_error(), "entries cannot fit") != NULL);
	CHECK(pc_stat(m, "/dir", &(struct stat){ 0 }) == 0);	/* the rest still works */
	CHECK(pc_umount(m) == 0);

	/* No superblock at all. */
	req = (struct pc_obj_req){ .op = PC_OBJ_REMOVE, .oid = PC_OBJFS_SUPER_OID };
	CHECK(pc_objstore_exec(os, &req) == 0);
	CHECK(mount_os(os, 1 << 20, &m2) == -EINVAL);
	CHECK(strstr(pc_mount_error(), "mkfs") != NULL);
	pc_objstore_close(os);
}

static void test_write_fault(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 8 << 20);
	unsigned char buf[8192];
	int fd1, fd2, fd3;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	fd1 = pc_open(m, "/f", O_CREAT | O_RDWR, 0644);
	fd2 = pc_open(m, "/f", O_RDWR, 0);
	CHECK(fd1 >= 0 && fd2 >= 0);
	CHECK(pc_pwrite(fd1, buf, sizeof(buf), 0) == sizeof(buf));
	CHECK(pc_fsync(fd1) == 0);
	CHECK(pc_pwrite(fd1, buf, 100, 50) == 100);
	objstore_mem_fail_write(os, 1);		/* the data write fails */
	CHECK(pc_fsync(fd1) == -EIO);
	CHECK(pc_fsync(fd1) == 0);		/* once per descriptor */
	CHECK(pc_fsync(fd2) == -EIO);
	CHECK(pc_fsync(fd2) == 0);
	fd3 = pc_open(m, "/f", O_RDWR, 0);	/* opened after the error */
	CHECK(fd3 >= 0 && pc_fsync(fd3) == 0);
	/* The next write goes through again. */
	CHECK(pc_pwrite(fd1, buf, 100, 50) == 100);
	CHECK(pc_fsync(fd1) == 0 && pc_fsync(fd2) == 0);
	pc_close(fd1);
	pc_close(fd2);
	pc_close(fd3);
	CHECK(pc_sync(m) == -EIO);		/* syncfs reports it once too */
	CHECK(pc_umount(m) == 0);
	pc_objstore_close(os);
}

/* Writes are batched: sequential data goes out in object-sized writes. */
static void test_write_batching(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	/* 8 MiB dirty stays under the background threshold of a 256 MiB
	 * cache, so the flusher does not write part of it before the fsync
	 * (under load it did, and the fsync was left with small runs). */
	struct pc_mount *m = mnt(os, 256 << 20);
	size_t size = 8 << 20;
	unsigned char *data = malloc(size);
	long writes;
	uint64_t max_len;
	int fd;

	(void)state;
	tu_fill(data, 0, size, 5);
	fd = pc_open(m, "/seq", O_CREAT | O_RDWR, 0644);
	CHECK(pc_pwrite(fd, data, size, 0) == (ssize_t)size);
	objstore_mem_reset_stats(os);
	CHECK(pc_fsync(fd) == 0);
	objstore_mem_write_stats(os, &writes, &max_len);
	if (writes > 8)
		fprintf(stderr, "%ld writes, largest %" PRIu64 "\n", writes, max_len);
	/* 2 data objects in 4 MiB writes, plus the inode object (write and
	 * truncate are one WRITE); a flusher pass meanwhile may split once. */
	CHECK(writes <= 8 && max_len >= (1u << 20));
	CHECK(pc_close(fd) == 0);
	m = remount(os, m, 32 << 20);
	/* A cold sequential read: readahead sends one request per run of
	 * pages in one object (2 MiB windows), not one per page. */
	objstore_mem_reset_stats(os);
	CHECK(file_is(m, "/seq", data, size));
	if (getenv("OBJFS_TEST_VERBOSE") || objstore_mem_reads(os) > 32)
		fprintf(stderr, "%ld reads\n", objstore_mem_reads(os));
	CHECK(objstore_mem_reads(os) <= 32);
	CHECK(pc_umount(m) == 0);
	pc_objstore_close(os);

	/* A store that takes at most 256 KiB per write: writes are split. */
	os = new_fs(NULL);
	objstore_mem_set_max_write(os, 256 << 10);
	m = mnt(os, 32 << 20);
	CHECK(write_all(m, "/seq", data, size, 0) == (ssize_t)size);
	CHECK(pc_sync(m) == 0);
	objstore_mem_write_stats(os, &writes, &max_len);
	CHECK(max_len == 256 << 10);
	m = remount(os, m, 32 << 20);
	CHECK(file_is(m, "/seq", data, size));
	CHECK(pc_umount(m) == 0);
	free(data);
	pc_objstore_close(os);
}

static void test_small_cache_copy(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 1 << 20);
	const size_t size = 64u << 20, chunk = 256 << 10;
	unsigned char *buf = malloc(chunk), *want = malloc(chunk);
	struct pc_mount_stats st;
	int in, out;
	bool same = true;

	(void)state;
	in = pc_open(m, "/in", O_CREAT | O_RDWR, 0644);
	CHECK(in >= 0);
	for (size_t off = 0; off < size; off += chunk) {
		tu_fill(buf, off, chunk, 11);
		CHECK(pc_pwrite(in, buf, chunk, (off_t)off) == (ssize_t)chunk);
	}
	CHECK(pc_fsync(in) == 0);
	/* Copy /in to /out through the 1 MiB cache, then check /out. */
	out = pc_open(m, "/out", O_CREAT | O_RDWR, 0644);
	for (size_t off = 0; off < size; off += chunk) {
		CHECK(pc_pread(in, buf, chunk, (off_t)off) == (ssize_t)chunk);
		CHECK(pc_pwrite(out, buf, chunk, (off_t)off) == (ssize_t)chunk);
	}
	CHECK(pc_fsync(out) == 0);
	pc_mount_get_stats(m, &st);
	CHECK(st.peak_pages <= 256);
	CHECK(st.evictions > 0);
	pc_close(in);
	pc_close(out);
	m = remount(os, m, 1 << 20);
	out = pc_open(m, "/out", O_RDONLY, 0);
	for (size_t off = 0; off < size && same; off += chunk) {
		tu_fill(want, off, chunk, 11);
		same = pc_pread(out, buf, chunk, (off_t)off) == (ssize_t)chunk &&
		       memcmp(buf, want, chunk) == 0;
	}
	CHECK(same);
	pc_close(out);
	CHECK(pc_umount(m) == 0);
	free(buf);
	free(want);
	pc_objstore_close(os);
}

static void test_direct_io(void **state)
{
	struct pc_objstore *os = new_fs(&striped);
	struct pc_mount *m = mnt(os, 8 << 20);
	const size_t n = 300 << 10;
	unsigned char *buf = NULL, *back = NULL;
	int fd;

	(void)state;
	assert_int_equal(posix_memalign((void **)&buf, 4096, n), 0);
	assert_int_equal(posix_memalign((void **)&back, 4096, n), 0);
	tu_fill(buf, 0, n, 13);
	fd = pc_open(m, "/d", O_CREAT | O_RDWR | O_DIRECT, 0644);
	CHECK(fd >= 0);
	CHECK(pc_pwrite(fd, buf, n, 4096) == (ssize_t)n);
	CHECK(pc_pwrite(fd, buf, 100, 0) == -EINVAL);
	memset(back, 0, n);
	CHECK(pc_pread(fd, back, n, 4096) == (ssize_t)n && memcmp(back, buf, n) == 0);
	CHECK(pc_fsync(fd) == 0);
	CHECK(pc_close(fd) == 0);
	m = remount(os, m, 8 << 20);
	fd = pc_open(m, "/d", O_RDONLY, 0);
	CHECK(pc_pread(fd, back, n, 4096) == (ssize_t)n && memcmp(back, buf, n) == 0);
	CHECK(pc_pread(fd, back, 4096, 0) == 4096 && back[0] == 0 && back[4095] == 0);
	pc_close(fd);
	CHECK(pc_umount(m) == 0);
	free(buf);
	free(back);
	pc_objstore_close(os);
}

/* ---- concurrency (also run under TSan: the 'concurrency' suite) ---- */

struct cthread {
	struct pc_mount *m;
	int id;
	int failures;
	pthread_t th;
};

/* Random writes, truncates and fsyncs of one file against a model. */
static void *writer_thread(void *arg)
{
	struct cthread *t = arg;
	const size_t cap = 3 << 20;
	unsigned char *model = calloc(1, cap), *buf = malloc(cap);
	struct tu_rng rng = { (uint64_t)t->id * 7919 + 1 };
	char path[32];
	size_t size = 0;
	int fd;

	snprintf(path, sizeof(path), "/c%d", t->id);
	fd = pc_open(t->m, path, O_CREAT | O_RDWR, 0644);
	if (fd < 0 || !model || !buf) {
		t->failures++;
		goto out;
	}
	for (int op = 0; op < 200; op++) {
		size_t off = (size_t)tu_rand_below(&rng, cap - 70000);
		size_t len = (size_t)tu_rand_below(&rng, 70000) + 1;
		uint64_t kind = tu_rand_below(&rng, 20);

		if (kind == 0) {
			if (pc_ftruncate(fd, (off_t)off) != 0)
				t->failures++;
			if (off < size)
				memset(model + off, 0, size - off);
			size = off;
		} else if (kind == 1) {
			if (pc_fsync(fd) != 0)
				t->failures++;
		} else {
			tu_fill(model + off, off, len, (unsigned)op);
			if (pc_pwrite(fd, model + off, len, (off_t)off) != (ssize_t)len)
				t->failures++;
			if (off + len > size)
				size = off + len;
		}
	}
	if (pc_pread(fd, buf, cap, 0) != (ssize_t)size || memcmp(buf, model, size) != 0)
		t->failures++;
	pc_close(fd);
out:
	free(model);
	free(buf);
	return NULL;
}

/* Creates, renames and removes in one shared directory. */
static void *namespace_thread(void *arg)
{
	struct cthread *t = arg;
	char a[64], b[64];

	for (int i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "/shared/n%d-%d", t->id, i);
		snprintf(b, sizeof(b), "/shared/r%d-%d", t->id, i % 7);
		if (write_all(t->m, a, a, strlen(a), 0) != (ssize_t)strlen(a))
			t->failures++;
		if (pc_rename(t->m, a, b) != 0)
			t->failures++;
		if (i % 3 == 0 && pc_unlink(t->m, b) != 0)
			t->failures++;
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct pc_objstore *os = new_fs(&striped);
	struct pc_mount *m = mnt(os, 2 << 20);
	struct cthread t[6];
	struct pc_dir *d;
	struct pc_dirent de;
	int names = 0;

	(void)state;
	CHECK(pc_mkdir(m, "/shared", 0755) == 0);
	for (int i = 0; i < 6; i++) {
		t[i] = (struct cthread){ .m = m, .id = i };
		assert_int_equal(pthread_create(&t[i].th, NULL, i < 4 ? writer_thread : namespace_thread,
						&t[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i].th, NULL);
		CHECK(t[i].failures == 0);
	}
	m = remount(os, m, 2 << 20);
	CHECK(pc_opendir(m, "/shared", &d) == 0);
	while (pc_readdir(d, &de) == 1)
		names += de.d_name[0] == 'r';
	pc_closedir(d);
	/* r<id>-k survives when the last i with i % 7 == k is not a multiple
	 * of 3: k = 0 (98), 3 (94), 4 (95), 6 (97); per thread. */
	CHECK(names == 2 * 4);
	CHECK(pc_umount(m) == 0);
	pc_objstore_close(os);
}

static void test_mkfs_and_source(void **state)
{
	struct pc_objstore *os = objstore_mem_create();
	struct pc_objfs_layout bad = { 4096, 1, 6144 };
	struct pc_mount *m;
	char msg[256];

	(void)state;
	CHECK(pc_objfs_mkfs(os, &bad, msg, sizeof(msg)) == -EINVAL && strstr(msg, "layout"));
	CHECK(objstore_mem_count(os, NULL) == 0);
	CHECK(pc_objfs_mkfs(os, NULL, msg, sizeof(msg)) == 0);
	CHECK(pc_objfs_mkfs(os, NULL, msg, sizeof(msg)) == -EEXIST);
	/* statfs is the store's (objstore_mem: 16 GiB total). */
	{
		struct pc_statfs sf;

		m = mnt(os, 1 << 20);
		CHECK(pc_statfs(m, &sf) == 0 && sf.f_bsize == 4096 &&
		      sf.f_blocks == (1ull << 34) / 4096 && sf.f_bavail < sf.f_blocks &&
		      sf.f_namelen == 255);
		CHECK(pc_umount(m) == 0);
	}
	pc_objstore_close(os);

	/* A source path is a directory store: the mount opens it, holds its
	 * lock (a second mount is refused) and closes it at umount. */
	{
		char dir[4200], log[4300], path[4300], buf[6] = "";
		struct pc_objstore *ds;
		struct pc_mount *m2;
		int f;

		CHECK(pc_mount("objfs", "/nonexistent/objfs", NULL, &m) < 0);
		CHECK(strstr(pc_mount_error(), "/nonexistent/objfs") != NULL);
		CHECK(tu_make_tmpdir("objfs-src", "", dir, sizeof(dir), log, sizeof(log)) == 0);
		snprintf(path, sizeof(path), "%s/store", dir);
		CHECK(pc_objstore_mkfs_dir(path) == 0);
		CHECK(pc_mount("objfs", path, NULL, &m) == -EINVAL);	/* no filesystem yet */
		CHECK(strstr(pc_mount_error(), "mkfs") != NULL);
		CHECK(pc_objstore_open_dir(path, 0, &ds) == 0);
		CHECK(pc_objfs_mkfs(ds, NULL, msg, sizeof(msg)) == 0);
		pc_objstore_close(ds);
		CHECK(pc_mount("objfs", path, NULL, &m) == 0);
		CHECK(pc_mount("objfs", path, NULL, &m2) == -EBUSY);
		CHECK((f = pc_open(m, "/f", O_CREAT | O_RDWR, 0644)) >= 0);
		CHECK(pc_pwrite(f, "hello", 5, 0) == 5);
		CHECK(pc_close(f) == 0);
		CHECK(pc_umount(m) == 0);
		CHECK(pc_mount("objfs", path, NULL, &m) == 0);
		CHECK((f = pc_open(m, "/f", O_RDONLY, 0)) >= 0);
		CHECK(pc_pread(f, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5));
		CHECK(pc_close(f) == 0);
		CHECK(pc_umount(m) == 0);
		tu_run("rm -rf '%s'", dir);
	}
}

/* Set the size recorded in inode @ino's object to @size behind objfs's
 * back (unmounted): the state kill -9 leaves when data reached the
 * objects but the inode object with the new size did not. */
static void set_recorded_size(struct pc_objstore *os, uint64_t ino, uint64_t size)
{
	unsigned char b[8];
	char oid[64];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(size >> (8 * i));
	snprintf(oid, sizeof(oid), "%" PRIx64 ".inode", ino);
	poke(os, oid, 32, b, 8);
}

static bool zeros(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Stale data after a crash (docs/objfs.md, max_size): the objects hold
 * bytes past the size the inode object records. O_TRUNC, a write past EOF
 * and truncate up must not show them in a hole (they did before max_size:
 * only objects up to the recorded size were cut).
 */
static void test_crash_stale_tail(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 16 << 20);
	size_t mb2 = 2u << 20, mb3 = 3u << 20;
	unsigned char *pat = malloc(mb2), *buf = malloc(mb3);
	uint64_t ia, ib, ic;
	int fd;

	(void)state;
	assert_non_null(pat);
	assert_non_null(buf);
	memset(pat, 0xA5, mb2);
	CHECK(write_all(m, "/a", pat, 65536, 0) == 65536);
	CHECK(write_all(m, "/b", pat, mb2, 0) == (ssize_t)mb2);
	CHECK(write_all(m, "/c", pat, mb2, 0) == (ssize_t)mb2);
	ia = ino_of(m, "/a");
	ib = ino_of(m, "/b");
	ic = ino_of(m, "/c");
	CHECK(pc_umount(m) == 0);
	set_recorded_size(os, ia, 0);
	set_recorded_size(os, ib, 8192);
	set_recorded_size(os, ic, 8192);

	for (int pass = 0; pass < 2; pass++) {
		m = mnt(os, 16 << 20);
		if (pass == 0) {
			/* a: O_TRUNC (empty as recorded), a write past EOF. */
			fd = pc_open(m, "/a", O_RDWR | O_TRUNC, 0);
			CHECK(fd >= 0);
			CHECK(pc_pwrite(fd, pat, 512, 131072) == 512);
			pc_close(fd);
			/* b: O_TRUNC from 8 KiB, then truncate up. */
			fd = pc_open(m, "/b", O_RDWR | O_TRUNC, 0);
			CHECK(fd >= 0);
			CHECK(pc_ftruncate(fd, (off_t)mb3) == 0);
			pc_close(fd);
			/* c: truncate up from 8 KiB. */
			CHECK(pc_truncate(m, "/c", (off_t)mb3) == 0);
		}
		/* Read (pass 0: from the objects, nothing of it cached; pass 1:
		 * after a remount). */
		fd = pc_open(m, "/a", O_RDONLY, 0);
		CHECK(fd >= 0 && pc_pread(fd, buf, 131072 + 512, 0) == 131072 + 512);
		CHECK(zeros(buf, 131072) && !memcmp(buf + 131072, pat, 512));
		pc_close(fd);
		fd = pc_open(m, "/b", O_RDONLY, 0);
		CHECK(fd >= 0 && pc_pread(fd, buf, mb3, 0) == (ssize_t)mb3 && zeros(buf, mb3));
		pc_close(fd);
		fd = pc_open(m, "/c", O_RDONLY, 0);
		CHECK(fd >= 0 && pc_pread(fd, buf, mb3, 0) == (ssize_t)mb3);
		CHECK(!memcmp(buf, pat, 8192) && zeros(buf + 8192, mb3 - 8192));
		pc_close(fd);
		CHECK(pc_umount(m) == 0);
	}
	free(pat);
	free(buf);
	pc_objstore_close(os);
}

/*
 * The cost of max_size: a 200 MiB sequential copy raises it a handful of
 * times (one durable inode write per doubling), not once per write; so
 * does rewriting the file after O_TRUNC (which lowered it).
 */
static void test_max_size_raises(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 32 << 20);
	size_t chunk = 1u << 20;
	unsigned char *pat = malloc(chunk);
	long raises[2];
	int fd;

	(void)state;
	assert_non_null(pat);
	memset(pat, 0x3C, chunk);
	for (int round = 0; round < 2; round++) {
		objstore_mem_reset_stats(os);
		fd = pc_open(m, "/big", O_CREAT | O_RDWR | O_TRUNC, 0644);
		CHECK(fd >= 0);
		for (unsigned i = 0; i < 200; i++)
			CHECK(pc_pwrite(fd, pat, chunk, (off_t)i * chunk) == (ssize_t)chunk);
		CHECK(pc_fsync(fd) == 0);
		pc_close(fd);
		raises[round] = objstore_mem_sync_inode_writes(os);
	}
	if (getenv("OBJFS_TEST_VERBOSE"))
		fprintf(stderr, "max_size raises for 200 MiB: %ld, after O_TRUNC %ld\n", raises[0],
			raises[1]);
	/* 4 MiB objects: 4, 8, 16, 32, 64, 128, 256 MiB. */
	CHECK(raises[0] >= 1 && raises[0] <= 8);
	CHECK(raises[1] >= 1 && raises[1] <= 8);
	CHECK(pc_umount(m) == 0);
	free(pat);
	pc_objstore_close(os);
}

/*
 * Inode records of version 1 (80-byte header, no max_size: made before
 * max_size) are still read, with max_size = size, and rewritten as
 * version 2 (88 bytes) at their next write; an unknown version is
 * -EUCLEAN with a clear message.
 */
static void test_inode_v1(void **state)
{
	struct pc_objstore *os = new_fs(NULL);
	struct pc_mount *m = mnt(os, 8 << 20);
	unsigned char hdr[88];
	struct iovec iov = { hdr, sizeof(hdr) };
	struct pc_obj_req req;
	char oid[64];
	uint64_t ino;

	(void)state;
	CHECK(write_all(m, "/f", "hello", 5, 0) == 5);
	ino = ino_of(m, "/f");
	CHECK(pc_umount(m) == 0);
	snprintf(oid, sizeof(oid), "%" PRIx64 ".inode", ino);
	req = (struct pc_obj_req){ .op = PC_OBJ_READ, .oid = oid, .len = sizeof(hdr), .iov = &iov,
				   .iovcnt = 1, .snapid = PC_SNAP_HEAD };
	CHECK(pc_objstore_exec(os, &req) == 88);
	CHECK(hdr[4] == 2 && hdr[6] == 88 && hdr[82] == 0x40);	/* version 2, max_size 4 MiB */
	/* Make it version 1: header 80, nothing after it. */
	poke(os, oid, 4, "\x01\x00\x50\x00", 4);
	req = (struct pc_obj_req){ .op = PC_OBJ_TRUNCATE, .oid = oid, .off = 80 };
	CHECK(pc_objstore_exec(os, &req) == 0);
	m = mnt(os, 8 << 20);
	CHECK(file_is(m, "/f", (const unsigned char *)"hello", 5));
	CHECK(write_all(m, "/f", " world", 6, 5) == 6);
	CHECK(pc_umount(m) == 0);
	req = (struct pc_obj_req){ .op = PC_OBJ_READ, .oid = oid, .len = sizeof(hdr), .iov = &iov,
				   .iovcnt = 1, .snapid = PC_SNAP_HEAD };
	CHECK(pc_objstore_exec(os, &req) == 88 && hdr[4] == 2 && hdr[6] == 88);
	m = mnt(os, 8 << 20);
	CHECK(file_is(m, "/f", (const unsigned char *)"hello world", 11));
	CHECK(pc_umount(m) == 0);
	/* An unknown version. */
	poke(os, oid, 4, "\x03\x00", 2);
	m = mnt(os, 8 << 20);
	pc_clear_last_error();
	CHECK(pc_open(m, "/f", O_RDONLY, 0) == -EUCLEAN);
	CHECK(strstr(pc_last_error(), "unknown version 3") != NULL);
	CHECK(pc_umount(m) == 0);
	pc_objstore_close(os);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_hand),
		cmocka_unit_test(test_layout_bruteforce),
		cmocka_unit_test(test_mkfs_and_source),
		cmocka_unit_test(test_basic_remount),
		cmocka_unit_test(test_holes_truncate),
		cmocka_unit_test(test_big_sparse),
		cmocka_unit_test(test_striped),
		cmocka_unit_test(test_rm_r),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_write_fault),
		cmocka_unit_test(test_write_batching),
		cmocka_unit_test(test_small_cache_copy),
		cmocka_unit_test(test_direct_io),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_crash_stale_tail),
		cmocka_unit_test(test_max_size_raises),
		cmocka_unit_test(test_inode_v1),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	tu_report("test_objfs");
	return ret;
}
