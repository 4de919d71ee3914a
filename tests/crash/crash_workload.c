/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/crash/crash_workload.c - the workload of the power-cut simulation
 * (tests/crash/README.md), through the public API only.
 *
 * Usage:
 *   crash_workload run IMAGE LOG SEED NOPS
 *       Mount IMAGE (ext2/3/4) read-write with opts.log_writes = LOG and
 *       run NOPS seeded operations over a few files in a few directories:
 *       create, append, overwrite, truncate (shrink and grow), rename (to a
 *       new name or over another file), unlink, mkdir, direct I/O writes
 *       (O_DIRECT descriptor), fsync, fdatasync, fsync of a directory and
 *       pc_sync; then unmount. Every operation is announced in the log by a
 *       MARK entry before it starts, and every acknowledgement (an fsync or
 *       fdatasync that returned 0: the file; a pc_sync that returned 0:
 *       every file) by a MARK after it returned, with the file's path,
 *       inode number and whole content. The marks are text lines:
 *         create F PATH                   before creating file F at PATH
 *         dirty F OFF LEN                 before writing [OFF, OFF+LEN)
 *         trunc F SIZE                    before truncating to SIZE
 *         rename F NEWPATH                before renaming F
 *         unlink F                        before unlinking (or replacing) F
 *         ack F INO PATH SIZE HOW\n<SIZE bytes>   after F was made durable
 *         sync | mkdir PATH | dirfsync PATH | end
 *       (F: the file's number in this run, from 0). tests/crash/replay.py
 *       reads them to know, at each point of the log, what the library had
 *       promised.
 *   crash_workload verify IMAGE
 *       Mount IMAGE read-write (after e2fsck: the checker never mounts an
 *       unrepaired image), read each path named on stdin (one per line),
 *       and write to stdout for each: "PATH\tERR\tINO\tSIZE\n" then SIZE
 *       bytes of content (ERR 0, or the -errno of stat/open/read: then
 *       SIZE is 0). Unmount; the exit status says whether the mount and
 *       unmount succeeded.
 * Exit status: 0 success, 1 a library call failed, 2 bad usage or setup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagecache/pagecache.h>

#define MAX_FILES 64
#define MAX_LIVE 10
#define MAX_DIRS 4
#define MAX_SIZE (96 * 1024)

struct wfile {
	bool live;
	char path[64];
	unsigned char *data;	/* the expected content (the model) */
	size_t size;
	int fd;			/* buffered descriptor, -1 if closed */
};

static struct pc_mount *mnt;
static struct wfile files[MAX_FILES];
static unsigned nfiles;
static char dirs[MAX_DIRS][16];
static unsigned ndirs;
static uint64_t rng;
static unsigned long opno;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static unsigned rnd_below(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "crash_workload: op %lu: ", opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void mark_bin(const void *extra, size_t extra_len, const char *fmt, ...)
{
	char line[512];
	unsigned char *buf;
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		die("mark too long");
	line[n++] = '\n';
	buf = malloc((size_t)n + extra_len + 1);
	if (!buf)
		die("out of memory");
	memcpy(buf, line, (size_t)n);
	if (extra_len)
		memcpy(buf + n, extra, extra_len);
	err = pc_mount_log_mark(mnt, buf, (size_t)n + extra_len);
	free(buf);
	if (err)
		die("pc_mount_log_mark: %s", strerror(-err));
}

#define mark(...) mark_bin(NULL, 0, __VA_ARGS__)

static void fill_random(unsigned char *p, size_t len)
{
	size_t i;
	uint64_t v = 0;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = rnd();
		p[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

static void model_resize(struct wfile *f, size_t size)
{
	unsigned char *p = realloc(f->data, size ? size : 1);

	if (!p)
		die("out of memory");
	if (size > f->size)
		memset(p + f->size, 0, size - f->size);
	f->data = p;
	f->size = size;
}

static void model_write(struct wfile *f, const unsigned char *buf, size_t len, size_t off)
{
	if (off + len > f->size)
		model_resize(f, off + len);
	memcpy(f->data + off, buf, len);
}

static int pick_live(void)
{
	unsigned live[MAX_FILES], n = 0, i;

	for (i = 0; i < nfiles; i++)
		if (files[i].live)
			live[n++] = i;
	return n ? (int)live[rnd_below(n)] : -1;
}

static unsigned nr_live(void)
{
	unsigned i, n = 0;

	for (i = 0; i < nfiles; i++)
		n += files[i].live;
	return n;
}

static void new_name(char *out, size_t len)
{
	snprintf(out, len, "%.15s/f%lu", dirs[rnd_below(ndirs)], opno % 1000000);
}

static void ack(struct wfile *f, const char *how)
{
	struct stat st;
	int err = pc_stat(mnt, f->path, &st);

	if (err)
		die("pc_stat(%s): %s", f->path, strerror(-err));
	if ((size_t)st.st_size != f->size)
		die("%s: size %lld, model %zu", f->path, (long long)st.st_size, f->size);
	mark_bin(f->data, f->size, "ack %u %llu %s %zu %s", (unsigned)(f - files),
		 (unsigned long long)st.st_ino, f->path, f->size, how);
}

static void op_create(void)
{
	struct wfile *f;
	unsigned char *buf;
	size_t len;
	ssize_t n;

	if (nfiles == MAX_FILES || nr_live() >= MAX_LIVE)
		return;
	f = &files[nfiles];
	new_name(f->path, sizeof(f->path));
	mark("create %u %s", nfiles, f->path);
	nfiles++;
	f->fd = pc_open(mnt, f->path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (f->fd < 0)
		die("pc_open(%s, O_CREAT): %s", f->path, strerror(-f->fd));
	f->live = true;
	len = rnd_below(24 * 1024);
	if (!len)
		return;
	buf = malloc(len);
	if (!buf)
		die("out of memory");
	fill_random(buf, len);
	mark("dirty %u 0 %zu", (unsigned)(f - files), len);
	n = pc_pwrite(f->fd, buf, len, 0);
	if (n != (ssize_t)len)
		die("pc_pwrite(%s): %zd", f->path, n);
	model_write(f, buf, len, 0);
	free(buf);
}

static void op_write(bool append)
{
	int i = pick_live();
	struct wfile *f;
	unsigned char *buf;
	size_t len, off;
	ssize_t n;

	if (i < 0)
		return;
	f = &files[i];
	len = 1 + rnd_below(append ? 12000 : 8000);
	off = append ? f->size : (f->size ? rnd_below((unsigned)f->size) : 0);
	if (off + len > MAX_SIZE)
		return;
	buf = malloc(len);
	if (!buf)
		die("out of memory");
	fill_random(buf, len);
	mark("dirty %d %zu %zu", i, off, len);
	n = pc_pwrite(f->fd, buf, len, (off_t)off);
	if (n != (ssize_t)len)
		die("pc_pwrite(%s, %zu, %zu): %zd", f->path, len, off, n);
	model_write(f, buf, len, off);
	free(buf);
}

static void op_direct_write(void)
{
	int i = pick_live(), fd, err;
	unsigned ma, oa;
	struct wfile *f;
	unsigned char *buf;
	size_t len, off;
	ssize_t n;

	if (i < 0)
		return;
	f = &files[i];
	fd = pc_open(mnt, f->path, O_RDWR | O_DIRECT, 0);
	if (fd < 0)
		die("pc_open(%s, O_DIRECT): %s", f->path, strerror(-fd));
	err = pc_fdioalign(fd, &ma, &oa);
	if (err)
		die("pc_fdioalign: %s", strerror(-err));
	len = (size_t)oa * (1 + rnd_below(16384 / oa));
	off = (size_t)oa * rnd_below((unsigned)((f->size + 8192) / oa + 1));
	if (off + len > MAX_SIZE) {
		pc_close(fd);
		return;
	}
	if (posix_memalign((void **)&buf, ma > 4096 ? ma : 4096, len))
		die("out of memory");
	fill_random(buf, len);
	mark("dirty %d %zu %zu", i, off, len);
	n = pc_pwrite(fd, buf, len, (off_t)off);
	if (n != (ssize_t)len)
		die("direct pc_pwrite(%s, %zu, %zu): %zd", f->path, len, off, n);
	model_write(f, buf, len, off);
	free(buf);
	err = pc_close(fd);
	if (err)
		die("pc_close: %s", strerror(-err));
}

static void op_truncate(void)
{
	int i = pick_live(), err;
	struct wfile *f;
	size_t size;

	if (i < 0)
		return;
	f = &files[i];
	size = rnd_below(4) == 0 ? f->size + rnd_below(20000) : rnd_below((unsigned)f->size + 1);
	if (size > MAX_SIZE)
		return;
	mark("trunc %d %zu", i, size);
	err = pc_ftruncate(f->fd, (off_t)size);
	if (err)
		die("pc_ftruncate(%s, %zu): %s", f->path, size, strerror(-err));
	if (size < f->size)
		f->size = size;
	else
		model_resize(f, size);
}

static void op_rename(void)
{
	int i = pick_live(), j, err;
	char to[64];

	if (i < 0)
		return;
	j = pick_live();
	if (j >= 0 && j != i && rnd_below(3) == 0) {
		snprintf(to, sizeof(to), "%s", files[j].path);
		mark("unlink %d", j);
		mark("rename %d %s", i, to);
		err = pc_rename(mnt, files[i].path, to);
		if (err)
			die("pc_rename(%s, %s): %s", files[i].path, to, strerror(-err));
		files[j].live = false;
		pc_close(files[j].fd);
		files[j].fd = -1;
	} else {
		new_name(to, sizeof(to));
		mark("rename %d %s", i, to);
		err = pc_rename(mnt, files[i].path, to);
		if (err)
			die("pc_rename(%s, %s): %s", files[i].path, to, strerror(-err));
	}
	snprintf(files[i].path, sizeof(files[i].path), "%s", to);
}

static void op_unlink(void)
{
	int i = pick_live(), err;

	if (i < 0 || nr_live() < 3)
		return;
	mark("unlink %d", i);
	err = pc_unlink(mnt, files[i].path);
	if (err)
		die("pc_unlink(%s): %s", files[i].path, strerror(-err));
	files[i].live = false;
	pc_close(files[i].fd);
	files[i].fd = -1;
}

static void op_fsync(bool datasync)
{
	int i = pick_live(), err;

	if (i < 0)
		return;
	err = datasync ? pc_fdatasync(files[i].fd) : pc_fsync(files[i].fd);
	if (err)
		die("%s(%s): %s", datasync ? "pc_fdatasync" : "pc_fsync", files[i].path,
		    strerror(-err));
	ack(&files[i], datasync ? "fdatasync" : "fsync");
}

static void op_sync(void)
{
	unsigned i;
	int err = pc_sync(mnt);

	if (err)
		die("pc_sync: %s", strerror(-err));
	mark("sync");
	for (i = 0; i < nfiles; i++)
		if (files[i].live)
			ack(&files[i], "sync");
}

static void op_mkdir(void)
{
	int err;

	if (ndirs == MAX_DIRS)
		return;
	snprintf(dirs[ndirs], sizeof(dirs[ndirs]), "/d%u", ndirs);
	mark("mkdir %s", dirs[ndirs]);
	err = pc_mkdir(mnt, dirs[ndirs], 0755);
	if (err)
		die("pc_mkdir(%s): %s", dirs[ndirs], strerror(-err));
	ndirs++;
}

static void op_dirfsync(void)
{
	const char *d = dirs[rnd_below(ndirs)];
	int fd = pc_open(mnt, d, O_RDONLY | O_DIRECTORY, 0), err;

	if (fd < 0)
		die("pc_open(%s, O_DIRECTORY): %s", d, strerror(-fd));
	err = pc_fsync(fd);
	if (err)
		die("pc_fsync(%s): %s", d, strerror(-err));
	pc_close(fd);
	mark("dirfsync %s", d);
}

static int run(const char *image, const char *log, unsigned long seed, unsigned long nops)
{
	struct pc_mount_opts opts;
	unsigned i;
	int err;

	memset(&opts, 0, sizeof(opts));
	opts.cache_size = 32u << 20;
	opts.log_writes = log;
	err = pc_mount("ext4", image, &opts, &mnt);
	if (err) {
		fprintf(stderr, "crash_workload: pc_mount %s: %s (%s)\n", image, strerror(-err),
			pc_mount_error());
		return 2;
	}
	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	snprintf(dirs[0], sizeof(dirs[0]), "%s", "");	/* the root: "/fN" */
	ndirs = 1;
	for (opno = 0; opno < nops; opno++) {
		unsigned r = rnd_below(100);

		if (r < 12)
			op_create();
		else if (r < 30)
			op_write(true);
		else if (r < 44)
			op_write(false);
		else if (r < 52)
			op_truncate();
		else if (r < 58)
			op_rename();
		else if (r < 61)
			op_unlink();
		else if (r < 69)
			op_direct_write();
		else if (r < 80)
			op_fsync(false);
		else if (r < 86)
			op_fsync(true);
		else if (r < 89)
			op_sync();
		else if (r < 92)
			op_mkdir();
		else if (r < 95)
			op_dirfsync();
		else
			op_create();
	}
	op_sync();
	mark("end");
	for (i = 0; i < nfiles; i++)
		if (files[i].fd >= 0)
			pc_close(files[i].fd);
	err = pc_umount(mnt);
	if (err) {
		fprintf(stderr, "crash_workload: pc_umount: %s\n", strerror(-err));
		return 1;
	}
	for (i = 0; i < nfiles; i++)
		free(files[i].data);
	printf("ops %lu files %u dirs %u\n", nops, nfiles, ndirs);
	return 0;
}

static int verify(const char *image)
{
	static unsigned char buf[MAX_SIZE * 4];
	char line[4096];
	struct pc_mount_opts opts;
	int err;

	memset(&opts, 0, sizeof(opts));
	opts.cache_size = 16u << 20;
	err = pc_mount("ext4", image, &opts, &mnt);
	if (err) {
		fprintf(stderr, "crash_workload: verify: pc_mount %s: %s (%s)\n", image,
			strerror(-err), pc_mount_error());
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		struct stat st;
		size_t len = strcspn(line, "\n");
		ssize_t n = 0;
		int fd;

		line[len] = '\0';
		if (!len)
			continue;
		err = pc_stat(mnt, line, &st);
		if (!err && (!S_ISREG(st.st_mode) || st.st_size > (off_t)sizeof(buf)))
			err = -EFBIG;
		if (!err) {
			fd = pc_open(mnt, line, O_RDONLY, 0);
			if (fd < 0) {
				err = fd;
			} else {
				size_t got = 0;

				while (got < sizeof(buf)) {
					n = pc_pread(fd, buf + got, sizeof(buf) - got, (off_t)got);
					if (n <= 0)
						break;
					got += (size_t)n;
				}
				if (n < 0)
					err = (int)n;
				else if (got != (size_t)st.st_size)
					err = -EIO;
				n = (ssize_t)got;
				pc_close(fd);
			}
		}
		if (err) {
			printf("%s\t%d\t0\t0\n", line, err);
		} else {
			printf("%s\t0\t%llu\t%zd\n", line, (unsigned long long)st.st_ino, n);
			fwrite(buf, 1, (size_t)n, stdout);
		}
	}
	fflush(stdout);
	err = pc_umount(mnt);
	if (err) {
		fprintf(stderr, "crash_workload: verify: pc_umount: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "run"))
		return run(argv[2], argv[3], strtoul(argv[4], NULL, 0), strtoul(argv[5], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return verify(argv[2]);
	fprintf(stderr, "usage: crash_workload run IMAGE LOG SEED NOPS\n"
			"       crash_workload verify IMAGE < paths\n");
	return 2;
}
