/* crash_check.c: what the crash test checks in the store after each kill.
 *
 * Acks. Every event the writer reported durable is in its run's history
 * with the reported type, and a run an ack closed has that status.
 *
 * Invariants of the store the writer keeps (each batch keeps them all, so
 * they must hold after any crash):
 *  1. Every run is in namespace "crash" with type "crash_flow".
 *  2. A run's events have ids 1..last_event_id with no gap.
 *  3. Event 1, and only it, is WorkflowStarted; its run_id is the run's
 *     prev_run. TaskCompleted refers to the event before it.
 *  4. Only the last event may close the run; a run is Running exactly when
 *     its last event does not close it, and a closed run's status matches
 *     its closing event. close_ms is set exactly when the run is closed.
 *  5. A run ContinuedAsNew names its next run in next_run and in the
 *     ContinuedAsNew event; that run exists, has the same workflow id and
 *     names this run as prev_run. Other runs have no next_run.
 *  6. A Running run has a timer record for each TimerStarted not yet fired
 *     (seq = the TimerStarted id, same fire time) and an activity record for
 *     each ActivityScheduled not yet completed or failed (seq = its id), and
 *     no other; a closed run has none.
 *  7. Every execution points at an existing run of that workflow id that is
 *     not ContinuedAsNew (the newest run of the chain).
 */
#include "crash.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PROBLEMS_PRINTED_MAX 50
#define OPEN_MAX 64                 /* open timers or activities followed per run */

struct record {
    struct ttai_run_id run;
    uint64_t seq;
    int64_t fire_ms;                /* timers only */
    bool matched;
};

struct records {
    struct record *items;
    size_t count, cap;
};

struct checker {
    struct store_read *rd;
    int problems;
    struct records timers;
    struct records acts;
    struct crash_stats *stats;
};

static void problem(struct checker *c, const char *fmt, ...) TTAI_PRINTF(2, 3);

static void problem(struct checker *c, const char *fmt, ...)
{
    if (++c->problems > PROBLEMS_PRINTED_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crash check: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static bool records_add(struct records *r, const struct record *item)
{
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct record *grown = ttai_realloc(r->items, cap * sizeof(*grown));
        if (grown == NULL)
            return false;
        r->items = grown;
        r->cap = cap;
    }
    r->items[r->count++] = *item;
    return true;
}

static struct record *records_find(struct records *r, const struct ttai_run_id *run,
                                   uint64_t seq)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->items[i].seq == seq && ttai_run_id_eq(&r->items[i].run, run))
            return &r->items[i];
    return NULL;
}

static int open_read(const char *dir, struct store **store, struct store_read **rd)
{
    struct ttai_err err;
    struct store_opts opts = {.dir = dir, .read_only = true};
    int rc = store_open(store, &opts, &err);
    if (rc == 0) {
        rc = store_read_begin(*store, rd, &err);
        if (rc != 0)
            store_close(*store);
    }
    if (rc != 0)
        fprintf(stderr, "crash check: cannot read the store in '%s': %s\n", dir, err.msg);
    return rc;
}

/* ---- Acks ------------------------------------------------------------------------ */

static void check_ack(struct checker *c, const struct crash_ack *a)
{
    char id[TTAI_RUN_ID_TEXT];
    ttai_run_id_format(&a->run, id);
    for (int k = 0; k < a->count; k++) {
        uint64_t event_id = a->first_event_id + (uint64_t)k;
        struct store_event ev;
        struct ttai_err err;
        int rc = store_event_get(c->rd, &a->run, event_id, &ev, &err);
        if (rc != 0)
            problem(c, "acked event %" PRIu64 " of run %s (writer %d): %s", event_id, id,
                    a->incarnation, err.msg);
        else if (ev.type != a->types[k])
            problem(c, "acked event %" PRIu64 " of run %s is %s, acked as %s", event_id, id,
                    store_event_type_name(ev.type), store_event_type_name(a->types[k]));
    }
    if (a->status == 0)
        return;
    struct store_run run;
    struct ttai_err err;
    int rc = store_run_get(c->rd, &a->run, &run, &err);
    if (rc != 0)
        problem(c, "acked run %s: %s", id, err.msg);
    else if (a->status != STORE_RUN_RUNNING && run.status != a->status)
        problem(c, "run %s is %s, but its close to %s was acked", id,
                store_run_status_name(run.status), store_run_status_name(a->status));
}

int crash_check_acks(const char *dir, const struct crash_ack *acks, size_t count)
{
    struct store *store;
    struct checker c = {0};
    if (open_read(dir, &store, &c.rd) != 0)
        return 1;
    for (size_t i = 0; i < count; i++)
        check_ack(&c, &acks[i]);
    store_read_end(c.rd);
    store_close(store);
    return c.problems;
}

/* ---- Invariants ------------------------------------------------------------------ */

static int status_of_closing(int event_type)
{
    switch (event_type) {
    case STORE_EV_WORKFLOW_COMPLETED: return STORE_RUN_COMPLETED;
    case STORE_EV_WORKFLOW_FAILED: return STORE_RUN_FAILED;
    case STORE_EV_WORKFLOW_CANCELED: return STORE_RUN_CANCELED;
    case STORE_EV_WORKFLOW_TERMINATED: return STORE_RUN_TERMINATED;
    case STORE_EV_WORKFLOW_TIMED_OUT: return STORE_RUN_TIMED_OUT;
    case STORE_EV_CONTINUED_AS_NEW: return STORE_RUN_CONTINUED_AS_NEW;
    default: return 0;
    }
}

/* What a walk over one history found. */
struct walk {
    uint64_t count;
    int last_type;
    struct ttai_run_id continued_to;    /* run_id of a ContinuedAsNew event */
    struct record timers[OPEN_MAX];     /* started, not fired */
    int timer_count;
    uint64_t acts[OPEN_MAX];            /* scheduled, not finished */
    int act_count;
};

static void walk_event(struct checker *c, const char *id, const struct store_event *ev,
                       const struct store_run *run, struct walk *w)
{
    if (ev->event_id != w->count + 1)
        problem(c, "run %s: event %" PRIu64 " follows %" PRIu64, id, ev->event_id, w->count);
    w->count = ev->event_id;
    if ((ev->event_id == 1) != (ev->type == STORE_EV_WORKFLOW_STARTED))
        problem(c, "run %s: event %" PRIu64 " is %s", id, ev->event_id,
                store_event_type_name(ev->type));
    if (ev->type == STORE_EV_WORKFLOW_STARTED && !ttai_run_id_eq(&ev->run_id, &run->prev_run))
        problem(c, "run %s: WorkflowStarted names another previous run", id);
    if (ev->type == STORE_EV_TASK_COMPLETED && ev->ref_event_id + 1 != ev->event_id)
        problem(c, "run %s: TaskCompleted %" PRIu64 " refers to %" PRIu64, id, ev->event_id,
                ev->ref_event_id);
    if (status_of_closing(w->last_type) != 0)
        problem(c, "run %s: event %" PRIu64 " follows the closing event", id, ev->event_id);
    w->last_type = ev->type;
    if (ev->type == STORE_EV_CONTINUED_AS_NEW)
        w->continued_to = ev->run_id;
    if (ev->type == STORE_EV_TIMER_STARTED && w->timer_count < OPEN_MAX)
        w->timers[w->timer_count++] = (struct record){run->run_id, ev->seq, ev->fire_ms, false};
    if (ev->type == STORE_EV_ACTIVITY_SCHEDULED && w->act_count < OPEN_MAX)
        w->acts[w->act_count++] = ev->seq;
    for (int i = 0; ev->type == STORE_EV_TIMER_FIRED && i < w->timer_count; i++)
        if (w->timers[i].seq == ev->seq)
            w->timers[i--] = w->timers[--w->timer_count];
    bool finished = ev->type == STORE_EV_ACTIVITY_COMPLETED || ev->type == STORE_EV_ACTIVITY_FAILED;
    for (int i = 0; finished && i < w->act_count; i++)
        if (w->acts[i] == ev->seq)
            w->acts[i--] = w->acts[--w->act_count];
}

static void walk_history(struct checker *c, const char *id, const struct store_run *run,
                         struct walk *w)
{
    struct store_iter it;
    struct store_event ev;
    struct ttai_err err;
    int rc = store_hist_iter_init(&it, c->rd, &run->run_id, 1, &err);
    while (rc == 0 && (rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
        walk_event(c, id, &ev, run, w);
        rc = 0;
    }
    store_iter_release(&it);
    if (rc < 0)
        problem(c, "run %s: cannot read history: %s", id, err.msg);
    if (w->count == 0 || w->count != run->last_event_id)
        problem(c, "run %s: %" PRIu64 " events, last event id %" PRIu64, id, w->count,
                run->last_event_id);
    c->stats->events += w->count;
}

/* Invariant 6 for one run: its records match what its history left open. */
static void check_pending(struct checker *c, const char *id, const struct store_run *run,
                          struct walk *w)
{
    bool running = run->status == STORE_RUN_RUNNING;
    for (int i = 0; running && i < w->timer_count; i++) {
        struct record *r = records_find(&c->timers, &run->run_id, w->timers[i].seq);
        if (r == NULL || r->fire_ms != w->timers[i].fire_ms)
            problem(c, "run %s: timer %" PRIu64 " has no record", id, w->timers[i].seq);
        else
            r->matched = true;
    }
    for (int i = 0; running && i < w->act_count; i++) {
        struct record *r = records_find(&c->acts, &run->run_id, w->acts[i]);
        if (r == NULL)
            problem(c, "run %s: activity %" PRIu64 " has no record", id, w->acts[i]);
        else
            r->matched = true;
    }
}

static void check_chain(struct checker *c, const char *id, const struct store_run *run,
                        const struct walk *w)
{
    bool continued = run->status == STORE_RUN_CONTINUED_AS_NEW;
    if (!continued) {
        if (!ttai_run_id_is_zero(&run->next_run))
            problem(c, "run %s: %s but has a next run", id, store_run_status_name(run->status));
        return;
    }
    c->stats->continued++;
    if (!ttai_run_id_eq(&run->next_run, &w->continued_to))
        problem(c, "run %s: next_run and the ContinuedAsNew event disagree", id);
    struct store_run next;
    struct ttai_err err;
    if (store_run_get(c->rd, &run->next_run, &next, &err) != 0)
        problem(c, "run %s: next run: %s", id, err.msg);
    else if (!ttai_run_id_eq(&next.prev_run, &run->run_id) ||
             strcmp(next.workflow_id, run->workflow_id) != 0)
        problem(c, "run %s: its next run does not continue it", id);
}

static void check_run(struct checker *c, const struct store_run *run)
{
    char id[TTAI_RUN_ID_TEXT];
    ttai_run_id_format(&run->run_id, id);
    c->stats->runs++;
    if (strcmp(run->ns, CRASH_NS) != 0 || strcmp(run->type, "crash_flow") != 0)
        problem(c, "run %s: namespace '%s', type '%s'", id, run->ns, run->type);
    static struct walk w; /* large; checks run on one thread */
    memset(&w, 0, sizeof(w));
    walk_history(c, id, run, &w);
    int closes = status_of_closing(w.last_type);
    if (run->status == STORE_RUN_RUNNING) {
        c->stats->running++;
        if (closes != 0 || run->close_ms != 0)
            problem(c, "run %s: Running, but closed by its last event or close time", id);
    } else if (closes != run->status || run->close_ms == 0) {
        problem(c, "run %s: %s, but its last event is %s", id, store_run_status_name(run->status),
                store_event_type_name(w.last_type));
    } else if (run->status != STORE_RUN_CONTINUED_AS_NEW) {
        c->stats->closed++;
    }
    check_pending(c, id, run, &w);
    check_chain(c, id, run, &w);
}

static void load_records(struct checker *c)
{
    struct store_iter it;
    struct ttai_err err;
    struct store_timer timer;
    int rc = store_timer_iter_init(&it, c->rd, INT64_MAX, &err);
    while (rc == 0 && (rc = store_timer_iter_next(&it, &timer, &err)) == 1) {
        struct record r = {timer.run_id, timer.seq, timer.fire_ms, false};
        rc = records_add(&c->timers, &r) ? 0 : TTAI_ENOMEM;
    }
    store_iter_release(&it);
    if (rc < 0)
        problem(c, "cannot read timers: %s", ttai_strerror(rc));
    struct ttai_run_id run;
    uint64_t seq;
    struct store_bytes value;
    rc = store_activity_iter_init(&it, c->rd, NULL, &err);
    while (rc == 0 && (rc = store_activity_iter_next(&it, &run, &seq, &value, &err)) == 1) {
        struct record r = {run, seq, 0, false};
        rc = records_add(&c->acts, &r) ? 0 : TTAI_ENOMEM;
    }
    store_iter_release(&it);
    if (rc < 0)
        problem(c, "cannot read activities: %s", ttai_strerror(rc));
    c->stats->timers = c->timers.count;
    c->stats->activities = c->acts.count;
}

static void check_unmatched(struct checker *c, const struct records *r, const char *what)
{
    char id[TTAI_RUN_ID_TEXT];
    for (size_t i = 0; i < r->count; i++)
        if (!r->items[i].matched)
            problem(c, "%s record (run %s, seq %" PRIu64 ") belongs to no open %s", what,
                    ttai_run_id_format(&r->items[i].run, id), r->items[i].seq, what);
}

static void check_execs(struct checker *c)
{
    struct store_iter it;
    struct ttai_err err;
    struct store_bytes ns, workflow_id;
    struct ttai_run_id run_id;
    int rc = store_exec_iter_init(&it, c->rd, &err);
    while (rc == 0 && (rc = store_exec_iter_next(&it, &ns, &workflow_id, &run_id, &err)) == 1) {
        rc = 0;
        c->stats->execs++;
        struct store_run run;
        struct ttai_err gerr;
        if (store_run_get(c->rd, &run_id, &run, &gerr) != 0)
            problem(c, "execution '%.*s': %s", (int)workflow_id.len, workflow_id.data, gerr.msg);
        else if (strlen(run.workflow_id) != workflow_id.len ||
                 memcmp(run.workflow_id, workflow_id.data, workflow_id.len) != 0 ||
                 run.status == STORE_RUN_CONTINUED_AS_NEW)
            problem(c, "execution '%.*s' points at run of '%s', %s", (int)workflow_id.len,
                    workflow_id.data, run.workflow_id, store_run_status_name(run.status));
    }
    store_iter_release(&it);
    if (rc < 0)
        problem(c, "cannot read executions: %s", err.msg);
}

int crash_check_store(const char *dir, struct crash_stats *stats)
{
    struct store *store;
    struct checker c = {.stats = stats};
    memset(stats, 0, sizeof(*stats));
    if (open_read(dir, &store, &c.rd) != 0)
        return 1;
    load_records(&c);
    struct store_iter it;
    struct ttai_err err;
    struct store_run run;
    int rc = store_run_iter_init(&it, c.rd, &err);
    while (rc == 0 && (rc = store_run_iter_next(&it, &run, &err)) == 1) {
        check_run(&c, &run);
        rc = 0;
    }
    store_iter_release(&it);
    if (rc < 0)
        problem(&c, "cannot read runs: %s", err.msg);
    check_unmatched(&c, &c.timers, "timer");
    check_unmatched(&c, &c.acts, "activity");
    check_execs(&c);
    store_read_end(c.rd);
    store_close(store);
    ttai_free(c.timers.items);
    ttai_free(c.acts.items);
    if (c.problems > PROBLEMS_PRINTED_MAX)
        fprintf(stderr, "crash check: %d more problems\n", c.problems - PROBLEMS_PRINTED_MAX);
    return c.problems;
}
