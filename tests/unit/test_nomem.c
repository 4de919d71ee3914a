/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_nomem.c - allocation failures (issue 7, item 5).
 *
 * For each operation the loop runs N = 0, 1, 2, ...: the operation runs
 * with the fail-countdown allocator (fail_malloc.h) armed so that N
 * allocations succeed and the next fails (one-shot mode; the persistent
 * mode, every later allocation failing too, is run as well). The loop ends
 * at the first N where the operation completes without meeting the
 * injected failure ("write-flusher", with hundreds of points, samples N
 * with a step of 1 + N/8). At every N:
 *   - the operation returns 0 or -ENOMEM (nothing else, no crash);
 *   - after pc_umount (and an RCU barrier) the process holds exactly as
 *     many heap blocks as before the mount (no leak; ASan/LSan check the
 *     same at exit in the asan stage);
 *   - data acknowledged before the failure (fsynced in the base image, or
 *     acknowledged by the operation's own fsync/sync returning 0) is there
 *     byte for byte after a remount;
 *   - e2fsck -fn finds the image clean (every E2FSCK_EVERY-th N and the
 *     last one, for time).
 * The countdown counts the allocations of every thread (flusher, I/O
 * engine) and of libext2fs and glibc, not only the library's own code: a
 * failure in a background thread must surface as an error of fsync/umount
 * or not lose anything ("write-flusher" dirties more than the flusher's
 * background threshold, so the flusher thread writes while armed; an
 * fsync that returns 0 must have everything on disk).
 *
 * Filesystems: ext4 on an ext2 image (1 KiB blocks) and on an ext4 image
 * (4 KiB blocks), and ramfs (checked before its unmount: it keeps nothing).
 * Images live under $PC_TEST_TMPDIR (default /tmp).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include "pagecache/pagecache.h"
#include "test_util.h"
#include "fail_malloc.h"

#define E2FSCK_EVERY	8
#define MAX_N		100000	/* a loop that never ends is a failure */
#define A_SIZE		(64 * 1024 + 1000)	/* /a: seed 1, in the base image */
#define B_SIZE		(48 * 1024)
#define D_SIZE		(64 * 1024)
/* /big: more than the background threshold of the 4 MiB cache (10 %), so
 * the flusher thread writes part of it while the countdown runs */
#define BIG_SIZE	(512 * 1024)

static char tmpdir[4200];
static char logpath[4300];

/* Buffers live outside the heap: allocating them would move the count. */
static unsigned char buf[512 * 1024] __attribute__((aligned(4096)));
static unsigned char want[512 * 1024] __attribute__((aligned(4096)));

struct kind {
	const char *name;
	const char *mkfs;	/* NULL: ramfs */
};

static const struct kind kinds[] = {
	{ "ext2", "mke2fs -q -F -t ext2 -b 1024" },
	{ "ext4", "mke2fs -q -F -t ext4 -b 4096" },
	{ "ramfs", NULL },
};

struct st {
	const struct kind *k;
	char base[4400], img[4400];
	struct pc_mount *m;
	int fd;
};

/* ---- helpers (run disarmed) ---- */

static int do_mount_opts(struct st *s, struct pc_mount **out, bool force)
{
	struct pc_mount_opts o = { .cache_size = 4u << 20, .force = force };

	if (!s->k->mkfs)
		return pc_mount("ramfs", NULL, &o, out);
	return pc_mount("ext4", s->img, &o, out);
}

static int do_mount(struct st *s, struct pc_mount **out)
{
	return do_mount_opts(s, out, false);
}

static int write_file(struct pc_mount *m, const char *path, size_t len, unsigned seed, int flags)
{
	int fd = pc_open(m, path, O_CREAT | O_RDWR | O_TRUNC | flags, 0644);
	ssize_t n;
	int err;

	if (fd < 0)
		return fd;
	tu_fill(buf, 0, len, seed);
	/* a short write (memory ran out after some bytes) is legal: go on */
	for (size_t done = 0; done < len; done += (size_t)n) {
		n = pc_pwrite(fd, buf + done, len - done, (off_t)done);
		if (n <= 0) {
			pc_close(fd);
			return n < 0 ? (int)n : -EIO;
		}
	}
	err = pc_fsync(fd);
	pc_close(fd);
	return err;
}

/* 0 if @path holds @len bytes of pattern @seed (and is @len long when
 * @exact), else a description on stderr and -EBADMSG. */
static int check_file(struct pc_mount *m, const char *path, size_t len, unsigned seed, bool exact)
{
	struct stat sb;
	int fd = pc_open(m, path, O_RDONLY, 0);
	ssize_t n;
	long d;

	if (fd < 0) {
		fprintf(stderr, "  %s: open: %d\n", path, fd);
		return -EBADMSG;
	}
	pc_fstat(fd, &sb);
	n = pc_pread(fd, buf, len, 0);
	pc_close(fd);
	if (n != (ssize_t)len || (exact && sb.st_size != (off_t)len)) {
		fprintf(stderr, "  %s: read %zd of %zu, size %lld\n", path, n, len, (long long)sb.st_size);
		return -EBADMSG;
	}
	tu_fill(want, 0, len, seed);
	d = tu_first_diff(buf, want, len);
	if (d >= 0) {
		tu_dump_diff(path, buf, want, len, d);
		return -EBADMSG;
	}
	return 0;
}

static bool exists(struct pc_mount *m, const char *path)
{
	struct stat sb;

	return pc_stat(m, path, &sb) == 0;
}

static int fsck(const char *img)
{
	int st = tu_run("e2fsck -fn '%s' >'%s' 2>&1", img, logpath);

	if (st != 0) {
		fprintf(stderr, "e2fsck -fn %s: exit %d\n", img, st);
		tu_show_file(logpath);
	}
	return st;
}

/* The base state every iteration starts from: /a (seed 1) fsynced, /d/f. */
static void populate(struct pc_mount *m)
{
	assert_int_equal(write_file(m, "/a", A_SIZE, 1, 0), 0);
	assert_int_equal(pc_mkdir(m, "/d", 0755), 0);
	assert_int_equal(write_file(m, "/d/f", 3000, 7, 0), 0);
	assert_int_equal(pc_sync(m), 0);
}

/* ---- the operations ---- */

struct op {
	const char *name;
	bool ext_only;			/* needs an image (direct I/O) */
	void (*prep)(struct st *s);	/* disarmed, mounted (except mount) */
	int (*run)(struct st *s);	/* armed */
	/* after remount (ramfs: before umount): check what must hold given
	 * the operation's result @ret; 0 or -EBADMSG */
	int (*verify)(struct st *s, struct pc_mount *m, int ret);
	bool sparse;			/* hundreds of points: N += 1 + N / 8 */
};

static void prep_none(struct st *s) { (void)s; }

static void prep_open_ro(struct st *s)
{
	s->fd = pc_open(s->m, "/a", O_RDONLY, 0);
	assert_true(s->fd >= 0);
}

static void prep_open_cached(struct st *s)
{
	prep_open_ro(s);
	assert_int_equal(pc_pread(s->fd, buf, A_SIZE, 0), A_SIZE);
}

static void prep_open_direct(struct st *s)
{
	s->fd = pc_open(s->m, "/a", O_RDONLY | O_DIRECT, 0);
	assert_true(s->fd >= 0);
}

static void prep_open_rw(struct st *s)
{
	s->fd = pc_open(s->m, "/a", O_RDWR, 0);
	assert_true(s->fd >= 0);
}

/* /a dirty in the cache (seed 4 over [8192, 8192 + 16384)) */
static void prep_dirty(struct st *s)
{
	prep_open_rw(s);
	tu_fill(buf, 8192, 16384, 4);
	assert_int_equal(pc_pwrite(s->fd, buf, 16384, 8192), 16384);
}

static void prep_umount(struct st *s)
{
	/* acknowledged: /b; not acknowledged: a dirty range of /a */
	assert_int_equal(write_file(s->m, "/b", B_SIZE, 5, 0), 0);
	prep_dirty(s);
	pc_close(s->fd);
	s->fd = -1;
}

static int run_mount(struct st *s) { return do_mount(s, &s->m); }

/* Read [0, @len) of /a (short reads are legal: go on) and compare. */
static int read_all(struct st *s, size_t len)
{
	ssize_t n = 0;

	for (size_t done = 0; done < len; done += (size_t)n) {
		n = pc_pread(s->fd, buf + done, len - done, (off_t)done);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			fprintf(stderr, "  read: end of file at %zu of %zu\n", done, len);
			return -EBADMSG;
		}
	}
	tu_fill(want, 0, len, 1);
	if (memcmp(buf, want, len)) {
		fprintf(stderr, "  read: wrong data\n");
		return -EBADMSG;
	}
	return 0;
}

static int run_read(struct st *s) { return read_all(s, A_SIZE); }
static int run_read_direct(struct st *s) { return read_all(s, 64 * 1024); }

static int run_write(struct st *s) { return write_file(s->m, "/b", B_SIZE, 2, 0); }
static int run_write_direct(struct st *s) { return write_file(s->m, "/c", D_SIZE, 3, O_DIRECT); }
static int run_write_bg(struct st *s) { return write_file(s->m, "/big", BIG_SIZE, 6, 0); }
static int run_fsync(struct st *s) { return pc_fsync(s->fd); }

static int run_truncate(struct st *s)
{
	int err = pc_ftruncate(s->fd, 10000);

	return err ? err : pc_fsync(s->fd);
}

static int run_rename(struct st *s)
{
	int err = pc_rename(s->m, "/d/f", "/g");

	return err ? err : pc_sync(s->m);
}

static int run_mkdir_unlink(struct st *s)
{
	int err = pc_mkdir(s->m, "/e", 0755);

	if (!err)
		err = pc_unlink(s->m, "/d/f");
	return err ? err : pc_sync(s->m);
}

static int run_umount(struct st *s)
{
	int err = pc_umount(s->m);

	s->m = NULL;
	return err;
}

static int verify_a(struct st *s, struct pc_mount *m, int ret)
{
	return check_file(m, "/a", A_SIZE, 1, true);
}

static int verify_write(struct st *s, struct pc_mount *m, int ret)
{
	int err = verify_a(s, m, ret);

	if (!err && !ret)
		err = check_file(m, "/b", B_SIZE, 2, true);
	return err;
}

static int verify_write_direct(struct st *s, struct pc_mount *m, int ret)
{
	int err = verify_a(s, m, ret);

	if (!err && !ret)
		err = check_file(m, "/c", D_SIZE, 3, true);
	return err;
}

static int verify_write_bg(struct st *s, struct pc_mount *m, int ret)
{
	int err = verify_a(s, m, ret);

	if (!err && !ret)
		err = check_file(m, "/big", BIG_SIZE, 6, true);
	return err;
}

static int verify_fsync(struct st *s, struct pc_mount *m, int ret)
{
	int fd;
	ssize_t n;

	if (ret)	/* the range may be old or new; the rest is old */
		return check_file(m, "/a", 8192, 1, false);
	fd = pc_open(m, "/a", O_RDONLY, 0);
	if (fd < 0)
		return -EBADMSG;
	n = pc_pread(fd, buf, A_SIZE, 0);
	pc_close(fd);
	tu_fill(want, 0, A_SIZE, 1);
	tu_fill(want + 8192, 8192, 16384, 4);
	if (n != A_SIZE || memcmp(buf, want, A_SIZE)) {
		fprintf(stderr, "  /a: fsynced data lost\n");
		return -EBADMSG;
	}
	return 0;
}

static int verify_truncate(struct st *s, struct pc_mount *m, int ret)
{
	struct stat sb;

	if (pc_stat(m, "/a", &sb))
		return -EBADMSG;
	if (!ret && sb.st_size != 10000) {
		fprintf(stderr, "  /a: size %lld after an acknowledged truncate\n", (long long)sb.st_size);
		return -EBADMSG;
	}
	return check_file(m, "/a", (size_t)PC_TU_MIN(sb.st_size, 10000), 1, false);
}

static int verify_rename(struct st *s, struct pc_mount *m, int ret)
{
	bool f = exists(m, "/d/f"), g = exists(m, "/g");

	if ((!ret && (f || !g)) || (!f && !g)) {
		fprintf(stderr, "  rename %d: /d/f %d /g %d\n", ret, f, g);
		return -EBADMSG;
	}
	return check_file(m, g ? "/g" : "/d/f", 3000, 7, true);
}

static int verify_mkdir_unlink(struct st *s, struct pc_mount *m, int ret)
{
	if (!ret && (!exists(m, "/e") || exists(m, "/d/f"))) {
		fprintf(stderr, "  mkdir+unlink acknowledged but not done\n");
		return -EBADMSG;
	}
	if (exists(m, "/d/f") && check_file(m, "/d/f", 3000, 7, true))
		return -EBADMSG;
	return verify_a(s, m, ret);
}

static int verify_umount(struct st *s, struct pc_mount *m, int ret)
{
	int err = check_file(m, "/b", B_SIZE, 5, true);

	if (!err && !ret && !s->k->mkfs)
		err = 0;	/* ramfs: nothing survives anyway */
	if (!err && !ret) {
		/* a clean unmount wrote the dirty range of /a too */
		int fd = pc_open(m, "/a", O_RDONLY, 0);

		if (fd < 0 || pc_pread(fd, buf, 16384, 8192) != 16384)
			err = -EBADMSG;
		if (fd >= 0)
			pc_close(fd);
		tu_fill(want, 8192, 16384, 4);
		if (!err && memcmp(buf, want, 16384)) {
			fprintf(stderr, "  /a: the unmount returned 0 but lost dirty data\n");
			err = -EBADMSG;
		}
	} else if (!err) {
		err = check_file(m, "/a", 8192, 1, false);
	}
	return err;
}

enum { OP_MOUNT, OP_UMOUNT };

static const struct op ops[] = {
	[OP_MOUNT] = { "mount", false, prep_none, run_mount, verify_a },
	[OP_UMOUNT] = { "umount", false, prep_umount, run_umount, verify_umount },
	{ "read-cold", false, prep_open_ro, run_read, verify_a },
	{ "read-cached", false, prep_open_cached, run_read, verify_a },
	{ "write", false, prep_none, run_write, verify_write },
	{ "read-direct", true, prep_open_direct, run_read_direct, verify_a },
	{ "write-direct", true, prep_none, run_write_direct, verify_write_direct },
	/* allocation failures in the flusher: fsync must report them */
	{ "write-flusher", true, prep_none, run_write_bg, verify_write_bg, .sparse = true },
	{ "fsync", false, prep_dirty, run_fsync, verify_fsync },
	{ "truncate", false, prep_open_rw, run_truncate, verify_truncate },
	{ "rename", false, prep_none, run_rename, verify_rename },
	{ "mkdir-unlink", false, prep_none, run_mkdir_unlink, verify_mkdir_unlink },
};

/* ---- the loop ---- */

struct tcase {
	const struct kind *k;
	const struct op *op;
	bool persistent;
};

static long total_points;

/* One iteration at @n; returns whether the injected failure was met. */
static bool one(struct st *s, const struct tcase *tc, long n, bool warmup)
{
	const struct op *op = tc->op;
	long live0, failed;
	int ret, uret = 0, verr;
	struct pc_mount *m2;

	if (s->k->mkfs)
		assert_int_equal(tu_run("cp '%s' '%s'", s->base, s->img), 0);
	urcu_memb_barrier();
	live0 = fm_live();
	s->m = NULL;
	s->fd = -1;
	if (op != &ops[OP_MOUNT]) {
		assert_int_equal(do_mount(s, &s->m), 0);
		if (!s->k->mkfs)
			populate(s->m);
	}
	op->prep(s);

	fm_arm(n, tc->persistent);
	ret = op->run(s);
	failed = fm_disarm();

	/* ramfs documents -ENOSPC for a write that cannot get memory */
	if (ret == -ENOSPC && failed && !s->k->mkfs && op->run == run_write)
		ret = -ENOMEM;
	if (!(ret == 0 || (ret == -ENOMEM && failed)))
		fail_msg("%s %s%s N=%ld: returned %d (%s) with %ld failed allocations", s->k->name,
			 op->name, tc->persistent ? " (persistent)" : "", n, ret, strerror(-ret),
			 failed);
	if (op == &ops[OP_MOUNT] && ret == 0 && !s->k->mkfs)
		populate(s->m);
	if (s->fd >= 0)
		pc_close(s->fd);
	if (!s->k->mkfs && s->m) {
		/* ramfs keeps nothing: check on the same mount */
		verr = op->verify(s, s->m, ret);
		if (verr)
			fail_msg("ramfs %s N=%ld (ret %d): check failed", op->name, n, ret);
	}
	if (s->m) {
		uret = pc_umount(s->m);
		if (!(uret == 0 || (uret == -ENOMEM && failed)))
			fail_msg("%s %s N=%ld: umount after the operation returned %d", s->k->name,
				 op->name, n, uret);
	}
	urcu_memb_barrier();
	/* Fewer blocks than before is no leak (something allocated before the
	 * baseline, e.g. by libext2fs or glibc, was released): only more. */
	if (!warmup && fm_live() > live0)
		fail_msg("%s %s%s N=%ld (ret %d): %ld heap blocks leaked", s->k->name, op->name,
			 tc->persistent ? " (persistent)" : "", n, ret, fm_live() - live0);
	if (s->k->mkfs) {
		if ((!failed || n % E2FSCK_EVERY == 0) && fsck(s->img) != 0)
			fail_msg("%s %s%s N=%ld (ret %d): e2fsck -fn finds the image damaged",
				 s->k->name, op->name, tc->persistent ? " (persistent)" : "", n, ret);
		/* A mount or unmount that failed for memory may have been unable
		 * to write the superblock back as clean: the image is then
		 * consistent (e2fsck above) but marked not clean, and a
		 * read-write mount needs force. A 0 from both must leave it
		 * clean. */
		int mret = do_mount(s, &m2);
		bool torn = uret != 0 ||
			    ((op == &ops[OP_MOUNT] || op == &ops[OP_UMOUNT]) && ret != 0);
		if (mret == -EUCLEAN && torn)
			mret = do_mount_opts(s, &m2, true);
		if (mret != 0)
			fail_msg("%s %s%s N=%ld (ret %d, umount %d): remount returned %d",
				 s->k->name, op->name, tc->persistent ? " (persistent)" : "", n, ret,
				 uret, mret);
		verr = op->verify(s, m2, op == &ops[OP_MOUNT] ? 0 : ret);
		assert_int_equal(pc_umount(m2), 0);
		if (verr)
			fail_msg("%s %s%s N=%ld (ret %d, umount %d): acknowledged data lost",
				 s->k->name, op->name, tc->persistent ? " (persistent)" : "", n, ret,
				 uret);
	}
	return failed != 0;
}

static void test_op(void **state)
{
	const struct tcase *tc = *state;
	struct st s = { .k = tc->k };
	uint64_t t0 = tu_now_ns();
	long n, points = 0;

	if (tc->k->mkfs) {
		struct pc_mount *m;

		snprintf(s.base, sizeof(s.base), "%s/%s.base", tmpdir, tc->k->name);
		snprintf(s.img, sizeof(s.img), "%s/%s.img", tmpdir, tc->k->name);
		assert_int_equal(tu_run("%s '%s' 8M >'%s' 2>&1", tc->k->mkfs, s.base, logpath), 0);
		assert_int_equal(tu_run("cp '%s' '%s'", s.base, s.img), 0);
		assert_int_equal(do_mount(&s, &m), 0);
		populate(m);
		assert_int_equal(pc_umount(m), 0);
		assert_int_equal(tu_run("cp '%s' '%s'", s.img, s.base), 0);
	}
	/* a first pass unarmed: one-time allocations (error tables, the RCU
	 * thread) happen before any count is compared */
	fm_arm(MAX_N * 100, false);
	fm_disarm();
	one(&s, tc, MAX_N * 100, true);
	for (n = 0; n < MAX_N; n += tc->op->sparse ? 1 + n / 8 : 1) {
		points++;
		if (!one(&s, tc, n, false))
			break;
	}
	if (n >= MAX_N)
		fail_msg("%s %s: still failing at N=%d", tc->k->name, tc->op->name, MAX_N);
	total_points += points;
	fprintf(stderr, "nomem: %-5s %-13s %-10s %5ld runs, last N %5ld, %.2f s\n", tc->k->name,
		tc->op->name, tc->persistent ? "persistent" : "one-shot", points, n,
		(double)(tu_now_ns() - t0) / 1e9);
}

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
#define NOPS (sizeof(ops) / sizeof(ops[0]))

int main(void)
{
	static struct tcase cases[NKINDS * NOPS * 2];
	static struct CMUnitTest tests[NKINDS * NOPS * 2];
	static char names[NKINDS * NOPS * 2][64];
	const char *only = getenv("NOMEM_ONLY");
	size_t nt = 0;
	int failed;

	int rc = tu_make_tmpdir("nomem", "mke2fs e2fsck", tmpdir, sizeof(tmpdir), logpath,
				 sizeof(logpath));

	if (rc)
		return rc;
	for (int p = 0; p < 2; p++)
		for (size_t k = 0; k < NKINDS; k++)
			for (size_t o = 0; o < NOPS; o++) {
				if (ops[o].ext_only && !kinds[k].mkfs)
					continue;
				cases[nt] = (struct tcase){ &kinds[k], &ops[o], p == 1 };
				snprintf(names[nt], sizeof(names[nt]), "%s_%s%s", kinds[k].name,
					 ops[o].name, p ? "_persistent" : "");
				if (only && !strstr(names[nt], only))
					continue;
				tests[nt] = (struct CMUnitTest){ .name = names[nt], .test_func = test_op,
								.initial_state = &cases[nt] };
				nt++;
			}
	failed = _cmocka_run_group_tests("nomem", tests, nt, NULL, NULL);
	fprintf(stderr, "nomem: %ld runs in all (each: one operation with the countdown armed)\n",
		total_points);
	tu_run("rm -rf '%s'", tmpdir);
	return failed ? 1 : 0;
}
