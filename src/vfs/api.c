/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/vfs/api.c - the descriptor and attribute half of the public API:
 * read/write (all flavours), lseek, fsync, truncate, stat, chmod, chown,
 * utimens.
 *
 * Every descriptor call holds a reference on its struct pc_file for its
 * whole duration (pc_vfs_fget/pc_vfs_fput), so a concurrent pc_close only
 * takes the number away. I/O goes through f_op->read_iter/write_iter with
 * a kiocb whose flags come from the open flags; pc_read/pc_write serialise
 * on f_pos_lock so that threads sharing a descriptor get distinct ranges.
 * Reads take no inode lock (the generic read path is lock-free against
 * other readers); writes and truncates take the inode lock exclusive (the
 * write_iter does it itself).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfs_internal.h"

int pc_vfs_setattr(struct pc_inode *inode, struct pc_iattr *attr)
{
	PC_ASSERT_INODE_LOCKED(inode);
	if (inode->i_sb->s_readonly)
		return -EROFS;
	if (attr->ia_valid & PC_ATTR_SIZE) {
		if (!S_ISREG(inode->i_mode))
			return S_ISDIR(inode->i_mode) ? -EISDIR : -EINVAL;
		if (attr->ia_size < 0)
			return -EINVAL;
		if (attr->ia_size > inode->i_sb->s_maxbytes)
			return -EFBIG;
	}
	if (inode->i_op && inode->i_op->setattr)
		return inode->i_op->setattr(inode, attr);
	if (attr->ia_valid & PC_ATTR_SIZE)
		return -EPERM;
	pc_setattr_copy(inode, attr);
	return 0;
}

static unsigned iocb_flags(unsigned f_flags)
{
	unsigned fl = 0;

	if (f_flags & O_APPEND)
		fl |= PC_IOCB_APPEND;
	if (f_flags & O_DIRECT)
		fl |= PC_IOCB_DIRECT;
	if (f_flags & O_DSYNC)
		fl |= PC_IOCB_DSYNC;
	if ((f_flags & O_SYNC) == O_SYNC)
		fl |= PC_IOCB_SYNC | PC_IOCB_DSYNC;
	return fl;
}

/* Sum of the iovec lengths, clipped to PC_MAX_RW_COUNT. */
static ssize_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	if (iovcnt && !iov)
		return -EFAULT;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX || total + iov[i].iov_len > (size_t)SSIZE_MAX)
			return -EINVAL;
		if (iov[i].iov_len && !iov[i].iov_base)
			return -EFAULT;
		total += iov[i].iov_len;
	}
	return (ssize_t)PC_MIN(total, PC_MAX_RW_COUNT);
}

/* Check that @f may be read (@write false) or written. */
static int rw_check(struct pc_file *f, bool write)
{
	unsigned acc = f->f_flags & O_ACCMODE;

	if (write ? acc == O_RDONLY : acc == O_WRONLY)
		return -EBADF;
	if (S_ISDIR(f->f_inode->i_mode))
		return -EISDIR;
	if (!f->f_op || !(write ? f->f_op->write_iter : f->f_op->read_iter))
		return -EINVAL;
	if (write && f->f_inode->i_sb->s_readonly)
		return -EROFS;
	return 0;
}

/* One read or write at *@pos (updated). */
static ssize_t do_rw(struct pc_file *f, bool write, const struct iovec *iov, int iovcnt, loff_t *pos)
{
	struct pc_iov_iter iter;
	struct pc_kiocb iocb;
	ssize_t count, ret;

	ret = rw_check(f, write);
	if (ret)
		return ret;
	count = iov_total(iov, iovcnt);
	if (count < 0)
		return count;
	if (*pos < 0 || (loff_t)count > LLONG_MAX - *pos)
		return -EINVAL;
	if (count == 0)
		return 0;
	pc_iov_iter_init(&iter, write ? PC_WRITE : PC_READ, iov, (unsigned long)iovcnt,
			 (size_t)count);
	iocb.ki_filp = f;
	iocb.ki_pos = *pos;
	iocb.ki_flags = iocb_flags(f->f_flags);
	if (write)
		ret = f->f_op->write_iter(&iocb, &iter);
	else
		ret = f->f_op->read_iter(&iocb, &iter);
	if (ret > 0)
		*pos = iocb.ki_pos;
	return ret;
}

static ssize_t do_prw(int fd, bool write, const struct iovec *iov, int iovcnt, off_t offset)
{
	int shard;
	struct pc_file *f = pc_vfs_fget_light(fd, &shard);
	loff_t pos = offset;
	ssize_t ret;

	if (!f)
		return -EBADF;
	ret = do_rw(f, write, iov, iovcnt, &pos);
	pc_vfs_fput_light(f, shard);
	return ret;
}

static ssize_t do_seq_rw(int fd, bool write, const struct iovec *iov, int iovcnt)
{
	int shard;
	struct pc_file *f = pc_vfs_fget_light(fd, &shard);
	ssize_t ret;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->f_pos_lock);
	ret = do_rw(f, write, iov, iovcnt, &f->f_pos);
	pthread_mutex_unlock(&f->f_pos_lock);
	pc_vfs_fput_light(f, shard);
	return ret;
}

PC_EXPORT ssize_t pc_pread(int fd, void *buf, size_t count, off_t offset)
{
	struct iovec iov = { buf, count };

	if (!buf && count)
		return -EFAULT;
	return do_prw(fd, false, &iov, 1, offset);
}

PC_EXPORT ssize_t pc_pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	struct iovec iov = { (void *)buf, count };

	if (!buf && count)
		return -EFAULT;
	return do_prw(fd, true, &iov, 1, offset);
}

PC_EXPORT ssize_t pc_preadv(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
	return do_prw(fd, false, iov, iovcnt, offset);
}

PC_EXPORT ssize_t pc_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
	return do_prw(fd, true, iov, iovcnt, offset);
}

PC_EXPORT ssize_t pc_read(int fd, void *buf, size_t count)
{
	struct iovec iov = { buf, count };

	if (!buf && count)
		return -EFAULT;
	return do_seq_rw(fd, false, &iov, 1);
}

PC_EXPORT ssize_t pc_write(int fd, const void *buf, size_t count)
{
	struct iovec iov = { (void *)buf, count };

	if (!buf && count)
		return -EFAULT;
	return do_seq_rw(fd, true, &iov, 1);
}

PC_EXPORT loff_t pc_generic_file_llseek(struct pc_file *file, loff_t offset, int whence)
{
	loff_t size = pc_i_size_read(file->f_inode);

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (offset < 0 || offset >= size)
		return -ENXIO;
	return whence == SEEK_DATA ? offset : size;
}

/* SEEK_DATA/SEEK_HOLE: the filesystem's f_op->llseek, or the generic one. */
static loff_t seek_hole_data(struct pc_file *f, loff_t offset, int whence)
{
	struct pc_inode *inode = f->f_inode;

	if (S_ISDIR(inode->i_mode))
		return -EINVAL;	/* directory positions are cookies */
	if (!S_ISREG(inode->i_mode))
		return -ESPIPE;
	if (offset < 0)
		return -ENXIO;
	if (f->f_op && f->f_op->llseek)
		return f->f_op->llseek(f, offset, whence);
	return pc_generic_file_llseek(f, offset, whence);
}

PC_EXPORT off_t pc_lseek(int fd, off_t offset, int whence)
{
	struct pc_file *f = pc_vfs_fget(fd);
	loff_t base, npos;
	off_t ret;

	if (!f)
		return -EBADF;
	if (whence == SEEK_DATA || whence == SEEK_HOLE) {
		/* No f_pos_lock around the search: the filesystem may sleep on
		 * its inode lock and the result does not depend on f_pos. */
		npos = seek_hole_data(f, offset, whence);
		if (npos >= 0) {
			pthread_mutex_lock(&f->f_pos_lock);
			f->f_pos = npos;
			pthread_mutex_unlock(&f->f_pos_lock);
		}
		pc_vfs_fput(f);
		return npos;
	}
	pthread_mutex_lock(&f->f_pos_lock);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->f_pos;
		break;
	case SEEK_END:
		base = pc_i_size_read(f->f_inode);
		break;
	default:
		ret = -EINVAL;
		goto out_unlock;
	}
	if (__builtin_add_overflow(base, (loff_t)offset, &npos) || npos < 0) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (S_ISDIR(f->f_inode->i_mode) && !(whence == SEEK_SET && npos == 0)) {
		ret = -EINVAL;	/* directory positions are cookies; only rewind */
		goto out_unlock;
	}
	f->f_pos = npos;
	ret = npos;
out_unlock:
	pthread_mutex_unlock(&f->f_pos_lock);
	pc_vfs_fput(f);
	return ret;
}

static int do_fsync(int fd, int datasync)
{
	struct pc_file *f = pc_vfs_fget(fd);
	int err;

	if (!f)
		return -EBADF;
	if (!f->f_op || !f->f_op->fsync)
		err = -EINVAL;
	else
		err = f->f_op->fsync(f, 0, LLONG_MAX, datasync);
	pc_vfs_fput(f);
	return err;
}

PC_EXPORT int pc_fsync(int fd) { return do_fsync(fd, 0); }
PC_EXPORT int pc_fdatasync(int fd) { return do_fsync(fd, 1); }

/* Truncate @inode to @length: SIZE plus MTIME/CTIME under the inode lock. */
static int do_truncate(struct pc_inode *inode, loff_t length)
{
	struct pc_iattr attr = {
		.ia_valid = PC_ATTR_SIZE | PC_ATTR_MTIME | PC_ATTR_CTIME,
		.ia_size = length,
	};
	int err;

	if (length < 0)
		return -EINVAL;
	pc_vfs_now(&attr.ia_mtime);
	attr.ia_ctime = attr.ia_mtime;
	pc_inode_lock(inode);
	err = pc_vfs_setattr(inode, &attr);
	pc_inode_unlock(inode);
	return err;
}

PC_EXPORT int pc_ftruncate(int fd, off_t length)
{
	struct pc_file *f = pc_vfs_fget(fd);
	int err;

	if (!f)
		return -EBADF;
	if ((f->f_flags & O_ACCMODE) == O_RDONLY)
		err = -EBADF;
	else if (!S_ISREG(f->f_inode->i_mode))
		err = -EINVAL;
	else
		err = do_truncate(f->f_inode, length);
	pc_vfs_fput(f);
	return err;
}

PC_EXPORT int pc_truncate(struct pc_mount *m, const char *path, off_t length)
{
	struct pc_inode *inode;
	int err;

	if (length < 0)
		return -EINVAL;
	err = pc_vfs_lookup_path(m, path, PC_LOOKUP_FOLLOW, &inode);
	if (err)
		return err;
	if (S_ISDIR(inode->i_mode))
		err = -EISDIR;
	else if (!S_ISREG(inode->i_mode))
		err = -EINVAL;
	else
		err = do_truncate(inode, length);
	pc_iput(inode);
	return err;
}

PC_EXPORT int pc_fallocate(int fd, int mode, off_t offset, off_t len)
{
	struct pc_file *f = pc_vfs_fget(fd);
	int err;

	if (!f)
		return -EBADF;
	if (offset < 0 || len <= 0)
		err = -EINVAL;
	else if ((f->f_flags & O_ACCMODE) == O_RDONLY)
		err = -EBADF;
	else if (S_ISDIR(f->f_inode->i_mode))
		err = -EISDIR;
	else if (!S_ISREG(f->f_inode->i_mode))
		err = -ENODEV;
	else if (f->f_inode->i_sb->s_readonly)
		err = -EROFS;
	else if (offset > f->f_inode->i_sb->s_maxbytes - len)
		err = -EFBIG;
	else if (!f->f_op || !f->f_op->fallocate)
		err = -EOPNOTSUPP;
	else
		err = f->f_op->fallocate(f, mode, offset, len);
	pc_vfs_fput(f);
	return err;
}

/* ---- stat ---- */

static void fill_stat(struct pc_inode *inode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	pc_inode_lock_shared(inode);
	st->st_dev = 0;
	st->st_ino = (ino_t)inode->i_ino;
	st->st_mode = inode->i_mode;
	st->st_nlink = inode->i_nlink;
	st->st_uid = inode->i_uid;
	st->st_gid = inode->i_gid;
	st->st_rdev = 0;
	st->st_size = pc_i_size_read(inode);
	st->st_blksize = (blksize_t)inode->i_sb->s_blocksize;
	st->st_blocks = (blkcnt_t)__atomic_load_n(&inode->i_blocks, __ATOMIC_RELAXED);
	st->st_atim = inode->i_atime;
	st->st_mtim = inode->i_mtime;
	st->st_ctim = inode->i_ctime;
	pc_inode_unlock_shared(inode);
}

PC_EXPORT int pc_fstat(int fd, struct stat *st)
{
	struct pc_file *f;

	if (!st)
		return -EFAULT;
	f = pc_vfs_fget(fd);
	if (!f)
		return -EBADF;
	fill_stat(f->f_inode, st);
	pc_vfs_fput(f);
	return 0;
}

PC_EXPORT int pc_fdioalign(int fd, unsigned *mem_align, unsigned *offset_align)
{
	struct pc_file *f;
	unsigned a = 0;
	int err = 0;

	if (!mem_align || !offset_align)
		return -EFAULT;
	f = pc_vfs_fget(fd);
	if (!f)
		return -EBADF;
	if (S_ISREG(f->f_inode->i_mode) && f->f_mapping->a_ops->direct_IO)
		a = f->f_inode->i_sb->s_dio_align;
	if (!a)
		err = -EINVAL;
	*mem_align = *offset_align = a;
	pc_vfs_fput(f);
	return err;
}

static int stat_path(struct pc_mount *m, const char *path, struct stat *st, unsigned flags)
{
	struct pc_inode *inode;
	int err;

	if (!st)
		return -EFAULT;
	err = pc_vfs_lookup_path(m, path, flags, &inode);
	if (err)
		return err;
	fill_stat(inode, st);
	pc_iput(inode);
	return 0;
}

PC_EXPORT int pc_stat(struct pc_mount *m, const char *path, struct stat *st)
{
	return stat_path(m, path, st, PC_LOOKUP_FOLLOW);
}

PC_EXPORT int pc_lstat(struct pc_mount *m, const char *path, struct stat *st)
{
	return stat_path(m, path, st, 0);
}

/* ---- attribute changes ---- */

static int setattr_path(struct pc_mount *m, const char *path, struct pc_iattr *attr)
{
	struct pc_inode *inode;
	int err;

	err = pc_vfs_lookup_path(m, path, PC_LOOKUP_FOLLOW, &inode);
	if (err)
		return err;
	pc_inode_lock(inode);
	err = pc_vfs_setattr(inode, attr);
	pc_inode_unlock(inode);
	pc_iput(inode);
	return err;
}

PC_EXPORT int pc_chmod(struct pc_mount *m, const char *path, mode_t mode)
{
	struct pc_iattr attr = { .ia_valid = PC_ATTR_MODE | PC_ATTR_CTIME, .ia_mode = mode & 07777 };

	pc_vfs_now(&attr.ia_ctime);
	return setattr_path(m, path, &attr);
}

PC_EXPORT int pc_chown(struct pc_mount *m, const char *path, uid_t uid, gid_t gid)
{
	struct pc_iattr attr = { .ia_valid = PC_ATTR_CTIME, .ia_uid = uid, .ia_gid = gid };

	if (uid != (uid_t)-1)
		attr.ia_valid |= PC_ATTR_UID;
	if (gid != (gid_t)-1)
		attr.ia_valid |= PC_ATTR_GID;
	pc_vfs_now(&attr.ia_ctime);
	return setattr_path(m, path, &attr);
}

static bool bad_timespec(const struct timespec *ts)
{
	if (ts->tv_nsec == UTIME_NOW || ts->tv_nsec == UTIME_OMIT)
		return false;
	return ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L;
}

PC_EXPORT int pc_utimens(struct pc_mount *m, const char *path, const struct timespec times[2])
{
	struct pc_iattr attr = { .ia_valid = PC_ATTR_CTIME };
	struct timespec now;

	pc_vfs_now(&now);
	attr.ia_ctime = now;
	if (!times) {
		attr.ia_valid |= PC_ATTR_ATIME | PC_ATTR_MTIME;
		attr.ia_atime = attr.ia_mtime = now;
	} else {
		if (bad_timespec(&times[0]) || bad_timespec(&times[1]))
			return -EINVAL;
		if (times[0].tv_nsec == UTIME_OMIT && times[1].tv_nsec == UTIME_OMIT) {
			/* Nothing to change; only report whether the path exists. */
			struct pc_inode *inode;
			int err = pc_vfs_lookup_path(m, path, PC_LOOKUP_FOLLOW, &inode);

			if (!err)
				pc_iput(inode);
			return err;
		}
		if (times[0].tv_nsec != UTIME_OMIT) {
			attr.ia_valid |= PC_ATTR_ATIME;
			attr.ia_atime = times[0].tv_nsec == UTIME_NOW ? now : times[0];
		}
		if (times[1].tv_nsec != UTIME_OMIT) {
			attr.ia_valid |= PC_ATTR_MTIME;
			attr.ia_mtime = times[1].tv_nsec == UTIME_NOW ? now : times[1];
		}
	}
	return setattr_path(m, path, &attr);
}
