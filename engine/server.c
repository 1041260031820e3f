/* server.c: the API server's loop side: binding, routing, tokens, the
 * worker pool and the hand-back of replies, draining; and the daemon's log.
 *
 * Threads and ownership:
 *  1. evhttp callbacks, replies and every evhttp_request call run on the
 *     loop thread only. A worker never touches a request: it fills the
 *     job's status and reply, and queues the job on `done`; the loop thread
 *     sends it (done_cb) and frees the job.
 *  2. A client that goes away while its job is on a worker is harmless:
 *     libevent detaches a request that was not answered, and answering a
 *     detached request frees it.
 *  3. A start is parsed on the loop thread and made by the engine thread
 *     in its next round, which hands the job back once it is durable
 *     (start_on_loop); every other engine call runs on a worker.
 *  4. Nothing is recorded for a refused request: every check that can
 *     refuse (route, method, token, body, fields) runs before the engine
 *     call, and the engine refuses atomically.
 */
#include "server.h"
#include "server_int.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>

#define MAX_BODY_DEFAULT (2u << 20)
#define WORKERS_DEFAULT 32
#define HEADERS_MAX (64u << 10)
#define CONN_TIMEOUT_S 300

/* ---- Logging ----------------------------------------------------------------- */

static int log_level = TTAI_LOG_INFO;
static bool log_json;

void ttai_log_setup(int level, bool json)
{
    log_level = level;
    log_json = json;
}

int ttai_log_level_parse(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* Appends s quoted for the log format (JSON string escaping serves both). */
static size_t log_quote(char *dst, size_t cap, size_t at, const char *s)
{
    if (at < cap)
        dst[at++] = '"';
    for (; *s != '\0' && at + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            dst[at++] = '\\';
            dst[at++] = (char)c;
        } else if (c < 0x20) {
            at += (size_t)snprintf(dst + at, cap - at, "\\u%04x", c);
        } else {
            dst[at++] = (char)c;
        }
    }
    if (at < cap)
        dst[at++] = '"';
    return at;
}

void ttai_log(int level, const char *event, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > log_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char when[32];
    ttai_time_format(ttai_wall_ms(), when, sizeof(when));
    char line[2200];
    size_t at;
    if (log_json) {
        at = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"event\":\"%s\",\"msg\":",
                              when, names[level], event);
        at = log_quote(line, sizeof(line) - 3, at, msg);
        line[at++] = '}';
    } else {
        at = (size_t)snprintf(line, sizeof(line), "time=%s level=%s event=%s msg=", when,
                              names[level], event);
        at = log_quote(line, sizeof(line) - 2, at, msg);
    }
    line[at++] = '\n';
    ssize_t n = write(STDERR_FILENO, line, at);
    (void)n; /* nowhere to report a failed log write */
}

/* ---- Replies ----------------------------------------------------------------- */

void srv__log_request(struct ttai_server *srv, struct evhttp_request *req, int status,
                      int64_t started_ns)
{
    (void)srv;
    if (log_level < TTAI_LOG_DEBUG)
        return;
    ttai_log(TTAI_LOG_DEBUG, "request", "%s %s %d %.3fms", srv__method_name(req),
             evhttp_request_get_uri(req), status, (double)(ttai_mono_ns() - started_ns) / 1e6);
}

/* Every answer, error or not, once written: the status class counters. */
static void request_done_cb(struct evhttp_request *req, void *arg)
{
    struct ttai_server *srv = arg;
    int status = evhttp_request_get_response_code(req);
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&srv->requests[status / 100], 1, memory_order_relaxed);
}

const double srv__latency_bounds[SRV_LATENCY_BUCKETS - 1] = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* Adds a request's times to its route's counters. */
static void route_stats_add(struct ttai_server *srv, const struct srv_job *job, int64_t now_ns)
{
    int route = job->execute ? R_START : job->route; /* an execute is a start's request */
    if (route <= 0 || route >= R__COUNT)
        return;
    struct srv_route_stats *rs = &srv->route_stats[route];
    int64_t d = now_ns - job->started_ns;
    double sec = (double)d / 1e9;
    int b = 0;
    while (b < SRV_LATENCY_BUCKETS - 1 && sec > srv__latency_bounds[b])
        b++;
    atomic_fetch_add_explicit(&rs->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->duration_ns, (unsigned long long)d, memory_order_relaxed);
    if (job->picked_ns != 0) {
        atomic_fetch_add_explicit(&rs->wait_ns, (unsigned long long)(job->picked_ns - job->submitted_ns),
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&rs->handler_ns, (unsigned long long)(job->ran_ns - job->picked_ns),
                                  memory_order_relaxed);
    }
}

static void reply_raw(struct evhttp_request *req, int status, const char *body, size_t len,
                      const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
    /* A HEAD answer has headers only: evhttp sends what it is given. */
    bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
    struct evbuffer *buf = evbuffer_new();
    if (buf != NULL && !head)
        evbuffer_add(buf, body, len);
    evhttp_send_reply(req, status, NULL, buf);
    if (buf != NULL)
        evbuffer_free(buf);
}

void srv__reply_json(struct evhttp_request *req, int status, const char *json)
{
    reply_raw(req, status, json, strlen(json), "application/json");
}

void srv__reply_error(struct evhttp_request *req, int status, const char *code,
                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char *body = srv__error_body(code, msg);
    srv__reply_json(req, status, body ? body : "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    ttai_free(body);
}

/* ---- Worker pool ------------------------------------------------------------- */

static void queue_init(struct srv_queue *q)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cond, NULL);
    q->head = q->tail = NULL;
}

static void queue_push(struct srv_queue *q, struct srv_job *job)
{
    job->next = NULL;
    if (q->tail != NULL)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
}

static struct srv_job *queue_pop(struct srv_queue *q)
{
    struct srv_job *job = q->head;
    if (job != NULL) {
        q->head = job->next;
        if (q->head == NULL)
            q->tail = NULL;
        job->next = NULL;
    }
    return job;
}

/* The engine batch the calling thread is in (ttai_server_batch), and the
 * wakes it put off. Thread-local: only the polling thread defers; a
 * worker's or another caller's hand-back wakes the loop at once. */
static _Thread_local struct {
    const struct ttai_server *srv;
    int wakes;                        /* SRV_WAKE_* */
} batch;

bool srv__batch_defer(const struct ttai_server *srv, int which)
{
    if (batch.srv != srv)
        return false;
    batch.wakes |= which;
    return true;
}

void ttai_server_batch(void *arg, bool begin)
{
    struct ttai_server *srv = arg;
    if (begin) {
        batch.srv = srv;
        batch.wakes = 0;
        return;
    }
    batch.srv = NULL;
    /* Closes first: their answers are what clients wait for, where a
     * start's outcome only parks its execute. */
    if (batch.wakes & SRV_WAKE_CLOSED)
        event_active(srv->closed_ev, EV_READ, 0);
    if (batch.wakes & SRV_WAKE_DONE)
        event_active(srv->done_ev, EV_READ, 0);
    batch.wakes = 0;
}

/* Hands a job back to the loop thread (done_cb); one wake-up for all the
 * jobs queued before the loop gets to them (one per batch when the calling
 * thread is in one). */
static void done_push(struct ttai_server *srv, struct srv_job *job)
{
    pthread_mutex_lock(&srv->done.mu);
    bool was_empty = srv->done.head == NULL;
    queue_push(&srv->done, job);
    pthread_mutex_unlock(&srv->done.mu);
    if (was_empty && !srv__batch_defer(srv, SRV_WAKE_DONE))
        event_active(srv->done_ev, EV_READ, 0);
}

static void *worker_main(void *arg)
{
    struct ttai_server *srv = arg;
    pthread_setname_np(pthread_self(), "ttai-api"); /* top -H, perf --sort comm */
    for (;;) {
        pthread_mutex_lock(&srv->work.mu);
        while (srv->work.head == NULL && !srv->stopping)
            pthread_cond_wait(&srv->work.cond, &srv->work.mu);
        struct srv_job *job = queue_pop(&srv->work);
        pthread_mutex_unlock(&srv->work.mu);
        if (job == NULL)
            return NULL;
        job->picked_ns = ttai_mono_ns();
        srv__job_run(srv, job);
        job->ran_ns = ttai_mono_ns();
        done_push(srv, job);
    }
}

void srv__job_back(void *arg)
{
    struct srv_job *job = arg;
    done_push(job->srv, job);
}

void srv__submit(struct ttai_server *srv, struct srv_job *job)
{
    ttai_free(job->reply);
    job->reply = NULL;
    job->status = 0;
    job->running = false;
    job->recheck = false;
    job->busy = true;
    job->submitted_ns = ttai_mono_ns();
    srv->inflight++;
    pthread_mutex_lock(&srv->work.mu);
    queue_push(&srv->work, job);
    pthread_cond_signal(&srv->work.cond);
    pthread_mutex_unlock(&srv->work.mu);
}

static void job_free(struct srv_job *job)
{
    if (job->timer != NULL)
        event_free(job->timer);
    ttai_free(job->workflow_id);
    ttai_free(job->schedule_id);
    ttai_free(job->name);
    ttai_free(job->body);
    ttai_free(job->query);
    ttai_free(job->reply);
    ttai_free(job);
}

static void check_drained(struct ttai_server *srv)
{
    if (srv->draining && srv->inflight == 0 && srv->drained_cb != NULL) {
        void (*cb)(void *) = srv->drained_cb;
        srv->drained_cb = NULL;
        cb(srv->drained_arg);
    }
}

/* Sends the job's reply (if its client is still there) and frees it. */
void srv__job_finish(struct ttai_server *srv, struct srv_job *job)
{
    if (job->req != NULL) {
        if (job->reply == NULL && job->running && job->execute)
            srv__result_running_reply(job);
        const char *body = job->reply ? job->reply : "{\"error\":{\"code\":\"internal\",\"message\":\"no reply\"}}";
        int status = job->reply ? job->status : 500;
        /* Logged first: a request whose connection is gone is freed by
         * the send itself. */
        srv__log_request(srv, job->req, status, job->started_ns);
        reply_raw(job->req, status, body, strlen(body),
                  job->text ? "text/plain; version=0.0.4" : "application/json");
        route_stats_add(srv, job, ttai_mono_ns());
        job->req = NULL;
    }
    job_free(job);
}

/* After a result check or answer: a running long-poll (wait=1) stays or
 * goes parked in the waiter index until a close of its run
 * (srv__closed_cb) or its deadline; anything else is answered. */
static void result_settle(struct ttai_server *srv, struct srv_job *job)
{
    if (job->wait && job->running && !srv->draining &&
        ttai_mono_ns() / 1000000 < job->deadline_ms && (job->waiting || srv__waiter_add(srv, job)))
        return; /* parked (out of memory: answered running, as at its deadline) */
    srv__waiter_remove(srv, job);
    srv__job_finish(srv, job);
    check_drained(srv);
}

/* A result request runs here, on the loop thread: it is one short store
 * read, and two hand-offs to a worker would cost more than the read. */
void srv__result_check(struct ttai_server *srv, struct srv_job *job)
{
    ttai_free(job->reply);
    job->reply = NULL;
    job->running = false;
    srv__job_run(srv, job);
    result_settle(srv, job);
}

/* A parked long-poll whose run closed with its closing event at hand
 * (srv__closed_cb): answered from the event, as the check would answer
 * from the store. */
void srv__result_answer_closed(struct ttai_server *srv, struct srv_job *job,
                               const struct ttai_run_id *run, int status,
                               const struct store_event *ev)
{
    srv__result_closed_reply(job, run, status, ev);
    result_settle(srv, job);
}

/* Whether the run a start made (job->start_run) is running as far as the
 * loop can tell without reading the store: no close of its workflow has
 * reached the loop since the start was queued. Any close of this run is
 * counted after that (closes_before), so either the loop has taken it,
 * and its slot in closed_seen says so (a collision with another workflow
 * only sends the start to the store), or it has not, and it will find the
 * job parked. Both happen on the loop thread, so one is first. */
static bool start_still_running(struct ttai_server *srv, const struct srv_job *job)
{
    return job->start_made && *srv__closed_seen(srv, job->ns, job->workflow_id) <= job->closes_before;
}

/* A start with wait=result that started (200 or 201) becomes a result
 * long-poll of its workflow, as if its client had asked for the result
 * next: answered at the close, or at the deadline its request set. Returns
 * true when it did (the job is not finished). */
static bool execute_wait(struct ttai_server *srv, struct srv_job *job)
{
    if (!job->execute || job->route != R_START || (job->status != 200 && job->status != 201))
        return false;
    job->route = R_RESULT;
    job->wait = true;
    if (start_still_running(srv, job)) {
        srv__result_running(job, &job->start_run); /* as the check would find it */
        result_settle(srv, job);
    } else {
        srv__result_check(srv, job);
    }
    return true;
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ttai_server *srv = arg;
    pthread_mutex_lock(&srv->done.mu);
    struct srv_job *list = srv->done.head;
    srv->done.head = srv->done.tail = NULL;
    pthread_mutex_unlock(&srv->done.mu);
    while (list != NULL) {
        struct srv_job *job = list;
        list = job->next;
        job->next = NULL;
        srv->inflight--;
        job->busy = false;
        if (job->start_queued) {
            srv__start_answer(job); /* the engine thread made it */
            job->start_queued = false;
        }
        if (execute_wait(srv, job))
            continue;
        if (job->route == R_RESULT && job->wait && job->running && !srv->draining) {
            if (job->recheck) {
                srv__submit(srv, job);      /* a close arrived meanwhile: look again */
            } else if (ttai_mono_ns() / 1000000 >= job->deadline_ms) {
                srv__waiter_remove(srv, job);
                srv__job_finish(srv, job);
            } else {
                continue;                   /* stays parked until a close */
            }
            continue;
        }
        if (job->waiting)
            srv__waiter_remove(srv, job);
        srv__job_finish(srv, job);
    }
    check_drained(srv);
}

/* ---- Routing ----------------------------------------------------------------- */

static bool token_allows(const struct ttai_server_token *t, const char *ns)
{
    for (size_t i = 0; i < t->namespace_count; i++)
        if (strcmp(t->namespaces[i], "*") == 0 || strcmp(t->namespaces[i], ns) == 0)
            return true;
    return false;
}

/* 0 when allowed; else the status sent (401 or 403). ns NULL: any valid
 * token will do. */
static int check_token(struct ttai_server *srv, struct evhttp_request *req, const char *ns)
{
    if (srv->opts.token_count == 0)
        return 0;
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    const struct ttai_server_token *found = NULL;
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *tok = auth + 7;
        while (*tok == ' ')
            tok++;
        for (size_t i = 0; i < srv->opts.token_count && found == NULL; i++)
            if (strcmp(srv->opts.tokens[i].token, tok) == 0)
                found = &srv->opts.tokens[i];
    }
    if (found == NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
        srv__reply_error(req, 401, "unauthorized", "%s", auth ? "unknown bearer token"
                                                              : "missing bearer token");
        return 401;
    }
    if (ns != NULL && !token_allows(found, ns)) {
        srv__reply_error(req, 403, "forbidden", "token is not allowed namespace '%s'", ns);
        return 403;
    }
    return 0;
}

/* The routes. Patterns are matched segment by segment against the
 * percent-decoded path (empty segments are skipped, so "//a/" is "/a"): a
 * literal must be equal, a {parameter} takes any one segment. The first row
 * whose pattern and method match wins; a pattern that matches with another
 * method answers 405, no pattern 404. Parameters: {ns} is the namespace,
 * {name} a signal or query name, {schedule_id} a schedule id, any other the
 * workflow id (or the console file's name). */
static const struct srv_route_def route_table[] = {
    {"GET", "/healthz", R_HEALTHZ, "healthz"},
    {"GET", "/metrics", R_METRICS, "metrics"},
    {"POST", "/api/v1/namespaces/{ns}/workflows", R_START, "start"},
    {"GET", "/api/v1/namespaces/{ns}/workflows", R_LIST, "list"},
    {"GET", "/api/v1/namespaces/{ns}/workflows/{workflow_id}", R_DESCRIBE, "describe"},
    {"GET", "/api/v1/namespaces/{ns}/workflows/{workflow_id}/history", R_HISTORY, "history"},
    {"GET", "/api/v1/namespaces/{ns}/workflows/{workflow_id}/result", R_RESULT, "result"},
    {"POST", "/api/v1/namespaces/{ns}/workflows/{workflow_id}/cancel", R_CANCEL, "cancel"},
    {"POST", "/api/v1/namespaces/{ns}/workflows/{workflow_id}/terminate", R_TERMINATE, "terminate"},
    {"POST", "/api/v1/namespaces/{ns}/workflows/{workflow_id}/signals/{name}", R_SIGNAL, "signal"},
    {"POST", "/api/v1/namespaces/{ns}/workflows/{workflow_id}/signal-with-start/{name}", R_SWS,
     "signal_with_start"},
    {"POST", "/api/v1/namespaces/{ns}/workflows/{workflow_id}/queries/{name}", R_QUERY, "query"},
    {"POST", "/api/v1/namespaces/{ns}/schedules", R_SCHED_CREATE, "schedule_create"},
    {"GET", "/api/v1/namespaces/{ns}/schedules", R_SCHED_LIST, "schedule_list"},
    {"GET", "/api/v1/namespaces/{ns}/schedules/{schedule_id}", R_SCHED_DESCRIBE,
     "schedule_describe"},
    {"DELETE", "/api/v1/namespaces/{ns}/schedules/{schedule_id}", R_SCHED_DELETE,
     "schedule_delete"},
    {"POST", "/api/v1/namespaces/{ns}/schedules/{schedule_id}/update", R_SCHED_UPDATE,
     "schedule_update"},
    {"POST", "/api/v1/namespaces/{ns}/schedules/{schedule_id}/pause", R_SCHED_PAUSE,
     "schedule_pause"},
    {"POST", "/api/v1/namespaces/{ns}/schedules/{schedule_id}/unpause", R_SCHED_UNPAUSE,
     "schedule_unpause"},
    {"POST", "/api/v1/namespaces/{ns}/schedules/{schedule_id}/trigger", R_SCHED_TRIGGER,
     "schedule_trigger"},
    {"POST", "/api/v1/namespaces/{ns}/schedules/{schedule_id}/backfill", R_SCHED_BACKFILL,
     "schedule_backfill"},
    {"GET", "/api/v1/namespaces/{ns}/alerts", R_ALERTS, "alerts"},
    {"GET", "/", R_CONSOLE, "console"},
    {"GET", "/console/{asset}", R_CONSOLE_ASSET, "console_asset"},
};
#define ROUTE_COUNT (sizeof(route_table) / sizeof(route_table[0]))
#define PATH_SEGMENTS_MAX 8 /* at least the longest pattern's segments: longer paths are 404 */

size_t srv__routes(const struct srv_route_def **out)
{
    *out = route_table;
    return ROUTE_COUNT;
}

static bool hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Whether every '%' of s[0..len) starts an escape of two hex digits:
 * evhttp_uridecode keeps a malformed one ("a%zzb") as it is, so that one
 * name could be spelt two ways. */
static bool escapes_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '%' && (len - i < 3 || !hex_digit(s[i + 1]) || !hex_digit(s[i + 2])))
            return false;
    return true;
}

/* Splits a path into at most max decoded segments; returns the count, -1
 * when there are more, or PATH_UNDECODABLE when a segment has a malformed
 * escape or does not decode to a UTF-8 name (*why says which). */
#define PATH_UNDECODABLE (-2)
static int path_split(const char *path, char **seg, int max, const char **why)
{
    int n = 0;
    const char *p = path;
    while (*p == '/')
        p++;
    while (*p != '\0') {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == max)
            return -1;
        if (!escapes_ok(p, len)) {
            *why = "a '%' is not followed by two hex digits";
            return PATH_UNDECODABLE;
        }
        char *raw = ttai_strndup(p, len);
        size_t decoded = 0;
        seg[n] = raw ? evhttp_uridecode(raw, 0, &decoded) : NULL;
        ttai_free(raw);
        if (seg[n] == NULL)
            return -1;
        /* A %00 would cut the name short ("a%00b" naming "a"), and a name
         * that is not UTF-8 cannot be answered in JSON: no route has it. */
        bool has_nul = strlen(seg[n]) != decoded;
        json_t *utf8 = has_nul ? NULL : json_stringn(seg[n], decoded);
        json_decref(utf8);
        if (has_nul || utf8 == NULL) {
            *why = has_nul ? "a name holds a NUL byte (%00)" : "a name is not UTF-8 text";
            return PATH_UNDECODABLE; /* seg[n] is the caller's to free, as the others */
        }
        n++;
        p += len;
        while (*p == '/')
            p++;
    }
    return n;
}

/* A route's path parameters (borrowed from the decoded segments). */
struct route_params {
    const char *ns, *id, *schedule_id, *name;
};

static bool pattern_match(const char *pattern, char *const *seg, int n, struct route_params *p)
{
    memset(p, 0, sizeof(*p));
    const char *s = pattern;
    int i = 0;
    while (*s == '/')
        s++;
    while (*s != '\0') {
        const char *end = strchrnul(s, '/');
        size_t len = (size_t)(end - s);
        if (i == n)
            return false;
        if (s[0] == '{') {
            if (len == 4 && memcmp(s, "{ns}", 4) == 0)
                p->ns = seg[i];
            else if (len == 6 && memcmp(s, "{name}", 6) == 0)
                p->name = seg[i];
            else if (len == 13 && memcmp(s, "{schedule_id}", 13) == 0)
                p->schedule_id = seg[i];
            else
                p->id = seg[i];
        } else if (strlen(seg[i]) != len || memcmp(seg[i], s, len) != 0) {
            return false;
        }
        i++;
        s = *end != '\0' ? end + 1 : end;
    }
    return i == n;
}

const char *srv__method_name(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    default: return "OTHER";
    }
}

bool ttai_sockaddr_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(in6) || (IN6_IS_ADDR_V4MAPPED(in6) && in6->s6_addr[12] == 127);
    }
    return false;
}

/* ---- Accepting ------------------------------------------------------------------ */

/* accept() failed for a reason other than a client that left first: out of
 * file descriptors (EMFILE, ENFILE) or of memory. The listening socket stays
 * readable, so libevent would call accept again at once, forever, at full
 * CPU, logging each failure: instead the listener pauses for
 * ACCEPT_PAUSE_MS, the connections already open go on being served (and
 * closing, which frees descriptors), and the cause is logged at most once
 * per ACCEPT_LOG_EVERY_MS. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_EVERY_MS 10000 /* a lasting shortage: one line per 10 s */

/* The servers of this process, so that a listener's error callback, which
 * gets the evhttp it belongs to, finds its server. */
static pthread_mutex_t servers_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ttai_server *servers;

static void accept_error_cb(struct evconnlistener *listener, void *arg)
{
    int e = EVUTIL_SOCKET_ERROR();
    pthread_mutex_lock(&servers_mu);
    struct ttai_server *srv = servers;
    while (srv != NULL && (void *)srv->http != arg)
        srv = srv->servers_next;
    pthread_mutex_unlock(&servers_mu);
    evconnlistener_disable(listener);
    if (srv == NULL || srv->accept_pause == NULL) {
        evconnlistener_enable(listener); /* not ours to pause: as libevent does */
        return;
    }
    srv->accepts_paused++;
    int64_t now = ttai_mono_ns() / 1000000;
    if (srv->accept_logged_ms == 0 || now - srv->accept_logged_ms >= ACCEPT_LOG_EVERY_MS) {
        ttai_log(TTAI_LOG_WARN, "accept",
                 "cannot accept connections: %s (%" PRIu64 " pauses of %d ms so far); raise the "
                 "open-file limit (LimitNOFILE= under systemd) if this repeats",
                 evutil_socket_error_to_string(e), srv->accepts_paused, ACCEPT_PAUSE_MS);
        srv->accept_logged_ms = now;
    }
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    evtimer_add(srv->accept_pause, &tv);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ttai_server *srv = arg;
    if (srv->bound != NULL) /* not draining */
        evconnlistener_enable(evhttp_bound_socket_get_listener(srv->bound));
}

/* 405, with the Allow header RFC 9110 asks for ("GET, DELETE") and the
 * same methods in the message ("use GET or DELETE"). */
static void reply_not_allowed(struct evhttp_request *req, const char *allowed)
{
    char header[64];
    size_t n = 0;
    for (const char *p = allowed; *p != '\0' && n + 3 < sizeof(header); p++) {
        if (strncmp(p, " or ", 4) == 0) {
            header[n++] = ',';
            header[n++] = ' ';
            p += 3;
        } else {
            header[n++] = *p;
        }
    }
    header[n] = '\0';
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", header);
    srv__reply_error(req, 405, "method_not_allowed", "use %s", allowed);
}

/* The matching row, or NULL; *path_known tells a 405 from a 404, and
 * allowed gets the methods the path has ("GET or POST"). */
static const struct srv_route_def *route_find(char *const *seg, int n, const char *method,
                                              struct route_params *p, bool *path_known,
                                              char *allowed, size_t allowed_size)
{
    struct route_params probe;
    *path_known = false;
    allowed[0] = '\0';
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        const struct srv_route_def *r = &route_table[i];
        if (!pattern_match(r->pattern, seg, n, &probe))
            continue;
        if (strcmp(r->method, method) == 0) {
            *p = probe;
            return r;
        }
        size_t used = strlen(allowed);
        if (strstr(allowed, r->method) == NULL)
            snprintf(allowed + used, allowed_size - used, "%s%s", used ? " or " : "", r->method);
        *path_known = true;
    }
    return NULL;
}

static void handle_healthz(struct ttai_server *srv, struct evhttp_request *req, int64_t t0)
{
    struct ttai_err e;
    struct store_read *rd;
    int rc = store_read_begin(srv->store, &rd, &e);
    if (rc == 0)
        store_read_end(rd);
    bool ok = rc == 0 && !srv->draining && !atomic_load(&srv->store_failed) &&
              store_failure(srv->store, &e) == 0;
    srv__reply_json(req, ok ? 200 : 503, ok ? "{\"status\":\"ok\"}" : "{\"status\":\"unavailable\"}");
    struct srv_job probe = {.route = R_HEALTHZ, .started_ns = t0};
    route_stats_add(srv, &probe, ttai_mono_ns());
    srv__log_request(srv, req, ok ? 200 : 503, t0);
}

static void handle_metrics(struct ttai_server *srv, struct evhttp_request *req, int64_t t0)
{
    if (check_token(srv, req, NULL) != 0)
        return;
    struct srv_job *job = ttai_calloc(1, sizeof(*job));
    if (job == NULL) {
        srv__reply_error(req, 500, "internal", "out of memory");
        return;
    }
    job->srv = srv;
    job->req = req;
    job->route = R_METRICS;
    job->started_ns = t0;
    srv__submit(srv, job);
}

static void handle_console(struct ttai_server *srv, struct evhttp_request *req, const char *name,
                           int route, int64_t t0)
{
    int status = srv__console_serve(srv, req, name);
    struct srv_job probe = {.route = route, .started_ns = t0};
    route_stats_add(srv, &probe, ttai_mono_ns());
    srv__log_request(srv, req, status, t0);
}

/* Fills a job from the request: names, query string, body. Returns 0, or
 * the status already sent (the job is then the caller's to free). */
static int job_fill(struct ttai_server *srv, struct srv_job *job, const struct route_params *p,
                    const char *query)
{
    struct evhttp_request *req = job->req;
    bool oom = false;
    snprintf(job->ns, sizeof(job->ns), "%s", p->ns);
    if (p->id != NULL && (job->workflow_id = ttai_strndup(p->id, strlen(p->id))) == NULL)
        oom = true;
    if (p->schedule_id != NULL &&
        (job->schedule_id = ttai_strndup(p->schedule_id, strlen(p->schedule_id))) == NULL)
        oom = true;
    if (p->name != NULL && (job->name = ttai_strndup(p->name, strlen(p->name))) == NULL)
        oom = true;
    if (query != NULL && (job->query = ttai_strndup(query, strlen(query))) == NULL)
        oom = true;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > srv->opts.max_body_bytes) {
        srv__reply_error(req, 413, "payload_too_large", "body of %zu bytes is over the limit of %zu",
                         len, srv->opts.max_body_bytes);
        return 413;
    }
    if (len > 0 && !oom) {
        job->body = ttai_malloc(len + 1);
        if (job->body == NULL) {
            oom = true;
        } else {
            evbuffer_remove(in, job->body, len);
            job->body[len] = '\0';
            job->body_len = len;
        }
    }
    if (oom) {
        srv__reply_error(req, 500, "internal", "out of memory");
        return 500;
    }
    return 0;
}

/* wait=1 and timeout_ms of a result request, or wait=result and
 * timeout_ms of a start (an execute). Returns 0, or 400 (sent). */
static int job_result_params(struct srv_job *job, const char *query)
{
    char *w = query ? srv__query_param(query, "wait") : NULL;
    if (job->route == R_START) {
        job->execute = w != NULL && strcmp(w, "result") == 0;
        bool bad = w != NULL && !job->execute;
        ttai_free(w);
        if (bad) {
            srv__reply_error(job->req, 400, "bad_request",
                             "wait on a start must be 'result' (start, then wait for the result)");
            return 400;
        }
        if (!job->execute)
            return 0;
    } else {
        ttai_free(w);
        if (!srv__query_switch(job->req, query, "wait", &job->wait))
            return 400;
        if (!job->wait)
            return 0;
    }
    char *t = srv__query_param(query, "timeout_ms");
    char *end = NULL;
    long long ms = t ? strtoll(t, &end, 10) : 60000;
    bool bad = t != NULL && (end == t || *end != '\0' || ms < 0);
    ttai_free(t);
    if (bad) {
        srv__reply_error(job->req, 400, "bad_request", "timeout_ms must be a number of milliseconds");
        return 400;
    }
    job->timeout_ms = ms;
    job->deadline_ms = ttai_add_sat(ttai_mono_ns() / 1000000, ms);
    return 0;
}

/* A start is parsed here, on the loop thread, and made by the engine
 * thread in its next round (ttai_engine_start_async): its batch commits
 * with the round's, the engine thread hands the job back once it is
 * durable (done_cb answers it), and no thread waits for the engine lock.
 * The loop keeps to HTTP and JSON, which is most of its work per request. */
static void start_on_loop(struct ttai_server *srv, struct srv_job *job)
{
    job->busy = true;
    job->submitted_ns = job->picked_ns = ttai_mono_ns();
    srv->inflight++; /* counted before the engine thread can hand it back */
    srv__job_run(srv, job);
    if (job->start_queued)
        return; /* done_cb answers it */
    srv->inflight--;
    job->busy = false;
    job->ran_ns = ttai_mono_ns();
    if (execute_wait(srv, job))
        return;
    srv__job_finish(srv, job);
    check_drained(srv);
}

/* An /api/ request, routed: namespace and token, then a job for the
 * workers (or a history stream on this thread). */
static void handle_api(struct ttai_server *srv, struct evhttp_request *req,
                       const struct evhttp_uri *uri, int route, const struct route_params *p,
                       int64_t t0)
{
    const char *query = evhttp_uri_get_query(uri);
    if (p->ns == NULL || p->ns[0] == '\0' || strlen(p->ns) > STORE_NS_MAX) {
        srv__reply_error(req, 400, "bad_request", "namespace must have 1 to %d bytes", STORE_NS_MAX);
        return;
    }
    if (check_token(srv, req, p->ns) != 0)
        return;
    if (route == R_ALERTS) {
        srv__alerts_get(srv, req, p->ns, query);
        return;
    }
    if (route == R_HISTORY) {
        bool on;
        if (!srv__query_switch(req, query, "follow", &on))
            return;
        if (on) {
            srv__history_follow(srv, req, p->ns, p->id, query);
            return;
        }
    }
    struct srv_job *job = ttai_calloc(1, sizeof(*job));
    if (job == NULL) {
        srv__reply_error(req, 500, "internal", "out of memory");
        return;
    }
    job->srv = srv;
    job->req = req;
    job->route = route;
    job->started_ns = t0;
    if (job_fill(srv, job, p, query) != 0 ||
        ((route == R_RESULT || route == R_START) && job_result_params(job, query) != 0))
        job_free(job);
    else if (route == R_RESULT)
        srv__result_check(srv, job);
    else if (route == R_START)
        start_on_loop(srv, job);
    else
        srv__submit(srv, job);
}

/* Whether a Transfer-Encoding value is the one coding evhttp decodes,
 * "chunked" alone (spaces around it allowed). */
static bool only_chunked(const char *value)
{
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, "chunked", 7) != 0)
        return false;
    for (value += 7; *value == ' ' || *value == '\t'; value++)
        ;
    return *value == '\0';
}

/* Whether evhttp reads a body for the request's method: not for HEAD,
 * TRACE, or a method it does not know (libevent 2.1.12,
 * evhttp_method_may_have_body). */
static bool method_body_read(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: case EVHTTP_REQ_POST: case EVHTTP_REQ_PUT: case EVHTTP_REQ_DELETE:
    case EVHTTP_REQ_PATCH: case EVHTTP_REQ_OPTIONS: case EVHTTP_REQ_CONNECT:
        return true;
    default:
        return false;
    }
}

/* Why a request's body framing is in doubt, or NULL when it is not (RFC
 * 9112, 6.1 and 6.3). evhttp reads a body by its first Content-Length,
 * and decodes a Transfer-Encoding only when it is exactly "chunked": the
 * bytes of any other coding ("gzip, chunked") it would take for the next
 * request, and so it would a body of a method it reads none for (a HEAD
 * with a Content-Length). A proxy in front that framed the message by its
 * headers would take the rest for a second request of its client's
 * (request smuggling). Both headers at once evhttp refuses itself. */
static const char *framing_ambiguous(struct evhttp_request *req)
{
    int lengths = 0;
    bool decodable = true, body = false;
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next) {
        if (strcasecmp(h->key, "Content-Length") == 0) {
            lengths++;
            body = body || strspn(h->value, "0 \t") != strlen(h->value);
        } else if (strcasecmp(h->key, "Transfer-Encoding") == 0) {
            decodable = decodable && only_chunked(h->value);
            body = true;
        }
    }
    if (lengths > 1)
        return "more than one Content-Length header";
    if (!decodable)
        return "a Transfer-Encoding other than chunked (the only coding ttaid reads)";
    if (body && !method_body_read(req))
        return "a body with a method that has none here (HEAD, TRACE or an unknown one)";
    return NULL;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct ttai_server *srv = arg;
    int64_t t0 = ttai_mono_ns();
    evhttp_request_set_on_complete_cb(req, request_done_cb, srv);
    if (srv->draining) {
        srv__reply_error(req, 503, "unavailable", "shutting down");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL) {
        /* libevent calls back with a request stripped of its URI when its
         * connection failed; a stream's request is ended by its tick. */
        if (srv__is_stream(srv, req) || srv__alerts_is_stream(srv, req))
            return;
        srv__reply_error(req, 400, "bad_request", "malformed request target");
        return;
    }
    const char *ambiguous = framing_ambiguous(req);
    if (ambiguous != NULL) {
        /* Where this request ends is in doubt, so the next one's start
         * is too: answered, and the connection closed after it. */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        srv__reply_error(req, 400, "bad_request", "%s", ambiguous);
        return;
    }
    char *seg[PATH_SEGMENTS_MAX] = {0};
    const char *undecodable = NULL;
    int n = path_split(path, seg, PATH_SEGMENTS_MAX, &undecodable);
    struct route_params params;
    bool path_known = false;
    char allowed[48];
    const struct srv_route_def *r =
        n < 0 ? NULL
              : route_find(seg, n, srv__method_name(req), &params, &path_known, allowed,
                           sizeof(allowed));
    if (n == PATH_UNDECODABLE)
        srv__reply_error(req, 400, "bad_request", "malformed path: %s", undecodable);
    else if (r == NULL && path_known)
        reply_not_allowed(req, allowed);
    else if (r == NULL)
        srv__reply_error(req, 404, "not_found", "no route %s", path);
    else if (r->route == R_HEALTHZ)
        handle_healthz(srv, req, t0);
    else if (r->route == R_METRICS)
        handle_metrics(srv, req, t0);
    else if (r->route == R_CONSOLE || r->route == R_CONSOLE_ASSET)
        handle_console(srv, req, r->route == R_CONSOLE ? NULL : params.id, r->route, t0);
    else
        handle_api(srv, req, uri, r->route, &params, t0);
    for (int i = 0; i < PATH_SEGMENTS_MAX; i++)
        free(seg[i]); /* evhttp_uridecode allocates with malloc */
}

/* ---- Start and stop ------------------------------------------------------------ */

int ttai_server_start(struct ttai_server **out, struct event_base *base, struct ttai_engine *eng,
                      const struct ttai_server_opts *opts, struct ttai_err *err)
{
    *out = NULL;
    struct ttai_server *srv = ttai_calloc(1, sizeof(*srv));
    if (srv == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    srv->base = base;
    srv->eng = eng;
    srv->store = ttai_engine_store(eng);
    srv->opts = *opts;
    if (srv->opts.host == NULL)
        srv->opts.host = "127.0.0.1";
    if (srv->opts.max_body_bytes == 0)
        srv->opts.max_body_bytes = MAX_BODY_DEFAULT;
    if (srv->opts.workers == 0)
        srv->opts.workers = WORKERS_DEFAULT;
    queue_init(&srv->work);
    queue_init(&srv->done);
    pthread_mutex_init(&srv->closed_mu, NULL);
    srv->http = evhttp_new(base);
    srv->done_ev = event_new(base, -1, 0, done_cb, srv);
    srv->closed_ev = event_new(base, -1, 0, srv__closed_cb, srv);
    srv->threads = ttai_calloc(srv->opts.workers, sizeof(pthread_t));
    if (srv->http == NULL || srv->done_ev == NULL || srv->closed_ev == NULL || srv->threads == NULL) {
        ttai_server_free(srv);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    }
    int rc = srv__console_init(srv, err);
    if (rc == 0)
        rc = srv__alerts_new(srv, srv->opts.alerts_recent_max, err);
    if (rc != 0) {
        ttai_server_free(srv);
        return rc;
    }
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)srv->opts.max_body_bytes);
    evhttp_set_max_headers_size(srv->http, HEADERS_MAX);
    evhttp_set_timeout(srv->http, CONN_TIMEOUT_S);
    /* Every method but CONNECT reaches the route table, which answers one
     * it does not serve with a JSON 405 (or 404) as for any other:
     * libevent's own answer to a method it was not allowed is an HTML 501.
     * Bit 15 is the one libevent gives a method it does not know
     * (EVHTTP_REQ_UNKNOWN_). An answer to CONNECT evhttp sends without a
     * Content-Length and keeps the connection: its 501 closes it. */
    evhttp_set_allowed_methods(srv->http, (ev_uint16_t)(0xffff & ~EVHTTP_REQ_CONNECT));
    evhttp_set_gencb(srv->http, request_cb, srv);
    srv->bound = evhttp_bind_socket_with_handle(srv->http, srv->opts.host, (ev_uint16_t)opts->port);
    if (srv->bound == NULL) {
        int e = errno;
        ttai_server_free(srv);
        return ttai_errf(err, TTAI_EIO, "cannot listen on %s:%d: %s", opts->host ? opts->host : "127.0.0.1",
                         opts->port, strerror(e));
    }
    srv->accept_pause = evtimer_new(base, accept_resume_cb, srv);
    if (srv->accept_pause == NULL) {
        ttai_server_free(srv);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&servers_mu);
    srv->servers_next = servers;
    servers = srv;
    pthread_mutex_unlock(&servers_mu);
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(srv->bound), accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(srv->bound);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int e = errno;
        ttai_server_free(srv);
        return ttai_errf(err, TTAI_EIO, "cannot read the bound address: %s", strerror(e));
    }
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    /* Checked on the address bound, not on the name asked for, which was
     * resolved again to bind it (and a name's answer can change). */
    if (srv->opts.token_count == 0 && !ttai_sockaddr_loopback((const struct sockaddr *)&ss)) {
        ttai_server_free(srv);
        return ttai_errf(err, TTAI_EINVAL,
                         "refusing to listen on non-loopback address %s without tokens: "
                         "configure --token TOKEN:NAMESPACES or listen on 127.0.0.1",
                         opts->host ? opts->host : "127.0.0.1");
    }
    for (size_t i = 0; i < srv->opts.workers; i++) {
        if (pthread_create(&srv->threads[i], NULL, worker_main, srv) != 0) {
            ttai_server_free(srv);
            return ttai_errf(err, TTAI_ENOMEM, "cannot start worker threads");
        }
        srv->thread_count++;
    }
    *out = srv;
    return 0;
}

int ttai_server_port(const struct ttai_server *srv)
{
    return srv->port;
}

void ttai_server_drain(struct ttai_server *srv, void (*drained_cb)(void *arg), void *arg)
{
    srv->draining = true;
    srv->drained_cb = drained_cb;
    srv->drained_arg = arg;
    if (srv->bound != NULL) {
        evhttp_del_accept_socket(srv->http, srv->bound);
        srv->bound = NULL;
    }
    if (srv->accept_pause != NULL)
        evtimer_del(srv->accept_pause); /* its listener is gone */
    srv__streams_end(srv);
    srv__alerts_end(srv);
    srv__waiters_end(srv);
    check_drained(srv);
}

void ttai_server_stop(struct ttai_server *srv)
{
    pthread_mutex_lock(&srv->work.mu);
    bool joined = srv->stopping;
    srv->stopping = true;
    pthread_cond_broadcast(&srv->work.cond);
    pthread_mutex_unlock(&srv->work.mu);
    if (joined)
        return;
    for (size_t i = 0; i < srv->thread_count; i++)
        pthread_join(srv->threads[i], NULL);
}

void ttai_server_free(struct ttai_server *srv)
{
    if (srv == NULL)
        return;
    ttai_server_stop(srv);
    /* Jobs left over (a drain that timed out, or starts the engine handed
     * back as it closed) answer nobody: their requests go with the
     * connections below. */
    struct srv_job *job;
    while ((job = queue_pop(&srv->done)) != NULL) {
        job->req = NULL;
        job_free(job);
    }
    while ((job = queue_pop(&srv->work)) != NULL) {
        job->req = NULL;
        job_free(job);
    }
    srv__streams_end(srv);
    srv__alerts_free(srv);
    srv__waiters_end(srv);
    srv__console_release(srv);
    pthread_mutex_lock(&servers_mu);
    for (struct ttai_server **pp = &servers; *pp != NULL; pp = &(*pp)->servers_next)
        if (*pp == srv) {
            *pp = srv->servers_next;
            break;
        }
    pthread_mutex_unlock(&servers_mu);
    if (srv->accept_pause != NULL)
        event_free(srv->accept_pause);
    if (srv->http != NULL)
        evhttp_free(srv->http);
    if (srv->stream_tick != NULL)
        event_free(srv->stream_tick);
    if (srv->done_ev != NULL)
        event_free(srv->done_ev);
    if (srv->closed_ev != NULL)
        event_free(srv->closed_ev);
    pthread_mutex_lock(&srv->closed_mu);
    while (srv->closed_head != NULL) {
        struct srv_closed *c = srv->closed_head;
        srv->closed_head = c->next;
        ttai_free(c);
    }
    pthread_mutex_unlock(&srv->closed_mu);
    ttai_free(srv->threads);
    ttai_free(srv);
}
