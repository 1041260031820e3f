/* http_server.h: a loopback HTTP server for the tests (libevent's evhttp on
 * its own thread, 127.0.0.1, an ephemeral port).
 *
 * Routes (query parameters in brackets):
 *   /json                       200 {"hello":"world","n":42,"list":[1,2,3]}
 *   /echo                       200 {"method","body","authorization",
 *                               "content_type","x_test"} of the request
 *   /delay [ms]                 200 {"delayed_ms":ms} after ms milliseconds
 *   /status [code, retry_after, retry_after_in]
 *                               that status with {"status":code}; Retry-After
 *                               is the retry_after value as given, or an
 *                               HTTP-date retry_after_in seconds from now
 *   /flap [key, fail, code, retry_after]
 *                               the first `fail` requests with this key get
 *                               `code` (default 503), later ones 200
 *                               {"key":key,"count":n}
 *   /big [bytes, chunked]       200 with a JSON string of exactly `bytes`
 *                               bytes, with Content-Length or chunked
 *   /private                    200 {"ok":true} when Authorization equals
 *                               the token set by http_srv_set_token, else 401
 * Anything else is 404. */
#ifndef TTAI_TEST_HTTP_SERVER_H
#define TTAI_TEST_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct http_srv;

/* Starts the server (asserts on failure). */
struct http_srv *http_srv_start(void);
/* Waits for delayed replies still due, then stops and frees the server. */
void http_srv_stop(struct http_srv *srv);
int http_srv_port(const struct http_srv *srv);
/* "http://127.0.0.1:PORT" + path_query into out. */
void http_srv_url(const struct http_srv *srv, const char *path_query, char *out, size_t size);
/* Requests answered or being answered, and TCP connections accepted. */
uint64_t http_srv_requests(const struct http_srv *srv);
uint64_t http_srv_connections(const struct http_srv *srv);
/* Requests seen so far for a /flap key. */
int http_srv_flap_count(struct http_srv *srv, const char *key);
/* The Authorization value /private accepts (copied). */
void http_srv_set_token(struct http_srv *srv, const char *token);

#endif
