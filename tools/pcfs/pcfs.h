/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tools/pcfs/pcfs.h - shared declarations of the pcfs command line.
 *
 * pcfs is a client of the public API only (pagecache/pagecache.h) and libc.
 * Files:
 *   pcfs.c  - main: global options, command dispatch, batch (commands
 *             read from a file, run in one process), the table of mounted
 *             images, --stats and unmount (where write-back errors surface);
 *   loc.c   - operands ("IMAGE:PATH" or a host path) and the handful of
 *             file operations that work on either side;
 *   cp.c    - cp;
 *   cmds.c  - ls, cat, stat, df, mkdir, rm, mv, truncate, ln;
 *   obj.c   - objfs sources: mkfs objfs, snap, opening a store for --stats
 *             (a counting wrapper around it) and the object statistics.
 *
 * Error convention: every helper returns 0 (or a count) or a negative errno,
 * like the library. Commands print one line per failure
 * ("pcfs: <operand>: <strerror>") and return 0 or 1 (the exit status).
 */
#ifndef PCFS_H
#define PCFS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <pagecache/pagecache.h>

/* Global options (before the command). */
struct pcfs_options {
	size_t cache_size;		/* bytes; 0: library default (256 MiB) */
	int engine;			/* 0 auto, 1 uring, 2 pread */
	bool stats;			/* --stats: print mount statistics to stderr */
	bool ro;			/* --ro: mount every image read-only */
	bool no_direct;			/* --no-direct (testing) */
	unsigned ra_kb;			/* --ra=KB (testing); 0: default */
	bool fault;			/* --fault-write=N[:COUNT] given (testing) */
	unsigned long fault_nth, fault_count;
	bool force;			/* --force: read-write mounts of unclean images */
	const char *log_writes;		/* --log-writes=FILE (testing) */
	bool test_refuse_direct;	/* --test-refuse-direct (testing) */
	const char *ceph_conf;		/* --ceph-conf=FILE (also exported as CEPH_CONF) */
};
extern struct pcfs_options pcfs_opt;

/* Set by SIGINT/SIGTERM; long loops stop with -EINTR, then pcfs unmounts. */
extern volatile sig_atomic_t pcfs_interrupted;

/* The process umask, read once at start (new files get mode & ~umask). */
extern mode_t pcfs_umask;

/* What a struct pcfs_image is (pcfs_image.kind). */
enum pcfs_kind {
	PCFS_IMAGE = 0,		/* an ext2/3/4 image file or block device */
	PCFS_OBJFS_DIR,		/* objfs on a directory store (a host directory with pcstore) */
	PCFS_OBJFS_RADOS,	/* objfs on a RADOS pool: name is "rados:POOL" */
};

/*
 * struct pcfs_image - one image (or objfs source) named on the command line.
 * Images and directory stores are identified by (st_dev, st_ino) so two
 * spellings of one file share a mount; RADOS sources by their name.
 * @name: as first spelled by the user (used in messages), owned.
 * @m:    NULL until pcfs_mount_image(); unmounted by pcfs_umount_all().
 * @rw:   mounted read-write.
 * @bdev: the device pcfs made itself (--fault-write, --test-refuse-direct)
 *        and passed in pc_mount_opts.bdev; closed after each pc_umount.
 */
struct pcfs_image {
	char *name;
	dev_t dev;
	ino_t ino;
	struct pc_mount *m;
	bool rw;
	struct pcfs_image *next;
	struct pc_block_device *bdev;	/* our own device for --fault-write etc., or NULL */
	enum pcfs_kind kind;
	struct pc_objstore *os;		/* objfs with --stats: our counting store, or NULL */
};

/* An objfs source (directory store or RADOS pool)? */
static inline bool pcfs_is_objfs(const struct pcfs_image *img)
{
	return img && img->kind != PCFS_IMAGE;
}

/*
 * struct pcfs_loc - an operand or a path under one.
 * @img:  the image, or NULL for a host path.
 * @path: the host path, or the absolute path inside the image ("/a/b",
 *        "/" for the root, no trailing '/'; a final "." is kept). Owned.
 * @disp: what messages print: the host path or "IMAGE:PATH". Owned.
 */
struct pcfs_loc {
	struct pcfs_image *img;
	char *path;
	char *disp;
};

/* ---- pcfs.c ---- */

/* Print "pcfs: @what: strerror(-@err)" to stderr. */
void pcfs_err(const char *what, int err);
/* Print "pcfs: @what: <formatted message>" to stderr. */
void pcfs_msg(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "pcfs: <formatted message>" and the usage hint; for bad usage. */
void pcfs_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * pcfs_mount_image - make sure @img is mounted, read-write if @rw (unless
 * --ro, which always mounts read-only). A read-only mount is remounted
 * read-write on demand (callers mount before opening any file). Prints the
 * failure itself. Returns 0 or -errno.
 */
int pcfs_mount_image(struct pcfs_image *img, bool rw);

/* ---- loc.c ---- */

/*
 * pcfs_parse_operand - split @arg into image and path. @arg is IMAGE:PATH
 * when some prefix of it that ends just before a ':' names an existing
 * regular file or block device, or a directory store (the shortest such
 * prefix wins); an @arg starting with "rados:" is always objfs on a RADOS
 * pool: "rados:POOL:PATH", or "rados:POOL" for its root (POOL has no ':').
 * Otherwise it is a host path. With @bare_image, an @arg that itself names
 * an existing regular file, block device or directory store is IMAGE:/
 * (ls, df). Fills *@loc (free with pcfs_loc_free). Returns 0, -ENOMEM, or
 * -EINVAL for "rados:" without a pool name.
 */
int pcfs_parse_operand(const char *arg, bool bare_image, struct pcfs_loc *loc);
/* As pcfs_parse_operand, but the operand must be an image path: prints
 * "pcfs: ARG: not IMAGE:PATH ..." and returns -EINVAL otherwise. */
int pcfs_parse_image_operand(const char *arg, bool bare_image, struct pcfs_loc *loc);
void pcfs_loc_free(struct pcfs_loc *loc);
/* *@child = @parent joined with @name (a single component). 0 or -ENOMEM. */
int pcfs_loc_child(const struct pcfs_loc *parent, const char *name, struct pcfs_loc *child);
/* The last component of @path ("/" for the root), trailing '/' ignored,
 * as a malloc'ed string the caller frees; NULL on ENOMEM. */
char *pcfs_basename(const char *path);
/* Is the last component of @path (trailing '/' ignored) "." or ".."? */
bool pcfs_path_ends_in_dots(const char *path);
/* The image named on the command line that host file @st (from stat(2)) is,
 * or NULL: a host file that pcfs must neither overwrite nor copy into itself. */
struct pcfs_image *pcfs_image_of_host_file(const struct stat *st);
/* Both on the same side (the same image, or both on the host). */
bool pcfs_loc_same_fs(const struct pcfs_loc *a, const struct pcfs_loc *b);

/* Operations on either side; 0 (or a count) or -errno. */
int pcfs_loc_stat(const struct pcfs_loc *loc, struct stat *st);	/* follows symlinks */
int pcfs_loc_lstat(const struct pcfs_loc *loc, struct stat *st);
int pcfs_loc_mkdir(const struct pcfs_loc *loc, mode_t mode);
int pcfs_loc_rmdir(const struct pcfs_loc *loc);
int pcfs_loc_unlink(const struct pcfs_loc *loc);
int pcfs_loc_symlink(const char *target, const struct pcfs_loc *loc);
/* Reads the target into a malloc'ed NUL-terminated string *@out. */
int pcfs_loc_readlink(const struct pcfs_loc *loc, char **out);
int pcfs_loc_chmod(const struct pcfs_loc *loc, mode_t mode);
/* Does not follow a final symlink on the host (lchown); images: see cp.c. */
int pcfs_loc_chown(const struct pcfs_loc *loc, uid_t uid, gid_t gid);
/* Sets atime/mtime; does not follow a final symlink on the host. */
int pcfs_loc_utimens(const struct pcfs_loc *loc, const struct timespec ts[2]);
/*
 * pcfs_loc_list - the names in directory @loc, sorted by strcmp, "." and
 * ".." only if @dots. *@names is a malloc'ed array of malloc'ed strings;
 * free with pcfs_free_names.
 */
int pcfs_loc_list(const struct pcfs_loc *loc, bool dots, char ***names, size_t *count);
void pcfs_free_names(char **names, size_t count);

/* An open file on either side. */
struct pcfs_file {
	const struct pcfs_loc *loc;
	int fd;			/* host fd or pc_ fd */
};
/* @flags: O_RDONLY, or O_WRONLY|O_CREAT|O_TRUNC (and O_NOFOLLOW etc.). */
int pcfs_file_open(struct pcfs_file *f, const struct pcfs_loc *loc, int flags, mode_t mode);
ssize_t pcfs_file_pread(struct pcfs_file *f, void *buf, size_t count, off_t off);
/* Writes all of @count (loops over short writes). Returns 0 or -errno
 * (-EIO if the write makes no progress). */
int pcfs_file_pwrite_all(struct pcfs_file *f, const void *buf, size_t count, off_t off);
int pcfs_file_ftruncate(struct pcfs_file *f, off_t len);
int pcfs_file_fstat(struct pcfs_file *f, struct stat *st);
/* lseek on either side (SEEK_DATA/SEEK_HOLE included); offset or -errno. */
off_t pcfs_file_lseek(struct pcfs_file *f, off_t off, int whence);
int pcfs_file_close(struct pcfs_file *f);

/* Parse SIZE: digits with an optional K, M, G, T suffix (powers of 1024;
 * "KiB", "k", "KB" also accepted). 0 and *@out, or -EINVAL. */
int pcfs_parse_size(const char *s, uint64_t *out);

/* Does @path name a directory store (a directory holding a regular file
 * "pcstore", docs/objstore.md)? Fills *@st with the directory's stat. */
bool pcfs_is_dir_store(const char *path, struct stat *st);

/* ---- obj.c ---- */

/*
 * pcfs_objfs_open_counted - open the store of objfs source @img (directory
 * store or RADOS pool, as fs/objfs would) wrapped in a store that counts
 * the requests passing through it, into img->os, for --stats. Prints the
 * failure. Returns 0 or -errno.
 */
int pcfs_objfs_open_counted(struct pcfs_image *img);
/* Close img->os (NULL is fine). */
void pcfs_objfs_close_counted(struct pcfs_image *img);
/* Print the object request counters of img->os (--stats). */
void pcfs_objfs_print_stats(const struct pcfs_image *img);
/*
 * pcfs_objfs_mount_failed - print the failure of pc_mount("objfs", ...) of
 * @img with error @err and the library's message @why: a store holding no
 * objfs gets "run 'pcfs mkfs objfs SOURCE'".
 */
void pcfs_objfs_mount_failed(struct pcfs_image *img, int err, const char *why);

/* ---- commands: each returns the exit status (0 or 1) ---- */
int pcfs_cmd_ls(int argc, char **argv);
int pcfs_cmd_cat(int argc, char **argv);
int pcfs_cmd_cp(int argc, char **argv);
int pcfs_cmd_mkdir(int argc, char **argv);
int pcfs_cmd_rm(int argc, char **argv);
int pcfs_cmd_mv(int argc, char **argv);
int pcfs_cmd_stat(int argc, char **argv);
int pcfs_cmd_truncate(int argc, char **argv);
int pcfs_cmd_ln(int argc, char **argv);
int pcfs_cmd_df(int argc, char **argv);
int pcfs_cmd_mkfs(int argc, char **argv);	/* obj.c */
int pcfs_cmd_snap(int argc, char **argv);	/* obj.c */

#endif /* PCFS_H */
