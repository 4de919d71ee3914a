/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/vfs/vfs_internal.h - private to src/vfs: the mount object and the
 * helpers the VFS files share.
 *
 * A struct pc_mount embeds its super_block, so every inode reaches its
 * mount through inode->i_sb (pc_sb_mount()).
 *
 * Files:
 *   super.c  the filesystem type registry (pc_register_filesystem), pc_mount/pc_umount, pc_sync,
 *            pc_mount_error, statistics and fault injection;
 *   inode.c  the inode cache (hash by ino, I_NEW, eviction), inode helpers,
 *            the generic fsync;
 *   namei.c  path walk, symlinks, the namespace operations;
 *   file.c   the process-wide descriptor table and struct pc_file life;
 *   api.c    the descriptor-based public API (read/write/fsync/stat...).
 */
#ifndef PC_VFS_INTERNAL_H
#define PC_VFS_INTERNAL_H

#include <pagecache/fs.h>
#include <pagecache/pagecache.h>

/* Longest path accepted, NUL included (PATH_MAX), and longest component. */
#define PC_PATH_MAX 4096
#define PC_NAME_MAX 255
/* Most symlinks followed in one path walk (Linux: 40). */
#define PC_MAXSYMLINKS 40
/* Largest byte count of one read or write (Linux MAX_RW_COUNT). */
#define PC_MAX_RW_COUNT ((size_t)0x7ffff000)

/*
 * struct pc_mount - what pc_mount() returns.
 * @sb:          the super_block (embedded: sb->... is the mount's).
 * @cache:       the page pool; @owns_cache if pc_mount created it.
 * @ra_pages:    readahead window override for files opened (0: the bdi's).
 * @inode_wait:  broadcast when an inode leaves I_NEW; waited on with
 *               sb.s_inode_lock held.
 * @dirs:        pc_opendir streams still open: unmount releases their
 *               files (their later pc_readdir says -EBADF).
 * @fstype:      the name the mount was made with (for messages).
 */
struct pc_mount {
	struct pc_super_block sb;
	struct pc_cache *cache;
	bool owns_cache;
	unsigned ra_pages;
	pthread_cond_t inode_wait;
	pthread_mutex_t dirs_lock;	/* @dirs */
	struct pc_list_head dirs;	/* open struct pc_dir, released at unmount */
	char fstype[PC_FS_TYPE_NAME_MAX + 1];
	uint32_t bd_wb_err_since;	/* pc_sync's cursor into the bdev mapping's errseq */
	struct pc_fs_type_entry *fs_type_entry;	/* registry entry; a mount counted on it */
};

static inline struct pc_mount *pc_sb_mount(struct pc_super_block *sb)
{
	return pc_container_of(sb, struct pc_mount, sb);
}

/* ---- inode.c ---- */
/* Allocate the inode hash of @sb. 0 or -ENOMEM. */
int pc_vfs_inode_hash_init(struct pc_super_block *sb);
void pc_vfs_inode_hash_destroy(struct pc_super_block *sb);
/* Unmount: evict every cached inode (references or not). No new lookups
 * may run. */
void pc_vfs_evict_all(struct pc_super_block *sb);
/* Current time for inode timestamps. */
void pc_vfs_now(struct timespec *ts);

/* ---- namei.c ---- */
enum {
	PC_LOOKUP_FOLLOW = 1 << 0,	/* follow a symlink in the last component */
};
/*
 * Resolve @path from the mount's root. 0 and a referenced inode in *@out,
 * or -ENOENT, -ENOTDIR, -ENAMETOOLONG, -ELOOP, -EFAULT (NULL path), -EIO...
 */
int pc_vfs_lookup_path(struct pc_mount *m, const char *path, unsigned flags,
		       struct pc_inode **out);
/*
 * The open(2) part of path resolution: find (following symlinks unless
 * O_NOFOLLOW) or, with O_CREAT, create the file. 0 and a referenced inode
 * in *@out (*@created says whether it was made here), or -errno.
 */
int pc_vfs_open_lookup(struct pc_mount *m, const char *path, int flags, mode_t mode,
		       struct pc_inode **out, bool *created);

/* ---- file.c ---- */
/* A new struct pc_file for @inode (reference taken over by the file on
 * success), running f_op->open. 0 and *@out with f_count 1, or -errno
 * (the inode reference is then still the caller's). */
int pc_vfs_file_alloc(struct pc_inode *inode, unsigned flags, struct pc_file **out);
/* Install @file (its reference moves to the table). fd or -EMFILE. */
int pc_vfs_fd_install(struct pc_file *file);
/* Referenced file for @fd, or NULL (-EBADF). Lock-free. */
struct pc_file *pc_vfs_fget(int fd);
/* The read/write paths' reference: per-thread shard counters (no shared
 * cache line written). Pass the returned *@shard to pc_vfs_fput_light on
 * the same thread. NULL if @fd is not open. */
struct pc_file *pc_vfs_fget_light(int fd, int *shard);
void pc_vfs_fput_light(struct pc_file *f, int shard);
/* Drop a file reference; the last one releases it and its inode. */
void pc_vfs_fput(struct pc_file *file);
/* Remove @fd from the table and drop the table's reference. 0 or -EBADF. */
int pc_vfs_fd_close(int fd);
/* Close every descriptor whose file belongs to @m, and release the files
 * of its open directory streams. */
void pc_vfs_close_mount_files(struct pc_mount *m);

/* ---- api.c ---- */
/*
 * notify_change: apply @attr through i_op->setattr (or the generic copy),
 * checking the read-only mount. Inode lock held exclusive by the caller.
 */
int pc_vfs_setattr(struct pc_inode *inode, struct pc_iattr *attr);

/* ---- super.c ---- */
/* Record the thread's last mount error (printf-style). */
void pc_vfs_set_mount_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PC_VFS_INTERNAL_H */
