/* sink.c: the recording HTTP sink of the alert tests (sink.h).
 *
 * Requests are handled on the server's thread; the records and scripts
 * are shared with the test thread under one mutex. */
#include "sink.h"

#include "alerts_test.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#define SCRIPTS_MAX 16
#define SCRIPT_CODES_MAX 16

struct script {
    char path[128];
    int codes[SCRIPT_CODES_MAX];
    size_t count, next;
};

struct sink {
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    pthread_t thread;
    int port;
    pthread_mutex_t mu;              /* guards what follows */
    struct sink_request records[SINK_RECORDS_MAX];
    int record_count;
    struct script scripts[SCRIPTS_MAX];
    size_t script_count;
};

static void header_copy(struct evkeyvalq *h, const char *name, char *out, size_t size)
{
    const char *v = evhttp_find_header(h, name);
    snprintf(out, size, "%s", v != NULL ? v : "");
}

/* The status to answer for path (the server thread, under mu). */
static int next_status(struct sink *s, const char *path)
{
    for (size_t i = 0; i < s->script_count; i++) {
        struct script *sc = &s->scripts[i];
        if (strcmp(sc->path, path) == 0 && sc->next < sc->count)
            return sc->codes[sc->next++];
    }
    return 200;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct sink *s = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *body = malloc(len + 1);
    ASSERT(body != NULL);
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    pthread_mutex_lock(&s->mu);
    ASSERT(s->record_count < SINK_RECORDS_MAX);
    struct sink_request *r = &s->records[s->record_count++];
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->body = body;
    header_copy(h, "Content-Type", r->content_type, sizeof(r->content_type));
    header_copy(h, "Idempotency-Key", r->idempotency_key, sizeof(r->idempotency_key));
    header_copy(h, "Authorization", r->authorization, sizeof(r->authorization));
    header_copy(h, "X-Team", r->x_team, sizeof(r->x_team));
    r->status = next_status(s, path);
    int status = r->status;
    pthread_mutex_unlock(&s->mu);
    struct evbuffer *out = evbuffer_new();
    ASSERT(out != NULL);
    evbuffer_add_printf(out, status == 200 ? "ok" : "{\"status\":%d}", status);
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(((struct sink *)arg)->base);
}

static void *sink_main(void *arg)
{
    event_base_loop(((struct sink *)arg)->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

struct sink *sink_start(void)
{
    ASSERT_EQ(evthread_use_pthreads(), 0);
    struct sink *s = calloc(1, sizeof(*s));
    ASSERT(s != NULL);
    pthread_mutex_init(&s->mu, NULL);
    s->base = event_base_new();
    ASSERT(s->base != NULL);
    s->http = evhttp_new(s->base);
    ASSERT(s->http != NULL);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(s->http, on_request, s);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    ASSERT(bound != NULL);
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    ASSERT_EQ(getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &sl), 0);
    s->port = ntohs(sin.sin_port);
    s->stop_ev = event_new(s->base, -1, 0, on_stop, s);
    ASSERT(s->stop_ev != NULL);
    ASSERT_EQ(pthread_create(&s->thread, NULL, sink_main, s), 0);
    return s;
}

void sink_stop(struct sink *s)
{
    event_active(s->stop_ev, 0, 0);
    ASSERT_EQ(pthread_join(s->thread, NULL), 0);
    evhttp_free(s->http);
    event_free(s->stop_ev);
    event_base_free(s->base);
    for (int i = 0; i < s->record_count; i++)
        free(s->records[i].body);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void sink_url(const struct sink *s, const char *path, char *out, size_t size)
{
    int n = snprintf(out, size, "http://127.0.0.1:%d%s", s->port, path);
    ASSERT(n > 0 && (size_t)n < size);
}

void sink_script(struct sink *s, const char *path, const int *codes, size_t count)
{
    ASSERT(count <= SCRIPT_CODES_MAX);
    pthread_mutex_lock(&s->mu);
    ASSERT(s->script_count < SCRIPTS_MAX);
    struct script *sc = &s->scripts[s->script_count++];
    snprintf(sc->path, sizeof(sc->path), "%s", path);
    memcpy(sc->codes, codes, count * sizeof(codes[0]));
    sc->count = count;
    sc->next = 0;
    pthread_mutex_unlock(&s->mu);
}

int sink_count(struct sink *s, const char *path)
{
    pthread_mutex_lock(&s->mu);
    int n = 0;
    for (int i = 0; i < s->record_count; i++)
        n += path == NULL || strcmp(s->records[i].path, path) == 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

bool sink_request(struct sink *s, const char *path, int n, struct sink_request *req)
{
    bool found = false;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->record_count && !found; i++) {
        if (path != NULL && strcmp(s->records[i].path, path) != 0)
            continue;
        if (n-- > 0)
            continue;
        *req = s->records[i];
        req->body = strdup(s->records[i].body);
        ASSERT(req->body != NULL);
        found = true;
    }
    pthread_mutex_unlock(&s->mu);
    return found;
}
