/* test_http.c: the HTTP helper against the loopback server, without the
 * engine: success, methods and headers, the failure classes (timeout, 5xx,
 * 429 with both Retry-After forms, 4xx, too large, connection refused),
 * connection reuse, argument checks, TLS verification (against
 * `openssl s_server`), and the small parsers. */
#include "act_test.h"
#include "http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* GETs path on srv into res; returns res->rc. */
static int get(struct http_srv *srv, const char *path, struct act_http_result *res)
{
    char url[256];
    http_srv_url(srv, path, url, sizeof(url));
    struct act_http_request req = {.method = ACT_HTTP_GET, .url = url};
    return act_http_request(&req, res);
}

void test_http_get_json(void)
{
    struct http_srv *srv = http_srv_start();
    struct act_http_result res;
    act_http_result_init(&res);
    ASSERT_EQ(get(srv, "/json", &res), 0);
    ASSERT_EQ(res.outcome, ACT_HTTP_OK);
    ASSERT_EQ(res.status, 200);
    ASSERT_STR_EQ(res.error_type, "");
    ASSERT_STR_EQ(res.content_type, "application/json");
    ASSERT_STR_EQ(res.body, "{\"hello\":\"world\",\"n\":42,\"list\":[1,2,3]}");
    /* As jansson and as a msgpack payload. */
    struct ttai_err err;
    json_t *j = act_http_result_json(&res, &err);
    ASSERT(j != NULL);
    ASSERT_EQ(json_integer_value(json_object_get(j, "n")), 42);
    json_decref(j);
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    ASSERT_OK(act_http_result_payload(&res, &buf, &err), &err);
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    ASSERT_OK(ttai_payload_unpack(&r, ttai_buf_payload(&buf), &o), &err);
    int64_t n = 0;
    ASSERT(ttai_obj_int(ttai_obj_get(&o, "n"), &n));
    ASSERT_EQ(n, 42);
    ASSERT(ttai_obj_str_eq(ttai_obj_get(&o, "hello"), "world"));
    ttai_reader_release(&r);
    ttai_buf_release(&buf);
    act_http_result_release(&res);
    ASSERT(res.body == NULL);
    http_srv_stop(srv);
}

/* Echo the method, the body and the headers back: one per body source. */
static json_t *echo(struct http_srv *srv, struct act_http_request *req)
{
    char url[256];
    http_srv_url(srv, "/echo?token=secret", url, sizeof(url));
    req->url = url;
    struct act_http_result res;
    act_http_result_init(&res);
    ASSERT_EQ(act_http_request(req, &res), 0);
    struct ttai_err err;
    json_t *j = act_http_result_json(&res, &err);
    ASSERT(j != NULL);
    act_http_result_release(&res);
    return j;
}

void test_http_methods_and_bodies(void)
{
    struct http_srv *srv = http_srv_start();
    struct act_http_header headers[] = {{"Authorization", "Bearer abc"}, {"X-Test", "yes"}};
    /* POST with raw JSON text and caller headers. */
    struct act_http_request req = {.method = ACT_HTTP_POST, .headers = headers,
                                   .header_count = 2, .body = "{\"a\":1}", .body_len = 7};
    json_t *j = echo(srv, &req);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "POST");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "body")), "{\"a\":1}");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "authorization")), "Bearer abc");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "x_test")), "yes");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "content_type")), "application/json");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "accept")), "application/json");
    json_decref(j);
    /* PUT with a jansson body. */
    json_t *body = json_pack("{s:s}", "k", "v");
    req = (struct act_http_request){.method = ACT_HTTP_PUT, .body_json = body};
    j = echo(srv, &req);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "PUT");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "body")), "{\"k\":\"v\"}");
    json_decref(j);
    json_decref(body);
    /* DELETE with a msgpack body, and an overridden Content-Type. */
    struct ttai_buf mp;
    ttai_buf_init(&mp);
    ttai_buf_map(&mp, 1);
    ttai_buf_str(&mp, "id");
    ttai_buf_int(&mp, 7);
    struct act_http_header ct[] = {{"content-type", "application/merge-patch+json"}};
    req = (struct act_http_request){.method = ACT_HTTP_DELETE,
                                    .body_payload = ttai_buf_payload(&mp), .headers = ct,
                                    .header_count = 1};
    j = echo(srv, &req);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "DELETE");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "body")), "{\"id\":7}");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "content_type")),
                  "application/merge-patch+json");
    json_decref(j);
    ttai_buf_release(&mp);
    /* GET and a DELETE without a body send no Content-Type. */
    req = (struct act_http_request){.method = ACT_HTTP_GET};
    j = echo(srv, &req);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "GET");
    ASSERT(json_is_null(json_object_get(j, "content_type")));
    json_decref(j);
    req = (struct act_http_request){.method = ACT_HTTP_DELETE};
    j = echo(srv, &req);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "DELETE");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "body")), "");
    json_decref(j);
    http_srv_stop(srv);
}

void test_http_timeout_retryable(void)
{
    struct http_srv *srv = http_srv_start();
    char url[256];
    http_srv_url(srv, "/delay?ms=1500", url, sizeof(url));
    struct act_http_request req = {.method = ACT_HTTP_GET, .url = url, .timeout_ms = 200};
    struct act_http_result res;
    act_http_result_init(&res);
    int64_t t0 = test_mono_ms();
    ASSERT_EQ(act_http_request(&req, &res), TTAI_ETIMEDOUT);
    int64_t took = test_mono_ms() - t0;
    ASSERT_GE(took, 150);
    ASSERT_LT(took, 1200); /* the total timeout cut it short, not the server */
    ASSERT_EQ(res.outcome, ACT_HTTP_TIMEOUT);
    ASSERT_STR_EQ(res.error_type, "HttpTimeout");
    ASSERT(res.retryable);
    ASSERT_EQ(res.status, 0);
    ASSERT_CONTAINS(res.message, "GET 'http://127.0.0.1:");
    ASSERT_CONTAINS(res.message, "/delay' timed out");
    ASSERT_NOT_CONTAINS(res.message, "ms=1500");
    act_http_result_release(&res);
    http_srv_stop(srv);
}

void test_http_5xx_retryable(void)
{
    struct http_srv *srv = http_srv_start();
    struct act_http_result res;
    act_http_result_init(&res);
    int codes[] = {500, 503};
    for (int i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/status?code=%d", codes[i]);
        ASSERT_EQ(get(srv, path, &res), TTAI_EUNAVAIL);
        ASSERT_EQ(res.outcome, ACT_HTTP_5XX);
        ASSERT_EQ(res.status, codes[i]);
        ASSERT_STR_EQ(res.error_type, "Http5xx");
        ASSERT(res.retryable);
        ASSERT_EQ(res.retry_after_ms, -1);
        char want[64];
        snprintf(want, sizeof(want), "/status' answered %d", codes[i]);
        ASSERT_CONTAINS(res.message, want);
        ASSERT_NOT_CONTAINS(res.message, "code=");
        /* The error body is kept for the caller. */
        ASSERT(res.body != NULL);
        ASSERT_CONTAINS(res.body, "\"status\"");
    }
    /* 503 with Retry-After carries the delay too. */
    ASSERT_EQ(get(srv, "/status?code=503&retry_after=3", &res), TTAI_EUNAVAIL);
    ASSERT_EQ(res.retry_after_ms, 3000);
    act_http_result_release(&res);
    http_srv_stop(srv);
}

void test_http_429_retry_after_seconds(void)
{
    struct http_srv *srv = http_srv_start();
    struct act_http_result res;
    act_http_result_init(&res);
    ASSERT_EQ(get(srv, "/status?code=429&retry_after=7", &res), TTAI_EBUSY);
    ASSERT_EQ(res.outcome, ACT_HTTP_429);
    ASSERT_EQ(res.status, 429);
    ASSERT_STR_EQ(res.error_type, "Http429");
    ASSERT(res.retryable);
    ASSERT_EQ(res.retry_after_ms, 7000);
    ASSERT_CONTAINS(res.message, "answered 429 (Retry-After 7000 ms)");
    /* 429 without the header: retryable, no delay of its own. */
    ASSERT_EQ(get(srv, "/status?code=429", &res), TTAI_EBUSY);
    ASSERT(res.retryable);
    ASSERT_EQ(res.retry_after_ms, -1);
    /* A malformed header is ignored. */
    ASSERT_EQ(get(srv, "/status?code=429&retry_after=soon", &res), TTAI_EBUSY);
    ASSERT_EQ(res.retry_after_ms, -1);
    act_http_result_release(&res);
    http_srv_stop(srv);
}

void test_http_429_retry_after_date(void)
{
    struct http_srv *srv = http_srv_start();
    struct act_http_result res;
    act_http_result_init(&res);
    ASSERT_EQ(get(srv, "/status?code=429&retry_after_in=30", &res), TTAI_EBUSY);
    ASSERT_EQ(res.outcome, ACT_HTTP_429);
    /* The date has whole seconds: 29 to 30 s from now. */
    ASSERT_GE(res.retry_after_ms, 28000);
    ASSERT_LE(res.retry_after_ms, 30000);
    /* A date in the past means "now". */
    ASSERT_EQ(get(srv, "/status?code=429&retry_after_in=-100", &res), TTAI_EBUSY);
    ASSERT_EQ(res.retry_after_ms, 0);
    act_http_result_release(&res);
    http_srv_stop(srv);
}

void test_http_4xx_final(void)
{
    struct http_srv *srv = http_srv_start();
    struct act_http_result res;
    act_http_result_init(&res);
    int codes[] = {400, 404, 401, 409};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/status?code=%d", codes[i]);
        ASSERT_EQ(get(srv, path, &res), TTAI_EIO);
        ASSERT_EQ(res.outcome, ACT_HTTP_4XX);
        ASSERT_EQ(res.status, codes[i]);
        ASSERT_STR_EQ(res.error_type, "Http4xx");
        ASSERT(!res.retryable);
    }
    /* Even with a Retry-After a 4xx other than 429 stays final. */
    ASSERT_EQ(get(srv, "/status?code=400&retry_after=5", &res), TTAI_EIO);
    ASSERT(!res.retryable);
    ASSERT_NOT_CONTAINS(res.message, "Retry-After");
    /* A route that does not exist. */
    ASSERT_EQ(get(srv, "/nowhere", &res), TTAI_EIO);
    ASSERT_EQ(res.status, 404);
    ASSERT_CONTAINS(res.message, "GET 'http://127.0.0.1:");
    ASSERT_CONTAINS(res.message, "/nowhere' answered 404");
    /* 3xx is not followed and not retried. */
    ASSERT_EQ(get(srv, "/status?code=302", &res), TTAI_EIO);
    ASSERT_EQ(res.outcome, ACT_HTTP_STATUS);
    ASSERT_STR_EQ(res.error_type, "HttpStatus");
    ASSERT(!res.retryable);
    act_http_result_release(&res);
    http_srv_stop(srv);
}

static void expect_too_large(struct http_srv *srv, const char *path, size_t limit)
{
    char url[256];
    http_srv_url(srv, path, url, sizeof(url));
    struct act_http_request req = {.method = ACT_HTTP_GET, .url = url,
                                   .response_bytes_max = limit};
    struct act_http_result res;
    act_http_result_init(&res);
    ASSERT_EQ(act_http_request(&req, &res), TTAI_ETOOBIG);
    ASSERT_EQ(res.outcome, ACT_HTTP_TOO_LARGE);
    ASSERT_STR_EQ(res.error_type, "HttpTooLarge");
    ASSERT(!res.retryable);
    ASSERT_CONTAINS(res.message, "response to GET 'http://127.0.0.1:");
    char want[64];
    snprintf(want, sizeof(want), "/big' exceeds %zu bytes", limit ? limit : (size_t)2 << 20);
    ASSERT_CONTAINS(res.message, want);
    ASSERT_LE(res.body_len, limit ? limit : (size_t)2 << 20); /* never past the limit */
    act_http_result_release(&res);
}

void test_http_too_large(void)
{
    struct http_srv *srv = http_srv_start();
    /* Content-Length says too much: refused before the body. */
    expect_too_large(srv, "/big?bytes=3000000", 0);
    /* Chunked, no length: stopped while reading, at the limit. */
    expect_too_large(srv, "/big?bytes=3000000&chunked=1", 0);
    expect_too_large(srv, "/big?bytes=5000&chunked=1", 4096);
    /* Exactly at the limit is fine, both ways. */
    char url[256];
    http_srv_url(srv, "/big?bytes=4096&chunked=1", url, sizeof(url));
    struct act_http_request req = {.method = ACT_HTTP_GET, .url = url, .response_bytes_max = 4096};
    struct act_http_result res;
    act_http_result_init(&res);
    ASSERT_EQ(act_http_request(&req, &res), 0);
    ASSERT_EQ(res.body_len, 4096);
    http_srv_url(srv, "/big?bytes=4096", url, sizeof(url));
    ASSERT_EQ(act_http_request(&req, &res), 0);
    ASSERT_EQ(res.body_len, 4096);
    /* The default limit lets 2 MiB through. */
    http_srv_url(srv, "/big?bytes=2097152", url, sizeof(url));
    req.response_bytes_max = 0;
    ASSERT_EQ(act_http_request(&req, &res), 0);
    ASSERT_EQ(res.body_len, 2097152);
    act_http_result_release(&res);
    http_srv_stop(srv);
}

/* A port nothing listens on: bound, then closed without listen(). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t sl = sizeof(sin);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

void test_http_connection_refused(void)
{
    char url[256];
    snprintf(url, sizeof(url), "http://user:hunter2@127.0.0.1:%d/x?api_key=k#frag", closed_port());
    struct act_http_request req = {.method = ACT_HTTP_POST, .url = url, .body = "{}",
                                   .body_len = 2};
    struct act_http_result res;
    act_http_result_init(&res);
    ASSERT_EQ(act_http_request(&req, &res), TTAI_EUNAVAIL);
    ASSERT_EQ(res.outcome, ACT_HTTP_CONNECT);
    ASSERT_STR_EQ(res.error_type, "HttpConnect");
    ASSERT(res.retryable);
    ASSERT_EQ(res.status, 0);
    ASSERT_CONTAINS(res.message, "POST 'http://127.0.0.1:");
    ASSERT_CONTAINS(res.message, "/x' failed to connect");
    /* Neither the password nor the query reach the message. */
    ASSERT_NOT_CONTAINS(res.message, "hunter2");
    ASSERT_NOT_CONTAINS(res.message, "user");
    ASSERT_NOT_CONTAINS(res.message, "api_key");
    ASSERT_NOT_CONTAINS(res.message, "frag");
    act_http_result_release(&res);
}

void test_http_connection_reuse(void)
{
    struct http_srv *srv = http_srv_start();
    struct act_http_result res;
    act_http_result_init(&res);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(get(srv, "/json", &res), 0);
    /* Errors answered in full keep the connection too. */
    ASSERT_EQ(get(srv, "/status?code=503", &res), TTAI_EUNAVAIL);
    ASSERT_EQ(get(srv, "/status?code=404", &res), TTAI_EIO);
    ASSERT_EQ(http_srv_requests(srv), 7);
    ASSERT_EQ(http_srv_connections(srv), 1);
    /* A new thread handle (as another worker has) opens its own. */
    act_thread_release();
    ASSERT_EQ(get(srv, "/json", &res), 0);
    ASSERT_EQ(get(srv, "/json", &res), 0);
    ASSERT_EQ(http_srv_requests(srv), 9);
    ASSERT_EQ(http_srv_connections(srv), 2);
    act_http_result_release(&res);
    http_srv_stop(srv);
}

void test_http_invalid_requests(void)
{
    struct act_http_result res;
    act_http_result_init(&res);
    struct act_http_request cases[] = {
        {.method = ACT_HTTP_GET, .url = NULL},
        {.method = 9, .url = "http://127.0.0.1:1/"},
        {.method = ACT_HTTP_GET, .url = "http://127.0.0.1:1/", .body = "{}", .body_len = 2},
        {.method = ACT_HTTP_POST, .url = "http://127.0.0.1:1/", .body = "{}", .body_len = 2,
         .body_json = json_null()},
        {.method = ACT_HTTP_GET, .url = "http://127.0.0.1:1/", .timeout_ms = -1},
        {.method = ACT_HTTP_GET, .url = "http://127.0.0.1:1/",
         .timeout_ms = ACT_HTTP_TIMEOUT_MS_MAX + 1},
        {.method = ACT_HTTP_GET, .url = "http://127.0.0.1:1/",
         .response_bytes_max = ACT_HTTP_RESPONSE_BYTES_MAX + 1},
        {.method = ACT_HTTP_GET, .url = "file:///etc/passwd"},
        {.method = ACT_HTTP_GET, .url = "ftp://127.0.0.1/x"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_EQ(act_http_request(&cases[i], &res), TTAI_EINVAL);
        ASSERT_EQ(res.outcome, ACT_HTTP_INVALID);
        ASSERT_STR_EQ(res.error_type, "HttpInvalid");
        ASSERT(!res.retryable);
    }
    /* Header injection is refused. */
    struct act_http_header bad[][1] = {{{"X-A", "v\r\nX-Evil: 1"}}, {{"X A", "v"}},
                                       {{"X:A", "v"}}, {{"", "v"}}};
    for (size_t i = 0; i < 4; i++) {
        struct act_http_request req = {.method = ACT_HTTP_GET, .url = "http://127.0.0.1:1/",
                                       .headers = bad[i], .header_count = 1};
        ASSERT_EQ(act_http_request(&req, &res), TTAI_EINVAL);
        ASSERT_CONTAINS(res.message, "malformed header");
    }
    struct act_http_header many[ACT_HTTP_HEADERS_MAX + 1];
    for (size_t i = 0; i <= ACT_HTTP_HEADERS_MAX; i++)
        many[i] = (struct act_http_header){"X-N", "1"};
    struct act_http_request req = {.method = ACT_HTTP_GET, .url = "http://127.0.0.1:1/",
                                   .headers = many, .header_count = ACT_HTTP_HEADERS_MAX + 1};
    ASSERT_EQ(act_http_request(&req, &res), TTAI_EINVAL);
    act_http_result_release(&res);
}

void test_http_retry_after_parse(void)
{
    int64_t d = -5;
    /* 2015-10-21 07:28:00 UTC is 1445412480 s. */
    int64_t now = 1445412480000LL - 30000;
    ASSERT(act_http_retry_after_parse("120", now, &d));
    ASSERT_EQ(d, 120000);
    ASSERT(act_http_retry_after_parse("0", now, &d));
    ASSERT_EQ(d, 0);
    ASSERT(act_http_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", now, &d));
    ASSERT_EQ(d, 30000);
    ASSERT(act_http_retry_after_parse("Wednesday, 21-Oct-15 07:28:00 GMT", now, &d));
    ASSERT_EQ(d, 30000);
    ASSERT(act_http_retry_after_parse("Wed Oct 21 07:28:00 2015", now, &d));
    ASSERT_EQ(d, 30000);
    /* Past dates mean now; huge values are clamped. */
    ASSERT(act_http_retry_after_parse("Wed, 21 Oct 2015 07:27:00 GMT", now, &d));
    ASSERT_EQ(d, 0);
    ASSERT(act_http_retry_after_parse("999999999999999999999", now, &d));
    ASSERT_EQ(d, ACT_HTTP_RETRY_AFTER_MS_MAX);
    ASSERT(act_http_retry_after_parse("86400", now, &d));
    ASSERT_EQ(d, ACT_HTTP_RETRY_AFTER_MS_MAX);
    d = -5;
    ASSERT(!act_http_retry_after_parse("", now, &d));
    ASSERT(!act_http_retry_after_parse("soon", now, &d));
    ASSERT(!act_http_retry_after_parse("-5", now, &d));
    ASSERT(!act_http_retry_after_parse("1.5", now, &d));
    ASSERT(!act_http_retry_after_parse("7 seconds", now, &d));
    ASSERT_EQ(d, -5);
}

void test_http_url_redact(void)
{
    char out[64];
    act_http_url_redact("https://user:pw@api.example.com:8443/v1/x?key=s#f", out, sizeof(out));
    ASSERT_STR_EQ(out, "https://api.example.com:8443/v1/x");
    act_http_url_redact("http://h/p?q", out, sizeof(out));
    ASSERT_STR_EQ(out, "http://h/p");
    act_http_url_redact("http://tok@h", out, sizeof(out));
    ASSERT_STR_EQ(out, "http://h");
    act_http_url_redact("http://h/a@b", out, sizeof(out));
    ASSERT_STR_EQ(out, "http://h/a@b");
    act_http_url_redact("not a url?x=1", out, sizeof(out));
    ASSERT_STR_EQ(out, "not a url");
    char small[16];
    act_http_url_redact("http://example.com/a/very/long/path", small, sizeof(small));
    ASSERT_STR_EQ(small, "http://examp...");
    ASSERT_STR_EQ(act_http_method_name(ACT_HTTP_PUT), "PUT");
    ASSERT_STR_EQ(act_http_method_name(42), "?");
    int m = -1;
    ASSERT(act_http_method_parse("DELETE", 6, &m));
    ASSERT_EQ(m, ACT_HTTP_DELETE);
    ASSERT(!act_http_method_parse("delete", 6, &m));
    ASSERT(!act_http_method_parse("PATCH", 5, &m));
}

/* ---- TLS ------------------------------------------------------------------------ */

/* Runs a shell command; true when it exits 0. */
static bool run(const char *cmd)
{
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Starts `openssl s_server -www` with a self-signed certificate for
 * 127.0.0.1 (written to cert_path) on a free port; returns its pid. */
static pid_t tls_server_start(int *port, char *cert_path, size_t size)
{
    const char *dir = test_tmpdir();
    char key_path[600], cmd[2048];
    snprintf(cert_path, size, "%s/cert.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
    snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
             ">/dev/null 2>&1", key_path, cert_path);
    ASSERT(run(cmd));
    *port = closed_port();
    char accept[32];
    snprintf(accept, sizeof(accept), "127.0.0.1:%d", *port);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("openssl", "openssl", "s_server", "-accept", accept, "-cert", cert_path, "-key",
               key_path, "-www", "-quiet", (char *)NULL);
        _exit(127);
    }
    /* Wait until it accepts connections (at most 10 s). */
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
        close(fd);
        if (ok)
            return pid;
        test_nap_ms(50);
    }
    kill(pid, SIGKILL);
    test__fail(__FILE__, __LINE__, "openssl s_server did not start on port %d", *port);
}

/* Verification is on: an untrusted certificate fails (final), the same
 * server passes once its certificate is trusted through ca_file. */
void test_http_tls_verification(void)
{
    if (!run("openssl version >/dev/null 2>&1")) {
        printf("skip: no openssl command\n");
        exit(77);
    }
    int port;
    char cert[600];
    pid_t pid = tls_server_start(&port, cert, sizeof(cert));
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
    struct act_http_request req = {.method = ACT_HTTP_GET, .url = url, .timeout_ms = 10000};
    struct act_http_result res;
    act_http_result_init(&res);
    ASSERT_EQ(act_http_request(&req, &res), TTAI_EIO);
    ASSERT_EQ(res.outcome, ACT_HTTP_TLS);
    ASSERT_STR_EQ(res.error_type, "HttpTls");
    ASSERT(!res.retryable);
    ASSERT_CONTAINS(res.message, "failed TLS verification");
    req.ca_file = cert;
    ASSERT_EQ(act_http_request(&req, &res), 0);
    ASSERT_EQ(res.status, 200);
    act_http_result_release(&res);
    kill(pid, SIGTERM);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
}
