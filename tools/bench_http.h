/* bench_http.h: the load generator's HTTP/1.1 client.
 *
 * One thread drives every request through one epoll set: a call is one
 * kept-alive connection carrying one request at a time, its answer read
 * whole (Content-Length, or until the server closes) before the call's
 * done callback runs. It is lean on purpose: `ttai-bench e2e` shares the
 * machine's two cores with the daemon it measures, and every microsecond
 * the client spends per request is taken from the daemon. It speaks only
 * what ttaid answers: no TLS, no redirects, no chunked bodies.
 */
#ifndef TTAI_BENCH_HTTP_H
#define TTAI_BENCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct http_client;
struct http_call;
typedef void (*http_call_done_fn)(struct http_client *cl, struct http_call *c);

/* One connection and its current request. The caller sets done and owner
 * and reads status and resp; the rest belongs to bench_http.c. */
struct http_call {
    long status;                 /* the answer's HTTP status */
    char *resp;                  /* the answer's body, NUL-terminated; NULL before any */
    size_t resp_len;
    http_call_done_fn done;      /* runs once the answer is in; NULL: nothing */
    void *owner;

    struct http_client *cl;
    int fd;                      /* -1: not connected */
    bool reused;                 /* the connection carried an earlier request */
    bool resent;                 /* this request was sent again on a new connection */
    bool in_flight;
    bool want_out;               /* EPOLLOUT registered: the request did not fit at once */
    int64_t deadline_ns;
    char *out;                   /* the request as sent */
    size_t out_len, out_off, out_cap;
    char *in;                    /* the answer as read */
    size_t in_len, in_cap;
    size_t head_len;             /* status line and headers, once complete */
    long long content_length;    /* -1: the body ends when the server closes */
    bool close_after;            /* Connection: close */
};

/* A client of host:port (numeric IPv4 or a name), sending token as a
 * bearer token when not NULL. Returns TTAI_OK or TTAI_ENOMEM/TTAI_EIO. */
int http_client_new(struct http_client **out, const char *host, int port, const char *token);
void http_client_free(struct http_client *cl);

void http_call_init(struct http_client *cl, struct http_call *c, void *owner);
void http_call_release(struct http_call *c);
/* Sends a request: POST with body (JSON) when body is not NULL, else GET.
 * The answer arrives in http_client_run. */
void http_call_issue(struct http_call *c, const char *path, const char *body);

/* Runs until no call is in flight or the client failed. */
void http_client_run(struct http_client *cl);

/* The first failure (connection refused or lost, a malformed answer, a
 * call past its deadline, or one reported by the caller) stops the run. */
void http_client_fail(struct http_client *cl, const char *fmt, ...) TTAI_PRINTF(2, 3);
bool http_client_failed(const struct http_client *cl);
const char *http_client_error(const struct http_client *cl);

#endif
