/* bench_parked.c: N result long-polls parked on idle workflows (see
 * bench_parked.h).
 *
 * The workflows are started and stopped through the benchmark's client,
 * 64 requests in flight. The long-polls go over plain blocking sockets,
 * one each, outside that client: it runs until nothing of its own is in
 * flight, and these are meant to stay in flight through every workload.
 */
#include "bench_parked.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base.h"

#define PARKED_IN_FLIGHT 64
#define PARKED_POLL_MS 3600000          /* the long-polls' timeout: longer than any run */
#define PARKED_SETTLE_MS 60000          /* for all N to be parked, and later answered */

struct bench_parked {
    char host[256];
    int port;
    char token[512];                    /* "" when none */
    char ns[128];
    char tag[96];
    long n;
    long started;                       /* workflows started (stopped again at close) */
    int *fds;                           /* one connection per long-poll; -1: none */
};

static void fail(char *err, size_t size, const char *fmt, ...) TTAI_PRINTF(3, 4);

static void fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

/* ---- Starts and stops, PARKED_IN_FLIGHT at a time ------------------------------ */

struct batch {
    struct bench_parked *p;
    bool stop;                          /* signal `stop` (else start) */
    long total, issued, ok;
};

struct batch_slot {
    struct http_call call;
    struct batch *b;
};

static void batch_next(struct batch_slot *s)
{
    struct batch *b = s->b;
    if (b->issued >= b->total)
        return;
    long i = b->issued++;
    char path[512], body[512];
    if (b->stop) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/workflows/%s-park-%ld/signals/stop",
                 b->p->ns, b->p->tag, i);
        http_call_issue(&s->call, path, "{}");
    } else {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/workflows", b->p->ns);
        snprintf(body, sizeof(body), "{\"type\":\"counter\",\"id\":\"%s-park-%ld\",\"input\":{}}",
                 b->p->tag, i);
        http_call_issue(&s->call, path, body);
    }
}

static void batch_done(struct http_client *cl, struct http_call *c)
{
    struct batch_slot *s = c->owner;
    long want = s->b->stop ? 200 : 201;
    if (c->status != want) {
        http_client_fail(cl, "%s of a parked counter: HTTP %ld %s", s->b->stop ? "stop" : "start",
                         c->status, c->resp ? c->resp : "");
        return;
    }
    s->b->ok++;
    batch_next(s);
}

/* Runs the batch; returns how many requests were answered as wanted. */
static long batch_run(struct http_client *cl, struct bench_parked *p, bool stop, long total)
{
    struct batch b = {.p = p, .stop = stop, .total = total};
    struct batch_slot slots[PARKED_IN_FLIGHT];
    long used = total < PARKED_IN_FLIGHT ? total : PARKED_IN_FLIGHT;
    for (long i = 0; i < used; i++) {
        http_call_init(cl, &slots[i].call, &slots[i]);
        slots[i].call.done = batch_done;
        slots[i].b = &b;
    }
    for (long i = 0; i < used; i++)
        batch_next(&slots[i]);
    http_client_run(cl);
    for (long i = 0; i < used; i++)
        http_call_release(&slots[i].call);
    return b.ok;
}

/* Stops the counters started so far, through a client of its own (the
 * benchmark's may have failed, and a failed client sends nothing more).
 * Returns how many were stopped; err says why when not all. */
static long stop_started(struct bench_parked *p, char *err, size_t err_size)
{
    if (p->started == 0)
        return 0;
    struct http_client *cl = NULL;
    if (http_client_new(&cl, p->host, p->port, p->token[0] ? p->token : NULL) != TTAI_OK) {
        fail(err, err_size, "cannot make a client to stop the parked counters");
        return 0;
    }
    long stopped = batch_run(cl, p, true, p->started);
    if (stopped < p->started)
        fail(err, err_size, "stopping the parked counters: %s", http_client_error(cl));
    http_client_free(cl);
    return stopped;
}

/* The daemon's ttai_http_long_polls_parked, or -1. */
static long parked_gauge(struct http_client *cl)
{
    struct http_call c;
    http_call_init(cl, &c, NULL);
    http_call_issue(&c, "/metrics", NULL);
    http_client_run(cl);
    long v = -1;
    const char *at = c.status == 200 && c.resp ? strstr(c.resp, "\nttai_http_long_polls_parked ") : NULL;
    if (at != NULL)
        v = strtol(at + strlen("\nttai_http_long_polls_parked "), NULL, 10);
    http_call_release(&c);
    return v;
}

/* ---- The long-polls' connections ------------------------------------------------- */

static bool send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* A connection to ai. To a daemon on 127.0.0.1 it comes from 127.0.0.2:
 * from the same address, N parked connections would occupy N of the
 * ephemeral ports towards the daemon, and every later connect() of the
 * benchmark (each workload opens its own) would search past them in the
 * kernel (__inet_hash_connect): with 15,000 parked that search cost W2
 * about half its rate, in the client and the daemon alike. */
static int connect_to(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    const struct sockaddr_in *to = (const struct sockaddr_in *)ai->ai_addr;
    if (ai->ai_family == AF_INET && to->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
        int one = 1;
        struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1)};
        /* The port is chosen at connect(), against the whole 4-tuple. */
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (const struct sockaddr *)&from, sizeof(from)) != 0) {
            close(fd);
            return -1;
        }
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one answer (status line, headers, Content-Length body) into buf;
 * false when it did not come whole within PARKED_SETTLE_MS. */
static bool read_answer(int fd, char *buf, size_t size)
{
    size_t len = 0;
    long long body_len = -1;
    size_t head_len = 0;
    int64_t deadline = ttai_mono_ns() + (int64_t)PARKED_SETTLE_MS * 1000000;
    while (len + 1 < size) {
        if (body_len >= 0 && len >= head_len + (size_t)body_len)
            break;
        int64_t left = (deadline - ttai_mono_ns()) / 1000000;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return false;
        ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        if (body_len < 0) {
            char *end = strstr(buf, "\r\n\r\n");
            if (end != NULL) {
                head_len = (size_t)(end + 4 - buf);
                const char *cl = strcasestr(buf, "\r\nContent-Length:");
                if (cl == NULL || cl > end)
                    return false;
                body_len = strtoll(cl + strlen("\r\nContent-Length:"), NULL, 10);
            }
        }
    }
    buf[len] = '\0';
    return body_len >= 0 && len >= head_len + (size_t)body_len;
}

/* ---- Open and close ----------------------------------------------------------------- */

static void parked_free(struct bench_parked *p)
{
    if (p == NULL)
        return;
    for (long i = 0; p->fds != NULL && i < p->n; i++)
        if (p->fds[i] >= 0)
            close(p->fds[i]);
    ttai_free(p->fds);
    ttai_free(p);
}

/* A failed open: the counters started so far are stopped (their
 * long-polls answered), the connections closed. Returns NULL; the open's
 * message stays in err. */
static struct bench_parked *open_failed(struct bench_parked *p)
{
    char ignored[256];
    (void)stop_started(p, ignored, sizeof(ignored));
    parked_free(p);
    return NULL;
}

struct bench_parked *bench_parked_open(struct http_client *cl, const char *host, int port,
                                       const char *token, const char *ns, const char *tag, long n,
                                       char *err, size_t err_size)
{
    struct bench_parked *p = ttai_calloc(1, sizeof(*p));
    if (p == NULL || (p->fds = ttai_malloc((size_t)n * sizeof(*p->fds))) == NULL) {
        ttai_free(p);
        fail(err, err_size, "out of memory for %ld parked long-polls", n);
        return NULL;
    }
    p->n = n;
    for (long i = 0; i < n; i++)
        p->fds[i] = -1;
    snprintf(p->host, sizeof(p->host), "%s", host);
    p->port = port;
    snprintf(p->token, sizeof(p->token), "%s", token ? token : "");
    snprintf(p->ns, sizeof(p->ns), "%s", ns);
    snprintf(p->tag, sizeof(p->tag), "%s", tag);

    long before = parked_gauge(cl);
    if (before < 0) {
        fail(err, err_size, "the daemon's /metrics has no ttai_http_long_polls_parked: "
                            "--parked needs a ttaid that reports it");
        parked_free(p);
        return NULL;
    }
    p->started = batch_run(cl, p, false, n);
    if (p->started < n) {
        fail(err, err_size, "%s", http_client_error(cl));
        return open_failed(p);
    }

    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, service, &hints, &ai) != 0 || ai == NULL) {
        fail(err, err_size, "cannot resolve '%s'", host);
        return open_failed(p);
    }
    char auth[600] = "";
    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    for (long i = 0; i < n; i++) {
        char req[1200];
        int len = snprintf(req, sizeof(req),
                           "GET /api/v1/namespaces/%s/workflows/%s-park-%ld/result?wait=1&timeout_ms=%d "
                           "HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n",
                           ns, tag, i, PARKED_POLL_MS, host, port, auth);
        p->fds[i] = connect_to(ai);
        if (p->fds[i] < 0 || len <= 0 || (size_t)len >= sizeof(req) ||
            !send_all(p->fds[i], req, (size_t)len)) {
            fail(err, err_size, "parked long-poll %ld of %ld: %s", i + 1, n, strerror(errno));
            freeaddrinfo(ai);
            return open_failed(p);
        }
    }
    freeaddrinfo(ai);

    /* The daemon reads them as its loop gets to them: wait until it holds
     * all n, so that the workloads run with every one of them parked. */
    int64_t deadline = ttai_mono_ns() + (int64_t)PARKED_SETTLE_MS * 1000000;
    long now = before;
    while ((now = parked_gauge(cl)) >= 0 && now < before + n && ttai_mono_ns() < deadline)
        usleep(20000);
    if (now < before + n) {
        fail(err, err_size, "only %ld of %ld long-polls were parked after %d s (is the daemon's "
                            "open-file limit below %ld?)",
             now - before, n, PARKED_SETTLE_MS / 1000, BENCH_PARKED_FILES(n));
        return open_failed(p);
    }
    return p;
}

bool bench_parked_close(struct bench_parked *p, char *err, size_t err_size)
{
    if (p == NULL)
        return true;
    bool ok = true;
    /* None may have been answered yet: their workflows are all running. */
    long early = 0;
    for (long i = 0; i < p->n; i++) {
        char c;
        ssize_t r = recv(p->fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
        early += r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
    if (early > 0) {
        fail(err, err_size, "%ld parked long-polls were answered or closed before their "
                            "workflows closed", early);
        ok = false;
    }
    char stop_err[512];
    if (stop_started(p, stop_err, sizeof(stop_err)) < p->started) {
        if (ok)
            fail(err, err_size, "%s", stop_err);
        ok = false;
    }
    /* Now each is answered with its counter's result (0: no signal added). */
    for (long i = 0; ok && i < p->n; i++) {
        char answer[4096] = "";
        if (!read_answer(p->fds[i], answer, sizeof(answer)) ||
            strncmp(answer, "HTTP/1.1 200", 12) != 0 ||
            strstr(answer, "{\"status\":\"completed\",\"result\":0}") == NULL) {
            fail(err, err_size, "parked long-poll %ld was not answered with its workflow's result "
                                "once it closed: %.200s", i, answer);
            ok = false;
        }
    }
    parked_free(p);
    return ok;
}
