// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Object store wrappers built on struct pc_objstore_ops (objstore.h): an
 * ordering checker (the assertion RADOS makes with ORDERSNAP, for every
 * backend) and a fault injector (as pc_bdev_fault_wrap for block devices).
 * Both pass everything they do not intercept to the inner store and own it.
 */
#include "pagecache/objstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- pass-through members shared by both wrappers ---- */

struct wrap_common {
	struct pc_objstore os;
	struct pc_objstore *inner;
};

static struct pc_objstore *inner_of(struct pc_objstore *os)
{
	return ((struct wrap_common *)os->private)->inner;
}

static int wrap_snap_create(struct pc_objstore *os, uint64_t *snapid)
{
	struct pc_objstore *in = inner_of(os);

	return in->ops->snap_create ? in->ops->snap_create(in, snapid) : -EOPNOTSUPP;
}

static int wrap_snap_remove(struct pc_objstore *os, uint64_t snapid)
{
	struct pc_objstore *in = inner_of(os);

	return in->ops->snap_remove ? in->ops->snap_remove(in, snapid) : -EOPNOTSUPP;
}

static int wrap_lock(struct pc_objstore *os, const char *cookie, char *why, size_t whylen)
{
	struct pc_objstore *in = inner_of(os);

	return in->ops->lock ? in->ops->lock(in, cookie, why, whylen) : -EOPNOTSUPP;
}

static int wrap_unlock(struct pc_objstore *os, const char *cookie)
{
	struct pc_objstore *in = inner_of(os);

	return in->ops->unlock ? in->ops->unlock(in, cookie) : -EOPNOTSUPP;
}

static int wrap_flush(struct pc_objstore *os)
{
	struct pc_objstore *in = inner_of(os);

	return in->ops->flush ? in->ops->flush(in) : -EOPNOTSUPP;
}

static int wrap_statfs(struct pc_objstore *os, struct pc_objstore_statfs *st)
{
	struct pc_objstore *in = inner_of(os);

	return in->ops->statfs ? in->ops->statfs(in, st) : -EOPNOTSUPP;
}

static void wrap_init(struct wrap_common *w, struct pc_objstore *inner,
		      const struct pc_objstore_ops *ops, const char *what)
{
	w->inner = inner;
	w->os.ops = ops;
	w->os.private = w;
	w->os.max_object_size = inner->max_object_size;
	w->os.max_write_size = inner->max_write_size;
	snprintf(w->os.name, sizeof(w->os.name), "%s(%.100s)", what, inner->name);
}

static bool is_mutation(enum pc_obj_op op)
{
	return op == PC_OBJ_WRITE || op == PC_OBJ_ZERO || op == PC_OBJ_TRUNCATE ||
	       op == PC_OBJ_REMOVE;
}

static const char *op_name(enum pc_obj_op op)
{
	switch (op) {
	case PC_OBJ_READ: return "READ";
	case PC_OBJ_WRITE: return "WRITE";
	case PC_OBJ_ZERO: return "ZERO";
	case PC_OBJ_TRUNCATE: return "TRUNCATE";
	case PC_OBJ_REMOVE: return "REMOVE";
	case PC_OBJ_STAT: return "STAT";
	}
	return "?";
}

/* ---- the ordering checker ---- */

struct order_obj {
	struct order_obj *next;
	uint64_t seq;		/* newest context seq submitted for the object */
	enum pc_obj_op op;	/* the request that brought it */
	char oid[];
};

struct order_wrap {
	struct wrap_common c;
	pthread_mutex_t lock;
	struct order_obj **table;
	size_t nbuckets, nobjs;
	unsigned long violations;
	char first[256];
};

static const struct pc_objstore_ops order_ops;

static size_t oid_hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void order_grow(struct order_wrap *ow)
{
	size_t nb = ow->nbuckets * 2;
	struct order_obj **t = calloc(nb, sizeof(*t));

	if (!t)
		return;	/* keep the longer chains */
	for (size_t i = 0; i < ow->nbuckets; i++) {
		struct order_obj *o = ow->table[i], *next;

		for (; o; o = next) {
			next = o->next;
			o->next = t[oid_hash(o->oid) % nb];
			t[oid_hash(o->oid) % nb] = o;
		}
	}
	free(ow->table);
	ow->table = t;
	ow->nbuckets = nb;
}

static int order_submit(struct pc_objstore *os, struct pc_obj_req *req)
{
	struct order_wrap *ow = os->private;
	struct pc_objstore *in = ow->c.inner;
	struct order_obj *o;
	uint64_t seq, old_seq = 0;
	enum pc_obj_op old_op = 0;
	bool fresh = false;
	size_t b;
	int err;

	if (!req || !req->oid || !req->done)
		return -EINVAL;
	if (!is_mutation(req->op))
		return in->ops->submit(in, req);
	seq = req->snapc ? req->snapc->seq : 0;
	pthread_mutex_lock(&ow->lock);
	b = oid_hash(req->oid) % ow->nbuckets;
	for (o = ow->table[b]; o; o = o->next)
		if (!strcmp(o->oid, req->oid))
			break;
	if (o && seq < o->seq) {
		if (!ow->violations++)
			snprintf(ow->first, sizeof(ow->first),
				 "object %.100s: %s with context seq %llu after %s with context seq %llu",
				 req->oid, op_name(req->op), (unsigned long long)seq,
				 op_name(o->op), (unsigned long long)o->seq);
		pthread_mutex_unlock(&ow->lock);
		req->result = -PC_EOLDSNAPC;
		req->done(req);
		return 0;
	}
	if (!o) {
		size_t n = strlen(req->oid) + 1;

		o = malloc(sizeof(*o) + n);
		if (!o) {
			pthread_mutex_unlock(&ow->lock);
			return -ENOMEM;
		}
		memcpy(o->oid, req->oid, n);
		fresh = true;
		o->next = ow->table[b];
		ow->table[b] = o;
		if (++ow->nobjs > ow->nbuckets * 2)
			order_grow(ow);
	}
	if (!fresh) {
		old_seq = o->seq;
		old_op = o->op;
	}
	o->seq = seq;
	o->op = req->op;
	/* Not submitted under the lock: @in may block in submit until a
	 * completion runs (RADOS' throttle), and a completion may submit again.
	 * Two threads writing one object with different contexts at the same
	 * instant are unordered by their caller anyway. */
	pthread_mutex_unlock(&ow->lock);
	err = in->ops->submit(in, req);
	if (err) {
		/* refused (bad request, -ENOMEM): it never happened, forget it.
		 * The entry stays (entries are never freed before close). */
		pthread_mutex_lock(&ow->lock);
		for (o = ow->table[oid_hash(req->oid) % ow->nbuckets]; o; o = o->next)
			if (!strcmp(o->oid, req->oid))
				break;
		if (o && o->seq == seq && o->op == req->op) {
			o->seq = fresh ? 0 : old_seq;
			o->op = fresh ? PC_OBJ_WRITE : old_op;
		}
		pthread_mutex_unlock(&ow->lock);
	}
	return err;
}

static void order_close(struct pc_objstore *os)
{
	struct order_wrap *ow = os->private;

	pc_objstore_close(ow->c.inner);
	for (size_t i = 0; i < ow->nbuckets; i++) {
		struct order_obj *o = ow->table[i], *next;

		for (; o; o = next) {
			next = o->next;
			free(o);
		}
	}
	free(ow->table);
	pthread_mutex_destroy(&ow->lock);
	free(ow);
}

static const struct pc_objstore_ops order_ops = {
	.submit = order_submit,
	.snap_create = wrap_snap_create,
	.snap_remove = wrap_snap_remove,
	.lock = wrap_lock,
	.unlock = wrap_unlock,
	.flush = wrap_flush,
	.statfs = wrap_statfs,
	.close = order_close,
};

int pc_objstore_order_check_wrap(struct pc_objstore *inner, struct pc_objstore **out)
{
	struct order_wrap *ow;

	if (!inner || !inner->ops || !inner->ops->submit || !out)
		return -EINVAL;
	ow = calloc(1, sizeof(*ow));
	if (!ow)
		return -ENOMEM;
	ow->nbuckets = 256;
	ow->table = calloc(ow->nbuckets, sizeof(*ow->table));
	if (!ow->table) {
		free(ow);
		return -ENOMEM;
	}
	pthread_mutex_init(&ow->lock, NULL);
	wrap_init(&ow->c, inner, &order_ops, "order");
	*out = &ow->c.os;
	return 0;
}

unsigned long pc_objstore_order_violations(struct pc_objstore *wrap, char *buf, size_t len)
{
	struct order_wrap *ow;
	unsigned long n;

	if (buf && len)
		buf[0] = '\0';
	if (!wrap || wrap->ops != &order_ops)
		return 0;
	ow = wrap->private;
	pthread_mutex_lock(&ow->lock);
	n = ow->violations;
	if (buf && len)
		snprintf(buf, len, "%s", ow->first);
	pthread_mutex_unlock(&ow->lock);
	return n;
}

/* ---- the fault injector ---- */

struct fault_wrap {
	struct wrap_common c;
	pthread_mutex_t lock;
	int op;			/* 0: any mutation */
	unsigned long nth;	/* 0: disarmed; else requests left until the first fault */
	unsigned long count;	/* faults left once started */
	int err;
	unsigned long injected;
	_Atomic unsigned delay_us;
};

/* A delayed completion: the caller's done/private, put back before it runs. */
struct fault_shadow {
	pc_obj_done_t done;
	void *private;
	struct fault_wrap *fw;
};

static const struct pc_objstore_ops fault_ops;

static void fault_done(struct pc_obj_req *req)
{
	struct fault_shadow *sh = req->private;
	unsigned us = atomic_load(&sh->fw->delay_us);

	req->done = sh->done;
	req->private = sh->private;
	free(sh);
	if (us) {
		struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

		while (nanosleep(&ts, &ts))
			;
	}
	req->done(req);
}

static bool fault_matches(const struct fault_wrap *fw, enum pc_obj_op op)
{
	return fw->op ? (int)op == fw->op : is_mutation(op);
}

static int fault_submit(struct pc_objstore *os, struct pc_obj_req *req)
{
	struct fault_wrap *fw = os->private;
	struct pc_objstore *in = fw->c.inner;
	struct fault_shadow *sh;
	bool fail = false;
	int err = -EIO;

	if (!req || !req->done)
		return -EINVAL;
	pthread_mutex_lock(&fw->lock);
	if (fw->nth && fault_matches(fw, req->op)) {
		if (fw->nth > 1) {
			fw->nth--;
		} else {
			fail = true;
			err = fw->err;
			fw->injected++;
			if (fw->count != PC_OBJ_FAULT_FOREVER && --fw->count == 0)
				fw->nth = 0;
		}
	}
	pthread_mutex_unlock(&fw->lock);
	if (fail) {
		req->result = err;
		req->done(req);
		return 0;
	}
	if (!atomic_load(&fw->delay_us))
		return in->ops->submit(in, req);
	sh = malloc(sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->done = req->done;
	sh->private = req->private;
	sh->fw = fw;
	req->done = fault_done;
	req->private = sh;
	err = in->ops->submit(in, req);
	if (err) {
		req->done = sh->done;
		req->private = sh->private;
		free(sh);
	}
	return err;
}

static void fault_close(struct pc_objstore *os)
{
	struct fault_wrap *fw = os->private;

	pc_objstore_close(fw->c.inner);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
}

static const struct pc_objstore_ops fault_ops = {
	.submit = fault_submit,
	.snap_create = wrap_snap_create,
	.snap_remove = wrap_snap_remove,
	.lock = wrap_lock,
	.unlock = wrap_unlock,
	.flush = wrap_flush,
	.statfs = wrap_statfs,
	.close = fault_close,
};

int pc_objstore_fault_wrap(struct pc_objstore *inner, struct pc_objstore **out)
{
	struct fault_wrap *fw;

	if (!inner || !inner->ops || !inner->ops->submit || !out)
		return -EINVAL;
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	pthread_mutex_init(&fw->lock, NULL);
	wrap_init(&fw->c, inner, &fault_ops, "fault");
	*out = &fw->c.os;
	return 0;
}

int pc_objstore_fault_arm(struct pc_objstore *wrap, int op, unsigned long nth,
			  unsigned long count, int err)
{
	struct fault_wrap *fw;

	if (!wrap || wrap->ops != &fault_ops || op < 0 || op > PC_OBJ_STAT)
		return -EINVAL;
	fw = wrap->private;
	pthread_mutex_lock(&fw->lock);
	fw->op = op;
	fw->nth = nth;
	fw->count = count ? count : 1;
	fw->err = err < 0 ? err : -EIO;
	pthread_mutex_unlock(&fw->lock);
	return 0;
}

int pc_objstore_fault_delay(struct pc_objstore *wrap, unsigned usec)
{
	if (!wrap || wrap->ops != &fault_ops)
		return -EINVAL;
	atomic_store(&((struct fault_wrap *)wrap->private)->delay_us, usec);
	return 0;
}

unsigned long pc_objstore_fault_injected(struct pc_objstore *wrap)
{
	struct fault_wrap *fw;
	unsigned long n;

	if (!wrap || wrap->ops != &fault_ops)
		return 0;
	fw = wrap->private;
	pthread_mutex_lock(&fw->lock);
	n = fw->injected;
	pthread_mutex_unlock(&fw->lock);
	return n;
}
