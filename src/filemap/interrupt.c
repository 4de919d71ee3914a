// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * src/filemap/interrupt.c - pc_interrupt(): the process-wide "stop long
 * operations" flag, this library's fatal_signal_pending().
 *
 * A signal handler of the application calls pc_interrupt() (one atomic
 * store: async-signal-safe). Loops whose length the caller or the on-disk
 * metadata decides (reads of large ranges, directory listing and lookup,
 * freeing the blocks of a file, block-map checks) test pc_interrupted()
 * at safe points, between steps that leave everything consistent, and
 * return -EINTR. The flag stays set until pc_interrupt_clear().
 */
#include <stdatomic.h>
#include <stdbool.h>

#include "pagecache/compiler.h"
#include "pagecache/filemap.h"

static atomic_bool interrupt_flag;

PC_EXPORT void pc_interrupt(void)
{
	atomic_store_explicit(&interrupt_flag, true, memory_order_relaxed);
}

PC_EXPORT void pc_interrupt_clear(void)
{
	atomic_store_explicit(&interrupt_flag, false, memory_order_relaxed);
}

PC_EXPORT bool pc_interrupted(void)
{
	return atomic_load_explicit(&interrupt_flag, memory_order_relaxed);
}
