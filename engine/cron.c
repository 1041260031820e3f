/* cron.c: parsing cron expressions into bit sets, and matching them.
 *
 * The parser works field by field and item by item, so that an error can
 * say which field and which item is wrong. It accepts exactly the syntax in
 * cron.h; Quartz extensions (`?`, `L`, `W`, `#`) and @reboot are refused.
 *
 * Invariants of a parsed struct eng_cron:
 *   (1) every field has at least one bit set;
 *   (2) no bit is set outside the field's range (weekday 7 is stored as 0).
 */
#include "cron.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum field_id { F_SECOND, F_MINUTE, F_HOUR, F_DAY, F_MONTH, F_WEEKDAY, F_COUNT };

struct field_def {
    const char *name;            /* for messages */
    int lo, hi;                  /* accepted values (day of week: 0..7) */
    const char *const *names;    /* three-letter names of lo.., or NULL */
    const char *names_kind;      /* "month name", for messages */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat",
                                            NULL};

static const struct field_def field_defs[F_COUNT] = {
    {"second", 0, 59, NULL, NULL},
    {"minute", 0, 59, NULL, NULL},
    {"hour", 0, 23, NULL, NULL},
    {"day of month", 1, 31, NULL, NULL},
    {"month", 1, 12, month_names, "month name"},
    {"day of week", 0, 7, weekday_names, "day name"},
};

static const struct {
    const char *name;
    const char *expansion;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Where an error is reported: the field's position in the expression as
 * written (1-based) and the item being read. */
struct item_ctx {
    int position;
    const struct field_def *def;
    const char *item;
    size_t item_len;
    struct ttai_err *err;
};

static int item_error(const struct item_ctx *ctx, const char *problem)
{
    int len = ctx->item_len > 40 ? 40 : (int)ctx->item_len;
    return ttai_errf(ctx->err, TTAI_EINVAL, "cron: field %d (%s) '%.*s%s': %s", ctx->position,
                     ctx->def->name, len, ctx->item, ctx->item_len > 40 ? "..." : "", problem);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads a number or a name at *p (advancing it) into *out. */
static int value_read(const struct item_ctx *ctx, const char **p, const char *end, int *out)
{
    const char *s = *p;
    if (s < end && is_digit(*s)) {
        int v = 0;
        for (; s < end && is_digit(*s); s++) {
            if (v > 9999)
                return item_error(ctx, "number too large");
            v = v * 10 + (*s - '0');
        }
        *p = s;
        *out = v;
        return 0;
    }
    const char *start = s;
    while (s < end && is_alpha(*s))
        s++;
    if (ctx->def->names != NULL && s - start == 3)
        for (int i = 0; ctx->def->names[i] != NULL; i++)
            if (strncasecmp(start, ctx->def->names[i], 3) == 0) {
                *p = s;
                *out = ctx->def->lo + i;
                return 0;
            }
    char problem[64];
    snprintf(problem, sizeof(problem), "not a number%s%s", ctx->def->names ? " or " : "",
             ctx->def->names ? ctx->def->names_kind : "");
    return item_error(ctx, problem);
}

/* Quartz's extensions: '?', '#', and 'L' or 'W' alone or after a number
 * ("L", "LW", "15W", "5L"); month and day names never have a digit before
 * a letter. */
static bool is_quartz(const char *item, size_t len)
{
    bool letters_only = true;
    for (size_t i = 0; i < len; i++) {
        char c = item[i];
        if (c == '?' || c == '#')
            return true;
        bool lw = c == 'L' || c == 'l' || c == 'W' || c == 'w';
        if (lw && i > 0 && is_digit(item[i - 1]))
            return true;
        letters_only = letters_only && lw;
    }
    return letters_only && len <= 2;
}

/* Parses one list item ("*", "5", "1-5", "*\/15", "10-50/5", "3/4") and
 * sets its bits. */
static int item_parse(const struct item_ctx *ctx, uint64_t *bits)
{
    const struct field_def *def = ctx->def;
    const char *p = ctx->item, *end = ctx->item + ctx->item_len;
    int lo, hi, step = 1, rc;
    if (is_quartz(ctx->item, ctx->item_len))
        return item_error(ctx, "'?', 'L', 'W' and '#' are not supported");
    bool star = *p == '*', ranged = false;
    if (star) {
        lo = def->lo;
        hi = def->hi;
        p++;
    } else {
        rc = value_read(ctx, &p, end, &lo);
        if (rc != 0)
            return rc;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            ranged = true;
            bool name = p < end && is_alpha(*p);
            rc = value_read(ctx, &p, end, &hi);
            if (rc != 0)
                return rc;
            if (def == &field_defs[F_WEEKDAY] && name && hi == 0)
                hi = 7; /* "fri-sun": SUN as the end of a range is 7 */
        }
    }
    if (p < end && *p == '/') {
        p++;
        if (p == end || !is_digit(*p))
            return item_error(ctx, "a step needs a number after '/'");
        rc = value_read(ctx, &p, end, &step);
        if (rc != 0)
            return rc;
        if (step < 1)
            return item_error(ctx, "step must be at least 1");
        if (!star && !ranged)
            hi = def->hi; /* "a/n": from a to the maximum */
    }
    if (p != end)
        return item_error(ctx, star ? "unexpected text after '*'" : "unexpected text");
    if (lo < def->lo || lo > def->hi || hi < def->lo || hi > def->hi) {
        char problem[64];
        snprintf(problem, sizeof(problem), "value out of range %d-%d", def->lo, def->hi);
        return item_error(ctx, problem);
    }
    if (lo > hi)
        return item_error(ctx, "range is reversed (start after end)");
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << (def == &field_defs[F_WEEKDAY] && v == 7 ? 0 : v);
    return 0;
}

/* Parses one field (a comma-separated list) into bits. */
static int field_parse(const char *text, size_t len, int position, enum field_id id,
                       uint64_t *bits, struct ttai_err *err)
{
    struct item_ctx ctx = {position, &field_defs[id], text, len, err};
    *bits = 0;
    const char *p = text, *end = text + len;
    while (true) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma != NULL ? comma : end;
        ctx.item = p;
        ctx.item_len = (size_t)(item_end - p);
        if (ctx.item_len == 0) {
            ctx.item = text;
            ctx.item_len = len;
            return item_error(&ctx, "empty item in list");
        }
        int rc = item_parse(&ctx, bits);
        if (rc != 0)
            return rc;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits text into at most 7 blank-separated fields. Returns their count. */
static int fields_split(const char *text, const char *start[7], size_t len[7])
{
    int n = 0;
    const char *p = text;
    while (true) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            return n;
        const char *s = p;
        while (*p != '\0' && !is_blank(*p))
            p++;
        if (n == 7)
            return n + 1;
        start[n] = s;
        len[n] = (size_t)(p - s);
        n++;
    }
}

int eng_cron_parse(struct eng_cron *out, const char *text, struct ttai_err *err)
{
    memset(out, 0, sizeof(*out));
    size_t text_len = strlen(text);
    if (text_len > ENG_CRON_TEXT_MAX)
        return ttai_errf(err, TTAI_EINVAL, "cron: expression longer than %d bytes",
                         ENG_CRON_TEXT_MAX);
    for (const char *p = text; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return ttai_errf(err, TTAI_EINVAL, "cron: control character in expression");
    const char *start[7];
    size_t len[7];
    int n = fields_split(text, start, len);
    if (n == 1 && start[0][0] == '@') {
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
            if (strlen(macros[i].name) == len[0] &&
                strncasecmp(start[0], macros[i].name, len[0]) == 0)
                return eng_cron_parse(out, macros[i].expansion, err);
        return ttai_errf(err, TTAI_EINVAL,
                         "cron: unknown macro '%.*s' (use @yearly, @annually, @monthly, @weekly, "
                         "@daily, @midnight or @hourly)",
                         len[0] > 32 ? 32 : (int)len[0], start[0]);
    }
    if (n == 0)
        return ttai_errf(err, TTAI_EINVAL, "cron: empty expression");
    if (n != 5 && n != 6)
        return ttai_errf(err, TTAI_EINVAL,
                         "cron: expected 5 fields (minute hour day-of-month month day-of-week) "
                         "or 6 (with second first), got %s%d",
                         n > 7 ? "more than " : "", n > 7 ? 7 : n);
    int first = n == 5 ? F_MINUTE : F_SECOND;
    uint64_t bits[F_COUNT] = {1, 0, 0, 0, 0, 0}; /* 5 fields: second 0 */
    for (int i = 0; i < n; i++) {
        enum field_id id = (enum field_id)(first + i);
        int rc = field_parse(start[i], len[i], i + 1, id, &bits[id], err);
        if (rc != 0) {
            memset(out, 0, sizeof(*out));
            return rc;
        }
    }
    out->seconds = bits[F_SECOND];
    out->minutes = bits[F_MINUTE];
    out->hours = (uint32_t)bits[F_HOUR];
    out->days = (uint32_t)bits[F_DAY];
    out->months = (uint16_t)bits[F_MONTH];
    out->weekdays = (uint8_t)bits[F_WEEKDAY];
    out->days_star = start[F_DAY - first][0] == '*';
    out->weekdays_star = start[F_WEEKDAY - first][0] == '*';
    return 0;
}

bool eng_cron_day_matches(const struct eng_cron *c, int month, int day, int weekday)
{
    if ((c->months >> month & 1) == 0)
        return false;
    bool day_ok = (c->days >> day & 1) != 0;
    bool weekday_ok = (c->weekdays >> weekday & 1) != 0;
    if (c->days_star || c->weekdays_star)
        return day_ok && weekday_ok;
    return day_ok || weekday_ok;
}

/* The first set bit at or after `from` and below `limit`, or -1. */
static int next_bit(uint64_t bits, int from, int limit)
{
    for (int i = from; i < limit; i++)
        if (bits >> i & 1)
            return i;
    return -1;
}

int32_t eng_cron_next_time_of_day(const struct eng_cron *c, int32_t from_s)
{
    TTAI_ASSERT(from_s >= 0);
    int hour = from_s / 3600, minute = from_s / 60 % 60, second = from_s % 60;
    while (hour < 24) {
        int h = next_bit(c->hours, hour, 24);
        if (h < 0)
            return -1;
        if (h != hour) {
            hour = h;
            minute = second = 0;
        }
        int m = next_bit(c->minutes, minute, 60);
        if (m < 0) {
            hour++;
            minute = second = 0;
            continue;
        }
        if (m != minute) {
            minute = m;
            second = 0;
        }
        int s = next_bit(c->seconds, second, 60);
        if (s >= 0)
            return hour * 3600 + minute * 60 + s;
        if (++minute == 60) {
            hour++;
            minute = 0;
        }
        second = 0;
    }
    return -1;
}
