/* act_test.h: what the activities tests share; the alert tests (which use
 * the SMTP server) and the monitor tests include it too.
 *
 * Each test is a function `void test_<name>(void)` listed in test_list.h;
 * CTest runs each one in its own process as act_<name>. The runner,
 * assertions and helpers are the harness's (tests/harness/harness.h). */
#ifndef TTAI_ACT_TEST_H
#define TTAI_ACT_TEST_H

#include "harness.h"

#include <signal.h>

#include "activities.h"

/* The set-up and tear-down (struct test_hooks) of a test that runs
 * activities as the daemon does: libcurl set up, SIGPIPE ignored. */
static inline void act_test_setup(void)
{
    struct ttai_err err = {0};
    signal(SIGPIPE, SIG_IGN);
    ASSERT_OK(act_global_init(&err), &err);
}

static inline void act_test_teardown(void)
{
    act_thread_release();
    act_global_cleanup();
}

/* Real milliseconds on the monotonic clock. */
int64_t test_mono_ms(void);
/* Sleeps ms of real time. */
void test_nap_ms(long ms);

#endif
