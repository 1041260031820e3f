/* monitor_text.c: Python-compatible number formatting and UTC calendar
 * arithmetic for the TTAI monitor workflows (see monitor.h).
 *
 * The seed builds its messages with f-strings; these functions give the
 * same text for the formats it uses (".1f", ".2f", ",.2f", str() and
 * repr()), so that an alert reads the same as in the seed. */
#include "monitor.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mon_textf(char *dst, size_t size, const char *fmt, ...)
{
    size_t used = strnlen(dst, size);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + used, size - used, fmt, ap);
    va_end(ap);
}

void mon_fmt_fixed(char *dst, size_t size, double v, int decimals)
{
    snprintf(dst, size, "%.*f", decimals, v);
}

void mon_fmt_money(char *dst, size_t size, double v)
{
    char plain[64];
    snprintf(plain, sizeof(plain), "%.2f", v);
    const char *p = plain;
    char out[96];
    size_t o = 0;
    if (*p == '-')
        out[o++] = *p++;
    size_t int_digits = strcspn(p, ".");
    for (size_t i = 0; i < int_digits && o < sizeof(out) - 8; i++) {
        if (i > 0 && (int_digits - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = p[i];
    }
    snprintf(out + o, sizeof(out) - o, "%s", p + int_digits);
    snprintf(dst, size, "%s", out);
}

void mon_fmt_repr(char *dst, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(dst, size, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(dst, size, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        snprintf(dst, size, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* The fewest significant digits that read back as v. */
    char sci[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    bool neg = sci[0] == '-';
    char digits[24];
    size_t nd = 0;
    const char *e = strchr(sci, 'e');
    for (const char *p = sci + neg; p < e && nd < sizeof(digits) - 1; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = atoi(e + 1);
    char out[64];
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                out[o++] = (size_t)i < nd ? digits[i] : '0';
            out[o++] = '.';
            if ((size_t)exp10 + 1 < nd)
                for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                    out[o++] = digits[i];
            else
                out[o++] = '0';
        } else {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[o++] = '0';
            for (size_t i = 0; i < nd; i++)
                out[o++] = digits[i];
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (size_t i = 1; i < nd; i++)
                out[o++] = digits[i];
        }
        snprintf(out + o, sizeof(out) - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(dst, size, "%s", out);
}

void mon_fmt_value(char *dst, size_t size, const msgpack_object *o, const char *dflt)
{
    if (o == NULL) {
        snprintf(dst, size, "%s", dflt);
        return;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(dst, size, "%llu", (unsigned long long)o->via.u64);
        return;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(dst, size, "%lld", (long long)o->via.i64);
        return;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        mon_fmt_repr(dst, size, o->via.f64);
        return;
    case MSGPACK_OBJECT_STR:
        snprintf(dst, size, "%.*s", (int)o->via.str.size, o->via.str.ptr);
        return;
    case MSGPACK_OBJECT_BOOLEAN:
        snprintf(dst, size, "%s", o->via.boolean ? "True" : "False");
        return;
    case MSGPACK_OBJECT_NIL:
        snprintf(dst, size, "None");
        return;
    default:
        snprintf(dst, size, "%s", dflt);
        return;
    }
}

/* ---- Time --------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), and back. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t mon_days(int64_t ms)
{
    return floor_div(ms, MON_DAY_MS);
}

void mon_date(int64_t ms, char *out, size_t size)
{
    int64_t y, m, d;
    civil_from_days(floor_div(ms, MON_DAY_MS), &y, &m, &d);
    snprintf(out, size, "%04lld-%02lld-%02lld", (long long)y, (long long)m, (long long)d);
}

int mon_weekday(int64_t ms)
{
    int64_t days = floor_div(ms, MON_DAY_MS);
    /* 1970-01-01 was a Thursday. */
    return (int)(((days % 7) + 7 + 4) % 7);
}

/* Reads n digits at *p into *out; advances *p. */
static bool digits(const char **p, const char *end, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || **p < '0' || **p > '9')
            return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

static bool date_at(const char **p, const char *end, int64_t *days)
{
    int64_t y, m, d;
    if (!digits(p, end, 4, &y) || *p >= end || *(*p)++ != '-' || !digits(p, end, 2, &m) ||
        *p >= end || *(*p)++ != '-' || !digits(p, end, 2, &d))
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    *days = days_from_civil(y, m, d);
    return true;
}

bool mon_date_parse(const char *text, size_t len, int64_t *days)
{
    const char *p = text, *end = text + len;
    return date_at(&p, end, days) && p == end;
}

bool mon_time_parse(const char *text, size_t len, int64_t *ms)
{
    const char *p = text, *end = text + len;
    int64_t days, hh, mm, ss, frac_ms = 0;
    if (!date_at(&p, end, &days) || p >= end || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!digits(&p, end, 2, &hh) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mm) ||
        p >= end || *p++ != ':' || !digits(&p, end, 2, &ss) || hh > 23 || mm > 59 || ss > 60)
        return false;
    if (p < end && *p == '.') {
        p++;
        int n = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (n == 0)
            return false;
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    int64_t offset_min = 0;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1;
        int64_t oh, om;
        if (!digits(&p, end, 2, &oh) || p >= end || *p++ != ':' || !digits(&p, end, 2, &om))
            return false;
        offset_min = sign * (oh * 60 + om);
    } else {
        return false;
    }
    if (p != end)
        return false;
    *ms = ((days * 24 + hh) * 60 + mm - offset_min) * 60000 + ss * 1000 + frac_ms;
    return true;
}
