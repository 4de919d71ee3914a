/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_snap.c - snapshot contexts and snapshot-ordered
 * writeback (src/snap, pagecache/snap.h).
 *
 * "snaptest" below is a small filesystem written only against
 * <pagecache/fs.h>, as objfs will be: regular files /f0../f7 whose data
 * goes, through the pc_snap_* a_ops helpers, to an in-memory object store
 * (objects of OBJ_PAGES pages) with RADOS' snapshot semantics: the first
 * write to an object under a context newer than its last one keeps a clone
 * for the context's snapshots newer than that; a read at a snap id finds
 * the clone (or the head). The store is also the ORDERING CHECKER: it
 * records, per object and per page, the seq of every write and counts a
 * write whose seq is older than one already applied there (what RADOS
 * would silently file under the newer context, or refuse with EOLDSNAPC
 * under ORDERSNAP). It can complete writes inline or on its own thread
 * (FIFO), and fail the Nth write.
 *
 * Every test compares what the store keeps for each snapshot, and the head,
 * with a model of what the file held when the snapshot was taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <pagecache/fs.h>

#define OBJ_PAGES 16
#define OBJ_BYTES (OBJ_PAGES * PC_PAGE_SIZE)
#define NFILES 8
#define NOBJ 80			/* objects per file: 5 MiB files at most */
#define FILE_PAGES (NOBJ * OBJ_PAGES)
#define MAXSNAP 64
#define ST_ROOT 1
#define ST_FIRST 2		/* /f0 is inode 2 */

/* ---------------- the object store and ordering checker ---------------- */

struct st_clone {
	uint64_t snaps[MAXSNAP];
	unsigned n;
	uint8_t *data;		/* NULL: the object did not exist (zeros) */
};

struct st_obj {
	uint64_t seq;		/* newest seq written with */
	uint8_t *head;		/* NULL: never written (zeros) */
	struct st_clone *clones;
	unsigned nclones;
};

struct st_store {
	pthread_mutex_t lock;
	struct st_obj objs[NFILES][NOBJ];
	uint64_t page_seq[NFILES][FILE_PAGES];
	long obj_violations;	/* older-seq write after a newer one, per object */
	long page_violations;	/* same, per page range */
	long boundary_violations; /* a run crossing an object */
	long writes;		/* write requests seen */
	long fail_at;		/* fail write number fail_at (0: none) */
	long failed;
	unsigned wsize_pages;	/* max_pages cap (0: the object) */
	/* asynchronous completion */
	bool async;
	bool stop;
	bool paused;		/* the async thread holds requests */
	pthread_t thread;
	pthread_cond_t cond;
	struct pc_snap_write *queue[4096];
	unsigned qhead, qtail;
};

static struct st_store S;

/* The object @o is about to change under @snapc: RADOS' make_writeable. */
static void obj_prepare(unsigned f, unsigned objno, const struct pc_snap_context *snapc)
{
	struct st_obj *o = &S.objs[f][objno];

	if (snapc->seq < o->seq) {
		S.obj_violations++;
		return;		/* RADOS without ORDERSNAP: head changes, no clone */
	}
	if (snapc->seq > o->seq) {
		struct st_clone c = { .n = 0 };

		for (uint32_t i = 0; i < snapc->num_snaps; i++)
			if (snapc->snaps[i] > o->seq && c.n < MAXSNAP)
				c.snaps[c.n++] = snapc->snaps[i];
		if (c.n) {
			if (o->head) {
				c.data = malloc(OBJ_BYTES);
				assert_non_null(c.data);
				memcpy(c.data, o->head, OBJ_BYTES);
			}
			o->clones = realloc(o->clones, (o->nclones + 1) * sizeof(c));
			assert_non_null(o->clones);
			o->clones[o->nclones++] = c;
		}
		o->seq = snapc->seq;
	}
	if (!o->head) {
		o->head = calloc(1, OBJ_BYTES);
		assert_non_null(o->head);
	}
}

/* Apply @len bytes of @pages at @pos of file @f with @snapc. S.lock held. */
static void store_write(unsigned f, int64_t pos, size_t len, struct pc_page **pages,
			const struct pc_snap_context *snapc)
{
	unsigned objno = pos / OBJ_BYTES;

	if ((pos + (int64_t)len - 1) / OBJ_BYTES != objno)
		S.boundary_violations++;
	for (size_t done = 0, i = 0; done < len; i++) {
		pc_pgoff_t idx = (pos + done) >> PC_PAGE_SHIFT;
		size_t n = PC_MIN(PC_PAGE_SIZE, len - done);

		if (snapc->seq < S.page_seq[f][idx])
			S.page_violations++;
		else
			S.page_seq[f][idx] = snapc->seq;
		done += n;
		(void)i;
	}
	obj_prepare(f, objno, snapc);
	for (size_t done = 0, i = 0; done < len; i++) {
		size_t n = PC_MIN(PC_PAGE_SIZE, len - done);
		memcpy(S.objs[f][objno].head + (pos + done) % OBJ_BYTES, pc_page_address(pages[i]), n);
		done += n;
	}
}

/* Truncate file @f's objects to @size with @snapc (zeroes past it). */
static void store_truncate(unsigned f, int64_t size, const struct pc_snap_context *snapc)
{
	pthread_mutex_lock(&S.lock);
	for (unsigned objno = 0; objno < NOBJ; objno++) {
		struct st_obj *o = &S.objs[f][objno];
		int64_t start = (int64_t)objno * OBJ_BYTES;

		if (!o->head || start + (int64_t)OBJ_BYTES <= size)
			continue;
		obj_prepare(f, objno, snapc);
		int64_t from = size > start ? size - start : 0;
		memset(o->head + from, 0, OBJ_BYTES - from);
	}
	pthread_mutex_unlock(&S.lock);
}

/* Read @len bytes of file @f at @off as of @snapid (PC_SNAP_HEAD: now). */
static void store_read(unsigned f, uint64_t snapid, int64_t off, void *buf, size_t len)
{
	pthread_mutex_lock(&S.lock);
	for (size_t done = 0; done < len;) {
		int64_t p = off + done;
		struct st_obj *o = &S.objs[f][p / OBJ_BYTES];
		size_t in = p % OBJ_BYTES, n = PC_MIN(len - done, OBJ_BYTES - in);
		const uint8_t *src = o->head;

		if (snapid != PC_SNAP_HEAD) {
			for (unsigned c = 0; c < o->nclones; c++)
				for (unsigned k = 0; k < o->clones[c].n; k++)
					if (o->clones[c].snaps[k] == snapid) {
						src = o->clones[c].data;
						goto found;
					}
		}
found:
		if (src)
			memcpy((char *)buf + done, src + in, n);
		else
			memset((char *)buf + done, 0, n);
		done += n;
	}
	pthread_mutex_unlock(&S.lock);
}

static void do_write(struct pc_snap_write *req)
{
	unsigned f = req->si->inode->i_ino - ST_FIRST;
	bool fail;

	pthread_mutex_lock(&S.lock);
	fail = S.fail_at && ++S.writes == S.fail_at;
	if (!S.fail_at)
		S.writes++;
	if (fail)
		S.failed++;
	else
		store_write(f, req->pos, req->len, req->pages, req->snapc);
	pthread_mutex_unlock(&S.lock);
	pc_snap_write_done(req, fail ? -EIO : 0);
}

static void *store_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&S.lock);
	for (;;) {
		while ((S.qhead == S.qtail || S.paused) && !S.stop)
			pthread_cond_wait(&S.cond, &S.lock);
		if (S.qhead == S.qtail)
			break;
		struct pc_snap_write *req = S.queue[S.qhead++ % 4096];
		pthread_mutex_unlock(&S.lock);
		do_write(req);
		pthread_mutex_lock(&S.lock);
	}
	pthread_mutex_unlock(&S.lock);
	return NULL;
}

static int st_write_pages(struct pc_snap_inode *si, struct pc_snap_write *req)
{
	(void)si;
	if (!S.async) {
		do_write(req);
		return 0;
	}
	pthread_mutex_lock(&S.lock);
	assert_true(S.qtail - S.qhead < 4096);
	S.queue[S.qtail++ % 4096] = req;
	pthread_cond_signal(&S.cond);
	pthread_mutex_unlock(&S.lock);
	return 0;
}

static unsigned long st_max_pages(struct pc_snap_inode *si, pc_pgoff_t index)
{
	unsigned long n = OBJ_PAGES - index % OBJ_PAGES;

	(void)si;
	return S.wsize_pages ? PC_MIN(n, S.wsize_pages) : n;
}

static const struct pc_snap_inode_ops st_snap_ops = {
	.write_pages = st_write_pages,
	.max_pages = st_max_pages,
};

static void store_reset(bool async)
{
	for (unsigned f = 0; f < NFILES; f++)
		for (unsigned o = 0; o < NOBJ; o++) {
			struct st_obj *ob = &S.objs[f][o];
			for (unsigned c = 0; c < ob->nclones; c++)
				free(ob->clones[c].data);
			free(ob->clones);
			free(ob->head);
		}
	memset(&S, 0, sizeof(S));
	pthread_mutex_init(&S.lock, NULL);
	pthread_cond_init(&S.cond, NULL);
	S.async = async;
	if (async)
		assert_int_equal(pthread_create(&S.thread, NULL, store_thread, NULL), 0);
}

static void store_stop(void)
{
	if (!S.async)
		return;
	pthread_mutex_lock(&S.lock);
	S.stop = true;
	pthread_cond_signal(&S.cond);
	pthread_mutex_unlock(&S.lock);
	pthread_join(S.thread, NULL);
	S.async = false;
}

/* ---------------- the filesystem ---------------- */

struct st_inode {
	struct pc_inode vfs;
	struct pc_snap_inode si;
	bool si_live;
};

struct st_sb {
	struct pc_backing_dev bdi;
	struct pc_snap_realm realm;
	struct st_inode *files[NFILES];
};

static struct st_sb *T;		/* the mounted one */

static struct pc_inode *st_alloc_inode(struct pc_super_block *sb)
{
	struct st_inode *ti = calloc(1, sizeof(*ti));

	(void)sb;
	return ti ? &ti->vfs : NULL;
}

static void st_destroy_inode(struct pc_inode *inode)
{
	struct st_inode *ti = pc_container_of(inode, struct st_inode, vfs);

	if (ti->si_live) {
		pc_snap_inode_destroy(&ti->si);
		T->files[inode->i_ino - ST_FIRST] = NULL;
	}
	free(ti);
}

static int st_readpage(struct pc_file *file, struct pc_page *page)
{
	unsigned f = page->mapping->host->i_ino - ST_FIRST;

	(void)file;
	store_read(f, PC_SNAP_HEAD, (int64_t)page->index << PC_PAGE_SHIFT, pc_page_address(page),
		   PC_PAGE_SIZE);
	pc_SetPageUptodate(page);
	pc_unlock_page(page);
	return 0;
}

static const struct pc_address_space_operations st_aops = {
	.readpage = st_readpage,
	.writepage = pc_snap_writepage,
	.writepages = pc_snap_writepages,
	.set_page_dirty = pc_snap_set_page_dirty,
	.write_begin = pc_snap_write_begin,
	.write_end = pc_snap_write_end,
	.invalidatepage = pc_snap_invalidatepage,
	.releasepage = pc_snap_releasepage,
};

static int st_setattr(struct pc_inode *inode, const struct pc_iattr *attr)
{
	struct st_inode *ti = pc_container_of(inode, struct st_inode, vfs);

	if (attr->ia_valid & PC_ATTR_SIZE) {
		struct pc_snap_context *sc;
		int err;

		/* A snapshot taken from here on is ordered after the cut
		 * (pending). Snapshotted data past the cut belongs to its
		 * snapshot: write it first; dirty head data past the cut is
		 * dropped. */
		pc_snap_get_write(&ti->si);
		err = pc_snap_inode_flush_older(&ti->si);
		if (err) {
			pc_snap_put_write(&ti->si);
			return err;
		}
		/* A slow store: widen the windows a snapshot may fall in. */
		for (int i = 0; i < 20; i++)
			sched_yield();
		sc = pc_snap_inode_write_context(&ti->si);
		store_truncate(inode->i_ino - ST_FIRST, attr->ia_size, sc);
		pc_snap_context_put(sc);
		for (int i = 0; i < 20; i++)
			sched_yield();
		pc_truncate_setsize(inode, attr->ia_size);
		pc_snap_put_write(&ti->si);
	}
	pc_setattr_copy(inode, attr);
	return 0;
}

static const struct pc_inode_operations st_file_iops = { .setattr = st_setattr };
static const struct pc_file_operations st_fops = {
	.read_iter = pc_generic_file_read_iter,
	.write_iter = pc_generic_file_write_iter,
	.fsync = pc_generic_file_fsync,
};

static int st_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	(void)dir;
	if (len == 2 && name[0] == 'f' && name[1] >= '0' && name[1] < '0' + NFILES) {
		*ino = ST_FIRST + (name[1] - '0');
		return 0;
	}
	return -ENOENT;
}

static const struct pc_inode_operations st_dir_iops = { .lookup = st_lookup };
static const struct pc_file_operations st_dir_fops;

static int st_read_inode(struct pc_inode *inode)
{
	struct st_inode *ti = pc_container_of(inode, struct st_inode, vfs);

	if (inode->i_ino < ST_FIRST || inode->i_ino >= ST_FIRST + NFILES)
		return -ENOENT;
	inode->i_mode = S_IFREG | 0644;
	inode->i_nlink = 1;
	pc_i_size_write(inode, 0);
	pc_inode_set_ops(inode, &st_file_iops, &st_fops, &st_aops);
	pc_snap_inode_init(&ti->si, inode, &T->realm, &st_snap_ops);
	ti->si_live = true;
	T->files[inode->i_ino - ST_FIRST] = ti;
	return 0;
}

static void st_evict_inode(struct pc_inode *inode)
{
	pc_truncate_inode_pages(inode->i_mapping, 0);
}

static void st_put_super(struct pc_super_block *sb)
{
	struct st_sb *tsb = sb->s_fs_info;

	pc_bdi_destroy(&tsb->bdi);
	pc_snap_realm_destroy(&tsb->realm);
	free(tsb);
	T = NULL;
}

static const struct pc_super_operations st_sops = {
	.alloc_inode = st_alloc_inode,
	.destroy_inode = st_destroy_inode,
	.read_inode = st_read_inode,
	.evict_inode = st_evict_inode,
	.put_super = st_put_super,
};

static int st_fill_super(struct pc_super_block *sb, const char *source,
			 const struct pc_mount_opts *opts, char *msg, size_t msglen)
{
	struct st_sb *tsb = calloc(1, sizeof(*tsb));
	struct pc_inode *root;

	(void)source;
	(void)opts;
	(void)msg;
	(void)msglen;
	if (!tsb)
		return -ENOMEM;
	if (pc_snap_realm_init(&tsb->realm, 0)) {
		free(tsb);
		return -ENOMEM;
	}
	if (pc_bdi_init(&tsb->bdi, sb->s_cache, "snaptest")) {
		pc_snap_realm_destroy(&tsb->realm);
		free(tsb);
		return -ENOMEM;
	}
	T = tsb;
	sb->s_fs_info = tsb;
	sb->s_op = &st_sops;
	pc_sb_set_blocksize(sb, PC_PAGE_SIZE);
	sb->s_maxbytes = (loff_t)FILE_PAGES * PC_PAGE_SIZE;
	sb->s_bdi = &tsb->bdi;
	sb->s_root_ino = ST_ROOT;
	root = pc_iget_locked(sb, ST_ROOT);
	if (!root) {
		st_put_super(sb);
		return -ENOMEM;
	}
	root->i_mode = S_IFDIR | 0755;
	root->i_nlink = 2;
	pc_inode_set_ops(root, &st_dir_iops, &st_dir_fops, NULL);
	pc_unlock_new_inode(root);
	pc_iput(root);
	return 0;
}

static const struct pc_fs_type st_type = {
	.name = "snaptest",
	.fill_super = st_fill_super,
};

/* ---------------- the model ---------------- */

struct model {
	uint8_t *head[NFILES];
	int64_t size[NFILES];
	unsigned nsnaps;
	uint64_t snapid[MAXSNAP];
	uint8_t *snap[MAXSNAP][NFILES];
	int64_t snap_size[MAXSNAP][NFILES];
};

static struct model M;
static struct pc_mount *MNT;
static uint64_t next_snapid;

static void model_reset(void)
{
	for (unsigned f = 0; f < NFILES; f++) {
		free(M.head[f]);
		for (unsigned k = 0; k < M.nsnaps; k++)
			free(M.snap[k][f]);
	}
	memset(&M, 0, sizeof(M));
	for (unsigned f = 0; f < NFILES; f++) {
		M.head[f] = calloc(1, (size_t)FILE_PAGES * PC_PAGE_SIZE);
		assert_non_null(M.head[f]);
	}
}

static void do_mount(size_t cache_bytes, bool async)
{
	struct pc_mount_opts opts = { .cache_size = cache_bytes };

	store_reset(async);
	model_reset();
	next_snapid = 0;
	assert_int_equal(pc_mount("snaptest", NULL, &opts, &MNT), 0);
	assert_non_null(T);
}

static void check_counts_zero(void);

static void do_umount_err(int err)
{
	assert_int_equal(pc_umount(MNT), err);
	store_stop();
	MNT = NULL;
}

static void do_umount(void)
{
	assert_int_equal(pc_umount(MNT), 0);
	store_stop();
	MNT = NULL;
}

static int open_file(unsigned f)
{
	char path[8];
	int fd;

	snprintf(path, sizeof(path), "/f%u", f);
	fd = pc_open(MNT, path, O_RDWR, 0);
	assert_true(fd >= 0);
	return fd;
}

/* Fill a page-size pattern naming (file, tag, page). */
static void pattern(uint8_t *buf, unsigned f, unsigned tag, unsigned page)
{
	for (unsigned i = 0; i < PC_PAGE_SIZE; i += 4) {
		buf[i] = f;
		buf[i + 1] = tag;
		buf[i + 2] = page & 0xff;
		buf[i + 3] = (page >> 8) ^ (i >> 4);
	}
}

/* Write pages [@first, @first+@n) of file @f with tag @tag, through @fd. */
static void write_pages(int fd, unsigned f, unsigned tag, unsigned first, unsigned n)
{
	uint8_t *buf = malloc((size_t)n * PC_PAGE_SIZE);

	assert_non_null(buf);
	for (unsigned i = 0; i < n; i++)
		pattern(buf + (size_t)i * PC_PAGE_SIZE, f, tag, first + i);
	assert_int_equal(pc_pwrite(fd, buf, (size_t)n * PC_PAGE_SIZE, (off_t)first * PC_PAGE_SIZE),
			 (ssize_t)n * PC_PAGE_SIZE);
	memcpy(M.head[f] + (size_t)first * PC_PAGE_SIZE, buf, (size_t)n * PC_PAGE_SIZE);
	if ((int64_t)(first + n) * (int64_t)PC_PAGE_SIZE > M.size[f])
		M.size[f] = (int64_t)(first + n) * PC_PAGE_SIZE;
	free(buf);
}

/* Take a snapshot; the model copies every file. */
static void snapshot(void)
{
	unsigned k = M.nsnaps++;

	assert_true(k < MAXSNAP);
	M.snapid[k] = ++next_snapid;
	assert_int_equal(pc_snap_realm_snapshot(&T->realm, M.snapid[k]), 0);
	for (unsigned f = 0; f < NFILES; f++) {
		M.snap_size[k][f] = M.size[f];
		M.snap[k][f] = malloc(M.size[f] + 1);
		assert_non_null(M.snap[k][f]);
		memcpy(M.snap[k][f], M.head[f], M.size[f]);
	}
}

/* No order violation so far. */
static void check_order(void)
{
	pthread_mutex_lock(&S.lock);
	long o = S.obj_violations, p = S.page_violations, b = S.boundary_violations;
	pthread_mutex_unlock(&S.lock);
	assert_int_equal(o, 0);
	assert_int_equal(p, 0);
	assert_int_equal(b, 0);
}

/* Every snapshot and the head of every file, as the store keeps them
 * (after everything was written back), equal the model. */
static void check_store(void)
{
	check_order();
	uint8_t *buf = malloc((size_t)FILE_PAGES * PC_PAGE_SIZE);

	assert_non_null(buf);
	for (unsigned f = 0; f < NFILES; f++) {
		for (unsigned k = 0; k < M.nsnaps; k++) {
			size_t n = M.snap_size[k][f];
			store_read(f, M.snapid[k], 0, buf, n);
			if (memcmp(buf, M.snap[k][f], n)) {
				for (size_t i = 0; i < n; i++)
					if (buf[i] != M.snap[k][f][i]) {
						fprintf(stderr, "file %u snap %lu: byte %zu (page %zu) is %u, "
							"want %u\n", f, (unsigned long)M.snapid[k], i,
							i / PC_PAGE_SIZE, buf[i], M.snap[k][f][i]);
						break;
					}
				fail();
			}
		}
		store_read(f, PC_SNAP_HEAD, 0, buf, M.size[f]);
		assert_memory_equal(buf, M.head[f], M.size[f]);
	}
	free(buf);
	check_order();
}

/* The page cache shows the model's head. */
static void check_head_reads(unsigned f)
{
	uint8_t *buf = malloc(M.size[f] + 1);
	int fd = open_file(f);
	ssize_t want = M.size[f];

	assert_non_null(buf);
	assert_int_equal(pc_pread(fd, buf, want, 0), want);
	assert_memory_equal(buf, M.head[f], M.size[f]);
	assert_int_equal(pc_close(fd), 0);
	free(buf);
}

static long inode_dirty(unsigned f)
{
	struct pc_snap_ctx_stat st[MAXSNAP];
	unsigned n = pc_snap_inode_get_stats(&T->files[f]->si, st, MAXSNAP);
	long total = 0;

	for (unsigned i = 0; i < n && i < MAXSNAP; i++)
		total += st[i].dirty_pages;
	return total;
}

static void check_counts_zero(void)
{
	struct pc_snap_stats st;

	pc_snap_realm_get_stats(&T->realm, &st);
	assert_int_equal(st.nr_dirty, 0);
	for (unsigned f = 0; f < NFILES; f++) {
		if (!T->files[f])
			continue;
		struct pc_snap_inode *si = &T->files[f]->si;
		pc_mutex_lock(&si->lock);
		long ref = si->i_wrbuffer_ref, head = si->i_wrbuffer_ref_head, inflight = si->inflight;
		bool empty = pc_list_empty(&si->cap_snaps), nohead = si->head_snapc == NULL;
		pc_mutex_unlock(&si->lock);
		assert_int_equal(ref, 0);
		assert_int_equal(head, 0);
		assert_int_equal(inflight, 0);
		assert_true(empty);
		assert_true(nohead);
	}
}

static void fsync_all(void)
{
	for (unsigned f = 0; f < NFILES; f++) {
		if (!M.size[f])
			continue;
		int fd = open_file(f);
		assert_int_equal(pc_fsync(fd), 0);
		assert_int_equal(pc_close(fd), 0);
	}
}

/* ---------------- tests ---------------- */

/* The checker itself: a write of an older context after a newer one on
 * the same object is counted (so the other tests can rely on it). */
static void test_checker_fires(void **state)
{
	uint64_t s1[] = { 1 };
	struct pc_snap_context *c0 = pc_snap_context_alloc(0, NULL, 0);
	struct pc_snap_context *c1 = pc_snap_context_alloc(1, s1, 1);
	struct pc_page page = { 0 };
	static uint8_t data[PC_PAGE_SIZE] __attribute__((aligned(4096)));
	struct pc_page *pages[] = { &page };

	(void)state;
	store_reset(false);
	page.virtual = data;
	pthread_mutex_lock(&S.lock);
	store_write(0, 0, PC_PAGE_SIZE, pages, c1);
	store_write(0, PC_PAGE_SIZE, PC_PAGE_SIZE, pages, c0);	/* older, same object */
	pthread_mutex_unlock(&S.lock);
	assert_int_equal(S.obj_violations, 1);
	assert_int_equal(S.page_violations, 0);
	pthread_mutex_lock(&S.lock);
	store_write(0, 0, PC_PAGE_SIZE, pages, c0);		/* older, same page */
	pthread_mutex_unlock(&S.lock);
	assert_int_equal(S.page_violations, 1);
	pc_snap_context_put(c0);
	pc_snap_context_put(c1);
	store_reset(false);
}

/* The write_begin rule: write a page, snapshot, write the same page: the
 * snapshot keeps the old bytes and head gets the new ones, and only that
 * page is written early (no full flush). */
static void test_write_begin_rule(void **state)
{
	struct pc_snap_stats st;
	long w0;
	int fd;

	(void)state;
	do_mount(4 << 20, false);
	fd = open_file(0);
	write_pages(fd, 0, 1, 0, 1);		/* page 0 "A" */
	write_pages(fd, 0, 1, 5, 1);		/* page 5, same context */
	snapshot();				/* snap 1 */
	assert_int_equal(S.writes, 0);
	w0 = S.writes;
	write_pages(fd, 0, 2, 0, 1);		/* page 0 "B": dirty in the oldest: written now */
	assert_int_equal(S.writes - w0, 1);	/* that page alone */
	assert_int_equal(inode_dirty(0), 2);	/* page 5 (cap_snap) + page 0 (head) */
	pc_snap_realm_get_stats(&T->realm, &st);
	assert_int_equal(st.nr_dirty, 2);
	assert_int_equal(st.dirty[0].seq, 0);
	assert_int_equal(st.dirty[0].dirty_pages, 1);
	assert_int_equal(st.dirty[1].seq, 1);
	assert_int_equal(st.dirty[1].dirty_pages, 1);

	/* Not the oldest: page 7 dirty in context 1, snapshot 2 while page 5
	 * (context 0) is still dirty: writing page 7 again must first write
	 * context 0, then page 7's context 1, and nothing of the head. */
	write_pages(fd, 0, 3, 7, 1);
	snapshot();				/* snap 2 */
	w0 = S.writes;
	write_pages(fd, 0, 4, 7, 1);
	/* context 0 (page 5), then page 7 alone in context 1 (now the
	 * oldest); page 0 stays dirty in context 1, page 7 in the head */
	assert_int_equal(S.writes - w0, 2);
	assert_int_equal(inode_dirty(0), 2);
	check_order();
	check_head_reads(0);
	fsync_all();
	check_store();
	check_counts_zero();
	assert_int_equal(pc_close(fd), 0);
	do_umount();
}

/* Several snapshots between two writebacks, over several files and
 * objects; inline completion. */
static void test_several_snapshots(void **state)
{
	int fd[3];

	(void)state;
	do_mount(getenv("SNAP_TEST_BENCH") ? 256 << 20 : 8 << 20, false);
	for (unsigned f = 0; f < 3; f++)
		fd[f] = open_file(f);
	for (unsigned f = 0; f < 3; f++)
		write_pages(fd[f], f, 1, 0, 40);
	snapshot();
	write_pages(fd[0], 0, 2, 10, 20);
	write_pages(fd[1], 1, 2, 35, 10);	/* extends the file */
	snapshot();
	write_pages(fd[0], 0, 3, 0, 5);
	write_pages(fd[2], 2, 3, 15, 3);
	snapshot();
	snapshot();				/* nothing dirty in between */
	write_pages(fd[0], 0, 4, 12, 30);
	assert_int_equal(S.writes > 0, 1);	/* write_begin wrote some old pages */
	if (getenv("SNAP_TEST_BENCH")) {
		/* The cost of a snapshot against what is dirty (not asserted:
		 * a figure for the report): a few pages dirty, then 25 MiB
		 * more in five more files. */
		for (int round = 0; round < 2; round++) {
			if (round)
				for (unsigned f = 3; f < NFILES; f++) {
					int bfd = open_file(f);
					for (unsigned i = 0; i < FILE_PAGES; i += 256)
						write_pages(bfd, f, 7, i, 256);
					pc_close(bfd);
				}
			struct pc_snap_stats st;
			struct timespec t0, t1;
			long dirty = 0;
			pc_snap_realm_get_stats(&T->realm, &st);
			for (unsigned i = 0; i < st.nr_dirty; i++)
				dirty += st.dirty[i].dirty_pages;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			assert_int_equal(pc_snap_realm_snapshot(&T->realm, ++next_snapid), 0);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			fprintf(stderr, "snapshot with %ld dirty pages: %.1f us\n", dirty,
				((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3);
		}
	}
	for (unsigned f = 0; f < 3; f++) {
		assert_int_equal(pc_fsync(fd[f]), 0);
		assert_int_equal(pc_close(fd[f]), 0);
	}
	fsync_all();
	check_store();
	check_counts_zero();
	for (unsigned f = 0; f < 3; f++)
		check_head_reads(f);
	do_umount();
}

/* WB_SYNC_ALL with asynchronous completions: each context's writes
 * complete before the next context's are sent; a wsize below the object
 * size splits runs; runs never cross an object. */
static void test_sync_all_order(void **state)
{
	int fd;

	(void)state;
	do_mount(16 << 20, true);
	S.wsize_pages = 5;
	fd = open_file(0);
	for (unsigned round = 1; round <= 6; round++) {
		write_pages(fd, 0, round, (round * 7) % 20, 64);
		snapshot();
	}
	write_pages(fd, 0, 9, 3, 90);
	assert_int_equal(pc_fsync(fd), 0);
	assert_int_equal(pc_fsync(fd), 0);
	check_store();
	check_counts_zero();
	check_head_reads(0);
	assert_int_equal(pc_close(fd), 0);
	do_umount();
}

/* Reclaim with a 1 MiB cache: files larger than the cache, a snapshot
 * after every chunk, no fsync until the end: writers make progress through
 * ordered writeback (the flusher), and the order holds. */
static void test_reclaim_tiny_cache(void **state)
{
	int fd[2];

	(void)state;
	do_mount(1 << 20, true);
	fd[0] = open_file(0);
	fd[1] = open_file(1);
	for (unsigned round = 0; round < 24; round++) {
		unsigned f = round % 2;
		write_pages(fd[f], f, round + 1, (round * 37) % 600, 64);
		snapshot();
	}
	for (unsigned f = 0; f < 2; f++) {
		assert_int_equal(pc_fsync(fd[f]), 0);
		assert_int_equal(pc_close(fd[f]), 0);
	}
	check_store();
	check_counts_zero();
	check_head_reads(0);
	check_head_reads(1);
	do_umount();
}

/* A failed write: fsync reports -EIO once per open file, the counts go
 * back to zero (cap_snap freed), the next fsync is clean. */
static void test_write_error(void **state)
{
	struct pc_snap_stats st;
	int fd1, fd2, fd3;

	(void)state;
	do_mount(4 << 20, false);
	fd1 = open_file(0);
	fd2 = open_file(0);
	write_pages(fd1, 0, 1, 0, 1);
	write_pages(fd1, 0, 1, 2, 1);
	snapshot();
	write_pages(fd1, 0, 2, 4, 1);
	write_pages(fd1, 0, 2, 6, 1);
	assert_int_equal(inode_dirty(0), 4);
	S.fail_at = 2;				/* page 2 of the cap_snap */
	assert_int_equal(pc_fsync(fd1), -EIO);
	assert_int_equal(S.failed, 1);
	assert_int_equal(pc_fsync(fd1), 0);	/* once per open file */
	assert_int_equal(pc_fsync(fd2), -EIO);	/* the other file sees it too */
	assert_int_equal(pc_fsync(fd2), 0);
	fd3 = open_file(0);			/* opened after: nothing to report */
	assert_int_equal(pc_fsync(fd3), 0);
	check_counts_zero();
	pc_snap_realm_get_stats(&T->realm, &st);
	assert_int_equal(st.nr_write_errors, 1);
	assert_int_equal(st.nr_pages_written, 3);
	check_order();
	/* The other three pages reached the store in order. */
	uint8_t buf[PC_PAGE_SIZE], want[PC_PAGE_SIZE];
	store_read(0, 1, 0, buf, PC_PAGE_SIZE);
	pattern(want, 0, 1, 0);
	assert_memory_equal(buf, want, PC_PAGE_SIZE);
	store_read(0, PC_SNAP_HEAD, 6 * PC_PAGE_SIZE, buf, PC_PAGE_SIZE);
	pattern(want, 0, 2, 6);
	assert_memory_equal(buf, want, PC_PAGE_SIZE);
	assert_int_equal(pc_close(fd1), 0);
	assert_int_equal(pc_close(fd2), 0);
	assert_int_equal(pc_close(fd3), 0);
	/* The unmount's sync reports the mount's writeback error (syncfs). */
	do_umount_err(-EIO);
}

/* Truncate and invalidation of dirty pages keep the counts right and leak
 * no context reference. */
static void test_truncate_counts(void **state)
{
	struct pc_snap_context *c1, *c2;
	struct pc_inode *inode;
	int fd;

	(void)state;
	do_mount(4 << 20, false);
	fd = open_file(0);
	write_pages(fd, 0, 1, 0, 16);		/* context 0 */
	snapshot();				/* 1 */
	write_pages(fd, 0, 2, 16, 16);		/* head, context 1 */
	assert_int_equal(inode_dirty(0), 32);
	struct pc_snap_cap_snap_info cs[2];
	assert_int_equal(pc_snap_inode_get_cap_snaps(&T->files[0]->si, cs, 2), 1);
	assert_int_equal(cs[0].seq, 0);
	assert_int_equal(cs[0].dirty_pages, 16);
	assert_int_equal(cs[0].size, 16 * PC_PAGE_SIZE);	/* the size at the snapshot */
	assert_false(cs[0].pending);
	/* Cut at 8 pages: the cap_snap's pages are written first (they are
	 * the snapshot's), the head's past the cut are dropped. */
	assert_int_equal(pc_ftruncate(fd, 8 * PC_PAGE_SIZE), 0);
	memset(M.head[0] + 8 * PC_PAGE_SIZE, 0, 24 * PC_PAGE_SIZE);
	M.size[0] = 8 * PC_PAGE_SIZE;
	assert_int_equal(inode_dirty(0), 0);
	check_counts_zero();
	check_store();

	c1 = pc_snap_realm_get_context(&T->realm);	/* seq 1 */
	write_pages(fd, 0, 3, 0, 8);		/* head, context 1 */
	snapshot();				/* 2 */
	write_pages(fd, 0, 4, 4, 8);		/* pages 4..7 written first (oldest), 8..11 head */
	c2 = pc_snap_realm_get_context(&T->realm);
	assert_int_equal(inode_dirty(0), 4 + 8);
	/* realm + ours + head_snapc + 8 pages */
	assert_int_equal(atomic_load(&c2->nref), 1 + 1 + 1 + 8);
	/* ours + the cap_snap's + 4 pages */
	assert_int_equal(atomic_load(&c1->nref), 1 + 1 + 4);
	/* Punch everything, dirty data of both contexts included. */
	inode = &T->files[0]->vfs;
	pc_inode_lock(inode);
	pc_truncate_inode_pages_range(inode->i_mapping, 0, -1);
	pc_inode_unlock(inode);
	check_counts_zero();
	assert_int_equal(atomic_load(&c1->nref), 1);	/* no leaked reference */
	assert_int_equal(atomic_load(&c2->nref), 2);	/* realm + ours */
	pc_snap_context_put(c1);
	pc_snap_context_put(c2);
	check_order();
	assert_int_equal(pc_close(fd), 0);
	do_umount();
}

/* Removing a snapshot: new writes carry a context without it, the seq
 * stays, the order holds. */
static void test_remove(void **state)
{
	struct pc_snap_context *c;
	int fd;

	(void)state;
	do_mount(4 << 20, false);
	fd = open_file(0);
	write_pages(fd, 0, 1, 0, 4);
	snapshot();
	snapshot();
	assert_int_equal(pc_snap_realm_remove(&T->realm, 7), -ENOENT);
	assert_int_equal(pc_snap_realm_remove(&T->realm, 1), 0);
	c = pc_snap_realm_get_context(&T->realm);
	assert_int_equal(c->seq, 2);
	assert_int_equal(c->num_snaps, 1);
	assert_int_equal(c->snaps[0], 2);
	pc_snap_context_put(c);
	assert_int_equal(pc_snap_realm_snapshot(&T->realm, 2), -EINVAL);
	write_pages(fd, 0, 2, 2, 4);
	/* A mount-time context cannot replace one with dirty data. */
	uint64_t live[] = { 2 };
	assert_int_equal(pc_snap_realm_set_context(&T->realm, 5, live, 1), -EBUSY);
	assert_int_equal(pc_fsync(fd), 0);
	assert_int_equal(pc_snap_realm_set_context(&T->realm, 1, NULL, 0), -EINVAL);
	uint64_t bad[] = { 2, 3 };
	assert_int_equal(pc_snap_realm_set_context(&T->realm, 5, bad, 2), -EINVAL);
	assert_int_equal(pc_snap_realm_set_context(&T->realm, 5, live, 1), 0);
	c = pc_snap_realm_get_context(&T->realm);
	assert_int_equal(c->seq, 5);
	pc_snap_context_put(c);
	/* Snapshot 2 still has the first data. */
	M.nsnaps = 2;
	for (unsigned k = 0; k < 2; k++)
		M.snap_size[k][0] = 4 * PC_PAGE_SIZE;
	uint8_t buf[4 * PC_PAGE_SIZE];
	store_read(0, 2, 0, buf, sizeof(buf));
	assert_memory_equal(buf, M.snap[1][0], sizeof(buf));
	check_order();
	check_counts_zero();
	assert_int_equal(pc_close(fd), 0);
	do_umount();
}

/* writepage (pc_write_one_page through invalidate) writes a page of the
 * oldest context, and leaves a newer one dirty rather than break the
 * order. */
static void test_writepage_rule(void **state)
{
	struct pc_address_space *mapping;
	struct pc_page *page;
	int fd;

	(void)state;
	do_mount(4 << 20, true);
	fd = open_file(0);
	write_pages(fd, 0, 1, 0, 1);		/* context 0 */
	snapshot();
	write_pages(fd, 0, 2, 1, 1);		/* head */
	mapping = T->files[0]->vfs.i_mapping;
	/* The store holds every write for now: the flusher the writepage
	 * below wakes may send page 0, but page 1 cannot follow before page
	 * 0's write completed. */
	pthread_mutex_lock(&S.lock);
	S.paused = true;
	pthread_mutex_unlock(&S.lock);
	/* Page 1 is not in the oldest context: kept dirty, not written. */
	assert_int_equal(pc_invalidate_inode_pages2_range(mapping, 1, 1), -EBUSY);
	page = pc_find_get_page(mapping, 1);
	assert_non_null(page);
	assert_true(pc_PageDirty(page) && pc_PagePrivate(page));
	pc_put_page(page);
	assert_int_equal(inode_dirty(0), 2);
	pthread_mutex_lock(&S.lock);
	assert_int_equal(S.writes, 0);
	S.paused = false;
	pthread_cond_signal(&S.cond);
	pthread_mutex_unlock(&S.lock);
	/* Page 0 is (or the flusher has written it): dropped from the cache. */
	assert_int_equal(pc_invalidate_inode_pages2_range(mapping, 0, 0), 0);
	assert_null(pc_find_get_page(mapping, 0));
	/* Now page 1 is the oldest. */
	assert_int_equal(pc_invalidate_inode_pages2_range(mapping, 1, 1), 0);
	pthread_mutex_lock(&S.lock);
	assert_int_equal(S.writes, 2);
	pthread_mutex_unlock(&S.lock);
	check_counts_zero();
	check_store();
	check_head_reads(0);
	assert_int_equal(pc_close(fd), 0);
	do_umount();
}

/* ---- concurrent writers and snapshots (also run under TSan) ---- */

#define CW_FILES 4
#define CW_PAGES 32
#define CW_ITERS 1000
#define CW_SNAPS 60

struct cw_rec {
	unsigned page;	/* a write of @page, or (page == CW_TRUNC) a truncate */
	unsigned value;	/* the write's value; the truncate's new size, pages */
	unsigned a;	/* snapshots completed before the operation started */
	unsigned b;	/* snapshots started by the time it returned */
};
#define CW_TRUNC 0xffffu

static struct cw_rec cw_log[CW_FILES][CW_ITERS];
static _Atomic unsigned cw_started, cw_done;
static _Atomic int cw_writers;
static _Atomic unsigned cw_progress;

static void cw_fill(uint8_t *buf, unsigned f, unsigned v, unsigned page)
{
	memset(buf, 0, PC_PAGE_SIZE);
	for (unsigned i = 0; i < PC_PAGE_SIZE; i += 8) {
		buf[i] = f;
		buf[i + 1] = page;
		buf[i + 2] = 0x5a;	/* never a page of zeros (a hole) */
		memcpy(buf + i + 4, &v, 4);
	}
}

static void *cw_writer(void *arg)
{
	unsigned f = (unsigned)(uintptr_t)arg;
	unsigned seed = 1234 + f;
	uint8_t *buf = malloc(PC_PAGE_SIZE);
	int fd = open_file(f);

	for (unsigned it = 0; it < CW_ITERS; it++) {
		unsigned page = rand_r(&seed) % CW_PAGES;
		struct cw_rec *r = &cw_log[f][it];

		while ((uint64_t)(atomic_load(&cw_done) + 1) * CW_ITERS < (uint64_t)it * CW_SNAPS)
			sched_yield();
		r->a = atomic_load(&cw_done);
		if (rand_r(&seed) % 25 == 0) {
			/* Now and then a truncate (a write section of its own). */
			r->page = CW_TRUNC;
			r->value = CW_PAGES / 4 + rand_r(&seed) % (CW_PAGES * 3 / 4);
			assert_int_equal(pc_ftruncate(fd, (off_t)r->value * PC_PAGE_SIZE), 0);
		} else {
			cw_fill(buf, f, it + 1, page);
			r->page = page;
			r->value = it + 1;
			assert_int_equal(pc_pwrite(fd, buf, PC_PAGE_SIZE, (off_t)page * PC_PAGE_SIZE),
					 PC_PAGE_SIZE);
		}
		r->b = atomic_load(&cw_started);
		atomic_fetch_add(&cw_progress, 1);
		if (it % 256 == 255)
			assert_int_equal(pc_fsync(fd), 0);
	}
	pc_close(fd);
	free(buf);
	atomic_fetch_sub(&cw_writers, 1);
	return NULL;
}

static void *cw_snapper(void *arg)
{
	(void)arg;
	for (unsigned k = 1; k <= CW_SNAPS; k++) {
		/* Spread the snapshots over the writers' run (the writers
		 * wait for us in step: see cw_writer; no deadlock, as
		 * writers all waiting means progress is far enough). */
		while ((uint64_t)atomic_load(&cw_progress) * (CW_SNAPS + 1) <
			       (uint64_t)k * CW_FILES * CW_ITERS &&
		       atomic_load(&cw_writers) > 0)
			sched_yield();
		atomic_store(&cw_started, k);
		assert_int_equal(pc_snap_realm_snapshot(&T->realm, k), 0);
		atomic_store(&cw_done, k);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	pthread_t w[CW_FILES], s;
	uint8_t *buf = malloc(PC_PAGE_SIZE);

	(void)state;
	/* Room for every page to stay dirty (the flusher's background limit
	 * is 10% of the cache), so most snapshots find dirty heads. */
	do_mount(8 << 20, true);
	atomic_store(&cw_started, 0);
	atomic_store(&cw_done, 0);
	atomic_store(&cw_writers, CW_FILES);
	atomic_store(&cw_progress, 0);
	/* Every page starts with value 0, written and synced before. */
	for (unsigned f = 0; f < CW_FILES; f++) {
		int fd = open_file(f);
		for (unsigned p = 0; p < CW_PAGES; p++) {
			cw_fill(buf, f, 0, p);
			assert_int_equal(pc_pwrite(fd, buf, PC_PAGE_SIZE, (off_t)p * PC_PAGE_SIZE),
					 PC_PAGE_SIZE);
		}
		assert_int_equal(pc_fsync(fd), 0);
		pc_close(fd);
	}
	for (unsigned f = 0; f < CW_FILES; f++)
		assert_int_equal(pthread_create(&w[f], NULL, cw_writer, (void *)(uintptr_t)f), 0);
	assert_int_equal(pthread_create(&s, NULL, cw_snapper, NULL), 0);
	for (unsigned f = 0; f < CW_FILES; f++)
		pthread_join(w[f], NULL);
	pthread_join(s, NULL);
	for (unsigned f = 0; f < CW_FILES; f++) {
		int fd = open_file(f);
		assert_int_equal(pc_fsync(fd), 0);
		pc_close(fd);
	}
	check_order();
	check_counts_zero();
	if (getenv("SNAP_TEST_VERBOSE")) {
		struct pc_snap_stats st;
		pc_snap_realm_get_stats(&T->realm, &st);
		fprintf(stderr, "cap_snaps %lu pending %lu writes %lu pages %lu\n",
			(unsigned long)st.nr_cap_snaps, (unsigned long)st.nr_pending,
			(unsigned long)st.nr_writes, (unsigned long)st.nr_pages_written);
	}

	/*
	 * Each snapshot k of each file is the file's state after a prefix of
	 * its writer's operations (one-page writes and truncates are atomic
	 * with respect to a snapshot): one that includes every operation
	 * that returned before k started and none that started after k
	 * completed. Pages are decoded to the value that wrote them (-1: a
	 * hole of zeros); a torn page fails the decoding. The head is the
	 * state after every operation.
	 */
	static int snapv[CW_SNAPS + 1][CW_PAGES];
	for (unsigned f = 0; f < CW_FILES; f++) {
		int state[CW_PAGES];
		unsigned size = CW_PAGES;
		unsigned jmin[CW_SNAPS + 1], jmax[CW_SNAPS + 1];
		bool matched[CW_SNAPS + 1] = { false };

		for (unsigned k = 0; k <= CW_SNAPS; k++) {
			uint64_t snapid = k ? k : PC_SNAP_HEAD;
			for (unsigned p = 0; p < CW_PAGES; p++) {
				uint8_t want[PC_PAGE_SIZE], zero[PC_PAGE_SIZE] = { 0 };
				unsigned v;
				store_read(f, snapid, (int64_t)p * PC_PAGE_SIZE, buf, PC_PAGE_SIZE);
				if (!memcmp(buf, zero, PC_PAGE_SIZE)) {
					snapv[k][p] = -1;
					continue;
				}
				memcpy(&v, buf + 4, 4);
				cw_fill(want, f, v, p);
				if (memcmp(buf, want, PC_PAGE_SIZE))
					fail_msg("f%u snap %u page %u is torn or foreign", f, k, p);
				snapv[k][p] = v;
			}
			/* prefixes j (ops 0..j-1 applied) allowed for k */
			jmin[k] = 0;
			jmax[k] = CW_ITERS;
			for (unsigned it = 0; it < CW_ITERS; it++) {
				if (k && cw_log[f][it].b < k)
					jmin[k] = it + 1;
				if (k && cw_log[f][it].a >= k && jmax[k] == CW_ITERS)
					jmax[k] = it;
			}
			if (!k)
				jmin[k] = CW_ITERS;
		}
		for (unsigned p = 0; p < CW_PAGES; p++)
			state[p] = 0;
		for (unsigned j = 0; j <= CW_ITERS; j++) {
			if (j) {
				struct cw_rec *r = &cw_log[f][j - 1];
				if (r->page == CW_TRUNC) {
					for (unsigned p = r->value; p < CW_PAGES; p++)
						state[p] = -1;
					size = r->value;
				} else {
					for (unsigned p = size; p < r->page; p++)
						state[p] = -1;
					state[r->page] = (int)r->value;
					if (r->page + 1 > size)
						size = r->page + 1;
				}
			}
			for (unsigned k = 0; k <= CW_SNAPS; k++)
				if (!matched[k] && j >= jmin[k] && j <= jmax[k] &&
				    !memcmp(state, snapv[k], sizeof(state)))
					matched[k] = true;
		}
		for (unsigned k = 0; k <= CW_SNAPS; k++)
			if (!matched[k] && getenv("SNAP_TEST_VERBOSE")) {
				for (unsigned p = 0; p < CW_PAGES; p++)
					fprintf(stderr, "%d ", snapv[k][p]);
				fprintf(stderr, "\n");
				for (unsigned it = 0; it < jmax[k] + 2 && it < CW_ITERS; it++)
					fprintf(stderr, "op %u: page %u value %u a %u b %u\n", it,
						cw_log[f][it].page, cw_log[f][it].value, cw_log[f][it].a,
						cw_log[f][it].b);
			}
		for (unsigned k = 0; k <= CW_SNAPS; k++)
			if (!matched[k])
				fail_msg("f%u snapshot %u matches no allowed prefix [%u, %u]", f, k,
					 jmin[k], jmax[k]);
	}
	free(buf);
	do_umount();
}

static int setup(void **state)
{
	(void)state;
	return pc_register_filesystem(&st_type);
}

static int teardown(void **state)
{
	(void)state;
	store_reset(false);
	model_reset();
	return pc_unregister_filesystem(&st_type);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_fires),
		cmocka_unit_test(test_write_begin_rule),
		cmocka_unit_test(test_several_snapshots),
		cmocka_unit_test(test_sync_all_order),
		cmocka_unit_test(test_reclaim_tiny_cache),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_truncate_counts),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_writepage_rule),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
