/* market_server.c: a loopback market data provider for the market
 * activity tests (libevent's evhttp on its own thread, 127.0.0.1, an
 * ephemeral port). It speaks the contract of docs/marketsim.md with
 * answers the test controls, and records what it was asked.
 *
 *   POST /quotes     {symbol: {"symbol", "price"}} for the known symbols asked
 *   POST /news       the articles set with msrv_news()
 *   POST /portfolio  {"account_id", "as_of", "total_value": 1000, "positions": []}
 *   POST /screener   {"params": <body>, "candidates_screened": 1, "recommendations": []}
 *   anything else    404
 * msrv_force() makes every route answer one status and body instead. */
#include "market_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

struct msrv {
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    pthread_t thread;
    int port;
    pthread_mutex_t mu;          /* guards everything below */
    json_t *prices;              /* symbol -> price */
    char *news;
    int forced_status;           /* 0: normal answers */
    char *forced_body;
    json_t *requests;            /* path -> count */
    json_t *last_body;           /* path -> body text */
    char last_user[128];
};

static void reply(struct evhttp_request *req, int status, const char *body)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, body, strlen(body));
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
}

static void reply_json(struct evhttp_request *req, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    reply(req, 200, text);
    free(text);
}

static json_t *quotes(struct msrv *srv, const json_t *body)
{
    json_t *out = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(body, "symbols"), i, s) {
        json_t *price = json_object_get(srv->prices, json_string_value(s));
        if (price != NULL)
            json_object_set_new(out, json_string_value(s),
                                json_pack("{s:O, s:O}", "symbol", s, "price", price));
    }
    return out;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct msrv *srv = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *text = calloc(1, len + 1);
    ASSERT(text != NULL);
    evbuffer_copyout(in, text, len);
    const char *user = evhttp_find_header(evhttp_request_get_input_headers(req), "X-User-Id");
    json_t *body = json_loads(text, JSON_DECODE_ANY, NULL);
    pthread_mutex_lock(&srv->mu);
    json_object_set_new(srv->requests, path,
                        json_integer(json_integer_value(json_object_get(srv->requests, path)) + 1));
    json_object_set_new(srv->last_body, path, json_string(text));
    snprintf(srv->last_user, sizeof(srv->last_user), "%s", user ? user : "");
    if (srv->forced_status != 0) {
        reply(req, srv->forced_status, srv->forced_body);
    } else if (strcmp(path, "/quotes") == 0) {
        reply_json(req, quotes(srv, body));
    } else if (strcmp(path, "/news") == 0) {
        reply(req, 200, srv->news);
    } else if (strcmp(path, "/portfolio") == 0) {
        const json_t *as_of = json_object_get(body, "as_of");
        reply_json(req, json_pack("{s:O, s:s, s:i, s:[]}", "account_id",
                                  json_object_get(body, "account_id"), "as_of",
                                  json_is_string(as_of) ? json_string_value(as_of)
                                                        : "2026-01-05T14:30:00.000Z",
                                  "total_value", 1000, "positions"));
    } else if (strcmp(path, "/screener") == 0) {
        reply_json(req, json_pack("{s:O, s:i, s:[]}", "params", body, "candidates_screened", 1,
                                  "recommendations"));
    } else {
        reply(req, 404, "{\"error\": {\"code\": \"not_found\", \"message\": \"no route\"}}");
    }
    pthread_mutex_unlock(&srv->mu);
    json_decref(body);
    free(text);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(((struct msrv *)arg)->base);
}

static void *server_main(void *arg)
{
    event_base_loop(((struct msrv *)arg)->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

struct msrv *msrv_start(void)
{
    ASSERT(evthread_use_pthreads() == 0);
    struct msrv *srv = calloc(1, sizeof(*srv));
    ASSERT(srv != NULL);
    pthread_mutex_init(&srv->mu, NULL);
    srv->prices = json_object();
    srv->requests = json_object();
    srv->last_body = json_object();
    srv->news = strdup("[]");
    srv->forced_body = strdup("");
    srv->base = event_base_new();
    ASSERT(srv->base != NULL);
    srv->http = evhttp_new(srv->base);
    ASSERT(srv->http != NULL);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(srv->http, on_request, srv);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(srv->http, "127.0.0.1", 0);
    ASSERT(bound != NULL);
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    ASSERT(getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &sl) == 0);
    srv->port = ntohs(sin.sin_port);
    srv->stop_ev = event_new(srv->base, -1, 0, on_stop, srv);
    ASSERT(pthread_create(&srv->thread, NULL, server_main, srv) == 0);
    return srv;
}

void msrv_stop(struct msrv *srv)
{
    event_active(srv->stop_ev, 0, 0);
    ASSERT(pthread_join(srv->thread, NULL) == 0);
    evhttp_free(srv->http);
    event_free(srv->stop_ev);
    event_base_free(srv->base);
    json_decref(srv->prices);
    json_decref(srv->requests);
    json_decref(srv->last_body);
    free(srv->news);
    free(srv->forced_body);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

void msrv_url(const struct msrv *srv, char *out, size_t size)
{
    snprintf(out, size, "http://127.0.0.1:%d/", srv->port);
}

void msrv_price(struct msrv *srv, const char *symbol, double price)
{
    pthread_mutex_lock(&srv->mu);
    json_object_set_new(srv->prices, symbol, json_real(price));
    pthread_mutex_unlock(&srv->mu);
}

void msrv_news(struct msrv *srv, const char *json_array)
{
    pthread_mutex_lock(&srv->mu);
    free(srv->news);
    srv->news = strdup(json_array);
    pthread_mutex_unlock(&srv->mu);
}

void msrv_force(struct msrv *srv, int status, const char *body)
{
    pthread_mutex_lock(&srv->mu);
    srv->forced_status = status;
    free(srv->forced_body);
    srv->forced_body = strdup(body ? body : "");
    pthread_mutex_unlock(&srv->mu);
}

int msrv_requests(struct msrv *srv, const char *path)
{
    pthread_mutex_lock(&srv->mu);
    int n = (int)json_integer_value(json_object_get(srv->requests, path));
    pthread_mutex_unlock(&srv->mu);
    return n;
}

const char *msrv_last_body(struct msrv *srv, const char *path)
{
    pthread_mutex_lock(&srv->mu);
    const char *body = json_string_value(json_object_get(srv->last_body, path));
    char *copy = strdup(body ? body : "");
    pthread_mutex_unlock(&srv->mu);
    return mt_keep(copy);
}

const char *msrv_last_user(struct msrv *srv)
{
    pthread_mutex_lock(&srv->mu);
    char *copy = strdup(srv->last_user);
    pthread_mutex_unlock(&srv->mu);
    return mt_keep(copy);
}
