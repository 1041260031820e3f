/* router.c: deduplication, rate limits and priorities over a plain value
 * (router.h).
 *
 * Invariants of an initialised struct alert_router:
 *   1. tracked <= global_limit <= ALERT_ROUTER_TRACKED_MAX. Admit refuses
 *      an alert while the rate window holds global_limit records, and
 *      prune drops every record older than the rate window, so the array
 *      never overflows.
 *   2. dedup_window_ms <= rate_window_ms: a record that still matters for
 *      deduplication is never pruned for rate limiting.
 *   3. entries[0..tracked) are in admission order; pruning keeps it.
 *   4. Nothing depends on anything but the arguments: no clock, no
 *      globals, no allocation (a replayed workflow decides the same way).
 */
#include "alerts/router.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alerts/alerts_int.h"

static const struct alert_rate_limit seed_type_limits[] = {
    {"price", 10}, {"news", 20}, {"portfolio", 5},
};

static uint64_t str_hash(const char *s)
{
    return alert__fnv1a(ALERT__FNV_OFFSET, s, strlen(s));
}

uint64_t alert_dedup_hash(const struct alert *a)
{
    /* The NUL after each part separates them: "a|b" + "c" and "a" + "b|c"
     * stay apart, which the seed's "|".join() did not guarantee. */
    const char *parts[] = {alert__str(a->type), alert__str(a->symbol), alert__str(a->message)};
    uint64_t h = ALERT__FNV_OFFSET;
    for (size_t i = 0; i < 3; i++)
        h = alert__fnv1a(h, parts[i], strlen(parts[i]) + 1);
    return h;
}

/* ---- Configuration ----------------------------------------------------------- */

static int limits_check(const struct alert_rate_limit *limits, size_t count, struct ttai_err *err)
{
    if (count > ALERT_ROUTER_TYPE_LIMITS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "%zu category limits exceed %d", count,
                         ALERT_ROUTER_TYPE_LIMITS_MAX);
    for (size_t i = 0; i < count; i++) {
        const char *c = limits[i].category;
        if (c == NULL || c[0] == '\0' || strlen(c) > ALERT_NAME_MAX ||
            !alert__utf8_ok(c, strlen(c)))
            return ttai_errf(err, TTAI_EINVAL, "category limit %zu needs a name of 1 to %d "
                             "bytes of UTF-8", i, ALERT_NAME_MAX);
        if (limits[i].limit < 1)
            return ttai_errf(err, TTAI_EINVAL, "the limit of category '%s' must be at least 1", c);
        for (size_t k = 0; k < i; k++)
            if (strcmp(limits[k].category, c) == 0)
                return ttai_errf(err, TTAI_EINVAL, "category '%s' has two limits", c);
    }
    return TTAI_OK;
}

static int config_apply(struct alert_router *r, const struct alert_router_config *cfg,
                        struct ttai_err *err)
{
    static const struct alert_router_config defaults = {0};
    if (cfg == NULL)
        cfg = &defaults;
    memset(r, 0, sizeof(*r));
    int64_t rate = cfg->rate_window_ms ? cfg->rate_window_ms : ALERT_RATE_WINDOW_MS_DEFAULT;
    int64_t dedup = cfg->dedup_window_ms ? cfg->dedup_window_ms : ALERT_DEDUP_WINDOW_MS_DEFAULT;
    uint32_t global = cfg->global_limit ? cfg->global_limit : ALERT_GLOBAL_LIMIT_DEFAULT;
    const struct alert_rate_limit *limits = cfg->type_limits;
    size_t limit_count = cfg->type_limit_count;
    if (limits == NULL) {
        limits = seed_type_limits;
        limit_count = sizeof(seed_type_limits) / sizeof(seed_type_limits[0]);
    }
    if (rate < 1 || rate > ALERT_WINDOW_MS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "the rate window must be 1 to %lld ms, not %" PRId64,
                         ALERT_WINDOW_MS_MAX, rate);
    if (dedup < 1 || dedup > rate)
        return ttai_errf(err, TTAI_EINVAL, "the dedup window must be 1 ms to the rate window "
                         "(%" PRId64 " ms), not %" PRId64, rate, dedup);
    if (global > ALERT_ROUTER_TRACKED_MAX)
        return ttai_errf(err, TTAI_EINVAL, "the global limit %u exceeds %d", global,
                         ALERT_ROUTER_TRACKED_MAX);
    int rc = limits_check(limits, limit_count, err);
    if (rc != 0)
        return rc;
    r->rate_window_ms = rate;
    r->dedup_window_ms = dedup;
    r->global_limit = global;
    r->default_type_limit = cfg->default_type_limit ? cfg->default_type_limit
                                                    : ALERT_TYPE_LIMIT_DEFAULT;
    for (size_t i = 0; i < limit_count; i++) {
        memcpy(r->type_limits[i].category, limits[i].category, strlen(limits[i].category) + 1);
        r->type_limits[i].limit = limits[i].limit;
        r->type_limits[i].category_hash = str_hash(limits[i].category);
    }
    r->type_limit_count = (uint32_t)limit_count;
    r->format = ALERT_ROUTER_FORMAT;
    return TTAI_OK;
}

int alert_router_init(struct alert_router *r, const struct alert_router_config *cfg,
                      struct ttai_err *err)
{
    int rc = config_apply(r, cfg, err);
    if (rc != 0)
        memset(r, 0, sizeof(*r));
    return rc;
}

/* ---- Deciding ------------------------------------------------------------------ */

/* How long ago at_ms was, saturating; 0 for a time not yet reached. */
static int64_t age_ms(int64_t now_ms, int64_t at_ms)
{
    if (now_ms <= at_ms)
        return 0;
    uint64_t d = (uint64_t)now_ms - (uint64_t)at_ms;
    return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t s;
    return __builtin_add_overflow(a, b, &s) ? INT64_MAX : s;
}

/* "5 min", "42 s" or "1500 ms", for reasons. */
static const char *duration_text(int64_t ms, char *buf, size_t size)
{
    if (ms > 0 && ms % 60000 == 0)
        snprintf(buf, size, "%" PRId64 " min", ms / 60000);
    else if (ms > 0 && ms % 1000 == 0)
        snprintf(buf, size, "%" PRId64 " s", ms / 1000);
    else
        snprintf(buf, size, "%" PRId64 " ms", ms);
    return buf;
}

void alert_router_prune(struct alert_router *r, int64_t now_ms)
{
    TTAI_ASSERT(r->format == ALERT_ROUTER_FORMAT);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < r->tracked; i++)
        if (age_ms(now_ms, r->entries[i].admitted_ms) < r->rate_window_ms)
            r->entries[kept++] = r->entries[i];
    r->tracked = kept;
}

static uint32_t category_limit(const struct alert_router *r, uint64_t category_hash)
{
    for (uint32_t i = 0; i < r->type_limit_count; i++)
        if (r->type_limits[i].category_hash == category_hash)
            return r->type_limits[i].limit;
    return r->default_type_limit;
}

/* Whether a record of hash is still in the dedup window; *newest_ms gets
 * the newest such record's time. */
static bool dedup_match(const struct alert_router *r, uint64_t hash, int64_t now_ms,
                        int64_t *newest_ms)
{
    bool found = false;
    for (uint32_t i = 0; i < r->tracked; i++) {
        int64_t at = r->entries[i].admitted_ms;
        if (r->entries[i].dedup_hash == hash && age_ms(now_ms, at) < r->dedup_window_ms &&
            (!found || at > *newest_ms)) {
            *newest_ms = at;
            found = true;
        }
    }
    return found;
}

/* Records of category_hash (all records when all) and the oldest of them. */
static uint32_t count_records(const struct alert_router *r, bool all, uint64_t category_hash,
                              int64_t *oldest_ms)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->tracked; i++) {
        if (!all && r->entries[i].category_hash != category_hash)
            continue;
        if (n == 0 || r->entries[i].admitted_ms < *oldest_ms)
            *oldest_ms = r->entries[i].admitted_ms;
        n++;
    }
    return n;
}

int alert_router_admit(struct alert_router *r, const struct alert *a, int64_t now_ms,
                       struct alert_verdict *out)
{
    TTAI_ASSERT(r->format == ALERT_ROUTER_FORMAT);
    struct alert_verdict v = {ALERT_ADMITTED, 0, ""};
    char w[32], ago[32];
    alert_router_prune(r, now_ms);
    uint64_t dedup_hash = alert_dedup_hash(a);
    const char *category = alert_category(a);
    uint64_t category_hash = str_hash(category);
    int64_t last = 0, oldest_all = 0, oldest_in_category = 0;
    bool duplicate = dedup_match(r, dedup_hash, now_ms, &last);
    uint32_t all = count_records(r, true, 0, &oldest_all);
    uint32_t in_category = count_records(r, false, category_hash, &oldest_in_category);
    uint32_t limit = category_limit(r, category_hash);
    if (duplicate) {
        v.decision = ALERT_DUPLICATE;
        v.until_ms = add_sat(last, r->dedup_window_ms);
        snprintf(v.reason, sizeof(v.reason), "duplicate: the same type, symbol and message "
                 "went out %s ago (window %s)", duration_text(age_ms(now_ms, last), ago,
                 sizeof(ago)), duration_text(r->dedup_window_ms, w, sizeof(w)));
        r->duplicates++;
    } else if (all >= r->global_limit) {
        v.decision = ALERT_RATE_LIMITED;
        v.until_ms = add_sat(oldest_all, r->rate_window_ms);
        snprintf(v.reason, sizeof(v.reason), "rate limited: %u alerts went out in the last %s "
                 "(global limit %u)", all, duration_text(r->rate_window_ms, w, sizeof(w)),
                 r->global_limit);
        r->rate_limited++;
    } else if (in_category >= limit) {
        v.decision = ALERT_RATE_LIMITED;
        v.until_ms = add_sat(oldest_in_category, r->rate_window_ms);
        snprintf(v.reason, sizeof(v.reason), "rate limited: %u '%.64s' alerts went out in the "
                 "last %s (limit %u)", in_category, category,
                 duration_text(r->rate_window_ms, w, sizeof(w)), limit);
        r->rate_limited++;
    } else {
        TTAI_ASSERT(r->tracked < r->global_limit);
        r->entries[r->tracked].admitted_ms = now_ms;
        r->entries[r->tracked].dedup_hash = dedup_hash;
        r->entries[r->tracked].category_hash = category_hash;
        r->tracked++;
        r->admitted++;
    }
    if (out != NULL)
        *out = v;
    return v.decision;
}

void alert_router_stats_get(const struct alert_router *r, struct alert_router_stats *out)
{
    TTAI_ASSERT(r->format == ALERT_ROUTER_FORMAT);
    out->admitted = r->admitted;
    out->duplicates = r->duplicates;
    out->rate_limited = r->rate_limited;
    out->tracked = r->tracked;
}

/* ---- Packing ---------------------------------------------------------------------
 *
 * {"format": 1, "dedup_window_ms", "rate_window_ms", "global_limit",
 *  "default_type_limit": integers, "type_limits": [[category, limit], ...],
 *  "counts": [admitted, duplicates, rate_limited],
 *  "entries": [[admitted_ms, dedup_hash, category_hash], ...]}
 * Hashes are written as signed 64-bit integers of the same bits. */

void alert_router_pack(const struct alert_router *r, struct ttai_buf *out)
{
    TTAI_ASSERT(r->format == ALERT_ROUTER_FORMAT);
    ttai_buf_map(out, 8);
    ttai_buf_str(out, "format");
    ttai_buf_int(out, r->format);
    ttai_buf_str(out, "dedup_window_ms");
    ttai_buf_int(out, r->dedup_window_ms);
    ttai_buf_str(out, "rate_window_ms");
    ttai_buf_int(out, r->rate_window_ms);
    ttai_buf_str(out, "global_limit");
    ttai_buf_int(out, r->global_limit);
    ttai_buf_str(out, "default_type_limit");
    ttai_buf_int(out, r->default_type_limit);
    ttai_buf_str(out, "type_limits");
    ttai_buf_array(out, r->type_limit_count);
    for (uint32_t i = 0; i < r->type_limit_count; i++) {
        ttai_buf_array(out, 2);
        ttai_buf_str(out, r->type_limits[i].category);
        ttai_buf_int(out, r->type_limits[i].limit);
    }
    ttai_buf_str(out, "counts");
    ttai_buf_array(out, 3);
    ttai_buf_int(out, (int64_t)r->admitted);
    ttai_buf_int(out, (int64_t)r->duplicates);
    ttai_buf_int(out, (int64_t)r->rate_limited);
    ttai_buf_str(out, "entries");
    ttai_buf_array(out, r->tracked);
    for (uint32_t i = 0; i < r->tracked; i++) {
        ttai_buf_array(out, 3);
        ttai_buf_int(out, r->entries[i].admitted_ms);
        ttai_buf_int(out, (int64_t)r->entries[i].dedup_hash);
        ttai_buf_int(out, (int64_t)r->entries[i].category_hash);
    }
}

/* An array of exactly n elements, or NULL. */
static const msgpack_object *tuple(const msgpack_object *o, uint32_t n)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != n)
        return NULL;
    return o->via.array.ptr;
}

static bool get_int(const msgpack_object *map, const char *key, int64_t min, int64_t max,
                    int64_t *out)
{
    return ttai_obj_int(ttai_obj_get(map, key), out) && *out >= min && *out <= max;
}

static int unpack_config(struct alert_router *r, const msgpack_object *o, struct ttai_err *err)
{
    int64_t format, dedup, rate, global, type_default;
    if (!ttai_obj_int(ttai_obj_get(o, "format"), &format))
        return ttai_errf(err, TTAI_EINVAL, "a packed alert router needs a 'format'");
    if (format != ALERT_ROUTER_FORMAT)
        return ttai_errf(err, TTAI_EVERSION, "alert router format %" PRId64 " is not %d",
                         format, ALERT_ROUTER_FORMAT);
    if (!get_int(o, "dedup_window_ms", 1, ALERT_WINDOW_MS_MAX, &dedup) ||
        !get_int(o, "rate_window_ms", 1, ALERT_WINDOW_MS_MAX, &rate) ||
        !get_int(o, "global_limit", 1, ALERT_ROUTER_TRACKED_MAX, &global) ||
        !get_int(o, "default_type_limit", 1, UINT32_MAX, &type_default))
        return ttai_errf(err, TTAI_EINVAL, "a packed alert router has a missing or out of range "
                         "window or limit");
    const msgpack_object *limits = ttai_obj_get(o, "type_limits");
    if (limits == NULL || limits->type != MSGPACK_OBJECT_ARRAY ||
        limits->via.array.size > ALERT_ROUTER_TYPE_LIMITS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "a packed alert router needs 'type_limits'");
    char names[ALERT_ROUTER_TYPE_LIMITS_MAX][ALERT_NAME_MAX + 1];
    struct alert_rate_limit table[ALERT_ROUTER_TYPE_LIMITS_MAX];
    for (uint32_t i = 0; i < limits->via.array.size; i++) {
        const msgpack_object *t = tuple(&limits->via.array.ptr[i], 2);
        const char *p;
        size_t len;
        int64_t limit;
        if (t == NULL || !ttai_obj_str(&t[0], &p, &len) || len > ALERT_NAME_MAX ||
            memchr(p, '\0', len) != NULL || !ttai_obj_int(&t[1], &limit) || limit < 1 ||
            limit > UINT32_MAX)
            return ttai_errf(err, TTAI_EINVAL, "packed category limit %u is malformed", i);
        memcpy(names[i], p, len);
        names[i][len] = '\0';
        table[i] = (struct alert_rate_limit){names[i], (uint32_t)limit};
    }
    struct alert_router_config cfg = {dedup, rate, (uint32_t)global, (uint32_t)type_default,
                                      table, limits->via.array.size};
    return config_apply(r, &cfg, err);
}

static int unpack_entries(struct alert_router *r, const msgpack_object *o, struct ttai_err *err)
{
    const msgpack_object *counts = tuple(ttai_obj_get(o, "counts"), 3);
    int64_t c[3];
    for (int i = 0; i < 3; i++)
        if (counts == NULL || !ttai_obj_int(&counts[i], &c[i]) || c[i] < 0)
            return ttai_errf(err, TTAI_EINVAL, "a packed alert router needs 'counts'");
    r->admitted = (uint64_t)c[0];
    r->duplicates = (uint64_t)c[1];
    r->rate_limited = (uint64_t)c[2];
    const msgpack_object *entries = ttai_obj_get(o, "entries");
    if (entries == NULL || entries->type != MSGPACK_OBJECT_ARRAY)
        return ttai_errf(err, TTAI_EINVAL, "a packed alert router needs 'entries'");
    if (entries->via.array.size > r->global_limit)
        return ttai_errf(err, TTAI_EINVAL, "a packed alert router tracks %u alerts, more than "
                         "its global limit %u", entries->via.array.size, r->global_limit);
    for (uint32_t i = 0; i < entries->via.array.size; i++) {
        const msgpack_object *t = tuple(&entries->via.array.ptr[i], 3);
        int64_t at, dedup_hash, category_hash;
        if (t == NULL || !ttai_obj_int(&t[0], &at) || !ttai_obj_int(&t[1], &dedup_hash) ||
            !ttai_obj_int(&t[2], &category_hash))
            return ttai_errf(err, TTAI_EINVAL, "packed alert router entry %u is malformed", i);
        r->entries[i].admitted_ms = at;
        r->entries[i].dedup_hash = (uint64_t)dedup_hash;
        r->entries[i].category_hash = (uint64_t)category_hash;
    }
    r->tracked = entries->via.array.size;
    return TTAI_OK;
}

int alert_router_unpack(struct alert_router *r, const msgpack_object *o, struct ttai_err *err)
{
    int rc = o != NULL && o->type == MSGPACK_OBJECT_MAP
                 ? unpack_config(r, o, err)
                 : ttai_errf(err, TTAI_EINVAL, "a packed alert router must be a map");
    if (rc == 0)
        rc = unpack_entries(r, o, err);
    if (rc != 0)
        memset(r, 0, sizeof(*r));
    return rc;
}

/* ---- Priorities ------------------------------------------------------------------ */

int alert_priority_level(const char *severity)
{
    if (severity == NULL || severity[0] == '\0')
        severity = "info";
    if (strcmp(severity, "critical") == 0)
        return 100;
    if (strcmp(severity, "warning") == 0)
        return 50;
    if (strcmp(severity, "info") == 0)
        return 10;
    return 0;
}

void alert_sort_by_priority(const struct alert **alerts, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        const struct alert *a = alerts[i];
        int level = alert_priority_level(a->severity);
        size_t k = i;
        /* Strictly lower only: equal levels keep their order (stable). */
        while (k > 0 && alert_priority_level(alerts[k - 1]->severity) < level) {
            alerts[k] = alerts[k - 1];
            k--;
        }
        alerts[k] = a;
    }
}

size_t alert_filter_by_priority(const struct alert **alerts, size_t count,
                                const char *min_severity)
{
    int min_level = alert_priority_level(min_severity);
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (alert_priority_level(alerts[i]->severity) >= min_level)
            alerts[kept++] = alerts[i];
    return kept;
}
