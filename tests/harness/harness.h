/* harness.h: the runner, assertions and helpers that the C test suites share.
 *
 * A suite lists its tests in its test_list.h, one TEST(name) line each, and
 * defines `void test_<name>(void)` for each line. ttai_add_test_suite()
 * (tests/harness/CMakeLists.txt) builds the suite's program with this
 * library and cases.c, which makes the table below from that list, and adds
 * one CTest entry per line that runs `PROGRAM NAME` in its own process. The
 * suite's main() hands over to test_main() with its set-up and tear-down.
 *
 * A failed assertion prints where it failed and both sides, then exits 1;
 * at exit the test's temporary directory is removed. A test that cannot run
 * on this machine (a tool is missing) exits TEST_SKIP_CODE, which the CTest
 * entries of such tests declare as a skip.
 *
 * The assertions need nothing but this header, so that a test program with
 * a main() of its own (tests/runtime) may use them without the library. */
#ifndef TTAI_TEST_HARNESS_H
#define TTAI_TEST_HARNESS_H

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base.h"

#define TEST_SKIP_CODE 77

/* ---- The runner ---------------------------------------------------------- */

struct test_case {
    const char *name;
    void (*run)(void);
};

/* The suite's tests in test_list.h order (cases.c). */
extern const struct test_case test__cases[];
extern const size_t test__case_count;

/* What runs around each test, in the test's own process; either may be NULL. */
struct test_hooks {
    void (*setup)(void);
    void (*teardown)(void);
};

/* The whole command line of a suite's program (hooks may be NULL):
 *   PROGRAM NAME [ARG]  runs one test (set-up, test, tear-down), prints
 *                       "ok NAME" and returns 0; ARG is test_arg()'s
 *   PROGRAM --list      prints every test's name
 *   PROGRAM             runs every test, each in a process of its own as
 *                       CTest does, and prints one line per test and a total
 * A usage error or an unknown name returns 2. */
int test_main(int argc, char **argv, const struct test_hooks *hooks);

/* The ARG after the test's name on the command line, or NULL. */
const char *test_arg(void);

/* ---- Assertions ---------------------------------------------------------- */

static inline void test__fail(const char *file, int line, const char *fmt, ...)
    TTAI_NORETURN TTAI_PRINTF(3, 4);

/* Prints "FAIL file:line: message" and exits 1. Helpers that check on a
 * caller's behalf pass the caller's file and line. */
static inline void test__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static inline const char *test__err_msg(const struct ttai_err *err)
{
    return err != NULL ? err->msg : "";
}

#define ASSERT(cond)                                                            \
    do {                                                                        \
        if (!(cond))                                                            \
            test__fail(__FILE__, __LINE__, "ASSERT(%s)", #cond);               \
    } while (0)

/* Integers of any type, compared as long long. */
#define TEST__ASSERT_INT(a, op, b)                                              \
    do {                                                                        \
        long long test__a = (long long)(a), test__b = (long long)(b);           \
        if (!(test__a op test__b))                                              \
            test__fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, \
                       test__a, test__b);                                       \
    } while (0)

#define ASSERT_EQ(a, b) TEST__ASSERT_INT(a, ==, b)
#define ASSERT_NE(a, b) TEST__ASSERT_INT(a, !=, b)
#define ASSERT_LT(a, b) TEST__ASSERT_INT(a, <, b)
#define ASSERT_LE(a, b) TEST__ASSERT_INT(a, <=, b)
#define ASSERT_GT(a, b) TEST__ASSERT_INT(a, >, b)
#define ASSERT_GE(a, b) TEST__ASSERT_INT(a, >=, b)

/* For values past LLONG_MAX. */
#define ASSERT_U64_EQ(a, b)                                                     \
    do {                                                                        \
        uint64_t test__a = (a), test__b = (b);                                  \
        if (test__a != test__b)                                                 \
            test__fail(__FILE__, __LINE__, "%s == %s: %" PRIu64 " vs %" PRIu64, #a, #b, \
                       test__a, test__b);                                       \
    } while (0)

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

/* Equal strings; NULL on either side fails. */
#define ASSERT_STR_EQ(a, b)                                                     \
    do {                                                                        \
        const char *test__a = (a), *test__b = (b);                              \
        if (test__a == NULL || test__b == NULL || strcmp(test__a, test__b) != 0) \
            test__fail(__FILE__, __LINE__, "%s == %s:\n  got  \"%s\"\n  want \"%s\"", #a, \
                       #b, test__a ? test__a : "(null)", test__b ? test__b : "(null)"); \
    } while (0)

#define ASSERT_MEM_EQ(a, b, n)                                                  \
    do {                                                                        \
        if (memcmp((a), (b), (n)) != 0)                                         \
            test__fail(__FILE__, __LINE__, "%s and %s differ in their %zu bytes", #a, #b, \
                       (size_t)(n));                                            \
    } while (0)

/* haystack (a string, not NULL) contains needle. */
#define ASSERT_CONTAINS(haystack, needle)                                       \
    do {                                                                        \
        const char *test__h = (haystack), *test__n = (needle);                  \
        if (test__h == NULL || strstr(test__h, test__n) == NULL)                \
            test__fail(__FILE__, __LINE__, "%s contains \"%s\": \"%s\"", #haystack, test__n, \
                       test__h ? test__h : "(null)");                           \
    } while (0)

/* haystack is NULL or lacks needle. */
#define ASSERT_NOT_CONTAINS(haystack, needle)                                   \
    do {                                                                        \
        const char *test__h = (haystack), *test__n = (needle);                  \
        if (test__h != NULL && strstr(test__h, test__n) != NULL)                \
            test__fail(__FILE__, __LINE__, "%s lacks \"%s\": \"%s\"", #haystack, test__n, \
                       test__h);                                                \
    } while (0)

/* A call returning a ttai rc must succeed; on failure prints the rc and the
 * message of errp (a struct ttai_err *, may be NULL). */
#define ASSERT_OK(call, errp)                                                   \
    do {                                                                        \
        int test__rc = (call);                                                  \
        if (test__rc != 0)                                                      \
            test__fail(__FILE__, __LINE__, "%s failed: rc %d (%s) %s", #call, test__rc, \
                       ttai_rc_name(test__rc), test__err_msg(errp));           \
    } while (0)

/* Two JSON values are equal (json_equal: object keys in any order, an
 * integer never equals a real); prints both, keys sorted, when not. */
#define ASSERT_JSON_EQ(got, want) test__json_eq(__FILE__, __LINE__, #got, (got), (want))
void test__json_eq(const char *file, int line, const char *what, const json_t *got,
                   const json_t *want);

/* ---- Helpers ------------------------------------------------------------- */

/* A fresh empty directory, made on first call under $TMPDIR (or /tmp) and
 * removed at exit unless TTAI_KEEP_TMP is set. Returns a static path. */
const char *test_tmpdir(void);

/* The seed of this test's PRNG: TTAI_SEED from the environment, or random
 * (printed, so that a failure can be replayed with TTAI_SEED=...). */
uint64_t test_seed(void);
/* xorshift64* from a state. */
uint64_t test_rand(uint64_t *state);

/* Parses JSON text, any value at the top (fails the test when it is not
 * JSON); json_decref() it. */
json_t *test_json(const char *text);

/* True when some file under dir (recursively, dot files included) holds
 * needle. Fails the test when dir or a file in it cannot be read. */
bool test_dir_contains(const char *dir, const char *needle);

/* Decodes base64 (skipping CR, LF, spaces and padding) into a NUL-terminated
 * heap string (free()); the decoded length in *len if not NULL. */
char *test_base64_decode(const char *s, size_t n, size_t *len);

#endif
