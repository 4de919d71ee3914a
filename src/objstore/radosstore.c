// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Ceph RADOS object store (objstore.h: pc_objstore_open_rados), through
 * librados' C API. Built only with librados (PC_HAVE_RADOS).
 *
 * Design (the librados facts are measured by tests/ceph/rados_probe.c and
 * listed in docs/ceph.md):
 *
 * 1. Every request is one asynchronous librados operation: a write op
 *    (rados_aio_write_op_operate) for WRITE, ZERO, TRUNCATE and REMOVE, a
 *    read op (rados_aio_read_op_operate) for READ and STAT. Its completion
 *    callback (rados_aio_create_completion2) runs on librados' finisher
 *    thread, fills in req->result, releases the op and calls req->done.
 * 2. A write's snap context belongs to the ioctx and is captured when the
 *    aio is submitted, so each live write context gets an ioctx of its own
 *    (rados_ioctx_selfmanaged_snap_set_write_ctx), and each snap id read
 *    at gets one with rados_ioctx_snap_set_read. They live in a small
 *    cache (struct rados_ioc, under rs->lock), each with a count of the
 *    requests using it; idle ones beyond IOC_CACHE_MAX are destroyed, least
 *    recently used first, only ever by a submitting thread or close (never
 *    from a completion callback), after rados_aio_flush.
 * 3. Every data write, zero, truncate and remove carries
 *    LIBRADOS_OPERATION_ORDERSNAP (the OSD refuses an older context after
 *    a newer one with -EOLDSNAPC, passed on unchanged as -PC_EOLDSNAPC: it
 *    is an ordering bug above us) and LIBRADOS_OPERATION_FULL_TRY (a full
 *    pool answers -ENOSPC instead of holding the op until the timeout).
 * 4. Limits are checked before sending: a write ending past
 *    osd_max_object_size completes with -EFBIG, one larger than
 *    osd_max_write_size with -EMSGSIZE, as the OSD would answer.
 * 5. rs->inflight counts accepted requests whose done has not returned;
 *    close waits for it to reach zero before shutting the cluster down.
 *
 * Locking: rs->lock (a mutex) protects the ioctx cache, the counts and
 * rs->closing. It is never held across a librados call that waits for the
 * cluster, nor across req->done.
 */
#include "config.h"
#include "pagecache/objstore.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

/* Idle ioctxs kept for reuse (write contexts and read snaps together). */
#define IOC_CACHE_MAX 16

/* Ceph's own defaults, which mean "wait for ever" in practice. */
#define CEPH_MOUNT_TIMEOUT_DEFAULT 300.0

struct rados_ioc {
	struct rados_ioc *next;
	rados_ioctx_t io;
	bool read;		/* a read snap (else a write context) */
	uint64_t snapid;	/* read: the snap id */
	uint64_t seq;		/* write: the context */
	uint32_t num_snaps;
	uint64_t *snaps;
	int users;		/* requests in flight on it, and flush */
	uint64_t used;		/* rs->tick of the last use (LRU) */
};

struct rados_store {
	struct pc_objstore os;
	rados_t cl;
	rados_ioctx_t base;	/* head reads and stats, snaps, lock, statfs */
	char pool[256];
	pthread_mutex_t lock;
	pthread_cond_t idle;	/* inflight reached 0 */
	struct rados_ioc *iocs;
	unsigned nioc;
	uint64_t tick;
	long inflight;
	bool closing;
};

/* One request in flight. */
struct rados_aio {
	struct rados_store *rs;
	struct pc_obj_req *req;
	struct rados_ioc *ioc;	/* NULL: rs->base */
	rados_write_op_t wop;
	rados_read_op_t rop;
	uint64_t size;		/* STAT */
	time_t mtime;
	int prval;
	int next;		/* READ: extents */
	struct {
		size_t bytes;
		int rval;
	} ext[];
};

static inline struct rados_store *RS(struct pc_objstore *os)
{
	return os->private;
}

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static const char *errstr(int err, char *buf, size_t len)
{
	return strerror_r(err < 0 ? -err : err, buf, len);
}

/* What a librados error becomes for our callers (objstore.h's list). */
static int map_err(int r)
{
	switch (r) {
	case -ENOENT:
	case -EFBIG:
	case -EMSGSIZE:
	case -ENOSPC:
	case -ETIMEDOUT:
	case -PC_EOLDSNAPC:
	case -EINVAL:
	case -ENOMEM:
	case -EIO:
	case -EBUSY:
		return r;
	case -EDQUOT:		/* a pool quota: full as far as we can tell */
		return -ENOSPC;
	default:
		return -EIO;
	}
}

static bool valid_oid(const char *oid)
{
	size_t n = 0;

	if (!oid)
		return false;
	for (; oid[n]; n++) {
		char c = oid[n];

		if (n >= PC_OBJ_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* ------------------------------------------------------------ ioctx cache */

static void ioc_free(struct rados_ioc *ioc)
{
	if (!ioc)
		return;
	rados_aio_flush(ioc->io);
	rados_ioctx_destroy(ioc->io);
	free(ioc->snaps);
	free(ioc);
}

static bool ioc_matches(const struct rados_ioc *ioc, bool read, uint64_t snapid,
			const struct pc_snap_context *sc)
{
	if (ioc->read != read)
		return false;
	if (read)
		return ioc->snapid == snapid;
	if (!sc)
		return ioc->seq == 0 && ioc->num_snaps == 0;
	if (ioc->seq != sc->seq || ioc->num_snaps != sc->num_snaps)
		return false;
	return !sc->num_snaps || memcmp(ioc->snaps, sc->snaps, sc->num_snaps * sizeof(uint64_t)) == 0;
}

/* Unlink idle entries beyond IOC_CACHE_MAX (least recently used first)
 * onto *@victims, for the caller to ioc_free() once rs->lock is dropped.
 * Called with rs->lock held. */
static void ioc_trim_locked(struct rados_store *rs, struct rados_ioc **victims)
{
	while (rs->nioc > IOC_CACHE_MAX) {
		struct rados_ioc **pp, **oldest = NULL;

		for (pp = &rs->iocs; *pp; pp = &(*pp)->next) {
			if ((*pp)->users == 0 && (!oldest || (*pp)->used < (*oldest)->used))
				oldest = pp;
		}
		if (!oldest)
			return;
		struct rados_ioc *v = *oldest;

		*oldest = v->next;
		v->next = *victims;
		*victims = v;
		rs->nioc--;
	}
}

/*
 * ioc_get - the cached ioctx for reads at @snapid (@read) or for writes
 * with context @sc (NULL: the empty one), with a use taken; created if
 * missing. Called with rs->lock held; may add idle entries to *@victims.
 * Returns the entry, or NULL with *@err set (-ENOMEM, -EINVAL for a
 * context librados refuses, another librados error).
 */
static struct rados_ioc *ioc_get_locked(struct rados_store *rs, bool read, uint64_t snapid,
					const struct pc_snap_context *sc, struct rados_ioc **victims,
					int *err)
{
	struct rados_ioc *ioc;
	int r;

	for (ioc = rs->iocs; ioc; ioc = ioc->next) {
		if (ioc_matches(ioc, read, snapid, sc)) {
			ioc->users++;
			ioc->used = ++rs->tick;
			return ioc;
		}
	}
	ioc = calloc(1, sizeof(*ioc));
	if (!ioc) {
		*err = -ENOMEM;
		return NULL;
	}
	ioc->read = read;
	ioc->snapid = snapid;
	if (!read && sc && sc->num_snaps) {
		ioc->snaps = malloc(sc->num_snaps * sizeof(uint64_t));
		if (!ioc->snaps) {
			free(ioc);
			*err = -ENOMEM;
			return NULL;
		}
		memcpy(ioc->snaps, sc->snaps, sc->num_snaps * sizeof(uint64_t));
		ioc->num_snaps = sc->num_snaps;
	}
	if (!read && sc)
		ioc->seq = sc->seq;
	r = rados_ioctx_create(rs->cl, rs->pool, &ioc->io);
	if (r < 0) {
		free(ioc->snaps);
		free(ioc);
		*err = map_err(r);
		return NULL;
	}
	if (read) {
		rados_ioctx_snap_set_read(ioc->io, snapid);
	} else {
		r = rados_ioctx_selfmanaged_snap_set_write_ctx(ioc->io, ioc->seq,
							       (rados_snap_t *)ioc->snaps,
							       (int)ioc->num_snaps);
		if (r < 0) {
			rados_ioctx_destroy(ioc->io);
			free(ioc->snaps);
			free(ioc);
			*err = r == -EINVAL ? -EINVAL : map_err(r);
			return NULL;
		}
	}
	ioc->users = 1;
	ioc->used = ++rs->tick;
	ioc->next = rs->iocs;
	rs->iocs = ioc;
	rs->nioc++;
	ioc_trim_locked(rs, victims);
	return ioc;
}

static void free_victims(struct rados_ioc *v)
{
	while (v) {
		struct rados_ioc *next = v->next;

		ioc_free(v);
		v = next;
	}
}

/* ------------------------------------------------------------ requests */

static void aio_free(struct rados_aio *a)
{
	if (a->wop)
		rados_release_write_op(a->wop);
	if (a->rop)
		rados_release_read_op(a->rop);
	free(a);
}

static void zero_iov_from(const struct pc_obj_req *req, int i, size_t from)
{
	const struct iovec *v = &req->iov[i];

	if (from < v->iov_len)
		memset((char *)v->iov_base + from, 0, v->iov_len - from);
}

/* Fill in req->result from librados' return value @r. */
static void finish_req(struct rados_aio *a, int r)
{
	struct pc_obj_req *req = a->req;

	switch (req->op) {
	case PC_OBJ_READ:
		if (r == -ENOENT) {	/* a missing object (or snap) reads as zeros */
			for (int i = 0; i < req->iovcnt; i++)
				zero_iov_from(req, i, 0);
			req->result = 0;
		} else if (r < 0) {
			req->result = map_err(r);
		} else {
			uint64_t got = 0;
			int err = 0;
			int e = 0;

			for (int i = 0; i < req->iovcnt; i++) {
				if (!req->iov[i].iov_len)
					continue;
				if (a->ext[e].rval < 0 && !err)
					err = a->ext[e].rval;
				got += a->ext[e].bytes;
				zero_iov_from(req, i, a->ext[e].bytes);
				e++;
			}
			req->result = err ? map_err(err) : (int64_t)got;
		}
		break;
	case PC_OBJ_STAT:
		if (r >= 0 && a->prval < 0)
			r = a->prval;
		if (r >= 0) {
			req->size = a->size;
			req->mtime_ns = (int64_t)a->mtime * 1000000000;
			req->result = 0;
		} else {
			req->result = map_err(r);
		}
		break;
	default:
		req->result = r < 0 ? map_err(r) : 0;
		break;
	}
}

/* Called with the request's outcome, from the finisher thread or inline
 * from submit; @a is freed and req->done called. */
static void complete(struct rados_aio *a, int r)
{
	struct rados_store *rs = a->rs;
	struct rados_ioc *ioc = a->ioc;
	struct pc_obj_req *req = a->req;

	finish_req(a, r);
	aio_free(a);
	req->done(req);		/* may free req: not touched after this */
	pthread_mutex_lock(&rs->lock);
	if (ioc)
		ioc->users--;
	if (--rs->inflight == 0)
		pthread_cond_broadcast(&rs->idle);
	pthread_mutex_unlock(&rs->lock);
}

static void aio_cb(rados_completion_t c, void *arg)
{
	int r = rados_aio_get_return_value(c);

	rados_aio_release(c);
	complete(arg, r);
}

static bool req_valid(const struct rados_store *rs, const struct pc_obj_req *req)
{
	if (!req || !req->done || !valid_oid(req->oid))
		return false;
	switch (req->op) {
	case PC_OBJ_READ:
	case PC_OBJ_WRITE: {
		uint64_t sum = 0;

		if (req->iovcnt < 0 || (req->iovcnt && !req->iov))
			return false;
		for (int i = 0; i < req->iovcnt; i++) {
			if (req->iov[i].iov_len && !req->iov[i].iov_base)
				return false;
			sum += req->iov[i].iov_len;
		}
		if (sum != req->len || req->off + req->len < req->off)
			return false;
		break;
	}
	case PC_OBJ_ZERO:
		if (req->off + req->len < req->off)
			return false;
		break;
	case PC_OBJ_TRUNCATE:
	case PC_OBJ_REMOVE:
	case PC_OBJ_STAT:
		break;
	default:
		return false;
	}
	if (req->op == PC_OBJ_READ || req->op == PC_OBJ_STAT) {
		if (req->snapid == 0 || req->snapid > PC_SNAP_HEAD)
			return false;
	} else if (req->snapc) {
		const struct pc_snap_context *sc = req->snapc;

		for (uint32_t i = 0; i < sc->num_snaps; i++) {
			if (sc->snaps[i] > sc->seq || (i && sc->snaps[i] >= sc->snaps[i - 1]))
				return false;
		}
	}
	(void)rs;
	return true;
}

/* The result a request gets without being sent (the OSD's answer to it),
 * or 1 if it must be sent. */
static int local_result(const struct pc_objstore *os, const struct pc_obj_req *req)
{
	switch (req->op) {
	case PC_OBJ_WRITE:
		if (req->len && req->off + req->len > os->max_object_size)
			return -EFBIG;
		if (req->len > os->max_write_size)
			return -EMSGSIZE;
		break;
	case PC_OBJ_TRUNCATE:
		if (req->off > os->max_object_size)
			return -EFBIG;
		break;
	case PC_OBJ_ZERO:
		if (!req->len)
			return 0;
		break;
	default:
		break;
	}
	return 1;
}

static int rados_submit(struct pc_objstore *os, struct pc_obj_req *req)
{
	struct rados_store *rs = RS(os);
	struct rados_ioc *victims = NULL;
	rados_completion_t comp;
	struct rados_aio *a;
	int next = 0, r, local;
	bool rd;

	if (!req_valid(rs, req))
		return -EINVAL;
	rd = req->op == PC_OBJ_READ || req->op == PC_OBJ_STAT;
	if (req->op == PC_OBJ_READ)
		next = req->iovcnt;
	a = calloc(1, sizeof(*a) + (size_t)next * sizeof(a->ext[0]));
	if (!a)
		return -ENOMEM;
	a->rs = rs;
	a->req = req;

	pthread_mutex_lock(&rs->lock);
	if (rs->closing) {
		pthread_mutex_unlock(&rs->lock);
		free(a);
		return -ESHUTDOWN;
	}
	rs->inflight++;
	local = local_result(os, req);
	if (local <= 0) {
		pthread_mutex_unlock(&rs->lock);
		complete(a, local);
		return 0;
	}
	r = 0;
	if (!rd || req->snapid != PC_SNAP_HEAD)
		a->ioc = ioc_get_locked(rs, rd, req->snapid, req->snapc, &victims, &r);
	pthread_mutex_unlock(&rs->lock);
	free_victims(victims);
	if (r < 0) {
		complete(a, r);
		return 0;
	}

	rados_ioctx_t io = a->ioc ? a->ioc->io : rs->base;

	if (rd) {
		a->rop = rados_create_read_op();
		if (!a->rop)
			goto nomem;
		if (req->op == PC_OBJ_READ) {
			uint64_t off = req->off;
			int e = 0;

			for (int i = 0; i < req->iovcnt; i++) {
				size_t l = req->iov[i].iov_len;

				if (!l)
					continue;
				rados_read_op_read(a->rop, off, l, req->iov[i].iov_base, &a->ext[e].bytes,
						   &a->ext[e].rval);
				e++;
				off += l;
			}
			a->next = e;
			if (!e) {	/* nothing to read */
				complete(a, 0);
				return 0;
			}
		} else {
			rados_read_op_stat(a->rop, &a->size, &a->mtime, &a->prval);
		}
	} else {
		a->wop = rados_create_write_op();
		if (!a->wop)
			goto nomem;
		switch (req->op) {
		case PC_OBJ_WRITE: {
			uint64_t off = req->off;

			if (!req->len)
				rados_write_op_create(a->wop, LIBRADOS_CREATE_IDEMPOTENT, NULL);
			for (int i = 0; i < req->iovcnt; i++) {
				size_t l = req->iov[i].iov_len;

				if (!l)
					continue;
				rados_write_op_write(a->wop, req->iov[i].iov_base, l, off);
				off += l;
			}
			break;
		}
		case PC_OBJ_ZERO:
			rados_write_op_zero(a->wop, req->off, req->len);
			break;
		case PC_OBJ_TRUNCATE:
			/* RADOS truncates only objects that exist: create first */
			rados_write_op_create(a->wop, LIBRADOS_CREATE_IDEMPOTENT, NULL);
			rados_write_op_truncate(a->wop, req->off);
			break;
		case PC_OBJ_REMOVE:
			rados_write_op_remove(a->wop);
			break;
		default:
			break;
		}
	}
	r = rados_aio_create_completion2(a, aio_cb, &comp);
	if (r < 0)
		goto nomem;
	if (rd)
		r = rados_aio_read_op_operate(a->rop, io, comp, req->oid, 0);
	else
		r = rados_aio_write_op_operate(a->wop, io, comp, req->oid, NULL,
					       LIBRADOS_OPERATION_ORDERSNAP |
					       LIBRADOS_OPERATION_FULL_TRY);
	if (r < 0) {
		rados_aio_release(comp);
		complete(a, r);
	}
	return 0;

nomem:
	/* accepted already: report through done */
	complete(a, -ENOMEM);
	return 0;
}

/* ------------------------------------------------------------ snapshots */

static int rados_snap_create(struct pc_objstore *os, uint64_t *snapid)
{
	rados_snap_t id = 0;
	int r;

	if (!snapid)
		return -EINVAL;
	r = rados_ioctx_selfmanaged_snap_create(RS(os)->base, &id);
	if (r < 0)
		return map_err(r);
	*snapid = id;
	return 0;
}

static int rados_snap_remove(struct pc_objstore *os, uint64_t snapid)
{
	struct rados_store *rs = RS(os);
	struct rados_ioc *victim = NULL, **pp;
	int r;

	if (snapid == 0 || snapid >= PC_SNAP_HEAD)
		return -EINVAL;
	r = rados_ioctx_selfmanaged_snap_remove(rs->base, snapid);
	/* an id beyond the pool's snap seq: -ENOENT; on a pool that never had
	 * a self-managed snap: -EOPNOTSUPP (unknown as well); an id removed
	 * already: 0 (RADOS keeps no list of them we could check cheaply) */
	if (r == -EOPNOTSUPP)
		return -ENOENT;
	if (r < 0)
		return map_err(r);
	/* the read ioctx of that snap is of no more use */
	pthread_mutex_lock(&rs->lock);
	for (pp = &rs->iocs; *pp; pp = &(*pp)->next) {
		if ((*pp)->read && (*pp)->snapid == snapid && (*pp)->users == 0) {
			victim = *pp;
			*pp = victim->next;
			victim->next = NULL;
			rs->nioc--;
			break;
		}
	}
	pthread_mutex_unlock(&rs->lock);
	ioc_free(victim);
	return 0;
}

/* ------------------------------------------------------------ lock */

/* A message naming whoever holds the lock. */
static void describe_holder(struct rados_store *rs, const char *cookie, char *why, size_t whylen)
{
	char tag[256], clients[512], cookies[512], addrs[512];
	size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies), al = sizeof(addrs);
	int excl = 0;
	ssize_t n;

	n = rados_list_lockers(rs->base, PC_RADOS_LOCK_OBJECT, PC_RADOS_LOCK_NAME, &excl, tag, &tl,
			       clients, &cl, cookies, &kl, addrs, &al);
	if (n <= 0) {
		say(why, whylen, "rados:%s is locked by another client (lock %s on object %s)",
		    rs->pool, PC_RADOS_LOCK_NAME, PC_RADOS_LOCK_OBJECT);
		return;
	}
	say(why, whylen,
	    "rados:%s is locked by %s (cookie '%s', address %s): mounted elsewhere? "
	    "A stale lock of a client that is gone can be broken with: "
	    "rados -p %s lock break %s %s %s --lock-cookie '%s'",
	    rs->pool, clients, cookies, addrs, rs->pool, PC_RADOS_LOCK_OBJECT, PC_RADOS_LOCK_NAME,
	    clients, cookies);
	(void)cookie;
}

static int rados_lock(struct pc_objstore *os, const char *cookie, char *why, size_t whylen)
{
	struct rados_store *rs = RS(os);
	int r;

	if (!cookie || !*cookie)
		return -EINVAL;
	r = rados_lock_exclusive(rs->base, PC_RADOS_LOCK_OBJECT, PC_RADOS_LOCK_NAME, cookie,
				 "pagecache mount", NULL, 0);
	if (r == -EBUSY || r == -EEXIST) {
		describe_holder(rs, cookie, why, whylen);
		return -EBUSY;
	}
	if (r < 0) {
		char eb[64];

		say(why, whylen, "rados:%s: cannot take lock %s on %s: %s", rs->pool,
		    PC_RADOS_LOCK_NAME, PC_RADOS_LOCK_OBJECT, errstr(r, eb, sizeof(eb)));
		return map_err(r);
	}
	return 0;
}

static int rados_unlock_store(struct pc_objstore *os, const char *cookie)
{
	int r;

	if (!cookie)
		return -EINVAL;
	r = rados_unlock(RS(os)->base, PC_RADOS_LOCK_OBJECT, PC_RADOS_LOCK_NAME, cookie);
	return r < 0 ? (r == -ENOENT ? r : map_err(r)) : 0;
}

/* ------------------------------------------------------------ flush, statfs, close */

static int rados_flush(struct pc_objstore *os)
{
	struct rados_store *rs = RS(os);
	struct rados_ioc **held = NULL, *ioc;
	unsigned n = 0, i;

	bool nomem;

	pthread_mutex_lock(&rs->lock);
	if (rs->nioc)
		held = malloc(rs->nioc * sizeof(*held));
	nomem = rs->nioc && !held;
	for (ioc = rs->iocs; ioc && held; ioc = ioc->next) {
		if (!ioc->read) {
			ioc->users++;
			held[n++] = ioc;
		}
	}
	pthread_mutex_unlock(&rs->lock);
	if (nomem) {
		/* no memory for the list: wait for everything in flight */
		pthread_mutex_lock(&rs->lock);
		while (rs->inflight)
			pthread_cond_wait(&rs->idle, &rs->lock);
		pthread_mutex_unlock(&rs->lock);
		return 0;
	}
	for (i = 0; i < n; i++)
		rados_aio_flush(held[i]->io);
	rados_aio_flush(rs->base);
	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < n; i++)
		held[i]->users--;
	pthread_mutex_unlock(&rs->lock);
	free(held);
	return 0;
}

static int rados_statfs(struct pc_objstore *os, struct pc_objstore_statfs *st)
{
	struct rados_store *rs = RS(os);
	struct rados_cluster_stat_t cs;
	struct rados_pool_stat_t ps;
	int r;

	if (!st)
		return -EINVAL;
	r = rados_cluster_stat(rs->cl, &cs);
	if (r < 0)
		return map_err(r);
	r = rados_ioctx_pool_stat(rs->base, &ps);
	if (r < 0)
		return map_err(r);
	st->total = cs.kb * 1024;
	st->avail = cs.kb_avail * 1024;
	st->used = ps.num_bytes;
	st->objects = ps.num_objects;
	return 0;
}

static void rados_close(struct pc_objstore *os)
{
	struct rados_store *rs = RS(os);
	struct rados_ioc *ioc;

	pthread_mutex_lock(&rs->lock);
	rs->closing = true;
	while (rs->inflight)
		pthread_cond_wait(&rs->idle, &rs->lock);
	ioc = rs->iocs;
	rs->iocs = NULL;
	rs->nioc = 0;
	pthread_mutex_unlock(&rs->lock);
	free_victims(ioc);
	rados_aio_flush(rs->base);
	rados_ioctx_destroy(rs->base);
	rados_shutdown(rs->cl);
	pthread_cond_destroy(&rs->idle);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

static const struct pc_objstore_ops rados_ops = {
	.submit = rados_submit,
	.snap_create = rados_snap_create,
	.snap_remove = rados_snap_remove,
	.lock = rados_lock,
	.unlock = rados_unlock_store,
	.flush = rados_flush,
	.statfs = rados_statfs,
	.close = rados_close,
};

/* ------------------------------------------------------------ open */

static double conf_num(rados_t cl, const char *key, double dflt)
{
	char buf[64], *end;
	double v;

	if (rados_conf_get(cl, key, buf, sizeof(buf)) < 0)
		return dflt;
	v = strtod(buf, &end);
	return end == buf ? dflt : v;
}

static int conf_set_num(rados_t cl, const char *key, double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%g", v);
	return rados_conf_set(cl, key, buf);
}

/* The library does not print: keep librados' log off stderr. */
static void quiet(rados_t cl)
{
	rados_conf_set(cl, "log_to_stderr", "false");
	rados_conf_set(cl, "err_to_stderr", "false");
}

int pc_objstore_open_rados(const char *pool, const struct pc_rados_opts *uopts,
			   struct pc_objstore **osp)
{
	struct pc_rados_opts o = { 0 };
	struct rados_store *rs;
	char name[160], eb[64], mon[256];
	double mount_to, op_to;
	int r;

	if (uopts) {
		size_t sz = uopts->size ? uopts->size : sizeof(o);

		if (sz > sizeof(o)) {
			const unsigned char *extra = (const unsigned char *)uopts + sizeof(o);

			for (size_t i = 0; i < sz - sizeof(o); i++) {
				if (extra[i]) {
					say(uopts->why, uopts->whylen,
					    "rados:%s: options of a newer library (size %zu > %zu)",
					    pool ? pool : "?", sz, sizeof(o));
					return -E2BIG;
				}
			}
			sz = sizeof(o);
		}
		memcpy(&o, uopts, sz);
	}
	if (!pool || !*pool || strlen(pool) >= sizeof(rs->pool) || !osp) {
		say(o.why, o.whylen, "rados: %s", !osp ? "no place for the store" : "no pool name");
		return -EINVAL;
	}
	if (o.client && *o.client)
		snprintf(name, sizeof(name), "%s%s", strchr(o.client, '.') ? "" : "client.", o.client);
	else
		snprintf(name, sizeof(name), "client.admin");

	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		say(o.why, o.whylen, "rados:%s: out of memory", pool);
		return -ENOMEM;
	}
	strcpy(rs->pool, pool);
	r = rados_create2(&rs->cl, "ceph", name, 0);
	if (r < 0) {
		say(o.why, o.whylen, "rados:%s: cannot create a client %s: %s", pool, name,
		    errstr(r, eb, sizeof(eb)));
		free(rs);
		return r == -ENOMEM ? r : -EINVAL;
	}
	quiet(rs->cl);
	r = rados_conf_read_file(rs->cl, o.conf);
	if (r < 0 && (o.conf || getenv("CEPH_CONF"))) {
		const char *path = o.conf ? o.conf : getenv("CEPH_CONF");

		say(o.why, o.whylen, "rados:%s: cannot read the configuration %s: %s", pool, path,
		    errstr(r, eb, sizeof(eb)));
		r = r == -ENOENT ? -ENOENT : -EINVAL;
		goto out_shutdown;
	}
	r = rados_conf_parse_env(rs->cl, NULL);
	if (r < 0) {
		say(o.why, o.whylen, "rados:%s: bad CEPH_ARGS: %s", pool, errstr(r, eb, sizeof(eb)));
		r = -EINVAL;
		goto out_shutdown;
	}
	quiet(rs->cl);

	/* timeouts: ours unless the configuration chose one of its own */
	mount_to = o.mount_timeout;
	if (!mount_to) {
		mount_to = conf_num(rs->cl, "client_mount_timeout", CEPH_MOUNT_TIMEOUT_DEFAULT);
		if (mount_to == CEPH_MOUNT_TIMEOUT_DEFAULT || mount_to <= 0)
			mount_to = PC_RADOS_MOUNT_TIMEOUT_DEFAULT;
	}
	op_to = o.op_timeout;
	if (!op_to) {
		op_to = conf_num(rs->cl, "rados_osd_op_timeout", 0);
		if (op_to <= 0)
			op_to = PC_RADOS_OP_TIMEOUT_DEFAULT;
	}
	if (conf_set_num(rs->cl, "client_mount_timeout", mount_to) < 0 ||
	    conf_set_num(rs->cl, "rados_osd_op_timeout", op_to) < 0) {
		say(o.why, o.whylen, "rados:%s: cannot set the timeouts", pool);
		r = -EINVAL;
		goto out_shutdown;
	}
	if (o.op_timeout || conf_num(rs->cl, "rados_mon_op_timeout", 0) <= 0)
		conf_set_num(rs->cl, "rados_mon_op_timeout", op_to);

	/* Without mon_host librados looks the monitors up in DNS SRV records
	 * and, failing that, prints to stderr itself (MonMap::build_initial):
	 * the library must not print, so that lookup is not offered. */
	if (rados_conf_get(rs->cl, "mon_host", mon, sizeof(mon)) < 0 || !mon[0]) {
		say(o.why, o.whylen, "rados:%s: no monitors configured (mon_host) in %s", pool,
		    o.conf ? o.conf : getenv("CEPH_CONF") ? getenv("CEPH_CONF") :
		    "the default ceph.conf or CEPH_ARGS");
		r = -ENOENT;
		goto out_shutdown;
	}
	r = rados_connect(rs->cl);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			say(o.why, o.whylen,
			    "rados:%s: no answer from the cluster's monitors (mon_host %s) within %g s",
			    pool, mon, mount_to);
		else
			say(o.why, o.whylen, "rados:%s: cannot connect as %s (mon_host %s): %s", pool,
			    name, mon, errstr(r, eb, sizeof(eb)));
		goto out_shutdown;
	}
	r = rados_ioctx_create(rs->cl, pool, &rs->base);
	if (r < 0) {
		if (r == -ENOENT)
			say(o.why, o.whylen, "rados:%s: the cluster has no pool '%s'", pool, pool);
		else
			say(o.why, o.whylen, "rados:%s: cannot open the pool: %s", pool,
			    errstr(r, eb, sizeof(eb)));
		goto out_shutdown;
	}
	/* the OSDs' limits, as the configuration has them */
	rs->os.max_object_size = (uint64_t)conf_num(rs->cl, "osd_max_object_size", 128 << 20);
	rs->os.max_write_size = (uint64_t)conf_num(rs->cl, "osd_max_write_size", 90) << 20;
	if (!rs->os.max_object_size)
		rs->os.max_object_size = 128 << 20;
	if (!rs->os.max_write_size)
		rs->os.max_write_size = 90 << 20;

	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->idle, NULL);
	rs->os.ops = &rados_ops;
	rs->os.private = rs;
	snprintf(rs->os.name, sizeof(rs->os.name), "rados:%s", pool);
	*osp = &rs->os;
	return 0;

out_shutdown:
	rados_shutdown(rs->cl);
	free(rs);
	return r;
}
