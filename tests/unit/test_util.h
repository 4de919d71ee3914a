/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_util.h - helpers shared by the core unit tests
 * (test_page_tree.c, test_mm.c, test_filemap.c).
 *
 * The checking macro (the lib/test_xarray.c idea): every check is counted;
 * a failing check prints its expression and location, runs a dump of the
 * relevant state (a statement supplied by the test file's own macro), and
 * fails the current cmocka test. Each test file wraps TU_CHECK in a macro
 * of its own that knows what to dump (the page tree, the pool, the fake
 * filesystem's logs).
 *
 * Include after <cmocka.h> (and its prerequisites).
 */
#ifndef PC_TEST_UTIL_H
#define PC_TEST_UTIL_H

#include <inttypes.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PC_TU_MIN(a, b) ((a) < (b) ? (a) : (b))

/* Checks run / passed over the whole program (atomic: threads check too). */
static _Atomic unsigned long tu_checks_run;
static _Atomic unsigned long tu_checks_passed;

/*
 * TU_CHECK(cond, dump): count the check; if @cond is false, print it, run
 * the statement @dump (which prints the relevant state) and fail the test.
 * Only call from the thread running the cmocka test; worker threads record
 * failures in their own state and the test thread checks them after join.
 */
#define TU_CHECK(cond, dump)							\
	do {									\
		atomic_fetch_add(&tu_checks_run, 1);				\
		if (__builtin_expect(!(cond), 0)) {				\
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
				__LINE__, #cond);				\
			dump;							\
			fail_msg("%s:%d: %s", __FILE__, __LINE__, #cond);	\
		} else {							\
			atomic_fetch_add(&tu_checks_passed, 1);			\
		}								\
	} while (0)

/* Print the totals (call at the end of main). */
static inline void tu_report(const char *prog)
{
	fprintf(stderr, "%s: %lu of %lu checks passed\n", prog,
		atomic_load(&tu_checks_passed), atomic_load(&tu_checks_run));
}

/* ---- deterministic random numbers (splitmix64) ---- */
struct tu_rng {
	uint64_t s;
};
static inline uint64_t tu_rand(struct tu_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
/* Uniform in [0, n) (n > 0; the modulo bias is irrelevant here). */
static inline uint64_t tu_rand_below(struct tu_rng *r, uint64_t n)
{
	return tu_rand(r) % n;
}

/* ---- time ---- */
static inline uint64_t tu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static inline void tu_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts))
		;
}

/* ---- byte patterns ---- */
/* The byte a "file" written with @seed holds at byte offset @off. */
static inline unsigned char tu_pat(uint64_t off, unsigned seed)
{
	uint64_t x = off * 0x9e3779b1u + seed * 0x85ebca6bu;
	return (unsigned char)((x >> 7) ^ (x >> 17) ^ (off >> 12) ^ seed);
}
static inline void tu_fill(unsigned char *buf, uint64_t off, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = tu_pat(off + i, seed);
}
/* Offset of the first byte where @a and @b differ, or -1 if equal. */
static inline long tu_first_diff(const unsigned char *a, const unsigned char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}
/* Print a window of @a and @b around offset @at (for dumps). */
static inline void tu_dump_diff(const char *what, const unsigned char *a, const unsigned char *b,
				size_t len, long at)
{
	size_t lo, hi;

	if (at < 0) {
		fprintf(stderr, "  %s: equal\n", what);
		return;
	}
	lo = (size_t)at > 8 ? (size_t)at - 8 : 0;
	hi = PC_TU_MIN(len, (size_t)at + 8);
	fprintf(stderr, "  %s: first difference at byte %ld\n    got: ", what, at);
	for (size_t i = lo; i < hi; i++)
		fprintf(stderr, "%02x ", a[i]);
	fprintf(stderr, "\n   want: ");
	for (size_t i = lo; i < hi; i++)
		fprintf(stderr, "%02x ", b[i]);
	fprintf(stderr, "\n");
}
/* Run a shell command (printf-style); returns its exit status, or -1 if it
 * could not run or was killed. */
static int tu_run(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int tu_run(const char *fmt, ...)
{
	char cmd[9000];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Copy the file at @path (a command's log) to stderr. */
/*
 * tu_make_tmpdir - make a fresh scratch directory "$PC_TEST_TMPDIR/PREFIX-XXXXXX"
 * (PC_TEST_TMPDIR defaults to /tmp) into @dir (@dirlen bytes) and the path
 * of its command log into @log (@loglen bytes), then check that every
 * program named in @tools (space-separated) is on PATH. Returns 0, 1 (the
 * directory could not be made) or 77 (a tool is missing: meson's "skip",
 * said on stderr); main() returns that value when it is not 0.
 */
static int tu_make_tmpdir(const char *prefix, const char *tools, char *dir, size_t dirlen,
			  char *log, size_t loglen) __attribute__((unused));
static int tu_make_tmpdir(const char *prefix, const char *tools, char *dir, size_t dirlen,
			  char *log, size_t loglen)
{
	const char *base = getenv("PC_TEST_TMPDIR");
	char templ[4200], check[512] = "";
	char list[256], *save = NULL;

	if (!base || !*base)
		base = "/tmp";
	if (tu_run("mkdir -p '%s'", base) != 0)
		return 1;
	snprintf(templ, sizeof(templ), "%s/%s-XXXXXX", base, prefix);
	if (!mkdtemp(templ)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, dirlen, "%s", templ);
	snprintf(log, loglen, "%s/cmd.log", dir);
	snprintf(list, sizeof(list), "%s", tools);
	for (char *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save))
		snprintf(check + strlen(check), sizeof(check) - strlen(check), "%scommand -v %s",
			 *check ? " && " : "", t);
	if (*check && tu_run("{ %s; } >/dev/null", check) != 0) {
		fprintf(stderr, "%s not found: skipping\n", tools);
		tu_run("rm -rf '%s'", dir);
		return 77;
	}
	return 0;
}

static inline void tu_show_file(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

#endif /* PC_TEST_UTIL_H */
