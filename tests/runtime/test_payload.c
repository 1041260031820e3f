/* Payloads as JSON values (engine/payload_json.h): each is checked against
 * the JSON it should be, written out by hand, and against the text form
 * (ttai_payload_to_json). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "payload_json.h"

#include "../harness/harness.h"

static struct ttai_err err;

/* p's value equals want (JSON text; NULL: no value) and so does its text. */
static void check(struct ttai_payload p, const char *want)
{
    json_t *value = ttai_payload_json(p);
    char *text = ttai_payload_to_json(p);
    if (want == NULL) {
        ASSERT(value == NULL);
        ASSERT(text == NULL);
        return;
    }
    json_t *expected = json_loads(want, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (expected == NULL)
        fprintf(stderr, "payload: bad expected JSON %s\n", want);
    ASSERT(expected != NULL);
    if (value == NULL || !json_equal(value, expected)) {
        char *got = value ? json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        fprintf(stderr, "payload: got %s, want %s\n", got ? got : "(none)", want);
        free(got);
        ASSERT(false);
    }
    ASSERT(text != NULL);
    json_t *parsed = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    ASSERT(parsed != NULL && json_equal(parsed, expected));
    json_decref(parsed);
    ttai_free(text);
    json_decref(expected);
    json_decref(value);
}

/* A payload made from JSON text, as the API makes them, gives it back. */
static void check_round_trip(const char *json)
{
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    ASSERT_OK(ttai_payload_from_json(json, strlen(json), &buf, &err), &err);
    check(ttai_buf_payload(&buf), json);
    ttai_buf_release(&buf);
}

static void test_from_json(void)
{
    check_round_trip("{\"a\":[1,-2,3.5,true,false,null,\"x\"],\"b\":{\"c\":\"\\u00e9t\\u00e9\"}}");
    check_round_trip("\"Hello, world!\"");
    check_round_trip("\"\"");
    check_round_trip("{\"\":\"\"}");
    check_round_trip("9223372036854775807");
    check_round_trip("-9223372036854775808");
    check_round_trip("0.1");
    check_round_trip("[]");
    check_round_trip("{}");
    check_round_trip("[[[[[[[[[[1]]]]]]]]]]");
    check((struct ttai_payload){NULL, 0}, "null"); /* an empty payload */
}

/* msgpack that JSON text never makes: built by hand. */
static void test_msgpack_only(void)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    /* bin: a string of its bytes. */
    msgpack_pack_bin(&b.pk, 2);
    msgpack_pack_bin_body(&b.pk, "ab", 2);
    check(ttai_buf_payload(&b), "\"ab\"");
    /* float32. */
    ttai_buf_reset(&b);
    msgpack_pack_float(&b.pk, 1.5f);
    check(ttai_buf_payload(&b), "1.5");
    /* An unsigned integer past int64: a real, not a negative number. */
    ttai_buf_reset(&b);
    msgpack_pack_uint64(&b.pk, UINT64_MAX);
    check(ttai_buf_payload(&b), "18446744073709551615.0");
    /* Integer keys and a key of 300 bytes (whole). */
    ttai_buf_reset(&b);
    char long_key[301];
    memset(long_key, 'k', 300);
    long_key[300] = '\0';
    ttai_buf_map(&b, 3);
    msgpack_pack_uint64(&b.pk, 7);
    ttai_buf_bool(&b, true);
    msgpack_pack_int64(&b.pk, -3);
    ttai_buf_int(&b, 1);
    ttai_buf_str(&b, long_key);
    ttai_buf_int(&b, 2);
    char want[400];
    snprintf(want, sizeof(want), "{\"7\":true,\"-3\":1,\"%s\":2}", long_key);
    check(ttai_buf_payload(&b), want);
    /* A NUL inside a string value is a character like any other. */
    ttai_buf_reset(&b);
    ttai_buf_strn(&b, "a\0b", 3);
    check(ttai_buf_payload(&b), "\"a\\u0000b\"");
    /* ext has no JSON form: null. */
    ttai_buf_reset(&b);
    msgpack_pack_ext(&b.pk, 1, 1);
    msgpack_pack_ext_body(&b.pk, "x", 1);
    check(ttai_buf_payload(&b), "null");
    ttai_buf_release(&b);
}

static void test_refused(void)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    /* A string that is not UTF-8, as a value or as a key. */
    ttai_buf_strn(&b, "ok\xff\xfe", 4);
    check(ttai_buf_payload(&b), NULL);
    ttai_buf_reset(&b);
    ttai_buf_map(&b, 1);
    ttai_buf_str(&b, "k");
    ttai_buf_strn(&b, "\xc3", 1);
    check(ttai_buf_payload(&b), NULL);
    ttai_buf_reset(&b);
    ttai_buf_map(&b, 1);
    ttai_buf_strn(&b, "\xc3", 1);
    ttai_buf_int(&b, 1);
    check(ttai_buf_payload(&b), NULL);
    /* A key holding a NUL: jansson's readers (ttaictl's) refuse one. */
    ttai_buf_reset(&b);
    ttai_buf_map(&b, 1);
    ttai_buf_strn(&b, "a\0b", 3);
    ttai_buf_int(&b, 1);
    check(ttai_buf_payload(&b), NULL);
    /* A float JSON cannot carry. */
    ttai_buf_reset(&b);
    ttai_buf_double(&b, NAN);
    check(ttai_buf_payload(&b), NULL);
    ttai_buf_reset(&b);
    ttai_buf_double(&b, INFINITY);
    check(ttai_buf_payload(&b), NULL);
    /* Malformed msgpack: an array of three with one element. */
    static const uint8_t torn[] = {0x93, 0x01};
    check((struct ttai_payload){torn, sizeof(torn)}, NULL);
    /* A header claiming far more entries than there are bytes: refused
     * before msgpack-c allocates for them (2^31 map entries, 2^32-1 array
     * items). */
    static const uint8_t huge_map[] = {0xdf, 0x80, 0x00, 0x00, 0x00, 0x20, 0x00, 0x20};
    check((struct ttai_payload){huge_map, sizeof(huge_map)}, NULL);
    static const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    check((struct ttai_payload){huge_array, sizeof(huge_array)}, NULL);
    /* Nested deeper than JSON_DEPTH_MAX (64). */
    ttai_buf_reset(&b);
    for (int i = 0; i < 70; i++)
        ttai_buf_array(&b, 1);
    ttai_buf_int(&b, 1);
    check(ttai_buf_payload(&b), NULL);
    ttai_buf_release(&b);
}

int main(void)
{
    test_from_json();
    test_msgpack_only();
    test_refused();
    printf("ok payload\n");
    return 0;
}
