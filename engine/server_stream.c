/* server_stream.c: what outlives one request/reply turn: history streams
 * (Server-Sent Events) and result long-polls woken by close notifications.
 *
 * Streams live on the loop thread: a tick (every STREAM_TICK_MS while any
 * stream is open) reads each stream's run from the store and sends the
 * events made durable since, until the run is closed and everything was
 * sent, or the client is gone.
 *
 * Long-polls: a result request reads the store on the loop thread
 * (srv__result_check); with wait=1 and the workflow running, the job parks
 * in the waiter index (server_waiters.c). Close notifications are handled
 * on the loop thread too, after the close is durable, so a close is either
 * seen by the read or wakes the parked job: none is missed. A
 * continue-as-new wakes it as well, and the next read finds the new run
 * running and parks it again.
 */
#include "server_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#define STREAM_TICK_MS 5
#define STREAM_EVENTS_PER_TICK 2000
#define STREAM_PING_MS 15000

struct srv_stream {
    struct srv_stream *next;
    struct evhttp_request *req;
    struct ttai_run_id run;
    uint64_t next_event;              /* the next event id to send */
    int64_t last_send_ms;
};

/* ---- History streams ------------------------------------------------------------ */

static void stream_end(struct ttai_server *srv, struct srv_stream *st)
{
    evhttp_send_reply_end(st->req); /* frees a request whose client left */
    ttai_free(st);
    atomic_fetch_sub(&srv->history_streams, 1);
}

/* Sends what is new. Returns true when the stream is finished (and ended). */
static bool stream_pump(struct ttai_server *srv, struct srv_stream *st)
{
    if (evhttp_request_get_connection(st->req) == NULL) { /* libevent saw the client leave */
        stream_end(srv, st);
        return true;
    }
    struct store_read *rd;
    if (store_read_begin(srv->store, &rd, NULL) != 0)
        return false;
    struct store_run rec;
    bool closed = false;
    struct evbuffer *buf = evbuffer_new();
    if (buf != NULL && store_run_get(rd, &st->run, &rec, NULL) == 0) {
        struct store_iter it;
        struct store_event ev;
        int n = 0;
        if (store_hist_iter_init(&it, rd, &st->run, st->next_event, NULL) == 0) {
            while (n < STREAM_EVENTS_PER_TICK && store_hist_iter_next(&it, &ev, NULL) == 1) {
                json_t *o = srv__event_json(&ev);
                char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
                json_decref(o);
                if (s != NULL)
                    evbuffer_add_printf(buf, "event: history\nid: %" PRIu64 "\ndata: %s\n\n",
                                        ev.event_id, s);
                free(s);
                st->next_event = ev.event_id + 1;
                n++;
            }
        }
        store_iter_release(&it);
        closed = rec.status != STORE_RUN_RUNNING && st->next_event > rec.last_event_id;
    }
    store_read_end(rd);
    int64_t now = ttai_mono_ns() / 1000000;
    if (buf != NULL && evbuffer_get_length(buf) == 0 && now - st->last_send_ms >= STREAM_PING_MS)
        evbuffer_add_printf(buf, ": ping\n\n");
    if (buf != NULL && evbuffer_get_length(buf) > 0) {
        evhttp_send_reply_chunk(st->req, buf);
        st->last_send_ms = now;
    }
    if (buf != NULL)
        evbuffer_free(buf);
    if (closed)
        stream_end(srv, st);
    return closed;
}

static void stream_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ttai_server *srv = arg;
    struct srv_stream **pp = &srv->streams;
    while (*pp != NULL) {
        struct srv_stream *st = *pp;
        struct srv_stream *next = st->next;
        if (stream_pump(srv, st))
            *pp = next;
        else
            pp = &st->next;
    }
    if (srv->streams == NULL)
        event_del(srv->stream_tick);
}

void srv__history_follow(struct ttai_server *srv, struct evhttp_request *req, const char *ns,
                         const char *workflow_id, const char *query)
{
    struct ttai_run_id run;
    char *run_text = query ? srv__query_param(query, "run_id") : NULL;
    char *from_text = query ? srv__query_param(query, "from_event") : NULL;
    bool has_run = run_text != NULL && run_text[0] != '\0';
    uint64_t from = 1;
    int bad = 0;
    if (has_run && ttai_run_id_parse(run_text, &run) != 0)
        bad = 1;
    if (from_text != NULL) {
        char *end = NULL;
        from = strtoull(from_text, &end, 10);
        if (from_text[0] < '0' || from_text[0] > '9' || *end != '\0' || from == 0)
            bad = 2;
    }
    /* A reconnecting EventSource sends the id of the last event it got
     * (each event's id is its event id): it goes on after it, instead of
     * getting the history again from the start. Only for a stream of a
     * given run: an event id names an event of one run, and without
     * run_id the current run may be another one (after continue-as-new,
     * a new start of the id) than the one the client saw. */
    const char *last_seen = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
    if (from_text == NULL && has_run && last_seen != NULL && last_seen[0] >= '0' &&
        last_seen[0] <= '9') {
        char *end = NULL;
        unsigned long long n = strtoull(last_seen, &end, 10);
        if (*end == '\0' && n < UINT64_MAX)
            from = (uint64_t)n + 1;
    }
    ttai_free(run_text);
    ttai_free(from_text);
    if (bad != 0) {
        srv__reply_error(req, 400, "bad_request", "parameter '%s' is malformed",
                         bad == 1 ? "run_id" : "from_event");
        return;
    }
    struct store_read *rd;
    struct ttai_err err = {0};
    int rc = store_read_begin(srv->store, &rd, &err);
    struct store_run rec;
    if (rc == 0) {
        if (!has_run)
            rc = store_exec_get(rd, ns, workflow_id, &run, &err);
        if (rc == 0)
            rc = store_run_get(rd, &run, &rec, &err);
        if (rc == 0 && (strcmp(rec.ns, ns) != 0 || strcmp(rec.workflow_id, workflow_id) != 0))
            rc = TTAI_ENOTFOUND;
        store_read_end(rd);
    }
    if (rc != 0) {
        const char *code;
        int status = srv__status_of(rc, &code);
        srv__reply_error(req, status, code, "%s", rc == TTAI_ENOTFOUND ? "workflow not found" : err.msg);
        return;
    }
    if (rec.status != STORE_RUN_RUNNING && from > rec.last_event_id) {
        /* Closed, and nothing left to send: 204 says so, and tells an
         * EventSource to stop reconnecting (which it does after a stream
         * that merely ends, forever). */
        srv__log_request(srv, req, 204, ttai_mono_ns()); /* first: the send may free req */
        evhttp_send_reply(req, 204, "No Content", NULL);
        return;
    }
    struct srv_stream *st = ttai_calloc(1, sizeof(*st));
    if (st == NULL) {
        srv__reply_error(req, 500, "internal", "out of memory");
        return;
    }
    st->req = req;
    st->run = run;
    st->next_event = from;
    st->last_send_ms = ttai_mono_ns() / 1000000;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply_start(req, 200, "OK");
    srv__log_request(srv, req, 200, ttai_mono_ns());
    atomic_fetch_add(&srv->history_streams, 1);
    if (stream_pump(srv, st))
        return;
    st->next = srv->streams;
    srv->streams = st;
    if (srv->stream_tick == NULL)
        srv->stream_tick = event_new(srv->base, -1, EV_PERSIST, stream_tick_cb, srv);
    if (srv->stream_tick != NULL && !event_pending(srv->stream_tick, EV_TIMEOUT, NULL)) {
        struct timeval tv = {0, STREAM_TICK_MS * 1000};
        event_add(srv->stream_tick, &tv);
    }
}

bool srv__is_stream(struct ttai_server *srv, struct evhttp_request *req)
{
    for (struct srv_stream *st = srv->streams; st != NULL; st = st->next)
        if (st->req == req)
            return true;
    return false;
}

void srv__streams_end(struct ttai_server *srv)
{
    while (srv->streams != NULL) {
        struct srv_stream *st = srv->streams;
        srv->streams = st->next;
        stream_end(srv, st);
    }
    if (srv->stream_tick != NULL)
        event_del(srv->stream_tick);
}

/* ---- Result long-polls ------------------------------------------------------------ */

bool srv__client_gone(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon == NULL)
        return true;
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
    if (fd < 0)
        return true;
    /* The client sends nothing after its request while it waits: a read
     * that would not block has found the end of the stream or an error. */
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* A parked long-poll's client may give up (a client timeout, a killed
 * script): evhttp does not read a connection while its request waits for
 * an answer, so it would hold the socket, and a file descriptor, until the
 * workflow closes or timeout_ms passes, which has no upper bound. Each
 * parked job's timer therefore also wakes every WAITER_PROBE_MS (longer
 * with many parked: at most WAITER_PROBES_PER_S socket probes a second in
 * all) and asks the socket (srv__client_gone). A client gone is answered
 * as at the deadline; the write fails and libevent frees the connection. A
 * client that only shut down its sending side is answered too, early: a
 * 202 is a long-poll's answer like any other. */
#define WAITER_PROBE_MS 1000
#define WAITER_PROBES_PER_S 2000

static void waiter_arm(struct ttai_server *srv, struct srv_job *job)
{
    int64_t left = job->deadline_ms - ttai_mono_ns() / 1000000;
    size_t parked = srv__waitmap_count(&srv->waiters);
    int64_t probe = WAITER_PROBE_MS;
    if (parked > WAITER_PROBES_PER_S)
        probe = (int64_t)(parked * 1000 / WAITER_PROBES_PER_S);
    if (left > probe)
        left = probe;
    if (left < 0)
        left = 0;
    struct timeval tv = {left / 1000, (left % 1000) * 1000};
    evtimer_add(job->timer, &tv);
}

static void waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv_job *job = arg;
    if (job->busy) {
        /* Rechecked on a worker (a close came meanwhile): done_cb answers
         * it if the deadline passed, else it stays parked and needs its
         * timer still. */
        if (ttai_mono_ns() / 1000000 < job->deadline_ms)
            waiter_arm(job->srv, job);
        return;
    }
    if (ttai_mono_ns() / 1000000 < job->deadline_ms && !srv__client_gone(job->req)) {
        waiter_arm(job->srv, job);
        return;
    }
    srv__waiter_remove(job->srv, job);
    srv__job_finish(job->srv, job); /* the worker's 202 {"status":"running"} */
}

bool srv__waiter_add(struct ttai_server *srv, struct srv_job *job)
{
    if (!srv__waitmap_add(&srv->waiters, job))
        return false;
    atomic_store_explicit(&srv->parked, srv__waitmap_count(&srv->waiters), memory_order_relaxed);
    job->waiting = true;
    job->timer = evtimer_new(srv->base, waiter_timeout_cb, job);
    if (job->timer != NULL)
        waiter_arm(srv, job);
    return true;
}

void srv__waiter_remove(struct ttai_server *srv, struct srv_job *job)
{
    if (!job->waiting)
        return;
    srv__waitmap_remove(&srv->waiters, job);
    atomic_store_explicit(&srv->parked, srv__waitmap_count(&srv->waiters), memory_order_relaxed);
    job->waiting = false;
    if (job->timer != NULL)
        evtimer_del(job->timer);
}

void srv__waiters_end(struct ttai_server *srv)
{
    struct srv_job *job;
    while ((job = srv__waitmap_pop(&srv->waiters)) != NULL) {
        job->waiting = false;
        if (job->timer != NULL)
            evtimer_del(job->timer);
        if (!job->busy)
            srv__job_finish(srv, job); /* answers 202 running */
    }
    srv__waitmap_release(&srv->waiters);
    atomic_store_explicit(&srv->parked, 0, memory_order_relaxed);
}

void ttai_server_run_closed(void *arg, const char *ns, const char *workflow_id,
                            const struct ttai_run_id *run, int status,
                            const struct store_event *close_ev)
{
    struct ttai_server *srv = arg;
    if (srv == NULL)
        return;
    /* The closing event comes along when it ends the workflow, someone
     * may be waiting (a long-poll parked meanwhile finds the close in the
     * store) and it is small: a continue-as-new's long-polls go on to the
     * next run, which only the store names, and a large result is read
     * where it is rather than copied on the engine thread. */
    size_t extra = close_ev != NULL ? close_ev->payload.len + close_ev->failure_type.len +
                                          close_ev->failure_message.len
                                    : 0;
    bool has_event = close_ev != NULL && status != STORE_RUN_CONTINUED_AS_NEW &&
                     extra <= SRV_CLOSE_EVENT_MAX &&
                     atomic_load_explicit(&srv->parked, memory_order_relaxed) > 0;
    if (!has_event)
        extra = 0;
    struct srv_closed *c = ttai_malloc(sizeof(*c) + extra);
    uint64_t seq = atomic_fetch_add(&srv->closes, 1) + 1;
    if (c == NULL)
        return; /* the long-poll still ends at its timeout */
    c->seq = seq;
    snprintf(c->ns, sizeof(c->ns), "%s", ns);
    snprintf(c->workflow_id, sizeof(c->workflow_id), "%s", workflow_id);
    c->run = *run;
    c->status = status;
    c->has_event = has_event;
    memset(&c->event, 0, sizeof(c->event));
    if (has_event) {
        c->event.type = close_ev->type;
        uint8_t *at = c->bytes;
        const struct store_bytes *from[3] = {&close_ev->payload, &close_ev->failure_type,
                                             &close_ev->failure_message};
        struct store_bytes *to[3] = {&c->event.payload, &c->event.failure_type,
                                     &c->event.failure_message};
        for (size_t i = 0; i < 3; i++) {
            if (from[i]->len > 0)
                memcpy(at, from[i]->data, from[i]->len);
            *to[i] = (struct store_bytes){at, from[i]->len};
            at += from[i]->len;
        }
    }
    pthread_mutex_lock(&srv->closed_mu);
    bool was_empty = srv->closed_head == NULL;
    c->next = srv->closed_head;
    srv->closed_head = c;
    pthread_mutex_unlock(&srv->closed_mu);
    if (was_empty && !srv__batch_defer(srv, SRV_WAKE_CLOSED))
        event_active(srv->closed_ev, EV_READ, 0);
}

void srv__closed_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ttai_server *srv = arg;
    pthread_mutex_lock(&srv->closed_mu);
    struct srv_closed *list = srv->closed_head;
    srv->closed_head = NULL;
    pthread_mutex_unlock(&srv->closed_mu);
    while (list != NULL) {
        struct srv_closed *c = list;
        list = c->next;
        uint64_t *seen = srv__closed_seen(srv, c->ns, c->workflow_id);
        if (*seen < c->seq)
            *seen = c->seq;
        struct srv_job *job = srv__waitmap_first(&srv->waiters, c->ns, c->workflow_id);
        while (job != NULL) {
            /* Taken before the check, which may answer and free the job;
             * it touches no other job and adds none. */
            struct srv_job *next = srv__waitmap_next(job);
            if (job->busy) {
                job->recheck = true;
            } else if (!srv->draining) {
                /* Its own run's close answers it as the store would. */
                if (c->has_event && ttai_run_id_eq(&job->result_run, &c->run))
                    srv__result_answer_closed(srv, job, &c->run, c->status, &c->event);
                else
                    srv__result_check(srv, job);
            }
            job = next;
        }
        ttai_free(c);
    }
}
