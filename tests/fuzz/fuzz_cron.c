/* fuzz_cron.c: libFuzzer target for the cron parser (engine/cron.h).
 *
 * For every input: eng_cron_parse() returns 0 or TTAI_EINVAL; a refusal
 * zeroes the result and says "cron: ..."; an accepted expression only sets
 * bits inside each field's range, and eng_cron_next_time_of_day() agrees with
 * a brute-force scan of the day from a start point taken from the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

static void die(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_cron: %s for '%s'\n", what, text);
    abort();
}

static int time_matches(const struct eng_cron *c, int32_t t)
{
    int h = t / 3600, m = t / 60 % 60, s = t % 60;
    return (c->hours >> h & 1) && (c->minutes >> m & 1) && (c->seconds >> s & 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4 * ENG_CRON_TEXT_MAX)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct eng_cron c;
    struct ttai_err err = {0};
    int rc = eng_cron_parse(&c, text, &err);
    if (rc != 0) {
        static const struct eng_cron zero;
        if (rc != TTAI_EINVAL)
            die("an error other than TTAI_EINVAL", text);
        if (strncmp(err.msg, "cron: ", 6) != 0)
            die("a message without the 'cron: ' prefix", text);
        if (memcmp(&c, &zero, sizeof(c)) != 0)
            die("a refused expression left bits set", text);
        free(text);
        return 0;
    }
    if (c.seconds >> 60 || c.minutes >> 60 || c.hours >> 24 || (c.days & 1) ||
        (c.months & 1) || c.months >> 13 || c.weekdays >> 7)
        die("a bit outside its field's range", text);
    int32_t from = size > 0 ? (int32_t)(((uint32_t)data[0] << 16 | (uint32_t)data[size - 1] << 8 |
                                         (uint32_t)size) % 86400)
                            : 0;
    int32_t next = eng_cron_next_time_of_day(&c, from);
    int32_t want = -1;
    for (int32_t t = from; t < 86400 && want < 0; t++)
        if (time_matches(&c, t))
            want = t;
    if (next != want)
        die("next_time_of_day disagrees with a scan of the day", text);
    for (int month = 1; month <= 12; month++)
        for (int day = 1; day <= 31; day += 7)
            (void)eng_cron_day_matches(&c, month, day, (month + day) % 7);
    free(text);
    return 0;
}
