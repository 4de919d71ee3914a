/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs/ext4/ext4.h - private to fs/ext4: the ext2/ext3/ext4 image client.
 *
 * Split of work
 * -------------
 * libext2fs does ALL metadata: the superblock and group descriptors,
 * bitmaps and allocation, inodes, directories, extent trees and indirect
 * blocks. Its own block I/O does not touch the image directly: a custom
 * io_manager (io_manager.c) routes it through the block device's buffer
 * cache (bdev->bd_mapping, the buffer layer's pc___bread/pc___getblk).
 *
 * File DATA never goes through libext2fs: it goes through this library's
 * page cache, get_block (inode.c: ext4_get_block), the mpage and buffer
 * paths, straight to the device.
 *
 * The ext2fs lock
 * ---------------
 * libext2fs is not thread-safe, so every call into it (and every access to
 * struct pc_ext4_inode.raw) happens with the per-mount mutex sbi->lock
 * held: pc_ext4_lock()/pc_ext4_unlock(). It is the innermost lock of the
 * filesystem (see docs/locking.md and DESIGN.md):
 *
 *   inode i_rwsem -> page locks -> mapping tree_lock -> the ext2fs lock
 *
 * so it may be taken with page locks held (get_block runs under the page
 * lock), but no page lock of a FILE mapping may be waited for with it held.
 * Under it the io_manager locks buffers and pages of the block device's
 * own mapping only; nothing that holds those ever waits for the ext2fs
 * lock (the bdev flusher writes bdev pages without calling into ext4).
 * While it is held the thread runs as a "memalloc" thread
 * (pc_memalloc_enter) so the page allocations of the buffer cache under it
 * can use the pool's reserve instead of waiting for writeback of file
 * pages, which could need this same lock to allocate blocks.
 *
 * One source of truth for the on-disk inode
 * -----------------------------------------
 * struct pc_ext4_inode.raw is the on-disk inode as this process last wrote
 * or read it, and only changes under the ext2fs lock. Every libext2fs call
 * that maps or allocates blocks of the inode (bmap2, extent handles, punch)
 * is passed &raw, so the i_block/i_blocks/extent-root changes libext2fs
 * makes land in it and are written by libext2fs itself. The VFS-level
 * fields (mode, uid, gid, link count, times and, for regular files, the
 * size) live in struct pc_inode and are copied into raw only by
 * ext4_sync_raw() right before raw is written (write_inode and the
 * namespace operations). Calls that modify an inode behind our back
 * (ext2fs_link may grow a directory, ext2fs_expand_dir) are followed by
 * ext4_reload_raw().
 *
 * Delayed allocation
 * ------------------
 * write_begin maps existing blocks and, for holes, only RESERVES space
 * (sbi->reserved, ei->reserved; -ENOSPC when the free blocks minus every
 * reservation and a metadata allowance would go negative) and marks the
 * buffer PC_BH_Mapped|PC_BH_Delay|PC_BH_New on the sentinel block
 * PC_EXT4_DELAY_BLOCK (far past any device: a bio built from it fails
 * instead of writing anywhere). write_end sets PC_PG_owner_priv on a page
 * holding delayed buffers. Writeback allocates:
 *   - ext4_writepages first maps every delayed buffer of the dirty pages
 *     (ext4_map_delayed: pages locked in ascending order, one
 *     get_block(create=1) per run of consecutive delayed blocks, which
 *     allocates an extent in one go and grows the extent on its left when
 *     physically adjacent), then lets pc_mpage_writepages write the pages
 *     in large bios;
 *   - pages dirtied after that scan reach a_ops->writepage (mpage's
 *     fallback for pages with delayed buffers), which maps them together
 *     with the dirty pages that follow (trylock, ascending).
 * Reservations are given back per delayed buffer when it is mapped, when
 * it is invalidated (truncate, a_ops->invalidatepage) and at eviction.
 * If allocation fails at writeback (ENOSPC despite the reservation,
 * EUCLEAN, EIO) the pages are discarded and the error recorded in the
 * mapping, which fsync reports (the kernel's behaviour).
 *
 * Locking table (what is held when each operation is entered):
 *
 *   operation               i_rwsem      page lock    ext2fs lock
 *   read_inode              -            -            taken inside
 *   write_inode             -            -            taken inside
 *   evict_inode             -            -            taken inside
 *   sync_fs, statfs         -            -            taken inside
 *   put_super               -            -            taken inside
 *   lookup                  dir shared   -            taken inside
 *   create/mkdir/symlink    dir excl     -            taken inside
 *   unlink/rmdir            dir + victim -            taken inside
 *   rename                  both dirs +  -            taken inside
 *                           source/victim
 *   setattr                 excl         -            taken inside (after
 *                                                     the page cache calls)
 *   iterate                 shared       -            per batch; the actor
 *                                                     runs without it
 *   llseek (DATA/HOLE)      shared,      -            per map lookup; the
 *                           taken here                page cache is searched
 *                                                     between, without it
 *   get_block               (any)        held         taken inside
 *   write_begin             excl         taken here   inside get_block
 *   write_end               excl         held, freed  -
 *   writepages              -            taken here   inside get_block
 *   writepage               -            held, freed  inside get_block
 *   readpage/readahead      (shared)     held         inside get_block
 *   invalidatepage          (excl)       held         -
 *   releasepage             -            held         -
 * Under the ext2fs lock only buffer-cache buffers and pages of the block
 * device's own mapping are locked (io_manager.c, pc_clean_bdev_aliases).
 */
#ifndef PC_FS_EXT4_H
#define PC_FS_EXT4_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

/* Only the filesystem author's API, like any filesystem outside the tree. */
#include "pagecache/fs.h"

/* The "ext4" filesystem type (also mounted as "ext2" and "ext3"). */
PC_EXPORT extern const struct pc_fs_type pc_ext4_fs_type;

/* b_blocknr of a delayed (reserved, unallocated) buffer: far beyond any
 * device, so I/O to it fails with -EIO rather than touching the image,
 * and small enough that shifting it to sectors cannot overflow. */
#define PC_EXT4_DELAY_BLOCK ((pc_sector_t)1 << 48)

/*
 * struct pc_ext4_sb - per mount (sb->s_fs_info).
 * @fs:          the libext2fs handle (under @lock).
 * @bdev:        the block device (owned).
 * @lock:        the ext2fs lock (see above).
 * @io_name:     the name the io_manager knows @bdev by.
 * @readonly:    mounted read-only.
 * @extents:     the fs has the extents feature: new files use extents.
 * @blocks_count: filesystem size, blocks (fixed while mounted).
 * @dev_blocks:  device size in filesystem blocks.
 * @first_data_block: s_first_data_block.
 * @reserved:    blocks reserved by delayed allocation, fs-wide.
 * @zones:       the "system zone" (the kernel's block_validity): sorted,
 *               merged [start, end) ranges of superblocks, descriptors,
 *               bitmaps and inode tables; @nzones entries. No file block
 *               may map into them (fixed while mounted).
 */
struct pc_ext4_sb {
	ext2_filsys fs;
	struct pc_block_device *bdev;
	struct pc_mutex lock;		/* the ext2fs lock: pc_ext4_lock() */
	char io_name[64];
	bool readonly;
	bool extents;
	bool was_valid;
	blk64_t blocks_count;
	blk64_t dev_blocks;
	blk64_t first_data_block;
	unsigned blocksize;
	unsigned blkbits;
	_Atomic long reserved;
	struct pc_ext4_zone { blk64_t start, end; } *zones;
	size_t nzones;
	/* deferred frees (meta_order.c), under @lock */
	struct pc_ext4_deferred { blk64_t start, len; } *deferred;
	size_t ndeferred, deferred_cap, deferred_sealed;
	blk64_t deferred_blocks;
	bool last_block_held;	/* last block kept out of use (meta_order.c) */
	_Atomic uint64_t write_bios_flushed; /* device write_bios at our last flush */
	bool errors;		/* pc_ext4_error recorded an error (ext2fs lock) */
	bool bdev_borrowed;	/* bdev is pc_mount_opts.bdev: the caller closes it */
};

/* sync_fs, before writing the system zone (bitmaps, descriptors, inode
 * tables, superblock): flush if data was written since the last flush,
 * then write, wait for and flush every other dirty metadata page (index,
 * directory, xattr blocks; meta_order.c). 0 or -errno (-EIO, -ENOMEM).
 * Sleeps; no lock taken (the zones are fixed at mount). */
int pc_ext4_sync_meta_before_inodes(struct pc_ext4_sb *sbi);
/* sync_fs(wait): make everything in the buffer cache durable in a
 * power-cut safe order (meta_order.c): flush (if data was written since
 * the last time), index, directory and xattr blocks, flush (only if
 * any), the system zone, flush; then release the frees deferred before it started. The
 * caller has put the superblock, descriptors and bitmaps into the buffer
 * cache. 0 or the first -errno. Sleeps; no lock held. */
int pc_ext4_sync_meta(struct pc_ext4_sb *sbi);
/* Deferred frees (meta_order.c): blocks freed stay allocated in the
 * in-memory bitmap until a sync_fs made the freeing inodes durable.
 * init: at a read-write mount, after the bitmaps are read (ext2fs lock
 * not needed: nothing runs yet). seal: how many are recorded now (takes
 * the lock); release: free the first @n of them in the bitmap, @n
 * SIZE_MAX: all of them, or when there are none the held last block
 * (release takes the lock, _locked wants it held; true if anything was
 * freed: call again until false to free everything). */
void pc_ext4_deferred_init(struct pc_ext4_sb *sbi);
size_t pc_ext4_deferred_seal(struct pc_ext4_sb *sbi);
void pc_ext4_release_deferred(struct pc_ext4_sb *sbi, size_t n);
bool pc_ext4_release_deferred_locked(struct pc_ext4_sb *sbi, size_t n);
/* ext2fs_flush2 without the held last block in the bitmap it writes;
 * ext2fs lock held. */
errcode_t pc_ext4_flush_locked(struct pc_ext4_sb *sbi, int flags);
/* Forget the held last block (error paths of mount); ext2fs lock held or
 * the mount not yet visible. */
void pc_ext4_drop_last_block_hold(struct pc_ext4_sb *sbi);

/* Build sbi->zones (mount) and test a run against it. */
int pc_ext4_build_zones(struct pc_ext4_sb *sbi);
bool pc_ext4_in_zones(const struct pc_ext4_sb *sbi, blk64_t pblk, blk64_t len);

/*
 * struct pc_ext4_inode - the in-memory inode.
 * @vfs:       the generic inode (container_of).
 * @raw:       the on-disk inode (under the ext2fs lock; see above).
 * @alloc_end: extent files: first logical block past every extent, -1
 *             when unknown (under the ext2fs lock). Blocks at or past it
 *             are holes, so write_begin need not look them up; it only
 *             grows with allocations and is forgotten (-1) by punch.
 * @reserved:  delayed-allocation reservations of this inode, blocks: one
 *             per PC_BH_Delay buffer in its pages.
 */
struct pc_ext4_inode {
	struct pc_inode vfs;
	struct ext2_inode_large raw;
	int64_t alloc_end;
	_Atomic long reserved;
	bool map_checked;	/* pc_ext4_check_map_locked passed (ext2fs lock) */
	bool map_bounded;	/* its map has no more blocks than i_blocks (idem) */
};

static inline struct pc_ext4_inode *EXT4_I(struct pc_inode *inode)
{
	return pc_container_of(inode, struct pc_ext4_inode, vfs);
}
static inline struct pc_ext4_sb *EXT4_SB(struct pc_super_block *sb)
{
	return (struct pc_ext4_sb *)sb->s_fs_info;
}
static inline struct ext2_inode *EXT4_RAW(struct pc_inode *inode)
{
	return (struct ext2_inode *)&EXT4_I(inode)->raw;
}

/* ---- the ext2fs lock (super.c) ---- */
/* Take the lock; returns the memalloc state to give to pc_ext4_unlock. */
unsigned pc_ext4_lock(struct pc_ext4_sb *sbi);
void pc_ext4_unlock(struct pc_ext4_sb *sbi, unsigned memalloc);
/* Debug builds: abort unless the calling thread holds the ext2fs lock of
 * @sbi (the "ext2fs lock held" contracts of the *_locked functions). */
#define PC_EXT4_ASSERT_LOCKED(sbi) PC_ASSERT_HELD(&(sbi)->lock)

/* libext2fs error code -> negative errno (0 stays 0). */
int pc_ext4_errno(errcode_t err);
/* Set (calling thread) when our io_manager failed a transfer with -ENOMEM:
 * libext2fs turns such a failure into EXT2_ET_*_READ/WRITE codes, which
 * pc_ext4_errno then reports as -ENOMEM rather than -EIO. Cleared by
 * pc_ext4_lock() and by pc_ext4_errno(). */
extern _Thread_local bool pc_ext4_io_nomem;

/* ---- io_manager.c ---- */
/* The io_manager that routes libext2fs' I/O through a bdev's buffer cache. */
extern io_manager pc_ext4_io_manager;
/* Make @bdev known to the io_manager under a unique name written into
 * @name (@len bytes); pass that name to ext2fs_open2. 0 or -ENOMEM. */
int pc_ext4_io_register(struct pc_block_device *bdev, char *name, size_t len);
void pc_ext4_io_unregister(const char *name);
/* Read/write @len bytes at byte @off of @bdev through its buffer cache
 * (used by the io_manager and by the mount-time superblock probe).
 * 0 or -errno (-EIO past the device, I/O errors). */
int pc_ext4_bdev_rw(struct pc_block_device *bdev, uint64_t off, uint64_t len, void *buf,
		    bool write);

/* ---- inode.c ---- */
extern const struct pc_address_space_operations pc_ext4_aops;
extern const struct pc_inode_operations pc_ext4_file_iops;
extern const struct pc_file_operations pc_ext4_file_fops;
extern const struct pc_inode_operations pc_ext4_symlink_iops;

struct pc_inode *pc_ext4_alloc_inode(struct pc_super_block *sb);
void pc_ext4_destroy_inode(struct pc_inode *inode);
int pc_ext4_read_inode(struct pc_inode *inode);
int pc_ext4_write_inode(struct pc_inode *inode, struct pc_writeback_control *wbc);
void pc_ext4_evict_inode(struct pc_inode *inode);
int pc_ext4_setattr(struct pc_inode *inode, const struct pc_iattr *attr);

/* get_block for ext4 files (see buffer_head.h get_block_t). */
int pc_ext4_get_block(struct pc_inode *inode, pc_sector_t iblock, struct pc_buffer_head *bh,
		      int create);

/* ext2fs lock held: copy the VFS fields of @inode into raw and write raw.
 * 0 or -errno. */
int pc_ext4_write_raw_locked(struct pc_inode *inode);
/* ext2fs lock held: re-read raw from disk (after a libext2fs call changed
 * the inode behind our back) and refresh what the VFS mirrors of it
 * (size of non-regular files, i_blocks, link count). 0 or -errno. */
int pc_ext4_reload_raw_locked(struct pc_inode *inode);
/* Fill the VFS fields of @inode from raw (no lock needed on a new inode). */
void pc_ext4_fill_vfs(struct pc_inode *inode);
/* Set ops by type; -EUCLEAN for an unknown file type. */
int pc_ext4_set_ops(struct pc_inode *inode);
/* Raw time helpers: the VFS times of @inode into its raw; now into every
 * time of a new inode's @raw (creation time included when it fits). */
void pc_ext4_set_raw_times(struct pc_inode *inode);
void pc_ext4_raw_times_now(ext2_filsys fs, struct ext2_inode_large *raw);
/* ext2fs lock held: free every block of @inode and the inode itself.
 * 0, or -EUCLEAN (corrupt block map: nothing freed, error recorded with
 * pc_ext4_error), -EINTR, -EIO. */
int pc_ext4_free_inode_locked(struct pc_inode *inode);

/*
 * ext2fs lock held. Check, with work bounded by the inode's block count
 * (itself bounded by the filesystem size), that @inode's block map (extent
 * tree or indirect blocks) only names blocks inside the filesystem and
 * outside its metadata, has no more blocks than i_blocks counts and, for a
 * directory, none past i_size. Done once per in-memory inode (the result
 * is remembered in map_checked; our own changes keep the map sane).
 * ext4_map_blocks runs the same walk once without the per-block validity
 * test (map_bounded), so reads of a file with one bad pointer fail only
 * at that block while a map naming more blocks than i_blocks (a cycle of
 * indirect blocks) fails at once.
 * Callers run it before handing the map to a libext2fs walk (directory
 * iteration, ext2fs_punch, freeing the inode). 0, -EUCLEAN (recorded with
 * pc_ext4_error), -EINTR (pc_interrupt: only after 1024 blocks), -ENOMEM
 * or -EIO.
 */
int pc_ext4_check_map_locked(struct pc_inode *inode);

/* ---- error.c ---- */
/*
 * pc_ext4_error - ext2fs lock held: metadata of inode @ino (0: none), block
 * @blk (0: none) is corrupt. Sets the caller's one-line message
 * (pc_last_error: "corrupt filesystem: inode N: <fmt>") and, on a
 * read-write mount, records the error in the superblock like the kernel's
 * ext4_error (EXT2_ERROR_FS, s_error_count, s_first_error_*,
 * s_last_error_*; written at the next sync or unmount). Returns @err.
 */
int __pc_ext4_error(struct pc_ext4_sb *sbi, const char *func, unsigned line, ext2_ino_t ino,
		    blk64_t blk, int err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
#define pc_ext4_error(sbi, ino, blk, ...) \
	__pc_ext4_error((sbi), __func__, __LINE__, (ext2_ino_t)(ino), (blk64_t)(blk), -EUCLEAN, \
			__VA_ARGS__)

/* ---- dir.c ---- */
extern const struct pc_inode_operations pc_ext4_dir_iops;
extern const struct pc_file_operations pc_ext4_dir_fops;

#endif /* PC_FS_EXT4_H */
