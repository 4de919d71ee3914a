/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/pagecache.h - the POSIX-like public API.
 *
 * pagecache is the Linux page cache as a C library: mount a filesystem
 * image (ext2/3/4 through libext2fs for metadata, this library's page
 * cache for all file data) or a memory filesystem, then use file
 * descriptors much as with the kernel.
 *
 * Conventions:
 *   - every function returns 0 or a non-negative count on success and a
 *     negative errno on failure; errno is never set;
 *   - every function is thread-safe; file descriptors are process-wide
 *     (one table for all mounts) and may be used from any thread;
 *   - sizes and offsets are bytes;
 *   - paths are absolute within the mount ("/a/b"; a missing leading '/' is
 *     accepted; "" and "/" are the root), components separated by '/'
 *     (repeated slashes are one), at most 4095 bytes, each component at
 *     most 255 (-ENAMETOOLONG); no "." or ".." resolution beyond what the
 *     filesystem's directories contain ("/.." is the root);
 *   - symlinks are followed in the middle of a path, and at its end by
 *     pc_open (unless O_NOFOLLOW), pc_stat, pc_truncate, pc_chmod,
 *     pc_chown, pc_utimens and pc_opendir, not by pc_lstat, pc_readlink,
 *     pc_unlink, pc_rename or pc_symlink; an absolute target is resolved
 *     from the mount's root; more than 40 links in one lookup: -ELOOP;
 *   - a trailing '/' requires a directory (-ENOTDIR otherwise).
 *
 * Example (examples/hello_ramfs.c):
 *     struct pc_mount *m;
 *     pc_mount("ramfs", NULL, NULL, &m);
 *     int fd = pc_open(m, "/hello", O_CREAT | O_RDWR, 0644);
 *     pc_pwrite(fd, "hi", 2, 0);
 *     pc_close(fd);
 *     pc_umount(m);
 */
#ifndef PAGECACHE_PAGECACHE_H
#define PAGECACHE_PAGECACHE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifndef PC_EXPORT
#define PC_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct pc_mount;
struct pc_cache;

/*
 * struct pc_mount_opts - options for pc_mount; NULL means all defaults.
 * @cache:      an existing pool to share (see mm.h pc_cache_create); NULL
 *              makes the mount create its own of @cache_size bytes.
 * @cache_size: bytes, for a private pool (0: 256 MiB).
 * @engine:     enum pc_engine_kind (below): PC_ENGINE_AUTO (0) io_uring,
 *              else pread threads; PC_ENGINE_URING (1); PC_ENGINE_PREAD (2).
 *              Another value counts as PC_ENGINE_AUTO.
 * @readonly:   mount read-only (the image is opened O_RDONLY).
 * @no_direct:  do not open the image with O_DIRECT.
 * @ra_kb:      maximum readahead window in KiB (0: 2048).
 * @dio_hold_i_rwsem: direct writes inside i_size keep the inode lock for
 *              the whole write, as Linux did before placeholders (turns
 *              DIO_DROP_I_MUTEX off). Slower; for comparison benchmarks.
 * @force:      mount read-write even an image that is not marked clean (the
 *              last writer crashed or is still running elsewhere without a
 *              lock) or that has errors recorded in its superblock, which
 *              is otherwise refused with -EUCLEAN (as e2fsck -f would want
 *              to look first). Such an image stays marked not clean after
 *              unmount, and recorded errors stay recorded: run e2fsck -f.
 *              Does not override -EBUSY (an image in use) nor MMP.
 * @log_writes: testing facility (crash simulation): a host file that
 *              receives a log of every write and flush the mount sends to
 *              its device (pc_bdev_log_writes_start in blkdev.h); NULL: no
 *              log. Block-device filesystems only (ext4); a read-only
 *              mount ignores it. See tests/crash/README.md.
 * @bdev:       mount on this block device, made by the caller (pagecache/
 *              blkdev.h: pc_bdev_open, pc_bdev_create on its own
 *              struct pc_blockdev_operations, pc_bdev_fault_wrap), instead
 *              of opening @source; NULL: open @source. Block-device
 *              filesystems only (ext4; -EINVAL for ramfs). @source is then
 *              only a name for messages (may be NULL). The mount BORROWS
 *              the device: the caller keeps it open until pc_umount has
 *              returned (or pc_mount failed) and then closes it with
 *              pc_bdev_close; one mount at a time per device (-EBUSY
 *              otherwise). Exclusive access (the lock below) is then the
 *              caller's business (pc_bdev_open with PC_BDEV_EXCL takes it).
 *              A read-only device mounts read-only.
 * @objstore:   objfs only (pagecache/objfs.h): mount the filesystem kept in
 *              this open object store (pagecache/objstore.h; a backend's
 *              constructor or the caller's own struct pc_objstore) instead
 *              of opening @source, which is then only a label for messages
 *              (may be NULL). The mount BORROWS the store: it takes the
 *              store's exclusive lock (ops->lock, when the backend has one:
 *              -EBUSY if another mount holds it) and releases it at
 *              pc_umount; the caller closes the store (pc_objstore_close)
 *              after pc_umount has returned or pc_mount failed. NULL: open
 *              @source (a host directory for the embedded store, or
 *              "rados:POOL"). Other filesystems ignore it.
 *
 * Growth: new members are only added at the end; a zeroed member keeps
 * the default behaviour.
 */
struct pc_block_device;
struct pc_objstore;
/*
 * enum pc_engine_kind - how a block device opened on a host file or device
 * sends its I/O (pc_mount_opts.engine; pc_bdev_open in pagecache/blkdev.h).
 * PC_ENGINE_AUTO:  io_uring when the kernel and the build have it, else the
 *                  pread engine (PC_ENGINE=pread|uring in the environment
 *                  picks one).
 * PC_ENGINE_URING: io_uring; without it pc_bdev_open fails with -EOPNOTSUPP.
 * PC_ENGINE_PREAD: a pool of threads doing pread/pwrite.
 * The values are fixed (0, 1, 2); the type has the size of an int.
 */
enum pc_engine_kind { PC_ENGINE_AUTO = 0, PC_ENGINE_URING = 1, PC_ENGINE_PREAD = 2 };
struct pc_mount_opts {
	struct pc_cache *cache;
	size_t cache_size;
	enum pc_engine_kind engine;
	bool readonly;
	bool no_direct;
	unsigned ra_kb;
	bool dio_hold_i_rwsem;
	bool force;
	const char *log_writes;
	struct pc_block_device *bdev;
	struct pc_objstore *objstore;
};

/*
 * pc_mount - mount @source with filesystem @fstype, the name (or alias)
 * of a registered filesystem type: built in are "ext4" for ext2/3/4
 * images ("ext2"/"ext3" are aliases), "ramfs" with @source NULL, and
 * "objfs" on an object store (pagecache/objfs.h, opts->objstore);
 * others are added with pc_register_filesystem() (pagecache/fs.h).
 * On success returns 0 and *@out (owned by the caller until pc_umount).
 * Errors: -ENODEV no registered type has the name @fstype; -ENOENT/-EACCES opening @source;
 * -EINVAL not a valid filesystem; -EUCLEAN corrupt metadata, or (read-write
 * only) an image not marked clean or with errors recorded in its superblock
 * (run e2fsck -f, or set opts->force); -EOPNOTSUPP an incompatible feature
 * this library does not support; -EROFS the journal needs recovery (mount
 * read-only, or run e2fsck); -EBUSY the image is in use (below); -ENOMEM.
 * pc_mount_error() gives a one-line explanation of the last failure in
 * the calling thread (for -EBUSY it names the holder when it can: "in use
 * by process PID (COMMAND), which has it open read-write").
 *
 * Exclusive access (ext2/3/4): a read-write mount holds an OFD lock
 * (fcntl F_OFD_SETLK, F_WRLCK, whole file) on the image until pc_umount,
 * and opens a block device O_EXCL; a read-only mount holds a shared lock
 * (F_RDLCK). So an image has one writer or any number of readers, whether
 * they are other processes or other mounts in this process: a second
 * read-write mount, a read-write mount while readers hold it, and a
 * read-only mount while a writer holds it all fail at once with -EBUSY. A
 * reader is refused rather than shown metadata a writer is changing (this
 * library writes no journal, so a reader could not tell a half-done
 * change). The locks are advisory: programs that take none (debugfs -w,
 * dd) are not kept out. An image the kernel has mounted is refused too
 * (-EBUSY; a read-only mount is allowed when the kernel's mount is
 * read-only). With the mmp feature a read-write mount also claims the MMP
 * block as e2fsprogs does: the mount takes at least 11 seconds (ext2fs_
 * mmp_start waits 2 * max(mmp_update_interval, 5) + 1 s to see that no
 * other node updates it), fails with -EBUSY when another node or tool holds
 * it or a crash left it claimed (tune2fs -f -E clear_mmp clears that), and
 * pc_umount releases it. Read-only mounts do not consult MMP (nor does the
 * kernel).
 */
PC_EXPORT int pc_mount(const char *fstype, const char *source, const struct pc_mount_opts *opts,
		       struct pc_mount **out);
PC_EXPORT const char *pc_mount_error(void);
/*
 * pc_mount_warning - a one-line warning about a successful mount @m (the
 * library never prints): e.g. an ext4 journal that needs recovery (mounted
 * read-only without replaying it), or a filesystem larger than its device.
 * NULL when there is none. The string belongs to @m and lives until
 * pc_umount(@m). No lock; any thread.
 */
PC_EXPORT const char *pc_mount_warning(struct pc_mount *m);
/*
 * pc_umount - write back every dirty page and inode, make it durable, close
 * the device and free the mount. Open descriptors of the mount are closed
 * (their numbers then answer -EBADF); open directory streams are released
 * (pc_readdir answers -EBADF once its buffered entries are used up;
 * pc_closedir must still be called). No other thread may be inside a call
 * on this mount or its descriptors while it runs. Returns 0 or the first
 * -errno met while writing back (-EIO: some data did not reach the disk),
 * with the same once-only reporting of earlier background errors as
 * pc_sync (an error pc_sync already returned is not returned again);
 * -ENOMEM when memory ran out and dirty data could not be written (the
 * write-back is retried first: 0 means everything reached the disk);
 * or the error of the filesystem's last step (ext4: writing the
 * superblock and closing libext2fs).
 * The mount is freed in any case.
 */
PC_EXPORT int pc_umount(struct pc_mount *m);

/* Open @path with O_RDONLY/O_WRONLY/O_RDWR and O_CREAT, O_EXCL, O_TRUNC,
 * O_APPEND, O_SYNC, O_DSYNC, O_DIRECT (filesystems with direct I/O only),
 * O_DIRECTORY, O_NOFOLLOW. The lowest free descriptor number is returned
 * (numbers start at 0 and are this library's own, not the kernel's).
 * O_CREAT follows a final symlink (creating its target) unless O_EXCL or
 * O_NOFOLLOW. Returns fd >= 0 or -ENOENT, -EEXIST, -EISDIR (a directory
 * opened for writing or with O_CREAT), -ENOTDIR, -EROFS, -ENOSPC, -EMFILE,
 * -ENAMETOOLONG, -ELOOP (symlink with O_NOFOLLOW, or more than 40 links),
 * -ENXIO (not a regular file or directory), -EINVAL (bad flags, or
 * O_DIRECT where the filesystem has no direct I/O), -EFAULT (NULL path). */
PC_EXPORT int pc_open(struct pc_mount *m, const char *path, int flags, mode_t mode);
/* Close. Returns 0, or -EBADF. Writeback errors are reported by fsync, not here. */
PC_EXPORT int pc_close(int fd);

/* Read/write at an offset (bytes); return bytes transferred (short at EOF)
 * or -EBADF, -EISDIR, -EINVAL (negative offset), -EIO, -ENOSPC, -EFBIG,
 * -EFAULT (NULL buffer with a non-zero count).
 *
 * On a descriptor opened with O_DIRECT the data bypasses the cache (Linux's
 * __blockdev_direct_IO, with placeholders) yet stays coherent with it: cached pages of the range
 * are written back first, and after a direct write no buffered read
 * returns the old data. Offset, count and every buffer address (each
 * iovec base and length) must be multiples of the alignment
 * pc_fdioalign() reports, else -EINVAL and nothing is transferred. Holes
 * read as zeros, reads stop at EOF (short), writes may fill holes and
 * extend the file. When a direct write returns, its data has reached the
 * device (not necessarily stable storage: fsync for that); the file size
 * and block map it changed are made durable by fsync, as with Linux. */
PC_EXPORT ssize_t pc_pread(int fd, void *buf, size_t count, off_t offset);
PC_EXPORT ssize_t pc_pwrite(int fd, const void *buf, size_t count, off_t offset);
PC_EXPORT ssize_t pc_preadv(int fd, const struct iovec *iov, int iovcnt, off_t offset);
PC_EXPORT ssize_t pc_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset);
/* At and advancing the file position (O_APPEND writes go to EOF). */
PC_EXPORT ssize_t pc_read(int fd, void *buf, size_t count);
PC_EXPORT ssize_t pc_write(int fd, const void *buf, size_t count);
/*
 * pc_lseek - set the file position (bytes) of @fd and return it.
 * @whence SEEK_SET, SEEK_CUR, SEEK_END: as lseek(2); -EINVAL for a
 * negative result (on a directory only a rewind to 0 is allowed).
 * SEEK_DATA / SEEK_HOLE (Linux's, from <unistd.h> with _GNU_SOURCE): the
 * first byte of data, or the first byte of a hole, at or after @offset.
 * Every file ends in a virtual hole at its size, so SEEK_HOLE always
 * finds one (the size at worst). Data is what the filesystem's block map
 * holds (ext2/3/4: initialised blocks; unwritten extents count only where
 * the cache holds their pages) plus what is written in the cache but not
 * yet allocated (delayed allocation); ramfs: the pages written. Holes may
 * be reported as data (filesystems without hole tracking: the whole file
 * is data), data never as a hole. The answer is a snapshot: writers that
 * run at the same time may change it. Works on O_DIRECT descriptors. Cost:
 * proportional to the number of extents (or indirect blocks present) and
 * cached pages in the range searched, not to its size. Errors: -ENXIO
 * (@offset negative or >= the file size, or SEEK_DATA with only a hole
 * after @offset), -EINVAL (unknown @whence; SEEK_DATA/SEEK_HOLE on a
 * directory), -EUCLEAN (the block map is corrupt), -EIO, -ENOMEM, -EBADF.
 * Follows lseek(2).
 */
PC_EXPORT off_t pc_lseek(int fd, off_t offset, int whence);

/* Make the file's data (and metadata; fdatasync: only what is needed to
 * read the data back) durable. Returns 0, or -EIO (or another -errno) if
 * any writeback of this file failed since this descriptor last reported
 * (each error is reported once per open file, as Linux does). */
PC_EXPORT int pc_fsync(int fd);
PC_EXPORT int pc_fdatasync(int fd);
/* Change the size; the cut-off part reads as zeros if the file grows
 * again. -EINVAL (negative), -EFBIG, -EROFS, -EBADF (not open for writing). */
PC_EXPORT int pc_ftruncate(int fd, off_t length);
PC_EXPORT int pc_truncate(struct pc_mount *m, const char *path, off_t length);
/* Preallocate (or, with FALLOC_FL_* @mode bits the filesystem supports,
 * punch/zero) [@offset, @offset+@len) bytes. -EBADF (not open for
 * writing), -EINVAL (negative offset, len <= 0), -EISDIR, -EROFS,
 * -EOPNOTSUPP (the filesystem has no fallocate: ramfs), -ENOSPC, -EFBIG. */
PC_EXPORT int pc_fallocate(int fd, int mode, off_t offset, off_t len);
PC_EXPORT int pc_fstat(int fd, struct stat *st);
/*
 * pc_fdioalign - what direct I/O on @fd requires (Linux's STATX_DIOALIGN):
 * *@mem_align: alignment of buffer addresses, bytes; *@offset_align:
 * alignment of file offsets and lengths, bytes. ext2/3/4: the image's
 * logical block size (512, or 4096 on 4Kn devices and some hosts); ramfs:
 * 512 (its direct I/O goes through the cache, like tmpfs, but keeps the
 * rules so programs stay portable). Returns 0, -EBADF, -EINVAL (not a
 * regular file, or a filesystem without direct I/O: both set to 0),
 * -EFAULT (NULL pointer).
 */
PC_EXPORT int pc_fdioalign(int fd, unsigned *mem_align, unsigned *offset_align);

/* Path operations. Errors as their POSIX namesakes, negative; also, on
 * any of them, -EUCLEAN when the filesystem meets corrupt metadata (the
 * explanation in pc_last_error(); ext2/3/4 records the error in the
 * superblock of a read-write mount, like Linux's ext4_error, and the
 * operation changes nothing: pc_unlink/pc_rmdir/pc_rename refuse to drop
 * the last link of a file whose block map is corrupt), and -EINTR when
 * pc_interrupt() stopped a long directory search or listing. */
PC_EXPORT int pc_stat(struct pc_mount *m, const char *path, struct stat *st);
PC_EXPORT int pc_lstat(struct pc_mount *m, const char *path, struct stat *st);
PC_EXPORT int pc_mkdir(struct pc_mount *m, const char *path, mode_t mode);
/*
 * pc_unlink, pc_rmdir, pc_rename - remove a name, remove an empty
 * directory, rename (Linux unlinkat, rmdir, renameat). A final symlink is
 * the victim itself, never followed. A path whose last component is "." or
 * ".." (trailing '/' ignored), or that names the root ("", "/"), is refused
 * before anything is looked up or changed, with Linux's errors:
 * pc_unlink -EISDIR; pc_rmdir -EINVAL ("."), -ENOTEMPTY (".."), -EBUSY
 * (root); pc_rename -EBUSY (on either side, root included). pc_rename of a
 * directory into itself or below itself is -EINVAL, over a non-empty
 * directory (or an ancestor of @from) -ENOTEMPTY. Other errors as their
 * POSIX namesakes: -ENOENT, -ENOTDIR, -EISDIR, -ENOTEMPTY, -EROFS,
 * -ENAMETOOLONG, -ELOOP, -EPERM (the filesystem lacks the operation).
 */
PC_EXPORT int pc_unlink(struct pc_mount *m, const char *path);
PC_EXPORT int pc_rmdir(struct pc_mount *m, const char *path);
PC_EXPORT int pc_rename(struct pc_mount *m, const char *from, const char *to);
PC_EXPORT int pc_symlink(struct pc_mount *m, const char *target, const char *linkpath);
/* Copies the target without a NUL; returns its length (truncated to @size). */
PC_EXPORT ssize_t pc_readlink(struct pc_mount *m, const char *path, char *buf, size_t size);
PC_EXPORT int pc_chmod(struct pc_mount *m, const char *path, mode_t mode);
PC_EXPORT int pc_chown(struct pc_mount *m, const char *path, uid_t uid, gid_t gid);
/* Set access and modification times (NULL: now). */
PC_EXPORT int pc_utimens(struct pc_mount *m, const char *path, const struct timespec times[2]);

/* Directory listing. A stream reads entries in batches; it sees entries
 * created or removed while it is open, or not (as POSIX allows), but
 * never lists an entry twice. Not thread-safe: one thread per stream. */
struct pc_dir;
struct pc_dirent {
	uint64_t d_ino;
	unsigned char d_type;	/* DT_REG, DT_DIR, DT_LNK, ... or DT_UNKNOWN */
	char d_name[256];
};
/* Returns 0 and *@out, or -ENOENT, -ENOTDIR. */
PC_EXPORT int pc_opendir(struct pc_mount *m, const char *path, struct pc_dir **out);
/* 1 and *@ent filled, 0 at the end, or -errno. "." and ".." included. */
PC_EXPORT int pc_readdir(struct pc_dir *dir, struct pc_dirent *ent);
PC_EXPORT int pc_closedir(struct pc_dir *dir);

/* Filesystem statistics (bytes are f_bsize units). */
struct pc_statfs {
	uint64_t f_bsize;	/* block size, bytes */
	uint64_t f_blocks;	/* total blocks */
	uint64_t f_bfree;	/* free blocks */
	uint64_t f_bavail;	/* free blocks for unprivileged users */
	uint64_t f_files;	/* total inodes */
	uint64_t f_ffree;	/* free inodes */
	uint64_t f_namelen;	/* longest name */
};
PC_EXPORT int pc_statfs(struct pc_mount *m, struct pc_statfs *st);
/*
 * pc_sync - write back everything dirty in the mount and make it durable
 * (syncfs). Returns 0, or -errno: the first error met while writing now,
 * else any writeback error recorded since the previous pc_sync (or the
 * mount), including errors of background writeback whose pages are long
 * clean: each such error is reported once to pc_sync/pc_umount, whether or
 * not an fsync on some descriptor already reported it (the mount keeps its
 * own cursor, like Linux's syncfs). -EROFS never: a read-only mount has
 * nothing to write and returns 0. -EUCLEAN (once): freeing a removed
 * file's blocks when its last reference went away met corrupt metadata
 * (recorded in the superblock; explanation in that thread's
 * pc_last_error()).
 */
PC_EXPORT int pc_sync(struct pc_mount *m);

/*
 * struct pc_mount_stats - what --stats prints. Page counts are 4 KiB pages.
 * The cache counters are those of the mount's pool (shared with other
 * mounts when opts->cache was given): cache_pages = frames in use now,
 * peak_pages = most ever in use at once. The I/O counters are the block
 * device's (all zero for ramfs).
 */
struct pc_mount_stats {
	uint64_t cache_pages, peak_pages;
	uint64_t hits, misses, readahead_pages;
	uint64_t pages_written, evictions, dirty_throttled, alloc_waits;
	uint64_t read_bios, read_bytes, write_bios, write_bytes, flushes, io_errors;
	const char *engine;		/* "uring" or "pread" (NULL for ramfs) */
	bool direct;			/* image opened with O_DIRECT */
	const char *direct_note;	/* why not, or "" */
};
PC_EXPORT void pc_mount_get_stats(struct pc_mount *m, struct pc_mount_stats *st);

/*
 * struct pc_mount_snap_stats - snapshot-ordered writeback of a filesystem
 * with snapshots (objfs), for --stats. Page counts are 4 KiB pages.
 * @seq:           the current snap context's seq (the newest snapshot id).
 * @nr_snaps:      live snapshots in the current context.
 * @snapshots:     snapshots taken since the mount.
 * @object_writes: data writes sent to the object store since the mount
 *                 (each one run of pages of one context in one object).
 * @pages_written: pages those writes carried.
 * @write_errors:  data writes that failed.
 * @cap_snaps:     per-file snapshot records made since the mount (one per
 *                 file with dirty data at each snapshot); @pending: how
 *                 many of those had to wait for a write that began before
 *                 their snapshot.
 * @nr_dirty, @dirty: the contexts with dirty pages now, oldest first, at
 *                 most PC_MOUNT_SNAP_STATS_MAX (older ones merged into the
 *                 first entry): each its seq and its dirty pages.
 */
#define PC_MOUNT_SNAP_STATS_MAX 16
struct pc_mount_snap_stats {
	uint64_t seq;
	uint32_t nr_snaps;
	uint64_t snapshots, object_writes, pages_written, write_errors;
	uint64_t cap_snaps, pending;
	unsigned nr_dirty;
	struct {
		uint64_t seq;
		uint64_t pages;
	} dirty[PC_MOUNT_SNAP_STATS_MAX];
};
/*
 * pc_mount_get_snap_stats - fill *@st for mount @m. No lock is held on
 * entry or return; the figures are a snapshot taken under the filesystem's
 * realm lock. Returns 0; -EFAULT for a NULL argument; -EOPNOTSUPP when the
 * filesystem has no snapshot contexts (ext4, ramfs: *@st is zeroed).
 */
PC_EXPORT int pc_mount_get_snap_stats(struct pc_mount *m, struct pc_mount_snap_stats *st);

/* Testing (crash simulation): append a MARK entry of @len bytes to the
 * write log of a mount made with opts->log_writes, ordered after every
 * write and flush that completed before the call (e.g. "this fsync
 * returned, the file held this"). 0, -EINVAL (no block device, bad
 * arguments), -ENODEV (no log), or the log's first write error. */
PC_EXPORT int pc_mount_log_mark(struct pc_mount *m, const void *data, size_t len);

/*
 * pc_last_error - the one-line explanation (no newline, "" if none) of the
 * last failure in the calling thread of any call that records one: today
 * a filesystem that finds corrupt metadata (-EUCLEAN: "inode 12: block 9999
 * of its block map is outside the filesystem") or an interrupted long
 * operation. Calls do not clear it when they succeed: read it right after
 * a call that failed, then pc_clear_last_error(). The string is the
 * thread's own and stays valid until its next library call. Mount
 * failures keep their own message: pc_mount_error().
 */
PC_EXPORT const char *pc_last_error(void);
/* pc_clear_last_error - make pc_last_error() "" in the calling thread. */
PC_EXPORT void pc_clear_last_error(void);

/*
 * pc_interrupt - ask every long operation of the library, in every thread,
 * to stop: the library's fatal_signal_pending(). Async-signal-safe (one
 * atomic store): call it from a SIGINT/SIGTERM handler. Loops whose length
 * the data or on-disk metadata decides (buffered reads of large ranges,
 * directory listing, the block-map checks before a directory lookup or
 * change) notice it within a step (one page, one directory block, 1024
 * blocks of a map) and return -EINTR at a point that leaves the filesystem
 * consistent: nothing was changed yet (a read that already copied bytes
 * returns the short count instead). Freeing a file's blocks (truncate,
 * the last unlink) is not interrupted: its work is bounded by the file's
 * block count, and stopping half-way would leave blocks without owner.
 * The flag stays set (every later long call fails with -EINTR) until
 * pc_interrupt_clear(); pc_umount and pc_sync still write everything back
 * when it is set.
 */
PC_EXPORT void pc_interrupt(void);
/* pc_interrupt_clear - clear the pc_interrupt() flag (async-signal-safe). */
PC_EXPORT void pc_interrupt_clear(void);

#ifdef __cplusplus
}
#endif
#endif /* PAGECACHE_PAGECACHE_H */
