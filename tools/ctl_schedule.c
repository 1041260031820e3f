/* ctl_schedule.c: the `schedule ...` commands of ttaictl.
 *
 *   ttaictl [GLOBAL FLAGS] schedule preview --cron EXPR [--tz ZONE]
 *           [--dst-gap shift|skip] [--dst-repeat once|twice] [--calendar XNYS]
 *           [--from RFC3339] [--count N]
 *
 * `preview` needs no daemon: it computes the fire times with the engine's
 * own code (engine/schedule_spec.h), so what it prints is what a schedule
 * with the same spec would do.
 *
 * The commands that manage schedules in ttaid (create, list, describe,
 * update, pause, unpause, trigger, backfill, delete) go next to preview: a
 * row in sched_commands with its flag table, and a function that gets the
 * parsed struct sched_args (whose `global` member holds --address,
 * --namespace, --token and --output for ctl_http_call()).
 *
 * ttaictl.c hands the whole command line here when its command word is
 * `schedule` (ctl_schedule_main), so this file parses its own flags; the
 * global flags are accepted before and after the command as everywhere in
 * ttaictl. Exit statuses are ttaictl's: 0 success, 2 bad usage (an invalid
 * cron, zone or time included).
 */
#include "ctl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "schedule_spec.h"

#ifndef TTAI_VERSION
#define TTAI_VERSION "unknown"
#endif

#define PREVIEW_COUNT_DEFAULT 10
#define PREVIEW_COUNT_MAX 1000

/* Everything the schedule commands' flags can say. */
struct sched_args {
    struct ctl_args global;      /* the global flags */
    const char *cron;            /* --cron EXPR */
    const char *tz;              /* --tz ZONE */
    const char *dst_gap;         /* --dst-gap shift|skip */
    const char *dst_repeat;      /* --dst-repeat once|twice */
    const char *calendar;        /* --calendar XNYS */
    const char *from;            /* --from RFC3339 */
    const char *count;           /* --count N */
};

/* ---- Flags and commands --------------------------------------------------------- */

/* As in ttaictl.c: a flag fills the field at `offset` of struct
 * sched_args, a const char * when it takes a value, else a bool. */
struct sched_flag {
    const char *name;
    const char *alias;
    const char *value_name;      /* NULL for a switch */
    const char *help;
    size_t offset;
    bool required;
};

#define SCHED_FIELD(field) offsetof(struct sched_args, field)
#define SCHED_FLAGS_END {NULL, NULL, NULL, NULL, 0, false}

static const struct sched_flag global_flags[] = {
    {"--address", NULL, "HOST:PORT", "ttaid's address (default: $TTAI_ADDRESS)",
     SCHED_FIELD(global.address), false},
    {"--namespace", "-n", "NS", "namespace (default: $TTAI_NAMESPACE)", SCHED_FIELD(global.ns),
     false},
    {"--token", NULL, "TOKEN", "bearer token (default: $TTAI_TOKEN)", SCHED_FIELD(global.token),
     false},
    {"--output", "-o", "FORMAT", "table (default) or json", SCHED_FIELD(global.output_name), false},
    {"--help", "-h", NULL, "show help", SCHED_FIELD(global.help), false},
    {"--version", NULL, NULL, "print the version", SCHED_FIELD(global.version), false},
    SCHED_FLAGS_END,
};

static const struct sched_flag preview_flags[] = {
    {"--cron", NULL, "EXPR", "cron expression, 5 or 6 fields or @daily etc. (required)",
     SCHED_FIELD(cron), true},
    {"--tz", NULL, "ZONE", "IANA time zone (default: UTC)", SCHED_FIELD(tz), false},
    {"--dst-gap", NULL, "POLICY", "wall times skipped by DST: shift (default) or skip",
     SCHED_FIELD(dst_gap), false},
    {"--dst-repeat", NULL, "POLICY", "wall times repeated by DST: once (default) or twice",
     SCHED_FIELD(dst_repeat), false},
    {"--calendar", NULL, "NAME", "fire on trading days only: XNYS (default: none)",
     SCHED_FIELD(calendar), false},
    {"--from", NULL, "TIME", "fires after this RFC 3339 time (default: now)", SCHED_FIELD(from),
     false},
    {"--count", NULL, "N", "how many fire times (default: 10, at most 1000)", SCHED_FIELD(count),
     false},
    SCHED_FLAGS_END,
};

struct sched_command {
    const char *name;
    const char *summary;
    const char *description;
    const struct sched_flag *flags;
    int (*run)(const struct sched_args *a);
};

static int schedule_preview(const struct sched_args *a);

static const struct sched_command sched_commands[] = {
    {"preview", "print the next fire times of a schedule spec",
     "Prints the next --count fire times after --from of the spec given by --cron,\n"
     "--tz, --dst-gap, --dst-repeat and --calendar: one per line, in UTC, with the\n"
     "local wall time. With --output json: an array of \"YYYY-MM-DDTHH:MM:SSZ\".\n"
     "Needs no daemon: the engine's own code computes the times.",
     preview_flags, schedule_preview},
};

#define SCHED_COMMAND_COUNT (sizeof(sched_commands) / sizeof(sched_commands[0]))

/* ---- Help ---------------------------------------------------------------------- */

static void flags_print(const struct sched_flag *flags)
{
    for (const struct sched_flag *f = flags; f->name != NULL; f++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s%s%s", f->alias ? f->alias : "", f->alias ? ", " : "",
                 f->name, f->value_name ? " " : "", f->value_name ? f->value_name : "");
        printf("  %-30s %s\n", left, f->help);
    }
}

static void known_commands(char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < SCHED_COMMAND_COUNT; i++) {
        strncat(buf, i == 0 ? "" : ", ", size - strlen(buf) - 1);
        strncat(buf, sched_commands[i].name, size - strlen(buf) - 1);
    }
}

static void help_print(const struct sched_command *cmd)
{
    if (cmd == NULL) {
        printf("usage: " CTL_PROG " [GLOBAL FLAGS] schedule SUBCOMMAND [FLAGS]\n\nSubcommands:\n");
        for (size_t i = 0; i < SCHED_COMMAND_COUNT; i++)
            printf("  %-18s %s\n", sched_commands[i].name, sched_commands[i].summary);
        printf("\nRun '" CTL_PROG " schedule SUBCOMMAND --help' for the flags of a subcommand.\n");
    } else {
        printf("usage: " CTL_PROG " [GLOBAL FLAGS] schedule %s [FLAGS]\n\n%s\n\nFlags:\n",
               cmd->name, cmd->description);
        flags_print(cmd->flags);
    }
    printf("\nGlobal flags:\n");
    flags_print(global_flags);
    printf("\nExit status: 0 success; 2 bad usage (including an invalid cron expression,\n"
           "time zone or time).\n");
}

/* ---- Parsing ------------------------------------------------------------------ */

static const struct sched_flag *flag_find(const struct sched_flag *flags, const char *word,
                                          size_t len)
{
    for (const struct sched_flag *f = flags; f != NULL && f->name != NULL; f++)
        if ((strlen(f->name) == len && strncmp(word, f->name, len) == 0) ||
            (f->alias != NULL && strlen(f->alias) == len && strncmp(word, f->alias, len) == 0))
            return f;
    return NULL;
}

/* Applies the flag at argv[*i]: the command's flags first (cmd may be
 * NULL), then the global ones. Returns 0 or CTL_EXIT_USAGE. */
static int flag_apply(struct sched_args *a, const struct sched_command *cmd, int argc, char **argv,
                      int *i)
{
    const char *word = argv[*i];
    const char *eq = strchr(word, '=');
    size_t len = eq ? (size_t)(eq - word) : strlen(word);
    const struct sched_flag *f = cmd ? flag_find(cmd->flags, word, len) : NULL;
    if (f == NULL)
        f = flag_find(global_flags, word, len);
    if (f == NULL) {
        if (cmd != NULL)
            ctl_errorf("unknown flag '%.*s' for 'schedule %s'; see '" CTL_PROG
                       " schedule %s --help'", (int)len, word, cmd->name, cmd->name);
        else
            ctl_errorf("unknown flag '%.*s' for 'schedule'; see '" CTL_PROG " schedule --help'",
                       (int)len, word);
        return CTL_EXIT_USAGE;
    }
    char *field = (char *)a + f->offset;
    if (f->value_name == NULL) {
        if (eq != NULL) {
            ctl_errorf("flag '%s' takes no value", f->name);
            return CTL_EXIT_USAGE;
        }
        *(bool *)field = true;
        return 0;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (value == NULL && *i + 1 < argc)
        value = argv[++*i];
    if (value == NULL || value[0] == '\0') {
        ctl_errorf("flag '%s' needs a value (%s)", f->name, f->value_name);
        return CTL_EXIT_USAGE;
    }
    *(const char **)field = value;
    return 0;
}

/* The index of the command word: the first word that is neither a flag nor
 * the value of a global flag; 0 when there is none. */
static int command_word(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (word[0] != '-' || word[1] == '\0')
            return i;
        const struct sched_flag *f = flag_find(global_flags, word, strlen(word));
        if (f != NULL && f->value_name != NULL)
            i++; /* "--output json": skip the value */
    }
    return 0;
}

/* Parses everything after the program name; *cmd_out is NULL when no
 * subcommand was named. */
static int parse(struct sched_args *a, int argc, char **argv, int schedule_at,
                 const struct sched_command **cmd_out)
{
    const struct sched_command *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (i == schedule_at)
            continue;
        if (word[0] == '-' && word[1] != '\0') {
            if (flag_apply(a, cmd, argc, argv, &i) != 0)
                return CTL_EXIT_USAGE;
        } else if (cmd == NULL && i > schedule_at) {
            for (size_t k = 0; k < SCHED_COMMAND_COUNT && cmd == NULL; k++)
                if (strcmp(sched_commands[k].name, word) == 0)
                    cmd = &sched_commands[k];
            if (cmd == NULL) {
                char known[256];
                known_commands(known, sizeof(known));
                ctl_errorf("unknown subcommand '%s' for 'schedule' (known: %s); see '" CTL_PROG
                           " schedule --help'", word, known);
                return CTL_EXIT_USAGE;
            }
        } else {
            ctl_errorf("unexpected argument '%s' for 'schedule%s%s' (flags take the values, "
                       "e.g. --cron '0 9 * * 1-5')", word, cmd ? " " : "", cmd ? cmd->name : "");
            return CTL_EXIT_USAGE;
        }
    }
    *cmd_out = cmd;
    return 0;
}

/* Checks what every subcommand needs: its required flags and --output. */
static int args_finish(struct sched_args *a, const struct sched_command *cmd)
{
    for (const struct sched_flag *f = cmd->flags; f->name != NULL; f++)
        if (f->required && *(const char **)((char *)a + f->offset) == NULL) {
            ctl_errorf("'schedule %s' needs %s; see '" CTL_PROG " schedule %s --help'", cmd->name,
                       f->name, cmd->name);
            return CTL_EXIT_USAGE;
        }
    const char *output = a->global.output_name;
    if (output == NULL || strcmp(output, "table") == 0) {
        a->global.output = CTL_OUT_TABLE;
    } else if (strcmp(output, "json") == 0) {
        a->global.output = CTL_OUT_JSON;
    } else {
        ctl_errorf("unknown output format '%s' (use table or json)", output);
        return CTL_EXIT_USAGE;
    }
    return 0;
}

int ctl_schedule_main(int argc, char **argv)
{
    int schedule_at = command_word(argc, argv);
    if (schedule_at == 0 || strcmp(argv[schedule_at], "schedule") != 0)
        return -1;
    struct sched_args a;
    memset(&a, 0, sizeof(a));
    const struct sched_command *cmd = NULL;
    if (parse(&a, argc, argv, schedule_at, &cmd) != 0)
        return CTL_EXIT_USAGE;
    if (a.global.version) {
        printf(CTL_PROG " %s\n", TTAI_VERSION);
        return CTL_EXIT_OK;
    }
    if (a.global.help) {
        help_print(cmd);
        return CTL_EXIT_OK;
    }
    if (cmd == NULL) {
        char known[256];
        known_commands(known, sizeof(known));
        ctl_errorf("'schedule' needs a subcommand (known: %s); see '" CTL_PROG
                   " schedule --help'", known);
        return CTL_EXIT_USAGE;
    }
    if (args_finish(&a, cmd) != 0)
        return CTL_EXIT_USAGE;
    int status = cmd->run(&a);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        ctl_errorf("cannot write the output");
        return status != 0 ? status : CTL_EXIT_USAGE;
    }
    return status;
}

/* ---- preview ------------------------------------------------------------------- */

/* Checks each part of the spec on its own, so that the message names the
 * flag that is wrong. */
static int preview_check(const struct sched_args *a)
{
    struct ttai_err err = {0};
    struct eng_cron cron;
    enum eng_dst_gap gap;
    enum eng_dst_repeat repeat;
    enum eng_cal_id cal;
    struct eng_tz *tz = NULL;
    if (eng_cron_parse(&cron, a->cron, &err) != 0) {
        ctl_errorf("bad value for '--cron': %s", err.msg);
        return CTL_EXIT_USAGE;
    }
    if (eng_dst_gap_parse(a->dst_gap, &gap, &err) != 0) {
        ctl_errorf("bad value '%s' for '--dst-gap' (use shift or skip)", a->dst_gap);
        return CTL_EXIT_USAGE;
    }
    if (eng_dst_repeat_parse(a->dst_repeat, &repeat, &err) != 0) {
        ctl_errorf("bad value '%s' for '--dst-repeat' (use once or twice)", a->dst_repeat);
        return CTL_EXIT_USAGE;
    }
    if (eng_cal_parse(a->calendar, &cal, &err) != 0) {
        ctl_errorf("bad value '%s' for '--calendar' (use XNYS or none)", a->calendar);
        return CTL_EXIT_USAGE;
    }
    if (eng_tz_open(&tz, a->tz ? a->tz : "UTC", &err) != 0) {
        ctl_errorf("bad value for '--tz': %s", err.msg);
        return CTL_EXIT_USAGE;
    }
    eng_tz_free(tz);
    return 0;
}

static int preview_count(const struct sched_args *a, size_t *count)
{
    *count = PREVIEW_COUNT_DEFAULT;
    if (a->count == NULL)
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(a->count, &end, 10);
    if (errno != 0 || *end != '\0' || end == a->count || n < 1 || n > PREVIEW_COUNT_MAX) {
        ctl_errorf("bad value '%s' for '--count' (use a number from 1 to %d)", a->count,
                   PREVIEW_COUNT_MAX);
        return CTL_EXIT_USAGE;
    }
    *count = (size_t)n;
    return 0;
}

/* "Sun 2026-03-08 03:00:00 EDT (-04:00)" */
static void local_format(const struct eng_tz *tz, int64_t time_s, char *buf, size_t size)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    struct eng_tz_local l;
    eng_tz_to_local(tz, time_s, &l);
    int32_t off = l.offset_s < 0 ? -l.offset_s : l.offset_s;
    snprintf(buf, size, "%s %04d-%02d-%02d %02d:%02d:%02d %s (%c%02d:%02d)", days[l.weekday],
             l.year, l.month, l.day, l.hour, l.minute, l.second, l.abbr,
             l.offset_s < 0 ? '-' : '+', (int)(off / 3600), (int)(off / 60 % 60));
}

static int preview_print(const struct sched_args *a, const struct eng_sched_spec *spec,
                         const int64_t *fires, size_t n)
{
    char utc[ENG_RFC3339_TEXT];
    if (a->global.output == CTL_OUT_JSON) {
        json_t *list = json_array();
        for (size_t i = 0; list != NULL && i < n; i++)
            if (json_array_append_new(list, json_string(eng_rfc3339_format(fires[i], utc,
                                                                           sizeof(utc)))) != 0) {
                json_decref(list);
                list = NULL;
            }
        if (list == NULL) {
            ctl_errorf("out of memory");
            return CTL_EXIT_USAGE;
        }
        int rc = ctl_json_print(list);
        json_decref(list);
        return rc == 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    }
    const struct eng_tz *tz = eng_sched_spec_tz(spec);
    char local_header[ENG_TZ_NAME_MAX + 32];
    snprintf(local_header, sizeof(local_header), "LOCAL TIME (%s)", eng_tz_name(tz));
    struct ctl_table t;
    ctl_table_init(&t, 2);
    const char *header[2] = {"FIRE TIME (UTC)", local_header};
    (void)ctl_table_add(&t, header); /* out of memory: the row is left out */
    for (size_t i = 0; i < n; i++) {
        char local[96];
        local_format(tz, fires[i], local, sizeof(local));
        const char *cells[2] = {eng_rfc3339_format(fires[i], utc, sizeof(utc)), local};
        (void)ctl_table_add(&t, cells);
    }
    ctl_table_print(&t);
    ctl_table_release(&t);
    return CTL_EXIT_OK;
}

static int schedule_preview(const struct sched_args *a)
{
    size_t count;
    int64_t from_s;
    struct ttai_err err = {0};
    if (preview_check(a) != 0 || preview_count(a, &count) != 0)
        return CTL_EXIT_USAGE;
    if (a->from == NULL) {
        int64_t now_ms = ttai_wall_ms();
        from_s = now_ms / 1000 - (now_ms % 1000 < 0);
    } else if (eng_rfc3339_parse(a->from, &from_s, &err) != 0) {
        ctl_errorf("bad value for '--from': %s", err.msg);
        return CTL_EXIT_USAGE;
    }
    const struct eng_sched_spec_text text = {a->cron, a->tz, a->dst_gap, a->dst_repeat,
                                             a->calendar};
    struct eng_sched_spec *spec = NULL;
    if (eng_sched_spec_new(&spec, &text, &err) != 0) {
        ctl_errorf("%s", err.msg);
        return CTL_EXIT_USAGE;
    }
    int64_t *fires = ttai_calloc(count, sizeof(int64_t));
    if (fires == NULL) {
        eng_sched_spec_free(spec);
        ctl_errorf("out of memory");
        return CTL_EXIT_USAGE;
    }
    size_t n = eng_sched_spec_next_n(spec, from_s, fires, count);
    int status = preview_print(a, spec, fires, n);
    if (n < count && status == CTL_EXIT_OK)
        ctl_errorf("no more fire times: the spec matches no date within %d years after %s "
                   "(or before the year 10000)", ENG_SCHED_HORIZON_YEARS,
                   n == 0 ? "--from" : "the last one shown");
    ttai_free(fires);
    eng_sched_spec_free(spec);
    return status;
}
