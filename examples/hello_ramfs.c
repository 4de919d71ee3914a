/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/hello_ramfs.c - the smallest pagecache program: mount a memory
 * filesystem, write a file through the page cache, read it back, compare.
 *
 * Build against an installed libpagecache:
 *     gcc -o hello_ramfs hello_ramfs.c $(pkg-config --cflags --libs pagecache)
 *
 * In the source tree meson builds it and runs it as the test
 * "example-hello-ramfs". Exits 0 if the data read back matches, 1 if not.
 */
#include <stdio.h>
#include <string.h>
#include <pagecache/pagecache.h>

int main(void)
{
	static const char msg[] = "Hello from the page cache!\n";
	struct pc_mount_opts opts = { .cache_size = 16 << 20 };	/* a 16 MiB pool */
	struct pc_mount *m;
	char buf[sizeof(msg)];
	struct stat st;
	ssize_t n;
	int fd, err, ok;

	err = pc_mount("ramfs", NULL, &opts, &m);
	if (err) {
		fprintf(stderr, "pc_mount: %s (%s)\n", strerror(-err), pc_mount_error());
		return 1;
	}
	fd = pc_open(m, "/hello", O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "pc_open: %s\n", strerror(-fd));
		pc_umount(m);
		return 1;
	}
	n = pc_pwrite(fd, msg, sizeof(msg) - 1, 0);
	if (n != (ssize_t)sizeof(msg) - 1) {
		fprintf(stderr, "pc_pwrite: %s\n", n < 0 ? strerror((int)-n) : "short write");
		pc_close(fd);
		pc_umount(m);
		return 1;
	}
	memset(buf, 0, sizeof(buf));
	n = pc_pread(fd, buf, sizeof(buf), 0);	/* asks one byte more: short at EOF */
	err = pc_fstat(fd, &st);
	pc_close(fd);

	ok = n == (ssize_t)sizeof(msg) - 1 && memcmp(buf, msg, sizeof(msg) - 1) == 0 && err == 0 &&
	     st.st_size == (off_t)sizeof(msg) - 1;
	if (ok)
		fputs(buf, stdout);
	else
		fprintf(stderr, "read back %zd bytes, size %lld: mismatch\n", n,
			(long long)st.st_size);

	err = pc_umount(m);
	if (err) {
		fprintf(stderr, "pc_umount: %s\n", strerror(-err));
		ok = 0;
	}
	return ok ? 0 : 1;
}
