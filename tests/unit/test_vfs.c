/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_vfs.c - the VFS and the public API, on ramfs.
 *
 * Every test mounts a fresh ramfs (a private pool, 32 MiB unless the test
 * needs pressure) and unmounts it at the end, checking pc_umount's result.
 * Data is checked byte for byte against a shadow copy kept in the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pagecache/pagecache.h>
#include <pagecache/vfs.h>
#include <pagecache/mm.h>
#include "namei_dots.h"

#define PAGE 4096
#define PC_MIN_TEST(a, b) ((a) < (b) ? (a) : (b))

static int mount_ramfs(void **state, size_t cache_size)
{
	struct pc_mount_opts opts = { .cache_size = cache_size };
	struct pc_mount *m = NULL;
	int err = pc_mount("ramfs", NULL, &opts, &m);

	if (err) {
		fprintf(stderr, "pc_mount: %d %s\n", err, pc_mount_error());
		return -1;
	}
	*state = m;
	return 0;
}

static int setup(void **state) { return mount_ramfs(state, 32 << 20); }

static int teardown(void **state)
{
	int err = pc_umount(*state);

	if (err)
		fprintf(stderr, "pc_umount: %d\n", err);
	return err ? -1 : 0;
}

/* Deterministic bytes: value of byte @off of stream @seed. */
static unsigned char pat(unsigned seed, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)seed << 32);
	x ^= x >> 29;
	return (unsigned char)(x * 0xbf58476d1ce4e5b9ULL >> 56);
}

static void fill(unsigned char *buf, unsigned seed, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(seed, off + i);
}

static void assert_zero(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i]) {
			fprintf(stderr, "non-zero byte 0x%02x at %zu\n", buf[i], i);
			fail();
		}
}

static off_t fsize(int fd)
{
	struct stat st;

	assert_int_equal(pc_fstat(fd, &st), 0);
	return st.st_size;
}

static void write_file(struct pc_mount *m, const char *path, const void *data, size_t len)
{
	int fd = pc_open(m, path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, data, len, 0), (ssize_t)len);
	assert_int_equal(pc_close(fd), 0);
}

/* Whole content of @path must be @len bytes equal to @data. */
static void check_file(struct pc_mount *m, const char *path, const void *data, size_t len)
{
	unsigned char *buf = malloc(len + 16);
	int fd = pc_open(m, path, O_RDONLY, 0);

	assert_true(fd >= 0);
	assert_int_equal(fsize(fd), (off_t)len);
	assert_int_equal(pc_pread(fd, buf, len + 16, 0), (ssize_t)len);
	assert_memory_equal(buf, data, len);
	assert_int_equal(pc_close(fd), 0);
	free(buf);
}

/* ------------------------------------------------------------------ */

static void test_open_create_excl_trunc(void **state)
{
	struct pc_mount *m = *state;
	char buf[16];
	int fd, fd2;

	assert_int_equal(pc_open(m, "/f", O_RDWR, 0), -ENOENT);
	fd = pc_open(m, "/f", O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, "abcdef", 6, 0), 6);
	assert_int_equal(pc_open(m, "/f", O_CREAT | O_EXCL | O_RDWR, 0600), -EEXIST);
	assert_int_equal(pc_open(m, "f", O_CREAT | O_EXCL | O_WRONLY, 0600), -EEXIST);

	/* O_CREAT of an existing file opens it, contents intact. */
	fd2 = pc_open(m, "/f", O_CREAT | O_RDONLY, 0600);
	assert_true(fd2 >= 0 && fd2 != fd);
	assert_int_equal(pc_pread(fd2, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(pc_close(fd2), 0);

	/* O_TRUNC empties it, seen through the first descriptor too. */
	fd2 = pc_open(m, "/f", O_TRUNC | O_WRONLY, 0);
	assert_true(fd2 >= 0);
	assert_int_equal(fsize(fd), 0);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), 0);
	assert_int_equal(pc_close(fd2), 0);

	/* Mode bits of a created file. */
	struct stat st;
	assert_int_equal(pc_stat(m, "/f", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_close(fd), -EBADF);
}

static void test_append(void **state)
{
	struct pc_mount *m = *state;
	unsigned char expect[3 * PAGE + 100], buf[sizeof(expect) + 10];
	size_t len = 0;
	int fd, fd2;

	fd = pc_open(m, "/log", O_CREAT | O_WRONLY | O_APPEND, 0644);
	assert_true(fd >= 0);
	fd2 = pc_open(m, "/log", O_WRONLY | O_APPEND, 0);
	assert_true(fd2 >= 0);
	/* Appends from two descriptors and pwrite's offset ignored (as Linux). */
	for (int i = 0; len + 700 <= sizeof(expect); i++) {
		size_t n = 100 + (i * 37) % 600;
		unsigned char chunk[700];

		fill(chunk, (unsigned)i, 0, n);
		if (i % 3 == 0)
			assert_int_equal(pc_pwrite(i & 1 ? fd : fd2, chunk, n, 0), (ssize_t)n);
		else
			assert_int_equal(pc_write(i & 1 ? fd : fd2, chunk, n), (ssize_t)n);
		memcpy(expect + len, chunk, n);
		len += n;
	}
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_close(fd2), 0);
	fd = pc_open(m, "/log", O_RDONLY, 0);
	assert_int_equal(pc_read(fd, buf, sizeof(buf)), (ssize_t)len);
	assert_memory_equal(buf, expect, len);
	assert_int_equal(pc_close(fd), 0);
}

static void test_pread_pwrite_odd(void **state)
{
	struct pc_mount *m = *state;
	enum { SZ = 9 * PAGE + 123 };
	static unsigned char shadow[SZ], buf[SZ + PAGE], chunk[SZ];
	static const struct { size_t off, len; } w[] = {
		{ 4093, 10000 }, { 0, 1 }, { 1, 4095 }, { 8191, 2 }, { 5 * PAGE - 7, PAGE + 14 },
		{ 3 * PAGE, PAGE }, { SZ - 1, 1 }, { 17, 3 }, { 2 * PAGE + 1, 3 * PAGE - 2 },
	};
	size_t end = 0;
	int fd;

	memset(shadow, 0, sizeof(shadow));
	fd = pc_open(m, "/odd", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		fill(chunk, (unsigned)i + 1, w[i].off, w[i].len);
		assert_int_equal(pc_pwrite(fd, chunk, w[i].len, (off_t)w[i].off), (ssize_t)w[i].len);
		memcpy(shadow + w[i].off, chunk, w[i].len);
		if (w[i].off + w[i].len > end)
			end = w[i].off + w[i].len;
		assert_int_equal(fsize(fd), (off_t)end);
	}
	assert_int_equal(end, SZ);
	/* Read back with many chunkings, including across page edges. */
	static const size_t steps[] = { 1, 7, 511, 4095, 4096, 4097, 12345, SZ };
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		for (size_t off = 0; off < SZ; off += steps[s]) {
			size_t want = PC_MIN_TEST(steps[s], SZ - off);
			assert_int_equal(pc_pread(fd, buf, steps[s], (off_t)off), (ssize_t)want);
			assert_memory_equal(buf, shadow + off, want);
		}
	}
	/* preadv/pwritev with odd segments. */
	unsigned char a[3], b[5000], c[1];
	struct iovec iov[4] = { { a, 3 }, { NULL, 0 }, { b, 5000 }, { c, 1 } };
	fill(a, 99, 0, 3);
	fill(b, 98, 0, 5000);
	fill(c, 97, 0, 1);
	assert_int_equal(pc_pwritev(fd, iov, 4, 4090), 5004);
	memcpy(shadow + 4090, a, 3);
	memcpy(shadow + 4093, b, 5000);
	memcpy(shadow + 9093, c, 1);
	memset(a, 0, 3);
	memset(b, 0, 5000);
	memset(c, 0, 1);
	assert_int_equal(pc_preadv(fd, iov, 4, 4090), 5004);
	assert_memory_equal(a, shadow + 4090, 3);
	assert_memory_equal(b, shadow + 4093, 5000);
	assert_memory_equal(c, shadow + 9093, 1);
	assert_int_equal(pc_pread(fd, buf, SZ, 0), SZ);
	assert_memory_equal(buf, shadow, SZ);
	assert_int_equal(pc_close(fd), 0);
}

static void test_holes_and_eof(void **state)
{
	struct pc_mount *m = *state;
	unsigned char buf[3 * PAGE];
	int fd = pc_open(m, "/sparse", O_CREAT | O_RDWR, 0644);

	assert_true(fd >= 0);
	/* One byte far out: everything before reads as zeros. */
	assert_int_equal(pc_pwrite(fd, "x", 1, 10 * PAGE + 5), 1);
	assert_int_equal(fsize(fd), 10 * PAGE + 6);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 4 * PAGE + 3), sizeof(buf));
	assert_zero(buf, sizeof(buf));
	/* Short read at EOF, zero at and past it. */
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 10 * PAGE), 6);
	assert_zero(buf, 5);
	assert_int_equal(buf[5], 'x');
	assert_int_equal(pc_pread(fd, buf, 10, 10 * PAGE + 6), 0);
	assert_int_equal(pc_pread(fd, buf, 10, 100 * PAGE), 0);
	assert_int_equal(pc_pread(fd, buf, 0, 0), 0);
	/* Sequential read through EOF. */
	assert_int_equal(pc_lseek(fd, 10 * PAGE + 2, SEEK_SET), 10 * PAGE + 2);
	assert_int_equal(pc_read(fd, buf, 100), 4);
	assert_int_equal(pc_read(fd, buf, 100), 0);
	assert_int_equal(pc_lseek(fd, 0, SEEK_CUR), 10 * PAGE + 6);
	assert_int_equal(pc_lseek(fd, -1, SEEK_END), 10 * PAGE + 5);
	assert_int_equal(pc_read(fd, buf, 100), 1);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(pc_lseek(fd, -1, SEEK_SET), -EINVAL);
	assert_int_equal(pc_lseek(fd, 0, 42), -EINVAL);
	assert_int_equal(pc_close(fd), 0);
}

static void test_ftruncate(void **state)
{
	struct pc_mount *m = *state;
	enum { SZ = 5 * PAGE };
	static unsigned char data[SZ], buf[8 * PAGE];
	int fd, rfd;

	fill(data, 7, 0, SZ);
	fd = pc_open(m, "/t", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, data, SZ, 0), SZ);

	/* Down into the middle of a page. */
	assert_int_equal(pc_ftruncate(fd, 5000), 0);
	assert_int_equal(fsize(fd), 5000);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), 5000);
	assert_memory_equal(buf, data, 5000);

	/* Up again: the cut-off part reads as zeros, also in the EOF page. */
	assert_int_equal(pc_ftruncate(fd, 6 * PAGE + 1), 0);
	assert_int_equal(fsize(fd), 6 * PAGE + 1);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), 6 * PAGE + 1);
	assert_memory_equal(buf, data, 5000);
	assert_zero(buf + 5000, 6 * PAGE + 1 - 5000);

	/* Writing past a truncated tail leaves zeros between. */
	assert_int_equal(pc_ftruncate(fd, 100), 0);
	assert_int_equal(pc_pwrite(fd, "end", 3, 3 * PAGE), 3);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), 3 * PAGE + 3);
	assert_memory_equal(buf, data, 100);
	assert_zero(buf + 100, 3 * PAGE - 100);
	assert_memory_equal(buf + 3 * PAGE, "end", 3);

	/* To zero, and by path. */
	assert_int_equal(pc_ftruncate(fd, 0), 0);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), 0);
	assert_int_equal(pc_truncate(m, "/t", 2 * PAGE), 0);
	assert_int_equal(fsize(fd), 2 * PAGE);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), 2 * PAGE);
	assert_zero(buf, 2 * PAGE);

	/* Errors. */
	assert_int_equal(pc_ftruncate(fd, -1), -EINVAL);
	rfd = pc_open(m, "/t", O_RDONLY, 0);
	assert_true(rfd >= 0);
	assert_int_equal(pc_ftruncate(rfd, 0), -EBADF);
	assert_int_equal(pc_close(rfd), 0);
	assert_int_equal(pc_truncate(m, "/", 0), -EISDIR);
	assert_int_equal(pc_truncate(m, "/nope", 0), -ENOENT);
	assert_int_equal(pc_ftruncate(12345, 0), -EBADF);
	assert_int_equal(pc_fallocate(fd, 0, 0, PAGE), -EOPNOTSUPP);	/* not on ramfs */
	assert_int_equal(pc_fallocate(fd, 0, -1, PAGE), -EINVAL);
	assert_int_equal(pc_fallocate(-1, 0, 0, PAGE), -EBADF);
	assert_int_equal(pc_close(fd), 0);
}

/* ---- directories ---- */

struct seen {
	char name[64][32];
	unsigned char type[64];
	uint64_t ino[64];
	int n;
};

static int list_dir(struct pc_mount *m, const char *path, struct seen *s)
{
	struct pc_dir *d;
	struct pc_dirent e;
	int err, r;

	s->n = 0;
	err = pc_opendir(m, path, &d);
	if (err)
		return err;
	while ((r = pc_readdir(d, &e)) == 1) {
		assert_true(s->n < 64);
		assert_true(strlen(e.d_name) < 32);
		strcpy(s->name[s->n], e.d_name);
		s->type[s->n] = e.d_type;
		s->ino[s->n] = e.d_ino;
		s->n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(pc_closedir(d), 0);
	return 0;
}

static int seen_find(const struct seen *s, const char *name)
{
	int found = -1;

	for (int i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0) {
			assert_int_equal(found, -1);	/* listed once only */
			found = i;
		}
	return found;
}

static void test_mkdir_readdir(void **state)
{
	struct pc_mount *m = *state;
	struct seen s;
	struct stat st, dst;
	int i;

	assert_int_equal(pc_mkdir(m, "/d", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/d", 0755), -EEXIST);
	assert_int_equal(pc_mkdir(m, "/", 0755), -EEXIST);
	assert_int_equal(pc_mkdir(m, "/d/sub/", 0700), 0);	/* trailing slash is fine */
	write_file(m, "/d/a", "A", 1);
	write_file(m, "/d/b", "BB", 2);
	assert_int_equal(pc_symlink(m, "a", "/d/l"), 0);

	assert_int_equal(list_dir(m, "/d", &s), 0);
	assert_int_equal(s.n, 6);
	assert_int_equal(pc_stat(m, "/d", &dst), 0);
	i = seen_find(&s, ".");
	assert_true(i >= 0);
	assert_int_equal(s.type[i], DT_DIR);
	assert_int_equal(s.ino[i], dst.st_ino);
	assert_true(seen_find(&s, "..") >= 0);
	i = seen_find(&s, "a");
	assert_true(i >= 0);
	assert_int_equal(s.type[i], DT_REG);
	assert_int_equal(pc_stat(m, "/d/a", &st), 0);
	assert_int_equal(s.ino[i], st.st_ino);
	assert_int_equal(s.type[seen_find(&s, "sub")], DT_DIR);
	assert_int_equal(s.type[seen_find(&s, "l")], DT_LNK);
	assert_true(seen_find(&s, "b") >= 0);

	/* Link counts: 2 + subdirectories. */
	assert_int_equal(dst.st_nlink, 3);
	assert_true(S_ISDIR(dst.st_mode));
	assert_int_equal(dst.st_mode & 07777, 0755);
	assert_int_equal(pc_stat(m, "/d/sub", &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* Errors. */
	assert_int_equal(pc_opendir(m, "/d/a", &(struct pc_dir *){ NULL }), -ENOTDIR);
	assert_int_equal(pc_opendir(m, "/nope", &(struct pc_dir *){ NULL }), -ENOENT);
	assert_int_equal(pc_mkdir(m, "/nope/x", 0755), -ENOENT);
	assert_int_equal(pc_mkdir(m, "/d/a/x", 0755), -ENOTDIR);

	/* Root listing. */
	assert_int_equal(list_dir(m, "/", &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(seen_find(&s, "d") >= 0);
	assert_int_equal(list_dir(m, "", &s), 0);
	assert_int_equal(s.n, 3);
}

/* Many entries (several readdir batches) with removals in the middle of
 * the listing: every entry that stays is listed exactly once. */
static void test_readdir_large(void **state)
{
	struct pc_mount *m = *state;
	enum { N = 300 };
	char path[64], *listed;
	struct pc_dir *d;
	struct pc_dirent e;
	int r, count = 0, fd;

	assert_int_equal(pc_mkdir(m, "/big", 0755), 0);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/big/file%04d", i);
		fd = pc_open(m, path, O_CREAT | O_WRONLY | O_EXCL, 0644);
		assert_true(fd >= 0);
		assert_int_equal(pc_close(fd), 0);
	}
	listed = calloc(N, 1);
	assert_int_equal(pc_opendir(m, "/big", &d), 0);
	while ((r = pc_readdir(d, &e)) == 1) {
		int k;

		if (!strcmp(e.d_name, ".") || !strcmp(e.d_name, ".."))
			continue;
		assert_int_equal(sscanf(e.d_name, "file%d", &k), 1);
		assert_true(k >= 0 && k < N);
		assert_int_equal(listed[k], 0);
		assert_true(k < N / 2 || k % 2 == 0);	/* odd ones past N/2 were removed */
		listed[k] = 1;
		count++;
		if (count == 100) {
			/* Remove the odd entries of the second half mid-listing. */
			for (int j = N / 2 + 1; j < N; j += 2) {
				snprintf(path, sizeof(path), "/big/file%04d", j);
				assert_int_equal(pc_unlink(m, path), 0);
			}
		}
	}
	assert_int_equal(r, 0);
	assert_int_equal(pc_closedir(d), 0);
	assert_int_equal(count, N - N / 4);
	free(listed);
}

static void test_rename(void **state)
{
	struct pc_mount *m = *state;
	struct stat st, st2;
	uint64_t ino;

	write_file(m, "/src", "source", 6);
	write_file(m, "/dst", "destination", 11);
	assert_int_equal(pc_stat(m, "/src", &st), 0);
	ino = st.st_ino;

	/* Replace an existing file. */
	assert_int_equal(pc_rename(m, "/src", "/dst"), 0);
	assert_int_equal(pc_stat(m, "/src", &st), -ENOENT);
	assert_int_equal(pc_stat(m, "/dst", &st), 0);
	assert_int_equal(st.st_ino, ino);
	check_file(m, "/dst", "source", 6);

	/* Into a directory, under a new name. */
	assert_int_equal(pc_mkdir(m, "/dir", 0755), 0);
	assert_int_equal(pc_rename(m, "/dst", "/dir/moved"), 0);
	check_file(m, "/dir/moved", "source", 6);
	assert_int_equal(pc_stat(m, "/dst", &st), -ENOENT);

	/* Renaming onto itself (same name) is a no-op. */
	assert_int_equal(pc_rename(m, "/dir/moved", "/dir/moved"), 0);
	check_file(m, "/dir/moved", "source", 6);

	/* Directories: move one, link counts follow. */
	assert_int_equal(pc_mkdir(m, "/a", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/a/inner", 0755), 0);
	write_file(m, "/a/inner/f", "deep", 4);
	assert_int_equal(pc_rename(m, "/a/inner", "/dir/inner"), 0);
	check_file(m, "/dir/inner/f", "deep", 4);
	assert_int_equal(pc_stat(m, "/a", &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(pc_stat(m, "/dir", &st), 0);
	assert_int_equal(st.st_nlink, 3);
	/* ".." of the moved directory is its new parent. */
	assert_int_equal(pc_stat(m, "/dir/inner/..", &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);

	/* A directory over a non-empty one: ENOTEMPTY; over an empty one: fine. */
	assert_int_equal(pc_mkdir(m, "/full", 0755), 0);
	write_file(m, "/full/x", "x", 1);
	assert_int_equal(pc_rename(m, "/a", "/full"), -ENOTEMPTY);
	assert_int_equal(pc_mkdir(m, "/empty", 0755), 0);
	assert_int_equal(pc_rename(m, "/a", "/empty"), 0);
	assert_int_equal(pc_stat(m, "/a", &st), -ENOENT);
	assert_int_equal(pc_stat(m, "/empty", &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* Type mismatches, own subtree, missing source. */
	assert_int_equal(pc_rename(m, "/dir/moved", "/full"), -EISDIR);
	assert_int_equal(pc_rename(m, "/full", "/dir/moved"), -ENOTDIR);
	assert_int_equal(pc_rename(m, "/dir", "/dir/inner/sub"), -EINVAL);
	assert_int_equal(pc_rename(m, "/dir", "/dir/x"), -EINVAL);
	assert_int_equal(pc_rename(m, "/nope", "/x"), -ENOENT);
	assert_int_equal(pc_rename(m, "/dir/moved", "/nope/x"), -ENOENT);
	assert_int_equal(pc_rename(m, "/", "/x"), -EBUSY);
	/* A directory over an ancestor of itself. */
	assert_int_equal(pc_rename(m, "/dir/inner", "/dir"), -ENOTEMPTY);

	/* Open files survive being renamed and replaced. */
	write_file(m, "/r1", "one", 3);
	write_file(m, "/r2", "two", 3);
	int fd = pc_open(m, "/r2", O_RDONLY, 0);
	char buf[4];
	assert_true(fd >= 0);
	assert_int_equal(pc_rename(m, "/r1", "/r2"), 0);
	assert_int_equal(pc_pread(fd, buf, 4, 0), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(pc_close(fd), 0);
	check_file(m, "/r2", "one", 3);
}

static void test_unlink_rmdir(void **state)
{
	struct pc_mount *m = *state;
	unsigned char data[2 * PAGE + 10], buf[sizeof(data)];
	struct stat st;
	int fd;

	assert_int_equal(pc_mkdir(m, "/d", 0755), 0);
	write_file(m, "/d/f", "x", 1);
	assert_int_equal(pc_unlink(m, "/d"), -EISDIR);
	assert_int_equal(pc_rmdir(m, "/d/f"), -ENOTDIR);
	assert_int_equal(pc_rmdir(m, "/d"), -ENOTEMPTY);
	assert_int_equal(pc_unlink(m, "/d/f/"), -ENOTDIR);
	assert_int_equal(pc_unlink(m, "/d/nope"), -ENOENT);
	assert_int_equal(pc_rmdir(m, "/"), -EBUSY);
	assert_int_equal(pc_rmdir(m, "/d/."), -EINVAL);
	assert_int_equal(pc_unlink(m, "/d/f"), 0);
	assert_int_equal(pc_stat(m, "/d/f", &st), -ENOENT);
	assert_int_equal(pc_rmdir(m, "/d"), 0);
	assert_int_equal(pc_stat(m, "/d", &st), -ENOENT);
	assert_int_equal(pc_stat(m, "/", &st), 0);
	assert_int_equal(st.st_nlink, 2);

	/* An unlinked open file keeps its data until closed. */
	fill(data, 3, 0, sizeof(data));
	fd = pc_open(m, "/open", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, data, sizeof(data), 0), sizeof(data));
	assert_int_equal(pc_unlink(m, "/open"), 0);
	assert_int_equal(pc_stat(m, "/open", &st), -ENOENT);
	assert_int_equal(pc_fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(pc_pwrite(fd, "more", 4, sizeof(data)), 4);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_memory_equal(buf, data, sizeof(data));
	/* A new file of the same name is a different one. */
	write_file(m, "/open", "new", 3);
	check_file(m, "/open", "new", 3);
	assert_int_equal(pc_close(fd), 0);
	check_file(m, "/open", "new", 3);
}

/* A final "." or ".." (or the root) is never removed or moved (namei_dots.h). */
static void test_dot_refusals(void **state)
{
	check_dot_refusals(*state);
}

static void test_symlink(void **state)
{
	struct pc_mount *m = *state;
	char buf[64];
	struct stat st;
	int fd;

	assert_int_equal(pc_mkdir(m, "/d", 0755), 0);
	write_file(m, "/d/target", "payload", 7);
	assert_int_equal(pc_symlink(m, "target", "/d/rel"), 0);
	assert_int_equal(pc_symlink(m, "/d/target", "/abs"), 0);
	assert_int_equal(pc_symlink(m, "d", "/dlink"), 0);
	assert_int_equal(pc_symlink(m, "x", "/abs"), -EEXIST);

	assert_int_equal(pc_readlink(m, "/d/rel", buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "target", 6);
	assert_int_equal(pc_readlink(m, "/abs", buf, 3), 3);	/* truncated */
	assert_memory_equal(buf, "/d/", 3);
	assert_int_equal(pc_readlink(m, "/d/target", buf, sizeof(buf)), -EINVAL);

	/* stat follows, lstat does not. */
	assert_int_equal(pc_lstat(m, "/abs", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_size, 9);
	assert_int_equal(pc_stat(m, "/abs", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 7);
	check_file(m, "/d/rel", "payload", 7);
	check_file(m, "/abs", "payload", 7);
	/* A link in the middle of a path; ".." through a link's target. */
	check_file(m, "/dlink/target", "payload", 7);
	check_file(m, "/dlink/../d/rel", "payload", 7);
	assert_int_equal(pc_stat(m, "/dlink/", &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* O_NOFOLLOW on a link: ELOOP; on a link in the middle: followed. */
	assert_int_equal(pc_open(m, "/abs", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
	fd = pc_open(m, "/dlink/target", O_RDONLY | O_NOFOLLOW, 0);
	assert_true(fd >= 0);
	assert_int_equal(pc_close(fd), 0);

	/* Dangling: stat fails, lstat works, O_CREAT creates the target. */
	assert_int_equal(pc_symlink(m, "/d/newfile", "/dangling"), 0);
	assert_int_equal(pc_stat(m, "/dangling", &st), -ENOENT);
	assert_int_equal(pc_lstat(m, "/dangling", &st), 0);
	assert_int_equal(pc_open(m, "/dangling", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
	fd = pc_open(m, "/dangling", O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_write(fd, "made", 4), 4);
	assert_int_equal(pc_close(fd), 0);
	check_file(m, "/d/newfile", "made", 4);

	/* Loops. */
	assert_int_equal(pc_symlink(m, "loop2", "/loop1"), 0);
	assert_int_equal(pc_symlink(m, "loop1", "/loop2"), 0);
	assert_int_equal(pc_stat(m, "/loop1", &st), -ELOOP);
	assert_int_equal(pc_open(m, "/loop1", O_RDONLY, 0), -ELOOP);
	assert_int_equal(pc_open(m, "/loop1", O_CREAT | O_RDWR, 0644), -ELOOP);
	assert_int_equal(pc_stat(m, "/loop1/x", &st), -ELOOP);
	assert_int_equal(pc_lstat(m, "/loop1", &st), 0);
	/* A chain of 40 links resolves, 41 do not. */
	assert_int_equal(pc_symlink(m, "/d/target", "/c0"), 0);
	for (int i = 1; i <= 40; i++) {
		char name[16], target[16];
		snprintf(name, sizeof(name), "/c%d", i);
		snprintf(target, sizeof(target), "c%d", i - 1);
		assert_int_equal(pc_symlink(m, target, name), 0);
	}
	assert_int_equal(pc_stat(m, "/c39", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(pc_stat(m, "/c40", &st), -ELOOP);

	/* Removing a link leaves its target. */
	assert_int_equal(pc_unlink(m, "/abs"), 0);
	check_file(m, "/d/target", "payload", 7);
	assert_int_equal(pc_symlink(m, "", "/empty"), -ENOENT);
}

static void test_errors(void **state)
{
	struct pc_mount *m = *state;
	char name[300], buf[8];
	struct stat st;
	int fd, dfd;

	write_file(m, "/file", "abc", 3);
	assert_int_equal(pc_mkdir(m, "/dir", 0755), 0);

	assert_int_equal(pc_stat(m, "/nope", &st), -ENOENT);
	assert_int_equal(pc_stat(m, "/nope/deeper", &st), -ENOENT);
	assert_int_equal(pc_stat(m, "/file/x", &st), -ENOTDIR);
	assert_int_equal(pc_stat(m, "/file/", &st), -ENOTDIR);
	assert_int_equal(pc_open(m, "/file/x", O_CREAT | O_RDWR, 0644), -ENOTDIR);
	assert_int_equal(pc_open(m, "/dir", O_WRONLY, 0), -EISDIR);
	assert_int_equal(pc_open(m, "/dir", O_RDWR, 0), -EISDIR);
	assert_int_equal(pc_open(m, "/dir", O_CREAT | O_RDONLY, 0644), -EISDIR);
	assert_int_equal(pc_open(m, "/newdir/", O_CREAT | O_RDWR, 0644), -EISDIR);
	assert_int_equal(pc_open(m, "/file", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	assert_int_equal(pc_open(m, "/file", O_ACCMODE, 0), -EINVAL);
	{
		/* ramfs takes O_DIRECT (through the cache, 512-byte rules). */
		int dfd = pc_open(m, "/file", O_RDONLY | O_DIRECT, 0);
		unsigned ma = 0, oa = 0;
		char odd[8];

		assert_true(dfd >= 0);
		assert_int_equal(pc_fdioalign(dfd, &ma, &oa), 0);
		assert_int_equal(ma, 512);
		assert_int_equal(oa, 512);
		assert_int_equal(pc_pread(dfd, odd, sizeof(odd), 0), -EINVAL);
		assert_int_equal(pc_fdioalign(dfd, NULL, &oa), -EFAULT);
		assert_int_equal(pc_close(dfd), 0);
		assert_int_equal(pc_fdioalign(dfd, &ma, &oa), -EBADF);
	}
	assert_int_equal(pc_open(m, NULL, O_RDONLY, 0), -EFAULT);

	/* Names: 255 bytes fine, 256 too long; whole paths past PATH_MAX. */
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[256] = '\0';
	fd = pc_open(m, name, O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_close(fd), 0);
	name[256] = 'n';
	name[257] = '\0';
	assert_int_equal(pc_open(m, name, O_CREAT | O_RDWR, 0644), -ENAMETOOLONG);
	assert_int_equal(pc_stat(m, name, &st), -ENAMETOOLONG);
	assert_int_equal(pc_mkdir(m, name, 0755), -ENAMETOOLONG);
	char *longpath = malloc(5000);
	memset(longpath, '/', 4999);
	longpath[4999] = '\0';
	assert_int_equal(pc_stat(m, longpath, &st), -ENAMETOOLONG);
	free(longpath);

	/* Descriptors. */
	assert_int_equal(pc_pread(-1, buf, 1, 0), -EBADF);
	assert_int_equal(pc_pwrite(1 << 30, buf, 1, 0), -EBADF);
	assert_int_equal(pc_fstat(777777, &st), -EBADF);
	assert_int_equal(pc_fsync(-5), -EBADF);
	assert_int_equal(pc_close(-1), -EBADF);
	fd = pc_open(m, "/file", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, "x", 1, 0), -EBADF);
	assert_int_equal(pc_write(fd, "x", 1), -EBADF);
	assert_int_equal(pc_pread(fd, buf, 1, -1), -EINVAL);
	assert_int_equal(pc_pread(fd, NULL, 1, 0), -EFAULT);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_pread(fd, buf, 1, 0), -EBADF);
	fd = pc_open(m, "/file", O_WRONLY, 0);
	assert_int_equal(pc_pread(fd, buf, 1, 0), -EBADF);
	assert_int_equal(pc_close(fd), 0);
	dfd = pc_open(m, "/dir", O_RDONLY | O_DIRECTORY, 0);
	assert_true(dfd >= 0);
	assert_int_equal(pc_pread(dfd, buf, 1, 0), -EISDIR);
	assert_int_equal(pc_fstat(dfd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(pc_fsync(dfd), 0);
	assert_int_equal(pc_close(dfd), 0);

	/* Lowest free descriptor is reused. */
	int a = pc_open(m, "/file", O_RDONLY, 0), b = pc_open(m, "/file", O_RDONLY, 0);
	assert_true(a >= 0 && b > a);
	assert_int_equal(pc_close(a), 0);
	assert_int_equal(pc_open(m, "/file", O_RDONLY, 0), a);
	assert_int_equal(pc_close(a), 0);
	assert_int_equal(pc_close(b), 0);
}

static void test_stat_attrs(void **state)
{
	struct pc_mount *m = *state;
	static unsigned char data[3 * PAGE];
	struct timespec ts[2] = { { 1000000000, 123 }, { 1200000000, 456789 } };
	struct stat st;
	struct pc_statfs sfs;
	int fd;

	fill(data, 11, 0, sizeof(data));
	write_file(m, "/f", data, sizeof(data));
	assert_int_equal(pc_stat(m, "/f", &st), 0);
	assert_int_equal(st.st_size, sizeof(data));
	assert_int_equal(st.st_blksize, PAGE);
	assert_int_equal(st.st_blocks, sizeof(data) / 512);
	assert_int_equal(st.st_dev, 0);

	assert_int_equal(pc_chmod(m, "/f", 0640), 0);
	assert_int_equal(pc_chown(m, "/f", 1234, (gid_t)-1), 0);
	assert_int_equal(pc_stat(m, "/f", &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(pc_chown(m, "/f", (uid_t)-1, 99), 0);
	assert_int_equal(pc_stat(m, "/f", &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 99);

	assert_int_equal(pc_utimens(m, "/f", ts), 0);
	assert_int_equal(pc_stat(m, "/f", &st), 0);
	assert_int_equal(st.st_atim.tv_sec, ts[0].tv_sec);
	assert_int_equal(st.st_atim.tv_nsec, ts[0].tv_nsec);
	assert_int_equal(st.st_mtim.tv_sec, ts[1].tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, ts[1].tv_nsec);
	/* A write moves mtime to now. */
	fd = pc_open(m, "/f", O_WRONLY, 0);
	assert_int_equal(pc_pwrite(fd, "z", 1, 0), 1);
	assert_int_equal(pc_fsync(fd), 0);
	assert_int_equal(pc_fdatasync(fd), 0);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_stat(m, "/f", &st), 0);
	assert_true(st.st_mtim.tv_sec > ts[1].tv_sec);
	struct timespec omit[2] = { { 0, UTIME_OMIT }, { 5, 0 } };
	assert_int_equal(pc_utimens(m, "/f", omit), 0);
	assert_int_equal(pc_stat(m, "/f", &st), 0);
	assert_int_equal(st.st_atim.tv_sec, ts[0].tv_sec);
	assert_int_equal(st.st_mtim.tv_sec, 5);
	assert_int_equal(pc_chmod(m, "/nope", 0), -ENOENT);

	assert_int_equal(pc_statfs(m, &sfs), 0);
	assert_int_equal(sfs.f_bsize, PAGE);
	assert_int_equal(sfs.f_blocks, (32 << 20) / PAGE);
	assert_true(sfs.f_bfree < sfs.f_blocks);
	assert_int_equal(sfs.f_namelen, 255);

	struct pc_mount_stats ms;
	pc_mount_get_stats(m, &ms);
	assert_null(ms.engine);
	assert_true(ms.cache_pages >= 3);
	assert_int_equal(pc_sync(m), 0);
}

static void test_mount_errors(void **state)
{
	struct pc_mount *m = (void *)1;

	(void)state;
	assert_int_equal(pc_mount("nosuchfs", NULL, NULL, &m), -ENODEV);
	assert_null(m);
	assert_true(strlen(pc_mount_error()) > 0);
	/* Default options: a 256 MiB pool the mount owns. */
	assert_int_equal(pc_mount("ramfs", NULL, NULL, &m), 0);
	struct pc_statfs sfs;
	assert_int_equal(pc_statfs(m, &sfs), 0);
	assert_int_equal(sfs.f_blocks, (256 << 20) / PAGE);
	/* Unmount closes descriptors still open. */
	int fd = pc_open(m, "/x", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, "abc", 3, 0), 3);
	/* ... and releases directory streams left open (closedir still works). */
	struct pc_dir *d;
	struct pc_dirent e;
	assert_int_equal(pc_opendir(m, "/", &d), 0);
	assert_int_equal(pc_readdir(d, &e), 1);
	assert_int_equal(pc_umount(m), 0);
	assert_int_equal(pc_pread(fd, (char[4]){ 0 }, 3, 0), -EBADF);
	assert_int_equal(pc_readdir(d, &e), 1);	/* already buffered */
	assert_int_equal(pc_readdir(d, &e), 1);
	assert_int_equal(pc_readdir(d, &e), -EBADF);
	assert_int_equal(pc_closedir(d), 0);
}

/* ---- memory pressure ---- */

/*
 * A small pool: ramfs data must survive reclaim driven by other (clean)
 * pages, and writing more than the pool holds ends in ENOSPC, after which
 * removing a file gives the space back.
 */
static void test_pressure_and_enospc(void **state)
{
	struct pc_mount *m = NULL;
	enum { POOL = 128 * PAGE, KEEP = 60 * PAGE };
	static unsigned char data[KEEP], buf[KEEP], chunk[PAGE];
	int fd, sfd;
	ssize_t n;

	(void)state;
	assert_int_equal(mount_ramfs((void **)&m, POOL), 0);
	fill(data, 21, 0, KEEP);
	write_file(m, "/keep", data, KEEP);

	/* Read a large sparse file: its zero pages need frames, so reclaim
	 * runs and must take those, never the pinned /keep pages. */
	sfd = pc_open(m, "/sparse", O_CREAT | O_RDWR, 0644);
	assert_true(sfd >= 0);
	assert_int_equal(pc_ftruncate(sfd, 2000 * PAGE), 0);
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(pc_pread(sfd, chunk, PAGE, (off_t)i * PAGE), PAGE);
		if (chunk[0] || chunk[PAGE - 1] || memcmp(chunk, chunk + 1, PAGE - 1))
			fail_msg("hole page %d not zero", i);
	}
	check_file(m, "/keep", data, KEEP);

	/* Fill the pool: ENOSPC, not a hang or a crash; written data stays. */
	fd = pc_open(m, "/fill", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	off_t off = 0;
	for (;;) {
		fill(chunk, 5, (uint64_t)off, PAGE);
		n = pc_pwrite(fd, chunk, PAGE, off);
		if (n < 0)
			break;
		assert_int_equal(n, PAGE);
		off += n;
		assert_true(off < POOL);
	}
	assert_int_equal(n, -ENOSPC);
	assert_true(off > 0);
	for (off_t o = 0; o < off; o += PAGE) {
		assert_int_equal(pc_pread(fd, buf, PAGE, o), PAGE);
		fill(chunk, 5, (uint64_t)o, PAGE);
		assert_memory_equal(buf, chunk, PAGE);
	}
	check_file(m, "/keep", data, KEEP);
	assert_int_equal(pc_close(fd), 0);

	/* Unlinking gives the frames back. */
	assert_int_equal(pc_unlink(m, "/fill"), 0);
	write_file(m, "/again", data, KEEP / 2);
	check_file(m, "/again", data, KEEP / 2);
	check_file(m, "/keep", data, KEEP);
	assert_int_equal(pc_close(sfd), 0);
	assert_int_equal(pc_umount(m), 0);
}

/* ---- descriptor table under threads ---- */

struct thr {
	struct pc_mount *m;
	int id;
	int shared_fd;
	_Atomic int *stop;
	int errors;
};

enum { REGION = 3 * PAGE, ITERS = 1500 };

/* Opens, writes its own file and its region of a shared one, closes. */
static void *open_close_writer(void *arg)
{
	struct thr *t = arg;
	unsigned char w[REGION], r[REGION];
	char path[32];

	snprintf(path, sizeof(path), "/own%d", t->id);
	for (int i = 0; i < ITERS; i++) {
		int fd = pc_open(t->m, path, O_CREAT | O_RDWR, 0644);
		size_t len = 1 + (size_t)(i * 997) % REGION;
		off_t off = (off_t)((i * 131) % PAGE);

		if (fd < 0) {
			t->errors++;
			continue;
		}
		fill(w, (unsigned)(t->id * 100000 + i), 0, len);
		if (pc_pwrite(fd, w, len, off) != (ssize_t)len ||
		    pc_pread(fd, r, len, off) != (ssize_t)len || memcmp(w, r, len))
			t->errors++;
		if (pc_close(fd))
			t->errors++;
		/* The shared file: this thread's region only. */
		fill(w, (unsigned)t->id, 0, REGION);
		if (pc_pwrite(t->shared_fd, w + (i % 7), REGION - (i % 7),
			      (off_t)t->id * REGION + (i % 7)) != (ssize_t)(REGION - (i % 7)))
			t->errors++;
	}
	return NULL;
}

/* Hammers small descriptor numbers that the others keep reusing: every
 * call must either work on some open file or say EBADF. */
static void *fd_prober(void *arg)
{
	struct thr *t = arg;
	unsigned char b[64];
	struct stat st;

	while (!atomic_load(t->stop)) {
		for (int fd = 0; fd < 8; fd++) {
			ssize_t n = pc_pread(fd, b, sizeof(b), 0);
			int e = pc_fstat(fd, &st);

			if ((n < 0 && n != -EBADF) || (e && e != -EBADF))
				t->errors++;
		}
	}
	return NULL;
}

/*
 * Reads racing with close and reopen of the same descriptor numbers: the
 * read/write paths take per-thread-shard references (pc_vfs_fget_light),
 * close drains them. Every read must return -EBADF or exactly the bytes of
 * one of the files (each file is filled with its own byte), never a mix,
 * and never crash (ASan/TSan builds run this too).
 */
struct close_race {
	struct pc_mount *m;
	_Atomic bool stop;
	_Atomic long reads, badf;
	_Atomic int bad;
};

static void *close_race_reader(void *arg)
{
	struct close_race *cr = arg;
	unsigned char buf[PAGE];

	while (!atomic_load(&cr->stop)) {
		for (int fd = 0; fd < 8; fd++) {
			ssize_t n = pc_pread(fd, buf, sizeof(buf), 0);
			if (n == -EBADF) {
				atomic_fetch_add(&cr->badf, 1);
				continue;
			}
			if (n != (ssize_t)sizeof(buf) || buf[0] < 'a' || buf[0] > 'd' ||
			    memcmp(buf, buf + 1, sizeof(buf) - 1) != 0)
				atomic_store(&cr->bad, 1);
			atomic_fetch_add(&cr->reads, 1);
		}
	}
	return NULL;
}

static void test_close_race(void **state)
{
	struct close_race cr = { .m = *state };
	unsigned char buf[PAGE];
	pthread_t th[2];
	int fds[4];

	for (int i = 0; i < 4; i++) {
		char path[16];
		snprintf(path, sizeof(path), "/f%d", i);
		int fd = pc_open(cr.m, path, O_CREAT | O_RDWR, 0644);
		assert_true(fd >= 0);
		memset(buf, 'a' + i, sizeof(buf));
		assert_int_equal(pc_pwrite(fd, buf, sizeof(buf), 0), sizeof(buf));
		assert_int_equal(pc_close(fd), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, close_race_reader, &cr), 0);
	/* Until both outcomes were seen many times (at least 3000 rounds,
	 * at most about 20 s), so the race is really exercised. */
	time_t t0 = time(NULL);
	for (long round = 0;
	     round < 3000 || ((atomic_load(&cr.reads) < 1000 || atomic_load(&cr.badf) < 100) &&
			      time(NULL) - t0 < 20);
	     round++) {
		for (int i = 0; i < 4; i++) {
			char path[16];
			snprintf(path, sizeof(path), "/f%d", (int)((i + round) % 4));
			fds[i] = pc_open(cr.m, path, O_RDONLY, 0);
			assert_true(fds[i] >= 0);
		}
		for (int i = 0; i < 4; i++)
			assert_int_equal(pc_close(fds[i]), 0);
	}
	atomic_store(&cr.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&cr.bad), 0);
	assert_true(atomic_load(&cr.reads) > 0);	/* the race really happened */
	assert_true(atomic_load(&cr.badf) > 0);
}

static void test_fd_threads(void **state)
{
	struct pc_mount *m = *state;
	pthread_t th[3];
	struct thr t[3];
	_Atomic int stop = 0;
	unsigned char buf[2 * REGION], w[REGION];
	int shared;

	shared = pc_open(m, "/shared", O_CREAT | O_RDWR, 0644);
	assert_true(shared >= 0);
	for (int i = 0; i < 3; i++) {
		t[i] = (struct thr){ .m = m, .id = i, .shared_fd = shared, .stop = &stop };
		assert_int_equal(pthread_create(&th[i], NULL, i < 2 ? open_close_writer : fd_prober,
						&t[i]), 0);
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	atomic_store(&stop, 1);
	pthread_join(th[2], NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(t[i].errors, 0);

	/* The shared file holds each thread's pattern in its region. */
	assert_int_equal(pc_pread(shared, buf, sizeof(buf), 0), sizeof(buf));
	for (int i = 0; i < 2; i++) {
		fill(w, (unsigned)i, 0, REGION);
		assert_memory_equal(buf + i * REGION, w, REGION);
	}
	assert_int_equal(pc_close(shared), 0);
}

/* Two threads share one descriptor for pc_write: the position is shared,
 * so the records land back to back, none torn or lost. */
static void *seq_writer(void *arg)
{
	struct thr *t = arg;
	unsigned char rec[100];

	memset(rec, 'a' + t->id, sizeof(rec));
	for (int i = 0; i < 500; i++)
		if (pc_write(t->shared_fd, rec, sizeof(rec)) != sizeof(rec))
			t->errors++;
	return NULL;
}

static void test_shared_position(void **state)
{
	struct pc_mount *m = *state;
	static unsigned char buf[1000 * 100];
	pthread_t th[2];
	struct thr t[2];
	int fd, counts[2] = { 0, 0 };

	fd = pc_open(m, "/seq", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	for (int i = 0; i < 2; i++) {
		t[i] = (struct thr){ .m = m, .id = i, .shared_fd = fd };
		assert_int_equal(pthread_create(&th[i], NULL, seq_writer, &t[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].errors, 0);
	}
	assert_int_equal(fsize(fd), sizeof(buf));
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	for (size_t r = 0; r < 1000; r++) {
		unsigned char c = buf[r * 100];
		assert_true(c == 'a' || c == 'b');
		for (int k = 1; k < 100; k++)
			assert_int_equal(buf[r * 100 + k], c);
		counts[c - 'a']++;
	}
	assert_int_equal(counts[0], 500);
	assert_int_equal(counts[1], 500);
	assert_int_equal(pc_close(fd), 0);
}

/* Concurrent namespace changes in one directory tree: renames back and
 * forth between two directories while another thread creates and removes
 * files in both. No deadlock; every file is found in exactly one place. */
struct ns_arg {
	struct pc_mount *m;
	int errors;
};

static void *ns_renamer(void *arg)
{
	struct ns_arg *a = arg;

	for (int i = 0; i < 2000; i++) {
		int e1 = pc_rename(a->m, "/x/sub", "/y/sub");
		int e2 = pc_rename(a->m, "/y/sub", "/x/sub");

		if (e1 || e2)
			a->errors++;
	}
	return NULL;
}

static void *ns_churner(void *arg)
{
	struct ns_arg *a = arg;
	char p[32];

	for (int i = 0; i < 2000; i++) {
		snprintf(p, sizeof(p), "/%c/f%d", i & 1 ? 'x' : 'y', i % 10);
		int fd = pc_open(a->m, p, O_CREAT | O_RDWR, 0644);
		if (fd < 0 || pc_close(fd))
			a->errors++;
		if (pc_unlink(a->m, p))
			a->errors++;
		/* /x/sub may be at /y/sub right now: ENOENT is fine. */
		int e = pc_mkdir(a->m, i & 2 ? "/x/sub/d" : "/y/sub/d", 0755);
		if (e && e != -ENOENT && e != -EEXIST)
			a->errors++;
		for (int k = 0; k < 2; k++) {
			e = pc_rmdir(a->m, k ? "/x/sub/d" : "/y/sub/d");
			if (e && e != -ENOENT)
				a->errors++;
		}
	}
	return NULL;
}

static void test_namespace_threads(void **state)
{
	struct pc_mount *m = *state;
	struct ns_arg a = { m, 0 }, b = { m, 0 };
	pthread_t t1, t2;
	struct stat st;

	assert_int_equal(pc_mkdir(m, "/x", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/y", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/x/sub", 0755), 0);
	assert_int_equal(pthread_create(&t1, NULL, ns_renamer, &a), 0);
	assert_int_equal(pthread_create(&t2, NULL, ns_churner, &b), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(a.errors, 0);
	assert_int_equal(b.errors, 0);
	assert_int_equal(pc_stat(m, "/x/sub", &st), 0);
	assert_int_equal(pc_stat(m, "/y/sub", &st), -ENOENT);
	assert_int_equal(pc_stat(m, "/x", &st), 0);
	assert_true(st.st_nlink == 3);
	assert_int_equal(pc_stat(m, "/y", &st), 0);
	assert_int_equal(st.st_nlink, 2);
}

/* ---- read-only mount ---- */

static void test_readonly(void **state)
{
	struct pc_mount_opts opts = { .cache_size = 1 << 20, .readonly = true };
	struct pc_mount *m;
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(pc_mount("ramfs", NULL, &opts, &m), 0);
	assert_int_equal(pc_open(m, "/f", O_CREAT | O_RDWR, 0644), -EROFS);
	assert_int_equal(pc_open(m, "/", O_RDWR, 0), -EISDIR);
	assert_int_equal(pc_mkdir(m, "/d", 0755), -EROFS);
	assert_int_equal(pc_mkdir(m, "/", 0755), -EEXIST);
	assert_int_equal(pc_symlink(m, "x", "/l"), -EROFS);
	assert_int_equal(pc_chmod(m, "/", 0700), -EROFS);
	assert_int_equal(pc_rename(m, "/a", "/b"), -ENOENT);
	fd = pc_open(m, "/", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	assert_int_equal(pc_fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_sync(m), 0);
	assert_int_equal(pc_umount(m), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_create_excl_trunc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pread_pwrite_odd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holes_and_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftruncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_readdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_rmdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dot_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stat_attrs, setup, teardown),
		cmocka_unit_test(test_mount_errors),
		cmocka_unit_test(test_pressure_and_enospc),
		cmocka_unit_test_setup_teardown(test_fd_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_position, setup, teardown),
		cmocka_unit_test_setup_teardown(test_namespace_threads, setup, teardown),
		cmocka_unit_test(test_readonly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
