/* runner.c: the schedule tests' program, `sched_tests [NAME | --list]`
 * (tests/harness/harness.h), and the helpers of sched_test.h. */
#include "sched_test.h"

int64_t sched_time(const char *rfc3339)
{
    struct ttai_err err = {0};
    int64_t t = 0;
    if (eng_rfc3339_parse(rfc3339, &t, &err) != 0)
        test__fail(__FILE__, __LINE__, "bad test time '%s': %s", rfc3339, err.msg);
    return t;
}

void sched__assert_time(const char *file, int line, const char *expr, int64_t got_s,
                        const char *want)
{
    int64_t want_s = sched_time(want);
    if (got_s != want_s) {
        char got[64];
        test__fail(file, line, "%s: got %s, want %s", expr,
                   eng_rfc3339_format(got_s, got, sizeof(got)), want);
    }
}

struct eng_sched_spec *sched_spec(const char *cron, const char *tz, const char *gap,
                                  const char *repeat, const char *calendar)
{
    struct eng_sched_spec_text text = {cron, tz, gap, repeat, calendar};
    struct eng_sched_spec *spec = NULL;
    struct ttai_err err = {0};
    if (eng_sched_spec_new(&spec, &text, &err) != 0)
        test__fail(__FILE__, __LINE__, "spec '%s' in %s refused: %s", cron, tz ? tz : "UTC",
                   err.msg);
    return spec;
}

int main(int argc, char **argv)
{
    return test_main(argc, argv, NULL);
}
