// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/ceph/test_rados_store.c - the RADOS object store
 * (pc_objstore_open_rados) against a live cluster (scripts/ceph-cluster.sh),
 * run by tests/system/test_objstore_rados.py. Linked against the shared
 * library only (it uses nothing but the public objstore.h/snap.h API).
 *
 * Usage (CEPH_CONF names the cluster; every mode prints "KEY VALUE" lines
 * and exits 0 when its own checks pass, 1 when one fails ("FAIL ..." lines
 * say which), 2 on bad usage):
 *   model POOL SEED BATCHES OUTDIR  model-based random test (below); writes
 *                                   each object's expected head to OUTDIR/OBJ
 *                                   and prints "expect OBJ SNAPID SIZE" for
 *                                   the rados CLI check
 *   threads POOL NTHREADS SECONDS   concurrent submitters under changing
 *                                   snap contexts; head checked at the end
 *   ordersnap POOL                  older-context write/zero/truncate/remove
 *                                   after a newer one: -PC_EOLDSNAPC
 *   basic POOL                      missing objects, short reads, holes,
 *                                   truncate creating, size limits, bad input
 *   lock-hold POOL COOKIE           take the lock, print "locked", unlock when
 *                                   stdin reaches EOF
 *   lock-try POOL COOKIE            try the lock: "lock RESULT" "why MESSAGE"
 *   open POOL [CONF] [MOUNT_S]      open only: "open RESULT" "why ..." "ms N"
 *   full POOL                       prepare, print "ready", wait for a line
 *                                   on stdin (the test marks the cluster
 *                                   full), then write/remove and report
 *   osdkill POOL OP_TIMEOUT_S SECS  keep 32 writes in flight, print "writing";
 *                                   the test kills the OSD; report how every
 *                                   request completed and how long it took
 *   bench POOL MIB                  4 MiB aio writes then reads, 16 in flight
 *
 * The model test: NOBJ objects; each batch submits 1-12 random requests
 * (write with 1-3 iovecs, zero, truncate, remove, read, stat) asynchronously
 * under the current snap context, applied to an in-memory model in
 * submission order (requests on one object complete in that order), then
 * waits for them and checks every result; between batches, and now and
 * then between two submissions of a batch (requests of the older context
 * still in flight), it takes or removes snapshots (self-managed, a new
 * context each time); every few
 * batches and at the end it reads every object at every live snapshot and
 * at head and compares it byte for byte (and its stat) with the model's
 * copy as of that snapshot. The seed is printed first.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pagecache/objstore.h>
#include <pagecache/snap.h>

#define KiB 1024
#define MiB (1024 * 1024)

static int failures;

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		printf("FAIL ");                                                                   \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		fflush(stdout);                                                                    \
		failures++;                                                                        \
	} while (0)

#define CHECK_EQ(what, got, want)                                                                  \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (g_ != w_)                                                                      \
			FAIL("%s: got %lld, want %lld (line %d)", what, g_, w_, __LINE__);         \
	} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: deterministic from the printed seed */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 2685821657736338717ULL;
}
static uint64_t rndn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static struct pc_objstore *open_store(const char *pool, unsigned op_timeout)
{
	struct pc_objstore *os = NULL;
	char why[512] = "";
	struct pc_rados_opts o = { .size = sizeof(o), .op_timeout = op_timeout, .why = why,
				   .whylen = sizeof(why) };
	int r = pc_objstore_open_rados(pool, &o, &os);

	if (r < 0) {
		printf("open %d\nwhy %s\n", r, why);
		fprintf(stderr, "test_rados_store: cannot open rados:%s: %s\n", pool, why);
		exit(1);
	}
	return os;
}

/* ---- a batch of asynchronous requests ---- */

struct batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending;
};

static void batch_init(struct batch *b)
{
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->pending = 0;
}

static void batch_done(struct pc_obj_req *req)
{
	struct batch *b = req->private;

	pthread_mutex_lock(&b->lock);
	if (--b->pending == 0)
		pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static int batch_submit(struct pc_objstore *os, struct batch *b, struct pc_obj_req *req)
{
	int r;

	req->done = batch_done;
	req->private = b;
	pthread_mutex_lock(&b->lock);
	b->pending++;
	pthread_mutex_unlock(&b->lock);
	r = os->ops->submit(os, req);
	if (r < 0) {
		pthread_mutex_lock(&b->lock);
		b->pending--;
		pthread_mutex_unlock(&b->lock);
	}
	return r;
}

static void batch_wait(struct batch *b)
{
	pthread_mutex_lock(&b->lock);
	while (b->pending)
		pthread_cond_wait(&b->cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

/* synchronous helpers */
static int64_t do_write(struct pc_objstore *os, const char *oid, const void *buf, size_t len,
			uint64_t off, const struct pc_snap_context *sc)
{
	struct iovec v = { (void *)buf, len };
	struct pc_obj_req r = { .op = PC_OBJ_WRITE, .oid = oid, .off = off, .len = len, .iov = &v,
				.iovcnt = 1, .snapc = sc };

	return pc_objstore_exec(os, &r);
}

static int64_t do_read(struct pc_objstore *os, const char *oid, void *buf, size_t len,
		       uint64_t off, uint64_t snap)
{
	struct iovec v = { buf, len };
	struct pc_obj_req r = { .op = PC_OBJ_READ, .oid = oid, .off = off, .len = len, .iov = &v,
				.iovcnt = 1, .snapid = snap };

	return pc_objstore_exec(os, &r);
}

static int64_t do_op(struct pc_objstore *os, enum pc_obj_op op, const char *oid, uint64_t off,
		     uint64_t len, const struct pc_snap_context *sc, uint64_t snap, uint64_t *size)
{
	struct pc_obj_req r = { .op = op, .oid = oid, .off = off, .len = len, .snapc = sc,
				.snapid = snap };
	int64_t ret = pc_objstore_exec(os, &r);

	if (size)
		*size = r.size;
	return ret;
}

/* ================================================================ model */

#define NOBJ 6
#define MAXSZ (96 * KiB)
#define MAXSNAPS 6

struct mobj {
	int exists;
	uint64_t size;
	unsigned char data[MAXSZ];
};

struct mstate {
	struct mobj o[NOBJ];
};

struct msnap {
	uint64_t id;
	struct mstate *st;
};

static char objname[NOBJ][64];

static void model_write(struct mobj *m, uint64_t off, const unsigned char *buf, uint64_t len)
{
	memcpy(m->data + off, buf, len);
	m->exists = 1;
	if (off + len > m->size)
		m->size = off + len;
}

/* RADOS' zero: nothing on a missing object; a range reaching the end
 * truncates the object to @off (only if @off is inside it). */
static void model_zero(struct mobj *m, uint64_t off, uint64_t len)
{
	if (!m->exists || off >= m->size)
		return;
	if (off + len >= m->size) {
		memset(m->data + off, 0, m->size - off);
		m->size = off;
		return;
	}
	memset(m->data + off, 0, len);
}

static void model_truncate(struct mobj *m, uint64_t off)
{
	if (off < m->size)
		memset(m->data + off, 0, m->size - off);
	m->size = off;
	m->exists = 1;
}

static int model_remove(struct mobj *m)
{
	if (!m->exists)
		return -ENOENT;
	memset(m->data, 0, m->size);
	m->size = 0;
	m->exists = 0;
	return 0;
}

/* One request of a batch with what the model expects of it. */
struct mreq {
	struct pc_obj_req req;
	struct iovec iov[3];
	unsigned char *buf;
	int64_t want;
	unsigned char *want_data;	/* READ */
	uint64_t want_size;		/* STAT */
};

/* Compare object @i at @snap (PC_SNAP_HEAD or a snap id) with @m. */
static void check_object(struct pc_objstore *os, int i, uint64_t snap, const struct mobj *m,
			 unsigned char *scratch)
{
	char what[160];
	uint64_t size = 0;
	int64_t r;

	snprintf(what, sizeof(what), "%s at %s%" PRIu64, objname[i],
		 snap == PC_SNAP_HEAD ? "head" : "snap ", snap == PC_SNAP_HEAD ? 0 : snap);
	memset(scratch, 0xa5, MAXSZ);
	/* in three pieces, to exercise several iovecs in one read */
	struct iovec v[3] = { { scratch, 5000 }, { scratch + 5000, 40 * KiB },
			      { scratch + 5000 + 40 * KiB, MAXSZ - 5000 - 40 * KiB } };
	struct pc_obj_req rq = { .op = PC_OBJ_READ, .oid = objname[i], .off = 0, .len = MAXSZ,
				 .iov = v, .iovcnt = 3, .snapid = snap };

	r = pc_objstore_exec(os, &rq);
	if (r != (int64_t)(m->exists ? m->size : 0))
		FAIL("%s: read returned %" PRId64 ", model size %" PRIu64 " exists %d", what, r,
		     m->size, m->exists);
	for (size_t k = 0; k < MAXSZ; k++) {
		if (scratch[k] != m->data[k]) {
			FAIL("%s: byte %zu is 0x%02x, model 0x%02x", what, k, scratch[k], m->data[k]);
			break;
		}
	}
	r = do_op(os, PC_OBJ_STAT, objname[i], 0, 0, NULL, snap, &size);
	if (m->exists) {
		if (r != 0 || size != m->size)
			FAIL("%s: stat %" PRId64 " size %" PRIu64 ", model size %" PRIu64, what, r, size,
			     m->size);
	} else if (r != -ENOENT) {
		FAIL("%s: stat of a missing object returned %" PRId64, what, r);
	}
}

static struct pc_snap_context *make_ctx(uint64_t seq, struct msnap *snaps, int n)
{
	uint64_t ids[MAXSNAPS + 1];

	/* snaps[] is kept oldest first; contexts want newest first */
	for (int k = 0; k < n; k++)
		ids[k] = snaps[n - 1 - k].id;
	return pc_snap_context_alloc(seq, ids, (uint32_t)n);
}

/* The model run's snapshot state. Contexts replaced while requests that
 * carry them are in flight are kept in @retired until the batch is done
 * (the caller holds a request's context until its done). */
struct mrun {
	struct pc_snap_context *ctx;
	uint64_t seq;
	struct msnap snaps[MAXSNAPS + 1];
	int nsnaps;
	struct mstate *head;
	struct pc_snap_context *retired[64];
	int nretired;
	long created, removed;
};

static void set_ctx(struct mrun *m, struct pc_snap_context *n)
{
	if (m->nretired < 64)
		m->retired[m->nretired++] = m->ctx;
	else
		pc_snap_context_put(m->ctx);	/* not reached: at most 13 per batch */
	m->ctx = n;
}

/* @s < 25: take a snapshot (the model keeps head as it is now, requests
 * in flight included: they were submitted before it, under the older
 * context, as dirty pages written back after a snapshot are); 25 <= @s <
 * 35: remove a random live one; else nothing. */
static void snap_step(struct pc_objstore *os, unsigned s, struct mrun *m)
{
	if (s < 25 && m->nsnaps < MAXSNAPS) {
		uint64_t id = 0;
		int r = os->ops->snap_create(os, &id);

		if (r < 0 || id <= m->seq) {
			FAIL("snap_create: %d, id %" PRIu64 " after seq %" PRIu64, r, id, m->seq);
			return;
		}
		m->snaps[m->nsnaps].id = id;
		m->snaps[m->nsnaps].st = malloc(sizeof(struct mstate));
		memcpy(m->snaps[m->nsnaps].st, m->head, sizeof(*m->head));
		m->nsnaps++;
		m->seq = id;
		set_ctx(m, make_ctx(m->seq, m->snaps, m->nsnaps));
		m->created++;
	} else if (s >= 25 && s < 35 && m->nsnaps > 0) {
		int victim = (int)rndn((uint64_t)m->nsnaps);
		uint64_t id = m->snaps[victim].id;

		CHECK_EQ("snap_remove", os->ops->snap_remove(os, id), 0);
		free(m->snaps[victim].st);
		memmove(&m->snaps[victim], &m->snaps[victim + 1],
			(size_t)(m->nsnaps - victim - 1) * sizeof(m->snaps[0]));
		m->nsnaps--;
		/* the same seq without the removed snap (what a read at a removed
		 * snap returns is not defined: RADOS serves head for an object
		 * unchanged since, -ENOENT otherwise) */
		set_ctx(m, make_ctx(m->seq, m->snaps, m->nsnaps));
		m->removed++;
	}
}

static int mode_model(const char *pool, uint64_t seed, int nbatch, const char *outdir)
{
	struct pc_objstore *os = open_store(pool, 0);
	struct mrun m = { .ctx = pc_snap_context_alloc(0, NULL, 0) };
	struct mstate *head = m.head = calloc(1, sizeof(*head));
	struct msnap *snaps = m.snaps;
	unsigned char *scratch = malloc(MAXSZ);
	long nops = 0, nchecks = 0, midbatch = 0;
	struct batch b;
	double t0 = now();

	printf("seed %" PRIu64 "\n", seed);
	fflush(stdout);
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	batch_init(&b);
	for (int i = 0; i < NOBJ; i++)
		snprintf(objname[i], sizeof(objname[i]), "model.%d.%d", (int)getpid(), i);

	for (int bi = 0; bi < nbatch && failures < 20; bi++) {
		int n = 1 + (int)rndn(12);
		struct mreq *rq = calloc((size_t)n, sizeof(*rq));

		for (int k = 0; k < n; k++) {
			struct mreq *q = &rq[k];

			/* now and then a snapshot taken (or removed) while this
			 * batch's requests are still in flight */
			if (rndn(100) < 4) {
				snap_step(os, (unsigned)rndn(35), &m);
				midbatch++;
			}
			int i = (int)rndn(NOBJ);
			struct mobj *mo = &head->o[i];
			unsigned kind = (unsigned)rndn(100);
			uint64_t off = rndn(64 * KiB), len = 1 + rndn(16 * KiB);

			if (rndn(4) == 0) {	/* page aligned, as a page cache writes */
				off &= ~(uint64_t)4095;
				len = 4096 * (1 + rndn(4));
			}
			q->req.oid = objname[i];
			q->req.snapc = m.ctx;
			q->req.snapid = PC_SNAP_HEAD;
			if (kind < 45) {	/* write, 1 to 3 iovecs */
				int niov = 1 + (int)rndn(3);
				uint64_t left = len, pos = 0;
				unsigned char fill = (unsigned char)(1 + rndn(255));

				q->buf = malloc(len);
				for (uint64_t x = 0; x < len; x++)
					q->buf[x] = (unsigned char)(fill + x * 7 + (x >> 9));
				for (int v = 0; v < niov; v++) {
					uint64_t l = v == niov - 1 ? left : rndn(left + 1);

					q->iov[v].iov_base = q->buf + pos;
					q->iov[v].iov_len = l;
					pos += l;
					left -= l;
				}
				q->req.op = PC_OBJ_WRITE;
				q->req.off = off;
				q->req.len = len;
				q->req.iov = q->iov;
				q->req.iovcnt = niov;
				model_write(mo, off, q->buf, len);
				q->want = 0;
			} else if (kind < 55) {
				q->req.op = PC_OBJ_ZERO;
				q->req.off = off;
				q->req.len = len;
				model_zero(mo, off, len);
				q->want = 0;
			} else if (kind < 63) {
				q->req.op = PC_OBJ_TRUNCATE;
				q->req.off = rndn(80 * KiB);
				model_truncate(mo, q->req.off);
				q->want = 0;
			} else if (kind < 68) {
				q->req.op = PC_OBJ_REMOVE;
				q->want = model_remove(mo);
			} else if (kind < 90) {
				q->req.op = PC_OBJ_READ;
				if (off + len > MAXSZ)
					len = MAXSZ - off;
				q->buf = malloc(len);
				memset(q->buf, 0x5a, len);
				q->iov[0].iov_base = q->buf;
				q->iov[0].iov_len = len;
				q->req.off = off;
				q->req.len = len;
				q->req.iov = q->iov;
				q->req.iovcnt = 1;
				q->want_data = malloc(len);
				memcpy(q->want_data, mo->data + off, len);
				q->want = !mo->exists || off >= mo->size ? 0 :
					  (int64_t)(mo->size - off < len ? mo->size - off : len);
			} else {
				q->req.op = PC_OBJ_STAT;
				q->want = mo->exists ? 0 : -ENOENT;
				q->want_size = mo->size;
			}
			int r = batch_submit(os, &b, &q->req);

			if (r < 0)
				FAIL("batch %d req %d: submit returned %d", bi, k, r);
			nops++;
		}
		batch_wait(&b);
		for (int k = 0; k < n; k++) {
			struct mreq *q = &rq[k];

			if (q->req.result != q->want)
				FAIL("batch %d req %d (op %d %s off %" PRIu64 " len %" PRIu64
				     "): result %" PRId64 ", model %" PRId64,
				     bi, k, q->req.op, q->req.oid, q->req.off, q->req.len, q->req.result,
				     q->want);
			if (q->req.op == PC_OBJ_READ &&
			    memcmp(q->buf, q->want_data, q->req.len) != 0)
				FAIL("batch %d req %d: read of %s at %" PRIu64 "+%" PRIu64
				     " differs from the model",
				     bi, k, q->req.oid, q->req.off, q->req.len);
			if (q->req.op == PC_OBJ_STAT && q->want == 0 && q->req.size != q->want_size)
				FAIL("batch %d req %d: stat size %" PRIu64 ", model %" PRIu64, bi, k,
				     q->req.size, q->want_size);
			free(q->buf);
			free(q->want_data);
		}
		free(rq);

		/* snapshots: take one (a new context), or remove one */
		snap_step(os, (unsigned)rndn(100), &m);
		for (int k = 0; k < m.nretired; k++)
			pc_snap_context_put(m.retired[k]);
		m.nretired = 0;
		if (bi % 10 == 9 || bi == nbatch - 1) {
			for (int i = 0; i < NOBJ; i++) {
				check_object(os, i, PC_SNAP_HEAD, &head->o[i], scratch);
				for (int k = 0; k < m.nsnaps; k++)
					check_object(os, i, snaps[k].id, &snaps[k].st->o[i], scratch);
			}
			nchecks++;
		}
	}
	/* for the rados CLI: the expected head of each object, and its size at
	 * each live snapshot (-1: did not exist) */
	for (int i = 0; i < NOBJ; i++) {
		char path[512];
		FILE *f;

		printf("head %s %lld\n", objname[i],
		       head->o[i].exists ? (long long)head->o[i].size : -1LL);
		for (int k = 0; k < m.nsnaps; k++)
			printf("expect %s %" PRIu64 " %lld\n", objname[i], snaps[k].id,
			       snaps[k].st->o[i].exists ? (long long)snaps[k].st->o[i].size : -1LL);
		if (!head->o[i].exists)
			continue;
		snprintf(path, sizeof(path), "%s/%s", outdir, objname[i]);
		f = fopen(path, "wb");
		if (!f || fwrite(head->o[i].data, 1, head->o[i].size, f) != head->o[i].size) {
			FAIL("cannot write %s", path);
		}
		if (f)
			fclose(f);
	}
	printf("ops %ld\nsnaps_created %ld\nsnaps_removed %ld\nsnap_steps_mid_batch %ld\n"
	       "live_snaps %d\nfull_checks %ld\n",
	       nops, m.created, m.removed, midbatch, m.nsnaps, nchecks);
	printf("seconds %.2f\n", now() - t0);
	pc_snap_context_put(m.ctx);
	for (int k = 0; k < m.nsnaps; k++)
		free(snaps[k].st);
	free(head);
	free(scratch);
	pc_objstore_close(os);
	printf("failures %d\n", failures);
	return failures ? 1 : 0;
}

/* ================================================================ threads */

#define TOBJ_SIZE (64 * KiB)
#define T_INFLIGHT 8

static struct pc_snap_context *_Atomic cur_ctx;
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop_threads;
static atomic_long t_ops, t_errors;

static struct pc_snap_context *ctx_grab(void)
{
	struct pc_snap_context *c;

	pthread_mutex_lock(&ctx_lock);
	c = pc_snap_context_get(cur_ctx);
	pthread_mutex_unlock(&ctx_lock);
	return c;
}

struct tslot {
	struct pc_obj_req req;
	struct iovec iov;
	struct pc_snap_context *ctx;
	unsigned char buf[4096];
};

struct targ {
	struct pc_objstore *os;
	int id;
	uint64_t seed;
	unsigned char model[2][TOBJ_SIZE];
};

static void *writer(void *p)
{
	struct targ *t = p;
	struct tslot *slots = calloc(T_INFLIGHT, sizeof(*slots));
	struct batch b;
	char names[2][64];
	uint64_t st = t->seed;

	batch_init(&b);
	for (int i = 0; i < 2; i++)
		snprintf(names[i], sizeof(names[i]), "thr.%d.%d", t->id, i);
	while (!atomic_load(&stop_threads)) {
		for (int s = 0; s < T_INFLIGHT; s++) {
			struct tslot *sl = &slots[s];
			int o;
			uint64_t off;

			st = st * 6364136223846793005ULL + 1442695040888963407ULL;
			o = (int)((st >> 33) & 1);
			off = ((st >> 40) % (TOBJ_SIZE / 4096)) * 4096;
			memset(sl->buf, (int)((st >> 20) & 0xff), sizeof(sl->buf));
			memcpy(t->model[o] + off, sl->buf, 4096);
			sl->iov.iov_base = sl->buf;
			sl->iov.iov_len = 4096;
			sl->ctx = ctx_grab();
			memset(&sl->req, 0, sizeof(sl->req));
			sl->req.op = PC_OBJ_WRITE;
			sl->req.oid = names[o];
			sl->req.off = off;
			sl->req.len = 4096;
			sl->req.iov = &sl->iov;
			sl->req.iovcnt = 1;
			sl->req.snapc = sl->ctx;
			if (batch_submit(t->os, &b, &sl->req) < 0)
				atomic_fetch_add(&t_errors, 1);
		}
		batch_wait(&b);
		for (int s = 0; s < T_INFLIGHT; s++) {
			if (slots[s].req.result != 0) {
				printf("FAIL thread %d: write returned %" PRId64 "\n", t->id,
				       slots[s].req.result);
				atomic_fetch_add(&t_errors, 1);
			}
			pc_snap_context_put(slots[s].ctx);
			atomic_fetch_add(&t_ops, 1);
		}
	}
	free(slots);
	return NULL;
}

static int mode_threads(const char *pool, int nthreads, double secs)
{
	struct pc_objstore *os = open_store(pool, 0);
	struct targ *ta = calloc((size_t)nthreads, sizeof(*ta));
	pthread_t *th = calloc((size_t)nthreads, sizeof(*th));
	uint64_t snaps[64];
	int nsnaps = 0;
	unsigned char *buf = malloc(TOBJ_SIZE);
	double t0 = now();

	cur_ctx = pc_snap_context_alloc(0, NULL, 0);
	for (int i = 0; i < nthreads; i++) {
		char name[64];

		ta[i].os = os;
		ta[i].id = i;
		ta[i].seed = 1000 + (uint64_t)i;
		for (int o = 0; o < 2; o++) {	/* start from zeros */
			snprintf(name, sizeof(name), "thr.%d.%d", i, o);
			CHECK_EQ("initial write", do_write(os, name, ta[i].model[o], TOBJ_SIZE, 0, cur_ctx),
				 0);
		}
		pthread_create(&th[i], NULL, writer, &ta[i]);
	}
	/* meanwhile: snapshots, each a new context the writers pick up */
	while (now() - t0 < secs) {
		uint64_t id, ids[64];

		usleep(50000);
		if (nsnaps < 60 && os->ops->snap_create(os, &id) == 0) {
			snaps[nsnaps++] = id;
			for (int k = 0; k < nsnaps; k++)
				ids[k] = snaps[nsnaps - 1 - k];
			struct pc_snap_context *n = pc_snap_context_alloc(id, ids, (uint32_t)nsnaps);

			pthread_mutex_lock(&ctx_lock);
			struct pc_snap_context *old = cur_ctx;

			cur_ctx = n;
			pthread_mutex_unlock(&ctx_lock);
			pc_snap_context_put(old);
		}
	}
	atomic_store(&stop_threads, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ("flush", os->ops->flush(os), 0);
	for (int i = 0; i < nthreads; i++) {
		for (int o = 0; o < 2; o++) {
			char name[64];

			snprintf(name, sizeof(name), "thr.%d.%d", i, o);
			CHECK_EQ("read back", do_read(os, name, buf, TOBJ_SIZE, 0, PC_SNAP_HEAD),
				 TOBJ_SIZE);
			if (memcmp(buf, ta[i].model[o], TOBJ_SIZE) != 0)
				FAIL("thread %d object %d: head differs from what it wrote", i, o);
		}
	}
	printf("threads %d\nwrites %ld\nwrite_errors %ld\nsnaps %d\nseconds %.2f\n", nthreads,
	       atomic_load(&t_ops), atomic_load(&t_errors), nsnaps, now() - t0);
	if (atomic_load(&t_errors))
		failures++;
	for (int k = 0; k < nsnaps; k++)
		os->ops->snap_remove(os, snaps[k]);
	pc_snap_context_put(cur_ctx);
	pc_objstore_close(os);
	free(ta);
	free(th);
	free(buf);
	printf("failures %d\n", failures);
	return failures ? 1 : 0;
}

/* ================================================================ ordersnap */

static int mode_ordersnap(const char *pool)
{
	struct pc_objstore *os = open_store(pool, 0);
	uint64_t s1, s2, size;
	unsigned char buf[4096], back[4096];
	static const char *const names[] = { "write", "zero", "truncate", "remove" };

	CHECK_EQ("snap_create s1", os->ops->snap_create(os, &s1), 0);
	CHECK_EQ("snap_create s2", os->ops->snap_create(os, &s2), 0);
	uint64_t v2[2] = { s2, s1 };
	struct pc_snap_context *c1 = pc_snap_context_alloc(s1, &s1, 1);
	struct pc_snap_context *c2 = pc_snap_context_alloc(s2, v2, 2);

	for (int op = 0; op < 4; op++) {
		char oid[32];
		int64_t r = 0;

		snprintf(oid, sizeof(oid), "order.%s", names[op]);
		memset(buf, 'N', sizeof(buf));
		CHECK_EQ("newer context write", do_write(os, oid, buf, sizeof(buf), 0, c2), 0);
		memset(buf, 'O', sizeof(buf));
		switch (op) {
		case 0:
			r = do_write(os, oid, buf, sizeof(buf), 0, c1);
			break;
		case 1:
			r = do_op(os, PC_OBJ_ZERO, oid, 0, 100, c1, 0, NULL);
			break;
		case 2:
			r = do_op(os, PC_OBJ_TRUNCATE, oid, 10, 0, c1, 0, NULL);
			break;
		case 3:
			r = do_op(os, PC_OBJ_REMOVE, oid, 0, 0, c1, 0, NULL);
			break;
		}
		printf("ordersnap.%s %" PRId64 "\n", names[op], r);
		CHECK_EQ(names[op], r, -PC_EOLDSNAPC);
		/* and nothing happened to the object */
		CHECK_EQ("read after refused op", do_read(os, oid, back, sizeof(back), 0, PC_SNAP_HEAD),
			 4096);
		if (back[0] != 'N' || back[4095] != 'N')
			FAIL("%s: the refused op changed the object", names[op]);
		CHECK_EQ("stat", do_op(os, PC_OBJ_STAT, oid, 0, 0, NULL, PC_SNAP_HEAD, &size), 0);
		CHECK_EQ("size", size, 4096);
		/* the same context again (not older): fine */
		CHECK_EQ("same context", do_write(os, oid, buf, 1, 0, c2), 0);
		CHECK_EQ("remove", do_op(os, PC_OBJ_REMOVE, oid, 0, 0, c2, 0, NULL), 0);
	}
	/* an empty (NULL) context after a newer one is older too */
	CHECK_EQ("newer write", do_write(os, "order.null", buf, 10, 0, c2), 0);
	int64_t r = do_write(os, "order.null", buf, 10, 0, NULL);

	printf("ordersnap.null_ctx %" PRId64 "\n", r);
	CHECK_EQ("NULL context after a newer one", r, -PC_EOLDSNAPC);
	do_op(os, PC_OBJ_REMOVE, "order.null", 0, 0, c2, 0, NULL);
	CHECK_EQ("snap_remove s1", os->ops->snap_remove(os, s1), 0);
	CHECK_EQ("snap_remove s2", os->ops->snap_remove(os, s2), 0);
	pc_snap_context_put(c1);
	pc_snap_context_put(c2);
	pc_objstore_close(os);
	printf("failures %d\n", failures);
	return failures ? 1 : 0;
}

/* ================================================================ basic */

static int all_bytes(const unsigned char *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

static int mode_basic(const char *pool)
{
	struct pc_objstore *os = open_store(pool, 0);
	unsigned char buf[8192];
	uint64_t size = 0;
	int64_t r;

	printf("name %s\nmax_object_size %" PRIu64 "\nmax_write_size %" PRIu64 "\n", os->name,
	       os->max_object_size, os->max_write_size);
	CHECK_EQ("max_object_size", os->max_object_size, 128 * MiB);
	CHECK_EQ("max_write_size", os->max_write_size, 90 * MiB);

	/* a missing object reads as zeros */
	memset(buf, 0xee, sizeof(buf));
	r = do_read(os, "basic.missing", buf, sizeof(buf), 0, PC_SNAP_HEAD);
	printf("missing.read %" PRId64 "\n", r);
	CHECK_EQ("missing read", r, 0);
	if (!all_bytes(buf, sizeof(buf), 0))
		FAIL("missing object: not zero-filled");
	CHECK_EQ("missing stat", do_op(os, PC_OBJ_STAT, "basic.missing", 0, 0, NULL, PC_SNAP_HEAD,
				       NULL), -ENOENT);
	CHECK_EQ("missing remove", do_op(os, PC_OBJ_REMOVE, "basic.missing", 0, 0, NULL, 0, NULL),
		 -ENOENT);

	/* a short object: the bytes there are, zero-filled after */
	memset(buf, 's', 100);
	CHECK_EQ("short write", do_write(os, "basic.short", buf, 100, 0, NULL), 0);
	memset(buf, 0xee, sizeof(buf));
	r = do_read(os, "basic.short", buf, 4096, 0, PC_SNAP_HEAD);
	printf("short.read %" PRId64 "\n", r);
	CHECK_EQ("short read", r, 100);
	if (!all_bytes(buf, 100, 's') || !all_bytes(buf + 100, 4096 - 100, 0))
		FAIL("short read: data or zero-fill wrong");
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ("read past the end", do_read(os, "basic.short", buf, 4096, 200, PC_SNAP_HEAD), 0);
	if (!all_bytes(buf, 4096, 0))
		FAIL("read past the end: not zero-filled");
	/* a hole */
	CHECK_EQ("write at 8192", do_write(os, "basic.hole", "h", 1, 8192, NULL), 0);
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ("hole read", do_read(os, "basic.hole", buf, 4096, 0, PC_SNAP_HEAD), 4096);
	if (!all_bytes(buf, 4096, 0))
		FAIL("hole: not zero");
	CHECK_EQ("stat", do_op(os, PC_OBJ_STAT, "basic.hole", 0, 0, NULL, PC_SNAP_HEAD, &size), 0);
	CHECK_EQ("stat size", size, 8193);
	/* truncate creates the object */
	CHECK_EQ("truncate missing", do_op(os, PC_OBJ_TRUNCATE, "basic.trunc", 5000, 0, NULL, 0, NULL),
		 0);
	r = do_op(os, PC_OBJ_STAT, "basic.trunc", 0, 0, NULL, PC_SNAP_HEAD, &size);
	printf("truncate.created %" PRId64 " size %" PRIu64 "\n", r, size);
	CHECK_EQ("truncate created", r, 0);
	CHECK_EQ("truncate size", size, 5000);
	/* a zero-length write creates it too */
	CHECK_EQ("empty write", do_write(os, "basic.empty", buf, 0, 0, NULL), 0);
	CHECK_EQ("empty write created", do_op(os, PC_OBJ_STAT, "basic.empty", 0, 0, NULL,
					      PC_SNAP_HEAD, &size), 0);

	/* limits, refused before anything is sent */
	r = do_write(os, "basic.limit", "x", 1, os->max_object_size, NULL);
	printf("limit.write_past_max_object_size %" PRId64 "\n", r);
	CHECK_EQ("write past max_object_size", r, -EFBIG);
	r = do_op(os, PC_OBJ_TRUNCATE, "basic.limit", os->max_object_size + 1, 0, NULL, 0, NULL);
	printf("limit.truncate_past_max_object_size %" PRId64 "\n", r);
	CHECK_EQ("truncate past max_object_size", r, -EFBIG);
	{
		size_t big = os->max_write_size + 4096;
		unsigned char *p = calloc(1, big);	/* never touched: not sent */

		r = p ? do_write(os, "basic.limit", p, big, 0, NULL) : -ENOMEM;
		printf("limit.write_over_max_write_size %" PRId64 "\n", r);
		CHECK_EQ("write over max_write_size", r, -EMSGSIZE);
		free(p);
	}
	CHECK_EQ("nothing created by refused requests",
		 do_op(os, PC_OBJ_STAT, "basic.limit", 0, 0, NULL, PC_SNAP_HEAD, NULL), -ENOENT);

	/* bad requests: refused by submit, done never called */
	{
		struct pc_obj_req q = { .op = PC_OBJ_STAT, .oid = "bad name", .snapid = PC_SNAP_HEAD,
					.done = (pc_obj_done_t)abort };
		char longname[PC_OBJ_NAME_MAX + 2];

		CHECK_EQ("bad name", os->ops->submit(os, &q), -EINVAL);
		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = 0;
		q.oid = longname;
		CHECK_EQ("long name", os->ops->submit(os, &q), -EINVAL);
		q.oid = "";
		CHECK_EQ("empty name", os->ops->submit(os, &q), -EINVAL);
		q.oid = "ok";
		q.op = (enum pc_obj_op)99;
		CHECK_EQ("bad op", os->ops->submit(os, &q), -EINVAL);
		q.op = PC_OBJ_READ;
		q.len = 10;	/* no iov */
		CHECK_EQ("len without iov", os->ops->submit(os, &q), -EINVAL);
		/* a context whose snaps are not newest first */
		struct {
			struct pc_snap_context sc;
			uint64_t snaps[2];
		} bad = { .sc = { .seq = 9, .num_snaps = 2 }, .snaps = { 3, 7 } };
		struct iovec v = { buf, 1 };

		atomic_init(&bad.sc.nref, 1);
		q = (struct pc_obj_req){ .op = PC_OBJ_WRITE, .oid = "ok", .len = 1, .iov = &v,
					 .iovcnt = 1, .snapc = &bad.sc, .done = (pc_obj_done_t)abort };
		CHECK_EQ("unordered snap context", os->ops->submit(os, &q), -EINVAL);
	}
	/* the store's own figures */
	struct pc_objstore_statfs sf;

	r = os->ops->statfs(os, &sf);
	printf("statfs %" PRId64 " total %" PRIu64 " used %" PRIu64 " avail %" PRIu64
	       " objects %" PRIu64 "\n", r, sf.total, sf.used, sf.avail, sf.objects);
	CHECK_EQ("statfs", r, 0);
	CHECK_EQ("flush", os->ops->flush(os), 0);
	CHECK_EQ("snap_remove of an id never handed out", os->ops->snap_remove(os, 1u << 30),
		 -ENOENT);
	for (const char *const *n = (const char *const[]){ "basic.short", "basic.hole", "basic.trunc",
							    "basic.empty", NULL }; *n; n++)
		CHECK_EQ("remove", do_op(os, PC_OBJ_REMOVE, *n, 0, 0, NULL, 0, NULL), 0);
	pc_objstore_close(os);
	printf("failures %d\n", failures);
	return failures ? 1 : 0;
}

/* ================================================================ lock */

static int mode_lock(const char *pool, const char *cookie, int hold)
{
	struct pc_objstore *os = open_store(pool, 0);
	char why[1024] = "";
	int r = os->ops->lock(os, cookie, why, sizeof(why));

	printf("lock %d\nwhy %s\n", r, why);
	fflush(stdout);
	if (hold && r == 0) {
		char line[64];

		printf("locked\n");
		fflush(stdout);
		while (fgets(line, sizeof(line), stdin))
			;
	}
	if (r == 0) {
		int u = os->ops->unlock(os, cookie);

		printf("unlock %d\n", u);
		CHECK_EQ("unlock", u, 0);
		CHECK_EQ("unlock again", os->ops->unlock(os, cookie), -ENOENT);
	}
	pc_objstore_close(os);
	return failures ? 1 : 0;
}

/* ================================================================ open */

static int mode_open(const char *pool, const char *conf, unsigned mount_s)
{
	struct pc_objstore *os = NULL;
	char why[512] = "";
	struct pc_rados_opts o = { .conf = conf, .mount_timeout = mount_s, .why = why,
				   .whylen = sizeof(why) };
	double t0 = now();
	int r = pc_objstore_open_rados(pool, &o, &os);

	printf("open %d\nwhy %s\nms %.0f\n", r, why, (now() - t0) * 1e3);
	if (r == 0)
		pc_objstore_close(os);
	return 0;
}

/* ================================================================ full */

static int mode_full(const char *pool)
{
	struct pc_objstore *os = open_store(pool, 0);
	unsigned char buf[65536];
	char line[64];
	double t0;
	int64_t r;

	memset(buf, 'f', sizeof(buf));
	CHECK_EQ("prepare", do_write(os, "full.old", buf, sizeof(buf), 0, NULL), 0);
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 2;
	t0 = now();
	r = do_write(os, "full.new", buf, sizeof(buf), 0, NULL);
	printf("full.write_new %" PRId64 "\nfull.write_new_ms %.0f\n", r, (now() - t0) * 1e3);
	t0 = now();
	r = do_write(os, "full.old", buf, sizeof(buf), sizeof(buf), NULL);
	printf("full.extend %" PRId64 "\nfull.extend_ms %.0f\n", r, (now() - t0) * 1e3);
	t0 = now();
	r = do_op(os, PC_OBJ_TRUNCATE, "full.old", 100, 0, NULL, 0, NULL);
	printf("full.truncate %" PRId64 "\nfull.truncate_ms %.0f\n", r, (now() - t0) * 1e3);
	t0 = now();
	r = do_op(os, PC_OBJ_REMOVE, "full.old", 0, 0, NULL, 0, NULL);
	printf("full.remove %" PRId64 "\nfull.remove_ms %.0f\n", r, (now() - t0) * 1e3);
	fflush(stdout);
	pc_objstore_close(os);
	return 0;
}

/* ================================================================ osdkill */

struct kslot {
	struct pc_obj_req req;
	struct iovec iov;
	double t0;
	int busy;
};

static pthread_mutex_t k_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t k_cond = PTHREAD_COND_INITIALIZER;
static long k_ok, k_err, k_codes[256];
static double k_maxlat, k_first_err = -1, k_start;

static void k_done(struct pc_obj_req *req)
{
	struct kslot *s = req->private;
	double lat = now() - s->t0;

	pthread_mutex_lock(&k_lock);
	if (lat > k_maxlat)
		k_maxlat = lat;
	if (req->result == 0) {
		k_ok++;
	} else {
		k_err++;
		k_codes[(-req->result) & 255]++;
		if (k_first_err < 0)
			k_first_err = now() - k_start;
	}
	s->busy = 0;
	pthread_cond_broadcast(&k_cond);
	pthread_mutex_unlock(&k_lock);
}

static int mode_osdkill(const char *pool, unsigned op_timeout, double secs)
{
	struct pc_objstore *os = open_store(pool, op_timeout);
	enum { N = 32 };
	struct kslot *sl = calloc(N, sizeof(*sl));
	static unsigned char buf[64 * KiB];
	long submitted = 0, refused = 0;
	double t_end, t_close;
	int printed = 0;

	memset(buf, 'k', sizeof(buf));
	k_start = now();
	t_end = k_start + secs;
	pthread_mutex_lock(&k_lock);
	while (now() < t_end && k_err == 0) {
		for (int i = 0; i < N; i++) {
			char *oid;

			if (sl[i].busy)
				continue;
			if (!sl[i].req.oid) {
				oid = malloc(32);
				snprintf(oid, 32, "kill.%d", i);
				sl[i].req.oid = oid;
			}
			sl[i].iov = (struct iovec){ buf, sizeof(buf) };
			sl[i].req.op = PC_OBJ_WRITE;
			sl[i].req.off = (uint64_t)(submitted % 16) * sizeof(buf);
			sl[i].req.len = sizeof(buf);
			sl[i].req.iov = &sl[i].iov;
			sl[i].req.iovcnt = 1;
			sl[i].req.done = k_done;
			sl[i].req.private = &sl[i];
			sl[i].t0 = now();
			sl[i].busy = 1;
			pthread_mutex_unlock(&k_lock);
			int r = os->ops->submit(os, &sl[i].req);

			pthread_mutex_lock(&k_lock);
			if (r < 0) {
				sl[i].busy = 0;
				refused++;
			}
			submitted++;
		}
		if (!printed && submitted >= 4 * N) {
			printf("writing\n");
			fflush(stdout);
			printed = 1;
		}
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&k_cond, &k_lock, &ts);
	}
	/* stop submitting: everything in flight must complete */
	for (;;) {
		int busy = 0;

		for (int i = 0; i < N; i++)
			busy += sl[i].busy;
		if (!busy)
			break;
		pthread_cond_wait(&k_cond, &k_lock);
	}
	pthread_mutex_unlock(&k_lock);
	t_close = now();
	pc_objstore_close(os);
	printf("submitted %ld\nrefused %ld\nok %ld\nerrors %ld\n", submitted, refused, k_ok, k_err);
	for (int e = 1; e < 256; e++)
		if (k_codes[e])
			printf("error.%d %ld\n", -e, k_codes[e]);
	printf("max_latency_ms %.0f\nfirst_error_s %.2f\nclose_ms %.0f\ntotal_s %.2f\n",
	       k_maxlat * 1e3, k_first_err, (now() - t_close) * 1e3, now() - k_start);
	for (int i = 0; i < N; i++)
		free((char *)sl[i].req.oid);
	free(sl);
	return 0;
}

/* ================================================================ bench */

/* QD requests always in flight, as `rados bench -t QD` keeps them: a slot is
 * refilled as soon as its request completes. */
enum { B_QD = 16, B_BS = 4 * MiB };
static pthread_mutex_t b_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t b_cond = PTHREAD_COND_INITIALIZER;
static int b_free[B_QD], b_nfree;
static long b_bad;

static void b_done(struct pc_obj_req *req)
{
	pthread_mutex_lock(&b_lock);
	if (req->result != (req->op == PC_OBJ_READ ? B_BS : 0))
		b_bad++;
	b_free[b_nfree++] = (int)(intptr_t)req->private;
	pthread_cond_signal(&b_cond);
	pthread_mutex_unlock(&b_lock);
}

static int mode_bench(const char *pool, int mib)
{
	struct pc_objstore *os = open_store(pool, 0);
	int nobj = mib / 4;
	unsigned char *bufs = malloc((size_t)B_QD * B_BS);
	struct pc_obj_req *rq = calloc(B_QD, sizeof(*rq));
	struct iovec *iov = calloc(B_QD, sizeof(*iov));
	char (*names)[32] = calloc((size_t)nobj, 32);

	for (size_t i = 0; i < (size_t)B_QD * B_BS; i++)
		bufs[i] = (unsigned char)(i * 31 + (i >> 12));
	for (int i = 0; i < nobj; i++)
		snprintf(names[i], 32, "bench.%d.%d", (int)getpid(), i);
	for (int pass = 0; pass < 2; pass++) {
		double t0 = now();
		int next = 0;

		b_nfree = 0;
		for (int s = 0; s < B_QD; s++)
			b_free[b_nfree++] = s;
		pthread_mutex_lock(&b_lock);
		while (next < nobj || b_nfree < B_QD) {
			while (b_nfree == 0 || (next == nobj && b_nfree < B_QD))
				pthread_cond_wait(&b_cond, &b_lock);
			if (next == nobj)
				continue;
			int s = b_free[--b_nfree];

			pthread_mutex_unlock(&b_lock);
			iov[s] = (struct iovec){ bufs + (size_t)s * B_BS, B_BS };
			rq[s] = (struct pc_obj_req){ .op = pass ? PC_OBJ_READ : PC_OBJ_WRITE,
						     .oid = names[next++], .len = B_BS,
						     .iov = &iov[s], .iovcnt = 1, .snapid = PC_SNAP_HEAD,
						     .done = b_done, .private = (void *)(intptr_t)s };
			if (os->ops->submit(os, &rq[s]) < 0)
				FAIL("bench: submit refused");
			pthread_mutex_lock(&b_lock);
		}
		pthread_mutex_unlock(&b_lock);
		double dt = now() - t0;

		/* MB/s and MiB/s (`rados bench` prints MiB/s, labelled MB/sec) */
		printf("%s_MBps %.0f\n%s_MiBps %.0f\n%s_MiB %d\n%s_s %.3f\n",
		       pass ? "read" : "write", (double)nobj * B_BS / dt / 1e6,
		       pass ? "read" : "write", (double)nobj * B_BS / dt / MiB,
		       pass ? "read" : "write", nobj * 4, pass ? "read" : "write", dt);
	}
	if (b_bad)
		FAIL("bench: %ld requests failed", b_bad);
	for (int i = 0; i < nobj; i++)
		do_op(os, PC_OBJ_REMOVE, names[i], 0, 0, NULL, 0, NULL);
	pc_objstore_close(os);
	free(bufs);
	free(rq);
	free(iov);
	free(names);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(m, "model") && argc == 6)
		return mode_model(argv[2], strtoull(argv[3], NULL, 0), atoi(argv[4]), argv[5]);
	if (!strcmp(m, "threads") && argc == 5)
		return mode_threads(argv[2], atoi(argv[3]), atof(argv[4]));
	if (!strcmp(m, "ordersnap") && argc == 3)
		return mode_ordersnap(argv[2]);
	if (!strcmp(m, "basic") && argc == 3)
		return mode_basic(argv[2]);
	if (!strcmp(m, "lock-hold") && argc == 4)
		return mode_lock(argv[2], argv[3], 1);
	if (!strcmp(m, "lock-try") && argc == 4)
		return mode_lock(argv[2], argv[3], 0);
	if (!strcmp(m, "open") && argc >= 3 && argc <= 5)
		return mode_open(argv[2], argc > 3 && argv[3][0] ? argv[3] : NULL,
				 argc > 4 ? (unsigned)atoi(argv[4]) : 0);
	if (!strcmp(m, "full") && argc == 3)
		return mode_full(argv[2]);
	if (!strcmp(m, "osdkill") && argc == 5)
		return mode_osdkill(argv[2], (unsigned)atoi(argv[3]), atof(argv[4]));
	if (!strcmp(m, "bench") && argc == 4)
		return mode_bench(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: see the comment at the top of tests/ceph/test_rados_store.c\n");
	return 2;
}
