/* history_int.h: shared only between the files of ttai-history.
 *
 *   ttai-history.c    flags, the command table, help, output helpers
 *   history_show.c    `show`, and an event (payloads included) as JSON
 *   history_list.c    `list` and `stats`
 *   history_verify.c  `verify`
 *   history_replay.c  `replay` (links the workflows built into ttaid)
 *
 * A command is a function that gets the opened (read-only) store and the
 * parsed arguments, writes its report to stdout and returns the exit status.
 */
#ifndef TTAI_HISTORY_INT_H
#define TTAI_HISTORY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "store.h"

/* Exit statuses, documented in docs/ttai-history.md. */
enum {
    HIST_EXIT_OK = 0,
    HIST_EXIT_PROBLEMS = 1, /* verify found problems; asked-for data missing or corrupt */
    HIST_EXIT_USAGE = 2,    /* bad command line, or the store cannot be opened */
};

enum hist_output { HIST_OUT_TABLE, HIST_OUT_JSON };

#define HIST_ARGS_MAX 4 /* positional arguments of any command */

/* Everything the command line can say. Flags fill the fields by offset (see
 * struct hist_flag in ttai-history.c): a new flag is a field and a row. */
struct hist_args {
    const char *data_dir;        /* --data */
    const char *output_name;     /* --output, checked into `output` */
    int output;                  /* enum hist_output */
    const char *ns;              /* --namespace */
    const char *run;             /* --run */
    const char *until;           /* --until (replay) */
    const char *query;           /* --query (replay) */
    const char *input;           /* --input (replay) */
    bool all;                    /* --all (replay) */
    bool help;                   /* -h, --help */
    const char *args[HIST_ARGS_MAX];
    int arg_count;
};

struct hist_ctx {
    struct store *store;
    const struct hist_args *args;
};

int hist_cmd_list(struct hist_ctx *ctx);
int hist_cmd_show(struct hist_ctx *ctx);
int hist_cmd_stats(struct hist_ctx *ctx);
int hist_cmd_verify(struct hist_ctx *ctx);
int hist_cmd_replay(struct hist_ctx *ctx);

/* ---- Helpers (ttai-history.c) ------------------------------------------- */

/* Prints "ttai-history: <message>" on stderr. */
void hist_errorf(const char *fmt, ...) TTAI_PRINTF(1, 2);

/* RFC 3339 UTC text of ms into buf (at least 32 bytes); "-" for 0, which
 * the store uses for "not yet" (close time of an open run). */
#define HIST_TIME_TEXT 32
const char *hist_time_text(int64_t ms, char *buf);

/* JSON values; each returns a new reference (NULL only when out of memory). */
json_t *hist_json_time(int64_t ms);             /* null for 0 */
json_t *hist_json_run_id(const struct ttai_run_id *id); /* null for zero */
json_t *hist_json_hex(struct store_bytes b);
/* A string from borrowed bytes; hex when they are not valid UTF-8. */
json_t *hist_json_bytes_str(struct store_bytes b);

/* Writes v (stealing the reference) to stdout, indented, and a newline. */
int hist_json_print(json_t *v);

/* A JSON array written one element per line as they come, so that a long
 * listing never has to sit in memory whole. */
struct hist_json_stream {
    size_t count;
};
void hist_json_stream_begin(struct hist_json_stream *s);
/* Writes v (stealing the reference). */
void hist_json_stream_item(struct hist_json_stream *s, json_t *v);
void hist_json_stream_end(struct hist_json_stream *s);

/* Appends text to a fixed buffer, cutting it (with "...") when it is full.
 * Control characters are written as \xNN, so that a stored name cannot
 * drive the terminal. */
struct hist_text {
    char *buf;
    size_t cap;                  /* bytes of buf, the NUL included */
    size_t len;
    bool cut;
};
void hist_text_init(struct hist_text *t, char *buf, size_t cap);
void hist_text_raw(struct hist_text *t, const char *s, size_t len);
void hist_text_cstr(struct hist_text *t, const char *s);

/* Iterators step past an entry that cannot be decoded, so a walk goes on
 * after an error; but an LMDB failure may repeat at every step, so a walk
 * gives up after this many. Call after each error: false means stop. */
#define HIST_ERRORS_MAX 100
static inline bool hist_walk_go_on(unsigned *errors)
{
    return ++*errors < HIST_ERRORS_MAX;
}

/* store_hist_iter_next() does not say which event it could not decode:
 * this finds it, as the first event id from `from` (one past the last
 * event read) that is present. 0 when there is none up to the last. */
uint64_t hist_unreadable_id(struct store_read *rd, const struct store_run *run, uint64_t from);

/* ---- Events as JSON (history_show.c) -------------------------------------- */

/* The event as a JSON object: event_id, time, type and every attribute the
 * event sets (payloads decoded from msgpack when they are msgpack). NULL
 * when out of memory. Used by show and by a later replay. */
json_t *hist_event_json(const struct store_event *ev);

/* Renders a JSON value as one line of text, cut at width_max bytes. */
void hist_json_text(const json_t *v, struct hist_text *t, size_t width_max);

#endif /* TTAI_HISTORY_INT_H */
