/* payload.c: msgpack payload helpers for workflow authors, and the
 * JSON <-> msgpack conversion used at the edges. */
#include "payload_json.h"
#include "store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Building --------------------------------------------------------------- */

void ttai_buf_init(struct ttai_buf *buf)
{
    msgpack_sbuffer_init(&buf->sbuf);
    msgpack_packer_init(&buf->pk, &buf->sbuf, msgpack_sbuffer_write);
}

void ttai_buf_release(struct ttai_buf *buf)
{
    msgpack_sbuffer_destroy(&buf->sbuf);
    msgpack_sbuffer_init(&buf->sbuf);
}

void ttai_buf_reset(struct ttai_buf *buf)
{
    msgpack_sbuffer_clear(&buf->sbuf);
}

struct ttai_payload ttai_buf_payload(const struct ttai_buf *buf)
{
    return (struct ttai_payload){(const uint8_t *)buf->sbuf.data, buf->sbuf.size};
}

void ttai_buf_nil(struct ttai_buf *buf) { msgpack_pack_nil(&buf->pk); }

void ttai_buf_bool(struct ttai_buf *buf, bool v)
{
    if (v)
        msgpack_pack_true(&buf->pk);
    else
        msgpack_pack_false(&buf->pk);
}

void ttai_buf_int(struct ttai_buf *buf, int64_t v) { msgpack_pack_int64(&buf->pk, v); }
void ttai_buf_double(struct ttai_buf *buf, double v) { msgpack_pack_double(&buf->pk, v); }
void ttai_buf_str(struct ttai_buf *buf, const char *s) { ttai_buf_strn(buf, s, strlen(s)); }

void ttai_buf_strn(struct ttai_buf *buf, const char *s, size_t len)
{
    msgpack_pack_str(&buf->pk, len);
    msgpack_pack_str_body(&buf->pk, s, len);
}

void ttai_buf_array(struct ttai_buf *buf, uint32_t count) { msgpack_pack_array(&buf->pk, count); }
void ttai_buf_map(struct ttai_buf *buf, uint32_t count) { msgpack_pack_map(&buf->pk, count); }

void ttai_buf_raw(struct ttai_buf *buf, struct ttai_payload value)
{
    msgpack_sbuffer_write(&buf->sbuf, (const char *)value.data, value.len);
}

/* ---- Reading ------------------------------------------------------------------ */

void ttai_reader_init(struct ttai_reader *r)
{
    msgpack_zone_init(&r->zone, 1024);
}

void ttai_reader_release(struct ttai_reader *r)
{
    msgpack_zone_destroy(&r->zone);
}

int ttai_payload_unpack(struct ttai_reader *r, struct ttai_payload p, msgpack_object *out)
{
    if (p.len == 0) {
        out->type = MSGPACK_OBJECT_NIL;
        return TTAI_OK;
    }
    /* msgpack_unpack allocates by the counts it reads: a header claiming
     * 2^31 entries in a few bytes would ask for gigabytes first. */
    if (!store_msgpack_valid(p.data, p.len))
        return TTAI_EDECODE;
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack((const char *)p.data, p.len, &off, &r->zone, out);
    if (ret != MSGPACK_UNPACK_SUCCESS || off != p.len)
        return TTAI_EDECODE;
    return TTAI_OK;
}

const msgpack_object *ttai_obj_get(const msgpack_object *map, const char *key)
{
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

bool ttai_obj_int(const msgpack_object *o, int64_t *out)
{
    if (o == NULL)
        return false;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    return false;
}

bool ttai_obj_double(const msgpack_object *o, double *out)
{
    int64_t i;
    if (o != NULL && (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)) {
        *out = o->via.f64;
        return true;
    }
    if (ttai_obj_int(o, &i)) {
        *out = (double)i;
        return true;
    }
    return false;
}

bool ttai_obj_bool(const msgpack_object *o, bool *out)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
        return false;
    *out = o->via.boolean;
    return true;
}

bool ttai_obj_str(const msgpack_object *o, const char **ptr, size_t *len)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_STR)
        return false;
    *ptr = o->via.str.ptr;
    *len = o->via.str.size;
    return true;
}

bool ttai_obj_strcpy(const msgpack_object *o, char *dst, size_t size)
{
    const char *p;
    size_t n;
    if (size == 0 || !ttai_obj_str(o, &p, &n))
        return false;
    if (n >= size)
        n = size - 1;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

bool ttai_obj_str_eq(const msgpack_object *o, const char *s)
{
    const char *p;
    size_t n;
    return ttai_obj_str(o, &p, &n) && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* ---- JSON ------------------------------------------------------------------
 *
 * Both directions walk with an explicit depth limit: untrusted input never
 * drives unbounded recursion. */

#define JSON_DEPTH_MAX 64

static int pack_json(struct ttai_buf *buf, const json_t *j, int depth)
{
    if (depth > JSON_DEPTH_MAX)
        return TTAI_EINVAL;
    switch (json_typeof(j)) {
    case JSON_NULL: ttai_buf_nil(buf); return 0;
    case JSON_TRUE: ttai_buf_bool(buf, true); return 0;
    case JSON_FALSE: ttai_buf_bool(buf, false); return 0;
    case JSON_INTEGER: ttai_buf_int(buf, json_integer_value(j)); return 0;
    case JSON_REAL: ttai_buf_double(buf, json_real_value(j)); return 0;
    case JSON_STRING: ttai_buf_strn(buf, json_string_value(j), json_string_length(j)); return 0;
    case JSON_ARRAY: {
        ttai_buf_array(buf, (uint32_t)json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++)
            if (pack_json(buf, json_array_get(j, i), depth + 1) != 0)
                return TTAI_EINVAL;
        return 0;
    }
    case JSON_OBJECT: {
        ttai_buf_map(buf, (uint32_t)json_object_size(j));
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)j, key, val) {
            ttai_buf_str(buf, key);
            if (pack_json(buf, val, depth + 1) != 0)
                return TTAI_EINVAL;
        }
        return 0;
    }
    }
    return TTAI_EINVAL;
}

int ttai_payload_from_json(const char *json, size_t len, struct ttai_buf *buf,
                           struct ttai_err *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (j == NULL)
        return ttai_errf(err, TTAI_EINVAL, "malformed JSON at line %d column %d: %s", jerr.line,
                         jerr.column, jerr.text);
    size_t before = buf->sbuf.size;
    int rc = pack_json(buf, j, 0);
    json_decref(j);
    if (rc != 0) {
        buf->sbuf.size = before;
        return ttai_errf(err, TTAI_EINVAL, "JSON nests deeper than %d levels", JSON_DEPTH_MAX);
    }
    return TTAI_OK;
}

/* Strings must be UTF-8: jansson would refuse to write one that is not. An
 * unsigned integer past JSON's (jansson's) int64 range becomes a real: a
 * cast would turn it negative. */
static json_t *obj_to_json(const msgpack_object *o, int depth)
{
    if (depth > JSON_DEPTH_MAX)
        return NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 <= (uint64_t)INT64_MAX ? json_integer((json_int_t)o->via.u64)
                                                 : json_real((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
    /* msgpack-c leaves an empty string's pointer NULL, which jansson refuses. */
    case MSGPACK_OBJECT_STR:
        return o->via.str.size ? json_stringn(o->via.str.ptr, o->via.str.size) : json_string("");
    case MSGPACK_OBJECT_BIN:
        return o->via.bin.size ? json_stringn(o->via.bin.ptr, o->via.bin.size) : json_string("");
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_t *v = obj_to_json(&o->via.array.ptr[i], depth + 1);
            if (v == NULL || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            json_t *v = obj_to_json(&o->via.map.ptr[i].val, depth + 1);
            int rc = -1;
            if (v != NULL && k->type == MSGPACK_OBJECT_STR) {
                /* The whole key; refused unless UTF-8, and when it holds a
                 * NUL, which no jansson reader (ttaictl's) accepts in a key. */
                if (k->via.str.size == 0)
                    rc = json_object_set_new(m, "", v);
                else if (memchr(k->via.str.ptr, '\0', k->via.str.size) == NULL)
                    rc = json_object_setn_new(m, k->via.str.ptr, k->via.str.size, v);
                else
                    json_decref(v);
            } else if (v != NULL) {
                char key[32];
                if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                    snprintf(key, sizeof(key), "%llu", (unsigned long long)k->via.u64);
                else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                    snprintf(key, sizeof(key), "%lld", (long long)k->via.i64);
                else
                    snprintf(key, sizeof(key), "key%u", i);
                rc = json_object_set_new(m, key, v);
            }
            if (rc != 0) { /* the set functions take v even when they fail */
                json_decref(m);
                return NULL;
            }
        }
        return m;
    }
    default: return json_null(); /* ext: no JSON form */
    }
}

/* The length of the UTF-8 sequence at s (n bytes left), 0 when it is not
 * one: no overlong forms, surrogates or code points past U+10FFFF. */
static size_t utf8_sequence(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

json_t *ttai_json_text(const void *data, size_t len)
{
    if (len == 0)
        return json_string("");
    json_t *v = json_stringn(data, len);
    if (v != NULL)
        return v;
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    const uint8_t *s = data;
    char *text = ttai_malloc(3 * len);
    if (text == NULL)
        return NULL;
    size_t out = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(s + i, len - i);
        if (n == 0) {
            memcpy(text + out, replacement, 3);
            out += 3;
            i++;
        } else {
            memcpy(text + out, s + i, n);
            out += n;
            i += n;
        }
    }
    v = json_stringn(text, out);
    ttai_free(text);
    return v;
}

json_t *ttai_payload_json(struct ttai_payload p)
{
    if (p.len == 0)
        return json_null();
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    json_t *j = ttai_payload_unpack(&r, p, &o) == 0 ? obj_to_json(&o, 0) : NULL;
    ttai_reader_release(&r);
    return j;
}

char *ttai_payload_to_json(struct ttai_payload p)
{
    json_t *j = ttai_payload_json(p);
    if (j == NULL)
        return NULL;
    char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(j);
    char *out = s != NULL ? ttai_strndup(s, strlen(s)) : NULL;
    free(s);
    return out;
}
