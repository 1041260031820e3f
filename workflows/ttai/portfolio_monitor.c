/* portfolio_monitor.c: the PortfolioMonitor workflow (seed 001's
 * PortfolioMonitorWorkflow).
 *
 * Every check_interval_minutes it fetches the account's portfolio and
 * raises "portfolio" alerts for: the day's P&L (warning at -2%, critical
 * at -5%), margin utilisation (warning at 70%, critical at 85%),
 * assignment risk (short options in the money within assignment_risk_dte
 * days), and concentration (a position above max_position_percent of the
 * total value). At most one alert per type and symbol goes out per five
 * minutes. It continues as new every 100 checks.
 *
 * Two deliberate differences from the seed: the assignment risk check runs
 * in the workflow (pure code over the fetched positions) instead of a
 * separate activity, and continue-as-new carries the configuration as
 * updated by update_config and the throttle times (the seed passes its
 * original parameters, undoing the update and re-sending throttled alerts).
 *
 * Input: {"account_id": "default", "config": {...}, "check_interval_minutes": 1,
 *         "notify_channels": ["discord"], "last_alert_times": {...}}
 * Signals: update_config (a config object: fields it lacks take their
 * defaults, as the seed's PortfolioMonitorConfig(**config)), shutdown.
 * Query get_status: {"config": {...}, "shutting_down": bool}.
 */
#include "workflows.h"

#include <stdio.h>
#include <string.h>

#include "monitor.h"

#define PM_ITERATIONS_MAX 100
#define PM_INTERVAL_MIN_DEFAULT 1.0
#define PM_THROTTLE_MS (5 * MON_MINUTE_MS)

struct pm_config {
    double daily_loss_warning;       /* percent */
    double daily_loss_critical;
    double margin_warning;           /* percent utilisation */
    double margin_critical;
    bool check_assignment_risk;
    int64_t assignment_risk_dte;
    double max_position_percent;
};

static const struct pm_config config_defaults = {2.0, 5.0, 70.0, 85.0, true, 3, 20.0};

struct pm_state {
    struct mon_early early;
    struct pm_config config;
    char account_id[MON_ID_MAX];
    struct mon_channels channels;
    double interval_min;
    struct mon_throttle throttle;
    bool shutdown;
};

static void read_config(struct pm_config *c, const msgpack_object *o)
{
    *c = config_defaults;
    c->daily_loss_warning = mon_num(o, "daily_loss_warning", c->daily_loss_warning);
    c->daily_loss_critical = mon_num(o, "daily_loss_critical", c->daily_loss_critical);
    c->margin_warning = mon_num(o, "margin_warning", c->margin_warning);
    c->margin_critical = mon_num(o, "margin_critical", c->margin_critical);
    c->check_assignment_risk = mon_bool(o, "check_assignment_risk", c->check_assignment_risk);
    c->assignment_risk_dte = mon_int(o, "assignment_risk_dte", c->assignment_risk_dte);
    c->max_position_percent = mon_num(o, "max_position_percent", c->max_position_percent);
}

static void pack_config(const struct pm_config *c, struct ttai_buf *b)
{
    ttai_buf_map(b, 7);
    mon_kv_num(b, "daily_loss_warning", c->daily_loss_warning);
    mon_kv_num(b, "daily_loss_critical", c->daily_loss_critical);
    mon_kv_num(b, "margin_warning", c->margin_warning);
    mon_kv_num(b, "margin_critical", c->margin_critical);
    mon_kv_bool(b, "check_assignment_risk", c->check_assignment_risk);
    mon_kv_int(b, "assignment_risk_dte", c->assignment_risk_dte);
    mon_kv_num(b, "max_position_percent", c->max_position_percent);
}

/* ---- Signals and query ----------------------------------------------------------- */

static void apply_update_config(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct mon_doc doc;
    mon_doc_open(&doc, args);
    if (mon_is_map(&doc.root))
        read_config(&((struct pm_state *)state)->config, &doc.root);
    mon_doc_close(&doc);
}

static void on_update_config(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    mon_early_signal(wf, &((struct pm_state *)state)->early, apply_update_config, state, args);
}

static void on_shutdown(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct pm_state *)state)->shutdown = true;
}

static int get_status(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct pm_state *s = state;
    ttai_buf_map(answer, 2);
    ttai_buf_str(answer, "config");
    if (s->early.started)
        pack_config(&s->config, answer);
    else
        ttai_buf_nil(answer); /* the seed's None before run() set it */
    mon_kv_bool(answer, "shutting_down", s->shutdown);
    return 0;
}

/* ---- Checks ------------------------------------------------------------------------- */

/* Adds an alert unless the throttle holds its type and symbol back. The
 * key is the seed's f"{type}:{alert.get('symbol', 'all')}". */
static bool admit(struct ttai_wf *wf, struct pm_state *s, const char *type,
                  const msgpack_object *symbol, bool has_symbol)
{
    char key[MON_THROTTLE_KEY_MAX], sym[64];
    mon_fmt_value(sym, sizeof(sym), has_symbol ? symbol : NULL, has_symbol ? "None" : "all");
    snprintf(key, sizeof(key), "%s:%s", type, sym);
    return mon_throttle_pass(&s->throttle, key, ttai_wf_now(wf), PM_THROTTLE_MS);
}

/* A threshold alert without a symbol: {type, severity, message, details:
 * {detail: value}, channels}. */
static void level_alert(struct ttai_wf *wf, struct pm_state *s, struct mon_alerts *out,
                        const char *type, const char *severity, const char *message,
                        const char *detail, const msgpack_object *value)
{
    if (!admit(wf, s, type, NULL, false))
        return;
    struct ttai_buf *b = &out->items;
    ttai_buf_map(b, 5);
    mon_kv_str(b, "type", type);
    mon_kv_str(b, "severity", severity);
    mon_kv_str(b, "message", message);
    ttai_buf_str(b, "details");
    ttai_buf_map(b, 1);
    mon_kv_obj(b, detail, value);
    ttai_buf_str(b, "channels");
    mon_channels_pack(&s->channels, b);
    out->count++;
}

static void check_levels(struct ttai_wf *wf, struct pm_state *s, const msgpack_object *pf,
                         struct mon_alerts *out)
{
    const struct pm_config *c = &s->config;
    char msg[160], num[48];
    double v;
    if (mon_num_get(pf, "day_pnl_percent", &v)) {
        mon_fmt_fixed(num, sizeof(num), v, 1);
        if (v <= -c->daily_loss_critical) {
            snprintf(msg, sizeof(msg), "CRITICAL: Daily P&L at %s%%", num);
            level_alert(wf, s, out, "pnl_critical", "critical", msg, "pnl_percent",
                        mon_get(pf, "day_pnl_percent"));
        } else if (v <= -c->daily_loss_warning) {
            snprintf(msg, sizeof(msg), "Warning: Daily P&L at %s%%", num);
            level_alert(wf, s, out, "pnl_warning", "warning", msg, "pnl_percent",
                        mon_get(pf, "day_pnl_percent"));
        }
    }
    if (mon_num_get(pf, "margin_utilization", &v)) {
        mon_fmt_fixed(num, sizeof(num), v, 0);
        if (v >= c->margin_critical) {
            snprintf(msg, sizeof(msg), "CRITICAL: Margin utilization at %s%%", num);
            level_alert(wf, s, out, "margin_critical", "critical", msg, "margin_utilization",
                        mon_get(pf, "margin_utilization"));
        } else if (v >= c->margin_warning) {
            snprintf(msg, sizeof(msg), "Warning: Margin utilization at %s%%", num);
            level_alert(wf, s, out, "margin_warning", "warning", msg, "margin_utilization",
                        mon_get(pf, "margin_utilization"));
        }
    }
}

/* In the money: the provider's "itm", else from the underlying's price. */
static bool in_the_money(const msgpack_object *p, bool *itm)
{
    double strike, spot;
    if (ttai_obj_bool(mon_get(p, "itm"), itm))
        return true;
    if (!mon_num_get(p, "strike", &strike) || !mon_num_get(p, "underlying_price", &spot))
        return false;
    *itm = ttai_obj_str_eq(mon_get(p, "option_type"), "put") ? spot < strike : spot > strike;
    return true;
}

/* Short options in the money within assignment_risk_dte days: what an
 * assignment could hit. Critical on the last trading day (DTE 0 or 1). */
static void check_assignment(struct ttai_wf *wf, struct pm_state *s, const msgpack_object *pf,
                             struct mon_alerts *out)
{
    const msgpack_object *positions = mon_get(pf, "positions");
    for (uint32_t i = 0; mon_is_array(positions) && i < positions->via.array.size; i++) {
        const msgpack_object *p = &positions->via.array.ptr[i];
        double dte, qty, strike, spot;
        bool itm;
        if (mon_get(p, "option_type") == NULL || !mon_num_get(p, "dte", &dte) ||
            dte > (double)s->config.assignment_risk_dte || !mon_num_get(p, "quantity", &qty) ||
            qty >= 0 || !in_the_money(p, &itm) || !itm)
            continue;
        if (!admit(wf, s, "assignment_risk", mon_get(p, "symbol"), true))
            continue;
        char sym[64], kind[16], days[32], msg[256];
        mon_fmt_value(sym, sizeof(sym), mon_get(p, "symbol"), "None");
        mon_fmt_value(kind, sizeof(kind), mon_get(p, "option_type"), "option");
        mon_fmt_value(days, sizeof(days), mon_get(p, "dte"), "?");
        if (mon_num_get(p, "strike", &strike) && mon_num_get(p, "underlying_price", &spot) &&
            strike > 0) {
            char k[48], pct[48];
            mon_fmt_fixed(k, sizeof(k), strike, 2);
            mon_fmt_fixed(pct, sizeof(pct), (spot > strike ? spot - strike : strike - spot) / strike * 100.0, 1);
            snprintf(msg, sizeof(msg), "Assignment risk: short %s %s $%s, %s DTE, %s%% in the money",
                     sym, kind, k, days, pct);
        } else {
            snprintf(msg, sizeof(msg), "Assignment risk: short %s %s, %s DTE, in the money", sym,
                     kind, days);
        }
        struct ttai_buf *b = &out->items;
        ttai_buf_map(b, 6);
        mon_kv_str(b, "type", "assignment_risk");
        mon_kv_str(b, "severity", dte <= 1 ? "critical" : "warning");
        mon_kv_obj(b, "symbol", mon_get(p, "symbol"));
        mon_kv_str(b, "message", msg);
        ttai_buf_str(b, "details");
        ttai_buf_map(b, 5);
        mon_kv_obj(b, "option_type", mon_get(p, "option_type"));
        mon_kv_obj(b, "strike", mon_get(p, "strike"));
        mon_kv_obj(b, "dte", mon_get(p, "dte"));
        mon_kv_obj(b, "quantity", mon_get(p, "quantity"));
        mon_kv_obj(b, "underlying_price", mon_get(p, "underlying_price"));
        ttai_buf_str(b, "channels");
        mon_channels_pack(&s->channels, b);
        out->count++;
    }
}

static void check_concentration(struct ttai_wf *wf, struct pm_state *s, const msgpack_object *pf,
                                struct mon_alerts *out)
{
    double total = mon_num(pf, "total_value", 0);
    const msgpack_object *positions = mon_get(pf, "positions");
    if (!(total > 0))
        return;
    for (uint32_t i = 0; mon_is_array(positions) && i < positions->via.array.size; i++) {
        const msgpack_object *p = &positions->via.array.ptr[i];
        double pct = mon_num(p, "market_value", 0) / total * 100.0;
        if (!(pct > s->config.max_position_percent))
            continue;
        /* The seed's alert always has a "symbol" key, so the key is never "all". */
        if (!admit(wf, s, "concentration_warning", mon_get(p, "symbol"), true))
            continue;
        char sym[64], num[48], msg[200];
        mon_fmt_value(sym, sizeof(sym), mon_get(p, "symbol"), "None");
        mon_fmt_fixed(num, sizeof(num), pct, 1);
        snprintf(msg, sizeof(msg), "Concentration warning: %s is %s%% of portfolio", sym, num);
        struct ttai_buf *b = &out->items;
        ttai_buf_map(b, 6);
        mon_kv_str(b, "type", "concentration_warning");
        mon_kv_str(b, "severity", "warning");
        mon_kv_obj(b, "symbol", mon_get(p, "symbol"));
        mon_kv_str(b, "message", msg);
        ttai_buf_str(b, "details");
        ttai_buf_map(b, 1);
        mon_kv_num(b, "position_percent", pct);
        ttai_buf_str(b, "channels");
        mon_channels_pack(&s->channels, b);
        out->count++;
    }
}

static void check_portfolio(struct ttai_wf *wf, struct pm_state *s)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_str(&b, s->account_id);
    struct ttai_payload input = mon_keep(wf, &b);
    struct ttai_result res;
    if (ttai_wf_activity(wf, MON_ACT_FETCH_PORTFOLIO, input, &mon_opts_portfolio, &res) != 0)
        return;
    struct mon_doc doc;
    mon_doc_open(&doc, res.value);
    struct mon_alerts alerts;
    mon_alerts_init(&alerts);
    check_levels(wf, s, &doc.root, &alerts);
    if (s->config.check_assignment_risk)
        check_assignment(wf, s, &doc.root, &alerts);
    check_concentration(wf, s, &doc.root, &alerts);
    mon_doc_close(&doc);
    (void)mon_route(wf, "portfolio", &alerts);
}

/* ---- The loop ------------------------------------------------------------------------- */

static void load_input(struct pm_state *s, struct ttai_payload input)
{
    struct mon_doc doc;
    mon_doc_open(&doc, input);
    const msgpack_object *in = &doc.root;
    if (!mon_str(mon_get(in, "account_id"), s->account_id, sizeof(s->account_id)))
        snprintf(s->account_id, sizeof(s->account_id), "default");
    read_config(&s->config, mon_get(in, "config"));
    s->interval_min = mon_num(in, "check_interval_minutes", PM_INTERVAL_MIN_DEFAULT);
    if (!(s->interval_min > 0))
        s->interval_min = PM_INTERVAL_MIN_DEFAULT;
    if (!mon_channels_read(&s->channels, mon_get(in, "notify_channels")))
        mon_channels_set1(&s->channels, "discord");
    mon_throttle_read(&s->throttle, mon_get(in, "last_alert_times"));
    mon_doc_close(&doc);
}

static struct ttai_payload next_input(struct ttai_wf *wf, const struct pm_state *s)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_map(&b, 5);
    mon_kv_str(&b, "account_id", s->account_id);
    ttai_buf_str(&b, "config");
    pack_config(&s->config, &b);
    ttai_buf_str(&b, "check_interval_minutes");
    if (s->interval_min == (double)(int64_t)s->interval_min)
        ttai_buf_int(&b, (int64_t)s->interval_min);
    else
        ttai_buf_double(&b, s->interval_min);
    ttai_buf_str(&b, "notify_channels");
    mon_channels_pack(&s->channels, &b);
    ttai_buf_str(&b, "last_alert_times");
    mon_throttle_pack(&s->throttle, &b);
    return mon_keep(wf, &b);
}

static void portfolio_monitor_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct pm_state *s = state;
    load_input(s, input);
    mon_early_start(wf, &s->early, s);
    int64_t interval_ms = (int64_t)(s->interval_min * MON_MINUTE_MS);
    for (int iterations = 0; !s->shutdown;) {
        check_portfolio(wf, s);
        mon_wait(wf, &s->shutdown, interval_ms);
        iterations++;
        if (!s->shutdown &&
            (iterations >= PM_ITERATIONS_MAX || ttai_wf_continue_as_new_suggested(wf)))
            ttai_wf_continue_as_new(wf, next_input(wf, s));
    }
}

static const struct ttai_signal_def pm_signals[] = {
    {"update_config", on_update_config},
    {"shutdown", on_shutdown},
    {NULL, NULL},
};

static const struct ttai_query_def pm_queries[] = {
    {"get_status", get_status},
    {NULL, NULL},
};

const struct ttai_workflow_def wf_portfolio_monitor = {
    .type = "PortfolioMonitor",
    .run = portfolio_monitor_run,
    .state_size = sizeof(struct pm_state),
    .signals = pm_signals,
    .queries = pm_queries,
};
