/* test_tz.c: time zones: the system's zoneinfo (tzdata, installed by
 * tools/bootstrap.sh), TZif files written by the test into a $TZDIR of its
 * own (version 1, version 2 with POSIX rules, damaged files), zone names
 * that must be refused, and "UTC" without any zoneinfo. */
#include "sched_test.h"

#include <sys/stat.h>

static struct eng_tz *tz_open(const char *name)
{
    struct eng_tz *tz = NULL;
    struct ttai_err err = {0};
    if (eng_tz_open(&tz, name, &err) != 0)
        test__fail(__FILE__, __LINE__, "zone '%s' refused: %s", name, err.msg);
    return tz;
}

/* Fails unless `at` shows as the local time `want` ("2026-03-08 03:00:00
 * EDT -14400 dst"). */
static void check_local(const struct eng_tz *tz, const char *at, const char *want)
{
    struct eng_tz_local l;
    eng_tz_to_local(tz, sched_time(at), &l);
    char got[96];
    snprintf(got, sizeof(got), "%04d-%02d-%02d %02d:%02d:%02d %s %d%s", l.year, l.month, l.day,
             l.hour, l.minute, l.second, l.abbr, (int)l.offset_s, l.dst ? " dst" : "");
    if (strcmp(got, want) != 0)
        test__fail(__FILE__, __LINE__, "%s at %s: got \"%s\", want \"%s\"", eng_tz_name(tz), at,
                   got, want);
}

/* A wall time (local date and time as if UTC) from "YYYY-MM-DDTHH:MM:SS". */
static int64_t wall(const char *local)
{
    char text[40];
    snprintf(text, sizeof(text), "%sZ", local);
    return sched_time(text);
}

void test_tz_system_new_york(void)
{
    struct eng_tz *tz = tz_open("America/New_York");
    ASSERT_STR_EQ(eng_tz_name(tz), "America/New_York");
    check_local(tz, "2026-03-08T06:59:59Z", "2026-03-08 01:59:59 EST -18000");
    check_local(tz, "2026-03-08T07:00:00Z", "2026-03-08 03:00:00 EDT -14400 dst");
    check_local(tz, "2026-11-01T05:59:59Z", "2026-11-01 01:59:59 EDT -14400 dst");
    check_local(tz, "2026-11-01T06:00:00Z", "2026-11-01 01:00:00 EST -18000");
    /* Past the file's transitions: the footer's rule, EST5EDT,M3.2.0,M11.1.0. */
    check_local(tz, "2100-03-14T06:59:59Z", "2100-03-14 01:59:59 EST -18000");
    check_local(tz, "2100-03-14T07:00:00Z", "2100-03-14 03:00:00 EDT -14400 dst");
    check_local(tz, "2100-11-07T06:00:00Z", "2100-11-07 01:00:00 EST -18000");
    /* Before the first transition: local mean time. */
    check_local(tz, "1800-01-01T12:00:00Z", "1800-01-01 07:03:58 LMT -17762");

    int64_t at[2], gap_end = 0;
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-03-08T02:30:00"), at, &gap_end), 0);
    ASSERT_TIME(gap_end, "2026-03-08T07:00:00Z");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-03-08T02:00:00"), at, &gap_end), 0);
    ASSERT_TIME(gap_end, "2026-03-08T07:00:00Z");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-03-08T03:00:00"), at, NULL), 1);
    ASSERT_TIME(at[0], "2026-03-08T07:00:00Z");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-03-08T01:59:59"), at, NULL), 1);
    ASSERT_TIME(at[0], "2026-03-08T06:59:59Z");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-11-01T01:30:00"), at, NULL), 2);
    ASSERT_TIME(at[0], "2026-11-01T05:30:00Z");
    ASSERT_TIME(at[1], "2026-11-01T06:30:00Z");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-11-01T02:00:00"), at, NULL), 1);
    ASSERT_TIME(at[0], "2026-11-01T07:00:00Z");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2100-11-07T01:30:00"), at, NULL), 2);
    ASSERT_TIME(at[0], "2100-11-07T05:30:00Z");
    ASSERT_TIME(at[1], "2100-11-07T06:30:00Z");

    int32_t lo, hi;
    eng_tz_offset_range(tz, sched_time("2026-03-07T00:00:00Z"), sched_time("2026-03-09T00:00:00Z"),
                        &lo, &hi);
    ASSERT_EQ(lo, -18000);
    ASSERT_EQ(hi, -14400);
    eng_tz_offset_range(tz, sched_time("2026-07-01T00:00:00Z"), sched_time("2026-07-09T00:00:00Z"),
                        &lo, &hi);
    ASSERT_EQ(lo, -14400);
    ASSERT_EQ(hi, -14400);
    eng_tz_free(tz);
}

void test_tz_system_half_hours(void)
{
    /* Lord Howe moves its clocks by 30 minutes: +10:30 in winter, +11 in summer. */
    struct eng_tz *tz = tz_open("Australia/Lord_Howe");
    ASSERT_EQ(eng_tz_offset(tz, sched_time("2026-07-15T00:00:00Z")), 37800);
    ASSERT_EQ(eng_tz_offset(tz, sched_time("2026-01-15T00:00:00Z")), 39600);
    check_local(tz, "2026-04-04T14:59:59Z", "2026-04-05 01:59:59 +11 39600 dst");
    check_local(tz, "2026-04-04T15:00:00Z", "2026-04-05 01:30:00 +1030 37800");
    check_local(tz, "2026-10-03T15:30:00Z", "2026-10-04 02:30:00 +11 39600 dst");
    int64_t at[2], gap_end = 0;
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-10-04T02:15:00"), at, &gap_end), 0);
    ASSERT_TIME(gap_end, "2026-10-03T15:30:00Z");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-04-05T01:45:00"), at, NULL), 2);
    ASSERT_TIME(at[0], "2026-04-04T14:45:00Z");
    ASSERT_TIME(at[1], "2026-04-04T15:15:00Z");
    eng_tz_free(tz);
    /* Kolkata: +05:30 all year. */
    tz = tz_open("Asia/Kolkata");
    check_local(tz, "2026-06-01T00:00:00Z", "2026-06-01 05:30:00 IST 19800");
    eng_tz_free(tz);
}

void test_tz_names_refused(void)
{
    static const struct {
        const char *name;
        int rc;
        const char *message;
    } cases[] = {
        {"", TTAI_EINVAL, "time zone name is empty"},
        {"../../etc/passwd", TTAI_EINVAL,
         "bad time zone name '../../etc/passwd' (use an IANA name such as America/New_York)"},
        {"America/../UTC", TTAI_EINVAL,
         "bad time zone name 'America/../UTC' (use an IANA name such as America/New_York)"},
        {"/etc/localtime", TTAI_EINVAL,
         "bad time zone name '/etc/localtime' (use an IANA name such as America/New_York)"},
        {"America/New York", TTAI_EINVAL, "bad character in time zone name 'America/New York'"},
        {"Mars/Olympus_Mons", TTAI_ENOTFOUND,
         "unknown time zone 'Mars/Olympus_Mons' (not found in /usr/share/zoneinfo)"},
        {"America", TTAI_ENOTFOUND,
         "unknown time zone 'America' (not found in /usr/share/zoneinfo)"},
    };
    unsetenv("TZDIR");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct eng_tz *tz = (struct eng_tz *)1;
        struct ttai_err err = {0};
        ASSERT_EQ(eng_tz_open(&tz, cases[i].name, &err), cases[i].rc);
        ASSERT(tz == NULL);
        ASSERT_STR_EQ(err.msg, cases[i].message);
    }
}

/* ---- TZif files of the test's own --------------------------------------------- */

struct tzif_type {
    int32_t offset_s;
    bool dst;
    const char *abbr;
};

static void put32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    fwrite(b, 1, 4, f);
}

/* Writes one header and data block (time_bytes 4 or 8). */
static void tzif_block(FILE *f, char version, size_t time_bytes, const int64_t *times,
                       const uint8_t *index, size_t count, const struct tzif_type *types,
                       size_t type_count, uint32_t leap_count)
{
    char chars[64] = "";
    size_t chars_len = 0, desig[8];
    for (size_t i = 0; i < type_count; i++) {
        desig[i] = chars_len;
        memcpy(chars + chars_len, types[i].abbr, strlen(types[i].abbr) + 1);
        chars_len += strlen(types[i].abbr) + 1;
    }
    fwrite("TZif", 1, 4, f);
    fputc(version, f);
    for (int i = 0; i < 15; i++)
        fputc(0, f);
    uint32_t counts[6] = {0, 0, leap_count, (uint32_t)count, (uint32_t)type_count,
                          (uint32_t)chars_len};
    for (int i = 0; i < 6; i++)
        put32(f, counts[i]);
    for (size_t i = 0; i < count; i++) {
        if (time_bytes == 8)
            put32(f, (uint32_t)((uint64_t)times[i] >> 32));
        put32(f, (uint32_t)times[i]);
    }
    if (count > 0)
        fwrite(index, 1, count, f);
    for (size_t i = 0; i < type_count; i++) {
        put32(f, (uint32_t)types[i].offset_s);
        fputc(types[i].dst, f);
        fputc((int)desig[i], f);
    }
    fwrite(chars, 1, chars_len, f);
    for (uint32_t i = 0; i < leap_count; i++) {
        if (time_bytes == 8)
            put32(f, 0);
        put32(f, 78796800);
        put32(f, 1);
    }
}

/* Writes $TZDIR/name: version 1 when footer is NULL, else version 2 with
 * the footer. */
static void tzif_write(const char *name, const int64_t *times, const uint8_t *index, size_t count,
                       const struct tzif_type *types, size_t type_count, const char *footer,
                       uint32_t leap_count)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0755);
    *slash = '/';
    FILE *f = fopen(path, "wb");
    ASSERT(f != NULL);
    tzif_block(f, footer ? '2' : 0, 4, times, index, count, types, type_count, leap_count);
    if (footer != NULL) {
        tzif_block(f, '2', 8, times, index, count, types, type_count, leap_count);
        fprintf(f, "\n%s\n", footer);
    }
    ASSERT_EQ(fclose(f), 0);
}

static void write_file(const char *name, const char *content, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    ASSERT(f != NULL);
    fwrite(content, 1, len, f);
    ASSERT_EQ(fclose(f), 0);
}

void test_tz_files_of_own(void)
{
    ASSERT_EQ(setenv("TZDIR", test_tmpdir(), 1), 0);
    /* Version 1, one transition at 2001-09-09T01:46:40Z; no footer, so the
     * last type holds for ever. */
    const struct tzif_type v1_types[] = {{3600, false, "AAA"}, {7200, true, "BBB"}};
    const int64_t v1_times[] = {1000000000};
    const uint8_t v1_index[] = {1};
    tzif_write("Test/V1", v1_times, v1_index, 1, v1_types, 2, NULL, 0);
    struct eng_tz *tz = tz_open("Test/V1");
    check_local(tz, "2001-09-09T01:46:39Z", "2001-09-09 02:46:39 AAA 3600");
    check_local(tz, "2001-09-09T01:46:40Z", "2001-09-09 03:46:40 BBB 7200 dst");
    check_local(tz, "2100-01-01T00:00:00Z", "2100-01-01 02:00:00 BBB 7200 dst");
    int64_t at[2], gap_end = 0;
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2001-09-09T03:00:00"), at, &gap_end), 0);
    ASSERT_TIME(gap_end, "2001-09-09T01:46:40Z");
    eng_tz_free(tz);

    /* Version 2 without transitions: all from the rule. */
    const struct tzif_type est[] = {{-18000, false, "EST"}};
    tzif_write("Test/Rule", NULL, NULL, 0, est, 1, "EST5EDT,M3.2.0,M11.1.0", 0);
    tz = tz_open("Test/Rule");
    check_local(tz, "2026-03-08T06:59:59Z", "2026-03-08 01:59:59 EST -18000");
    check_local(tz, "2026-03-08T07:00:00Z", "2026-03-08 03:00:00 EDT -14400 dst");
    check_local(tz, "2026-11-01T06:00:00Z", "2026-11-01 01:00:00 EST -18000");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-11-01T01:30:00"), at, NULL), 2);
    ASSERT_TIME(at[0], "2026-11-01T05:30:00Z");
    ASSERT_TIME(at[1], "2026-11-01T06:30:00Z");
    eng_tz_free(tz);

    /* Chile's rule: changes at 24:00 on Saturdays. */
    const struct tzif_type cl[] = {{-14400, false, "-04"}};
    tzif_write("Test/Chile", NULL, NULL, 0, cl, 1, "<-04>4<-03>,M9.1.6/24,M4.1.6/24", 0);
    tz = tz_open("Test/Chile");
    check_local(tz, "2026-09-06T03:59:59Z", "2026-09-05 23:59:59 -04 -14400");
    check_local(tz, "2026-09-06T04:00:00Z", "2026-09-06 01:00:00 -03 -10800 dst");
    check_local(tz, "2026-04-05T02:59:59Z", "2026-04-04 23:59:59 -03 -10800 dst");
    check_local(tz, "2026-04-05T03:00:00Z", "2026-04-04 23:00:00 -04 -14400");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-09-06T00:30:00"), at, &gap_end), 0);
    ASSERT_TIME(gap_end, "2026-09-06T04:00:00Z");
    eng_tz_free(tz);

    /* Daylight time all year, written as a rule that starts on January 1
     * at 00:00 and ends on December 31 at 25:00: always +04. */
    const struct tzif_type p3[] = {{10800, false, "+03"}};
    tzif_write("Test/Permanent", NULL, NULL, 0, p3, 1, "<+03>-3<+04>,0/0,J365/25", 0);
    tz = tz_open("Test/Permanent");
    static const char *const instants[] = {"2026-01-01T00:30:00Z", "2026-06-01T00:00:00Z",
                                           "2026-12-31T20:59:59Z", "2026-12-31T21:00:00Z",
                                           "2026-12-31T23:30:00Z"};
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++)
        ASSERT_EQ(eng_tz_offset(tz, sched_time(instants[i])), 14400);
    eng_tz_free(tz);

    /* Refused files. */
    struct ttai_err err = {0};
    write_file("Test/Text", "not a zone\n", 11);
    ASSERT_EQ(eng_tz_open(&tz, "Test/Text", &err), TTAI_EINVAL);
    ASSERT_STR_EQ(err.msg, "time zone 'Test/Text' is not a TZif file");
    write_file("Test/Short", "TZif2\0\0\0", 8);
    ASSERT_EQ(eng_tz_open(&tz, "Test/Short", &err), TTAI_EINVAL);
    tzif_write("Test/Leap", v1_times, v1_index, 1, v1_types, 2, NULL, 1);
    ASSERT_EQ(eng_tz_open(&tz, "Test/Leap", &err), TTAI_EINVAL);
    ASSERT_STR_EQ(err.msg,
                  "time zone 'Test/Leap' counts leap seconds, which schedules do not support");
    tzif_write("Test/BadFooter", NULL, NULL, 0, est, 1, "EST5EDT,M13.2.0,M11.1.0", 0);
    ASSERT_EQ(eng_tz_open(&tz, "Test/BadFooter", &err), TTAI_ECORRUPT);
    ASSERT_STR_EQ(err.msg, "time zone 'Test/BadFooter': bad TZ string 'EST5EDT,M13.2.0,M11.1.0'");
    ASSERT(tz == NULL);

    /* This directory has no New York: a clear error, and UTC still works. */
    ASSERT_EQ(eng_tz_open(&tz, "America/New_York", &err), TTAI_ENOTFOUND);
    char want[600];
    snprintf(want, sizeof(want), "unknown time zone 'America/New_York' (not found in %s)",
             test_tmpdir());
    ASSERT_STR_EQ(err.msg, want);
    tz = tz_open("UTC");
    check_local(tz, "2026-03-08T07:00:00Z", "2026-03-08 07:00:00 UTC 0");
    ASSERT_EQ(eng_tz_wall_instants(tz, wall("2026-03-08T02:30:00"), at, NULL), 1);
    ASSERT_TIME(at[0], "2026-03-08T02:30:00Z");
    eng_tz_free(tz);
}
