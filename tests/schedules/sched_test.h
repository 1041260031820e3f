/* sched_test.h: helpers of the schedule tests (tests/schedules).
 *
 * Each test is a function `void test_<name>(void)` listed in test_list.h;
 * CTest runs each one in its own process as sched_<name>. The runner and
 * assertions are the harness's (tests/harness/harness.h); the helpers below
 * read and print instants as RFC 3339 so that a failure shows times a
 * person can check. */
#ifndef TTAI_SCHED_TEST_H
#define TTAI_SCHED_TEST_H

#include "harness.h"

#include "calendar.h"
#include "cron.h"
#include "schedule_spec.h"
#include "tz.h"

/* An instant from "YYYY-MM-DDTHH:MM:SSZ" (or with an offset); fails the
 * test when the text is malformed. */
int64_t sched_time(const char *rfc3339);

/* Fails unless instant got_s is the instant written as `want`. */
#define ASSERT_TIME(got_s, want) sched__assert_time(__FILE__, __LINE__, #got_s, (got_s), (want))
void sched__assert_time(const char *file, int line, const char *expr, int64_t got_s,
                        const char *want);

/* A spec from its parts (NULL for defaults); fails the test when refused. */
struct eng_sched_spec *sched_spec(const char *cron, const char *tz, const char *gap,
                                  const char *repeat, const char *calendar);

#endif
