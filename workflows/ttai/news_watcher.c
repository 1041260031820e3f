/* news_watcher.c: the NewsWatcher workflow (seed 001's NewsWatcherWorkflow).
 *
 * Every check_interval_minutes it asks check_news for significant articles
 * on the watched symbols, routes the ones it has not seen before as "news"
 * alerts, and remembers their ids. Signals change the watchlist; a query
 * tells the status. It continues as new after 100 checks or once it
 * remembers more than 1,000 articles, carrying the watchlist and the last
 * 500 article ids (in the order they were seen): the seed computes that
 * trimmed set and then drops it, which would route those articles again.
 *
 * Input (all optional):
 *   {"initial_symbols": ["AAPL"], "check_interval_minutes": 5,
 *    "significance_threshold": 0.7, "seen_articles": ["id", ...]}
 * Signals: update_symbols, add_symbols, remove_symbols (an array of
 * symbols, or {"symbols": [...]}), shutdown.
 * Query get_status: {"symbols", "seen_articles", "shutting_down"}.
 */
#include "workflows.h"

#include <stdio.h>
#include <string.h>

#include "monitor.h"

#define NEWS_SEEN_MAX 2048          /* ids remembered within one run, at most */
#define NEWS_SEEN_LIMIT 1000        /* more than this: continue as new */
#define NEWS_SEEN_CARRIED 500       /* ids carried to the next run */
#define NEWS_ITERATIONS_MAX 100
#define NEWS_INTERVAL_MIN_DEFAULT 5.0
#define NEWS_THRESHOLD_DEFAULT 0.7

/* Article ids in the order they were first seen: a ring that drops the
 * oldest when full (only reachable if one check returns more than
 * NEWS_SEEN_MAX - NEWS_SEEN_LIMIT new articles). */
struct news_seen {
    uint32_t start, count;
    char ids[NEWS_SEEN_MAX][MON_ID_MAX];
};

struct news_state {
    struct mon_early early;
    struct mon_symbols symbols;
    struct news_seen seen;
    double interval_min;
    double threshold;
    bool shutdown;
};

/* An article's key: its id, or for an id too long to store a hash of it
 * ("#" and 16 hex digits; such ids cannot be excluded at the provider). */
static void seen_key(const char *id, size_t len, char key[MON_ID_MAX])
{
    if (len < MON_ID_MAX && memchr(id, '\0', len) == NULL) {
        memcpy(key, id, len);
        key[len] = '\0';
        return;
    }
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)id[i]) * 1099511628211ULL;
    snprintf(key, MON_ID_MAX, "#%016llx", (unsigned long long)h);
}

static const char *seen_at(const struct news_seen *s, uint32_t i)
{
    return s->ids[(s->start + i) % NEWS_SEEN_MAX];
}

static bool seen_has(const struct news_seen *s, const char *key)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (strcmp(seen_at(s, i), key) == 0)
            return true;
    return false;
}

static void seen_add(struct news_seen *s, const char *key)
{
    if (s->count == NEWS_SEEN_MAX) {
        s->start = (s->start + 1) % NEWS_SEEN_MAX;
        s->count--;
    }
    snprintf(s->ids[(s->start + s->count) % NEWS_SEEN_MAX], MON_ID_MAX, "%s", key);
    s->count++;
}

/* The last `last` ids, oldest first. */
static void seen_pack(const struct news_seen *s, uint32_t last, struct ttai_buf *b)
{
    uint32_t from = s->count > last ? s->count - last : 0;
    ttai_buf_array(b, s->count - from);
    for (uint32_t i = from; i < s->count; i++)
        ttai_buf_str(b, seen_at(s, i));
}

/* ---- Signals and query ---------------------------------------------------------- */

/* The symbols of a signal: an array, or {"symbols": [...]}. */
static const msgpack_object *signal_symbols(const struct mon_doc *doc)
{
    const msgpack_object *o = &doc->root;
    if (mon_is_map(o))
        o = mon_get(o, "symbols");
    return mon_is_array(o) ? o : NULL;
}

static void apply_update_symbols(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct news_state *s = state;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    const msgpack_object *list = signal_symbols(&doc);
    if (list != NULL) {
        s->symbols.count = 0;
        mon_symbols_add_all(&s->symbols, list);
    }
    mon_doc_close(&doc);
}

static void apply_add_symbols(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    const msgpack_object *list = signal_symbols(&doc);
    if (list != NULL)
        mon_symbols_add_all(&((struct news_state *)state)->symbols, list);
    mon_doc_close(&doc);
}

static void apply_remove_symbols(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct news_state *s = state;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    const msgpack_object *list = signal_symbols(&doc);
    for (uint32_t i = 0; list != NULL && i < list->via.array.size; i++) {
        char sym[MON_SYMBOL_MAX];
        if (mon_str(&list->via.array.ptr[i], sym, sizeof(sym)))
            mon_symbols_remove(&s->symbols, sym);
    }
    mon_doc_close(&doc);
}

#define NEWS_SIGNAL(name)                                                               \
    static void on_##name(struct ttai_wf *wf, void *state, struct ttai_payload args)      \
    {                                                                                   \
        mon_early_signal(wf, &((struct news_state *)state)->early, apply_##name, state, args); \
    }
NEWS_SIGNAL(update_symbols)
NEWS_SIGNAL(add_symbols)
NEWS_SIGNAL(remove_symbols)

/* Shutdown needs no input, so it never waits for it. */
static void on_shutdown(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct news_state *)state)->shutdown = true;
}

static int get_status(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct news_state *s = state;
    ttai_buf_map(answer, 3);
    ttai_buf_str(answer, "symbols");
    mon_symbols_pack(&s->symbols, answer);
    mon_kv_int(answer, "seen_articles", s->seen.count);
    mon_kv_bool(answer, "shutting_down", s->shutdown);
    return 0;
}

/* ---- The loop --------------------------------------------------------------------- */

static void load_input(struct news_state *s, struct ttai_payload input)
{
    struct mon_doc doc;
    mon_doc_open(&doc, input);
    const msgpack_object *in = &doc.root;
    mon_symbols_add_all(&s->symbols, mon_get(in, "initial_symbols"));
    s->interval_min = mon_num(in, "check_interval_minutes", NEWS_INTERVAL_MIN_DEFAULT);
    if (!(s->interval_min > 0))
        s->interval_min = NEWS_INTERVAL_MIN_DEFAULT;
    s->threshold = mon_num(in, "significance_threshold", NEWS_THRESHOLD_DEFAULT);
    const msgpack_object *seen = mon_get(in, "seen_articles");
    for (uint32_t i = 0; mon_is_array(seen) && i < seen->via.array.size; i++) {
        const char *p;
        size_t len;
        char key[MON_ID_MAX];
        if (ttai_obj_str(&seen->via.array.ptr[i], &p, &len) && len > 0) {
            seen_key(p, len, key);
            if (!seen_has(&s->seen, key))
                seen_add(&s->seen, key);
        }
    }
    mon_doc_close(&doc);
}

static void pack_interval(struct ttai_buf *b, double minutes)
{
    if (minutes == (double)(int64_t)minutes)
        ttai_buf_int(b, (int64_t)minutes);
    else
        ttai_buf_double(b, minutes);
}

/* One check: new articles are remembered and routed. */
static void check_news(struct ttai_wf *wf, struct news_state *s)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_map(&b, 3);
    ttai_buf_str(&b, "symbols");
    mon_symbols_pack(&s->symbols, &b);
    mon_kv_num(&b, "significance_threshold", s->threshold);
    ttai_buf_str(&b, "exclude_ids");
    seen_pack(&s->seen, s->seen.count, &b);
    struct ttai_payload input = mon_keep(wf, &b);
    struct ttai_result res;
    if (ttai_wf_activity(wf, MON_ACT_CHECK_NEWS, input, &mon_opts_news, &res) != 0)
        return; /* the seed logs the error and waits for the next check */
    struct mon_doc doc;
    mon_doc_open(&doc, res.value);
    struct mon_alerts fresh;
    mon_alerts_init(&fresh);
    const msgpack_object *list = &doc.root;
    for (uint32_t i = 0; mon_is_array(list) && i < list->via.array.size; i++) {
        const msgpack_object *alert = &list->via.array.ptr[i];
        const char *id;
        size_t len;
        char key[MON_ID_MAX];
        if (!ttai_obj_str(mon_get(alert, "article_id"), &id, &len) || len == 0)
            continue;
        seen_key(id, len, key);
        if (seen_has(&s->seen, key))
            continue;
        seen_add(&s->seen, key);
        mon_buf_object(&fresh.items, alert);
        fresh.count++;
    }
    mon_doc_close(&doc);
    (void)mon_route(wf, "news", &fresh);
}

static void news_watcher_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct news_state *s = state;
    load_input(s, input);
    mon_early_start(wf, &s->early, s);
    int64_t interval_ms = (int64_t)(s->interval_min * MON_MINUTE_MS);
    for (int iterations = 0; !s->shutdown;) {
        if (s->symbols.count > 0)
            check_news(wf, s);
        mon_wait(wf, &s->shutdown, interval_ms);
        iterations++;
        /* Unlike the seed, a watcher told to shut down does not continue
         * as new (the new run would not know it was told). */
        if (!s->shutdown && (iterations >= NEWS_ITERATIONS_MAX || s->seen.count > NEWS_SEEN_LIMIT ||
                             ttai_wf_continue_as_new_suggested(wf))) {
            struct ttai_buf b;
            ttai_buf_init(&b);
            ttai_buf_map(&b, 4);
            ttai_buf_str(&b, "initial_symbols");
            mon_symbols_pack(&s->symbols, &b);
            ttai_buf_str(&b, "check_interval_minutes");
            pack_interval(&b, s->interval_min);
            mon_kv_num(&b, "significance_threshold", s->threshold);
            ttai_buf_str(&b, "seen_articles");
            seen_pack(&s->seen, NEWS_SEEN_CARRIED, &b);
            ttai_wf_continue_as_new(wf, mon_keep(wf, &b));
        }
    }
}

static const struct ttai_signal_def news_signals[] = {
    {"update_symbols", on_update_symbols},
    {"add_symbols", on_add_symbols},
    {"remove_symbols", on_remove_symbols},
    {"shutdown", on_shutdown},
    {NULL, NULL},
};

static const struct ttai_query_def news_queries[] = {
    {"get_status", get_status},
    {NULL, NULL},
};

const struct ttai_workflow_def wf_news_watcher = {
    .type = "NewsWatcher",
    .run = news_watcher_run,
    .state_size = sizeof(struct news_state),
    .signals = news_signals,
    .queries = news_queries,
};
