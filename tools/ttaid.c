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
#include "ttaid_system.h"
#include "workflows.h"

/* The web console's files (console_assets.c, made from tools/console by
 * tools/console/embed.cmake). */
extern const struct ttai_server_asset ttaid_console_assets[];
extern const size_t ttaid_console_asset_count;

#define TOKENS_MAX 64
#define NAMESPACES_MAX 64
#define DRAIN_DEADLINE_S 10

struct token_cfg {
    char *token;
    char *ns[NAMESPACES_MAX];
    size_t ns_count;
};

struct config {
    char *data;
    char *listen;
    long long activity_threads;
    long long cache_size;
    long long max_body;
    long long workers;
    int log_level;
    bool log_json;
    struct token_cfg tokens[TOKENS_MAX];
    size_t token_count;
    char *market_url;                 /* the TTAI system (ttaid_system.h) */
    char *alert_channels;
    char *alert_always;
    bool ttai_system;
};

struct daemon {
    struct config cfg;
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

/* ---- Settings ---------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static bool parse_count(const char *v, long long min, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || n < min)
        return false;
    *out = n;
    return true;
}

/* "TOKEN:ns1,ns2" or "TOKEN ns1,ns2". */
static bool add_token(struct config *cfg, const char *spec)
{
    if (cfg->token_count == TOKENS_MAX)
        return false;
    char *copy = strdup(spec);
    if (copy == NULL)
        return false;
    char *sep = strpbrk(copy, ": \t");
    if (sep == NULL || sep == copy) {
        free(copy);
        return false;
    }
    *sep = '\0';
    struct token_cfg *t = &cfg->tokens[cfg->token_count];
    memset(t, 0, sizeof(*t));
    t->token = copy;
    char *save = NULL;
    for (char *ns = strtok_r(sep + 1, ", \t", &save); ns != NULL; ns = strtok_r(NULL, ", \t", &save)) {
        if (t->ns_count == NAMESPACES_MAX)
            break;
        t->ns[t->ns_count++] = ns;
    }
    if (t->ns_count == 0) {
        free(copy);
        return false;
    }
    cfg->token_count++;
    return true;
}

/* Applies one setting; false with a message on stderr when it is bad. */
static bool apply(struct config *cfg, const char *key, const char *value, const char *where)
{
    bool ok = true;
    char k[64];
    snprintf(k, sizeof(k), "%s", key);
    for (char *p = k; *p; p++)
        if (*p == '_')
            *p = '-';
    if (strcmp(k, "data") == 0) {
        free(cfg->data);
        cfg->data = strdup(value);
    } else if (strcmp(k, "listen") == 0) {
        free(cfg->listen);
        cfg->listen = strdup(value);
    } else if (strcmp(k, "activity-threads") == 0) {
        ok = parse_count(value, 1, &cfg->activity_threads);
    } else if (strcmp(k, "cache-size") == 0) {
        ok = parse_count(value, 1, &cfg->cache_size);
    } else if (strcmp(k, "workers") == 0) {
        ok = parse_count(value, 1, &cfg->workers);
    } else if (strcmp(k, "max-body") == 0) {
        ok = parse_count(value, 1, &cfg->max_body);
    } else if (strcmp(k, "log-level") == 0) {
        int l = ttai_log_level_parse(value);
        ok = l >= 0;
        if (ok)
            cfg->log_level = l;
    } else if (strcmp(k, "log-format") == 0) {
        ok = strcmp(value, "text") == 0 || strcmp(value, "json") == 0;
        cfg->log_json = strcmp(value, "json") == 0;
    } else if (strcmp(k, "token") == 0) {
        ok = add_token(cfg, value);
    } else if (strcmp(k, "market-url") == 0) {
        free(cfg->market_url);
        cfg->market_url = strdup(value);
    } else if (strcmp(k, "alert-channels") == 0) {
        free(cfg->alert_channels);
        cfg->alert_channels = strdup(value);
    } else if (strcmp(k, "alert-always") == 0) {
        free(cfg->alert_always);
        cfg->alert_always = strdup(value);
    } else if (strcmp(k, "ttai-system") == 0) {
        ok = strcmp(value, "on") == 0 || strcmp(value, "off") == 0;
        cfg->ttai_system = strcmp(value, "on") == 0;
    } else {
        fprintf(stderr, "ttaid: unknown setting '%s' (%s)\n", key, where);
        return false;
    }
    if (!ok)
        fprintf(stderr, "ttaid: bad value '%s' for %s (%s)\n", value, key, where);
    return ok;
}

static bool load_config(struct config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "ttaid: cannot open config '%s': %s\n", path, strerror(errno));
        return false;
    }
    char line[4096];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        char where[300];
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (eq == NULL) {
            fprintf(stderr, "ttaid: %s: expected 'key = value'\n", where);
            ok = false;
            break;
        }
        *eq = '\0';
        ok = apply(cfg, trim(s), trim(eq + 1), where);
    }
    fclose(f);
    return ok;
}

static bool load_env(struct config *cfg)
{
    static const char *const vars[][2] = {
        {"TTAI_DATA", "data"},           {"TTAI_LISTEN", "listen"},
        {"TTAI_ACTIVITY_THREADS", "activity-threads"}, {"TTAI_CACHE_SIZE", "cache-size"},
        {"TTAI_WORKERS", "workers"},     {"TTAI_MAX_BODY", "max-body"},
        {"TTAI_LOG_LEVEL", "log-level"}, {"TTAI_LOG_FORMAT", "log-format"},
        {"TTAI_MARKET_URL", "market-url"}, {"TTAI_ALERT_CHANNELS", "alert-channels"},
        {"TTAI_ALERT_ALWAYS", "alert-always"}, {"TTAI_SYSTEM", "ttai-system"},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i][0]);
        if (v != NULL && *v != '\0' && !apply(cfg, vars[i][1], v, vars[i][0]))
            return false;
    }
    const char *toks = getenv("TTAI_TOKENS");
    if (toks != NULL && *toks != '\0') {
        char *copy = strdup(toks), *save = NULL;
        bool ok = copy != NULL;
        for (char *t = copy ? strtok_r(copy, ";", &save) : NULL; ok && t != NULL;
             t = strtok_r(NULL, ";", &save))
            ok = apply(cfg, "token", trim(t), "TTAI_TOKENS");
        free(copy);
        if (!ok)
            return false;
    }
    return true;
}

/* Splits HOST:PORT ([v6]:PORT too); false when malformed. */
static bool split_listen(const char *listen, char *host, size_t size, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen)
        return false;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= size)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    long long p;
    if (!parse_count(colon + 1, 0, &p) || p > 65535)
        return false;
    *port = (int)p;
    return true;
}

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

/* ---- Threads and signals ---------------------------------------------------------- */

static void *engine_main(void *arg)
{
    struct daemon *d = arg;
    while (!atomic_load(&d->engine_stop)) {
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

static int parse_args(struct config *cfg, int argc, char **argv)
{
    /* The config file first, so that flags override it. */
    const char *config = getenv("TTAI_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config = argv[i] + 9;
    }
    if (config != NULL && *config != '\0' && !load_config(cfg, config))
        return 2;
    if (!load_env(cfg))
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
        if (strchr(key, '_') != NULL || !apply(cfg, key, value, "command line")) {
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
    if (!split_listen(d.cfg.listen ? d.cfg.listen : "127.0.0.1:7280", host, sizeof(host), &port)) {
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
    d.base = event_base_new();
    struct ttai_server_token toks[TOKENS_MAX];
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
        return d.base && err.rc == TTAI_EIO ? 2 : 1;
    }
    bool v6 = strchr(host, ':') != NULL;
    ttai_log(TTAI_LOG_INFO, "listen", "listening on %s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
             ttai_server_port(d.srv));
    ttai_log(TTAI_LOG_INFO, "start", "data=%s tokens=%zu", data, d.cfg.token_count);
    ttai_engine_on_close(d.eng, ttai_server_run_closed, d.srv);
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
    ttai_server_free(d.srv); /* after the engine thread: it calls the server on closes */
    ttai_engine_close(d.eng);
    act_global_cleanup();
    event_free(sigterm);
    event_free(sigint);
    event_free(d.fatal_ev);
    event_base_free(d.base);
    ttai_log(TTAI_LOG_INFO, "shutdown", "stopped");
    for (size_t i = 0; i < d.cfg.token_count; i++)
        free(d.cfg.tokens[i].token);
    free(d.cfg.data);
    free(d.cfg.listen);
    free(d.cfg.market_url);
    free(d.cfg.alert_channels);
    free(d.cfg.alert_always);
    return d.exit_code;
}
