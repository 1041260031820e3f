/* Every schedule test, one line each: TEST(name) runs as CTest sched_<name>
 * in its own process. Grouped by file. */

/* test_cron.c */
TEST(cron_valid)
TEST(cron_invalid)
TEST(cron_day_rule)
TEST(cron_time_of_day)

/* test_tz.c */
TEST(tz_system_new_york)
TEST(tz_system_half_hours)
TEST(tz_names_refused)
TEST(tz_files_of_own)

/* test_calendar.c */
TEST(calendar_civil)
TEST(calendar_good_friday)
TEST(calendar_xnys_published)
TEST(calendar_xnys_rules)
TEST(calendar_parse)

/* test_next.c */
TEST(next_dst_table)
TEST(next_strictly_after)
TEST(next_calendar)
TEST(next_never)
TEST(next_spec_text)
TEST(next_rfc3339)
TEST(next_alloc_failures)

/* test_seed001.c */
TEST(seed001_spring)
TEST(seed001_fall)
TEST(seed001_thanksgiving)
