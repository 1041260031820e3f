/* weekly_report.c: the WeeklyReport workflow, started by the weekly-summary
 * schedule (Friday 17:00 New York). Seed 001 leaves it a stub ("similar to
 * daily but with weekly aggregations"); this is the aggregation.
 *
 * Snapshots. It fetches the account's portfolio as of the run's time (T),
 * as of T - 7 days (the baseline: the previous week's equivalent moment),
 * and as of T - k days for k = 1..6 when that moment falls on a weekday
 * (UTC), all at once, with fetch_portfolio {"account_id", "as_of"}. A
 * historical snapshot counts only if the provider answers with an "as_of"
 * within a minute of the time asked (or gives none): a provider without
 * history answers with the current portfolio, which must not pass for last
 * week's. The current snapshot always counts.
 *
 * Aggregates (the result, and the markdown report routed as one "report"
 * alert):
 *   days                     one entry per weekday snapshot, oldest first:
 *                            date, total_value, day_pnl, day_pnl_percent,
 *                            margin_utilization
 *   start_value, end_value   total value at the baseline and now
 *   week_pnl, week_pnl_percent   end - start, and as a percent of start
 *                            (null without a baseline)
 *   sum_day_pnl              the sum of the days' day_pnl
 *   max_margin_utilization   the highest over the days
 *   best_position, worst_position   {id, symbol, pnl_change}: the change of
 *                            unrealized_pnl since the baseline (a position
 *                            opened in the week counts from zero); null
 *                            without a baseline
 *   attention                positions requiring attention now (as in the
 *                            daily report): [{symbol, notes}]
 *
 * Input: {"account_id": "default", "notify_channels": ["email"]}
 */
#include "workflows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"

#define WEEK_SNAPSHOTS 8            /* now, six earlier days, the baseline */
#define WEEK_AS_OF_SLACK_MS 60000

struct snapshot {
    int64_t at_ms;
    bool valid;
    struct mon_doc doc;
};

struct mover {
    const msgpack_object *position;
    double change;
};

/* A position's identity across snapshots: its id, else symbol and type. */
static void position_key(const msgpack_object *p, char *key, size_t size)
{
    if (mon_str(mon_get(p, "id"), key, size))
        return;
    char sym[64], type[32];
    mon_fmt_value(sym, sizeof(sym), mon_get(p, "symbol"), "None");
    mon_fmt_value(type, sizeof(type), mon_get(p, "position_type"), "");
    snprintf(key, size, "%s/%s", sym, type);
}

static double baseline_pnl(const msgpack_object *baseline, const char *key)
{
    const msgpack_object *positions = mon_get(baseline, "positions");
    for (uint32_t i = 0; mon_is_array(positions) && i < positions->via.array.size; i++) {
        char k[MON_ID_MAX + 64];
        position_key(&positions->via.array.ptr[i], k, sizeof(k));
        if (strcmp(k, key) == 0)
            return mon_num(&positions->via.array.ptr[i], "unrealized_pnl", 0);
    }
    return 0;
}

/* Best and worst change of unrealized P&L since the baseline. */
static void movers(const msgpack_object *now, const msgpack_object *baseline, struct mover *best,
                   struct mover *worst)
{
    const msgpack_object *positions = mon_get(now, "positions");
    best->position = worst->position = NULL;
    for (uint32_t i = 0; mon_is_array(positions) && i < positions->via.array.size; i++) {
        const msgpack_object *p = &positions->via.array.ptr[i];
        char key[MON_ID_MAX + 64];
        position_key(p, key, sizeof(key));
        double change = mon_num(p, "unrealized_pnl", 0) - baseline_pnl(baseline, key);
        if (best->position == NULL || change > best->change)
            *best = (struct mover){p, change};
        if (worst->position == NULL || change < worst->change)
            *worst = (struct mover){p, change};
    }
}

static void pack_mover(struct ttai_buf *b, const char *key, const struct mover *m, bool known)
{
    ttai_buf_str(b, key);
    if (!known || m->position == NULL) {
        ttai_buf_nil(b);
        return;
    }
    ttai_buf_map(b, 3);
    mon_kv_obj(b, "id", mon_get(m->position, "id"));
    mon_kv_obj(b, "symbol", mon_get(m->position, "symbol"));
    mon_kv_num(b, "pnl_change", m->change);
}

static void mover_line(char *out, size_t size, const char *label, const struct mover *m)
{
    char sym[64], money[64];
    mon_fmt_value(sym, sizeof(sym), mon_get(m->position, "symbol"), "None");
    mon_fmt_money(money, sizeof(money), m->change);
    mon_textf(out, size, "\n- %s: **%s** ($%s)", label, sym, money);
}

/* The report and the result from the snapshots (snaps[0] is now,
 * snaps[WEEK_SNAPSHOTS - 1] the baseline). */
static void aggregate(struct ttai_wf *wf, struct snapshot *snaps, const char *account,
                      char *report, size_t size, struct ttai_buf *res)
{
    const msgpack_object *now = &snaps[0].doc.root;
    const struct snapshot *base = &snaps[WEEK_SNAPSHOTS - 1];
    bool history = base->valid;
    double end = mon_num(now, "total_value", 0), start = mon_num(&base->doc.root, "total_value", 0);
    double sum_day_pnl = 0, max_margin = 0;
    uint32_t days = 0;
    for (int k = WEEK_SNAPSHOTS - 2; k >= 0; k--) {
        if (!snaps[k].valid || snaps[k].at_ms == 0)
            continue;
        days++;
        sum_day_pnl += mon_num(&snaps[k].doc.root, "day_pnl", 0);
        double margin = mon_num(&snaps[k].doc.root, "margin_utilization", 0);
        if (margin > max_margin)
            max_margin = margin;
    }
    struct mover best, worst;
    movers(now, &base->doc.root, &best, &worst);
    char week_end[16], base_date[16], run_time[40];
    mon_date(snaps[0].at_ms, week_end, sizeof(week_end));
    mon_date(base->at_ms, base_date, sizeof(base_date));
    ttai_time_format(ttai_wf_now(wf), run_time, sizeof(run_time));

    char a[64], c[64], pct[48];
    report[0] = '\0';
    mon_textf(report, size, "# Weekly Portfolio Report - week ending %s\n\n## Summary", week_end);
    mon_fmt_money(c, sizeof(c), end);
    if (history) {
        mon_fmt_money(a, sizeof(a), start);
        mon_textf(report, size, "\n- **Start Value:** $%s\n- **End Value:** $%s", a, c);
        mon_fmt_money(a, sizeof(a), end - start);
        mon_fmt_fixed(pct, sizeof(pct), start > 0 ? (end - start) * 100 / start : 0, 2);
        mon_textf(report, size, "\n- **Week P&L:** $%s (%s%%)", a, pct);
    } else {
        mon_textf(report, size, "\n- **Start Value:** n/a\n- **End Value:** $%s", c);
        mon_textf(report, size, "\n- **Week P&L:** n/a (no snapshot of %s)", base_date);
    }
    mon_fmt_money(a, sizeof(a), sum_day_pnl);
    mon_fmt_fixed(pct, sizeof(pct), max_margin, 1);
    mon_textf(report, size, "\n- **Sum of Daily P&L:** $%s\n- **Peak Margin Utilization:** %s%%",
              a, pct);
    mon_textf(report, size, "\n\n## Daily");
    for (int k = WEEK_SNAPSHOTS - 2; k >= 0; k--) {
        const msgpack_object *d = &snaps[k].doc.root;
        if (!snaps[k].valid || snaps[k].at_ms == 0)
            continue;
        char date[16];
        mon_date(snaps[k].at_ms, date, sizeof(date));
        mon_fmt_money(a, sizeof(a), mon_num(d, "total_value", 0));
        mon_fmt_money(c, sizeof(c), mon_num(d, "day_pnl", 0));
        mon_fmt_fixed(pct, sizeof(pct), mon_num(d, "day_pnl_percent", 0), 2);
        mon_textf(report, size, "\n- %s: $%s (day P&L $%s, %s%%)", date, a, c, pct);
    }
    mon_textf(report, size, "\n\n## Best and Worst Positions");
    if (history && best.position != NULL) {
        mover_line(report, size, "Best", &best);
        mover_line(report, size, "Worst", &worst);
    } else {
        mon_textf(report, size, "\n- n/a");
    }
    mon_textf(report, size, "\n\n## Positions Requiring Attention");
    const msgpack_object *positions = mon_get(now, "positions");
    uint32_t attention = 0;
    for (uint32_t i = 0; mon_is_array(positions) && i < positions->via.array.size; i++)
        attention += mon_needs_attention(&positions->via.array.ptr[i]);
    for (uint32_t i = 0; mon_is_array(positions) && i < positions->via.array.size; i++) {
        const msgpack_object *p = &positions->via.array.ptr[i];
        char sym[64], notes[256];
        if (!mon_needs_attention(p))
            continue;
        mon_fmt_value(sym, sizeof(sym), mon_get(p, "symbol"), "None");
        mon_fmt_value(notes, sizeof(notes), mon_is_map(p) ? ttai_obj_get(p, "notes") : NULL,
                      "Review needed");
        mon_textf(report, size, "\n- **%s**: %s", sym, notes);
    }
    if (attention == 0)
        mon_textf(report, size, "\n- None");

    ttai_buf_map(res, 16);
    mon_kv_str(res, "account_id", account);
    mon_kv_str(res, "week_ending", week_end);
    mon_kv_str(res, "run_time", run_time);
    mon_kv_bool(res, "history", history);
    ttai_buf_str(res, "days");
    ttai_buf_array(res, days);
    for (int k = WEEK_SNAPSHOTS - 2; k >= 0; k--) {
        const msgpack_object *d = &snaps[k].doc.root;
        if (!snaps[k].valid || snaps[k].at_ms == 0)
            continue;
        char date[16];
        mon_date(snaps[k].at_ms, date, sizeof(date));
        ttai_buf_map(res, 5);
        mon_kv_str(res, "date", date);
        mon_kv_obj(res, "total_value", mon_get(d, "total_value"));
        mon_kv_obj(res, "day_pnl", mon_get(d, "day_pnl"));
        mon_kv_obj(res, "day_pnl_percent", mon_get(d, "day_pnl_percent"));
        mon_kv_obj(res, "margin_utilization", mon_get(d, "margin_utilization"));
    }
    ttai_buf_str(res, "start_value");
    history ? ttai_buf_double(res, start) : ttai_buf_nil(res);
    mon_kv_num(res, "end_value", end);
    ttai_buf_str(res, "week_pnl");
    history ? ttai_buf_double(res, end - start) : ttai_buf_nil(res);
    ttai_buf_str(res, "week_pnl_percent");
    history && start > 0 ? ttai_buf_double(res, (end - start) * 100 / start) : ttai_buf_nil(res);
    mon_kv_num(res, "sum_day_pnl", sum_day_pnl);
    mon_kv_num(res, "max_margin_utilization", max_margin);
    pack_mover(res, "best_position", &best, history);
    pack_mover(res, "worst_position", &worst, history);
    ttai_buf_str(res, "attention");
    ttai_buf_array(res, attention);
    for (uint32_t i = 0; mon_is_array(positions) && i < positions->via.array.size; i++) {
        const msgpack_object *p = &positions->via.array.ptr[i];
        if (!mon_needs_attention(p))
            continue;
        ttai_buf_map(res, 2);
        mon_kv_obj(res, "symbol", mon_get(p, "symbol"));
        mon_kv_obj(res, "notes", mon_get(p, "notes"));
    }
    mon_kv_bool(res, "sent", true);
    mon_kv_str(res, "report", report);
}

static void weekly_report_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    char account[MON_ID_MAX] = "default";
    struct mon_channels channels;
    mon_channels_set1(&channels, "email");
    struct mon_doc doc;
    mon_doc_open(&doc, input);
    (void)mon_str(mon_get(&doc.root, "account_id"), account, sizeof(account));
    const msgpack_object *channel_list = mon_get(&doc.root, "notify_channels");
    bool ok = channel_list == NULL || mon_channels_read(&channels, channel_list);
    mon_doc_close(&doc);
    if (!ok)
        ttai_wf_fail(wf, "BadInput", "notify_channels must be an array of channel names");

    /* snaps[k] is T - k days; weekend days stay unasked (at_ms 0). */
    struct snapshot *snaps = ttai_wf_alloc(wf, WEEK_SNAPSHOTS * sizeof(*snaps));
    struct ttai_future *futures[WEEK_SNAPSHOTS];
    size_t asked = 0;
    int64_t t = ttai_wf_now(wf);
    for (int k = 0; k < WEEK_SNAPSHOTS; k++) {
        int64_t at = t - (int64_t)(k == WEEK_SNAPSHOTS - 1 ? 7 : k) * MON_DAY_MS;
        int wd = mon_weekday(at);
        memset(&snaps[k], 0, sizeof(snaps[k]));
        if (k > 0 && k < WEEK_SNAPSHOTS - 1 && (wd == 0 || wd == 6))
            continue;
        snaps[k].at_ms = at;
        char as_of[40];
        struct ttai_buf b;
        ttai_buf_init(&b);
        ttai_buf_map(&b, 2);
        mon_kv_str(&b, "account_id", account);
        mon_kv_str(&b, "as_of", ttai_time_format(at, as_of, sizeof(as_of)));
        futures[asked++] = ttai_wf_activity_start(wf, MON_ACT_FETCH_PORTFOLIO, mon_keep(wf, &b),
                                                  &mon_opts_portfolio);
    }
    ttai_wf_wait_all(wf, futures, asked);
    const struct ttai_result *current = ttai_future_result(futures[0]);
    if (current->rc != 0)
        ttai_wf_fail(wf, current->error_type, current->error_message);

    size_t f = 0;
    size_t positions = 0;
    for (int k = 0; k < WEEK_SNAPSHOTS; k++) {
        if (snaps[k].at_ms == 0) {
            snaps[k].doc.root.type = MSGPACK_OBJECT_NIL;
            ttai_reader_init(&snaps[k].doc.reader);
            continue;
        }
        const struct ttai_result *r = ttai_future_result(futures[f++]);
        mon_doc_open(&snaps[k].doc, r->rc == 0 ? r->value : (struct ttai_payload){0});
        const char *as_of;
        size_t len;
        int64_t answered;
        bool stamped = ttai_obj_str(mon_get(&snaps[k].doc.root, "as_of"), &as_of, &len);
        snaps[k].valid = r->rc == 0 && mon_is_map(&snaps[k].doc.root) &&
                         (k == 0 || !stamped ||
                          (mon_time_parse(as_of, len, &answered) &&
                           llabs(answered - snaps[k].at_ms) <= WEEK_AS_OF_SLACK_MS));
        const msgpack_object *list = mon_get(&snaps[k].doc.root, "positions");
        positions += mon_is_array(list) ? list->via.array.size : 0;
    }
    size_t size = 4096 + positions * 200;
    char *report = ttai_wf_alloc(wf, size);
    struct ttai_buf result;
    ttai_buf_init(&result);
    aggregate(wf, snaps, account, report, size, &result);
    for (int k = 0; k < WEEK_SNAPSHOTS; k++)
        mon_doc_close(&snaps[k].doc);
    struct ttai_payload summary = mon_keep(wf, &result);

    char title[80], week_end[16];
    mon_date(t, week_end, sizeof(week_end));
    snprintf(title, sizeof(title), "Weekly Report - week ending %s", week_end);
    if (mon_route_report(wf, "weekly_report", title, report, &channels) != 0)
        ttai_wf_fail(wf, "RouteFailed", "route_alerts failed for the weekly report");
    ttai_wf_complete(wf, summary);
}

const struct ttai_workflow_def wf_weekly_report = {
    .type = "WeeklyReport",
    .run = weekly_report_run,
};
