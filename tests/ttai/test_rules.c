/* test_rules.c: the rule evaluator's indicators, re-arm modes, logic,
 * messages and parser (workflows/ttai/rules.h). The state's packing and
 * allocation are in test_rules_state.c.
 *
 * Indicator figures are worked out by hand in the comments; re-arm tests
 * feed a scripted price series and compare the bars that fired ('F') with
 * the expected marks. */
#include "rules_test.h"

/* ---- Helpers (shared through rules_test.h) --------------------------------------- */

struct rule *rt_rule(const char *json)
{
    json_error_t jerr;
    json_t *j = json_loads(json, 0, &jerr);
    if (j == NULL)
        test__fail(__FILE__, __LINE__, "bad test JSON: %s: %s", jerr.text, json);
    struct rule *rule = NULL;
    struct ttai_err err = {0};
    int rc = rules_parse(j, NULL, &rule, &err);
    json_decref(j);
    if (rc != 0)
        test__fail(__FILE__, __LINE__, "rules_parse: %s: %s", err.msg, json);
    return rule;
}

const char *rt_parse_error(const char *json)
{
    static struct ttai_err err;
    json_error_t jerr;
    json_t *j = json_loads(json, 0, &jerr);
    if (j == NULL)
        test__fail(__FILE__, __LINE__, "bad test JSON: %s: %s", jerr.text, json);
    struct rule *rule = NULL;
    ttai_err_clear(&err);
    int rc = rules_parse(j, NULL, &rule, &err);
    json_decref(j);
    if (rc == 0)
        test__fail(__FILE__, __LINE__, "rules_parse accepted %s", json);
    ASSERT_EQ(rc, TTAI_EINVAL);
    ASSERT(rule == NULL);
    return err.msg;
}

int rt_bar(struct rules_state *st, const struct rule *rule, double price, double volume,
           int64_t t_ms, struct rules_fire *fire)
{
    struct rules_bar bar = {price, volume, t_ms};
    struct ttai_err err = {0};
    int rc = rules_on_bar(st, "a", rule, "SYM", &bar, fire, &err);
    if (rc < 0)
        test__fail(__FILE__, __LINE__, "rules_on_bar: %s", err.msg);
    return rc;
}

void rt_marks(const char *rule_json, const double *prices, size_t count, char *marks)
{
    struct rule *rule = rt_rule(rule_json);
    struct rules_state *st;
    struct ttai_err err;
    ASSERT_OK(rules_state_new(NULL, &st, &err), &err);
    for (size_t i = 0; i < count; i++)
        marks[i] = rt_bar(st, rule, prices[i], 1000, T0_MS + (int64_t)i * BAR_MS, NULL) ? 'F' : '.';
    marks[count] = '\0';
    rules_state_free(st);
    rules_free(rule);
}

/* ---- Indicators ----------------------------------------------------------------------- */

/* Makes "SYM" compute indicator(period) (period 0: none). */
static void watch(struct rules_state *st, const char *indicator, int period)
{
    char json[200];
    if (period > 0)
        snprintf(json, sizeof(json),
                 "{\"rule\":{\"indicator\":\"%s\",\"period\":%d,\"operator\":\">\",\"value\":0}}",
                 indicator, period);
    else
        snprintf(json, sizeof(json),
                 "{\"rule\":{\"indicator\":\"%s\",\"operator\":\">\",\"value\":0}}", indicator);
    struct rule *rule = rt_rule(json);
    struct ttai_err err;
    ASSERT_OK(rules_state_watch(st, rule, "SYM", &err), &err);
    rules_free(rule);
}

static void bar(struct rules_state *st, double price, double volume, int index)
{
    struct rules_bar b = {price, volume, T0_MS + index * BAR_MS};
    struct ttai_err err;
    ASSERT_OK(rules_state_bar(st, "SYM", &b, &err), &err);
}

/* The indicator's value, or NAN while it warms up. */
static double ind(const struct rules_state *st, const char *indicator, uint32_t period)
{
    double v = -1;
    int rc = rules_state_indicator(st, "SYM", indicator, period, &v);
    ASSERT(rc == 0 || rc == 1);
    return rc == 1 ? v : NAN;
}

static struct rules_state *new_state(void)
{
    struct rules_state *st;
    struct ttai_err err;
    ASSERT_OK(rules_state_new(NULL, &st, &err), &err);
    return st;
}

/* Feeds prices and checks indicator(period) after each bar (NAN: no value yet). */
static void check_series(const char *indicator, int period, const double *prices,
                         const double *volumes, const double *want, int count)
{
    struct rules_state *st = new_state();
    watch(st, indicator, period);
    for (int i = 0; i < count; i++) {
        bar(st, prices[i], volumes != NULL ? volumes[i] : 1000, i);
        double got = ind(st, indicator, (uint32_t)period);
        if (isnan(want[i]) != isnan(got))
            test__fail(__FILE__, __LINE__, "%s(%d) after bar %d: %.17g, want %.17g", indicator,
                       period, i + 1, got, want[i]);
        if (!isnan(want[i]))
            ASSERT_NEAR(got, want[i], 1e-9);
    }
    rules_state_free(st);
}

void test_rules_sma(void)
{
    /* sma(3): (10+11+12)/3 = 11, (11+12+13)/3 = 12, (12+13+15)/3 = 40/3,
     * then the ring wraps: (13+15+9)/3 = 37/3, (15+9+8)/3 = 32/3. */
    const double prices[] = {10, 11, 12, 13, 15, 9, 8};
    const double want[] = {NAN, NAN, 11, 12, 40.0 / 3, 37.0 / 3, 32.0 / 3};
    check_series("sma", 3, prices, NULL, want, 7);
    const double one[] = {10, 11, 12};
    check_series("sma", 1, prices, NULL, one, 3);
}

void test_rules_ema(void)
{
    /* ema(3): alpha = 2/(3+1) = 0.5, seeded with the mean of the first 3
     * prices: 11; then 0.5*13 + 0.5*11 = 12, 0.5*15 + 0.5*12 = 13.5,
     * 0.5*12 + 0.5*13.5 = 12.75. */
    const double prices[] = {10, 11, 12, 13, 15, 12};
    const double want[] = {NAN, NAN, 11, 12, 13.5, 12.75};
    check_series("ema", 3, prices, NULL, want, 6);

    /* The seed is the sma of the same bars, bit for bit. */
    struct rules_state *st = new_state();
    watch(st, "ema", 4);
    watch(st, "sma", 4);
    const double p[] = {1.1, 2.3, 3.7, 4.9};
    for (int i = 0; i < 4; i++)
        bar(st, p[i], 1000, i);
    ASSERT_DBL_SAME(ind(st, "ema", 4), ind(st, "sma", 4));
    rules_state_free(st);
}

void test_rules_rsi_wilder(void)
{
    /* rsi(3) over 10 11 12 11 13 12: changes +1 +1 -1 +2 -1.
     * bar 4: avg gain (1+1+0)/3 = 2/3, avg loss (0+0+1)/3 = 1/3, RS 2,
     *        RSI 100 - 100/3 = 200/3.
     * bar 5: gain (2/3*2 + 2)/3 = 10/9, loss (1/3*2 + 0)/3 = 2/9, RS 5,
     *        RSI 100 - 100/6 = 250/3.
     * bar 6: gain (10/9*2 + 0)/3 = 20/27, loss (2/9*2 + 1)/3 = 13/27,
     *        RS 20/13, RSI 100 - 1300/33 = 2000/33. */
    const double prices[] = {10, 11, 12, 11, 13, 12};
    const double want[] = {NAN, NAN, NAN, 200.0 / 3, 250.0 / 3, 2000.0 / 33};
    check_series("rsi", 3, prices, NULL, want, 6);
}

void test_rules_rsi_flat_and_rising(void)
{
    const double flat[] = {10, 10, 10, 10, 10};
    const double flat_want[] = {NAN, NAN, NAN, 50, 50};   /* no gain, no loss */
    check_series("rsi", 3, flat, NULL, flat_want, 5);
    const double up[] = {10, 11, 12, 13, 14};
    const double up_want[] = {NAN, NAN, NAN, 100, 100};   /* no loss */
    check_series("rsi", 3, up, NULL, up_want, 5);
    const double down[] = {14, 13, 12, 11, 10};
    const double down_want[] = {NAN, NAN, NAN, 0, 0};     /* no gain */
    check_series("rsi", 3, down, NULL, down_want, 5);
}

void test_rules_rvol(void)
{
    /* rvol(3): volume / mean of the 3 bars before it. bar 4: 600 / 200 = 3;
     * bars 5-7: 0 / (366.7, 300, 200) = 0; bar 8: the mean is 0, no value. */
    const double prices[] = {10, 10, 10, 10, 10, 10, 10, 10};
    const double volumes[] = {100, 200, 300, 600, 0, 0, 0, 0};
    const double want[] = {NAN, NAN, NAN, 3, 0, 0, 0, NAN};
    check_series("rvol", 3, prices, volumes, want, 8);

    struct rules_state *st = new_state();
    watch(st, "rvol", 3);
    watch(st, "volume", 0);
    watch(st, "price", 0);
    bar(st, 12.5, 4200, 0);
    ASSERT_NEAR(ind(st, "volume", 0), 4200, 0);
    ASSERT_NEAR(ind(st, "price", 0), 12.5, 0);
    double v;
    ASSERT_EQ(rules_state_indicator(st, "SYM", "rvol", 0, &v), TTAI_ENOTFOUND); /* rvol(20) */
    ASSERT_EQ(rules_state_indicator(st, "SYM", "macd", 3, &v), TTAI_EINVAL);
    ASSERT_EQ(rules_state_indicator(st, "SYM", "sma", 0, &v), TTAI_EINVAL);
    ASSERT_EQ(rules_state_indicator(st, "OTHER", "price", 0, &v), TTAI_ENOTFOUND);
    rules_state_free(st);
}

void test_rules_late_watch(void)
{
    /* An indicator added later warms up from the next bar: ema(2) sees 40
     * and 50 (seed 45), then 2/3*60 + 1/3*45 = 55. */
    struct rules_state *st = new_state();
    watch(st, "sma", 2);
    bar(st, 10, 1000, 0);
    bar(st, 20, 1000, 1);
    bar(st, 30, 1000, 2);
    watch(st, "ema", 2);
    bar(st, 40, 1000, 3);
    ASSERT(isnan(ind(st, "ema", 2)));
    ASSERT_NEAR(ind(st, "sma", 2), 35, 0);
    bar(st, 50, 1000, 4);
    ASSERT_NEAR(ind(st, "ema", 2), 45, 0);
    bar(st, 60, 1000, 5);
    ASSERT_NEAR(ind(st, "ema", 2), 55, 1e-12);
    rules_state_free(st);
}

void test_rules_bar_order(void)
{
    struct rules_state *st = new_state();
    struct ttai_err err;
    struct rules_bar b = {10, 1000, T0_MS};
    ASSERT_EQ(rules_state_bar(st, "SYM", &b, &err), TTAI_ENOTFOUND);
    watch(st, "sma", 2);
    ASSERT_OK(rules_state_bar(st, "SYM", &b, &err), &err);
    ASSERT_OK(rules_state_bar(st, "SYM", &b, &err), &err);   /* the same bar again: no-op */
    ASSERT(isnan(ind(st, "sma", 2)));
    b.price = 11;
    ASSERT_EQ(rules_state_bar(st, "SYM", &b, &err), TTAI_ECONFLICT);
    ASSERT_CONTAINS(err.msg, "already applied with other values");
    b.t_ms = T0_MS - 1;
    ASSERT_EQ(rules_state_bar(st, "SYM", &b, &err), TTAI_EINVAL);
    ASSERT_CONTAINS(err.msg, "older than its last bar");
    b = (struct rules_bar){NAN, 1000, T0_MS + BAR_MS};
    ASSERT_EQ(rules_state_bar(st, "SYM", &b, &err), TTAI_EINVAL);
    b = (struct rules_bar){10, -1, T0_MS + BAR_MS};
    ASSERT_EQ(rules_state_bar(st, "SYM", &b, &err), TTAI_EINVAL);
    b = (struct rules_bar){12, 1000, T0_MS + BAR_MS};
    ASSERT_OK(rules_state_bar(st, "SYM", &b, &err), &err);
    ASSERT_NEAR(ind(st, "sma", 2), 11, 0);   /* the refused bars left no trace */
    rules_state_free(st);
}

/* ---- Re-arm modes ------------------------------------------------------------------------ */

#define PRICE_ABOVE_100 "{\"indicator\":\"price\",\"operator\":\">\",\"value\":100}"

void test_rules_simple(void)
{
    /* Re-armed at once: every true bar fires. */
    EXPECT_FIRES("{\"rule\":" PRICE_ABOVE_100 "}", ".FF.F", 99, 101, 102, 99, 101);
    EXPECT_FIRES("{\"rule\":" PRICE_ABOVE_100 ",\"rearm\":{\"type\":\"simple\"}}", ".FF.F", 99,
                 101, 102, 99, 101);
}

void test_rules_hysteresis(void)
{
    /* Band 2% of 100: after a fire, re-armed only by a bar at or below 98.
     * 99 .  101 F  102 .  99 . (not below 98)  101 .  97.9 . (re-arms)
     * 100.5 F  98.5 .  101 . */
    EXPECT_FIRES("{\"rule\":" PRICE_ABOVE_100
                 ",\"rearm\":{\"type\":\"hysteresis\",\"threshold\":0.02}}",
                 ".F....F..", 99, 101, 102, 99, 101, 97.9, 100.5, 98.5, 101);
}

void test_rules_hysteresis_below_and_not(void)
{
    /* price < 100 re-arms at or above 102; not (price > 100) likewise: the
     * not turns the loosened test of its child into a tightened one. */
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"price\",\"operator\":\"<\",\"value\":100},"
                 "\"rearm\":{\"type\":\"hysteresis\",\"threshold\":0.02}}",
                 ".F....F", 101, 99, 98, 101, 99, 102.5, 99);
    EXPECT_FIRES("{\"rule\":{\"operator\":\"not\",\"conditions\":[" PRICE_ABOVE_100 "]},"
                 "\"rearm\":{\"type\":\"hysteresis\",\"threshold\":0.02}}",
                 ".F....F", 101, 99, 98, 101, 99, 102.5, 99);
}

void test_rules_hysteresis_crosses(void)
{
    /* crosses 100 with a 2% band: after a fire, re-armed once the price is
     * 2 or more away from 100. 99 .  101 F (up)  99.5 . (down, disarmed)
     * 100.5 . (up, disarmed)  103 . (re-arms)  99 F (down). */
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"price\",\"operator\":\"crosses\",\"value\":100},"
                 "\"rearm\":{\"type\":\"hysteresis\",\"threshold\":0.02}}",
                 ".F...F", 99, 101, 99.5, 100.5, 103, 99);
}

void test_rules_hysteresis_cooldown(void)
{
    /* The seed's example: hysteresis 2% with a 300 s cooldown. Re-armed at
     * 60 s by 97, the rule is true again at 120 s, but the fire waits for
     * the cooldown: it comes at 300 s. */
    EXPECT_FIRES("{\"rule\":" PRICE_ABOVE_100
                 ",\"rearm\":{\"type\":\"hysteresis\",\"threshold\":0.02,\"cooldown\":300}}",
                 "F....F.", 101, 97, 101, 101, 101, 101, 101);
}

void test_rules_cooldown(void)
{
    /* 180 s between fires; bars every 60 s: fires at 0, 180 and 360 s. */
    EXPECT_FIRES("{\"rule\":" PRICE_ABOVE_100
                 ",\"rearm\":{\"type\":\"cooldown\",\"cooldown\":180}}",
                 "F..F..F", 101, 101, 99, 101, 101, 101, 101);
    /* The cooldown counts from the last fire, not from the last true bar. */
    EXPECT_FIRES("{\"rule\":" PRICE_ABOVE_100
                 ",\"rearm\":{\"type\":\"cooldown\",\"cooldown\":120}}",
                 "F.F...F", 101, 99, 101, 99, 99, 99, 101);
}

void test_rules_persistence(void)
{
    /* Three true bars in a row fire once; a false bar re-arms. */
    EXPECT_FIRES("{\"rule\":" PRICE_ABOVE_100 ",\"rearm\":{\"type\":\"persistence\",\"bars\":3}}",
                 "..F....F.", 101, 101, 101, 101, 99, 101, 101, 101, 101);
    /* An unknown bar (sma(2) warming up) does not count. */
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"sma\",\"period\":2,\"operator\":\">\",\"value\":100},"
                 "\"rearm\":{\"type\":\"persistence\",\"bars\":2}}",
                 "..F", 101, 101, 101);
}

void test_rules_crossing(void)
{
    /* Fires on false -> true only; the first bar has no previous side. */
    EXPECT_FIRES("{\"rule\":" PRICE_ABOVE_100 ",\"rearm\":{\"type\":\"crossing\"}}", "..F..F", 101,
                 99, 101, 102, 99, 101);
}

void test_rules_crosses_ops(void)
{
    /* Seed 001's definitions: up when prev < level <= now; down when
     * prev > level >= now. */
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"price\",\"operator\":\"crosses_above\","
                 "\"value\":100}}",
                 ".F..F", 99, 100, 101, 99, 101);
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"price\",\"operator\":\"crosses_below\","
                 "\"value\":100}}",
                 ".F..F", 101, 100, 99, 101, 99);
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"price\",\"operator\":\"crosses\",\"value\":100}}",
                 ".F.F.", 99, 101, 102, 99, 99);
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"price\",\"operator\":\">=\",\"value\":100}}", ".FF",
                 99, 100, 101);
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"price\",\"operator\":\"<=\",\"value\":100}}", "FF.",
                 99, 100, 101);
}

void test_rules_indicator_vs_indicator(void)
{
    /* sma(2): -, 10, 10, 9.5, 10.5, 12.5; sma(3): -, -, 10, 9.67, 10.33, 11.33.
     * Bar 4 has equal previous values (no cross); bar 5 crosses. */
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"sma\",\"period\":2,\"operator\":\"crosses_above\","
                 "\"value\":{\"indicator\":\"sma\",\"period\":3}}}",
                 "....F.", 10, 10, 10, 9, 12, 13);
    EXPECT_FIRES("{\"rule\":{\"indicator\":\"price\",\"operator\":\">\","
                 "\"value\":{\"indicator\":\"sma\",\"period\":3}}}",
                 "...FFF", 10, 10, 10, 11, 12, 13);
}

void test_rules_and_or_not(void)
{
    const char *lt110 = "{\"indicator\":\"price\",\"operator\":\"<\",\"value\":110}";
    char json[600];
    snprintf(json, sizeof(json), "{\"rule\":{\"operator\":\"and\",\"conditions\":[%s,%s]}}",
             PRICE_ABOVE_100, lt110);
    EXPECT_FIRES(json, ".F.", 99, 105, 111);
    snprintf(json, sizeof(json),
             "{\"rule\":{\"operator\":\"not\",\"conditions\":[{\"operator\":\"and\","
             "\"conditions\":[%s,%s]}]}}", PRICE_ABOVE_100, lt110);
    EXPECT_FIRES(json, "F.F", 99, 105, 111);
    snprintf(json, sizeof(json),
             "{\"rule\":{\"operator\":\"and\",\"conditions\":["
             "{\"operator\":\"or\",\"conditions\":["
             "{\"indicator\":\"price\",\"operator\":\"<\",\"value\":90},"
             "{\"indicator\":\"price\",\"operator\":\">\",\"value\":110}]},"
             "{\"operator\":\"not\",\"conditions\":["
             "{\"indicator\":\"price\",\"operator\":\">\",\"value\":200}]}]}}");
    EXPECT_FIRES(json, "F.F.", 85, 100, 115, 250);
}

void test_rules_unknown_while_warming_up(void)
{
    /* rsi(3) has no value for 3 bars: not (rsi > 70) is unknown, not true. */
    EXPECT_FIRES("{\"rule\":{\"operator\":\"not\",\"conditions\":["
                 "{\"indicator\":\"rsi\",\"period\":3,\"operator\":\">\",\"value\":70}]}}",
                 "...FF", 10, 9, 8, 7, 6);
    /* or: a true branch wins over an unknown one; and: unknown until known. */
    EXPECT_FIRES("{\"rule\":{\"operator\":\"or\",\"conditions\":["
                 "{\"indicator\":\"rsi\",\"period\":3,\"operator\":\"<\",\"value\":30},"
                 "{\"indicator\":\"price\",\"operator\":\">\",\"value\":5}]}}",
                 "FFFFF", 10, 9, 8, 7, 6);
    EXPECT_FIRES("{\"rule\":{\"operator\":\"and\",\"conditions\":["
                 "{\"indicator\":\"rsi\",\"period\":3,\"operator\":\"<\",\"value\":30},"
                 "{\"indicator\":\"price\",\"operator\":\">\",\"value\":5}]}}",
                 "...FF", 10, 9, 8, 7, 6);
}

void test_rules_message(void)
{
    /* rsi(3) on bar 5 is 250/3 (see rules_rsi_wilder); sma(2) goes 11.5 -> 12
     * while the price goes 11 -> 13. */
    struct rule *rule = rt_rule(
        "{\"rule\":{\"operator\":\"and\",\"conditions\":["
        "{\"indicator\":\"rsi\",\"period\":3,\"operator\":\">\",\"value\":50},"
        "{\"indicator\":\"price\",\"operator\":\"crosses_above\","
        "\"value\":{\"indicator\":\"sma\",\"period\":2}},"
        "{\"operator\":\"or\",\"conditions\":["
        "{\"indicator\":\"volume\",\"operator\":\">\",\"value\":5000},"
        "{\"indicator\":\"price\",\"operator\":\">\",\"value\":12.5}]},"
        "{\"operator\":\"not\",\"conditions\":["
        "{\"indicator\":\"price\",\"operator\":\">\",\"value\":200}]}]}}");
    struct rules_state *st = new_state();
    const double prices[] = {10, 11, 12, 11, 13};
    struct rules_fire fire;
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(rt_bar(st, rule, prices[i], 1000, T0_MS + i * BAR_MS, &fire), 0);
    ASSERT_EQ(rt_bar(st, rule, 13, 1000, T0_MS + 4 * BAR_MS, &fire), 1);
    ASSERT_STR_EQ(fire.message, "rsi(3) 83.333333 > 50 and price 11 -> 13 crosses_above "
                                "sma(2) 11.5 -> 12 and (price 13 > 12.5) and "
                                "not (price 13 > 200)");
    ASSERT_STR_EQ(fire.alert_id, "a");
    ASSERT_STR_EQ(fire.symbol, "SYM");
    ASSERT_EQ(fire.t_ms, T0_MS + 4 * BAR_MS);
    ASSERT_NEAR(fire.price, 13, 0);
    ASSERT_EQ(fire.fire_count, 1);
    rules_state_free(st);
    rules_free(rule);
}

/* ---- Parsing ---------------------------------------------------------------------------- */

#define COND "{\"indicator\":\"price\",\"operator\":\">\",\"value\":1}"

void test_rules_parse_errors(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"[]", "alert definition must be a JSON object"},
        {"{}", "rule: missing"},
        {"{\"rule\":{\"operator\":\"and\",\"conditions\":[" COND ",{\"indicator\":\"macd\","
         "\"operator\":\">\",\"value\":1}]}}",
         "rule.conditions[1].indicator: unknown indicator 'macd' (expected price, volume, sma, "
         "ema, rsi or rvol)"},
        {"{\"rule\":{\"indicator\":5,\"operator\":\">\",\"value\":1}}",
         "rule.indicator: must be a string"},
        {"{\"rule\":{\"indicator\":\"price\",\"operator\":\"=>\",\"value\":1}}",
         "rule.operator: unknown operator '=>' (expected >, >=, <, <=, crosses_above, "
         "crosses_below or crosses)"},
        {"{\"rule\":{\"indicator\":\"price\",\"value\":1}}", "rule.operator: missing"},
        {"{\"rule\":{\"indicator\":\"price\",\"operator\":\">\"}}", "rule.value: missing"},
        {"{\"rule\":{\"indicator\":\"price\",\"operator\":\">\",\"value\":\"150\"}}",
         "rule.value: must be a number or an indicator object"},
        {"{\"rule\":{\"operator\":\"not\",\"conditions\":[" COND "," COND "]}}",
         "rule.conditions: not takes exactly one condition"},
        {"{\"rule\":{\"operator\":\"and\",\"conditions\":[]}}",
         "rule.conditions: must be a non-empty array"},
        {"{\"rule\":{\"operator\":\"and\",\"conditions\":[5]}}",
         "rule.conditions[0]: must be an object"},
        {"{\"rule\":{\"conditions\":[" COND "]}}",
         "rule: needs \"indicator\" (a condition) or \"operator\": \"and\", \"or\" or \"not\" "
         "with \"conditions\" (a group)"},
        {"{\"rule\":{\"operator\":\"or\",\"conditions\":[{\"indicator\":\"price\","
         "\"operator\":\">\",\"valeu\":1}]}}",
         "rule.conditions[0].valeu: unknown key"},
        {"{\"rule\":{\"indicator\":\"sma\",\"period\":0,\"operator\":\">\",\"value\":1}}",
         "rule.period: must be an integer from 1 to 1000"},
        {"{\"rule\":{\"indicator\":\"ema\",\"operator\":\">\",\"value\":1}}",
         "rule.period: missing (ema needs a period)"},
        {"{\"rule\":{\"indicator\":\"price\",\"period\":5,\"operator\":\">\",\"value\":1}}",
         "rule.period: price takes no period"},
        {"{\"rule\":{\"indicator\":\"price\",\"operator\":\"crosses_above\",\"value\":"
         "{\"indicator\":\"sma\",\"period\":5000}}}",
         "rule.value.period: must be an integer from 1 to 1000"},
        {"{\"rule\":{\"indicator\":\"price\",\"operator\":\">\",\"value\":"
         "{\"indicator\":\"sma\",\"period\":5,\"operator\":\">\"}}}",
         "rule.value.operator: unknown key"},
        {"{\"rule\":" COND ",\"rearm\":\"simple\"}", "rearm: must be an object"},
        {"{\"rule\":" COND ",\"rearm\":{}}", "rearm.type: missing"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"sometimes\"}}",
         "rearm.type: unknown re-arm type 'sometimes' (expected simple, hysteresis, cooldown, "
         "persistence or crossing)"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"hysteresis\"}}",
         "rearm.threshold: missing (hysteresis needs a threshold)"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"hysteresis\",\"threshold\":2}}",
         "rearm.threshold: must be a number between 0 and 1 (a fraction: 0.02 is 2%)"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"cooldown\",\"threshold\":0.1,\"cooldown\":5}}",
         "rearm.threshold: only hysteresis takes a threshold"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"simple\",\"bars\":3}}",
         "rearm.bars: only persistence takes bars"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"persistence\"}}",
         "rearm.bars: missing (persistence needs bars)"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"cooldown\"}}",
         "rearm.cooldown: missing (cooldown needs a duration in seconds)"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"simple\",\"cooldown\":-5}}",
         "rearm.cooldown: must be a number of seconds from 0 to 31622400"},
        {"{\"rule\":" COND ",\"rearm\":{\"type\":\"crossing\",\"band\":1}}",
         "rearm.band: unknown key"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ASSERT_STR_EQ(rt_parse_error(cases[i].json), cases[i].want);

    /* Nine levels of not. */
    char deep[1024] = "{\"rule\":";
    for (int i = 0; i < 9; i++)
        strcat(deep, "{\"operator\":\"not\",\"conditions\":[");
    strcat(deep, COND);
    for (int i = 0; i < 9; i++)
        strcat(deep, "]}");
    strcat(deep, "}");
    ASSERT_STR_EQ(rt_parse_error(deep), "rule.conditions[0].conditions[0].conditions[0]."
                                        "conditions[0].conditions[0].conditions[0]."
                                        "conditions[0].conditions[0]: nested deeper than 8 levels");
    /* 65 nodes: the group and 64 conditions. */
    char wide[8192] = "{\"rule\":{\"operator\":\"or\",\"conditions\":[" COND;
    for (int i = 1; i < 64; i++)
        strcat(wide, "," COND);
    strcat(wide, "]}}");
    ASSERT_STR_EQ(rt_parse_error(wide), "rule.conditions[63]: the rule has more than 64 nodes");
}

void test_rules_json_roundtrip(void)
{
    /* Caller keys are ignored; defaults are written out; keys sorted here
     * only to compare. */
    struct rule *rule = rt_rule(
        "{\"ticker\":\"AAPL\",\"rule\":{\"operator\":\"and\",\"conditions\":["
        "{\"indicator\":\"rsi\",\"operator\":\">\",\"value\":70},"
        "{\"operator\":\"not\",\"conditions\":[{\"indicator\":\"price\","
        "\"operator\":\"crosses_below\",\"value\":{\"indicator\":\"sma\",\"period\":50}}]},"
        "{\"indicator\":\"rvol\",\"operator\":\">=\",\"value\":2.5}]},"
        "\"rearm\":{\"type\":\"hysteresis\",\"threshold\":0.02,\"cooldown\":300}}");
    const char *want =
        "{\"rearm\":{\"cooldown\":300,\"threshold\":0.02,\"type\":\"hysteresis\"},"
        "\"rule\":{\"conditions\":[{\"indicator\":\"rsi\",\"operator\":\">\",\"period\":14,"
        "\"value\":70},{\"conditions\":[{\"indicator\":\"price\",\"operator\":\"crosses_below\","
        "\"value\":{\"indicator\":\"sma\",\"period\":50}}],\"operator\":\"not\"},"
        "{\"indicator\":\"rvol\",\"operator\":\">=\",\"period\":20,\"value\":2.5}],"
        "\"operator\":\"and\"}}";
    json_t *j = rules_to_json(rule);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ASSERT_STR_EQ(text, want);
    ASSERT_EQ(rules_rearm_type(rule), RULES_REARM_HYSTERESIS);

    /* Parsed again, it gives the same JSON. */
    struct rule *again = rt_rule(text);
    json_t *j2 = rules_to_json(again);
    char *text2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS);
    ASSERT_STR_EQ(text2, want);
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
    rules_free(again);
    rules_free(rule);

    /* Each re-arm type, fractional seconds and negative constants. */
    static const char *const forms[] = {
        "{\"rearm\":{\"type\":\"simple\"},\"rule\":{\"indicator\":\"price\",\"operator\":\"<\","
        "\"value\":-1.25}}",
        "{\"rearm\":{\"cooldown\":1.5,\"type\":\"cooldown\"},\"rule\":{\"indicator\":\"volume\","
        "\"operator\":\">\",\"value\":1000000}}",
        "{\"rearm\":{\"bars\":4,\"cooldown\":60,\"type\":\"persistence\"},\"rule\":{\"indicator\":"
        "\"ema\",\"operator\":\"crosses\",\"period\":9,\"value\":{\"indicator\":\"ema\","
        "\"period\":21}}}",
        "{\"rearm\":{\"type\":\"crossing\"},\"rule\":{\"conditions\":[{\"indicator\":\"price\","
        "\"operator\":\"<=\",\"value\":0.25}],\"operator\":\"or\"}}",
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct rule *r = rt_rule(forms[i]);
        json_t *o = rules_to_json(r);
        char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        ASSERT_STR_EQ(s, forms[i]);
        free(s);
        json_decref(o);
        rules_free(r);
    }
}
