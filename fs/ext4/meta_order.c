/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs/ext4/meta_order.c - metadata writeback in an order that survives a
 * power cut (this client writes no journal).
 *
 * The hazard (found by tests/crash, the power-cut replay): a file grows
 * past its inode's direct pointers (ext2/3: a new indirect block; ext4: the
 * extent tree leaves the inode for a new leaf block). sync_fs then wrote
 * the buffer cache in block order, inode tables first, so a power cut
 * between the inode-table block and the new index block (or a disk cache
 * that kept the first and lost the second: nothing separated them) left
 * an inode pointing at an index block holding stale bytes. e2fsck then
 * finds "illegal blocks" or "an invalid extent node" and clears the whole
 * block map: the file's data acknowledged by earlier fsyncs is lost, not
 * only the unacknowledged append.
 *
 * The cure is the soft-updates rule for new blocks: an index block must be
 * on stable storage before an inode that points to it, and (ext4's
 * data=ordered) file data before the index block or inode that maps it.
 * pc_ext4_sync_meta_before_inodes() flushes first if any write (file data)
 * completed since ext4_sync_fs last flushed, then writes and waits for
 * every dirty page of the buffer cache outside the system zone (index,
 * directory and xattr blocks) and, if it wrote any, flushes the device;
 * the caller then writes the rest (bitmaps, descriptors, inode tables,
 * superblock) and flushes again. A sync with only system-zone metadata
 * dirty (an append that extends an extent held in the inode, an
 * overwrite) costs two flushes, one with index blocks three.
 *
 * Limits: a page of the buffer cache that holds both a system-zone block
 * and another metadata block (block size under the page size, a zone not
 * page aligned) goes with the second pass; background writeback of
 * the buffer cache by the flusher is not ordered this way (Linux's ext2
 * has the same gap; its fix is a journal).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ext4.h"

struct range {
	loff_t start, end;	/* bytes, [start, end) */
};

int pc_ext4_sync_meta_before_inodes(struct pc_ext4_sb *sbi)
{
	struct pc_block_device *bdev = sbi->bdev;
	struct pc_address_space *mapping = &bdev->bd_mapping;
	struct pc_bdev_stats before, after;
	struct range *r;
	size_t n, i;
	loff_t pos = 0;
	int err = 0, e;

	if (!bdev->bd_mapping_ready)
		return 0;
	/*
	 * What waits for the second pass is the system zone (superblock,
	 * descriptors, bitmaps, inode tables: fixed at mount, so no lock):
	 * none of it needs to reach the disk before the inode tables. A
	 * bitmap or a count that disagrees with the inodes after a power cut
	 * is what e2fsck repairs (and a read-write mount of an image left
	 * unclean is refused until it has run); an index or directory block
	 * missing under an inode that points to it is what it cannot. So the
	 * first pass, and its flush, happen only when index, directory or
	 * xattr blocks are dirty: a plain append or overwrite with fsync
	 * costs two flushes (data, then the inode), not three.
	 */
	r = calloc(sbi->nzones ? sbi->nzones : 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (n = 0; n < sbi->nzones; n++) {
		/* Widened to whole pages: a page holding any zone block waits. */
		r[n].start = ((loff_t)sbi->zones[n].start << sbi->blkbits) &
			     ~(loff_t)(PC_PAGE_SIZE - 1);
		r[n].end = (((loff_t)sbi->zones[n].end << sbi->blkbits) + PC_PAGE_SIZE - 1) &
			   ~(loff_t)(PC_PAGE_SIZE - 1);
	}

	/* Ordered data: file data written since our last flush (by fsync,
	 * pc_sync or the flusher) is made durable before any metadata that
	 * maps it, so a power cut never leaves a new pointer to a block still
	 * holding another file's old bytes. */
	pc_bdev_get_stats(bdev, &before);
	if (before.write_bios != atomic_load(&sbi->write_bios_flushed)) {
		e = pc_blkdev_issue_flush(bdev);
		if (e && !err)
			err = e;
		pc_bdev_get_stats(bdev, &before);
	}
	for (i = 0; i <= n; i++) {
		loff_t end = i < n ? r[i].start : (loff_t)bdev->bd_size;

		if (end > pos) {
			e = pc_filemap_write_and_wait_range(mapping, pos, end - 1);
			if (e && !err)
				err = e;
		}
		if (i < n && r[i].end > pos)
			pos = r[i].end;
	}
	free(r);
	pc_bdev_get_stats(bdev, &after);
	if (after.write_bios != before.write_bios || after.errors != before.errors) {
		e = pc_blkdev_issue_flush(bdev);
		if (e && !err)
			err = e;
	}
	return err;
}

int pc_ext4_sync_meta(struct pc_ext4_sb *sbi)
{
	struct pc_block_device *bdev = sbi->bdev;
	struct pc_bdev_stats st;
	size_t sealed = pc_ext4_deferred_seal(sbi);
	int err = pc_ext4_sync_meta_before_inodes(sbi), e;

	if (bdev->bd_mapping_ready) {
		e = pc_filemap_write_and_wait(&bdev->bd_mapping);
		if (e && !err)
			err = e;
	}
	if (bdev->bd_readonly)
		return err;
	pc_bdev_get_stats(bdev, &st);
	e = pc_blkdev_issue_flush(bdev);
	if (e && !err)
		err = e;
	if (!err) {
		/* Every write counted in @st completed before that flush. */
		atomic_store(&sbi->write_bios_flushed, st.write_bios);
		pc_ext4_release_deferred(sbi, sealed);
	}
	return err;
}

/*
 * Deferred block frees (the soft-updates rule for freed blocks, and what
 * ext4 does until the journal commits a free): a block freed by truncate
 * or unlink must not be reused before the inode that no longer points to
 * it is on stable storage. Otherwise new data or a new index block lands
 * in a block that the on-disk inode still maps, and a power cut before the
 * inode is written leaves an acknowledged file with another file's bytes,
 * or (an index block overwritten) with a block map e2fsck clears.
 *
 * libext2fs reports every free through the block_alloc_stats callbacks
 * (after it updated the bitmap, the group counts and the superblock): we
 * mark the blocks in use again in the in-memory bitmap and remember them.
 * ext4_sync_fs notes how many were recorded before it started; once it has
 * written and flushed the inode tables, those are freed in the bitmap for
 * real (ext2fs_punch wrote each freeing inode into the buffer cache before
 * its free was recorded, so the sync carried it). The group and superblock
 * counts already count them free (statfs shows the space at once); after a
 * crash e2fsck fixes the bitmap. An allocation that finds no free block
 * releases every deferred block first (a full filesystem trades the
 * ordering for the space), a free leaves less than 1/16 of the blocks
 * free besides the deferred ones takes effect at once, and unmount releases them before the bitmaps
 * are written for the last time. At most PC_EXT4_MAX_DEFERRED runs are
 * kept; past that a free takes effect at once.
 */
#define PC_EXT4_MAX_DEFERRED 65536

static void defer_free(ext2_filsys fs, blk64_t blk, blk64_t num)
{
	struct pc_ext4_sb *sbi = fs->priv_data;
	struct pc_ext4_deferred *d;

	if (!sbi || sbi->fs != fs || !num || blk + num > ext2fs_blocks_count(fs->super))
		return;
	/* Nearly full (under 1/16 free besides the deferred): free at once. */
	if (ext2fs_free_blocks_count(fs->super) < sbi->deferred_blocks + num +
						  ext2fs_blocks_count(fs->super) / 16)
		return;
	if (sbi->ndeferred && sbi->deferred[sbi->ndeferred - 1].start +
				      sbi->deferred[sbi->ndeferred - 1].len == blk) {
		d = &sbi->deferred[sbi->ndeferred - 1];
		if (sbi->ndeferred > sbi->deferred_sealed) {	/* only unsealed runs grow */
			ext2fs_mark_block_bitmap_range2(fs->block_map, blk, (unsigned)num);
			d->len += num;
			sbi->deferred_blocks += num;
			return;
		}
	}
	if (sbi->ndeferred == sbi->deferred_cap) {
		size_t cap = sbi->deferred_cap ? sbi->deferred_cap * 2 : 64;

		if (cap > PC_EXT4_MAX_DEFERRED)
			return;
		d = realloc(sbi->deferred, cap * sizeof(*d));
		if (!d)
			return;		/* no memory: the free takes effect now */
		sbi->deferred = d;
		sbi->deferred_cap = cap;
	}
	ext2fs_mark_block_bitmap_range2(fs->block_map, blk, (unsigned)num);
	sbi->deferred[sbi->ndeferred].start = blk;
	sbi->deferred[sbi->ndeferred].len = num;
	sbi->ndeferred++;
	sbi->deferred_blocks += num;
}

static void stats_cb(ext2_filsys fs, blk64_t blk, int inuse)
{
	if (inuse < 0)
		defer_free(fs, blk, 1);
}

static void stats_range_cb(ext2_filsys fs, blk64_t blk, blk_t num, int inuse)
{
	if (inuse < 0)
		defer_free(fs, blk, num);
}

void pc_ext4_deferred_init(struct pc_ext4_sb *sbi)
{
	blk64_t last = ext2fs_blocks_count(sbi->fs->super) - 1;

	/*
	 * libext2fs 1.46.6-1.47.0 cannot punch an extent that ends at the
	 * filesystem's last block (punch_extent_blocks' range check is off
	 * by one: EXT2_ET_BAD_BLOCK_NUM, fixed upstream after 1.47.0), and
	 * deferred frees make the allocator reach the end sooner: keep that
	 * block out of use until the filesystem is full (or unmounted).
	 */
	if (!ext2fs_test_block_bitmap2(sbi->fs->block_map, last)) {
		ext2fs_mark_block_bitmap2(sbi->fs->block_map, last);
		sbi->last_block_held = true;
	}
	sbi->fs->priv_data = sbi;
	ext2fs_set_block_alloc_stats_callback(sbi->fs, stats_cb, NULL);
	ext2fs_set_block_alloc_stats_range_callback(sbi->fs, stats_range_cb, NULL);
}

/*
 * The held last block is a promise to ourselves, not a use: it must never
 * reach the disk, where the bitmap would disagree with the group counts
 * (e2fsck: "block bitmap differences") after a crash or a failed unmount.
 * Every flush of the bitmaps goes through here, under the ext2fs lock.
 */
errcode_t pc_ext4_flush_locked(struct pc_ext4_sb *sbi, int flags)
{
	blk64_t last = ext2fs_blocks_count(sbi->fs->super) - 1;
	bool held = sbi->last_block_held;
	errcode_t ret;

	PC_EXT4_ASSERT_LOCKED(sbi);
	if (held)
		ext2fs_unmark_block_bitmap2(sbi->fs->block_map, last);
	ret = ext2fs_flush2(sbi->fs, flags);
	if (held)
		ext2fs_mark_block_bitmap2(sbi->fs->block_map, last);
	return ret;
}

void pc_ext4_drop_last_block_hold(struct pc_ext4_sb *sbi)
{
	if (sbi->fs && sbi->last_block_held) {
		ext2fs_unmark_block_bitmap2(sbi->fs->block_map,
					    ext2fs_blocks_count(sbi->fs->super) - 1);
		sbi->last_block_held = false;
	}
}

size_t pc_ext4_deferred_seal(struct pc_ext4_sb *sbi)
{
	unsigned ma = pc_ext4_lock(sbi);
	size_t n = sbi->ndeferred;

	sbi->deferred_sealed = n;
	pc_ext4_unlock(sbi, ma);
	return n;
}

bool pc_ext4_release_deferred_locked(struct pc_ext4_sb *sbi, size_t n)
{
	size_t i;

	PC_EXT4_ASSERT_LOCKED(sbi);
	if (!sbi->fs)
		return false;
	if (n == SIZE_MAX && !sbi->ndeferred && sbi->last_block_held) {
		/* Nothing else to give: the held last block goes too. */
		ext2fs_unmark_block_bitmap2(sbi->fs->block_map,
					    ext2fs_blocks_count(sbi->fs->super) - 1);
		sbi->last_block_held = false;
		ext2fs_mark_bb_dirty(sbi->fs);
		return true;
	}
	if (n > sbi->ndeferred)
		n = sbi->ndeferred;
	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		ext2fs_unmark_block_bitmap_range2(sbi->fs->block_map, sbi->deferred[i].start,
						  (unsigned)sbi->deferred[i].len);
		sbi->deferred_blocks -= sbi->deferred[i].len;
	}
	memmove(sbi->deferred, sbi->deferred + n, (sbi->ndeferred - n) * sizeof(*sbi->deferred));
	sbi->ndeferred -= n;
	sbi->deferred_sealed = sbi->deferred_sealed > n ? sbi->deferred_sealed - n : 0;
	ext2fs_mark_bb_dirty(sbi->fs);
	return true;
}

void pc_ext4_release_deferred(struct pc_ext4_sb *sbi, size_t n)
{
	unsigned ma = pc_ext4_lock(sbi);

	pc_ext4_release_deferred_locked(sbi, n);
	pc_ext4_unlock(sbi, ma);
}
