/* engine_pool.h: the activity pool as the engine sees it (pool.c). */
#ifndef TTAI_ENGINE_POOL_H
#define TTAI_ENGINE_POOL_H

#include "engine_int.h"

struct eng_pool;

/* The outcome of one attempt, handed back to the engine thread. */
struct eng_outcome {
    struct ttai_run_id run;
    uint64_t seq;
    uint32_t attempt;
    int rc;                         /* 0: completed */
    bool retryable;
    char error_type[64];
    char error_message[256];
    uint8_t *result;                /* owned; ttai_free */
    size_t result_len;
    int64_t retry_delay_ms;         /* asked for by the activity; 0: the policy's */
    uint8_t *details;               /* last heartbeat details; owned; ttai_free */
    size_t details_len;
};

/* clock: the engine's, for heartbeat times and deadlines. */
int eng_pool_new(struct eng_pool **out, size_t threads, struct ttai_clock clock);
/* Waits for running attempts to finish and frees the pool; queued
 * attempts are dropped (their records stay durable and are dispatched
 * again at the next start). */
void eng_pool_free(struct eng_pool *pool);
/* Queues an attempt of the activity described by an ActivityScheduled
 * event (copied). An unregistered type completes at once as a
 * non-retryable failure. */
void eng_pool_dispatch(struct eng_pool *pool, const struct ttai_registry *reg,
                       const struct store_run *run, const struct store_event *scheduled,
                       uint32_t attempt, int64_t now_ms);
/* Asks a running or queued attempt of (run, seq) to stop: its heartbeats
 * return TTAI_ECANCELED. */
void eng_pool_cancel(struct eng_pool *pool, const struct ttai_run_id *run, uint64_t seq);
/* Takes up to max outcomes; returns how many. */
size_t eng_pool_take(struct eng_pool *pool, struct eng_outcome *out, size_t max);
bool eng_pool_idle(struct eng_pool *pool);
void eng_pool_wait(struct eng_pool *pool, int64_t timeout_ms);

#endif
