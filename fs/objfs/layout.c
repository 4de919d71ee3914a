// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fs/objfs/layout.c - file striping: which object holds which byte.
 *
 * The arithmetic of Ceph's Striper::file_to_extents and of Linux's
 * ceph_calc_file_object_mapping (net/ceph/osdmap.c), written anew: a file
 * is cut into stripe units of @su bytes, dealt round-robin over
 * @sc objects (one "stripe" is @sc units); once each of those objects
 * holds @os bytes the next @sc objects (the next "object set") begin.
 */
#include <errno.h>
#include <pagecache/objfs.h>

#define OBJFS_PAGE 4096u
#define OBJFS_MAX_OBJECT_SIZE (1u << 30)
#define OBJFS_MAX_STRIPE_COUNT 65536u

PC_EXPORT int pc_objfs_layout_valid(const struct pc_objfs_layout *l)
{
	if (!l || !l->stripe_unit || !l->stripe_count || !l->object_size)
		return -EINVAL;
	if (l->stripe_unit % OBJFS_PAGE || l->object_size % l->stripe_unit)
		return -EINVAL;
	if (l->object_size > OBJFS_MAX_OBJECT_SIZE || l->stripe_count > OBJFS_MAX_STRIPE_COUNT)
		return -EINVAL;
	return 0;
}

PC_EXPORT uint64_t pc_objfs_file_to_object(const struct pc_objfs_layout *l, uint64_t off,
					   uint64_t len, uint64_t *objno, uint64_t *objoff)
{
	uint64_t su = l->stripe_unit, sc = l->stripe_count;
	uint64_t stripes_per_object = l->object_size / su;
	uint64_t blockno = off / su, blockoff = off % su;
	uint64_t stripeno = blockno / sc, stripepos = blockno % sc;
	uint64_t objsetno = stripeno / stripes_per_object;

	*objno = objsetno * sc + stripepos;
	*objoff = (stripeno % stripes_per_object) * su + blockoff;
	return len < su - blockoff ? len : su - blockoff;
}

PC_EXPORT uint64_t pc_objfs_object_size_for(const struct pc_objfs_layout *l, uint64_t objno,
					    uint64_t file_size)
{
	uint64_t su = l->stripe_unit, sc = l->stripe_count, os = l->object_size;
	uint64_t period = os * sc, stripe = su * sc;
	uint64_t objsetno = objno / sc, stripepos = objno % sc;
	uint64_t set = file_size / period, rem = file_size % period;
	uint64_t full_stripes, in_stripe, pos, off;

	if (objsetno < set)
		return os;
	if (objsetno > set)
		return 0;
	full_stripes = rem / stripe;
	in_stripe = rem % stripe;
	pos = in_stripe / su;
	off = in_stripe % su;
	return full_stripes * su + (stripepos < pos ? su : stripepos == pos ? off : 0);
}

PC_EXPORT uint64_t pc_objfs_max_bytes(const struct pc_objfs_layout *l)
{
	uint64_t sets = ((uint64_t)1 << 32) / l->stripe_count;
	uint64_t period = (uint64_t)l->object_size * l->stripe_count;
	uint64_t cap = (uint64_t)1 << 62;

	if (sets > cap / period)
		return cap;
	return sets * period;
}
