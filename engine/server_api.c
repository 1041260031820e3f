/* server_api.c: the API's workflow handlers (docs/api.md), and the reply
 * and body helpers the schedule handlers (server_sched.c) share. Each
 * handler runs on a worker thread with a job the loop thread prepared (path
 * segments, body, query string), calls the engine or reads the store, and
 * leaves the reply in the job. Nothing here touches libevent's request
 * objects.
 *
 * Every check that can refuse a request (JSON, fields, parameters) comes
 * before the engine call, so a refused request records nothing.
 */
#include "payload_json.h"
#include "server_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#define LIST_PAGE_DEFAULT 100
#define LIST_PAGE_MAX 1000
/* A list filtered by status and type walks one index and checks the other
 * filter in each run record: it looks at no more than this many entries
 * per workflow the page may hold, then answers a short page with a token
 * that goes on from the last entry it looked at. */
#define LIST_SCAN_PER_ITEM 20
#define HISTORY_PAGE_DEFAULT 1000
#define HISTORY_PAGE_MAX 10000

/* ---- Helpers ------------------------------------------------------------------ */

char *srv__error_body(const char *code, const char *msg)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    if (o == NULL) {
        /* The message quotes bytes that are not UTF-8 (a name from the
         * client): answer with those bytes as '?' rather than no answer. */
        char clean[TTAI_ERR_MSG_MAX];
        size_t n = 0;
        for (const char *p = msg; *p != '\0' && n + 1 < sizeof(clean); p++)
            clean[n++] = (unsigned char)*p < 0x80 ? *p : '?';
        clean[n] = '\0';
        o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", clean);
    }
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s == NULL)
        return NULL;
    char *copy = ttai_strndup(s, strlen(s));
    free(s);
    return copy;
}

int srv__status_of(int rc, const char **code)
{
    switch (rc) {
    case TTAI_ENOTFOUND: *code = "not_found"; return 404;
    case TTAI_EEXIST:
    case TTAI_ECONFLICT:
    case TTAI_ECLOSED: *code = "conflict"; return 409;
    case TTAI_EINVAL:
    case TTAI_EDECODE: *code = "bad_request"; return 400;
    case TTAI_ETOOBIG: *code = "payload_too_large"; return 413;
    case TTAI_ENONDET: *code = "nondeterminism"; return 422;
    case TTAI_ENOSPC: *code = "storage_full"; return 507; /* map limit or disk full */
    case TTAI_EFATAL:
    case TTAI_EIO:
    case TTAI_EUNAVAIL:
    case TTAI_ENOMEM:
    case TTAI_EBUSY: *code = "unavailable"; return 503;
    default: *code = "internal"; return 500;
    }
}

bool srv__query_switch(struct evhttp_request *req, const char *query, const char *key, bool *on)
{
    char *v = query ? srv__query_param(query, key) : NULL;
    *on = v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
    bool ok = v == NULL || *on || strcmp(v, "0") == 0 || strcmp(v, "false") == 0;
    ttai_free(v);
    if (!ok)
        srv__reply_error(req, 400, "bad_request", "parameter '%s' must be 1 or true (0 or false: off)",
                         key);
    return ok;
}

char *srv__query_param(const char *query, const char *key)
{
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(query, &q) != 0) {
        evhttp_clear_headers(&q);
        return NULL;
    }
    const char *v = evhttp_find_header(&q, key);
    char *copy = v ? ttai_strndup(v, strlen(v)) : NULL;
    evhttp_clear_headers(&q);
    return copy;
}

static void reply_set(struct srv_job *job, int status, char *body)
{
    ttai_free(job->reply);
    job->status = status;
    job->reply = body;
}

void srv__job_fail(struct srv_job *job, int status, const char *code, const char *msg)
{
    reply_set(job, status, srv__error_body(code, msg));
}

void srv__job_reply_rc(struct srv_job *job, int rc, const struct ttai_err *err)
{
    const char *code;
    int status = srv__status_of(rc, &code);
    if (rc == TTAI_EFATAL)
        atomic_store(&job->srv->store_failed, true);
    srv__job_fail(job, status, code, err->msg[0] ? err->msg : ttai_strerror(rc));
    const char *subject = job->workflow_id ? job->workflow_id
                          : job->schedule_id ? job->schedule_id : "";
    if (status >= 500)
        ttai_log(TTAI_LOG_WARN, "engine", "%s %s: %s", job->ns, subject,
                 err->msg[0] ? err->msg : ttai_strerror(rc));
}

void srv__job_reply_obj(struct srv_job *job, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s == NULL) {
        srv__job_fail(job, 500, "internal", "out of memory");
        return;
    }
    reply_set(job, status, ttai_strndup(s, strlen(s)));
    free(s);
}

/* A msgpack payload as JSON (new reference); null for an empty one. */
static json_t *payload_json(const uint8_t *data, size_t len)
{
    json_t *v = ttai_payload_json((struct ttai_payload){data, len});
    return v ? v : json_null();
}

static const struct srv_member *member_find(const struct srv_member *list, const char *name)
{
    for (const struct srv_member *m = list; list != NULL && m->name != NULL; m++)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

static bool name_listed(const char *const *names, const char *name)
{
    for (; *names != NULL; names++)
        if (strcmp(*names, name) == 0)
            return true;
    return false;
}

static bool unknown_field(struct srv_job *job, const char *outer, const char *name,
                          const char *why)
{
    char msg[320];
    snprintf(msg, sizeof(msg), "unknown field '%s%s%.128s'%s%s%s", outer ? outer : "",
             outer ? "." : "", name, why ? " (" : "", why ? why : "", why ? ")" : "");
    srv__job_fail(job, 400, "bad_request", msg);
    return false;
}

bool srv__members_check(struct srv_job *job, json_t *o, const struct srv_member *allowed,
                        const struct srv_member *extra, const char *why)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        const struct srv_member *m = member_find(allowed, key);
        if (m == NULL)
            m = member_find(extra, key);
        if (m == NULL)
            return unknown_field(job, NULL, key, why);
        if (m->inner == NULL || !json_is_object(v))
            continue; /* a non-object is the engine's to refuse, with its message */
        const char *inner_key;
        json_t *inner_v;
        json_object_foreach(v, inner_key, inner_v)
            if (!name_listed(m->inner, inner_key))
                return unknown_field(job, key, inner_key, why);
    }
    return true;
}

json_t *srv__job_body(struct srv_job *job, bool required)
{
    if (job->body == NULL) {
        if (!required)
            return json_object();
        srv__job_fail(job, 400, "bad_request", "a JSON object body is required");
        return NULL;
    }
    json_error_t jerr;
    /* A duplicate key is refused, not settled by its last value (which
     * one a proxy or a log reader takes differs); a NUL byte outside a
     * string is malformed JSON, not the end of the body. */
    json_t *o = json_loadb(job->body, job->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL) {
        char msg[300];
        snprintf(msg, sizeof(msg), "malformed JSON at line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        srv__job_fail(job, 400, "bad_request", msg);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        srv__job_fail(job, 400, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    return o;
}

bool srv__job_field_str(struct srv_job *job, json_t *o, const char *key, bool required,
                        const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (v == NULL || (json_is_null(v) && !required)) {
        if (!required)
            return true;
        char msg[128];
        snprintf(msg, sizeof(msg), "field '%s' is required", key);
        srv__job_fail(job, 400, "bad_request", msg);
        return false;
    }
    if (!json_is_string(v) || (required && json_string_length(v) == 0)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "field '%s' must be a%s string", key, required ? " non-empty" : "");
        srv__job_fail(job, 400, "bad_request", msg);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* An optional payload field as msgpack (nil when absent). */
static bool field_payload(struct srv_job *job, json_t *o, const char *key, struct ttai_buf *buf)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL) {
        ttai_buf_nil(buf);
        return true;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    struct ttai_err err = {0};
    int rc = s ? ttai_payload_from_json(s, strlen(s), buf, &err) : TTAI_ENOMEM;
    free(s);
    if (rc != 0) {
        char msg[400];
        snprintf(msg, sizeof(msg), "field '%s': %s", key, err.msg[0] ? err.msg : ttai_strerror(rc));
        srv__job_fail(job, rc == TTAI_ENOMEM ? 503 : 400,
                      rc == TTAI_ENOMEM ? "unavailable" : "bad_request", msg);
        return false;
    }
    return true;
}

/* An optional run id field. */
static bool field_run_id(struct srv_job *job, json_t *o, struct ttai_run_id *run, bool *has)
{
    const char *s;
    *has = false;
    if (!srv__job_field_str(job, o, "run_id", false, &s))
        return false;
    if (s == NULL)
        return true;
    if (ttai_run_id_parse(s, run) != 0) {
        srv__job_fail(job, 400, "bad_request", "field 'run_id' is not a run id");
        return false;
    }
    *has = true;
    return true;
}

/* An optional integer field of at least min (0 when absent or null); else
 * 400 "field 'KEY' must be WHAT". */
static bool field_int_min(struct srv_job *job, json_t *o, const char *key, json_int_t min,
                          const char *what, json_int_t *out)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        char msg[128];
        snprintf(msg, sizeof(msg), "field '%s' must be %s", key, what);
        srv__job_fail(job, 400, "bad_request", msg);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

static bool field_ms(struct srv_job *job, json_t *o, const char *key, int64_t *out)
{
    json_int_t v;
    bool ok = field_int_min(job, o, key, 0, "a non-negative integer", &v);
    *out = v;
    return ok;
}

/* The fields the workflow calls read. Any other is refused (400), so that
 * a misspelt option ("id_confict") is not silently a start without it. */
static const struct srv_member start_members[] = {
    {"type", NULL}, {"input", NULL}, {"id_conflict", NULL}, {"id_reuse", NULL},
    {"execution_timeout_ms", NULL}, {"run_timeout_ms", NULL}, {NULL, NULL}};
static const struct srv_member start_id_members[] = {{"id", NULL}, {NULL, NULL}};
static const struct srv_member signal_with_start_members[] = {{"signal_input", NULL},
                                                              {NULL, NULL}};
static const struct srv_member signal_members[] = {{"input", NULL}, {"run_id", NULL},
                                                   {NULL, NULL}};
static const struct srv_member query_members[] = {
    {"input", NULL}, {"run_id", NULL}, {"until_event", NULL}, {NULL, NULL}};

static bool start_opts(struct srv_job *job, json_t *o, struct ttai_start_opts *opts)
{
    static const char *const conflicts[] = {"fail", "use_existing", "terminate_existing"};
    static const char *const reuses[] = {"allow", "reject", "allow_failed_only"};
    memset(opts, 0, sizeof(*opts));
    const char *c, *r;
    if (!srv__job_field_str(job, o, "id_conflict", false, &c) || !srv__job_field_str(job, o, "id_reuse", false, &r))
        return false;
    if (c != NULL) {
        opts->id_conflict = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(c, conflicts[i]) == 0)
                opts->id_conflict = i;
        if (opts->id_conflict < 0) {
            srv__job_fail(job, 400, "bad_request",
                          "field 'id_conflict' must be fail, use_existing or terminate_existing");
            return false;
        }
    }
    if (r != NULL) {
        opts->id_reuse = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(r, reuses[i]) == 0)
                opts->id_reuse = i;
        if (opts->id_reuse < 0) {
            srv__job_fail(job, 400, "bad_request",
                          "field 'id_reuse' must be allow, reject or allow_failed_only");
            return false;
        }
    }
    return field_ms(job, o, "execution_timeout_ms", &opts->execution_timeout_ms) &&
           field_ms(job, o, "run_timeout_ms", &opts->run_timeout_ms);
}

static bool name_ok(struct srv_job *job, const char *what, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s must have 1 to %zu bytes", what, max);
        srv__job_fail(job, 400, "bad_request", msg);
        return false;
    }
    return true;
}

/* The current run of the job's workflow (zero when there is none). */
static void current_run(struct ttai_server *srv, struct srv_job *job, struct ttai_run_id *run)
{
    memset(run, 0, sizeof(*run));
    struct store_read *rd;
    if (store_read_begin(srv->store, &rd, NULL) == 0) {
        if (store_exec_get(rd, job->ns, job->workflow_id, run, NULL) != 0)
            memset(run, 0, sizeof(*run));
        store_read_end(rd);
    }
}

static void reply_ids(struct srv_job *job, int status, const char *workflow_id,
                      const struct ttai_run_id *run)
{
    char text[TTAI_RUN_ID_TEXT];
    srv__job_reply_obj(job, status, json_pack("{s:s,s:s}", "workflow_id", workflow_id, "run_id",
                                              ttai_run_id_format(run, text)));
}

/* ---- Workflow calls ------------------------------------------------------------- */

/* On the engine thread: the start made in its round (ttai_engine_start_
 * async) is durable, refused or answered without a commit. Only the
 * outcome is kept here; the loop builds the reply (srv__start_answer), so
 * that the engine thread, which finishes a whole round before it starts
 * the next, does no JSON. */
static void start_ended(void *arg, int rc, const struct ttai_run_id *run, bool started,
                        const struct ttai_err *err)
{
    struct srv_job *job = arg;
    job->start_rc = rc;
    job->start_made = started;
    if (rc == 0)
        job->start_run = *run;
    else if (err != NULL)
        job->start_err = *err;
    job->ran_ns = ttai_mono_ns();
    srv__job_back(job);
}

/* Whether the start found the run that TTAI_CONFLICT_USE_EXISTING keeps,
 * instead of making one. */
static bool start_found_existing(const struct srv_job *job)
{
    return job->start_rc == 0 && !job->start_made;
}

/* Its ids, 201 for a new run, 200 for the running one that
 * TTAI_CONFLICT_USE_EXISTING found. */
void srv__start_answer(struct srv_job *job)
{
    if (job->start_rc != 0) {
        srv__job_reply_rc(job, job->start_rc, &job->start_err);
    } else if (job->execute) {
        /* Only the status: an execute becomes a result long-poll next
         * (execute_wait), whose check replaces any body made here. */
        reply_set(job, start_found_existing(job) ? 200 : 201, NULL);
    } else {
        reply_ids(job, start_found_existing(job) ? 200 : 201, job->workflow_id,
                  &job->start_run);
    }
}

static void do_start(struct ttai_server *srv, struct srv_job *job, json_t *o)
{
    const char *type, *id;
    struct ttai_start_opts opts;
    if (!srv__members_check(job, o, start_members, start_id_members, NULL) ||
        !srv__job_field_str(job, o, "type", true, &type) || !srv__job_field_str(job, o, "id", true, &id) ||
        !name_ok(job, "workflow id", id, STORE_WORKFLOW_ID_MAX) ||
        !name_ok(job, "workflow type", type, STORE_TYPE_MAX) || !start_opts(job, o, &opts))
        return;
    struct ttai_buf in;
    ttai_buf_init(&in);
    if (field_payload(job, o, "input", &in)) {
        /* The id names the job's workflow from here on (its reply, and an
         * execute's result). */
        if (job->workflow_id == NULL && (job->workflow_id = ttai_strndup(id, strlen(id))) == NULL) {
            srv__job_fail(job, 500, "internal", "out of memory");
            ttai_buf_release(&in);
            return;
        }
        /* Made by the engine thread in its next round (a start is only
         * ever parsed on the loop); start_ended hands the job back. */
        struct ttai_err err = {0};
        /* Before the run can exist, so before any close of it is counted
         * (execute_wait). */
        job->closes_before = atomic_load(&srv->closes);
        int rc = ttai_engine_start_async(srv->eng, job->ns, type, id, ttai_buf_payload(&in), &opts,
                                         start_ended, job, &err);
        if (rc == 0) {
            job->start_queued = true;
            ttai_buf_release(&in);
            return;
        }
        srv__job_reply_rc(job, rc, &err); /* refused before the queue */
    }
    ttai_buf_release(&in);
}

static void do_signal(struct ttai_server *srv, struct srv_job *job, json_t *o)
{
    struct ttai_run_id run;
    bool has_run;
    if (!srv__members_check(job, o, signal_members, NULL, NULL) ||
        !name_ok(job, "signal name", job->name, 127) || !field_run_id(job, o, &run, &has_run))
        return;
    struct ttai_buf in;
    ttai_buf_init(&in);
    if (field_payload(job, o, "input", &in)) {
        struct ttai_err err = {0};
        int rc = ttai_engine_signal(srv->eng, job->ns, job->workflow_id, has_run ? &run : NULL,
                                    job->name, ttai_buf_payload(&in), &err);
        if (rc != 0) {
            srv__job_reply_rc(job, rc, &err);
        } else {
            if (!has_run)
                current_run(srv, job, &run);
            reply_ids(job, 200, job->workflow_id, &run);
        }
    }
    ttai_buf_release(&in);
}

static void do_signal_with_start(struct ttai_server *srv, struct srv_job *job, json_t *o)
{
    const char *type;
    struct ttai_start_opts opts;
    if (!srv__members_check(job, o, start_members, signal_with_start_members, NULL) ||
        !name_ok(job, "signal name", job->name, 127) || !srv__job_field_str(job, o, "type", true, &type) ||
        !name_ok(job, "workflow type", type, STORE_TYPE_MAX) || !start_opts(job, o, &opts))
        return;
    /* A running workflow gets the signal (use_existing, the default) or is
     * ended for a new run that gets it (terminate_existing); refusing the
     * call because the workflow runs would defeat signal-with-start, as in
     * Temporal, which refuses FAIL here too. */
    const char *conflict = json_string_value(json_object_get(o, "id_conflict"));
    if (conflict != NULL && strcmp(conflict, "fail") == 0) {
        srv__job_fail(job, 400, "bad_request",
                      "signal-with-start takes id_conflict 'use_existing' (the default: a running "
                      "workflow gets the signal) or 'terminate_existing' (it is ended and a new "
                      "run gets the signal), not 'fail'");
        return;
    }
    struct ttai_buf in, args;
    ttai_buf_init(&in);
    ttai_buf_init(&args);
    if (field_payload(job, o, "input", &in) && field_payload(job, o, "signal_input", &args)) {
        struct ttai_err err = {0};
        struct ttai_run_id run = {0};
        int rc = ttai_engine_signal_with_start(srv->eng, job->ns, type, job->workflow_id,
                                               ttai_buf_payload(&in), &opts, job->name,
                                               ttai_buf_payload(&args), &run, &err);
        if (rc != 0)
            srv__job_reply_rc(job, rc, &err);
        else
            reply_ids(job, 200, job->workflow_id, &run);
    }
    ttai_buf_release(&in);
    ttai_buf_release(&args);
}

/* An optional positive event id field (0 when absent or null). */
static bool field_event_id(struct srv_job *job, json_t *o, const char *key, uint64_t *out)
{
    json_int_t v;
    bool ok = field_int_min(job, o, key, 1, "an event id (an integer from 1)", &v);
    *out = (uint64_t)v;
    return ok;
}

/* Time travel: the query answered by a replay of the run's history up to
 * the end of the workflow task that holds event until (ttai_replay_store,
 * the code of `ttai-history replay --until`), on the engine's own code and
 * store. Read-only: nothing is journaled and the cached run is untouched. */
static int query_until(struct ttai_server *srv, struct srv_job *job, const struct ttai_run_id *run,
                       uint64_t until, struct ttai_payload args, struct ttai_buf *answer,
                       struct ttai_err *err)
{
    if (run != NULL) {
        /* ttai_replay_store takes any run id: make sure it is this workflow's. */
        struct store_read *rd;
        struct store_run rec;
        int rc = store_read_begin(srv->store, &rd, err);
        if (rc != 0)
            return rc;
        rc = store_run_get(rd, run, &rec, err);
        store_read_end(rd);
        if (rc == 0 && (strcmp(rec.ns, job->ns) != 0 || strcmp(rec.workflow_id, job->workflow_id) != 0))
            rc = TTAI_ENOTFOUND;
        if (rc != 0)
            return rc == TTAI_ENOTFOUND
                       ? ttai_errf(err, rc, "run is not a run of workflow '%s'", job->workflow_id)
                       : rc;
    }
    int rc = ttai_replay_store(srv->store, ttai_engine_registry(srv->eng), job->ns, job->workflow_id,
                               run, until, job->name, args, answer, err);
    if (rc == TTAI_ENOTFOUND && err->msg[0] == '\0')
        ttai_errf(err, rc, "workflow '%s' not found", job->workflow_id);
    return rc;
}

static void do_query(struct ttai_server *srv, struct srv_job *job, json_t *o)
{
    struct ttai_run_id run;
    bool has_run;
    uint64_t until;
    if (!srv__members_check(job, o, query_members, NULL, NULL) ||
        !name_ok(job, "query name", job->name, 127) || !field_run_id(job, o, &run, &has_run) ||
        !field_event_id(job, o, "until_event", &until))
        return;
    struct ttai_buf in, answer;
    ttai_buf_init(&in);
    ttai_buf_init(&answer);
    if (field_payload(job, o, "input", &in)) {
        struct ttai_err err = {0};
        int rc = until != 0
                     ? query_until(srv, job, has_run ? &run : NULL, until, ttai_buf_payload(&in),
                                   &answer, &err)
                     : ttai_engine_query(srv->eng, job->ns, job->workflow_id, has_run ? &run : NULL,
                                         job->name, ttai_buf_payload(&in), &answer, &err);
        if (rc != 0) {
            srv__job_reply_rc(job, rc, &err);
        } else {
            struct ttai_payload p = ttai_buf_payload(&answer);
            srv__job_reply_obj(job, 200, json_pack("{s:o}", "result", payload_json(p.data, p.len)));
        }
    }
    ttai_buf_release(&in);
    ttai_buf_release(&answer);
}

static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[40];
    return json_string(ttai_time_format(ms, buf, sizeof(buf)));
}

/* A workflow object. Takes timers (an integer, or JSON null when not
 * counted) and blocked (NULL: not blocked). */
static json_t *workflow_json(const char *ns, const char *workflow_id, const struct ttai_run_id *run,
                             const char *type, int status, int64_t start_ms, int64_t close_ms,
                             uint64_t history_length, uint32_t activities, json_t *timers,
                             json_t *blocked)
{
    char text[TTAI_RUN_ID_TEXT];
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:I,s:o,s:o}", "namespace", ns,
                     "workflow_id", workflow_id, "run_id", ttai_run_id_format(run, text), "type",
                     type, "status", store_run_status_text(status), "start_time", time_json(start_ms),
                     "close_time", status == STORE_RUN_RUNNING ? json_null() : time_json(close_ms),
                     "history_length", (json_int_t)history_length, "pending_activities",
                     (json_int_t)activities, "pending_timers", timers, "blocked",
                     blocked ? blocked : json_null());
}

/* The signal and query names the workflow's type declares, so that clients
 * (the console) can offer them; empty when the type is not deployed. */
static void declared_names(struct ttai_server *srv, const char *type, json_t *wf)
{
    json_t *signals = json_array(), *queries = json_array();
    const struct ttai_registry *reg = ttai_engine_registry(srv->eng);
    for (size_t i = 0; reg != NULL && reg->workflows[i] != NULL; i++) {
        const struct ttai_workflow_def *def = reg->workflows[i];
        if (strcmp(def->type, type) != 0)
            continue;
        for (size_t k = 0; def->signals != NULL && def->signals[k].name != NULL; k++)
            json_array_append_new(signals, json_string(def->signals[k].name));
        for (size_t k = 0; def->queries != NULL && def->queries[k].name != NULL; k++)
            json_array_append_new(queries, json_string(def->queries[k].name));
        break;
    }
    json_object_set_new(wf, "signals", signals);
    json_object_set_new(wf, "queries", queries);
}

static bool param_run_id(struct srv_job *job, struct ttai_run_id *run, bool *has)
{
    *has = false;
    char *s = job->query ? srv__query_param(job->query, "run_id") : NULL;
    if (s == NULL || s[0] == '\0') {
        ttai_free(s);
        return true;
    }
    int rc = ttai_run_id_parse(s, run);
    ttai_free(s);
    if (rc != 0) {
        srv__job_fail(job, 400, "bad_request", "parameter 'run_id' is not a run id");
        return false;
    }
    *has = true;
    return true;
}

/* An optional unsigned integer parameter within [min, max]. */
static bool param_u64(struct srv_job *job, const char *key, uint64_t min, uint64_t max,
                      uint64_t *out)
{
    char *s = job->query ? srv__query_param(job->query, key) : NULL;
    if (s == NULL)
        return true;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    bool ok = s[0] >= '0' && s[0] <= '9' && *end == '\0' && v >= min && v <= max;
    ttai_free(s);
    if (!ok) {
        char msg[160];
        snprintf(msg, sizeof(msg), "parameter '%s' must be an integer from %" PRIu64 " to %" PRIu64,
                 key, min, max);
        srv__job_fail(job, 400, "bad_request", msg);
        return false;
    }
    *out = v;
    return true;
}

/* Text the engine kept in a C string (cut to its buffer) as JSON. */
static json_t *text_json(const char *s)
{
    return ttai_json_text(s, strlen(s));
}

/* A run's "blocked" object, NULL when it is not blocked. The reason quotes
 * command names, cut to fit: ttai_json_text. */
static json_t *blocked_json(bool blocked, const char *reason, uint64_t event_id)
{
    if (!blocked)
        return NULL;
    return json_pack("{s:o,s:I}", "reason", text_json(reason), "event_id", (json_int_t)event_id);
}

/* One pending activity as describe shows it (docs/api.md). */
static json_t *pending_activity_json(const struct ttai_pending_activity *p)
{
    json_t *failure = p->last_failure_type[0] != '\0' || p->last_failure_message[0] != '\0'
                          ? json_pack("{s:o,s:o}", "type", text_json(p->last_failure_type),
                                      "message", text_json(p->last_failure_message))
                          : json_null();
    return json_pack("{s:I,s:o,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "seq", (json_int_t)p->seq,
                     "type", text_json(p->type), "state", p->state ? p->state : "scheduled",
                     "attempt", (json_int_t)p->attempt, "scheduled_time",
                     time_json(p->scheduled_ms), "started_time", time_json(p->started_ms),
                     "next_attempt_time", time_json(p->next_attempt_ms), "last_heartbeat_time",
                     time_json(p->last_heartbeat_ms), "last_failure", failure,
                     "heartbeat_details",
                     payload_json(p->heartbeat_details, p->heartbeat_details_len));
}

/* The pending activities of the described run, as an array (*out, a new
 * reference). The engine lists those of the current run; an older run
 * (asked for by run_id) is closed and has none. */
static int pending_activities_json(struct ttai_server *srv, struct srv_job *job,
                                   const struct ttai_run_id *described, json_t **out,
                                   struct ttai_err *err)
{
    *out = json_array();
    struct ttai_run_id current;
    current_run(srv, job, &current);
    if (*out == NULL || !ttai_run_id_eq(&current, described))
        return *out ? 0 : ttai_errf(err, TTAI_ENOMEM, "out of memory");
    struct ttai_pending_activity *list = NULL;
    size_t count = 0;
    int rc = ttai_engine_pending_activities(srv->eng, job->ns, job->workflow_id, &list, &count,
                                            err);
    for (size_t i = 0; rc == 0 && i < count; i++)
        if (json_array_append_new(*out, pending_activity_json(&list[i])) != 0)
            rc = ttai_errf(err, TTAI_ENOMEM, "out of memory");
    ttai_pending_activities_free(list, count);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static void do_describe(struct ttai_server *srv, struct srv_job *job)
{
    struct ttai_run_id run;
    bool has_run;
    if (!param_run_id(job, &run, &has_run))
        return;
    struct ttai_run_info info;
    struct ttai_err err = {0};
    int rc = ttai_engine_describe(srv->eng, job->ns, job->workflow_id, has_run ? &run : NULL, &info, &err);
    if (rc != 0) {
        srv__job_reply_rc(job, rc, &err);
        return;
    }
    json_t *activities = NULL;
    rc = pending_activities_json(srv, job, &info.run_id, &activities, &err);
    if (rc != 0) {
        srv__job_reply_rc(job, rc, &err);
        return;
    }
    json_t *wf = workflow_json(job->ns, job->workflow_id, &info.run_id, info.type, info.status,
                               info.start_ms, info.close_ms, info.history_length,
                               info.pending_activities, json_integer((json_int_t)info.pending_timers),
                               blocked_json(info.blocked, info.blocked_reason,
                                            info.blocked_event_id));
    if (wf != NULL) {
        json_object_set_new(wf, "activities", activities);
        declared_names(srv, info.type, wf);
    } else {
        json_decref(activities);
    }
    srv__job_reply_obj(job, 200, wf);
}

static void do_cancel(struct ttai_server *srv, struct srv_job *job, json_t *o, bool terminate)
{
    static const struct srv_member members[] = {{"reason", NULL}, {"run_id", NULL}, {NULL, NULL}};
    const char *reason;
    struct ttai_run_id run;
    bool has_run;
    if (!srv__members_check(job, o, members, NULL, NULL) ||
        !srv__job_field_str(job, o, "reason", false, &reason) || !field_run_id(job, o, &run, &has_run))
        return;
    struct ttai_err err = {0};
    const struct ttai_run_id *given = has_run ? &run : NULL;
    int rc = terminate ? ttai_engine_terminate(srv->eng, job->ns, job->workflow_id, given, reason, &err)
                       : ttai_engine_cancel(srv->eng, job->ns, job->workflow_id, given, reason, &err);
    if (rc != 0)
        srv__job_reply_rc(job, rc, &err);
    else
        reply_set(job, 200, ttai_strndup("{}", 2));
}

/* ---- Reads: list, history, result ---------------------------------------------- */

/* Page tokens: "<start_ms>.<run id hex>", opaque to clients. */
static bool page_token_parse(const char *s, int64_t *start_ms, struct ttai_run_id *run)
{
    char *end = NULL;
    long long ms = strtoll(s, &end, 10);
    if (end == s || *end != '.' || ms < 0)
        return false;
    *start_ms = ms;
    return strlen(end + 1) == 32 && ttai_run_id_parse(end + 1, run) == 0;
}

/* Whether a run's last event is the TaskFailed that records a
 * non-determinism (engine.c, record_nondet). */
static bool nondet_recorded(struct store_read *rd, const struct store_run *r)
{
    static const char nondet[] = "NonDeterminism";
    struct store_event ev;
    return r->last_event_id > 0 &&
           store_event_get(rd, &r->run_id, r->last_event_id, &ev, NULL) == 0 &&
           ev.type == STORE_EV_TASK_FAILED && ev.failure_type.len == sizeof(nondet) - 1 &&
           memcmp(ev.failure_type.data, nondet, sizeof(nondet) - 1) == 0;
}

static json_t *run_json(struct store_read *rd, const struct store_run *r)
{
    uint32_t acts = 0;
    struct store_iter it;
    struct ttai_run_id id;
    uint64_t seq;
    struct store_bytes rec;
    if (store_activity_iter_init(&it, rd, &r->run_id, NULL) == 0)
        while (store_activity_iter_next(&it, &id, &seq, &rec, NULL) == 1)
            acts++;
    store_iter_release(&it);
    /* A run's timers are keyed by when they fire: counting one run's would
     * read every timer of the store, so a list leaves them uncounted. */
    return workflow_json(r->ns, r->workflow_id, &r->run_id, r->type, r->status, r->start_ms,
                         r->close_ms, r->last_event_id, acts, json_null(), NULL);
}

/* The token that goes on past an index entry: its start time and run. */
static json_t *page_token_json(int64_t start_ms, const struct ttai_run_id *run)
{
    char text[TTAI_RUN_ID_TEXT], tok[64];
    char *d = tok + snprintf(tok, sizeof(tok), "%" PRId64 ".", start_ms);
    for (const char *h = ttai_run_id_format(run, text); *h != '\0'; h++)
        if (*h != '-')
            *d++ = *h;
    *d = '\0';
    return json_string(tok);
}

/* The visibility query of a list request; false with the reply set. With
 * both filters, *recheck says which one the index leaves to the run
 * records: running runs are few next to closed ones, so a list of running
 * runs of a type walks the status index and checks the type; a closed
 * status walks the type index and checks the status. */
enum list_recheck { LIST_RECHECK_NONE, LIST_RECHECK_TYPE, LIST_RECHECK_STATUS };

static bool list_query(struct srv_job *job, struct store_vis_query *q, char **type_out,
                       enum list_recheck *recheck)
{
    char *status = job->query ? srv__query_param(job->query, "status") : NULL;
    char *type = job->query ? srv__query_param(job->query, "type") : NULL;
    char *token = job->query ? srv__query_param(job->query, "page_token") : NULL;
    const char *bad = NULL;
    if (status != NULL && status[0] != '\0') {
        q->index = STORE_VIS_STATUS;
        for (int s = 1; s <= STORE_RUN_STATUS_MAX; s++)
            if (strcmp(status, store_run_status_text(s)) == 0)
                q->status = s;
        if (q->status == 0)
            bad = "parameter 'status' is not a workflow status";
    }
    *recheck = LIST_RECHECK_NONE;
    if (bad == NULL && type != NULL && strlen(type) > STORE_TYPE_MAX)
        bad = "parameter 'type' is longer than a workflow type can be";
    if (bad == NULL && type != NULL && type[0] != '\0') {
        q->type = type;
        if (q->index != STORE_VIS_STATUS)
            q->index = STORE_VIS_TYPE;
        else if (q->status == STORE_RUN_RUNNING)
            *recheck = LIST_RECHECK_TYPE;
        else {
            q->index = STORE_VIS_TYPE;
            *recheck = LIST_RECHECK_STATUS;
        }
    }
    if (bad == NULL && token != NULL && token[0] != '\0') {
        q->has_after = page_token_parse(token, &q->after_start_ms, &q->after_run);
        if (!q->has_after)
            bad = "parameter 'page_token' is malformed";
    }
    ttai_free(status);
    ttai_free(token);
    *type_out = type;
    if (bad != NULL)
        srv__job_fail(job, 400, "bad_request", bad);
    return bad == NULL;
}

/* The running runs of a list page, whose blocked state the engine is
 * asked for: the query and the run's place in the page. */
struct list_running {
    struct ttai_blocked_query *q;
    size_t *index;
    size_t count, cap;
};

static bool running_add(struct list_running *l, const struct ttai_run_id *run, bool recorded,
                        size_t index)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct ttai_blocked_query *q = ttai_realloc(l->q, cap * sizeof(*q));
        if (q == NULL)
            return false;
        l->q = q;
        size_t *ix = ttai_realloc(l->index, cap * sizeof(*ix));
        if (ix == NULL)
            return false;
        l->index = ix;
        l->cap = cap;
    }
    l->q[l->count] = (struct ttai_blocked_query){.run = *run, .recorded = recorded};
    l->index[l->count++] = index;
    return true;
}

static void do_list(struct ttai_server *srv, struct srv_job *job)
{
    uint64_t page_size = LIST_PAGE_DEFAULT;
    if (!param_u64(job, "page_size", 1, LIST_PAGE_MAX, &page_size))
        return;
    struct store_vis_query q = {.ns = job->ns, .index = STORE_VIS_START};
    char *type = NULL;
    enum list_recheck recheck;
    struct store_read *rd = NULL;
    struct ttai_err err = {0};
    int rc = 0;
    if (!list_query(job, &q, &type, &recheck) || (rc = store_read_begin(srv->store, &rd, &err)) != 0) {
        if (rc != 0)
            srv__job_reply_rc(job, rc, &err);
        ttai_free(type);
        return;
    }
    json_t *arr = json_array();
    struct list_running running = {0};
    struct store_iter it;
    rc = store_vis_iter_init(&it, rd, &q, &err);
    uint64_t count = 0, looked = 0;
    bool more = false;
    int64_t last_ms = 0;              /* the last entry looked at, for the token */
    struct ttai_run_id last_run = {0};
    while (rc == 0) {
        int64_t ms;
        struct ttai_run_id run;
        if (count == page_size || (recheck != LIST_RECHECK_NONE && looked == page_size * LIST_SCAN_PER_ITEM)) {
            /* Full, or looked far enough: a token only if anything is left. */
            int got = store_vis_iter_next(&it, &ms, &run, &err);
            more = got == 1;
            rc = got < 0 ? got : 0;
            break;
        }
        int got = store_vis_iter_next(&it, &ms, &run, &err);
        if (got <= 0) {
            rc = got;
            break;
        }
        looked++;
        last_ms = ms;
        last_run = run;
        struct store_run r;
        if (store_run_get(rd, &run, &r, NULL) != 0)
            continue;
        if ((recheck == LIST_RECHECK_TYPE && strcmp(r.type, type) != 0) ||
            (recheck == LIST_RECHECK_STATUS && r.status != q.status))
            continue;
        json_array_append_new(arr, run_json(rd, &r));
        if (r.status == STORE_RUN_RUNNING &&
            !running_add(&running, &r.run_id, nondet_recorded(rd, &r), json_array_size(arr) - 1))
            rc = TTAI_ENOMEM;
        count++;
    }
    store_iter_release(&it);
    /* The engine's lock comes before a store read (describe takes them in
     * that order): the runs' blocked state is asked once the read ended. */
    store_read_end(rd);
    if (rc == 0 && running.count > 0) {
        ttai_engine_blocked(srv->eng, running.q, running.count);
        for (size_t i = 0; i < running.count; i++) {
            const struct ttai_blocked_query *b = &running.q[i];
            if (b->blocked)
                json_object_set_new(json_array_get(arr, running.index[i]), "blocked",
                                    blocked_json(true, b->reason, b->event_id));
        }
    }
    ttai_free(running.q);
    ttai_free(running.index);
    if (rc == TTAI_ENOMEM)
        ttai_errf(&err, rc, "out of memory listing workflows");
    if (rc != 0) {
        json_decref(arr);
        srv__job_reply_rc(job, rc, &err);
    } else {
        json_t *next = more ? page_token_json(last_ms, &last_run) : json_null();
        srv__job_reply_obj(job, 200, json_pack("{s:o,s:o}", "workflows", arr, "next_page_token", next));
    }
    ttai_free(type);
}

json_t *srv__event_json(const struct store_event *ev)
{
    char when[40];
    json_t *o = json_pack("{s:I,s:s,s:s}", "event_id", (json_int_t)ev->event_id, "time",
                          ttai_time_format(ev->time_ms, when, sizeof(when)), "type",
                          store_event_type_name(ev->type) ? store_event_type_name(ev->type) : "Unknown");
    if (o == NULL)
        return NULL;
    switch (ev->type) {
    case STORE_EV_ACTIVITY_SCHEDULED: case STORE_EV_ACTIVITY_COMPLETED: case STORE_EV_ACTIVITY_FAILED:
    case STORE_EV_ACTIVITY_TIMED_OUT: case STORE_EV_ACTIVITY_CANCEL_REQUESTED:
    case STORE_EV_ACTIVITY_CANCELED: case STORE_EV_TIMER_STARTED: case STORE_EV_TIMER_FIRED:
    case STORE_EV_TIMER_CANCELED: case STORE_EV_MARKER_RECORDED:
        json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
        break;
    default:
        break;
    }
    if (ev->ref_event_id != 0)
        json_object_set_new(o, "ref_event_id", json_integer((json_int_t)ev->ref_event_id));
    if (ev->attempt != 0)
        json_object_set_new(o, "attempt", json_integer(ev->attempt));
    if (ev->fire_ms != 0)
        json_object_set_new(o, "fire_time", time_json(ev->fire_ms));
    if (ev->name.len > 0)
        json_object_set_new(o, "name", ttai_json_text(ev->name.data, ev->name.len));
    if (ev->payload.len > 0)
        json_object_set_new(o, "payload", payload_json(ev->payload.data, ev->payload.len));
    if (ev->failure_type.len > 0)
        json_object_set_new(o, "failure_type", ttai_json_text(ev->failure_type.data,
                                                              ev->failure_type.len));
    if (ev->failure_message.len > 0)
        json_object_set_new(o, "failure_message", ttai_json_text(ev->failure_message.data,
                                                                 ev->failure_message.len));
    if (ev->details.len > 0)
        json_object_set_new(o, "details", payload_json(ev->details.data, ev->details.len));
    if (!ttai_run_id_is_zero(&ev->run_id)) {
        char text[TTAI_RUN_ID_TEXT];
        json_object_set_new(o, "run_id", json_string(ttai_run_id_format(&ev->run_id, text)));
    }
    if (ev->exec_timeout_ms != 0)
        json_object_set_new(o, "execution_timeout_ms", json_integer(ev->exec_timeout_ms));
    if (ev->run_timeout_ms != 0)
        json_object_set_new(o, "run_timeout_ms", json_integer(ev->run_timeout_ms));
    if (ev->has_opts)
        json_object_set_new(o, "options",
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:f,s:I,s:I}", "schedule_to_close_ms",
                                      (json_int_t)ev->opts.schedule_to_close_ms, "schedule_to_start_ms",
                                      (json_int_t)ev->opts.schedule_to_start_ms, "start_to_close_ms",
                                      (json_int_t)ev->opts.start_to_close_ms, "heartbeat_ms",
                                      (json_int_t)ev->opts.heartbeat_ms, "initial_interval_ms",
                                      (json_int_t)ev->opts.initial_interval_ms, "backoff", ev->opts.backoff,
                                      "max_interval_ms", (json_int_t)ev->opts.max_interval_ms,
                                      "max_attempts", (json_int_t)ev->opts.max_attempts));
    return o;
}

static void do_history(struct ttai_server *srv, struct srv_job *job)
{
    struct ttai_run_id run;
    bool has_run;
    uint64_t from = 1, page_size = HISTORY_PAGE_DEFAULT;
    if (!param_run_id(job, &run, &has_run) || !param_u64(job, "from_event", 1, UINT64_MAX / 2, &from) ||
        !param_u64(job, "page_size", 1, HISTORY_PAGE_MAX, &page_size))
        return;
    struct store_read *rd;
    struct ttai_err err = {0};
    int rc = store_read_begin(srv->store, &rd, &err);
    if (rc != 0) {
        srv__job_reply_rc(job, rc, &err);
        return;
    }
    struct store_run rec;
    if (!has_run)
        rc = store_exec_get(rd, job->ns, job->workflow_id, &run, &err);
    if (rc == 0)
        rc = store_run_get(rd, &run, &rec, &err);
    if (rc == 0 && (strcmp(rec.ns, job->ns) != 0 || strcmp(rec.workflow_id, job->workflow_id) != 0))
        rc = ttai_errf(&err, TTAI_ENOTFOUND, "run is not a run of workflow '%s'", job->workflow_id);
    if (rc == TTAI_ENOTFOUND && err.msg[0] == '\0')
        ttai_errf(&err, rc, "workflow '%s' not found", job->workflow_id);
    if (rc != 0) {
        store_read_end(rd);
        srv__job_reply_rc(job, rc, &err);
        return;
    }
    json_t *arr = json_array();
    struct store_iter it;
    struct store_event ev;
    uint64_t count = 0, last = 0;
    bool more = false;
    rc = store_hist_iter_init(&it, rd, &run, from, &err);
    while (rc == 0) {
        int got = store_hist_iter_next(&it, &ev, &err);
        if (got <= 0) {
            rc = got;
            break;
        }
        if (count == page_size) {
            more = true;
            break;
        }
        json_array_append_new(arr, srv__event_json(&ev));
        last = ev.event_id;
        count++;
    }
    store_iter_release(&it);
    store_read_end(rd);
    if (rc != 0) {
        json_decref(arr);
        srv__job_reply_rc(job, rc, &err);
        return;
    }
    srv__job_reply_obj(job, 200, json_pack("{s:o,s:o}", "events", arr, "next_event_id",
                                           more ? json_integer((json_int_t)last + 1) : json_null()));
}

/* The run a result request is about: the workflow's current run, or (has_run)
 * the last run of the continue-as-new chain from *run, which must be one
 * of the workflow's. An execute has no run_id: its query string is its
 * start's. */
static int result_run(struct srv_job *job, struct store_read *rd, bool has_run,
                      struct ttai_run_id *run, struct store_run *rec, struct ttai_err *err)
{
    int rc = has_run ? 0 : store_exec_get(rd, job->ns, job->workflow_id, run, err);
    if (rc == TTAI_ENOTFOUND)
        return ttai_errf(err, rc, "workflow '%s' not found", job->workflow_id);
    if (rc == 0)
        rc = store_run_get(rd, run, rec, err);
    if (has_run && rc == 0 &&
        (strcmp(rec->ns, job->ns) != 0 || strcmp(rec->workflow_id, job->workflow_id) != 0))
        rc = TTAI_ENOTFOUND;
    if (has_run && rc == TTAI_ENOTFOUND) {
        char text[TTAI_RUN_ID_TEXT];
        struct ttai_run_id current;
        if (store_exec_get(rd, job->ns, job->workflow_id, &current, NULL) != 0)
            return ttai_errf(err, rc, "workflow '%s' not found", job->workflow_id);
        return ttai_errf(err, rc, "workflow '%s' has no run %s in namespace '%s'",
                         job->workflow_id, ttai_run_id_format(run, text), job->ns);
    }
    /* A run continued as new names its successor; a chain is as long as
     * the runs it links, each one stored. */
    while (rc == 0 && has_run && rec->status == STORE_RUN_CONTINUED_AS_NEW) {
        *run = rec->next_run;
        rc = store_run_get(rd, run, rec, err);
    }
    return rc;
}

static void do_result(struct ttai_server *srv, struct srv_job *job)
{
    struct ttai_run_id run;
    bool has_run = false;
    if (!ttai_run_id_is_zero(&job->result_run)) {
        /* Parked on a run: its close answers, whatever run the workflow
         * has by now (a start with terminate_existing may have made one). */
        run = job->result_run;
        has_run = true;
    } else if (!job->execute && !param_run_id(job, &run, &has_run)) {
        return;
    }
    struct store_read *rd;
    struct ttai_err err = {0};
    int rc = store_read_begin(srv->store, &rd, &err);
    if (rc != 0) {
        srv__job_reply_rc(job, rc, &err);
        return;
    }
    struct store_run rec;
    rc = result_run(job, rd, has_run, &run, &rec, &err);
    struct store_event ev;
    if (rc == 0 && rec.status != STORE_RUN_RUNNING)
        rc = store_event_get(rd, &run, rec.last_event_id, &ev, &err);
    if (rc != 0) {
        srv__job_reply_rc(job, rc, &err);
    } else if (rec.status == STORE_RUN_RUNNING) {
        srv__result_running(job, &run);
    } else {
        srv__result_closed_reply(job, &run, rec.status, &ev);
    }
    store_read_end(rd);
}

void srv__result_running(struct srv_job *job, const struct ttai_run_id *run)
{
    /* A long-poll parks on this run: its close answers it (srv__closed_cb).
     * An execute's body is made only if it is answered running
     * (srv__result_running_reply, at its deadline or at shutdown), not at
     * every check. */
    job->running = true;
    job->result_run = *run;
    reply_set(job, 202, job->execute ? NULL : ttai_strndup("{\"status\":\"running\"}", 20));
}

void srv__result_closed_reply(struct srv_job *job, const struct ttai_run_id *run, int status,
                              const struct store_event *ev)
{
    json_t *o;
    if (ev->type == STORE_EV_WORKFLOW_COMPLETED) {
        o = json_pack("{s:s,s:o}", "status", "completed", "result",
                      payload_json(ev->payload.data, ev->payload.len));
    } else {
        const char *name = store_run_status_text(status);
        json_t *type = ev->failure_type.len ? ttai_json_text(ev->failure_type.data,
                                                             ev->failure_type.len)
                                            : json_string(name);
        /* A close without a message (ttai_wf_canceled) has no bytes: an
         * empty one. */
        o = json_pack("{s:s,s:{s:o,s:o}}", "status", name, "failure", "type", type, "message",
                      ttai_json_text(ev->failure_message.data, ev->failure_message.len));
    }
    if (job->execute && o != NULL) {
        /* An execute's answer names the run it comes from (the last one,
         * after continue-as-new), as its start's answer did. */
        char text[TTAI_RUN_ID_TEXT];
        json_object_set_new(o, "workflow_id", json_string(job->workflow_id));
        json_object_set_new(o, "run_id", json_string(ttai_run_id_format(run, text)));
        json_object_set_new(o, "started", json_boolean(!start_found_existing(job)));
    }
    job->running = false;
    srv__job_reply_obj(job, 200, o);
}

void srv__result_running_reply(struct srv_job *job)
{
    char text[TTAI_RUN_ID_TEXT];
    srv__job_reply_obj(job, 202, json_pack("{s:s,s:s,s:s,s:b}", "status", "running", "workflow_id",
                                           job->workflow_id, "run_id",
                                           ttai_run_id_format(&job->result_run, text), "started",
                                           !start_found_existing(job)));
}

/* ---- Dispatch ------------------------------------------------------------------ */

void srv__job_run(struct ttai_server *srv, struct srv_job *job)
{
    if (job->route == R_METRICS) {
        srv__metrics(srv, job);
        return;
    }
    if (srv__is_sched_route(job->route)) {
        srv__sched_run(srv, job);
        return;
    }
    if (job->workflow_id != NULL && job->route != R_START &&
        !name_ok(job, "workflow id", job->workflow_id, STORE_WORKFLOW_ID_MAX))
        return;
    switch (job->route) {
    case R_LIST: do_list(srv, job); return;
    case R_DESCRIBE: do_describe(srv, job); return;
    case R_HISTORY: do_history(srv, job); return;
    case R_RESULT: do_result(srv, job); return;
    default: break;
    }
    json_t *o = srv__job_body(job, job->route == R_START || job->route == R_SWS);
    if (o == NULL)
        return;
    switch (job->route) {
    case R_START: do_start(srv, job, o); break;
    case R_SIGNAL: do_signal(srv, job, o); break;
    case R_SWS: do_signal_with_start(srv, job, o); break;
    case R_QUERY: do_query(srv, job, o); break;
    case R_CANCEL: do_cancel(srv, job, o, false); break;
    case R_TERMINATE: do_cancel(srv, job, o, true); break;
    default: srv__job_fail(job, 500, "internal", "unknown route"); break;
    }
    json_decref(o);
}
