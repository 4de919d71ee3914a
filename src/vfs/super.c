/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/vfs/super.c - filesystem types, mount and unmount, sync, statistics.
 *
 * Mount (pc_mount):
 *   1. find the type ("ramfs", "ext4" = "ext2" = "ext3");
 *   2. the page pool: the caller's (opts->cache) or a new one we own;
 *   3. a struct pc_mount embedding the super_block, with its inode hash;
 *   4. type->fill_super() sets s_op, block size, s_bdi, s_root_ino...;
 *   5. pc_iget(s_root_ino) gives sb->s_root, held until unmount.
 * Each step undone in reverse on failure; the reason is kept per thread
 * for pc_mount_error().
 *
 * Unmount (pc_umount): close the mount's descriptors, drop the root,
 * pc_sync (every dirty inode written and waited for, then sync_fs), evict
 * every cached inode, put_super (the filesystem closes its device and
 * flusher), free the hash, destroy the pool if we made it. The first
 * error met is returned; the mount is freed regardless.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagecache/mm.h>
#include <pagecache/blkdev.h>
#include "vfs_internal.h"

#if PC_HAVE_EXT2FS
extern const struct pc_fs_type pc_ext4_fs_type;
#endif

struct fs_alias {
	const char *name;
	const struct pc_fs_type *type;
};

static const struct fs_alias fs_types[] = {
	{ "ramfs", &pc_ramfs_fs_type },
#if PC_HAVE_EXT2FS
	{ "ext4", &pc_ext4_fs_type },
	{ "ext3", &pc_ext4_fs_type },
	{ "ext2", &pc_ext4_fs_type },
#endif
};

static const struct pc_fs_type *find_fs_type(const char *name)
{
	for (size_t i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		if (strcmp(fs_types[i].name, name) == 0)
			return fs_types[i].type;
	return NULL;
}

/* ---- per-thread error message ---- */

static __thread char mount_error[256];

void pc_vfs_set_mount_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mount_error, sizeof(mount_error), fmt, ap);
	va_end(ap);
}

PC_EXPORT const char *pc_mount_error(void)
{
	return mount_error;
}

/* The thread's last failure explanation of any call (pc_last_error). */
static __thread char last_error[256];

PC_EXPORT void pc_fs_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

PC_EXPORT const char *pc_last_error(void)
{
	return last_error;
}

PC_EXPORT void pc_clear_last_error(void)
{
	last_error[0] = '\0';
}

/* ---- mount ---- */

#define DEFAULT_CACHE_SIZE ((size_t)256 << 20)

static void mount_free(struct pc_mount *m)
{
	pc_vfs_inode_hash_destroy(&m->sb);
	pthread_mutex_destroy(&m->sb.s_inode_lock);
	pthread_mutex_destroy(&m->sb.s_vfs_rename_mutex);
	pthread_cond_destroy(&m->inode_wait);
	pthread_mutex_destroy(&m->dirs_lock);
	free(m);
}

PC_EXPORT int pc_mount(const char *fstype, const char *source, const struct pc_mount_opts *opts,
		       struct pc_mount **out)
{
	static const struct pc_mount_opts defaults;
	const struct pc_fs_type *type;
	struct pc_mount *m;
	char msg[200] = "";
	int err;

	mount_error[0] = '\0';
	if (!out || !fstype) {
		pc_vfs_set_mount_error("pc_mount: NULL argument");
		return -EINVAL;
	}
	*out = NULL;
	if (!opts)
		opts = &defaults;
	type = find_fs_type(fstype);
	if (!type) {
		pc_vfs_set_mount_error("unknown filesystem type '%s'%s", fstype,
				       strcmp(fstype, "ext4") && strcmp(fstype, "ext3") &&
				       strcmp(fstype, "ext2") ? "" :
				       " (this build has no libext2fs)");
		return -ENODEV;
	}

	m = calloc(1, sizeof(*m));
	if (!m) {
		pc_vfs_set_mount_error("out of memory");
		return -ENOMEM;
	}
	snprintf(m->fstype, sizeof(m->fstype), "%s", fstype);
	pthread_mutex_init(&m->sb.s_inode_lock, NULL);
	pthread_mutex_init(&m->sb.s_vfs_rename_mutex, NULL);
	pthread_cond_init(&m->inode_wait, NULL);
	pthread_mutex_init(&m->dirs_lock, NULL);
	pc_list_init(&m->dirs);
	pc_list_init(&m->sb.s_inodes);
	m->sb.s_type = type;
	m->sb.s_readonly = opts->readonly;
	m->sb.s_dio_hold_i_rwsem = opts->dio_hold_i_rwsem;
	m->sb.s_maxbytes = INT64_MAX;
	m->sb.s_blocksize = PC_PAGE_SIZE;
	m->sb.s_blocksize_bits = PC_PAGE_SHIFT;
	if (opts->ra_kb)
		m->ra_pages = PC_MAX(1u, (unsigned)(((uint64_t)opts->ra_kb << 10) >> PC_PAGE_SHIFT));

	err = pc_vfs_inode_hash_init(&m->sb);
	if (err) {
		pc_vfs_set_mount_error("out of memory");
		goto out_free_mount;
	}

	if (opts->cache) {
		m->cache = opts->cache;
	} else {
		struct pc_cache_params params = {
			.size_bytes = opts->cache_size ? opts->cache_size : DEFAULT_CACHE_SIZE,
		};
		err = pc_cache_create(&params, &m->cache);
		if (err) {
			pc_vfs_set_mount_error("cannot create a page cache of %zu bytes: %s",
					       params.size_bytes, strerror(-err));
			goto out_free_mount;
		}
		m->owns_cache = true;
	}
	m->sb.s_cache = m->cache;

	err = type->fill_super(&m->sb, source, opts, msg, sizeof(msg));
	if (err) {
		if (err > 0)
			err = -EINVAL;	/* a filesystem bug: keep the convention */
		if (msg[0] && source && strstr(msg, source))
			pc_vfs_set_mount_error("%s", msg);	/* names the source already */
		else
			pc_vfs_set_mount_error("%s: %s", source ? source : fstype,
					       msg[0] ? msg : strerror(-err));
		goto out_destroy_cache;
	}
	if (!m->sb.s_op) {
		pc_vfs_set_mount_error("%s: filesystem set no super operations", fstype);
		err = -EINVAL;
		goto out_put_super;
	}

	/* Writeback errors are reported by pc_sync/pc_umount from here on. */
	m->sb.s_wb_err_since = pc_errseq_sample(&m->sb.s_wb_err);
	if (m->sb.s_bdev)
		m->bd_wb_err_since = pc_errseq_sample(&m->sb.s_bdev->bd_mapping.wb_err);

	err = pc_iget(&m->sb, m->sb.s_root_ino, &m->sb.s_root);
	if (err) {
		pc_vfs_set_mount_error("%s: cannot read the root directory (inode %llu): %s",
				       source ? source : fstype,
				       (unsigned long long)m->sb.s_root_ino, strerror(-err));
		goto out_put_super;
	}
	if (!S_ISDIR(m->sb.s_root->i_mode)) {
		pc_vfs_set_mount_error("%s: the root inode is not a directory",
				       source ? source : fstype);
		err = -EUCLEAN;
		goto out_put_root;
	}
	*out = m;
	return 0;

out_put_root:
	pc_iput(m->sb.s_root);
	m->sb.s_root = NULL;
out_put_super:
	pc_vfs_evict_all(&m->sb);
	if (m->sb.s_op && m->sb.s_op->put_super)
		m->sb.s_op->put_super(&m->sb);
out_destroy_cache:
	if (m->owns_cache)
		pc_cache_destroy(m->cache);
out_free_mount:
	mount_free(m);
	return err;
}

PC_EXPORT int pc_sync(struct pc_mount *m)
{
	struct pc_super_block *sb;
	int err, err2 = 0, err3;

	if (!m)
		return -EINVAL;
	sb = &m->sb;
	if (sb->s_readonly)
		return 0;
	err = pc_sync_inodes_sb(sb);
	if (sb->s_op->sync_fs)
		err2 = sb->s_op->sync_fs(sb, 1);
	/*
	 * Data written back earlier by the flusher may have failed: such
	 * errors live only in the errseq counters. Report each once here, so
	 * sync and unmount never claim success for data that did not reach
	 * the disk (syncfs semantics).
	 */
	err3 = pc_errseq_check_and_advance(&sb->s_wb_err, &sb->s_wb_err_since);
	if (sb->s_bdev && !err3)
		err3 = pc_errseq_check_and_advance(&sb->s_bdev->bd_mapping.wb_err,
						   &m->bd_wb_err_since);
	return err ? err : err2 ? err2 : err3;
}

PC_EXPORT const char *pc_mount_warning(struct pc_mount *m)
{
	return m && m->sb.s_warning[0] ? m->sb.s_warning : NULL;
}

PC_EXPORT int pc_umount(struct pc_mount *m)
{
	struct pc_super_block *sb;
	int err;

	if (!m)
		return -EINVAL;
	sb = &m->sb;
	pc_vfs_close_mount_files(m);
	pc_iput(sb->s_root);
	sb->s_root = NULL;
	err = pc_sync(m);
	/* Out of memory is transient: try again before eviction drops what
	 * is still dirty (0 then means every page reached the disk). */
	for (int i = 0; i < 3 && err == -ENOMEM; i++)
		err = pc_sync(m);
	pc_vfs_evict_all(sb);
	/* Evicting removed files frees their blocks: an error met there
	 * (corrupt metadata) has nobody else to reach. */
	if (!err && !sb->s_readonly)
		err = pc_errseq_check_and_advance(&sb->s_wb_err, &sb->s_wb_err_since);
	if (sb->s_op->put_super) {
		sb->s_put_super_err = 0;
		sb->s_op->put_super(sb);
		if (!err)
			err = sb->s_put_super_err;
	}
	if (m->owns_cache)
		pc_cache_destroy(m->cache);
	mount_free(m);
	return err;
}

PC_EXPORT int pc_statfs(struct pc_mount *m, struct pc_statfs *st)
{
	if (!m || !st)
		return -EFAULT;
	memset(st, 0, sizeof(*st));
	st->f_bsize = m->sb.s_blocksize;
	st->f_namelen = PC_NAME_MAX;
	if (!m->sb.s_op->statfs)
		return 0;
	return m->sb.s_op->statfs(&m->sb, st);
}

PC_EXPORT void pc_mount_get_stats(struct pc_mount *m, struct pc_mount_stats *st)
{
	struct pc_cache_stats cs;

	memset(st, 0, sizeof(*st));
	st->direct_note = "";
	if (!m)
		return;
	pc_cache_get_stats(m->cache, &cs);
	st->cache_pages = cs.nr_pages - cs.nr_free;
	st->peak_pages = cs.peak_pages;
	st->hits = cs.hits;
	st->misses = cs.misses;
	st->readahead_pages = cs.readahead_pages;
	st->pages_written = cs.pages_written;
	st->evictions = cs.evictions;
	st->dirty_throttled = cs.dirty_throttled;
	st->alloc_waits = cs.alloc_waits;
	if (m->sb.s_bdev) {
		struct pc_block_device *bdev = m->sb.s_bdev;
		struct pc_bdev_stats bs;

		pc_bdev_get_stats(bdev, &bs);
		st->read_bios = bs.read_bios;
		st->read_bytes = bs.read_bytes;
		st->write_bios = bs.write_bios;
		st->write_bytes = bs.write_bytes;
		st->flushes = bs.flushes;
		st->io_errors = bs.errors;
		st->engine = bdev->bd_engine_name;
		st->direct = bdev->bd_direct;
		st->direct_note = bdev->bd_direct_note;
	}
}

PC_EXPORT int pc_mount_log_mark(struct pc_mount *m, const void *data, size_t len)
{
	if (!m || !m->sb.s_bdev)
		return -EINVAL;
	return pc_bdev_log_mark(m->sb.s_bdev, data, len);
}
