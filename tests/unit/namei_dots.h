/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/namei_dots.h - the namespace operations refuse a final "."
 * or ".." and the root, with Linux's errors (src/vfs/namei.c), so that no
 * API user removes or moves a parent through "dir/..". Shared by
 * test_vfs.c (ramfs) and test_ext4.c (ext2/ext4 images, then e2fsck).
 *
 * The expected errors are what Linux 6.x returns for the same calls (checked
 * on a host directory with the same tree): unlink -EISDIR; rmdir -EINVAL for
 * ".", -ENOTEMPTY for "..", -EBUSY for "/"; rename -EBUSY on either side;
 * a directory moved below itself -EINVAL.
 *
 * Include after <cmocka.h> and <pagecache/pagecache.h>.
 */
#ifndef PC_TEST_NAMEI_DOTS_H
#define PC_TEST_NAMEI_DOTS_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static void nd_write(struct pc_mount *m, const char *path, const char *text)
{
	int fd = pc_open(m, path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
	assert_int_equal(pc_close(fd), 0);
}

static void nd_expect(struct pc_mount *m, const char *path, mode_t type)
{
	struct stat st;
	int err = pc_lstat(m, path, &st);

	if (err)
		fail_msg("%s: lstat %d after the refusals", path, err);
	if ((st.st_mode & S_IFMT) != type)
		fail_msg("%s: type 0%o, expected 0%o", path, st.st_mode & S_IFMT, type);
}

/* The tree: /d/{f, sub/g, e/}, /top, /lnk -> /d, /rootlnk -> /. */
static void nd_check_tree(struct pc_mount *m)
{
	nd_expect(m, "/d", S_IFDIR);
	nd_expect(m, "/d/f", S_IFREG);
	nd_expect(m, "/d/sub", S_IFDIR);
	nd_expect(m, "/d/sub/g", S_IFREG);
	nd_expect(m, "/d/e", S_IFDIR);
	nd_expect(m, "/top", S_IFREG);
	nd_expect(m, "/lnk", S_IFLNK);
	nd_expect(m, "/rootlnk", S_IFLNK);
}

static void check_dot_refusals(struct pc_mount *m)
{
	static const char *const unlink_isdir[] = {
		"/d/.", "/d/..", "/d/./", "/d/../", "/d/.//", "/d//..//", "/d/sub/..",
		"/d/e/.", "/d/e/..", "/.", "/..", "/", "", "//", "/lnk/.", "/lnk/..",
		"/rootlnk/.", "/rootlnk/..", "d/..",
	};
	struct stat st;
	size_t i;

	assert_int_equal(pc_mkdir(m, "/d", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/d/sub", 0755), 0);
	assert_int_equal(pc_mkdir(m, "/d/e", 0755), 0);
	nd_write(m, "/d/f", "f");
	nd_write(m, "/d/sub/g", "g");
	nd_write(m, "/top", "top");
	assert_int_equal(pc_symlink(m, "/d", "/lnk"), 0);
	assert_int_equal(pc_symlink(m, "/", "/rootlnk"), 0);

	for (i = 0; i < sizeof(unlink_isdir) / sizeof(unlink_isdir[0]); i++)
		if (pc_unlink(m, unlink_isdir[i]) != -EISDIR)
			fail_msg("pc_unlink(\"%s\") = %d, expected -EISDIR", unlink_isdir[i],
				 pc_unlink(m, unlink_isdir[i]));
	assert_int_equal(pc_unlink(m, "/d/f/."), -ENOTDIR);
	assert_int_equal(pc_unlink(m, "/d/f/.."), -ENOTDIR);
	assert_int_equal(pc_unlink(m, "/lnk/"), -ENOTDIR);

	/* rmdir: "." is EINVAL even for an empty directory (/d/e stays). */
	assert_int_equal(pc_rmdir(m, "/d/e/."), -EINVAL);
	assert_int_equal(pc_rmdir(m, "/d/e/./"), -EINVAL);
	assert_int_equal(pc_rmdir(m, "/d/e//.//"), -EINVAL);
	assert_int_equal(pc_rmdir(m, "/d/."), -EINVAL);
	assert_int_equal(pc_rmdir(m, "/."), -EINVAL);
	assert_int_equal(pc_rmdir(m, "/lnk/."), -EINVAL);
	assert_int_equal(pc_rmdir(m, "/rootlnk/."), -EINVAL);
	assert_int_equal(pc_rmdir(m, "/d/e/.."), -ENOTEMPTY);
	assert_int_equal(pc_rmdir(m, "/d/sub/../"), -ENOTEMPTY);
	assert_int_equal(pc_rmdir(m, "/d/.."), -ENOTEMPTY);
	assert_int_equal(pc_rmdir(m, "/.."), -ENOTEMPTY);
	assert_int_equal(pc_rmdir(m, "/rootlnk/.."), -ENOTEMPTY);
	assert_int_equal(pc_rmdir(m, "/"), -EBUSY);
	assert_int_equal(pc_rmdir(m, "//"), -EBUSY);
	assert_int_equal(pc_rmdir(m, ""), -EBUSY);
	assert_int_equal(pc_rmdir(m, "/d/f/.."), -ENOTDIR);
	/* A symlink to a directory is not followed, with or without '/'. */
	assert_int_equal(pc_rmdir(m, "/lnk"), -ENOTDIR);
	assert_int_equal(pc_rmdir(m, "/lnk/"), -ENOTDIR);
	assert_int_equal(pc_rmdir(m, "/rootlnk/"), -ENOTDIR);

	/* rename: "." or ".." (or the root) on either side is EBUSY. */
	assert_int_equal(pc_rename(m, "/d/.", "/x"), -EBUSY);
	assert_int_equal(pc_rename(m, "/d/..", "/x"), -EBUSY);
	assert_int_equal(pc_rename(m, "/d/./", "/x"), -EBUSY);
	assert_int_equal(pc_rename(m, "/d/e/..//", "/x"), -EBUSY);
	assert_int_equal(pc_rename(m, "/lnk/..", "/x"), -EBUSY);
	assert_int_equal(pc_rename(m, "/top", "/d/."), -EBUSY);
	assert_int_equal(pc_rename(m, "/top", "/d/.."), -EBUSY);
	assert_int_equal(pc_rename(m, "/d/e", "/d/sub/.."), -EBUSY);
	assert_int_equal(pc_rename(m, "/d/e", "/."), -EBUSY);
	assert_int_equal(pc_rename(m, "/", "/x"), -EBUSY);
	assert_int_equal(pc_rename(m, "", "/x"), -EBUSY);
	assert_int_equal(pc_rename(m, "/top", "/"), -EBUSY);
	/* A directory into itself, also through a symlink: EINVAL. */
	assert_int_equal(pc_rename(m, "/d", "/d/sub"), -EINVAL);
	assert_int_equal(pc_rename(m, "/d", "/d/sub/x"), -EINVAL);
	assert_int_equal(pc_rename(m, "/d", "/d/e/x"), -EINVAL);
	assert_int_equal(pc_rename(m, "/d", "/lnk/e/x"), -EINVAL);
	assert_int_equal(pc_rename(m, "/rootlnk/d", "/d/x"), -EINVAL);
	assert_int_equal(pc_rename(m, "/d", "/d/x/y"), -ENOENT);
	/* Over an ancestor of the source: not empty. */
	assert_int_equal(pc_rename(m, "/d/e", "/d"), -ENOTEMPTY);

	nd_check_tree(m);
	assert_int_equal(pc_stat(m, "/x", &st), -ENOENT);

	/* A symlink to the root or to a directory: the link goes, not its target. */
	assert_int_equal(pc_unlink(m, "/rootlnk"), 0);
	assert_int_equal(pc_unlink(m, "/lnk"), 0);
	assert_int_equal(pc_lstat(m, "/rootlnk", &st), -ENOENT);
	nd_expect(m, "/d/sub/g", S_IFREG);
	nd_expect(m, "/d/f", S_IFREG);
	nd_expect(m, "/top", S_IFREG);
	/* The refused names still work as paths where they should. */
	assert_int_equal(pc_rename(m, "/d/sub/../f", "/d/e/../f2"), 0);
	nd_expect(m, "/d/f2", S_IFREG);
	assert_int_equal(pc_unlink(m, "/d/e/../f2"), 0);
	assert_int_equal(pc_rmdir(m, "/d/sub/../e"), 0);
	assert_int_equal(pc_stat(m, "/d/e", &st), -ENOENT);
	nd_expect(m, "/d/sub/g", S_IFREG);
}

#endif /* PC_TEST_NAMEI_DOTS_H */
