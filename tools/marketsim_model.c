/* marketsim_model.c: the universe, the random walk and the quotes of
 * ttai-marketsim, with the helpers the other model files share.
 *
 * The walk. Each symbol's log price is a Brownian motion in simulated
 * seconds, scaled by the symbol's volatility:
 *
 *     price(t) = base_price * exp(sigma * (W(n) - W(n_ref)))
 *
 * where n counts whole seconds since 2000-01-01 and n_ref is 2026-01-01, so
 * every symbol sits at its base price on that day and wanders from there.
 * W is built by midpoint displacement over [0, 2^32]: the value at a
 * dyadic midpoint is the mean of its interval's ends plus a normal draw
 * of the conditional spread, and the draw is a hash of (seed, symbol,
 * midpoint). Evaluating W(n) walks 32 levels down to n, so any second is
 * reachable in constant time, forward or backward, without state; the
 * increments have exactly the variance of a Brownian motion.
 *
 * Forced prices (POST /admin/quote) are kept per symbol as a list of
 * (simulated time, kind) entries; the latest entry at or before t decides:
 * none or a clear gives the walk, a hold gives the forced price, otherwise
 * the walk scaled so that it passes through the forced price at the time
 * it was forced.
 */
#include "marketsim.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define EPOCH_2000_S 946684800LL  /* 2000-01-01T00:00:00Z */
#define REF_2026_S 1767225600LL   /* 2026-01-01T00:00:00Z: every walk at its base */
#define WALK_LEVELS 32
#define RISK_FREE_RATE 0.04
#define SESSION_OPEN_AFTER_CLOSE_MS (17LL * 3600000 + 1800000) /* 21:00 -> 14:30 */
#define SESSION_MS (6.5 * 3600000.0)
#define FRIDAY_CLOSE_2000_MS 947278800000LL /* 2000-01-07T21:00:00Z, a Friday */

struct force {
    int64_t at_ms;  /* simulated time from which it applies */
    double offset;  /* log(forced price / walk price at at_ms) */
    double price;   /* the forced price, for holds */
    bool hold;      /* stays at price instead of walking on */
    bool clear;     /* back to the plain walk */
};

struct sym_state {
    struct msim_symbol s;
    struct force *forces; /* in call order; owned */
    size_t force_count;
    size_t force_cap;
};

struct msim {
    uint64_t seed;
    struct sym_state syms[MSIM_UNIVERSE_MAX];
    size_t count;
    json_t *injected;  /* array of injected articles, oldest first */
    json_t *cash;      /* object: account id -> cash override */
};

/* Baselines of the default universe. The prices are round numbers of the
 * right order, not market data; five low-priced names are there so that the
 * scheduled CSP scans (max_price 75 and 100) find candidates. */
static const struct {
    const char *name, *company;
    double price, vol, volume;
} known[] = {
    {"AAPL", "Apple Inc.", 190, 0.28, 55e6},
    {"MSFT", "Microsoft Corporation", 410, 0.25, 22e6},
    {"NVDA", "NVIDIA Corporation", 130, 0.50, 250e6},
    {"TSLA", "Tesla, Inc.", 250, 0.60, 90e6},
    {"SPY", "SPDR S&P 500 ETF Trust", 480, 0.15, 70e6},
    {"QQQ", "Invesco QQQ Trust", 410, 0.20, 40e6},
    {"AMZN", "Amazon.com, Inc.", 175, 0.32, 45e6},
    {"GOOGL", "Alphabet Inc.", 150, 0.30, 28e6},
    {"META", "Meta Platforms, Inc.", 480, 0.38, 15e6},
    {"AMD", "Advanced Micro Devices, Inc.", 140, 0.50, 50e6},
    {"INTC", "Intel Corporation", 22, 0.45, 60e6},
    {"PLTR", "Palantir Technologies Inc.", 40, 0.60, 60e6},
    {"SOFI", "SoFi Technologies, Inc.", 9, 0.60, 40e6},
    {"F", "Ford Motor Company", 11, 0.35, 50e6},
    {"BAC", "Bank of America Corporation", 40, 0.28, 35e6},
};

const char *msim_default_symbols(void)
{
    return "AAPL,MSFT,NVDA,TSLA,SPY,QQQ,AMZN,GOOGL,META,AMD,INTC,PLTR,SOFI,F,BAC";
}

/* ---- Hashing --------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t msim_hash(uint64_t seed, const char *text, uint64_t a, uint64_t b)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the text */
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return mix64(mix64(mix64(seed ^ h) ^ a) ^ (b * 0x9e3779b97f4a7c15ULL));
}

double msim_unit(uint64_t h)
{
    return ((double)(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double gaussian(uint64_t key, uint64_t index)
{
    uint64_t h = mix64(key ^ mix64(index));
    double u1 = msim_unit(h), u2 = msim_unit(mix64(h));
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double msim_round(double x, int decimals)
{
    double f = pow(10.0, decimals);
    return round(x * f) / f;
}

/* ---- The walk ---------------------------------------------------------------- */

static double brownian(uint64_t key, uint64_t n)
{
    uint64_t lo = 0, hi = 1ULL << WALK_LEVELS;
    double wlo = 0.0, whi = sqrt((double)hi) * gaussian(key, hi);
    if (n >= hi)
        return whi;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        double wmid = 0.5 * (wlo + whi) + 0.5 * sqrt((double)(hi - lo)) * gaussian(key, mid);
        if (n < mid) {
            hi = mid;
            whi = wmid;
        } else {
            lo = mid;
            wlo = wmid;
        }
    }
    return wlo;
}

static uint64_t walk_step(int64_t ms)
{
    int64_t s = (ms >= 0 ? ms / 1000 : (ms - 999) / 1000) - EPOCH_2000_S;
    if (s < 0)
        return 0;
    if (s >= (int64_t)(1LL << WALK_LEVELS))
        return (1ULL << WALK_LEVELS) - 1;
    return (uint64_t)s;
}

double msim_walk_price(const struct msim *sim, size_t i, int64_t ms)
{
    TTAI_ASSERT(i < sim->count);
    const struct msim_symbol *s = &sim->syms[i].s;
    double sigma = s->volatility / sqrt(365.25 * 86400.0);
    return s->base_price * exp(sigma * (brownian(s->key, walk_step(ms)) - s->ref_walk));
}

static const struct force *force_at(const struct sym_state *st, int64_t ms)
{
    const struct force *best = NULL;
    for (size_t k = 0; k < st->force_count; k++)
        if (st->forces[k].at_ms <= ms && (best == NULL || st->forces[k].at_ms >= best->at_ms))
            best = &st->forces[k];
    return best;
}

double msim_price(const struct msim *sim, size_t i, int64_t ms)
{
    TTAI_ASSERT(i < sim->count);
    const struct force *f = force_at(&sim->syms[i], ms);
    if (f != NULL && f->hold)
        return msim_round(f->price, 2);
    double p = msim_walk_price(sim, i, ms);
    if (f != NULL && !f->clear)
        p *= exp(f->offset);
    p = msim_round(p, 2);
    return p < 0.01 ? 0.01 : p;
}

/* ---- Universe ----------------------------------------------------------------- */

bool msim_symbol_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= MSIM_SYMBOL_MAX)
        return false;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)name[k];
        if (!(isupper(c) || isdigit(c) || c == '.' || c == '-' || c == '/' || c == '^'))
            return false;
    }
    return true;
}

int msim_find(const struct msim *sim, const char *name)
{
    for (size_t i = 0; i < sim->count; i++)
        if (strcmp(sim->syms[i].s.name, name) == 0)
            return (int)i;
    return -1;
}

/* Adds name (valid, not present) with its baseline; returns its index. */
static int add_symbol(struct msim *sim, const char *name, struct ttai_err *err)
{
    if (!msim_symbol_valid(name))
        return ttai_errf(err, TTAI_EINVAL, "bad symbol '%s'", name);
    if (sim->count == MSIM_UNIVERSE_MAX)
        return ttai_errf(err, TTAI_ENOSPC, "universe full (%d symbols)", MSIM_UNIVERSE_MAX);
    struct msim_symbol *s = &sim->syms[sim->count].s;
    memset(&sim->syms[sim->count], 0, sizeof(sim->syms[0]));
    snprintf(s->name, sizeof(s->name), "%s", name);
    /* Unknown tickers get a baseline from the hash of the name alone, so it
     * does not change with the seed or the order of the list. */
    uint64_t h = msim_hash(0, name, 1, 0);
    snprintf(s->company, sizeof(s->company), "%s", name);
    s->base_price = msim_round(20.0 + 380.0 * msim_unit(h), 2);
    s->volatility = msim_round(0.25 + 0.35 * msim_unit(mix64(h)), 2);
    s->avg_volume = 5e6;
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
        if (strcmp(known[k].name, name) == 0) {
            snprintf(s->company, sizeof(s->company), "%s", known[k].company);
            s->base_price = known[k].price;
            s->volatility = known[k].vol;
            s->avg_volume = known[k].volume;
        }
    }
    s->key = msim_hash(sim->seed, name, 0x77616c6b, 0);
    s->ref_walk = brownian(s->key, (uint64_t)(REF_2026_S - EPOCH_2000_S));
    return (int)sim->count++;
}

int msim_create(struct msim **out, uint64_t seed, const char *symbols_csv,
                struct ttai_err *err)
{
    struct msim *sim = ttai_calloc(1, sizeof(*sim));
    char *list = NULL;
    if (sim == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    sim->seed = seed;
    sim->injected = json_array();
    sim->cash = json_object();
    const char *csv = symbols_csv ? symbols_csv : msim_default_symbols();
    list = ttai_strndup(csv, strlen(csv));
    if (sim->injected == NULL || sim->cash == NULL || list == NULL) {
        ttai_free(list);
        msim_free(sim);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    }
    char *save = NULL;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (msim_symbol_valid(tok) && msim_find(sim, tok) >= 0)
            continue; /* a repeated ticker counts once */
        int rc = add_symbol(sim, tok, err);
        if (rc < 0) {
            ttai_free(list);
            msim_free(sim);
            return rc;
        }
    }
    ttai_free(list);
    if (sim->count == 0) {
        msim_free(sim);
        return ttai_errf(err, TTAI_EINVAL, "empty symbol list");
    }
    *out = sim;
    return 0;
}

void msim_free(struct msim *sim)
{
    if (sim == NULL)
        return;
    for (size_t i = 0; i < sim->count; i++)
        ttai_free(sim->syms[i].forces);
    json_decref(sim->injected);
    json_decref(sim->cash);
    ttai_free(sim);
}

uint64_t msim_seed(const struct msim *sim) { return sim->seed; }
size_t msim_symbol_count(const struct msim *sim) { return sim->count; }
json_t *msim_injected_news(struct msim *sim) { return sim->injected; }
json_t *msim_cash_overrides(struct msim *sim) { return sim->cash; }

const struct msim_symbol *msim_symbol_at(const struct msim *sim, size_t i)
{
    TTAI_ASSERT(i < sim->count);
    return &sim->syms[i].s;
}

int msim_force_price(struct msim *sim, const char *symbol, double price, bool hold,
                     int64_t now, struct ttai_err *err)
{
    int i = msim_find(sim, symbol);
    if (i < 0 && (i = add_symbol(sim, symbol, err)) < 0)
        return i;
    struct sym_state *st = &sim->syms[i];
    if (st->force_count == st->force_cap) {
        size_t cap = st->force_cap ? 2 * st->force_cap : 4;
        struct force *grown = ttai_realloc(st->forces, cap * sizeof(*grown));
        if (grown == NULL)
            return ttai_errf(err, TTAI_ENOMEM, "out of memory");
        st->forces = grown;
        st->force_cap = cap;
    }
    struct force f = {.at_ms = now, .price = price, .hold = hold && price > 0, .clear = price <= 0};
    if (price > 0)
        f.offset = log(price) - log(msim_walk_price(sim, (size_t)i, now));
    st->forces[st->force_count++] = f;
    return 0;
}

/* ---- Quotes ----------------------------------------------------------------------- */

json_t *msim_quote(const struct msim *sim, size_t i, int64_t now)
{
    const struct msim_symbol *s = msim_symbol_at(sim, i);
    double price = msim_price(sim, i, now);
    int64_t close_ms = msim_prev_close_ms(now);
    double prev = msim_price(sim, i, close_ms);
    double change = msim_round(price - prev, 2);
    /* Volume accrues evenly through the session, 14:30 to 21:00 UTC after
     * the last close, at a rate that varies from day to day. */
    double day_share = (double)(now - close_ms - SESSION_OPEN_AFTER_CLOSE_MS) / SESSION_MS;
    day_share = day_share < 0 ? 0 : day_share > 1 ? 1 : day_share;
    double pace = 0.7 + 0.6 * msim_unit(msim_hash(sim->seed, s->name, 0x766f6c, (uint64_t)(close_ms / MSIM_DAY_MS)));
    json_int_t volume = (json_int_t)llround(s->avg_volume * day_share * pace);
    /* A spread of about two basis points, at least two cents wide. */
    long long cents = llround(price * 100.0);
    long long half = llround(price * 0.01);
    if (half < 1)
        half = 1;
    const struct force *f = force_at(&sim->syms[i], now);
    return json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:I, s:f, s:f, s:o, s:b}",
                     "symbol", s->name, "name", s->company, "price", price,
                     "previous_close", prev, "change", change, "change_percent",
                     msim_round(prev > 0 ? change / prev * 100.0 : 0.0, 2), "volume", volume,
                     "bid", (double)(cents - half) / 100.0, "ask", (double)(cents + half) / 100.0,
                     "timestamp", msim_time_json(now), "forced", f != NULL && !f->clear);
}

/* ---- Options ------------------------------------------------------------------------ */

double msim_norm_cdf(double x)
{
    return 0.5 * erfc(-x / M_SQRT2);
}

struct msim_option msim_black_scholes(bool put, double spot, double strike, double years,
                                      double vol)
{
    struct msim_option o = {0};
    if (years <= 1.0 / (365.0 * 24.0 * 60.0) || vol <= 0 || spot <= 0 || strike <= 0) {
        double intrinsic = put ? strike - spot : spot - strike;
        o.price = intrinsic > 0 ? intrinsic : 0.0;
        o.delta = intrinsic > 0 ? (put ? -1.0 : 1.0) : 0.0;
        o.d2 = spot > strike ? INFINITY : spot < strike ? -INFINITY : 0.0;
        return o;
    }
    double sq = vol * sqrt(years);
    double d1 = (log(spot / strike) + (RISK_FREE_RATE + 0.5 * vol * vol) * years) / sq;
    double d2 = d1 - sq;
    double disc = strike * exp(-RISK_FREE_RATE * years);
    if (put) {
        o.price = disc * msim_norm_cdf(-d2) - spot * msim_norm_cdf(-d1);
        o.delta = msim_norm_cdf(d1) - 1.0;
    } else {
        o.price = spot * msim_norm_cdf(d1) - disc * msim_norm_cdf(d2);
        o.delta = msim_norm_cdf(d1);
    }
    if (o.price < 0)
        o.price = 0;
    o.d2 = d2;
    return o;
}

/* ---- Time -------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int64_t msim_prev_close_ms(int64_t ms)
{
    int64_t close_offset = MSIM_CLOSE_HOUR_UTC * 3600000LL;
    return floor_div(ms - close_offset, MSIM_DAY_MS) * MSIM_DAY_MS + close_offset;
}

int64_t msim_next_friday_close_ms(int64_t ms)
{
    int64_t k = floor_div(ms - FRIDAY_CLOSE_2000_MS, MSIM_WEEK_MS) + 1;
    return FRIDAY_CLOSE_2000_MS + k * MSIM_WEEK_MS;
}

int64_t msim_days_between(int64_t from_ms, int64_t to_ms)
{
    return floor_div(to_ms, MSIM_DAY_MS) - floor_div(from_ms, MSIM_DAY_MS);
}

char *msim_date_format(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)floor_div(ms, 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        snprintf(buf, size, "invalid-date");
    else
        snprintf(buf, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return buf;
}

json_t *msim_time_json(int64_t ms)
{
    char buf[40];
    return json_string(ttai_time_format(ms, buf, sizeof(buf)));
}

bool msim_time_parse(const char *text, int64_t *ms)
{
    struct tm tm = {0};
    int used = 0;
    if (sscanf(text, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 || used != 19)
        return false;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    const char *p = text + used;
    int64_t millis = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 3)
                millis = millis * 10 + (*p - '0');
        if (digits == 0)
            return false;
        for (; digits < 3; digits++)
            millis *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
            return false;
        offset_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - offset_s) * 1000 + millis;
    return true;
}
