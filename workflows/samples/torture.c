/* torture.c: the sample workflow of the torture test (tests/crash/torture.py,
 * docs/reliability.md). It exercises what a crash can break between two
 * journal writes: activities with injected failures and retries, durable
 * timers and continue-as-new, and it leaves an external side effect per
 * activity attempt so that the test can check at-least-once delivery.
 *
 *   torture     - input {"steps": N, "sleep_ms": M, "fail_pct": P,
 *                 "can_every": K, "done": D}. For each step from D to N-1
 *                 it runs the activity "sink_effect" (retried without limit,
 *                 50 ms initial interval, 400 ms at most) and sleeps M ms on
 *                 a durable timer; every K steps (K > 0) it continues as new
 *                 carrying D. Completes with {"steps": N}.
 *   sink_effect - input {"fail_pct": P}. Appends one line
 *                 "<idempotency key> <attempt>\n" to the file named by the
 *                 environment variable TTAI_SAMPLE_SINK (one write(2) with
 *                 O_APPEND, so lines never interleave), then fails with the
 *                 retryable type "Injected" with probability P percent. Half
 *                 of the injected failures happen before the write, half
 *                 after it: an effect whose acknowledgement is lost, the case
 *                 that idempotency keys exist for. Without TTAI_SAMPLE_SINK
 *                 it fails for good ("NoSink"): the daemon never writes a
 *                 file it was not told to.
 *
 * Failure injection is a pure function of (idempotency key, attempt), so a
 * given history always sees the same failures.
 */
#include "workflows.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TORTURE_SINK_ENV "TTAI_SAMPLE_SINK"

/* ---- sink_effect ------------------------------------------------------------- */

/* FNV-1a over the key, then the attempt mixed in: a stable 0..99. */
static int injection_roll(const char *key, uint32_t attempt)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = key; *p != '\0'; p++) {
        h ^= (uint8_t)*p;
        h *= 1099511628211ULL;
    }
    h ^= attempt;
    h *= 1099511628211ULL;
    h ^= h >> 29;
    return (int)(h % 100);
}

static int sink_append(const char *path, const char *line, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, line, len);
    int e = n < 0 ? errno : 0;
    close(fd);
    if (n < 0)
        return -e;
    return (size_t)n == len ? 0 : -EIO;
}

static int sink_effect_activity(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                                struct ttai_buf *out)
{
    const char *sink = getenv(TORTURE_SINK_ENV);
    if (sink == NULL || *sink == '\0')
        return ttai_activity_fail(ctx, "NoSink", false, "%s is not set", TORTURE_SINK_ENV);
    int64_t fail_pct = 0;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    if (ttai_payload_unpack(&r, input, &o) == 0)
        ttai_obj_int(ttai_obj_get(&o, "fail_pct"), &fail_pct);
    ttai_reader_release(&r);
    const char *key = ttai_activity_idempotency_key(ctx);
    uint32_t attempt = ttai_activity_attempt(ctx);
    int roll = injection_roll(key, attempt);
    if (roll < fail_pct / 2)
        return ttai_activity_fail(ctx, "Injected", true, "injected failure before the effect");
    char line[512];
    int len = snprintf(line, sizeof(line), "%s %u\n", key, attempt);
    if (len < 0 || (size_t)len >= sizeof(line))
        return ttai_activity_fail(ctx, "BadKey", false, "idempotency key too long");
    int rc = sink_append(sink, line, (size_t)len);
    if (rc != 0)
        return ttai_activity_fail(ctx, "SinkWrite", true, "cannot append to '%s': %s", sink,
                                  strerror(-rc));
    if (roll < fail_pct)
        return ttai_activity_fail(ctx, "Injected", true, "injected failure after the effect");
    ttai_buf_str(out, key);
    return 0;
}

/* ---- torture ------------------------------------------------------------------ */

struct torture_params {
    int64_t steps, sleep_ms, fail_pct, can_every, done;
};

static void torture_params_read(struct ttai_payload input, struct torture_params *p)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    if (ttai_payload_unpack(&r, input, &o) == 0) {
        ttai_obj_int(ttai_obj_get(&o, "steps"), &p->steps);
        ttai_obj_int(ttai_obj_get(&o, "sleep_ms"), &p->sleep_ms);
        ttai_obj_int(ttai_obj_get(&o, "fail_pct"), &p->fail_pct);
        ttai_obj_int(ttai_obj_get(&o, "can_every"), &p->can_every);
        ttai_obj_int(ttai_obj_get(&o, "done"), &p->done);
    }
    ttai_reader_release(&r);
}

static struct ttai_payload torture_pack(struct ttai_wf *wf, const struct torture_params *p,
                                        bool result)
{
    struct ttai_buf out;
    ttai_buf_init(&out);
    if (result) {
        ttai_buf_map(&out, 1);
    } else {
        ttai_buf_map(&out, 5);
        ttai_buf_str(&out, "sleep_ms");
        ttai_buf_int(&out, p->sleep_ms);
        ttai_buf_str(&out, "fail_pct");
        ttai_buf_int(&out, p->fail_pct);
        ttai_buf_str(&out, "can_every");
        ttai_buf_int(&out, p->can_every);
        ttai_buf_str(&out, "done");
        ttai_buf_int(&out, p->done);
    }
    ttai_buf_str(&out, "steps");
    ttai_buf_int(&out, p->steps);
    struct ttai_payload kept = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    return kept;
}

static void torture_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    struct torture_params p = {0};
    torture_params_read(input, &p);
    if (p.steps < 0 || p.sleep_ms < 0 || p.fail_pct < 0 || p.fail_pct > 100 || p.can_every < 0 ||
        p.done < 0)
        ttai_wf_fail(wf, "BadInput", "torture needs non-negative steps, sleep_ms, can_every, "
                                     "done and a fail_pct of 0..100");
    struct ttai_buf args;
    ttai_buf_init(&args);
    ttai_buf_map(&args, 1);
    ttai_buf_str(&args, "fail_pct");
    ttai_buf_int(&args, p.fail_pct);
    struct ttai_payload act_input = ttai_wf_keep(wf, ttai_buf_payload(&args));
    ttai_buf_release(&args);
    struct ttai_activity_opts opts = {
        .start_to_close_ms = 5000,
        .retry_initial_ms = 50,
        .retry_backoff = 2.0,
        .retry_max_interval_ms = 400,
    };
    int64_t in_run = 0;
    while (p.done < p.steps) {
        if (p.can_every > 0 && in_run == p.can_every)
            ttai_wf_continue_as_new(wf, torture_pack(wf, &p, false));
        struct ttai_result res;
        if (ttai_wf_activity(wf, "sink_effect", act_input, &opts, &res) != 0)
            ttai_wf_fail(wf, res.error_type, res.error_message);
        if (p.sleep_ms > 0 && ttai_wf_sleep(wf, p.sleep_ms) != 0)
            ttai_wf_canceled(wf);
        p.done++;
        in_run++;
    }
    ttai_wf_complete(wf, torture_pack(wf, &p, true));
}

const struct ttai_workflow_def wf_torture = {.type = "torture", .run = torture_run};
const struct ttai_activity_def act_sink_effect = {.type = "sink_effect",
                                                  .run = sink_effect_activity};
