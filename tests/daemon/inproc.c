/* inproc.c: ttaid's threads in a test process (inproc.h). */
#include "inproc.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/thread.h>

#include "../harness/harness.h"

static void *loop_main(void *arg)
{
    struct inproc *p = arg;
    event_base_dispatch(p->base);
    return NULL;
}

static void *engine_main(void *arg)
{
    struct inproc *p = arg;
    while (!atomic_load(&p->engine_stop))
        if (ttai_engine_poll(p->eng, NULL) == 0)
            ttai_engine_wait(p->eng, 5);
    return NULL;
}

static void echo_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    ttai_wf_complete(wf, input);
}

const struct ttai_workflow_def inproc_echo_def = {"echo", echo_run, 0, NULL, NULL};
static const struct ttai_workflow_def *const echo_only[] = {&inproc_echo_def, NULL};
const struct ttai_registry inproc_echo_registry = {echo_only, NULL};

/* Opens the engine and the server on p->dir and starts their threads. */
static void open_on_dir(struct inproc *p, const struct ttai_registry *registry, bool poll)
{
    ASSERT(evthread_use_pthreads() == 0);
    ttai_log_setup(TTAI_LOG_ERROR, false);
    struct ttai_err err = {0};
    struct ttai_engine_opts eo = {.data_dir = p->dir, .registry = registry, .activity_threads = 1};
    ASSERT_OK(ttai_engine_open(&p->eng, &eo, &err), &err);
    p->base = event_base_new();
    ASSERT(p->base != NULL);
    struct ttai_server_opts so = {.host = "127.0.0.1", .port = 0, .workers = 2};
    ASSERT_OK(ttai_server_start(&p->srv, p->base, p->eng, &so, &err), &err);
    ttai_engine_on_close(p->eng, ttai_server_run_closed, p->srv);
    ttai_engine_on_batch(p->eng, ttai_server_batch, p->srv);
    p->port = ttai_server_port(p->srv);
    ASSERT(pthread_create(&p->loop, NULL, loop_main, p) == 0);
    p->polled = poll;
    if (poll)
        ASSERT(pthread_create(&p->engine, NULL, engine_main, p) == 0);
}

void inproc_start(struct inproc *p, const char *name, const struct ttai_registry *registry,
                  bool poll)
{
    memset(p, 0, sizeof(*p));
    /* mkdtemp replaces the six X's with a unique suffix. */
    snprintf(p->dir, sizeof(p->dir), "/tmp/ttai-%s-XXXXXX", name);
    ASSERT(mkdtemp(p->dir) != NULL);
    open_on_dir(p, registry, poll);
}

/* Breaks the loop from inside it: event_base_loopbreak from another thread
 * is lost when it comes before the loop has begun. */
static void loop_break(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Stops everything and keeps the directory. */
static void close_all(struct inproc *p)
{
    ASSERT(event_base_once(p->base, -1, EV_TIMEOUT, loop_break, p->base,
                           &(struct timeval){0, 0}) == 0);
    ASSERT(pthread_join(p->loop, NULL) == 0);
    atomic_store(&p->engine_stop, true);
    if (p->polled)
        ASSERT(pthread_join(p->engine, NULL) == 0);
    ttai_engine_on_close(p->eng, NULL, NULL);
    ttai_engine_on_batch(p->eng, NULL, NULL);
    ttai_server_stop(p->srv);
    ttai_engine_close(p->eng);
    ttai_server_free(p->srv);
    event_base_free(p->base);
}

void inproc_restart(struct inproc *p, const struct ttai_registry *registry)
{
    close_all(p);
    bool poll = p->polled;
    char dir[sizeof(p->dir)];
    memcpy(dir, p->dir, sizeof(dir));
    memset(p, 0, sizeof(*p));
    memcpy(p->dir, dir, sizeof(dir));
    open_on_dir(p, registry, poll);
}

void inproc_stop(struct inproc *p)
{
    close_all(p);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
    ASSERT(system(cmd) == 0);
}

int inproc_http_send(int port, const char *method, const char *path, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct timeval tv = {10, 0}; /* a reply that never comes fails the test */
    ASSERT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    char head[1024];
    size_t body_len = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, body_len);
    ASSERT(n > 0 && (size_t)n < sizeof(head));
    ASSERT(write(fd, head, (size_t)n) == n);
    for (size_t sent = 0; sent < body_len;) { /* a body of any size */
        ssize_t w = write(fd, body + sent, body_len - sent);
        ASSERT(w > 0);
        sent += (size_t)w;
    }
    return fd;
}

int inproc_http_status(int fd, char *out, size_t cap)
{
    size_t got = 0;
    ssize_t n;
    while (got + 1 < cap && (n = read(fd, out + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fd);
    const char *sp = strchr(out, ' ');
    return sp != NULL ? atoi(sp + 1) : 0;
}

int inproc_http(int port, const char *method, const char *path, const char *body, char *out,
                size_t cap)
{
    return inproc_http_status(inproc_http_send(port, method, path, body), out, cap);
}
