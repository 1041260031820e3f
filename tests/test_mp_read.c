/* test_mp_read.c: the bounds-checked msgpack reader (store__mp_* in
 * storage/store_int.h), directly: every integer width and sign, floats,
 * str/bin of every width, containers, and skipping of every type (ext
 * included) at any depth. Every failure must leave the cursor where it was
 * (invariant 1 of mp_read.c); every input is an exact heap copy, so ASan
 * reports a read past its end. */
#include "test_util.h"

#include <math.h>

#include "store_int.h"

/* A cursor over an exact heap copy of the hex-free byte list. */
struct cur {
    uint8_t *copy;
    struct store__mp r;
    size_t len;
};

static struct cur cur_of(const uint8_t *bytes, size_t len)
{
    struct cur c;
    c.copy = test_exact_copy(bytes, len);
    c.r = (struct store__mp){c.copy, c.copy + len};
    c.len = len;
    return c;
}

static void cur_free(struct cur *c)
{
    free(c->copy);
}

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* ---- Integers ------------------------------------------------------------ */

struct uint_case {
    const uint8_t *bytes;
    size_t len;
    uint64_t want;
};

static void check_uint_ok(const uint8_t *bytes, size_t len, uint64_t want, int line)
{
    struct cur c = cur_of(bytes, len);
    uint64_t got = 0;
    int rc = store__mp_read_uint(&c.r, &got);
    if (rc != 0 || got != want || c.r.p != c.r.end)
        test__fail(__FILE__, line, "read_uint: rc %d got %" PRIu64 " want %" PRIu64
                   " consumed %zu of %zu", rc, got, want, (size_t)(c.r.p - c.copy), len);
    cur_free(&c);
    /* Every truncation fails and leaves the cursor alone. */
    for (size_t cut = 0; cut < len; cut++) {
        c = cur_of(bytes, cut);
        if (store__mp_read_uint(&c.r, &got) != TTAI_EDECODE || c.r.p != c.copy)
            test__fail(__FILE__, line, "read_uint of %zu of %zu bytes did not fail cleanly",
                       cut, len);
        cur_free(&c);
    }
}

static void check_int_ok(const uint8_t *bytes, size_t len, int64_t want, int line)
{
    struct cur c = cur_of(bytes, len);
    int64_t got = 0;
    int rc = store__mp_read_int(&c.r, &got);
    if (rc != 0 || got != want || c.r.p != c.r.end)
        test__fail(__FILE__, line, "read_int: rc %d got %" PRId64 " want %" PRId64, rc, got,
                   want);
    cur_free(&c);
    for (size_t cut = 0; cut < len; cut++) {
        c = cur_of(bytes, cut);
        if (store__mp_read_int(&c.r, &got) != TTAI_EDECODE || c.r.p != c.copy)
            test__fail(__FILE__, line, "read_int of %zu of %zu bytes did not fail cleanly", cut,
                       len);
        cur_free(&c);
    }
}

typedef int (*read_fn)(struct store__mp *r, void *out);

static int read_uint_v(struct store__mp *r, void *out) { return store__mp_read_uint(r, out); }
static int read_int_v(struct store__mp *r, void *out) { return store__mp_read_int(r, out); }
static int read_double_v(struct store__mp *r, void *out) { return store__mp_read_double(r, out); }
static int read_bool_v(struct store__mp *r, void *out) { return store__mp_read_bool(r, out); }
static int read_bytes_v(struct store__mp *r, void *out) { return store__mp_read_bytes(r, out); }
static int read_map_v(struct store__mp *r, void *out) { return store__mp_read_map(r, out); }
static int read_array_v(struct store__mp *r, void *out) { return store__mp_read_array(r, out); }

/* The read fails with EDECODE and leaves the cursor where it was. */
static void check_fails(read_fn fn, const uint8_t *bytes, size_t len, int line)
{
    struct cur c = cur_of(bytes, len);
    uint8_t out[64];
    int rc = fn(&c.r, out);
    if (rc != TTAI_EDECODE || c.r.p != c.copy)
        test__fail(__FILE__, line, "read of %zu bytes (first 0x%02x): rc %d, moved %zu", len,
                   len ? bytes[0] : 0, rc, (size_t)(c.r.p - c.copy));
    cur_free(&c);
}

#define UINT_OK(want, ...) check_uint_ok(B(__VA_ARGS__), (want), __LINE__)
#define INT_OK(want, ...) check_int_ok(B(__VA_ARGS__), (want), __LINE__)
#define FAILS(fn, ...) check_fails((fn), B(__VA_ARGS__), __LINE__)

void test_mp_read_uint_widths(void)
{
    UINT_OK(0, 0x00);
    UINT_OK(127, 0x7f);
    UINT_OK(128, 0xcc, 0x80);
    UINT_OK(255, 0xcc, 0xff);
    UINT_OK(256, 0xcd, 0x01, 0x00);
    UINT_OK(65535, 0xcd, 0xff, 0xff);
    UINT_OK(65536, 0xce, 0x00, 0x01, 0x00, 0x00);
    UINT_OK(UINT32_MAX, 0xce, 0xff, 0xff, 0xff, 0xff);
    UINT_OK((uint64_t)UINT32_MAX + 1, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0);
    UINT_OK(UINT64_MAX, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    /* Non-negative values in signed encodings are fine. */
    UINT_OK(5, 0xd0, 0x05);
    UINT_OK(0x7fff, 0xd1, 0x7f, 0xff);
    UINT_OK(0x7fffffff, 0xd2, 0x7f, 0xff, 0xff, 0xff);
    UINT_OK(INT64_MAX, 0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    UINT_OK(0, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0);
    /* Negative values and other types are not unsigned integers. */
    FAILS(read_uint_v, 0xff);
    FAILS(read_uint_v, 0xe0);
    FAILS(read_uint_v, 0xd0, 0x80);
    FAILS(read_uint_v, 0xd1, 0xff, 0xff);
    FAILS(read_uint_v, 0xd2, 0x80, 0x00, 0x00, 0x00);
    FAILS(read_uint_v, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0);
    FAILS(read_uint_v, 0xc0);
    FAILS(read_uint_v, 0xc2);
    FAILS(read_uint_v, 0xa1, 'x');
    FAILS(read_uint_v, 0xca, 0x3f, 0x80, 0x00, 0x00);
    FAILS(read_uint_v, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0);
    FAILS(read_uint_v, 0x90);
    FAILS(read_uint_v, 0x80);
    FAILS(read_uint_v, 0xc1);
    FAILS(read_uint_v, 0xd4, 0x01, 0x01);
}

void test_mp_read_int_widths(void)
{
    INT_OK(0, 0x00);
    INT_OK(127, 0x7f);
    INT_OK(-1, 0xff);
    INT_OK(-32, 0xe0);
    INT_OK(-33, 0xd0, 0xdf);
    INT_OK(-128, 0xd0, 0x80);
    INT_OK(127, 0xd0, 0x7f);
    INT_OK(-129, 0xd1, 0xff, 0x7f);
    INT_OK(-32768, 0xd1, 0x80, 0x00);
    INT_OK(-32769, 0xd2, 0xff, 0xff, 0x7f, 0xff);
    INT_OK(INT32_MIN, 0xd2, 0x80, 0x00, 0x00, 0x00);
    INT_OK((int64_t)INT32_MIN - 1, 0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff);
    INT_OK(INT64_MIN, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0);
    INT_OK(-1, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    INT_OK(INT64_MAX, 0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    INT_OK(255, 0xcc, 0xff);
    INT_OK(65535, 0xcd, 0xff, 0xff);
    INT_OK(UINT32_MAX, 0xce, 0xff, 0xff, 0xff, 0xff);
    INT_OK(INT64_MAX, 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    /* Past INT64_MAX does not fit. */
    FAILS(read_int_v, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0);
    FAILS(read_int_v, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    FAILS(read_int_v, 0xc0);
    FAILS(read_int_v, 0xc3);
    FAILS(read_int_v, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0);
    FAILS(read_int_v, 0xa0);
    FAILS(read_int_v, 0xc4, 0x00);
}

void test_mp_read_double(void)
{
    double d;
    struct cur c = cur_of(B(0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0)); /* 2.5 */
    ASSERT_OK(store__mp_read_double(&c.r, &d), (struct ttai_err *)NULL);
    ASSERT(d == 2.5);
    ASSERT(c.r.p == c.r.end);
    cur_free(&c);
    c = cur_of(B(0xca, 0xbf, 0xc0, 0x00, 0x00)); /* float -1.5 */
    ASSERT_OK(store__mp_read_double(&c.r, &d), (struct ttai_err *)NULL);
    ASSERT(d == -1.5);
    ASSERT(c.r.p == c.r.end);
    cur_free(&c);
    c = cur_of(B(0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1)); /* a NaN passes through */
    ASSERT_OK(store__mp_read_double(&c.r, &d), (struct ttai_err *)NULL);
    ASSERT(isnan(d));
    cur_free(&c);
    c = cur_of(B(0xca, 0xff, 0x80, 0x00, 0x00)); /* float -inf */
    ASSERT_OK(store__mp_read_double(&c.r, &d), (struct ttai_err *)NULL);
    ASSERT(isinf(d) && d < 0);
    cur_free(&c);
    /* Integers are accepted as doubles. */
    c = cur_of(B(0x03));
    ASSERT_OK(store__mp_read_double(&c.r, &d), (struct ttai_err *)NULL);
    ASSERT(d == 3.0);
    cur_free(&c);
    c = cur_of(B(0xd1, 0xff, 0x00)); /* -256 */
    ASSERT_OK(store__mp_read_double(&c.r, &d), (struct ttai_err *)NULL);
    ASSERT(d == -256.0);
    ASSERT(c.r.p == c.r.end);
    cur_free(&c);
    /* Truncated floats and other types fail cleanly. */
    FAILS(read_double_v, 0xcb, 0x40, 0x04, 0, 0, 0, 0, 0);
    FAILS(read_double_v, 0xcb);
    FAILS(read_double_v, 0xca, 0xbf, 0xc0, 0x00);
    FAILS(read_double_v, 0xca);
    FAILS(read_double_v, 0xc0);
    FAILS(read_double_v, 0xa1, '1');
    FAILS(read_double_v, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    check_fails(read_double_v, NULL, 0, __LINE__);
}

void test_mp_read_bool(void)
{
    bool v = true;
    struct cur c = cur_of(B(0xc2, 0xc3));
    ASSERT_OK(store__mp_read_bool(&c.r, &v), (struct ttai_err *)NULL);
    ASSERT(!v);
    ASSERT_OK(store__mp_read_bool(&c.r, &v), (struct ttai_err *)NULL);
    ASSERT(v);
    ASSERT(c.r.p == c.r.end);
    cur_free(&c);
    FAILS(read_bool_v, 0xc0);
    FAILS(read_bool_v, 0x01);
    FAILS(read_bool_v, 0x00);
    check_fails(read_bool_v, NULL, 0, __LINE__);
}

/* ---- Byte strings ------------------------------------------------------------ */

/* A str or bin of len bytes with the given header; checks it reads back,
 * and that every truncation fails cleanly. */
static void check_bytes(uint8_t type, size_t len_bytes, size_t len, int line)
{
    struct mpw w = {0};
    if (type == 0xa0)
        mpw_byte(&w, (uint8_t)(0xa0 | len));
    else
        mpw_be(&w, type, len, len_bytes);
    size_t header = w.len;
    for (size_t i = 0; i < len; i++)
        mpw_byte(&w, (uint8_t)(i * 7));
    struct cur c = cur_of(w.buf, w.len);
    struct store_bytes got;
    int rc = store__mp_read_bytes(&c.r, &got);
    if (rc != 0 || got.len != len || got.data != c.copy + header || c.r.p != c.r.end)
        test__fail(__FILE__, line, "read_bytes 0x%02x of %zu: rc %d len %zu", type, len, rc,
                   got.len);
    cur_free(&c);
    size_t cuts[] = {0, 1, header - 1, header, header + len / 2, w.len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        if (cuts[i] >= w.len)
            continue;
        c = cur_of(w.buf, cuts[i]);
        if (store__mp_read_bytes(&c.r, &got) != TTAI_EDECODE || c.r.p != c.copy)
            test__fail(__FILE__, line, "read_bytes 0x%02x cut at %zu of %zu did not fail",
                       type, cuts[i], w.len);
        cur_free(&c);
    }
    mpw_free(&w);
}

void test_mp_read_bytes_widths(void)
{
    static const struct {
        uint8_t type;
        size_t len_bytes;
        size_t lens[3];
    } kinds[] = {
        {0xa0, 0, {0, 1, 31}},          /* fixstr */
        {0xd9, 1, {0, 32, 255}},        /* str8 */
        {0xda, 2, {0, 256, 65535}},     /* str16 */
        {0xdb, 4, {0, 65536, 100000}},  /* str32 */
        {0xc4, 1, {0, 1, 255}},         /* bin8 */
        {0xc5, 2, {0, 256, 65535}},     /* bin16 */
        {0xc6, 4, {0, 16, 70000}},      /* bin32 */
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        for (size_t i = 0; i < 3; i++)
            check_bytes(kinds[k].type, kinds[k].len_bytes, kinds[k].lens[i], __LINE__);
    /* Lengths that point past the end, up to the largest. */
    FAILS(read_bytes_v, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a');
    FAILS(read_bytes_v, 0xc6, 0xff, 0xff, 0xff, 0xff);
    FAILS(read_bytes_v, 0xc6, 0x80, 0x00, 0x00, 0x00, 1, 2, 3);
    FAILS(read_bytes_v, 0xda, 0x00, 0x02, 'a');
    FAILS(read_bytes_v, 0xbf, 'a');
    /* Not byte strings. */
    FAILS(read_bytes_v, 0xc0);
    FAILS(read_bytes_v, 0x01);
    FAILS(read_bytes_v, 0x91, 0xa0);
    FAILS(read_bytes_v, 0xd4, 0x01, 0x01);
    FAILS(read_bytes_v, 0xc7, 0x01, 0x01, 0x00);
    check_fails(read_bytes_v, NULL, 0, __LINE__);
}

/* ---- Containers ------------------------------------------------------------- */

void test_mp_read_containers(void)
{
    uint32_t n;
    struct cur c = cur_of(B(0x80, 0x8f, 0xde, 0x01, 0x00, 0xdf, 0xff, 0xff, 0xff, 0xff));
    ASSERT_OK(store__mp_read_map(&c.r, &n), (struct ttai_err *)NULL);
    ASSERT_EQ(n, 0);
    ASSERT_OK(store__mp_read_map(&c.r, &n), (struct ttai_err *)NULL);
    ASSERT_EQ(n, 15);
    ASSERT_OK(store__mp_read_map(&c.r, &n), (struct ttai_err *)NULL);
    ASSERT_EQ(n, 256);
    ASSERT_OK(store__mp_read_map(&c.r, &n), (struct ttai_err *)NULL);
    ASSERT_U64_EQ(n, UINT32_MAX); /* the count is the caller's to check */
    ASSERT(c.r.p == c.r.end);
    cur_free(&c);
    c = cur_of(B(0x90, 0x9f, 0xdc, 0x00, 0x10, 0xdd, 0x00, 0x01, 0x00, 0x00));
    ASSERT_OK(store__mp_read_array(&c.r, &n), (struct ttai_err *)NULL);
    ASSERT_EQ(n, 0);
    ASSERT_OK(store__mp_read_array(&c.r, &n), (struct ttai_err *)NULL);
    ASSERT_EQ(n, 15);
    ASSERT_OK(store__mp_read_array(&c.r, &n), (struct ttai_err *)NULL);
    ASSERT_EQ(n, 16);
    ASSERT_OK(store__mp_read_array(&c.r, &n), (struct ttai_err *)NULL);
    ASSERT_EQ(n, 65536);
    ASSERT(c.r.p == c.r.end);
    cur_free(&c);
    FAILS(read_map_v, 0xde, 0x01);
    FAILS(read_map_v, 0xdf, 0x00, 0x00, 0x01);
    FAILS(read_map_v, 0x90);
    FAILS(read_map_v, 0xdc, 0x00, 0x00);
    FAILS(read_map_v, 0xc0);
    check_fails(read_map_v, NULL, 0, __LINE__);
    FAILS(read_array_v, 0xdc, 0x01);
    FAILS(read_array_v, 0xdd, 0x00, 0x00, 0x01);
    FAILS(read_array_v, 0x80);
    FAILS(read_array_v, 0xde, 0x00, 0x00);
    FAILS(read_array_v, 0xa0);
    check_fails(read_array_v, NULL, 0, __LINE__);
}

/* ---- Skipping ---------------------------------------------------------------- */

/* Skips exactly `len` bytes of one value followed by a sentinel; every
 * truncation of the value fails and leaves the cursor alone. */
static void check_skip(const uint8_t *bytes, size_t len, int line)
{
    uint8_t *with_tail = malloc(len + 1);
    memcpy(with_tail, bytes, len);
    with_tail[len] = 0xc1; /* never used: a skip that reads it would fail */
    struct cur c = cur_of(with_tail, len + 1);
    int rc = store__mp_skip(&c.r);
    if (rc != 0 || c.r.p != c.copy + len)
        test__fail(__FILE__, line, "skip of 0x%02x (%zu bytes): rc %d, moved %zu", bytes[0],
                   len, rc, (size_t)(c.r.p - c.copy));
    cur_free(&c);
    for (size_t cut = 0; cut < len; cut++) {
        c = cur_of(bytes, cut);
        if (store__mp_skip(&c.r) != TTAI_EDECODE || c.r.p != c.copy)
            test__fail(__FILE__, line, "skip of 0x%02x cut at %zu of %zu did not fail", bytes[0],
                       cut, len);
        cur_free(&c);
    }
    free(with_tail);
}

#define SKIPS(...) check_skip(B(__VA_ARGS__), __LINE__)

void test_mp_skip_every_type(void)
{
    SKIPS(0x00);
    SKIPS(0x7f);
    SKIPS(0xe0);
    SKIPS(0xc0);
    SKIPS(0xc2);
    SKIPS(0xc3);
    SKIPS(0xcc, 1);
    SKIPS(0xcd, 1, 2);
    SKIPS(0xce, 1, 2, 3, 4);
    SKIPS(0xcf, 1, 2, 3, 4, 5, 6, 7, 8);
    SKIPS(0xd0, 1);
    SKIPS(0xd1, 1, 2);
    SKIPS(0xd2, 1, 2, 3, 4);
    SKIPS(0xd3, 1, 2, 3, 4, 5, 6, 7, 8);
    SKIPS(0xca, 1, 2, 3, 4);
    SKIPS(0xcb, 1, 2, 3, 4, 5, 6, 7, 8);
    SKIPS(0xa0);
    SKIPS(0xa3, 'a', 'b', 'c');
    SKIPS(0xd9, 2, 'a', 'b');
    SKIPS(0xda, 0, 1, 'a');
    SKIPS(0xdb, 0, 0, 0, 2, 'a', 'b');
    SKIPS(0xc4, 0);
    SKIPS(0xc5, 0, 2, 1, 2);
    SKIPS(0xc6, 0, 0, 0, 1, 9);
    /* ext: a type byte after the length, then the data */
    SKIPS(0xd4, 0x01, 0xaa);
    SKIPS(0xd5, 0x01, 0xaa, 0xbb);
    SKIPS(0xd6, 0xff, 1, 2, 3, 4);
    SKIPS(0xd7, 0xff, 1, 2, 3, 4, 5, 6, 7, 8);
    SKIPS(0xd8, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    SKIPS(0xc7, 0, 0x05);
    SKIPS(0xc7, 3, 0x05, 1, 2, 3);
    SKIPS(0xc8, 0, 2, 0x05, 1, 2);
    SKIPS(0xc9, 0, 0, 0, 1, 0x05, 1);
    /* containers, with every kind inside */
    SKIPS(0x90);
    SKIPS(0x80);
    SKIPS(0x93, 0x01, 0xa1, 'x', 0xc0);
    SKIPS(0x82, 0x01, 0x02, 0xa1, 'k', 0x91, 0xd4, 0x01, 0x02);
    SKIPS(0xdc, 0, 2, 0xc3, 0xcb, 1, 2, 3, 4, 5, 6, 7, 8);
    SKIPS(0xdd, 0, 0, 0, 1, 0xc7, 1, 9, 9);
    SKIPS(0xde, 0, 1, 0xc6, 0, 0, 0, 0, 0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    SKIPS(0xdf, 0, 0, 0, 1, 0x80, 0x90);
    SKIPS(0x92, 0x92, 0x92, 0x90, 0x80, 0x81, 0xc0, 0xc0, 0x91, 0x00);
    /* Never-used byte, alone or inside a container. */
    struct cur c = cur_of(B(0xc1));
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    ASSERT(c.r.p == c.copy);
    cur_free(&c);
    c = cur_of(B(0x92, 0x01, 0xc1));
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    ASSERT(c.r.p == c.copy);
    cur_free(&c);
    /* Counts larger than what is left fail at once. */
    c = cur_of(B(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02));
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    ASSERT(c.r.p == c.copy);
    cur_free(&c);
    c = cur_of(B(0xdf, 0x80, 0x00, 0x00, 0x00, 0x01, 0x02));
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    cur_free(&c);
    c = cur_of(B(0x93, 0x01, 0x02));
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    ASSERT(c.r.p == c.copy);
    cur_free(&c);
    /* Lengths that point past the end. */
    c = cur_of(B(0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02));
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    ASSERT(c.r.p == c.copy);
    cur_free(&c);
    c = cur_of(B(0xdb, 0xff, 0xff, 0xff, 0xff, 0x01));
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    cur_free(&c);
    c = cur_of(B(0x91, 0xc6, 0x00, 0x00, 0x01, 0x00, 0x01));
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    ASSERT(c.r.p == c.copy);
    cur_free(&c);
    /* Nothing at all. */
    c = cur_of(NULL, 0);
    ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
    cur_free(&c);
}

/* Nesting far deeper than any stack would allow recursion for. */
void test_mp_skip_deep_nesting(void)
{
    enum { DEPTH = 200000 };
    for (int kind = 0; kind < 3; kind++) {
        struct mpw w = {0};
        for (int i = 0; i < DEPTH; i++) {
            if (kind == 0 || (kind == 2 && i % 2))
                mpw_array(&w, 1);
            else {
                mpw_map(&w, 1);
                mpw_str(&w, "k");
            }
        }
        mpw_byte(&w, 0xc0);
        mpw_byte(&w, 0x05); /* after the value: must be left unread */
        struct cur c = cur_of(w.buf, w.len);
        ASSERT_OK(store__mp_skip(&c.r), (struct ttai_err *)NULL);
        ASSERT(c.r.p == c.r.end - 1);
        cur_free(&c);
        /* Without the innermost value it is malformed. */
        c = cur_of(w.buf, w.len - 2);
        ASSERT_EQ(store__mp_skip(&c.r), TTAI_EDECODE);
        ASSERT(c.r.p == c.copy);
        cur_free(&c);
        mpw_free(&w);
    }
}
