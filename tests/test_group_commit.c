/* test_group_commit.c: the write path. Many producers at once, dense event
 * ids, all-or-nothing batches inside one group, callbacks that run only
 * once the data is committed (seen from this process and from another),
 * the shape of groups, and draining at close. (Allocation failures while
 * a batch is built are in test_batch_alloc.c.)
 *
 * Grouping is made deterministic with a gate: a first batch whose callback
 * blocks the writer thread until the test has queued everything. Every
 * batch queued meanwhile is then taken by the next group (up to
 * group_events_max), so commit counts are a structural property, not a
 * matter of timing. */
#include "test_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

/* ---- The gate ------------------------------------------------------------- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered;                /* the writer is parked in the callback */
    bool open;
};

static void gate_cb(struct store_batch *batch, int rc, const struct ttai_err *err, void *arg)
{
    (void)batch;
    (void)err;
    ASSERT_EQ(rc, 0);
    struct gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* Parks the writer thread in a callback; returns once it is there. */
static void gate_close(struct store *store, struct gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = false;
    g->open = false;
    struct store_batch *b = store_batch_new();
    ASSERT(b != NULL);
    ASSERT_OK(store_submit(store, b, gate_cb, g), (struct ttai_err *)NULL);
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* ---- Waiting for callbacks ----------------------------------------------- */

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t done;
};

static void waiter_init(struct waiter *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = 0;
}

static void waiter_add(struct waiter *w)
{
    pthread_mutex_lock(&w->mu);
    w->done++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void waiter_wait(struct waiter *w, uint64_t count)
{
    pthread_mutex_lock(&w->mu);
    while (w->done < count)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void waiter_destroy(struct waiter *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static struct ttai_run_id rid(unsigned i)
{
    struct ttai_run_id id;
    memset(&id, 0, sizeof(id));
    id.b[0] = 0x24;
    id.b[13] = (uint8_t)(i >> 16);
    id.b[14] = (uint8_t)(i >> 8);
    id.b[15] = (uint8_t)i;
    return id;
}

static void make_run(struct store *store, unsigned id, const char *wf)
{
    struct store_run run;
    test_run_init(&run, "ns", wf, "t", STORE_RUN_RUNNING, id);
    run.run_id = rid(id);
    test_create_run(store, &run);
}

static void delta(const struct store_counters *a, const struct store_counters *b,
                  struct store_counters *out)
{
    out->commits = b->commits - a->commits;
    out->batches = b->batches - a->batches;
    out->batches_refused = b->batches_refused - a->batches_refused;
    out->events = b->events - a->events;
}

/* The event at id of run, which must exist, in a read of its own. */
static void read_event(struct store *store, const struct ttai_run_id *run, uint64_t id,
                       uint64_t *seq_out)
{
    struct store_read *rd = test_read(store);
    struct ttai_err err;
    struct store_event ev;
    ASSERT_OK(store_event_get(rd, run, id, &ev, &err), &err);
    *seq_out = ev.seq;
    store_read_end(rd);
}

/* ---- Many producers ------------------------------------------------------------ */

enum { MP_THREADS = 16, MP_BATCHES = 200, MP_SHARED = 4 };

struct mp_thread;

struct mp_pending {
    struct mp_thread *t;
    uint32_t index;               /* batch number within the thread */
    uint32_t own_events;
};

struct mp_thread {
    struct store *store;
    unsigned number;
    pthread_t thread;
    uint64_t rand;
    struct waiter async_done;
    uint32_t async_count;
    struct mp_pending pending[MP_BATCHES];
    /* Where each event went, filled from commit results: seq at own ids. */
    pthread_mutex_t mu;
    uint64_t own_seq_at[MP_BATCHES * 3 + 2];
    uint64_t shared_id[MP_BATCHES];
};

/* Never 0: own_seq_at uses 0 for "no event recorded here". */
static uint64_t mp_seq(unsigned thread, uint32_t batch, uint32_t j)
{
    return (uint64_t)(thread + 1) << 40 | (uint64_t)batch << 8 | j;
}

static unsigned mp_shared_of(unsigned thread, uint32_t batch)
{
    return 1000 + (thread + batch) % MP_SHARED;
}

/* Records and checks what a committed batch got: its own events have
 * consecutive ids and are visible, with their content, to a new read. */
static void mp_committed(struct mp_thread *t, struct store_batch *b, uint32_t index,
                         uint32_t own_events)
{
    ASSERT_EQ(store_batch_events(b), own_events + 1);
    uint64_t first = store_batch_event_id(b, 0);
    ASSERT_GE(first, 2); /* 1 is WorkflowStarted */
    struct ttai_run_id own = rid(t->number + 1);
    struct ttai_run_id shared = rid(mp_shared_of(t->number, index));
    for (uint32_t j = 0; j < own_events; j++) {
        uint64_t id = store_batch_event_id(b, j);
        ASSERT_U64_EQ(id, first + j);
        ASSERT_LT(id, sizeof(t->own_seq_at) / sizeof(t->own_seq_at[0]));
        uint64_t seq;
        read_event(t->store, &own, id, &seq);
        ASSERT_U64_EQ(seq, mp_seq(t->number, index, j));
        pthread_mutex_lock(&t->mu);
        ASSERT_U64_EQ(t->own_seq_at[id], 0);
        t->own_seq_at[id] = seq;
        pthread_mutex_unlock(&t->mu);
    }
    uint64_t sid = store_batch_event_id(b, own_events);
    uint64_t seq;
    read_event(t->store, &shared, sid, &seq);
    ASSERT_U64_EQ(seq, mp_seq(t->number, index, 0xff));
    pthread_mutex_lock(&t->mu);
    t->shared_id[index] = sid;
    pthread_mutex_unlock(&t->mu);
}

static void mp_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    struct mp_pending *p = arg;
    if (rc != 0)
        test__fail(__FILE__, __LINE__, "batch %u of thread %u: rc %d %s", p->index,
                   p->t->number, rc, err ? err->msg : "");
    ASSERT(err == NULL);
    /* The callback runs on the writer thread or, with inline commits, on
     * the submitting thread after its commit: neither holds a read. */
    mp_committed(p->t, b, p->index, p->own_events);
    waiter_add(&p->t->async_done);
}

static void *mp_main(void *arg)
{
    struct mp_thread *t = arg;
    struct ttai_err err;
    struct ttai_run_id own = rid(t->number + 1);
    for (uint32_t i = 0; i < MP_BATCHES; i++) {
        struct store_batch *b = store_batch_new();
        ASSERT(b != NULL);
        uint32_t n = 1 + (uint32_t)(test_rand(&t->rand) % 3);
        for (uint32_t j = 0; j < n; j++) {
            struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = i,
                                     .seq = mp_seq(t->number, i, j)};
            ev.name = bytes_of("own");
            ASSERT_OK(store_batch_append(b, &own, &ev, &err), &err);
        }
        struct ttai_run_id shared = rid(mp_shared_of(t->number, i));
        struct store_event ev = {.type = STORE_EV_MARKER_RECORDED, .time_ms = i,
                                 .seq = mp_seq(t->number, i, 0xff)};
        ASSERT_OK(store_batch_append(b, &shared, &ev, &err), &err);
        ASSERT_OK(store_batch_put_timer(b, (int64_t)i, &own, i, 1), &err);
        if (test_rand(&t->rand) % 2) {
            struct mp_pending *p = &t->pending[i];
            p->t = t;
            p->index = i;
            p->own_events = n;
            t->async_count++;
            ASSERT_OK(store_submit(t->store, b, mp_cb, p), (struct ttai_err *)NULL);
        } else {
            ASSERT_OK(store_commit(t->store, b, &err), &err);
            mp_committed(t, b, i, n);
            store_batch_free(b);
        }
    }
    waiter_wait(&t->async_done, t->async_count);
    return NULL;
}

static uint64_t mp_verify(struct store *store, struct mp_thread *threads);

/* 16 threads, each submitting (callbacks) or committing (waits) 200
 * batches of events to its own run and to shared runs: every id is dense
 * per run, no batch is lost, callbacks see their data. */
static void many_producers(struct store *store)
{
    for (unsigned t = 0; t < MP_THREADS; t++)
        make_run(store, t + 1, "own");
    for (unsigned s = 0; s < MP_SHARED; s++)
        make_run(store, 1000 + s, "shared");
    struct store_counters c0, c1, d;
    store_counters_get(store, &c0);

    static struct mp_thread threads[MP_THREADS];
    uint64_t seed = test_seed();
    for (unsigned t = 0; t < MP_THREADS; t++) {
        struct mp_thread *th = &threads[t];
        th->store = store;
        th->number = t;
        th->rand = seed ^ (0x9e3779b97f4a7c15ULL * (t + 1));
        waiter_init(&th->async_done);
        pthread_mutex_init(&th->mu, NULL);
        ASSERT_EQ(pthread_create(&th->thread, NULL, mp_main, th), 0);
    }
    for (unsigned t = 0; t < MP_THREADS; t++)
        ASSERT_EQ(pthread_join(threads[t].thread, NULL), 0);
    store_counters_get(store, &c1);
    delta(&c0, &c1, &d);
    uint64_t total_events = mp_verify(store, threads);
    ASSERT_U64_EQ(d.batches, (uint64_t)MP_THREADS * MP_BATCHES);
    ASSERT_U64_EQ(d.batches_refused, 0);
    ASSERT_U64_EQ(d.events, total_events);
    ASSERT_LE(d.commits, d.batches);
    /* How much grouping happened depends on timing: reported, not checked
     * (test_group_commit_grouping checks it structurally). */
    fprintf(stderr, "many producers: %" PRIu64 " batches in %" PRIu64 " commits, at most %" PRIu64
            " per group\n", d.batches, d.commits, c1.group_batches_max);
    for (unsigned t = 0; t < MP_THREADS; t++) {
        waiter_destroy(&threads[t].async_done);
        pthread_mutex_destroy(&threads[t].mu);
    }
}

void test_group_commit_many_producers(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    many_producers(store);
    store_close(store);
}

/* The same with inline commits (the test environment's store): a producer
 * that finds the writer idle commits its own batches, others queue behind
 * it for the writer thread; the outcome must be the same. */
void test_group_commit_many_producers_inline(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store_opts opts = {.dir = dir, .no_sync = true, .inline_commits = true};
    struct store *store = test_open(&opts);
    many_producers(store);
    store_close(store);
}

/* Every run: ids dense from 1, each event where its batch was told, every
 * batch reported. Returns the number of events the producers appended. */
static uint64_t mp_verify(struct store *store, struct mp_thread *threads)
{
    uint64_t total_events = 0;
    struct store_read *rd = test_read(store);
    struct ttai_err err;
    for (unsigned t = 0; t < MP_THREADS; t++) {
        struct ttai_run_id own = rid(t + 1);
        struct store_iter it;
        ASSERT_OK(store_hist_iter_init(&it, rd, &own, 1, &err), &err);
        struct store_event ev;
        uint64_t n = 0;
        int rc;
        while ((rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
            ASSERT_U64_EQ(ev.event_id, ++n);
            if (n > 1)
                ASSERT_U64_EQ(ev.seq, threads[t].own_seq_at[n]);
        }
        ASSERT_EQ(rc, 0);
        store_iter_release(&it);
        /* Each batch's own events were recorded exactly once, so the
         * recorded count equals the history's. */
        uint64_t recorded = 0;
        for (size_t i = 0; i < sizeof(threads[t].own_seq_at) / sizeof(uint64_t); i++)
            recorded += threads[t].own_seq_at[i] != 0;
        ASSERT_U64_EQ(recorded, n - 1);
        total_events += n - 1;
    }
    for (unsigned s = 0; s < MP_SHARED; s++) {
        struct ttai_run_id shared = rid(1000 + s);
        struct store_iter it;
        ASSERT_OK(store_hist_iter_init(&it, rd, &shared, 2, &err), &err);
        struct store_event ev;
        uint64_t n = 1;
        int rc;
        while ((rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
            ASSERT_U64_EQ(ev.event_id, ++n);
            unsigned t = (unsigned)(ev.seq >> 40) - 1;
            uint32_t i = (uint32_t)(ev.seq >> 8 & 0xffffffff);
            ASSERT_LT(t, MP_THREADS);
            ASSERT_LT(i, MP_BATCHES);
            ASSERT_EQ(mp_shared_of(t, i), 1000 + s);
            ASSERT_U64_EQ(threads[t].shared_id[i], ev.event_id);
        }
        ASSERT_EQ(rc, 0);
        store_iter_release(&it);
        ASSERT_U64_EQ(n - 1, (uint64_t)MP_THREADS * MP_BATCHES / MP_SHARED);
        total_events += n - 1;
    }
    struct store_stats st;
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    ASSERT_U64_EQ(st.entries[STORE_T_TIMER], (uint64_t)MP_THREADS * MP_BATCHES);
    store_read_end(rd);
    for (unsigned t = 0; t < MP_THREADS; t++)
        for (uint32_t i = 0; i < MP_BATCHES; i++)
            ASSERT_NE(threads[t].shared_id[i], 0); /* every batch reported */
    return total_events;
}

/* ---- Grouping ---------------------------------------------------------------- */

enum { GR_THREADS = 64, GR_BATCHES = 50 };

struct gr_thread {
    struct store *store;
    unsigned number;
    pthread_t thread;
    struct waiter *done;
};

static void gr_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    (void)b;
    if (rc != 0)
        test__fail(__FILE__, __LINE__, "rc %d %s", rc, err ? err->msg : "");
    waiter_add(arg);
}

static void *gr_main(void *arg)
{
    struct gr_thread *t = arg;
    struct ttai_err err;
    struct ttai_run_id own = rid(t->number + 1);
    for (uint32_t i = 0; i < GR_BATCHES; i++) {
        struct store_batch *b = store_batch_new();
        struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = i, .seq = i};
        ASSERT_OK(store_batch_append(b, &own, &ev, &err), &err);
        ASSERT_OK(store_submit(t->store, b, gr_cb, t->done), (struct ttai_err *)NULL);
    }
    return NULL;
}

/* 64 producers submit 50 batches each while the writer is busy: all of
 * them are committed in one group, so commits < batches by construction. */
void test_group_commit_grouping(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct store_batch *setup = store_batch_new();
    struct ttai_err err;
    for (unsigned t = 0; t < GR_THREADS; t++) {
        struct store_run run;
        test_run_init(&run, "ns", "wf", "t", STORE_RUN_RUNNING, t);
        run.run_id = rid(t + 1);
        ASSERT_OK(store_batch_put_run(setup, &run), &err);
    }
    ASSERT_OK(store_commit(store, setup, &err), &err);
    store_batch_free(setup);

    struct store_counters c0, c1, d;
    store_counters_get(store, &c0);
    struct gate gate;
    gate_close(store, &gate);
    struct waiter done;
    waiter_init(&done);
    static struct gr_thread threads[GR_THREADS];
    for (unsigned t = 0; t < GR_THREADS; t++) {
        threads[t] = (struct gr_thread){.store = store, .number = t, .done = &done};
        ASSERT_EQ(pthread_create(&threads[t].thread, NULL, gr_main, &threads[t]), 0);
    }
    for (unsigned t = 0; t < GR_THREADS; t++)
        ASSERT_EQ(pthread_join(threads[t].thread, NULL), 0);
    ASSERT_U64_EQ(done.done, 0); /* nothing ran while the writer was parked */
    gate_open(&gate);
    waiter_wait(&done, (uint64_t)GR_THREADS * GR_BATCHES);
    store_counters_get(store, &c1);
    delta(&c0, &c1, &d);
    ASSERT_U64_EQ(d.batches, (uint64_t)GR_THREADS * GR_BATCHES + 1); /* + the gate */
    ASSERT_LT(d.commits, d.batches);
    ASSERT_U64_EQ(d.commits, 2); /* the gate's, then one group of everything */
    ASSERT_U64_EQ(c1.group_batches_max, (uint64_t)GR_THREADS * GR_BATCHES);
    ASSERT_U64_EQ(d.events, (uint64_t)GR_THREADS * GR_BATCHES);
    for (unsigned t = 0; t < GR_THREADS; t++) {
        struct ttai_run_id own = rid(t + 1);
        ASSERT_U64_EQ(test_last_event(store, &own), GR_BATCHES);
    }
    gate_destroy(&gate);
    waiter_destroy(&done);
    store_close(store);
}

static void count_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    (void)b;
    if (rc != 0)
        test__fail(__FILE__, __LINE__, "rc %d %s", rc, err ? err->msg : "");
    waiter_add(arg);
}

/* group_events_max bounds a group; a batch larger than it goes alone. */
void test_group_commit_events_max(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store_opts opts = {.dir = dir, .group_events_max = 10};
    struct store *store = test_open(&opts);
    make_run(store, 1, "wf");
    struct ttai_run_id run = rid(1);
    struct ttai_err err;
    struct store_counters c0, c1, d;
    store_counters_get(store, &c0);
    struct gate gate;
    gate_close(store, &gate);
    struct waiter done;
    waiter_init(&done);
    /* 25 events, then 15 batches of one: groups {25}, {1 x 10}, {1 x 5}. */
    for (int i = 0; i < 16; i++) {
        struct store_batch *b = store_batch_new();
        for (int j = 0; j < (i == 0 ? 25 : 1); j++) {
            struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = i};
            ASSERT_OK(store_batch_append(b, &run, &ev, &err), &err);
        }
        ASSERT_OK(store_submit(store, b, count_cb, &done), (struct ttai_err *)NULL);
    }
    gate_open(&gate);
    waiter_wait(&done, 16);
    store_counters_get(store, &c1);
    delta(&c0, &c1, &d);
    ASSERT_U64_EQ(d.commits, 4);
    ASSERT_U64_EQ(d.batches, 17);
    ASSERT_U64_EQ(d.events, 40);
    ASSERT_U64_EQ(c1.group_batches_max, 10);
    ASSERT_U64_EQ(test_last_event(store, &run), 41);
    gate_destroy(&gate);
    waiter_destroy(&done);
    store_close(store);
}

/* ---- All or nothing -------------------------------------------------------------- */

enum { AN_BATCHES = 10 };

struct an_result {
    struct waiter *done;
    int rc;
    int err_rc;
    char msg[TTAI_ERR_MSG_MAX];
    uint64_t ids[4];
    size_t events;
};

static void an_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    struct an_result *r = arg;
    r->rc = rc;
    ASSERT((rc == 0) == (err == NULL));
    if (err != NULL) {
        r->err_rc = err->rc;
        snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
    }
    r->events = store_batch_events(b);
    for (size_t i = 0; rc == 0 && i < r->events && i < 4; i++)
        r->ids[i] = store_batch_event_id(b, i);
    waiter_add(r->done);
}

static void an_append(struct store_batch *b, const struct ttai_run_id *run, const char *name)
{
    struct ttai_err err;
    struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = 1};
    ev.name = bytes_of(name);
    ASSERT_OK(store_batch_append(b, run, &ev, &err), &err);
}

/* The runs of the all-or-nothing test: r1 exists with one event; r2 is
 * created by a batch of the group; r3, r7 and r9 never come to exist. */
struct an_runs {
    struct ttai_run_id r1, r2, r3, r7, r9, wrong;
    struct store_run run2, run3, run9;
};

static void an_runs_init(struct an_runs *r)
{
    r->r1 = rid(1);
    r->r2 = rid(2);
    r->r3 = rid(3);
    r->r7 = rid(7);
    r->r9 = rid(9);
    r->wrong = rid(99);
    test_run_init(&r->run2, "ns", "wf2", "t", STORE_RUN_RUNNING, 2);
    r->run2.run_id = r->r2;
    test_run_init(&r->run3, "ns", "wf3", "t", STORE_RUN_RUNNING, 3);
    r->run3.run_id = r->r3;
    test_run_init(&r->run9, "ns", "wf9", "t", STORE_RUN_RUNNING, 9);
    r->run9.run_id = r->r9;
}

/* Builds the ten batches; see want_rc in test_group_commit_all_or_nothing
 * for which are refused. */
static void an_build(struct store_batch **bs, const struct an_runs *r)
{
    struct ttai_err err;
    /* B0: commits. R1 events 2, 3. */
    ASSERT_OK(store_batch_require_run_status(bs[0], &r->r1, STORE_RUN_RUNNING), &err);
    an_append(bs[0], &r->r1, "b0-0");
    an_append(bs[0], &r->r1, "b0-1");
    ASSERT_OK(store_batch_put_timer(bs[0], 200, &r->r1, 2, 1), &err);
    ASSERT_OK(store_batch_put_activity(bs[0], &r->r1, 2, "b0", 2), &err);
    /* B1: every kind of operation, then a failing require_exec. */
    an_append(bs[1], &r->r1, "b1");
    ASSERT_OK(store_batch_put_timer(bs[1], 300, &r->r1, 3, 1), &err);
    ASSERT_OK(store_batch_put_activity(bs[1], &r->r1, 3, "b1", 2), &err);
    ASSERT_OK(store_batch_put_schedule(bs[1], "ns", "s1", "b1", 2), &err);
    ASSERT_OK(store_batch_put_run(bs[1], &r->run9), &err);
    ASSERT_OK(store_batch_put_exec(bs[1], "ns", "wf9", &r->r9), &err);
    an_append(bs[1], &r->r9, "b1-r9");
    ASSERT_OK(store_batch_del_timer(bs[1], 100, &r->r1, 1), &err);
    ASSERT_OK(store_batch_del_activity(bs[1], &r->r1, 1), &err);
    ASSERT_OK(store_batch_del_schedule(bs[1], "ns", "s0"), &err);
    ASSERT_OK(store_batch_require_exec(bs[1], "ns", "wf1", &r->wrong), &err);
    /* B2: a failing run status. */
    ASSERT_OK(store_batch_require_run_status(bs[2], &r->r1, STORE_RUN_COMPLETED), &err);
    an_append(bs[2], &r->r1, "b2");
    ASSERT_OK(store_batch_put_timer(bs[2], 300, &r->r1, 4, 1), &err);
    /* B3: a stale last event id (B0 appended before it in this group). */
    ASSERT_OK(store_batch_require_last_event(bs[3], &r->r1, 1), &err);
    an_append(bs[3], &r->r1, "b3");
    /* B4: commits; sees B0's events. R1 event 4. */
    ASSERT_OK(store_batch_require_last_event(bs[4], &r->r1, 3), &err);
    an_append(bs[4], &r->r1, "b4");
    /* B5: an append to a run that does not exist, after a timer. */
    ASSERT_OK(store_batch_put_timer(bs[5], 400, &r->r1, 5, 1), &err);
    an_append(bs[5], &r->r1, "b5");
    an_append(bs[5], &r->r7, "b5-r7");
    /* B6: commits: a new run with its first event; wf3 is absent. */
    ASSERT_OK(store_batch_require_exec(bs[6], "ns", "wf3", NULL), &err);
    ASSERT_OK(store_batch_put_run(bs[6], &r->run2), &err);
    ASSERT_OK(store_batch_put_exec(bs[6], "ns", "wf2", &r->r2), &err);
    an_append(bs[6], &r->r2, "b6");
    /* B7: appends before the run is put (only earlier puts count). */
    an_append(bs[7], &r->r3, "b7");
    ASSERT_OK(store_batch_put_run(bs[7], &r->run3), &err);
    /* B8: wf2 must be absent, but B6 created it. */
    ASSERT_OK(store_batch_require_exec(bs[8], "ns", "wf2", NULL), &err);
    an_append(bs[8], &r->r2, "b8");
    /* B9: commits: wf2 is r2 (B6), deletes the first timer. R2 event 2. */
    ASSERT_OK(store_batch_require_exec(bs[9], "ns", "wf2", &r->r2), &err);
    ASSERT_OK(store_batch_require_run_status(bs[9], &r->r2, STORE_RUN_RUNNING), &err);
    ASSERT_OK(store_batch_del_timer(bs[9], 100, &r->r1, 1), &err);
    an_append(bs[9], &r->r2, "b9");
}

static void an_check_results(const struct an_result *res)
{
    static const int want_rc[AN_BATCHES] = {0, TTAI_ECONFLICT, TTAI_ECONFLICT, TTAI_ECONFLICT, 0,
                                            TTAI_ENOTFOUND, 0, TTAI_ENOTFOUND, TTAI_ECONFLICT, 0};
    for (int i = 0; i < AN_BATCHES; i++) {
        if (res[i].rc != want_rc[i])
            test__fail(__FILE__, __LINE__, "batch %d: rc %d (%s), want %d", i, res[i].rc,
                       res[i].msg, want_rc[i]);
        if (want_rc[i] != 0) {
            ASSERT_EQ(res[i].err_rc, want_rc[i]);
            ASSERT(res[i].msg[0] != '\0');
        }
    }
    ASSERT(strstr(res[1].msg, "wf1") != NULL);
    ASSERT(strstr(res[2].msg, "running") != NULL);
    ASSERT(strstr(res[8].msg, "already exists") != NULL);
    ASSERT(strstr(res[5].msg, "no such run") != NULL);
    ASSERT_U64_EQ(res[0].ids[0], 2);
    ASSERT_U64_EQ(res[0].ids[1], 3);
    ASSERT_U64_EQ(res[4].ids[0], 4);
    ASSERT_U64_EQ(res[6].ids[0], 1);
    ASSERT_U64_EQ(res[9].ids[0], 2);
}

/* The store holds exactly what the four committed batches wrote. */
static void an_check_store(struct store *store, const struct an_runs *r,
                           const struct store_stats *s0)
{
    struct ttai_err err;
    struct store_read *rd = test_read(store);
    struct store_stats s1;
    ASSERT_OK(store_stats_get(rd, &s1, &err), &err);
    /* Of the five committed events, r2's first (B6) went into the history
     * (a run's first events do); the others wait in the recent table as
     * three stretches (B0's two, B4's, B9's), one recent_run entry each. */
    int64_t want_delta[STORE_T__COUNT] = {
        [STORE_T_HIST] = 1, [STORE_T_RECENT] = 3, [STORE_T_RECENT_RUN] = 3, [STORE_T_RUN] = 1, [STORE_T_EXEC] = 1, [STORE_T_TIMER] = 0,
        [STORE_T_ACT] = 1, [STORE_T_SCHED] = 0, [STORE_T_VIS_STATUS] = 1,
        [STORE_T_VIS_TYPE] = 1, [STORE_T_VIS_START] = 1};
    for (int t = 0; t < STORE_T__COUNT; t++)
        if ((int64_t)(s1.entries[t] - s0->entries[t]) != want_delta[t])
            test__fail(__FILE__, __LINE__, "table %s grew by %" PRId64 ", want %" PRId64,
                       store_table_name(t), (int64_t)(s1.entries[t] - s0->entries[t]),
                       want_delta[t]);
    static const char *const r1_names[] = {"t", "b0-0", "b0-1", "b4"};
    struct store_iter it;
    ASSERT_OK(store_hist_iter_init(&it, rd, &r->r1, 1, &err), &err);
    struct store_event ev;
    int n = 0;
    while (store_hist_iter_next(&it, &ev, &err) == 1) {
        ASSERT_LT(n, 4);
        ASSERT(bytes_eq_str(ev.name, r1_names[n]));
        n++;
    }
    ASSERT_EQ(n, 4);
    store_iter_release(&it);
    const struct ttai_run_id *runs[] = {&r->r2, &r->r3, &r->r7, &r->r9};
    static const uint64_t lasts[] = {2, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        uint64_t last;
        ASSERT_OK(store_last_event_id(rd, runs[i], &last, &err), &err);
        ASSERT_U64_EQ(last, lasts[i]);
    }
    struct store_run run;
    ASSERT_EQ(store_run_get(rd, &r->r3, &run, &err), TTAI_ENOTFOUND);
    ASSERT_EQ(store_run_get(rd, &r->r9, &run, &err), TTAI_ENOTFOUND);
    struct ttai_run_id got;
    ASSERT_EQ(store_exec_get(rd, "ns", "wf9", &got, &err), TTAI_ENOTFOUND);
    ASSERT_OK(store_exec_get(rd, "ns", "wf1", &got, &err), &err);
    ASSERT(ttai_run_id_eq(&got, &r->r1));
    ASSERT_OK(store_exec_get(rd, "ns", "wf2", &got, &err), &err);
    ASSERT(ttai_run_id_eq(&got, &r->r2));
    struct store_timer timer;
    ASSERT_OK(store_timer_iter_init(&it, rd, INT64_MAX, &err), &err);
    ASSERT_EQ(store_timer_iter_next(&it, &timer, &err), 1);
    ASSERT_EQ(timer.fire_ms, 200);
    ASSERT_EQ(store_timer_iter_next(&it, &timer, &err), 0);
    store_iter_release(&it);
    struct store_bytes rec;
    ASSERT_OK(store_activity_get(rd, &r->r1, 1, &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "a0"));
    ASSERT_OK(store_activity_get(rd, &r->r1, 2, &rec, &err), &err);
    ASSERT_EQ(store_activity_get(rd, &r->r1, 3, &rec, &err), TTAI_ENOTFOUND);
    ASSERT_OK(store_schedule_get(rd, "ns", "s0", &rec, &err), &err);
    ASSERT_EQ(store_schedule_get(rd, "ns", "s1", &rec, &err), TTAI_ENOTFOUND);
    store_read_end(rd);
}

/* Ten batches in one group; six are refused by a condition (of every
 * kind, before or after their operations) or by an append to a missing
 * run, and write nothing at all, while the other four commit. */
void test_group_commit_all_or_nothing(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    struct an_runs r;
    an_runs_init(&r);
    make_run(store, 1, "wf1");
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_put_timer(b, 100, &r.r1, 1, 1), &err);
    ASSERT_OK(store_batch_put_activity(b, &r.r1, 1, "a0", 2), &err);
    ASSERT_OK(store_batch_put_schedule(b, "ns", "s0", "s0", 2), &err);
    ASSERT_OK(store_commit(store, b, &err), &err);
    store_batch_free(b);
    struct store_read *rd = test_read(store);
    struct store_stats s0;
    ASSERT_OK(store_stats_get(rd, &s0, &err), &err);
    store_read_end(rd);
    struct store_counters c0, c1, d;
    store_counters_get(store, &c0);

    struct gate gate;
    gate_close(store, &gate);
    struct waiter done;
    waiter_init(&done);
    static struct an_result res[AN_BATCHES];
    struct store_batch *bs[AN_BATCHES];
    for (int i = 0; i < AN_BATCHES; i++) {
        bs[i] = store_batch_new();
        res[i].done = &done;
    }
    an_build(bs, &r);
    for (int i = 0; i < AN_BATCHES; i++)
        ASSERT_OK(store_submit(store, bs[i], an_cb, &res[i]), (struct ttai_err *)NULL);
    gate_open(&gate);
    waiter_wait(&done, AN_BATCHES);
    an_check_results(res);

    store_counters_get(store, &c1);
    delta(&c0, &c1, &d);
    ASSERT_U64_EQ(d.commits, 2);          /* the gate, then one group */
    ASSERT_U64_EQ(d.batches, 5);          /* the gate and four */
    ASSERT_U64_EQ(d.batches_refused, 6);
    ASSERT_U64_EQ(d.events, 5);           /* appended ones only */
    an_check_store(store, &r, &s0);
    gate_destroy(&gate);
    waiter_destroy(&done);
    store_close(store);
}

/* store_commit of an append to a run that does not exist: TTAI_ENOTFOUND,
 * nothing written, the batch is the caller's again. */
void test_group_commit_append_unknown_run(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    make_run(store, 1, "wf1");
    struct ttai_err err;
    struct store_read *rd = test_read(store);
    struct store_stats s0, s1;
    ASSERT_OK(store_stats_get(rd, &s0, &err), &err);
    store_read_end(rd);
    struct store_counters c0, c1, d;
    store_counters_get(store, &c0);

    struct ttai_run_id r1 = rid(1), missing = rid(5);
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_put_timer(b, 1, &r1, 1, 1), &err);
    an_append(b, &r1, "x");
    an_append(b, &missing, "y");
    ASSERT_OK(store_batch_put_activity(b, &r1, 1, "r", 1), &err);
    ASSERT_EQ(store_commit(store, b, &err), TTAI_ENOTFOUND);
    ASSERT_EQ(err.rc, TTAI_ENOTFOUND);
    char text[TTAI_RUN_ID_TEXT];
    ASSERT(strstr(err.msg, ttai_run_id_format(&missing, text)) != NULL);
    ASSERT_EQ(store_batch_ops(b), 4);

    rd = test_read(store);
    ASSERT_OK(store_stats_get(rd, &s1, &err), &err);
    store_read_end(rd);
    ASSERT_MEM_EQ(s0.entries, s1.entries, sizeof(s0.entries));
    store_counters_get(store, &c1);
    delta(&c0, &c1, &d);
    ASSERT_U64_EQ(d.batches, 0);
    ASSERT_U64_EQ(d.batches_refused, 1);
    ASSERT_U64_EQ(d.events, 0);

    /* Once the run exists, the same batch commits. */
    store_batch_clear(b);
    struct store_run run;
    test_run_init(&run, "ns", "wf5", "t", STORE_RUN_RUNNING, 5);
    run.run_id = missing;
    ASSERT_OK(store_batch_put_run(b, &run), &err);
    an_append(b, &missing, "y");
    ASSERT_OK(store_commit(store, b, &err), &err);
    ASSERT_U64_EQ(store_batch_event_id(b, 0), 1);
    store_batch_free(b);
    store_close(store);
}

/* ---- Visibility from callbacks ----------------------------------------------- */

struct vis_ctx {
    struct store *store;
    struct test_child *child;
    struct waiter done;
    uint64_t checked;
};

struct vis_pending {
    struct vis_ctx *ctx;
    struct ttai_run_id run;
};

static void vis_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    struct vis_pending *p = arg;
    if (rc != 0)
        test__fail(__FILE__, __LINE__, "rc %d %s", rc, err ? err->msg : "");
    uint64_t mine = store_batch_event_id(b, store_batch_events(b) - 1);
    /* Another process, with its own environment, sees it... */
    struct test_child_rep rep = test_child_ask(p->ctx->child, &p->run);
    ASSERT_EQ(rep.rc, 0);
    ASSERT_GE(rep.last_event_id, mine);
    /* ...and so does a read of this store, begun on the writer thread. */
    ASSERT_GE(test_last_event(p->ctx->store, &p->run), mine);
    p->ctx->checked++; /* callbacks run one at a time, on the writer */
    waiter_add(&p->ctx->done);
}

/* Each callback asks a read-only store in another process, and a read of
 * this store, for its batch's events: they are committed already. */
void test_group_commit_callbacks_after_commit(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct test_child child;
    test_child_start(&child, dir, 0); /* before any thread exists */
    struct store *store = test_open_dir(dir);
    enum { RUNS = 4, BATCHES = 60 };
    for (unsigned r = 0; r < RUNS; r++)
        make_run(store, r + 1, "wf");
    static struct vis_ctx ctx;
    ctx.store = store;
    ctx.child = &child;
    waiter_init(&ctx.done);
    static struct vis_pending pending[BATCHES];
    struct ttai_err err;
    for (int i = 0; i < BATCHES; i++) {
        pending[i] = (struct vis_pending){&ctx, rid((unsigned)i % RUNS + 1)};
        struct store_batch *b = store_batch_new();
        an_append(b, &pending[i].run, "a");
        an_append(b, &pending[i].run, "b");
        ASSERT_OK(store_submit(store, b, vis_cb, &pending[i]), &err);
    }
    waiter_wait(&ctx.done, BATCHES);
    ASSERT_U64_EQ(ctx.checked, BATCHES);
    store_close(store);
    test_child_stop(&child);
    waiter_destroy(&ctx.done);
}

/* One producer's batches complete in the order submitted. */
static void fifo_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    (void)err;
    ASSERT_EQ(rc, 0);
    uint64_t *next = arg;
    ASSERT_U64_EQ(store_batch_event_id(b, 0), *next);
    (*next)++;
}

void test_group_commit_fifo(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    make_run(store, 1, "wf");
    struct ttai_run_id run = rid(1);
    static uint64_t next = 2;
    for (int i = 0; i < 300; i++) {
        struct store_batch *b = store_batch_new();
        an_append(b, &run, "x");
        ASSERT_OK(store_submit(store, b, fifo_cb, &next), (struct ttai_err *)NULL);
    }
    store_close(store); /* drains */
    ASSERT_U64_EQ(next, 302);
}

/* ---- Held groups ------------------------------------------------------------ */

struct hold_ctx {
    atomic_bool released;
    uint64_t next;               /* the event id the next callback must see */
    struct waiter done;
};

static void hold_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    (void)err;
    struct hold_ctx *ctx = arg;
    ASSERT_EQ(rc, 0);
    ASSERT(atomic_load(&ctx->released));
    ASSERT_U64_EQ(store_batch_event_id(b, 0), ctx->next);
    ctx->next += store_batch_events(b);
    waiter_add(&ctx->done);
}

/* A store in a fresh directory (opts->dir is set here) holding one run. */
static struct store *open_one_run(struct store_opts *opts, struct ttai_run_id *run)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    opts->dir = dir; /* the store keeps a copy */
    struct store *store = test_open(opts);
    opts->dir = NULL;
    make_run(store, 1, "wf");
    *run = rid(1);
    return store;
}

static void hold_submit(struct store *store, const struct ttai_run_id *run, size_t events,
                        store_commit_fn cb, void *arg)
{
    struct store_batch *b = store_batch_new();
    ASSERT(b != NULL);
    for (size_t i = 0; i < events; i++)
        an_append(b, run, "x");
    ASSERT_OK(store_submit(store, b, cb, arg), (struct ttai_err *)NULL);
}

/* A group submitted in pieces under a hold commits once, in submit order,
 * and not before the release. */
void test_group_commit_hold(void)
{
    struct store_opts opts = {.hold_wait_ms = 600000}; /* only the release ends it */
    struct ttai_run_id run;
    struct store *store = open_one_run(&opts, &run);
    struct hold_ctx ctx = {.next = 2};
    waiter_init(&ctx.done);
    struct store_counters c0, c1, d;
    store_counters_get(store, &c0);
    store_group_hold(store);
    for (int piece = 0; piece < 4; piece++) {
        for (int i = 0; i < 5; i++)
            hold_submit(store, &run, 1, hold_cb, &ctx);
        sched_yield(); /* usually lets the writer take the piece and wait for the next */
    }
    atomic_store(&ctx.released, true);
    store_group_release(store);
    waiter_wait(&ctx.done, 20);
    store_counters_get(store, &c1);
    delta(&c0, &c1, &d);
    ASSERT_U64_EQ(d.commits, 1);
    ASSERT_U64_EQ(d.batches, 20);
    ASSERT_U64_EQ(ctx.next, 22);
    ASSERT_U64_EQ(test_last_event(store, &run), 21);
    waiter_destroy(&ctx.done);
    store_close(store);
}

/* A group ends with its own hold: a hold begun after the release (the next
 * round's) neither keeps it open nor takes its batches. */
void test_group_commit_hold_next(void)
{
    struct store_opts opts = {.hold_wait_ms = 600000};
    struct ttai_run_id run;
    struct store *store = open_one_run(&opts, &run);
    struct hold_ctx first = {.next = 2}, second = {.next = 4};
    waiter_init(&first.done);
    waiter_init(&second.done);
    atomic_store(&first.released, true);
    store_group_hold(store);
    hold_submit(store, &run, 1, hold_cb, &first);
    hold_submit(store, &run, 1, hold_cb, &first);
    store_group_release(store);
    store_group_hold(store); /* at once: the writer may not have taken the first yet */
    waiter_wait(&first.done, 2); /* would wait 600 s for the second release */
    hold_submit(store, &run, 1, hold_cb, &second);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL); /* the second hold's batch must not commit meanwhile */
    atomic_store(&second.released, true);
    store_group_release(store);
    waiter_wait(&second.done, 1);
    ASSERT_U64_EQ(test_last_event(store, &run), 4);
    waiter_destroy(&first.done);
    waiter_destroy(&second.done);
    store_close(store);
}

static void limit_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    (void)b;
    (void)err;
    ASSERT_EQ(rc, 0);
    waiter_add(arg);
}

/* A held group still commits at its event limit; what follows waits for
 * the release. A hold never released delays a commit by hold_wait_ms, no
 * more. */
void test_group_commit_hold_limits(void)
{
    struct store_opts opts = {.group_events_max = 10, .hold_wait_ms = 600000};
    struct ttai_run_id run;
    struct store *store = open_one_run(&opts, &run);
    struct waiter first, second;
    waiter_init(&first);
    waiter_init(&second);
    store_group_hold(store);
    for (int i = 0; i < 8; i++)
        hold_submit(store, &run, 1, limit_cb, &first);
    hold_submit(store, &run, 5, limit_cb, &second); /* 8 + 5 > 10: the next group's */
    waiter_wait(&first, 8); /* committed while the hold lasts */
    /* The held batch must not commit: give an unheld writer ample time to
     * (a pause cannot make this check fail when the hold works). */
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&second.mu);
    ASSERT_U64_EQ(second.done, 0);
    pthread_mutex_unlock(&second.mu);
    store_group_release(store);
    waiter_wait(&second, 1);
    ASSERT_U64_EQ(test_last_event(store, &run), 14);
    waiter_destroy(&first);
    waiter_destroy(&second);
    store_close(store);

    /* A holder that never releases: a commit goes through after the wait. */
    char dir2[600];
    test_path(dir2, sizeof(dir2), "data2");
    struct store_opts opts2 = {.dir = dir2, .hold_wait_ms = 1};
    store = test_open(&opts2);
    make_run(store, 1, "wf");
    store_group_hold(store);
    struct store_batch *b = store_batch_new();
    an_append(b, &run, "x");
    struct ttai_err err;
    ASSERT_OK(store_commit(store, b, &err), &err);
    store_batch_free(b);
    ASSERT_U64_EQ(test_last_event(store, &run), 2);
    store_group_release(store);
    store_close(store);
}

/* ---- Close drains the queue --------------------------------------------------- */

struct closer {
    struct store *store;
    pthread_t thread;
};

static void *closer_main(void *arg)
{
    struct closer *c = arg;
    store_close(c->store);
    return NULL;
}

static atomic_int drained_ok;
static atomic_int drained_bad;

static void drain_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    (void)b;
    (void)err;
    (void)arg;
    if (rc == 0)
        atomic_fetch_add(&drained_ok, 1);
    else
        atomic_fetch_add(&drained_bad, 1);
}

/* While the writer is busy, batches pile up and another thread closes the
 * store: every queued batch still commits and gets its callback before
 * store_close returns; a submit after close began gets TTAI_ECLOSED and
 * no callback. */
void test_group_commit_close_drains(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    make_run(store, 1, "wf");
    struct ttai_run_id run = rid(1);
    struct gate gate;
    gate_close(store, &gate);
    enum { N = 200 };
    for (int i = 0; i < N; i++) {
        struct store_batch *b = store_batch_new();
        an_append(b, &run, "queued");
        ASSERT_OK(store_submit(store, b, drain_cb, NULL), (struct ttai_err *)NULL);
    }
    struct closer closer = {.store = store};
    ASSERT_EQ(pthread_create(&closer.thread, NULL, closer_main, &closer), 0);
    /* Submit until the store says it is closing (the writer is parked, so
     * the store cannot go away meanwhile). */
    int accepted = 0;
    struct store_batch *probe = NULL;
    for (long tries = 0;; tries++) {
        ASSERT_LT(tries, 100000000L);
        if (probe == NULL) {
            probe = store_batch_new();
            an_append(probe, &run, "probe");
        }
        int rc = store_submit(store, probe, drain_cb, NULL);
        if (rc == TTAI_ECLOSED)
            break;
        ASSERT_OK(rc, (struct ttai_err *)NULL);
        probe = NULL;
        accepted++;
        sched_yield();
    }
    struct ttai_err err;
    ASSERT_EQ(store_commit(store, probe, &err), TTAI_ECLOSED);
    ASSERT_EQ(err.rc, TTAI_ECLOSED);
    ASSERT_EQ(atomic_load(&drained_ok), 0);
    gate_open(&gate);
    ASSERT_EQ(pthread_join(closer.thread, NULL), 0);
    ASSERT_EQ(atomic_load(&drained_bad), 0);
    ASSERT_EQ(atomic_load(&drained_ok), N + accepted);
    ASSERT_EQ(store_batch_events(probe), 1); /* refused: still ours */
    store_batch_free(probe);
    gate_destroy(&gate);

    store = test_open_dir(dir);
    ASSERT_U64_EQ(test_last_event(store, &run), 1 + (uint64_t)N + (uint64_t)accepted);
    store_close(store);
}
