// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fs/objfs/snap.c - objfs snapshots as CephFS shows them: a virtual
 * ".snap" directory in every directory; pc_mkdir of "/.snap/NAME" takes a
 * snapshot of the whole filesystem, pc_rmdir of it removes it, and
 * "/.snap/NAME/..." or "DIR/.snap/NAME" read the tree as it was then
 * (read-only: every change gives -EROFS). docs/objfs.md has the design.
 *
 * A snapshot: under sbi->snap_rwsem exclusive (no metadata write in
 * flight), the store's snap_create hands out an id, the realm makes the
 * new context current (the snap layer gives every inode with dirty pages
 * a cap_snap: O(inodes dirtied since the last snapshot), no page touched),
 * every cached inode whose record changed since it was last written is
 * written with the OLD context (before the switch; after it, a file with
 * dirty data gets its cap_snap's size and mtime), and the snaps table is
 * written. No data is flushed:
 * the snap layer writes each context's pages in order later.
 *
 * The snaps table: two objects, "objfs.snaps.a" and "objfs.snaps.b",
 * written alternately with the empty context (the table is not part of
 * any snapshot), each a whole record with a generation and a checksum; the
 * mount takes the valid one with the higher generation, so a crash while
 * one is written leaves the other. Format (little endian):
 *    0  8  magic "OBJFSSNP"
 *    8  4  version (1)        12 4 entry count
 *   16  8  generation         24 8 seq (newest snap id ever taken)
 *   32  .. entries: 8 snap id, 1 name length (1..64), name
 *   end 8  FNV-1a 64 of every byte before it
 *
 * Snapshot inodes: VFS inode number OBJFS_VINO(slot, ino) (objfs_int.h);
 * a slot is handed out per snapshot per mount and never reused, so an
 * inode cached for a removed snapshot never shows another one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "objfs_int.h"

#define SNAPS_MAGIC "OBJFSSNP"
#define SNAPS_VERSION 1u
#define SNAPS_HDR 32u
#define SNAPS_MAX 4096u
#define SNAPS_OBJ_MAX (SNAPS_HDR + SNAPS_MAX * (9u + OBJFS_SNAPNAME_MAX) + 8u)

static const char *const snaps_oid[2] = { OBJFS_SNAPS_OID ".a", OBJFS_SNAPS_OID ".b" };

static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t fnv64(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

struct objfs_snap *objfs_snap_by_slot(struct objfs_sb *sbi, uint64_t slot)
{
	for (unsigned i = 0; i < sbi->nr_snaps; i++)
		if (sbi->snaps[i].slot == slot)
			return &sbi->snaps[i];
	return NULL;
}

static struct objfs_snap *snap_by_name(struct objfs_sb *sbi, const char *name, size_t len)
{
	for (unsigned i = 0; i < sbi->nr_snaps; i++)
		if (strlen(sbi->snaps[i].name) == len && !memcmp(sbi->snaps[i].name, name, len))
			return &sbi->snaps[i];
	return NULL;
}

void objfs_snaps_free(struct objfs_sb *sbi)
{
	free(sbi->snaps);
	sbi->snaps = NULL;
	sbi->nr_snaps = sbi->snaps_cap = 0;
}

/*
 * Write the table (@n entries of @tab, seq @seq) as generation
 * snaps_gen + 1 into the object the previous generation is not in.
 */
static int snaps_write(struct objfs_sb *sbi, const struct objfs_snap *tab, unsigned n, uint64_t seq)
{
	size_t len = SNAPS_HDR + 8, off = SNAPS_HDR;
	uint64_t gen = sbi->snaps_gen + 1;
	unsigned char *buf;
	int err;

	for (unsigned i = 0; i < n; i++)
		len += 9 + strlen(tab[i].name);
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, SNAPS_MAGIC, 8);
	put32(buf + 8, SNAPS_VERSION);
	put32(buf + 12, n);
	put64(buf + 16, gen);
	put64(buf + 24, seq);
	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(tab[i].name);

		put64(buf + off, tab[i].snapid);
		buf[off + 8] = (unsigned char)l;
		memcpy(buf + off + 9, tab[i].name, l);
		off += 9 + l;
	}
	put64(buf + off, fnv64(buf, off));
	{
		/* Durable before it counts (PC_OBJ_F_SYNC: this object only,
		 * not a flush of the whole store, which would cost time in
		 * proportion to what was written before). */
		struct iovec iov = { .iov_base = buf, .iov_len = len };
		struct pc_obj_req req = { .op = PC_OBJ_WRITE, .oid = snaps_oid[gen & 1], .len = len,
					  .iov = &iov, .iovcnt = 1, .flags = PC_OBJ_F_SYNC };
		int64_t r = pc_objstore_exec(sbi->os, &req);

		if (r >= 0) {
			req = (struct pc_obj_req){ .op = PC_OBJ_TRUNCATE, .oid = snaps_oid[gen & 1],
						   .off = len, .flags = PC_OBJ_F_SYNC };
			r = pc_objstore_exec(sbi->os, &req);
		}
		err = r < 0 ? (int)r : 0;
	}
	free(buf);
	if (!err)
		sbi->snaps_gen = gen;
	return err;
}

/* Decode one table object; 0 and the entries, or -EUCLEAN / -ENOENT. */
static int snaps_decode(const unsigned char *buf, size_t len, uint64_t *gen, uint64_t *seq,
			struct objfs_snap **tab, unsigned *n)
{
	size_t off = SNAPS_HDR;
	uint32_t count;
	struct objfs_snap *t;

	if (len < SNAPS_HDR + 8 || memcmp(buf, SNAPS_MAGIC, 8) || get32(buf + 8) != SNAPS_VERSION)
		return -EUCLEAN;
	count = get32(buf + 12);
	if (count > SNAPS_MAX)
		return -EUCLEAN;
	t = calloc(count ? count : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		unsigned l;

		if (len - 8 - off < 9)
			goto bad;
		l = buf[off + 8];
		if (l == 0 || l > OBJFS_SNAPNAME_MAX || len - 8 - off - 9 < l ||
		    memchr(buf + off + 9, '/', l) || memchr(buf + off + 9, '\0', l))
			goto bad;
		t[i].snapid = get64(buf + off);
		memcpy(t[i].name, buf + off + 9, l);
		t[i].name[l] = '\0';
		off += 9 + l;
	}
	if (get64(buf + off) != fnv64(buf, off))
		goto bad;
	*gen = get64(buf + 16);
	*seq = get64(buf + 24);
	for (uint32_t i = 0; i < count; i++)
		if (t[i].snapid == 0 || t[i].snapid > *seq)
			goto bad;
	*tab = t;
	*n = count;
	return 0;
bad:
	free(t);
	return -EUCLEAN;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x > y ? -1 : x < y;
}

/*
 * At mount: read the table (the valid copy with the higher generation;
 * none: no snapshots, seq 0) and make the realm's context {seq, the live
 * snapshots}. 0, -EUCLEAN (both copies present and corrupt), -ENOMEM, or
 * the store's error; @msg says why.
 */
int objfs_snaps_load(struct objfs_sb *sbi, char *msg, size_t msglen)
{
	struct objfs_snap *best = NULL;
	unsigned best_n = 0;
	uint64_t best_gen = 0, best_seq = 0, *ids;
	bool found = false, corrupt = false;
	int err = 0;

	for (int k = 0; k < 2; k++) {
		uint64_t size = 0, gen, seq;
		struct objfs_snap *t;
		unsigned n;
		unsigned char *buf;
		size_t got;

		err = objfs_stat(sbi, snaps_oid[k], &size);
		if (err == -ENOENT)
			continue;
		if (err)
			goto fail_io;
		if (size > SNAPS_OBJ_MAX) {
			corrupt = true;
			continue;
		}
		buf = malloc(size ? size : 1);
		if (!buf) {
			err = -ENOMEM;
			goto fail_io;
		}
		err = objfs_read(sbi, snaps_oid[k], 0, buf, size, &got);
		if (err) {
			free(buf);
			goto fail_io;
		}
		err = snaps_decode(buf, got, &gen, &seq, &t, &n);
		free(buf);
		if (err == -ENOMEM)
			goto fail_io;
		if (err) {
			corrupt = true;
			continue;
		}
		if (!found || gen > best_gen) {
			free(best);
			best = t;
			best_n = n;
			best_gen = gen;
			best_seq = seq;
			found = true;
		} else {
			free(t);
		}
	}
	err = 0;
	if (!found && corrupt) {
		snprintf(msg, msglen, "objfs: %s: the snapshot table (%s.a/.b) is corrupt",
			 sbi->os->name, OBJFS_SNAPS_OID);
		return -EUCLEAN;
	}
	sbi->snaps = best;
	sbi->nr_snaps = sbi->snaps_cap = best_n;
	sbi->snaps_gen = best_gen;
	for (unsigned i = 0; i < best_n; i++)
		best[i].slot = ++sbi->next_slot;
	if (!found)
		return 0;
	ids = malloc((best_n ? best_n : 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (unsigned i = 0; i < best_n; i++)
		ids[i] = best[i].snapid;
	qsort(ids, best_n, sizeof(*ids), cmp_desc);
	err = pc_snap_realm_set_context(&sbi->realm, best_seq, ids, best_n);
	free(ids);
	if (err)
		snprintf(msg, msglen, "objfs: %s: the snapshot table is inconsistent (%s)",
			 sbi->os->name, strerror(-err));
	return err == -EINVAL ? -EUCLEAN : err;

fail_io:
	free(best);
	snprintf(msg, msglen, "objfs: %s: reading the snapshot table: %s", sbi->os->name,
		 strerror(-err));
	return err;
}

/* ---- taking and removing snapshots (snap_rwsem held exclusive) ---- */

/*
 * Write every cached head inode whose record changed since it was last
 * written, with @old, the context before the snapshot. Two passes around
 * pc_snap_realm_snapshot: @after false, before it: the records as they
 * are (a change racing with it that dirtied pages before the switch
 * lands in a cap_snap and is fixed by the second pass; one after the
 * switch belongs to the new context); @after true: files with data dirty
 * in @old get their cap_snap's size and mtime (a pending cap_snap, a
 * write copying at the snapshot, is waited for: it ends without any lock
 * held here). snap_rwsem held exclusive.
 */
static int write_old_metadata(struct objfs_sb *sbi, const struct pc_snap_context *old, bool after)
{
	struct pc_list_head *p;
	int err = 0;

	pthread_mutex_lock(&sbi->inodes_lock);
	for (p = sbi->inodes.next; p != &sbi->inodes; p = p->next) {
		struct objfs_inode *oi = pc_list_entry(p, struct objfs_inode, sb_item);
		struct pc_snap_cap_snap_info cs[8];
		const int64_t *size = NULL;
		const struct timespec *mtime = NULL;
		int e;

		if (after) {
			bool pending = true;

			if (!oi->si_live)
				continue;
			for (int tries = 0; pending && tries < 20000; tries++) {
				unsigned n = pc_snap_inode_get_cap_snaps(&oi->si, cs, 8);

				pending = false;
				size = NULL;
				for (unsigned i = 0; i < n && i < 8; i++) {
					if (cs[i].seq != old->seq)
						continue;
					pending = cs[i].pending;
					size = &cs[i].size;
					mtime = &cs[i].mtime;
				}
				if (pending)
					nanosleep(&(struct timespec){ 0, 100000 }, NULL);
			}
			if (!size || pending)
				continue;
		}
		e = objfs_store_inode_ctx(&oi->vfs, old, size, mtime);
		if (e && !err)
			err = e;
	}
	pthread_mutex_unlock(&sbi->inodes_lock);
	return err;
}

static int snap_create_locked(struct objfs_sb *sbi, const char *name, size_t len,
			      struct objfs_snap **out)
{
	struct pc_objstore *os = sbi->os;
	struct pc_snap_context *old;
	struct objfs_snap *tab;
	uint64_t id;
	int err;

	if (snap_by_name(sbi, name, len))
		return -EEXIST;
	if (sbi->nr_snaps >= SNAPS_MAX || sbi->next_slot + 1 >= OBJFS_SLOT_SNAPDIR)
		return -ENOSPC;
	if (!os->ops->snap_create)
		return -EOPNOTSUPP;
	if (sbi->nr_snaps == sbi->snaps_cap) {
		unsigned cap = sbi->snaps_cap ? sbi->snaps_cap * 2 : 8;

		tab = realloc(sbi->snaps, cap * sizeof(*tab));
		if (!tab)
			return -ENOMEM;
		sbi->snaps = tab;
		sbi->snaps_cap = cap;
	}
	tab = &sbi->snaps[sbi->nr_snaps];
	memset(tab, 0, sizeof(*tab));
	memcpy(tab->name, name, len);
	err = os->ops->snap_create(os, &id);
	if (err)
		return err;
	tab->snapid = id;
	old = objfs_get_snapc(sbi);
	/* Metadata as of the snapshot, with the old context, before anything
	 * is written with the new one (nothing else writes metadata now). */
	err = write_old_metadata(sbi, old, false);
	if (err)
		goto undo_store;
	err = pc_snap_realm_snapshot(&sbi->realm, id);
	if (err)
		goto undo_store;
	err = write_old_metadata(sbi, old, true);
	if (!err)
		err = snaps_write(sbi, sbi->snaps, sbi->nr_snaps + 1, id);
	if (err) {
		pc_snap_realm_remove(&sbi->realm, id);
		goto undo_store;
	}
	pc_snap_context_put(old);
	tab->slot = ++sbi->next_slot;
	sbi->nr_snaps++;
	*out = tab;
	return 0;

undo_store:
	pc_snap_context_put(old);
	if (os->ops->snap_remove)
		os->ops->snap_remove(os, id);
	return err;
}

static int snap_remove_locked(struct objfs_sb *sbi, const char *name, size_t len)
{
	struct objfs_snap *sn = snap_by_name(sbi, name, len);
	struct pc_snap_context *cur;
	struct objfs_snap *tab;
	unsigned idx, n = 0;
	uint64_t id;
	int err;

	if (!sn)
		return -ENOENT;
	idx = (unsigned)(sn - sbi->snaps);
	id = sn->snapid;
	tab = malloc((sbi->nr_snaps ? sbi->nr_snaps : 1) * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (unsigned i = 0; i < sbi->nr_snaps; i++)
		if (i != idx)
			tab[n++] = sbi->snaps[i];
	cur = objfs_get_snapc(sbi);
	err = snaps_write(sbi, tab, n, cur->seq);
	pc_snap_context_put(cur);
	free(tab);
	if (err)
		return err;
	pc_snap_realm_remove(&sbi->realm, id);
	memmove(&sbi->snaps[idx], &sbi->snaps[idx + 1], (sbi->nr_snaps - idx - 1) * sizeof(*sn));
	sbi->nr_snaps--;
	/* The store trims the clones only this snapshot needed. A failure
	 * leaves clones behind, not a wrong tree: the table no longer
	 * names the snapshot. */
	if (sbi->os->ops->snap_remove)
		sbi->os->ops->snap_remove(sbi->os, id);
	return 0;
}

/* ---- the virtual ".snap" directory of directory <ino> ---- */

int objfs_read_snapdir_inode(struct pc_inode *inode)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	inode->i_mode = S_IFDIR | 0555;
	inode->i_nlink = 2;
	inode->i_blkbits = PC_PAGE_SHIFT;
	pc_i_size_write(inode, 0);
	pc_inode_set_times(inode, PC_ATTR_ATIME | PC_ATTR_MTIME | PC_ATTR_CTIME, &now);
	pc_inode_set_ops(inode, &objfs_snapdir_iops, &objfs_snapdir_fops, NULL);
	return 0;
}

static int snapdir_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	struct objfs_sb *sbi = OBJFS_SB(dir->i_sb);
	struct objfs_inode *od = OBJFS_I(dir);
	struct objfs_snap *sn;
	int err = 0;

	if (len == 1 && name[0] == '.') {
		*ino = dir->i_ino;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*ino = od->ino;
		return 0;
	}
	pthread_rwlock_rdlock(&sbi->snap_rwsem);
	sn = snap_by_name(sbi, name, len);
	if (sn)
		*ino = OBJFS_VINO(sn->slot, od->ino);
	else
		err = -ENOENT;
	pthread_rwlock_unlock(&sbi->snap_rwsem);
	return err;
}

/* Entries in slot order; a snapshot's cookie is its slot + 2. */
static int snapdir_iterate(struct pc_file *file, struct pc_dir_context *ctx)
{
	struct pc_inode *dir = file->f_inode;
	struct objfs_sb *sbi = OBJFS_SB(dir->i_sb);
	struct objfs_inode *od = OBJFS_I(dir);

	if (ctx->pos == 0) {
		if (!ctx->actor(ctx, ".", 1, dir->i_ino, DT_DIR))
			return 0;
		ctx->pos = 1;
	}
	if (ctx->pos == 1) {
		if (!ctx->actor(ctx, "..", 2, od->ino, DT_DIR))
			return 0;
		ctx->pos = 2;
	}
	pthread_rwlock_rdlock(&sbi->snap_rwsem);
	for (unsigned i = 0; i < sbi->nr_snaps; i++) {
		struct objfs_snap *sn = &sbi->snaps[i];
		loff_t cookie = (loff_t)sn->slot + 2;

		if (cookie < ctx->pos)
			continue;
		ctx->pos = cookie;
		if (!ctx->actor(ctx, sn->name, strlen(sn->name), OBJFS_VINO(sn->slot, od->ino), DT_DIR))
			break;
		ctx->pos = cookie + 1;
	}
	if (ctx->pos < (loff_t)sbi->next_slot + 3)
		ctx->pos = (loff_t)sbi->next_slot + 3;
	pthread_rwlock_unlock(&sbi->snap_rwsem);
	return 0;
}

/* mkdir /.snap/NAME: take a snapshot of the whole filesystem. */
static int snapdir_mkdir(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
			 struct pc_inode **out)
{
	struct objfs_sb *sbi = OBJFS_SB(dir->i_sb);
	struct objfs_snap *sn;
	uint64_t slot;
	int err;

	(void)mode;
	if (OBJFS_I(dir)->ino != sbi->root_ino)
		return -EROFS;		/* snapshots are of the whole tree only */
	if (len > OBJFS_SNAPNAME_MAX)
		return -ENAMETOOLONG;
	pthread_rwlock_wrlock(&sbi->snap_rwsem);
	err = snap_create_locked(sbi, name, len, &sn);
	slot = err ? 0 : sn->slot;
	pthread_rwlock_unlock(&sbi->snap_rwsem);
	if (err)
		return err;
	return pc_iget(dir->i_sb, OBJFS_VINO(slot, sbi->root_ino), out);
}

/* rmdir /.snap/NAME: remove the snapshot (the store trims its clones). */
static int snapdir_rmdir(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	struct objfs_sb *sbi = OBJFS_SB(dir->i_sb);
	int err;

	if (OBJFS_I(dir)->ino != sbi->root_ino)
		return -EROFS;
	pthread_rwlock_wrlock(&sbi->snap_rwsem);
	err = snap_remove_locked(sbi, name, len);
	pthread_rwlock_unlock(&sbi->snap_rwsem);
	if (!err)
		victim->i_nlink = 0;	/* evicted at its last reference */
	return err;
}

/* ---- read-only operations ---- */

static int ro_create(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		     struct pc_inode **out)
{
	(void)dir, (void)name, (void)len, (void)mode, (void)out;
	return -EROFS;
}

static int ro_unlink(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	(void)dir, (void)name, (void)len, (void)victim;
	return -EROFS;
}

static int ro_rename(struct pc_inode *odir, const char *oname, size_t olen, struct pc_inode *ndir,
		     const char *nname, size_t nlen, struct pc_inode *source,
		     struct pc_inode *victim, unsigned flags)
{
	(void)odir, (void)oname, (void)olen, (void)ndir, (void)nname, (void)nlen, (void)source;
	(void)victim, (void)flags;
	return -EROFS;
}

static int ro_symlink(struct pc_inode *dir, const char *name, size_t len, const char *target,
		      struct pc_inode **out)
{
	(void)dir, (void)name, (void)len, (void)target, (void)out;
	return -EROFS;
}

static int ro_setattr(struct pc_inode *inode, const struct pc_iattr *attr)
{
	(void)inode, (void)attr;
	return -EROFS;
}

static ssize_t ro_write_iter(struct pc_kiocb *iocb, struct pc_iov_iter *from)
{
	(void)iocb, (void)from;
	return -EROFS;
}

static int ro_fallocate(struct pc_file *file, int mode, loff_t offset, loff_t len)
{
	(void)file, (void)mode, (void)offset, (void)len;
	return -EROFS;
}

static int ro_open(struct pc_inode *inode, struct pc_file *file)
{
	(void)inode;
	return (file->f_flags & O_ACCMODE) != O_RDONLY ? -EROFS : 0;
}

/*
 * open of a snapshot's file: read-only; data of the file still dirty in
 * an older context than the head (a cap_snap) is written first, so the
 * reads at the snap id find it in the store.
 */
static int snapfile_open(struct pc_inode *inode, struct pc_file *file)
{
	struct pc_inode *h;
	int err = ro_open(inode, file);

	if (err)
		return err;
	if (pc_iget(inode->i_sb, OBJFS_I(inode)->ino, &h) == 0) {
		if (OBJFS_I(h)->si_live)
			err = pc_snap_inode_flush_older(&OBJFS_I(h)->si);
		pc_iput(h);
	}
	return err;
}

static int ro_fsync(struct pc_file *file, loff_t start, loff_t end, int datasync)
{
	(void)file, (void)start, (void)end, (void)datasync;
	return 0;
}

static ssize_t snap_readlink(struct pc_inode *inode, char *buf, size_t size)
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

const struct pc_inode_operations objfs_snapdir_iops = {
	.lookup = snapdir_lookup,
	.create = ro_create,
	.mkdir = snapdir_mkdir,
	.unlink = ro_unlink,
	.rmdir = snapdir_rmdir,
	.rename = ro_rename,
	.symlink = ro_symlink,
	.setattr = ro_setattr,
};
const struct pc_file_operations objfs_snapdir_fops = {
	.iterate = snapdir_iterate,
	.fsync = ro_fsync,
};

/* A directory inside a snapshot: objfs_lookup/objfs_iterate know its slot. */
static int snap_dir_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino);

const struct pc_inode_operations objfs_snap_dir_iops = {
	.lookup = snap_dir_lookup,
	.create = ro_create,
	.mkdir = ro_create,
	.unlink = ro_unlink,
	.rmdir = ro_unlink,
	.rename = ro_rename,
	.symlink = ro_symlink,
	.setattr = ro_setattr,
};
const struct pc_file_operations objfs_snap_dir_fops = {
	.iterate = objfs_iterate,
	.fsync = ro_fsync,
	.open = ro_open,
};
const struct pc_inode_operations objfs_snap_file_iops = {
	.setattr = ro_setattr,
};
const struct pc_file_operations objfs_snapfile_fops = {
	.read_iter = pc_generic_file_read_iter,
	.write_iter = ro_write_iter,
	.fsync = ro_fsync,
	.open = snapfile_open,
	.fallocate = ro_fallocate,
	.llseek = pc_generic_file_llseek,
};
const struct pc_inode_operations objfs_snap_symlink_iops = {
	.readlink = snap_readlink,
	.setattr = ro_setattr,
};

static int snap_dir_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	return objfs_dir_iops.lookup(dir, name, len, ino);
}
