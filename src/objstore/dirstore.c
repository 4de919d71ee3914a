// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The embedded object store: a directory on the host (pagecache/objstore.h,
 * docs/objstore.md).
 *
 * Layout of DIR:
 *   pcstore        the store superblock: next snap id, live snap ids, the
 *                  "trim pending" flag (checksummed, replaced by rename)
 *   lock           the lock file (OFD lock while a mount holds the store)
 *   obj/NAME       the head of object NAME (a sparse file)
 *   snap/NAME      the snapset of NAME: seq, clones (id, size, mtime, the
 *                  snaps each serves); present while seq > 0 or clones exist
 *   snap/NAME@ID   the clone of NAME with id ID (16 hex digits)
 *   snap/NAME#tmp, pcstore#tmp   metadata being written (never read)
 * '@' and '#' are outside the object name alphabet, so no name collides.
 *
 * Invariants (what keeps a crash at any moment harmless):
 *  1. A metadata file (pcstore, snapset) is only ever replaced whole:
 *     written to NAME#tmp, fsynced, renamed over NAME, directory fsynced
 *     (meta_write). A reader sees the old or the new one, never a mix; a
 *     checksum catches anything else (-EUCLEAN).
 *  2. A clone file is complete and fsynced before the snapset that lists it
 *     is renamed into place, and that snapset is durable before the head is
 *     changed (ds_make_writeable). A crash before the rename leaves an orphan
 *     clone file that no snapset names (overwritten by the next clone of the
 *     same id, collected by the next trim); a crash after it leaves the
 *     clone and an unchanged head: both correct.
 *  3. Trimming rewrites a snapset without a clone before unlinking the
 *     clone's file; pcstore records "trim pending" in the same replace that
 *     forgets the snapshot, and the pass is rerun at open until it clears.
 *  4. Snap ids come from pcstore's counter, durable before snap_create
 *     returns, so an id is never handed out twice.
 * Data writes go to the head with pwritev: after a process crash the kernel
 * still has them; flush (syncfs) and PC_OBJ_F_SYNC (fdatasync) make them
 * survive the host.
 *
 * Concurrency: each request goes to the worker that owns its object (a hash
 * of the name), so one object's requests run one at a time in submission
 * order without a per-object lock. ds->snap_rwsem is taken shared by every
 * request and exclusively by snap_remove's trim, which rewrites snapsets of
 * any object. ds->meta_lock guards the in-memory live snap list (short
 * sections); ds->meta_write_lock serialises pcstore rewrites. Lock order:
 * meta_write_lock -> snap_rwsem -> meta_lock.
 */
#include "pagecache/objstore.h"
#include "pagecache/blkdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define DS_NR_WORKERS 4
#define DS_DEFAULT_MAX_OBJECT (128ull << 20)	/* Ceph's osd_max_object_size */
#define DS_DEFAULT_MAX_WRITE (90ull * 1000 * 1000) /* Ceph's osd_max_write_size (90 MB) */
#define DS_META_MAX (64u << 20)			/* a sane bound on a metadata file */

static const char ds_store_magic[8] = "PCOBJST1";
static const char ds_snapset_magic[8] = "PCSNPST1";

/* Header of every metadata file; the payload follows. */
struct ds_meta_hdr {
	char magic[8];
	uint32_t version;
	uint32_t len;	/* payload bytes */
	uint32_t crc;	/* crc32 of the payload */
	uint32_t pad;
};

struct ds_clone {
	uint64_t id;		/* the context seq that made it */
	uint64_t size;
	int64_t mtime_ns;
	uint32_t nsnaps;
	uint64_t *snaps;	/* the live snaps it serves, descending */
};

struct ds_snapset {
	uint64_t seq;
	uint32_t nclones;
	struct ds_clone *clones;	/* ascending id */
};

struct ds_node {
	struct pc_obj_req *req;
	struct ds_node *next;
};

struct ds_worker {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ds_node *head, *tail;
	bool stop;
	pthread_t thread;
	struct dirstore *ds;
};

struct dirstore {
	struct pc_objstore os;
	char *path;
	int dirfd, objfd, snapfd;
	/* lock */
	pthread_mutex_t lock_lock;
	int lockfd;
	/* snapshots */
	pthread_rwlock_t snap_rwsem;
	pthread_mutex_t meta_write_lock;
	pthread_mutex_t meta_lock;
	uint64_t next_snap;
	uint64_t *snaps;	/* live, ascending */
	uint32_t nsnaps;
	_Atomic uint64_t nobjects;
	_Atomic bool closing;
	/* first error met by a request */
	pthread_mutex_t err_lock;
	char err[256];
	/* test hook: PC_OBJSTORE_DIR_CRASH_POINT=N raises SIGKILL at the Nth point */
	long crash_at;
	_Atomic long crash_count;
	struct ds_worker workers[DS_NR_WORKERS];
};

static const struct pc_objstore_ops ds_ops;
static __thread char ds_open_error[256];

static void open_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void open_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ds_open_error, sizeof(ds_open_error), fmt, ap);
	va_end(ap);
}

static void ds_error(struct dirstore *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ds_error(struct dirstore *ds, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&ds->err_lock);
	if (!ds->err[0]) {
		int n = snprintf(ds->err, sizeof(ds->err), "%s: ", ds->os.name);

		va_start(ap, fmt);
		if (n > 0 && (size_t)n < sizeof(ds->err))
			vsnprintf(ds->err + n, sizeof(ds->err) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&ds->err_lock);
}

/* The crash-point test hook (docs/objstore.md): a no-op unless armed. */
static void ds_crash_point(struct dirstore *ds)
{
	if (ds->crash_at > 0 && atomic_fetch_add(&ds->crash_count, 1) + 1 == ds->crash_at)
		raise(SIGKILL);
}

static uint32_t ds_crc32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = ~0u;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* ---- names ---- */

static bool ds_valid_name(const char *oid)
{
	size_t n;

	if (!oid)
		return false;
	n = strnlen(oid, PC_OBJ_NAME_MAX + 1);
	if (n == 0 || n > PC_OBJ_NAME_MAX)
		return false;
	if (!strcmp(oid, ".") || !strcmp(oid, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = oid[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void clone_name(char *buf, size_t len, const char *oid, uint64_t id)
{
	snprintf(buf, len, "%s@%016llx", oid, (unsigned long long)id);
}

/* ---- whole-file I/O helpers ---- */

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/*
 * Write @len bytes from @iov (@iovcnt entries, at least @len bytes) to @fd
 * at @off, or read them (short reads at EOF stop early). Returns the bytes
 * transferred or -errno. Handles short transfers and more than IOV_MAX
 * entries.
 */
static int64_t rw_iov(int fd, const struct iovec *iov, int iovcnt, uint64_t off, uint64_t len,
		      bool write, struct dirstore *ds)
{
	struct iovec local[64];
	uint64_t done = 0;
	int idx = 0;
	size_t skip = 0;	/* bytes of iov[idx] already done */

	while (done < len && idx < iovcnt) {
		int n = 0;
		uint64_t want = 0;
		ssize_t got;

		for (int i = idx; i < iovcnt && n < 64 && done + want < len; i++) {
			size_t s = i == idx ? skip : 0;
			size_t l = iov[i].iov_len - s;

			if (l > len - done - want)
				l = (size_t)(len - done - want);
			if (!l)
				continue;
			local[n].iov_base = (char *)iov[i].iov_base + s;
			local[n].iov_len = l;
			want += l;
			n++;
		}
		if (!n)
			break;
		if (write && ds && ds->crash_at > 0 && n > 1) {
			/* crash point between two segments of one write */
			got = pwritev(fd, local, 1, (off_t)(off + done));
			if (got > 0)
				ds_crash_point(ds);
		} else {
			got = write ? pwritev(fd, local, n, (off_t)(off + done))
				    : preadv(fd, local, n, (off_t)(off + done));
		}
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0) {
			if (write)
				return -EIO;
			break;	/* EOF */
		}
		done += (uint64_t)got;
		/* advance the cursor */
		while (got > 0 && idx < iovcnt) {
			size_t l = iov[idx].iov_len - skip;

			if ((size_t)got < l) {
				skip += (size_t)got;
				got = 0;
			} else {
				got -= (ssize_t)l;
				idx++;
				skip = 0;
			}
		}
	}
	return (int64_t)done;
}

/* ---- metadata files (invariant 1) ---- */

static int fsync_fd(int fd)
{
	return fsync(fd) < 0 ? -errno : 0;
}

/* Replace @dirfd/@name by a file holding @payload (@len bytes) under @magic. */
static int meta_write(struct dirstore *ds, int dirfd, const char *name, const char magic[8],
		      const void *payload, size_t len)
{
	char tmp[PC_OBJ_NAME_MAX + 16];
	struct ds_meta_hdr h;
	int fd, err;

	snprintf(tmp, sizeof(tmp), "%s#tmp", name);
	memcpy(h.magic, magic, 8);
	h.version = 1;
	h.len = (uint32_t)len;
	h.crc = ds_crc32(payload, len);
	h.pad = 0;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	err = write_all(fd, &h, sizeof(h), 0);
	if (!err && ds && ds->crash_at > 0)
		ds_crash_point(ds);	/* a torn temporary file: never read */
	if (!err)
		err = write_all(fd, payload, len, sizeof(h));
	if (!err)
		err = fsync_fd(fd);
	close(fd);
	if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	if (ds)
		ds_crash_point(ds);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err = -errno;
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	if (ds)
		ds_crash_point(ds);
	return fsync_fd(dirfd);
}

/* Read @dirfd/@name into a malloc'ed *@payload. -ENOENT, -EUCLEAN (bad
 * magic, size or checksum), -ENOMEM, -EIO. */
static int meta_read(int dirfd, const char *name, const char magic[8], void **payload,
		     size_t *len)
{
	struct ds_meta_hdr h;
	struct stat st;
	void *p = NULL;
	ssize_t n;
	int fd, err = 0;

	*payload = NULL;
	*len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	n = pread(fd, &h, sizeof(h), 0);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	if ((size_t)n < sizeof(h) || memcmp(h.magic, magic, 8) || h.version != 1 ||
	    h.len > DS_META_MAX || (uint64_t)st.st_size != sizeof(h) + (uint64_t)h.len) {
		err = -EUCLEAN;
		goto out;
	}
	p = malloc(h.len ? h.len : 1);
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	n = pread(fd, p, h.len, sizeof(h));
	if (n < 0) {
		err = -errno;
		goto out;
	}
	if ((size_t)n != h.len || ds_crc32(p, h.len) != h.crc) {
		err = -EUCLEAN;
		goto out;
	}
	*payload = p;
	*len = h.len;
	p = NULL;
out:
	free(p);
	close(fd);
	return err;
}

/* ---- the store superblock (pcstore) ---- */

/* payload: u64 next_snap, u32 flags, u32 nsnaps, u64 snaps[nsnaps] ascending */
#define DS_FLAG_TRIM_PENDING 0x1u

static int store_write(struct dirstore *ds, int dirfd, uint64_t next_snap, uint32_t flags,
		       const uint64_t *snaps, uint32_t nsnaps)
{
	size_t len = 16 + 8 * (size_t)nsnaps;
	unsigned char *p = malloc(len);
	int err;

	if (!p)
		return -ENOMEM;
	memcpy(p, &next_snap, 8);
	memcpy(p + 8, &flags, 4);
	memcpy(p + 12, &nsnaps, 4);
	if (nsnaps)
		memcpy(p + 16, snaps, 8 * (size_t)nsnaps);
	err = meta_write(ds, dirfd, "pcstore", ds_store_magic, p, len);
	free(p);
	return err;
}

static int store_read(int dirfd, uint64_t *next_snap, uint32_t *flags, uint64_t **snaps,
		      uint32_t *nsnaps)
{
	unsigned char *p;
	size_t len;
	uint32_t n;
	int err;

	err = meta_read(dirfd, "pcstore", ds_store_magic, (void **)&p, &len);
	if (err)
		return err;
	if (len < 16)
		goto bad;
	memcpy(next_snap, p, 8);
	memcpy(flags, p + 8, 4);
	memcpy(&n, p + 12, 4);
	if (len != 16 + 8 * (size_t)n)
		goto bad;
	*snaps = malloc(8 * (size_t)n + 8);
	if (!*snaps) {
		free(p);
		return -ENOMEM;
	}
	memcpy(*snaps, p + 16, 8 * (size_t)n);
	*nsnaps = n;
	for (uint32_t i = 0; i < n; i++)
		if ((*snaps)[i] == 0 || (*snaps)[i] >= *next_snap ||
		    (i && (*snaps)[i] <= (*snaps)[i - 1])) {
			free(*snaps);
			*snaps = NULL;
			goto bad;
		}
	free(p);
	return 0;
bad:
	free(p);
	return -EUCLEAN;
}

/* Is @snapid a live snapshot? Takes meta_lock. */
static bool ds_snap_live(struct dirstore *ds, uint64_t snapid)
{
	bool live = false;
	uint32_t lo = 0, hi;

	pthread_mutex_lock(&ds->meta_lock);
	hi = ds->nsnaps;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ds->snaps[mid] == snapid) {
			live = true;
			break;
		}
		if (ds->snaps[mid] < snapid)
			lo = mid + 1;
		else
			hi = mid;
	}
	pthread_mutex_unlock(&ds->meta_lock);
	return live;
}

/* ---- snapsets ---- */

static void snapset_free(struct ds_snapset *ss)
{
	for (uint32_t i = 0; i < ss->nclones; i++)
		free(ss->clones[i].snaps);
	free(ss->clones);
	ss->clones = NULL;
	ss->nclones = 0;
	ss->seq = 0;
}

/* payload: u64 seq, u32 nclones, u32 0, then per clone
 * u64 id, u64 size, i64 mtime_ns, u32 nsnaps, u32 0, u64 snaps[nsnaps] */
static int snapset_load(struct dirstore *ds, const char *oid, struct ds_snapset *ss)
{
	unsigned char *p;
	size_t len, pos = 16;
	uint32_t n;
	int err;

	memset(ss, 0, sizeof(*ss));
	err = meta_read(ds->snapfd, oid, ds_snapset_magic, (void **)&p, &len);
	if (err == -ENOENT)
		return 0;
	if (err)
		goto fail;
	err = -EUCLEAN;
	if (len < 16)
		goto bad;
	memcpy(&ss->seq, p, 8);
	memcpy(&n, p + 8, 4);
	if (n > len / 32)
		goto bad;
	ss->clones = calloc(n ? n : 1, sizeof(*ss->clones));
	if (!ss->clones) {
		err = -ENOMEM;
		goto bad;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct ds_clone *c = &ss->clones[i];

		if (len - pos < 32)
			goto bad;
		memcpy(&c->id, p + pos, 8);
		memcpy(&c->size, p + pos + 8, 8);
		memcpy(&c->mtime_ns, p + pos + 16, 8);
		memcpy(&c->nsnaps, p + pos + 24, 4);
		pos += 32;
		if (c->nsnaps > (len - pos) / 8)
			goto bad;
		c->snaps = malloc(8 * (size_t)c->nsnaps + 8);
		if (!c->snaps) {
			err = -ENOMEM;
			goto bad;
		}
		ss->nclones = i + 1;
		memcpy(c->snaps, p + pos, 8 * (size_t)c->nsnaps);
		pos += 8 * (size_t)c->nsnaps;
		if (c->id > ss->seq || (i && c->id <= ss->clones[i - 1].id))
			goto bad;
	}
	if (pos != len)
		goto bad;
	free(p);
	return 0;
bad:
	free(p);
	snapset_free(ss);
fail:
	if (err == -EUCLEAN)
		ds_error(ds, "snapset of object %s (%s/snap/%s) is corrupt", oid, ds->path, oid);
	else
		ds_error(ds, "reading the snapset of object %s: %s", oid, strerror(-err));
	return err;
}

static int snapset_store(struct dirstore *ds, const char *oid, const struct ds_snapset *ss)
{
	size_t len = 16;
	unsigned char *p;
	uint32_t zero = 0;
	size_t pos = 16;
	int err;

	for (uint32_t i = 0; i < ss->nclones; i++)
		len += 32 + 8 * (size_t)ss->clones[i].nsnaps;
	p = malloc(len);
	if (!p)
		return -ENOMEM;
	memcpy(p, &ss->seq, 8);
	memcpy(p + 8, &ss->nclones, 4);
	memcpy(p + 12, &zero, 4);
	for (uint32_t i = 0; i < ss->nclones; i++) {
		const struct ds_clone *c = &ss->clones[i];

		memcpy(p + pos, &c->id, 8);
		memcpy(p + pos + 8, &c->size, 8);
		memcpy(p + pos + 16, &c->mtime_ns, 8);
		memcpy(p + pos + 24, &c->nsnaps, 4);
		memcpy(p + pos + 28, &zero, 4);
		pos += 32;
		memcpy(p + pos, c->snaps, 8 * (size_t)c->nsnaps);
		pos += 8 * (size_t)c->nsnaps;
	}
	err = meta_write(ds, ds->snapfd, oid, ds_snapset_magic, p, len);
	free(p);
	return err;
}

/* ---- clones ---- */

/* Copy @src into the empty file @dst: FICLONE, else copy_file_range of the
 * data extents (holes stay holes), else read/write. */
static int copy_file(int src, int dst, uint64_t size)
{
	char buf[65536];
	off_t pos = 0;

	if (ioctl(dst, FICLONE, src) == 0)
		return 0;
	if (ftruncate(dst, (off_t)size) < 0)
		return -errno;
	while ((uint64_t)pos < size) {
		off_t data = lseek(src, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break;	/* only a hole is left */
			data = pos;	/* no SEEK_DATA: copy everything */
			hole = (off_t)size;
		} else {
			hole = lseek(src, data, SEEK_HOLE);
			if (hole < 0)
				hole = (off_t)size;
		}
		pos = data;
		while (pos < hole) {
			off_t in = pos, out = pos;
			ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(hole - pos), 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP)) {
				ssize_t r = pread(src, buf, (size_t)PC_MIN((off_t)sizeof(buf), hole - pos),
						  pos);
				int err;

				if (r < 0)
					return -errno;
				if (r == 0)
					return 0;
				err = write_all(dst, buf, (size_t)r, pos);
				if (err)
					return err;
				n = r;
			} else if (n < 0) {
				return -errno;
			} else if (n == 0) {
				return 0;	/* source shrank: cannot happen, one worker per object */
			}
			pos += n;
		}
	}
	return 0;
}

/*
 * Before a mutation of @oid under @snapc (invariant 2): fail an older
 * context (-PC_EOLDSNAPC); under a newer one, keep a clone of the head for
 * the context's live snaps newer than the object's seq and record the new
 * seq durably. @ss is the object's snapset (updated); @head_exists says
 * whether obj/@oid exists. Called by the object's worker with snap_rwsem
 * shared.
 */
static int ds_make_writeable(struct dirstore *ds, const char *oid,
			     const struct pc_snap_context *snapc, struct ds_snapset *ss,
			     bool head_exists)
{
	uint64_t seq = snapc ? snapc->seq : 0;
	uint64_t *newsnaps = NULL;
	uint32_t n = 0;
	int err;

	if (seq < ss->seq)
		return -PC_EOLDSNAPC;
	if (seq == ss->seq)
		return 0;
	if (head_exists && snapc->num_snaps) {
		newsnaps = malloc(8 * (size_t)snapc->num_snaps);
		if (!newsnaps)
			return -ENOMEM;
		for (uint32_t i = 0; i < snapc->num_snaps; i++)
			if (snapc->snaps[i] > ss->seq && ds_snap_live(ds, snapc->snaps[i]))
				newsnaps[n++] = snapc->snaps[i];
	}
	if (n) {
		char cname[PC_OBJ_NAME_MAX + 24];
		struct ds_clone *nc;
		struct stat st;
		int src, dst;

		src = openat(ds->objfd, oid, O_RDONLY | O_CLOEXEC);
		if (src < 0) {
			err = -errno;
			goto out;
		}
		if (fstat(src, &st) < 0) {
			err = -errno;
			close(src);
			goto out;
		}
		clone_name(cname, sizeof(cname), oid, seq);
		dst = openat(ds->snapfd, cname, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (dst < 0) {
			err = -errno;
			close(src);
			goto out;
		}
		err = copy_file(src, dst, (uint64_t)st.st_size);
		if (!err)
			err = fsync_fd(dst);
		close(src);
		close(dst);
		if (err) {
			unlinkat(ds->snapfd, cname, 0);
			goto out;
		}
		ds_crash_point(ds);
		nc = realloc(ss->clones, sizeof(*ss->clones) * (ss->nclones + 1));
		if (!nc) {
			err = -ENOMEM;
			goto out;
		}
		ss->clones = nc;
		nc[ss->nclones] = (struct ds_clone){
			.id = seq, .size = (uint64_t)st.st_size, .mtime_ns = ts_ns(&st.st_mtim),
			.nsnaps = n, .snaps = newsnaps,
		};
		ss->nclones++;
		newsnaps = NULL;
	}
	ss->seq = seq;
	err = snapset_store(ds, oid, ss);
out:
	free(newsnaps);
	if (err && err != -PC_EOLDSNAPC && err != -ENOSPC)
		ds_error(ds, "keeping a clone of object %s: %s", oid, strerror(-err));
	return err;
}

/* ---- request execution (on the object's worker) ---- */

/* Which file holds @oid at @snapid: *@fd opened (or -1 when the object did
 * not exist then), *@size and *@mtime from the clone record or the head. */
static int ds_resolve(struct dirstore *ds, const char *oid, uint64_t snapid, int *fd,
		      uint64_t *size, int64_t *mtime)
{
	struct ds_snapset ss;
	char cname[PC_OBJ_NAME_MAX + 24];
	struct stat st;
	int err;

	*fd = -1;
	if (snapid != PC_SNAP_HEAD) {
		if (!ds_snap_live(ds, snapid))
			return -ENOENT;
		err = snapset_load(ds, oid, &ss);
		if (err)
			return err;
		if (snapid <= ss.seq) {
			uint32_t k = 0;

			while (k < ss.nclones && ss.clones[k].id < snapid)
				k++;
			if (k < ss.nclones) {
				const struct ds_clone *c = &ss.clones[k];
				bool serves = false;

				for (uint32_t i = 0; i < c->nsnaps; i++)
					serves |= c->snaps[i] == snapid;
				if (serves) {
					clone_name(cname, sizeof(cname), oid, c->id);
					*fd = openat(ds->snapfd, cname, O_RDONLY | O_CLOEXEC);
					*size = c->size;
					*mtime = c->mtime_ns;
					err = 0;
					if (*fd < 0) {
						err = errno == ENOENT ? -EUCLEAN : -errno;
						ds_error(ds, "clone %s of object %s: %s", cname, oid,
							 strerror(-err));
					}
				}
			}
			snapset_free(&ss);
			return err;	/* not a clone it serves: did not exist then */
		}
		snapset_free(&ss);
	}
	*fd = openat(ds->objfd, oid, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(*fd, &st) < 0) {
		err = -errno;
		close(*fd);
		*fd = -1;
		return err;
	}
	*size = (uint64_t)st.st_size;
	*mtime = ts_ns(&st.st_mtim);
	return 0;
}

static void zero_iov(const struct iovec *iov, int iovcnt, uint64_t from, uint64_t to)
{
	uint64_t pos = 0;

	for (int i = 0; i < iovcnt && pos < to; i++) {
		uint64_t s = pos, e = pos + iov[i].iov_len;

		if (e > from) {
			uint64_t a = PC_MAX(s, from), b = PC_MIN(e, to);

			if (b > a)
				memset((char *)iov[i].iov_base + (a - s), 0, (size_t)(b - a));
		}
		pos = e;
	}
}

static int64_t ds_do_read(struct dirstore *ds, struct pc_obj_req *req, bool stat_only)
{
	uint64_t size = 0;
	int64_t mtime = 0, got = 0;
	int fd, err;

	err = ds_resolve(ds, req->oid, req->snapid, &fd, &size, &mtime);
	if (err)
		return err;
	if (stat_only) {
		if (fd < 0)
			return -ENOENT;
		close(fd);
		req->size = size;
		req->mtime_ns = mtime;
		return 0;
	}
	if (fd >= 0 && req->off < size) {
		got = rw_iov(fd, req->iov, req->iovcnt, req->off, PC_MIN(req->len, size - req->off),
			     false, NULL);
		if (got < 0) {
			close(fd);
			return got;
		}
	}
	if (fd >= 0)
		close(fd);
	zero_iov(req->iov, req->iovcnt, (uint64_t)got, req->len);
	return got;
}

static int ds_zero_range(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[65536];
	int err;

	if (!len)
		return 0;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
		return -errno;
	while (len) {
		size_t n = (size_t)PC_MIN(len, sizeof(zeros));

		err = write_all(fd, zeros, n, (off_t)off);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return 0;
}

static int64_t ds_do_mutate(struct dirstore *ds, struct pc_obj_req *req)
{
	struct ds_snapset ss;
	struct stat st;
	bool exists, created = false, sync = req->flags & PC_OBJ_F_SYNC;
	int fd = -1, err;
	int64_t n;

	if (req->op == PC_OBJ_WRITE && req->len > ds->os.max_write_size)
		return -EMSGSIZE;
	if ((req->op == PC_OBJ_WRITE &&
	     (req->off > ds->os.max_object_size || req->len > ds->os.max_object_size - req->off)) ||
	    (req->op == PC_OBJ_TRUNCATE && req->off > ds->os.max_object_size))
		return -EFBIG;
	err = snapset_load(ds, req->oid, &ss);
	if (err)
		return err;
	exists = fstatat(ds->objfd, req->oid, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	if (!exists && (req->op == PC_OBJ_REMOVE || req->op == PC_OBJ_ZERO)) {
		/* REMOVE: -ENOENT; ZERO of a missing object: nothing (RADOS) */
		err = req->op == PC_OBJ_REMOVE ? -ENOENT : 0;
		if (err == 0 && req->snapc && req->snapc->seq < ss.seq)
			err = -PC_EOLDSNAPC;
		goto out;
	}
	err = ds_make_writeable(ds, req->oid, req->snapc, &ss, exists);
	if (err)
		goto out;
	ds_crash_point(ds);

	if (req->op == PC_OBJ_REMOVE) {
		if (unlinkat(ds->objfd, req->oid, 0) < 0) {
			err = -errno;
			goto out;
		}
		atomic_fetch_sub(&ds->nobjects, 1);
		if (!ss.nclones && ss.seq)	/* nothing left to keep: forget it, as RADOS */
			unlinkat(ds->snapfd, req->oid, 0);
		if (sync) {
			err = fsync_fd(ds->objfd);
			if (!err)
				err = fsync_fd(ds->snapfd);
		}
		goto out;
	}
	fd = openat(ds->objfd, req->oid, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && req->op != PC_OBJ_ZERO) {
		fd = openat(ds->objfd, req->oid, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		created = fd >= 0;
	}
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (created)
		atomic_fetch_add(&ds->nobjects, 1);
	switch (req->op) {
	case PC_OBJ_WRITE:
		n = rw_iov(fd, req->iov, req->iovcnt, req->off, req->len, true, ds);
		err = n < 0 ? (int)n : (uint64_t)n != req->len ? -EIO : 0;
		break;
	case PC_OBJ_TRUNCATE:
		err = ftruncate(fd, (off_t)req->off) < 0 ? -errno : 0;
		break;
	case PC_OBJ_ZERO:
		if (fstat(fd, &st) < 0) {
			err = -errno;
			break;
		}
		/* As RADOS: a zero that reaches the object's end truncates the
		 * object to the zero's start; one past the end does nothing. */
		if (req->off < (uint64_t)st.st_size) {
			if (req->len >= (uint64_t)st.st_size - req->off)
				err = ftruncate(fd, (off_t)req->off) < 0 ? -errno : 0;
			else
				err = ds_zero_range(fd, req->off, req->len);
		}
		break;
	default:
		err = -EINVAL;
	}
	if (!err && sync) {
		err = fdatasync(fd) < 0 ? -errno : 0;
		if (!err && created)
			err = fsync_fd(ds->objfd);
	}
out:
	if (fd >= 0)
		close(fd);
	snapset_free(&ss);
	return err;
}

static void ds_execute(struct dirstore *ds, struct pc_obj_req *req)
{
	int64_t res;

	pthread_rwlock_rdlock(&ds->snap_rwsem);
	switch (req->op) {
	case PC_OBJ_READ:
		res = ds_do_read(ds, req, false);
		break;
	case PC_OBJ_STAT:
		res = ds_do_read(ds, req, true);
		break;
	default:
		res = ds_do_mutate(ds, req);
	}
	pthread_rwlock_unlock(&ds->snap_rwsem);
	if (res == -EDQUOT)
		res = -ENOSPC;	/* a quota is a full store to our caller */
	if (res < 0 && res != -ENOENT && res != -PC_EOLDSNAPC && res != -EFBIG &&
	    res != -EMSGSIZE && res != -ENOSPC)
		ds_error(ds, "object %s: %s", req->oid, strerror((int)-res));
	req->result = res;
	req->done(req);
}

static void *ds_worker_fn(void *arg)
{
	struct ds_worker *w = arg;

	for (;;) {
		struct ds_node *node;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		node = w->head;
		if (!node) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		w->head = node->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		ds_execute(w->ds, node->req);
		free(node);
	}
	return NULL;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static bool snapc_valid(const struct pc_snap_context *sc)
{
	if (!sc)
		return true;
	for (uint32_t i = 0; i < sc->num_snaps; i++)
		if (sc->snaps[i] > sc->seq || sc->snaps[i] == 0 ||
		    (i && sc->snaps[i] >= sc->snaps[i - 1]))
			return false;
	return true;
}

static int ds_submit(struct pc_objstore *os, struct pc_obj_req *req)
{
	struct dirstore *ds = os->private;
	struct ds_worker *w;
	struct ds_node *node;
	uint64_t total = 0;

	if (!req || !req->done || !ds_valid_name(req->oid) || req->op < PC_OBJ_READ ||
	    req->op > PC_OBJ_STAT || !snapc_valid(req->snapc))
		return -EINVAL;
	if (req->op == PC_OBJ_READ || req->op == PC_OBJ_WRITE) {
		if (req->iovcnt < 0 || (req->iovcnt && !req->iov))
			return -EINVAL;
		for (int i = 0; i < req->iovcnt; i++) {
			if (req->iov[i].iov_len && !req->iov[i].iov_base)
				return -EINVAL;
			total += req->iov[i].iov_len;
		}
		if (req->op == PC_OBJ_WRITE ? total != req->len : total < req->len)
			return -EINVAL;
	}
	if (atomic_load(&ds->closing))
		return -ESHUTDOWN;
	node = malloc(sizeof(*node));
	if (!node)
		return -ENOMEM;
	node->req = req;
	node->next = NULL;
	w = &ds->workers[name_hash(req->oid) % DS_NR_WORKERS];
	pthread_mutex_lock(&w->lock);
	if (w->stop) {
		pthread_mutex_unlock(&w->lock);
		free(node);
		return -ESHUTDOWN;
	}
	if (w->tail)
		w->tail->next = node;
	else
		w->head = node;
	w->tail = node;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* ---- snapshots ---- */

static int ds_snap_create(struct pc_objstore *os, uint64_t *snapid)
{
	struct dirstore *ds = os->private;
	uint64_t id, *snaps;
	int err;

	if (!snapid)
		return -EINVAL;
	pthread_mutex_lock(&ds->meta_write_lock);
	id = ds->next_snap;
	snaps = malloc(8 * ((size_t)ds->nsnaps + 1));
	if (!snaps) {
		pthread_mutex_unlock(&ds->meta_write_lock);
		return -ENOMEM;
	}
	if (ds->nsnaps)
		memcpy(snaps, ds->snaps, 8 * (size_t)ds->nsnaps);
	snaps[ds->nsnaps] = id;
	err = store_write(ds, ds->dirfd, id + 1, 0, snaps, ds->nsnaps + 1);
	if (err) {
		free(snaps);
		pthread_mutex_unlock(&ds->meta_write_lock);
		ds_error(ds, "recording a new snapshot: %s", strerror(-err));
		return err;
	}
	pthread_mutex_lock(&ds->meta_lock);
	free(ds->snaps);
	ds->snaps = snaps;
	ds->nsnaps++;
	ds->next_snap = id + 1;
	pthread_mutex_unlock(&ds->meta_lock);
	pthread_mutex_unlock(&ds->meta_write_lock);
	*snapid = id;
	return 0;
}

static int names_add(char ***names, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		char **p = realloc(*names, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*names = p;
		*cap = nc;
	}
	(*names)[*n] = strdup(s);
	if (!(*names)[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/*
 * The trim pass (invariant 3): drop dead snaps from every snapset, unlink
 * the clones left serving none, and collect orphan clone and temporary
 * files. Called with snap_rwsem exclusive (or before the workers start).
 */
static int ds_trim(struct dirstore *ds)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	bool skipped = false;
	struct dirent *de;
	int fd, err = 0;
	DIR *d;

	fd = openat(ds->snapfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		err = names_add(&names, &n, &cap, de->d_name);
		if (err)
			break;
	}
	closedir(d);
	/* snapsets first, then clone files against the trimmed snapsets */
	for (int pass = 0; pass < 2 && !err; pass++) {
		for (size_t i = 0; i < n && !err; i++) {
			char *at = strchr(names[i], '@'), *hash = strchr(names[i], '#');
			struct ds_snapset ss;

			if (hash) {
				if (pass == 0)
					unlinkat(ds->snapfd, names[i], 0);
				continue;
			}
			if (pass == 0 && !at) {
				bool changed = false;
				uint32_t keep = 0;

				if (snapset_load(ds, names[i], &ss)) {
					skipped = true;	/* corrupt: leave it and its clones */
					continue;
				}
				for (uint32_t k = 0; k < ss.nclones; k++) {
					struct ds_clone *c = &ss.clones[k];
					uint32_t m = 0;

					for (uint32_t j = 0; j < c->nsnaps; j++)
						if (ds_snap_live(ds, c->snaps[j]))
							c->snaps[m++] = c->snaps[j];
					changed |= m != c->nsnaps;
					c->nsnaps = m;
					if (m)
						ss.clones[keep++] = *c;
					else
						free(c->snaps);
				}
				ss.nclones = keep;
				if (changed) {
					struct stat st;

					if (!keep && fstatat(ds->objfd, names[i], &st, 0) < 0 &&
					    errno == ENOENT) {
						/* no head, no clones: the object is gone */
						err = unlinkat(ds->snapfd, names[i], 0) < 0 ? -errno : 0;
					} else {
						err = snapset_store(ds, names[i], &ss);
					}
					ds_crash_point(ds);
				}
				snapset_free(&ss);
			} else if (pass == 1 && at) {
				unsigned long long id;
				char *end;
				bool named = false;

				*at = '\0';
				id = strtoull(at + 1, &end, 16);
				if (snapset_load(ds, names[i], &ss)) {
					*at = '@';
					skipped = true;
					continue;
				}
				for (uint32_t k = 0; k < ss.nclones && !*end; k++)
					named |= ss.clones[k].id == id;
				snapset_free(&ss);
				*at = '@';
				if (!named && unlinkat(ds->snapfd, names[i], 0) < 0 && errno != ENOENT)
					err = -errno;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!err)
		err = fsync_fd(ds->snapfd);
	return err ? err : skipped ? -EUCLEAN : 0;
}

static int ds_snap_remove(struct pc_objstore *os, uint64_t snapid)
{
	struct dirstore *ds = os->private;
	uint32_t i, n;
	uint64_t *snaps;
	int err;

	pthread_mutex_lock(&ds->meta_write_lock);
	pthread_rwlock_wrlock(&ds->snap_rwsem);
	pthread_mutex_lock(&ds->meta_lock);
	for (i = 0; i < ds->nsnaps && ds->snaps[i] != snapid; i++)
		;
	n = ds->nsnaps;
	pthread_mutex_unlock(&ds->meta_lock);
	if (i == n) {
		err = -ENOENT;
		goto out;
	}
	snaps = malloc(8 * (size_t)n);
	if (!snaps) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(snaps, ds->snaps, 8 * (size_t)i);
	memcpy(snaps + i, ds->snaps + i + 1, 8 * (size_t)(n - i - 1));
	err = store_write(ds, ds->dirfd, ds->next_snap, DS_FLAG_TRIM_PENDING, snaps, n - 1);
	if (err) {
		free(snaps);
		goto out;
	}
	pthread_mutex_lock(&ds->meta_lock);
	free(ds->snaps);
	ds->snaps = snaps;
	ds->nsnaps = n - 1;
	pthread_mutex_unlock(&ds->meta_lock);
	/* The snapshot is gone once pcstore says so; trimming failures (ENOSPC)
	 * leave the flag set and are retried at the next removal or open. */
	if (ds_trim(ds) == 0)
		store_write(ds, ds->dirfd, ds->next_snap, 0, ds->snaps, ds->nsnaps);
out:
	pthread_rwlock_unlock(&ds->snap_rwsem);
	pthread_mutex_unlock(&ds->meta_write_lock);
	if (err && err != -ENOENT)
		ds_error(ds, "removing snapshot %llu: %s", (unsigned long long)snapid, strerror(-err));
	return err;
}

/* ---- lock, flush, statfs ---- */

/* Finish a snap_remove that was cut off (pcstore's TRIM_PENDING flag):
 * trim, then rewrite pcstore without the flag. Called only by the store's
 * lock holder (or at open when nobody holds it). Failures leave the flag
 * for the next snap_remove, open or lock. */
static void ds_finish_trim(struct dirstore *ds)
{
	int err = ds_trim(ds);

	if (!err)
		err = store_write(ds, ds->dirfd, ds->next_snap, 0, ds->snaps, ds->nsnaps);
	if (err)
		ds_error(ds, "finishing an interrupted snapshot removal: %s", strerror(-err));
}

/* The lock was just taken: another holder may have changed pcstore since
 * this handle read it at open (new snapshots, a higher next id), so read
 * it again, and finish a cut-off trim. 0 or -errno (-EUCLEAN: corrupt). */
static int ds_reload_store(struct dirstore *ds)
{
	uint64_t next, *snaps = NULL;
	uint32_t flags = 0, n = 0;
	int err = store_read(ds->dirfd, &next, &flags, &snaps, &n);

	if (err)
		return err;
	/* as snap_remove: meta_write_lock -> snap_rwsem -> meta_lock */
	pthread_mutex_lock(&ds->meta_write_lock);
	pthread_rwlock_wrlock(&ds->snap_rwsem);
	pthread_mutex_lock(&ds->meta_lock);
	free(ds->snaps);
	ds->snaps = snaps;
	ds->nsnaps = n;
	if (next > ds->next_snap)
		ds->next_snap = next;
	pthread_mutex_unlock(&ds->meta_lock);
	if (flags & DS_FLAG_TRIM_PENDING)
		ds_finish_trim(ds);
	pthread_rwlock_unlock(&ds->snap_rwsem);
	pthread_mutex_unlock(&ds->meta_write_lock);
	return 0;
}

static int ds_lock(struct pc_objstore *os, const char *cookie, char *why, size_t whylen)
{
	struct dirstore *ds = os->private;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX + 8], line[256];
	int fd, err = 0;

	if (why && whylen)
		why[0] = '\0';
	pthread_mutex_lock(&ds->lock_lock);
	if (ds->lockfd >= 0) {
		if (why && whylen)
			snprintf(why, whylen, "%s: already locked through this handle", os->name);
		err = -EBUSY;
		goto out;
	}
	fd = openat(ds->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	while (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		err = errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
		break;
	}
	if (err == -EBUSY) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/lock", ds->path);
		pc_bdev_describe_holder(path, line, sizeof(line));
		if (why && whylen) {
			char holder[160] = "";

			n = pread(fd, holder, sizeof(holder) - 1, 0);
			holder[n > 0 ? n : 0] = '\0';
			holder[strcspn(holder, "\n")] = '\0';
			snprintf(why, whylen, "%s: %s%s%s%s", os->name, line,
				 holder[0] ? " (holder: " : "", holder, holder[0] ? ")" : "");
		}
		close(fd);
		goto out;
	}
	if (err) {
		close(fd);
		goto out;
	}
	/* say who holds it, for the next one's message */
	snprintf(line, sizeof(line), "pid %d, cookie %.100s\n", (int)getpid(),
		 cookie ? cookie : "-");
	if (ftruncate(fd, 0) == 0)
		write_all(fd, line, strlen(line), 0);
	ds->lockfd = fd;
	err = ds_reload_store(ds);
	if (err) {
		if (why && whylen)
			snprintf(why, whylen, "%s: reading pcstore after taking the lock: %s",
				 os->name, strerror(-err));
		ds->lockfd = -1;
		close(fd);	/* drops the lock */
	}
out:
	pthread_mutex_unlock(&ds->lock_lock);
	return err;
}

static int ds_unlock(struct pc_objstore *os, const char *cookie)
{
	struct dirstore *ds = os->private;
	int err = 0;

	(void)cookie;
	pthread_mutex_lock(&ds->lock_lock);
	if (ds->lockfd < 0) {
		err = -ENOENT;
	} else {
		if (ftruncate(ds->lockfd, 0) < 0)
			err = 0;	/* only a message for others */
		close(ds->lockfd);
		ds->lockfd = -1;
	}
	pthread_mutex_unlock(&ds->lock_lock);
	return err;
}

static int ds_flush(struct pc_objstore *os)
{
	struct dirstore *ds = os->private;

	if (syncfs(ds->dirfd) < 0) {
		int err = -errno;

		ds_error(ds, "syncfs: %s", strerror(-err));
		return err;
	}
	return 0;
}

static int ds_statfs(struct pc_objstore *os, struct pc_objstore_statfs *st)
{
	struct dirstore *ds = os->private;
	struct statvfs sv;

	if (!st)
		return -EINVAL;
	if (fstatvfs(ds->dirfd, &sv) < 0)
		return -errno;
	st->total = (uint64_t)sv.f_blocks * sv.f_frsize;
	st->used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
	st->avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	st->objects = atomic_load(&ds->nobjects);
	return 0;
}

/* ---- open, close, mkfs ---- */

static void ds_free(struct dirstore *ds)
{
	if (ds->lockfd >= 0)
		close(ds->lockfd);
	if (ds->objfd >= 0)
		close(ds->objfd);
	if (ds->snapfd >= 0)
		close(ds->snapfd);
	if (ds->dirfd >= 0)
		close(ds->dirfd);
	pthread_rwlock_destroy(&ds->snap_rwsem);
	pthread_mutex_destroy(&ds->meta_write_lock);
	pthread_mutex_destroy(&ds->meta_lock);
	pthread_mutex_destroy(&ds->err_lock);
	pthread_mutex_destroy(&ds->lock_lock);
	free(ds->snaps);
	free(ds->path);
	free(ds);
}

static void ds_stop_workers(struct dirstore *ds, int started)
{
	for (int i = 0; i < started; i++) {
		struct ds_worker *w = &ds->workers[i];

		pthread_mutex_lock(&w->lock);
		w->stop = true;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	for (int i = 0; i < DS_NR_WORKERS; i++) {
		pthread_mutex_destroy(&ds->workers[i].lock);
		pthread_cond_destroy(&ds->workers[i].cond);
	}
}

static void ds_close(struct pc_objstore *os)
{
	struct dirstore *ds = os->private;

	atomic_store(&ds->closing, true);
	ds_stop_workers(ds, DS_NR_WORKERS);	/* each drains its queue first */
	ds_free(ds);
}

static const struct pc_objstore_ops ds_ops = {
	.submit = ds_submit,
	.snap_create = ds_snap_create,
	.snap_remove = ds_snap_remove,
	.lock = ds_lock,
	.unlock = ds_unlock,
	.flush = ds_flush,
	.statfs = ds_statfs,
	.close = ds_close,
};

int pc_objstore_mkfs_dir(const char *path)
{
	struct dirent *de;
	int dirfd, fd, err;
	DIR *d;

	ds_open_error[0] = '\0';
	if (!path) {
		open_error("no path");
		return -EINVAL;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		open_error("%s: cannot create the directory: %s", path, strerror(-err));
		return err;
	}
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		err = -errno;
		open_error("%s: %s", path, strerror(-err));
		return err;
	}
	fd = dup(dirfd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		close(dirfd);
		open_error("%s: %s", path, strerror(-err));
		return err;
	}
	err = 0;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		err = !strcmp(de->d_name, "pcstore") ? -EEXIST : -ENOTEMPTY;
		if (err == -EEXIST)
			break;
	}
	closedir(d);
	if (err) {
		close(dirfd);
		open_error(err == -EEXIST ? "%s: already an object store"
					  : "%s: not empty and not an object store", path);
		return err;
	}
	/* obj/ and snap/ first, pcstore last: a store is complete once it is there */
	if ((mkdirat(dirfd, "obj", 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(dirfd, "snap", 0755) < 0 && errno != EEXIST)) {
		err = -errno;
		goto fail;
	}
	err = fsync_fd(dirfd);
	if (!err)
		err = store_write(NULL, dirfd, 1, 0, NULL, 0);
	if (err)
		goto fail;
	close(dirfd);
	return 0;
fail:
	close(dirfd);
	open_error("%s: making the object store: %s", path, strerror(-err));
	return err;
}

static int count_objects(int objfd, uint64_t *count)
{
	int fd = openat(objfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	*count = 0;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			(*count)++;
	closedir(d);
	return 0;
}

int pc_objstore_open_dir(const char *path, unsigned flags, struct pc_objstore **osp)
{
	pthread_rwlockattr_t ra;
	struct dirstore *ds;
	const char *crash;
	uint32_t sflags = 0;
	uint64_t nobj;
	int err, started = 0;

	ds_open_error[0] = '\0';
	if (!path || !osp || (flags & ~PC_OBJSTORE_DIR_CREATE)) {
		open_error("invalid arguments");
		return -EINVAL;
	}
	*osp = NULL;
	if (flags & PC_OBJSTORE_DIR_CREATE) {
		err = pc_objstore_mkfs_dir(path);
		if (err && err != -EEXIST)
			return err;
		ds_open_error[0] = '\0';
	}
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return -ENOMEM;
	ds->dirfd = ds->objfd = ds->snapfd = ds->lockfd = -1;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&ds->snap_rwsem, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&ds->meta_write_lock, NULL);
	pthread_mutex_init(&ds->meta_lock, NULL);
	pthread_mutex_init(&ds->err_lock, NULL);
	pthread_mutex_init(&ds->lock_lock, NULL);
	for (int i = 0; i < DS_NR_WORKERS; i++) {
		pthread_mutex_init(&ds->workers[i].lock, NULL);
		pthread_cond_init(&ds->workers[i].cond, NULL);
		ds->workers[i].ds = ds;
	}
	ds->path = strdup(path);
	if (!ds->path) {
		err = -ENOMEM;
		goto fail;
	}
	ds->os.ops = &ds_ops;
	ds->os.private = ds;
	ds->os.max_object_size = DS_DEFAULT_MAX_OBJECT;
	ds->os.max_write_size = DS_DEFAULT_MAX_WRITE;
	snprintf(ds->os.name, sizeof(ds->os.name), "dir:%s", path);
	crash = getenv("PC_OBJSTORE_DIR_CRASH_POINT");
	ds->crash_at = crash ? strtol(crash, NULL, 10) : 0;

	ds->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ds->dirfd < 0) {
		err = -errno;
		open_error("%s: %s", path, strerror(-err));
		goto fail;
	}
	err = store_read(ds->dirfd, &ds->next_snap, &sflags, &ds->snaps, &ds->nsnaps);
	if (err) {
		if (err == -ENOENT) {
			open_error("%s: not an object store (no pcstore; make one with mkfs)", path);
			err = -EINVAL;
		} else if (err == -EUCLEAN) {
			open_error("%s: the store's superblock %s/pcstore is corrupt (bad magic, size or checksum)",
				   path, path);
		} else {
			open_error("%s: reading pcstore: %s", path, strerror(-err));
		}
		goto fail;
	}
	ds->objfd = openat(ds->dirfd, "obj", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ds->snapfd = openat(ds->dirfd, "snap", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ds->objfd < 0 || ds->snapfd < 0) {
		err = errno == ENOENT ? -EUCLEAN : -errno;
		open_error("%s: obj/ or snap/ is missing: %s", path, strerror(-err));
		goto fail;
	}
	err = count_objects(ds->objfd, &nobj);
	if (err) {
		open_error("%s: listing obj/: %s", path, strerror(-err));
		goto fail;
	}
	ds->nobjects = nobj;
	if (sflags & DS_FLAG_TRIM_PENDING) {
		/* A snap_remove was cut off: finish it (invariant 3), but only
		 * if nobody holds the store: a holder may be trimming or
		 * writing pcstore right now, and then it is its job (ds_lock
		 * finishes it for the next holder). */
		int lfd = openat(ds->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (lfd >= 0 && fcntl(lfd, F_OFD_SETLK, &fl) == 0)
			ds_finish_trim(ds);
		if (lfd >= 0)
			close(lfd);	/* drops the OFD lock */
		err = 0;
	}
	for (started = 0; started < DS_NR_WORKERS; started++) {
		err = -pthread_create(&ds->workers[started].thread, NULL, ds_worker_fn,
				      &ds->workers[started]);
		if (err) {
			open_error("%s: starting worker threads: %s", path, strerror(-err));
			goto fail;
		}
	}
	*osp = &ds->os;
	return 0;
fail:
	ds_stop_workers(ds, started);
	ds_free(ds);
	return err;
}

int pc_objstore_dir_set_limits(struct pc_objstore *os, uint64_t max_object_size,
			       uint64_t max_write_size)
{
	if (!os || os->ops != &ds_ops)
		return -EINVAL;
	if (max_object_size)
		os->max_object_size = max_object_size;
	if (max_write_size)
		os->max_write_size = max_write_size;
	return 0;
}

size_t pc_objstore_dir_strerror(struct pc_objstore *os, char *buf, size_t len)
{
	size_t n = 0;

	if (!buf || !len)
		return 0;
	buf[0] = '\0';
	if (!os) {
		snprintf(buf, len, "%s", ds_open_error);
		return strlen(buf);
	}
	if (os->ops != &ds_ops)
		return 0;
	struct dirstore *ds = os->private;

	pthread_mutex_lock(&ds->err_lock);
	snprintf(buf, len, "%s", ds->err);
	n = strlen(buf);
	pthread_mutex_unlock(&ds->err_lock);
	return n;
}
