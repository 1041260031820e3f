/* runner.c: the storage tests' program, `ttai_tests [NAME | --list]`
 * (tests/harness/harness.h); the tests are listed in test_list.h. */
#include "harness.h"

int main(int argc, char **argv)
{
    return test_main(argc, argv, NULL);
}
