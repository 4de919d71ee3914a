// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Generic object store helpers: run one request synchronously, close.
 */
#include "pagecache/objstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

struct exec_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void exec_done(struct pc_obj_req *req)
{
	struct exec_wait *w = req->private;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int64_t pc_objstore_exec(struct pc_objstore *os, struct pc_obj_req *req)
{
	struct exec_wait w = { .done = false };
	int ret;

	if (!os || !os->ops || !os->ops->submit || !req)
		return -EINVAL;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	req->done = exec_done;
	req->private = &w;
	ret = os->ops->submit(os, req);
	if (ret == 0) {
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return ret ? ret : req->result;
}

void pc_objstore_close(struct pc_objstore *os)
{
	if (os && os->ops && os->ops->close)
		os->ops->close(os);
}
