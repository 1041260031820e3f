/* fake_ttaid: a stand-in for ttaid that answers the routes of docs/api.md
 * with canned JSON, so that ttaictl can be tested without the daemon.
 *
 *   fake_ttaid LOG_FILE RELEASE_FILE   serve on 127.0.0.1, an ephemeral port
 *   fake_ttaid canon                   stdin's JSON, compact, keys sorted
 *
 * Serving, it prints the port on the first line of stdout, then appends one
 * line per request to LOG_FILE: {"auth", "body", "method", "path", "query"}
 * as compact JSON with sorted keys (body parsed when it is JSON), so that a
 * test can compare the exact request ttaictl sent.
 *
 * The canned namespace (any name but "forbidden", which gets 403; the token
 * "bad" gets 401):
 *   w-done     hello, completed with "hello, world"; 5 events
 *   w-run      counter, running; its followed history (history?follow=1)
 *              sends 2 events, then waits until RELEASE_FILE exists, then
 *              sends 3 more, the last one WorkflowCompleted, and ends
 *   w-cut      running; its followed history sends 2 events and ends
 *              without a closing event, as ttaid's does when it stops
 *   w-fail     hello, failed (ApplicationError: boom)
 *   w-blocked  counter, running, blocked by non-determinism; queries get 422
 *              (the others answer "count" 42, "state" an object, and "raw" a
 *              string holding a NUL, as a payload's bytes may)
 *   w-slow     its long-polled result answers 202 the first time, then 7
 *   w-500      describe answers HTTP 500 with a body that is not JSON
 * The list answers pages of at most 2 workflows.
 * Workflows started through the API are running and complete at once with
 * {"echo": input}; the id "dup" conflicts, the type "nope" is unknown. A
 * start with ?wait=result (an execute) answers the result at once, or for
 * the type "sleeper" 202 running (its result long-poll then completes).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <jansson.h>

#define TIME "2026-11-23T10:00:00.000Z"
#define SEGMENTS_MAX 10

static FILE *log_file;
static const char *release_path;
static struct event_base *base;
static json_t *started;          /* id -> {"type", "input"} */
static int slow_polls;           /* result polls of w-slow so far */

/* ---- Canned data ------------------------------------------------------------ */

static json_t *workflow_object(const char *ns, const char *id)
{
    static const struct {
        const char *id, *type, *status;
        int history_length, pending_activities;
    } canned[] = {
        {"w-done", "hello", "completed", 5, 0}, {"w-run", "counter", "running", 3, 1},
        {"w-fail", "hello", "failed", 4, 0},    {"w-blocked", "counter", "running", 7, 0},
        {"w-slow", "hello", "running", 2, 1},
    };
    char run_id[256];
    snprintf(run_id, sizeof(run_id), "run-%s", id);
    for (size_t i = 0; i < sizeof(canned) / sizeof(canned[0]); i++) {
        if (strcmp(canned[i].id, id) != 0)
            continue;
        bool closed = strcmp(canned[i].status, "running") != 0;
        json_t *blocked = strcmp(id, "w-blocked") == 0
                              ? json_pack("{sssi}", "reason", "activity type changed", "event_id", 7)
                              : json_null();
        return json_pack("{ss ss ss ss ss ss ss? si si si so}", "namespace", ns, "workflow_id", id,
                         "run_id", run_id, "type", canned[i].type, "status", canned[i].status,
                         "start_time", TIME, "close_time", closed ? TIME : NULL,
                         "history_length", canned[i].history_length, "pending_activities",
                         canned[i].pending_activities, "pending_timers", 0, "blocked", blocked);
    }
    json_t *s = json_object_get(started, id);
    if (s == NULL)
        return NULL;
    return json_pack("{ss ss ss sO ss ss sn si si si sn}", "namespace", ns, "workflow_id", id,
                     "run_id", run_id, "type", json_object_get(s, "type"), "status", "running",
                     "start_time", TIME, "close_time", "history_length", 1, "pending_activities",
                     0, "pending_timers", 0, "blocked");
}

static json_t *history_event(int n)
{
    switch (n) {
    case 1:
        return json_pack("{si ss ss ss ss}", "event_id", 1, "time", TIME, "type", "WorkflowStarted",
                         "name", "hello", "payload", "world");
    case 2:
        return json_pack("{si ss ss si ss}", "event_id", 2, "time", TIME, "type",
                         "ActivityScheduled", "seq", 1, "name", "greet");
    case 3:
        return json_pack("{si ss ss si si ss}", "event_id", 3, "time", TIME, "type",
                         "ActivityCompleted", "seq", 1, "attempt", 1, "payload", "hello, world");
    case 4:
        return json_pack("{si ss ss si}", "event_id", 4, "time", TIME, "type", "TaskCompleted",
                         "ref_event_id", 3);
    default:
        return json_pack("{si ss ss ss}", "event_id", 5, "time", TIME, "type",
                         "WorkflowCompleted", "payload", "hello, world");
    }
}

/* ---- Replies ------------------------------------------------------------------ */

static void reply_json(struct evhttp_request *req, int status, json_t *v)
{
    struct evbuffer *out = evbuffer_new();
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    evbuffer_add_printf(out, "%s", text ? text : "null");
    free(text);
    json_decref(v);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, "X", out);
    evbuffer_free(out);
}

static void reply_error(struct evhttp_request *req, int status, const char *code,
                        const char *message)
{
    reply_json(req, status, json_pack("{s{ssss}}", "error", "code", code, "message", message));
}

/* ---- Delayed replies (long polls) ---------------------------------------------- */

struct delayed {
    struct evhttp_request *req;
    int status;
    json_t *body;
    struct event *ev;
};

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct delayed *d = arg;
    reply_json(d->req, d->status, d->body);
    event_free(d->ev);
    free(d);
}

static void reply_later(struct evhttp_request *req, int ms, int status, json_t *body)
{
    struct delayed *d = calloc(1, sizeof(*d));
    d->req = req;
    d->status = status;
    d->body = body;
    d->ev = evtimer_new(base, delayed_cb, d);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(d->ev, &tv);
}

/* ---- SSE (history?follow=1) ------------------------------------------------------- */

struct stream {
    struct evhttp_request *req;
    struct event *ev;
    int sent;                    /* events sent so far */
    int last;                    /* the last event of this history */
    bool held;                   /* w-run: held after 2 events until released */
    bool gone;                   /* the client closed the connection */
};

static void stream_send(struct stream *s, int n)
{
    json_t *e = history_event(n);
    char *text = json_dumps(e, JSON_COMPACT);
    struct evbuffer *out = evbuffer_new();
    if (n == 2) /* a comment and an event of another kind, which clients skip */
        evbuffer_add_printf(out, ": keep-alive\n\nevent: ping\ndata: {}\n\n");
    evbuffer_add_printf(out, "event: history\r\ndata: %s\r\n\r\n", text);
    evhttp_send_reply_chunk(s->req, out);
    evbuffer_free(out);
    free(text);
    json_decref(e);
    s->sent = n;
}

static void stream_close_cb(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct stream *s = arg;
    s->gone = true;
}

static void stream_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct stream *s = arg;
    if (s->gone) {
        event_free(s->ev);
        free(s);
        return;
    }
    /* w-run holds the stream after 2 events until the test releases it. */
    if (s->sent < 2 || !s->held || access(release_path, F_OK) == 0)
        stream_send(s, s->sent + 1);
    if (s->sent >= s->last) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(s->req), NULL, NULL);
        evhttp_send_reply_end(s->req);
        event_free(s->ev);
        free(s);
        return;
    }
    struct timeval tv = {0, 20000};
    evtimer_add(s->ev, &tv);
}

static void stream_start(struct evhttp_request *req, int last, bool held)
{
    struct stream *s = calloc(1, sizeof(*s));
    s->req = req;
    s->last = last;
    s->held = held;
    s->ev = evtimer_new(base, stream_tick_cb, s);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/event-stream");
    evhttp_send_reply_start(req, 200, "OK");
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), stream_close_cb, s);
    struct timeval tv = {0, 1000};
    evtimer_add(s->ev, &tv);
}

/* ---- Routes ---------------------------------------------------------------------- */

static const char *query_get(struct evkeyvalq *q, const char *key)
{
    return evhttp_find_header(q, key);
}

static void route_start(struct evhttp_request *req, const char *ns, json_t *body,
                        struct evkeyvalq *q)
{
    const char *type = json_string_value(json_object_get(body, "type"));
    const char *id = json_string_value(json_object_get(body, "id"));
    const char *conflict = json_string_value(json_object_get(body, "id_conflict"));
    if (type == NULL || id == NULL)
        return reply_error(req, 400, "bad_request", "\"type\" and \"id\" are required");
    if (strcmp(type, "nope") == 0)
        return reply_error(req, 404, "not_found", "unknown workflow type 'nope'");
    json_t *existing = workflow_object(ns, id);
    if (strcmp(id, "dup") == 0 || existing != NULL) {
        bool reuse = conflict != NULL && strcmp(conflict, "use_existing") == 0 && existing;
        json_decref(existing);
        if (!reuse)
            return reply_error(req, 409, "conflict", "workflow 'dup' is running");
        char run_id[256];
        snprintf(run_id, sizeof(run_id), "run-%s", id);
        const char *wait = query_get(q, "wait");
        if (wait != NULL && strcmp(wait, "result") == 0) /* the existing run's result */
            return reply_json(req, 200, json_pack("{sssssssssb}", "status", "completed", "result",
                                                  "hello, world", "workflow_id", id, "run_id",
                                                  run_id, "started", 0));
        return reply_json(req, 200, json_pack("{ssss}", "workflow_id", id, "run_id", run_id));
    }
    json_t *input = json_object_get(body, "input");
    json_object_set_new(started, id,
                        json_pack("{sssO}", "type", type, "input", input ? input : json_null()));
    char run_id[256];
    snprintf(run_id, sizeof(run_id), "run-%s", id);
    const char *wait = query_get(q, "wait");
    if (wait != NULL && strcmp(wait, "result") == 0) {
        if (strcmp(type, "sleeper") == 0)
            return reply_json(req, 202, json_pack("{sssssssb}", "status", "running", "workflow_id",
                                                  id, "run_id", run_id, "started", 1));
        return reply_json(req, 200, json_pack("{sss{sO}sssssb}", "status", "completed", "result",
                                              "echo", input ? input : json_null(), "workflow_id",
                                              id, "run_id", run_id, "started", 1));
    }
    reply_json(req, 201, json_pack("{ssss}", "workflow_id", id, "run_id", run_id));
}

/* The namespace "sparse": SPARSE_RUNS running runs, newest first, of
 * which only the first is a counter; with both filters each page looks at
 * one run, as ttaid looks at a bounded number, and gives a token while any
 * is left, matching or not. "sparse-flaky": the same, but the pages from
 * the third run on fail (503). */
#define SPARSE_RUNS 40
static void route_list_sparse(struct evhttp_request *req, struct evkeyvalq *q, bool flaky)
{
    const char *type = query_get(q, "type");
    const char *token = query_get(q, "page_token");
    int from = token ? atoi(token) : 0;
    if (flaky && from >= 3)
        return reply_error(req, 503, "unavailable", "the store is busy");
    json_t *list = json_array();
    int i = from;
    if (i < SPARSE_RUNS) {
        char id[32];
        snprintf(id, sizeof(id), "sp-%d", i);
        const char *t = i == 0 ? "counter" : "hello";
        if (type == NULL || strcmp(type, t) == 0)
            json_array_append_new(list, json_pack("{ss ss ss ss ss ss sn si si si sn}", "namespace",
                                                  "sparse", "workflow_id", id, "run_id", id, "type",
                                                  t, "status", "running", "start_time", TIME,
                                                  "close_time", "history_length", 1,
                                                  "pending_activities", 0, "pending_timers", 0,
                                                  "blocked"));
        i++;
    }
    char next[16];
    snprintf(next, sizeof(next), "%d", i);
    reply_json(req, 200, json_pack("{soso}", "workflows", list, "next_page_token",
                                   i < SPARSE_RUNS ? json_string(next) : json_null()));
}

static void route_list(struct evhttp_request *req, const char *ns, struct evkeyvalq *q)
{
    if (strncmp(ns, "sparse", 6) == 0)
        return route_list_sparse(req, q, strcmp(ns, "sparse-flaky") == 0);
    static const char *const ids[] = {"w-done", "w-run", "w-fail", "w-blocked", "w-slow"};
    const char *status = query_get(q, "status");
    const char *type = query_get(q, "type");
    const char *size = query_get(q, "page_size");
    const char *token = query_get(q, "page_token");
    int page_size = size ? atoi(size) : 100;
    if (page_size > 2)
        page_size = 2; /* small pages, so that clients must follow the token */
    int from = token ? atoi(token) : 0;
    json_t *list = json_array();
    int i = from;
    for (; i < 5 && (int)json_array_size(list) < page_size; i++) {
        json_t *wf = workflow_object(ns, ids[i]);
        if ((status && strcmp(status, json_string_value(json_object_get(wf, "status")))) ||
            (type && strcmp(type, json_string_value(json_object_get(wf, "type"))))) {
            json_decref(wf);
            continue;
        }
        json_array_append_new(list, wf);
    }
    char next[16];
    snprintf(next, sizeof(next), "%d", i);
    reply_json(req, 200, json_pack("{soso}", "workflows", list, "next_page_token",
                                   i < 5 ? json_string(next) : json_null()));
}

static void route_history(struct evhttp_request *req, const char *id, struct evkeyvalq *q)
{
    bool run = strcmp(id, "w-run") == 0;
    int last = strcmp(id, "w-done") == 0 || run ? 5 : strcmp(id, "w-cut") == 0 ? 2 : 0;
    if (last == 0)
        return reply_error(req, 404, "not_found", "unknown workflow");
    const char *follow = query_get(q, "follow");
    if (follow && strcmp(follow, "1") == 0)
        return stream_start(req, last, run);
    if (run)
        last = 2; /* w-run so far */
    const char *from_text = query_get(q, "from_event");
    const char *size = query_get(q, "page_size");
    int from = from_text ? atoi(from_text) : 1;
    int page_size = size ? atoi(size) : 100;
    json_t *events = json_array();
    int n = from;
    for (; n <= last && (int)json_array_size(events) < page_size; n++)
        json_array_append_new(events, history_event(n));
    reply_json(req, 200, json_pack("{sosi}", "events", events, "next_event_id", n));
}

static void route_result(struct evhttp_request *req, const char *id, struct evkeyvalq *q)
{
    const char *wait = query_get(q, "wait");
    bool waiting = wait && strcmp(wait, "1") == 0;
    json_t *s = json_object_get(started, id);
    if (strcmp(id, "w-done") == 0)
        return reply_json(req, 200, json_pack("{ssss}", "status", "completed", "result",
                                              "hello, world"));
    if (strcmp(id, "w-fail") == 0)
        return reply_json(req, 200, json_pack("{sss{ssss}}", "status", "failed", "failure",
                                              "type", "ApplicationError", "message", "boom"));
    if (strcmp(id, "w-slow") == 0 && waiting) {
        if (++slow_polls % 2 == 1)
            return reply_later(req, 200, 202, json_pack("{ss}", "status", "running"));
        return reply_later(req, 100, 200, json_pack("{sssi}", "status", "completed", "result", 7));
    }
    if (s != NULL && waiting)
        return reply_later(req, 100, 200, json_pack("{sss{sO}}", "status", "completed", "result",
                                                    "echo", json_object_get(s, "input")));
    if (s != NULL || strcmp(id, "w-run") == 0 || strcmp(id, "w-slow") == 0)
        return reply_json(req, 202, json_pack("{ss}", "status", "running"));
    reply_error(req, 404, "not_found", "unknown workflow");
}

/* POST .../workflows/{id}/(signals|queries|signal-with-start)/{name} */
static void route_named(struct evhttp_request *req, const char *ns, const char *id,
                        const char *what, const char *name)
{
    char run_id[256];
    snprintf(run_id, sizeof(run_id), "run-%s", id);
    if (strcmp(what, "signal-with-start") == 0)
        return reply_json(req, 200, json_pack("{ssss}", "workflow_id", id, "run_id", run_id));
    json_t *wf = workflow_object(ns, id);
    if (wf == NULL)
        return reply_error(req, 404, "not_found", "unknown workflow");
    bool closed = strcmp(json_string_value(json_object_get(wf, "status")), "running") != 0;
    json_decref(wf);
    if (strcmp(what, "signals") == 0) {
        if (closed)
            return reply_error(req, 409, "conflict", "workflow is closed");
        return reply_json(req, 200, json_pack("{ssss}", "workflow_id", id, "run_id", run_id));
    }
    if (strcmp(what, "queries") != 0)
        return reply_error(req, 404, "not_found", "unknown route");
    if (strcmp(id, "w-blocked") == 0)
        return reply_error(req, 422, "nondeterminism", "run is blocked at event 7");
    if (strcmp(name, "count") == 0)
        return reply_json(req, 200, json_pack("{si}", "result", 42));
    if (strcmp(name, "state") == 0)
        return reply_json(req, 200, json_pack("{s{sis[s]}}", "result", "n", 3, "items", "a"));
    if (strcmp(name, "raw") == 0)
        return reply_json(req, 200, json_pack("{ss#}", "result", "a\0b", (size_t)3));
    reply_error(req, 404, "not_found", "unknown query name");
}

static void route_close(struct evhttp_request *req, const char *ns, const char *id)
{
    json_t *wf = workflow_object(ns, id);
    if (wf == NULL)
        return reply_error(req, 404, "not_found", "unknown workflow");
    bool closed = strcmp(json_string_value(json_object_get(wf, "status")), "running") != 0;
    json_decref(wf);
    if (closed)
        return reply_error(req, 409, "conflict", "workflow is closed");
    reply_json(req, 200, json_object());
}

/* Logs the request, then dispatches it on its decoded path segments. */
static void request_cb(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *raw = calloc(1, len + 1);
    evbuffer_remove(in, raw, len);
    json_t *body = len ? json_loads(raw, JSON_DECODE_ANY, NULL) : NULL;
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *method = cmd == EVHTTP_REQ_GET ? "GET" : cmd == EVHTTP_REQ_POST ? "POST" : "OTHER";
    json_t *line = json_pack("{ss ss so so so}", "method", method, "path", path, "query",
                             query ? json_string(query) : json_null(), "auth",
                             auth ? json_string(auth) : json_null(), "body",
                             body ? json_incref(body) : len ? json_string(raw) : json_null());
    char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    fprintf(log_file, "%s\n", text);
    fflush(log_file);
    free(text);
    json_decref(line);
    free(raw);

    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (query != NULL)
        evhttp_parse_query_str(query, &q);
    char *seg[SEGMENTS_MAX];
    int n = 0;
    char *copy = strdup(path);
    for (char *tok = strtok(copy, "/"); tok && n < SEGMENTS_MAX; tok = strtok(NULL, "/"))
        seg[n++] = evhttp_uridecode(tok, 0, NULL);
    bool is_api = n >= 5 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "v1") == 0 &&
                  strcmp(seg[2], "namespaces") == 0 && strcmp(seg[4], "workflows") == 0;
    bool post = cmd == EVHTTP_REQ_POST;
    if (auth && strcmp(auth, "Bearer bad") == 0)
        reply_error(req, 401, "unauthorized", "unknown bearer token");
    else if (!is_api)
        reply_error(req, 404, "not_found", "unknown route");
    else if (strcmp(seg[3], "forbidden") == 0)
        reply_error(req, 403, "forbidden", "token not allowed namespace 'forbidden'");
    else if (n == 5)
        post ? route_start(req, seg[3], body, &q) : route_list(req, seg[3], &q);
    else if (n == 6 && strcmp(seg[5], "w-500") == 0)
        evhttp_send_reply(req, 500, "Oops", NULL);
    else if (n == 6) {
        json_t *wf = workflow_object(seg[3], seg[5]);
        wf ? reply_json(req, 200, wf) : reply_error(req, 404, "not_found", "unknown workflow");
    } else if (n == 7 && strcmp(seg[6], "history") == 0)
        route_history(req, seg[5], &q);
    else if (n == 7 && strcmp(seg[6], "result") == 0)
        route_result(req, seg[5], &q);
    else if (n == 7 && post)
        route_close(req, seg[3], seg[5]);
    else if (n == 8 && post)
        route_named(req, seg[3], seg[5], seg[6], seg[7]);
    else
        reply_error(req, 404, "not_found", "unknown route");
    for (int i = 0; i < n; i++)
        free(seg[i]);
    free(copy);
    evhttp_clear_headers(&q);
    json_decref(body);
}

static int canon(void)
{
    json_error_t jerr;
    json_t *v = json_loadf(stdin, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (v == NULL) {
        fprintf(stderr, "canon: not JSON: %s (line %d)\n", jerr.text, jerr.line);
        return 1;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    printf("%s\n", text);
    free(text);
    json_decref(v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "canon") == 0)
        return canon();
    if (argc != 3) {
        fprintf(stderr, "usage: fake_ttaid LOG_FILE RELEASE_FILE | fake_ttaid canon\n");
        return 2;
    }
    log_file = fopen(argv[1], "a");
    release_path = argv[2];
    started = json_object();
    base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    if (log_file == NULL || base == NULL || http == NULL)
        return 1;
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(http, request_cb, NULL);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (sock == NULL) {
        fprintf(stderr, "fake_ttaid: cannot listen on 127.0.0.1\n");
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t ss_len = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &ss_len);
    printf("%d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    fflush(stdout);
    event_base_dispatch(base);
    return 0;
}
