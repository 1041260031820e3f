/* market.h: the market data provider activities of the TTAI workflows:
 * quotes, news, portfolio, screener and analysis history, from an HTTP JSON
 * service (seed 000's contract, served by ttai-marketsim; see
 * docs/marketsim.md), with quotes cached for 60 s in the process.
 *
 *   type                    input                          POST     output
 *   fetch_quotes            ["AAPL", ...] or               /quotes  {symbol: quote}
 *                           {"symbols": [...], "user_id"}
 *   check_news              {"symbols", "significance_threshold",
 *                            "exclude_ids", ...}           /news    [news alert]
 *   fetch_portfolio         "account" or {"account_id", "as_of"}
 *                                                          /portfolio  portfolio
 *   run_screener            screener params                /screener   screener answer
 *   fetch_analysis_history  {"date": "YYYY-MM-DD"}         /analyses   [analysis] ([] on 404)
 *
 * Failures: the HTTP outcomes of activities.h (act_http_fail: connection,
 * timeout, 5xx and 429 retryable; other 4xx final), plus MarketConfig (no
 * base URL configured), MarketBadInput and MarketBadResponse (a 2xx body
 * that is not the JSON expected), none retryable.
 *
 * Quote cache (seed 004's hot tier): process-wide, keyed by symbol, shared
 * by every workflow and namespace (quotes are not user data), guarded by a
 * mutex. A quote younger than the TTL is served without a request; only the
 * missing symbols are fetched. Its clock is monotonic unless a test injects
 * one. At most MARKET_QUOTE_CACHE_MAX symbols; the oldest entry makes room.
 *
 * Settings are stored by market_configure() before the engine starts and
 * only read afterwards (like act_http_configure()). The program calls
 * act_global_init() as for any activity of activities.h.
 *
 * Full documentation: docs/monitors.md, "Data activities".
 */
#ifndef TTAI_MARKET_H
#define TTAI_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ttai.h"

#define MARKET_BASE_URL_MAX 512
#define MARKET_TIMEOUT_MS_DEFAULT 10000
#define MARKET_QUOTE_TTL_MS_DEFAULT 60000
#define MARKET_QUOTE_CACHE_MAX 1024
#define MARKET_QUOTE_SYMBOLS_MAX 1024      /* symbols in one fetch_quotes call */

struct market_config {
    const char *base_url;      /* "http://127.0.0.1:7281"; a trailing '/' is dropped */
    int64_t timeout_ms;        /* per request; 0: MARKET_TIMEOUT_MS_DEFAULT */
    int64_t quote_ttl_ms;      /* 0: MARKET_QUOTE_TTL_MS_DEFAULT; negative: no caching */
    const char *ca_file;       /* CA bundle for https; NULL: the default */
};

/* Stores cfg (a copy) and empties the quote cache; NULL clears the
 * settings. TTAI_EINVAL for a base URL that is not http(s), a timeout out
 * of range; TTAI_ETOOBIG for a string past MARKET_BASE_URL_MAX. */
int market_configure(const struct market_config *cfg, struct ttai_err *err) TTAI_MUST_CHECK;
/* The same from a JSON object {"base_url", "timeout_ms",
 * "quote_ttl_seconds", "ca_file"} (unknown keys are refused). */
int market_configure_json(const json_t *cfg, struct ttai_err *err) TTAI_MUST_CHECK;

/* Tests: the cache's clock (ms; NULL: the monotonic clock), emptying it,
 * and its counters. */
typedef int64_t (*market_clock_fn)(void *arg);
void market_set_clock(market_clock_fn now_ms, void *arg);
void market_quote_cache_clear(void);

struct market_cache_stats {
    uint64_t hits;             /* symbols served from the cache */
    uint64_t misses;           /* symbols asked of the service */
    size_t entries;
};
void market_quote_cache_stats(struct market_cache_stats *out);

extern const struct ttai_activity_def market_fetch_quotes_def;
extern const struct ttai_activity_def market_check_news_def;
extern const struct ttai_activity_def market_fetch_portfolio_def;
extern const struct ttai_activity_def market_run_screener_def;
extern const struct ttai_activity_def market_fetch_analysis_history_def;
/* The five above, NULL-terminated. */
extern const struct ttai_activity_def *const market_activities[];

#endif /* TTAI_MARKET_H */
