/* test.h: the test runner's assertions and helpers.
 *
 * Each test is a function `void test_<name>(void)` listed in test_list.h;
 * CTest runs each one in its own process with a timeout (`ttai_tests NAME`).
 * A failed assertion prints both sides and exits non-zero. */
#ifndef TTAI_TEST_H
#define TTAI_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

void test__fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define ASSERT(cond)                                                            \
    do {                                                                        \
        if (!(cond))                                                            \
            test__fail(__FILE__, __LINE__, "ASSERT(%s)", #cond);               \
    } while (0)

#define ASSERT_INT_OP(a, op, b)                                                 \
    do {                                                                        \
        long long test__a = (long long)(a), test__b = (long long)(b);           \
        if (!(test__a op test__b))                                              \
            test__fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, \
                       test__a, test__b);                                       \
    } while (0)

#define ASSERT_EQ(a, b) ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP(a, >=, b)

#define ASSERT_U64_EQ(a, b)                                                     \
    do {                                                                        \
        uint64_t test__a = (a), test__b = (b);                                  \
        if (test__a != test__b)                                                 \
            test__fail(__FILE__, __LINE__, "%s == %s: %" PRIu64 " vs %" PRIu64, #a, #b, \
                       test__a, test__b);                                       \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                     \
    do {                                                                        \
        const char *test__a = (a), *test__b = (b);                              \
        if (strcmp(test__a, test__b) != 0)                                      \
            test__fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b, test__a, \
                       test__b);                                                \
    } while (0)

#define ASSERT_MEM_EQ(a, b, n)                                                  \
    do {                                                                        \
        if (memcmp((a), (b), (n)) != 0)                                         \
            test__fail(__FILE__, __LINE__, "%s and %s differ in their %zu bytes", #a, #b, \
                       (size_t)(n));                                            \
    } while (0)

/* A rc-returning call must succeed; prints the ttai_err message if not. */
#define ASSERT_OK(call, errp)                                                   \
    do {                                                                        \
        int test__rc = (call);                                                  \
        if (test__rc != 0)                                                      \
            test__fail(__FILE__, __LINE__, "%s failed: rc %d (%s) %s", #call, test__rc, \
                       ttai_rc_name(test__rc), test__err_msg(errp));           \
    } while (0)

static inline const char *test__err_msg(const struct ttai_err *err)
{
    return err != NULL ? err->msg : "";
}

/* A fresh empty directory under the build's temporary area, removed at
 * exit unless TTAI_KEEP_TMP is set. Returns a static path. */
const char *test_tmpdir(void);

/* The seed of this test's PRNG: TTAI_SEED from the environment, or random
 * (printed, so that a failure can be replayed with TTAI_SEED=...). */
uint64_t test_seed(void);
/* xorshift64* from a state. */
uint64_t test_rand(uint64_t *state);

#endif
