/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs/ext4/super.c - mount, unmount, statfs and sync of ext2/3/4 images.
 *
 * Mount (ext4_fill_super):
 *   0. refuse (-EBUSY) an image the kernel has mounted (ext2fs_check_mount_point:
 *      /proc/mounts, loop devices backed by the file, O_EXCL probe of a
 *      block device): always for a read-write mount, and for a read-only
 *      one unless the kernel's mount is read-only too;
 *   1. open the image (pc_bdev_open with PC_BDEV_EXCL: an OFD lock for the
 *      mount's life, F_WRLCK read-write and F_RDLCK read-only, and O_EXCL
 *      on a writable block device; -EBUSY naming the holder) and give it
 *      its buffer cache; with pc_mount_opts.bdev, use that device instead
 *      (borrowed: release_sbi detaches the cache but does not close it);
 *   2. read the primary superblock ourselves and refuse, with a message
 *      that names the reason, what we cannot handle: a bad magic (-EINVAL),
 *      a block size over the page size or an incompatible feature we do not
 *      implement (-EOPNOTSUPP), a read-write mount of a filesystem whose
 *      journal needs recovery (-EROFS; read-only is allowed with a warning),
 *      a read-write mount of a filesystem not marked clean or with errors
 *      recorded (-EUCLEAN, unless opts->force);
 *   3. ext2fs_open2 through our io_manager, ext2fs_read_bitmaps (rw);
 *   3a. MMP (read-write, feature mmp): ext2fs_mmp_start, which sleeps
 *      2 * max(s_mmp_update_interval, 5) + 1 seconds (11 s at least) to
 *      see that no other node updates the MMP block, then leaves it at
 *      EXT4_MMP_SEQ_FSCK: the kernel and e2fsprogs refuse such a block at
 *      once, without timing it, so no heartbeat thread is needed (as with
 *      e2fsck and tune2fs, which hold it the same way). sync_fs calls
 *      ext2fs_mmp_update (rewrites mmp_time at most once a minute, and
 *      notices a block changed behind our back); ext2fs_close2 at unmount
 *      calls ext2fs_mmp_stop (EXT4_MMP_SEQ_CLEAN). A crash leaves the block
 *      at SEQ_FSCK: mounts are refused until `tune2fs -f -E clear_mmp`
 *      (what e2fsck says too). Read-only mounts do not consult MMP, like
 *      the kernel's;
 *   4. a read-write mount clears EXT2_VALID_FS in s_state on disk until
 *      unmount (like the kernel's ext2), so a process that dies with the
 *      image mounted leaves it marked for e2fsck (and the next read-write
 *      mount is refused, step 2). A forced mount of an image that was not
 *      clean leaves it not clean; errors recorded are never cleared here.
 * We write no journal transactions: a clean journal (ext3/ext4) is left
 * alone, which is valid as long as needs_recovery is not set.
 *
 * Unmount (ext4_put_super, after the VFS wrote back and evicted every
 * inode): restore s_state, ext2fs_close2 (writes the superblock, group
 * descriptors and bitmaps, then syncs the device), detach the buffer
 * cache, close the device.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <et/com_err.h>

#include "ext4.h"

/* libext2fs' error messages for error_message() (com_err). */
static pthread_once_t error_table_once = PTHREAD_ONCE_INIT;

static void ext4_init_error_table(void)
{
	initialize_ext2_error_table();
}

/* ---- the ext2fs lock ---- */

unsigned pc_ext4_lock(struct pc_ext4_sb *sbi)
{
	pc_mutex_lock(&sbi->lock);
	pc_ext4_io_nomem = false;
	return pc_memalloc_enter();
}

void pc_ext4_unlock(struct pc_ext4_sb *sbi, unsigned memalloc)
{
	pc_memalloc_leave(memalloc);
	pc_mutex_unlock(&sbi->lock);
}

/* ---- errors ---- */

int pc_ext4_errno(errcode_t err)
{
	bool nomem = pc_ext4_io_nomem;

	pc_ext4_io_nomem = false;
	if (err == 0)
		return 0;
	/* libext2fs passes host errno values through unchanged (< 256). */
	if (err > 0 && err < 4096)
		return -(int)err;
	switch (err) {
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_EXTENT_NO_SPACE:
	case EXT2_ET_TOO_MANY_INODES:
	case EXT2_ET_INLINE_DATA_NO_SPACE:
	case EXT2_ET_EA_NO_SPACE:
		return -ENOSPC;
	case EXT2_ET_SHORT_READ:
	case EXT2_ET_SHORT_WRITE:
	case EXT2_ET_LLSEEK_FAILED:
	case EXT2_ET_BLOCK_BITMAP_READ:
	case EXT2_ET_BLOCK_BITMAP_WRITE:
	case EXT2_ET_INODE_BITMAP_READ:
	case EXT2_ET_INODE_BITMAP_WRITE:
	case EXT2_ET_INODE_TABLE_READ:
	case EXT2_ET_INODE_TABLE_WRITE:
	case EXT2_ET_GDESC_READ:
	case EXT2_ET_GDESC_WRITE:
	case EXT2_ET_NEXT_INODE_READ:
		return nomem ? -ENOMEM : -EIO;	/* the I/O failed for want of memory */
	case EXT2_ET_FILE_NOT_FOUND:
		return -ENOENT;
	case EXT2_ET_DIR_EXISTS:
	case EXT2_ET_FILE_EXISTS:
		return -EEXIST;
	case EXT2_ET_RO_FILSYS:
	case EXT2_ET_FILE_RO:
		return -EROFS;
	case EXT2_ET_UNSUPP_FEATURE:
	case EXT2_ET_RO_UNSUPP_FEATURE:
	case EXT2_ET_UNIMPLEMENTED:
	case EXT2_ET_OP_NOT_SUPPORTED:
	case EXT2_ET_EXTENT_NOT_SUPPORTED:
	case EXT2_ET_EXTERNAL_JOURNAL_NOSUPP:
	case EXT2_ET_DIRHASH_UNSUPP:
	case EXT2_ET_UNKNOWN_CSUM:
		return -EOPNOTSUPP;
	case EXT2_ET_BAD_MAGIC:
	case EXT2_ET_REV_TOO_HIGH:
	case EXT2_ET_UNEXPECTED_BLOCK_SIZE:
	case EXT2_ET_INVALID_ARGUMENT:
	case EXT2_ET_BAD_DEVICE_NAME:
		return -EINVAL;
	case EXT2_ET_FILE_TOO_BIG:
		return -EFBIG;
	case EXT2_ET_TOO_MANY_REFS:
		return -EMLINK;
	case EXT2_ET_SYMLINK_LOOP:
		return -ELOOP;
	case EXT2_ET_NO_DIRECTORY:
		return -ENOTDIR;
	case EXT2_ET_TOOSMALL:
		return -ENAMETOOLONG;
	default:
		/* Checksums, corrupt trees, bad block or inode numbers,
		 * corrupted directories and superblocks... */
		if (err > EXT2_ET_BASE && err < EXT2_ET_BASE + 256)
			return -EUCLEAN;
		return -EIO;
	}
}

/* ---- the features we support ---- */

#define OUR_INCOMPAT_RW (EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_RECOVER | \
			 EXT2_FEATURE_INCOMPAT_META_BG | EXT3_FEATURE_INCOMPAT_EXTENTS | \
			 EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_FLEX_BG | \
			 EXT4_FEATURE_INCOMPAT_EA_INODE | EXT4_FEATURE_INCOMPAT_CSUM_SEED | \
			 EXT4_FEATURE_INCOMPAT_LARGEDIR | EXT4_FEATURE_INCOMPAT_MMP)
/* Readable but not writable through this client. */
#define OUR_INCOMPAT_RO (OUR_INCOMPAT_RW | EXT4_FEATURE_INCOMPAT_INLINE_DATA | \
			 EXT4_FEATURE_INCOMPAT_CASEFOLD)
#define OUR_RO_COMPAT_RW (EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE | \
			  EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_GDT_CSUM | \
			  EXT4_FEATURE_RO_COMPAT_DIR_NLINK | EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE | \
			  EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)

struct feature_name {
	uint32_t mask;
	const char *name;
};

static const struct feature_name incompat_names[] = {
	{ EXT2_FEATURE_INCOMPAT_COMPRESSION, "compression" },
	{ EXT3_FEATURE_INCOMPAT_JOURNAL_DEV, "journal_dev (an external journal device)" },
	{ EXT4_FEATURE_INCOMPAT_MMP, "mmp (multiple mount protection)" },
	{ EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
	{ EXT4_FEATURE_INCOMPAT_INLINE_DATA, "inline_data" },
	{ EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt" },
	{ EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold" },
	{ 0, NULL }
};

static const struct feature_name ro_compat_names[] = {
	{ EXT4_FEATURE_RO_COMPAT_HAS_SNAPSHOT, "snapshot" },
	{ EXT4_FEATURE_RO_COMPAT_QUOTA, "quota (quota files are not updated)" },
	{ EXT4_FEATURE_RO_COMPAT_BIGALLOC, "bigalloc" },
	{ EXT4_FEATURE_RO_COMPAT_REPLICA, "replica" },
	{ EXT4_FEATURE_RO_COMPAT_READONLY, "read-only" },
	{ EXT4_FEATURE_RO_COMPAT_PROJECT, "project (quota)" },
	{ EXT4_FEATURE_RO_COMPAT_SHARED_BLOCKS, "shared_blocks" },
	{ EXT4_FEATURE_RO_COMPAT_VERITY, "verity" },
	{ EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT, "orphan_present (orphans need recovery)" },
	{ 0, NULL }
};

/* Name the first bit of @bits, known or not. */
static void feature_describe(const struct feature_name *names, const char *kind, uint32_t bits,
			     char *buf, size_t len)
{
	uint32_t bit = bits & -bits;

	for (const struct feature_name *f = names; f->name; f++) {
		if (f->mask & bit) {
			snprintf(buf, len, "%s", f->name);
			return;
		}
	}
	snprintf(buf, len, "unknown %s feature 0x%x", kind, (unsigned)bit);
}

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/*
 * Check the raw primary superblock before libext2fs sees it: 0, or -errno
 * with the reason in @msg.
 */
static int check_super(const struct ext2_super_block *es, bool readonly, bool *recover,
		       char *msg, size_t msglen)
{
	uint32_t incompat = es->s_feature_incompat, ro_compat = es->s_feature_ro_compat;
	uint32_t bad;
	char what[96];

	if (es->s_magic != EXT2_SUPER_MAGIC) {
		set_msg(msg, msglen, "not an ext2/ext3/ext4 filesystem (superblock magic 0x%04x, "
			"expected 0x%04x)", es->s_magic, EXT2_SUPER_MAGIC);
		return -EINVAL;
	}
	if (es->s_log_block_size > 6) {
		set_msg(msg, msglen, "corrupt superblock: block size 2^%u KiB",
			(unsigned)es->s_log_block_size);
		return -EINVAL;
	}
	if ((1024UL << es->s_log_block_size) > PC_PAGE_SIZE) {
		set_msg(msg, msglen, "block size %lu is larger than the page size %lu: not supported",
			1024UL << es->s_log_block_size, (unsigned long)PC_PAGE_SIZE);
		return -EOPNOTSUPP;
	}
	if (es->s_rev_level > EXT2_DYNAMIC_REV) {
		set_msg(msg, msglen, "filesystem revision %u is newer than this library supports",
			(unsigned)es->s_rev_level);
		return -EOPNOTSUPP;
	}
	if (es->s_rev_level == EXT2_GOOD_OLD_REV) {
		incompat = 0;
		ro_compat = 0;
	}

	bad = incompat & ~(uint32_t)(readonly ? OUR_INCOMPAT_RO : OUR_INCOMPAT_RW);
	if (bad) {
		feature_describe(incompat_names, "incompatible", bad, what, sizeof(what));
		if (!readonly && !(incompat & ~(uint32_t)OUR_INCOMPAT_RO))
			set_msg(msg, msglen, "feature %s is only supported read-only: mount read-only",
				what);
		else
			set_msg(msg, msglen, "unsupported incompatible feature: %s", what);
		return -EOPNOTSUPP;
	}
	if (!readonly) {
		bad = ro_compat & ~(uint32_t)OUR_RO_COMPAT_RW;
		if (bad) {
			feature_describe(ro_compat_names, "read-only compatible", bad, what,
					 sizeof(what));
			set_msg(msg, msglen, "feature %s prevents a read-write mount: mount read-only",
				what);
			return -EOPNOTSUPP;
		}
	}
	*recover = incompat & EXT3_FEATURE_INCOMPAT_RECOVER;
	if (*recover && !readonly) {
		set_msg(msg, msglen, "the journal needs recovery (needs_recovery is set): run e2fsck, "
			"or mount read-only");
		return -EROFS;
	}
	return 0;
}

/*
 * A read-write mount of a filesystem the last writer did not unmount
 * cleanly, or with errors recorded (the kernel's ext4_error, or ours),
 * would write on top of whatever inconsistency is there: refuse unless
 * @force. 0 or -EUCLEAN with the reason in @msg.
 */
static int check_clean(const struct ext2_super_block *es, bool force, char *msg, size_t msglen)
{
	if (force)
		return 0;
	if ((es->s_state & EXT2_ERROR_FS) || es->s_error_count) {
		set_msg(msg, msglen, "the filesystem has errors recorded (%u); run e2fsck -f, "
			"or use the force option", (unsigned)es->s_error_count);
		return -EUCLEAN;
	}
	if (!(es->s_state & EXT2_VALID_FS)) {
		set_msg(msg, msglen, "the filesystem was not cleanly unmounted; run e2fsck -f, "
			"or use the force option");
		return -EUCLEAN;
	}
	return 0;
}

/*
 * Refuse @source while the kernel has it mounted (or uses it as swap, or a
 * block device is held O_EXCL): any such use for a read-write mount; for a
 * read-only one only a use that may write. 0 or -EBUSY with @msg. Must run
 * before we open the device ourselves (our own O_EXCL would look busy).
 */
static int check_kernel_mount(const char *source, bool readonly, char *msg, size_t msglen)
{
	char mtpt[128] = "";
	int mflags = 0;

	if (ext2fs_check_mount_point(source, &mflags, mtpt, sizeof(mtpt)) != 0)
		return 0;	/* cannot tell (no /proc): the locks still apply */
	mtpt[sizeof(mtpt) - 1] = '\0';
	if (mflags & EXT2_MF_SWAP) {
		set_msg(msg, msglen, "in use as swap by the kernel");
		return -EBUSY;
	}
	if ((mflags & EXT2_MF_MOUNTED) && (!readonly || !(mflags & EXT2_MF_READONLY))) {
		set_msg(msg, msglen, "mounted %s by the kernel%s%s%s", (mflags & EXT2_MF_READONLY) ?
			"read-only" : "read-write", mtpt[0] ? " on " : "", mtpt,
			readonly ? "; a reader would see its changes half made" : "");
		return -EBUSY;
	}
	if ((mflags & EXT2_MF_BUSY) && !(mflags & EXT2_MF_MOUNTED)) {
		/* Another mount of ours (its OFD lock names it), or a program
		 * that opened the device O_EXCL. */
		if (!msg || !msglen || !pc_bdev_describe_holder(source, msg, msglen))
			set_msg(msg, msglen, "the block device is held exclusively by another "
				"program");
		return -EBUSY;
	}
	return 0;
}

/* The MMP block's holder, from the last block ext2fs_mmp_read returned. */
static void mmp_describe(ext2_filsys fs, char *buf, size_t len)
{
	const struct mmp_struct *mmp = fs->mmp_buf;

	if (!mmp || mmp->mmp_magic != EXT4_MMP_MAGIC) {
		snprintf(buf, len, "unknown node");
		return;
	}
	snprintf(buf, len, "node '%.*s', device '%.*s'",
		 (int)strnlen((const char *)mmp->mmp_nodename, sizeof(mmp->mmp_nodename)),
		 (const char *)mmp->mmp_nodename,
		 (int)strnlen((const char *)mmp->mmp_bdevname, sizeof(mmp->mmp_bdevname)),
		 (const char *)mmp->mmp_bdevname);
}

/* -errno and @msg for a failed ext2fs_mmp_start or ext2fs_mmp_read. */
static int mmp_error(ext2_filsys fs, errcode_t ret, char *msg, size_t msglen)
{
	char who[128];

	if (fs->mmp_fd > 0) {
		close(fs->mmp_fd);
		fs->mmp_fd = -1;
	}
	mmp_describe(fs, who, sizeof(who));
	switch (ret) {
	case EXT2_ET_MMP_FSCK_ON:
		set_msg(msg, msglen, "multiple mount protection: in use (by e2fsck or a tool, or "
			"left so by a crash) on %s; if it is not, run tune2fs -f -E clear_mmp", who);
		return -EBUSY;
	case EXT2_ET_MMP_FAILED:
		set_msg(msg, msglen, "multiple mount protection: in use (mounted) on %s", who);
		return -EBUSY;
	case EXT2_ET_MMP_UNKNOWN_SEQ:
	case EXT2_ET_MMP_MAGIC_INVALID:
	case EXT2_ET_MMP_CSUM_INVALID:
	case EXT2_ET_MMP_BAD_BLOCK:
		set_msg(msg, msglen, "multiple mount protection: bad MMP block (%s); run e2fsck",
			error_message(ret));
		return -EUCLEAN;
	default:
		set_msg(msg, msglen, "multiple mount protection: %s", error_message(ret));
		return pc_ext4_errno(ret);
	}
}

/*
 * First look at the MMP block of a read-write mount, at once: 0 if it is
 * free or may be (ext4_mmp_start decides), -EBUSY if a tool, a mount of
 * e2fsprogs' kind or a crash holds it (EXT4_MMP_SEQ_FSCK), which
 * ext2fs_mmp_start would refuse too. Before the clean check, so an image
 * in use elsewhere says so rather than "not cleanly unmounted".
 */
static int ext4_mmp_peek(ext2_filsys fs, const char *source, char *msg, size_t msglen)
{
	errcode_t ret;
	char *name;

	/* ext2fs_mmp_read opens fs->device_name itself to read the block
	 * uncached, and ext2fs_mmp_start records it in the block: the image's
	 * path, not our io_manager's name for it. */
	name = strdup(source);
	if (!name)
		return -ENOMEM;
	free(fs->device_name);
	fs->device_name = name;
	if (!fs->mmp_buf && ext2fs_get_mem(fs->blocksize, &fs->mmp_buf))
		return -ENOMEM;
	ret = ext2fs_mmp_read(fs, fs->super->s_mmp_block, fs->mmp_buf);
	if (!ret && ((struct mmp_struct *)fs->mmp_buf)->mmp_seq == EXT4_MMP_SEQ_FSCK)
		ret = EXT2_ET_MMP_FSCK_ON;
	return ret ? mmp_error(fs, ret, msg, msglen) : 0;
}

/*
 * Multiple mount protection for a read-write mount (step 3a above), after
 * ext4_mmp_peek: 0, or -EBUSY (another node or tool holds the filesystem),
 * -EUCLEAN (a bad MMP block), -errno, with @msg. Sleeps at least 11 seconds.
 */
static int ext4_mmp_start(ext2_filsys fs, char *msg, size_t msglen)
{
	errcode_t ret = ext2fs_mmp_start(fs);

	if (ret)
		return mmp_error(fs, ret, msg, msglen);
	fs->flags &= ~EXT2_FLAG_SKIP_MMP;	/* ext2fs_close2 calls ext2fs_mmp_stop */
	return 0;
}

/* Largest file size the format allows, bytes. */
static loff_t max_file_size(ext2_filsys fs)
{
	uint64_t bs = fs->blocksize;
	uint64_t max_blocks, limit;

	if (ext2fs_has_feature_extents(fs->super)) {
		/* 32-bit logical block numbers. */
		max_blocks = 0xffffffffULL;
	} else {
		uint64_t apb = bs / 4;

		max_blocks = EXT2_NDIR_BLOCKS + apb + apb * apb + apb * apb * apb;
		if (max_blocks > 0xffffffffULL)
			max_blocks = 0xffffffffULL;
		if (!ext2fs_has_feature_huge_file(fs->super)) {
			/* i_blocks counts 512-byte sectors in 32 bits, indirect
			 * blocks included (about one per apb data blocks). */
			limit = 0xffffffffULL / (bs / 512);
			limit -= limit / apb + 4;
			if (max_blocks > limit)
				max_blocks = limit;
		}
	}
	return (loff_t)(max_blocks * bs);
}

/* ---- the system zone ---- */

static int zone_cmp(const void *a, const void *b)
{
	const struct pc_ext4_zone *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int pc_ext4_build_zones(struct pc_ext4_sb *sbi)
{
	ext2_filsys fs = sbi->fs;
	size_t cap = (size_t)fs->group_desc_count * 6 + 2, n = 0, m;
	struct pc_ext4_zone *z = malloc(cap * sizeof(*z));

	if (!z)
		return -ENOMEM;
	/* The boot block(s) and the primary superblock. */
	z[n++] = (struct pc_ext4_zone){ 0, sbi->first_data_block + 1 };
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t super = 0, old_desc = 0, new_desc = 0, it;
		blk_t used = 0;

		if (ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used) == 0) {
			if (super || g == 0)
				z[n++] = (struct pc_ext4_zone){ super, super + 1 };
			if (old_desc) {
				blk64_t nb = ext2fs_has_feature_meta_bg(fs->super) ?
						     fs->super->s_first_meta_bg :
						     fs->desc_blocks + fs->super->s_reserved_gdt_blocks;
				if (nb)
					z[n++] = (struct pc_ext4_zone){ old_desc, old_desc + nb };
			}
			if (new_desc)
				z[n++] = (struct pc_ext4_zone){ new_desc, new_desc + 1 };
		}
		if (ext2fs_block_bitmap_loc(fs, g))
			z[n++] = (struct pc_ext4_zone){ ext2fs_block_bitmap_loc(fs, g),
							ext2fs_block_bitmap_loc(fs, g) + 1 };
		if (ext2fs_inode_bitmap_loc(fs, g))
			z[n++] = (struct pc_ext4_zone){ ext2fs_inode_bitmap_loc(fs, g),
							ext2fs_inode_bitmap_loc(fs, g) + 1 };
		it = ext2fs_inode_table_loc(fs, g);
		if (it)
			z[n++] = (struct pc_ext4_zone){ it, it + fs->inode_blocks_per_group };
	}
	qsort(z, n, sizeof(*z), zone_cmp);
	for (size_t i = m = 0; i < n; i++) {
		if (m && z[i].start <= z[m - 1].end) {
			if (z[i].end > z[m - 1].end)
				z[m - 1].end = z[i].end;
		} else {
			z[m++] = z[i];
		}
	}
	sbi->zones = z;
	sbi->nzones = m;
	return 0;
}

bool pc_ext4_in_zones(const struct pc_ext4_sb *sbi, blk64_t pblk, blk64_t len)
{
	size_t lo = 0, hi = sbi->nzones;

	/* The first zone ending after pblk; overlap if it starts before the
	 * end of the run. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sbi->zones[mid].end <= pblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sbi->nzones && sbi->zones[lo].start < pblk + len;
}

/* ---- super operations ---- */

static int ext4_statfs(struct pc_super_block *sb, struct pc_statfs *st)
{
	struct pc_ext4_sb *sbi = EXT4_SB(sb);
	ext2_filsys fs = sbi->fs;
	unsigned ma = pc_ext4_lock(sbi);
	uint64_t freeb = ext2fs_free_blocks_count(fs->super);
	uint64_t rsv = ext2fs_r_blocks_count(fs->super);
	long delayed = atomic_load(&sbi->reserved);

	st->f_bsize = fs->blocksize;
	st->f_blocks = ext2fs_blocks_count(fs->super);
	st->f_files = fs->super->s_inodes_count;
	st->f_ffree = fs->super->s_free_inodes_count;
	pc_ext4_unlock(sbi, ma);
	if (delayed > 0)
		freeb = freeb > (uint64_t)delayed ? freeb - (uint64_t)delayed : 0;
	st->f_bfree = freeb;
	st->f_bavail = freeb > rsv ? freeb - rsv : 0;
	st->f_namelen = EXT2_NAME_LEN;
	return 0;
}

static int ext4_sync_fs(struct pc_super_block *sb, int wait)
{
	struct pc_ext4_sb *sbi = EXT4_SB(sb);
	errcode_t ret = 0;
	unsigned ma;
	int err = 0;

	if (sbi->readonly)
		return 0;
	ma = pc_ext4_lock(sbi);
	/* MMP: rewrite mmp_time (at most once a minute) and notice another
	 * node that took the block over (EXT2_ET_MMP_CHANGE_ABORT: -EBUSY). */
	ret = ext2fs_mmp_update2(sbi->fs, 0);
	if (ret)
		err = ret == EXT2_ET_MMP_CHANGE_ABORT ? -EBUSY : pc_ext4_errno(ret);
	ret = 0;
	if (sbi->fs->flags & (EXT2_FLAG_DIRTY | EXT2_FLAG_IB_DIRTY | EXT2_FLAG_BB_DIRTY)) {
		/* The primary superblock and descriptors only, like the
		 * kernel; the backups are rewritten at unmount. */
		sbi->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
		sbi->fs->io->flags |= CHANNEL_FLAGS_WRITETHROUGH;
		ret = pc_ext4_flush_locked(sbi, EXT2_FLAG_FLUSH_NO_SYNC);
		sbi->fs->io->flags &= ~CHANNEL_FLAGS_WRITETHROUGH;
		sbi->fs->flags &= ~EXT2_FLAG_MASTER_SB_ONLY;
	}
	pc_ext4_unlock(sbi, ma);
	if (ret && !err)
		err = pc_ext4_errno(ret);
	if (wait) {
		/* Ordered: data, index blocks, then inode tables (meta_order.c). */
		int e = pc_ext4_sync_meta(sbi);
		if (!err)
			err = e;
	}
	return err;
}

static void release_sbi(struct pc_ext4_sb *sbi)
{
	if (sbi->io_name[0])
		pc_ext4_io_unregister(sbi->io_name);
	if (sbi->bdev) {
		/* A borrowed device outlives us: its last completions must be
		 * over before the cache they touch goes (pc_bdev_close waits
		 * the same way for our own). */
		if (sbi->bdev_borrowed)
			pc_bdev_drain(sbi->bdev);
		if (sbi->bdev->bd_mapping_ready)
			pc_bdev_detach_cache(sbi->bdev);
		if (!sbi->bdev_borrowed)
			pc_bdev_close(sbi->bdev);
	}
	pc_mutex_destroy(&sbi->lock);
	free(sbi->deferred);
	free(sbi->zones);
	free(sbi);
}

static void ext4_put_super(struct pc_super_block *sb)
{
	struct pc_ext4_sb *sbi = EXT4_SB(sb);
	errcode_t ret;
	unsigned ma;

	if (!sbi)
		return;
	ma = pc_ext4_lock(sbi);
	if (!sbi->readonly) {
		if (sbi->was_valid)
			sbi->fs->super->s_state |= EXT2_VALID_FS;
		sbi->fs->super->s_wtime = (uint32_t)time(NULL);
		ext2fs_mark_super_dirty(sbi->fs);
	}
	while (pc_ext4_release_deferred_locked(sbi, SIZE_MAX))
		;
	sbi->fs->flags &= ~EXT2_FLAG_MASTER_SB_ONLY;
	sbi->fs->io->flags |= CHANNEL_FLAGS_WRITETHROUGH;
	ret = ext2fs_close2(sbi->fs, 0);
	if (ret) {
		/* Reported by pc_umount (the library does not print). */
		sb->s_put_super_err = pc_ext4_errno(ret);
		/* ext2fs_close2 frees the handle only when its flush succeeded
		 * (and its MMP stop: that closes mmp_fd, ext2fs_free does not). */
		if (sbi->fs->mmp_fd > 0)
			close(sbi->fs->mmp_fd);
		ext2fs_free(sbi->fs);
	}
	sbi->fs = NULL;
	pc_ext4_unlock(sbi, ma);
	sb->s_fs_info = NULL;
	release_sbi(sbi);
}

static const struct pc_super_operations ext4_sops = {
	.alloc_inode = pc_ext4_alloc_inode,
	.destroy_inode = pc_ext4_destroy_inode,
	.read_inode = pc_ext4_read_inode,
	.write_inode = pc_ext4_write_inode,
	.evict_inode = pc_ext4_evict_inode,
	.sync_fs = ext4_sync_fs,
	.statfs = ext4_statfs,
	.put_super = ext4_put_super,
};

static int ext4_fill_super(struct pc_super_block *sb, const char *source,
			   const struct pc_mount_opts *opts, char *msg, size_t msglen)
{
	struct ext2_super_block es;
	struct pc_ext4_sb *sbi;
	ext2_filsys fs = NULL;
	enum pc_engine_kind engine = PC_ENGINE_AUTO;
	unsigned bflags = 0;
	unsigned ma;
	bool recover = false;
	errcode_t ret;
	int flags, err;

	pthread_once(&error_table_once, ext4_init_error_table);
	if (opts && opts->bdev) {
		/* A device the caller made (pc_mount_opts.bdev): borrowed. */
		if (opts->bdev->bd_mapping_ready) {
			set_msg(msg, msglen, "the block device is already mounted");
			return -EBUSY;
		}
		if (!source)
			source = opts->bdev->bd_path ? opts->bdev->bd_path : "user block device";
	}
	if (!source) {
		set_msg(msg, msglen, "ext4 needs an image file or block device to mount");
		return -EINVAL;
	}
	sbi = calloc(1, sizeof(*sbi));
	if (!sbi)
		return -ENOMEM;
	pc_mutex_init(&sbi->lock);
	sbi->readonly = sb->s_readonly || (opts && opts->readonly);

	if (opts) {
		if (opts->engine == PC_ENGINE_URING)
			engine = PC_ENGINE_URING;
		else if (opts->engine == PC_ENGINE_PREAD)
			engine = PC_ENGINE_PREAD;
		if (opts->no_direct)
			bflags |= PC_BDEV_NO_DIRECT;
	}
	if (sbi->readonly)
		bflags |= PC_BDEV_RDONLY;
	bflags |= PC_BDEV_EXCL;
	if (opts && opts->bdev) {
		sbi->bdev = opts->bdev;
		sbi->bdev_borrowed = true;
		sbi->readonly |= sbi->bdev->bd_readonly;
		err = 0;
		goto opened;
	}
	err = check_kernel_mount(source, sbi->readonly, msg, msglen);
	if (err)
		goto out_release;
reopen:
	err = pc_bdev_open(source, engine, bflags, &sbi->bdev);
opened:
	if (err) {
		sbi->bdev = NULL;
		if (err == -EBUSY)
			pc_bdev_describe_holder(source, msg, msglen);
		else
			set_msg(msg, msglen, "cannot open %s: %s", source, strerror(-err));
		goto out_release;
	}
	if (opts && opts->log_writes && !sbi->readonly &&
	    (err = pc_bdev_log_writes_start(sbi->bdev, opts->log_writes)) != 0) {
		set_msg(msg, msglen, "cannot start the write log %s: %s", opts->log_writes,
			strerror(-err));
		goto out_release;
	}
	err = pc_bdev_attach_cache(sbi->bdev, sb->s_cache);
	if (err) {
		set_msg(msg, msglen, "cannot set up the buffer cache: %s", strerror(-err));
		goto out_release;
	}
	/* With O_DIRECT no buffer may be smaller than the device's logical
	 * block (the probe below is byte addressed, any buffer size works). */
	if (sbi->bdev->bd_block_size < sbi->bdev->bd_logical_block_size)
		(void)pc_set_blocksize(sbi->bdev, PC_MIN(sbi->bdev->bd_logical_block_size,
							 (unsigned)PC_PAGE_SIZE));

	/* The superblock, read by us first for precise refusals. */
	err = pc_ext4_bdev_rw(sbi->bdev, SUPERBLOCK_OFFSET, sizeof(es), &es, false);
	if (err) {
		set_msg(msg, msglen, "cannot read the superblock: %s",
			err == -EIO ? "device too small or I/O error" : strerror(-err));
		if (err == -EIO && sbi->bdev->bd_size < SUPERBLOCK_OFFSET + sizeof(es))
			err = -EINVAL;
		goto out_release;
	}
	err = check_super(&es, sbi->readonly, &recover, msg, msglen);
	/* With MMP, after ext4_mmp_peek (an image in use elsewhere is not
	 * clean either, and "in use" is the news). */
	if (!err && !sbi->readonly && !(es.s_feature_incompat & EXT4_FEATURE_INCOMPAT_MMP))
		err = check_clean(&es, opts && opts->force, msg, msglen);
	if (err)
		goto out_release;
	if (sbi->bdev->bd_direct &&
	    (1024U << es.s_log_block_size) < sbi->bdev->bd_logical_block_size) {
		/* Blocks smaller than the device's O_DIRECT unit: every block
		 * must be addressable on its own, so use buffered host I/O. */
		if (sbi->bdev_borrowed) {
			set_msg(msg, msglen, "filesystem blocks (%u bytes) smaller than the "
				"device's logical block size (%u bytes)", 1024U << es.s_log_block_size,
				sbi->bdev->bd_logical_block_size);
			err = -EINVAL;
			goto out_release;
		}
		pc_bdev_detach_cache(sbi->bdev);
		pc_bdev_close(sbi->bdev);
		sbi->bdev = NULL;
		bflags |= PC_BDEV_NO_DIRECT;
		goto reopen;
	}
	if (recover)
		snprintf(sb->s_warning, sizeof(sb->s_warning), "%s: the journal needs recovery; "
			 "mounted read-only without replaying it (recent changes may be missing)",
			 source);

	err = pc_ext4_io_register(sbi->bdev, sbi->io_name, sizeof(sbi->io_name));
	if (err)
		goto out_release;
	flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP;
	if (!sbi->readonly)
		flags |= EXT2_FLAG_RW;
	ret = ext2fs_open2(sbi->io_name, NULL, flags, 0, 0, pc_ext4_io_manager, &fs);
	if (ret) {
		err = pc_ext4_errno(ret);
		if (err == -EIO && ret != EXT2_ET_SHORT_READ)
			err = -EUCLEAN;
		set_msg(msg, msglen, "libext2fs cannot open the filesystem: %s", error_message(ret));
		fs = NULL;
		goto out_release;
	}
	sbi->fs = fs;
	if (!sbi->readonly && ext2fs_has_feature_mmp(fs->super)) {
		err = ext4_mmp_peek(fs, source, msg, msglen);
		if (!err)
			err = check_clean(fs->super, opts && opts->force, msg, msglen);
		if (err)
			goto out_close_fs;
	}

	sbi->blocksize = fs->blocksize;
	sbi->blkbits = (unsigned)(__builtin_ctz(fs->blocksize));
	sbi->blocks_count = ext2fs_blocks_count(fs->super);
	sbi->first_data_block = fs->super->s_first_data_block;
	sbi->dev_blocks = sbi->bdev->bd_size >> sbi->blkbits;
	sbi->extents = ext2fs_has_feature_extents(fs->super);
	if (sbi->blocks_count > sbi->dev_blocks) {
		if (!sbi->readonly) {
			set_msg(msg, msglen, "the filesystem (%llu blocks) is larger than the device "
				"(%llu blocks): truncated image?",
				(unsigned long long)sbi->blocks_count,
				(unsigned long long)sbi->dev_blocks);
			err = -EINVAL;
			goto out_close_fs;
		}
		snprintf(sb->s_warning, sizeof(sb->s_warning), "%s: the filesystem is larger "
			 "than the device; blocks past the end read as errors", source);
	}
	if (sbi->bdev->bd_block_size != fs->blocksize) {
		err = pc_set_blocksize(sbi->bdev, fs->blocksize);
		if (err) {
			set_msg(msg, msglen, "cannot use block size %u on the device",
				fs->blocksize);
			goto out_close_fs;
		}
	}

	err = pc_ext4_build_zones(sbi);
	if (err)
		goto out_close_fs;
	if (!sbi->readonly) {
		/* Bitmaps and descriptors are written back at every sync: never
		 * with locations from corrupt descriptors. */
		const char *why = NULL;

		ret = ext2fs_check_desc(fs);
		if (ret)
			why = error_message(ret);
		for (dgrp_t g = 0; !why && ext2fs_has_group_desc_csum(fs) && g < fs->group_desc_count;
		     g++)
			if (!ext2fs_group_desc_csum_verify(fs, g))
				why = "bad group descriptor checksum";
		if (why) {
			err = -EUCLEAN;
			set_msg(msg, msglen, "corrupt group descriptors (%s): run e2fsck, or mount "
				"read-only", why);
			goto out_close_fs;
		}
		ret = ext2fs_read_bitmaps(fs);
		if (ret) {
			err = pc_ext4_errno(ret);
			set_msg(msg, msglen, "cannot read the allocation bitmaps: %s",
				error_message(ret));
			goto out_close_fs;
		}
		if (ext2fs_has_feature_mmp(fs->super)) {
			err = ext4_mmp_start(fs, msg, msglen);
			if (err)
				goto out_close_fs;
		}
		pc_ext4_deferred_init(sbi);
		/* Mark the filesystem in use until a clean unmount. */
		sbi->was_valid = fs->super->s_state & EXT2_VALID_FS;
		fs->super->s_state &= (uint16_t)~EXT2_VALID_FS;
		fs->super->s_mtime = (uint32_t)time(NULL);
		fs->super->s_mnt_count++;
		ext2fs_mark_super_dirty(fs);
		/* Nobody else can see the mount yet, but flush_locked's
		 * contract is the ext2fs lock (asserted in debug builds). */
		ma = pc_ext4_lock(sbi);
		ret = pc_ext4_flush_locked(sbi, 0);
		pc_ext4_unlock(sbi, ma);
		if (ret) {
			err = pc_ext4_errno(ret);
			set_msg(msg, msglen, "cannot write the superblock: %s", error_message(ret));
			goto out_close_fs;
		}
	}

	sb->s_fs_info = sbi;
	sb->s_op = &ext4_sops;
	pc_sb_set_blocksize(sb, fs->blocksize);	/* 1024..65536: cannot fail */
	sb->s_maxbytes = max_file_size(fs);
	sb->s_root_ino = EXT2_ROOT_INO;
	sb->s_bdev = sbi->bdev;
	sb->s_bdi = &sbi->bdev->bd_bdi;
	sb->s_readonly = sbi->readonly;
	sb->s_dio_align = sbi->bdev->bd_logical_block_size;
	return 0;

out_close_fs:
	pc_ext4_drop_last_block_hold(sbi);
	if (!sbi->readonly && sbi->was_valid) {
		fs->super->s_state |= EXT2_VALID_FS;
		ext2fs_mark_super_dirty(fs);
	} else {
		fs->flags &= ~EXT2_FLAG_DIRTY;
	}
	if (ext2fs_close2(fs, 0)) {
		/* the flush failed: close did not free it, nor stop MMP */
		if (fs->mmp_fd > 0)
			close(fs->mmp_fd);
		ext2fs_free(fs);
	}
	sbi->fs = NULL;
out_release:
	release_sbi(sbi);
	return err;
}

static const char *const ext4_aliases[] = { "ext3", "ext2", NULL };

PC_EXPORT const struct pc_fs_type pc_ext4_fs_type = {
	.name = "ext4",
	.fill_super = ext4_fill_super,
	.aliases = ext4_aliases,
};

/* Called once by the VFS registry (src/vfs/super.c) before its first use. */
int pc_ext4_register(void);
int pc_ext4_register(void)
{
	return pc_register_filesystem(&pc_ext4_fs_type);
}
