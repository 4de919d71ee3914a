// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fs/objfs/dir.c - objfs directories: the entries of a "<ino>.dir" object
 * in memory (a list in creation order, for readdir cookies, and a hash of
 * the names), and the namespace operations, which write the objects they
 * change before they return. Protected by the directory's i_rwsem (the
 * VFS's: exclusive for changes, shared for lookup and iterate).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "objfs_int.h"

/* ---- directories in memory ---- */

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

int objfs_dir_init(struct objfs_dir *d, uint64_t parent)
{
	pc_list_init(&d->entries);
	d->nbuckets = 16;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	d->count = 0;
	d->bytes = 0;
	d->next_cookie = 2;
	d->parent = parent;
	return d->buckets ? 0 : -ENOMEM;
}

void objfs_dir_free(struct objfs_dir *d)
{
	struct pc_list_head *pos, *n;

	if (!d->buckets)
		return;
	pc_list_for_each_safe(pos, n, &d->entries)
		free(pc_list_entry(pos, struct objfs_dirent, list));
	pc_list_init(&d->entries);
	free(d->buckets);
	d->buckets = NULL;
	d->count = 0;
}

static struct objfs_dirent *dir_find(struct objfs_dir *d, const char *name, size_t len)
{
	uint32_t h = name_hash(name, len);

	if (!d->buckets)
		return NULL;
	for (struct objfs_dirent *e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

static void dir_maybe_grow(struct objfs_dir *d)
{
	size_t nn = d->nbuckets * 2;
	struct objfs_dirent **nb;
	struct pc_list_head *pos;

	if (d->count < d->nbuckets * 2)
		return;
	nb = calloc(nn, sizeof(*nb));
	if (!nb)
		return;
	for (pos = d->entries.next; pos != &d->entries; pos = pos->next) {
		struct objfs_dirent *e = pc_list_entry(pos, struct objfs_dirent, list);
		size_t b = e->hash & (nn - 1);

		e->hnext = nb[b];
		nb[b] = e;
	}
	free(d->buckets);
	d->buckets = nb;
	d->nbuckets = nn;
}

static struct objfs_dirent *dirent_new(const char *name, size_t len, uint64_t ino, unsigned char type)
{
	struct objfs_dirent *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->len = (unsigned char)len;
	e->hash = name_hash(name, len);
	e->ino = ino;
	e->type = type;
	e->hnext = NULL;
	return e;
}

static void dir_insert(struct objfs_dir *d, struct objfs_dirent *e)
{
	size_t b;

	dir_maybe_grow(d);
	b = e->hash & (d->nbuckets - 1);
	e->cookie = d->next_cookie++;
	e->hnext = d->buckets[b];
	d->buckets[b] = e;
	pc_list_add_tail(&e->list, &d->entries);
	d->count++;
	d->bytes += 10 + e->len;
}

static void dir_remove(struct objfs_dir *d, struct objfs_dirent *e)
{
	struct objfs_dirent **pp = &d->buckets[e->hash & (d->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	pc_list_del_init(&e->list);
	d->count--;
	d->bytes -= 10 + e->len;
}

/* Write directory @dir's object from its in-memory entries. */
static int objfs_store_dir(struct pc_inode *dir)
{
	struct objfs_dir *d = &OBJFS_I(dir)->dir;
	size_t len = OBJFS_DIR_HDR + d->bytes, off = OBJFS_DIR_HDR;
	unsigned char *buf = malloc(len);
	char oid[OBJFS_OID_LEN];
	struct pc_list_head *pos;
	int err;

	if (!buf)
		return -ENOMEM;
	objfs_encode_dir_hdr(buf, dir->i_ino, d->parent, (uint32_t)d->count);
	for (pos = d->entries.next; pos != &d->entries; pos = pos->next) {
		struct objfs_dirent *e = pc_list_entry(pos, struct objfs_dirent, list);

		off += objfs_encode_dirent(buf + off, e->ino, e->type, e->name, e->len);
	}
	objfs_oid_dir(oid, dir->i_ino);
	err = objfs_put(OBJFS_SB(dir->i_sb), oid, buf, len);	/* snap_rwsem held shared */
	free(buf);
	return err;
}

static int dir_load_one(void *arg, const struct objfs_dirent_rec *r)
{
	struct objfs_dir *d = arg;
	struct objfs_dirent *e;

	if (dir_find(d, r->name, r->len))
		return -EUCLEAN;	/* a name twice */
	e = dirent_new(r->name, r->len, r->ino, r->type);
	if (!e)
		return -ENOMEM;
	dir_insert(d, e);
	return 0;
}

/* Read directory @inode's object into memory. */
int objfs_load_dir(struct pc_inode *inode)
{
	struct objfs_sb *sbi = OBJFS_SB(inode->i_sb);
	struct objfs_inode *oi = OBJFS_I(inode);
	struct objfs_dir *d = &oi->dir;
	char oid[OBJFS_OID_LEN], why[200];
	unsigned char *buf;
	uint64_t size = 0, parent = 0;
	size_t got;
	int err;

	objfs_oid_dir(oid, oi->ino);
	err = objfs_stat_at(sbi, oi->snapid, oid, &size);
	if (err == -ENOENT) {
		pc_fs_set_error("objfs: directory %" PRIx64 ": object %s is missing", inode->i_ino, oid);
		return -EUCLEAN;
	}
	if (err)
		return err;
	if (size > OBJFS_DIR_OBJ_MAX || size < OBJFS_DIR_HDR) {
		pc_fs_set_error("objfs: directory %" PRIx64 ": object of %" PRIu64 " bytes", inode->i_ino,
				size);
		return -EUCLEAN;
	}
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	err = objfs_read_at(sbi, oi->snapid, oid, 0, buf, size, &got);
	if (!err && objfs_dir_init(d, 0))
		err = -ENOMEM;
	if (!err) {
		why[0] = '\0';
		err = objfs_decode_dir(buf, got, oi->ino, &parent, dir_load_one, d, why,
				       sizeof(why));
		if (err == -EUCLEAN && !why[0])
			snprintf(why, sizeof(why), "directory %" PRIx64 ": a name appears twice",
				 inode->i_ino);
		if (err == -EUCLEAN)
			pc_fs_set_error("objfs: %s", why);
		d->parent = parent;
		if (err)
			objfs_dir_free(d);
	}
	free(buf);
	return err;
}

/* ---- namespace operations (the VFS holds the directory's i_rwsem) ---- */

static unsigned char mode_dt(mode_t mode)
{
	return S_ISDIR(mode) ? DT_DIR : S_ISLNK(mode) ? DT_LNK : DT_REG;
}

/* The VFS inode number of @dir's parent: in a snapshot, the snapshot's
 * inode, and the root's ".snap" directory above a snapshot's root. */
uint64_t objfs_dir_parent_vino(struct pc_inode *dir)
{
	struct objfs_inode *od = OBJFS_I(dir);

	if (!od->slot)
		return od->dir.parent;
	if (od->ino == OBJFS_SB(dir->i_sb)->root_ino)
		return OBJFS_VINO(OBJFS_SLOT_SNAPDIR, od->ino);
	return OBJFS_VINO(od->slot, od->dir.parent);
}

static bool is_snapdir_name(const char *name, size_t len)
{
	return len == 5 && !memcmp(name, ".snap", 5);
}

/* i_op->lookup of head and snapshot directories. ".snap" in a head
 * directory is its virtual snapshot directory (snap.c). */
static int objfs_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	struct objfs_inode *od = OBJFS_I(dir);
	struct objfs_dirent *e;

	if (len == 1 && name[0] == '.') {
		*ino = dir->i_ino;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*ino = objfs_dir_parent_vino(dir);
		return 0;
	}
	if (is_snapdir_name(name, len)) {
		if (od->slot)
			return -ENOENT;		/* no .snap inside a snapshot */
		*ino = OBJFS_VINO(OBJFS_SLOT_SNAPDIR, od->ino);
		return 0;
	}
	e = dir_find(&od->dir, name, len);
	if (!e)
		return -ENOENT;
	*ino = OBJFS_VINO(od->slot, e->ino);
	return 0;
}

/* The directory changed: times, and its inode object later. */
static void objfs_dir_changed(struct pc_inode *dir)
{
	objfs_touch(dir, PC_ATTR_MTIME | PC_ATTR_CTIME);
	pc_mark_inode_dirty(dir);
}

static int objfs_mknod(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		       const char *target, struct pc_inode **out)
{
	struct pc_super_block *sb = dir->i_sb;
	struct objfs_sb *sbi = OBJFS_SB(sb);
	struct objfs_inode *od = OBJFS_I(dir), *oi;
	struct objfs_dirent *e;
	struct pc_inode *inode;
	char oid[OBJFS_OID_LEN];
	uint64_t ino;
	int err;

	if (len > OBJFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (target && (strlen(target) == 0 || strlen(target) > OBJFS_SYMLINK_MAX))
		return strlen(target) ? -ENAMETOOLONG : -ENOENT;
	if (dir_find(&od->dir, name, len))
		return -EEXIST;
	if (is_snapdir_name(name, len))
		return -EEXIST;
	objfs_meta_lock(sbi);
	err = objfs_alloc_ino(sbi, &ino);
	if (err) {
		objfs_meta_unlock(sbi);
		return err;
	}
	inode = pc_new_inode(sb, ino);
	if (!inode) {
		objfs_meta_unlock(sbi);
		return -ENOMEM;
	}
	oi = OBJFS_I(inode);
	inode->i_mode = mode;
	inode->i_uid = geteuid();
	inode->i_gid = getegid();
	inode->i_blkbits = PC_PAGE_SHIFT;
	inode->i_nlink = S_ISDIR(mode) ? 2 : 1;
	oi->layout = sbi->layout;
	err = -ENOMEM;
	if (S_ISDIR(mode) && objfs_dir_init(&oi->dir, dir->i_ino))
		goto fail;
	if (target) {
		oi->target = strdup(target);
		if (!oi->target)
			goto fail;
		pc_i_size_write(inode, (loff_t)strlen(target));
	}
	e = dirent_new(name, len, ino, mode_dt(mode));
	if (!e)
		goto fail;
	objfs_set_ops(inode);
	objfs_inode_live(inode);
	/* Objects first, then the entry that names them. */
	err = objfs_store_inode(inode);
	if (!err && S_ISDIR(mode))
		err = objfs_store_dir(inode);
	if (err) {
		free(e);
		goto fail_objects;
	}
	dir_insert(&od->dir, e);
	err = objfs_store_dir(dir);
	if (err) {
		dir_remove(&od->dir, e);
		free(e);
		goto fail_objects;
	}
	if (S_ISDIR(mode))
		objfs_nlink(dir, 1, false);
	objfs_dir_changed(dir);
	objfs_meta_unlock(sbi);
	*out = inode;
	return 0;

fail_objects:
	objfs_oid_inode(oid, ino);
	objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
	if (S_ISDIR(mode)) {
		objfs_oid_dir(oid, ino);
		objfs_obj_op(sbi, PC_OBJ_REMOVE, oid, 0);
	}
fail:
	objfs_meta_unlock(sbi);
	inode->i_nlink = 0;
	/* Evicting it must not remove objects another inode could own: the
	 * number was never published, so removing its own names is safe. */
	pc_iput(inode);
	return err;
}

static int objfs_create(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
			struct pc_inode **out)
{
	return objfs_mknod(dir, name, len, S_IFREG | (mode & 07777), NULL, out);
}

static int objfs_mkdir(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		       struct pc_inode **out)
{
	return objfs_mknod(dir, name, len, S_IFDIR | (mode & 07777), NULL, out);
}

static int objfs_symlink(struct pc_inode *dir, const char *name, size_t len, const char *target,
			 struct pc_inode **out)
{
	return objfs_mknod(dir, name, len, S_IFLNK | 0777, target, out);
}

/* Drop one link of @victim after its entry is gone from the directory. */
static int objfs_drop_link(struct pc_inode *victim)
{
	objfs_nlink(victim, -1, S_ISDIR(victim->i_mode));
	objfs_touch(victim, PC_ATTR_CTIME);
	return objfs_store_inode_cond(victim, true);
	/* nlink 0: the objects are removed when the last reference goes
	 * (an open file keeps its data until then). */
	return 0;
}

static int objfs_unlink_locked(struct pc_inode *dir, const char *name, size_t len,
			       struct pc_inode *victim);

static int objfs_unlink(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	struct objfs_sb *sbi = OBJFS_SB(dir->i_sb);
	int err;

	if (!objfs_is_head(victim))
		return -EROFS;
	objfs_meta_lock(sbi);
	err = objfs_unlink_locked(dir, name, len, victim);
	objfs_meta_unlock(sbi);
	return err;
}

static int objfs_unlink_locked(struct pc_inode *dir, const char *name, size_t len,
			       struct pc_inode *victim)
{
	struct objfs_inode *od = OBJFS_I(dir);
	struct objfs_dirent *e = dir_find(&od->dir, name, len);
	int err;

	if (!e || e->ino != victim->i_ino)
		return -ENOENT;
	if (S_ISDIR(victim->i_mode))
		return -EISDIR;
	dir_remove(&od->dir, e);
	err = objfs_store_dir(dir);
	if (err) {
		dir_insert(&od->dir, e);	/* back, with a new cookie */
		return err;
	}
	free(e);
	objfs_dir_changed(dir);
	return objfs_drop_link(victim);
}

static int objfs_rmdir_locked(struct pc_inode *dir, const char *name, size_t len,
			      struct pc_inode *victim);

static int objfs_rmdir(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	struct objfs_sb *sbi = OBJFS_SB(dir->i_sb);
	int err;

	if (!objfs_is_head(victim))
		return -EROFS;
	objfs_meta_lock(sbi);
	err = objfs_rmdir_locked(dir, name, len, victim);
	objfs_meta_unlock(sbi);
	return err;
}

static int objfs_rmdir_locked(struct pc_inode *dir, const char *name, size_t len,
			      struct pc_inode *victim)
{
	struct objfs_inode *od = OBJFS_I(dir);
	struct objfs_dirent *e = dir_find(&od->dir, name, len);
	int err;

	if (!e || e->ino != victim->i_ino)
		return -ENOENT;
	if (!S_ISDIR(victim->i_mode))
		return -ENOTDIR;
	if (OBJFS_I(victim)->dir.count)
		return -ENOTEMPTY;
	dir_remove(&od->dir, e);
	err = objfs_store_dir(dir);
	if (err) {
		dir_insert(&od->dir, e);
		return err;
	}
	free(e);
	objfs_nlink(dir, -1, false);
	objfs_dir_changed(dir);
	return objfs_drop_link(victim);
}

static int objfs_rename_locked(struct pc_inode *odir, const char *oname, size_t olen,
			       struct pc_inode *ndir, const char *nname, size_t nlen,
			       struct pc_inode *source, struct pc_inode *victim, unsigned flags);

static int objfs_rename(struct pc_inode *odir, const char *oname, size_t olen, struct pc_inode *ndir,
			const char *nname, size_t nlen, struct pc_inode *source,
			struct pc_inode *victim, unsigned flags)
{
	struct objfs_sb *sbi = OBJFS_SB(odir->i_sb);
	int err;

	if (!objfs_is_head(odir) || !objfs_is_head(ndir) || !objfs_is_head(source) ||
	    (victim && !objfs_is_head(victim)))
		return -EROFS;
	objfs_meta_lock(sbi);
	err = objfs_rename_locked(odir, oname, olen, ndir, nname, nlen, source, victim, flags);
	objfs_meta_unlock(sbi);
	return err;
}

static int objfs_rename_locked(struct pc_inode *odir, const char *oname, size_t olen,
			       struct pc_inode *ndir, const char *nname, size_t nlen,
			       struct pc_inode *source, struct pc_inode *victim, unsigned flags)
{
	struct objfs_inode *ood = OBJFS_I(odir), *ond = OBJFS_I(ndir);
	struct objfs_dirent *oe, *ve = NULL, *ne;
	bool isdir = S_ISDIR(source->i_mode);
	uint64_t old_parent = 0;
	int err;

	if (flags)
		return -EINVAL;
	if (nlen > OBJFS_NAME_MAX)
		return -ENAMETOOLONG;
	oe = dir_find(&ood->dir, oname, olen);
	if (!oe || oe->ino != source->i_ino)
		return -ENOENT;
	if (victim) {
		ve = dir_find(&ond->dir, nname, nlen);
		if (!ve || ve->ino != victim->i_ino)
			return -ENOENT;
		if (isdir && !S_ISDIR(victim->i_mode))
			return -ENOTDIR;
		if (!isdir && S_ISDIR(victim->i_mode))
			return -EISDIR;
		if (S_ISDIR(victim->i_mode) && OBJFS_I(victim)->dir.count)
			return -ENOTEMPTY;
	} else if (dir_find(&ond->dir, nname, nlen)) {
		return -EEXIST;
	}
	ne = dirent_new(nname, nlen, source->i_ino, oe->type);
	if (!ne)
		return -ENOMEM;
	/* In memory first; the new directory is written first, so a crash
	 * in between leaves the file under both names, never under none. */
	if (ve)
		dir_remove(&ond->dir, ve);
	dir_remove(&ood->dir, oe);
	dir_insert(&ond->dir, ne);
	err = objfs_store_dir(ndir);
	if (err) {
		dir_remove(&ond->dir, ne);
		free(ne);
		dir_insert(&ood->dir, oe);
		if (ve)
			dir_insert(&ond->dir, ve);
		return err;
	}
	free(oe);
	if (odir != ndir)
		err = objfs_store_dir(odir);
	if (isdir && odir != ndir) {
		old_parent = OBJFS_I(source)->dir.parent;
		OBJFS_I(source)->dir.parent = ndir->i_ino;
		if (!err)
			err = objfs_store_dir(source);
		objfs_nlink(odir, -1, false);
		objfs_nlink(ndir, 1, false);
	}
	(void)old_parent;
	if (ve) {
		free(ve);
		if (S_ISDIR(victim->i_mode))
			objfs_nlink(ndir, -1, false);
		if (objfs_drop_link(victim) && !err)
			err = -EIO;
	}
	objfs_touch(source, PC_ATTR_CTIME);
	pc_mark_inode_dirty(source);
	objfs_dir_changed(odir);
	if (ndir != odir)
		objfs_dir_changed(ndir);
	return err;
}

int objfs_iterate(struct pc_file *file, struct pc_dir_context *ctx)
{
	struct pc_inode *dir = file->f_inode;
	struct objfs_inode *od = OBJFS_I(dir);
	struct pc_list_head *pos;

	if (ctx->pos == 0) {
		if (!ctx->actor(ctx, ".", 1, dir->i_ino, DT_DIR))
			return 0;
		ctx->pos = 1;
	}
	if (ctx->pos == 1) {
		if (!ctx->actor(ctx, "..", 2, objfs_dir_parent_vino(dir), DT_DIR))
			return 0;
		ctx->pos = 2;
	}
	for (pos = od->dir.entries.next; pos != &od->dir.entries; pos = pos->next) {
		struct objfs_dirent *e = pc_list_entry(pos, struct objfs_dirent, list);

		if (e->cookie < ctx->pos)
			continue;
		ctx->pos = e->cookie;
		if (!ctx->actor(ctx, e->name, e->len, OBJFS_VINO(od->slot, e->ino), e->type))
			return 0;
		ctx->pos = e->cookie + 1;
	}
	if (ctx->pos < od->dir.next_cookie)
		ctx->pos = od->dir.next_cookie;
	return 0;
}

static ssize_t objfs_readlink(struct pc_inode *inode, char *buf, size_t size)
{
	const char *target = OBJFS_I(inode)->target;
	size_t n;

	if (!target)
		return -EINVAL;
	n = strlen(target);
	if (n > size)
		n = size;
	memcpy(buf, target, n);
	return (ssize_t)n;
}

static int objfs_dir_fsync(struct pc_file *file, loff_t start, loff_t end, int datasync)
{
	return pc_generic_file_fsync(file, start, end, datasync);
}

const struct pc_inode_operations objfs_dir_iops = {
	.lookup = objfs_lookup,
	.create = objfs_create,
	.mkdir = objfs_mkdir,
	.unlink = objfs_unlink,
	.rmdir = objfs_rmdir,
	.rename = objfs_rename,
	.symlink = objfs_symlink,
	.setattr = objfs_setattr,
};
const struct pc_inode_operations objfs_symlink_iops = {
	.readlink = objfs_readlink,
	.setattr = objfs_setattr,
};
const struct pc_file_operations objfs_dir_fops = {
	.iterate = objfs_iterate,
	.fsync = objfs_dir_fsync,
};