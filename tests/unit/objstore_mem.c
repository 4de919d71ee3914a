// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/objstore_mem.c - the in-memory object store of the objfs
 * tests (see objstore_mem.h).
 */
#include "objstore_mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEM_BUCKETS 4096

struct mem_obj {
	struct mem_obj *next;
	unsigned char *data;
	uint64_t size, cap;
	int64_t mtime_ns;
	char name[];
};

struct mem_qent {
	struct mem_qent *next;
	struct pc_obj_req *req;
};

struct mem_store {
	struct pc_objstore os;
	pthread_mutex_t lock;		/* objects, queue, stats */
	pthread_cond_t cond;
	struct mem_obj *buckets[MEM_BUCKETS];
	struct mem_qent *head, *tail;
	pthread_t worker;
	bool stop;
	long fail_in;			/* writes until the failing one (0: off) */
	long writes, reads;
	long sync_inode_writes;		/* PC_OBJ_F_SYNC WRITEs of "*.inode" */
	uint64_t max_write;
	char lock_holder[128];
};

static struct mem_store *MS(struct pc_objstore *os)
{
	return os->private;
}

static unsigned hash_name(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % MEM_BUCKETS;
}

static struct mem_obj **find_slot(struct mem_store *ms, const char *name)
{
	struct mem_obj **pp = &ms->buckets[hash_name(name)];

	while (*pp && strcmp((*pp)->name, name))
		pp = &(*pp)->next;
	return pp;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct mem_obj *get_obj(struct mem_store *ms, const char *name, bool create)
{
	struct mem_obj **pp = find_slot(ms, name), *o;

	if (*pp || !create)
		return *pp;
	o = calloc(1, sizeof(*o) + strlen(name) + 1);
	if (!o)
		return NULL;
	strcpy(o->name, name);
	*pp = o;
	return o;
}

static int obj_resize(struct mem_obj *o, uint64_t size)
{
	if (size > o->cap) {
		uint64_t cap = o->cap ? o->cap : 4096;
		unsigned char *d;

		while (cap < size)
			cap *= 2;
		d = realloc(o->data, cap);
		if (!d)
			return -ENOMEM;
		o->data = d;
		o->cap = cap;
	}
	if (size > o->size)
		memset(o->data + o->size, 0, size - o->size);
	o->size = size;
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > PC_OBJ_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Run @req with ms->lock held. */
static int64_t run_req(struct mem_store *ms, struct pc_obj_req *req)
{
	struct mem_obj *o, **pp;
	uint64_t off = req->off, len = req->len, done;
	int err;

	switch (req->op) {
	case PC_OBJ_READ:
		ms->reads++;
		o = get_obj(ms, req->oid, false);
		done = 0;
		for (int i = 0; i < req->iovcnt; i++) {
			uint64_t l = req->iov[i].iov_len, have = 0;

			if (o && off < o->size)
				have = o->size - off < l ? o->size - off : l;
			if (have)
				memcpy(req->iov[i].iov_base, o->data + off, have);
			memset((char *)req->iov[i].iov_base + have, 0, l - have);
			done += have;
			off += l;
		}
		return (int64_t)done;
	case PC_OBJ_WRITE:
		ms->writes++;
		if ((req->flags & PC_OBJ_F_SYNC) && strlen(req->oid) > 6 &&
		    !strcmp(req->oid + strlen(req->oid) - 6, ".inode"))
			ms->sync_inode_writes++;
		if (len > ms->max_write)
			ms->max_write = len;
		if (ms->fail_in && --ms->fail_in == 0)
			return -EIO;
		if (len > ms->os.max_write_size)
			return -EMSGSIZE;
		if (off + len > ms->os.max_object_size)
			return -EFBIG;
		o = get_obj(ms, req->oid, true);
		if (!o)
			return -ENOMEM;
		if (off + len > o->size && (err = obj_resize(o, off + len)))
			return err;
		for (int i = 0; i < req->iovcnt; i++) {
			memcpy(o->data + off, req->iov[i].iov_base, req->iov[i].iov_len);
			off += req->iov[i].iov_len;
		}
		o->mtime_ns = now_ns();
		return 0;
	case PC_OBJ_ZERO:
		o = get_obj(ms, req->oid, false);
		if (o && off < o->size)
			memset(o->data + off, 0, o->size - off < len ? o->size - off : len);
		return 0;
	case PC_OBJ_TRUNCATE:
		if (off > ms->os.max_object_size)
			return -EFBIG;
		o = get_obj(ms, req->oid, true);
		if (!o)
			return -ENOMEM;
		if ((err = obj_resize(o, off)))
			return err;
		o->mtime_ns = now_ns();
		return 0;
	case PC_OBJ_REMOVE:
		pp = find_slot(ms, req->oid);
		if (!*pp)
			return -ENOENT;
		o = *pp;
		*pp = o->next;
		free(o->data);
		free(o);
		return 0;
	case PC_OBJ_STAT:
		o = get_obj(ms, req->oid, false);
		if (!o)
			return -ENOENT;
		req->size = o->size;
		req->mtime_ns = o->mtime_ns;
		return 0;
	}
	return -EINVAL;
}

static void *worker(void *arg)
{
	struct mem_store *ms = arg;

	pthread_mutex_lock(&ms->lock);
	for (;;) {
		struct mem_qent *q = ms->head;
		struct pc_obj_req *req;

		if (!q) {
			if (ms->stop)
				break;
			pthread_cond_wait(&ms->cond, &ms->lock);
			continue;
		}
		ms->head = q->next;
		if (!ms->head)
			ms->tail = NULL;
		req = q->req;
		free(q);
		req->result = run_req(ms, req);
		pthread_mutex_unlock(&ms->lock);
		req->done(req);		/* may free req, may submit more */
		pthread_mutex_lock(&ms->lock);
	}
	pthread_mutex_unlock(&ms->lock);
	return NULL;
}

static int mem_submit(struct pc_objstore *os, struct pc_obj_req *req)
{
	struct mem_store *ms = MS(os);
	struct mem_qent *q;

	if (!req || !req->done || !name_ok(req->oid) || req->op < PC_OBJ_READ || req->op > PC_OBJ_STAT)
		return -EINVAL;
	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->req = req;
	q->next = NULL;
	pthread_mutex_lock(&ms->lock);
	if (ms->stop) {
		pthread_mutex_unlock(&ms->lock);
		free(q);
		return -ESHUTDOWN;
	}
	if (ms->tail)
		ms->tail->next = q;
	else
		ms->head = q;
	ms->tail = q;
	pthread_cond_signal(&ms->cond);
	pthread_mutex_unlock(&ms->lock);
	return 0;
}

static int mem_lock(struct pc_objstore *os, const char *cookie, char *why, size_t whylen)
{
	struct mem_store *ms = MS(os);
	int err = 0;

	pthread_mutex_lock(&ms->lock);
	if (ms->lock_holder[0]) {
		snprintf(why, whylen, "locked by %s", ms->lock_holder);
		err = -EBUSY;
	} else {
		snprintf(ms->lock_holder, sizeof(ms->lock_holder), "%s", cookie);
	}
	pthread_mutex_unlock(&ms->lock);
	return err;
}

static int mem_unlock(struct pc_objstore *os, const char *cookie)
{
	struct mem_store *ms = MS(os);
	int err = 0;

	pthread_mutex_lock(&ms->lock);
	if (strcmp(ms->lock_holder, cookie))
		err = -ENOENT;
	else
		ms->lock_holder[0] = '\0';
	pthread_mutex_unlock(&ms->lock);
	return err;
}

static int mem_flush(struct pc_objstore *os)
{
	(void)os;
	return 0;
}

static int mem_statfs(struct pc_objstore *os, struct pc_objstore_statfs *st)
{
	struct mem_store *ms = MS(os);

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&ms->lock);
	for (int b = 0; b < MEM_BUCKETS; b++)
		for (struct mem_obj *o = ms->buckets[b]; o; o = o->next) {
			st->objects++;
			st->used += o->size;
		}
	pthread_mutex_unlock(&ms->lock);
	st->total = (uint64_t)1 << 34;
	st->avail = st->total - st->used;
	return 0;
}

static void mem_close(struct pc_objstore *os)
{
	struct mem_store *ms = MS(os);

	pthread_mutex_lock(&ms->lock);
	ms->stop = true;
	pthread_cond_signal(&ms->cond);
	pthread_mutex_unlock(&ms->lock);
	pthread_join(ms->worker, NULL);
	for (int b = 0; b < MEM_BUCKETS; b++) {
		struct mem_obj *o = ms->buckets[b], *n;

		for (; o; o = n) {
			n = o->next;
			free(o->data);
			free(o);
		}
	}
	pthread_cond_destroy(&ms->cond);
	pthread_mutex_destroy(&ms->lock);
	free(ms);
}

static const struct pc_objstore_ops mem_ops = {
	.submit = mem_submit,
	.lock = mem_lock,
	.unlock = mem_unlock,
	.flush = mem_flush,
	.statfs = mem_statfs,
	.close = mem_close,
};

struct pc_objstore *objstore_mem_create(void)
{
	struct mem_store *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return NULL;
	ms->os.ops = &mem_ops;
	ms->os.private = ms;
	ms->os.max_object_size = 128u << 20;
	ms->os.max_write_size = 90u << 20;
	snprintf(ms->os.name, sizeof(ms->os.name), "mem:%p", (void *)ms);
	pthread_mutex_init(&ms->lock, NULL);
	pthread_cond_init(&ms->cond, NULL);
	if (pthread_create(&ms->worker, NULL, worker, ms)) {
		pthread_cond_destroy(&ms->cond);
		pthread_mutex_destroy(&ms->lock);
		free(ms);
		return NULL;
	}
	return &ms->os;
}

size_t objstore_mem_count(struct pc_objstore *os, const char *prefix)
{
	struct mem_store *ms = MS(os);
	size_t n = 0, pl = prefix ? strlen(prefix) : 0;

	pthread_mutex_lock(&ms->lock);
	for (int b = 0; b < MEM_BUCKETS; b++)
		for (struct mem_obj *o = ms->buckets[b]; o; o = o->next)
			n += strncmp(o->name, prefix ? prefix : "", pl) == 0;
	pthread_mutex_unlock(&ms->lock);
	return n;
}

void objstore_mem_dump(struct pc_objstore *os)
{
	struct mem_store *ms = MS(os);

	pthread_mutex_lock(&ms->lock);
	for (int b = 0; b < MEM_BUCKETS; b++)
		for (struct mem_obj *o = ms->buckets[b]; o; o = o->next)
			fprintf(stderr, "  object %s: %llu bytes\n", o->name, (unsigned long long)o->size);
	pthread_mutex_unlock(&ms->lock);
}

void objstore_mem_fail_write(struct pc_objstore *os, long n)
{
	struct mem_store *ms = MS(os);

	pthread_mutex_lock(&ms->lock);
	ms->fail_in = n;
	pthread_mutex_unlock(&ms->lock);
}

void objstore_mem_write_stats(struct pc_objstore *os, long *writes, uint64_t *max_len)
{
	struct mem_store *ms = MS(os);

	pthread_mutex_lock(&ms->lock);
	*writes = ms->writes;
	*max_len = ms->max_write;
	pthread_mutex_unlock(&ms->lock);
}

void objstore_mem_reset_stats(struct pc_objstore *os)
{
	struct mem_store *ms = MS(os);

	pthread_mutex_lock(&ms->lock);
	ms->writes = 0;
	ms->sync_inode_writes = 0;
	ms->reads = 0;
	ms->max_write = 0;
	pthread_mutex_unlock(&ms->lock);
}

long objstore_mem_reads(struct pc_objstore *os)
{
	struct mem_store *ms = MS(os);
	long n;

	pthread_mutex_lock(&ms->lock);
	n = ms->reads;
	pthread_mutex_unlock(&ms->lock);
	return n;
}

void objstore_mem_set_max_write(struct pc_objstore *os, uint64_t bytes)
{
	struct mem_store *ms = MS(os);

	pthread_mutex_lock(&ms->lock);
	ms->os.max_write_size = bytes;
	pthread_mutex_unlock(&ms->lock);
}

long objstore_mem_sync_inode_writes(struct pc_objstore *os)
{
	struct mem_store *ms = MS(os);
	long n;

	pthread_mutex_lock(&ms->lock);
	n = ms->sync_inode_writes;
	pthread_mutex_unlock(&ms->lock);
	return n;
}
