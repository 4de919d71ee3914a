/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/vfs/file.c - open files and the process-wide descriptor table.
 *
 * Descriptor table: a two-level array. fd_chunks[] (fixed size) points at
 * chunks of FD_CHUNK slots, allocated on demand and never freed, so a slot
 * address, once it exists, stays valid. Each slot is an atomic pointer to
 * a struct pc_file. Installing and removing happen under fd_lock (which
 * also picks the lowest free number, as POSIX wants); looking up (every
 * read and write) takes no lock:
 *
 *   pc_vfs_fget: load the slot; take a reference with "increment unless
 *   zero" on f_count; re-load the slot and keep the reference only if it
 *   still holds the same file.
 *
 * This is safe because struct pc_file memory is type-stable: a released
 * file goes back to a free list (f_count 0) and is reused, never given
 * back to malloc. An "increment unless zero" on a file that was closed and
 * reused elsewhere may succeed; the slot re-check then fails and the
 * spurious reference is dropped with an ordinary pc_vfs_fput. A file in the
 * table holds one reference (the table's); each call holds its own, so a
 * concurrent close never frees a file under a reader: the last fput does
 * (f_op->release, then the inode reference is dropped).
 *
 * The read/write paths use lighter references (pc_vfs_fget_light), in the
 * spirit of the kernel's percpu_ref: an increment of one of FILE_SHARDS
 * counters, each on its own cache line and chosen per thread, so threads
 * sharing a descriptor write no common cache line. The reader increments
 * its shard, then checks f_dying and the slot; close first takes the file
 * out of the slot, sets f_dying, then waits for every shard to drain
 * before dropping the table's reference. Both sides use sequentially
 * consistent operations, so one of them always sees the other (Dekker).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "vfs_internal.h"

#define FD_CHUNK_SHIFT 10
#define FD_CHUNK (1 << FD_CHUNK_SHIFT)
#define FD_MAX_CHUNKS 1024
#define FD_MAX (FD_CHUNK * FD_MAX_CHUNKS)	/* 1M descriptors */

typedef struct pc_file *_Atomic fd_slot_t;

static _Atomic(fd_slot_t *) fd_chunks[FD_MAX_CHUNKS];
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
static int fd_next;		/* no free descriptor below this; under fd_lock */

/* An open directory stream (pc_opendir): a batch of entries read ahead. */
#define DIR_BATCH 32

struct pc_dir {
	struct pc_mount *m;		/* NULL once unmount released it */
	struct pc_list_head link;	/* on m->dirs */
	struct pc_file *file;
	struct pc_dir_context ctx;
	struct pc_dirent *ents;
	unsigned nr, idx;
	bool eof;
	int err;
};

#define FILE_SHARDS 16
struct pc_file_shard {
	_Atomic long n;
} __attribute__((aligned(64)));

static _Atomic unsigned file_shard_next;
static __thread int file_shard __attribute__((tls_model("initial-exec"))) = -1;

static inline unsigned my_file_shard(void)
{
	if (pc_unlikely(file_shard < 0))
		file_shard = (int)(atomic_fetch_add(&file_shard_next, 1) % FILE_SHARDS);
	return (unsigned)file_shard;
}

/* Released files, for reuse (see above). Linked through private_data. */
static pthread_mutex_t file_free_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pc_file *file_free_list;

static struct pc_file *file_get_free(void)
{
	struct pc_file *f;

	pthread_mutex_lock(&file_free_lock);
	f = file_free_list;
	if (f)
		file_free_list = f->private_data;
	pthread_mutex_unlock(&file_free_lock);
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return NULL;
		pthread_mutex_init(&f->f_pos_lock, NULL);
		atomic_init(&f->f_count, 0);
		/* Never freed, like the file; NULL just disables light refs. */
		f->f_shards = aligned_alloc(64, FILE_SHARDS * sizeof(struct pc_file_shard));
		if (f->f_shards)
			memset(f->f_shards, 0, FILE_SHARDS * sizeof(struct pc_file_shard));
	}
	return f;
}

static void file_put_free(struct pc_file *f)
{
	f->f_inode = NULL;
	f->f_mapping = NULL;
	f->f_op = NULL;
	pthread_mutex_lock(&file_free_lock);
	f->private_data = file_free_list;
	file_free_list = f;
	pthread_mutex_unlock(&file_free_lock);
}

int pc_vfs_file_alloc(struct pc_inode *inode, unsigned flags, struct pc_file **out)
{
	struct pc_mount *m = pc_sb_mount(inode->i_sb);
	struct pc_file *f;
	int err;

	f = file_get_free();
	if (!f)
		return -ENOMEM;
	f->f_inode = inode;
	f->f_mapping = inode->i_mapping;
	f->f_flags = flags;
	f->f_pos = 0;
	f->f_op = inode->i_fop;
	f->private_data = NULL;
	f->f_wb_err = pc_errseq_sample(&inode->i_mapping->wb_err);
	memset(&f->f_ra, 0, sizeof(f->f_ra));
	pc_file_ra_state_init(&f->f_ra, inode->i_mapping);
	if (m->ra_pages)
		f->f_ra.ra_pages = m->ra_pages;
	if (f->f_op && f->f_op->open) {
		err = f->f_op->open(inode, f);
		if (err) {
			file_put_free(f);
			return err > 0 ? -EIO : err;
		}
	}
	atomic_store(&f->f_dying, false);
	/* Publish: from here "increment unless zero" may succeed. */
	atomic_store_explicit(&f->f_count, 1, memory_order_release);
	*out = f;
	return 0;
}

void pc_vfs_fput(struct pc_file *f)
{
	struct pc_inode *inode;

	if (atomic_fetch_sub_explicit(&f->f_count, 1, memory_order_acq_rel) != 1)
		return;
	inode = f->f_inode;
	if (f->f_op && f->f_op->release)
		f->f_op->release(inode, f);
	pc_iput(inode);
	file_put_free(f);
}

static bool file_get_unless_zero(struct pc_file *f)
{
	int c = atomic_load_explicit(&f->f_count, memory_order_relaxed);

	do {
		if (c == 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&f->f_count, &c, c + 1,
							memory_order_acquire, memory_order_relaxed));
	return true;
}

static fd_slot_t *fd_slot(int fd)
{
	fd_slot_t *chunk;

	if (fd < 0 || fd >= FD_MAX)
		return NULL;
	chunk = atomic_load_explicit(&fd_chunks[fd >> FD_CHUNK_SHIFT], memory_order_acquire);
	if (!chunk)
		return NULL;
	return &chunk[fd & (FD_CHUNK - 1)];
}

struct pc_file *pc_vfs_fget(int fd)
{
	fd_slot_t *slot = fd_slot(fd);

	if (!slot)
		return NULL;
	for (;;) {
		struct pc_file *f = atomic_load_explicit(slot, memory_order_acquire);

		if (!f)
			return NULL;
		if (!file_get_unless_zero(f))
			continue;	/* being released: the slot has changed */
		if (pc_likely(atomic_load_explicit(slot, memory_order_acquire) == f))
			return f;
		pc_vfs_fput(f);
	}
}

struct pc_file *pc_vfs_fget_light(int fd, int *shard)
{
	fd_slot_t *slot = fd_slot(fd);
	struct pc_file *f;

	if (!slot)
		return NULL;
	f = atomic_load_explicit(slot, memory_order_acquire);
	if (!f)
		return NULL;
	if (pc_likely(f->f_shards != NULL)) {
		unsigned s = my_file_shard();

		atomic_fetch_add(&f->f_shards[s].n, 1);
		if (pc_likely(!atomic_load(&f->f_dying) && atomic_load(slot) == f)) {
			*shard = (int)s;
			return f;
		}
		atomic_fetch_sub_explicit(&f->f_shards[s].n, 1, memory_order_release);
	}
	*shard = -1;
	return pc_vfs_fget(fd);
}

void pc_vfs_fput_light(struct pc_file *f, int shard)
{
	if (shard >= 0)
		atomic_fetch_sub_explicit(&f->f_shards[shard].n, 1, memory_order_release);
	else
		pc_vfs_fput(f);
}

/* Close side of the light references: @f is out of the table already. */
static void file_drain_light_refs(struct pc_file *f)
{
	if (!f->f_shards)
		return;
	atomic_store(&f->f_dying, true);
	for (unsigned i = 0; i < FILE_SHARDS; i++) {
		unsigned spins = 0;
		while (atomic_load_explicit(&f->f_shards[i].n, memory_order_acquire) != 0) {
			/* A reader is inside a call (maybe waiting for I/O). */
			if (++spins < 64)
				sched_yield();
			else
				usleep(100);
		}
	}
}

int pc_vfs_fd_install(struct pc_file *file)
{
	int fd;

	pthread_mutex_lock(&fd_lock);
	for (fd = fd_next; fd < FD_MAX; fd++) {
		int ci = fd >> FD_CHUNK_SHIFT;
		fd_slot_t *chunk = atomic_load_explicit(&fd_chunks[ci], memory_order_relaxed);

		if (!chunk) {
			chunk = calloc(FD_CHUNK, sizeof(*chunk));
			if (!chunk) {
				pthread_mutex_unlock(&fd_lock);
				return -ENOMEM;
			}
			atomic_store_explicit(&fd_chunks[ci], chunk, memory_order_release);
		}
		if (!atomic_load_explicit(&chunk[fd & (FD_CHUNK - 1)], memory_order_relaxed)) {
			atomic_store_explicit(&chunk[fd & (FD_CHUNK - 1)], file, memory_order_release);
			fd_next = fd + 1;
			pthread_mutex_unlock(&fd_lock);
			return fd;
		}
	}
	pthread_mutex_unlock(&fd_lock);
	return -EMFILE;
}

int pc_vfs_fd_close(int fd)
{
	struct pc_file *f;
	fd_slot_t *slot;

	pthread_mutex_lock(&fd_lock);
	slot = fd_slot(fd);
	f = slot ? atomic_exchange(slot, NULL) : NULL;
	if (f && fd < fd_next)
		fd_next = fd;
	pthread_mutex_unlock(&fd_lock);
	if (!f)
		return -EBADF;
	file_drain_light_refs(f);
	pc_vfs_fput(f);
	return 0;
}

void pc_vfs_close_mount_files(struct pc_mount *m)
{
	struct pc_file **victims = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&fd_lock);
	for (int ci = 0; ci < FD_MAX_CHUNKS; ci++) {
		fd_slot_t *chunk = atomic_load_explicit(&fd_chunks[ci], memory_order_relaxed);

		if (!chunk)
			break;	/* chunks are allocated in order */
		for (int i = 0; i < FD_CHUNK; i++) {
			struct pc_file *f = atomic_load_explicit(&chunk[i], memory_order_relaxed);

			if (!f || f->f_inode->i_sb != &m->sb)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct pc_file **nv = realloc(victims, ncap * sizeof(*nv));
				if (!nv)
					continue;	/* leave it open rather than lose track */
				victims = nv;
				cap = ncap;
			}
			atomic_store_explicit(&chunk[i], NULL, memory_order_release);
			victims[n++] = f;
			if ((ci << FD_CHUNK_SHIFT) + i < fd_next)
				fd_next = (ci << FD_CHUNK_SHIFT) + i;
		}
	}
	pthread_mutex_unlock(&fd_lock);
	for (size_t i = 0; i < n; i++) {
		file_drain_light_refs(victims[i]);
		pc_vfs_fput(victims[i]);
	}
	free(victims);

	/* Directory streams: keep the struct for the caller's pc_closedir. */
	pthread_mutex_lock(&m->dirs_lock);
	while (!pc_list_empty(&m->dirs)) {
		struct pc_dir *d = pc_list_first_entry(&m->dirs, struct pc_dir, link);

		pc_list_del_init(&d->link);
		d->m = NULL;
		pc_vfs_fput(d->file);
		d->file = NULL;
	}
	pthread_mutex_unlock(&m->dirs_lock);
}

/* ---- open and close ---- */

PC_EXPORT int pc_open(struct pc_mount *m, const char *path, int flags, mode_t mode)
{
	struct pc_inode *inode;
	struct pc_file *file;
	int acc = flags & O_ACCMODE;
	bool wr, created;
	int err, fd;

	if (!m)
		return -EINVAL;
	if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR)
		return -EINVAL;
	wr = acc != O_RDONLY;
	err = pc_vfs_open_lookup(m, path, flags, mode, &inode, &created);
	if (err)
		return err;

	if (S_ISDIR(inode->i_mode)) {
		if (wr || (flags & O_CREAT))
			err = -EISDIR;
	} else if (flags & O_DIRECTORY) {
		err = -ENOTDIR;
	} else if (!S_ISREG(inode->i_mode)) {
		err = -ENXIO;	/* devices, fifos, sockets: not supported */
	}
	if (!err && wr && inode->i_sb->s_readonly)
		err = -EROFS;
	if (!err && (flags & O_DIRECT) && S_ISREG(inode->i_mode) && !inode->i_mapping->a_ops->direct_IO)
		err = -EINVAL;
	if (!err && !inode->i_fop)
		err = -ENXIO;
	if (err)
		goto out_put_inode;

	if ((flags & O_TRUNC) && wr && S_ISREG(inode->i_mode) && !created) {
		struct pc_iattr attr = {
			.ia_valid = PC_ATTR_SIZE | PC_ATTR_MTIME | PC_ATTR_CTIME,
			.ia_size = 0,
		};
		pc_vfs_now(&attr.ia_mtime);
		attr.ia_ctime = attr.ia_mtime;
		pc_inode_lock(inode);
		err = pc_vfs_setattr(inode, &attr);
		pc_inode_unlock(inode);
		if (err)
			goto out_put_inode;
	}

	err = pc_vfs_file_alloc(inode, (unsigned)flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW),
				&file);
	if (err)
		goto out_put_inode;
	fd = pc_vfs_fd_install(file);
	if (fd < 0)
		pc_vfs_fput(file);	/* drops the inode too */
	return fd;

out_put_inode:
	pc_iput(inode);
	return err;
}

PC_EXPORT int pc_close(int fd)
{
	return pc_vfs_fd_close(fd);
}

/* ---- directories ---- */


static bool dir_fill(struct pc_dir_context *ctx, const char *name, size_t namelen, uint64_t ino,
		     unsigned d_type)
{
	struct pc_dir *d = pc_container_of(ctx, struct pc_dir, ctx);
	struct pc_dirent *e;

	PC_ASSERT_INODE_LOCKED_ANY(d->file->f_inode);	/* iterate: dir lock shared */
	if (d->nr == DIR_BATCH)
		return false;
	if (namelen > PC_NAME_MAX)
		return true;	/* cannot be represented: skip it */
	e = &d->ents[d->nr++];
	e->d_ino = ino;
	e->d_type = (unsigned char)d_type;
	memcpy(e->d_name, name, namelen);
	e->d_name[namelen] = '\0';
	return true;
}

PC_EXPORT int pc_opendir(struct pc_mount *m, const char *path, struct pc_dir **out)
{
	struct pc_inode *inode;
	struct pc_dir *d;
	int err;

	if (!out)
		return -EFAULT;
	err = pc_vfs_lookup_path(m, path, PC_LOOKUP_FOLLOW, &inode);
	if (err)
		return err;
	if (!S_ISDIR(inode->i_mode)) {
		err = -ENOTDIR;
		goto out_put_inode;
	}
	if (!inode->i_fop || !inode->i_fop->iterate) {
		err = -ENOTDIR;
		goto out_put_inode;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		err = -ENOMEM;
		goto out_put_inode;
	}
	d->ents = malloc(DIR_BATCH * sizeof(*d->ents));
	if (!d->ents) {
		err = -ENOMEM;
		goto out_free_dir;
	}
	err = pc_vfs_file_alloc(inode, O_RDONLY | O_DIRECTORY, &d->file);
	if (err)
		goto out_free_ents;
	d->ctx.actor = dir_fill;
	d->ctx.pos = 0;
	d->m = m;
	pthread_mutex_lock(&m->dirs_lock);
	pc_list_add_tail(&d->link, &m->dirs);
	pthread_mutex_unlock(&m->dirs_lock);
	*out = d;
	return 0;

out_free_ents:
	free(d->ents);
out_free_dir:
	free(d);
out_put_inode:
	pc_iput(inode);
	return err;
}

PC_EXPORT int pc_readdir(struct pc_dir *d, struct pc_dirent *ent)
{
	if (!d || !ent)
		return -EFAULT;
	while (d->idx == d->nr) {
		struct pc_file *f = d->file;
		struct pc_inode *inode;
		int err;

		if (!f)
			return -EBADF;	/* its mount was unmounted */
		if (d->err) {
			err = d->err;
			d->err = 0;
			return err;
		}
		if (d->eof)
			return 0;
		inode = f->f_inode;
		d->nr = d->idx = 0;
		d->ctx.pos = f->f_pos;
		pc_inode_lock_shared(inode);
		err = f->f_op->iterate(f, &d->ctx);
		pc_inode_unlock_shared(inode);
		f->f_pos = d->ctx.pos;
		if (err < 0) {
			if (d->nr == 0)
				return err;
			d->err = err;	/* after the entries already read */
		} else if (d->nr == 0) {
			d->eof = true;
		}
	}
	*ent = d->ents[d->idx++];
	return 1;
}

PC_EXPORT int pc_closedir(struct pc_dir *d)
{
	if (!d)
		return -EBADF;
	if (d->m) {
		pthread_mutex_lock(&d->m->dirs_lock);
		pc_list_del_init(&d->link);
		pthread_mutex_unlock(&d->m->dirs_lock);
	}
	if (d->file)
		pc_vfs_fput(d->file);
	free(d->ents);
	free(d);
	return 0;
}
