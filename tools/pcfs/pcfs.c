/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tools/pcfs/pcfs.c - the pcfs command line: global options, dispatch,
 * mounting images and unmounting them (with --stats).
 *
 * Every image named by an invocation is mounted once, when a command first
 * needs it: read-only for commands that only read (ls, cat, stat, df, the
 * source side of cp), read-write otherwise. All images are unmounted at the
 * end, whatever happened; pc_umount is where cached writes reach the disk,
 * so its error is reported ("write back failed") and makes the exit status 1.
 * "pcfs batch" runs many commands in this one process, so they share the
 * mounts (and the page cache, dirty pages included) until that end.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pagecache/blkdev.h>
#include "pcfs.h"

struct pcfs_options pcfs_opt;
volatile sig_atomic_t pcfs_interrupted;
mode_t pcfs_umask;

extern struct pcfs_image *pcfs_images;	/* loc.c */

/* pc_mount_opts.cache_size 0 means this (pagecache.h). */
#define PCFS_DEFAULT_CACHE	(256ull << 20)

#ifndef PCFS_VERSION
#define PCFS_VERSION "unknown"
#endif

static const char usage_text[] =
	"Usage: pcfs [OPTION]... COMMAND [ARG]...\n"
	"Copy files in and out of ext2/3/4 images and objfs stores through the\n"
	"pagecache library.\n"
	"\n"
	"Commands (IMAGE is an image file or block device, or an objfs SOURCE: a\n"
	"directory store or rados:POOL; PATH a path inside it):\n"
	"  ls [-l] [-a] IMAGE[:PATH]...     list a directory (or show a file)\n"
	"  cat IMAGE:PATH...                write files to standard output\n"
	"  cp [-r] [-p] [--direct] SRC... DST\n"
	"                                   copy; each of SRC, DST is a host path or\n"
	"                                   IMAGE:PATH; into DST if it is a directory;\n"
	"                                   --direct: O_DIRECT on both sides\n"
	"  mkdir [-p] IMAGE:PATH...         make directories\n"
	"  rm [-r] IMAGE:PATH...            remove files (-r: directories too)\n"
	"  mv IMAGE:SRC IMAGE:DST           rename (into DST if it is a directory)\n"
	"  stat IMAGE:PATH...               show inode details\n"
	"  truncate -s SIZE IMAGE:PATH...   set the size (creates missing files)\n"
	"  ln -s TARGET IMAGE:PATH          make a symbolic link\n"
	"  df IMAGE...                      show free space (1K blocks) and inodes\n"
	"  mkfs objfs SOURCE [--object-size=SIZE] [--stripe-unit=SIZE]\n"
	"       [--stripe-count=N]          make an empty objfs (SOURCE: a host\n"
	"                                   directory, made a store if missing or\n"
	"                                   empty, or rados:POOL)\n"
	"  snap create SOURCE NAME...       take a snapshot (mkdir /.snap/NAME)\n"
	"  snap ls SOURCE                   list snapshots (/.snap)\n"
	"  snap rm SOURCE NAME...           remove snapshots (rmdir /.snap/NAME)\n"
	"                                   (snap needs an objfs with snapshots)\n"
	"  batch [FILE|-]                   run one command per line of FILE (default\n"
	"                                   standard input) in this one process: images\n"
	"                                   and stores stay mounted, dirty data stays\n"
	"                                   cached between lines; words split and\n"
	"                                   quoted as in sh, no expansion; '#' lines\n"
	"                                   are comments; stops at the first failing\n"
	"                                   line (\"pcfs: FILE:LINE: ...\")\n"
	"\n"
	"Options:\n"
	"  --cache-size=SIZE   page cache size (K/M/G suffixes; default 256M)\n"
	"  --engine=ENGINE     block I/O engine: auto (default), uring or pread\n"
	"  --stats             print cache and I/O statistics to stderr at the end\n"
	"                      (objfs: also dirty pages per snap context, before\n"
	"                      and after the final sync)\n"
	"  --ro                mount every image read-only\n"
	"  --force             write to an image that is not clean or has errors\n"
	"                      recorded (otherwise refused: run e2fsck -f first)\n"
	"  --ceph-conf=FILE    the ceph.conf of rados:POOL sources (default: the\n"
	"                      CEPH_CONF environment variable, then /etc/ceph)\n"
	"  -h, --help          show this help\n"
	"  --version           show the version\n"
	"\n"
	"Exit status: 0 on success, 1 if anything failed (including write-back\n"
	"at unmount). See docs/pcfs.md.\n";

void pcfs_err(const char *what, int err)
{
	const char *why = pc_last_error();

	if (err > 0)
		err = -err;
	/* The library's explanation of the failure, when it left one
	 * (corrupt metadata: which inode and what is wrong). */
	if (why && *why && (err == -EUCLEAN || err == -EIO || err == -EINTR))
		fprintf(stderr, "pcfs: %s: %s (%s)\n", what, strerror(-err), why);
	else
		fprintf(stderr, "pcfs: %s: %s\n", what, strerror(-err));
	pc_clear_last_error();
}

void pcfs_msg(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pcfs: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void pcfs_usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("pcfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'pcfs --help' for more information.\n", stderr);
}

static const char *engine_names[] = { "auto", "uring", "pread" };

/*
 * The testing options need a device pcfs makes itself and passes in
 * pc_mount_opts.bdev: --test-refuse-direct opens it with the block layer's
 * PC_BDEV_TEST_REFUSE_DIRECT, --fault-write wraps it in pc_bdev_fault_wrap
 * armed for the Nth write after the mount. Opened like ext4 would (PC_BDEV_EXCL). 0 (with
 * img->bdev set, or left NULL when no such option is given) or -errno,
 * reported.
 */
static int open_test_bdev(struct pcfs_image *img, bool rw)
{
	static const enum pc_engine_kind kinds[] = { PC_ENGINE_AUTO, PC_ENGINE_URING, PC_ENGINE_PREAD };
	unsigned flags = PC_BDEV_EXCL;
	struct pc_block_device *bdev, *wrap;
	int err;

	if (!pcfs_opt.fault && !pcfs_opt.test_refuse_direct)
		return 0;
	if (!rw)
		flags |= PC_BDEV_RDONLY;
	if (pcfs_opt.no_direct)
		flags |= PC_BDEV_NO_DIRECT;
	if (pcfs_opt.test_refuse_direct)
		flags |= PC_BDEV_TEST_REFUSE_DIRECT;
	err = pc_bdev_open(img->name, kinds[pcfs_opt.engine], flags, &bdev);
	if (err) {
		char why[256];

		if (err == -EBUSY) {
			pc_bdev_describe_holder(img->name, why, sizeof(why));
			fprintf(stderr, "pcfs: %s: %s (%s)\n", img->name, strerror(-err), why);
		} else {
			pcfs_err(img->name, err);
		}
		return err;
	}
	if (pcfs_opt.fault) {
		err = pc_bdev_fault_wrap(bdev, &wrap);
		if (err) {
			pc_bdev_close(bdev);
			pcfs_msg(img->name, "--fault-write: %s", strerror(-err));
			return err;
		}
		bdev = wrap;	/* armed once mounted (pcfs_mount_image) */
	}
	img->bdev = bdev;
	return 0;
}

/* After pc_umount (or a failed pc_mount): close the device of open_test_bdev. */
static void close_test_bdev(struct pcfs_image *img)
{
	pc_bdev_close(img->bdev);
	img->bdev = NULL;
}

/* Mount objfs source @img (directory store or rados:POOL); see
 * pcfs_mount_image. With --stats pcfs opens the store itself, wrapped in a
 * counting store (obj.c), and passes it in pc_mount_opts.objstore; otherwise
 * objfs opens it from the source string. */
static int mount_objfs(struct pcfs_image *img, bool rw)
{
	struct pc_mount_opts opts = {
		.cache_size = pcfs_opt.cache_size,
		.ra_kb = pcfs_opt.ra_kb,
		.readonly = !rw,
	};
	int err;

	if (pcfs_opt.fault || pcfs_opt.test_refuse_direct || pcfs_opt.log_writes) {
		pcfs_msg(img->name, "--fault-write, --test-refuse-direct and --log-writes work on "
			 "images only");
		return -EINVAL;
	}
	if (pcfs_opt.stats) {
		err = pcfs_objfs_open_counted(img);
		if (err)
			return err;
		opts.objstore = img->os;
	}
	err = pc_mount("objfs", img->name, &opts, &img->m);
	if (err) {
		img->m = NULL;
		pcfs_objfs_mount_failed(img, err, pc_mount_error());
		pcfs_objfs_close_counted(img);
		return err;
	}
	img->rw = rw;
	if (pc_mount_warning(img->m))
		fprintf(stderr, "pcfs: warning: %s\n", pc_mount_warning(img->m));
	return 0;
}

int pcfs_mount_image(struct pcfs_image *img, bool rw)
{
	struct pc_mount_opts opts = {
		.cache = NULL,
		.cache_size = pcfs_opt.cache_size,
		.engine = pcfs_opt.engine,
		.no_direct = pcfs_opt.no_direct,
		.ra_kb = pcfs_opt.ra_kb,
		.force = pcfs_opt.force,
		.log_writes = pcfs_opt.log_writes,
	};
	int err;

	if (pcfs_opt.ro)
		rw = false;
	if (img->m) {
		if (img->rw || !rw)
			return 0;
		/* Read-only mount, nothing open on it yet: remount read-write. */
		err = pc_umount(img->m);
		img->m = NULL;
		close_test_bdev(img);
		pcfs_objfs_close_counted(img);
		if (err) {
			pcfs_err(img->name, err);
			return err;
		}
	}
	if (pcfs_is_objfs(img))
		return mount_objfs(img, rw);
	opts.readonly = !rw;
	err = open_test_bdev(img, rw);
	if (err)
		return err;
	opts.bdev = img->bdev;
	err = pc_mount("ext4", img->name, &opts, &img->m);
	if (err) {
		const char *why = pc_mount_error();

		img->m = NULL;
		close_test_bdev(img);
		/* The library's message may start with the image name too. */
		if (why && !strncmp(why, img->name, strlen(img->name)) &&
		    !strncmp(why + strlen(img->name), ": ", 2))
			why += strlen(img->name) + 2;
		if (why && *why)
			fprintf(stderr, "pcfs: %s: %s (%s)\n", img->name, strerror(-err), why);
		else
			pcfs_err(img->name, err);
		return err;
	}
	img->rw = rw;
	if (pc_mount_warning(img->m))
		fprintf(stderr, "pcfs: warning: %s\n", pc_mount_warning(img->m));
	if (pcfs_opt.fault)	/* counted from after the mount, as documented */
		pc_bdev_fault_arm(img->bdev, PC_REQ_OP_WRITE, pcfs_opt.fault_nth,
				  pcfs_opt.fault_count, -EIO);
	return 0;
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static void print_bios(const char *label, uint64_t bios, uint64_t bytes)
{
	fprintf(stderr, "  %-20s %" PRIu64, label, bios);
	if (bios)
		fprintf(stderr, " (avg %.1f KiB, %.1f MiB in all)", (double)bytes / bios / 1024.0,
			mib(bytes));
	fputc('\n', stderr);
}

/*
 * The statistics are read after pc_sync (so the pages written by the final
 * write-back are counted) and before pc_umount (which frees the mount).
 */
static void print_stats(struct pcfs_image *img)
{
	struct pc_mount_stats st;
	uint64_t lookups;

	memset(&st, 0, sizeof(st));
	pc_mount_get_stats(img->m, &st);
	lookups = st.hits + st.misses;
	fprintf(stderr, "pcfs: statistics for %s (%s, after sync)\n", img->name,
		img->rw ? "read-write" : "read-only");
	fprintf(stderr, "  %-20s %" PRIu64 "\n", "cache hits", st.hits);
	fprintf(stderr, "  %-20s %" PRIu64, "cache misses", st.misses);
	if (lookups)
		fprintf(stderr, " (hit rate %.1f%%)", 100.0 * (double)st.hits / (double)lookups);
	fputc('\n', stderr);
	fprintf(stderr, "  %-20s %" PRIu64 "\n", "readahead pages", st.readahead_pages);
	fprintf(stderr, "  %-20s %" PRIu64 "\n", "pages written back", st.pages_written);
	fprintf(stderr, "  %-20s %" PRIu64 "\n", "evictions", st.evictions);
	fprintf(stderr, "  %-20s %" PRIu64 "\n", "dirty throttles", st.dirty_throttled);
	fprintf(stderr, "  %-20s %" PRIu64 "\n", "allocation waits", st.alloc_waits);
	if (pcfs_is_objfs(img)) {
		/* No block device: the store's requests instead of bios. */
		fprintf(stderr, "  %-20s %.1f MiB of %.1f MiB\n", "peak cache use",
			mib(st.peak_pages * 4096),
			mib(pcfs_opt.cache_size ? pcfs_opt.cache_size : PCFS_DEFAULT_CACHE));
		fprintf(stderr, "  %-20s %" PRIu64 " (%.1f MiB)\n", "pages cached", st.cache_pages,
			mib(st.cache_pages * 4096));
		pcfs_objfs_print_stats(img);
		return;
	}
	print_bios("read bios", st.read_bios, st.read_bytes);
	print_bios("write bios", st.write_bios, st.write_bytes);
	fprintf(stderr, "  %-20s %" PRIu64 "\n", "flushes", st.flushes);
	fprintf(stderr, "  %-20s %" PRIu64 "\n", "I/O errors", st.io_errors);
	fprintf(stderr, "  %-20s %.1f MiB of %.1f MiB\n", "peak cache use", mib(st.peak_pages * 4096),
		mib(pcfs_opt.cache_size ? pcfs_opt.cache_size : PCFS_DEFAULT_CACHE));
	fprintf(stderr, "  %-20s %" PRIu64 " (%.1f MiB)\n", "pages cached", st.cache_pages,
		mib(st.cache_pages * 4096));
	fprintf(stderr, "  %-20s %s\n", "engine", st.engine ? st.engine : "none");
	fprintf(stderr, "  %-20s %s", "O_DIRECT", st.direct ? "on" : "off");
	if (st.direct_note && *st.direct_note)
		fprintf(stderr, " (%s)", st.direct_note);
	fputc('\n', stderr);
}

/*
 * The snapshot counters of an objfs mount (pc_mount_get_snap_stats), as
 * they are at the moment of the call; @when says which moment ("before
 * final sync" or "after sync"). Only the dirty contexts with @dirty_only.
 */
static void print_snap_stats(struct pcfs_image *img, const struct pc_mount_snap_stats *st,
			     const char *when, bool dirty_only)
{
	unsigned i;

	if (!dirty_only) {
		fprintf(stderr, "  %-20s %" PRIu64 " (%u live snapshot%s)\n", "snap context seq",
			st->seq, st->nr_snaps, st->nr_snaps == 1 ? "" : "s");
		fprintf(stderr, "  %-20s %" PRIu64 "\n", "snapshots taken", st->snapshots);
		fprintf(stderr, "  %-20s %" PRIu64 " (%" PRIu64 " pages)\n", "data object writes",
			st->object_writes, st->pages_written);
		fprintf(stderr, "  %-20s %" PRIu64 "\n", "data write errors", st->write_errors);
		fprintf(stderr, "  %-20s %" PRIu64 " (%" PRIu64 " pending)\n", "cap_snaps made",
			st->cap_snaps, st->pending);
	}
	fprintf(stderr, "  %-20s %u context%s (%s)\n", "dirty contexts", st->nr_dirty,
		st->nr_dirty == 1 ? "" : "s", when);
	for (i = 0; i < st->nr_dirty && i < PC_MOUNT_SNAP_STATS_MAX; i++)
		fprintf(stderr, "    %-18s seq %" PRIu64 ": %" PRIu64 " pages%s\n", "dirty in context",
			st->dirty[i].seq, st->dirty[i].pages,
			st->dirty[i].seq == st->seq ? " (head)" : "");
	(void)img;
}

/*
 * Unmount every mounted image; returns 1 if any write-back failed.
 *
 * A read-write mount is first synced (pc_sync), and then its I/O error
 * counter is checked as well as pc_sync's and pc_umount's return values:
 * a write bio that failed is a failed copy even if no call returned the
 * error, so pcfs never exits 0 with data missing from the disk.
 */
static int umount_all(void)
{
	struct pcfs_image *img, *next;
	int status = 0;

	for (img = pcfs_images; img; img = next) {
		next = img->next;
		if (img->m) {
			struct pc_mount_stats st;
			struct pc_mount_snap_stats ss;
			bool have_ss = false;
			int err = 0, uerr;

			/* Dirty pages per snap context are 0 after the sync:
			 * take them before it too (--stats on objfs). */
			if (pcfs_opt.stats && pcfs_is_objfs(img)) {
				memset(&ss, 0, sizeof(ss));
				have_ss = !pc_mount_get_snap_stats(img->m, &ss);
			}
			if (img->rw) {
				err = pc_sync(img->m);
				memset(&st, 0, sizeof(st));
				pc_mount_get_stats(img->m, &st);
				if (!err && st.io_errors)
					err = -EIO;
			}
			if (pcfs_opt.stats) {
				print_stats(img);
				if (have_ss) {
					print_snap_stats(img, &ss, "before final sync", true);
					memset(&ss, 0, sizeof(ss));
					if (!pc_mount_get_snap_stats(img->m, &ss))
						print_snap_stats(img, &ss, "after sync", false);
				}
			}
			uerr = pc_umount(img->m);
			img->m = NULL;
			close_test_bdev(img);
			pcfs_objfs_close_counted(img);
			if (!err)
				err = uerr;
			if (err) {
				fprintf(stderr, "pcfs: %s: write back failed: %s\n", img->name,
					strerror(-err));
				status = 1;
			}
		}
		free(img->name);
		free(img);
	}
	pcfs_images = NULL;
	return status;
}

static void on_signal(int sig)
{
	(void)sig;
	pcfs_interrupted = 1;
	pc_interrupt();		/* the library's long loops stop too */
}

static int cmd_batch(int argc, char **argv);

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "ls", pcfs_cmd_ls },		{ "cat", pcfs_cmd_cat },
	{ "cp", pcfs_cmd_cp },		{ "mkdir", pcfs_cmd_mkdir },
	{ "rm", pcfs_cmd_rm },		{ "mv", pcfs_cmd_mv },
	{ "stat", pcfs_cmd_stat },	{ "truncate", pcfs_cmd_truncate },
	{ "ln", pcfs_cmd_ln },		{ "df", pcfs_cmd_df },
	{ "mkfs", pcfs_cmd_mkfs },	{ "snap", pcfs_cmd_snap },
	{ "batch", cmd_batch },
};

/*
 * batch [FILE|-]: one pcfs command per line, run in this process, so that
 * every image and store stays mounted (and its cache, dirty pages
 * included) from one line to the next; umount_all() runs once, at the end
 * of main. Words are split like a shell's, without expansion: blanks
 * separate them, '...' quotes literally, "..." quotes with \" \\ \$ \`
 * escapes, \ outside quotes escapes the next character; a line whose first
 * word starts with '#' is a comment, blank lines are skipped. Stops at the
 * first line that fails (or cannot be parsed) with "pcfs: FILE:LINE: ...".
 */
/* Split @line into words (malloc'ed, in *@words, NULL-terminated). Returns
 * the word count, or -EINVAL (unterminated quote) or -ENOMEM. */
static int split_words(const char *line, char ***words)
{
	char **w = NULL, *cur = NULL;
	size_t n = 0, len = 0, cap = 0;
	const char *p = line;
	bool in_word = false;
	int err = 0;

#define PUTC(ch) do {							\
		if (len + 1 >= cap) {					\
			char *nc = realloc(cur, cap = cap ? cap * 2 : 64);	\
			if (!nc) { err = -ENOMEM; goto out; }		\
			cur = nc;					\
		}							\
		cur[len++] = (ch);					\
		in_word = true;						\
	} while (0)

	for (;;) {
		char c = *p;

		if (c == '\0' || c == '\n' || c == ' ' || c == '\t' || c == '\r') {
			if (in_word) {
				char **nw = realloc(w, (n + 2) * sizeof(*w));

				if (!nw) {
					err = -ENOMEM;
					goto out;
				}
				w = nw;
				cur[len] = '\0';
				w[n++] = cur;
				w[n] = NULL;
				cur = NULL;
				len = cap = 0;
				in_word = false;
			}
			if (c == '\0' || c == '\n')
				break;
			p++;
		} else if (c == '#' && !in_word && n == 0) {
			break;	/* a comment line */
		} else if (c == '\'') {
			const char *e = strchr(p + 1, '\'');

			if (!e) {
				err = -EINVAL;
				goto out;
			}
			in_word = true;
			if (!cur) {
				PUTC('x');	/* allocate; "''" is an empty word */
				len = 0;
			}
			for (p++; p < e; p++)
				PUTC(*p);
			p = e + 1;
		} else if (c == '"') {
			if (!cur) {
				PUTC('x');
				len = 0;
			}
			for (p++; *p != '"'; p++) {
				if (!*p) {
					err = -EINVAL;
					goto out;
				}
				if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
					p++;
				PUTC(*p);
			}
			p++;
		} else if (c == '\\') {
			if (!p[1] || p[1] == '\n') {
				p++;
				continue;
			}
			PUTC(p[1]);
			p += 2;
		} else {
			PUTC(c);
			p++;
		}
	}
#undef PUTC
out:
	free(cur);
	if (err) {
		while (n)
			free(w[--n]);
		free(w);
		return err;
	}
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
	}
	*words = w;
	return (int)n;
}

static void free_words(char **w, int n)
{
	while (n > 0)
		free(w[--n]);
	free(w);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static int cmd_batch(int argc, char **argv)
{
	const char *file = argc > 1 ? argv[1] : "-";
	FILE *f;
	char *line = NULL;
	size_t lcap = 0;
	unsigned long lineno = 0;
	int status = 0;

	if (argc > 2) {
		pcfs_usage_err("usage: pcfs batch [FILE|-]");
		return 1;
	}
	if (!strcmp(file, "-")) {
		f = stdin;
	} else if (!(f = fopen(file, "re"))) {
		pcfs_err(file, -errno);
		return 1;
	}
	while (!pcfs_interrupted) {
		const struct command *cmd;
		char **words;
		int n;

		errno = 0;
		if (getline(&line, &lcap, f) < 0) {
			if (ferror(f)) {
				pcfs_err(file, errno ? -errno : -EIO);
				status = 1;
			}
			break;
		}
		lineno++;
		n = split_words(line, &words);
		if (n < 0) {
			if (n == -EINVAL)
				fprintf(stderr, "pcfs: %s:%lu: unterminated quote\n", file, lineno);
			else
				pcfs_err(file, n);
			status = 1;
			break;
		}
		if (n == 0) {
			free_words(words, n);
			continue;
		}
		cmd = find_command(words[0]);
		if (!cmd || cmd->fn == cmd_batch) {
			fprintf(stderr, "pcfs: %s:%lu: %s command '%s'\n", file, lineno,
				cmd ? "nested" : "unknown", words[0]);
			free_words(words, n);
			status = 1;
			break;
		}
		fflush(stdout);
		optind = 0;	/* glibc: reinitialise getopt for the command */
		opterr = 1;
		status = cmd->fn(n, words);
		free_words(words, n);
		if (status) {
			fprintf(stderr, "pcfs: %s:%lu: '%s' failed; stopping here\n", file, lineno,
				cmd->name);
			break;
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return status;
}

enum {
	OPT_CACHE_SIZE = 256, OPT_ENGINE, OPT_STATS, OPT_RO, OPT_FAULT_WRITE, OPT_NO_DIRECT,
	OPT_RA, OPT_VERSION, OPT_FORCE, OPT_LOG_WRITES,
	OPT_TEST_REFUSE_DIRECT, OPT_CEPH_CONF,
};

static const struct option long_options[] = {
	{ "cache-size", required_argument, NULL, OPT_CACHE_SIZE },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "ro", no_argument, NULL, OPT_RO },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "ceph-conf", required_argument, NULL, OPT_CEPH_CONF },
	{ "fault-write", required_argument, NULL, OPT_FAULT_WRITE },	/* testing */
	{ "no-direct", no_argument, NULL, OPT_NO_DIRECT },		/* testing */
	{ "test-refuse-direct", no_argument, NULL, OPT_TEST_REFUSE_DIRECT }, /* testing */
	{ "ra", required_argument, NULL, OPT_RA },			/* testing */
	{ "log-writes", required_argument, NULL, OPT_LOG_WRITES },	/* testing */
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* N or N:COUNT, both positive decimal. */
static int parse_fault(const char *s)
{
	char *end;
	unsigned long nth, count = 1;

	errno = 0;
	nth = strtoul(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (*end == ':') {
		const char *c = end + 1;

		count = strtoul(c, &end, 10);
		if (errno || end == c || *c == '-' || count == 0)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	pcfs_opt.fault = true;
	pcfs_opt.fault_nth = nth;
	pcfs_opt.fault_count = count;
	return 0;
}

static int parse_global(int argc, char **argv)
{
	uint64_t v;
	int c, i;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_CACHE_SIZE:
			if (pcfs_parse_size(optarg, &v) || v == 0 || v > SIZE_MAX) {
				pcfs_usage_err("invalid cache size '%s'", optarg);
				return -1;
			}
			pcfs_opt.cache_size = (size_t)v;
			break;
		case OPT_ENGINE:
			for (i = 0; i < 3; i++)
				if (!strcmp(optarg, engine_names[i]))
					break;
			if (i == 3) {
				pcfs_usage_err("invalid engine '%s' (auto, uring or pread)", optarg);
				return -1;
			}
			pcfs_opt.engine = i;
			break;
		case OPT_STATS:
			pcfs_opt.stats = true;
			break;
		case OPT_RO:
			pcfs_opt.ro = true;
			break;
		case OPT_FORCE:
			pcfs_opt.force = true;
			break;
		case OPT_FAULT_WRITE:
			if (parse_fault(optarg)) {
				pcfs_usage_err("invalid --fault-write '%s' (N[:COUNT])", optarg);
				return -1;
			}
			break;
		case OPT_NO_DIRECT:
			pcfs_opt.no_direct = true;
			break;
		case OPT_TEST_REFUSE_DIRECT:
			pcfs_opt.test_refuse_direct = true;
			break;
		case OPT_RA:	/* plain KiB: no suffix */
			if (strspn(optarg, "0123456789") != strlen(optarg) ||
			    pcfs_parse_size(optarg, &v) || v > UINT32_MAX) {
				pcfs_usage_err("invalid readahead '%s' (KiB)", optarg);
				return -1;
			}
			pcfs_opt.ra_kb = (unsigned)v;
			break;
		case OPT_LOG_WRITES:
			pcfs_opt.log_writes = optarg;
			break;
		case OPT_CEPH_CONF:
			/* objfs opens rados:POOL sources with librados'
			 * configuration from CEPH_CONF (pc_rados_opts.conf NULL). */
			if (!*optarg || setenv("CEPH_CONF", optarg, 1)) {
				pcfs_usage_err("invalid --ceph-conf '%s'", optarg);
				return -1;
			}
			pcfs_opt.ceph_conf = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case OPT_VERSION:
			puts("pcfs (pagecache) " PCFS_VERSION);
			return 1;
		default:
			if (optopt && optopt < 256)
				pcfs_usage_err("invalid option -- '%c'", optopt);
			else
				pcfs_usage_err("unrecognized option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	const char *name;
	size_t i;
	int ret, status;

	pcfs_umask = umask(0);
	umask(pcfs_umask);

	ret = parse_global(argc, argv);
	if (ret)
		return ret > 0 ? 0 : 1;
	if (optind >= argc) {
		pcfs_usage_err("missing command");
		return 1;
	}
	name = argv[optind];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		pcfs_usage_err("unknown command '%s'", name);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe must not kill us with images mounted: EPIPE instead. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	/* The command parses its own options from argv[optind...]. */
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: reinitialise getopt */
	opterr = 1;
	status = commands[i].fn(argc, argv);

	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno != EPIPE)	/* the reader went away: quietly */
			pcfs_err("standard output", errno ? -errno : -EIO);
		status = 1;
	}
	if (umount_all())
		status = 1;
	if (pcfs_interrupted) {
		fputs("pcfs: interrupted\n", stderr);
		status = 1;
	}
	return status;
}
