/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_vfs_internal.c - the inode cache on a bare super_block.
 *
 * A test of internals: it builds a super_block by hand and calls
 * pc_vfs_inode_hash_init/destroy and pc_vfs_evict_all (src/vfs/vfs_internal.h),
 * which the shared library does not export, so this one program links the
 * static library (meson.build: pagecache_static_dep). Everything else in
 * tests/unit links the shared library.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pagecache/pagecache.h>
#include <pagecache/vfs.h>
#include <pagecache/mm.h>
#include "src/vfs/vfs_internal.h"

#define PAGE 4096
/* ---- the inode cache on a bare super_block ---- */

static struct {
	_Atomic int reads, evicts, destroys;
	_Atomic int fail;
} fk;

static int fake_read_inode(struct pc_inode *inode)
{
	atomic_fetch_add(&fk.reads, 1);
	usleep(30000);		/* long enough for the other threads to pile up */
	if (atomic_load(&fk.fail))
		return -EIO;
	inode->i_mode = S_IFREG | 0644;
	inode->i_nlink = 1;
	pc_i_size_write(inode, (loff_t)inode->i_ino * 10);
	return 0;
}

static void fake_evict_inode(struct pc_inode *inode)
{
	atomic_fetch_add(&fk.evicts, 1);
	pc_truncate_inode_pages(&inode->i_data, 0);
}

static void fake_destroy_inode(struct pc_inode *inode)
{
	atomic_fetch_add(&fk.destroys, 1);
	free(inode);
}

static const struct pc_super_operations fake_sops = {
	.read_inode = fake_read_inode,
	.evict_inode = fake_evict_inode,
	.destroy_inode = fake_destroy_inode,
};

struct iget_arg {
	struct pc_super_block *sb;
	uint64_t ino;
	struct pc_inode *out;
	int err;
};

static void *iget_thread(void *p)
{
	struct iget_arg *a = p;

	a->err = pc_iget(a->sb, a->ino, &a->out);
	return NULL;
}

static void test_inode_cache(void **state)
{
	struct pc_cache_params params = { .size_bytes = 64 * PAGE };
	struct pc_mount *m = calloc(1, sizeof(*m));
	struct pc_super_block *sb = &m->sb;
	struct iget_arg a[4];
	pthread_t th[4];
	struct pc_inode *inode, *again;

	(void)state;
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&sb->s_inode_lock, NULL);
	pthread_mutex_init(&sb->s_vfs_rename_mutex, NULL);
	pthread_cond_init(&m->inode_wait, NULL);
	pc_list_init(&sb->s_inodes);
	assert_int_equal(pc_vfs_inode_hash_init(sb), 0);
	assert_int_equal(pc_cache_create(&params, &m->cache), 0);
	sb->s_cache = m->cache;
	sb->s_op = &fake_sops;
	sb->s_blocksize = PAGE;
	sb->s_blocksize_bits = 12;

	/* Four threads ask for the same new inode: one read, one inode. */
	for (int i = 0; i < 4; i++) {
		a[i] = (struct iget_arg){ .sb = sb, .ino = 42 };
		assert_int_equal(pthread_create(&th[i], NULL, iget_thread, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].err, 0);
		assert_ptr_equal(a[i].out, a[0].out);
	}
	inode = a[0].out;
	assert_int_equal(atomic_load(&fk.reads), 1);
	assert_int_equal(atomic_load(&inode->i_count), 4);
	assert_int_equal(pc_i_size_read(inode), 420);
	assert_int_equal(inode->i_state & PC_I_NEW, 0);
	for (int i = 0; i < 4; i++)
		pc_iput(a[i].out);
	/* Still linked: stays cached without references. */
	assert_int_equal(atomic_load(&fk.evicts), 0);
	assert_int_equal(pc_iget(sb, 42, &again), 0);
	assert_ptr_equal(again, inode);
	assert_int_equal(atomic_load(&fk.reads), 1);
	assert_ptr_equal(pc_igrab(again), again);
	assert_int_equal(atomic_load(&again->i_count), 2);
	pc_iput(again);
	/* Unlinked: evicted and destroyed with the last reference. (Threads
	 * that lost the race above may have destroyed the inodes they had
	 * allocated in vain: count from here.) */
	{
		int destroys = atomic_load(&fk.destroys);

		again->i_nlink = 0;
		pc_iput(again);
		assert_int_equal(atomic_load(&fk.evicts), 1);
		assert_int_equal(atomic_load(&fk.destroys), destroys + 1);
	}
	assert_int_equal(pc_iget(sb, 42, &again), 0);
	assert_int_equal(atomic_load(&fk.reads), 2);
	pc_iput(again);

	/* A failing read: every waiter gets the error, nothing stays cached. */
	atomic_store(&fk.fail, 1);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct iget_arg){ .sb = sb, .ino = 43 };
		assert_int_equal(pthread_create(&th[i], NULL, iget_thread, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].err, -EIO);
	}
	assert_true(atomic_load(&fk.reads) >= 3);
	atomic_store(&fk.fail, 0);
	assert_int_equal(pc_iget(sb, 43, &again), 0);
	assert_int_equal(pc_i_size_read(again), 430);
	pc_iput(again);
	/* Failed reads are destroyed, never evicted. */
	assert_int_equal(atomic_load(&fk.evicts), 1);

	/* pc_new_inode hashes the inode: pc_iget finds it without a read. */
	int reads = atomic_load(&fk.reads);
	inode = pc_new_inode(sb, 77);
	assert_non_null(inode);
	inode->i_mode = S_IFREG;
	assert_int_equal(pc_iget(sb, 77, &again), 0);
	assert_ptr_equal(again, inode);
	assert_int_equal(atomic_load(&fk.reads), reads);
	pc_iput(again);
	pc_iput(inode);

	/* Unmount eviction takes everything cached (42, 43, 77). */
	int destroys = atomic_load(&fk.destroys);
	pc_vfs_evict_all(sb);
	assert_int_equal(atomic_load(&fk.destroys), destroys + 3);
	assert_true(pc_list_empty(&sb->s_inodes));
	pc_vfs_inode_hash_destroy(sb);
	pc_cache_destroy(m->cache);
	pthread_mutex_destroy(&sb->s_inode_lock);
	pthread_mutex_destroy(&sb->s_vfs_rename_mutex);
	pthread_cond_destroy(&m->inode_wait);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inode_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
