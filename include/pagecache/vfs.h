/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/vfs.h - layer 10: the small VFS that filesystems plug into.
 *
 * A filesystem type (struct pc_fs_type) fills a super_block at mount; the
 * VFS keeps an inode cache per super_block, resolves paths component by
 * component through i_op->lookup, and runs file I/O through f_op (which for
 * block and memory filesystems is the generic page-cache code).
 *
 * Locking (outer first, see docs/locking.md): sb->s_vfs_rename_mutex (rename
 * only) -> directory inode i_rwsem (exclusive for namespace changes, shared
 * for lookup) -> file inode i_rwsem (exclusive for write/truncate, shared
 * for read) -> page locks -> tree lock -> filesystem metadata lock.
 *
 * Reference counting: pc_iget/pc_igrab take a reference, pc_iput drops it.
 * The flusher may hold a temporary reference on an inode whose count was
 * zero: it takes it under i_lock only if PC_I_FREEING is clear, and pc_iput
 * decides eviction under i_lock (setting PC_I_FREEING), so the two never
 * race.
 * An inode with i_nlink == 0 is evicted (its data freed) when its last
 * reference goes; other inodes stay cached until unmount.
 */
#ifndef PAGECACHE_VFS_H
#define PAGECACHE_VFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include "compiler.h"
#include "list.h"
#include "filemap.h"
#include "writeback.h"
#include "blkdev.h"
#include "lock.h"

struct pc_super_block;
struct pc_inode;
struct pc_file;
struct pc_mount_opts;
struct pc_statfs;

/* Attribute change for i_op->setattr (the kernel's iattr). */
enum {
	PC_ATTR_MODE = 1 << 0, PC_ATTR_UID = 1 << 1, PC_ATTR_GID = 1 << 2,
	PC_ATTR_SIZE = 1 << 3, PC_ATTR_ATIME = 1 << 4, PC_ATTR_MTIME = 1 << 5,
	PC_ATTR_CTIME = 1 << 6,
};
struct pc_iattr {
	unsigned ia_valid;
	mode_t ia_mode;
	uid_t ia_uid;
	gid_t ia_gid;
	loff_t ia_size;
	struct timespec ia_atime, ia_mtime, ia_ctime;
};

/* Directory iteration context: ->actor returns false to stop. @pos is the
 * filesystem's cookie for the next entry (opaque, resumable).
 * Protocol (as the kernel's dir_emit): when f_op->iterate calls ->actor
 * for an entry, ctx->pos is that entry's own position; if the actor
 * returns true the filesystem moves ctx->pos past the entry, if it returns
 * false iterate returns 0 leaving ctx->pos at the entry, so the next call
 * starts with it again. Position 0 is the start of the directory ("." and
 * ".." are emitted by the filesystem like any other entry). */
struct pc_dir_context;
typedef bool (*pc_filldir_t)(struct pc_dir_context *ctx, const char *name, size_t namelen,
			     uint64_t ino, unsigned d_type);
struct pc_dir_context {
	pc_filldir_t actor;
	loff_t pos;
};

/*
 * struct pc_super_operations - per filesystem type.
 * @alloc_inode:   allocate a filesystem inode embedding struct pc_inode
 *                 (zeroed, e.g. calloc) and set up the filesystem's own
 *                 part only; NULL on ENOMEM. The VFS then initialises
 *                 every generic field (pc_inode_init_once): do not touch
 *                 them here. NULL op: the VFS allocates a bare struct
 *                 pc_inode.
 * @destroy_inode: free it. The VFS has already torn down the generic part
 *                 (pc_inode_destroy_once: i_data, the locks) and taken the
 *                 inode off every list; only the filesystem's own state is
 *                 left to free (i_private included). NULL op: free(inode).
 * @read_inode:    fill a new inode (i_ino set) from disk: mode, size, times,
 *                 i_op, i_fop, i_mapping->a_ops. 0 or -errno (-ENOENT,
 *                 -EUCLEAN for a corrupt inode, -EIO).
 * @write_inode:   write dirty inode metadata. 0 or -errno.
 * @evict_inode:   last reference gone (or unmount): drop the pages
 *                 (pc_truncate_inode_pages) and, if i_nlink == 0, free the
 *                 inode's blocks and the inode on disk. Called with no
 *                 lock held, the inode unhashed, I_FREEING set and off the
 *                 bdi's dirty list. NULL op: the VFS truncates the pages.
 *                 At unmount every cached inode is evicted after pc_sync,
 *                 whatever its i_nlink.
 * @sync_fs:       make metadata durable (@wait: flush the device). 0 or -errno.
 * @statfs:        fill *@buf.
 * @put_super:     unmount: write back and release everything.
 * @snap_stats:    a filesystem with snapshot contexts (snap.h) fills *@st
 *                 (pc_snap_realm_get_stats) for pc_mount_get_snap_stats;
 *                 0 or -errno. NULL: the filesystem has no snapshots.
 *                 Called with no lock held, the super block active.
 *
 * Growth: new members are only ever added at the end, and a NULL (zeroed)
 * member means the operation is not provided (the generic default where the
 * member names one): define the table with
 * designated initialisers (or zero it) so a rebuilt program keeps working.
 */
struct pc_snap_stats;
struct pc_super_operations {
	struct pc_inode *(*alloc_inode)(struct pc_super_block *sb);
	void (*destroy_inode)(struct pc_inode *inode);
	int (*read_inode)(struct pc_inode *inode);
	int (*write_inode)(struct pc_inode *inode, struct pc_writeback_control *wbc);
	void (*evict_inode)(struct pc_inode *inode);
	int (*sync_fs)(struct pc_super_block *sb, int wait);
	int (*statfs)(struct pc_super_block *sb, struct pc_statfs *buf);
	void (*put_super)(struct pc_super_block *sb);
	int (*snap_stats)(struct pc_super_block *sb, struct pc_snap_stats *st);
};

/*
 * struct pc_inode_operations - namespace operations. Names are not
 * NUL-terminated (@name, @len). Directory i_rwsem held exclusive for
 * create/mkdir/unlink/rmdir/symlink/link/rename (both dirs), shared for
 * lookup. On success the create-like operations return the new inode
 * referenced in *@out (already hashed in the inode cache).
 * @lookup: 0 and *@ino, or -ENOENT.
 * @unlink/@rmdir: @victim is the child's inode (referenced by the caller);
 *          the operation drops its i_nlink; -ENOTEMPTY for rmdir.
 * @rename: @flags 0; replaces an existing target (whose inode @victim is
 *          passed, or NULL) per rename(2); -ENOTEMPTY, -EISDIR, -ENOTDIR.
 * @readlink: copy the target (no NUL) into @buf; returns its length.
 * @setattr: apply @attr; PC_ATTR_SIZE truncates (inode i_rwsem held excl).
 *
 * Growth: new members are only ever added at the end, and a NULL (zeroed)
 * member means the operation is not provided (the generic default where the
 * member names one): define the table with
 * designated initialisers (or zero it) so a rebuilt program keeps working.
 */
struct pc_inode_operations {
	int (*lookup)(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino);
	int (*create)(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		      struct pc_inode **out);
	int (*mkdir)(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		     struct pc_inode **out);
	int (*unlink)(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim);
	int (*rmdir)(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim);
	int (*rename)(struct pc_inode *odir, const char *oname, size_t olen, struct pc_inode *ndir,
		      const char *nname, size_t nlen, struct pc_inode *source,
		      struct pc_inode *victim, unsigned flags);
	int (*symlink)(struct pc_inode *dir, const char *name, size_t len, const char *target,
		       struct pc_inode **out);
	ssize_t (*readlink)(struct pc_inode *inode, char *buf, size_t size);
	int (*setattr)(struct pc_inode *inode, const struct pc_iattr *attr);
};

/*
 * struct pc_file_operations
 * @read_iter/@write_iter: I/O at iocb->ki_pos; return bytes or -errno.
 *          write_iter takes the inode lock itself (generic versions do).
 * @fsync:  write back [start, end] (bytes) and the metadata (all of it,
 *          or only what reading the data needs when @datasync), wait, and
 *          report writeback errors once per open file. 0 or -errno.
 * @iterate: directory listing from ctx->pos. 0 or -errno.
 * @open/@release: optional.
 * @fallocate: optional (-EOPNOTSUPP). Called by pc_fallocate with no
 *          lock held (the filesystem takes the inode lock itself), after
 *          the VFS checked: open for writing, regular file, offset >= 0,
 *          len > 0, offset + len <= s_maxbytes, mount not read-only.
 * @llseek: optional; SEEK_DATA and SEEK_HOLE only (pc_lseek does
 *          SEEK_SET/CUR/END and the file position itself). Called with no
 *          lock held on a regular file, @offset >= 0 (bytes); the
 *          filesystem takes the inode lock shared itself and compares
 *          @offset with i_size under it. Returns the offset of the first
 *          data (SEEK_DATA) or hole (SEEK_HOLE) at or after @offset, with
 *          lseek(2)'s rules: -ENXIO if @offset >= i_size, or for SEEK_DATA
 *          if only a hole follows; every file ends in a virtual hole at
 *          i_size. May report a hole as data (zeros are data too), never
 *          data as a hole. Other errors: -EUCLEAN (corrupt block map), -EIO,
 *          -ENOMEM. NULL: pc_generic_file_llseek (the whole file is data).
 *          Linux: ->llseek (ext4_llseek, iomap_seek_data/hole).
 *
 * Growth: new members are only ever added at the end, and a NULL (zeroed)
 * member means the operation is not provided (the generic default where the
 * member names one): define the table with
 * designated initialisers (or zero it) so a rebuilt program keeps working.
 */
struct pc_file_operations {
	ssize_t (*read_iter)(struct pc_kiocb *iocb, struct pc_iov_iter *to);
	ssize_t (*write_iter)(struct pc_kiocb *iocb, struct pc_iov_iter *from);
	int (*fsync)(struct pc_file *file, loff_t start, loff_t end, int datasync);
	int (*iterate)(struct pc_file *file, struct pc_dir_context *ctx);
	int (*open)(struct pc_inode *inode, struct pc_file *file);
	int (*release)(struct pc_inode *inode, struct pc_file *file);
	int (*fallocate)(struct pc_file *file, int mode, loff_t offset, loff_t len);
	loff_t (*llseek)(struct pc_file *file, loff_t offset, int whence);
};

/*
 * struct pc_inode
 * @i_size:    bytes; read with pc_i_size_read() anywhere, written with
 *             pc_i_size_write() under i_rwsem exclusive (or page lock in
 *             write_end, which runs under it).
 * @i_blkbits: log2 of the filesystem block size.
 * @i_blocks:  512-byte sectors allocated.
 * @i_rwsem:   the inode lock (exclusive: write, truncate, namespace
 *             changes in a directory; shared: read, lookup).
 * @i_lock:    protects i_state (an atomic word: its lifecycle bits are
 *             also changed under the super block's s_inode_lock, its
 *             writeback bits under i_lock alone), i_io_list membership
 *             with the bdi list_lock.
 * @i_count:   references.
 * @i_data:    the file's page cache; @i_mapping points to it.
 * @i_private: for the filesystem: NULL when the inode is created; the
 *             filesystem owns what it points to and frees it in
 *             s_op->destroy_inode (the VFS never reads it). Valid from
 *             when the filesystem sets it (read_inode, or after
 *             pc_new_inode/pc_iget_locked) until destroy_inode. A
 *             filesystem that needs more per-inode state embeds struct
 *             pc_inode in its own struct (allocated by s_op->alloc_inode,
 *             freed by s_op->destroy_inode) and reaches it with
 *             pc_container_of(): the usual pattern (ramfs, ext4).
 *
 * The generic fields (i_rwsem, i_lock, i_count, i_state, dirtied_when,
 * the lists, i_data, i_mapping, i_sb) are the VFS's: a filesystem uses
 * them only through the pc_inode_* / pc_iget* / pc_iput helpers (locks:
 * pc_inode_lock*, times: pc_inode_set_times/pc_inode_get_times/
 * pc_inode_touch) and never initialises or destroys them itself. It sets
 * i_mode, i_uid, i_gid, i_nlink, i_size (pc_i_size_write), i_blocks,
 * i_blkbits, the times when it reads an inode, and i_op/i_fop/a_ops with
 * pc_inode_set_ops.
 */
struct pc_inode {
	uint64_t i_ino;
	mode_t i_mode;
	uid_t i_uid;
	gid_t i_gid;
	unsigned int i_nlink;
	_Atomic loff_t i_size;
	struct timespec i_atime, i_mtime, i_ctime;
	uint64_t i_blocks;
	unsigned i_blkbits;
	unsigned i_flags;
	struct pc_rwsem i_rwsem;
	pthread_mutex_t i_lock;
	_Atomic int i_count;
	_Atomic unsigned long i_state;
	unsigned long long dirtied_when;
	struct pc_list_head i_io_list;
	struct pc_list_head i_hash;
	struct pc_list_head i_sb_list;
	struct pc_address_space i_data;
	struct pc_address_space *i_mapping;
	struct pc_super_block *i_sb;
	const struct pc_inode_operations *i_op;
	const struct pc_file_operations *i_fop;
	void *i_private;
};

static inline loff_t pc_i_size_read(const struct pc_inode *inode)
{
	return atomic_load_explicit(&((struct pc_inode *)inode)->i_size, memory_order_acquire);
}
static inline void pc_i_size_write(struct pc_inode *inode, loff_t size)
{
	atomic_store_explicit(&inode->i_size, size, memory_order_release);
}
/*
 * The inode lock (Linux's inode_lock/inode_unlock and the _shared pair).
 * Out of line, so the library's build decides whether the owner is
 * recorded for the debug assertions (pagecache/lock.h): an exclusive holder
 * is recorded in debug builds, shared holders are not tracked. Sleep.
 */
PC_EXPORT void pc_inode_lock(struct pc_inode *inode);
PC_EXPORT void pc_inode_unlock(struct pc_inode *inode);
PC_EXPORT void pc_inode_lock_shared(struct pc_inode *inode);
PC_EXPORT void pc_inode_unlock_shared(struct pc_inode *inode);
/* Debug builds: abort unless the calling thread holds @inode's lock
 * exclusive (PC_ASSERT_HELD) / unless anyone holds it (PC_ASSERT_LOCKED). */
#define PC_ASSERT_INODE_LOCKED(inode) PC_ASSERT_HELD(&(inode)->i_rwsem)
#define PC_ASSERT_INODE_LOCKED_ANY(inode) PC_ASSERT_LOCKED(&(inode)->i_rwsem)

/*
 * struct pc_file - an open file.
 * @f_flags:  O_* flags from open (O_ACCMODE, O_APPEND, O_SYNC, O_DSYNC, O_DIRECT).
 * @f_pos:    position for pc_read/pc_write, under @f_pos_lock.
 * @f_ra:     readahead state.
 * @f_wb_err: errseq sample of the mapping (fsync reports errors since).
 */
struct pc_file {
	struct pc_inode *f_inode;
	struct pc_address_space *f_mapping;
	unsigned f_flags;
	loff_t f_pos;
	pthread_mutex_t f_pos_lock;
	struct pc_file_ra_state f_ra;
	uint32_t f_wb_err;
	const struct pc_file_operations *f_op;
	void *private_data;
	_Atomic int f_count;
	/* Private to src/vfs: per-thread-shard reference counts taken by the
	 * read/write paths (no shared cache line written per call), and the
	 * flag close sets before draining them. */
	struct pc_file_shard *f_shards;
	_Atomic bool f_dying;
};

/*
 * struct pc_super_block
 * @s_blocksize:  filesystem block size in bytes (@s_blocksize_bits its log2).
 * @s_maxbytes:   largest file size the format allows (write -> -EFBIG).
 * @s_bdev:       the block device, or NULL (ramfs).
 * @s_bdi:        the flusher for this filesystem's inodes (the bdev's, or
 *                one owned by the sb for memory filesystems).
 * @s_cache:      the page frame pool.
 * @s_readonly:   mounted read-only: writes fail with -EROFS.
 * @s_fs_info:    the filesystem's private data: NULL when fill_super is
 *                called; set by fill_super, owned by the filesystem,
 *                valid until put_super, which frees it (the VFS never
 *                reads it). If fill_super fails it frees what it
 *                allocated itself (put_super is not called).
 * @s_warning:    a one-line warning fill_super may leave for the caller
 *                (pc_mount_warning); empty when none.
 * @s_put_super_err: put_super stores here the -errno of a failure it met
 *                (e.g. the final superblock write); pc_umount returns it
 *                when no earlier error was returned. 0 when none.
 */
struct pc_super_block {
	const struct pc_super_operations *s_op;
	const struct pc_fs_type *s_type;
	unsigned long s_blocksize;
	unsigned s_blocksize_bits;
	loff_t s_maxbytes;
	struct pc_block_device *s_bdev;
	struct pc_backing_dev *s_bdi;
	struct pc_cache *s_cache;
	bool s_readonly;
	uint64_t s_root_ino;
	struct pc_inode *s_root;
	pthread_mutex_t s_inode_lock;		/* inode hash and s_inodes */
	struct pc_list_head *s_inode_hash;	/* buckets */
	unsigned s_inode_hash_bits;
	struct pc_list_head s_inodes;
	pthread_mutex_t s_vfs_rename_mutex;
	void *s_fs_info;
	pc_errseq_t s_wb_err;		/* every writeback error of the fs (syncfs) */
	uint32_t s_wb_err_since;	/* pc_sync's cursor into s_wb_err */
	unsigned s_dio_align;		/* direct I/O alignment, bytes (0: none); fill_super */
	bool s_dio_hold_i_rwsem;	/* pc_mount_opts.dio_hold_i_rwsem */
	char s_warning[256];		/* fill_super's warning, "" if none */
	int s_put_super_err;		/* set by put_super, returned by pc_umount */
};

/* Longest filesystem type name or alias, bytes, NUL excluded. */
#define PC_FS_TYPE_NAME_MAX 31

/*
 * struct pc_fs_type - a filesystem implementation (Linux's struct
 * file_system_type), registered with pc_register_filesystem() (fs.h).
 *
 * @name:    the name pc_mount() finds it by: 1 to PC_FS_TYPE_NAME_MAX
 *           printable bytes, no blank, no '/'. Unique among the
 *           registered names and aliases.
 * @fill_super: open @source (image path, directory... or NULL), read the
 *   superblock, set s_op, s_blocksize* (pc_sb_set_blocksize), s_maxbytes,
 *   s_root_ino, s_bdi, and anything private (s_fs_info). The VFS has set
 *   s_cache, s_readonly, s_type and the generic fields (locks, lists,
 *   inode hash: never touch them) and reads the root inode afterwards
 *   with pc_iget(s_root_ino). Called with no lock held. 0 or -errno with
 *   everything it opened released (-EINVAL bad superblock, -EUCLEAN
 *   corrupt, -EOPNOTSUPP unknown incompatible feature, -EROFS journal
 *   needs recovery and read-write was asked...). @msg (may be NULL)
 *   receives a human-readable reason of up to @msglen bytes, NUL
 *   included. When it fails, put_super is not called; when it succeeds,
 *   put_super is called at unmount or if the mount fails later (reading
 *   the root).
 * @aliases: optional NULL-terminated array of further names for the same
 *   type (ext4 answers to "ext3" and "ext2"), each following @name's
 *   rules; NULL for none.
 *
 * Ownership: the struct, its names and alias array belong to the caller
 * and must stay valid and unchanged from pc_register_filesystem() until
 * pc_unregister_filesystem() returns 0 (a static const object is the
 * usual choice). Every super_block mounted from it points to it (s_type).
 *
 * Growth: new members are only ever added at the end, and a zeroed member
 * means the default behaviour: initialise it with designated initialisers
 * (or zero it) so a rebuilt program keeps working.
 */
struct pc_fs_type {
	const char *name;
	int (*fill_super)(struct pc_super_block *sb, const char *source,
			  const struct pc_mount_opts *opts, char *msg, size_t msglen);
	const char *const *aliases;
};

/* ---- inode cache and helpers for filesystems (src/vfs/inode.c) ---- */

/*
 * pc_iget - the referenced inode @ino of @sb, read through
 * s_op->read_inode if it is not cached (the classic Linux iget(); built on
 * pc_iget_locked). Waits if another thread is reading the same inode.
 * Called with no lock of the filesystem held (read_inode runs inside).
 * 0 and *@out (one reference: pc_iput it), or -ENOMEM, or read_inode's
 * -errno (-ENOENT, -EUCLEAN, -EIO...; a positive return counts as -EIO).
 */
PC_EXPORT int pc_iget(struct pc_super_block *sb, uint64_t ino, struct pc_inode **out);
/*
 * pc_iget_locked - find or start an inode (Linux's iget_locked).
 * Returns the referenced inode @ino of @sb. If it was cached, it is
 * returned as is, fully set up (after waiting for a concurrent creator
 * to finish). Otherwise a new inode is allocated (s_op->alloc_inode, then
 * every generic field initialised by the VFS), hashed with PC_I_NEW set
 * in i_state, and returned; other lookups of @ino wait until the caller
 * either fills it (mode, nlink, size, times, pc_inode_set_ops...) and
 * calls pc_unlock_new_inode(), or gives up with pc_iget_failed().
 * pc_inode_is_new() tells the two apart. No lock held on entry or
 * return (the caller of a new inode must not wait, while filling it, for
 * a lookup of the same number: it would wait for itself). NULL on ENOMEM.
 */
PC_EXPORT struct pc_inode *pc_iget_locked(struct pc_super_block *sb, uint64_t ino);
/* pc_inode_is_new - true while @inode is PC_I_NEW (pc_iget_locked gave it
 * to this caller to fill). Takes i_lock. */
PC_EXPORT bool pc_inode_is_new(struct pc_inode *inode);
/*
 * pc_unlock_new_inode - the inode from pc_iget_locked() is filled in:
 * clear PC_I_NEW and wake the lookups waiting for it (Linux's
 * unlock_new_inode). The caller keeps its reference.
 */
PC_EXPORT void pc_unlock_new_inode(struct pc_inode *inode);
/*
 * pc_iget_failed - filling a PC_I_NEW inode from pc_iget_locked() failed:
 * unhash it, wake the waiters (they retry the lookup) and drop the
 * caller's reference; the inode is destroyed without s_op->evict_inode
 * when its last reference goes (Linux's iget_failed).
 */
PC_EXPORT void pc_iget_failed(struct pc_inode *inode);
/*
 * pc_new_inode - a new in-memory inode for an on-disk inode @ino that
 * the filesystem has just allocated (Linux's new_inode followed by
 * insert_inode_hash): allocated through s_op->alloc_inode, every generic
 * field initialised, one reference, hashed (pc_iget of @ino finds it),
 * i_nlink 1, times now. The caller fills mode, nlink, size and the
 * operations (pc_inode_set_ops). On a later failure, set i_nlink to 0 and
 * pc_iput it: it is evicted. @ino must not be cached already. NULL on
 * ENOMEM.
 */
PC_EXPORT struct pc_inode *pc_new_inode(struct pc_super_block *sb, uint64_t ino);
PC_EXPORT struct pc_inode *pc_igrab(struct pc_inode *inode);
PC_EXPORT void pc_iput(struct pc_inode *inode);
/*
 * pc_inode_init_once - initialise every generic field of @inode (locks,
 * lists, i_count 0, the page cache i_data with no operations, i_mapping,
 * i_blkbits from @sb, i_nlink 1, times now, i_private NULL) for @sb.
 * The VFS calls it on what s_op->alloc_inode returns: a filesystem's
 * alloc_inode must NOT call it. For inodes that live outside any mount
 * (tests, a cache below the facade); pair with pc_inode_destroy_once.
 */
PC_EXPORT void pc_inode_init_once(struct pc_inode *inode, struct pc_super_block *sb);
/* pc_inode_destroy_once - undo pc_inode_init_once: tear down i_data and
 * the locks. The VFS calls it before s_op->destroy_inode. */
PC_EXPORT void pc_inode_destroy_once(struct pc_inode *inode);
/*
 * pc_inode_set_times - set the times selected by @which (PC_ATTR_ATIME,
 * PC_ATTR_MTIME, PC_ATTR_CTIME) to *@ts, under the inode's i_lock (the
 * lock write_inode reads them under, see pc_inode_get_times). Does not
 * mark the inode dirty (pc_inode_touch does both, with the current
 * time). Any context except with i_lock held.
 */
PC_EXPORT void pc_inode_set_times(struct pc_inode *inode, unsigned which,
				  const struct timespec *ts);
/* pc_inode_get_times - a consistent copy of the three times (any pointer
 * may be NULL), taken under i_lock. Any context except with i_lock held. */
PC_EXPORT void pc_inode_get_times(struct pc_inode *inode, struct timespec *atime,
				  struct timespec *mtime, struct timespec *ctime);
/*
 * pc_sb_set_blocksize - for fill_super: set s_blocksize and
 * s_blocksize_bits (Linux's sb_set_blocksize). @size: a power of two from
 * 512 to 65536 bytes. 0, or -EINVAL for another size.
 */
PC_EXPORT int pc_sb_set_blocksize(struct pc_super_block *sb, unsigned long size);
PC_EXPORT void pc_inode_set_ops(struct pc_inode *inode, const struct pc_inode_operations *iop,
				const struct pc_file_operations *fop,
				const struct pc_address_space_operations *aops);
/* Update times to now (bit mask of PC_ATTR_ATIME/MTIME/CTIME) and mark dirty. */
PC_EXPORT void pc_inode_touch(struct pc_inode *inode, unsigned which);
/* Generic fsync: write back and wait the range, write the inode if dirty
 * (all of it, or only size changes for @datasync), sync_fs, report
 * errors once per open file. */
PC_EXPORT int pc_generic_file_fsync(struct pc_file *file, loff_t start, loff_t end, int datasync);
/*
 * pc_generic_file_llseek - f_op->llseek for filesystems that do not track
 * holes (Linux's generic_file_llseek_size): the whole file is data, its
 * one hole the virtual one at EOF. SEEK_DATA returns @offset, SEEK_HOLE
 * i_size; -ENXIO if @offset >= i_size; -EINVAL for another @whence.
 */
PC_EXPORT loff_t pc_generic_file_llseek(struct pc_file *file, loff_t offset, int whence);
/* Generic read_iter/write_iter: pc_generic_file_read_iter/write_iter
 * (filemap.h), and O_DIRECT dispatch to a_ops->direct_IO when present. */

/*
 * pc_setattr_copy - apply the MODE/UID/GID/ATIME/MTIME/CTIME parts of
 * @attr to the in-memory inode and mark it dirty (PC_I_DIRTY_SYNC).
 * PC_ATTR_SIZE is ignored here: a setattr op handles it itself (e.g. with
 * pc_truncate_setsize). The file type bits of i_mode are kept. Inode lock
 * held exclusive. Used as the default when i_op->setattr is NULL.
 */
PC_EXPORT void pc_setattr_copy(struct pc_inode *inode, const struct pc_iattr *attr);

/* ---- filesystem types ---- */

/*
 * The two types built into the library. Both register themselves with
 * pc_register_filesystem() (fs.h) the first time any registry function
 * or pc_mount() runs, so a program never registers them; they are
 * exported so one can unregister them (when not mounted) or register
 * their operations under another name (copy the struct, change @name).
 */

/*
 * ramfs: memory only (fs/ramfs/ramfs.c). Its files live in the page cache
 * and nowhere else, so its size is bounded by the cache: when every frame
 * is pinned by ramfs data, writes fail with -ENOSPC. Pages written to
 * ramfs are pinned (a reference held through PC_PG_private) rather than left
 * dirty, so they never count against the dirty thresholds and reclaim
 * never drops them; truncate and unlink release them.
 */
PC_EXPORT extern const struct pc_fs_type pc_ramfs_fs_type;
/*
 * ext2/3/4 through libext2fs (fs/ext4). Defined only when the library is
 * built with libext2fs (PC_HAVE_EXT2FS in the build's config.h); pc_mount
 * answers -ENODEV for "ext4" otherwise.
 */
PC_EXPORT extern const struct pc_fs_type pc_ext4_fs_type;

/*
 * pc_fs_set_error - for filesystems: record, printf-style, the one-line
 * explanation of the failure the calling thread is about to return, for
 * pc_last_error() (truncated to 255 bytes). Any context, no locks.
 */
PC_EXPORT void pc_fs_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PAGECACHE_VFS_H */
