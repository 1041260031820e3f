/* schedules.h: durable schedules that start workflows on a cron spec.
 *
 * A schedule is a spec (schedule_spec.h: cron, zone, daylight-saving
 * policy, trading calendar), an action (a workflow type and its input) and
 * policies (overlap, catch-up window). The engine fires it from its poll
 * loop: every nominal fire time starts the workflow
 * "<schedule id>-<nominal time, RFC 3339 UTC>" with id reuse refused, so a
 * fire never starts twice, crash or not. The schedule's state (what it has
 * processed, its counters, buffered fires, its recent actions) is one
 * record in the store, written after the fire's start is durable; a crash
 * in between re-processes the fire, whose start then finds its workflow
 * and counts it once.
 *
 * The definitions cross this interface as JSON (jansson), the form the API
 * and the command line speak; docs/schedules.md has the fields. Every call
 * is thread-safe. Errors: TTAI_EINVAL (a bad definition, with the field
 * named), TTAI_ENOTFOUND (no such schedule, or an unknown workflow type or
 * time zone), TTAI_EEXIST (create: the id is taken), storage errors.
 */
#ifndef TTAI_SCHEDULES_H
#define TTAI_SCHEDULES_H

#include <jansson.h>

#include "ttai.h"

#define TTAI_SCHEDULE_RECENT_MAX 10        /* recent actions kept */
#define TTAI_SCHEDULE_CATCHUP_DEFAULT_S 60

/* Creates a schedule from a definition object:
 *   {"spec": {"cron", "timezone", "dst_gap", "dst_repeat", "calendar"},
 *    "action": {"workflow_type", "input"},
 *    "policies": {"overlap", "catchup_window_s"},
 *    "start_at", "end_at", "max_actions", "paused", "note"}
 * Fires after the moment of creation only (backfill covers the past). */
int ttai_schedule_create(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                         const json_t *def, struct ttai_err *err) TTAI_MUST_CHECK;
/* Replaces the members given in def (the same object as create; absent
 * members keep their value). The counters and recent actions stay. */
int ttai_schedule_update(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                         const json_t *def, struct ttai_err *err) TTAI_MUST_CHECK;
/* Deletes the schedule; workflows it started go on. */
int ttai_schedule_delete(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                         struct ttai_err *err) TTAI_MUST_CHECK;
/* Pauses (no fires; those due meanwhile are neither run nor caught up) or
 * unpauses, with a note (NULL: none) that describe shows. */
int ttai_schedule_pause(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                        bool paused, const char *note, struct ttai_err *err) TTAI_MUST_CHECK;
/* Takes the action now (nominal time: now, to the second), under the
 * overlap policy. TTAI_EEXIST when this second's run was started already
 * (by a fire or an earlier trigger); TTAI_EINVAL when max_actions is used up. */
int ttai_schedule_trigger(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                          struct ttai_err *err) TTAI_MUST_CHECK;
/* Takes the action for every fire time in [from_s, to_s] (seconds since
 * the epoch) whose run was never started, under the given overlap policy
 * (NULL: the schedule's). *count_out (optional) gets the number of fire
 * times taken, *existing_out (optional) those skipped because their run
 * exists. A range of more than 10,000 fire times is refused whole. */
int ttai_schedule_backfill(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                           int64_t from_s, int64_t to_s, const char *overlap, size_t *count_out,
                           size_t *existing_out,
                           struct ttai_err *err) TTAI_MUST_CHECK;
/* The schedule: its definition, state, counters, the next 10 fire times
 * and the recent actions. *out is a new reference. */
int ttai_schedule_describe(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                           json_t **out, struct ttai_err *err) TTAI_MUST_CHECK;
/* Every schedule of ns (NULL: all), in id order, each a short object.
 * *out is a new reference to an array. */
int ttai_schedule_list(struct ttai_engine *eng, const char *ns, json_t **out,
                       struct ttai_err *err) TTAI_MUST_CHECK;

#endif /* TTAI_SCHEDULES_H */
