/* test_rules_state.c: the rule evaluator's state: several alerts per
 * symbol, manual re-arm, pack/unpack (exact, and continuing after it gives
 * the same fires), rejection of malformed packed states, allocation
 * failures and a caller's arena (workflows/ttai/rules.h). */
#include "rules_test.h"

/* ---- A scenario: six alerts, every re-arm mode, two symbols ------------------------ */

static const char *const scenario_rules[] = {
    "{\"rule\":{\"operator\":\"and\",\"conditions\":["
    "{\"indicator\":\"rsi\",\"period\":5,\"operator\":\">\",\"value\":60},"
    "{\"indicator\":\"price\",\"operator\":\">\","
    "\"value\":{\"indicator\":\"sma\",\"period\":10}}]}}",
    "{\"rule\":{\"indicator\":\"price\",\"operator\":\">\",\"value\":{\"indicator\":\"ema\","
    "\"period\":8}},\"rearm\":{\"type\":\"hysteresis\",\"threshold\":0.01}}",
    "{\"rule\":{\"indicator\":\"price\",\"operator\":\"crosses\",\"value\":100},"
    "\"rearm\":{\"type\":\"cooldown\",\"cooldown\":600}}",
    "{\"rule\":{\"indicator\":\"rvol\",\"period\":5,\"operator\":\">\",\"value\":1.2},"
    "\"rearm\":{\"type\":\"persistence\",\"bars\":2}}",
    "{\"rule\":{\"operator\":\"or\",\"conditions\":["
    "{\"indicator\":\"price\",\"operator\":\"<\",\"value\":97},"
    "{\"operator\":\"not\",\"conditions\":[{\"indicator\":\"price\",\"operator\":\"<\","
    "\"value\":103}]}]},\"rearm\":{\"type\":\"crossing\"}}",
    "{\"rule\":{\"indicator\":\"price\",\"operator\":\"crosses_below\",\"value\":"
    "{\"indicator\":\"sma\",\"period\":5}},"
    "\"rearm\":{\"type\":\"hysteresis\",\"threshold\":0.005,\"cooldown\":300}}",
};
#define SCENARIO_ALERTS 6
static const char *const alert_ids[SCENARIO_ALERTS] = {"a0", "a1", "a2", "a3", "a4", "a5"};
static const char *const symbols[2] = {"AAA", "BBB"};

struct scenario {
    struct rule *rules[SCENARIO_ALERTS];
    uint64_t walk;                /* xorshift state of the price walk */
    double price[2];
};

static void scenario_init(struct scenario *sc, const struct rules_alloc *alloc)
{
    for (int i = 0; i < SCENARIO_ALERTS; i++) {
        json_t *j = json_loads(scenario_rules[i], 0, NULL);
        struct ttai_err err;
        ASSERT(j != NULL);
        ASSERT_OK(rules_parse(j, alloc, &sc->rules[i], &err), &err);
        json_decref(j);
    }
    sc->walk = 0x9e3779b97f4a7c15ULL;
    sc->price[0] = 100;
    sc->price[1] = 100;
}

static void scenario_release(struct scenario *sc)
{
    for (int i = 0; i < SCENARIO_ALERTS; i++)
        rules_free(sc->rules[i]);
}

/* The next bar of symbol s: a deterministic random walk around 100. */
static struct rules_bar scenario_bar(struct scenario *sc, int s, int index)
{
    sc->walk ^= sc->walk >> 12;
    sc->walk ^= sc->walk << 25;
    sc->walk ^= sc->walk >> 27;
    uint64_t r = sc->walk * 0x2545f4914f6cdd1dULL;
    double step = ((double)(r >> 11) / 9007199254740992.0 - 0.5) * 2.0;   /* -1 .. 1 */
    sc->price[s] += step + (100 - sc->price[s]) * 0.05;
    double volume = 1000 + (double)((r >> 7) % 1000);
    return (struct rules_bar){sc->price[s], volume, T0_MS + index * BAR_MS};
}

/* Feeds one bar of each symbol to every alert; appends each fire to log. */
static int scenario_step(struct scenario *sc, struct rules_state *st, int index, char *log,
                         size_t size)
{
    int fires = 0;
    for (int s = 0; s < 2; s++) {
        struct rules_bar bar = scenario_bar(sc, s, index);
        for (int a = 0; a < SCENARIO_ALERTS; a++) {
            struct rules_fire fire;
            struct ttai_err err;
            int rc = rules_on_bar(st, alert_ids[a], sc->rules[a], symbols[s], &bar, &fire, &err);
            if (rc < 0)
                test__fail(__FILE__, __LINE__, "rules_on_bar: %s", err.msg);
            if (rc == 1) {
                size_t len = strlen(log);
                snprintf(log + len, size - len, "%d %s %s #%" PRIu64 ": %s\n", index, fire.symbol,
                         fire.alert_id, fire.fire_count, fire.message);
                fires++;
            }
        }
    }
    return fires;
}

static void pack(const struct rules_state *st, struct ttai_buf *buf)
{
    ttai_buf_init(buf);
    rules_state_pack(st, buf);
}

static struct rules_state *unpack(struct ttai_payload p, const struct rules_alloc *alloc)
{
    struct ttai_reader r;
    msgpack_object o;
    struct ttai_err err;
    struct rules_state *st = NULL;
    ttai_reader_init(&r);
    ASSERT_OK(ttai_payload_unpack(&r, p, &o), NULL);
    ASSERT_OK(rules_state_unpack(&o, alloc, &st, &err), &err);
    ttai_reader_release(&r);
    return st;
}

static void assert_same_bytes(struct ttai_payload a, struct ttai_payload b)
{
    ASSERT_EQ(a.len, b.len);
    ASSERT(memcmp(a.data, b.data, a.len) == 0);
}

/* ---- Tests ------------------------------------------------------------------------------ */

void test_rules_eval_twice(void)
{
    struct rule *rule = rt_rule("{\"rule\":{\"indicator\":\"sma\",\"period\":2,"
                                "\"operator\":\">\",\"value\":10}}");
    struct rules_state *st;
    struct ttai_err err;
    ASSERT_OK(rules_state_new(NULL, &st, &err), &err);
    ASSERT_EQ(rules_eval(st, "a", rule, "SYM", NULL, &err), 0);   /* no bar yet */
    /* Two alerts pass the same bars: the indicator sees each bar once. */
    for (int i = 0; i < 2; i++) {
        struct rules_bar bar = {10.0 + 2 * i, 1000, T0_MS + i * BAR_MS};
        ASSERT_EQ(rules_on_bar(st, "a", rule, "SYM", &bar, NULL, &err), i == 1);
        ASSERT_EQ(rules_on_bar(st, "b", rule, "SYM", &bar, NULL, &err), i == 1);
    }
    double v;
    ASSERT_EQ(rules_state_indicator(st, "SYM", "sma", 2, &v), 1);
    ASSERT_NEAR(v, 11, 0);
    ASSERT_EQ(rules_eval(st, "a", rule, "SYM", NULL, &err), TTAI_ECONFLICT);
    ASSERT_CONTAINS(err.msg, "alert 'a' was already evaluated on the bar of 'SYM'");
    ASSERT_EQ(rules_eval(st, "", rule, "SYM", NULL, &err), TTAI_EINVAL);
    ASSERT_EQ(rules_eval(st, "c", rule, "A-SYMBOL-FAR-TOO-LONG-TO-BE-ONE-REALLY", NULL, &err),
              TTAI_EINVAL);
    rules_state_free(st);
    rules_free(rule);
}

void test_rules_forget(void)
{
    struct rule *rule = rt_rule("{\"rule\":{\"indicator\":\"price\",\"operator\":\">\","
                                "\"value\":100},\"rearm\":{\"type\":\"hysteresis\","
                                "\"threshold\":0.02}}");
    struct rules_state *st;
    struct ttai_err err;
    struct rules_alert_info info;
    ASSERT_OK(rules_state_new(NULL, &st, &err), &err);
    ASSERT_EQ(rules_state_alert(st, "a", "SYM", &info), TTAI_ENOTFOUND);
    ASSERT_EQ(rt_bar(st, rule, 101, 1000, T0_MS, NULL), 1);
    ASSERT_OK(rules_state_alert(st, "a", "SYM", &info), NULL);
    ASSERT(!info.armed);
    ASSERT_EQ(info.fire_count, 1);
    ASSERT_EQ(info.last_fire_ms, T0_MS);
    ASSERT_EQ(info.last_result, 1);
    ASSERT_EQ(rt_bar(st, rule, 102, 1000, T0_MS + BAR_MS, NULL), 0);   /* disarmed */
    /* Forgetting re-arms by hand: the alert starts over. */
    ASSERT_EQ(rules_state_forget(st, "a"), 1);
    ASSERT_EQ(rules_state_forget(st, "a"), 0);
    ASSERT_EQ(rules_state_alert(st, "a", "SYM", &info), TTAI_ENOTFOUND);
    ASSERT_EQ(rt_bar(st, rule, 103, 1000, T0_MS + 2 * BAR_MS, NULL), 1);
    ASSERT_OK(rules_state_alert(st, "a", "SYM", &info), NULL);
    ASSERT_EQ(info.fire_count, 1);
    /* Forgetting a symbol drops its bars; the next bar starts it afresh. */
    ASSERT(rules_state_forget_symbol(st, "SYM"));
    ASSERT(!rules_state_forget_symbol(st, "SYM"));
    double v;
    ASSERT_EQ(rules_state_indicator(st, "SYM", "price", 0, &v), TTAI_ENOTFOUND);
    ASSERT_EQ(rt_bar(st, rule, 99, 1000, T0_MS + 3 * BAR_MS, NULL), 0);
    ASSERT_EQ(rules_state_indicator(st, "SYM", "price", 0, &v), 1);
    ASSERT_NEAR(v, 99, 0);
    rules_state_free(st);
    rules_free(rule);
}

void test_rules_pack_roundtrip(void)
{
    struct scenario sc;
    struct rules_state *st;
    struct ttai_err err;
    static char log[1 << 16];
    scenario_init(&sc, NULL);
    ASSERT_OK(rules_state_new(NULL, &st, &err), &err);
    int fires = 0;
    for (int i = 0; i < 60; i++)
        fires += scenario_step(&sc, st, i, log, sizeof(log));
    ASSERT_GT(fires, 10);

    struct ttai_buf a, b;
    pack(st, &a);
    struct rules_state *copy = unpack(ttai_buf_payload(&a), NULL);
    pack(copy, &b);
    assert_same_bytes(ttai_buf_payload(&a), ttai_buf_payload(&b));
    static const struct {
        const char *name;
        uint32_t period;
    } inds[] = {{"price", 0}, {"rsi", 5}, {"sma", 10}, {"ema", 8}, {"rvol", 5}, {"sma", 5}};
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sizeof(inds) / sizeof(inds[0]); i++) {
            double x = 0, y = 0;
            ASSERT_EQ(rules_state_indicator(st, symbols[s], inds[i].name, inds[i].period, &x), 1);
            ASSERT_EQ(rules_state_indicator(copy, symbols[s], inds[i].name, inds[i].period, &y), 1);
            ASSERT_DBL_SAME(x, y);
        }
        for (int a_i = 0; a_i < SCENARIO_ALERTS; a_i++) {
            struct rules_alert_info x, y;
            ASSERT_OK(rules_state_alert(st, alert_ids[a_i], symbols[s], &x), NULL);
            ASSERT_OK(rules_state_alert(copy, alert_ids[a_i], symbols[s], &y), NULL);
            ASSERT_EQ(x.armed, y.armed);
            ASSERT_EQ(x.streak_bars, y.streak_bars);
            ASSERT_EQ(x.last_result, y.last_result);
            ASSERT_EQ(x.fire_count, y.fire_count);
            ASSERT_EQ(x.last_fire_ms, y.last_fire_ms);
        }
    }
    ttai_buf_release(&a);
    ttai_buf_release(&b);
    rules_state_free(copy);
    rules_state_free(st);
    scenario_release(&sc);
}

void test_rules_pack_late_watch(void)
{
    /* A rule watched later grows the rings while older series have seen
     * more bars than the rings held before: the state still round-trips. */
    struct rule *short_sma = rt_rule("{\"rule\":{\"indicator\":\"sma\",\"period\":2,"
                                     "\"operator\":\">\",\"value\":0}}");
    struct rule *long_sma = rt_rule("{\"rule\":{\"indicator\":\"sma\",\"period\":4,"
                                    "\"operator\":\">\",\"value\":0}}");
    struct rules_state *st;
    struct ttai_err err;
    ASSERT_OK(rules_state_new(NULL, &st, &err), &err);
    for (int i = 0; i < 6; i++)   /* sma(2) > 0 from the second bar on */
        ASSERT_EQ(rt_bar(st, short_sma, 10 + i, 1000, T0_MS + i * BAR_MS, NULL), i > 0);
    ASSERT_OK(rules_state_watch(st, long_sma, "SYM", &err), &err);
    for (int i = 6; i < 8; i++) {
        struct ttai_buf buf;
        pack(st, &buf);
        struct rules_state *copy = unpack(ttai_buf_payload(&buf), NULL);
        ttai_buf_release(&buf);
        rules_state_free(st);
        st = copy;
        ASSERT_EQ(rt_bar(st, short_sma, 10 + i, 1000, T0_MS + i * BAR_MS, NULL), 1);
    }
    double v;
    ASSERT_EQ(rules_state_indicator(st, "SYM", "sma", 4, &v), 0);   /* 2 bars of 4 */
    ASSERT_EQ(rules_state_indicator(st, "SYM", "sma", 2, &v), 1);
    ASSERT_NEAR(v, 16.5, 0);
    rules_state_free(st);
    rules_free(short_sma);
    rules_free(long_sma);
}

void test_rules_pack_continue(void)
{
    /* plain never leaves memory; carried is packed and unpacked before
     * every bar, as across a continue-as-new. Same fires, same bytes. */
    struct scenario sc_plain, sc_carried;
    struct rules_state *plain, *carried;
    struct ttai_err err;
    static char log_plain[1 << 17], log_carried[1 << 17];
    scenario_init(&sc_plain, NULL);
    scenario_init(&sc_carried, NULL);
    ASSERT_OK(rules_state_new(NULL, &plain, &err), &err);
    ASSERT_OK(rules_state_new(NULL, &carried, &err), &err);
    int fires = 0;
    for (int i = 0; i < 200; i++) {
        struct ttai_buf buf;
        pack(carried, &buf);
        rules_state_free(carried);
        carried = unpack(ttai_buf_payload(&buf), NULL);
        ttai_buf_release(&buf);
        fires += scenario_step(&sc_plain, plain, i, log_plain, sizeof(log_plain));
        scenario_step(&sc_carried, carried, i, log_carried, sizeof(log_carried));
        ASSERT_STR_EQ(log_carried, log_plain);
    }
    ASSERT_GT(fires, 40);
    for (int a = 0; a < SCENARIO_ALERTS; a++) {   /* every alert fired at least once */
        char tag[16];
        snprintf(tag, sizeof(tag), " %s #", alert_ids[a]);
        ASSERT_CONTAINS(log_plain, tag);
    }
    struct ttai_buf x, y;
    pack(plain, &x);
    pack(carried, &y);
    assert_same_bytes(ttai_buf_payload(&x), ttai_buf_payload(&y));
    ttai_buf_release(&x);
    ttai_buf_release(&y);
    rules_state_free(plain);
    rules_state_free(carried);
    scenario_release(&sc_plain);
    scenario_release(&sc_carried);
}

/* Unpacks JSON text (converted to msgpack) and expects rc with a message
 * containing want. Doubles are written as JSON reals (1.0), which stay
 * float64. */
static void expect_unpack_error(const char *json, int rc_want, const char *want)
{
    struct ttai_buf buf;
    struct ttai_err err = {0};
    ttai_buf_init(&buf);
    ASSERT_OK(ttai_payload_from_json(json, strlen(json), &buf, &err), &err);
    struct ttai_reader r;
    msgpack_object o;
    ttai_reader_init(&r);
    ASSERT_OK(ttai_payload_unpack(&r, ttai_buf_payload(&buf), &o), NULL);
    struct rules_state *st = NULL;
    int rc = rules_state_unpack(&o, NULL, &st, &err);
    if (rc != rc_want)
        test__fail(__FILE__, __LINE__, "unpack %s: rc %d (%s), want %d", json, rc, err.msg,
                   rc_want);
    ASSERT(st == NULL);
    ASSERT_CONTAINS(err.msg, want);
    ttai_reader_release(&r);
    ttai_buf_release(&buf);
}

#define SERIES_SMA3(count, ok) "[2,3," #count "," #ok ",false,0.0,0.0,0.0,0.0,0.0]"

void test_rules_unpack_rejects(void)
{
    expect_unpack_error("5", TTAI_EDECODE, "not a packed rules state");
    expect_unpack_error("[2,[],[]]", TTAI_EVERSION, "version 2 is not supported");
    expect_unpack_error("[1,[],{}]", TTAI_EDECODE, "malformed alert states");
    expect_unpack_error("[1,[],[[\"a\",\"S\",true,0,true,0,5,0,0]]]", TTAI_EDECODE,
                        "malformed alert state 0");
    expect_unpack_error("[1,[],[[\"b\",\"S\",true,0,true,0,1,0,0],"
                        "[\"a\",\"S\",true,0,true,0,1,0,0]]]",
                        TTAI_EDECODE, "alert state 'a' on 'S' out of order");
    expect_unpack_error("[1,[[\"S\",0,1,[],[],[[2,0,0,false,false,0.0,0.0,0.0,0.0,0.0]]]],[]]",
                        TTAI_EDECODE, "symbol 'S': sma has period 0");
    expect_unpack_error("[1,[[\"S\",0,1,[],[],[" SERIES_SMA3(0, false) "]]],[]]", TTAI_EDECODE,
                        "sma(3) reads more bars than are kept");
    expect_unpack_error("[1,[[\"S\",5,3,[1.0],[1.0],[" SERIES_SMA3(1, true) "]]],[]]",
                        TTAI_EDECODE, "sma(3) has a value before its warm-up");
    expect_unpack_error("[1,[[\"S\",5,3,[1.0],[1.0],[" SERIES_SMA3(2, false) "]]],[]]",
                        TTAI_EDECODE, "sma(3) has seen more bars than are kept");
    expect_unpack_error("[1,[[\"S\",5,3,[1.0],[1.0],[[2,3,1,false,false,0,0.0,0.0,0.0,0.0]]]],[]]",
                        TTAI_EDECODE, "malformed series");
    expect_unpack_error("[1,[[\"S\",5,1,[1.0,2.0],[1.0,2.0],[]]],[]]", TTAI_EDECODE,
                        "malformed bars");
    expect_unpack_error("[1,[[\"S\",5,1,[1.0],[-1.0],[]]],[]]", TTAI_EDECODE, "malformed bar 0");
    expect_unpack_error("[1,[[\"S\",5,1,[],[],[]]],[]]", TTAI_EDECODE, "bar time without bars");
    expect_unpack_error("[1,[[\"S\",0,1,[],[],[]],[\"S\",0,1,[],[],[]]],[]]", TTAI_EDECODE,
                        "symbol 'S' out of order");
    expect_unpack_error("[1,[[\"\",0,1,[],[],[]]],[]]", TTAI_EDECODE, "malformed symbol 0");

    /* The smallest valid states. */
    const char *ok[] = {"[1,[],[]]", "[1,[[\"S\",5,3,[1.0],[2.0],[" SERIES_SMA3(1, false)
                                     "]]],[[\"a\",\"S\",true,5,true,0,0,0,0]]]"};
    for (int i = 0; i < 2; i++) {
        struct ttai_buf buf;
        struct ttai_err err;
        ttai_buf_init(&buf);
        ASSERT_OK(ttai_payload_from_json(ok[i], strlen(ok[i]), &buf, &err), &err);
        struct rules_state *st = unpack(ttai_buf_payload(&buf), NULL);
        struct ttai_buf again;
        pack(st, &again);
        assert_same_bytes(ttai_buf_payload(&buf), ttai_buf_payload(&again));
        ttai_buf_release(&again);
        ttai_buf_release(&buf);
        rules_state_free(st);
    }
}

/* Every node of a packed msgpack tree, depth first (at most max). */
static size_t collect_nodes(msgpack_object *root, msgpack_object **out, size_t max)
{
    size_t count = 0, next = 0;
    out[count++] = root;
    while (next < count) {
        msgpack_object *o = out[next++];
        if (o->type != MSGPACK_OBJECT_ARRAY)
            continue;
        for (uint32_t i = 0; i < o->via.array.size && count < max; i++)
            out[count++] = &o->via.array.ptr[i];
    }
    return count;
}

/* The k-th mutation of node o (false when there is none left). */
static bool mutate(msgpack_object *o, int k)
{
    const msgpack_object was = *o;
    switch (was.type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: {
        static const uint64_t values[] = {0, 1, 2, 1000, 1001, 4096, UINT64_MAX};
        if (k < 7)
            o->via.u64 = values[k];
        else if (k == 7)
            o->via.u64 = was.via.u64 + 1;
        else if (k == 8)
            *o = (msgpack_object){.type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -1};
        return k <= 8;
    }
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        if (k == 0)
            *o = (msgpack_object){.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1};
        return k == 0;
    case MSGPACK_OBJECT_FLOAT64: {
        const double values[] = {NAN, INFINITY, -was.via.f64, 0.0, 1e308, -1.0};
        if (k < 6)
            o->via.f64 = values[k];
        else if (k == 6)
            o->type = MSGPACK_OBJECT_FLOAT32;
        return k <= 6;
    }
    case MSGPACK_OBJECT_BOOLEAN:
        if (k == 0)
            o->via.boolean = !was.via.boolean;
        else if (k == 1)
            *o = (msgpack_object){.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1};
        return k <= 1;
    case MSGPACK_OBJECT_STR:
        if (k == 0)
            o->via.str.size = 0;
        else if (k == 1)
            o->via.str.size = was.via.str.size > 1 ? was.via.str.size - 1 : 0;
        else if (k == 2)
            o->type = MSGPACK_OBJECT_NIL;
        return k <= 2;
    case MSGPACK_OBJECT_ARRAY:
        if (k == 0)
            o->via.array.size = was.via.array.size > 0 ? was.via.array.size - 1 : 0;
        else if (k == 1)
            o->via.array.size = 0;
        else if (k == 2)
            o->type = MSGPACK_OBJECT_NIL;
        return k <= 2;
    default:
        return false;
    }
}

void test_rules_unpack_mutated(void)
{
    /* Every single-field corruption of a real state is either refused or
     * gives a state that evaluates safely (ASan and the asserts watch). */
    struct scenario sc;
    struct rules_state *st;
    struct ttai_err err;
    static char log[1 << 16];
    scenario_init(&sc, NULL);
    ASSERT_OK(rules_state_new(NULL, &st, &err), &err);
    for (int i = 0; i < 12; i++)
        scenario_step(&sc, st, i, log, sizeof(log));
    struct ttai_buf buf;
    pack(st, &buf);
    struct ttai_reader r;
    msgpack_object root;
    ttai_reader_init(&r);
    ASSERT_OK(ttai_payload_unpack(&r, ttai_buf_payload(&buf), &root), NULL);
    static msgpack_object *nodes[4096];
    size_t count = collect_nodes(&root, nodes, 4096);
    ASSERT_LT(count, 4096);
    int accepted = 0, refused = 0;
    for (size_t n = 0; n < count; n++) {
        for (int k = 0;; k++) {
            const msgpack_object saved = *nodes[n];
            if (!mutate(nodes[n], k))
                break;
            struct rules_state *got = NULL;
            if (rules_state_unpack(&root, NULL, &got, &err) != 0) {
                ASSERT(got == NULL);
                refused++;
            } else {
                accepted++;
                for (int s = 0; s < 2; s++) {
                    struct rules_bar bar = {100.5, 1500, T0_MS + (12 + k) * BAR_MS};
                    for (int a = 0; a < SCENARIO_ALERTS; a++) {
                        int rc = rules_on_bar(got, alert_ids[a], sc.rules[a], symbols[s], &bar,
                                              NULL, &err);
                        (void)rc;   /* refusing a bar is fine; misbehaving is not */
                    }
                }
                struct ttai_buf again;
                pack(got, &again);
                ttai_buf_release(&again);
                rules_state_free(got);
            }
            *nodes[n] = saved;
        }
    }
    ASSERT_GT(accepted, 0);
    ASSERT_GT(refused, 500);
    ttai_reader_release(&r);
    ttai_buf_release(&buf);
    rules_state_free(st);
    scenario_release(&sc);
}

/* The whole life of a state: parse, evaluate, pack, unpack. Returns the
 * first error (the state stays usable after one: evaluation goes on). */
static int alloc_scenario(const struct rules_alloc *alloc, struct ttai_buf *packed)
{
    struct rule *rules[SCENARIO_ALERTS] = {0};
    struct rules_state *st = NULL, *copy = NULL;
    struct ttai_err err;
    int first = 0, rc = 0;
    for (int i = 0; rc == 0 && i < SCENARIO_ALERTS; i++) {
        json_t *j = json_loads(scenario_rules[i], 0, NULL);
        rc = rules_parse(j, alloc, &rules[i], &err);
        json_decref(j);
    }
    if (rc == 0)
        rc = rules_state_new(alloc, &st, &err);
    first = rc;
    struct scenario sc = {.walk = 0x9e3779b97f4a7c15ULL, .price = {100, 100}};
    for (int i = 0; st != NULL && i < 30; i++) {
        for (int s = 0; s < 2; s++) {
            struct rules_bar bar = scenario_bar(&sc, s, i);
            for (int a = 0; a < SCENARIO_ALERTS; a++) {
                rc = rules_on_bar(st, alert_ids[a], rules[a], symbols[s], &bar, NULL, &err);
                first = first != 0 ? first : rc < 0 ? rc : 0;
            }
        }
    }
    if (st != NULL) {
        ttai_buf_reset(packed);
        rules_state_pack(st, packed);
        struct ttai_reader r;
        msgpack_object o;
        ttai_reader_init(&r);
        ASSERT_OK(ttai_payload_unpack(&r, ttai_buf_payload(packed), &o), NULL);
        rc = rules_state_unpack(&o, alloc, &copy, &err);
        first = first != 0 ? first : rc;
        ttai_reader_release(&r);
    }
    rules_state_free(copy);
    rules_state_free(st);
    for (int i = 0; i < SCENARIO_ALERTS; i++)
        rules_free(rules[i]);
    return first;
}

void test_rules_alloc_failures(void)
{
    struct ttai_buf packed;
    ttai_buf_init(&packed);
    int n;
    for (n = 1;; n++) {
        ttai_alloc_fail_after((uint64_t)n);
        int rc = alloc_scenario(NULL, &packed);
        ttai_alloc_fail_after(0);
        if (rc == 0)
            break;
        ASSERT_EQ(rc, TTAI_ENOMEM);
        ASSERT_LT(n, 100000);
    }
    ASSERT_GT(n, 20);   /* the failures did reach the evaluator */
    ttai_buf_release(&packed);
}

/* A bump arena without free, like ttai_wf_alloc. */
struct arena {
    uint8_t *mem;
    size_t used, size;
};

static void *arena_alloc(void *arg, size_t size)
{
    struct arena *a = arg;
    size = (size + 15) & ~(size_t)15;
    if (size > a->size - a->used)
        return NULL;
    void *p = a->mem + a->used;
    a->used += size;
    return p;
}

void test_rules_arena_alloc(void)
{
    struct arena arena = {malloc(1 << 22), 0, 1 << 22};
    ASSERT(arena.mem != NULL);
    struct rules_alloc alloc = {arena_alloc, NULL, &arena};
    struct ttai_buf from_arena, from_heap;
    ttai_buf_init(&from_arena);
    ttai_buf_init(&from_heap);
    ASSERT_OK(alloc_scenario(&alloc, &from_arena), NULL);
    ASSERT_OK(alloc_scenario(NULL, &from_heap), NULL);
    ASSERT_GT(arena.used, 0);
    assert_same_bytes(ttai_buf_payload(&from_arena), ttai_buf_payload(&from_heap));
    ttai_buf_release(&from_arena);
    ttai_buf_release(&from_heap);
    free(arena.mem);
}
