/* fuzz_event_decode.c: libFuzzer target for the history event decoder.
 *
 * For any input, store_event_decode() must return 0 or TTAI_EDECODE and
 * never read outside the input (ASan), and what it decodes must survive a
 * round trip: encode(decode(x)) decodes to the same event, and encoding
 * that again gives the same bytes (the encoding is canonical). The input
 * is also fed to the raw msgpack skipper, which must stay inside it.
 *
 * Build with -DTTAI_FUZZ=ON (clang); see README.md in this folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz_event_decode: check failed: %s (line %d)\n", #cond, \
                    __LINE__);                                                  \
            abort();                                                            \
        }                                                                       \
    } while (0)

static int bytes_eq(struct store_bytes a, struct store_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static int inside(struct store_bytes b, const uint8_t *data, size_t size)
{
    return b.len == 0 || (b.data >= data && b.len <= size && (size_t)(b.data - data) <= size - b.len);
}

static int same_double(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static void check_equal(const struct store_event *a, const struct store_event *b)
{
    CHECK(a->type == b->type);
    CHECK(a->time_ms == b->time_ms);
    CHECK(a->seq == b->seq);
    CHECK(a->ref_event_id == b->ref_event_id);
    CHECK(a->attempt == b->attempt);
    CHECK(a->fire_ms == b->fire_ms);
    CHECK(bytes_eq(a->name, b->name));
    CHECK(bytes_eq(a->payload, b->payload));
    CHECK(bytes_eq(a->failure_type, b->failure_type));
    CHECK(bytes_eq(a->failure_message, b->failure_message));
    CHECK(bytes_eq(a->details, b->details));
    CHECK(ttai_run_id_eq(&a->run_id, &b->run_id));
    CHECK(a->exec_timeout_ms == b->exec_timeout_ms);
    CHECK(a->run_timeout_ms == b->run_timeout_ms);
    CHECK(a->has_opts == b->has_opts);
    const struct store_activity_opts *x = &a->opts, *y = &b->opts;
    CHECK(x->schedule_to_close_ms == y->schedule_to_close_ms);
    CHECK(x->schedule_to_start_ms == y->schedule_to_start_ms);
    CHECK(x->start_to_close_ms == y->start_to_close_ms);
    CHECK(x->heartbeat_ms == y->heartbeat_ms);
    CHECK(x->initial_interval_ms == y->initial_interval_ms);
    CHECK(same_double(x->backoff, y->backoff));
    CHECK(x->max_interval_ms == y->max_interval_ms);
    CHECK(x->max_attempts == y->max_attempts);
    CHECK(x->non_retryable_count == y->non_retryable_count);
    for (uint32_t i = 0; i < x->non_retryable_count; i++)
        CHECK(bytes_eq(x->non_retryable[i], y->non_retryable[i]));
}

static void check_ranges(const struct store_event *ev, const uint8_t *data, size_t size)
{
    CHECK(inside(ev->name, data, size));
    CHECK(inside(ev->payload, data, size));
    CHECK(inside(ev->failure_type, data, size));
    CHECK(inside(ev->failure_message, data, size));
    CHECK(inside(ev->details, data, size));
    CHECK(ev->opts.non_retryable_count <= STORE_NON_RETRYABLE_MAX);
    for (uint32_t i = 0; i < ev->opts.non_retryable_count; i++)
        CHECK(inside(ev->opts.non_retryable[i], data, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The skipper alone: it stays inside, and fails without moving. */
    struct store__mp r = {data, data + size};
    if (store__mp_skip(&r) == 0)
        CHECK(r.p > data && r.p <= data + size);
    else
        CHECK(r.p == data);

    struct store_event ev;
    struct ttai_err err;
    int rc = store_event_decode(data, size, &ev, &err);
    if (rc != 0) {
        CHECK(rc == TTAI_EDECODE);
        CHECK(err.rc == TTAI_EDECODE);
        return 0;
    }
    CHECK(ev.event_id == 0);
    CHECK(ev.type > 0 && ev.type <= 255);
    check_ranges(&ev, data, size);

    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    rc = store_event_encode(&ev, &buf, &len, &cap, &err);
    if (store_event_type_name(ev.type) == NULL) {
        /* A type from a newer writer decodes but cannot be written. */
        CHECK(rc == TTAI_EINVAL);
        CHECK(len == 0);
        ttai_free(buf);
        return 0;
    }
    if (rc == TTAI_ETOOBIG) {
        /* Only an input near the limit can re-encode larger than it
         * (an integer backoff becomes an 8-byte double, and so on). */
        CHECK(size > STORE_EVENT_BYTES_MAX - 64);
        ttai_free(buf);
        return 0;
    }
    CHECK(rc == 0);

    struct store_event again;
    rc = store_event_decode(buf, len, &again, &err);
    CHECK(rc == 0);
    check_equal(&ev, &again);

    uint8_t *buf2 = NULL;
    size_t len2 = 0, cap2 = 0;
    CHECK(store_event_encode(&again, &buf2, &len2, &cap2, &err) == 0);
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
    ttai_free(buf2);
    ttai_free(buf);
    return 0;
}
