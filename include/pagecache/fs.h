/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/fs.h - the API for filesystem authors.
 *
 * An application includes <pagecache/pagecache.h> (mount, open, pread...).
 * A filesystem author includes this header, which pulls in every layer a
 * filesystem builds on:
 *   vfs.h          super_block, inode, file; the super/inode/file
 *                  operations tables; the inode cache (pc_iget,
 *                  pc_iget_locked/pc_unlock_new_inode, pc_new_inode,
 *                  pc_iput), generic fsync/llseek/setattr;
 *   filemap.h      the address_space and its operations table, the generic
 *                  read/write paths (pc_generic_file_read_iter,
 *                  pc_generic_perform_write), simple_write_begin/end,
 *                  truncate, placeholders;
 *   buffer_head.h  buffer heads, get_block, pc_block_write_begin/end,
 *                  block_read_full_page, block_write_full_page;
 *   mpage.h        pc_mpage_readahead, pc_mpage_writepages;
 *   direct-io.h    pc_blockdev_direct_IO with placeholders;
 *   writeback.h    writeback_control, the backing device (flusher),
 *                  marking inodes dirty;
 *   blkdev.h       the block device, bios;
 *   snap.h         snapshot contexts, for filesystems on object stores;
 *   objstore.h     the object store interface and its backends;
 *   mm.h, iov_iter.h, errseq.h, list.h, compiler.h (through the above);
 *   pagecache.h    struct pc_mount_opts (fill_super's argument) and
 *                  struct pc_statfs (s_op->statfs).
 * The locking of every operations table is in docs/locking.md.
 *
 * Writing a filesystem (Linux's Documentation/filesystems/vfs.rst is the
 * model):
 *   1. Define a const struct pc_fs_type with a name and fill_super, and
 *      register it with pc_register_filesystem(). From then on
 *      pc_mount("yourname", source, opts, &m) mounts it.
 *   2. fill_super sets s_op, the block size (pc_sb_set_blocksize),
 *      s_maxbytes, s_root_ino, s_bdi (a backing device: the block device's
 *      bd_bdi, or one of its own from pc_bdi_init), s_bdev if it has one,
 *      and s_fs_info for its private data (vfs.h states its lifetime).
 *   3. Inodes: s_op->alloc_inode returns a zeroed struct that embeds
 *      struct pc_inode (or NULL op: a bare one); the VFS initialises every
 *      generic field. s_op->read_inode fills an inode being looked up; a
 *      filesystem creating a file uses pc_new_inode(); one that looks up
 *      inodes itself uses pc_iget_locked() + pc_unlock_new_inode() (or
 *      pc_iget_failed()). Set the operations with pc_inode_set_ops().
 *   4. Files: the VFS creates and sets up struct pc_file (f_ra, f_wb_err,
 *      f_pos_lock) before f_op->open; the filesystem only reads it, and
 *      may use private_data.
 *   5. Never initialise, destroy or take by hand a generic lock or list
 *      (i_rwsem through pc_inode_lock*, i_lock only inside the helpers,
 *      s_inode_lock, the inode lists): the helpers do.
 *
 * Names: every name a public header defines starts with pc_, PC_ or
 * pagecache_ (checked by scripts/check-header-names.py, a meson test).
 * A name taken from Linux keeps its Linux spelling after the prefix, so
 * that the kernel's documentation reads across: functions and types get
 * pc_ (pc_PageDirty, pc_SetPageUptodate, pc_TestClearPageWriteback,
 * pc_buffer_mapped, pc_set_buffer_new, pc_pgoff_t, pc_sector_t), enum
 * constants and macros get PC_ (PC_PG_dirty, PC_BH_Uptodate), and a
 * Linux name with leading underscores keeps them after the prefix
 * (pc___block_write_begin, pc___list_add).
 */
#ifndef PAGECACHE_FS_H
#define PAGECACHE_FS_H

#include "compiler.h"
#include "list.h"
#include "mm.h"
#include "errseq.h"
#include "iov_iter.h"
#include "filemap.h"
#include "writeback.h"
#include "blkdev.h"
#include "snap.h"
#include "objstore.h"
#include "buffer_head.h"
#include "mpage.h"
#include "direct-io.h"
#include "vfs.h"
#include "pagecache.h"

/*
 * pc_register_filesystem - make @type mountable by its name and aliases
 * (Linux's register_filesystem).
 * @type: the filesystem type; see struct pc_fs_type (vfs.h) for its
 *        members. It is NOT copied: it, its name strings and its alias
 *        array must stay valid and unchanged until a successful
 *        pc_unregister_filesystem(@type).
 *
 * Thread-safe: may be called from any thread at any time, concurrently
 * with pc_mount() and other (un)registrations (a process-wide rwlock
 * protects the list; no lock of the caller's is needed or taken). The
 * built-in types ("ramfs", and "ext4" with aliases "ext3" and "ext2" when
 * the library has libext2fs) are registered through this same call
 * before the first registration, unregistration or mount runs, so they
 * hold their names first.
 *
 * Return: 0, or
 *   -EINVAL  @type is NULL, has no fill_super, or a name or alias is
 *            empty, longer than PC_FS_TYPE_NAME_MAX, holds a blank, a
 *            control character or '/', or repeats another of its names;
 *   -EEXIST  @type is already registered, or one of its names or aliases
 *            is already taken by a registered type;
 *   -ENOMEM  no memory for the registry entry.
 */
PC_EXPORT int pc_register_filesystem(const struct pc_fs_type *type);

/*
 * pc_unregister_filesystem - forget @type (Linux's unregister_filesystem).
 * After it returns 0, pc_mount() no longer finds its names (-ENODEV) and
 * the caller may free or change @type. Thread-safe like
 * pc_register_filesystem().
 *
 * Return: 0, or
 *   -EINVAL  @type is NULL;
 *   -ENOENT  @type is not registered (the pointer is compared, not the
 *            name);
 *   -EBUSY   a mount of @type is alive (or being made): unmount it first.
 *            A mount counts from when pc_mount() finds the type until
 *            pc_umount() returns, or pc_mount() fails.
 */
PC_EXPORT int pc_unregister_filesystem(const struct pc_fs_type *type);

#endif /* PAGECACHE_FS_H */
