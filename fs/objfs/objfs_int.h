/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs/objfs/objfs_int.h - objfs's private declarations (not installed).
 */
#ifndef OBJFS_INT_H
#define OBJFS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <pagecache/fs.h>
#include <pagecache/objfs.h>

#define OBJFS_NAME_MAX 255
#define OBJFS_SYMLINK_MAX 4095
/* Inode numbers reserved per superblock write (see objfs_alloc_ino). */
#define OBJFS_INO_BATCH 1024
/* Largest directory object objfs loads (a corrupt size is refused). */
#define OBJFS_DIR_OBJ_MAX (64u << 20)
/* O_DIRECT alignment of offsets, lengths and buffers (bytes). */
#define OBJFS_DIO_ALIGN 512

/*
 * Snapshot inode numbers: objfs inode numbers are below 2^40; a VFS
 * inode number carries a slot in bits 40..62: 0 for the live tree (the
 * head), OBJFS_SLOT_SNAPDIR for the virtual ".snap" directory of inode
 * <ino>, any other value for inode <ino> as snapshot <slot> has it.
 */
#define OBJFS_INO_BITS 40
#define OBJFS_INO_MASK ((UINT64_C(1) << OBJFS_INO_BITS) - 1)
#define OBJFS_SLOT_SNAPDIR ((UINT64_C(1) << 23) - 1)
#define OBJFS_VINO(slot, ino) (((uint64_t)(slot) << OBJFS_INO_BITS) | (ino))
#define OBJFS_SLOT(vino) ((vino) >> OBJFS_INO_BITS)
#define OBJFS_SNAPNAME_MAX 64
#define OBJFS_SNAPS_OID "objfs.snaps"

/* ---- on-store formats (format.c) ---- */

#define OBJFS_SB_MAGIC "OBJFS\0SB"
#define OBJFS_SB_VERSION 1u
#define OBJFS_SB_SIZE 48u

#define OBJFS_INODE_MAGIC 0x494a424fu	/* "OBJI" little endian */
/* Version 2 adds max_size (the bound on data in the objects, see
 * docs/objfs.md); version 1 objects (80-byte header) are still read. */
#define OBJFS_INODE_VERSION 2u
#define OBJFS_INODE_HDR 88u
#define OBJFS_INODE_HDR_V1 80u

#define OBJFS_DIR_MAGIC 0x444a424fu	/* "OBJD" */
#define OBJFS_DIR_VERSION 1u
#define OBJFS_DIR_HDR 32u
#define OBJFS_DIRENT_MIN 11u		/* u64 ino, u8 type, u8 len, >= 1 name byte */

struct objfs_super_rec {
	struct pc_objfs_layout layout;
	uint64_t next_ino;
	uint64_t root_ino;
};

struct objfs_inode_rec {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	int64_t atime_ns, mtime_ns, ctime_ns;
	struct pc_objfs_layout layout;
	uint32_t target_len;
	const char *target;		/* decode: points into the buffer */
	/* Version 2: every byte the data objects may hold lies below
	 * max_size (decode of a version 1 object: = size). */
	uint64_t max_size;
	uint16_t version;		/* decode: the version read */
};

/* A decoded directory entry (decode: name points into the buffer). */
struct objfs_dirent_rec {
	uint64_t ino;
	unsigned char type;
	unsigned char len;
	const char *name;
};

void objfs_encode_super(unsigned char *buf, const struct objfs_super_rec *r);
/* 0, -EINVAL (not objfs / unknown version), -EUCLEAN (corrupt); @why filled. */
int objfs_decode_super(const unsigned char *buf, size_t len, struct objfs_super_rec *r,
		       char *why, size_t whylen);
/* Returns the encoded length (OBJFS_INODE_HDR + target_len). */
size_t objfs_encode_inode(unsigned char *buf, const struct objfs_inode_rec *r);
/* 0 or -EUCLEAN with @why filled. */
int objfs_decode_inode(const unsigned char *buf, size_t len, uint64_t ino,
		       struct objfs_inode_rec *r, char *why, size_t whylen);
/* Directory header; the entries follow (objfs_encode_dirent). */
void objfs_encode_dir_hdr(unsigned char *buf, uint64_t ino, uint64_t parent, uint32_t count);
size_t objfs_encode_dirent(unsigned char *buf, uint64_t ino, unsigned char type, const char *name,
			   size_t len);
/*
 * Check a directory object and call @fn for each entry (stops at a
 * nonzero return, which it returns). 0, -EUCLEAN (@why filled).
 */
int objfs_decode_dir(const unsigned char *buf, size_t len, uint64_t ino, uint64_t *parent,
		     int (*fn)(void *arg, const struct objfs_dirent_rec *e), void *arg,
		     char *why, size_t whylen);

/* Object names. */
void objfs_oid_inode(char *oid, uint64_t ino);
void objfs_oid_dir(char *oid, uint64_t ino);
void objfs_oid_data(char *oid, uint64_t ino, uint64_t objno);

#define OBJFS_OID_LEN 48

/* Synchronous object I/O with the empty context (mkfs). */
int objfs_put_object(struct pc_objstore *os, const struct pc_snap_context *snapc,
		     const char *oid, const void *buf, size_t len);
/* The same with request flags (PC_OBJ_F_SYNC: durable when it returns). */
int objfs_put_object_flags(struct pc_objstore *os, const struct pc_snap_context *snapc,
			   const char *oid, const void *buf, size_t len, unsigned flags);

/* ---- in-memory state (objfs.c, dir.c, file.c) ---- */

struct objfs_sb {
	struct pc_objstore *os;
	/* Asynchronous requests (reads, writeback) whose completion has not
	 * returned yet: put_super waits for none, so no completion touches a
	 * page after the cache is gone. Under io_lock. */
	pthread_mutex_t io_lock;
	pthread_cond_t io_cond;
	long io_inflight;
	bool own_os;			/* opened from the source string: closed at umount */
	bool locked;
	char cookie[64];
	struct pc_backing_dev bdi;
	bool bdi_up;
	struct pc_objfs_layout layout;	/* default for new files */
	uint64_t root_ino;
	uint64_t wsize;			/* bytes per data write */
	uint64_t rsize;			/* bytes per readahead request */
	pthread_mutex_t ino_lock;
	uint64_t next_ino, reserved_end;
	/* Snapshots (snap.c): the realm holds the current write context.
	 * snap_rwsem (writer-preferring) is held shared by every metadata
	 * object write (namespace changes, write_inode, setattr, eviction)
	 * and exclusive by snapshot creation and removal, so a snapshot
	 * never falls inside a metadata change and dirty metadata is written
	 * with the old context before any write with the new one. */
	struct pc_snap_realm realm;
	bool realm_up;
	pthread_rwlock_t snap_rwsem;
	pthread_mutex_t inodes_lock;	/* guards @inodes */
	struct pc_list_head inodes;	/* head inodes (objfs_inode.sb_item) */
	struct objfs_snap *snaps;	/* the table, under snap_rwsem */
	unsigned nr_snaps, snaps_cap;
	uint64_t snaps_gen;		/* generation of the table last written */
	uint64_t next_slot;		/* slots handed out (never reused) */
};

/* One snapshot: its name, the store's snap id, and the slot that its
 * inodes' VFS inode numbers carry (OBJFS_VINO). */
struct objfs_snap {
	char name[OBJFS_SNAPNAME_MAX + 1];
	uint64_t snapid;
	uint64_t slot;
};

struct objfs_dirent {
	struct pc_list_head list;
	struct objfs_dirent *hnext;
	uint64_t ino;
	loff_t cookie;
	uint32_t hash;
	unsigned char type;
	unsigned char len;
	char name[];
};

struct objfs_dir {
	struct pc_list_head entries;
	struct objfs_dirent **buckets;
	size_t nbuckets, count;
	loff_t next_cookie;
	uint64_t parent;
	size_t bytes;			/* encoded size of the entries */
};

struct objfs_inode {
	struct pc_inode vfs;
	uint64_t ino;			/* objfs inode number (names the objects) */
	uint64_t snapid;		/* PC_SNAP_HEAD, or the snapshot read */
	uint64_t slot;			/* OBJFS_SLOT(i_ino) */
	bool si_live;			/* @si initialised (head regular files) */
	bool on_sb_list;
	struct pc_list_head sb_item;	/* objfs_sb.inodes (head inodes) */
	struct pc_snap_inode si;
	unsigned char last_rec[OBJFS_INODE_HDR];	/* the header last written (snapshots
					 * write only inodes whose record changed) */
	bool last_valid;
	struct pc_objfs_layout layout;
	pthread_mutex_t meta_lock;
	char *target;			/* symlinks */
	struct objfs_dir dir;		/* directories (buckets NULL otherwise) */
	/* Head regular files: no data byte of the objects lies at or past
	 * max_size (raised durably before a write could send data past it,
	 * lowered after truncate cut the objects). dirty_tail: objects in
	 * [i_size, max_size) may hold bytes (read from the store with
	 * max_size > size: a crash lost a size change); cleared once they
	 * are cut. Both under i_rwsem (the VFS's inode lock) and meta_lock
	 * (store_inode reads max_size). */
	uint64_t max_size;
	bool dirty_tail;
	uint64_t max_size_raises;	/* durable raises (statistics, tests) */
};

static inline struct objfs_inode *OBJFS_I(struct pc_inode *inode)
{
	return pc_container_of(inode, struct objfs_inode, vfs);
}

static inline struct objfs_sb *OBJFS_SB(struct pc_super_block *sb)
{
	return sb->s_fs_info;
}

extern const struct pc_inode_operations objfs_dir_iops, objfs_file_iops, objfs_symlink_iops;
extern const struct pc_file_operations objfs_file_fops, objfs_dir_fops;
extern const struct pc_address_space_operations objfs_aops;

/* objfs.c: object I/O with the mount's context, inode objects, inodes. */
struct pc_snap_context *objfs_get_snapc(struct objfs_sb *sbi);
int objfs_obj_op_ctx(struct objfs_sb *sbi, enum pc_obj_op op, const char *oid, uint64_t off,
		     const struct pc_snap_context *sc);
int objfs_stat_at(struct objfs_sb *sbi, uint64_t snapid, const char *oid, uint64_t *size);
int objfs_read_at(struct objfs_sb *sbi, uint64_t snapid, const char *oid, uint64_t off, void *buf,
		  size_t len, size_t *got);
int objfs_store_inode_ctx(struct pc_inode *inode, const struct pc_snap_context *sc,
			  const int64_t *size, const struct timespec *mtime);
static inline void objfs_meta_lock(struct objfs_sb *sbi) { pthread_rwlock_rdlock(&sbi->snap_rwsem); }
static inline void objfs_meta_unlock(struct objfs_sb *sbi) { pthread_rwlock_unlock(&sbi->snap_rwsem); }
static inline bool objfs_is_head(struct pc_inode *inode) { return OBJFS_SLOT(inode->i_ino) == 0; }
int objfs_put(struct objfs_sb *sbi, const char *oid, const void *buf, size_t len);
int objfs_obj_op(struct objfs_sb *sbi, enum pc_obj_op op, const char *oid, uint64_t off);
int objfs_stat(struct objfs_sb *sbi, const char *oid, uint64_t *size);
int objfs_read(struct objfs_sb *sbi, const char *oid, uint64_t off, void *buf, size_t len,
	       size_t *got);
void objfs_touch(struct pc_inode *inode, unsigned which);
int objfs_store_inode_cond(struct pc_inode *inode, bool if_linked);
int objfs_store_inode(struct pc_inode *inode);
int objfs_store_inode_cond_sync(struct pc_inode *inode);
void objfs_nlink(struct pc_inode *inode, int delta, bool zero);
void objfs_set_ops(struct pc_inode *inode);
void objfs_inode_live(struct pc_inode *inode);
int objfs_alloc_ino(struct objfs_sb *sbi, uint64_t *ino);

/* dir.c */
int objfs_dir_init(struct objfs_dir *d, uint64_t parent);
void objfs_dir_free(struct objfs_dir *d);
int objfs_load_dir(struct pc_inode *inode);
int objfs_iterate(struct pc_file *file, struct pc_dir_context *ctx);
uint64_t objfs_dir_parent_vino(struct pc_inode *dir);

/* snap.c: snapshots, .snap directories, the snaps table */
extern const struct pc_inode_operations objfs_snapdir_iops, objfs_snap_dir_iops,
	objfs_snap_file_iops, objfs_snap_symlink_iops;
extern const struct pc_file_operations objfs_snapdir_fops, objfs_snap_dir_fops;
int objfs_snaps_load(struct objfs_sb *sbi, char *msg, size_t msglen);
void objfs_snaps_free(struct objfs_sb *sbi);
/* The snapshot whose slot is @slot, or NULL (snap_rwsem held, any mode). */
struct objfs_snap *objfs_snap_by_slot(struct objfs_sb *sbi, uint64_t slot);
int objfs_read_snapdir_inode(struct pc_inode *inode);

/* file.c */
extern const struct pc_snap_inode_ops objfs_snap_ops;
extern const struct pc_address_space_operations objfs_snap_aops;
extern const struct pc_file_operations objfs_snapfile_fops;
int objfs_truncate_objects_ctx(struct pc_inode *inode, uint64_t old_size, uint64_t new_size,
			       const struct pc_snap_context *sc);
int objfs_truncate_objects(struct pc_inode *inode, uint64_t old_size, uint64_t new_size);
int objfs_remove_data(struct pc_inode *inode, uint64_t size);
int objfs_setattr(struct pc_inode *inode, const struct pc_iattr *attr);
int objfs_clean_tail(struct pc_inode *inode, const struct pc_snap_context *sc);
int objfs_raise_max_size(struct pc_inode *inode, uint64_t end);

/* In-flight asynchronous store requests of a mount (objfs.c). */
void objfs_io_begin(struct objfs_sb *sbi);
void objfs_io_end(struct objfs_sb *sbi);

#endif
