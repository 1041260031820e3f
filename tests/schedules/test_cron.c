/* test_cron.c: the cron parser, table-driven: valid expressions and the
 * bit sets they give, invalid ones and the field their message names. */
#include "sched_test.h"

/* Bits of a list written "0,15,30" or "1-5" (or a mix): the test's own
 * reading, independent of the parser under test. */
static uint64_t bits(const char *list)
{
    uint64_t b = 0;
    const char *p = list;
    while (*p != '\0') {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        for (long v = lo; v <= hi; v++)
            b |= (uint64_t)1 << v;
        p = *end == ',' ? end + 1 : end;
    }
    return b;
}

static const struct valid_case {
    const char *text;
    const char *seconds, *minutes, *hours, *days, *months, *weekdays;
    bool days_star, weekdays_star;
} valid_cases[] = {
    {"* * * * *", "0", "0-59", "0-23", "1-31", "1-12", "0-6", true, true},
    {"*/15 * * * *", "0", "0,15,30,45", "0-23", "1-31", "1-12", "0-6", true, true},
    {"10-50/5 * * * *", "0", "10,15,20,25,30,35,40,45,50", "0-23", "1-31", "1-12", "0-6", true,
     true},
    {"5/20 * * * *", "0", "5,25,45", "0-23", "1-31", "1-12", "0-6", true, true},
    {"0 9-17/2 * * *", "0", "0", "9,11,13,15,17", "1-31", "1-12", "0-6", true, true},
    {"0 0 1,15 * *", "0", "0", "0", "1,15", "1-12", "0-6", false, true},
    {"0 0 * JAN,jul,Dec *", "0", "0", "0", "1-31", "1,7,12", "0-6", true, true},
    {"0 0 * feb-APR *", "0", "0", "0", "1-31", "2-4", "0-6", true, true},
    {"0 0 * * mon-FRI", "0", "0", "0", "1-31", "1-12", "1-5", true, false},
    {"0 0 * * 7", "0", "0", "0", "1-31", "1-12", "0", true, false},
    {"0 0 * * 0,7", "0", "0", "0", "1-31", "1-12", "0", true, false},
    {"0 0 * * 5-7", "0", "0", "0", "1-31", "1-12", "0,5,6", true, false},
    {"0 0 * * fri-sun", "0", "0", "0", "1-31", "1-12", "0,5,6", true, false},
    {"0 0 * * sat,SUN", "0", "0", "0", "1-31", "1-12", "0,6", true, false},
    {"0 0 * * 1-5/2", "0", "0", "0", "1-31", "1-12", "1,3,5", true, false},
    {"0 0 */2 * 1", "0", "0", "0", "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31", "1-12", "1",
     true, false},
    {"0 0 1-31/10 * *", "0", "0", "0", "1,11,21,31", "1-12", "0-6", false, true},
    {"59 23 31 12 6", "0", "59", "23", "31", "12", "6", false, false},
    {"  0\t12  *  *   *  ", "0", "0", "12", "1-31", "1-12", "0-6", true, true},
    {"30 */10 * * * *", "30", "0,10,20,30,40,50", "0-23", "1-31", "1-12", "0-6", true, true},
    {"*/20 0 0 1 1 *", "0,20,40", "0", "0", "1", "1", "0-6", false, true},
    {"@yearly", "0", "0", "0", "1", "1", "0-6", false, true},
    {"@annually", "0", "0", "0", "1", "1", "0-6", false, true},
    {"@monthly", "0", "0", "0", "1", "1-12", "0-6", false, true},
    {"@weekly", "0", "0", "0", "1-31", "1-12", "0", true, false},
    {"@daily", "0", "0", "0", "1-31", "1-12", "0-6", true, true},
    {"@midnight", "0", "0", "0", "1-31", "1-12", "0-6", true, true},
    {"@HOURLY", "0", "0", "0-23", "1-31", "1-12", "0-6", true, true},
    /* The schedules of seed 001. */
    {"35 9 * * 1-5", "0", "35", "9", "1-31", "1-12", "1-5", true, false},
    {"0 14 * * 1-5", "0", "0", "14", "1-31", "1-12", "1-5", true, false},
    {"30 16 * * 1-5", "0", "30", "16", "1-31", "1-12", "1-5", true, false},
    {"0 17 * * 5", "0", "0", "17", "1-31", "1-12", "5", true, false},
};

void test_cron_valid(void)
{
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const struct valid_case *c = &valid_cases[i];
        struct eng_cron cron;
        struct ttai_err err = {0};
        if (eng_cron_parse(&cron, c->text, &err) != 0)
            test__fail(__FILE__, __LINE__, "'%s' refused: %s", c->text, err.msg);
        fprintf(stderr, "case '%s'\n", c->text);
        ASSERT_U64_EQ(cron.seconds, bits(c->seconds));
        ASSERT_U64_EQ(cron.minutes, bits(c->minutes));
        ASSERT_U64_EQ(cron.hours, bits(c->hours));
        ASSERT_U64_EQ(cron.days, bits(c->days));
        ASSERT_U64_EQ(cron.months, bits(c->months));
        ASSERT_U64_EQ(cron.weekdays, bits(c->weekdays));
        ASSERT_EQ(cron.days_star, c->days_star);
        ASSERT_EQ(cron.weekdays_star, c->weekdays_star);
    }
}

static const struct invalid_case {
    const char *text;
    const char *message;         /* the whole message, or a part of it after '~' */
} invalid_cases[] = {
    {"", "cron: empty expression"},
    {" \t ", "cron: empty expression"},
    {"0 25 * * *", "cron: field 2 (hour) '25': value out of range 0-23"},
    {"60 * * * *", "cron: field 1 (minute) '60': value out of range 0-59"},
    {"0 0 32 * *", "cron: field 3 (day of month) '32': value out of range 1-31"},
    {"0 0 0 * *", "cron: field 3 (day of month) '0': value out of range 1-31"},
    {"0 0 * 13 *", "cron: field 4 (month) '13': value out of range 1-12"},
    {"0 0 * * 8", "cron: field 5 (day of week) '8': value out of range 0-7"},
    {"0 1,2,24 * * *", "cron: field 2 (hour) '24': value out of range 0-23"},
    {"0 0 1-99 * *", "cron: field 3 (day of month) '1-99': value out of range 1-31"},
    {"0 0 * JANX *", "cron: field 4 (month) 'JANX': not a number or month name"},
    {"0 0 * * monday", "cron: field 5 (day of week) 'monday': not a number or day name"},
    {"a * * * *", "cron: field 1 (minute) 'a': not a number"},
    {"99999 * * * *", "cron: field 1 (minute) '99999': value out of range 0-59"},
    {"123456 * * * *", "cron: field 1 (minute) '123456': number too large"},
    {"*/0 * * * *", "cron: field 1 (minute) '*/0': step must be at least 1"},
    {"*/ * * * *", "cron: field 1 (minute) '*/': a step needs a number after '/'"},
    {"** * * * *", "cron: field 1 (minute) '**': unexpected text after '*'"},
    {"0 5-1 * * *", "cron: field 2 (hour) '5-1': range is reversed (start after end)"},
    {"0 1,,2 * * *", "cron: field 2 (hour) '1,,2': empty item in list"},
    {"0 1, * * *", "cron: field 2 (hour) '1,': empty item in list"},
    {"0 0 ? * *", "cron: field 3 (day of month) '?': '?', 'L', 'W' and '#' are not supported"},
    {"0 0 L * *", "cron: field 3 (day of month) 'L': '?', 'L', 'W' and '#' are not supported"},
    {"0 0 * * 5#3", "cron: field 5 (day of week) '5#3': '?', 'L', 'W' and '#' are not supported"},
    {"0 0 15W * *", "cron: field 3 (day of month) '15W': '?', 'L', 'W' and '#' are not supported"},
    {"0 0 * * 5L", "cron: field 5 (day of week) '5L': '?', 'L', 'W' and '#' are not supported"},
    {"0 0 * * 5x", "cron: field 5 (day of week) '5x': unexpected text"},
    {"0 0 * * 1-", "cron: field 5 (day of week) '1-': not a number or day name"},
    {"61 0 0 * * *", "cron: field 1 (second) '61': value out of range 0-59"},
    {"0 61 0 * * *", "cron: field 2 (minute) '61': value out of range 0-59"},
    {"0 0 25 * * *", "cron: field 3 (hour) '25': value out of range 0-23"},
    {"0 0 0 * * mon-xyz", "cron: field 6 (day of week) 'mon-xyz': not a number or day name"},
    {"* * * *", "~expected 5 fields (minute hour day-of-month month day-of-week) or 6"},
    {"* * * *", "~got 4"},
    {"* * * * * * *", "~got 7"},
    {"1 2 3 4 5 6 7 8 9", "~got more than 7"},
    {"@reboot", "~unknown macro '@reboot' (use @yearly"},
    {"@daily 5", "~got 2"},
    {"0 0 * * *\n", "cron: control character in expression"},
};

void test_cron_invalid(void)
{
    for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
        const struct invalid_case *c = &invalid_cases[i];
        struct eng_cron cron;
        struct ttai_err err = {0};
        int rc = eng_cron_parse(&cron, c->text, &err);
        if (rc != TTAI_EINVAL)
            test__fail(__FILE__, __LINE__, "'%s': rc %d, want EINVAL", c->text, rc);
        bool part = c->message[0] == '~';
        bool ok = part ? strstr(err.msg, c->message + 1) != NULL : strcmp(err.msg, c->message) == 0;
        if (!ok)
            test__fail(__FILE__, __LINE__, "'%s': message \"%s\", want %s\"%s\"", c->text,
                       err.msg, part ? "a part " : "", c->message + part);
        ASSERT_U64_EQ(cron.minutes | cron.hours | cron.days, 0); /* zeroed on failure */
    }
    /* Longer than ENG_CRON_TEXT_MAX. */
    char text[ENG_CRON_TEXT_MAX + 10];
    memset(text, '1', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    struct eng_cron cron;
    struct ttai_err err = {0};
    ASSERT_EQ(eng_cron_parse(&cron, text, &err), TTAI_EINVAL);
    ASSERT_STR_EQ(err.msg, "cron: expression longer than 256 bytes");
}

/* Vixie cron: both day fields restricted -> either; one begins with '*'
 * -> both. Dates of February 2026 (the 1st is a Sunday). */
void test_cron_day_rule(void)
{
    static const struct {
        const char *text;
        int month, day, weekday;
        bool want;
    } cases[] = {
        {"0 0 13 * 5", 2, 13, 5, true},   /* Friday the 13th */
        {"0 0 13 * 5", 2, 6, 5, true},    /* a Friday */
        {"0 0 13 * 5", 1, 13, 2, true},   /* a 13th, Tuesday */
        {"0 0 13 * 5", 2, 9, 1, false},
        {"0 0 */2 * 5", 2, 6, 5, false},  /* '*' first: both must hold; 6 is even */
        {"0 0 */2 * 5", 2, 13, 5, true},
        {"0 0 */2 * 5", 2, 11, 3, false},
        {"0 0 13 * *", 2, 13, 5, true},
        {"0 0 13 * *", 2, 6, 5, false},
        {"0 0 * * 5", 2, 6, 5, true},
        {"0 0 * * 5", 2, 13, 5, true},
        {"0 0 * * 5", 2, 12, 4, false},
        {"0 0 13 jan 5", 2, 13, 5, false}, /* the month restricts either way */
        {"0 0 1 * mon-fri", 2, 1, 0, true}, /* the 1st, a Sunday */
        {"0 0 1 * mon-fri", 2, 7, 6, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct eng_cron cron;
        struct ttai_err err = {0};
        ASSERT_OK(eng_cron_parse(&cron, cases[i].text, &err), &err);
        if (eng_cron_day_matches(&cron, cases[i].month, cases[i].day, cases[i].weekday) !=
            cases[i].want)
            test__fail(__FILE__, __LINE__, "'%s' on %d-%d (weekday %d): want %s", cases[i].text,
                       cases[i].month, cases[i].day, cases[i].weekday,
                       cases[i].want ? "match" : "no match");
    }
}

void test_cron_time_of_day(void)
{
    static const struct {
        const char *text;
        int32_t from_s, want_s;
    } cases[] = {
        {"30 9 * * *", 0, 9 * 3600 + 1800},
        {"30 9 * * *", 9 * 3600 + 1800, 9 * 3600 + 1800},
        {"30 9 * * *", 9 * 3600 + 1801, -1},
        {"*/20 10 8-9 * * *", 8 * 3600 + 10 * 60 + 41, 9 * 3600 + 10 * 60},
        {"*/20 10 8-9 * * *", 8 * 3600 + 10 * 60 + 39, 8 * 3600 + 10 * 60 + 40},
        {"* * * * * *", 86399, 86399},
        {"0 0 * * *", 1, -1},
        {"0 */7 * * *", 3601, 7 * 3600},
        {"15 59 23 * * *", 0, 86399 - 44},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct eng_cron cron;
        struct ttai_err err = {0};
        ASSERT_OK(eng_cron_parse(&cron, cases[i].text, &err), &err);
        fprintf(stderr, "case '%s' from %d\n", cases[i].text, (int)cases[i].from_s);
        ASSERT_EQ(eng_cron_next_time_of_day(&cron, cases[i].from_s), cases[i].want_s);
    }
}
