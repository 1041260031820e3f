/* history_fixture: writes the stores that the ttai-history tests read.
 *
 *   history_fixture good DIR            the sound store described below
 *   history_fixture empty DIR           a store with nothing in it
 *   history_fixture payloads DIR        run 7, default/payloads: signals
 *                                       whose payloads are hostile or odd
 *                                       msgpack (see write_payloads)
 *   history_fixture corrupt KIND DIR    the sound store with exactly one
 *                                       violation; KIND is one of `kinds`
 *   history_fixture writer DIR READY    opens DIR read-write and commits a
 *                                       new workflow every few ms until
 *                                       SIGTERM; creates the file READY
 *                                       after its first commit
 *
 * The sound store (ids and times are fixed, so tests and docs can name them;
 * run N is 00000000-0000-4000-8000-00000000000N, time starts 2026-01-05T10:00Z):
 *   run 1  default/order-1    OrderWorkflow  Completed  12 events, most types,
 *                                            msgpack and non-msgpack payloads
 *   run 2  default/monitor-1  PriceMonitor   Running     4 events, one timer,
 *                                            one activity record
 *   run 3-5 default/screener  Screener       ContinuedAsNew -> ContinuedAsNew
 *                                            -> Completed, 3 events each
 *   run 6  tenant-b/report-1  DailyReport    Failed      6 events
 *
 * Some corruptions cannot be made through store.h, whose writer keeps event
 * ids dense: those edit the "hist" table with LMDB directly (key: 16-byte
 * run id, 8-byte big-endian event id), after the store is closed.
 */
#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define T0 1767607200000LL /* 2026-01-05T10:00:00.000Z */

static void die(const char *what, const struct ttai_err *err)
{
    fprintf(stderr, "history_fixture: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static struct ttai_run_id run_id(int n)
{
    struct ttai_run_id id;
    memset(&id, 0, sizeof(id));
    id.b[6] = 0x40; /* a version 4 uuid, as ttai_run_id_random makes */
    id.b[8] = 0x80;
    id.b[15] = (uint8_t)n;
    return id;
}

static struct store_bytes text(const char *s)
{
    return (struct store_bytes){(const uint8_t *)s, strlen(s)};
}

/* ---- msgpack payloads -------------------------------------------------------- */

/* Payloads live in static buffers until the process ends; that keeps the
 * event tables below readable. */
#define PAYLOADS_MAX 32
static msgpack_sbuffer payloads[PAYLOADS_MAX];
static int payload_count;

static msgpack_packer payload_begin(void)
{
    if (payload_count == PAYLOADS_MAX)
        die("too many payloads", NULL);
    msgpack_sbuffer_init(&payloads[payload_count]);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &payloads[payload_count], msgpack_sbuffer_write);
    return pk;
}

static struct store_bytes payload_end(void)
{
    msgpack_sbuffer *sb = &payloads[payload_count++];
    return (struct store_bytes){(const uint8_t *)sb->data, sb->size};
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* {"KEY": INT} */
static struct store_bytes map_int(const char *key, int64_t v)
{
    msgpack_packer pk = payload_begin();
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, key);
    msgpack_pack_int64(&pk, v);
    return payload_end();
}

/* {"KEY": "VALUE"} */
static struct store_bytes map_str(const char *key, const char *value)
{
    msgpack_packer pk = payload_begin();
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, key);
    pack_str(&pk, value);
    return payload_end();
}

static struct store_bytes order_input(void)
{
    msgpack_packer pk = payload_begin();
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "order");
    pack_str(&pk, "A-1");
    pack_str(&pk, "qty");
    msgpack_pack_int64(&pk, 3);
    return payload_end();
}

static struct store_bytes charge_input(void)
{
    msgpack_packer pk = payload_begin();
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "amount");
    msgpack_pack_double(&pk, 42.5);
    pack_str(&pk, "currency");
    pack_str(&pk, "EUR");
    return payload_end();
}

static struct store_bytes str_payload(const char *s)
{
    msgpack_packer pk = payload_begin();
    pack_str(&pk, s);
    return payload_end();
}

static struct store_bytes quote_input(void)
{
    msgpack_packer pk = payload_begin();
    msgpack_pack_array(&pk, 2);
    pack_str(&pk, "ACME");
    msgpack_pack_nil(&pk);
    return payload_end();
}

/* ---- Writing runs ------------------------------------------------------------ */

static struct store *store_open_rw(const char *dir)
{
    struct store *store;
    struct ttai_err err = {0};
    struct store_opts opts = {.dir = dir};
    if (store_open(&store, &opts, &err) != 0)
        die("cannot open store", &err);
    return store;
}

static struct store_run run_new(int n, const char *ns, const char *wf, const char *type,
                                int status, int64_t start_ms, int64_t close_ms)
{
    struct store_run run;
    memset(&run, 0, sizeof(run));
    run.run_id = run_id(n);
    snprintf(run.ns, sizeof(run.ns), "%s", ns);
    snprintf(run.workflow_id, sizeof(run.workflow_id), "%s", wf);
    snprintf(run.type, sizeof(run.type), "%s", type);
    run.status = status;
    run.start_ms = start_ms;
    run.close_ms = close_ms;
    return run;
}

/* Puts the run and its events (their event_id fields are ignored) into b. */
static void batch_run(struct store_batch *b, const struct store_run *run,
                      const struct store_event *events, size_t count)
{
    struct ttai_err err = {0};
    if (store_batch_put_run(b, run) != 0)
        die("cannot add run", NULL);
    for (size_t i = 0; i < count; i++)
        if (store_batch_append(b, &run->run_id, &events[i], &err) != 0)
            die("cannot add event", &err);
}

static void commit(struct store *store, struct store_batch *b)
{
    struct ttai_err err = {0};
    if (store_commit(store, b, &err) != 0)
        die("cannot commit", &err);
    store_batch_clear(b);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void write_order(struct store *store, struct store_batch *b)
{
    struct store_activity_opts opts = {.start_to_close_ms = 30000, .initial_interval_ms = 1000,
                                       .backoff = 2.0, .max_attempts = 5,
                                       .non_retryable_count = 1};
    opts.non_retryable[0] = text("InvalidCard");
    const struct store_event events[] = {
        {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = T0, .name = text("OrderWorkflow"),
         .payload = order_input(), .exec_timeout_ms = 3600000, .run_timeout_ms = 600000},
        {.type = STORE_EV_TASK_COMPLETED, .time_ms = T0 + 10, .ref_event_id = 1},
        {.type = STORE_EV_ACTIVITY_SCHEDULED, .time_ms = T0 + 10, .seq = 1,
         .name = text("charge_card"), .payload = charge_input(), .has_opts = true, .opts = opts},
        {.type = STORE_EV_ACTIVITY_FAILED, .time_ms = T0 + 500, .seq = 1, .attempt = 1,
         .failure_type = text("CardDeclined"), .failure_message = text("card declined")},
        {.type = STORE_EV_ACTIVITY_COMPLETED, .time_ms = T0 + 1600, .seq = 1, .attempt = 2,
         .payload = map_str("charge_id", "ch_1")},
        {.type = STORE_EV_TASK_COMPLETED, .time_ms = T0 + 1610, .ref_event_id = 5},
        {.type = STORE_EV_MARKER_RECORDED, .time_ms = T0 + 1610, .seq = 2, .name = text("version"),
         .payload = map_int("v", 1)},
        {.type = STORE_EV_TIMER_STARTED, .time_ms = T0 + 1610, .seq = 3, .fire_ms = T0 + 61610},
        {.type = STORE_EV_TIMER_FIRED, .time_ms = T0 + 61610, .seq = 3},
        {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = T0 + 62000, .name = text("note"),
         .payload = {(const uint8_t *)"\xc1\xc1\xc1", 3}}, /* not msgpack: shown as hex */
        {.type = STORE_EV_TASK_COMPLETED, .time_ms = T0 + 62010, .ref_event_id = 10},
        {.type = STORE_EV_WORKFLOW_COMPLETED, .time_ms = T0 + 62010,
         .payload = str_payload("shipped")},
    };
    struct store_run run = run_new(1, "default", "order-1", "OrderWorkflow", STORE_RUN_COMPLETED,
                                   T0, T0 + 62010);
    batch_run(b, &run, events, COUNT(events));
    if (store_batch_put_exec(b, run.ns, run.workflow_id, &run.run_id) != 0)
        die("cannot add exec", NULL);
    commit(store, b);
}

static void write_monitor(struct store *store, struct store_batch *b)
{
    int64_t start = T0 + 120000;
    const struct store_event events[] = {
        {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = start, .name = text("PriceMonitor"),
         .payload = map_int("above", 120)},
        {.type = STORE_EV_TASK_COMPLETED, .time_ms = start + 5, .ref_event_id = 1},
        {.type = STORE_EV_TIMER_STARTED, .time_ms = start + 5, .seq = 1,
         .fire_ms = start + 3600000},
        {.type = STORE_EV_ACTIVITY_SCHEDULED, .time_ms = start + 5, .seq = 2,
         .name = text("fetch_quote"), .payload = quote_input()},
    };
    struct store_run run = run_new(2, "default", "monitor-1", "PriceMonitor", STORE_RUN_RUNNING,
                                   start, 0);
    batch_run(b, &run, events, COUNT(events));
    if (store_batch_put_exec(b, run.ns, run.workflow_id, &run.run_id) != 0 ||
        store_batch_put_timer(b, start + 3600000, &run.run_id, 1, 1) != 0 ||
        store_batch_put_activity(b, &run.run_id, 2, "pending", 7) != 0)
        die("cannot add exec, timer or activity", NULL);
    commit(store, b);
}

/* Runs 3, 4 and 5 of default/screener: each continues as the next. */
static void write_screener(struct store *store, struct store_batch *b)
{
    for (int n = 3; n <= 5; n++) {
        int64_t start = T0 + 300000 + (n - 3) * 60000;
        bool last = n == 5;
        struct store_run run = run_new(n, "default", "screener", "Screener",
                                       last ? STORE_RUN_COMPLETED : STORE_RUN_CONTINUED_AS_NEW,
                                       start, start + 20);
        if (n > 3)
            run.prev_run = run_id(n - 1);
        if (!last)
            run.next_run = run_id(n + 1);
        const struct store_event events[] = {
            {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = start, .name = text("Screener"),
             .payload = map_int("page", n - 2), .run_id = run.prev_run},
            {.type = STORE_EV_TASK_COMPLETED, .time_ms = start + 20, .ref_event_id = 1},
            {.type = last ? STORE_EV_WORKFLOW_COMPLETED : STORE_EV_CONTINUED_AS_NEW,
             .time_ms = start + 20,
             .payload = last ? map_int("matches", 7) : map_int("page", n - 1),
             .run_id = run.next_run},
        };
        batch_run(b, &run, events, COUNT(events));
        if (store_batch_put_exec(b, run.ns, run.workflow_id, &run.run_id) != 0)
            die("cannot add exec", NULL);
        commit(store, b);
    }
}

static void write_report(struct store *store, struct store_batch *b)
{
    int64_t start = T0 + 600000;
    const struct store_event events[] = {
        {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = start, .name = text("DailyReport")},
        {.type = STORE_EV_TASK_COMPLETED, .time_ms = start + 5, .ref_event_id = 1},
        {.type = STORE_EV_ACTIVITY_SCHEDULED, .time_ms = start + 5, .seq = 1,
         .name = text("fetch_news")},
        {.type = STORE_EV_ACTIVITY_TIMED_OUT, .time_ms = start + 95000, .seq = 1, .attempt = 3,
         .failure_type = text("StartToClose")},
        {.type = STORE_EV_TASK_COMPLETED, .time_ms = start + 95010, .ref_event_id = 4},
        {.type = STORE_EV_WORKFLOW_FAILED, .time_ms = start + 95010,
         .failure_type = text("ActivityError"), .failure_message = text("fetch_news timed out")},
    };
    struct store_run run = run_new(6, "tenant-b", "report-1", "DailyReport", STORE_RUN_FAILED,
                                   start, start + 95010);
    batch_run(b, &run, events, COUNT(events));
    if (store_batch_put_exec(b, run.ns, run.workflow_id, &run.run_id) != 0)
        die("cannot add exec", NULL);
    commit(store, b);
}

static void write_good(const char *dir)
{
    struct store *store = store_open_rw(dir);
    struct store_batch *b = store_batch_new();
    if (b == NULL)
        die("out of memory", NULL);
    write_order(store, b);
    write_monitor(store, b);
    write_screener(store, b);
    write_report(store, b);
    store_batch_free(b);
    store_close(store);
}

/* Signals to run 7 whose payloads test the bounds of ttai-history's
 * msgpack printer: each must print, as JSON or as hex, and never make it
 * allocate for a claim or recurse. */
static void write_payloads(const char *dir)
{
    static uint8_t deep[41], nested[21], long_str[303];
    memset(deep, 0x91, 40);   /* 40 arrays of one element each, then nil */
    deep[40] = 0xc0;
    memset(nested, 0x91, 20); /* 20 of them, then 1: within the depth bound */
    nested[20] = 0x01;
    long_str[0] = 0xda;       /* str16 of 300 bytes */
    long_str[1] = 300 >> 8;
    long_str[2] = 300 & 0xff;
    memset(long_str + 3, 'x', 300);
    msgpack_packer pk = payload_begin();
    msgpack_pack_map(&pk, 5);
    msgpack_pack_int64(&pk, 1);  /* not a string key */
    msgpack_pack_bin(&pk, 2);
    msgpack_pack_bin_body(&pk, "\x01\x02", 2);
    pack_str(&pk, "f");
    msgpack_pack_double(&pk, NAN);
    pack_str(&pk, "u");
    msgpack_pack_uint64(&pk, UINT64_MAX);
    pack_str(&pk, "s");
    msgpack_pack_str(&pk, 1);
    msgpack_pack_str_body(&pk, "\xff", 1); /* not UTF-8 */
    msgpack_pack_str(&pk, 1);
    msgpack_pack_str_body(&pk, "\xfe", 1); /* a key that is not UTF-8 */
    msgpack_pack_int64(&pk, 7);
    const struct store_bytes payloads_of_signals[] = {
        {(const uint8_t *)"\xdd\xff\xff\xff\xff", 5}, /* an array claiming 2^32-1 items */
        {deep, sizeof(deep)},
        {nested, sizeof(nested)},
        payload_end(),
        {(const uint8_t *)"\xd4\x05\x07", 3},         /* fixext 1, type 5 */
        {(const uint8_t *)"\x01\x02", 2},             /* two values */
        {long_str, sizeof(long_str)},                 /* cut in the table */
    };
    struct store_run run = run_new(7, "default", "payloads", "Payloads", STORE_RUN_RUNNING, T0, 0);
    struct store_event events[1 + COUNT(payloads_of_signals)];
    memset(events, 0, sizeof(events));
    events[0] = (struct store_event){.type = STORE_EV_WORKFLOW_STARTED, .time_ms = T0,
                                     .name = text("Payloads")};
    for (size_t i = 0; i < COUNT(payloads_of_signals); i++)
        events[i + 1] = (struct store_event){.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = T0,
                                             .name = text("odd"),
                                             .payload = payloads_of_signals[i]};
    struct store *store = store_open_rw(dir);
    struct store_batch *b = store_batch_new();
    if (b == NULL)
        die("out of memory", NULL);
    batch_run(b, &run, events, COUNT(events));
    if (store_batch_put_exec(b, run.ns, run.workflow_id, &run.run_id) != 0)
        die("cannot add exec", NULL);
    commit(store, b);
    store_batch_free(b);
    store_close(store);
}

/* ---- Corruptions ---------------------------------------------------------------- */

/* Replaces (val not NULL) or deletes one history entry, bypassing store.h. */
static void hist_edit(const char *dir, int run, uint64_t event_id, const void *val, size_t len)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t kbuf[24];
    struct ttai_run_id id = run_id(run);
    memcpy(kbuf, id.b, 16);
    for (int i = 0; i < 8; i++)
        kbuf[16 + i] = (uint8_t)(event_id >> (56 - 8 * i));
    MDB_val key = {sizeof(kbuf), kbuf}, data = {len, (void *)val};
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 16);
    if (rc == 0)
        rc = mdb_env_open(env, dir, 0, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "hist", 0, &dbi);
    if (rc == 0)
        rc = val ? mdb_put(txn, dbi, &key, &data, 0) : mdb_del(txn, dbi, &key, NULL);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    if (rc != 0) {
        fprintf(stderr, "history_fixture: cannot edit history in '%s': %s\n", dir,
                mdb_strerror(rc));
        exit(1);
    }
    mdb_env_close(env);
}

/* Commits one batch that fill() builds to the store in dir. */
static void change(const char *dir, int (*fill)(struct store_batch *b))
{
    struct store *store = store_open_rw(dir);
    struct store_batch *b = store_batch_new();
    if (b == NULL || fill(b) != 0)
        die("cannot build the corrupting batch", NULL);
    commit(store, b);
    store_batch_free(b);
    store_close(store);
}

static int fill_timer(struct store_batch *b) /* a timer left on closed run 1 */
{
    struct ttai_run_id id = run_id(1);
    return store_batch_put_timer(b, T0 + 90000, &id, 9, 1);
}

static int fill_orphan(struct store_batch *b) /* a timer of run 9, which does not exist */
{
    struct ttai_run_id id = run_id(9);
    return store_batch_put_timer(b, T0 + 90000, &id, 1, 1);
}

static int fill_link(struct store_batch *b) /* run 4 forgets that it continues run 3 */
{
    int64_t start = T0 + 360000;
    struct store_run run = run_new(4, "default", "screener", "Screener",
                                   STORE_RUN_CONTINUED_AS_NEW, start, start + 20);
    run.next_run = run_id(5);
    return store_batch_put_run(b, &run);
}

static int fill_exec(struct store_batch *b) /* default/order-1 points at run 9 */
{
    struct ttai_run_id id = run_id(9);
    return store_batch_put_exec(b, "default", "order-1", &id);
}

static void corrupt_gap(const char *dir) { hist_edit(dir, 1, 3, NULL, 0); }
static void corrupt_noclose(const char *dir) { hist_edit(dir, 6, 6, NULL, 0); }
static void corrupt_decode(const char *dir) { hist_edit(dir, 1, 4, "\xc1", 1); }
static void corrupt_timer(const char *dir) { change(dir, fill_timer); }
static void corrupt_orphan(const char *dir) { change(dir, fill_orphan); }
static void corrupt_link(const char *dir) { change(dir, fill_link); }
static void corrupt_exec(const char *dir) { change(dir, fill_exec); }

static const struct {
    const char *kind;
    void (*apply)(const char *dir);
} kinds[] = {
    {"gap", corrupt_gap},         /* run 1 loses event 3 */
    {"noclose", corrupt_noclose}, /* Failed run 6 loses its WorkflowFailed */
    {"decode", corrupt_decode},   /* event 4 of run 1 is the byte 0xc1 */
    {"timer", corrupt_timer},
    {"orphan", corrupt_orphan},
    {"link", corrupt_link},
    {"exec", corrupt_exec},
};

/* ---- Writer ---------------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

#define WRITER_SECONDS_MAX 50 /* stop on our own before any test timeout */

/* One batch: a whole workflow (started, task, completed) and a signal to
 * the long-running run 10, so that its history grows under the readers. */
static void writer_batch(struct store_batch *b, int n, int64_t now)
{
    struct ttai_run_id live = run_id(10);
    char wf[32];
    snprintf(wf, sizeof(wf), "live-%d", n);
    struct store_run run = run_new(0, "default", wf, "Live", STORE_RUN_COMPLETED, now, now + 1);
    if (ttai_run_id_random(&run.run_id) != 0)
        die("cannot make a run id", NULL);
    const struct store_event events[] = {
        {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = now, .name = text("Live")},
        {.type = STORE_EV_TASK_COMPLETED, .time_ms = now + 1, .ref_event_id = 1},
        {.type = STORE_EV_WORKFLOW_COMPLETED, .time_ms = now + 1},
    };
    struct store_event signal = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = now,
                                 .name = text("tick")};
    struct ttai_err err = {0};
    batch_run(b, &run, events, COUNT(events));
    if (store_batch_put_exec(b, run.ns, run.workflow_id, &run.run_id) != 0 ||
        store_batch_append(b, &live, &signal, &err) != 0)
        die("cannot add to the writer's batch", &err);
}

static int run_writer(const char *dir, const char *ready)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct store *store = store_open_rw(dir);
    struct store_batch *b = store_batch_new();
    if (b == NULL)
        die("out of memory", NULL);
    /* The long-running run that every batch signals. */
    struct store_run live = run_new(10, "default", "live-signals", "Live", STORE_RUN_RUNNING,
                                    T0, 0);
    struct store_event started = {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = T0,
                                  .name = text("Live")};
    batch_run(b, &live, &started, 1);
    if (store_batch_put_exec(b, live.ns, live.workflow_id, &live.run_id) != 0)
        die("cannot add exec", NULL);
    commit(store, b);
    FILE *f = fopen(ready, "w");
    if (f == NULL || fclose(f) != 0) {
        fprintf(stderr, "history_fixture: cannot create '%s': %s\n", ready, strerror(errno));
        return 1;
    }
    int64_t deadline = ttai_mono_ns() + (int64_t)WRITER_SECONDS_MAX * 1000000000;
    for (int n = 1; !stop_requested && ttai_mono_ns() < deadline; n++) {
        writer_batch(b, n, T0 + n);
        commit(store, b);
        nanosleep(&(struct timespec){0, 2000000}, NULL); /* 2 ms: a steady trickle */
    }
    store_batch_free(b);
    store_close(store);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "good") == 0) {
        write_good(argv[2]);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "payloads") == 0) {
        write_payloads(argv[2]);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "empty") == 0) {
        store_close(store_open_rw(argv[2]));
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "corrupt") == 0) {
        for (size_t i = 0; i < COUNT(kinds); i++) {
            if (strcmp(argv[2], kinds[i].kind) == 0) {
                write_good(argv[3]);
                kinds[i].apply(argv[3]);
                return 0;
            }
        }
        fprintf(stderr, "history_fixture: unknown corruption '%s'\n", argv[2]);
        return 2;
    }
    if (argc == 4 && strcmp(argv[1], "writer") == 0)
        return run_writer(argv[2], argv[3]);
    fprintf(stderr, "usage: history_fixture good|empty|payloads DIR | corrupt KIND DIR"
                    " | writer DIR READY\n");
    return 2;
}
