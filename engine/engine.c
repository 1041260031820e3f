/* engine.c: the engine: starting, signalling, querying and cancelling
 * workflows, running workflow tasks, durable timers and activity outcomes.
 *
 * Threads. Every public call and ttai_engine_poll() run under the engine
 * lock `mu`; activity attempts run on the pool (activity.c) and hand their
 * outcomes back through a queue that poll() drains. The store's writer
 * thread makes each batch durable; the engine waits for it before acting on
 * anything a batch created (dispatching an activity, arming a timer,
 * answering a start or a signal).
 *
 * Invariants:
 *  1. A run is in the cache only while Running (closed runs are dropped
 *     after their last task commits). A start caches the run it created
 *     once its batch is durable, after asking the store that the run is
 *     still Running and not cached already (eng_cache_adopt).
 *  2. A workflow task's batch requires the run to be Running and to have
 *     exactly the events the task saw; a refused batch evicts the run, which
 *     is rebuilt by replay at its next task (nothing of the refused task
 *     was written).
 *  3. Every batch that creates work (an activity record, a timer) is
 *     durable before the work is dispatched or armed.
 */
#include "engine_int.h"
#include "engine_pool.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define QUERY_FIRST_TASK_WAIT_MS_DEFAULT 5000
#define CACHE_MAX_DEFAULT 10000
#define HASH_BUCKETS 65536

static int64_t real_now(void *arg)
{
    (void)arg;
    return ttai_wall_ms();
}

int64_t eng_now_ms(struct ttai_engine *eng)
{
    return eng->clock.now_ms(eng->clock.arg);
}

int64_t eng_now_ns(struct ttai_engine *eng)
{
    if (eng->clock.now_ms != real_now)
        return eng_now_ms(eng) * 1000000;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- Stats ------------------------------------------------------------------ */

/* The engine's histograms share the store's buckets (store.h). */
_Static_assert(TTAI_LATENCY_BUCKETS == STORE_LATENCY_BUCKETS, "latency buckets differ");
_Static_assert(TTAI_GROUP_BUCKETS == STORE_GROUP_BUCKETS, "group size buckets differ");
const uint64_t *const ttai_latency_bounds_ns = store_latency_bounds_ns;

void eng_hist_add(struct ttai_latency_hist *h, int64_t ns)
{
    h->buckets[store_latency_bucket(ns)]++;
    h->count++;
    h->sum_ns += ns > 0 ? (uint64_t)ns : 0;
}

/* ---- Timer heap (min by fire time) ------------------------------------------ */

static bool timer_less(const struct store_timer *a, const struct store_timer *b)
{
    return a->fire_ms < b->fire_ms;
}

void eng_timer_push(struct timer_heap *h, const struct store_timer *t)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct store_timer *grown = ttai_realloc(h->items, cap * sizeof(*grown));
        TTAI_ASSERT(grown != NULL);
        h->items = grown;
        h->cap = cap;
    }
    size_t i = h->count++;
    h->items[i] = *t;
    while (i > 0 && timer_less(&h->items[i], &h->items[(i - 1) / 2])) {
        struct store_timer tmp = h->items[i];
        h->items[i] = h->items[(i - 1) / 2];
        h->items[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

void eng_timer_pop(struct timer_heap *h)
{
    h->items[0] = h->items[--h->count];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->count && timer_less(&h->items[l], &h->items[m]))
            m = l;
        if (r < h->count && timer_less(&h->items[r], &h->items[m]))
            m = r;
        if (m == i)
            break;
        struct store_timer tmp = h->items[i];
        h->items[i] = h->items[m];
        h->items[m] = tmp;
        i = m;
    }
}

/* ---- Cache --------------------------------------------------------------------- */

/* Run ids begin with their creation time (eng_run_id_new): the hash takes
 * their last bytes, which are random in new and old ids alike. */
static size_t bucket_of(const struct ttai_run_id *id)
{
    uint32_t h;
    memcpy(&h, id->b + TTAI_RUN_ID_BYTES - sizeof(h), sizeof(h));
    return h & (HASH_BUCKETS - 1);
}

int eng_run_id_new(struct ttai_run_id *out)
{
    if (ttai_run_id_random(out) != 0)
        return TTAI_EIO;
    uint64_t ms = (uint64_t)ttai_wall_ms();
    for (int i = 5; i >= 0; i--) {
        out->b[i] = (uint8_t)ms;
        ms >>= 8;
    }
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x70); /* version 7: time-ordered */
    return TTAI_OK;
}

struct ttai_wf *eng_cache_find(struct ttai_engine *eng, const struct ttai_run_id *id)
{
    for (struct ttai_wf *wf = eng->buckets[bucket_of(id)]; wf != NULL; wf = wf->hash_next)
        if (ttai_run_id_eq(&wf->rec.run_id, id))
            return wf;
    return NULL;
}

static void lru_unlink(struct ttai_wf *wf)
{
    wf->lru_prev->lru_next = wf->lru_next;
    wf->lru_next->lru_prev = wf->lru_prev;
}

static void lru_push_front(struct ttai_engine *eng, struct ttai_wf *wf)
{
    wf->lru_next = eng->lru.lru_next;
    wf->lru_prev = &eng->lru;
    eng->lru.lru_next->lru_prev = wf;
    eng->lru.lru_next = wf;
}

void eng_cache_remove(struct ttai_engine *eng, struct ttai_wf *wf)
{
    if (wf->inflight) {
        /* Its round still points at it: drop it when the round finishes. */
        wf->evict_pending = true;
        return;
    }
    struct ttai_wf **p = &eng->buckets[bucket_of(&wf->rec.run_id)];
    while (*p != wf)
        p = &(*p)->hash_next;
    *p = wf->hash_next;
    lru_unlink(wf);
    eng->cached--;
    eng_run_free(wf);
}

static void cache_touch(struct ttai_engine *eng, struct ttai_wf *wf)
{
    lru_unlink(wf);
    lru_push_front(eng, wf);
}

static void cache_insert(struct ttai_engine *eng, struct ttai_wf *wf)
{
    struct ttai_wf *victim = eng->lru.lru_prev;
    while (eng->cached >= eng->cache_max && victim != &eng->lru) {
        struct ttai_wf *prev = victim->lru_prev;
        if (!victim->inflight) {
            eng_cache_remove(eng, victim);
            eng->stats.evictions++;
        }
        victim = prev;
    }
    size_t b = bucket_of(&wf->rec.run_id);
    wf->hash_next = eng->buckets[b];
    eng->buckets[b] = wf;
    lru_push_front(eng, wf);
    eng->cached++;
}

void eng_mark_ready_at(struct ttai_engine *eng, const struct ttai_run_id *id, int64_t ready_ns)
{
    struct ttai_wf *cached = eng_cache_find(eng, id);
    if (cached != NULL)
        cached->synced = false;
    if (eng->ready_count > 0 && ttai_run_id_eq(&eng->ready[eng->ready_count - 1], id))
        return;
    if (eng->ready_count == eng->ready_cap) {
        size_t cap = eng->ready_cap ? eng->ready_cap * 2 : 64;
        struct ttai_run_id *grown = ttai_realloc(eng->ready, cap * sizeof(*grown));
        TTAI_ASSERT(grown != NULL);
        eng->ready = grown;
        int64_t *grown_ns = ttai_realloc(eng->ready_ns, cap * sizeof(*grown_ns));
        TTAI_ASSERT(grown_ns != NULL);
        eng->ready_ns = grown_ns;
        eng->ready_cap = cap;
    }
    eng->ready_ns[eng->ready_count] = ready_ns;
    eng->ready[eng->ready_count++] = *id;
    if (eng->ready_count == 1)
        eng_pool_kick(eng->pool); /* the engine thread may be waiting */
}

void eng_mark_ready(struct ttai_engine *eng, const struct ttai_run_id *id)
{
    eng_mark_ready_at(eng, id, ttai_mono_ns());
}

/* Loads a run into the cache, replaying its history. Returns NULL with err
 * filled when the run is unknown, closed (unless allow_closed), of an
 * unregistered type, or unreadable. A non-deterministic run is returned
 * with wf->nondet set. */
struct ttai_wf *eng_run_load(struct ttai_engine *eng, const struct ttai_run_id *id,
                                bool allow_closed, struct ttai_err *err)
{
    struct ttai_wf *wf = eng_cache_find(eng, id);
    if (wf != NULL) {
        eng->stats.cache_hits++;
        cache_touch(eng, wf);
        return wf;
    }
    struct store_read *rd;
    if (store_read_begin(eng->store, &rd, err) != 0)
        return NULL;
    struct store_run rec;
    int rc = store_run_get(rd, id, &rec, err);
    const struct ttai_workflow_def *def = NULL;
    if (rc == 0 && rec.status != STORE_RUN_RUNNING && !allow_closed)
        rc = ttai_errf(err, TTAI_ECLOSED, "run of '%s' is %s", rec.workflow_id,
                       store_run_status_text(rec.status));
    if (rc == 0 && (def = eng_find_workflow(eng->registry, rec.type)) == NULL)
        rc = ttai_errf(err, TTAI_ENOTFOUND, "workflow type '%s' is not registered", rec.type);
    struct eng_arena tmp = {0};
    struct store_event *events = NULL;
    size_t count = 0;
    if (rc == 0)
        rc = eng_history_load(rd, id, 1, &tmp, &events, &count, err);
    store_read_end(rd);
    if (rc == 0 && (wf = eng_run_new(&rec, def, eng)) == NULL)
        rc = ttai_errf(err, TTAI_ENOMEM, "out of memory loading a run");
    if (rc != 0) {
        eng_arena_release(&tmp);
        return NULL;
    }
    eng_run_replay(wf, events, count, 0);
    if (wf->coro_failed) {
        eng_run_free(wf);
        eng_arena_release(&tmp);
        ttai_errf(err, TTAI_ENOMEM, "cannot allocate a workflow stack: lower cache_max or raise "
                  "vm.max_map_count");
        return NULL;
    }
    wf->nondet_recorded = wf->nondet && count > 0 && events[count - 1].type == STORE_EV_TASK_FAILED;
    eng_arena_release(&tmp);
    eng->stats.replays++;
    eng->stats.replayed_events += count;
    if (rec.status != STORE_RUN_RUNNING)
        return wf; /* a closed run, loaded for a query: the caller frees it */
    cache_insert(eng, wf);
    return wf;
}

bool eng_cache_adopt(struct ttai_engine *eng, struct ttai_wf *wf)
{
    if (eng_cache_find(eng, &wf->rec.run_id) != NULL) {
        eng_run_free(wf);
        return false;
    }
    struct store_read *rd;
    struct store_run rec;
    bool running = false;
    if (store_read_begin(eng->store, &rd, NULL) == 0) {
        running = store_run_get(rd, &wf->rec.run_id, &rec, NULL) == 0 &&
                  rec.status == STORE_RUN_RUNNING;
        store_read_end(rd);
    }
    if (!running) {
        eng_run_free(wf);
        return false;
    }
    cache_insert(eng, wf);
    return true;
}

/* ---- Batches built from a task's commands ------------------------------- */

/* Encodes the pending-activity record: the ActivityScheduled command with
 * its current attempt and the time it was scheduled. */
int eng_activity_record(const struct store_event *cmd, uint32_t attempt, int64_t scheduled_ms,
                           uint8_t **buf, size_t *len, size_t *cap)
{
    struct store_event rec = *cmd;
    rec.attempt = attempt;
    rec.fire_ms = scheduled_ms;
    *len = 0;
    return store_event_encode(&rec, buf, len, cap, NULL);
}


/* Adds to the batch the deletion of everything a closing run leaves. */
static int add_close_cleanup(struct ttai_wf *wf, struct store_batch *b)
{
    int rc = 0;
    for (struct ttai_future *f = wf->futures; rc == 0 && f != NULL; f = f->next) {
        if (f->done || f->seq == 0)
            continue;
        if (f->kind == FUT_ACTIVITY)
            rc = store_batch_del_activity(b, &wf->rec.run_id, f->seq);
        else
            rc = store_batch_del_timer(b, f->fire_ms, &wf->rec.run_id, f->seq);
    }
    if (rc == 0 && wf->run_deadline_ms > 0)
        rc = store_batch_del_timer(b, wf->run_deadline_ms, &wf->rec.run_id, 0);
    return rc;
}

static int status_of_close(int type)
{
    switch (type) {
    case STORE_EV_WORKFLOW_COMPLETED: return STORE_RUN_COMPLETED;
    case STORE_EV_WORKFLOW_FAILED: return STORE_RUN_FAILED;
    case STORE_EV_WORKFLOW_CANCELED: return STORE_RUN_CANCELED;
    case STORE_EV_WORKFLOW_TERMINATED: return STORE_RUN_TERMINATED;
    case STORE_EV_WORKFLOW_TIMED_OUT: return STORE_RUN_TIMED_OUT;
    default: return STORE_RUN_CONTINUED_AS_NEW;
    }
}

/* Closes the run in the batch (run record, cleanup) and, for
 * continue-as-new, creates the next run with its WorkflowStarted. */
static int add_close(struct ttai_engine *eng, struct task_out *out, struct store_event *close_ev,
                     int64_t now, struct ttai_err *err)
{
    struct ttai_wf *wf = out->wf;
    struct store_batch *b = out->batch;
    struct store_run rec = wf->rec;
    rec.status = status_of_close(close_ev->type);
    out->close_status = rec.status;
    out->close_ev = close_ev;
    rec.close_ms = now;
    int rc = 0;
    if (close_ev->type == STORE_EV_CONTINUED_AS_NEW) {
        struct store_run *next = &out->next_run;
        *next = wf->rec;
        if (eng_run_id_new(&next->run_id) != 0)
            return ttai_errf(err, TTAI_EIO, "cannot make a run id");
        next->start_ms = now;
        next->close_ms = 0;
        next->prev_run = wf->rec.run_id;
        memset(&next->next_run, 0, sizeof(next->next_run));
        rec.next_run = next->run_id;
        close_ev->run_id = next->run_id;
        out->continued = true;
    }
    rc = store_batch_append(b, &wf->rec.run_id, close_ev, err);
    if (rc == 0)
        rc = store_batch_put_run(b, &rec);
    if (rc == 0)
        rc = add_close_cleanup(wf, b);
    if (rc == 0 && out->continued) {
        struct store_event started = {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = now,
                                      .name = {(const uint8_t *)wf->rec.type, strlen(wf->rec.type)},
                                      .payload = close_ev->payload, .run_id = wf->rec.run_id,
                                      .fire_ms = wf->exec_deadline_ms,
                                      .run_timeout_ms = wf->run_timeout_ms};
        out->next_deadline_ms = eng_run_deadline(now, wf->run_timeout_ms, wf->exec_deadline_ms);
        rc = store_batch_put_run(b, &out->next_run);
        if (rc == 0)
            rc = store_batch_put_exec(b, wf->rec.ns, wf->rec.workflow_id, &out->next_run.run_id);
        if (rc == 0)
            rc = store_batch_append(b, &out->next_run.run_id, &started, err);
        if (rc == 0 && out->next_deadline_ms > 0)
            rc = store_batch_put_timer(b, out->next_deadline_ms, &out->next_run.run_id, 0,
                                       TIMER_RUN_TIMEOUT);
    }
    (void)eng;
    out->close = true;
    return rc;
}

/* Adds the task's events to out->batch: input (NULL: none), then
 * TaskCompleted, the commands and what they create. The caller adds the
 * batch's conditions. */
static int build_task_events(struct ttai_engine *eng, struct task_out *out,
                             const struct store_event *input, int64_t now, struct ttai_err *err)
{
    struct ttai_wf *wf = out->wf;
    struct store_batch *b = out->batch;
    const struct ttai_run_id *run = &wf->rec.run_id;
    int rc = 0;
    if (input != NULL)
        rc = store_batch_append(b, run, input, err);
    struct store_event done = {.type = STORE_EV_TASK_COMPLETED, .time_ms = now,
                               .ref_event_id = wf->processed_through};
    if (rc == 0)
        rc = store_batch_append(b, run, &done, err);
    uint8_t *rec = NULL;
    size_t len = 0, cap = 0;
    for (size_t i = 0; rc == 0 && i < wf->cmd_count; i++) {
        struct store_event *cmd = &wf->cmds[i];
        if (store_event_type_closes_run(cmd->type)) {
            rc = add_close(eng, out, cmd, now, err);
            continue;
        }
        rc = store_batch_append(b, run, cmd, err);
        if (rc != 0)
            break;
        if (cmd->type == STORE_EV_ACTIVITY_SCHEDULED) {
            rc = eng_activity_record(cmd, 1, now, &rec, &len, &cap);
            if (rc == 0)
                rc = store_batch_put_activity(b, run, cmd->seq, rec, len);
        } else if (cmd->type == STORE_EV_TIMER_STARTED) {
            rc = store_batch_put_timer(b, cmd->fire_ms, run, cmd->seq, TIMER_WORKFLOW);
        } else if (cmd->type == STORE_EV_TIMER_CANCELED) {
            rc = store_batch_del_timer(b, cmd->fire_ms, run, cmd->seq);
        }
    }
    ttai_free(rec);
    if (rc != 0 && err != NULL && err->rc == 0)
        ttai_errf(err, rc, "cannot build task batch: %s", ttai_strerror(rc));
    return rc;
}

/* The batch of a task of a stored run: it requires the run to be Running
 * with exactly stored_last events when it commits (invariant 2). */
static int build_task_batch(struct ttai_engine *eng, struct task_out *out, uint64_t stored_last,
                            const struct store_event *input, int64_t now, struct ttai_err *err)
{
    const struct ttai_run_id *run = &out->wf->rec.run_id;
    int rc = store_batch_require_run_status(out->batch, run, STORE_RUN_RUNNING);
    if (rc == 0)
        rc = store_batch_require_last_event(out->batch, run, stored_last);
    return rc != 0 ? rc : build_task_events(eng, out, input, now, err);
}

/* Closes an activity that has no attempt in the pool as canceled. */
static void activity_canceled(struct ttai_engine *eng, const struct ttai_run_id *run, uint64_t seq)
{
    struct store_event ev = {.type = STORE_EV_ACTIVITY_CANCELED, .time_ms = eng_now_ms(eng),
                             .seq = seq, .failure_type = {(const uint8_t *)"Canceled", 8}};
    struct store_batch *b = store_batch_new();
    TTAI_ASSERT(b != NULL);
    struct ttai_err err;
    int rc = store_batch_require_run_status(b, run, STORE_RUN_RUNNING);
    if (rc == 0)
        rc = store_batch_append(b, run, &ev, &err);
    if (rc == 0)
        rc = store_batch_del_activity(b, run, seq);
    if (rc == 0 && store_commit(eng->store, b, &err) == 0)
        eng_mark_ready(eng, run);
    store_batch_free(b);
}

/* After a task's batch is durable: arm timers, dispatch activities. */
static void task_committed(struct ttai_engine *eng, struct task_out *out)
{
    struct ttai_wf *wf = out->wf;
    for (size_t i = 0; i < wf->cmd_count; i++) {
        const struct store_event *cmd = &wf->cmds[i];
        if (cmd->type == STORE_EV_TIMER_STARTED) {
            struct store_timer t = {cmd->fire_ms, wf->rec.run_id, cmd->seq, TIMER_WORKFLOW};
            eng_timer_push(&eng->timers, &t);
        } else if (cmd->type == STORE_EV_ACTIVITY_SCHEDULED) {
            eng_dispatch(eng, &wf->rec, cmd, 1);
        } else if (cmd->type == STORE_EV_ACTIVITY_CANCEL_REQUESTED &&
                   !eng_pool_cancel(eng->pool, &wf->rec.run_id, cmd->seq)) {
            /* No attempt runs (it waits for a retry): cancel it now. */
            activity_canceled(eng, &wf->rec.run_id, cmd->seq);
        }
    }
    wf->cmd_count = 0;
    if (out->close) {
        /* Attempts still running belong to a closed run: tell them to stop. */
        for (struct ttai_future *f = wf->futures; f != NULL; f = f->next)
            if (f->kind == FUT_ACTIVITY && !f->done && f->seq != 0)
                eng_pool_cancel(eng->pool, &wf->rec.run_id, f->seq);
    }
    if (out->continued) {
        eng_mark_ready(eng, &out->next_run.run_id);
        if (out->next_deadline_ms > 0) {
            struct store_timer t = {out->next_deadline_ms, out->next_run.run_id, 0,
                                    TIMER_RUN_TIMEOUT};
            eng_timer_push(&eng->timers, &t);
        }
    }
}

/* ---- Running tasks ---------------------------------------------------------- */

/* Writes the non-determinism of a run into its history once (TaskFailed),
 * so that it shows in the history as well as in describe. The run stays
 * open; it resumes when code that replays its history is deployed. */
static void record_nondet(struct ttai_engine *eng, struct ttai_wf *wf, int64_t now)
{
    struct store_event ev = {.type = STORE_EV_TASK_FAILED, .time_ms = now,
                             .ref_event_id = wf->nondet_event_id,
                             .failure_type = {(const uint8_t *)"NonDeterminism", 14},
                             .failure_message = {(const uint8_t *)wf->nondet_msg,
                                                 strlen(wf->nondet_msg)}};
    struct store_batch *b = store_batch_new();
    TTAI_ASSERT(b != NULL);
    struct ttai_err err;
    int rc = store_batch_require_run_status(b, &wf->rec.run_id, STORE_RUN_RUNNING);
    if (rc == 0)
        rc = store_batch_append(b, &wf->rec.run_id, &ev, &err);
    /* This runs only while a round is prepared, with the store's group held
     * open (round_start): the writer would wait for the round before it
     * commits this batch. */
    store_group_release(eng->store);
    if (rc == 0 && store_commit(eng->store, b, &err) == 0)
        wf->nondet_recorded = true;
    store_group_hold(eng->store);
    store_batch_free(b);
}

/* Runs wf's task over its stored unprocessed events (from rd) and input
 * (NULL: none; appended after them), and adds the task's events to b.
 * Returns false when there is nothing to deliver or the batch cannot be
 * built; in the latter case the task has run, so the run is evicted (its
 * next task replays the durable history). */
static bool task_run(struct ttai_engine *eng, struct store_read *rd, struct ttai_wf *wf,
                     const struct store_event *input, struct store_batch *b,
                     struct task_out *out, int64_t now)
{
    struct ttai_err err;
    struct eng_arena tmp = {0};
    struct store_event *events = NULL;
    size_t count = 0;
    int rc = 0;
    if (input == NULL || !wf->synced)
        rc = eng_history_load(rd, &wf->rec.run_id, wf->processed_through + 1, &tmp, &events,
                              &count, &err);
    uint64_t stored_last = count > 0 ? events[count - 1].event_id : wf->last_event_id;
    struct store_event only;            /* the input alone: no copy of the history */
    if (rc == 0 && input != NULL && count == 0) {
        only = *input;
        only.event_id = stored_last + 1;
        events = &only;
        count = 1;
    } else if (rc == 0 && input != NULL) {
        struct store_event *all = eng_arena_alloc(&tmp, (count + 1) * sizeof(*all));
        memcpy(all, events, count * sizeof(*all));
        all[count] = *input;
        all[count].event_id = stored_last + 1;
        events = all;
        count++;
    }
    bool has_input = false;
    for (size_t i = 0; rc == 0 && i < count; i++)
        has_input |= eng_event_is_input(events[i].type);
    if (rc != 0 || !has_input) {
        eng_arena_release(&tmp);
        return false;
    }
    eng_run_task(wf, events, count, now);
    eng_arena_release(&tmp);
    eng->stats.tasks++;
    out->wf = wf;
    out->batch = b;
    if (build_task_batch(eng, out, stored_last, input, now, &err) != 0) {
        out->batch = NULL;
        eng_cache_remove(eng, wf);
        return false;
    }
    return true;
}

/* Runs the task of one ready run and builds its batch; returns false when
 * there is nothing to commit. */
static bool task_prepare(struct ttai_engine *eng, const struct ttai_run_id *id,
                         struct task_out *out, int64_t now)
{
    struct ttai_err err;
    struct ttai_wf *wf = eng_run_load(eng, id, false, &err);
    if (wf != NULL && wf->nondet && !wf->nondet_recorded)
        record_nondet(eng, wf, now);
    if (wf == NULL || wf->nondet)
        return false;
    struct store_read *rd;
    if (store_read_begin(eng->store, &rd, &err) != 0)
        return false;
    struct store_batch *b = store_batch_new();
    TTAI_ASSERT(b != NULL);
    bool built = task_run(eng, rd, wf, NULL, b, out, now);
    store_read_end(rd);
    if (!built)
        store_batch_free(b);
    return built;
}

bool eng_task_fuse(struct ttai_engine *eng, struct store_read *rd, const struct ttai_run_id *run,
                   const struct store_event *input, struct store_batch *b, struct task_out *out,
                   int64_t now)
{
    struct ttai_wf *wf = eng_cache_find(eng, run);
    if (wf == NULL || wf->inflight || wf->nondet || wf->evict_pending ||
        wf->touched_round == eng->round_seq)
        return false;
    memset(out, 0, sizeof(*out));
    if (!task_run(eng, rd, wf, input, b, out, now))
        return false;
    cache_touch(eng, wf);
    wf->inflight = true;
    eng->stats.tasks_fused++;
    return true;
}

int eng_start_fuse(struct ttai_engine *eng, struct ttai_wf *wf, const struct store_event *started,
                   struct store_batch *b, struct task_out *out, int64_t now, struct ttai_err *err)
{
    memset(out, 0, sizeof(*out));
    struct store_event first = *started;
    first.event_id = 1; /* what the store gives the first event of a run */
    wf->synced = true;
    eng_run_task(wf, &first, 1, now);
    eng->stats.tasks++;
    out->wf = wf;
    out->batch = b;
    int rc = build_task_events(eng, out, started, now, err);
    if (rc != 0)
        return rc;
    cache_insert(eng, wf);
    wf->inflight = true;
    eng->stats.tasks_fused++;
    return TTAI_OK;
}

void eng_round_touch(struct ttai_engine *eng, const struct ttai_run_id *run)
{
    struct ttai_wf *wf = eng_cache_find(eng, run);
    if (wf != NULL)
        wf->touched_round = eng->round_seq;
}


/* A run whose history reached TTAI_HISTORY_LIMIT is terminated: replaying
 * it would grow without bound. */
static void history_limit(struct ttai_engine *eng, struct ttai_wf *wf)
{
    char reason[160];
    snprintf(reason, sizeof(reason),
             "history reached %" PRIu64 " events (limit %d): continue as new sooner",
             wf->last_event_id, TTAI_HISTORY_LIMIT);
    struct store_batch *b = store_batch_new();
    TTAI_ASSERT(b != NULL);
    struct ttai_err err;
    struct store_run rec = wf->rec;
    /* On failure the run stays open and is terminated at its next task. */
    if (eng_terminate_run(eng, &rec, STORE_EV_WORKFLOW_TERMINATED, reason, b, &err) == 0) {
        if (store_commit(eng->store, b, &err) != 0)
            eng_mark_ready(eng, &rec.run_id);
        else
            eng_closed(eng, &rec, STORE_RUN_TERMINATED, NULL);
    }
    store_batch_free(b);
    eng_cache_remove(eng, wf);
}

/* Runs the task of every ready run and submits its batch into the poll's
 * group (engine.c invariant 3: nothing acts on them before the group is
 * durable). */
struct eng_tasks {
    struct ttai_run_id *ids;            /* the ready runs taken */
    int64_t *ready_ns;                  /* since when they are ready */
    struct task_out *outs;              /* one per task with a batch */
    size_t built;
    struct ttai_run_id *later;          /* ready runs with a task still committing */
    int64_t *later_ns;
    size_t later_count;
};

static void tasks_prepare(struct ttai_engine *eng, struct eng_group *group, struct eng_tasks *t)
{
    memset(t, 0, sizeof(*t));
    size_t n = eng->ready_count;
    if (n == 0)
        return;
    t->ids = eng->ready;
    t->ready_ns = eng->ready_ns;
    eng->ready = NULL;
    eng->ready_ns = NULL;
    eng->ready_count = eng->ready_cap = 0;
    int64_t now = eng_now_ms(eng);
    t->outs = ttai_calloc(n, sizeof(*t->outs));
    t->later = ttai_malloc(n * sizeof(*t->later));
    t->later_ns = ttai_malloc(n * sizeof(*t->later_ns));
    TTAI_ASSERT(t->outs != NULL && t->later != NULL && t->later_ns != NULL);
    for (size_t i = 0; i < n; i++) {
        eng_group_flush_chunk(eng, group); /* the tasks before this one are complete */
        /* A run whose previous task is still committing waits for it: its
         * next task must see that task's events. */
        struct ttai_wf *cached = eng_cache_find(eng, &t->ids[i]);
        if (cached != NULL && cached->inflight) {
            t->later_ns[t->later_count] = t->ready_ns[i];
            t->later[t->later_count++] = t->ids[i];
            continue;
        }
        /* A run listed twice runs once: the second sees no new input. */
        struct task_out *out = &t->outs[t->built];
        if (!task_prepare(eng, &t->ids[i], out, now))
            continue;
        out->ready_ns = t->ready_ns[i];
        out->wf->inflight = true;
        eng_group_submit(eng, group, out->batch, &out->pending);
        out->batch = NULL; /* the store's now */
        t->built++;
    }
}

/* After the group is durable: act on each task's commands. */
static int tasks_finish(struct ttai_engine *eng, struct eng_tasks *t)
{
    for (size_t i = 0; i < t->later_count; i++)
        eng_mark_ready_at(eng, &t->later[i], t->later_ns[i]);
    for (size_t i = 0; i < t->built; i++)
        eng_task_finish(eng, &t->outs[i]);
    ttai_free(t->outs);
    ttai_free(t->ids);
    ttai_free(t->ready_ns);
    ttai_free(t->later);
    ttai_free(t->later_ns);
    return (int)t->built;
}

int eng_task_finish(struct ttai_engine *eng, struct task_out *out)
{
    struct ttai_wf *wf = out->wf;
    int rc = out->pending.rc;
    wf->inflight = false;
    if (wf->evict_pending) {
        struct ttai_run_id id = wf->rec.run_id;
        eng_cache_remove(eng, wf);
        if (rc == TTAI_ECONFLICT)
            eng_mark_ready(eng, &id);
        return rc;
    }
    if (rc == 0) {
        if (out->ready_ns > 0)
            eng_hist_add(&eng->stats.task_latency, ttai_mono_ns() - out->ready_ns);
        /* The task appended TaskCompleted and one event per command to
         * this run (a continue-as-new's next WorkflowStarted goes to the
         * next run); a fused input was counted when the task ran. */
        wf->last_event_id += 1 + wf->cmd_count;
        wf->synced = true;
        task_committed(eng, out);
        if (out->close) {
            eng_closed(eng, &wf->rec, out->close_status, out->close_ev);
            eng_cache_remove(eng, wf);
        } else if (wf->last_event_id >= TTAI_HISTORY_LIMIT) {
            history_limit(eng, wf);
        }
    } else {
        /* Refused (the run moved on meanwhile) or failed: rebuild it from
         * the durable history at its next task. */
        struct ttai_run_id id = wf->rec.run_id;
        eng_cache_remove(eng, wf);
        if (rc == TTAI_ECONFLICT)
            eng_mark_ready(eng, &id);
    }
    return rc;
}

void eng_dispatch(struct ttai_engine *eng, const struct store_run *run,
                  const struct store_event *rec, uint32_t attempt)
{
    if (eng->deferred_count == 0 &&
        eng_pool_dispatch(eng->pool, eng->registry, run, rec, attempt, eng_now_ms(eng)) == 0)
        return;
    /* The pool's queue is full: the record is durable, dispatch it later. */
    if (eng->deferred_count == eng->deferred_cap) {
        size_t cap = eng->deferred_cap ? eng->deferred_cap * 2 : 64;
        struct eng_deferred *grown = ttai_realloc(eng->deferred, cap * sizeof(*grown));
        TTAI_ASSERT(grown != NULL);
        eng->deferred = grown;
        eng->deferred_cap = cap;
    }
    eng->deferred[eng->deferred_count++] = (struct eng_deferred){run->run_id, rec->seq, attempt};
}

/* Dispatches deferred attempts while the pool has room. */
static int dispatch_deferred(struct ttai_engine *eng)
{
    if (eng->deferred_count == 0)
        return 0;
    struct store_read *rd;
    if (store_read_begin(eng->store, &rd, NULL) != 0)
        return 0;
    size_t done = 0;
    for (; done < eng->deferred_count; done++) {
        const struct eng_deferred *d = &eng->deferred[done];
        struct store_run run;
        struct store_bytes raw;
        struct store_event rec;
        if (store_run_get(rd, &d->run, &run, NULL) != 0 || run.status != STORE_RUN_RUNNING ||
            store_activity_get(rd, &d->run, d->seq, &raw, NULL) != 0 ||
            store_event_decode(raw.data, raw.len, &rec, NULL) != 0)
            continue; /* closed or finished meanwhile */
        if (eng_pool_dispatch(eng->pool, eng->registry, &run, &rec, d->attempt,
                              eng_now_ms(eng)) != 0)
            break;
    }
    store_read_end(rd);
    memmove(eng->deferred, eng->deferred + done, (eng->deferred_count - done) * sizeof(*eng->deferred));
    eng->deferred_count -= done;
    return (int)done;
}

/* Passes over the outcomes that come in while a round is prepared
 * (round_start); a bound, so that a stream of fast activities cannot keep
 * a round from being submitted. */
#define ROUND_LATE_PASSES 2

/* A round: everything one poll found ready, submitted as one group.
 * Rounds are pipelined: the engine prepares the next round while the
 * writer syncs the previous one, and finishes rounds in submission order
 * (the store commits batches in that order too). */
struct eng_round {
    struct eng_group group;
    struct eng_starts starts;
    struct eng_tasks tasks;
    struct eng_outcomes outcomes;
    struct eng_timers timers;
    struct eng_outcomes late[ROUND_LATE_PASSES]; /* outcomes that came during the round's preparation */
    size_t late_count;
};

#define ROUNDS_IN_FLIGHT_MAX 2
#define ROUND_OVERLAP_MIN 16    /* items that justify a round of their own */

static bool round_durable(struct eng_round *r)
{
    pthread_mutex_lock(&r->group.mu);
    bool durable = r->group.pending == 0;
    pthread_mutex_unlock(&r->group.mu);
    return durable;
}

/* Waits for the oldest round and acts on it; returns the items it held. */
static int round_finish_oldest(struct ttai_engine *eng)
{
    struct eng_round *r = eng->rounds[0];
    /* Wait without the engine lock: starts, signals and queries go on
     * meanwhile (a run with a task in this round is marked in flight, so
     * nothing frees or re-runs it). Only the polling thread touches
     * eng->rounds. */
    pthread_mutex_unlock(&eng->mu);
    eng_group_wait(&r->group);
    pthread_mutex_lock(&eng->mu);
    eng_pool_hold(eng->pool);
    int done = eng_starts_finish(eng, &r->starts);
    done += tasks_finish(eng, &r->tasks);
    done += eng_outcomes_finish(eng, &r->outcomes);
    done += eng_timers_finish(eng, &r->timers);
    for (size_t i = 0; i < r->late_count; i++)
        done += eng_outcomes_finish(eng, &r->late[i]);
    eng_pool_release(eng->pool);
    /* Rounds are heap objects: the writer's callbacks point into them. */
    ttai_free(r);
    memmove(eng->rounds, eng->rounds + 1, (eng->round_count - 1) * sizeof(*eng->rounds));
    eng->round_count--;
    return done + 1; /* a finished round is progress even when empty */
}

/* Prepares and submits a round of whatever is ready. Workflow tasks go
 * first, then activity outcomes and timers: a task's batch requires its run
 * to have exactly the events it saw, so an outcome appended behind it is
 * fine, whereas the reverse order would refuse the task. */
static int round_start(struct ttai_engine *eng)
{
    struct eng_round *r = ttai_calloc(1, sizeof(*r));
    TTAI_ASSERT(r != NULL);
    eng_group_init(&r->group);
    eng->round_seq++;
    /* The writer applies the round's batches as they come (flushed in
     * chunks, eng_group_flush_chunk) while the rest are prepared, and
     * commits them together once the round is released. */
    store_group_hold(eng->store);
    tasks_prepare(eng, &r->group, &r->tasks);
    eng_outcomes_prepare(eng, &r->group, &r->outcomes);
    eng_timers_prepare(eng, &r->group, &r->timers);
    /* New runs last: nothing else in the round can refer to them. */
    const struct eng_starts *in_flight[ROUNDS_IN_FLIGHT_MAX];
    for (size_t i = 0; i < eng->round_count; i++)
        in_flight[i] = &eng->rounds[i]->starts;
    eng_starts_prepare(eng, &r->group, in_flight, eng->round_count, &r->starts);
    /* Activities dispatched by the round just finished complete while this
     * one is prepared: those in by now join it (the writer is applying the
     * round meanwhile), instead of waiting for it to finish or making a
     * round of their own and splitting workflows that move in step into
     * two groups that each need a commit per step. */
    while (r->late_count < ROUND_LATE_PASSES && eng_pool_done_count(eng->pool) > 0)
        eng_outcomes_prepare(eng, &r->group, &r->late[r->late_count++]);
    eng_group_flush(eng, &r->group);
    store_group_release(eng->store);
    size_t items = r->starts.count + r->tasks.built + r->tasks.later_count + r->outcomes.count +
                   r->timers.count;
    for (size_t i = 0; i < r->late_count; i++)
        items += r->late[i].count;
    if (items == 0) {
        eng_group_wait(&r->group); /* nothing submitted: releases it */
        ttai_free(r->starts.ops);
        ttai_free(r->tasks.ids);
        ttai_free(r->tasks.ready_ns);
        ttai_free(r->tasks.outs);
        ttai_free(r->tasks.later);
        ttai_free(r->tasks.later_ns);
        ttai_free(r->outcomes.items);
        ttai_free(r->outcomes.taken);
        for (size_t i = 0; i < r->late_count; i++) {
            ttai_free(r->late[i].items);
            ttai_free(r->late[i].taken);
        }
        ttai_free(r->timers.items);
        ttai_free(r);
        return 0;
    }
    eng->rounds[eng->round_count++] = r;
    return (int)items;
}

/* Brackets a stretch of the poll that hands outcomes back (the embedder's
 * ttai_engine_on_batch). */
static void batch_mark(struct ttai_engine *eng, bool begin)
{
    if (eng->batch_cb != NULL)
        eng->batch_cb(eng->batch_arg, begin);
}

int ttai_engine_poll(struct ttai_engine *eng, int64_t *next_timer_ms)
{
    pthread_mutex_lock(&eng->mu);
    int done = dispatch_deferred(eng);
    batch_mark(eng, true);
    while (eng->round_count > 0 && round_durable(eng->rounds[0]))
        done += round_finish_oldest(eng);
    batch_mark(eng, false);
    /* A second round overlaps the first's sync only when it has enough to
     * do: a handful of items would cost a sync of their own, and would
     * delay the large round that follows the first one's completion. With
     * the write-ahead log a sync is one append (about 0.5 ms here), so 16
     * items (W2's monitors, a burst of starts) are enough; overlapping for
     * any single item costs more rounds than it saves (docs/performance.md,
     * change 14). */
    if (eng->round_count == 0 ||
        (eng->round_count < ROUNDS_IN_FLIGHT_MAX &&
         eng->ready_count + eng_pool_done_count(eng->pool) + eng_starts_queued(eng) >=
             ROUND_OVERLAP_MIN)) {
        batch_mark(eng, true); /* starts refused while it is prepared */
        done += round_start(eng);
        batch_mark(eng, false);
    }
    /* Nothing new to start while rounds are syncing: wait for the oldest
     * rather than spin (the wait comes before anything is handed back). */
    if (done == 0 && eng->round_count > 0) {
        batch_mark(eng, true);
        done += round_finish_oldest(eng);
        batch_mark(eng, false);
    }
    eng->stats.polls += done > 0;
    int64_t next = INT64_MAX;
    if (next_timer_ms != NULL) {
        int64_t deadline = eng_pool_next_deadline(eng->pool);
        next = eng->timers.count ? eng->timers.items[0].fire_ms : INT64_MAX;
        if (deadline < next)
            next = deadline;
    }
    int64_t now = eng_now_ms(eng);
    pthread_mutex_unlock(&eng->mu);
    /* Schedules start workflows through the public calls: without the lock. */
    int64_t wake;
    if (eng->sched != NULL) {
        done += eng_scheds_poll(eng->sched, now, &wake);
        if (wake < next)
            next = wake;
    }
    if (next_timer_ms != NULL)
        *next_timer_ms = next;
    return done;
}

bool ttai_engine_activities_idle(struct ttai_engine *eng)
{
    return eng_pool_idle(eng->pool);
}

void ttai_engine_wait(struct ttai_engine *eng, int64_t timeout_ms)
{
    eng_pool_wait_any(eng->pool, timeout_ms);
}

void ttai_engine_on_close(struct ttai_engine *eng, ttai_close_fn close_cb, void *arg)
{
    eng->close_cb = close_cb;
    eng->close_arg = arg;
}

void ttai_engine_on_batch(struct ttai_engine *eng, ttai_batch_fn batch_cb, void *arg)
{
    eng->batch_cb = batch_cb;
    eng->batch_arg = arg;
}

struct store *ttai_engine_store(struct ttai_engine *eng)
{
    return eng->store;
}

const struct ttai_registry *ttai_engine_registry(const struct ttai_engine *eng)
{
    return eng->registry;
}

void eng_closed(struct ttai_engine *eng, const struct store_run *run, int status,
                const struct store_event *close_ev)
{
    if (eng->sched != NULL)
        eng_scheds_note_closed(eng->sched);
    if (eng->close_cb != NULL)
        eng->close_cb(eng->close_arg, run->ns, run->workflow_id, &run->run_id, status, close_ev);
}

void ttai_engine_wait_activity(struct ttai_engine *eng, int64_t timeout_ms)
{
    eng_pool_wait(eng->pool, timeout_ms);
}

size_t ttai_engine_dispatch_latencies(struct ttai_engine *eng, int64_t *out, size_t max)
{
    return eng_pool_latencies(eng->pool, out, max);
}

void ttai_engine_stats_get(struct ttai_engine *eng, struct ttai_engine_stats *out)
{
    pthread_mutex_lock(&eng->mu);
    *out = eng->stats;
    out->cached = eng->cached;
    out->starts_queued = eng_starts_queued(eng);
    struct store_counters sc;
    store_counters_get(eng->store, &sc);
    out->commits = sc.commits;
    out->batches = sc.batches;
    out->batches_refused = sc.batches_refused;
    out->commit_ns_total = sc.commit_ns_total;
    memcpy(out->commit_group_batches, sc.group_sizes, sizeof(out->commit_group_batches));
    memcpy(out->commit_latency.buckets, sc.commit_latency.buckets,
           sizeof(out->commit_latency.buckets));
    out->commit_latency.count = sc.commit_latency.count;
    out->commit_latency.sum_ns = sc.commit_latency.sum_ns;
    pthread_mutex_unlock(&eng->mu);
}

/* ---- Open, recovery, close ----------------------------------------------------- */

/* True when the run has inputs that no recorded task has seen: walks back
 * from the last event to the last TaskCompleted and past its ref. */
static bool has_pending_inputs(struct store_read *rd, const struct store_run *run)
{
    uint64_t ref = 0;
    bool found_task = false;
    for (uint64_t id = run->last_event_id; id > ref; id--) {
        struct store_event ev;
        if (store_event_get(rd, &run->run_id, id, &ev, NULL) != 0)
            return true; /* let the task report the problem */
        if (!found_task && ev.type == STORE_EV_TASK_COMPLETED) {
            found_task = true;
            ref = ev.ref_event_id;
            continue;
        }
        if (eng_event_is_input(ev.type))
            return true;
    }
    return false;
}

static bool has_retry_timer(const struct timer_heap *h, const struct ttai_run_id *run, uint64_t seq)
{
    for (size_t i = 0; i < h->count; i++)
        if (h->items[i].kind == TIMER_ACTIVITY_RETRY && h->items[i].seq == seq &&
            ttai_run_id_eq(&h->items[i].run_id, run))
            return true;
    return false;
}

/* Start-up: arms every durable timer, re-dispatches every activity that
 * has no retry pending (the attempt counts on: at-least-once), and queues
 * a task for every open run with unseen inputs. */
static int recover(struct ttai_engine *eng, struct ttai_err *err)
{
    struct store_read *rd;
    int rc = store_read_begin(eng->store, &rd, err);
    if (rc != 0)
        return rc;
    struct store_iter it;
    struct store_timer t;
    int more = 0;
    rc = store_timer_iter_init(&it, rd, INT64_MAX, err);
    while (rc == 0 && (more = store_timer_iter_next(&it, &t, err)) == 1)
        eng_timer_push(&eng->timers, &t);
    store_iter_release(&it);
    rc = rc ? rc : more;
    struct store_run run;
    if (rc == 0)
        rc = store_run_iter_init(&it, rd, err);
    while (rc == 0 && (more = store_run_iter_next(&it, &run, err)) == 1)
        if (run.status == STORE_RUN_RUNNING && has_pending_inputs(rd, &run))
            eng_mark_ready(eng, &run.run_id);
    store_iter_release(&it);
    rc = rc ? rc : more;
    struct ttai_run_id rid;
    uint64_t seq;
    struct store_bytes raw;
    if (rc == 0)
        rc = store_activity_iter_init(&it, rd, NULL, err);
    while (rc == 0 && (more = store_activity_iter_next(&it, &rid, &seq, &raw, err)) == 1) {
        struct store_event rec;
        if (has_retry_timer(&eng->timers, &rid, seq) ||
            store_event_decode(raw.data, raw.len, &rec, NULL) != 0 ||
            store_run_get(rd, &rid, &run, NULL) != 0)
            continue;
        eng_dispatch(eng, &run, &rec, rec.attempt + 1);
    }
    store_iter_release(&it);
    rc = rc ? rc : more;
    store_read_end(rd);
    return rc < 0 ? rc : 0;
}

/* Each cached run holds a stack mapping with a guard page: two of the
 * kernel's memory mappings, of which a process has vm.max_map_count
 * (65530 by default). Keep a quarter of them for everything else. */
static size_t cache_max_clamped(size_t want)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long maps = 65530;
    if (f != NULL) {
        if (fscanf(f, "%ld", &maps) != 1)
            maps = 65530;
        fclose(f);
    }
    size_t limit = (size_t)(maps / 2) * 3 / 4;
    return want < limit ? want : limit;
}

int ttai_engine_open(struct ttai_engine **out, const struct ttai_engine_opts *opts,
                     struct ttai_err *err)
{
    *out = NULL;
    struct ttai_engine *eng = ttai_calloc(1, sizeof(*eng));
    if (eng == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory opening the engine");
    eng->registry = opts->registry;
    eng->clock = opts->clock.now_ms != NULL ? opts->clock : (struct ttai_clock){real_now, NULL};
    eng->cache_max = cache_max_clamped(opts->cache_max ? opts->cache_max : CACHE_MAX_DEFAULT);
    eng->query_first_task_wait_ms = opts->query_first_task_wait_ms == 0
                                        ? QUERY_FIRST_TASK_WAIT_MS_DEFAULT
                                        : opts->query_first_task_wait_ms;
    eng->lru.lru_next = eng->lru.lru_prev = &eng->lru;
    pthread_mutex_init(&eng->mu, NULL);
    pthread_mutex_init(&eng->inbox_mu, NULL);
    eng->buckets = ttai_calloc(HASH_BUCKETS, sizeof(*eng->buckets));
    eng->rounds = ttai_calloc(ROUNDS_IN_FLIGHT_MAX, sizeof(*eng->rounds));
    struct store_opts so = {.dir = opts->data_dir ? opts->data_dir : "./ttai-data",
                            .map_bytes_max = opts->map_bytes_max,
                            .no_sync = opts->no_sync,
                            /* Without a sync, waking the writer thread and
                             * waiting for it costs more than the commit. */
                            .inline_commits = opts->no_sync};
    int rc = eng->buckets && eng->rounds
                 ? 0 : ttai_errf(err, TTAI_ENOMEM, "out of memory opening the engine");
    if (rc == 0)
        rc = store_open(&eng->store, &so, err);
    if (rc == 0 && eng_pool_new(&eng->pool, opts->activity_threads ? opts->activity_threads : 4,
                                 eng->clock) != 0)
        rc = ttai_errf(err, TTAI_ENOMEM, "cannot start the activity pool");
    if (rc == 0)
        rc = recover(eng, err);
    if (rc == 0)
        rc = eng_scheds_open(eng, &eng->sched, err);
    if (rc != 0) {
        ttai_engine_close(eng);
        return rc;
    }
    *out = eng;
    return TTAI_OK;
}

void ttai_engine_close(struct ttai_engine *eng)
{
    if (eng == NULL)
        return;
    pthread_mutex_lock(&eng->mu);
    /* Every asynchronous start goes back to its caller: those queued with
     * TTAI_ECLOSED, those in a round with their outcome. */
    eng_starts_drop(eng);
    while (eng->round_count > 0)
        (void)round_finish_oldest(eng); /* returns a count, not an error */
    eng_starts_drop(eng); /* starts a round's finish queued to be made again */
    pthread_mutex_unlock(&eng->mu);
    eng_scheds_close(eng->sched);
    eng->sched = NULL;
    eng_pool_free(eng->pool);
    while (eng->lru.lru_next != &eng->lru)
        eng_cache_remove(eng, eng->lru.lru_next);
    store_close(eng->store);
    ttai_free(eng->buckets);
    ttai_free(eng->ready);
    ttai_free(eng->ready_ns);
    ttai_free(eng->timers.items);
    ttai_free(eng->deferred);
    ttai_free(eng->rounds);
    pthread_mutex_destroy(&eng->mu);
    pthread_mutex_destroy(&eng->inbox_mu);
    ttai_free(eng);
}

/* ---- Offline replay ------------------------------------------------------------- */

int ttai_replay(const char *data_dir, const struct ttai_registry *registry, const char *ns,
                const char *workflow_id, const struct ttai_run_id *run, uint64_t until_event_id,
                const char *query_name, struct ttai_payload query_args, struct ttai_buf *answer,
                struct ttai_err *err)
{
    struct store *store;
    struct store_opts so = {.dir = data_dir, .read_only = true};
    int rc = store_open(&store, &so, err);
    if (rc != 0)
        return rc;
    rc = ttai_replay_store(store, registry, ns, workflow_id, run, until_event_id, query_name,
                           query_args, answer, err);
    store_close(store);
    return rc;
}

int ttai_replay_store(struct store *store, const struct ttai_registry *registry, const char *ns,
                      const char *workflow_id, const struct ttai_run_id *run,
                      uint64_t until_event_id, const char *query_name,
                      struct ttai_payload query_args, struct ttai_buf *answer,
                      struct ttai_err *err)
{
    struct store_read *rd;
    int rc = store_read_begin(store, &rd, err);
    struct ttai_run_id id;
    struct store_run rec;
    if (rc == 0 && run != NULL)
        id = *run;
    else if (rc == 0)
        rc = store_exec_get(rd, ns, workflow_id, &id, err);
    if (rc == 0)
        rc = store_run_get(rd, &id, &rec, err);
    const struct ttai_workflow_def *def = NULL;
    if (rc == 0 && (def = eng_find_workflow(registry, rec.type)) == NULL)
        rc = ttai_errf(err, TTAI_ENOTFOUND, "workflow type '%s' is not built into this program",
                       rec.type);
    struct eng_arena tmp = {0};
    struct store_event *events = NULL;
    size_t count = 0;
    if (rc == 0)
        rc = eng_history_load(rd, &id, 1, &tmp, &events, &count, err);
    store_read_end(rd);
    struct ttai_wf *wf = rc == 0 ? eng_run_new(&rec, def, NULL) : NULL;
    if (rc == 0 && wf == NULL)
        rc = ttai_errf(err, TTAI_ENOMEM, "out of memory");
    if (rc == 0 && eng_run_replay(wf, events, count, until_event_id) != 0)
        rc = ttai_errf(err, TTAI_ENONDET, "%s", wf->nondet_msg);
    if (rc == 0 && wf->coro_failed)
        rc = ttai_errf(err, TTAI_ENOMEM, "cannot allocate a workflow stack");
    if (rc == 0 && query_name != NULL)
        rc = eng_run_query(wf, query_name, query_args, answer, err);
    eng_run_free(wf);
    eng_arena_release(&tmp);
    return rc;
}
