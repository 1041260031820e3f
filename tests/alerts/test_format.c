/* test_format.c: the alert's own forms (msgpack, JSON, checks) and the
 * channel payloads, compared with JSON written from the seed's
 * _format_discord_embed and _format_slack_blocks. */
#include "alerts_test.h"

#define T0 1763900000000LL /* 2025-11-23T12:13:20.000Z */

/* The seed's three portfolio/price alerts, one per severity. */
static struct alert sample(const char *severity)
{
    struct alert a;
    alert_init(&a);
    a.timestamp_ms = T0;
    a.severity = severity;
    if (strcmp(severity, "critical") == 0) {
        a.type = "pnl_critical";
        a.category = "portfolio";
        a.message = "CRITICAL: Daily P&L at -5.2%";
    } else if (strcmp(severity, "warning") == 0) {
        a.type = "concentration_warning";
        a.category = "portfolio";
        a.symbol = "NVDA";
        a.message = "Concentration warning: NVDA is 32.5% of portfolio";
    } else {
        a.type = "price";
        a.symbol = "AAPL";
        a.message = "AAPL above $150.00 (current: $151.20)";
    }
    return a;
}

static void check_json(json_t *got, const char *want_text)
{
    json_t *want = test_json(want_text);
    ASSERT_JSON_EQ(got, want);
    json_decref(want);
    json_decref(got);
}

/* ---- The alert's own forms ----------------------------------------------------------- */

static struct ttai_buf packed(const struct alert *a)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    alert_pack(a, &b);
    return b;
}

static void same_bytes(const struct ttai_buf *x, const struct ttai_buf *y)
{
    struct ttai_payload a = ttai_buf_payload(x), b = ttai_buf_payload(y);
    ASSERT_EQ(a.len, b.len);
    ASSERT(memcmp(a.data, b.data, a.len) == 0);
}

void test_alert_pack_json_round_trip(void)
{
    struct ttai_err err;
    struct ttai_buf data;
    ttai_buf_init(&data);
    const char *data_json = "{\"condition\":\"above\",\"target_price\":150.0,"
                            "\"current_price\":151.25,\"alert_id\":\"pa-1\"}";
    ASSERT_OK(ttai_payload_from_json(data_json, strlen(data_json), &data, &err), &err);
    struct alert a = sample("info");
    a.id = "pa-1";
    a.title = "AAPL crossed $150";
    a.data = ttai_buf_payload(&data);
    a.channels[0] = "discord";
    a.channels[1] = "email";
    a.channel_count = 2;
    ASSERT_OK(alert_check(&a, &err), &err);
    struct ttai_buf p1 = packed(&a);
    char *text = test_payload_json(ttai_buf_payload(&p1));
    /* Set fields only, in the canonical order. */
    ASSERT_STR_EQ(text, "{\"id\":\"pa-1\",\"type\":\"price\",\"severity\":\"info\",\"symbol\":"
                        "\"AAPL\",\"title\":\"AAPL crossed $150\",\"message\":\"AAPL above "
                        "$150.00 (current: $151.20)\",\"timestamp_ms\":1763900000000,\"data\":"
                        "{\"condition\":\"above\",\"target_price\":150.0,\"current_price\":151.25,"
                        "\"alert_id\":\"pa-1\"},\"channels\":[\"discord\",\"email\"]}");
    ttai_free(text);
    /* msgpack -> alert -> msgpack. */
    struct alert b;
    ASSERT_OK(alert_from_payload(ttai_buf_payload(&p1), &b, &err), &err);
    ASSERT(b.storage != NULL);
    ASSERT_STR_EQ(b.symbol, "AAPL");
    ASSERT_EQ(b.channel_count, 2);
    ASSERT(b.category == NULL);
    struct ttai_buf p2 = packed(&b);
    same_bytes(&p1, &p2);
    /* JSON (with the derived "timestamp") -> alert -> msgpack. */
    json_t *j = alert_to_json(&b);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "timestamp")), "2025-11-23T12:13:20.000Z");
    struct alert c;
    ASSERT_OK(alert_from_json(j, &c, &err), &err);
    json_decref(j);
    struct ttai_buf p3 = packed(&c);
    same_bytes(&p1, &p3);
    /* A copy outlives its source. */
    struct alert d;
    ASSERT_OK(alert_copy(&d, &c, &err), &err);
    alert_release(&c);
    struct ttai_buf p4 = packed(&d);
    same_bytes(&p1, &p4);
    /* Unknown keys are ignored, nil and "" are unset. */
    json_t *extra = test_json("{\"type\":\"news\",\"symbol\":\"\",\"title\":null,\"article_id\":"
                              "\"x1\",\"timestamp_ms\":5}");
    struct alert e;
    ASSERT_OK(alert_from_json(extra, &e, &err), &err);
    ASSERT(e.symbol == NULL && e.title == NULL && e.message == NULL);
    ASSERT_STR_EQ(alert_severity(&e), "info");
    ASSERT_STR_EQ(alert_category(&e), "news");
    ASSERT_STR_EQ(alert_symbol_or_na(&e), "N/A");
    json_decref(extra);
    alert_release(&b);
    alert_release(&d);
    alert_release(&e);
    ttai_buf_release(&p1);
    ttai_buf_release(&p2);
    ttai_buf_release(&p3);
    ttai_buf_release(&p4);
    ttai_buf_release(&data);
}

void test_alert_checks(void)
{
    struct ttai_err err;
    char big[ALERT_MESSAGE_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct alert a = sample("info");
    a.message = big;
    ASSERT_EQ(alert_check(&a, &err), TTAI_ETOOBIG);
    ASSERT_CONTAINS(err.msg, "alert message of 3001 bytes exceeds 3000");
    big[ALERT_MESSAGE_MAX] = '\0';
    ASSERT_OK(alert_check(&a, &err), &err);
    a = sample("info");
    a.message = "bad \xc3\x28 utf-8";
    ASSERT_EQ(alert_check(&a, &err), TTAI_EINVAL);
    ASSERT_CONTAINS(err.msg, "alert message is not UTF-8 text");
    ASSERT(alert_discord_body(&a) == NULL);
    ASSERT(alert_slack_body(&a) == NULL);
    ASSERT(alert_to_json(&a) == NULL);
    ASSERT(alert_console_line(&a) == NULL);
    a = sample("info");
    a.channel_count = 1;
    a.channels[0] = "";
    ASSERT_EQ(alert_check(&a, &err), TTAI_EINVAL);
    a.channel_count = ALERT_CHANNELS_MAX + 1;
    ASSERT_EQ(alert_check(&a, &err), TTAI_EINVAL);
    a = sample("info");
    uint8_t not_map[] = {0x93, 1, 2, 3}; /* [1,2,3] */
    a.data = (struct ttai_payload){not_map, sizeof(not_map)};
    ASSERT_EQ(alert_check(&a, &err), TTAI_EINVAL);
    ASSERT_CONTAINS(err.msg, "one msgpack map");
    /* Wrong types and embedded NULs in a map. */
    static const char *const bad[] = {"{\"type\":5}", "{\"timestamp_ms\":\"now\"}",
                                      "{\"channels\":\"discord\"}", "{\"data\":[1]}",
                                      "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = test_json(bad[i]);
        struct alert out;
        ASSERT_EQ(alert_from_json(j, &out, &err), TTAI_EINVAL);
        alert_release(&out);
        json_decref(j);
    }
    struct ttai_buf nul;
    ttai_buf_init(&nul);
    ttai_buf_map(&nul, 1);
    ttai_buf_str(&nul, "message");
    ttai_buf_strn(&nul, "a\0b", 3);
    struct alert out;
    ASSERT_EQ(alert_from_payload(ttai_buf_payload(&nul), &out, &err), TTAI_EINVAL);
    ASSERT_CONTAINS(err.msg, "NUL");
    alert_release(&out);
    ttai_buf_release(&nul);
}

/* ---- Discord --------------------------------------------------------------------------- */

void test_format_discord_exact(void)
{
    struct alert a = sample("critical");
    check_json(alert_discord_body(&a),
               "{\"embeds\": [{\"title\": \"Pnl Critical\", \"description\": \"CRITICAL: Daily P&L "
               "at -5.2%\", \"color\": 16711680, \"fields\": [{\"name\": \"Symbol\", \"value\": "
               "\"N/A\", \"inline\": true}, {\"name\": \"Severity\", \"value\": \"Critical\", "
               "\"inline\": true}], \"timestamp\": \"2025-11-23T12:13:20.000Z\"}]}");
    a = sample("warning");
    check_json(alert_discord_body(&a),
               "{\"embeds\": [{\"title\": \"Concentration Warning\", \"description\": "
               "\"Concentration warning: NVDA is 32.5% of portfolio\", \"color\": 16753920, "
               "\"fields\": [{\"name\": \"Symbol\", \"value\": \"NVDA\", \"inline\": true}, "
               "{\"name\": \"Severity\", \"value\": \"Warning\", \"inline\": true}], "
               "\"timestamp\": \"2025-11-23T12:13:20.000Z\"}]}");
    a = sample("info");
    check_json(alert_discord_body(&a),
               "{\"embeds\": [{\"title\": \"Price\", \"description\": \"AAPL above $150.00 "
               "(current: $151.20)\", \"color\": 65280, \"fields\": [{\"name\": \"Symbol\", "
               "\"value\": \"AAPL\", \"inline\": true}, {\"name\": \"Severity\", \"value\": "
               "\"Info\", \"inline\": true}], \"timestamp\": \"2025-11-23T12:13:20.000Z\"}]}");
    /* The seed's key order, as Python's dict keeps it. */
    json_t *embed = alert_discord_embed(&a);
    char *text = json_dumps(embed, JSON_COMPACT);
    ASSERT_STR_EQ(text, "{\"title\":\"Price\",\"description\":\"AAPL above $150.00 (current: "
                        "$151.20)\",\"color\":65280,\"fields\":[{\"name\":\"Symbol\",\"value\":"
                        "\"AAPL\",\"inline\":true},{\"name\":\"Severity\",\"value\":\"Info\","
                        "\"inline\":true}],\"timestamp\":\"2025-11-23T12:13:20.000Z\"}");
    free(text);
    json_decref(embed);
    /* Any other severity is grey; no severity is info; no type is "Alert". */
    a = sample("info");
    a.severity = "notice";
    embed = alert_discord_embed(&a);
    ASSERT_EQ(json_integer_value(json_object_get(embed, "color")), 0x808080);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(embed,
                  "fields"), 1), "value")), "Notice");
    json_decref(embed);
    a.severity = NULL;
    a.type = NULL;
    embed = alert_discord_embed(&a);
    ASSERT_EQ(json_integer_value(json_object_get(embed, "color")), 0x00FF00);
    ASSERT_STR_EQ(json_string_value(json_object_get(embed, "title")), "Alert");
    json_decref(embed);
    /* A title replaces the heading derived from the type. */
    a = sample("warning");
    a.title = "NVDA: 32.5% of the book";
    embed = alert_discord_embed(&a);
    ASSERT_STR_EQ(json_string_value(json_object_get(embed, "title")), "NVDA: 32.5% of the book");
    json_decref(embed);
}

/* ---- Slack ------------------------------------------------------------------------------- */

static void check_slack(const struct alert *a, const char *header, const char *section,
                        const char *context)
{
    char want[2048];
    snprintf(want, sizeof(want),
             "{\"blocks\": [{\"type\": \"header\", \"text\": {\"type\": \"plain_text\", \"text\": "
             "\"%s\"}}, {\"type\": \"section\", \"text\": {\"type\": \"mrkdwn\", \"text\": \"%s\"}}, "
             "{\"type\": \"context\", \"elements\": [{\"type\": \"mrkdwn\", \"text\": \"%s\"}]}]}",
             header, section, context);
    check_json(alert_slack_body(a), want);
}

void test_format_slack_exact(void)
{
    struct alert a = sample("critical");
    check_slack(&a, ":rotating_light: pnl_critical", "CRITICAL: Daily P&L at -5.2%",
                "*Symbol:* N/A | *Severity:* critical");
    a = sample("warning");
    check_slack(&a, ":warning: concentration_warning",
                "Concentration warning: NVDA is 32.5% of portfolio",
                "*Symbol:* NVDA | *Severity:* warning");
    a = sample("info");
    check_slack(&a, ":information_source: price", "AAPL above $150.00 (current: $151.20)",
                "*Symbol:* AAPL | *Severity:* info");
    /* The seed's f"{emoji_map.get(severity, '')} {type}": a lone space. */
    a.severity = "notice";
    check_slack(&a, " price", "AAPL above $150.00 (current: $151.20)",
                "*Symbol:* AAPL | *Severity:* notice");
    a.severity = NULL;
    a.type = NULL;
    a.message = NULL;
    check_slack(&a, ":information_source: Alert", "", "*Symbol:* AAPL | *Severity:* info");
}

void test_format_title_case(void)
{
    /* Python's "x".replace("_", " ").title() for each. */
    static const char *const cases[][2] = {
        {"pnl_critical", "Pnl Critical"},   {"3m_alert", "3M Alert"},
        {"o'neil_x", "O'Neil X"},           {"na\xc3\xafve_type", "Na\xc3\xafve Type"},
        {"CONCENTRATION_warning", "Concentration Warning"},
        {"a1b_c2d", "A1B C2D"},             {"x__y", "X  Y"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct alert a = sample("info");
        a.type = cases[i][0];
        json_t *embed = alert_discord_embed(&a);
        ASSERT_STR_EQ(json_string_value(json_object_get(embed, "title")), cases[i][1]);
        json_decref(embed);
    }
    struct alert a = sample("info");
    a.severity = "CRITICAL"; /* not the level "critical": grey, but shown in title case */
    json_t *embed = alert_discord_embed(&a);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(embed,
                  "fields"), 1), "value")), "Critical");
    ASSERT_EQ(json_integer_value(json_object_get(embed, "color")), 0x808080);
    json_decref(embed);
}

/* ---- E-mail, console, webhook ----------------------------------------------------------- */

void test_format_email(void)
{
    struct alert a = sample("critical");
    struct alert_email e;
    ASSERT_OK(alert_email_format(&a, &e), (struct ttai_err *)NULL);
    ASSERT_STR_EQ(e.subject, "[CRITICAL] pnl_critical");
    ASSERT_STR_EQ(e.text, "CRITICAL: Daily P&L at -5.2%\n\nSymbol: N/A");
    ASSERT_STR_EQ(e.html, "<html>\n<body>\n<h2>pnl_critical</h2>\n"
                          "<p>CRITICAL: Daily P&amp;L at -5.2%</p>\n"
                          "<p><strong>Symbol:</strong> N/A</p>\n</body>\n</html>\n");
    alert_email_release(&e);
    a = sample("info");
    a.severity = NULL;
    a.title = "<b>AAPL</b> \"crossed\"";
    ASSERT_OK(alert_email_format(&a, &e), (struct ttai_err *)NULL);
    ASSERT_STR_EQ(e.subject, "[INFO] <b>AAPL</b> \"crossed\"");
    ASSERT_STR_EQ(e.text, "AAPL above $150.00 (current: $151.20)\n\nSymbol: AAPL");
    ASSERT_CONTAINS(e.html, "<h2>&lt;b&gt;AAPL&lt;/b&gt; &quot;crossed&quot;</h2>");
    alert_email_release(&e);
}

void test_format_console_and_webhook(void)
{
    struct alert a = sample("critical");
    char *line = alert_console_line(&a);
    ASSERT_STR_EQ(line, "2025-11-23T12:13:20.000Z [CRITICAL] pnl_critical: CRITICAL: Daily P&L "
                        "at -5.2%");
    ttai_free(line);
    a = sample("warning");
    a.message = "two\nlines\tand a tab";
    line = alert_console_line(&a);
    ASSERT_STR_EQ(line, "2025-11-23T12:13:20.000Z [WARNING] concentration_warning NVDA: two "
                        "lines and a tab");
    ttai_free(line);
    a = sample("warning");
    check_json(alert_webhook_body(&a),
               "{\"type\": \"concentration_warning\", \"category\": \"portfolio\", \"severity\": "
               "\"warning\", \"symbol\": \"NVDA\", \"message\": \"Concentration warning: NVDA is "
               "32.5% of portfolio\", \"timestamp_ms\": 1763900000000, \"timestamp\": "
               "\"2025-11-23T12:13:20.000Z\"}");
}
