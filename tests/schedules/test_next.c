/* test_next.c: next fire instants, table-driven, across the daylight-saving
 * changes of four zones under every policy. Every expected instant was
 * worked out by hand from the zone's rules for 2026:
 *
 *   America/New_York     EST -5 / EDT -4; forward Mar 8 02:00 EST (07:00Z),
 *                        back Nov 1 02:00 EDT (06:00Z) to 01:00 EST
 *   Europe/London        GMT 0 / BST +1; forward Mar 29 01:00 GMT (01:00Z),
 *                        back Oct 25 02:00 BST (01:00Z) to 01:00 GMT
 *   Australia/Lord_Howe  +10:30 / +11; back Apr 5 02:00 (Apr 4 15:00Z) to
 *                        01:30, forward Oct 4 02:00 (Oct 3 15:30Z) to 02:30
 *   Australia/Sydney     AEST +10 / AEDT +11; back Apr 5 03:00 (Apr 4 16:00Z)
 *                        to 02:00, forward Oct 4 02:00 (Oct 3 16:00Z) to 03:00
 *   America/Santiago     -4 / -3; back Sat Apr 4 24:00 (Apr 5 03:00Z) to
 *                        23:00, forward Sat Sep 5 24:00 (Sep 6 04:00Z) to 01:00
 */
#include "sched_test.h"

#define FIRES_MAX 6

struct next_case {
    const char *zone, *cron, *gap, *repeat; /* NULL: the default */
    const char *after;
    const char *want[FIRES_MAX];            /* the next fires, in order */
};

static const struct next_case dst_cases[] = {
    /* New York, spring forward: 02:30 does not exist on March 8. */
    {"America/New_York", "30 2 * * *", "shift", "once", "2026-03-07T00:00:00Z",
     {"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
    {"America/New_York", "30 2 * * *", "shift", "twice", "2026-03-07T00:00:00Z",
     {"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
    {"America/New_York", "30 2 * * *", "skip", "once", "2026-03-07T00:00:00Z",
     {"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}},
    {"America/New_York", "30 2 * * *", "skip", "twice", "2026-03-07T00:00:00Z",
     {"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}},
    {"America/New_York", "30 1 * * *", "skip", "twice", "2026-03-07T00:00:00Z",
     {"2026-03-07T06:30:00Z", "2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"}},
    /* New York, fall back: 01:30 happens twice on November 1. */
    {"America/New_York", "30 1 * * *", "shift", "once", "2026-10-31T00:00:00Z",
     {"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
    {"America/New_York", "30 1 * * *", "skip", "once", "2026-10-31T00:00:00Z",
     {"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
    {"America/New_York", "30 1 * * *", "shift", "twice", "2026-10-31T00:00:00Z",
     {"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z",
      "2026-11-02T06:30:00Z"}},
    {"America/New_York", "30 1 * * *", "skip", "twice", "2026-10-31T00:00:00Z",
     {"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z",
      "2026-11-02T06:30:00Z"}},
    {"America/New_York", "30 2 * * *", "shift", "twice", "2026-10-31T00:00:00Z",
     {"2026-10-31T06:30:00Z", "2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"}},
    /* Between the two 01:30s: only "twice" has a fire left that day. */
    {"America/New_York", "30 1 * * *", NULL, "twice", "2026-11-01T05:30:00Z",
     {"2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"}},
    {"America/New_York", "30 1 * * *", NULL, "once", "2026-11-01T05:30:00Z",
     {"2026-11-02T06:30:00Z"}},
    /* Hourly: with "once" the repeated 01:00 EST (06:00Z) does not fire. */
    {"America/New_York", "0 * * * *", NULL, "once", "2026-11-01T03:30:00Z",
     {"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z",
      "2026-11-01T08:00:00Z"}},
    {"America/New_York", "0 * * * *", NULL, "twice", "2026-11-01T03:30:00Z",
     {"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
      "2026-11-01T07:00:00Z"}},
    /* Hourly, spring: 02:00 shifts to 03:00 EDT, where 03:00 fires anyway:
     * the coinciding instants fire once. */
    {"America/New_York", "0 * * * *", "shift", NULL, "2026-03-08T04:30:00Z",
     {"2026-03-08T05:00:00Z", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
      "2026-03-08T08:00:00Z"}},
    {"America/New_York", "0 * * * *", "skip", NULL, "2026-03-08T04:30:00Z",
     {"2026-03-08T05:00:00Z", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
      "2026-03-08T08:00:00Z"}},
    /* 02:00 and 02:30 both shift to 07:00Z: one fire. */
    {"America/New_York", "*/30 2 * * *", "shift", NULL, "2026-03-07T12:00:00Z",
     {"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z"}},
    {"America/New_York", "*/30 2 * * *", "skip", NULL, "2026-03-07T12:00:00Z",
     {"2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:00:00Z"}},
    /* Every second across the fall back: with "once" the repeated hour
     * (06:00:00Z to 06:59:59Z) is silent. */
    {"America/New_York", "* * * * * *", NULL, "once", "2026-11-01T05:59:58Z",
     {"2026-11-01T05:59:59Z", "2026-11-01T07:00:00Z", "2026-11-01T07:00:01Z"}},
    {"America/New_York", "* * * * * *", NULL, "twice", "2026-11-01T05:59:58Z",
     {"2026-11-01T05:59:59Z", "2026-11-01T06:00:00Z", "2026-11-01T06:00:01Z"}},
    {"America/New_York", "* * * * * *", "shift", NULL, "2026-03-08T06:59:58Z",
     {"2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-03-08T07:00:01Z"}},

    /* London. */
    {"Europe/London", "30 1 * * *", "shift", NULL, "2026-03-28T00:00:00Z",
     {"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
    {"Europe/London", "30 1 * * *", "skip", NULL, "2026-03-28T00:00:00Z",
     {"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
    {"Europe/London", "30 1 * * *", NULL, "once", "2026-10-24T00:00:00Z",
     {"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
    {"Europe/London", "30 1 * * *", NULL, "twice", "2026-10-24T00:00:00Z",
     {"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z",
      "2026-10-26T01:30:00Z"}},

    /* Lord Howe: the clocks move by 30 minutes. */
    {"Australia/Lord_Howe", "45 1 * * *", NULL, "once", "2026-04-03T00:00:00Z",
     {"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}},
    {"Australia/Lord_Howe", "45 1 * * *", NULL, "twice", "2026-04-03T00:00:00Z",
     {"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z",
      "2026-04-05T15:15:00Z"}},
    {"Australia/Lord_Howe", "15 2 * * *", "shift", NULL, "2026-10-02T00:00:00Z",
     {"2026-10-02T15:45:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
    {"Australia/Lord_Howe", "15 2 * * *", "skip", NULL, "2026-10-02T00:00:00Z",
     {"2026-10-02T15:45:00Z", "2026-10-04T15:15:00Z", "2026-10-05T15:15:00Z"}},
    /* 02:00 shifts to 02:30 LHDT, where 02:30 fires anyway: one fire. */
    {"Australia/Lord_Howe", "0,30 2 * * *", "shift", NULL, "2026-10-03T12:00:00Z",
     {"2026-10-03T15:30:00Z", "2026-10-04T15:00:00Z", "2026-10-04T15:30:00Z"}},

    /* Sydney: southern hemisphere, back in April, forward in October. */
    {"Australia/Sydney", "30 2 * * *", NULL, "once", "2026-04-03T00:00:00Z",
     {"2026-04-03T15:30:00Z", "2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z"}},
    {"Australia/Sydney", "30 2 * * *", NULL, "twice", "2026-04-03T00:00:00Z",
     {"2026-04-03T15:30:00Z", "2026-04-04T15:30:00Z", "2026-04-04T16:30:00Z",
      "2026-04-05T16:30:00Z"}},
    {"Australia/Sydney", "30 2 * * *", "shift", NULL, "2026-10-02T00:00:00Z",
     {"2026-10-02T16:30:00Z", "2026-10-03T16:00:00Z", "2026-10-04T15:30:00Z"}},
    {"Australia/Sydney", "30 2 * * *", "skip", NULL, "2026-10-02T00:00:00Z",
     {"2026-10-02T16:30:00Z", "2026-10-04T15:30:00Z", "2026-10-05T15:30:00Z"}},

    /* Santiago: the changes are at midnight, so whole dates move. */
    {"America/Santiago", "30 23 * * *", NULL, "once", "2026-04-03T12:00:00Z",
     {"2026-04-04T02:30:00Z", "2026-04-05T02:30:00Z", "2026-04-06T03:30:00Z"}},
    {"America/Santiago", "30 23 * * *", NULL, "twice", "2026-04-03T12:00:00Z",
     {"2026-04-04T02:30:00Z", "2026-04-05T02:30:00Z", "2026-04-05T03:30:00Z",
      "2026-04-06T03:30:00Z"}},
    {"America/Santiago", "30 0,23 * * *", NULL, "twice", "2026-04-05T02:00:00Z",
     {"2026-04-05T02:30:00Z", "2026-04-05T03:30:00Z", "2026-04-05T04:30:00Z"}},
    {"America/Santiago", "0 0 * * *", "shift", NULL, "2026-09-04T12:00:00Z",
     {"2026-09-05T04:00:00Z", "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z"}},
    {"America/Santiago", "0 0 * * *", "skip", NULL, "2026-09-04T12:00:00Z",
     {"2026-09-05T04:00:00Z", "2026-09-07T03:00:00Z", "2026-09-08T03:00:00Z"}},

    /* Samoa skipped December 30, 2011 (from 24:00 on the 29th at -10 to the
     * 31st at +14): with shift the whole day's fire happens at the jump. */
    {"Pacific/Apia", "0 12 * * *", "shift", NULL, "2011-12-29T00:00:00Z",
     {"2011-12-29T22:00:00Z", "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"}},
    {"Pacific/Apia", "0 12 * * *", "skip", NULL, "2011-12-29T00:00:00Z",
     {"2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z", "2011-12-31T22:00:00Z"}},

    /* Without daylight saving. */
    {NULL, "*/20 * * * * *", NULL, NULL, "2026-01-01T00:00:00Z",
     {"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"}},
    /* Vixie: the 1st of the month or a Friday (February 1, 2026 is a Sunday). */
    {NULL, "0 12 1 * 5", NULL, NULL, "2026-02-01T12:00:00Z",
     {"2026-02-06T12:00:00Z", "2026-02-13T12:00:00Z", "2026-02-20T12:00:00Z",
      "2026-02-27T12:00:00Z", "2026-03-01T12:00:00Z", "2026-03-06T12:00:00Z"}},
    /* Once a year, or less. */
    {NULL, "@yearly", NULL, NULL, "2026-01-01T00:00:00Z",
     {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"}},
    {NULL, "0 0 29 2 *", NULL, NULL, "2095-01-01T00:00:00Z",
     {"2096-02-29T00:00:00Z", "2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z"}},
    {"Asia/Kolkata", "0 9 * * *", NULL, NULL, "2026-06-01T03:30:00Z",
     {"2026-06-02T03:30:00Z"}},
};

static void check_case(const struct next_case *c)
{
    struct eng_sched_spec *spec = sched_spec(c->cron, c->zone, c->gap, c->repeat, NULL);
    size_t want_count = 0;
    while (want_count < FIRES_MAX && c->want[want_count] != NULL)
        want_count++;
    int64_t got[FIRES_MAX];
    size_t n = eng_sched_spec_next_n(spec, sched_time(c->after), got, want_count);
    ASSERT_EQ(n, want_count);
    for (size_t i = 0; i < want_count; i++) {
        if (got[i] != sched_time(c->want[i])) {
            char text[ENG_RFC3339_TEXT];
            test__fail(__FILE__, __LINE__, "'%s' in %s (%s, %s) after %s: fire %zu is %s, want %s",
                       c->cron, c->zone ? c->zone : "UTC", c->gap ? c->gap : "-",
                       c->repeat ? c->repeat : "-", c->after, i + 1,
                       eng_rfc3339_format(got[i], text, sizeof(text)), c->want[i]);
        }
    }
    eng_sched_spec_free(spec);
}

void test_next_dst_table(void)
{
    for (size_t i = 0; i < sizeof(dst_cases) / sizeof(dst_cases[0]); i++)
        check_case(&dst_cases[i]);
}

/* Strictly after: from a fire instant, the next one. */
void test_next_strictly_after(void)
{
    struct eng_sched_spec *spec = sched_spec("35 9 * * 1-5", "America/New_York", NULL, NULL, NULL);
    int64_t next = 0;
    ASSERT_OK(eng_sched_spec_next(spec, sched_time("2026-03-09T13:35:00Z"), &next), NULL);
    ASSERT_TIME(next, "2026-03-10T13:35:00Z");
    ASSERT_OK(eng_sched_spec_next(spec, sched_time("2026-03-09T13:34:59Z"), &next), NULL);
    ASSERT_TIME(next, "2026-03-09T13:35:00Z");
    eng_sched_spec_free(spec);
}

void test_next_calendar(void)
{
    /* Good Friday, April 3, 2026: no 09:35 scan. */
    struct eng_sched_spec *spec =
        sched_spec("35 9 * * 1-5", "America/New_York", NULL, NULL, "XNYS");
    int64_t got[5];
    ASSERT_EQ(eng_sched_spec_next_n(spec, sched_time("2026-03-30T00:00:00Z"), got, 5), 5);
    ASSERT_TIME(got[0], "2026-03-30T13:35:00Z");
    ASSERT_TIME(got[1], "2026-03-31T13:35:00Z");
    ASSERT_TIME(got[2], "2026-04-01T13:35:00Z");
    ASSERT_TIME(got[3], "2026-04-02T13:35:00Z");
    ASSERT_TIME(got[4], "2026-04-06T13:35:00Z");
    eng_sched_spec_free(spec);
    /* Every day at 14:00 on trading days: Thanksgiving and the weekend skipped. */
    spec = sched_spec("0 14 * * *", "America/New_York", NULL, NULL, "XNYS");
    ASSERT_EQ(eng_sched_spec_next_n(spec, sched_time("2026-11-25T00:00:00Z"), got, 3), 3);
    ASSERT_TIME(got[0], "2026-11-25T19:00:00Z");
    ASSERT_TIME(got[1], "2026-11-27T19:00:00Z");
    ASSERT_TIME(got[2], "2026-11-30T19:00:00Z");
    eng_sched_spec_free(spec);
}

void test_next_never(void)
{
    int64_t next = 0;
    struct eng_sched_spec *spec = sched_spec("0 0 30 2 *", NULL, NULL, NULL, NULL);
    ASSERT_EQ(eng_sched_spec_next(spec, sched_time("2026-01-01T00:00:00Z"), &next), TTAI_ENOTFOUND);
    eng_sched_spec_free(spec);
    /* Christmas is never a trading day (on a weekend it is not one either). */
    spec = sched_spec("0 12 25 12 *", "America/New_York", NULL, NULL, "XNYS");
    ASSERT_EQ(eng_sched_spec_next(spec, sched_time("2026-01-01T00:00:00Z"), &next), TTAI_ENOTFOUND);
    eng_sched_spec_free(spec);
    /* The last instant of year 9999 ends every schedule. */
    spec = sched_spec("@yearly", NULL, NULL, NULL, NULL);
    ASSERT_EQ(eng_sched_spec_next(spec, sched_time("9999-06-01T00:00:00Z"), &next), TTAI_ENOTFOUND);
    int64_t fires[3];
    ASSERT_EQ(eng_sched_spec_next_n(spec, sched_time("9997-06-01T00:00:00Z"), fires, 3), 2);
    ASSERT_TIME(fires[1], "9999-01-01T00:00:00Z");
    eng_sched_spec_free(spec);
    /* From before year 1 the search asks from the second before it: a
     * backfill from 0001-01-01T00:00:00Z finds the fires of year 1, the
     * first second's too. */
    spec = sched_spec("0 0 * * *", NULL, NULL, NULL, NULL);
    ASSERT_OK(eng_sched_spec_next(spec, INT64_MIN, &next), NULL);
    ASSERT_TIME(next, "0001-01-01T00:00:00Z");
    eng_sched_spec_free(spec);
    spec = sched_spec("0 12 * * *", NULL, NULL, NULL, NULL);
    ASSERT_OK(eng_sched_spec_next(spec, sched_time("0001-01-01T00:00:00Z") - 1, &next), NULL);
    ASSERT_TIME(next, "0001-01-01T12:00:00Z");
    ASSERT_OK(eng_sched_spec_next(spec, INT64_MIN, &next), NULL);
    ASSERT_TIME(next, "0001-01-01T12:00:00Z");
    eng_sched_spec_free(spec);
    spec = sched_spec("30 9 * * MON-FRI", "America/New_York", NULL, NULL, NULL);
    ASSERT_OK(eng_sched_spec_next(spec, INT64_MIN, &next), NULL);
    ASSERT(next > sched_time("0001-01-01T00:00:00Z") && next < sched_time("0001-01-04T00:00:00Z"));
    eng_sched_spec_free(spec);
}

void test_next_spec_text(void)
{
    struct eng_sched_spec *spec = sched_spec("35 9 * * 1-5", NULL, NULL, NULL, NULL);
    struct eng_sched_spec_text t;
    eng_sched_spec_get_text(spec, &t);
    ASSERT_STR_EQ(t.cron, "35 9 * * 1-5");
    ASSERT_STR_EQ(t.tz, "UTC");
    ASSERT_STR_EQ(t.dst_gap, "shift");
    ASSERT_STR_EQ(t.dst_repeat, "once");
    ASSERT_STR_EQ(t.calendar, "none");
    eng_sched_spec_free(spec);
    spec = sched_spec("0 17 * * 5", "America/New_York", "skip", "twice", "xnys");
    eng_sched_spec_get_text(spec, &t);
    ASSERT_STR_EQ(t.tz, "America/New_York");
    ASSERT_STR_EQ(t.dst_gap, "skip");
    ASSERT_STR_EQ(t.dst_repeat, "twice");
    ASSERT_STR_EQ(t.calendar, "XNYS");
    ASSERT_STR_EQ(eng_tz_name(eng_sched_spec_tz(spec)), "America/New_York");
    eng_sched_spec_free(spec);

    static const struct {
        struct eng_sched_spec_text text;
        int rc;
        const char *message;
    } refused[] = {
        {{"0 25 * * *", NULL, NULL, NULL, NULL}, TTAI_EINVAL,
         "cron: field 2 (hour) '25': value out of range 0-23"},
        {{NULL, NULL, NULL, NULL, NULL}, TTAI_EINVAL, "cron: empty expression"},
        {{"* * * * *", "Nowhere/City", NULL, NULL, NULL}, TTAI_ENOTFOUND,
         "unknown time zone 'Nowhere/City' (not found in /usr/share/zoneinfo)"},
        {{"* * * * *", NULL, "shfit", NULL, NULL}, TTAI_EINVAL,
         "unknown dst_gap policy 'shfit' (use shift or skip)"},
        {{"* * * * *", NULL, NULL, "thrice", NULL}, TTAI_EINVAL,
         "unknown dst_repeat policy 'thrice' (use once or twice)"},
        {{"* * * * *", NULL, NULL, NULL, "LSE"}, TTAI_EINVAL,
         "unknown calendar 'LSE' (known: XNYS, none)"},
    };
    unsetenv("TZDIR");
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct ttai_err err = {0};
        spec = (struct eng_sched_spec *)1;
        ASSERT_EQ(eng_sched_spec_new(&spec, &refused[i].text, &err), refused[i].rc);
        ASSERT(spec == NULL);
        ASSERT_STR_EQ(err.msg, refused[i].message);
    }
}

void test_next_rfc3339(void)
{
    static const struct {
        const char *text;
        const char *want;        /* NULL: refused */
    } cases[] = {
        {"2026-03-08T07:00:00Z", "2026-03-08T07:00:00Z"},
        {"2026-03-08T02:30:00-05:00", "2026-03-08T07:30:00Z"},
        {"2026-03-08T09:00:00+02:00", "2026-03-08T07:00:00Z"},
        {"2026-03-08T07:00:00.999Z", "2026-03-08T07:00:00Z"},
        {"2026-03-08t07:00:00z", "2026-03-08T07:00:00Z"},
        {"2026-03-08 07:00:00Z", "2026-03-08T07:00:00Z"},
        {"1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"},
        {"9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"},
        {"2026-02-29T00:00:00Z", NULL},
        {"2026-03-08T24:00:00Z", NULL},
        {"2026-03-08T07:00:60Z", NULL},
        {"2026-03-08T07:00:00", NULL},
        {"2026-3-8T07:00:00Z", NULL},
        {"2026-03-08T07:00:00Zjunk", NULL},
        {"2026-03-08T07:00:00+0200", NULL},
        {"2026-03-08T07:00:00.Z", NULL},
        {"", NULL},
        {"now", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t t = 0;
        struct ttai_err err = {0};
        int rc = eng_rfc3339_parse(cases[i].text, &t, &err);
        if (cases[i].want == NULL) {
            if (rc != TTAI_EINVAL || strstr(err.msg, "bad time") == NULL)
                test__fail(__FILE__, __LINE__, "'%s' accepted (rc %d)", cases[i].text, rc);
            continue;
        }
        ASSERT_OK(rc, &err);
        char text[ENG_RFC3339_TEXT];
        ASSERT_STR_EQ(eng_rfc3339_format(t, text, sizeof(text)), cases[i].want);
    }
    char text[ENG_RFC3339_TEXT];
    ASSERT_STR_EQ(eng_rfc3339_format(0, text, sizeof(text)), "1970-01-01T00:00:00Z");
    ASSERT_STR_EQ(eng_rfc3339_format(-1, text, sizeof(text)), "1969-12-31T23:59:59Z");
}

/* A failed allocation anywhere in building a spec leaves nothing behind
 * (ASan's leak check) and says so. */
void test_next_alloc_failures(void)
{
    const struct eng_sched_spec_text text = {"35 9 * * 1-5", "America/New_York", NULL, NULL,
                                             "XNYS"};
    for (uint64_t n = 1; n < 100; n++) {
        struct eng_sched_spec *spec = NULL;
        struct ttai_err err = {0};
        ttai_alloc_fail_after(n);
        int rc = eng_sched_spec_new(&spec, &text, &err);
        ttai_alloc_fail_after(0);
        if (rc == 0) {
            ASSERT(n > 1);
            int64_t next = 0;
            ASSERT_OK(eng_sched_spec_next(spec, sched_time("2026-03-06T15:00:00Z"), &next), NULL);
            ASSERT_TIME(next, "2026-03-09T13:35:00Z");
            eng_sched_spec_free(spec);
            return;
        }
        ASSERT_EQ(rc, TTAI_ENOMEM);
        ASSERT(spec == NULL);
        ASSERT(strstr(err.msg, "out of memory") != NULL);
    }
    test__fail(__FILE__, __LINE__, "the spec was never built");
}
