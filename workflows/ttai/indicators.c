/* indicators.c: bars and indicator series per symbol for the rule evaluator.
 *
 * A symbol keeps its last `cap` prices and volumes in two rings and one
 * series per (indicator, period) that some rule reads. Each bar updates
 * every series of its symbol once, in the order the series were added.
 *
 * Invariants:
 *   1. The set's symbols are sorted by name (strcmp) and unique; so are the
 *      (kind, period) pairs of a symbol's series, kept in insertion order.
 *   2. 1 <= cap <= RULES_PERIOD_MAX + 1, len <= cap, and cap >= the window of
 *      every series of the symbol (sma n: n, rvol n: n + 1, others 1); a
 *      series that has seen count bars finds min(count, window) of them in
 *      the rings (len), so its next bar finds all it reads.
 *   3. A series counts the bars it has seen since it was added; it has a
 *      value (ok) only once count reaches its warm-up (ind_warmup), and
 *      prev/prev_ok are value/ok of the bar before.
 *   4. Every sum runs over the ring oldest to newest, so the same bars give
 *      bit-identical values, before and after a pack/unpack.
 */
#include "indicators.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

struct ind_series {
    uint8_t kind;                 /* enum ind_kind */
    uint32_t period;              /* bars; 0 for price and volume */
    uint64_t count;               /* bars seen since the series was added */
    bool ok, prev_ok;
    double value, prev;
    double acc_a, acc_b;          /* ema: warm-up sum; rsi: gain, loss sums, then averages */
    double last_input;            /* rsi: the previous bar's price */
};

struct ind_symbol {
    char name[RULES_SYMBOL_MAX];
    int64_t last_t_ms;            /* the last bar's time; 0 while len is 0 */
    uint32_t cap, len, head;      /* rings: capacity, values held, next write index */
    double *prices, *volumes;     /* rings of cap values */
    struct ind_series *series;
    uint32_t series_count, series_cap;
};

struct ind_set {
    struct rules_alloc alloc;
    struct ind_symbol **syms;     /* sorted by name */
    size_t count, cap;
};

static const char *const kind_names[IND_KIND_COUNT] = {"price", "volume", "sma",
                                                       "ema",   "rsi",    "rvol"};

const char *rules__ind_kind_name(enum ind_kind kind)
{
    TTAI_ASSERT((unsigned)kind < IND_KIND_COUNT);
    return kind_names[kind];
}

int rules__ind_kind_from_name(const char *name)
{
    for (int k = 0; k < IND_KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

bool rules__ind_kind_has_period(enum ind_kind kind)
{
    return kind != IND_PRICE && kind != IND_VOLUME;
}

uint32_t rules__ind_kind_default_period(enum ind_kind kind)
{
    /* Wilder's RSI is conventionally 14 bars; relative volume compares with
     * the 20 bars before. sma and ema have no customary period. */
    return kind == IND_RSI ? 14 : kind == IND_RVOL ? 20 : 0;
}

/* How many bars a series needs before it has a value. */
static uint64_t ind_warmup(enum ind_kind kind, uint32_t period)
{
    switch (kind) {
    case IND_SMA:
    case IND_EMA: return period;
    case IND_RSI:
    case IND_RVOL: return (uint64_t)period + 1;
    default: return 1;
    }
}

/* How many past bars a series reads from the rings. */
static uint32_t ind_window(enum ind_kind kind, uint32_t period)
{
    return kind == IND_SMA ? period : kind == IND_RVOL ? period + 1 : 1;
}

/* ---- Symbols ------------------------------------------------------------------ */

static int ring_resize(const struct rules_alloc *a, struct ind_symbol *sym, uint32_t cap);

int rules__ind_set_new(const struct rules_alloc *alloc, struct ind_set **out)
{
    struct rules_alloc a = rules__alloc_or_default(alloc);
    struct ind_set *set = rules__alloc(&a, sizeof(*set));
    if (set == NULL)
        return TTAI_ENOMEM;
    *set = (struct ind_set){.alloc = a};
    *out = set;
    return 0;
}

static void symbol_free(const struct rules_alloc *a, struct ind_symbol *sym)
{
    rules__free(a, sym->prices);
    rules__free(a, sym->volumes);
    rules__free(a, sym->series);
    rules__free(a, sym);
}

void rules__ind_set_free(struct ind_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->count; i++)
        symbol_free(&set->alloc, set->syms[i]);
    rules__free(&set->alloc, set->syms);
    rules__free(&set->alloc, set);
}

/* The index of symbol in the sorted array, or where it would go (*found false). */
static size_t set_search(const struct ind_set *set, const char *symbol, bool *found)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(set->syms[mid]->name, symbol);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

struct ind_symbol *rules__ind_set_find(const struct ind_set *set, const char *symbol)
{
    bool found;
    size_t i = set_search(set, symbol, &found);
    return found ? set->syms[i] : NULL;
}

int rules__ind_set_add(struct ind_set *set, const char *symbol, struct ind_symbol **out,
                       struct ttai_err *err)
{
    if (!rules__name_ok(symbol, RULES_SYMBOL_MAX))
        return ttai_errf(err, TTAI_EINVAL, "symbol must be 1 to %d printable bytes",
                         RULES_SYMBOL_MAX - 1);
    bool found;
    size_t at = set_search(set, symbol, &found);
    if (found) {
        *out = set->syms[at];
        return 0;
    }
    if (set->count == RULES_SYMBOLS_MAX)
        return ttai_errf(err, TTAI_ETOOBIG, "cannot track '%s': already %d symbols", symbol,
                         RULES_SYMBOLS_MAX);
    if (set->count == set->cap) {
        size_t cap = set->cap == 0 ? 8 : set->cap * 2;
        void *grown = rules__grow(&set->alloc, set->syms, set->count, cap, sizeof(*set->syms));
        if (grown == NULL)
            return ttai_errf(err, TTAI_ENOMEM, "out of memory tracking '%s'", symbol);
        set->syms = grown;
        set->cap = cap;
    }
    struct ind_symbol *sym = rules__alloc(&set->alloc, sizeof(*sym));
    if (sym == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory tracking '%s'", symbol);
    *sym = (struct ind_symbol){0};
    memcpy(sym->name, symbol, strlen(symbol) + 1);
    if (ring_resize(&set->alloc, sym, 1) != 0) {
        rules__free(&set->alloc, sym);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory tracking '%s'", symbol);
    }
    memmove(&set->syms[at + 1], &set->syms[at], (set->count - at) * sizeof(*set->syms));
    set->syms[at] = sym;
    set->count++;
    *out = sym;
    return 0;
}

bool rules__ind_set_remove(struct ind_set *set, const char *symbol)
{
    bool found;
    size_t at = set_search(set, symbol, &found);
    if (!found)
        return false;
    symbol_free(&set->alloc, set->syms[at]);
    memmove(&set->syms[at], &set->syms[at + 1], (set->count - at - 1) * sizeof(*set->syms));
    set->count--;
    return true;
}

/* ---- Rings -------------------------------------------------------------------- */

/* Grows both rings to cap values, oldest first, keeping what they hold. */
static int ring_resize(const struct rules_alloc *a, struct ind_symbol *sym, uint32_t cap)
{
    TTAI_ASSERT(cap >= sym->len);
    double *prices = rules__alloc(a, cap * sizeof(double));
    double *volumes = rules__alloc(a, cap * sizeof(double));
    if (prices == NULL || volumes == NULL) {
        rules__free(a, prices);
        rules__free(a, volumes);
        return TTAI_ENOMEM;
    }
    for (uint32_t i = 0; i < sym->len; i++) {
        uint32_t from = (sym->head + sym->cap - sym->len + i) % sym->cap;
        prices[i] = sym->prices[from];
        volumes[i] = sym->volumes[from];
    }
    rules__free(a, sym->prices);
    rules__free(a, sym->volumes);
    sym->prices = prices;
    sym->volumes = volumes;
    sym->cap = cap;
    sym->head = sym->len % cap;
    return 0;
}

/* The value `back` bars before the newest (0: the newest). */
static double ring_get(const struct ind_symbol *sym, const double *ring, uint32_t back)
{
    TTAI_DEBUG_ASSERT(back < sym->len);
    return ring[(sym->head + sym->cap - 1 - back) % sym->cap];
}

/* The mean of n values ending `skip` bars before the newest, summed oldest first. */
static double ring_mean(const struct ind_symbol *sym, const double *ring, uint32_t n,
                        uint32_t skip)
{
    double sum = 0.0;
    for (uint32_t k = n + skip; k > skip; k--)
        sum += ring_get(sym, ring, k - 1);
    return sum / n;
}

/* ---- Series ------------------------------------------------------------------- */

static struct ind_series *symbol_series(const struct ind_symbol *sym, enum ind_kind kind,
                                        uint32_t period)
{
    for (uint32_t i = 0; i < sym->series_count; i++)
        if (sym->series[i].kind == kind && sym->series[i].period == period)
            return &sym->series[i];
    return NULL;
}

int rules__ind_symbol_watch(struct ind_set *set, struct ind_symbol *sym, enum ind_kind kind,
                            uint32_t period, struct ttai_err *err)
{
    TTAI_ASSERT((unsigned)kind < IND_KIND_COUNT);
    TTAI_ASSERT(rules__ind_kind_has_period(kind) ? period >= 1 && period <= RULES_PERIOD_MAX
                                          : period == 0);
    if (symbol_series(sym, kind, period) != NULL)
        return 0;
    if (sym->series_count == RULES_SERIES_MAX)
        return ttai_errf(err, TTAI_ETOOBIG, "'%s' already computes %d indicators", sym->name,
                         RULES_SERIES_MAX);
    uint32_t window = ind_window(kind, period);
    if (window > sym->cap && ring_resize(&set->alloc, sym, window) != 0)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory for the bars of '%s'", sym->name);
    if (sym->series_count == sym->series_cap) {
        uint32_t cap = sym->series_cap == 0 ? 4 : sym->series_cap * 2;
        void *grown = rules__grow(&set->alloc, sym->series, sym->series_count, cap,
                                  sizeof(*sym->series));
        if (grown == NULL)
            return ttai_errf(err, TTAI_ENOMEM, "out of memory for the indicators of '%s'",
                             sym->name);
        sym->series = grown;
        sym->series_cap = cap;
    }
    sym->series[sym->series_count++] = (struct ind_series){.kind = (uint8_t)kind, .period = period};
    return 0;
}

/* RSI from Wilder's average gain and loss; 50 when the price did not move. */
static double rsi_from(double avg_gain, double avg_loss)
{
    if (avg_loss == 0.0)
        return avg_gain == 0.0 ? 50.0 : 100.0;
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss);
}

static void rsi_update(struct ind_series *s, double price)
{
    uint32_t n = s->period;
    if (s->count > 1) {
        double change = price - s->last_input;
        double gain = change > 0.0 ? change : 0.0;
        double loss = change < 0.0 ? -change : 0.0;
        if (s->count <= (uint64_t)n + 1) {
            s->acc_a += gain;
            s->acc_b += loss;
            if (s->count == (uint64_t)n + 1) {   /* first averages: simple means */
                s->acc_a /= n;
                s->acc_b /= n;
            }
        } else {                                  /* then Wilder's smoothing */
            s->acc_a = (s->acc_a * (n - 1) + gain) / n;
            s->acc_b = (s->acc_b * (n - 1) + loss) / n;
        }
        s->ok = s->count >= (uint64_t)n + 1;
        s->value = s->ok ? rsi_from(s->acc_a, s->acc_b) : 0.0;
    }
    s->last_input = price;
}

static void series_update(const struct ind_symbol *sym, struct ind_series *s, double price,
                          double volume)
{
    uint32_t n = s->period;
    s->prev = s->value;
    s->prev_ok = s->ok;
    s->count++;
    switch ((enum ind_kind)s->kind) {
    case IND_PRICE:
        s->value = price;
        s->ok = true;
        break;
    case IND_VOLUME:
        s->value = volume;
        s->ok = true;
        break;
    case IND_SMA:
        s->ok = s->count >= n;
        s->value = s->ok ? ring_mean(sym, sym->prices, n, 0) : 0.0;
        break;
    case IND_EMA:
        if (s->count <= n) {                      /* seeded with the mean of the first n */
            s->acc_a += price;
            s->ok = s->count == n;
            s->value = s->ok ? s->acc_a / n : 0.0;
        } else {
            double alpha = 2.0 / (n + 1.0);
            s->value = alpha * price + (1.0 - alpha) * s->value;
        }
        break;
    case IND_RSI:
        rsi_update(s, price);
        break;
    case IND_RVOL: {
        double mean = s->count > n ? ring_mean(sym, sym->volumes, n, 1) : 0.0;
        s->ok = mean > 0.0;                       /* no average volume: no ratio */
        s->value = s->ok ? volume / mean : 0.0;
        break;
    }
    }
}

int rules__ind_symbol_bar(struct ind_symbol *sym, const struct rules_bar *bar, struct ttai_err *err)
{
    if (!isfinite(bar->price))
        return ttai_errf(err, TTAI_EINVAL, "price of '%s' is not a finite number", sym->name);
    if (!isfinite(bar->volume) || bar->volume < 0.0)
        return ttai_errf(err, TTAI_EINVAL, "volume of '%s' is not a finite number >= 0",
                         sym->name);
    if (sym->len > 0 && bar->t_ms <= sym->last_t_ms) {
        if (bar->t_ms < sym->last_t_ms)
            return ttai_errf(err, TTAI_EINVAL,
                             "bar of '%s' at %" PRId64 " ms is older than its last bar at %" PRId64,
                             sym->name, bar->t_ms, sym->last_t_ms);
        /* Exact comparison on purpose: a repeat is the very same bar. */
        if (ring_get(sym, sym->prices, 0) == bar->price &&
            ring_get(sym, sym->volumes, 0) == bar->volume)
            return 0;
        return ttai_errf(err, TTAI_ECONFLICT,
                         "bar of '%s' at %" PRId64 " ms was already applied with other values",
                         sym->name, bar->t_ms);
    }
    sym->prices[sym->head] = bar->price;
    sym->volumes[sym->head] = bar->volume;
    sym->head = (sym->head + 1) % sym->cap;
    if (sym->len < sym->cap)
        sym->len++;
    sym->last_t_ms = bar->t_ms;
    for (uint32_t i = 0; i < sym->series_count; i++)
        series_update(sym, &sym->series[i], bar->price, bar->volume);
    return 0;
}

bool rules__ind_symbol_read(const struct ind_symbol *sym, enum ind_kind kind, uint32_t period,
                            struct ind_reading *out)
{
    const struct ind_series *s = symbol_series(sym, kind, period);
    if (s == NULL)
        return false;
    *out = (struct ind_reading){s->ok, s->prev_ok, s->value, s->prev};
    return true;
}

bool rules__ind_symbol_last(const struct ind_symbol *sym, int64_t *t_ms, double *price)
{
    if (sym->len == 0)
        return false;
    *t_ms = sym->last_t_ms;
    *price = ring_get(sym, sym->prices, 0);
    return true;
}

/* ---- Packing -------------------------------------------------------------------
 *
 * set    = [symbol...] sorted by name
 * symbol = [name, last_t_ms, cap, [price...], [volume...], [series...]]
 *          (ring values oldest first; last_t_ms 0 when there is none)
 * series = [kind, period, count, ok, prev_ok, value, prev, acc_a, acc_b, last_input]
 *
 * Changing this encoding? Bump RULES_STATE_VERSION in rules_state.c and update
 * docs/rules.md. */

static void pack_series(const struct ind_series *s, struct ttai_buf *out)
{
    ttai_buf_array(out, 10);
    ttai_buf_int(out, s->kind);
    ttai_buf_int(out, s->period);
    ttai_buf_int(out, (int64_t)s->count);
    ttai_buf_bool(out, s->ok);
    ttai_buf_bool(out, s->prev_ok);
    ttai_buf_double(out, s->value);
    ttai_buf_double(out, s->prev);
    ttai_buf_double(out, s->acc_a);
    ttai_buf_double(out, s->acc_b);
    ttai_buf_double(out, s->last_input);
}

static void pack_symbol(const struct ind_symbol *sym, struct ttai_buf *out)
{
    ttai_buf_array(out, 6);
    ttai_buf_str(out, sym->name);
    ttai_buf_int(out, sym->last_t_ms);
    ttai_buf_int(out, sym->cap);
    for (int which = 0; which < 2; which++) {
        const double *ring = which == 0 ? sym->prices : sym->volumes;
        ttai_buf_array(out, sym->len);
        for (uint32_t back = sym->len; back > 0; back--)
            ttai_buf_double(out, ring_get(sym, ring, back - 1));
    }
    ttai_buf_array(out, sym->series_count);
    for (uint32_t i = 0; i < sym->series_count; i++)
        pack_series(&sym->series[i], out);
}

void rules__ind_set_pack(const struct ind_set *set, struct ttai_buf *out)
{
    ttai_buf_array(out, (uint32_t)set->count);
    for (size_t i = 0; i < set->count; i++)
        pack_symbol(set->syms[i], out);
}

static int unpack_series(struct ind_symbol *sym, const msgpack_object *o, struct ttai_err *err)
{
    const msgpack_object *f = rules__arr(o, 10);
    uint64_t kind, period, count;
    struct ind_series s = {0};
    if (f == NULL || !rules__u64(&f[0], IND_KIND_COUNT - 1, &kind) ||
        !rules__u64(&f[1], RULES_PERIOD_MAX, &period) || !rules__u64(&f[2], INT64_MAX, &count) ||
        !rules__bool(&f[3], &s.ok) || !rules__bool(&f[4], &s.prev_ok) ||
        !rules__f64(&f[5], &s.value) || !rules__f64(&f[6], &s.prev) ||
        !rules__f64(&f[7], &s.acc_a) || !rules__f64(&f[8], &s.acc_b) ||
        !rules__f64(&f[9], &s.last_input))
        return ttai_errf(err, TTAI_EDECODE, "malformed series");
    s.kind = (uint8_t)kind;
    s.period = (uint32_t)period;
    s.count = count;
    if (rules__ind_kind_has_period(kind) != (period > 0))
        return ttai_errf(err, TTAI_EDECODE, "%s has period %" PRIu64, kind_names[kind], period);
    if ((s.ok && count < ind_warmup(kind, s.period)) || (s.prev_ok && !s.ok && kind != IND_RVOL))
        return ttai_errf(err, TTAI_EDECODE, "%s(%" PRIu64 ") has a value before its warm-up",
                         kind_names[kind], period);
    if (symbol_series(sym, kind, s.period) != NULL)
        return ttai_errf(err, TTAI_EDECODE, "%s(%" PRIu64 ") appears twice", kind_names[kind],
                         period);
    uint32_t window = ind_window(kind, s.period);
    if ((s.count < window ? s.count : window) > sym->len)
        return ttai_errf(err, TTAI_EDECODE, "%s(%" PRIu64 ") has seen more bars than are kept",
                         kind_names[kind], period);
    if (window > sym->cap)
        return ttai_errf(err, TTAI_EDECODE, "%s(%" PRIu64 ") reads more bars than are kept",
                         kind_names[kind], period);
    sym->series[sym->series_count++] = s;
    return 0;
}

/* Fills sym's rings (already cap values each) from the packed arrays. */
static int unpack_rings(struct ind_symbol *sym, const msgpack_object *prices,
                        const msgpack_object *volumes, struct ttai_err *err)
{
    if (prices->type != MSGPACK_OBJECT_ARRAY || volumes->type != MSGPACK_OBJECT_ARRAY ||
        prices->via.array.size != volumes->via.array.size || prices->via.array.size > sym->cap)
        return ttai_errf(err, TTAI_EDECODE, "malformed bars");
    sym->len = prices->via.array.size;
    sym->head = sym->len % sym->cap;
    for (uint32_t i = 0; i < sym->len; i++)
        if (!rules__f64(&prices->via.array.ptr[i], &sym->prices[i]) ||
            !rules__f64(&volumes->via.array.ptr[i], &sym->volumes[i]) || sym->volumes[i] < 0.0)
            return ttai_errf(err, TTAI_EDECODE, "malformed bar %" PRIu32, i);
    return 0;
}

static int unpack_symbol(struct ind_set *set, const msgpack_object *o, struct ttai_err *err)
{
    const msgpack_object *f = rules__arr(o, 6);
    char name[RULES_SYMBOL_MAX];
    int64_t last_t_ms;
    uint64_t cap;
    if (f == NULL || !rules__name(&f[0], name, sizeof(name)) || !rules__i64(&f[1], &last_t_ms) ||
        !rules__u64(&f[2], RULES_PERIOD_MAX + 1, &cap) || cap == 0 ||
        f[5].type != MSGPACK_OBJECT_ARRAY || f[5].via.array.size > RULES_SERIES_MAX)
        return ttai_errf(err, TTAI_EDECODE, "malformed symbol %zu", set->count);
    if (set->count > 0 && strcmp(set->syms[set->count - 1]->name, name) >= 0)
        return ttai_errf(err, TTAI_EDECODE, "symbol '%s' out of order", name);
    struct ind_symbol *sym = NULL;
    int rc = rules__ind_set_add(set, name, &sym, err);
    if (rc != 0)
        return rc;
    uint32_t series_count = f[5].via.array.size;
    if (series_count > 0)
        sym->series = rules__alloc(&set->alloc, series_count * sizeof(*sym->series));
    if ((series_count > 0 && sym->series == NULL) ||
        ring_resize(&set->alloc, sym, (uint32_t)cap) != 0)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory unpacking '%s'", name);
    sym->series_cap = series_count;
    rc = unpack_rings(sym, &f[3], &f[4], err);
    for (uint32_t i = 0; rc == 0 && i < series_count; i++)
        rc = unpack_series(sym, &f[5].via.array.ptr[i], err);
    if (rc == 0 && sym->len == 0 && last_t_ms != 0)
        rc = ttai_errf(err, TTAI_EDECODE, "bar time without bars");
    sym->last_t_ms = last_t_ms;
    if (rc != 0)
        ttai_err_prefix(err, "symbol '%s'", name);
    return rc;
}

int rules__ind_set_unpack(struct ind_set *set, const msgpack_object *o, struct ttai_err *err)
{
    TTAI_ASSERT(set->count == 0);
    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > RULES_SYMBOLS_MAX)
        return ttai_errf(err, TTAI_EDECODE, "malformed symbol list");
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        int rc = unpack_symbol(set, &o->via.array.ptr[i], err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
