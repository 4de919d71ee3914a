/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tools/pcfs/cmds.c - the commands other than cp: ls, cat, stat, df (read
 * only: the image is mounted read-only) and mkdir, rm, mv, truncate, ln.
 *
 * Each command takes its operands one by one, prints one line per failure
 * and goes on with the next operand, like coreutils; the exit status is 1 if
 * anything failed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "pcfs.h"

/* Parse and mount an image operand; prints failures. */
static int open_operand(const char *arg, bool bare_image, bool rw, struct pcfs_loc *loc)
{
	int err = pcfs_parse_image_operand(arg, bare_image, loc);

	if (err)
		return err;
	err = pcfs_mount_image(loc->img, rw);
	if (err)
		pcfs_loc_free(loc);
	return err;
}

static int parse_no_options(int argc, char **argv, const char *usage)
{
	int opt;

	while ((opt = getopt(argc, argv, "")) != -1) {
		pcfs_usage_err("usage: pcfs %s", usage);
		return -1;
	}
	if (optind >= argc) {
		pcfs_usage_err("%s: missing operand (usage: pcfs %s)", argv[0], usage);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* ls                                                                       */
/* ------------------------------------------------------------------------ */

static void mode_string(mode_t m, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' :
		 S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : S_ISREG(m) ? '-' : '?';
	for (i = 0; i < 9; i++)
		out[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		out[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		out[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		out[9] = (m & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

static const char *type_name(mode_t m)
{
	if (S_ISREG(m))
		return "regular file";
	if (S_ISDIR(m))
		return "directory";
	if (S_ISLNK(m))
		return "symbolic link";
	if (S_ISCHR(m))
		return "character special file";
	if (S_ISBLK(m))
		return "block special file";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	return "unknown";
}

struct ls_entry {
	char *name;		/* as printed */
	struct pcfs_loc loc;	/* for -l: stat and readlink */
	struct stat st;
	bool have_st;
	char *target;		/* symlink target (-l) */
};

/* Format like ls -ln: numeric owner (host names mean nothing for an image). */
static void ls_print_long(struct ls_entry *e, size_t n)
{
	int wl = 1, wu = 1, wg = 1, ws = 1;
	time_t now = time(NULL);
	char buf[64];
	size_t i;

	for (i = 0; i < n; i++) {
		struct stat *st = &e[i].st;
		int l;

		if (!e[i].have_st)
			continue;
		l = snprintf(buf, sizeof(buf), "%ju", (uintmax_t)st->st_nlink);
		wl = l > wl ? l : wl;
		l = snprintf(buf, sizeof(buf), "%ju", (uintmax_t)st->st_uid);
		wu = l > wu ? l : wu;
		l = snprintf(buf, sizeof(buf), "%ju", (uintmax_t)st->st_gid);
		wg = l > wg ? l : wg;
		if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
			l = snprintf(buf, sizeof(buf), "%u, %u", major(st->st_rdev),
				     minor(st->st_rdev));
		else
			l = snprintf(buf, sizeof(buf), "%jd", (intmax_t)st->st_size);
		ws = l > ws ? l : ws;
	}
	for (i = 0; i < n; i++) {
		struct stat *st = &e[i].st;
		char mode[11], tbuf[32], size[48];
		struct tm tm;
		time_t t;

		if (!e[i].have_st)
			continue;
		mode_string(st->st_mode, mode);
		t = st->st_mtim.tv_sec;
		localtime_r(&t, &tm);
		/* recent (within ~6 months): time of day, else the year */
		if (t > now - 15778476 && t <= now + 3600)
			strftime(tbuf, sizeof(tbuf), "%b %e %H:%M", &tm);
		else
			strftime(tbuf, sizeof(tbuf), "%b %e  %Y", &tm);
		if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
			snprintf(size, sizeof(size), "%u, %u", major(st->st_rdev), minor(st->st_rdev));
		else
			snprintf(size, sizeof(size), "%jd", (intmax_t)st->st_size);
		printf("%s %*ju %*ju %*ju %*s %s %s", mode, wl, (uintmax_t)st->st_nlink, wu,
		       (uintmax_t)st->st_uid, wg, (uintmax_t)st->st_gid, ws, size, tbuf, e[i].name);
		if (e[i].target)
			printf(" -> %s", e[i].target);
		putchar('\n');
	}
}

static void ls_free(struct ls_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].target);
		pcfs_loc_free(&e[i].loc);
	}
	free(e);
}

/* Fill stat and link target of @e (for -l); prints failures. */
static int ls_stat(struct ls_entry *e)
{
	int err = pcfs_loc_lstat(&e->loc, &e->st);

	if (err) {
		pcfs_err(e->loc.disp, err);
		return 1;
	}
	e->have_st = true;
	if (S_ISLNK(e->st.st_mode)) {
		err = pcfs_loc_readlink(&e->loc, &e->target);
		if (err) {
			pcfs_err(e->loc.disp, err);
			return 1;
		}
	}
	return 0;
}

static int ls_dir(const struct pcfs_loc *dir, bool lng, bool all)
{
	struct ls_entry *e;
	char **names;
	size_t n, i;
	int status = 0, err;
	uint64_t blocks = 0;

	err = pcfs_loc_list(dir, all, &names, &n);
	if (err) {
		pcfs_err(dir->disp, err);
		return 1;
	}
	if (!lng) {
		for (i = 0; i < n; i++)
			puts(names[i]);
		pcfs_free_names(names, n);
		return 0;
	}
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e) {
		pcfs_free_names(names, n);
		pcfs_err(dir->disp, -ENOMEM);
		return 1;
	}
	for (i = 0; i < n; i++) {
		e[i].name = names[i];
		names[i] = NULL;
		if (pcfs_loc_child(dir, e[i].name, &e[i].loc)) {
			pcfs_err(dir->disp, -ENOMEM);
			status = 1;
			continue;
		}
		status |= ls_stat(&e[i]);
		if (e[i].have_st)
			blocks += (uint64_t)e[i].st.st_blocks;
	}
	pcfs_free_names(names, n);
	printf("total %" PRIu64 "\n", blocks / 2);	/* 1 KiB units, like ls */
	ls_print_long(e, n);
	ls_free(e, n);
	return status;
}

int pcfs_cmd_ls(int argc, char **argv)
{
	bool lng = false, all = false, first = true;
	struct pcfs_loc *locs;
	struct stat *sts;
	bool *isdir;
	int opt, i, n, status = 0;

	while ((opt = getopt(argc, argv, "la")) != -1) {
		switch (opt) {
		case 'l':
			lng = true;
			break;
		case 'a':
			all = true;
			break;
		default:
			pcfs_usage_err("usage: pcfs ls [-l] [-a] IMAGE[:PATH]...");
			return 1;
		}
	}
	n = argc - optind;
	if (n < 1) {
		pcfs_usage_err("ls: missing operand (usage: pcfs ls [-l] [-a] IMAGE[:PATH]...)");
		return 1;
	}
	locs = calloc((size_t)n, sizeof(*locs));
	sts = calloc((size_t)n, sizeof(*sts));
	isdir = calloc((size_t)n, sizeof(*isdir));
	if (!locs || !sts || !isdir) {
		pcfs_err("ls", -ENOMEM);
		status = 1;
		goto out_free;
	}
	/* Files first (as given), then directories with a header if several. */
	{
		struct ls_entry *files = calloc((size_t)n, sizeof(*files));
		size_t nf = 0;

		if (!files) {
			pcfs_err("ls", -ENOMEM);
			status = 1;
			goto out_free;
		}
		for (i = 0; i < n; i++) {
			int err;

			if (open_operand(argv[optind + i], true, false, &locs[i])) {
				status = 1;
				continue;
			}
			err = pcfs_loc_lstat(&locs[i], &sts[i]);
			if (!err && S_ISLNK(sts[i].st_mode) && !lng) {
				struct stat t;

				/* ls follows a symlink operand to a directory unless -l */
				if (!pcfs_loc_stat(&locs[i], &t) && S_ISDIR(t.st_mode))
					sts[i] = t;
			}
			if (err) {
				pcfs_err(locs[i].disp, err);
				status = 1;
				pcfs_loc_free(&locs[i]);
				continue;
			}
			if (S_ISDIR(sts[i].st_mode)) {
				isdir[i] = true;
				continue;
			}
			files[nf].name = strdup(locs[i].disp);
			files[nf].loc = locs[i];
			memset(&locs[i], 0, sizeof(locs[i]));
			files[nf].st = sts[i];
			files[nf].have_st = true;
			if (!files[nf].name) {
				pcfs_err("ls", -ENOMEM);
				status = 1;
			} else if (!lng) {
				puts(files[nf].name);
			} else if (S_ISLNK(files[nf].st.st_mode)) {
				err = pcfs_loc_readlink(&files[nf].loc, &files[nf].target);
				if (err) {
					pcfs_err(files[nf].loc.disp, err);
					status = 1;
				}
			}
			nf++;
			first = false;
		}
		if (lng)
			ls_print_long(files, nf);
		ls_free(files, nf);
	}
	for (i = 0; i < n; i++) {
		if (!isdir[i])
			continue;
		if (n > 1) {
			printf("%s%s:\n", first ? "" : "\n", locs[i].disp);
			first = false;
		}
		status |= ls_dir(&locs[i], lng, all);
	}
out_free:
	if (locs)
		for (i = 0; i < n; i++)
			pcfs_loc_free(&locs[i]);
	free(locs);
	free(sts);
	free(isdir);
	return status;
}

/* ------------------------------------------------------------------------ */
/* cat                                                                      */
/* ------------------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR && !pcfs_interrupted)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* @n zeros to standard output from one zero-filled buffer of @len bytes. */
static int write_zeros(const char *zeros, size_t len, uint64_t n)
{
	while (n) {
		size_t k = n < len ? (size_t)n : len;
		int err = write_all(STDOUT_FILENO, zeros, k);

		if (err)
			return err;
		n -= k;
		if (pcfs_interrupted)
			return -EINTR;
	}
	return 0;
}

/*
 * Write the open image file @fd to standard output. Holes (SEEK_DATA /
 * SEEK_HOLE) are written as zeros from @zeros without reading the image,
 * so a sparse file costs the time of its data plus the output's. Returns
 * 0, or -errno with *@out_err set when standard output failed.
 */
static int cat_fd(int fd, char *buf, const char *zeros, size_t bufsize, bool *out_err)
{
	struct stat st;
	off_t pos = 0, size;
	int err = pc_fstat(fd, &st);

	*out_err = false;
	if (err)
		return err;
	size = st.st_size;
	while (pos < size) {
		off_t data = pc_lseek(fd, pos, SEEK_DATA), hole;

		if (pcfs_interrupted)
			return -EINTR;
		if (data == -ENXIO)
			data = size;		/* only a hole is left */
		else if (data == -EINVAL || data == -EOPNOTSUPP)
			data = pos;		/* no SEEK_DATA: all data */
		else if (data < 0)
			return (int)data;
		if (data > pos) {
			if (data > size)
				data = size;
			err = write_zeros(zeros, bufsize, (uint64_t)(data - pos));
			if (err) {
				*out_err = err != -EINTR;
				return err;
			}
			pos = data;
			continue;
		}
		hole = pc_lseek(fd, pos, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		while (pos < hole) {
			size_t want = (uint64_t)(hole - pos) < bufsize ? (size_t)(hole - pos) : bufsize;
			ssize_t n = pc_pread(fd, buf, want, pos);

			if (n < 0)
				return (int)n;
			if (n == 0)
				return 0;	/* shrank meanwhile: EOF */
			err = write_all(STDOUT_FILENO, buf, (size_t)n);
			if (err) {
				*out_err = true;
				return err;
			}
			pos += n;
			if (pcfs_interrupted)
				return -EINTR;
		}
	}
	/* Anything appended after the fstat. */
	for (;;) {
		ssize_t n = pc_pread(fd, buf, bufsize, pos);

		if (n <= 0)
			return (int)n;
		err = write_all(STDOUT_FILENO, buf, (size_t)n);
		if (err) {
			*out_err = true;
			return err;
		}
		pos += n;
		if (pcfs_interrupted)
			return -EINTR;
	}
}

int pcfs_cmd_cat(int argc, char **argv)
{
	const size_t bufsize = 1u << 20;
	int i, status = 0;
	char *buf, *zeros;

	if (parse_no_options(argc, argv, "cat IMAGE:PATH..."))
		return 1;
	zeros = calloc(1, bufsize);
	if (!zeros || posix_memalign((void **)&buf, 4096, bufsize)) {
		free(zeros);
		pcfs_err("cat", -ENOMEM);
		return 1;
	}
	fflush(stdout);
	for (i = optind; i < argc && !pcfs_interrupted; i++) {
		struct pcfs_loc loc;
		bool out_failed = false;
		int fd, err = 0;

		if (open_operand(argv[i], false, false, &loc)) {
			status = 1;
			continue;
		}
		fd = pc_open(loc.img->m, loc.path, O_RDONLY, 0);
		if (fd < 0) {
			pcfs_err(loc.disp, fd);
			status = 1;
			pcfs_loc_free(&loc);
			continue;
		}
		err = cat_fd(fd, buf, zeros, bufsize, &out_failed);
		if (err) {
			if (out_failed) {
				if (err != -EPIPE)	/* the reader went away: quietly */
					pcfs_err("standard output", err);
			} else if (err != -EINTR) {
				pcfs_err(loc.disp, err);
			}
			status = 1;
		}
		err = pc_close(fd);
		if (err) {
			pcfs_err(loc.disp, err);
			status = 1;
		}
		pcfs_loc_free(&loc);
		if (out_failed)
			break;
	}
	free(zeros);
	free(buf);
	return status;
}

/* ------------------------------------------------------------------------ */
/* stat                                                                     */
/* ------------------------------------------------------------------------ */

static void print_time(const char *label, const struct timespec *ts)
{
	char buf[64], zone[16];
	struct tm tm;
	time_t t = ts->tv_sec;

	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	printf("%s: %s.%09ld %s\n", label, buf, (long)ts->tv_nsec, zone);
}

int pcfs_cmd_stat(int argc, char **argv)
{
	int i, status = 0;

	if (parse_no_options(argc, argv, "stat IMAGE:PATH..."))
		return 1;
	for (i = optind; i < argc; i++) {
		struct pcfs_loc loc;
		char mode[11], *target = NULL;
		struct stat st;
		int err;

		if (open_operand(argv[i], true, false, &loc)) {
			status = 1;
			continue;
		}
		err = pcfs_loc_lstat(&loc, &st);
		if (!err && S_ISLNK(st.st_mode))
			err = pcfs_loc_readlink(&loc, &target);
		if (err) {
			pcfs_err(loc.disp, err);
			status = 1;
			pcfs_loc_free(&loc);
			continue;
		}
		mode_string(st.st_mode, mode);
		printf("  File: %s%s%s\n", loc.disp, target ? " -> " : "", target ? target : "");
		printf("  Type: %s\n", type_name(st.st_mode));
		printf("  Size: %-15jd Blocks: %-10jd IO Block: %jd\n", (intmax_t)st.st_size,
		       (intmax_t)st.st_blocks, (intmax_t)st.st_blksize);
		printf(" Inode: %-15ju Links: %ju", (uintmax_t)st.st_ino, (uintmax_t)st.st_nlink);
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			printf("   Device type: %u,%u", major(st.st_rdev), minor(st.st_rdev));
		putchar('\n');
		printf("Access: (%04o/%s)  Uid: %ju  Gid: %ju\n", (unsigned)(st.st_mode & 07777), mode,
		       (uintmax_t)st.st_uid, (uintmax_t)st.st_gid);
		print_time("Access", &st.st_atim);
		print_time("Modify", &st.st_mtim);
		print_time("Change", &st.st_ctim);
		free(target);
		pcfs_loc_free(&loc);
	}
	return status;
}

/* ------------------------------------------------------------------------ */
/* df                                                                       */
/* ------------------------------------------------------------------------ */

int pcfs_cmd_df(int argc, char **argv)
{
	int i, status = 0, w = 10;

	if (parse_no_options(argc, argv, "df IMAGE..."))
		return 1;
	for (i = optind; i < argc; i++) {
		int l = (int)strlen(argv[i]);

		w = l > w ? l : w;
	}
	printf("%-*s %12s %12s %12s %4s %10s %10s %10s %5s\n", w, "Filesystem", "1K-blocks", "Used",
	       "Available", "Use%", "Inodes", "IUsed", "IFree", "IUse%");
	for (i = optind; i < argc; i++) {
		uint64_t kb, used, avail, iused, pct, ipct;
		struct pc_statfs sf;
		struct pcfs_loc loc;
		int err;

		if (open_operand(argv[i], true, false, &loc)) {
			status = 1;
			continue;
		}
		err = pc_statfs(loc.img->m, &sf);
		if (err) {
			pcfs_err(loc.disp, err);
			status = 1;
			pcfs_loc_free(&loc);
			continue;
		}
		kb = sf.f_blocks * sf.f_bsize / 1024;
		used = (sf.f_blocks - sf.f_bfree) * sf.f_bsize / 1024;
		avail = sf.f_bavail * sf.f_bsize / 1024;
		/* like df: used / (used + available), rounded up */
		pct = used + avail ? (used * 100 + used + avail - 1) / (used + avail) : 0;
		iused = sf.f_files - sf.f_ffree;
		ipct = sf.f_files ? (iused * 100 + sf.f_files - 1) / sf.f_files : 0;
		printf("%-*s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %3" PRIu64 "%% %10" PRIu64
		       " %10" PRIu64 " %10" PRIu64 " %4" PRIu64 "%%\n",
		       w, argv[i], kb, used, avail, pct, sf.f_files, iused, sf.f_ffree, ipct);
		pcfs_loc_free(&loc);
	}
	return status;
}

/* ------------------------------------------------------------------------ */
/* mkdir                                                                    */
/* ------------------------------------------------------------------------ */

/* mkdir -p: make every missing component; existing directories are fine. */
static int mkdir_parents(const struct pcfs_loc *loc, mode_t mode)
{
	struct pc_mount *m = loc->img->m;
	char *p = strdup(loc->path), *s;
	struct stat st;
	int err = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; ; s++) {
		bool last = *s == '\0';

		if (*s != '/' && !last)
			continue;
		*s = '\0';
		if (strcmp(p, "/")) {
			err = pc_mkdir(m, p, last ? mode : (mode | S_IWUSR | S_IXUSR));
			if (err == -EEXIST) {
				err = pc_stat(m, p, &st);
				if (!err && !S_ISDIR(st.st_mode))
					err = -ENOTDIR;
			}
			if (err)
				break;
		}
		if (last)
			break;
		*s = '/';
	}
	free(p);
	return err;
}

int pcfs_cmd_mkdir(int argc, char **argv)
{
	mode_t mode = 0777 & ~pcfs_umask;
	bool parents = false;
	int opt, i, status = 0;

	while ((opt = getopt(argc, argv, "p")) != -1) {
		if (opt != 'p') {
			pcfs_usage_err("usage: pcfs mkdir [-p] IMAGE:PATH...");
			return 1;
		}
		parents = true;
	}
	if (optind >= argc) {
		pcfs_usage_err("mkdir: missing operand");
		return 1;
	}
	for (i = optind; i < argc; i++) {
		struct pcfs_loc loc;
		int err;

		if (open_operand(argv[i], false, true, &loc)) {
			status = 1;
			continue;
		}
		err = parents ? mkdir_parents(&loc, mode) : pc_mkdir(loc.img->m, loc.path, mode);
		if (err) {
			pcfs_err(loc.disp, err);
			status = 1;
		}
		pcfs_loc_free(&loc);
	}
	return status;
}

/* ------------------------------------------------------------------------ */
/* rm                                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Remove @loc and, for a directory, everything below it. Prints failures.
 * @root_ino is the image's root inode: a directory with that number is never
 * removed nor entered (rm -r of "IMG:/" however spelled, and a corrupt entry
 * that names the root), as coreutils' --preserve-root does. @arg: the operand
 * as typed (for messages), NULL below it.
 */
static int rm_tree(const struct pcfs_loc *loc, bool recursive, ino_t root_ino, const char *arg)
{
	struct stat st;
	char **names;
	size_t n, i;
	int err, status = 0;

	if (pcfs_interrupted)
		return 1;
	err = pcfs_loc_lstat(loc, &st);
	if (err) {
		pcfs_err(loc->disp, err);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		err = pcfs_loc_unlink(loc);
		if (err) {
			pcfs_err(loc->disp, err);
			return 1;
		}
		return 0;
	}
	if (!recursive) {
		pcfs_err(loc->disp, -EISDIR);
		return 1;
	}
	if (st.st_ino == root_ino) {
		const char *shown = arg ? arg : loc->disp;
		char *root;

		if (asprintf(&root, "%s:/", loc->img->name) < 0)
			root = NULL;
		if (root && strcmp(shown, root))
			pcfs_msg("rm", "it is dangerous to operate recursively on '%s' (same as '%s')",
				 shown, root);
		else
			pcfs_msg("rm", "it is dangerous to operate recursively on '%s'", shown);
		free(root);
		return 1;
	}
	/* Read the whole directory before changing it. */
	err = pcfs_loc_list(loc, false, &names, &n);
	if (err) {
		pcfs_err(loc->disp, err);
		return 1;
	}
	for (i = 0; i < n && !pcfs_interrupted; i++) {
		struct pcfs_loc child;

		if (pcfs_loc_child(loc, names[i], &child)) {
			pcfs_err(loc->disp, -ENOMEM);
			status = 1;
			break;
		}
		status |= rm_tree(&child, true, root_ino, NULL);
		pcfs_loc_free(&child);
	}
	pcfs_free_names(names, n);
	if (status || pcfs_interrupted)
		return 1;	/* the directory is not empty: say nothing more */
	err = pcfs_loc_rmdir(loc);
	if (err) {
		pcfs_err(loc->disp, err);
		return 1;
	}
	return 0;
}

int pcfs_cmd_rm(int argc, char **argv)
{
	bool recursive = false;
	int opt, i, status = 0;

	while ((opt = getopt(argc, argv, "rR")) != -1) {
		if (opt != 'r' && opt != 'R') {
			pcfs_usage_err("usage: pcfs rm [-r] IMAGE:PATH...");
			return 1;
		}
		recursive = true;
	}
	if (optind >= argc) {
		pcfs_usage_err("rm: missing operand");
		return 1;
	}
	for (i = optind; i < argc && !pcfs_interrupted; i++) {
		struct pcfs_loc loc;
		struct stat root;
		int err;

		if (open_operand(argv[i], false, true, &loc)) {
			status = 1;
			continue;
		}
		/* Like coreutils rm: a last component "." or ".." (trailing '/'
		 * ignored) is never removed, whatever it resolves to. */
		if (pcfs_path_ends_in_dots(loc.path)) {
			pcfs_msg("rm", "refusing to remove '.' or '..' directory: skipping '%s'",
				 argv[i]);
			status = 1;
		} else if ((err = pc_lstat(loc.img->m, "/", &root))) {
			pcfs_err(loc.disp, err);
			status = 1;
		} else {
			status |= rm_tree(&loc, recursive, root.st_ino, argv[i]);
		}
		pcfs_loc_free(&loc);
	}
	return status;
}

/* ------------------------------------------------------------------------ */
/* mv, ln                                                                   */
/* ------------------------------------------------------------------------ */

/* If @dst is an existing directory, *@out = @dst/basename(@name); else a
 * copy of @dst. Returns 0 or -ENOMEM. */
static int into_dir(const struct pcfs_loc *dst, const char *name, struct pcfs_loc *out)
{
	struct stat st;
	char *base;
	int err;

	if (pcfs_loc_stat(dst, &st) || !S_ISDIR(st.st_mode)) {
		out->img = dst->img;
		out->path = strdup(dst->path);
		out->disp = strdup(dst->disp);
		if (!out->path || !out->disp) {
			pcfs_loc_free(out);
			return -ENOMEM;
		}
		return 0;
	}
	base = pcfs_basename(name);
	if (!base)
		return -ENOMEM;
	err = pcfs_loc_child(dst, base, out);
	free(base);
	return err;
}

int pcfs_cmd_mv(int argc, char **argv)
{
	struct pcfs_loc dst;
	struct stat st;
	int i, nsrc, status = 0;

	if (parse_no_options(argc, argv, "mv IMAGE:SRC... IMAGE:DST"))
		return 1;
	nsrc = argc - optind - 1;
	if (nsrc < 1) {
		pcfs_usage_err("mv: missing destination (usage: pcfs mv IMAGE:SRC IMAGE:DST)");
		return 1;
	}
	if (open_operand(argv[argc - 1], false, true, &dst))
		return 1;
	if (nsrc > 1 && (pcfs_loc_stat(&dst, &st) || !S_ISDIR(st.st_mode))) {
		pcfs_msg(dst.disp, "target is not a directory");
		pcfs_loc_free(&dst);
		return 1;
	}
	for (i = optind; i < argc - 1; i++) {
		struct pcfs_loc src, target = { 0 };
		int err;

		if (pcfs_parse_image_operand(argv[i], false, &src)) {
			status = 1;
			continue;
		}
		if (src.img != dst.img) {
			pcfs_msg(src.disp, "cannot move to another image (%s)", strerror(EXDEV));
			status = 1;
			pcfs_loc_free(&src);
			continue;
		}
		/* Like mv(1) on Linux: a source "DIR/." or "DIR/.." is refused
		 * (rename(2) gives EBUSY) before anything is looked up. */
		if (pcfs_path_ends_in_dots(src.path)) {
			pcfs_msg("mv", "cannot move '%s' to '%s': %s", argv[i], argv[argc - 1],
				 strerror(EBUSY));
			status = 1;
			pcfs_loc_free(&src);
			continue;
		}
		err = into_dir(&dst, src.path, &target);
		if (!err)
			err = pc_rename(dst.img->m, src.path, target.path);
		if (err == -EINVAL) {
			pcfs_msg("mv", "cannot move '%s' to a subdirectory of itself, '%s'", src.disp,
				 target.disp);
			status = 1;
		} else if (err) {
			pcfs_err(src.disp, err);
			status = 1;
		}
		pcfs_loc_free(&target);
		pcfs_loc_free(&src);
	}
	pcfs_loc_free(&dst);
	return status;
}

int pcfs_cmd_ln(int argc, char **argv)
{
	struct pcfs_loc loc, target = { 0 };
	bool symbolic = false;
	int opt, err;

	while ((opt = getopt(argc, argv, "s")) != -1) {
		if (opt != 's') {
			pcfs_usage_err("usage: pcfs ln -s TARGET IMAGE:PATH");
			return 1;
		}
		symbolic = true;
	}
	if (!symbolic) {
		pcfs_usage_err("ln: only symbolic links are supported (ln -s TARGET IMAGE:PATH)");
		return 1;
	}
	if (argc - optind != 2) {
		pcfs_usage_err("usage: pcfs ln -s TARGET IMAGE:PATH");
		return 1;
	}
	if (open_operand(argv[optind + 1], false, true, &loc))
		return 1;
	err = into_dir(&loc, argv[optind], &target);
	if (err) {
		pcfs_err(loc.disp, err);
		pcfs_loc_free(&loc);
		return 1;
	}
	err = pc_symlink(loc.img->m, argv[optind], target.path);
	if (err)
		pcfs_err(target.disp, err);
	pcfs_loc_free(&target);
	pcfs_loc_free(&loc);
	return err ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* truncate                                                                 */
/* ------------------------------------------------------------------------ */

int pcfs_cmd_truncate(int argc, char **argv)
{
	const char *size_arg = NULL;
	uint64_t size;
	int opt, i, status = 0;

	while ((opt = getopt(argc, argv, "s:")) != -1) {
		if (opt != 's') {
			pcfs_usage_err("usage: pcfs truncate -s SIZE IMAGE:PATH...");
			return 1;
		}
		size_arg = optarg;
	}
	if (!size_arg) {
		pcfs_usage_err("truncate: -s SIZE is required");
		return 1;
	}
	if (pcfs_parse_size(size_arg, &size) || size > INT64_MAX) {
		pcfs_usage_err("truncate: invalid size '%s'", size_arg);
		return 1;
	}
	if (optind >= argc) {
		pcfs_usage_err("truncate: missing operand");
		return 1;
	}
	for (i = optind; i < argc; i++) {
		struct pcfs_loc loc;
		int err;

		if (open_operand(argv[i], false, true, &loc)) {
			status = 1;
			continue;
		}
		err = pc_truncate(loc.img->m, loc.path, (off_t)size);
		if (err == -ENOENT) {
			/* like truncate(1): create a missing file */
			int fd = pc_open(loc.img->m, loc.path, O_WRONLY | O_CREAT,
					 0666 & ~pcfs_umask);

			err = fd;
			if (fd >= 0) {
				int cerr;

				err = pc_ftruncate(fd, (off_t)size);
				cerr = pc_close(fd);
				if (!err)
					err = cerr;
			}
		}
		if (err) {
			pcfs_err(loc.disp, err);
			status = 1;
		}
		pcfs_loc_free(&loc);
	}
	return status;
}
