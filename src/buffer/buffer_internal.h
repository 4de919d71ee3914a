/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/buffer/buffer_internal.h - helpers shared by src/buffer and src/mpage.
 * Not installed, not exported.
 *
 * The per-page helpers need "the inode" for the block size and the size of
 * the object. A block device's own mapping (the buffer cache) has no inode
 * (host == NULL): its block size is bd_block_size and its size bd_size, and
 * the device is found from the embedded mapping with pc_container_of.
 */
#ifndef PAGECACHE_BUFFER_INTERNAL_H
#define PAGECACHE_BUFFER_INTERNAL_H

#include <string.h>

#include "pagecache/buffer_head.h"
#include "pagecache/vfs.h"

/* Most buffers a page can carry (512-byte blocks). */
#define PC_MAX_BUF_PER_PAGE (PC_PAGE_SIZE / 512)

static inline unsigned pc_ilog2_u(unsigned long v)
{
	return (unsigned)(sizeof(unsigned long) * 8 - 1 - (unsigned)__builtin_clzl(v));
}

/* The block device whose buffer cache @mapping is (host == NULL only). */
static inline struct pc_block_device *pc_mapping_bdev(struct pc_address_space *mapping)
{
	return pc_container_of(mapping, struct pc_block_device, bd_mapping);
}

/* log2 of the block size of @mapping's blocks. */
static inline unsigned pc_mapping_blkbits(struct pc_address_space *mapping)
{
	if (mapping->host)
		return mapping->host->i_blkbits;
	return pc_ilog2_u(pc_mapping_bdev(mapping)->bd_block_size);
}

/* Size in bytes of the object behind @mapping (i_size, or bd_size). */
static inline loff_t pc_mapping_size(struct pc_address_space *mapping)
{
	if (mapping->host)
		return pc_i_size_read(mapping->host);
	return (loff_t)pc_mapping_bdev(mapping)->bd_size;
}

/* Zero bytes [@start, @end) of @page's data (no flag changes). */
static inline void pc_buf_zero(struct pc_page *page, unsigned start, unsigned end)
{
	if (end > start)
		memset((char *)pc_page_address(page) + start, 0, end - start);
}

/*
 * Write the bdev buffer cache block @block (units of @blocksize) if it is
 * cached and dirty, without waiting (the seed's write_boundary_block: called
 * after a data bio that ended at a PC_BH_Boundary so the metadata block that
 * follows goes out right behind it). Does nothing if the buffer cache uses
 * another block size or the block is not cached.
 */
void pc_write_boundary_block(struct pc_block_device *bdev, pc_sector_t block, unsigned blocksize);

/*
 * Start writing @bh if it is dirty and not locked (the kernel's
 * ll_rw_block(WRITE) on one buffer): never sleeps. Completion clears
 * PC_BH_Lock; a failure sets PC_BH_Write_EIO and the mapping's error.
 */
void pc_write_dirty_buffer_async(struct pc_buffer_head *bh);

#endif /* PAGECACHE_BUFFER_INTERNAL_H */
