/* quote_cache.c: the process-wide quote cache of fetch_quotes (seed 004's
 * hot tier: 60 s). A fixed table of MARKET_QUOTE_CACHE_MAX entries under
 * one mutex; lookups scan it, which costs less than the HTTP request a hit
 * saves. Entries are never expired eagerly: a stale entry is refused by
 * market__cache_get() and its slot reused by the next put. */
#include "market_int.h"

#include <pthread.h>
#include <string.h>

#define CACHE_SYMBOL_MAX 16

struct cache_entry {
    char symbol[CACHE_SYMBOL_MAX];     /* "": free */
    int64_t fetched_ms;
    uint8_t *data;                     /* msgpack, ttai_malloc'ed */
    size_t len;
};

static struct {
    pthread_mutex_t mu;
    market_clock_fn clock;
    void *clock_arg;
    struct cache_entry entries[MARKET_QUOTE_CACHE_MAX];
    size_t count;                      /* entries in use */
    uint64_t hits, misses;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

void market_set_clock(market_clock_fn now_ms, void *arg)
{
    pthread_mutex_lock(&cache.mu);
    cache.clock = now_ms;
    cache.clock_arg = arg;
    pthread_mutex_unlock(&cache.mu);
}

int64_t market__cache_now(void)
{
    pthread_mutex_lock(&cache.mu);
    market_clock_fn clock = cache.clock;
    void *arg = cache.clock_arg;
    pthread_mutex_unlock(&cache.mu);
    return clock != NULL ? clock(arg) : ttai_mono_ns() / 1000000;
}

static void entry_free(struct cache_entry *e)
{
    if (e->symbol[0] != '\0')
        cache.count--;
    ttai_free(e->data);
    memset(e, 0, sizeof(*e));
}

void market_quote_cache_clear(void)
{
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < MARKET_QUOTE_CACHE_MAX; i++)
        entry_free(&cache.entries[i]);
    cache.hits = cache.misses = 0;
    pthread_mutex_unlock(&cache.mu);
}

void market_quote_cache_stats(struct market_cache_stats *out)
{
    pthread_mutex_lock(&cache.mu);
    out->hits = cache.hits;
    out->misses = cache.misses;
    out->entries = cache.count;
    pthread_mutex_unlock(&cache.mu);
}

static struct cache_entry *find(const char *symbol)
{
    for (size_t i = 0; i < MARKET_QUOTE_CACHE_MAX; i++)
        if (strcmp(cache.entries[i].symbol, symbol) == 0)
            return &cache.entries[i];
    return NULL;
}

bool market__cache_get(const char *symbol, int64_t now_ms, int64_t ttl_ms, struct ttai_buf *out)
{
    bool hit = false;
    pthread_mutex_lock(&cache.mu);
    struct cache_entry *e = symbol[0] != '\0' && ttl_ms > 0 ? find(symbol) : NULL;
    if (e != NULL && now_ms - e->fetched_ms < ttl_ms && now_ms >= e->fetched_ms) {
        ttai_buf_raw(out, (struct ttai_payload){e->data, e->len});
        hit = true;
    }
    if (hit)
        cache.hits++;
    else
        cache.misses++;
    pthread_mutex_unlock(&cache.mu);
    return hit;
}

void market__cache_put(const char *symbol, struct ttai_payload quote, int64_t now_ms)
{
    size_t len = strlen(symbol);
    if (len == 0 || len >= CACHE_SYMBOL_MAX || quote.len == 0)
        return;
    uint8_t *copy = ttai_malloc(quote.len);
    if (copy == NULL)
        return;
    memcpy(copy, quote.data, quote.len);
    pthread_mutex_lock(&cache.mu);
    struct cache_entry *slot = find(symbol);
    if (slot == NULL)
        slot = find("");
    if (slot == NULL) {
        /* Full: the entry fetched longest ago makes room. */
        slot = &cache.entries[0];
        for (size_t i = 1; i < MARKET_QUOTE_CACHE_MAX; i++)
            if (cache.entries[i].fetched_ms < slot->fetched_ms)
                slot = &cache.entries[i];
    }
    entry_free(slot);
    memcpy(slot->symbol, symbol, len + 1);
    slot->fetched_ms = now_ms;
    slot->data = copy;
    slot->len = quote.len;
    cache.count++;
    pthread_mutex_unlock(&cache.mu);
}
