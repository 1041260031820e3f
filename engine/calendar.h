/* calendar.h: civil dates, and trading calendars computed by rule.
 *
 * Civil dates are proleptic Gregorian (year, month 1..12, day 1..31),
 * counted as days since 1970-01-01; they carry no time zone. The schedule
 * code (schedule_spec.h) and the time zone code (tz.h) do their date
 * arithmetic here.
 *
 * A trading calendar says which local dates an exchange is open. The one
 * calendar so far is XNYS, the New York Stock Exchange: weekdays that are
 * not one of its full-day holidays. Holidays are computed by rule, so the
 * calendar needs no data updates. Special closures (a national day of
 * mourning, a storm) are decided case by case and are not included; nor are
 * early closes, since the calendar works with whole days.
 */
#ifndef TTAI_ENG_CALENDAR_H
#define TTAI_ENG_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

/* ---- Civil dates ----------------------------------------------------------- */

/* Days from 1970-01-01 to year-month-day (negative before). The date must
 * be valid (eng_cal_date_valid). */
int64_t eng_cal_days_from_civil(int year, int month, int day);
/* The date of a day count: the inverse of eng_cal_days_from_civil. */
void eng_cal_civil_from_days(int64_t days, int *year, int *month, int *day);
/* The day count of an instant or wall time in seconds since the epoch
 * (division rounding down, so that -1 is day -1). */
int64_t eng_cal_days_from_seconds(int64_t seconds);
/* Day of the week of a day count: 0 Sunday .. 6 Saturday. */
int eng_cal_weekday(int64_t days);
bool eng_cal_is_leap_year(int year);
/* 28..31; month must be 1..12. */
int eng_cal_days_in_month(int year, int month);
/* True when month is 1..12 and day exists in that month. */
bool eng_cal_date_valid(int year, int month, int day);

/* ---- Trading calendars --------------------------------------------------------- */

enum eng_cal_id {
    ENG_CAL_NONE = 0,            /* every date is a trading day */
    ENG_CAL_XNYS = 1,            /* New York Stock Exchange */
};

/* Parses a calendar name: "XNYS" (any case), or "" / "none" for
 * ENG_CAL_NONE. TTAI_EINVAL with a message listing the known calendars. */
int eng_cal_parse(const char *name, enum eng_cal_id *out, struct ttai_err *err) TTAI_MUST_CHECK;
/* "XNYS", or "none". Static storage. */
const char *eng_cal_name(enum eng_cal_id cal);

/* The name of the full-day holiday on the local date year-month-day
 * ("Good Friday", "Independence Day (observed)"), or NULL when the date is
 * not a holiday of the calendar. Static storage. The date must be valid.
 *
 * XNYS: New Year's Day, Martin Luther King Jr. Day (third Monday of
 * January, from 1998), Washington's Birthday (third Monday of February),
 * Good Friday, Memorial Day (last Monday of May), Juneteenth (June 19, from
 * 2022), Independence Day, Labor Day (first Monday of September),
 * Thanksgiving Day (fourth Thursday of November), Christmas Day. A fixed
 * holiday that falls on a Saturday is observed the Friday before and on a
 * Sunday the Monday after, except that New Year's Day on a Saturday is not
 * observed at all (the exchange does not close on December 31). */
const char *eng_cal_holiday(enum eng_cal_id cal, int year, int month, int day);

/* True when the calendar is open on the local date: any date for
 * ENG_CAL_NONE; for XNYS a Monday to Friday that is not a holiday. The date
 * must be valid. */
bool eng_cal_is_trading_day(enum eng_cal_id cal, int year, int month, int day);

#endif /* TTAI_ENG_CALENDAR_H */
