/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs/ramfs/ramfs.c - a filesystem that lives in memory only.
 *
 * Inodes: every inode stays in the VFS inode cache for its whole life
 * (ramfs never lets the VFS drop a linked inode, so s_op->read_inode only
 * ever sees numbers that no longer exist: -ENOENT). Numbers come from an
 * atomic counter and are never reused; the root is inode 1.
 *
 * Directories: a list of (name, ino, type) entries in creation order, with
 * a hash of the names for lookup. Each entry has a "cookie", its position
 * for readdir: cookies grow with insertion, "." is 0 and ".." is 1, so a
 * listing resumes at the first entry whose cookie is >= ctx->pos even if
 * entries were removed meanwhile. Protected by the directory's i_rwsem
 * (the VFS takes it shared for lookup and iterate, exclusive for changes).
 *
 * Symlinks: the target string in i_private (i_size is its length).
 *
 * Regular files: the page cache is the only copy of the data, with the
 * seed's simple_write_begin/simple_write_end/simple_readpage. A page that
 * holds written data must never be dropped by reclaim, and it must not
 * count as dirty (nothing could ever clean it: the writers would be
 * throttled forever and the flusher would spin). So ramfs's set_page_dirty
 * does not set PC_PG_dirty: it pins the page instead, taking one page
 * reference that it records with PC_PG_private. Reclaim only frees pages
 * nobody else references and asks releasepage (which refuses) before
 * dropping private state; truncate calls invalidatepage for the whole page,
 * which gives the pin back. A page of a hole that was only read stays
 * unpinned (it is zeros; dropping it loses nothing).
 *
 * Capacity: bounded by the page cache. When every frame is pinned, page
 * allocation fails and a write returns -ENOSPC (after the allocator's
 * retry period). pc_statfs reports the cache size and its free frames.
 *
 * ramfs has its own backing_dev (s_bdi) whose flusher never finds
 * anything to write: no ramfs page is ever dirty, and write_inode is a
 * no-op.
 */
#include <dirent.h>
#include <stdio.h>
#include <time.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Only the filesystem author's API, like any filesystem outside the tree. */
#include <pagecache/fs.h>

#define RAMFS_ROOT_INO 1
#define RAMFS_NAME_MAX 255
/* page->private of a pinned page (PC_PG_private set). */
#define RAMFS_PAGE_PINNED 0x52414d46UL

struct ramfs_sb {
	struct pc_backing_dev bdi;
	_Atomic uint64_t next_ino;
	_Atomic long nr_inodes;
};

struct ramfs_dirent {
	struct pc_list_head list;	/* dir->entries, cookie order */
	struct ramfs_dirent *hnext;	/* hash chain */
	uint64_t ino;
	loff_t cookie;
	uint32_t hash;
	unsigned char type;		/* DT_* */
	size_t len;
	char name[];
};

struct ramfs_dir {
	struct pc_list_head entries;
	struct ramfs_dirent **buckets;
	size_t nbuckets;
	size_t count;
	loff_t next_cookie;
};

struct ramfs_inode {
	struct pc_inode vfs;
	uint64_t parent;	/* directories: the ino of ".." */
	struct ramfs_dir dir;	/* directories */
};

static inline struct ramfs_inode *RAMFS_I(struct pc_inode *inode)
{
	return pc_container_of(inode, struct ramfs_inode, vfs);
}

static inline struct ramfs_sb *RAMFS_SB(struct pc_super_block *sb)
{
	return sb->s_fs_info;
}

static const struct pc_inode_operations ramfs_dir_iops;
static const struct pc_inode_operations ramfs_file_iops;
static const struct pc_inode_operations ramfs_symlink_iops;
static const struct pc_file_operations ramfs_file_fops;
static const struct pc_file_operations ramfs_dir_fops;
static const struct pc_address_space_operations ramfs_aops;

static void ramfs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* Times of a changed directory (its lock held). No writeback to do. */
static void ramfs_dir_changed(struct pc_inode *dir)
{
	struct timespec now;

	ramfs_now(&now);
	pc_inode_set_times(dir, PC_ATTR_MTIME | PC_ATTR_CTIME, &now);
}

/* ---- directory entries ---- */

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

static int dir_init(struct ramfs_dir *d)
{
	pc_list_init(&d->entries);
	d->nbuckets = 16;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	d->count = 0;
	d->next_cookie = 2;	/* 0 is ".", 1 is ".." */
	return d->buckets ? 0 : -ENOMEM;
}

static void dir_free(struct ramfs_dir *d)
{
	struct pc_list_head *pos, *n;

	if (!d->buckets)
		return;
	pc_list_for_each_safe(pos, n, &d->entries)
		free(pc_list_entry(pos, struct ramfs_dirent, list));
	pc_list_init(&d->entries);
	free(d->buckets);
	d->buckets = NULL;
	d->count = 0;
}

static struct ramfs_dirent *dir_find(struct ramfs_dir *d, const char *name, size_t len)
{
	uint32_t h = name_hash(name, len);

	for (struct ramfs_dirent *e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

/* Double the hash when it gets crowded; on ENOMEM keep the old one. */
static void dir_maybe_grow(struct ramfs_dir *d)
{
	struct ramfs_dirent **nb;
	size_t nn = d->nbuckets * 2;
	struct pc_list_head *pos;

	if (d->count < d->nbuckets * 2)
		return;
	nb = calloc(nn, sizeof(*nb));
	if (!nb)
		return;
	for (pos = d->entries.next; pos != &d->entries; pos = pos->next) {
		struct ramfs_dirent *e = pc_list_entry(pos, struct ramfs_dirent, list);
		size_t b = e->hash & (nn - 1);

		e->hnext = nb[b];
		nb[b] = e;
	}
	free(d->buckets);
	d->buckets = nb;
	d->nbuckets = nn;
}

static struct ramfs_dirent *dirent_new(const char *name, size_t len, uint64_t ino, unsigned char type)
{
	struct ramfs_dirent *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->len = len;
	e->hash = name_hash(name, len);
	e->ino = ino;
	e->type = type;
	e->hnext = NULL;
	return e;
}

/* Append @e (fresh cookie). */
static void dir_insert(struct ramfs_dir *d, struct ramfs_dirent *e)
{
	size_t b;

	dir_maybe_grow(d);
	b = e->hash & (d->nbuckets - 1);
	e->cookie = d->next_cookie++;
	e->hnext = d->buckets[b];
	d->buckets[b] = e;
	pc_list_add_tail(&e->list, &d->entries);
	d->count++;
}

static void dir_remove(struct ramfs_dir *d, struct ramfs_dirent *e)
{
	struct ramfs_dirent **pp = &d->buckets[e->hash & (d->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	pc_list_del_init(&e->list);
	d->count--;
}

/* ---- inodes ---- */

static struct pc_inode *ramfs_alloc_inode(struct pc_super_block *sb)
{
	struct ramfs_inode *ri = calloc(1, sizeof(*ri));

	if (!ri)
		return NULL;
	/* The VFS initialises the generic part (ri->vfs) after we return. */
	pc_list_init(&ri->dir.entries);
	atomic_fetch_add(&RAMFS_SB(sb)->nr_inodes, 1);
	return &ri->vfs;
}

static void ramfs_destroy_inode(struct pc_inode *inode)
{
	struct ramfs_inode *ri = RAMFS_I(inode);

	atomic_fetch_sub(&RAMFS_SB(inode->i_sb)->nr_inodes, 1);
	dir_free(&ri->dir);
	free(inode->i_private);
	free(ri);
}

static int ramfs_read_inode(struct pc_inode *inode)
{
	/* Live ramfs inodes never leave the cache: this number is gone. */
	return -ENOENT;
}

static int ramfs_write_inode(struct pc_inode *inode, struct pc_writeback_control *wbc)
{
	return 0;
}

static void ramfs_evict_inode(struct pc_inode *inode)
{
	/* Gives every page's pin back (invalidatepage) and frees them. */
	pc_truncate_inode_pages(&inode->i_data, 0);
	dir_free(&RAMFS_I(inode)->dir);
}

static int ramfs_sync_fs(struct pc_super_block *sb, int wait)
{
	return 0;
}

static int ramfs_statfs(struct pc_super_block *sb, struct pc_statfs *buf)
{
	struct pc_cache_stats cs;

	pc_cache_get_stats(sb->s_cache, &cs);
	buf->f_bsize = PC_PAGE_SIZE;
	buf->f_blocks = cs.nr_pages;
	buf->f_bfree = cs.nr_free;
	buf->f_bavail = cs.nr_free;
	buf->f_ffree = (uint64_t)1 << 32;
	buf->f_files = (uint64_t)atomic_load(&RAMFS_SB(sb)->nr_inodes) + buf->f_ffree;
	buf->f_namelen = RAMFS_NAME_MAX;
	return 0;
}

static void ramfs_put_super(struct pc_super_block *sb)
{
	struct ramfs_sb *fsi = RAMFS_SB(sb);

	pc_bdi_destroy(&fsi->bdi);
	free(fsi);
	sb->s_fs_info = NULL;
}

static const struct pc_super_operations ramfs_sops = {
	.alloc_inode = ramfs_alloc_inode,
	.destroy_inode = ramfs_destroy_inode,
	.read_inode = ramfs_read_inode,
	.write_inode = ramfs_write_inode,
	.evict_inode = ramfs_evict_inode,
	.sync_fs = ramfs_sync_fs,
	.statfs = ramfs_statfs,
	.put_super = ramfs_put_super,
};

/*
 * A new inode of type @mode (file type and permission bits) in @dir,
 * referenced and hashed, not yet linked anywhere.
 */
static int ramfs_get_inode(struct pc_super_block *sb, struct pc_inode *dir, mode_t mode,
			   struct pc_inode **out)
{
	struct ramfs_sb *fsi = RAMFS_SB(sb);
	uint64_t ino = atomic_fetch_add(&fsi->next_ino, 1);
	struct pc_inode *inode = pc_new_inode(sb, ino);
	struct ramfs_inode *ri;

	if (!inode)
		return -ENOMEM;
	ri = RAMFS_I(inode);
	inode->i_mode = mode;
	inode->i_uid = geteuid();
	inode->i_gid = getegid();
	inode->i_blkbits = PC_PAGE_SHIFT;
	switch (mode & S_IFMT) {
	case S_IFDIR:
		if (dir_init(&ri->dir)) {
			inode->i_nlink = 0;
			pc_iput(inode);		/* evicts it */
			return -ENOMEM;
		}
		inode->i_nlink = 2;
		ri->parent = dir ? dir->i_ino : ino;
		pc_inode_set_ops(inode, &ramfs_dir_iops, &ramfs_dir_fops, NULL);
		break;
	case S_IFLNK:
		inode->i_nlink = 1;
		pc_inode_set_ops(inode, &ramfs_symlink_iops, NULL, NULL);
		break;
	default:
		inode->i_nlink = 1;
		pc_inode_set_ops(inode, &ramfs_file_iops, &ramfs_file_fops, &ramfs_aops);
		break;
	}
	*out = inode;
	return 0;
}

/* Undo ramfs_get_inode after a later failure. */
static void ramfs_discard_inode(struct pc_inode *inode)
{
	inode->i_nlink = 0;
	pc_iput(inode);
}

/* ---- directory operations (dir i_rwsem held by the VFS) ---- */

static int ramfs_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	struct ramfs_inode *rd = RAMFS_I(dir);
	struct ramfs_dirent *e;

	if (len == 1 && name[0] == '.') {
		*ino = dir->i_ino;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*ino = rd->parent;
		return 0;
	}
	if (!rd->dir.buckets)
		return -ENOENT;
	e = dir_find(&rd->dir, name, len);
	if (!e)
		return -ENOENT;
	*ino = e->ino;
	return 0;
}

static int ramfs_mknod(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		       const char *target, struct pc_inode **out)
{
	struct ramfs_inode *rd = RAMFS_I(dir);
	struct ramfs_dirent *e;
	struct pc_inode *inode;
	int err;

	if (len > RAMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (dir_find(&rd->dir, name, len))
		return -EEXIST;
	err = ramfs_get_inode(dir->i_sb, dir, mode, &inode);
	if (err)
		return err;
	if (target) {
		size_t tl = strlen(target);

		inode->i_private = malloc(tl + 1);
		if (!inode->i_private) {
			ramfs_discard_inode(inode);
			return -ENOMEM;
		}
		memcpy(inode->i_private, target, tl + 1);
		pc_i_size_write(inode, (loff_t)tl);
	}
	e = dirent_new(name, len, inode->i_ino, (unsigned char)IFTODT(mode));
	if (!e) {
		ramfs_discard_inode(inode);
		return -ENOMEM;
	}
	dir_insert(&rd->dir, e);
	if (S_ISDIR(mode))
		dir->i_nlink++;
	ramfs_dir_changed(dir);
	*out = inode;
	return 0;
}

static int ramfs_create(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
			struct pc_inode **out)
{
	return ramfs_mknod(dir, name, len, S_IFREG | (mode & 07777), NULL, out);
}

static int ramfs_mkdir(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		       struct pc_inode **out)
{
	return ramfs_mknod(dir, name, len, S_IFDIR | (mode & 07777), NULL, out);
}

static int ramfs_symlink(struct pc_inode *dir, const char *name, size_t len, const char *target,
			 struct pc_inode **out)
{
	return ramfs_mknod(dir, name, len, S_IFLNK | 0777, target, out);
}

static int ramfs_unlink(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	struct ramfs_inode *rd = RAMFS_I(dir);
	struct ramfs_dirent *e = dir_find(&rd->dir, name, len);
	struct timespec now;

	if (!e || e->ino != victim->i_ino)
		return -ENOENT;
	if (S_ISDIR(victim->i_mode))
		return -EISDIR;
	dir_remove(&rd->dir, e);
	free(e);
	if (victim->i_nlink > 0)
		victim->i_nlink--;
	ramfs_now(&now);
	pc_inode_set_times(victim, PC_ATTR_CTIME, &now);
	ramfs_dir_changed(dir);
	return 0;
}

static int ramfs_rmdir(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	struct ramfs_inode *rd = RAMFS_I(dir);
	struct ramfs_dirent *e = dir_find(&rd->dir, name, len);

	if (!e || e->ino != victim->i_ino)
		return -ENOENT;
	if (!S_ISDIR(victim->i_mode))
		return -ENOTDIR;
	if (RAMFS_I(victim)->dir.count)
		return -ENOTEMPTY;
	dir_remove(&rd->dir, e);
	free(e);
	victim->i_nlink = 0;
	dir->i_nlink--;
	ramfs_dir_changed(dir);
	return 0;
}

static int ramfs_rename(struct pc_inode *odir, const char *oname, size_t olen, struct pc_inode *ndir,
			const char *nname, size_t nlen, struct pc_inode *source,
			struct pc_inode *victim, unsigned flags)
{
	struct ramfs_inode *rod = RAMFS_I(odir), *rnd = RAMFS_I(ndir);
	struct ramfs_dirent *oe, *ve = NULL, *ne;
	bool isdir = S_ISDIR(source->i_mode);
	struct timespec now;

	if (flags)
		return -EINVAL;
	if (nlen > RAMFS_NAME_MAX)
		return -ENAMETOOLONG;
	oe = dir_find(&rod->dir, oname, olen);
	if (!oe || oe->ino != source->i_ino)
		return -ENOENT;
	if (victim) {
		ve = dir_find(&rnd->dir, nname, nlen);
		if (!ve || ve->ino != victim->i_ino)
			return -ENOENT;
		if (isdir && !S_ISDIR(victim->i_mode))
			return -ENOTDIR;
		if (!isdir && S_ISDIR(victim->i_mode))
			return -EISDIR;
		if (S_ISDIR(victim->i_mode) && RAMFS_I(victim)->dir.count)
			return -ENOTEMPTY;
	} else if (dir_find(&rnd->dir, nname, nlen)) {
		return -EEXIST;	/* the VFS passes the victim; be safe */
	}
	ne = dirent_new(nname, nlen, source->i_ino, oe->type);
	if (!ne)
		return -ENOMEM;

	ramfs_now(&now);
	if (ve) {
		dir_remove(&rnd->dir, ve);
		free(ve);
		if (S_ISDIR(victim->i_mode)) {
			victim->i_nlink = 0;
			ndir->i_nlink--;
		} else if (victim->i_nlink > 0) {
			victim->i_nlink--;
		}
		pc_inode_set_times(victim, PC_ATTR_CTIME, &now);
	}
	dir_remove(&rod->dir, oe);
	free(oe);
	dir_insert(&rnd->dir, ne);
	if (isdir && odir != ndir) {
		RAMFS_I(source)->parent = ndir->i_ino;
		odir->i_nlink--;
		ndir->i_nlink++;
	}
	pc_inode_set_times(source, PC_ATTR_CTIME, &now);
	pc_inode_set_times(odir, PC_ATTR_MTIME | PC_ATTR_CTIME, &now);
	pc_inode_set_times(ndir, PC_ATTR_MTIME | PC_ATTR_CTIME, &now);
	return 0;
}

static int ramfs_iterate(struct pc_file *file, struct pc_dir_context *ctx)
{
	struct pc_inode *dir = file->f_inode;
	struct ramfs_inode *rd = RAMFS_I(dir);
	struct pc_list_head *pos;

	if (ctx->pos == 0) {
		if (!ctx->actor(ctx, ".", 1, dir->i_ino, DT_DIR))
			return 0;
		ctx->pos = 1;
	}
	if (ctx->pos == 1) {
		if (!ctx->actor(ctx, "..", 2, rd->parent, DT_DIR))
			return 0;
		ctx->pos = 2;
	}
	for (pos = rd->dir.entries.next; pos != &rd->dir.entries; pos = pos->next) {
		struct ramfs_dirent *e = pc_list_entry(pos, struct ramfs_dirent, list);

		if (e->cookie < ctx->pos)
			continue;
		ctx->pos = e->cookie;
		if (!ctx->actor(ctx, e->name, e->len, e->ino, e->type))
			return 0;
		ctx->pos = e->cookie + 1;
	}
	if (ctx->pos < rd->dir.next_cookie)
		ctx->pos = rd->dir.next_cookie;
	return 0;
}

/* ---- attributes ---- */

static void ramfs_update_blocks(struct pc_inode *inode)
{
	inode->i_blocks = (uint64_t)atomic_load(&inode->i_data.nrpages) << (PC_PAGE_SHIFT - 9);
}

static int ramfs_setattr(struct pc_inode *inode, const struct pc_iattr *attr)
{
	if (attr->ia_valid & PC_ATTR_SIZE) {
		if (!S_ISREG(inode->i_mode))
			return -EINVAL;
		pc_truncate_setsize(inode, attr->ia_size);
		ramfs_update_blocks(inode);
	}
	pc_setattr_copy(inode, attr);
	return 0;
}

static ssize_t ramfs_readlink(struct pc_inode *inode, char *buf, size_t size)
{
	const char *target = inode->i_private;
	size_t n;

	if (!target)
		return -EINVAL;
	n = strlen(target);
	if (n > size)
		n = size;
	memcpy(buf, target, n);
	return (ssize_t)n;
}

static const struct pc_inode_operations ramfs_dir_iops = {
	.lookup = ramfs_lookup,
	.create = ramfs_create,
	.mkdir = ramfs_mkdir,
	.unlink = ramfs_unlink,
	.rmdir = ramfs_rmdir,
	.rename = ramfs_rename,
	.symlink = ramfs_symlink,
	.setattr = ramfs_setattr,
};

static const struct pc_inode_operations ramfs_file_iops = {
	.setattr = ramfs_setattr,
};

static const struct pc_inode_operations ramfs_symlink_iops = {
	.readlink = ramfs_readlink,
	.setattr = ramfs_setattr,
};

/* ---- file operations ---- */

/* Nothing to make durable: memory is all there is. */
static int ramfs_fsync(struct pc_file *file, loff_t start, loff_t end, int datasync)
{
	return 0;
}

/*
 * SEEK_DATA/SEEK_HOLE (shmem's way): data is the pinned pages, the ones
 * written (a page of a hole that was only read is unpinned zeros). Inode
 * lock shared: writers, which pin pages and move i_size, are excluded.
 */
static loff_t ramfs_llseek(struct pc_file *file, loff_t offset, int whence)
{
	struct pc_inode *inode = file->f_inode;
	loff_t size, ret;

	pc_inode_lock_shared(inode);
	size = pc_i_size_read(inode);
	if (offset >= size) {
		ret = -ENXIO;
	} else {
		ret = pc_mapping_seek_hole_data(inode->i_mapping, offset, size, whence,
						1UL << PC_PG_private);
		if (whence == SEEK_DATA && ret >= size)
			ret = -ENXIO;
	}
	pc_inode_unlock_shared(inode);
	return ret;
}

static const struct pc_file_operations ramfs_file_fops = {
	.read_iter = pc_generic_file_read_iter,
	.write_iter = pc_generic_file_write_iter,
	.fsync = ramfs_fsync,
	.llseek = ramfs_llseek,
};

static const struct pc_file_operations ramfs_dir_fops = {
	.iterate = ramfs_iterate,
	.fsync = ramfs_fsync,
};

/* ---- address space operations ---- */

/*
 * set_page_dirty: pin the page instead of dirtying it (see the top of the
 * file). Page locked and referenced by the caller. True if newly pinned.
 */
static bool ramfs_set_page_dirty(struct pc_page *page)
{
	if (pc_PagePrivate(page))
		return false;
	pc_get_page(page);
	page->private = RAMFS_PAGE_PINNED;
	pc_SetPagePrivate(page);
	return true;
}

/* Truncate: the whole page is going away: give its pin back. */
static void ramfs_invalidatepage(struct pc_page *page, unsigned offset, unsigned length)
{
	if (offset != 0 || length < PC_PAGE_SIZE)
		return;		/* a partial page stays (and keeps its data) */
	if (!pc_PagePrivate(page))
		return;
	pc_ClearPagePrivate(page);
	page->private = 0;
	pc_put_page(page);	/* the caller still holds its own reference */
}

/* Reclaim asks: a pinned page holds the only copy of its data. */
static bool ramfs_releasepage(struct pc_page *page)
{
	return !pc_PagePrivate(page);
}

/*
 * Never called in practice (no ramfs page is ever PC_PG_dirty); if it is,
 * keep the page: redirty (which pins it) and unlock.
 */
static int ramfs_writepage(struct pc_page *page, struct pc_writeback_control *wbc)
{
	pc_redirty_page_for_writepage(wbc, page);
	pc_unlock_page(page);
	return 0;
}

static int ramfs_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			     unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata)
{
	int err = pc_simple_write_begin(file, mapping, pos, len, flags, pagep, fsdata);

	/* No frame to be had: every one holds ramfs data (or is pinned). */
	return err == -ENOMEM ? -ENOSPC : err;
}

static int ramfs_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			   unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	int ret = pc_simple_write_end(file, mapping, pos, len, copied, page, fsdata);

	ramfs_update_blocks(mapping->host);
	return ret;
}

/*
 * O_DIRECT on a memory filesystem: the cache IS the storage, so there is
 * nothing to bypass. Like tmpfs since Linux 6.6 the transfer goes through
 * the cache; unlike it, the alignment rules are kept (RAMFS_DIO_ALIGN, see
 * pc_fdioalign) so a program that runs here runs on a real filesystem too.
 */
#define RAMFS_DIO_ALIGN 512

static ssize_t ramfs_direct_IO(struct pc_kiocb *iocb, struct pc_iov_iter *iter)
{
	struct pc_kiocb buffered = *iocb;
	int err = pc_check_dio_alignment(iter, iocb->ki_pos, RAMFS_DIO_ALIGN);

	if (err)
		return err;
	buffered.ki_flags &= ~(unsigned)PC_IOCB_DIRECT;
	if (iter->dir == PC_WRITE)
		return pc_generic_perform_write(iocb->ki_filp, iter, iocb->ki_pos);
	return pc_generic_file_read_iter(&buffered, iter);
}

static const struct pc_address_space_operations ramfs_aops = {
	.direct_IO = ramfs_direct_IO,
	.readpage = pc_simple_readpage,
	.write_begin = ramfs_write_begin,
	.write_end = ramfs_write_end,
	.set_page_dirty = ramfs_set_page_dirty,
	.invalidatepage = ramfs_invalidatepage,
	.releasepage = ramfs_releasepage,
	.writepage = ramfs_writepage,
};

/* ---- mount ---- */

static int ramfs_fill_super(struct pc_super_block *sb, const char *source,
			    const struct pc_mount_opts *opts, char *msg, size_t msglen)
{
	struct ramfs_sb *fsi;
	struct pc_inode *root;
	int err;

	if (opts && opts->bdev) {
		if (msg)
			snprintf(msg, msglen, "ramfs has no block device (pc_mount_opts.bdev)");
		return -EINVAL;
	}
	fsi = calloc(1, sizeof(*fsi));
	if (!fsi)
		return -ENOMEM;
	atomic_init(&fsi->next_ino, RAMFS_ROOT_INO);
	atomic_init(&fsi->nr_inodes, 0);
	err = pc_bdi_init(&fsi->bdi, sb->s_cache, "ramfs");
	if (err) {
		if (msg)
			snprintf(msg, msglen, "ramfs: cannot start its flusher: %s", strerror(-err));
		free(fsi);
		return err;
	}
	/* A miss in ramfs is a hole: reading ahead would only fill frames
	 * with zeros. Keep the window tiny. */
	fsi->bdi.ra_pages = 4;
	sb->s_fs_info = fsi;
	sb->s_op = &ramfs_sops;
	pc_sb_set_blocksize(sb, PC_PAGE_SIZE);
	sb->s_maxbytes = INT64_MAX;
	sb->s_dio_align = RAMFS_DIO_ALIGN;
	sb->s_bdev = NULL;
	sb->s_bdi = &fsi->bdi;
	sb->s_root_ino = RAMFS_ROOT_INO;

	err = ramfs_get_inode(sb, NULL, S_IFDIR | 0755, &root);
	if (err) {
		if (msg)
			snprintf(msg, msglen, "ramfs: cannot allocate the root directory");
		ramfs_put_super(sb);
		return err;
	}
	/* The VFS's pc_iget(root) finds it in the inode cache. */
	pc_iput(root);
	return 0;
}

PC_EXPORT const struct pc_fs_type pc_ramfs_fs_type = {
	.name = "ramfs",
	.fill_super = ramfs_fill_super,
};

/* Called once by the VFS registry (src/vfs/super.c) before its first use. */
int pc_ramfs_register(void);
int pc_ramfs_register(void)
{
	return pc_register_filesystem(&pc_ramfs_fs_type);
}
