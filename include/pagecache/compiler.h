/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/compiler.h - small helpers shared by every layer.
 */
#ifndef PAGECACHE_COMPILER_H
#define PAGECACHE_COMPILER_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#define pc_likely(x)   __builtin_expect(!!(x), 1)
#define pc_unlikely(x) __builtin_expect(!!(x), 0)

#ifndef PC_EXPORT
#define PC_EXPORT __attribute__((visibility("default")))
#endif

#define PC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define PC_DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

/* Page cache index: a file offset in units of pages. */
typedef uint64_t pc_pgoff_t;
/* Sector: 512 bytes, the unit of block I/O addresses (struct pc_bio). */
typedef uint64_t pc_sector_t;
#define PC_SECTOR_SHIFT 9
#define PC_SECTOR_SIZE  512

/*
 * Debug-build assertion for "must hold" sentences in the contracts. Compiled
 * out in release builds (NDEBUG); never used to check input.
 */
#ifdef NDEBUG
#define PC_BUG_ON(cond) ((void)0)
#else
#include <stdio.h>
#include <stdlib.h>
#define PC_BUG_ON(cond) do { if (pc_unlikely(cond)) { \
	fprintf(stderr, "pagecache BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)
#endif

#endif /* PAGECACHE_COMPILER_H */
