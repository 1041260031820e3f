/* outcomes.c: finished activity attempts and due timers become durable
 * events.
 *
 * Each poll takes every outcome the pool has and every timer that is due,
 * reads what it needs in one read, builds one batch per item and submits
 * them all together, so that they share group commits; only when all are
 * durable does it wake runs, arm retry timers or dispatch retries
 * (engine.c invariant 3).
 *
 * An attempt's outcome becomes, by Temporal's retry policy:
 *   completed                             -> ActivityCompleted
 *   failed, not retryable / out of tries  -> ActivityFailed
 *   failed, next try past schedule-to-close -> ActivityTimedOut
 *   failed, retryable                     -> record attempt+1, retry timer
 */
#include "engine_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define OUTCOMES_MAX 1024   /* taken per poll */
#define TIMERS_MAX 1024     /* fired per poll */

/* ---- Groups ------------------------------------------------------------------ */

void eng_group_init(struct eng_group *g)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

static void group_done(struct store_batch *batch, int rc, const struct ttai_err *err, void *arg)
{
    (void)batch;
    struct eng_pending *p = arg;
    struct eng_group *g = p->group;
    p->rc = rc;
    if (rc != 0 && p->err_out != NULL && err != NULL)
        *p->err_out = *err;
    pthread_mutex_lock(&g->mu);
    if (--g->pending == 0)
        pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void eng_group_submit(struct ttai_engine *eng, struct eng_group *g, struct store_batch *b,
                      struct eng_pending *p)
{
    (void)eng;
    if (g->count == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        struct store_batch **batches = ttai_realloc(g->batches, cap * sizeof(*batches));
        TTAI_ASSERT(batches != NULL);
        g->batches = batches;
        struct eng_pending **pendings = ttai_realloc(g->pendings, cap * sizeof(*pendings));
        TTAI_ASSERT(pendings != NULL);
        g->pendings = pendings;
        g->cap = cap;
    }
    p->group = g;
    p->rc = 0;
    p->err_out = NULL; /* a caller that wants the error sets it before the flush */
    g->batches[g->count] = b;
    g->pendings[g->count] = p;
    g->count++;
}

void eng_group_flush(struct ttai_engine *eng, struct eng_group *g)
{
    if (g->count == 0)
        return;
    pthread_mutex_lock(&g->mu);
    g->pending += g->count;
    pthread_mutex_unlock(&g->mu);
    int rc = store_submit_many(eng->store, g->batches, g->count, group_done,
                               (void *const *)g->pendings);
    if (rc != 0) {
        /* Refused whole (the store failed or is closing): no callback runs. */
        for (size_t i = 0; i < g->count; i++) {
            g->pendings[i]->rc = rc;
            store_batch_free(g->batches[i]);
        }
        pthread_mutex_lock(&g->mu);
        g->pending -= g->count;
        pthread_mutex_unlock(&g->mu);
    }
    g->count = 0;
}

void eng_group_flush_chunk(struct ttai_engine *eng, struct eng_group *g)
{
    if (g->count >= ENG_GROUP_CHUNK)
        eng_group_flush(eng, g);
}

void eng_group_wait(struct eng_group *g)
{
    TTAI_ASSERT(g->count == 0); /* flushed */
    pthread_mutex_lock(&g->mu);
    while (g->pending > 0)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    ttai_free(g->batches);
    ttai_free(g->pendings);
}

/* ---- Retry policy ------------------------------------------------------------ */

/* The delay before attempt+1, Temporal's policy and defaults. */
static int64_t retry_delay_ms(const struct store_activity_opts *o, uint32_t attempt)
{
    int64_t initial = o->initial_interval_ms > 0 ? o->initial_interval_ms : 1000;
    double backoff = o->backoff >= 1.0 ? o->backoff : 2.0;
    int64_t max = o->max_interval_ms > 0 ? o->max_interval_ms : 100 * initial;
    double delay = (double)initial;
    for (uint32_t i = 1; i < attempt && delay < (double)max; i++)
        delay *= backoff;
    return delay > (double)max ? max : (int64_t)delay;
}

static bool non_retryable(const struct store_activity_opts *o, const char *type)
{
    size_t len = strlen(type);
    for (uint32_t i = 0; i < o->non_retryable_count; i++)
        if (o->non_retryable[i].len == len && memcmp(o->non_retryable[i].data, type, len) == 0)
            return true;
    return false;
}

/* ---- Outcomes -------------------------------------------------------------------- */

enum outcome_action { OUT_NONE, OUT_FINAL, OUT_RETRY };

/* The header names these types; their fields are this file's. */

struct outcome_item {
    struct eng_pending pending;      /* first: the group's callback writes here */
    int action;                      /* enum outcome_action */
    int64_t retry_at_ms;
    struct store_event final;        /* OUT_FINAL: the event */
    bool fused;                      /* committed with its run's task: */
    struct task_out task;            /* its batch, whose rc is task.pending.rc */
};

/* Makes the final event of an activity; it borrows o's and the strings'
 * bytes. */
static void make_final(struct outcome_item *item, const struct eng_outcome *o, int type,
                       const char *failure_type, const char *message, int64_t now)
{
    item->action = OUT_FINAL;
    item->final = (struct store_event){
        .type = type, .time_ms = now, .seq = o->seq, .attempt = o->attempt,
        .payload = {o->result, o->result_len},
        .failure_type = {(const uint8_t *)failure_type, strlen(failure_type)},
        .failure_message = {(const uint8_t *)message, strlen(message)}};
}

/* Adds the final event of an activity to b, alone. */
static int add_final(struct store_batch *b, const struct eng_outcome *o,
                     const struct store_event *ev)
{
    int rc = store_batch_require_run_status(b, &o->run, STORE_RUN_RUNNING);
    if (rc == 0)
        rc = store_batch_append(b, &o->run, ev, NULL);
    if (rc == 0)
        rc = store_batch_del_activity(b, &o->run, o->seq);
    return rc;
}

/* Decides what an outcome becomes: a final event (item->final, added to b
 * by the caller) or a retry, added to b here. rec is the activity's pending
 * record (its options and when it was scheduled). */
static int outcome_build(const struct eng_outcome *o, const struct store_event *rec, int64_t now,
                         struct store_batch *b, struct outcome_item *item)
{
    if (o->rc == 0) {
        make_final(item, o, STORE_EV_ACTIVITY_COMPLETED, "", "", now);
        return 0;
    }
    if (o->canceled && !o->timed_out) {
        make_final(item, o, STORE_EV_ACTIVITY_CANCELED, "Canceled", o->error_message, now);
        return 0;
    }
    const struct store_activity_opts *opts = &rec->opts;
    int64_t delay = o->retry_delay_ms > 0 ? o->retry_delay_ms : retry_delay_ms(opts, o->attempt);
    bool out_of_attempts = opts->max_attempts != 0 && o->attempt >= opts->max_attempts;
    int final_type = o->timed_out ? STORE_EV_ACTIVITY_TIMED_OUT : STORE_EV_ACTIVITY_FAILED;
    if (!o->retryable || out_of_attempts || non_retryable(opts, o->error_type)) {
        make_final(item, o, final_type, o->error_type, o->error_message, now);
        return 0;
    }
    if (opts->schedule_to_close_ms > 0 &&
        ttai_add_sat(now, delay) > ttai_add_sat(rec->fire_ms, opts->schedule_to_close_ms)) {
        make_final(item, o, STORE_EV_ACTIVITY_TIMED_OUT, "ScheduleToClose", o->error_message,
                   now);
        return 0;
    }
    /* A durable retry: the record counts the attempt, a timer wakes it. */
    item->action = OUT_RETRY;
    item->retry_at_ms = now + delay;
    /* The record keeps the last failure and heartbeat details: describe
     * shows them, and the next attempt reads the details. */
    struct store_event next = *rec;
    next.time_ms = item->retry_at_ms; /* a record's time: its next attempt */
    next.failure_type = (struct store_bytes){(const uint8_t *)o->error_type, strlen(o->error_type)};
    next.failure_message = (struct store_bytes){(const uint8_t *)o->error_message,
                                                strlen(o->error_message)};
    if (o->details_len > 0)
        next.details = (struct store_bytes){o->details, o->details_len};
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = eng_activity_record(&next, o->attempt + 1, rec->fire_ms, &buf, &len, &cap);
    if (rc == 0)
        rc = store_batch_require_run_status(b, &o->run, STORE_RUN_RUNNING);
    if (rc == 0)
        rc = store_batch_put_activity(b, &o->run, o->seq, buf, len);
    if (rc == 0)
        rc = store_batch_put_timer(b, item->retry_at_ms, &o->run, o->seq, TIMER_ACTIVITY_RETRY);
    ttai_free(buf);
    return rc;
}

void eng_outcomes_prepare(struct ttai_engine *eng, struct eng_group *group,
                          struct eng_outcomes *out)
{
    memset(out, 0, sizeof(*out));
    /* Sized by what is there (plus room for a few expiries; the rest wait
     * for the next poll): rounds are frequent and mostly small. */
    size_t want = eng_pool_done_count(eng->pool) + 16;
    if (want > OUTCOMES_MAX)
        want = OUTCOMES_MAX;
    struct eng_outcome *taken = ttai_calloc(want, sizeof(*taken));
    TTAI_ASSERT(taken != NULL);
    size_t n = eng_pool_take(eng->pool, taken, want);
    n += eng_pool_expire(eng->pool, eng_now_ms(eng), taken + n, want - n);
    if (n == 0) {
        ttai_free(taken);
        return;
    }
    out->taken = taken;
    out->count = n;
    out->items = ttai_calloc(n, sizeof(*out->items));
    TTAI_ASSERT(out->items != NULL);
    struct store_read *rd;
    int64_t now = eng_now_ms(eng);
    if (store_read_begin(eng->store, &rd, NULL) != 0)
        return; /* items stay OUT_NONE: the attempts are retried at restart */
    for (size_t i = 0; i < n; i++) {
        eng->stats.activity_attempts++;
        if (taken[i].rc != 0 && taken[i].timed_out)
            eng->stats.activity_timeouts++;
        else if (taken[i].rc != 0 && !taken[i].canceled)
            eng->stats.activity_failures++;
    }
    for (size_t i = 0; i < n; i++) {
        eng_group_flush_chunk(eng, group); /* the items before this one are complete */
        struct store_bytes raw;
        struct store_event rec;
        /* No record: the run closed meanwhile and the outcome is moot. */
        if (store_activity_get(rd, &taken[i].run, taken[i].seq, &raw, NULL) != 0 ||
            store_event_decode(raw.data, raw.len, &rec, NULL) != 0)
            continue;
        struct outcome_item *item = &out->items[i];
        struct store_batch *b = store_batch_new();
        TTAI_ASSERT(b != NULL);
        int rc = outcome_build(&taken[i], &rec, now, b, item);
        if (rc == 0 && item->action == OUT_FINAL) {
            /* The run's next task goes with it when it can; else alone. */
            if (store_batch_del_activity(b, &taken[i].run, taken[i].seq) == 0 &&
                eng_task_fuse(eng, rd, &taken[i].run, &item->final, b, &item->task, now)) {
                item->fused = true;
                item->task.ready_ns = taken[i].done_ns;
                eng_group_submit(eng, group, b, &item->task.pending);
                continue;
            }
            store_batch_free(b);
            b = store_batch_new();
            TTAI_ASSERT(b != NULL);
            rc = add_final(b, &taken[i], &item->final);
        }
        if (rc != 0) {
            store_batch_free(b);
            item->action = OUT_NONE;
            continue;
        }
        eng_round_touch(eng, &taken[i].run);
        eng_group_submit(eng, group, b, &item->pending);
    }
    store_read_end(rd);
}

/* A fused outcome whose batch was refused (its run moved on, e.g. a signal
 * came first): the outcome is committed alone, now. */
static void outcome_commit_alone(struct ttai_engine *eng, const struct eng_outcome *o,
                                 const struct store_event *ev)
{
    struct store_batch *b = store_batch_new();
    TTAI_ASSERT(b != NULL);
    struct ttai_err err;
    if (add_final(b, o, ev) == 0 && store_commit(eng->store, b, &err) == 0)
        eng_mark_ready(eng, &o->run);
    store_batch_free(b);
}

int eng_outcomes_finish(struct ttai_engine *eng, struct eng_outcomes *out)
{
    for (size_t i = 0; i < out->count; i++) {
        struct outcome_item *item = &out->items[i];
        const struct eng_outcome *o = &out->taken[i];
        if (item->fused) {
            if (eng_task_finish(eng, &item->task) != 0)
                outcome_commit_alone(eng, o, &item->final);
        } else if (item->action != OUT_NONE && item->pending.rc == 0) {
            if (item->action == OUT_FINAL) {
                eng_mark_ready(eng, &o->run);
            } else {
                struct store_timer t = {item->retry_at_ms, o->run, o->seq, TIMER_ACTIVITY_RETRY};
                eng_timer_push(&eng->timers, &t);
            }
        }
        ttai_free(o->result);
        ttai_free(o->details);
    }
    ttai_free(out->items);
    ttai_free(out->taken);
    return (int)out->count;
}

/* ---- Timers ------------------------------------------------------------------------ */

struct timer_item {
    struct eng_pending pending;
    struct store_timer timer;
    bool submitted;
    bool fused;                      /* committed with its run's task: */
    struct task_out task;            /* its batch, whose rc is task.pending.rc */
};

static int timer_cmp(const struct store_timer *a, const struct store_timer *b)
{
    if (a->fire_ms != b->fire_ms)
        return a->fire_ms < b->fire_ms ? -1 : 1;
    int c = memcmp(a->run_id.b, b->run_id.b, TTAI_RUN_ID_BYTES);
    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Adds what a due timer does to b. */
static int timer_build(struct ttai_engine *eng, struct store_read *rd, const struct store_timer *t,
                       int64_t now, struct store_batch *b, struct ttai_err *err)
{
    if (t->kind == TIMER_RUN_TIMEOUT) {
        struct store_run rec;
        int rc = store_run_get(rd, &t->run_id, &rec, err);
        if (rc == 0 && rec.status != STORE_RUN_RUNNING)
            rc = TTAI_ECLOSED; /* closed meanwhile: its cleanup removed the timer */
        if (rc == 0)
            rc = eng_terminate_run(eng, &rec, STORE_EV_WORKFLOW_TIMED_OUT, "workflow timeout", b,
                                   err);
        return rc;
    }
    int rc = store_batch_require_run_status(b, &t->run_id, STORE_RUN_RUNNING);
    if (rc == 0 && t->kind == TIMER_WORKFLOW) {
        struct store_event ev = {.type = STORE_EV_TIMER_FIRED, .time_ms = now, .seq = t->seq,
                                 .fire_ms = t->fire_ms};
        rc = store_batch_append(b, &t->run_id, &ev, err);
    }
    if (rc == 0)
        rc = store_batch_del_timer(b, t->fire_ms, &t->run_id, t->seq);
    return rc;
}

/* After a retry timer's deletion is durable: dispatch the next attempt. */
static void retry_dispatch(struct ttai_engine *eng, struct store_read *rd,
                           const struct store_timer *t)
{
    struct store_run run;
    struct store_bytes raw;
    struct store_event rec;
    if (store_run_get(rd, &t->run_id, &run, NULL) == 0 && run.status == STORE_RUN_RUNNING &&
        store_activity_get(rd, &t->run_id, t->seq, &raw, NULL) == 0 &&
        store_event_decode(raw.data, raw.len, &rec, NULL) == 0)
        eng_dispatch(eng, &run, &rec, rec.attempt);
}

void eng_timers_prepare(struct ttai_engine *eng, struct eng_group *group, struct eng_timers *out)
{
    memset(out, 0, sizeof(*out));
    int64_t now = eng_now_ms(eng);
    if (eng->timers.count == 0 || eng->timers.items[0].fire_ms > now)
        return;
    int64_t taken_ns = ttai_mono_ns();
    struct timer_item *items = NULL;
    size_t n = 0, cap = 0;
    while (n < TIMERS_MAX && eng->timers.count > 0 && eng->timers.items[0].fire_ms <= now) {
        if (n == cap) {
            cap = cap ? cap * 4 : 4;
            items = ttai_realloc(items, cap * sizeof(*items));
            TTAI_ASSERT(items != NULL);
        }
        memset(&items[n], 0, sizeof(items[n]));
        items[n++].timer = eng->timers.items[0];
        eng_timer_pop(&eng->timers);
    }
    out->items = items;
    out->count = n;
    struct store_read *rd;
    struct ttai_err err;
    if (store_read_begin(eng->store, &rd, &err) != 0)
        return; /* the timers stay in the store: re-armed at restart */
    /* A timer cancelled by its workflow is gone from the table: only the
     * ones still stored fire. One walk over the due part of the table. */
    struct store_iter it;
    struct store_timer stored;
    if (store_timer_iter_init(&it, rd, now, &err) == 0) {
        while (store_timer_iter_next(&it, &stored, &err) == 1)
            for (size_t i = 0; i < n; i++)
                if (!items[i].submitted && timer_cmp(&stored, &items[i].timer) == 0)
                    items[i].submitted = true; /* marks "exists" until submitted */
    }
    store_iter_release(&it);
    for (size_t i = 0; i < n; i++) {
        if (!items[i].submitted)
            continue;
        eng_group_flush_chunk(eng, group); /* the items before this one are complete */
        const struct store_timer *t = &items[i].timer;
        struct store_batch *b = store_batch_new();
        TTAI_ASSERT(b != NULL);
        if (t->kind == TIMER_WORKFLOW) {
            /* The run's next task goes with the firing when it can. */
            struct store_event fired = {.type = STORE_EV_TIMER_FIRED, .time_ms = now,
                                        .seq = t->seq, .fire_ms = t->fire_ms};
            if (store_batch_del_timer(b, t->fire_ms, &t->run_id, t->seq) == 0 &&
                eng_task_fuse(eng, rd, &t->run_id, &fired, b, &items[i].task, now)) {
                items[i].fused = true;
                items[i].task.ready_ns = taken_ns;
                eng_group_submit(eng, group, b, &items[i].task.pending);
                continue;
            }
            store_batch_free(b);
            b = store_batch_new();
            TTAI_ASSERT(b != NULL);
        }
        eng_round_touch(eng, &t->run_id);
        if (timer_build(eng, rd, t, now, b, &err) != 0) {
            store_batch_free(b);
            items[i].submitted = false;
            continue;
        }
        eng_group_submit(eng, group, b, &items[i].pending);
    }
    store_read_end(rd);
}

/* A workflow timer's TimerFired is durable. */
static void timer_fired(struct ttai_engine *eng, const struct store_timer *t, int64_t now_ns)
{
    eng->stats.timers_fired++;
    eng_hist_add(&eng->stats.timer_lateness, now_ns - t->fire_ms * 1000000);
}

int eng_timers_finish(struct ttai_engine *eng, struct eng_timers *out)
{
    struct store_read *after = NULL;
    struct ttai_err err;
    int64_t now_ns = out->count > 0 ? eng_now_ns(eng) : 0;
    for (size_t i = 0; i < out->count; i++) {
        const struct store_timer *t = &out->items[i].timer;
        if (out->items[i].fused) {
            /* Refused: the timer is still stored; it fires alone next. */
            if (eng_task_finish(eng, &out->items[i].task) != 0)
                eng_timer_push(&eng->timers, t);
            else
                timer_fired(eng, t, now_ns);
            continue;
        }
        if (!out->items[i].submitted || out->items[i].pending.rc != 0)
            continue;
        if (t->kind == TIMER_WORKFLOW) {
            timer_fired(eng, t, now_ns);
            eng_mark_ready(eng, &t->run_id);
        } else if (t->kind == TIMER_RUN_TIMEOUT) {
            eng_uncache(eng, &t->run_id);
            if (after != NULL || store_read_begin(eng->store, &after, &err) == 0) {
                struct store_run rec;
                if (store_run_get(after, &t->run_id, &rec, NULL) == 0)
                    eng_closed(eng, &rec, rec.status, NULL);
            }
        } else if (after != NULL || store_read_begin(eng->store, &after, &err) == 0) {
            retry_dispatch(eng, after, t);
        }
    }
    store_read_end(after);
    ttai_free(out->items);
    return (int)out->count;
}
