/* mon_test.h: the virtual-time harness and the fake data activities of the
 * TTAI monitor tests (tests/monitors/); the runner, assertions and general
 * helpers are tests/harness/harness.h's.
 *
 * Each test is `void test_<name>(void)` listed in test_list.h; CTest runs
 * it as monitors_<name> in its own process. A test opens one engine on
 * the virtual clock (mt_open), drives workflows with JSON inputs and
 * signals, and checks queries, results and what the fake activities were
 * asked. mt_check_replay() replays a workflow's recorded history offline
 * and checks that it answers the query exactly as the live run does. */
#ifndef TTAI_MON_TEST_H
#define TTAI_MON_TEST_H

#include "harness.h"

#include "ttai.h"

/* Two JSON texts are the same value, key order and number types included
 * (both are read through msgpack, as payloads are). Stricter than the
 * harness's ASSERT_JSON_EQ, which ignores key order. */
#define ASSERT_JSON(actual, expected)                                           \
    mt_assert_json(__FILE__, __LINE__, (actual), (expected))
void mt_assert_json(const char *file, int line, const char *actual, const char *expected);

/* ---- Harness (harness.c) ---------------------------------------------------------- */

#define MT_T0 1767623400000LL          /* 2026-01-05T14:30:00Z, a Monday */
#define MT_SECOND 1000LL
#define MT_MINUTE (60 * MT_SECOND)
#define MT_HOUR (60 * MT_MINUTE)
#define MT_DAY (24 * MT_HOUR)

/* Which activities the engine runs: the fakes below, or the real market
 * activities (with the fake route_alerts). */
enum mt_activities { MT_FAKES, MT_MARKET };

/* Opens the engine on a new directory at start_ms. */
void mt_open(enum mt_activities acts, int64_t start_ms);
void mt_close(void);
struct ttai_engine *mt_engine(void);
int64_t mt_now(void);
void mt_settle(void);
void mt_advance(int64_t ms);
/* Closes and reopens the engine (a clean restart; runs are replayed). */
void mt_restart(void);

/* Restarts with at most `runs` runs in memory: the others are evicted and
 * rebuilt by replay for every task, signal and query. */
void mt_cache_max(size_t runs);

/* Workflows in namespace "default" unless said otherwise. JSON inputs. */
void mt_start(const char *type, const char *id, const char *input_json);
void mt_start_ns(const char *ns, const char *type, const char *id, const char *input_json);
void mt_signal_with_start(const char *type, const char *id, const char *input_json,
                          const char *signal, const char *args_json);
void mt_signal(const char *id, const char *name, const char *args_json);
void mt_signal_ns(const char *ns, const char *id, const char *name, const char *args_json);
/* Requests cancellation of the workflow. */
void mt_cancel(const char *ns, const char *id);
/* A query's answer as JSON (valid until the end of the test). */
const char *mt_query(const char *id, const char *name);
const char *mt_query_ns(const char *ns, const char *id, const char *name);
/* The result of a closed run as JSON, or the failure "type: message". */
const char *mt_result(const char *id);
/* The run's status (enum store_run_status) and current run id as text. */
int mt_status(const char *ns, const char *id);
const char *mt_run_id(const char *ns, const char *id);
/* Replays the current run of id offline (ttai_replay_store on the
 * engine's store): it must reproduce the history and, with query, answer
 * as the live run does. */
void mt_check_replay(const char *ns, const char *id, const char *query);

/* The canonical JSON of a JSON text (through msgpack). */
char *mt_canon(const char *json_text);
/* A string owned by the harness until the test ends. */
const char *mt_keep(char *malloced);

/* ---- Fake activities (fakes.c) ------------------------------------------------------
 *
 * route_alerts and deliver_alert (the alert router's deliveries) record
 * their input and succeed; the data activities answer what the test set. Every call's input is recorded, per activity type, as JSON. */

void fakes_reset(void);
size_t fake_calls(const char *type);
/* The input of the i-th call (0-based) of type, as JSON. */
const char *fake_input(const char *type, size_t i);
/* The time (engine clock) the i-th call of type ran at. */
int64_t fake_call_time(const char *type, size_t i);
/* The index of the first call of type whose input is this JSON, or -1. */
int mt_find_call(const char *type, const char *json);
/* Makes every call of type fail (final, "FakeDown") while on. */
void fake_fail(const char *type, bool on);

/* fetch_quotes answers {symbol: {"symbol", "price"}} for the symbols asked
 * that have a price; price <= 0 removes the symbol. */
void fake_quote(const char *symbol, double price);
/* From now on, the quotes of symbol carry this "volume". */
void fake_quote_volume(const char *symbol, double volume);
/* check_news answers this JSON array; or with fake_news_generate(n), n new
 * articles per call ("gen-1", "gen-2", ...) followed by the previous
 * call's articles again. */
void fake_news(const char *json_array);
void fake_news_generate(int per_call);
/* fetch_portfolio answers this JSON object; or fn(as_of or NULL,
 * account_id) as malloc'ed JSON text. */
void fake_portfolio(const char *json_object);
void fake_portfolio_fn(char *(*fn)(const char *as_of, const char *account));
void fake_screener(const char *json_object);
void fake_analyses(const char *json_array);

extern const struct ttai_activity_def *const fake_data_activities[];
extern const struct ttai_activity_def fake_route_alerts_def;
/* Engine time, read by the fakes for fake_call_time(). */
void fakes_set_clock(int64_t (*now)(void));

#endif
