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
    bool timed_out;                 /* a timeout of the attempt decided it */
    bool canceled;                  /* cancellation was requested before it ended */
    char error_type[64];
    char error_message[256];
    uint8_t *result;                /* owned; ttai_free */
    size_t result_len;
    int64_t retry_delay_ms;         /* asked for by the activity; 0: the policy's */
    uint8_t *details;               /* last heartbeat details; owned; ttai_free */
    size_t details_len;
    int64_t done_ns;                /* monotonic: when the attempt ended */
};

/* clock: the engine's, for heartbeat times and deadlines. */
int eng_pool_new(struct eng_pool **out, size_t threads, struct ttai_clock clock);
/* Waits for running attempts to finish and frees the pool; queued
 * attempts are dropped (their records stay durable and are dispatched
 * again at the next start). */
void eng_pool_free(struct eng_pool *pool);
/* Jobs the queue holds at most: past it dispatch says TTAI_EBUSY and the
 * engine keeps the work in the store until there is room. */
#define ENG_POOL_QUEUE_MAX 65536

/* Queues an attempt of the activity described by an ActivityScheduled
 * event or pending record (copied), queued at engine time now_ms. An
 * unregistered type completes at once as a non-retryable failure.
 * TTAI_EBUSY when the queue is full (nothing queued). */
int eng_pool_dispatch(struct eng_pool *pool, const struct ttai_registry *reg,
                       const struct store_run *run, const struct store_event *scheduled,
                      uint32_t attempt, int64_t now_ms);
/* Between hold and release, dispatches wake an idle worker for the first
 * attempt and one more for every 32 queued, not one per attempt; release
 * wakes as many idle workers as there are jobs. A round that dispatches
 * hundreds of attempts then costs a few wake-ups, not one futex call per
 * attempt, and its first attempts start while the engine still finishes
 * the round. */
void eng_pool_hold(struct eng_pool *pool);
void eng_pool_release(struct eng_pool *pool);
/* Attempts whose timeout (schedule-to-start, start-to-close, heartbeat) has
 * passed at now_ms: their outcomes (up to max) go to out; a running one is
 * told to stop through its heartbeats and its late result is dropped. */
size_t eng_pool_expire(struct eng_pool *pool, int64_t now_ms, struct eng_outcome *out,
                       size_t max);
/* Dispatch latencies (ns from dispatch to a worker starting the attempt)
 * of the last ENG_POOL_LATENCY_SAMPLES attempts; returns how many. */
#define ENG_POOL_LATENCY_SAMPLES 65536
size_t eng_pool_latencies(struct eng_pool *pool, int64_t *out, size_t max);
/* The earliest timeout of a queued or running attempt, or INT64_MAX. */
int64_t eng_pool_next_deadline(struct eng_pool *pool);
/* Asks a running or queued attempt of (run, seq) to stop: its heartbeats
 * return TTAI_ECANCELED. False when no attempt of it is in the pool. */
bool eng_pool_cancel(struct eng_pool *pool, const struct ttai_run_id *run, uint64_t seq);
/* What the pool knows of the attempt of (run, seq) now, for describe. */
struct eng_attempt_info {
    bool running;                   /* on a worker; false: queued */
    int64_t started_ms;             /* engine times; 0: not yet */
    int64_t heartbeat_ms;           /* 0: no heartbeat in this attempt */
    uint8_t *details;               /* its last heartbeat details; owned; ttai_free */
    size_t details_len;
};
/* False when no attempt of (run, seq) is in the pool. */
bool eng_pool_attempt_info(struct eng_pool *pool, const struct ttai_run_id *run, uint64_t seq,
                           struct eng_attempt_info *out);
/* Takes up to max outcomes; returns how many. */
size_t eng_pool_take(struct eng_pool *pool, struct eng_outcome *out, size_t max);
bool eng_pool_idle(struct eng_pool *pool);
/* Wakes an eng_pool_wait_any() waiter: the engine has work (a run became
 * ready). */
void eng_pool_kick(struct eng_pool *pool);
/* Waits up to timeout_ms for an outcome or a kick. */
void eng_pool_wait_any(struct eng_pool *pool, int64_t timeout_ms);
/* Outcomes waiting to be taken. */
size_t eng_pool_done_count(struct eng_pool *pool);
void eng_pool_wait(struct eng_pool *pool, int64_t timeout_ms);

#endif
