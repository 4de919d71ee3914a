/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tools/pcfs/obj.c - objfs sources: "pcfs mkfs objfs", "pcfs snap", and
 * the object statistics of --stats.
 *
 * A source is a directory store (a host directory holding "pcstore", see
 * docs/objstore.md) or "rados:POOL" (a pool of the Ceph cluster CEPH_CONF,
 * or --ceph-conf, names). pcfs mounts it with pc_mount("objfs", SOURCE, ...)
 * and objfs opens the store from the source string, except with --stats:
 * then pcfs opens the store itself with the same constructors
 * (pc_objstore_open_dir, pc_objstore_open_rados), wraps it in a store of
 * its own that counts the requests passing through (the operations table
 * of objstore.h is public: a user may supply a store), and mounts that
 * through pc_mount_opts.objstore. objfs never learns the difference.
 *
 * Snapshots are CephFS's interface: "snap create" is pc_mkdir of
 * /.snap/NAME, "snap ls" lists /.snap, "snap rm" is pc_rmdir of
 * /.snap/NAME. A filesystem without /.snap gets a one-line refusal.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagecache/objfs.h>
#include <pagecache/objstore.h>
#include "pcfs.h"

#ifndef PCFS_HAVE_RADOS
#define PCFS_HAVE_RADOS 0
#endif

/* ------------------------------------------------------------------------ */
/* opening a store as objfs would                                           */
/* ------------------------------------------------------------------------ */

/*
 * Open the store of source @src (directory or "rados:POOL") into *@osp;
 * @create: make a directory store when @src is missing or an empty
 * directory (mkfs). On failure the reason goes into @why. 0 or -errno.
 */
static int open_store(const char *src, bool rados, bool create, struct pc_objstore **osp,
		      char *why, size_t whylen)
{
	int err;

	why[0] = '\0';
	if (rados) {
#if PCFS_HAVE_RADOS
		struct pc_rados_opts ro = { .size = sizeof(ro), .why = why, .whylen = whylen };

		err = pc_objstore_open_rados(src + 6, &ro, osp);
#else
		snprintf(why, whylen, "this build has no RADOS support (built without librados)");
		err = -EOPNOTSUPP;
#endif
		return err;
	}
	err = pc_objstore_open_dir(src, create ? PC_OBJSTORE_DIR_CREATE : 0, osp);
	if (err)
		pc_objstore_dir_strerror(NULL, why, whylen);
	return err;
}

/* "pcfs: SRC: strerror (why)"; the library's message often starts with the
 * source or the store's name already: drop that. */
static void print_why(const char *src, int err, const char *why)
{
	size_t n = strlen(src);

	if (!strncmp(why, "objfs: ", 7))
		why += 7;
	/* "SRC: ", or the directory store's name "dir:SRC: ", maybe twice */
	for (;;) {
		if (!strncmp(why, src, n) && !strncmp(why + n, ": ", 2))
			why += n + 2;
		else if (!strncmp(why, "dir:", 4) && !strncmp(why + 4, src, n) &&
			 !strncmp(why + 4 + n, ": ", 2))
			why += 4 + n + 2;
		else
			break;
	}
	if (*why)
		fprintf(stderr, "pcfs: %s: %s (%s)\n", src, strerror(-err), why);
	else
		pcfs_err(src, err);
}

void pcfs_objfs_mount_failed(struct pcfs_image *img, int err, const char *why)
{
	struct pc_objstore *os = NULL;
	char owhy[512];
	int r;

	if (!why)
		why = "";
	/*
	 * Ask the store itself, with room for the whole story, when objfs'
	 * answer is one the store can explain better: a store that opens but
	 * has no superblock object holds no objfs (say how to make one; -EINVAL
	 * is also a bad superblock, so it is not read out of the message); a
	 * store in use: the holder, as the store describes it in full (the
	 * mount's message has a fixed size, and long paths or RADOS' lock
	 * description do not fit); a message that was cut. Not after a
	 * timeout: the cluster would be waited for a second time.
	 */
	/* pc_mount_error() holds at most 199 bytes (the VFS's buffer); a
	 * directory store's holder is "in use by process ..." */
	bool cut = strlen(why) >= 195 || (err == -EBUSY && !strstr(why, "in use by"));

	/* (A directory store in use is asked again only when the message was
	 * cut: opening one finishes an interrupted snapshot trim before any
	 * lock is taken, which is better not repeated while a holder works.) */
	if (err == -ETIMEDOUT || err == -ENOMEM || err == -EOPNOTSUPP ||
	    (err == -EBUSY && img->kind == PCFS_OBJFS_DIR && !cut) ||
	    (err != -EINVAL && err != -EUCLEAN && err != -EBUSY && !cut)) {
		print_why(img->name, err, why);
		return;
	}
	r = open_store(img->name, img->kind == PCFS_OBJFS_RADOS, false, &os, owhy, sizeof(owhy));
	if (r) {
		print_why(img->name, r, owhy);	/* the store does not open: its reason */
		return;
	}
	if (err == -EBUSY && os->ops->lock) {
		owhy[0] = '\0';
		r = os->ops->lock(os, "pcfs (asking who holds the store)", owhy, sizeof(owhy));
		if (!r && os->ops->unlock)
			os->ops->unlock(os, "pcfs (asking who holds the store)");
		if (r == -EBUSY && owhy[0]) {
			pc_objstore_close(os);
			print_why(img->name, err, owhy);
			return;
		}
	}
	if (err == -EINVAL) {
		struct pc_obj_req req = { .op = PC_OBJ_STAT, .oid = PC_OBJFS_SUPER_OID,
					  .snapid = PC_SNAP_HEAD };

		if (pc_objstore_exec(os, &req) == -ENOENT) {
			pc_objstore_close(os);
			pcfs_msg(img->name, "no objfs filesystem in this store (no %s object): "
				 "run 'pcfs mkfs objfs %s'", PC_OBJFS_SUPER_OID, img->name);
			return;
		}
	}
	pc_objstore_close(os);
	print_why(img->name, err, why);
}

/* ------------------------------------------------------------------------ */
/* the counting store (--stats)                                             */
/* ------------------------------------------------------------------------ */

#define OPS_MAX (PC_OBJ_STAT + 1)

/*
 * struct counted - a store that passes everything to @inner and counts the
 * requests submitted (by op, with their bytes), flushes and snapshot calls.
 * Counters are atomics: objfs submits from many threads. @ops is per
 * instance so that a member @inner lacks stays NULL ("not supported").
 */
struct counted {
	struct pc_objstore os;
	struct pc_objstore_ops ops;
	struct pc_objstore *inner;
	_Atomic uint64_t reqs[OPS_MAX], bytes[OPS_MAX];
	_Atomic uint64_t flushes, snap_creates, snap_removes;
};

static struct counted *to_counted(struct pc_objstore *os)
{
	return (struct counted *)os->private;
}

static int counted_submit(struct pc_objstore *os, struct pc_obj_req *req)
{
	struct counted *c = to_counted(os);
	unsigned op = (unsigned)req->op;
	uint64_t len = req->len;
	int err;

	/* @req may be completed and freed before submit returns. */
	err = c->inner->ops->submit(c->inner, req);
	if (!err && op < OPS_MAX) {
		atomic_fetch_add(&c->reqs[op], 1);
		atomic_fetch_add(&c->bytes[op], len);
	}
	return err;
}

static int counted_snap_create(struct pc_objstore *os, uint64_t *snapid)
{
	struct counted *c = to_counted(os);

	atomic_fetch_add(&c->snap_creates, 1);
	return c->inner->ops->snap_create(c->inner, snapid);
}

static int counted_snap_remove(struct pc_objstore *os, uint64_t snapid)
{
	struct counted *c = to_counted(os);

	atomic_fetch_add(&c->snap_removes, 1);
	return c->inner->ops->snap_remove(c->inner, snapid);
}

static int counted_lock(struct pc_objstore *os, const char *cookie, char *why, size_t whylen)
{
	struct counted *c = to_counted(os);

	return c->inner->ops->lock(c->inner, cookie, why, whylen);
}

static int counted_unlock(struct pc_objstore *os, const char *cookie)
{
	struct counted *c = to_counted(os);

	return c->inner->ops->unlock(c->inner, cookie);
}

static int counted_flush(struct pc_objstore *os)
{
	struct counted *c = to_counted(os);

	atomic_fetch_add(&c->flushes, 1);
	return c->inner->ops->flush(c->inner);
}

static int counted_statfs(struct pc_objstore *os, struct pc_objstore_statfs *st)
{
	struct counted *c = to_counted(os);

	return c->inner->ops->statfs(c->inner, st);
}

static void counted_close(struct pc_objstore *os)
{
	struct counted *c = to_counted(os);

	pc_objstore_close(c->inner);
	free(c);
}

int pcfs_objfs_open_counted(struct pcfs_image *img)
{
	const struct pc_objstore_ops *in;
	struct pc_objstore *inner;
	struct counted *c;
	char why[512];
	int err;

	err = open_store(img->name, img->kind == PCFS_OBJFS_RADOS, false, &inner, why, sizeof(why));
	if (err) {
		print_why(img->name, err, why);
		return err;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		pc_objstore_close(inner);
		pcfs_err(img->name, -ENOMEM);
		return -ENOMEM;
	}
	in = inner->ops;
	c->inner = inner;
	c->ops.submit = counted_submit;
	c->ops.snap_create = in->snap_create ? counted_snap_create : NULL;
	c->ops.snap_remove = in->snap_remove ? counted_snap_remove : NULL;
	c->ops.lock = in->lock ? counted_lock : NULL;
	c->ops.unlock = in->unlock ? counted_unlock : NULL;
	c->ops.flush = in->flush ? counted_flush : NULL;
	c->ops.statfs = in->statfs ? counted_statfs : NULL;
	c->ops.close = counted_close;
	c->os.ops = &c->ops;
	c->os.private = c;
	c->os.max_object_size = inner->max_object_size;
	c->os.max_write_size = inner->max_write_size;
	memcpy(c->os.name, inner->name, sizeof(c->os.name));	/* messages name the real store */
	img->os = &c->os;
	return 0;
}

void pcfs_objfs_close_counted(struct pcfs_image *img)
{
	pc_objstore_close(img->os);
	img->os = NULL;
}

static void print_reqs(const char *label, uint64_t n, uint64_t bytes, bool sized)
{
	fprintf(stderr, "  %-20s %" PRIu64, label, n);
	if (sized && n)
		fprintf(stderr, " (avg %.1f KiB, %.1f MiB in all)", (double)bytes / (double)n / 1024.0,
			(double)bytes / (1024.0 * 1024.0));
	fputc('\n', stderr);
}

void pcfs_objfs_print_stats(const struct pcfs_image *img)
{
	struct counted *c;

	if (!img->os) {
		fprintf(stderr, "  %-20s %s\n", "object requests", "not counted");
		return;
	}
	c = to_counted(img->os);
	fprintf(stderr, "  %-20s %s\n", "object store", img->os->name);
	print_reqs("object reads", c->reqs[PC_OBJ_READ], c->bytes[PC_OBJ_READ], true);
	print_reqs("object writes", c->reqs[PC_OBJ_WRITE], c->bytes[PC_OBJ_WRITE], true);
	print_reqs("object zeros", c->reqs[PC_OBJ_ZERO], c->bytes[PC_OBJ_ZERO], false);
	print_reqs("object truncates", c->reqs[PC_OBJ_TRUNCATE], 0, false);
	print_reqs("object removes", c->reqs[PC_OBJ_REMOVE], 0, false);
	print_reqs("object stats", c->reqs[PC_OBJ_STAT], 0, false);
	print_reqs("store flushes", c->flushes, 0, false);
	print_reqs("snapshots created", c->snap_creates, 0, false);
	print_reqs("snapshots removed", c->snap_removes, 0, false);
}

/* ------------------------------------------------------------------------ */
/* mkfs objfs                                                               */
/* ------------------------------------------------------------------------ */

static const char mkfs_usage[] =
	"mkfs objfs SOURCE [--object-size=SIZE] [--stripe-unit=SIZE] [--stripe-count=N]";

static int parse_u32(const char *arg, const char *what, bool size, uint32_t *out)
{
	uint64_t v;

	if ((size ? pcfs_parse_size(arg, &v) :
	     (strspn(arg, "0123456789") != strlen(arg) ? -EINVAL : pcfs_parse_size(arg, &v))) ||
	    v == 0 || v > UINT32_MAX) {
		pcfs_usage_err("mkfs: invalid %s '%s' (usage: pcfs %s)", what, arg, mkfs_usage);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int pcfs_cmd_mkfs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "object-size", required_argument, NULL, 'o' },
		{ "stripe-unit", required_argument, NULL, 'u' },
		{ "stripe-count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct pc_objfs_layout l = { 0 };
	struct pc_objstore *os;
	const char *src;
	char why[512];
	bool rados;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (parse_u32(optarg, "object size", true, &l.object_size))
				return 1;
			break;
		case 'u':
			if (parse_u32(optarg, "stripe unit", true, &l.stripe_unit))
				return 1;
			break;
		case 'c':
			if (parse_u32(optarg, "stripe count", false, &l.stripe_count))
				return 1;
			break;
		default:
			pcfs_usage_err("usage: pcfs %s", mkfs_usage);
			return 1;
		}
	}
	if (argc - optind != 2) {
		pcfs_usage_err("usage: pcfs %s", mkfs_usage);
		return 1;
	}
	if (strcmp(argv[optind], "objfs")) {
		pcfs_usage_err("mkfs: unknown filesystem type '%s': pcfs makes objfs only (ext2/3/4 "
			       "images: mke2fs)", argv[optind]);
		return 1;
	}
	src = argv[optind + 1];
	rados = !strncmp(src, "rados:", 6);
	if (rados && (!src[6] || strchr(src + 6, ':'))) {
		pcfs_msg(src, "not rados:POOL (a pool name, without ':')");
		return 1;
	}
	/* Defaults: CephFS's 4 MiB objects, one stripe; the stripe unit is the
	 * object size unless given. */
	if (!l.object_size)
		l.object_size = l.stripe_unit ? (l.stripe_unit > PC_OBJFS_DEFAULT_OBJECT_SIZE ?
						 l.stripe_unit : PC_OBJFS_DEFAULT_OBJECT_SIZE) :
				PC_OBJFS_DEFAULT_OBJECT_SIZE;
	if (!l.stripe_unit)
		l.stripe_unit = l.object_size;
	if (!l.stripe_count)
		l.stripe_count = PC_OBJFS_DEFAULT_STRIPE_COUNT;
	if (pc_objfs_layout_valid(&l)) {
		pcfs_msg(src, "invalid layout (object size %u, stripe unit %u, stripe count %u): the "
			 "stripe unit must be a multiple of 4096 that divides the object size, the "
			 "object size at most 1 GiB, the stripe count at most 65536",
			 l.object_size, l.stripe_unit, l.stripe_count);
		return 1;
	}

	err = open_store(src, rados, true, &os, why, sizeof(why));
	if (err) {
		print_why(src, err, why);
		return 1;
	}
	/* Keep mounts (and another mkfs) out while the filesystem is made. */
	why[0] = '\0';
	err = os->ops->lock ? os->ops->lock(os, "pcfs mkfs", why, sizeof(why)) : 0;
	if (err) {
		print_why(src, err, why);
		pc_objstore_close(os);
		return 1;
	}
	why[0] = '\0';
	err = pc_objfs_mkfs(os, &l, why, sizeof(why));
	if (err == -EEXIST) {
		pcfs_msg(src, "already holds an objfs filesystem (%s exists); not made again",
			 PC_OBJFS_SUPER_OID);
	} else if (err) {
		if (!strncmp(why, "objfs mkfs: ", 12))
			memmove(why, why + 12, strlen(why + 12) + 1);
		print_why(src, err, why);
	}
	if (os->ops->unlock)
		os->ops->unlock(os, "pcfs mkfs");
	pc_objstore_close(os);
	if (err)
		return 1;
	printf("objfs made on %s: object size %u, stripe unit %u, stripe count %u\n", src,
	       l.object_size, l.stripe_unit, l.stripe_count);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* snap                                                                     */
/* ------------------------------------------------------------------------ */

static const char snap_usage[] =
	"snap create SOURCE NAME... | snap ls SOURCE | snap rm SOURCE NAME...";

/*
 * Parse and mount the SOURCE of a snap command (an objfs source, its root:
 * "SOURCE", "SOURCE:" or "SOURCE:/"), and check that it has /.snap.
 * Prints failures. 0 or -errno.
 */
static int snap_source(const char *arg, bool rw, struct pcfs_loc *loc)
{
	struct stat st;
	int err;

	err = pcfs_parse_image_operand(arg, true, loc);
	if (err)
		return err;
	if (!pcfs_is_objfs(loc->img)) {
		pcfs_msg(arg, "snapshots need an objfs source (a directory store or rados:POOL)");
		err = -EINVAL;
	} else if (strcmp(loc->path, "/")) {
		pcfs_msg(arg, "snapshots are of the whole filesystem: name its SOURCE, not a path "
			 "inside it");
		err = -EINVAL;
	} else if (!(err = pcfs_mount_image(loc->img, rw))) {
		err = pc_lstat(loc->img->m, "/.snap", &st);
		if (err == -ENOENT)
			pcfs_msg(arg, "this filesystem has no snapshots (no /.snap)");
		else if (err)
			pcfs_err(arg, err);
	}
	if (err)
		pcfs_loc_free(loc);
	return err;
}

static bool bad_snap_name(const char *name)
{
	return !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..");
}

int pcfs_cmd_snap(int argc, char **argv)
{
	struct pcfs_loc loc, snapdir;
	const char *sub;
	bool create, rm, ls;
	int i, status = 0;

	if (argc < 3) {
		pcfs_usage_err("usage: pcfs %s", snap_usage);
		return 1;
	}
	sub = argv[1];
	create = !strcmp(sub, "create");
	rm = !strcmp(sub, "rm");
	ls = !strcmp(sub, "ls");
	if ((!create && !rm && !ls) || (ls && argc != 3) || (!ls && argc < 4)) {
		pcfs_usage_err("usage: pcfs %s", snap_usage);
		return 1;
	}
	if (snap_source(argv[2], !ls, &loc))
		return 1;
	if (pcfs_loc_child(&loc, ".snap", &snapdir)) {
		pcfs_err(argv[2], -ENOMEM);
		pcfs_loc_free(&loc);
		return 1;
	}
	if (ls) {
		char **names;
		size_t n, k;
		int err = pcfs_loc_list(&snapdir, false, &names, &n);

		if (err) {
			pcfs_err(snapdir.disp, err);
			status = 1;
		} else {
			for (k = 0; k < n; k++)
				puts(names[k]);
			pcfs_free_names(names, n);
		}
	}
	for (i = 3; !ls && i < argc && !pcfs_interrupted; i++) {
		struct pcfs_loc snap;
		int err;

		if (bad_snap_name(argv[i])) {
			pcfs_msg(argv[i], "not a snapshot name (no '/', not '.' or '..')");
			status = 1;
			continue;
		}
		if (pcfs_loc_child(&snapdir, argv[i], &snap)) {
			pcfs_err(argv[i], -ENOMEM);
			status = 1;
			continue;
		}
		err = create ? pc_mkdir(loc.img->m, snap.path, 0755) : pc_rmdir(loc.img->m, snap.path);
		if (err) {
			pcfs_err(snap.disp, err);
			status = 1;
		}
		pcfs_loc_free(&snap);
	}
	pcfs_loc_free(&snapdir);
	pcfs_loc_free(&loc);
	return status;
}
