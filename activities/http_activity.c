/* http_activity.c: the "http_json" activity type, an adapter from a msgpack
 * input map to act_http_request() and back, plus the secrets that header
 * values may name instead of carrying them.
 *
 * Why secrets: an activity's input is journaled in its workflow's history,
 * which is kept, exported and shown by tools. A bearer token written into
 * "headers" would live there forever; "secret_headers" names a secret and
 * the value is looked up when the attempt runs, from settings that never
 * reach the store.
 *
 * The settings are set before the engine starts (act_http_configure()) and
 * only read afterwards, from any activity thread, without a lock.
 */
#include "act_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    size_t count;
    char names[ACT_HTTP_SECRETS_MAX][ACT_HTTP_SECRET_NAME_MAX];
    char values[ACT_HTTP_SECRETS_MAX][ACT_HTTP_SECRET_VALUE_MAX];
} http_settings;

int act_http_configure(const struct act_http_config *cfg, struct ttai_err *err)
{
    if (cfg == NULL) {
        memset(&http_settings, 0, sizeof(http_settings));
        return TTAI_OK;
    }
    if (cfg->secret_count > ACT_HTTP_SECRETS_MAX)
        return ttai_errf(err, TTAI_ETOOBIG, "%zu secrets exceed the limit of %d",
                         cfg->secret_count, ACT_HTTP_SECRETS_MAX);
    for (size_t i = 0; i < cfg->secret_count; i++) {
        const struct act_http_secret *s = &cfg->secrets[i];
        if (s->name == NULL || s->name[0] == '\0' || s->value == NULL)
            return ttai_errf(err, TTAI_EINVAL, "secret %zu has no name or no value", i);
        if (strlen(s->name) >= ACT_HTTP_SECRET_NAME_MAX ||
            strlen(s->value) >= ACT_HTTP_SECRET_VALUE_MAX)
            return ttai_errf(err, TTAI_ETOOBIG, "secret '%.64s' is too long", s->name);
        if (strpbrk(s->value, "\r\n") != NULL)
            return ttai_errf(err, TTAI_EINVAL, "secret '%.64s' contains a line break", s->name);
    }
    memset(&http_settings, 0, sizeof(http_settings));
    for (size_t i = 0; i < cfg->secret_count; i++) {
        act__strcpy(http_settings.names[i], ACT_HTTP_SECRET_NAME_MAX, cfg->secrets[i].name);
        act__strcpy(http_settings.values[i], ACT_HTTP_SECRET_VALUE_MAX, cfg->secrets[i].value);
    }
    http_settings.count = cfg->secret_count;
    return TTAI_OK;
}

static const char *secret_find(const char *name, size_t len)
{
    for (size_t i = 0; i < http_settings.count; i++)
        if (strlen(http_settings.names[i]) == len && memcmp(http_settings.names[i], name, len) == 0)
            return http_settings.values[i];
    return NULL;
}

/* ---- Input ------------------------------------------------------------------ */

/* The request an input map describes, and the memory it borrows. */
struct http_input {
    struct act_http_request req;
    struct act_http_header headers[ACT_HTTP_HEADERS_MAX];
    char *owned[2 * ACT_HTTP_HEADERS_MAX + 2];   /* NUL-terminated copies; ttai_free */
    size_t owned_count;
    msgpack_sbuffer body;                        /* a non-string body, re-encoded */
    char problem[160];                           /* why the input is refused */
};

static void input_release(struct http_input *in)
{
    for (size_t i = 0; i < in->owned_count; i++)
        ttai_free(in->owned[i]);
    msgpack_sbuffer_destroy(&in->body);
}

/* A NUL-terminated copy of a string object, owned by in; NULL when o is
 * not a string, holds a NUL, or memory ran out (problem says which). */
static char *input_str(struct http_input *in, const msgpack_object *o, const char *what)
{
    const char *p;
    size_t len;
    if (!ttai_obj_str(o, &p, &len) || memchr(p, '\0', len) != NULL) {
        act__msgf(in->problem, sizeof(in->problem), "'%s' must be a string", what);
        return NULL;
    }
    TTAI_ASSERT(in->owned_count < sizeof(in->owned) / sizeof(in->owned[0]));
    char *copy = ttai_strndup(p, len);
    if (copy == NULL) {
        act__msgf(in->problem, sizeof(in->problem), "out of memory");
        return NULL;
    }
    in->owned[in->owned_count++] = copy;
    return copy;
}

/* Adds the entries of a headers map; secret: values name secrets. */
static bool input_headers(struct http_input *in, const msgpack_object *map, bool secret)
{
    const char *field = secret ? "secret_headers" : "headers";
    if (map == NULL || map->type == MSGPACK_OBJECT_NIL)
        return true;
    if (map->type != MSGPACK_OBJECT_MAP) {
        act__msgf(in->problem, sizeof(in->problem), "'%s' must be a map", field);
        return false;
    }
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        if (in->req.header_count >= ACT_HTTP_HEADERS_MAX) {
            act__msgf(in->problem, sizeof(in->problem), "more than %d headers",
                      ACT_HTTP_HEADERS_MAX);
            return false;
        }
        struct act_http_header *h = &in->headers[in->req.header_count];
        h->name = input_str(in, &map->via.map.ptr[i].key, field);
        if (h->name == NULL)
            return false;
        const msgpack_object *v = &map->via.map.ptr[i].val;
        if (secret) {
            const char *name;
            size_t len;
            h->value = ttai_obj_str(v, &name, &len) ? secret_find(name, len) : NULL;
            if (h->value == NULL) {
                act__msgf(in->problem, sizeof(in->problem), "header '%.64s' names no "
                          "configured secret", h->name);
                return false;
            }
        } else {
            h->value = input_str(in, v, field);
            if (h->value == NULL)
                return false;
        }
        in->req.header_count++;
    }
    return true;
}

static bool input_body(struct http_input *in, const msgpack_object *body)
{
    if (body == NULL || body->type == MSGPACK_OBJECT_NIL)
        return true;
    if (body->type == MSGPACK_OBJECT_STR) {
        in->req.body = body->via.str.ptr;      /* borrowed from the input */
        in->req.body_len = body->via.str.size;
        return true;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &in->body, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, *body) != 0) {
        act__msgf(in->problem, sizeof(in->problem), "out of memory");
        return false;
    }
    in->req.body_payload = (struct ttai_payload){(const uint8_t *)in->body.data, in->body.size};
    return true;
}

/* An optional non-negative integer field. */
static bool input_int(struct http_input *in, const msgpack_object *map, const char *key,
                      int64_t *out)
{
    const msgpack_object *o = ttai_obj_get(map, key);
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
        return true;
    if (!ttai_obj_int(o, out) || *out < 0) {
        act__msgf(in->problem, sizeof(in->problem), "'%s' must be a non-negative integer", key);
        return false;
    }
    return true;
}

static bool input_parse(struct http_input *in, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP) {
        act__msgf(in->problem, sizeof(in->problem), "the input must be a map");
        return false;
    }
    in->req.headers = in->headers;
    in->req.url = input_str(in, ttai_obj_get(o, "url"), "url");
    if (in->req.url == NULL)
        return false;
    const msgpack_object *m = ttai_obj_get(o, "method");
    const char *name;
    size_t len;
    if (m != NULL && (!ttai_obj_str(m, &name, &len) ||
                      !act_http_method_parse(name, len, &in->req.method))) {
        act__msgf(in->problem, sizeof(in->problem), "'method' must be GET, POST, PUT or DELETE");
        return false;
    }
    int64_t bytes_max = 0;
    if (!input_headers(in, ttai_obj_get(o, "headers"), false) ||
        !input_headers(in, ttai_obj_get(o, "secret_headers"), true) ||
        !input_body(in, ttai_obj_get(o, "body")) ||
        !input_int(in, o, "timeout_ms", &in->req.timeout_ms) ||
        !input_int(in, o, "connect_timeout_ms", &in->req.connect_timeout_ms) ||
        !input_int(in, o, "response_bytes_max", &bytes_max))
        return false;
    /* Past the limit: act_http_request() refuses it with a message. */
    in->req.response_bytes_max = bytes_max > (int64_t)ACT_HTTP_RESPONSE_BYTES_MAX
                                     ? (size_t)ACT_HTTP_RESPONSE_BYTES_MAX + 1
                                     : (size_t)bytes_max;
    return true;
}

/* ---- The activity ------------------------------------------------------------ */

/* {status, body}: the body as msgpack when it is JSON, else as text. */
static int output_write(const struct act_http_result *res, struct ttai_buf *out)
{
    ttai_buf_map(out, 2);
    ttai_buf_str(out, "status");
    ttai_buf_int(out, res->status);
    ttai_buf_str(out, "body");
    if (res->body_len == 0) {
        ttai_buf_nil(out);
        return TTAI_OK;
    }
    struct ttai_buf json;
    ttai_buf_init(&json);
    if (ttai_payload_from_json(res->body, res->body_len, &json, NULL) == 0)
        ttai_buf_raw(out, ttai_buf_payload(&json));
    else
        ttai_buf_strn(out, res->body, res->body_len);
    ttai_buf_release(&json);
    return TTAI_OK;
}

static int http_json_run(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                         struct ttai_buf *out)
{
    struct http_input in;
    memset(&in, 0, sizeof(in));
    msgpack_sbuffer_init(&in.body);
    in.req.ctx = ctx;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int rc;
    if (ttai_payload_unpack(&r, input, &o) != 0) {
        rc = ttai_activity_fail(ctx, "HttpInvalid", false, "http_json input is not msgpack");
    } else if (!input_parse(&in, &o)) {
        rc = ttai_activity_fail(ctx, "HttpInvalid", false, "invalid http_json input: %s",
                                in.problem);
    } else {
        struct act_http_result res;
        act_http_result_init(&res);
        rc = act_http_request(&in.req, &res) == 0 ? output_write(&res, out)
                                                   : act_http_fail(ctx, &res);
        act_http_result_release(&res);
    }
    ttai_reader_release(&r);
    input_release(&in);
    return rc;
}

const struct ttai_activity_def act_http_json_def = {"http_json", http_json_run};
