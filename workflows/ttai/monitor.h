/* monitor.h: what the TTAI monitor workflows share (workflows/ttai/:
 * NewsWatcher, PriceAlert, PortfolioMonitor, UserMonitor,
 * ScheduledScreener, DailyReport, WeeklyReport): reading their inputs,
 * bounded lists kept in the state block, signals that arrive before the
 * input is read, building and routing alerts, and Python-compatible text
 * formatting for the seed's messages.
 *
 * Everything here is deterministic workflow code: no clock, no I/O, no
 * globals. The only command issued is the route_alerts activity
 * (mon_route). Buffers built with struct ttai_buf use malloc, so they are
 * released or kept (mon_keep) before any blocking call.
 *
 * Full documentation: docs/monitors.md.
 */
#ifndef TTAI_WF_MONITOR_H
#define TTAI_WF_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttai.h"

#define MON_SYMBOL_MAX 16        /* a ticker and its NUL */
#define MON_SYMBOLS_MAX 256      /* symbols one monitor tracks */
#define MON_ID_MAX 64            /* alert, article, account and position ids, with the NUL */
#define MON_CHANNEL_MAX 32       /* a channel name, with the NUL */
#define MON_CHANNELS_MAX 8
#define MON_THROTTLE_KEY_MAX 96
#define MON_THROTTLE_KEYS_MAX 256
#define MON_MINUTE_MS (60 * 1000LL)
#define MON_DAY_MS (24 * 60 * MON_MINUTE_MS)

/* Activity type names, as the seed names them without "_activity". */
#define MON_ACT_ROUTE_ALERTS "route_alerts"
#define MON_ACT_FETCH_QUOTES "fetch_quotes"
#define MON_ACT_CHECK_NEWS "check_news"
#define MON_ACT_FETCH_PORTFOLIO "fetch_portfolio"
#define MON_ACT_RUN_SCREENER "run_screener"
#define MON_ACT_FETCH_ANALYSIS_HISTORY "fetch_analysis_history"

/* Timeouts of the seed; attempts bounded so that a provider that is down
 * costs one loop iteration instead of stalling the loop (Temporal's
 * default policy retries forever). */
extern const struct ttai_activity_opts mon_opts_route;      /* 30 s, 5 attempts */
extern const struct ttai_activity_opts mon_opts_quotes;     /* 30 s, 3 attempts */
extern const struct ttai_activity_opts mon_opts_news;       /* 2 min, heartbeat 30 s, 3 attempts */
extern const struct ttai_activity_opts mon_opts_portfolio;  /* 1 min, 3 attempts */
extern const struct ttai_activity_opts mon_opts_screener;   /* 30 min, heartbeat 2 min, 3 attempts */
extern const struct ttai_activity_opts mon_opts_analysis;   /* 30 s, 3 attempts */

/* ---- Reading payloads ------------------------------------------------------ */

/* A payload unpacked for reading. root is nil when the payload is empty or
 * malformed, so field reads simply find nothing. */
struct mon_doc {
    struct ttai_reader reader;
    msgpack_object root;
};

void mon_doc_open(struct mon_doc *doc, struct ttai_payload p);
void mon_doc_close(struct mon_doc *doc);

/* The value under key of a map, or NULL when o is not a map, the key is
 * absent or its value is nil (Python's dict.get(key) is None). */
const msgpack_object *mon_get(const msgpack_object *o, const char *key);
bool mon_is_map(const msgpack_object *o);
bool mon_is_array(const msgpack_object *o);
/* A number under key (integers too); dflt when absent or not a number. */
double mon_num(const msgpack_object *map, const char *key, double dflt);
bool mon_num_get(const msgpack_object *map, const char *key, double *out);
int64_t mon_int(const msgpack_object *map, const char *key, int64_t dflt);
bool mon_bool(const msgpack_object *map, const char *key, bool dflt);
/* Copies a string of 1 to size-1 bytes without NULs; false otherwise. */
bool mon_str(const msgpack_object *o, char *dst, size_t size);

/* ---- Bounded lists ----------------------------------------------------------
 *
 * Kept in state blocks (no allocation), in insertion order so that what a
 * query answers and what an activity is asked never depends on hashing. */

struct mon_symbols {
    uint32_t count;
    char items[MON_SYMBOLS_MAX][MON_SYMBOL_MAX];
};

bool mon_symbols_has(const struct mon_symbols *s, const char *symbol);
/* Adds a symbol not yet in the list; false when malformed or full. */
bool mon_symbols_add(struct mon_symbols *s, const char *symbol);
void mon_symbols_remove(struct mon_symbols *s, const char *symbol);
/* Adds the strings of an array (others are skipped); false when o is not
 * an array. */
bool mon_symbols_add_all(struct mon_symbols *s, const msgpack_object *array);
void mon_symbols_pack(const struct mon_symbols *s, struct ttai_buf *b);

struct mon_channels {
    uint32_t count;
    char items[MON_CHANNELS_MAX][MON_CHANNEL_MAX];
};

/* Reads an array of channel names (at most MON_CHANNELS_MAX, each a
 * string that fits); false and c unchanged otherwise. */
bool mon_channels_read(struct mon_channels *c, const msgpack_object *array);
void mon_channels_set1(struct mon_channels *c, const char *name);
void mon_channels_pack(const struct mon_channels *c, struct ttai_buf *b);

/* "At most one alert per key per window": the seed's _throttle_alerts. */
struct mon_throttle {
    uint32_t count;
    struct {
        char key[MON_THROTTLE_KEY_MAX];
        int64_t at_ms;
    } items[MON_THROTTLE_KEYS_MAX];
};

/* True (and now recorded) when key was never let through or was let
 * through more than window_ms ago. Keys older than the window are
 * forgotten when the table is full: they would pass anyway. */
bool mon_throttle_pass(struct mon_throttle *t, const char *key, int64_t now_ms,
                       int64_t window_ms);
/* As a map {key: ms}, to carry across continue-as-new, and back. */
void mon_throttle_pack(const struct mon_throttle *t, struct ttai_buf *b);
void mon_throttle_read(struct mon_throttle *t, const msgpack_object *map);

/* ---- Waiting between checks --------------------------------------------------------- */

/* Waits up to ms for *shutdown (set by a "shutdown" signal) or a
 * cancellation request. Cancellation closes the run as canceled (it does
 * not return then). True when shutdown was signalled. */
bool mon_wait(struct ttai_wf *wf, const bool *shutdown, int64_t ms);

/* ---- Signals before the input ----------------------------------------------
 *
 * A signal sent with the start (signal-with-start), or journaled before
 * the first task, is handled before the workflow function reads its input.
 * Such signals are kept and applied once the input is loaded, so that a
 * run always sees "input, then signals in order". */

typedef void (*mon_signal_fn)(struct ttai_wf *wf, void *state, struct ttai_payload args);

struct mon_early {
    bool started;
    uint32_t count, cap;
    struct mon_early_item {
        mon_signal_fn apply;
        struct ttai_payload args;
    } *items;                  /* ttai_wf_alloc'ed */
};

/* In a signal handler: applies the signal to state now, or keeps it for
 * mon_early_start when the input is not loaded yet. */
void mon_early_signal(struct ttai_wf *wf, struct mon_early *e, mon_signal_fn apply, void *state,
                      struct ttai_payload args);
/* In the workflow function, once the input is loaded: applies the kept
 * signals in order; later signals apply at once. */
void mon_early_start(struct ttai_wf *wf, struct mon_early *e, void *state);

/* ---- Building payloads ------------------------------------------------------ */

/* Appends an unpacked value as msgpack. */
void mon_buf_object(struct ttai_buf *b, const msgpack_object *o);
void mon_kv_str(struct ttai_buf *b, const char *key, const char *value);
void mon_kv_num(struct ttai_buf *b, const char *key, double value);
void mon_kv_int(struct ttai_buf *b, const char *key, int64_t value);
void mon_kv_bool(struct ttai_buf *b, const char *key, bool value);
/* A key followed by a copy of o, or nil when o is NULL. */
void mon_kv_obj(struct ttai_buf *b, const char *key, const msgpack_object *o);
/* Keeps b's bytes for the run's lifetime and releases b. */
struct ttai_payload mon_keep(struct ttai_wf *wf, struct ttai_buf *b);

/* Alerts being collected: encoded maps, back to back. */
struct mon_alerts {
    struct ttai_buf items;
    uint32_t count;
};

void mon_alerts_init(struct mon_alerts *a);
void mon_alerts_release(struct mon_alerts *a);
/* Runs route_alerts with {"alerts": [...], "alert_type": alert_type}, as
 * the seed does. Releases a first (it must not live across the call).
 * Returns the activity's rc (0 when routed). Nothing is run for no alerts. */
int mon_route(struct ttai_wf *wf, const char *alert_type, struct mon_alerts *a);
/* Routes one markdown report (alert_type "report", severity info) of the
 * given type ("daily_report", ...) and title to channels. */
int mon_route_report(struct ttai_wf *wf, const char *type, const char *title, const char *report,
                     const struct mon_channels *channels);

/* The reports' "positions requiring attention" (seed 001): DTE at most 7
 * (999 when absent) or P&L at most -20%. */
bool mon_needs_attention(const msgpack_object *position);

/* ---- Text -------------------------------------------------------------------- */

/* Python's format(v, ".Nf") (as printf: both round the exact binary value). */
void mon_fmt_fixed(char *dst, size_t size, double v, int decimals);
/* Python's format(v, ",.2f"): thousands separators. */
void mon_fmt_money(char *dst, size_t size, double v);
/* Python's repr() of a float: the shortest text that reads back as v,
 * "150.0" for whole values. */
void mon_fmt_repr(char *dst, size_t size, double v);
/* Python's str() of a decoded JSON value: integers as integers, floats
 * with repr, strings as they are, True/False/None; dflt when o is NULL. */
void mon_fmt_value(char *dst, size_t size, const msgpack_object *o, const char *dflt);
/* Appends printf output to the NUL-terminated text in dst (size bytes in
 * all), truncating. */
void mon_textf(char *dst, size_t size, const char *fmt, ...) TTAI_PRINTF(3, 4);

/* ---- Time --------------------------------------------------------------------- */

/* "2026-01-05" (UTC) into out (at least 11 bytes). */
void mon_date(int64_t ms, char *out, size_t size);
/* Days since 1970-01-01 of the UTC date of ms. */
int64_t mon_days(int64_t ms);
/* 0 Sunday ... 6 Saturday (UTC). */
int mon_weekday(int64_t ms);
/* Parses RFC 3339 ("2026-01-05T14:30:00Z", fraction and offset optional). */
bool mon_time_parse(const char *text, size_t len, int64_t *ms);
/* Parses "YYYY-MM-DD" into days since 1970-01-01. */
bool mon_date_parse(const char *text, size_t len, int64_t *days);

#endif /* TTAI_WF_MONITOR_H */
