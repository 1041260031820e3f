/* runner.c: the monitor tests' program, `monitors_tests [NAME [ARG] |
 * --list]` (tests/harness/harness.h); the marketsim tests take the
 * ttai-marketsim binary as ARG. Tests run as the activities tests do
 * (tests/activities/act_test.h): libcurl set up, SIGPIPE ignored. */
#include "mon_test.h"

#include "act_test.h"

int main(int argc, char **argv)
{
    static const struct test_hooks hooks = {act_test_setup, act_test_teardown};
    return test_main(argc, argv, &hooks);
}
