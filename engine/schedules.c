/* schedules.c: durable cron schedules (schedules.h).
 *
 * Every schedule lives in memory as its record, a JSON object
 *   {"def": {spec, action, policies, start_at, end_at, max_actions},
 *    "state": {paused, note, last_nominal_s, remaining, actions,
 *              skipped_overlap, missed_catchup, buffered, running, recent,
 *              created_ms, updated_ms}}
 * stored as msgpack in the store's schedule table. The engine's poll loop
 * calls eng_scheds_poll(), which fires the schedules that are due; it takes
 * the lock with trylock so that an API call in progress (a trigger waits
 * for its start to be durable) never stalls the engine thread.
 *
 * Locking: `mu` protects the table. Engine calls (start, cancel, describe)
 * are made with mu held and take the engine lock inside: the order is
 * always mu, then the engine lock. The engine tells of closed runs through
 * an atomic flag only (eng_scheds_note_closed), never by taking mu.
 */
#include "engine_int.h"
#include "schedule_spec.h"
#include "schedules.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define BACKFILL_MAX 10000
#define MISSED_WALK_MAX 1000000   /* fires counted one by one after an outage */

struct sched {
    char *ns, *id;
    json_t *rec;                     /* {"def": ..., "state": ...} */
    struct eng_sched_spec *spec;
    int64_t wake_ms;                 /* INT64_MAX: nothing to do until an event */
};

struct eng_scheds {
    struct ttai_engine *eng;
    pthread_mutex_t mu;
    struct sched *items;             /* sorted by (ns, id) */
    size_t count, cap;
    int closed_seen;                 /* atomic: a run closed since the last poll */
};

static const char *const overlap_names[] = {"skip", "buffer_one", "buffer_all",
                                            "cancel_other", "terminate_other", "allow_all"};
enum { OV_SKIP, OV_BUFFER_ONE, OV_BUFFER_ALL, OV_CANCEL_OTHER, OV_TERMINATE_OTHER, OV_ALLOW_ALL };

static int overlap_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(overlap_names) / sizeof(overlap_names[0]); i++)
        if (strcmp(name, overlap_names[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- Small JSON helpers -------------------------------------------------------- */

static json_t *obj(const json_t *o, const char *key) { return json_object_get(o, key); }
static json_t *def_of(const struct sched *s) { return obj(s->rec, "def"); }
static json_t *state_of(const struct sched *s) { return obj(s->rec, "state"); }

static int64_t get_i64(const json_t *o, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static void set_i64(json_t *o, const char *key, int64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void bump(json_t *state, const char *key) { set_i64(state, key, get_i64(state, key, 0) + 1); }

static const char *get_str(const json_t *o, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL ? v : dflt;
}

static int64_t time_field(const json_t *def, const char *key)
{
    int64_t t = 0;
    const char *text = get_str(def, key, NULL);
    if (text != NULL && eng_rfc3339_parse(text, &t, NULL) != 0)
        t = 0;
    return t;
}

/* ---- Definitions ----------------------------------------------------------------- */

/* Checks a (merged) definition and builds its spec. */
static int def_check(struct ttai_engine *eng, json_t *def, struct eng_sched_spec **spec_out,
                     struct ttai_err *err)
{
    json_t *spec = obj(def, "spec"), *action = obj(def, "action"), *pol = obj(def, "policies");
    if (!json_is_object(spec) || !json_is_string(obj(spec, "cron")))
        return ttai_errf(err, TTAI_EINVAL, "schedule: spec.cron is required (a cron string)");
    const char *names[] = {"timezone", "dst_gap", "dst_repeat", "calendar"};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = obj(spec, names[i]);
        if (v != NULL && !json_is_null(v) && !json_is_string(v))
            return ttai_errf(err, TTAI_EINVAL, "schedule: spec.%s must be a string", names[i]);
    }
    struct eng_sched_spec_text text = {get_str(spec, "cron", NULL), get_str(spec, "timezone", NULL),
                                       get_str(spec, "dst_gap", NULL),
                                       get_str(spec, "dst_repeat", NULL),
                                       get_str(spec, "calendar", NULL)};
    if (!json_is_object(action) || !json_is_string(obj(action, "workflow_type")))
        return ttai_errf(err, TTAI_EINVAL, "schedule: action.workflow_type is required");
    const char *type = get_str(action, "workflow_type", "");
    if (eng_find_workflow(eng->registry, type) == NULL)
        return ttai_errf(err, TTAI_ENOTFOUND, "schedule: unknown workflow type '%s'", type);
    if (pol != NULL && !json_is_object(pol))
        return ttai_errf(err, TTAI_EINVAL, "schedule: policies must be an object");
    json_t *ov = obj(pol, "overlap");
    if (ov != NULL && (!json_is_string(ov) || overlap_parse(json_string_value(ov)) < 0))
        return ttai_errf(err, TTAI_EINVAL, "schedule: policies.overlap must be one of skip, "
                         "buffer_one, buffer_all, cancel_other, terminate_other, allow_all");
    json_t *cw = obj(pol, "catchup_window_s");
    if (cw != NULL && (!json_is_integer(cw) || json_integer_value(cw) < 0))
        return ttai_errf(err, TTAI_EINVAL, "schedule: policies.catchup_window_s must be an "
                         "integer >= 0");
    const char *times[] = {"start_at", "end_at"};
    int64_t bounds[2];
    bool given[2];
    for (size_t i = 0; i < 2; i++) {
        json_t *v = obj(def, times[i]);
        given[i] = v != NULL && !json_is_null(v);
        if (given[i] &&
            (!json_is_string(v) || eng_rfc3339_parse(json_string_value(v), &bounds[i], err) != 0))
            return ttai_errf(err, TTAI_EINVAL, "schedule: %s must be an RFC 3339 time",
                             times[i]);
    }
    if (given[0] && given[1] && bounds[0] > bounds[1])
        return ttai_errf(err, TTAI_EINVAL, "schedule: start_at is after end_at");
    json_t *ma = obj(def, "max_actions");
    if (ma != NULL && !json_is_null(ma) && (!json_is_integer(ma) || json_integer_value(ma) < 1))
        return ttai_errf(err, TTAI_EINVAL, "schedule: max_actions must be an integer >= 1");
    return eng_sched_spec_new(spec_out, &text, err);
}

/* A spec that matches no date (0 0 30 2 *, 25 December on XNYS) makes a
 * schedule that never fires: refused when a schedule is made or changed,
 * not when one is loaded (what is stored stays readable). */
static int spec_fires_check(struct ttai_engine *eng, const json_t *def,
                            const struct eng_sched_spec *spec, struct ttai_err *err)
{
    int64_t next_s;
    if (eng_sched_spec_next(spec, eng_now_ms(eng) / 1000, &next_s) == 0)
        return 0;
    return ttai_errf(err, TTAI_EINVAL,
                     "schedule: spec.cron '%s' matches no date in the next %d years (with its "
                     "time zone and calendar): the schedule would never fire",
                     get_str(obj(def, "spec"), "cron", ""), ENG_SCHED_HORIZON_YEARS);
}

/* The definition members of a request, merged over base (NULL: none). */
static json_t *def_merge(const json_t *base, const json_t *req)
{
    json_t *def = base ? json_deep_copy(base) : json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)req, key, v) {
        if (strcmp(key, "paused") == 0 || strcmp(key, "note") == 0)
            continue; /* state, not definition */
        json_t *cur = obj(def, key);
        if (json_is_object(cur) && json_is_object(v))
            json_object_update(cur, v);
        else
            json_object_set(def, key, v);
    }
    return def;
}

/* ---- Records ---------------------------------------------------------------------- */

static int record_save(struct eng_scheds *ss, const struct sched *s, struct ttai_err *err)
{
    char *text = json_dumps(s->rec, JSON_COMPACT);
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    int rc = text ? ttai_payload_from_json(text, strlen(text), &buf, err)
                  : ttai_errf(err, TTAI_ENOMEM, "out of memory");
    free(text);
    struct store_batch *b = rc == 0 ? store_batch_new() : NULL;
    if (rc == 0 && b == NULL)
        rc = ttai_errf(err, TTAI_ENOMEM, "out of memory");
    if (rc == 0)
        rc = store_batch_put_schedule(b, s->ns, s->id, ttai_buf_payload(&buf).data,
                                      ttai_buf_payload(&buf).len);
    if (rc == 0)
        rc = store_commit(ss->eng->store, b, err);
    store_batch_free(b);
    ttai_buf_release(&buf);
    return rc;
}

static void sched_release(struct sched *s)
{
    ttai_free(s->ns);
    ttai_free(s->id);
    json_decref(s->rec);
    eng_sched_spec_free(s->spec);
}

static struct sched *find(struct eng_scheds *ss, const char *ns, const char *id, size_t *pos)
{
    size_t lo = 0, hi = ss->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ss->items[mid].ns, ns);
        if (c == 0)
            c = strcmp(ss->items[mid].id, id);
        if (c == 0) {
            *pos = mid;
            return &ss->items[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return NULL;
}

static struct sched *insert(struct eng_scheds *ss, size_t pos, const char *ns, const char *id)
{
    if (ss->count == ss->cap) {
        size_t cap = ss->cap ? ss->cap * 2 : 16;
        struct sched *grown = ttai_realloc(ss->items, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        ss->items = grown;
        ss->cap = cap;
    }
    memmove(ss->items + pos + 1, ss->items + pos, (ss->count - pos) * sizeof(*ss->items));
    ss->count++;
    struct sched *s = &ss->items[pos];
    memset(s, 0, sizeof(*s));
    s->ns = ttai_strndup(ns, strlen(ns));
    s->id = ttai_strndup(id, strlen(id));
    s->wake_ms = INT64_MAX;
    return s;
}

static void erase(struct eng_scheds *ss, size_t pos)
{
    sched_release(&ss->items[pos]);
    memmove(ss->items + pos, ss->items + pos + 1, (ss->count - pos - 1) * sizeof(*ss->items));
    ss->count--;
}

/* ---- Firing ------------------------------------------------------------------------- */

/* The next fire time after after_s within start/end, or INT64_MAX. */
static int64_t next_fire(const struct sched *s, int64_t after_s)
{
    json_t *def = def_of(s);
    int64_t start = time_field(def, "start_at"), end = time_field(def, "end_at");
    if (start > 0 && after_s < start - 1)
        after_s = start - 1;
    int64_t next;
    if (eng_sched_spec_next(s->spec, after_s, &next) != 0 || (end > 0 && next > end))
        return INT64_MAX;
    return next;
}

static void workflow_id_of(const struct sched *s, int64_t nominal_s, char *out, size_t size)
{
    char when[ENG_RFC3339_TEXT];
    snprintf(out, size, "%s-%s", s->id, eng_rfc3339_format(nominal_s, when, sizeof(when)));
}

static void recent_push(struct sched *s, int64_t nominal_s, int64_t now_ms, const char *wid,
                        const char *outcome)
{
    json_t *recent = obj(state_of(s), "recent");
    char when[ENG_RFC3339_TEXT], at[ENG_RFC3339_TEXT];
    json_array_append_new(recent, json_pack("{s:s, s:s, s:s, s:s}",
        "nominal_time", eng_rfc3339_format(nominal_s, when, sizeof(when)),
        "actual_time", eng_rfc3339_format(now_ms / 1000, at, sizeof(at)),
        "workflow_id", wid, "outcome", outcome));
    while (json_array_size(recent) > TTAI_SCHEDULE_RECENT_MAX)
        json_array_remove(recent, 0);
}

static void recent_outcome(struct sched *s, const char *wid, const char *outcome)
{
    json_t *recent = obj(state_of(s), "recent"), *a;
    size_t i;
    json_array_foreach(recent, i, a)
        if (strcmp(get_str(a, "workflow_id", ""), wid) == 0)
            json_object_set_new(a, "outcome", json_string(outcome));
}

/* Drops the runs that closed from the running list. */
static void running_refresh(struct eng_scheds *ss, struct sched *s)
{
    json_t *running = obj(state_of(s), "running");
    for (size_t i = 0; i < json_array_size(running);) {
        const char *wid = json_string_value(json_array_get(running, i));
        struct ttai_run_info info;
        struct ttai_err err;
        int rc = ttai_engine_describe(ss->eng, s->ns, wid, NULL, &info, &err);
        if (rc == 0 && info.status == STORE_RUN_RUNNING) {
            i++;
            continue;
        }
        recent_outcome(s, wid, rc == 0 ? store_run_status_name(info.status) : "unknown");
        json_array_remove(running, i);
    }
}

/* Whether wid is a run this schedule knows it started: running or recent. */
static bool wid_known(const struct sched *s, const char *wid)
{
    json_t *state = state_of(s), *a;
    size_t i;
    json_array_foreach(obj(state, "running"), i, a)
        if (strcmp(json_string_value(a), wid) == 0)
            return true;
    json_array_foreach(obj(state, "recent"), i, a)
        if (strcmp(get_str(a, "workflow_id", ""), wid) == 0)
            return true;
    return false;
}

enum action_result { ACTION_STARTED, ACTION_DUPLICATE, ACTION_FAILED, ACTION_EXHAUSTED };

/* Starts the action for nominal_s. An existing workflow of that id is
 * either this same fire started before a crash lost the record's update
 * (recovering: the fire is re-processed from the saved state, so it counts
 * once, now) or a second start of a fire time that already ran (a trigger
 * in the same second, a backfill over past fires): that one counts nothing
 * and starts nothing. */
static enum action_result start_action(struct eng_scheds *ss, struct sched *s, int64_t nominal_s,
                                       int64_t now_ms, bool recovering)
{
    json_t *state = state_of(s), *action = obj(def_of(s), "action");
    json_t *remaining = obj(state, "remaining");
    if (json_is_integer(remaining) && json_integer_value(remaining) <= 0)
        return ACTION_EXHAUSTED;
    char wid[STORE_WORKFLOW_ID_MAX + 1];
    workflow_id_of(s, nominal_s, wid, sizeof(wid));
    json_t *input = obj(action, "input");
    char *text = json_dumps(input ? input : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    struct ttai_err err = {0};
    int rc = text ? ttai_payload_from_json(text, strlen(text), &buf, &err) : TTAI_ENOMEM;
    free(text);
    struct ttai_start_opts opts = {.id_conflict = TTAI_CONFLICT_FAIL, .id_reuse = TTAI_REUSE_REJECT};
    if (rc == 0)
        rc = ttai_engine_start(ss->eng, s->ns, get_str(action, "workflow_type", ""), wid,
                               ttai_buf_payload(&buf), &opts, NULL, &err);
    ttai_buf_release(&buf);
    if (rc == TTAI_EEXIST && (!recovering || wid_known(s, wid)))
        return ACTION_DUPLICATE;
    if (rc == 0 || rc == TTAI_EEXIST) {
        bump(state, "actions");
        if (json_is_integer(remaining))
            set_i64(state, "remaining", json_integer_value(remaining) - 1);
        json_array_append_new(obj(state, "running"), json_string(wid));
        recent_push(s, nominal_s, now_ms, wid, store_run_status_name(STORE_RUN_RUNNING));
        return ACTION_STARTED;
    }
    char outcome[TTAI_ERR_MSG_MAX + 16];
    snprintf(outcome, sizeof(outcome), "start failed: %s", err.msg);
    recent_push(s, nominal_s, now_ms, wid, outcome);
    bump(state, "failed_starts");
    return ACTION_FAILED;
}

/* Takes the action for a fire under an overlap policy. */
static void take_action(struct eng_scheds *ss, struct sched *s, int64_t nominal_s, int64_t now_ms,
                        int overlap, bool recovering)
{
    json_t *state = state_of(s), *running = obj(state, "running"), *buffered = obj(state, "buffered");
    running_refresh(ss, s);
    bool busy = json_array_size(running) > 0;
    struct ttai_err err;
    switch (overlap) {
    case OV_ALLOW_ALL:
        (void)start_action(ss, s, nominal_s, now_ms, recovering);
        return;
    case OV_SKIP:
        if (busy)
            bump(state, "skipped_overlap");
        else
            (void)start_action(ss, s, nominal_s, now_ms, recovering);
        return;
    case OV_BUFFER_ONE:
    case OV_BUFFER_ALL:
        if (!busy && json_array_size(buffered) == 0)
            (void)start_action(ss, s, nominal_s, now_ms, recovering);
        else if (overlap == OV_BUFFER_ALL || json_array_size(buffered) == 0)
            json_array_append_new(buffered, json_integer((json_int_t)nominal_s));
        else
            bump(state, "skipped_overlap");
        return;
    case OV_CANCEL_OTHER:
        if (!busy) {
            (void)start_action(ss, s, nominal_s, now_ms, recovering);
            return;
        }
        /* The new run starts once the canceled ones have closed. A run
         * that closed meanwhile refuses the request: nothing to do. */
        for (size_t i = 0; i < json_array_size(running); i++)
            if (ttai_engine_cancel(ss->eng, s->ns, json_string_value(json_array_get(running, i)),
                                   NULL, "schedule overlap policy cancel_other", &err) != 0)
                continue;
        json_array_clear(buffered);
        json_array_append_new(buffered, json_integer((json_int_t)nominal_s));
        return;
    case OV_TERMINATE_OTHER:
        for (size_t i = 0; i < json_array_size(running); i++)
            if (ttai_engine_terminate(ss->eng, s->ns,
                                      json_string_value(json_array_get(running, i)), NULL,
                                      "schedule overlap policy terminate_other", &err) != 0)
                continue; /* closed meanwhile */
        running_refresh(ss, s);
        (void)start_action(ss, s, nominal_s, now_ms, recovering);
        return;
    }
}

static int overlap_of(const struct sched *s)
{
    int ov = overlap_parse(get_str(obj(def_of(s), "policies"), "overlap", "skip"));
    return ov < 0 ? OV_SKIP : ov;
}

/* Starts buffered fires while nothing runs. */
static void buffered_drain(struct eng_scheds *ss, struct sched *s, int64_t now_ms)
{
    json_t *state = state_of(s), *buffered = obj(state, "buffered");
    running_refresh(ss, s);
    while (json_array_size(buffered) > 0 && json_array_size(obj(state, "running")) == 0) {
        int64_t nominal = (int64_t)json_integer_value(json_array_get(buffered, 0));
        json_array_remove(buffered, 0);
        (void)start_action(ss, s, nominal, now_ms, true);
    }
}

static void wake_compute(struct sched *s)
{
    json_t *state = state_of(s);
    json_t *remaining = obj(state, "remaining");
    if (json_is_true(obj(state, "paused")) ||
        (json_is_integer(remaining) && json_integer_value(remaining) <= 0)) {
        s->wake_ms = INT64_MAX;
        return;
    }
    int64_t next = next_fire(s, get_i64(state, "last_nominal_s", 0));
    s->wake_ms = next == INT64_MAX ? INT64_MAX : next * 1000;
}

/* Fires every due time of s. Returns the number of fire times handled. */
static int sched_process(struct eng_scheds *ss, struct sched *s, int64_t now_ms)
{
    json_t *state = state_of(s);
    int handled = 0;
    buffered_drain(ss, s, now_ms);
    if (!json_is_true(obj(state, "paused"))) {
        int64_t window = get_i64(obj(def_of(s), "policies"), "catchup_window_s",
                                 TTAI_SCHEDULE_CATCHUP_DEFAULT_S);
        int64_t last = get_i64(state, "last_nominal_s", 0), now_s = now_ms / 1000;
        for (int walked = 0; walked < MISSED_WALK_MAX; walked++) {
            int64_t f = next_fire(s, last);
            if (f == INT64_MAX || f > now_s)
                break;
            if (now_s - f > window)
                bump(state, "missed_catchup");
            else
                take_action(ss, s, f, now_ms, overlap_of(s), true);
            last = f;
            handled++;
            json_t *remaining = obj(state, "remaining");
            if (json_is_integer(remaining) && json_integer_value(remaining) <= 0)
                break;
        }
        set_i64(state, "last_nominal_s", last);
    }
    set_i64(state, "updated_ms", now_ms);
    struct ttai_err err;
    /* Unsaved, the fires are processed again after a restart: their
     * starts find their workflows and count them once. */
    (void)record_save(ss, s, &err);
    wake_compute(s);
    return handled;
}

/* ---- Engine side ----------------------------------------------------------------------- */

int eng_scheds_open(struct ttai_engine *eng, struct eng_scheds **out, struct ttai_err *err)
{
    struct eng_scheds *ss = ttai_calloc(1, sizeof(*ss));
    if (ss == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    ss->eng = eng;
    pthread_mutex_init(&ss->mu, NULL);
    struct store_read *rd = NULL;
    int rc = store_read_begin(eng->store, &rd, err);
    struct store_iter it;
    if (rc == 0 && (rc = store_schedule_iter_init(&it, rd, NULL, err)) == 0) {
        struct store_bytes ns, id, raw;
        while (rc == 0 && store_schedule_iter_next(&it, &ns, &id, &raw, err) == 1) {
            char nsz[STORE_NS_MAX + 1], idz[STORE_SCHEDULE_ID_MAX + 1];
            snprintf(nsz, sizeof(nsz), "%.*s", (int)ns.len, (const char *)ns.data);
            snprintf(idz, sizeof(idz), "%.*s", (int)id.len, (const char *)id.data);
            char *text = ttai_payload_to_json((struct ttai_payload){raw.data, raw.len});
            json_t *rec = text ? json_loads(text, 0, NULL) : NULL;
            ttai_free(text);
            struct eng_sched_spec *spec = NULL;
            if (rec == NULL || def_check(eng, obj(rec, "def"), &spec, err) != 0) {
                /* Kept in the store; describe-less until its type is back. */
                json_decref(rec);
                continue;
            }
            size_t pos;
            (void)find(ss, nsz, idz, &pos);
            struct sched *s = insert(ss, pos, nsz, idz);
            if (s == NULL) {
                json_decref(rec);
                eng_sched_spec_free(spec);
                rc = ttai_errf(err, TTAI_ENOMEM, "out of memory loading schedules");
                break;
            }
            s->rec = rec;
            s->spec = spec;
            /* Records saved before the counter existed. */
            if (obj(state_of(s), "failed_starts") == NULL)
                set_i64(state_of(s), "failed_starts", 0);
            wake_compute(s);
            /* Runs it started may have closed while the engine was down. */
            if (json_array_size(obj(state_of(s), "running")) > 0)
                s->wake_ms = 0;
        }
        store_iter_release(&it);
    }
    store_read_end(rd);
    if (rc != 0) {
        eng_scheds_close(ss);
        return rc;
    }
    *out = ss;
    return 0;
}

void eng_scheds_close(struct eng_scheds *ss)
{
    if (ss == NULL)
        return;
    for (size_t i = 0; i < ss->count; i++)
        sched_release(&ss->items[i]);
    ttai_free(ss->items);
    pthread_mutex_destroy(&ss->mu);
    ttai_free(ss);
}

void eng_scheds_note_closed(struct eng_scheds *ss)
{
    __atomic_store_n(&ss->closed_seen, 1, __ATOMIC_RELEASE);
}

int eng_scheds_poll(struct eng_scheds *ss, int64_t now_ms, int64_t *wake_ms)
{
    *wake_ms = INT64_MAX;
    if (pthread_mutex_trylock(&ss->mu) != 0) {
        *wake_ms = now_ms + 1; /* an API call holds it: look again soon */
        return 0;
    }
    bool closed = __atomic_exchange_n(&ss->closed_seen, 0, __ATOMIC_ACQ_REL) != 0;
    int handled = 0;
    for (size_t i = 0; i < ss->count; i++) {
        struct sched *s = &ss->items[i];
        bool waiting = json_array_size(obj(state_of(s), "running")) > 0 &&
                       json_array_size(obj(state_of(s), "buffered")) > 0;
        if (s->wake_ms <= now_ms || (closed && waiting))
            handled += sched_process(ss, s, now_ms);
        else if (closed && json_array_size(obj(state_of(s), "running")) > 0)
            running_refresh(ss, s); /* keeps recent outcomes current */
        if (s->wake_ms < *wake_ms)
            *wake_ms = s->wake_ms;
    }
    pthread_mutex_unlock(&ss->mu);
    return handled;
}

/* ---- Public calls ---------------------------------------------------------------------- */

static struct eng_scheds *scheds_lock(struct ttai_engine *eng)
{
    pthread_mutex_lock(&eng->sched->mu);
    return eng->sched;
}

static int id_check(const char *ns, const char *id, struct ttai_err *err)
{
    if (ns == NULL || *ns == '\0' || strlen(ns) > STORE_NS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "schedule: bad namespace");
    if (id == NULL || *id == '\0' || strlen(id) > STORE_SCHEDULE_ID_MAX - ENG_RFC3339_TEXT)
        return ttai_errf(err, TTAI_EINVAL, "schedule: the id must have 1 to %d bytes",
                         STORE_SCHEDULE_ID_MAX - ENG_RFC3339_TEXT);
    return 0;
}

static int not_found(const char *ns, const char *id, struct ttai_err *err)
{
    return ttai_errf(err, TTAI_ENOTFOUND, "no schedule '%s' in namespace '%s'", id, ns);
}

static void state_from_request(json_t *state, const json_t *req)
{
    json_t *p = obj(req, "paused"), *note = obj(req, "note");
    if (json_is_boolean(p))
        json_object_set(state, "paused", p);
    if (json_is_string(note))
        json_object_set(state, "note", note);
}

int ttai_schedule_create(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                         const json_t *req, struct ttai_err *err)
{
    int rc = id_check(ns, schedule_id, err);
    if (rc != 0)
        return rc;
    if (!json_is_object(req))
        return ttai_errf(err, TTAI_EINVAL, "schedule: the definition must be a JSON object");
    struct eng_scheds *ss = scheds_lock(eng);
    size_t pos;
    json_t *def = NULL;
    struct eng_sched_spec *spec = NULL;
    if (find(ss, ns, schedule_id, &pos) != NULL) {
        rc = ttai_errf(err, TTAI_EEXIST, "schedule '%s' exists in namespace '%s'", schedule_id, ns);
    } else {
        def = def_merge(NULL, req);
        rc = def_check(eng, def, &spec, err);
        if (rc == 0)
            rc = spec_fires_check(eng, def, spec, err);
    }
    struct sched *s = rc == 0 ? insert(ss, pos, ns, schedule_id) : NULL;
    if (rc == 0 && s == NULL)
        rc = ttai_errf(err, TTAI_ENOMEM, "out of memory");
    if (rc == 0) {
        int64_t now = eng_now_ms(eng);
        json_t *max = obj(def, "max_actions");
        s->spec = spec;
        s->rec = json_pack("{s:o, s:{s:b, s:s, s:I, s:O, s:i, s:i, s:i, s:i, s:[], s:[], s:[], s:I, "
                           "s:I}}",
                           "def", def, "state", "paused", json_is_true(obj(req, "paused")),
                           "note", get_str(req, "note", ""), "last_nominal_s", (json_int_t)(now / 1000),
                           "remaining", json_is_integer(max) ? max : json_null(),
                           "actions", 0, "skipped_overlap", 0, "missed_catchup", 0,
                           "failed_starts", 0, "buffered", "running", "recent", "created_ms", (json_int_t)now,
                           "updated_ms", (json_int_t)now);
        def = NULL; /* the record's */
        spec = NULL;
        rc = record_save(ss, s, err);
        if (rc != 0)
            erase(ss, pos);
        else
            wake_compute(s);
    }
    json_decref(def);
    eng_sched_spec_free(spec);
    pthread_mutex_unlock(&ss->mu);
    if (rc == 0)
        eng_pool_kick(eng->pool); /* the engine thread recomputes its wake */
    return rc;
}

int ttai_schedule_update(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                         const json_t *req, struct ttai_err *err)
{
    if (!json_is_object(req))
        return ttai_errf(err, TTAI_EINVAL, "schedule: the definition must be a JSON object");
    struct eng_scheds *ss = scheds_lock(eng);
    size_t pos;
    struct sched *s = find(ss, ns, schedule_id, &pos);
    int rc = s ? 0 : not_found(ns, schedule_id, err);
    struct eng_sched_spec *spec = NULL;
    json_t *def = s ? def_merge(def_of(s), req) : NULL;
    if (rc == 0)
        rc = def_check(eng, def, &spec, err);
    if (rc == 0)
        rc = spec_fires_check(eng, def, spec, err);
    if (rc == 0) {
        json_t *old = s->rec;
        json_t *rec = json_deep_copy(s->rec);
        json_object_set_new(rec, "def", def);
        def = NULL;
        state_from_request(obj(rec, "state"), req);
        set_i64(obj(rec, "state"), "updated_ms", eng_now_ms(eng));
        if (obj(req, "max_actions") != NULL)
            json_object_set(obj(rec, "state"), "remaining", obj(obj(rec, "def"), "max_actions"));
        struct eng_sched_spec *old_spec = s->spec;
        s->rec = rec;
        s->spec = spec;
        rc = record_save(ss, s, err);
        if (rc == 0) {
            json_decref(old);
            eng_sched_spec_free(old_spec);
        } else {
            json_decref(rec);
            eng_sched_spec_free(spec);
            s->rec = old;
            s->spec = old_spec;
        }
        wake_compute(s);
    } else {
        eng_sched_spec_free(spec);
    }
    json_decref(def);
    pthread_mutex_unlock(&ss->mu);
    eng_pool_kick(eng->pool);
    return rc;
}

int ttai_schedule_delete(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                         struct ttai_err *err)
{
    struct eng_scheds *ss = scheds_lock(eng);
    size_t pos;
    struct sched *s = find(ss, ns, schedule_id, &pos);
    int rc = s ? 0 : not_found(ns, schedule_id, err);
    struct store_batch *b = NULL;
    if (rc == 0 && (b = store_batch_new()) == NULL)
        rc = ttai_errf(err, TTAI_ENOMEM, "out of memory");
    if (rc == 0)
        rc = store_batch_del_schedule(b, ns, schedule_id);
    if (rc == 0)
        rc = store_commit(eng->store, b, err);
    if (rc == 0)
        erase(ss, pos);
    store_batch_free(b);
    pthread_mutex_unlock(&ss->mu);
    return rc;
}

int ttai_schedule_pause(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                        bool paused, const char *note, struct ttai_err *err)
{
    struct eng_scheds *ss = scheds_lock(eng);
    size_t pos;
    struct sched *s = find(ss, ns, schedule_id, &pos);
    int rc = s ? 0 : not_found(ns, schedule_id, err);
    if (rc == 0) {
        json_t *state = state_of(s);
        bool was = json_is_true(obj(state, "paused"));
        json_object_set_new(state, "paused", json_boolean(paused));
        json_object_set_new(state, "note", json_string(note ? note : ""));
        /* Fires due while paused are neither run nor caught up. */
        if (was && !paused)
            set_i64(state, "last_nominal_s", eng_now_ms(eng) / 1000);
        set_i64(state, "updated_ms", eng_now_ms(eng));
        rc = record_save(ss, s, err);
        wake_compute(s);
    }
    pthread_mutex_unlock(&ss->mu);
    eng_pool_kick(eng->pool);
    return rc;
}

/* Whether the workflow of the fire at nominal_s exists (open or closed). */
static bool fire_started(struct eng_scheds *ss, const struct sched *s, int64_t nominal_s)
{
    char wid[STORE_WORKFLOW_ID_MAX + 1];
    workflow_id_of(s, nominal_s, wid, sizeof(wid));
    struct ttai_run_info info;
    struct ttai_err err;
    return ttai_engine_describe(ss->eng, s->ns, wid, NULL, &info, &err) == 0;
}

static bool exhausted(const struct sched *s)
{
    json_t *remaining = obj(state_of(s), "remaining");
    return json_is_integer(remaining) && json_integer_value(remaining) <= 0;
}

int ttai_schedule_trigger(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                          struct ttai_err *err)
{
    struct eng_scheds *ss = scheds_lock(eng);
    size_t pos;
    struct sched *s = find(ss, ns, schedule_id, &pos);
    int rc = s ? 0 : not_found(ns, schedule_id, err);
    int64_t now = eng_now_ms(eng);
    char when[ENG_RFC3339_TEXT];
    if (rc == 0 && exhausted(s))
        rc = ttai_errf(err, TTAI_EINVAL, "schedule '%s' has no actions left (max_actions)",
                       schedule_id);
    else if (rc == 0 && fire_started(ss, s, now / 1000))
        rc = ttai_errf(err, TTAI_EEXIST, "schedule '%s' already started its run for %s; "
                       "trigger again in a second", schedule_id,
                       eng_rfc3339_format(now / 1000, when, sizeof(when)));
    if (rc == 0) {
        take_action(ss, s, now / 1000, now, overlap_of(s), false);
        rc = record_save(ss, s, err);
    }
    pthread_mutex_unlock(&ss->mu);
    return rc;
}

/* Fire times in [from_s, to_s] whose runs were never started are taken
 * (under the overlap policy); those already started are left alone, so a
 * backfill over a range that ran, or ran in part, never starts a fire twice.
 * More than BACKFILL_MAX fire times is refused before anything is taken. */
int ttai_schedule_backfill(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                           int64_t from_s, int64_t to_s, const char *overlap, size_t *count_out,
                           size_t *existing_out, struct ttai_err *err)
{
    int ov = overlap ? overlap_parse(overlap) : -1;
    if (overlap != NULL && ov < 0)
        return ttai_errf(err, TTAI_EINVAL, "backfill: unknown overlap policy '%s'", overlap);
    if (to_s < from_s)
        return ttai_errf(err, TTAI_EINVAL, "backfill: the end is before the start");
    struct eng_scheds *ss = scheds_lock(eng);
    size_t pos;
    struct sched *s = find(ss, ns, schedule_id, &pos);
    int rc = s ? 0 : not_found(ns, schedule_id, err);
    size_t n = 0, existing = 0, total = 0;
    if (rc == 0) {
        for (int64_t f = next_fire(s, from_s - 1); f != INT64_MAX && f <= to_s;
             f = next_fire(s, f))
            if (++total > BACKFILL_MAX) {
                rc = ttai_errf(err, TTAI_EINVAL, "backfill: the range has more than %d fire "
                               "times; nothing was taken (split it)", BACKFILL_MAX);
                break;
            }
    }
    if (rc == 0) {
        int64_t now = eng_now_ms(eng);
        for (int64_t f = next_fire(s, from_s - 1); f != INT64_MAX && f <= to_s;
             f = next_fire(s, f)) {
            if (fire_started(ss, s, f)) {
                existing++;
                continue;
            }
            take_action(ss, s, f, now, ov >= 0 ? ov : overlap_of(s), false);
            n++;
        }
        rc = record_save(ss, s, err);
    }
    pthread_mutex_unlock(&ss->mu);
    if (count_out != NULL)
        *count_out = n;
    if (existing_out != NULL)
        *existing_out = existing;
    return rc;
}

static json_t *times_json(const struct sched *s, int64_t after_s, size_t count)
{
    json_t *out = json_array();
    char when[ENG_RFC3339_TEXT];
    for (int64_t f = next_fire(s, after_s); f != INT64_MAX && json_array_size(out) < count;
         f = next_fire(s, f))
        json_array_append_new(out, json_string(eng_rfc3339_format(f, when, sizeof(when))));
    return out;
}

int ttai_schedule_describe(struct ttai_engine *eng, const char *ns, const char *schedule_id,
                           json_t **out, struct ttai_err *err)
{
    struct eng_scheds *ss = scheds_lock(eng);
    size_t pos;
    struct sched *s = find(ss, ns, schedule_id, &pos);
    int rc = s ? 0 : not_found(ns, schedule_id, err);
    if (rc == 0) {
        running_refresh(ss, s);
        json_t *state = json_deep_copy(state_of(s));
        json_t *buffered = json_array(), *b;
        size_t i;
        char when[ENG_RFC3339_TEXT];
        json_array_foreach(obj(state, "buffered"), i, b)
            json_array_append_new(buffered, json_string(eng_rfc3339_format(
                (int64_t)json_integer_value(b), when, sizeof(when))));
        json_object_set_new(state, "buffered", buffered);
        json_object_del(state, "last_nominal_s");
        json_t *next = json_is_true(obj(state, "paused")) ? json_array()
                       : times_json(s, get_i64(state_of(s), "last_nominal_s", 0), 10);
        struct eng_sched_spec_text text;
        eng_sched_spec_get_text(s->spec, &text);
        json_t *def = json_deep_copy(def_of(s));
        json_object_set_new(def, "spec", json_pack("{s:s, s:s, s:s, s:s, s:s}",
                            "cron", text.cron, "timezone", text.tz, "dst_gap", text.dst_gap,
                            "dst_repeat", text.dst_repeat, "calendar", text.calendar));
        json_t *pol = obj(def, "policies");
        if (!json_is_object(pol))
            json_object_set_new(def, "policies", pol = json_object());
        json_object_set_new(pol, "overlap", json_string(overlap_names[overlap_of(s)]));
        set_i64(pol, "catchup_window_s", get_i64(pol, "catchup_window_s",
                                                 TTAI_SCHEDULE_CATCHUP_DEFAULT_S));
        *out = json_pack("{s:s, s:s, s:o, s:o, s:o}", "schedule_id", s->id, "namespace", s->ns,
                         "definition", def, "state", state, "next_fires", next);
    }
    pthread_mutex_unlock(&ss->mu);
    return rc;
}

int ttai_schedule_list(struct ttai_engine *eng, const char *ns, json_t **out,
                       struct ttai_err *err)
{
    (void)err;
    struct eng_scheds *ss = scheds_lock(eng);
    json_t *list = json_array();
    char when[ENG_RFC3339_TEXT];
    for (size_t i = 0; i < ss->count; i++) {
        struct sched *s = &ss->items[i];
        if (ns != NULL && strcmp(s->ns, ns) != 0)
            continue;
        json_t *state = state_of(s);
        json_t *next = s->wake_ms == INT64_MAX ? json_null()
                       : json_string(eng_rfc3339_format(s->wake_ms / 1000, when, sizeof(when)));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:I}",
            "schedule_id", s->id, "namespace", s->ns,
            "cron", get_str(obj(def_of(s), "spec"), "cron", ""),
            "workflow_type", get_str(obj(def_of(s), "action"), "workflow_type", ""),
            "paused", json_is_true(obj(state, "paused")), "next_fire", next,
            "actions", (json_int_t)get_i64(state, "actions", 0)));
    }
    pthread_mutex_unlock(&ss->mu);
    *out = list;
    return 0;
}
