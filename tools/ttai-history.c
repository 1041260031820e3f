/* ttai-history: offline inspection of a ttai data directory.
 *
 *   ttai-history [--data DIR] [--output table|json] COMMAND [ARGS] [FLAGS]
 *
 * It opens the store read-only (store_opts.read_only): no writer thread, no
 * directory lock, and LMDB readers never block the writer, so it is safe to
 * run while ttaid writes. Each command reads one snapshot.
 *
 * This file holds the command line: the flag and command tables, help, and
 * the output helpers the commands share. Adding a command is a row in `commands` plus its flags in a table of its own; a new flag
 * is a field of struct hist_args and a row. docs/ttai-history.md is the
 * user's manual; keep it in step with the help texts below.
 */
#include "history_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PROG "ttai-history"
#define DATA_DIR_DEFAULT "./ttai-data"
#define NAMESPACE_DEFAULT "default"

/* ---- Flags ------------------------------------------------------------------ */

/* A flag fills the field at `offset` of struct hist_args: a const char *
 * when it takes a value, a bool when it is a switch (value_name NULL). */
struct hist_flag {
    const char *name;            /* "--namespace" */
    const char *alias;           /* "-h", or NULL */
    const char *value_name;      /* "NS"; NULL for a switch */
    const char *help;
    size_t offset;
};

#define ARG_FIELD(field) offsetof(struct hist_args, field)

/* Global flags: accepted before the command and after it. */
static const struct hist_flag global_flags[] = {
    {"--data", NULL, "DIR", "data directory (default: " DATA_DIR_DEFAULT ")", ARG_FIELD(data_dir)},
    {"--output", NULL, "FORMAT", "table (default) or json", ARG_FIELD(output_name)},
    {"--help", "-h", NULL, "show this help", ARG_FIELD(help)},
    {NULL, NULL, NULL, NULL, 0},
};

static const struct hist_flag show_flags[] = {
    {"--namespace", NULL, "NS", "namespace of the workflow (default: " NAMESPACE_DEFAULT ")",
     ARG_FIELD(ns)},
    {"--run", NULL, "RUN_ID", "this run instead of the current one", ARG_FIELD(run)},
    {NULL, NULL, NULL, NULL, 0},
};

static const struct hist_flag replay_flags[] = {
    {"--namespace", NULL, "NS", "namespace of the workflow (default: " NAMESPACE_DEFAULT ")",
     ARG_FIELD(ns)},
    {"--run", NULL, "RUN_ID", "this run instead of the current one", ARG_FIELD(run)},
    {"--until", NULL, "EVENT_ID", "replay up to this event (time travel)", ARG_FIELD(until)},
    {"--query", NULL, "NAME", "answer this query as of the last replayed event", ARG_FIELD(query)},
    {"--input", NULL, "JSON", "the query's arguments", ARG_FIELD(input)},
    {"--all", NULL, NULL, "replay every stored run", ARG_FIELD(all)},
    {NULL, NULL, NULL, NULL, 0},
};

static const struct hist_flag no_flags[] = {
    {NULL, NULL, NULL, NULL, 0},
};

/* ---- Commands ------------------------------------------------------------- */

struct hist_command {
    const char *name;
    const char *synopsis;        /* positional arguments, for usage lines */
    const char *summary;         /* one line, for the command list */
    const char *description;     /* for `COMMAND --help` */
    const struct hist_flag *flags;
    int args_min, args_max;      /* positional arguments */
    int (*run)(struct hist_ctx *ctx);
};

static const struct hist_command commands[] = {
    {"list", "", "list every run of every workflow",
     "Lists every run in the store: namespace, workflow id, run id, type, status,\n"
     "number of events, start and close time (RFC 3339, UTC). Runs come in run id\n"
     "order. --output json prints an array of objects.",
     no_flags, 0, 0, hist_cmd_list},
    {"show", "WORKFLOW_ID", "print the history of a workflow run",
     "Prints the history of the current run of WORKFLOW_ID (or of --run): one line\n"
     "per event with its id, time, type and attributes. Payloads that are msgpack\n"
     "are shown as JSON, others as hex. --output json prints an array of events.",
     show_flags, 1, 1, hist_cmd_show},
    {"stats", "", "sizes of the store, entries per table, events per type",
     "Prints the store's map, used and file sizes, the entries and pages of each\n"
     "table, the runs per status and the events per type (read from every history).",
     no_flags, 0, 0, hist_cmd_stats},
    {"verify", "", "check the integrity of every history",
     "Checks every run, history, timer, activity record and execution record and\n"
     "prints one line per problem, then a summary. Exit status 0 when all is well,\n"
     "1 when problems were found. The checks are listed in docs/ttai-history.md.",
     no_flags, 0, 0, hist_cmd_verify},
    {"replay", "WORKFLOW_ID | --all", "re-run the built-in workflow code over stored histories",
     "Replays the current run of WORKFLOW_ID (or --run) with the workflow code built\n"
     "into this program, read-only: reports OK, or the non-determinism with the event\n"
     "id and the expected and actual command (exit status 1). --until EVENT_ID stops\n"
     "there, and --query NAME [--input JSON] answers a query as of that point (the\n"
     "workflow's state at any past event). --all replays every stored run: run it\n"
     "before deploying changed workflow code.",
     replay_flags, 0, 1, hist_cmd_replay},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

/* ---- Help --------------------------------------------------------------------- */

static void print_flags(const struct hist_flag *flags)
{
    for (const struct hist_flag *f = flags; f->name != NULL; f++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s%s%s", f->alias ? f->alias : "", f->alias ? ", " : "",
                 f->name, f->value_name ? " " : "", f->value_name ? f->value_name : "");
        printf("  %-22s %s\n", left, f->help);
    }
}

static void print_exit_codes(void)
{
    printf("\nExit status: 0 success; 1 problems found, or the data asked for is missing\n"
           "or corrupt; 2 bad usage, or the data directory cannot be opened.\n");
}

static void print_main_help(void)
{
    printf("usage: " PROG " [--data DIR] [--output table|json] COMMAND [ARGS]\n\n"
           "Inspects a ttai data directory offline. The store is opened read-only,\n"
           "which is safe while ttaid is writing to it.\n\nCommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    printf("\nGlobal flags (before or after the command):\n");
    print_flags(global_flags);
    printf("\nRun '" PROG " COMMAND --help' for the flags of a command.\n");
    print_exit_codes();
}

static void print_command_help(const struct hist_command *cmd)
{
    printf("usage: " PROG " [GLOBAL FLAGS] %s%s%s%s\n\n%s\n", cmd->name,
           cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->flags[0].name ? " [FLAGS]" : "",
           cmd->description);
    if (cmd->flags[0].name != NULL) {
        printf("\nFlags:\n");
        print_flags(cmd->flags);
    }
    printf("\nGlobal flags:\n");
    print_flags(global_flags);
    print_exit_codes();
}

/* ---- Parsing ------------------------------------------------------------------ */

static const struct hist_flag *flag_find(const struct hist_flag *flags, const char *word,
                                         size_t len)
{
    for (const struct hist_flag *f = flags; f != NULL && f->name != NULL; f++)
        if ((strlen(f->name) == len && strncmp(word, f->name, len) == 0) ||
            (f->alias != NULL && strlen(f->alias) == len && strncmp(word, f->alias, len) == 0))
            return f;
    return NULL;
}

/* Applies the flag in argv[*i] (a word that starts with '-'), looked up in
 * the command's flags, then the global ones; takes its value from
 * "--flag=value" or from the next word. Returns 0 or HIST_EXIT_USAGE. */
static int flag_apply(struct hist_args *a, const struct hist_command *cmd, int argc,
                      char **argv, int *i)
{
    const char *word = argv[*i];
    const char *eq = strchr(word, '=');
    size_t len = eq ? (size_t)(eq - word) : strlen(word);
    const struct hist_flag *f = cmd ? flag_find(cmd->flags, word, len) : NULL;
    if (f == NULL)
        f = flag_find(global_flags, word, len);
    if (f == NULL) {
        if (cmd != NULL)
            hist_errorf("unknown flag '%.*s' for '%s'", (int)len, word, cmd->name);
        else
            hist_errorf("unknown flag '%.*s'", (int)len, word);
        return HIST_EXIT_USAGE;
    }
    char *field = (char *)a + f->offset;
    if (f->value_name == NULL) {
        if (eq != NULL) {
            hist_errorf("flag '%s' takes no value", f->name);
            return HIST_EXIT_USAGE;
        }
        *(bool *)field = true;
        return 0;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (value == NULL && *i + 1 < argc)
        value = argv[++*i];
    if (value == NULL || value[0] == '\0') {
        hist_errorf("flag '%s' needs a value (%s)", f->name, f->value_name);
        return HIST_EXIT_USAGE;
    }
    *(const char **)field = value;
    return 0;
}

static const struct hist_command *command_find(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Parses the words after the command. Returns 0 or HIST_EXIT_USAGE. */
static int parse_command_args(struct hist_args *a, const struct hist_command *cmd, int argc,
                              char **argv, int i)
{
    bool flags_done = false;
    for (; i < argc; i++) {
        const char *word = argv[i];
        if (!flags_done && strcmp(word, "--") == 0) {
            flags_done = true;
            continue;
        }
        if (!flags_done && word[0] == '-' && word[1] != '\0') {
            if (flag_apply(a, cmd, argc, argv, &i) != 0)
                return HIST_EXIT_USAGE;
            continue;
        }
        if (a->arg_count >= cmd->args_max) {
            hist_errorf("unexpected argument '%s' for '%s'", word, cmd->name);
            return HIST_EXIT_USAGE;
        }
        a->args[a->arg_count++] = word;
    }
    return 0;
}

/* Checks what the flags cannot check alone, and fills the defaults. */
static int args_finish(struct hist_args *a, const struct hist_command *cmd)
{
    if (a->arg_count < cmd->args_min) {
        hist_errorf("'%s' needs %s; see '" PROG " %s --help'", cmd->name, cmd->synopsis,
                    cmd->name);
        return HIST_EXIT_USAGE;
    }
    if (a->output_name == NULL || strcmp(a->output_name, "table") == 0) {
        a->output = HIST_OUT_TABLE;
    } else if (strcmp(a->output_name, "json") == 0) {
        a->output = HIST_OUT_JSON;
    } else {
        hist_errorf("unknown output format '%s' (use table or json)", a->output_name);
        return HIST_EXIT_USAGE;
    }
    if (a->data_dir == NULL)
        a->data_dir = DATA_DIR_DEFAULT;
    if (a->ns == NULL)
        a->ns = NAMESPACE_DEFAULT;
    return 0;
}

/* Opens the store read-only, runs the command, closes the store. */
static int command_run(const struct hist_command *cmd, const struct hist_args *a)
{
    struct store_opts opts = {.dir = a->data_dir, .read_only = true};
    struct store *store;
    struct ttai_err err = {0};
    if (store_open(&store, &opts, &err) != 0) {
        hist_errorf("cannot open store: %s", err.msg);
        return HIST_EXIT_USAGE;
    }
    struct hist_ctx ctx = {.store = store, .args = a};
    int status = cmd->run(&ctx);
    store_close(store);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        hist_errorf("cannot write the output");
        return HIST_EXIT_USAGE;
    }
    return status;
}

int main(int argc, char **argv)
{
    struct hist_args a = {0};
    int i = 1;
    /* Global flags up to the command. */
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++)
        if (flag_apply(&a, NULL, argc, argv, &i) != 0)
            return HIST_EXIT_USAGE;
    if (i >= argc) {
        if (a.help) {
            print_main_help();
            return HIST_EXIT_OK;
        }
        hist_errorf("no command given; see '" PROG " --help'");
        return HIST_EXIT_USAGE;
    }
    const struct hist_command *cmd = command_find(argv[i]);
    if (cmd == NULL) {
        hist_errorf("unknown command '%s'; see '" PROG " --help'", argv[i]);
        return HIST_EXIT_USAGE;
    }
    if (parse_command_args(&a, cmd, argc, argv, i + 1) != 0)
        return HIST_EXIT_USAGE;
    if (a.help) {
        print_command_help(cmd);
        return HIST_EXIT_OK;
    }
    if (args_finish(&a, cmd) != 0)
        return HIST_EXIT_USAGE;
    return command_run(cmd, &a);
}

/* ---- Output helpers ---------------------------------------------------------- */

void hist_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *hist_time_text(int64_t ms, char *buf)
{
    if (ms == 0)
        return strcpy(buf, "-");
    return ttai_time_format(ms, buf, HIST_TIME_TEXT);
}

json_t *hist_json_time(int64_t ms)
{
    char buf[HIST_TIME_TEXT];
    return ms == 0 ? json_null() : json_string(ttai_time_format(ms, buf, sizeof(buf)));
}

json_t *hist_json_run_id(const struct ttai_run_id *id)
{
    char buf[TTAI_RUN_ID_TEXT];
    return ttai_run_id_is_zero(id) ? json_null() : json_string(ttai_run_id_format(id, buf));
}

json_t *hist_json_hex(struct store_bytes b)
{
    static const char digits[] = "0123456789abcdef";
    char *text = ttai_malloc(2 * b.len + 1);
    if (text == NULL)
        return NULL;
    for (size_t i = 0; i < b.len; i++) {
        text[2 * i] = digits[b.data[i] >> 4];
        text[2 * i + 1] = digits[b.data[i] & 15];
    }
    json_t *v = json_stringn(text, 2 * b.len);
    ttai_free(text);
    return v;
}

json_t *hist_json_bytes_str(struct store_bytes b)
{
    json_t *v = json_stringn((const char *)b.data, b.len); /* NULL unless UTF-8 */
    return v != NULL ? v : hist_json_hex(b);
}

int hist_json_print(json_t *v)
{
    int rc = v == NULL ? -1 : json_dumpf(v, stdout, JSON_INDENT(2));
    json_decref(v);
    if (rc != 0) {
        hist_errorf("cannot write JSON output");
        return HIST_EXIT_USAGE;
    }
    fputc('\n', stdout);
    return HIST_EXIT_OK;
}

void hist_json_stream_begin(struct hist_json_stream *s)
{
    s->count = 0;
    fputc('[', stdout);
}

void hist_json_stream_item(struct hist_json_stream *s, json_t *v)
{
    fputs(s->count++ ? ",\n  " : "\n  ", stdout);
    /* Flags 0: one line, with a space after ':' and ','. Dumped to memory
     * first, so that a failure cannot leave half an element behind. */
    char *text = v != NULL ? json_dumps(v, 0) : NULL;
    fputs(text != NULL ? text : "null", stdout); /* out of memory: keep the document valid */
    free(text); /* jansson's allocation */
    json_decref(v);
}

void hist_json_stream_end(struct hist_json_stream *s)
{
    fputs(s->count ? "\n]\n" : "]\n", stdout);
}

uint64_t hist_unreadable_id(struct store_read *rd, const struct store_run *run, uint64_t from)
{
    for (uint64_t id = from; id <= run->last_event_id; id++) {
        struct store_event ev;
        if (store_event_get(rd, &run->run_id, id, &ev, NULL) != TTAI_ENOTFOUND)
            return id;
    }
    return 0;
}

void hist_text_init(struct hist_text *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0;
    t->cut = false;
    buf[0] = '\0';
}

/* Room for the widest escape (\xNN) and the "..." that marks a cut. */
#define TEXT_RESERVE 8

/* Control characters are escaped; bytes >= 0x80 pass, so UTF-8 names read
 * as they were written. */
static bool text_plain(unsigned char c)
{
    return c >= 0x20 && c != 0x7f;
}

void hist_text_raw(struct hist_text *t, const char *s, size_t len)
{
    for (size_t i = 0; i < len && !t->cut; i++) {
        unsigned char c = (unsigned char)s[i];
        if (t->len + TEXT_RESERVE >= t->cap) {
            memcpy(t->buf + t->len, "...", 4);
            t->len += 3;
            t->cut = true;
            return;
        }
        if (text_plain(c))
            t->buf[t->len++] = (char)c;
        else
            t->len += (size_t)snprintf(t->buf + t->len, t->cap - t->len, "\\x%02x", c);
        t->buf[t->len] = '\0';
    }
}

void hist_text_cstr(struct hist_text *t, const char *s)
{
    hist_text_raw(t, s, strlen(s));
}
