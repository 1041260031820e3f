/* user_monitor.c: the UserMonitor workflow, seed 000's per-user
 * PortfolioMonitor Durable Object as a workflow: one run per user (in the
 * user's namespace), checking the user's positions against the user's
 * rules every check_interval_seconds.
 *
 * Rules (seed 000's AlertRule): {"type", "threshold", "symbol"?}
 *   price_above   quote price >  threshold
 *   price_below   quote price <  threshold
 *   delta_breach  |position delta| > threshold (positions with a delta)
 *   dte_warning   position DTE <= threshold (positions with a DTE, or an
 *                 "expiration" date from which the DTE is counted)
 * A rule with a symbol applies to that symbol's positions only. Triggered
 * rules are routed as "portfolio" alerts, each (rule, symbol, position) at
 * most once per throttle_minutes (seed 000 has no throttle and would
 * repeat an alert every check while its condition holds; 0 restores that).
 *
 * Positions come from the input ("positions", replaced by the
 * update_positions signal), or, with "account_id", from fetch_portfolio at
 * every check. Quotes come from fetch_quotes with the user's id.
 *
 * Input: {"user_id": namespace, "positions": [...], "account_id": null,
 *   "alert_rules": [...], "check_interval_seconds": 60,
 *   "notify_channels": ["discord"], "throttle_minutes": 5}
 *   (continue-as-new adds "stats" and "last_alert_times").
 * Signals: update_rules ({"alert_rules": [...]} or an array),
 *   update_positions ({"positions": [...]} or an array), shutdown.
 * Queries: get_status (seed 000's /status), get_rules.
 */
#include "workflows.h"

#include <stdio.h>
#include <string.h>

#include "monitor.h"

#define UM_POSITIONS_MAX 128
#define UM_RULES_MAX 64
#define UM_ITERATIONS_MAX 500
#define UM_INTERVAL_S_DEFAULT 60.0
#define UM_THROTTLE_MIN_DEFAULT 5.0

enum um_rule_type { UM_PRICE_ABOVE, UM_PRICE_BELOW, UM_DELTA_BREACH, UM_DTE_WARNING };
static const char *const rule_names[] = {"price_above", "price_below", "delta_breach",
                                         "dte_warning"};

struct um_rule {
    int type;                          /* enum um_rule_type */
    double threshold;
    char symbol[MON_SYMBOL_MAX];       /* "": every symbol */
};

struct um_position {
    char id[MON_ID_MAX];               /* "": none given */
    char symbol[MON_SYMBOL_MAX];
    char expiration[11];               /* "YYYY-MM-DD" or "" */
    bool has_delta, has_dte;
    double delta, dte;
};

struct um_state {
    struct mon_early early;
    char user_id[MON_ID_MAX];
    char account_id[MON_ID_MAX];       /* "": positions from the input */
    uint32_t position_count, rule_count;
    struct um_position positions[UM_POSITIONS_MAX];
    struct um_rule rules[UM_RULES_MAX];
    struct mon_channels channels;
    double interval_s, throttle_min;
    struct mon_throttle throttle;
    int64_t checks_performed, alerts_triggered;
    int64_t last_check_ms;             /* 0: never */
    int64_t next_check_ms;             /* 0: none planned */
    bool shutdown;
};

/* ---- Rules and positions ------------------------------------------------------------ */

static bool parse_rule(const msgpack_object *o, struct um_rule *r)
{
    memset(r, 0, sizeof(*r));
    r->type = -1;
    for (int t = 0; t < 4; t++)
        if (ttai_obj_str_eq(mon_get(o, "type"), rule_names[t]))
            r->type = t;
    if (r->type < 0 || !mon_num_get(o, "threshold", &r->threshold))
        return false;
    const msgpack_object *sym = mon_get(o, "symbol");
    return sym == NULL || mon_str(sym, r->symbol, sizeof(r->symbol));
}

static void read_rules(struct um_state *s, const msgpack_object *list)
{
    s->rule_count = 0;
    for (uint32_t i = 0; mon_is_array(list) && i < list->via.array.size; i++)
        if (s->rule_count < UM_RULES_MAX &&
            parse_rule(&list->via.array.ptr[i], &s->rules[s->rule_count]))
            s->rule_count++;
}

static void pack_rules(const struct um_state *s, struct ttai_buf *b)
{
    ttai_buf_array(b, s->rule_count);
    for (uint32_t i = 0; i < s->rule_count; i++) {
        const struct um_rule *r = &s->rules[i];
        ttai_buf_map(b, r->symbol[0] ? 3 : 2);
        mon_kv_str(b, "type", rule_names[r->type]);
        mon_kv_num(b, "threshold", r->threshold);
        if (r->symbol[0])
            mon_kv_str(b, "symbol", r->symbol);
    }
}

static bool parse_position(const msgpack_object *o, struct um_position *p)
{
    memset(p, 0, sizeof(*p));
    if (!mon_str(mon_get(o, "symbol"), p->symbol, sizeof(p->symbol)))
        return false;
    (void)mon_str(mon_get(o, "id"), p->id, sizeof(p->id));
    p->has_delta = mon_num_get(o, "delta", &p->delta);
    p->has_dte = mon_num_get(o, "dte", &p->dte);
    const char *exp;
    size_t len;
    int64_t day;
    /* A parsed date is exactly "YYYY-MM-DD". */
    if (ttai_obj_str(mon_get(o, "expiration"), &exp, &len) && mon_date_parse(exp, len, &day))
        memcpy(p->expiration, exp, len);
    return true;
}

static void read_positions(struct um_state *s, const msgpack_object *list)
{
    s->position_count = 0;
    for (uint32_t i = 0; mon_is_array(list) && i < list->via.array.size; i++)
        if (s->position_count < UM_POSITIONS_MAX &&
            parse_position(&list->via.array.ptr[i], &s->positions[s->position_count]))
            s->position_count++;
}

static void pack_positions(const struct um_state *s, struct ttai_buf *b)
{
    ttai_buf_array(b, s->position_count);
    for (uint32_t i = 0; i < s->position_count; i++) {
        const struct um_position *p = &s->positions[i];
        ttai_buf_map(b, 1 + (p->id[0] != 0) + p->has_delta + p->has_dte + (p->expiration[0] != 0));
        mon_kv_str(b, "symbol", p->symbol);
        if (p->id[0])
            mon_kv_str(b, "id", p->id);
        if (p->has_delta)
            mon_kv_num(b, "delta", p->delta);
        if (p->has_dte)
            mon_kv_num(b, "dte", p->dte);
        if (p->expiration[0])
            mon_kv_str(b, "expiration", p->expiration);
    }
}

/* The position's DTE now: from its expiration date when it has one. */
static bool position_dte(const struct um_position *p, int64_t now_ms, double *dte)
{
    int64_t day;
    if (p->expiration[0] && mon_date_parse(p->expiration, strlen(p->expiration), &day)) {
        *dte = (double)(day - mon_days(now_ms));
        return true;
    }
    *dte = p->dte;
    return p->has_dte;
}

/* ---- Signals and queries -------------------------------------------------------------- */

/* The list of a signal: an array, or the array under key of a map. */
static const msgpack_object *signal_list(const struct mon_doc *doc, const char *key)
{
    const msgpack_object *o = &doc->root;
    if (mon_is_map(o))
        o = mon_get(o, key);
    return mon_is_array(o) ? o : NULL;
}

static void apply_update_rules(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    const msgpack_object *list = signal_list(&doc, "alert_rules");
    if (list != NULL)
        read_rules(state, list);
    mon_doc_close(&doc);
}

static void apply_update_positions(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    const msgpack_object *list = signal_list(&doc, "positions");
    if (list != NULL)
        read_positions(state, list);
    mon_doc_close(&doc);
}

static void on_update_rules(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    mon_early_signal(wf, &((struct um_state *)state)->early, apply_update_rules, state, args);
}

static void on_update_positions(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    mon_early_signal(wf, &((struct um_state *)state)->early, apply_update_positions, state, args);
}

static void on_shutdown(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    struct um_state *s = state;
    s->shutdown = true;
    s->next_check_ms = 0;
}

static void pack_time(struct ttai_buf *b, const char *key, int64_t ms)
{
    char text[40];
    ttai_buf_str(b, key);
    if (ms == 0)
        ttai_buf_nil(b);
    else
        ttai_buf_str(b, ttai_time_format(ms, text, sizeof(text)));
}

static void pack_stats(const struct um_state *s, struct ttai_buf *b)
{
    ttai_buf_map(b, 3);
    mon_kv_int(b, "checks_performed", s->checks_performed);
    mon_kv_int(b, "alerts_triggered", s->alerts_triggered);
    pack_time(b, "last_check", s->last_check_ms);
}

static int get_status(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct um_state *s = state;
    ttai_buf_map(answer, 6);
    mon_kv_bool(answer, "active", s->early.started && !s->shutdown);
    mon_kv_str(answer, "user_id", s->user_id);
    ttai_buf_str(answer, "stats");
    pack_stats(s, answer);
    mon_kv_int(answer, "position_count", s->position_count);
    mon_kv_int(answer, "rule_count", s->rule_count);
    pack_time(answer, "next_check_at", s->next_check_ms);
    return 0;
}

static int get_rules(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                     struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    pack_rules(state, answer);
    return 0;
}

/* ---- Checks ----------------------------------------------------------------------------- */

/* The rule's verdict and the value it looked at (seed 000's checkRule and
 * getCurrentValue). */
static bool rule_met(const struct um_rule *r, const struct um_position *p, double price,
                     int64_t now_ms, double *value)
{
    double dte;
    switch (r->type) {
    case UM_PRICE_ABOVE:
        *value = price;
        return price > r->threshold;
    case UM_PRICE_BELOW:
        *value = price;
        return price < r->threshold;
    case UM_DELTA_BREACH:
        *value = p->delta;
        return p->has_delta && (p->delta < 0 ? -p->delta : p->delta) > r->threshold;
    default:
        if (!position_dte(p, now_ms, &dte))
            return false;
        *value = dte;
        return dte <= r->threshold;
    }
}

static void rule_message(const struct um_rule *r, const struct um_position *p, double value,
                         char *msg, size_t size)
{
    char v[48], t[48];
    if (r->type == UM_DTE_WARNING) {
        snprintf(msg, size, "%s position at %.0f DTE (threshold %g)", p->symbol, value,
                 r->threshold);
        return;
    }
    mon_fmt_fixed(v, sizeof(v), value, 2);
    mon_fmt_fixed(t, sizeof(t), r->threshold, 2);
    if (r->type == UM_DELTA_BREACH)
        snprintf(msg, size, "%s delta %s breaches %s", p->symbol, v, t);
    else
        snprintf(msg, size, "%s price $%s is %s $%s", p->symbol, v,
                 r->type == UM_PRICE_ABOVE ? "above" : "below", t);
}

static void add_alert(struct ttai_wf *wf, struct um_state *s, struct mon_alerts *out,
                      const struct um_rule *r, const struct um_position *p, double value,
                      uint32_t position_index)
{
    int64_t now = ttai_wf_now(wf);
    if (s->throttle_min > 0) {
        char key[MON_THROTTLE_KEY_MAX];
        snprintf(key, sizeof(key), "%s:%s:%s", rule_names[r->type], p->symbol,
                 p->id[0] ? p->id : "");
        if (p->id[0] == '\0')
            mon_textf(key, sizeof(key), "#%u", position_index);
        if (!mon_throttle_pass(&s->throttle, key, now, (int64_t)(s->throttle_min * MON_MINUTE_MS)))
            return;
    }
    char msg[200];
    rule_message(r, p, value, msg, sizeof(msg));
    struct ttai_buf *b = &out->items;
    ttai_buf_map(b, 11);
    mon_kv_str(b, "type", "position_alert");
    mon_kv_str(b, "severity", "warning");
    mon_kv_str(b, "user_id", s->user_id);
    mon_kv_str(b, "symbol", p->symbol);
    ttai_buf_str(b, "position_id");
    if (p->id[0])
        ttai_buf_str(b, p->id);
    else
        ttai_buf_nil(b);
    mon_kv_str(b, "rule_type", rule_names[r->type]);
    mon_kv_num(b, "threshold", r->threshold);
    mon_kv_num(b, "current_value", value);
    pack_time(b, "timestamp", now);
    mon_kv_str(b, "message", msg);
    ttai_buf_str(b, "channels");
    mon_channels_pack(&s->channels, b);
    out->count++;
}

/* Positions of the account, from the provider. False when it failed. */
static bool fetch_positions(struct ttai_wf *wf, struct um_state *s)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_map(&b, 1);
    mon_kv_str(&b, "account_id", s->account_id);
    struct ttai_payload input = mon_keep(wf, &b);
    struct ttai_result res;
    if (ttai_wf_activity(wf, MON_ACT_FETCH_PORTFOLIO, input, &mon_opts_portfolio, &res) != 0)
        return false;
    struct mon_doc doc;
    mon_doc_open(&doc, res.value);
    read_positions(s, mon_get(&doc.root, "positions"));
    mon_doc_close(&doc);
    return true;
}

static void check(struct ttai_wf *wf, struct um_state *s)
{
    if (s->account_id[0] && !fetch_positions(wf, s))
        return;
    struct mon_symbols symbols = {0};
    for (uint32_t i = 0; i < s->position_count; i++)
        (void)mon_symbols_add(&symbols, s->positions[i].symbol);
    struct mon_alerts alerts;
    mon_alerts_init(&alerts);
    if (symbols.count > 0) {
        struct ttai_buf b;
        ttai_buf_init(&b);
        ttai_buf_map(&b, 2);
        ttai_buf_str(&b, "symbols");
        mon_symbols_pack(&symbols, &b);
        mon_kv_str(&b, "user_id", s->user_id);
        struct ttai_payload input = mon_keep(wf, &b);
        struct ttai_result res;
        if (ttai_wf_activity(wf, MON_ACT_FETCH_QUOTES, input, &mon_opts_quotes, &res) != 0)
            return;
        struct mon_doc doc;
        mon_doc_open(&doc, res.value);
        for (uint32_t i = 0; i < s->position_count; i++) {
            const struct um_position *p = &s->positions[i];
            double price;
            if (!mon_num_get(mon_get(&doc.root, p->symbol), "price", &price))
                continue;
            for (uint32_t k = 0; k < s->rule_count; k++) {
                const struct um_rule *r = &s->rules[k];
                double value;
                if ((r->symbol[0] && strcmp(r->symbol, p->symbol) != 0) ||
                    !rule_met(r, p, price, ttai_wf_now(wf), &value))
                    continue;
                add_alert(wf, s, &alerts, r, p, value, i);
            }
        }
        mon_doc_close(&doc);
    }
    s->checks_performed++;
    s->last_check_ms = ttai_wf_now(wf);
    s->alerts_triggered += alerts.count;
    (void)mon_route(wf, "portfolio", &alerts);
}

/* ---- The loop ------------------------------------------------------------------------------ */

static void load_input(struct ttai_wf *wf, struct um_state *s, struct ttai_payload input)
{
    struct mon_doc doc;
    mon_doc_open(&doc, input);
    const msgpack_object *in = &doc.root, *stats = mon_get(in, "stats");
    if (!mon_str(mon_get(in, "user_id"), s->user_id, sizeof(s->user_id)))
        snprintf(s->user_id, sizeof(s->user_id), "%s", ttai_wf_namespace(wf));
    (void)mon_str(mon_get(in, "account_id"), s->account_id, sizeof(s->account_id));
    read_positions(s, mon_get(in, "positions"));
    read_rules(s, mon_get(in, "alert_rules"));
    if (!mon_channels_read(&s->channels, mon_get(in, "notify_channels")))
        mon_channels_set1(&s->channels, "discord");
    s->interval_s = mon_num(in, "check_interval_seconds", UM_INTERVAL_S_DEFAULT);
    if (!(s->interval_s > 0))
        s->interval_s = UM_INTERVAL_S_DEFAULT;
    s->throttle_min = mon_num(in, "throttle_minutes", UM_THROTTLE_MIN_DEFAULT);
    s->checks_performed = mon_int(stats, "checks_performed", 0);
    s->alerts_triggered = mon_int(stats, "alerts_triggered", 0);
    const char *last;
    size_t len;
    if (ttai_obj_str(mon_get(stats, "last_check"), &last, &len))
        (void)mon_time_parse(last, len, &s->last_check_ms);
    mon_throttle_read(&s->throttle, mon_get(in, "last_alert_times"));
    mon_doc_close(&doc);
}

static struct ttai_payload next_input(struct ttai_wf *wf, const struct um_state *s)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_map(&b, 9);
    mon_kv_str(&b, "user_id", s->user_id);
    ttai_buf_str(&b, "account_id");
    if (s->account_id[0])
        ttai_buf_str(&b, s->account_id);
    else
        ttai_buf_nil(&b);
    ttai_buf_str(&b, "positions");
    pack_positions(s, &b);
    ttai_buf_str(&b, "alert_rules");
    pack_rules(s, &b);
    mon_kv_num(&b, "check_interval_seconds", s->interval_s);
    ttai_buf_str(&b, "notify_channels");
    mon_channels_pack(&s->channels, &b);
    mon_kv_num(&b, "throttle_minutes", s->throttle_min);
    ttai_buf_str(&b, "stats");
    pack_stats(s, &b);
    ttai_buf_str(&b, "last_alert_times");
    mon_throttle_pack(&s->throttle, &b);
    return mon_keep(wf, &b);
}

static void user_monitor_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct um_state *s = state;
    load_input(wf, s, input);
    mon_early_start(wf, &s->early, s);
    int64_t interval_ms = (int64_t)(s->interval_s * 1000.0);
    /* Seed 000 checks first when its alarm fires, one interval after start. */
    for (int iterations = 0; !s->shutdown;) {
        s->next_check_ms = ttai_wf_now(wf) + interval_ms;
        if (mon_wait(wf, &s->shutdown, interval_ms))
            break;
        check(wf, s);
        iterations++;
        if (!s->shutdown &&
            (iterations >= UM_ITERATIONS_MAX || ttai_wf_continue_as_new_suggested(wf)))
            ttai_wf_continue_as_new(wf, next_input(wf, s));
    }
    s->next_check_ms = 0;
}

static const struct ttai_signal_def um_signals[] = {
    {"update_rules", on_update_rules},
    {"update_positions", on_update_positions},
    {"shutdown", on_shutdown},
    {NULL, NULL},
};

static const struct ttai_query_def um_queries[] = {
    {"get_status", get_status},
    {"get_rules", get_rules},
    {NULL, NULL},
};

const struct ttai_workflow_def wf_user_monitor = {
    .type = "UserMonitor",
    .run = user_monitor_run,
    .state_size = sizeof(struct um_state),
    .signals = um_signals,
    .queries = um_queries,
};
