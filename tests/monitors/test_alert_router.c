/* test_alert_router.c: the AlertRouter workflow on the virtual clock:
 * deliveries per channel in priority order, deduplication over 5 minutes,
 * the per-class rate limit, failed deliveries, and its windows held across
 * a restart (replay) and across continue-as-new (the packed router). */
#include "mon_test.h"

#include <stdio.h>

#include "store.h"

#define ROUTER "alert-router"

/* One alert as the route signal carries it (timestamp at T0). */
static void alert_json(char *out, size_t size, const char *type, const char *category,
                       const char *severity, const char *message, const char *channels)
{
    snprintf(out, size,
             "{\"type\": \"%s\", \"category\": \"%s\", \"severity\": \"%s\", \"symbol\": \"SPY\", "
             "\"message\": \"%s\", \"timestamp_ms\": %lld, \"channels\": %s}",
             type, category, severity, message, (long long)MT_T0, channels);
}

#define MIXED_BATCH                                                                          \
    "[{\"type\": \"news\", \"category\": \"news\", \"severity\": \"info\", \"symbol\": \"AAPL\", " \
    "\"message\": \"n1\", \"timestamp_ms\": 1767623400000, \"channels\": [\"discord\"]},"       \
    "{\"type\": \"pnl_critical\", \"category\": \"portfolio\", \"severity\": \"critical\", "     \
    "\"symbol\": \"SPY\", \"message\": \"c1\", \"timestamp_ms\": 1767623400000, "                \
    "\"channels\": [\"discord\", \"slack\"]},"                                                   \
    "{\"type\": \"price\", \"severity\": \"warning\", \"symbol\": \"MSFT\", \"message\": \"w1\", " \
    "\"timestamp_ms\": 1767623400000}]"

/* "channel:message" of each delivery the router's current run scheduled,
 * in history order (the pool runs them in parallel, so the fake's call
 * order is not the scheduling order), as one comma-separated text. */
static const char *scheduled(void)
{
    struct ttai_run_id run;
    ASSERT(ttai_run_id_parse(mt_run_id("default", ROUTER), &run) == 0);
    struct store_read *rd = NULL;
    struct ttai_err err = {0};
    ASSERT_OK(store_read_begin(ttai_engine_store(mt_engine()), &rd, &err), &err);
    struct store_iter it;
    ASSERT_OK(store_hist_iter_init(&it, rd, &run, 1, &err), &err);
    char out[4096] = "";
    struct store_event ev;
    while (store_hist_iter_next(&it, &ev, &err) == 1) {
        if (ev.type != STORE_EV_ACTIVITY_SCHEDULED)
            continue;
        char *text = ttai_payload_to_json((struct ttai_payload){ev.payload.data, ev.payload.len});
        json_t *in = test_json(text);
        ttai_free(text);
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s:%s", out[0] ? "," : "",
                 json_string_value(json_object_get(in, "channel")),
                 json_string_value(json_object_get(json_object_get(in, "alert"), "message")));
        json_decref(in);
    }
    store_iter_release(&it);
    store_read_end(rd);
    return mt_keep(strdup(out));
}

static long long status_field(const char *key)
{
    json_t *st = test_json(mt_query(ROUTER, "get_status"));
    long long v = json_integer_value(json_object_get(st, key));
    json_decref(st);
    return v;
}

void test_alert_router_priority_dedup_restart(void)
{
    mt_open(MT_FAKES, MT_T0);
    mt_start("AlertRouter", ROUTER, "null");
    mt_signal(ROUTER, "route", MIXED_BATCH);
    mt_settle();
    /* Critical first (one delivery per channel), then warning (no channel
     * named: the console), then info. */
    ASSERT_EQ(fake_calls("deliver_alert"), 4);
    ASSERT_STR_EQ(scheduled(), "discord:c1,slack:c1,console:w1,discord:n1");
    ASSERT_JSON(mt_query(ROUTER, "get_status"),
                "{\"admitted\": 3, \"duplicates\": 0, \"rate_limited\": 0, \"tracked\": 3, "
                "\"delivered\": 4, \"failed\": 0, \"in_flight\": 0, \"pending\": 0, "
                "\"dropped\": 0}");
    /* The same three again: duplicates within 5 minutes, nothing delivered;
     * also after a restart, which rebuilds the router by replay. */
    mt_advance(MT_MINUTE);
    mt_signal(ROUTER, "route", MIXED_BATCH);
    mt_settle();
    ASSERT_EQ(status_field("duplicates"), 3);
    mt_restart();
    mt_signal(ROUTER, "route", MIXED_BATCH);
    mt_settle();
    ASSERT_EQ(status_field("duplicates"), 6);
    ASSERT_EQ(fake_calls("deliver_alert"), 4);
    /* Past five minutes after the first: admitted again. */
    mt_advance(4 * MT_MINUTE + MT_SECOND);
    mt_signal(ROUTER, "route", MIXED_BATCH);
    mt_settle();
    ASSERT_EQ(status_field("admitted"), 6);
    ASSERT_EQ(fake_calls("deliver_alert"), 8);
    /* A channel that fails: counted as failed, the others still go. */
    fake_fail("deliver_alert", true);
    char one[512], batch[600];
    alert_json(one, sizeof(one), "margin_warning", "portfolio", "warning", "m1", "[\"email\"]");
    snprintf(batch, sizeof(batch), "[%s]", one);
    mt_signal(ROUTER, "route", batch);
    mt_settle();
    ASSERT_EQ(status_field("failed"), 1);
    ASSERT_EQ(status_field("delivered"), 8);
    fake_fail("deliver_alert", false);
    /* A malformed batch is dropped and counted, not fatal. */
    mt_signal(ROUTER, "route", "{\"not\": \"an array\"}");
    mt_settle();
    ASSERT_EQ(status_field("dropped"), 1);
    ASSERT_EQ(mt_status("default", ROUTER), STORE_RUN_RUNNING);
    mt_check_replay("default", ROUTER, "get_status");
    /* A cancellation ends its wait for batches: with nothing in flight it
     * completes at once (no batch needs to come first). */
    size_t deliveries = fake_calls("deliver_alert");
    mt_cancel("default", ROUTER);
    mt_settle();
    ASSERT_EQ(mt_status("default", ROUTER), STORE_RUN_COMPLETED);
    ASSERT_EQ(fake_calls("deliver_alert"), deliveries);
    mt_close();
}

void test_alert_router_rate_limit_continue_as_new(void)
{
    mt_open(MT_FAKES, MT_T0);
    mt_start("AlertRouter", ROUTER, "null");
    /* Twelve price alerts in one batch: ten pass the price class's limit
     * (10 per 60 minutes). */
    char batch[8192] = "[";
    for (int i = 0; i < 12; i++) {
        char one[512], message[16];
        snprintf(message, sizeof(message), "p%d", i);
        alert_json(one, sizeof(one), "price", "price", "info", message, "[\"discord\"]");
        snprintf(batch + strlen(batch), sizeof(batch) - strlen(batch), "%s%s", i ? "," : "", one);
    }
    strcat(batch, "]");
    mt_signal(ROUTER, "route", batch);
    mt_settle();
    ASSERT_EQ(status_field("admitted"), 10);
    ASSERT_EQ(status_field("rate_limited"), 2);
    ASSERT_EQ(fake_calls("deliver_alert"), 10);
    const char *first_run = mt_keep(strdup(mt_run_id("default", ROUTER)));
    /* 500 batches end the run; the next one carries the router. */
    char dup[600], one[512];
    alert_json(one, sizeof(one), "price", "price", "info", "p0", "[\"discord\"]");
    snprintf(dup, sizeof(dup), "[%s]", one);
    for (int i = 1; i < 500; i++)
        mt_signal(ROUTER, "route", dup);
    mt_settle();
    ASSERT(strcmp(mt_run_id("default", ROUTER), first_run) != 0);
    ASSERT_EQ(status_field("duplicates"), 499);
    /* In the new run: p0 is still a duplicate, and the price class is
     * still full for this hour; another class still passes. */
    mt_signal(ROUTER, "route", dup);
    char fresh[600];
    alert_json(one, sizeof(one), "price", "price", "info", "p99", "[\"discord\"]");
    snprintf(fresh, sizeof(fresh), "[%s]", one);
    mt_signal(ROUTER, "route", fresh);
    alert_json(one, sizeof(one), "news", "news", "info", "n1", "[\"discord\"]");
    snprintf(fresh, sizeof(fresh), "[%s]", one);
    mt_signal(ROUTER, "route", fresh);
    mt_settle();
    ASSERT_EQ(status_field("duplicates"), 500);
    ASSERT_EQ(status_field("rate_limited"), 3);
    ASSERT_EQ(status_field("admitted"), 11);
    ASSERT_EQ(status_field("delivered"), 11);
    ASSERT_EQ(fake_calls("deliver_alert"), 11);
    mt_check_replay("default", ROUTER, "get_status");
    mt_close();
}
