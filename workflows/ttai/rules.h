/* rules.h: the rule-tree alert evaluator (seed 003's AlertEvaluator).
 *
 * A rule is a tree of `and` / `or` / `not` over conditions that compare an
 * indicator (price, volume, sma, ema, rsi, rvol) with a constant or with
 * another indicator (>, >=, <, <=, crosses_above, crosses_below, crosses),
 * plus a re-arm policy (simple, hysteresis, cooldown, persistence,
 * crossing) that decides when a true rule fires. docs/rules.md gives the
 * JSON format, every formula and every re-arm mode with a worked example.
 *
 * The module is pure so that workflows can embed it: it reads no clock
 * (bar times are passed in), draws no random numbers, does no I/O and has
 * no global state. Feeding the same bars in the same order gives the same
 * fires and bit-identical state, so replay reproduces it. The state packs
 * to msgpack and unpacks exactly (doubles travel as float64), so that a
 * workflow carries it across continue-as-new.
 *
 * Memory. Everything is allocated through a struct rules_alloc. With NULL
 * it is ttai_malloc/ttai_free. Workflow code passes an allocator over
 * ttai_wf_alloc with a NULL free: the memory then lives as long as the run
 * is in memory, which is what a state held across blocking calls needs
 * (docs/workflows.md, "Memory").
 *
 * Typical use: one struct rules_state per workflow; for each quote of a
 * symbol call rules_on_bar() once per alert watching that symbol. A bar
 * repeated with the same time and values is applied once, so every alert
 * may pass the same bar.
 */
#ifndef TTAI_WF_RULES_H
#define TTAI_WF_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttai.h"

/* ---- Limits ------------------------------------------------------------------ */

#define RULES_NODES_MAX 64        /* nodes of one rule (groups and conditions) */
#define RULES_DEPTH_MAX 8         /* nesting of groups; the root is depth 1 */
#define RULES_PERIOD_MAX 1000     /* longest indicator period, in bars */
#define RULES_BARS_MAX 1000       /* longest persistence requirement, in bars */
#define RULES_COOLDOWN_MS_MAX (366LL * 24 * 3600 * 1000)
#define RULES_SYMBOL_MAX 32       /* bytes of a symbol with its NUL */
#define RULES_ALERT_ID_MAX 64     /* bytes of an alert id with its NUL */
#define RULES_SYMBOLS_MAX 1024    /* symbols one state tracks */
#define RULES_SERIES_MAX 64       /* distinct (indicator, period) per symbol */
#define RULES_SLOTS_MAX 4096      /* (alert, symbol) pairs with re-arm state */
#define RULES_MESSAGE_MAX 512     /* bytes of a fire's message with its NUL */

/* ---- Allocation -------------------------------------------------------------- */

typedef void *(*rules_alloc_fn)(void *arg, size_t size);
typedef void (*rules_free_fn)(void *arg, void *ptr);

/* alloc returns NULL on failure (the call then fails with TTAI_ENOMEM and
 * leaves nothing half-done). free may be NULL when memory is released with
 * its owner (an arena, ttai_wf_alloc). The struct is copied. */
struct rules_alloc {
    rules_alloc_fn alloc;
    rules_free_fn free;
    void *arg;
};

/* ---- Rules -------------------------------------------------------------------- */

/* A parsed rule with its re-arm policy; immutable once parsed, so one rule
 * may be evaluated for many alerts and symbols. */
struct rule;

enum rules_rearm_type {
    RULES_REARM_SIMPLE = 0,       /* fires on every bar the rule is true */
    RULES_REARM_HYSTERESIS,       /* once, then again after the values move back by a band */
    RULES_REARM_COOLDOWN,         /* at most once per cooldown */
    RULES_REARM_PERSISTENCE,      /* once the rule held N bars in a row, once per run of bars */
    RULES_REARM_CROSSING,         /* on the bar the rule turns from false to true */
};

/* Parses an alert definition: a JSON object with "rule" (required) and
 * "rearm" (optional, default {"type": "simple"}); other keys (ticker,
 * timeframe, notify, ...) belong to the caller and are ignored. alloc may
 * be NULL (ttai_malloc). On success *out owns a rule freed by
 * rules_free(). Errors: TTAI_EINVAL with err naming the bad node by path,
 * e.g. "rule.conditions[1].indicator: unknown indicator 'macd'";
 * TTAI_ENOMEM. *out is untouched on failure. */
int rules_parse(json_t *alert, const struct rules_alloc *alloc, struct rule **out,
                struct ttai_err *err) TTAI_MUST_CHECK;
/* Frees a rule (through its allocator). NULL: no-op. */
void rules_free(struct rule *rule);
/* The rule back as a new JSON object {"rule": ..., "rearm": ...} in the
 * canonical form (defaults written out), which rules_parse reads back to an
 * identical rule. The caller owns the reference (json_decref); NULL when
 * out of memory. */
json_t *rules_to_json(const struct rule *rule);
enum rules_rearm_type rules_rearm_type(const struct rule *rule);

/* ---- Evaluator state ------------------------------------------------------------- */

/* Indicator series per symbol and re-arm state per (alert, symbol). */
struct rules_state;

struct rules_bar {
    double price;                 /* last price; finite */
    double volume;                /* volume of the bar; finite, >= 0 */
    int64_t t_ms;                 /* bar time, ms since the epoch; increasing per symbol */
};

/* What rules_on_bar / rules_eval report when an alert fires. */
struct rules_fire {
    char alert_id[RULES_ALERT_ID_MAX];
    char symbol[RULES_SYMBOL_MAX];
    int64_t t_ms;                 /* time of the bar that fired */
    double price;                 /* price of that bar */
    uint64_t fire_count;          /* fires of this alert on this symbol, this one included */
    char message[RULES_MESSAGE_MAX]; /* why: the conditions that held, with their values */
};

/* Re-arm state of one alert on one symbol, for status queries. */
struct rules_alert_info {
    bool armed;                   /* hysteresis and persistence: may fire again */
    uint32_t streak_bars;         /* persistence: true bars in a row (capped at N) */
    int last_result;              /* the rule on the last bar: 0 false, 1 true, -1 unknown */
    uint64_t fire_count;
    int64_t last_fire_ms;         /* time of the last fire; 0 when fire_count is 0 */
};

/* A new empty state. alloc may be NULL (ttai_malloc). Errors: TTAI_ENOMEM. */
int rules_state_new(const struct rules_alloc *alloc, struct rules_state **out,
                    struct ttai_err *err) TTAI_MUST_CHECK;
/* Frees the state. NULL: no-op. */
void rules_state_free(struct rules_state *st);

/* Makes symbol compute every indicator the rule reads, from its next bar
 * on (an indicator added to a symbol that already has bars warms up from
 * then). Idempotent. rules_on_bar and rules_eval call it themselves.
 * Errors: TTAI_EINVAL (bad symbol), TTAI_ETOOBIG (RULES_SYMBOLS_MAX or
 * RULES_SERIES_MAX reached), TTAI_ENOMEM; on error the state is as before
 * except that indicators already added stay. */
int rules_state_watch(struct rules_state *st, const struct rule *rule, const char *symbol,
                      struct ttai_err *err) TTAI_MUST_CHECK;

/* Feeds one bar of symbol to every indicator it computes. A bar with the
 * same time and values as the symbol's last one is ignored (0), so that
 * each alert may pass the same bar. Errors: TTAI_ENOTFOUND (no rule was
 * watched on symbol), TTAI_EINVAL (non-finite price, negative or
 * non-finite volume, a time before the last bar's), TTAI_ECONFLICT (same
 * time as the last bar, other values). The state is unchanged on error. */
int rules_state_bar(struct rules_state *st, const char *symbol, const struct rules_bar *bar,
                    struct ttai_err *err) TTAI_MUST_CHECK;

/* Evaluates the rule of alert_id on symbol's last bar and steps its re-arm
 * state. Returns 1 and fills *fire (if not NULL) when the alert fires, 0
 * when it does not (*fire untouched; also when symbol has no bar yet).
 * Errors: TTAI_EINVAL (bad alert id or symbol), TTAI_ECONFLICT (this alert
 * was already evaluated on this bar of this symbol), TTAI_ETOOBIG
 * (RULES_SLOTS_MAX reached), TTAI_ENOMEM. */
int rules_eval(struct rules_state *st, const char *alert_id, const struct rule *rule,
               const char *symbol, struct rules_fire *fire, struct ttai_err *err) TTAI_MUST_CHECK;

/* rules_state_watch + rules_state_bar + rules_eval: one bar for one alert.
 * Returns 1 (fired), 0 or an error of those three. */
int rules_on_bar(struct rules_state *st, const char *alert_id, const struct rule *rule,
                 const char *symbol, const struct rules_bar *bar, struct rules_fire *fire,
                 struct ttai_err *err) TTAI_MUST_CHECK;

/* Drops the re-arm state of alert_id on every symbol: when the alert is
 * removed, or to re-arm it by hand (it then starts over as new). Returns
 * how many (alert, symbol) states were dropped. */
size_t rules_state_forget(struct rules_state *st, const char *alert_id);
/* Drops a symbol's bars and indicators (its alerts' re-arm states stay).
 * Returns true when the symbol was tracked. */
bool rules_state_forget_symbol(struct rules_state *st, const char *symbol);

/* The current value of an indicator ("sma", period 20; period 0 for
 * "price" and "volume", or for the default period of rsi and rvol) on
 * symbol. Returns 1 with *value set when it has a value, 0 while it warms
 * up, TTAI_ENOTFOUND when the symbol does not compute it, TTAI_EINVAL for
 * an unknown indicator name. */
int rules_state_indicator(const struct rules_state *st, const char *symbol,
                          const char *indicator, uint32_t period, double *value);
/* The re-arm state of alert_id on symbol; TTAI_ENOTFOUND before its first
 * evaluation. */
int rules_state_alert(const struct rules_state *st, const char *alert_id, const char *symbol,
                      struct rules_alert_info *out);

/* Appends the whole state to out as one msgpack value (format in
 * docs/rules.md). Packing is canonical: equal states give equal bytes. */
void rules_state_pack(const struct rules_state *st, struct ttai_buf *out);
/* Rebuilds a state from a packed one. alloc may be NULL (ttai_malloc).
 * Every field is validated: TTAI_EDECODE with err saying which, or
 * TTAI_EVERSION, or TTAI_ENOMEM; *out is untouched on failure. */
int rules_state_unpack(const msgpack_object *packed, const struct rules_alloc *alloc,
                       struct rules_state **out, struct ttai_err *err) TTAI_MUST_CHECK;

#endif /* TTAI_WF_RULES_H */
