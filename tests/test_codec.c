/* test_codec.c: the history event codec. */
#include "test.h"

#include "store.h"

static struct store_bytes bytes_of(const char *s)
{
    return (struct store_bytes){(const uint8_t *)s, strlen(s)};
}

static void assert_bytes_eq(struct store_bytes a, struct store_bytes b)
{
    ASSERT_EQ(a.len, b.len);
    if (a.len)
        ASSERT_MEM_EQ(a.data, b.data, a.len);
}

void test_codec_roundtrip_every_type(void)
{
    for (int type = 1; type < STORE_EV__COUNT; type++) {
        struct store_event ev = {0};
        ev.type = type;
        ev.time_ms = 1763900000000 + type;
        ev.seq = (uint64_t)type * 7;
        ev.ref_event_id = 3;
        ev.attempt = 2;
        ev.fire_ms = -5;
        ev.name = bytes_of("price_alert");
        ev.payload = bytes_of("\x81\xa3" "abc" "\x01");
        ev.failure_type = bytes_of("Timeout");
        ev.failure_message = bytes_of("took too long");
        ev.details = bytes_of("d");
        ASSERT_OK(ttai_run_id_random(&ev.run_id), (struct ttai_err *)NULL);
        ev.exec_timeout_ms = 1000;
        ev.run_timeout_ms = 2000;
        ev.has_opts = true;
        ev.opts.start_to_close_ms = 30000;
        ev.opts.backoff = 2.0;
        ev.opts.max_attempts = 5;
        ev.opts.non_retryable_count = 2;
        ev.opts.non_retryable[0] = bytes_of("BadRequest");
        ev.opts.non_retryable[1] = bytes_of("NotFound");

        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        struct ttai_err err;
        ASSERT_OK(store_event_encode(&ev, &buf, &len, &cap, &err), &err);
        struct store_event out;
        ASSERT_OK(store_event_decode(buf, len, &out, &err), &err);
        ASSERT_EQ(out.type, type);
        ASSERT_EQ(out.time_ms, ev.time_ms);
        ASSERT_U64_EQ(out.seq, ev.seq);
        ASSERT_U64_EQ(out.ref_event_id, 3);
        ASSERT_EQ(out.attempt, 2);
        ASSERT_EQ(out.fire_ms, -5);
        assert_bytes_eq(out.name, ev.name);
        assert_bytes_eq(out.payload, ev.payload);
        assert_bytes_eq(out.failure_type, ev.failure_type);
        assert_bytes_eq(out.failure_message, ev.failure_message);
        assert_bytes_eq(out.details, ev.details);
        ASSERT(ttai_run_id_eq(&out.run_id, &ev.run_id));
        ASSERT_EQ(out.exec_timeout_ms, 1000);
        ASSERT_EQ(out.run_timeout_ms, 2000);
        ASSERT(out.has_opts);
        ASSERT_EQ(out.opts.start_to_close_ms, 30000);
        ASSERT(out.opts.backoff == 2.0);
        ASSERT_EQ(out.opts.max_attempts, 5);
        ASSERT_EQ(out.opts.non_retryable_count, 2);
        assert_bytes_eq(out.opts.non_retryable[1], ev.opts.non_retryable[1]);
        ttai_free(buf);
    }
}
