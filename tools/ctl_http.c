/* ctl_http.c: ttaictl's requests to ttaid, with libcurl.
 *
 * One easy handle per request: ttaictl makes a handful of requests per run,
 * so connection reuse is not worth the state. Every request has a connect
 * timeout and a total timeout, except the Server-Sent Events stream of
 * `show --follow`, which lasts as long as the run it follows.
 *
 * Invariants:
 *  1. Every failure is printed here, once, on stderr, and turned into an
 *     exit status: CTL_EXIT_UNREACHABLE for the transport (refused, timed
 *     out, cut off), CTL_EXIT_SERVER for an error answered by ttaid.
 *  2. Buffers have a limit (HTTP_BODY_BYTES_MAX, SSE_EVENT_BYTES_MAX): a
 *     daemon that talks too much is an error, never an out-of-memory.
 *  3. Proxies from the environment are ignored: ttaid is reached directly,
 *     so that "connection refused" means ttaid is not there.
 */
#include "ctl_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define CONNECT_TIMEOUT_MS 5000
#define HTTP_BODY_BYTES_MAX (64u << 20)  /* a page of history can be large, not this large */
#define SSE_EVENT_BYTES_MAX (8u << 20)   /* one event: payloads are at most 2 MiB of JSON */
#define URL_BYTES_MAX 8192

/* ---- Buffers ------------------------------------------------------------- */

struct http_buf {
    char *data;                  /* NUL-terminated when len > 0; owned */
    size_t len, cap;
    size_t toobig;               /* appends past this fail */
};

static void buf_init(struct http_buf *b, size_t toobig)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->toobig = toobig;
}

static void buf_release(struct http_buf *b)
{
    ttai_free(b->data);
    buf_init(b, b->toobig);
}

/* Appends n bytes and keeps a NUL after them. Returns 0 or -1 (too big or
 * out of memory; b is unchanged). */
static int buf_add(struct http_buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->toobig)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = ttai_realloc(b->data, cap);
        if (data == NULL)
            return -1;
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static size_t buf_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct http_buf *b = arg;
    return buf_add(b, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

/* ---- Paths ----------------------------------------------------------------- */

/* Appends an escaped path segment. "." and ".." are ids like any other,
 * but HTTP clients and servers take them for the path's own dot segments
 * (RFC 3986, 5.2.4: "/workflows/./result" is "/workflows/result"), and
 * escaping leaves dots alone: they are written %2E, which ttaid decodes. */
static int segment_add(struct http_buf *b, const char *escaped)
{
    if (strcmp(escaped, ".") == 0)
        return buf_add(b, "%2E", 3);
    if (strcmp(escaped, "..") == 0)
        return buf_add(b, "%2E%2E", 6);
    return buf_add(b, escaped, strlen(escaped));
}

char *ctl_path(const struct ctl_args *a, const char *fmt, ...)
{
    struct http_buf b;
    buf_init(&b, URL_BYTES_MAX);
    char *ns = curl_easy_escape(NULL, a->ns, 0);
    int rc = ns == NULL ? -1 : 0;
    if (rc == 0)
        rc = buf_add(&b, "/api/v1/namespaces/", 19) | segment_add(&b, ns);
    curl_free(ns);
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; rc == 0 && *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 's') {
            char *e = curl_easy_escape(NULL, va_arg(ap, const char *), 0);
            rc = e == NULL ? -1 : segment_add(&b, e);
            curl_free(e);
            p++;
        } else {
            rc = buf_add(&b, p, 1);
        }
    }
    va_end(ap);
    if (rc != 0) {
        buf_release(&b);
        return NULL;
    }
    return b.data;
}

int ctl_request_unbuildable(void)
{
    ctl_errorf("cannot build the request: its path would be over %d bytes, or memory ran "
               "out (ttaid takes workflow ids of at most 255 bytes: docs/api.md, Limits)",
               URL_BYTES_MAX);
    return CTL_EXIT_USAGE;
}

int ctl_path_query(char **path, const char *key, const char *value)
{
    if (*path == NULL)
        return -1;
    if (value == NULL)
        return 0;
    char *e = curl_easy_escape(NULL, value, 0);
    size_t size = strlen(*path) + strlen(key) + (e ? strlen(e) : 0) + 3;
    char *grown = e != NULL && size <= URL_BYTES_MAX ? ttai_realloc(*path, size) : NULL;
    if (grown == NULL) {
        curl_free(e);
        ttai_free(*path);
        *path = NULL;
        return -1;
    }
    size_t len = strlen(grown);
    snprintf(grown + len, size - len, "%c%s=%s", strchr(grown, '?') ? '&' : '?', key, e);
    curl_free(e);
    *path = grown;
    return 0;
}

void ctl_reply_release(struct ctl_reply *reply)
{
    json_decref(reply->body);
    reply->body = NULL;
    reply->status = 0;
}

/* ---- Requests ------------------------------------------------------------- */

/* A configured easy handle for path, or NULL (out of memory). total_ms 0
 * means no total timeout (streams only). *headers_out must be freed with
 * curl_slist_free_all after the transfer. */
static CURL *easy_new(const struct ctl_args *a, const char *path, long total_ms,
                      const char *accept, bool has_body, struct curl_slist **headers_out,
                      char *errbuf)
{
    char url[URL_BYTES_MAX + 256];
    int n = snprintf(url, sizeof(url), "http://%s%s", a->address, path);
    if (n < 0 || (size_t)n >= sizeof(url))
        return NULL;
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return NULL;
    struct curl_slist *h = NULL;
    char line[1024];
    snprintf(line, sizeof(line), "Accept: %s", accept);
    h = curl_slist_append(h, line);
    if (has_body) {
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    }
    if (a->token != NULL) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", a->token);
        h = curl_slist_append(h, line);
    }
    *headers_out = h;
    errbuf[0] = '\0';
    (void)curl_easy_setopt(curl, CURLOPT_URL, url); /* copied by curl */
    (void)curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    (void)curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    (void)curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* invariant 3 */
    (void)curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    (void)curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, total_ms);
    (void)curl_easy_setopt(curl, CURLOPT_USERAGENT, CTL_PROG);
    (void)curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L); /* the path is built exactly */
    return curl;
}

static int report_unreachable(const struct ctl_args *a, CURLcode rc, const char *errbuf)
{
    ctl_errorf("cannot reach ttaid at %s: %s; is it running? (ttaid --listen %s)", a->address,
               errbuf[0] ? errbuf : curl_easy_strerror(rc), a->address);
    return CTL_EXIT_UNREACHABLE;
}

/* Prints the error ttaid answered with: its code and message, and a hint. */
static int report_server_error(const struct ctl_args *a, long status, const char *body,
                               size_t len)
{
    json_t *v = body != NULL ? json_loadb(body, len, JSON_ALLOW_NUL, NULL) : NULL;
    bool schedule = a->command_name != NULL && strncmp(a->command_name, "schedule ", 9) == 0;
    json_t *err = json_object_get(v, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *message = json_string_value(json_object_get(err, "message"));
    if (code != NULL)
        ctl_errorf("%s: %s", code, message ? message : "(no message)");
    else
        ctl_errorf("ttaid answered HTTP %ld: %.200s", status, body ? body : "(empty body)");
    if (status == 401)
        fprintf(stderr, "hint: pass the token with --token or TTAI_TOKEN\n");
    else if (status == 403)
        fprintf(stderr, "hint: this token is not allowed namespace '%s'; use another --token "
                        "or --namespace\n", a->ns);
    else if (status == 404 && code != NULL && strcmp(code, "not_found") == 0)
        fprintf(stderr, "hint: check the id and names (namespace '%s'; see '" CTL_PROG
                        " %s list')\n", a->ns, schedule ? "schedule" : "workflow");
    else if (status == 413)
        fprintf(stderr, "hint: the request is over ttaid's body limit (ttaid --max-body)\n");
    else if (status == 503)
        fprintf(stderr, "hint: ttaid cannot serve this now (the message says why); see its log\n");
    json_decref(v);
    return CTL_EXIT_SERVER;
}

int ctl_http_call(const struct ctl_args *a, const char *method, const char *path, json_t *body,
                  long timeout_ms, struct ctl_reply *reply)
{
    reply->status = 0;
    reply->body = NULL;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (body != NULL && text == NULL) {
        ctl_errorf("out of memory");
        return CTL_EXIT_USAGE;
    }
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL;
    CURL *curl = easy_new(a, path, timeout_ms, "application/json", text != NULL, &headers, errbuf);
    if (curl == NULL) {
        free(text); /* jansson's allocation */
        return ctl_request_unbuildable();
    }
    struct http_buf in;
    buf_init(&in, HTTP_BODY_BYTES_MAX);
    (void)curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (text != NULL)
        (void)curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    (void)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, buf_write_cb);
    (void)curl_easy_setopt(curl, CURLOPT_WRITEDATA, &in);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    (void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    free(text);
    int exit_status;
    if (rc == CURLE_WRITE_ERROR) {
        ctl_errorf("the answer of ttaid at %s is over %u bytes", a->address, HTTP_BODY_BYTES_MAX);
        exit_status = CTL_EXIT_SERVER;
    } else if (rc != CURLE_OK) {
        exit_status = report_unreachable(a, rc, errbuf);
    } else if (status < 200 || status > 299) {
        exit_status = report_server_error(a, status, in.data, in.len);
    } else {
        json_error_t jerr;
        reply->status = status;
        /* A payload's strings may hold NUL bytes, which ttaid writes as \u0000. */
        reply->body = in.len ? json_loadb(in.data, in.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr)
                             : NULL;
        exit_status = CTL_EXIT_OK;
        if (reply->body == NULL) {
            ctl_errorf("ttaid answered HTTP %ld with a body that is not JSON: %.200s", status,
                       in.len ? in.data : "(empty)");
            exit_status = CTL_EXIT_SERVER;
        }
    }
    buf_release(&in);
    return exit_status;
}

/* ---- Server-Sent Events ---------------------------------------------------- */

struct sse {
    CURL *curl;
    bool checked;                /* the status was looked at */
    bool ok;                     /* ... and it is 200: the body is a stream */
    bool stopped;                /* the callback asked to stop */
    bool too_big;                /* a line or an event went over the limit */
    struct http_buf line;        /* the line being received */
    struct http_buf data;        /* the data lines of the event being received */
    char event[64];              /* its `event:` name ("message" when none) */
    struct http_buf error_body;  /* the body when the status is not 200 */
    ctl_sse_event_fn event_cb;
    void *arg;
};

/* One complete line of the stream (without its end of line). */
static int sse_line(struct sse *s, char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    if (len == 0) { /* a blank line ends an event */
        int rc = 0;
        if (s->data.len > 0)
            rc = s->event_cb(s->event[0] ? s->event : "message", s->data.data, s->data.len,
                             s->arg);
        s->data.len = 0;
        s->event[0] = '\0';
        return rc;
    }
    if (line[0] == ':') /* a comment: keep-alive */
        return 0;
    char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    char *value = colon ? colon + 1 : line + len;
    if (*value == ' ')
        value++;
    size_t value_len = len - (size_t)(value - line);
    if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        snprintf(s->event, sizeof(s->event), "%.*s", (int)value_len, value);
    } else if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if ((s->data.len > 0 && buf_add(&s->data, "\n", 1) != 0) ||
            buf_add(&s->data, value, value_len) != 0) {
            s->too_big = true;
            return -1;
        }
    }
    return 0; /* id:, retry: and unknown fields are ignored, as the SSE spec says */
}

static size_t sse_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sse *s = arg;
    size_t n = size * nmemb;
    if (!s->checked) {
        long status = 0;
        (void)curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        s->ok = status == 200;
        s->checked = true;
    }
    if (!s->ok)
        return buf_add(&s->error_body, ptr, n) == 0 ? n : 0;
    for (size_t i = 0; i < n; i++) {
        if (ptr[i] != '\n') {
            if (buf_add(&s->line, ptr + i, 1) != 0) {
                s->too_big = true;
                return 0;
            }
            continue;
        }
        int rc = sse_line(s, s->line.len ? s->line.data : (char *)"", s->line.len);
        s->line.len = 0;
        if (rc != 0) {
            s->stopped = !s->too_big;
            return 0; /* stops the transfer */
        }
    }
    return n;
}

int ctl_http_stream(const struct ctl_args *a, const char *path, ctl_sse_event_fn event_cb,
                    void *arg)
{
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL;
    /* Total timeout 0, by design: the stream stays open as long as the run
     * it follows, which may be days. The connect timeout still applies. */
    CURL *curl = easy_new(a, path, 0, "text/event-stream", false, &headers, errbuf);
    if (curl == NULL)
        return ctl_request_unbuildable();
    struct sse s = {.curl = curl, .event_cb = event_cb, .arg = arg};
    buf_init(&s.line, SSE_EVENT_BYTES_MAX);
    buf_init(&s.data, SSE_EVENT_BYTES_MAX);
    buf_init(&s.error_body, HTTP_BODY_BYTES_MAX);
    (void)curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    (void)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sse_write_cb);
    (void)curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    (void)curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    (void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    int exit_status = CTL_EXIT_OK;
    if (s.stopped) {
        exit_status = CTL_EXIT_OK;
    } else if (s.too_big) {
        ctl_errorf("an event from ttaid at %s is over %u bytes", a->address, SSE_EVENT_BYTES_MAX);
        exit_status = CTL_EXIT_SERVER;
    } else if (rc != CURLE_OK && !s.checked) {
        exit_status = report_unreachable(a, rc, errbuf);
    } else if (status != 200) {
        exit_status = report_server_error(a, status, s.error_body.data, s.error_body.len);
    } else if (rc != CURLE_OK) {
        ctl_errorf("the stream from ttaid at %s broke: %s; run the command again to follow "
                   "the run (from its first event)", a->address, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        exit_status = CTL_EXIT_UNREACHABLE;
    }
    /* An event cut short by the end of the stream is dropped, as SSE says. */
    buf_release(&s.line);
    buf_release(&s.data);
    buf_release(&s.error_body);
    return exit_status;
}
