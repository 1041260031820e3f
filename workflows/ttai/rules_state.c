/* rules_state.c: the evaluator state: indicator series per symbol
 * (indicators.c), re-arm state per (alert, symbol), and their packing.
 *
 * Each (alert, symbol) pair has a slot that steps once per bar; with R the
 * rule's result on that bar (rule_step):
 *
 *   simple       R: fire                                 (armed again at once)
 *   cooldown     R: fire                                 (plus the cooldown gate)
 *   hysteresis   armed and R: fire, disarm
 *                disarmed and R loosened by the band is false: arm
 *   persistence  R: streak + 1 (capped at N); else streak 0 and arm
 *                armed and streak >= N: fire, disarm
 *   crossing     R, and false (not unknown) at the slot's previous step: fire
 *
 *   Any mode with a cooldown: a fire is held back (the bar still steps the
 *   slot) until cooldown_ms have passed since the slot's previous fire.
 *
 * Invariants:
 *   1. Slots are sorted by (alert_id, symbol) and unique.
 *   2. A slot steps at most once per bar of its symbol (last_eval_ms).
 *   3. Packing is canonical and exact: pack(unpack(b)) == b.
 */
#include "rules.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "indicators.h"

#define RULES_STATE_VERSION 1

/* ---- Allocation helpers ---------------------------------------------------------- */

static void *default_alloc(void *arg, size_t size)
{
    (void)arg;
    return ttai_malloc(size);
}

static void default_free(void *arg, void *ptr)
{
    (void)arg;
    ttai_free(ptr);
}

struct rules_alloc rules__alloc_or_default(const struct rules_alloc *a)
{
    if (a != NULL && a->alloc != NULL)
        return *a;
    return (struct rules_alloc){default_alloc, default_free, NULL};
}

void *rules__alloc(const struct rules_alloc *a, size_t size) { return a->alloc(a->arg, size); }

void rules__free(const struct rules_alloc *a, void *ptr)
{
    if (ptr != NULL && a->free != NULL)
        a->free(a->arg, ptr);
}

void *rules__grow(const struct rules_alloc *a, void *old, size_t old_count, size_t new_count,
                  size_t item_size)
{
    TTAI_ASSERT(new_count >= old_count);
    void *fresh = rules__alloc(a, new_count * item_size);
    if (fresh == NULL)
        return NULL;
    if (old_count > 0)
        memcpy(fresh, old, old_count * item_size);
    rules__free(a, old);
    return fresh;
}

bool rules__name_ok(const char *s, size_t size)
{
    if (s == NULL || s[0] == '\0')
        return false;
    size_t len = strnlen(s, size);
    if (len == size)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20)
            return false;
    return true;
}

/* ---- Slots and re-arming -------------------------------------------------------------- */

struct slot {
    char alert_id[RULES_ALERT_ID_MAX];
    char symbol[RULES_SYMBOL_MAX];
    bool evaluated;               /* last_eval_ms is set */
    int64_t last_eval_ms;         /* the bar this slot last stepped on */
    bool armed;                   /* hysteresis, persistence */
    uint32_t streak;              /* persistence: true bars in a row, capped at bars */
    int8_t last_result;           /* enum tri on the last bar */
    uint64_t fire_count;
    int64_t last_fire_ms;         /* 0 while fire_count is 0 */
};

struct rules_state {
    struct rules_alloc alloc;
    struct ind_set *ind;
    struct slot *slots;           /* sorted by (alert_id, symbol) */
    size_t slot_count, slot_cap;
};

int rules_state_new(const struct rules_alloc *alloc, struct rules_state **out,
                    struct ttai_err *err)
{
    struct rules_alloc a = rules__alloc_or_default(alloc);
    struct rules_state *st = rules__alloc(&a, sizeof(*st));
    if (st == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory for a rules state");
    *st = (struct rules_state){.alloc = a};
    if (rules__ind_set_new(&a, &st->ind) != 0) {
        rules__free(&a, st);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory for a rules state");
    }
    *out = st;
    return 0;
}

void rules_state_free(struct rules_state *st)
{
    if (st == NULL)
        return;
    struct rules_alloc a = st->alloc;
    rules__ind_set_free(st->ind);
    rules__free(&a, st->slots);
    rules__free(&a, st);
}

static int slot_cmp(const struct slot *s, const char *alert_id, const char *symbol)
{
    int c = strcmp(s->alert_id, alert_id);
    return c != 0 ? c : strcmp(s->symbol, symbol);
}

static size_t slot_search(const struct rules_state *st, const char *alert_id, const char *symbol,
                          bool *found)
{
    size_t lo = 0, hi = st->slot_count;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = slot_cmp(&st->slots[mid], alert_id, symbol);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int slot_get(struct rules_state *st, const char *alert_id, const char *symbol,
                    struct slot **out, struct ttai_err *err)
{
    bool found;
    size_t at = slot_search(st, alert_id, symbol, &found);
    if (!found) {
        if (st->slot_count == RULES_SLOTS_MAX)
            return ttai_errf(err, TTAI_ETOOBIG, "cannot evaluate alert '%s': already %d alerts",
                             alert_id, RULES_SLOTS_MAX);
        if (st->slot_count == st->slot_cap) {
            size_t cap = st->slot_cap == 0 ? 8 : st->slot_cap * 2;
            void *grown = rules__grow(&st->alloc, st->slots, st->slot_count, cap,
                                      sizeof(*st->slots));
            if (grown == NULL)
                return ttai_errf(err, TTAI_ENOMEM, "out of memory for alert '%s'", alert_id);
            st->slots = grown;
            st->slot_cap = cap;
        }
        memmove(&st->slots[at + 1], &st->slots[at], (st->slot_count - at) * sizeof(*st->slots));
        st->slot_count++;
        struct slot *s = &st->slots[at];
        *s = (struct slot){.armed = true, .last_result = TRI_UNKNOWN};
        memcpy(s->alert_id, alert_id, strlen(alert_id) + 1);
        memcpy(s->symbol, symbol, strlen(symbol) + 1);
    }
    *out = &st->slots[at];
    return 0;
}

/* Steps the slot by one bar whose exact result is res; true when it fires. */
static bool rule_step(const struct rule *r, struct slot *s, struct rules__eval *e, int res,
                      int64_t t_ms)
{
    bool candidate = false;
    switch (r->rearm) {
    case RULES_REARM_SIMPLE:
    case RULES_REARM_COOLDOWN:
        candidate = res == TRI_TRUE;
        break;
    case RULES_REARM_HYSTERESIS:
        if (!s->armed && rules__node_eval(e, 0, +1) == TRI_FALSE)
            s->armed = true;
        candidate = s->armed && res == TRI_TRUE;
        break;
    case RULES_REARM_PERSISTENCE:
        if (res == TRI_TRUE) {
            s->streak += s->streak < r->bars;
        } else {
            s->streak = 0;
            s->armed = true;
        }
        candidate = s->armed && s->streak >= r->bars;
        break;
    case RULES_REARM_CROSSING:
        candidate = res == TRI_TRUE && s->last_result == TRI_FALSE;
        break;
    }
    bool cooled = s->fire_count == 0 ||
                  (t_ms >= s->last_fire_ms &&
                   (uint64_t)t_ms - (uint64_t)s->last_fire_ms >= (uint64_t)r->cooldown_ms);
    s->evaluated = true;
    s->last_eval_ms = t_ms;
    s->last_result = (int8_t)res;
    if (!candidate || !cooled)
        return false;
    s->fire_count++;
    s->last_fire_ms = t_ms;
    if (r->rearm == RULES_REARM_HYSTERESIS || r->rearm == RULES_REARM_PERSISTENCE)
        s->armed = false;
    return true;
}

int rules_state_watch(struct rules_state *st, const struct rule *rule, const char *symbol,
                      struct ttai_err *err)
{
    TTAI_ASSERT(st != NULL);
    TTAI_ASSERT(rule != NULL);
    struct ind_symbol *sym = NULL;
    int rc = rules__ind_set_add(st->ind, symbol, &sym, err);
    for (uint16_t i = 0; rc == 0 && i < rule->node_count; i++) {
        const struct rules__node *n = &rule->nodes[i];
        if (n->type != NODE_COND)
            continue;
        rc = rules__ind_symbol_watch(st->ind, sym, n->lhs.kind, n->lhs.period, err);
        if (rc == 0 && !n->rhs_const)
            rc = rules__ind_symbol_watch(st->ind, sym, n->rhs.kind, n->rhs.period, err);
    }
    return rc;
}

int rules_state_bar(struct rules_state *st, const char *symbol, const struct rules_bar *bar,
                    struct ttai_err *err)
{
    TTAI_ASSERT(st != NULL);
    TTAI_ASSERT(bar != NULL);
    struct ind_symbol *sym = symbol != NULL ? rules__ind_set_find(st->ind, symbol) : NULL;
    if (sym == NULL)
        return ttai_errf(err, TTAI_ENOTFOUND,
                         "symbol '%s' is not tracked: watch a rule on it first",
                         symbol != NULL ? symbol : "(null)");
    return rules__ind_symbol_bar(sym, bar, err);
}

int rules_eval(struct rules_state *st, const char *alert_id, const struct rule *rule,
               const char *symbol, struct rules_fire *fire, struct ttai_err *err)
{
    TTAI_ASSERT(st != NULL);
    TTAI_ASSERT(rule != NULL);
    if (!rules__name_ok(alert_id, RULES_ALERT_ID_MAX))
        return ttai_errf(err, TTAI_EINVAL, "alert id must be 1 to %d printable bytes",
                         RULES_ALERT_ID_MAX - 1);
    int rc = rules_state_watch(st, rule, symbol, err);
    if (rc != 0)
        return rc;
    struct ind_symbol *sym = rules__ind_set_find(st->ind, symbol);
    int64_t t_ms;
    double price;
    if (!rules__ind_symbol_last(sym, &t_ms, &price))
        return 0;
    struct slot *s = NULL;
    rc = slot_get(st, alert_id, symbol, &s, err);
    if (rc != 0)
        return rc;
    if (s->evaluated && s->last_eval_ms == t_ms)
        return ttai_errf(err, TTAI_ECONFLICT,
                         "alert '%s' was already evaluated on the bar of '%s' at %" PRId64 " ms",
                         alert_id, symbol, t_ms);
    struct rules__eval e = {.rule = rule, .sym = sym};
    int res = rules__node_eval(&e, 0, 0);
    if (!rule_step(rule, s, &e, res, t_ms))
        return 0;
    if (fire != NULL) {
        *fire = (struct rules_fire){.t_ms = t_ms, .price = price, .fire_count = s->fire_count};
        memcpy(fire->alert_id, alert_id, strlen(alert_id) + 1);
        memcpy(fire->symbol, symbol, strlen(symbol) + 1);
        rules__why(&e, fire->message, sizeof(fire->message));
    }
    return 1;
}

int rules_on_bar(struct rules_state *st, const char *alert_id, const struct rule *rule,
                 const char *symbol, const struct rules_bar *bar, struct rules_fire *fire,
                 struct ttai_err *err)
{
    if (!rules__name_ok(alert_id, RULES_ALERT_ID_MAX))   /* before the bar is applied */
        return ttai_errf(err, TTAI_EINVAL, "alert id must be 1 to %d printable bytes",
                         RULES_ALERT_ID_MAX - 1);
    int rc = rules_state_watch(st, rule, symbol, err);
    if (rc == 0)
        rc = rules_state_bar(st, symbol, bar, err);
    return rc != 0 ? rc : rules_eval(st, alert_id, rule, symbol, fire, err);
}

size_t rules_state_forget(struct rules_state *st, const char *alert_id)
{
    TTAI_ASSERT(st != NULL);
    TTAI_ASSERT(alert_id != NULL);
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < st->slot_count; i++) {
        if (strcmp(st->slots[i].alert_id, alert_id) == 0)
            dropped++;
        else
            st->slots[kept++] = st->slots[i];
    }
    st->slot_count = kept;
    return dropped;
}

bool rules_state_forget_symbol(struct rules_state *st, const char *symbol)
{
    return rules__ind_set_remove(st->ind, symbol);
}

int rules_state_indicator(const struct rules_state *st, const char *symbol,
                          const char *indicator, uint32_t period, double *value)
{
    int kind = rules__ind_kind_from_name(indicator);
    if (kind < 0)
        return TTAI_EINVAL;
    if (period == 0)
        period = rules__ind_kind_default_period(kind);
    if (rules__ind_kind_has_period(kind) && period == 0)
        return TTAI_EINVAL;
    const struct ind_symbol *sym = rules__ind_set_find(st->ind, symbol);
    struct ind_reading r;
    if (sym == NULL || !rules__ind_symbol_read(sym, kind, period, &r))
        return TTAI_ENOTFOUND;
    if (r.ok)
        *value = r.value;
    return r.ok ? 1 : 0;
}

int rules_state_alert(const struct rules_state *st, const char *alert_id, const char *symbol,
                      struct rules_alert_info *out)
{
    bool found;
    size_t at = slot_search(st, alert_id, symbol, &found);
    if (!found)
        return TTAI_ENOTFOUND;
    const struct slot *s = &st->slots[at];
    *out = (struct rules_alert_info){s->armed, s->streak, s->last_result, s->fire_count,
                                     s->last_fire_ms};
    return 0;
}

/* ---- Packing ----------------------------------------------------------------------------
 *
 * state = [version, symbols (indicators.c), [slot...]]
 * slot  = [alert_id, symbol, evaluated, last_eval_ms, armed, streak, last_result,
 *          fire_count, last_fire_ms]   sorted by (alert_id, symbol)
 *
 * Changing this encoding? Bump RULES_STATE_VERSION and update docs/rules.md. */

void rules_state_pack(const struct rules_state *st, struct ttai_buf *out)
{
    TTAI_ASSERT(st != NULL);
    TTAI_ASSERT(out != NULL);
    ttai_buf_array(out, 3);
    ttai_buf_int(out, RULES_STATE_VERSION);
    rules__ind_set_pack(st->ind, out);
    ttai_buf_array(out, (uint32_t)st->slot_count);
    for (size_t i = 0; i < st->slot_count; i++) {
        const struct slot *s = &st->slots[i];
        ttai_buf_array(out, 9);
        ttai_buf_str(out, s->alert_id);
        ttai_buf_str(out, s->symbol);
        ttai_buf_bool(out, s->evaluated);
        ttai_buf_int(out, s->last_eval_ms);
        ttai_buf_bool(out, s->armed);
        ttai_buf_int(out, s->streak);
        ttai_buf_int(out, s->last_result);
        ttai_buf_int(out, (int64_t)s->fire_count);
        ttai_buf_int(out, s->last_fire_ms);
    }
}

static int unpack_slot(struct rules_state *st, const msgpack_object *o, struct ttai_err *err)
{
    const msgpack_object *f = rules__arr(o, 9);
    struct slot s = {0};
    uint64_t streak, fire_count;
    int64_t last_result;
    if (f == NULL || !rules__name(&f[0], s.alert_id, sizeof(s.alert_id)) ||
        !rules__name(&f[1], s.symbol, sizeof(s.symbol)) || !rules__bool(&f[2], &s.evaluated) ||
        !rules__i64(&f[3], &s.last_eval_ms) || !rules__bool(&f[4], &s.armed) ||
        !rules__u64(&f[5], RULES_BARS_MAX, &streak) || !rules__i64(&f[6], &last_result) ||
        last_result < TRI_UNKNOWN || last_result > TRI_TRUE ||
        !rules__u64(&f[7], INT64_MAX, &fire_count) || !rules__i64(&f[8], &s.last_fire_ms))
        return ttai_errf(err, TTAI_EDECODE, "malformed alert state %zu", st->slot_count);
    s.streak = (uint32_t)streak;
    s.last_result = (int8_t)last_result;
    s.fire_count = fire_count;
    if (st->slot_count > 0 && slot_cmp(&st->slots[st->slot_count - 1], s.alert_id, s.symbol) >= 0)
        return ttai_errf(err, TTAI_EDECODE, "alert state '%s' on '%s' out of order", s.alert_id,
                         s.symbol);
    st->slots[st->slot_count++] = s;
    return 0;
}

int rules_state_unpack(const msgpack_object *packed, const struct rules_alloc *alloc,
                       struct rules_state **out, struct ttai_err *err)
{
    TTAI_ASSERT(out != NULL);
    const msgpack_object *f = rules__arr(packed, 3);
    uint64_t version;
    if (f == NULL || !rules__u64(&f[0], UINT32_MAX, &version))
        return ttai_errf(err, TTAI_EDECODE, "rules state: not a packed rules state");
    if (version != RULES_STATE_VERSION)
        return ttai_errf(err, TTAI_EVERSION, "rules state: version %" PRIu64
                         " is not supported (this build reads %d)", version, RULES_STATE_VERSION);
    if (f[2].type != MSGPACK_OBJECT_ARRAY || f[2].via.array.size > RULES_SLOTS_MAX)
        return ttai_errf(err, TTAI_EDECODE, "rules state: malformed alert states");
    struct rules_state *st;
    int rc = rules_state_new(alloc, &st, err);
    if (rc != 0)
        return rc;
    uint32_t slots = f[2].via.array.size;
    rc = rules__ind_set_unpack(st->ind, &f[1], err);
    if (rc == 0 && slots > 0) {
        st->slots = rules__alloc(&st->alloc, slots * sizeof(*st->slots));
        st->slot_cap = slots;
        if (st->slots == NULL)
            rc = ttai_errf(err, TTAI_ENOMEM, "out of memory unpacking alert states");
    }
    for (uint32_t i = 0; rc == 0 && i < slots; i++)
        rc = unpack_slot(st, &f[2].via.array.ptr[i], err);
    if (rc != 0) {
        ttai_err_prefix(err, "rules state");
        rules_state_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* ---- Decoding helpers ---------------------------------------------------------- */

const msgpack_object *rules__arr(const msgpack_object *o, uint32_t len)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != len)
        return NULL;
    return o->via.array.ptr;
}

bool rules__f64(const msgpack_object *o, double *out)
{
    /* Only float64: anything narrower was not written by us and would not
     * round-trip bit for bit. */
    if (o == NULL || o->type != MSGPACK_OBJECT_FLOAT64 || !isfinite(o->via.f64))
        return false;
    *out = o->via.f64;
    return true;
}

bool rules__i64(const msgpack_object *o, int64_t *out) { return ttai_obj_int(o, out); }

bool rules__u64(const msgpack_object *o, uint64_t max, uint64_t *out)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return false;
    *out = o->via.u64;
    return true;
}

bool rules__bool(const msgpack_object *o, bool *out) { return ttai_obj_bool(o, out); }

bool rules__name(const msgpack_object *o, char *dst, size_t size)
{
    const char *p;
    size_t len;
    if (!ttai_obj_str(o, &p, &len) || len == 0 || len >= size || memchr(p, '\0', len) != NULL)
        return false;
    memcpy(dst, p, len);
    dst[len] = '\0';
    return rules__name_ok(dst, size);
}
