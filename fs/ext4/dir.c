/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs/ext4/dir.c - directories: lookup, listing and the namespace
 * operations of the ext2/3/4 client, all through libext2fs.
 *
 * Every operation runs with the VFS's directory locks held (see vfs.h) and
 * takes the ext2fs lock for its libext2fs calls. Inodes changed by an
 * operation are written before it returns (raw and the VFS inode agree
 * again, see ext4.h), so a namespace change is in the buffer cache when the
 * call returns and on disk at the next sync. There is no journal: a crash
 * in the middle of a rename can leave both names or a wrong link count,
 * which e2fsck repairs (a read-write mount marks the filesystem not clean
 * until unmount, so e2fsck -p checks it).
 *
 * Directory listing cookies (ctx->pos): the byte position of the next
 * entry, counted over the directory's mapped blocks in order (block
 * ordinal * block size + offset in the block). Entries that stay in place
 * keep their cookie across changes elsewhere in the directory, so a
 * listing interrupted by unlinks neither repeats nor skips survivors. Inline
 * directories (read-only mounts) use the entry ordinal instead.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <et/com_err.h>

#include "ext4.h"

/* NUL-terminated copy of a name (@buf EXT2_NAME_LEN + 1 bytes). */
static int name_copy(char *buf, const char *name, size_t len)
{
	if (len == 0)
		return -ENOENT;
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	if (memchr(name, '\0', len) || memchr(name, '/', len))
		return -EINVAL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return 0;
}

static int mode_to_ftype(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return EXT2_FT_REG_FILE;
	case S_IFDIR:
		return EXT2_FT_DIR;
	case S_IFCHR:
		return EXT2_FT_CHRDEV;
	case S_IFBLK:
		return EXT2_FT_BLKDEV;
	case S_IFIFO:
		return EXT2_FT_FIFO;
	case S_IFSOCK:
		return EXT2_FT_SOCK;
	case S_IFLNK:
		return EXT2_FT_SYMLINK;
	default:
		return EXT2_FT_UNKNOWN;
	}
}

static unsigned ftype_to_dtype(int ftype)
{
	switch (ftype) {
	case EXT2_FT_REG_FILE:
		return DT_REG;
	case EXT2_FT_DIR:
		return DT_DIR;
	case EXT2_FT_CHRDEV:
		return DT_CHR;
	case EXT2_FT_BLKDEV:
		return DT_BLK;
	case EXT2_FT_FIFO:
		return DT_FIFO;
	case EXT2_FT_SOCK:
		return DT_SOCK;
	case EXT2_FT_SYMLINK:
		return DT_LNK;
	default:
		return DT_UNKNOWN;
	}
}

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* Set mtime and ctime of a directory that changed (no write). */
static void dir_changed(struct pc_inode *dir)
{
	struct timespec ts;

	now(&ts);
	pc_inode_set_times(dir, PC_ATTR_MTIME | PC_ATTR_CTIME, &ts);
}

/* ext2fs lock held. Write @inode's raw; report the first error in *@err. */
static void write_raw(struct pc_inode *inode, int *err)
{
	int e = pc_ext4_write_raw_locked(inode);

	if (e && !*err)
		*err = e;
}

/* ---- lookup ---- */

static int ext4_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	struct pc_ext4_sb *sbi = EXT4_SB(dir->i_sb);
	ext2_ino_t found = 0;
	errcode_t ret;
	unsigned ma;
	int err;

	if (len == 0)
		return -ENOENT;
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	/* ext2fs_lookup reads every block of the directory: a large one is
	 * long work, which pc_interrupt() stops before it starts. */
	if (pc_i_size_read(dir) > 16 * (loff_t)sbi->blocksize && pc_interrupted())
		return -EINTR;
	ma = pc_ext4_lock(sbi);
	err = pc_ext4_check_map_locked(dir);
	if (!err) {
		ret = ext2fs_lookup(sbi->fs, (ext2_ino_t)dir->i_ino, name, (int)len, NULL, &found);
		err = pc_ext4_errno(ret);
		if (!err && (found == 0 || found > sbi->fs->super->s_inodes_count))
			err = pc_ext4_error(sbi, dir->i_ino, 0,
					    "entry '%.*s' names inode %u, past the inode count",
					    (int)len, name, found);
	}
	pc_ext4_unlock(sbi, ma);
	if (err)
		return err;
	*ino = found;
	return 0;
}

/* ---- creating inodes ---- */

/*
 * ext2fs lock held. Allocate an inode near @dir, fill @raw for a new inode
 * of @mode with @links links, write it (whole on-disk inode, zeroed
 * beyond raw) and mark it in use. With @extents the inode gets an empty
 * extent tree. 0 and *@ino, or -errno (nothing allocated).
 */
static int new_inode_locked(struct pc_inode *dir, mode_t mode, unsigned links, bool extents,
			    struct ext2_inode_large *raw, ext2_ino_t *ino)
{
	struct pc_ext4_sb *sbi = EXT4_SB(dir->i_sb);
	ext2_filsys fs = sbi->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	uid_t uid = geteuid();
	gid_t gid = getegid();
	static _Atomic uint32_t generation;
	errcode_t ret;
	char *buf;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(dir->i_sb));
	if (dir->i_mode & S_ISGID) {
		gid = dir->i_gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	ret = ext2fs_new_inode(fs, (ext2_ino_t)dir->i_ino, (int)mode, NULL, ino);
	if (ret)
		return ret == EXT2_ET_INODE_ALLOC_FAIL ? -ENOSPC : pc_ext4_errno(ret);

	memset(raw, 0, sizeof(*raw));
	raw->i_mode = (__u16)mode;
	raw->i_uid = (__u16)uid;
	ext2fs_set_i_uid_high(*raw, (__u16)(uid >> 16));
	raw->i_gid = (__u16)gid;
	ext2fs_set_i_gid_high(*raw, (__u16)(gid >> 16));
	raw->i_links_count = (__u16)links;
	if (isize > EXT2_GOOD_OLD_INODE_SIZE)
		raw->i_extra_isize = (__u16)PC_MIN(sizeof(*raw) - EXT2_GOOD_OLD_INODE_SIZE,
						   isize - EXT2_GOOD_OLD_INODE_SIZE);
	raw->i_generation = (__u32)time(NULL) ^ atomic_fetch_add(&generation, 0x9e3779b9u) ^ *ino;
	pc_ext4_raw_times_now(fs, raw);
	if (extents) {
		ext2_extent_handle_t h;

		/* Opening an extent handle on an inode with an empty i_block
		 * initialises the extent header and sets EXT4_EXTENTS_FL. */
		ret = ext2fs_extent_open2(fs, *ino, (struct ext2_inode *)raw, &h);
		if (ret)
			return pc_ext4_errno(ret);
		ext2fs_extent_free(h);
	}

	buf = calloc(1, isize);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, raw, PC_MIN((size_t)isize, sizeof(*raw)));
	ret = ext2fs_write_inode_full(fs, *ino, (struct ext2_inode *)buf, (int)isize);
	free(buf);
	if (ret)
		return pc_ext4_errno(ret);
	ext2fs_inode_alloc_stats2(fs, *ino, +1, LINUX_S_ISDIR(mode));
	return 0;
}

/* ext2fs lock held. Undo new_inode_locked (and free any blocks). */
static void discard_inode_locked(struct pc_ext4_sb *sbi, ext2_ino_t ino,
				 struct ext2_inode_large *raw)
{
	ext2_filsys fs = sbi->fs;

	PC_EXT4_ASSERT_LOCKED(sbi);
	if (ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)raw))
		(void)ext2fs_punch(fs, ino, (struct ext2_inode *)raw, NULL, 0, ~0ULL);
	raw->i_links_count = 0;
	raw->i_dtime = (__u32)time(NULL);
	(void)ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)raw, sizeof(*raw));
	ext2fs_inode_alloc_stats2(fs, ino, -1, LINUX_S_ISDIR(raw->i_mode));
}

/* ext2fs lock held. Add "@name -> @ino" to @dir, growing it if full;
 * reloads @dir's raw (libext2fs may have changed its size and blocks). */
static int add_link_locked(struct pc_inode *dir, const char *name, ext2_ino_t ino, int ftype)
{
	struct pc_ext4_sb *sbi = EXT4_SB(dir->i_sb);
	ext2_filsys fs = sbi->fs;
	errcode_t ret;
	int err;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(dir->i_sb));
	err = pc_ext4_check_map_locked(dir);
	if (err)
		return err;
	ret = ext2fs_link(fs, (ext2_ino_t)dir->i_ino, name, ino, ftype);
	if (ret == EXT2_ET_DIR_NO_SPACE) {
		ret = ext2fs_expand_dir(fs, (ext2_ino_t)dir->i_ino);
		while (ret == EXT2_ET_BLOCK_ALLOC_FAIL && pc_ext4_release_deferred_locked(sbi, SIZE_MAX))
			ret = ext2fs_expand_dir(fs, (ext2_ino_t)dir->i_ino);	/* disk full */
		if (!ret)
			ret = ext2fs_link(fs, (ext2_ino_t)dir->i_ino, name, ino, ftype);
	}
	err = pc_ext4_reload_raw_locked(dir);
	if (ret)
		return ret == EXT2_ET_DIR_NO_SPACE || ret == EXT2_ET_BLOCK_ALLOC_FAIL ?
			       -ENOSPC : pc_ext4_errno(ret);
	return err;
}

/*
 * Give the just-initialised inode @ino (@raw) its name in @dir, or free it
 * again if that fails; on success update @dir (one more link for a new
 * subdirectory's ".."). ext2fs lock held. 0 or -errno.
 */
static int link_new_inode_locked(struct pc_inode *dir, const char *namez, ext2_ino_t ino,
				 struct ext2_inode_large *raw, int ftype)
{
	int err = add_link_locked(dir, namez, ino, ftype);

	if (err) {
		discard_inode_locked(EXT4_SB(dir->i_sb), ino, raw);
		return err;
	}
	if (ftype == EXT2_FT_DIR)
		dir->i_nlink++;		/* the new ".." */
	dir_changed(dir);
	write_raw(dir, &err);
	return err;
}

/* A VFS inode for a new on-disk inode, after the ext2fs lock is dropped. */
static int instantiate(struct pc_inode *dir, ext2_ino_t ino, const struct ext2_inode_large *raw,
		       struct pc_inode **out)
{
	struct pc_inode *inode = pc_new_inode(dir->i_sb, ino);
	int err;

	if (!inode)
		return -ENOMEM;
	EXT4_I(inode)->raw = *raw;
	pc_ext4_fill_vfs(inode);
	err = pc_ext4_set_ops(inode);
	if (err) {
		pc_iput(inode);
		return err;
	}
	*out = inode;
	return 0;
}

static int ext4_create(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		       struct pc_inode **out)
{
	struct pc_ext4_sb *sbi = EXT4_SB(dir->i_sb);
	struct ext2_inode_large raw;
	char namez[EXT2_NAME_LEN + 1];
	ext2_ino_t ino;
	unsigned ma;
	int err;

	if (sbi->readonly)
		return -EROFS;
	err = name_copy(namez, name, len);
	if (err)
		return err;
	mode = (mode & 07777) | S_IFREG;
	ma = pc_ext4_lock(sbi);
	err = new_inode_locked(dir, mode, 1, sbi->extents, &raw, &ino);
	if (err)
		goto out_unlock;
	err = link_new_inode_locked(dir, namez, ino, &raw, EXT2_FT_REG_FILE);
out_unlock:
	pc_ext4_unlock(sbi, ma);
	if (err)
		return err;
	return instantiate(dir, ino, &raw, out);
}

static int ext4_mkdir(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		      struct pc_inode **out)
{
	struct pc_ext4_sb *sbi = EXT4_SB(dir->i_sb);
	ext2_filsys fs = sbi->fs;
	struct ext2_inode_large raw;
	char namez[EXT2_NAME_LEN + 1];
	char *block = NULL;
	blk64_t pblk = 0;
	ext2_ino_t ino;
	errcode_t ret;
	unsigned ma;
	int err;

	if (sbi->readonly)
		return -EROFS;
	err = name_copy(namez, name, len);
	if (err)
		return err;
	if (dir->i_nlink >= EXT2_LINK_MAX)
		return -EMLINK;
	mode = (mode & 07777) | S_IFDIR;
	ma = pc_ext4_lock(sbi);
	err = new_inode_locked(dir, mode, 2, sbi->extents, &raw, &ino);
	if (err)
		goto out_unlock;
	/* One block holding "." and "..". BMAP_ALLOC zeroes it, maps it,
	 * counts it in i_blocks and writes the inode. */
	ret = ext2fs_inode_size_set(fs, (struct ext2_inode *)&raw, fs->blocksize);
	if (!ret)
		ret = ext2fs_bmap2(fs, ino, (struct ext2_inode *)&raw, NULL, BMAP_ALLOC, 0, NULL,
				   &pblk);
	if (!ret)
		ret = ext2fs_new_dir_block(fs, ino, (ext2_ino_t)dir->i_ino, &block);
	if (!ret)
		ret = ext2fs_write_dir_block4(fs, pblk, block, 0, ino);
	if (block)
		ext2fs_free_mem(&block);
	if (!ret)
		ret = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&raw, sizeof(raw));
	if (ret) {
		err = ret == EXT2_ET_BLOCK_ALLOC_FAIL ? -ENOSPC : pc_ext4_errno(ret);
		discard_inode_locked(sbi, ino, &raw);
		goto out_unlock;
	}
	err = link_new_inode_locked(dir, namez, ino, &raw, EXT2_FT_DIR);
out_unlock:
	pc_ext4_unlock(sbi, ma);
	if (err)
		return err;
	return instantiate(dir, ino, &raw, out);
}

static int ext4_symlink(struct pc_inode *dir, const char *name, size_t len, const char *target,
			struct pc_inode **out)
{
	struct pc_ext4_sb *sbi = EXT4_SB(dir->i_sb);
	ext2_filsys fs = sbi->fs;
	struct ext2_inode_large raw;
	char namez[EXT2_NAME_LEN + 1];
	size_t tlen = target ? strlen(target) : 0;
	bool fast = tlen < sizeof(raw.i_block);
	char *block = NULL;
	blk64_t pblk = 0;
	ext2_ino_t ino;
	errcode_t ret = 0;
	unsigned ma;
	int err;

	if (sbi->readonly)
		return -EROFS;
	err = name_copy(namez, name, len);
	if (err)
		return err;
	if (tlen == 0)
		return -ENOENT;
	if (tlen >= fs->blocksize)
		return -ENAMETOOLONG;
	if (!fast) {
		block = calloc(1, fs->blocksize);
		if (!block)
			return -ENOMEM;
		memcpy(block, target, tlen);
	}
	ma = pc_ext4_lock(sbi);
	err = new_inode_locked(dir, S_IFLNK | 0777, 1, !fast && sbi->extents, &raw, &ino);
	if (err)
		goto out_unlock;
	ret = ext2fs_inode_size_set(fs, (struct ext2_inode *)&raw, tlen);
	if (!ret && fast) {
		memcpy(raw.i_block, target, tlen);
		ret = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&raw, sizeof(raw));
	} else if (!ret) {
		ret = ext2fs_bmap2(fs, ino, (struct ext2_inode *)&raw, NULL, BMAP_ALLOC, 0, NULL,
				   &pblk);
		if (!ret)
			ret = io_channel_write_blk64(fs->io, pblk, 1, block);
		if (!ret)
			ret = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&raw,
						      sizeof(raw));
	}
	if (ret) {
		err = ret == EXT2_ET_BLOCK_ALLOC_FAIL ? -ENOSPC : pc_ext4_errno(ret);
		discard_inode_locked(sbi, ino, &raw);
		goto out_unlock;
	}
	err = link_new_inode_locked(dir, namez, ino, &raw, EXT2_FT_SYMLINK);
out_unlock:
	pc_ext4_unlock(sbi, ma);
	free(block);
	if (err)
		return err;
	return instantiate(dir, ino, &raw, out);
}

/* ---- removing names ---- */

struct empty_check {
	int others;
};

static int empty_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
		    int blocksize, char *buf, void *priv)
{
	struct empty_check *ec = priv;

	(void)dir;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (dirent->inode && entry != DIRENT_DOT_FILE && entry != DIRENT_DOT_DOT_FILE) {
		ec->others++;
		return DIRENT_ABORT;
	}
	return 0;
}

/* ext2fs lock held. 0 if @dir has only "." and "..", -ENOTEMPTY, -errno. */
static int dir_empty_locked(struct pc_ext4_sb *sbi, struct pc_inode *dir)
{
	struct empty_check ec = { 0 };
	int flags = 0;
	errcode_t ret;

	int err;

	PC_EXT4_ASSERT_LOCKED(sbi);
	err = pc_ext4_check_map_locked(dir);
	if (err)
		return err;
	if (EXT4_RAW(dir)->i_flags & EXT4_INLINE_DATA_FL)
		flags |= DIRENT_FLAG_INCLUDE_INLINE_DATA;
	ret = ext2fs_dir_iterate2(sbi->fs, (ext2_ino_t)dir->i_ino, flags, NULL, empty_cb, &ec);
	if (ret)
		return pc_ext4_errno(ret);
	return ec.others ? -ENOTEMPTY : 0;
}

/* Stamp @ts as ctime of @victim and mtime/ctime of @dir (under i_lock,
 * which pc_inode_touch and write_inode use for times). */
static void stamp_remove(struct pc_inode *dir, struct pc_inode *victim, const struct timespec *ts)
{
	pc_inode_set_times(victim, PC_ATTR_CTIME, ts);
	pc_inode_set_times(dir, PC_ATTR_MTIME | PC_ATTR_CTIME, ts);
}

/*
 * unlink and rmdir: remove the entry @name (@victim) from @dir. A
 * directory victim must be empty; it loses all its links and @dir loses
 * the one of the victim's "..".
 */
static int remove_entry(struct pc_inode *dir, const char *name, size_t len,
			struct pc_inode *victim, bool isdir)
{
	struct pc_ext4_sb *sbi = EXT4_SB(dir->i_sb);
	char namez[EXT2_NAME_LEN + 1];
	struct timespec ts;
	errcode_t ret;
	unsigned ma;
	int err;

	if (sbi->readonly)
		return -EROFS;
	err = name_copy(namez, name, len);
	if (err)
		return err;
	ma = pc_ext4_lock(sbi);
	err = pc_ext4_check_map_locked(dir);
	if (err)
		goto out_unlock;
	if (isdir) {
		err = dir_empty_locked(sbi, victim);
		if (err)
			goto out_unlock;
	} else if (victim->i_nlink <= 1) {
		/* The last link: eviction will free the blocks. Refuse now,
		 * changing nothing, if the block map is corrupt (the kernel
		 * would fail in evict, where nobody hears of it). */
		err = pc_ext4_check_map_locked(victim);
		if (err)
			goto out_unlock;
	}
	ret = ext2fs_unlink(sbi->fs, (ext2_ino_t)dir->i_ino, namez, (ext2_ino_t)victim->i_ino, 0);
	if (ret) {
		err = pc_ext4_errno(ret);
		goto out_unlock;
	}
	if (isdir) {
		victim->i_nlink = 0;
		if (dir->i_nlink > 2)
			dir->i_nlink--;		/* the victim's ".." */
	} else if (victim->i_nlink > 0) {
		victim->i_nlink--;
	}
	now(&ts);
	stamp_remove(dir, victim, &ts);
	write_raw(victim, &err);
	write_raw(dir, &err);
out_unlock:
	pc_ext4_unlock(sbi, ma);
	return err;
}

static int ext4_unlink(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	return remove_entry(dir, name, len, victim, false);
}

static int ext4_rmdir(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	return remove_entry(dir, name, len, victim, true);
}

/* ---- rename ---- */

static int set_dotdot_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
			 int blocksize, char *buf, void *priv)
{
	ext2_ino_t *parent = priv;

	(void)dir;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (entry == DIRENT_DOT_DOT_FILE) {
		dirent->inode = *parent;
		*parent = 0;	/* done */
		return DIRENT_CHANGED | DIRENT_ABORT;
	}
	return 0;
}

static int ext4_rename(struct pc_inode *odir, const char *oname, size_t olen, struct pc_inode *ndir,
		       const char *nname, size_t nlen, struct pc_inode *source,
		       struct pc_inode *victim, unsigned flags)
{
	struct pc_ext4_sb *sbi = EXT4_SB(odir->i_sb);
	ext2_filsys fs = sbi->fs;
	char onamez[EXT2_NAME_LEN + 1], nnamez[EXT2_NAME_LEN + 1];
	bool is_dir = S_ISDIR(source->i_mode);
	struct timespec ts;
	errcode_t ret;
	unsigned ma;
	int err;

	if (flags)
		return -EINVAL;
	if (sbi->readonly)
		return -EROFS;
	err = name_copy(onamez, oname, olen);
	if (!err)
		err = name_copy(nnamez, nname, nlen);
	if (err)
		return err;
	if (victim == source)
		return 0;
	if (is_dir && odir != ndir && !victim && ndir->i_nlink >= EXT2_LINK_MAX)
		return -EMLINK;

	ma = pc_ext4_lock(sbi);
	err = pc_ext4_check_map_locked(odir);
	if (!err)
		err = pc_ext4_check_map_locked(ndir);
	if (!err && is_dir)
		err = pc_ext4_check_map_locked(source);
	if (!err && victim && !S_ISDIR(victim->i_mode) && victim->i_nlink <= 1)
		err = pc_ext4_check_map_locked(victim);
	if (err)
		goto out_unlock;
	if (victim) {
		if (S_ISDIR(victim->i_mode)) {
			err = dir_empty_locked(sbi, victim);
			if (err)
				goto out_unlock;
		}
		ret = ext2fs_unlink(fs, (ext2_ino_t)ndir->i_ino, nnamez, (ext2_ino_t)victim->i_ino, 0);
		if (ret) {
			err = pc_ext4_errno(ret);
			goto out_unlock;
		}
	}
	err = add_link_locked(ndir, nnamez, (ext2_ino_t)source->i_ino, mode_to_ftype(source->i_mode));
	if (err) {
		/* Put the victim's name back (best effort). */
		if (victim)
			(void)add_link_locked(ndir, nnamez, (ext2_ino_t)victim->i_ino,
					      mode_to_ftype(victim->i_mode));
		goto out_unlock;
	}
	ret = ext2fs_unlink(fs, (ext2_ino_t)odir->i_ino, onamez, (ext2_ino_t)source->i_ino, 0);
	if (ret) {
		err = pc_ext4_errno(ret);
		goto out_unlock;
	}
	if (odir == ndir)
		(void)0;	/* add_link_locked reloaded it already */
	if (is_dir && odir != ndir) {
		ext2_ino_t parent = (ext2_ino_t)ndir->i_ino;

		ret = ext2fs_dir_iterate2(fs, (ext2_ino_t)source->i_ino, 0, NULL, set_dotdot_cb,
					  &parent);
		if (ret) {
			err = pc_ext4_errno(ret);
			goto out_unlock;
		}
		if (parent != 0) {
			err = -EUCLEAN;	/* no ".." entry */
			goto out_unlock;
		}
		if (odir->i_nlink > 2)
			odir->i_nlink--;
		ndir->i_nlink++;
	}
	now(&ts);
	if (victim) {
		if (S_ISDIR(victim->i_mode)) {
			victim->i_nlink = 0;
			if (ndir->i_nlink > 2)
				ndir->i_nlink--;
		} else if (victim->i_nlink > 0) {
			victim->i_nlink--;
		}
		pc_inode_set_times(victim, PC_ATTR_CTIME, &ts);
		write_raw(victim, &err);
	}
	pc_inode_set_times(source, PC_ATTR_CTIME, &ts);
	pc_inode_set_times(odir, PC_ATTR_MTIME | PC_ATTR_CTIME, &ts);
	pc_inode_set_times(ndir, PC_ATTR_MTIME | PC_ATTR_CTIME, &ts);
	write_raw(source, &err);
	write_raw(odir, &err);
	if (ndir != odir)
		write_raw(ndir, &err);
out_unlock:
	pc_ext4_unlock(sbi, ma);
	return err;
}

/* ---- listing ---- */

#define ITER_BATCH 64

struct iter_ent {
	loff_t pos;		/* cookie of this entry */
	uint64_t ino;
	unsigned dtype;
	unsigned char len;
	char name[EXT2_NAME_LEN + 1];
};

struct iter_state {
	loff_t start;		/* skip entries before this cookie */
	bool filetype;
	loff_t ordinal;		/* inline directories: entries seen */
	unsigned n;
	bool full;
	loff_t end;		/* cookie past the last entry looked at */
	struct iter_ent ents[ITER_BATCH];
};

static void iter_add(struct iter_state *st, loff_t pos, const struct ext2_dir_entry *dirent,
		     int len)
{
	struct iter_ent *e = &st->ents[st->n++];

	e->pos = pos;
	e->ino = dirent->inode;
	e->len = (unsigned char)len;
	memcpy(e->name, dirent->name, (size_t)len);
	e->name[len] = '\0';
	e->dtype = st->filetype ? ftype_to_dtype(ext2fs_dirent_file_type(dirent)) : DT_UNKNOWN;
	if (st->n == ITER_BATCH)
		st->full = true;
}

/* Inline directories (read-only mounts): cookies are entry ordinals. */
static int inline_iter_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
			  int blocksize, char *buf, void *priv)
{
	struct iter_state *st = priv;
	int len = ext2fs_dirent_name_len(dirent);
	loff_t pos;

	(void)dir;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (!dirent->inode || len <= 0)
		return 0;
	pos = st->ordinal++;
	st->end = st->ordinal;
	if (pos < st->start)
		return 0;
	iter_add(st, pos, dirent, len);
	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE ||
	    (len <= 2 && memcmp(dirent->name, "..", (size_t)len) == 0))
		st->ents[st->n - 1].dtype = DT_DIR;	/* synthesised, no type */
	return st->full ? DIRENT_ABORT : 0;
}

/*
 * ext2fs lock held. Collect up to ITER_BATCH entries of a block-mapped
 * directory from cookie st->start on, reading only the blocks from that
 * cookie's block on.
 */
static int iter_blocks_locked(struct pc_ext4_sb *sbi, struct pc_inode *dir, struct iter_state *st)
{
	ext2_filsys fs = sbi->fs;
	struct ext2_inode *raw = EXT4_RAW(dir);
	unsigned bs = fs->blocksize;
	uint64_t nblocks = (EXT2_I_SIZE(raw) + bs - 1) / bs;
	uint64_t lblk = (uint64_t)st->start / bs;
	unsigned off = (unsigned)((uint64_t)st->start % bs);
	char *buf;
	int err = 0;

	PC_EXT4_ASSERT_LOCKED(sbi);
	buf = malloc(bs);
	if (!buf)
		return -ENOMEM;
	st->end = st->start;
	err = pc_ext4_check_map_locked(dir);
	for (; !err && lblk < nblocks && !st->full; lblk++, off = 0) {
		blk64_t pblk = 0;
		unsigned o = 0, rec_len;
		errcode_t ret;

		if (pc_interrupted()) {
			err = -EINTR;
			break;
		}
		ret = ext2fs_bmap2(fs, (ext2_ino_t)dir->i_ino, raw, NULL, 0, lblk, NULL, &pblk);
		if (ret) {
			err = pc_ext4_errno(ret);
			break;
		}
		if (pblk == 0) {
			st->end = (loff_t)((lblk + 1) * bs);
			continue;	/* a hole in the directory */
		}
		ret = ext2fs_read_dir_block4(fs, pblk, buf, 0, (ext2_ino_t)dir->i_ino);
		if (ret) {
			err = pc_ext4_errno(ret);
			break;
		}
		while (o + 8 <= bs) {
			struct ext2_dir_entry *de = (struct ext2_dir_entry *)(buf + o);
			int len = ext2fs_dirent_name_len(de);

			if (ext2fs_get_rec_len(fs, de, &rec_len) || rec_len < 8 || rec_len % 4 ||
			    o + rec_len > bs || (unsigned)len + 8 > rec_len) {
				err = pc_ext4_error(sbi, dir->i_ino, pblk,
						    "bad directory entry at offset %u of block %llu",
						    o, (unsigned long long)pblk);
				break;
			}
			if (o >= off && de->inode && len > 0) {
				if (de->inode > fs->super->s_inodes_count) {
					err = pc_ext4_error(sbi, dir->i_ino, pblk,
							    "entry '%.*s' names inode %u, past the "
							    "inode count", len, de->name, de->inode);
					break;
				}
				iter_add(st, (loff_t)(lblk * bs + o), de, len);
			}
			o += rec_len;
			st->end = (loff_t)(lblk * bs + o);
			if (st->full)
				break;
		}
		if (err)
			break;
	}
	free(buf);
	return err;
}

static int ext4_iterate(struct pc_file *file, struct pc_dir_context *ctx)
{
	struct pc_inode *dir = file->f_inode;
	struct pc_ext4_sb *sbi = EXT4_SB(dir->i_sb);
	struct iter_state *st;
	int err = 0;

	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (;;) {
		bool by_ordinal;
		unsigned ma;

		st->start = ctx->pos;
		st->ordinal = 0;
		st->n = 0;
		st->full = false;
		st->end = ctx->pos;
		ma = pc_ext4_lock(sbi);
		st->filetype = ext2fs_has_feature_filetype(sbi->fs->super);
		by_ordinal = EXT4_RAW(dir)->i_flags & EXT4_INLINE_DATA_FL;
		if (by_ordinal) {
			errcode_t ret = ext2fs_dir_iterate2(sbi->fs, (ext2_ino_t)dir->i_ino,
							    DIRENT_FLAG_INCLUDE_INLINE_DATA, NULL,
							    inline_iter_cb, st);
			err = pc_ext4_errno(ret);
		} else {
			err = iter_blocks_locked(sbi, dir, st);
		}
		pc_ext4_unlock(sbi, ma);
		if (err)
			break;
		/* Hand the batch to the caller outside the lock. */
		for (unsigned i = 0; i < st->n; i++) {
			struct iter_ent *e = &st->ents[i];

			if (!ctx->actor(ctx, e->name, e->len, e->ino, e->dtype))
				goto out;
			ctx->pos = e->pos + 1;
		}
		if (!st->full) {
			/* The end: a cookie past every entry. */
			ctx->pos = PC_MAX(ctx->pos, st->end);
			break;
		}
	}
out:
	free(st);
	return err;
}

const struct pc_inode_operations pc_ext4_dir_iops = {
	.lookup = ext4_lookup,
	.create = ext4_create,
	.mkdir = ext4_mkdir,
	.unlink = ext4_unlink,
	.rmdir = ext4_rmdir,
	.rename = ext4_rename,
	.symlink = ext4_symlink,
	.setattr = pc_ext4_setattr,
};

const struct pc_file_operations pc_ext4_dir_fops = {
	.iterate = ext4_iterate,
	/* A directory's changes are in its inode and the buffer cache:
	 * write the inode and sync the filesystem. */
	.fsync = pc_generic_file_fsync,
};
