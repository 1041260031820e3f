/* pool.c: the activity pool: worker threads that run activity attempts.
 *
 * Jobs go in through a queue; outcomes come back through another, which
 * the engine drains in ttai_engine_poll(). No lock is held while an
 * activity runs. Retries, backoff and timeouts are decided by the engine
 * from the durable activity record, never here.
 */
#include "engine_pool.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* While the pool is held (eng_pool_hold), one more worker is woken for
 * every this many queued attempts. */
#define HOLD_JOBS_PER_WAKE 32

struct job {
    struct job *next;
    struct job *rnext;             /* in pool->running_list */
    const struct ttai_activity_def *def;
    struct eng_pool *pool;
    struct eng_outcome outcome;
    uint8_t *input;
    size_t input_len;
    uint8_t *last_details;         /* the previous attempt's heartbeat details */
    size_t last_details_len;
    _Atomic bool cancel;           /* heartbeats report TTAI_ECANCELED */
    bool expired;                  /* a timeout decided the outcome: drop the result */
    int64_t queued_ms;             /* engine times: queued, started, last heartbeat */
    int64_t started_ms;
    int64_t heartbeat_ms;
    int64_t dispatched_ns;         /* monotonic, for the dispatch latency */
    int64_t schedule_to_start_ms;  /* timeouts of this attempt; 0: none */
    int64_t start_to_close_ms;
    int64_t heartbeat_timeout_ms;
    /* The workflow id, completed to "<workflow id>/<run id>/<seq>" when the
     * activity first asks for its idempotency key (most never do). */
    char key[STORE_WORKFLOW_ID_MAX + TTAI_RUN_ID_TEXT + 32];
    bool key_done;
    char ns[STORE_NS_MAX + 1];     /* the scheduling workflow's namespace */
};

struct ttai_activity_ctx {
    struct job *job;
};

struct eng_pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;           /* jobs queued or stopping */
    pthread_cond_t done_cv;           /* an outcome arrived */
    struct job *queue_head, *queue_tail;
    struct job *done_head, *done_tail;
    size_t running;
    bool stopping;
    pthread_t *threads;
    size_t thread_count;
    struct ttai_clock clock;
    struct job *running_list;       /* attempts on a worker now (via rnext) */
    int64_t *latency_ns;            /* ring of the last LATENCY_SAMPLES dispatch latencies */
    uint64_t latency_count;
    size_t queued;                  /* jobs in the queue */
    size_t queued_deadlines;        /* of which with a schedule-to-start timeout */
    size_t done_count;              /* outcomes waiting to be taken */
    bool held;                      /* eng_pool_hold: dispatch wakes workers sparingly */
    size_t held_wakes;              /* ... workers woken since the hold */
    size_t idle_workers;            /* workers waiting for a job */
    size_t done_waiters;            /* engine threads waiting for an outcome */
    bool kicked;                    /* eng_pool_kick() since the last wait */
};

uint32_t ttai_activity_attempt(const struct ttai_activity_ctx *ctx)
{
    return ctx->job->outcome.attempt;
}

const char *ttai_activity_idempotency_key(const struct ttai_activity_ctx *ctx)
{
    struct job *j = ctx->job;
    if (!j->key_done) {
        /* Only the attempt's worker touches the job's key while it runs. */
        char rid[TTAI_RUN_ID_TEXT];
        size_t len = strlen(j->key);
        snprintf(j->key + len, sizeof(j->key) - len, "/%s/%" PRIu64,
                 ttai_run_id_format(&j->outcome.run, rid), j->outcome.seq);
        j->key_done = true;
    }
    return j->key;
}

const char *ttai_activity_namespace(const struct ttai_activity_ctx *ctx)
{
    return ctx->job->ns;
}

int ttai_activity_fail(struct ttai_activity_ctx *ctx, const char *error_type, bool retryable,
                       const char *fmt, ...)
{
    struct eng_outcome *o = &ctx->job->outcome;
    snprintf(o->error_type, sizeof(o->error_type), "%s", error_type ? error_type : "Error");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->error_message, sizeof(o->error_message), fmt, ap);
    va_end(ap);
    o->retryable = retryable;
    return TTAI_EIO;
}

int ttai_activity_heartbeat(struct ttai_activity_ctx *ctx, struct ttai_payload details)
{
    struct job *j = ctx->job;
    struct eng_pool *pool = j->pool;
    uint8_t *copy = NULL;
    if (details.len > 0) {
        copy = ttai_malloc(details.len);
        if (copy == NULL)
            return TTAI_ENOMEM;
        memcpy(copy, details.data, details.len);
    }
    pthread_mutex_lock(&pool->mu);
    ttai_free(j->outcome.details);
    j->outcome.details = copy;
    j->outcome.details_len = details.len;
    j->heartbeat_ms = pool->clock.now_ms(pool->clock.arg);
    pthread_mutex_unlock(&pool->mu);
    return atomic_load(&j->cancel) ? TTAI_ECANCELED : TTAI_OK;
}

struct ttai_payload ttai_activity_last_details(const struct ttai_activity_ctx *ctx)
{
    return (struct ttai_payload){ctx->job->last_details, ctx->job->last_details_len};
}

void ttai_activity_set_retry_delay(struct ttai_activity_ctx *ctx, int64_t delay_ms)
{
    ctx->job->outcome.retry_delay_ms = delay_ms > 0 ? delay_ms : 0;
}

static void push(struct job **head, struct job **tail, struct job *j)
{
    j->next = NULL;
    if (*tail != NULL)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void run_job(struct job *j)
{
    struct ttai_activity_ctx ctx = {j};
    struct ttai_buf out;
    ttai_buf_init(&out);
    j->outcome.retryable = true;
    int rc = j->def->run(&ctx, (struct ttai_payload){j->input, j->input_len}, &out);
    j->outcome.rc = rc;
    if (rc == 0) {
        struct ttai_payload p = ttai_buf_payload(&out);
        j->outcome.result = ttai_malloc(p.len ? p.len : 1);
        TTAI_ASSERT(j->outcome.result != NULL);
        if (p.len > 0)
            memcpy(j->outcome.result, p.data, p.len);
        j->outcome.result_len = p.len;
    } else if (j->outcome.error_type[0] == '\0') {
        snprintf(j->outcome.error_type, sizeof(j->outcome.error_type), "%s", ttai_rc_name(rc));
        snprintf(j->outcome.error_message, sizeof(j->outcome.error_message), "%s",
                 ttai_strerror(rc));
    }
    ttai_buf_release(&out);
}

static void job_free(struct job *j)
{
    ttai_free(j->input);
    ttai_free(j->last_details);
    ttai_free(j);
}

static void *worker_main(void *arg)
{
    struct eng_pool *pool = arg;
    pthread_setname_np(pthread_self(), "ttai-activity"); /* top -H, perf --sort comm */
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (pool->queue_head == NULL && !pool->stopping) {
            pool->idle_workers++;
            pthread_cond_wait(&pool->work_cv, &pool->mu);
            pool->idle_workers--;
        }
        if (pool->stopping)
            break;
        struct job *j = pool->queue_head;
        pool->queue_head = j->next;
        if (pool->queue_head == NULL)
            pool->queue_tail = NULL;
        pool->running++;
        pool->queued--;
        if (j->schedule_to_start_ms > 0)
            pool->queued_deadlines--;
        if (pool->latency_ns != NULL)
            pool->latency_ns[pool->latency_count++ % ENG_POOL_LATENCY_SAMPLES] =
                ttai_mono_ns() - j->dispatched_ns;
        j->started_ms = pool->clock.now_ms(pool->clock.arg);
        j->rnext = pool->running_list;
        pool->running_list = j;
        pthread_mutex_unlock(&pool->mu);
        run_job(j);
        pthread_mutex_lock(&pool->mu);
        pool->running--;
        struct job **p = &pool->running_list;
        while (*p != j)
            p = &(*p)->rnext;
        *p = j->rnext;
        if (j->expired) {
            /* Its timeout already decided the outcome: the result is late. */
            ttai_free(j->outcome.result);
            ttai_free(j->outcome.details);
            job_free(j);
            continue;
        }
        j->outcome.canceled = atomic_load(&j->cancel);
        j->outcome.done_ns = ttai_mono_ns();
        push(&pool->done_head, &pool->done_tail, j);
        pool->done_count++;
        /* Wake the engine only when it waits: a futex call per outcome
         * would cost more than the no-op activities themselves. */
        if (pool->done_waiters > 0)
            pthread_cond_broadcast(&pool->done_cv);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

int eng_pool_new(struct eng_pool **out, size_t threads, struct ttai_clock clock)
{
    struct eng_pool *pool = ttai_calloc(1, sizeof(*pool));
    if (pool == NULL)
        return TTAI_ENOMEM;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work_cv, NULL);
    pthread_cond_init(&pool->done_cv, NULL);
    pool->clock = clock;
    pool->latency_ns = ttai_calloc(ENG_POOL_LATENCY_SAMPLES, sizeof(*pool->latency_ns));
    pool->threads = ttai_calloc(threads, sizeof(*pool->threads));
    if (pool->threads == NULL) {
        eng_pool_free(pool);
        return TTAI_ENOMEM;
    }
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0)
            break;
        pool->thread_count++;
    }
    *out = pool;
    return TTAI_OK;
}

static void free_jobs(struct job *j)
{
    while (j != NULL) {
        struct job *next = j->next;
        ttai_free(j->outcome.result);
        ttai_free(j->outcome.details);
        job_free(j);
        j = next;
    }
}

void eng_pool_free(struct eng_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    for (size_t i = 0; i < pool->thread_count; i++)
        pthread_join(pool->threads[i], NULL);
    free_jobs(pool->queue_head);
    free_jobs(pool->done_head);
    ttai_free(pool->threads);
    ttai_free(pool->latency_ns);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->work_cv);
    pthread_cond_destroy(&pool->done_cv);
    ttai_free(pool);
}

int eng_pool_dispatch(struct eng_pool *pool, const struct ttai_registry *reg,
                      const struct store_run *run, const struct store_event *scheduled,
                      uint32_t attempt, int64_t now_ms)
{
    /* The job is made before the lock is taken, once: the workers contend
     * for the same lock with every attempt they start and end. */
    struct job *j = ttai_calloc(1, sizeof(*j));
    TTAI_ASSERT(j != NULL);
    char type[128];
    snprintf(type, sizeof(type), "%.*s", (int)scheduled->name.len,
             (const char *)scheduled->name.data);
    j->def = eng_find_activity(reg, type);
    j->pool = pool;
    j->queued_ms = now_ms;
    j->dispatched_ns = ttai_mono_ns();
    j->schedule_to_start_ms = scheduled->opts.schedule_to_start_ms;
    j->start_to_close_ms = scheduled->opts.start_to_close_ms;
    j->heartbeat_timeout_ms = scheduled->opts.heartbeat_ms;
    if (scheduled->details.len) {
        j->last_details = ttai_malloc(scheduled->details.len);
        TTAI_ASSERT(j->last_details != NULL);
        memcpy(j->last_details, scheduled->details.data, scheduled->details.len);
        j->last_details_len = scheduled->details.len;
    }
    j->outcome.run = run->run_id;
    j->outcome.seq = scheduled->seq;
    j->outcome.attempt = attempt;
    memcpy(j->key, run->workflow_id, strnlen(run->workflow_id, STORE_WORKFLOW_ID_MAX));
    snprintf(j->ns, sizeof(j->ns), "%s", run->ns);
    if (scheduled->payload.len) {
        j->input = ttai_malloc(scheduled->payload.len);
        TTAI_ASSERT(j->input != NULL);
        memcpy(j->input, scheduled->payload.data, scheduled->payload.len);
        j->input_len = scheduled->payload.len;
    }
    pthread_mutex_lock(&pool->mu);
    if (j->def != NULL && pool->queued >= ENG_POOL_QUEUE_MAX) {
        pthread_mutex_unlock(&pool->mu);
        job_free(j);
        return TTAI_EBUSY;
    }
    if (j->def == NULL) {
        j->outcome.rc = TTAI_ENOTFOUND;
        j->outcome.retryable = false;
        snprintf(j->outcome.error_type, sizeof(j->outcome.error_type), "ActivityNotRegistered");
        snprintf(j->outcome.error_message, sizeof(j->outcome.error_message),
                 "activity type '%s' is not registered", type);
        j->outcome.done_ns = ttai_mono_ns();
        push(&pool->done_head, &pool->done_tail, j);
        pool->done_count++;
        /* Wake the engine only when it waits: a futex call per outcome
         * would cost more than the no-op activities themselves. */
        if (pool->done_waiters > 0)
            pthread_cond_broadcast(&pool->done_cv);
    } else {
        push(&pool->queue_head, &pool->queue_tail, j);
        pool->queued++;
        if (j->schedule_to_start_ms > 0)
            pool->queued_deadlines++;
        /* While held, a worker is woken for the first attempt and one more
         * for every HOLD_JOBS_PER_WAKE queued: a woken worker takes
         * attempts until the queue is empty, and waking one per attempt
         * would cost a futex call each. */
        if (pool->idle_workers > 0 &&
            (!pool->held || pool->queued > pool->held_wakes * HOLD_JOBS_PER_WAKE)) {
            pthread_cond_signal(&pool->work_cv);
            pool->held_wakes += pool->held;
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return TTAI_OK;
}

void eng_pool_hold(struct eng_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    pool->held = true;
    pool->held_wakes = 0;
    pthread_mutex_unlock(&pool->mu);
}

void eng_pool_release(struct eng_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    pool->held = false;
    /* One wake per idle worker that has a job to take, not one per job. */
    if (pool->queued >= pool->idle_workers)
        pthread_cond_broadcast(&pool->work_cv);
    else
        for (size_t i = 0; i < pool->queued; i++)
            pthread_cond_signal(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
}

size_t eng_pool_take(struct eng_pool *pool, struct eng_outcome *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&pool->mu);
    while (n < max && pool->done_head != NULL) {
        struct job *j = pool->done_head;
        pool->done_head = j->next;
        if (pool->done_head == NULL)
            pool->done_tail = NULL;
        out[n++] = j->outcome; /* the result and details move to the caller */
        pool->done_count--;
        job_free(j);
    }
    pthread_mutex_unlock(&pool->mu);
    return n;
}

bool eng_pool_idle(struct eng_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    bool idle = pool->queue_head == NULL && pool->done_head == NULL;
    /* An attempt given up on by its timeout still occupies its worker until
     * it returns, but nothing waits for it any more. */
    for (struct job *j = pool->running_list; idle && j != NULL; j = j->rnext)
        idle = j->expired;
    pthread_mutex_unlock(&pool->mu);
    return idle;
}

void eng_pool_wait(struct eng_pool *pool, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&pool->mu);
    if (pool->done_head == NULL && (pool->queue_head != NULL || pool->running > 0)) {
        pool->done_waiters++;
        pthread_cond_timedwait(&pool->done_cv, &pool->mu, &ts);
        pool->done_waiters--;
    }
    pthread_mutex_unlock(&pool->mu);
}

bool eng_pool_cancel(struct eng_pool *pool, const struct ttai_run_id *run, uint64_t seq)
{
    bool found = false;
    pthread_mutex_lock(&pool->mu);
    for (struct job *j = pool->queue_head; j != NULL; j = j->next)
        if (j->outcome.seq == seq && ttai_run_id_eq(&j->outcome.run, run)) {
            atomic_store(&j->cancel, true);
            found = true;
        }
    for (struct job *j = pool->running_list; j != NULL; j = j->rnext)
        if (j->outcome.seq == seq && ttai_run_id_eq(&j->outcome.run, run) && !j->expired) {
            atomic_store(&j->cancel, true);
            found = true;
        }
    pthread_mutex_unlock(&pool->mu);
    return found;
}

bool eng_pool_attempt_info(struct eng_pool *pool, const struct ttai_run_id *run, uint64_t seq,
                           struct eng_attempt_info *out)
{
    memset(out, 0, sizeof(*out));
    const struct job *found = NULL;
    pthread_mutex_lock(&pool->mu);
    for (struct job *j = pool->running_list; j != NULL && found == NULL; j = j->rnext)
        if (j->outcome.seq == seq && ttai_run_id_eq(&j->outcome.run, run) && !j->expired) {
            found = j;
            out->running = true;
        }
    for (struct job *j = pool->queue_head; j != NULL && found == NULL; j = j->next)
        if (j->outcome.seq == seq && ttai_run_id_eq(&j->outcome.run, run))
            found = j;
    if (found != NULL) {
        out->started_ms = out->running ? found->started_ms : 0;
        out->heartbeat_ms = out->running ? found->heartbeat_ms : 0;
        if (out->running && found->outcome.details_len > 0 &&
            (out->details = ttai_malloc(found->outcome.details_len)) != NULL) {
            memcpy(out->details, found->outcome.details, found->outcome.details_len);
            out->details_len = found->outcome.details_len;
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return found != NULL;
}

/* ---- Timeouts ------------------------------------------------------------------ */

/* When a job's attempt times out, and which timeout it is. */
static int64_t job_deadline(const struct job *j, bool running, const char **kind)
{
    int64_t deadline = INT64_MAX;
    if (!running) {
        if (j->schedule_to_start_ms > 0) {
            deadline = ttai_add_sat(j->queued_ms, j->schedule_to_start_ms);
            *kind = "ScheduleToStart";
        }
        return deadline;
    }
    if (j->start_to_close_ms > 0) {
        deadline = ttai_add_sat(j->started_ms, j->start_to_close_ms);
        *kind = "StartToClose";
    }
    if (j->heartbeat_timeout_ms > 0) {
        int64_t alive = j->heartbeat_ms > j->started_ms ? j->heartbeat_ms : j->started_ms;
        int64_t silent_until = ttai_add_sat(alive, j->heartbeat_timeout_ms);
        if (silent_until < deadline) {
            deadline = silent_until;
            *kind = "Heartbeat";
        }
    }
    return deadline;
}

/* The outcome of a timed-out attempt (a copy: a running job still owns its
 * memory until its worker lets go of it). */
static void expired_outcome(struct job *j, const char *kind, struct eng_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->run = j->outcome.run;
    out->seq = j->outcome.seq;
    out->attempt = j->outcome.attempt;
    out->rc = TTAI_ETIMEDOUT;
    out->timed_out = true;
    out->done_ns = ttai_mono_ns();
    /* Temporal: a schedule-to-start timeout is final; the others retry. */
    out->retryable = strcmp(kind, "ScheduleToStart") != 0;
    snprintf(out->error_type, sizeof(out->error_type), "%s", kind);
    snprintf(out->error_message, sizeof(out->error_message), "activity attempt %u: %s timeout",
             j->outcome.attempt, kind);
    if (j->outcome.details_len > 0) {
        out->details = ttai_malloc(j->outcome.details_len);
        TTAI_ASSERT(out->details != NULL);
        memcpy(out->details, j->outcome.details, j->outcome.details_len);
        out->details_len = j->outcome.details_len;
    }
}

size_t eng_pool_expire(struct eng_pool *pool, int64_t now_ms, struct eng_outcome *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&pool->mu);
    for (struct job *j = pool->running_list; j != NULL && n < max; j = j->rnext) {
        const char *kind = "";
        if (!j->expired && job_deadline(j, true, &kind) <= now_ms) {
            expired_outcome(j, kind, &out[n++]);
            j->expired = true;
            atomic_store(&j->cancel, true); /* its heartbeats tell it to stop */
        }
    }
    /* Only queued attempts with a schedule-to-start timeout can expire in
     * the queue: without any, the queue is not walked. */
    if (pool->queued_deadlines > 0) {
        struct job **p = &pool->queue_head;
        pool->queue_tail = NULL;
        while (*p != NULL) {
            struct job *j = *p;
            const char *kind = "";
            if (n < max && job_deadline(j, false, &kind) <= now_ms) {
                expired_outcome(j, kind, &out[n++]);
                *p = j->next;
                pool->queued--;
                pool->queued_deadlines--;
                job_free(j);
                continue;
            }
            pool->queue_tail = j;
            p = &j->next;
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return n;
}

int64_t eng_pool_next_deadline(struct eng_pool *pool)
{
    int64_t next = INT64_MAX;
    const char *kind;
    pthread_mutex_lock(&pool->mu);
    for (struct job *j = pool->running_list; j != NULL; j = j->rnext) {
        int64_t d = j->expired ? INT64_MAX : job_deadline(j, true, &kind);
        next = d < next ? d : next;
    }
    for (struct job *j = pool->queued_deadlines > 0 ? pool->queue_head : NULL; j != NULL;
         j = j->next) {
        int64_t d = job_deadline(j, false, &kind);
        next = d < next ? d : next;
    }
    pthread_mutex_unlock(&pool->mu);
    return next;
}

size_t eng_pool_latencies(struct eng_pool *pool, int64_t *out, size_t max)
{
    pthread_mutex_lock(&pool->mu);
    size_t n = pool->latency_count < ENG_POOL_LATENCY_SAMPLES ? (size_t)pool->latency_count
                                                               : ENG_POOL_LATENCY_SAMPLES;
    if (n > max)
        n = max;
    if (pool->latency_ns != NULL)
        memcpy(out, pool->latency_ns, n * sizeof(*out));
    else
        n = 0;
    pthread_mutex_unlock(&pool->mu);
    return n;
}

size_t eng_pool_done_count(struct eng_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    size_t n = pool->done_count;
    pthread_mutex_unlock(&pool->mu);
    return n;
}

void eng_pool_kick(struct eng_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    pool->kicked = true;
    if (pool->done_waiters > 0)
        pthread_cond_broadcast(&pool->done_cv);
    pthread_mutex_unlock(&pool->mu);
}

void eng_pool_wait_any(struct eng_pool *pool, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&pool->mu);
    while (pool->done_head == NULL && !pool->kicked) {
        pool->done_waiters++;
        int rc = pthread_cond_timedwait(&pool->done_cv, &pool->mu, &ts);
        pool->done_waiters--;
        if (rc != 0)
            break; /* timed out */
    }
    pool->kicked = false;
    pthread_mutex_unlock(&pool->mu);
}
