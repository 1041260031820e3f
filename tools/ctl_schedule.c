/* ctl_schedule.c: the `schedule ...` command group of ttaictl.
 *
 *   ttaictl [GLOBAL FLAGS] schedule create|list|describe|update|pause|unpause|
 *                                   trigger|backfill|delete|preview [FLAGS]
 *
 * The commands that manage schedules speak the schedule routes of
 * docs/api.md; ttaictl.c parses their command line like any group's (the
 * flags fill struct ctl_args). `preview` needs no daemon: it computes the
 * fire times with the engine's own code (engine/schedule_spec.h), so what
 * it prints is what a schedule with the same spec would do.
 *
 * Values the command line can check are checked here before any request,
 * as usage errors (exit status 2) that name the flag: the cron expression,
 * the policies, numbers and times. The time zone is the daemon's to check
 * (its zoneinfo decides), except in preview, which computes locally.
 *
 * JSON output (docs/cli.md): create, update, pause, unpause, trigger and
 * describe print the schedule as ttaid describes it; list an array of
 * schedule summaries; backfill {"fire_count", "already_started"}; delete {}; preview an array
 * of fire times.
 */
#include "ctl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "schedule_spec.h"

#define PREVIEW_COUNT_DEFAULT 10
#define PREVIEW_COUNT_MAX 1000
#define REQUEST_TIMEOUT_MS 30000L
#define BACKFILL_TIMEOUT_MS 600000L  /* up to 10,000 starts, each made durable */
#define NONE "none"                  /* clears --start-time, --end-time, --max-actions */

static const char *const overlap_names[] = {"skip", "buffer_one", "buffer_all", "cancel_other",
                                            "terminate_other", "allow_all", NULL};

/* ---- Flags and commands --------------------------------------------------------- */

#define F_SCHEDULE_ID                                                                       \
    {"--schedule-id", "-s", "ID", "schedule id (required)", CTL_FIELD(schedule_id), true}
#define F_CRON(required, help) {"--cron", NULL, "EXPR", help, CTL_FIELD(cron), required}
/* The spec's other flags; DEFAULT(text) is the default create names, which
 * update leaves out (an absent flag keeps the schedule's value). */
#define F_SPEC_REST(DEFAULT)                                                                \
    {"--tz", NULL, "ZONE", "IANA time zone of the cron expression" DEFAULT(" (default: UTC)"), \
     CTL_FIELD(tz), false},                                                                 \
    {"--dst-gap", NULL, "POLICY", "wall times skipped by DST: shift" DEFAULT(" (default)") " or skip", \
     CTL_FIELD(dst_gap), false},                                                            \
    {"--dst-repeat", NULL, "POLICY", "wall times repeated by DST: once" DEFAULT(" (default)") " or twice", \
     CTL_FIELD(dst_repeat), false},                                                         \
    {"--calendar", NULL, "NAME", "fire on trading days only: XNYS" DEFAULT(" (default: none)"), \
     CTL_FIELD(calendar), false}
#define WITH_DEFAULT(text) text
#define WITHOUT_DEFAULT(text) ""
#define F_OVERLAP(help) {"--overlap", NULL, "POLICY", help, CTL_FIELD(overlap), false}
#define OVERLAP_HELP(DEFAULT)                                                               \
    "while its workflow runs: skip" DEFAULT(" (default)") ", buffer_one,\n"               \
    "                                 buffer_all, cancel_other, terminate_other, allow_all"
#define F_NOTE {"--note", NULL, "TEXT", "a note, shown by describe", CTL_FIELD(note), false}

static const struct ctl_flag create_flags[] = {
    F_SCHEDULE_ID,
    F_CRON(true, "cron expression, 5 or 6 fields or @daily etc. (required)"),
    F_SPEC_REST(WITH_DEFAULT),
    {"--workflow-type", NULL, "TYPE", "type of the workflow each fire starts (required)",
     CTL_FIELD(type), true},
    {"--input", "-i", "JSON", "the workflow's input, as JSON", CTL_FIELD(input), false},
    F_OVERLAP(OVERLAP_HELP(WITH_DEFAULT)),
    {"--catchup-window", NULL, "SECONDS",
     "how late a fire missed while ttaid was down may still run\n"
     "                                 (default: 60)",
     CTL_FIELD(catchup_window), false},
    {"--start-time", NULL, "TIME", "no fire before this RFC 3339 time", CTL_FIELD(start_time),
     false},
    {"--end-time", NULL, "TIME", "no fire after this RFC 3339 time", CTL_FIELD(end_time), false},
    {"--max-actions", NULL, "N", "stop after N actions (default: no limit)",
     CTL_FIELD(max_actions), false},
    {"--paused", NULL, NULL, "create it paused", CTL_FIELD(paused), false},
    F_NOTE,
    CTL_FLAGS_END,
};

static const struct ctl_flag update_flags[] = {
    F_SCHEDULE_ID,
    F_CRON(false, "new cron expression"),
    F_SPEC_REST(WITHOUT_DEFAULT),
    {"--workflow-type", NULL, "TYPE", "new workflow type", CTL_FIELD(type), false},
    {"--input", "-i", "JSON", "new workflow input, as JSON", CTL_FIELD(input), false},
    F_OVERLAP(OVERLAP_HELP(WITHOUT_DEFAULT)),
    {"--catchup-window", NULL, "SECONDS", "new catch-up window", CTL_FIELD(catchup_window),
     false},
    {"--start-time", NULL, "TIME", "new start (RFC 3339), or 'none'", CTL_FIELD(start_time),
     false},
    {"--end-time", NULL, "TIME", "new end (RFC 3339), or 'none'", CTL_FIELD(end_time), false},
    {"--max-actions", NULL, "N", "actions left from now on, or 'none'", CTL_FIELD(max_actions),
     false},
    F_NOTE,
    CTL_FLAGS_END,
};

static const struct ctl_flag id_flags[] = {F_SCHEDULE_ID, CTL_FLAGS_END};
static const struct ctl_flag pause_flags[] = {F_SCHEDULE_ID, F_NOTE, CTL_FLAGS_END};
static const struct ctl_flag list_flags[] = {CTL_FLAGS_END};

static const struct ctl_flag backfill_flags[] = {
    F_SCHEDULE_ID,
    {"--start-time", NULL, "TIME", "first instant of the range, RFC 3339 (required)",
     CTL_FIELD(start_time), true},
    {"--end-time", NULL, "TIME", "last instant of the range, RFC 3339 (required)",
     CTL_FIELD(end_time), true},
    F_OVERLAP("overlap policy for these fires (default: the schedule's)"),
    CTL_FLAGS_END,
};

static const struct ctl_flag preview_flags[] = {
    F_CRON(true, "cron expression, 5 or 6 fields or @daily etc. (required)"),
    F_SPEC_REST(WITH_DEFAULT),
    {"--from", NULL, "TIME", "fires after this RFC 3339 time (default: now)", CTL_FIELD(from),
     false},
    {"--count", NULL, "N", "how many fire times (default: 10, at most 1000)", CTL_FIELD(count),
     false},
    CTL_FLAGS_END,
};

static int schedule_create(const struct ctl_args *a);
static int schedule_list(const struct ctl_args *a);
static int schedule_describe(const struct ctl_args *a);
static int schedule_update(const struct ctl_args *a);
static int schedule_pause(const struct ctl_args *a);
static int schedule_unpause(const struct ctl_args *a);
static int schedule_trigger(const struct ctl_args *a);
static int schedule_backfill(const struct ctl_args *a);
static int schedule_delete(const struct ctl_args *a);
static int schedule_preview(const struct ctl_args *a);

static const struct ctl_command schedule_commands[] = {
    {"create", "create a schedule that starts a workflow on a cron spec",
     "Creates schedule --schedule-id: each fire time of --cron (read in --tz, with the\n"
     "daylight-saving policies and --calendar) starts a workflow of --workflow-type\n"
     "with --input, named \"<schedule id>-<fire time, RFC 3339 UTC>\". It fires after\n"
     "the moment of creation only (backfill covers the past).",
     create_flags, schedule_create},
    {"list", "list the namespace's schedules",
     "Lists the namespace's schedules in id order: cron, workflow type, whether\n"
     "paused, the next fire time and the number of actions. With --output json: an\n"
     "array of schedule summaries.",
     list_flags, schedule_list},
    {"describe", "print a schedule: spec, state, counters, next fires, recent actions",
     "Prints the definition of schedule --schedule-id (defaults filled in), whether it\n"
     "is paused and why, its counters (actions, fires skipped by the overlap policy,\n"
     "fires missed beyond the catch-up window), the next 10 fire times and the last\n"
     "10 actions.",
     id_flags, schedule_describe},
    {"update", "change some of a schedule's definition",
     "Changes the members given and keeps the others (the spec, action and policies\n"
     "member by member); counters and recent actions stay. --max-actions sets the\n"
     "actions left from now on. 'none' clears --start-time, --end-time and\n"
     "--max-actions.",
     update_flags, schedule_update},
    {"pause", "stop a schedule from firing, with a note",
     "Pauses schedule --schedule-id. Fires due while it is paused are neither run\n"
     "nor caught up later.",
     pause_flags, schedule_pause},
    {"unpause", "let a paused schedule fire again, with a note",
     "Unpauses schedule --schedule-id; it fires again from now on.", pause_flags,
     schedule_unpause},
    {"trigger", "take a schedule's action now",
     "Starts the schedule's workflow now (its nominal time is now, to the second),\n"
     "under the schedule's overlap policy, and prints the workflow id.",
     id_flags, schedule_trigger},
    {"backfill", "take a schedule's action for every fire time of a past range",
     "Takes the action of schedule --schedule-id for every fire time of its spec from\n"
     "--start-time to --end-time (both included), under --overlap (default: the\n"
     "schedule's), as if each had fired; at most 10,000 fire times.",
     backfill_flags, schedule_backfill},
    {"delete", "delete a schedule (its workflows go on)",
     "Deletes schedule --schedule-id. The workflows it started are not touched.", id_flags,
     schedule_delete},
    {"preview", "print the next fire times of a spec (no daemon needed)",
     "Prints the next --count fire times after --from of the spec given by --cron,\n"
     "--tz, --dst-gap, --dst-repeat and --calendar: one per line, in UTC, with the\n"
     "local wall time. With --output json: an array of \"YYYY-MM-DDTHH:MM:SSZ\".\n"
     "Needs no daemon: the engine's own code computes the times.",
     preview_flags, schedule_preview},
};

const struct ctl_group ctl_schedule_group = {
    "schedule", "create, inspect, pause, trigger and backfill schedules; preview cron specs",
    schedule_commands, sizeof(schedule_commands) / sizeof(schedule_commands[0]),
};

/* ---- Checks ---------------------------------------------------------------------- */

/* The parts of a spec given on the command line, each on its own so that
 * the message names the flag. The zone only when check_tz. */
static int spec_check(const struct ctl_args *a, bool check_tz)
{
    struct ttai_err err = {0};
    struct eng_cron cron;
    enum eng_dst_gap gap;
    enum eng_dst_repeat repeat;
    enum eng_cal_id cal;
    if (a->cron != NULL && eng_cron_parse(&cron, a->cron, &err) != 0) {
        ctl_errorf("bad value for '--cron': %s", err.msg);
        return CTL_EXIT_USAGE;
    }
    if (eng_dst_gap_parse(a->dst_gap, &gap, &err) != 0) {
        ctl_errorf("bad value '%s' for '--dst-gap' (use shift or skip)", a->dst_gap);
        return CTL_EXIT_USAGE;
    }
    if (eng_dst_repeat_parse(a->dst_repeat, &repeat, &err) != 0) {
        ctl_errorf("bad value '%s' for '--dst-repeat' (use once or twice)", a->dst_repeat);
        return CTL_EXIT_USAGE;
    }
    if (eng_cal_parse(a->calendar, &cal, &err) != 0) {
        ctl_errorf("bad value '%s' for '--calendar' (use XNYS or none)", a->calendar);
        return CTL_EXIT_USAGE;
    }
    if (check_tz) {
        struct eng_tz *tz = NULL;
        if (eng_tz_open(&tz, a->tz ? a->tz : "UTC", &err) != 0) {
            ctl_errorf("bad value for '--tz': %s", err.msg);
            return CTL_EXIT_USAGE;
        }
        eng_tz_free(tz);
    }
    return 0;
}

/* A whole number in [min, max] (or "none" when allow_none: *none set).
 * NULL text is fine and leaves *out alone. */
static int number_check(const char *flag, const char *text, long long min, long long max,
                        bool allow_none, long long *out, bool *none)
{
    if (none != NULL)
        *none = false;
    if (text == NULL)
        return 0;
    if (allow_none && strcmp(text, NONE) == 0) {
        *none = true;
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < min || n > max) {
        ctl_errorf("bad value '%s' for '%s' (use a whole number from %lld to %lld%s)", text, flag,
                   min, max, allow_none ? ", or none" : "");
        return CTL_EXIT_USAGE;
    }
    *out = n;
    return 0;
}

/* An RFC 3339 time (or "none" when allow_none). NULL text is fine. */
static int time_check(const char *flag, const char *text, bool allow_none, int64_t *out_s)
{
    if (text == NULL || (allow_none && strcmp(text, NONE) == 0))
        return 0;
    struct ttai_err err = {0};
    if (eng_rfc3339_parse(text, out_s, &err) != 0) {
        ctl_errorf("bad value for '%s': %s", flag, err.msg);
        return CTL_EXIT_USAGE;
    }
    return 0;
}

static int overlap_check(const char *value)
{
    if (value == NULL)
        return 0;
    for (const char *const *p = overlap_names; *p != NULL; p++)
        if (strcmp(value, *p) == 0)
            return 0;
    ctl_errorf("bad value '%s' for '--overlap' (use one of: skip, buffer_one, buffer_all, "
               "cancel_other, terminate_other, allow_all)", value);
    return CTL_EXIT_USAGE;
}

/* Everything create and update can check without ttaid. */
static int definition_check(const struct ctl_args *a, bool update)
{
    long long n;
    int64_t t;
    bool none;
    if (spec_check(a, false) != 0 || overlap_check(a->overlap) != 0 ||
        number_check("--catchup-window", a->catchup_window, 0, INT32_MAX, false, &n, &none) != 0 ||
        number_check("--max-actions", a->max_actions, 1, INT32_MAX, update, &n, &none) != 0 ||
        time_check("--start-time", a->start_time, update, &t) != 0 ||
        time_check("--end-time", a->end_time, update, &t) != 0)
        return CTL_EXIT_USAGE;
    return 0;
}

/* ---- Requests -------------------------------------------------------------------- */

static int set_string(json_t *o, const char *key, const char *value)
{
    return value == NULL ? 0 : json_object_set_new(o, key, json_string(value));
}

/* Adds member `key` = sub when sub has members; takes sub. */
static int set_nonempty(json_t *o, const char *key, json_t *sub)
{
    if (sub == NULL)
        return -1;
    if (json_object_size(sub) == 0) {
        json_decref(sub);
        return 0;
    }
    return json_object_set_new(o, key, sub);
}

/* A time or a number that "none" clears (null). */
static int set_clearable(json_t *o, const char *key, const char *value, bool number)
{
    if (value == NULL)
        return 0;
    if (strcmp(value, NONE) == 0)
        return json_object_set_new(o, key, json_null());
    return number ? json_object_set_new(o, key, json_integer(strtoll(value, NULL, 10)))
                  : json_object_set_new(o, key, json_string(value));
}

/* The definition members of the flags given (docs/api.md), or NULL when
 * out of memory. The values were checked by definition_check(). */
static json_t *definition_body(const struct ctl_args *a)
{
    json_t *body = json_object(), *spec = json_object(), *action = json_object(),
           *policies = json_object();
    int rc = body == NULL ? -1 : 0;
    rc |= set_string(spec, "cron", a->cron) | set_string(spec, "timezone", a->tz) |
          set_string(spec, "dst_gap", a->dst_gap) | set_string(spec, "dst_repeat", a->dst_repeat) |
          set_string(spec, "calendar", a->calendar);
    rc |= set_string(action, "workflow_type", a->type);
    if (a->input != NULL)
        rc |= json_object_set_new(action, "input", json_loads(a->input, JSON_DECODE_ANY, NULL));
    rc |= set_string(policies, "overlap", a->overlap);
    if (a->catchup_window != NULL)
        rc |= json_object_set_new(policies, "catchup_window_s",
                                  json_integer(strtoll(a->catchup_window, NULL, 10)));
    rc |= set_nonempty(body, "spec", spec) | set_nonempty(body, "action", action) |
          set_nonempty(body, "policies", policies);
    rc |= set_clearable(body, "start_at", a->start_time, false) |
          set_clearable(body, "end_at", a->end_time, false) |
          set_clearable(body, "max_actions", a->max_actions, true);
    if (a->paused)
        rc |= json_object_set_new(body, "paused", json_true());
    rc |= set_string(body, "note", a->note);
    if (rc != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* Sends METHOD path (freed) with body (taken; may be NULL) and checks that
 * the answer is an object. */
static int call(const struct ctl_args *a, const char *method, char *path, json_t *body,
                long timeout_ms, struct ctl_reply *reply)
{
    reply->status = 0;
    reply->body = NULL;
    if (path == NULL) {
        json_decref(body);
        return ctl_request_unbuildable();
    }
    int rc = ctl_http_call(a, method, path, body, timeout_ms, reply);
    ttai_free(path);
    json_decref(body);
    if (rc == 0 && !json_is_object(reply->body)) {
        ctl_errorf("ttaid answered with something that is not a JSON object");
        ctl_reply_release(reply);
        rc = CTL_EXIT_SERVER;
    }
    return rc;
}

static int print_json(const json_t *v)
{
    return ctl_json_print(v) == 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

/* ---- Tables -------------------------------------------------------------------------- */

/* A member of o by path "a.b", or NULL. */
static json_t *member(const json_t *o, const char *outer, const char *key)
{
    return json_object_get(outer ? json_object_get(o, outer) : o, key);
}

static void row_add(struct ctl_table *t, const char *label, const char *value)
{
    const char *cells[2] = {label, value && value[0] ? value : "-"};
    (void)ctl_table_add(t, cells); /* out of memory: the row is left out */
}

static void row_json(struct ctl_table *t, const char *label, const json_t *v)
{
    char *text = ctl_json_cell(v);
    row_add(t, label, text);
    ttai_free(text);
}

/* A list of strings as "a, b, c" ("-" when empty). */
static void row_list(struct ctl_table *t, const char *label, const json_t *list)
{
    char text[1024] = "";
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof(text) - used, "%s%s", i ? ", " : "",
                 json_is_string(v) ? json_string_value(v) : "?");
    }
    row_add(t, label, text);
}

static void row_ms(struct ctl_table *t, const char *label, const json_t *ms)
{
    char text[40] = "";
    if (json_is_integer(ms))
        ttai_time_format((int64_t)json_integer_value(ms), text, sizeof(text));
    row_add(t, label, text);
}

static void describe_table(const json_t *s)
{
    const json_t *def = json_object_get(s, "definition"), *state = json_object_get(s, "state");
    struct ctl_table t;
    ctl_table_init(&t, 2);
    row_json(&t, "Schedule ID", json_object_get(s, "schedule_id"));
    row_json(&t, "Namespace", json_object_get(s, "namespace"));
    row_json(&t, "Cron", member(def, "spec", "cron"));
    row_json(&t, "Time zone", member(def, "spec", "timezone"));
    row_json(&t, "DST gap", member(def, "spec", "dst_gap"));
    row_json(&t, "DST repeat", member(def, "spec", "dst_repeat"));
    row_json(&t, "Calendar", member(def, "spec", "calendar"));
    row_json(&t, "Workflow type", member(def, "action", "workflow_type"));
    char *input = member(def, "action", "input")
                      ? json_dumps(member(def, "action", "input"), JSON_COMPACT | JSON_ENCODE_ANY)
                      : NULL;
    row_add(&t, "Input", input);
    free(input); /* jansson's allocation */
    row_json(&t, "Overlap", member(def, "policies", "overlap"));
    char window[32] = "";
    if (json_is_integer(member(def, "policies", "catchup_window_s")))
        snprintf(window, sizeof(window), "%" JSON_INTEGER_FORMAT "s",
                 json_integer_value(member(def, "policies", "catchup_window_s")));
    row_add(&t, "Catch-up window", window);
    row_json(&t, "Start time", json_object_get(def, "start_at"));
    row_json(&t, "End time", json_object_get(def, "end_at"));
    row_json(&t, "Max actions", json_object_get(def, "max_actions"));
    row_add(&t, "Paused", json_is_true(json_object_get(state, "paused")) ? "yes" : "no");
    row_json(&t, "Note", json_object_get(state, "note"));
    row_json(&t, "Actions", json_object_get(state, "actions"));
    row_json(&t, "Remaining actions", json_object_get(state, "remaining"));
    row_json(&t, "Skipped (overlap)", json_object_get(state, "skipped_overlap"));
    row_json(&t, "Missed (catch-up)", json_object_get(state, "missed_catchup"));
    row_list(&t, "Running", json_object_get(state, "running"));
    row_list(&t, "Buffered", json_object_get(state, "buffered"));
    row_ms(&t, "Created", json_object_get(state, "created_ms"));
    row_ms(&t, "Updated", json_object_get(state, "updated_ms"));
    ctl_table_print(&t);
    ctl_table_release(&t);

    printf("\nNext fires:\n");
    const json_t *next = json_object_get(s, "next_fires");
    size_t i;
    json_t *v;
    json_array_foreach(next, i, v)
        printf("  %s\n", json_is_string(v) ? json_string_value(v) : "?");
    if (json_array_size(next) == 0)
        printf("  -\n");

    printf("\nRecent actions:\n");
    static const char *const keys[] = {"nominal_time", "actual_time", "workflow_id", "outcome"};
    static const char *const header[] = {"NOMINAL TIME", "ACTUAL TIME", "WORKFLOW ID", "OUTCOME"};
    ctl_objects_table_print(json_object_get(state, "recent"), keys, header, 4);
}

static void list_table(const json_t *schedules)
{
    static const char *const keys[] = {"schedule_id", "cron", "workflow_type", "paused",
                                       "next_fire", "actions"};
    static const char *const header[] = {"SCHEDULE ID", "CRON", "WORKFLOW TYPE", "PAUSED",
                                         "NEXT FIRE", "ACTIONS"};
    ctl_objects_table_print(schedules, keys, header, 6);
}

/* The schedule of an answer as JSON, or one line saying what happened. */
static int print_changed(const struct ctl_args *a, const json_t *schedule, const char *what)
{
    if (a->output == CTL_OUT_JSON)
        return print_json(schedule);
    printf("Schedule '%s' %s\n", a->schedule_id, what);
    return CTL_EXIT_OK;
}

/* ---- Commands ------------------------------------------------------------------------ */

static int schedule_create(const struct ctl_args *a)
{
    if (definition_check(a, false) != 0)
        return CTL_EXIT_USAGE;
    json_t *body = definition_body(a);
    if (body == NULL ||
        json_object_set_new(body, "schedule_id", json_string(a->schedule_id)) != 0) {
        json_decref(body);
        return ctl_request_unbuildable();
    }
    struct ctl_reply reply;
    int rc = call(a, "POST", ctl_path(a, "/schedules"), body, REQUEST_TIMEOUT_MS, &reply);
    if (rc != 0)
        return rc;
    if (a->output == CTL_OUT_JSON) {
        rc = print_json(reply.body);
    } else {
        json_t *next = json_array_get(json_object_get(reply.body, "next_fires"), 0);
        printf("Schedule ID  %s\nNext fire    %s\n", a->schedule_id,
               json_is_string(next) ? json_string_value(next) : "-");
    }
    ctl_reply_release(&reply);
    return rc;
}

static int schedule_update(const struct ctl_args *a)
{
    if (definition_check(a, true) != 0)
        return CTL_EXIT_USAGE;
    json_t *body = definition_body(a);
    if (body == NULL)
        return ctl_request_unbuildable();
    if (json_object_size(body) == 0) {
        json_decref(body);
        ctl_errorf("'schedule update' needs a change (--cron, --workflow-type, --overlap, ...); "
                   "see '" CTL_PROG " schedule update --help'");
        return CTL_EXIT_USAGE;
    }
    struct ctl_reply reply;
    int rc = call(a, "POST", ctl_path(a, "/schedules/%s/update", a->schedule_id), body,
                  REQUEST_TIMEOUT_MS, &reply);
    if (rc == 0)
        rc = print_changed(a, reply.body, "updated");
    ctl_reply_release(&reply);
    return rc;
}

static int schedule_list(const struct ctl_args *a)
{
    struct ctl_reply reply;
    int rc = call(a, "GET", ctl_path(a, "/schedules"), NULL, REQUEST_TIMEOUT_MS, &reply);
    if (rc != 0)
        return rc;
    json_t *schedules = json_object_get(reply.body, "schedules");
    if (!json_is_array(schedules)) {
        ctl_errorf("ttaid answered the list without a 'schedules' array");
        rc = CTL_EXIT_SERVER;
    } else if (a->output == CTL_OUT_JSON) {
        rc = print_json(schedules);
    } else {
        list_table(schedules);
    }
    ctl_reply_release(&reply);
    return rc;
}

static int schedule_describe(const struct ctl_args *a)
{
    struct ctl_reply reply;
    int rc = call(a, "GET", ctl_path(a, "/schedules/%s", a->schedule_id), NULL,
                  REQUEST_TIMEOUT_MS, &reply);
    if (rc != 0)
        return rc;
    if (a->output == CTL_OUT_JSON)
        rc = print_json(reply.body);
    else
        describe_table(reply.body);
    ctl_reply_release(&reply);
    return rc;
}

static int pause_call(const struct ctl_args *a, const char *route, const char *what)
{
    json_t *body = json_object();
    if (body == NULL || set_string(body, "note", a->note) != 0) {
        json_decref(body);
        return ctl_request_unbuildable();
    }
    struct ctl_reply reply;
    int rc = call(a, "POST", ctl_path(a, route, a->schedule_id), body, REQUEST_TIMEOUT_MS,
                  &reply);
    if (rc == 0)
        rc = print_changed(a, reply.body, what);
    ctl_reply_release(&reply);
    return rc;
}

static int schedule_pause(const struct ctl_args *a)
{
    return pause_call(a, "/schedules/%s/pause", "paused");
}

static int schedule_unpause(const struct ctl_args *a)
{
    return pause_call(a, "/schedules/%s/unpause", "unpaused");
}

static json_int_t state_count(const json_t *schedule, const char *key)
{
    return json_integer_value(member(schedule, "state", key));
}

/* The table output names the workflow the trigger started: the actions it
 * added are the last of the recent ones. Which those are needs the counts
 * from before, hence a describe first (a scheduled fire in between shows
 * too: it is a start like the trigger's). */
static int schedule_trigger(const struct ctl_args *a)
{
    struct ctl_reply before = {0}, reply;
    int rc = 0;
    if (a->output == CTL_OUT_TABLE)
        rc = call(a, "GET", ctl_path(a, "/schedules/%s", a->schedule_id), NULL,
                  REQUEST_TIMEOUT_MS, &before);
    if (rc == 0)
        rc = call(a, "POST", ctl_path(a, "/schedules/%s/trigger", a->schedule_id), json_object(),
                  REQUEST_TIMEOUT_MS, &reply);
    if (rc != 0) {
        ctl_reply_release(&before);
        return rc;
    }
    if (a->output == CTL_OUT_JSON) {
        rc = print_json(reply.body);
    } else {
        json_int_t started =
            state_count(reply.body, "actions") - state_count(before.body, "actions");
        const json_t *recent = member(reply.body, "state", "recent");
        size_t n = json_array_size(recent);
        printf("Schedule '%s' triggered\n", a->schedule_id);
        for (size_t i = started > 0 && (size_t)started < n ? n - (size_t)started : 0;
             started > 0 && i < n; i++)
            printf("Workflow ID  %s\n",
                   json_string_value(json_object_get(json_array_get(recent, i), "workflow_id")));
        if (started <= 0)
            printf("No workflow started: the overlap policy (%s) skipped or buffered the action\n",
                   json_string_value(member(json_object_get(reply.body, "definition"), "policies",
                                            "overlap")));
    }
    ctl_reply_release(&before);
    ctl_reply_release(&reply);
    return rc;
}

static int schedule_backfill(const struct ctl_args *a)
{
    int64_t from_s = 0, to_s = 0;
    if (time_check("--start-time", a->start_time, false, &from_s) != 0 ||
        time_check("--end-time", a->end_time, false, &to_s) != 0 || overlap_check(a->overlap) != 0)
        return CTL_EXIT_USAGE;
    if (to_s < from_s) {
        ctl_errorf("'--end-time' is before '--start-time'");
        return CTL_EXIT_USAGE;
    }
    json_t *body = json_pack("{s:s, s:s}", "start_time", a->start_time, "end_time", a->end_time);
    if (body == NULL || set_string(body, "overlap", a->overlap) != 0) {
        json_decref(body);
        return ctl_request_unbuildable();
    }
    struct ctl_reply reply;
    int rc = call(a, "POST", ctl_path(a, "/schedules/%s/backfill", a->schedule_id), body,
                  BACKFILL_TIMEOUT_MS, &reply);
    if (rc != 0)
        return rc;
    if (a->output == CTL_OUT_JSON)
        rc = print_json(reply.body);
    else
        printf("Schedule '%s' backfilled: %" JSON_INTEGER_FORMAT " fire times taken, %"
               JSON_INTEGER_FORMAT " already started\n", a->schedule_id,
               json_integer_value(json_object_get(reply.body, "fire_count")),
               json_integer_value(json_object_get(reply.body, "already_started")));
    ctl_reply_release(&reply);
    return rc;
}

static int schedule_delete(const struct ctl_args *a)
{
    struct ctl_reply reply;
    int rc = call(a, "DELETE", ctl_path(a, "/schedules/%s", a->schedule_id), NULL,
                  REQUEST_TIMEOUT_MS, &reply);
    if (rc == 0)
        rc = print_changed(a, reply.body, "deleted");
    ctl_reply_release(&reply);
    return rc;
}

/* ---- preview ------------------------------------------------------------------- */

static int preview_count(const struct ctl_args *a, size_t *count)
{
    long long n = PREVIEW_COUNT_DEFAULT;
    if (a->count != NULL && number_check("--count", a->count, 1, PREVIEW_COUNT_MAX, false, &n,
                                         NULL) != 0)
        return CTL_EXIT_USAGE;
    *count = (size_t)n;
    return 0;
}

/* "Sun 2026-03-08 03:00:00 EDT (-04:00)" */
static void local_format(const struct eng_tz *tz, int64_t time_s, char *buf, size_t size)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    struct eng_tz_local l;
    eng_tz_to_local(tz, time_s, &l);
    int32_t off = l.offset_s < 0 ? -l.offset_s : l.offset_s;
    snprintf(buf, size, "%s %04d-%02d-%02d %02d:%02d:%02d %s (%c%02d:%02d)", days[l.weekday],
             l.year, l.month, l.day, l.hour, l.minute, l.second, l.abbr,
             l.offset_s < 0 ? '-' : '+', (int)(off / 3600), (int)(off / 60 % 60));
}

static int preview_print(const struct ctl_args *a, const struct eng_sched_spec *spec,
                         const int64_t *fires, size_t n)
{
    char utc[ENG_RFC3339_TEXT];
    if (a->output == CTL_OUT_JSON) {
        json_t *list = json_array();
        for (size_t i = 0; list != NULL && i < n; i++)
            if (json_array_append_new(list, json_string(eng_rfc3339_format(fires[i], utc,
                                                                           sizeof(utc)))) != 0) {
                json_decref(list);
                list = NULL;
            }
        if (list == NULL)
            return ctl_request_unbuildable();
        int rc = print_json(list);
        json_decref(list);
        return rc;
    }
    const struct eng_tz *tz = eng_sched_spec_tz(spec);
    char local_header[ENG_TZ_NAME_MAX + 32];
    snprintf(local_header, sizeof(local_header), "LOCAL TIME (%s)", eng_tz_name(tz));
    struct ctl_table t;
    ctl_table_init(&t, 2);
    const char *header[2] = {"FIRE TIME (UTC)", local_header};
    (void)ctl_table_add(&t, header); /* out of memory: the row is left out */
    for (size_t i = 0; i < n; i++) {
        char local[96];
        local_format(tz, fires[i], local, sizeof(local));
        const char *cells[2] = {eng_rfc3339_format(fires[i], utc, sizeof(utc)), local};
        (void)ctl_table_add(&t, cells);
    }
    ctl_table_print(&t);
    ctl_table_release(&t);
    return CTL_EXIT_OK;
}

static int schedule_preview(const struct ctl_args *a)
{
    size_t count;
    int64_t from_s;
    struct ttai_err err = {0};
    if (spec_check(a, true) != 0 || preview_count(a, &count) != 0)
        return CTL_EXIT_USAGE;
    if (a->from == NULL) {
        int64_t now_ms = ttai_wall_ms();
        from_s = now_ms / 1000 - (now_ms % 1000 < 0);
    } else if (eng_rfc3339_parse(a->from, &from_s, &err) != 0) {
        ctl_errorf("bad value for '--from': %s", err.msg);
        return CTL_EXIT_USAGE;
    }
    const struct eng_sched_spec_text text = {a->cron, a->tz, a->dst_gap, a->dst_repeat,
                                             a->calendar};
    struct eng_sched_spec *spec = NULL;
    if (eng_sched_spec_new(&spec, &text, &err) != 0) {
        ctl_errorf("%s", err.msg);
        return CTL_EXIT_USAGE;
    }
    int64_t *fires = ttai_calloc(count, sizeof(int64_t));
    if (fires == NULL) {
        eng_sched_spec_free(spec);
        return ctl_request_unbuildable();
    }
    size_t n = eng_sched_spec_next_n(spec, from_s, fires, count);
    int status = preview_print(a, spec, fires, n);
    if (n < count && status == CTL_EXIT_OK)
        ctl_errorf("no more fire times: the spec matches no date within %d years after %s "
                   "(or before the year 10000)", ENG_SCHED_HORIZON_YEARS,
                   n == 0 ? "--from" : "the last one shown");
    ttai_free(fires);
    eng_sched_spec_free(spec);
    return status;
}
