/* check.h: assertions of the runtime tests. CHECK_OK prints the message of
 * the including file's `err` (a struct ttai_err). */
#ifndef TTAI_TESTS_RUNTIME_CHECK_H
#define TTAI_TESTS_RUNTIME_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
            exit(1);                                                            \
        }                                                                       \
    } while (0)
#define CHECK_OK(call)                                                          \
    do {                                                                        \
        int check__rc = (call);                                                 \
        if (check__rc != 0) {                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: %s %s\n", __FILE__, __LINE__, #call, \
                    ttai_rc_name(check__rc), err.msg);                          \
            exit(1);                                                            \
        }                                                                       \
    } while (0)
#define CHECK_EQ(a, b)                                                          \
    do {                                                                        \
        long long check__a = (long long)(a), check__b = (long long)(b);         \
        if (check__a != check__b) {                                             \
            fprintf(stderr, "FAIL %s:%d: %s == %s: %lld vs %lld\n", __FILE__, __LINE__, #a, \
                    #b, check__a, check__b);                                    \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

#endif
