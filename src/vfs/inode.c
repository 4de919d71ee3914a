/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/vfs/inode.c - the inode cache.
 *
 * Every in-memory inode of a super_block is on sb->s_inodes and, while it
 * can be found by number, on a hash chain of sb->s_inode_hash. Both under
 * sb->s_inode_lock.
 *
 * Inode states (i_state, an atomic word). The lifecycle bits below change
 * under s_inode_lock AND i_lock, so either lock is enough to act on them;
 * the writeback bits (I_SYNC, I_DIRTY_*) change under i_lock alone
 * (fs-writeback.c), which is why the word is atomic: a reader holding only
 * s_inode_lock (pc_iget) or the bdi list_lock (the flusher's pick) reads
 * its bits while a writeback bit of the same word changes.
 *   I_NEW      inserted by pc_iget, being filled by s_op->read_inode; other
 *              pc_iget callers of the same number wait (inode_wait) for
 *              the one read instead of reading it twice;
 *   I_FREEING  leaving the cache: unhashed, nobody may take a reference
 *              (pc_igrab and the flusher refuse it). Set either by pc_iput
 *              when the last reference of an unlinked inode goes (then it
 *              is evicted), by a failed read_inode (then the last reference
 *              destroys it without eviction), or by unmount.
 *   I_WILL_FREE unmount is evicting it: no new references; unmount waits
 *              for the transient ones (flusher, sync) to be dropped, then
 *              sets I_FREEING and evicts. pc_iput leaves such an inode
 *              alone.
 *
 * References: i_count. pc_iget takes one under s_inode_lock (even from 0:
 * cached inodes with i_nlink > 0 stay in the hash with no references),
 * pc_igrab under i_lock. pc_iput decrements locklessly while more than one
 * reference is left; the decrement to zero happens under s_inode_lock, and
 * the decision to evict is taken under i_lock after re-checking the count,
 * so a concurrent pc_igrab either wins (the inode stays) or sees I_FREEING.
 *
 * Lock order: s_inode_lock -> i_lock -> (bdi list_lock, inside writeback).
 * read_inode and evict_inode run with neither held.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vfs_internal.h"

#define INODE_HASH_BITS 12

/* Operations of a mapping whose filesystem set none (yet). */
static const struct pc_address_space_operations empty_aops;

void pc_vfs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

int pc_vfs_inode_hash_init(struct pc_super_block *sb)
{
	size_t n = (size_t)1 << INODE_HASH_BITS;

	sb->s_inode_hash = malloc(n * sizeof(*sb->s_inode_hash));
	if (!sb->s_inode_hash)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		pc_list_init(&sb->s_inode_hash[i]);
	sb->s_inode_hash_bits = INODE_HASH_BITS;
	return 0;
}

void pc_vfs_inode_hash_destroy(struct pc_super_block *sb)
{
	free(sb->s_inode_hash);
	sb->s_inode_hash = NULL;
}

static struct pc_list_head *inode_bucket(struct pc_super_block *sb, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ULL;

	return &sb->s_inode_hash[h >> (64 - sb->s_inode_hash_bits)];
}

/* s_inode_lock held. */
static struct pc_inode *inode_hash_find(struct pc_super_block *sb, uint64_t ino)
{
	struct pc_list_head *head = inode_bucket(sb, ino), *pos;

	for (pos = head->next; pos != head; pos = pos->next) {
		struct pc_inode *inode = pc_list_entry(pos, struct pc_inode, i_hash);
		if (inode->i_ino == ino)
			return inode;
	}
	return NULL;
}

PC_EXPORT void pc_inode_lock(struct pc_inode *inode) { pc_rwsem_down_write(&inode->i_rwsem); }
PC_EXPORT void pc_inode_unlock(struct pc_inode *inode) { pc_rwsem_up_write(&inode->i_rwsem); }
PC_EXPORT void pc_inode_lock_shared(struct pc_inode *inode) { pc_rwsem_down_read(&inode->i_rwsem); }
PC_EXPORT void pc_inode_unlock_shared(struct pc_inode *inode) { pc_rwsem_up_read(&inode->i_rwsem); }

PC_EXPORT void pc_inode_init_once(struct pc_inode *inode, struct pc_super_block *sb)
{
	pthread_rwlockattr_t attr;
	struct timespec now;

	pthread_rwlockattr_init(&attr);
	/* Writers (truncate, write, namespace changes) must not starve behind
	 * a steady stream of readers. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pc_rwsem_init(&inode->i_rwsem, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&inode->i_lock, NULL);
	pc_list_init(&inode->i_io_list);
	pc_list_init(&inode->i_hash);
	pc_list_init(&inode->i_sb_list);
	atomic_init(&inode->i_count, 0);
	atomic_init(&inode->i_size, 0);
	inode->i_state = 0;
	inode->dirtied_when = 0;
	inode->i_nlink = 1;
	inode->i_blocks = 0;
	inode->i_flags = 0;
	inode->i_sb = sb;
	inode->i_blkbits = sb->s_blocksize_bits;
	pc_vfs_now(&now);
	inode->i_atime = inode->i_mtime = inode->i_ctime = now;
	pc_address_space_init(&inode->i_data, inode, sb->s_cache, &empty_aops, sb->s_bdi);
	inode->i_mapping = &inode->i_data;
	inode->i_op = NULL;
	inode->i_fop = NULL;
	inode->i_private = NULL;
}

PC_EXPORT void pc_inode_destroy_once(struct pc_inode *inode)
{
	pc_address_space_destroy(&inode->i_data);
	pc_rwsem_destroy(&inode->i_rwsem);
	pthread_mutex_destroy(&inode->i_lock);
}

PC_EXPORT void pc_inode_set_times(struct pc_inode *inode, unsigned which,
				  const struct timespec *ts)
{
	pthread_mutex_lock(&inode->i_lock);
	if (which & PC_ATTR_ATIME)
		inode->i_atime = *ts;
	if (which & PC_ATTR_MTIME)
		inode->i_mtime = *ts;
	if (which & PC_ATTR_CTIME)
		inode->i_ctime = *ts;
	pthread_mutex_unlock(&inode->i_lock);
}

PC_EXPORT void pc_inode_get_times(struct pc_inode *inode, struct timespec *atime,
				  struct timespec *mtime, struct timespec *ctime)
{
	pthread_mutex_lock(&inode->i_lock);
	if (atime)
		*atime = inode->i_atime;
	if (mtime)
		*mtime = inode->i_mtime;
	if (ctime)
		*ctime = inode->i_ctime;
	pthread_mutex_unlock(&inode->i_lock);
}

PC_EXPORT int pc_sb_set_blocksize(struct pc_super_block *sb, unsigned long size)
{
	unsigned bits;

	if (!sb || size < 512 || size > 65536 || (size & (size - 1)))
		return -EINVAL;
	bits = (unsigned)__builtin_ctzl(size);
	sb->s_blocksize = size;
	sb->s_blocksize_bits = bits;
	return 0;
}

PC_EXPORT void pc_inode_set_ops(struct pc_inode *inode, const struct pc_inode_operations *iop,
				const struct pc_file_operations *fop,
				const struct pc_address_space_operations *aops)
{
	inode->i_op = iop;
	inode->i_fop = fop;
	inode->i_data.a_ops = aops ? aops : &empty_aops;
}

PC_EXPORT void pc_inode_touch(struct pc_inode *inode, unsigned which)
{
	struct timespec now;

	pc_vfs_now(&now);
	pthread_mutex_lock(&inode->i_lock);
	if (which & PC_ATTR_ATIME)
		inode->i_atime = now;
	if (which & PC_ATTR_MTIME)
		inode->i_mtime = now;
	if (which & PC_ATTR_CTIME)
		inode->i_ctime = now;
	pthread_mutex_unlock(&inode->i_lock);
	pc___mark_inode_dirty(inode, PC_I_DIRTY_SYNC);
}

PC_EXPORT void pc_setattr_copy(struct pc_inode *inode, const struct pc_iattr *attr)
{
	unsigned v = attr->ia_valid;

	PC_ASSERT_INODE_LOCKED(inode);
	if (v & PC_ATTR_MODE)
		inode->i_mode = (inode->i_mode & S_IFMT) | (attr->ia_mode & 07777);
	if (v & PC_ATTR_UID)
		inode->i_uid = attr->ia_uid;
	if (v & PC_ATTR_GID)
		inode->i_gid = attr->ia_gid;
	/* Times under i_lock, like pc_inode_touch: write_inode reads them
	 * there, possibly from the flusher while we hold only i_rwsem. */
	pthread_mutex_lock(&inode->i_lock);
	if (v & PC_ATTR_ATIME)
		inode->i_atime = attr->ia_atime;
	if (v & PC_ATTR_MTIME)
		inode->i_mtime = attr->ia_mtime;
	if (v & PC_ATTR_CTIME)
		inode->i_ctime = attr->ia_ctime;
	pthread_mutex_unlock(&inode->i_lock);
	if (v & (PC_ATTR_MODE | PC_ATTR_UID | PC_ATTR_GID | PC_ATTR_ATIME | PC_ATTR_MTIME |
		 PC_ATTR_CTIME))
		pc___mark_inode_dirty(inode, PC_I_DIRTY_SYNC);
}

/* Linux's alloc_inode: the filesystem's part, then every generic field. */
static struct pc_inode *alloc_inode(struct pc_super_block *sb)
{
	struct pc_inode *inode;

	if (sb->s_op->alloc_inode)
		inode = sb->s_op->alloc_inode(sb);
	else
		inode = calloc(1, sizeof(*inode));
	if (inode)
		pc_inode_init_once(inode, sb);
	return inode;
}

/* Free an inode that has no pages and is on no list. */
static void destroy_inode(struct pc_inode *inode)
{
	struct pc_super_block *sb = inode->i_sb;

	pc_inode_destroy_once(inode);
	if (sb->s_op->destroy_inode)
		sb->s_op->destroy_inode(inode);
	else
		free(inode);
}

/*
 * Evict an inode already marked I_FREEING, off the hash and s_inodes, with
 * no references: off the writeback lists, let the filesystem drop pages
 * (and free the blocks of an unlinked inode), destroy.
 */
static void evict(struct pc_inode *inode)
{
	struct pc_super_block *sb = inode->i_sb;

	/* Off the dirty lists, after any flusher pass on it (I_SYNC) ends. */
	pc_inode_io_list_del(inode);
	if (sb->s_op->evict_inode)
		sb->s_op->evict_inode(inode);
	if (atomic_load(&inode->i_data.nrpages))
		pc_truncate_inode_pages(&inode->i_data, 0);
	pc_inode_io_list_del(inode);
	destroy_inode(inode);
}

static struct pc_inode *iget_locked(struct pc_super_block *sb, uint64_t ino, bool *is_new)
{
	struct pc_mount *m = pc_sb_mount(sb);
	struct pc_inode *inode, *fresh = NULL;

	*is_new = false;
again:
	pthread_mutex_lock(&sb->s_inode_lock);
	inode = inode_hash_find(sb, ino);
	if (inode) {
		atomic_fetch_add(&inode->i_count, 1);
		while (inode->i_state & PC_I_NEW)
			pthread_cond_wait(&m->inode_wait, &sb->s_inode_lock);
		if (inode->i_state & PC_I_FREEING) {
			/* Its read failed: drop our reference and try (read) again. */
			pthread_mutex_unlock(&sb->s_inode_lock);
			pc_iput(inode);
			goto again;
		}
		pthread_mutex_unlock(&sb->s_inode_lock);
		if (fresh) {
			fresh->i_state = 0;
			destroy_inode(fresh);
		}
		return inode;
	}
	if (!fresh) {
		/* Allocate outside the lock, then look again. */
		pthread_mutex_unlock(&sb->s_inode_lock);
		fresh = alloc_inode(sb);
		if (!fresh)
			return NULL;
		goto again;
	}
	inode = fresh;
	inode->i_ino = ino;
	inode->i_state = PC_I_NEW;
	atomic_store(&inode->i_count, 1);
	pc_list_add(&inode->i_hash, inode_bucket(sb, ino));
	pc_list_add_tail(&inode->i_sb_list, &sb->s_inodes);
	pthread_mutex_unlock(&sb->s_inode_lock);
	*is_new = true;
	return inode;
}

PC_EXPORT struct pc_inode *pc_iget_locked(struct pc_super_block *sb, uint64_t ino)
{
	bool is_new;

	return iget_locked(sb, ino, &is_new);
}

PC_EXPORT bool pc_inode_is_new(struct pc_inode *inode)
{
	bool ret;

	pthread_mutex_lock(&inode->i_lock);
	ret = inode->i_state & PC_I_NEW;
	pthread_mutex_unlock(&inode->i_lock);
	return ret;
}

/* Leave I_NEW (and, if @failed, the hash: I_FREEING), wake the waiters. */
static void inode_end_new(struct pc_inode *inode, bool failed)
{
	struct pc_super_block *sb = inode->i_sb;
	struct pc_mount *m = pc_sb_mount(sb);

	pthread_mutex_lock(&sb->s_inode_lock);
	pthread_mutex_lock(&inode->i_lock);
	PC_BUG_ON(!(inode->i_state & PC_I_NEW));
	inode->i_state &= ~PC_I_NEW;
	if (failed) {
		inode->i_state |= PC_I_FREEING;
		pc_list_del_init(&inode->i_hash);
		pc_list_del_init(&inode->i_sb_list);
	}
	pthread_mutex_unlock(&inode->i_lock);
	pthread_cond_broadcast(&m->inode_wait);
	pthread_mutex_unlock(&sb->s_inode_lock);
}

PC_EXPORT void pc_unlock_new_inode(struct pc_inode *inode)
{
	inode_end_new(inode, false);
}

PC_EXPORT void pc_iget_failed(struct pc_inode *inode)
{
	inode_end_new(inode, true);
	pc_iput(inode);		/* the last reference destroys it */
}

PC_EXPORT int pc_iget(struct pc_super_block *sb, uint64_t ino, struct pc_inode **out)
{
	bool is_new;
	struct pc_inode *inode = iget_locked(sb, ino, &is_new);
	int err;

	if (!inode)
		return -ENOMEM;
	if (!is_new) {
		*out = inode;
		return 0;
	}
	err = sb->s_op->read_inode ? sb->s_op->read_inode(inode) : -ENOENT;
	if (err > 0)
		err = -EIO;
	if (err) {
		pc_iget_failed(inode);
		return err;
	}
	pc_unlock_new_inode(inode);
	*out = inode;
	return 0;
}

PC_EXPORT struct pc_inode *pc_new_inode(struct pc_super_block *sb, uint64_t ino)
{
	struct pc_inode *inode = alloc_inode(sb);

	if (!inode)
		return NULL;
	inode->i_ino = ino;
	inode->i_state = 0;
	atomic_store(&inode->i_count, 1);
	pthread_mutex_lock(&sb->s_inode_lock);
	pc_list_add(&inode->i_hash, inode_bucket(sb, ino));
	pc_list_add_tail(&inode->i_sb_list, &sb->s_inodes);
	pthread_mutex_unlock(&sb->s_inode_lock);
	return inode;
}

PC_EXPORT struct pc_inode *pc_igrab(struct pc_inode *inode)
{
	pthread_mutex_lock(&inode->i_lock);
	if (inode->i_state & (PC_I_FREEING | PC_I_WILL_FREE)) {
		pthread_mutex_unlock(&inode->i_lock);
		return NULL;
	}
	atomic_fetch_add(&inode->i_count, 1);
	pthread_mutex_unlock(&inode->i_lock);
	return inode;
}

PC_EXPORT void pc_iput(struct pc_inode *inode)
{
	struct pc_super_block *sb;
	int c;

	if (!inode)
		return;
	/* Not the last reference: no lock. */
	c = atomic_load_explicit(&inode->i_count, memory_order_relaxed);
	while (c > 1)
		if (atomic_compare_exchange_weak(&inode->i_count, &c, c - 1))
			return;

	sb = inode->i_sb;
	pthread_mutex_lock(&sb->s_inode_lock);
	c = atomic_fetch_sub(&inode->i_count, 1);
	PC_BUG_ON(c <= 0);
	if (c != 1) {
		pthread_mutex_unlock(&sb->s_inode_lock);
		return;
	}
	pthread_mutex_lock(&inode->i_lock);
	if (inode->i_state & PC_I_FREEING) {
		/* A failed read (already unhashed): nothing to evict. */
		pthread_mutex_unlock(&inode->i_lock);
		pthread_mutex_unlock(&sb->s_inode_lock);
		destroy_inode(inode);
		return;
	}
	if (inode->i_state & PC_I_WILL_FREE) {
		/* Unmount waits for this reference to go, then evicts. */
		pthread_mutex_unlock(&inode->i_lock);
		pthread_mutex_unlock(&sb->s_inode_lock);
		return;
	}
	if (inode->i_nlink > 0 || atomic_load(&inode->i_count) != 0) {
		/* Keep it cached (or someone pc_igrab'd it meanwhile). */
		pthread_mutex_unlock(&inode->i_lock);
		pthread_mutex_unlock(&sb->s_inode_lock);
		return;
	}
	inode->i_state |= PC_I_FREEING;
	pc_list_del_init(&inode->i_hash);
	pc_list_del_init(&inode->i_sb_list);
	pthread_mutex_unlock(&inode->i_lock);
	pthread_mutex_unlock(&sb->s_inode_lock);
	evict(inode);
}

void pc_vfs_evict_all(struct pc_super_block *sb)
{
	pthread_mutex_lock(&sb->s_inode_lock);
	while (!pc_list_empty(&sb->s_inodes)) {
		struct pc_inode *inode = pc_list_first_entry(&sb->s_inodes, struct pc_inode, i_sb_list);

		/* No new references from here (pc_igrab and the flusher refuse
		 * I_WILL_FREE); wait for the transient ones (a flusher pass, a
		 * pc_sync) to go. Files are all closed and the root put. */
		pthread_mutex_lock(&inode->i_lock);
		inode->i_state |= PC_I_WILL_FREE;
		pthread_mutex_unlock(&inode->i_lock);
		while (atomic_load(&inode->i_count) != 0) {
			struct timespec ts = { 0, 1000 * 1000 };

			pthread_mutex_unlock(&sb->s_inode_lock);
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&sb->s_inode_lock);
		}
		pthread_mutex_lock(&inode->i_lock);
		inode->i_state |= PC_I_FREEING;
		pthread_mutex_unlock(&inode->i_lock);
		pc_list_del_init(&inode->i_hash);
		pc_list_del_init(&inode->i_sb_list);
		pthread_mutex_unlock(&sb->s_inode_lock);
		evict(inode);
		pthread_mutex_lock(&sb->s_inode_lock);
	}
	pthread_mutex_unlock(&sb->s_inode_lock);
}

/* ---- generic fsync ---- */

PC_EXPORT int pc_generic_file_fsync(struct pc_file *file, loff_t start, loff_t end, int datasync)
{
	struct pc_inode *inode = file->f_inode;
	struct pc_super_block *sb = inode->i_sb;
	unsigned long want = datasync ? PC_I_DIRTY_DATASYNC : PC_I_DIRTY_INODE;
	int err, err2 = 0, err3 = 0;
	bool dirty;

	err = pc_file_write_and_wait_range(file, start, end);

	pthread_mutex_lock(&inode->i_lock);
	dirty = inode->i_state & want;
	if (dirty)
		inode->i_state &= ~PC_I_DIRTY_INODE;
	pthread_mutex_unlock(&inode->i_lock);
	if (dirty && sb->s_op->write_inode) {
		struct pc_writeback_control wbc = {
			.sync_mode = PC_WB_SYNC_ALL,
			.nr_to_write = LONG_MAX,
			.range_start = 0,
			.range_end = INT64_MAX,
		};
		err2 = sb->s_op->write_inode(inode, &wbc);
		if (err2)
			pc___mark_inode_dirty(inode, PC_I_DIRTY_SYNC | PC_I_DIRTY_DATASYNC);
	}
	if (sb->s_op->sync_fs && !sb->s_readonly)
		err3 = sb->s_op->sync_fs(sb, 1);
	if (err)
		return err;
	/* Errors recorded while the metadata went out are reported now too. */
	err = pc_file_check_and_advance_wb_err(file);
	if (err)
		return err;
	return err2 ? err2 : err3;
}
