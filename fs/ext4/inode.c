/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs/ext4/inode.c - inodes and the file data path of the ext2/3/4 client.
 *
 * Inode life: pc_ext4_read_inode reads the on-disk inode into
 * struct pc_ext4_inode.raw (validated) and mirrors it into the VFS inode;
 * pc_ext4_write_inode copies the VFS fields back into raw and writes it;
 * pc_ext4_evict_inode frees blocks and inode of an unlinked inode. See
 * ext4.h for the one-source-of-truth rule of raw.
 *
 * Data path (regular files):
 *   read:   a_ops->readpage/readahead = pc_mpage_readpage/readahead over
 *           pc_ext4_get_block (create = 0), which maps a RUN of blocks per
 *           call (a whole extent, or a contiguous stretch of an indirect
 *           block) and reports holes with their length.
 *   write:  delayed allocation. write_begin (ext4_da_write_begin) maps
 *           existing blocks and reserves space for holes, marking their
 *           buffers PC_BH_Delay (see ext4.h); write_end is pc_generic_write_end.
 *   writeback: ext4_writepages first maps the delayed buffers of the dirty
 *           pages in long runs (ext4_map_delayed: one get_block(create=1)
 *           per run, each allocating an extent in one go, which also merges
 *           into the extent on its left when physically adjacent), then
 *           pc_mpage_writepages writes the pages in large bios; pages it
 *           finds still delayed go to ext4_writepage, which maps them with
 *           the dirty pages that follow.
 *   truncate: pc_truncate_setsize, pc_block_truncate_page (zero the tail
 *           of the EOF block on disk), ext2fs_punch.
 *
 * Safety: every physical block get_block returns (or an indirect block it
 * reads) is checked against the filesystem, the device and the system
 * zone (valid_range): it must lie past the primary superblock and
 * descriptors, before the end of both, and outside every superblock copy,
 * descriptor, bitmap and inode table. A mapping that fails the check is
 * -EUCLEAN and no I/O is done.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ext4.h"

static inline int64_t *alloc_end_of(struct pc_inode *inode)
{
	return &EXT4_I(inode)->alloc_end;
}

/* ------------------------------------------------------------------ */
/* raw <-> VFS                                                        */
/* ------------------------------------------------------------------ */

static bool raw_is_large(ext2_filsys fs)
{
	return EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE;
}

#define RAW_HAS(fs, raw, field) \
	(raw_is_large(fs) && inode_includes(EXT2_GOOD_OLD_INODE_SIZE + (raw)->i_extra_isize, field))

static void encode_time(const struct timespec *ts, __u32 *sec, __u32 *extra, bool has_extra)
{
	int64_t s = ts->tv_sec;

	*sec = (__u32)(uint64_t)s;
	if (has_extra)
		*extra = (__u32)(((uint64_t)(s - (int32_t)(uint32_t)s) >> 32) & EXT4_EPOCH_MASK) |
			 ((__u32)ts->tv_nsec << EXT4_EPOCH_BITS);
}

static void decode_time(struct timespec *ts, __u32 sec, __u32 extra, bool has_extra)
{
	ts->tv_sec = (int32_t)sec;
	ts->tv_nsec = 0;
	if (has_extra) {
		ts->tv_sec += (int64_t)(extra & EXT4_EPOCH_MASK) << 32;
		ts->tv_nsec = extra >> EXT4_EPOCH_BITS;
		if (ts->tv_nsec >= 1000000000L)
			ts->tv_nsec = 0;
	}
}

void pc_ext4_fill_vfs(struct pc_inode *inode)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext2_inode_large *raw = &EXT4_I(inode)->raw;
	ext2_filsys fs = sbi->fs;

	inode->i_mode = raw->i_mode;
	inode->i_uid = inode_uid(*raw);
	inode->i_gid = inode_gid(*raw);
	inode->i_nlink = raw->i_links_count;
	pc_i_size_write(inode, (loff_t)EXT2_I_SIZE(raw));
	decode_time(&inode->i_atime, raw->i_atime, raw->i_atime_extra, RAW_HAS(fs, raw, i_atime_extra));
	decode_time(&inode->i_mtime, raw->i_mtime, raw->i_mtime_extra, RAW_HAS(fs, raw, i_mtime_extra));
	decode_time(&inode->i_ctime, raw->i_ctime, raw->i_ctime_extra, RAW_HAS(fs, raw, i_ctime_extra));
	__atomic_store_n(&inode->i_blocks, ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)raw), __ATOMIC_RELAXED);
	inode->i_blkbits = sbi->blkbits;
}

void pc_ext4_set_raw_times(struct pc_inode *inode)
{
	ext2_filsys fs = EXT4_SB(inode->i_sb)->fs;
	struct ext2_inode_large *raw = &EXT4_I(inode)->raw;
	struct timespec at, mt, ct;

	/* Writers update the times under i_lock (pc_inode_touch): take a
	 * consistent copy. */
	pc_inode_get_times(inode, &at, &mt, &ct);
	encode_time(&at, &raw->i_atime, &raw->i_atime_extra, RAW_HAS(fs, raw, i_atime_extra));
	encode_time(&mt, &raw->i_mtime, &raw->i_mtime_extra, RAW_HAS(fs, raw, i_mtime_extra));
	encode_time(&ct, &raw->i_ctime, &raw->i_ctime_extra, RAW_HAS(fs, raw, i_ctime_extra));
}

void pc_ext4_raw_times_now(ext2_filsys fs, struct ext2_inode_large *raw)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	encode_time(&ts, &raw->i_atime, &raw->i_atime_extra, RAW_HAS(fs, raw, i_atime_extra));
	encode_time(&ts, &raw->i_mtime, &raw->i_mtime_extra, RAW_HAS(fs, raw, i_mtime_extra));
	encode_time(&ts, &raw->i_ctime, &raw->i_ctime_extra, RAW_HAS(fs, raw, i_ctime_extra));
	if (RAW_HAS(fs, raw, i_crtime_extra))
		encode_time(&ts, &raw->i_crtime, &raw->i_crtime_extra, true);
}

/* ext2fs lock held: the VFS fields into raw. */
static int sync_raw(struct pc_inode *inode)
{
	ext2_filsys fs = EXT4_SB(inode->i_sb)->fs;
	struct ext2_inode_large *raw = &EXT4_I(inode)->raw;
	errcode_t ret;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	raw->i_mode = (__u16)((raw->i_mode & LINUX_S_IFMT) | (inode->i_mode & 07777));
	raw->i_uid = (__u16)inode->i_uid;
	ext2fs_set_i_uid_high(*raw, (__u16)(inode->i_uid >> 16));
	raw->i_gid = (__u16)inode->i_gid;
	ext2fs_set_i_gid_high(*raw, (__u16)(inode->i_gid >> 16));
	raw->i_links_count = (__u16)inode->i_nlink;
	pc_ext4_set_raw_times(inode);
	if (S_ISREG(inode->i_mode)) {
		ret = ext2fs_inode_size_set(fs, (struct ext2_inode *)raw,
					    (ext2_off64_t)pc_i_size_read(inode));
		if (ret)
			return pc_ext4_errno(ret);
	}
	return 0;
}

int pc_ext4_write_raw_locked(struct pc_inode *inode)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext2_inode_large *raw = &EXT4_I(inode)->raw;
	errcode_t ret;
	int err;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	if (sbi->readonly)
		return -EROFS;
	err = sync_raw(inode);
	if (err)
		return err;
	ret = ext2fs_write_inode_full(sbi->fs, (ext2_ino_t)inode->i_ino, (struct ext2_inode *)raw,
				      sizeof(*raw));
	__atomic_store_n(&inode->i_blocks, ext2fs_get_stat_i_blocks(sbi->fs, (struct ext2_inode *)raw), __ATOMIC_RELAXED);
	return pc_ext4_errno(ret);
}

int pc_ext4_reload_raw_locked(struct pc_inode *inode)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext2_inode_large *raw = &EXT4_I(inode)->raw;
	errcode_t ret;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	memset(raw, 0, sizeof(*raw));
	ret = ext2fs_read_inode_full(sbi->fs, (ext2_ino_t)inode->i_ino, (struct ext2_inode *)raw,
				     sizeof(*raw));
	if (ret)
		return pc_ext4_errno(ret);
	if (!S_ISREG(inode->i_mode))
		pc_i_size_write(inode, (loff_t)EXT2_I_SIZE(raw));
	inode->i_nlink = raw->i_links_count;
	__atomic_store_n(&inode->i_blocks, ext2fs_get_stat_i_blocks(sbi->fs, (struct ext2_inode *)raw), __ATOMIC_RELAXED);
	*alloc_end_of(inode) = -1;
	return 0;
}

/* Does raw differ from the VFS fields (i.e. does write_inode have work)? */
static bool raw_differs(struct pc_inode *inode)
{
	struct ext2_inode_large copy = EXT4_I(inode)->raw;
	struct ext2_inode_large *raw = &EXT4_I(inode)->raw;
	bool differs;

	if (sync_raw(inode))
		return true;
	differs = memcmp(&copy, raw, sizeof(copy)) != 0;
	*raw = copy;
	return differs;
}

/* ------------------------------------------------------------------ */
/* block validation                                                   */
/* ------------------------------------------------------------------ */

/* First block that may hold file data: past the primary superblock, the
 * group descriptors and the reserved GDT blocks of group 0. */
static blk64_t data_start(struct pc_ext4_sb *sbi)
{
	ext2_filsys fs = sbi->fs;
	blk64_t start = sbi->first_data_block + 1;

	if (!ext2fs_has_feature_meta_bg(fs->super))
		start += fs->desc_blocks + fs->super->s_reserved_gdt_blocks;
	return start;
}

/* Is [pblk, pblk + len) a sane place for file data or a mapping block?
 * Inside the filesystem and the device, past the primary superblock and
 * descriptors and outside every group's superblock, descriptors, bitmaps
 * and inode table. */
static bool valid_range(struct pc_ext4_sb *sbi, blk64_t pblk, blk64_t len)
{
	blk64_t limit = PC_MIN(sbi->blocks_count, sbi->dev_blocks);

	if (len == 0 || pblk < data_start(sbi))
		return false;
	if (pblk >= limit || len > limit - pblk)
		return false;
	return !sbi->zones || !pc_ext4_in_zones(sbi, pblk, len);
}

/* ------------------------------------------------------------------ */
/* bounded block-map check                                            */
/* ------------------------------------------------------------------ */

/* Blocks @raw's i_blocks counts (data, map and xattr blocks). */
static blk64_t raw_fs_blocks(struct pc_ext4_sb *sbi, struct ext2_inode *raw)
{
	return ext2fs_get_stat_i_blocks(sbi->fs, raw) / (sbi->blocksize / 512);
}

struct map_check {
	struct pc_ext4_sb *sbi;
	blk64_t seen, limit;	/* blocks reported; most the inode may have */
	blk64_t size_blocks;	/* directories: blocks under i_size */
	bool dir;
	bool intr;		/* stop with -EINTR on pc_interrupt() */
	bool strict;		/* every block must be valid (not only the count) */
	int err;
	blk64_t bad;
	e2_blkcnt_t bad_cnt;
	const char *why;
};

static int map_check_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
			int ref_offset, void *priv)
{
	struct map_check *mc = priv;

	(void)fs;
	(void)ref_blk;
	(void)ref_offset;
	if (mc->strict && !valid_range(mc->sbi, *blocknr, 1))
		mc->why = "block %llu (file block %lld) is outside the filesystem's data area";
	else if (++mc->seen > mc->limit)
		mc->why = "its block map names more blocks than its block count (block %llu, "
			  "file block %lld)";
	else if (mc->dir && blockcnt >= 0 && (blk64_t)blockcnt >= mc->size_blocks)
		mc->why = "directory block %llu (file block %lld) is past its size";
	else if (mc->intr && (mc->seen & 1023) == 0 && pc_interrupted())
		mc->err = -EINTR;
	if (mc->why) {
		mc->err = -EUCLEAN;
		mc->bad = *blocknr;
		mc->bad_cnt = blockcnt;
	}
	return mc->err ? BLOCK_ABORT : 0;
}

/*
 * @strict: also refuse a block outside the data area (before freeing or
 * changing the map); without, only what bounds the work (the count, a
 * directory's blocks past its size) is checked, so a read of a file with
 * one bad pointer still reads the other blocks (get_block refuses the bad
 * one). Remembered in ei->map_checked / ei->map_bounded.
 */
static int check_map_locked(struct pc_inode *inode, bool intr, bool strict)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct pc_ext4_inode *ei = EXT4_I(inode);
	struct ext2_inode *raw = EXT4_RAW(inode);
	struct map_check mc = { .sbi = sbi, .intr = intr, .strict = strict };
	errcode_t ret;
	int err;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	if (ei->map_checked || (!strict && ei->map_bounded) ||
	    (raw->i_flags & EXT4_INLINE_DATA_FL) ||
	    !ext2fs_inode_has_valid_blocks2(sbi->fs, raw))
		return 0;
	mc.limit = raw_fs_blocks(sbi, raw);
	mc.dir = LINUX_S_ISDIR(raw->i_mode);
	mc.size_blocks = (EXT2_I_SIZE(raw) + sbi->blocksize - 1) >> sbi->blkbits;
	ret = ext2fs_block_iterate3(sbi->fs, (ext2_ino_t)inode->i_ino, BLOCK_FLAG_READ_ONLY, NULL,
				    map_check_cb, &mc);
	if (mc.err == -EUCLEAN)
		return pc_ext4_error(sbi, inode->i_ino, mc.bad, mc.why,
				     (unsigned long long)mc.bad, (long long)mc.bad_cnt);
	if (mc.err)
		return mc.err;
	if (ret && !strict) {
		/* A bad indirect or extent block: the walk went on past it
		 * (or stopped there, as every lookup through it will). */
		ei->map_bounded = true;
		return 0;
	}
	if (ret) {
		err = pc_ext4_errno(ret);
		if (err == -EUCLEAN)
			return pc_ext4_error(sbi, inode->i_ino, 0, "its block map is corrupt: %s",
					     error_message(ret));
		return err;
	}
	ei->map_bounded = true;
	if (strict)
		ei->map_checked = true;
	return 0;
}

int pc_ext4_check_map_locked(struct pc_inode *inode)
{
	return check_map_locked(inode, true, true);
}

/* ------------------------------------------------------------------ */
/* block mapping                                                      */
/* ------------------------------------------------------------------ */

/*
 * struct ext4_map - one mapping request.
 * @lblk:  first logical block (in).
 * @len:   in: blocks wanted (>= 1); out: blocks mapped, or hole length.
 * @pblk:  out: first physical block, 0 for a hole.
 * @new:   out: freshly allocated (contents garbage).
 * @boundary: out: mapping the next block needs a metadata read.
 * @unwritten: out: without create, the run is an unwritten (uninit)
 *          extent, reported as a hole (pblk 0).
 */
struct ext4_map {
	blk64_t lblk;
	blk64_t len;
	blk64_t pblk;
	bool new;
	bool boundary;
	bool unwritten;
};

/* Largest logical block + 1 a file can have. */
#define EXT4_MAX_LBLK (1ULL << 32)

/* ext2fs lock held. Extent files: compute alloc_end from the last extent. */
static int64_t ext_alloc_end(struct pc_inode *inode)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	int64_t end = 0;
	errcode_t ret;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	ret = ext2fs_extent_open2(sbi->fs, (ext2_ino_t)inode->i_ino, EXT4_RAW(inode), &h);
	if (ret)
		return -1;
	ret = ext2fs_extent_get(h, EXT2_EXTENT_LAST_LEAF, &ex);
	if (ret == 0)
		end = (int64_t)(ex.e_lblk + ex.e_len);
	else if (ret != EXT2_ET_EXTENT_NO_NEXT && ret != EXT2_ET_NO_CURRENT_NODE)
		end = -1;
	ext2fs_extent_free(h);
	return end;
}

/* Allocate @map->len blocks at map->lblk in the hole of an extent file
 * whose neighbours are @left/@right (NULL if none); extent handle @h. */
static int ext_alloc(struct pc_inode *inode, ext2_extent_handle_t h, struct ext4_map *map,
		     struct ext2fs_extent *left, struct ext2fs_extent *right)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	ext2_filsys fs = sbi->fs;
	struct ext2_inode *raw = EXT4_RAW(inode);
	struct ext2fs_extent cur, newex;
	blk64_t goal, pblk, plen, n = PC_MIN(map->len, (blk64_t)EXT_INIT_MAX_LEN);
	errcode_t ret;
	int op;

	if (left)
		goal = left->e_pblk + (map->lblk - left->e_lblk);
	else if (right && right->e_pblk > right->e_lblk - map->lblk + n)
		goal = right->e_pblk - (right->e_lblk - map->lblk);
	else
		goal = ext2fs_find_inode_goal(fs, (ext2_ino_t)inode->i_ino, raw, map->lblk);
	if (goal >= sbi->blocks_count)
		goal = 0;

	ret = ext2fs_new_range(fs, 0, goal, n, NULL, &pblk, &plen);
	while (ret == EXT2_ET_BLOCK_ALLOC_FAIL && pc_ext4_release_deferred_locked(sbi, SIZE_MAX))
		ret = ext2fs_new_range(fs, 0, goal, n, NULL, &pblk, &plen);	/* disk full */
	if (ret)
		return ret == EXT2_ET_BLOCK_ALLOC_FAIL ? -ENOSPC : pc_ext4_errno(ret);
	if (plen > n)
		plen = n;
	if (!valid_range(sbi, pblk, plen))
		return -EUCLEAN;
	ext2fs_block_alloc_stats_range(fs, pblk, (blk_t)plen, +1);
	ret = ext2fs_iblk_add_blocks(fs, raw, plen);
	if (ret)
		goto out_unclaim;

	if (left && !(left->e_flags & EXT2_EXTENT_FLAGS_UNINIT) &&
	    left->e_lblk + left->e_len == map->lblk && left->e_pblk + left->e_len == pblk &&
	    left->e_len + plen <= EXT_INIT_MAX_LEN) {
		/* Grow the extent on the left. */
		ret = ext2fs_extent_goto(h, left->e_lblk);
		if (!ret)
			ret = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &cur);
		if (!ret && (cur.e_lblk != left->e_lblk || cur.e_pblk != left->e_pblk))
			ret = EXT2_ET_EXTENT_NOT_FOUND;
		if (!ret) {
			cur.e_len += (__u32)plen;
			ret = ext2fs_extent_replace(h, 0, &cur);
		}
		if (!ret)
			ret = ext2fs_extent_fix_parents(h);
	} else {
		newex.e_pblk = pblk;
		newex.e_lblk = map->lblk;
		newex.e_len = (__u32)plen;
		newex.e_flags = 0;
		ret = ext2fs_extent_goto(h, map->lblk);
		if (ret == 0) {
			ret = EXT2_ET_EXTENT_NOT_FOUND;	/* mapped meanwhile? corrupt */
			goto out_sub;
		}
		if (ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &cur) == 0 && cur.e_lblk < map->lblk)
			op = EXT2_EXTENT_INSERT_AFTER;
		else
			op = 0;
		ret = ext2fs_extent_insert(h, op, &newex);
		if (!ret)
			ret = ext2fs_extent_fix_parents(h);
	}
	if (ret)
		goto out_sub;
	/* i_blocks (and the extent root if it changed) go to disk now. */
	ret = ext2fs_write_inode_full(fs, (ext2_ino_t)inode->i_ino, raw,
				      sizeof(struct ext2_inode_large));
	if (ret)
		return pc_ext4_errno(ret);
	map->pblk = pblk;
	map->len = plen;
	map->new = true;
	return 0;

out_sub:
	ext2fs_iblk_sub_blocks(fs, raw, plen);
out_unclaim:
	ext2fs_block_alloc_stats_range(fs, pblk, (blk_t)plen, -1);
	return ret == EXT2_ET_BLOCK_ALLOC_FAIL ? -ENOSPC : pc_ext4_errno(ret);
}

/* ext2fs lock held. Map (and with @create allocate) in an extent file. */
static int ext_map(struct pc_inode *inode, struct ext4_map *map, int create)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	ext2_filsys fs = sbi->fs;
	ext2_extent_handle_t h;
	struct ext2fs_extent ex, left, right;
	bool have_left = false, have_right = false;
	errcode_t ret;
	int err = 0;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	ret = ext2fs_extent_open2(fs, (ext2_ino_t)inode->i_ino, EXT4_RAW(inode), &h);
	if (ret)
		return pc_ext4_errno(ret);
	ret = ext2fs_extent_goto(h, map->lblk);
	if (ret == 0) {
		ret = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ex);
		if (ret) {
			err = pc_ext4_errno(ret);
			goto out;
		}
		if (ex.e_lblk > map->lblk || ex.e_lblk + ex.e_len <= map->lblk || ex.e_len == 0) {
			err = pc_ext4_error(sbi, inode->i_ino, 0,
					    "extent tree lookup of file block %llu found the extent "
					    "of blocks %llu+%u", (unsigned long long)map->lblk,
					    (unsigned long long)ex.e_lblk, ex.e_len);
			goto out;
		}
		map->len = PC_MIN(map->len, ex.e_lblk + ex.e_len - map->lblk);
		map->pblk = ex.e_pblk + (map->lblk - ex.e_lblk);
		if (!valid_range(sbi, map->pblk, map->len)) {
			err = pc_ext4_error(sbi, inode->i_ino, map->pblk,
					    "file block %llu maps to block %llu, outside the "
					    "filesystem's data area", (unsigned long long)map->lblk,
					    (unsigned long long)map->pblk);
			goto out;
		}
		if (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT) {
			/* Unwritten (fallocated) blocks read as zeros. */
			if (!create) {
				map->pblk = 0;
				map->unwritten = true;
				goto out;
			}
			/* Writing: convert block by block (rare: images
			 * fallocated by someone else). */
			blk64_t n = PC_MIN(map->len, (blk64_t)64);
			for (blk64_t i = 0; i < n; i++) {
				ret = ext2fs_extent_set_bmap(h, map->lblk + i, map->pblk + i, 0);
				if (ret) {
					if (i == 0) {
						err = pc_ext4_errno(ret);
						goto out;
					}
					n = i;
					break;
				}
			}
			map->len = n;
			map->new = true;
			ret = ext2fs_write_inode_full(fs, (ext2_ino_t)inode->i_ino, EXT4_RAW(inode),
						      sizeof(struct ext2_inode_large));
			if (ret)
				err = pc_ext4_errno(ret);
		}
		goto out;
	}
	if (ret != EXT2_ET_EXTENT_NOT_FOUND && ret != EXT2_ET_NO_CURRENT_NODE &&
	    ret != EXT2_ET_EXTENT_NO_NEXT) {
		err = pc_ext4_errno(ret);
		goto out;
	}
	/* A hole: find its neighbours to know its length. */
	if (ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ex) == 0 && ex.e_len) {
		if (ex.e_lblk > map->lblk) {
			right = ex;
			have_right = true;
		} else {
			left = ex;
			have_left = true;
			if (ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ex) == 0 &&
			    ex.e_lblk > left.e_lblk && ex.e_lblk > map->lblk) {
				right = ex;
				have_right = true;
			}
		}
	}
	if (have_right)
		map->len = PC_MIN(map->len, right.e_lblk - map->lblk);
	map->pblk = 0;
	if (create)
		err = ext_alloc(inode, h, map, have_left ? &left : NULL, have_right ? &right : NULL);
out:
	ext2fs_extent_free(h);
	return err;
}

/* ---- indirect (ext2/ext3) files ---- */

/* Read the pointer block @blk into @buf, after validating it. */
static int ind_read(struct pc_ext4_sb *sbi, blk64_t blk, void *buf)
{
	errcode_t ret;

	if (!valid_range(sbi, blk, 1))
		return -EUCLEAN;
	ret = io_channel_read_blk64(sbi->fs->io, blk, 1, buf);
	return pc_ext4_errno(ret);
}

/* ext2fs lock held. Look up a run in an indirect-mapped file. */
static int ind_lookup(struct pc_inode *inode, struct ext4_map *map)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext2_inode *raw = EXT4_RAW(inode);
	uint64_t apb = sbi->blocksize / 4;
	uint64_t off[4], span[4];
	uint64_t l = map->lblk;
	const __u32 *arr;
	unsigned depth, nent;
	blk64_t ptr, first, n, max;
	__u32 *buf = NULL;
	int err = 0;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	if (l < EXT2_NDIR_BLOCKS) {
		arr = raw->i_block;
		nent = EXT2_NDIR_BLOCKS;
		off[0] = l;
		depth = 0;
		goto scan;
	}
	l -= EXT2_NDIR_BLOCKS;
	if (l < apb) {
		depth = 1;
		ptr = raw->i_block[EXT2_IND_BLOCK];
		off[0] = l;
		span[0] = 1;
	} else if ((l -= apb) < apb * apb) {
		depth = 2;
		ptr = raw->i_block[EXT2_DIND_BLOCK];
		off[0] = l / apb;
		off[1] = l % apb;
		span[0] = apb;
		span[1] = 1;
	} else if ((l -= apb * apb) < apb * apb * apb) {
		depth = 3;
		ptr = raw->i_block[EXT2_TIND_BLOCK];
		off[0] = l / (apb * apb);
		off[1] = (l / apb) % apb;
		off[2] = l % apb;
		span[0] = apb * apb;
		span[1] = apb;
		span[2] = 1;
	} else {
		return -EFBIG;
	}
	buf = malloc(sbi->blocksize);
	if (!buf)
		return -ENOMEM;
	for (unsigned k = 0; k < depth; k++) {
		if (ptr == 0) {
			/* The whole subtree below is a hole. */
			uint64_t rest = span[k] * (apb - off[k]);
			for (unsigned j = k + 1; j < depth; j++)
				rest -= off[j] * span[j];
			map->pblk = 0;
			map->len = PC_MIN(map->len, rest);
			goto out;
		}
		err = ind_read(sbi, ptr, buf);
		if (err == -EUCLEAN)
			err = pc_ext4_error(sbi, inode->i_ino, ptr,
					    "indirect block %llu (for file block %llu) is outside "
					    "the filesystem's data area", (unsigned long long)ptr,
					    (unsigned long long)map->lblk);
		if (err)
			goto out;
		if (k + 1 < depth)
			ptr = ext2fs_le32_to_cpu(buf[off[k]]);
	}
	arr = buf;
	nent = (unsigned)apb;
	off[0] = off[depth - 1];
scan:
	max = PC_MIN(map->len, (blk64_t)(nent - off[0]));
	first = ext2fs_le32_to_cpu(arr[off[0]]);
	for (n = 1; n < max; n++) {
		blk64_t p = ext2fs_le32_to_cpu(arr[off[0] + n]);
		if (first ? p != first + n : p != 0)
			break;
	}
	map->pblk = first;
	map->len = n;
	/* The run ends at the end of this pointer array: the next block
	 * needs another indirect block. */
	if (first && off[0] + n == nent)
		map->boundary = true;
	if (first && !valid_range(sbi, first, n))
		err = pc_ext4_error(sbi, inode->i_ino, first,
				    "file block %llu maps to block %llu, outside the filesystem's "
				    "data area", (unsigned long long)map->lblk,
				    (unsigned long long)first);
out:
	free(buf);
	return err;
}

/* ext2fs lock held. Allocate a run at a hole of an indirect file. */
static int ind_alloc(struct pc_inode *inode, struct ext4_map *map)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	ext2_filsys fs = sbi->fs;
	struct ext2_inode *raw = EXT4_RAW(inode);
	blk64_t goal = 0, first = 0, n, got = 0;
	errcode_t ret = 0;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	if (map->lblk > 0) {
		blk64_t prev = 0;
		if (ext2fs_bmap2(fs, (ext2_ino_t)inode->i_ino, raw, NULL, 0, map->lblk - 1, NULL,
				 &prev) == 0 && prev)
			goal = prev + 1;
	}
	if (!goal)
		goal = ext2fs_find_inode_goal(fs, (ext2_ino_t)inode->i_ino, raw, map->lblk);
	if (goal >= sbi->blocks_count)
		goal = 0;
	n = PC_MIN(map->len, (blk64_t)1024);
	for (got = 0; got < n; got++) {
		blk64_t b, set;

		ret = ext2fs_new_block2(fs, goal, NULL, &b);
		while (ret == EXT2_ET_BLOCK_ALLOC_FAIL && pc_ext4_release_deferred_locked(sbi, SIZE_MAX))
			ret = ext2fs_new_block2(fs, goal, NULL, &b);	/* disk full */
		if (ret)
			break;
		if (got && b != first + got)
			break;		/* not contiguous: the run ends here */
		if (!valid_range(sbi, b, 1)) {
			ret = EXT2_ET_BAD_BLOCK_NUM;
			break;
		}
		ext2fs_block_alloc_stats2(fs, b, +1);
		ext2fs_iblk_add_blocks(fs, raw, 1);
		set = b;
		/* BMAP_SET creates the missing indirect blocks (zeroed, as
		 * metadata must be) and writes the inode. */
		ret = ext2fs_bmap2(fs, (ext2_ino_t)inode->i_ino, raw, NULL, BMAP_ALLOC | BMAP_SET,
				   map->lblk + got, NULL, &set);
		if (ret) {
			ext2fs_iblk_sub_blocks(fs, raw, 1);
			ext2fs_block_alloc_stats2(fs, b, -1);
			break;
		}
		if (!got)
			first = b;
		goal = b + 1;
	}
	if (!got)
		return ret == EXT2_ET_BLOCK_ALLOC_FAIL || !ret ? -ENOSPC : pc_ext4_errno(ret);
	/* BMAP_SET writes the inode only when it allocated an indirect
	 * block; i_blocks grew for every data block, and nothing else would
	 * write it (writeback does not dirty the inode), as the extent path
	 * does after each allocation. */
	ret = ext2fs_write_inode_full(fs, (ext2_ino_t)inode->i_ino, raw,
				      sizeof(struct ext2_inode_large));
	if (ret)	/* the blocks are mapped in memory: report at fsync */
		pc_mapping_set_error(inode->i_mapping, pc_ext4_errno(ret));
	map->pblk = first;
	map->len = got;
	map->new = true;
	return 0;
}

/* ext2fs lock held. */
static int ind_map(struct pc_inode *inode, struct ext4_map *map, int create)
{
	blk64_t want = map->len;
	int err = ind_lookup(inode, map);

	if (err || map->pblk || !create)
		return err;
	map->len = PC_MIN(want, map->len);
	return ind_alloc(inode, map);
}

/* ext2fs lock held: map per the inode's format. */
static int ext4_map_blocks(struct pc_inode *inode, struct ext4_map *map, int create)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext2_inode *raw = EXT4_RAW(inode);
	int64_t *alloc_end = alloc_end_of(inode);
	int err;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	if (map->lblk >= EXT4_MAX_LBLK)
		return create ? -EFBIG : 0;
	map->len = PC_MIN(map->len, EXT4_MAX_LBLK - map->lblk);
	map->pblk = 0;
	map->new = false;
	map->boundary = false;
	map->unwritten = false;
	if (create && sbi->readonly)
		return -EROFS;
	if (raw->i_flags & EXT4_INLINE_DATA_FL)
		return -EOPNOTSUPP;
	/* Once per in-memory inode, before trusting its map: a corrupt map
	 * (a cycle of indirect blocks, say) could otherwise name the same
	 * blocks 2^32 times and make a read of i_size bytes endless. */
	if (!EXT4_I(inode)->map_bounded) {
		err = check_map_locked(inode, false, false);
		if (err)
			return err;
	}
	if (raw->i_flags & EXT4_EXTENTS_FL) {
		if (!create && *alloc_end >= 0 && map->lblk >= (blk64_t)*alloc_end)
			return 0;	/* past every extent: a hole to the end */
		err = ext_map(inode, map, create);
	} else {
		err = ind_map(inode, map, create);
	}
	if (!err && map->pblk && *alloc_end >= 0 && map->lblk + map->len > (blk64_t)*alloc_end)
		*alloc_end = (int64_t)(map->lblk + map->len);
	if (!err && map->new) {
		__atomic_store_n(&inode->i_blocks, ext2fs_get_stat_i_blocks(sbi->fs, raw), __ATOMIC_RELAXED);
		/* Stale metadata buffers of these blocks must never be
		 * written back over the file data. */
		pc_clean_bdev_aliases(sbi->bdev, map->pblk, map->len);
	}
	return err;
}

/* Release @n delayed-allocation reservations of @inode. */
static void da_release(struct pc_inode *inode, long n)
{
	struct pc_ext4_inode *ei = EXT4_I(inode);
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	long have = atomic_load(&ei->reserved);

	while (n > 0 && have > 0) {
		long take = PC_MIN(n, have);
		if (atomic_compare_exchange_weak(&ei->reserved, &have, have - take)) {
			atomic_fetch_sub(&sbi->reserved, take);
			n -= take;
			have -= take;
		}
	}
}

/* Report @map (a run, or a hole of map->len blocks) in @bh, get_block style. */
static void map_to_bh(struct pc_ext4_sb *sbi, struct ext4_map *map, struct pc_buffer_head *bh)
{
	if (map->len == 0)
		map->len = 1;
	bh->b_size = (size_t)map->len << sbi->blkbits;
	if (map->pblk) {
		pc_map_bh(bh, sbi->bdev, map->pblk);
		if (map->new)
			pc_set_buffer_new(bh);
		if (map->boundary)
			pc_set_buffer_boundary(bh);
	}
}

static int get_block_common(struct pc_inode *inode, pc_sector_t iblock, struct pc_buffer_head *bh,
			    int create, bool release)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext4_map map = { .lblk = iblock };
	unsigned ma;
	int err;

	map.len = bh->b_size >> sbi->blkbits;
	if (map.len == 0)
		map.len = 1;
	ma = pc_ext4_lock(sbi);
	err = ext4_map_blocks(inode, &map, create);
	pc_ext4_unlock(sbi, ma);
	if (err)
		return err;
	if (release && map.new)
		da_release(inode, (long)map.len);
	map_to_bh(sbi, &map, bh);
	return 0;
}

int pc_ext4_get_block(struct pc_inode *inode, pc_sector_t iblock, struct pc_buffer_head *bh,
		      int create)
{
	return get_block_common(inode, iblock, bh, create, true);
}

/* ------------------------------------------------------------------ */
/* direct I/O                                                         */
/* ------------------------------------------------------------------ */

static blk64_t meta_estimate(struct pc_ext4_sb *sbi, blk64_t n);

/*
 * get_block for direct I/O (called by pc_blockdev_direct_IO with the range
 * locked). Unlike the delayed-allocation path, blocks allocated here were
 * never reserved, so: no reservation is released, and allocation leaves
 * alone the space promised to delayed writes (-ENOSPC rather than making
 * their writeback fail later).
 */
static int ext4_get_block_dio(struct pc_inode *inode, pc_sector_t iblock, struct pc_buffer_head *bh,
			      int create)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext4_map map = { .lblk = iblock };
	unsigned ma;
	int err;

	map.len = bh->b_size >> sbi->blkbits;
	if (map.len == 0)
		map.len = 1;
	ma = pc_ext4_lock(sbi);
	err = ext4_map_blocks(inode, &map, 0);
	if (!err && !map.pblk && create) {
		blk64_t freeb = ext2fs_free_blocks_count(sbi->fs->super);
		blk64_t resv = (blk64_t)PC_MAX(atomic_load(&sbi->reserved), 0L);
		blk64_t keep = resv + meta_estimate(sbi, resv + map.len);

		if (map.len == 0)
			map.len = 1;
		if (freeb <= keep) {
			err = -ENOSPC;
		} else {
			if (map.len > freeb - keep)
				map.len = freeb - keep;
			err = ext4_map_blocks(inode, &map, 1);
		}
	}
	pc_ext4_unlock(sbi, ma);
	if (err)
		return err;
	map_to_bh(sbi, &map, bh);
	return 0;
}

/*
 * a_ops->direct_IO: placeholders, hole filling and file extension through
 * get_block, and parallel writers inside i_size (unless the mount asked
 * to hold the inode lock: pc_mount_opts.dio_hold_i_rwsem).
 */
static ssize_t ext4_direct_IO(struct pc_kiocb *iocb, struct pc_iov_iter *iter)
{
	struct pc_inode *inode = iocb->ki_filp->f_mapping->host;
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	unsigned flags = PC_DIO_PLACEHOLDERS | PC_DIO_CREATE | PC_DIO_DROP_I_MUTEX;
	size_t count = pc_iov_iter_count(iter);
	loff_t old_size = pc_i_size_read(inode);
	ssize_t ret;

	if (iter->dir == PC_WRITE && sbi->readonly)
		return -EROFS;
	if (inode->i_sb->s_dio_hold_i_rwsem)
		flags &= ~(unsigned)PC_DIO_DROP_I_MUTEX;
	ret = pc_blockdev_direct_IO(iocb, inode, sbi->bdev, iter, ext4_get_block_dio, flags);
	if (iter->dir == PC_WRITE && iocb->ki_pos + (loff_t)count > old_size &&
	    (ret < 0 || (size_t)ret < count)) {
		/* An extending write that failed part way: blocks it allocated
		 * past the new EOF must go (e2fsck would flag them). The inode
		 * lock is held: extending writes never drop it. */
		loff_t size = pc_i_size_read(inode);
		blk64_t first = ((blk64_t)size + sbi->blocksize - 1) >> sbi->blkbits;
		blk64_t last = ((blk64_t)iocb->ki_pos + count - 1) >> sbi->blkbits;
		unsigned ma = pc_ext4_lock(sbi);

		if (first <= last && first < EXT4_MAX_LBLK &&
		    ext2fs_inode_has_valid_blocks2(sbi->fs, EXT4_RAW(inode)))
			ext2fs_punch(sbi->fs, (ext2_ino_t)inode->i_ino, EXT4_RAW(inode), NULL, first,
				     PC_MIN(last, (blk64_t)EXT4_MAX_LBLK - 1));
		*alloc_end_of(inode) = -1;
		__atomic_store_n(&inode->i_blocks, ext2fs_get_stat_i_blocks(sbi->fs, EXT4_RAW(inode)), __ATOMIC_RELAXED);
		pc_ext4_unlock(sbi, ma);
		pc___mark_inode_dirty(inode, PC_I_DIRTY_SYNC | PC_I_DIRTY_DATASYNC);
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* delayed allocation                                                 */
/* ------------------------------------------------------------------ */

/* Blocks of metadata (extent or indirect blocks) @n data blocks may need,
 * with some slack: reservations must never promise space writeback then
 * cannot find. */
static blk64_t meta_estimate(struct pc_ext4_sb *sbi, blk64_t n)
{
	return n / (sbi->blocksize / 8) + 32;
}

/*
 * Map block @iblock of @inode for write_begin: an existing block is mapped
 * into @bh; a hole is reserved (-ENOSPC if the filesystem cannot promise
 * it) and @bh becomes Mapped|Delay|New on PC_EXT4_DELAY_BLOCK.
 */
static int da_map_block(struct pc_inode *inode, pc_sector_t iblock, struct pc_buffer_head *bh)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct pc_ext4_inode *ei = EXT4_I(inode);
	struct ext4_map map = { .lblk = iblock, .len = 1 };
	int64_t *alloc_end = alloc_end_of(inode);
	unsigned ma;
	int err = 0;

	ma = pc_ext4_lock(sbi);
	if ((EXT4_RAW(inode)->i_flags & EXT4_EXTENTS_FL) && *alloc_end < 0)
		*alloc_end = ext_alloc_end(inode);
	err = ext4_map_blocks(inode, &map, 0);
	if (!err && !map.pblk) {
		blk64_t freeb = ext2fs_free_blocks_count(sbi->fs->super);
		blk64_t want = (blk64_t)atomic_load(&sbi->reserved) + 1;

		if (freeb < want + meta_estimate(sbi, want)) {
			err = -ENOSPC;
		} else {
			atomic_fetch_add(&sbi->reserved, 1);
			atomic_fetch_add(&ei->reserved, 1);
		}
	}
	pc_ext4_unlock(sbi, ma);
	if (err)
		return err;
	if (map.pblk) {
		pc_map_bh(bh, sbi->bdev, map.pblk);
	} else {
		pc_map_bh(bh, sbi->bdev, PC_EXT4_DELAY_BLOCK);
		pc_set_buffer_delay(bh);
		pc_set_buffer_new(bh);
	}
	return 0;
}

/* Read @bh (mapped, not delayed) synchronously. */
static int read_buffer(struct pc_buffer_head *bh)
{
	if (pc_buffer_uptodate(bh))
		return 0;
	return pc_bh_read_sync(bh);
}

/*
 * Prepare bytes [@from, @to) of the locked @page for a write (the seed's
 * __block_write_begin with delayed allocation).
 */
static int da_prepare_page(struct pc_inode *inode, struct pc_page *page, unsigned from, unsigned to)
{
	unsigned blkbits = inode->i_blkbits, bsize = 1U << blkbits;
	struct pc_buffer_head *head, *bh, *reads[PC_PAGE_SIZE / 512];
	struct pc_buffer_head *reserved[PC_PAGE_SIZE / 512];
	unsigned nreads = 0, nres = 0, block_start;
	pc_sector_t block;
	int err = 0;

	head = pc_create_page_buffers(page, inode, 0);
	if (!head)
		return -ENOMEM;
	block = (pc_sector_t)page->index << (PC_PAGE_SHIFT - blkbits);
	for (bh = head, block_start = 0; bh != head || block_start == 0;
	     bh = bh->b_this_page, block++, block_start += bsize) {
		unsigned block_end = block_start + bsize;

		if (block_end <= from || block_start >= to) {
			if (pc_PageUptodate(page))
				pc_set_buffer_uptodate(bh);
			continue;
		}
		pc_clear_buffer_new(bh);
		if (!pc_buffer_mapped(bh)) {
			err = da_map_block(inode, block, bh);
			if (err)
				break;
			if (pc_buffer_delay(bh))
				reserved[nres++] = bh;
			if (pc_buffer_new(bh)) {
				if (pc_PageUptodate(page)) {
					pc_clear_buffer_new(bh);
					pc_set_buffer_uptodate(bh);
					continue;
				}
				if (block_end > to)
					pc_zero_user_segment(page, to, block_end);
				if (block_start < from)
					pc_zero_user_segment(page, block_start, from);
				continue;
			}
		}
		if (pc_PageUptodate(page)) {
			pc_set_buffer_uptodate(bh);
			continue;
		}
		if (!pc_buffer_uptodate(bh) && !pc_buffer_delay(bh) &&
		    (block_start < from || block_end > to))
			reads[nreads++] = bh;
	}
	for (unsigned i = 0; !err && i < nreads; i++)
		err = read_buffer(reads[i]);
	if (err) {
		/* Undo the reservations made here: those buffers hold
		 * nothing yet. */
		for (unsigned i = 0; i < nres; i++) {
			pc_clear_buffer_delay(reserved[i]);
			pc_clear_buffer_new(reserved[i]);
			pc_clear_buffer_mapped(reserved[i]);
		}
		da_release(inode, (long)nres);
	}
	return err;
}

static int ext4_da_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			       unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata)
{
	struct pc_inode *inode = mapping->host;
	pc_pgoff_t index = (pc_pgoff_t)pos >> PC_PAGE_SHIFT;
	unsigned from = (unsigned)(pos & (loff_t)(PC_PAGE_SIZE - 1));
	struct pc_page *page;
	int err;

	(void)file;
	(void)fsdata;
	if (EXT4_SB(inode->i_sb)->readonly)
		return -EROFS;
	page = pc_grab_cache_page_write_begin(mapping, index, flags);
	if (!page)
		return -ENOMEM;
	err = da_prepare_page(inode, page, from, from + len);
	if (err) {
		pc_unlock_page(page);
		pc_put_page(page);
		return err;
	}
	*pagep = page;
	return 0;
}

/* Drop the reservations of delayed buffers fully inside the range. */
static void ext4_invalidatepage(struct pc_page *page, unsigned offset, unsigned length)
{
	struct pc_inode *inode = page->mapping ? page->mapping->host : NULL;
	struct pc_buffer_head *head = pc_page_buffers(page), *bh;
	unsigned stop = offset + length, block_start = 0;
	long n = 0;

	if (head && inode) {
		unsigned bsize = 1U << inode->i_blkbits;

		bh = head;
		do {
			unsigned block_end = block_start + bsize;
			if (block_start >= offset && block_end <= stop && pc_buffer_delay(bh)) {
				pc_clear_buffer_delay(bh);
				pc_clear_buffer_mapped(bh);
				pc_clear_buffer_new(bh);
				n++;
			}
			block_start = block_end;
			bh = bh->b_this_page;
		} while (bh != head);
		if (n)
			da_release(inode, n);
	}
	pc_block_invalidatepage(page, offset, length);
}

/* A page with delayed buffers keeps them (and its reservations). */
static bool ext4_releasepage(struct pc_page *page)
{
	struct pc_buffer_head *head = pc_page_buffers(page), *bh;

	if (head) {
		bh = head;
		do {
			if (pc_buffer_delay(bh))
				return false;
			bh = bh->b_this_page;
		} while (bh != head);
	}
	return pc_try_to_free_buffers(page);
}

/*
 * The delayed buffers of a run of consecutive logical blocks, over pages
 * held locked (ascending), waiting to be allocated in one go.
 * @caller: a page locked by our caller (writepage): never unlocked here.
 */
#define DA_RUN_PAGES 64
struct da_run {
	struct pc_inode *inode;
	struct pc_page *caller;
	struct pc_page *pages[DA_RUN_PAGES];
	unsigned npages;
	struct pc_buffer_head *bhs[DA_RUN_PAGES * (PC_PAGE_SIZE / 512)];
	unsigned nbh;
	pc_sector_t lblk;
	int err;
};

/* Throw away the delayed data of a locked page that cannot be allocated
 * (the kernel's behaviour on ENOSPC at writeback: the error goes to
 * fsync through the mapping). */
static void da_discard_page(struct pc_inode *inode, struct pc_page *page)
{
	struct pc_buffer_head *head = pc_page_buffers(page), *bh;
	long n = 0;

	if (head) {
		bh = head;
		do {
			if (pc_buffer_delay(bh)) {
				pc_clear_buffer_delay(bh);
				pc_clear_buffer_mapped(bh);
				n++;
			}
			bh = bh->b_this_page;
		} while (bh != head);
	}
	da_release(inode, n);
	pc_cancel_dirty_page(page);
	pc_block_invalidatepage(page, 0, PC_PAGE_SIZE);
	pc_ClearPageUptodate(page);
	pc_SetPageError(page);
}

/* Unlock and release the run's pages, except @keep (stays in the run). */
static void da_release_pages(struct da_run *run, struct pc_page *keep)
{
	unsigned k = 0;

	for (unsigned i = 0; i < run->npages; i++) {
		struct pc_page *page = run->pages[i];

		if (page == keep) {
			run->pages[k++] = page;
			continue;
		}
		if (!run->err)
			pc_ClearPageOwnerPriv(page);
		if (page != run->caller) {
			pc_unlock_page(page);
			pc_put_page(page);
		}
	}
	run->npages = k;
}

/* Allocate the run's blocks and map its buffers; release its pages except
 * @keep (still being scanned). */
static void da_run_flush(struct da_run *run, struct pc_page *keep)
{
	struct pc_inode *inode = run->inode;
	unsigned blkbits = inode->i_blkbits;
	unsigned done = 0;

	while (done < run->nbh && !run->err) {
		struct pc_buffer_head tmp;
		unsigned n;
		int err;

		memset(&tmp, 0, sizeof(tmp));
		tmp.b_size = (size_t)(run->nbh - done) << blkbits;
		err = get_block_common(inode, run->lblk + done, &tmp, 1, false);
		if (!err && !pc_buffer_mapped(&tmp))
			err = -EIO;
		if (err) {
			run->err = err;
			pc_mapping_set_error(inode->i_mapping, err);
			for (unsigned i = 0; i < run->npages; i++)
				da_discard_page(inode, run->pages[i]);
			break;
		}
		n = (unsigned)(tmp.b_size >> blkbits);
		for (unsigned i = 0; i < n && done < run->nbh; i++, done++) {
			struct pc_buffer_head *bh = run->bhs[done];

			bh->b_bdev = tmp.b_bdev;
			bh->b_blocknr = tmp.b_blocknr + i;
			pc_set_buffer_mapped(bh);
			pc_clear_buffer_new(bh);
			pc_clear_buffer_delay(bh);
		}
		da_release(inode, (long)n);
	}
	run->nbh = 0;
	da_release_pages(run, run->err ? NULL : keep);
}

/* Add the delayed buffers of the locked @page to @run (flushing the run
 * where they do not continue it). True if the page is now held by the run. */
static bool da_add_page(struct da_run *run, struct pc_page *page)
{
	struct pc_buffer_head *head = pc_page_buffers(page), *bh;
	unsigned blkbits = run->inode->i_blkbits;
	unsigned per_page = 1U << (PC_PAGE_SHIFT - blkbits);
	pc_sector_t lblk = (pc_sector_t)page->index << (PC_PAGE_SHIFT - blkbits);
	bool held = false;

	if (!head)
		return false;
	bh = head;
	for (unsigned i = 0; i < per_page && !run->err; i++, lblk++, bh = bh->b_this_page) {
		if (!pc_buffer_delay(bh))
			continue;
		if (run->nbh && lblk != run->lblk + run->nbh)
			da_run_flush(run, held ? page : NULL);
		if (!held && run->npages == DA_RUN_PAGES)
			da_run_flush(run, NULL);
		if (run->err)
			break;
		if (!held) {
			run->pages[run->npages++] = page;
			held = true;
		}
		if (run->nbh == 0)
			run->lblk = lblk;
		run->bhs[run->nbh++] = bh;
	}
	return held && !run->err;
}

/*
 * Map every delayed buffer of the dirty pages of @mapping in [@start, @end]
 * (page indexes), stopping after *@budget pages with delayed buffers
 * (decremented). Returns 0 or the first error (the pages concerned were
 * discarded and the error recorded in the mapping).
 */
static int ext4_map_delayed(struct pc_address_space *mapping, pc_pgoff_t start, pc_pgoff_t end,
			    long *budget)
{
	struct pc_inode *inode = mapping->host;
	struct pc_ext4_inode *ei = EXT4_I(inode);
	struct pc_page *pages[PC_PAGEVEC_SIZE];
	struct da_run *run;
	pc_pgoff_t index = start;
	unsigned nr;
	int err;

	if (atomic_load(&ei->reserved) <= 0)
		return 0;
	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->inode = inode;
	while (index <= end && !run->err && *budget > 0 && atomic_load(&ei->reserved) > 0 &&
	       (nr = pc_find_get_pages_range_tag(mapping, &index, end, PC_TAG_DIRTY,
						  PC_PAGEVEC_SIZE, pages)) > 0) {
		for (unsigned p = 0; p < nr; p++) {
			struct pc_page *page = pages[p];

			if (run->err || *budget <= 0 || !pc_PageOwnerPriv(page)) {
				pc_put_page(page);
				continue;
			}
			(*budget)--;
			pc_lock_page(page);
			if (page->mapping != mapping || !pc_PageDirty(page) ||
			    !pc_page_has_buffers(page) || !da_add_page(run, page)) {
				if (!run->err)
					pc_ClearPageOwnerPriv(page);
				pc_unlock_page(page);
				pc_put_page(page);
			}
		}
	}
	da_run_flush(run, NULL);
	err = run->err;
	free(run);
	return err;
}

static int ext4_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc)
{
	struct pc_inode *inode = mapping->host;
	pc_pgoff_t start = 0, end = (pc_pgoff_t)-1;
	long budget = LONG_MAX;
	int err, err2;

	if (EXT4_SB(inode->i_sb)->readonly)
		return 0;
	/* Map what this pass will write: the wbc range, or for background
	 * (cyclic) writeback about nr_to_write pages from writeback_index on
	 * (pages left delayed are mapped by writepage if reached). */
	if (wbc->range_cyclic) {
		start = atomic_load(&mapping->writeback_index);
		if (wbc->sync_mode == PC_WB_SYNC_NONE && wbc->nr_to_write > 0 &&
		    wbc->nr_to_write < LONG_MAX - DA_RUN_PAGES)
			budget = wbc->nr_to_write + DA_RUN_PAGES;
	} else if (!(wbc->range_start == 0 && wbc->range_end >= INT64_MAX)) {
		start = (pc_pgoff_t)wbc->range_start >> PC_PAGE_SHIFT;
		end = (pc_pgoff_t)wbc->range_end >> PC_PAGE_SHIFT;
	}
	err = ext4_map_delayed(mapping, start, end, &budget);
	if (!err && wbc->range_cyclic && start > 0 && budget > 0)
		err = ext4_map_delayed(mapping, 0, start - 1, &budget);
	err2 = pc_mpage_writepages(mapping, wbc, pc_ext4_get_block);
	return err2 ? err2 : err;
}

/*
 * a_ops->writepage, and mpage's fallback for pages it cannot put in a bio
 * as they are (pages dirtied with delayed buffers after ext4_writepages
 * mapped the others). The page is locked by the caller. Its delayed
 * buffers are allocated together with those of the dirty pages that
 * follow it (locked with trylock, ascending), so the rest of the pass
 * finds them mapped and writes them in large bios.
 */
static int ext4_writepage(struct pc_page *page, struct pc_writeback_control *wbc)
{
	struct pc_address_space *mapping = page->mapping;
	struct pc_inode *inode = mapping->host;
	int err = 0;

	if (pc_PageOwnerPriv(page) && pc_page_has_buffers(page)) {
		struct da_run *run = calloc(1, sizeof(*run));
		pc_pgoff_t index = page->index + 1;

		if (!run) {
			pc_redirty_page_for_writepage(wbc, page);
			pc_unlock_page(page);
			return 0;
		}
		run->inode = inode;
		run->caller = page;
		if (da_add_page(run, page)) {
			while (!run->err && run->npages < DA_RUN_PAGES) {
				struct pc_page *p = pc_find_get_page(mapping, index++);

				if (!p)
					break;
				if (!pc_PageOwnerPriv(p) || !pc_trylock_page(p)) {
					pc_put_page(p);
					break;
				}
				if (p->mapping != mapping || !pc_PageDirty(p) || !da_add_page(run, p)) {
					pc_unlock_page(p);
					pc_put_page(p);
					break;
				}
			}
		}
		da_run_flush(run, NULL);
		err = run->err;
		free(run);
		if (err) {
			pc_unlock_page(page);	/* discarded, error recorded */
			return err;
		}
	}
	return pc_block_write_full_page(page, pc_ext4_get_block, wbc);
}

static int ext4_readpage(struct pc_file *file, struct pc_page *page)
{
	(void)file;
	return pc_mpage_readpage(page, pc_ext4_get_block);
}

static void ext4_readahead(struct pc_readahead_control *rac)
{
	pc_mpage_readahead(rac, pc_ext4_get_block);
}

/* write_end: the generic one, and remember the page holds delayed blocks. */
static int ext4_da_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			     unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	struct pc_buffer_head *head = pc_page_buffers(page), *bh;

	if (head) {
		bh = head;
		do {
			if (pc_buffer_delay(bh)) {
				pc_SetPageOwnerPriv(page);
				break;
			}
			bh = bh->b_this_page;
		} while (bh != head);
	}
	return pc_generic_write_end(file, mapping, pos, len, copied, page, fsdata);
}

const struct pc_address_space_operations pc_ext4_aops = {
	.writepage = ext4_writepage,
	.readpage = ext4_readpage,
	.writepages = ext4_writepages,
	.set_page_dirty = pc___set_page_dirty_buffers,
	.readahead = ext4_readahead,
	.write_begin = ext4_da_write_begin,
	.write_end = ext4_da_write_end,
	.invalidatepage = ext4_invalidatepage,
	.releasepage = ext4_releasepage,
	.direct_IO = ext4_direct_IO,
};

/* ---- inline-data files (read-only mounts) ---- */

static int ext4_inline_readpage(struct pc_file *file, struct pc_page *page)
{
	struct pc_inode *inode = page->mapping->host;
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	char *kaddr = pc_page_address(page);
	size_t size = 0;
	errcode_t ret = 0;
	char *buf = NULL;
	unsigned ma;

	(void)file;
	memset(kaddr, 0, PC_PAGE_SIZE);
	if (page->index == 0) {
		ma = pc_ext4_lock(sbi);
		ret = ext2fs_inline_data_size(sbi->fs, (ext2_ino_t)inode->i_ino, &size);
		if (!ret && size) {
			buf = malloc(size);
			if (!buf)
				ret = EXT2_ET_NO_MEMORY;
			else
				ret = ext2fs_inline_data_get(sbi->fs, (ext2_ino_t)inode->i_ino,
							     EXT4_RAW(inode), buf, &size);
		}
		pc_ext4_unlock(sbi, ma);
		if (!ret)
			memcpy(kaddr, buf, PC_MIN(size, (size_t)PC_PAGE_SIZE));
		free(buf);
	}
	if (ret)
		pc_SetPageError(page);
	else
		pc_SetPageUptodate(page);
	pc_unlock_page(page);
	return pc_ext4_errno(ret);
}

static const struct pc_address_space_operations ext4_inline_aops = {
	.readpage = ext4_inline_readpage,
};

/* ------------------------------------------------------------------ */
/* file and inode operations                                          */
/* ------------------------------------------------------------------ */

/*
 * SEEK_DATA / SEEK_HOLE (ext4_llseek -> iomap_seek_data/iomap_seek_hole).
 *
 * The file is walked as runs of the block map (ext4_map_blocks without
 * create: a whole extent, the hole up to the next extent, a stretch of
 * one indirect block, or a whole absent indirect subtree), so a hole
 * costs one lookup whatever its size. Three kinds of run:
 *   - initialised blocks: data;
 *   - unwritten extents: data only where the cache holds pages that are
 *     uptodate, dirty, delayed or under writeback (Linux's rule);
 *   - holes: data only where the cache holds dirty pages, pages with
 *     delayed blocks (PC_PG_owner_priv: a page writeback took the dirty bit
 *     from but has not allocated yet) or pages under writeback: delayed
 *     allocation keeps written data in the cache with no block.
 * Writers are excluded by the inode lock (shared here), truncate and
 * punch with it; writeback is not, but it always allocates a page's
 * blocks before the page loses the last of those flags. So the cache is
 * searched BEFORE the map is trusted: a run the map called a hole is
 * looked up again after the cache search, and if the map changed
 * meanwhile (writeback allocated there) the run is walked again.
 * Every step moves forward by at least a block or sees the map change;
 * steps are also bounded by the block pointers the device could hold (a
 * corrupt map: -EUCLEAN).
 */
enum seek_kind { SEEK_RUN_HOLE, SEEK_RUN_DATA, SEEK_RUN_UNWRITTEN };

#define SEEK_HOLE_FLAGS ((1UL << PC_PG_dirty) | (1UL << PC_PG_owner_priv) | (1UL << PC_PG_writeback))
#define SEEK_UNWRITTEN_FLAGS (SEEK_HOLE_FLAGS | (1UL << PC_PG_uptodate))

/* The run of the block map at @lblk: *@kind and *@len blocks (>= 1,
 * <= @maxlen). Takes the ext2fs lock. 0 or -errno. */
static int seek_map(struct pc_inode *inode, blk64_t lblk, blk64_t maxlen, int *kind, blk64_t *len)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext4_map map = { .lblk = lblk, .len = maxlen };
	int64_t *alloc_end = alloc_end_of(inode);
	unsigned ma;
	int err;

	if (lblk >= EXT4_MAX_LBLK)
		return -EUCLEAN;	/* i_size was validated below this */
	ma = pc_ext4_lock(sbi);
	if ((EXT4_RAW(inode)->i_flags & EXT4_EXTENTS_FL) && *alloc_end < 0)
		*alloc_end = ext_alloc_end(inode);
	err = ext4_map_blocks(inode, &map, 0);
	pc_ext4_unlock(sbi, ma);
	if (err)
		return err;
	if (map.len == 0)
		return -EUCLEAN;
	*len = PC_MIN(map.len, maxlen);
	*kind = map.pblk ? SEEK_RUN_DATA : map.unwritten ? SEEK_RUN_UNWRITTEN : SEEK_RUN_HOLE;
	return 0;
}

/* Inode lock held shared, 0 <= @offset < @size. The first data (hole) at
 * or after @offset; @size if none. */
static loff_t ext4_seek(struct pc_inode *inode, loff_t offset, loff_t size, int whence)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	unsigned blkbits = sbi->blkbits;
	blk64_t last = (blk64_t)(size - 1) >> blkbits;
	/* Each run is an extent, a gap between two, or a stretch of block
	 * pointers: never more than the pointers the device could hold. */
	uint64_t steps = 0,
		 limit = ((uint64_t)PC_MAX(sbi->dev_blocks, sbi->blocks_count) + 64) *
			 (sbi->blocksize / 4);
	loff_t pos = offset;

	PC_ASSERT_INODE_LOCKED_ANY(inode);
	while (pos < size) {
		blk64_t lblk = (blk64_t)pos >> blkbits, len, len2;
		int kind, kind2, err;
		loff_t end, c;

		if (++steps > limit)
			return -EUCLEAN;
		err = seek_map(inode, lblk, last - lblk + 1, &kind, &len);
		if (err)
			return err;
		end = (loff_t)((lblk + len) << blkbits);
		if (end > size || end <= pos)
			end = size;
		if (kind == SEEK_RUN_DATA) {
			if (whence == SEEK_DATA)
				return pos;
			pos = end;
			continue;
		}
		c = pc_mapping_seek_hole_data(inode->i_mapping, pos, end, whence,
					      kind == SEEK_RUN_HOLE ? SEEK_HOLE_FLAGS
								    : SEEK_UNWRITTEN_FLAGS);
		if (whence == SEEK_DATA && c < end)
			return c;
		/* No data in the cache: is the map still what it was? */
		lblk = (blk64_t)(whence == SEEK_HOLE ? c : pos) >> blkbits;
		if (whence == SEEK_HOLE && c >= end) {
			pos = end;
			continue;
		}
		err = seek_map(inode, lblk, last - lblk + 1, &kind2, &len2);
		if (err)
			return err;
		if (whence == SEEK_HOLE) {
			if (kind2 == SEEK_RUN_HOLE ||
			    (kind2 == SEEK_RUN_UNWRITTEN && kind == SEEK_RUN_UNWRITTEN))
				return c;
			pos = c;	/* allocated meanwhile: walk from there */
			continue;
		}
		if (kind2 == kind && (loff_t)((lblk + len2) << blkbits) >= end)
			pos = end;
		/* else: the map changed under the cache search; again */
	}
	return size;
}

static loff_t ext4_llseek(struct pc_file *file, loff_t offset, int whence)
{
	struct pc_inode *inode = file->f_inode;
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	loff_t size, ret;
	bool inline_data;
	unsigned ma;

	pc_inode_lock_shared(inode);
	ma = pc_ext4_lock(sbi);
	inline_data = EXT4_RAW(inode)->i_flags & EXT4_INLINE_DATA_FL;
	pc_ext4_unlock(sbi, ma);
	size = pc_i_size_read(inode);
	if (offset >= size)
		ret = -ENXIO;
	else if (inline_data)
		ret = whence == SEEK_DATA ? offset : size;
	else
		ret = ext4_seek(inode, offset, size, whence);
	pc_inode_unlock_shared(inode);
	if (whence == SEEK_DATA && ret == size)
		ret = -ENXIO;
	return ret;
}

const struct pc_file_operations pc_ext4_file_fops = {
	.read_iter = pc_generic_file_read_iter,
	.write_iter = pc_generic_file_write_iter,
	.fsync = pc_generic_file_fsync,
	.llseek = ext4_llseek,
};

/* Truncate @inode to @size (i_rwsem held exclusive). */
static int ext4_truncate(struct pc_inode *inode, loff_t size)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	loff_t old = pc_i_size_read(inode);
	blk64_t first;
	errcode_t ret = 0;
	unsigned ma;
	int err = 0;

	PC_ASSERT_INODE_LOCKED(inode);
	if (size > inode->i_sb->s_maxbytes)
		return -EFBIG;
	if (EXT4_RAW(inode)->i_flags & EXT4_INLINE_DATA_FL)
		return -EOPNOTSUPP;
	if (size < old) {
		/* Never hand a corrupt map to ext2fs_punch: fail first,
		 * before anything changed. */
		ma = pc_ext4_lock(sbi);
		err = check_map_locked(inode, false, true);
		pc_ext4_unlock(sbi, ma);
		if (err)
			return err;
	}
	/* Zero the tail of the new EOF block first: it fails (-ENOMEM, -EIO)
	 * only before changing anything, and then nothing is truncated. */
	if (size < old && (size & (loff_t)(sbi->blocksize - 1))) {
		err = pc_block_truncate_page(inode->i_mapping, size, pc_ext4_get_block);
		if (err)
			return err;
	}
	pc_truncate_setsize(inode, size);
	if (size < old) {
		first = ((blk64_t)size + sbi->blocksize - 1) >> sbi->blkbits;
		ma = pc_ext4_lock(sbi);
		if (first < EXT4_MAX_LBLK &&
		    ext2fs_inode_has_valid_blocks2(sbi->fs, EXT4_RAW(inode)))
			ret = ext2fs_punch(sbi->fs, (ext2_ino_t)inode->i_ino, EXT4_RAW(inode), NULL,
					   first, ~0ULL);
		*alloc_end_of(inode) = -1;
		__atomic_store_n(&inode->i_blocks, ext2fs_get_stat_i_blocks(sbi->fs, EXT4_RAW(inode)), __ATOMIC_RELAXED);
		pc_ext4_unlock(sbi, ma);
		if (ret && !err) {
			err = pc_ext4_errno(ret);
			/* Blocks past @size may still be allocated (the punch
			 * stopped part way): keep the old size, so the inode
			 * written next stays consistent (e2fsck: i_size must
			 * cover every block). The caller gets the error. */
			pc_i_size_write(inode, old);
		}
		/*
		 * A buffered reader that looked at i_size before we changed it
		 * may have instantiated pages past it after pc_truncate_setsize
		 * removed them, mapping blocks we just freed (readers take no
		 * inode lock). Drop them again now that the blocks are gone: a
		 * page created from here on maps holes. Without this a stale
		 * page could later be written into a block reallocated to
		 * another offset or file.
		 */
		pc_truncate_pagecache(inode, size);
	}
	return err;
}

int pc_ext4_setattr(struct pc_inode *inode, const struct pc_iattr *attr)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	unsigned ma;
	int err = 0;

	if (sbi->readonly)
		return -EROFS;
	if (attr->ia_valid & PC_ATTR_SIZE) {
		if (!S_ISREG(inode->i_mode))
			return S_ISDIR(inode->i_mode) ? -EISDIR : -EINVAL;
		if (attr->ia_size < 0)
			return -EINVAL;
		if (attr->ia_size != pc_i_size_read(inode)) {
			err = ext4_truncate(inode, attr->ia_size);
			if (!(attr->ia_valid & (PC_ATTR_MTIME | PC_ATTR_CTIME)))
				pc_inode_touch(inode, PC_ATTR_MTIME | PC_ATTR_CTIME);
		}
	}
	pc_setattr_copy(inode, attr);
	ma = pc_ext4_lock(sbi);
	{
		int e = pc_ext4_write_raw_locked(inode);
		if (!err)
			err = e;
	}
	pc_ext4_unlock(sbi, ma);
	return err;
}

const struct pc_inode_operations pc_ext4_file_iops = {
	.setattr = pc_ext4_setattr,
};

static ssize_t ext4_readlink(struct pc_inode *inode, char *buf, size_t size)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct ext2_inode *raw = EXT4_RAW(inode);
	size_t len = (size_t)pc_i_size_read(inode);
	char *tmp = NULL;
	errcode_t ret = 0;
	blk64_t pblk = 0;
	unsigned ma;
	int err = 0;

	if (len >= sbi->blocksize)
		return -EUCLEAN;
	tmp = malloc(sbi->blocksize + 1);
	if (!tmp)
		return -ENOMEM;
	ma = pc_ext4_lock(sbi);
	if (raw->i_flags & EXT4_INLINE_DATA_FL) {
		size_t got = sbi->blocksize;
		ret = ext2fs_inline_data_get(sbi->fs, (ext2_ino_t)inode->i_ino, raw, tmp, &got);
		if (!ret && got < len)
			len = got;
	} else if (ext2fs_is_fast_symlink(raw)) {
		if (len > sizeof(raw->i_block))
			err = -EUCLEAN;
		else
			memcpy(tmp, raw->i_block, len);
	} else {
		ret = ext2fs_bmap2(sbi->fs, (ext2_ino_t)inode->i_ino, raw, NULL, 0, 0, NULL, &pblk);
		if (!ret && (!pblk || !valid_range(sbi, pblk, 1)))
			err = -EUCLEAN;
		else if (!ret)
			ret = io_channel_read_blk64(sbi->fs->io, pblk, 1, tmp);
	}
	pc_ext4_unlock(sbi, ma);
	if (!err && ret)
		err = pc_ext4_errno(ret);
	if (!err) {
		if (len > size)
			len = size;
		memcpy(buf, tmp, len);
	}
	free(tmp);
	return err ? err : (ssize_t)len;
}

const struct pc_inode_operations pc_ext4_symlink_iops = {
	.readlink = ext4_readlink,
	.setattr = pc_ext4_setattr,
};

static const struct pc_inode_operations ext4_special_iops = {
	.setattr = pc_ext4_setattr,
};

int pc_ext4_set_ops(struct pc_inode *inode)
{
	struct ext2_inode *raw = EXT4_RAW(inode);

	switch (inode->i_mode & S_IFMT) {
	case S_IFREG:
		pc_inode_set_ops(inode, &pc_ext4_file_iops, &pc_ext4_file_fops,
				 (raw->i_flags & EXT4_INLINE_DATA_FL) ? &ext4_inline_aops :
									&pc_ext4_aops);
		return 0;
	case S_IFDIR:
		pc_inode_set_ops(inode, &pc_ext4_dir_iops, &pc_ext4_dir_fops, NULL);
		return 0;
	case S_IFLNK:
		pc_inode_set_ops(inode, &pc_ext4_symlink_iops, NULL, NULL);
		return 0;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		pc_inode_set_ops(inode, &ext4_special_iops, NULL, NULL);
		return 0;
	default:
		return -EUCLEAN;
	}
}

/* ------------------------------------------------------------------ */
/* super operations on inodes                                         */
/* ------------------------------------------------------------------ */

struct pc_inode *pc_ext4_alloc_inode(struct pc_super_block *sb)
{
	struct pc_ext4_inode *ei = calloc(1, sizeof(*ei));

	if (!ei)
		return NULL;
	/* The VFS initialises the generic part (ei->vfs) after we return. */
	ei->alloc_end = -1;
	atomic_init(&ei->reserved, 0);
	return &ei->vfs;
}

void pc_ext4_destroy_inode(struct pc_inode *inode)
{
	free(EXT4_I(inode));
}

/* Sanity checks of a freshly read inode: NULL, or why it is corrupt. */
static const char *validate_raw(struct pc_ext4_sb *sbi, struct ext2_inode_large *raw)
{
	ext2_filsys fs = sbi->fs;
	uint64_t size = EXT2_I_SIZE(raw);

	if (raw->i_links_count == 0)
		return "a deleted inode (no links) is named by a directory";
	switch (raw->i_mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:
	case LINUX_S_IFDIR:
	case LINUX_S_IFLNK:
	case LINUX_S_IFCHR:
	case LINUX_S_IFBLK:
	case LINUX_S_IFIFO:
	case LINUX_S_IFSOCK:
		break;
	default:
		return "unknown file type in i_mode";
	}
	if (raw_is_large(fs) &&
	    EXT2_GOOD_OLD_INODE_SIZE + (unsigned)raw->i_extra_isize > EXT2_INODE_SIZE(fs->super))
		return "i_extra_isize is larger than the inode";
	if (size > (uint64_t)INT64_MAX || size > EXT4_MAX_LBLK * sbi->blocksize)
		return "its size is larger than a file can be";
	if (LINUX_S_ISLNK(raw->i_mode) && size >= sbi->blocksize)
		return "a symlink longer than a block";
	/* Counts that bound the work on this inode: no more blocks than the
	 * filesystem has, and a block-mapped directory no larger than the
	 * blocks it owns (directories have no holes: e2fsck allocates them),
	 * so a listing or lookup never walks more than the device holds. */
	if (raw_fs_blocks(sbi, (struct ext2_inode *)raw) > sbi->blocks_count)
		return "its block count is larger than the filesystem";
	if (LINUX_S_ISDIR(raw->i_mode) && !(raw->i_flags & EXT4_INLINE_DATA_FL) &&
	    ((size + sbi->blocksize - 1) >> sbi->blkbits) >
		    raw_fs_blocks(sbi, (struct ext2_inode *)raw))
		return "a directory's size is larger than the blocks it owns";
	if ((raw->i_flags & EXT4_EXTENTS_FL) && !(raw->i_flags & EXT4_INLINE_DATA_FL)) {
		if (!ext2fs_has_feature_extents(fs->super))
			return "an extent-mapped inode on a filesystem without extents";
		if (ext2fs_extent_header_verify(raw->i_block, sizeof(raw->i_block)))
			return "corrupt extent tree root";
	}
	if ((raw->i_flags & EXT4_INLINE_DATA_FL) && !ext2fs_has_feature_inline_data(fs->super))
		return "inline data on a filesystem without inline_data";
	return NULL;
}

int pc_ext4_read_inode(struct pc_inode *inode)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	struct pc_ext4_inode *ei = EXT4_I(inode);
	const char *why;
	errcode_t ret;
	unsigned ma;
	int err;

	if (inode->i_ino < 1 || inode->i_ino > sbi->fs->super->s_inodes_count)
		return -EUCLEAN;
	memset(&ei->raw, 0, sizeof(ei->raw));
	ma = pc_ext4_lock(sbi);
	ret = ext2fs_read_inode_full(sbi->fs, (ext2_ino_t)inode->i_ino,
				     (struct ext2_inode *)&ei->raw, sizeof(ei->raw));
	if (!ret && (why = validate_raw(sbi, &ei->raw)))
		err = pc_ext4_error(sbi, inode->i_ino, 0, "%s", why);
	else
		err = pc_ext4_errno(ret);
	pc_ext4_unlock(sbi, ma);
	if (err)
		return err;
	pc_ext4_fill_vfs(inode);
	return pc_ext4_set_ops(inode);
}

int pc_ext4_write_inode(struct pc_inode *inode, struct pc_writeback_control *wbc)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	unsigned ma;
	int err;

	(void)wbc;
	if (sbi->readonly)
		return 0;
	ma = pc_ext4_lock(sbi);
	err = pc_ext4_write_raw_locked(inode);
	pc_ext4_unlock(sbi, ma);
	return err;
}

int pc_ext4_free_inode_locked(struct pc_inode *inode)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	ext2_filsys fs = sbi->fs;
	struct ext2_inode_large *raw = &EXT4_I(inode)->raw;
	ext2_ino_t ino = (ext2_ino_t)inode->i_ino;
	errcode_t ret;
	int err;

	PC_EXT4_ASSERT_LOCKED(EXT4_SB(inode->i_sb));
	/* Never hand a corrupt map to ext2fs_punch: it would free blocks
	 * that are not the file's (or loop over a huge bogus tree). Keep the
	 * inode and its blocks then; e2fsck reclaims them. */
	err = check_map_locked(inode, false, true);
	if (err)
		return err;
	if (ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)raw)) {
		ret = ext2fs_punch(fs, ino, (struct ext2_inode *)raw, NULL, 0, ~0ULL);
		if (ret)
			return pc_ext4_error(sbi, ino, 0, "freeing its blocks: %s",
					     error_message(ret));
	}
	if (ext2fs_file_acl_block(fs, (struct ext2_inode *)raw) || raw->i_extra_isize) {
		ret = ext2fs_free_ext_attr(fs, ino, raw);
		if (ret)
			err = pc_ext4_error(sbi, ino, ext2fs_file_acl_block(fs, (struct ext2_inode *)raw),
					    "freeing its extended attributes: %s",
					    error_message(ret));
	}
	raw->i_links_count = 0;
	raw->i_dtime = (__u32)time(NULL);
	ret = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)raw, sizeof(*raw));
	if (ret)
		return pc_ext4_errno(ret);
	ext2fs_inode_alloc_stats2(fs, ino, -1, LINUX_S_ISDIR(raw->i_mode));
	return err;
}

void pc_ext4_evict_inode(struct pc_inode *inode)
{
	struct pc_ext4_sb *sbi = EXT4_SB(inode->i_sb);
	unsigned ma;

	if (sbi->readonly) {
		pc_truncate_inode_pages(&inode->i_data, 0);
		return;
	}
	if (inode->i_nlink == 0) {
		int err;

		pc_truncate_inode_pages(&inode->i_data, 0);
		ma = pc_ext4_lock(sbi);
		err = pc_ext4_free_inode_locked(inode);
		pc_ext4_unlock(sbi, ma);
		/* Nobody waits for an eviction: the error (recorded in the
		 * superblock too) reaches pc_sync and pc_umount this way. */
		if (err)
			pc_errseq_set(&inode->i_sb->s_wb_err, err);
	} else {
		/* Normally everything was written back before (unmount syncs
		 * first); never drop dirty data silently. */
		if (S_ISREG(inode->i_mode))
			(void)pc_filemap_write_and_wait(&inode->i_data);
		pc_truncate_inode_pages(&inode->i_data, 0);
		ma = pc_ext4_lock(sbi);
		if (raw_differs(inode))
			(void)pc_ext4_write_raw_locked(inode);
		pc_ext4_unlock(sbi, ma);
	}
	da_release(inode, atomic_load(&EXT4_I(inode)->reserved));
}
