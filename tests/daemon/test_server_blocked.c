/* test_server_blocked.c: a list tells which running runs are blocked by
 * non-determinism, as describe does, across restarts with changed code.
 *
 * "flip" sleeps for an hour and then completes, while `variant` is 0; with
 * variant 1 it completes at once, which its recorded history (a
 * TimerStarted) refuses on replay. "steady" sleeps under either variant.
 * The test records both runs with variant 0, restarts the server with
 * variant 1 and checks list against describe: first before anything has
 * replayed flip (not blocked yet: a list does not replay runs), then after
 * describe met the mismatch, then after a signal made the engine record it
 * (TaskFailed) and a restart emptied the cache, and last with the original
 * code deployed again, when nothing is blocked.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ttai.h"

#include "../harness/harness.h"
#include "inproc.h"

#define NS_PATH "/api/v1/namespaces/default/workflows"
#define REPLY_CAP (64 * 1024)

static int variant; /* the code deployed: see the head of this file */

static void flip_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    if (variant == 0)
        ttai_wf_sleep(wf, 3600 * 1000);
    ttai_wf_complete(wf, input);
}

static void steady_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    ttai_wf_sleep(wf, 3600 * 1000);
    ttai_wf_complete(wf, input);
}

static void poke(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)state;
    (void)args;
}

static const struct ttai_signal_def flip_signals[] = {{"poke", poke}, {NULL, NULL}};
static const struct ttai_workflow_def flip_def = {.type = "flip", .run = flip_run,
                                                  .signals = flip_signals};
static const struct ttai_workflow_def steady_def = {.type = "steady", .run = steady_run};
static const struct ttai_workflow_def *const defs[] = {&flip_def, &steady_def, &inproc_echo_def,
                                                       NULL};
static const struct ttai_registry registry = {defs, NULL};

static char reply[REPLY_CAP];

/* The JSON body of a request's answer, which must have status `want`. */
static json_t *request_json(int port, const char *method, const char *path, const char *body,
                            int want)
{
    int status = inproc_http(port, method, path, body, reply, sizeof(reply));
    const char *b = strstr(reply, "\r\n\r\n");
    if (status != want || b == NULL) {
        fprintf(stderr, "FAIL: %s %s: %d, wanted %d: %.300s\n", method, path, status, want, reply);
        exit(1);
    }
    json_error_t jerr;
    json_t *j = json_loads(b + 4, 0, &jerr);
    if (j == NULL) {
        fprintf(stderr, "FAIL: %s %s: not JSON (%s): %.300s\n", method, path, jerr.text, b + 4);
        exit(1);
    }
    return j;
}

/* The "blocked" member of workflow `id` in a list of every workflow. */
static json_t *listed_blocked(int port, const char *id)
{
    json_t *list = request_json(port, "GET", NS_PATH "?page_size=10", NULL, 200);
    json_t *found = NULL;
    size_t i;
    json_t *wf;
    json_array_foreach(json_object_get(list, "workflows"), i, wf) {
        /* Closed runs are never blocked, and a list leaves timers uncounted. */
        const char *status = json_string_value(json_object_get(wf, "status"));
        ASSERT(status != NULL);
        if (strcmp(status, "running") != 0)
            ASSERT(json_is_null(json_object_get(wf, "blocked")));
        ASSERT(json_is_null(json_object_get(wf, "pending_timers")));
        if (strcmp(json_string_value(json_object_get(wf, "workflow_id")), id) == 0)
            found = json_incref(json_object_get(wf, "blocked"));
    }
    json_decref(list);
    if (found == NULL) {
        fprintf(stderr, "FAIL: %s is not in the list\n", id);
        exit(1);
    }
    return found;
}

static json_t *described_blocked(int port, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), NS_PATH "/%s", id);
    json_t *wf = request_json(port, "GET", path, NULL, 200);
    json_t *blocked = json_incref(json_object_get(wf, "blocked"));
    ASSERT(json_is_integer(json_object_get(wf, "pending_timers")));
    json_decref(wf);
    return blocked;
}

/* Checks what a list made before any describe says of `id`. */
static void expect_listed(int port, const char *id, bool blocked)
{
    json_t *listed = listed_blocked(port, id);
    if (json_is_null(listed) == blocked) {
        fprintf(stderr, "FAIL: %s: a list says %s\n", id, blocked ? "not blocked" : "blocked");
        exit(1);
    }
    json_decref(listed);
}

/* Checks that a list made after a describe says the same of `id`, and
 * whether it is blocked. */
static void expect_blocked(int port, const char *id, bool blocked)
{
    json_t *described = described_blocked(port, id);
    json_t *listed = listed_blocked(port, id);
    if (!json_equal(listed, described) || json_is_null(listed) == blocked) {
        char *l = json_dumps(listed, JSON_ENCODE_ANY), *d = json_dumps(described, JSON_ENCODE_ANY);
        fprintf(stderr, "FAIL: %s: list says blocked %s, describe %s, wanted %s\n", id, l, d,
                blocked ? "blocked" : "not blocked");
        exit(1);
    }
    if (blocked) {
        const char *reason = json_string_value(json_object_get(listed, "reason"));
        ASSERT(reason != NULL && strstr(reason, "TimerStarted") != NULL);
        ASSERT_EQ(json_integer_value(json_object_get(listed, "event_id")), 3);
    }
    json_decref(listed);
    json_decref(described);
}

/* Waits until flip's history ends with the TaskFailed that records the
 * mismatch (the engine writes it when a task meets one). */
static void wait_recorded(int port, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), NS_PATH "/%s/history", id);
    for (int i = 0; i < 1000; i++) {
        json_t *h = request_json(port, "GET", path, NULL, 200);
        json_t *events = json_object_get(h, "events");
        const char *last = json_string_value(
            json_object_get(json_array_get(events, json_array_size(events) - 1), "type"));
        bool done = last != NULL && strcmp(last, "TaskFailed") == 0;
        json_decref(h);
        if (done)
            return;
        usleep(10000);
    }
    fprintf(stderr, "FAIL: %s: no TaskFailed recorded\n", id);
    exit(1);
}

int main(void)
{
    struct inproc proc;
    inproc_start(&proc, "server-blocked", &registry, true);
    json_decref(request_json(proc.port, "POST", NS_PATH, "{\"type\": \"flip\", \"id\": \"f-1\"}", 201));
    json_decref(request_json(proc.port, "POST", NS_PATH, "{\"type\": \"steady\", \"id\": \"s-1\"}",
                             201));
    json_decref(request_json(proc.port, "POST", NS_PATH "?wait=result",
                             "{\"type\": \"echo\", \"id\": \"e-1\", \"input\": 1}", 200));
    expect_blocked(proc.port, "f-1", false);
    expect_blocked(proc.port, "s-1", false);

    /* Code that disagrees with f-1's history. Nothing has replayed f-1 yet,
     * so a list cannot know; describe replays it. */
    variant = 1;
    inproc_restart(&proc, &registry);
    expect_listed(proc.port, "f-1", false);
    expect_blocked(proc.port, "f-1", true);
    expect_blocked(proc.port, "s-1", false);

    /* A signal makes the engine run a task, which records the mismatch;
     * after a restart the cache is empty and the record tells the list. */
    json_decref(request_json(proc.port, "POST", NS_PATH "/f-1/signals/poke", "{}", 200));
    wait_recorded(proc.port, "f-1");
    inproc_restart(&proc, &registry);
    expect_listed(proc.port, "f-1", true);
    expect_blocked(proc.port, "f-1", true);

    /* The original code again: the run replays and takes its signal. */
    variant = 0;
    inproc_restart(&proc, &registry);
    expect_listed(proc.port, "f-1", false);
    expect_blocked(proc.port, "f-1", false);
    expect_blocked(proc.port, "s-1", false);

    inproc_stop(&proc);
    printf("ok\n");
    return 0;
}
