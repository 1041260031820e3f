/* test_codec.c: the history event codec (store_event_encode/_decode).
 *
 * Round trips of every type and field, absent fields, and malformed input:
 * truncations, random corruption, trailing bytes, wrong shapes and types,
 * unknown (and deeply nested) fields, lengths that point past the end.
 * Every decode of hand-made input reads from a heap copy of exactly its
 * length, so that ASan reports any read outside it. */
#include "test_util.h"

#include <limits.h>
#include <math.h>

static const uint8_t payload_bytes[] = {0x81, 0xa3, 'a', 'b', 'c', 0x01};

/* Every attribute set, with values that need every integer width. */
static void fill_full(struct store_event *ev, int type)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->time_ms = 1763900000000 + type;
    ev->seq = (uint64_t)type * 7;
    ev->ref_event_id = 300;
    ev->attempt = 70000;
    ev->fire_ms = -5;
    ev->name = bytes_of("price_alert");
    ev->payload = (struct store_bytes){payload_bytes, sizeof(payload_bytes)};
    ev->failure_type = bytes_of("Timeout");
    ev->failure_message = bytes_of("took too long");
    ev->details = bytes_of("d");
    for (int i = 0; i < TTAI_RUN_ID_BYTES; i++)
        ev->run_id.b[i] = (uint8_t)(0xa0 + i + type);
    ev->exec_timeout_ms = 1000;
    ev->run_timeout_ms = 2000;
    ev->has_opts = true;
    ev->opts.schedule_to_close_ms = 600000;
    ev->opts.schedule_to_start_ms = 60000;
    ev->opts.start_to_close_ms = 30000;
    ev->opts.heartbeat_ms = 5000;
    ev->opts.initial_interval_ms = 1000;
    ev->opts.backoff = 2.5;
    ev->opts.max_interval_ms = 100000;
    ev->opts.max_attempts = 5;
    ev->opts.non_retryable_count = 2;
    ev->opts.non_retryable[0] = bytes_of("BadRequest");
    ev->opts.non_retryable[1] = bytes_of("NotFound");
}

static void assert_bytes_eq_at(struct store_bytes a, struct store_bytes b, int line)
{
    if (a.len != b.len)
        test__fail(__FILE__, line, "byte range lengths differ: %zu vs %zu", a.len, b.len);
    if (a.len != 0 && memcmp(a.data, b.data, a.len) != 0)
        test__fail(__FILE__, line, "byte ranges of %zu bytes differ", a.len);
}

#define ASSERT_BYTES_EQ(a, b) assert_bytes_eq_at((a), (b), __LINE__)

/* Every attribute but event_id is equal. */
static void assert_event_eq_at(const struct store_event *a, const struct store_event *b, int line)
{
#define CMP(field)                                                              \
    if (a->field != b->field)                                                   \
        test__fail(__FILE__, line, "field " #field " differs: %lld vs %lld",   \
                   (long long)a->field, (long long)b->field);
    CMP(type)
    CMP(time_ms)
    CMP(seq)
    CMP(ref_event_id)
    CMP(attempt)
    CMP(fire_ms)
    CMP(exec_timeout_ms)
    CMP(run_timeout_ms)
    CMP(has_opts)
    CMP(opts.schedule_to_close_ms)
    CMP(opts.schedule_to_start_ms)
    CMP(opts.start_to_close_ms)
    CMP(opts.heartbeat_ms)
    CMP(opts.initial_interval_ms)
    CMP(opts.max_interval_ms)
    CMP(opts.max_attempts)
    CMP(opts.non_retryable_count)
#undef CMP
    if (!(a->opts.backoff == b->opts.backoff))
        test__fail(__FILE__, line, "backoff differs: %g vs %g", a->opts.backoff,
                   b->opts.backoff);
    assert_bytes_eq_at(a->name, b->name, line);
    assert_bytes_eq_at(a->payload, b->payload, line);
    assert_bytes_eq_at(a->failure_type, b->failure_type, line);
    assert_bytes_eq_at(a->failure_message, b->failure_message, line);
    assert_bytes_eq_at(a->details, b->details, line);
    if (!ttai_run_id_eq(&a->run_id, &b->run_id))
        test__fail(__FILE__, line, "run ids differ");
    for (uint32_t i = 0; i < a->opts.non_retryable_count && i < STORE_NON_RETRYABLE_MAX; i++)
        assert_bytes_eq_at(a->opts.non_retryable[i], b->opts.non_retryable[i], line);
}

#define ASSERT_EVENT_EQ(a, b) assert_event_eq_at((a), (b), __LINE__)

/* Encodes into a fresh buffer the caller frees. */
static uint8_t *encode(const struct store_event *ev, size_t *len)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    struct ttai_err err;
    *len = 0;
    ASSERT_OK(store_event_encode(ev, &buf, len, &cap, &err), &err);
    return buf;
}

/* Decodes from an exact heap copy; returns the code. On success the byte
 * ranges of *out point into the copy, which is handed to *copy_out (the
 * caller frees it) or, when copy_out is NULL, kept until the next call. */
static int decode_copy(const uint8_t *data, size_t len, struct store_event *out, uint8_t **copy_out)
{
    static uint8_t *kept;
    free(kept);
    kept = NULL;
    uint8_t *copy = test_exact_copy(data, len);
    struct ttai_err err = {0, ""};
    memset(out, 0x5a, sizeof(*out)); /* decode must clear everything itself */
    int rc = store_event_decode(copy, len, out, &err);
    if (rc != 0) {
        ASSERT_EQ(rc, TTAI_EDECODE);
        ASSERT_EQ(err.rc, TTAI_EDECODE);
        ASSERT(err.msg[0] != '\0');
    }
    if (copy_out != NULL)
        *copy_out = copy;
    else
        kept = copy;
    return rc;
}

static int decode_w(const struct mpw *w, struct store_event *out)
{
    return decode_copy(w->buf, w->len, out, NULL);
}

/* A byte range of a decoded event lies inside [base, base + len). */
static void assert_range_inside(struct store_bytes b, const uint8_t *base, size_t len)
{
    if (b.len == 0)
        return;
    ASSERT(b.data >= base);
    ASSERT(b.len <= len);
    ASSERT((size_t)(b.data - base) <= len - b.len);
}

static void assert_ranges_inside(const struct store_event *ev, const uint8_t *base, size_t len)
{
    assert_range_inside(ev->name, base, len);
    assert_range_inside(ev->payload, base, len);
    assert_range_inside(ev->failure_type, base, len);
    assert_range_inside(ev->failure_message, base, len);
    assert_range_inside(ev->details, base, len);
    for (uint32_t i = 0; i < ev->opts.non_retryable_count; i++)
        assert_range_inside(ev->opts.non_retryable[i], base, len);
}

/* {0: type, 1: time_ms} followed by `extra` more entries the caller writes. */
static void mpw_event_head(struct mpw *w, uint32_t extra, int type, int64_t time_ms)
{
    mpw_map(w, 2 + extra);
    mpw_uint(w, 0);
    mpw_uint(w, (uint64_t)type);
    mpw_uint(w, 1);
    mpw_int(w, time_ms);
}

/* ---- Round trips -------------------------------------------------------- */

void test_codec_roundtrip_every_type(void)
{
    for (int type = 1; type < STORE_EV__COUNT; type++) {
        struct store_event ev;
        fill_full(&ev, type);
        ev.event_id = 77; /* not encoded: decode leaves 0 */
        size_t len;
        uint8_t *buf = encode(&ev, &len);
        struct store_event out;
        uint8_t *copy;
        ASSERT_OK(decode_copy(buf, len, &out, &copy), (struct ttai_err *)NULL);
        ASSERT_EQ(out.type, type);
        ASSERT_U64_EQ(out.event_id, 0);
        ASSERT_EVENT_EQ(&out, &ev);
        assert_ranges_inside(&out, copy, len);
        free(copy);
        ttai_free(buf);
    }
}

/* Every non-retryable slot, and the extremes of every integer field. */
void test_codec_roundtrip_extremes(void)
{
    static const int64_t times[] = {INT64_MIN, INT64_MIN + 1, -4294967297LL, -2147483649LL,
                                    -32769, -129, -33, -1, 1, 127, 128, 65536, INT64_MAX};
    for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
        struct store_event ev;
        fill_full(&ev, STORE_EV_ACTIVITY_SCHEDULED);
        ev.time_ms = times[t];
        ev.fire_ms = times[t];
        ev.exec_timeout_ms = times[t];
        ev.run_timeout_ms = -times[t / 2 + 1];
        ev.seq = UINT64_MAX - t;
        ev.ref_event_id = (uint64_t)1 << (t * 5 % 64);
        ev.attempt = UINT32_MAX - (uint32_t)t;
        ev.opts.schedule_to_close_ms = times[t];
        ev.opts.max_attempts = UINT32_MAX;
        ev.opts.backoff = t % 2 ? 1e300 : -0.25;
        ev.opts.non_retryable_count = STORE_NON_RETRYABLE_MAX;
        static const char *const names[STORE_NON_RETRYABLE_MAX] = {"a", "bb", "", "dddd", "e",
                                                                   "ff", "g", "hhhhhhhh"};
        for (int i = 0; i < STORE_NON_RETRYABLE_MAX; i++)
            ev.opts.non_retryable[i] = bytes_of(names[i]);
        size_t len;
        uint8_t *buf = encode(&ev, &len);
        struct store_event out;
        ASSERT_OK(decode_copy(buf, len, &out, NULL), (struct ttai_err *)NULL);
        ASSERT_EVENT_EQ(&out, &ev);
        ttai_free(buf);
    }
}

/* Fields left zero are not written and decode as zero; each field set
 * alone comes back alone. */
void test_codec_absent_fields_zero(void)
{
    enum { F_NONE, F_SEQ, F_REF, F_ATTEMPT, F_FIRE, F_NAME, F_PAYLOAD, F_FTYPE, F_FMSG,
           F_DETAILS, F_RUN, F_EXEC_TO, F_RUN_TO, F_OPTS_EMPTY, F_OPTS_ONE, F__COUNT };
    for (int type = 1; type < STORE_EV__COUNT; type++) {
        for (int f = F_NONE; f < F__COUNT; f++) {
            struct store_event ev;
            memset(&ev, 0, sizeof(ev));
            ev.type = type;
            ev.time_ms = f == F_NONE ? 0 : 12345;
            switch (f) {
            case F_SEQ: ev.seq = 9; break;
            case F_REF: ev.ref_event_id = 8; break;
            case F_ATTEMPT: ev.attempt = 3; break;
            case F_FIRE: ev.fire_ms = -7; break;
            case F_NAME: ev.name = bytes_of("n"); break;
            case F_PAYLOAD: ev.payload = bytes_of("\xc0"); break;
            case F_FTYPE: ev.failure_type = bytes_of("T"); break;
            case F_FMSG: ev.failure_message = bytes_of("m"); break;
            case F_DETAILS: ev.details = bytes_of("dd"); break;
            case F_RUN: ev.run_id.b[15] = 1; break;
            case F_EXEC_TO: ev.exec_timeout_ms = 5; break;
            case F_RUN_TO: ev.run_timeout_ms = 6; break;
            case F_OPTS_EMPTY: ev.has_opts = true; break;
            case F_OPTS_ONE: ev.has_opts = true; ev.opts.max_interval_ms = 4; break;
            default: break;
            }
            size_t len;
            uint8_t *buf = encode(&ev, &len);
            /* A fixmap of type and time, plus one entry for the field set. */
            ASSERT_EQ(buf[0], f == F_NONE ? 0x82 : 0x83);
            if (f == F_NONE)
                ASSERT_EQ(len, 5); /* 82 00 tt 01 00 */
            struct store_event out;
            ASSERT_OK(decode_copy(buf, len, &out, NULL), (struct ttai_err *)NULL);
            ASSERT_EVENT_EQ(&out, &ev);
            /* Zero fields decode as exactly zero, not as leftovers. */
            if (f != F_OPTS_ONE) {
                struct store_activity_opts zero;
                memset(&zero, 0, sizeof(zero));
                ASSERT_MEM_EQ(&out.opts, &zero, sizeof(zero));
            }
            if (f != F_NAME)
                ASSERT_EQ(out.name.len, 0);
            if (f != F_RUN)
                ASSERT(ttai_run_id_is_zero(&out.run_id));
            ASSERT_EQ(out.has_opts, f == F_OPTS_EMPTY || f == F_OPTS_ONE);
            ttai_free(buf);
        }
    }
}

/* The event id is the key, never part of the value. */
void test_codec_event_id_not_encoded(void)
{
    struct store_event ev;
    fill_full(&ev, STORE_EV_TIMER_STARTED);
    ev.event_id = 0;
    size_t len0, len1;
    uint8_t *buf0 = encode(&ev, &len0);
    ev.event_id = 0x123456789abcULL;
    uint8_t *buf1 = encode(&ev, &len1);
    ASSERT_EQ(len0, len1);
    ASSERT_MEM_EQ(buf0, buf1, len0);
    struct store_event out;
    ASSERT_OK(decode_copy(buf1, len1, &out, NULL), (struct ttai_err *)NULL);
    ASSERT_U64_EQ(out.event_id, 0);
    ttai_free(buf0);
    ttai_free(buf1);
}

/* Encoding appends to what the buffer holds already. */
void test_codec_encode_appends(void)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    struct ttai_err err;
    struct store_event a, b;
    fill_full(&a, STORE_EV_WORKFLOW_STARTED);
    fill_full(&b, STORE_EV_SIGNAL_RECEIVED);
    b.payload = bytes_of("another payload");
    ASSERT_OK(store_event_encode(&a, &buf, &len, &cap, &err), &err);
    size_t len_a = len;
    ASSERT_OK(store_event_encode(&b, &buf, &len, &cap, &err), &err);
    ASSERT_LE(len, cap);
    struct store_event out;
    ASSERT_OK(decode_copy(buf, len_a, &out, NULL), (struct ttai_err *)NULL);
    ASSERT_EVENT_EQ(&out, &a);
    ASSERT_OK(decode_copy(buf + len_a, len - len_a, &out, NULL), (struct ttai_err *)NULL);
    ASSERT_EVENT_EQ(&out, &b);
    /* Both together are one event and trailing bytes. */
    ASSERT_EQ(decode_copy(buf, len, &out, NULL), TTAI_EDECODE);
    ttai_free(buf);
}

/* ---- Malformed input --------------------------------------------------- */

void test_codec_truncations_fail(void)
{
    for (int type = 1; type < STORE_EV__COUNT; type++) {
        struct store_event ev;
        fill_full(&ev, type);
        size_t len;
        uint8_t *buf = encode(&ev, &len);
        for (size_t cut = 0; cut < len; cut++) {
            struct store_event out;
            int rc = decode_copy(buf, cut, &out, NULL);
            if (rc != TTAI_EDECODE)
                test__fail(__FILE__, __LINE__, "type %d cut at %zu of %zu: rc %d", type, cut,
                           len, rc);
        }
        ttai_free(buf);
    }
}

/* Corrupt bytes never crash or read outside the input: decode succeeds or
 * says EDECODE; what decodes re-encodes to something that decodes equal. */
void test_codec_random_flips(void)
{
    uint64_t state = test_seed();
    for (int iter = 0; iter < 30000; iter++) {
        struct store_event ev;
        fill_full(&ev, 1 + (int)(test_rand(&state) % (STORE_EV__COUNT - 1)));
        if (test_rand(&state) % 3 == 0)
            ev.has_opts = false;
        size_t len;
        uint8_t *buf = encode(&ev, &len);
        int flips = 1 + (int)(test_rand(&state) % 4);
        for (int i = 0; i < flips; i++) {
            size_t at = test_rand(&state) % len;
            uint8_t mask = (uint8_t)(test_rand(&state) % 255 + 1);
            if (test_rand(&state) % 4 == 0)
                buf[at] = mask; /* a whole new byte: type bytes, 0xff lengths */
            else
                buf[at] ^= mask;
        }
        size_t use = len;
        if (test_rand(&state) % 8 == 0)
            use = test_rand(&state) % len;
        struct store_event out;
        uint8_t *copy;
        int rc = decode_copy(buf, use, &out, &copy);
        if (rc == 0) {
            assert_ranges_inside(&out, copy, use);
            ASSERT_LE(out.opts.non_retryable_count, STORE_NON_RETRYABLE_MAX);
            uint8_t *re = NULL;
            size_t re_len = 0, re_cap = 0;
            struct ttai_err err;
            int erc = store_event_encode(&out, &re, &re_len, &re_cap, &err);
            if (store_event_type_name(out.type) == NULL) {
                ASSERT_EQ(erc, TTAI_EINVAL); /* decoded an unknown (future) type */
            } else {
                ASSERT_OK(erc, &err);
                struct store_event again;
                ASSERT_OK(decode_copy(re, re_len, &again, NULL), (struct ttai_err *)NULL);
                if (isnan(out.opts.backoff)) {
                    ASSERT(isnan(again.opts.backoff));
                    again.opts.backoff = out.opts.backoff = 0;
                }
                ASSERT_EVENT_EQ(&again, &out);
            }
            ttai_free(re);
        }
        free(copy);
        ttai_free(buf);
    }
}

void test_codec_trailing_bytes(void)
{
    struct store_event ev;
    fill_full(&ev, STORE_EV_MARKER_RECORDED);
    size_t len;
    uint8_t *buf = encode(&ev, &len);
    static const uint8_t tails[] = {0x00, 0xc0, 0x80, 0x90, 0xff, 0xc1};
    for (size_t i = 0; i < sizeof(tails); i++) {
        uint8_t *longer = malloc(len + 1);
        memcpy(longer, buf, len);
        longer[len] = tails[i];
        struct store_event out;
        ASSERT_EQ(decode_copy(longer, len + 1, &out, NULL), TTAI_EDECODE);
        free(longer);
    }
    /* A map that claims fewer entries than follow. */
    struct mpw w = {0};
    mpw_event_head(&w, 0, STORE_EV_TIMER_FIRED, 5);
    mpw_uint(&w, 2);
    mpw_uint(&w, 3);
    struct store_event out;
    ASSERT_EQ(decode_w(&w, &out), TTAI_EDECODE);
    mpw_free(&w);
    ttai_free(buf);
}

void test_codec_not_a_map(void)
{
    static const struct {
        const char *what;
        size_t len;
        uint8_t bytes[8];
    } cases[] = {
        {"empty", 0, {0}},
        {"empty array", 1, {0x90}},
        {"array of type and time", 3, {0x92, 0x01, 0x05}},
        {"array16", 3, {0xdc, 0x00, 0x00}},
        {"positive int", 1, {0x01}},
        {"negative int", 1, {0xff}},
        {"uint8", 2, {0xcc, 0x80}},
        {"nil", 1, {0xc0}},
        {"true", 1, {0xc3}},
        {"never-used byte", 1, {0xc1}},
        {"fixstr", 4, {0xa3, 'a', 'b', 'c'}},
        {"bin8", 3, {0xc4, 0x01, 0x00}},
        {"float32", 5, {0xca, 0, 0, 0, 0}},
        {"fixext1", 3, {0xd4, 0x01, 0x00}},
        {"map16 cut in its length", 2, {0xde, 0x00}},
        {"map32 cut in its length", 4, {0xdf, 0x00, 0x00, 0x00}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_event out;
        int rc = decode_copy(cases[i].bytes, cases[i].len, &out, NULL);
        if (rc != TTAI_EDECODE)
            test__fail(__FILE__, __LINE__, "%s: rc %d", cases[i].what, rc);
    }
}

void test_codec_missing_type_or_time(void)
{
    struct ttai_err err;
    struct store_event out;
    /* {} */
    uint8_t empty[] = {0x80};
    ASSERT_EQ(store_event_decode(empty, sizeof(empty), &out, &err), TTAI_EDECODE);
    /* {0: 1} lacks the time */
    uint8_t no_time[] = {0x81, 0x00, 0x01};
    ASSERT_EQ(store_event_decode(no_time, sizeof(no_time), &out, &err), TTAI_EDECODE);
    ASSERT(strstr(err.msg, "time") != NULL);
    /* {1: 5, 2: 3} lacks the type */
    uint8_t no_type[] = {0x82, 0x01, 0x05, 0x02, 0x03};
    ASSERT_EQ(store_event_decode(no_type, sizeof(no_type), &out, &err), TTAI_EDECODE);
    ASSERT(strstr(err.msg, "type") != NULL);
    /* The same fields under map16 and map32 headers, with the type. */
    uint8_t map16[] = {0xde, 0x00, 0x02, 0x00, 0x01, 0x01, 0x05};
    ASSERT_OK(decode_copy(map16, sizeof(map16), &out, NULL), (struct ttai_err *)NULL);
    ASSERT_EQ(out.type, 1);
    ASSERT_EQ(out.time_ms, 5);
    uint8_t map32[] = {0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0,
                       0x00, 0x0f};
    ASSERT_OK(decode_copy(map32, sizeof(map32), &out, NULL), (struct ttai_err *)NULL);
    ASSERT_EQ(out.type, 15);
    ASSERT(out.time_ms == INT64_MIN);
}

/* One unknown value of every msgpack kind. */
static void mpw_any_value(struct mpw *w, int kind)
{
    static const uint8_t ext_data[300] = {1, 2, 3};
    switch (kind) {
    case 0: mpw_byte(w, 0xc0); break;
    case 1: mpw_byte(w, 0xc3); break;
    case 2: mpw_int(w, -100000); break;
    case 3: mpw_uint(w, UINT64_MAX); break;
    case 4: mpw_float(w, 1.5f); break;
    case 5: mpw_double(w, -2.25); break;
    case 6: mpw_str(w, "a string of more than thirty-one bytes, a str8"); break;
    case 7: mpw_bin(w, ext_data, 300); break; /* bin16 */
    case 8: mpw_be(w, 0xd4, 0x01, 1); mpw_byte(w, 9); break;        /* fixext 1 */
    case 9: mpw_be(w, 0xd5, 0x01, 1); mpw_raw(w, ext_data, 2); break;
    case 10: mpw_be(w, 0xd6, 0xff, 1); mpw_raw(w, ext_data, 4); break; /* timestamp32 */
    case 11: mpw_be(w, 0xd7, 0x02, 1); mpw_raw(w, ext_data, 8); break;
    case 12: mpw_be(w, 0xd8, 0x03, 1); mpw_raw(w, ext_data, 16); break;
    case 13: mpw_be(w, 0xc7, 3, 1); mpw_byte(w, 7); mpw_raw(w, ext_data, 3); break;
    case 14: mpw_be(w, 0xc8, 20, 2); mpw_byte(w, 7); mpw_raw(w, ext_data, 20); break;
    case 15: mpw_be(w, 0xc9, 0, 4); mpw_byte(w, 7); break;
    case 16: /* [1, "x", {2: [nil]}] */
        mpw_array(w, 3);
        mpw_uint(w, 1);
        mpw_str(w, "x");
        mpw_map(w, 1);
        mpw_uint(w, 2);
        mpw_array(w, 1);
        mpw_byte(w, 0xc0);
        break;
    case 17: mpw_be(w, 0xdc, 1, 2); mpw_be(w, 0xdd, 0, 4); break; /* array16 of array32 */
    default: mpw_be(w, 0xde, 1, 2); mpw_str(w, "k"); mpw_be(w, 0xdf, 0, 4); break;
    }
}
#define ANY_VALUE_KINDS 19

void test_codec_unknown_int_keys_skipped(void)
{
    static const uint64_t keys[] = {15, 16, 99, 127, 128, 255, 65535, 65536, 4294967296ULL,
                                    UINT64_MAX};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        for (int kind = 0; kind < ANY_VALUE_KINDS; kind++) {
            /* {key: value, 0: type, 6: "nm", 1: time, key+...: value} */
            struct mpw w = {0};
            mpw_map(&w, 5);
            mpw_uint(&w, keys[k]);
            mpw_any_value(&w, kind);
            mpw_uint(&w, 0);
            mpw_uint(&w, STORE_EV_ACTIVITY_SCHEDULED);
            mpw_uint(&w, 6);
            mpw_str(&w, "nm");
            mpw_uint(&w, 1);
            mpw_int(&w, -3);
            /* An unknown key inside the activity options too. */
            mpw_uint(&w, 14);
            mpw_map(&w, 3);
            mpw_uint(&w, 2);
            mpw_uint(&w, 4000);
            mpw_uint(&w, keys[k]);
            mpw_any_value(&w, kind);
            mpw_uint(&w, 8);
            mpw_array(&w, 1);
            mpw_str(&w, "E");
            struct store_event out;
            int rc = decode_w(&w, &out);
            if (rc != 0)
                test__fail(__FILE__, __LINE__, "key %" PRIu64 " value kind %d: rc %d", keys[k],
                           kind, rc);
            ASSERT_EQ(out.type, STORE_EV_ACTIVITY_SCHEDULED);
            ASSERT_EQ(out.time_ms, -3);
            ASSERT(bytes_eq_str(out.name, "nm"));
            ASSERT(out.has_opts);
            ASSERT_EQ(out.opts.start_to_close_ms, 4000);
            ASSERT_EQ(out.opts.non_retryable_count, 1);
            ASSERT(bytes_eq_str(out.opts.non_retryable[0], "E"));
            ASSERT_EQ(out.seq, 0);
            ASSERT_EQ(out.payload.len, 0);
            mpw_free(&w);
        }
    }
}

#define DEEP 10000

static void mpw_deep_arrays(struct mpw *w, int depth)
{
    for (int i = 0; i < depth; i++)
        mpw_array(w, i % 2 ? 1 : 2); /* [x, [...]] and [[...]] alternate */
    mpw_byte(w, 0xc0);
    for (int i = depth - 1; i >= 0; i--)
        if (i % 2 == 0)
            mpw_uint(w, 7); /* the second element of the two-element arrays */
}

static void mpw_deep_maps(struct mpw *w, int depth)
{
    for (int i = 0; i < depth; i++) {
        mpw_map(w, 1);
        if (i % 3 == 0)
            mpw_str(w, "k");
        else
            mpw_int(w, -i);
    }
    mpw_byte(w, 0xc2);
}

/* Keys that are not unsigned integers belong to a newer writer; they and
 * their values are skipped whatever their depth, without recursion. */
void test_codec_unknown_nested_keys_skipped(void)
{
    for (int variant = 0; variant < 9; variant++) {
        struct mpw w = {0};
        mpw_map(&w, 4);
        mpw_uint(&w, 0);
        mpw_uint(&w, STORE_EV_SIGNAL_RECEIVED);
        switch (variant) {
        case 0: mpw_str(&w, "future"); mpw_deep_arrays(&w, DEEP); break;
        case 1: mpw_int(&w, -1); mpw_deep_maps(&w, DEEP); break;
        case 2: mpw_deep_arrays(&w, DEEP); mpw_deep_maps(&w, DEEP); break;
        case 3: mpw_deep_maps(&w, DEEP); mpw_deep_arrays(&w, DEEP); break;
        case 4: mpw_byte(&w, 0xc0); mpw_deep_arrays(&w, DEEP); break;    /* nil key */
        case 5: mpw_byte(&w, 0xc3); mpw_str(&w, "v"); break;             /* bool key */
        case 6: mpw_double(&w, 1.0); mpw_deep_maps(&w, DEEP); break;    /* float key */
        case 7: mpw_bin(&w, "kk", 2); mpw_any_value(&w, 14); break;     /* bin key */
        default: mpw_int(&w, INT64_MIN); mpw_any_value(&w, 18); break;
        }
        mpw_uint(&w, 6);
        mpw_str(&w, "sig");
        mpw_uint(&w, 1);
        mpw_uint(&w, 42);
        struct store_event out;
        int rc = decode_w(&w, &out);
        if (rc != 0)
            test__fail(__FILE__, __LINE__, "variant %d: rc %d", variant, rc);
        ASSERT_EQ(out.type, STORE_EV_SIGNAL_RECEIVED);
        ASSERT_EQ(out.time_ms, 42);
        ASSERT(bytes_eq_str(out.name, "sig"));

        /* The same unknown entry inside the activity options. */
        struct mpw o = {0};
        mpw_event_head(&o, 1, STORE_EV_ACTIVITY_SCHEDULED, 1);
        mpw_uint(&o, 14);
        mpw_map(&o, 2);
        /* Copy the key and value written above: they start after the
         * map header and the type entry (3 bytes). */
        size_t unknown_start = 3;
        size_t unknown_end = w.len - 1 /* "sig" key */ - 4 /* str */ - 2 /* time */;
        mpw_raw(&o, w.buf + unknown_start, unknown_end - unknown_start);
        mpw_uint(&o, 3);
        mpw_uint(&o, 900);
        rc = decode_w(&o, &out);
        if (rc != 0)
            test__fail(__FILE__, __LINE__, "variant %d in opts: rc %d", variant, rc);
        ASSERT(out.has_opts);
        ASSERT_EQ(out.opts.heartbeat_ms, 900);

        /* Cut anywhere inside the deep value, it is malformed. */
        for (size_t cut = unknown_start + 1; cut < unknown_end; cut += 997) {
            rc = decode_copy(w.buf, cut, &out, NULL);
            ASSERT_EQ(rc, TTAI_EDECODE);
        }
        mpw_free(&o);
        mpw_free(&w);
    }
}

/* Known keys with values of the wrong type or range. */
void test_codec_wrong_value_types(void)
{
    enum { V_STR, V_NEG, V_ZERO, V_256, V_NIL, V_TRUE, V_DOUBLE, V_ARRAY, V_MAP, V_U63,
           V_U32X, V_BIN15, V_BIN17, V_INT, V_NEG_I64MIN };
    static const struct {
        uint64_t key;
        int value;
    } cases[] = {
        {0, V_STR}, {0, V_NEG}, {0, V_ZERO}, {0, V_256}, {0, V_NIL}, {0, V_TRUE},
        {0, V_DOUBLE}, {0, V_ARRAY},
        {1, V_STR}, {1, V_DOUBLE}, {1, V_U63}, {1, V_NIL}, {1, V_BIN15},
        {2, V_NEG}, {2, V_STR}, {2, V_DOUBLE}, {2, V_NEG_I64MIN},
        {3, V_NEG}, {3, V_MAP},
        {4, V_U32X}, {4, V_NEG}, {4, V_STR},
        {5, V_U63}, {5, V_STR}, {5, V_DOUBLE},
        {6, V_INT}, {6, V_NIL}, {6, V_ARRAY}, {6, V_MAP},
        {7, V_INT}, {7, V_ARRAY}, {8, V_INT}, {9, V_TRUE}, {10, V_MAP},
        {11, V_BIN15}, {11, V_BIN17}, {11, V_INT}, {11, V_NIL},
        {12, V_STR}, {12, V_U63}, {13, V_DOUBLE},
        {14, V_ARRAY}, {14, V_INT}, {14, V_STR}, {14, V_NIL},
    };
    static const uint8_t sixteen[17] = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mpw w = {0};
        bool replaces = cases[i].key <= 1;
        mpw_map(&w, replaces ? 2 : 3);
        mpw_uint(&w, cases[i].key == 0 ? 1 : 0);
        mpw_uint(&w, cases[i].key == 0 ? 10 : STORE_EV_TIMER_STARTED);
        if (!replaces) {
            mpw_uint(&w, 1);
            mpw_uint(&w, 10);
        }
        mpw_uint(&w, cases[i].key);
        switch (cases[i].value) {
        case V_STR: mpw_str(&w, "7"); break;
        case V_NEG: mpw_int(&w, -1); break;
        case V_ZERO: mpw_uint(&w, 0); break;
        case V_256: mpw_uint(&w, 256); break;
        case V_NIL: mpw_byte(&w, 0xc0); break;
        case V_TRUE: mpw_byte(&w, 0xc3); break;
        case V_DOUBLE: mpw_double(&w, 1.0); break;
        case V_ARRAY: mpw_array(&w, 1); mpw_uint(&w, 1); break;
        case V_MAP: mpw_map(&w, 1); mpw_uint(&w, 1); mpw_uint(&w, 1); break;
        case V_U63: mpw_uint(&w, (uint64_t)INT64_MAX + 1); break;
        case V_U32X: mpw_uint(&w, (uint64_t)UINT32_MAX + 1); break;
        case V_BIN15: mpw_bin(&w, sixteen, 15); break;
        case V_BIN17: mpw_bin(&w, sixteen, 17); break;
        case V_INT: mpw_uint(&w, 5); break;
        default: mpw_int(&w, INT64_MIN); break;
        }
        struct store_event out;
        int rc = decode_w(&w, &out);
        if (rc != TTAI_EDECODE)
            test__fail(__FILE__, __LINE__, "key %" PRIu64 " value %d: rc %d", cases[i].key,
                       cases[i].value, rc);
        mpw_free(&w);
    }
    /* A type this build does not know (a newer writer's) is not malformed:
     * it decodes, and the engine decides what to do with it. */
    struct mpw w = {0};
    mpw_event_head(&w, 0, 200, 10);
    struct store_event out;
    ASSERT_OK(decode_w(&w, &out), (struct ttai_err *)NULL);
    ASSERT_EQ(out.type, 200);
    mpw_free(&w);
}

/* The same inside the activity options. */
void test_codec_wrong_opts_types(void)
{
    enum { V_STR, V_NIL, V_DOUBLE, V_NEG, V_U32X, V_MAP, V_INTS, V_STR_ITEM_INT, V_U63 };
    static const struct {
        uint64_t key;
        int value;
    } cases[] = {
        {0, V_STR}, {0, V_DOUBLE}, {0, V_U63}, {1, V_NIL}, {2, V_MAP}, {3, V_STR},
        {4, V_DOUBLE}, {5, V_STR}, {5, V_NIL}, {5, V_MAP}, {6, V_DOUBLE}, {7, V_NEG},
        {7, V_U32X}, {7, V_STR}, {8, V_MAP}, {8, V_STR}, {8, V_INTS}, {8, V_STR_ITEM_INT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mpw w = {0};
        mpw_event_head(&w, 1, STORE_EV_ACTIVITY_SCHEDULED, 10);
        mpw_uint(&w, 14);
        mpw_map(&w, 1);
        mpw_uint(&w, cases[i].key);
        switch (cases[i].value) {
        case V_STR: mpw_str(&w, "1"); break;
        case V_NIL: mpw_byte(&w, 0xc0); break;
        case V_DOUBLE: mpw_double(&w, 3.0); break;
        case V_NEG: mpw_int(&w, -1); break;
        case V_U32X: mpw_uint(&w, (uint64_t)UINT32_MAX + 1); break;
        case V_MAP: mpw_map(&w, 0); break;
        case V_INTS: mpw_array(&w, 2); mpw_uint(&w, 1); mpw_uint(&w, 2); break;
        case V_STR_ITEM_INT: mpw_array(&w, 2); mpw_str(&w, "ok"); mpw_uint(&w, 2); break;
        default: mpw_uint(&w, (uint64_t)INT64_MAX + 1); break;
        }
        struct store_event out;
        int rc = decode_w(&w, &out);
        if (rc != TTAI_EDECODE)
            test__fail(__FILE__, __LINE__, "opts key %" PRIu64 " value %d: rc %d",
                       cases[i].key, cases[i].value, rc);
        mpw_free(&w);
    }
    /* Accepted on purpose: an integer or a float32 backoff, str or bin
     * error types, a str run id of 16 bytes. */
    struct mpw w = {0};
    mpw_event_head(&w, 2, STORE_EV_ACTIVITY_SCHEDULED, 10);
    mpw_uint(&w, 14);
    mpw_map(&w, 2);
    mpw_uint(&w, 5);
    mpw_uint(&w, 3);
    mpw_uint(&w, 8);
    mpw_array(&w, 2);
    mpw_str(&w, "S");
    mpw_bin(&w, "B", 1);
    mpw_uint(&w, 11);
    mpw_str(&w, "0123456789abcdef");
    struct store_event out;
    ASSERT_OK(decode_w(&w, &out), (struct ttai_err *)NULL);
    ASSERT(out.opts.backoff == 3.0);
    ASSERT_EQ(out.opts.non_retryable_count, 2);
    ASSERT(bytes_eq_str(out.opts.non_retryable[1], "B"));
    ASSERT_MEM_EQ(out.run_id.b, "0123456789abcdef", 16);
    mpw_free(&w);
    w = (struct mpw){0};
    mpw_event_head(&w, 1, STORE_EV_ACTIVITY_SCHEDULED, 10);
    mpw_uint(&w, 14);
    mpw_map(&w, 1);
    mpw_uint(&w, 5);
    mpw_float(&w, 1.5f);
    ASSERT_OK(decode_w(&w, &out), (struct ttai_err *)NULL);
    ASSERT(out.opts.backoff == 1.5);
    mpw_free(&w);
}

/* Lengths and counts that point far past the end of the input. */
void test_codec_huge_lengths(void)
{
    for (int variant = 0; variant < 14; variant++) {
        struct mpw w = {0};
        if (variant == 0) {
            mpw_be(&w, 0xdf, 0xffffffff, 4); /* map32 of 2^32-1 entries */
        } else {
            mpw_event_head(&w, 1, STORE_EV_WORKFLOW_STARTED, 1);
        }
        switch (variant) {
        case 0: mpw_uint(&w, 0); mpw_uint(&w, 1); mpw_uint(&w, 1); mpw_uint(&w, 1); break;
        case 1: mpw_uint(&w, 6); mpw_be(&w, 0xdb, 0xffffffff, 4); break; /* str32 */
        case 2: mpw_uint(&w, 7); mpw_be(&w, 0xc6, 0xffffffff, 4); break; /* bin32 */
        case 3: mpw_uint(&w, 9); mpw_be(&w, 0xda, 0xffff, 2); break;     /* str16 */
        case 4: mpw_uint(&w, 8); mpw_be(&w, 0xd9, 0xff, 1); break;       /* str8 */
        case 5: mpw_uint(&w, 99); mpw_be(&w, 0xc9, 0xffffffff, 4); mpw_byte(&w, 1); break;
        case 6: mpw_uint(&w, 99); mpw_be(&w, 0xdd, 0xffffffff, 4); break; /* array32 */
        case 7: mpw_uint(&w, 99); mpw_be(&w, 0xdf, 0xffffffff, 4); break; /* map32 */
        case 8: mpw_uint(&w, 99); mpw_be(&w, 0xdb, 0xfffffffe, 4); break;
        case 9: /* nested: [map32 huge] under an unknown key */
            mpw_uint(&w, 99);
            mpw_array(&w, 1);
            mpw_be(&w, 0xdf, 0x7fffffff, 4);
            break;
        case 10: /* opts: non_retryable array32 of 2^32-1 */
            mpw_uint(&w, 14);
            mpw_map(&w, 1);
            mpw_uint(&w, 8);
            mpw_be(&w, 0xdd, 0xffffffff, 4);
            break;
        case 11: /* opts map32 of 2^32-1 entries */
            mpw_uint(&w, 14);
            mpw_be(&w, 0xdf, 0xffffffff, 4);
            break;
        case 12: /* run id bin32 of 16 bytes but nothing follows */
            mpw_uint(&w, 11);
            mpw_be(&w, 0xc6, 16, 4);
            break;
        default: /* unknown non-integer key with a huge ext8 */
            mpw_str(&w, "k");
            mpw_be(&w, 0xc7, 0xff, 1);
            mpw_byte(&w, 1);
            break;
        }
        mpw_raw(&w, "abc", 3);
        struct store_event out;
        int rc = decode_w(&w, &out);
        if (rc != TTAI_EDECODE)
            test__fail(__FILE__, __LINE__, "variant %d: rc %d", variant, rc);
        mpw_free(&w);
    }
}

void test_codec_non_retryable_limit(void)
{
    for (uint32_t n = 0; n <= STORE_NON_RETRYABLE_MAX + 2; n++) {
        struct mpw w = {0};
        mpw_event_head(&w, 1, STORE_EV_ACTIVITY_SCHEDULED, 10);
        mpw_uint(&w, 14);
        mpw_map(&w, 1);
        mpw_uint(&w, 8);
        mpw_array(&w, n);
        for (uint32_t i = 0; i < n; i++)
            mpw_str(&w, "E");
        struct store_event out;
        int rc = decode_w(&w, &out);
        if (n <= STORE_NON_RETRYABLE_MAX) {
            ASSERT_OK(rc, (struct ttai_err *)NULL);
            ASSERT_EQ(out.opts.non_retryable_count, n);
        } else {
            ASSERT_EQ(rc, TTAI_EDECODE);
        }
        mpw_free(&w);
    }
    /* The encoder refuses what the decoder would refuse. */
    struct store_event ev;
    fill_full(&ev, STORE_EV_ACTIVITY_SCHEDULED);
    ev.opts.non_retryable_count = STORE_NON_RETRYABLE_MAX + 1;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    struct ttai_err err;
    ASSERT_EQ(store_event_encode(&ev, &buf, &len, &cap, &err), TTAI_EINVAL);
    ASSERT_EQ(len, 0);
    ASSERT(strstr(err.msg, "non-retryable") != NULL);
    ttai_free(buf);
}

/* ---- Encoder errors ------------------------------------------------------ */

void test_codec_encode_unknown_type(void)
{
    static const int types[] = {0, -1, STORE_EV__COUNT, 255, 256, INT_MAX, INT_MIN};
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    struct ttai_err err;
    struct store_event ev;
    fill_full(&ev, STORE_EV_TIMER_FIRED);
    ASSERT_OK(store_event_encode(&ev, &buf, &len, &cap, &err), &err);
    size_t before = len;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        ev.type = types[i];
        err.rc = 0;
        ASSERT_EQ(store_event_encode(&ev, &buf, &len, &cap, &err), TTAI_EINVAL);
        ASSERT_EQ(err.rc, TTAI_EINVAL);
        ASSERT(strstr(err.msg, "unknown type") != NULL);
        ASSERT_EQ(len, before);
    }
    ttai_free(buf);
}

void test_codec_encode_too_big(void)
{
    size_t big = STORE_EVENT_BYTES_MAX + 16;
    uint8_t *blob = malloc(big);
    ASSERT(blob != NULL);
    for (size_t i = 0; i < big; i++)
        blob[i] = (uint8_t)(i * 31 + 7);
    struct ttai_err err;

    /* The fixed overhead around a large bin payload (bin32 header). */
    struct store_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_ACTIVITY_COMPLETED;
    ev.time_ms = 1763900000000;
    ev.payload = (struct store_bytes){blob, 100000};
    size_t probe_len;
    uint8_t *probe = encode(&ev, &probe_len);
    ttai_free(probe);
    size_t overhead = probe_len - 100000;

    /* A buffer that already holds something: it must survive failures. */
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    struct store_event small = {.type = STORE_EV_TIMER_FIRED, .time_ms = 3};
    ASSERT_OK(store_event_encode(&small, &buf, &len, &cap, &err), &err);
    size_t before = len;
    uint8_t saved[16];
    ASSERT_LE(before, sizeof(saved));
    memcpy(saved, buf, before);

    /* Exactly STORE_EVENT_BYTES_MAX is allowed... */
    ev.payload.len = STORE_EVENT_BYTES_MAX - overhead;
    ASSERT_OK(store_event_encode(&ev, &buf, &len, &cap, &err), &err);
    ASSERT_EQ(len, before + STORE_EVENT_BYTES_MAX);
    struct store_event out;
    ASSERT_OK(store_event_decode(buf + before, len - before, &out, &err), &err);
    ASSERT_EVENT_EQ(&out, &ev);
    len = before;

    /* ...one byte more is not, and len is left as it was. */
    static const size_t extra[] = {1, 2, 16};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        ev.payload.len = STORE_EVENT_BYTES_MAX - overhead + extra[i];
        err.rc = 0;
        ASSERT_EQ(store_event_encode(&ev, &buf, &len, &cap, &err), TTAI_ETOOBIG);
        ASSERT_EQ(err.rc, TTAI_ETOOBIG);
        ASSERT_EQ(len, before);
        ASSERT_MEM_EQ(buf, saved, before);
    }
    /* Too big because of a later field: fields before it were written. */
    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_ACTIVITY_FAILED;
    ev.time_ms = 1;
    ev.name = bytes_of("activity");
    ev.failure_message = (struct store_bytes){blob, STORE_EVENT_BYTES_MAX / 2};
    ev.details = (struct store_bytes){blob, STORE_EVENT_BYTES_MAX / 2};
    ASSERT_EQ(store_event_encode(&ev, &buf, &len, &cap, &err), TTAI_ETOOBIG);
    ASSERT_EQ(len, before);
    ASSERT_MEM_EQ(buf, saved, before);
    /* And the buffer is still good for the next event. */
    ASSERT_OK(store_event_encode(&small, &buf, &len, &cap, &err), &err);
    ASSERT_EQ(len, 2 * before);
    ASSERT_OK(store_event_decode(buf + before, before, &out, &err), &err);
    ASSERT_EQ(out.type, STORE_EV_TIMER_FIRED);
    ttai_free(buf);
    free(blob);
}

void test_codec_encode_alloc_failure(void)
{
    struct store_event ev;
    fill_full(&ev, STORE_EV_WORKFLOW_STARTED);
    static uint8_t blob[5000];
    ev.payload = (struct store_bytes){blob, sizeof(blob)}; /* needs growth past 256 */
    int failures = 0;
    for (uint64_t n = 1; n < 100; n++) {
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        struct ttai_err err;
        /* Start from a buffer that holds one small event already. */
        struct store_event small = {.type = STORE_EV_TIMER_FIRED, .time_ms = 3};
        ASSERT_OK(store_event_encode(&small, &buf, &len, &cap, &err), &err);
        size_t before = len;
        ttai_alloc_fail_after(n);
        int rc = store_event_encode(&ev, &buf, &len, &cap, &err);
        ttai_alloc_fail_after(0);
        if (rc == 0) {
            struct store_event out;
            ASSERT_OK(store_event_decode(buf + before, len - before, &out, &err), &err);
            ASSERT_EVENT_EQ(&out, &ev);
            ttai_free(buf);
            break;
        }
        failures++;
        ASSERT_EQ(rc, TTAI_ENOMEM);
        ASSERT_EQ(len, before);
        struct store_event prefix; /* what the buffer held is intact */
        ASSERT_OK(store_event_decode(buf, len, &prefix, &err), &err);
        ASSERT_EQ(prefix.type, STORE_EV_TIMER_FIRED);
        ttai_free(buf);
    }
    ASSERT_GT(failures, 0);
}

/* ---- Names ------------------------------------------------------------------- */

void test_codec_names(void)
{
    for (int type = 1; type < STORE_EV__COUNT; type++) {
        const char *name = store_event_type_name(type);
        ASSERT(name != NULL);
        ASSERT_EQ(store_event_type_parse(name), type);
        char lower[64];
        snprintf(lower, sizeof(lower), "%s", name);
        for (char *p = lower; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        ASSERT_EQ(store_event_type_parse(lower), type);
        bool closes = type == STORE_EV_WORKFLOW_COMPLETED || type == STORE_EV_WORKFLOW_FAILED ||
                      type == STORE_EV_WORKFLOW_CANCELED ||
                      type == STORE_EV_WORKFLOW_TERMINATED ||
                      type == STORE_EV_WORKFLOW_TIMED_OUT || type == STORE_EV_CONTINUED_AS_NEW;
        ASSERT_EQ(store_event_type_closes_run(type), closes);
    }
    ASSERT(store_event_type_name(0) == NULL);
    ASSERT(store_event_type_name(STORE_EV__COUNT) == NULL);
    ASSERT(store_event_type_name(-1) == NULL);
    ASSERT_EQ(store_event_type_parse("NoSuchEvent"), 0);
    ASSERT_EQ(store_event_type_parse(""), 0);
    ASSERT_STR_EQ(store_event_type_name(STORE_EV_WORKFLOW_STARTED), "WorkflowStarted");

    for (int s = 1; s <= STORE_RUN_STATUS_MAX; s++) {
        const char *name = store_run_status_name(s);
        ASSERT(name != NULL);
        ASSERT_EQ(store_run_status_parse(name), s);
    }
    ASSERT_EQ(store_run_status_parse("running"), STORE_RUN_RUNNING);
    ASSERT_EQ(store_run_status_parse("CONTINUEDASNEW"), STORE_RUN_CONTINUED_AS_NEW);
    ASSERT(store_run_status_name(0) == NULL);
    ASSERT(store_run_status_name(STORE_RUN_STATUS_MAX + 1) == NULL);
    ASSERT_EQ(store_run_status_parse("Sleeping"), 0);

    static const char *const tables[STORE_T__COUNT] = {
        "meta", "exec", "run", "hist", "timer", "act", "sched", "vis_status", "vis_type",
        "vis_start", "recent", "recent_run"};
    for (int t = 0; t < STORE_T__COUNT; t++)
        ASSERT_STR_EQ(store_table_name(t), tables[t]);
    ASSERT(store_table_name(STORE_T__COUNT) == NULL);
    ASSERT(store_table_name(-1) == NULL);
}

/* ---- Run ids ------------------------------------------------------------------ */

static int cmp_run_id(const void *a, const void *b)
{
    return memcmp(a, b, TTAI_RUN_ID_BYTES);
}

/* Random run ids are distinct, carry the version 4 and RFC 4122 bits, and
 * a forked child does not hand out the ids its parent hands out next (each
 * thread takes the kernel's random bytes a page at a time). */
void test_codec_run_id_random(void)
{
    enum { N = 2000, FORKED = 300 };
    struct ttai_run_id *ids = calloc(N + 2 * FORKED, sizeof(*ids));
    ASSERT(ids != NULL);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(ttai_run_id_random(&ids[i]), TTAI_OK);
        ASSERT_EQ(ids[i].b[6] >> 4, 4);
        ASSERT_EQ(ids[i].b[8] >> 6, 2);
    }
    int fds[2];
    ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < FORKED; i++) {
            struct ttai_run_id id;
            if (ttai_run_id_random(&id) != 0 || write(fds[1], &id, sizeof(id)) != sizeof(id))
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    for (int i = 0; i < FORKED; i++)
        ASSERT_EQ(ttai_run_id_random(&ids[N + i]), TTAI_OK);
    size_t got = 0;
    uint8_t *child = (uint8_t *)&ids[N + FORKED];
    ssize_t n;
    while (got < FORKED * sizeof(*ids) &&
           (n = read(fds[0], child + got, FORKED * sizeof(*ids) - got)) > 0)
        got += (size_t)n;
    close(fds[0]);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(got, FORKED * sizeof(*ids));
    qsort(ids, N + 2 * FORKED, sizeof(*ids), cmp_run_id);
    for (int i = 1; i < N + 2 * FORKED; i++)
        ASSERT(memcmp(&ids[i - 1], &ids[i], sizeof(*ids)) != 0);
    free(ids);
}
