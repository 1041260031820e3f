/* alerts_int.h: what the files of activities/alerts/ share and nobody else
 * uses. */
#ifndef TTAI_ALERTS_INT_H
#define TTAI_ALERTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERT__FNV_OFFSET 0xcbf29ce484222325ULL
#define ALERT__FNV_PRIME 0x100000001b3ULL

/* FNV-1a over len bytes, continuing from h (start with ALERT__FNV_OFFSET).
 * The router stores these hashes in workflow state: changing the function
 * changes what an existing state means, so bump ALERT_ROUTER_FORMAT too. */
static inline uint64_t alert__fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= ALERT__FNV_PRIME;
    }
    return h;
}

/* True when s (len bytes) is well-formed UTF-8 without NUL bytes:
 * jansson refuses anything else, and every channel payload is JSON. */
bool alert__utf8_ok(const char *s, size_t len);

/* A string field or "" when unset. */
static inline const char *alert__str(const char *s)
{
    return s != NULL ? s : "";
}

/* ---- Channels (channels.c), for the delivery activities (deliver.c) ---------- */

enum alert__channel_type {
    ALERT__DISCORD = 0,
    ALERT__SLACK,
    ALERT__WEBHOOK,
    ALERT__EMAIL,
    ALERT__CONSOLE,
    ALERT__STREAM,
    ALERT__TYPE_COUNT,
};

/* "discord", "slack", ... by enum alert__channel_type. */
extern const char *const alert__type_names[ALERT__TYPE_COUNT];

struct act_http_header;

/* A configured channel; every pointer is owned by the configuration. */
struct alert__channel {
    char *name;
    int type;                                /* enum alert__channel_type */
    char *url;                               /* HTTP types: http(s)://, no ' or spaces */
    int64_t timeout_ms;                      /* HTTP types */
    struct act_http_header *headers;         /* webhook: header_count entries */
    size_t header_count;
    char **to;                               /* email: to_count addresses */
    size_t to_count;
};

/* Takes the configuration's shared lock and returns the channel called
 * name (configured, or the built-in console and stream), or NULL. The
 * channel stays valid until alert__channels_unlock(), which must follow
 * either way. */
const struct alert__channel *alert__channel_lock(const char *name);
void alert__channels_unlock(void);

/* Hands text to the stream sink; TTAI_ENOTFOUND when none is set. */
int alert__stream_emit(const char *text);
/* Hands a line to the console sink, or writes it to standard output. */
void alert__console_emit(const char *line);

#endif
