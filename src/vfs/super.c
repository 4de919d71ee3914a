/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/vfs/super.c - filesystem types, mount and unmount, sync, statistics.
 *
 * Mount (pc_mount):
 *   1. find the type among the registered ones (by name or alias: ext4
 *      registers "ext4" with the aliases "ext3" and "ext2") and count a
 *      mount on it, so it cannot be unregistered while mounted;
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
 * flusher), free the hash, destroy the pool if we made it, drop the
 * mount count of the type. The first
 * error met is returned; the mount is freed regardless.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagecache/mm.h>
#include <pagecache/blkdev.h>
#include <pagecache/snap.h>
#include "vfs_internal.h"

/*
 * The registry of filesystem types (Linux's file_systems list, fs/filesystems.c).
 *
 * A list of entries, one per registered struct pc_fs_type, each with the
 * names it answers to (->name and ->aliases) and the count of its live
 * mounts. The list and every entry's fields except @mounts are protected by
 * fs_types_lock: readers (pc_mount's lookup) take it shared, register and
 * unregister exclusive. @mounts is incremented under the shared lock (so
 * unregister, holding it exclusive, sees every mount that found the type)
 * and decremented without it when a mount ends or fails.
 *
 * The filesystems built into the library (ramfs, objfs, ext4) register
 * themselves through pc_register_filesystem, once, from the first call of
 * any registry function or pc_mount (ensure_builtin_types): a constructor
 * in fs/ would be dropped by a static link, as nothing else references
 * those objects; calling them from here keeps them linked.
 */
struct pc_fs_type_entry {
	struct pc_list_head list;
	const struct pc_fs_type *type;
	_Atomic long mounts;
};

static pthread_rwlock_t fs_types_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct pc_list_head fs_types = PC_LIST_HEAD_INIT(fs_types);
static pthread_mutex_t builtin_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool builtin_done;
static __thread bool in_builtin_init;

/* fs/ramfs/ramfs.c and fs/ext4/super.c: register the built-in types. */
int pc_ramfs_register(void);
int pc_objfs_register(void);
#if PC_HAVE_EXT2FS
int pc_ext4_register(void);
#endif

/*
 * Register the built-in types once. Not pthread_once: a registration that
 * failed for want of memory is tried again by the next call, so a
 * transient ENOMEM never leaves "ramfs" unknown for the process's life.
 * The registrations call pc_register_filesystem, which calls us again:
 * @in_builtin_init makes that inner call a no-op.
 */
static void ensure_builtin_types(void)
{
	int err;

	if (in_builtin_init || atomic_load_explicit(&builtin_done, memory_order_acquire))
		return;
	pthread_mutex_lock(&builtin_lock);
	if (!atomic_load_explicit(&builtin_done, memory_order_relaxed)) {
		static bool ramfs_done, objfs_done, ext4_done = !PC_HAVE_EXT2FS;

		in_builtin_init = true;
		if (!ramfs_done) {
			err = pc_ramfs_register();
			ramfs_done = err == 0 || err == -EEXIST;
		}
		if (!objfs_done) {
			err = pc_objfs_register();
			objfs_done = err == 0 || err == -EEXIST;
		}
#if PC_HAVE_EXT2FS
		if (!ext4_done) {
			err = pc_ext4_register();
			ext4_done = err == 0 || err == -EEXIST;
		}
#endif
		in_builtin_init = false;
		if (ramfs_done && objfs_done && ext4_done)
			atomic_store_explicit(&builtin_done, true, memory_order_release);
	}
	pthread_mutex_unlock(&builtin_lock);
}

static bool type_has_name(const struct pc_fs_type *type, const char *name)
{
	if (strcmp(type->name, name) == 0)
		return true;
	for (const char *const *a = type->aliases; a && *a; a++)
		if (strcmp(*a, name) == 0)
			return true;
	return false;
}

/* fs_types_lock held (either way). */
static struct pc_fs_type_entry *find_entry_by_name(const char *name)
{
	struct pc_list_head *pos;

	for (pos = fs_types.next; pos != &fs_types; pos = pos->next) {
		struct pc_fs_type_entry *e = pc_list_entry(pos, struct pc_fs_type_entry, list);

		if (type_has_name(e->type, name))
			return e;
	}
	return NULL;
}

/* fs_types_lock held (either way). */
static struct pc_fs_type_entry *find_entry_by_type(const struct pc_fs_type *type)
{
	struct pc_list_head *pos;

	for (pos = fs_types.next; pos != &fs_types; pos = pos->next) {
		struct pc_fs_type_entry *e = pc_list_entry(pos, struct pc_fs_type_entry, list);

		if (e->type == type)
			return e;
	}
	return NULL;
}

static bool valid_fs_name(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > PC_FS_TYPE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)name[i]) || name[i] == '/')
			return false;
	return true;
}

PC_EXPORT int pc_register_filesystem(const struct pc_fs_type *type)
{
	struct pc_fs_type_entry *e;
	int err = 0;

	if (!type || !type->fill_super || !valid_fs_name(type->name))
		return -EINVAL;
	for (const char *const *a = type->aliases; a && *a; a++) {
		if (!valid_fs_name(*a))
			return -EINVAL;
		if (strcmp(*a, type->name) == 0)
			return -EINVAL;
		for (const char *const *b = type->aliases; b != a; b++)
			if (strcmp(*a, *b) == 0)
				return -EINVAL;
	}
	ensure_builtin_types();
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->type = type;
	atomic_init(&e->mounts, 0);

	pthread_rwlock_wrlock(&fs_types_lock);
	if (find_entry_by_type(type) || find_entry_by_name(type->name)) {
		err = -EEXIST;
	} else {
		for (const char *const *a = type->aliases; a && *a; a++)
			if (find_entry_by_name(*a)) {
				err = -EEXIST;
				break;
			}
	}
	if (!err)
		pc_list_add_tail(&e->list, &fs_types);
	pthread_rwlock_unlock(&fs_types_lock);
	if (err)
		free(e);
	return err;
}

PC_EXPORT int pc_unregister_filesystem(const struct pc_fs_type *type)
{
	struct pc_fs_type_entry *e;
	int err = 0;

	if (!type)
		return -EINVAL;
	ensure_builtin_types();
	pthread_rwlock_wrlock(&fs_types_lock);
	e = find_entry_by_type(type);
	if (!e)
		err = -ENOENT;
	else if (atomic_load(&e->mounts) > 0)
		err = -EBUSY;
	else
		pc_list_del_init(&e->list);
	pthread_rwlock_unlock(&fs_types_lock);
	if (!err)
		free(e);
	return err;
}

/* The entry registered under @name with a mount counted on it, or NULL. */
static struct pc_fs_type_entry *get_fs_type(const char *name)
{
	struct pc_fs_type_entry *e;

	ensure_builtin_types();
	pthread_rwlock_rdlock(&fs_types_lock);
	e = find_entry_by_name(name);
	if (e)
		atomic_fetch_add(&e->mounts, 1);
	pthread_rwlock_unlock(&fs_types_lock);
	return e;
}

static void put_fs_type(struct pc_fs_type_entry *e)
{
	long was = atomic_fetch_sub(&e->mounts, 1);

	PC_BUG_ON(was <= 0);
	(void)was;
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
	put_fs_type(m->fs_type_entry);
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
	struct pc_fs_type_entry *entry;
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
	entry = get_fs_type(fstype);
	if (!entry) {
		pc_vfs_set_mount_error("unknown filesystem type '%s'%s", fstype,
				       PC_HAVE_EXT2FS || (strcmp(fstype, "ext4") &&
							  strcmp(fstype, "ext3") &&
							  strcmp(fstype, "ext2")) ? " (not registered)" :
				       " (this build has no libext2fs)");
		return -ENODEV;
	}
	type = entry->type;

	m = calloc(1, sizeof(*m));
	if (!m) {
		pc_vfs_set_mount_error("out of memory");
		put_fs_type(entry);
		return -ENOMEM;
	}
	m->fs_type_entry = entry;
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

PC_EXPORT int pc_mount_get_snap_stats(struct pc_mount *m, struct pc_mount_snap_stats *st)
{
	struct pc_snap_stats ss;
	unsigned n;
	int err;

	if (!m || !st)
		return -EFAULT;
	memset(st, 0, sizeof(*st));
	if (!m->sb.s_op->snap_stats)
		return -EOPNOTSUPP;
	memset(&ss, 0, sizeof(ss));
	err = m->sb.s_op->snap_stats(&m->sb, &ss);
	if (err)
		return err;
	st->seq = ss.seq;
	st->nr_snaps = ss.nr_snaps;
	st->snapshots = ss.nr_snapshots;
	st->object_writes = ss.nr_writes;
	st->pages_written = ss.nr_pages_written;
	st->write_errors = ss.nr_write_errors;
	st->cap_snaps = ss.nr_cap_snaps;
	st->pending = ss.nr_pending;
	_Static_assert(PC_MOUNT_SNAP_STATS_MAX >= PC_SNAP_STATS_MAX_CTX,
		       "pc_mount_snap_stats holds every context pc_snap_stats reports");
	n = PC_MIN(ss.nr_dirty, (unsigned)PC_SNAP_STATS_MAX_CTX);
	for (unsigned i = 0; i < n; i++) {
		st->dirty[i].seq = ss.dirty[i].seq;
		st->dirty[i].pages = ss.dirty[i].dirty_pages > 0 ? (uint64_t)ss.dirty[i].dirty_pages : 0;
	}
	st->nr_dirty = n;
	return 0;
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
