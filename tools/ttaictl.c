/* ttaictl: the command line client of ttaid, in the habits of the Temporal CLI.
 *
 *   ttaictl [--address HOST:PORT] [--namespace NS] [--token T] [--output table|json]
 *           workflow start|execute|signal|signal-with-start|query|describe|list|show|
 *                    result|cancel|terminate [FLAGS]
 *   ttaictl [GLOBAL FLAGS] schedule create|list|describe|update|pause|unpause|trigger|
 *                                   backfill|delete|preview [FLAGS]
 *
 * It speaks the HTTP/JSON API of docs/api.md (ctl_http.c) and prints tables
 * for people or JSON for scripts (ctl_workflow.c, ctl_schedule.c,
 * ctl_output.c).
 *
 * This file holds the command line: the global flags, the workflow group's
 * command table, help, and the parsing of every group (`groups` below).
 * Global flags are accepted anywhere; a command's flags after the command.
 * Adding a command is a row in its group's table plus a flag table; a new
 * flag is a field of struct ctl_args and a row.
 *
 * Exit statuses: 0 success, 1 ttaid reported an error, 2 bad usage, 3 ttaid
 * could not be reached. docs/cli.md is the user's manual; keep it in step
 * with the help texts below.
 */
#include "ctl_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#ifndef TTAI_VERSION
#define TTAI_VERSION "unknown"
#endif

#define ADDRESS_DEFAULT "127.0.0.1:7280"
#define LIST_LIMIT_DEFAULT 100

/* ---- Flags ------------------------------------------------------------------ */

/* Global flags: accepted before the command and after it. */
static const struct ctl_flag global_flags[] = {
    {"--address", NULL, "HOST:PORT", "ttaid's address (default: $TTAI_ADDRESS or " ADDRESS_DEFAULT ")",
     CTL_FIELD(address), false},
    {"--namespace", "-n", "NS", "namespace (default: $TTAI_NAMESPACE or " NAMESPACE_DEFAULT ")",
     CTL_FIELD(ns), false},
    {"--token", NULL, "TOKEN", "bearer token (default: $TTAI_TOKEN)", CTL_FIELD(token), false},
    {"--output", "-o", "FORMAT", "table (default) or json", CTL_FIELD(output_name), false},
    {"--help", "-h", NULL, "show help", CTL_FIELD(help), false},
    {"--version", NULL, NULL, "print the version", CTL_FIELD(version), false},
    CTL_FLAGS_END,
};

#define F_ID {"--id", "-w", "ID", "workflow id (required)", CTL_FIELD(id), true}
#define F_TYPE {"--type", NULL, "TYPE", "workflow type (required)", CTL_FIELD(type), true}
#define F_RUN_ID                                                                           \
    {"--run-id", "-r", "RUN_ID", "this run instead of the current one", CTL_FIELD(run_id), false}
#define F_INPUT {"--input", "-i", "JSON", "input, as JSON", CTL_FIELD(input), false}
#define F_REASON {"--reason", NULL, "TEXT", "why (recorded in the history)", CTL_FIELD(reason), false}
#define F_START_OPTIONS                                                                    \
    {"--id-conflict", NULL, "POLICY",                                                      \
     "if a run is open: fail (default), use_existing, terminate_existing",  \
     CTL_FIELD(id_conflict), false},                                                       \
    F_START_REST
/* signal-with-start signals an open run, or ends it for a new one. */
#define F_SWS_OPTIONS                                                                      \
    {"--id-conflict", NULL, "POLICY",                                                      \
     "if a run is open: use_existing (default: signal it) or\n"                            \
     "                                 terminate_existing (end it, start a new run)",      \
     CTL_FIELD(id_conflict), false},                                                       \
    F_START_REST
#define F_START_REST                                                                       \
    {"--id-reuse", NULL, "POLICY",                                                         \
     "if a run closed: allow (default), reject, allow_failed_only",          \
     CTL_FIELD(id_reuse), false},                                                          \
    {"--execution-timeout", NULL, "DURATION",                                              \
     "limit of the execution, runs included (30s, 5m, 2h, 1500ms)",      \
     CTL_FIELD(execution_timeout), false},                                                 \
    {"--run-timeout", NULL, "DURATION", "limit for one run", CTL_FIELD(run_timeout), false}

static const struct ctl_flag start_flags[] = {F_TYPE, F_ID, F_INPUT, F_START_OPTIONS, CTL_FLAGS_END};

static const struct ctl_flag signal_flags[] = {
    F_ID,
    {"--name", NULL, "SIGNAL", "signal name (required)", CTL_FIELD(name), true},
    F_INPUT,
    F_RUN_ID,
    CTL_FLAGS_END,
};

static const struct ctl_flag signal_with_start_flags[] = {
    F_ID,
    {"--name", NULL, "SIGNAL", "signal name (required)", CTL_FIELD(name), true},
    F_TYPE,
    {"--input", "-i", "JSON", "the workflow's input, as JSON (used when it starts)",
     CTL_FIELD(input), false},
    {"--signal-input", NULL, "JSON", "the signal's input, as JSON", CTL_FIELD(signal_input), false},
    F_SWS_OPTIONS,
    CTL_FLAGS_END,
};

static const struct ctl_flag query_flags[] = {
    F_ID,
    {"--name", NULL, "QUERY", "query name (required)", CTL_FIELD(name), true},
    F_INPUT,
    F_RUN_ID,
    CTL_FLAGS_END,
};

static const struct ctl_flag describe_flags[] = {F_ID, F_RUN_ID, CTL_FLAGS_END};

static const struct ctl_flag list_flags[] = {
    {"--status", NULL, "STATUS",
     "only with this status: running, completed, failed, canceled,\n"
     "                                 terminated, continued_as_new, timed_out",
     CTL_FIELD(status), false},
    {"--type", NULL, "TYPE", "only workflows of this type", CTL_FIELD(type), false},
    {"--limit", NULL, "N", "at most N workflows (default: 100; 0 for all)", CTL_FIELD(limit),
     false},
    CTL_FLAGS_END,
};

static const struct ctl_flag show_flags[] = {
    F_ID,
    F_RUN_ID,
    {"--follow", "-f", NULL, "keep printing new events as they happen, until the run closes",
     CTL_FIELD(follow), false},
    CTL_FLAGS_END,
};

static const struct ctl_flag result_flags[] = {
    F_ID,
    {"--run-id", "-r", "RUN_ID", "from this run (following continue-as-new) instead of the\n"
     "                                 current one", CTL_FIELD(run_id), false},
    CTL_FLAGS_END,
};
static const struct ctl_flag close_flags[] = {
    F_ID,
    {"--run-id", "-r", "RUN_ID", "only if this run is the open one", CTL_FIELD(run_id), false},
    F_REASON,
    CTL_FLAGS_END,
};

/* ---- Commands ------------------------------------------------------------- */

static const struct ctl_command workflow_commands[] = {
    {"start", "start a workflow and print its ids",
     "Starts workflow --id of type --type with --input and prints its workflow id and\n"
     "run id once the start is durable. With --output json: {\"workflow_id\", \"run_id\"}.",
     start_flags, ctl_wf_start},
    {"execute", "start a workflow, wait for it to close and print its result",
     "Starts a workflow like 'start', then waits until it closes (following\n"
     "continue-as-new) and prints its result like 'result'. Exit status 1 when the\n"
     "workflow does not complete (failed, canceled, terminated, timed out).",
     start_flags, ctl_wf_execute},
    {"signal", "send a signal to a workflow",
     "Sends signal --name with --input to the current run of workflow --id (or to\n"
     "--run-id) and returns once the signal is durable.",
     signal_flags, ctl_wf_signal},
    {"signal-with-start", "signal a workflow, starting it first if it is not running",
     "Sends signal --name with --signal-input to workflow --id; when no run of it is\n"
     "open, starts one of type --type with --input first, atomically. Prints the ids\n"
     "like 'start'.",
     signal_with_start_flags, ctl_wf_signal_with_start},
    {"query", "ask a running workflow a question",
     "Runs query --name with --input against workflow --id (or --run-id) and prints\n"
     "the answer. With --output json only the answer's JSON is printed.",
     query_flags, ctl_wf_query},
    {"describe", "print the state of a workflow",
     "Prints the workflow id, run id, type, status, times, history length, pending\n"
     "activities and timers, and whether the run is blocked by non-determinism.",
     describe_flags, ctl_wf_describe},
    {"list", "list workflows, newest first",
     "Lists the namespace's workflows, newest first, optionally only those with\n"
     "--status or --type. With --output json: an array of workflow objects.",
     list_flags, ctl_wf_list},
    {"show", "print the history of a workflow",
     "Prints the event history of workflow --id (or --run-id): one line per event\n"
     "with its id, time, type and attributes; with --output json an array of events.\n"
     "--follow keeps the stream open and prints each new event as it becomes durable\n"
     "(with --output json: one event per line), until the run closes.",
     show_flags, ctl_wf_show},
    {"result", "wait for a workflow to close and print its result",
     "Waits until workflow --id closes (following continue-as-new) and prints its\n"
     "result; with --output json only the result's JSON. Exit status 1 and the\n"
     "failure on stderr when it does not complete. --run-id starts from that run:\n"
     "a closed one answers at once, or with the run it continued as.",
     result_flags, ctl_wf_result},
    {"cancel", "ask a workflow to cancel itself",
     "Records a cancel request for workflow --id; the workflow decides how to wind\n"
     "down. Returns once the request is durable. With --run-id, only if that run is\n"
     "still the open one.",
     close_flags, ctl_wf_cancel},
    {"terminate", "end a workflow at once",
     "Closes workflow --id as terminated without running any more of its code.\n"
     "Returns once it is closed. With --run-id, only if that run is still the open\n"
     "one.",
     close_flags, ctl_wf_terminate},
};

static const struct ctl_group workflow_group = {
    "workflow", "start, signal, query, inspect and end workflows", workflow_commands,
    sizeof(workflow_commands) / sizeof(workflow_commands[0]),
};

static const struct ctl_group *const groups[] = {&workflow_group, &ctl_schedule_group};
#define GROUP_COUNT (sizeof(groups) / sizeof(groups[0]))

/* ---- Help --------------------------------------------------------------------- */

static void print_flags(const struct ctl_flag *flags)
{
    for (const struct ctl_flag *f = flags; f->name != NULL; f++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s%s%s", f->alias ? f->alias : "", f->alias ? ", " : "",
                 f->name, f->value_name ? " " : "", f->value_name ? f->value_name : "");
        printf("  %-30s %s\n", left, f->help);
    }
}

static void print_footer(void)
{
    printf("\nEnvironment: TTAI_ADDRESS, TTAI_NAMESPACE, TTAI_TOKEN give the defaults of\n"
           "--address, --namespace and --token.\n"
           "\nExit status: 0 success; 1 ttaid reported an error (not found, refused,\n"
           "conflict) or the workflow did not complete; 2 bad usage; 3 ttaid could not\n"
           "be reached.\n");
}

static void print_main_help(void)
{
    printf("usage: " CTL_PROG " [GLOBAL FLAGS] COMMAND SUBCOMMAND [FLAGS]\n\n"
           "Drives ttaid, the ttai workflow daemon, over its HTTP API.\n\nCommands:\n");
    for (size_t i = 0; i < GROUP_COUNT; i++)
        printf("  %-10s %s\n", groups[i]->name, groups[i]->summary);
    printf("\nGlobal flags (before or after the command):\n");
    print_flags(global_flags);
    printf("\nRun '" CTL_PROG " COMMAND --help' for its subcommands ('" CTL_PROG
           " workflow --help').\n");
    print_footer();
}

static void print_group_help(const struct ctl_group *group)
{
    printf("usage: " CTL_PROG " [GLOBAL FLAGS] %s SUBCOMMAND [FLAGS]\n\nSubcommands:\n",
           group->name);
    for (size_t i = 0; i < group->count; i++)
        printf("  %-18s %s\n", group->commands[i].name, group->commands[i].summary);
    printf("\nGlobal flags:\n");
    print_flags(global_flags);
    printf("\nRun '" CTL_PROG " %s SUBCOMMAND --help' for the flags of a subcommand.\n",
           group->name);
    print_footer();
}

static void print_command_help(const struct ctl_group *group, const struct ctl_command *cmd)
{
    printf("usage: " CTL_PROG " [GLOBAL FLAGS] %s %s [FLAGS]\n\n%s\n\nFlags:\n", group->name,
           cmd->name, cmd->description);
    print_flags(cmd->flags);
    printf("\nGlobal flags:\n");
    print_flags(global_flags);
    print_footer();
}

/* ---- Parsing ------------------------------------------------------------------ */

static const struct ctl_flag *flag_find(const struct ctl_flag *flags, const char *word, size_t len)
{
    for (const struct ctl_flag *f = flags; f != NULL && f->name != NULL; f++)
        if ((strlen(f->name) == len && strncmp(word, f->name, len) == 0) ||
            (f->alias != NULL && strlen(f->alias) == len && strncmp(word, f->alias, len) == 0))
            return f;
    return NULL;
}

/* Applies the flag in argv[*i] (a word that starts with '-'), looked up in
 * the command's flags (cmd may be NULL), then the global ones; takes its
 * value from "--flag=value" or from the next word. `where` names the
 * command for messages ("workflow start"), or is NULL. Returns 0 or
 * CTL_EXIT_USAGE. */
static int flag_apply(struct ctl_args *a, const struct ctl_command *cmd, const char *where,
                      int argc, char **argv, int *i)
{
    const char *word = argv[*i];
    const char *eq = strchr(word, '=');
    size_t len = eq ? (size_t)(eq - word) : strlen(word);
    const struct ctl_flag *f = cmd ? flag_find(cmd->flags, word, len) : NULL;
    if (f == NULL)
        f = flag_find(global_flags, word, len);
    if (f == NULL) {
        if (where != NULL)
            ctl_errorf("unknown flag '%.*s' for '%s'; see '" CTL_PROG " %s --help'", (int)len,
                       word, where, where);
        else
            ctl_errorf("unknown flag '%.*s'; see '" CTL_PROG " --help'", (int)len, word);
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

static const struct ctl_group *group_find(const char *name)
{
    for (size_t i = 0; i < GROUP_COUNT; i++)
        if (strcmp(groups[i]->name, name) == 0)
            return groups[i];
    return NULL;
}

static const struct ctl_command *command_find(const struct ctl_group *group, const char *name)
{
    for (size_t i = 0; i < group->count; i++)
        if (strcmp(group->commands[i].name, name) == 0)
            return &group->commands[i];
    return NULL;
}

/* "start, execute, ..." for messages. */
static void command_names(const struct ctl_group *group, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < group->count; i++) {
        strncat(buf, i == 0 ? "" : ", ", size - strlen(buf) - 1);
        strncat(buf, group->commands[i].name, size - strlen(buf) - 1);
    }
}

int ctl_duration_parse(const char *text, int64_t *out_ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    int64_t total = 0;
    const char *p = text;
    if (*p == '\0')
        return -1;
    while (*p != '\0') {
        if (*p < '0' || *p > '9')
            return -1;
        char *end;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        if (errno != 0 || n > INT32_MAX)
            return -1;
        size_t u = 0;
        size_t ulen = 0;
        for (; u < sizeof(units) / sizeof(units[0]); u++) {
            ulen = strlen(units[u].unit);
            if (strncmp(end, units[u].unit, ulen) == 0)
                break;
        }
        if (u == sizeof(units) / sizeof(units[0]))
            return -1;
        total += (int64_t)n * units[u].ms;
        if (total > (int64_t)365 * 86400000) /* a year: surely a typo */
            return -1;
        p = end + ulen;
    }
    if (total <= 0)
        return -1;
    *out_ms = total;
    return 0;
}

/* value must be one of the NULL-terminated `allowed`. */
static int check_choice(const char *flag, const char *value, const char *const *allowed)
{
    if (value == NULL)
        return 0;
    for (const char *const *p = allowed; *p != NULL; p++)
        if (strcmp(value, *p) == 0)
            return 0;
    char list[256] = "";
    for (const char *const *p = allowed; *p != NULL; p++) {
        strncat(list, p == allowed ? "" : ", ", sizeof(list) - strlen(list) - 1);
        strncat(list, *p, sizeof(list) - strlen(list) - 1);
    }
    ctl_errorf("bad value '%s' for '%s' (use one of: %s)", value, flag, list);
    return CTL_EXIT_USAGE;
}

static int check_json(const char *flag, const char *value)
{
    if (value == NULL)
        return 0;
    json_error_t jerr;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &jerr);
    if (v == NULL && strstr(jerr.text, "\\u0000") != NULL) {
        /* ttaid refuses it in requests too (a payload it made may hold
         * one, in answers; docs/api.md). */
        ctl_errorf("flag '%s' holds \\u0000 (a NUL character), which ttaid does not take", flag);
        return CTL_EXIT_USAGE;
    }
    if (v == NULL) {
        /* The hint only where a bare word was meant as a string. */
        bool word = (value[0] >= 'A' && value[0] <= 'Z') || (value[0] >= 'a' && value[0] <= 'z');
        bool literal = strcmp(value, "true") == 0 || strcmp(value, "false") == 0 ||
                       strcmp(value, "null") == 0;
        ctl_errorf("flag '%s' is not valid JSON: %s%s", flag, jerr.text,
                   word && !literal ? " (a string needs quotes: '\"text\"')" : "");
        return CTL_EXIT_USAGE;
    }
    json_decref(v);
    return 0;
}

/* Every flag's value goes to ttaid in a JSON body or a path, both UTF-8:
 * a value that is not (a Latin-1 reason, a stray byte in an id) is refused
 * here, naming its flag. */
static int check_utf8(const struct ctl_args *a, const struct ctl_flag *flags)
{
    for (const struct ctl_flag *f = flags; f->name != NULL; f++) {
        if (f->value_name == NULL)
            continue; /* a switch */
        const char *v = *(const char *const *)((const char *)a + f->offset);
        json_t *text = v != NULL ? json_string(v) : NULL;
        bool ok = v == NULL || text != NULL;
        json_decref(text);
        if (!ok) {
            ctl_errorf("'%s' is not UTF-8 text", f->name);
            return CTL_EXIT_USAGE;
        }
    }
    return 0;
}

/* HOST:PORT, with a port from 1 to 65535 (a name or an address before it;
 * an IPv6 address in brackets). */
static bool address_ok(const char *address)
{
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address || strpbrk(address, "/ ?#@") != NULL)
        return false;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return colon[1] >= '0' && colon[1] <= '9' && *end == '\0' && port >= 1 && port <= 65535;
}

static int check_duration(const char *flag, const char *value, int64_t *out_ms)
{
    if (value == NULL)
        return 0;
    if (ctl_duration_parse(value, out_ms) != 0) {
        ctl_errorf("bad duration '%s' for '%s' (use e.g. 30s, 5m, 2h, 1500ms)", value, flag);
        return CTL_EXIT_USAGE;
    }
    return 0;
}

static int check_limit(struct ctl_args *a)
{
    a->limit_count = LIST_LIMIT_DEFAULT;
    if (a->limit == NULL)
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(a->limit, &end, 10);
    if (errno != 0 || *end != '\0' || end == a->limit || n < 0) {
        ctl_errorf("bad value '%s' for '--limit' (use a number, 0 for all)", a->limit);
        return CTL_EXIT_USAGE;
    }
    a->limit_count = n;
    return 0;
}

/* Fills the defaults from the environment, then checks what the flags
 * cannot check alone. Returns 0 or CTL_EXIT_USAGE. */
static int args_finish(struct ctl_args *a, const struct ctl_command *cmd)
{
    static const char *const conflicts[] = {"fail", "use_existing", "terminate_existing", NULL};
    static const char *const reuses[] = {"allow", "reject", "allow_failed_only", NULL};
    static const char *const statuses[] = {"running",    "completed",        "failed",
                                           "canceled",   "terminated",       "continued_as_new",
                                           "timed_out",  NULL};
    for (const struct ctl_flag *f = cmd->flags; f->name != NULL; f++)
        if (f->required && *(const char **)((char *)a + f->offset) == NULL) {
            ctl_errorf("'%s' needs %s; see '" CTL_PROG " %s --help'", a->command_name, f->name,
                       a->command_name);
            return CTL_EXIT_USAGE;
        }
    if (a->output_name == NULL || strcmp(a->output_name, "table") == 0) {
        a->output = CTL_OUT_TABLE;
    } else if (strcmp(a->output_name, "json") == 0) {
        a->output = CTL_OUT_JSON;
    } else {
        ctl_errorf("unknown output format '%s' (use table or json)", a->output_name);
        return CTL_EXIT_USAGE;
    }
    const char *env;
    if (a->address == NULL)
        a->address = (env = getenv("TTAI_ADDRESS")) && env[0] ? env : ADDRESS_DEFAULT;
    if (a->ns == NULL)
        a->ns = (env = getenv("TTAI_NAMESPACE")) && env[0] ? env : NAMESPACE_DEFAULT;
    if (a->token == NULL && (env = getenv("TTAI_TOKEN")) && env[0])
        a->token = env;
    if (!address_ok(a->address)) {
        ctl_errorf("bad address '%s' (use HOST:PORT with a port from 1 to 65535, e.g. "
                   ADDRESS_DEFAULT ")", a->address);
        return CTL_EXIT_USAGE;
    }
    /* The token goes into a header line: a CR or LF would end it there. */
    for (const char *p = a->token; p != NULL && *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            ctl_errorf("the token holds a control character (a line break?); pass it alone");
            return CTL_EXIT_USAGE;
        }
    if (check_utf8(a, global_flags) || check_utf8(a, cmd->flags))
        return CTL_EXIT_USAGE;
    if (check_json("--input", a->input) || check_json("--signal-input", a->signal_input) ||
        check_choice("--id-conflict", a->id_conflict, conflicts) ||
        check_choice("--id-reuse", a->id_reuse, reuses) ||
        check_choice("--status", a->status, statuses) ||
        check_duration("--execution-timeout", a->execution_timeout, &a->execution_timeout_ms) ||
        check_duration("--run-timeout", a->run_timeout, &a->run_timeout_ms) || check_limit(a))
        return CTL_EXIT_USAGE;
    return 0;
}

/* Walks the command line: global flags anywhere, then the group
 * ("workflow", "schedule"), then the subcommand and its flags. *group_out
 * and *cmd_out are NULL when none was named. */
static int parse(struct ctl_args *a, int argc, char **argv, const struct ctl_group **group_out,
                 const struct ctl_command **cmd_out, char *where, size_t where_size)
{
    const struct ctl_group *group = NULL;
    const struct ctl_command *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (word[0] == '-' && word[1] != '\0') {
            const char *w = cmd ? where : group ? group->name : NULL;
            if (flag_apply(a, cmd, w, argc, argv, &i) != 0)
                return CTL_EXIT_USAGE;
        } else if (group == NULL) {
            group = group_find(word);
            if (group == NULL) {
                ctl_errorf("unknown command '%s'; see '" CTL_PROG " --help'", word);
                return CTL_EXIT_USAGE;
            }
        } else if (cmd == NULL) {
            cmd = command_find(group, word);
            if (cmd == NULL) {
                char known[256];
                command_names(group, known, sizeof(known));
                ctl_errorf("unknown subcommand '%s' for '%s' (known: %s); see '" CTL_PROG
                           " %s --help'", word, group->name, known, group->name);
                return CTL_EXIT_USAGE;
            }
            snprintf(where, where_size, "%s %s", group->name, cmd->name);
        } else {
            const struct ctl_flag *f = &cmd->flags[0];
            if (f->name != NULL && f->value_name != NULL)
                ctl_errorf("unexpected argument '%s' for '%s' (flags take the values, e.g. %s %s)",
                           word, where, f->name, f->value_name);
            else
                ctl_errorf("unexpected argument '%s' for '%s' (flags take the values)", word,
                           where);
            return CTL_EXIT_USAGE;
        }
    }
    *group_out = group;
    *cmd_out = cmd;
    return 0;
}

int main(int argc, char **argv)
{
    struct ctl_args a = {0};
    const struct ctl_group *group = NULL;
    const struct ctl_command *cmd = NULL;
    char where[64] = "";
    if (parse(&a, argc, argv, &group, &cmd, where, sizeof(where)) != 0)
        return CTL_EXIT_USAGE;
    if (a.version) {
        printf(CTL_PROG " %s\n", TTAI_VERSION);
        return CTL_EXIT_OK;
    }
    if (a.help) {
        if (cmd != NULL)
            print_command_help(group, cmd);
        else if (group != NULL)
            print_group_help(group);
        else
            print_main_help();
        return CTL_EXIT_OK;
    }
    if (group == NULL) {
        ctl_errorf("no command given; see '" CTL_PROG " --help'");
        return CTL_EXIT_USAGE;
    }
    if (cmd == NULL) {
        char known[256];
        command_names(group, known, sizeof(known));
        ctl_errorf("'%s' needs a subcommand (known: %s); see '" CTL_PROG " %s --help'",
                   group->name, known, group->name);
        return CTL_EXIT_USAGE;
    }
    a.command_name = where;
    if (args_finish(&a, cmd) != 0)
        return CTL_EXIT_USAGE;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ctl_errorf("cannot initialize libcurl");
        return CTL_EXIT_UNREACHABLE;
    }
    int status = cmd->run(&a);
    curl_global_cleanup();
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* Said plainly: a script must not take a start that happened for
         * one that did not. */
        ctl_errorf("cannot write the output; the command itself %s", status == 0
                       ? "was carried out" : "failed as said above");
        return status != 0 ? status : CTL_EXIT_USAGE;
    }
    return status;
}

void ctl_errorf(const char *fmt, ...)
{
    /* Messages quote ids and ttaid's own messages, which quote ids again:
     * their control characters are shown as '?', as in tables. */
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(text, sizeof(text), "(a message that cannot be formatted)");
    ctl_printable(text);
    fprintf(stderr, CTL_PROG ": %s%s\n", text, n >= (int)sizeof(text) ? "..." : "");
}
