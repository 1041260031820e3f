/* payload_json.h: payloads as jansson values (engine-internal; payload.c).
 *
 * The HTTP API puts payloads into the JSON documents it answers with; a
 * value spares it the text round trip of ttai_payload_to_json() followed
 * by a parse, once per payload of a history page or a result.
 */
#ifndef TTAI_PAYLOAD_JSON_H
#define TTAI_PAYLOAD_JSON_H

#include <jansson.h>

#include "ttai.h"

/* The payload as a new JSON value (json null for an empty payload), or NULL
 * when the msgpack is malformed, nested too deeply, or holds a string that
 * is not UTF-8 or a float JSON cannot carry (NaN, infinity). */
json_t *ttai_payload_json(struct ttai_payload p);

/* Bytes recorded as text (a failure's type and message, a signal's name)
 * as a new JSON string: UTF-8 as it is, and each byte of a sequence that
 * is not UTF-8 as U+FFFD. Workflow and activity code may record any bytes,
 * and a message cut to its buffer may end inside a character; jansson
 * refuses such a string, which would leave a field out of an answer or
 * fail it. NULL only when out of memory. */
json_t *ttai_json_text(const void *data, size_t len);

#endif
