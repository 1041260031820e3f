/* alert.h: an alert, the value that the router admits (router.h), the
 * formatters render (format.h) and the delivery activities send
 * (channels.h).
 *
 * Canonical form. An alert travels as a msgpack map, the same map as JSON
 * at the edges:
 *
 *   id            string, optional     (e.g. the price alert's id)
 *   type          string               "price", "news", "pnl_critical", ...
 *   category      string, optional     rate-limit class: "price", "news",
 *                                      "portfolio"; absent: the type
 *   severity      string, optional     "critical", "warning", "info";
 *                                      absent: "info"
 *   symbol        string, optional
 *   title         string, optional     replaces the heading derived from type
 *   message       string, optional
 *   timestamp_ms  integer              ms since the epoch (the workflow's time)
 *   data          map, optional        anything else (prices, P&L, ...)
 *   channels      array of strings, optional: the channel names to notify
 *
 * alert_to_json() adds "timestamp" (RFC 3339, derived from timestamp_ms);
 * alert_unpack() ignores it, and any other key it does not know. Absent,
 * nil and "" are the same for every string field: unset.
 *
 * Ownership. The string fields and data are borrowed: whoever fills a
 * struct alert by hand keeps them alive while it is used. alert_unpack()
 * and alert_copy() copy everything into one block the alert owns, freed by
 * alert_release().
 */
#ifndef TTAI_ALERTS_ALERT_H
#define TTAI_ALERTS_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ttai.h"

/* Limits, in bytes of UTF-8 without the NUL. The message and title fit the
 * smallest channel limits (a Slack section's 3000 characters, a Slack
 * header's 150). */
#define ALERT_NAME_MAX 64            /* id, type, category, severity, symbol, channel names */
#define ALERT_TITLE_MAX 128
#define ALERT_MESSAGE_MAX 3000
#define ALERT_DATA_BYTES_MAX 16384   /* the data map, as msgpack */
#define ALERT_CHANNELS_MAX 8

struct alert {
    const char *id;                  /* NULL or "": none */
    const char *type;                /* NULL or "": headings say "Alert" */
    const char *category;            /* NULL or "": the type */
    const char *severity;            /* NULL or "": "info" */
    const char *symbol;              /* NULL or "": channels show "N/A" */
    const char *title;               /* NULL or "": derived from the type */
    const char *message;             /* NULL: "" */
    int64_t timestamp_ms;            /* ms since the epoch */
    struct ttai_payload data;        /* a msgpack map; len 0: none */
    const char *channels[ALERT_CHANNELS_MAX];
    size_t channel_count;
    void *storage;                   /* private: the block alert_unpack() filled */
};

/* Zeroes a. */
void alert_init(struct alert *a);
/* Frees what alert_unpack()/alert_copy() allocated and zeroes a. */
void alert_release(struct alert *a);

/* The severity, "info" when unset; the rate-limit category, the type when
 * unset ("" when both are); the symbol, "N/A" when unset. Borrowed from a. */
const char *alert_severity(const struct alert *a);
const char *alert_category(const struct alert *a);
const char *alert_symbol_or_na(const struct alert *a);

/* TTAI_EINVAL when a string is not UTF-8 or a channel name is empty,
 * data is not one msgpack map, or more than ALERT_CHANNELS_MAX channels
 * are given; TTAI_ETOOBIG past a length limit. err says which field. */
int alert_check(const struct alert *a, struct ttai_err *err) TTAI_MUST_CHECK;

/* Appends the canonical map (set fields only, in the order above). Call
 * alert_check() first on alerts built by hand. */
void alert_pack(const struct alert *a, struct ttai_buf *out);

/* Fills out (which it initialises; release it even on error) from a
 * canonical map, copying every string and the data. Errors as
 * alert_check(), and TTAI_EINVAL for a field of the wrong type. */
int alert_unpack(const msgpack_object *o, struct alert *out, struct ttai_err *err) TTAI_MUST_CHECK;
/* The same from a payload; TTAI_EDECODE when it is not msgpack. */
int alert_from_payload(struct ttai_payload p, struct alert *out,
                       struct ttai_err *err) TTAI_MUST_CHECK;
/* The same from a JSON object. */
int alert_from_json(const json_t *j, struct alert *out, struct ttai_err *err) TTAI_MUST_CHECK;
/* A deep copy of src into dst (initialised here). Errors as alert_check(). */
int alert_copy(struct alert *dst, const struct alert *src, struct ttai_err *err) TTAI_MUST_CHECK;

/* The alert as a JSON object (the canonical keys plus "timestamp"), or
 * NULL when out of memory or when a is not valid. Caller json_decref()s. */
json_t *alert_to_json(const struct alert *a);

#endif /* TTAI_ALERTS_ALERT_H */
