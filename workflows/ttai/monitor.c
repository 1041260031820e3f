/* monitor.c: reading inputs, bounded lists, early signals, building and
 * routing alerts for the TTAI monitor workflows (see monitor.h). */
#include "monitor.h"

#include <stdio.h>
#include <string.h>

const struct ttai_activity_opts mon_opts_route = {.start_to_close_ms = 30000,
                                                  .retry_max_attempts = 5};
const struct ttai_activity_opts mon_opts_quotes = {.start_to_close_ms = 30000,
                                                   .retry_max_attempts = 3};
const struct ttai_activity_opts mon_opts_news = {.start_to_close_ms = 2 * MON_MINUTE_MS,
                                                 .heartbeat_ms = 30000,
                                                 .retry_max_attempts = 3};
const struct ttai_activity_opts mon_opts_portfolio = {.start_to_close_ms = MON_MINUTE_MS,
                                                      .retry_max_attempts = 3};
const struct ttai_activity_opts mon_opts_screener = {.start_to_close_ms = 30 * MON_MINUTE_MS,
                                                     .heartbeat_ms = 2 * MON_MINUTE_MS,
                                                     .retry_max_attempts = 3};
const struct ttai_activity_opts mon_opts_analysis = {.start_to_close_ms = 30000,
                                                     .retry_max_attempts = 3};

/* ---- Reading payloads ------------------------------------------------------ */

void mon_doc_open(struct mon_doc *doc, struct ttai_payload p)
{
    ttai_reader_init(&doc->reader);
    if (p.len == 0 || ttai_payload_unpack(&doc->reader, p, &doc->root) != 0)
        doc->root.type = MSGPACK_OBJECT_NIL;
}

void mon_doc_close(struct mon_doc *doc)
{
    ttai_reader_release(&doc->reader);
}

bool mon_is_map(const msgpack_object *o)
{
    return o != NULL && o->type == MSGPACK_OBJECT_MAP;
}

bool mon_is_array(const msgpack_object *o)
{
    return o != NULL && o->type == MSGPACK_OBJECT_ARRAY;
}

const msgpack_object *mon_get(const msgpack_object *o, const char *key)
{
    if (!mon_is_map(o))
        return NULL;
    const msgpack_object *v = ttai_obj_get(o, key);
    return v != NULL && v->type != MSGPACK_OBJECT_NIL ? v : NULL;
}

bool mon_num_get(const msgpack_object *map, const char *key, double *out)
{
    const msgpack_object *v = mon_get(map, key);
    return v != NULL && v->type != MSGPACK_OBJECT_BOOLEAN && ttai_obj_double(v, out);
}

double mon_num(const msgpack_object *map, const char *key, double dflt)
{
    double v;
    return mon_num_get(map, key, &v) ? v : dflt;
}

int64_t mon_int(const msgpack_object *map, const char *key, int64_t dflt)
{
    const msgpack_object *v = mon_get(map, key);
    int64_t i;
    double d;
    if (v != NULL && ttai_obj_int(v, &i))
        return i;
    /* 5.0 from a JSON client means 5. */
    if (v != NULL && v->type == MSGPACK_OBJECT_FLOAT64 && ttai_obj_double(v, &d) && d >= -9e15 &&
        d <= 9e15)
        return (int64_t)d;
    return dflt;
}

bool mon_bool(const msgpack_object *map, const char *key, bool dflt)
{
    bool b;
    return ttai_obj_bool(mon_get(map, key), &b) ? b : dflt;
}

bool mon_str(const msgpack_object *o, char *dst, size_t size)
{
    const char *p;
    size_t len;
    if (o == NULL || !ttai_obj_str(o, &p, &len) || len == 0 || len >= size ||
        memchr(p, '\0', len) != NULL)
        return false;
    memcpy(dst, p, len);
    dst[len] = '\0';
    return true;
}

/* ---- Bounded lists ---------------------------------------------------------- */

bool mon_symbols_has(const struct mon_symbols *s, const char *symbol)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (strcmp(s->items[i], symbol) == 0)
            return true;
    return false;
}

bool mon_symbols_add(struct mon_symbols *s, const char *symbol)
{
    size_t len = strlen(symbol);
    if (len == 0 || len >= MON_SYMBOL_MAX)
        return false;
    if (mon_symbols_has(s, symbol))
        return true;
    if (s->count >= MON_SYMBOLS_MAX)
        return false;
    memcpy(s->items[s->count++], symbol, len + 1);
    return true;
}

void mon_symbols_remove(struct mon_symbols *s, const char *symbol)
{
    for (uint32_t i = 0; i < s->count; i++) {
        if (strcmp(s->items[i], symbol) == 0) {
            memmove(s->items[i], s->items[i + 1], (s->count - i - 1) * sizeof(s->items[0]));
            s->count--;
            return;
        }
    }
}

bool mon_symbols_add_all(struct mon_symbols *s, const msgpack_object *array)
{
    if (!mon_is_array(array))
        return false;
    for (uint32_t i = 0; i < array->via.array.size; i++) {
        char sym[MON_SYMBOL_MAX];
        if (mon_str(&array->via.array.ptr[i], sym, sizeof(sym)))
            (void)mon_symbols_add(s, sym);
    }
    return true;
}

void mon_symbols_pack(const struct mon_symbols *s, struct ttai_buf *b)
{
    ttai_buf_array(b, s->count);
    for (uint32_t i = 0; i < s->count; i++)
        ttai_buf_str(b, s->items[i]);
}

bool mon_channels_read(struct mon_channels *c, const msgpack_object *array)
{
    if (!mon_is_array(array) || array->via.array.size > MON_CHANNELS_MAX)
        return false;
    struct mon_channels read = {0};
    for (uint32_t i = 0; i < array->via.array.size; i++)
        if (!mon_str(&array->via.array.ptr[i], read.items[read.count++], MON_CHANNEL_MAX))
            return false;
    *c = read;
    return true;
}

void mon_channels_set1(struct mon_channels *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->items[0], MON_CHANNEL_MAX, "%s", name);
    c->count = 1;
}

void mon_channels_pack(const struct mon_channels *c, struct ttai_buf *b)
{
    ttai_buf_array(b, c->count);
    for (uint32_t i = 0; i < c->count; i++)
        ttai_buf_str(b, c->items[i]);
}

bool mon_throttle_pass(struct mon_throttle *t, const char *key, int64_t now_ms,
                       int64_t window_ms)
{
    for (uint32_t i = 0; i < t->count; i++) {
        if (strcmp(t->items[i].key, key) != 0)
            continue;
        if (now_ms - t->items[i].at_ms <= window_ms)
            return false;
        t->items[i].at_ms = now_ms;
        return true;
    }
    if (t->count >= MON_THROTTLE_KEYS_MAX) {
        uint32_t kept = 0;
        for (uint32_t i = 0; i < t->count; i++)
            if (now_ms - t->items[i].at_ms <= window_ms)
                t->items[kept++] = t->items[i];
        t->count = kept;
    }
    /* Still full: every key is inside its window; the new key passes
     * without being recorded rather than evicting one that would not. */
    if (t->count < MON_THROTTLE_KEYS_MAX) {
        snprintf(t->items[t->count].key, MON_THROTTLE_KEY_MAX, "%s", key);
        t->items[t->count++].at_ms = now_ms;
    }
    return true;
}

void mon_throttle_pack(const struct mon_throttle *t, struct ttai_buf *b)
{
    ttai_buf_map(b, t->count);
    for (uint32_t i = 0; i < t->count; i++) {
        ttai_buf_str(b, t->items[i].key);
        ttai_buf_int(b, t->items[i].at_ms);
    }
}

void mon_throttle_read(struct mon_throttle *t, const msgpack_object *map)
{
    if (!mon_is_map(map))
        return;
    for (uint32_t i = 0; i < map->via.map.size && t->count < MON_THROTTLE_KEYS_MAX; i++) {
        int64_t at;
        if (mon_str(&map->via.map.ptr[i].key, t->items[t->count].key, MON_THROTTLE_KEY_MAX) &&
            ttai_obj_int(&map->via.map.ptr[i].val, &at))
            t->items[t->count++].at_ms = at;
    }
}

/* ---- Waiting between checks ------------------------------------------------------- */

struct wait_arg {
    const struct ttai_wf *wf;
    const bool *shutdown;
};

static bool wait_over(const void *state, void *arg)
{
    (void)state;
    const struct wait_arg *a = arg;
    return *a->shutdown || ttai_wf_cancel_requested(a->wf);
}

bool mon_wait(struct ttai_wf *wf, const bool *shutdown, int64_t ms)
{
    struct wait_arg arg = {wf, shutdown};
    (void)ttai_wf_await(wf, wait_over, &arg, ms);
    if (ttai_wf_cancel_requested(wf))
        ttai_wf_canceled(wf);
    return *shutdown;
}

/* ---- Signals before the input ----------------------------------------------- */

void mon_early_signal(struct ttai_wf *wf, struct mon_early *e, mon_signal_fn apply, void *state,
                      struct ttai_payload args)
{
    if (e->started) {
        apply(wf, state, args);
        return;
    }
    if (e->count == e->cap) {
        /* Run memory is freed with the run; the old array is simply left. */
        uint32_t cap = e->cap ? 2 * e->cap : 8;
        struct mon_early_item *items = ttai_wf_alloc(wf, cap * sizeof(*items));
        if (e->count > 0)
            memcpy(items, e->items, e->count * sizeof(*items));
        e->items = items;
        e->cap = cap;
    }
    /* The engine keeps signal arguments for the run's lifetime. */
    e->items[e->count].apply = apply;
    e->items[e->count++].args = args;
}

void mon_early_start(struct ttai_wf *wf, struct mon_early *e, void *state)
{
    e->started = true;
    for (uint32_t i = 0; i < e->count; i++)
        e->items[i].apply(wf, state, e->items[i].args);
    e->count = 0;
}

/* ---- Building payloads ------------------------------------------------------- */

void mon_buf_object(struct ttai_buf *b, const msgpack_object *o)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
    ttai_buf_raw(b, (struct ttai_payload){(const uint8_t *)sb.data, sb.size});
    msgpack_sbuffer_destroy(&sb);
}

void mon_kv_str(struct ttai_buf *b, const char *key, const char *value)
{
    ttai_buf_str(b, key);
    ttai_buf_str(b, value);
}

void mon_kv_num(struct ttai_buf *b, const char *key, double value)
{
    ttai_buf_str(b, key);
    ttai_buf_double(b, value);
}

void mon_kv_int(struct ttai_buf *b, const char *key, int64_t value)
{
    ttai_buf_str(b, key);
    ttai_buf_int(b, value);
}

void mon_kv_bool(struct ttai_buf *b, const char *key, bool value)
{
    ttai_buf_str(b, key);
    ttai_buf_bool(b, value);
}

void mon_kv_obj(struct ttai_buf *b, const char *key, const msgpack_object *o)
{
    ttai_buf_str(b, key);
    if (o == NULL)
        ttai_buf_nil(b);
    else
        mon_buf_object(b, o);
}

struct ttai_payload mon_keep(struct ttai_wf *wf, struct ttai_buf *b)
{
    struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(b));
    ttai_buf_release(b);
    return p;
}

void mon_alerts_init(struct mon_alerts *a)
{
    ttai_buf_init(&a->items);
    a->count = 0;
}

void mon_alerts_release(struct mon_alerts *a)
{
    ttai_buf_release(&a->items);
    a->count = 0;
}

int mon_route(struct ttai_wf *wf, const char *alert_type, struct mon_alerts *a)
{
    if (a->count == 0) {
        mon_alerts_release(a);
        return 0;
    }
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_map(&b, 2);
    ttai_buf_str(&b, "alerts");
    ttai_buf_array(&b, a->count);
    ttai_buf_raw(&b, ttai_buf_payload(&a->items));
    mon_kv_str(&b, "alert_type", alert_type);
    mon_alerts_release(a);
    struct ttai_payload input = mon_keep(wf, &b);
    struct ttai_result res;
    return ttai_wf_activity(wf, MON_ACT_ROUTE_ALERTS, input, &mon_opts_route, &res);
}

int mon_route_report(struct ttai_wf *wf, const char *type, const char *title, const char *report,
                     const struct mon_channels *channels)
{
    struct mon_alerts alerts;
    mon_alerts_init(&alerts);
    struct ttai_buf *a = &alerts.items;
    ttai_buf_map(a, 6);
    mon_kv_str(a, "type", type);
    mon_kv_str(a, "severity", "info");
    mon_kv_str(a, "title", title);
    mon_kv_str(a, "message", report);
    mon_kv_str(a, "format", "markdown");
    ttai_buf_str(a, "channels");
    mon_channels_pack(channels, a);
    alerts.count = 1;
    return mon_route(wf, "report", &alerts);
}

bool mon_needs_attention(const msgpack_object *position)
{
    return mon_num(position, "dte", 999) <= 7 || mon_num(position, "pnl_percent", 0) <= -20;
}
