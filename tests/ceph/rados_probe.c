// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/ceph/rados_probe.c - pin down the librados behaviour the objfs
 * RADOS backend relies on, against a live cluster (scripts/ceph-cluster.sh).
 *
 * Usage: rados_probe POOL          all the checks below on POOL
 *        rados_probe --connect     only rados_connect() (timeout checks)
 *        rados_probe --full POOL CAPACITY_MIB
 *                                  fill a small cluster (CEPH_MEMSTORE_BYTES
 *                                  of a few MiB: CAPACITY_MIB) and report
 *                                  how writes and deletes fail when full
 *
 * The configuration comes from CEPH_CONF (rados_conf_read_file(NULL)) and
 * CEPH_ARGS (rados_conf_parse_env). Every fact is printed as one line
 *     KEY VALUE
 * (VALUE a return value as the C API gives it: negative errno, a count,
 * or a short string); tests/system/test_ceph_cluster.py asserts them.
 * Objects are named "probe.<pid>.<name>" and removed at the end. Exit
 * status: 0 if the probe ran to the end, 1 if it could not (no cluster,
 * no pool, out of memory): the outcomes themselves are the test's to judge.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#define MiB (1024 * 1024)
#define OBJ_MAX (128 * (uint64_t)MiB) /* osd_max_object_size default */

static char prefix[64];
static int failed_setup;

static void fact(const char *key, long long v)
{
	printf("%s %lld\n", key, v);
	fflush(stdout);
}

static void fact_s(const char *key, const char *s)
{
	printf("%s %s\n", key, s);
	fflush(stdout);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *oid(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s.%s", prefix, name);
	return buf[i];
}

/* One data write through a write op (what the backend does), with @flags
 * (LIBRADOS_OPERATION_*). Returns rados_write_op_operate()'s value. */
static int op_write(rados_ioctx_t io, const char *o, char c, size_t len, uint64_t off, int flags)
{
	char *buf = malloc(len);
	rados_write_op_t op;
	int ret;

	if (!buf)
		return -ENOMEM;
	memset(buf, c, len);
	op = rados_create_write_op();
	rados_write_op_write(op, buf, len, off);
	ret = rados_write_op_operate(op, io, o, NULL, flags);
	rados_release_write_op(op);
	free(buf);
	return ret;
}

/* The first byte at @off of @o as seen at @snap ('-' if the read gave no
 * byte, '!' on error: then *ret holds the error). */
static char byte_at(rados_ioctx_t rio, const char *o, uint64_t snap, uint64_t off, int *ret)
{
	char c = '-';
	int r;

	rados_ioctx_snap_set_read(rio, snap);
	r = rados_read(rio, o, &c, 1, off);
	rados_ioctx_snap_set_read(rio, LIBRADOS_SNAP_HEAD);
	if (ret)
		*ret = r;
	if (r < 0)
		return '!';
	return r == 0 ? '-' : c;
}

static void fact_c(const char *key, char c)
{
	char s[2] = {c, 0};

	fact_s(key, s);
}

static int cb_calls;
static void on_complete(rados_completion_t c, void *arg)
{
	(void)c;
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static int connect_cluster(rados_t *cl)
{
	double t0 = now();
	int ret;

	ret = rados_create(cl, NULL);
	fact("create", ret);
	if (ret < 0)
		return ret;
	ret = rados_conf_read_file(*cl, NULL);
	fact("conf_read_file", ret);
	if (ret < 0)
		return ret;
	ret = rados_conf_parse_env(*cl, NULL);
	if (ret < 0)
		return ret;
	ret = rados_connect(*cl);
	fact("connect", ret);
	printf("connect_ms %.0f\n", (now() - t0) * 1e3);
	fflush(stdout);
	return ret;
}

static void conf_facts(rados_t cl)
{
	static const char *const keys[] = {"osd_max_object_size", "osd_max_write_size",
					   "client_mount_timeout", "rados_osd_op_timeout",
					   "rados_mon_op_timeout"};
	char buf[128];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (rados_conf_get(cl, keys[i], buf, sizeof(buf)) == 0) {
			char key[64];

			snprintf(key, sizeof(key), "conf.%s", keys[i]);
			fact_s(key, buf);
		}
	}
}

/* Missing and short objects; plain reads, stat and remove. */
static void probe_basic(rados_ioctx_t io)
{
	char buf[8192];
	uint64_t size = 0;
	time_t mtime;
	int ret;

	fact("missing.read", rados_read(io, oid("missing"), buf, sizeof(buf), 0));
	fact("missing.stat", rados_stat(io, oid("missing"), &size, &mtime));
	fact("missing.remove", rados_remove(io, oid("missing")));

	memset(buf, 's', 100);
	fact("short.write_full", rados_write_full(io, oid("short"), buf, 100));
	memset(buf, 0, sizeof(buf));
	ret = rados_read(io, oid("short"), buf, 4096, 0);
	fact("short.read_4096_at_0", ret);
	fact("short.read_bytes_ok", ret == 100 && buf[0] == 's' && buf[99] == 's');
	fact("short.read_4096_at_50", rados_read(io, oid("short"), buf, 4096, 50));
	fact("short.read_4096_at_200", rados_read(io, oid("short"), buf, 4096, 200));
	size = 0;
	fact("short.stat", rados_stat(io, oid("short"), &size, &mtime));
	fact("short.stat_size", (long long)size);
	/* a hole: write at 8192 of a fresh object, read 0..4095 */
	fact("hole.write_at_8192", rados_write(io, oid("hole"), "h", 1, 8192));
	memset(buf, 'x', sizeof(buf));
	ret = rados_read(io, oid("hole"), buf, 4096, 0);
	fact("hole.read_4096_at_0", ret);
	{
		int zero = ret == 4096;

		for (int i = 0; zero && i < 4096; i++)
			zero = buf[i] == 0;
		fact("hole.read_is_zero", zero);
	}
	fact("short.remove", rados_remove(io, oid("short")));
	fact("hole.remove", rados_remove(io, oid("hole")));
}

/* Object and write size limits. */
static void probe_limits(rados_ioctx_t io)
{
	char *big;
	size_t bigsz = 90 * (size_t)MiB + 4096;	/* over osd_max_write_size (90 MB) */

	fact("limit.write_at_max_object_size", rados_write(io, oid("limit"), "x", 1, OBJ_MAX));
	fact("limit.op_write_at_max_object_size",
	     op_write(io, oid("limit"), 'x', 1, OBJ_MAX, LIBRADOS_OPERATION_ORDERSNAP));
	/* truncate of a missing object: a no-op that succeeds (it creates nothing) */
	fact("trunc.missing", rados_trunc(io, oid("limit"), 4096));
	fact("trunc.missing_stat", rados_stat(io, oid("limit"), NULL, NULL));
	fact("limit.create", rados_write(io, oid("limit"), "x", 1, 0));
	fact("limit.trunc_past_max_object_size", rados_trunc(io, oid("limit"), OBJ_MAX + 1));
	/* the last byte an object may hold (memstore keeps the zeros: 128 MiB of RAM, briefly) */
	fact("limit.write_last_byte", rados_write(io, oid("limit"), "y", 1, OBJ_MAX - 1));
	{
		uint64_t size = 0;
		time_t mtime;

		rados_stat(io, oid("limit"), &size, &mtime);
		fact("limit.size_after_last_byte", (long long)size);
	}
	fact("limit.remove", rados_remove(io, oid("limit")));
	big = calloc(1, bigsz);
	if (!big) {
		failed_setup = 1;
		return;
	}
	fact("limit.write_90MiB_plus_4KiB", rados_write(io, oid("bigwrite"), big, bigsz, 0));
	fact("limit.write_full_90MiB_plus_4KiB", rados_write_full(io, oid("bigwrite"), big, bigsz));
	free(big);
	fact("limit.bigwrite_stat", rados_stat(io, oid("bigwrite"), NULL, NULL));
}

/* Self-managed snapshots, write contexts, ORDERSNAP, reads at a snap id. */
static void probe_snaps(rados_t cl, const char *pool)
{
	rados_ioctx_t head, c1, c2, rd;
	rados_snap_t s1 = 0, s2 = 0, s3 = 0;
	rados_snap_t v1[1], v2[2], bad[2];
	const char *o = oid("snap"), *o2 = oid("misorder");
	int ret;

	if (rados_ioctx_create(cl, pool, &head) < 0 || rados_ioctx_create(cl, pool, &c1) < 0 ||
	    rados_ioctx_create(cl, pool, &c2) < 0 || rados_ioctx_create(cl, pool, &rd) < 0) {
		failed_setup = 1;
		return;
	}
	/* ctx0: no snaps (seq 0) */
	fact("snap.write_ctx0", op_write(head, o, 'A', 4096, 0, LIBRADOS_OPERATION_ORDERSNAP));
	fact("snap.o2_write_ctx0", op_write(head, o2, 'P', 4096, 0, LIBRADOS_OPERATION_ORDERSNAP));

	ret = rados_ioctx_selfmanaged_snap_create(head, &s1);
	fact("snap.create_s1", ret);
	fact("snap.s1", (long long)s1);
	v1[0] = s1;
	fact("snap.set_write_ctx_s1", rados_ioctx_selfmanaged_snap_set_write_ctx(c1, s1, v1, 1));
	fact("snap.write_ctx1", op_write(c1, o, 'B', 4096, 0, LIBRADOS_OPERATION_ORDERSNAP));

	ret = rados_ioctx_selfmanaged_snap_create(head, &s2);
	fact("snap.create_s2", ret);
	fact("snap.s2", (long long)s2);
	fact("snap.s2_gt_s1", s2 > s1);
	/* snaps must be newest first */
	bad[0] = s1;
	bad[1] = s2;
	fact("snap.set_write_ctx_ascending", rados_ioctx_selfmanaged_snap_set_write_ctx(rd, s2, bad, 2));
	v2[0] = s2;
	v2[1] = s1;
	fact("snap.set_write_ctx_s2", rados_ioctx_selfmanaged_snap_set_write_ctx(c2, s2, v2, 2));
	fact("snap.write_ctx2", op_write(c2, o, 'C', 4096, 0, LIBRADOS_OPERATION_ORDERSNAP));
	/* an older context after a newer one, with ORDERSNAP: -EOLDSNAPC (-85) */
	fact("snap.write_ctx1_after_ctx2_ordersnap",
	     op_write(c1, o, 'D', 4096, 0, LIBRADOS_OPERATION_ORDERSNAP));
	/* the same through the plain call (no flags): accepted */
	fact("snap.write_ctx1_after_ctx2_plain", rados_write(c1, o, "D", 1, 8192));

	/* reads at each snap id */
	fact_c("snap.read_at_s1", byte_at(rd, o, s1, 0, NULL));
	fact_c("snap.read_at_s2", byte_at(rd, o, s2, 0, NULL));
	fact_c("snap.read_head", byte_at(rd, o, LIBRADOS_SNAP_HEAD, 0, NULL));
	{
		uint64_t size = 0;
		time_t mtime;

		rados_ioctx_snap_set_read(rd, s1);
		fact("snap.stat_at_s1", rados_stat(rd, o, &size, &mtime));
		fact("snap.stat_at_s1_size", (long long)size);
		rados_ioctx_snap_set_read(rd, LIBRADOS_SNAP_HEAD);
		rados_stat(rd, o, &size, &mtime);
		fact("snap.stat_head_size", (long long)size);
	}
	/* a write with a non-head read snap set is refused by librados */
	rados_ioctx_snap_set_read(rd, s1);
	fact("snap.write_with_read_snap_set", rados_write(rd, o, "z", 1, 0));
	rados_ioctx_snap_set_read(rd, LIBRADOS_SNAP_HEAD);

	/* What ORDERSNAP guards against: o2 was 'P' when s2 was taken; data
	 * dirtied in ctx1 ('X', before s2) reaches the OSD after a ctx2 write:
	 * without ORDERSNAP the OSD files it under head and s2 never sees it. */
	fact("misorder.write_ctx2", op_write(c2, o2, 'Q', 4096, 4096, LIBRADOS_OPERATION_ORDERSNAP));
	fact("misorder.write_ctx1_plain", op_write(c1, o2, 'X', 4096, 0, 0));
	fact_c("misorder.read_at_s2", byte_at(rd, o2, s2, 0, NULL));
	fact_c("misorder.read_head", byte_at(rd, o2, LIBRADOS_SNAP_HEAD, 0, NULL));

	/* asynchronous writes: completion callback and return value; the
	 * write context is captured when the aio is submitted */
	{
		rados_completion_t comp;
		char buf[4096];

		memset(buf, 'E', sizeof(buf));
		cb_calls = 0;
		rados_aio_create_completion2(&cb_calls, on_complete, &comp);
		fact("aio.write_submit", rados_aio_write(c2, o, comp, buf, sizeof(buf), 0));
		rados_aio_wait_for_complete(comp);
		fact("aio.write_return", rados_aio_get_return_value(comp));
		rados_aio_release(comp);
		for (int i = 0; i < 1000 && !__atomic_load_n(&cb_calls, __ATOMIC_SEQ_CST); i++)
			usleep(1000);
		fact("aio.write_callbacks", __atomic_load_n(&cb_calls, __ATOMIC_SEQ_CST));

		/* write op with ORDERSNAP through aio */
		rados_write_op_t op = rados_create_write_op();

		rados_write_op_write(op, buf, sizeof(buf), 4096);
		rados_aio_create_completion2(NULL, NULL, &comp);
		fact("aio.write_op_submit",
		     rados_aio_write_op_operate(op, c2, comp, o, NULL, LIBRADOS_OPERATION_ORDERSNAP));
		rados_aio_wait_for_complete(comp);
		fact("aio.write_op_return", rados_aio_get_return_value(comp));
		rados_aio_release(comp);
		rados_release_write_op(op);

		/* submitted on an ioctx holding ctx1, whose context is switched
		 * to ctx2 right after: still ctx1, so -EOLDSNAPC */
		rados_ioctx_t sw;

		rados_ioctx_create(cl, pool, &sw);
		rados_ioctx_selfmanaged_snap_set_write_ctx(sw, s1, v1, 1);
		op = rados_create_write_op();
		rados_write_op_write(op, buf, sizeof(buf), 0);
		rados_aio_create_completion2(NULL, NULL, &comp);
		rados_aio_write_op_operate(op, sw, comp, o, NULL, LIBRADOS_OPERATION_ORDERSNAP);
		rados_ioctx_selfmanaged_snap_set_write_ctx(sw, s2, v2, 2);
		rados_aio_wait_for_complete(comp);
		fact("aio.ctx_captured_at_submit", rados_aio_get_return_value(comp));
		rados_aio_release(comp);
		rados_release_write_op(op);
		rados_ioctx_destroy(sw);

		/* aio read at a snap: the snap is captured at submission too */
		char rb[4096];

		rados_ioctx_snap_set_read(rd, s1);
		rados_aio_create_completion2(NULL, NULL, &comp);
		fact("aio.read_submit", rados_aio_read(rd, o, comp, rb, sizeof(rb), 0));
		rados_ioctx_snap_set_read(rd, LIBRADOS_SNAP_HEAD);
		rados_aio_wait_for_complete(comp);
		fact("aio.read_at_s1_return", rados_aio_get_return_value(comp));
		fact_c("aio.read_at_s1_byte", rb[0]);
		rados_aio_release(comp);
		/* aio read of a missing object */
		rados_aio_create_completion2(NULL, NULL, &comp);
		rados_aio_read(rd, oid("missing"), comp, rb, sizeof(rb), 0);
		rados_aio_wait_for_complete(comp);
		fact("aio.read_missing_return", rados_aio_get_return_value(comp));
		rados_aio_release(comp);
	}

	/* remove with a snap context: head goes, the snaps stay readable;
	 * FULL_TRY is how deletes must be sent (they free space) */
	ret = rados_ioctx_selfmanaged_snap_create(head, &s3);
	rados_snap_t v3[3] = {s3, s2, s1};

	rados_ioctx_selfmanaged_snap_set_write_ctx(head, s3, v3, 3);
	{
		rados_write_op_t op = rados_create_write_op();

		rados_write_op_remove(op);
		fact("snap.remove_head_fulltry",
		     rados_write_op_operate(op, head, o, NULL,
					    LIBRADOS_OPERATION_ORDERSNAP | LIBRADOS_OPERATION_FULL_TRY));
		rados_release_write_op(op);
	}
	ret = 0;
	fact_c("snap.after_remove_read_head", byte_at(rd, o, LIBRADOS_SNAP_HEAD, 0, &ret));
	fact("snap.after_remove_read_head_ret", ret);
	fact_c("snap.after_remove_read_at_s2", byte_at(rd, o, s2, 0, NULL));
	fact_c("snap.after_remove_read_at_s3", byte_at(rd, o, s3, 0, NULL));

	/* removing snaps */
	fact("snap.remove_s1", rados_ioctx_selfmanaged_snap_remove(head, s1));
	fact("snap.remove_s1_again", rados_ioctx_selfmanaged_snap_remove(head, s1));
	byte_at(rd, o, s1, 0, &ret);
	fact("snap.read_at_removed_s1", ret);
	fact("snap.remove_s2", rados_ioctx_selfmanaged_snap_remove(head, s2));
	fact("snap.remove_s3", rados_ioctx_selfmanaged_snap_remove(head, s3));

	rados_ioctx_selfmanaged_snap_set_write_ctx(head, 0, NULL, 0);
	rados_remove(head, o);
	rados_remove(head, o2);
	rados_ioctx_destroy(head);
	rados_ioctx_destroy(c1);
	rados_ioctx_destroy(c2);
	rados_ioctx_destroy(rd);
}

static int op_remove(rados_ioctx_t io, const char *o, int flags)
{
	rados_write_op_t op = rados_create_write_op();
	int ret;

	rados_write_op_remove(op);
	ret = rados_write_op_operate(op, io, o, NULL, flags);
	rados_release_write_op(op);
	return ret;
}

/* Fill the pool with 1 MiB objects, written with FULL_TRY so that a full
 * cluster answers instead of queueing them, until a write fails. Memstore
 * does not enforce its size: the OSD notices it is full at its next stats
 * update and the monitor then flags the pool full, seconds later. Past
 * @cap_mib the writes are paced (one per 20 ms) so that the overrun stays
 * small; at most @cap_mib + 400 MiB are written. Then: what a plain write
 * and a plain delete do (they wait for the cluster to stop being full:
 * rados_osd_op_timeout), what FULL_TRY deletes do, and that writes work
 * again once space is freed. */
static void probe_full(rados_ioctx_t io, long cap_mib)
{
	size_t sz = MiB;
	char *buf = malloc(sz);
	char name[32];
	long n, ret = 0;
	double t0, tcap = 0;

	if (!buf) {
		failed_setup = 1;
		return;
	}
	memset(buf, 'F', sz);
	t0 = now();
	for (n = 0; n < cap_mib + 400; n++) {
		if (n == cap_mib)
			tcap = now();
		if (n >= cap_mib)
			usleep(20000);
		snprintf(name, sizeof(name), "full.%ld", n);
		ret = op_write(io, oid(name), 'F', sz, 0, LIBRADOS_OPERATION_FULL_TRY);
		if (ret < 0)
			break;
	}
	printf("full.fill_ms %.0f\n", (now() - t0) * 1e3);
	printf("full.detect_ms_after_cap %.0f\n", tcap ? (now() - tcap) * 1e3 : 0.0);
	fact("full.fulltry_write_error", ret);
	fact("full.mib_written_before_error", n);
	/* a few more FULL_TRY writes: the answer while the flag is set */
	fact("full.fulltry_write_again", op_write(io, oid("full.more"), 'F', 4096, 0,
						  LIBRADOS_OPERATION_FULL_TRY));
	/* an overwrite inside an existing object adds no bytes: accepted */
	fact("full.fulltry_overwrite", op_write(io, oid("full.1"), 'O', 4096, 0,
						LIBRADOS_OPERATION_FULL_TRY));
	fact("full.fulltry_extend", op_write(io, oid("full.1"), 'O', 4096, sz,
					     LIBRADOS_OPERATION_FULL_TRY));
	t0 = now();
	fact("full.plain_write", rados_write(io, oid("full.plain"), buf, 4096, 0));
	printf("full.plain_write_ms %.0f\n", (now() - t0) * 1e3);
	t0 = now();
	fact("full.plain_remove", rados_remove(io, oid("full.0")));
	printf("full.plain_remove_ms %.0f\n", (now() - t0) * 1e3);
	t0 = now();
	fact("full.fulltry_remove", op_remove(io, oid("full.0"), LIBRADOS_OPERATION_FULL_TRY));
	printf("full.fulltry_remove_ms %.0f\n", (now() - t0) * 1e3);
	for (long i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "full.%ld", i);
		op_remove(io, oid(name), LIBRADOS_OPERATION_FULL_TRY);
	}
	op_remove(io, oid("full.more"), LIBRADOS_OPERATION_FULL_TRY);
	/* space freed: how long until a FULL_TRY write succeeds again */
	t0 = now();
	for (int i = 0; i < 600; i++) {
		ret = op_write(io, oid("full.after"), 'G', 4096, 0, LIBRADOS_OPERATION_FULL_TRY);
		if (ret == 0)
			break;
		usleep(50000);
	}
	fact("full.write_after_free", ret);
	printf("full.recover_ms %.0f\n", (now() - t0) * 1e3);
	op_remove(io, oid("full.after"), LIBRADOS_OPERATION_FULL_TRY);
	op_remove(io, oid("full.plain"), LIBRADOS_OPERATION_FULL_TRY);
	free(buf);
}

int main(int argc, char **argv)
{
	rados_ioctx_t io;
	rados_t cl;
	int ret;

	const char *pool = argv[1];
	int full = 0;

	if (argc == 4 && strcmp(argv[1], "--full") == 0) {
		full = atoi(argv[3]);
		pool = argv[2];
	} else if (argc != 2 || (argv[1][0] == '-' && strcmp(argv[1], "--connect") != 0)) {
		fprintf(stderr, "usage: %s POOL | --connect | --full POOL CAPACITY_MIB\n", argv[0]);
		return 2;
	}
	fact("librados_version", LIBRADOS_VERSION_CODE);
	ret = connect_cluster(&cl);
	if (ret < 0) {
		fprintf(stderr, "rados_probe: cannot connect: %s\n", strerror(-ret));
		return 1;
	}
	if (strcmp(argv[1], "--connect") == 0) {
		rados_shutdown(cl);
		return 0;
	}
	conf_facts(cl);
	snprintf(prefix, sizeof(prefix), "probe.%d", (int)getpid());
	ret = rados_ioctx_create(cl, pool, &io);
	fact("ioctx_create", ret);
	if (ret < 0) {
		fprintf(stderr, "rados_probe: no pool %s: %s\n", pool, strerror(-ret));
		rados_shutdown(cl);
		return 1;
	}
	if (full > 0) {
		probe_full(io, full);
	} else {
		probe_basic(io);
		probe_snaps(cl, pool);
		probe_limits(io);
	}
	rados_ioctx_destroy(io);
	rados_shutdown(cl);
	fact_s("done", failed_setup ? "incomplete" : "ok");
	return failed_setup;
}
