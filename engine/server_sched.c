/* server_sched.c: the schedule routes of the API (docs/api.md, "Schedules";
 * docs/schedules.md has the semantics). Like the workflow handlers of
 * server_api.c, each runs on a worker thread with a job the loop thread
 * prepared: the engine's schedule calls take the schedules' lock and wait
 * for a durable commit (a trigger or a backfill starts workflows), which
 * the loop thread must never do.
 *
 * Definitions cross engine/schedules.h as JSON, in the shape the API
 * speaks, so the handlers pass them through. What they add is a check of
 * the request's shape before the engine call: a member the API does not
 * know ("polices", "spec.crn") is refused rather than stored, and a switch
 * or note of the wrong JSON type is refused rather than ignored. The engine
 * checks the values (cron, zone, policies, workflow type) and names the
 * field; a refused request records nothing either way.
 *
 * Answers: create, update, pause, unpause and trigger answer with the
 * schedule as describe shows it after the change; delete answers {};
 * backfill {"fire_count", "already_started"}; list {"schedules": [...]}.
 */
#include "server_int.h"

#include <stdio.h>
#include <string.h>

#include "schedule_spec.h"
#include "schedules.h"

/* ---- Request shapes ---------------------------------------------------------- */

static const char *const spec_members[] = {"cron", "timezone", "dst_gap", "dst_repeat",
                                           "calendar", NULL};
static const char *const action_members[] = {"workflow_type", "input", NULL};
static const char *const policy_members[] = {"overlap", "catchup_window_s", NULL};

/* The definition of create and update (create adds schedule_id). */
static const struct srv_member def_members[] = {
    {"spec", spec_members},   {"action", action_members}, {"policies", policy_members},
    {"start_at", NULL},       {"end_at", NULL},           {"max_actions", NULL},
    {"paused", NULL},         {"note", NULL},             {NULL, NULL},
};
static const struct srv_member create_members[] = {{"schedule_id", NULL}, {NULL, NULL}};
static const struct srv_member note_members[] = {{"note", NULL}, {NULL, NULL}};
static const struct srv_member backfill_members[] = {
    {"start_time", NULL}, {"end_time", NULL}, {"overlap", NULL}, {NULL, NULL},
};
static const struct srv_member no_members[] = {{NULL, NULL}};

/* The state members of a definition: the engine ignores them when they
 * have another type, so they are refused here. */
static bool state_members_check(struct srv_job *job, json_t *o)
{
    json_t *paused = json_object_get(o, "paused");
    if (paused != NULL && !json_is_boolean(paused)) {
        srv__job_fail(job, 400, "bad_request", "field 'paused' must be true or false");
        return false;
    }
    const char *note;
    return srv__job_field_str(job, o, "note", false, &note);
}

/* ---- Handlers -------------------------------------------------------------------- */

/* The outcomes of the recent actions name run statuses as the store does
 * ("Completed"); the API names them as everywhere else ("completed"). Other
 * outcomes ("start failed: ...") stay as they are. */
static void outcomes_normalize(json_t *described)
{
    json_t *recent = json_object_get(json_object_get(described, "state"), "recent"), *action;
    size_t i;
    json_array_foreach(recent, i, action) {
        const char *outcome = json_string_value(json_object_get(action, "outcome"));
        int status = outcome ? store_run_status_parse(outcome) : 0;
        if (status > 0)
            json_object_set_new(action, "outcome", json_string(store_run_status_text(status)));
    }
}

/* Answers with the schedule as describe shows it. */
static void reply_described(struct ttai_server *srv, struct srv_job *job, int status)
{
    json_t *d = NULL;
    struct ttai_err err = {0};
    int rc = ttai_schedule_describe(srv->eng, job->ns, job->schedule_id, &d, &err);
    if (rc != 0) {
        srv__job_reply_rc(job, rc, &err);
        return;
    }
    outcomes_normalize(d);
    srv__job_reply_obj(job, status, d);
}

static void sched_create(struct ttai_server *srv, struct srv_job *job, json_t *o)
{
    const char *id;
    if (!srv__job_field_str(job, o, "schedule_id", true, &id) ||
        !srv__members_check(job, o, def_members, create_members, NULL) ||
        !state_members_check(job, o))
        return;
    job->schedule_id = ttai_strndup(id, strlen(id));
    if (job->schedule_id == NULL) {
        srv__job_fail(job, 503, "unavailable", "out of memory");
        return;
    }
    json_object_del(o, "schedule_id"); /* the rest is the definition */
    struct ttai_err err = {0};
    int rc = ttai_schedule_create(srv->eng, job->ns, job->schedule_id, o, &err);
    if (rc != 0)
        srv__job_reply_rc(job, rc, &err);
    else
        reply_described(srv, job, 201);
}

static void sched_update(struct ttai_server *srv, struct srv_job *job, json_t *o)
{
    if (!srv__members_check(job, o, def_members, NULL, NULL) || !state_members_check(job, o))
        return;
    struct ttai_err err = {0};
    int rc = ttai_schedule_update(srv->eng, job->ns, job->schedule_id, o, &err);
    if (rc != 0)
        srv__job_reply_rc(job, rc, &err);
    else
        reply_described(srv, job, 200);
}

static void sched_pause(struct ttai_server *srv, struct srv_job *job, json_t *o, bool paused)
{
    const char *note;
    if (!srv__members_check(job, o, note_members, NULL, NULL) ||
        !srv__job_field_str(job, o, "note", false, &note))
        return;
    struct ttai_err err = {0};
    int rc = ttai_schedule_pause(srv->eng, job->ns, job->schedule_id, paused, note, &err);
    if (rc != 0)
        srv__job_reply_rc(job, rc, &err);
    else
        reply_described(srv, job, 200);
}

static void sched_trigger(struct ttai_server *srv, struct srv_job *job, json_t *o)
{
    if (!srv__members_check(job, o, no_members, NULL, NULL))
        return;
    struct ttai_err err = {0};
    int rc = ttai_schedule_trigger(srv->eng, job->ns, job->schedule_id, &err);
    if (rc != 0)
        srv__job_reply_rc(job, rc, &err);
    else
        reply_described(srv, job, 200);
}

/* A required RFC 3339 time field; false with the reply set. */
static bool field_time(struct srv_job *job, json_t *o, const char *key, int64_t *out_s)
{
    const char *text;
    if (!srv__job_field_str(job, o, key, true, &text))
        return false;
    struct ttai_err err = {0};
    if (eng_rfc3339_parse(text, out_s, &err) != 0) {
        char msg[TTAI_ERR_MSG_MAX + 64];
        snprintf(msg, sizeof(msg), "field '%s': %s", key, err.msg);
        srv__job_fail(job, 400, "bad_request", msg);
        return false;
    }
    return true;
}

static void sched_backfill(struct ttai_server *srv, struct srv_job *job, json_t *o)
{
    int64_t from_s, to_s;
    const char *overlap;
    if (!srv__members_check(job, o, backfill_members, NULL, NULL) ||
        !field_time(job, o, "start_time", &from_s) || !field_time(job, o, "end_time", &to_s) ||
        !srv__job_field_str(job, o, "overlap", false, &overlap))
        return;
    struct ttai_err err = {0};
    size_t count = 0, existing = 0;
    int rc = ttai_schedule_backfill(srv->eng, job->ns, job->schedule_id, from_s, to_s, overlap,
                                    &count, &existing, &err);
    if (rc != 0)
        srv__job_reply_rc(job, rc, &err);
    else
        srv__job_reply_obj(job, 200, json_pack("{s:I, s:I}", "fire_count", (json_int_t)count,
                                               "already_started", (json_int_t)existing));
}

static void sched_delete(struct ttai_server *srv, struct srv_job *job)
{
    struct ttai_err err = {0};
    int rc = ttai_schedule_delete(srv->eng, job->ns, job->schedule_id, &err);
    if (rc != 0)
        srv__job_reply_rc(job, rc, &err);
    else
        srv__job_reply_obj(job, 200, json_object());
}

static void sched_list(struct ttai_server *srv, struct srv_job *job)
{
    json_t *list = NULL;
    struct ttai_err err = {0};
    int rc = ttai_schedule_list(srv->eng, job->ns, &list, &err);
    if (rc != 0)
        srv__job_reply_rc(job, rc, &err);
    else
        srv__job_reply_obj(job, 200, json_pack("{s:o}", "schedules", list));
}

/* ---- Dispatch ------------------------------------------------------------------ */

void srv__sched_run(struct ttai_server *srv, struct srv_job *job)
{
    switch (job->route) {
    case R_SCHED_LIST: sched_list(srv, job); return;
    case R_SCHED_DESCRIBE: reply_described(srv, job, 200); return;
    case R_SCHED_DELETE: sched_delete(srv, job); return;
    default: break;
    }
    bool required = job->route == R_SCHED_CREATE || job->route == R_SCHED_UPDATE ||
                    job->route == R_SCHED_BACKFILL;
    json_t *o = srv__job_body(job, required);
    if (o == NULL)
        return;
    switch (job->route) {
    case R_SCHED_CREATE: sched_create(srv, job, o); break;
    case R_SCHED_UPDATE: sched_update(srv, job, o); break;
    case R_SCHED_PAUSE: sched_pause(srv, job, o, true); break;
    case R_SCHED_UNPAUSE: sched_pause(srv, job, o, false); break;
    case R_SCHED_TRIGGER: sched_trigger(srv, job, o); break;
    case R_SCHED_BACKFILL: sched_backfill(srv, job, o); break;
    default: srv__job_fail(job, 500, "internal", "unknown route"); break;
    }
    json_decref(o);
}
