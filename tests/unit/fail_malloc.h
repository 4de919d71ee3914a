/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/fail_malloc.h - a fail-countdown allocator for tests (the shape
 * of SQLite's src/test_malloc.c: "let N allocations succeed, then fail").
 *
 * fail_malloc.c defines malloc, calloc, realloc, free, posix_memalign,
 * aligned_alloc, memalign, strdup and strndup in the test executable. They
 * have hidden visibility (the project builds with -fvisibility=hidden), so
 * they replace the allocations of the code linked into the executable: the
 * statically linked library and the test. Shared objects (libext2fs,
 * liburing, liburcu, glibc's internal allocations) keep glibc's malloc.
 * They forward to ASan's allocator when the program is
 * built with -fsanitize=address (its __interceptor_* entry points, found
 * as weak symbols), else to glibc's __libc_* functions, so ASan/LSan still
 * see every block.
 *
 * Armed with fm_arm(n, persistent), the next @n allocations (all threads
 * together) succeed and the one after fails (returns NULL); with
 * @persistent every later one fails too, until fm_disarm(). free never
 * fails. While disarmed nothing fails. Counters are process-wide atomics.
 */
#ifndef PC_TEST_FAIL_MALLOC_H
#define PC_TEST_FAIL_MALLOC_H

#include <stdbool.h>

/* Let @n more allocations succeed, then fail one (@persistent: all). */
void fm_arm(long n, bool persistent);
/* Stop failing. Returns how many allocations failed since fm_arm. */
long fm_disarm(void);
/* Allocations that succeeded while armed (since fm_arm). */
long fm_armed_calls(void);
/* Blocks allocated and not yet freed, process-wide (from every allocator
 * entry point above; compare against a baseline). */
long fm_live(void);

#endif
