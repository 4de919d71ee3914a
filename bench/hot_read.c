/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/hot_read.c - hot (fully cached) reads: pc_pread from this
 * library's page cache against pread(2) of a host file with the same
 * contents held in the kernel's page cache. One process, public API only.
 *
 * Usage: hot_read [--runs N] [--cache-size BYTES] IMAGE IMGPATH HOSTFILE
 *   IMAGE     an ext2/3/4 image holding IMGPATH
 *   HOSTFILE  a host file with the same bytes (bench/hot_read.sh makes both)
 *   --runs    repetitions of every measurement; medians are printed (5)
 *   --cache-size  the mount's cache in bytes (default 1.5 x the file size,
 *             so the whole file stays cached)
 *
 * Measurements (each for pc_pread and for pread):
 *   seq128k   the whole file in 128 KiB reads, GB/s
 *   rand4k    4 KiB reads at random 4 KiB-aligned offsets over the whole
 *             file (as many as the file has pages, at least 65536), ns/op
 *   region4k  4 KiB reads at random offsets within one 64 KiB region
 *             (1M reads), ns/op: the pure per-call cost
 *   thr1/thr2 random 4 KiB reads over the file from 1 and 2 threads
 *             (500k reads per thread), total Mops/s, and their ratio
 * Both files are read completely first (warming both caches) and compared
 * byte for byte; the program fails if they differ or if a timed pc_pread
 * missed the cache.
 * Exit status 0, or 1 on any error.
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

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define SEQ_CHUNK (128 * KiB)
#define SMALL 4096
#define REGION (64 * KiB)
#define REGION_OPS 1000000ul
#define THREAD_OPS 500000ul
#define MAX_RUNS 64

typedef ssize_t (*pread_fn)(int fd, void *buf, size_t count, off_t off);

struct reader {
	const char *name;
	pread_fn fn;
	int fd;
};

static uint64_t file_size;
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
	fprintf(stderr, "hot_read: %s: %s\n", what, strerror((int)(err < 0 ? -err : err)));
	exit(1);
}

/* Read exactly @n bytes at @off or die. */
static void read_exact(const struct reader *r, void *buf, size_t n, off_t off)
{
	ssize_t got = r->fn(r->fd, buf, n, off);

	if (got < 0)
		die(r->name, r->fn == pread ? errno : -got);
	if ((size_t)got != n) {
		fprintf(stderr, "hot_read: %s: short read (%zd of %zu at %jd)\n", r->name, got, n,
			(intmax_t)off);
		exit(1);
	}
}

/* seconds for the whole file in 128 KiB reads */
static double run_seq(const struct reader *r, char *buf)
{
	uint64_t off, acc = 0;
	double t0 = now();

	for (off = 0; off < file_size; off += SEQ_CHUNK) {
		size_t n = file_size - off < SEQ_CHUNK ? (size_t)(file_size - off) : SEQ_CHUNK;

		read_exact(r, buf, n, (off_t)off);
		acc += (unsigned char)buf[0];
	}
	sink += acc;
	return now() - t0;
}

/* seconds for @ops random 4 KiB reads within [0, @span) */
static double run_random(const struct reader *r, char *buf, uint64_t span, unsigned long ops, uint64_t seed)
{
	uint64_t pages = span / SMALL, acc = 0, s = seed | 1;
	unsigned long i;
	double t0 = now();

	for (i = 0; i < ops; i++) {
		off_t off = (off_t)((xorshift(&s) % pages) * SMALL);

		read_exact(r, buf, SMALL, off);
		acc += (unsigned char)buf[SMALL - 1];
	}
	sink += acc;
	return now() - t0;
}

struct thread_arg {
	const struct reader *r;
	unsigned long ops;
	uint64_t seed;
	pthread_barrier_t *start;
	char *buf;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	pthread_barrier_wait(a->start);
	run_random(a->r, a->buf, file_size, a->ops, a->seed);
	return NULL;
}

/* Mops/s for @nthreads threads doing THREAD_OPS random 4 KiB reads each */
static double run_threads(const struct reader *r, int nthreads, uint64_t seed)
{
	pthread_t tid[8];
	struct thread_arg arg[8];
	pthread_barrier_t start;
	double t0;
	int i;

	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		arg[i].r = r;
		arg[i].ops = THREAD_OPS;
		arg[i].seed = seed * 7919 + (uint64_t)i * 104729 + 1;
		arg[i].start = &start;
		arg[i].buf = aligned_alloc(4096, SMALL);
		if (!arg[i].buf)
			die("aligned_alloc", ENOMEM);
		if (pthread_create(&tid[i], NULL, thread_main, &arg[i]))
			die("pthread_create", EAGAIN);
	}
	pthread_barrier_wait(&start);
	t0 = now();
	for (i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	t0 = now() - t0;
	for (i = 0; i < nthreads; i++)
		free(arg[i].buf);
	pthread_barrier_destroy(&start);
	return (double)nthreads * THREAD_OPS / t0 / 1e6;
}

/* Read both files completely, compare them, leave both caches warm. */
static void warm_and_compare(const struct reader *pc, const struct reader *k)
{
	char *a = aligned_alloc(4096, SEQ_CHUNK), *b = aligned_alloc(4096, SEQ_CHUNK);
	uint64_t off;

	if (!a || !b)
		die("aligned_alloc", ENOMEM);
	for (off = 0; off < file_size; off += SEQ_CHUNK) {
		size_t n = file_size - off < SEQ_CHUNK ? (size_t)(file_size - off) : SEQ_CHUNK;

		read_exact(pc, a, n, (off_t)off);
		read_exact(k, b, n, (off_t)off);
		if (memcmp(a, b, n)) {
			fprintf(stderr, "hot_read: the files differ in [%ju, +%zu)\n", (uintmax_t)off, n);
			exit(1);
		}
	}
	free(a);
	free(b);
}

enum { T_SEQ, T_RAND, T_REGION, T_THR1, T_THR2, T_MAX };

int main(int argc, char **argv)
{
	static double res[2][T_MAX][MAX_RUNS];
	double med[2][T_MAX];
	struct pc_mount_opts opts;
	struct pc_mount_stats st0, st1;
	struct pc_mount *m;
	struct stat hst;
	struct reader rd[2];
	unsigned long rand_ops;
	int runs = 5, argi = 1, pcfd, hostfd, err, run, w;
	uint64_t cache_size = 0;
	char *buf;

	while (argi < argc && !strncmp(argv[argi], "--", 2)) {
		if (!strcmp(argv[argi], "--runs") && argi + 1 < argc) {
			runs = atoi(argv[argi + 1]);
			argi += 2;
		} else if (!strcmp(argv[argi], "--cache-size") && argi + 1 < argc) {
			cache_size = strtoull(argv[argi + 1], NULL, 0);
			argi += 2;
		} else {
			break;
		}
	}
	if (argc - argi != 3 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: %s [--runs N (1-%d)] [--cache-size BYTES] IMAGE IMGPATH HOSTFILE\n",
			argv[0], MAX_RUNS);
		return 1;
	}

	hostfd = open(argv[argi + 2], O_RDONLY);
	if (hostfd < 0 || fstat(hostfd, &hst))
		die(argv[argi + 2], errno);
	file_size = (uint64_t)hst.st_size;
	if (file_size < 2 * REGION)
		die("file too small", EINVAL);

	memset(&opts, 0, sizeof(opts));
	opts.readonly = true;
	opts.cache_size = cache_size ? cache_size : file_size + file_size / 2 + 64 * MiB;
	err = pc_mount("ext4", argv[argi], &opts, &m);
	if (err) {
		fprintf(stderr, "hot_read: pc_mount %s: %s (%s)\n", argv[argi], strerror(-err), pc_mount_error());
		return 1;
	}
	pcfd = pc_open(m, argv[argi + 1], O_RDONLY, 0);
	if (pcfd < 0)
		die(argv[argi + 1], pcfd);
	{
		struct stat pst;

		err = pc_fstat(pcfd, &pst);
		if (err)
			die("pc_fstat", err);
		if ((uint64_t)pst.st_size != file_size) {
			fprintf(stderr, "hot_read: sizes differ: image %jd, host %ju\n", (intmax_t)pst.st_size,
				(uintmax_t)file_size);
			return 1;
		}
	}
	rd[0] = (struct reader){ "pc_pread", pc_pread, pcfd };
	rd[1] = (struct reader){ "pread", pread, hostfd };

	buf = aligned_alloc(4096, SEQ_CHUNK);
	if (!buf)
		die("aligned_alloc", ENOMEM);
	warm_and_compare(&rd[0], &rd[1]);
	/* a second pass so readahead marks and LRU state settle */
	run_seq(&rd[0], buf);
	run_seq(&rd[1], buf);

	rand_ops = (unsigned long)(file_size / SMALL);
	if (rand_ops < 65536)
		rand_ops = 65536;

	pc_mount_get_stats(m, &st0);
	for (run = 0; run < runs; run++) {
		for (w = 0; w < 2; w++) {
			const struct reader *r = &rd[w];
			uint64_t seed = 12345 + (uint64_t)run;

			res[w][T_SEQ][run] = (double)file_size / run_seq(r, buf) / 1e9;
			res[w][T_RAND][run] = run_random(r, buf, file_size, rand_ops, seed) * 1e9 / (double)rand_ops;
			res[w][T_REGION][run] = run_random(r, buf, REGION, REGION_OPS, seed) * 1e9 / REGION_OPS;
			res[w][T_THR1][run] = run_threads(r, 1, seed);
			res[w][T_THR2][run] = run_threads(r, 2, seed);
		}
	}
	pc_mount_get_stats(m, &st1);

	for (w = 0; w < 2; w++)
		for (run = 0; run < T_MAX; run++)
			med[w][run] = median(res[w][run], runs);

	printf("hot_read: %.0f MiB file, %d run%s (medians), cache %.0f MiB, engine %s, O_DIRECT %s\n",
	       (double)file_size / MiB, runs, runs > 1 ? "s" : "", (double)opts.cache_size / MiB,
	       st1.engine ? st1.engine : "?", st1.direct ? "on" : "off");
	printf("%-40s %14s %14s %12s\n", "test", "pc_pread", "kernel pread", "pc speedup");
	printf("%-40s %14.2f %14.2f %11.2fx\n", "sequential 128 KiB (GB/s)", med[0][T_SEQ], med[1][T_SEQ],
	       med[0][T_SEQ] / med[1][T_SEQ]);
	printf("%-40s %14.0f %14.0f %11.2fx\n", "random 4 KiB over the file (ns/op)", med[0][T_RAND],
	       med[1][T_RAND], med[1][T_RAND] / med[0][T_RAND]);
	printf("%-40s %14.0f %14.0f %11.2fx\n", "4 KiB re-reads of 64 KiB (ns/op)", med[0][T_REGION],
	       med[1][T_REGION], med[1][T_REGION] / med[0][T_REGION]);
	printf("%-40s %14.3f %14.3f %11.2fx\n", "random 4 KiB, 1 thread (Mops/s)", med[0][T_THR1],
	       med[1][T_THR1], med[0][T_THR1] / med[1][T_THR1]);
	printf("%-40s %14.3f %14.3f %11.2fx\n", "random 4 KiB, 2 threads (Mops/s)", med[0][T_THR2],
	       med[1][T_THR2], med[0][T_THR2] / med[1][T_THR2]);
	printf("%-40s %13.2fx %13.2fx\n", "2 threads / 1 thread", med[0][T_THR2] / med[0][T_THR1],
	       med[1][T_THR2] / med[1][T_THR1]);
	printf("cache misses during the timed runs: %ju (hits %ju)\n", (uintmax_t)(st1.misses - st0.misses),
	       (uintmax_t)(st1.hits - st0.hits));

	free(buf);
	pc_close(pcfd);
	close(hostfd);
	err = pc_umount(m);
	if (err)
		die("pc_umount", err);
	if (st1.misses != st0.misses) {
		fprintf(stderr, "hot_read: the timed pc_pread runs missed the cache: not a hot-read result\n");
		return 1;
	}
	return 0;
}
