/* price_alert.c: the PriceAlert workflow (seed 001's PriceAlertWorkflow,
 * with seed 000's one-time or recurring alerts).
 *
 * Every check_interval_seconds it fetches the quotes of the symbols its
 * alerts name, checks each alert against the price and the last price
 * seen (above: price >= target; below: price <= target; crosses: the
 * target lies between the last price and this one, either way), routes
 * the triggered ones as "price" alerts and drops the one-time ones among
 * them once routed. It continues as new every 1,000 checks, carrying the
 * alerts and the last prices (so that a cross spanning the boundary is
 * still seen).
 *
 * Input (all optional):
 *   {"initial_alerts": [alert, ...], "check_interval_seconds": 10,
 *    "last_prices": {"AAPL": 184.37}}
 * An alert: {"id", "symbol", "condition": "above"|"below"|"crosses",
 *   "target_price", "channels": ["discord"], "message_template": null,
 *   "one_time": true} ("threshold" and "recurring" of seed 000 are read
 *   as target_price and !one_time).
 * Signals: add_alert (an alert), remove_alert (the id, or {"id": ...}),
 * shutdown. Queries: get_alerts (the seed's list), get_status.
 */
#include "workflows.h"

#include <stdio.h>
#include <string.h>

#include "monitor.h"

#define PRICE_ALERTS_MAX 256
#define PRICE_TEMPLATE_MAX 256
#define PRICE_LAST_MAX 512
#define PRICE_ITERATIONS_MAX 1000
#define PRICE_INTERVAL_S_DEFAULT 10.0

enum price_condition { PRICE_ABOVE, PRICE_BELOW, PRICE_CROSSES };
static const char *const condition_names[] = {"above", "below", "crosses"};

struct price_alert {
    char id[MON_ID_MAX];
    char symbol[MON_SYMBOL_MAX];
    int condition;                      /* enum price_condition */
    double target;
    bool target_int;                    /* given as an integer: echoed as one */
    bool one_time;
    bool has_template;
    struct mon_channels channels;
    char template[PRICE_TEMPLATE_MAX];
};

struct price_last {
    char symbol[MON_SYMBOL_MAX];
    double price;
};

struct price_state {
    struct mon_early early;
    uint32_t alert_count;
    struct price_alert alerts[PRICE_ALERTS_MAX];
    uint32_t last_count;
    struct price_last last[PRICE_LAST_MAX];
    double interval_s;
    uint32_t rejected;                  /* add_alert signals refused */
    int64_t checks;                     /* quote checks in this run */
    bool shutdown;
};

/* ---- Alerts ------------------------------------------------------------------------ */

static bool parse_alert(const msgpack_object *o, struct price_alert *a)
{
    memset(a, 0, sizeof(*a));
    const msgpack_object *id = mon_get(o, "id"), *target = mon_get(o, "target_price");
    int64_t int_id;
    if (!mon_str(id, a->id, sizeof(a->id)) && !(id && ttai_obj_int(id, &int_id) &&
                                                 snprintf(a->id, sizeof(a->id), "%lld",
                                                          (long long)int_id) > 0))
        return false;
    if (!mon_str(mon_get(o, "symbol"), a->symbol, sizeof(a->symbol)))
        return false;
    a->condition = -1;
    for (int c = 0; c < 3; c++)
        if (ttai_obj_str_eq(mon_get(o, "condition"), condition_names[c]))
            a->condition = c;
    if (target == NULL)
        target = mon_get(o, "threshold");
    if (a->condition < 0 || target == NULL || target->type == MSGPACK_OBJECT_BOOLEAN ||
        !ttai_obj_double(target, &a->target))
        return false;
    a->target_int = target->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                    target->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    const msgpack_object *channels = mon_get(o, "channels");
    if (channels == NULL)
        mon_channels_set1(&a->channels, "discord");
    else if (!mon_channels_read(&a->channels, channels))
        return false;
    const msgpack_object *tmpl = mon_get(o, "message_template");
    if (tmpl != NULL) {
        if (!mon_str(tmpl, a->template, sizeof(a->template)))
            return false;
        a->has_template = true;
    }
    bool recurring;
    a->one_time = true;
    if (ttai_obj_bool(mon_get(o, "recurring"), &recurring))
        a->one_time = !recurring;
    a->one_time = mon_bool(o, "one_time", a->one_time);
    return true;
}

static struct price_alert *find_alert(struct price_state *s, const char *id)
{
    for (uint32_t i = 0; i < s->alert_count; i++)
        if (strcmp(s->alerts[i].id, id) == 0)
            return &s->alerts[i];
    return NULL;
}

/* As a dict keyed by id: a known id is replaced in place. */
static bool put_alert(struct price_state *s, const struct price_alert *a)
{
    struct price_alert *slot = find_alert(s, a->id);
    if (slot == NULL && s->alert_count >= PRICE_ALERTS_MAX)
        return false;
    *(slot != NULL ? slot : &s->alerts[s->alert_count++]) = *a;
    return true;
}

static void remove_alert(struct price_state *s, const char *id)
{
    struct price_alert *a = find_alert(s, id);
    if (a == NULL)
        return;
    size_t i = (size_t)(a - s->alerts);
    memmove(a, a + 1, (s->alert_count - i - 1) * sizeof(*a));
    s->alert_count--;
}

static void pack_target(struct ttai_buf *b, const struct price_alert *a)
{
    if (a->target_int)
        ttai_buf_int(b, (int64_t)a->target);
    else
        ttai_buf_double(b, a->target);
}

/* full: with message_template and one_time, as carried across
 * continue-as-new; otherwise the five fields of the seed's get_alerts. */
static void pack_alert(struct ttai_buf *b, const struct price_alert *a, bool full)
{
    ttai_buf_map(b, full ? 7 : 5);
    mon_kv_str(b, "id", a->id);
    mon_kv_str(b, "symbol", a->symbol);
    mon_kv_str(b, "condition", condition_names[a->condition]);
    ttai_buf_str(b, "target_price");
    pack_target(b, a);
    ttai_buf_str(b, "channels");
    mon_channels_pack(&a->channels, b);
    if (full) {
        ttai_buf_str(b, "message_template");
        if (a->has_template)
            ttai_buf_str(b, a->template);
        else
            ttai_buf_nil(b);
        mon_kv_bool(b, "one_time", a->one_time);
    }
}

/* ---- Last prices --------------------------------------------------------------------- */

static bool last_price(const struct price_state *s, const char *symbol, double *out)
{
    for (uint32_t i = 0; i < s->last_count; i++) {
        if (strcmp(s->last[i].symbol, symbol) == 0) {
            *out = s->last[i].price;
            return true;
        }
    }
    return false;
}

static void set_last_price(struct price_state *s, const char *symbol, double price)
{
    for (uint32_t i = 0; i < s->last_count; i++) {
        if (strcmp(s->last[i].symbol, symbol) == 0) {
            s->last[i].price = price;
            return;
        }
    }
    if (s->last_count < PRICE_LAST_MAX && strlen(symbol) < MON_SYMBOL_MAX) {
        snprintf(s->last[s->last_count].symbol, MON_SYMBOL_MAX, "%s", symbol);
        s->last[s->last_count++].price = price;
    }
}

static void pack_last_prices(const struct price_state *s, struct ttai_buf *b)
{
    ttai_buf_map(b, s->last_count);
    for (uint32_t i = 0; i < s->last_count; i++)
        mon_kv_num(b, s->last[i].symbol, s->last[i].price);
}

/* ---- Signals and queries --------------------------------------------------------------- */

static void apply_add_alert(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct price_state *s = state;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    struct price_alert a;
    if (!parse_alert(&doc.root, &a) || !put_alert(s, &a))
        s->rejected++;
    mon_doc_close(&doc);
}

static void apply_remove_alert(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    char id[MON_ID_MAX];
    const msgpack_object *o = &doc.root;
    if (mon_is_map(o))
        o = mon_get(o, "id") ? mon_get(o, "id") : mon_get(o, "alert_id");
    if (mon_str(o, id, sizeof(id)))
        remove_alert(state, id);
    mon_doc_close(&doc);
}

static void on_add_alert(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    mon_early_signal(wf, &((struct price_state *)state)->early, apply_add_alert, state, args);
}

static void on_remove_alert(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    mon_early_signal(wf, &((struct price_state *)state)->early, apply_remove_alert, state, args);
}

static void on_shutdown(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct price_state *)state)->shutdown = true;
}

static int get_alerts(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct price_state *s = state;
    ttai_buf_array(answer, s->alert_count);
    for (uint32_t i = 0; i < s->alert_count; i++)
        pack_alert(answer, &s->alerts[i], false);
    return 0;
}

static int get_status(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct price_state *s = state;
    ttai_buf_map(answer, 5);
    mon_kv_int(answer, "alerts", s->alert_count);
    ttai_buf_str(answer, "last_prices");
    pack_last_prices(s, answer);
    mon_kv_int(answer, "checks", s->checks);
    mon_kv_int(answer, "rejected_alerts", s->rejected);
    mon_kv_bool(answer, "shutting_down", s->shutdown);
    return 0;
}

/* ---- The loop ---------------------------------------------------------------------------- */

static bool condition_met(const struct price_alert *a, double price, const double *last)
{
    switch (a->condition) {
    case PRICE_ABOVE:
        return price >= a->target;
    case PRICE_BELOW:
        return price <= a->target;
    default:
        if (last == NULL)
            return false;
        return (*last < a->target && a->target <= price) ||
               (*last > a->target && a->target >= price);
    }
}

/* Python's str.format() over the fields the seed passes (symbol, price,
 * target, condition), with "{{", "}}" and the ".Nf" / ",.Nf" specs. False
 * for a field or spec it does not know (the seed would raise; the default
 * message is used instead). */
static bool format_template(const char *tmpl, const struct price_alert *a,
                            const msgpack_object *price, char *out, size_t size)
{
    out[0] = '\0';
    for (const char *p = tmpl; *p != '\0';) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            mon_textf(out, size, "%c", p[0]);
            p += 2;
            continue;
        }
        if (*p == '}')
            return false;
        if (*p != '{') {
            size_t n = strcspn(p, "{}");
            mon_textf(out, size, "%.*s", (int)n, p);
            p += n;
            continue;
        }
        const char *close = strchr(p, '}');
        if (close == NULL)
            return false;
        char field[32] = "", spec[16] = "";
        const char *colon = memchr(p, ':', (size_t)(close - p));
        const char *name_end = colon != NULL ? colon : close;
        if ((size_t)(name_end - p - 1) >= sizeof(field) ||
            (colon != NULL && (size_t)(close - colon - 1) >= sizeof(spec)))
            return false;
        memcpy(field, p + 1, (size_t)(name_end - p - 1));
        if (colon != NULL)
            memcpy(spec, colon + 1, (size_t)(close - colon - 1));
        p = close + 1;
        char text[64];
        double value;
        bool numeric = true;
        if (strcmp(field, "symbol") == 0 || strcmp(field, "condition") == 0) {
            snprintf(text, sizeof(text), "%s",
                     field[0] == 's' ? a->symbol : condition_names[a->condition]);
            numeric = false;
        } else if (strcmp(field, "price") == 0) {
            mon_fmt_value(text, sizeof(text), price, "None");
            (void)ttai_obj_double(price, &value);
        } else if (strcmp(field, "target") == 0) {
            value = a->target;
            if (a->target_int)
                snprintf(text, sizeof(text), "%lld", (long long)a->target);
            else
                mon_fmt_repr(text, sizeof(text), a->target);
        } else {
            return false;
        }
        if (spec[0] != '\0') {
            int decimals;
            char tail;
            bool comma = spec[0] == ',';
            if (!numeric || sscanf(spec + comma, ".%d%c", &decimals, &tail) != 2 || tail != 'f' ||
                decimals < 0 || decimals > 12 || strlen(spec) != (size_t)(strchr(spec, 'f') - spec + 1))
                return false;
            if (comma && decimals == 2)
                mon_fmt_money(text, sizeof(text), value);
            else if (comma)
                return false;
            else
                mon_fmt_fixed(text, sizeof(text), value, decimals);
        }
        mon_textf(out, size, "%s", text);
    }
    return true;
}

static void format_alert(struct ttai_buf *b, const struct price_alert *a,
                         const msgpack_object *price_obj, double price)
{
    char message[512] = "";
    if (!a->has_template ||
        !format_template(a->template, a, price_obj, message, sizeof(message))) {
        char target[48], current[48];
        mon_fmt_fixed(target, sizeof(target), a->target, 2);
        mon_fmt_fixed(current, sizeof(current), price, 2);
        snprintf(message, sizeof(message), "%s %s $%s (current: $%s)", a->symbol,
                 condition_names[a->condition], target, current);
    }
    ttai_buf_map(b, 8);
    mon_kv_str(b, "alert_id", a->id);
    mon_kv_str(b, "symbol", a->symbol);
    mon_kv_str(b, "type", "price");
    mon_kv_str(b, "condition", condition_names[a->condition]);
    ttai_buf_str(b, "target_price");
    pack_target(b, a);
    mon_kv_obj(b, "current_price", price_obj);
    mon_kv_str(b, "message", message);
    ttai_buf_str(b, "channels");
    mon_channels_pack(&a->channels, b);
}

static void check_prices(struct ttai_wf *wf, struct price_state *s)
{
    struct mon_symbols symbols = {0};
    for (uint32_t i = 0; i < s->alert_count; i++)
        (void)mon_symbols_add(&symbols, s->alerts[i].symbol);
    struct ttai_buf b;
    ttai_buf_init(&b);
    mon_symbols_pack(&symbols, &b);
    struct ttai_payload input = mon_keep(wf, &b);
    struct ttai_result res;
    if (ttai_wf_activity(wf, MON_ACT_FETCH_QUOTES, input, &mon_opts_quotes, &res) != 0)
        return;
    s->checks++;
    struct mon_doc doc;
    mon_doc_open(&doc, res.value);
    const msgpack_object *prices = &doc.root;
    struct mon_alerts triggered;
    mon_alerts_init(&triggered);
    /* Ids, not indexes: signals may change the list while routing runs. */
    char to_remove[PRICE_ALERTS_MAX][MON_ID_MAX];
    uint32_t remove_count = 0;
    for (uint32_t i = 0; i < s->alert_count; i++) {
        const struct price_alert *a = &s->alerts[i];
        const msgpack_object *price_obj = mon_get(mon_get(prices, a->symbol), "price");
        double price, last;
        if (price_obj == NULL || price_obj->type == MSGPACK_OBJECT_BOOLEAN ||
            !ttai_obj_double(price_obj, &price))
            continue;
        bool has_last = last_price(s, a->symbol, &last);
        if (!condition_met(a, price, has_last ? &last : NULL))
            continue;
        format_alert(&triggered.items, a, price_obj, price);
        triggered.count++;
        if (a->one_time)
            memcpy(to_remove[remove_count++], a->id, MON_ID_MAX);
    }
    for (uint32_t i = 0; mon_is_map(prices) && i < prices->via.map.size; i++) {
        char symbol[MON_SYMBOL_MAX];
        double price;
        /* The seed keeps truthy prices only: a zero is not a price. */
        if (mon_str(&prices->via.map.ptr[i].key, symbol, sizeof(symbol)) &&
            mon_num_get(&prices->via.map.ptr[i].val, "price", &price) && price != 0)
            set_last_price(s, symbol, price);
    }
    mon_doc_close(&doc);
    /* A routing failure keeps the one-time alerts for the next check. */
    if (mon_route(wf, "price", &triggered) != 0)
        return;
    for (uint32_t i = 0; i < remove_count; i++)
        remove_alert(s, to_remove[i]);
}

static void load_input(struct price_state *s, struct ttai_payload input)
{
    struct mon_doc doc;
    mon_doc_open(&doc, input);
    const msgpack_object *in = &doc.root, *alerts = mon_get(in, "initial_alerts");
    for (uint32_t i = 0; mon_is_array(alerts) && i < alerts->via.array.size; i++) {
        struct price_alert a;
        if (!parse_alert(&alerts->via.array.ptr[i], &a) || !put_alert(s, &a))
            s->rejected++;
    }
    s->interval_s = mon_num(in, "check_interval_seconds", PRICE_INTERVAL_S_DEFAULT);
    if (!(s->interval_s > 0))
        s->interval_s = PRICE_INTERVAL_S_DEFAULT;
    const msgpack_object *last = mon_get(in, "last_prices");
    for (uint32_t i = 0; mon_is_map(last) && i < last->via.map.size; i++) {
        char symbol[MON_SYMBOL_MAX];
        double price;
        if (mon_str(&last->via.map.ptr[i].key, symbol, sizeof(symbol)) &&
            last->via.map.ptr[i].val.type != MSGPACK_OBJECT_BOOLEAN &&
            ttai_obj_double(&last->via.map.ptr[i].val, &price))
            set_last_price(s, symbol, price);
    }
    mon_doc_close(&doc);
}

static void price_alert_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct price_state *s = state;
    load_input(s, input);
    mon_early_start(wf, &s->early, s);
    int64_t interval_ms = (int64_t)(s->interval_s * 1000.0);
    for (int iterations = 0; !s->shutdown;) {
        if (s->alert_count > 0)
            check_prices(wf, s);
        mon_wait(wf, &s->shutdown, interval_ms);
        iterations++;
        if (!s->shutdown &&
            (iterations >= PRICE_ITERATIONS_MAX || ttai_wf_continue_as_new_suggested(wf))) {
            struct ttai_buf b;
            ttai_buf_init(&b);
            ttai_buf_map(&b, 3);
            ttai_buf_str(&b, "initial_alerts");
            ttai_buf_array(&b, s->alert_count);
            for (uint32_t i = 0; i < s->alert_count; i++)
                pack_alert(&b, &s->alerts[i], true);
            ttai_buf_str(&b, "check_interval_seconds");
            if (s->interval_s == (double)(int64_t)s->interval_s)
                ttai_buf_int(&b, (int64_t)s->interval_s);
            else
                ttai_buf_double(&b, s->interval_s);
            ttai_buf_str(&b, "last_prices");
            pack_last_prices(s, &b);
            ttai_wf_continue_as_new(wf, mon_keep(wf, &b));
        }
    }
}

static const struct ttai_signal_def price_signals[] = {
    {"add_alert", on_add_alert},
    {"remove_alert", on_remove_alert},
    {"shutdown", on_shutdown},
    {NULL, NULL},
};

static const struct ttai_query_def price_queries[] = {
    {"get_alerts", get_alerts},
    {"get_status", get_status},
    {NULL, NULL},
};

const struct ttai_workflow_def wf_price_alert = {
    .type = "PriceAlert",
    .run = price_alert_run,
    .state_size = sizeof(struct price_state),
    .signals = price_signals,
    .queries = price_queries,
};
