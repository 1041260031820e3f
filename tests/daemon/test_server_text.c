/* test_server_text.c: text that is not UTF-8 reaches the API's answers.
 *
 * Workflow and activity code may record any bytes as a failure's type and
 * message, and a message cut to its buffer (an activity's failure is
 * kept in 256 bytes) may end inside a character. jansson refuses to make
 * a JSON string of such bytes: the result of such a run was answered 500
 * "out of memory", its history lost the field, and describe the pending
 * activity (503 when its type was not UTF-8). The API now answers each
 * byte that is not part of a UTF-8 character as U+FFFD (engine/payload.c,
 * ttai_json_text).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ttai.h"

#include "../harness/harness.h"
#include "inproc.h"

#define FFFD "\xef\xbf\xbd" /* U+FFFD as UTF-8 */

/* Fails with a type and a message that are not UTF-8. */
static void mangled_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    ttai_wf_fail(wf, "Bad\xffType", "caf\xc3 \xff end");
}

/* Fails, to be retried in an hour, with a message that ends inside the
 * euro sign (E2 82 AC) as one cut to its buffer would. Its type is not
 * UTF-8 either (a name cut to 128 bytes may end inside a character). */
static int garble_act(struct ttai_activity_ctx *ctx, struct ttai_payload input, struct ttai_buf *out)
{
    (void)input;
    (void)out;
    return ttai_activity_fail(ctx, "Cut", true, "price in \xe2\x82");
}

static void garbler_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    struct ttai_activity_opts opts = {.start_to_close_ms = 10000, .retry_initial_ms = 3600000};
    struct ttai_result res;
    (void)ttai_wf_activity(wf, "garble\xff", (struct ttai_payload){0}, &opts, &res);
    ttai_wf_complete(wf, (struct ttai_payload){0});
}

static const struct ttai_workflow_def wf_mangled = {"mangled", mangled_run, 0, NULL, NULL};
static const struct ttai_workflow_def wf_garbler = {"garbler", garbler_run, 0, NULL, NULL};
static const struct ttai_workflow_def *const workflows[] = {&wf_mangled, &wf_garbler, NULL};
static const struct ttai_activity_def act_garble = {"garble\xff", garble_act};
static const struct ttai_activity_def *const activities[] = {&act_garble, NULL};
static const struct ttai_registry registry = {workflows, activities};

#define NS "/api/v1/namespaces/default/workflows"

int main(void)
{
    struct inproc proc;
    inproc_start(&proc, "server-text", &registry, true);
    static char reply[16384];

    /* The failed run: its result and its history carry the text. */
    ASSERT_EQ(inproc_http(proc.port, "POST", NS, "{\"type\": \"mangled\", \"id\": \"m1\"}", reply,
                          sizeof(reply)),
              201);
    ASSERT_EQ(inproc_http(proc.port, "GET", NS "/m1/result?wait=1&timeout_ms=10000", NULL, reply,
                          sizeof(reply)),
              200);
    ASSERT_CONTAINS(reply, "\"status\":\"failed\"");
    ASSERT_CONTAINS(reply, "\"type\":\"Bad" FFFD "Type\"");
    ASSERT_CONTAINS(reply, "\"message\":\"caf" FFFD " " FFFD " end\"");
    ASSERT_EQ(inproc_http(proc.port, "GET", NS "/m1/history", NULL, reply, sizeof(reply)), 200);
    ASSERT_CONTAINS(reply, "\"failure_type\":\"Bad" FFFD "Type\"");
    ASSERT_CONTAINS(reply, "\"failure_message\":\"caf" FFFD " " FFFD " end\"");

    /* The pending activity: describe shows its last failure. */
    ASSERT_EQ(inproc_http(proc.port, "POST", NS, "{\"type\": \"garbler\", \"id\": \"g1\"}", reply,
                          sizeof(reply)),
              201);
    int status = 0;
    for (int i = 0; i < 1000; i++) { /* up to 10 s for the first attempt */
        status = inproc_http(proc.port, "GET", NS "/g1", NULL, reply, sizeof(reply));
        if (status != 200 || strstr(reply, "\"last_failure\":{") != NULL)
            break;
        usleep(10000);
    }
    ASSERT_EQ(status, 200);
    ASSERT_CONTAINS(reply, "\"type\":\"garble" FFFD "\"");
    ASSERT_CONTAINS(reply, "\"last_failure\":{\"type\":\"Cut\",\"message\":\"price in " FFFD FFFD "\"}");
    ASSERT_EQ(inproc_http(proc.port, "GET", NS "/g1/history", NULL, reply, sizeof(reply)), 200);
    ASSERT_CONTAINS(reply, "\"type\":\"ActivityScheduled\"");
    ASSERT_CONTAINS(reply, "\"name\":\"garble" FFFD "\"");

    inproc_stop(&proc);
    printf("ok server text\n");
    return 0;
}
