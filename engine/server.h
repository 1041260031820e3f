/* server.h: the HTTP/JSON API server of ttaid (docs/api.md), on libevent.
 *
 * The server runs on one libevent loop (the caller's event_base, made after
 * evthread_use_pthreads()). It parses requests, checks tokens, and hands
 * every engine call to a small pool of worker threads, so that many starts
 * and signals wait for durability at once and share group commits; each
 * reply comes back to the loop thread through a queue. History streams
 * (Server-Sent Events) and result long-polls are served on the loop thread.
 *
 * Logging lives here too: one ttai_log() writes one line per event to
 * stderr, as key=value text or as JSON lines.
 */
#ifndef TTAI_SERVER_H
#define TTAI_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttai.h"

struct event_base;

/* ---- Logging ---------------------------------------------------------------- */

enum ttai_log_level { TTAI_LOG_ERROR = 0, TTAI_LOG_WARN, TTAI_LOG_INFO, TTAI_LOG_DEBUG };

/* Sets the level (lines above it are dropped) and the format (json false:
 * key=value text). Call before any thread logs. */
void ttai_log_setup(int level, bool json);
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int ttai_log_level_parse(const char *name);
/* Writes one line: time, level, event (a short tag), and the formatted
 * message. Thread-safe (one write(2) per line). */
void ttai_log(int level, const char *event, const char *fmt, ...) TTAI_PRINTF(3, 4);

/* ---- The server -------------------------------------------------------------- */

/* A bearer token and the namespaces it may use ("*": every namespace). */
struct ttai_server_token {
    const char *token;
    const char *const *namespaces;
    size_t namespace_count;
};

/* One static file of the web console (tools/console), served at
 * /console/NAME, index.html at / too. The bytes are borrowed for the
 * server's lifetime (ttaid compiles them in). */
struct ttai_server_asset {
    const char *name;                     /* "console.js" */
    const char *content_type;             /* "text/javascript; charset=utf-8" */
    const unsigned char *data;
    size_t len;
};

struct ttai_server_opts {
    const char *host;                     /* default "127.0.0.1" */
    int port;                             /* 0: any free port (see ttai_server_port) */
    size_t max_body_bytes;                /* 0: 2 MiB */
    size_t workers;                       /* threads running engine calls; 0: 32 */
    const struct ttai_server_token *tokens; /* none: no authentication */
    size_t token_count;
    const struct ttai_server_asset *assets; /* the console; none: / and /console/ answer 404 */
    size_t asset_count;
    size_t alerts_recent_max;             /* alerts kept for GET .../alerts; 0: 256 */
};

struct ttai_server;

/* Binds and starts serving on base. The engine and the options (tokens
 * included) are borrowed until ttai_server_free(). Errors: TTAI_EIO when
 * the address cannot be bound, TTAI_EINVAL when no token is configured and
 * the address bound is not a loopback one, TTAI_ENOMEM. */
int ttai_server_start(struct ttai_server **out, struct event_base *base,
                      struct ttai_engine *eng, const struct ttai_server_opts *opts,
                      struct ttai_err *err) TTAI_MUST_CHECK;
struct sockaddr;
/* Whether an address is a loopback one: 127.0.0.0/8, ::1, or 127/8 mapped
 * into IPv6. */
bool ttai_sockaddr_loopback(const struct sockaddr *sa);
/* The port actually bound. */
int ttai_server_port(const struct ttai_server *srv);
/* Graceful stop, step one: closes the listening socket, ends streams and
 * long-polls, and calls done_cb on the loop thread once no request is in
 * flight (at once when none is). */
void ttai_server_drain(struct ttai_server *srv, void (*done_cb)(void *arg), void *arg);
/* Stops the API workers (once the loop has ended): from then on the
 * server calls the engine no more, and the engine may close. Starts the
 * engine still held come back as it closes (ttai_engine_start_async), to
 * be freed with the server. Optional: ttai_server_free stops them too. */
void ttai_server_stop(struct ttai_server *srv);
/* Stops the workers and frees everything (connections included, and the
 * jobs the engine handed back). Call on the loop thread's side after the
 * loop ended. NULL: no-op. */
void ttai_server_free(struct ttai_server *srv);

/* A ttai_batch_fn: pass it with the server to ttai_engine_on_batch() so
 * that the loop thread is woken once for a round's start outcomes and
 * closes, not once for each. Optional. */
void ttai_server_batch(void *srv, bool begin);

/* A ttai_close_fn: pass it with the server to ttai_engine_on_close() so
 * that result long-polls wake when a run closes. Thread-safe. */
void ttai_server_run_closed(void *srv, const char *ns, const char *workflow_id,
                            const struct ttai_run_id *run, int status,
                            const struct store_event *close_ev);

/* Hands one alert to the live alert stream (GET .../alerts, docs/api.md):
 * text is the alert as a JSON object whose "namespace" member names its
 * namespace ("default" when absent). Has the signature of the alerts
 * module's alert_sink_fn, so that the daemon connects it with
 * alert_stream_set_sink(ttai_server_alert_push, srv); disconnect it before
 * ttai_server_free(). Thread-safe and quick: it copies the text into the
 * bounded ring of recent alerts under a mutex and wakes the loop thread,
 * which sends it to the open streams. A text that is not a JSON object, or
 * over 64 KiB, is dropped. */
void ttai_server_alert_push(void *srv, const char *text);

#endif /* TTAI_SERVER_H */
