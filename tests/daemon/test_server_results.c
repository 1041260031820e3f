/* test_server_results.c: a parked result long-poll is answered from the
 * closing event the engine hands over, or from the store when that event
 * does not come with the close, and the two answers are the same.
 *
 * "hold" waits for signal "done" or "fail" and closes with its payload:
 * completed with it as the result, or failed with it as the message. A
 * long-poll is parked on each run before the signal; its answer must equal
 * a result read made afterwards, which always reads the store. Payloads of
 * a few bytes come with the close; those over the 64 KiB a notification
 * carries (SRV_CLOSE_EVENT_MAX) are read from the store by the long-poll
 * too. A long-poll asked on a workflow the test then terminates (a close
 * the engine makes, without an event) is answered from the store.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ttai.h"

#include "../harness/harness.h"
#include "inproc.h"

#define NS_PATH "/api/v1/namespaces/default/workflows"
#define REPLY_CAP (512 * 1024)

struct hold_state {
    bool done, fail;
    struct ttai_payload value;
};

static void hold_signal(struct ttai_wf *wf, void *state, struct ttai_payload args, bool fail)
{
    struct hold_state *s = state;
    s->value = ttai_wf_keep(wf, args);
    s->done = !fail;
    s->fail = fail;
}

static void hold_done(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    hold_signal(wf, state, args, false);
}

static void hold_fail(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    hold_signal(wf, state, args, true);
}

static bool hold_woken(const void *state, void *arg)
{
    (void)arg;
    const struct hold_state *s = state;
    return s->done || s->fail;
}

static void hold_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)input;
    struct hold_state *s = state;
    ttai_wf_await(wf, hold_woken, NULL, -1);
    if (s->fail) {
        /* The payload is a msgpack string: the message is its bytes,
         * kept in the run's arena with a NUL, as ttai_wf_fail does not
         * return (the test sends only ASCII). */
        struct ttai_reader r;
        ttai_reader_init(&r);
        msgpack_object o;
        const char *msg = "";
        if (ttai_payload_unpack(&r, s->value, &o) == 0 && o.type == MSGPACK_OBJECT_STR) {
            char *copy = malloc(o.via.str.size + 1);
            ASSERT(copy != NULL);
            memcpy(copy, o.via.str.ptr, o.via.str.size);
            copy[o.via.str.size] = '\0';
            msg = (const char *)ttai_wf_keep(wf, (struct ttai_payload){(const uint8_t *)copy,
                                                                     o.via.str.size + 1})
                      .data;
            free(copy);
        }
        ttai_reader_release(&r);
        ttai_wf_fail(wf, "Held", msg);
    }
    ttai_wf_complete(wf, s->value);
}

static const struct ttai_signal_def hold_signals[] = {
    {"done", hold_done},
    {"fail", hold_fail},
    {NULL, NULL},
};
static const struct ttai_workflow_def hold_def = {.type = "hold",
                                                  .run = hold_run,
                                                  .state_size = sizeof(struct hold_state),
                                                  .signals = hold_signals};
static const struct ttai_workflow_def *const hold_only[] = {&hold_def, NULL};
static const struct ttai_registry hold_registry = {hold_only, NULL};

static char reply[REPLY_CAP], later[REPLY_CAP], metrics[REPLY_CAP];

/* The body of an HTTP answer in buf. */
static const char *body_of(const char *buf)
{
    const char *b = strstr(buf, "\r\n\r\n");
    ASSERT(b != NULL);
    return b + 4;
}

/* Waits until n long-polls are parked (the /metrics gauge). */
static void wait_parked(int port, int n)
{
    char want[64];
    snprintf(want, sizeof(want), "ttai_http_long_polls_parked %d\n", n);
    for (int i = 0; i < 1000; i++) {
        ASSERT_EQ(inproc_http(port, "GET", "/metrics", NULL, metrics, sizeof(metrics)), 200);
        if (strstr(metrics, want) != NULL)
            return;
        usleep(10000);
    }
    fprintf(stderr, "FAIL: never %d long-polls parked\n", n);
    exit(1);
}

/* A JSON string of n 'x's, quoted. */
static char *long_string(size_t n)
{
    char *s = malloc(n + 3);
    ASSERT(s != NULL);
    s[0] = '"';
    memset(s + 1, 'x', n);
    s[n + 1] = '"';
    s[n + 2] = '\0';
    return s;
}

/* Starts hold `id`, parks a long-poll on it, closes it with `how` (a
 * signal name, or "terminate"), and checks the long-poll's answer against
 * a result read made afterwards; returns the answer's body in reply. */
static void close_while_parked(int port, const char *id, const char *how, const char *value)
{
    char path[256], body[128];
    snprintf(body, sizeof(body), "{\"type\": \"hold\", \"id\": \"%s\"}", id);
    ASSERT_EQ(inproc_http(port, "POST", NS_PATH, body, reply, sizeof(reply)), 201);
    snprintf(path, sizeof(path), NS_PATH "/%s/result?wait=1&timeout_ms=20000", id);
    int fd = inproc_http_send(port, "GET", path, NULL);
    wait_parked(port, 1);
    size_t len = strlen(value) + 64;
    char *req = malloc(len);
    ASSERT(req != NULL);
    if (strcmp(how, "terminate") == 0) {
        snprintf(path, sizeof(path), NS_PATH "/%s/terminate", id);
        snprintf(req, len, "{\"reason\": %s}", value);
    } else {
        snprintf(path, sizeof(path), NS_PATH "/%s/signals/%s", id, how);
        snprintf(req, len, "{\"input\": %s}", value);
    }
    ASSERT_EQ(inproc_http(port, "POST", path, req, later, sizeof(later)), 200);
    free(req);
    ASSERT_EQ(inproc_http_status(fd, reply, sizeof(reply)), 200);
    snprintf(path, sizeof(path), NS_PATH "/%s/result", id);
    ASSERT_EQ(inproc_http(port, "GET", path, NULL, later, sizeof(later)), 200);
    if (strcmp(body_of(reply), body_of(later)) != 0) {
        fprintf(stderr, "FAIL: %s: the long-poll answered %.200s\nbut the store says %.200s\n",
                id, body_of(reply), body_of(later));
        exit(1);
    }
    wait_parked(port, 0);
}

int main(void)
{
    struct inproc proc;
    inproc_start(&proc, "server-results", &hold_registry, true);
    char *big = long_string(70000);

    close_while_parked(proc.port, "small-done", "done", "{\"n\": [1, 2.5, \"three\"]}");
    ASSERT(strcmp(body_of(reply), "{\"status\":\"completed\",\"result\":{\"n\":[1,2.5,\"three\"]}}") == 0);

    char *want = malloc(70000 + 128);
    ASSERT(want != NULL);
    close_while_parked(proc.port, "big-done", "done", big);
    snprintf(want, 70000 + 128, "{\"status\":\"completed\",\"result\":%s}", big);
    ASSERT(strcmp(body_of(reply), want) == 0);

    close_while_parked(proc.port, "small-fail", "fail", "\"it broke\"");
    ASSERT(strcmp(body_of(reply),
                  "{\"status\":\"failed\",\"failure\":{\"type\":\"Held\",\"message\":\"it broke\"}}") == 0);

    close_while_parked(proc.port, "big-fail", "fail", big);
    snprintf(want, 70000 + 128, "{\"status\":\"failed\",\"failure\":{\"type\":\"Held\",\"message\":%s}}",
             big);
    ASSERT(strcmp(body_of(reply), want) == 0);
    free(want);

    close_while_parked(proc.port, "ended", "terminate", "\"by the test\"");
    ASSERT(strcmp(body_of(reply), "{\"status\":\"terminated\",\"failure\":{\"type\":"
                                  "\"terminated\",\"message\":\"by the test\"}}") == 0);

    free(big);
    inproc_stop(&proc);
    printf("ok server results\n");
    return 0;
}
