/* daily_report.c: the DailyReport workflow (seed 001's DailyReportWorkflow),
 * started by the daily-report schedule (16:30 New York, Monday to Friday).
 *
 * It fetches the account's portfolio and the day's analyses, writes the
 * seed's markdown report and routes it as one "report" alert. The report's
 * date is the UTC date of the workflow's time (the seed's date.today()
 * reads the worker's clock, which a replay would not reproduce); at 16:30
 * in New York both are the same day.
 *
 * Input: {"account_id": "default", "notify_channels": ["email"]}
 * Result: {"report_date": "2026-01-05", "sent": true, "report": "# Daily..."}
 */
#include "workflows.h"

#include <stdio.h>
#include <string.h>

#include "monitor.h"

/* The seed's _generate_daily_report, into out. */
static void generate(const msgpack_object *pf, const msgpack_object *analyses, const char *date,
                     char *out, size_t size)
{
    char total[64], pnl[64], pct[48], count[48], power[64];
    mon_fmt_money(total, sizeof(total), mon_num(pf, "total_value", 0));
    mon_fmt_money(pnl, sizeof(pnl), mon_num(pf, "day_pnl", 0));
    mon_fmt_fixed(pct, sizeof(pct), mon_num(pf, "day_pnl_percent", 0), 2);
    mon_fmt_value(count, sizeof(count), mon_get(pf, "position_count"), "0");
    mon_fmt_money(power, sizeof(power), mon_num(pf, "buying_power", 0));
    out[0] = '\0';
    mon_textf(out, size,
              "# Daily Portfolio Report - %s\n\n## Portfolio Summary\n"
              "- **Total Value:** $%s\n- **Day P&L:** $%s (%s%%)\n- **Open Positions:** %s\n"
              "- **Buying Power:** $%s\n\n## Today's Activity\n",
              date, total, pnl, pct, count, power);
    uint32_t n = mon_is_array(analyses) ? analyses->via.array.size : 0;
    if (n > 0) {
        mon_textf(out, size, "- Analyzed %u symbols", n);
        uint32_t selected = 0;
        for (uint32_t i = 0; i < n; i++)
            selected += ttai_obj_str_eq(mon_get(&analyses->via.array.ptr[i], "recommendation"),
                                        "select");
        if (selected > 0)
            mon_textf(out, size, "\n- %u opportunities identified", selected);
    } else {
        mon_textf(out, size, "- No analyses run today");
    }
    mon_textf(out, size, "\n\n## Positions Requiring Attention");
    const msgpack_object *positions = mon_get(pf, "positions");
    bool any = false;
    for (uint32_t i = 0; mon_is_array(positions) && i < positions->via.array.size; i++) {
        const msgpack_object *p = &positions->via.array.ptr[i];
        if (!mon_needs_attention(p))
            continue;
        char symbol[64], notes[256];
        mon_fmt_value(symbol, sizeof(symbol), mon_get(p, "symbol"), "None");
        /* p.get('notes', 'Review needed'): a present null prints as None. */
        const msgpack_object *n_obj = mon_is_map(p) ? ttai_obj_get(p, "notes") : NULL;
        mon_fmt_value(notes, sizeof(notes), n_obj, "Review needed");
        mon_textf(out, size, "\n- **%s**: %s", symbol, notes);
        any = true;
    }
    if (!any)
        mon_textf(out, size, "\n- None");
}

static void daily_report_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
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

    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_str(&b, account);
    struct ttai_result portfolio, analyses;
    if (ttai_wf_activity(wf, MON_ACT_FETCH_PORTFOLIO, mon_keep(wf, &b), &mon_opts_portfolio,
                         &portfolio) != 0)
        ttai_wf_fail(wf, portfolio.error_type, portfolio.error_message);
    char date[16];
    mon_date(ttai_wf_now(wf), date, sizeof(date));
    ttai_buf_init(&b);
    ttai_buf_map(&b, 1);
    mon_kv_str(&b, "date", date);
    if (ttai_wf_activity(wf, MON_ACT_FETCH_ANALYSIS_HISTORY, mon_keep(wf, &b), &mon_opts_analysis,
                         &analyses) != 0)
        ttai_wf_fail(wf, analyses.error_type, analyses.error_message);

    /* Sized for the summary and a line per position (notes are short). */
    struct mon_doc pf, an;
    mon_doc_open(&pf, portfolio.value);
    mon_doc_open(&an, analyses.value);
    const msgpack_object *positions = mon_get(&pf.root, "positions");
    size_t size = 2048 + (mon_is_array(positions) ? positions->via.array.size : 0) * 400;
    char *report = ttai_wf_alloc(wf, size);
    generate(&pf.root, &an.root, date, report, size);
    mon_doc_close(&an);
    mon_doc_close(&pf);

    char title[64];
    snprintf(title, sizeof(title), "Daily Report - %s", date);
    if (mon_route_report(wf, "daily_report", title, report, &channels) != 0)
        ttai_wf_fail(wf, "RouteFailed", "route_alerts failed for the daily report");

    ttai_buf_init(&b);
    ttai_buf_map(&b, 3);
    mon_kv_str(&b, "report_date", date);
    mon_kv_bool(&b, "sent", true);
    mon_kv_str(&b, "report", report);
    ttai_wf_complete(wf, mon_keep(wf, &b));
}

const struct ttai_workflow_def wf_daily_report = {
    .type = "DailyReport",
    .run = daily_report_run,
};
