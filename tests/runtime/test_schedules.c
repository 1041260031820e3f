/* test_schedules.c: schedules in the engine, on a virtual clock: the four
 * schedules of seed 001 over four weeks across a daylight-saving change,
 * overlap policies, catch-up after an outage, restart without repeats,
 * pause, trigger, backfill, update, delete and refused definitions. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "schedule_spec.h"
#include "schedules.h"
#include "store.h"

#include "../harness/harness.h"

static struct ttai_err err;
static const char *NS = "default";

/* ---- Test workflows ---------------------------------------------------------------- */

static void job_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    ttai_wf_complete(wf, input);
}
static const struct ttai_workflow_def wf_job = {"job", job_run, 0, NULL, NULL};

static bool canceled(const void *state, void *arg)
{
    (void)state;
    return ttai_wf_cancel_requested(arg);
}

/* Runs 90 s unless canceled (cooperatively). */
static void slow_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    if (ttai_wf_await(wf, canceled, wf, 90000))
        ttai_wf_canceled(wf);
    ttai_wf_complete(wf, (struct ttai_payload){NULL, 0});
}
static const struct ttai_workflow_def wf_slow = {"slow", slow_run, 0, NULL, NULL};

static const struct ttai_workflow_def *const workflows[] = {&wf_job, &wf_slow, NULL};
static const struct ttai_activity_def *const activities[] = {NULL};
static const struct ttai_registry registry = {workflows, activities};

/* ---- Helpers -------------------------------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (j == NULL) {
        fprintf(stderr, "FAIL: test JSON: %s: %s\n", je.text, text);
        exit(1);
    }
    return j;
}

static void create(struct ttai_engine *eng, const char *id, const char *def)
{
    json_t *j = parse(def);
    ASSERT_OK(ttai_schedule_create(eng, NS, id, j, &err), &err);
    json_decref(j);
}

static json_t *describe(struct ttai_engine *eng, const char *id)
{
    json_t *d = NULL;
    ASSERT_OK(ttai_schedule_describe(eng, NS, id, &d, &err), &err);
    return d;
}

static long long state_int(struct ttai_engine *eng, const char *id, const char *key)
{
    json_t *d = describe(eng, id);
    long long v = json_integer_value(json_object_get(json_object_get(d, "state"), key));
    json_decref(d);
    return v;
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return (eng_cal_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

/* The run of the workflow a fire at nominal_ms started. */
static int run_status(struct ttai_engine *eng, const char *sched, int64_t nominal_ms)
{
    char when[ENG_RFC3339_TEXT], wid[300];
    snprintf(wid, sizeof(wid), "%s-%s", sched, eng_rfc3339_format(nominal_ms / 1000, when,
                                                                   sizeof(when)));
    struct ttai_run_info info;
    struct ttai_err e;
    return ttai_engine_describe(eng, NS, wid, NULL, &info, &e) == 0 ? info.status : -1;
}

static struct ttai_testenv *env_open(const char *dir, int64_t t0)
{
    struct ttai_testenv *env;
    ASSERT_OK(ttai_testenv_open(&env, dir, &registry, t0, &err), &err);
    return env;
}

/* ---- Tests ------------------------------------------------------------------------------- */

/* Seed 001's schedules, New York time, over four weeks from Monday
 * 2026-03-02 (clocks go forward on Sunday 2026-03-08). */
static void test_seed_schedules(const char *dir)
{
    struct ttai_testenv *env = env_open(dir, utc(2026, 3, 2, 0, 0));
    struct ttai_engine *eng = ttai_testenv_engine(env);
    const struct { const char *id, *cron; int hour, minute, fridays_only; } s[] = {
        {"morning-csp-scan", "35 9 * * 1-5", 9, 35, 0},
        {"afternoon-scan", "0 14 * * 1-5", 14, 0, 0},
        {"daily-report", "30 16 * * 1-5", 16, 30, 0},
        {"weekly-summary", "0 17 * * 5", 17, 0, 1},
    };
    char def[300];
    for (size_t i = 0; i < 4; i++) {
        snprintf(def, sizeof(def), "{\"spec\": {\"cron\": \"%s\", \"timezone\": "
                 "\"America/New_York\"}, \"action\": {\"workflow_type\": \"job\"}}", s[i].cron);
        create(eng, s[i].id, def);
    }
    ASSERT_OK(ttai_testenv_advance(env, 28LL * 86400 * 1000), &err);
    for (size_t i = 0; i < 4; i++) {
        int expected = 0;
        for (int d = 0; d < 28; d++) {
            int weekday = d % 7; /* 0: Monday */
            if (weekday >= 5 || (s[i].fridays_only && weekday != 4))
                continue;
            int day = 2 + d, month = 3;
            if (day > 31) {
                day -= 31;
                month = 4;
            }
            int offset_h = (month == 3 && day < 8) ? 5 : 4; /* EST, then EDT */
            int64_t at = utc(2026, month, day, s[i].hour + offset_h, s[i].minute);
            ASSERT_EQ(run_status(eng, s[i].id, at), STORE_RUN_COMPLETED);
            expected++;
        }
        ASSERT_EQ(state_int(eng, s[i].id, "actions"), expected);
        ASSERT_EQ(expected, s[i].fridays_only ? 4 : 20);
    }
    /* The first fire after the change is at 13:35Z, no longer 14:35Z. */
    ASSERT_EQ(run_status(eng, "morning-csp-scan", utc(2026, 3, 9, 14, 35)), -1);
    ttai_testenv_close(env);
}

/* Every minute, a job of 90 s, for ten minutes, under each policy. */
static void test_overlap(const char *dir)
{
    struct ttai_testenv *env = env_open(dir, utc(2026, 5, 4, 12, 0));
    struct ttai_engine *eng = ttai_testenv_engine(env);
    const char *policies[] = {"skip", "allow_all", "buffer_one", "buffer_all", "cancel_other",
                              "terminate_other"};
    char def[300];
    for (size_t i = 0; i < 6; i++) {
        snprintf(def, sizeof(def), "{\"spec\": {\"cron\": \"* * * * *\"}, \"action\": "
                 "{\"workflow_type\": \"slow\"}, \"policies\": {\"overlap\": \"%s\"}}",
                 policies[i]);
        create(eng, policies[i], def);
    }
    ASSERT_OK(ttai_testenv_advance(env, 10 * 60 * 1000 - 1), &err);
    /* Fires at 12:01 .. 12:09 (nine of them, 12:10 not yet). */
    /* skip: 12:01 runs to 12:02:30; 12:02 skipped; 12:03 runs; ... */
    ASSERT_EQ(state_int(eng, "skip", "actions"), 5);
    ASSERT_EQ(state_int(eng, "skip", "skipped_overlap"), 4);
    ASSERT_EQ(run_status(eng, "skip", utc(2026, 5, 4, 12, 2)), -1);
    ASSERT_EQ(run_status(eng, "skip", utc(2026, 5, 4, 12, 3)), STORE_RUN_COMPLETED);
    /* allow_all: every fire starts; they overlap (12:08 ran to 12:09:30). */
    ASSERT_EQ(state_int(eng, "allow_all", "actions"), 9);
    ASSERT_EQ(state_int(eng, "allow_all", "skipped_overlap"), 0);
    ASSERT_EQ(run_status(eng, "allow_all", utc(2026, 5, 4, 12, 9)), STORE_RUN_RUNNING);
    ASSERT_EQ(run_status(eng, "allow_all", utc(2026, 5, 4, 12, 8)), STORE_RUN_COMPLETED);
    /* terminate_other: each fire terminates the one before. */
    ASSERT_EQ(state_int(eng, "terminate_other", "actions"), 9);
    for (int m = 1; m <= 8; m++)
        ASSERT_EQ(run_status(eng, "terminate_other", utc(2026, 5, 4, 12, m)), STORE_RUN_TERMINATED);
    ASSERT_EQ(run_status(eng, "terminate_other", utc(2026, 5, 4, 12, 9)), STORE_RUN_RUNNING);
    /* cancel_other: the running one is canceled, the new one starts once it closed. */
    ASSERT_EQ(state_int(eng, "cancel_other", "actions"), 9);
    ASSERT_EQ(run_status(eng, "cancel_other", utc(2026, 5, 4, 12, 1)), STORE_RUN_CANCELED);
    ASSERT_EQ(run_status(eng, "cancel_other", utc(2026, 5, 4, 12, 9)), STORE_RUN_RUNNING);
    /* buffer_all: one at a time, none lost: 90 s each from 12:01 -> six
     * started by 12:09:59 (12:01, 12:02:30, 12:04, 12:05:30, 12:07, 12:08:30). */
    ASSERT_EQ(state_int(eng, "buffer_all", "actions"), 6);
    json_t *d = describe(eng, "buffer_all");
    ASSERT_EQ(json_array_size(json_object_get(json_object_get(d, "state"), "buffered")), 3);
    ASSERT_EQ(json_array_size(json_object_get(json_object_get(d, "state"), "running")), 1);
    json_decref(d);
    /* buffer_one: at most one waits; the others are skipped. */
    long long started = state_int(eng, "buffer_one", "actions");
    long long skipped = state_int(eng, "buffer_one", "skipped_overlap");
    ASSERT_EQ(started, 6);
    ASSERT_EQ(started + skipped + 1, 9); /* one is buffered */
    ttai_testenv_close(env);
}

/* Fires missed during an outage: only those within the catch-up window run. */
static void test_catchup_and_restart(const char *dir)
{
    struct ttai_testenv *env = env_open(dir, utc(2026, 6, 1, 8, 0));
    struct ttai_engine *eng = ttai_testenv_engine(env);
    create(eng, "tick", "{\"spec\": {\"cron\": \"*/5 * * * *\"}, \"action\": "
           "{\"workflow_type\": \"job\", \"input\": {\"n\": 1}}, "
           "\"policies\": {\"catchup_window_s\": 600, \"overlap\": \"allow_all\"}}");
    /* (Under the default overlap policy, skip, the caught-up fires would
     * find the first of them still running and be skipped.) */
    ASSERT_OK(ttai_testenv_advance(env, 30 * 60 * 1000), &err); /* 08:05 .. 08:30: 6 fires */
    ASSERT_EQ(state_int(eng, "tick", "actions"), 6);
    /* An hour down: 08:35 .. 09:30 are 12 fires; the window (10 min) keeps
     * 09:20, 09:25 and 09:30. */
    ASSERT_OK(ttai_testenv_outage(env, 60 * 60 * 1000, &err), &err);
    eng = ttai_testenv_engine(env);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(state_int(eng, "tick", "actions"), 9);
    ASSERT_EQ(state_int(eng, "tick", "missed_catchup"), 9);
    ASSERT_EQ(run_status(eng, "tick", utc(2026, 6, 1, 9, 15)), -1);
    ASSERT_EQ(run_status(eng, "tick", utc(2026, 6, 1, 9, 20)), STORE_RUN_COMPLETED);
    /* A restart neither repeats nor loses a fire. */
    ASSERT_OK(ttai_testenv_restart(env, &err), &err);
    eng = ttai_testenv_engine(env);
    ASSERT_OK(ttai_testenv_advance(env, 10 * 60 * 1000), &err);
    ASSERT_EQ(state_int(eng, "tick", "actions"), 11);
    ASSERT_EQ(state_int(eng, "tick", "missed_catchup"), 9);
    ttai_testenv_close(env);
}

static void test_controls(const char *dir)
{
    struct ttai_testenv *env = env_open(dir, utc(2026, 7, 6, 0, 0));
    struct ttai_engine *eng = ttai_testenv_engine(env);
    create(eng, "hourly", "{\"spec\": {\"cron\": \"@hourly\"}, \"action\": "
           "{\"workflow_type\": \"job\"}, \"max_actions\": 5}");
    json_t *d = describe(eng, "hourly");
    json_t *next = json_object_get(d, "next_fires");
    ASSERT_EQ(json_array_size(next), 10);
    ASSERT(strcmp(json_string_value(json_array_get(next, 0)), "2026-07-06T01:00:00Z") == 0);
    json_decref(d);
    /* Paused: nothing fires, and nothing is caught up on unpause. */
    ASSERT_OK(ttai_schedule_pause(eng, NS, "hourly", true, "maintenance", &err), &err);
    ASSERT_OK(ttai_testenv_advance(env, 3 * 3600 * 1000), &err);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 0);
    d = describe(eng, "hourly");
    ASSERT(strcmp(json_string_value(json_object_get(json_object_get(d, "state"), "note")),
                  "maintenance") == 0);
    json_decref(d);
    ASSERT_OK(ttai_schedule_pause(eng, NS, "hourly", false, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 0);
    /* Trigger now, then backfill two past hours. */
    ASSERT_OK(ttai_schedule_trigger(eng, NS, "hourly", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(run_status(eng, "hourly", utc(2026, 7, 6, 3, 0)), STORE_RUN_COMPLETED);
    /* A second trigger in the same second would start the same fire time
     * again: refused, and nothing is counted. */
    ASSERT_EQ(ttai_schedule_trigger(eng, NS, "hourly", &err), TTAI_EEXIST);
    ASSERT(strstr(err.msg, "already started") != NULL);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 1);
    size_t n = 0, existing = 0;
    ASSERT_OK(ttai_schedule_backfill(eng, NS, "hourly", utc(2026, 7, 6, 1, 0) / 1000,
                                     utc(2026, 7, 6, 2, 0) / 1000, "allow_all", &n, &existing,
                                     &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(existing, 0);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(run_status(eng, "hourly", utc(2026, 7, 6, 1, 0)), STORE_RUN_COMPLETED);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 3);
    /* Backfilling over fire times that ran (two backfilled, one triggered)
     * plus one that never did starts only the missing one. */
    ASSERT_OK(ttai_schedule_backfill(eng, NS, "hourly", utc(2026, 7, 6, 0, 0) / 1000,
                                     utc(2026, 7, 6, 3, 0) / 1000, "allow_all", &n, &existing,
                                     &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(existing, 3);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(run_status(eng, "hourly", utc(2026, 7, 6, 0, 0)), STORE_RUN_COMPLETED);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 4);
    /* Too many fire times: refused whole, nothing taken. */
    ASSERT_EQ(ttai_schedule_backfill(eng, NS, "hourly", utc(2024, 7, 6, 0, 0) / 1000,
                                     utc(2025, 12, 31, 0, 0) / 1000, "allow_all", &n, &existing,
                                     &err), TTAI_EINVAL);
    ASSERT(strstr(err.msg, "nothing was taken") != NULL);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 4);
    ASSERT_EQ(run_status(eng, "hourly", utc(2024, 7, 6, 0, 0)), -1);
    /* max_actions 5: one more fire, then none; a trigger is refused. */
    ASSERT_OK(ttai_testenv_advance(env, 5 * 3600 * 1000), &err);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 5);
    ASSERT_EQ(ttai_schedule_trigger(eng, NS, "hourly", &err), TTAI_EINVAL);
    ASSERT(strstr(err.msg, "no actions left") != NULL);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 5);
    /* Update: a new spec keeps the counters; delete removes it. An update
     * and a pause are changes: updated_ms says when (half an hour after
     * the last fire, so that no fire could have set it). */
    ASSERT_OK(ttai_testenv_advance(env, 30 * 60 * 1000), &err);
    json_t *up = parse("{\"spec\": {\"cron\": \"0 12 * * *\"}, \"max_actions\": 7}");
    ASSERT_OK(ttai_schedule_update(eng, NS, "hourly", up, &err), &err);
    json_decref(up);
    ASSERT_EQ(state_int(eng, "hourly", "updated_ms"), ttai_testenv_now(env));
    ASSERT_OK(ttai_testenv_advance(env, 60 * 1000), &err);
    ASSERT_OK(ttai_schedule_pause(eng, NS, "hourly", true, "a note", &err), &err);
    ASSERT_EQ(state_int(eng, "hourly", "updated_ms"), ttai_testenv_now(env));
    ASSERT_OK(ttai_testenv_advance(env, 60 * 1000), &err);
    ASSERT_OK(ttai_schedule_pause(eng, NS, "hourly", false, NULL, &err), &err);
    ASSERT_EQ(state_int(eng, "hourly", "updated_ms"), ttai_testenv_now(env));
    ASSERT_OK(ttai_testenv_advance(env, 24 * 3600 * 1000), &err);
    ASSERT_EQ(state_int(eng, "hourly", "actions"), 6);
    json_t *list;
    ASSERT_OK(ttai_schedule_list(eng, NS, &list, &err), &err);
    ASSERT_EQ(json_array_size(list), 1);
    json_decref(list);
    ASSERT_OK(ttai_schedule_delete(eng, NS, "hourly", &err), &err);
    ASSERT_EQ(ttai_schedule_describe(eng, NS, "hourly", &d, &err), TTAI_ENOTFOUND);
    ASSERT_OK(ttai_testenv_restart(env, &err), &err);
    eng = ttai_testenv_engine(env);
    ASSERT_EQ(ttai_schedule_delete(eng, NS, "hourly", &err), TTAI_ENOTFOUND);
    ttai_testenv_close(env);
}

static void refused(struct ttai_engine *eng, const char *def, int rc, const char *needle)
{
    json_t *j = parse(def);
    struct ttai_err e = {0};
    ASSERT_EQ(ttai_schedule_create(eng, NS, "bad", j, &e), rc);
    if (strstr(e.msg, needle) == NULL) {
        fprintf(stderr, "FAIL: '%s' does not say '%s'\n", e.msg, needle);
        exit(1);
    }
    json_decref(j);
}

static void test_refused(const char *dir)
{
    struct ttai_testenv *env = env_open(dir, utc(2026, 8, 3, 0, 0));
    struct ttai_engine *eng = ttai_testenv_engine(env);
    refused(eng, "{\"spec\": {\"cron\": \"0 25 * * *\"}, \"action\": {\"workflow_type\": "
            "\"job\"}}", TTAI_EINVAL, "hour");
    refused(eng, "{\"spec\": {\"cron\": \"0 1 * * *\", \"timezone\": \"Mars/Olympus\"}, "
            "\"action\": {\"workflow_type\": \"job\"}}", TTAI_ENOTFOUND, "Mars/Olympus");
    refused(eng, "{\"spec\": {\"cron\": \"0 1 * * *\"}, \"action\": {\"workflow_type\": "
            "\"nope\"}}", TTAI_ENOTFOUND, "nope");
    refused(eng, "{\"spec\": {\"cron\": \"0 1 * * *\"}, \"action\": {\"workflow_type\": "
            "\"job\"}, \"policies\": {\"overlap\": \"sometimes\"}}", TTAI_EINVAL, "overlap");
    refused(eng, "{\"action\": {\"workflow_type\": \"job\"}}", TTAI_EINVAL, "spec.cron");
    /* Specs that match no date: a schedule of them would never fire. */
    refused(eng, "{\"spec\": {\"cron\": \"0 0 30 2 *\"}, \"action\": {\"workflow_type\": "
            "\"job\"}}", TTAI_EINVAL, "would never fire");
    refused(eng, "{\"spec\": {\"cron\": \"0 12 25 12 *\", \"calendar\": \"XNYS\", \"timezone\": "
            "\"America/New_York\"}, \"action\": {\"workflow_type\": \"job\"}}", TTAI_EINVAL,
            "'0 12 25 12 *' matches no date in the next 100 years");
    create(eng, "dup", "{\"spec\": {\"cron\": \"0 1 * * *\"}, \"action\": {\"workflow_type\": "
           "\"job\"}}");
    json_t *j = parse("{\"spec\": {\"cron\": \"0 1 * * *\"}, \"action\": {\"workflow_type\": "
                      "\"job\"}}");
    ASSERT_EQ(ttai_schedule_create(eng, NS, "dup", j, &err), TTAI_EEXIST);
    json_decref(j);
    /* An update to such a spec is refused and leaves the schedule as it was. */
    j = parse("{\"spec\": {\"cron\": \"0 0 31 4 *\"}}");
    ASSERT_EQ(ttai_schedule_update(eng, NS, "dup", j, &err), TTAI_EINVAL);
    ASSERT(strstr(err.msg, "would never fire") != NULL);
    json_decref(j);
    json_t *d = describe(eng, "dup");
    char *text = json_dumps(d, JSON_COMPACT);
    ASSERT(text != NULL && strstr(text, "\"0 1 * * *\"") != NULL && strstr(text, "0 0 31 4") == NULL);
    free(text);
    json_decref(d);
    json_t *list;
    ASSERT_OK(ttai_schedule_list(eng, NS, &list, &err), &err);
    ASSERT_EQ(json_array_size(list), 1); /* nothing of the refused ones */
    json_decref(list);
    ttai_testenv_close(env);
}

int main(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char root[512], dir[600];
    snprintf(root, sizeof(root), "%s/ttai-schedules-XXXXXX", base);
    ASSERT(mkdtemp(root) != NULL);
    void (*tests[])(const char *) = {test_seed_schedules, test_overlap, test_catchup_and_restart,
                                     test_controls, test_refused};
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        snprintf(dir, sizeof(dir), "%s/%zu", root, i);
        tests[i](dir);
    }
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ASSERT(system(cmd) == 0);
    printf("ok schedules\n");
    return 0;
}
