/* Payloads as JSON values (engine/payload_json.h) against the text form
 * (ttai_payload_to_json) that the API used to parse back. */
#include <math.h>
#include <string.h>

#include "payload_json.h"

#include "../harness/harness.h"

static struct ttai_err err;

/* A payload made from JSON text, as the API makes them. */
static struct ttai_payload from_json(struct ttai_buf *buf, const char *text)
{
    ttai_buf_reset(buf);
    ASSERT_OK(ttai_payload_from_json(text, strlen(text), buf, &err), &err);
    return ttai_buf_payload(buf);
}

/* The value equals both the JSON it came from and the text form parsed. */
static void check_same_as_text(const char *text)
{
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    struct ttai_payload p = from_json(&buf, text);
    json_t *value = ttai_payload_json(p);
    ASSERT(value != NULL);
    json_t *want = json_loads(text, JSON_DECODE_ANY, NULL);
    ASSERT(want != NULL);
    ASSERT(json_equal(value, want));
    char *s = ttai_payload_to_json(p);
    ASSERT(s != NULL);
    json_t *parsed = json_loads(s, JSON_DECODE_ANY, NULL);
    ASSERT(parsed != NULL && json_equal(value, parsed));
    json_decref(parsed);
    ttai_free(s);
    json_decref(want);
    json_decref(value);
    ttai_buf_release(&buf);
}

static void test_values(void)
{
    check_same_as_text("{\"a\":[1,-2,3.5,true,false,null,\"x\"],\"b\":{\"c\":\"\\u00e9t\\u00e9\"}}");
    check_same_as_text("\"Hello, world!\"");
    check_same_as_text("9223372036854775807");
    check_same_as_text("-9223372036854775808");
    check_same_as_text("[]");
    check_same_as_text("{}");
    check_same_as_text("[[[[[[[[[[1]]]]]]]]]]");
    /* An empty payload is null. */
    json_t *v = ttai_payload_json((struct ttai_payload){NULL, 0});
    ASSERT(v != NULL && json_is_null(v));
    json_decref(v);
}

static void test_refused(void)
{
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    /* A string that is not UTF-8: neither form (the API answers null). */
    ttai_buf_strn(&buf, "ok\xff\xfe", 4);
    ASSERT(ttai_payload_json(ttai_buf_payload(&buf)) == NULL);
    ASSERT(ttai_payload_to_json(ttai_buf_payload(&buf)) == NULL);
    /* A NUL inside a string is a character like any other. */
    ttai_buf_reset(&buf);
    ttai_buf_strn(&buf, "a\0b", 3);
    char *s = ttai_payload_to_json(ttai_buf_payload(&buf));
    ASSERT(s != NULL && strcmp(s, "\"a\\u0000b\"") == 0);
    ttai_free(s);
    json_t *v = ttai_payload_json(ttai_buf_payload(&buf));
    ASSERT(v != NULL && json_string_length(v) == 3 && memcmp(json_string_value(v), "a\0b", 3) == 0);
    json_decref(v);
    /* Inside a map too. */
    ttai_buf_reset(&buf);
    ttai_buf_map(&buf, 1);
    ttai_buf_str(&buf, "k");
    ttai_buf_strn(&buf, "\xc3", 1);
    ASSERT(ttai_payload_json(ttai_buf_payload(&buf)) == NULL);
    /* A float JSON cannot carry. */
    ttai_buf_reset(&buf);
    ttai_buf_double(&buf, NAN);
    ASSERT(ttai_payload_json(ttai_buf_payload(&buf)) == NULL);
    ASSERT(ttai_payload_to_json(ttai_buf_payload(&buf)) == NULL);
    /* Malformed msgpack: an array of three with one element. */
    static const uint8_t torn[] = {0x93, 0x01};
    ASSERT(ttai_payload_json((struct ttai_payload){torn, sizeof(torn)}) == NULL);
    /* Nested deeper than JSON_DEPTH_MAX (64). */
    ttai_buf_reset(&buf);
    for (int i = 0; i < 70; i++)
        ttai_buf_array(&buf, 1);
    ttai_buf_int(&buf, 1);
    ASSERT(ttai_payload_json(ttai_buf_payload(&buf)) == NULL);
    ttai_buf_release(&buf);
}

int main(void)
{
    test_values();
    test_refused();
    printf("ok payload\n");
    return 0;
}
