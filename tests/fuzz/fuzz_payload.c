/* fuzz_payload.c: libFuzzer target for payloads as JSON (engine/payload.c).
 *
 * Payloads reach the API's answers from activities and workflow code, so
 * any bytes may arrive as one. For any input: ttai_payload_json() and
 * ttai_payload_to_json() agree (both give a form or neither does), never
 * read outside the input (ASan), and what they give is JSON a jansson
 * reader takes back as the same value (with JSON_ALLOW_NUL, as ttaictl
 * reads answers). A value that came from JSON text converts back to an
 * equal payload value.
 *
 * Build with -DTTAI_FUZZ=ON (clang); see README.md in this folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload_json.h"

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz_payload: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                            \
        }                                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ttai_payload p = {data, size};
    json_t *value = ttai_payload_json(p);
    char *text = ttai_payload_to_json(p);
    CHECK((value == NULL) == (text == NULL));
    if (value == NULL)
        return 0;
    json_t *parsed = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    CHECK(parsed != NULL);
    CHECK(json_equal(parsed, value));
    /* Back to msgpack and to JSON again: the same value (the msgpack may
     * differ: bin becomes str, integer keys strings). */
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    struct ttai_err err;
    if (ttai_payload_from_json(text, strlen(text), &buf, &err) == 0) {
        json_t *again = ttai_payload_json(ttai_buf_payload(&buf));
        CHECK(again != NULL && json_equal(again, value));
        json_decref(again);
    }
    ttai_buf_release(&buf);
    json_decref(parsed);
    ttai_free(text);
    json_decref(value);
    return 0;
}
