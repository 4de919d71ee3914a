/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/objfs.h - objfs, a filesystem striped over the objects of a
 * struct pc_objstore (objstore.h), as CephFS lays files over RADOS.
 *
 * objfs is built only on the filesystem author's API (fs.h); this header is
 * what an application needs beyond pagecache.h: making an empty
 * filesystem (pc_objfs_mkfs) and the striping arithmetic, exported so
 * tools and tests can find the object that holds a byte of a file.
 *
 * Mounting: pc_mount("objfs", SOURCE, &opts, &m). With
 * opts.objstore set, that store is used and SOURCE is only a label for
 * messages (the mount borrows the store: the caller closes it after
 * pc_umount). Otherwise SOURCE names a store: a host directory (the
 * embedded store) or "rados:POOL"; see pc_mount_opts.objstore.
 *
 * Objects of one filesystem (all in the same store, all written with the
 * mount's current snap context):
 *   objfs.super            the superblock: magic, version, default layout,
 *                          next free inode number, root inode number;
 *   <ino>.inode            one per inode: mode, owner, nlink, size, times,
 *                          layout, symlink target;
 *   <ino>.dir              one per directory: its entries (name -> ino,
 *                          type) and its parent;
 *   <ino>.<objno>          file data: <ino> in lowercase hex, <objno> as 8
 *                          lowercase hex digits (CephFS's names);
 *   objfs.snaps.a/.b       the snapshot table (names -> snap ids), see
 *                          docs/objfs.md "Snapshots".
 *
 * Snapshots: pc_mkdir(m, "/.snap/NAME") takes one, pc_rmdir removes it,
 * "/.snap/NAME/..." and "DIR/.snap/NAME/..." read it (read-only).
 * The formats are described in fs/objfs/format.c.
 */
#ifndef PAGECACHE_OBJFS_H
#define PAGECACHE_OBJFS_H

#include "compiler.h"
#include "objstore.h"
#include <stddef.h>
#include <stdint.h>

/* Default layout: 4 MiB stripe unit, one stripe, 4 MiB objects (CephFS's). */
#define PC_OBJFS_DEFAULT_STRIPE_UNIT (4u << 20)
#define PC_OBJFS_DEFAULT_STRIPE_COUNT 1u
#define PC_OBJFS_DEFAULT_OBJECT_SIZE (4u << 20)

/* Name of the superblock object. */
#define PC_OBJFS_SUPER_OID "objfs.super"

/*
 * struct pc_objfs_layout - how a file's bytes map onto objects (Ceph's
 * struct ceph_file_layout, the parts that decide the mapping).
 * @stripe_unit:  bytes written to one object before moving to the next
 *                object of the stripe.
 * @stripe_count: objects a stripe spans.
 * @object_size:  bytes of one object; a multiple of @stripe_unit.
 * Valid (pc_objfs_layout_valid): all three nonzero, @stripe_unit a
 * multiple of 4096 (a page never spans two objects), @stripe_unit divides
 * @object_size, @object_size at most 1 GiB, @stripe_count at most 65536.
 */
struct pc_objfs_layout {
	uint32_t stripe_unit;
	uint32_t stripe_count;
	uint32_t object_size;
};

/* pc_objfs_layout_valid - 0 if @l is valid (above), else -EINVAL. */
PC_EXPORT int pc_objfs_layout_valid(const struct pc_objfs_layout *l);

/*
 * pc_objfs_file_to_object - where file byte @off lives (Linux's
 * ceph_calc_file_object_mapping, Ceph's Striper::file_to_extents for one
 * extent): object number *@objno, byte offset *@objoff in it. Returns how
 * many bytes from @off on (at most @len) continue contiguously in that
 * object (the rest of the stripe unit). @l must be valid.
 */
PC_EXPORT uint64_t pc_objfs_file_to_object(const struct pc_objfs_layout *l, uint64_t off,
					   uint64_t len, uint64_t *objno, uint64_t *objoff);

/*
 * pc_objfs_object_size_for - the size object @objno has when the file is
 * @file_size bytes long and fully written (Ceph's
 * Striper::object_truncate_size): 0 when no byte below @file_size maps to
 * it, @l->object_size when every byte of it is below @file_size. @l must be
 * valid.
 */
PC_EXPORT uint64_t pc_objfs_object_size_for(const struct pc_objfs_layout *l, uint64_t objno,
					    uint64_t file_size);

/*
 * pc_objfs_max_bytes - the largest file size @l can address with object
 * numbers of 8 hex digits (at most 2^62). @l must be valid.
 */
PC_EXPORT uint64_t pc_objfs_max_bytes(const struct pc_objfs_layout *l);

/*
 * pc_objfs_mkfs - make an empty objfs on @os: the superblock object and a
 * root directory (inode and directory objects), written with the empty
 * snap context and flushed (pc_objstore_ops.flush).
 * @layout: the default layout of new files; NULL: 4 MiB, 1, 4 MiB.
 * @msg/@msglen: a one-line reason on failure (may be NULL).
 * Objects already in the store are not removed: an existing superblock is
 * refused with -EEXIST (make a new store, or remove its objects first).
 * Sleeps (synchronous object I/O). Errors: -EINVAL (bad layout, @os NULL),
 * -EEXIST, or the store's error (-EIO, -ENOSPC, -ETIMEDOUT...).
 */
PC_EXPORT int pc_objfs_mkfs(struct pc_objstore *os, const struct pc_objfs_layout *layout,
			    char *msg, size_t msglen);

/*
 * The filesystem type, built into the library and registered as "objfs"
 * like ramfs and ext4 (see vfs.h).
 */
struct pc_fs_type;
PC_EXPORT extern const struct pc_fs_type pc_objfs_fs_type;

#endif /* PAGECACHE_OBJFS_H */
