/* crash_writer.c: the child process of the crash test (crash_test.c).
 *
 *   crash_writer DIR [--threads N] [--seed S]
 *
 * Opens the store in DIR read-write, takes over every run of namespace
 * "crash" that is still Running, prints `ready <open-runs>`, then lets N
 * submitter threads append batches until SIGTERM (a clean stop: every batch
 * in flight is finished, the store is closed, `bye` is printed, exit 0) or
 * SIGKILL (the point of the test).
 *
 * Each thread owns some runs and keeps up to INFLIGHT_MAX batches in flight
 * with store_submit(). A batch is one of:
 *
 *   new run     require_exec(absent), put_run(Running), put_exec,
 *               WorkflowStarted [, TaskCompleted, ActivityScheduled...]
 *   append      require Running and last event; TaskCompleted then 0-5 of
 *               ActivityScheduled (+put_activity), ActivityCompleted/Failed
 *               (+del_activity), TimerStarted (+put_timer), TimerFired
 *               (+del_timer), SignalReceived, MarkerRecorded
 *   close       TaskCompleted, a closing event, put_run(closed status),
 *               del_timer/del_activity of everything still pending
 *   continue    TaskCompleted, ContinuedAsNew(run_id = new run); the old run
 *               put ContinuedAsNew with next_run and its timers/activities
 *               deleted; the new run put with prev_run, put_exec to it, its
 *               WorkflowStarted(run_id = old run): all in one batch
 *
 * Conventions the checker relies on: an activity's and a timer's seq is the
 * event id of its ActivityScheduled/TimerStarted event; TaskCompleted's
 * ref_event_id is the event before it.
 *
 * Output (stdout, one write() per batch, only from the commit callback, that
 * is after the batch is durable): one line per run the batch appended to,
 *
 *   ack <run-id> <first-event-id> <count> <type>,<type>,... <status>
 *
 * where status is the run status the batch put (1 Running for a new run,
 * 2-7 when it closed the run) or 0 when it did not put the run. Any refused
 * batch or unexpected event id is a bug: the writer says so on stderr and
 * exits with status 3.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS "crash"
#define WF_TYPE "crash_flow"
#define THREADS_MAX 16
#define RUNS_PER_THREAD 8           /* open runs a thread keeps going */
#define RUNS_CAP 64                 /* runs a thread can hold after recovery */
#define ACTS_MAX 4                  /* pending activities per run */
#define TIMERS_MAX 4                /* pending timers per run */
#define EXTRA_EVENTS_MAX 5          /* events after TaskCompleted in an append */
#define HISTORY_LEN_MAX 200         /* a longer run is closed or continued */
#define INFLIGHT_MAX 4              /* batches a thread has submitted, not acked */
#define SEG_EVENTS_MAX 16
#define EXIT_BUG 3

/* ---- State ---------------------------------------------------------------- */

struct wtimer {
    int64_t fire_ms;
    uint64_t seq;
};

/* A Running run as its owning thread sees it: the state after every batch
 * it has submitted (acknowledged or not). */
struct wrun {
    struct ttai_run_id id;
    char workflow_id[STORE_WORKFLOW_ID_MAX + 1];
    int64_t start_ms;
    struct ttai_run_id prev_run;
    uint64_t last_event_id;
    uint64_t acts[ACTS_MAX];        /* seqs of pending activities */
    int act_count;
    struct wtimer timers[TIMERS_MAX];
    int timer_count;
};

struct writer;

struct wthread {
    struct writer *w;
    int index;
    pthread_t thread;
    uint64_t rng;
    struct wrun runs[RUNS_CAP];
    int run_count;
    pthread_mutex_t mu;             /* guards inflight */
    pthread_cond_t cv;              /* signalled when a batch is acked */
    int inflight;
};

struct writer {
    struct store *store;
    atomic_bool stop;
    int thread_count;
    struct wthread threads[THREADS_MAX];
};

/* What one batch appended to one run, for its ack line. */
struct seg {
    struct ttai_run_id run;
    size_t first_index;             /* among the batch's appends */
    uint64_t expect_first;          /* the id the writer expects it to get */
    int count;
    uint8_t types[SEG_EVENTS_MAX];
    int status;                     /* the status put, 0 when the run was not put */
};

/* The callback's argument; freed by the callback. */
struct pending {
    struct wthread *owner;
    struct seg segs[2];
    int seg_count;
    size_t events;
};

/* ---- Helpers ----------------------------------------------------------------- */

static void fail(const char *what, int rc, const struct ttai_err *err)
{
    fprintf(stderr, "crash_writer: %s: %s (%s)\n", what,
            err != NULL && err->msg[0] ? err->msg : ttai_strerror(rc), ttai_rc_name(rc));
    _exit(EXIT_BUG);
}

static void check(int rc, const char *what)
{
    if (rc != 0)
        fail(what, rc, NULL);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static int rng_below(uint64_t *s, int n)
{
    return (int)(rng_next(s) % (uint64_t)n);
}

static void write_all(const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "crash_writer: cannot write to stdout: %s\n", strerror(errno));
            _exit(EXIT_BUG);
        }
        text += n;
        len -= (size_t)n;
    }
}

/* Payloads are small msgpack maps: {"id": 300, "ok": true} and
 * {"symbol": "MSFT", "qty": 100, "limit": 400.8}. */
static const char payload_small_bytes[] = "\x82\xa2id\xcd\x01\x2c\xa2ok\xc3";
static const char payload_order_bytes[] =
    "\x83\xa6symbol\xa4MSFT\xa3qty\x64\xa5limit\xcb\x40\x79\x0c\xcc\xcc\xcc\xcc\xcd";
static const struct store_bytes payload_small = {(const uint8_t *)payload_small_bytes,
                                                 sizeof(payload_small_bytes) - 1};
static const struct store_bytes payload_order = {(const uint8_t *)payload_order_bytes,
                                                 sizeof(payload_order_bytes) - 1};

static struct store_bytes text_bytes(const char *s)
{
    return (struct store_bytes){(const uint8_t *)s, strlen(s)};
}

/* ---- Building a batch ---------------------------------------------------------- */

struct builder {
    struct store_batch *batch;
    struct pending *p;
    struct seg *seg;                /* the segment appends go to */
};

static void builder_init(struct builder *bd, struct wthread *t)
{
    bd->batch = store_batch_new();
    bd->p = ttai_calloc(1, sizeof(*bd->p));
    if (bd->batch == NULL || bd->p == NULL)
        fail("cannot build a batch", TTAI_ENOMEM, NULL);
    bd->p->owner = t;
    bd->seg = NULL;
}

static void seg_begin(struct builder *bd, const struct wrun *r, int status)
{
    struct seg *s = &bd->p->segs[bd->p->seg_count++];
    s->run = r->id;
    s->first_index = bd->p->events;
    s->expect_first = r->last_event_id + 1;
    s->status = status;
    bd->seg = s;
}

/* Appends ev to r's history in the batch. Returns the event's id. */
static uint64_t append(struct builder *bd, struct wrun *r, struct store_event *ev)
{
    struct ttai_err err;
    TTAI_ASSERT(bd->seg != NULL && ttai_run_id_eq(&bd->seg->run, &r->id));
    TTAI_ASSERT(bd->seg->count < SEG_EVENTS_MAX);
    ev->time_ms = ttai_wall_ms();
    int rc = store_batch_append(bd->batch, &r->id, ev, &err);
    if (rc != 0)
        fail("cannot append", rc, &err);
    bd->seg->types[bd->seg->count++] = (uint8_t)ev->type;
    bd->p->events++;
    return ++r->last_event_id;
}

static void put_run(struct builder *bd, const struct wrun *r, int status, int64_t close_ms,
                    const struct ttai_run_id *next_run)
{
    struct store_run run = {.run_id = r->id, .status = status, .start_ms = r->start_ms,
                            .close_ms = close_ms, .prev_run = r->prev_run};
    snprintf(run.ns, sizeof(run.ns), "%s", NS);
    snprintf(run.workflow_id, sizeof(run.workflow_id), "%s", r->workflow_id);
    snprintf(run.type, sizeof(run.type), "%s", WF_TYPE);
    if (next_run != NULL)
        run.next_run = *next_run;
    check(store_batch_put_run(bd->batch, &run), "cannot put a run");
}

static void task_completed(struct builder *bd, struct wrun *r)
{
    struct store_event ev = {.type = STORE_EV_TASK_COMPLETED, .ref_event_id = r->last_event_id};
    append(bd, r, &ev);
}

static void workflow_started(struct builder *bd, struct wrun *r)
{
    struct store_event ev = {.type = STORE_EV_WORKFLOW_STARTED, .name = text_bytes(WF_TYPE),
                             .payload = payload_order, .exec_timeout_ms = 3600000,
                             .run_timeout_ms = 600000, .run_id = r->prev_run};
    append(bd, r, &ev);
}

/* Drops index i of an array of n items by moving the last one into it. */
#define DROP_AT(array, count, i) ((array)[(i)] = (array)[--(count)])

static void schedule_activity(struct builder *bd, struct wrun *r)
{
    struct store_event ev = {.type = STORE_EV_ACTIVITY_SCHEDULED, .seq = r->last_event_id + 1,
                             .name = text_bytes("place_order"), .payload = payload_order,
                             .has_opts = true};
    ev.opts.start_to_close_ms = 30000;
    ev.opts.initial_interval_ms = 1000;
    ev.opts.backoff = 2.0;
    ev.opts.max_attempts = 3;
    uint64_t seq = append(bd, r, &ev);
    char record[64];
    int len = snprintf(record, sizeof(record), "activity %" PRIu64 " attempt 1", seq);
    check(store_batch_put_activity(bd->batch, &r->id, seq, record, (size_t)len),
          "cannot put an activity");
    r->acts[r->act_count++] = seq;
}

static void finish_activity(struct builder *bd, struct wrun *r, int i, bool ok)
{
    struct store_event ev = {.type = ok ? STORE_EV_ACTIVITY_COMPLETED : STORE_EV_ACTIVITY_FAILED,
                             .seq = r->acts[i], .attempt = ok ? 1 : 3};
    if (ok) {
        ev.payload = payload_small;
    } else {
        ev.failure_type = text_bytes("BrokerRejected");
        ev.failure_message = text_bytes("insufficient buying power");
    }
    append(bd, r, &ev);
    check(store_batch_del_activity(bd->batch, &r->id, r->acts[i]), "cannot delete an activity");
    DROP_AT(r->acts, r->act_count, i);
}

static void start_timer(struct builder *bd, struct wrun *r, uint64_t *rng)
{
    int64_t fire_ms = ttai_wall_ms() + 60000 + rng_below(rng, 60000);
    struct store_event ev = {.type = STORE_EV_TIMER_STARTED, .seq = r->last_event_id + 1,
                             .fire_ms = fire_ms};
    uint64_t seq = append(bd, r, &ev);
    check(store_batch_put_timer(bd->batch, fire_ms, &r->id, seq, 1), "cannot put a timer");
    r->timers[r->timer_count++] = (struct wtimer){fire_ms, seq};
}

static void fire_timer(struct builder *bd, struct wrun *r, int i)
{
    struct store_event ev = {.type = STORE_EV_TIMER_FIRED, .seq = r->timers[i].seq,
                             .fire_ms = r->timers[i].fire_ms};
    append(bd, r, &ev);
    check(store_batch_del_timer(bd->batch, r->timers[i].fire_ms, &r->id, r->timers[i].seq),
          "cannot delete a timer");
    DROP_AT(r->timers, r->timer_count, i);
}

/* Appends one random event that fits r's state. */
static void random_event(struct builder *bd, struct wrun *r, uint64_t *rng)
{
    for (;;) {
        switch (rng_below(rng, 7)) {
        case 0:
            if (r->act_count == ACTS_MAX)
                continue;
            schedule_activity(bd, r);
            return;
        case 1:
        case 2:
            if (r->act_count == 0)
                continue;
            finish_activity(bd, r, rng_below(rng, r->act_count), rng_below(rng, 4) != 0);
            return;
        case 3:
            if (r->timer_count == TIMERS_MAX)
                continue;
            start_timer(bd, r, rng);
            return;
        case 4:
            if (r->timer_count == 0)
                continue;
            fire_timer(bd, r, rng_below(rng, r->timer_count));
            return;
        case 5: {
            struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED,
                                     .name = text_bytes("price_alert"), .payload = payload_small};
            append(bd, r, &ev);
            return;
        }
        default: {
            struct store_event ev = {.type = STORE_EV_MARKER_RECORDED, .seq = r->last_event_id + 1,
                                     .name = text_bytes("side_effect"), .payload = payload_small};
            append(bd, r, &ev);
            return;
        }
        }
    }
}

/* Deletes the timer and activity records of a run that closes. */
static void drop_pending(struct builder *bd, struct wrun *r)
{
    for (int i = 0; i < r->timer_count; i++)
        check(store_batch_del_timer(bd->batch, r->timers[i].fire_ms, &r->id, r->timers[i].seq),
              "cannot delete a timer");
    for (int i = 0; i < r->act_count; i++)
        check(store_batch_del_activity(bd->batch, &r->id, r->acts[i]), "cannot delete an activity");
    r->timer_count = r->act_count = 0;
}

static void require_current(struct builder *bd, const struct wrun *r)
{
    check(store_batch_require_run_status(bd->batch, &r->id, STORE_RUN_RUNNING), "require status");
    check(store_batch_require_last_event(bd->batch, &r->id, r->last_event_id), "require last");
}

/* ---- The four kinds of batch ------------------------------------------------- */

static void new_run_init(struct wrun *r, uint64_t *rng, const struct ttai_run_id *prev,
                         const char *workflow_id)
{
    memset(r, 0, sizeof(*r));
    check(ttai_run_id_random(&r->id), "cannot make a run id");
    if (prev != NULL)
        r->prev_run = *prev;
    if (workflow_id != NULL)
        snprintf(r->workflow_id, sizeof(r->workflow_id), "%s", workflow_id);
    else
        snprintf(r->workflow_id, sizeof(r->workflow_id), "order-%016" PRIx64, rng_next(rng));
    r->start_ms = ttai_wall_ms();
}

static void batch_new_run(struct builder *bd, struct wthread *t)
{
    struct wrun *r = &t->runs[t->run_count++];
    new_run_init(r, &t->rng, NULL, NULL);
    check(store_batch_require_exec(bd->batch, NS, r->workflow_id, NULL), "require exec");
    put_run(bd, r, STORE_RUN_RUNNING, 0, NULL);
    check(store_batch_put_exec(bd->batch, NS, r->workflow_id, &r->id), "cannot put exec");
    seg_begin(bd, r, STORE_RUN_RUNNING);
    workflow_started(bd, r);
    if (rng_below(&t->rng, 2) == 0) {
        task_completed(bd, r);
        schedule_activity(bd, r);
    }
}

static void batch_append(struct builder *bd, struct wthread *t, struct wrun *r)
{
    require_current(bd, r);
    seg_begin(bd, r, 0);
    task_completed(bd, r);
    int extra = rng_below(&t->rng, EXTRA_EVENTS_MAX + 1);
    for (int i = 0; i < extra; i++)
        random_event(bd, r, &t->rng);
}

static const struct {
    int event_type;
    int status;
} closings[] = {
    {STORE_EV_WORKFLOW_COMPLETED, STORE_RUN_COMPLETED},
    {STORE_EV_WORKFLOW_FAILED, STORE_RUN_FAILED},
    {STORE_EV_WORKFLOW_CANCELED, STORE_RUN_CANCELED},
    {STORE_EV_WORKFLOW_TERMINATED, STORE_RUN_TERMINATED},
    {STORE_EV_WORKFLOW_TIMED_OUT, STORE_RUN_TIMED_OUT},
};

/* Closes t->runs[i] and forgets it. */
static void batch_close(struct builder *bd, struct wthread *t, int i)
{
    struct wrun *r = &t->runs[i];
    int k = rng_below(&t->rng, (int)(sizeof(closings) / sizeof(closings[0])));
    require_current(bd, r);
    seg_begin(bd, r, closings[k].status);
    task_completed(bd, r);
    struct store_event ev = {.type = closings[k].event_type};
    if (closings[k].status == STORE_RUN_COMPLETED)
        ev.payload = payload_small;
    else
        ev.failure_message = text_bytes("closed by the crash test");
    append(bd, r, &ev);
    drop_pending(bd, r);
    put_run(bd, r, closings[k].status, ttai_wall_ms(), NULL);
    DROP_AT(t->runs, t->run_count, i);
}

/* Continues t->runs[i] as a new run, which takes its place. */
static void batch_continue(struct builder *bd, struct wthread *t, int i)
{
    struct wrun *old = &t->runs[i], next;
    new_run_init(&next, &t->rng, &old->id, old->workflow_id);
    check(store_batch_require_exec(bd->batch, NS, old->workflow_id, &old->id), "require exec");
    require_current(bd, old);
    seg_begin(bd, old, STORE_RUN_CONTINUED_AS_NEW);
    task_completed(bd, old);
    struct store_event ev = {.type = STORE_EV_CONTINUED_AS_NEW, .run_id = next.id,
                             .payload = payload_order};
    append(bd, old, &ev);
    drop_pending(bd, old);
    put_run(bd, old, STORE_RUN_CONTINUED_AS_NEW, ttai_wall_ms(), &next.id);
    put_run(bd, &next, STORE_RUN_RUNNING, 0, NULL);
    check(store_batch_put_exec(bd->batch, NS, next.workflow_id, &next.id), "cannot put exec");
    seg_begin(bd, &next, STORE_RUN_RUNNING);
    workflow_started(bd, &next);
    *old = next;
}

/* ---- Submitting and acknowledging ---------------------------------------------- */

/* The commit callback, on the store's writer thread: the batch is durable. */
static void batch_done(struct store_batch *batch, int rc, const struct ttai_err *err, void *arg)
{
    struct pending *p = arg;
    if (rc != 0)
        fail("a batch was refused", rc, err);
    char text[2048];
    size_t len = 0;
    for (int s = 0; s < p->seg_count; s++) {
        const struct seg *seg = &p->segs[s];
        uint64_t first = store_batch_event_id(batch, seg->first_index);
        char id[TTAI_RUN_ID_TEXT];
        if (first != seg->expect_first) {
            fprintf(stderr, "crash_writer: run %s got event id %" PRIu64 ", expected %" PRIu64 "\n",
                    ttai_run_id_format(&seg->run, id), first, seg->expect_first);
            _exit(EXIT_BUG);
        }
        len += (size_t)snprintf(text + len, sizeof(text) - len, "ack %s %" PRIu64 " %d ",
                                ttai_run_id_format(&seg->run, id), first, seg->count);
        for (int i = 0; i < seg->count; i++)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%d", i ? "," : "",
                                    seg->types[i]);
        len += (size_t)snprintf(text + len, sizeof(text) - len, " %d\n", seg->status);
    }
    TTAI_ASSERT(len < sizeof(text));
    write_all(text, len);
    struct wthread *t = p->owner;
    ttai_free(p);
    pthread_mutex_lock(&t->mu);
    t->inflight--;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* Builds one random batch from t's runs. */
static void build_batch(struct builder *bd, struct wthread *t)
{
    int roll = rng_below(&t->rng, 100);
    if (t->run_count == 0 || (t->run_count < RUNS_PER_THREAD && roll < 10)) {
        batch_new_run(bd, t);
        return;
    }
    int i = rng_below(&t->rng, t->run_count);
    bool long_run = t->runs[i].last_event_id > HISTORY_LEN_MAX;
    if (roll < 18 || (long_run && roll < 60))
        batch_close(bd, t, i);
    else if (roll < 25 || long_run)
        batch_continue(bd, t, i);
    else
        batch_append(bd, t, &t->runs[i]);
}

static void *thread_main(void *arg)
{
    struct wthread *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (t->inflight == INFLIGHT_MAX && !atomic_load(&t->w->stop))
            pthread_cond_wait(&t->cv, &t->mu);
        if (atomic_load(&t->w->stop))
            break;
        t->inflight++;
        pthread_mutex_unlock(&t->mu);
        struct builder bd;
        builder_init(&bd, t);
        build_batch(&bd, t);
        int rc = store_submit(t->w->store, bd.batch, batch_done, bd.p);
        if (rc != 0)
            fail("cannot submit", rc, NULL);
        pthread_mutex_lock(&t->mu);
    }
    while (t->inflight > 0)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* ---- Recovery -------------------------------------------------------------------- */

static struct wrun *find_run(struct writer *w, const struct ttai_run_id *id)
{
    for (int t = 0; t < w->thread_count; t++)
        for (int i = 0; i < w->threads[t].run_count; i++)
            if (ttai_run_id_eq(&w->threads[t].runs[i].id, id))
                return &w->threads[t].runs[i];
    return NULL;
}

/* Loads a Running run and its pending activities into the next thread. */
static void recover_run(struct writer *w, struct store_read *rd, const struct ttai_run_id *id,
                        int n)
{
    struct wthread *t = &w->threads[n % w->thread_count];
    if (t->run_count == RUNS_CAP)
        fail("too many Running runs to recover", TTAI_ETOOBIG, NULL);
    struct wrun *r = &t->runs[t->run_count++];
    struct store_run run;
    struct ttai_err err;
    int rc = store_run_get(rd, id, &run, &err);
    if (rc != 0)
        fail("cannot read a Running run", rc, &err);
    memset(r, 0, sizeof(*r));
    r->id = run.run_id;
    snprintf(r->workflow_id, sizeof(r->workflow_id), "%s", run.workflow_id);
    r->start_ms = run.start_ms;
    r->prev_run = run.prev_run;
    r->last_event_id = run.last_event_id;
    struct store_iter it;
    rc = store_activity_iter_init(&it, rd, id, &err);
    struct ttai_run_id act_run;
    uint64_t seq;
    struct store_bytes record;
    while (rc == 0 && (rc = store_activity_iter_next(&it, &act_run, &seq, &record, &err)) == 1) {
        if (r->act_count == ACTS_MAX)
            fail("a run has too many pending activities", TTAI_ECORRUPT, NULL);
        r->acts[r->act_count++] = seq;
        rc = 0;
    }
    store_iter_release(&it);
    if (rc < 0)
        fail("cannot read activities", rc, &err);
}

/* Takes over every Running run of the namespace. Returns how many. */
static int recover(struct writer *w)
{
    struct store_read *rd;
    struct ttai_err err;
    int rc = store_read_begin(w->store, &rd, &err);
    if (rc != 0)
        fail("cannot begin a read", rc, &err);
    struct store_vis_query q = {.ns = NS, .index = STORE_VIS_STATUS, .status = STORE_RUN_RUNNING};
    struct store_iter it;
    int64_t start_ms;
    struct ttai_run_id id;
    int n = 0;
    rc = store_vis_iter_init(&it, rd, &q, &err);
    while (rc == 0 && (rc = store_vis_iter_next(&it, &start_ms, &id, &err)) == 1) {
        recover_run(w, rd, &id, n++);
        rc = 0;
    }
    store_iter_release(&it);
    if (rc < 0)
        fail("cannot list Running runs", rc, &err);
    struct store_timer timer;
    rc = store_timer_iter_init(&it, rd, INT64_MAX, &err);
    while (rc == 0 && (rc = store_timer_iter_next(&it, &timer, &err)) == 1) {
        struct wrun *r = find_run(w, &timer.run_id);
        if (r == NULL || r->timer_count == TIMERS_MAX)
            fail("a timer belongs to no Running run, or to one with too many",
                 TTAI_ECORRUPT, NULL);
        r->timers[r->timer_count++] = (struct wtimer){timer.fire_ms, timer.seq};
        rc = 0;
    }
    store_iter_release(&it);
    if (rc < 0)
        fail("cannot list timers", rc, &err);
    store_read_end(rd);
    return n;
}

/* ---- main ---------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: crash_writer DIR [--threads N] [--seed S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        return usage();
    int threads = 4;
    uint64_t seed = (uint64_t)ttai_mono_ns() ^ (uint64_t)getpid();
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else
            return usage();
    }
    if (argc % 2 != 0 || threads < 1 || threads > THREADS_MAX)
        return usage();

    /* SIGTERM and SIGINT are taken by sigwait() in main only. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    static struct writer w;
    w.thread_count = threads;
    struct ttai_err err;
    struct store_opts opts = {.dir = argv[1]};
    int rc = store_open(&w.store, &opts, &err);
    if (rc != 0)
        fail("cannot open the store", rc, &err);
    int open_runs = recover(&w);
    char line[64];
    write_all(line, (size_t)snprintf(line, sizeof(line), "ready %d\n", open_runs));

    for (int i = 0; i < threads; i++) {
        struct wthread *t = &w.threads[i];
        t->w = &w;
        t->index = i;
        t->rng = (seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1))) | 1;
        pthread_mutex_init(&t->mu, NULL);
        pthread_cond_init(&t->cv, NULL);
        check(pthread_create(&t->thread, NULL, thread_main, t) == 0 ? 0 : TTAI_EIO,
              "cannot start a thread");
    }
    int sig;
    sigwait(&stop_signals, &sig);
    atomic_store(&w.stop, true);
    for (int i = 0; i < threads; i++) {
        pthread_mutex_lock(&w.threads[i].mu);
        pthread_cond_signal(&w.threads[i].cv);
        pthread_mutex_unlock(&w.threads[i].mu);
        pthread_join(w.threads[i].thread, NULL);
        pthread_mutex_destroy(&w.threads[i].mu);
        pthread_cond_destroy(&w.threads[i].cv);
    }
    store_close(w.store);
    write_all("bye\n", 4);
    return 0;
}
