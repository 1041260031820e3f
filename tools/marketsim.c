/* ttai-marketsim: a loopback market data service for ttai's TTAI workflows
 * and their tests. It answers the data provider contract of the background
 * task system (POST /quotes, POST /news, /portfolio, POST /screener) from a
 * seeded model (tools/marketsim.h), and lets tests steer it through
 * /admin routes: move a virtual clock, force a price, inject an article,
 * set an account's cash. docs/marketsim.md is the contract.
 *
 * One thread, one libevent loop. The clock is either the real one or a
 * virtual one that only /admin/advance and /admin/time move; the model is
 * a pure function of the seed, that clock and the admin changes.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot start, 2 for a
 * usage error.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "listen_addr.h"
#include "marketsim.h"

#define DEFAULT_LISTEN "127.0.0.1:7281"
#define DEFAULT_VIRTUAL_START "2026-01-05T14:30:00Z" /* a Monday, 9:30 New York */
#define MAX_BODY_BYTES (1 << 20)
#define MAX_QUOTE_SYMBOLS 1024
#define MAX_ADVANCE_S (10LL * 366 * 86400)
#define LAST_TIME_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

struct app {
    struct msim *sim;
    bool virtual_clock;
    int64_t virtual_now_ms; /* the clock when virtual */
};

static int64_t app_now(const struct app *app)
{
    return app->virtual_clock ? app->virtual_now_ms : ttai_wall_ms();
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ttai-marketsim [options]\n"
            "  --listen HOST:PORT     loopback address (default %s; port 0: any)\n"
            "  --seed N               seed of the model (default 1)\n"
            "  --symbols LIST         comma-separated universe (default %s)\n"
            "  --clock real|virtual   simulated time source (default real)\n"
            "  --start RFC3339        first virtual time (default %s)\n"
            "  --help                 this text\n",
            DEFAULT_LISTEN, msim_default_symbols(), DEFAULT_VIRTUAL_START);
}

/* ---- Replies ------------------------------------------------------------------------ */

static int fail(json_t **out, int status, const char *code, const char *fmt, ...)
    TTAI_PRINTF(4, 5);

static int fail(json_t **out, int status, const char *code, const char *fmt, ...)
{
    char msg[TTAI_ERR_MSG_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *out = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
    return status;
}

/* The status and error of a failed model call. */
static int fail_err(json_t **out, const struct ttai_err *err)
{
    switch (err->rc) {
    case TTAI_EINVAL:
        return fail(out, 400, "bad_request", "%s", err->msg);
    case TTAI_EEXIST:
    case TTAI_ENOSPC:
        return fail(out, 409, "conflict", "%s", err->msg);
    default:
        return fail(out, 500, "internal", "%s", err->msg);
    }
}

static void send_json(struct evhttp_request *req, int status, json_t *body)
{
    struct evbuffer *buf = evbuffer_new();
    char *text = body ? json_dumps(body, JSON_FLAGS) : NULL;
    if (text == NULL) {
        status = 500;
        text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    if (buf != NULL && text != NULL)
        evbuffer_add(buf, text, strlen(text));
    evhttp_send_reply(req, status, NULL, buf);
    free(text);
    if (buf != NULL)
        evbuffer_free(buf);
}

/* ---- Request fields ----------------------------------------------------------------- */

static const char *body_string(const json_t *body, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* GET requests carry their fields in the query: lists are comma-separated
 * (symbols, exclude_ids) and numbers are sent as numbers. */
static json_t *query_to_body(struct evhttp_request *req)
{
    json_t *body = json_object();
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (body == NULL || query == NULL)
        return body;
    if (evhttp_parse_query_str(query, &q) != 0) {
        evhttp_clear_headers(&q);
        return body;
    }
    for (struct evkeyval *kv = q.tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        json_t *v;
        char *end = NULL;
        double num = strtod(kv->value, &end);
        if (strcmp(kv->key, "symbols") == 0 || strcmp(kv->key, "exclude_ids") == 0) {
            v = json_array();
            char *copy = strdup(kv->value), *save = NULL;
            for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && v;
                 t = strtok_r(NULL, ",", &save))
                json_array_append_new(v, json_string(t));
            free(copy);
        } else if (*kv->value != '\0' && end != NULL && *end == '\0' && isfinite(num)) {
            bool whole = fabs(num) < 9007199254740992.0 && num == floor(num);
            v = whole ? json_integer((json_int_t)num) : json_real(num);
        } else {
            v = json_string(kv->value);
        }
        json_object_set_new(body, kv->key, v);
    }
    evhttp_clear_headers(&q);
    return body;
}

/* ---- Routes --------------------------------------------------------------------------- */

typedef int (*route_fn)(struct app *app, const json_t *body, json_t **out);

static int route_healthz(struct app *app, const json_t *body, json_t **out)
{
    (void)body;
    json_t *symbols = json_array();
    for (size_t i = 0; symbols && i < msim_symbol_count(app->sim); i++)
        json_array_append_new(symbols, json_string(msim_symbol_at(app->sim, i)->name));
    *out = json_pack("{s:s, s:s, s:o, s:I, s:o}", "status", "ok", "clock",
                     app->virtual_clock ? "virtual" : "real", "now", msim_time_json(app_now(app)),
                     "seed", (json_int_t)msim_seed(app->sim), "symbols", symbols);
    return 200;
}

static int route_quotes(struct app *app, const json_t *body, json_t **out)
{
    const json_t *symbols = json_object_get(body, "symbols");
    if (symbols != NULL && !json_is_null(symbols) && !json_is_array(symbols))
        return fail(out, 400, "bad_request", "'symbols' must be an array of strings");
    if (json_array_size(symbols) > MAX_QUOTE_SYMBOLS)
        return fail(out, 400, "bad_request", "at most %d symbols", MAX_QUOTE_SYMBOLS);
    size_t k;
    const json_t *s;
    json_array_foreach(symbols, k, s)
        if (!json_is_string(s))
            return fail(out, 400, "bad_request", "'symbols' must be an array of strings");
    int64_t now = app_now(app);
    json_t *map = json_object();
    if (!json_is_array(symbols)) {
        for (size_t i = 0; map && i < msim_symbol_count(app->sim); i++)
            json_object_set_new(map, msim_symbol_at(app->sim, i)->name,
                                msim_quote(app->sim, i, now));
    } else {
        /* Unknown symbols are left out, as a provider without the symbol would. */
        json_array_foreach(symbols, k, s) {
            int i = msim_find(app->sim, json_string_value(s));
            if (map && i >= 0 && json_object_get(map, json_string_value(s)) == NULL)
                json_object_set_new(map, json_string_value(s), msim_quote(app->sim, (size_t)i, now));
        }
    }
    *out = map;
    return 200;
}

static int route_news(struct app *app, const json_t *body, json_t **out)
{
    struct ttai_err err = {0};
    if (msim_news(app->sim, body, app_now(app), out, &err) != 0)
        return fail_err(out, &err);
    return 200;
}

static int account_of(const json_t *body, const char **account, json_t **out)
{
    const json_t *v = json_object_get(body, "account_id");
    *account = "default";
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 128)
        return fail(out, 400, "bad_request", "'account_id' must be a string of 1 to 128 bytes");
    *account = json_string_value(v);
    return 0;
}

static int route_portfolio(struct app *app, const json_t *body, json_t **out)
{
    const char *account;
    int status = account_of(body, &account, out);
    if (status != 0)
        return status;
    /* A past moment is as cheap as now: positions and prices are functions
     * of the time, so a weekly report can read last week's snapshot. */
    int64_t now = app_now(app), at = now;
    const json_t *as_of = json_object_get(body, "as_of");
    if (as_of != NULL && !json_is_null(as_of)) {
        if (!json_is_string(as_of) || !msim_time_parse(json_string_value(as_of), &at))
            return fail(out, 400, "bad_request", "'as_of' must be an RFC 3339 time");
        if (at > now)
            return fail(out, 400, "bad_request", "'as_of' is in the future");
    }
    *out = msim_portfolio(app->sim, account, at);
    return 200;
}

static int route_screener(struct app *app, const json_t *body, json_t **out)
{
    struct ttai_err err = {0};
    if (msim_screener(app->sim, body, app_now(app), out, &err) != 0)
        return fail_err(out, &err);
    return 200;
}

static int route_analyses(struct app *app, const json_t *body, json_t **out)
{
    const json_t *date = json_object_get(body, "date");
    if (date != NULL && !json_is_null(date) && !json_is_string(date))
        return fail(out, 400, "bad_request", "'date' must be a date, YYYY-MM-DD");
    struct ttai_err err = {0};
    if (msim_analyses(app->sim, json_string_value(date), app_now(app), out, &err) != 0)
        return fail_err(out, &err);
    return 200;
}

static int virtual_only(const struct app *app, json_t **out)
{
    if (app->virtual_clock)
        return 0;
    return fail(out, 409, "conflict", "the clock is real; start with --clock virtual to move it");
}

static int route_advance(struct app *app, const json_t *body, json_t **out)
{
    int status = virtual_only(app, out);
    if (status != 0)
        return status;
    const json_t *v = json_object_get(body, "seconds");
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > MAX_ADVANCE_S)
        return fail(out, 400, "bad_request", "'seconds' must be a number from 0 to %lld",
                    (long long)MAX_ADVANCE_S);
    int64_t next = app->virtual_now_ms + (int64_t)(json_number_value(v) * 1000.0);
    if (next > LAST_TIME_MS)
        return fail(out, 400, "bad_request", "the clock cannot pass the year 9999");
    app->virtual_now_ms = next;
    *out = json_pack("{s:o}", "now", msim_time_json(app->virtual_now_ms));
    return 200;
}

static int route_time(struct app *app, const json_t *body, json_t **out)
{
    int status = virtual_only(app, out);
    if (status != 0)
        return status;
    int64_t ms;
    const char *text = body_string(body, "now", NULL);
    if (text == NULL || !msim_time_parse(text, &ms))
        return fail(out, 400, "bad_request", "'now' must be an RFC 3339 time");
    app->virtual_now_ms = ms;
    *out = json_pack("{s:o}", "now", msim_time_json(ms));
    return 200;
}

static int route_admin_quote(struct app *app, const json_t *body, json_t **out)
{
    const char *symbol = body_string(body, "symbol", NULL);
    const json_t *price = json_object_get(body, "price");
    const json_t *hold = json_object_get(body, "hold");
    if (symbol == NULL)
        return fail(out, 400, "bad_request", "'symbol' is required");
    if (!json_is_null(price) && (!json_is_number(price) || json_number_value(price) <= 0 ||
                                 json_number_value(price) > 1e9))
        return fail(out, 400, "bad_request", "'price' must be a positive number, or null to clear");
    if (hold != NULL && !json_is_boolean(hold))
        return fail(out, 400, "bad_request", "'hold' must be true or false");
    struct ttai_err err = {0};
    int64_t now = app_now(app);
    if (msim_force_price(app->sim, symbol, json_is_null(price) ? 0 : json_number_value(price),
                         json_is_true(hold), now, &err) != 0)
        return fail_err(out, &err);
    *out = msim_quote(app->sim, (size_t)msim_find(app->sim, symbol), now);
    return 200;
}

static int route_admin_news(struct app *app, const json_t *body, json_t **out)
{
    struct ttai_err err = {0};
    if (msim_news_inject(app->sim, body, app_now(app), out, &err) != 0)
        return fail_err(out, &err);
    return 201;
}

static int route_admin_portfolio(struct app *app, const json_t *body, json_t **out)
{
    const char *account;
    int status = account_of(body, &account, out);
    if (status != 0)
        return status;
    const json_t *cash = json_object_get(body, "cash");
    if (!json_is_number(cash) || json_number_value(cash) < 0 || json_number_value(cash) > 1e12)
        return fail(out, 400, "bad_request", "'cash' must be a number from 0 to 1e12");
    struct ttai_err err = {0};
    if (msim_set_cash(app->sim, account, json_number_value(cash), &err) != 0)
        return fail_err(out, &err);
    *out = msim_portfolio(app->sim, account, app_now(app));
    return 200;
}

#define M_GET EVHTTP_REQ_GET
#define M_POST EVHTTP_REQ_POST

static const struct route {
    const char *path;
    unsigned methods; /* evhttp_cmd_type bits */
    route_fn fn;
} routes[] = {
    {"/healthz", M_GET, route_healthz},
    {"/quotes", M_GET | M_POST, route_quotes},
    {"/news", M_GET | M_POST, route_news},
    {"/portfolio", M_GET | M_POST, route_portfolio},
    {"/screener", M_GET | M_POST, route_screener},
    {"/analyses", M_GET | M_POST, route_analyses},
    {"/admin/advance", M_POST, route_advance},
    {"/admin/time", M_POST, route_time},
    {"/admin/quote", M_POST, route_admin_quote},
    {"/admin/news", M_POST, route_admin_news},
    {"/admin/portfolio", M_POST, route_admin_portfolio},
};

/* The POST body as a JSON object ({} when empty); a status on failure. */
static int read_body(struct evhttp_request *req, json_t **body, json_t **out)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len == 0) {
        *body = json_object();
        return 0;
    }
    const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    json_error_t jerr;
    *body = data ? json_loadb(data, len, 0, &jerr) : NULL;
    if (*body == NULL)
        return fail(out, 400, "bad_request", "malformed JSON: %s (line %d, column %d)", jerr.text,
                    jerr.line, jerr.column);
    if (!json_is_object(*body)) {
        json_decref(*body);
        *body = NULL;
        return fail(out, 400, "bad_request", "the body must be a JSON object");
    }
    return 0;
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct app *app = arg;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    json_t *out = NULL, *body = NULL;
    int status = 0;
    const struct route *route = NULL;
    for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]); k++)
        if (path != NULL && strcmp(path, routes[k].path) == 0)
            route = &routes[k];
    if (route == NULL) {
        status = fail(&out, 404, "not_found", "no route '%s'", path ? path : "");
    } else if ((route->methods & method) == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          route->methods & M_GET ? (route->methods & M_POST ? "GET, POST" : "GET")
                                                 : "POST");
        status = fail(&out, 405, "method_not_allowed", "'%s' does not take this method", path);
    } else if (method == M_POST) {
        status = read_body(req, &body, &out);
    } else {
        body = query_to_body(req);
    }
    if (status == 0)
        status = body ? route->fn(app, body, &out) : fail(&out, 500, "internal", "out of memory");
    send_json(req, status, out);
    json_decref(out);
    json_decref(body);
}

/* ---- Start and stop --------------------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

struct options {
    const char *listen, *symbols, *clock, *start;
    uint64_t seed;
};

/* A decimal from 0 to 2^63-1 (so that it prints as a JSON integer). */
static bool parse_seed(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || errno != 0 || n > INT64_MAX)
        return false;
    *out = n;
    return true;
}

/* 0 to run, -1 after --help, 2 for a usage error. */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        }
        char key[32];
        const char *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) == 0 && eq != NULL) {
            snprintf(key, sizeof(key), "%.*s", (int)(eq - a), a);
            value = eq + 1;
        } else {
            snprintf(key, sizeof(key), "%s", a);
            value = i + 1 < argc ? argv[++i] : NULL;
        }
        if (value == NULL) {
            fprintf(stderr, "ttai-marketsim: flag '%s' needs a value\n", a);
            return 2;
        }
        if (strcmp(key, "--listen") == 0) {
            o->listen = value;
        } else if (strcmp(key, "--symbols") == 0) {
            o->symbols = value;
        } else if (strcmp(key, "--clock") == 0 &&
                   (strcmp(value, "real") == 0 || strcmp(value, "virtual") == 0)) {
            o->clock = value;
        } else if (strcmp(key, "--start") == 0) {
            o->start = value;
        } else if (strcmp(key, "--seed") == 0 && parse_seed(value, &o->seed)) {
            continue;
        } else {
            fprintf(stderr, "ttai-marketsim: bad flag '%s %s' (see --help)\n", key, value);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {DEFAULT_LISTEN, NULL, "real", DEFAULT_VIRTUAL_START, 1};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char host[256];
    int port;
    if (!listen_addr_split(o.listen, host, sizeof(host), &port)) {
        fprintf(stderr, "ttai-marketsim: --listen wants HOST:PORT, not '%s'\n", o.listen);
        return 2;
    }
    if (!is_loopback(host)) {
        fprintf(stderr, "ttai-marketsim: refusing non-loopback address '%s' (the admin routes "
                        "have no authentication)\n", host);
        return 2;
    }
    struct app app = {.virtual_clock = strcmp(o.clock, "virtual") == 0};
    if (!msim_time_parse(o.start, &app.virtual_now_ms)) {
        fprintf(stderr, "ttai-marketsim: --start wants an RFC 3339 time, not '%s'\n", o.start);
        return 2;
    }
    struct ttai_err err = {0};
    if (msim_create(&app.sim, o.seed, o.symbols, &err) != 0) {
        fprintf(stderr, "ttai-marketsim: --symbols: %s\n", err.msg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    struct evhttp_bound_socket *sock = http ? evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port) : NULL;
    if (sock == NULL) {
        fprintf(stderr, "ttai-marketsim: cannot listen on %s: %s\n", o.listen, strerror(errno));
        if (http)
            evhttp_free(http);
        if (base)
            event_base_free(base);
        msim_free(app.sim);
        return 1;
    }
    evhttp_set_max_body_size(http, MAX_BODY_BYTES);
    evhttp_set_gencb(http, handle, &app);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    bool v6 = strchr(host, ':') != NULL;
    printf("listening on %s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
    fflush(stdout);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    event_base_dispatch(base);
    event_free(sigterm);
    event_free(sigint);
    evhttp_free(http);
    event_base_free(base);
    msim_free(app.sim);
    return 0;
}
