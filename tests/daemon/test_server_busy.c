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
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ttai.h"

#include "../harness/gate_workflow.h"
#include "../harness/harness.h"
#include "inproc.h"

/* ---- Workflows ------------------------------------------------------------ */

static const struct ttai_workflow_def *const workflows[] = {&wf_gate, &inproc_echo_def, NULL};
static const struct ttai_registry registry = {workflows, NULL};

static struct inproc proc;

static void *gate_starter(void *arg)
{
    (void)arg;
    struct ttai_err e;
    int rc = ttai_engine_start(proc.eng, "default", "gate", "g1", (struct ttai_payload){0},
                               NULL, NULL, &e);
    return (void *)(intptr_t)rc;
}

/* ---- The test ------------------------------------------------------------- */

int main(void)
{
    inproc_start(&proc, "server-busy", &registry, true);
    int port = proc.port;
    pthread_t holder;

    /* An ordinary start first: answered 201. */
    char reply[4096];
    int fd = inproc_http_send(port, "POST", "/api/v1/namespaces/default/workflows",
                       "{\"type\": \"echo\", \"id\": \"e0\", \"input\": 0}");
    ASSERT_EQ(inproc_http_status(fd, reply, sizeof(reply)), 201);

    /* Hold the engine lock, then start over HTTP. */
    ASSERT(pthread_create(&holder, NULL, gate_starter, NULL) == 0);
    while (!atomic_load(&gate_entered))
        sched_yield();
    int start_fd = inproc_http_send(port, "POST", "/api/v1/namespaces/default/workflows",
                             "{\"type\": \"echo\", \"id\": \"e1\", \"input\": 41}");
    /* The loop is not blocked: health and a refused start (unknown type,
     * refused before the queue) are answered while the start waits. */
    for (int i = 0; i < 3; i++) {
        fd = inproc_http_send(port, "GET", "/healthz", NULL);
        ASSERT_EQ(inproc_http_status(fd, reply, sizeof(reply)), 200);
    }
    fd = inproc_http_send(port, "POST", "/api/v1/namespaces/default/workflows",
                   "{\"type\": \"nope\", \"id\": \"x\"}");
    ASSERT_EQ(inproc_http_status(fd, reply, sizeof(reply)), 404);
    ASSERT(!atomic_load(&gate_open)); /* the lock was held all along */
    atomic_store(&gate_open, true);
    void *held_rc;
    ASSERT(pthread_join(holder, &held_rc) == 0);
    ASSERT_EQ((int)(intptr_t)held_rc, 0);
    ASSERT_EQ(inproc_http_status(start_fd, reply, sizeof(reply)), 201);
    ASSERT(strstr(reply, "\"workflow_id\":\"e1\"") != NULL || strstr(reply, "\"workflow_id\": \"e1\"") != NULL);

    /* It runs: its result is its input. */
    fd = inproc_http_send(port, "GET", "/api/v1/namespaces/default/workflows/e1/result?wait=1&timeout_ms=10000",
                   NULL);
    ASSERT_EQ(inproc_http_status(fd, reply, sizeof(reply)), 200);
    ASSERT(strstr(reply, "41") != NULL);

    inproc_stop(&proc);
    printf("ok server busy\n");
    return 0;
}
