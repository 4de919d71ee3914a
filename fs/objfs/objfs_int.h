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

/* ---- on-store formats (format.c) ---- */

#define OBJFS_SB_MAGIC "OBJFS\0SB"
#define OBJFS_SB_VERSION 1u
#define OBJFS_SB_SIZE 48u

#define OBJFS_INODE_MAGIC 0x494a424fu	/* "OBJI" little endian */
#define OBJFS_INODE_VERSION 1u
#define OBJFS_INODE_HDR 80u

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

#endif
