/* tz.c: time zones from TZif files (RFC 8536) and POSIX TZ strings.
 *
 * A zone is two things:
 *   1. a table of transitions (instant -> local time type), read from the
 *      file's 64-bit data block (version 2 and later) or from its 32-bit
 *      block (version 1);
 *   2. a POSIX TZ rule, the file's footer, which gives the local time from
 *      the last transition on (a version 1 file has none: its last type then
 *      holds for ever).
 *
 * Invariants, checked when the file is read:
 *   (1) transition times strictly increase;
 *   (2) every transition's type index and every designation index are in
 *       range, and every offset is within +-26 hours;
 *   (3) there is at least one type, and type 0 holds before the first
 *       transition (RFC 8536 section 3.2).
 *
 * Every question about a zone reduces to two primitives: the local time
 * type in effect at an instant (zone_state) and the next instant after a
 * given one at which the offset changes (next_change). Both look at the
 * table first and the rule after it.
 */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"

#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"
#define TZ_FILE_BYTES_MAX (1 << 20)
#define TZ_TRANSITIONS_MAX 10000
#define TZ_TYPES_MAX 256
#define TZ_CHARS_MAX 1024
#define TZ_OFFSET_ABS_MAX (26 * 3600)   /* RFC 8536: -89999..93599; keep a margin */
#define SECONDS_PER_DAY 86400
#define CHANGES_SCANNED_MAX 1000          /* per offset_range call */

struct tz_type {
    int32_t offset_s;            /* seconds east of UTC */
    bool dst;
    char abbr[16];
};

/* A date of a POSIX rule: "Jn", "n" or "Mm.w.d", with the time of day. */
struct rule_date {
    enum { RULE_JULIAN_NO_LEAP, RULE_DAY_OF_YEAR, RULE_MONTH_WEEK_DAY } kind;
    int day;                     /* Jn: 1..365; n: 0..365 */
    int month, week, weekday;    /* Mm.w.d: 1..12, 1..5 (5: last), 0..6 */
    int32_t time_s;              /* local time of the change; default 02:00 */
};

struct posix_rule {
    bool present;                /* the footer was not empty */
    bool has_dst;
    struct tz_type std, dst;
    struct rule_date start, end; /* dst starts (in std time), ends (in dst time) */
};

struct eng_tz {
    char name[ENG_TZ_NAME_MAX + 1];
    size_t count;                /* transitions */
    int64_t *times_s;            /* count, strictly increasing (1); owned */
    uint8_t *type_index;         /* count; owned */
    struct tz_type types[TZ_TYPES_MAX];
    size_t type_count;           /* >= 1 (3) */
    struct posix_rule rule;
};

/* ---- POSIX TZ rules ----------------------------------------------------------- */

/* Parses [+-]hh[:mm[:ss]] into seconds, hours at most max_hours. */
static const char *parse_hms(const char *p, int max_hours, int32_t *out_s)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int32_t parts[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0 && *p != ':')
            break;
        if (i > 0)
            p++;
        if (*p < '0' || *p > '9')
            return NULL;
        int32_t v = 0;
        for (int digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits == 3)
                return NULL;
            v = v * 10 + (*p - '0');
        }
        parts[i] = v;
    }
    if (parts[0] > max_hours || parts[1] > 59 || parts[2] > 59)
        return NULL;
    *out_s = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return p;
}

/* A zone abbreviation: <...> or three or more letters. */
static const char *parse_abbr(const char *p, char out[16])
{
    size_t n = 0;
    if (*p == '<') {
        for (p++; *p != '>'; p++) {
            if (*p == '\0' || n + 1 >= 16)
                return NULL;
            out[n++] = *p;
        }
        p++;
    } else {
        for (; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'); p++) {
            if (n + 1 >= 16)
                return NULL;
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return n >= 3 ? p : NULL;
}

static const char *parse_int(const char *p, int lo, int hi, int *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > hi)
            return NULL;
    }
    if (v < lo)
        return NULL;
    *out = v;
    return p;
}

static const char *parse_rule_date(const char *p, struct rule_date *d)
{
    memset(d, 0, sizeof(*d));
    if (*p == 'J') {
        d->kind = RULE_JULIAN_NO_LEAP;
        p = parse_int(p + 1, 1, 365, &d->day);
    } else if (*p == 'M') {
        d->kind = RULE_MONTH_WEEK_DAY;
        p = parse_int(p + 1, 1, 12, &d->month);
        if (p != NULL && *p++ == '.')
            p = parse_int(p, 1, 5, &d->week);
        else
            p = NULL;
        if (p != NULL && *p++ == '.')
            p = parse_int(p, 0, 6, &d->weekday);
        else
            p = NULL;
    } else {
        d->kind = RULE_DAY_OF_YEAR;
        p = parse_int(p, 0, 365, &d->day);
    }
    d->time_s = 2 * 3600;
    if (p != NULL && *p == '/')
        p = parse_hms(p + 1, 167, &d->time_s);
    return p;
}

/* Parses a TZ string such as "EST5EDT,M3.2.0,M11.1.0". POSIX offsets count
 * west of UTC; they are stored east of UTC like the TZif types. */
static int posix_rule_parse(const char *text, struct posix_rule *r)
{
    memset(r, 0, sizeof(*r));
    if (text[0] == '\0')
        return 0;
    r->present = true;
    int32_t west_s;
    const char *p = parse_abbr(text, r->std.abbr);
    if (p != NULL)
        p = parse_hms(p, 24, &west_s);
    if (p == NULL)
        return -1;
    r->std.offset_s = -west_s;
    if (*p == '\0')
        return 0;
    r->has_dst = true;
    r->dst.dst = true;
    p = parse_abbr(p, r->dst.abbr);
    if (p == NULL)
        return -1;
    r->dst.offset_s = r->std.offset_s + 3600;
    if (*p != ',' && *p != '\0') {
        p = parse_hms(p, 24, &west_s);
        if (p == NULL)
            return -1;
        r->dst.offset_s = -west_s;
    }
    if (*p == '\0') {
        /* No dates: tzcode's default, the United States rules. */
        (void)parse_rule_date("M3.2.0", &r->start); /* constant: cannot fail */
        (void)parse_rule_date("M11.1.0", &r->end);
        return 0;
    }
    if (*p++ != ',')
        return -1;
    p = parse_rule_date(p, &r->start);
    if (p == NULL || *p++ != ',')
        return -1;
    p = parse_rule_date(p, &r->end);
    return p != NULL && *p == '\0' ? 0 : -1;
}

/* The day count of a rule date in `year`. */
static int64_t rule_date_days(const struct rule_date *d, int year)
{
    int64_t jan1 = eng_cal_days_from_civil(year, 1, 1);
    switch (d->kind) {
    case RULE_JULIAN_NO_LEAP:
        /* February 29 is never counted: J60 is March 1 in every year. */
        return jan1 + d->day - 1 + (eng_cal_is_leap_year(year) && d->day >= 60);
    case RULE_DAY_OF_YEAR:
        return jan1 + d->day;
    case RULE_MONTH_WEEK_DAY:
    default: {
        int64_t first = eng_cal_days_from_civil(year, d->month, 1);
        int day = 1 + (d->weekday - eng_cal_weekday(first) + 7) % 7 + 7 * (d->week - 1);
        while (day > eng_cal_days_in_month(year, d->month))
            day -= 7; /* week 5: the last such weekday */
        return first + day - 1;
    }
    }
}

/* A change of the rule: at `at_s` the offset becomes that of dst or std. */
struct rule_change {
    int64_t at_s;
    bool to_dst;
};

/* The rule's changes in the years year-2 .. year+1, in time order. At equal
 * instants the end of daylight time sorts first, so that a rule that keeps
 * daylight time all year ("0/0,J365/25") ends up in daylight time. */
static void rule_changes(const struct posix_rule *r, int year, struct rule_change out[8])
{
    for (int i = 0; i < 4; i++) {
        int y = year - 2 + i;
        out[2 * i].at_s = rule_date_days(&r->start, y) * SECONDS_PER_DAY + r->start.time_s -
                          r->std.offset_s;
        out[2 * i].to_dst = true;
        out[2 * i + 1].at_s =
            rule_date_days(&r->end, y) * SECONDS_PER_DAY + r->end.time_s - r->dst.offset_s;
        out[2 * i + 1].to_dst = false;
    }
    for (int i = 1; i < 8; i++) { /* insertion sort of eight */
        struct rule_change c = out[i];
        int j = i - 1;
        for (; j >= 0 && (out[j].at_s > c.at_s || (out[j].at_s == c.at_s && out[j].to_dst &&
                                                    !c.to_dst)); j--)
            out[j + 1] = out[j];
        out[j + 1] = c;
    }
}

static int utc_year(int64_t time_s)
{
    int y, m, d;
    eng_cal_civil_from_days(eng_cal_days_from_seconds(time_s), &y, &m, &d);
    return y;
}

static const struct tz_type *rule_state(const struct posix_rule *r, int64_t time_s)
{
    if (!r->has_dst)
        return &r->std;
    struct rule_change changes[8];
    rule_changes(r, utc_year(time_s), changes);
    const struct tz_type *state = &r->std;
    for (int i = 0; i < 8 && changes[i].at_s <= time_s; i++)
        state = changes[i].to_dst ? &r->dst : &r->std;
    return state;
}

/* The first change of the rule after time_s that moves the offset. */
static bool rule_next_change(const struct posix_rule *r, int64_t time_s, int64_t *at_s)
{
    if (!r->has_dst || r->std.offset_s == r->dst.offset_s)
        return false;
    int year = utc_year(time_s);
    for (int y = year; y <= year + 2; y++) {
        struct rule_change changes[8];
        rule_changes(r, y, changes);
        for (int i = 0; i < 8; i++) {
            if (changes[i].at_s <= time_s)
                continue;
            /* A change into the state already in effect moves nothing. */
            int64_t at = changes[i].at_s;
            if (rule_state(r, at)->offset_s != rule_state(r, at - 1)->offset_s) {
                *at_s = at;
                return true;
            }
        }
    }
    return false;
}

/* ---- Zone state --------------------------------------------------------------- */

/* The index of the last transition at or before time_s, or -1. */
static ptrdiff_t transition_at(const struct eng_tz *tz, int64_t time_s)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)tz->count; /* answer in [lo - 1, hi - 1] */
    while (lo < hi) {
        ptrdiff_t mid = lo + (hi - lo) / 2;
        if (tz->times_s[mid] <= time_s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

static const struct tz_type *zone_state(const struct eng_tz *tz, int64_t time_s)
{
    ptrdiff_t i = transition_at(tz, time_s);
    if (i < 0)
        return tz->count == 0 && tz->rule.present ? rule_state(&tz->rule, time_s) : &tz->types[0];
    if ((size_t)i == tz->count - 1 && tz->rule.present)
        return rule_state(&tz->rule, time_s);
    return &tz->types[tz->type_index[i]];
}

/* The first instant after time_s at which the offset changes. */
static bool next_change(const struct eng_tz *tz, int64_t time_s, int64_t *at_s)
{
    size_t i = (size_t)(transition_at(tz, time_s) + 1);
    for (; i < tz->count; i++) {
        int64_t at = tz->times_s[i];
        if (zone_state(tz, at)->offset_s != zone_state(tz, at - 1)->offset_s) {
            *at_s = at;
            return true;
        }
    }
    if (!tz->rule.present)
        return false;
    int64_t from_s = tz->count > 0 && tz->times_s[tz->count - 1] > time_s
                         ? tz->times_s[tz->count - 1] : time_s;
    return rule_next_change(&tz->rule, from_s, at_s);
}

/* ---- TZif files ------------------------------------------------------------------ */

struct tzif_header {
    char version;                /* 0, '2', '3' or '4' */
    uint32_t isut_count, isstd_count, leap_count, time_count, type_count, char_count;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

#define TZIF_HEADER_BYTES 44

static bool header_read(const uint8_t *p, size_t len, struct tzif_header *h)
{
    if (len < TZIF_HEADER_BYTES || memcmp(p, "TZif", 4) != 0)
        return false;
    h->version = (char)p[4];
    h->isut_count = be32(p + 20);
    h->isstd_count = be32(p + 24);
    h->leap_count = be32(p + 28);
    h->time_count = be32(p + 32);
    h->type_count = be32(p + 36);
    h->char_count = be32(p + 40);
    return true;
}

/* Bounds every count, so that data_bytes cannot overflow and the tables
 * fit their arrays. */
static bool counts_ok(const struct tzif_header *h)
{
    return h->time_count <= TZ_TRANSITIONS_MAX && h->type_count <= TZ_TYPES_MAX &&
           h->char_count <= TZ_CHARS_MAX && h->leap_count <= TZ_TRANSITIONS_MAX &&
           h->isstd_count <= TZ_TYPES_MAX && h->isut_count <= TZ_TYPES_MAX;
}

/* Bytes of the data block after a header, with times of time_bytes each. */
static size_t data_bytes(const struct tzif_header *h, size_t time_bytes)
{
    return (size_t)h->time_count * (time_bytes + 1) + (size_t)h->type_count * 6 +
           h->char_count + (size_t)h->leap_count * (time_bytes + 4) + h->isstd_count +
           h->isut_count;
}

/* Reads the data block at p (already known to be in the buffer) into tz,
 * checking invariants (1) to (3). */
static int data_read(struct eng_tz *tz, const struct tzif_header *h, const uint8_t *p,
                     size_t time_bytes, struct ttai_err *err)
{
    if (h->type_count == 0 || h->char_count == 0)
        return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': TZif file has no types", tz->name);
    if (h->leap_count != 0)
        return ttai_errf(err, TTAI_EINVAL,
                         "time zone '%s' counts leap seconds, which schedules do not support",
                         tz->name);
    tz->count = h->time_count;
    tz->times_s = ttai_calloc(tz->count + 1, sizeof(int64_t));
    tz->type_index = ttai_calloc(tz->count + 1, 1);
    if (tz->times_s == NULL || tz->type_index == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "time zone '%s': out of memory", tz->name);
    for (size_t i = 0; i < tz->count; i++, p += time_bytes) {
        tz->times_s[i] = time_bytes == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
        if (i > 0 && tz->times_s[i] <= tz->times_s[i - 1])
            return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': transitions out of order",
                             tz->name);
    }
    for (size_t i = 0; i < tz->count; i++, p++) {
        if (*p >= h->type_count)
            return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': bad type index", tz->name);
        tz->type_index[i] = *p;
    }
    const uint8_t *chars = p + (size_t)h->type_count * 6;
    tz->type_count = h->type_count;
    for (size_t i = 0; i < tz->type_count; i++, p += 6) {
        struct tz_type *t = &tz->types[i];
        t->offset_s = (int32_t)be32(p);
        t->dst = p[4] != 0;
        if (t->offset_s < -TZ_OFFSET_ABS_MAX || t->offset_s > TZ_OFFSET_ABS_MAX ||
            p[5] >= h->char_count)
            return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': bad local time type", tz->name);
        size_t n = strnlen((const char *)chars + p[5], h->char_count - p[5]);
        n = n < sizeof(t->abbr) - 1 ? n : sizeof(t->abbr) - 1;
        memcpy(t->abbr, chars + p[5], n);
        t->abbr[n] = '\0';
    }
    return 0;
}

/* Parses a whole TZif file. Version 2 and later files are read from their
 * second (64-bit) part and footer; version 1 files from the first. */
static int tzif_parse(struct eng_tz *tz, const uint8_t *buf, size_t len, struct ttai_err *err)
{
    struct tzif_header h;
    if (!header_read(buf, len, &h))
        return ttai_errf(err, TTAI_EINVAL, "time zone '%s' is not a TZif file", tz->name);
    if (!counts_ok(&h))
        return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': TZif counts out of range", tz->name);
    size_t v1_end = TZIF_HEADER_BYTES + data_bytes(&h, 4);
    if (v1_end > len)
        return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': TZif file is truncated", tz->name);
    if (h.version == 0)
        return data_read(tz, &h, buf + TZIF_HEADER_BYTES, 4, err);
    const uint8_t *p = buf + v1_end;
    size_t left = len - v1_end;
    if (!header_read(p, left, &h) || !counts_ok(&h) ||
        TZIF_HEADER_BYTES + data_bytes(&h, 8) > left)
        return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': bad TZif version 2 part", tz->name);
    int rc = data_read(tz, &h, p + TZIF_HEADER_BYTES, 8, err);
    if (rc != 0)
        return rc;
    p += TZIF_HEADER_BYTES + data_bytes(&h, 8);
    left -= TZIF_HEADER_BYTES + data_bytes(&h, 8);
    /* The footer: "\n" TZ-string "\n". */
    const uint8_t *nl = left > 0 && p[0] == '\n' ? memchr(p + 1, '\n', left - 1) : NULL;
    char footer[128];
    size_t footer_len = nl != NULL ? (size_t)(nl - p - 1) : SIZE_MAX;
    if (footer_len >= sizeof(footer))
        return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': bad TZif footer", tz->name);
    memcpy(footer, p + 1, footer_len);
    footer[footer_len] = '\0';
    if (posix_rule_parse(footer, &tz->rule) != 0)
        return ttai_errf(err, TTAI_ECORRUPT, "time zone '%s': bad TZ string '%s'", tz->name,
                         footer);
    return 0;
}

/* Reads the file of a zone into a buffer the caller frees. */
static int file_load(const char *name, uint8_t **out, size_t *len, struct ttai_err *err)
{
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = TZ_DIR_DEFAULT;
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return ttai_errf(err, TTAI_EINVAL, "time zone '%s': path too long", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (fd < 0 && e != ENOENT && e != ENOTDIR)
            return ttai_errf(err, TTAI_EIO, "time zone '%s': cannot open %s: %s", name, path,
                             strerror(e));
        return ttai_errf(err, TTAI_ENOTFOUND, "unknown time zone '%s' (not found in %s)", name,
                         dir);
    }
    if (st.st_size > TZ_FILE_BYTES_MAX) {
        close(fd);
        return ttai_errf(err, TTAI_EINVAL, "time zone '%s': file too large", name);
    }
    uint8_t *buf = ttai_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf != NULL && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (buf == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "time zone '%s': out of memory", name);
    if (got != (size_t)st.st_size) {
        ttai_free(buf);
        return ttai_errf(err, TTAI_EIO, "time zone '%s': cannot read %s", name, path);
    }
    *out = buf;
    *len = got;
    return 0;
}

/* ---- Public API ------------------------------------------------------------------- */

static int name_check(const char *name, struct ttai_err *err)
{
    size_t len = strlen(name);
    if (len == 0)
        return ttai_errf(err, TTAI_EINVAL, "time zone name is empty");
    if (len > ENG_TZ_NAME_MAX)
        return ttai_errf(err, TTAI_EINVAL, "time zone name is too long (%zu bytes)", len);
    if (name[0] == '/' || strstr(name, "..") != NULL)
        return ttai_errf(err, TTAI_EINVAL,
                         "bad time zone name '%s' (use an IANA name such as America/New_York)",
                         name);
    for (const char *p = name; *p != '\0'; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("/_+-.", *p) != NULL))
            return ttai_errf(err, TTAI_EINVAL, "bad character in time zone name '%.64s'", name);
    return 0;
}

int eng_tz_open(struct eng_tz **out, const char *name, struct ttai_err *err)
{
    *out = NULL;
    int rc = name_check(name, err);
    if (rc != 0)
        return rc;
    struct eng_tz *tz = ttai_calloc(1, sizeof(*tz));
    if (tz == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "time zone '%s': out of memory", name);
    memcpy(tz->name, name, strlen(name) + 1);
    if (strcmp(name, "UTC") == 0) {
        /* Built in, so that the default zone works without tzdata. */
        tz->type_count = 1;
        memcpy(tz->types[0].abbr, "UTC", 4);
        *out = tz;
        return 0;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = file_load(name, &buf, &len, err);
    if (rc == 0)
        rc = tzif_parse(tz, buf, len, err);
    ttai_free(buf);
    if (rc != 0) {
        eng_tz_free(tz);
        return rc;
    }
    *out = tz;
    return 0;
}

void eng_tz_free(struct eng_tz *tz)
{
    if (tz == NULL)
        return;
    ttai_free(tz->times_s);
    ttai_free(tz->type_index);
    ttai_free(tz);
}

const char *eng_tz_name(const struct eng_tz *tz)
{
    return tz->name;
}

int32_t eng_tz_offset(const struct eng_tz *tz, int64_t time_s)
{
    return zone_state(tz, time_s)->offset_s;
}

void eng_tz_to_local(const struct eng_tz *tz, int64_t time_s, struct eng_tz_local *out)
{
    const struct tz_type *t = zone_state(tz, time_s);
    int64_t wall_s = time_s + t->offset_s;
    int64_t days = eng_cal_days_from_seconds(wall_s);
    int64_t second_of_day = wall_s - days * SECONDS_PER_DAY;
    eng_cal_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(second_of_day / 3600);
    out->minute = (int)(second_of_day / 60 % 60);
    out->second = (int)(second_of_day % 60);
    out->weekday = eng_cal_weekday(days);
    out->offset_s = t->offset_s;
    out->dst = t->dst;
    memcpy(out->abbr, t->abbr, sizeof(out->abbr));
}

void eng_tz_offset_range(const struct eng_tz *tz, int64_t from_s, int64_t to_s, int32_t *min_s,
                         int32_t *max_s)
{
    int32_t lo = eng_tz_offset(tz, from_s), hi = lo;
    int64_t at_s = from_s;
    int scanned = 0;
    while (next_change(tz, at_s, &at_s) && at_s <= to_s) {
        if (++scanned > CHANGES_SCANNED_MAX) { /* a pathological zone: use the widest bounds */
            lo = -TZ_OFFSET_ABS_MAX;
            hi = TZ_OFFSET_ABS_MAX;
            break;
        }
        int32_t off = eng_tz_offset(tz, at_s);
        lo = off < lo ? off : lo;
        hi = off > hi ? off : hi;
    }
    *min_s = lo;
    *max_s = hi;
}

int eng_tz_wall_instants(const struct eng_tz *tz, int64_t wall_s, int64_t instants_s[2],
                         int64_t *gap_end_s)
{
    /* Every instant that shows wall_s lies within an offset of it, so the
     * offsets in effect around it are the only candidates. */
    int64_t from_s = wall_s - TZ_OFFSET_ABS_MAX, to_s = wall_s + TZ_OFFSET_ABS_MAX;
    int32_t offsets[8];
    int n_offsets = 0;
    offsets[n_offsets++] = eng_tz_offset(tz, from_s);
    int64_t at_s = from_s;
    while (n_offsets < 8 && next_change(tz, at_s, &at_s) && at_s <= to_s)
        offsets[n_offsets++] = eng_tz_offset(tz, at_s);
    int found = 0;
    for (int i = 0; i < n_offsets; i++) {
        int64_t u = wall_s - offsets[i];
        if (eng_tz_offset(tz, u) != offsets[i])
            continue;
        bool seen = false;
        for (int k = 0; k < found; k++)
            seen = seen || instants_s[k] == u;
        if (seen)
            continue;
        if (found < 2) {
            instants_s[found++] = u;
        } else if (u < instants_s[1]) {
            instants_s[1] = u;
        }
        if (found == 2 && instants_s[1] < instants_s[0]) {
            int64_t tmp = instants_s[0];
            instants_s[0] = instants_s[1];
            instants_s[1] = tmp;
        }
    }
    if (found > 0 || gap_end_s == NULL)
        return found;
    /* Skipped: the forward jump whose gap holds wall_s. */
    *gap_end_s = wall_s - offsets[0];
    at_s = from_s;
    while (next_change(tz, at_s, &at_s) && at_s <= to_s) {
        int32_t before = eng_tz_offset(tz, at_s - 1), after = eng_tz_offset(tz, at_s);
        if (after > before && at_s + before <= wall_s && wall_s < at_s + after) {
            *gap_end_s = at_s;
            break;
        }
    }
    return found;
}
