/* cases.c: the table of one suite's tests, made from that suite's
 * test_list.h (TTAI_TEST_LIST, its path). ttai_add_test_suite() compiles
 * this file into every suite's program. */
#include "harness.h"

#define TEST(name) void test_##name(void);
#include TTAI_TEST_LIST
#undef TEST

const struct test_case test__cases[] = {
#define TEST(name) {#name, test_##name},
#include TTAI_TEST_LIST
#undef TEST
};

const size_t test__case_count = sizeof(test__cases) / sizeof(test__cases[0]);
