/* schedule_spec.c: the next fire instants of a schedule spec.
 *
 * The search walks local dates forward. For each date that the cron's day
 * fields and the calendar accept, it visits the date's matching wall times
 * in order and turns each into candidate instants under the DST policies
 * (wall_candidates). The answer is the smallest candidate after the given
 * instant.
 *
 * Wall times and instants are not in the same order around a change of
 * offset (after clocks go back, 01:10 second time comes after 01:50 first
 * time; a zone that goes back at midnight repeats the previous date's last
 * hour). So the search does not stop at the first candidate: it uses the
 * offsets in effect around each date to bound where a wall time's instants
 * can lie, [wall - max offset, wall - min offset], and stops once no later
 * wall time can beat the best candidate. On a date without a change the
 * bounds are equal and the first candidate is the answer.
 *
 * Invariant: a returned instant is > after_s and is a candidate of some
 * matching wall time; no smaller candidate exists.
 */
#include "schedule_spec.h"

#include <stdio.h>
#include <string.h>

#define SECONDS_PER_DAY 86400
#define OFFSET_REACH_S (26 * 3600) /* no offset is larger: see tz.c */
/* Searches start, and fires happen, within years 1 to 9999 (UTC): no day
 * count overflows and every fire has an RFC 3339 form. */
#define SEARCH_FROM_MIN_S (-62135596800LL)  /* 0001-01-01T00:00:00Z */
#define SEARCH_FROM_MAX_S 253402300799LL    /* 9999-12-31T23:59:59Z */

struct eng_sched_spec {
    char cron_text[ENG_CRON_TEXT_MAX + 1];
    struct eng_cron cron;
    struct eng_tz *tz;           /* owned */
    enum eng_dst_gap gap;
    enum eng_dst_repeat repeat;
    enum eng_cal_id calendar;
};

/* ---- Policies -------------------------------------------------------------- */

static bool is_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

int eng_dst_gap_parse(const char *text, enum eng_dst_gap *out, struct ttai_err *err)
{
    if (is_empty(text) || strcmp(text, "shift") == 0)
        *out = ENG_DST_GAP_SHIFT;
    else if (strcmp(text, "skip") == 0)
        *out = ENG_DST_GAP_SKIP;
    else
        return ttai_errf(err, TTAI_EINVAL, "unknown dst_gap policy '%.32s' (use shift or skip)",
                         text);
    return 0;
}

int eng_dst_repeat_parse(const char *text, enum eng_dst_repeat *out, struct ttai_err *err)
{
    if (is_empty(text) || strcmp(text, "once") == 0)
        *out = ENG_DST_REPEAT_ONCE;
    else if (strcmp(text, "twice") == 0)
        *out = ENG_DST_REPEAT_TWICE;
    else
        return ttai_errf(err, TTAI_EINVAL,
                         "unknown dst_repeat policy '%.32s' (use once or twice)", text);
    return 0;
}

const char *eng_dst_gap_name(enum eng_dst_gap gap)
{
    return gap == ENG_DST_GAP_SKIP ? "skip" : "shift";
}

const char *eng_dst_repeat_name(enum eng_dst_repeat repeat)
{
    return repeat == ENG_DST_REPEAT_TWICE ? "twice" : "once";
}

/* ---- Specs ------------------------------------------------------------------- */

int eng_sched_spec_new(struct eng_sched_spec **out, const struct eng_sched_spec_text *text,
                       struct ttai_err *err)
{
    *out = NULL;
    if (is_empty(text->cron))
        return ttai_errf(err, TTAI_EINVAL, "cron: empty expression");
    struct eng_sched_spec *spec = ttai_calloc(1, sizeof(*spec));
    if (spec == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "schedule spec: out of memory");
    int rc = eng_cron_parse(&spec->cron, text->cron, err);
    if (rc == 0)
        rc = eng_dst_gap_parse(text->dst_gap, &spec->gap, err);
    if (rc == 0)
        rc = eng_dst_repeat_parse(text->dst_repeat, &spec->repeat, err);
    if (rc == 0)
        rc = eng_cal_parse(text->calendar, &spec->calendar, err);
    if (rc == 0)
        rc = eng_tz_open(&spec->tz, is_empty(text->tz) ? "UTC" : text->tz, err);
    if (rc != 0) {
        eng_sched_spec_free(spec);
        return rc;
    }
    /* eng_cron_parse refused anything longer than the buffer. */
    memcpy(spec->cron_text, text->cron, strlen(text->cron) + 1);
    *out = spec;
    return 0;
}

void eng_sched_spec_free(struct eng_sched_spec *spec)
{
    if (spec == NULL)
        return;
    eng_tz_free(spec->tz);
    ttai_free(spec);
}

void eng_sched_spec_get_text(const struct eng_sched_spec *spec, struct eng_sched_spec_text *out)
{
    out->cron = spec->cron_text;
    out->tz = eng_tz_name(spec->tz);
    out->dst_gap = eng_dst_gap_name(spec->gap);
    out->dst_repeat = eng_dst_repeat_name(spec->repeat);
    out->calendar = eng_cal_name(spec->calendar);
}

const struct eng_tz *eng_sched_spec_tz(const struct eng_sched_spec *spec)
{
    return spec->tz;
}

/* ---- Next fire ---------------------------------------------------------------- */

/* The search state: the best candidate so far (INT64_MAX: none). */
struct search {
    const struct eng_sched_spec *spec;
    int64_t after_s;
    int64_t best_s;
};

static void candidate(struct search *s, int64_t instant_s)
{
    if (instant_s > s->after_s && instant_s < s->best_s && instant_s <= SEARCH_FROM_MAX_S)
        s->best_s = instant_s;
}

/* The instants at which wall time wall_s fires under the DST policies. */
static void wall_candidates(struct search *s, int64_t wall_s)
{
    int64_t instants_s[2], gap_end_s = 0;
    int n = eng_tz_wall_instants(s->spec->tz, wall_s, instants_s, &gap_end_s);
    if (n == 0 && s->spec->gap == ENG_DST_GAP_SHIFT)
        candidate(s, gap_end_s);
    if (n >= 1)
        candidate(s, instants_s[0]);
    if (n == 2 && s->spec->repeat == ENG_DST_REPEAT_TWICE)
        candidate(s, instants_s[1]);
}

/* Visits the matching wall times of the local date `day` (days since the
 * epoch) whose instants may beat the best so far. */
static void date_search(struct search *s, int64_t day)
{
    int64_t midnight_s = day * SECONDS_PER_DAY;
    int32_t off_min, off_max;
    eng_tz_offset_range(s->spec->tz, midnight_s - OFFSET_REACH_S,
                        midnight_s + SECONDS_PER_DAY + OFFSET_REACH_S, &off_min, &off_max);
    /* A wall time w has its instants in [w - off_max, w - off_min]: only
     * those with w - off_min > after_s can fire after it. */
    int64_t first_wall_s = s->after_s + off_min + 1;
    int64_t tod = first_wall_s > midnight_s ? first_wall_s - midnight_s : 0;
    while (tod < SECONDS_PER_DAY) {
        tod = eng_cron_next_time_of_day(&s->spec->cron, (int32_t)tod);
        if (tod < 0)
            return;
        int64_t wall_s = midnight_s + tod;
        if (s->best_s != INT64_MAX && wall_s - off_max > s->best_s)
            return;
        wall_candidates(s, wall_s);
        tod++;
    }
}

static bool date_accepted(const struct eng_sched_spec *spec, int y, int m, int d, int64_t day)
{
    if (!eng_cron_day_matches(&spec->cron, m, d, eng_cal_weekday(day)))
        return false;
    return eng_cal_is_trading_day(spec->calendar, y, m, d);
}

int eng_sched_spec_next(const struct eng_sched_spec *spec, int64_t after_s, int64_t *next_s)
{
    /* From before year 1 the search asks for the fires after the second
     * before it (a backfill from 0001-01-01T00:00:00Z asks from there). */
    if (after_s < SEARCH_FROM_MIN_S - 1)
        after_s = SEARCH_FROM_MIN_S - 1;
    if (after_s > SEARCH_FROM_MAX_S)
        return TTAI_ENOTFOUND;
    struct search s = {spec, after_s, INT64_MAX};
    int32_t off_min, off_max;
    eng_tz_offset_range(spec->tz, after_s - OFFSET_REACH_S, after_s + OFFSET_REACH_S, &off_min,
                        &off_max);
    /* The first date with a wall time that can fire after after_s. */
    int64_t day = eng_cal_days_from_seconds(after_s + off_min);
    int64_t last_day = day + (int64_t)ENG_SCHED_HORIZON_YEARS * 366;
    int64_t year_10000 = eng_cal_days_from_civil(9999, 12, 31) + 1;
    last_day = last_day < year_10000 ? last_day : year_10000 - 1;
    while (day <= last_day) {
        /* No wall time of this date or later can fire before the best. */
        if (s.best_s != INT64_MAX && day * SECONDS_PER_DAY - OFFSET_REACH_S > s.best_s)
            break;
        int y, m, d;
        eng_cal_civil_from_days(day, &y, &m, &d);
        if ((spec->cron.months >> m & 1) == 0) {
            day += eng_cal_days_in_month(y, m) - d + 1; /* the first of the next month */
            continue;
        }
        if (date_accepted(spec, y, m, d, day))
            date_search(&s, day);
        day++;
    }
    if (s.best_s == INT64_MAX)
        return TTAI_ENOTFOUND;
    *next_s = s.best_s;
    return 0;
}

size_t eng_sched_spec_next_n(const struct eng_sched_spec *spec, int64_t after_s, int64_t *out_s,
                             size_t count)
{
    size_t n = 0;
    while (n < count && eng_sched_spec_next(spec, after_s, &out_s[n]) == 0)
        after_s = out_s[n++];
    return n;
}

/* ---- RFC 3339 ------------------------------------------------------------------ */

/* Reads exactly `digits` decimal digits at *p. */
static bool digits_read(const char **p, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

int eng_rfc3339_parse(const char *text, int64_t *out_s, struct ttai_err *err)
{
    const char *p = text;
    int y, mo, d, h, mi, sec;
    bool ok = digits_read(&p, 4, &y) && *p++ == '-' && digits_read(&p, 2, &mo) &&
              *p++ == '-' && digits_read(&p, 2, &d) && (*p == 'T' || *p == 't' || *p == ' ');
    if (ok) {
        p++;
        ok = digits_read(&p, 2, &h) && *p++ == ':' && digits_read(&p, 2, &mi) &&
             *p++ == ':' && digits_read(&p, 2, &sec);
    }
    if (!ok)
        return ttai_errf(err, TTAI_EINVAL,
                         "bad time '%.40s' (use RFC 3339, e.g. 2026-03-08T07:00:00Z)", text);
    if (!eng_cal_date_valid(y, mo, d) || h > 23 || mi > 59 || sec > 59)
        return ttai_errf(err, TTAI_EINVAL, "bad time '%.40s': no such date or time of day", text);
    if (*p == '.') {
        const char *digits = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return ttai_errf(err, TTAI_EINVAL, "bad time '%.40s': empty fraction of a second",
                             text);
    }
    int offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!digits_read(&p, 2, &oh) || *p++ != ':' || !digits_read(&p, 2, &om) || oh > 23 ||
            om > 59)
            return ttai_errf(err, TTAI_EINVAL, "bad time '%.40s': bad offset (use +HH:MM)",
                             text);
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return ttai_errf(err, TTAI_EINVAL,
                         "bad time '%.40s': needs a zone, Z or an offset like +02:00", text);
    }
    if (*p != '\0')
        return ttai_errf(err, TTAI_EINVAL, "bad time '%.40s': unexpected text at the end", text);
    *out_s = eng_cal_days_from_civil(y, mo, d) * SECONDS_PER_DAY + h * 3600 + mi * 60 + sec -
             offset_s;
    return 0;
}

char *eng_rfc3339_format(int64_t time_s, char *buf, size_t size)
{
    int64_t days = eng_cal_days_from_seconds(time_s);
    int64_t tod = time_s - days * SECONDS_PER_DAY;
    int y, m, d;
    eng_cal_civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(tod / 3600),
             (int)(tod / 60 % 60), (int)(tod % 60));
    return buf;
}
