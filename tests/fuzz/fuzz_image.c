// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/fuzz/fuzz_image.c - libFuzzer harness over image mounting and the
 * read and write paths of the ext2/3/4 client.
 *
 * The input is a whole filesystem image (the seed corpus, tests/fuzz/corpus,
 * holds 64-256 KiB ext2/ext3/ext4 images with 1, 2 and 4 KiB blocks made by
 * make_corpus.sh). For each input the harness
 *   1. writes it to a private temporary file (the library mounts paths);
 *   2. mounts it read-only with a small cache and walks the tree: readdir,
 *      lstat, readlink, buffered reads of every regular file (bounded) and
 *      a direct read of the first block;
 *   3. mounts it read-write (when the library allows) and creates, writes,
 *      truncates, renames and unlinks a few files and directories, then
 *      syncs and unmounts.
 * Every error return is fine; a crash, a sanitizer report, a leak or an
 * input that runs past libFuzzer's -timeout is a bug. Work per input is
 * bounded here (entries, depth, bytes read) so a slow input means a slow
 * library, not a slow harness.
 *
 * Build: meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined
 *        -Db_lundef=false (with CC=clang); run: see scripts/test.sh, stage
 *        "fuzz", and tests/fuzz/README.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pagecache/pagecache.h"

#define MAX_DEPTH 8
#define MAX_ENTRIES 400			/* per input, both walks */
#define MAX_READ (256 * 1024)		/* bytes read per file */
#define MAX_TOTAL_READ (2 * 1024 * 1024)	/* bytes read per input */
#define MAX_FILES 16			/* regular files remembered for rw */

static char img_path[64];

struct walk {
	struct pc_mount *m;
	unsigned entries;
	size_t total_read;
	char *files[MAX_FILES];
	unsigned nfiles;
	char *dirs[MAX_FILES];
	unsigned ndirs;
};

static void read_file(struct walk *w, const char *path, off_t size)
{
	static char buf[16384];
	off_t off = 0;
	int fd;

	fd = pc_open(w->m, path, O_RDONLY, 0);
	if (fd < 0)
		return;
	while (off < size && off < MAX_READ && w->total_read < MAX_TOTAL_READ) {
		ssize_t n = pc_pread(fd, buf, sizeof(buf), off);

		if (n <= 0)
			break;
		off += n;
		w->total_read += (size_t)n;
	}
	/* A read past the end and one at a far offset (holes, the block map's
	 * upper levels). */
	(void)pc_pread(fd, buf, 100, size + 1);
	(void)pc_pread(fd, buf, 4096, (off_t)1 << 30);
	pc_close(fd);

	fd = pc_open(w->m, path, O_RDONLY | O_DIRECT, 0);
	if (fd >= 0) {
		void *dbuf = NULL;

		if (!posix_memalign(&dbuf, 4096, 8192)) {
			(void)pc_pread(fd, dbuf, 8192, 0);
			free(dbuf);
		}
		pc_close(fd);
	}
}

static void remember(char **list, unsigned *n, const char *path)
{
	if (*n < MAX_FILES) {
		char *p = strdup(path);

		if (p)
			list[(*n)++] = p;
	}
}

static void walk_dir(struct walk *w, const char *path, int depth)
{
	struct pc_dirent ent;
	struct pc_dir *dir;
	int ret;

	if (depth > MAX_DEPTH || pc_opendir(w->m, path, &dir))
		return;
	while (w->entries < MAX_ENTRIES && (ret = pc_readdir(dir, &ent)) == 1) {
		char child[4096];
		struct stat st;

		w->entries++;
		if (!strcmp(ent.d_name, ".") || !strcmp(ent.d_name, ".."))
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "",
				     ent.d_name) >= sizeof(child))
			continue;
		if (pc_lstat(w->m, child, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			remember(w->dirs, &w->ndirs, child);
			walk_dir(w, child, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			remember(w->files, &w->nfiles, child);
			read_file(w, child, st.st_size);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];

			(void)pc_readlink(w->m, child, target, sizeof(target));
			(void)pc_stat(w->m, child, &st);	/* follows it */
		}
	}
	pc_closedir(dir);
}

static void walk_free(struct walk *w)
{
	for (unsigned i = 0; i < w->nfiles; i++)
		free(w->files[i]);
	for (unsigned i = 0; i < w->ndirs; i++)
		free(w->dirs[i]);
	w->nfiles = w->ndirs = 0;
}

static void write_ops(struct walk *w, uint32_t seed)
{
	struct pc_mount *m = w->m;
	static char buf[20000];
	struct pc_statfs sfs;
	int fd;

	memset(buf, 0x5a ^ (int)(seed & 0xff), sizeof(buf));
	(void)pc_statfs(m, &sfs);
	fd = pc_open(m, "/fz_new", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		(void)pc_pwrite(fd, buf, sizeof(buf), 0);
		(void)pc_pwrite(fd, buf, 3000, 70000);
		(void)pc_fsync(fd);
		(void)pc_ftruncate(fd, 5000);
		pc_close(fd);
	}
	(void)pc_mkdir(m, "/fz_dir", 0755);
	(void)pc_symlink(m, "fz_new", "/fz_dir/link");
	(void)pc_rename(m, "/fz_new", "/fz_dir/moved");
	for (unsigned i = 0; i < w->nfiles; i++) {
		const char *f = w->files[i];

		switch ((seed >> (i % 8 * 4)) % 4) {
		case 0:
			fd = pc_open(m, f, O_WRONLY | O_APPEND, 0);
			if (fd >= 0) {
				(void)pc_write(fd, buf, 1 + (seed % 5000));
				pc_close(fd);
			}
			break;
		case 1:
			(void)pc_truncate(m, f, (off_t)(seed % 3000));
			break;
		case 2:
			(void)pc_unlink(m, f);
			break;
		default:
			fd = pc_open(m, f, O_WRONLY, 0);
			if (fd >= 0) {
				(void)pc_pwrite(fd, buf, 4096, 8192);
				pc_close(fd);
			}
			break;
		}
	}
	for (unsigned i = 0; i < w->ndirs; i++) {
		char p[4200];

		snprintf(p, sizeof(p), "%s/fz_sub", w->dirs[i]);
		(void)pc_mkdir(m, p, 0700);
		if (i & 1)
			(void)pc_rmdir(m, p);
		if (seed & (1u << i))
			(void)pc_rmdir(m, w->dirs[i]);	/* fails unless empty */
	}
	(void)pc_unlink(m, "/fz_dir/link");
	(void)pc_sync(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(img_path, sizeof(img_path), "%s/fuzz_image.%d", tmp && *tmp ? tmp : "/tmp",
		 (int)getpid());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_mount_opts opts = { .cache_size = 4 << 20, .no_direct = true };
	struct walk w = { 0 };
	uint32_t seed = 0;
	int fd;

	if (size < 2048 || size > (8 << 20))
		return -1;	/* not an image: keep it out of the corpus */
	for (size_t i = 0; i < size; i += 4093)
		seed = seed * 31 + data[i];
	fd = open(img_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	opts.readonly = true;
	if (pc_mount("ext4", img_path, &opts, &w.m) == 0) {
		walk_dir(&w, "/", 0);
		(void)pc_umount(w.m);
	}
	walk_free(&w);

	/* Forced: a mutated superblock state (not clean, errors recorded)
	 * must not keep the write paths out of reach; they must survive
	 * whatever a user who forces the mount hands them. */
	opts.readonly = false;
	opts.force = true;
	w = (struct walk){ 0 };
	if (pc_mount("ext4", img_path, &opts, &w.m) == 0) {
		walk_dir(&w, "/", 0);
		write_ops(&w, seed);
		(void)pc_umount(w.m);
	}
	walk_free(&w);
	pc_clear_last_error();
	unlink(img_path);
	return 0;
}
