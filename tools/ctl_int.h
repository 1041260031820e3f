/* ctl_int.h: shared only between the files of ttaictl.
 *
 *   ttaictl.c      global flags, the workflow command table, help, parsing of
 *                  every command group, main()
 *   ctl_http.c     requests to ttaid with libcurl: JSON calls, the SSE stream,
 *                  and turning transport and server errors into exit statuses
 *   ctl_workflow.c the `workflow ...` commands that start, signal, query,
 *                  wait for and end workflows
 *   ctl_inspect.c  describe, list and show (show --follow: the SSE stream)
 *   ctl_schedule.c the `schedule ...` group: its command table and commands
 *                  (preview runs offline, the others call ttaid)
 *   ctl_output.c   aligned tables, events as table rows, JSON printing
 *
 * A command is a function that gets the parsed arguments, talks to ttaid
 * through ctl_http_*, writes its report to stdout (messages to stderr) and
 * returns the exit status. A command group (`workflow`, `schedule`) is a
 * table of commands with their flag tables; ttaictl.c parses the command
 * line of every group the same way. docs/cli.md is the user's manual; keep
 * it in step with the help texts.
 */
#ifndef TTAI_CTL_INT_H
#define TTAI_CTL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base.h"

#define CTL_PROG "ttaictl"
#define NAMESPACE_DEFAULT "default" /* --namespace, $TTAI_NAMESPACE unset */

/* Exit statuses, documented in docs/cli.md. */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_SERVER = 1,      /* ttaid answered with an error, or the workflow did not complete */
    CTL_EXIT_USAGE = 2,       /* bad command line */
    CTL_EXIT_UNREACHABLE = 3, /* ttaid could not be reached (refused, timed out, cut off) */
};

enum ctl_output { CTL_OUT_TABLE, CTL_OUT_JSON };

/* Everything the command line can say. Flags fill the fields by offset (see
 * struct ctl_flag in ttaictl.c): a new flag is a field and a row. Strings
 * point into argv or the environment. */
struct ctl_args {
    /* Global flags. */
    const char *address;         /* --address HOST:PORT, or TTAI_ADDRESS */
    const char *ns;              /* --namespace, or TTAI_NAMESPACE */
    const char *token;           /* --token, or TTAI_TOKEN; NULL for none */
    const char *output_name;     /* --output, checked into `output` */
    int output;                  /* enum ctl_output */
    bool help;                   /* -h, --help */
    bool version;                /* --version */
    /* Command flags. */
    const char *type;            /* --type: workflow type (start), filter (list) */
    const char *id;              /* --id */
    const char *run_id;          /* --run-id */
    const char *name;            /* --name: signal or query name */
    const char *input;           /* --input JSON */
    const char *signal_input;    /* --signal-input JSON (signal-with-start) */
    const char *reason;          /* --reason */
    const char *id_conflict;     /* --id-conflict */
    const char *id_reuse;        /* --id-reuse */
    const char *execution_timeout; /* --execution-timeout DURATION */
    const char *run_timeout;     /* --run-timeout DURATION */
    const char *status;          /* --status (list filter) */
    const char *limit;           /* --limit N (list) */
    bool follow;                 /* --follow (show) */
    /* Schedule flags (ctl_schedule.c); --workflow-type fills `type`. */
    const char *schedule_id;     /* --schedule-id */
    const char *cron;            /* --cron EXPR */
    const char *tz;              /* --tz ZONE */
    const char *dst_gap;         /* --dst-gap shift|skip */
    const char *dst_repeat;      /* --dst-repeat once|twice */
    const char *calendar;        /* --calendar XNYS|none */
    const char *overlap;         /* --overlap POLICY */
    const char *catchup_window;  /* --catchup-window SECONDS */
    const char *start_time;      /* --start-time RFC3339 */
    const char *end_time;        /* --end-time RFC3339 */
    const char *max_actions;     /* --max-actions N */
    bool paused;                 /* --paused (create) */
    const char *note;            /* --note TEXT */
    const char *from;            /* --from RFC3339 (preview) */
    const char *count;           /* --count N (preview) */
    /* Checked values, filled by args_finish(). */
    int64_t execution_timeout_ms; /* 0: not given */
    int64_t run_timeout_ms;      /* 0: not given */
    int64_t limit_count;         /* list: at most this many; 0 means all */
    const char *command_name;    /* "workflow start", for messages */
};

/* ---- Commands and flags (parsed by ttaictl.c) ----------------------------- */

/* A flag fills the field at `offset` of struct ctl_args: a const char *
 * when it takes a value, a bool when it is a switch (value_name NULL). */
struct ctl_flag {
    const char *name;            /* "--namespace" */
    const char *alias;           /* "-n", or NULL */
    const char *value_name;      /* "NS"; NULL for a switch */
    const char *help;
    size_t offset;
    bool required;               /* the command cannot run without it */
};

#define CTL_FIELD(field) offsetof(struct ctl_args, field)
#define CTL_FLAGS_END {NULL, NULL, NULL, NULL, 0, false}

struct ctl_command {
    const char *name;
    const char *summary;         /* one line, for the group's command list */
    const char *description;     /* for `GROUP COMMAND --help` */
    const struct ctl_flag *flags; /* ended by CTL_FLAGS_END */
    int (*run)(const struct ctl_args *a);
};

/* A command group: `ttaictl [GLOBAL FLAGS] NAME COMMAND [FLAGS]`. */
struct ctl_group {
    const char *name;            /* "schedule" */
    const char *summary;         /* one line, for the main help */
    const struct ctl_command *commands;
    size_t count;
};

extern const struct ctl_group ctl_schedule_group; /* ctl_schedule.c */

/* ---- ttaictl.c --------------------------------------------------------- */

/* Prints "ttaictl: <message>" on stderr. */
void ctl_errorf(const char *fmt, ...) TTAI_PRINTF(1, 2);

/* Parses a duration ("30s", "5m", "2h", "1500ms", "1h30m", "1d") into
 * *out_ms. Returns 0, or -1 when text is not a positive duration. */
int ctl_duration_parse(const char *text, int64_t *out_ms);

/* ---- ctl_http.c -------------------------------------------------------- */

/* The answer to one request. `body` is the parsed JSON (NULL when the body
 * was empty or not JSON); release it with ctl_reply_release(). */
struct ctl_reply {
    long status;                 /* HTTP status */
    json_t *body;                /* owned */
};

void ctl_reply_release(struct ctl_reply *reply);

/* Sends METHOD path (already escaped, with its query string) with `body`
 * (may be NULL; not stolen) and waits at most timeout_ms for the answer.
 *
 * Returns CTL_EXIT_OK with *reply filled when ttaid answered with a 2xx
 * status; CTL_EXIT_SERVER when it answered with an error (printed on stderr
 * as "CODE: message", with a hint where one helps; *reply is released);
 * CTL_EXIT_UNREACHABLE when it could not be reached (printed, with what to
 * do). */
int ctl_http_call(const struct ctl_args *a, const char *method, const char *path, json_t *body,
                  long timeout_ms, struct ctl_reply *reply);

/* Called with each `data:` of an SSE event named `event`; returns 0 to go
 * on, anything else to stop the stream. */
typedef int (*ctl_sse_event_fn)(const char *event, const char *data, size_t data_len, void *arg);

/* GETs path as a Server-Sent Events stream and calls event_cb with each
 * event as it arrives, until ttaid ends the stream. No total timeout: a
 * stream lasts as long as the run. Statuses as for ctl_http_call(). */
int ctl_http_stream(const struct ctl_args *a, const char *path, ctl_sse_event_fn event_cb,
                    void *arg);

/* The namespace prefix "/api/v1/namespaces/NS" with NS escaped, then the
 * rest: each "%s" in fmt takes one string argument, which is URL-escaped
 * (a path segment or a query value; "." and ".." as %2E). Returns a
 * ttai_malloc'd string the caller frees, or NULL when out of memory or
 * over the path limit (ctl_request_unbuildable says so). */
char *ctl_path(const struct ctl_args *a, const char *fmt, ...);

/* Appends "?key=value" (or "&key=value") to *path, value URL-escaped;
 * *path is reallocated. A NULL value appends nothing. Returns 0, or -1 when
 * out of memory (*path is then freed and NULL). */
int ctl_path_query(char **path, const char *key, const char *value);

/* Prints why a request could not be built (a path over the limit, or out
 * of memory) and returns CTL_EXIT_USAGE. */
int ctl_request_unbuildable(void);

/* ---- ctl_output.c ------------------------------------------------------ */

/* A table whose columns are aligned to their widest cell. Cells are copied;
 * rows past CTL_TABLE_ROWS_MAX are refused (and reported by _print). */
#define CTL_TABLE_COLS_MAX 10
#define CTL_TABLE_ROWS_MAX 100000

struct ctl_table {
    int cols;
    size_t rows, cap;
    char **cells;                /* rows * cols, row-major, owned */
    bool full;                   /* a row was refused */
};

void ctl_table_init(struct ctl_table *t, int cols);
/* Adds a row of t->cols cells (NULL prints as "-"). Returns 0 or -1 when
 * out of memory or full. */
int ctl_table_add(struct ctl_table *t, const char *const *cells);
void ctl_table_print(const struct ctl_table *t);
void ctl_table_release(struct ctl_table *t);

/* Prints JSON value v (borrowed) on stdout, indented, with a newline.
 * Returns 0 or -1 when it cannot be written. */
int ctl_json_print(const json_t *v);
/* The same on one line (JSON lines for streams), flushed at once. */
int ctl_json_print_line(const json_t *v);

/* A JSON value as short text for a table cell: strings as they are, null as
 * "-", others compact JSON. Returns a ttai_malloc'd string or NULL. */
char *ctl_json_cell(const json_t *v);
/* Replaces control characters (below 0x20, and 0x7f) in s with '?', so
 * that an id or a message cannot drive the terminal. */
void ctl_printable(char *s);
/* The command that shows (follow: follows) a's workflow, ready to paste:
 * its namespace when not the default, the id quoted for a shell. */
const char *ctl_show_command(const struct ctl_args *a, bool follow, char *buf, size_t size);

/* Prints an array of objects as a table: one row per object, the cells
 * its keys[0..cols) as ctl_json_cell gives them, under header. */
void ctl_objects_table_print(const json_t *objects, const char *const *keys,
                             const char *const *header, int cols);

/* One history event as a table row (ID, TIME, TYPE, DETAILS), fixed widths
 * so that streamed rows line up with the header. */
void ctl_event_header_print(void);
void ctl_event_row_print(const json_t *event);

/* ---- ctl_workflow.c and ctl_inspect.c ----------------------------------------------------- */

int ctl_wf_start(const struct ctl_args *a);
int ctl_wf_execute(const struct ctl_args *a);
int ctl_wf_signal(const struct ctl_args *a);
int ctl_wf_signal_with_start(const struct ctl_args *a);
int ctl_wf_query(const struct ctl_args *a);
int ctl_wf_describe(const struct ctl_args *a);
int ctl_wf_list(const struct ctl_args *a);
int ctl_wf_show(const struct ctl_args *a);
int ctl_wf_result(const struct ctl_args *a);
int ctl_wf_cancel(const struct ctl_args *a);
int ctl_wf_terminate(const struct ctl_args *a);

#endif /* TTAI_CTL_INT_H */
