/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_register.c - filesystem registration
 * (pc_register_filesystem / pc_unregister_filesystem) and the inode
 * constructors a filesystem uses (pc_iget_locked/pc_unlock_new_inode,
 * pc_iget through read_inode).
 *
 * "tinyfs" below is a complete, read-only filesystem written only against
 * <pagecache/fs.h>, as an outside author would: a root directory (ino 1,
 * made in fill_super with pc_iget_locked) holding one file "hello" (ino 2,
 * read on lookup through s_op->read_inode) whose data comes from a string
 * through a_ops->readpage. It never touches a generic lock or list.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include <pagecache/fs.h>

#define TINY_ROOT 1
#define TINY_FILE 2
static const char tiny_data[] = "hello from tinyfs\n";

struct tiny_sb {
	_Atomic int inodes;	/* alive, allocated by tiny_alloc_inode */
};

struct tiny_inode {
	struct pc_inode vfs;
	int magic;
};

/* Mounts between fill_super and put_super (the -EBUSY test's oracle). */
static _Atomic int tiny_live;

static struct pc_inode *tiny_alloc_inode(struct pc_super_block *sb)
{
	struct tiny_inode *ti = calloc(1, sizeof(*ti));
	struct tiny_sb *tsb = sb->s_fs_info;

	if (!ti)
		return NULL;
	ti->magic = 0x7117;
	atomic_fetch_add(&tsb->inodes, 1);
	return &ti->vfs;
}

static void tiny_destroy_inode(struct pc_inode *inode)
{
	struct tiny_inode *ti = pc_container_of(inode, struct tiny_inode, vfs);
	struct tiny_sb *tsb = inode->i_sb->s_fs_info;

	assert_int_equal(ti->magic, 0x7117);
	atomic_fetch_sub(&tsb->inodes, 1);
	free(ti);
}

static int tiny_readpage(struct pc_file *file, struct pc_page *page)
{
	char *p = pc_page_address(page);

	(void)file;
	memset(p, 0, PC_PAGE_SIZE);
	if (page->index == 0)
		memcpy(p, tiny_data, sizeof(tiny_data) - 1);
	pc_SetPageUptodate(page);
	pc_unlock_page(page);
	return 0;
}

static const struct pc_address_space_operations tiny_aops = {
	.readpage = tiny_readpage,
};

static const struct pc_file_operations tiny_file_fops = {
	.read_iter = pc_generic_file_read_iter,
	.fsync = pc_generic_file_fsync,
};

static int tiny_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	(void)dir;
	if (len == 5 && memcmp(name, "hello", 5) == 0) {
		*ino = TINY_FILE;
		return 0;
	}
	return -ENOENT;
}

static int tiny_iterate(struct pc_file *file, struct pc_dir_context *ctx)
{
	(void)file;
	if (ctx->pos == 0) {
		if (!ctx->actor(ctx, "hello", 5, TINY_FILE, DT_REG))
			return 0;
		ctx->pos = 1;
	}
	return 0;
}

static const struct pc_inode_operations tiny_dir_iops = { .lookup = tiny_lookup };
static const struct pc_file_operations tiny_dir_fops = { .iterate = tiny_iterate };
static const struct pc_inode_operations tiny_file_iops;

static int tiny_read_inode(struct pc_inode *inode)
{
	if (inode->i_ino != TINY_FILE)
		return -ENOENT;
	inode->i_mode = S_IFREG | 0444;
	inode->i_nlink = 1;
	pc_i_size_write(inode, (loff_t)sizeof(tiny_data) - 1);
	pc_inode_set_ops(inode, &tiny_file_iops, &tiny_file_fops, &tiny_aops);
	return 0;
}

static void tiny_put_super(struct pc_super_block *sb)
{
	free(sb->s_fs_info);
	sb->s_fs_info = NULL;
	atomic_fetch_sub(&tiny_live, 1);
}

/* Every inode is gone by put_super: checked through the count. */
static void tiny_evict_inode(struct pc_inode *inode)
{
	pc_truncate_inode_pages(inode->i_mapping, 0);
}

static const struct pc_super_operations tiny_sops = {
	.alloc_inode = tiny_alloc_inode,
	.destroy_inode = tiny_destroy_inode,
	.read_inode = tiny_read_inode,
	.evict_inode = tiny_evict_inode,
	.put_super = tiny_put_super,
};

static int tiny_fill_super(struct pc_super_block *sb, const char *source,
			   const struct pc_mount_opts *opts, char *msg, size_t msglen)
{
	struct tiny_sb *tsb = calloc(1, sizeof(*tsb));
	struct pc_inode *root;

	(void)source;
	(void)opts;
	if (!tsb)
		return -ENOMEM;
	assert_null(sb->s_fs_info);
	sb->s_fs_info = tsb;
	sb->s_op = &tiny_sops;
	assert_int_equal(pc_sb_set_blocksize(sb, 3000), -EINVAL);
	assert_int_equal(pc_sb_set_blocksize(sb, 1024), 0);
	assert_int_equal(sb->s_blocksize_bits, 10);
	sb->s_root_ino = TINY_ROOT;
	atomic_fetch_add(&tiny_live, 1);

	/* The root, made here the iget_locked way; pc_mount's pc_iget finds it. */
	root = pc_iget_locked(sb, TINY_ROOT);
	if (!root) {
		snprintf(msg, msglen, "tinyfs: no memory for the root");
		tiny_put_super(sb);
		return -ENOMEM;
	}
	assert_true(pc_inode_is_new(root));
	/* The VFS initialised the generic part of what alloc_inode gave. */
	assert_ptr_equal(root->i_sb, sb);
	assert_ptr_equal(root->i_mapping, &root->i_data);
	assert_int_equal(atomic_load(&root->i_count), 1);
	assert_null(root->i_private);
	root->i_mode = S_IFDIR | 0555;
	root->i_nlink = 2;
	pc_inode_set_ops(root, &tiny_dir_iops, &tiny_dir_fops, NULL);
	pc_unlock_new_inode(root);
	assert_false(pc_inode_is_new(root));
	pc_iput(root);		/* linked: stays cached */
	return 0;
}

static const char *const tiny_aliases[] = { "tinyfs-alias", NULL };

static const struct pc_fs_type tiny_type = {
	.name = "tinyfs",
	.fill_super = tiny_fill_super,
	.aliases = tiny_aliases,
};

static struct pc_cache *test_cache;

static int setup(void **state)
{
	struct pc_cache_params params = { .size_bytes = 256 * PC_PAGE_SIZE };

	(void)state;
	return pc_cache_create(&params, &test_cache);
}

static int teardown(void **state)
{
	(void)state;
	pc_cache_destroy(test_cache);
	return 0;
}

static int mount_it(const char *name, struct pc_mount **m)
{
	struct pc_mount_opts opts = { .cache = test_cache };

	return pc_mount(name, NULL, &opts, m);
}

static void read_hello(struct pc_mount *m)
{
	char buf[64] = "";
	struct pc_dir *d;
	struct pc_dirent ent;
	int fd = pc_open(m, "/hello", O_RDONLY, 0);

	assert_true(fd >= 0);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(tiny_data) - 1);
	assert_string_equal(buf, tiny_data);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_open(m, "/nothere", O_RDONLY, 0), -ENOENT);
	assert_int_equal(pc_opendir(m, "/", &d), 0);
	assert_int_equal(pc_readdir(d, &ent), 1);
	assert_string_equal(ent.d_name, "hello");
	assert_int_equal(pc_readdir(d, &ent), 0);
	pc_closedir(d);
}

/* An outside filesystem: registered, mounted by name and alias, read,
 * refused unregistration while mounted, gone after unregistration. */
static void test_register_tinyfs(void **state)
{
	struct pc_mount *m, *m2;

	(void)state;
	assert_int_equal(mount_it("tinyfs", &m), -ENODEV);
	assert_int_equal(pc_unregister_filesystem(&tiny_type), -ENOENT);
	assert_int_equal(pc_register_filesystem(&tiny_type), 0);
	assert_int_equal(pc_register_filesystem(&tiny_type), -EEXIST);

	assert_int_equal(mount_it("tinyfs", &m), 0);
	assert_int_equal(atomic_load(&tiny_live), 1);
	read_hello(m);
	assert_int_equal(mount_it("tinyfs-alias", &m2), 0);
	read_hello(m2);
	assert_int_equal(atomic_load(&tiny_live), 2);

	assert_int_equal(pc_unregister_filesystem(&tiny_type), -EBUSY);
	assert_int_equal(pc_umount(m), 0);
	assert_int_equal(pc_unregister_filesystem(&tiny_type), -EBUSY);	/* m2 */
	assert_int_equal(pc_umount(m2), 0);
	assert_int_equal(atomic_load(&tiny_live), 0);
	assert_int_equal(pc_unregister_filesystem(&tiny_type), 0);
	assert_int_equal(pc_unregister_filesystem(&tiny_type), -ENOENT);

	assert_int_equal(mount_it("tinyfs", &m), -ENODEV);
	assert_non_null(strstr(pc_mount_error(), "tinyfs"));
	assert_int_equal(mount_it("tinyfs-alias", &m), -ENODEV);
	/* Registered again, it works again. */
	assert_int_equal(pc_register_filesystem(&tiny_type), 0);
	assert_int_equal(mount_it("tinyfs", &m), 0);
	assert_int_equal(pc_umount(m), 0);
	assert_int_equal(pc_unregister_filesystem(&tiny_type), 0);
}

/* A failed mount gives its count back: the type can be unregistered. */
static int fail_fill_super(struct pc_super_block *sb, const char *source,
			   const struct pc_mount_opts *opts, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "failfs: refuses every mount");
	return -EINVAL;
}

static void test_failed_mount_uncounted(void **state)
{
	static const struct pc_fs_type failfs = { .name = "failfs", .fill_super = fail_fill_super };
	struct pc_mount *m;

	(void)state;
	assert_int_equal(pc_register_filesystem(&failfs), 0);
	assert_int_equal(mount_it("failfs", &m), -EINVAL);
	assert_non_null(strstr(pc_mount_error(), "refuses every mount"));
	assert_int_equal(pc_unregister_filesystem(&failfs), 0);
}

static void test_bad_input(void **state)
{
	static const char *const dup_alias[] = { "dupfs", NULL };
	static const char *const dup_alias2[] = { "a1", "a1", NULL };
	static const char *const bad_alias[] = { "", NULL };
	char longname[PC_FS_TYPE_NAME_MAX + 2];
	struct pc_fs_type t = { .name = "okfs", .fill_super = tiny_fill_super };
	struct pc_mount *m;

	(void)state;
	assert_int_equal(pc_register_filesystem(NULL), -EINVAL);
	assert_int_equal(pc_unregister_filesystem(NULL), -EINVAL);
	t.fill_super = NULL;
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	t.fill_super = tiny_fill_super;
	t.name = NULL;
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	t.name = "";
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	t.name = "has space";
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	t.name = "a/b";
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	t.name = longname;
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	longname[PC_FS_TYPE_NAME_MAX] = '\0';	/* exactly the limit: fine */
	assert_int_equal(pc_register_filesystem(&t), 0);
	assert_int_equal(pc_unregister_filesystem(&t), 0);
	t.name = "dupfs";
	t.aliases = dup_alias;
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	t.aliases = dup_alias2;
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	t.aliases = bad_alias;
	assert_int_equal(pc_register_filesystem(&t), -EINVAL);
	/* Nothing of the refused ones got registered. */
	assert_int_equal(mount_it("dupfs", &m), -ENODEV);
	assert_int_equal(mount_it("okfs", &m), -ENODEV);
	assert_int_equal(mount_it("", &m), -ENODEV);
	assert_int_equal(pc_mount(NULL, NULL, NULL, &m), -EINVAL);
}

/* The built-in types hold their names; ramfs' operations can be
 * registered again under another name, and a live ramfs mount keeps the
 * built-in type registered. */
static void test_builtin_types(void **state)
{
	struct pc_fs_type t = pc_ramfs_fs_type;
	struct pc_fs_type clash = { .name = "ramfs", .fill_super = tiny_fill_super };
	static const char *const ext_alias[] = { "ext2", NULL };
	struct pc_mount *m, *m2;
	char buf[8] = "";
	int fd;

	(void)state;
	assert_int_equal(pc_register_filesystem(&clash), -EEXIST);
	assert_int_equal(pc_register_filesystem(&pc_ramfs_fs_type), -EEXIST);
#if PC_HAVE_EXT2FS
	clash.name = "ext3";
	assert_int_equal(pc_register_filesystem(&clash), -EEXIST);
	clash.name = "myfs";
	clash.aliases = ext_alias;	/* an alias clashing with ext4's */
	assert_int_equal(pc_register_filesystem(&clash), -EEXIST);
	assert_int_equal(mount_it("myfs", &m), -ENODEV);
#else
	(void)ext_alias;
	assert_int_equal(mount_it("ext4", &m), -ENODEV);
	assert_non_null(strstr(pc_mount_error(), "libext2fs"));
#endif
	t.name = "myramfs";
	assert_int_equal(pc_register_filesystem(&t), 0);
	assert_int_equal(mount_it("myramfs", &m), 0);
	fd = pc_open(m, "/f", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, "abc", 3, 0), 3);
	assert_int_equal(pc_pread(fd, buf, sizeof(buf), 0), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(pc_close(fd), 0);

	assert_int_equal(mount_it("ramfs", &m2), 0);
	assert_int_equal(pc_unregister_filesystem(&pc_ramfs_fs_type), -EBUSY);
	assert_int_equal(pc_unregister_filesystem(&t), -EBUSY);
	assert_int_equal(pc_umount(m2), 0);
	/* Unregister the built-in (no mount of it now), then give it back. */
	assert_int_equal(pc_unregister_filesystem(&pc_ramfs_fs_type), 0);
	assert_int_equal(mount_it("ramfs", &m2), -ENODEV);
	assert_int_equal(pc_register_filesystem(&pc_ramfs_fs_type), 0);
	assert_int_equal(pc_umount(m), 0);
	assert_int_equal(pc_unregister_filesystem(&t), 0);
	assert_int_equal(mount_it("ramfs", &m2), 0);
	assert_int_equal(pc_umount(m2), 0);
}

/* ---- threads ---- */

#define NTHREADS 4
#define ROUNDS 300

static _Atomic int holders;		/* threads holding the name "racefs" */
static _Atomic int races_won;
static _Atomic int busy_violations;
static _Atomic int mounts_done, unregs_done;

static void *name_race(void *p)
{
	struct pc_fs_type *t = p;	/* this thread's own struct named "racefs" */

	for (int i = 0; i < ROUNDS; i++) {
		int err = pc_register_filesystem(t);

		if (err == -EEXIST)
			continue;
		if (err != 0) {
			atomic_fetch_add(&busy_violations, 1000);
			continue;
		}
		if (atomic_fetch_add(&holders, 1) != 0)
			atomic_fetch_add(&busy_violations, 1);	/* two owners of one name */
		atomic_fetch_add(&races_won, 1);
		atomic_fetch_sub(&holders, 1);
		if (pc_unregister_filesystem(t) != 0)
			atomic_fetch_add(&busy_violations, 1000);
	}
	return NULL;
}

static void *mounter(void *p)
{
	(void)p;
	/* 30 mounts made, however often the type was gone at that instant. */
	for (long tries = 0; atomic_load(&mounts_done) < 60 && tries < 10000000; tries++) {
		struct pc_mount *m;
		int err = mount_it("tinyfs", &m);

		if (err == -ENODEV)	/* unregistered at this instant */
			continue;
		if (err) {
			atomic_fetch_add(&busy_violations, 1000);
			continue;
		}
		atomic_fetch_add(&mounts_done, 1);
		if (pc_umount(m) != 0)
			atomic_fetch_add(&busy_violations, 1000);
	}
	return NULL;
}

static void *unregisterer(void *p)
{
	_Atomic bool *stop = p;

	while (!atomic_load(stop) || atomic_load(&unregs_done) == 0) {
		int err = pc_unregister_filesystem(&tiny_type);

		if (err == -EBUSY)
			continue;
		if (err != 0) {
			atomic_fetch_add(&busy_violations, 1000);
			continue;
		}
		/* Unregistered: no mount of tinyfs may be alive now. */
		if (atomic_load(&tiny_live) != 0)
			atomic_fetch_add(&busy_violations, 1);
		atomic_fetch_add(&unregs_done, 1);
		if (pc_register_filesystem(&tiny_type) != 0)
			atomic_fetch_add(&busy_violations, 1000);
		sched_yield();		/* let the mounters find it now and then */
	}
	return NULL;
}

/* Many threads register, unregister and mount at once: one owner per name
 * at a time, and never an unregistration under a live mount. */
static void test_concurrent_register(void **state)
{
	struct pc_fs_type racers[NTHREADS];
	pthread_t th[NTHREADS], mth[2], uth;
	_Atomic bool stop = false;

	(void)state;
	for (int i = 0; i < NTHREADS; i++)
		racers[i] = (struct pc_fs_type){ .name = "racefs", .fill_super = tiny_fill_super };
	assert_int_equal(pc_register_filesystem(&tiny_type), 0);
	assert_int_equal(pthread_create(&uth, NULL, unregisterer, &stop), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&mth[i], NULL, mounter, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, name_race, &racers[i]), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(mth[i], NULL);
	atomic_store(&stop, true);
	pthread_join(uth, NULL);

	assert_int_equal(atomic_load(&busy_violations), 0);
	assert_true(atomic_load(&races_won) > 0);
	assert_true(atomic_load(&mounts_done) >= 60);
	assert_true(atomic_load(&unregs_done) > 0);
	assert_int_equal(atomic_load(&tiny_live), 0);
	assert_int_equal(pc_unregister_filesystem(&tiny_type), 0);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pc_unregister_filesystem(&racers[i]), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_tinyfs),
		cmocka_unit_test(test_failed_mount_uncounted),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_builtin_types),
		cmocka_unit_test(test_concurrent_register),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
