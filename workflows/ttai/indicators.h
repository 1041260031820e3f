/* indicators.h: what the rule evaluator's files share: the indicator
 * series, the layout of a parsed rule and its evaluation. Only rules.c,
 * rules_state.c and indicators.c include it; the module's public header is
 * rules.h.
 *
 * A set holds the symbols an evaluator tracks; a symbol holds its recent
 * bars and one series per (indicator, period) that some rule reads. The
 * formulas are in indicators.c and docs/rules.md. */
#ifndef TTAI_WF_INDICATORS_H
#define TTAI_WF_INDICATORS_H

#include "rules.h"

enum ind_kind {
    IND_PRICE = 0,
    IND_VOLUME,
    IND_SMA,
    IND_EMA,
    IND_RSI,
    IND_RVOL,
};
#define IND_KIND_COUNT 6

/* "price", "volume", "sma", "ema", "rsi", "rvol". */
const char *rules__ind_kind_name(enum ind_kind kind);
/* The kind named name, or -1. */
int rules__ind_kind_from_name(const char *name);
/* Whether the kind takes a period, and its default (0: a period is required). */
bool rules__ind_kind_has_period(enum ind_kind kind);
uint32_t rules__ind_kind_default_period(enum ind_kind kind);

/* An indicator on one symbol: its value on the last bar and on the one
 * before (ok false while it warms up, or when it has no value). */
struct ind_reading {
    bool ok, prev_ok;
    double value, prev;
};

struct ind_set;
struct ind_symbol;

int rules__ind_set_new(const struct rules_alloc *alloc, struct ind_set **out) TTAI_MUST_CHECK;
void rules__ind_set_free(struct ind_set *set);
/* The tracked symbol of that name, or NULL. */
struct ind_symbol *rules__ind_set_find(const struct ind_set *set, const char *symbol);
/* Finds or adds a symbol. TTAI_EINVAL (empty or too long), TTAI_ETOOBIG,
 * TTAI_ENOMEM. */
int rules__ind_set_add(struct ind_set *set, const char *symbol, struct ind_symbol **out,
                       struct ttai_err *err) TTAI_MUST_CHECK;
bool rules__ind_set_remove(struct ind_set *set, const char *symbol);

/* Makes sym compute (kind, period) from its next bar on; idempotent.
 * TTAI_ETOOBIG, TTAI_ENOMEM. */
int rules__ind_symbol_watch(struct ind_set *set, struct ind_symbol *sym, enum ind_kind kind,
                            uint32_t period, struct ttai_err *err) TTAI_MUST_CHECK;
/* Applies one bar (see rules_state_bar for the rules and errors). */
int rules__ind_symbol_bar(struct ind_symbol *sym, const struct rules_bar *bar,
                          struct ttai_err *err) TTAI_MUST_CHECK;
/* Reads (kind, period); false when sym does not compute it. */
bool rules__ind_symbol_read(const struct ind_symbol *sym, enum ind_kind kind, uint32_t period,
                            struct ind_reading *out);
/* The last bar's time and price; false before the first bar. */
bool rules__ind_symbol_last(const struct ind_symbol *sym, int64_t *t_ms, double *price);

/* Appends the set as one msgpack array; reads it back into an empty set. */
void rules__ind_set_pack(const struct ind_set *set, struct ttai_buf *out);
int rules__ind_set_unpack(struct ind_set *set, const msgpack_object *o,
                          struct ttai_err *err) TTAI_MUST_CHECK;

/* ---- Parsed rules (rules.c) ------------------------------------------------ */

enum rules__node_type { NODE_AND, NODE_OR, NODE_NOT, NODE_COND };
enum rules__cmp_op { OP_GT, OP_GE, OP_LT, OP_LE, OP_CROSSES_ABOVE, OP_CROSSES_BELOW, OP_CROSSES };
enum rules__tri { TRI_UNKNOWN = -1, TRI_FALSE = 0, TRI_TRUE = 1 };

struct rules__operand {
    uint8_t kind;                 /* enum ind_kind */
    uint32_t period;              /* 0 for price and volume */
};

struct rules__node {
    uint8_t type;                 /* enum rules__node_type */
    uint8_t op;                   /* conditions: enum rules__cmp_op */
    bool rhs_const;               /* conditions: compared with constant, else with rhs */
    uint16_t end;                 /* index just past this node's subtree */
    struct rules__operand lhs, rhs;
    double constant;
};

/* A rule is flat: its nodes in pre-order, each knowing where its subtree
 * ends, so that it is one allocation with no pointers inside. */
struct rule {
    struct rules_alloc alloc;
    enum rules_rearm_type rearm;
    double band;                  /* hysteresis: fraction of the compared value; else 0 */
    int64_t cooldown_ms;          /* 0: none */
    uint32_t bars;                /* persistence: N */
    uint16_t node_count;
    struct rules__node nodes[];   /* nodes[0] is the root */
};

/* One evaluation of a rule on a symbol's last bar. */
struct rules__eval {
    const struct rule *rule;
    const struct ind_symbol *sym;
    int8_t res[RULES_NODES_MAX];  /* each node's exact result (bias 0), for the message */
};

/* The three-valued result of node i and its subtree. bias 0: exact; +1:
 * loosened by the rule's band (the hysteresis re-arm test); -1: tightened
 * (what +1 becomes under a not). */
int rules__node_eval(struct rules__eval *e, uint16_t i, int bias);
/* Writes why the root is true (after an exact rules__node_eval) into buf. */
void rules__why(const struct rules__eval *e, char *buf, size_t size);

/* ---- Helpers (rules_state.c) ------------------------------------------------- */

void *rules__alloc(const struct rules_alloc *a, size_t size);
void rules__free(const struct rules_alloc *a, void *ptr);
/* A copy of a (NULL: the ttai_malloc allocator). */
struct rules_alloc rules__alloc_or_default(const struct rules_alloc *a);
/* Moves old_count items of item_size into a new block of new_count items
 * and frees the old one. NULL (old kept) when out of memory. */
void *rules__grow(const struct rules_alloc *a, void *old, size_t old_count, size_t new_count,
                  size_t item_size);
/* True when s is non-empty, shorter than size and free of control bytes. */
bool rules__name_ok(const char *s, size_t size);

/* Decoding the packed state: each returns false when o is absent or not
 * exactly of the expected shape. */
const msgpack_object *rules__arr(const msgpack_object *o, uint32_t len);
bool rules__f64(const msgpack_object *o, double *out);  /* float64, finite */
bool rules__i64(const msgpack_object *o, int64_t *out);
bool rules__u64(const msgpack_object *o, uint64_t max, uint64_t *out);
bool rules__bool(const msgpack_object *o, bool *out);
bool rules__name(const msgpack_object *o, char *dst, size_t size);

#endif /* TTAI_WF_INDICATORS_H */
