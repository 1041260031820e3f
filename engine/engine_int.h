/* engine_int.h: shared only between the engine module's own files. */
#ifndef TTAI_ENGINE_INT_H
#define TTAI_ENGINE_INT_H

#include <pthread.h>
#include <ucontext.h>

#include "store.h"
#include "ttai.h"

/* ---- Arena: memory with a run's lifetime ----------------------------- */
struct eng_arena_chunk;
struct eng_arena {
    struct eng_arena_chunk *head;
    size_t bytes;                     /* total allocated, for accounting */
};
void *eng_arena_alloc(struct eng_arena *a, size_t size);
void eng_arena_release(struct eng_arena *a);

/* ---- Coroutines ----------------------------------------------------------
 *
 * One stack per coroutine, mmap'd (untouched pages cost nothing), with a
 * guard page below it. resume() runs the coroutine until it yields or its
 * function returns; yield() returns to the resumer. */
struct eng_coro {
    void *sp;                         /* x86-64: the coroutine's saved stack pointer */
    void *caller_sp;                  /* x86-64: the resumer's */
    ucontext_t ctx;                   /* elsewhere: ucontext */
    ucontext_t caller;
    void *stack;                      /* mmap'd region, guard page first */
    size_t stack_bytes;
    bool finished;
    void (*fn)(void *arg);
    void *arg;
    void *asan_fake_stack;            /* AddressSanitizer fiber bookkeeping */
    const void *caller_stack_bottom;
    size_t caller_stack_size;
};
int eng_coro_init(struct eng_coro *c, size_t stack_bytes, void (*fn)(void *), void *arg);
void eng_coro_resume(struct eng_coro *c);
void eng_coro_yield(struct eng_coro *c);
void eng_coro_release(struct eng_coro *c);

/* ---- Runs in memory ------------------------------------------------------- */

enum eng_future_kind { FUT_ACTIVITY = 1, FUT_TIMER = 2 };

struct ttai_future {
    uint64_t seq;
    int kind;                         /* enum eng_future_kind */
    bool done;
    bool cancel_sent;                 /* timer: TimerCanceled issued */
    int64_t fire_ms;                  /* timer */
    struct ttai_result result;
    struct ttai_future *next;
};

/* Timer kinds in the timer table. */
enum eng_timer_kind { TIMER_WORKFLOW = 1, TIMER_ACTIVITY_RETRY = 2, TIMER_RUN_TIMEOUT = 3 };

/* A run in memory: identity, the coroutine running its code, and the
 * replay state. The workflow handle given to workflow code is this struct.
 *
 *   run states (eng_run_* in run.c):
 *     NEW --run_task/replay--> BLOCKED (coroutine waiting)
 *     BLOCKED --run_task--> BLOCKED | CLOSING (a close command issued)
 *     any --mismatch on replay--> NONDET (no coroutine; kept for describe)
 */
struct ttai_wf {
    struct store_run rec;
    const struct ttai_workflow_def *def;
    struct ttai_engine *eng;          /* NULL for offline replay */
    void *state;
    struct eng_coro coro;
    bool coro_ready;                  /* coroutine initialised */
    bool coro_failed;                 /* no stack could be allocated */
    struct eng_arena arena;
    struct ttai_payload input;
    uint64_t seq;                     /* last command sequence issued */
    int64_t exec_deadline_ms;         /* 0: none; spans continue-as-new */
    int64_t run_timeout_ms;           /* 0: none */
    int64_t run_deadline_ms;          /* when this run times out; 0: never */
    struct ttai_future *futures;
    bool cancel_requested;
    bool cancel_reported;             /* an await has returned for it */
    uint64_t last_event_id;           /* history length */
    uint64_t processed_through;       /* last input event delivered */
    int64_t task_time_ms;

    /* The task being run. */
    bool replaying;
    const struct store_event *expect; /* recorded commands of the task */
    size_t expect_count, expect_pos;
    struct store_event *cmds;         /* commands issued by a live task */
    size_t cmd_count, cmd_cap;
    bool closed;                      /* a close command was issued */
    bool in_query;                    /* a query handler runs */
    bool in_signal;                   /* a signal handler runs */

    /* Non-determinism. */
    bool nondet;
    char nondet_msg[TTAI_ERR_MSG_MAX];
    uint64_t nondet_event_id;
    bool nondet_recorded;             /* a TaskFailed event says so already */

    /* Engine bookkeeping. */
    bool inflight;                    /* a task batch of this run awaits its commit */
    /* The store holds exactly last_event_id events of this run and every
     * input among them is delivered: set when a task of it commits, cleared
     * when the run is marked ready (an input was stored). A fused task of a
     * synced run reads no history; an input stored meanwhile whose run is
     * not marked ready yet refuses its batch (require_last_event). */
    bool synced;
    bool evict_pending;               /* drop from the cache once it has committed */
    uint64_t touched_round;           /* eng->round_seq of its last input batch */
    struct ttai_wf *hash_next;
    struct ttai_wf *lru_prev, *lru_next;
};

/* run.c */
/* When a run started at start_ms times out (0: never). */
int64_t eng_run_deadline(int64_t start_ms, int64_t run_timeout_ms, int64_t exec_deadline_ms);
struct ttai_wf *eng_run_new(const struct store_run *rec, const struct ttai_workflow_def *def,
                            struct ttai_engine *eng);
void eng_run_free(struct ttai_wf *wf);
bool eng_event_is_input(int type);
bool eng_event_is_command(int type);
/* Replays history events[0..count) (ids 1..count). Stops at until_id (0:
 * all). Leaves the run in live state: inputs after the last recorded task
 * are not delivered. TTAI_ENONDET with wf->nondet_* on a mismatch. */
int eng_run_replay(struct ttai_wf *wf, const struct store_event *events, size_t count,
                   uint64_t until_id);
/* Runs one live task: delivers events (inputs with ids after
 * processed_through, up to the last), resumes the code, leaves the issued
 * commands in wf->cmds. */
void eng_run_task(struct ttai_wf *wf, const struct store_event *events, size_t count,
                  int64_t now_ms);
/* Answers a query on the run's state. */
int eng_run_query(struct ttai_wf *wf, const char *name, struct ttai_payload args,
                  struct ttai_buf *answer, struct ttai_err *err);
const struct ttai_signal_def *eng_find_signal(const struct ttai_workflow_def *def, const char *name);
const struct ttai_query_def *eng_find_query(const struct ttai_workflow_def *def, const char *name);
const struct ttai_workflow_def *eng_find_workflow(const struct ttai_registry *reg, const char *type);
const struct ttai_activity_def *eng_find_activity(const struct ttai_registry *reg, const char *type);

/* Loads the events of a run from from_id (0 or 1: all) into memory owned
 * by arena (copied out of the read). */
int eng_history_load(struct store_read *rd, const struct ttai_run_id *run, uint64_t from_id,
                     struct eng_arena *arena, struct store_event **events, size_t *count,
                     struct ttai_err *err);

/* ---- The engine (engine.c, calls.c) ------------------------------------ */

#include "engine_pool.h"

struct timer_heap {
    struct store_timer *items;
    size_t count, cap;
};

/* An activity attempt the pool had no room for (its record is durable). */
struct eng_deferred {
    struct ttai_run_id run;
    uint64_t seq;
    uint32_t attempt;
};

/* Invariants: see engine.c. */
struct ttai_engine {
    struct store *store;
    const struct ttai_registry *registry;
    struct ttai_clock clock;
    size_t cache_max;
    int64_t query_first_task_wait_ms;  /* < 0: queries never wait */
    pthread_mutex_t mu;

    struct ttai_wf **buckets;          /* cached runs by run id */
    struct ttai_wf lru;                /* sentinel: lru.lru_next is most recent */
    size_t cached;

    struct ttai_run_id *ready;         /* runs with inputs to deliver */
    int64_t *ready_ns;                 /* ... since when (monotonic), for task_latency */
    size_t ready_count, ready_cap;

    struct timer_heap timers;
    struct eng_round **rounds;         /* submitted, not yet finished (FIFO) */
    uint64_t round_seq;                /* rounds started */
    ttai_close_fn close_cb;            /* ttai_engine_on_close */
    void *close_arg;
    ttai_batch_fn batch_cb;            /* ttai_engine_on_batch */
    void *batch_arg;
    size_t round_count;
    struct eng_deferred *deferred;     /* attempts waiting for room in the pool */
    size_t deferred_count, deferred_cap;
    struct eng_pool *pool;
    struct eng_scheds *sched;          /* schedules.c */
    struct ttai_engine_stats stats;
    /* Starts queued for the poller (ttai_engine_start_async), under
     * inbox_mu, not mu: they are queued while the poller holds mu. */
    pthread_mutex_t inbox_mu;
    struct eng_start_req *starts_head, *starts_tail;
    size_t starts_queued;
};

/* schedules.c: the engine's side of schedules (schedules.h). Opened after
 * recovery (loads every schedule), polled by ttai_engine_poll without the
 * engine lock; *wake_ms gets when a schedule next needs the poll. */
struct eng_scheds;
int eng_scheds_open(struct ttai_engine *eng, struct eng_scheds **out, struct ttai_err *err);
void eng_scheds_close(struct eng_scheds *ss);
int eng_scheds_poll(struct eng_scheds *ss, int64_t now_ms, int64_t *wake_ms);
/* A run closed (called under the engine lock; lock-free). */
void eng_scheds_note_closed(struct eng_scheds *ss);

/* A new run id: a version-7 uuid (the wall-clock ms, then random bits),
 * so that runs created together have neighbouring keys in the store. */
int eng_run_id_new(struct ttai_run_id *out);
int64_t eng_now_ms(struct ttai_engine *eng);
/* The engine's time in ns: the real clock's, or the virtual one's ms. */
int64_t eng_now_ns(struct ttai_engine *eng);
/* Adds a sample to one of the stats' histograms. */
void eng_hist_add(struct ttai_latency_hist *h, int64_t ns);
/* All of these need the engine lock. */
void eng_mark_ready(struct ttai_engine *eng, const struct ttai_run_id *id);
/* The same for a run ready since ready_ns (monotonic). */
void eng_mark_ready_at(struct ttai_engine *eng, const struct ttai_run_id *id, int64_t ready_ns);
struct ttai_wf *eng_run_load(struct ttai_engine *eng, const struct ttai_run_id *id,
                             bool allow_closed, struct ttai_err *err);
void eng_timer_push(struct timer_heap *h, const struct store_timer *t);
struct ttai_wf *eng_cache_find(struct ttai_engine *eng, const struct ttai_run_id *id);
void eng_cache_remove(struct ttai_engine *eng, struct ttai_wf *wf);
void eng_uncache(struct ttai_engine *eng, const struct ttai_run_id *id);
/* Puts a run that a start has just made durable into the cache, so that
 * its first task need not rebuild it from history. The start committed
 * without the engine lock, so the run may be cached already by now (a
 * signal's task loaded it) or closed (terminated, or closed by that task):
 * invariant 1 of engine.c keeps only Running runs in the cache, so the
 * store is asked. Takes wf; returns false when it freed it instead. */
bool eng_cache_adopt(struct ttai_engine *eng, struct ttai_wf *wf);
/* calls.c: the starts of ttai_engine_start_async, made in the poller's
 * rounds (under the engine lock). _prepare takes every queued start, makes
 * each up to its commit (the checks, the first task) and submits its batch
 * into the round's group, answering at once those that need no commit;
 * _finish, once the group is durable, finishes them as a start's commit
 * does (dispatching the first task's activities) and calls their ended_cb;
 * returns how many. _drop frees the queued ones at close. */
struct eng_group;
struct eng_starts {
    struct ttai_start_op **ops;
    size_t count;
};
size_t eng_starts_queued(struct ttai_engine *eng);
/* in_flight: the starts of the rounds submitted and not yet finished
 * (in_flight_count of them). A queued start of a workflow id that one of
 * them, or an earlier start of this round, already starts waits for a
 * later round, where it sees that start's outcome. */
void eng_starts_prepare(struct ttai_engine *eng, struct eng_group *group,
                        const struct eng_starts *const *in_flight, size_t in_flight_count,
                        struct eng_starts *out);
int eng_starts_finish(struct ttai_engine *eng, struct eng_starts *s);
void eng_starts_drop(struct ttai_engine *eng);
/* Tells the embedder (ttai_engine_on_close) that a run's close is durable;
 * close_ev is the closing event when at hand, else NULL. */
void eng_closed(struct ttai_engine *eng, const struct store_run *run, int status,
                const struct store_event *close_ev);
void eng_timer_pop(struct timer_heap *h);
/* Dispatches an attempt to the pool, or defers it while the pool is full. */
void eng_dispatch(struct ttai_engine *eng, const struct store_run *run,
                  const struct store_event *rec, uint32_t attempt);
/* Encodes a pending-activity record: the ActivityScheduled event with its
 * current attempt (attempt) and when it was scheduled (fire_ms). */
int eng_activity_record(const struct store_event *cmd, uint32_t attempt, int64_t scheduled_ms,
                        uint8_t **buf, size_t *len, size_t *cap);
/* A set of batches submitted together and waited for together. */
struct eng_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    struct store_batch **batches;     /* collected until eng_group_flush */
    struct eng_pending **pendings;
    size_t count, cap;
};
/* The head of whatever a group's callback reports into. */
struct eng_pending {
    struct eng_group *group;
    int rc;
    struct ttai_err *err_out;          /* gets the error of a refused batch; NULL: none */
};

/* outcomes.c: finished activity attempts and due timers become durable
 * events. _prepare takes them and submits their batches into the poll's
 * group; _finish, after the group is durable, wakes runs, arms retry timers
 * and dispatches retries, and returns how many items it handled. */
struct eng_outcomes {
    struct eng_outcome *taken;
    struct outcome_item *items;
    size_t count;
};
struct eng_timers {
    struct timer_item *items;
    size_t count;
};
void eng_outcomes_prepare(struct ttai_engine *eng, struct eng_group *group,
                          struct eng_outcomes *out);
int eng_outcomes_finish(struct ttai_engine *eng, struct eng_outcomes *out);
void eng_timers_prepare(struct ttai_engine *eng, struct eng_group *group, struct eng_timers *out);
int eng_timers_finish(struct ttai_engine *eng, struct eng_timers *out);
void eng_group_init(struct eng_group *g);
/* Adds b to the group (ownership moves to the group, then the store);
 * p->rc gets the outcome. Nothing is queued before eng_group_flush. */
void eng_group_submit(struct ttai_engine *eng, struct eng_group *g, struct store_batch *b,
                      struct eng_pending *p);
/* Queues every batch added so far in one step (they share a commit). */
void eng_group_flush(struct ttai_engine *eng, struct eng_group *g);
/* While a round is prepared the store's group is held open
 * (store_group_hold): every ENG_GROUP_CHUNK batches are queued at once, so
 * that the writer applies them while the rest are prepared. Fewer would
 * wake the writer more often than it applies. Call it only where every
 * batch added so far is complete (its pending fields set). */
#define ENG_GROUP_CHUNK 16
void eng_group_flush_chunk(struct ttai_engine *eng, struct eng_group *g);
/* Waits for every submitted batch, then releases the group. */
void eng_group_wait(struct eng_group *g);

/* ---- Workflow tasks (engine.c) ------------------------------------------ */

/* One workflow task's batch, from its building to its commit. */
struct task_out {
    struct eng_pending pending;         /* first: the group's callback writes here */
    struct ttai_wf *wf;
    struct store_batch *batch;          /* owned by the store once submitted */
    struct store_run next_run;          /* continue-as-new target */
    bool continued;
    int64_t next_deadline_ms;           /* the next run's timeout timer */
    bool close;
    int close_status;                   /* enum store_run_status, when close */
    const struct store_event *close_ev; /* the close command (in the run's arena), when close */
    int rc;
    int64_t ready_ns;                   /* monotonic: when the run became ready; 0: unknown */
};

/* A fused task: an input that is not stored yet (a fired timer, an
 * activity's final outcome) and the task of its run that consumes it, in
 * one batch, so that a loop step costs one commit instead of two. Runs the
 * task of `run` over its stored unprocessed events (read through rd) plus
 * *input, and adds to b (which holds the caller's own operations for the
 * input) the input, the task's events and their side tables. Only for a
 * cached run with no task in flight and nothing else of it in this round;
 * returns false when it does not apply
 * (b may then hold part of the task: the caller discards it and commits
 * the input alone). */
bool eng_task_fuse(struct ttai_engine *eng, struct store_read *rd, const struct ttai_run_id *run,
                   const struct store_event *input, struct store_batch *b, struct task_out *out,
                   int64_t now);
/* A start with its first task: runs the first task of wf, a run being
 * started (not stored yet, not cached), over its WorkflowStarted event, and
 * adds to b (which holds the start's own operations: the run, its
 * execution, its timeout timer) that event, the task's events and their
 * side tables, so that the start and the first task commit together. On
 * success the run is cached and in flight: the caller finishes the task
 * with eng_task_finish once b is durable, or removes the run when b was
 * refused. On failure (rc) b holds part of the task and wf is the caller's.
 * Engine lock held. */
int eng_start_fuse(struct ttai_engine *eng, struct ttai_wf *wf, const struct store_event *started,
                   struct store_batch *b, struct task_out *out, int64_t now, struct ttai_err *err);
/* After the group is durable: acts on one task's commit (arms timers,
 * dispatches activities, closes) or, refused, evicts the run for replay.
 * Returns the batch's rc. */
int eng_task_finish(struct ttai_engine *eng, struct task_out *out);
/* Notes that the current round holds an input batch of this run: a fused
 * task, which requires the run's exact history, would be refused. */
void eng_round_touch(struct ttai_engine *eng, const struct ttai_run_id *run);

/* Adds to b the forced close of a running run (terminated or timed out). */
int eng_terminate_run(struct ttai_engine *eng, struct store_run *rec, int type,
                      const char *reason, struct store_batch *b, struct ttai_err *err);

#endif
