/* marketsim.h: the market model behind ttai-marketsim (tools/marketsim.c).
 *
 * Everything the simulator answers is a pure function of three things: the
 * seed, the simulated time, and the admin changes made so far (forced
 * prices, injected articles, cash overrides). No answer depends on when or
 * how often it was asked, so two simulators with the same seed, time and
 * admin calls answer byte for byte alike, and stepping the clock back gives
 * the earlier answers again.
 *
 * The model is split over four files:
 *   marketsim_model.c   universe, hashing, the random walk, quotes, forced
 *                       prices, Black-Scholes and time helpers
 *   marketsim_news.c    generated and injected articles
 *   marketsim_book.c    the account book (portfolio) and the CSP screener
 *   marketsim.c         flags, clock and HTTP routes
 *
 * Times are milliseconds since the Unix epoch (UTC). Prices are dollars.
 * JSON values returned are new references owned by the caller.
 */
#ifndef TTAI_MARKETSIM_H
#define TTAI_MARKETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base.h"

#define MSIM_SYMBOL_MAX 16      /* longest ticker plus the NUL */
#define MSIM_UNIVERSE_MAX 256   /* symbols in one simulator */
#define MSIM_DAY_MS 86400000LL
#define MSIM_WEEK_MS (7 * MSIM_DAY_MS)
#define MSIM_CLOSE_HOUR_UTC 21  /* the daily close: 16:00 New York standard time */

/* The static description of one symbol of the universe. */
struct msim_symbol {
    char name[MSIM_SYMBOL_MAX];  /* "AAPL" */
    char company[64];            /* "Apple Inc." or the ticker when unknown */
    double base_price;           /* the walk's price at the reference time */
    double volatility;           /* annualised, e.g. 0.28 */
    double avg_volume;           /* shares per day */
    uint64_t key;                /* hash of seed and name: the walk's stream */
    double ref_walk;             /* the walk's value at the reference time */
};

struct msim; /* opaque: universe, forced prices, injected news, cash overrides */

/* ---- Lifecycle and universe (marketsim_model.c) -------------------------- */

/* A simulator for seed over the comma-separated symbols (NULL: the default
 * universe). TTAI_EINVAL for a malformed or over-long list. */
int msim_create(struct msim **out, uint64_t seed, const char *symbols_csv,
                struct ttai_err *err) TTAI_MUST_CHECK;
void msim_free(struct msim *sim);

uint64_t msim_seed(const struct msim *sim);
size_t msim_symbol_count(const struct msim *sim);
const struct msim_symbol *msim_symbol_at(const struct msim *sim, size_t i);
/* The index of name in the universe, or -1. */
int msim_find(const struct msim *sim, const char *name);
/* 1 when name is a well-formed ticker: 1-15 of A-Z 0-9 . - / ^. */
bool msim_symbol_valid(const char *name);
/* The default universe as a comma-separated list (static storage). */
const char *msim_default_symbols(void);

/* ---- Prices (marketsim_model.c) ------------------------------------------ */

/* The random walk alone: ignores forced prices. Used for news sentiment so
 * that forcing a quote does not rewrite the history of the news. */
double msim_walk_price(const struct msim *sim, size_t i, int64_t ms);
/* The price at ms, forced prices included, rounded to the cent. */
double msim_price(const struct msim *sim, size_t i, int64_t ms);
/* Forces symbol's price to price from simulated time now on (the walk goes
 * on from there; with hold it stays put). price <= 0 clears earlier forces
 * from now on. A symbol outside the universe is added first. TTAI_EINVAL
 * for a malformed ticker, TTAI_ENOSPC when the universe is full. */
int msim_force_price(struct msim *sim, const char *symbol, double price, bool hold,
                     int64_t now, struct ttai_err *err) TTAI_MUST_CHECK;
/* The quote object of symbol i at now (see docs/marketsim.md). */
json_t *msim_quote(const struct msim *sim, size_t i, int64_t now);

/* ---- Shared helpers (marketsim_model.c) ----------------------------------- */

/* A 64-bit hash of the seed, a text and two numbers (splitmix64 rounds). */
uint64_t msim_hash(uint64_t seed, const char *text, uint64_t a, uint64_t b);
/* A uniform number in (0, 1) from a hash. */
double msim_unit(uint64_t h);
double msim_round(double x, int decimals);
/* The standard normal cumulative distribution. */
double msim_norm_cdf(double x);

struct msim_option {
    double price; /* per share */
    double delta; /* of one long option: calls in [0, 1], puts in [-1, 0] */
    double d2;    /* for the risk-neutral probability of expiring out of the money */
};
/* Black-Scholes with the simulator's risk-free rate; years <= 0 is expiry. */
struct msim_option msim_black_scholes(bool put, double spot, double strike, double years,
                                      double vol);
#define MSIM_YEAR_MS (365.0 * 86400000.0)

/* The last daily close at or before ms (21:00 UTC). */
int64_t msim_prev_close_ms(int64_t ms);
/* The first Friday close (21:00 UTC) strictly after ms. */
int64_t msim_next_friday_close_ms(int64_t ms);
/* Calendar days between the UTC dates of from and to. */
int64_t msim_days_between(int64_t from_ms, int64_t to_ms);
/* "2026-01-09" into buf (at least 11 bytes). */
char *msim_date_format(int64_t ms, char *buf, size_t size);
/* Parses RFC 3339 ("2026-01-05T14:30:00Z", fraction and offset optional);
 * false when malformed. */
bool msim_time_parse(const char *text, int64_t *ms);
/* A new JSON string with the RFC 3339 form of ms. */
json_t *msim_time_json(int64_t ms);

/* ---- News (marketsim_news.c) ---------------------------------------------- */

/* The articles answering a /news request body (an object) at now: a JSON
 * array, newest first. TTAI_EINVAL with a message for a bad field. */
int msim_news(struct msim *sim, const json_t *request, int64_t now, json_t **out,
              struct ttai_err *err) TTAI_MUST_CHECK;
/* Stores an injected article (the /admin/news body) and returns it in *out.
 * TTAI_EINVAL for a bad field, TTAI_EEXIST for a repeated article_id,
 * TTAI_ENOSPC after 10,000 injections. */
int msim_news_inject(struct msim *sim, const json_t *body, int64_t now, json_t **out,
                     struct ttai_err *err) TTAI_MUST_CHECK;
/* The injected articles, oldest first (borrowed; owned by sim). */
json_t *msim_injected_news(struct msim *sim);

/* ---- Book and screener (marketsim_book.c) ------------------------------- */

/* The portfolio of account_id at now. */
json_t *msim_portfolio(struct msim *sim, const char *account_id, int64_t now);
/* Sets the cash of account_id (replacing the generated amount). */
int msim_set_cash(struct msim *sim, const char *account_id, double cash,
                  struct ttai_err *err) TTAI_MUST_CHECK;
/* The cash overrides by account id (borrowed; owned by sim). */
json_t *msim_cash_overrides(struct msim *sim);
/* The CSP screener's answer to a /screener body (an object) at now. */
int msim_screener(struct msim *sim, const json_t *params, int64_t now, json_t **out,
                  struct ttai_err *err) TTAI_MUST_CHECK;
/* The analyses of the UTC date "YYYY-MM-DD" (NULL: now's date), as seen at
 * now: the morning CSP scan of every symbol, a JSON array (empty before
 * the scan's time). TTAI_EINVAL for a malformed date or one after now's. */
int msim_analyses(struct msim *sim, const char *date, int64_t now, json_t **out,
                  struct ttai_err *err) TTAI_MUST_CHECK;

#endif /* TTAI_MARKETSIM_H */
