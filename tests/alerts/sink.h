/* sink.h: a loopback HTTP server that records every request it receives
 * (path, body, a few headers) and answers with a scripted status per
 * path: each path's script is consumed in order, then every request gets
 * 200 with the body "ok". libevent's evhttp on its own thread, 127.0.0.1,
 * an ephemeral port. */
#ifndef TTAI_TEST_ALERTS_SINK_H
#define TTAI_TEST_ALERTS_SINK_H

#include <stdbool.h>
#include <stddef.h>

#define SINK_RECORDS_MAX 256

struct sink;

/* One received request. */
struct sink_request {
    char path[128];
    char *body;                      /* NUL-terminated; free() */
    char content_type[128];
    char idempotency_key[256];
    char authorization[256];
    char x_team[64];                 /* an "X-Team" header */
    int status;                      /* what the sink answered */
};

struct sink *sink_start(void);
void sink_stop(struct sink *s);
/* "http://127.0.0.1:PORT" + path into out. */
void sink_url(const struct sink *s, const char *path, char *out, size_t size);
/* The next count requests to path are answered with codes, in order. */
void sink_script(struct sink *s, const char *path, const int *codes, size_t count);
/* Requests recorded for path (NULL: for every path). */
int sink_count(struct sink *s, const char *path);
/* A copy of the n-th request (0-based) to path (NULL: any path); false
 * when there is none. The caller frees req->body. */
bool sink_request(struct sink *s, const char *path, int n, struct sink_request *req);

#endif
