/* rule_alerts.c: the RuleAlerts workflow, seed 003's alert evaluator as a
 * durable monitor.
 *
 * Every check_interval_seconds it fetches the quotes of the symbols its
 * alerts watch and feeds each quote to the rule-tree evaluator (rules.h)
 * as one bar (the quote's price and volume, at the workflow's time). The
 * alerts that fire are routed as "rule" alerts of the "price" rate-limit
 * class, with the evaluator's message (the conditions that held, with
 * their values). The evaluator's state (indicator series, re-arm state)
 * lives in the workflow: replay rebuilds it bar by bar, and it travels in
 * the input of the next run when the workflow continues as new (every
 * 1,000 checks), so that an SMA warmed up over hours, a cooldown or a
 * persistence streak survive both restarts and continue-as-new.
 *
 * Input (all optional):
 *   {"alerts": [alert, ...], "check_interval_seconds": 60,
 *    "evaluator": <packed evaluator state, from the previous run>}
 * An alert: {"id", "symbol" (or seed 003's "ticker"), "rule", "rearm",
 *   "severity": "info"|"warning"|"critical", "channels": ["discord"]};
 *   docs/rules.md gives "rule" and "rearm".
 * Signals: add_alert (an alert; a known id is replaced and starts over,
 *   re-armed), remove_alert (the id, or {"id": ...}), rearm (the id, or
 *   {"id": ...}: forgets its re-arm state), shutdown.
 * Queries: get_alerts (each alert in canonical form, with its re-arm
 *   state), get_status (counts, and why the last refused alert was refused).
 */
#include "workflows.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "monitor.h"
#include "rules.h"

#define RA_ALERTS_MAX 128
#define RA_ITERATIONS_MAX 1000
#define RA_INTERVAL_S_DEFAULT 60.0
#define RA_SEVERITY_MAX 16

struct ra_alert {
    char id[RULES_ALERT_ID_MAX];
    char symbol[MON_SYMBOL_MAX];
    char severity[RA_SEVERITY_MAX];
    struct mon_channels channels;
    struct rule *rule;                  /* workflow memory */
};

struct ra_state {
    struct mon_early early;
    struct rules_alloc alloc;           /* over ttai_wf_alloc: lives with the run */
    struct rules_state *eval;
    uint32_t alert_count;
    struct ra_alert alerts[RA_ALERTS_MAX];
    double interval_s;
    uint32_t rejected;                  /* add_alert signals refused */
    char last_rejection[TTAI_ERR_MSG_MAX];
    int64_t checks, fires;              /* in this run */
    bool shutdown;
};

static void *ra_alloc(void *wf, size_t size) { return ttai_wf_alloc(wf, size); }

/* ---- Alerts ------------------------------------------------------------------------ */

/* Counts a refused alert and keeps why, for get_status. Returns -1. */
static int reject(struct ra_state *s, const char *fmt, ...) TTAI_PRINTF(2, 3);
static int reject(struct ra_state *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->last_rejection, sizeof(s->last_rejection), fmt, ap);
    va_end(ap);
    s->rejected++;
    return -1;
}

/* Parses an alert from its msgpack form. The rule goes through JSON, the
 * evaluator's input format. */
static int parse_alert(struct ra_state *s, const msgpack_object *o, struct ra_alert *a)
{
    memset(a, 0, sizeof(*a));
    if (!mon_is_map(o))
        return reject(s, "add_alert: an alert is an object");
    if (!mon_str(mon_get(o, "id"), a->id, sizeof(a->id)) || a->id[0] == '\0')
        return reject(s, "add_alert: 'id' must be a string of 1 to %d bytes",
                      RULES_ALERT_ID_MAX - 1);
    const msgpack_object *symbol = mon_get(o, "symbol") ? mon_get(o, "symbol")
                                                        : mon_get(o, "ticker");
    if (!mon_str(symbol, a->symbol, sizeof(a->symbol)) || a->symbol[0] == '\0')
        return reject(s, "add_alert '%s': 'symbol' must be a ticker", a->id);
    const msgpack_object *severity = mon_get(o, "severity");
    snprintf(a->severity, sizeof(a->severity), "info");
    if (severity != NULL &&
        (!mon_str(severity, a->severity, sizeof(a->severity)) ||
         (strcmp(a->severity, "info") != 0 && strcmp(a->severity, "warning") != 0 &&
          strcmp(a->severity, "critical") != 0)))
        return reject(s, "add_alert '%s': 'severity' is info, warning or critical", a->id);
    const msgpack_object *channels = mon_get(o, "channels");
    if (channels == NULL)
        mon_channels_set1(&a->channels, "discord");
    else if (!mon_channels_read(&a->channels, channels))
        return reject(s, "add_alert '%s': 'channels' is an array of channel names", a->id);
    struct ttai_buf b;
    ttai_buf_init(&b);
    mon_buf_object(&b, o);
    char *text = ttai_payload_to_json(ttai_buf_payload(&b));
    ttai_buf_release(&b);
    json_t *def = text ? json_loads(text, 0, NULL) : NULL;
    ttai_free(text);
    struct ttai_err err = {0};
    int rc = def ? rules_parse(def, &s->alloc, &a->rule, &err) : TTAI_ENOMEM;
    json_decref(def);
    if (rc != 0)
        return reject(s, "add_alert '%s': %s", a->id, err.msg[0] ? err.msg : "out of memory");
    return 0;
}

static struct ra_alert *find_alert(struct ra_state *s, const char *id)
{
    for (uint32_t i = 0; i < s->alert_count; i++)
        if (strcmp(s->alerts[i].id, id) == 0)
            return &s->alerts[i];
    return NULL;
}

/* A known id is replaced, and its re-arm state starts over: the new rule
 * may mean something else entirely. */
static void put_alert(struct ra_state *s, const struct ra_alert *a)
{
    struct ra_alert *slot = find_alert(s, a->id);
    if (slot == NULL && s->alert_count >= RA_ALERTS_MAX) {
        (void)reject(s, "add_alert '%s': at most %d alerts", a->id, RA_ALERTS_MAX);
        return;
    }
    if (slot != NULL)
        (void)rules_state_forget(s->eval, a->id);
    *(slot != NULL ? slot : &s->alerts[s->alert_count++]) = *a;
}

static void remove_alert(struct ra_state *s, const char *id)
{
    struct ra_alert *a = find_alert(s, id);
    if (a == NULL)
        return;
    (void)rules_state_forget(s->eval, id);
    size_t i = (size_t)(a - s->alerts);
    memmove(a, a + 1, (s->alert_count - i - 1) * sizeof(*a));
    s->alert_count--;
}

/* The alert as the input and get_alerts show it: id, symbol, severity,
 * channels and the canonical rule and rearm. */
static json_t *alert_json(const struct ra_alert *a)
{
    json_t *j = rules_to_json(a->rule);
    if (j == NULL)
        return NULL;
    json_t *channels = json_array();
    for (uint32_t i = 0; i < a->channels.count; i++)
        json_array_append_new(channels, json_string(a->channels.items[i]));
    json_object_set_new(j, "id", json_string(a->id));
    json_object_set_new(j, "symbol", json_string(a->symbol));
    json_object_set_new(j, "severity", json_string(a->severity));
    json_object_set_new(j, "channels", channels);
    return j;
}

/* Appends the JSON value to b as msgpack; nil when it cannot. */
static void pack_json(struct ttai_buf *b, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    struct ttai_err err;
    if (text == NULL || ttai_payload_from_json(text, strlen(text), b, &err) != 0)
        ttai_buf_nil(b);
    free(text);
}

/* ---- Signals and queries --------------------------------------------------------------- */

static void apply_add_alert(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct ra_state *s = state;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    struct ra_alert a;
    if (parse_alert(s, &doc.root, &a) == 0)
        put_alert(s, &a);
    mon_doc_close(&doc);
}

/* The id of remove_alert and rearm: a string, or {"id": ...}. */
static bool id_arg(struct ttai_payload args, char *id, size_t size)
{
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    const msgpack_object *o = &doc.root;
    if (mon_is_map(o))
        o = mon_get(o, "id");
    bool ok = mon_str(o, id, size);
    mon_doc_close(&doc);
    return ok;
}

static void apply_remove_alert(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    char id[RULES_ALERT_ID_MAX];
    if (id_arg(args, id, sizeof(id)))
        remove_alert(state, id);
}

static void apply_rearm(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct ra_state *s = state;
    char id[RULES_ALERT_ID_MAX];
    if (id_arg(args, id, sizeof(id)) && find_alert(s, id) != NULL)
        (void)rules_state_forget(s->eval, id);
}

static void on_add_alert(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    mon_early_signal(wf, &((struct ra_state *)state)->early, apply_add_alert, state, args);
}

static void on_remove_alert(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    mon_early_signal(wf, &((struct ra_state *)state)->early, apply_remove_alert, state, args);
}

static void on_rearm(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    mon_early_signal(wf, &((struct ra_state *)state)->early, apply_rearm, state, args);
}

static void on_shutdown(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct ra_state *)state)->shutdown = true;
}

static int get_alerts(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct ra_state *s = state;
    json_t *list = json_array();
    for (uint32_t i = 0; i < s->alert_count; i++) {
        const struct ra_alert *a = &s->alerts[i];
        json_t *j = alert_json(a);
        struct rules_alert_info info;
        if (j != NULL && s->eval != NULL &&
            rules_state_alert(s->eval, a->id, a->symbol, &info) == 0)
            json_object_set_new(j, "state", json_pack("{s:b, s:I, s:o, s:I, s:I}",
                "armed", info.armed, "streak_bars", (json_int_t)info.streak_bars,
                "last_result", info.last_result < 0 ? json_null() : json_boolean(info.last_result),
                "fire_count", (json_int_t)info.fire_count,
                "last_fire_ms", (json_int_t)info.last_fire_ms));
        if (j != NULL)
            json_array_append_new(list, j);
    }
    pack_json(answer, list);
    json_decref(list);
    return 0;
}

static int get_status(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct ra_state *s = state;
    ttai_buf_map(answer, 6);
    mon_kv_int(answer, "alerts", s->alert_count);
    mon_kv_int(answer, "checks", s->checks);
    mon_kv_int(answer, "fires", s->fires);
    mon_kv_int(answer, "rejected_alerts", s->rejected);
    ttai_buf_str(answer, "last_rejection");
    if (s->last_rejection[0] != '\0')
        ttai_buf_str(answer, s->last_rejection);
    else
        ttai_buf_nil(answer);
    mon_kv_bool(answer, "shutting_down", s->shutdown);
    return 0;
}

/* ---- The loop ---------------------------------------------------------------------------- */

static void pack_fire(struct ttai_buf *b, const struct ra_alert *a, const struct rules_fire *f)
{
    ttai_buf_map(b, 10);
    mon_kv_str(b, "id", a->id);
    mon_kv_str(b, "alert_id", a->id);
    mon_kv_str(b, "type", "rule");
    mon_kv_str(b, "category", "price");
    mon_kv_str(b, "severity", a->severity);
    mon_kv_str(b, "symbol", a->symbol);
    mon_kv_str(b, "message", f->message);
    mon_kv_int(b, "timestamp_ms", f->t_ms);
    ttai_buf_str(b, "data");
    ttai_buf_map(b, 2);
    mon_kv_num(b, "price", f->price);
    mon_kv_int(b, "fire_count", (int64_t)f->fire_count);
    ttai_buf_str(b, "channels");
    mon_channels_pack(&a->channels, b);
}

static void check(struct ttai_wf *wf, struct ra_state *s)
{
    struct mon_symbols symbols = {0};
    for (uint32_t i = 0; i < s->alert_count; i++)
        (void)mon_symbols_add(&symbols, s->alerts[i].symbol);
    struct ttai_buf b;
    ttai_buf_init(&b);
    mon_symbols_pack(&symbols, &b);
    struct ttai_result res;
    if (ttai_wf_activity(wf, MON_ACT_FETCH_QUOTES, mon_keep(wf, &b), &mon_opts_quotes, &res) != 0)
        return;
    s->checks++;
    int64_t now = ttai_wf_now(wf);
    struct mon_doc doc;
    mon_doc_open(&doc, res.value);
    struct mon_alerts fired;
    mon_alerts_init(&fired);
    for (uint32_t i = 0; i < s->alert_count; i++) {
        const struct ra_alert *a = &s->alerts[i];
        const msgpack_object *quote = mon_get(&doc.root, a->symbol);
        struct rules_bar bar = {.t_ms = now};
        /* A quote without a usable price is no bar: the indicators wait. */
        if (!mon_num_get(quote, "price", &bar.price) || !(bar.price > 0))
            continue;
        bar.volume = mon_num(quote, "volume", 0);
        if (!(bar.volume >= 0))
            bar.volume = 0;
        struct rules_fire fire;
        struct ttai_err err;
        if (rules_on_bar(s->eval, a->id, a->rule, a->symbol, &bar, &fire, &err) == 1) {
            pack_fire(&fired.items, a, &fire);
            fired.count++;
            s->fires++;
        }
    }
    mon_doc_close(&doc);
    (void)mon_route(wf, "price", &fired);
}

static void load_input(struct ttai_wf *wf, struct ra_state *s, struct ttai_payload input)
{
    s->alloc = (struct rules_alloc){ra_alloc, NULL, wf};
    struct mon_doc doc;
    mon_doc_open(&doc, input);
    const msgpack_object *in = &doc.root, *packed = mon_get(in, "evaluator");
    struct ttai_err err;
    /* A carried state that does not read back (a newer format, say) is
     * dropped: the indicators warm up again rather than the run failing. */
    if (packed == NULL || packed->type == MSGPACK_OBJECT_NIL ||
        rules_state_unpack(packed, &s->alloc, &s->eval, &err) != 0)
        TTAI_ASSERT(rules_state_new(&s->alloc, &s->eval, &err) == 0);
    const msgpack_object *alerts = mon_get(in, "alerts");
    for (uint32_t i = 0; mon_is_array(alerts) && i < alerts->via.array.size; i++) {
        struct ra_alert a;
        if (parse_alert(s, &alerts->via.array.ptr[i], &a) == 0)
            put_alert(s, &a);
    }
    s->interval_s = mon_num(in, "check_interval_seconds", RA_INTERVAL_S_DEFAULT);
    if (!(s->interval_s > 0))
        s->interval_s = RA_INTERVAL_S_DEFAULT;
    mon_doc_close(&doc);
}

static void continue_as_new(struct ttai_wf *wf, const struct ra_state *s)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_map(&b, 3);
    ttai_buf_str(&b, "alerts");
    ttai_buf_array(&b, s->alert_count);
    for (uint32_t i = 0; i < s->alert_count; i++) {
        json_t *j = alert_json(&s->alerts[i]);
        pack_json(&b, j);
        json_decref(j);
    }
    ttai_buf_str(&b, "check_interval_seconds");
    if (s->interval_s == (double)(int64_t)s->interval_s)
        ttai_buf_int(&b, (int64_t)s->interval_s);
    else
        ttai_buf_double(&b, s->interval_s);
    ttai_buf_str(&b, "evaluator");
    rules_state_pack(s->eval, &b);
    ttai_wf_continue_as_new(wf, mon_keep(wf, &b));
}

static void rule_alerts_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct ra_state *s = state;
    load_input(wf, s, input);
    mon_early_start(wf, &s->early, s);
    int64_t interval_ms = (int64_t)(s->interval_s * 1000.0);
    for (int iterations = 0; !s->shutdown;) {
        if (s->alert_count > 0)
            check(wf, s);
        mon_wait(wf, &s->shutdown, interval_ms);
        iterations++;
        if (!s->shutdown &&
            (iterations >= RA_ITERATIONS_MAX || ttai_wf_continue_as_new_suggested(wf)))
            continue_as_new(wf, s);
    }
}

static const struct ttai_signal_def ra_signals[] = {
    {"add_alert", on_add_alert},
    {"remove_alert", on_remove_alert},
    {"rearm", on_rearm},
    {"shutdown", on_shutdown},
    {NULL, NULL},
};

static const struct ttai_query_def ra_queries[] = {
    {"get_alerts", get_alerts},
    {"get_status", get_status},
    {NULL, NULL},
};

const struct ttai_workflow_def wf_rule_alerts = {
    .type = "RuleAlerts",
    .run = rule_alerts_run,
    .state_size = sizeof(struct ra_state),
    .signals = ra_signals,
    .queries = ra_queries,
};
