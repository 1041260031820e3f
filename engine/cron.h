/* cron.h: cron expressions.
 *
 *   5 fields:  minute hour day-of-month month day-of-week
 *   6 fields:  second minute hour day-of-month month day-of-week
 *
 * Each field is a comma-separated list of items: `*`, a value, a range
 * `a-b`, or a step `*\/n`, `a-b/n`, `a/n` (from a to the field's maximum).
 * Months take names JAN..DEC and days of the week SUN..SAT, in any case;
 * day of week 0 and 7 are both Sunday, and a range may end at SUN
 * (`fri-sun`). The macros @yearly (= @annually), @monthly, @weekly, @daily
 * (= @midnight) and @hourly stand for their usual expressions. With 5
 * fields the second is 0.
 *
 * Days follow Vixie cron: when both day fields are restricted, a day
 * matches if either matches; a day field that begins with `*` (including
 * `*\/2`) counts as unrestricted, and then both must match.
 *
 * A parsed expression is a set of bits per field: matching is a bit test,
 * and finding the next matching time of day is a scan over at most 60
 * bits per field.
 */
#ifndef TTAI_ENG_CRON_H
#define TTAI_ENG_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

#define ENG_CRON_TEXT_MAX 256    /* bytes of an expression */

/* A parsed expression. Callers allocate it; treat the fields as read-only
 * (they are public so that the struct can live on the stack). */
struct eng_cron {
    uint64_t seconds;            /* bit s: second s (0..59) matches */
    uint64_t minutes;            /* bit m: minute m (0..59) */
    uint32_t hours;              /* bit h: hour h (0..23) */
    uint32_t days;               /* bit d: day of month d (1..31) */
    uint16_t months;             /* bit m: month m (1..12) */
    uint8_t weekdays;            /* bit w: weekday w (0 Sunday .. 6 Saturday) */
    bool days_star;              /* the day-of-month field began with '*' */
    bool weekdays_star;          /* the day-of-week field began with '*' */
};

/* Parses text into *out.
 *
 * Errors: TTAI_EINVAL, with a message that begins "cron: " and names the
 * bad field by position and name and quotes the bad item, e.g.
 * "cron: field 2 (hour) '25': value out of range 0-23". *out is zeroed on
 * failure. */
int eng_cron_parse(struct eng_cron *out, const char *text, struct ttai_err *err) TTAI_MUST_CHECK;

/* True when the local date matches the day-of-month, month and
 * day-of-week fields (weekday: 0 Sunday .. 6 Saturday). */
bool eng_cron_day_matches(const struct eng_cron *c, int month, int day, int weekday);

/* The first time of day (seconds since midnight, 0..86399) at or after
 * from_s that matches the second, minute and hour fields, or -1 when none
 * is left in the day. */
int32_t eng_cron_next_time_of_day(const struct eng_cron *c, int32_t from_s);

#endif /* TTAI_ENG_CRON_H */
