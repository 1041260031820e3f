/* gen_corpus.c: writes the seed corpus of fuzz_event_decode (one encoded
 * event per file) into the directory given. Run once; the files are kept
 * in tests/fuzz/corpus/event_decode/:
 *
 *   build/fuzz/tests/fuzz/fuzz_gen_corpus tests/fuzz/corpus/event_decode
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static struct store_bytes str(const char *s)
{
    return (struct store_bytes){(const uint8_t *)s, strlen(s)};
}

static int write_event(const char *dir, const char *name, const struct store_event *ev)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    struct ttai_err err;
    if (store_event_encode(ev, &buf, &len, &cap, &err) != 0) {
        fprintf(stderr, "gen_corpus: %s: %s\n", name, err.msg);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        return 1;
    }
    ttai_free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_gen_corpus DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int failed = 0;
    struct ttai_run_id run = {{0x7a, 0x1e, 0x4c, 0x2b, 0x90, 0x11, 0x4d, 0x3e, 0x8f, 0x20, 0x31,
                               0x42, 0x53, 0x64, 0x75, 0x86}};

    struct store_event ev = {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = 1763900000000};
    ev.name = str("price_alert");
    ev.payload = str("\x82\xa6symbol\xa4" "ACME\xa5limit\xcb\x40\x59\x00\x00\x00\x00\x00\x00");
    ev.exec_timeout_ms = 86400000;
    ev.run_timeout_ms = 3600000;
    ev.run_id = run;
    failed |= write_event(dir, "workflow_started", &ev);

    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_ACTIVITY_SCHEDULED;
    ev.time_ms = 1763900000100;
    ev.seq = 1;
    ev.name = str("fetch_quote");
    ev.payload = str("\x91\xa4" "ACME");
    ev.has_opts = true;
    ev.opts.schedule_to_close_ms = 600000;
    ev.opts.start_to_close_ms = 30000;
    ev.opts.heartbeat_ms = 5000;
    ev.opts.initial_interval_ms = 1000;
    ev.opts.backoff = 2.0;
    ev.opts.max_interval_ms = 100000;
    ev.opts.max_attempts = 5;
    ev.opts.non_retryable_count = 2;
    ev.opts.non_retryable[0] = str("BadRequest");
    ev.opts.non_retryable[1] = str("NotFound");
    failed |= write_event(dir, "activity_scheduled", &ev);

    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_ACTIVITY_FAILED;
    ev.time_ms = 1763900000900;
    ev.seq = 1;
    ev.attempt = 3;
    ev.failure_type = str("Timeout");
    ev.failure_message = str("upstream took too long");
    ev.details = str("\x81\xa4last\xcd\x01\xf4");
    failed |= write_event(dir, "activity_failed", &ev);

    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_TIMER_STARTED;
    ev.time_ms = 1763900001000;
    ev.seq = 2;
    ev.fire_ms = 1763900061000;
    failed |= write_event(dir, "timer_started", &ev);

    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_TASK_COMPLETED;
    ev.time_ms = -1;
    ev.ref_event_id = 7;
    failed |= write_event(dir, "task_completed", &ev);

    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_SIGNAL_RECEIVED;
    ev.time_ms = 1763900002000;
    ev.name = str("cancel_order");
    ev.payload = str("\xc0");
    failed |= write_event(dir, "signal_received", &ev);

    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_CONTINUED_AS_NEW;
    ev.time_ms = 1763900003000;
    ev.run_id = run;
    ev.payload = str("\x93\x01\x02\x03");
    failed |= write_event(dir, "continued_as_new", &ev);

    memset(&ev, 0, sizeof(ev));
    ev.type = STORE_EV_WORKFLOW_TIMED_OUT;
    ev.time_ms = 0;
    failed |= write_event(dir, "minimal", &ev);

    /* Hand-made: unknown integer and string keys with nested values, as a
     * newer writer would leave them. */
    static const uint8_t future[] = {
        0x85, 0x00, 0x0c, 0x01, 0xd3, 0x00, 0x00, 0x01, 0x9a, 0x9c, 0x8a, 0x2d, 0x40,
        0x63, 0x92, 0x81, 0xa1, 'k', 0x90, 0xd4, 0x01, 0x02,
        0xa3, 'n', 'e', 'w', 0xc7, 0x02, 0x05, 0xaa, 0xbb,
        0x06, 0xa4, 'm', 'a', 'r', 'k'};
    char path[4096];
    snprintf(path, sizeof(path), "%s/future_fields", dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(future, 1, sizeof(future), f) != sizeof(future) || fclose(f) != 0)
        failed = 1;
    return failed;
}
