/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/dio_bench.c - direct I/O (seed 002) benchmarks: one program with
 * modes, driven by bench/dio_bench.sh (which also runs fio for the device
 * column and prints the tables).
 *
 * Usage:
 *   dio_bench prep IMAGE PATH MIB
 *       create (or rewrite) PATH in the ext4 IMAGE: MIB MiB of tagged data
 *       written through the cache (buffered) and fsync'ed, so later direct
 *       writes are overwrites of allocated blocks.
 *   dio_bench seq [--engine uring|pread] read|write BS IMAGE PATH
 *       one timed pass over all of PATH with pc_pread/pc_pwrite on an
 *       O_DIRECT descriptor, BS bytes per call (mount and open outside the
 *       timing). Prints one line: "MIB_PER_S ENGINE DIRECT" (DIRECT: "on" if
 *       the image itself is open with O_DIRECT on the host). --engine picks
 *       pc_mount_opts.engine (default: auto, i.e. io_uring). A read checks
 *       the tag at the start of every request against what prep/write
 *       wrote there.
 *   dio_bench threads [--runs R] [--bs B] [--total-mib T] IMAGE PATH N...
 *       N threads write disjoint contiguous slices of PATH (inside i_size:
 *       overwrites) with O_DIRECT pc_pwrite of B bytes (default 128 KiB),
 *       T MiB in all (default 512) whatever N, once on a mount with the
 *       default options (DIO_DROP_I_MUTEX: the inode lock is dropped once
 *       the placeholders are in) and once with dio_hold_i_rwsem (the lock
 *       kept for the whole write). The two variants alternate inside every
 *       run (their order swaps from run to run); R runs (default 3),
 *       medians; prints a table of MiB/s and the speed-up.
 *   dio_bench placeholder [--runs R] [--reads K] IMAGE PATH
 *       hot 4 KiB pc_pread at random page-aligned offsets of PATH on a
 *       descriptor WITHOUT O_DIRECT, all pages cached (the file is read
 *       once first): (a) plain, (b) while a 1024-page placeholder is held
 *       past EOF of the same mapping, (c) while a one-page placeholder is
 *       held there; each for random pages over the whole file and for
 *       random pages of its first 64 KiB (cache-resident: the per-call
 *       cost). K reads per measurement (default 2000000), R runs
 *       (default 5), medians; prints ns/read and the ratios to (a). Fails
 *       if a timed read missed the cache. Uses the internal API
 *       (pc_vfs_fget, pc_find_or_insert_placeholders).
 * Exit status 0, or 1 on any error (a message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pagecache/pagecache.h>
#include <pagecache/filemap.h>
#include <pagecache/vfs.h>
#include "../src/vfs/vfs_internal.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define BLK 4096u
#define MAX_RUNS 64
#define MAX_THREADS 64
#define MAX_NS 16
#define TAG_MAGIC 0x5043444942454e43ull	/* "PCDIBENC" */

static volatile uint64_t sink;	/* keeps the reads from being optimised out */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, long err)
{
	fprintf(stderr, "dio_bench: %s: %s\n", what, strerror((int)(err < 0 ? -err : err)));
	exit(1);
}

/* Die unless a transfer returned exactly @want bytes. */
static void check_full(const char *what, ssize_t n, size_t want, uint64_t off)
{
	if (n < 0)
		die(what, n);
	if ((size_t)n != want) {
		fprintf(stderr, "dio_bench: %s: short transfer (%zd of %zu bytes at %ju)\n", what, n, want,
			(uintmax_t)off);
		exit(1);
	}
}

/* The tag written at the start of every 4 KiB block: its file offset. */
static uint64_t tag_of(uint64_t off)
{
	return off ^ TAG_MAGIC;
}

/* Fill @buf (@n bytes, for file offset @off) with tagged blocks. */
static void fill_tags(char *buf, size_t n, uint64_t off)
{
	size_t i;

	for (i = 0; i + BLK <= n; i += BLK) {
		uint64_t t = tag_of(off + i);

		memcpy(buf + i, &t, sizeof(t));
	}
}

/* pc_mount_opts.engine for every mount (0 auto; dio_bench seq --engine) */
static int engine;

static struct pc_mount *mount_image(const char *image, bool hold, bool readonly, size_t cache_size)
{
	struct pc_mount_opts opts;
	struct pc_mount *m;
	int err;

	memset(&opts, 0, sizeof(opts));
	opts.readonly = readonly;
	opts.dio_hold_i_rwsem = hold;
	opts.cache_size = cache_size;
	opts.engine = engine;
	err = pc_mount("ext4", image, &opts, &m);
	if (err) {
		fprintf(stderr, "dio_bench: pc_mount %s: %s (%s)\n", image, strerror(-err), pc_mount_error());
		exit(1);
	}
	return m;
}

static void umount_image(struct pc_mount *m)
{
	int err = pc_umount(m);

	if (err)
		die("pc_umount", err);
}

static uint64_t fd_size(int fd)
{
	struct stat st;
	int err = pc_fstat(fd, &st);

	if (err)
		die("pc_fstat", err);
	return (uint64_t)st.st_size;
}

/* A buffer for direct I/O on @fd: aligned to what pc_fdioalign says (and a
 * page); @bs must be a multiple of its offset alignment. */
static char *dio_buffer(int fd, size_t bs)
{
	unsigned mem_align = 0, off_align = 0;
	size_t align;
	char *buf;
	int err = pc_fdioalign(fd, &mem_align, &off_align);

	if (err)
		die("pc_fdioalign", err);
	if (!off_align || bs % off_align) {
		fprintf(stderr, "dio_bench: request size %zu is not a multiple of the offset alignment %u\n",
			bs, off_align);
		exit(1);
	}
	align = mem_align > BLK ? mem_align : BLK;
	buf = aligned_alloc(align, (bs + align - 1) / align * align);
	if (!buf)
		die("aligned_alloc", ENOMEM);
	return buf;
}

/* ------------------------------------------------------------------ prep */

static int mode_prep(int argc, char **argv)
{
	struct pc_mount *m;
	uint64_t size, off;
	char *buf;
	int fd, err;

	if (argc != 3) {
		fprintf(stderr, "usage: dio_bench prep IMAGE PATH MIB\n");
		return 1;
	}
	size = strtoull(argv[2], NULL, 0) * MiB;
	if (!size)
		die("size", EINVAL);
	m = mount_image(argv[0], false, false, 0);
	fd = pc_open(m, argv[1], O_CREAT | O_RDWR, 0644);
	if (fd < 0)
		die(argv[1], fd);
	err = pc_ftruncate(fd, 0);
	if (err)
		die("pc_ftruncate", err);
	buf = aligned_alloc(BLK, MiB);
	if (!buf)
		die("aligned_alloc", ENOMEM);
	memset(buf, 0xa5, MiB);
	for (off = 0; off < size; off += MiB) {
		ssize_t n;

		fill_tags(buf, MiB, off);
		n = pc_pwrite(fd, buf, MiB, (off_t)off);
		check_full("pc_pwrite (prep)", n, MiB, off);
	}
	err = pc_fsync(fd);
	if (err)
		die("pc_fsync", err);
	free(buf);
	pc_close(fd);
	umount_image(m);
	return 0;
}

/* ------------------------------------------------------------------- seq */

static int mode_seq(int argc, char **argv)
{
	struct pc_mount_stats st;
	struct pc_mount *m;
	uint64_t size, off;
	size_t bs;
	bool wr;
	char *buf;
	double t;
	int fd;

	if (argc >= 2 && !strcmp(argv[0], "--engine")) {
		engine = !strcmp(argv[1], "uring") ? 1 : !strcmp(argv[1], "pread") ? 2 : -1;
		argc -= 2;
		argv += 2;
	}
	if (argc != 4 || engine < 0 || (strcmp(argv[0], "read") && strcmp(argv[0], "write"))) {
		fprintf(stderr, "usage: dio_bench seq [--engine uring|pread] read|write BS IMAGE PATH\n");
		return 1;
	}
	wr = !strcmp(argv[0], "write");
	bs = (size_t)strtoull(argv[1], NULL, 0);
	if (bs < BLK || bs % BLK)
		die("request size (a multiple of 4096)", EINVAL);
	m = mount_image(argv[2], false, !wr, 0);
	fd = pc_open(m, argv[3], (wr ? O_WRONLY : O_RDONLY) | O_DIRECT, 0);
	if (fd < 0)
		die("pc_open O_DIRECT", fd);
	size = fd_size(fd) / bs * bs;
	if (!size)
		die("file smaller than one request", EINVAL);
	buf = dio_buffer(fd, bs);
	memset(buf, 0x5a, bs);

	t = now();
	for (off = 0; off < size; off += bs) {
		ssize_t n;

		if (wr) {
			fill_tags(buf, bs, off);
			n = pc_pwrite(fd, buf, bs, (off_t)off);
		} else {
			n = pc_pread(fd, buf, bs, (off_t)off);
		}
		if (n < 0)
			die(wr ? "pc_pwrite" : "pc_pread", n);
		if ((size_t)n != bs) {
			fprintf(stderr, "dio_bench: short %s (%zd of %zu at %ju)\n", argv[0], n, bs,
				(uintmax_t)off);
			return 1;
		}
		if (!wr) {
			uint64_t tag;

			memcpy(&tag, buf, sizeof(tag));
			if (tag != tag_of(off)) {
				fprintf(stderr, "dio_bench: wrong data read at %ju (tag %#jx, want %#jx)\n",
					(uintmax_t)off, (uintmax_t)tag, (uintmax_t)tag_of(off));
				return 1;
			}
		}
	}
	t = now() - t;

	pc_mount_get_stats(m, &st);
	printf("%.1f %s %s\n", (double)size / MiB / t, st.engine ? st.engine : "?", st.direct ? "on" : "off");
	free(buf);
	pc_close(fd);
	umount_image(m);
	return 0;
}

/* --------------------------------------------------------------- threads */

struct writer {
	pthread_t tid;
	pthread_barrier_t *start;
	int fd;
	uint64_t slice_off, slice_len;	/* bytes of the file this thread owns */
	uint64_t bytes;			/* to write in all (wrapping over the slice) */
	size_t bs;
	char *buf;
	bool failed;		/* then @got bytes were transferred at @fail_off */
	ssize_t got;
	uint64_t fail_off;
};

static void *writer_main(void *p)
{
	struct writer *w = p;
	uint64_t done = 0, pos = 0;

	pthread_barrier_wait(w->start);
	while (done < w->bytes) {
		uint64_t off = w->slice_off + pos;
		ssize_t n;

		fill_tags(w->buf, w->bs, off);
		n = pc_pwrite(w->fd, w->buf, w->bs, (off_t)off);
		if (n != (ssize_t)w->bs) {
			w->failed = true;
			w->got = n;
			w->fail_off = off;
			break;
		}
		done += w->bs;
		pos += w->bs;
		if (pos >= w->slice_len)
			pos = 0;
	}
	return NULL;
}

/* MiB/s of @nthreads writers on a fresh mount (@hold: dio_hold_i_rwsem). */
static double run_writers(const char *image, const char *path, bool hold, int nthreads, size_t bs,
			  uint64_t total)
{
	struct writer w[MAX_THREADS];
	pthread_barrier_t start;
	struct pc_mount *m;
	uint64_t size, slice, per;
	double t;
	int fd, i;

	m = mount_image(image, hold, false, 0);
	fd = pc_open(m, path, O_RDWR | O_DIRECT, 0);
	if (fd < 0)
		die("pc_open O_DIRECT", fd);
	size = fd_size(fd);
	slice = size / (uint64_t)nthreads / bs * bs;
	per = total / (uint64_t)nthreads / bs * bs;
	if (!slice || !per)
		die("file or total too small for this many threads", EINVAL);
	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct writer){ .start = &start, .fd = fd, .slice_off = (uint64_t)i * slice,
					.slice_len = slice, .bytes = per, .bs = bs };
		w[i].buf = dio_buffer(fd, bs);
		memset(w[i].buf, 0x3c + i, bs);
		if (pthread_create(&w[i].tid, NULL, writer_main, &w[i]))
			die("pthread_create", EAGAIN);
	}
	pthread_barrier_wait(&start);
	t = now();
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].tid, NULL);
	t = now() - t;
	pthread_barrier_destroy(&start);
	for (i = 0; i < nthreads; i++) {
		if (w[i].failed)
			check_full("pc_pwrite (threads)", w[i].got, bs, w[i].fail_off);
		free(w[i].buf);
	}
	pc_close(fd);
	umount_image(m);
	return (double)per * nthreads / MiB / t;
}

static int mode_threads(int argc, char **argv)
{
	static double res[MAX_NS][2][MAX_RUNS];
	int ns[MAX_NS], nn = 0, runs = 3, argi = 0, run, i, v;
	size_t bs = 128 * KiB;
	uint64_t total = 512 * MiB;

	while (argi < argc && !strncmp(argv[argi], "--", 2) && argi + 1 < argc) {
		if (!strcmp(argv[argi], "--runs"))
			runs = atoi(argv[argi + 1]);
		else if (!strcmp(argv[argi], "--bs"))
			bs = (size_t)strtoull(argv[argi + 1], NULL, 0);
		else if (!strcmp(argv[argi], "--total-mib"))
			total = strtoull(argv[argi + 1], NULL, 0) * MiB;
		else
			break;
		argi += 2;
	}
	if (argc - argi < 3 || runs < 1 || runs > MAX_RUNS || bs < BLK || bs % BLK || !total) {
		fprintf(stderr, "usage: dio_bench threads [--runs R] [--bs B] [--total-mib T] IMAGE PATH N...\n");
		return 1;
	}
	for (i = argi + 2; i < argc && nn < MAX_NS; i++) {
		ns[nn] = atoi(argv[i]);
		if (ns[nn] < 1 || ns[nn] > MAX_THREADS)
			die("thread count", EINVAL);
		nn++;
	}

	for (run = 0; run < runs; run++) {
		fprintf(stderr, "threads: run %d/%d\n", run + 1, runs);
		for (i = 0; i < nn; i++) {
			for (v = 0; v < 2; v++) {
				int var = run % 2 ? 1 - v : v;	/* swap the order every run */

				res[i][var][run] = run_writers(argv[argi], argv[argi + 1], var == 1, ns[i], bs,
							       total);
			}
		}
	}

	printf("direct overwrites inside i_size, %zu KiB requests, %.0f MiB per measurement, %d run%s (medians)\n",
	       (size_t)(bs / KiB), (double)total / MiB, runs, runs > 1 ? "s" : "");
	printf("%-8s %18s %18s %12s\n", "threads", "default (MiB/s)", "hold i_rwsem", "speed-up");
	for (i = 0; i < nn; i++) {
		double d = median(res[i][0], runs), h = median(res[i][1], runs);

		printf("%-8d %18.1f %18.1f %11.2fx\n", ns[i], d, h, d / h);
	}
	printf("(default: DIO_DROP_I_MUTEX, the inode lock dropped once the placeholders are in;\n"
	       " hold: pc_mount_opts.dio_hold_i_rwsem, the lock kept for the whole write;\n"
	       " speed-up = default / hold)\n");
	return 0;
}

/* ----------------------------------------------------------- placeholder */

/* ns per read for @reads random 4 KiB reads over @pages pages of @fd */
static double run_hot(int fd, char *buf, uint64_t pages, unsigned long reads, uint64_t seed)
{
	uint64_t s = seed | 1, acc = 0;
	unsigned long i;
	double t = now();

	for (i = 0; i < reads; i++) {
		off_t off = (off_t)((xorshift(&s) % pages) * BLK);
		ssize_t n = pc_pread(fd, buf, BLK, off);

		check_full("pc_pread (hot)", n, BLK, (uint64_t)off);
		acc += (unsigned char)buf[BLK - 1];
	}
	t = now() - t;
	sink += acc;
	return t * 1e9 / (double)reads;
}

/* Both hot measurements into @res[0][@run] (random pages over the whole
 * file) and @res[1][@run] (random pages of the first 64 KiB). */
static void measure_hot(int fd, char *buf, uint64_t pages, unsigned long reads, uint64_t seed,
			double res[2][MAX_RUNS], int run)
{
	res[0][run] = run_hot(fd, buf, pages, reads, seed);
	res[1][run] = run_hot(fd, buf, pages < 16 ? pages : 16, reads, seed);
}

enum { PH_NONE, PH_MULTI, PH_SINGLE, PH_MAX };

static int mode_placeholder(int argc, char **argv)
{
	static const char *const names[PH_MAX] = {
		"no placeholder",
		"1024-page placeholder past EOF",
		"1-page placeholder past EOF",
	};
	static double res[PH_MAX][2][MAX_RUNS];
	struct pc_mount_stats st0, st1;
	struct pc_address_space *mapping;
	struct pc_file *file;
	struct pc_mount *m;
	unsigned long reads = 2000000;
	uint64_t size, pages, off;
	pc_pgoff_t far;
	int runs = 5, argi = 0, run, fd, v, i, err;
	double med[PH_MAX][2];
	char *buf;

	while (argi < argc && !strncmp(argv[argi], "--", 2) && argi + 1 < argc) {
		if (!strcmp(argv[argi], "--runs"))
			runs = atoi(argv[argi + 1]);
		else if (!strcmp(argv[argi], "--reads"))
			reads = strtoul(argv[argi + 1], NULL, 0);
		else
			break;
		argi += 2;
	}
	if (argc - argi != 2 || runs < 1 || runs > MAX_RUNS || !reads) {
		fprintf(stderr, "usage: dio_bench placeholder [--runs R] [--reads K] IMAGE PATH\n");
		return 1;
	}
	m = mount_image(argv[argi], false, true, 0);
	fd = pc_open(m, argv[argi + 1], O_RDONLY, 0);
	if (fd < 0)
		die(argv[argi + 1], fd);
	size = fd_size(fd);
	pages = size / BLK;
	if (!pages)
		die("file smaller than a page", EINVAL);
	buf = aligned_alloc(BLK, MiB);
	if (!buf)
		die("aligned_alloc", ENOMEM);
	/* warm: read everything (twice, so readahead state settles), check tags */
	for (v = 0; v < 2; v++) {
		for (off = 0; off < pages * BLK; off += BLK) {
			uint64_t tag;
			ssize_t n = pc_pread(fd, buf, BLK, (off_t)off);

			check_full("pc_pread (warm)", n, BLK, off);
			memcpy(&tag, buf, sizeof(tag));
			if (tag != tag_of(off)) {
				fprintf(stderr, "dio_bench: wrong data at %ju\n", (uintmax_t)off);
				return 1;
			}
		}
	}
	file = pc_vfs_fget(fd);
	if (!file)
		die("pc_vfs_fget", EBADF);
	mapping = file->f_mapping;
	far = (pc_pgoff_t)PC_DIV_ROUND_UP(size, BLK) + 1024;	/* well past EOF */

	run_hot(fd, buf, pages, reads / 4 + 1, 1);	/* untimed warm-up of the loop itself */
	pc_mount_get_stats(m, &st0);
	for (run = 0; run < runs; run++) {
		for (i = 0; i < PH_MAX; i++) {
			uint64_t seed = 777 + (uint64_t)run;

			v = (i + run) % PH_MAX;	/* rotate who goes first */

			if (v == PH_MULTI || v == PH_SINGLE) {
				pc_pgoff_t end = v == PH_MULTI ? far + 1023 : far;

				err = pc_find_or_insert_placeholders(mapping, far, end, false);
				if (err)
					die("pc_find_or_insert_placeholders", err);
				if (!pc_placeholder_covers(mapping, far) || !pc_placeholder_covers(mapping, end)) {
					fprintf(stderr, "dio_bench: the placeholder is not visible\n");
					return 1;
				}
				measure_hot(fd, buf, pages, reads, seed, res[v], run);
				pc_remove_placeholder_pages(mapping, far, end, false);
				if (pc_placeholder_covers(mapping, far) || pc_placeholder_covers(mapping, end)) {
					fprintf(stderr, "dio_bench: the placeholder outlived its removal\n");
					return 1;
				}
			} else {
				measure_hot(fd, buf, pages, reads, seed, res[v], run);
			}
		}
	}
	pc_mount_get_stats(m, &st1);
	pc_vfs_fput(file);

	for (v = 0; v < PH_MAX; v++)
		for (i = 0; i < 2; i++)
			med[v][i] = median(res[v][i], runs);
	printf("hot 4 KiB pc_pread (no O_DIRECT) at random offsets of a cached %.0f MiB file, %lu reads, %d run%s (medians)\n",
	       (double)size / MiB, reads, runs, runs > 1 ? "s" : "");
	printf("%-32s %16s %9s %16s %9s\n", "variant", "over file ns/rd", "vs plain", "in 64 KiB ns/rd",
	       "vs plain");
	for (v = 0; v < PH_MAX; v++)
		printf("%-32s %16.1f %8.3fx %16.1f %8.3fx\n", names[v], med[v][0], med[v][0] / med[PH_NONE][0],
		       med[v][1], med[v][1] / med[PH_NONE][1]);
	printf("(over file: random pages of the whole file, the 4 KiB copy from memory dominates;\n"
	       " in 64 KiB: random pages of its first 64 KiB, L1/L2-resident: the per-call cost)\n");
	printf("cache misses during the timed runs: %ju (hits %ju)\n", (uintmax_t)(st1.misses - st0.misses),
	       (uintmax_t)(st1.hits - st0.hits));
	free(buf);
	pc_close(fd);
	umount_image(m);
	if (st1.misses != st0.misses) {
		fprintf(stderr, "dio_bench: the timed reads missed the cache: not a hot-read result\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "prep"))
		return mode_prep(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "seq"))
		return mode_seq(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "threads"))
		return mode_threads(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "placeholder"))
		return mode_placeholder(argc - 2, argv + 2);
	fprintf(stderr, "usage: dio_bench prep|seq|threads|placeholder ... (see bench/dio_bench.c)\n");
	return 1;
}
