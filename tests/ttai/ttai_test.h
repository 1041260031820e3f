/* ttai_test.h: assertions and helpers for the TTAI workflow tests.
 *
 * Each test is a function `void test_<name>(void)` listed in test_list.h;
 * CTest runs each one in its own process (`ttai_wf_tests NAME`) with a
 * timeout. A failed assertion prints both sides and exits non-zero. */
#ifndef TTAI_WF_TEST_H
#define TTAI_WF_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ttai.h"

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

/* |a - b| <= eps, printed with every digit. */
#define ASSERT_NEAR(a, b, eps)                                                  \
    do {                                                                        \
        double test__a = (a), test__b = (b);                                    \
        if (!(fabs(test__a - test__b) <= (eps)))                                \
            test__fail(__FILE__, __LINE__, "%s ~= %s: %.17g vs %.17g", #a, #b,  \
                       test__a, test__b);                                       \
    } while (0)

/* The same double, bit for bit. */
#define ASSERT_DBL_SAME(a, b)                                                   \
    do {                                                                        \
        double test__a = (a), test__b = (b);                                    \
        if (memcmp(&test__a, &test__b, sizeof(double)) != 0)                    \
            test__fail(__FILE__, __LINE__, "%s same as %s: %.17g vs %.17g", #a, #b, \
                       test__a, test__b);                                       \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                     \
    do {                                                                        \
        const char *test__a = (a), *test__b = (b);                              \
        if (test__a == NULL || strcmp(test__a, test__b) != 0)                   \
            test__fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b, \
                       test__a ? test__a : "(null)", test__b);                  \
    } while (0)

#define ASSERT_CONTAINS(haystack, needle)                                       \
    do {                                                                        \
        const char *test__h = (haystack), *test__n = (needle);                  \
        if (test__h == NULL || strstr(test__h, test__n) == NULL)                \
            test__fail(__FILE__, __LINE__, "%s contains \"%s\": \"%s\"", #haystack, test__n, \
                       test__h ? test__h : "(null)");                           \
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

/* A fresh directory, removed at exit unless TTAI_KEEP_TMP is set. */
const char *test_tmpdir(void);

#endif
