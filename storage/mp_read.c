/* mp_read.c: the bounds-checked msgpack reader of store_int.h.
 *
 * Invariants:
 *  1. r->p <= r->end always; a read that would pass end fails with
 *     TTAI_EDECODE and leaves r->p where it was.
 *  2. No recursion: store__mp_skip counts pending items instead, and every
 *     item consumes at least one byte, so a skip ends within (end - p)
 *     steps whatever the input.
 */
#include "store_int.h"

#include <string.h>

static inline size_t left(const struct store__mp *r)
{
    return (size_t)(r->end - r->p);
}

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int store__mp_read_map(struct store__mp *r, uint32_t *count)
{
    if (left(r) < 1)
        return TTAI_EDECODE;
    uint8_t b = r->p[0];
    if ((b & 0xf0) == 0x80) {
        *count = b & 0x0f;
        r->p += 1;
        return 0;
    }
    size_t n = b == 0xde ? 2 : b == 0xdf ? 4 : 0;
    if (n == 0 || left(r) < 1 + n)
        return TTAI_EDECODE;
    *count = (uint32_t)be(r->p + 1, n);
    r->p += 1 + n;
    return 0;
}

int store__mp_read_array(struct store__mp *r, uint32_t *count)
{
    if (left(r) < 1)
        return TTAI_EDECODE;
    uint8_t b = r->p[0];
    if ((b & 0xf0) == 0x90) {
        *count = b & 0x0f;
        r->p += 1;
        return 0;
    }
    size_t n = b == 0xdc ? 2 : b == 0xdd ? 4 : 0;
    if (n == 0 || left(r) < 1 + n)
        return TTAI_EDECODE;
    *count = (uint32_t)be(r->p + 1, n);
    r->p += 1 + n;
    return 0;
}

/* Reads any msgpack integer as a sign flag and a magnitude. */
static int read_integer(struct store__mp *r, bool *negative, uint64_t *magnitude)
{
    if (left(r) < 1)
        return TTAI_EDECODE;
    uint8_t b = r->p[0];
    if (b <= 0x7f) {
        *negative = false;
        *magnitude = b;
        r->p += 1;
        return 0;
    }
    if (b >= 0xe0) {
        *negative = true;
        *magnitude = (uint64_t)(-(int64_t)(int8_t)b);
        r->p += 1;
        return 0;
    }
    size_t n;
    bool is_signed;
    switch (b) {
    case 0xcc: n = 1; is_signed = false; break;
    case 0xcd: n = 2; is_signed = false; break;
    case 0xce: n = 4; is_signed = false; break;
    case 0xcf: n = 8; is_signed = false; break;
    case 0xd0: n = 1; is_signed = true; break;
    case 0xd1: n = 2; is_signed = true; break;
    case 0xd2: n = 4; is_signed = true; break;
    case 0xd3: n = 8; is_signed = true; break;
    default: return TTAI_EDECODE;
    }
    if (left(r) < 1 + n)
        return TTAI_EDECODE;
    uint64_t raw = be(r->p + 1, n);
    r->p += 1 + n;
    if (!is_signed) {
        *negative = false;
        *magnitude = raw;
        return 0;
    }
    int64_t v;
    switch (n) {
    case 1: v = (int8_t)raw; break;
    case 2: v = (int16_t)raw; break;
    case 4: v = (int32_t)raw; break;
    default: v = (int64_t)raw; break;
    }
    *negative = v < 0;
    *magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    return 0;
}

int store__mp_read_uint(struct store__mp *r, uint64_t *out)
{
    const uint8_t *save = r->p;
    bool negative;
    uint64_t magnitude;
    int rc = read_integer(r, &negative, &magnitude);
    if (rc == 0 && negative && magnitude != 0) {
        r->p = save;
        return TTAI_EDECODE;
    }
    if (rc == 0)
        *out = magnitude;
    return rc;
}

int store__mp_read_int(struct store__mp *r, int64_t *out)
{
    const uint8_t *save = r->p;
    bool negative;
    uint64_t magnitude;
    int rc = read_integer(r, &negative, &magnitude);
    if (rc != 0)
        return rc;
    if (!negative && magnitude > (uint64_t)INT64_MAX) {
        r->p = save;
        return TTAI_EDECODE;
    }
    if (negative && magnitude > (uint64_t)INT64_MAX + 1) {
        r->p = save;
        return TTAI_EDECODE;
    }
    *out = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return 0;
}

int store__mp_read_double(struct store__mp *r, double *out)
{
    if (left(r) < 1)
        return TTAI_EDECODE;
    uint8_t b = r->p[0];
    if (b == 0xcb && left(r) >= 9) {
        uint64_t raw = be(r->p + 1, 8);
        memcpy(out, &raw, sizeof(*out));
        r->p += 9;
        return 0;
    }
    if (b == 0xca && left(r) >= 5) {
        uint32_t raw = (uint32_t)be(r->p + 1, 4);
        float f;
        memcpy(&f, &raw, sizeof(f));
        *out = f;
        r->p += 5;
        return 0;
    }
    int64_t i;
    int rc = store__mp_read_int(r, &i);
    if (rc == 0)
        *out = (double)i;
    return rc;
}

int store__mp_read_bool(struct store__mp *r, bool *out)
{
    if (left(r) < 1 || (r->p[0] != 0xc2 && r->p[0] != 0xc3))
        return TTAI_EDECODE;
    *out = r->p[0] == 0xc3;
    r->p += 1;
    return 0;
}

int store__mp_read_bytes(struct store__mp *r, struct store_bytes *out)
{
    if (left(r) < 1)
        return TTAI_EDECODE;
    uint8_t b = r->p[0];
    size_t header;
    uint64_t len;
    if ((b & 0xe0) == 0xa0) {
        header = 1;
        len = b & 0x1f;
    } else {
        size_t n;
        switch (b) {
        case 0xd9: case 0xc4: n = 1; break;
        case 0xda: case 0xc5: n = 2; break;
        case 0xdb: case 0xc6: n = 4; break;
        default: return TTAI_EDECODE;
        }
        if (left(r) < 1 + n)
            return TTAI_EDECODE;
        header = 1 + n;
        len = be(r->p + 1, n);
    }
    if (left(r) - header < len)
        return TTAI_EDECODE;
    out->data = r->p + header;
    out->len = (size_t)len;
    r->p += header + len;
    return 0;
}

/* The size of one value's header and payload bytes, and how many nested
 * items follow it; TTAI_EDECODE when the type byte is unused. */
static int item_shape(const struct store__mp *r, size_t *skip_bytes, uint64_t *children)
{
    uint8_t b = r->p[0];
    *children = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        *skip_bytes = 1;
        return 0;
    }
    if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90) {
        *children = (b & 0x0f) * ((b & 0xf0) == 0x80 ? 2u : 1u);
        *skip_bytes = 1;
        return 0;
    }
    if ((b & 0xe0) == 0xa0) {
        *skip_bytes = 1 + (size_t)(b & 0x1f);
        return 0;
    }
    size_t n = 0;        /* bytes of the length field */
    size_t fixed = 0;    /* payload bytes of fixed-size values */
    int kind = 0;        /* 1: length-prefixed bytes, 2: array, 3: map, 4: ext */
    switch (b) {
    case 0xcc: case 0xd0: fixed = 1; break;
    case 0xcd: case 0xd1: fixed = 2; break;
    case 0xce: case 0xd2: case 0xca: fixed = 4; break;
    case 0xcf: case 0xd3: case 0xcb: fixed = 8; break;
    case 0xd4: fixed = 2; break;   /* fixext 1: type + 1 */
    case 0xd5: fixed = 3; break;
    case 0xd6: fixed = 5; break;
    case 0xd7: fixed = 9; break;
    case 0xd8: fixed = 17; break;
    case 0xc4: case 0xd9: n = 1; kind = 1; break;
    case 0xc5: case 0xda: n = 2; kind = 1; break;
    case 0xc6: case 0xdb: n = 4; kind = 1; break;
    case 0xc7: n = 1; kind = 4; break;
    case 0xc8: n = 2; kind = 4; break;
    case 0xc9: n = 4; kind = 4; break;
    case 0xdc: n = 2; kind = 2; break;
    case 0xdd: n = 4; kind = 2; break;
    case 0xde: n = 2; kind = 3; break;
    case 0xdf: n = 4; kind = 3; break;
    default: return TTAI_EDECODE; /* 0xc1: never used */
    }
    if (kind == 0) {
        *skip_bytes = 1 + fixed;
        return 0;
    }
    if (left(r) < 1 + n)
        return TTAI_EDECODE;
    uint64_t len = be(r->p + 1, n);
    switch (kind) {
    case 1: *skip_bytes = 1 + n + len; break;
    case 4: *skip_bytes = 1 + n + 1 + len; break;
    case 2: *skip_bytes = 1 + n; *children = len; break;
    default: *skip_bytes = 1 + n; *children = 2 * len; break;
    }
    return 0;
}

int store__mp_skip(struct store__mp *r)
{
    const uint8_t *save = r->p;
    uint64_t pending = 1;
    while (pending > 0) {
        if (left(r) < 1) {
            r->p = save;
            return TTAI_EDECODE;
        }
        size_t skip_bytes;
        uint64_t children;
        if (item_shape(r, &skip_bytes, &children) != 0 || skip_bytes > left(r)) {
            r->p = save;
            return TTAI_EDECODE;
        }
        r->p += skip_bytes;
        pending = pending - 1 + children;
        /* Each pending item needs at least one byte: a count larger than
         * what is left is malformed, and failing now bounds the loop. */
        if (pending > left(r)) {
            r->p = save;
            return TTAI_EDECODE;
        }
    }
    return 0;
}

bool store_msgpack_valid(const uint8_t *data, size_t len)
{
    struct store__mp r = {data, data + len};
    return len > 0 && store__mp_skip(&r) == 0 && r.p == r.end;
}
