/* inproc.h: ttaid's threads in a test process, and a blocking HTTP client.
 *
 * The engine opens a fresh directory, the HTTP server listens on a free
 * loopback port, and the loop and the engine's polling each run on a
 * thread of their own, as in ttaid (tools/ttaid.c). Tests that need the
 * real server but also a hand on the engine (a workflow of their own, its
 * lock held) use this instead of starting the daemon.
 */
#ifndef TTAI_TESTS_INPROC_H
#define TTAI_TESTS_INPROC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <event2/event.h>

#include "server.h"
#include "ttai.h"

struct inproc {
    char dir[64];
    struct event_base *base;
    struct ttai_engine *eng;
    struct ttai_server *srv;
    int port;
    pthread_t loop, engine;
    bool polled;
    atomic_bool engine_stop;
};

/* "echo": a workflow that completes with its input, and a registry of it
 * alone, for tests that need any workflow type. */
extern const struct ttai_workflow_def inproc_echo_def;
extern const struct ttai_registry inproc_echo_registry;

/* Starts everything on a directory made from name (removed by stop);
 * without poll, no thread polls the engine (starts stay queued). */
void inproc_start(struct inproc *p, const char *name, const struct ttai_registry *registry,
                  bool poll);
/* Stops as ttaid does: the loop, the poller, the API workers, the engine,
 * then the server. */
void inproc_stop(struct inproc *p);
/* Stops everything as inproc_stop does, keeps the directory, and starts
 * again on it with registry (the port changes): a restart with new code. */
void inproc_restart(struct inproc *p, const struct ttai_registry *registry);

/* Sends one request (Connection: close) and returns the socket; a reply
 * that does not come within 10 s fails the test when it is read. */
int inproc_http_send(int port, const char *method, const char *path, const char *body);
/* Reads the whole answer into out (headers and body, NUL-terminated) and
 * returns its status code. */
int inproc_http_status(int fd, char *out, size_t cap);
/* Both: one request, its answer and status. */
int inproc_http(int port, const char *method, const char *path, const char *body, char *out,
                size_t cap);

#endif
