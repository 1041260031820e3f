/* test_calendar.c: civil dates, and the XNYS holidays against the
 * exchange's published lists for 2025, 2026 and 2027. */
#include "sched_test.h"

void test_calendar_civil(void)
{
    ASSERT_EQ(eng_cal_days_from_civil(1970, 1, 1), 0);
    ASSERT_EQ(eng_cal_days_from_civil(1969, 12, 31), -1);
    ASSERT_EQ(eng_cal_days_from_civil(2000, 3, 1), 11017);
    ASSERT_EQ(eng_cal_days_from_civil(2026, 3, 8), 20520);
    ASSERT_EQ(eng_cal_days_from_civil(1, 1, 1), -719162);
    ASSERT_EQ(eng_cal_days_from_civil(9999, 12, 31), 2932896);
    ASSERT_EQ(eng_cal_days_from_seconds(0), 0);
    ASSERT_EQ(eng_cal_days_from_seconds(86399), 0);
    ASSERT_EQ(eng_cal_days_from_seconds(86400), 1);
    ASSERT_EQ(eng_cal_days_from_seconds(-1), -1);
    ASSERT_EQ(eng_cal_days_from_seconds(-86400), -1);
    ASSERT_EQ(eng_cal_days_from_seconds(-86401), -2);
    ASSERT_EQ(eng_cal_weekday(0), 4);                                 /* a Thursday */
    ASSERT_EQ(eng_cal_weekday(eng_cal_days_from_civil(2026, 3, 8)), 0); /* a Sunday */
    ASSERT_EQ(eng_cal_weekday(-1), 3);
    ASSERT(eng_cal_is_leap_year(2000));
    ASSERT(!eng_cal_is_leap_year(2100));
    ASSERT(eng_cal_is_leap_year(2028));
    ASSERT_EQ(eng_cal_days_in_month(2028, 2), 29);
    ASSERT_EQ(eng_cal_days_in_month(2100, 2), 28);
    ASSERT(!eng_cal_date_valid(2026, 2, 29));
    ASSERT(!eng_cal_date_valid(2026, 13, 1));
    ASSERT(!eng_cal_date_valid(2026, 4, 31));
    /* Every day from year 1 to 9999 round-trips, one day after another. */
    int py = 0, pm = 12, pd = 31;
    for (int64_t days = -719162; days <= 2932896; days++) {
        int y, m, d;
        eng_cal_civil_from_days(days, &y, &m, &d);
        bool next_day = (y == py && m == pm && d == pd + 1) ||
                        (y == py && m == pm + 1 && d == 1 && pd == eng_cal_days_in_month(py, pm)) ||
                        (y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31);
        if (!next_day || eng_cal_days_from_civil(y, m, d) != days)
            test__fail(__FILE__, __LINE__, "day %lld gives %d-%d-%d after %d-%d-%d",
                       (long long)days, y, m, d, py, pm, pd);
        py = y, pm = m, pd = d;
    }
}

/* Good Friday is two days before the Easter Sundays of the tables. */
void test_calendar_good_friday(void)
{
    static const int dates[][3] = {
        {2000, 4, 21}, {2008, 3, 21}, {2019, 4, 19}, {2024, 3, 29}, {2025, 4, 18},
        {2026, 4, 3},  {2027, 3, 26}, {2028, 4, 14}, {2038, 4, 23}, {2285, 3, 20},
    };
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        const char *name = eng_cal_holiday(ENG_CAL_XNYS, dates[i][0], dates[i][1], dates[i][2]);
        if (name == NULL || strcmp(name, "Good Friday") != 0)
            test__fail(__FILE__, __LINE__, "%d-%02d-%02d: got %s, want Good Friday",
                       dates[i][0], dates[i][1], dates[i][2], name ? name : "no holiday");
    }
}

/* The exchange's published full-day closures. 2025 also had January 9 (a
 * National Day of Mourning for President Carter): a special closure, not
 * a rule, so it is not in the rule's list and stays a trading day here. */
static const struct {
    int year;
    int dates[12][2];
} published[] = {
    {2025, {{1, 1}, {1, 20}, {2, 17}, {4, 18}, {5, 26}, {6, 19}, {7, 4}, {9, 1}, {11, 27},
            {12, 25}}},
    {2026, {{1, 1}, {1, 19}, {2, 16}, {4, 3}, {5, 25}, {6, 19}, {7, 3}, {9, 7}, {11, 26},
            {12, 25}}},
    {2027, {{1, 1}, {1, 18}, {2, 15}, {3, 26}, {5, 31}, {6, 18}, {7, 5}, {9, 6}, {11, 25},
            {12, 24}}},
};

static bool in_list(const int dates[12][2], int m, int d)
{
    for (int i = 0; i < 12 && dates[i][0] != 0; i++)
        if (dates[i][0] == m && dates[i][1] == d)
            return true;
    return false;
}

void test_calendar_xnys_published(void)
{
    for (size_t k = 0; k < sizeof(published) / sizeof(published[0]); k++) {
        int year = published[k].year;
        int closed_weekdays = 0;
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= eng_cal_days_in_month(year, m); d++) {
                int weekday = eng_cal_weekday(eng_cal_days_from_civil(year, m, d));
                bool weekend = weekday == 0 || weekday == 6;
                bool want_open = !weekend && !in_list(published[k].dates, m, d);
                bool open = eng_cal_is_trading_day(ENG_CAL_XNYS, year, m, d);
                if (open != want_open)
                    test__fail(__FILE__, __LINE__, "%d-%02d-%02d: %s, want %s (%s)", year, m, d,
                               open ? "open" : "closed", want_open ? "open" : "closed",
                               eng_cal_holiday(ENG_CAL_XNYS, year, m, d)
                                   ? eng_cal_holiday(ENG_CAL_XNYS, year, m, d) : "no holiday");
                closed_weekdays += !weekend && !open;
            }
        ASSERT_EQ(closed_weekdays, 10);
    }
    ASSERT(eng_cal_is_trading_day(ENG_CAL_XNYS, 2025, 1, 9)); /* the special closure */
}

void test_calendar_xnys_rules(void)
{
    static const struct {
        int y, m, d;
        const char *name;        /* NULL: not a holiday */
    } cases[] = {
        {2026, 7, 3, "Independence Day (observed)"}, /* July 4 is a Saturday */
        {2026, 7, 4, "Independence Day"},
        {2027, 7, 5, "Independence Day (observed)"}, /* July 4 is a Sunday */
        {2027, 12, 24, "Christmas Day (observed)"},
        {2027, 6, 18, "Juneteenth (observed)"},
        {2025, 4, 18, "Good Friday"},
        {2026, 1, 19, "Martin Luther King Jr. Day"},
        {2026, 2, 16, "Washington's Birthday"},
        {2026, 5, 25, "Memorial Day"},
        {2026, 9, 7, "Labor Day"},
        {2026, 11, 26, "Thanksgiving Day"},
        {2023, 1, 2, "New Year's Day (observed)"},   /* January 1 was a Sunday */
        {2021, 12, 31, NULL},    /* New Year's Day 2022 on a Saturday: not observed */
        {2027, 12, 31, NULL},    /* likewise 2028 */
        {2021, 6, 18, NULL},     /* Juneteenth only from 2022 */
        {2022, 6, 20, "Juneteenth (observed)"},
        {1997, 1, 20, NULL},     /* Martin Luther King Jr. Day only from 1998 */
        {1998, 1, 19, "Martin Luther King Jr. Day"},
        {2026, 11, 11, NULL},    /* Veterans Day: the exchange is open */
        {2026, 10, 12, NULL},    /* Columbus Day: open */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = eng_cal_holiday(ENG_CAL_XNYS, cases[i].y, cases[i].m, cases[i].d);
        const char *want = cases[i].name;
        if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0))
            test__fail(__FILE__, __LINE__, "%d-%02d-%02d: got %s, want %s", cases[i].y,
                       cases[i].m, cases[i].d, got ? got : "no holiday",
                       want ? want : "no holiday");
    }
    ASSERT(eng_cal_is_trading_day(ENG_CAL_XNYS, 2021, 12, 31));
    ASSERT(!eng_cal_is_trading_day(ENG_CAL_XNYS, 2026, 3, 7)); /* a Saturday */
    ASSERT(eng_cal_is_trading_day(ENG_CAL_NONE, 2026, 3, 7));
    ASSERT(eng_cal_holiday(ENG_CAL_NONE, 2026, 12, 25) == NULL);
}

void test_calendar_parse(void)
{
    enum eng_cal_id cal = ENG_CAL_XNYS;
    struct ttai_err err = {0};
    ASSERT_OK(eng_cal_parse("none", &cal, &err), &err);
    ASSERT_EQ(cal, ENG_CAL_NONE);
    ASSERT_OK(eng_cal_parse("xnys", &cal, &err), &err);
    ASSERT_EQ(cal, ENG_CAL_XNYS);
    ASSERT_OK(eng_cal_parse("", &cal, &err), &err);
    ASSERT_EQ(cal, ENG_CAL_NONE);
    ASSERT_OK(eng_cal_parse(NULL, &cal, &err), &err);
    ASSERT_EQ(eng_cal_parse("NYSE", &cal, &err), TTAI_EINVAL);
    ASSERT_STR_EQ(err.msg, "unknown calendar 'NYSE' (known: XNYS, none)");
    ASSERT_STR_EQ(eng_cal_name(ENG_CAL_XNYS), "XNYS");
    ASSERT_STR_EQ(eng_cal_name(ENG_CAL_NONE), "none");
}
