// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fs/ext4/error.c - corrupt metadata found: report it and record it in the
 * superblock, as the kernel's ext4_error() / __save_error_info() do.
 *
 * pc_ext4_error() is called, ext2fs lock held, where metadata disagrees
 * with itself (a block map pointing outside the filesystem, a directory
 * larger than its blocks, a tree longer than the inode's block count...).
 * It
 *   - formats a one-line message for the caller (pc_fs_set_error, read
 *     back with pc_last_error(); pcfs prints it after its error line);
 *   - on a read-write mount records the error in the superblock like the
 *     kernel: s_state |= EXT2_ERROR_FS, s_error_count++, s_first_error_*
 *     (the first time only) and s_last_error_* (time, inode, block,
 *     function, line, error code), and marks the superblock dirty so the
 *     next sync or the unmount writes it. The mount goes on (the kernel's
 *     errors=continue); a later read-write mount sees EXT2_ERROR_FS and
 *     e2fsck -p checks the filesystem.
 * Returns @err so that callers can `return pc_ext4_error(...)`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ext4.h"

/* The kernel's EXT4_ERR_* codes for s_{first,last}_error_errcode. */
static uint8_t err_code(int err)
{
	switch (err) {
	case -EIO:
		return 2;	/* EXT4_ERR_EIO */
	case -ENOMEM:
		return 3;	/* EXT4_ERR_ENOMEM */
	case -EUCLEAN:
		return 5;	/* EXT4_ERR_EFSCORRUPTED */
	case -ENOSPC:
		return 6;	/* EXT4_ERR_ENOSPC */
	default:
		return 1;	/* EXT4_ERR_UNKNOWN */
	}
}

int __pc_ext4_error(struct pc_ext4_sb *sbi, const char *func, unsigned line, ext2_ino_t ino,
		    blk64_t blk, int err, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	PC_EXT4_ASSERT_LOCKED(sbi);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (ino)
		pc_fs_set_error("corrupt filesystem: inode %u: %s", ino, what);
	else
		pc_fs_set_error("corrupt filesystem: %s", what);

	if (!sbi->readonly && sbi->fs) {
		struct ext2_super_block *es = sbi->fs->super;
		uint64_t now = (uint64_t)time(NULL);

		es->s_state |= EXT2_ERROR_FS;
		if (es->s_error_count != UINT32_MAX)
			es->s_error_count++;
		if (!es->s_first_error_time && !es->s_first_error_time_hi) {
			es->s_first_error_time = (uint32_t)now;
			es->s_first_error_time_hi = (uint8_t)(now >> 32);
			es->s_first_error_ino = ino;
			es->s_first_error_block = blk;
			memset(es->s_first_error_func, 0, sizeof(es->s_first_error_func));
			strncpy((char *)es->s_first_error_func, func,
				sizeof(es->s_first_error_func));
			es->s_first_error_line = line;
			es->s_first_error_errcode = err_code(err);
		}
		es->s_last_error_time = (uint32_t)now;
		es->s_last_error_time_hi = (uint8_t)(now >> 32);
		es->s_last_error_ino = ino;
		es->s_last_error_block = blk;
		memset(es->s_last_error_func, 0, sizeof(es->s_last_error_func));
		strncpy((char *)es->s_last_error_func, func, sizeof(es->s_last_error_func));
		es->s_last_error_line = line;
		es->s_last_error_errcode = err_code(err);
		ext2fs_mark_super_dirty(sbi->fs);
		sbi->errors = true;
	}
	return err;
}
