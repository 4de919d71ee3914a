// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The embedded object store (src/objstore/dirstore.c) and the wrappers
 * (src/objstore/wrap.c): requests and errors, a model-based random test of
 * RADOS snapshot semantics (every live snapshot and the head read back byte
 * for byte against an in-memory model), clone trimming, reopen, the
 * exclusive lock held by another process, kill -9 of a writer at random
 * moments and at each metadata step, corrupt metadata, a full host
 * filesystem, the ordering checker and the fault injector.
 *
 * PC_TEST_SEED=N repeats a run (the seed is printed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pagecache/objstore.h"
#include "pagecache/snap.h"
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond) TU_CHECK(cond, (void)0)

static char tmpdir[4200];
static uint64_t seed;

/* ---- helpers ---- */

static void store_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	tu_run("rm -rf '%s'", buf);
}

static struct pc_objstore *open_new(const char *name, char *path, size_t len)
{
	struct pc_objstore *os = NULL;

	store_path(path, len, name);
	assert_int_equal(pc_objstore_open_dir(path, PC_OBJSTORE_DIR_CREATE, &os), 0);
	return os;
}

static int64_t do_req(struct pc_objstore *os, enum pc_obj_op op, const char *oid, uint64_t off,
		      uint64_t len, void *buf, const struct pc_snap_context *sc, uint64_t snapid,
		      struct pc_obj_req *out)
{
	struct iovec iov = { buf, (size_t)len };
	struct pc_obj_req req = {
		.op = op, .oid = oid, .off = off, .len = len,
		.iov = buf ? &iov : NULL, .iovcnt = buf ? 1 : 0,
		.snapc = sc, .snapid = snapid,
	};
	int64_t r = pc_objstore_exec(os, &req);

	if (out)
		*out = req;
	return r;
}

static int64_t obj_write(struct pc_objstore *os, const char *oid, uint64_t off, const void *buf,
			 uint64_t len, const struct pc_snap_context *sc)
{
	return do_req(os, PC_OBJ_WRITE, oid, off, len, (void *)buf, sc, 0, NULL);
}

static int64_t obj_read(struct pc_objstore *os, const char *oid, uint64_t snapid, uint64_t off,
			void *buf, uint64_t len)
{
	return do_req(os, PC_OBJ_READ, oid, off, len, buf, NULL, snapid, NULL);
}

/* A context: seq and up to 16 snaps, descending. */
static struct pc_snap_context *ctx(uint64_t seq, int n, ...)
{
	uint64_t s[16];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s[i] = va_arg(ap, uint64_t);
	va_end(ap);
	return pc_snap_context_alloc(seq, s, (uint32_t)n);
}

/* Files in @path/snap whose name contains @ch. */
static int count_files(const char *path, const char *sub, char ch)
{
	char d[4500];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(d, sizeof(d), "%s/%s", path, sub);
	dir = opendir(d);
	if (!dir)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.' && (!ch || strchr(de->d_name, ch)))
			n++;
	closedir(dir);
	return n;
}

/* ---- the model ---- */

#define NOBJ 6
#define CAP 32768
#define MAXSNAPS 6

struct mobj {
	bool exists;
	uint32_t size;
	unsigned char data[CAP];	/* zero past size */
};
struct mimage {
	struct mobj o[NOBJ];
};
struct model {
	struct mimage head;
	int nsnaps;
	uint64_t ids[MAXSNAPS];		/* live, ascending */
	struct mimage snap[MAXSNAPS];
	uint64_t seq;			/* the newest snap id handed out */
	int nremoved;
	uint64_t removed[64];
};

static const char *oname(int i)
{
	static const char *names[NOBJ] = { "100.00000000", "100.00000001", "a", "B-x_y.z",
					  "200.00000000", "inode.table" };
	return names[i];
}

/* The current context; with @stale, removed snaps are mixed in (the store
 * must ignore them). */
static struct pc_snap_context *model_ctx(const struct model *m, bool stale)
{
	uint64_t s[MAXSNAPS + 64];
	int n = 0, r = stale ? m->nremoved : 0;

	for (int i = m->nsnaps - 1; i >= 0; i--)
		s[n++] = m->ids[i];
	for (int i = 0; i < r; i++)
		s[n++] = m->removed[i];
	/* sort descending */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && s[j] > s[j - 1]; j--) {
			uint64_t t = s[j];

			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	return pc_snap_context_alloc(m->seq, s, (uint32_t)n);
}

static void m_write(struct mobj *o, uint32_t off, uint32_t len, const unsigned char *buf)
{
	memcpy(o->data + off, buf, len);
	if (off + len > o->size)
		o->size = off + len;
	o->exists = true;
}
static void m_zero(struct mobj *o, uint32_t off, uint32_t len)
{
	if (!o->exists || off >= o->size)
		return;
	memset(o->data + off, 0, PC_TU_MIN(len, o->size - off));
	if (len >= o->size - off)	/* reaching the end truncates (RADOS) */
		o->size = off;
}
static void m_truncate(struct mobj *o, uint32_t size)
{
	if (size < o->size)
		memset(o->data + size, 0, o->size - size);
	o->size = size;
	o->exists = true;
}
static void m_remove(struct mobj *o)
{
	memset(o->data, 0, o->size);
	o->size = 0;
	o->exists = false;
}

/* Compare @os's object @i at @snapid with @o (exact). */
static void verify_obj(struct pc_objstore *os, uint64_t snapid, int i, const struct mobj *o,
		       const char *what)
{
	static unsigned char buf[CAP];
	struct pc_obj_req st;
	int64_t r;
	long d;

	memset(buf, 0xa5, sizeof(buf));
	r = obj_read(os, oname(i), snapid, 0, buf, CAP);
	d = tu_first_diff(buf, o->data, CAP);
	if (r != (o->exists ? (int64_t)o->size : 0) || d >= 0) {
		fprintf(stderr, "%s: object %s at snap %llx: read %lld, want %u (exists %d)\n", what,
			oname(i), (unsigned long long)snapid, (long long)r, o->size, o->exists);
		tu_dump_diff(oname(i), buf, o->data, CAP, d);
	}
	CHECK(r == (o->exists ? (int64_t)o->size : 0));
	CHECK(d < 0);
	r = do_req(os, PC_OBJ_STAT, oname(i), 0, 0, NULL, NULL, snapid, &st);
	if (o->exists) {
		CHECK(r == 0);
		CHECK(st.size == o->size);
	} else {
		CHECK(r == -ENOENT);
	}
}

static void verify_model(struct pc_objstore *os, const struct model *m, const char *what)
{
	for (int i = 0; i < NOBJ; i++)
		verify_obj(os, PC_SNAP_HEAD, i, &m->head.o[i], what);
	for (int s = 0; s < m->nsnaps; s++)
		for (int i = 0; i < NOBJ; i++)
			verify_obj(os, m->ids[s], i, &m->snap[s].o[i], what);
	for (int r = 0; r < m->nremoved; r++) {
		unsigned char b[16];

		CHECK(obj_read(os, oname(0), m->removed[r], 0, b, sizeof(b)) == -ENOENT);
	}
}

static void m_snap_create(struct model *m, uint64_t id)
{
	CHECK(id > m->seq);
	m->seq = id;
	m->ids[m->nsnaps] = id;
	m->snap[m->nsnaps] = m->head;
	m->nsnaps++;
}

static void m_snap_remove(struct model *m, int k)
{
	if (m->nremoved < 64)
		m->removed[m->nremoved++] = m->ids[k];
	memmove(&m->ids[k], &m->ids[k + 1], sizeof(m->ids[0]) * (size_t)(m->nsnaps - k - 1));
	memmove(&m->snap[k], &m->snap[k + 1], sizeof(m->snap[0]) * (size_t)(m->nsnaps - k - 1));
	m->nsnaps--;
}

/* ---- asynchronous batches ---- */

struct batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending;
	int order_bad;		/* completions on one object out of order */
	int last_done[NOBJ];
};

struct breq {
	struct pc_obj_req req;
	struct batch *b;
	int obj, idx;
	struct iovec iov[2];
	unsigned char data[8192];
};

static void batch_done(struct pc_obj_req *req)
{
	struct breq *br = req->private;
	struct batch *b = br->b;

	pthread_mutex_lock(&b->lock);
	if (br->idx < b->last_done[br->obj])
		b->order_bad++;
	b->last_done[br->obj] = br->idx;
	b->pending--;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* ---- tests ---- */

static void test_basic(void **state)
{
	char path[4400], why[256], msg[512];
	struct pc_objstore *os, *os2;
	unsigned char buf[8192], big[16];
	struct pc_snap_context *c0 = ctx(0, 0), *c2, *c1;
	struct pc_obj_req st;
	uint64_t s1, s2;

	(void)state;
	os = open_new("basic", path, sizeof(path));
	/* a second mkfs is refused; a non-store is refused */
	CHECK(pc_objstore_mkfs_dir(path) == -EEXIST);
	CHECK(pc_objstore_open_dir(tmpdir, 0, &os2) == -EINVAL);
	pc_objstore_dir_strerror(NULL, msg, sizeof(msg));
	CHECK(strstr(msg, tmpdir) != NULL);
	CHECK(pc_objstore_open_dir("/nonexistent/x", 0, &os2) == -ENOENT);

	/* missing object: zeros, STAT/REMOVE -ENOENT */
	memset(buf, 0x11, sizeof(buf));
	CHECK(obj_read(os, "nope", PC_SNAP_HEAD, 0, buf, 100) == 0);
	CHECK(buf[0] == 0 && buf[99] == 0 && buf[100] == 0x11);
	CHECK(do_req(os, PC_OBJ_STAT, "nope", 0, 0, NULL, NULL, PC_SNAP_HEAD, NULL) == -ENOENT);
	CHECK(do_req(os, PC_OBJ_REMOVE, "nope", 0, 0, NULL, c0, 0, NULL) == -ENOENT);

	/* write, short read zero-filled, stat, zero, truncate */
	tu_fill(buf, 0, 5000, 1);
	CHECK(obj_write(os, "o1", 1000, buf, 5000, NULL) == 0);
	memset(buf, 0x77, sizeof(buf));
	CHECK(obj_read(os, "o1", PC_SNAP_HEAD, 5000, buf, 2000) == 1000);
	CHECK(buf[999] == tu_pat(4999, 1) && buf[1000] == 0 && buf[1999] == 0);
	CHECK(do_req(os, PC_OBJ_STAT, "o1", 0, 0, NULL, NULL, PC_SNAP_HEAD, &st) == 0);
	CHECK(st.size == 6000 && st.mtime_ns > 0);
	CHECK(do_req(os, PC_OBJ_ZERO, "o1", 1000, 10, NULL, NULL, 0, NULL) == 0);
	CHECK(do_req(os, PC_OBJ_ZERO, "o1", 5990, 100, NULL, NULL, 0, NULL) == 0);
	CHECK(do_req(os, PC_OBJ_STAT, "o1", 0, 0, NULL, NULL, PC_SNAP_HEAD, &st) == 0);
	CHECK(st.size == 5990);	/* a zero reaching the end truncates (RADOS) */
	CHECK(obj_read(os, "o1", PC_SNAP_HEAD, 1000, buf, 12) == 12);
	CHECK(buf[9] == 0 && buf[10] == tu_pat(10, 1));
	CHECK(do_req(os, PC_OBJ_TRUNCATE, "o2", 12345, 0, NULL, NULL, 0, NULL) == 0);
	CHECK(do_req(os, PC_OBJ_STAT, "o2", 0, 0, NULL, NULL, PC_SNAP_HEAD, &st) == 0);
	CHECK(st.size == 12345);

	/* bad requests: submit refuses them */
	CHECK(obj_write(os, "", 0, buf, 1, NULL) == -EINVAL);
	CHECK(obj_write(os, "a/b", 0, buf, 1, NULL) == -EINVAL);
	CHECK(obj_write(os, "..", 0, buf, 1, NULL) == -EINVAL);
	CHECK(obj_write(os, "a@1", 0, buf, 1, NULL) == -EINVAL);
	memset(msg, 'x', 101);
	msg[101] = 0;
	CHECK(obj_write(os, msg, 0, buf, 1, NULL) == -EINVAL);
	msg[100] = 0;
	CHECK(obj_write(os, msg, 0, buf, 1, NULL) == 0);	/* 100 bytes: the longest */
	/* a context with snaps out of order (pc_snap_context_alloc refuses to
	 * make one: built by hand) */
	c1 = calloc(1, sizeof(*c1) + 2 * sizeof(uint64_t));
	c1->seq = 2;
	c1->num_snaps = 2;
	c1->snaps[0] = 1;
	c1->snaps[1] = 2;
	CHECK(obj_write(os, "o1", 0, buf, 1, c1) == -EINVAL);
	c1->snaps[0] = 3;	/* newer than seq */
	c1->snaps[1] = 1;
	CHECK(obj_write(os, "o1", 0, buf, 1, c1) == -EINVAL);
	free(c1);
	{
		struct pc_obj_req r = { .op = 99, .oid = "o1" };

		CHECK(pc_objstore_exec(os, &r) == -EINVAL);
	}

	/* limits: -EFBIG past max_object_size, -EMSGSIZE past max_write_size */
	CHECK(os->max_object_size == 128ull << 20 && os->max_write_size == 90000000);
	CHECK(obj_write(os, "o3", (128ull << 20) - 1, big, 2, NULL) == -EFBIG);
	CHECK(obj_write(os, "o3", (128ull << 20) - 2, big, 2, NULL) == 0);
	CHECK(do_req(os, PC_OBJ_TRUNCATE, "o3", (128ull << 20) + 1, 0, NULL, NULL, 0, NULL) ==
	      -EFBIG);
	CHECK(pc_objstore_dir_set_limits(os, 4096, 1000) == 0);
	CHECK(obj_write(os, "o3", 0, buf, 1001, NULL) == -EMSGSIZE);
	CHECK(obj_write(os, "o3", 3500, buf, 1000, NULL) == -EFBIG);
	CHECK(obj_write(os, "o3", 3096, buf, 1000, NULL) == 0);
	CHECK(pc_objstore_dir_set_limits(os, 128ull << 20, 90000000) == 0);

	/* snapshots: ids increase; an older context after a newer one: EOLDSNAPC */
	CHECK(os->ops->snap_create(os, &s1) == 0);
	CHECK(os->ops->snap_create(os, &s2) == 0);
	CHECK(s1 >= 1 && s2 > s1);
	c2 = ctx(s2, 2, s2, s1);
	c1 = ctx(s1, 1, s1);
	tu_fill(buf, 0, 100, 2);
	CHECK(obj_write(os, "o1", 0, buf, 100, c2) == 0);
	CHECK(obj_write(os, "o1", 0, buf, 100, c1) == -PC_EOLDSNAPC);
	CHECK(obj_write(os, "o1", 0, buf, 100, NULL) == -PC_EOLDSNAPC);
	memset(buf, 0, 100);
	CHECK(obj_read(os, "o1", s1, 1000, buf, 100) == 100);	/* the clone */
	CHECK(buf[0] == 0 && buf[10] == tu_pat(10, 1));
	CHECK(obj_read(os, "o1", 12345, 0, buf, 10) == -ENOENT);	/* unknown snap */
	CHECK(os->ops->snap_remove(os, 12345) == -ENOENT);
	{
		struct pc_objstore_statfs sf;

		CHECK(os->ops->statfs(os, &sf) == 0);
		CHECK(sf.total > 0 && sf.avail <= sf.total && sf.objects == 4);
	}
	CHECK(os->ops->flush(os) == 0);
	pc_snap_context_put(c0);
	pc_snap_context_put(c1);
	pc_snap_context_put(c2);
	(void)why;
	pc_objstore_close(os);
	tu_run("rm -rf '%s'", path);
}

/* The model-based random test: writes, zeros, truncates and removes under
 * the current context (sometimes with removed snaps mixed in), in
 * asynchronous batches over several objects; snap create/remove; reopen;
 * every live snapshot and the head compared with the model. */
static void test_model(void **state)
{
	struct tu_rng rng = { seed ^ 0x6d6f64656cull };
	char path[4400];
	struct pc_objstore *os = open_new("model", path, sizeof(path));
	struct model *m = calloc(1, sizeof(*m));
	struct breq *brs = calloc(8, sizeof(*brs));
	struct batch b;
	int ops = 0, snaps_made = 0, snaps_removed = 0;

	(void)state;
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	while (ops < 3000) {
		uint64_t what = tu_rand_below(&rng, 100);

		if (what < 6 && m->nsnaps < MAXSNAPS) {
			uint64_t id;

			CHECK(os->ops->snap_create(os, &id) == 0);
			m_snap_create(m, id);
			snaps_made++;
			ops++;
			continue;
		}
		if (what < 10 && m->nsnaps) {
			int k = (int)tu_rand_below(&rng, (uint64_t)m->nsnaps);

			CHECK(os->ops->snap_remove(os, m->ids[k]) == 0);
			m_snap_remove(m, k);
			snaps_removed++;
			ops++;
			continue;
		}
		if (what < 11) {
			pc_objstore_close(os);
			CHECK(pc_objstore_open_dir(path, 0, &os) == 0);
			verify_model(os, m, "after reopen");
			continue;
		}
		/* a batch of 1-8 mutations, submitted together */
		int n = 1 + (int)tu_rand_below(&rng, 8);
		struct pc_snap_context *sc = model_ctx(m, tu_rand_below(&rng, 4) == 0);

		memset(b.last_done, -1, sizeof(b.last_done));
		for (int i = 0; i < NOBJ; i++)
			b.last_done[i] = -1;
		b.pending = n;
		b.order_bad = 0;
		for (int i = 0; i < n; i++) {
			struct breq *br = &brs[i];
			int o = (int)tu_rand_below(&rng, NOBJ);
			uint64_t kind = tu_rand_below(&rng, 20);
			uint32_t off = (uint32_t)tu_rand_below(&rng, CAP - 1);
			uint32_t len = 1 + (uint32_t)tu_rand_below(&rng, PC_TU_MIN(8192, CAP - off));

			memset(&br->req, 0, sizeof(br->req));
			br->b = &b;
			br->obj = o;
			br->idx = i;
			br->req.oid = oname(o);
			br->req.snapc = sc;
			br->req.done = batch_done;
			br->req.private = br;
			br->req.flags = tu_rand_below(&rng, 10) == 0 ? PC_OBJ_F_SYNC : 0;
			if (kind < 13) {
				uint32_t half = len / 2;

				tu_fill(br->data, off, len, (unsigned)tu_rand(&rng));
				br->req.op = PC_OBJ_WRITE;
				br->req.off = off;
				br->req.len = len;
				br->iov[0] = (struct iovec){ br->data, half };
				br->iov[1] = (struct iovec){ br->data + half, len - half };
				br->req.iov = br->iov;
				br->req.iovcnt = 2;
				m_write(&m->head.o[o], off, len, br->data);
			} else if (kind < 16) {
				br->req.op = PC_OBJ_ZERO;
				br->req.off = off;
				br->req.len = len;
				m_zero(&m->head.o[o], off, len);
			} else if (kind < 18) {
				br->req.op = PC_OBJ_TRUNCATE;
				br->req.off = tu_rand_below(&rng, 2) ? off : 0;
				m_truncate(&m->head.o[o], (uint32_t)br->req.off);
			} else {
				br->req.op = PC_OBJ_REMOVE;
				/* the expected result is the model's before this request */
				br->req.size = m->head.o[o].exists;
				m_remove(&m->head.o[o]);
			}
		}
		for (int i = 0; i < n; i++)
			CHECK(os->ops->submit(os, &brs[i].req) == 0);
		pthread_mutex_lock(&b.lock);
		while (b.pending)
			pthread_cond_wait(&b.cond, &b.lock);
		pthread_mutex_unlock(&b.lock);
		CHECK(b.order_bad == 0);
		for (int i = 0; i < n; i++) {
			struct pc_obj_req *r = &brs[i].req;

			if (r->op == PC_OBJ_REMOVE && !r->size)
				CHECK(r->result == -ENOENT);
			else
				CHECK(r->result == 0);
		}
		pc_snap_context_put(sc);
		ops += n;
		if (tu_rand_below(&rng, 20) == 0)
			verify_model(os, m, "during");
	}
	verify_model(os, m, "at the end");
	fprintf(stderr, "model: %d ops, %d snapshots made, %d removed, %d live\n", ops, snaps_made,
		snaps_removed, m->nsnaps);
	CHECK(snaps_made > 20 && snaps_removed > 10);
	pc_objstore_close(os);
	pthread_mutex_destroy(&b.lock);
	pthread_cond_destroy(&b.cond);
	free(brs);
	free(m);
	tu_run("rm -rf '%s'", path);
}

/* Removing every snapshot leaves no clone file; objects removed under a
 * snapshot keep their clones until then, and their snapsets go with them. */
static void test_trim(void **state)
{
	char path[4400], name[16];
	struct pc_objstore *os = open_new("trim", path, sizeof(path));
	unsigned char buf[4096], rb[4096];
	uint64_t ids[5];

	(void)state;
	for (int s = 0; s < 5; s++) {
		struct pc_snap_context *sc;

		for (int i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "t%d", i);
			tu_fill(buf, 0, sizeof(buf), (unsigned)(s * 100 + i));
			sc = NULL;
			if (s) {	/* the context of the snapshots so far */
				uint64_t d[5];

				for (int k = 0; k < s; k++)
					d[k] = ids[s - 1 - k];
				sc = pc_snap_context_alloc(ids[s - 1], d, (uint32_t)s);
			}
			if (s == 4 && i >= 4)
				CHECK(do_req(os, PC_OBJ_REMOVE, name, 0, 0, NULL, sc, 0, NULL) == 0);
			else
				CHECK(obj_write(os, name, 0, buf, sizeof(buf), sc) == 0);
			pc_snap_context_put(sc);
		}
		CHECK(os->ops->snap_create(os, &ids[s]) == 0);
	}
	/* 8 objects x 4 snapshot generations (s = 1..4 each cloned once) */
	CHECK(count_files(path, "snap", '@') == 32);
	/* the first snapshot still reads the first generation, removed objects included */
	CHECK(obj_read(os, "t6", ids[0], 0, rb, sizeof(rb)) == sizeof(rb));
	tu_fill(buf, 0, sizeof(buf), 6);
	CHECK(memcmp(rb, buf, sizeof(rb)) == 0);
	CHECK(obj_read(os, "t6", PC_SNAP_HEAD, 0, rb, sizeof(rb)) == 0);
	/* removing the middle ones trims only the clones nobody needs */
	CHECK(os->ops->snap_remove(os, ids[1]) == 0);
	CHECK(count_files(path, "snap", '@') == 24);
	CHECK(obj_read(os, "t6", ids[2], 0, rb, sizeof(rb)) == sizeof(rb));
	tu_fill(buf, 0, sizeof(buf), 206);
	CHECK(memcmp(rb, buf, sizeof(rb)) == 0);
	for (int s = 0; s < 5; s++)
		if (s != 1)
			CHECK(os->ops->snap_remove(os, ids[s]) == 0);
	CHECK(count_files(path, "snap", '@') == 0);
	CHECK(count_files(path, "snap", '#') == 0);
	/* snapsets left: only the 4 live objects' (their seq) */
	CHECK(count_files(path, "snap", 0) == 4);
	CHECK(count_files(path, "obj", 0) == 4);
	pc_objstore_close(os);
	tu_run("rm -rf '%s'", path);
}

/* Close and reopen: data, snapshots and the snap id counter survive. */
static void test_reopen(void **state)
{
	char path[4400];
	struct pc_objstore *os = open_new("reopen", path, sizeof(path));
	unsigned char buf[3000], rb[3000];
	struct pc_snap_context *sc;
	uint64_t s1, s2, s3;

	(void)state;
	tu_fill(buf, 0, sizeof(buf), 7);
	CHECK(obj_write(os, "x", 0, buf, sizeof(buf), NULL) == 0);
	CHECK(os->ops->snap_create(os, &s1) == 0);
	CHECK(os->ops->snap_create(os, &s2) == 0);
	CHECK(os->ops->snap_remove(os, s2) == 0);
	sc = ctx(s2, 1, s1);
	tu_fill(buf, 0, sizeof(buf), 8);
	CHECK(obj_write(os, "x", 0, buf, 100, sc) == 0);
	pc_snap_context_put(sc);
	pc_objstore_close(os);
	CHECK(pc_objstore_open_dir(path, 0, &os) == 0);
	CHECK(obj_read(os, "x", s1, 0, rb, sizeof(rb)) == sizeof(rb));
	tu_fill(buf, 0, sizeof(buf), 7);
	CHECK(memcmp(rb, buf, sizeof(rb)) == 0);
	CHECK(obj_read(os, "x", PC_SNAP_HEAD, 0, rb, sizeof(rb)) == sizeof(rb));
	CHECK(rb[99] == tu_pat(99, 8) && rb[100] == tu_pat(100, 7));
	CHECK(obj_read(os, "x", s2, 0, rb, 10) == -ENOENT);
	CHECK(os->ops->snap_create(os, &s3) == 0);
	CHECK(s3 > s2);
	/* the object's seq survived too */
	sc = ctx(s1, 1, s1);
	CHECK(obj_write(os, "x", 0, buf, 1, sc) == -PC_EOLDSNAPC);
	pc_snap_context_put(sc);
	pc_objstore_close(os);
	tu_run("rm -rf '%s'", path);
}

/* A second holder of the lock (another process) gets -EBUSY naming it. */
static void test_lock(void **state)
{
	char path[4400], why[256], pidstr[32];
	struct pc_objstore *os = open_new("lock", path, sizeof(path));
	int up[2], down[2];
	pid_t pid;
	char c;

	(void)state;
	pc_objstore_close(os);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pc_objstore *cos;
		char w[256];

		close(up[0]);
		close(down[1]);
		if (pc_objstore_open_dir(path, 0, &cos) || cos->ops->lock(cos, "child-mount", w, sizeof(w)))
			_exit(1);
		if (write(up[1], "k", 1) != 1)
			_exit(1);
		if (read(down[0], &c, 1) < 0)
			_exit(1);
		cos->ops->unlock(cos, "child-mount");
		pc_objstore_close(cos);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	CHECK(read(up[0], &c, 1) == 1);
	CHECK(pc_objstore_open_dir(path, 0, &os) == 0);
	CHECK(os->ops->lock(os, "parent", why, sizeof(why)) == -EBUSY);
	fprintf(stderr, "lock: %s\n", why);
	snprintf(pidstr, sizeof(pidstr), "process %d ", (int)pid);
	CHECK(strstr(why, pidstr) != NULL);
	CHECK(strstr(why, "child-mount") != NULL);
	CHECK(strstr(why, path) != NULL);
	close(down[1]);	/* the child unlocks and exits */
	int status;

	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(os->ops->lock(os, "parent", why, sizeof(why)) == 0);
	/* a second handle in this process is refused too (OFD locks) */
	{
		struct pc_objstore *os2;

		CHECK(pc_objstore_open_dir(path, 0, &os2) == 0);
		CHECK(os2->ops->lock(os2, "again", why, sizeof(why)) == -EBUSY);
		snprintf(pidstr, sizeof(pidstr), "process %d ", (int)getpid());
		CHECK(strstr(why, pidstr) != NULL);
		pc_objstore_close(os2);
	}
	/* A handle opened while another holds the store reads pcstore again
	 * when it gets the lock: snapshot ids the holder handed out meanwhile
	 * are never handed out twice. */
	{
		struct pc_objstore *late;
		uint64_t a, b;

		CHECK(pc_objstore_open_dir(path, 0, &late) == 0);
		CHECK(os->ops->snap_create(os, &a) == 0);
		CHECK(os->ops->unlock(os, "parent") == 0);
		pc_objstore_close(os);
		CHECK(late->ops->lock(late, "late", why, sizeof(why)) == 0);
		CHECK(late->ops->snap_create(late, &b) == 0);
		CHECK(b > a);
		CHECK(late->ops->snap_remove(late, a) == 0);
		CHECK(late->ops->snap_remove(late, b) == 0);
		CHECK(late->ops->unlock(late, "late") == 0);
		os = late;
	}
	pc_objstore_close(os);
	close(up[0]);
	tu_run("rm -rf '%s'", path);
}

/* ---- kill -9 of a writer ---- */

#define CRASH_OPS 48
#define CRASH_NOBJ 4

/* One step of the crash workload, decided by @rng and the model; applied
 * to @m and, when @os is set, to the store (then 0 on success). */
static int crash_step(struct model *m, struct tu_rng *rng, struct pc_objstore *os)
{
	uint64_t what = tu_rand_below(rng, 100);
	int o = (int)tu_rand_below(rng, CRASH_NOBJ);
	uint32_t off = (uint32_t)tu_rand_below(rng, 16384);
	uint32_t len = 1 + (uint32_t)tu_rand_below(rng, 8192);
	unsigned pat = (unsigned)tu_rand(rng);
	static unsigned char data[8192];
	struct pc_snap_context *sc;
	int64_t r = 0;

	if (what < 12 && m->nsnaps < 4) {
		uint64_t id = m->seq + 1;	/* a fresh store hands out 1, 2, ... */

		if (os && (os->ops->snap_create(os, &id) || id != m->seq + 1))
			return -1;
		m_snap_create(m, id);
		return 0;
	}
	if (what < 18 && m->nsnaps) {
		int k = (int)tu_rand_below(rng, (uint64_t)m->nsnaps);

		if (os && os->ops->snap_remove(os, m->ids[k]))
			return -1;
		m_snap_remove(m, k);
		return 0;
	}
	sc = model_ctx(m, false);
	if (what < 80) {
		struct iovec iov[2] = { { data, len / 2 }, { data + len / 2, len - len / 2 } };
		struct pc_obj_req req = { .op = PC_OBJ_WRITE, .oid = oname(o), .off = off,
					  .len = len, .iov = iov, .iovcnt = 2, .snapc = sc };

		tu_fill(data, off, len, pat);
		if (os)
			r = pc_objstore_exec(os, &req);
		m_write(&m->head.o[o], off, len, data);
	} else if (what < 86) {
		if (os)
			r = do_req(os, PC_OBJ_ZERO, oname(o), off, len, NULL, sc, 0, NULL);
		m_zero(&m->head.o[o], off, len);
	} else if (what < 93) {
		if (os)
			r = do_req(os, PC_OBJ_TRUNCATE, oname(o), off, 0, NULL, sc, 0, NULL);
		m_truncate(&m->head.o[o], off);
	} else {
		if (os) {
			r = do_req(os, PC_OBJ_REMOVE, oname(o), 0, 0, NULL, sc, 0, NULL);
			if (r == -ENOENT && !m->head.o[o].exists)
				r = 0;
		}
		m_remove(&m->head.o[o]);
	}
	pc_snap_context_put(sc);
	return r ? -1 : 0;
}

static void crash_child(const char *path, int fd, uint64_t iseed, long crash_at)
{
	struct model *m = calloc(1, sizeof(*m));
	struct tu_rng rng = { iseed };
	struct pc_objstore *os;
	char num[32];

	if (crash_at) {
		snprintf(num, sizeof(num), "%ld", crash_at);
		setenv("PC_OBJSTORE_DIR_CRASH_POINT", num, 1);
	}
	if (!m || pc_objstore_open_dir(path, 0, &os))
		_exit(2);
	for (uint32_t i = 0; i < CRASH_OPS; i++) {
		if (crash_step(m, &rng, os) || os->ops->flush(os))
			_exit(3);
		if (write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(4);
	}
	pc_objstore_close(os);
	_exit(0);
}

/* Is @os's head of object @i, byte by byte, @a's or @b's (before and after
 * the request in flight at the kill)? */
static bool head_between(struct pc_objstore *os, int i, const struct mobj *a, const struct mobj *b)
{
	static unsigned char buf[CAP];
	int64_t r = obj_read(os, oname(i), PC_SNAP_HEAD, 0, buf, CAP);
	int64_t sa = a->exists ? a->size : 0, sb = b->exists ? b->size : 0;

	/* an unacknowledged write may be half done: its size too */
	if (r < PC_TU_MIN(sa, sb) || r > (sa > sb ? sa : sb))
		return false;
	for (size_t k = 0; k < CAP; k++)
		if (buf[k] != a->data[k] && buf[k] != b->data[k])
			return false;
	return true;
}

static void test_crash(void **state)
{
	struct model *pre = calloc(1, sizeof(*pre)), *post = calloc(1, sizeof(*post));
	struct tu_rng prng = { seed ^ 0x637261736858ull };
	char path[4400];
	int kills = 0, self = 0, finished = 0;
	uint64_t t0 = tu_now_ns();

	(void)state;
	for (int iter = 0; iter < 20; iter++) {
		uint64_t iseed = tu_rand(&prng);
		bool by_point = iter % 2;
		long crash_at = by_point ? 1 + (long)tu_rand_below(&prng, 160) : 0;
		uint32_t target = 1 + (uint32_t)tu_rand_below(&prng, CRASH_OPS - 8);
		uint32_t acked = 0, idx;
		struct pc_objstore *os;
		struct tu_rng rng = { iseed };
		int fds[2], status;
		pid_t pid;

		store_path(path, sizeof(path), "crash");
		assert_int_equal(pc_objstore_mkfs_dir(path), 0);
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			crash_child(path, fds[1], iseed, crash_at);
		}
		close(fds[1]);
		while (read(fds[0], &idx, sizeof(idx)) == sizeof(idx)) {
			CHECK(idx == acked);
			acked++;
			if (!by_point && acked == target) {
				usleep((useconds_t)tu_rand_below(&prng, 3000));
				kill(pid, SIGKILL);
			}
		}
		close(fds[0]);
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			by_point ? self++ : kills++;
		else {
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			finished++;
		}
		/* replay the acknowledged ops into the model; the next one may or
		 * may not have happened */
		memset(pre, 0, sizeof(*pre));
		for (uint32_t i = 0; i < acked; i++)
			crash_step(pre, &rng, NULL);
		*post = *pre;
		struct tu_rng rng2 = rng;

		if (acked < CRASH_OPS)
			crash_step(post, &rng2, NULL);
		CHECK(pc_objstore_open_dir(path, 0, &os) == 0);
		for (int i = 0; i < CRASH_NOBJ; i++) {
			bool ok = head_between(os, i, &pre->head.o[i], &post->head.o[i]);

			if (!ok)
				fprintf(stderr, "crash %d (seed %llu, %s %ld, %u acked): head of %s lost\n",
					iter, (unsigned long long)seed, by_point ? "point" : "kill",
					by_point ? crash_at : (long)target, acked, oname(i));
			CHECK(ok);
		}
		/* every acknowledged snapshot reads exactly its content */
		for (int s = 0; s < pre->nsnaps; s++) {
			bool removed = true;
			unsigned char b[4];

			for (int k = 0; k < post->nsnaps; k++)
				removed &= post->ids[k] != pre->ids[s];
			if (removed && obj_read(os, oname(0), pre->ids[s], 0, b, 4) == -ENOENT)
				continue;	/* the in-flight removal got through */
			for (int i = 0; i < CRASH_NOBJ; i++)
				verify_obj(os, pre->ids[s], i, &pre->snap[s].o[i], "after kill -9");
		}
		if (post->nsnaps > pre->nsnaps) {	/* an in-flight creation */
			unsigned char b[4];
			uint64_t id = post->ids[post->nsnaps - 1];

			if (obj_read(os, oname(0), id, 0, b, 4) != -ENOENT)
				for (int i = 0; i < CRASH_NOBJ; i++)
					verify_obj(os, id, i, &post->snap[post->nsnaps - 1].o[i],
						   "in-flight snapshot");
		}
		/* and the store goes on working: a new snapshot, a write under it */
		{
			uint64_t id;
			struct pc_snap_context *sc;
			unsigned char b[16] = "after";

			CHECK(os->ops->snap_create(os, &id) == 0);
			CHECK(id > pre->seq);
			sc = ctx(id, 1, id);
			CHECK(obj_write(os, oname(0), 0, b, sizeof(b), sc) == 0);
			pc_snap_context_put(sc);
			/* removing every snapshot leaves no clone and no temporary
			 * file, whatever the kill left behind */
			for (uint64_t s = 1; s <= id; s++) {
				int r = os->ops->snap_remove(os, s);

				CHECK(r == 0 || r == -ENOENT);
			}
			CHECK(count_files(path, "snap", '@') == 0);
			CHECK(count_files(path, "snap", '#') == 0);
		}
		pc_objstore_close(os);
	}
	fprintf(stderr, "crash: 20 runs (%d killed by the parent, %d at a crash point, %d finished) in %.1f s\n",
		kills, self, finished, (double)(tu_now_ns() - t0) / 1e9);
	CHECK(kills + self >= 10);
	free(pre);
	free(post);
	tu_run("rm -rf '%s'", path);
}

/* Corrupt metadata: -EUCLEAN and a message, never a crash. */
static void test_corrupt(void **state)
{
	char path[4400], file[4500], msg[512];
	struct pc_objstore *os = open_new("corrupt", path, sizeof(path));
	unsigned char buf[100] = { 1 };
	struct pc_snap_context *sc;
	uint64_t s1;
	int fd;

	(void)state;
	CHECK(obj_write(os, "obj", 0, buf, sizeof(buf), NULL) == 0);
	CHECK(os->ops->snap_create(os, &s1) == 0);
	sc = ctx(s1, 1, s1);
	CHECK(obj_write(os, "obj", 0, buf, 10, sc) == 0);
	pc_snap_context_put(sc);
	/* flip a byte of the snapset */
	snprintf(file, sizeof(file), "%s/snap/obj", path);
	fd = open(file, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, "\xff", 1, 30) == 1);
	close(fd);
	CHECK(obj_read(os, "obj", s1, 0, buf, 10) == -EUCLEAN);
	CHECK(obj_write(os, "obj", 0, buf, 10, NULL) == -EUCLEAN);
	CHECK(pc_objstore_dir_strerror(os, msg, sizeof(msg)) > 0);
	fprintf(stderr, "corrupt snapset: %s\n", msg);
	CHECK(strstr(msg, "snapset of object obj") && strstr(msg, "corrupt"));
	/* snap_remove leaves the corrupt object's clones alone */
	CHECK(os->ops->snap_remove(os, s1) == 0);
	CHECK(count_files(path, "snap", '@') == 1);
	pc_objstore_close(os);
	/* a truncated superblock */
	snprintf(file, sizeof(file), "%s/pcstore", path);
	CHECK(truncate(file, 20) == 0);
	CHECK(pc_objstore_open_dir(path, 0, &os) == -EUCLEAN);
	pc_objstore_dir_strerror(NULL, msg, sizeof(msg));
	fprintf(stderr, "corrupt pcstore: %s\n", msg);
	CHECK(strstr(msg, "pcstore") && strstr(msg, "corrupt"));
	tu_run("rm -rf '%s'", path);
}

/* A full host filesystem: -ENOSPC in the result, no hang (needs a tmpfs
 * mount: root only; skipped otherwise). */
static void test_enospc(void **state)
{
	char mnt[4300], path[4400];
	struct pc_objstore *os;
	static unsigned char buf[65536];
	int64_t r = 0;
	int i;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/enospc-mnt", tmpdir);
	mkdir(mnt, 0755);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=512k") != 0) {
		fprintf(stderr, "enospc: cannot mount a tmpfs (%s): skipped\n", strerror(errno));
		rmdir(mnt);
		skip();
	}
	snprintf(path, sizeof(path), "%s/store", mnt);
	CHECK(pc_objstore_open_dir(path, PC_OBJSTORE_DIR_CREATE, &os) == 0);
	for (i = 0; i < 64 && r == 0; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		r = obj_write(os, name, 0, buf, sizeof(buf), NULL);
	}
	CHECK(r == -ENOSPC);
	/* removing frees space; writes work again */
	CHECK(do_req(os, PC_OBJ_REMOVE, "f0", 0, 0, NULL, NULL, 0, NULL) == 0);
	CHECK(do_req(os, PC_OBJ_REMOVE, "f1", 0, 0, NULL, NULL, 0, NULL) == 0);
	CHECK(obj_write(os, "again", 0, buf, 4096, NULL) == 0);
	pc_objstore_close(os);
	umount(mnt);
	rmdir(mnt);
}

/* The ordering checker fails an older context after a newer one. */
static void test_order_check(void **state)
{
	char path[4400], msg[256];
	struct pc_objstore *inner = open_new("order", path, sizeof(path)), *os;
	struct pc_snap_context *c0 = ctx(0, 0), *c3, *c5;
	unsigned char buf[64] = "data", rb[64];

	(void)state;
	CHECK(pc_objstore_order_check_wrap(NULL, &os) == -EINVAL);
	CHECK(pc_objstore_order_check_wrap(inner, &os) == 0);
	CHECK(strcmp(os->name, "order(") > 0 && strstr(os->name, path));
	CHECK(os->max_object_size == inner->max_object_size);
	c3 = ctx(3, 0);
	c5 = ctx(5, 0);
	/* a correct sequence: non-decreasing per object, any order across objects */
	CHECK(obj_write(os, "a", 0, buf, 4, c0) == 0);
	CHECK(obj_write(os, "a", 0, buf, 4, c3) == 0);
	CHECK(obj_write(os, "a", 0, buf, 4, c3) == 0);
	CHECK(obj_write(os, "b", 0, buf, 4, c3) == 0);
	CHECK(do_req(os, PC_OBJ_ZERO, "a", 0, 1, NULL, c5, 0, NULL) == 0);
	CHECK(obj_write(os, "c", 0, buf, 4, NULL) == 0);
	CHECK(obj_read(os, "a", PC_SNAP_HEAD, 0, rb, 4) == 4);
	CHECK(pc_objstore_order_violations(os, msg, sizeof(msg)) == 0);
	CHECK(msg[0] == '\0');
	/* an older context after a newer one: refused before the store */
	memcpy(buf, "BAD!", 4);
	CHECK(obj_write(os, "a", 0, buf, 4, c3) == -PC_EOLDSNAPC);
	CHECK(do_req(os, PC_OBJ_TRUNCATE, "a", 0, 0, NULL, NULL, 0, NULL) == -PC_EOLDSNAPC);
	CHECK(obj_write(os, "b", 0, buf, 4, c5) == 0);
	CHECK(pc_objstore_order_violations(os, msg, sizeof(msg)) == 2);
	fprintf(stderr, "order: %s\n", msg);
	CHECK(strstr(msg, "object a: WRITE with context seq 3 after ZERO with context seq 5"));
	CHECK(obj_read(os, "a", PC_SNAP_HEAD, 0, rb, 4) == 4);
	CHECK(memcmp(rb, "\0ata", 4) == 0);
	CHECK(pc_objstore_order_violations(inner, msg, sizeof(msg)) == 0);
	/* a request the store refuses (a context out of order, seq 9) leaves
	 * no trace: seq 5 may still follow */
	{
		struct pc_snap_context *bad = calloc(1, sizeof(*bad) + 2 * sizeof(uint64_t));

		bad->seq = 9;
		bad->num_snaps = 2;
		bad->snaps[0] = 1;
		bad->snaps[1] = 2;
		CHECK(obj_write(os, "a", 0, buf, 4, bad) == -EINVAL);
		CHECK(obj_write(os, "a", 0, buf, 4, c5) == 0);
		CHECK(obj_write(os, "fresh", 0, buf, 4, bad) == -EINVAL);
		CHECK(obj_write(os, "fresh", 0, buf, 4, c0) == 0);
		CHECK(pc_objstore_order_violations(os, NULL, 0) == 2);
		free(bad);
	}
	pc_snap_context_put(c0);
	pc_snap_context_put(c3);
	pc_snap_context_put(c5);
	pc_objstore_close(os);	/* closes @inner too */
	tu_run("rm -rf '%s'", path);
}

/* The fault injector fails the Nth write, then every write from the Nth. */
static void test_fault(void **state)
{
	char path[4400];
	struct pc_objstore *inner = open_new("fault", path, sizeof(path)), *os;
	unsigned char buf[16] = "0123456789", rb[16];
	uint64_t snap;

	(void)state;
	CHECK(pc_objstore_fault_wrap(inner, &os) == 0);
	CHECK(pc_objstore_fault_arm(inner, 0, 1, 1, -EIO) == -EINVAL);
	CHECK(pc_objstore_fault_arm(os, 0, 3, 1, -EIO) == 0);
	CHECK(obj_write(os, "w1", 0, buf, 10, NULL) == 0);
	CHECK(obj_read(os, "w1", PC_SNAP_HEAD, 0, rb, 10) == 10);	/* reads do not count */
	CHECK(do_req(os, PC_OBJ_TRUNCATE, "w2", 5, 0, NULL, NULL, 0, NULL) == 0);
	CHECK(obj_write(os, "w3", 0, buf, 10, NULL) == -EIO);
	CHECK(obj_write(os, "w4", 0, buf, 10, NULL) == 0);
	CHECK(pc_objstore_fault_injected(os) == 1);
	CHECK(do_req(os, PC_OBJ_STAT, "w3", 0, 0, NULL, NULL, PC_SNAP_HEAD, NULL) == -ENOENT);
	/* only WRITE, from the 2nd on, forever, -ENOSPC */
	CHECK(pc_objstore_fault_arm(os, PC_OBJ_WRITE, 2, PC_OBJ_FAULT_FOREVER, -ENOSPC) == 0);
	CHECK(obj_write(os, "w5", 0, buf, 10, NULL) == 0);
	CHECK(do_req(os, PC_OBJ_REMOVE, "w5", 0, 0, NULL, NULL, 0, NULL) == 0);
	for (int i = 0; i < 5; i++)
		CHECK(obj_write(os, "w6", 0, buf, 10, NULL) == -ENOSPC);
	CHECK(pc_objstore_fault_injected(os) == 6);
	CHECK(pc_objstore_fault_arm(os, 0, 0, 0, 0) == 0);	/* disarm */
	/* delayed completions still complete; snapshots pass through */
	CHECK(pc_objstore_fault_delay(os, 2000) == 0);
	CHECK(obj_write(os, "w6", 0, buf, 10, NULL) == 0);
	CHECK(os->ops->snap_create(os, &snap) == 0);
	CHECK(os->ops->flush(os) == 0);
	CHECK(obj_read(os, "w6", PC_SNAP_HEAD, 0, rb, 10) == 10);
	CHECK(memcmp(rb, buf, 10) == 0);
	/* stacked: order(fault(dir)) */
	{
		struct pc_objstore *ord;

		CHECK(pc_objstore_order_check_wrap(os, &ord) == 0);
		CHECK(pc_objstore_fault_arm(os, PC_OBJ_WRITE, 1, 1, -EIO) == 0);
		CHECK(obj_write(ord, "w7", 0, buf, 10, NULL) == -EIO);
		CHECK(obj_write(ord, "w7", 0, buf, 10, NULL) == 0);
		pc_objstore_close(ord);	/* closes the fault wrapper and the store */
	}
	tu_run("rm -rf '%s'", path);
}

/* ---- concurrency: writers on their own objects while snapshots come and go ---- */

struct conc {
	struct pc_objstore *os;
	pthread_mutex_t lock;
	struct pc_snap_context *cur;	/* the current context */
	_Atomic bool stop;
	_Atomic int errors;
};

struct conc_thread {
	struct conc *c;
	int id;
	pthread_t th;
	unsigned char last[4][4096];	/* what each of its objects holds */
};

static void *conc_writer(void *arg)
{
	struct conc_thread *t = arg;
	struct tu_rng rng = { seed + (uint64_t)t->id };
	unsigned char buf[4096];
	char name[32];

	for (int i = 0; i < 400 && !atomic_load(&t->c->stop); i++) {
		struct pc_snap_context *sc;
		int o = (int)tu_rand_below(&rng, 4);
		int64_t r;

		pthread_mutex_lock(&t->c->lock);
		sc = pc_snap_context_get(t->c->cur);
		pthread_mutex_unlock(&t->c->lock);
		snprintf(name, sizeof(name), "c%d.%d", t->id, o);
		tu_fill(buf, 0, sizeof(buf), (unsigned)(t->id * 100000 + i));
		r = obj_write(t->c->os, name, 0, buf, sizeof(buf), sc);
		if (r == 0)
			memcpy(t->last[o], buf, sizeof(buf));
		else
			atomic_fetch_add(&t->c->errors, 1);
		if (tu_rand_below(&rng, 8) == 0) {	/* a read at head, a stat */
			r = obj_read(t->c->os, name, PC_SNAP_HEAD, 0, buf, sizeof(buf));
			if (r != sizeof(buf) || memcmp(buf, t->last[o], sizeof(buf)))
				atomic_fetch_add(&t->c->errors, 1);
		}
		pc_snap_context_put(sc);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	char path[4400], msg[256];
	struct pc_objstore *inner = open_new("conc", path, sizeof(path)), *os;
	struct conc c = { .cur = ctx(0, 0) };
	struct conc_thread *t = calloc(4, sizeof(*t));
	uint64_t live[64];
	int nlive = 0;

	(void)state;
	CHECK(pc_objstore_order_check_wrap(inner, &os) == 0);
	c.os = os;
	pthread_mutex_init(&c.lock, NULL);
	for (int i = 0; i < 4; i++) {
		t[i].c = &c;
		t[i].id = i;
		CHECK(pthread_create(&t[i].th, NULL, conc_writer, &t[i]) == 0);
	}
	for (int k = 0; k < 40; k++) {
		uint64_t id, d[64];
		struct pc_snap_context *sc, *old;

		if (nlive < 6 || k % 2) {
			CHECK(os->ops->snap_create(os, &id) == 0);
			live[nlive++] = id;
		} else {
			CHECK(os->ops->snap_remove(os, live[0]) == 0);
			memmove(live, live + 1, sizeof(live[0]) * (size_t)--nlive);
		}
		for (int i = 0; i < nlive; i++)
			d[i] = live[nlive - 1 - i];
		pthread_mutex_lock(&c.lock);
		sc = pc_snap_context_alloc(c.cur->seq > (nlive ? live[nlive - 1] : 0)
						   ? c.cur->seq : live[nlive - 1], d, (uint32_t)nlive);
		old = c.cur;
		c.cur = sc;
		pthread_mutex_unlock(&c.lock);
		pc_snap_context_put(old);
		tu_sleep_ms(2);
	}
	atomic_store(&c.stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i].th, NULL);
	CHECK(atomic_load(&c.errors) == 0);
	CHECK(pc_objstore_order_violations(os, msg, sizeof(msg)) == 0);
	/* reopen: every object's head is its last acknowledged write */
	pc_objstore_close(os);
	CHECK(pc_objstore_open_dir(path, 0, &os) == 0);
	for (int i = 0; i < 4; i++)
		for (int o = 0; o < 4; o++) {
			unsigned char buf[4096];
			char name[32];

			snprintf(name, sizeof(name), "c%d.%d", i, o);
			CHECK(obj_read(os, name, PC_SNAP_HEAD, 0, buf, sizeof(buf)) == sizeof(buf));
			CHECK(memcmp(buf, t[i].last[o], sizeof(buf)) == 0);
		}
	for (int i = 0; i < nlive; i++)
		CHECK(os->ops->snap_remove(os, live[i]) == 0);
	CHECK(count_files(path, "snap", '@') == 0);
	pc_objstore_close(os);
	pc_snap_context_put(c.cur);
	pthread_mutex_destroy(&c.lock);
	free(t);
	tu_run("rm -rf '%s'", path);
}

/* A clone of a sparse object stays sparse (FICLONE, or copy_file_range of
 * the data extents only) and reads back the same. */
static void test_sparse_clone(void **state)
{
	char path[4400], file[4500];
	struct pc_objstore *os = open_new("sparse", path, sizeof(path));
	unsigned char buf[4096], rb[4096];
	struct pc_snap_context *sc;
	struct stat st;
	uint64_t s1;

	(void)state;
	tu_fill(buf, 0, sizeof(buf), 9);
	CHECK(obj_write(os, "sp", 0, buf, sizeof(buf), NULL) == 0);
	CHECK(obj_write(os, "sp", 64ull << 20, buf, sizeof(buf), NULL) == 0);
	CHECK(os->ops->snap_create(os, &s1) == 0);
	sc = ctx(s1, 1, s1);
	CHECK(do_req(os, PC_OBJ_TRUNCATE, "sp", 0, 0, NULL, sc, 0, NULL) == 0);
	pc_snap_context_put(sc);
	snprintf(file, sizeof(file), "%s/snap/sp@%016llx", path, (unsigned long long)s1);
	CHECK(stat(file, &st) == 0);
	CHECK(st.st_size == (64 << 20) + 4096);
	CHECK((uint64_t)st.st_blocks * 512 < (1 << 20));
	CHECK(obj_read(os, "sp", s1, 64ull << 20, rb, sizeof(rb)) == sizeof(rb));
	CHECK(memcmp(rb, buf, sizeof(rb)) == 0);
	CHECK(obj_read(os, "sp", s1, 32ull << 20, rb, sizeof(rb)) == sizeof(rb));
	CHECK(rb[0] == 0 && rb[4095] == 0);
	CHECK(obj_read(os, "sp", PC_SNAP_HEAD, 0, rb, sizeof(rb)) == 0);
	pc_objstore_close(os);
	tu_run("rm -rf '%s'", path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_sparse_clone),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_order_check),
		cmocka_unit_test(test_fault),
		cmocka_unit_test(test_concurrent),
	};
	const char *s = getenv("PC_TEST_SEED");
	char log[4300];
	int ret;

	seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	fprintf(stderr, "test_objstore: seed %llu (PC_TEST_SEED=%llu repeats this run)\n",
		(unsigned long long)seed, (unsigned long long)seed);
	ret = tu_make_tmpdir("objstore", "", tmpdir, sizeof(tmpdir), log, sizeof(log));
	if (ret)
		return ret;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	tu_run("rm -rf '%s'", tmpdir);
	tu_report("test_objstore");
	return ret;
}
