/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs/ext4/io_manager.c - a libext2fs io_manager over the block device's
 * buffer cache.
 *
 * libext2fs reads and writes metadata through an io_channel. This
 * io_manager's channels are attached to a struct pc_block_device that the
 * mount registered under a unique name ("pcbdev:<address>:<serial>"):
 * ext2fs_open2 passes the name to ->open, which finds the device in the
 * registry. Every read and write then goes through the device's buffer
 * cache (bd_mapping): pc___bread / pc___getblk, memcpy, pc_mark_buffer_dirty,
 * pc_brelse. Nothing reaches the image except through the block layer, and
 * the buffer cache is the only cache of metadata.
 *
 * Addressing is in bytes: the channel's block_size (1024 while libext2fs
 * reads the superblock, the filesystem block size afterwards) only scales
 * the block numbers libext2fs passes; each transfer is split at the buffer
 * cache's own block size (bd_block_size), with read-modify-write for a
 * partial buffer. set_blksize also moves the buffer cache to the channel's
 * block size (pc_set_blocksize) so that, once mounted, one metadata block is
 * one buffer and the file data path's pc_clean_bdev_aliases() (in units of
 * bd_block_size) speaks the same units as get_block.
 *
 * Locking: every entry point is called from inside libext2fs, that is with
 * the mount's ext2fs lock held (see ext4.h); buffers are locked while they
 * are modified so a concurrent writeback of the buffer cache never sends a
 * half-updated block. The registry has its own mutex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ext4.h"

/* While CHANNEL_FLAGS_WRITETHROUGH is set (ext2fs_flush: every bitmap
 * block, descriptor and superblock copy at once), start writeback of the
 * buffer cache every this many dirtied blocks, so one flush of a large
 * filesystem cannot fill the page pool with dirty metadata while holding
 * the ext2fs lock that the flusher may be waiting for. */
#define PCIO_WRITETHROUGH_BATCH 64

struct pcio_private {
	struct pc_block_device *bdev;
	struct struct_io_stats stats;
	unsigned dirtied;
	/* byte ranges written through since the last batch: only they are
	 * started, never the rest of the buffer cache (inode tables must
	 * wait for the index blocks, see meta_order.c) */
	unsigned nwt;
	struct { uint64_t off, len; } wt[PCIO_WRITETHROUGH_BATCH];
};

/* ---- registry of devices by name ---- */

struct pcio_reg {
	char name[64];
	struct pc_block_device *bdev;
	struct pcio_reg *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pcio_reg *registry;
static unsigned long registry_serial;

int pc_ext4_io_register(struct pc_block_device *bdev, char *name, size_t len)
{
	struct pcio_reg *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&registry_lock);
	snprintf(r->name, sizeof(r->name), "pcbdev:%p:%lu", (void *)bdev, ++registry_serial);
	r->bdev = bdev;
	r->next = registry;
	registry = r;
	snprintf(name, len, "%s", r->name);
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

void pc_ext4_io_unregister(const char *name)
{
	struct pcio_reg **p, *r;

	pthread_mutex_lock(&registry_lock);
	for (p = &registry; (r = *p) != NULL; p = &r->next) {
		if (strcmp(r->name, name) == 0) {
			*p = r->next;
			free(r);
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

static struct pc_block_device *registry_find(const char *name)
{
	struct pc_block_device *bdev = NULL;

	pthread_mutex_lock(&registry_lock);
	for (struct pcio_reg *r = registry; r; r = r->next) {
		if (strcmp(r->name, name) == 0) {
			bdev = r->bdev;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return bdev;
}

/* ---- byte-addressed transfer through the buffer cache ---- */

int pc_ext4_bdev_rw(struct pc_block_device *bdev, uint64_t off, uint64_t len, void *buf,
		    bool write)
{
	char *p = buf;

	if (off > bdev->bd_size || len > bdev->bd_size - off)
		return -EIO;
	while (len) {
		unsigned bsz = bdev->bd_block_size;
		pc_sector_t block = off / bsz;
		unsigned in = (unsigned)(off % bsz);
		unsigned n = (unsigned)PC_MIN((uint64_t)(bsz - in), len);
		struct pc_buffer_head *bh;
		int err = 0;

		if (write && in == 0 && n == bsz)
			bh = pc___getblk(bdev, block, &err);
		else
			bh = pc___bread(bdev, block, &err);
		if (!bh)
			return err ? err : -EIO;
		if (write) {
			pc_lock_buffer(bh);
			memcpy(bh->b_data + in, p, n);
			pc_set_buffer_uptodate(bh);
			pc_mark_buffer_dirty(bh);
			pc_unlock_buffer(bh);
		} else {
			memcpy(p, bh->b_data + in, n);
		}
		pc_brelse(bh);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Positive errno or libext2fs code for the channel's callers. */
_Thread_local bool pc_ext4_io_nomem;

static errcode_t pcio_err(int err, bool write)
{
	if (err == -ENOMEM)
		pc_ext4_io_nomem = true;
	if (err == -EIO)
		return write ? EXT2_ET_SHORT_WRITE : EXT2_ET_SHORT_READ;
	return (errcode_t)-err;
}

static errcode_t pcio_xfer(io_channel channel, unsigned long long block, int count, void *data,
			   bool write)
{
	struct pcio_private *priv;
	uint64_t off, len;
	int err;

	EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
	priv = channel->private_data;
	if (count < 0)
		len = (uint64_t)(-(int64_t)count);
	else
		len = (uint64_t)count * (uint64_t)channel->block_size;
	if (block > UINT64_MAX / (uint64_t)channel->block_size)
		return write ? EXT2_ET_SHORT_WRITE : EXT2_ET_SHORT_READ;
	off = block * (uint64_t)channel->block_size;
	if (len == 0)
		return 0;
	err = pc_ext4_bdev_rw(priv->bdev, off, len, data, write);
	if (err)
		return pcio_err(err, write);
	if (write) {
		priv->stats.bytes_written += len;
		if (channel->flags & CHANNEL_FLAGS_WRITETHROUGH) {
			priv->dirtied += (unsigned)PC_DIV_ROUND_UP(len, priv->bdev->bd_block_size);
			priv->wt[priv->nwt].off = off;
			priv->wt[priv->nwt].len = len;
			if (++priv->nwt == PCIO_WRITETHROUGH_BATCH ||
			    priv->dirtied >= PCIO_WRITETHROUGH_BATCH) {
				for (unsigned i = 0; i < priv->nwt; i++)
					(void)pc_filemap_fdatawrite_range(&priv->bdev->bd_mapping,
									  (loff_t)priv->wt[i].off,
									  (loff_t)(priv->wt[i].off +
										   priv->wt[i].len - 1),
									  PC_WB_SYNC_NONE);
				priv->dirtied = 0;
				priv->nwt = 0;
			}
		}
	} else {
		priv->stats.bytes_read += len;
	}
	return 0;
}

/* ---- struct_io_manager methods ---- */

static errcode_t pcio_open(const char *name, int flags, io_channel *channel)
{
	struct pc_block_device *bdev;
	struct pcio_private *priv;
	io_channel io;

	if (!name)
		return EXT2_ET_BAD_DEVICE_NAME;
	bdev = registry_find(name);
	if (!bdev)
		return EXT2_ET_BAD_DEVICE_NAME;
	if ((flags & IO_FLAG_RW) && bdev->bd_readonly)
		return EROFS;

	io = calloc(1, sizeof(*io));
	if (!io)
		return EXT2_ET_NO_MEMORY;
	priv = calloc(1, sizeof(*priv));
	if (!priv)
		goto out_free_io;
	io->name = strdup(name);
	if (!io->name)
		goto out_free_priv;
	priv->bdev = bdev;
	priv->stats.num_fields = 2;
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = pc_ext4_io_manager;
	io->block_size = 1024;
	io->read_error = NULL;
	io->write_error = NULL;
	io->refcount = 1;
	io->flags = 0;
	io->private_data = priv;
	*channel = io;
	return 0;

out_free_priv:
	free(priv);
out_free_io:
	free(io);
	return EXT2_ET_NO_MEMORY;
}

static errcode_t pcio_close(io_channel channel)
{
	EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
	if (--channel->refcount > 0)
		return 0;
	free(channel->private_data);
	free(channel->name);
	free(channel);
	return 0;
}

static errcode_t pcio_set_blksize(io_channel channel, int blksize)
{
	struct pcio_private *priv;

	EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	priv = channel->private_data;
	channel->block_size = blksize;
	/* Follow the channel with the buffer cache when the size is one it can
	 * use (a power of two from 512 to the page size); transfers are byte
	 * addressed, so a refusal is harmless. */
	if ((unsigned)blksize != priv->bdev->bd_block_size && blksize >= 512 &&
	    (unsigned long)blksize <= PC_PAGE_SIZE && !(blksize & (blksize - 1)))
		(void)pc_set_blocksize(priv->bdev, (unsigned)blksize);
	return 0;
}

static errcode_t pcio_read_blk64(io_channel channel, unsigned long long block, int count,
				 void *data)
{
	return pcio_xfer(channel, block, count, data, false);
}

static errcode_t pcio_write_blk64(io_channel channel, unsigned long long block, int count,
				  const void *data)
{
	return pcio_xfer(channel, block, count, (void *)data, true);
}

static errcode_t pcio_read_blk(io_channel channel, unsigned long block, int count, void *data)
{
	return pcio_xfer(channel, block, count, data, false);
}

static errcode_t pcio_write_blk(io_channel channel, unsigned long block, int count,
				const void *data)
{
	return pcio_xfer(channel, block, count, (void *)data, true);
}

/* Byte-granular write (libext2fs uses it for the superblock's changed
 * fields). */
static errcode_t pcio_write_byte(io_channel channel, unsigned long offset, int size,
				 const void *data)
{
	struct pcio_private *priv;
	int err;

	EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
	if (size < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	priv = channel->private_data;
	err = pc_ext4_bdev_rw(priv->bdev, offset, (uint64_t)size, (void *)data, true);
	if (err)
		return pcio_err(err, true);
	priv->stats.bytes_written += (unsigned)size;
	return 0;
}

static errcode_t pcio_flush(io_channel channel)
{
	struct pcio_private *priv;
	int err;

	EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
	priv = channel->private_data;
	if (priv->bdev->bd_readonly)
		return 0;
	err = pc_sync_blockdev(priv->bdev);
	return err ? pcio_err(err, true) : 0;
}

static errcode_t pcio_set_option(io_channel channel, const char *option, const char *arg)
{
	(void)channel;
	(void)option;
	(void)arg;
	return 0;
}

static errcode_t pcio_get_stats(io_channel channel, io_stats *stats)
{
	struct pcio_private *priv;

	EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
	priv = channel->private_data;
	if (stats)
		*stats = &priv->stats;
	return 0;
}

static struct struct_io_manager pcio_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "pagecache buffer cache I/O manager",
	.open = pcio_open,
	.close = pcio_close,
	.set_blksize = pcio_set_blksize,
	.read_blk = pcio_read_blk,
	.write_blk = pcio_write_blk,
	.flush = pcio_flush,
	.write_byte = pcio_write_byte,
	.set_option = pcio_set_option,
	.get_stats = pcio_get_stats,
	.read_blk64 = pcio_read_blk64,
	.write_blk64 = pcio_write_blk64,
	/* discard, cache_readahead, zeroout: NULL -> EXT2_ET_UNIMPLEMENTED;
	 * libext2fs falls back to writing zeroes where it needs them. */
};

io_manager pc_ext4_io_manager = &pcio_manager;
