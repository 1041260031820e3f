/* schedule_spec.h: when a schedule fires.
 *
 * A schedule spec is a cron expression (cron.h) read in a time zone (tz.h),
 * with an explicit policy for the two kinds of daylight-saving change, and
 * optionally a trading calendar (calendar.h):
 *
 *   dst_gap    what a wall time skipped by a forward jump does:
 *                shift (default)  fires once, at the first instant after
 *                                 the jump (02:30 New York on the spring-
 *                                 forward day fires at 03:00 EDT, 07:00Z);
 *                skip             does not fire that day.
 *   dst_repeat what a wall time that occurs twice (clocks going back) does:
 *                once (default)   fires at its first occurrence only;
 *                twice            fires at both.
 *   calendar   none (default), or XNYS: fires on local dates the New York
 *              Stock Exchange is closed are dropped.
 *
 * skip + twice is Temporal's literal matching: an instant fires when its
 * local wall time matches. Instants that coincide fire once (with shift,
 * 02:00 and 02:30 on a spring-forward day both map to 03:00: one fire).
 *
 * Times are seconds since the Unix epoch (UTC). Computing the next fire
 * walks local dates (skipping whole months that cannot match) and, within a
 * matching date, the matching times of day; it never steps second by
 * second. A spec is immutable after eng_sched_spec_new and may be shared
 * between threads.
 */
#ifndef TTAI_ENG_SCHEDULE_SPEC_H
#define TTAI_ENG_SCHEDULE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "calendar.h"
#include "cron.h"
#include "tz.h"

/* How far ahead a next fire is looked for: a spec that matches no date in
 * this many years (0 0 30 2 *; Christmas with XNYS) never fires. */
#define ENG_SCHED_HORIZON_YEARS 100

enum eng_dst_gap {
    ENG_DST_GAP_SHIFT = 0,
    ENG_DST_GAP_SKIP = 1,
};

enum eng_dst_repeat {
    ENG_DST_REPEAT_ONCE = 0,
    ENG_DST_REPEAT_TWICE = 1,
};

/* "shift"/"skip" and "once"/"twice" (exact, lower case). TTAI_EINVAL with
 * a message that lists the accepted values. */
int eng_dst_gap_parse(const char *text, enum eng_dst_gap *out,
                      struct ttai_err *err) TTAI_MUST_CHECK;
int eng_dst_repeat_parse(const char *text, enum eng_dst_repeat *out,
                         struct ttai_err *err) TTAI_MUST_CHECK;
const char *eng_dst_gap_name(enum eng_dst_gap gap);
const char *eng_dst_repeat_name(enum eng_dst_repeat repeat);

/* A spec as text, the way it arrives from the API, the command line or
 * storage. NULL or "" takes the default. */
struct eng_sched_spec_text {
    const char *cron;            /* required */
    const char *tz;              /* IANA zone name; default "UTC" */
    const char *dst_gap;         /* "shift" (default) or "skip" */
    const char *dst_repeat;      /* "once" (default) or "twice" */
    const char *calendar;        /* "XNYS", or "none" (default) */
};

struct eng_sched_spec;

/* Builds a spec into *out (freed by the caller with eng_sched_spec_free).
 * Errors, with the message of the part that is wrong: TTAI_EINVAL (cron,
 * policy, calendar, zone name), TTAI_ENOTFOUND (unknown zone), and the
 * other errors of eng_tz_open. *out is NULL on failure. */
int eng_sched_spec_new(struct eng_sched_spec **out, const struct eng_sched_spec_text *text,
                       struct ttai_err *err) TTAI_MUST_CHECK;
/* NULL is a no-op. */
void eng_sched_spec_free(struct eng_sched_spec *spec);

/* The spec as text with every default filled in (canonical names, e.g.
 * "XNYS", "none"); the strings are borrowed for the life of the spec. */
void eng_sched_spec_get_text(const struct eng_sched_spec *spec, struct eng_sched_spec_text *out);
/* The spec's zone, borrowed for the life of the spec. */
const struct eng_tz *eng_sched_spec_tz(const struct eng_sched_spec *spec);

/* The first fire instant strictly after after_s, in *next_s. Returns 0, or
 * TTAI_ENOTFOUND when there is none within ENG_SCHED_HORIZON_YEARS (or
 * before the year 10000). */
int eng_sched_spec_next(const struct eng_sched_spec *spec, int64_t after_s,
                        int64_t *next_s) TTAI_MUST_CHECK;
/* The first `count` fire instants after after_s, ascending, into out_s.
 * Returns how many were found: fewer than count only when the schedule
 * has no more fires. */
size_t eng_sched_spec_next_n(const struct eng_sched_spec *spec, int64_t after_s, int64_t *out_s,
                             size_t count);

/* ---- RFC 3339 --------------------------------------------------------------- */

#define ENG_RFC3339_TEXT 21      /* "2026-03-08T07:00:00Z" and the NUL */

/* Parses "YYYY-MM-DDTHH:MM:SS" followed by "Z" or an offset "+02:00" /
 * "-05:00", with an optional fraction of a second (dropped, so that "after
 * T" keeps its meaning) into seconds since the epoch. 't', 'z' and a space
 * for 'T' are accepted too. TTAI_EINVAL with a message saying what is
 * wrong. */
int eng_rfc3339_parse(const char *text, int64_t *out_s, struct ttai_err *err) TTAI_MUST_CHECK;
/* Formats an instant as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least
 * ENG_RFC3339_TEXT bytes for years 0 to 9999). Returns buf. */
char *eng_rfc3339_format(int64_t time_s, char *buf, size_t size);

#endif /* TTAI_ENG_SCHEDULE_SPEC_H */
