/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/hostdirfs.c - a filesystem of your own on the page cache.
 *
 * "hostdirfs" is a flat filesystem: its source is a directory of the host,
 * and every regular file in that directory is a file of the mount (no
 * subdirectories). It is written only against the installed headers, as a
 * user of the library would write it, and shows the parts a filesystem
 * supplies (Linux's Documentation/filesystems/vfs.rst is the model):
 *
 *   - registration: a struct pc_fs_type passed to pc_register_filesystem();
 *   - fill_super: private data (s_fs_info), block size, a backing device
 *     (pc_bdi_init) for the flusher, the root inode;
 *   - inodes: lookup + read_inode, create (pc_new_inode), unlink, setattr
 *     (truncate: host ftruncate + pc_truncate_setsize), evict;
 *   - buffered reads through readahead/readpage: pread from the host file
 *     into the page;
 *   - buffered writes through write_begin/write_end: the page is filled
 *     from the host file first when the write covers only part of it, then
 *     pc_simple_write_end marks it dirty and moves i_size;
 *   - writeback: writepage pwrite()s a dirty page to the host file,
 *     writepages walks the dirty pages (pc_write_cache_pages); fsync writes
 *     back the range and fsync()s the host file;
 *   - O_DIRECT: direct_IO preads/pwrites the host file, keeping the cache
 *     coherent (write back and drop the cached pages of the range first);
 *   - readdir (iterate) and statfs.
 *
 * Locking: the VFS holds the inode lock (i_rwsem) around write_begin/
 * write_end, setattr and direct writes, and the parent's around create and
 * unlink (docs/locking.md). The name table below has its own mutex.
 *
 * Build against an installed libpagecache (one line):
 *     cc -o hostdirfs hostdirfs.c $(pkg-config --cflags --libs pagecache)
 * Run:
 *     ./hostdirfs DIR
 * It registers "hostdirfs", mounts DIR (which must exist and be empty or
 * hold only files it may overwrite), writes, reads, truncates and unlinks
 * files through pc_open/pc_pwrite/pc_pread (buffered and O_DIRECT),
 * fsyncs, unmounts, and then checks with plain POSIX calls that the host
 * files hold what was written. Exits 0 on success, 1 on any failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* pread, openat, syncfs, strndup */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <pagecache/fs.h>

#define HD_ROOT_INO 1		/* the directory itself */
#define HD_FIRST_INO 2		/* file n of the table is inode n + 2 */
#define HD_MAX_FILES 1024	/* a teaching example: a fixed table */
#define HD_NAME_MAX 255
#define HD_DIO_ALIGN 512	/* O_DIRECT alignment we ask of callers */

/* s_fs_info: lives from fill_super to put_super. */
struct hd_sb {
	int dirfd;				/* the host directory */
	pthread_mutex_t lock;			/* protects names[] */
	char *names[HD_MAX_FILES];		/* NULL: free slot (unlinked) */
	struct pc_backing_dev bdi;		/* writeback flusher */
};

/* i_private of a regular file: the host fd, from read_inode/create to evict. */
static inline int HD_FD(struct pc_inode *inode)
{
	return (int)(intptr_t)inode->i_private - 1;	/* stored +1: NULL means none */
}

static inline struct hd_sb *HD_SB(struct pc_super_block *sb)
{
	return sb->s_fs_info;
}

static const struct pc_inode_operations hd_dir_iops, hd_file_iops;
static const struct pc_file_operations hd_dir_fops, hd_file_fops;
static const struct pc_address_space_operations hd_aops;

/* ---- reading a page from the host file ---- */

/* Fill @page (locked) from the host file; zero what lies past its end. */
static int hd_fill_page(struct pc_inode *inode, struct pc_page *page)
{
	char *p = pc_page_address(page);
	loff_t pos = (loff_t)page->index << PC_PAGE_SHIFT;
	size_t done = 0;

	while (done < PC_PAGE_SIZE) {
		ssize_t n = pread(HD_FD(inode), p + done, PC_PAGE_SIZE - done, pos + (loff_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;		/* end of the host file: the rest is a hole */
		done += (size_t)n;
	}
	memset(p + done, 0, PC_PAGE_SIZE - done);
	return 0;
}

/* a_ops->readpage: page locked and new; unlock it when done (Linux rules). */
static int hd_readpage(struct pc_file *file, struct pc_page *page)
{
	int err = hd_fill_page(page->mapping->host, page);

	(void)file;
	if (!err)
		pc_SetPageUptodate(page);
	pc_unlock_page(page);
	return err;
}

/*
 * a_ops->readahead: the VFS put a batch of locked new pages in the cache;
 * take them in order, read each, unlock it and drop the extra reference.
 * A page left !Uptodate makes the reader retry it through readpage.
 */
static void hd_readahead(struct pc_readahead_control *rac)
{
	struct pc_page *page;

	while ((page = pc_readahead_page(rac)) != NULL) {
		if (hd_fill_page(rac->mapping->host, page) == 0)
			pc_SetPageUptodate(page);
		pc_unlock_page(page);
		pc_put_page(page);
	}
}

/* ---- buffered writes ---- */

/*
 * a_ops->write_begin: return the page at @pos locked. Unlike a memory
 * filesystem's pc_simple_write_begin (which zeroes what the write does not
 * cover), a page that is not uptodate is first read from the host file:
 * the bytes around the write are real data.
 */
static int hd_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			  unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata)
{
	struct pc_page *page = pc_grab_cache_page_write_begin(mapping, pos >> PC_PAGE_SHIFT, flags);
	int err;

	(void)file;
	(void)len;
	(void)fsdata;
	if (!page)
		return -ENOMEM;
	if (!pc_PageUptodate(page)) {
		err = hd_fill_page(mapping->host, page);
		if (err) {
			pc_unlock_page(page);
			pc_put_page(page);
			return err;
		}
		pc_SetPageUptodate(page);
	}
	*pagep = page;
	return 0;
}

/* a_ops->write_end: the generic helper marks the page dirty and moves i_size. */
static int hd_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	return pc_simple_write_end(file, mapping, pos, len, copied, page, fsdata);
}

/* ---- writeback ---- */

/*
 * a_ops->writepage: @page is locked, referenced and its dirty bit cleared
 * for I/O. Write the part below i_size to the host file, synchronously,
 * and unlock. An error is recorded in the mapping (fsync reports it).
 */
static int hd_writepage(struct pc_page *page, struct pc_writeback_control *wbc)
{
	struct pc_inode *inode = page->mapping->host;
	loff_t pos = (loff_t)page->index << PC_PAGE_SHIFT;
	loff_t size = pc_i_size_read(inode);
	size_t len = PC_PAGE_SIZE, done = 0;
	const char *p = pc_page_address(page);
	int err = 0;

	(void)wbc;
	if (pos >= size) {		/* truncated away meanwhile */
		pc_unlock_page(page);
		return 0;
	}
	if (size - pos < (loff_t)len)
		len = (size_t)(size - pos);
	pc_set_page_writeback(page);
	pc_unlock_page(page);
	while (done < len) {
		ssize_t n = pwrite(HD_FD(inode), p + done, len - done, pos + (loff_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (err)
		pc_mapping_set_error(page->mapping, err);
	pc_end_page_writeback(page);
	return err;
}

static int hd_writepage_cb(struct pc_page *page, struct pc_writeback_control *wbc, void *data)
{
	(void)data;
	return hd_writepage(page, wbc);
}

/* a_ops->writepages: the dirty pages of the wbc range, in index order. */
static int hd_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc)
{
	return pc_write_cache_pages(mapping, wbc, hd_writepage_cb, NULL);
}

/* f_op->fsync: write back and wait for the range, then make the host durable. */
static int hd_fsync(struct pc_file *file, loff_t start, loff_t end, int datasync)
{
	struct pc_inode *inode = file->f_inode;
	int err = pc_file_write_and_wait_range(file, start, end);

	if (err)
		return err;
	if (!S_ISREG(inode->i_mode))
		return fsync(HD_SB(inode->i_sb)->dirfd) ? -errno : 0;
	if ((datasync ? fdatasync(HD_FD(inode)) : fsync(HD_FD(inode))) != 0)
		return -errno;
	return 0;
}

/* ---- O_DIRECT ---- */

/*
 * a_ops->direct_IO: bypass the cache, keep it coherent. Called with the
 * inode lock held for writes. Dirty cached pages of the range are written
 * back first (a read must see them, a write must not be overwritten by
 * them later) and the range's pages dropped (a later buffered read must
 * see what we write). Then one pread/pwrite through a bounce buffer.
 */
static ssize_t hd_direct_IO(struct pc_kiocb *iocb, struct pc_iov_iter *iter)
{
	struct pc_inode *inode = iocb->ki_filp->f_inode;
	struct pc_address_space *mapping = inode->i_mapping;
	loff_t pos = iocb->ki_pos;
	size_t count = pc_iov_iter_count(iter);
	ssize_t n;
	void *buf;
	int err;

	err = pc_check_dio_alignment(iter, pos, HD_DIO_ALIGN);
	if (err)
		return err;
	if (iter->dir == PC_READ) {	/* never past EOF: a short read */
		loff_t size = pc_i_size_read(inode);

		if (pos >= size)
			return 0;
		if ((loff_t)count > size - pos)
			count = (size_t)(size - pos);
	}
	if (count == 0)
		return 0;
	err = pc_filemap_write_and_wait_range(mapping, pos, pos + (loff_t)count - 1);
	if (err)
		return err;
	err = pc_invalidate_inode_pages2_range(mapping, pos >> PC_PAGE_SHIFT,
					       (pos + (loff_t)count - 1) >> PC_PAGE_SHIFT);
	if (err)
		return err;
	if (posix_memalign(&buf, HD_DIO_ALIGN, count))
		return -ENOMEM;
	if (iter->dir == PC_READ) {
		n = pread(HD_FD(inode), buf, count, pos);
		if (n > 0)
			n = (ssize_t)pc_copy_to_iter(buf, (size_t)n, iter);
	} else {
		n = (ssize_t)pc_copy_from_iter(buf, count, iter);
		if (n > 0)
			n = pwrite(HD_FD(inode), buf, (size_t)n, pos);
		if (n > 0 && pos + n > pc_i_size_read(inode))
			pc_i_size_write(inode, pos + n);
		/* A buffered reader (who takes no inode lock) may have cached
		 * the old data meanwhile: drop it again, as Linux does. */
		if (n > 0)
			pc_invalidate_inode_pages2_range(mapping, pos >> PC_PAGE_SHIFT,
							 (pos + n - 1) >> PC_PAGE_SHIFT);
	}
	if (n < 0)
		n = -errno;
	free(buf);
	return n;
}

/* ---- the name table and directory operations ---- */

/* Slot of @name in the table, or -1. Caller holds hd->lock. */
static int hd_find(struct hd_sb *hd, const char *name, size_t len)
{
	for (int i = 0; i < HD_MAX_FILES; i++)
		if (hd->names[i] && strlen(hd->names[i]) == len && memcmp(hd->names[i], name, len) == 0)
			return i;
	return -1;
}

/* Add @name (len bytes) to a free slot. Returns the slot or -errno. Lock held. */
static int hd_add(struct hd_sb *hd, const char *name, size_t len)
{
	for (int i = 0; i < HD_MAX_FILES; i++) {
		if (!hd->names[i]) {
			hd->names[i] = strndup(name, len);
			return hd->names[i] ? i : -ENOMEM;
		}
	}
	return -ENOSPC;
}

/* i_op->lookup: a name to an inode number (read_inode fills the inode). */
static int hd_lookup(struct pc_inode *dir, const char *name, size_t len, uint64_t *ino)
{
	struct hd_sb *hd = HD_SB(dir->i_sb);
	int slot;

	pthread_mutex_lock(&hd->lock);
	slot = hd_find(hd, name, len);
	pthread_mutex_unlock(&hd->lock);
	if (slot < 0)
		return -ENOENT;
	*ino = (uint64_t)slot + HD_FIRST_INO;
	return 0;
}

/* Give a regular-file inode its host fd, attributes and operations. */
static int hd_setup_file(struct pc_inode *inode, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	inode->i_private = (void *)(intptr_t)(fd + 1);
	inode->i_mode = st.st_mode;
	inode->i_uid = st.st_uid;
	inode->i_gid = st.st_gid;
	inode->i_nlink = 1;
	pc_i_size_write(inode, st.st_size);
	pc_inode_set_times(inode, PC_ATTR_MTIME, &st.st_mtim);
	pc_inode_set_ops(inode, &hd_file_iops, &hd_file_fops, &hd_aops);
	return 0;
}

/* s_op->read_inode: the VFS looks up inode i_ino; open its host file. */
static int hd_read_inode(struct pc_inode *inode)
{
	struct hd_sb *hd = HD_SB(inode->i_sb);
	uint64_t slot = inode->i_ino - HD_FIRST_INO;
	int fd = -1, err;

	if (inode->i_ino < HD_FIRST_INO || slot >= HD_MAX_FILES)
		return -ENOENT;
	pthread_mutex_lock(&hd->lock);
	if (hd->names[slot])
		fd = openat(hd->dirfd, hd->names[slot], O_RDWR | O_CLOEXEC);
	err = hd->names[slot] ? (fd < 0 ? -errno : 0) : -ENOENT;
	pthread_mutex_unlock(&hd->lock);
	if (err)
		return err;
	err = hd_setup_file(inode, fd);
	if (err)
		close(fd);
	return err;
}

/* i_op->create: a new host file, a new slot and a new inode (referenced). */
static int hd_create(struct pc_inode *dir, const char *name, size_t len, mode_t mode,
		     struct pc_inode **out)
{
	struct hd_sb *hd = HD_SB(dir->i_sb);
	struct pc_inode *inode;
	char cname[HD_NAME_MAX + 1];
	int slot, fd, err;

	if (len > HD_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(cname, name, len);
	cname[len] = '\0';
	pthread_mutex_lock(&hd->lock);
	slot = hd_find(hd, name, len) >= 0 ? -EEXIST : hd_add(hd, name, len);
	pthread_mutex_unlock(&hd->lock);
	if (slot < 0)
		return slot;
	fd = openat(hd->dirfd, cname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	err = fd < 0 ? -errno : 0;
	inode = err ? NULL : pc_new_inode(dir->i_sb, (uint64_t)slot + HD_FIRST_INO);
	if (!err && !inode)
		err = -ENOMEM;
	if (!err)
		err = hd_setup_file(inode, fd);
	if (err) {
		if (inode) {
			inode->i_nlink = 0;
			pc_iput(inode);		/* evict closes the fd */
		} else if (fd >= 0) {
			close(fd);
		}
		if (fd >= 0)
			unlinkat(hd->dirfd, cname, 0);
		pthread_mutex_lock(&hd->lock);
		free(hd->names[slot]);
		hd->names[slot] = NULL;
		pthread_mutex_unlock(&hd->lock);
		return err;
	}
	*out = inode;
	return 0;
}

/* i_op->unlink: remove the host file; the inode lives on while open. */
static int hd_unlink(struct pc_inode *dir, const char *name, size_t len, struct pc_inode *victim)
{
	struct hd_sb *hd = HD_SB(dir->i_sb);
	int slot, err = 0;

	pthread_mutex_lock(&hd->lock);
	slot = hd_find(hd, name, len);
	if (slot < 0 || (uint64_t)slot + HD_FIRST_INO != victim->i_ino)
		err = -ENOENT;
	else if (unlinkat(hd->dirfd, hd->names[slot], 0))
		err = -errno;
	if (!err) {
		free(hd->names[slot]);
		hd->names[slot] = NULL;
		victim->i_nlink = 0;
	}
	pthread_mutex_unlock(&hd->lock);
	return err;
}

/* f_op->iterate: ".", "..", then the table; ctx->pos is slot + 2. */
static int hd_iterate(struct pc_file *file, struct pc_dir_context *ctx)
{
	struct hd_sb *hd = HD_SB(file->f_inode->i_sb);

	while (ctx->pos < 2) {
		if (!ctx->actor(ctx, ctx->pos ? ".." : ".", ctx->pos ? 2 : 1, HD_ROOT_INO, DT_DIR))
			return 0;
		ctx->pos++;
	}
	pthread_mutex_lock(&hd->lock);
	for (; ctx->pos - 2 < HD_MAX_FILES; ctx->pos++) {
		const char *n = hd->names[ctx->pos - 2];

		if (n && !ctx->actor(ctx, n, strlen(n), (uint64_t)ctx->pos - 2 + HD_FIRST_INO, DT_REG))
			break;
	}
	pthread_mutex_unlock(&hd->lock);
	return 0;
}

/*
 * i_op->setattr (inode lock held): a size change truncates the cache, then
 * the host file. In this order because the flusher may write a dirty page
 * at any time: once i_size is the new size and the pages past it are gone
 * (pc_truncate_setsize waits for their writeback), writepage can no longer
 * write past the new end, so the host ftruncate is final.
 */
static int hd_setattr(struct pc_inode *inode, const struct pc_iattr *attr)
{
	if (attr->ia_valid & PC_ATTR_SIZE) {
		if (!S_ISREG(inode->i_mode))
			return -EISDIR;
		pc_truncate_setsize(inode, attr->ia_size);	/* i_size + the cached pages */
		if (ftruncate(HD_FD(inode), attr->ia_size))
			return -errno;
	}
	pc_setattr_copy(inode, attr);
	return 0;
}

/* ---- superblock ---- */

/* s_op->evict_inode: the last reference is gone: drop the pages, close. */
static void hd_evict_inode(struct pc_inode *inode)
{
	pc_truncate_inode_pages(inode->i_mapping, 0);
	if (inode->i_private)
		close(HD_FD(inode));
	inode->i_private = NULL;
}

static int hd_statfs(struct pc_super_block *sb, struct pc_statfs *buf)
{
	struct statvfs sv;

	if (fstatvfs(HD_SB(sb)->dirfd, &sv))
		return -errno;
	buf->f_bsize = sv.f_frsize;
	buf->f_blocks = sv.f_blocks;
	buf->f_bfree = sv.f_bfree;
	buf->f_bavail = sv.f_bavail;
	buf->f_files = sv.f_files;
	buf->f_ffree = sv.f_ffree;
	buf->f_namelen = HD_NAME_MAX;
	return 0;
}

static int hd_sync_fs(struct pc_super_block *sb, int wait)
{
	(void)wait;
	return syncfs(HD_SB(sb)->dirfd) ? -errno : 0;
}

static void hd_free_sb(struct hd_sb *hd)
{
	for (int i = 0; i < HD_MAX_FILES; i++)
		free(hd->names[i]);
	pthread_mutex_destroy(&hd->lock);
	close(hd->dirfd);
	free(hd);
}

/* s_op->put_super: every inode is gone; stop the flusher, free. */
static void hd_put_super(struct pc_super_block *sb)
{
	pc_bdi_destroy(&HD_SB(sb)->bdi);
	hd_free_sb(HD_SB(sb));
	sb->s_fs_info = NULL;
}

static const struct pc_super_operations hd_sops = {
	.read_inode = hd_read_inode,
	.evict_inode = hd_evict_inode,
	.statfs = hd_statfs,
	.sync_fs = hd_sync_fs,
	.put_super = hd_put_super,
};

static const struct pc_inode_operations hd_dir_iops = {
	.lookup = hd_lookup,
	.create = hd_create,
	.unlink = hd_unlink,
};
static const struct pc_inode_operations hd_file_iops = { .setattr = hd_setattr };
static const struct pc_file_operations hd_dir_fops = { .iterate = hd_iterate, .fsync = hd_fsync };
static const struct pc_file_operations hd_file_fops = {
	.read_iter = pc_generic_file_read_iter,
	.write_iter = pc_generic_file_write_iter,
	.fsync = hd_fsync,
	.llseek = pc_generic_file_llseek,
};
static const struct pc_address_space_operations hd_aops = {
	.readpage = hd_readpage,
	.readahead = hd_readahead,
	.write_begin = hd_write_begin,
	.write_end = hd_write_end,
	.writepage = hd_writepage,
	.writepages = hd_writepages,
	.direct_IO = hd_direct_IO,
};

/* fill_super: @source is the host directory; its regular files fill the table. */
static int hd_fill_super(struct pc_super_block *sb, const char *source,
			 const struct pc_mount_opts *opts, char *msg, size_t msglen)
{
	struct hd_sb *hd;
	struct pc_inode *root;
	struct dirent *de;
	DIR *d;
	int err;

	(void)opts;
	hd = calloc(1, sizeof(*hd));
	if (!hd)
		return -ENOMEM;
	pthread_mutex_init(&hd->lock, NULL);
	hd->dirfd = source ? open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (hd->dirfd < 0) {
		err = source ? -errno : -EINVAL;
		snprintf(msg, msglen, "hostdirfs: cannot open directory %s", source ? source : "(none)");
		pthread_mutex_destroy(&hd->lock);
		free(hd);
		return err;
	}
	d = fdopendir(dup(hd->dirfd));
	while (d && (de = readdir(d)) != NULL) {
		struct stat st;

		if (fstatat(hd->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			hd_add(hd, de->d_name, strlen(de->d_name));
	}
	if (d)
		closedir(d);
	err = pc_bdi_init(&hd->bdi, sb->s_cache, "hostdirfs");
	if (err) {
		snprintf(msg, msglen, "hostdirfs: cannot start the flusher");
		hd_free_sb(hd);
		return err;
	}
	sb->s_fs_info = hd;
	sb->s_op = &hd_sops;
	pc_sb_set_blocksize(sb, PC_PAGE_SIZE);
	sb->s_maxbytes = INT64_MAX;
	sb->s_dio_align = HD_DIO_ALIGN;
	sb->s_bdi = &hd->bdi;
	sb->s_root_ino = HD_ROOT_INO;

	/* The root, made the iget_locked way; pc_mount's pc_iget finds it. */
	root = pc_iget_locked(sb, HD_ROOT_INO);
	if (!root) {
		snprintf(msg, msglen, "hostdirfs: no memory for the root");
		hd_put_super(sb);
		return -ENOMEM;
	}
	root->i_mode = S_IFDIR | 0755;
	root->i_nlink = 2;
	pc_inode_set_ops(root, &hd_dir_iops, &hd_dir_fops, NULL);
	pc_unlock_new_inode(root);
	pc_iput(root);
	return 0;
}

static const struct pc_fs_type hostdirfs_type = {
	.name = "hostdirfs",
	.fill_super = hd_fill_super,
};

/* ==== the demonstration: an application using the mount ==== */

#define CHECK(cond, what)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "hostdirfs: %s failed (line %d)\n", what, __LINE__); \
			return 1;                                              \
		}                                                              \
	} while (0)

/* The byte at @off of the test pattern for file @seed. */
static char pat(int seed, long off)
{
	return (char)('a' + (off * 7 + seed) % 26);
}

/* Does host file DIR/@name hold exactly @size bytes of pattern @seed? */
static int host_matches(const char *dir, const char *name, long size, int seed)
{
	char path[4096], *buf = malloc(size + 1);
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	n = f && buf ? (long)fread(buf, 1, size + 1, f) : -1;
	if (f)
		fclose(f);
	for (long i = 0; n == size && i < size; i++)
		if (buf[i] != pat(seed, i))
			n = -1;
	free(buf);
	return n == size;
}

int main(int argc, char **argv)
{
	struct pc_mount_opts opts = { .cache_size = 8 << 20 };
	enum { BIG = 300 * 1024 + 123, DSZ = 64 * 1024 };
	struct pc_mount *m;
	struct pc_dir *dir;
	struct pc_dirent ent;
	struct pc_statfs sfs;
	char *buf = malloc(BIG), *back = malloc(BIG), *dbuf;
	int fd, err, nent = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: hostdirfs DIR\n");
		return 2;
	}
	CHECK(buf && back && posix_memalign((void **)&dbuf, 4096, DSZ) == 0, "malloc");
	CHECK(pc_register_filesystem(&hostdirfs_type) == 0, "pc_register_filesystem");
	err = pc_mount("hostdirfs", argv[1], &opts, &m);
	if (err) {
		fprintf(stderr, "pc_mount: %s (%s)\n", strerror(-err), pc_mount_error());
		return 1;
	}

	/* 0. A file that was there before the mount ("existing", if DIR has
	 * one): read it through the cache (readahead from the host file), then
	 * overwrite 9 bytes in the middle of a page: write_begin must read
	 * the rest of that page from the host, not zero it. */
	fd = pc_open(m, "/existing", O_RDWR, 0);
	if (fd != -ENOENT) {
		char path[4096];
		ssize_t n;
		int hfd;

		CHECK(fd >= 0, "pc_open /existing");
		snprintf(path, sizeof(path), "%s/existing", argv[1]);
		hfd = open(path, O_RDONLY);
		CHECK(hfd >= 0, "open host existing");
		n = pread(hfd, buf, BIG, 0);
		close(hfd);
		CHECK(n >= 0 && pc_pread(fd, back, BIG, 0) == n && memcmp(buf, back, (size_t)n) == 0,
		      "pc_pread /existing == host data");
		CHECK(pc_pwrite(fd, "PAGECACHE", 9, 5000) == 9, "pc_pwrite /existing");
		CHECK(pc_fsync(fd) == 0, "pc_fsync /existing");
		CHECK(pc_close(fd) == 0, "pc_close /existing");
	}

	/* 1. Buffered: write a file in odd pieces, read it back, fsync it. */
	for (long i = 0; i < BIG; i++)
		buf[i] = pat(1, i);
	fd = pc_open(m, "/big", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0, "pc_open /big");
	for (long off = 0; off < BIG; off += 10000) {
		size_t n = BIG - off < 10000 ? (size_t)(BIG - off) : 10000;

		CHECK(pc_pwrite(fd, buf + off, n, off) == (ssize_t)n, "pc_pwrite /big");
	}
	CHECK(pc_pread(fd, back, BIG, 0) == BIG && memcmp(buf, back, BIG) == 0, "pc_pread /big");
	CHECK(pc_fsync(fd) == 0, "pc_fsync /big");
	CHECK(host_matches(argv[1], "big", BIG, 1), "host file big after fsync");
	CHECK(pc_close(fd) == 0, "pc_close /big");

	/* 2. Truncate: shrink a file through the mount (host ftruncate). */
	fd = pc_open(m, "/short", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0, "pc_open /short");
	CHECK(pc_pwrite(fd, buf, 20000, 0) == 20000, "pc_pwrite /short");
	CHECK(pc_ftruncate(fd, 5000) == 0, "pc_ftruncate /short");
	CHECK(pc_pread(fd, back, 20000, 0) == 5000 && memcmp(buf, back, 5000) == 0, "read after truncate");
	CHECK(pc_close(fd) == 0, "pc_close /short");

	/* 3. O_DIRECT: write and read around the cache; buffered sees it. */
	for (long i = 0; i < DSZ; i++)
		dbuf[i] = pat(3, i);
	fd = pc_open(m, "/direct", O_CREAT | O_RDWR | O_DIRECT, 0644);
	CHECK(fd >= 0, "pc_open /direct O_DIRECT");
	CHECK(pc_pwrite(fd, dbuf, DSZ, 0) == DSZ, "O_DIRECT pc_pwrite");
	CHECK(pc_pwrite(fd, dbuf, 100, 0) == -EINVAL, "unaligned O_DIRECT refused");
	memset(dbuf, 0, DSZ);
	CHECK(pc_pread(fd, dbuf, DSZ, 0) == DSZ, "O_DIRECT pc_pread");
	for (long i = 0; i < DSZ; i++)
		CHECK(dbuf[i] == pat(3, i), "O_DIRECT data");
	CHECK(pc_close(fd) == 0, "pc_close /direct");
	fd = pc_open(m, "/direct", O_RDONLY, 0);
	CHECK(fd >= 0 && pc_pread(fd, back, DSZ, 0) == DSZ && memcmp(back, dbuf, DSZ) == 0,
	      "buffered read of the O_DIRECT file");
	CHECK(pc_close(fd) == 0, "pc_close /direct");

	/* 4. Unlink, readdir, statfs. */
	fd = pc_open(m, "/gone", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0 && pc_close(fd) == 0, "pc_open /gone");
	CHECK(pc_unlink(m, "/gone") == 0, "pc_unlink /gone");
	CHECK(pc_open(m, "/gone", O_RDONLY, 0) == -ENOENT, "/gone is gone");
	CHECK(pc_opendir(m, "/", &dir) == 0, "pc_opendir");
	while (pc_readdir(dir, &ent) == 1) {
		CHECK(strcmp(ent.d_name, "gone") != 0, "readdir: no unlinked name");
		nent += !strcmp(ent.d_name, "big") || !strcmp(ent.d_name, "short") ||
			!strcmp(ent.d_name, "direct");
	}
	pc_closedir(dir);
	CHECK(nent == 3, "readdir: big, short and direct listed");
	CHECK(pc_statfs(m, &sfs) == 0 && sfs.f_bsize > 0, "pc_statfs");

	CHECK(pc_umount(m) == 0, "pc_umount");
	CHECK(pc_unregister_filesystem(&hostdirfs_type) == 0, "pc_unregister_filesystem");

	/* 5. The host directory holds what was written (plain POSIX reads). */
	CHECK(host_matches(argv[1], "big", BIG, 1), "host file big");
	CHECK(host_matches(argv[1], "short", 5000, 1), "host file short");
	CHECK(host_matches(argv[1], "direct", DSZ, 3), "host file direct");
	CHECK(!host_matches(argv[1], "gone", 0, 0), "host file gone unlinked");
	free(buf);
	free(back);
	free(dbuf);
	printf("hostdirfs: all checks passed\n");
	return 0;
}
