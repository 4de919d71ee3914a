/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/objstore_mem.h - a small in-memory object store for tests
 * (objstore.h's table): read, write, zero, truncate, remove, stat;
 * snapshots ignored (snap_create/snap_remove not provided). Requests run
 * on one worker thread in submission order and complete from it, so
 * callers' asynchronous paths run as with a real backend. A fault mode
 * fails the Nth write with -EIO.
 */
#ifndef TESTS_OBJSTORE_MEM_H
#define TESTS_OBJSTORE_MEM_H

#include <stddef.h>
#include <pagecache/objstore.h>

/* A new empty store (NULL on ENOMEM). Close with pc_objstore_close. */
struct pc_objstore *objstore_mem_create(void);
/* Objects whose name starts with @prefix (NULL or "": all). */
size_t objstore_mem_count(struct pc_objstore *os, const char *prefix);
/* Print the object names and sizes to stderr (test diagnostics). */
void objstore_mem_dump(struct pc_objstore *os);
/* The @n-th WRITE request from now (1: the next) fails with -EIO; 0: off. */
void objstore_mem_fail_write(struct pc_objstore *os, long n);
/* Statistics: WRITE requests and the largest WRITE seen (bytes); reset. */
void objstore_mem_write_stats(struct pc_objstore *os, long *writes, uint64_t *max_len);
void objstore_mem_reset_stats(struct pc_objstore *os);
/* Set the store's max_write_size (bytes; a larger WRITE fails -EMSGSIZE). */
void objstore_mem_set_max_write(struct pc_objstore *os, uint64_t bytes);
/* READ requests since the last reset. */
long objstore_mem_reads(struct pc_objstore *os);
/* WRITE requests with PC_OBJ_F_SYNC to objects named "*.inode" since the
 * last reset (objfs's max_size raises). */
long objstore_mem_sync_inode_writes(struct pc_objstore *os);

#endif
