/* test_server_busy.c: the HTTP loop never waits for the engine lock.
 *
 * ttaid parses a start on its HTTP loop thread and queues it for the engine
 * thread, which makes it in its next round (ttai_engine_start_async). Here
 * a thread holds the engine lock (it starts a `gate` workflow whose first
 * task waits until the test opens the gate), so the engine thread cannot
 * poll; a start arrives over HTTP, and the test checks that the loop keeps
 * answering (/healthz, and a start refused by the checks made before the
 * queue) while that start waits, and that the start is answered 201 and
 * runs once the lock is free. The server and the engine run in this
 * process, as in ttaid: the loop on its own thread, the engine polled by
 * another.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "server.h"
#include "ttai.h"

#include "../harness/gate_workflow.h"
#include "../harness/harness.h"

/* ---- Workflows ------------------------------------------------------------ */

/* Completes with its input. */
static void echo_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    ttai_wf_complete(wf, input);
}

static const struct ttai_workflow_def wf_echo = {"echo", echo_run, 0, NULL, NULL};
static const struct ttai_workflow_def *const workflows[] = {&wf_gate, &wf_echo, NULL};
static const struct ttai_registry registry = {workflows, NULL};

/* ---- The daemon's threads ------------------------------------------------- */

static struct event_base *base;
static struct ttai_engine *eng;
static atomic_bool engine_stop;

static void *loop_main(void *arg)
{
    (void)arg;
    event_base_dispatch(base);
    return NULL;
}

static void *engine_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&engine_stop))
        if (ttai_engine_poll(eng, NULL) == 0)
            ttai_engine_wait(eng, 5);
    return NULL;
}

static void *gate_starter(void *arg)
{
    (void)arg;
    struct ttai_err e;
    int rc = ttai_engine_start(eng, "default", "gate", "g1", (struct ttai_payload){0}, NULL, NULL, &e);
    return (void *)(intptr_t)rc;
}

/* ---- A blocking HTTP client ----------------------------------------------- */

static int http_send(int port, const char *method, const char *path, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct timeval tv = {10, 0}; /* a reply that never comes fails the test */
    ASSERT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    ASSERT(write(fd, req, (size_t)n) == n);
    return fd;
}

/* Reads the whole answer (the server closes); returns its status code. */
static int http_status(int fd, char *out, size_t cap)
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

/* ---- The test ------------------------------------------------------------- */

int main(void)
{
    char dir[] = "/tmp/ttai-server-busy-XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    ASSERT(evthread_use_pthreads() == 0);
    ttai_log_setup(TTAI_LOG_ERROR, false);
    struct ttai_err err = {0};
    struct ttai_engine_opts eo = {.data_dir = dir, .registry = &registry, .activity_threads = 1};
    ASSERT_OK(ttai_engine_open(&eng, &eo, &err), &err);
    base = event_base_new();
    ASSERT(base != NULL);
    struct ttai_server *srv;
    struct ttai_server_opts so = {.host = "127.0.0.1", .port = 0, .workers = 2};
    ASSERT_OK(ttai_server_start(&srv, base, eng, &so, &err), &err);
    ttai_engine_on_close(eng, ttai_server_run_closed, srv);
    int port = ttai_server_port(srv);
    pthread_t loop, engine, holder;
    ASSERT(pthread_create(&loop, NULL, loop_main, NULL) == 0);
    ASSERT(pthread_create(&engine, NULL, engine_main, NULL) == 0);

    /* An ordinary start first: answered 201. */
    char reply[4096];
    int fd = http_send(port, "POST", "/api/v1/namespaces/default/workflows",
                       "{\"type\": \"echo\", \"id\": \"e0\", \"input\": 0}");
    ASSERT_EQ(http_status(fd, reply, sizeof(reply)), 201);

    /* Hold the engine lock, then start over HTTP. */
    ASSERT(pthread_create(&holder, NULL, gate_starter, NULL) == 0);
    while (!atomic_load(&gate_entered))
        sched_yield();
    int start_fd = http_send(port, "POST", "/api/v1/namespaces/default/workflows",
                             "{\"type\": \"echo\", \"id\": \"e1\", \"input\": 41}");
    /* The loop is not blocked: health and a refused start (unknown type,
     * refused before the queue) are answered while the start waits. */
    for (int i = 0; i < 3; i++) {
        fd = http_send(port, "GET", "/healthz", NULL);
        ASSERT_EQ(http_status(fd, reply, sizeof(reply)), 200);
    }
    fd = http_send(port, "POST", "/api/v1/namespaces/default/workflows",
                   "{\"type\": \"nope\", \"id\": \"x\"}");
    ASSERT_EQ(http_status(fd, reply, sizeof(reply)), 404);
    ASSERT(!atomic_load(&gate_open)); /* the lock was held all along */
    atomic_store(&gate_open, true);
    void *held_rc;
    ASSERT(pthread_join(holder, &held_rc) == 0);
    ASSERT_EQ((int)(intptr_t)held_rc, 0);
    ASSERT_EQ(http_status(start_fd, reply, sizeof(reply)), 201);
    ASSERT(strstr(reply, "\"workflow_id\":\"e1\"") != NULL || strstr(reply, "\"workflow_id\": \"e1\"") != NULL);

    /* It runs: its result is its input. */
    fd = http_send(port, "GET", "/api/v1/namespaces/default/workflows/e1/result?wait=1&timeout_ms=10000",
                   NULL);
    ASSERT_EQ(http_status(fd, reply, sizeof(reply)), 200);
    ASSERT(strstr(reply, "41") != NULL);

    event_base_loopbreak(base);
    ASSERT(pthread_join(loop, NULL) == 0);
    atomic_store(&engine_stop, true);
    ASSERT(pthread_join(engine, NULL) == 0);
    ttai_server_free(srv);
    ttai_engine_close(eng);
    event_base_free(base);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT(system(cmd) == 0);
    printf("ok server busy\n");
    return 0;
}
