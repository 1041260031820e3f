/* marketsim_news.c: the articles of ttai-marketsim's POST /news.
 *
 * Generated articles. Time is cut into two-hour slots; a symbol has an
 * article in a slot when a hash of (seed, symbol, slot) says so (60% of
 * slots), published at a second inside the slot picked by another hash.
 * The article id names seed, symbol and slot, so it is stable across calls
 * and restarts, and an article "appears" exactly when the simulated clock
 * passes its publication time. Its sentiment follows the walk over the two
 * hours before publication (the plain walk: forcing a quote does not
 * rewrite the news), with some hashed noise.
 *
 * Injected articles (POST /admin/news) are kept in order of arrival and are
 * served like generated ones once their publication time has come.
 */
#include "marketsim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_MS (2 * 3600000LL)
#define ARTICLE_SHARE 0.6
#define LOOKBACK_MAX_HOURS 168
#define LIMIT_MAX 1000
#define MAX_REQUEST_SYMBOLS 1024
#define INJECTED_MAX 10000 /* each /news call scans them all */

enum { SENT_NEGATIVE, SENT_NEUTRAL, SENT_POSITIVE };

static const char *const sentiment_names[] = {"negative", "neutral", "positive"};

static const char *const headlines[3][4] = {
    {"%s shares slide after analyst downgrade", "%s faces regulatory questions over pricing",
     "%s trims full-year outlook on softer demand", "%s falls as a senior executive departs"},
    {"%s to present at an industry conference next week", "%s files its quarterly report",
     "%s trading volume near its recent average", "%s appoints a new board member"},
    {"%s shares rise as analysts lift price targets", "%s revenue tops expectations",
     "%s expands its share buyback programme", "%s gains on strong demand for a new product"},
};

static const char *const sources[] = {"Simulated Wire", "Market Desk", "Ticker Tape Daily",
                                      "Options Flow Journal"};

struct found {
    int64_t published_ms;
    json_t *article; /* owned */
};

struct found_list {
    struct found *items;
    size_t count, cap;
};

static int found_push(struct found_list *l, int64_t ms, json_t *article)
{
    if (article == NULL)
        return TTAI_ENOMEM;
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct found *grown = ttai_realloc(l->items, cap * sizeof(*grown));
        if (grown == NULL) {
            json_decref(article);
            return TTAI_ENOMEM;
        }
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->count++] = (struct found){ms, article};
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const struct found *x = a, *y = b;
    if (x->published_ms != y->published_ms)
        return x->published_ms > y->published_ms ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x->article, "article_id")),
                  json_string_value(json_object_get(y->article, "article_id")));
}

/* Both spellings of id and title: seed 000's watcher reads id and title,
 * seed 001's activities article_id and headline. symbols is stolen. */
static json_t *article_json(const char *id, json_t *symbols, const char *headline,
                            const char *summary, const char *source, const char *url,
                            int64_t published_ms, const char *sentiment, double score,
                            double significance, bool injected)
{
    const char *first = json_string_value(json_array_get(symbols, 0));
    return json_pack("{s:s, s:s, s:s?, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:f, s:f, s:b}",
                     "id", id, "article_id", id, "symbol", first, "symbols", symbols, "title",
                     headline, "headline", headline, "summary", summary, "source", source, "url",
                     url, "published_at", msim_time_json(published_ms), "sentiment", sentiment,
                     "sentiment_score", msim_round(score, 2), "significance",
                     msim_round(significance, 2), "injected", injected);
}

/* The generated article of symbol i in slot, if the slot has one. */
static json_t *generated(const struct msim *sim, size_t i, int64_t slot, int64_t *published_ms)
{
    const struct msim_symbol *s = msim_symbol_at(sim, i);
    uint64_t seed = msim_seed(sim);
    uint64_t h = msim_hash(seed, s->name, 0x6e657773, (uint64_t)slot);
    if (msim_unit(h) >= ARTICLE_SHARE)
        return NULL;
    uint64_t h2 = msim_hash(seed, s->name, 0x70756221, (uint64_t)slot);
    int64_t pub = slot * SLOT_MS + (int64_t)(msim_unit(h2) * (double)(SLOT_MS / 1000)) * 1000;
    double before = msim_walk_price(sim, i, pub - SLOT_MS);
    double move = log(msim_walk_price(sim, i, pub) / before);
    uint64_t h3 = msim_hash(seed, s->name, 0x74787421, (uint64_t)slot);
    double score = tanh(move * 100.0) + 0.4 * (msim_unit(h3) - 0.5);
    score = score > 1 ? 1 : score < -1 ? -1 : score;
    int sent = score > 0.15 ? SENT_POSITIVE : score < -0.15 ? SENT_NEGATIVE : SENT_NEUTRAL;
    uint64_t h4 = msim_hash(seed, s->name, 0x73696721, (uint64_t)slot);
    double significance = 0.2 + 0.8 * pow(msim_unit(h4), 1.5);
    char id[96], headline[192], summary[320], url[160];
    snprintf(id, sizeof(id), "sim-%llu-%s-%lld", (unsigned long long)seed, s->name, (long long)slot);
    snprintf(headline, sizeof(headline), headlines[sent][h4 % 4], s->company);
    snprintf(summary, sizeof(summary),
             "%s (%s) moved %+.2f%% in the two hours before this simulated report.", s->company,
             s->name, (exp(move) - 1.0) * 100.0);
    snprintf(url, sizeof(url), "https://marketsim.invalid/news/%s", id);
    *published_ms = pub;
    return article_json(id, json_pack("[s]", s->name), headline, summary,
                        sources[(h4 >> 8) % 4], url, pub, sentiment_names[sent], score,
                        significance, false);
}

/* ---- Request fields ------------------------------------------------------------ */

static int get_number(const json_t *req, const char *key, double lo, double hi, double *out,
                      struct ttai_err *err)
{
    const json_t *v = json_object_get(req, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
        return ttai_errf(err, TTAI_EINVAL, "'%s' must be a number from %g to %g", key, lo, hi);
    *out = json_number_value(v);
    return 0;
}

/* A JSON array of strings (or absent); the error names key. */
static int get_string_array(const json_t *req, const char *key, const json_t **out,
                            struct ttai_err *err)
{
    const json_t *v = json_object_get(req, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return ttai_errf(err, TTAI_EINVAL, "'%s' must be an array of strings", key);
    size_t k;
    const json_t *e;
    json_array_foreach(v, k, e)
        if (!json_is_string(e))
            return ttai_errf(err, TTAI_EINVAL, "'%s' must be an array of strings", key);
    *out = v;
    return 0;
}

/* 1 when the array of strings list holds name. */
static bool has_name(const json_t *list, const char *name)
{
    size_t k;
    const json_t *e;
    json_array_foreach(list, k, e)
        if (strcmp(json_string_value(e), name) == 0)
            return true;
    return false;
}

/* 1 when no symbols were asked for or symbols holds one of them. */
static bool wanted_any(const json_t *wanted, const json_t *symbols)
{
    if (wanted == NULL)
        return true;
    size_t k;
    const json_t *s;
    json_array_foreach(symbols, k, s)
        if (has_name(wanted, json_string_value(s)))
            return true;
    return false;
}

/* ---- Routes ------------------------------------------------------------------------ */

static int collect(struct msim *sim, const json_t *wanted, int64_t from, int64_t now,
                   struct found_list *l)
{
    size_t n = msim_symbol_count(sim);
    for (size_t i = 0; i < n; i++) {
        if (wanted != NULL && !has_name(wanted, msim_symbol_at(sim, i)->name))
            continue;
        int64_t last = now >= 0 ? now / SLOT_MS : 0;
        for (int64_t slot = from >= 0 ? from / SLOT_MS : 0; slot <= last; slot++) {
            int64_t pub;
            json_t *a = generated(sim, i, slot, &pub);
            if (a == NULL)
                continue;
            if (pub <= from || pub > now) {
                json_decref(a);
                continue;
            }
            if (found_push(l, pub, a) != 0)
                return TTAI_ENOMEM;
        }
    }
    size_t k;
    json_t *a;
    json_array_foreach(msim_injected_news(sim), k, a) {
        int64_t pub = 0;
        (void)msim_time_parse(json_string_value(json_object_get(a, "published_at")), &pub);
        if (pub <= from || pub > now || !wanted_any(wanted, json_object_get(a, "symbols")))
            continue;
        if (found_push(l, pub, json_incref(a)) != 0)
            return TTAI_ENOMEM;
    }
    return 0;
}

int msim_news(struct msim *sim, const json_t *req, int64_t now, json_t **out,
              struct ttai_err *err)
{
    double lookback_h = 24, limit = 100, threshold = 0;
    const json_t *wanted, *exclude;
    int rc;
    if ((rc = get_number(req, "lookback_hours", 0, LOOKBACK_MAX_HOURS, &lookback_h, err)) < 0 ||
        (rc = get_number(req, "limit", 1, LIMIT_MAX, &limit, err)) < 0 ||
        (rc = get_number(req, "significance_threshold", 0, 1, &threshold, err)) < 0 ||
        (rc = get_string_array(req, "symbols", &wanted, err)) < 0 ||
        (rc = get_string_array(req, "exclude_ids", &exclude, err)) < 0)
        return rc;
    if (wanted != NULL && json_array_size(wanted) > MAX_REQUEST_SYMBOLS)
        return ttai_errf(err, TTAI_EINVAL, "at most %d symbols", MAX_REQUEST_SYMBOLS);
    int64_t from = now - (int64_t)(lookback_h * 3600000.0);
    const json_t *since = json_object_get(req, "since");
    if (since != NULL && !json_is_null(since)) {
        if (!json_is_string(since) || !msim_time_parse(json_string_value(since), &from))
            return ttai_errf(err, TTAI_EINVAL, "'since' must be an RFC 3339 time");
        /* Bounds the work of one call: at most a week of slots. */
        if (from < now - LOOKBACK_MAX_HOURS * 3600000LL)
            from = now - LOOKBACK_MAX_HOURS * 3600000LL;
    }
    struct found_list l = {0};
    json_t *skip = json_object(), *arr = json_array();
    rc = skip && arr ? collect(sim, wanted, from, now, &l) : TTAI_ENOMEM;
    size_t k;
    const json_t *e;
    if (rc == 0 && exclude != NULL)
        json_array_foreach(exclude, k, e)
            if (json_object_set_new(skip, json_string_value(e), json_true()) != 0)
                rc = TTAI_ENOMEM;
    if (rc == 0) {
        qsort(l.items, l.count, sizeof(l.items[0]), newest_first);
        for (size_t i = 0; i < l.count && json_array_size(arr) < (size_t)limit; i++) {
            json_t *a = l.items[i].article;
            const char *id = json_string_value(json_object_get(a, "article_id"));
            if (json_object_get(skip, id) != NULL ||
                json_number_value(json_object_get(a, "significance")) < threshold)
                continue;
            if (json_array_append(arr, a) != 0)
                rc = TTAI_ENOMEM;
        }
    }
    for (size_t i = 0; i < l.count; i++)
        json_decref(l.items[i].article);
    ttai_free(l.items);
    json_decref(skip);
    if (rc != 0) {
        json_decref(arr);
        return ttai_errf(err, rc, "out of memory");
    }
    *out = arr;
    return 0;
}

static const char *opt_string(const json_t *body, const char *key, const char *dflt, bool *bad)
{
    const json_t *v = json_object_get(body, key);
    if (v == NULL || json_is_null(v))
        return dflt;
    if (!json_is_string(v))
        *bad = true;
    return json_is_string(v) ? json_string_value(v) : dflt;
}

int msim_news_inject(struct msim *sim, const json_t *body, int64_t now, json_t **out,
                     struct ttai_err *err)
{
    bool bad = false;
    const char *headline = opt_string(body, "headline", NULL, &bad);
    headline = opt_string(body, "title", headline, &bad);
    const char *summary = opt_string(body, "summary", "", &bad);
    const char *source = opt_string(body, "source", "Injected", &bad);
    const char *sentiment = opt_string(body, "sentiment", "neutral", &bad);
    const char *one = opt_string(body, "symbol", NULL, &bad);
    const char *id_in = opt_string(body, "article_id", NULL, &bad);
    const char *url_in = opt_string(body, "url", NULL, &bad);
    const char *pub_in = opt_string(body, "published_at", NULL, &bad);
    if (bad)
        return ttai_errf(err, TTAI_EINVAL, "text fields must be strings");
    if (headline == NULL || *headline == '\0')
        return ttai_errf(err, TTAI_EINVAL, "'headline' (or 'title') is required");
    int sent = -1;
    for (int k = 0; k < 3; k++)
        if (strcmp(sentiment, sentiment_names[k]) == 0)
            sent = k;
    if (sent < 0)
        return ttai_errf(err, TTAI_EINVAL, "'sentiment' must be positive, negative or neutral");
    double score = (sent - 1) * 0.5, significance = 0.9;
    const json_t *list;
    int rc;
    if ((rc = get_number(body, "sentiment_score", -1, 1, &score, err)) < 0 ||
        (rc = get_number(body, "significance", 0, 1, &significance, err)) < 0 ||
        (rc = get_string_array(body, "symbols", &list, err)) < 0)
        return rc;
    int64_t pub = now;
    if (pub_in != NULL && !msim_time_parse(pub_in, &pub))
        return ttai_errf(err, TTAI_EINVAL, "'published_at' must be an RFC 3339 time");
    json_t *symbols = list ? json_deep_copy(list) : json_array();
    if (symbols == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    if (one != NULL && !has_name(symbols, one) &&
        json_array_insert_new(symbols, 0, json_string(one)) != 0) {
        json_decref(symbols);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    }
    size_t k;
    json_t *s;
    json_array_foreach(symbols, k, s) {
        if (!msim_symbol_valid(json_string_value(s))) {
            json_decref(symbols);
            return ttai_errf(err, TTAI_EINVAL, "bad symbol '%s'", json_string_value(s));
        }
    }
    if (json_array_size(symbols) == 0) {
        json_decref(symbols);
        return ttai_errf(err, TTAI_EINVAL, "'symbol' or 'symbols' is required");
    }
    json_t *injected = msim_injected_news(sim);
    if (json_array_size(injected) >= INJECTED_MAX) {
        json_decref(symbols);
        return ttai_errf(err, TTAI_ENOSPC, "at most %d injected articles", INJECTED_MAX);
    }
    char id[128], url[200];
    snprintf(id, sizeof(id), "%s", id_in ? id_in : "");
    if (id_in == NULL)
        snprintf(id, sizeof(id), "inj-%zu", json_array_size(injected) + 1);
    json_array_foreach(injected, k, s) {
        if (strcmp(json_string_value(json_object_get(s, "article_id")), id) == 0) {
            json_decref(symbols);
            return ttai_errf(err, TTAI_EEXIST, "article '%s' already exists", id);
        }
    }
    snprintf(url, sizeof(url), "https://marketsim.invalid/news/%s", id);
    json_t *a = article_json(id, symbols, headline, summary, source, url_in ? url_in : url, pub,
                             sentiment, score, significance, true);
    if (a == NULL || json_array_append(injected, a) != 0) {
        json_decref(a);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    }
    *out = a;
    return 0;
}
