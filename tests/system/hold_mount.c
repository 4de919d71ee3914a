/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/system/hold_mount.c - hold an image mounted while a test runs
 * other programs against it (exclusive access tests, test_exclusive.py).
 *
 * Usage: hold_mount IMAGE rw|ro [FILE]
 *   Mounts IMAGE ("ext4") read-write or read-only, with rw writes FILE
 *   (an absolute path in the image) holding "held\n", prints "mounted" on
 *   stdout, then waits until standard input reaches EOF (or a line is read)
 *   and unmounts.
 * Exit status: 0 done; 1 the mount failed ("error ERRNO MESSAGE" printed
 * on stdout, MESSAGE from pc_mount_error()); 2 usage or a later failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <pagecache/pagecache.h>

int main(int argc, char **argv)
{
	struct pc_mount_opts opts = { .cache_size = 8u << 20 };
	struct pc_mount *m;
	char line[64];
	int err, fd;

	if (argc < 3 || argc > 4 || (strcmp(argv[2], "rw") && strcmp(argv[2], "ro"))) {
		fprintf(stderr, "usage: hold_mount IMAGE rw|ro [FILE]\n");
		return 2;
	}
	opts.readonly = !strcmp(argv[2], "ro");
	err = pc_mount("ext4", argv[1], &opts, &m);
	if (err) {
		printf("error %d %s\n", -err, pc_mount_error());
		return 1;
	}
	if (argc == 4 && !opts.readonly) {
		fd = pc_open(m, argv[3], O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || pc_write(fd, "held\n", 5) != 5 || pc_close(fd)) {
			printf("cannot write %s\n", argv[3]);
			pc_umount(m);
			return 2;
		}
	}
	printf("mounted\n");
	fflush(stdout);
	(void)fgets(line, sizeof(line), stdin);
	err = pc_umount(m);
	if (err) {
		printf("umount: %s\n", strerror(-err));
		return 2;
	}
	return 0;
}
