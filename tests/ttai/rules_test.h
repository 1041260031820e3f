/* rules_test.h: helpers shared by the rule evaluator's tests
 * (test_rules.c defines them). */
#ifndef TTAI_RULES_TEST_H
#define TTAI_RULES_TEST_H

#include "harness.h"

#include "ttai.h"
#include "ttai/rules.h"

#define T0_MS 1767225600000LL   /* 2026-01-01T00:00:00Z: the first bar */
#define BAR_MS 60000LL          /* bars are one minute apart */

/* Parses an alert definition given as JSON text; fails the test if it is
 * invalid. Free with rules_free(). */
struct rule *rt_rule(const char *json);
/* Parses and expects failure; returns the error message (static buffer). */
const char *rt_parse_error(const char *json);
/* One bar for alert "a" on "SYM"; asserts no error; returns 1 when it fired. */
int rt_bar(struct rules_state *st, const struct rule *rule, double price, double volume,
           int64_t t_ms, struct rules_fire *fire);
/* Runs a fresh state over prices (volume 1000, bars BAR_MS apart from
 * T0_MS) and writes one mark per bar into marks: 'F' fired, '.' not. */
void rt_marks(const char *rule_json, const double *prices, size_t count, char *marks);

#define EXPECT_FIRES(rule_json, want, ...)                                      \
    do {                                                                        \
        const double rt__prices[] = {__VA_ARGS__};                              \
        char rt__marks[128];                                                    \
        rt_marks(rule_json, rt__prices, sizeof(rt__prices) / sizeof(double), rt__marks); \
        ASSERT_STR_EQ(rt__marks, want);                                         \
    } while (0)

#endif
