/* server_alerts.c: the live alert stream (GET .../alerts, docs/api.md).
 *
 * Alerts come from the "stream" alert channel: its delivery activity calls
 * ttai_server_alert_push() on an activity worker thread (the daemon
 * connects it as the channel's sink). They go into one ring of recent
 * alerts, shared by every namespace, and are sent from there to the open
 * streams on the loop thread.
 *
 *  1. The ring is the only thing both sides touch, under `mu`: a pusher
 *     copies the alert in, gives it the next sequence number and wakes the
 *     loop (event_active on wake_ev); it never touches a request. The loop
 *     thread copies out what each stream has not seen yet.
 *  2. Everything is bounded: the ring holds recent_max alerts (the oldest
 *     is overwritten), an alert's text ALERT_TEXT_MAX bytes, the streams
 *     ALERT_STREAMS_MAX. A stream that falls more than the ring behind
 *     skips what was overwritten; nothing waits for a slow client.
 *  3. Sequence numbers start at 1 and only grow (for this process): the
 *     alert with seq s sits in ring[(s - 1) % cap] while s > next_seq - cap.
 *     They are the SSE ids, so a client that reconnects with Last-Event-ID
 *     gets what it missed while that is still in the ring.
 *  4. Alerts are not durable: the ring starts empty with the daemon. The
 *     delivery activity, which is journaled, is the durable record.
 */
#include "server_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#define ALERTS_RECENT_DEFAULT 256
#define ALERTS_RECENT_SENT_DEFAULT 50 /* sent first on a new stream, by default */
#define ALERT_TEXT_MAX (64u << 10)
#define ALERT_STREAMS_MAX 64
#define ALERT_TICK_MS 1000
#define ALERT_PING_MS 15000

struct srv_alert {
    uint64_t seq;                     /* 0: the slot was never used */
    char ns[STORE_NS_MAX + 1];
    char *text;                       /* compact JSON, one line; ttai_malloc'd */
};

struct srv_alert_stream {
    struct srv_alert_stream *next;
    struct evhttp_request *req;
    char ns[STORE_NS_MAX + 1];
    uint64_t next_seq;                /* the next sequence number to look at */
    int64_t last_send_ms;
};

struct srv_alerts {
    pthread_mutex_t mu;               /* guards ring and next_seq */
    struct srv_alert *ring;
    size_t cap;
    uint64_t next_seq;                /* the seq the next pushed alert gets */
    struct event *wake_ev;            /* activated by pushers */
    struct event *tick;               /* pings and gone clients, while streams are open */
    struct srv_alert_stream *streams; /* loop thread only */
    _Atomic size_t stream_count;      /* changed on the loop thread, read by /metrics */
};

/* ---- The ring (any thread) ------------------------------------------------------ */

void ttai_server_alert_push(void *arg, const char *text)
{
    struct ttai_server *srv = arg;
    if (srv == NULL || srv->alerts == NULL || text == NULL || strlen(text) > ALERT_TEXT_MAX)
        return;
    json_t *o = json_loads(text, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    const char *ns = json_string_value(json_object_get(o, "namespace"));
    if (ns == NULL || ns[0] == '\0' || strlen(ns) > STORE_NS_MAX)
        ns = "default";
    struct srv_alert slot = {0};
    snprintf(slot.ns, sizeof(slot.ns), "%s", ns);
    /* Dumped again so that the stored text is one compact line whatever
     * the sink was given: an SSE data: field cannot hold a line end. */
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    slot.text = line ? ttai_strndup(line, strlen(line)) : NULL;
    free(line);
    if (slot.text == NULL)
        return; /* out of memory: this alert is not shown live; its delivery is journaled */
    struct srv_alerts *al = srv->alerts;
    pthread_mutex_lock(&al->mu);
    struct srv_alert *dst = &al->ring[(al->next_seq - 1) % al->cap];
    char *old = dst->text;
    slot.seq = al->next_seq++;
    *dst = slot;
    pthread_mutex_unlock(&al->mu);
    ttai_free(old);
    event_active(al->wake_ev, EV_READ, 0);
}

/* The lowest seq still in the ring (under mu). */
static uint64_t ring_low(const struct srv_alerts *al)
{
    return al->next_seq > al->cap ? al->next_seq - al->cap : 1;
}

/* ---- Streams (loop thread) -------------------------------------------------------- */

static void stream_end(struct srv_alerts *al, struct srv_alert_stream *st)
{
    evhttp_send_reply_end(st->req); /* frees a request whose client left */
    ttai_free(st);
    al->stream_count--;
}

/* Sends what the stream has not seen (and a ping when it has been quiet
 * long). Returns false when its client left (the stream is then ended and
 * freed); with `probe` its socket is asked (srv__client_gone). */
static bool stream_pump(struct srv_alerts *al, struct srv_alert_stream *st, bool ping,
                        bool probe)
{
    if (probe ? srv__client_gone(st->req) : evhttp_request_get_connection(st->req) == NULL) {
        stream_end(al, st);
        return false;
    }
    struct evbuffer *buf = evbuffer_new();
    if (buf == NULL)
        return true; /* tried again at the next wake or tick */
    pthread_mutex_lock(&al->mu);
    if (st->next_seq < ring_low(al))
        st->next_seq = ring_low(al);
    for (; st->next_seq < al->next_seq; st->next_seq++) {
        const struct srv_alert *a = &al->ring[(st->next_seq - 1) % al->cap];
        if (strcmp(a->ns, st->ns) == 0)
            evbuffer_add_printf(buf, "event: alert\nid: %" PRIu64 "\ndata: %s\n\n", a->seq, a->text);
    }
    pthread_mutex_unlock(&al->mu);
    int64_t now = ttai_mono_ns() / 1000000;
    if (evbuffer_get_length(buf) == 0 && ping && now - st->last_send_ms >= ALERT_PING_MS)
        evbuffer_add_printf(buf, ": ping\n\n");
    if (evbuffer_get_length(buf) > 0) {
        evhttp_send_reply_chunk(st->req, buf);
        st->last_send_ms = now;
    }
    evbuffer_free(buf);
    return true;
}

static void streams_pump(struct ttai_server *srv, bool ping, bool probe)
{
    struct srv_alerts *al = srv->alerts;
    struct srv_alert_stream **pp = &al->streams;
    while (*pp != NULL) {
        struct srv_alert_stream *st = *pp;
        struct srv_alert_stream *next = st->next;
        if (stream_pump(al, st, ping, probe))
            pp = &st->next;
        else
            *pp = next;
    }
    if (al->streams == NULL && al->tick != NULL)
        event_del(al->tick);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    streams_pump(arg, false, false);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    streams_pump(arg, true, false);
}

/* The seq of the oldest of the last n alerts of ns still in the ring (the
 * next seq when there are none). al->mu held. */
static uint64_t recent_from(struct srv_alerts *al, const char *ns, uint64_t n)
{
    uint64_t low = ring_low(al), from = al->next_seq, found = 0;
    while (from > low && found < n) {
        from--;
        if (strcmp(al->ring[(from - 1) % al->cap].ns, ns) == 0)
            found++;
    }
    return from;
}

/* The recent alerts of ns as a JSON array, oldest first: the last `limit`. */
static json_t *recent_json(struct srv_alerts *al, const char *ns, uint64_t limit)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    pthread_mutex_lock(&al->mu);
    uint64_t from = recent_from(al, ns, limit);
    for (uint64_t s = from; s < al->next_seq; s++) {
        const struct srv_alert *a = &al->ring[(s - 1) % al->cap];
        if (strcmp(a->ns, ns) == 0)
            json_array_append_new(arr, json_loads(a->text, 0, NULL));
    }
    pthread_mutex_unlock(&al->mu);
    return arr;
}

/* The seq a new stream starts at: after Last-Event-ID when the client sent
 * one (a reconnect), else at the last `recent` alerts of its namespace. */
static uint64_t stream_start(struct srv_alerts *al, struct evhttp_request *req, const char *ns,
                             uint64_t recent)
{
    const char *last = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
    char *end = NULL;
    unsigned long long id = last != NULL ? strtoull(last, &end, 10) : 0;
    if (last != NULL && last[0] >= '0' && last[0] <= '9' && *end == '\0')
        return (uint64_t)id + 1;
    pthread_mutex_lock(&al->mu);
    uint64_t from = recent_from(al, ns, recent);
    pthread_mutex_unlock(&al->mu);
    return from;
}

/* An optional count parameter in [0, max]; false with the reply sent. */
static bool param_count(struct evhttp_request *req, const char *query, const char *key,
                        uint64_t max, uint64_t *out)
{
    char *s = query ? srv__query_param(query, key) : NULL;
    if (s == NULL)
        return true;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    bool ok = s[0] >= '0' && s[0] <= '9' && *end == '\0' && v <= max;
    ttai_free(s);
    if (!ok) {
        srv__reply_error(req, 400, "bad_request", "parameter '%s' must be an integer from 0 to %" PRIu64,
                         key, max);
        return false;
    }
    *out = v;
    return true;
}

void srv__alerts_get(struct ttai_server *srv, struct evhttp_request *req, const char *ns,
                     const char *query)
{
    struct srv_alerts *al = srv->alerts;
    bool follow;
    if (!srv__query_switch(req, query, "follow", &follow))
        return;
    uint64_t recent = ALERTS_RECENT_SENT_DEFAULT < al->cap ? ALERTS_RECENT_SENT_DEFAULT : al->cap;
    if (!param_count(req, query, "recent", al->cap, &recent))
        return;
    int64_t t0 = ttai_mono_ns();
    if (!follow) {
        json_t *arr = recent_json(al, ns, recent);
        json_t *o = arr ? json_pack("{s:o}", "alerts", arr) : NULL;
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (s == NULL)
            srv__reply_error(req, 500, "internal", "out of memory");
        else
            srv__reply_json(req, 200, s);
        free(s);
        srv__log_request(srv, req, s ? 200 : 500, t0);
        return;
    }
    if (al->stream_count == ALERT_STREAMS_MAX)
        streams_pump(srv, false, true); /* the slots of clients gone, noticed or not yet */
    if (al->stream_count == ALERT_STREAMS_MAX) {
        srv__reply_error(req, 503, "unavailable", "too many alert streams open (%d)", ALERT_STREAMS_MAX);
        return;
    }
    struct srv_alert_stream *st = ttai_calloc(1, sizeof(*st));
    if (st == NULL || (al->tick == NULL &&
                       (al->tick = event_new(srv->base, -1, EV_PERSIST, tick_cb, srv)) == NULL)) {
        ttai_free(st);
        srv__reply_error(req, 500, "internal", "out of memory");
        return;
    }
    st->req = req;
    snprintf(st->ns, sizeof(st->ns), "%s", ns);
    st->next_seq = stream_start(al, req, ns, recent);
    st->last_send_ms = ttai_mono_ns() / 1000000;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply_start(req, 200, "OK");
    srv__log_request(srv, req, 200, t0);
    /* A comment first, so that the client sees the stream open at once
     * even when there is nothing to send yet. */
    struct evbuffer *hello = evbuffer_new();
    if (hello != NULL) {
        /* The namespace is any text: a line break in it would end the
         * comment and start fields of the client's stream. */
        char shown[sizeof(st->ns)];
        snprintf(shown, sizeof(shown), "%s", st->ns);
        for (char *p = shown; *p != '\0'; p++)
            if (*p == '\n' || *p == '\r')
                *p = '?';
        evbuffer_add_printf(hello, ": alerts of namespace %s\n\n", shown);
        evhttp_send_reply_chunk(req, hello);
        evbuffer_free(hello);
    }
    al->stream_count++;
    if (!stream_pump(al, st, false, false))
        return; /* the client left already: ended and freed */
    st->next = al->streams;
    al->streams = st;
    if (!event_pending(al->tick, EV_TIMEOUT, NULL)) {
        struct timeval tv = {ALERT_TICK_MS / 1000, (ALERT_TICK_MS % 1000) * 1000};
        event_add(al->tick, &tv);
    }
}

uint64_t srv__alert_streams_open(struct ttai_server *srv)
{
    return srv->alerts != NULL ? (uint64_t)atomic_load(&srv->alerts->stream_count) : 0;
}

bool srv__alerts_is_stream(struct ttai_server *srv, struct evhttp_request *req)
{
    if (srv->alerts == NULL)
        return false;
    for (struct srv_alert_stream *st = srv->alerts->streams; st != NULL; st = st->next)
        if (st->req == req)
            return true;
    return false;
}

void srv__alerts_end(struct ttai_server *srv)
{
    struct srv_alerts *al = srv->alerts;
    if (al == NULL)
        return;
    while (al->streams != NULL) {
        struct srv_alert_stream *st = al->streams;
        al->streams = st->next;
        stream_end(al, st);
    }
    if (al->tick != NULL)
        event_del(al->tick);
}

/* ---- Lifetime ------------------------------------------------------------------- */

int srv__alerts_new(struct ttai_server *srv, size_t recent_max, struct ttai_err *err)
{
    struct srv_alerts *al = ttai_calloc(1, sizeof(*al));
    if (al == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    al->cap = recent_max ? recent_max : ALERTS_RECENT_DEFAULT;
    al->next_seq = 1;
    al->ring = ttai_calloc(al->cap, sizeof(*al->ring));
    al->wake_ev = event_new(srv->base, -1, 0, wake_cb, srv);
    pthread_mutex_init(&al->mu, NULL);
    srv->alerts = al;
    if (al->ring == NULL || al->wake_ev == NULL) {
        srv__alerts_free(srv);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    }
    return 0;
}

void srv__alerts_free(struct ttai_server *srv)
{
    struct srv_alerts *al = srv->alerts;
    if (al == NULL)
        return;
    srv__alerts_end(srv);
    if (al->tick != NULL)
        event_free(al->tick);
    if (al->wake_ev != NULL)
        event_free(al->wake_ev);
    for (size_t i = 0; al->ring != NULL && i < al->cap; i++)
        ttai_free(al->ring[i].text);
    ttai_free(al->ring);
    pthread_mutex_destroy(&al->mu);
    ttai_free(al);
    srv->alerts = NULL;
}
