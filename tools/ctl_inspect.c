/* ctl_inspect.c: the read-only `ttaictl workflow ...` commands: describe,
 * list and show (with --follow, a live stream of the history).
 *
 * list and show follow the pages of ttaid (next_page_token, next_event_id)
 * up to a bound, so that a daemon that keeps answering "more" cannot keep
 * ttaictl looping forever.
 */
#include "ctl_int.h"

#include <inttypes.h>
#include <string.h>

#define REQUEST_TIMEOUT_MS 30000L
#define LIST_PAGE_SIZE 100
#define LIST_PAGES_MAX 100000        /* a bound, far past any real namespace */
#define LIST_PROBE_PAGES 10          /* pages looked at past --limit for one more match */
#define HISTORY_PAGE_SIZE 1000
#define HISTORY_PAGES_MAX 100000

static int print_json(const json_t *v)
{
    return ctl_json_print(v) == 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

/* GETs path (freed) into *reply and checks that the answer is an object. */
static int get_object(const struct ctl_args *a, char *path, struct ctl_reply *reply)
{
    if (path == NULL)
        return ctl_request_unbuildable();
    int rc = ctl_http_call(a, "GET", path, NULL, REQUEST_TIMEOUT_MS, reply);
    ttai_free(path);
    if (rc == 0 && !json_is_object(reply->body)) {
        ctl_errorf("ttaid answered with something that is not a JSON object");
        ctl_reply_release(reply);
        rc = CTL_EXIT_SERVER;
    }
    return rc;
}

/* "reason (event N)" for a blocked run, "-" when it is not blocked. */
static char *blocked_text(const json_t *blocked)
{
    if (blocked == NULL || json_is_null(blocked))
        return ttai_strndup("-", 1);
    const char *reason = json_string_value(json_object_get(blocked, "reason"));
    json_t *event_id = json_object_get(blocked, "event_id");
    if (reason == NULL)
        return ctl_json_cell(blocked);
    char text[512];
    if (json_is_integer(event_id))
        snprintf(text, sizeof(text), "%s (event %" JSON_INTEGER_FORMAT ")", reason,
                 json_integer_value(event_id));
    else
        snprintf(text, sizeof(text), "%s", reason);
    return ttai_strndup(text, strlen(text));
}

/* ---- describe -------------------------------------------------------------------- */

static void describe_table(const json_t *wf)
{
    static const struct {
        const char *label, *key;
    } rows[] = {
        {"Namespace", "namespace"},
        {"Workflow ID", "workflow_id"},
        {"Run ID", "run_id"},
        {"Type", "type"},
        {"Status", "status"},
        {"Start time", "start_time"},
        {"Close time", "close_time"},
        {"History length", "history_length"},
        {"Pending activities", "pending_activities"},
        {"Pending timers", "pending_timers"},
    };
    struct ctl_table t;
    ctl_table_init(&t, 2);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *value = ctl_json_cell(json_object_get(wf, rows[i].key));
        const char *cells[2] = {rows[i].label, value};
        (void)ctl_table_add(&t, cells); /* out of memory: the row is left out */
        ttai_free(value);
    }
    char *blocked = blocked_text(json_object_get(wf, "blocked"));
    const char *cells[2] = {"Blocked", blocked};
    (void)ctl_table_add(&t, cells);
    ttai_free(blocked);
    ctl_table_print(&t);
    ctl_table_release(&t);
}

int ctl_wf_describe(const struct ctl_args *a)
{
    char *path = ctl_path(a, "/workflows/%s", a->id);
    if (ctl_path_query(&path, "run_id", a->run_id) != 0)
        return ctl_request_unbuildable();
    struct ctl_reply reply;
    int rc = get_object(a, path, &reply);
    if (rc != 0)
        return rc;
    if (json_object_get(reply.body, "blocked") == NULL) /* the contract: always present */
        (void)json_object_set_new(reply.body, "blocked", json_null());
    if (a->output == CTL_OUT_JSON)
        rc = print_json(reply.body);
    else
        describe_table(reply.body);
    ctl_reply_release(&reply);
    return rc;
}

/* ---- list ---------------------------------------------------------------------- */

static void list_table(const json_t *workflows)
{
    static const char *const keys[] = {"workflow_id", "run_id",     "type",          "status",
                                       "start_time",  "close_time", "history_length"};
    static const char *const header[] = {"WORKFLOW ID", "RUN ID",     "TYPE",  "STATUS",
                                         "START TIME",  "CLOSE TIME", "EVENTS"};
    /* A run blocked by non-determinism shows as "running (blocked)", so
     * that a list after a deploy tells the runs that wait for fixed code. */
    json_t *shown = json_deep_copy(workflows);
    size_t i;
    json_t *o;
    json_array_foreach(shown, i, o) {
        const json_t *blocked = json_object_get(o, "blocked");
        const char *status = json_string_value(json_object_get(o, "status"));
        if (blocked != NULL && !json_is_null(blocked) && status != NULL) {
            char text[64];
            snprintf(text, sizeof(text), "%s (blocked)", status);
            (void)json_object_set_new(o, "status", json_string(text));
        }
    }
    ctl_objects_table_print(shown != NULL ? shown : workflows, keys, header, 7);
    json_decref(shown);
}

/* GETs one page of the list, asking for at most `want` (0: a full page)
 * after `token` (NULL: the first page). */
static int list_page(const struct ctl_args *a, const char *token, int64_t want,
                     struct ctl_reply *reply)
{
    /* Filtered by status and type, ttaid looks at 20 runs per page_size
     * in one request: full pages then, and only `want` of them kept. */
    bool both = a->status != NULL && a->type != NULL;
    char size[32];
    snprintf(size, sizeof(size), "%d",
             want > 0 && want < LIST_PAGE_SIZE && !both ? (int)want : LIST_PAGE_SIZE);
    char *path = ctl_path(a, "/workflows");
    if (ctl_path_query(&path, "status", a->status) || ctl_path_query(&path, "type", a->type) ||
        ctl_path_query(&path, "page_size", size) || ctl_path_query(&path, "page_token", token))
        return ctl_request_unbuildable();
    int rc = get_object(a, path, reply);
    if (rc == 0 && !json_is_array(json_object_get(reply->body, "workflows"))) {
        ctl_errorf("ttaid's list answer has no \"workflows\" array");
        ctl_reply_release(reply);
        rc = CTL_EXIT_SERVER;
    }
    return rc;
}

/* With both filters, ttaid's page token says only that runs are left to
 * look at, not that any of them matches: follows it (up to
 * LIST_PROBE_PAGES pages) for one more match. Returns 1 when one exists, 0
 * when none does, -1 when the bound or a failed request (*rc) left it
 * open. */
static int list_probe(const struct ctl_args *a, const char *token, int *rc)
{
    char *at = ttai_strndup(token, strlen(token));
    int found = -1;
    for (int page = 0; at != NULL && page < LIST_PROBE_PAGES; page++) {
        struct ctl_reply reply;
        *rc = list_page(a, at, 1, &reply);
        if (*rc != 0)
            break;
        const char *next = json_string_value(json_object_get(reply.body, "next_page_token"));
        bool matched = json_array_size(json_object_get(reply.body, "workflows")) > 0;
        ttai_free(at);
        at = next != NULL && next[0] != '\0' ? ttai_strndup(next, strlen(next)) : NULL;
        ctl_reply_release(&reply);
        if (matched || at == NULL) {
            found = matched;
            break;
        }
    }
    ttai_free(at);
    return found;
}

int ctl_wf_list(const struct ctl_args *a)
{
    json_t *all = json_array();
    char *token = NULL;
    bool dropped = false; /* a page held matches past --limit */
    int rc = all == NULL ? ctl_request_unbuildable() : 0;
    for (int page = 0; rc == 0 && page < LIST_PAGES_MAX; page++) {
        int64_t left = a->limit_count ? a->limit_count - (int64_t)json_array_size(all) : 0;
        struct ctl_reply reply;
        rc = list_page(a, token, left, &reply);
        if (rc != 0)
            break;
        size_t i;
        json_t *wf;
        json_array_foreach(json_object_get(reply.body, "workflows"), i, wf) {
            if (a->limit_count && (int64_t)json_array_size(all) >= a->limit_count) {
                dropped = true;
                break;
            }
            (void)json_array_append(all, wf);
        }
        const char *next = json_string_value(json_object_get(reply.body, "next_page_token"));
        ttai_free(token);
        token = next != NULL && next[0] != '\0' ? ttai_strndup(next, strlen(next)) : NULL;
        ctl_reply_release(&reply);
        if (token == NULL ||
            (a->limit_count && (int64_t)json_array_size(all) >= a->limit_count))
            break;
    }
    /* More matches (1 yes, 0 no, -1 maybe): known when a page held some
     * past --limit, or, with one filter or none, from ttaid's token; with
     * both, looked for. */
    bool both = a->status != NULL && a->type != NULL;
    int more = dropped || (token != NULL && !both);
    if (token != NULL && both && !dropped)
        more = -1;
    if (rc == 0 && more < 0) {
        /* The listing is complete up to --limit: a look further on that
         * fails (its error is on stderr) leaves only the question open. */
        int probe_rc = 0;
        more = list_probe(a, token, &probe_rc);
        if (probe_rc != 0)
            more = -1;
    }
    if (rc == 0 && more > 0)
        ctl_errorf("only the first %zu workflows are listed; --limit 0 lists all of them",
                   json_array_size(all));
    else if (rc == 0 && more < 0)
        ctl_errorf("the first %zu workflows are listed, and more may match; --limit 0 lists all "
                   "of them", json_array_size(all));
    ttai_free(token);
    if (rc == 0) {
        if (a->output == CTL_OUT_JSON)
            rc = print_json(all);
        else
            list_table(all);
    }
    json_decref(all);
    return rc;
}

/* ---- show ---------------------------------------------------------------------- */

/* Appends the events from `from` on to all; *next is where to go on, 0
 * when the history is done. */
static int show_page(const struct ctl_args *a, int64_t from, json_t *all, int64_t *next)
{
    char from_text[32], size[32];
    snprintf(from_text, sizeof(from_text), "%" PRId64, from);
    snprintf(size, sizeof(size), "%d", HISTORY_PAGE_SIZE);
    char *path = ctl_path(a, "/workflows/%s/history", a->id);
    if (ctl_path_query(&path, "run_id", a->run_id) ||
        ctl_path_query(&path, "from_event", from_text) || ctl_path_query(&path, "page_size", size))
        return ctl_request_unbuildable();
    struct ctl_reply reply;
    int rc = get_object(a, path, &reply);
    if (rc != 0)
        return rc;
    json_t *events = json_object_get(reply.body, "events");
    json_t *next_id = json_object_get(reply.body, "next_event_id");
    *next = 0;
    if (!json_is_array(events)) {
        ctl_errorf("ttaid's history answer has no \"events\" array");
        rc = CTL_EXIT_SERVER;
    } else {
        (void)json_array_extend(all, events);
        if (json_array_size(events) > 0 && json_is_integer(next_id) &&
            json_integer_value(next_id) > from)
            *next = json_integer_value(next_id);
    }
    ctl_reply_release(&reply);
    return rc;
}

static int show_all(const struct ctl_args *a)
{
    json_t *all = json_array();
    if (all == NULL)
        return ctl_request_unbuildable();
    int64_t from = 1;
    int rc = 0;
    for (int page = 0; rc == 0 && from != 0 && page < HISTORY_PAGES_MAX; page++)
        rc = show_page(a, from, all, &from);
    if (rc == 0 && a->output == CTL_OUT_JSON) {
        rc = print_json(all);
    } else if (rc == 0) {
        ctl_event_header_print();
        size_t i;
        json_t *event;
        json_array_foreach(all, i, event)
            ctl_event_row_print(event);
    }
    json_decref(all);
    return rc;
}

struct follow {
    const struct ctl_args *args;
    bool header_done;            /* the table's header is printed with the first event */
    char next_run[128];          /* the run a ContinuedAsNew event named, or "" */
    bool closed;                 /* the run's closing event was seen */
    bool output_failed;          /* stdout went away: the stream was stopped here */
};

/* The events that close a run: ttaid ends a stream after one of them, and
 * a stream that ends without one was cut (ttaid stopped). */
static bool closes_run(const char *type)
{
    static const char *const closing[] = {"WorkflowCompleted", "WorkflowFailed",
                                          "WorkflowCanceled",  "WorkflowTerminated",
                                          "ContinuedAsNew",    "WorkflowTimedOut", NULL};
    for (size_t i = 0; type != NULL && closing[i] != NULL; i++)
        if (strcmp(type, closing[i]) == 0)
            return true;
    return false;
}

/* One event of the stream: printed and flushed at once. */
static int follow_event_cb(const char *event, const char *data, size_t data_len, void *arg)
{
    struct follow *f = arg;
    const struct ctl_args *a = f->args;
    if (strcmp(event, "history") != 0)
        return 0; /* other kinds (keep-alives, future ones) are not ours */
    json_error_t jerr;
    json_t *v = json_loadb(data, data_len, JSON_ALLOW_NUL, &jerr); /* \u0000 in payloads */
    if (!json_is_object(v)) {
        ctl_errorf("skipped an event from ttaid that is not a JSON object: %s", jerr.text);
        json_decref(v);
        return 0;
    }
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *run_id = json_string_value(json_object_get(v, "run_id"));
    if (type != NULL && strcmp(type, "ContinuedAsNew") == 0 && run_id != NULL)
        snprintf(f->next_run, sizeof(f->next_run), "%s", run_id);
    f->closed = f->closed || closes_run(type);
    int rc = 0;
    if (a->output == CTL_OUT_JSON) {
        rc = ctl_json_print_line(v);
    } else {
        if (!f->header_done)
            ctl_event_header_print();
        f->header_done = true;
        ctl_event_row_print(v);
        rc = fflush(stdout) != 0 ? -1 : 0;
    }
    json_decref(v);
    f->output_failed = rc != 0;
    return rc; /* stdout gone (a closed pipe): stop */
}

static int show_follow(const struct ctl_args *a)
{
    char *path = ctl_path(a, "/workflows/%s/history", a->id);
    if (ctl_path_query(&path, "run_id", a->run_id) || ctl_path_query(&path, "follow", "1"))
        return ctl_request_unbuildable();
    struct follow f = {.args = a};
    int rc = ctl_http_stream(a, path, follow_event_cb, &f);
    ttai_free(path);
    if (rc == 0 && !f.closed && !f.output_failed) {
        /* Ended cleanly but before the run closed: ttaid is stopping. */
        ctl_errorf("ttaid at %s ended the stream before the run closed (was it stopped?); "
                   "run the command again to follow it (from its first event)", a->address);
        return CTL_EXIT_UNREACHABLE;
    }
    /* A stream follows one run; the next one is a command away. */
    char cmd[2048];
    if (rc == 0 && f.next_run[0] != '\0')
        ctl_errorf("the workflow continued as new as run %s; follow it with: %s", f.next_run,
                   ctl_show_command(a, true, cmd, sizeof(cmd)));
    return rc;
}

int ctl_wf_show(const struct ctl_args *a)
{
    return a->follow ? show_follow(a) : show_all(a);
}
