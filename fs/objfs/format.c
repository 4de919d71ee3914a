// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fs/objfs/format.c - objfs's objects, byte by byte, and mkfs.
 *
 * Every integer is little endian. Every length or count read back is
 * checked against the object's size before it is used, so a corrupt
 * object gives -EUCLEAN, never a long loop or a read past the buffer.
 *
 * objfs.super (OBJFS_SB_SIZE = 48 bytes):
 *    0  8  magic "OBJFS\0SB"
 *    8  4  version (1)
 *   12  4  record size (48)
 *   16  4  stripe unit      20 4 stripe count    24 4 object size
 *   28  4  flags (0)
 *   32  8  next free inode number (numbers below it may be in use)
 *   40  8  root inode number
 *
 * <ino>.inode (OBJFS_INODE_HDR = 88 bytes, then the symlink target):
 *    0  4  magic "OBJI"       4 2 version (2)     6 2 header size (88)
 *    8  8  inode number (must match the name)
 *   16  4  mode   20 4 uid   24 4 gid   28 4 nlink
 *   32  8  size (bytes)
 *   40  8  atime, 48 8 mtime, 56 8 ctime (ns since the epoch, signed)
 *   64  4  stripe unit   68 4 stripe count   72 4 object size
 *   76  4  symlink target length (0 unless a symlink; = size)
 *   80  8  max_size: no byte of the data objects lies at or past it
 *          (>= what any data write sent; docs/objfs.md "max_size")
 *   88  .. target bytes
 * Version 1 (80-byte header, no max_size, target at 80) is still read,
 * with max_size = size; it is rewritten as version 2 at its next write.
 *
 * <ino>.dir (OBJFS_DIR_HDR = 32 bytes, then the entries):
 *    0  4  magic "OBJD"       4 2 version (1)     6 2 header size (32)
 *    8  8  inode number (must match)
 *   16  8  parent inode number (the root: itself)
 *   24  4  entry count        28 4 reserved (0)
 *   32  .. entries: 8 ino, 1 type (DT_*), 1 name length (1..255), name
 * The whole object is rewritten on every change (write, then truncate to
 * the new length): bytes past the last entry are ignored.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "objfs_int.h"

static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void objfs_oid_inode(char *oid, uint64_t ino)
{
	snprintf(oid, OBJFS_OID_LEN, "%" PRIx64 ".inode", ino);
}

void objfs_oid_dir(char *oid, uint64_t ino)
{
	snprintf(oid, OBJFS_OID_LEN, "%" PRIx64 ".dir", ino);
}

void objfs_oid_data(char *oid, uint64_t ino, uint64_t objno)
{
	snprintf(oid, OBJFS_OID_LEN, "%" PRIx64 ".%08" PRIx64, ino, objno);
}

void objfs_encode_super(unsigned char *buf, const struct objfs_super_rec *r)
{
	memset(buf, 0, OBJFS_SB_SIZE);
	memcpy(buf, OBJFS_SB_MAGIC, 8);
	put32(buf + 8, OBJFS_SB_VERSION);
	put32(buf + 12, OBJFS_SB_SIZE);
	put32(buf + 16, r->layout.stripe_unit);
	put32(buf + 20, r->layout.stripe_count);
	put32(buf + 24, r->layout.object_size);
	put64(buf + 32, r->next_ino);
	put64(buf + 40, r->root_ino);
}

int objfs_decode_super(const unsigned char *buf, size_t len, struct objfs_super_rec *r,
		       char *why, size_t whylen)
{
	uint32_t version;

	if (len < 12 || memcmp(buf, OBJFS_SB_MAGIC, 8) != 0) {
		snprintf(why, whylen, "object %s is not an objfs superblock (bad magic)",
			 PC_OBJFS_SUPER_OID);
		return -EINVAL;
	}
	version = get32(buf + 8);
	if (version != OBJFS_SB_VERSION) {
		snprintf(why, whylen, "superblock version %" PRIu32 " (this library knows %u)",
			 version, OBJFS_SB_VERSION);
		return -EINVAL;
	}
	if (len < OBJFS_SB_SIZE || get32(buf + 12) != OBJFS_SB_SIZE) {
		snprintf(why, whylen, "superblock is %zu bytes, record size %" PRIu32 " (want %u)",
			 len, len >= 16 ? get32(buf + 12) : 0, OBJFS_SB_SIZE);
		return -EUCLEAN;
	}
	r->layout.stripe_unit = get32(buf + 16);
	r->layout.stripe_count = get32(buf + 20);
	r->layout.object_size = get32(buf + 24);
	r->next_ino = get64(buf + 32);
	r->root_ino = get64(buf + 40);
	if (pc_objfs_layout_valid(&r->layout)) {
		snprintf(why, whylen, "superblock layout is invalid (stripe unit %" PRIu32
			 ", count %" PRIu32 ", object size %" PRIu32 ")", r->layout.stripe_unit,
			 r->layout.stripe_count, r->layout.object_size);
		return -EUCLEAN;
	}
	if (get32(buf + 28) != 0) {
		snprintf(why, whylen, "superblock has unknown flags 0x%" PRIx32, get32(buf + 28));
		return -EUCLEAN;
	}
	if (r->root_ino == 0 || r->next_ino <= r->root_ino || r->next_ino > OBJFS_INO_MASK + 1) {
		snprintf(why, whylen, "superblock inode numbers are corrupt (root %" PRIu64
			 ", next %" PRIu64 ")", r->root_ino, r->next_ino);
		return -EUCLEAN;
	}
	return 0;
}

size_t objfs_encode_inode(unsigned char *buf, const struct objfs_inode_rec *r)
{
	memset(buf, 0, OBJFS_INODE_HDR);
	put32(buf, OBJFS_INODE_MAGIC);
	put16(buf + 4, OBJFS_INODE_VERSION);
	put16(buf + 6, OBJFS_INODE_HDR);
	put64(buf + 8, r->ino);
	put32(buf + 16, r->mode);
	put32(buf + 20, r->uid);
	put32(buf + 24, r->gid);
	put32(buf + 28, r->nlink);
	put64(buf + 32, r->size);
	put64(buf + 40, (uint64_t)r->atime_ns);
	put64(buf + 48, (uint64_t)r->mtime_ns);
	put64(buf + 56, (uint64_t)r->ctime_ns);
	put32(buf + 64, r->layout.stripe_unit);
	put32(buf + 68, r->layout.stripe_count);
	put32(buf + 72, r->layout.object_size);
	put32(buf + 76, r->target_len);
	put64(buf + 80, r->max_size);
	if (r->target_len)
		memcpy(buf + OBJFS_INODE_HDR, r->target, r->target_len);
	return OBJFS_INODE_HDR + r->target_len;
}

int objfs_decode_inode(const unsigned char *buf, size_t len, uint64_t ino,
		       struct objfs_inode_rec *r, char *why, size_t whylen)
{
	mode_t type;
	size_t hdr;

	if (len < OBJFS_INODE_HDR_V1 || get32(buf) != OBJFS_INODE_MAGIC) {
		snprintf(why, whylen, "inode %" PRIx64 ": object is %zu bytes, %s", ino, len,
			 len < 4 ? "too short" : "bad magic");
		return -EUCLEAN;
	}
	r->version = get16(buf + 4);
	hdr = r->version == 1 ? OBJFS_INODE_HDR_V1 : OBJFS_INODE_HDR;
	if ((r->version != 1 && r->version != OBJFS_INODE_VERSION) || get16(buf + 6) != hdr ||
	    len < hdr) {
		snprintf(why, whylen, "inode %" PRIx64 ": unknown version %u (header %u, %zu bytes;"
			 " this library reads versions 1 and %u)", ino, get16(buf + 4), get16(buf + 6),
			 len, OBJFS_INODE_VERSION);
		return -EUCLEAN;
	}
	r->ino = get64(buf + 8);
	r->mode = get32(buf + 16);
	r->uid = get32(buf + 20);
	r->gid = get32(buf + 24);
	r->nlink = get32(buf + 28);
	r->size = get64(buf + 32);
	r->atime_ns = (int64_t)get64(buf + 40);
	r->mtime_ns = (int64_t)get64(buf + 48);
	r->ctime_ns = (int64_t)get64(buf + 56);
	r->layout.stripe_unit = get32(buf + 64);
	r->layout.stripe_count = get32(buf + 68);
	r->layout.object_size = get32(buf + 72);
	r->target_len = get32(buf + 76);
	r->target = (const char *)buf + hdr;
	r->max_size = hdr > OBJFS_INODE_HDR_V1 ? get64(buf + 80) : r->size;
	type = r->mode & S_IFMT;
	if (r->ino != ino) {
		snprintf(why, whylen, "inode %" PRIx64 ": object holds inode %" PRIx64, ino, r->ino);
		return -EUCLEAN;
	}
	if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK) {
		snprintf(why, whylen, "inode %" PRIx64 ": bad mode 0%" PRIo32, ino, r->mode);
		return -EUCLEAN;
	}
	if (r->nlink == 0 || r->nlink > (1u << 30)) {
		snprintf(why, whylen, "inode %" PRIx64 ": bad link count %" PRIu32, ino, r->nlink);
		return -EUCLEAN;
	}
	if (pc_objfs_layout_valid(&r->layout)) {
		snprintf(why, whylen, "inode %" PRIx64 ": invalid layout", ino);
		return -EUCLEAN;
	}
	if (r->size > pc_objfs_max_bytes(&r->layout) || r->size > INT64_MAX) {
		snprintf(why, whylen, "inode %" PRIx64 ": size %" PRIu64 " too large", ino, r->size);
		return -EUCLEAN;
	}
	if (r->max_size > pc_objfs_max_bytes(&r->layout) || r->max_size > INT64_MAX) {
		snprintf(why, whylen, "inode %" PRIx64 ": max_size %" PRIu64 " too large", ino,
			 r->max_size);
		return -EUCLEAN;
	}
	if (type == S_IFLNK ? (r->target_len == 0 || r->target_len > OBJFS_SYMLINK_MAX ||
			       r->target_len != r->size ||
			       len < hdr + (size_t)r->target_len ||
			       memchr(r->target, '\0', r->target_len))
			    : r->target_len != 0) {
		snprintf(why, whylen, "inode %" PRIx64 ": bad symlink target length %" PRIu32, ino,
			 r->target_len);
		return -EUCLEAN;
	}
	return 0;
}

void objfs_encode_dir_hdr(unsigned char *buf, uint64_t ino, uint64_t parent, uint32_t count)
{
	memset(buf, 0, OBJFS_DIR_HDR);
	put32(buf, OBJFS_DIR_MAGIC);
	put16(buf + 4, OBJFS_DIR_VERSION);
	put16(buf + 6, OBJFS_DIR_HDR);
	put64(buf + 8, ino);
	put64(buf + 16, parent);
	put32(buf + 24, count);
}

size_t objfs_encode_dirent(unsigned char *buf, uint64_t ino, unsigned char type, const char *name,
			   size_t len)
{
	put64(buf, ino);
	buf[8] = type;
	buf[9] = (unsigned char)len;
	memcpy(buf + 10, name, len);
	return 10 + len;
}

int objfs_decode_dir(const unsigned char *buf, size_t len, uint64_t ino, uint64_t *parent,
		     int (*fn)(void *arg, const struct objfs_dirent_rec *e), void *arg,
		     char *why, size_t whylen)
{
	uint32_t count;
	size_t off = OBJFS_DIR_HDR;

	if (len < OBJFS_DIR_HDR || get32(buf) != OBJFS_DIR_MAGIC ||
	    get16(buf + 4) != OBJFS_DIR_VERSION || get16(buf + 6) != OBJFS_DIR_HDR) {
		snprintf(why, whylen, "directory %" PRIx64 ": bad header (%zu bytes)", ino, len);
		return -EUCLEAN;
	}
	if (get64(buf + 8) != ino) {
		snprintf(why, whylen, "directory %" PRIx64 ": object holds directory %" PRIx64, ino,
			 get64(buf + 8));
		return -EUCLEAN;
	}
	*parent = get64(buf + 16);
	count = get32(buf + 24);
	/* The count is bounded by what the object can hold: no loop longer
	 * than the bytes read. */
	if (*parent == 0 || *parent > OBJFS_INO_MASK ||
	    count > (len - OBJFS_DIR_HDR) / OBJFS_DIRENT_MIN) {
		snprintf(why, whylen, "directory %" PRIx64 ": %" PRIu32 " entries cannot fit in %zu bytes",
			 ino, count, len);
		return -EUCLEAN;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct objfs_dirent_rec e;
		int err;

		if (len - off < 10) {
			snprintf(why, whylen, "directory %" PRIx64 ": entry %" PRIu32 " truncated", ino, i);
			return -EUCLEAN;
		}
		e.ino = get64(buf + off);
		e.type = buf[off + 8];
		e.len = buf[off + 9];
		e.name = (const char *)buf + off + 10;
		if (e.len == 0 || len - off - 10 < e.len || e.ino == 0 || e.ino > OBJFS_INO_MASK ||
		    memchr(e.name, '/', e.len) || memchr(e.name, '\0', e.len) ||
		    (e.len == 1 && e.name[0] == '.') ||
		    (e.len == 2 && e.name[0] == '.' && e.name[1] == '.') ||
		    (e.type != DT_REG && e.type != DT_DIR && e.type != DT_LNK)) {
			snprintf(why, whylen, "directory %" PRIx64 ": entry %" PRIu32 " is corrupt", ino, i);
			return -EUCLEAN;
		}
		off += 10 + e.len;
		err = fn(arg, &e);
		if (err)
			return err;
	}
	return 0;
}

int objfs_put_object(struct pc_objstore *os, const struct pc_snap_context *snapc,
		     const char *oid, const void *buf, size_t len)
{
	return objfs_put_object_flags(os, snapc, oid, buf, len, 0);
}

int objfs_put_object_flags(struct pc_objstore *os, const struct pc_snap_context *snapc,
			   const char *oid, const void *buf, size_t len, unsigned flags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct pc_obj_req req = {
		.op = PC_OBJ_WRITE, .oid = oid, .off = 0, .len = len, .iov = &iov, .iovcnt = 1,
		.snapc = snapc, .flags = flags,
	};
	int64_t r = pc_objstore_exec(os, &req);

	if (r < 0)
		return (int)r;
	req = (struct pc_obj_req){ .op = PC_OBJ_TRUNCATE, .oid = oid, .off = len, .snapc = snapc,
				   .flags = flags };
	r = pc_objstore_exec(os, &req);
	return r < 0 ? (int)r : 0;
}

#define OBJFS_MKFS_ROOT 1

PC_EXPORT int pc_objfs_mkfs(struct pc_objstore *os, const struct pc_objfs_layout *layout,
			    char *msg, size_t msglen)
{
	static const struct pc_objfs_layout def = {
		PC_OBJFS_DEFAULT_STRIPE_UNIT, PC_OBJFS_DEFAULT_STRIPE_COUNT,
		PC_OBJFS_DEFAULT_OBJECT_SIZE,
	};
	struct objfs_super_rec sr;
	struct objfs_inode_rec ir = { 0 };
	unsigned char sbuf[OBJFS_SB_SIZE], ibuf[OBJFS_INODE_HDR], dbuf[OBJFS_DIR_HDR];
	char oid[OBJFS_OID_LEN], dummy[1];
	struct pc_obj_req req = { .op = PC_OBJ_STAT, .oid = PC_OBJFS_SUPER_OID,
				  .snapid = PC_SNAP_HEAD };
	struct timespec now;
	int64_t r;
	int err;

	if (!msg) {
		msg = dummy;
		msglen = sizeof(dummy);
	}
	msg[0] = '\0';
	if (!layout)
		layout = &def;
	if (!os || !os->ops || !os->ops->submit) {
		snprintf(msg, msglen, "objfs mkfs: no object store");
		return -EINVAL;
	}
	if (pc_objfs_layout_valid(layout)) {
		snprintf(msg, msglen, "objfs mkfs: invalid layout (stripe unit %u, count %u, object size %u:"
			 " all nonzero, the unit a multiple of 4096 dividing the object size)",
			 layout->stripe_unit, layout->stripe_count, layout->object_size);
		return -EINVAL;
	}
	if (os->max_object_size && layout->object_size > os->max_object_size) {
		snprintf(msg, msglen, "objfs mkfs: object size %u is larger than the store allows (%llu)",
			 layout->object_size, (unsigned long long)os->max_object_size);
		return -EINVAL;
	}
	r = pc_objstore_exec(os, &req);
	if (r == 0) {
		snprintf(msg, msglen, "objfs mkfs: %s already holds a filesystem (%s exists)", os->name,
			 PC_OBJFS_SUPER_OID);
		return -EEXIST;
	}
	if (r != -ENOENT) {
		snprintf(msg, msglen, "objfs mkfs: cannot stat %s: %s", PC_OBJFS_SUPER_OID,
			 strerror((int)-r));
		return (int)r;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	ir.ino = OBJFS_MKFS_ROOT;
	ir.mode = S_IFDIR | 0755;
	ir.uid = (uint32_t)geteuid();
	ir.gid = (uint32_t)getegid();
	ir.nlink = 2;
	ir.atime_ns = ir.mtime_ns = ir.ctime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	ir.layout = *layout;
	objfs_encode_inode(ibuf, &ir);
	objfs_oid_inode(oid, OBJFS_MKFS_ROOT);
	err = objfs_put_object(os, NULL, oid, ibuf, sizeof(ibuf));
	if (!err) {
		objfs_encode_dir_hdr(dbuf, OBJFS_MKFS_ROOT, OBJFS_MKFS_ROOT, 0);
		objfs_oid_dir(oid, OBJFS_MKFS_ROOT);
		err = objfs_put_object(os, NULL, oid, dbuf, sizeof(dbuf));
	}
	if (!err) {
		/* The superblock last: a store without it is no filesystem. */
		sr.layout = *layout;
		sr.root_ino = OBJFS_MKFS_ROOT;
		sr.next_ino = OBJFS_MKFS_ROOT + 1;
		objfs_encode_super(sbuf, &sr);
		err = objfs_put_object(os, NULL, PC_OBJFS_SUPER_OID, sbuf, sizeof(sbuf));
	}
	if (!err && os->ops->flush)
		err = os->ops->flush(os);
	if (err)
		snprintf(msg, msglen, "objfs mkfs: writing to %s: %s", os->name, strerror(-err));
	return err;
}
