/* test_router.c: deduplication, rate limits, priorities and the packed
 * state of the alert router, all on virtual times passed in. */
#include "alerts_test.h"

#define T0 1763900000000LL
#define SEC 1000LL
#define MIN (60 * SEC)

static struct alert mk(const char *type, const char *category, const char *severity,
                       const char *symbol, const char *message)
{
    struct alert a;
    alert_init(&a);
    a.type = type;
    a.category = category;
    a.severity = severity;
    a.symbol = symbol;
    a.message = message;
    return a;
}

static void router_default(struct alert_router *r)
{
    struct ttai_err err;
    ASSERT_OK(alert_router_init(r, NULL, &err), &err);
}

/* Admits and checks the decision (and until_ms when want_until >= 0). */
static void expect(struct alert_router *r, const struct alert *a, int64_t now, int want,
                   int64_t want_until)
{
    struct alert_verdict v;
    int d = alert_router_admit(r, a, now, &v);
    if (d != want)
        test__fail(__FILE__, __LINE__, "at T0%+lld ms: decision %d, want %d (%s)",
                   (long long)(now - T0), d, want, v.reason);
    ASSERT_EQ(v.decision, d);
    if (want == ALERT_ADMITTED) {
        ASSERT_EQ(v.until_ms, 0);
        ASSERT_STR_EQ(v.reason, "");
    } else if (want_until >= 0) {
        ASSERT_EQ(v.until_ms, want_until);
    }
}

void test_router_dedup_window(void)
{
    static struct alert_router r;
    router_default(&r);
    struct alert a = mk("price", NULL, "info", "AAPL", "AAPL above $150.00 (current: $151.20)");
    expect(&r, &a, T0, ALERT_ADMITTED, 0);
    struct alert_verdict v;
    ASSERT_EQ(alert_router_admit(&r, &a, T0 + MIN, &v), ALERT_DUPLICATE);
    ASSERT_EQ(v.until_ms, T0 + 5 * MIN);
    ASSERT_STR_EQ(v.reason, "duplicate: the same type, symbol and message went out 1 min ago "
                            "(window 5 min)");
    expect(&r, &a, T0 + 5 * MIN - 1, ALERT_DUPLICATE, T0 + 5 * MIN);
    /* The window is "less than 5 minutes ago", as the seed's check. */
    expect(&r, &a, T0 + 5 * MIN, ALERT_ADMITTED, 0);
    /* Refusals do not extend the window; admissions do. */
    expect(&r, &a, T0 + 6 * MIN, ALERT_DUPLICATE, T0 + 10 * MIN);
    expect(&r, &a, T0 + 9 * MIN, ALERT_DUPLICATE, T0 + 10 * MIN);
    expect(&r, &a, T0 + 10 * MIN, ALERT_ADMITTED, 0);
    struct alert_router_stats st;
    alert_router_stats_get(&r, &st);
    ASSERT_EQ(st.admitted, 3);
    ASSERT_EQ(st.duplicates, 4);
    ASSERT_EQ(st.rate_limited, 0);
    ASSERT_EQ(st.tracked, 3);
}

void test_router_dedup_key(void)
{
    static struct alert_router r;
    router_default(&r);
    struct alert a = mk("price", NULL, "info", "AAPL", "m");
    expect(&r, &a, T0, ALERT_ADMITTED, 0);
    /* Only type, symbol and message make the key. */
    struct alert b = mk("price", "portfolio", "critical", "AAPL", "m");
    b.title = "Another title";
    b.id = "other-id";
    b.timestamp_ms = T0 + 5;
    expect(&r, &b, T0 + SEC, ALERT_DUPLICATE, T0 + 5 * MIN);
    ASSERT_EQ(alert_dedup_hash(&a), alert_dedup_hash(&b));
    struct alert c = mk("news", NULL, "info", "AAPL", "m");
    struct alert d = mk("price", NULL, "info", "MSFT", "m");
    struct alert e = mk("price", NULL, "info", "AAPL", "m2");
    expect(&r, &c, T0 + SEC, ALERT_ADMITTED, 0);
    expect(&r, &d, T0 + SEC, ALERT_ADMITTED, 0);
    expect(&r, &e, T0 + SEC, ALERT_ADMITTED, 0);
    /* The parts are kept apart: "a|b" + "c" is not "a" + "b|c". */
    struct alert f = mk("a|b", NULL, NULL, "c", "x");
    struct alert g = mk("a", NULL, NULL, "b|c", "x");
    ASSERT_NE(alert_dedup_hash(&f), alert_dedup_hash(&g));
    expect(&r, &f, T0 + SEC, ALERT_ADMITTED, 0);
    expect(&r, &g, T0 + SEC, ALERT_ADMITTED, 0);
    /* Unset and empty are the same. */
    struct alert h = mk("pnl_critical", NULL, "critical", NULL, "CRITICAL: Daily P&L at -5.2%");
    struct alert i = mk("pnl_critical", NULL, "critical", "", "CRITICAL: Daily P&L at -5.2%");
    expect(&r, &h, T0 + SEC, ALERT_ADMITTED, 0);
    expect(&r, &i, T0 + 2 * SEC, ALERT_DUPLICATE, T0 + SEC + 5 * MIN);
}

/* Admits count alerts of category (message prefix + index) at now. */
static void admit_many(struct alert_router *r, const char *type, const char *category,
                       const char *prefix, int count, int64_t now, int want)
{
    for (int i = 0; i < count; i++) {
        char msg[64];
        snprintf(msg, sizeof(msg), "%s %d", prefix, i);
        struct alert a = mk(type, category, "warning", "SPY", msg);
        expect(r, &a, now, want, -1);
    }
}

void test_router_rate_limits_per_type(void)
{
    static struct alert_router r;
    router_default(&r);
    admit_many(&r, "price", NULL, "p", 10, T0, ALERT_ADMITTED);
    struct alert p = mk("price", NULL, "info", "AAPL", "p 10");
    struct alert_verdict v;
    ASSERT_EQ(alert_router_admit(&r, &p, T0 + SEC, &v), ALERT_RATE_LIMITED);
    ASSERT_EQ(v.until_ms, T0 + 60 * MIN);
    ASSERT_STR_EQ(v.reason, "rate limited: 10 'price' alerts went out in the last 60 min "
                            "(limit 10)");
    /* A refused alert is not recorded: repeating it is judged afresh,
     * never as a duplicate. */
    expect(&r, &p, T0 + 2 * SEC, ALERT_RATE_LIMITED, T0 + 60 * MIN);
    admit_many(&r, "news", NULL, "n", 20, T0, ALERT_ADMITTED);
    admit_many(&r, "news", NULL, "n+", 1, T0, ALERT_RATE_LIMITED);
    /* Portfolio alerts have types of their own and the category
     * "portfolio", as the seed's route_alerts_activity(alert_type=...). */
    admit_many(&r, "margin_warning", "portfolio", "m", 5, T0, ALERT_ADMITTED);
    admit_many(&r, "pnl_critical", "portfolio", "c", 1, T0, ALERT_RATE_LIMITED);
    /* A category without its own limit gets 10, counted apart from the
     * others of its kind. */
    admit_many(&r, "screener", NULL, "s", 10, T0, ALERT_ADMITTED);
    admit_many(&r, "screener", NULL, "s+", 1, T0, ALERT_RATE_LIMITED);
    admit_many(&r, "earnings", NULL, "e", 2, T0, ALERT_ADMITTED);
    struct alert_router_stats st;
    alert_router_stats_get(&r, &st);
    ASSERT_EQ(st.admitted, 47);
    ASSERT_EQ(st.rate_limited, 5);
    ASSERT_EQ(st.tracked, 47);
}

void test_router_rate_limit_global(void)
{
    static struct alert_router r;
    router_default(&r);
    for (int i = 0; i < 50; i++) {
        char category[16], msg[16];
        snprintf(category, sizeof(category), "c%d", i / 10);
        snprintf(msg, sizeof(msg), "m%d", i);
        struct alert a = mk("x", category, "info", NULL, msg);
        expect(&r, &a, T0 + i * SEC, ALERT_ADMITTED, 0);
    }
    struct alert fresh = mk("x", "c9", "info", NULL, "fresh");
    struct alert_verdict v;
    ASSERT_EQ(alert_router_admit(&r, &fresh, T0 + 50 * SEC, &v), ALERT_RATE_LIMITED);
    ASSERT_EQ(v.until_ms, T0 + 60 * MIN);
    ASSERT_STR_EQ(v.reason, "rate limited: 50 alerts went out in the last 60 min (global limit 50)");
    /* The first record leaves the window at T0 + 60 min exactly. */
    expect(&r, &fresh, T0 + 60 * MIN - 1, ALERT_RATE_LIMITED, T0 + 60 * MIN);
    expect(&r, &fresh, T0 + 60 * MIN, ALERT_ADMITTED, 0);
    struct alert other = mk("x", "c8", "info", NULL, "other");
    expect(&r, &other, T0 + 60 * MIN, ALERT_RATE_LIMITED, T0 + SEC + 60 * MIN);
}

void test_router_rate_window_expiry(void)
{
    static struct alert_router r;
    router_default(&r);
    for (int i = 0; i < 5; i++) {
        char msg[16];
        snprintf(msg, sizeof(msg), "r%d", i);
        struct alert a = mk("portfolio", NULL, "warning", NULL, msg);
        expect(&r, &a, T0 + i * 10 * MIN, ALERT_ADMITTED, 0);
    }
    struct alert a = mk("portfolio", NULL, "warning", NULL, "late");
    expect(&r, &a, T0 + 50 * MIN, ALERT_RATE_LIMITED, T0 + 60 * MIN);
    expect(&r, &a, T0 + 60 * MIN - 1, ALERT_RATE_LIMITED, T0 + 60 * MIN);
    expect(&r, &a, T0 + 60 * MIN, ALERT_ADMITTED, 0);
    struct alert b = mk("portfolio", NULL, "warning", NULL, "later");
    expect(&r, &b, T0 + 60 * MIN + 1, ALERT_RATE_LIMITED, T0 + 70 * MIN);
    /* Pruning keeps exactly the records inside the window. */
    struct alert_router_stats st;
    alert_router_stats_get(&r, &st);
    ASSERT_EQ(st.tracked, 5);
    alert_router_prune(&r, T0 + 100 * MIN);
    alert_router_stats_get(&r, &st);
    ASSERT_EQ(st.tracked, 1); /* "late", admitted at T0 + 60 min */
    alert_router_prune(&r, T0 + 120 * MIN);
    alert_router_stats_get(&r, &st);
    ASSERT_EQ(st.tracked, 0);
}

void test_router_memory_bounded(void)
{
    static struct alert_router r;
    router_default(&r);
    /* A week of an alert every 10 seconds, half of them repeats. */
    uint32_t most = 0;
    for (int i = 0; i < 7 * 24 * 360; i++) {
        char msg[32];
        snprintf(msg, sizeof(msg), "m%d", i / 2);
        struct alert a = mk(i % 3 == 0 ? "news" : "price", NULL, "info", "SPY", msg);
        (void)alert_router_admit(&r, &a, T0 + i * 10 * SEC, NULL); /* any decision */
        struct alert_router_stats st;
        alert_router_stats_get(&r, &st);
        most = st.tracked > most ? st.tracked : most;
    }
    ASSERT_EQ(most, 30); /* price 10 + news 20 fill the hour */
    struct alert_router_stats st;
    alert_router_stats_get(&r, &st);
    ASSERT_EQ(st.admitted + st.duplicates + st.rate_limited, 7 * 24 * 360);
    ASSERT_LE(sizeof(struct alert_router), 8 * 1024 + 512);
}

/* ---- Packing ---------------------------------------------------------------------- */

static void pack(const struct alert_router *r, struct ttai_buf *out)
{
    ttai_buf_init(out);
    alert_router_pack(r, out);
}

static void unpack(struct alert_router *r, struct ttai_payload p)
{
    struct ttai_reader rd;
    ttai_reader_init(&rd);
    msgpack_object o;
    struct ttai_err err;
    ASSERT_OK(ttai_payload_unpack(&rd, p, &o), (struct ttai_err *)NULL);
    ASSERT_OK(alert_router_unpack(r, &o, &err), &err);
    ttai_reader_release(&rd);
}

/* The i-th alert of a fixed mixed sequence (alerts 47 s apart). */
static struct alert seq_alert(int i, char *msg, size_t size)
{
    static const char *const types[] = {"price", "news", "pnl_warning", "price", "screener"};
    static const char *const cats[] = {NULL, NULL, "portfolio", NULL, NULL};
    static const char *const sev[] = {"info", "warning", "critical"};
    int k = i / 3; /* three alerts in a row share their key */
    snprintf(msg, size, "msg %d", (k * 7) % 13);
    return mk(types[k % 5], cats[k % 5], sev[i % 3], k % 4 ? "QQQ" : NULL, msg);
}

static void same_verdicts(struct alert_router *a, struct alert_router *b, int from, int to)
{
    for (int i = from; i < to; i++) {
        char msg[32];
        struct alert al = seq_alert(i, msg, sizeof(msg));
        struct alert_verdict va, vb;
        int64_t now = T0 + (int64_t)i * 47 * SEC;
        ASSERT_EQ(alert_router_admit(a, &al, now, &va), alert_router_admit(b, &al, now, &vb));
        ASSERT_EQ(va.until_ms, vb.until_ms);
        ASSERT_STR_EQ(va.reason, vb.reason);
    }
}

void test_router_pack_round_trip(void)
{
    static const struct alert_rate_limit limits[] = {{"price", 4}, {"news", 6}};
    struct alert_router_config cfg = {.dedup_window_ms = 2 * MIN, .rate_window_ms = 30 * MIN,
                                      .global_limit = 12, .default_type_limit = 3,
                                      .type_limits = limits, .type_limit_count = 2};
    static struct alert_router r, copy, via_json;
    struct ttai_err err;
    ASSERT_OK(alert_router_init(&r, &cfg, &err), &err);
    /* Drive it into a state with every kind of decision behind it. */
    for (int i = 0; i < 200; i++) {
        char msg[32];
        struct alert a = seq_alert(i, msg, sizeof(msg));
        (void)alert_router_admit(&r, &a, T0 + (int64_t)i * 47 * SEC, NULL);
    }
    struct alert_router_stats st;
    alert_router_stats_get(&r, &st);
    ASSERT_GT(st.admitted, 0);
    ASSERT_GT(st.duplicates, 0);
    ASSERT_GT(st.rate_limited, 0);
    ASSERT_GT(st.tracked, 0);
    /* Exact round trip: the copy packs to the same bytes. */
    struct ttai_buf a, b;
    pack(&r, &a);
    unpack(&copy, ttai_buf_payload(&a));
    pack(&copy, &b);
    ASSERT_EQ(ttai_buf_payload(&a).len, ttai_buf_payload(&b).len);
    ASSERT(memcmp(ttai_buf_payload(&a).data, ttai_buf_payload(&b).data,
                  ttai_buf_payload(&a).len) == 0);
    /* Through JSON too (a state handed over by a tool). */
    char *text = test_payload_json(ttai_buf_payload(&a));
    struct ttai_buf j;
    ttai_buf_init(&j);
    ASSERT_OK(ttai_payload_from_json(text, strlen(text), &j, &err), &err);
    unpack(&via_json, ttai_buf_payload(&j));
    ttai_free(text);
    ttai_buf_release(&j);
    /* And the three decide alike from here on. */
    static struct alert_router r2;
    r2 = r;
    same_verdicts(&r, &copy, 200, 400);
    same_verdicts(&r2, &via_json, 200, 400);
    struct alert_router_stats s1, s2;
    alert_router_stats_get(&r, &s1);
    alert_router_stats_get(&copy, &s2);
    ASSERT_EQ(s1.admitted, s2.admitted);
    ASSERT_EQ(s1.duplicates, s2.duplicates);
    ASSERT_EQ(s1.rate_limited, s2.rate_limited);
    ASSERT_EQ(s1.tracked, s2.tracked);
    ttai_buf_release(&a);
    ttai_buf_release(&b);
}

static int unpack_json(struct alert_router *r, const char *json, struct ttai_err *err)
{
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    ASSERT_OK(ttai_payload_from_json(json, strlen(json), &buf, err), err);
    struct ttai_reader rd;
    ttai_reader_init(&rd);
    msgpack_object o;
    ASSERT_OK(ttai_payload_unpack(&rd, ttai_buf_payload(&buf), &o), err);
    int rc = alert_router_unpack(r, &o, err);
    ttai_reader_release(&rd);
    ttai_buf_release(&buf);
    return rc;
}

static bool all_zero(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)p)[i] != 0)
            return false;
    return true;
}

void test_router_unpack_rejects(void)
{
    static struct alert_router r;
    struct ttai_err err;
    const char *good = "{\"format\":1,\"dedup_window_ms\":300000,\"rate_window_ms\":3600000,"
                       "\"global_limit\":2,\"default_type_limit\":10,\"type_limits\":"
                       "[[\"price\",10]],\"counts\":[1,0,0],\"entries\":[[1763900000000,-5,7]]}";
    ASSERT_OK(unpack_json(&r, good, &err), &err);
    struct alert_router_stats st;
    alert_router_stats_get(&r, &st);
    ASSERT_EQ(st.tracked, 1);
    ASSERT_EQ(st.admitted, 1);
    static const struct {
        const char *json;
        int rc;
        const char *msg;
    } bad[] = {
        {"[1]", TTAI_EINVAL, "must be a map"},
        {"{\"format\":2}", TTAI_EVERSION, "format 2"},
        {"{\"format\":1,\"dedup_window_ms\":300000,\"rate_window_ms\":3600000,\"global_limit\":1,"
         "\"default_type_limit\":10,\"type_limits\":[],\"counts\":[0,0,0],\"entries\":"
         "[[1,2,3],[4,5,6]]}", TTAI_EINVAL, "more than its global limit"},
        {"{\"format\":1,\"dedup_window_ms\":300000,\"rate_window_ms\":3600000,\"global_limit\":9,"
         "\"default_type_limit\":10,\"type_limits\":[],\"counts\":[0,0,0],\"entries\":"
         "[[1,2]]}", TTAI_EINVAL, "entry 0 is malformed"},
        {"{\"format\":1,\"dedup_window_ms\":3600001,\"rate_window_ms\":3600000,\"global_limit\":9,"
         "\"default_type_limit\":10,\"type_limits\":[],\"counts\":[0,0,0],\"entries\":[]}",
         TTAI_EINVAL, "dedup window"},
        {"{\"format\":1,\"dedup_window_ms\":1,\"rate_window_ms\":2,\"global_limit\":9,"
         "\"default_type_limit\":10,\"type_limits\":[[\"a\",0]],\"counts\":[0,0,0],"
         "\"entries\":[]}", TTAI_EINVAL, "category limit 0 is malformed"},
        {"{\"format\":1,\"dedup_window_ms\":1,\"rate_window_ms\":2,\"global_limit\":900,"
         "\"default_type_limit\":10,\"type_limits\":[],\"counts\":[0,0,0],\"entries\":[]}",
         TTAI_EINVAL, "out of range"},
        {"{\"format\":1,\"dedup_window_ms\":1,\"rate_window_ms\":2,\"global_limit\":9,"
         "\"default_type_limit\":10,\"type_limits\":[],\"entries\":[]}", TTAI_EINVAL, "'counts'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_OK(unpack_json(&r, good, &err), &err);
        ASSERT_EQ(unpack_json(&r, bad[i].json, &err), bad[i].rc);
        ASSERT_CONTAINS(err.msg, bad[i].msg);
        ASSERT(all_zero(&r, sizeof(r)));
    }
}

void test_router_config_checks(void)
{
    static struct alert_router r;
    struct ttai_err err;
    struct alert_rate_limit dup[] = {{"a", 1}, {"a", 2}};
    struct alert_rate_limit zero[] = {{"a", 0}};
    struct alert_rate_limit unnamed[] = {{"", 3}};
    struct alert_rate_limit many[ALERT_ROUTER_TYPE_LIMITS_MAX + 1];
    for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
        many[i] = (struct alert_rate_limit){"x", 1};
    static const char *const msgs[] = {"the dedup window", "the rate window", "global limit",
                                       "has two limits", "must be at least 1", "needs a name",
                                       "exceed"};
    struct alert_router_config cfgs[] = {
        {.dedup_window_ms = 2 * MIN, .rate_window_ms = MIN},
        {.rate_window_ms = ALERT_WINDOW_MS_MAX + 1},
        {.global_limit = ALERT_ROUTER_TRACKED_MAX + 1},
        {.type_limits = dup, .type_limit_count = 2},
        {.type_limits = zero, .type_limit_count = 1},
        {.type_limits = unnamed, .type_limit_count = 1},
        {.type_limits = many, .type_limit_count = ALERT_ROUTER_TYPE_LIMITS_MAX + 1},
    };
    for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
        ASSERT_EQ(alert_router_init(&r, &cfgs[i], &err), TTAI_EINVAL);
        ASSERT_CONTAINS(err.msg, msgs[i]);
        ASSERT(all_zero(&r, sizeof(r)));
    }
    /* Empty type limits: every category gets the default. */
    struct alert_router_config none = {.type_limits = zero, .type_limit_count = 0,
                                       .default_type_limit = 2, .global_limit = 3};
    ASSERT_OK(alert_router_init(&r, &none, &err), &err);
    admit_many(&r, "price", NULL, "p", 2, T0, ALERT_ADMITTED);
    admit_many(&r, "price", NULL, "q", 1, T0, ALERT_RATE_LIMITED);
    admit_many(&r, "news", NULL, "n", 1, T0, ALERT_ADMITTED);
    admit_many(&r, "other", NULL, "o", 1, T0, ALERT_RATE_LIMITED); /* global 3 */
}

/* ---- Priorities -------------------------------------------------------------------- */

void test_router_priorities(void)
{
    ASSERT_EQ(alert_priority_level("critical"), 100);
    ASSERT_EQ(alert_priority_level("warning"), 50);
    ASSERT_EQ(alert_priority_level("info"), 10);
    ASSERT_EQ(alert_priority_level(NULL), 10);
    ASSERT_EQ(alert_priority_level(""), 10);
    ASSERT_EQ(alert_priority_level("debug"), 0);
    ASSERT_EQ(alert_priority_level("Critical"), 0);
    struct alert in[] = {
        mk("a", NULL, "info", NULL, "a"),     mk("b", NULL, "critical", NULL, "b"),
        mk("c", NULL, "warning", NULL, "c"),  mk("d", NULL, "critical", NULL, "d"),
        mk("e", NULL, "debug", NULL, "e"),    mk("f", NULL, NULL, NULL, "f"),
        mk("g", NULL, "warning", NULL, "g"),
    };
    const struct alert *p[7];
    for (int i = 0; i < 7; i++)
        p[i] = &in[i];
    alert_sort_by_priority(p, 7);
    char order[8] = "";
    for (int i = 0; i < 7; i++)
        order[i] = p[i]->type[0];
    ASSERT_STR_EQ(order, "bdcgafe"); /* stable among equals, as Python's sorted() */
    ASSERT_EQ(alert_filter_by_priority(p, 7, "warning"), 4);
    for (int i = 0; i < 4; i++)
        order[i] = p[i]->type[0];
    order[4] = '\0';
    ASSERT_STR_EQ(order, "bdcg");
    for (int i = 0; i < 7; i++)
        p[i] = &in[i];
    ASSERT_EQ(alert_filter_by_priority(p, 7, NULL), 6); /* "info": drops the unknown "debug" */
    ASSERT_STR_EQ(p[4]->type, "f");
    ASSERT_EQ(alert_filter_by_priority(p, 6, "bogus"), 6);
    ASSERT_EQ(alert_filter_by_priority(p, 6, "critical"), 2);
    ASSERT_STR_EQ(p[0]->type, "b");
    ASSERT_STR_EQ(p[1]->type, "d");
}
