/* http_server.c: the loopback HTTP test server (see http_server.h).
 *
 * Everything but the counters, the flap table and the token runs on the
 * server's thread. Connections are counted in the bufferevent callback,
 * which evhttp calls exactly once per accepted connection: that is what
 * proves (or disproves) that a client reused its connection. */
#include "http_server.h"

#include "act_test.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#define FLAPS_MAX 64
#define ECHO_BODY_MAX (1u << 20)

struct flap {
    char key[64];
    int count;
};

struct http_srv {
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    pthread_t thread;
    int port;
    _Atomic uint64_t requests;
    _Atomic uint64_t connections;
    int pending;                     /* delayed replies due (server thread) */
    bool stopping;                   /* server thread */
    pthread_mutex_t mu;              /* guards flaps and token */
    struct flap flaps[FLAPS_MAX];
    size_t flap_count;
    char token[256];
};

struct delayed {
    struct http_srv *srv;
    struct evhttp_request *req;
    long ms;
};

static void reply(struct evhttp_request *req, int code, const char *body, const char *retry_after)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    if (retry_after != NULL)
        evhttp_add_header(h, "Retry-After", retry_after);
    struct evbuffer *buf = evbuffer_new();
    ASSERT(buf != NULL);
    evbuffer_add(buf, body, strlen(body));
    evhttp_send_reply(req, code, NULL, buf);
    evbuffer_free(buf);
}

static void reply_json(struct evhttp_request *req, int code, json_t *j, const char *retry_after)
{
    ASSERT(j != NULL);
    char *text = json_dumps(j, JSON_COMPACT);
    ASSERT(text != NULL);
    reply(req, code, text, retry_after);
    free(text);
    json_decref(j);
}

static long query_long(struct evkeyvalq *q, const char *name, long dflt)
{
    const char *v = evhttp_find_header(q, name);
    return v != NULL ? strtol(v, NULL, 10) : dflt;
}

/* The Retry-After value a /status or /flap request asked for, in buf. */
static const char *retry_after_of(struct evkeyvalq *q, char *buf, size_t size)
{
    const char *v = evhttp_find_header(q, "retry_after");
    if (v != NULL)
        return v;
    v = evhttp_find_header(q, "retry_after_in");
    if (v == NULL)
        return NULL;
    time_t t = time(NULL) + strtol(v, NULL, 10);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

static void on_delay_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct delayed *d = arg;
    struct http_srv *srv = d->srv;
    reply_json(d->req, 200, json_pack("{s:i}", "delayed_ms", (int)d->ms), NULL);
    free(d);
    srv->pending--;
    if (srv->stopping && srv->pending == 0)
        event_base_loopbreak(srv->base);
}

static void route_delay(struct http_srv *srv, struct evhttp_request *req, struct evkeyvalq *q)
{
    struct delayed *d = calloc(1, sizeof(*d));
    ASSERT(d != NULL);
    d->srv = srv;
    d->req = req;
    d->ms = query_long(q, "ms", 1000);
    struct timeval tv = {d->ms / 1000, (d->ms % 1000) * 1000};
    srv->pending++;
    ASSERT_EQ(event_base_once(srv->base, -1, EV_TIMEOUT, on_delay_done, d, &tv), 0);
}

static void route_echo(struct evhttp_request *req)
{
    static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE"};
    int cmd = evhttp_request_get_command(req);
    const char *method = "OTHER";
    for (int i = 0; i < 5; i++)
        if (cmd == (1 << i))
            method = methods[i];
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    ASSERT(len <= ECHO_BODY_MAX);
    char *body = malloc(len + 1);
    ASSERT(body != NULL);
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "method", method, "body", body,
                          "authorization", evhttp_find_header(h, "Authorization"),
                          "content_type", evhttp_find_header(h, "Content-Type"),
                          "accept", evhttp_find_header(h, "Accept"),
                          "x_test", evhttp_find_header(h, "X-Test"));
    free(body);
    reply_json(req, 200, j, NULL);
}

static void route_flap(struct http_srv *srv, struct evhttp_request *req, struct evkeyvalq *q)
{
    const char *key = evhttp_find_header(q, "key");
    ASSERT(key != NULL && strlen(key) < sizeof(srv->flaps[0].key));
    pthread_mutex_lock(&srv->mu);
    struct flap *f = NULL;
    for (size_t i = 0; i < srv->flap_count && f == NULL; i++)
        if (strcmp(srv->flaps[i].key, key) == 0)
            f = &srv->flaps[i];
    if (f == NULL) {
        ASSERT(srv->flap_count < FLAPS_MAX);
        f = &srv->flaps[srv->flap_count++];
        snprintf(f->key, sizeof(f->key), "%s", key);
    }
    int count = ++f->count;
    pthread_mutex_unlock(&srv->mu);
    char date[64];
    if (count <= query_long(q, "fail", 1)) {
        int code = (int)query_long(q, "code", 503);
        reply_json(req, code, json_pack("{s:i}", "status", code),
                   retry_after_of(q, date, sizeof(date)));
        return;
    }
    reply_json(req, 200, json_pack("{s:s, s:i}", "key", key, "count", count), NULL);
}

static void route_big(struct evhttp_request *req, struct evkeyvalq *q)
{
    long bytes = query_long(q, "bytes", 1024);
    ASSERT(bytes >= 2);
    char *body = malloc((size_t)bytes);
    ASSERT(body != NULL);
    memset(body, 'a', (size_t)bytes);
    body[0] = body[bytes - 1] = '"';
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    struct evbuffer *buf = evbuffer_new();
    ASSERT(buf != NULL);
    if (query_long(q, "chunked", 0)) {
        evhttp_send_reply_start(req, 200, "OK");
        for (long off = 0; off < bytes; off += 65536) {
            long n = bytes - off < 65536 ? bytes - off : 65536;
            evbuffer_add(buf, body + off, (size_t)n);
            evhttp_send_reply_chunk(req, buf);
        }
        evhttp_send_reply_end(req);
    } else {
        evbuffer_add(buf, body, (size_t)bytes);
        evhttp_send_reply(req, 200, "OK", buf);
    }
    evbuffer_free(buf);
    free(body);
}

static void route_private(struct http_srv *srv, struct evhttp_request *req)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    pthread_mutex_lock(&srv->mu);
    bool ok = auth != NULL && srv->token[0] != '\0' && strcmp(auth, srv->token) == 0;
    pthread_mutex_unlock(&srv->mu);
    if (ok)
        reply(req, 200, "{\"ok\":true}", NULL);
    else
        reply(req, 401, "{\"error\":\"unauthorized\"}", NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct http_srv *srv = arg;
    atomic_fetch_add(&srv->requests, 1);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    struct evkeyvalq q;
    evhttp_parse_query_str(query != NULL ? query : "", &q); /* initialises q */
    char date[64];
    if (strcmp(path, "/json") == 0)
        reply(req, 200, "{\"hello\":\"world\",\"n\":42,\"list\":[1,2,3]}", NULL);
    else if (strcmp(path, "/echo") == 0)
        route_echo(req);
    else if (strcmp(path, "/delay") == 0)
        route_delay(srv, req, &q);
    else if (strcmp(path, "/status") == 0)
        reply_json(req, (int)query_long(&q, "code", 200),
                   json_pack("{s:i}", "status", (int)query_long(&q, "code", 200)),
                   retry_after_of(&q, date, sizeof(date)));
    else if (strcmp(path, "/flap") == 0)
        route_flap(srv, req, &q);
    else if (strcmp(path, "/big") == 0)
        route_big(req, &q);
    else if (strcmp(path, "/private") == 0)
        route_private(srv, req);
    else
        reply(req, 404, "{\"error\":\"no such route\"}", NULL);
    evhttp_clear_headers(&q);
}

static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
    struct http_srv *srv = arg;
    atomic_fetch_add(&srv->connections, 1);
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_srv *srv = arg;
    srv->stopping = true;
    if (srv->pending == 0)
        event_base_loopbreak(srv->base);
}

static void *server_main(void *arg)
{
    struct http_srv *srv = arg;
    event_base_loop(srv->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

struct http_srv *http_srv_start(void)
{
    ASSERT_EQ(evthread_use_pthreads(), 0);
    struct http_srv *srv = calloc(1, sizeof(*srv));
    ASSERT(srv != NULL);
    pthread_mutex_init(&srv->mu, NULL);
    srv->base = event_base_new();
    ASSERT(srv->base != NULL);
    srv->http = evhttp_new(srv->base);
    ASSERT(srv->http != NULL);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_DELETE);
    evhttp_set_gencb(srv->http, on_request, srv);
    evhttp_set_bevcb(srv->http, on_new_connection, srv);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(srv->http, "127.0.0.1", 0);
    ASSERT(bound != NULL);
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    ASSERT_EQ(getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &sl), 0);
    srv->port = ntohs(sin.sin_port);
    srv->stop_ev = event_new(srv->base, -1, 0, on_stop, srv);
    ASSERT(srv->stop_ev != NULL);
    ASSERT_EQ(pthread_create(&srv->thread, NULL, server_main, srv), 0);
    return srv;
}

void http_srv_stop(struct http_srv *srv)
{
    event_active(srv->stop_ev, 0, 0);
    ASSERT_EQ(pthread_join(srv->thread, NULL), 0);
    evhttp_free(srv->http);
    event_free(srv->stop_ev);
    event_base_free(srv->base);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

int http_srv_port(const struct http_srv *srv)
{
    return srv->port;
}

void http_srv_url(const struct http_srv *srv, const char *path_query, char *out, size_t size)
{
    int n = snprintf(out, size, "http://127.0.0.1:%d%s", srv->port, path_query);
    ASSERT(n > 0 && (size_t)n < size);
}

uint64_t http_srv_requests(const struct http_srv *srv)
{
    return atomic_load(&srv->requests);
}

uint64_t http_srv_connections(const struct http_srv *srv)
{
    return atomic_load(&srv->connections);
}

int http_srv_flap_count(struct http_srv *srv, const char *key)
{
    int count = 0;
    pthread_mutex_lock(&srv->mu);
    for (size_t i = 0; i < srv->flap_count; i++)
        if (strcmp(srv->flaps[i].key, key) == 0)
            count = srv->flaps[i].count;
    pthread_mutex_unlock(&srv->mu);
    return count;
}

void http_srv_set_token(struct http_srv *srv, const char *token)
{
    pthread_mutex_lock(&srv->mu);
    snprintf(srv->token, sizeof(srv->token), "%s", token);
    pthread_mutex_unlock(&srv->mu);
}
