/* http.c: one JSON-over-HTTP exchange with libcurl, and the classification
 * of its outcome into retryable and final failures.
 *
 * A request goes through four steps:
 *
 *   check (request_check)  -> bad arguments: HttpInvalid, nothing sent
 *   set up (easy_setup)    -> the thread's reused handle, every option
 *                             explicit: timeouts, TLS verification, limits
 *   perform                -> body into res->body up to the limit
 *   classify (classify_*)  -> res->outcome, error type, retryable, message
 *
 * Invariants:
 *   1. Every transfer has a connect and a total timeout (never libcurl's
 *      default of none) and verifies the peer's certificate and name.
 *   2. res->body never holds more than the response limit, plus a NUL.
 *   3. Messages never contain the URL's userinfo, query or fragment: those
 *      are where credentials and tokens hide, and messages are journaled.
 *   4. The handle is reset before this file returns, so it keeps no
 *      pointer into this call's stack or freed memory.
 */
#include "act_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Our own interval between the heartbeats of a transfer (real time). */
#define HTTP_HEARTBEAT_NS 1000000000LL
/* How much of the URL messages show. */
#define HTTP_URL_SHOWN_MAX 128

/* ---- Results ---------------------------------------------------------------- */

static const struct {
    const char *type;
    bool retryable;
    int rc;
} outcome_table[] = {
    [ACT_HTTP_OK] = {"", false, TTAI_OK},
    [ACT_HTTP_CONNECT] = {"HttpConnect", true, TTAI_EUNAVAIL},
    [ACT_HTTP_TIMEOUT] = {"HttpTimeout", true, TTAI_ETIMEDOUT},
    [ACT_HTTP_5XX] = {"Http5xx", true, TTAI_EUNAVAIL},
    [ACT_HTTP_429] = {"Http429", true, TTAI_EBUSY},
    [ACT_HTTP_4XX] = {"Http4xx", false, TTAI_EIO},
    [ACT_HTTP_STATUS] = {"HttpStatus", false, TTAI_EIO},
    [ACT_HTTP_TOO_LARGE] = {"HttpTooLarge", false, TTAI_ETOOBIG},
    [ACT_HTTP_TLS] = {"HttpTls", false, TTAI_EIO},
    [ACT_HTTP_INVALID] = {"HttpInvalid", false, TTAI_EINVAL},
    [ACT_HTTP_CANCELED] = {"HttpCanceled", false, TTAI_ECANCELED},
    [ACT_HTTP_ERROR] = {"HttpError", true, TTAI_EIO},
};

void act_http_result_init(struct act_http_result *res)
{
    memset(res, 0, sizeof(*res));
    res->retry_after_ms = -1;
}

void act_http_result_release(struct act_http_result *res)
{
    ttai_free(res->body);
    act_http_result_init(res);
}

/* Sets res to outcome with a formatted message; returns res->rc. */
static int result_set(struct act_http_result *res, int outcome, const char *fmt, ...)
    TTAI_PRINTF(3, 4);

static int result_set(struct act_http_result *res, int outcome, const char *fmt, ...)
{
    res->outcome = outcome;
    res->rc = outcome_table[outcome].rc;
    res->retryable = outcome_table[outcome].retryable;
    act__strcpy(res->error_type, sizeof(res->error_type), outcome_table[outcome].type);
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(res->message, sizeof(res->message), fmt, ap); /* truncation is fine */
    va_end(ap);
    return res->rc;
}

/* ---- Small parsers ---------------------------------------------------------- */

const char *act_http_method_name(int method)
{
    static const char *const names[] = {"GET", "POST", "PUT", "DELETE"};
    if (method < ACT_HTTP_GET || method > ACT_HTTP_DELETE)
        return "?";
    return names[method];
}

bool act_http_method_parse(const char *name, size_t len, int *method)
{
    for (int m = ACT_HTTP_GET; m <= ACT_HTTP_DELETE; m++) {
        const char *n = act_http_method_name(m);
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *method = m;
            return true;
        }
    }
    return false;
}

void act_http_url_redact(const char *url, char *out, size_t size)
{
    TTAI_ASSERT(size >= 4);
    size_t n = 0;
    const char *p = url;
    const char *scheme_end = strstr(url, "://");
    if (scheme_end != NULL && scheme_end < url + strcspn(url, "/?#")) {
        size_t authority = strcspn(scheme_end + 3, "/?#");
        const char *at = memchr(scheme_end + 3, '@', authority);
        size_t keep = (size_t)(scheme_end + 3 - url);
        n = keep < size - 1 ? keep : size - 1;
        memcpy(out, url, n);
        p = at != NULL ? at + 1 : scheme_end + 3;
    }
    size_t rest = strcspn(p, "?#");
    bool truncated = n + rest > size - 1;
    size_t take = truncated ? size - 1 - n : rest;
    memcpy(out + n, p, take);
    n += take;
    out[n] = '\0';
    if (truncated)
        memcpy(out + size - 4, "...", 4);
}

bool act_http_retry_after_parse(const char *value, int64_t now_ms, int64_t *delay_ms)
{
    size_t len = strlen(value);
    size_t digits = strspn(value, "0123456789");
    int64_t ms;
    if (len > 0 && digits == len) {
        /* delta-seconds; anything past 10 digits is past the clamp too. */
        if (digits > 10)
            ms = ACT_HTTP_RETRY_AFTER_MS_MAX;
        else
            ms = strtoll(value, NULL, 10) * 1000;
    } else {
        /* An HTTP-date: curl_getdate() reads RFC 1123, RFC 850 and asctime
         * forms (and some more); a bare number never reaches here. */
        time_t t = curl_getdate(value, NULL);
        if (t == (time_t)-1 || digits > 0)
            return false;
        ms = (int64_t)t * 1000 - now_ms;
    }
    if (ms < 0)
        ms = 0;
    if (ms > ACT_HTTP_RETRY_AFTER_MS_MAX)
        ms = ACT_HTTP_RETRY_AFTER_MS_MAX;
    *delay_ms = ms;
    return true;
}

/* ---- Transfer callbacks ------------------------------------------------------- */

struct xfer {
    struct act_http_result *res;
    size_t body_cap;                 /* bytes allocated for res->body */
    size_t limit;                    /* response bytes allowed */
    bool too_large;                  /* the limit stopped the transfer */
    bool no_memory;                  /* an allocation stopped it */
    bool canceled;                   /* a heartbeat stopped it */
    char retry_after[64];            /* the last response's header value */
    struct ttai_activity_ctx *ctx;
    int64_t heartbeat_ns;            /* monotonic time of the last heartbeat */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    struct act_http_result *res = x->res;
    size_t n = size * nmemb;
    if (n > x->limit - res->body_len) {
        x->too_large = true;
        return 0; /* not n: libcurl stops with CURLE_WRITE_ERROR */
    }
    if (res->body_len + n + 1 > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : 4096;
        while (cap < res->body_len + n + 1)
            cap *= 2;
        if (cap > x->limit + 1)
            cap = x->limit + 1;
        char *p = ttai_realloc(res->body, cap);
        if (p == NULL) {
            x->no_memory = true;
            return 0;
        }
        res->body = p;
        x->body_cap = cap;
    }
    memcpy(res->body + res->body_len, data, n);
    res->body_len += n;
    res->body[res->body_len] = '\0';
    return n;
}

/* Copies the value of header line (len bytes, CRLF-terminated) into out
 * when its name is name. */
static void header_take(const char *line, size_t len, const char *name, char *out, size_t size)
{
    size_t k = strlen(name);
    if (len <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return;
    const char *v = line + k + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - v) < size - 1 ? (size_t)(end - v) : size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the last. */
        x->retry_after[0] = '\0';
        x->res->content_type[0] = '\0';
        return n;
    }
    header_take(data, n, "retry-after", x->retry_after, sizeof(x->retry_after));
    header_take(data, n, "content-type", x->res->content_type, sizeof(x->res->content_type));
    return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    struct xfer *x = arg;
    int64_t now = ttai_mono_ns();
    if (now - x->heartbeat_ns < HTTP_HEARTBEAT_NS)
        return 0;
    x->heartbeat_ns = now;
    if (ttai_activity_heartbeat(x->ctx, (struct ttai_payload){NULL, 0}) == TTAI_ECANCELED) {
        x->canceled = true;
        return 1; /* libcurl stops with CURLE_ABORTED_BY_CALLBACK */
    }
    return 0;
}

/* ---- Checking and setting up ------------------------------------------------ */

/* The request body, serialised when given as JSON or msgpack. */
struct body {
    const char *data;
    size_t len;
    char *from_jansson;              /* free() */
    char *from_payload;              /* ttai_free() */
};

static void body_release(struct body *b)
{
    free(b->from_jansson);
    ttai_free(b->from_payload);
}

static bool body_prepare(const struct act_http_request *req, struct body *b, char *problem,
                         size_t size)
{
    int sources = (req->body != NULL) + (req->body_json != NULL) + (req->body_payload.len > 0);
    if (sources > 1) {
        act__msgf(problem, size, "more than one body given");
        return false;
    }
    if (req->body != NULL) {
        b->data = req->body;
        b->len = req->body_len;
    } else if (req->body_json != NULL) {
        b->from_jansson = json_dumps(req->body_json, JSON_COMPACT | JSON_ENCODE_ANY);
        b->data = b->from_jansson;
    } else if (req->body_payload.len > 0) {
        b->from_payload = ttai_payload_to_json(req->body_payload);
        b->data = b->from_payload;
    }
    if (sources == 1 && b->data == NULL) {
        act__msgf(problem, size, "the body cannot be converted to JSON");
        return false;
    }
    if (req->body == NULL && b->data != NULL)
        b->len = strlen(b->data);
    if (b->len > ACT_HTTP_REQUEST_BYTES_MAX) {
        act__msgf(problem, size, "body of %zu bytes exceeds the %u-byte limit", b->len,
                  ACT_HTTP_REQUEST_BYTES_MAX);
        return false;
    }
    if (b->data != NULL && req->method == ACT_HTTP_GET) {
        act__msgf(problem, size, "GET takes no body");
        return false;
    }
    return true;
}

static bool header_name_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
            strchr("()<>@,;:\\\"/[]?={}", *s) != NULL)
            return false;
    return true;
}

/* Appends "name: value" (or "name;" for an empty value, libcurl's way of
 * sending an empty header) to *list. */
static bool header_add(struct curl_slist **list, const char *name, const char *value,
                       char *problem, size_t size)
{
    if (!header_name_ok(name) || value == NULL || strpbrk(value, "\r\n") != NULL) {
        act__msgf(problem, size, "malformed header '%.64s'", name);
        return false;
    }
    char line[ACT_HTTP_HEADER_BYTES_MAX];
    int n = value[0] ? snprintf(line, sizeof(line), "%s: %s", name, value)
                     : snprintf(line, sizeof(line), "%s;", name);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        act__msgf(problem, size, "header '%.64s' exceeds %d bytes", name,
                  ACT_HTTP_HEADER_BYTES_MAX);
        return false;
    }
    struct curl_slist *l = curl_slist_append(*list, line);
    if (l == NULL) {
        act__msgf(problem, size, "out of memory");
        return false;
    }
    *list = l;
    return true;
}

static bool header_given(const struct act_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

static bool headers_build(const struct act_http_request *req, bool has_body,
                          struct curl_slist **list, char *problem, size_t size)
{
    if (req->header_count > ACT_HTTP_HEADERS_MAX) {
        act__msgf(problem, size, "%zu headers exceed the limit of %d", req->header_count,
                  ACT_HTTP_HEADERS_MAX);
        return false;
    }
    for (size_t i = 0; i < req->header_count; i++)
        if (req->headers[i].name == NULL ||
            !header_add(list, req->headers[i].name, req->headers[i].value, problem, size))
            return false;
    if (has_body && !header_given(req, "Content-Type") &&
        !header_add(list, "Content-Type", "application/json", problem, size))
        return false;
    if (!header_given(req, "Accept") && !header_add(list, "Accept", "application/json", problem,
                                                    size))
        return false;
    /* No "Expect: 100-continue" round trip before large bodies. */
    struct curl_slist *l = curl_slist_append(*list, "Expect:");
    if (l == NULL)
        return false;
    *list = l;
    return true;
}

static bool request_check(const struct act_http_request *req, struct body *b,
                          struct curl_slist **headers, char *problem, size_t size)
{
    if (req->method < ACT_HTTP_GET || req->method > ACT_HTTP_DELETE) {
        act__msgf(problem, size, "unknown method %d", req->method);
        return false;
    }
    if (req->url == NULL || req->url[0] == '\0' || strlen(req->url) >= ACT_HTTP_URL_BYTES_MAX) {
        act__msgf(problem, size, "the URL is empty or exceeds %d bytes", ACT_HTTP_URL_BYTES_MAX);
        return false;
    }
    if (req->connect_timeout_ms < 0 || req->connect_timeout_ms > ACT_HTTP_TIMEOUT_MS_MAX ||
        req->timeout_ms < 0 || req->timeout_ms > ACT_HTTP_TIMEOUT_MS_MAX) {
        act__msgf(problem, size, "timeouts must be between 0 and %d ms", ACT_HTTP_TIMEOUT_MS_MAX);
        return false;
    }
    if (req->response_bytes_max > ACT_HTTP_RESPONSE_BYTES_MAX) {
        act__msgf(problem, size, "response limit %zu exceeds %u bytes", req->response_bytes_max,
                  ACT_HTTP_RESPONSE_BYTES_MAX);
        return false;
    }
    return body_prepare(req, b, problem, size) &&
           headers_build(req, b->data != NULL, headers, problem, size);
}

static bool easy_method(CURL *h, int method, const struct body *b)
{
    bool failed = false;
    if (method == ACT_HTTP_GET)
        return !ACT__SETOPT_FAILED(h, CURLOPT_HTTPGET, 1L);
    if (method != ACT_HTTP_POST)
        failed |= ACT__SETOPT_FAILED(h, CURLOPT_CUSTOMREQUEST, act_http_method_name(method));
    if (method == ACT_HTTP_DELETE && b->data == NULL)
        return !failed;
    /* POSTFIELDS also serves PUT and DELETE: CUSTOMREQUEST renames the
     * method and the body goes out the same way. */
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_POSTFIELDS, b->data ? b->data : "");
    return !failed;
}

static bool easy_setup(CURL *h, const struct act_http_request *req, const struct body *b,
                       struct curl_slist *headers, struct xfer *x, char *errbuf)
{
    long connect_ms = req->connect_timeout_ms ? (long)req->connect_timeout_ms
                                              : ACT_HTTP_CONNECT_TIMEOUT_MS_DEFAULT;
    long total_ms = req->timeout_ms ? (long)req->timeout_ms : ACT_HTTP_TIMEOUT_MS_DEFAULT;
    bool failed = false;
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_ERRORBUFFER, errbuf);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_URL, req->url);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_PROTOCOLS_STR, "http,https");
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS */
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_TIMEOUT_MS, total_ms);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_SSL_VERIFYPEER, 1L);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_SSL_VERIFYHOST, 2L); /* 2: check the name */
    if (req->ca_file != NULL)
        failed |= ACT__SETOPT_FAILED(h, CURLOPT_CAINFO, req->ca_file);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_FOLLOWLOCATION, 0L);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_USERAGENT, "ttai/0.1");
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_HTTPHEADER, headers);
    /* Refuses early when Content-Length already says too much. */
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->limit);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_WRITEFUNCTION, on_body);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_WRITEDATA, x);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_HEADERFUNCTION, on_header);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_HEADERDATA, x);
    if (req->ctx != NULL) {
        failed |= ACT__SETOPT_FAILED(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        failed |= ACT__SETOPT_FAILED(h, CURLOPT_XFERINFODATA, x);
        failed |= ACT__SETOPT_FAILED(h, CURLOPT_NOPROGRESS, 0L);
    }
    return !failed && easy_method(h, req->method, b);
}

/* ---- Classification ------------------------------------------------------------ */

static int classify_status(struct act_http_result *res, const char *method, const char *url)
{
    long s = res->status;
    if (s >= 200 && s <= 299) {
        res->outcome = ACT_HTTP_OK;
        res->rc = TTAI_OK;
        return TTAI_OK;
    }
    int outcome = s == 429               ? ACT_HTTP_429
                  : s >= 500 && s <= 599 ? ACT_HTTP_5XX
                  : s >= 400 && s <= 499 ? ACT_HTTP_4XX
                                         : ACT_HTTP_STATUS;
    if (res->retry_after_ms >= 0 && outcome_table[outcome].retryable)
        return result_set(res, outcome, "%s '%s' answered %ld (Retry-After %lld ms)", method, url,
                          s, (long long)res->retry_after_ms);
    return result_set(res, outcome, "%s '%s' answered %ld", method, url, s);
}

/* The outcome of a transfer libcurl ended with cc != CURLE_OK. */
static int classify_curl(struct act_http_result *res, CURLcode cc, const struct xfer *x,
                         const char *method, const char *url, const char *errbuf)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (x->too_large || cc == CURLE_FILESIZE_EXCEEDED)
        return result_set(res, ACT_HTTP_TOO_LARGE, "response to %s '%s' exceeds %zu bytes",
                          method, url, x->limit);
    if (x->canceled)
        return result_set(res, ACT_HTTP_CANCELED, "%s '%s' stopped: the attempt was canceled",
                          method, url);
    if (x->no_memory)
        return result_set(res, ACT_HTTP_ERROR, "%s '%s' failed: out of memory", method, url);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return result_set(res, ACT_HTTP_TIMEOUT, "%s '%s' timed out: %s", method, url, why);
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return result_set(res, ACT_HTTP_CONNECT, "%s '%s' failed to connect or lost the "
                          "connection: %s", method, url, why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return result_set(res, ACT_HTTP_TLS, "%s '%s' failed TLS verification: %s", method, url,
                          why);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return result_set(res, ACT_HTTP_INVALID, "%s '%s' is not a valid http(s) request: %s",
                          method, url, why);
    default:
        return result_set(res, ACT_HTTP_ERROR, "%s '%s' failed: %s", method, url, why);
    }
}

/* ---- The request ------------------------------------------------------------- */

static int perform(CURL *h, const struct act_http_request *req, const struct body *b,
                   struct curl_slist *headers, struct act_http_result *res, const char *url)
{
    const char *method = act_http_method_name(req->method);
    struct xfer x = {.res = res, .ctx = req->ctx, .heartbeat_ns = ttai_mono_ns()};
    x.limit = req->response_bytes_max ? req->response_bytes_max : ACT_HTTP_RESPONSE_BYTES_DEFAULT;
    char errbuf[CURL_ERROR_SIZE] = "";
    if (!easy_setup(h, req, b, headers, &x, errbuf)) {
        curl_easy_reset(h);
        return result_set(res, ACT_HTTP_ERROR, "%s '%s' failed: libcurl refused an option",
                          method, url);
    }
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
        res->status = status;
    curl_easy_reset(h); /* invariant 4: drops errbuf, x and headers */
    /* An HTTP-date is relative to the real clock: this is I/O, not workflow code. */
    if (x.retry_after[0] != '\0' &&
        !act_http_retry_after_parse(x.retry_after, ttai_wall_ms(), &res->retry_after_ms))
        res->retry_after_ms = -1;
    if (cc != CURLE_OK)
        return classify_curl(res, cc, &x, method, url, errbuf);
    return classify_status(res, method, url);
}

int act_http_request(const struct act_http_request *req, struct act_http_result *res)
{
    act_http_result_release(res);
    char url[HTTP_URL_SHOWN_MAX];
    act_http_url_redact(req->url != NULL ? req->url : "", url, sizeof(url));
    const char *method = act_http_method_name(req->method);
    struct body b = {0};
    struct curl_slist *headers = NULL;
    char problem[160];
    int rc;
    if (!request_check(req, &b, &headers, problem, sizeof(problem))) {
        rc = result_set(res, ACT_HTTP_INVALID, "invalid %s request to '%s': %s", method, url,
                        problem);
    } else {
        CURL *h = act__easy_get();
        if (h == NULL)
            rc = result_set(res, ACT_HTTP_ERROR, "%s '%s' failed: no libcurl handle", method,
                            url);
        else
            rc = perform(h, req, &b, headers, res, url);
    }
    curl_slist_free_all(headers);
    body_release(&b);
    return rc;
}

int act_http_fail(struct ttai_activity_ctx *ctx, const struct act_http_result *res)
{
    TTAI_ASSERT(res->rc != 0);
    if (res->retryable && res->retry_after_ms > 0)
        ttai_activity_set_retry_delay(ctx, res->retry_after_ms);
    return ttai_activity_fail(ctx, res->error_type, res->retryable, "%s", res->message);
}

int act_http_result_payload(const struct act_http_result *res, struct ttai_buf *out,
                            struct ttai_err *err)
{
    if (res->body_len == 0) {
        ttai_buf_nil(out);
        return TTAI_OK;
    }
    return ttai_payload_from_json(res->body, res->body_len, out, err);
}

json_t *act_http_result_json(const struct act_http_result *res, struct ttai_err *err)
{
    if (res->body_len == 0) {
        ttai_errf(err, TTAI_EINVAL, "the response body is empty");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(res->body, res->body_len, JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        ttai_errf(err, TTAI_EINVAL, "the response body is not JSON: %s at line %d column %d",
                  jerr.text, jerr.line, jerr.column);
    return j;
}
