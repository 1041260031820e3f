/* market.c: settings, the request helper and fetch_quotes of the market
 * data activities (see market.h). The other data activities are in
 * market_data.c. */
#include "market_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activities.h"

static struct market__settings settings;

const struct market__settings *market__settings(void)
{
    return &settings;
}

int market_configure(const struct market_config *cfg, struct ttai_err *err)
{
    if (cfg == NULL) {
        memset(&settings, 0, sizeof(settings));
        market_quote_cache_clear();
        return TTAI_OK;
    }
    const char *url = cfg->base_url;
    if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return ttai_errf(err, TTAI_EINVAL, "market base_url must be an http:// or https:// URL");
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    if (len >= MARKET_BASE_URL_MAX ||
        (cfg->ca_file != NULL && strlen(cfg->ca_file) >= MARKET_BASE_URL_MAX))
        return ttai_errf(err, TTAI_ETOOBIG, "market base_url or ca_file is longer than %d bytes",
                         MARKET_BASE_URL_MAX - 1);
    if (cfg->timeout_ms < 0 || cfg->timeout_ms > ACT_HTTP_TIMEOUT_MS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "market timeout_ms must be from 0 to %d",
                         ACT_HTTP_TIMEOUT_MS_MAX);
    memset(&settings, 0, sizeof(settings));
    memcpy(settings.base_url, url, len);
    if (cfg->ca_file != NULL)
        snprintf(settings.ca_file, sizeof(settings.ca_file), "%s", cfg->ca_file);
    settings.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : MARKET_TIMEOUT_MS_DEFAULT;
    settings.quote_ttl_ms = cfg->quote_ttl_ms ? cfg->quote_ttl_ms : MARKET_QUOTE_TTL_MS_DEFAULT;
    settings.configured = true;
    market_quote_cache_clear();
    return TTAI_OK;
}

int market_configure_json(const json_t *cfg, struct ttai_err *err)
{
    if (!json_is_object(cfg))
        return ttai_errf(err, TTAI_EINVAL, "the market configuration must be a JSON object");
    struct market_config c = {0};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)cfg, key, v) {
        if (strcmp(key, "base_url") == 0 && json_is_string(v))
            c.base_url = json_string_value(v);
        else if (strcmp(key, "ca_file") == 0 && json_is_string(v))
            c.ca_file = json_string_value(v);
        else if (strcmp(key, "timeout_ms") == 0 && json_is_integer(v))
            c.timeout_ms = json_integer_value(v);
        else if (strcmp(key, "quote_ttl_seconds") == 0 && json_is_number(v))
            /* 0 would mean the default: "no caching" is any negative. */
            c.quote_ttl_ms = json_number_value(v) > 0 ? (int64_t)(json_number_value(v) * 1000)
                                                      : -1;
        else
            return ttai_errf(err, TTAI_EINVAL, "market configuration: unknown or mistyped '%s'",
                             key);
    }
    return market_configure(&c, err);
}

/* ---- Requests ------------------------------------------------------------------ */

int market__post(struct ttai_activity_ctx *ctx, const char *path, struct ttai_payload body,
                 const char *user_id, struct act_http_result *res)
{
    char url[MARKET_BASE_URL_MAX + 64];
    snprintf(url, sizeof(url), "%s%s", settings.base_url, path);
    struct act_http_header headers[1];
    struct act_http_request req = {
        .method = ACT_HTTP_POST,
        .url = url,
        .headers = headers,
        .body_payload = body,
        .timeout_ms = settings.timeout_ms,
        .ca_file = settings.ca_file[0] ? settings.ca_file : NULL,
        .ctx = ctx,
    };
    /* Seed 000 names the user to the provider. */
    if (user_id != NULL && user_id[0] != '\0') {
        headers[0] = (struct act_http_header){"X-User-Id", user_id};
        req.header_count = 1;
    }
    if (body.len == 0) {
        req.body = "{}";
        req.body_len = 2;
    }
    return act_http_request(&req, res);
}

int market__check_configured(struct ttai_activity_ctx *ctx)
{
    if (settings.configured)
        return 0;
    return ttai_activity_fail(ctx, "MarketConfig", false,
                              "the market data service is not configured (market_configure)");
}

/* ---- fetch_quotes ---------------------------------------------------------------- */

struct quote_request {
    size_t count;
    char (*symbols)[16];
    struct ttai_buf *quotes;             /* one per symbol; empty: none */
    char user_id[128];
};

/* The symbols of an array, or of {"symbols": [...], "user_id"}, without
 * repeats. A message in problem when the input is malformed. */
static bool parse_request(const msgpack_object *in, struct quote_request *q, char *problem,
                          size_t size)
{
    const msgpack_object *list = in;
    if (in->type == MSGPACK_OBJECT_MAP) {
        list = ttai_obj_get(in, "symbols");
        const msgpack_object *user = ttai_obj_get(in, "user_id");
        if (user != NULL && user->type != MSGPACK_OBJECT_NIL &&
            !ttai_obj_strcpy(user, q->user_id, sizeof(q->user_id))) {
            snprintf(problem, size, "'user_id' must be a string");
            return false;
        }
        if (strpbrk(q->user_id, "\r\n") != NULL) {
            snprintf(problem, size, "'user_id' holds a line break");
            return false;
        }
    }
    if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY ||
        list->via.array.size > MARKET_QUOTE_SYMBOLS_MAX) {
        snprintf(problem, size, "fetch_quotes wants an array of at most %d symbols",
                 MARKET_QUOTE_SYMBOLS_MAX);
        return false;
    }
    uint32_t n = list->via.array.size;
    q->symbols = ttai_calloc(n ? n : 1, sizeof(*q->symbols));
    q->quotes = ttai_calloc(n ? n : 1, sizeof(*q->quotes));
    if (q->symbols == NULL || q->quotes == NULL) {
        snprintf(problem, size, "out of memory");
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *p;
        size_t len;
        if (!ttai_obj_str(&list->via.array.ptr[i], &p, &len) || len == 0 || len >= 16 ||
            memchr(p, '\0', len) != NULL) {
            snprintf(problem, size, "symbol %u is not a string of 1 to 15 bytes", i);
            return false;
        }
        bool repeat = false;
        for (size_t k = 0; k < q->count && !repeat; k++)
            repeat = strlen(q->symbols[k]) == len && memcmp(q->symbols[k], p, len) == 0;
        if (!repeat) {
            memcpy(q->symbols[q->count], p, len);
            ttai_buf_init(&q->quotes[q->count++]);
        }
    }
    return true;
}

static void request_release(struct quote_request *q)
{
    for (size_t i = 0; i < q->count; i++)
        ttai_buf_release(&q->quotes[i]);
    ttai_free(q->quotes);
    ttai_free(q->symbols);
}

/* Asks the service for the symbols the cache did not have. */
static int fetch_missing(struct ttai_activity_ctx *ctx, struct quote_request *q, int64_t now)
{
    struct ttai_buf body;
    ttai_buf_init(&body);
    size_t missing = 0;
    for (size_t i = 0; i < q->count; i++)
        missing += ttai_buf_payload(&q->quotes[i]).len == 0;
    if (missing == 0) {
        ttai_buf_release(&body);
        return 0;
    }
    ttai_buf_map(&body, 1);
    ttai_buf_str(&body, "symbols");
    ttai_buf_array(&body, (uint32_t)missing);
    for (size_t i = 0; i < q->count; i++)
        if (ttai_buf_payload(&q->quotes[i]).len == 0)
            ttai_buf_str(&body, q->symbols[i]);
    struct act_http_result res;
    act_http_result_init(&res);
    int rc = market__post(ctx, "/quotes", ttai_buf_payload(&body), q->user_id, &res);
    ttai_buf_release(&body);
    if (rc != 0) {
        rc = act_http_fail(ctx, &res);
        act_http_result_release(&res);
        return rc;
    }
    struct ttai_err err = {0};
    json_t *map = act_http_result_json(&res, &err);
    act_http_result_release(&res);
    if (!json_is_object(map)) {
        json_decref(map);
        return ttai_activity_fail(ctx, "MarketBadResponse", false,
                                  "/quotes did not answer a JSON object: %s", err.msg);
    }
    for (size_t i = 0; i < q->count; i++) {
        json_t *quote = json_object_get(map, q->symbols[i]);
        if (ttai_buf_payload(&q->quotes[i]).len != 0 || !json_is_object(quote))
            continue; /* cached, or unknown to the provider */
        char *text = json_dumps(quote, JSON_COMPACT);
        if (text == NULL || ttai_payload_from_json(text, strlen(text), &q->quotes[i], NULL) != 0)
            ttai_buf_reset(&q->quotes[i]);
        else
            market__cache_put(q->symbols[i], ttai_buf_payload(&q->quotes[i]), now);
        free(text);
    }
    json_decref(map);
    return 0;
}

static int fetch_quotes(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                        struct ttai_buf *out)
{
    int rc = market__check_configured(ctx);
    if (rc != 0)
        return rc;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    struct quote_request q = {0};
    char problem[160] = "the input is not msgpack";
    if (ttai_payload_unpack(&r, input, &o) != 0 || !parse_request(&o, &q, problem, sizeof(problem))) {
        ttai_reader_release(&r);
        request_release(&q);
        return ttai_activity_fail(ctx, "MarketBadInput", false, "%s", problem);
    }
    ttai_reader_release(&r);
    int64_t now = market__cache_now(), ttl = market__settings()->quote_ttl_ms;
    for (size_t i = 0; i < q.count; i++)
        (void)market__cache_get(q.symbols[i], now, ttl, &q.quotes[i]);
    rc = fetch_missing(ctx, &q, now);
    if (rc == 0) {
        uint32_t found = 0;
        for (size_t i = 0; i < q.count; i++)
            found += ttai_buf_payload(&q.quotes[i]).len != 0;
        ttai_buf_map(out, found);
        for (size_t i = 0; i < q.count; i++) {
            if (ttai_buf_payload(&q.quotes[i]).len == 0)
                continue;
            ttai_buf_str(out, q.symbols[i]);
            ttai_buf_raw(out, ttai_buf_payload(&q.quotes[i]));
        }
    }
    request_release(&q);
    return rc;
}

const struct ttai_activity_def market_fetch_quotes_def = {"fetch_quotes", fetch_quotes};
