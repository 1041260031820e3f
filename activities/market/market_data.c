/* market_data.c: the data activities other than fetch_quotes: check_news
 * (articles as news alerts), fetch_portfolio, run_screener and
 * fetch_analysis_history (see market.h). */
#include "market_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Converts a JSON value to msgpack appended to out. */
static int json_to_payload(const json_t *j, struct ttai_buf *out)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return TTAI_ENOMEM;
    int rc = ttai_payload_from_json(text, strlen(text), out, NULL);
    free(text);
    return rc;
}

/* POSTs and answers the JSON body as msgpack. Statuses in tolerated (e.g.
 * 404 of an optional route) answer `fallback` (JSON text) instead. */
static int post_json(struct ttai_activity_ctx *ctx, const char *path, struct ttai_payload body,
                     long tolerated, const char *fallback, struct ttai_buf *out)
{
    int rc = market__check_configured(ctx);
    if (rc != 0)
        return rc;
    struct act_http_result res;
    act_http_result_init(&res);
    struct ttai_buf tmp;
    ttai_buf_init(&tmp);
    struct ttai_err err = {0};
    if (market__post(ctx, path, body, NULL, &res) != 0) {
        if (tolerated != 0 && res.status == tolerated)
            rc = ttai_payload_from_json(fallback, strlen(fallback), &tmp, &err);
        else
            rc = act_http_fail(ctx, &res);
    } else if (act_http_result_payload(&res, &tmp, &err) != 0) {
        rc = ttai_activity_fail(ctx, "MarketBadResponse", false, "%s answered: %s", path,
                                err.msg);
    }
    if (rc == 0)
        ttai_buf_raw(out, ttai_buf_payload(&tmp));
    ttai_buf_release(&tmp);
    act_http_result_release(&res);
    return rc;
}

/* ---- check_news ------------------------------------------------------------------ */

static json_t *field(const json_t *article, const char *key, const char *alt)
{
    json_t *v = json_object_get(article, key);
    if ((v == NULL || json_is_null(v)) && alt != NULL)
        v = json_object_get(article, alt);
    return v != NULL ? json_incref(v) : json_null();
}

/* A news alert from an article: what NewsWatcher routes. The seed's
 * check_news_activity is not shown; its alerts carry "article_id", and the
 * router reads type, severity, symbol and message. */
static json_t *news_alert(const json_t *article)
{
    json_t *title = field(article, "title", "headline");
    json_t *symbol = field(article, "symbol", NULL);
    double significance = json_number_value(json_object_get(article, "significance"));
    char message[600];
    if (json_is_string(symbol))
        snprintf(message, sizeof(message), "%s: %s", json_string_value(symbol),
                 json_is_string(title) ? json_string_value(title) : "");
    else
        snprintf(message, sizeof(message), "%s", json_is_string(title) ? json_string_value(title) : "");
    json_t *a = json_object();
    if (a == NULL) {
        json_decref(title);
        json_decref(symbol);
        return NULL;
    }
    json_object_set_new(a, "article_id", field(article, "article_id", "id"));
    json_object_set_new(a, "type", json_string("news"));
    json_object_set_new(a, "severity", json_string(significance >= 0.9 ? "warning" : "info"));
    json_object_set_new(a, "symbol", symbol);
    json_object_set_new(a, "symbols", field(article, "symbols", NULL));
    json_object_set_new(a, "title", title);
    json_object_set_new(a, "message", json_string(message));
    json_object_set_new(a, "summary", field(article, "summary", NULL));
    json_object_set_new(a, "source", field(article, "source", NULL));
    json_object_set_new(a, "url", field(article, "url", NULL));
    json_object_set_new(a, "published_at", field(article, "published_at", NULL));
    json_object_set_new(a, "sentiment", field(article, "sentiment", NULL));
    json_object_set_new(a, "significance", field(article, "significance", NULL));
    return a;
}

static int check_news(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                      struct ttai_buf *out)
{
    int rc = market__check_configured(ctx);
    if (rc != 0)
        return rc;
    struct act_http_result res;
    act_http_result_init(&res);
    /* The input ({symbols, significance_threshold, exclude_ids}) is the
     * provider's request as is. */
    if (market__post(ctx, "/news", input, NULL, &res) != 0) {
        rc = act_http_fail(ctx, &res);
        act_http_result_release(&res);
        return rc;
    }
    struct ttai_err err = {0};
    json_t *articles = act_http_result_json(&res, &err);
    act_http_result_release(&res);
    if (!json_is_array(articles)) {
        json_decref(articles);
        return ttai_activity_fail(ctx, "MarketBadResponse", false,
                                  "/news did not answer a JSON array: %s", err.msg);
    }
    json_t *alerts = json_array();
    size_t i;
    json_t *article;
    json_array_foreach(articles, i, article)
        if (json_is_object(article))
            json_array_append_new(alerts, news_alert(article));
    json_decref(articles);
    struct ttai_buf tmp;
    ttai_buf_init(&tmp);
    rc = alerts != NULL ? json_to_payload(alerts, &tmp) : TTAI_ENOMEM;
    json_decref(alerts);
    if (rc == 0)
        ttai_buf_raw(out, ttai_buf_payload(&tmp));
    else
        rc = ttai_activity_fail(ctx, "MarketBadResponse", true, "out of memory building alerts");
    ttai_buf_release(&tmp);
    return rc;
}

/* ---- fetch_portfolio, run_screener, fetch_analysis_history --------------------------- */

static int fetch_portfolio(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                           struct ttai_buf *out)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    struct ttai_buf body;
    ttai_buf_init(&body);
    bool ok = ttai_payload_unpack(&r, input, &o) == 0;
    if (ok && o.type == MSGPACK_OBJECT_STR) {
        /* The seed passes the account id alone. */
        ttai_buf_map(&body, 1);
        ttai_buf_str(&body, "account_id");
        ttai_buf_strn(&body, o.via.str.ptr, o.via.str.size);
    } else if (ok && o.type == MSGPACK_OBJECT_MAP) {
        ttai_buf_raw(&body, input);
    } else {
        ok = false;
    }
    ttai_reader_release(&r);
    int rc = ok ? post_json(ctx, "/portfolio", ttai_buf_payload(&body), 0, NULL, out)
                : ttai_activity_fail(ctx, "MarketBadInput", false,
                                     "fetch_portfolio wants an account id or "
                                     "{\"account_id\", \"as_of\"}");
    ttai_buf_release(&body);
    return rc;
}

static int run_screener(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                        struct ttai_buf *out)
{
    return post_json(ctx, "/screener", input, 0, NULL, out);
}

/* A provider without an analysis store (ttai-marketsim) answers 404: no
 * analyses, rather than a failed report. */
static int fetch_analysis_history(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                                  struct ttai_buf *out)
{
    return post_json(ctx, "/analyses", input, 404, "[]", out);
}

const struct ttai_activity_def market_check_news_def = {"check_news", check_news};
const struct ttai_activity_def market_fetch_portfolio_def = {"fetch_portfolio", fetch_portfolio};
const struct ttai_activity_def market_run_screener_def = {"run_screener", run_screener};
const struct ttai_activity_def market_fetch_analysis_history_def = {"fetch_analysis_history",
                                                                    fetch_analysis_history};

const struct ttai_activity_def *const market_activities[] = {
    &market_fetch_quotes_def,
    &market_check_news_def,
    &market_fetch_portfolio_def,
    &market_run_screener_def,
    &market_fetch_analysis_history_def,
    NULL,
};
