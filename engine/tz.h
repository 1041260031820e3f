/* tz.h: IANA time zones, read from the system's zoneinfo.
 *
 * A zone is opened by name ("America/New_York") from the TZif file under
 * $TZDIR, or /usr/share/zoneinfo when TZDIR is unset or empty. TZif
 * versions 1 to 3 are read; for instants after the file's last transition
 * the POSIX TZ string at the end of the file ("EST5EDT,M3.2.0,M11.1.0")
 * gives the rule, so a zone is right for any year its rules still hold.
 * "UTC" is built in and needs no file.
 *
 * Times are seconds: an instant is seconds since the Unix epoch (UTC, no
 * leap seconds); a wall time is the local date and time written as if it
 * were UTC, i.e. eng_cal_days_from_civil(date) * 86400 + seconds of the
 * day. Offsets are seconds east of UTC (New York in winter: -18000).
 *
 * A struct eng_tz is immutable after eng_tz_open and may be shared between
 * threads.
 */
#ifndef TTAI_ENG_TZ_H
#define TTAI_ENG_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

#define ENG_TZ_NAME_MAX 255      /* bytes of a zone name */

struct eng_tz;

/* Opens the zone `name` into *out, which the caller frees with
 * eng_tz_free().
 *
 * Errors: TTAI_EINVAL for a name that is not a plain relative zone name
 * (empty, too long, absolute, containing "..", or characters outside
 * A-Z a-z 0-9 / _ + - .), for a file that is not TZif, or for a zone that
 * counts leap seconds ("right/..."); TTAI_ENOTFOUND for an unknown zone;
 * TTAI_ECORRUPT for a damaged TZif file; TTAI_ENOMEM. Every message names
 * the zone. *out is NULL on failure. */
int eng_tz_open(struct eng_tz **out, const char *name, struct ttai_err *err) TTAI_MUST_CHECK;
/* NULL is a no-op. */
void eng_tz_free(struct eng_tz *tz);
/* The name it was opened with, borrowed for the life of tz. */
const char *eng_tz_name(const struct eng_tz *tz);

/* The local time of an instant. */
struct eng_tz_local {
    int year, month, day;        /* local date */
    int hour, minute, second;    /* local time of day */
    int weekday;                 /* 0 Sunday .. 6 Saturday */
    int32_t offset_s;            /* seconds east of UTC in effect */
    bool dst;                    /* daylight saving time in effect */
    char abbr[16];               /* "EST", "+1030"; NUL-terminated */
};

void eng_tz_to_local(const struct eng_tz *tz, int64_t time_s, struct eng_tz_local *out);
/* The offset in effect at an instant. */
int32_t eng_tz_offset(const struct eng_tz *tz, int64_t time_s);

/* The instants at which the wall time wall_s occurs, ascending, in
 * instants_s; returns how many (0, 1 or 2).
 *   1: the usual case.
 *   2: the wall time repeats, after the clocks went back.
 *   0: the wall time was skipped by a forward jump; *gap_end_s (when not
 *      NULL) is then the instant of that jump, the first instant after the
 *      skipped wall times (02:30 on New York's spring-forward day: 07:00Z).
 * Zones whose clocks move more than twice within two days have no such
 * moment in the tz database; should one appear, the first two instants are
 * returned. */
int eng_tz_wall_instants(const struct eng_tz *tz, int64_t wall_s, int64_t instants_s[2],
                         int64_t *gap_end_s);

/* The smallest and largest offsets in effect at any instant of
 * [from_s, to_s]: bounds for turning wall times into instants. */
void eng_tz_offset_range(const struct eng_tz *tz, int64_t from_s, int64_t to_s,
                         int32_t *min_s, int32_t *max_s);

#endif /* TTAI_ENG_TZ_H */
