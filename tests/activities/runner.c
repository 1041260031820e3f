/* runner.c: the activities tests' program, `act_tests [NAME | --list]`
 * (tests/harness/harness.h). Each test runs with libcurl set up
 * (act_global_init) and SIGPIPE ignored, as a daemon would run. */
#include "act_test.h"

#include <time.h>

int64_t test_mono_ms(void)
{
    return ttai_mono_ns() / 1000000;
}

void test_nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(int argc, char **argv)
{
    static const struct test_hooks hooks = {act_test_setup, act_test_teardown};
    return test_main(argc, argv, &hooks);
}
