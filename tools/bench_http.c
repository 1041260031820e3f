/* bench_http.c: the load generator's HTTP/1.1 client (bench_http.h).
 *
 * A request is written with one send() as soon as it is issued; only when
 * the socket will not take it all (a connect still in progress, a full
 * buffer) does the call wait for EPOLLOUT. Every connection stays in the
 * epoll set for EPOLLIN from its connect to its close, so a request costs
 * a send, a recv and its share of one epoll_wait: no epoll_ctl per request.
 */
#include "bench_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CALL_TIMEOUT_NS (90LL * 1000000000LL) /* longer than any long-poll the bench makes */
#define EVENTS_MAX 128
#define IN_CHUNK 16384

struct http_client {
    int epfd;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host_header[300];             /* HOST:PORT */
    char auth[600];                    /* "Authorization: Bearer ...\r\n" or "" */
    size_t in_flight;
    struct http_call **calls;          /* every initialised call, for the deadlines */
    size_t call_count, call_cap;
    bool failed;
    char error[600];
};

void http_client_fail(struct http_client *cl, const char *fmt, ...)
{
    if (cl->failed)
        return;
    cl->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cl->error, sizeof(cl->error), fmt, ap);
    va_end(ap);
}

bool http_client_failed(const struct http_client *cl)
{
    return cl->failed;
}

const char *http_client_error(const struct http_client *cl)
{
    return cl->error;
}

int http_client_new(struct http_client **out, const char *host, int port, const char *token)
{
    *out = NULL;
    struct http_client *cl = ttai_calloc(1, sizeof(*cl));
    if (cl == NULL)
        return TTAI_ENOMEM;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, service, &hints, &ai) != 0 || ai == NULL ||
        ai->ai_addrlen > sizeof(cl->addr)) {
        if (ai != NULL)
            freeaddrinfo(ai);
        ttai_free(cl);
        return TTAI_EIO;
    }
    memcpy(&cl->addr, ai->ai_addr, ai->ai_addrlen);
    cl->addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    cl->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (cl->epfd < 0) {
        ttai_free(cl);
        return TTAI_EIO;
    }
    snprintf(cl->host_header, sizeof(cl->host_header), "%s:%d", host, port);
    if (token != NULL)
        snprintf(cl->auth, sizeof(cl->auth), "Authorization: Bearer %s\r\n", token);
    *out = cl;
    return TTAI_OK;
}

void http_client_free(struct http_client *cl)
{
    if (cl == NULL)
        return;
    close(cl->epfd);
    ttai_free(cl->calls);
    ttai_free(cl);
}

void http_call_init(struct http_client *cl, struct http_call *c, void *owner)
{
    memset(c, 0, sizeof(*c));
    c->cl = cl;
    c->fd = -1;
    c->owner = owner;
    if (cl->call_count == cl->call_cap) {
        size_t cap = cl->call_cap ? cl->call_cap * 2 : 64;
        struct http_call **grown = ttai_realloc(cl->calls, cap * sizeof(*grown));
        if (grown == NULL) {
            http_client_fail(cl, "out of memory");
            return;
        }
        cl->calls = grown;
        cl->call_cap = cap;
    }
    cl->calls[cl->call_count++] = c;
}

static void conn_close(struct http_call *c)
{
    if (c->fd >= 0) {
        epoll_ctl(c->cl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->reused = false;
    c->want_out = false;
}

static void call_settle(struct http_call *c)
{
    if (c->in_flight) {
        c->in_flight = false;
        c->cl->in_flight--;
    }
}

void http_call_release(struct http_call *c)
{
    struct http_client *cl = c->cl;
    if (cl == NULL)
        return;
    call_settle(c);
    conn_close(c);
    for (size_t i = 0; i < cl->call_count; i++)
        if (cl->calls[i] == c) {
            cl->calls[i] = cl->calls[--cl->call_count];
            break;
        }
    ttai_free(c->out);
    ttai_free(c->in);
    ttai_free(c->resp);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static void call_fail(struct http_call *c, const char *what, int err)
{
    http_client_fail(c->cl, "%s %s: %s", what, c->cl->host_header, strerror(err));
    call_settle(c);
    conn_close(c);
}

static bool watch(struct http_call *c, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(c->cl->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return false;
    c->want_out = want_out;
    return true;
}

static bool conn_open(struct http_call *c)
{
    struct http_client *cl = c->cl;
    c->fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&cl->addr, cl->addr_len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        errno = e;
        return false;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(cl->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        errno = e;
        return false;
    }
    c->reused = false;
    c->want_out = false;
    return true;
}

/* Writes what the socket takes of the request; waits for EPOLLOUT for the rest. */
static void send_some(struct http_call *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out && !watch(c, true))
                call_fail(c, "cannot watch the connection to", errno);
            return;
        }
        int e = n < 0 ? errno : EPIPE;
        call_fail(c, e == ECONNREFUSED ? "cannot reach ttaid at" : "cannot send to", e);
        return;
    }
    if (c->want_out && !watch(c, false))
        call_fail(c, "cannot watch the connection to", errno);
}

static bool out_reserve(struct http_call *c, size_t need)
{
    if (need <= c->out_cap)
        return true;
    size_t cap = c->out_cap ? c->out_cap : 1024;
    while (cap < need)
        cap *= 2;
    char *grown = ttai_realloc(c->out, cap);
    if (grown == NULL)
        return false;
    c->out = grown;
    c->out_cap = cap;
    return true;
}

static void send_request(struct http_call *c)
{
    c->out_off = 0;
    c->in_len = 0;
    c->head_len = 0;
    c->content_length = -1;
    c->close_after = false;
    if (c->fd < 0 && !conn_open(c)) {
        call_fail(c, "cannot reach ttaid at", errno);
        return;
    }
    send_some(c);
}

void http_call_issue(struct http_call *c, const char *path, const char *body)
{
    struct http_client *cl = c->cl;
    if (cl->failed)
        return;
    size_t body_len = body ? strlen(body) : 0;
    size_t need = strlen(path) + strlen(cl->host_header) + strlen(cl->auth) + body_len + 160;
    if (!out_reserve(c, need)) {
        http_client_fail(cl, "out of memory");
        return;
    }
    int n;
    if (body != NULL)
        n = snprintf(c->out, c->out_cap,
                     "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     path, cl->host_header, cl->auth, body_len, body);
    else
        n = snprintf(c->out, c->out_cap, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path,
                     cl->host_header, cl->auth);
    if (n < 0 || (size_t)n >= c->out_cap) {
        http_client_fail(cl, "a request too long for its buffer");
        return;
    }
    c->out_len = (size_t)n;
    c->status = 0;
    c->resent = false;
    c->in_flight = true;
    c->deadline_ns = ttai_mono_ns() + CALL_TIMEOUT_NS;
    cl->in_flight++;
    send_request(c);
}

/* The header named name (with its colon) in the head, or NULL. */
static const char *header_value(const char *head, size_t len, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = memchr(head, '\n', len); /* past the status line */
    while (p != NULL && (size_t)(p + 1 - head) < len) {
        p++;
        size_t left = len - (size_t)(p - head);
        if (left > nlen && strncasecmp(p, name, nlen) == 0) {
            p += nlen;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
        p = memchr(p, '\n', left);
    }
    return NULL;
}

/* Parses the status line and headers once they are all in; false on a
 * malformed answer (the client has failed). */
static bool parse_head(struct http_call *c)
{
    char *end = NULL;
    for (size_t i = 3; i < c->in_len; i++)
        if (c->in[i] == '\n' && c->in[i - 1] == '\r' && c->in[i - 2] == '\n' &&
            c->in[i - 3] == '\r') {
            end = c->in + i + 1;
            break;
        }
    if (end == NULL)
        return true; /* not all in yet */
    size_t head_len = (size_t)(end - c->in);
    if (head_len < 12 || strncmp(c->in, "HTTP/1.", 7) != 0) {
        http_client_fail(c->cl, "a malformed answer from %s", c->cl->host_header);
        return false;
    }
    c->status = strtol(c->in + 9, NULL, 10);
    const char *te = header_value(c->in, head_len, "transfer-encoding:");
    if (te != NULL && strncasecmp(te, "chunked", 7) == 0) {
        http_client_fail(c->cl, "a chunked answer from %s (not supported here)",
                         c->cl->host_header);
        return false;
    }
    const char *cl_value = header_value(c->in, head_len, "content-length:");
    c->content_length = cl_value ? strtoll(cl_value, NULL, 10) : -1;
    const char *conn = header_value(c->in, head_len, "connection:");
    c->close_after = (conn != NULL && strncasecmp(conn, "close", 5) == 0) ||
                     strncmp(c->in, "HTTP/1.0", 8) == 0;
    c->head_len = head_len;
    return true;
}

static void answer_done(struct http_call *c, size_t body_len)
{
    char *resp = ttai_realloc(c->resp, body_len + 1);
    if (resp == NULL) {
        http_client_fail(c->cl, "out of memory");
        return;
    }
    memcpy(resp, c->in + c->head_len, body_len);
    resp[body_len] = '\0';
    c->resp = resp;
    c->resp_len = body_len;
    bool extra = c->in_len > c->head_len + body_len;
    c->in_len = 0;
    call_settle(c);
    c->reused = true;
    if (c->close_after || extra)
        conn_close(c); /* an answer nobody asked for: start afresh */
    if (c->done != NULL)
        c->done(c->cl, c);
}

/* The server closed the connection. */
static void on_eof(struct http_call *c)
{
    if (!c->in_flight) {
        conn_close(c); /* an idle kept-alive connection, closed by the server */
        return;
    }
    if (c->head_len > 0 && c->content_length < 0) {
        size_t body_len = c->in_len - c->head_len;
        conn_close(c);
        answer_done(c, body_len);
        return;
    }
    if (c->in_len == 0 && c->reused && !c->resent) {
        /* It closed the kept-alive connection as the request went out:
         * the request was not read; send it again on a new one. */
        conn_close(c);
        c->resent = true;
        send_request(c);
        return;
    }
    http_client_fail(c->cl, "%s closed the connection in the middle of an answer",
                     c->cl->host_header);
    call_settle(c);
    conn_close(c);
}

static void on_readable(struct http_call *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < IN_CHUNK) {
            char *grown = ttai_realloc(c->in, c->in_cap + IN_CHUNK * 2);
            if (grown == NULL) {
                http_client_fail(c->cl, "out of memory");
                return;
            }
            c->in = grown;
            c->in_cap += IN_CHUNK * 2;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n == 0) {
            on_eof(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == ECONNRESET && c->in_flight && c->in_len == 0 && c->reused && !c->resent) {
                on_eof(c);
                return;
            }
            call_fail(c, errno == ECONNREFUSED ? "cannot reach ttaid at" : "lost the connection to",
                      errno);
            return;
        }
        c->in_len += (size_t)n;
        if (!c->in_flight) {
            http_client_fail(c->cl, "an answer nobody asked for from %s", c->cl->host_header);
            return;
        }
        if (c->head_len == 0 && !parse_head(c))
            return;
        if (c->head_len > 0 && c->content_length >= 0 &&
            c->in_len >= c->head_len + (size_t)c->content_length) {
            answer_done(c, (size_t)c->content_length);
            return;
        }
    }
}

static void check_deadlines(struct http_client *cl, int64_t now)
{
    for (size_t i = 0; i < cl->call_count; i++) {
        struct http_call *c = cl->calls[i];
        if (c->in_flight && now > c->deadline_ns) {
            http_client_fail(cl, "%s did not answer within %lld s", cl->host_header,
                             CALL_TIMEOUT_NS / 1000000000LL);
            call_settle(c);
            conn_close(c);
        }
    }
}

void http_client_run(struct http_client *cl)
{
    struct epoll_event ev[EVENTS_MAX];
    int64_t next_check = ttai_mono_ns() + 1000000000LL;
    while (cl->in_flight > 0 && !cl->failed) {
        int n = epoll_wait(cl->epfd, ev, EVENTS_MAX, 1000);
        if (n < 0 && errno != EINTR) {
            http_client_fail(cl, "epoll_wait: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < n && !cl->failed; i++) {
            struct http_call *c = ev[i].data.ptr;
            if (c->fd < 0)
                continue; /* closed by an earlier event of this batch */
            if ((ev[i].events & EPOLLOUT) && c->in_flight && c->out_off < c->out_len) {
                int err = 0;
                socklen_t len = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0) {
                    call_fail(c, "cannot reach ttaid at", err);
                    continue;
                }
                send_some(c);
            }
            if (c->fd >= 0 && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                on_readable(c);
        }
        int64_t now = ttai_mono_ns();
        if (now >= next_check) {
            check_deadlines(cl, now);
            next_check = now + 1000000000LL;
        }
    }
}
