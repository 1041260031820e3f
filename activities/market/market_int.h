/* market_int.h: what the files of activities/market/ share. */
#ifndef TTAI_MARKET_INT_H
#define TTAI_MARKET_INT_H

#include "activities.h"
#include "market.h"

/* The settings market_configure() stored (market.c). */
struct market__settings {
    bool configured;
    char base_url[MARKET_BASE_URL_MAX];     /* without a trailing '/' */
    char ca_file[MARKET_BASE_URL_MAX];      /* "": libcurl's default */
    int64_t timeout_ms;
    int64_t quote_ttl_ms;                   /* negative: no caching */
};

const struct market__settings *market__settings(void);

/* POSTs body (msgpack, sent as JSON; empty: {}) to the configured base URL
 * + path, with X-User-Id when user_id is set, heartbeating ctx. Returns
 * act_http_request()'s rc; res holds the outcome either way. */
int market__post(struct ttai_activity_ctx *ctx, const char *path, struct ttai_payload body,
                 const char *user_id, struct act_http_result *res);
/* 0 when configured, else the attempt fails with MarketConfig (final). */
int market__check_configured(struct ttai_activity_ctx *ctx);

/* The quote cache (quote_cache.c). Times come from its own clock. */
int64_t market__cache_now(void);
/* Appends symbol's quote (msgpack) to out and returns true when one
 * younger than ttl_ms is cached. */
bool market__cache_get(const char *symbol, int64_t now_ms, int64_t ttl_ms, struct ttai_buf *out);
/* Stores a copy of a quote fetched at now_ms (silently skipped when out of
 * memory: the cache is an optimisation). */
void market__cache_put(const char *symbol, struct ttai_payload quote, int64_t now_ms);

#endif
