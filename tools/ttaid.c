/* ttaid: the ttai daemon. One process: the HTTP/JSON API (engine/server.c)
 * on a libevent loop in the main thread, the engine on the data directory
 * with the built-in workflows, and an engine thread that polls it.
 *
 * Settings come from, in increasing precedence: defaults, the config file
 * (--config FILE or TTAI_CONFIG), the environment (TTAI_*), the flags.
 * Tokens add up from every source. See docs/operations.md.
 *
 * Exit status: 0 after a graceful stop (SIGTERM/SIGINT), 1 when the
 * engine or the store fails, 2 for a usage or configuration error.
 */
#include <errno.h>
#include <netdb.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "server.h"
#include "activities.h"
#include "alerts/channels.h"
#include "store.h"
#include "listen_addr.h"
#include "ttaid_config.h"
#include "ttaid_system.h"
#include "workflows.h"

/* The web console's files (console_assets.c, made from tools/console by
 * tools/console/embed.cmake). */
extern const struct ttai_server_asset ttaid_console_assets[];
extern const size_t ttaid_console_asset_count;

#define DRAIN_DEADLINE_S 10

struct daemon {
    struct ttaid_config cfg;
    struct event_base *base;
    struct ttai_engine *eng;
    struct ttai_server *srv;
    pthread_t engine_thread;
    atomic_bool engine_stop;
    int exit_code;
    struct event *fatal_ev;
    bool stopping;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ttaid [options]\n"
            "  --config FILE            key = value settings (TTAI_CONFIG)\n"
            "  --data DIR               data directory (TTAI_DATA; default ./ttai-data)\n"
            "  --listen HOST:PORT       API address (TTAI_LISTEN; default 127.0.0.1:7280; port 0: any)\n"
            "  --activity-threads N     activity pool threads (TTAI_ACTIVITY_THREADS; default 4)\n"
            "  --cache-size N           workflow runs kept in memory (TTAI_CACHE_SIZE; default 10000)\n"
            "  --workers N              API threads running engine calls (TTAI_WORKERS; default 32)\n"
            "  --max-body BYTES         request body limit (TTAI_MAX_BODY; default 2097152)\n"
            "  --map-size BYTES         store size limit; writes past it answer 507 (TTAI_MAP_SIZE;\n"
            "                           default 1 TiB)\n"
            "  --log-level LEVEL        error|warn|info|debug (TTAI_LOG_LEVEL; default info)\n"
            "  --log-format FORMAT      text|json (TTAI_LOG_FORMAT; default text)\n"
            "  --token TOKEN:NS1,NS2    a bearer token and its namespaces ('*': all); repeatable\n"
            "                           (TTAI_TOKENS: TOKEN:NS,...;TOKEN:NS,...)\n"
            "  --market-url URL         market data service for the TTAI activities (TTAI_MARKET_URL)\n"
            "  --alert-channels FILE    alert channel settings, JSON (TTAI_ALERT_CHANNELS; docs/alerts.md)\n"
            "  --alert-always LIST      channels every alert also goes to (TTAI_ALERT_ALWAYS; default console,stream)\n"
            "  --ttai-system on|off     start the TTAI monitors and schedules on boot (TTAI_SYSTEM; default off)\n"
            "  --help                   this text\n");
}

/* ---- Settings: ttaid_config.c ---------------------------------------------------- */

/* Whether every address host resolves to is a loopback one (127.0.0.0/8,
 * ::1, or 127/8 mapped into IPv6). The name is resolved as the server's
 * bind resolves it: text ("127.evil.example") proves nothing, as a name
 * can point anywhere. The server checks the address it bound again. */
static bool is_loopback(const char *host)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    if (host[0] == '\0' || getaddrinfo(host, NULL, &hints, &ai) != 0 || ai == NULL)
        return false;
    bool all = true;
    for (const struct addrinfo *a = ai; a != NULL && all; a = a->ai_next)
        all = ttai_sockaddr_loopback(a->ai_addr);
    freeaddrinfo(ai);
    return all;
}

/* libevent's own messages (its accept and socket warnings) in the
 * daemon's format and under its level, instead of raw lines on stderr.
 * Process-wide in libevent, so set by the program, not by the server. */
static void libevent_log_cb(int severity, const char *msg)
{
    int level = severity >= EVENT_LOG_ERR ? TTAI_LOG_ERROR
                : severity == EVENT_LOG_WARN ? TTAI_LOG_WARN
                : severity == EVENT_LOG_MSG ? TTAI_LOG_INFO : TTAI_LOG_DEBUG;
    ttai_log(level, "libevent", "%s", msg);
}

/* ---- Threads and signals ---------------------------------------------------------- */

/* Logs, once, that the store latched after a failed commit (a full disk,
 * an I/O error). The daemon keeps serving reads and queries; writes answer
 * 503 with the cause until it is restarted (docs/operations.md). */
static void watch_store(struct daemon *d, bool *reported)
{
    struct ttai_err err = {0};
    if (*reported || store_failure(ttai_engine_store(d->eng), &err) == 0)
        return;
    *reported = true;
    ttai_log(TTAI_LOG_ERROR, "store",
             "the store refuses writes: %s; reads and queries go on; restart ttaid once the "
             "cause is fixed (free disk space)", err.msg);
}

/* The HTTP loop's event base. With the changelist, libevent makes the
 * epoll changes of one loop pass in one epoll_ctl per descriptor: evhttp
 * turns a connection's read and write interest off and on around every
 * request, which cost four epoll_ctl calls per request without it and 2.4
 * with it (docs/performance.md, change 23). The flag's one hazard, a
 * descriptor dup()ed and closed while the other copy is watched, does not
 * arise: the loop never duplicates a socket. */
static struct event_base *loop_base_new(void)
{
    struct event_config *cfg = event_config_new();
    if (cfg == NULL)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static void *engine_main(void *arg)
{
    struct daemon *d = arg;
    pthread_setname_np(pthread_self(), "ttai-engine"); /* top -H, perf --sort comm */
    bool store_reported = false;
    while (!atomic_load(&d->engine_stop)) {
        watch_store(d, &store_reported);
        int64_t next = INT64_MAX;
        int n = ttai_engine_poll(d->eng, &next);
        if (n < 0) {
            ttai_log(TTAI_LOG_ERROR, "engine", "poll failed: %s; stopping", ttai_strerror(n));
            event_active(d->fatal_ev, EV_READ, 0);
            return NULL;
        }
        if (n == 0) {
            int64_t wait = 100;
            if (next != INT64_MAX) {
                int64_t until = next - ttai_wall_ms();
                wait = until < wait ? until : wait;
            }
            if (wait > 0)
                ttai_engine_wait(d->eng, wait);
        }
    }
    return NULL;
}

static void drained_cb(void *arg)
{
    struct daemon *d = arg;
    /* Every reply is queued; give the loop a moment to write them out
     * before the connections close. */
    struct timeval flush = {0, 200 * 1000};
    event_base_loopexit(d->base, &flush);
}

static void begin_stop(struct daemon *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = true;
    ttai_log(TTAI_LOG_INFO, "shutdown", "%s: draining requests", why);
    struct timeval deadline = {DRAIN_DEADLINE_S, 0};
    event_base_loopexit(d->base, &deadline);
    ttai_server_drain(d->srv, drained_cb, d);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    begin_stop(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void fatal_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    d->exit_code = 1;
    begin_stop(d, "engine failure");
}

/* ---- Main --------------------------------------------------------------------------- */

static int parse_args(struct ttaid_config *cfg, int argc, char **argv)
{
    /* The config file first, so that flags override it. */
    const char *config = getenv("TTAI_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config = argv[i] + 9;
    }
    if (config != NULL && *config != '\0' && !ttaid_config_load_file(cfg, config))
        return 2;
    if (!ttaid_config_load_env(cfg))
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "ttaid: unexpected argument '%s'\n", a);
            return 2;
        }
        char key[64];
        const char *value;
        const char *eq = strchr(a, '=');
        if (eq != NULL) {
            snprintf(key, sizeof(key), "%.*s", (int)(eq - a - 2), a + 2);
            value = eq + 1;
        } else {
            snprintf(key, sizeof(key), "%s", a + 2);
            if (i + 1 >= argc) {
                fprintf(stderr, "ttaid: flag '%s' needs a value\n", a);
                return 2;
            }
            value = argv[++i];
        }
        if (strcmp(key, "config") == 0)
            continue;
        if (strchr(key, '_') != NULL || !ttaid_config_apply(cfg, key, value, "command line")) {
            fprintf(stderr, "ttaid: bad flag '%s' (see ttaid --help)\n", a);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct daemon d;
    d.cfg.log_level = TTAI_LOG_INFO;
    int rc = parse_args(&d.cfg, argc, argv);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    ttai_log_setup(d.cfg.log_level, d.cfg.log_json);
    const char *data = d.cfg.data ? d.cfg.data : "./ttai-data";
    char host[256];
    int port;
    if (!listen_addr_split(d.cfg.listen ? d.cfg.listen : "127.0.0.1:7280", host, sizeof(host), &port)) {
        fprintf(stderr, "ttaid: --listen wants HOST:PORT, not '%s'\n", d.cfg.listen);
        return 2;
    }
    if (d.cfg.token_count == 0 && !is_loopback(host)) {
        ttai_log(TTAI_LOG_ERROR, "config",
                 "refusing to listen on non-loopback address %s without tokens: configure "
                 "--token TOKEN:NAMESPACES or listen on 127.0.0.1", host);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    event_set_log_callback(libevent_log_cb);
    if (evthread_use_pthreads() != 0) {
        ttai_log(TTAI_LOG_ERROR, "start", "libevent has no pthreads support");
        return 1;
    }
    struct ttai_err err = {0};
    struct ttai_engine_opts eo = {
        .data_dir = data,
        .registry = &wf_builtin_registry,
        .cache_max = d.cfg.cache_size > 0 ? (size_t)d.cfg.cache_size : 0,
        .activity_threads = d.cfg.activity_threads > 0 ? (size_t)d.cfg.activity_threads : 0,
        .map_bytes_max = d.cfg.map_size > 0 ? (size_t)d.cfg.map_size : 0,
    };
    if (ttai_engine_open(&d.eng, &eo, &err) != 0) {
        ttai_log(TTAI_LOG_ERROR, "start", "cannot open the engine on '%s': %s", data, err.msg);
        return 1;
    }
    struct ttaid_system_cfg sys = {.market_url = d.cfg.market_url,
                                   .channels_file = d.cfg.alert_channels,
                                   .always = d.cfg.alert_always, .boot = d.cfg.ttai_system};
    if (ttaid_system_configure(d.eng, &sys, &err) != 0 ||
        (sys.boot && ttaid_system_boot(d.eng, &sys, &err) != 0)) {
        ttai_log(TTAI_LOG_ERROR, "start", "TTAI system: %s", err.msg);
        ttai_engine_close(d.eng);
        return 1;
    }
    d.base = loop_base_new();
    struct ttai_server_token toks[TTAID_TOKENS_MAX];
    for (size_t i = 0; i < d.cfg.token_count; i++)
        toks[i] = (struct ttai_server_token){d.cfg.tokens[i].token,
                                             (const char *const *)d.cfg.tokens[i].ns,
                                             d.cfg.tokens[i].ns_count};
    struct ttai_server_opts so = {
        .host = host,
        .port = port,
        .max_body_bytes = d.cfg.max_body > 0 ? (size_t)d.cfg.max_body : 0,
        .workers = d.cfg.workers > 0 ? (size_t)d.cfg.workers : 0,
        .tokens = toks,
        .token_count = d.cfg.token_count,
        .assets = ttaid_console_assets,
        .asset_count = ttaid_console_asset_count,
    };
    if (d.base == NULL || ttai_server_start(&d.srv, d.base, d.eng, &so, &err) != 0) {
        ttai_log(TTAI_LOG_ERROR, "start", "%s", d.base ? err.msg : "cannot make an event base");
        ttai_engine_close(d.eng);
        return d.base && (err.rc == TTAI_EIO || err.rc == TTAI_EINVAL) ? 2 : 1;
    }
    bool v6 = strchr(host, ':') != NULL;
    ttai_log(TTAI_LOG_INFO, "listen", "listening on %s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
             ttai_server_port(d.srv));
    ttai_log(TTAI_LOG_INFO, "start", "data=%s tokens=%zu", data, d.cfg.token_count);
    ttai_engine_on_close(d.eng, ttai_server_run_closed, d.srv);
    ttai_engine_on_batch(d.eng, ttai_server_batch, d.srv);
    /* "stream" alert deliveries feed GET .../alerts; the sink is called on
     * activity threads and hands off to the loop (server_alerts.c). */
    alert_stream_set_sink(ttai_server_alert_push, d.srv);
    d.fatal_ev = event_new(d.base, -1, 0, fatal_cb, &d);
    struct event *sigterm = evsignal_new(d.base, SIGTERM, signal_cb, &d);
    struct event *sigint = evsignal_new(d.base, SIGINT, signal_cb, &d);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    if (pthread_create(&d.engine_thread, NULL, engine_main, &d) != 0) {
        ttai_log(TTAI_LOG_ERROR, "start", "cannot start the engine thread");
        return 1;
    }
    event_base_dispatch(d.base);
    /* Stopped: answer nothing more, let the engine finish its poll. */
    atomic_store(&d.engine_stop, true);
    pthread_join(d.engine_thread, NULL);
    /* Activities still run until the engine closes: once this returns the
     * sink is never called again, so the server may go. */
    alert_stream_set_sink(NULL, NULL);
    /* The close below still finishes rounds in flight, whose runs may
     * close: nobody is told. The API workers stop first (they call the
     * engine); the server is freed last, with the starts the close hands
     * back to it (ttai_engine_start_async). */
    ttai_engine_on_close(d.eng, NULL, NULL);
    ttai_engine_on_batch(d.eng, NULL, NULL);
    ttai_server_stop(d.srv);
    ttai_engine_close(d.eng);
    ttai_server_free(d.srv);
    act_global_cleanup();
    event_free(sigterm);
    event_free(sigint);
    event_free(d.fatal_ev);
    event_base_free(d.base);
    ttai_log(TTAI_LOG_INFO, "shutdown", "stopped");
    int exit_code = d.exit_code;
    ttaid_config_free(&d.cfg);
    return exit_code;
}
