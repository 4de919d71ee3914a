/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_lock.c - the debug lock assertions (pagecache/lock.h):
 * owners are recorded, PC_ASSERT_HELD / PC_ASSERT_LOCKED pass when the
 * contract holds and abort, naming the lock and the place, when it does
 * not; the library's own "inode lock held" contracts fire through the
 * out-of-line pc_inode_lock. Each violation runs in a forked child whose
 * stderr is captured. Release builds (NDEBUG) compile the checks out: the
 * tests are skipped there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pagecache/lock.h>
#include <pagecache/vfs.h>

#ifdef NDEBUG
#define SKIP_IN_RELEASE() skip()
#else
#define SKIP_IN_RELEASE() ((void)0)
#endif

/* Run @fn(@arg) in a child; true if it died of SIGABRT with every string
 * of @want (NULL-terminated) in its stderr. */
static bool child_aborts(void (*fn)(void *), void *arg, const char *const *want)
{
	int pfd[2], status;
	char out[4096];
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 2);
		fn(arg);
		_exit(0);
	}
	close(pfd[1]);
	while (n < sizeof(out) - 1 && (r = read(pfd[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
		print_message("child did not abort (status %#x), stderr: %s\n", status, out);
		return false;
	}
	for (; *want; want++) {
		if (!strstr(out, *want)) {
			print_message("missing \"%s\" in: %s\n", *want, out);
			return false;
		}
	}
	return true;
}

/* ---- struct pc_mutex ---- */

static struct pc_mutex mtx;

static void assert_mutex_held(void *arg)
{
	(void)arg;
	PC_ASSERT_HELD(&mtx);
}

static void *hold_mutex(void *arg)
{
	pc_mutex_lock(&mtx);
	*(volatile int *)arg = 1;
	pause();		/* holds it until the child process dies */
	return NULL;
}

static void assert_mutex_held_by_other(void *arg)
{
	volatile int held = 0;
	pthread_t t;

	(void)arg;
	pthread_create(&t, NULL, hold_mutex, (void *)&held);
	while (!held)
		usleep(1000);
	PC_ASSERT_HELD(&mtx);	/* locked, but not by this thread */
}

static void unlock_unheld_mutex(void *arg)
{
	(void)arg;
	pc_mutex_unlock(&mtx);
}

static void test_mutex(void **state)
{
	(void)state;
	SKIP_IN_RELEASE();
	pc_mutex_init(&mtx);
	pc_mutex_lock(&mtx);
	PC_ASSERT_HELD(&mtx);	/* passes */
	pc_mutex_unlock(&mtx);
	assert_int_equal(atomic_load(&mtx.owner), 0);

	assert_true(child_aborts(assert_mutex_held, NULL,
				 (const char *const[]){ "&mtx", "must be held by this thread",
							"assert_mutex_held", "test_lock.c", NULL }));
	assert_true(child_aborts(assert_mutex_held_by_other, NULL,
				 (const char *const[]){ "&mtx", "assert_mutex_held_by_other",
							NULL }));
	assert_true(child_aborts(unlock_unheld_mutex, NULL,
				 (const char *const[]){ "(unlock)", "unlock_unheld_mutex", NULL }));
	pc_mutex_destroy(&mtx);
}

/* ---- the inode lock (struct pc_rwsem through pc_inode_lock) ---- */

static struct pc_super_block sb;	/* zeroed: no cache, no bdi */
static struct pc_inode inode;

static void setattr_unlocked(void *arg)
{
	struct pc_iattr attr = { .ia_valid = PC_ATTR_MODE, .ia_mode = 0600 };

	(void)arg;
	pc_setattr_copy(&inode, &attr);	/* contract: inode lock held exclusive */
}

static void setattr_shared(void *arg)
{
	struct pc_iattr attr = { .ia_valid = PC_ATTR_MODE, .ia_mode = 0600 };

	(void)arg;
	pc_inode_lock_shared(&inode);
	pc_setattr_copy(&inode, &attr);	/* shared is not enough */
}

static void any_unlocked(void *arg)
{
	(void)arg;
	PC_ASSERT_INODE_LOCKED_ANY(&inode);
}

static void unlock_shared_as_exclusive(void *arg)
{
	(void)arg;
	pc_inode_lock_shared(&inode);
	pc_inode_unlock(&inode);	/* the bug test_placeholder had */
}

static void test_inode_lock(void **state)
{
	struct pc_iattr attr = { .ia_valid = PC_ATTR_MODE, .ia_mode = 0640 };

	(void)state;
	SKIP_IN_RELEASE();
	inode.i_mode = S_IFREG | 0644;
	pc_inode_init_once(&inode, &sb);

	pc_inode_lock(&inode);
	PC_ASSERT_INODE_LOCKED(&inode);
	PC_ASSERT_INODE_LOCKED_ANY(&inode);
	pc_setattr_copy(&inode, &attr);		/* the contract holds: no abort */
	pc_inode_unlock(&inode);
	assert_int_equal(inode.i_mode & 07777, 0640);

	pc_inode_lock_shared(&inode);
	PC_ASSERT_INODE_LOCKED_ANY(&inode);	/* shared counts as held */
	pc_inode_unlock_shared(&inode);

	assert_true(child_aborts(setattr_unlocked, NULL,
				 (const char *const[]){ "i_rwsem", "held exclusive by this thread",
							"pc_setattr_copy", NULL }));
	assert_true(child_aborts(setattr_shared, NULL,
				 (const char *const[]){ "pc_setattr_copy", NULL }));
	assert_true(child_aborts(any_unlocked, NULL,
				 (const char *const[]){ "i_rwsem", "held (shared or exclusive)",
							"any_unlocked", NULL }));
	assert_true(child_aborts(unlock_shared_as_exclusive, NULL,
				 (const char *const[]){ "(unlock)", "pc_inode_unlock", NULL }));

	pc_address_space_destroy(&inode.i_data);
	pc_rwsem_destroy(&inode.i_rwsem);
	pthread_mutex_destroy(&inode.i_lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutex),
		cmocka_unit_test(test_inode_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
