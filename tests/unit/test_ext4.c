/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_ext4.c - the ext2/ext3/ext4 image client (fs/ext4).
 *
 * Every test makes its own image with mke2fs (ext4 with 4 KiB blocks,
 * ext2 with 1 KiB blocks, ext3 with 2 KiB blocks: default features for
 * each), mounts it with pc_mount, works through the public API, unmounts
 * and then asks the real tools:
 *   - e2fsck -fn must find nothing to fix (exit status 0);
 *   - debugfs "dump" must give back exactly the bytes the test wrote
 *     (a shadow copy kept in the test).
 * The refusal tests corrupt images with debugfs and check the errors
 * (-EINVAL bad magic, -EROFS needs_recovery, -EOPNOTSUPP unknown feature,
 * -EUCLEAN/-EIO for a block pointer outside the device, with the image
 * left unchanged in size).
 *
 * Needs e2fsprogs (mke2fs, e2fsck, debugfs) on PATH; images live under
 * $PC_TEST_TMPDIR (default /tmp).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pagecache/pagecache.h>
#include "test_util.h"
#include "namei_dots.h"

/* At most 100000 bytes per write call. */
#define CHUNK(x) ((x) < 100000 ? (size_t)(x) : (size_t)100000)

/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */

struct fs_spec {
	const char *type;	/* mke2fs -t */
	unsigned bs;		/* block size */
	const char *size;	/* image size for mke2fs */
};

static const struct fs_spec spec_ext4 = { "ext4", 4096, "64M" };
static const struct fs_spec spec_ext2 = { "ext2", 1024, "64M" };
static const struct fs_spec spec_ext3 = { "ext3", 2048, "64M" };
static const struct fs_spec spec_ext4_1k = { "ext4", 1024, "64M" };

static char tmpdir[4200];
static char logpath[4300];

static void img_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s.img", tmpdir, name);
}

static void make_image(const char *img, const struct fs_spec *spec)
{
	int st = tu_run("mke2fs -q -F -t %s -b %u '%s' %s >'%s' 2>&1", spec->type, spec->bs, img,
		     spec->size, logpath);
	if (st != 0)
		tu_show_file(logpath);
	assert_int_equal(st, 0);
}

/* e2fsck -fn must report a clean filesystem. */
static void assert_fsck_clean(const char *img)
{
	int st = tu_run("e2fsck -fn '%s' >'%s' 2>&1", img, logpath);

	if (st != 0) {
		fprintf(stderr, "e2fsck -fn %s exit %d:\n", img, st);
		tu_show_file(logpath);
	}
	assert_int_equal(st, 0);
}

/* The file @path of @img as debugfs reads it; *@len its size. */
static unsigned char *debugfs_dump(const char *img, const char *path, size_t *len)
{
	char out[4400];
	unsigned char *buf;
	struct stat stt;
	FILE *f;

	snprintf(out, sizeof(out), "%s/dump.out", tmpdir);
	unlink(out);
	assert_int_equal(tu_run("debugfs -R 'dump %s %s' '%s' >'%s' 2>&1", path, out, img, logpath), 0);
	if (stat(out, &stt) != 0) {
		tu_show_file(logpath);
		fail_msg("debugfs could not dump %s", path);
	}
	buf = malloc((size_t)stt.st_size + 1);
	assert_non_null(buf);
	f = fopen(out, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, (size_t)stt.st_size, f), (size_t)stt.st_size);
	fclose(f);
	*len = (size_t)stt.st_size;
	return buf;
}

static void assert_dump_equals(const char *img, const char *path, const unsigned char *want,
			       size_t len)
{
	size_t got_len;
	unsigned char *got = debugfs_dump(img, path, &got_len);

	if (got_len != len)
		fail_msg("%s: debugfs size %zu, expected %zu", path, got_len, len);
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			fail_msg("%s: byte %zu is 0x%02x on disk, expected 0x%02x", path, i, got[i],
				 want[i]);
	free(got);
}

/* Deterministic bytes. */
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

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static struct pc_mount *mount_img(const char *img, bool ro, size_t cache)
{
	struct pc_mount_opts opts = { .cache_size = cache ? cache : (48u << 20), .readonly = ro };
	struct pc_mount *m = NULL;
	int err = pc_mount("ext4", img, &opts, &m);

	if (err)
		fail_msg("pc_mount %s: %d (%s)", img, err, pc_mount_error());
	return m;
}

static void umount_ok(struct pc_mount *m)
{
	assert_int_equal(pc_umount(m), 0);
}

/* Write all of @buf at @off (loops over short writes). */
static void write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pc_pwrite(fd, p, len, off);
		if (n <= 0)
			fail_msg("pc_pwrite at %lld: %zd", (long long)off, n);
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

static void read_check(int fd, const unsigned char *want, size_t len, off_t off)
{
	unsigned char *got = malloc(len ? len : 1);
	size_t done = 0;

	assert_non_null(got);
	while (done < len) {
		ssize_t n = pc_pread(fd, got + done, len - done, off + (off_t)done);
		if (n <= 0)
			fail_msg("pc_pread at %lld: %zd", (long long)(off + (off_t)done), n);
		done += (size_t)n;
	}
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			fail_msg("byte %lld reads 0x%02x, expected 0x%02x", (long long)(off + (off_t)i),
				 got[i], want[i]);
	free(got);
}

static void write_file(struct pc_mount *m, const char *path, const unsigned char *buf, size_t len)
{
	int fd = pc_open(m, path, O_CREAT | O_RDWR | O_TRUNC, 0644);

	assert_true(fd >= 0);
	if (len)
		write_all(fd, buf, len, 0);
	assert_int_equal(pc_close(fd), 0);
}

static void check_file(struct pc_mount *m, const char *path, const unsigned char *buf, size_t len)
{
	struct stat st;
	int fd = pc_open(m, path, O_RDONLY, 0);

	if (fd < 0)
		fail_msg("pc_open %s: %d", path, fd);
	assert_int_equal(pc_fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, len);
	read_check(fd, buf, len, 0);
	assert_int_equal(pc_close(fd), 0);
}

static off_t file_size_host(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ------------------------------------------------------------------ */
/* data tests                                                         */
/* ------------------------------------------------------------------ */

struct fixture {
	const struct fs_spec *spec;
	char img[4400];
};

static int setup_spec(void **state, const struct fs_spec *spec, const char *name)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->spec = spec;
	img_path(fx->img, sizeof(fx->img), name);
	*state = fx;
	return 0;
}

static int setup_ext4(void **state) { return setup_spec(state, &spec_ext4, "ext4_4k"); }
static int setup_ext2(void **state) { return setup_spec(state, &spec_ext2, "ext2_1k"); }
static int setup_ext3(void **state) { return setup_spec(state, &spec_ext3, "ext3_2k"); }
static int setup_ext4_1k(void **state) { return setup_spec(state, &spec_ext4_1k, "ext4_1k"); }

static int teardown_fx(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->img);
	free(fx);
	return 0;
}

/* Files of awkward sizes, a hole at the start, one past several extents:
 * written, read back, remounted, read again, e2fsck, debugfs dump. */
static void test_rw_sizes(void **state)
{
	struct fixture *fx = *state;
	const size_t sizes[] = { 0, 1, 511, 1023, 1024, 1025, 2047, 4095, 4096, 4097, 12288,
				 100000, (1u << 20) + 123 };
	const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
	unsigned char *buf = malloc((1u << 20) + 4096);
	unsigned char *hole = calloc(1, (3u << 20) + 7000);
	char path[64];
	struct pc_mount *m;
	int fd;

	assert_non_null(buf);
	assert_non_null(hole);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	for (size_t i = 0; i < nsizes; i++) {
		snprintf(path, sizeof(path), "/f%zu", sizes[i]);
		fill(buf, (unsigned)i + 1, 0, sizes[i]);
		write_file(m, path, buf, sizes[i]);
		check_file(m, path, buf, sizes[i]);
	}
	/* A file that starts with a 3 MiB hole. */
	fill(hole + (3u << 20), 99, 0, 7000);
	fd = pc_open(m, "/holey", O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	write_all(fd, hole + (3u << 20), 7000, 3 << 20);
	read_check(fd, hole, (3u << 20) + 7000, 0);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);

	assert_fsck_clean(fx->img);
	m = mount_img(fx->img, false, 0);
	for (size_t i = 0; i < nsizes; i++) {
		snprintf(path, sizeof(path), "/f%zu", sizes[i]);
		fill(buf, (unsigned)i + 1, 0, sizes[i]);
		check_file(m, path, buf, sizes[i]);
	}
	check_file(m, "/holey", hole, (3u << 20) + 7000);
	umount_ok(m);

	assert_fsck_clean(fx->img);
	for (size_t i = 0; i < nsizes; i++) {
		snprintf(path, sizeof(path), "/f%zu", sizes[i]);
		fill(buf, (unsigned)i + 1, 0, sizes[i]);
		assert_dump_equals(fx->img, path, buf, sizes[i]);
	}
	assert_dump_equals(fx->img, "/holey", hole, (3u << 20) + 7000);
	free(buf);
	free(hole);
}

/* Random writes and truncates against a shadow copy. */
static void test_random_shadow(void **state)
{
	struct fixture *fx = *state;
	const size_t max = 3u << 20;
	unsigned char *shadow = calloc(1, max), *chunk = malloc(256 << 10);
	uint64_t seed = 12345 + fx->spec->bs;
	size_t size = 0;
	struct pc_mount *m;
	int fd;

	assert_non_null(shadow);
	assert_non_null(chunk);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/r", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	for (int op = 0; op < 300; op++) {
		uint64_t r = rng_next(&seed);
		if (r % 17 == 0) {
			size_t ns = (size_t)(rng_next(&seed) % max);
			assert_int_equal(pc_ftruncate(fd, (off_t)ns), 0);
			if (ns < size)
				memset(shadow + ns, 0, size - ns);
			size = ns;
		} else {
			size_t len = 1 + (size_t)(rng_next(&seed) % (r % 3 ? 9000 : (256 << 10)));
			size_t off = (size_t)(rng_next(&seed) % (max - len));
			fill(chunk, (unsigned)op, off, len);
			write_all(fd, chunk, len, (off_t)off);
			memcpy(shadow + off, chunk, len);
			if (off + len > size)
				size = off + len;
		}
		if (op % 50 == 49) {
			read_check(fd, shadow, size, 0);
			assert_int_equal(pc_fsync(fd), 0);
		}
	}
	read_check(fd, shadow, size, 0);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	assert_dump_equals(fx->img, "/r", shadow, size);
	m = mount_img(fx->img, true, 0);
	check_file(m, "/r", shadow, size);
	umount_ok(m);
	free(shadow);
	free(chunk);
}

/* A file larger than 4 GiB (large_file, i_size_high), sparse. */
static void test_large_file(void **state)
{
	struct fixture *fx = *state;
	const off_t off = (5LL << 30) + 12345;
	unsigned char *buf = malloc(100000);
	struct stat st;
	struct pc_mount *m;
	char out[256];
	FILE *f;
	int fd;

	assert_non_null(buf);
	fill(buf, 7, 0, 100000);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/big", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	write_all(fd, buf, 100000, off);
	write_all(fd, buf, 5000, 0);
	assert_int_equal(pc_fstat(fd, &st), 0);
	assert_int_equal(st.st_size, off + 100000);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);

	m = mount_img(fx->img, true, 0);
	fd = pc_open(m, "/big", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(pc_fstat(fd, &st), 0);
	assert_int_equal(st.st_size, off + 100000);
	read_check(fd, buf, 100000, off);
	read_check(fd, buf, 5000, 0);
	{
		unsigned char z[8192];
		static const unsigned char zero[8192];
		assert_int_equal(pc_pread(fd, z, sizeof(z), 1LL << 32), (ssize_t)sizeof(z));
		assert_memory_equal(z, zero, sizeof(z));
	}
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);

	/* debugfs agrees on the size. */
	assert_int_equal(tu_run("debugfs -R 'stat /big' '%s' 2>/dev/null | grep -o 'Size: [0-9]*' >'%s'",
			     fx->img, logpath), 0);
	f = fopen(logpath, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, sizeof(out), f));
	fclose(f);
	assert_int_equal(strtoll(out + 6, NULL, 10), off + 100000);
	free(buf);
}

/* Truncating to a size inside a block leaves zeros on disk past EOF in
 * that block; growing again reads zeros. */
static void test_truncate_tail(void **state)
{
	struct fixture *fx = *state;
	const size_t bs = fx->spec->bs, len = 5 * bs + 300, cut = 2 * bs + 123;
	unsigned char *buf = malloc(len), *blk = malloc(bs);
	unsigned long long pblk;
	struct pc_mount *m;
	char line[256];
	FILE *f;
	int fd;

	assert_non_null(buf);
	assert_non_null(blk);
	fill(buf, 3, 0, len);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	write_file(m, "/t", buf, len);
	umount_ok(m);		/* the data is on disk before the cut */

	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/t", O_RDWR, 0);
	assert_true(fd >= 0);
	assert_int_equal(pc_ftruncate(fd, (off_t)cut), 0);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	assert_dump_equals(fx->img, "/t", buf, cut);

	/* The EOF block's tail, read from the image itself. */
	assert_int_equal(tu_run("debugfs -R 'bmap /t %zu' '%s' 2>/dev/null >'%s'", cut / bs, fx->img,
			     logpath), 0);
	f = fopen(logpath, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	pblk = strtoull(line, NULL, 10);
	assert_true(pblk > 0);
	f = fopen(fx->img, "rb");
	assert_non_null(f);
	assert_int_equal(fseeko(f, (off_t)(pblk * bs), SEEK_SET), 0);
	assert_int_equal(fread(blk, 1, bs, f), bs);
	fclose(f);
	assert_memory_equal(blk, buf + (cut / bs) * bs, cut % bs);
	for (size_t i = cut % bs; i < bs; i++)
		if (blk[i])
			fail_msg("byte %zu of the EOF block is 0x%02x on disk", i, blk[i]);

	/* Grow again: the old tail reads as zeros. */
	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/t", O_RDWR, 0);
	assert_true(fd >= 0);
	assert_int_equal(pc_ftruncate(fd, (off_t)len), 0);
	memset(buf + cut, 0, len - cut);
	read_check(fd, buf, len, 0);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	assert_dump_equals(fx->img, "/t", buf, len);
	free(buf);
	free(blk);
}

/* Every other block written: hundreds of extents (a multi-level extent
 * tree on ext4, double-indirect blocks on ext2/3). */
static void test_fragmented(void **state)
{
	struct fixture *fx = *state;
	const size_t bs = fx->spec->bs, nblk = 1200, len = nblk * 2 * bs;
	unsigned char *shadow = calloc(1, len);
	struct pc_mount *m;
	int fd;

	assert_non_null(shadow);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/frag", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	/* Backwards, so no two writes are adjacent in time either. */
	for (size_t i = nblk; i-- > 0;) {
		fill(shadow + 2 * i * bs, 11, 2 * i * bs, bs);
		write_all(fd, shadow + 2 * i * bs, bs, (off_t)(2 * i * bs));
		if (i % 200 == 0)
			assert_int_equal(pc_fsync(fd), 0);
	}
	read_check(fd, shadow, len - bs, 0);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	assert_dump_equals(fx->img, "/frag", shadow, len - bs);
	/* Fill the holes now and check again. */
	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/frag", O_RDWR, 0);
	assert_true(fd >= 0);
	for (size_t i = 0; i + 1 < nblk; i++) {
		fill(shadow + (2 * i + 1) * bs, 12, (2 * i + 1) * bs, bs);
		write_all(fd, shadow + (2 * i + 1) * bs, bs, (off_t)((2 * i + 1) * bs));
	}
	read_check(fd, shadow, len - bs, 0);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	assert_dump_equals(fx->img, "/frag", shadow, len - bs);
	free(shadow);
}

/* A cache much smaller than the data: writeback and reclaim under
 * pressure, delayed allocation included. */
static void test_small_cache(void **state)
{
	struct fixture *fx = *state;
	const size_t len = 24u << 20;
	unsigned char *buf = malloc(len);
	struct pc_mount *m;
	int fd;

	assert_non_null(buf);
	fill(buf, 5, 0, len);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 2u << 20);
	fd = pc_open(m, "/p", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	for (size_t off = 0; off < len; off += 100000)
		write_all(fd, buf + off, CHUNK(len - off), (off_t)off);
	read_check(fd, buf, len, 0);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	assert_dump_equals(fx->img, "/p", buf, len);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* namespace                                                          */
/* ------------------------------------------------------------------ */

static bool dir_has(struct pc_mount *m, const char *dir, const char *name, unsigned *count)
{
	struct pc_dir *d;
	struct pc_dirent de;
	bool found = false;
	unsigned n = 0;

	assert_int_equal(pc_opendir(m, dir, &d), 0);
	while (pc_readdir(d, &de) > 0) {
		n++;
		if (strcmp(de.d_name, name) == 0)
			found = true;
	}
	assert_int_equal(pc_closedir(d), 0);
	if (count)
		*count = n;
	return found;
}

static void test_namespace(void **state)
{
	struct fixture *fx = *state;
	const char *longtarget = "/a/very/long/symlink/target/that/does/not/fit/in/the/inode/"
				 "block/array/so/it/needs/a/data/block/of/its/own";
	unsigned char data[3000];
	char path[300], link[300];
	struct pc_mount *m;
	struct stat st;
	unsigned n;

	fill(data, 21, 0, sizeof(data));
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	assert_int_equal(pc_mkdir(m, "/a", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/a/b", 0700), 0);
	assert_int_equal(pc_mkdir(m, "/c", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/a", 0755), -EEXIST);
	write_file(m, "/a/b/file", data, sizeof(data));
	write_file(m, "/c/victim", data, 100);
	assert_int_equal(pc_symlink(m, "b/file", "/a/short"), 0);
	assert_int_equal(pc_symlink(m, longtarget, "/a/long"), 0);
	assert_int_equal(pc_readlink(m, "/a/short", link, sizeof(link)), 6);
	assert_memory_equal(link, "b/file", 6);
	assert_int_equal(pc_readlink(m, "/a/long", link, sizeof(link)), (ssize_t)strlen(longtarget));
	assert_memory_equal(link, longtarget, strlen(longtarget));
	assert_int_equal(pc_stat(m, "/a/short", &st), 0);	/* follows */
	assert_int_equal(st.st_size, (off_t)sizeof(data));

	/* Many names: the directory grows over several blocks. */
	for (int i = 0; i < 400; i++) {
		snprintf(path, sizeof(path), "/c/name-with-some-length-%04d", i);
		write_file(m, path, data, (size_t)i);
	}
	assert_true(dir_has(m, "/c", "name-with-some-length-0399", &n));
	assert_int_equal(n, 400 + 3);	/* . .. victim */
	for (int i = 0; i < 400; i += 2) {
		snprintf(path, sizeof(path), "/c/name-with-some-length-%04d", i);
		assert_int_equal(pc_unlink(m, path), 0);
	}
	assert_true(dir_has(m, "/c", "name-with-some-length-0001", &n));
	assert_int_equal(n, 200 + 3);

	/* Renames: a file over another, a directory across parents. */
	assert_int_equal(pc_rename(m, "/a/b/file", "/c/victim"), 0);
	check_file(m, "/c/victim", data, sizeof(data));
	assert_int_equal(pc_stat(m, "/a/b/file", &st), -ENOENT);
	assert_int_equal(pc_rename(m, "/a/b", "/c/b2"), 0);
	assert_int_equal(pc_stat(m, "/c/b2", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	write_file(m, "/c/b2/inner", data, 10);
	assert_int_equal(pc_rmdir(m, "/c/b2"), -ENOTEMPTY);
	assert_int_equal(pc_unlink(m, "/c/b2/inner"), 0);
	assert_int_equal(pc_rmdir(m, "/c/b2"), 0);
	assert_int_equal(pc_mkdir(m, "/c/d1", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/a/d2", 0755), 0);
	assert_int_equal(pc_rename(m, "/c/d1", "/a/d2"), 0);	/* over an empty dir */
	assert_int_equal(pc_stat(m, "/a", &st), 0);
	assert_int_equal(st.st_nlink, 3);	/* ., .., d2 */
	assert_int_equal(pc_stat(m, "/c", &st), 0);
	assert_int_equal(st.st_nlink, 2);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	assert_dump_equals(fx->img, "/c/victim", data, sizeof(data));
	assert_dump_equals(fx->img, "/c/name-with-some-length-0399", data, 399);

	m = mount_img(fx->img, false, 0);
	assert_int_equal(pc_readlink(m, "/a/long", link, sizeof(link)), (ssize_t)strlen(longtarget));
	assert_memory_equal(link, longtarget, strlen(longtarget));
	assert_true(dir_has(m, "/a", "d2", NULL));
	assert_false(dir_has(m, "/c", "d1", NULL));
	for (int i = 1; i < 400; i += 2) {
		snprintf(path, sizeof(path), "/c/name-with-some-length-%04d", i);
		check_file(m, path, data, (size_t)i);
		assert_int_equal(pc_unlink(m, path), 0);
	}
	assert_int_equal(pc_unlink(m, "/a/long"), 0);
	assert_int_equal(pc_unlink(m, "/a/short"), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
}

/* A final "." or ".." (or the root) is never removed or moved (namei_dots.h);
 * the image stays clean and keeps every file. */
static void test_dot_refusals(void **state)
{
	struct fixture *fx = *state;
	struct pc_mount *m;
	struct stat st;

	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	check_dot_refusals(m);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	m = mount_img(fx->img, true, 0);
	nd_expect(m, "/d/sub/g", S_IFREG);
	nd_expect(m, "/top", S_IFREG);
	assert_int_equal(pc_stat(m, "/d/e", &st), -ENOENT);
	umount_ok(m);
}

/* readdir keeps its place while earlier names are removed. */
static void test_readdir_cookies(void **state)
{
	struct fixture *fx = *state;
	struct pc_mount *m;
	struct pc_dir *d;
	struct pc_dirent de;
	char path[300];
	bool seen[300] = { false };
	int got = 0, r;

	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	assert_int_equal(pc_mkdir(m, "/d", 0755), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/d/entry%03d", i);
		write_file(m, path, NULL, 0);
	}
	assert_int_equal(pc_opendir(m, "/d", &d), 0);
	while ((r = pc_readdir(d, &de)) > 0) {
		int i;
		if (sscanf(de.d_name, "entry%d", &i) != 1)
			continue;
		assert_false(seen[i]);
		seen[i] = true;
		got++;
		/* remove a name we have already listed */
		snprintf(path, sizeof(path), "/d/%s", de.d_name);
		assert_int_equal(pc_unlink(m, path), 0);
	}
	assert_int_equal(r, 0);
	assert_int_equal(pc_closedir(d), 0);
	assert_int_equal(got, 300);
	assert_int_equal(pc_rmdir(m, "/d"), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
}

/* Unlinking a big file gives its blocks back; an open unlinked file stays
 * readable until closed. */
static void test_unlink_frees(void **state)
{
	struct fixture *fx = *state;
	const size_t len = 8u << 20;
	unsigned char *buf = malloc(len);
	struct pc_statfs s0, s1, s2;
	struct pc_mount *m;
	int fd;

	assert_non_null(buf);
	fill(buf, 9, 0, len);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	assert_int_equal(pc_sync(m), 0);
	assert_int_equal(pc_statfs(m, &s0), 0);
	fd = pc_open(m, "/big", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	write_all(fd, buf, len, 0);
	assert_int_equal(pc_fsync(fd), 0);
	assert_int_equal(pc_statfs(m, &s1), 0);
	assert_true(s0.f_bfree - s1.f_bfree >= len / fx->spec->bs);
	assert_int_equal(pc_unlink(m, "/big"), 0);
	read_check(fd, buf, len, 0);		/* still open */
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_sync(m), 0);
	assert_int_equal(pc_statfs(m, &s2), 0);
	assert_int_equal(s2.f_bfree, s0.f_bfree);
	assert_int_equal(s2.f_ffree, s0.f_ffree);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	free(buf);
}

/* Filling the filesystem: -ENOSPC (or a short write), never a corrupt
 * image, and what was acknowledged is on disk. */
static void test_enospc(void **state)
{
	struct fixture *fx = *state;
	static const struct fs_spec small = { "ext4", 4096, "8M" };
	const size_t len = 16u << 20;
	unsigned char *buf = malloc(len);
	size_t done = 0;
	struct pc_mount *m;
	int fd;

	(void)fx;
	assert_non_null(buf);
	fill(buf, 13, 0, len);
	make_image(fx->img, &small);
	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/fill", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	while (done < len) {
		ssize_t n = pc_pwrite(fd, buf + done, CHUNK(len - done), (off_t)done);
		if (n < 0) {
			assert_int_equal(n, -ENOSPC);
			break;
		}
		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_true(done < len);
	assert_true(done > (2u << 20));
	assert_int_equal(pc_fsync(fd), 0);
	read_check(fd, buf, done, 0);
	assert_int_equal(pc_close(fd), 0);
	umount_ok(m);
	assert_fsck_clean(fx->img);
	assert_dump_equals(fx->img, "/fill", buf, done);
	free(buf);
}

/* Several writers and a reader at once. */
struct writer_arg {
	struct pc_mount *m;
	int id;
	size_t len;
	int err;
};

static void *writer_thread(void *p)
{
	struct writer_arg *a = p;
	unsigned char *buf = malloc(a->len);
	char path[32];
	uint64_t seed = (uint64_t)a->id * 77 + 1;
	size_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "/w%d", a->id);
	fill(buf, 100 + (unsigned)a->id, 0, a->len);
	fd = pc_open(a->m, path, O_CREAT | O_RDWR, 0644);
	if (fd < 0) {
		a->err = fd;
		free(buf);
		return NULL;
	}
	while (off < a->len) {
		size_t n = 1 + (size_t)(rng_next(&seed) % 70000);
		ssize_t w;
		if (n > a->len - off)
			n = a->len - off;
		w = pc_pwrite(fd, buf + off, n, (off_t)off);
		if (w <= 0) {
			a->err = w ? (int)w : -EIO;
			break;
		}
		off += (size_t)w;
		if (rng_next(&seed) % 40 == 0 && pc_fsync(fd) != 0) {
			a->err = -EIO;
			break;
		}
	}
	pc_close(fd);
	free(buf);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fixture *fx = *state;
	enum { NW = 4 };
	const size_t len = 3u << 20;
	struct writer_arg args[NW];
	pthread_t th[NW];
	unsigned char *buf = malloc(len);
	struct pc_mount *m;
	char path[32];

	assert_non_null(buf);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 8u << 20);
	for (int i = 0; i < NW; i++) {
		args[i] = (struct writer_arg){ .m = m, .id = i, .len = len };
		assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
	}
	for (int i = 0; i < NW; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].err, 0);
	}
	for (int i = 0; i < NW; i++) {
		snprintf(path, sizeof(path), "/w%d", i);
		fill(buf, 100 + (unsigned)i, 0, len);
		check_file(m, path, buf, len);
	}
	umount_ok(m);
	assert_fsck_clean(fx->img);
	for (int i = 0; i < NW; i++) {
		snprintf(path, sizeof(path), "/w%d", i);
		fill(buf, 100 + (unsigned)i, 0, len);
		assert_dump_equals(fx->img, path, buf, len);
	}
	free(buf);
}

/* Everything at once on a tiny cache: two writers and a truncater on two
 * files, two readers, and a thread doing namespace changes; then the image
 * must be clean. Catches deadlocks between the ext2fs lock, page locks and
 * writeback, and metadata left inconsistent by racing operations. */
struct mixed_arg {
	struct pc_mount *m;
	_Atomic int *stop;
	int id;
	int err;
};

static void *mixed_thread(void *p)
{
	struct mixed_arg *a = p;
	uint64_t seed = (uint64_t)a->id * 1000003 + 1;
	char path[64], path2[64];
	unsigned char *buf = malloc(200000);
	int fd = -1, i = 0;

	if (!buf) {
		a->err = -ENOMEM;
		return NULL;
	}
	memset(buf, 'a' + a->id, 200000);
	if (a->id < 5) {
		snprintf(path, sizeof(path), "/mixed%d", a->id % 2);
		fd = pc_open(a->m, path, O_CREAT | O_RDWR, 0644);
		if (fd < 0) {
			a->err = fd;
			free(buf);
			return NULL;
		}
	}
	while (!atomic_load(a->stop) && !a->err) {
		off_t off = (off_t)(rng_next(&seed) % (6u << 20));
		size_t n = 1 + (size_t)(rng_next(&seed) % 200000);
		ssize_t r;

		switch (a->id) {
		case 0:
		case 1:		/* writers */
			r = pc_pwrite(fd, buf, n, off);
			if (r < 0)
				a->err = (int)r;
			if (rng_next(&seed) % 40 == 0 && pc_fsync(fd) != 0)
				a->err = -EIO;
			break;
		case 2:		/* truncater */
			if (pc_ftruncate(fd, off) != 0)
				a->err = -EIO;
			break;
		case 3:
		case 4:		/* readers */
			r = pc_pread(fd, buf, n, off);
			if (r < 0)
				a->err = (int)r;
			break;
		default:	/* namespace */
			snprintf(path, sizeof(path), "/md%d", i % 10);
			(void)pc_mkdir(a->m, path, 0755);
			snprintf(path2, sizeof(path2), "/md%d/f%d", i % 10, i);
			fd = pc_open(a->m, path2, O_CREAT | O_RDWR, 0644);
			if (fd >= 0) {
				(void)pc_pwrite(fd, path2, strlen(path2), (off_t)(rng_next(&seed) % 50000));
				pc_close(fd);
			}
			if (i % 3 == 0)
				(void)pc_unlink(a->m, path2);
			if (i % 7 == 0) {
				snprintf(path, sizeof(path), "/md%d/f%d", (i + 5) % 10, i - 1);
				snprintf(path2, sizeof(path2), "/md%d/r%d", (i + 2) % 10, i);
				(void)pc_rename(a->m, path, path2);
			}
			i++;
			break;
		}
	}
	if (a->id < 5)
		pc_close(fd);
	free(buf);
	return NULL;
}

static void test_mixed_stress(void **state)
{
	struct fixture *fx = *state;
	static const struct fs_spec bigger[] = { { "ext4", 4096, "128M" }, { "ext2", 1024, "128M" } };
	const struct fs_spec *spec = strcmp(fx->spec->type, "ext2") ? &bigger[0] : &bigger[1];
	enum { NT = 6 };
	struct mixed_arg args[NT];
	_Atomic int stop = 0;
	pthread_t th[NT];
	struct pc_mount *m;

	make_image(fx->img, spec);
	m = mount_img(fx->img, false, 4u << 20);
	for (int i = 0; i < NT; i++) {
		args[i] = (struct mixed_arg){ .m = m, .stop = &stop, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, mixed_thread, &args[i]), 0);
	}
	sleep(3);
	atomic_store(&stop, 1);
	for (int i = 0; i < NT; i++) {
		pthread_join(th[i], NULL);
		if (args[i].err)
			fail_msg("thread %d: %d", i, args[i].err);
	}
	umount_ok(m);
	assert_fsck_clean(fx->img);
}

/* A read-only mount writes nothing. */
static void test_readonly(void **state)
{
	struct fixture *fx = *state;
	unsigned char data[5000];
	struct pc_mount *m;
	char sum1[200], sum2[200];
	FILE *f;
	int fd;

	fill(data, 1, 0, sizeof(data));
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	write_file(m, "/x", data, sizeof(data));
	umount_ok(m);
	assert_int_equal(tu_run("md5sum '%s' >'%s'", fx->img, logpath), 0);
	f = fopen(logpath, "r");
	assert_non_null(fgets(sum1, sizeof(sum1), f));
	fclose(f);

	m = mount_img(fx->img, true, 0);
	check_file(m, "/x", data, sizeof(data));
	fd = pc_open(m, "/x", O_RDWR, 0);
	assert_int_equal(fd, -EROFS);
	assert_int_equal(pc_mkdir(m, "/nope", 0755), -EROFS);
	assert_int_equal(pc_open(m, "/new", O_CREAT | O_RDWR, 0644), -EROFS);
	umount_ok(m);
	assert_int_equal(tu_run("md5sum '%s' >'%s'", fx->img, logpath), 0);
	f = fopen(logpath, "r");
	assert_non_null(fgets(sum2, sizeof(sum2), f));
	fclose(f);
	assert_string_equal(sum1, sum2);
}

/* ------------------------------------------------------------------ */
/* refusals                                                           */
/* ------------------------------------------------------------------ */

static int mount_err(const char *img, bool ro)
{
	struct pc_mount_opts opts = { .cache_size = 8u << 20, .readonly = ro };
	struct pc_mount *m = NULL;
	int err = pc_mount("ext4", img, &opts, &m);

	if (!err)
		pc_umount(m);
	return err;
}

static void test_refuse_bad_magic(void **state)
{
	struct fixture *fx = *state;
	unsigned char zero[2] = { 0, 0 };
	FILE *f;

	make_image(fx->img, fx->spec);
	f = fopen(fx->img, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 1024 + 56, SEEK_SET), 0);	/* s_magic */
	assert_int_equal(fwrite(zero, 1, 2, f), 2);
	fclose(f);
	assert_int_equal(mount_err(fx->img, false), -EINVAL);
	assert_int_equal(mount_err(fx->img, true), -EINVAL);
	assert_non_null(strstr(pc_mount_error(), "magic"));
}

static void test_refuse_needs_recovery(void **state)
{
	struct fixture *fx = *state;
	unsigned char data[3000];
	struct pc_mount *m;

	fill(data, 4, 0, sizeof(data));
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	write_file(m, "/kept", data, sizeof(data));
	umount_ok(m);
	assert_int_equal(tu_run("debugfs -w -R 'feature needs_recovery' '%s' >'%s' 2>&1", fx->img,
			     logpath), 0);
	assert_int_equal(mount_err(fx->img, false), -EROFS);
	assert_non_null(strstr(pc_mount_error(), "recovery"));
	/* Read-only is allowed (with a warning) and reads the files. */
	m = mount_img(fx->img, true, 0);
	check_file(m, "/kept", data, sizeof(data));
	umount_ok(m);
}

static void test_refuse_unknown_incompat(void **state)
{
	struct fixture *fx = *state;

	make_image(fx->img, fx->spec);
	assert_int_equal(tu_run("debugfs -w -R 'feature FEATURE_I31' '%s' >'%s' 2>&1", fx->img,
			     logpath), 0);
	assert_int_equal(mount_err(fx->img, false), -EOPNOTSUPP);
	assert_int_equal(mount_err(fx->img, true), -EOPNOTSUPP);
	assert_non_null(strstr(pc_mount_error(), "0x80000000"));
}

static void test_refuse_ro_compat_rw(void **state)
{
	struct fixture *fx = *state;

	make_image(fx->img, fx->spec);
	assert_int_equal(tu_run("debugfs -w -R 'feature FEATURE_R30' '%s' >'%s' 2>&1", fx->img,
			     logpath), 0);
	assert_int_equal(mount_err(fx->img, false), -EOPNOTSUPP);
	assert_int_equal(mount_err(fx->img, true), 0);
}

static void test_refuse_misc(void **state)
{
	struct fixture *fx = *state;
	char sum1[200], sum2[200];
	FILE *f;

	assert_int_equal(mount_err("/nonexistent/image.img", false), -ENOENT);
	/* An image cut in half: read-write refused, read-only allowed. */
	make_image(fx->img, fx->spec);
	assert_int_equal(truncate(fx->img, 32 << 20), 0);
	assert_int_equal(mount_err(fx->img, false), -EINVAL);
	assert_non_null(strstr(pc_mount_error(), "larger than the device"));
	assert_int_equal(mount_err(fx->img, true), 0);
	/* A group descriptor pointing its inode table outside the group:
	 * refused read-write (nothing may be written from it), image intact. */
	make_image(fx->img, fx->spec);
	f = fopen(fx->img, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)fx->spec->bs + 8, SEEK_SET), 0);	/* bg_inode_table_lo */
	assert_int_equal(fwrite("\xff\xff\xff\x7f", 1, 4, f), 4);
	fclose(f);
	assert_int_equal(tu_run("md5sum < '%s' >'%s'", fx->img, logpath), 0);
	f = fopen(logpath, "r");
	assert_non_null(fgets(sum1, sizeof(sum1), f));
	fclose(f);
	assert_int_equal(mount_err(fx->img, false), -EUCLEAN);
	assert_non_null(strstr(pc_mount_error(), "group descriptor"));
	assert_int_equal(tu_run("md5sum < '%s' >'%s'", fx->img, logpath), 0);
	f = fopen(logpath, "r");
	assert_non_null(fgets(sum2, sizeof(sum2), f));
	fclose(f);
	assert_string_equal(sum1, sum2);
}

/* ------------------------------------------------------------------ */
/* exclusive access and unclean images (issue 7)                      */
/* ------------------------------------------------------------------ */

/* Mount @img with @ro and @force; the mount or NULL, *@err its error. */
static struct pc_mount *try_mount(const char *img, bool ro, bool force, int *err)
{
	struct pc_mount_opts opts = { .cache_size = 8u << 20, .readonly = ro, .force = force };
	struct pc_mount *m = NULL;

	*err = pc_mount("ext4", img, &opts, &m);
	return *err ? NULL : m;
}

/* "in use by process <our pid> (<comm>) (this process), which has it open @mode" */
static void assert_busy_self(const char *mode)
{
	char want[96];

	snprintf(want, sizeof(want), "in use by process %d (", (int)getpid());
	if (!strstr(pc_mount_error(), want) || !strstr(pc_mount_error(), "(this process)") ||
	    !strstr(pc_mount_error(), mode))
		fail_msg("pc_mount_error: '%s', expected '%s...(this process)... %s'",
			 pc_mount_error(), want, mode);
}

/* One writer or many readers, within one process too: a second read-write
 * mount, a reader beside a writer and a writer beside readers get -EBUSY
 * naming this process; the image stays clean and keeps the first mount's
 * file. */
static void test_exclusive_same_process(void **state)
{
	struct fixture *fx = *state;
	unsigned char data[3000];
	struct pc_mount *m, *r1, *r2;
	int err;

	fill(data, 7, 0, sizeof(data));
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	write_file(m, "/first", data, sizeof(data));
	assert_null(try_mount(fx->img, false, false, &err));
	assert_int_equal(err, -EBUSY);
	assert_busy_self("read-write");
	assert_null(try_mount(fx->img, true, false, &err));
	assert_int_equal(err, -EBUSY);
	assert_busy_self("read-write");
	/* force does not override a holder */
	assert_null(try_mount(fx->img, false, true, &err));
	assert_int_equal(err, -EBUSY);
	check_file(m, "/first", data, sizeof(data));
	umount_ok(m);
	assert_fsck_clean(fx->img);

	r1 = try_mount(fx->img, true, false, &err);
	assert_int_equal(err, 0);
	r2 = try_mount(fx->img, true, false, &err);
	assert_int_equal(err, 0);
	assert_null(try_mount(fx->img, false, false, &err));
	assert_int_equal(err, -EBUSY);
	assert_busy_self("read-only");
	check_file(r1, "/first", data, sizeof(data));
	check_file(r2, "/first", data, sizeof(data));
	umount_ok(r1);
	assert_null(try_mount(fx->img, false, false, &err));	/* r2 still reads */
	assert_int_equal(err, -EBUSY);
	umount_ok(r2);
	m = mount_img(fx->img, false, 0);			/* lock released at umount */
	check_file(m, "/first", data, sizeof(data));
	umount_ok(m);
	assert_fsck_clean(fx->img);
}

/* s_state without EXT2_VALID_FS, or errors recorded: read-write refused
 * with -EUCLEAN and the e2fsck advice, read-only allowed, force writes and
 * leaves the image as unclean as it found it; e2fsck -fy makes it
 * mountable again. */
static void test_refuse_unclean(void **state)
{
	static const char *const damage[] = { "ssv state 0", "ssv state 3", "ssv error_count 2" };
	static const char *const why[] = { "not cleanly unmounted", "errors recorded",
					   "errors recorded" };
	struct fixture *fx = *state;
	unsigned char data[2000];
	struct pc_mount *m;
	int err;

	fill(data, 9, 0, sizeof(data));
	for (unsigned i = 0; i < 3; i++) {
		make_image(fx->img, fx->spec);
		assert_int_equal(tu_run("debugfs -w -R '%s' '%s' >'%s' 2>&1", damage[i], fx->img,
				     logpath), 0);
		assert_null(try_mount(fx->img, false, false, &err));
		assert_int_equal(err, -EUCLEAN);
		if (!strstr(pc_mount_error(), why[i]) ||
		    !strstr(pc_mount_error(), "run e2fsck -f, or use the force option"))
			fail_msg("%s: pc_mount_error '%s'", damage[i], pc_mount_error());
		m = try_mount(fx->img, true, false, &err);
		assert_int_equal(err, 0);
		umount_ok(m);
		m = try_mount(fx->img, false, true, &err);
		assert_int_equal(err, 0);
		write_file(m, "/forced", data, sizeof(data));
		umount_ok(m);
		/* still refused: a forced mount does not mark it clean */
		assert_null(try_mount(fx->img, false, false, &err));
		assert_int_equal(err, -EUCLEAN);
		(void)tu_run("e2fsck -fy '%s' >'%s' 2>&1", fx->img, logpath);
		assert_fsck_clean(fx->img);
		m = mount_img(fx->img, false, 0);
		check_file(m, "/forced", data, sizeof(data));
		umount_ok(m);
		assert_fsck_clean(fx->img);
	}
}

/* A block pointer far outside the device: reads and writes of that block
 * fail, nothing is written, the other blocks still read. */
static void test_corrupt_pointer(void **state)
{
	struct fixture *fx = *state;
	const size_t len = 20000;
	unsigned char *data = malloc(len), buf[8192];
	char src[4400];
	struct pc_mount *m;
	off_t before;
	ssize_t n;
	int fd;
	bool ext = strcmp(fx->spec->type, "ext4") == 0;
	FILE *f;

	assert_non_null(data);
	fill(data, 8, 0, len);
	make_image(fx->img, fx->spec);
	snprintf(src, sizeof(src), "%s/src.bin", tmpdir);
	f = fopen(src, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	assert_int_equal(tu_run("debugfs -w -R 'write %s f' '%s' >'%s' 2>&1", src, fx->img, logpath), 0);
	/* Indirect files: block[0] is the first block. Extent files:
	 * block[5] is ee_start_lo of the first extent. */
	assert_int_equal(tu_run("debugfs -w -R 'sif /f block[%d] 999999999' '%s' >'%s' 2>&1",
			     ext ? 5 : 0, fx->img, logpath), 0);
	before = file_size_host(fx->img);

	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/f", O_RDWR, 0);
	assert_true(fd >= 0);
	n = pc_pread(fd, buf, 100, 0);
	if (n != -EIO && n != -EUCLEAN)
		fail_msg("read of the corrupt block: %zd", n);
	n = pc_pwrite(fd, buf, 100, 0);
	if (n != -EIO && n != -EUCLEAN)
		fail_msg("partial write of the corrupt block: %zd", n);
	memset(buf, 'x', sizeof(buf));
	n = pc_pwrite(fd, buf, fx->spec->bs, 0);
	if (n >= 0) {
		/* accepted into the cache: writeback must fail, not write */
		assert_int_not_equal(pc_fsync(fd), 0);
	} else if (n != -EIO && n != -EUCLEAN) {
		fail_msg("full-block write of the corrupt block: %zd", n);
	}
	if (!ext) {
		/* ext2: the other blocks are intact and readable */
		read_check(fd, data + 12 * fx->spec->bs, 1000, (off_t)(12 * fx->spec->bs));
	}
	pc_close(fd);
	pc_umount(m);
	assert_int_equal(file_size_host(fx->img), before);
	free(data);
}

/* The first inode table block of group 0 (from dumpe2fs). */
static unsigned long long inode_table_block(const char *img)
{
	char line[256];
	FILE *f;

	assert_int_equal(tu_run("dumpe2fs '%s' 2>/dev/null | grep -m1 'Inode table at' >'%s'", img,
			     logpath), 0);
	f = fopen(logpath, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	return strtoull(strstr(line, "at ") + 3, NULL, 10);
}

/* A block pointer into the inode table (inside the device, so only the
 * system-zone check stops it): writing that block must fail and leave the
 * inode table as it was. */
static void test_pointer_into_metadata(void **state)
{
	struct fixture *fx = *state;
	const size_t bs = fx->spec->bs, len = 3 * bs;
	unsigned char *data = malloc(len), *before = malloc(8 * bs), *after = malloc(8 * bs);
	bool ext = strcmp(fx->spec->type, "ext4") == 0;
	unsigned long long itab;
	struct pc_mount *m;
	char src[4400];
	ssize_t n;
	FILE *f;
	int fd;

	assert_non_null(data);
	assert_non_null(before);
	assert_non_null(after);
	fill(data, 31, 0, len);
	make_image(fx->img, fx->spec);
	snprintf(src, sizeof(src), "%s/src.bin", tmpdir);
	f = fopen(src, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	assert_int_equal(tu_run("debugfs -w -R 'write %s f' '%s' >'%s' 2>&1", src, fx->img, logpath), 0);
	itab = inode_table_block(fx->img);
	assert_true(itab > 0);
	assert_int_equal(tu_run("debugfs -w -R 'sif /f block[%d] %llu' '%s' >'%s' 2>&1", ext ? 5 : 0,
			     itab + 4, fx->img, logpath), 0);
	f = fopen(fx->img, "rb");
	assert_int_equal(fseeko(f, (off_t)(itab * bs), SEEK_SET), 0);
	assert_int_equal(fread(before, 1, 8 * bs, f), 8 * bs);
	fclose(f);

	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/f", O_RDWR, 0);
	assert_true(fd >= 0);
	memset(data, 'x', bs);
	n = pc_pwrite(fd, data, bs, 0);
	if (n >= 0)
		assert_int_not_equal(pc_fsync(fd), 0);
	else if (n != -EUCLEAN && n != -EIO)
		fail_msg("write through a pointer into the inode table: %zd", n);
	n = pc_pread(fd, data, bs, 0);
	if (n != -EIO && n != -EUCLEAN)
		fail_msg("read through a pointer into the inode table: %zd", n);
	pc_close(fd);
	pc_umount(m);

	f = fopen(fx->img, "rb");
	assert_int_equal(fseeko(f, (off_t)(itab * bs), SEEK_SET), 0);
	assert_int_equal(fread(after, 1, 8 * bs, f), 8 * bs);
	fclose(f);
	/* The inode of /f (in the first blocks) may have been rewritten
	 * (times); the block the pointer names must hold inodes, not 'x'. */
	assert_memory_equal(before + 4 * bs, after + 4 * bs, bs);
	free(data);
	free(before);
	free(after);
}

/*
 * pc_interrupt: a buffered read that must go to the device and a
 * directory listing stop with -EINTR and change nothing; pc_interrupt_clear makes them work again; data that is
 * cached still reads (no device work). pc_last_error: a corrupt block map
 * gives -EUCLEAN with a message naming the inode.
 */
static void test_interrupt_and_last_error(void **state)
{
	struct fixture *fx = *state;
	const size_t len = 3 * 65536;
	unsigned char *data = malloc(len), *buf = malloc(len);
	struct pc_dirent ent;
	struct pc_dir *dir;
	struct pc_mount *m;
	struct stat st;
	int fd, n;

	assert_non_null(data);
	assert_non_null(buf);
	fill(data, 77, 0, len);
	make_image(fx->img, fx->spec);
	m = mount_img(fx->img, false, 0);
	assert_int_equal(pc_mkdir(m, "/d", 0755), 0);
	write_file(m, "/d/f", data, len);
	write_file(m, "/g", data, len);
	umount_ok(m);

	m = mount_img(fx->img, false, 0);
	fd = pc_open(m, "/g", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(pc_pread(fd, buf, 4096, 0), 4096);	/* cached now */
	pc_interrupt();
	assert_int_equal(pc_pread(fd, buf, 4096, 0), 4096);	/* cached: no device work */
	assert_int_equal(pc_pread(fd, buf, 65536, 131072), -EINTR);
	assert_int_equal(pc_opendir(m, "/d", &dir), 0);
	assert_int_equal(pc_readdir(dir, &ent), -EINTR);
	pc_closedir(dir);
	/* A lookup in a small directory is short work: it goes on. */
	assert_int_equal(pc_stat(m, "/d/f", &st), 0);
	pc_interrupt_clear();
	assert_int_equal(pc_stat(m, "/d/f", &st), 0);
	assert_int_equal(pc_opendir(m, "/d", &dir), 0);
	n = 0;
	while (pc_readdir(dir, &ent) == 1)
		n++;
	assert_int_equal(n, 3);
	pc_closedir(dir);
	read_check(fd, data + 131072, 65536, 131072);
	pc_close(fd);
	umount_ok(m);
	assert_fsck_clean(fx->img);

	/* A block pointer outside the filesystem: unlink refuses with a
	 * message naming the inode, and the error is in the superblock. */
	assert_int_equal(tu_run("debugfs -w -R 'sif /g block[IND] 999999999' '%s' >'%s' 2>&1",
			     fx->img, logpath), 0);
	m = mount_img(fx->img, false, 0);
	pc_clear_last_error();
	assert_string_equal(pc_last_error(), "");
	assert_int_equal(pc_unlink(m, "/g"), -EUCLEAN);
	if (!strstr(pc_last_error(), "corrupt filesystem: inode 14: block 999999999"))
		fail_msg("pc_last_error: '%s'", pc_last_error());
	assert_int_equal(pc_stat(m, "/g", &st), 0);
	umount_ok(m);
	assert_int_equal(tu_run("dumpe2fs -h '%s' 2>/dev/null | grep -q 'clean with errors'",
			     fx->img), 0);
	free(data);
	free(buf);
}

/* ------------------------------------------------------------------ */

int main(void)
{

	int rc = tu_make_tmpdir("ext4", "mke2fs e2fsck debugfs dumpe2fs", tmpdir, sizeof(tmpdir), logpath,
				 sizeof(logpath));

	if (rc)
		return rc;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rw_sizes, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_rw_sizes, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_rw_sizes, setup_ext3, teardown_fx),
		cmocka_unit_test_setup_teardown(test_rw_sizes, setup_ext4_1k, teardown_fx),
		cmocka_unit_test_setup_teardown(test_random_shadow, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_random_shadow, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_random_shadow, setup_ext3, teardown_fx),
		cmocka_unit_test_setup_teardown(test_random_shadow, setup_ext4_1k, teardown_fx),
		cmocka_unit_test_setup_teardown(test_large_file, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_large_file, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_truncate_tail, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_truncate_tail, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_truncate_tail, setup_ext4_1k, teardown_fx),
		cmocka_unit_test_setup_teardown(test_fragmented, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_fragmented, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_small_cache, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_small_cache, setup_ext3, teardown_fx),
		cmocka_unit_test_setup_teardown(test_namespace, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_namespace, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_dot_refusals, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_dot_refusals, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_readdir_cookies, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_readdir_cookies, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_unlink_frees, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_unlink_frees, setup_ext3, teardown_fx),
		cmocka_unit_test_setup_teardown(test_enospc, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_concurrent, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_concurrent, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_mixed_stress, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_mixed_stress, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_readonly, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refuse_bad_magic, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refuse_needs_recovery, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refuse_needs_recovery, setup_ext3, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refuse_unknown_incompat, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refuse_ro_compat_rw, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refuse_misc, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_exclusive_same_process, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_exclusive_same_process, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refuse_unclean, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refuse_unclean, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_pointer_into_metadata, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_pointer_into_metadata, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_corrupt_pointer, setup_ext2, teardown_fx),
		cmocka_unit_test_setup_teardown(test_corrupt_pointer, setup_ext4, teardown_fx),
		cmocka_unit_test_setup_teardown(test_interrupt_and_last_error, setup_ext2, teardown_fx),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	tu_run("rm -rf '%s'", tmpdir);
	return failed ? 1 : 0;
}
