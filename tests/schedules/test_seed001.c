/* test_seed001.c: the four schedules of seed 001 (scripts/setup_schedules.py),
 * in America/New_York, over four weeks that span a daylight-saving change:
 *
 *   morning-csp-scan  35 9 * * 1-5
 *   afternoon-scan    0 14 * * 1-5
 *   daily-report      30 16 * * 1-5
 *   weekly-summary    0 17 * * 5
 *
 * Each window is four whole weeks from a Monday 00:00Z. The expected fires
 * are the window's weekdays (or Fridays) at the local time, converted with
 * the offset of that date: EST is UTC-5, EDT UTC-4. The times are checked
 * one by one, and a few are also written out literally. */
#include "sched_test.h"

#define DAY_S 86400
#define FIRES_MAX 64

static const struct seed_schedule {
    const char *id;
    const char *cron;
    int hour, minute;
    bool fridays_only;
} schedules[] = {
    {"morning-csp-scan", "35 9 * * 1-5", 9, 35, false},
    {"afternoon-scan", "0 14 * * 1-5", 14, 0, false},
    {"daily-report", "30 16 * * 1-5", 16, 30, false},
    {"weekly-summary", "0 17 * * 5", 17, 0, true},
};

struct window {
    const char *from;            /* a Monday, 00:00Z */
    const char *dst_change;      /* the Sunday the offset changes */
    int offset_before_h, offset_after_h;
    const char *calendar;
};

/* The expected fires of one schedule in the window, by the rule above. */
static size_t expected_fires(const struct window *w, const struct seed_schedule *s, int64_t *out)
{
    int64_t from_day = sched_time(w->from) / DAY_S;
    int64_t change_day = sched_time(w->dst_change) / DAY_S;
    size_t n = 0;
    for (int64_t day = from_day; day < from_day + 28; day++) {
        int weekday = eng_cal_weekday(day);
        if (weekday == 0 || weekday == 6 || (s->fridays_only && weekday != 5))
            continue;
        int offset_h = day < change_day ? w->offset_before_h : w->offset_after_h;
        out[n++] = day * DAY_S + s->hour * 3600 + s->minute * 60 - offset_h * 3600;
    }
    return n;
}

/* Fires of the schedule from the window's start until 28 days later. */
static size_t actual_fires(const struct window *w, const struct seed_schedule *s, int64_t *out)
{
    struct eng_sched_spec *spec = sched_spec(s->cron, "America/New_York", NULL, NULL, w->calendar);
    int64_t from = sched_time(w->from), until = from + 28 * DAY_S;
    int64_t fires[FIRES_MAX];
    size_t got = eng_sched_spec_next_n(spec, from - 1, fires, FIRES_MAX);
    eng_sched_spec_free(spec);
    ASSERT_EQ(got, FIRES_MAX); /* the schedule goes on after the window */
    size_t n = 0;
    while (n < got && fires[n] < until) {
        out[n] = fires[n];
        n++;
    }
    return n;
}

static size_t check_window(const struct window *w, const size_t want_counts[4])
{
    size_t total = 0;
    for (size_t i = 0; i < 4; i++) {
        int64_t want[FIRES_MAX], got[FIRES_MAX];
        size_t want_n = expected_fires(w, &schedules[i], want);
        size_t got_n = actual_fires(w, &schedules[i], got);
        fprintf(stderr, "%s from %s: %zu fires\n", schedules[i].id, w->from, got_n);
        ASSERT_EQ(want_n, want_counts[i]);
        ASSERT_EQ(got_n, want_counts[i]);
        for (size_t k = 0; k < got_n; k++) {
            char g[ENG_RFC3339_TEXT], x[ENG_RFC3339_TEXT];
            if (got[k] != want[k])
                test__fail(__FILE__, __LINE__, "%s fire %zu: got %s, want %s", schedules[i].id,
                           k + 1, eng_rfc3339_format(got[k], g, sizeof(g)),
                           eng_rfc3339_format(want[k], x, sizeof(x)));
        }
        total += got_n;
    }
    return total;
}

/* February 23 to March 22, 2026: clocks go forward on Sunday March 8. */
void test_seed001_spring(void)
{
    static const size_t counts[4] = {20, 20, 20, 4};
    const struct window w = {"2026-02-23T00:00:00Z", "2026-03-08T00:00:00Z", -5, -4, NULL};
    ASSERT_EQ(check_window(&w, counts), 64);
    const struct window xnys = {"2026-02-23T00:00:00Z", "2026-03-08T00:00:00Z", -5, -4, "XNYS"};
    ASSERT_EQ(check_window(&xnys, counts), 64); /* no holiday in these weeks */

    int64_t fires[FIRES_MAX];
    size_t n = actual_fires(&w, &schedules[0], fires);
    ASSERT_EQ(n, 20);
    ASSERT_TIME(fires[0], "2026-02-23T14:35:00Z");  /* 09:35 EST */
    ASSERT_TIME(fires[9], "2026-03-06T14:35:00Z");  /* the last Friday in EST */
    ASSERT_TIME(fires[10], "2026-03-09T13:35:00Z"); /* the first Monday in EDT */
    ASSERT_TIME(fires[19], "2026-03-20T13:35:00Z");
    n = actual_fires(&w, &schedules[3], fires);
    ASSERT_EQ(n, 4);
    ASSERT_TIME(fires[0], "2026-02-27T22:00:00Z");
    ASSERT_TIME(fires[1], "2026-03-06T22:00:00Z");
    ASSERT_TIME(fires[2], "2026-03-13T21:00:00Z");
    ASSERT_TIME(fires[3], "2026-03-20T21:00:00Z");
}

/* October 19 to November 15, 2026: clocks go back on Sunday November 1.
 * With XNYS nothing changes: Veterans Day (November 11) is a trading day. */
void test_seed001_fall(void)
{
    static const size_t counts[4] = {20, 20, 20, 4};
    const struct window w = {"2026-10-19T00:00:00Z", "2026-11-01T00:00:00Z", -4, -5, NULL};
    ASSERT_EQ(check_window(&w, counts), 64);
    const struct window xnys = {"2026-10-19T00:00:00Z", "2026-11-01T00:00:00Z", -4, -5, "XNYS"};
    ASSERT_EQ(check_window(&xnys, counts), 64);

    int64_t fires[FIRES_MAX];
    size_t n = actual_fires(&xnys, &schedules[2], fires);
    ASSERT_EQ(n, 20);
    ASSERT_TIME(fires[9], "2026-10-30T20:30:00Z");  /* 16:30 EDT */
    ASSERT_TIME(fires[10], "2026-11-02T21:30:00Z"); /* 16:30 EST */
    ASSERT_TIME(fires[17], "2026-11-11T21:30:00Z"); /* Veterans Day */
}

/* Thanksgiving week with XNYS: the daily schedules skip Thursday the 26th. */
void test_seed001_thanksgiving(void)
{
    const struct window w = {"2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z", -5, -5, "XNYS"};
    int64_t fires[FIRES_MAX];
    size_t n = actual_fires(&w, &schedules[0], fires);
    ASSERT_EQ(n, 19); /* 20 weekdays to December 18, less Thanksgiving */
    ASSERT_TIME(fires[2], "2026-11-25T14:35:00Z");
    ASSERT_TIME(fires[3], "2026-11-27T14:35:00Z");
    n = actual_fires(&w, &schedules[3], fires);
    ASSERT_EQ(n, 4); /* Fridays November 27, December 4, 11, 18: all trading days */
    ASSERT_TIME(fires[0], "2026-11-27T22:00:00Z");
}
