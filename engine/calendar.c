/* calendar.c: civil date arithmetic and the XNYS holiday rules.
 *
 * Day counts use the era method: the Gregorian calendar repeats every 400
 * years (146097 days), and counting years from March puts the leap day at
 * the end of the year, so a day of the year maps to a month with one
 * linear formula. Every function is exact for any int year that fits the
 * int64_t day count.
 *
 * The XNYS rules are written out for one year at a time and looked up per
 * date; a year's holidays cost a handful of arithmetic operations, so
 * nothing is cached.
 */
#include "calendar.h"

#include <string.h>
#include <strings.h>

/* ---- Civil dates ----------------------------------------------------------- */

#define DAYS_PER_ERA 146097          /* 400 Gregorian years */
#define DAYS_0000_03_01_TO_EPOCH 719468

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t eng_cal_days_from_civil(int year, int month, int day)
{
    TTAI_DEBUG_ASSERT(eng_cal_date_valid(year, month, day));
    /* Years counted from March: January and February belong to the year before. */
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = floor_div(y, 400);
    int64_t year_of_era = y - era * 400;                                  /* 0..399 */
    int64_t month_from_march = month > 2 ? month - 3 : month + 9;        /* 0..11 */
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;     /* 0..365 */
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * DAYS_PER_ERA + day_of_era - DAYS_0000_03_01_TO_EPOCH;
}

void eng_cal_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + DAYS_0000_03_01_TO_EPOCH;
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int64_t day_of_era = z - era * DAYS_PER_ERA;                          /* 0..146096 */
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;                /* 0..11 */
    int d = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    int m = (int)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    *year = (int)(year_of_era + era * 400 + (m <= 2));
    *month = m;
    *day = d;
}

int64_t eng_cal_days_from_seconds(int64_t seconds)
{
    return floor_div(seconds, 86400);
}

int eng_cal_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

bool eng_cal_is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int eng_cal_days_in_month(int year, int month)
{
    static const int lengths[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    TTAI_ASSERT(month >= 1 && month <= 12);
    return month == 2 && eng_cal_is_leap_year(year) ? 29 : lengths[month - 1];
}

bool eng_cal_date_valid(int year, int month, int day)
{
    return month >= 1 && month <= 12 && day >= 1 && day <= eng_cal_days_in_month(year, month);
}

/* ---- Holiday rules ---------------------------------------------------------------- */

/* The day of month of the n-th (1-based) `weekday` of a month. */
static int nth_weekday(int year, int month, int weekday, int n)
{
    int first = eng_cal_weekday(eng_cal_days_from_civil(year, month, 1));
    return 1 + (weekday - first + 7) % 7 + 7 * (n - 1);
}

static int last_weekday(int year, int month, int weekday)
{
    int last_day = eng_cal_days_in_month(year, month);
    int last = eng_cal_weekday(eng_cal_days_from_civil(year, month, last_day));
    return last_day - (last - weekday + 7) % 7;
}

/* Easter Sunday of the Gregorian calendar (the anonymous computus, as
 * published by Meeus): month and day. */
static void easter_sunday(int year, int *month, int *day)
{
    int a = year % 19;                    /* place in the 19-year lunar cycle */
    int b = year / 100;
    int c = year % 100;
    int d = b / 4;
    int e = b % 4;
    int f = (b + 8) / 25;
    int g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30; /* epact: age of the moon */
    int i = c / 4;
    int k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    int n = h + l - 7 * m + 114;
    *month = n / 31;
    *day = n % 31 + 1;
}

enum observance {
    OBSERVE_NONE,                /* the date itself, whatever the weekday */
    OBSERVE_WEEKEND,             /* Saturday -> Friday before, Sunday -> Monday after */
    OBSERVE_SUNDAY_ONLY,         /* Sunday -> Monday after; Saturday: not observed */
};

/* Is (month, day) of `year` the holiday on (hm, hd), after observance?
 * Returns 0 no, 1 on the date itself, 2 on an observed date. */
static int holiday_match(int year, int month, int day, int hm, int hd, enum observance rule)
{
    if (month == hm && day == hd)
        return 1;
    if (rule == OBSERVE_NONE)
        return 0;
    int64_t actual = eng_cal_days_from_civil(year, hm, hd);
    int weekday = eng_cal_weekday(actual);
    int64_t observed = actual;
    if (weekday == 0)
        observed = actual + 1;
    else if (weekday == 6 && rule == OBSERVE_WEEKEND)
        observed = actual - 1;
    return observed != actual && observed == eng_cal_days_from_civil(year, month, day) ? 2 : 0;
}

/* A holiday fixed to a date, possibly observed on another. Only the date's
 * own year is looked at: an observed date could leave its year only for New
 * Year's Day on a Saturday, which XNYS does not observe. */
struct fixed_holiday {
    const char *name;
    const char *observed_name;
    int month, day;
    int first_year;              /* the rule applies from this year */
    enum observance rule;
};

static const struct fixed_holiday xnys_fixed[] = {
    {"New Year's Day", "New Year's Day (observed)", 1, 1, 0, OBSERVE_SUNDAY_ONLY},
    {"Juneteenth", "Juneteenth (observed)", 6, 19, 2022, OBSERVE_WEEKEND},
    {"Independence Day", "Independence Day (observed)", 7, 4, 0, OBSERVE_WEEKEND},
    {"Christmas Day", "Christmas Day (observed)", 12, 25, 0, OBSERVE_WEEKEND},
};

static const char *xnys_holiday(int year, int month, int day)
{
    for (size_t i = 0; i < sizeof(xnys_fixed) / sizeof(xnys_fixed[0]); i++) {
        const struct fixed_holiday *h = &xnys_fixed[i];
        if (year < h->first_year)
            continue;
        int match = holiday_match(year, month, day, h->month, h->day, h->rule);
        if (match != 0)
            return match == 1 ? h->name : h->observed_name;
    }
    switch (month) {
    case 1:
        if (year >= 1998 && day == nth_weekday(year, 1, 1, 3))
            return "Martin Luther King Jr. Day";
        break;
    case 2:
        if (day == nth_weekday(year, 2, 1, 3))
            return "Washington's Birthday";
        break;
    case 5:
        if (day == last_weekday(year, 5, 1))
            return "Memorial Day";
        break;
    case 9:
        if (day == nth_weekday(year, 9, 1, 1))
            return "Labor Day";
        break;
    case 11:
        if (day == nth_weekday(year, 11, 4, 4))
            return "Thanksgiving Day";
        break;
    default:
        break;
    }
    if ((month == 3 || month == 4) && year >= 1583) { /* the computus is Gregorian */
        int em, ed;
        easter_sunday(year, &em, &ed);
        if (eng_cal_days_from_civil(year, month, day) == eng_cal_days_from_civil(year, em, ed) - 2)
            return "Good Friday";
    }
    return NULL;
}

/* ---- Calendars ------------------------------------------------------------------ */

int eng_cal_parse(const char *name, enum eng_cal_id *out, struct ttai_err *err)
{
    if (name == NULL || name[0] == '\0' || strcasecmp(name, "none") == 0) {
        *out = ENG_CAL_NONE;
        return 0;
    }
    if (strcasecmp(name, "XNYS") == 0) {
        *out = ENG_CAL_XNYS;
        return 0;
    }
    return ttai_errf(err, TTAI_EINVAL, "unknown calendar '%.64s' (known: XNYS, none)", name);
}

const char *eng_cal_name(enum eng_cal_id cal)
{
    return cal == ENG_CAL_XNYS ? "XNYS" : "none";
}

const char *eng_cal_holiday(enum eng_cal_id cal, int year, int month, int day)
{
    TTAI_ASSERT(eng_cal_date_valid(year, month, day));
    return cal == ENG_CAL_XNYS ? xnys_holiday(year, month, day) : NULL;
}

bool eng_cal_is_trading_day(enum eng_cal_id cal, int year, int month, int day)
{
    TTAI_ASSERT(eng_cal_date_valid(year, month, day));
    if (cal == ENG_CAL_NONE)
        return true;
    int weekday = eng_cal_weekday(eng_cal_days_from_civil(year, month, day));
    if (weekday == 0 || weekday == 6)
        return false;
    return eng_cal_holiday(cal, year, month, day) == NULL;
}
