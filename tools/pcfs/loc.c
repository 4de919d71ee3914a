/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tools/pcfs/loc.c - operands and file operations on either side.
 *
 * An operand is "IMAGE:PATH" when the text before one of its ':' names an
 * existing regular file or block device (the image) or a directory store
 * (objfs on the embedded store), "rados:POOL:PATH" (objfs on a RADOS pool),
 * otherwise a host path.
 * Image paths are normalised: a leading '/' is added if missing, repeated
 * '/' and "." components are dropped, and so is a trailing '/'; a final "."
 * is kept (it says "the directory itself": "IMG:/f/." is not the file /f,
 * and rm refuses "IMG:/d/." as it refuses "IMG:/d/.."). ".." is left to the
 * filesystem's directories.
 *
 * The pcfs_loc_* functions hide which side a path is on so that cp can copy
 * host->image, image->host, image->image (and host->host) with one loop.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcfs.h"

/* Every image named so far (mounted or not); freed by pcfs.c at exit. */
struct pcfs_image *pcfs_images;

/* @st: the image's (or directory store's) stat; NULL for a RADOS source,
 * which is known by its name. */
static struct pcfs_image *image_get(const char *name, const struct stat *st, enum pcfs_kind kind)
{
	struct pcfs_image *img;

	for (img = pcfs_images; img; img = img->next) {
		if (img->kind != kind)
			continue;
		if (st ? img->dev == st->st_dev && img->ino == st->st_ino : !strcmp(img->name, name))
			return img;
	}
	img = calloc(1, sizeof(*img));
	if (!img)
		return NULL;
	img->name = strdup(name);
	if (!img->name) {
		free(img);
		return NULL;
	}
	img->kind = kind;
	if (st) {
		img->dev = st->st_dev;
		img->ino = st->st_ino;
	}
	img->next = pcfs_images;
	pcfs_images = img;
	return img;
}

static bool is_image_file(const char *path, struct stat *st)
{
	if (!*path || stat(path, st))
		return false;
	return S_ISREG(st->st_mode) || S_ISBLK(st->st_mode);
}

bool pcfs_is_dir_store(const char *path, struct stat *st)
{
	struct stat sb;
	int dfd;
	bool ok;

	if (!*path || stat(path, st) || !S_ISDIR(st->st_mode))
		return false;
	/* A directory store is complete once DIR/pcstore is there (its
	 * superblock, written last by pc_objstore_mkfs_dir). */
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return false;
	ok = !fstatat(dfd, "pcstore", &sb, AT_SYMLINK_NOFOLLOW) && S_ISREG(sb.st_mode);
	close(dfd);
	return ok;
}

/* The kind of source @path names (an image file or a directory store), or
 * -1 if neither; fills *@st. */
static int source_kind(const char *path, struct stat *st)
{
	if (is_image_file(path, st))
		return PCFS_IMAGE;
	if (pcfs_is_dir_store(path, st))
		return PCFS_OBJFS_DIR;
	return -1;
}

static int loc_set(struct pcfs_loc *loc, struct pcfs_image *img, const char *imgname,
		   const char *path);

/* "rados:POOL[:PATH]": POOL ends at the next ':' (or the end: the root). */
static int parse_rados(const char *arg, struct pcfs_loc *loc)
{
	const char *pool = arg + 6, *end = strchrnul(pool, ':');
	struct pcfs_image *img;
	char *name;
	int err;

	if (end == pool)
		return -EINVAL;		/* "rados:" or "rados::PATH": no pool */
	name = strndup(arg, (size_t)(end - arg));
	if (!name)
		return -ENOMEM;
	img = image_get(name, NULL, PCFS_OBJFS_RADOS);
	err = img ? loc_set(loc, img, name, *end ? end + 1 : "/") : -ENOMEM;
	free(name);
	return err;
}

/* Normalised absolute image path of @p (see the top of the file). */
static char *normalize_image_path(const char *p)
{
	size_t len = strlen(p);
	char *out = malloc(len + 2);
	size_t o = 0;

	if (!out)
		return NULL;
	while (*p) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 0)
			continue;
		if (n == 1 && c[0] == '.') {
			while (*p == '/')
				p++;
			if (*p)
				continue;	/* a final "." stays */
		}
		out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

static int loc_set(struct pcfs_loc *loc, struct pcfs_image *img, const char *imgname,
		   const char *path)
{
	loc->img = img;
	if (img) {
		loc->path = normalize_image_path(path);
		if (!loc->path)
			return -ENOMEM;
		if (asprintf(&loc->disp, "%s:%s", imgname, loc->path) < 0) {
			loc->disp = NULL;
			free(loc->path);
			loc->path = NULL;
			return -ENOMEM;
		}
	} else {
		loc->path = strdup(path);
		loc->disp = strdup(path);
		if (!loc->path || !loc->disp) {
			free(loc->path);
			free(loc->disp);
			loc->path = loc->disp = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

int pcfs_parse_operand(const char *arg, bool bare_image, struct pcfs_loc *loc)
{
	struct pcfs_image *img;
	struct stat st;
	const char *colon;
	char *prefix;

	int kind;

	memset(loc, 0, sizeof(*loc));
	if (!strncmp(arg, "rados:", 6))
		return parse_rados(arg, loc);
	for (colon = strchr(arg, ':'); colon; colon = strchr(colon + 1, ':')) {
		int err;

		prefix = strndup(arg, (size_t)(colon - arg));
		if (!prefix)
			return -ENOMEM;
		kind = source_kind(prefix, &st);
		if (kind < 0) {
			free(prefix);
			continue;
		}
		img = image_get(prefix, &st, (enum pcfs_kind)kind);
		err = img ? loc_set(loc, img, prefix, colon + 1) : -ENOMEM;
		free(prefix);
		return err;
	}
	if (bare_image && (kind = source_kind(arg, &st)) >= 0) {
		img = image_get(arg, &st, (enum pcfs_kind)kind);
		return img ? loc_set(loc, img, arg, "/") : -ENOMEM;
	}
	return loc_set(loc, NULL, NULL, arg);
}

int pcfs_parse_image_operand(const char *arg, bool bare_image, struct pcfs_loc *loc)
{
	int err = pcfs_parse_operand(arg, bare_image, loc);

	if (err == -EINVAL) {
		pcfs_msg(arg, "no pool name (rados:POOL:PATH)");
		return err;
	}
	if (err) {
		pcfs_err(arg, err);
		return err;
	}
	if (!loc->img) {
		pcfs_msg(arg, "not %s (IMAGE must be an existing image file or block device, "
			 "a directory store or rados:POOL)",
			 bare_image ? "IMAGE or IMAGE:PATH" : "IMAGE:PATH");
		pcfs_loc_free(loc);
		return -EINVAL;
	}
	return 0;
}

void pcfs_loc_free(struct pcfs_loc *loc)
{
	free(loc->path);
	free(loc->disp);
	loc->path = loc->disp = NULL;
}

static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	char *out;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (asprintf(&out, "%.*s%s%s", (int)dl, dir, dir[dl - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return out;
}

int pcfs_loc_child(const struct pcfs_loc *parent, const char *name, struct pcfs_loc *child)
{
	child->img = parent->img;
	child->path = join(parent->path, name);
	child->disp = join(parent->disp, name);
	if (!child->path || !child->disp) {
		pcfs_loc_free(child);
		return -ENOMEM;
	}
	return 0;
}

char *pcfs_basename(const char *path)
{
	size_t end = strlen(path), start;

	while (end > 1 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (start == end)	/* "/" (or "") */
		return strdup(end ? "/" : "");
	return strndup(path + start, end - start);
}

bool pcfs_path_ends_in_dots(const char *path)
{
	char *base = pcfs_basename(path);
	bool dots = base && (!strcmp(base, ".") || !strcmp(base, ".."));

	free(base);
	return dots;
}

struct pcfs_image *pcfs_image_of_host_file(const struct stat *st)
{
	struct pcfs_image *img;

	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return NULL;
	for (img = pcfs_images; img; img = img->next)
		if (img->kind == PCFS_IMAGE && img->dev == st->st_dev && img->ino == st->st_ino)
			return img;
	return NULL;
}

bool pcfs_loc_same_fs(const struct pcfs_loc *a, const struct pcfs_loc *b)
{
	return a->img == b->img;
}

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

int pcfs_loc_stat(const struct pcfs_loc *loc, struct stat *st)
{
	if (loc->img)
		return pc_stat(loc->img->m, loc->path, st);
	return stat(loc->path, st) ? neg_errno() : 0;
}

int pcfs_loc_lstat(const struct pcfs_loc *loc, struct stat *st)
{
	if (loc->img)
		return pc_lstat(loc->img->m, loc->path, st);
	return lstat(loc->path, st) ? neg_errno() : 0;
}

int pcfs_loc_mkdir(const struct pcfs_loc *loc, mode_t mode)
{
	if (loc->img)
		return pc_mkdir(loc->img->m, loc->path, mode);
	return mkdir(loc->path, mode) ? neg_errno() : 0;
}

int pcfs_loc_rmdir(const struct pcfs_loc *loc)
{
	if (loc->img)
		return pc_rmdir(loc->img->m, loc->path);
	return rmdir(loc->path) ? neg_errno() : 0;
}

int pcfs_loc_unlink(const struct pcfs_loc *loc)
{
	if (loc->img)
		return pc_unlink(loc->img->m, loc->path);
	return unlink(loc->path) ? neg_errno() : 0;
}

int pcfs_loc_symlink(const char *target, const struct pcfs_loc *loc)
{
	if (loc->img)
		return pc_symlink(loc->img->m, target, loc->path);
	return symlink(target, loc->path) ? neg_errno() : 0;
}

int pcfs_loc_readlink(const struct pcfs_loc *loc, char **out)
{
	struct stat st;
	size_t size;
	ssize_t n;
	char *buf;
	int err;

	err = pcfs_loc_lstat(loc, &st);
	if (err)
		return err;
	if (!S_ISLNK(st.st_mode))
		return -EINVAL;
	/* st_size is the target length; leave room to notice growth. */
	size = (st.st_size > 0 ? (size_t)st.st_size : 0) + PATH_MAX;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	if (loc->img)
		n = pc_readlink(loc->img->m, loc->path, buf, size);
	else if ((n = readlink(loc->path, buf, size)) < 0)
		n = neg_errno();
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	if ((size_t)n >= size) {
		free(buf);
		return -ENAMETOOLONG;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int pcfs_loc_chmod(const struct pcfs_loc *loc, mode_t mode)
{
	if (loc->img)
		return pc_chmod(loc->img->m, loc->path, mode);
	return chmod(loc->path, mode) ? neg_errno() : 0;
}

int pcfs_loc_chown(const struct pcfs_loc *loc, uid_t uid, gid_t gid)
{
	if (loc->img)
		return pc_chown(loc->img->m, loc->path, uid, gid);
	return lchown(loc->path, uid, gid) ? neg_errno() : 0;
}

int pcfs_loc_utimens(const struct pcfs_loc *loc, const struct timespec ts[2])
{
	if (loc->img)
		return pc_utimens(loc->img->m, loc->path, ts);
	return utimensat(AT_FDCWD, loc->path, ts, AT_SYMLINK_NOFOLLOW) ? neg_errno() : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_add(char ***names, size_t *count, size_t *cap, const char *name)
{
	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		char **n = realloc(*names, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		*names = n;
		*cap = ncap;
	}
	(*names)[*count] = strdup(name);
	if (!(*names)[*count])
		return -ENOMEM;
	(*count)++;
	return 0;
}

static bool is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

void pcfs_free_names(char **names, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int pcfs_loc_list(const struct pcfs_loc *loc, bool dots, char ***names, size_t *count)
{
	size_t cap = 0;
	int err = 0;

	*names = NULL;
	*count = 0;
	if (loc->img) {
		struct pc_dirent ent;
		struct pc_dir *dir;
		int r;

		err = pc_opendir(loc->img->m, loc->path, &dir);
		if (err)
			return err;
		while ((r = pc_readdir(dir, &ent)) > 0) {
			if (!dots && is_dot(ent.d_name))
				continue;
			err = names_add(names, count, &cap, ent.d_name);
			if (err)
				break;
		}
		if (r < 0 && !err)
			err = r;
		r = pc_closedir(dir);
		if (r < 0 && !err)
			err = r;
	} else {
		struct dirent *de;
		DIR *dir = opendir(loc->path);

		if (!dir)
			return neg_errno();
		for (;;) {
			errno = 0;
			de = readdir(dir);
			if (!de) {
				if (errno)
					err = -errno;
				break;
			}
			if (!dots && is_dot(de->d_name))
				continue;
			err = names_add(names, count, &cap, de->d_name);
			if (err)
				break;
		}
		closedir(dir);
	}
	if (err) {
		pcfs_free_names(*names, *count);
		*names = NULL;
		*count = 0;
		return err;
	}
	if (*count)
		qsort(*names, *count, sizeof(**names), cmp_names);
	return 0;
}

int pcfs_file_open(struct pcfs_file *f, const struct pcfs_loc *loc, int flags, mode_t mode)
{
	f->loc = loc;
	if (loc->img) {
		f->fd = pc_open(loc->img->m, loc->path, flags, mode);
		return f->fd < 0 ? f->fd : 0;
	}
	f->fd = open(loc->path, flags | O_CLOEXEC | O_NOCTTY, mode);
	return f->fd < 0 ? neg_errno() : 0;
}

ssize_t pcfs_file_pread(struct pcfs_file *f, void *buf, size_t count, off_t off)
{
	ssize_t n;

	if (f->loc->img)
		return pc_pread(f->fd, buf, count, off);
	do {
		n = pread(f->fd, buf, count, off);
	} while (n < 0 && errno == EINTR && !pcfs_interrupted);
	return n < 0 ? neg_errno() : n;
}

int pcfs_file_pwrite_all(struct pcfs_file *f, const void *buf, size_t count, off_t off)
{
	const char *p = buf;

	while (count) {
		ssize_t n;

		if (f->loc->img) {
			n = pc_pwrite(f->fd, p, count, off);
		} else {
			n = pwrite(f->fd, p, count, off);
			if (n < 0 && errno == EINTR && !pcfs_interrupted)
				continue;
			if (n < 0)
				n = neg_errno();
		}
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;	/* no progress: do not spin */
		p += n;
		off += n;
		count -= (size_t)n;
	}
	return 0;
}

int pcfs_file_ftruncate(struct pcfs_file *f, off_t len)
{
	if (f->loc->img)
		return pc_ftruncate(f->fd, len);
	return ftruncate(f->fd, len) ? neg_errno() : 0;
}

off_t pcfs_file_lseek(struct pcfs_file *f, off_t off, int whence)
{
	off_t r;

	if (f->loc->img)
		return pc_lseek(f->fd, off, whence);
	r = lseek(f->fd, off, whence);
	return r < 0 ? neg_errno() : r;
}

int pcfs_file_fstat(struct pcfs_file *f, struct stat *st)
{
	if (f->loc->img)
		return pc_fstat(f->fd, st);
	return fstat(f->fd, st) ? neg_errno() : 0;
}

int pcfs_file_close(struct pcfs_file *f)
{
	int fd = f->fd, err;

	f->fd = -1;
	if (fd < 0)
		return 0;
	if (f->loc->img)
		return pc_close(fd);
	err = close(fd);
	return err && errno != EINTR ? neg_errno() : 0;
}

int pcfs_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}
