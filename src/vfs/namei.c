/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/vfs/namei.c - path resolution and the namespace operations.
 *
 * A path is walked component by component from the mount's root (a
 * leading '/' is optional; "" and "/" are the root). For each component
 * the current inode must be a directory (-ENOTDIR); the name is looked up
 * with i_op->lookup under the directory's i_rwsem held shared, and the
 * child inode taken with pc_iget under the same lock (so an unlink cannot
 * slip in between). "." and ".." get no special treatment in a walk: the
 * filesystem's directories resolve them. As the final component of a path
 * that names the victim of a namespace operation they are refused before
 * any lookup, with Linux's errors, so that no "dir/.." removes or moves the
 * parent: unlink -EISDIR; rmdir -EINVAL ("."), -ENOTEMPTY (".."); rename
 * -EBUSY (either side); mkdir and symlink -EEXIST. The root itself ("",
 * "/") is likewise never a victim: unlink -EISDIR, rmdir and rename -EBUSY.
 *
 * Symlinks: one in the middle of a path is always followed; one in the
 * last component is followed when the caller asks (PC_LOOKUP_FOLLOW: stat,
 * open without O_NOFOLLOW) or when the path ends with '/'. Following
 * replaces the rest of the path by "target/rest" and restarts from the
 * root (absolute target) or from the link's directory. More than
 * PC_MAXSYMLINKS links in one walk: -ELOOP. A component longer than
 * PC_NAME_MAX bytes: -ENAMETOOLONG.
 *
 * Namespace operations resolve the parent directory, then take its i_rwsem
 * exclusive, look the name up again and call the filesystem; the victim of
 * unlink/rmdir/rename (and a renamed inode) is locked too, after its
 * directory. Rename serialises on sb->s_vfs_rename_mutex, so that the
 * directory tree's shape cannot change while it decides the lock order
 * (an ancestor before its descendant, otherwise by address) and checks that
 * a directory is not moved into its own subtree (-EINVAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "vfs_internal.h"

struct nameidata {
	struct pc_mount *m;
	struct pc_inode *dir;		/* where the walk stands (referenced) */
	unsigned flags;			/* PC_LOOKUP_* */
	int nlinks;			/* symlinks followed so far */
	char last[PC_NAME_MAX + 1];	/* parent walks: the final component */
	size_t last_len;		/* 0: the path named the root itself */
	bool last_trailing;		/* the final component was followed by '/' */
};

static struct pc_inode *grab_root(struct pc_mount *m)
{
	struct pc_inode *root = m->sb.s_root;

	atomic_fetch_add(&root->i_count, 1);
	return root;
}

static int check_path(const char *path)
{
	if (!path)
		return -EFAULT;
	if (strnlen(path, PC_PATH_MAX) >= PC_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static bool name_is_dots(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

/* i_op->lookup on @dir. Caller holds @dir's i_rwsem (either way). */
static int dir_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	PC_ASSERT_INODE_LOCKED_ANY(dir);
	if (!S_ISDIR(dir->i_mode) || !dir->i_op || !dir->i_op->lookup)
		return -ENOTDIR;
	return dir->i_op->lookup(dir, name, len, ino);
}

/* Child @name of @dir, referenced. Takes @dir's i_rwsem shared. */
static int lookup_child(struct pc_inode *dir, const char *name, size_t len, struct pc_inode **out)
{
	uint64_t ino;
	int err;

	if (!S_ISDIR(dir->i_mode))
		return -ENOTDIR;
	pc_inode_lock_shared(dir);
	err = dir_lookup(dir, name, len, &ino);
	if (!err)
		err = pc_iget(dir->i_sb, ino, out);
	pc_inode_unlock_shared(dir);
	return err;
}

/* The target of symlink @link as a malloc'ed C string. */
static int read_link(struct pc_inode *link, char **out)
{
	ssize_t n;
	char *buf;

	if (!link->i_op || !link->i_op->readlink)
		return -EINVAL;
	buf = malloc(PC_PATH_MAX);
	if (!buf)
		return -ENOMEM;
	pc_inode_lock_shared(link);
	n = link->i_op->readlink(link, buf, PC_PATH_MAX - 1);
	pc_inode_unlock_shared(link);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	buf[n] = '\0';
	if (strlen(buf) == 0) {
		free(buf);
		return -ENOENT;
	}
	*out = buf;
	return 0;
}

/*
 * Walk @path from nd->dir. With @parent, stop before the last component
 * and leave it in nd->last (nd->dir is then its directory); otherwise
 * nd->dir ends as the inode the path names. On error nd->dir is still
 * referenced (the caller puts it).
 */
static int walk(struct nameidata *nd, const char *path, bool parent)
{
	char *buf = NULL;	/* path text after symlink substitution */
	const char *p = path;
	int err = 0;

	for (;;) {
		const char *comp, *next;
		struct pc_inode *child;
		bool last, trailing;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p) {
			if (parent) {
				nd->last_len = 0;
				nd->last[0] = '\0';
				nd->last_trailing = false;
			}
			break;
		}
		comp = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - comp);
		next = p;
		while (*next == '/')
			next++;
		last = !*next;
		trailing = last && next != p;
		if (len > PC_NAME_MAX) {
			err = -ENAMETOOLONG;
			break;
		}
		if (last && parent) {
			memcpy(nd->last, comp, len);
			nd->last[len] = '\0';
			nd->last_len = len;
			nd->last_trailing = trailing;
			break;
		}
		err = lookup_child(nd->dir, comp, len, &child);
		if (err)
			break;
		if (S_ISLNK(child->i_mode) &&
		    (!last || trailing || (nd->flags & PC_LOOKUP_FOLLOW))) {
			bool sep = !last || trailing;
			size_t tl, rl;
			char *target, *nbuf;

			if (++nd->nlinks > PC_MAXSYMLINKS) {
				pc_iput(child);
				err = -ELOOP;
				break;
			}
			err = read_link(child, &target);
			pc_iput(child);
			if (err)
				break;
			tl = strlen(target);
			rl = sep ? strlen(next) : 0;
			nbuf = malloc(tl + 1 + rl + 1);
			if (!nbuf) {
				free(target);
				err = -ENOMEM;
				break;
			}
			memcpy(nbuf, target, tl);
			if (sep) {
				nbuf[tl] = '/';
				memcpy(nbuf + tl + 1, next, rl + 1);
			} else {
				nbuf[tl] = '\0';
			}
			free(target);
			free(buf);
			buf = nbuf;
			p = buf;
			if (buf[0] == '/') {
				pc_iput(nd->dir);
				nd->dir = grab_root(nd->m);
			}
			continue;
		}
		pc_iput(nd->dir);
		nd->dir = child;
		p = next;
		if (last) {
			if (trailing && !S_ISDIR(child->i_mode))
				err = -ENOTDIR;
			break;
		}
	}
	free(buf);
	return err;
}

static void nd_init(struct nameidata *nd, struct pc_mount *m, struct pc_inode *start, unsigned flags)
{
	nd->m = m;
	nd->dir = start;
	nd->flags = flags;
	nd->nlinks = 0;
	nd->last_len = 0;
	nd->last[0] = '\0';
	nd->last_trailing = false;
}

int pc_vfs_lookup_path(struct pc_mount *m, const char *path, unsigned flags, struct pc_inode **out)
{
	struct nameidata nd;
	int err;

	if (!m)
		return -EINVAL;
	err = check_path(path);
	if (err)
		return err;
	nd_init(&nd, m, grab_root(m), flags);
	err = walk(&nd, path, false);
	if (err) {
		pc_iput(nd.dir);
		return err;
	}
	*out = nd.dir;
	return 0;
}

/*
 * Resolve the parent of @path (from @start, whose reference is consumed).
 * On success nd->dir is the referenced parent (a directory) and nd->last
 * the final name. On error nothing is held.
 */
static int path_parent_from(struct nameidata *nd, struct pc_mount *m, struct pc_inode *start,
			    const char *path, int nlinks)
{
	int err;

	nd_init(nd, m, start, 0);
	nd->nlinks = nlinks;
	err = walk(nd, path, true);
	if (!err && !S_ISDIR(nd->dir->i_mode))
		err = -ENOTDIR;
	if (err) {
		pc_iput(nd->dir);
		nd->dir = NULL;
	}
	return err;
}

static int path_parent(struct nameidata *nd, struct pc_mount *m, const char *path)
{
	int err;

	if (!m)
		return -EINVAL;
	err = check_path(path);
	if (err)
		return err;
	return path_parent_from(nd, m, grab_root(m), path, 0);
}

/* ---- open ---- */

int pc_vfs_open_lookup(struct pc_mount *m, const char *path, int flags, mode_t mode,
		       struct pc_inode **out, bool *created)
{
	struct pc_inode *start;
	char *linkbuf = NULL;
	int nlinks = 0;
	int err;

	*created = false;
	if (!(flags & O_CREAT)) {
		struct pc_inode *inode;

		err = pc_vfs_lookup_path(m, path, (flags & O_NOFOLLOW) ? 0 : PC_LOOKUP_FOLLOW,
					 &inode);
		if (err)
			return err;
		if (S_ISLNK(inode->i_mode)) {
			pc_iput(inode);
			return -ELOOP;
		}
		*out = inode;
		return 0;
	}

	if (!m)
		return -EINVAL;
	err = check_path(path);
	if (err)
		return err;
	start = grab_root(m);
	for (;;) {
		struct nameidata nd;
		struct pc_inode *dir, *inode;
		uint64_t ino;

		err = path_parent_from(&nd, m, start, path, nlinks);
		if (err)
			break;
		nlinks = nd.nlinks;
		dir = nd.dir;
		if (nd.last_len == 0 || nd.last_trailing ||
		    name_is_dots(nd.last, nd.last_len)) {
			/* "/", "name/", "." or "..": a directory, never created. */
			pc_iput(dir);
			err = -EISDIR;
			break;
		}
		pc_inode_lock(dir);
		err = dir_lookup(dir, nd.last, nd.last_len, &ino);
		if (err == -ENOENT) {
			if (dir->i_sb->s_readonly)
				err = -EROFS;
			else if (dir->i_nlink == 0)
				err = -ENOENT;	/* the directory was removed */
			else if (!dir->i_op->create)
				err = -EPERM;
			else
				err = dir->i_op->create(dir, nd.last, nd.last_len,
							S_IFREG | (mode & 07777), &inode);
			pc_inode_unlock(dir);
			pc_iput(dir);
			if (!err) {
				*created = true;
				*out = inode;
			}
			break;
		}
		if (!err && (flags & O_EXCL))
			err = -EEXIST;
		if (!err)
			err = pc_iget(dir->i_sb, ino, &inode);
		pc_inode_unlock(dir);
		if (err) {
			pc_iput(dir);
			break;
		}
		if (!S_ISLNK(inode->i_mode)) {
			pc_iput(dir);
			*out = inode;
			break;
		}
		/* An existing symlink: follow it (and create its target). */
		if ((flags & O_NOFOLLOW) || ++nlinks > PC_MAXSYMLINKS) {
			pc_iput(inode);
			pc_iput(dir);
			err = -ELOOP;
			break;
		}
		free(linkbuf);
		linkbuf = NULL;
		err = read_link(inode, &linkbuf);
		pc_iput(inode);
		if (err) {
			pc_iput(dir);
			break;
		}
		path = linkbuf;
		if (linkbuf[0] == '/') {
			pc_iput(dir);
			start = grab_root(m);
		} else {
			start = dir;
		}
	}
	free(linkbuf);
	return err;
}

/* ---- namespace operations ---- */

PC_EXPORT int pc_mkdir(struct pc_mount *m, const char *path, mode_t mode)
{
	struct nameidata nd;
	struct pc_inode *dir, *child = NULL;
	uint64_t ino;
	int err;

	err = path_parent(&nd, m, path);
	if (err)
		return err;
	dir = nd.dir;
	if (nd.last_len == 0 || name_is_dots(nd.last, nd.last_len)) {
		err = -EEXIST;
		goto out_put_dir;
	}
	pc_inode_lock(dir);
	err = dir_lookup(dir, nd.last, nd.last_len, &ino);
	if (err == 0)
		err = -EEXIST;
	else if (err == -ENOENT) {
		if (dir->i_sb->s_readonly)
			err = -EROFS;
		else if (dir->i_nlink == 0)
			err = -ENOENT;
		else if (!dir->i_op->mkdir)
			err = -EPERM;
		else
			err = dir->i_op->mkdir(dir, nd.last, nd.last_len, S_IFDIR | (mode & 07777),
					       &child);
	}
	pc_inode_unlock(dir);
	if (!err)
		pc_iput(child);
out_put_dir:
	pc_iput(dir);
	return err;
}

/* Lock @dir exclusive, find @name and take its inode. On success the
 * directory stays locked. */
static int lock_and_get_victim(struct pc_inode *dir, const char *name, size_t len,
			       struct pc_inode **victim)
{
	uint64_t ino;
	int err;

	pc_inode_lock(dir);
	err = dir_lookup(dir, name, len, &ino);
	if (!err)
		err = pc_iget(dir->i_sb, ino, victim);
	if (err)
		pc_inode_unlock(dir);
	return err;
}

PC_EXPORT int pc_unlink(struct pc_mount *m, const char *path)
{
	struct nameidata nd;
	struct pc_inode *dir, *victim;
	int err;

	err = path_parent(&nd, m, path);
	if (err)
		return err;
	dir = nd.dir;
	if (nd.last_len == 0 || name_is_dots(nd.last, nd.last_len)) {
		err = -EISDIR;
		goto out_put_dir;
	}
	err = lock_and_get_victim(dir, nd.last, nd.last_len, &victim);
	if (err)
		goto out_put_dir;
	if (S_ISDIR(victim->i_mode))
		err = -EISDIR;
	else if (nd.last_trailing)
		err = -ENOTDIR;
	else if (dir->i_sb->s_readonly)
		err = -EROFS;
	else if (!dir->i_op->unlink)
		err = -EPERM;
	else {
		pc_inode_lock(victim);
		err = dir->i_op->unlink(dir, nd.last, nd.last_len, victim);
		pc_inode_unlock(victim);
	}
	pc_inode_unlock(dir);
	pc_iput(victim);	/* evicts it if that was the last link and reference */
out_put_dir:
	pc_iput(dir);
	return err;
}

PC_EXPORT int pc_rmdir(struct pc_mount *m, const char *path)
{
	struct nameidata nd;
	struct pc_inode *dir, *victim;
	int err;

	err = path_parent(&nd, m, path);
	if (err)
		return err;
	dir = nd.dir;
	if (nd.last_len == 0) {
		err = -EBUSY;
		goto out_put_dir;
	}
	if (nd.last_len == 1 && nd.last[0] == '.') {
		err = -EINVAL;
		goto out_put_dir;
	}
	if (name_is_dots(nd.last, nd.last_len)) {
		err = -ENOTEMPTY;
		goto out_put_dir;
	}
	err = lock_and_get_victim(dir, nd.last, nd.last_len, &victim);
	if (err)
		goto out_put_dir;
	if (!S_ISDIR(victim->i_mode))
		err = -ENOTDIR;
	else if (victim == m->sb.s_root)
		err = -EBUSY;
	else if (dir->i_sb->s_readonly)
		err = -EROFS;
	else if (!dir->i_op->rmdir)
		err = -EPERM;
	else {
		pc_inode_lock(victim);
		err = dir->i_op->rmdir(dir, nd.last, nd.last_len, victim);
		pc_inode_unlock(victim);
	}
	pc_inode_unlock(dir);
	pc_iput(victim);
out_put_dir:
	pc_iput(dir);
	return err;
}

PC_EXPORT int pc_symlink(struct pc_mount *m, const char *target, const char *linkpath)
{
	struct nameidata nd;
	struct pc_inode *dir, *child = NULL;
	uint64_t ino;
	size_t tlen;
	int err;

	if (!target)
		return -EFAULT;
	tlen = strnlen(target, PC_PATH_MAX);
	if (tlen >= PC_PATH_MAX)
		return -ENAMETOOLONG;
	if (tlen == 0)
		return -ENOENT;
	err = path_parent(&nd, m, linkpath);
	if (err)
		return err;
	dir = nd.dir;
	if (nd.last_len == 0 || name_is_dots(nd.last, nd.last_len)) {
		err = -EEXIST;
		goto out_put_dir;
	}
	pc_inode_lock(dir);
	err = dir_lookup(dir, nd.last, nd.last_len, &ino);
	if (err == 0)
		err = -EEXIST;
	else if (err == -ENOENT) {
		if (nd.last_trailing)
			err = -ENOENT;
		else if (dir->i_sb->s_readonly)
			err = -EROFS;
		else if (dir->i_nlink == 0)
			err = -ENOENT;
		else if (!dir->i_op->symlink)
			err = -EPERM;
		else
			err = dir->i_op->symlink(dir, nd.last, nd.last_len, target, &child);
	}
	pc_inode_unlock(dir);
	if (!err)
		pc_iput(child);
out_put_dir:
	pc_iput(dir);
	return err;
}

PC_EXPORT ssize_t pc_readlink(struct pc_mount *m, const char *path, char *buf, size_t size)
{
	struct pc_inode *inode;
	ssize_t n;
	int err;

	if (!buf)
		return -EFAULT;
	if (size == 0)
		return -EINVAL;
	err = pc_vfs_lookup_path(m, path, 0, &inode);
	if (err)
		return err;
	if (!S_ISLNK(inode->i_mode) || !inode->i_op || !inode->i_op->readlink) {
		n = -EINVAL;
	} else {
		pc_inode_lock_shared(inode);
		n = inode->i_op->readlink(inode, buf, size);
		pc_inode_unlock_shared(inode);
	}
	pc_iput(inode);
	return n;
}

/* ---- rename ---- */

/*
 * Is @anc @d itself or one of its ancestors? Walks ".." up from @d to the
 * root, taking each directory's lock shared in turn (never two at once).
 * Caller holds s_vfs_rename_mutex, so the tree's shape is stable, and no
 * directory lock.
 */
static int is_ancestor(struct pc_mount *m, struct pc_inode *anc, struct pc_inode *d, bool *res)
{
	struct pc_inode *cur = d, *up;
	int err = 0;

	*res = false;
	atomic_fetch_add(&cur->i_count, 1);
	for (int depth = 0;; depth++) {
		if (cur == anc) {
			*res = true;
			break;
		}
		if (cur == m->sb.s_root || cur->i_ino == m->sb.s_root_ino)
			break;
		if (depth > 65536) {
			err = -ELOOP;	/* a corrupt tree */
			break;
		}
		err = lookup_child(cur, "..", 2, &up);
		if (err)
			break;
		if (up == cur) {
			pc_iput(up);
			break;
		}
		pc_iput(cur);
		cur = up;
	}
	pc_iput(cur);
	return err;
}

/* Lock two distinct inodes exclusive: @first_anc says @a is an ancestor
 * of @b, @second_anc the reverse; otherwise by address. */
static void lock_two(struct pc_inode *a, struct pc_inode *b, bool a_anc_b, bool b_anc_a)
{
	if (a == b) {
		pc_inode_lock(a);
		return;
	}
	if (b_anc_a || (!a_anc_b && (uintptr_t)b < (uintptr_t)a)) {
		struct pc_inode *t = a;
		a = b;
		b = t;
	}
	pc_inode_lock(a);
	pc_inode_lock(b);
}

static void unlock_two(struct pc_inode *a, struct pc_inode *b)
{
	pc_inode_unlock(a);
	if (b != a)
		pc_inode_unlock(b);
}

/* Look @name up in @dir without holding its lock: 0 and the inode,
 * -ENOENT with NULL, or another -errno. */
static int peek_child(struct pc_inode *dir, const char *name, size_t len, struct pc_inode **out)
{
	int err = lookup_child(dir, name, len, out);

	if (err == -ENOENT) {
		*out = NULL;
		return 0;
	}
	return err;
}

/* Under the (locked) @dir, does @name still name @expect (NULL: nothing)? */
static int still_names(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *expect,
		       bool *same)
{
	uint64_t ino;
	int err = dir_lookup(dir, name, len, &ino);

	if (err == -ENOENT) {
		*same = expect == NULL;
		return 0;
	}
	if (err)
		return err;
	*same = expect && expect->i_ino == ino;
	return 0;
}

static int do_rename(struct pc_mount *m, struct nameidata *ond, struct nameidata *nnd)
{
	struct pc_inode *odir = ond->dir, *ndir = nnd->dir;
	const char *oname = ond->last, *nname = nnd->last;
	size_t olen = ond->last_len, nlen = nnd->last_len;
	int err;

	for (int tries = 0;; tries++) {
		struct pc_inode *source = NULL, *victim = NULL;
		bool o_anc_n = false, n_anc_o = false, bad, same;

		err = lookup_child(odir, oname, olen, &source);
		if (err)
			return err;
		if ((ond->last_trailing || nnd->last_trailing) && !S_ISDIR(source->i_mode)) {
			err = -ENOTDIR;
			goto out_put;
		}
		err = peek_child(ndir, nname, nlen, &victim);
		if (err)
			goto out_put;
		if (victim == source) {
			err = 0;	/* two links to one inode: nothing to do */
			goto out_put;
		}
		if (victim) {
			if (S_ISDIR(source->i_mode) && !S_ISDIR(victim->i_mode)) {
				err = -ENOTDIR;
				goto out_put;
			}
			if (!S_ISDIR(source->i_mode) && S_ISDIR(victim->i_mode)) {
				err = -EISDIR;
				goto out_put;
			}
			if (S_ISDIR(victim->i_mode)) {
				/* Replacing an ancestor of the source: it is not empty. */
				err = is_ancestor(m, victim, odir, &bad);
				if (!err && bad)
					err = -ENOTEMPTY;
				if (err)
					goto out_put;
			}
		}
		if (S_ISDIR(source->i_mode)) {
			err = is_ancestor(m, source, ndir, &bad);
			if (!err && bad)
				err = -EINVAL;
			if (err)
				goto out_put;
		}
		if (odir != ndir) {
			err = is_ancestor(m, odir, ndir, &o_anc_n);
			if (!err)
				err = is_ancestor(m, ndir, odir, &n_anc_o);
			if (err)
				goto out_put;
		}

		lock_two(odir, ndir, o_anc_n, n_anc_o);
		err = still_names(odir, oname, olen, source, &same);
		if (!err && same)
			err = still_names(ndir, nname, nlen, victim, &same);
		if (err || !same) {
			unlock_two(odir, ndir);
			pc_iput(victim);
			pc_iput(source);
			if (err)
				return err;
			if (tries > 100)
				return -EBUSY;
			continue;	/* raced with another namespace change */
		}
		if (m->sb.s_readonly)
			err = -EROFS;
		else if (ndir->i_nlink == 0)
			err = -ENOENT;
		else if (!odir->i_op->rename)
			err = -EPERM;
		else {
			lock_two(source, victim ? victim : source, false, false);
			err = odir->i_op->rename(odir, oname, olen, ndir, nname, nlen, source, victim, 0);
			unlock_two(source, victim ? victim : source);
		}
		unlock_two(odir, ndir);
out_put:
		pc_iput(victim);
		pc_iput(source);
		return err;
	}
}

PC_EXPORT int pc_rename(struct pc_mount *m, const char *from, const char *to)
{
	struct nameidata ond, nnd;
	int err;

	err = path_parent(&ond, m, from);
	if (err)
		return err;
	err = path_parent(&nnd, m, to);
	if (err)
		goto out_put_old;
	if (ond.last_len == 0 || nnd.last_len == 0) {
		err = -EBUSY;
		goto out_put_new;
	}
	/* Linux (do_renameat2): a final "." or ".." on either side is -EBUSY,
	 * before anything is looked up. */
	if (name_is_dots(ond.last, ond.last_len) || name_is_dots(nnd.last, nnd.last_len)) {
		err = -EBUSY;
		goto out_put_new;
	}
	pthread_mutex_lock(&m->sb.s_vfs_rename_mutex);
	err = do_rename(m, &ond, &nnd);
	pthread_mutex_unlock(&m->sb.s_vfs_rename_mutex);
out_put_new:
	pc_iput(nnd.dir);
out_put_old:
	pc_iput(ond.dir);
	return err;
}
