/* marketsim_book.c: the account book (GET/POST /portfolio) and the
 * cash-secured-put screener (POST /screener) of ttai-marketsim.
 *
 * The book of an account is derived from (seed, account id, universe):
 *   - four stock positions of about $15,000 each (lots of 100 shares below
 *     $150), bought at 85-105% of the symbol's base price;
 *   - three short puts, rolled every 1, 2 and 4 weeks at the Friday close
 *     (21:00 UTC) 3-6% out of the money, one contract each;
 *   - one covered call on the first stock holding at least 100 shares,
 *     rolled every 2 weeks 4-6% out of the money;
 *   - cash: the puts' collateral plus $40,000 (or POST /admin/portfolio).
 * A rolled option's strike and opening premium come from the price at the
 * start of its cycle, so strikes, DTE and deltas move with simulated time
 * and a short put can end in the money near expiry (assignment risk).
 *
 * Account figures (docs/marketsim.md has the formulas): margin_used is 25%
 * of the stock value plus the short puts' collateral (strike x 100 x
 * contracts); covered calls need none. With the default book the
 * utilisation stays well under 70% and no position is near 20% of the
 * account, so a fresh simulator raises no portfolio alerts by itself.
 */
#include "marketsim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOCK_TARGET_VALUE 15000.0
#define STOCK_LEGS 4
#define PUT_LEGS 3
#define CASH_CUSHION 40000.0
#define STOCK_MARGIN_RATE 0.25
#define PUT_IV_SKEW 1.1
#define SCREENER_MAX_EXPIRATIONS 60

static double strike_step(double price)
{
    return price < 25 ? 0.5 : price < 50 ? 1.0 : price < 200 ? 2.5 : 5.0;
}

static double strike_near(double price)
{
    double step = strike_step(price);
    return msim_round(round(price / step) * step, 2);
}

/* "AAPL  260109P00185000": root padded to 6, date, type, strike x 1000. */
static void occ_symbol(char *buf, size_t size, const char *root, int64_t expiry, bool put,
                       double strike)
{
    char date[16];
    msim_date_format(expiry, date, sizeof(date));
    snprintf(buf, size, "%-6.6s%.2s%.2s%.2s%c%08lld", root, date + 2, date + 5, date + 8,
             put ? 'P' : 'C', llround(strike * 1000.0));
}

/* ---- The book ---------------------------------------------------------------------- */

struct totals {
    double stock_value, options_value, margin_used, day_pnl, unrealized;
};

static json_t *stock_position(const struct msim *sim, size_t i, double qty, double avg,
                              int64_t now, struct totals *t)
{
    const struct msim_symbol *s = msim_symbol_at(sim, i);
    double price = msim_price(sim, i, now);
    double prev = msim_price(sim, i, msim_prev_close_ms(now));
    double mv = msim_round(qty * price, 2), cost = msim_round(qty * avg, 2);
    double day = msim_round(qty * (price - prev), 2);
    t->stock_value += mv;
    t->margin_used += STOCK_MARGIN_RATE * mv;
    t->day_pnl += day;
    t->unrealized += mv - cost;
    char id[48];
    snprintf(id, sizeof(id), "stk-%s", s->name);
    return json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:s}", "id", id,
                     "symbol", s->name, "position_type", "stock", "quantity", qty,
                     "average_cost", avg, "current_price", price, "market_value", mv,
                     "cost_basis", cost, "unrealized_pnl", msim_round(mv - cost, 2),
                     "pnl_percent", msim_round(cost != 0 ? (mv - cost) / fabs(cost) * 100 : 0, 2),
                     "day_pnl", day, "notes", "long stock");
}

struct option_leg {
    size_t sym;
    bool put;
    int cycle_weeks;
    int phase;      /* shifts the roll week so legs do not expire together */
    double otm;     /* fraction out of the money at the roll */
    double qty;     /* contracts, negative when short */
};

static json_t *option_position(const struct msim *sim, const struct option_leg *leg, int64_t now,
                               struct totals *t)
{
    const struct msim_symbol *s = msim_symbol_at(sim, leg->sym);
    int64_t last_friday = msim_next_friday_close_ms(now) - MSIM_WEEK_MS;
    int64_t week = last_friday / MSIM_WEEK_MS;
    int64_t into_cycle = (week + leg->phase) % leg->cycle_weeks;
    if (into_cycle < 0) /* before 1970 */
        into_cycle += leg->cycle_weeks;
    int64_t start = last_friday - into_cycle * MSIM_WEEK_MS;
    int64_t expiry = start + leg->cycle_weeks * MSIM_WEEK_MS;
    double iv = s->volatility * (leg->put ? PUT_IV_SKEW : 1.0);
    double spot0 = msim_price(sim, leg->sym, start);
    double strike = strike_near(spot0 * (leg->put ? 1.0 - leg->otm : 1.0 + leg->otm));
    double avg = msim_round(
        msim_black_scholes(leg->put, spot0, strike, (double)(expiry - start) / MSIM_YEAR_MS, iv).price, 2);
    double spot = msim_price(sim, leg->sym, now);
    struct msim_option o =
        msim_black_scholes(leg->put, spot, strike, (double)(expiry - now) / MSIM_YEAR_MS, iv);
    double mark = msim_round(o.price, 2);
    int64_t close_ms = msim_prev_close_ms(now);
    double prev_mark = avg;
    if (close_ms > start)
        prev_mark = msim_round(msim_black_scholes(leg->put, msim_price(sim, leg->sym, close_ms), strike,
                                                  (double)(expiry - close_ms) / MSIM_YEAR_MS, iv).price, 2);
    double mv = msim_round(leg->qty * mark * 100, 2), cost = msim_round(leg->qty * avg * 100, 2);
    double day = msim_round(leg->qty * (mark - prev_mark) * 100, 2);
    int64_t dte = msim_days_between(now, expiry);
    bool itm = leg->put ? spot < strike : spot > strike;
    t->options_value += mv;
    t->day_pnl += day;
    t->unrealized += mv - cost;
    if (leg->put && leg->qty < 0)
        t->margin_used += strike * 100 * -leg->qty;
    char id[64], occ[32], date[16], notes[128];
    occ_symbol(occ, sizeof(occ), s->name, expiry, leg->put, strike);
    snprintf(id, sizeof(id), "opt-%s-%s-%dw", s->name, leg->put ? "put" : "call", leg->cycle_weeks);
    double away = fabs(spot - strike) / spot * 100;
    snprintf(notes, sizeof(notes), "%s %s, %lld DTE, %s", leg->qty < 0 ? "short" : "long",
             leg->put ? "put" : "call", (long long)dte, itm ? "in the money" : "out of the money");
    if (!itm)
        snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes), " by %.1f%%", away);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:I, s:f, s:i, s:f, s:f, s:f, "
                     "s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:b, s:s}",
                     "id", id, "symbol", s->name, "underlying", s->name, "option_symbol", occ,
                     "position_type", "option", "option_type", leg->put ? "put" : "call",
                     "strike", strike, "expiration", msim_date_format(expiry, date, sizeof(date)),
                     "dte", (json_int_t)dte, "quantity", leg->qty, "multiplier", 100,
                     "average_cost", avg, "current_price", mark, "underlying_price", spot,
                     "delta", msim_round(o.delta, 4), "position_delta",
                     msim_round(o.delta * leg->qty * 100, 2), "iv", msim_round(iv, 4),
                     "market_value", mv, "cost_basis", cost, "unrealized_pnl",
                     msim_round(mv - cost, 2), "pnl_percent",
                     msim_round(cost != 0 ? (mv - cost) / fabs(cost) * 100 : 0, 2), "day_pnl", day,
                     "itm", itm, "notes", notes);
}

static double stock_quantity(double base)
{
    double q = STOCK_TARGET_VALUE / base;
    if (base < 150)
        return fmax(100, round(q / 100) * 100);
    return fmax(1, round(q));
}

static int add_position(json_t *positions, json_t *p)
{
    return p == NULL ? -1 : json_array_append_new(positions, p);
}

json_t *msim_portfolio(struct msim *sim, const char *account_id, int64_t now)
{
    uint64_t seed = msim_seed(sim);
    size_t n = msim_symbol_count(sim);
    size_t first = (size_t)(msim_hash(seed, account_id, 0x626f6f6b, 0) % n);
    struct totals t = {0};
    json_t *positions = json_array();
    int bad = positions == NULL;
    double collateral = 0;
    int covered = -1;
    size_t stocks = n < STOCK_LEGS ? n : STOCK_LEGS;
    for (size_t j = 0; j < stocks && !bad; j++) {
        size_t i = (first + j) % n;
        double base = msim_symbol_at(sim, i)->base_price;
        double qty = stock_quantity(base);
        double u = msim_unit(msim_hash(seed, account_id, 0x73746b, j));
        if (covered < 0 && qty >= 100)
            covered = (int)i;
        bad |= add_position(positions, stock_position(sim, i, qty, msim_round(base * (0.85 + 0.2 * u), 2),
                                                      now, &t));
    }
    static const int put_cycles[PUT_LEGS] = {1, 2, 4};
    for (int j = 0; j < PUT_LEGS && !bad; j++) {
        double u = msim_unit(msim_hash(seed, account_id, 0x707574, (uint64_t)j));
        struct option_leg leg = {(first + STOCK_LEGS + (size_t)j) % n, true, put_cycles[j], j,
                                 0.03 + 0.03 * u, -1};
        collateral += strike_near(msim_symbol_at(sim, leg.sym)->base_price * (1 - leg.otm)) * 100;
        bad |= add_position(positions, option_position(sim, &leg, now, &t));
    }
    if (covered >= 0 && !bad) {
        double u = msim_unit(msim_hash(seed, account_id, 0x63616c6c, 0));
        struct option_leg leg = {(size_t)covered, false, 2, 1, 0.04 + 0.02 * u, -1};
        bad |= add_position(positions, option_position(sim, &leg, now, &t));
    }
    /* The generated cash covers the puts at their base prices, so that it
     * does not change as the walk moves. */
    const json_t *override = json_object_get(msim_cash_overrides(sim), account_id);
    double cash = override ? json_number_value(override)
                           : round((collateral + CASH_CUSHION) / 1000.0) * 1000.0;
    double total = msim_round(cash + t.stock_value + t.options_value, 2);
    double available = fmax(0, total - t.margin_used);
    double start_value = total - t.day_pnl;
    json_t *out = bad ? NULL
        : json_pack("{s:s, s:o, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, "
                    "s:I, s:o}",
                    "account_id", account_id, "as_of", msim_time_json(now), "cash", msim_round(cash, 2),
                    "stock_value", msim_round(t.stock_value, 2), "options_value",
                    msim_round(t.options_value, 2), "total_value", total, "equity", total,
                    "day_pnl", msim_round(t.day_pnl, 2), "day_pnl_percent",
                    msim_round(start_value > 0 ? t.day_pnl / start_value * 100 : 0, 2),
                    "unrealized_pnl", msim_round(t.unrealized, 2), "margin_used",
                    msim_round(t.margin_used, 2), "margin_available", msim_round(available, 2),
                    "margin_utilization",
                    msim_round(total > 0 ? t.margin_used / total * 100 : 100, 2), "buying_power",
                    msim_round(available, 2), "position_count",
                    (json_int_t)json_array_size(positions), "positions", positions);
    if (out == NULL && bad)
        json_decref(positions);
    return out;
}

int msim_set_cash(struct msim *sim, const char *account_id, double cash, struct ttai_err *err)
{
    if (json_object_set_new(msim_cash_overrides(sim), account_id, json_real(cash)) != 0)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    return 0;
}

/* ---- The CSP screener ------------------------------------------------------------- */

struct screen_params {
    double max_price, min_price, min_roc_weekly, min_delta, max_delta, min_volume;
    double max_picks, min_dte, max_dte;
};

static int param(const json_t *req, const char *key, double lo, double hi, bool integer,
                 double *out, struct ttai_err *err)
{
    const json_t *v = json_object_get(req, key);
    if (v == NULL || json_is_null(v))
        return 0;
    double x = json_number_value(v);
    if (!json_is_number(v) || x < lo || x > hi || (integer && x != floor(x)))
        return ttai_errf(err, TTAI_EINVAL, "'%s' must be %s from %g to %g", key,
                         integer ? "an integer" : "a number", lo, hi);
    *out = x;
    return 0;
}

struct pick {
    double weekly_roc;
    json_t *rec; /* owned */
};

static int best_first(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    if (x->weekly_roc != y->weekly_roc)
        return x->weekly_roc > y->weekly_roc ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x->rec, "symbol")),
                  json_string_value(json_object_get(y->rec, "symbol")));
}

/* The best put of symbol i (highest weekly return within the limits), or NULL. */
static json_t *screen_symbol(const struct msim *sim, size_t i, const struct screen_params *p,
                             int64_t now, double *roc_out)
{
    const struct msim_symbol *s = msim_symbol_at(sim, i);
    double spot = msim_price(sim, i, now), iv = s->volatility * PUT_IV_SKEW;
    double step = strike_step(spot);
    json_t *best = NULL;
    double best_roc = -1;
    int64_t expiry = msim_next_friday_close_ms(now);
    for (int e = 0; e < SCREENER_MAX_EXPIRATIONS; e++, expiry += MSIM_WEEK_MS) {
        int64_t dte = msim_days_between(now, expiry);
        if (dte > p->max_dte)
            break;
        if (dte < p->min_dte)
            continue;
        double years = (double)(expiry - now) / MSIM_YEAR_MS;
        double days = dte > 0 ? (double)dte : 1.0;
        for (double k = floor(spot / step) * step; k >= spot * 0.7 && k > 0; k -= step) {
            double strike = msim_round(k, 2);
            struct msim_option o = msim_black_scholes(true, spot, strike, years, iv);
            double bid = msim_round(o.price * 0.97, 2), ask = msim_round(o.price * 1.03, 2);
            if (fabs(o.delta) > p->max_delta || fabs(o.delta) < p->min_delta || bid < 0.01)
                continue;
            double roc = bid / strike * 100 * 7 / days;
            if (roc < p->min_roc_weekly || roc <= best_roc)
                continue;
            char date[16], occ[32];
            occ_symbol(occ, sizeof(occ), s->name, expiry, true, strike);
            json_decref(best);
            best_roc = roc;
            best = json_pack("{s:s, s:s, s:f, s:s, s:f, s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, "
                             "s:f, s:f, s:f, s:f, s:f}",
                             "symbol", s->name, "name", s->company, "price", spot, "option_symbol",
                             occ, "best_strike", strike, "best_expiration",
                             msim_date_format(expiry, date, sizeof(date)), "dte", (json_int_t)dte,
                             "premium", bid, "bid", bid, "ask", ask, "mid",
                             msim_round(o.price, 2), "delta", msim_round(o.delta, 4), "iv",
                             msim_round(iv, 4), "probability_otm",
                             msim_round(msim_norm_cdf(o.d2), 4), "weekly_roc", msim_round(roc, 3),
                             "annualized_return", msim_round(bid / strike * 100 * 365 / days, 2),
                             "collateral", msim_round(strike * 100, 2), "breakeven",
                             msim_round(strike - bid, 2));
            if (best == NULL)
                return NULL;
        }
    }
    *roc_out = best_roc;
    return best;
}

int msim_screener(struct msim *sim, const json_t *req, int64_t now, json_t **out,
                  struct ttai_err *err)
{
    struct screen_params p = {.max_price = 1e9, .min_roc_weekly = 0, .min_delta = 0.05,
                              .max_delta = 0.30, .max_picks = 10, .min_dte = 1, .max_dte = 45};
    int rc;
    if ((rc = param(req, "max_price", 0, 1e9, false, &p.max_price, err)) < 0 ||
        (rc = param(req, "min_price", 0, 1e9, false, &p.min_price, err)) < 0 ||
        (rc = param(req, "min_roc_weekly", 0, 100, false, &p.min_roc_weekly, err)) < 0 ||
        (rc = param(req, "min_delta", 0, 1, false, &p.min_delta, err)) < 0 ||
        (rc = param(req, "max_delta", 0, 1, false, &p.max_delta, err)) < 0 ||
        (rc = param(req, "min_volume", 0, 1e12, false, &p.min_volume, err)) < 0 ||
        (rc = param(req, "max_picks", 1, 100, true, &p.max_picks, err)) < 0 ||
        (rc = param(req, "min_dte", 0, 365, true, &p.min_dte, err)) < 0 ||
        (rc = param(req, "max_dte", 0, 365, true, &p.max_dte, err)) < 0)
        return rc;
    const json_t *symbols = json_object_get(req, "symbols");
    if (symbols != NULL && !json_is_null(symbols) && !json_is_array(symbols))
        return ttai_errf(err, TTAI_EINVAL, "'symbols' must be an array of strings");
    size_t n = msim_symbol_count(sim), screened = 0, count = 0;
    struct pick *picks = ttai_calloc(n, sizeof(*picks));
    if (picks == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct msim_symbol *s = msim_symbol_at(sim, i);
        if (json_is_array(symbols)) {
            bool listed = false;
            size_t k;
            const json_t *e;
            json_array_foreach(symbols, k, e)
                listed |= json_is_string(e) && strcmp(json_string_value(e), s->name) == 0;
            if (!listed)
                continue;
        }
        screened++;
        double price = msim_price(sim, i, now);
        if (price > p.max_price || price < p.min_price || s->avg_volume < p.min_volume)
            continue;
        double roc = 0;
        json_t *rec = screen_symbol(sim, i, &p, now, &roc);
        if (rec != NULL)
            picks[count++] = (struct pick){roc, rec};
    }
    qsort(picks, count, sizeof(*picks), best_first);
    json_t *recs = json_array();
    for (size_t k = 0; k < count; k++) {
        if (recs != NULL && k < (size_t)p.max_picks && json_array_append(recs, picks[k].rec) != 0) {
            json_decref(recs);
            recs = NULL;
        }
        json_decref(picks[k].rec);
    }
    ttai_free(picks);
    json_t *params = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:i, s:i}", "max_price",
                               p.max_price, "min_price", p.min_price, "min_roc_weekly",
                               p.min_roc_weekly, "min_delta", p.min_delta, "max_delta",
                               p.max_delta, "min_volume", p.min_volume, "max_picks",
                               (int)p.max_picks, "min_dte", (int)p.min_dte, "max_dte",
                               (int)p.max_dte);
    if (recs == NULL || params == NULL) {
        json_decref(recs);
        json_decref(params);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    }
    /* json_pack steals the "o" values, on failure too. */
    *out = json_pack("{s:s, s:o, s:o, s:I, s:o}", "screener", "csp", "as_of", msim_time_json(now),
                     "params", params, "candidates_screened", (json_int_t)screened,
                     "recommendations", recs);
    return *out ? 0 : ttai_errf(err, TTAI_ENOMEM, "out of memory");
}

/* ---- Analyses ------------------------------------------------------------------------- */

/* Seed 001's morning-csp-scan: 09:35 New York is 14:35 UTC in winter; the
 * simulator keeps one UTC time all year, as it keeps its closes at 21:00. */
#define ANALYSIS_SCAN_MS ((14 * 60 + 35) * 60 * 1000LL)
#define DAY_MS (24 * 3600 * 1000LL)

static bool date_parse(const char *text, int64_t *day_ms)
{
    char rfc[32];
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return false;
    snprintf(rfc, sizeof(rfc), "%sT00:00:00Z", text);
    return msim_time_parse(rfc, day_ms);
}

/* Each symbol of the universe analysed by the morning scan (the screener
 * with seed 001's morning parameters, at the scan's time): "select" for
 * the picks, "reject" for the rest, so that a daily report can say how
 * many symbols were analysed and how many were selected. */
int msim_analyses(struct msim *sim, const char *date, int64_t now, json_t **out,
                  struct ttai_err *err)
{
    int64_t day = now - now % DAY_MS;
    if (date != NULL && !date_parse(date, &day))
        return ttai_errf(err, TTAI_EINVAL, "'date' must be a date, YYYY-MM-DD");
    if (day > now)
        return ttai_errf(err, TTAI_EINVAL, "'date' %s is after the simulator's today", date);
    json_t *list = json_array();
    int64_t at = day + ANALYSIS_SCAN_MS;
    if (list == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    if (at > now) {
        *out = list;
        return 0;
    }
    json_t *params = json_pack("{s:i, s:f, s:i}", "max_price", 100, "min_roc_weekly", 0.5,
                               "max_picks", 10);
    json_t *scan = NULL;
    int rc = params ? msim_screener(sim, params, at, &scan, err)
                    : ttai_errf(err, TTAI_ENOMEM, "out of memory");
    json_decref(params);
    if (rc != 0) {
        json_decref(list);
        return rc;
    }
    const json_t *picks = json_object_get(scan, "recommendations");
    char day_text[16];
    msim_date_format(day, day_text, sizeof(day_text));
    for (size_t i = 0; i < msim_symbol_count(sim) && list != NULL; i++) {
        const char *name = msim_symbol_at(sim, i)->name;
        const json_t *pick = NULL, *e;
        size_t k;
        json_array_foreach(picks, k, e)
            if (strcmp(json_string_value(json_object_get(e, "symbol")), name) == 0)
                pick = e;
        json_t *a = json_pack("{s:s, s:s, s:o, s:s, s:s, s:f}", "symbol", name, "date", day_text,
                              "analyzed_at", msim_time_json(at), "strategy", "csp",
                              "recommendation", pick ? "select" : "reject", "price",
                              msim_price(sim, i, at));
        if (a != NULL && pick != NULL)
            json_object_set(a, "weekly_roc", json_object_get(pick, "weekly_roc"));
        if (a == NULL || json_array_append_new(list, a) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    json_decref(scan);
    if (list == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    *out = list;
    return 0;
}
