/* calls.c: the engine's public calls: start, signal, cancel, terminate,
 * query, describe, result.
 *
 * Starts, signals and cancellations build their batch and wait for it to
 * be durable without the engine lock: conditions in the batch (the run is
 * Running, the execution has the expected current run) are checked by the
 * writer, so concurrent callers cannot break them, and many callers share
 * one group commit. The lock is taken only to tell the engine about the
 * committed work.
 */
#include "engine_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- Public calls --------------------------------------------------------- */

static int check_names(const char *ns, const char *workflow_id, struct ttai_err *err)
{
    if (ns == NULL || ns[0] == '\0' || strlen(ns) > STORE_NS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "namespace must have 1 to %d bytes", STORE_NS_MAX);
    if (workflow_id == NULL || workflow_id[0] == '\0' || strlen(workflow_id) > STORE_WORKFLOW_ID_MAX)
        return ttai_errf(err, TTAI_EINVAL, "workflow id must have 1 to %d bytes",
                         STORE_WORKFLOW_ID_MAX);
    return TTAI_OK;
}

/* The run a call addresses: the given one, or the execution's current. */
static int resolve_run(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                       const struct ttai_run_id *given, struct store_run *out,
                       struct ttai_err *err)
{
    int rc = check_names(ns, workflow_id, err);
    if (rc != 0)
        return rc;
    struct store_read *rd;
    rc = store_read_begin(eng->store, &rd, err);
    if (rc != 0)
        return rc;
    struct ttai_run_id id;
    if (given != NULL)
        id = *given;
    else
        rc = store_exec_get(rd, ns, workflow_id, &id, err);
    bool run_missing = false;
    if (rc == 0) {
        rc = store_run_get(rd, &id, out, err);
        /* A given run that is not there, of a workflow that is. */
        struct ttai_run_id current;
        run_missing = rc == TTAI_ENOTFOUND && given != NULL &&
                      store_exec_get(rd, ns, workflow_id, &current, NULL) == 0;
    }
    if (rc == 0 && (strcmp(out->ns, ns) != 0 || strcmp(out->workflow_id, workflow_id) != 0))
        rc = ttai_errf(err, TTAI_ENOTFOUND, "run is not a run of workflow '%s'", workflow_id);
    store_read_end(rd);
    if (run_missing) {
        /* Said apart from an unknown workflow: the id may be right. */
        char text[TTAI_RUN_ID_TEXT];
        return ttai_errf(err, rc, "workflow '%s' has no run %s in namespace '%s'", workflow_id,
                         ttai_run_id_format(given, text), ns);
    }
    if (rc == TTAI_ENOTFOUND && err != NULL && strstr(err->msg, "workflow") == NULL)
        ttai_errf(err, rc, "workflow '%s' not found in namespace '%s'", workflow_id, ns);
    return rc;
}

/* Adds the deletion of every timer and activity record of a run. */
static int add_store_cleanup(struct ttai_engine *eng, const struct ttai_run_id *run,
                             struct store_batch *b, struct ttai_err *err)
{
    struct store_read *rd;
    int rc = store_read_begin(eng->store, &rd, err);
    if (rc != 0)
        return rc;
    struct store_iter it;
    struct ttai_run_id r;
    uint64_t seq;
    struct store_bytes rec;
    rc = store_activity_iter_init(&it, rd, run, err);
    while (rc == 0 && store_activity_iter_next(&it, &r, &seq, &rec, err) == 1)
        rc = store_batch_del_activity(b, run, seq);
    store_iter_release(&it);
    struct store_timer t;
    if (rc == 0)
        rc = store_timer_iter_init(&it, rd, INT64_MAX, err);
    while (rc == 0 && store_timer_iter_next(&it, &t, err) == 1)
        if (ttai_run_id_eq(&t.run_id, run))
            rc = store_batch_del_timer(b, t.fire_ms, run, t.seq);
    store_iter_release(&it);
    store_read_end(rd);
    return rc;
}

/* Terminates a running run (forced close). */
int eng_terminate_run(struct ttai_engine *eng, struct store_run *rec, int type,
                         const char *reason, struct store_batch *b, struct ttai_err *err)
{
    int64_t now = eng_now_ms(eng);
    struct store_event ev = {.type = type, .time_ms = now,
                             .failure_message = {(const uint8_t *)reason, strlen(reason)}};
    int rc = store_batch_require_run_status(b, &rec->run_id, STORE_RUN_RUNNING);
    if (rc == 0)
        rc = store_batch_append(b, &rec->run_id, &ev, err);
    struct store_run closed = *rec;
    closed.status = type == STORE_EV_WORKFLOW_TIMED_OUT ? STORE_RUN_TIMED_OUT : STORE_RUN_TERMINATED;
    closed.close_ms = now;
    if (rc == 0)
        rc = store_batch_put_run(b, &closed);
    if (rc == 0)
        rc = add_store_cleanup(eng, &rec->run_id, b, err);
    return rc;
}

void eng_uncache(struct ttai_engine *eng, const struct ttai_run_id *id)
{
    struct ttai_wf *wf = eng_cache_find(eng, id);
    if (wf != NULL)
        eng_cache_remove(eng, wf);
}

/* Adds to b the start's own operations: the execution condition, the run,
 * the execution and the run's timeout timer. */
static int add_start_ops(struct store_batch *b, const struct store_run *run, bool exists,
                         const struct ttai_run_id *existing, int64_t deadline)
{
    int rc = store_batch_require_exec(b, run->ns, run->workflow_id, exists ? existing : NULL);
    if (rc == 0)
        rc = store_batch_put_run(b, run);
    if (rc == 0)
        rc = store_batch_put_exec(b, run->ns, run->workflow_id, &run->run_id);
    if (rc == 0 && deadline > 0)
        rc = store_batch_put_timer(b, deadline, &run->run_id, 0, TIMER_RUN_TIMEOUT);
    return rc;
}

/* Whether the id reuse policy refuses a new run after a closed one. */
static bool reuse_refused(const struct ttai_start_opts *opts, int closed_status)
{
    return opts->id_reuse == TTAI_REUSE_REJECT ||
           (opts->id_reuse == TTAI_REUSE_ALLOW_FAILED_ONLY &&
            closed_status == STORE_RUN_COMPLETED);
}

/* How many times a start whose commit a condition refused is made again. */
#define START_ATTEMPTS_MAX 8

/* A start between its preparation and its finish. */
struct ttai_start_op {
    const struct ttai_workflow_def *def;
    struct store_batch *batch;          /* until committed or submitted; NULL: no commit */
    struct store_run run;               /* the new run (or the existing one, no commit) */
    struct store_run existing;
    bool exists;
    bool has_signal;
    bool fused;                         /* the first task is in the batch */
    struct task_out first;
    int64_t deadline;                   /* the run's timeout timer, 0: none */
    int64_t started_ns;
    /* An asynchronous start: the commit's outcome and whom to tell. */
    int rc;
    struct ttai_err err;
    ttai_start_durable_fn durable_cb;
    void *arg;
    /* A start made in a round (ttai_engine_start_async): its request,
     * kept until the outcome is known, in case it is made again. */
    struct eng_start_req *req;
    struct eng_pending pending;
};

/* A start queued for the poller by ttai_engine_start_async: its arguments,
 * copied, the strings after the struct. */
struct eng_start_req {
    struct eng_start_req *next;
    int attempts;                       /* commits refused by a condition so far */
    char ns[STORE_NS_MAX + 1];
    const char *type;
    const char *workflow_id;
    struct ttai_payload input;
    struct ttai_start_opts opts;
    ttai_start_ended_fn ended_cb;
    void *arg;
};

/* How start_prepare takes the engine lock for a fused first task. */
enum start_lock {
    START_LOCK_WAIT,                    /* waits for it */
    START_LOCK_TRY,                     /* TTAI_EBUSY, nothing done, when it is taken */
    START_LOCK_HELD,                    /* the caller holds it (the poller) */
};

/* Everything of a start up to its commit: the checks, the run id, the
 * batch, and for a plain start the first task. A start the engine answers
 * without a commit (TTAI_CONFLICT_USE_EXISTING on a running workflow)
 * leaves op->batch NULL and op->run the existing run.
 *
 * A plain start runs the workflow's first task here, under the engine
 * lock, and commits it with the start: one commit instead of two in a row,
 * and a start is answered with its first task done, so that a query right
 * after it sees the state the code built from its input (as a Temporal
 * query waits for the first workflow task). When the task cannot go with
 * the start (its batch cannot be built), and for signal-with-start (signal
 * != NULL, appended right after WorkflowStarted), the new run goes to the
 * cache once the start is durable, and its first task, which reads the
 * start's events without a replay, stays the engine's. */
static int start_prepare(struct ttai_engine *eng, const char *ns, const char *type,
                         const char *workflow_id, struct ttai_payload input,
                         const struct ttai_start_opts *opts, const struct store_event *signal,
                         enum start_lock lock, struct ttai_start_op *op, struct ttai_err *err)
{
    static const struct ttai_start_opts defaults;
    if (opts == NULL)
        opts = &defaults;
    memset(op, 0, sizeof(*op));
    int rc = check_names(ns, workflow_id, err);
    if (rc != 0)
        return rc;
    const struct ttai_workflow_def *def = eng_find_workflow(eng->registry, type);
    if (def == NULL)
        return ttai_errf(err, TTAI_ENOTFOUND, "unknown workflow type '%s'", type);
    if (input.len > STORE_EVENT_BYTES_MAX / 2)
        return ttai_errf(err, TTAI_ETOOBIG, "input of %zu bytes is over the limit", input.len);
    op->def = def;
    op->has_signal = signal != NULL;
    op->started_ns = ttai_mono_ns();
    struct ttai_err lookup;
    op->exists = resolve_run(eng, ns, workflow_id, NULL, &op->existing, &lookup) == 0;
    if (op->exists && op->existing.status == STORE_RUN_RUNNING) {
        if (opts->id_conflict == TTAI_CONFLICT_USE_EXISTING) {
            op->run = op->existing;
            return TTAI_OK;
        }
        if (opts->id_conflict != TTAI_CONFLICT_TERMINATE)
            return ttai_errf(err, TTAI_EEXIST, "workflow '%s' is already running", workflow_id);
    } else if (op->exists && reuse_refused(opts, op->existing.status)) {
        return ttai_errf(err, TTAI_EEXIST, "workflow id '%s' was used and the reuse policy refuses it",
                         workflow_id);
    }
    bool terminate = op->exists && op->existing.status == STORE_RUN_RUNNING;
    struct store_run *run = &op->run;
    *run = (struct store_run){.status = STORE_RUN_RUNNING, .start_ms = eng_now_ms(eng)};
    snprintf(run->ns, sizeof(run->ns), "%s", ns);
    snprintf(run->workflow_id, sizeof(run->workflow_id), "%s", workflow_id);
    snprintf(run->type, sizeof(run->type), "%s", type);
    if (eng_run_id_new(&run->run_id) != 0)
        return ttai_errf(err, TTAI_EIO, "cannot make a run id");
    struct store_event started = {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = run->start_ms,
                                  .name = {(const uint8_t *)type, strlen(type)},
                                  .payload = {input.data, input.len},
                                  .exec_timeout_ms = opts->execution_timeout_ms,
                                  .run_timeout_ms = opts->run_timeout_ms,
                                  .fire_ms = opts->execution_timeout_ms > 0
                                                 ? ttai_add_sat(run->start_ms, opts->execution_timeout_ms)
                                                 : 0};
    op->deadline = eng_run_deadline(run->start_ms, opts->run_timeout_ms, started.fire_ms);
    struct store_batch *b = store_batch_new();
    if (b == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory starting a workflow");
    for (int attempt = 0; attempt < 2 && !op->fused; attempt++) {
        store_batch_clear(b);
        rc = 0;
        if (terminate)
            rc = eng_terminate_run(eng, &op->existing, STORE_EV_WORKFLOW_TERMINATED,
                                   "terminated by a new start with the same id", b, err);
        if (rc == 0)
            rc = add_start_ops(b, run, op->exists, &op->existing.run_id, op->deadline);
        if (rc != 0)
            break;
        if (attempt == 0 && signal == NULL) {
            struct ttai_wf *wf = eng_run_new(run, def, eng);
            if (wf == NULL)
                continue;
            struct ttai_err task_err;
            if (lock == START_LOCK_TRY && pthread_mutex_trylock(&eng->mu) != 0) {
                eng_run_free(wf);
                store_batch_free(b);
                return TTAI_EBUSY; /* nothing done: the caller starts it another way */
            }
            if (lock == START_LOCK_WAIT)
                pthread_mutex_lock(&eng->mu);
            op->fused = eng_start_fuse(eng, wf, &started, b, &op->first, run->start_ms,
                                       &task_err) == 0;
            if (lock != START_LOCK_HELD)
                pthread_mutex_unlock(&eng->mu);
            if (!op->fused)
                eng_run_free(wf); /* b holds part of the task: start again without it */
            continue;
        }
        rc = store_batch_append(b, &run->run_id, &started, err);
        if (rc == 0 && signal != NULL)
            rc = store_batch_append(b, &run->run_id, signal, err);
        break;
    }
    if (rc != 0) {
        store_batch_free(b);
        return rc;
    }
    op->batch = b;
    return TTAI_OK;
}

/* Everything of a start after its commit (rc: the commit's outcome), under
 * the engine lock. fresh: the run as a load would rebuild it, for a start
 * whose first task was not fused (NULL: none, or out of memory). */
static int start_finish_locked(struct ttai_engine *eng, struct ttai_start_op *op, int rc,
                               struct ttai_wf *fresh)
{
    if (rc != 0) {
        if (op->fused) {
            /* Refused or failed: the first task ran for nothing. */
            op->first.wf->inflight = false;
            eng_cache_remove(eng, op->first.wf);
        }
        eng_run_free(fresh);
        return rc;
    }
    if (op->deadline > 0) {
        struct store_timer t = {op->deadline, op->run.run_id, 0, TIMER_RUN_TIMEOUT};
        eng_timer_push(&eng->timers, &t);
    }
    if (op->exists) {
        eng_uncache(eng, &op->existing.run_id);
        /* A running run goes on only under TTAI_CONFLICT_TERMINATE: this
         * start's batch terminated it, and its long-polls learn so. */
        if (op->existing.status == STORE_RUN_RUNNING)
            eng_closed(eng, &op->existing, STORE_RUN_TERMINATED, NULL);
    }
    if (op->fused) {
        op->first.ready_ns = op->started_ns;
        op->first.pending.rc = 0;
        eng_task_finish(eng, &op->first);
    } else {
        if (fresh != NULL)
            eng_cache_adopt(eng, fresh);
        eng_mark_ready(eng, &op->run.run_id);
    }
    return TTAI_OK;
}

static struct ttai_wf *start_fresh_run(struct ttai_engine *eng, const struct ttai_start_op *op,
                                       int rc)
{
    /* Not fused: the run as a load would rebuild it, the start's events
     * stored, no task run yet. */
    struct ttai_wf *fresh = NULL;
    if (rc == 0 && !op->fused && (fresh = eng_run_new(&op->run, op->def, eng)) != NULL)
        fresh->last_event_id = op->has_signal ? 2 : 1;
    return fresh;
}

/* start_finish_locked with the lock taken here. With try_lock, returns
 * TTAI_EBUSY having done nothing when the engine lock is taken. */
static int start_finish(struct ttai_engine *eng, struct ttai_start_op *op, int rc, bool try_lock,
                        struct ttai_run_id *run_id_out)
{
    struct ttai_wf *fresh = start_fresh_run(eng, op, rc);
    if (try_lock && pthread_mutex_trylock(&eng->mu) != 0) {
        eng_run_free(fresh);
        return TTAI_EBUSY;
    }
    if (!try_lock)
        pthread_mutex_lock(&eng->mu);
    rc = start_finish_locked(eng, op, rc, fresh);
    pthread_mutex_unlock(&eng->mu);
    if (rc == 0 && run_id_out != NULL)
        *run_id_out = op->run.run_id;
    return rc;
}

static int start_run(struct ttai_engine *eng, const char *ns, const char *type,
                     const char *workflow_id, struct ttai_payload input,
                     const struct ttai_start_opts *opts, const struct store_event *signal,
                     struct ttai_run_id *run_id_out, struct ttai_err *err)
{
    for (int attempt = 1;; attempt++) {
        struct ttai_start_op op;
        int rc = start_prepare(eng, ns, type, workflow_id, input, opts, signal, START_LOCK_WAIT,
                               &op, err);
        if (rc != 0)
            return rc;
        if (op.batch == NULL) {
            if (run_id_out != NULL)
                *run_id_out = op.run.run_id;
            return TTAI_OK;
        }
        rc = store_commit(eng->store, op.batch, err);
        store_batch_free(op.batch);
        op.batch = NULL;
        rc = start_finish(eng, &op, rc, false, run_id_out);
        /* Refused by a condition: the execution changed since it was
         * read (another start, a close). Made again against what it is
         * now, the start gets the answer its policies give for that. */
        if (rc != TTAI_ECONFLICT || attempt == START_ATTEMPTS_MAX)
            return rc;
    }
}

int ttai_engine_start(struct ttai_engine *eng, const char *ns, const char *type,
                      const char *workflow_id, struct ttai_payload input,
                      const struct ttai_start_opts *opts, struct ttai_run_id *run_id_out,
                      struct ttai_err *err)
{
    return start_run(eng, ns, type, workflow_id, input, opts, NULL, run_id_out, err);
}

/* On the writer thread: the start's batch is durable or refused. */
static void start_committed(struct store_batch *batch, int rc, const struct ttai_err *err, void *arg)
{
    (void)batch;
    struct ttai_start_op *op = arg;
    op->rc = rc;
    if (err != NULL)
        op->err = *err;
    op->durable_cb(op->arg);
}

int ttai_engine_start_begin(struct ttai_engine *eng, const char *ns, const char *type,
                            const char *workflow_id, struct ttai_payload input,
                            const struct ttai_start_opts *opts, ttai_start_durable_fn durable_cb,
                            void *arg, struct ttai_start_op **op_out,
                            struct ttai_run_id *run_id_out, struct ttai_err *err)
{
    *op_out = NULL;
    struct ttai_start_op *op = ttai_malloc(sizeof(*op));
    if (op == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory starting a workflow");
    int rc = start_prepare(eng, ns, type, workflow_id, input, opts, NULL, START_LOCK_TRY, op, err);
    if (rc != 0 || op->batch == NULL) {
        if (rc == 0 && run_id_out != NULL)
            *run_id_out = op->run.run_id;
        ttai_free(op);
        return rc;
    }
    op->durable_cb = durable_cb;
    op->arg = arg;
    struct store_batch *b = op->batch;
    op->batch = NULL;
    *op_out = op; /* before the submit: the callback may run at once */
    rc = store_submit(eng->store, b, start_committed, op);
    if (rc != 0) {
        /* Not queued: no callback; b is still ours. */
        *op_out = NULL;
        store_batch_free(b);
        start_finish(eng, op, rc, false, NULL);
        ttai_free(op);
        return ttai_errf(err, rc, "the store refuses writes: %s", ttai_strerror(rc));
    }
    return TTAI_OK;
}

int ttai_engine_start_end(struct ttai_engine *eng, struct ttai_start_op *op, bool wait,
                          struct ttai_run_id *run_id_out, struct ttai_err *err)
{
    int rc = start_finish(eng, op, op->rc, !wait, run_id_out);
    if (rc == TTAI_EBUSY && !wait)
        return rc; /* op is still the caller's */
    if (rc != 0 && err != NULL)
        *err = op->err;
    ttai_free(op);
    return rc;
}

int ttai_engine_start_async(struct ttai_engine *eng, const char *ns, const char *type,
                            const char *workflow_id, struct ttai_payload input,
                            const struct ttai_start_opts *opts, ttai_start_ended_fn ended_cb,
                            void *arg, struct ttai_err *err)
{
    /* The checks that need no lock and no store answer at once. */
    int rc = check_names(ns, workflow_id, err);
    if (rc != 0)
        return rc;
    if (eng_find_workflow(eng->registry, type) == NULL)
        return ttai_errf(err, TTAI_ENOTFOUND, "unknown workflow type '%s'", type);
    if (input.len > STORE_EVENT_BYTES_MAX / 2)
        return ttai_errf(err, TTAI_ETOOBIG, "input of %zu bytes is over the limit", input.len);
    size_t tlen = strlen(type), idlen = strlen(workflow_id);
    struct eng_start_req *req = ttai_malloc(sizeof(*req) + tlen + 1 + idlen + 1 + input.len);
    if (req == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory starting a workflow");
    char *p = (char *)(req + 1);
    memcpy(p, type, tlen + 1);
    req->type = p;
    p += tlen + 1;
    memcpy(p, workflow_id, idlen + 1);
    req->workflow_id = p;
    p += idlen + 1;
    if (input.len > 0)
        memcpy(p, input.data, input.len);
    req->input = (struct ttai_payload){(const uint8_t *)p, input.len};
    memcpy(req->ns, ns, strlen(ns) + 1); /* checked above */
    static const struct ttai_start_opts defaults;
    req->opts = opts != NULL ? *opts : defaults;
    req->ended_cb = ended_cb;
    req->arg = arg;
    req->attempts = 0;
    req->next = NULL;
    pthread_mutex_lock(&eng->inbox_mu);
    bool was_empty = eng->starts_head == NULL;
    if (eng->starts_tail != NULL)
        eng->starts_tail->next = req;
    else
        eng->starts_head = req;
    eng->starts_tail = req;
    eng->starts_queued++;
    pthread_mutex_unlock(&eng->inbox_mu);
    if (was_empty)
        eng_pool_kick(eng->pool); /* the poller may be waiting for work */
    return TTAI_OK;
}

size_t eng_starts_queued(struct ttai_engine *eng)
{
    pthread_mutex_lock(&eng->inbox_mu);
    size_t n = eng->starts_queued;
    pthread_mutex_unlock(&eng->inbox_mu);
    return n;
}

/* Takes every queued start (*n of them). */
static struct eng_start_req *starts_take(struct ttai_engine *eng, size_t *n)
{
    pthread_mutex_lock(&eng->inbox_mu);
    struct eng_start_req *req = eng->starts_head;
    *n = eng->starts_queued;
    eng->starts_head = eng->starts_tail = NULL;
    eng->starts_queued = 0;
    pthread_mutex_unlock(&eng->inbox_mu);
    return req;
}

/* Starts put aside in a round, in their order. */
struct start_list {
    struct eng_start_req *head, *last;
    size_t count;
};

static void start_list_push(struct start_list *list, struct eng_start_req *req)
{
    req->next = NULL;
    if (list->last != NULL)
        list->last->next = req;
    else
        list->head = req;
    list->last = req;
    list->count++;
}

/* Puts starts back at the head of the queue: they were queued before
 * anything queued since. */
static void starts_requeue(struct ttai_engine *eng, const struct start_list *list)
{
    if (list->head == NULL)
        return;
    pthread_mutex_lock(&eng->inbox_mu);
    list->last->next = eng->starts_head;
    eng->starts_head = list->head;
    if (eng->starts_tail == NULL)
        eng->starts_tail = list->last;
    eng->starts_queued += list->count;
    pthread_mutex_unlock(&eng->inbox_mu);
}

/* The workflow ids a round's starts are busy with, as hashes of namespace
 * and id in an open-addressed set. Two ids with one hash only make the
 * second start wait a round, which is harmless. */
struct start_ids {
    uint64_t *slots;                    /* 0: empty */
    size_t mask;
};

/* The slot of the id's hash: where it is, or the empty one where it goes. */
static uint64_t *start_ids_slot(struct start_ids *set, const char *ns, const char *workflow_id,
                                uint64_t *hash)
{
    uint64_t h = ttai_workflow_hash(ns, workflow_id);
    h = *hash = h != 0 ? h : 1; /* 0 marks an empty slot */
    for (size_t i = (size_t)h & set->mask;; i = (i + 1) & set->mask)
        if (set->slots[i] == h || set->slots[i] == 0)
            return &set->slots[i];
}

static void start_ids_add(struct start_ids *set, const char *ns, const char *workflow_id)
{
    uint64_t h;
    uint64_t *slot = start_ids_slot(set, ns, workflow_id, &h); /* sets h: not in one expression */
    *slot = h;
}

static bool start_ids_has(struct start_ids *set, const char *ns, const char *workflow_id)
{
    uint64_t h;
    const uint64_t *slot = start_ids_slot(set, ns, workflow_id, &h);
    return *slot == h;
}

void eng_starts_prepare(struct ttai_engine *eng, struct eng_group *group,
                        const struct eng_starts *const *in_flight, size_t in_flight_count,
                        struct eng_starts *out)
{
    memset(out, 0, sizeof(*out));
    size_t n;
    struct eng_start_req *req = starts_take(eng, &n);
    if (n == 0)
        return;
    out->ops = ttai_calloc(n, sizeof(*out->ops));
    TTAI_ASSERT(out->ops != NULL);
    /* Two starts of one id in flight at once would both be made against
     * the run before either, and the condition of the second would refuse
     * it: the second waits, so that starts of one id take turns (as
     * terminate_existing and use_existing need). At most half full. */
    size_t busy = n;
    for (size_t r = 0; r < in_flight_count; r++)
        busy += in_flight[r]->count;
    size_t cap = 16;
    while (cap < 2 * busy)
        cap *= 2;
    struct start_ids ids = {ttai_calloc(cap, sizeof(uint64_t)), cap - 1};
    TTAI_ASSERT(ids.slots != NULL);
    for (size_t r = 0; r < in_flight_count; r++)
        for (size_t i = 0; i < in_flight[r]->count; i++)
            start_ids_add(&ids, in_flight[r]->ops[i]->run.ns,
                          in_flight[r]->ops[i]->run.workflow_id);
    struct start_list later = {0};
    while (req != NULL) {
        struct eng_start_req *next = req->next;
        if (start_ids_has(&ids, req->ns, req->workflow_id)) {
            start_list_push(&later, req);
            req = next;
            continue;
        }
        eng_group_flush_chunk(eng, group); /* the starts before this one are complete */
        struct ttai_start_op *op = ttai_malloc(sizeof(*op));
        TTAI_ASSERT(op != NULL);
        struct ttai_err err = {0};
        int rc = start_prepare(eng, req->ns, req->type, req->workflow_id, req->input, &req->opts,
                               NULL, START_LOCK_HELD, op, &err);
        if (rc != 0 || op->batch == NULL) {
            /* Refused by the checks, or answered without a commit
             * (TTAI_CONFLICT_USE_EXISTING on a running workflow): the
             * next start of this id may be made in this round too. */
            req->ended_cb(req->arg, rc, rc == 0 ? &op->run.run_id : NULL, false,
                          rc != 0 ? &err : NULL);
            ttai_free(op);
            ttai_free(req);
        } else {
            /* Committing: a later start of this id waits for its outcome. */
            start_ids_add(&ids, req->ns, req->workflow_id);
            op->req = req;
            eng_group_submit(eng, group, op->batch, &op->pending);
            op->pending.err_out = &op->err;
            op->batch = NULL;
            out->ops[out->count++] = op;
        }
        req = next;
    }
    ttai_free(ids.slots);
    starts_requeue(eng, &later);
}

int eng_starts_finish(struct ttai_engine *eng, struct eng_starts *s)
{
    struct start_list again = {0};
    for (size_t i = 0; i < s->count; i++) {
        struct ttai_start_op *op = s->ops[i];
        struct eng_start_req *req = op->req;
        int rc = op->pending.rc;
        rc = start_finish_locked(eng, op, rc, start_fresh_run(eng, op, rc));
        /* Refused by a condition (start_run says why): made again in the
         * next round, ahead of the starts queued since. */
        if (rc == TTAI_ECONFLICT && ++req->attempts < START_ATTEMPTS_MAX) {
            start_list_push(&again, req);
        } else {
            req->ended_cb(req->arg, rc, rc == 0 ? &op->run.run_id : NULL, rc == 0,
                          rc != 0 ? &op->err : NULL);
            ttai_free(req);
        }
        ttai_free(op);
    }
    starts_requeue(eng, &again);
    int n = (int)s->count;
    ttai_free(s->ops);
    memset(s, 0, sizeof(*s));
    return n;
}

void eng_starts_drop(struct ttai_engine *eng)
{
    size_t n;
    struct eng_start_req *req = starts_take(eng, &n);
    while (req != NULL) {
        struct eng_start_req *next = req->next;
        struct ttai_err err;
        ttai_errf(&err, TTAI_ECLOSED, "the engine closed before starting workflow '%s'",
                  req->workflow_id);
        req->ended_cb(req->arg, TTAI_ECLOSED, NULL, false, &err); /* the caller's again */
        ttai_free(req);
        req = next;
    }
}

/* Appends one input event to the addressed run. Retries once when the run
 * was continued as new between the lookup and the commit, so that a signal
 * sent around the hand-over reaches the new run. */
static int append_input(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                        const struct ttai_run_id *given, struct store_event *ev,
                        const char *signal_name, struct ttai_err *err)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        struct store_run rec;
        int rc = resolve_run(eng, ns, workflow_id, given, &rec, err);
        if (rc != 0)
            return rc;
        if (signal_name != NULL) {
            const struct ttai_workflow_def *def = eng_find_workflow(eng->registry, rec.type);
            if (def == NULL || eng_find_signal(def, signal_name) == NULL)
                return ttai_errf(err, TTAI_ENOTFOUND, "workflow type '%s' has no signal '%s'",
                                 rec.type, signal_name);
        }
        if (rec.status != STORE_RUN_RUNNING)
            return ttai_errf(err, TTAI_ECLOSED, "workflow '%s' is %s", workflow_id,
                             store_run_status_text(rec.status));
        struct store_batch *b = store_batch_new();
        if (b == NULL)
            return ttai_errf(err, TTAI_ENOMEM, "out of memory");
        ev->time_ms = eng_now_ms(eng);
        rc = store_batch_require_run_status(b, &rec.run_id, STORE_RUN_RUNNING);
        if (rc == 0)
            rc = store_batch_append(b, &rec.run_id, ev, err);
        if (rc == 0)
            rc = store_commit(eng->store, b, err);
        store_batch_free(b);
        if (rc == 0) {
            pthread_mutex_lock(&eng->mu);
            eng_mark_ready(eng, &rec.run_id);
            pthread_mutex_unlock(&eng->mu);
            return 0;
        }
        if (rc != TTAI_ECONFLICT || given != NULL)
            return rc;
    }
    return ttai_errf(err, TTAI_ECONFLICT, "workflow '%s' kept changing runs", workflow_id);
}

int ttai_engine_signal(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                       const struct ttai_run_id *run, const char *name, struct ttai_payload args,
                       struct ttai_err *err)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > 127)
        return ttai_errf(err, TTAI_EINVAL, "signal name must have 1 to 127 bytes");
    if (args.len > STORE_EVENT_BYTES_MAX / 2)
        return ttai_errf(err, TTAI_ETOOBIG, "signal arguments of %zu bytes are over the limit",
                         args.len);
    struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED,
                             .name = {(const uint8_t *)name, strlen(name)},
                             .payload = {args.data, args.len}};
    return append_input(eng, ns, workflow_id, run, &ev, name, err);
}

int ttai_engine_cancel(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                       const struct ttai_run_id *run, const char *reason, struct ttai_err *err)
{
    reason = reason ? reason : "";
    struct store_event ev = {.type = STORE_EV_CANCEL_REQUESTED,
                             .failure_message = {(const uint8_t *)reason, strlen(reason)}};
    return append_input(eng, ns, workflow_id, run, &ev, NULL, err);
}

int ttai_engine_terminate(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                          const struct ttai_run_id *run, const char *reason, struct ttai_err *err)
{
    pthread_mutex_lock(&eng->mu);
    struct store_run rec;
    int rc = resolve_run(eng, ns, workflow_id, run, &rec, err);
    if (rc == 0 && rec.status != STORE_RUN_RUNNING)
        rc = ttai_errf(err, TTAI_ECLOSED, "workflow '%s' is %s", workflow_id,
                       store_run_status_text(rec.status));
    struct store_batch *b = rc == 0 ? store_batch_new() : NULL;
    if (b != NULL) {
        rc = eng_terminate_run(eng, &rec, STORE_EV_WORKFLOW_TERMINATED, reason ? reason : "", b, err);
        if (rc == 0)
            rc = store_commit(eng->store, b, err);
        if (rc == 0) {
            eng_uncache(eng, &rec.run_id);
            eng_closed(eng, &rec, STORE_RUN_TERMINATED, NULL);
        }
        store_batch_free(b);
    }
    pthread_mutex_unlock(&eng->mu);
    return rc;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ttai_engine_query(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                      const struct ttai_run_id *run, const char *name, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    int64_t deadline = eng->query_first_task_wait_ms > 0
                           ? monotonic_ms() + eng->query_first_task_wait_ms : 0;
again:
    pthread_mutex_lock(&eng->mu);
    struct store_run rec;
    int rc = resolve_run(eng, ns, workflow_id, run, &rec, err);
    const struct ttai_workflow_def *def = NULL;
    if (rc == 0 && (def = eng_find_workflow(eng->registry, rec.type)) == NULL)
        rc = ttai_errf(err, TTAI_ENOTFOUND, "workflow type '%s' is not registered", rec.type);
    if (rc == 0 && eng_find_query(def, name) == NULL)
        rc = ttai_errf(err, TTAI_ENOTFOUND, "workflow type '%s' has no query '%s'", rec.type, name);
    struct ttai_wf *wf = NULL;
    if (rc == 0 && (wf = eng_run_load(eng, &rec.run_id, true, err)) == NULL)
        rc = err ? err->rc : TTAI_EIO;
    if (rc == 0 && wf->nondet)
        rc = ttai_errf(err, TTAI_ENONDET, "%s", wf->nondet_msg);
    /* Before its first task a run has only its zeroed state (its code has
     * not read its input): a query would see, say, a counter that continued
     * as new drop to 0. Wait for that task, polling with the lock released
     * so that the engine can run it; past the deadline, answer anyway. */
    if (rc == 0 && rec.status == STORE_RUN_RUNNING && !wf->coro_ready && !wf->coro_failed &&
        deadline != 0 && monotonic_ms() < deadline) {
        pthread_mutex_unlock(&eng->mu);
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
        goto again;
    }
    if (rc == 0)
        rc = eng_run_query(wf, name, args, answer, err);
    if (wf != NULL && rec.status != STORE_RUN_RUNNING)
        eng_run_free(wf);
    pthread_mutex_unlock(&eng->mu);
    return rc;
}

int ttai_engine_describe(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                         const struct ttai_run_id *run, struct ttai_run_info *out,
                         struct ttai_err *err)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&eng->mu);
    struct store_run rec;
    int rc = resolve_run(eng, ns, workflow_id, run, &rec, err);
    if (rc == 0) {
        out->run_id = rec.run_id;
        snprintf(out->type, sizeof(out->type), "%s", rec.type);
        out->status = rec.status;
        out->start_ms = rec.start_ms;
        out->close_ms = rec.close_ms;
        out->history_length = rec.last_event_id;
        struct ttai_wf *wf = rec.status == STORE_RUN_RUNNING ? eng_run_load(eng, &rec.run_id, false, NULL)
                                                             : NULL;
        if (wf != NULL && wf->nondet) {
            out->blocked = true;
            snprintf(out->blocked_reason, sizeof(out->blocked_reason), "%s", wf->nondet_msg);
            out->blocked_event_id = wf->nondet_event_id;
        }
    }
    pthread_mutex_unlock(&eng->mu);
    /* The counts read the store alone, after the engine's lock: a run's
     * timers are found by reading every timer (the table is ordered by
     * firing time), which with many timers would hold up the engine. */
    if (rc == 0) {
        struct store_read *rd;
        if (store_read_begin(eng->store, &rd, err) == 0) {
            struct store_iter it;
            struct ttai_run_id r;
            uint64_t seq;
            struct store_bytes b;
            struct store_timer t;
            if (store_activity_iter_init(&it, rd, &rec.run_id, err) == 0)
                while (store_activity_iter_next(&it, &r, &seq, &b, err) == 1)
                    out->pending_activities++;
            store_iter_release(&it);
            if (store_timer_iter_init(&it, rd, INT64_MAX, err) == 0)
                while (store_timer_iter_next(&it, &t, err) == 1)
                    out->pending_timers += ttai_run_id_eq(&t.run_id, &rec.run_id);
            store_iter_release(&it);
            store_read_end(rd);
        }
    }
    return rc;
}

void ttai_engine_blocked(struct ttai_engine *eng, struct ttai_blocked_query *q, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        /* The lock is taken per run: after a restart with code that still
         * disagrees, every recorded run of a page is replayed, and the
         * engine thread gets its turn between them. */
        pthread_mutex_lock(&eng->mu);
        struct ttai_wf *wf = eng_cache_find(eng, &q[i].run);
        struct ttai_err err;
        if (wf == NULL && q[i].recorded)
            wf = eng_run_load(eng, &q[i].run, false, &err);
        q[i].blocked = wf != NULL && wf->nondet;
        if (q[i].blocked) {
            snprintf(q[i].reason, sizeof(q[i].reason), "%s", wf->nondet_msg);
            q[i].event_id = wf->nondet_event_id;
        }
        pthread_mutex_unlock(&eng->mu);
    }
}

int ttai_engine_pending_activities(struct ttai_engine *eng, const char *ns,
                                   const char *workflow_id, struct ttai_pending_activity **out,
                                   size_t *count, struct ttai_err *err)
{
    *out = NULL;
    *count = 0;
    pthread_mutex_lock(&eng->mu);
    struct store_run rec;
    int rc = resolve_run(eng, ns, workflow_id, NULL, &rec, err);
    struct store_read *rd = NULL;
    if (rc == 0)
        rc = store_read_begin(eng->store, &rd, err);
    struct store_iter it;
    if (rc == 0 && (rc = store_activity_iter_init(&it, rd, &rec.run_id, err)) == 0) {
        struct ttai_run_id r;
        uint64_t seq;
        struct store_bytes raw;
        size_t cap = 0;
        while (rc == 0 && store_activity_iter_next(&it, &r, &seq, &raw, err) == 1) {
            struct store_event ev;
            if (store_event_decode(raw.data, raw.len, &ev, NULL) != 0)
                continue;
            if (*count == cap) {
                cap = cap ? cap * 2 : 8;
                struct ttai_pending_activity *grown = ttai_realloc(*out, cap * sizeof(*grown));
                if (grown == NULL) {
                    rc = ttai_errf(err, TTAI_ENOMEM, "out of memory");
                    break;
                }
                *out = grown;
            }
            struct ttai_pending_activity *p = &(*out)[(*count)++];
            memset(p, 0, sizeof(*p));
            p->seq = seq;
            snprintf(p->type, sizeof(p->type), "%.*s", (int)ev.name.len, (const char *)ev.name.data);
            p->attempt = ev.attempt;
            p->scheduled_ms = ev.fire_ms;
            snprintf(p->last_failure_type, sizeof(p->last_failure_type), "%.*s",
                     (int)ev.failure_type.len, (const char *)ev.failure_type.data);
            snprintf(p->last_failure_message, sizeof(p->last_failure_message), "%.*s",
                     (int)ev.failure_message.len, (const char *)ev.failure_message.data);
            struct eng_attempt_info info;
            if (eng_pool_attempt_info(eng->pool, &rec.run_id, seq, &info)) {
                p->state = info.running ? "started" : "scheduled";
                p->started_ms = info.started_ms;
                p->last_heartbeat_ms = info.heartbeat_ms;
                p->heartbeat_details = info.details;
                p->heartbeat_details_len = info.details_len;
            } else {
                /* Not in the pool: waiting for its retry timer (or for room). */
                p->state = ev.attempt > 1 ? "backing_off" : "scheduled";
                p->next_attempt_ms = ev.attempt > 1 ? ev.time_ms : 0;
            }
            if (p->heartbeat_details == NULL && ev.details.len > 0 &&
                (p->heartbeat_details = ttai_malloc(ev.details.len)) != NULL) {
                memcpy(p->heartbeat_details, ev.details.data, ev.details.len);
                p->heartbeat_details_len = ev.details.len;
            }
        }
        store_iter_release(&it);
    }
    store_read_end(rd);
    pthread_mutex_unlock(&eng->mu);
    if (rc != 0) {
        ttai_pending_activities_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

void ttai_pending_activities_free(struct ttai_pending_activity *list, size_t count)
{
    for (size_t i = 0; list != NULL && i < count; i++)
        ttai_free(list[i].heartbeat_details);
    ttai_free(list);
}

int ttai_engine_result(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                       struct ttai_buf *out, struct ttai_err *err)
{
    pthread_mutex_lock(&eng->mu);
    struct store_run rec;
    int rc = resolve_run(eng, ns, workflow_id, NULL, &rec, err);
    if (rc == 0 && rec.status == STORE_RUN_RUNNING)
        rc = ttai_errf(err, TTAI_EBUSY, "workflow '%s' is still running", workflow_id);
    struct store_read *rd = NULL;
    if (rc == 0)
        rc = store_read_begin(eng->store, &rd, err);
    struct store_event ev;
    if (rc == 0)
        rc = store_event_get(rd, &rec.run_id, rec.last_event_id, &ev, err);
    if (rc == 0) {
        if (ev.type == STORE_EV_WORKFLOW_COMPLETED)
            ttai_buf_raw(out, (struct ttai_payload){ev.payload.data, ev.payload.len});
        else
            rc = ttai_errf(err, ev.type == STORE_EV_WORKFLOW_FAILED ? TTAI_EIO : TTAI_ECLOSED,
                           "workflow '%s' %s: %.*s%s%.*s", workflow_id,
                           store_run_status_text(rec.status), (int)ev.failure_type.len,
                           (const char *)ev.failure_type.data, ev.failure_type.len ? ": " : "",
                           (int)ev.failure_message.len, (const char *)ev.failure_message.data);
    }
    store_read_end(rd);
    pthread_mutex_unlock(&eng->mu);
    return rc;
}


int ttai_engine_signal_with_start(struct ttai_engine *eng, const char *ns, const char *type,
                                  const char *workflow_id, struct ttai_payload input,
                                  const struct ttai_start_opts *opts, const char *name,
                                  struct ttai_payload args, struct ttai_run_id *run_id_out,
                                  struct ttai_err *err)
{
    const struct ttai_workflow_def *def = eng_find_workflow(eng->registry, type);
    if (def == NULL)
        return ttai_errf(err, TTAI_ENOTFOUND, "unknown workflow type '%s'", type);
    if (name == NULL || eng_find_signal(def, name) == NULL)
        return ttai_errf(err, TTAI_ENOTFOUND, "workflow type '%s' has no signal '%s'", type,
                         name ? name : "");
    if (args.len > STORE_EVENT_BYTES_MAX / 2)
        return ttai_errf(err, TTAI_ETOOBIG, "signal arguments of %zu bytes are over the limit",
                         args.len);
    /* TTAI_CONFLICT_TERMINATE ends a running run and starts a new one with
     * the signal, in one batch (Temporal's TERMINATE_EXISTING); otherwise a
     * running run is signalled, and the start below must not find one. */
    bool terminate = opts != NULL && opts->id_conflict == TTAI_CONFLICT_TERMINATE;
    struct ttai_start_opts start = opts ? *opts : (struct ttai_start_opts){0};
    start.id_conflict = terminate ? TTAI_CONFLICT_TERMINATE : TTAI_CONFLICT_FAIL;
    for (int attempt = 0; attempt < 3; attempt++) {
        struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED,
                                 .name = {(const uint8_t *)name, strlen(name)},
                                 .payload = {args.data, args.len}};
        /* Running: signal it. */
        int rc = terminate ? TTAI_ENOTFOUND : append_input(eng, ns, workflow_id, NULL, &ev, name, err);
        if (rc == 0) {
            if (run_id_out != NULL) {
                struct store_run rec;
                if (resolve_run(eng, ns, workflow_id, NULL, &rec, NULL) == 0)
                    *run_id_out = rec.run_id;
            }
            return 0;
        }
        if (rc != TTAI_ENOTFOUND && rc != TTAI_ECLOSED)
            return rc;
        /* Not running (or to be ended): start it with the signal in one
         * batch. A concurrent start wins the execution's condition; then
         * signal that run. */
        ev.time_ms = eng_now_ms(eng);
        rc = start_run(eng, ns, type, workflow_id, input, &start, &ev, run_id_out, err);
        if (rc != TTAI_EEXIST && rc != TTAI_ECONFLICT)
            return rc;
        /* Refused by the reuse policy (the run is closed and the policy
         * refuses its status): trying again would only repeat that. */
        struct store_run now;
        if (rc == TTAI_EEXIST &&
            resolve_run(eng, ns, workflow_id, NULL, &now, NULL) == 0 &&
            now.status != STORE_RUN_RUNNING && reuse_refused(&start, now.status))
            return rc;
    }
    return ttai_errf(err, TTAI_ECONFLICT, "workflow '%s' kept changing", workflow_id);
}
