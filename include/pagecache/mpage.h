/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/mpage.h - layer 7b: multi-page block I/O (Linux's fs/mpage.c).
 *
 * For pages whose blocks are mapped by get_block and not "confused"
 * (contiguous on disk within the page, no partially mapped buffers), build
 * the largest bio of disk-contiguous pages instead of one I/O per block.
 * Holes at the end of a page are zeroed; a hole in the middle, or
 * discontiguous blocks, make the page fall back to the per-buffer paths
 * (pc_block_read_full_page / pc_block_write_full_page). A PC_BH_Boundary block
 * submits the bio at once so the metadata read that follows is not queued
 * behind it. On writeback the part of the EOF page past i_size is zeroed
 * every time.
 */
#ifndef PAGECACHE_MPAGE_H
#define PAGECACHE_MPAGE_H

#include "buffer_head.h"

/* a_ops->readahead for block filesystems: one get_block call maps as much
 * of the rest of the batch as is contiguous; every page is unlocked at
 * completion (PC_PG_uptodate, or PC_PG_error on a read error). */
PC_EXPORT void pc_mpage_readahead(struct pc_readahead_control *rac, pc_get_block_t get_block);
/* a_ops->readpage for block filesystems. Page locked; unlocked at completion.
 * 0, or -ENOMEM (no memory for a bio or buffers; the page is left
 * !uptodate and is unlocked as after any read). */
PC_EXPORT int pc_mpage_readpage(struct pc_page *page, pc_get_block_t get_block);
/*
 * a_ops->writepages: write the dirty pages of @mapping per @wbc, batching
 * disk-contiguous pages into bios of up to PC_BIO_MAX_VECS pages. When a
 * page needs blocks allocated, get_block is asked (create=1) for the whole
 * run of consecutive dirty pages that follows it (bounded by i_size), so
 * one call can allocate a large extent. The pages of that run are locked
 * (trylock, ascending index) while get_block runs and until they are in a
 * bio; pages written that way beyond the one write_cache_pages handed over
 * are counted in wbc->nr_to_write. Pages that cannot go into a bio
 * (discontiguous blocks, partly dirty buffers, get_block errors) go to
 * a_ops->writepage (or pc_block_write_full_page). Caller holds no page
 * lock. Returns 0 or the first -errno (write_cache_pages' rules); write I/O
 * errors are recorded on the mapping (errseq) and the pages (PC_PG_error).
 * Plugs its bios, but never holds its plug while get_block may sleep.
 */
PC_EXPORT int pc_mpage_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc,
				  pc_get_block_t get_block);
/* a_ops->writepage through the same path (one page, locked, dirty bit
 * cleared; unlocked on return). A page that cannot go into a bio goes to
 * pc_block_write_full_page. 0 or -errno. */
PC_EXPORT int pc_mpage_writepage(struct pc_page *page, pc_get_block_t get_block,
				 struct pc_writeback_control *wbc);

#endif /* PAGECACHE_MPAGE_H */
