/* event.c: the msgpack encodings of history events and run records.
 *
 * An event is a msgpack map from small integer field keys to values; the
 * event id is not in it (it is the hist key). Fields that are zero or empty
 * are not written. Decoders skip keys they do not know, so a newer engine
 * may add fields without breaking older readers; they reject anything that
 * is not well-formed msgpack of the expected shape.
 *
 * Changing a key or a value's type? Bump STORE_SCHEMA_VERSION and update
 * docs/storage.md (the field table) and tools/ttai-history.
 */
#include "store_int.h"

#include <inttypes.h>
#include <msgpack.h>
#include <string.h>
#include <strings.h>

enum event_key {
    EK_TYPE = 0,
    EK_TIME = 1,
    EK_SEQ = 2,
    EK_REF = 3,
    EK_ATTEMPT = 4,
    EK_FIRE = 5,
    EK_NAME = 6,
    EK_PAYLOAD = 7,
    EK_FAILURE_TYPE = 8,
    EK_FAILURE_MESSAGE = 9,
    EK_DETAILS = 10,
    EK_RUN_ID = 11,
    EK_EXEC_TIMEOUT = 12,
    EK_RUN_TIMEOUT = 13,
    EK_OPTS = 14,
};

enum opts_key {
    OK_SCHEDULE_TO_CLOSE = 0,
    OK_SCHEDULE_TO_START = 1,
    OK_START_TO_CLOSE = 2,
    OK_HEARTBEAT = 3,
    OK_INITIAL_INTERVAL = 4,
    OK_BACKOFF = 5,
    OK_MAX_INTERVAL = 6,
    OK_MAX_ATTEMPTS = 7,
    OK_NON_RETRYABLE = 8,
};

const char *store_event_type_name(int type)
{
    switch (type) {
#define STORE__EVENT_NAME(name, value, text) case value: return text;
        STORE_EVENT_TYPE_MAP(STORE__EVENT_NAME)
#undef STORE__EVENT_NAME
    }
    return NULL;
}

int store_event_type_parse(const char *name)
{
#define STORE__EVENT_PARSE(ident, value, text) if (strcasecmp(name, text) == 0) return value;
    STORE_EVENT_TYPE_MAP(STORE__EVENT_PARSE)
#undef STORE__EVENT_PARSE
    return 0;
}

bool store_event_type_closes_run(int type)
{
    switch (type) {
    case STORE_EV_WORKFLOW_COMPLETED:
    case STORE_EV_WORKFLOW_FAILED:
    case STORE_EV_WORKFLOW_CANCELED:
    case STORE_EV_WORKFLOW_TERMINATED:
    case STORE_EV_WORKFLOW_TIMED_OUT:
    case STORE_EV_CONTINUED_AS_NEW:
        return true;
    default:
        return false;
    }
}

static const char *const run_status_names[STORE_RUN_STATUS_MAX + 1] = {
    NULL, "Running", "Completed", "Failed", "Canceled", "Terminated", "ContinuedAsNew", "TimedOut",
};

const char *store_run_status_name(int status)
{
    if (status < 1 || status > STORE_RUN_STATUS_MAX)
        return NULL;
    return run_status_names[status];
}

const char *store_run_status_text(int status)
{
    static const char *const texts[STORE_RUN_STATUS_MAX + 1] = {
        NULL, "running", "completed", "failed", "canceled", "terminated", "continued_as_new",
        "timed_out",
    };
    return status >= 1 && status <= STORE_RUN_STATUS_MAX ? texts[status] : "unknown";
}

int store_run_status_parse(const char *name)
{
    for (int s = 1; s <= STORE_RUN_STATUS_MAX; s++)
        if (strcasecmp(name, run_status_names[s]) == 0)
            return s;
    return 0;
}

/* ---- Output buffer ------------------------------------------------------ */

int store__buf_write(void *data, const char *bytes, size_t len)
{
    struct store__buf *b = data;
    if (b->failed)
        return -1;
    if (*b->len + len > b->limit) {
        b->failed = TTAI_ETOOBIG;
        return -1;
    }
    if (*b->len + len > *b->cap) {
        size_t cap = *b->cap ? *b->cap : 256;
        while (cap < *b->len + len)
            cap *= 2;
        uint8_t *grown = ttai_realloc(*b->data, cap);
        if (grown == NULL) {
            b->failed = TTAI_ENOMEM;
            return -1;
        }
        *b->data = grown;
        *b->cap = cap;
    }
    memcpy(*b->data + *b->len, bytes, len);
    *b->len += len;
    return 0;
}

/* ---- Event encoding ------------------------------------------------------- */

static void pack_str(msgpack_packer *pk, struct store_bytes s)
{
    msgpack_pack_str(pk, s.len);
    msgpack_pack_str_body(pk, s.data, s.len);
}

static void pack_bin(msgpack_packer *pk, const void *data, size_t len)
{
    msgpack_pack_bin(pk, len);
    msgpack_pack_bin_body(pk, data, len);
}

static uint32_t opts_field_count(const struct store_activity_opts *o)
{
    return (o->schedule_to_close_ms != 0) + (o->schedule_to_start_ms != 0) +
           (o->start_to_close_ms != 0) + (o->heartbeat_ms != 0) +
           (o->initial_interval_ms != 0) + (o->backoff != 0) + (o->max_interval_ms != 0) +
           (o->max_attempts != 0) + (o->non_retryable_count != 0);
}

static void pack_opts(msgpack_packer *pk, const struct store_activity_opts *o)
{
    msgpack_pack_map(pk, opts_field_count(o));
#define PACK_OPT_INT(key, field)                                                \
    if (o->field != 0) {                                                        \
        msgpack_pack_uint8(pk, key);                                            \
        msgpack_pack_int64(pk, o->field);                                       \
    }
    PACK_OPT_INT(OK_SCHEDULE_TO_CLOSE, schedule_to_close_ms)
    PACK_OPT_INT(OK_SCHEDULE_TO_START, schedule_to_start_ms)
    PACK_OPT_INT(OK_START_TO_CLOSE, start_to_close_ms)
    PACK_OPT_INT(OK_HEARTBEAT, heartbeat_ms)
    PACK_OPT_INT(OK_INITIAL_INTERVAL, initial_interval_ms)
    if (o->backoff != 0) {
        msgpack_pack_uint8(pk, OK_BACKOFF);
        msgpack_pack_double(pk, o->backoff);
    }
    PACK_OPT_INT(OK_MAX_INTERVAL, max_interval_ms)
    PACK_OPT_INT(OK_MAX_ATTEMPTS, max_attempts)
#undef PACK_OPT_INT
    if (o->non_retryable_count != 0) {
        msgpack_pack_uint8(pk, OK_NON_RETRYABLE);
        msgpack_pack_array(pk, o->non_retryable_count);
        for (uint32_t i = 0; i < o->non_retryable_count; i++)
            pack_str(pk, o->non_retryable[i]);
    }
}

int store_event_encode(const struct store_event *ev, uint8_t **buf, size_t *len, size_t *cap,
                       struct ttai_err *err)
{
    if (store_event_type_name(ev->type) == NULL)
        return ttai_errf(err, TTAI_EINVAL, "cannot encode event of unknown type %d", ev->type);
    if (ev->has_opts && ev->opts.non_retryable_count > STORE_NON_RETRYABLE_MAX)
        return ttai_errf(err, TTAI_EINVAL, "too many non-retryable error types (%u, at most %d)",
                         ev->opts.non_retryable_count, STORE_NON_RETRYABLE_MAX);
    size_t len_before = *len;
    struct store__buf out = {buf, len, cap, len_before + STORE_EVENT_BYTES_MAX, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, store__buf_write);

    bool has_run = !ttai_run_id_is_zero(&ev->run_id);
    uint32_t fields = 2 + (ev->seq != 0) + (ev->ref_event_id != 0) + (ev->attempt != 0) +
                      (ev->fire_ms != 0) + (ev->name.len != 0) + (ev->payload.len != 0) +
                      (ev->failure_type.len != 0) + (ev->failure_message.len != 0) +
                      (ev->details.len != 0) + has_run + (ev->exec_timeout_ms != 0) +
                      (ev->run_timeout_ms != 0) + ev->has_opts;
    msgpack_pack_map(&pk, fields);
    msgpack_pack_uint8(&pk, EK_TYPE);
    msgpack_pack_uint8(&pk, (uint8_t)ev->type);
    msgpack_pack_uint8(&pk, EK_TIME);
    msgpack_pack_int64(&pk, ev->time_ms);
#define PACK_IF(cond, key, call)                                                \
    if (cond) {                                                                 \
        msgpack_pack_uint8(&pk, key);                                           \
        call;                                                                   \
    }
    PACK_IF(ev->seq != 0, EK_SEQ, msgpack_pack_uint64(&pk, ev->seq))
    PACK_IF(ev->ref_event_id != 0, EK_REF, msgpack_pack_uint64(&pk, ev->ref_event_id))
    PACK_IF(ev->attempt != 0, EK_ATTEMPT, msgpack_pack_uint32(&pk, ev->attempt))
    PACK_IF(ev->fire_ms != 0, EK_FIRE, msgpack_pack_int64(&pk, ev->fire_ms))
    PACK_IF(ev->name.len != 0, EK_NAME, pack_str(&pk, ev->name))
    PACK_IF(ev->payload.len != 0, EK_PAYLOAD, pack_bin(&pk, ev->payload.data, ev->payload.len))
    PACK_IF(ev->failure_type.len != 0, EK_FAILURE_TYPE, pack_str(&pk, ev->failure_type))
    PACK_IF(ev->failure_message.len != 0, EK_FAILURE_MESSAGE, pack_str(&pk, ev->failure_message))
    PACK_IF(ev->details.len != 0, EK_DETAILS, pack_bin(&pk, ev->details.data, ev->details.len))
    PACK_IF(has_run, EK_RUN_ID, pack_bin(&pk, ev->run_id.b, TTAI_RUN_ID_BYTES))
    PACK_IF(ev->exec_timeout_ms != 0, EK_EXEC_TIMEOUT, msgpack_pack_int64(&pk, ev->exec_timeout_ms))
    PACK_IF(ev->run_timeout_ms != 0, EK_RUN_TIMEOUT, msgpack_pack_int64(&pk, ev->run_timeout_ms))
    PACK_IF(ev->has_opts, EK_OPTS, pack_opts(&pk, &ev->opts))
#undef PACK_IF
    if (out.failed) {
        *len = len_before;
        if (out.failed == TTAI_ETOOBIG)
            return ttai_errf(err, TTAI_ETOOBIG, "%s event is larger than %u bytes",
                             store_event_type_name(ev->type), STORE_EVENT_BYTES_MAX);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory encoding %s event",
                         store_event_type_name(ev->type));
    }
    return TTAI_OK;
}

/* ---- Event decoding ------------------------------------------------------- */

static int decode_opts(struct store__mp *r, struct store_activity_opts *o)
{
    uint32_t count;
    int rc = store__mp_read_map(r, &count);
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        uint64_t key;
        if (store__mp_read_uint(r, &key) != 0) {
            /* A key of another kind is a newer writer's field: skip it, as
             * store_event_decode does at the top level. */
            rc = store__mp_skip(r);
            if (rc == 0)
                rc = store__mp_skip(r);
            continue;
        }
        int64_t v;
        switch (key) {
        case OK_SCHEDULE_TO_CLOSE: rc = store__mp_read_int(r, &o->schedule_to_close_ms); break;
        case OK_SCHEDULE_TO_START: rc = store__mp_read_int(r, &o->schedule_to_start_ms); break;
        case OK_START_TO_CLOSE: rc = store__mp_read_int(r, &o->start_to_close_ms); break;
        case OK_HEARTBEAT: rc = store__mp_read_int(r, &o->heartbeat_ms); break;
        case OK_INITIAL_INTERVAL: rc = store__mp_read_int(r, &o->initial_interval_ms); break;
        case OK_BACKOFF: rc = store__mp_read_double(r, &o->backoff); break;
        case OK_MAX_INTERVAL: rc = store__mp_read_int(r, &o->max_interval_ms); break;
        case OK_MAX_ATTEMPTS:
            rc = store__mp_read_int(r, &v);
            if (rc == 0 && (v < 0 || v > UINT32_MAX))
                rc = TTAI_EDECODE;
            o->max_attempts = (uint32_t)v;
            break;
        case OK_NON_RETRYABLE: {
            uint32_t n;
            rc = store__mp_read_array(r, &n);
            if (rc == 0 && n > STORE_NON_RETRYABLE_MAX)
                rc = TTAI_EDECODE;
            for (uint32_t j = 0; rc == 0 && j < n; j++)
                rc = store__mp_read_bytes(r, &o->non_retryable[j]);
            if (rc == 0)
                o->non_retryable_count = n;
            break;
        }
        default: rc = store__mp_skip(r); break;
        }
    }
    return rc;
}

static int decode_run_id(struct store__mp *r, struct ttai_run_id *out)
{
    struct store_bytes b;
    int rc = store__mp_read_bytes(r, &b);
    if (rc == 0 && b.len != TTAI_RUN_ID_BYTES)
        rc = TTAI_EDECODE;
    if (rc == 0)
        memcpy(out->b, b.data, TTAI_RUN_ID_BYTES);
    return rc;
}

static int decode_event_field(struct store__mp *r, uint64_t key, struct store_event *out,
                              bool *seen_type, bool *seen_time)
{
    uint64_t u;
    int rc;
    switch (key) {
    case EK_TYPE:
        rc = store__mp_read_uint(r, &u);
        if (rc == 0 && (u == 0 || u > 255))
            rc = TTAI_EDECODE;
        out->type = (int)u;
        *seen_type = true;
        return rc;
    case EK_TIME:
        *seen_time = true;
        return store__mp_read_int(r, &out->time_ms);
    case EK_SEQ: return store__mp_read_uint(r, &out->seq);
    case EK_REF: return store__mp_read_uint(r, &out->ref_event_id);
    case EK_ATTEMPT:
        rc = store__mp_read_uint(r, &u);
        if (rc == 0 && u > UINT32_MAX)
            rc = TTAI_EDECODE;
        out->attempt = (uint32_t)u;
        return rc;
    case EK_FIRE: return store__mp_read_int(r, &out->fire_ms);
    case EK_NAME: return store__mp_read_bytes(r, &out->name);
    case EK_PAYLOAD: return store__mp_read_bytes(r, &out->payload);
    case EK_FAILURE_TYPE: return store__mp_read_bytes(r, &out->failure_type);
    case EK_FAILURE_MESSAGE: return store__mp_read_bytes(r, &out->failure_message);
    case EK_DETAILS: return store__mp_read_bytes(r, &out->details);
    case EK_RUN_ID: return decode_run_id(r, &out->run_id);
    case EK_EXEC_TIMEOUT: return store__mp_read_int(r, &out->exec_timeout_ms);
    case EK_RUN_TIMEOUT: return store__mp_read_int(r, &out->run_timeout_ms);
    case EK_OPTS:
        out->has_opts = true;
        return decode_opts(r, &out->opts);
    default:
        return store__mp_skip(r);
    }
}

int store_event_decode(const uint8_t *data, size_t len, struct store_event *out,
                       struct ttai_err *err)
{
    memset(out, 0, sizeof(*out));
    struct store__mp r = {data, data + len};
    uint32_t count;
    if (store__mp_read_map(&r, &count) != 0)
        return ttai_errf(err, TTAI_EDECODE, "event is not a msgpack map");
    bool seen_type = false;
    bool seen_time = false;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t key;
        if (store__mp_read_uint(&r, &key) != 0) {
            /* A key of another kind is a newer writer's field: skip it. */
            if (store__mp_skip(&r) != 0 || store__mp_skip(&r) != 0)
                return ttai_errf(err, TTAI_EDECODE, "event field %u is malformed", i);
            continue;
        }
        if (decode_event_field(&r, key, out, &seen_type, &seen_time) != 0)
            return ttai_errf(err, TTAI_EDECODE, "event field %" PRIu64 " is malformed", key);
    }
    if (r.p != r.end)
        return ttai_errf(err, TTAI_EDECODE, "%zu trailing bytes after event",
                         (size_t)(r.end - r.p));
    if (!seen_type || !seen_time)
        return ttai_errf(err, TTAI_EDECODE, "event lacks its %s", seen_type ? "time" : "type");
    return TTAI_OK;
}

/* ---- Run records ------------------------------------------------------------ */

enum run_key {
    RK_RUN_ID = 0, RK_NS = 1, RK_WORKFLOW_ID = 2, RK_TYPE = 3, RK_STATUS = 4,
    RK_START = 5, RK_CLOSE = 6, RK_PREV = 7, RK_NEXT = 8,
};

int store__run_encode(const struct store_run *run, uint8_t **buf, size_t *len, size_t *cap)
{
    struct store__buf out = {buf, len, cap, *len + 4096, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, store__buf_write);
    msgpack_pack_map(&pk, 9);
    msgpack_pack_uint8(&pk, RK_RUN_ID);
    pack_bin(&pk, run->run_id.b, TTAI_RUN_ID_BYTES);
    msgpack_pack_uint8(&pk, RK_NS);
    pack_str(&pk, (struct store_bytes){(const uint8_t *)run->ns, strlen(run->ns)});
    msgpack_pack_uint8(&pk, RK_WORKFLOW_ID);
    pack_str(&pk, (struct store_bytes){(const uint8_t *)run->workflow_id, strlen(run->workflow_id)});
    msgpack_pack_uint8(&pk, RK_TYPE);
    pack_str(&pk, (struct store_bytes){(const uint8_t *)run->type, strlen(run->type)});
    msgpack_pack_uint8(&pk, RK_STATUS);
    msgpack_pack_uint8(&pk, (uint8_t)run->status);
    msgpack_pack_uint8(&pk, RK_START);
    msgpack_pack_int64(&pk, run->start_ms);
    msgpack_pack_uint8(&pk, RK_CLOSE);
    msgpack_pack_int64(&pk, run->close_ms);
    msgpack_pack_uint8(&pk, RK_PREV);
    pack_bin(&pk, run->prev_run.b, TTAI_RUN_ID_BYTES);
    msgpack_pack_uint8(&pk, RK_NEXT);
    pack_bin(&pk, run->next_run.b, TTAI_RUN_ID_BYTES);
    return out.failed;
}

static int read_cstr(struct store__mp *r, char *dst, size_t max)
{
    struct store_bytes b;
    int rc = store__mp_read_bytes(r, &b);
    if (rc != 0 || b.len > max || memchr(b.data, 0, b.len) != NULL)
        return TTAI_EDECODE;
    memcpy(dst, b.data, b.len);
    dst[b.len] = '\0';
    return 0;
}

int store__run_decode(const uint8_t *data, size_t len, struct store_run *out)
{
    memset(out, 0, sizeof(*out));
    struct store__mp r = {data, data + len};
    uint32_t count;
    int rc = store__mp_read_map(&r, &count);
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        uint64_t key, u;
        rc = store__mp_read_uint(&r, &key);
        if (rc != 0)
            break;
        switch (key) {
        case RK_RUN_ID: rc = decode_run_id(&r, &out->run_id); break;
        case RK_NS: rc = read_cstr(&r, out->ns, STORE_NS_MAX); break;
        case RK_WORKFLOW_ID: rc = read_cstr(&r, out->workflow_id, STORE_WORKFLOW_ID_MAX); break;
        case RK_TYPE: rc = read_cstr(&r, out->type, STORE_TYPE_MAX); break;
        case RK_STATUS:
            rc = store__mp_read_uint(&r, &u);
            if (rc == 0 && (u < 1 || u > STORE_RUN_STATUS_MAX))
                rc = TTAI_EDECODE;
            out->status = (int)u;
            break;
        case RK_START: rc = store__mp_read_int(&r, &out->start_ms); break;
        case RK_CLOSE: rc = store__mp_read_int(&r, &out->close_ms); break;
        case RK_PREV: rc = decode_run_id(&r, &out->prev_run); break;
        case RK_NEXT: rc = decode_run_id(&r, &out->next_run); break;
        default: rc = store__mp_skip(&r); break;
        }
    }
    if (rc == 0 && (r.p != r.end || out->status == 0))
        rc = TTAI_EDECODE;
    return rc;
}
