/* router.h: which alerts go out, and in what order: deduplication, rate
 * limits and priorities, as the seed's NotificationRouter,
 * AlertRateLimiter and AlertPrioritizer.
 *
 * The router is a pure value. It reads no clock (the caller passes the
 * time: a workflow passes ttai_wf_now()), does no I/O, allocates nothing
 * and holds no pointers, so a workflow keeps it in its state block and
 * carries it across continue-as-new with alert_router_pack() /
 * alert_router_unpack(); replaying the same alerts at the same times from
 * the same state gives the same decisions. Delivery is not its business:
 * the workflow schedules one delivery activity per admitted alert and
 * channel (channels.h).
 *
 * Decisions (alert_router_admit):
 *   1. Duplicate: an alert with the same hash of type, symbol and message
 *      was admitted less than dedup_window_ms ago (default 5 minutes).
 *   2. Rate limited: rate_window_ms (default 60 minutes) already holds
 *      global_limit admitted alerts (default 50), or the limit of the
 *      alert's category (price 10, news 20, portfolio 5, any other 10).
 *   3. Otherwise admitted, and recorded for the rules above.
 * Only admitted alerts are recorded: a duplicate or a rate-limited alert
 * consumes nothing, and a repeat of a rate-limited alert is judged afresh.
 * An alert counts while now - admitted_at < window (as in the seed).
 *
 * Memory. Records older than the rate window are dropped at each admit;
 * the dedup window may not exceed the rate window, so the router never
 * tracks more than global_limit alerts (at most ALERT_ROUTER_TRACKED_MAX).
 *
 * Full documentation: docs/alerts.md.
 */
#ifndef TTAI_ALERTS_ROUTER_H
#define TTAI_ALERTS_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "ttai.h"

#define ALERT_DEDUP_WINDOW_MS_DEFAULT (5 * 60 * 1000)
#define ALERT_RATE_WINDOW_MS_DEFAULT (60 * 60 * 1000)
#define ALERT_WINDOW_MS_MAX (7LL * 24 * 60 * 60 * 1000)   /* either window */
#define ALERT_GLOBAL_LIMIT_DEFAULT 50
#define ALERT_TYPE_LIMIT_DEFAULT 10         /* a category without its own limit */
#define ALERT_ROUTER_TRACKED_MAX 256        /* the largest global_limit */
#define ALERT_ROUTER_TYPE_LIMITS_MAX 16

/* The format alert_router_pack() writes. Changing the packed layout or
 * the hashes (alerts_int.h)? Bump it, and keep unpacking the old one. */
#define ALERT_ROUTER_FORMAT 1

/* A category's limit per rate window. */
struct alert_rate_limit {
    const char *category;               /* 1 to ALERT_NAME_MAX bytes */
    uint32_t limit;                     /* at least 1 */
};

/* Zero fields take the defaults above. */
struct alert_router_config {
    int64_t dedup_window_ms;            /* at most rate_window_ms */
    int64_t rate_window_ms;             /* at most ALERT_WINDOW_MS_MAX */
    uint32_t global_limit;              /* at most ALERT_ROUTER_TRACKED_MAX */
    uint32_t default_type_limit;
    /* NULL: the seed's table, price 10, news 20, portfolio 5. */
    const struct alert_rate_limit *type_limits;
    size_t type_limit_count;            /* at most ALERT_ROUTER_TYPE_LIMITS_MAX */
};

/* A router, about 8 KiB, for a workflow's state block or the stack.
 * Fields are private; zeroed memory is not a router until
 * alert_router_init() or alert_router_unpack() ran. */
struct alert_router {
    uint32_t format;                    /* ALERT_ROUTER_FORMAT once set up */
    uint32_t global_limit;
    uint32_t default_type_limit;
    uint32_t type_limit_count;
    int64_t dedup_window_ms;
    int64_t rate_window_ms;
    struct {
        char category[ALERT_NAME_MAX + 1];
        uint32_t limit;
        uint64_t category_hash;
    } type_limits[ALERT_ROUTER_TYPE_LIMITS_MAX];
    uint64_t admitted, duplicates, rate_limited;   /* decisions so far */
    uint32_t tracked;                   /* entries in use, <= global_limit */
    struct {
        int64_t admitted_ms;
        uint64_t dedup_hash;            /* alert_dedup_hash() */
        uint64_t category_hash;
    } entries[ALERT_ROUTER_TRACKED_MAX];  /* in admission order */
};

/* Sets r up empty with cfg (NULL: every default). TTAI_EINVAL when cfg is
 * out of range (err says how); r is then zeroed. */
int alert_router_init(struct alert_router *r, const struct alert_router_config *cfg,
                      struct ttai_err *err) TTAI_MUST_CHECK;

enum alert_decision { ALERT_ADMITTED = 0, ALERT_DUPLICATE, ALERT_RATE_LIMITED };

struct alert_verdict {
    int decision;                       /* enum alert_decision */
    /* When the same alert would stop being refused for this reason (the
     * refusing record leaves its window); 0 when admitted. */
    int64_t until_ms;
    char reason[192];                   /* "" when admitted */
};

/* Decides a (see the top of this file), records it when admitted, and
 * returns the decision (also in *out, which may be NULL). Never fails. */
int alert_router_admit(struct alert_router *r, const struct alert *a, int64_t now_ms,
                       struct alert_verdict *out);
/* Drops the records that no longer count at now_ms (admit does it too). */
void alert_router_prune(struct alert_router *r, int64_t now_ms);

struct alert_router_stats {
    uint64_t admitted, duplicates, rate_limited;
    uint32_t tracked;                   /* records kept now */
};
void alert_router_stats_get(const struct alert_router *r, struct alert_router_stats *out);

/* Appends the whole state, configuration included, as a msgpack map.
 * Unpacking it gives a router that packs to the same bytes and decides
 * exactly as r would have. */
void alert_router_pack(const struct alert_router *r, struct ttai_buf *out);
/* Restores a packed router into r. TTAI_EINVAL (err says what) for a map
 * that is malformed or out of range, TTAI_EVERSION for another format;
 * r is then zeroed. */
int alert_router_unpack(struct alert_router *r, const msgpack_object *o,
                        struct ttai_err *err) TTAI_MUST_CHECK;

/* The deduplication key: a 64-bit hash of type, symbol and message. */
uint64_t alert_dedup_hash(const struct alert *a);

/* ---- Priorities (the seed's PriorityConfig defaults) -------------------------- */

/* critical 100, warning 50, info 10, anything else 0; unset means info. */
int alert_priority_level(const char *severity);
/* Sorts highest priority first; alerts of equal priority keep their order.
 * An insertion sort: meant for the alerts of one check, not thousands. */
void alert_sort_by_priority(const struct alert **alerts, size_t count);
/* Keeps, in order, the alerts at or above min_severity's level and
 * returns how many are kept at the front of alerts. NULL means "info" (the
 * seed's default, which drops alerts of an unknown severity); a name that
 * is not a level keeps all. */
size_t alert_filter_by_priority(const struct alert **alerts, size_t count,
                                const char *min_severity);

#endif /* TTAI_ALERTS_ROUTER_H */
