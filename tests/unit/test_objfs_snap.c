// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test_objfs_snap.c - objfs snapshots (fs/objfs/snap.c) through
 * the public API only (pagecache.h: pc_mkdir/pc_rmdir of /.snap/NAME,
 * reads under .snap), on the directory store (pc_objstore_open_dir in a
 * scratch directory) wrapped by the ordering checker
 * (pc_objstore_order_check_wrap: every test ends with zero violations)
 * and by a counting wrapper of this file (object WRITEs per kind):
 *  - the write_begin rule: a page rewritten after a snapshot keeps its old
 *    bytes in the snapshot, with one data write and no flush of anything
 *    else;
 *  - snapshots with dirty data, several between two writebacks, checked
 *    byte for byte against a model of every snapshot, again after a
 *    remount (cold cache), then every snapshot removed and no clone file
 *    left in the store;
 *  - metadata point in time (create, rename, unlink, truncate, chmod,
 *    size and mtime of a file with dirty data at the snapshot);
 *  - -EROFS on every write path under .snap, -EEXIST / -ENOENT names;
 *  - O_DIRECT and truncate after a snapshot taken with dirty data;
 *  - a 1 MiB cache under snapshot-heavy writes (reclaim keeps the order);
 *  - a failing Nth write: fsync -EIO once per descriptor, counts right;
 *  - concurrent writers and snapshots from threads;
 *  - the time a snapshot takes with nothing and with 64 MiB dirty
 *    (printed; a generous bound only);
 *  - the snapshot table: a torn newest copy falls back to the older one,
 *    both torn refuse the mount; a store without snapshots (objstore_mem)
 *    answers -EOPNOTSUPP and works otherwise.
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
#include <unistd.h>

#include <pagecache/pagecache.h>
#include <pagecache/objfs.h>
#include "objstore_mem.h"
#include "test_util.h"

#define CHECK(c) TU_CHECK(c, (void)0)
#define PG 4096

/* ---- a counting wrapper: WRITEs of data objects, of everything ---- */

struct cnt_store {
	struct pc_objstore pub;
	struct pc_objstore *inner;
	_Atomic long data_writes, writes;
};

static bool is_data_oid(const char *oid)
{
	const char *dot = strrchr(oid, '.');

	return dot && strlen(dot + 1) == 8 && strncmp(oid, "objfs", 5) != 0;
}

static int cnt_submit(struct pc_objstore *os, struct pc_obj_req *req)
{
	struct cnt_store *c = os->private;

	if (req->op == PC_OBJ_WRITE) {
		c->writes++;
		if (is_data_oid(req->oid))
			c->data_writes++;
	}
	return c->inner->ops->submit(c->inner, req);
}
#define FWD(name, proto, args)						\
	static int cnt_##name proto					\
	{								\
		struct cnt_store *c = os->private;			\
		return c->inner->ops->name ? c->inner->ops->name args : -EOPNOTSUPP; \
	}
FWD(snap_create, (struct pc_objstore *os, uint64_t *id), (c->inner, id))
FWD(snap_remove, (struct pc_objstore *os, uint64_t id), (c->inner, id))
FWD(lock, (struct pc_objstore *os, const char *ck, char *why, size_t wl), (c->inner, ck, why, wl))
FWD(unlock, (struct pc_objstore *os, const char *ck), (c->inner, ck))
FWD(flush, (struct pc_objstore *os), (c->inner))
FWD(statfs, (struct pc_objstore *os, struct pc_objstore_statfs *st), (c->inner, st))

static void cnt_close(struct pc_objstore *os)
{
	struct cnt_store *c = os->private;

	pc_objstore_close(c->inner);
	free(c);
}

static const struct pc_objstore_ops cnt_ops = {
	.submit = cnt_submit, .snap_create = cnt_snap_create, .snap_remove = cnt_snap_remove,
	.lock = cnt_lock, .unlock = cnt_unlock, .flush = cnt_flush, .statfs = cnt_statfs,
	.close = cnt_close,
};

/* ---- the fixture: DIR store <- (fault) <- order checker <- counter ---- */

/*
 * OBJFS_SNAP_RADOS_POOL=POOL (with CEPH_CONF naming a cluster, e.g.
 * scripts/ceph-cluster.sh's): the same tests on that RADOS pool instead of
 * a directory store: each test makes its own pool POOL-PID-N (`ceph osd
 * pool create`) and deletes it at the end (ORDERSNAP is then a second
 * ordering check). The directory-store-only checks
 * (clone files, a torn table file) are skipped there.
 */
#pragma weak pc_objstore_open_rados
static const char *rados_pool(void)
{
	const char *p = getenv("OBJFS_SNAP_RADOS_POOL");

	return p && *p && pc_objstore_open_rados ? p : NULL;
}

struct fx {
	char dir[4200], store[4400], pool[128];
	struct pc_objstore *os;		/* what the mount gets (the counter) */
	struct cnt_store *cnt;
	struct pc_objstore *order, *fault;
	struct pc_mount *m;
	size_t cache;
};

static void fx_mount(struct fx *f)
{
	struct pc_mount_opts o = { .cache_size = f->cache, .objstore = f->os };
	int err = pc_mount("objfs", "snaptest", &o, &f->m);

	if (err)
		fprintf(stderr, "mount: %d %s\n", err, pc_mount_error());
	assert_int_equal(err, 0);
}

static void fx_open(struct fx *f, size_t cache, bool fault)
{
	char log[4300], msg[256];
	struct pc_objstore *ds, *top;

	memset(f, 0, sizeof(*f));
	f->cache = cache;
	assert_int_equal(tu_make_tmpdir("objfs-snap", "", f->dir, sizeof(f->dir), log, sizeof(log)), 0);
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	if (rados_pool()) {
		char why[256] = "";
		struct pc_rados_opts ro = { .size = sizeof(ro), .why = why, .whylen = sizeof(why) };
		int err;

		static int n;

		snprintf(f->pool, sizeof(f->pool), "%.64s-%d-%d", rados_pool(), (int)getpid(), n++);
		assert_int_equal(tu_run("ceph osd pool create '%s' 8 8 replicated >/dev/null 2>&1",
					f->pool), 0);
		err = pc_objstore_open_rados(f->pool, &ro, &ds);
		if (err)
			fprintf(stderr, "rados: %d %s\n", err, why);
		assert_int_equal(err, 0);
	} else {
		assert_int_equal(pc_objstore_mkfs_dir(f->store), 0);
		assert_int_equal(pc_objstore_open_dir(f->store, 0, &ds), 0);
	}
	top = ds;
	if (fault) {
		assert_int_equal(pc_objstore_fault_wrap(top, &f->fault), 0);
		top = f->fault;
	}
	assert_int_equal(pc_objstore_order_check_wrap(top, &f->order), 0);
	f->cnt = calloc(1, sizeof(*f->cnt));
	assert_non_null(f->cnt);
	f->cnt->inner = f->order;
	f->cnt->pub.ops = &cnt_ops;
	f->cnt->pub.private = f->cnt;
	f->cnt->pub.max_object_size = f->order->max_object_size;
	f->cnt->pub.max_write_size = f->order->max_write_size;
	snprintf(f->cnt->pub.name, sizeof(f->cnt->pub.name), "count(%.100s)", f->order->name);
	f->os = &f->cnt->pub;
	assert_int_equal(pc_objfs_mkfs(f->os, NULL, msg, sizeof(msg)), 0);
	fx_mount(f);
}

static void fx_remount(struct fx *f)
{
	assert_int_equal(pc_umount(f->m), 0);
	fx_mount(f);
}

static void check_no_violation(struct fx *f)
{
	char why[256];
	unsigned long v = pc_objstore_order_violations(f->order, why, sizeof(why));

	if (v)
		fprintf(stderr, "ordering violations: %lu: %s\n", v, why);
	CHECK(v == 0);
}

/* Clone files of the directory store (DIR/snap/NAME@ID). */
static long count_clones(struct fx *f)
{
	char cmd[4600], line[64] = "";
	FILE *p;

	if (rados_pool())
		return 0;	/* RADOS trims on its own schedule; not counted */
	snprintf(cmd, sizeof(cmd), "find '%s' -name '*@*' | wc -l", f->store);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	pclose(p);
	return strtol(line, NULL, 10);
}

static void fx_close(struct fx *f)
{
	if (f->m)
		CHECK(pc_umount(f->m) == 0);
	f->m = NULL;
	check_no_violation(f);
	pc_objstore_close(f->os);
	tu_run("rm -rf '%s'", f->dir);
	if (f->pool[0])
		tu_run("ceph osd pool delete '%s' '%s' --yes-i-really-really-mean-it >/dev/null 2>&1",
		       f->pool, f->pool);
}

/* ---- helpers ---- */

static void put(struct pc_mount *m, const char *path, const void *buf, size_t len, off_t off)
{
	int fd = pc_open(m, path, O_CREAT | O_RDWR, 0644);

	CHECK(fd >= 0);
	CHECK(pc_pwrite(fd, buf, len, off) == (ssize_t)len);
	CHECK(pc_close(fd) == 0);
}

/* The whole file @path into a malloc'ed buffer; *@len its size; NULL if missing. */
static unsigned char *slurp(struct pc_mount *m, const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	int fd;

	if (pc_stat(m, path, &st))
		return NULL;
	buf = malloc(st.st_size + 1);
	assert_non_null(buf);
	fd = pc_open(m, path, O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK(pc_pread(fd, buf, st.st_size + 1, 0) == st.st_size);
	CHECK(pc_close(fd) == 0);
	*len = (size_t)st.st_size;
	return buf;
}

static void expect_file(struct pc_mount *m, const char *path, const unsigned char *want, size_t len)
{
	size_t got = 0;
	unsigned char *buf = slurp(m, path, &got);

	if (!buf || got != len || memcmp(buf, want, len)) {
		fprintf(stderr, "%s: %s, size %zu want %zu, first diff %ld\n", path,
			buf ? "differs" : "missing", got, len,
			buf ? tu_first_diff(buf, want, PC_TU_MIN(got, len)) : -1L);
	}
	CHECK(buf && got == len && !memcmp(buf, want, len));
	free(buf);
}

/* Names in directory @path (without . and ..), sorted, joined by ' '. */
static void list_dir(struct pc_mount *m, const char *path, char *out, size_t outlen)
{
	char names[64][256];
	int n = 0;
	struct pc_dir *d;
	struct pc_dirent e;

	out[0] = '\0';
	CHECK(pc_opendir(m, path, &d) == 0);
	while (pc_readdir(d, &e) == 1) {
		if (!strcmp(e.d_name, ".") || !strcmp(e.d_name, ".."))
			continue;
		if (n < 64)
			snprintf(names[n++], 256, "%s", e.d_name);
	}
	pc_closedir(d);
	qsort(names, n, 256, (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < n; i++) {
		if (i)
			strncat(out, " ", outlen - strlen(out) - 1);
		strncat(out, names[i], outlen - strlen(out) - 1);
	}
}

/* ---- the write_begin rule ---- */

static void test_write_begin_rule(void **state)
{
	struct fx f;
	unsigned char a[PG], b[PG], g[64 * PG], want[2 * PG];
	long before;
	int fd;

	(void)state;
	fx_open(&f, 64 << 20, false);
	memset(a, 'a', PG);
	memset(b, 'b', PG);
	tu_fill(g, 0, sizeof(g), 7);
	fd = pc_open(f.m, "/f", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK(pc_pwrite(fd, a, PG, 0) == PG);
	CHECK(pc_pwrite(fd, a, PG, PG) == PG);
	put(f.m, "/g", g, sizeof(g), 0);		/* 64 dirty pages elsewhere */
	before = f.cnt->data_writes;
	CHECK(pc_mkdir(f.m, "/.snap/s1", 0755) == 0);
	CHECK(f.cnt->data_writes == before);		/* a snapshot writes no data */
	CHECK(pc_pwrite(fd, b, PG, 0) == PG);		/* page 0: dirty in the old context */
	/* write_begin wrote that one page (the oldest context), nothing else. */
	CHECK(f.cnt->data_writes == before + 1);
	memcpy(want, b, PG);
	memcpy(want + PG, a, PG);
	expect_file(f.m, "/f", want, 2 * PG);
	memcpy(want, a, PG);
	expect_file(f.m, "/.snap/s1/f", want, 2 * PG);
	expect_file(f.m, "/.snap/s1/g", g, sizeof(g));
	CHECK(pc_close(fd) == 0);
	fx_remount(&f);
	expect_file(f.m, "/.snap/s1/f", want, 2 * PG);
	memcpy(want, b, PG);
	expect_file(f.m, "/f", want, 2 * PG);
	fx_close(&f);
}

/* ---- many snapshots against a model ---- */

#define MF 3
#define MAXSZ (24 * PG)
#define MS 24

struct mfile {
	unsigned char data[MAXSZ];
	size_t size;
};

struct msnap {
	char name[32];
	struct mfile files[MF];
	bool live;
};

static struct mfile head[MF];
static struct msnap snaps[MS];

static void check_model(struct pc_mount *m, int nsnaps)
{
	char path[128];

	for (int i = 0; i < MF; i++) {
		snprintf(path, sizeof(path), "/f%d", i);
		expect_file(m, path, head[i].data, head[i].size);
	}
	for (int k = 0; k < nsnaps; k++) {
		if (!snaps[k].live)
			continue;
		for (int i = 0; i < MF; i++) {
			snprintf(path, sizeof(path), "/.snap/%s/f%d", snaps[k].name, i);
			expect_file(m, path, snaps[k].files[i].data, snaps[k].files[i].size);
		}
	}
}

static void take_snap(struct pc_mount *m, int k)
{
	char path[64];

	snprintf(snaps[k].name, sizeof(snaps[k].name), "s%d", k);
	snprintf(path, sizeof(path), "/.snap/%.30s", snaps[k].name);
	CHECK(pc_mkdir(m, path, 0755) == 0);
	memcpy(snaps[k].files, head, sizeof(head));
	snaps[k].live = true;
}

static void test_model(void **state)
{
	struct tu_rng rng = { 42 };
	unsigned char buf[3 * PG];
	int fds[MF], nsnaps = 0;
	char path[64], list[512], want[512] = "";
	struct fx f;

	(void)state;
	fx_open(&f, 64 << 20, false);
	memset(head, 0, sizeof(head));
	memset(snaps, 0, sizeof(snaps));
	for (int i = 0; i < MF; i++) {
		snprintf(path, sizeof(path), "/f%d", i);
		fds[i] = pc_open(f.m, path, O_CREAT | O_RDWR, 0644);
		CHECK(fds[i] >= 0);
	}
	for (int step = 0; step < 400; step++) {
		unsigned r = (unsigned)tu_rand_below(&rng, 100);
		int i = (int)tu_rand_below(&rng, MF);

		if (r < 70) {
			size_t len = 1 + tu_rand_below(&rng, sizeof(buf));
			size_t off = tu_rand_below(&rng, MAXSZ - len);

			tu_fill(buf, off, len, (unsigned)step);
			CHECK(pc_pwrite(fds[i], buf, len, (off_t)off) == (ssize_t)len);
			memcpy(head[i].data + off, buf, len);
			if (off + len > head[i].size)
				head[i].size = off + len;
		} else if (r < 80 && nsnaps < MS) {
			take_snap(f.m, nsnaps++);	/* dirty data in flight */
		} else if (r < 85) {
			size_t sz = tu_rand_below(&rng, MAXSZ);

			CHECK(pc_ftruncate(fds[i], (off_t)sz) == 0);
			if (sz > head[i].size)
				memset(head[i].data + head[i].size, 0, sz - head[i].size);
			else
				memset(head[i].data + sz, 0, MAXSZ - sz);
			head[i].size = sz;
		} else if (r < 88) {
			CHECK(pc_fsync(fds[i]) == 0);
		} else if (r < 90) {
			check_model(f.m, nsnaps);
		}
	}
	CHECK(nsnaps >= 10);
	check_model(f.m, nsnaps);
	for (int i = 0; i < MF; i++)
		CHECK(pc_close(fds[i]) == 0);
	/* /.snap lists them all. */
	list_dir(f.m, "/.snap", list, sizeof(list));
	{
		char names[MS][32];

		for (int k = 0; k < nsnaps; k++)
			snprintf(names[k], 32, "%.30s", snaps[k].name);
		qsort(names, nsnaps, 32, (int (*)(const void *, const void *))strcmp);
		for (int k = 0; k < nsnaps; k++) {
			if (k)
				strcat(want, " ");
			strcat(want, names[k]);
		}
	}
	if (strcmp(list, want))
		fprintf(stderr, "/.snap: '%s' want '%s'\n", list, want);
	CHECK(!strcmp(list, want));
	/* Cold cache: everything from the store. */
	fx_remount(&f);
	check_model(f.m, nsnaps);
	/* Remove half, check, remount, remove the rest: no clone left. */
	for (int k = 0; k < nsnaps; k += 2) {
		snprintf(path, sizeof(path), "/.snap/%.30s", snaps[k].name);
		CHECK(pc_rmdir(f.m, path) == 0);
		CHECK(pc_rmdir(f.m, path) == -ENOENT);
		snaps[k].live = false;
	}
	check_model(f.m, nsnaps);
	fx_remount(&f);
	check_model(f.m, nsnaps);
	CHECK(count_clones(&f) > 0 || rados_pool());
	for (int k = 1; k < nsnaps; k += 2) {
		snprintf(path, sizeof(path), "/.snap/%.30s", snaps[k].name);
		CHECK(pc_rmdir(f.m, path) == 0);
		snaps[k].live = false;
	}
	list_dir(f.m, "/.snap", list, sizeof(list));
	CHECK(list[0] == '\0');
	CHECK(pc_sync(f.m) == 0);
	check_model(f.m, nsnaps);
	{
		long c = count_clones(&f);

		if (c)
			tu_run("find '%s' -name '*@*' >&2", f.store);
		CHECK(c == 0);
	}
	fx_close(&f);
}

/* ---- metadata point in time ---- */

static void test_metadata(void **state)
{
	struct fx f;
	unsigned char a[5000], b[9000];
	struct stat st, st_c, st_f;
	char list[512];
	int fd;

	(void)state;
	fx_open(&f, 64 << 20, false);
	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	put(f.m, "/a", a, 100, 0);
	put(f.m, "/b", a, 200, 0);
	put(f.m, "/c", a, sizeof(a), 0);
	CHECK(pc_mkdir(f.m, "/d", 0755) == 0);
	put(f.m, "/d/x", a, 300, 0);
	CHECK(pc_symlink(f.m, "a", "/l") == 0);
	/* A file with data dirty at the snapshot. */
	fd = pc_open(f.m, "/f", O_CREAT | O_RDWR, 0644);
	CHECK(pc_pwrite(fd, a, sizeof(a), 0) == sizeof(a));
	CHECK(pc_sync(f.m) == 0);
	CHECK(pc_pwrite(fd, b, 3000, 5000) == 3000);	/* size 8000, dirty */
	CHECK(pc_stat(f.m, "/c", &st_c) == 0);
	CHECK(pc_stat(f.m, "/f", &st_f) == 0);
	tu_sleep_ms(20);
	CHECK(pc_mkdir(f.m, "/.snap/s1", 0755) == 0);
	CHECK(pc_mkdir(f.m, "/.snap/s1", 0755) == -EEXIST);
	/* Changes after it. */
	CHECK(pc_pwrite(fd, b, sizeof(b), 8000) == sizeof(b));	/* size 17000 */
	CHECK(pc_close(fd) == 0);
	CHECK(pc_rename(f.m, "/a", "/a2") == 0);
	CHECK(pc_unlink(f.m, "/b") == 0);
	put(f.m, "/e", b, 10, 0);
	CHECK(pc_truncate(f.m, "/c", 10) == 0);
	CHECK(pc_chmod(f.m, "/c", 0600) == 0);
	CHECK(pc_rename(f.m, "/d/x", "/x") == 0);
	CHECK(pc_unlink(f.m, "/l") == 0);

	list_dir(f.m, "/", list, sizeof(list));
	CHECK(!strcmp(list, "a2 c d e f x"));
	list_dir(f.m, "/.snap/s1", list, sizeof(list));
	if (strcmp(list, "a b c d f l"))
		fprintf(stderr, "snapshot lists '%s'\n", list);
	CHECK(!strcmp(list, "a b c d f l"));
	list_dir(f.m, "/d/.snap/s1", list, sizeof(list));
	CHECK(!strcmp(list, "x"));
	list_dir(f.m, "/d", list, sizeof(list));
	CHECK(list[0] == '\0');
	expect_file(f.m, "/.snap/s1/a", a, 100);
	expect_file(f.m, "/.snap/s1/b", a, 200);
	expect_file(f.m, "/.snap/s1/c", a, sizeof(a));
	expect_file(f.m, "/.snap/s1/d/x", a, 300);
	expect_file(f.m, "/d/.snap/s1/x", a, 300);
	CHECK(pc_stat(f.m, "/.snap/s1/a2", &st) == -ENOENT);
	CHECK(pc_stat(f.m, "/.snap/s1/e", &st) == -ENOENT);
	CHECK(pc_stat(f.m, "/.snap/s1/c", &st) == 0);
	CHECK(st.st_size == (off_t)sizeof(a) && (st.st_mode & 07777) == 0644);
	CHECK(st.st_mtim.tv_sec == st_c.st_mtim.tv_sec && st.st_mtim.tv_nsec == st_c.st_mtim.tv_nsec);
	CHECK(pc_stat(f.m, "/c", &st) == 0 && st.st_size == 10 && (st.st_mode & 07777) == 0600);
	/* The file with dirty data: size and mtime as at the snapshot. */
	CHECK(pc_stat(f.m, "/.snap/s1/f", &st) == 0);
	CHECK(st.st_size == 8000);
	CHECK(st.st_mtim.tv_sec == st_f.st_mtim.tv_sec && st.st_mtim.tv_nsec == st_f.st_mtim.tv_nsec);
	{
		unsigned char w[8000];

		memcpy(w, a, 5000);
		memcpy(w + 5000, b, 3000);
		expect_file(f.m, "/.snap/s1/f", w, 8000);
	}
	{
		char t[16] = "";

		CHECK(pc_readlink(f.m, "/.snap/s1/l", t, sizeof(t)) == 1 && t[0] == 'a');
	}
	CHECK(pc_stat(f.m, "/f", &st) == 0 && st.st_size == 17000);
	/* .snap of a directory made after the snapshot: no such snapshot there. */
	CHECK(pc_mkdir(f.m, "/n", 0755) == 0);
	CHECK(pc_stat(f.m, "/n/.snap/s1", &st) == -ENOENT);
	/* Cold cache. */
	fx_remount(&f);
	list_dir(f.m, "/.snap/s1", list, sizeof(list));
	CHECK(!strcmp(list, "a b c d f l"));
	CHECK(pc_stat(f.m, "/.snap/s1/f", &st) == 0 && st.st_size == 8000);
	CHECK(pc_stat(f.m, "/.snap/s1/c", &st) == 0 && st.st_size == (off_t)sizeof(a));
	expect_file(f.m, "/.snap/s1/b", a, 200);
	/* Snapshot inode numbers are distinct from head ones. */
	{
		struct stat h, s;

		CHECK(pc_stat(f.m, "/c", &h) == 0 && pc_stat(f.m, "/.snap/s1/c", &s) == 0);
		CHECK(h.st_ino != s.st_ino);
	}
	fx_close(&f);
}

/* ---- read-only: every write path under .snap ---- */

static void test_erofs(void **state)
{
	struct fx f;
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	int fd;

	(void)state;
	fx_open(&f, 16 << 20, false);
	put(f.m, "/f", "hello", 5, 0);
	CHECK(pc_mkdir(f.m, "/d", 0755) == 0);
	CHECK(pc_mkdir(f.m, "/.snap/s", 0755) == 0);
	CHECK(pc_open(f.m, "/.snap/s/f", O_WRONLY, 0) == -EROFS);
	CHECK(pc_open(f.m, "/.snap/s/f", O_RDWR, 0) == -EROFS);
	CHECK(pc_open(f.m, "/.snap/s/new", O_CREAT | O_RDWR, 0644) == -EROFS);
	CHECK(pc_open(f.m, "/.snap/new", O_CREAT | O_RDWR, 0644) == -EROFS);
	CHECK(pc_mkdir(f.m, "/.snap/s/x", 0755) == -EROFS);
	CHECK(pc_mkdir(f.m, "/d/.snap/x", 0755) == -EROFS);	/* whole-tree snapshots only */
	CHECK(pc_rmdir(f.m, "/d/.snap/s") == -EROFS);
	CHECK(pc_rmdir(f.m, "/.snap/s/d") == -EROFS);
	CHECK(pc_unlink(f.m, "/.snap/s/f") == -EROFS);
	CHECK(pc_rename(f.m, "/.snap/s/f", "/.snap/s/g") == -EROFS);
	CHECK(pc_rename(f.m, "/f", "/.snap/s/g") == -EROFS);
	CHECK(pc_rename(f.m, "/.snap/s/f", "/g") == -EROFS);
	CHECK(pc_symlink(f.m, "f", "/.snap/s/l") == -EROFS);
	CHECK(pc_truncate(f.m, "/.snap/s/f", 0) == -EROFS);
	CHECK(pc_chmod(f.m, "/.snap/s/f", 0600) == -EROFS);
	CHECK(pc_chmod(f.m, "/.snap/s", 0700) == -EROFS);
	CHECK(pc_utimens(f.m, "/.snap/s/f", ts) == -EROFS);
	CHECK(pc_mkdir(f.m, "/.snap/s", 0755) == -EEXIST);
	CHECK(pc_rmdir(f.m, "/.snap/nope") == -ENOENT);
	CHECK(pc_mkdir(f.m, "/.snap", 0755) == -EEXIST);
	CHECK(pc_mkdir(f.m, "/d/.snap", 0755) == -EEXIST);
	CHECK(pc_open(f.m, "/.snap", O_CREAT | O_RDWR, 0644) < 0);
	fd = pc_open(f.m, "/.snap/s/f", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK(pc_pwrite(fd, "x", 1, 0) < 0);
	CHECK(pc_close(fd) == 0);
	expect_file(f.m, "/.snap/s/f", (const unsigned char *)"hello", 5);
	expect_file(f.m, "/f", (const unsigned char *)"hello", 5);
	fx_close(&f);
}

/* ---- a 1 MiB cache under snapshot-heavy writes ---- */

static void test_tiny_cache(void **state)
{
	enum { FSZ = 2 << 20, CHUNK = 64 << 10 };
	static unsigned char model[4][2][FSZ];	/* head and the snapshot taken at the middle */
	unsigned char *buf = malloc(CHUNK);
	struct fx f;
	char path[64];
	int nsnap = 0;

	(void)state;
	assert_non_null(buf);
	fx_open(&f, 1 << 20, false);
	memset(model, 0, sizeof(model));
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 4; i++) {
			int fd;

			snprintf(path, sizeof(path), "/f%d", i);
			fd = pc_open(f.m, path, O_CREAT | O_RDWR, 0644);
			CHECK(fd >= 0);
			for (size_t off = 0; off < FSZ; off += CHUNK) {
				tu_fill(buf, off, CHUNK, (unsigned)(pass * 10 + i));
				CHECK(pc_pwrite(fd, buf, CHUNK, (off_t)off) == CHUNK);
				memcpy(model[i][0] + off, buf, CHUNK);
				if ((off / CHUNK) % 8 == 7) {
					snprintf(path, sizeof(path), "/.snap/t%d", nsnap++);
					CHECK(pc_mkdir(f.m, path, 0755) == 0);
				}
			}
			CHECK(pc_close(fd) == 0);
		}
		if (pass == 0) {
			CHECK(pc_mkdir(f.m, "/.snap/mid", 0755) == 0);
			for (int i = 0; i < 4; i++)
				memcpy(model[i][1], model[i][0], FSZ);
		}
	}
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/f%d", i);
		expect_file(f.m, path, model[i][0], FSZ);
		snprintf(path, sizeof(path), "/.snap/mid/f%d", i);
		expect_file(f.m, path, model[i][1], FSZ);
	}
	check_no_violation(&f);
	fx_close(&f);
	free(buf);
}

/* ---- a failing write ---- */

static void test_fault(void **state)
{
	unsigned char a[2 * PG], b[PG];
	struct fx f;
	int fd1, fd2, fd3;

	(void)state;
	fx_open(&f, 16 << 20, true);
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	fd1 = pc_open(f.m, "/f", O_CREAT | O_RDWR, 0644);
	fd2 = pc_open(f.m, "/f", O_RDWR, 0);
	CHECK(fd1 >= 0 && fd2 >= 0);
	CHECK(pc_pwrite(fd1, a, sizeof(a), 0) == sizeof(a));
	CHECK(pc_fsync(fd1) == 0);
	CHECK(pc_pwrite(fd1, b, PG, 0) == PG);
	CHECK(pc_mkdir(f.m, "/.snap/s1", 0755) == 0);
	CHECK(pc_pwrite(fd1, b, PG, PG) == PG);		/* page 1 in the new context */
	/* The old context's write (page 0) fails. */
	CHECK(pc_objstore_fault_arm(f.fault, PC_OBJ_WRITE, 1, 1, -EIO) == 0);
	CHECK(pc_fsync(fd1) == -EIO);
	CHECK(pc_fsync(fd1) == 0);			/* once per descriptor */
	CHECK(pc_fsync(fd2) == -EIO);
	CHECK(pc_fsync(fd2) == 0);
	fd3 = pc_open(f.m, "/f", O_RDWR, 0);
	CHECK(fd3 >= 0 && pc_fsync(fd3) == 0);
	CHECK(pc_objstore_fault_injected(f.fault) == 1);
	/* Writes go through again, snapshots too; the accounting is right
	 * (umount writes everything and frees every cap_snap). */
	CHECK(pc_pwrite(fd1, a, PG, 0) == PG);
	CHECK(pc_mkdir(f.m, "/.snap/s2", 0755) == 0);
	{
		ssize_t r = pc_pwrite(fd1, b, PG, 0);

		if (r != PG)
			fprintf(stderr, "pwrite after s2: %zd\n", r);
		CHECK(r == PG);
	}
	CHECK(pc_fsync(fd1) == 0 && pc_fsync(fd2) == 0);
	pc_close(fd1);
	pc_close(fd2);
	pc_close(fd3);
	{
		unsigned char w[2 * PG];

		memcpy(w, a, PG);
		memcpy(w + PG, b, PG);
		expect_file(f.m, "/.snap/s2/f", w, sizeof(w));
		memcpy(w, b, PG);
		expect_file(f.m, "/f", w, sizeof(w));
	}
	CHECK(pc_sync(f.m) == -EIO);		/* syncfs reports it once too */
	fx_remount(&f);
	{
		unsigned char w[2 * PG];

		memcpy(w, b, PG);
		memcpy(w + PG, b, PG);
		expect_file(f.m, "/f", w, sizeof(w));
	}
	fx_close(&f);
}

/* ---- concurrent writers and snapshots ---- */

#define CW_FILES 3
#define CW_PAGES 16
#define CW_ITERS 200

struct cw_arg {
	struct pc_mount *m;
	int idx;
	int err;
};

static _Atomic int cw_running;

/* Page p of version v of file i: every byte says (i, v). */
static void cw_fill(unsigned char *buf, int i, unsigned v)
{
	for (int k = 0; k < PG; k++)
		buf[k] = (unsigned char)((i * 67 + v * 13 + k % 7) & 0xff);
}

static void *cw_writer(void *p)
{
	struct cw_arg *a = p;
	unsigned char buf[PG];
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/w%d", a->idx);
	fd = pc_open(a->m, path, O_RDWR, 0);
	if (fd < 0) {
		a->err = fd;
		return NULL;
	}
	for (unsigned v = 1; v <= CW_ITERS; v++) {
		cw_fill(buf, a->idx, v);
		for (int pg = 0; pg < CW_PAGES; pg++)
			if (pc_pwrite(fd, buf, PG, (off_t)pg * PG) != PG)
				a->err = -EIO;
		if (v % 50 == 0 && pc_fsync(fd))
			a->err = -EIO;
	}
	pc_close(fd);
	cw_running--;
	return NULL;
}

/* Which version (1..CW_ITERS) page @buf of file @i is; 0: none (torn). */
static unsigned cw_version(const unsigned char *buf, int i)
{
	unsigned char want[PG];

	for (unsigned v = 1; v <= CW_ITERS; v++) {
		if (buf[0] != (unsigned char)((i * 67 + v * 13) & 0xff))
			continue;
		cw_fill(want, i, v);
		if (!memcmp(buf, want, PG))
			return v;
	}
	return 0;
}

static void test_concurrent(void **state)
{
	pthread_t th[CW_FILES];
	struct cw_arg args[CW_FILES];
	unsigned char zero[CW_PAGES * PG];
	unsigned prev[CW_FILES][CW_PAGES];
	char path[64];
	int nsnap = 0;
	struct fx f;

	(void)state;
	fx_open(&f, 4 << 20, false);
	memset(zero, 0, sizeof(zero));
	memset(prev, 0, sizeof(prev));
	for (int i = 0; i < CW_FILES; i++) {
		snprintf(path, sizeof(path), "/w%d", i);
		put(f.m, path, zero, sizeof(zero), 0);
	}
	cw_running = CW_FILES;
	for (int i = 0; i < CW_FILES; i++) {
		args[i] = (struct cw_arg){ .m = f.m, .idx = i };
		CHECK(pthread_create(&th[i], NULL, cw_writer, &args[i]) == 0);
	}
	while (cw_running > 0 && nsnap < 40) {
		snprintf(path, sizeof(path), "/.snap/c%d", nsnap++);
		CHECK(pc_mkdir(f.m, path, 0755) == 0);
	}
	for (int i = 0; i < CW_FILES; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].err == 0);
	}
	/* Every snapshot: each page one whole version (writes are atomic per
	 * page against a snapshot), never older than in an earlier one. */
	for (int k = 0; k < nsnap; k++) {
		for (int i = 0; i < CW_FILES; i++) {
			size_t len = 0;
			unsigned char *buf;

			snprintf(path, sizeof(path), "/.snap/c%d/w%d", k, i);
			buf = slurp(f.m, path, &len);
			CHECK(buf && len == sizeof(zero));
			for (int pg = 0; buf && pg < CW_PAGES; pg++) {
				bool z = !memcmp(buf + pg * PG, zero, PG);
				unsigned v = z ? 0 : cw_version(buf + pg * PG, i);

				CHECK(z || v != 0);
				CHECK(v >= prev[i][pg]);
				prev[i][pg] = v;
			}
			free(buf);
		}
	}
	for (int i = 0; i < CW_FILES; i++) {
		unsigned char want[CW_PAGES * PG];

		for (int pg = 0; pg < CW_PAGES; pg++)
			cw_fill(want + pg * PG, i, CW_ITERS);
		snprintf(path, sizeof(path), "/w%d", i);
		expect_file(f.m, path, want, sizeof(want));
	}
	fprintf(stderr, "concurrent: %d snapshots during the writes\n", nsnap);
	fx_close(&f);
}

/* ---- snapshot latency: flat in the amount of dirty data ---- */

/* Median of 5 snapshots (ms); names PREFIX0..4. */
static double snap_ms(struct pc_mount *m, const char *prefix)
{
	double t[5], x;
	char path[64];

	for (int i = 0; i < 5; i++) {
		uint64_t t0;

		snprintf(path, sizeof(path), "/.snap/%s%d", prefix, i);
		t0 = tu_now_ns();
		CHECK(pc_mkdir(m, path, 0755) == 0);
		t[i] = (double)(tu_now_ns() - t0) / 1e6;
	}
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			if (t[j] < t[i]) {
				x = t[i];
				t[i] = t[j];
				t[j] = x;
			}
	return t[2];
}

static void test_snap_latency(void **state)
{
	enum { DIRTY = 64 << 20, CH = 1 << 20 };
	unsigned char *buf = malloc(CH);
	double t0, t64;
	long before;
	struct fx f;
	int fd;

	(void)state;
	assert_non_null(buf);
	fx_open(&f, 1024 << 20, false);	/* 64 MiB stays under the background threshold */
	put(f.m, "/small", "x", 1, 0);
	CHECK(pc_sync(f.m) == 0);
	t0 = snap_ms(f.m, "empty");
	fd = pc_open(f.m, "/big", O_CREAT | O_RDWR, 0644);
	for (size_t off = 0; off < DIRTY; off += CH) {
		memset(buf, (int)(off >> 20), CH);
		CHECK(pc_pwrite(fd, buf, CH, (off_t)off) == CH);
	}
	before = f.cnt->data_writes;
	t64 = snap_ms(f.m, "dirty");
	fprintf(stderr, "snapshot creation (median of 5, %s): %.3f ms with nothing dirty, "
		"%.3f ms with 64 MiB written and not synced (%ld data writes meanwhile, all by "
		"the flusher)\n", f.os->name, t0, t64, f.cnt->data_writes - before);
	/* Generous bound (a snapshot flushes nothing; the figure is printed). */
	CHECK(t64 < 2000.0);
	CHECK(pc_close(fd) == 0);
	{
		struct stat st;

		CHECK(pc_stat(f.m, "/.snap/dirty0/big", &st) == 0 && st.st_size == DIRTY);
	}
	free(buf);
	fx_close(&f);
}

/* ---- the snapshot table: a torn newest copy falls back to the other ---- */

static void test_table_torn(void **state)
{
	unsigned char a[PG], b[PG];
	char list[256], path[4600];
	struct pc_mount_opts o;
	struct pc_mount *m2;
	struct fx f;

	(void)state;
	if (rados_pool())
		skip();		/* a directory store's file is torn here */
	fx_open(&f, 16 << 20, false);
	memset(a, 'a', PG);
	memset(b, 'b', PG);
	put(f.m, "/f", a, PG, 0);
	CHECK(pc_mkdir(f.m, "/.snap/s1", 0755) == 0);		/* generation 1: .b */
	put(f.m, "/f", b, PG, 0);
	CHECK(pc_sync(f.m) == 0);
	CHECK(pc_mkdir(f.m, "/.snap/s2", 0755) == 0);		/* generation 2: .a */
	CHECK(pc_umount(f.m) == 0);
	f.m = NULL;
	/* A crash while generation 2 was written: .a is torn. */
	snprintf(path, sizeof(path), "%s/obj/objfs.snaps.a", f.store);
	CHECK(tu_run("test -f '%s' && truncate -s 20 '%s'", path, path) == 0);
	fx_mount(&f);
	list_dir(f.m, "/.snap", list, sizeof(list));
	CHECK(!strcmp(list, "s1"));
	expect_file(f.m, "/.snap/s1/f", a, PG);
	expect_file(f.m, "/f", b, PG);
	put(f.m, "/f", a, PG, 0);				/* writes still go */
	CHECK(pc_mkdir(f.m, "/.snap/s3", 0755) == 0);
	put(f.m, "/f", b, PG, 0);
	CHECK(pc_umount(f.m) == 0);
	f.m = NULL;
	/* Both copies corrupt: the mount refuses, and says why. */
	CHECK(tu_run("truncate -s 20 '%s/obj/objfs.snaps.a' '%s/obj/objfs.snaps.b'", f.store,
		     f.store) == 0);
	o = (struct pc_mount_opts){ .cache_size = f.cache, .objstore = f.os };
	CHECK(pc_mount("objfs", "snaptest", &o, &m2) == -EUCLEAN);
	CHECK(strstr(pc_mount_error(), "snapshot table") != NULL);
	fx_close(&f);
}

/* ---- a store without snapshots (objstore_mem) ---- */

static void test_no_snap_store(void **state)
{
	struct pc_objstore *os = objstore_mem_create();
	struct pc_mount_opts o = { .cache_size = 8 << 20, .objstore = os };
	struct pc_mount *m;
	char msg[256], list[64];

	(void)state;
	assert_non_null(os);
	assert_int_equal(pc_objfs_mkfs(os, NULL, msg, sizeof(msg)), 0);
	assert_int_equal(pc_mount("objfs", "mem", &o, &m), 0);
	put(m, "/f", "data", 4, 0);
	CHECK(pc_mkdir(m, "/.snap/s", 0755) == -EOPNOTSUPP);
	list_dir(m, "/.snap", list, sizeof(list));
	CHECK(list[0] == '\0');
	CHECK(pc_rmdir(m, "/.snap/s") == -ENOENT);
	expect_file(m, "/f", (const unsigned char *)"data", 4);
	CHECK(pc_umount(m) == 0);
	CHECK(objstore_mem_count(os, "objfs.snaps") == 0);
	pc_objstore_close(os);
}

/* ---- O_DIRECT and truncate after a snapshot with dirty data ---- */

static void test_direct_truncate(void **state)
{
	unsigned char *a = aligned_alloc(4096, 4 * PG), *d = aligned_alloc(4096, PG);
	unsigned char w[4 * PG];
	struct fx f;
	int fd, dfd;

	(void)state;
	assert_non_null(a);
	assert_non_null(d);
	fx_open(&f, 16 << 20, false);
	memset(a, 'a', 4 * PG);
	memset(d, 'd', PG);
	put(f.m, "/f", a, 4 * PG, 0);			/* dirty, not written */
	put(f.m, "/g", a, 4 * PG, 0);
	CHECK(pc_mkdir(f.m, "/.snap/s1", 0755) == 0);
	dfd = pc_open(f.m, "/f", O_RDWR | O_DIRECT, 0);
	CHECK(dfd >= 0);
	CHECK(pc_pwrite(dfd, d, PG, PG) == PG);		/* the old page 1 goes first */
	CHECK(pc_close(dfd) == 0);
	fd = pc_open(f.m, "/g", O_RDWR, 0);
	CHECK(fd >= 0);
	CHECK(pc_ftruncate(fd, 100) == 0);		/* cut below dirty snapshotted data */
	CHECK(pc_ftruncate(fd, 3 * PG) == 0);		/* and up: zeros */
	CHECK(pc_close(fd) == 0);
	for (int pass = 0; pass < 2; pass++) {
		expect_file(f.m, "/.snap/s1/f", a, 4 * PG);
		expect_file(f.m, "/.snap/s1/g", a, 4 * PG);
		memcpy(w, a, 4 * PG);
		memset(w + PG, 'd', PG);
		expect_file(f.m, "/f", w, 4 * PG);
		memset(w, 0, sizeof(w));
		memset(w, 'a', 100);
		expect_file(f.m, "/g", w, 3 * PG);
		if (pass == 0)
			fx_remount(&f);
	}
	fx_close(&f);
	free(a);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_begin_rule),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_erofs),
		cmocka_unit_test(test_tiny_cache),
		cmocka_unit_test(test_fault),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_snap_latency),
		cmocka_unit_test(test_direct_truncate),
		cmocka_unit_test(test_table_torn),
		cmocka_unit_test(test_no_snap_store),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	tu_report("test_objfs_snap");
	return r;
}
