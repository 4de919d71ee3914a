/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tools/pcfs/cp.c - pcfs cp [-r] [-p] [--direct] SRC... DST
 *
 * cp(1) semantics: if DST is an existing directory each SRC is copied into
 * it under its own name, otherwise SRC is copied as DST (only one SRC
 * then). A SRC of IMAGE:/ or of a path ending in "/." copies the directory's
 * contents into DST. With -r directories are copied recursively and
 * symbolic links are copied as links (never followed, also not on the
 * command line); without -r a symlink SRC is followed and a directory SRC
 * is an error. Devices, FIFOs and sockets are not copied (an error).
 * Refused before copying: a directory into itself or below itself (by
 * inode: dir_contains), a file onto itself (same_inode), and any write to,
 * or copy from into its own image of, a host file that is one of the
 * command's images (touches_image).
 *
 * Data moves through one 1 MiB aligned buffer. A host source is read with
 * POSIX_FADV_SEQUENTIAL. The holes of the source, host or image, are
 * skipped (SEEK_DATA/SEEK_HOLE; pc_lseek for an image file): only its data
 * extents are read and written, and the destination is then truncated to
 * the size, so a sparse file stays sparse on either side and a 1 TiB file
 * with a few MiB of data copies in the time of its data. Inside the data
 * extents of an image source that has holes (st_blocks below its size),
 * 4 KiB blocks of zeros are not written either (like cp --sparse=auto).
 * A source without SEEK_DATA is read sequentially. Writes into an image are
 * buffered by the page cache; they reach the disk at unmount, whose error
 * (pcfs.c) is the one that says whether the copy is durable.
 *
 * -p preserves mode (with set-id bits), atime and mtime, and the owner: on
 * an image always, on the host only when running as root (as cp(1)). The
 * attributes of a symbolic link inside an image are not preserved: the
 * public API has no lchown/lutimes.
 *
 * --direct opens both files with O_DIRECT: the image file through the
 * library (pc_open(O_DIRECT), alignment from pc_fdioalign), the host file
 * with open(2) (assumed alignment HOST_DIO_ALIGN; a host filesystem that
 * refuses O_DIRECT with EINVAL, at open or at the first transfer, is used
 * buffered instead, silently). Every transfer whose offset, length and
 * buffer address are multiples of the file's alignment goes through the
 * direct descriptor; the rest - in practice the unaligned tail of a file
 * whose size is not a multiple of the alignment - goes through a second,
 * buffered descriptor of the same file, opened when first needed. Direct
 * reads come back short at EOF, which ends the copy as usual; a write is
 * split into its aligned head (direct) and its tail (buffered), so the file
 * gets exactly its bytes and size without padding and truncating. The
 * library keeps the two descriptors coherent (direct I/O writes back and
 * invalidates the cached pages of its range); what the buffered descriptor
 * wrote reaches the disk at unmount like any cp.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcfs.h"

#define CP_BUF_SIZE		(1u << 20)
#define PROGRESS_MIN_SIZE	(64ull << 20)
/* --direct: alignment assumed for host files (bytes), and the least
 * alignment of the buffer and of the offsets of a sparse host source's
 * data extents. */
#define HOST_DIO_ALIGN		4096u

struct cp_ctx {
	bool recursive, preserve, root, direct;
	char *buf;
	size_t buf_align;	/* bytes; @buf is aligned to this */
	int status;
	/* destination directory of the current top-level SRC (loop guard) */
	bool guard;
	const struct pcfs_image *guard_img;
	dev_t guard_dev;
	ino_t guard_ino;
	uint64_t files, dirs, links, bytes;
};

/*
 * struct cp_file - one side of a file copy.
 * @f:      the descriptor; with --direct opened with O_DIRECT if @direct.
 * @bf:     with @direct: a buffered descriptor of the same file for the
 *          unaligned pieces, opened on first need (fd -1 until then).
 * @direct: @f was opened with O_DIRECT.
 * @align:  bytes: offset, length and buffer alignment of direct transfers
 *          through @f; 0: none (anymore): everything through @bf.
 * @bflags: open flags of @bf (O_RDONLY or O_WRONLY).
 */
struct cp_file {
	struct pcfs_file f, bf;
	bool direct;
	unsigned align;
	int bflags;
};

struct progress {
	bool on;
	const char *name;
	uint64_t total;
	struct timespec start, last;
};

static double now_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress_start(struct progress *p, const char *name, uint64_t total)
{
	p->on = total >= PROGRESS_MIN_SIZE && isatty(STDERR_FILENO);
	p->name = name;
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last.tv_sec = 0;
	p->last.tv_nsec = 0;
}

static void progress_draw(struct progress *p, uint64_t done, bool final)
{
	struct timespec now;
	double el, rate;
	size_t len;
	const char *name;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && now_diff(&p->last, &now) < 0.2)
		return;
	p->last = now;
	el = now_diff(&p->start, &now);
	rate = el > 0 ? (double)done / (1024.0 * 1024.0) / el : 0.0;
	name = p->name;
	len = strlen(name);
	if (len > 40)
		name += len - 37;
	fprintf(stderr, "\r%s%s %3u%% %8.1f/%.1f MiB %8.1f MiB/s\033[K", len > 40 ? "..." : "",
		name, p->total ? (unsigned)(done * 100 / p->total) : 100u,
		(double)done / (1024.0 * 1024.0), (double)p->total / (1024.0 * 1024.0), rate);
	if (final)
		fputc('\n', stderr);
}

/* Report a failure on @what and mark the exit status. */
static void fail(struct cp_ctx *c, const char *what, int err)
{
	if (err == -EINTR && pcfs_interrupted) {
		c->status = 1;	/* pcfs.c says "interrupted" once */
		return;
	}
	pcfs_err(what, err);
	c->status = 1;
}

static bool same_inode(const struct pcfs_loc *a, const struct stat *sa, const struct pcfs_loc *b,
		       const struct stat *sb)
{
	if (!pcfs_loc_same_fs(a, b))
		return false;
	return sa->st_ino == sb->st_ino && (a->img || sa->st_dev == sb->st_dev);
}

/*
 * Open @loc with @flags (O_RDONLY, or O_WRONLY|O_CREAT|O_TRUNC) and @mode
 * into @cf; with --direct, with O_DIRECT (see the top of the file).
 * Returns 0 or -errno; -EINVAL also when an image file has no usable
 * direct I/O alignment.
 */
static int cpf_open(struct cp_ctx *c, struct cp_file *cf, const struct pcfs_loc *loc, int flags,
		    mode_t mode)
{
	unsigned mem_align, off_align;
	int err;

	cf->direct = false;
	cf->align = 0;
	cf->bflags = flags & O_ACCMODE;
	cf->bf.loc = loc;
	cf->bf.fd = -1;
	if (!c->direct)
		return pcfs_file_open(&cf->f, loc, flags, mode);
	err = pcfs_file_open(&cf->f, loc, flags | O_DIRECT, mode);
	if (err == -EINVAL && !loc->img)	/* no O_DIRECT on this host filesystem */
		return pcfs_file_open(&cf->f, loc, flags, mode);
	if (err)
		return err;
	cf->direct = true;
	if (!loc->img) {
		cf->align = HOST_DIO_ALIGN;
		return 0;
	}
	err = pc_fdioalign(cf->f.fd, &mem_align, &off_align);
	if (!err) {
		cf->align = mem_align > off_align ? mem_align : off_align;
		if (!cf->align || (cf->align & (cf->align - 1)) || cf->align > CP_BUF_SIZE)
			err = -EINVAL;
	}
	if (err) {
		pcfs_file_close(&cf->f);
		cf->direct = false;
		cf->align = 0;
	}
	return err;
}

/* Close both descriptors of @cf; 0 or the first -errno. */
static int cpf_close(struct cp_file *cf)
{
	int err = 0, err2;

	if (cf->bf.fd >= 0)
		err = pcfs_file_close(&cf->bf);
	err2 = pcfs_file_close(&cf->f);
	return err ? err : err2;
}

/* *@out = the descriptor for buffered transfers (opens @cf->bf). */
static int cpf_buffered(struct cp_file *cf, struct pcfs_file **out)
{
	int err;

	if (!cf->direct) {
		*out = &cf->f;
		return 0;
	}
	if (cf->bf.fd < 0) {
		err = pcfs_file_open(&cf->bf, cf->f.loc, cf->bflags, 0);
		if (err) {
			cf->bf.fd = -1;
			return err;
		}
	}
	*out = &cf->bf;
	return 0;
}

static bool is_aligned(uint64_t v, unsigned align)
{
	return !(v & (align - 1));
}

/* pread from @cf: direct when @buf, @count and @off allow, else buffered. */
static ssize_t cpf_pread(struct cp_file *cf, void *buf, size_t count, off_t off)
{
	struct pcfs_file *b;
	ssize_t n;
	int err;

	if (cf->align && is_aligned((uintptr_t)buf, cf->align) && is_aligned(count, cf->align) &&
	    is_aligned((uint64_t)off, cf->align)) {
		n = pcfs_file_pread(&cf->f, buf, count, off);
		if (n != -EINVAL || cf->f.loc->img)
			return n;
		cf->align = 0;	/* the host refuses this alignment: buffered from now on */
	}
	err = cpf_buffered(cf, &b);
	if (err)
		return err;
	return pcfs_file_pread(b, buf, count, off);
}

/*
 * Write all @count bytes of @buf at @off to @cf: the largest aligned head
 * direct (when @buf and @off are aligned), what is left buffered.
 */
static int cpf_pwrite_all(struct cp_file *cf, const char *buf, size_t count, off_t off)
{
	struct pcfs_file *b;
	int err;

	if (cf->align && is_aligned((uintptr_t)buf, cf->align) &&
	    is_aligned((uint64_t)off, cf->align)) {
		size_t head = count & ~(size_t)(cf->align - 1);

		if (head) {
			err = pcfs_file_pwrite_all(&cf->f, buf, head, off);
			if (!err) {
				buf += head;
				off += (off_t)head;
				count -= head;
			} else if (err != -EINVAL || cf->f.loc->img) {
				return err;
			} else {
				cf->align = 0;	/* host: rewrite it all buffered */
			}
		}
	}
	if (!count)
		return 0;
	err = cpf_buffered(cf, &b);
	if (err)
		return err;
	return pcfs_file_pwrite_all(b, buf, count, off);
}

static bool all_zero(const char *p, size_t n)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;	/* 8-aligned: see callers */
	size_t i;

	for (i = 0; i < n / 8; i++)
		if (w[i])
			return false;
	for (i = n & ~(size_t)7; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Write @n bytes of @buf at @off; with @sparse, 4 KiB blocks of zeros are
 * skipped (the destination was truncated, so they read back as zeros, and
 * copy_data sets the final size).
 */
static int write_out(struct cp_file *out, const char *buf, size_t n, off_t off, bool sparse)
{
	const size_t blk = 4096;
	size_t i = 0;

	if (!sparse)
		return cpf_pwrite_all(out, buf, n, off);
	while (i < n) {
		size_t len = n - i < blk ? n - i : blk, j;
		int err;

		if (all_zero(buf + i, len)) {
			i += len;
			continue;
		}
		for (j = i + len; j < n; j += len) {
			len = n - j < blk ? n - j : blk;
			if (all_zero(buf + j, len))
				break;
		}
		if (j > n)
			j = n;
		err = cpf_pwrite_all(out, buf + i, j - i, off + (off_t)i);
		if (err)
			return err;
		i = j;
	}
	return 0;
}

/* Copy [start, end) or up to EOF (*@eof set); *@pos is where it stopped. */
static int copy_range(struct cp_ctx *c, struct cp_file *in, struct cp_file *out, off_t start,
		      off_t end, bool sparse, off_t *pos, bool *eof, struct progress *pr, int *side)
{
	off_t p = start;

	*eof = false;
	while (p < end) {
		size_t want = CP_BUF_SIZE;
		ssize_t n;
		int err;

		if (pcfs_interrupted)
			return -EINTR;
		if ((uint64_t)(end - p) < want)
			want = (size_t)(end - p);
		n = cpf_pread(in, c->buf, want, p);
		if (n < 0) {
			*side = 0;
			return (int)n;
		}
		if (n == 0) {
			*eof = true;
			break;
		}
		err = write_out(out, c->buf, (size_t)n, p, sparse);
		if (err) {
			*side = 1;
			return err;
		}
		p += n;
		c->bytes += (uint64_t)n;
		progress_draw(pr, (uint64_t)p, false);
	}
	*pos = p;
	return 0;
}

/*
 * Copy the data of open @in (@size bytes when opened) to open, empty @out
 * and give @out its final size. The source is walked by data extent
 * (holes skipped), or read sequentially to EOF where it has no SEEK_DATA;
 * blocks of zeros are skipped when @sparse. *@side says which file an error belongs to
 * (0 source, 1 destination).
 */
static int copy_data(struct cp_ctx *c, struct cp_file *in, struct cp_file *out, off_t size,
		     bool sparse, struct progress *pr, int *side)
{
	off_t pos = 0, final = 0;
	bool eof = false;
	struct stat ost;
	uint64_t ra = 1;	/* extents are widened to multiples of this */
	int err;

	if (c->direct) {
		/* keep transfers aligned for both sides (holes read as zeros) */
		ra = HOST_DIO_ALIGN;
		if (in->align > ra)
			ra = in->align;
		if (out->align > ra)
			ra = out->align;
	}
	{
		for (;;) {
			off_t data, hole;

			if (pcfs_interrupted)
				return -EINTR;
			data = pcfs_file_lseek(&in->f, pos, SEEK_DATA);
			if (data < 0) {
				if (data == -ENXIO)		/* only a hole is left */
					break;
				if (data != -EINVAL && data != -EOPNOTSUPP) {
					*side = 0;
					return (int)data;
				}
				goto sequential;		/* no SEEK_DATA here */
			}
			hole = pcfs_file_lseek(&in->f, data, SEEK_HOLE);
			if (hole < 0) {
				*side = 0;
				return (int)hole;
			}
			data = (off_t)((uint64_t)data & ~(ra - 1));
			if (data < pos)
				data = pos;
			if ((uint64_t)hole <= (uint64_t)INT64_MAX - ra)
				hole = (off_t)(((uint64_t)hole + ra - 1) & ~(ra - 1));
			err = copy_range(c, in, out, data, hole, sparse, &pos, &eof, pr, side);
			if (err)
				return err;
			final = pos;
			if (eof || pos >= size)
				break;
		}
		if (!eof && final < size)
			final = size;	/* a trailing hole */
		goto set_size;
	}
sequential:
	err = copy_range(c, in, out, 0, INT64_MAX, sparse, &final, &eof, pr, side);
	if (err)
		return err;
set_size:
	err = pcfs_file_fstat(&out->f, &ost);
	if (!err && ost.st_size != final)
		err = pcfs_file_ftruncate(&out->f, final);
	if (err)
		*side = 1;
	return err;
}

static void preserve_attrs(struct cp_ctx *c, const struct pcfs_loc *dst, const struct stat *sst)
{
	bool link = S_ISLNK(sst->st_mode);
	struct timespec ts[2];
	int err;

	if (link && dst->img)
		return;		/* no lchown/lutimes in the public API */
	if (dst->img || c->root) {
		err = pcfs_loc_chown(dst, sst->st_uid, sst->st_gid);
		if (err)
			fail(c, dst->disp, err);
	}
	if (!link) {
		/* after chown, which may clear the set-id bits */
		err = pcfs_loc_chmod(dst, sst->st_mode & 07777);
		if (err)
			fail(c, dst->disp, err);
	}
	ts[0] = sst->st_atim;
	ts[1] = sst->st_mtim;
	err = pcfs_loc_utimens(dst, ts);
	if (err && !(link && err == -EOPNOTSUPP))
		fail(c, dst->disp, err);
}

/* With --direct, make c->buf aligned for both @in and @out. 0 or -ENOMEM. */
static int buf_align_for(struct cp_ctx *c, const struct cp_file *in, const struct cp_file *out)
{
	size_t need = in->align > out->align ? in->align : out->align;
	char *buf;

	if (need <= c->buf_align)
		return 0;
	buf = aligned_alloc(need, CP_BUF_SIZE);	/* need <= CP_BUF_SIZE: cpf_open */
	if (!buf)
		return -ENOMEM;
	free(c->buf);
	c->buf = buf;
	c->buf_align = need;
	return 0;
}

/*
 * A host file that is one of the images of this command is never written,
 * replaced nor copied into its own image (a typo such as "pcfs cp IMG:/f IMG"
 * would truncate the image). @dst_st: the host destination's stat (lstat for
 * a symlink's), or NULL if it does not exist. Prints and returns true to
 * refuse.
 */
static bool touches_image(struct cp_ctx *c, const struct pcfs_loc *src, const struct stat *sst,
			  const struct pcfs_loc *dst, const struct stat *dst_st)
{
	struct pcfs_image *img;

	if (!dst->img && dst_st && (img = pcfs_image_of_host_file(dst_st))) {
		pcfs_msg(dst->disp, "is the image %s of this command: not overwritten", img->name);
		c->status = 1;
		return true;
	}
	if (!src->img && dst->img && pcfs_image_of_host_file(sst) == dst->img) {
		pcfs_msg(src->disp, "is the image %s being written: not copied into itself",
			 dst->img->name);
		c->status = 1;
		return true;
	}
	return false;
}

static void copy_file(struct cp_ctx *c, const struct pcfs_loc *src, const struct stat *sst,
		      const struct pcfs_loc *dst)
{
	struct cp_file in, out;
	struct progress pr;
	struct stat dst_st, in_st;
	int err, side = 0;
	bool sparse;

	err = pcfs_loc_stat(dst, &dst_st);
	if (touches_image(c, src, sst, dst, err ? NULL : &dst_st))
		return;
	if (!err) {
		if (S_ISDIR(dst_st.st_mode)) {
			fail(c, dst->disp, -EISDIR);
			return;
		}
		if (same_inode(src, sst, dst, &dst_st)) {
			pcfs_msg(dst->disp, "'%s' and '%s' are the same file", src->disp, dst->disp);
			c->status = 1;
			return;
		}
	}
	err = cpf_open(c, &in, src, O_RDONLY, 0);
	if (err) {
		fail(c, src->disp, err);
		return;
	}
	err = pcfs_file_fstat(&in.f, &in_st);
	if (err) {
		fail(c, src->disp, err);
		goto out_close_in;
	}
	if (!src->img && !in.direct)
		posix_fadvise(in.f.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	err = cpf_open(c, &out, dst, O_WRONLY | O_CREAT | O_TRUNC,
		       in_st.st_mode & 0777 & ~pcfs_umask);
	if (err) {
		fail(c, dst->disp, err);
		goto out_close_in;
	}
	err = buf_align_for(c, &in, &out);
	if (err) {
		fail(c, dst->disp, err);
		goto out_close_out;
	}
	progress_start(&pr, dst->disp, (uint64_t)in_st.st_size);
	/* like cp --sparse=auto: look for zeros only if the source has holes;
	 * objfs cannot tell (no SEEK_DATA, st_blocks follows the size): always */
	sparse = src->img && ((uint64_t)in_st.st_blocks * 512 < (uint64_t)in_st.st_size ||
			      pcfs_is_objfs(src->img));
	err = copy_data(c, &in, &out, in_st.st_size, sparse, &pr, &side);
	if (err)
		fail(c, side ? dst->disp : src->disp, err);
	else
		progress_draw(&pr, (uint64_t)in_st.st_size, true);
	if (err && pr.on)
		fputc('\n', stderr);
	if (!err)
		c->files++;
out_close_out:
	err = cpf_close(&out);
	if (err)
		fail(c, dst->disp, err);
	if (c->preserve)
		preserve_attrs(c, dst, sst);
out_close_in:
	err = cpf_close(&in);
	if (err)
		fail(c, src->disp, err);
}

static void copy_symlink(struct cp_ctx *c, const struct pcfs_loc *src, const struct stat *sst,
			 const struct pcfs_loc *dst)
{
	struct stat dst_st;
	char *target;
	int err;

	err = pcfs_loc_readlink(src, &target);
	if (err) {
		fail(c, src->disp, err);
		return;
	}
	err = pcfs_loc_lstat(dst, &dst_st);
	if (touches_image(c, src, sst, dst, err ? NULL : &dst_st))
		goto out_free;
	if (!err) {
		/* Replace an existing non-directory, as cp does for links. */
		if (S_ISDIR(dst_st.st_mode)) {
			pcfs_msg(dst->disp, "cannot overwrite directory with non-directory");
			c->status = 1;
			goto out_free;
		}
		if (same_inode(src, sst, dst, &dst_st)) {
			pcfs_msg(dst->disp, "'%s' and '%s' are the same file", src->disp, dst->disp);
			c->status = 1;
			goto out_free;
		}
		err = pcfs_loc_unlink(dst);
		if (err) {
			fail(c, dst->disp, err);
			goto out_free;
		}
	}
	err = pcfs_loc_symlink(target, dst);
	if (err) {
		fail(c, dst->disp, err);
		goto out_free;
	}
	c->links++;
	if (c->preserve)
		preserve_attrs(c, dst, sst);
out_free:
	free(target);
}

static void copy_entry(struct cp_ctx *c, const struct pcfs_loc *src, const struct stat *sst,
		       const struct pcfs_loc *dst, bool top);

static void copy_dir(struct cp_ctx *c, const struct pcfs_loc *src, const struct stat *sst,
		     const struct pcfs_loc *dst, bool top)
{
	struct stat dst_st;
	mode_t made_mode = 0;
	bool created = false;
	char **names;
	size_t n, i;
	int err;

	if (!c->recursive) {
		pcfs_msg(src->disp, "is a directory (not copied; use -r)");
		c->status = 1;
		return;
	}
	if (c->guard && c->guard_img == src->img &&
	    sst->st_ino == c->guard_ino && (src->img || sst->st_dev == c->guard_dev)) {
		pcfs_msg(src->disp, "cannot copy a directory into itself (skipped)");
		c->status = 1;
		return;
	}
	err = pcfs_loc_stat(dst, &dst_st);
	if (err == -ENOENT) {
		made_mode = (sst->st_mode & 0777 & ~pcfs_umask) | S_IRWXU;
		err = pcfs_loc_mkdir(dst, made_mode);
		if (!err)
			err = pcfs_loc_stat(dst, &dst_st);
		if (err) {
			fail(c, dst->disp, err);
			return;
		}
		created = true;
		c->dirs++;
	} else if (err) {
		fail(c, dst->disp, err);
		return;
	} else if (!S_ISDIR(dst_st.st_mode)) {
		pcfs_msg(dst->disp, "cannot overwrite non-directory with directory");
		c->status = 1;
		return;
	}
	if (top) {
		c->guard = pcfs_loc_same_fs(src, dst);
		c->guard_img = dst->img;
		c->guard_dev = dst_st.st_dev;
		c->guard_ino = dst_st.st_ino;
	}

	err = pcfs_loc_list(src, false, &names, &n);
	if (err) {
		fail(c, src->disp, err);
		n = 0;
		names = NULL;
	}
	for (i = 0; i < n && !pcfs_interrupted; i++) {
		struct pcfs_loc cs, cd;
		struct stat cst;

		if (pcfs_loc_child(src, names[i], &cs)) {
			fail(c, src->disp, -ENOMEM);
			break;
		}
		if (pcfs_loc_child(dst, names[i], &cd)) {
			pcfs_loc_free(&cs);
			fail(c, dst->disp, -ENOMEM);
			break;
		}
		err = pcfs_loc_lstat(&cs, &cst);
		if (err)
			fail(c, cs.disp, err);
		else
			copy_entry(c, &cs, &cst, &cd, false);
		pcfs_loc_free(&cs);
		pcfs_loc_free(&cd);
	}
	pcfs_free_names(names, n);
	if (pcfs_interrupted)
		c->status = 1;

	if (c->preserve) {
		preserve_attrs(c, dst, sst);
	} else if (created && made_mode != (sst->st_mode & 0777 & ~pcfs_umask)) {
		err = pcfs_loc_chmod(dst, sst->st_mode & 0777 & ~pcfs_umask);
		if (err)
			fail(c, dst->disp, err);
	}
}

static void copy_entry(struct cp_ctx *c, const struct pcfs_loc *src, const struct stat *sst,
		       const struct pcfs_loc *dst, bool top)
{
	if (pcfs_interrupted) {
		c->status = 1;
		return;
	}
	if (S_ISDIR(sst->st_mode))
		copy_dir(c, src, sst, dst, top);
	else if (S_ISLNK(sst->st_mode))
		copy_symlink(c, src, sst, dst);
	else if (S_ISREG(sst->st_mode))
		copy_file(c, src, sst, dst);
	else {
		pcfs_msg(src->disp, "not copied: special file (device, FIFO or socket)");
		c->status = 1;
	}
}

/*
 * Is directory @src (@sst) @dst itself or an ancestor of it? @dst need not
 * exist: its nearest existing ancestor is checked. Walks ".." up from there
 * to the root, comparing inode numbers (and devices on the host), so that
 * "..", symlinks and repeated '/' in either path make no difference. Both
 * are on one side (pcfs_loc_same_fs). Returns true only when sure.
 */
static bool dir_contains(const struct pcfs_loc *src, const struct stat *sst,
			 const struct pcfs_loc *dst)
{
	struct pcfs_loc up = { .img = dst->img };
	struct stat st, prev = { 0 };
	bool found = false;
	size_t len;
	int err;

	up.path = malloc(PATH_MAX + 4);
	if (!up.path)
		return false;
	snprintf(up.path, PATH_MAX, "%s", dst->path);
	/* the nearest existing ancestor of @dst */
	while ((err = pcfs_loc_stat(&up, &st)) == -ENOENT) {
		char *slash;

		len = strlen(up.path);
		while (len > 1 && up.path[len - 1] == '/')
			up.path[--len] = '\0';
		slash = strrchr(up.path, '/');
		if (!slash)
			strcpy(up.path, ".");
		else if (slash == up.path)
			strcpy(up.path, "/");
		else
			*slash = '\0';
	}
	for (int depth = 0; !err && S_ISDIR(st.st_mode) && depth < 4096; depth++) {
		if (st.st_ino == sst->st_ino && (src->img || st.st_dev == sst->st_dev)) {
			found = true;
			break;
		}
		if (depth && st.st_ino == prev.st_ino && st.st_dev == prev.st_dev)
			break;	/* ".." of the root is the root */
		len = strlen(up.path);
		if (len + 4 > PATH_MAX)
			break;
		strcpy(up.path + len, "/..");
		prev = st;
		err = pcfs_loc_stat(&up, &st);
	}
	free(up.path);
	return found;
}

static void copy_top(struct cp_ctx *c, const struct pcfs_loc *src, const struct pcfs_loc *dst)
{
	struct stat st;
	int err;

	c->guard = false;
	err = c->recursive ? pcfs_loc_lstat(src, &st) : pcfs_loc_stat(src, &st);
	if (err) {
		fail(c, src->disp, err);
		return;
	}
	if (S_ISDIR(st.st_mode) && c->recursive && pcfs_loc_same_fs(src, dst) &&
	    dir_contains(src, &st, dst)) {
		pcfs_msg(src->disp, "cannot copy a directory into itself, '%s'", dst->disp);
		c->status = 1;
		return;
	}
	copy_entry(c, src, &st, dst, true);
}

/* Is @base a name that means "the directory itself" ("/", ".")? */
static bool copies_contents(const char *base)
{
	return !strcmp(base, "/") || !strcmp(base, ".") || !*base;
}

int pcfs_cmd_cp(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "recursive", no_argument, NULL, 'r' },
		{ "preserve", no_argument, NULL, 'p' },
		{ "direct", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct cp_ctx c = { .root = geteuid() == 0 };
	struct timespec t0, t1;
	struct pcfs_loc *locs, *dst;
	struct stat dst_st;
	bool dst_is_dir;
	int opt, nsrc, i, err;

	while ((opt = getopt_long(argc, argv, "rRpa", lopts, NULL)) != -1) {
		switch (opt) {
		case 'r': case 'R':
			c.recursive = true;
			break;
		case 'p':
			c.preserve = true;
			break;
		case 'a':
			c.recursive = c.preserve = true;
			break;
		case 'D':	/* --direct only (not in the short options) */
			c.direct = true;
			break;
		default:
			pcfs_usage_err("cp [-r] [-p] [--direct] SRC... DST");
			return 1;
		}
	}
	nsrc = argc - optind - 1;
	if (nsrc < 1) {
		pcfs_usage_err(nsrc < 0 ? "cp: missing file operand" :
			       "cp: missing destination after '%s'", argv[argc - 1]);
		return 1;
	}
	locs = calloc((size_t)nsrc + 1, sizeof(*locs));
	c.buf_align = HOST_DIO_ALIGN;
	c.buf = aligned_alloc(c.buf_align, CP_BUF_SIZE);
	if (!c.buf || !locs) {
		pcfs_err("cp", -ENOMEM);
		free(c.buf);
		free(locs);
		return 1;
	}
	for (i = 0; i <= nsrc; i++) {
		err = pcfs_parse_operand(argv[optind + i], false, &locs[i]);
		if (err == -EINVAL) {
			pcfs_msg(argv[optind + i], "no pool name (rados:POOL:PATH)");
			c.status = 1;
			goto out_free;
		}
		if (err) {
			pcfs_err(argv[optind + i], err);
			c.status = 1;
			goto out_free;
		}
	}
	dst = &locs[nsrc];

	/* Mount the destination read-write first, then sources read-only. */
	if (dst->img && pcfs_mount_image(dst->img, true)) {
		c.status = 1;
		goto out_free;
	}
	for (i = 0; i < nsrc; i++)
		if (locs[i].img && !locs[i].img->m && pcfs_mount_image(locs[i].img, false))
			c.status = 1;

	err = pcfs_loc_stat(dst, &dst_st);
	dst_is_dir = !err && S_ISDIR(dst_st.st_mode);
	if (err && err != -ENOENT) {
		pcfs_err(dst->disp, err);
		c.status = 1;
		goto out_free;
	}
	if (nsrc > 1 && !dst_is_dir) {
		pcfs_msg(dst->disp, "target is not a directory");
		c.status = 1;
		goto out_free;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nsrc && !pcfs_interrupted; i++) {
		struct pcfs_loc *src = &locs[i], target;
		char *base;

		if (src->img && !src->img->m)
			continue;	/* mount failure already reported */
		if (!dst_is_dir) {
			copy_top(&c, src, dst);
			continue;
		}
		base = pcfs_basename(src->path);
		if (!base) {
			fail(&c, src->disp, -ENOMEM);
			continue;
		}
		if (copies_contents(base)) {
			copy_top(&c, src, dst);
		} else if (pcfs_loc_child(dst, base, &target)) {
			fail(&c, dst->disp, -ENOMEM);
		} else {
			copy_top(&c, src, &target);
			pcfs_loc_free(&target);
		}
		free(base);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (pcfs_opt.stats) {
		double el = now_diff(&t0, &t1);

		fprintf(stderr,
			"pcfs: cp: %llu files (%.1f MiB), %llu directories, %llu symlinks "
			"copied in %.2f s (%.1f MiB/s, before unmount)\n",
			(unsigned long long)c.files, (double)c.bytes / (1024.0 * 1024.0),
			(unsigned long long)c.dirs, (unsigned long long)c.links, el,
			el > 0 ? (double)c.bytes / (1024.0 * 1024.0) / el : 0.0);
	}
out_free:
	for (i = 0; i <= nsrc; i++)
		pcfs_loc_free(&locs[i]);
	free(locs);
	free(c.buf);
	return c.status;
}
