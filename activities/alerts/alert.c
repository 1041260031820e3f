/* alert.c: struct alert, its checks and its msgpack and JSON forms.
 *
 * Invariants:
 *   1. An unpacked alert owns exactly one allocation (storage) holding its
 *      strings, NUL-terminated, and its data map; nothing in it points
 *      into the msgpack zone it came from.
 *   2. pack(unpack(pack(a))) is byte for byte pack(a): unset fields are
 *      omitted, set ones come in one fixed order.
 */
#include "alerts/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_int.h"

/* ---- Fields ----------------------------------------------------------------- */

struct str_field {
    const char *key;
    size_t offset;                   /* of the const char * in struct alert */
    size_t max;                      /* bytes without the NUL */
};

#define STR_FIELD(name, max) {#name, offsetof(struct alert, name), (max)}
static const struct str_field str_fields[] = {
    STR_FIELD(id, ALERT_NAME_MAX),         STR_FIELD(type, ALERT_NAME_MAX),
    STR_FIELD(category, ALERT_NAME_MAX),   STR_FIELD(severity, ALERT_NAME_MAX),
    STR_FIELD(symbol, ALERT_NAME_MAX),     STR_FIELD(title, ALERT_TITLE_MAX),
    STR_FIELD(message, ALERT_MESSAGE_MAX),
};
#undef STR_FIELD
#define STR_FIELD_COUNT (sizeof(str_fields) / sizeof(str_fields[0]))

static const char *field_get(const struct alert *a, const struct str_field *f)
{
    return *(const char *const *)((const char *)a + f->offset);
}

static void field_set(struct alert *a, const struct str_field *f, const char *value)
{
    *(const char **)((char *)a + f->offset) = value;
}

static bool is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

void alert_init(struct alert *a)
{
    memset(a, 0, sizeof(*a));
}

void alert_release(struct alert *a)
{
    ttai_free(a->storage);
    alert_init(a);
}

const char *alert_severity(const struct alert *a)
{
    return is_set(a->severity) ? a->severity : "info";
}

const char *alert_category(const struct alert *a)
{
    return is_set(a->category) ? a->category : alert__str(a->type);
}

const char *alert_symbol_or_na(const struct alert *a)
{
    return is_set(a->symbol) ? a->symbol : "N/A";
}

bool alert__utf8_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned min;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* Overlong forms, UTF-16 surrogates and past U+10FFFF. */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += n;
    }
    return true;
}

/* ---- Checking ------------------------------------------------------------------ */

static int text_check(const char *what, const char *s, size_t len, size_t max,
                      struct ttai_err *err)
{
    if (len > max)
        return ttai_errf(err, TTAI_ETOOBIG, "alert %s of %zu bytes exceeds %zu", what, len, max);
    if (!alert__utf8_ok(s, len))
        return ttai_errf(err, TTAI_EINVAL, "alert %s is not UTF-8 text", what);
    return TTAI_OK;
}

static int data_check(struct ttai_payload data, struct ttai_err *err)
{
    if (data.len == 0)
        return TTAI_OK;
    if (data.len > ALERT_DATA_BYTES_MAX)
        return ttai_errf(err, TTAI_ETOOBIG, "alert data of %zu bytes exceeds %d", data.len,
                         ALERT_DATA_BYTES_MAX);
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int rc = ttai_payload_unpack(&r, data, &o);
    bool is_map = rc == 0 && o.type == MSGPACK_OBJECT_MAP;
    ttai_reader_release(&r);
    if (!is_map)
        return ttai_errf(err, TTAI_EINVAL, "alert data must be one msgpack map");
    return TTAI_OK;
}

int alert_check(const struct alert *a, struct ttai_err *err)
{
    for (size_t i = 0; i < STR_FIELD_COUNT; i++) {
        const char *s = field_get(a, &str_fields[i]);
        if (s == NULL)
            continue;
        int rc = text_check(str_fields[i].key, s, strlen(s), str_fields[i].max, err);
        if (rc != 0)
            return rc;
    }
    if (a->channel_count > ALERT_CHANNELS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "alert names %zu channels, more than %d",
                         a->channel_count, ALERT_CHANNELS_MAX);
    for (size_t i = 0; i < a->channel_count; i++) {
        const char *c = a->channels[i];
        if (!is_set(c))
            return ttai_errf(err, TTAI_EINVAL, "alert channel %zu has no name", i);
        int rc = text_check("channel name", c, strlen(c), ALERT_NAME_MAX, err);
        if (rc != 0)
            return rc;
    }
    return data_check(a->data, err);
}

/* ---- msgpack ------------------------------------------------------------------- */

void alert_pack(const struct alert *a, struct ttai_buf *out)
{
    uint32_t count = 1; /* timestamp_ms */
    for (size_t i = 0; i < STR_FIELD_COUNT; i++)
        count += is_set(field_get(a, &str_fields[i]));
    count += a->data.len > 0;
    count += a->channel_count > 0;
    ttai_buf_map(out, count);
    for (size_t i = 0; i < STR_FIELD_COUNT; i++) {
        const char *s = field_get(a, &str_fields[i]);
        if (!is_set(s))
            continue;
        ttai_buf_str(out, str_fields[i].key);
        ttai_buf_str(out, s);
    }
    ttai_buf_str(out, "timestamp_ms");
    ttai_buf_int(out, a->timestamp_ms);
    if (a->data.len > 0) {
        ttai_buf_str(out, "data");
        ttai_buf_raw(out, a->data);
    }
    if (a->channel_count > 0) {
        ttai_buf_str(out, "channels");
        ttai_buf_array(out, (uint32_t)a->channel_count);
        for (size_t i = 0; i < a->channel_count; i++)
            ttai_buf_str(out, a->channels[i]);
    }
}

/* Where the fields of a map are, before they are copied. */
struct spans {
    const msgpack_object *str[STR_FIELD_COUNT];
    const msgpack_object *channels[ALERT_CHANNELS_MAX];
    size_t channel_count;
    msgpack_sbuffer data;            /* the data map re-encoded */
};

static int spans_string(const msgpack_object *v, const char *key, const msgpack_object **slot,
                        struct ttai_err *err)
{
    if (v->type == MSGPACK_OBJECT_NIL)
        return TTAI_OK;
    if (v->type != MSGPACK_OBJECT_STR)
        return ttai_errf(err, TTAI_EINVAL, "alert '%s' must be a string", key);
    *slot = v->via.str.size > 0 ? v : NULL;
    return TTAI_OK;
}

static int spans_channels(struct spans *s, const msgpack_object *v, struct ttai_err *err)
{
    if (v->type == MSGPACK_OBJECT_NIL)
        return TTAI_OK;
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return ttai_errf(err, TTAI_EINVAL, "alert 'channels' must be an array of names");
    if (v->via.array.size > ALERT_CHANNELS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "alert names %u channels, more than %d",
                         v->via.array.size, ALERT_CHANNELS_MAX);
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        if (v->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
            return ttai_errf(err, TTAI_EINVAL, "alert 'channels' must be an array of names");
        s->channels[i] = &v->via.array.ptr[i];
    }
    s->channel_count = v->via.array.size;
    return TTAI_OK;
}

static int spans_data(struct spans *s, const msgpack_object *v, struct ttai_err *err)
{
    if (v->type != MSGPACK_OBJECT_MAP)
        return ttai_errf(err, TTAI_EINVAL, "alert 'data' must be a map");
    msgpack_sbuffer_clear(&s->data);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s->data, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, *v) != 0)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    return TTAI_OK;
}

static int spans_collect(struct spans *s, const msgpack_object *o, struct alert *out,
                         struct ttai_err *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return ttai_errf(err, TTAI_EINVAL, "an alert must be a map");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        int rc = TTAI_OK;
        for (size_t f = 0; f < STR_FIELD_COUNT; f++)
            if (ttai_obj_str_eq(k, str_fields[f].key))
                rc = spans_string(v, str_fields[f].key, &s->str[f], err);
        if (ttai_obj_str_eq(k, "timestamp_ms") && !ttai_obj_int(v, &out->timestamp_ms))
            rc = ttai_errf(err, TTAI_EINVAL, "alert 'timestamp_ms' must be an integer");
        if (ttai_obj_str_eq(k, "channels"))
            rc = spans_channels(s, v, err);
        if (ttai_obj_str_eq(k, "data") && v->type != MSGPACK_OBJECT_NIL)
            rc = spans_data(s, v, err);
        if (rc != 0)
            return rc;
    }
    return TTAI_OK;
}

/* Appends a string object to the block at *at, NUL-terminated. */
static const char *block_put(char **at, const msgpack_object *str)
{
    char *p = *at;
    memcpy(p, str->via.str.ptr, str->via.str.size);
    p[str->via.str.size] = '\0';
    *at = p + str->via.str.size + 1;
    return p;
}

static int spans_copy(const struct spans *s, struct alert *out, struct ttai_err *err)
{
    size_t bytes = s->data.size;
    for (size_t f = 0; f < STR_FIELD_COUNT; f++)
        bytes += s->str[f] != NULL ? s->str[f]->via.str.size + 1 : 0;
    for (size_t i = 0; i < s->channel_count; i++)
        bytes += s->channels[i]->via.str.size + 1;
    if (bytes == 0)
        return TTAI_OK;
    char *block = ttai_malloc(bytes);
    if (block == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory copying an alert");
    out->storage = block;
    char *at = block;
    if (s->data.size > 0) {
        memcpy(at, s->data.data, s->data.size);
        out->data = (struct ttai_payload){(const uint8_t *)at, s->data.size};
        at += s->data.size;
    }
    for (size_t f = 0; f < STR_FIELD_COUNT; f++)
        if (s->str[f] != NULL)
            field_set(out, &str_fields[f], block_put(&at, s->str[f]));
    for (size_t i = 0; i < s->channel_count; i++)
        out->channels[i] = block_put(&at, s->channels[i]);
    out->channel_count = s->channel_count;
    return TTAI_OK;
}

int alert_unpack(const msgpack_object *o, struct alert *out, struct ttai_err *err)
{
    alert_init(out);
    struct spans s;
    memset(&s, 0, sizeof(s));
    msgpack_sbuffer_init(&s.data);
    int rc = spans_collect(&s, o, out, err);
    if (rc == 0)
        rc = spans_copy(&s, out, err);
    msgpack_sbuffer_destroy(&s.data);
    /* A NUL inside a string shows up here as a short strlen: text_check()
     * measures strlen, so compare with the wire length too. */
    for (size_t f = 0; rc == 0 && f < STR_FIELD_COUNT; f++)
        if (s.str[f] != NULL && strlen(field_get(out, &str_fields[f])) != s.str[f]->via.str.size)
            rc = ttai_errf(err, TTAI_EINVAL, "alert %s contains a NUL byte", str_fields[f].key);
    for (size_t i = 0; rc == 0 && i < out->channel_count; i++)
        if (strlen(out->channels[i]) != s.channels[i]->via.str.size)
            rc = ttai_errf(err, TTAI_EINVAL, "alert channel name contains a NUL byte");
    if (rc == 0)
        rc = alert_check(out, err);
    return rc;
}

int alert_from_payload(struct ttai_payload p, struct alert *out, struct ttai_err *err)
{
    alert_init(out);
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int rc = ttai_payload_unpack(&r, p, &o);
    if (rc != 0)
        rc = ttai_errf(err, TTAI_EDECODE, "an alert must be msgpack");
    else
        rc = alert_unpack(&o, out, err);
    ttai_reader_release(&r);
    return rc;
}

int alert_from_json(const json_t *j, struct alert *out, struct ttai_err *err)
{
    alert_init(out);
    if (!json_is_object(j))
        return ttai_errf(err, TTAI_EINVAL, "an alert must be a JSON object");
    char *text = json_dumps(j, JSON_COMPACT);
    if (text == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    int rc = ttai_payload_from_json(text, strlen(text), &buf, err);
    free(text);
    if (rc == 0)
        rc = alert_from_payload(ttai_buf_payload(&buf), out, err);
    ttai_buf_release(&buf);
    return rc;
}

int alert_copy(struct alert *dst, const struct alert *src, struct ttai_err *err)
{
    alert_init(dst);
    int rc = alert_check(src, err);
    if (rc != 0)
        return rc;
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    alert_pack(src, &buf);
    rc = alert_from_payload(ttai_buf_payload(&buf), dst, err);
    ttai_buf_release(&buf);
    return rc;
}

/* ---- JSON ---------------------------------------------------------------------- */

static json_t *data_to_json(struct ttai_payload data)
{
    char *text = ttai_payload_to_json(data);
    if (text == NULL)
        return NULL;
    json_t *j = json_loads(text, 0, NULL);
    ttai_free(text);
    return j;
}

json_t *alert_to_json(const struct alert *a)
{
    if (alert_check(a, NULL) != 0)
        return NULL;
    json_t *o = json_object();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < STR_FIELD_COUNT; i++) {
        const char *s = field_get(a, &str_fields[i]);
        if (is_set(s))
            ok = json_object_set_new(o, str_fields[i].key, json_string(s)) == 0;
    }
    char when[40];
    ok = ok && json_object_set_new(o, "timestamp_ms", json_integer(a->timestamp_ms)) == 0;
    ok = ok && json_object_set_new(o, "timestamp", json_string(ttai_time_format(
                                                       a->timestamp_ms, when, sizeof(when)))) == 0;
    if (ok && a->data.len > 0)
        ok = json_object_set_new(o, "data", data_to_json(a->data)) == 0;
    if (ok && a->channel_count > 0) {
        json_t *arr = json_array();
        ok = json_object_set_new(o, "channels", arr) == 0;
        for (size_t i = 0; ok && i < a->channel_count; i++)
            ok = json_array_append_new(arr, json_string(a->channels[i])) == 0;
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
