/* history_list.c: `ttai-history list` and `ttai-history stats`.
 *
 * Both walk the run table in one read. list makes two passes over it (one
 * to size the columns, one to print) rather than holding every run in
 * memory: a store may hold millions of runs.
 */
#include "history_int.h"

#include <inttypes.h>
#include <string.h>

/* A run record's text field, safe to print (see hist_text). */
#define FIELD_TEXT 1100

static const char *clean(const char *s, char *buf)
{
    struct hist_text t;
    hist_text_init(&t, buf, FIELD_TEXT);
    hist_text_cstr(&t, s);
    return buf;
}

static json_t *json_cstr(const char *s)
{
    return hist_json_bytes_str((struct store_bytes){(const uint8_t *)s, strlen(s)});
}

/* Calls row_cb for every run; reports runs that cannot be read on stderr
 * when `report` is set. Returns HIST_EXIT_OK, or HIST_EXIT_PROBLEMS when a
 * run could not be read. */
static int runs_walk(struct store_read *rd, bool report,
                     void (*row_cb)(const struct store_run *run, void *arg), void *arg)
{
    struct store_iter it;
    struct ttai_err err = {0};
    unsigned errors = 0;
    int rc = store_run_iter_init(&it, rd, &err);
    while (rc == 0) {
        struct store_run run;
        int n = store_run_iter_next(&it, &run, &err);
        if (n == 0)
            break;
        if (n > 0) {
            row_cb(&run, arg);
            continue;
        }
        if (report)
            hist_errorf("%s", err.msg);
        if (!hist_walk_go_on(&errors))
            break;
    }
    if (rc != 0 && report)
        hist_errorf("%s", err.msg);
    store_iter_release(&it);
    return rc != 0 || errors != 0 ? HIST_EXIT_PROBLEMS : HIST_EXIT_OK;
}

/* ---- list ------------------------------------------------------------------------ */

struct list_widths {
    int ns, workflow_id, type, status, events;
};

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

static void list_measure(const struct store_run *run, void *arg)
{
    struct list_widths *w = arg;
    char buf[FIELD_TEXT], num[24];
    w->ns = max_int(w->ns, (int)strlen(clean(run->ns, buf)));
    w->workflow_id = max_int(w->workflow_id, (int)strlen(clean(run->workflow_id, buf)));
    w->type = max_int(w->type, (int)strlen(clean(run->type, buf)));
    w->status = max_int(w->status, (int)strlen(store_run_status_name(run->status)));
    w->events = max_int(w->events, snprintf(num, sizeof(num), "%" PRIu64, run->last_event_id));
}

static void list_print(const struct store_run *run, void *arg)
{
    const struct list_widths *w = arg;
    char ns[FIELD_TEXT], wf[FIELD_TEXT], type[FIELD_TEXT], id[TTAI_RUN_ID_TEXT];
    char start[HIST_TIME_TEXT], close[HIST_TIME_TEXT];
    printf("%-*s  %-*s  %s  %-*s  %-*s  %*" PRIu64 "  %-24s  %s\n", w->ns, clean(run->ns, ns),
           w->workflow_id, clean(run->workflow_id, wf), ttai_run_id_format(&run->run_id, id),
           w->type, clean(run->type, type), w->status, store_run_status_name(run->status),
           w->events, run->last_event_id, hist_time_text(run->start_ms, start),
           hist_time_text(run->close_ms, close));
}

static json_t *run_json(const struct store_run *run)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:s, s:I, s:o, s:o, s:o, s:o}",
                     "namespace", json_cstr(run->ns), "workflow_id", json_cstr(run->workflow_id),
                     "run_id", hist_json_run_id(&run->run_id), "type", json_cstr(run->type),
                     "status", store_run_status_name(run->status),
                     "events", (json_int_t)run->last_event_id,
                     "start_time", hist_json_time(run->start_ms),
                     "close_time", hist_json_time(run->close_ms),
                     "prev_run", hist_json_run_id(&run->prev_run),
                     "next_run", hist_json_run_id(&run->next_run));
}

static void list_json_row(const struct store_run *run, void *arg)
{
    hist_json_stream_item(arg, run_json(run));
}

int hist_cmd_list(struct hist_ctx *ctx)
{
    struct store_read *rd;
    struct ttai_err err = {0};
    if (store_read_begin(ctx->store, &rd, &err) != 0) {
        hist_errorf("%s", err.msg);
        return HIST_EXIT_USAGE;
    }
    int status;
    if (ctx->args->output == HIST_OUT_JSON) {
        struct hist_json_stream stream;
        hist_json_stream_begin(&stream);
        status = runs_walk(rd, true, list_json_row, &stream);
        hist_json_stream_end(&stream);
    } else {
        struct list_widths w = {(int)strlen("NAMESPACE"), (int)strlen("WORKFLOW ID"),
                                (int)strlen("TYPE"), (int)strlen("STATUS"), (int)strlen("EVENTS")};
        runs_walk(rd, false, list_measure, &w);
        printf("%-*s  %-*s  %-36s  %-*s  %-*s  %*s  %-24s  %s\n", w.ns, "NAMESPACE",
               w.workflow_id, "WORKFLOW ID", "RUN ID", w.type, "TYPE", w.status, "STATUS",
               w.events, "EVENTS", "START", "CLOSE");
        status = runs_walk(rd, true, list_print, &w);
    }
    store_read_end(rd);
    return status;
}

/* ---- stats ------------------------------------------------------------------------ */

struct stats {
    struct store_stats store;
    uint32_t schema_version;
    struct ttai_run_id engine_id;
    uint64_t runs;
    uint64_t runs_by_status[STORE_RUN_STATUS_MAX + 1];
    uint64_t events;               /* history entries: by type, plus undecodable */
    uint64_t events_by_type[256];  /* the codec accepts types 1..255 */
    uint64_t undecodable;          /* entries that cannot be read */
    struct store_read *rd;
};

/* Counts one run and the events of its history. */
static void stats_count_run(const struct store_run *run, void *arg)
{
    struct stats *s = arg;
    s->runs++;
    s->runs_by_status[run->status]++;
    struct store_iter it;
    struct ttai_err err = {0};
    unsigned errors = 0;
    int rc = store_hist_iter_init(&it, s->rd, &run->run_id, 1, &err);
    while (rc == 0) {
        struct store_event ev;
        int n = store_hist_iter_next(&it, &ev, &err);
        if (n == 0)
            break;
        s->events++; /* every history entry, readable or not */
        if (n > 0) {
            s->events_by_type[ev.type & 0xff]++;
            continue;
        }
        s->undecodable++;
        if (!hist_walk_go_on(&errors))
            break;
    }
    store_iter_release(&it);
}

/* "WorkflowStarted", or "unknown(N)" for a type this build does not know. */
static const char *event_type_text(int type, char buf[32])
{
    const char *name = store_event_type_name(type);
    if (name == NULL)
        snprintf(buf, 32, "unknown(%d)", type);
    else
        snprintf(buf, 32, "%s", name);
    return buf;
}

static json_t *stats_json(const struct hist_ctx *ctx, const struct stats *s)
{
    char id[TTAI_RUN_ID_TEXT];
    json_t *tables = json_object(), *by_status = json_object(), *by_type = json_object();
    for (int t = 0; t < STORE_T__COUNT; t++)
        json_object_set_new(tables, store_table_name(t),
                            json_pack("{s:I, s:I}", "entries", (json_int_t)s->store.entries[t],
                                      "pages", (json_int_t)s->store.pages[t]));
    for (int st = 1; st <= STORE_RUN_STATUS_MAX; st++)
        json_object_set_new(by_status, store_run_status_name(st),
                            json_integer((json_int_t)s->runs_by_status[st]));
    for (int type = 1; type < 256; type++) {
        char name[32];
        event_type_text(type, name);
        if (s->events_by_type[type] != 0 || store_event_type_name(type) != NULL)
            json_object_set_new(by_type, name, json_integer((json_int_t)s->events_by_type[type]));
    }
    return json_pack("{s:o, s:i, s:s, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:o}, s:{s:I, s:I, s:o}}",
                     "data_dir", json_cstr(ctx->args->data_dir),
                     "schema_version", (int)s->schema_version,
                     "engine_id", ttai_run_id_format(&s->engine_id, id),
                     "map_bytes", (json_int_t)s->store.map_bytes,
                     "used_bytes", (json_int_t)s->store.used_bytes,
                     "file_bytes", (json_int_t)s->store.file_bytes,
                     "page_bytes", (json_int_t)s->store.page_bytes, "tables", tables,
                     "runs", "total", (json_int_t)s->runs, "by_status", by_status,
                     "events", "total", (json_int_t)s->events,
                     "undecodable", (json_int_t)s->undecodable, "by_type", by_type);
}

static void stats_print(const struct hist_ctx *ctx, const struct stats *s)
{
    char id[TTAI_RUN_ID_TEXT], dir[FIELD_TEXT];
    printf("data directory  %s\n", clean(ctx->args->data_dir, dir));
    printf("schema version  %" PRIu32 "\n", s->schema_version);
    printf("engine id       %s\n", ttai_run_id_format(&s->engine_id, id));
    printf("map bytes       %" PRIu64 "\n", s->store.map_bytes);
    printf("used bytes      %" PRIu64 "\n", s->store.used_bytes);
    printf("file bytes      %" PRIu64 "\n", s->store.file_bytes);
    printf("page bytes      %" PRIu64 "\n", s->store.page_bytes);
    printf("\n%-24s %10s %10s\n", "TABLE", "ENTRIES", "PAGES");
    for (int t = 0; t < STORE_T__COUNT; t++)
        printf("%-24s %10" PRIu64 " %10" PRIu64 "\n", store_table_name(t), s->store.entries[t],
               s->store.pages[t]);
    printf("\n%-24s %10s\n", "RUN STATUS", "RUNS");
    for (int st = 1; st <= STORE_RUN_STATUS_MAX; st++)
        if (s->runs_by_status[st] != 0)
            printf("%-24s %10" PRIu64 "\n", store_run_status_name(st), s->runs_by_status[st]);
    printf("%-24s %10" PRIu64 "\n", "total", s->runs);
    printf("\n%-24s %10s\n", "EVENT TYPE", "EVENTS");
    for (int type = 1; type < 256; type++) {
        char name[32];
        if (s->events_by_type[type] != 0)
            printf("%-24s %10" PRIu64 "\n", event_type_text(type, name), s->events_by_type[type]);
    }
    if (s->undecodable != 0)
        printf("%-24s %10" PRIu64 "\n", "(undecodable)", s->undecodable);
    printf("%-24s %10" PRIu64 "\n", "total", s->events);
}

int hist_cmd_stats(struct hist_ctx *ctx)
{
    struct stats s;
    memset(&s, 0, sizeof(s));
    struct ttai_err err = {0};
    if (store_read_begin(ctx->store, &s.rd, &err) != 0) {
        hist_errorf("%s", err.msg);
        return HIST_EXIT_USAGE;
    }
    int status = HIST_EXIT_OK;
    if (store_stats_get(s.rd, &s.store, &err) != 0 ||
        store_meta_get(s.rd, &s.schema_version, &s.engine_id, &err) != 0) {
        hist_errorf("%s", err.msg);
        status = HIST_EXIT_PROBLEMS;
    }
    if (status == HIST_EXIT_OK)
        status = runs_walk(s.rd, true, stats_count_run, &s);
    store_read_end(s.rd);
    if (ctx->args->output == HIST_OUT_JSON)
        return hist_json_print(stats_json(ctx, &s)) != 0 ? HIST_EXIT_USAGE : status;
    stats_print(ctx, &s);
    return status;
}
