/* replay_fixture.c: writes histories for the `ttai-history replay` tests.
 *
 *   replay_fixture DIR
 *
 * "c":   a counter (the built-in code) that received add 1, 2, 3.
 * "odd": a history of type "counter" written by other code (it sleeps
 *        first), which the built-in counter cannot replay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workflows.h"

static void odd_counter(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    ttai_wf_sleep(wf, 1000);
}

static int fail(const char *what, const struct ttai_err *err)
{
    fprintf(stderr, "replay_fixture: %s: %s\n", what, err->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: replay_fixture DIR\n");
        return 2;
    }
    struct ttai_err err;
    struct ttai_testenv *env;
    if (ttai_testenv_open(&env, argv[1], &wf_builtin_registry, 1763900000000LL, &err) != 0)
        return fail("open", &err);
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf b;
    ttai_buf_init(&b);
    const char *every = "{\"every\": 100}";
    if (ttai_payload_from_json(every, strlen(every), &b, &err) != 0 ||
        ttai_engine_start(eng, "default", "counter", "c", ttai_buf_payload(&b), NULL, NULL, &err) != 0 ||
        ttai_testenv_settle(env) != 0)
        return fail("start", &err);
    for (int v = 1; v <= 3; v++) {
        ttai_buf_reset(&b);
        ttai_buf_int(&b, v);
        if (ttai_engine_signal(eng, "default", "c", NULL, "add", ttai_buf_payload(&b), &err) != 0 ||
            ttai_testenv_settle(env) != 0)
            return fail("signal", &err);
    }
    /* The same type name with other code. */
    static struct ttai_workflow_def odd;
    odd = wf_counter;
    odd.run = odd_counter;
    static const struct ttai_workflow_def *odd_wfs[] = {&odd, NULL};
    static const struct ttai_registry odd_reg = {odd_wfs, NULL};
    if (ttai_testenv_redeploy(env, &odd_reg, 0, &err) != 0)
        return fail("redeploy", &err);
    if (ttai_engine_start(ttai_testenv_engine(env), "default", "counter", "odd",
                          (struct ttai_payload){0}, NULL, NULL, &err) != 0 ||
        ttai_testenv_settle(env) != 0)
        return fail("start odd", &err);
    ttai_buf_release(&b);
    ttai_testenv_close(env);
    return 0;
}
