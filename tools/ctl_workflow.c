/* ctl_workflow.c: the `ttaictl workflow ...` commands that change things
 * (start, execute, signal, signal-with-start, cancel, terminate) and those
 * that ask a workflow (query, result). describe, list and show are in
 * ctl_inspect.c.
 *
 * Each command builds one request of docs/api.md (or a loop of them for
 * pages and long polls), sends it with ctl_http_*, and prints the answer as
 * a table or as JSON. The JSON shapes are a contract with scripts
 * (docs/cli.md): start, signal and signal-with-start print
 * {"workflow_id", "run_id"}; query and result print the bare result JSON;
 * describe prints the workflow object; list an array of them; show an
 * array of events (JSON lines with --follow).
 */
#include "ctl_int.h"

#include <string.h>

#define REQUEST_TIMEOUT_MS 30000L
#define RESULT_POLL_MS 30000L        /* the wait ttaid is asked for in one long poll */
#define RESULT_SLACK_MS 15000L       /* added to it for our own total timeout */
/* How long an execute's start waits for the result before a table shows
 * the ids of a workflow still running (then it long-polls as `result`). */
#define EXECUTE_FIRST_WAIT_MS 1000L

/* Sets key to the JSON parsed from text (already checked by args_finish).
 * NULL text sets nothing. Returns 0 or -1. */
static int set_json_text(json_t *obj, const char *key, const char *text)
{
    if (text == NULL)
        return 0;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v == NULL ? -1 : json_object_set_new(obj, key, v);
}

static int set_string(json_t *obj, const char *key, const char *value)
{
    return value == NULL ? 0 : json_object_set_new(obj, key, json_string(value));
}

/* The start options shared by start and signal-with-start. */
static int set_start_options(json_t *body, const struct ctl_args *a)
{
    int rc = set_string(body, "type", a->type) | set_json_text(body, "input", a->input) |
             set_string(body, "id_conflict", a->id_conflict) |
             set_string(body, "id_reuse", a->id_reuse);
    if (a->execution_timeout_ms > 0)
        rc |= json_object_set_new(body, "execution_timeout_ms",
                                  json_integer(a->execution_timeout_ms));
    if (a->run_timeout_ms > 0)
        rc |= json_object_set_new(body, "run_timeout_ms", json_integer(a->run_timeout_ms));
    return rc;
}

/* POSTs body (stolen) to path (freed) and keeps the answer in *reply,
 * with the given total timeout. */
static int post_timed(const struct ctl_args *a, char *path, json_t *body, long timeout_ms,
                      struct ctl_reply *reply)
{
    *reply = (struct ctl_reply){0}; /* released by the caller on every path */
    if (path == NULL || body == NULL) {
        ttai_free(path);
        json_decref(body);
        return ctl_request_unbuildable();
    }
    int rc = ctl_http_call(a, "POST", path, body, timeout_ms, reply);
    ttai_free(path);
    json_decref(body);
    return rc;
}

static int post(const struct ctl_args *a, char *path, json_t *body, struct ctl_reply *reply)
{
    return post_timed(a, path, body, REQUEST_TIMEOUT_MS, reply);
}

/* GETs path (freed) into *reply, with the given total timeout. */
static int get(const struct ctl_args *a, char *path, long timeout_ms, struct ctl_reply *reply)
{
    if (path == NULL)
        return ctl_request_unbuildable();
    int rc = ctl_http_call(a, "GET", path, NULL, timeout_ms, reply);
    ttai_free(path);
    return rc;
}

static int expect_object(const struct ctl_reply *reply, const char *what)
{
    if (json_is_object(reply->body))
        return 0;
    ctl_errorf("ttaid answered %s with something that is not a JSON object", what);
    return CTL_EXIT_SERVER;
}

/* Prints {"workflow_id", "run_id"} of an answer, as JSON or a small table. */
static int print_ids(const struct ctl_args *a, const json_t *answer)
{
    json_t *wid = json_object_get(answer, "workflow_id");
    json_t *rid = json_object_get(answer, "run_id");
    if (a->output == CTL_OUT_JSON) {
        json_t *v = json_pack("{sOsO}", "workflow_id", wid ? wid : json_null(), "run_id",
                              rid ? rid : json_null());
        int rc = v == NULL ? -1 : ctl_json_print(v);
        json_decref(v);
        return rc == 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    }
    char *w = ctl_json_cell(wid);
    char *r = ctl_json_cell(rid);
    printf("Workflow ID  %s\nRun ID       %s\n", w ? w : "?", r ? r : "?");
    ttai_free(w);
    ttai_free(r);
    return CTL_EXIT_OK;
}

/* ---- start, execute, signal-with-start -------------------------------------------- */

/* A start; with wait_ms > 0 an execute (docs/api.md), whose answer is the
 * result (200) or, after wait_ms, 202 running; both carry the ids, and
 * "started": false when --id-conflict use_existing found the run running. */
static int start_request(const struct ctl_args *a, long wait_ms, struct ctl_reply *reply)
{
    *reply = (struct ctl_reply){0}; /* released by the caller on every path */
    json_t *body = json_object();
    if (body != NULL && (set_string(body, "id", a->id) | set_start_options(body, a)) != 0) {
        json_decref(body);
        body = NULL;
    }
    char *path = ctl_path(a, "/workflows");
    char wait[32];
    snprintf(wait, sizeof(wait), "%ld", wait_ms);
    if (path != NULL && wait_ms > 0 &&
        (ctl_path_query(&path, "wait", "result") || ctl_path_query(&path, "timeout_ms", wait))) {
        json_decref(body);
        return ctl_request_unbuildable();
    }
    int rc = post_timed(a, path, body, REQUEST_TIMEOUT_MS + wait_ms, reply);
    if (rc == 0)
        rc = expect_object(reply, "the start");
    bool existing = wait_ms == 0 ? reply->status == 200
                                 : json_is_false(json_object_get(reply->body, "started"));
    if (rc == 0 && existing)
        ctl_errorf("workflow '%s' was already started; %s", a->id,
                   wait_ms == 0 ? "these are the ids of its run" : "what follows comes from that run");
    return rc;
}

int ctl_wf_start(const struct ctl_args *a)
{
    struct ctl_reply reply;
    int rc = start_request(a, 0, &reply);
    if (rc == 0)
        rc = print_ids(a, reply.body);
    ctl_reply_release(&reply);
    return rc;
}

/* Long-polls the result of workflow `id` until it is closed; *reply holds
 * the final answer ({"status", "result"} or {"status", "failure"}). */
static int result_wait(const struct ctl_args *a, struct ctl_reply *reply)
{
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%ld", RESULT_POLL_MS);
    for (;;) { /* unbounded on purpose: a workflow may run for days; ^C ends the wait */
        char *path = ctl_path(a, "/workflows/%s/result", a->id);
        if (ctl_path_query(&path, "run_id", a->run_id) || ctl_path_query(&path, "wait", "1") ||
            ctl_path_query(&path, "timeout_ms", timeout))
            return ctl_request_unbuildable();
        int rc = get(a, path, RESULT_POLL_MS + RESULT_SLACK_MS, reply);
        if (rc == 0)
            rc = expect_object(reply, "the result");
        if (rc != 0 || reply->status != 202)
            return rc;
        ctl_reply_release(reply); /* still running: ask again */
    }
}

/* Prints a closed workflow's result: the bare result JSON, or (table) a
 * status and result; a workflow that did not complete is an error. */
static int result_print(const struct ctl_args *a, const json_t *answer)
{
    const char *status = json_string_value(json_object_get(answer, "status"));
    json_t *result = json_object_get(answer, "result");
    if (status == NULL || strcmp(status, "completed") != 0) {
        json_t *failure = json_object_get(answer, "failure");
        const char *type = json_string_value(json_object_get(failure, "type"));
        const char *message = json_string_value(json_object_get(failure, "message"));
        /* The type repeats the status for a cancel or a termination, and
         * a cancel may have no message: only what adds something. */
        if (type != NULL && (type[0] == '\0' || (status != NULL && strcmp(type, status) == 0)))
            type = NULL;
        if (message != NULL && message[0] == '\0')
            message = NULL;
        ctl_errorf("workflow '%s' %s%s%s%s%s", a->id, status ? status : "did not complete",
                   type ? ": " : "", type ? type : "", message ? ": " : "", message ? message : "");
        char cmd[2048];
        fprintf(stderr, "hint: see its history with: %s\n",
                ctl_show_command(a, false, cmd, sizeof(cmd)));
        return CTL_EXIT_SERVER;
    }
    if (a->output == CTL_OUT_JSON)
        return ctl_json_print(result ? result : json_null()) == 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    char *text = ctl_json_cell(result ? result : json_null());
    printf("Status  completed\nResult  %s\n", text ? text : "?");
    ttai_free(text);
    return CTL_EXIT_OK;
}

int ctl_wf_result(const struct ctl_args *a)
{
    struct ctl_reply reply;
    int rc = result_wait(a, &reply);
    if (rc == 0)
        rc = result_print(a, reply.body);
    ctl_reply_release(&reply);
    return rc;
}

/* One request, a start that waits for the result, for a workflow that
 * closes within the first wait; a longer one has its ids shown (table) and
 * is then long-polled as `workflow result` does. */
int ctl_wf_execute(const struct ctl_args *a)
{
    long first = a->output == CTL_OUT_TABLE ? EXECUTE_FIRST_WAIT_MS : RESULT_POLL_MS;
    struct ctl_reply reply;
    int rc = start_request(a, first, &reply);
    if (rc == 0 && a->output == CTL_OUT_TABLE)
        rc = print_ids(a, reply.body);
    if (rc == 0 && reply.status == 202) {
        ctl_reply_release(&reply);
        fflush(stdout);
        rc = result_wait(a, &reply);
    }
    if (rc == 0)
        rc = result_print(a, reply.body);
    ctl_reply_release(&reply);
    return rc;
}

int ctl_wf_signal_with_start(const struct ctl_args *a)
{
    json_t *body = json_object();
    if (body != NULL && (set_start_options(body, a) |
                         set_json_text(body, "signal_input", a->signal_input)) != 0) {
        json_decref(body);
        body = NULL;
    }
    struct ctl_reply reply;
    int rc = post(a, ctl_path(a, "/workflows/%s/signal-with-start/%s", a->id, a->name), body,
                  &reply);
    if (rc == 0)
        rc = expect_object(&reply, "the signal");
    if (rc == 0)
        rc = print_ids(a, reply.body);
    ctl_reply_release(&reply);
    return rc;
}

/* ---- signal, query ---------------------------------------------------------------- */

/* {"input"?, "run_id"?}: the body of signals and queries. */
static json_t *input_body(const struct ctl_args *a)
{
    json_t *body = json_object();
    if (body != NULL &&
        (set_json_text(body, "input", a->input) | set_string(body, "run_id", a->run_id)) != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int ctl_wf_signal(const struct ctl_args *a)
{
    struct ctl_reply reply;
    int rc = post(a, ctl_path(a, "/workflows/%s/signals/%s", a->id, a->name), input_body(a),
                  &reply);
    if (rc == 0)
        rc = expect_object(&reply, "the signal");
    if (rc == 0)
        rc = print_ids(a, reply.body);
    ctl_reply_release(&reply);
    return rc;
}

int ctl_wf_query(const struct ctl_args *a)
{
    struct ctl_reply reply;
    int rc = post(a, ctl_path(a, "/workflows/%s/queries/%s", a->id, a->name), input_body(a),
                  &reply);
    if (rc == 0)
        rc = expect_object(&reply, "the query");
    if (rc == 0) {
        json_t *result = json_object_get(reply.body, "result");
        /* Both formats print the JSON: an answer has no table shape. */
        rc = ctl_json_print(result ? result : json_null()) == 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    }
    ctl_reply_release(&reply);
    return rc;
}

/* ---- cancel, terminate -------------------------------------------------------------- */

static int close_request(const struct ctl_args *a, const char *verb, const char *done)
{
    json_t *body = json_object();
    if (body != NULL &&
        (set_string(body, "reason", a->reason) | set_string(body, "run_id", a->run_id)) != 0) {
        json_decref(body);
        body = NULL;
    }
    struct ctl_reply reply;
    char route[32];
    snprintf(route, sizeof(route), "/workflows/%%s/%s", verb);
    int rc = post(a, ctl_path(a, route, a->id), body, &reply);
    if (rc == 0) {
        if (a->output == CTL_OUT_JSON)
            rc = ctl_json_print(reply.body) == 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
        else
            printf("%s workflow '%s'\n", done, a->id);
    }
    ctl_reply_release(&reply);
    return rc;
}

int ctl_wf_cancel(const struct ctl_args *a)
{
    return close_request(a, "cancel", "Cancel requested for");
}

int ctl_wf_terminate(const struct ctl_args *a)
{
    return close_request(a, "terminate", "Terminated");
}
