/* rules.c: alert rules: parsing, back to JSON, evaluation and the "why"
 * message (see rules.h; the format and examples are in docs/rules.md; the
 * evaluator state and re-arming are in rules_state.c).
 *
 * Conditions are three-valued: an indicator still warming up makes its
 * condition unknown; and is false if any child is false, else unknown if
 * any is; or is true if any child is true, else unknown if any is; not
 * unknown is unknown. Only true fires.
 *
 * Invariants:
 *   1. Parsed rules have at most RULES_NODES_MAX nodes and RULES_DEPTH_MAX
 *      levels, so the recursions over a rule are bounded.
 *   2. A parsed rule never changes; rules_to_json then rules_parse gives
 *      back the same nodes and policy.
 */
#include "rules.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "indicators.h"

#define RULES_PATH_MAX 160
#define OP_COUNT 7

static const char *const op_names[OP_COUNT] = {">",  ">=", "<",      "<=", "crosses_above",
                                               "crosses_below", "crosses"};
static const char *const group_names[3] = {"and", "or", "not"};
static const char *const rearm_names[5] = {"simple", "hysteresis", "cooldown", "persistence",
                                           "crossing"};

/* ---- Parsing -------------------------------------------------------------------- */

struct parse {
    struct rules__node nodes[RULES_NODES_MAX];
    uint16_t count;
    struct ttai_err *err;
};

/* Fails with "path.field: message" (field may be NULL). */
static int TTAI_PRINTF(4, 5) perr(struct ttai_err *err, const char *path, const char *field,
                                  const char *fmt, ...)
{
    char msg[TTAI_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ttai_errf(err, TTAI_EINVAL, "%s%s%s: %s", path, field ? "." : "", field ? field : "",
                     msg);
}

static int check_keys(struct ttai_err *err, json_t *obj, const char *path,
                      const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i] == NULL)
            return perr(err, path, key, "unknown key");
    }
    return 0;
}

/* "indicator" and "period" of obj into *out. */
static int parse_operand(struct ttai_err *err, json_t *obj, const char *path,
                         struct rules__operand *out)
{
    json_t *name = json_object_get(obj, "indicator");
    if (!json_is_string(name))
        return perr(err, path, "indicator", "must be a string");
    int kind = rules__ind_kind_from_name(json_string_value(name));
    if (kind < 0)
        return perr(err, path, "indicator",
                    "unknown indicator '%.40s' (expected price, volume, sma, ema, rsi or rvol)",
                    json_string_value(name));
    json_t *period = json_object_get(obj, "period");
    out->kind = (uint8_t)kind;
    out->period = 0;
    if (!rules__ind_kind_has_period(kind)) {
        if (period != NULL)
            return perr(err, path, "period", "%s takes no period", rules__ind_kind_name(kind));
        return 0;
    }
    if (period == NULL) {
        out->period = rules__ind_kind_default_period(kind);
        if (out->period == 0)
            return perr(err, path, "period", "missing (%s needs a period)",
                        rules__ind_kind_name(kind));
        return 0;
    }
    if (!json_is_integer(period) || json_integer_value(period) < 1 ||
        json_integer_value(period) > RULES_PERIOD_MAX)
        return perr(err, path, "period", "must be an integer from 1 to %d", RULES_PERIOD_MAX);
    out->period = (uint32_t)json_integer_value(period);
    return 0;
}

static int parse_cond(struct parse *p, json_t *obj, const char *path)
{
    static const char *const keys[] = {"indicator", "period", "operator", "value", NULL};
    static const char *const operand_keys[] = {"indicator", "period", NULL};
    struct rules__node *n = &p->nodes[p->count++];
    *n = (struct rules__node){.type = NODE_COND};
    int rc = check_keys(p->err, obj, path, keys);
    if (rc == 0)
        rc = parse_operand(p->err, obj, path, &n->lhs);
    if (rc != 0)
        return rc;
    json_t *op = json_object_get(obj, "operator");
    if (!json_is_string(op))
        return perr(p->err, path, "operator", "%s", op == NULL ? "missing" : "must be a string");
    while (n->op < OP_COUNT && strcmp(op_names[n->op], json_string_value(op)) != 0)
        n->op++;
    if (n->op == OP_COUNT)
        return perr(p->err, path, "operator",
                    "unknown operator '%.40s' (expected >, >=, <, <=, crosses_above, "
                    "crosses_below or crosses)", json_string_value(op));
    json_t *value = json_object_get(obj, "value");
    n->end = p->count;
    if (json_is_number(value) && isfinite(json_number_value(value))) {
        n->rhs_const = true;
        n->constant = json_number_value(value);
        return 0;
    }
    if (!json_is_object(value))
        return perr(p->err, path, "value", "%s",
                    value == NULL ? "missing" : "must be a number or an indicator object");
    char sub[RULES_PATH_MAX];
    snprintf(sub, sizeof(sub), "%s.value", path);
    rc = check_keys(p->err, value, sub, operand_keys);
    return rc != 0 ? rc : parse_operand(p->err, value, sub, &n->rhs);
}

static int parse_node(struct parse *p, json_t *j, const char *path, int depth);

static int parse_group(struct parse *p, json_t *obj, const char *path, int depth)
{
    static const char *const keys[] = {"operator", "conditions", NULL};
    json_t *op = json_object_get(obj, "operator");
    int type = 0;
    const char *op_name = json_is_string(op) ? json_string_value(op) : "";
    while (type < 3 && strcmp(group_names[type], op_name) != 0)
        type++;
    if (type == 3)
        return perr(p->err, path, NULL,
                    "needs \"indicator\" (a condition) or \"operator\": \"and\", \"or\" or "
                    "\"not\" with \"conditions\" (a group)");
    int rc = check_keys(p->err, obj, path, keys);
    if (rc != 0)
        return rc;
    json_t *children = json_object_get(obj, "conditions");
    if (!json_is_array(children) || json_array_size(children) == 0)
        return perr(p->err, path, "conditions", "must be a non-empty array");
    if (type == NODE_NOT && json_array_size(children) != 1)
        return perr(p->err, path, "conditions", "not takes exactly one condition");
    uint16_t at = p->count++;
    p->nodes[at] = (struct rules__node){.type = (uint8_t)type};
    for (size_t i = 0; i < json_array_size(children); i++) {
        char sub[RULES_PATH_MAX];
        snprintf(sub, sizeof(sub), "%s.conditions[%zu]", path, i);
        rc = parse_node(p, json_array_get(children, i), sub, depth + 1);
        if (rc != 0)
            return rc;
    }
    p->nodes[at].end = p->count;
    return 0;
}

static int parse_node(struct parse *p, json_t *j, const char *path, int depth)
{
    if (!json_is_object(j))
        return perr(p->err, path, NULL, "must be an object");
    if (depth > RULES_DEPTH_MAX)
        return perr(p->err, path, NULL, "nested deeper than %d levels", RULES_DEPTH_MAX);
    if (p->count == RULES_NODES_MAX)
        return perr(p->err, path, NULL, "the rule has more than %d nodes", RULES_NODES_MAX);
    if (json_object_get(j, "indicator") != NULL)
        return parse_cond(p, j, path);
    return parse_group(p, j, path, depth);
}

static int parse_rearm(json_t *r, struct rule *out, struct ttai_err *err)
{
    static const char *const keys[] = {"type", "threshold", "cooldown", "bars", NULL};
    if (r == NULL)
        return 0;                                 /* simple */
    if (!json_is_object(r))
        return perr(err, "rearm", NULL, "must be an object");
    int rc = check_keys(err, r, "rearm", keys);
    if (rc != 0)
        return rc;
    json_t *type = json_object_get(r, "type");
    if (!json_is_string(type))
        return perr(err, "rearm", "type", "%s", type == NULL ? "missing" : "must be a string");
    unsigned t = 0;
    while (t < 5 && strcmp(rearm_names[t], json_string_value(type)) != 0)
        t++;
    if (t == 5)
        return perr(err, "rearm", "type",
                    "unknown re-arm type '%.40s' (expected simple, hysteresis, cooldown, "
                    "persistence or crossing)", json_string_value(type));
    out->rearm = (enum rules_rearm_type)t;
    json_t *threshold = json_object_get(r, "threshold");
    json_t *bars = json_object_get(r, "bars");
    json_t *cooldown = json_object_get(r, "cooldown");
    if (t != RULES_REARM_HYSTERESIS && threshold != NULL)
        return perr(err, "rearm", "threshold", "only hysteresis takes a threshold");
    if (t != RULES_REARM_PERSISTENCE && bars != NULL)
        return perr(err, "rearm", "bars", "only persistence takes bars");
    if (t == RULES_REARM_HYSTERESIS) {
        double band = json_number_value(threshold);
        if (threshold == NULL)
            return perr(err, "rearm", "threshold", "missing (hysteresis needs a threshold)");
        if (!json_is_number(threshold) || !(band > 0.0 && band < 1.0))
            return perr(err, "rearm", "threshold",
                        "must be a number between 0 and 1 (a fraction: 0.02 is 2%%)");
        out->band = band;
    }
    if (t == RULES_REARM_PERSISTENCE) {
        if (bars == NULL)
            return perr(err, "rearm", "bars", "missing (persistence needs bars)");
        if (!json_is_integer(bars) || json_integer_value(bars) < 1 ||
            json_integer_value(bars) > RULES_BARS_MAX)
            return perr(err, "rearm", "bars", "must be an integer from 1 to %d", RULES_BARS_MAX);
        out->bars = (uint32_t)json_integer_value(bars);
    }
    if (cooldown == NULL && t == RULES_REARM_COOLDOWN)
        return perr(err, "rearm", "cooldown", "missing (cooldown needs a duration in seconds)");
    if (cooldown != NULL) {
        double seconds = json_number_value(cooldown);
        double lowest = t == RULES_REARM_COOLDOWN ? 0.001 : 0.0;
        if (!json_is_number(cooldown) || !(seconds >= lowest) ||
            seconds > RULES_COOLDOWN_MS_MAX / 1000)
            return perr(err, "rearm", "cooldown", "must be a number of seconds from %g to %lld",
                        lowest, RULES_COOLDOWN_MS_MAX / 1000);
        out->cooldown_ms = (int64_t)(seconds * 1000.0 + 0.5);   /* rounded; seconds >= 0 */
    }
    return 0;
}

int rules_parse(json_t *alert, const struct rules_alloc *alloc, struct rule **out,
                struct ttai_err *err)
{
    TTAI_ASSERT(out != NULL);
    if (!json_is_object(alert))
        return ttai_errf(err, TTAI_EINVAL, "alert definition must be a JSON object");
    json_t *root = json_object_get(alert, "rule");
    if (root == NULL)
        return perr(err, "rule", NULL, "missing");
    struct parse p = {.err = err};
    int rc = parse_node(&p, root, "rule", 1);
    struct rule head = {.alloc = rules__alloc_or_default(alloc), .node_count = p.count};
    if (rc == 0)
        rc = parse_rearm(json_object_get(alert, "rearm"), &head, err);
    if (rc != 0)
        return rc;
    struct rule *rule = rules__alloc(&head.alloc, sizeof(*rule) + p.count * sizeof(p.nodes[0]));
    if (rule == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory for a rule");
    *rule = head;
    memcpy(rule->nodes, p.nodes, p.count * sizeof(p.nodes[0]));
    *out = rule;
    return 0;
}

void rules_free(struct rule *rule)
{
    if (rule != NULL) {
        struct rules_alloc a = rule->alloc;
        rules__free(&a, rule);
    }
}

enum rules_rearm_type rules_rearm_type(const struct rule *rule)
{
    TTAI_ASSERT(rule != NULL);
    return rule->rearm;
}

/* ---- Back to JSON ------------------------------------------------------------------ */

/* Integral values print as JSON integers ("150", not "150.0"). */
static json_t *number_json(double v)
{
    if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v && !(v == 0.0 && signbit(v)))
        return json_integer((json_int_t)v);
    return json_real(v);
}

static int operand_json(json_t *obj, const struct rules__operand *o)
{
    int rc = json_object_set_new(obj, "indicator", json_string(rules__ind_kind_name(o->kind)));
    if (rules__ind_kind_has_period(o->kind))
        rc |= json_object_set_new(obj, "period", json_integer(o->period));
    return rc;
}

static json_t *node_json(const struct rule *r, uint16_t i)
{
    const struct rules__node *n = &r->nodes[i];
    json_t *obj = json_object();
    int rc = obj == NULL ? -1 : 0;
    if (rc == 0 && n->type == NODE_COND) {
        json_t *value = n->rhs_const ? number_json(n->constant) : json_object();
        if (value != NULL && !n->rhs_const)
            rc |= operand_json(value, &n->rhs);
        rc |= operand_json(obj, &n->lhs);
        rc |= json_object_set_new(obj, "operator", json_string(op_names[n->op]));
        rc |= json_object_set_new(obj, "value", value);
    } else if (rc == 0) {
        json_t *children = json_array();
        rc |= json_object_set_new(obj, "operator", json_string(group_names[n->type]));
        for (uint16_t c = i + 1; children != NULL && c < n->end; c = r->nodes[c].end)
            rc |= json_array_append_new(children, node_json(r, c));
        rc |= json_object_set_new(obj, "conditions", children);
    }
    if (rc != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *rules_to_json(const struct rule *rule)
{
    TTAI_ASSERT(rule != NULL);
    json_t *out = json_object(), *rearm = json_object();
    int rc = out == NULL || rearm == NULL ? -1 : 0;
    rc |= json_object_set_new(rearm, "type", json_string(rearm_names[rule->rearm]));
    if (rule->rearm == RULES_REARM_HYSTERESIS)
        rc |= json_object_set_new(rearm, "threshold", json_real(rule->band));
    if (rule->rearm == RULES_REARM_PERSISTENCE)
        rc |= json_object_set_new(rearm, "bars", json_integer(rule->bars));
    if (rule->cooldown_ms > 0)
        rc |= json_object_set_new(rearm, "cooldown", number_json(rule->cooldown_ms / 1000.0));
    rc |= json_object_set_new(out, "rule", node_json(rule, 0));
    rc |= json_object_set_new(out, "rearm", rearm);
    if (rc != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- Evaluation ------------------------------------------------------------------- */

static void read_operand(const struct ind_symbol *sym, const struct rules__operand *o,
                         struct ind_reading *out)
{
    if (!rules__ind_symbol_read(sym, o->kind, o->period, out))
        *out = (struct ind_reading){0};
}

static void read_rhs(const struct ind_symbol *sym, const struct rules__node *n,
                     struct ind_reading *out)
{
    if (n->rhs_const)
        *out = (struct ind_reading){true, true, n->constant, n->constant};
    else
        read_operand(sym, &n->rhs, out);
}

/* bias 0: exact; +1: loosened by the band (the hysteresis re-arm test);
 * -1: tightened (under a not). Loosening lowers the level of >, >= and
 * raises that of <, <=; a crossing then counts as its level, and crosses
 * as "within the band of the level". Tightening leaves crossings exact. */
static int cond_eval(const struct rules__eval *e, const struct rules__node *n, int bias)
{
    struct ind_reading a, b;
    read_operand(e->sym, &n->lhs, &a);
    read_rhs(e->sym, n, &b);
    if (!a.ok || !b.ok)
        return TRI_UNKNOWN;
    double band = fabs(b.value) * e->rule->band;
    double shift = bias * band;
    double above = b.value - shift, below = b.value + shift;
    switch ((enum rules__cmp_op)n->op) {
    case OP_GT: return a.value > above;
    case OP_GE: return a.value >= above;
    case OP_LT: return a.value < below;
    case OP_LE: return a.value <= below;
    default: break;
    }
    if (bias > 0)
        return n->op == OP_CROSSES_ABOVE   ? a.value >= above
               : n->op == OP_CROSSES_BELOW ? a.value <= below
                                           : fabs(a.value - b.value) < band;
    if (!a.prev_ok || !b.prev_ok)
        return TRI_UNKNOWN;
    bool up = a.prev < b.prev && a.value >= b.value;
    bool down = a.prev > b.prev && a.value <= b.value;
    return n->op == OP_CROSSES_ABOVE ? up : n->op == OP_CROSSES_BELOW ? down : up || down;
}

/* Evaluates every node (no short cut, so that each gets its result). */
int rules__node_eval(struct rules__eval *e, uint16_t i, int bias)
{
    const struct rules__node *n = &e->rule->nodes[i];
    int res;
    if (n->type == NODE_COND) {
        res = cond_eval(e, n, bias);
    } else if (n->type == NODE_NOT) {
        int child = rules__node_eval(e, i + 1, -bias);
        res = child == TRI_UNKNOWN ? TRI_UNKNOWN : !child;
    } else {
        int dominant = n->type == NODE_AND ? TRI_FALSE : TRI_TRUE;
        bool seen_dominant = false, seen_unknown = false;
        for (uint16_t c = i + 1; c < n->end; c = e->rule->nodes[c].end) {
            int r = rules__node_eval(e, c, bias);
            seen_dominant |= r == dominant;
            seen_unknown |= r == TRI_UNKNOWN;
        }
        res = seen_dominant ? dominant : seen_unknown ? TRI_UNKNOWN : !dominant;
    }
    if (bias == 0)
        e->res[i] = (int8_t)res;
    return res;
}

/* ---- Messages ------------------------------------------------------------------------ */

struct text {
    char *s;
    size_t size, len;
};

static void TTAI_PRINTF(2, 3) text_add(struct text *t, const char *fmt, ...)
{
    if (t->len + 1 >= t->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->size ? t->len + (size_t)n : t->size - 1;
}

static void operand_text(struct text *t, const struct rules__operand *o,
                         const struct ind_reading *r, bool crossing)
{
    if (rules__ind_kind_has_period(o->kind))
        text_add(t, "%s(%" PRIu32 ") ", rules__ind_kind_name(o->kind), o->period);
    else
        text_add(t, "%s ", rules__ind_kind_name(o->kind));
    if (!r->ok)
        text_add(t, "n/a");
    else if (crossing && r->prev_ok)
        text_add(t, "%.8g -> %.8g", r->prev, r->value);
    else
        text_add(t, "%.8g", r->value);
}

static void cond_text(struct text *t, const struct rules__eval *e, const struct rules__node *n)
{
    struct ind_reading a, b;
    bool crossing = n->op >= OP_CROSSES_ABOVE;
    read_operand(e->sym, &n->lhs, &a);
    read_rhs(e->sym, n, &b);
    operand_text(t, &n->lhs, &a, crossing);
    text_add(t, " %s ", op_names[n->op]);
    if (n->rhs_const)
        text_add(t, "%.8g", n->constant);
    else
        operand_text(t, &n->rhs, &b, crossing);
}

/* why: only what made the node true (the true branches of an or); else
 * every condition under it. */
static void node_text(struct text *t, const struct rules__eval *e, uint16_t i, bool why)
{
    const struct rules__node *n = &e->rule->nodes[i];
    if (n->type == NODE_COND) {
        cond_text(t, e, n);
        return;
    }
    if (n->type == NODE_NOT)
        text_add(t, "not ");
    bool first = true;
    for (uint16_t c = i + 1; c < n->end; c = e->rule->nodes[c].end) {
        if (why && n->type == NODE_OR && e->res[c] != TRI_TRUE)
            continue;
        if (!first)
            text_add(t, " %s ", group_names[n->type]);
        first = false;
        bool group = e->rule->nodes[c].type <= NODE_OR || n->type == NODE_NOT;
        if (group)
            text_add(t, "(");
        node_text(t, e, c, why && n->type != NODE_NOT);
        if (group)
            text_add(t, ")");
    }
}

void rules__why(const struct rules__eval *e, char *buf, size_t size)
{
    struct text t = {buf, size, 0};
    TTAI_ASSERT(size > 0);
    buf[0] = '\0';
    node_text(&t, e, 0, true);
}
