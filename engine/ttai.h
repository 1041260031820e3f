/* ttai.h: the public API of the ttai engine.
 *
 * Two audiences read this header:
 *   - workflow authors, who write workflows as ordinary sequential C code
 *     against struct ttai_wf (section "Writing workflows"), and activities
 *     as plain functions (section "Activities");
 *   - embedders (the daemon, tools, tests), who open a struct ttai_engine on
 *     a data directory and start, signal, query and cancel workflows.
 *
 * Determinism. Workflow code runs in a coroutine and is re-executed from the
 * beginning whenever its state must be rebuilt (after a restart, an eviction
 * from the cache, or for a query at a past event). Every call below that
 * issues a command is matched against the recorded history on replay, so
 * workflow code must not read the wall clock, call rand(), do I/O, start
 * threads or keep mutable globals: use ttai_wf_now(), ttai_wf_random(),
 * activities, and the state block. See docs/workflows.md.
 *
 * Memory. Payloads handed to workflow code (inputs, activity results, signal
 * arguments) are owned by the run and stay valid until the run leaves
 * memory; workflow code allocates with ttai_wf_alloc() for the same
 * lifetime. Nothing workflow code allocates with malloc may be held across
 * a blocking call: a run evicted while blocked is dropped without unwinding.
 */
#ifndef TTAI_H
#define TTAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "base.h"

/* ---- Payloads ------------------------------------------------------------
 *
 * Payloads are msgpack. struct ttai_payload borrows bytes; struct ttai_buf
 * builds them (msgpack-c's packer over a growable buffer). */

struct ttai_payload {
    const uint8_t *data;
    size_t len;
};

struct ttai_buf {
    /* Fields are private; use the functions below. */
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
};

void ttai_buf_init(struct ttai_buf *buf);
void ttai_buf_release(struct ttai_buf *buf);
void ttai_buf_reset(struct ttai_buf *buf);
/* The bytes built so far, borrowed until the buffer changes. */
struct ttai_payload ttai_buf_payload(const struct ttai_buf *buf);
void ttai_buf_nil(struct ttai_buf *buf);
void ttai_buf_bool(struct ttai_buf *buf, bool v);
void ttai_buf_int(struct ttai_buf *buf, int64_t v);
void ttai_buf_double(struct ttai_buf *buf, double v);
void ttai_buf_str(struct ttai_buf *buf, const char *s);
void ttai_buf_strn(struct ttai_buf *buf, const char *s, size_t len);
void ttai_buf_array(struct ttai_buf *buf, uint32_t count);
void ttai_buf_map(struct ttai_buf *buf, uint32_t count);
/* Appends an already-encoded msgpack value. */
void ttai_buf_raw(struct ttai_buf *buf, struct ttai_payload value);

/* Reading: a payload unpacks into msgpack_object trees in a zone. */
struct ttai_reader {
    /* Fields are private. */
    msgpack_zone zone;
};
void ttai_reader_init(struct ttai_reader *r);
void ttai_reader_release(struct ttai_reader *r);
/* Unpacks p (one complete msgpack value) into *out, allocated in r.
 * TTAI_EDECODE for malformed input or trailing bytes. */
int ttai_payload_unpack(struct ttai_reader *r, struct ttai_payload p,
                        msgpack_object *out) TTAI_MUST_CHECK;
/* The value under a string key of a map object, or NULL. */
const msgpack_object *ttai_obj_get(const msgpack_object *map, const char *key);
/* Typed reads; each returns false when the object is absent or of another
 * type (integers read as doubles too). */
bool ttai_obj_int(const msgpack_object *o, int64_t *out);
bool ttai_obj_double(const msgpack_object *o, double *out);
bool ttai_obj_bool(const msgpack_object *o, bool *out);
/* A string (not NUL-terminated) borrowed from the object. */
bool ttai_obj_str(const msgpack_object *o, const char **ptr, size_t *len);
/* Copies a string object into dst (size bytes, NUL-terminated, truncated). */
bool ttai_obj_strcpy(const msgpack_object *o, char *dst, size_t size);
bool ttai_obj_str_eq(const msgpack_object *o, const char *s);

/* JSON <-> msgpack at the edges (jansson). JSON integers stay integers.
 * ttai_payload_from_json appends to buf; TTAI_EINVAL with a message that
 * says where the JSON is malformed. ttai_payload_to_json returns a string
 * the caller frees with ttai_free(), or NULL when the payload has no JSON
 * form: malformed msgpack, nesting deeper than 64, a string or key that is
 * not UTF-8, a key holding a NUL, a NaN or infinite float (docs/api.md says
 * how the rest maps). An empty payload converts to "null". */
int ttai_payload_from_json(const char *json, size_t len, struct ttai_buf *buf,
                           struct ttai_err *err) TTAI_MUST_CHECK;
char *ttai_payload_to_json(struct ttai_payload p);

/* ---- Writing workflows ---------------------------------------------------- */

struct ttai_wf;

/* Activity options: Temporal's fields. Zero means the default: retry
 * initial interval 1 s, backoff 2.0, maximum interval 100 x initial,
 * unlimited attempts. One of schedule_to_close_ms and start_to_close_ms
 * is required. */
struct ttai_activity_opts {
    int64_t schedule_to_close_ms;
    int64_t schedule_to_start_ms;
    int64_t start_to_close_ms;
    int64_t heartbeat_ms;
    int64_t retry_initial_ms;
    double retry_backoff;
    int64_t retry_max_interval_ms;
    uint32_t retry_max_attempts;            /* 0: unlimited */
    const char *const *non_retryable;       /* error types; NULL-terminated or NULL */
};

/* The outcome of an activity, a timer or a child step. */
struct ttai_result {
    int rc;                      /* 0, or TTAI_EIO (failed), TTAI_ETIMEDOUT, TTAI_ECANCELED */
    struct ttai_payload value;   /* the activity's result when rc is 0 */
    char error_type[64];         /* the failure's type when rc < 0 */
    const char *error_message;   /* borrowed from the run; "" when none */
    uint32_t attempts;
};

/* A pending activity or timer, owned by the run. */
struct ttai_future;

/* Schedules an activity and returns its future (never NULL: an invalid
 * call becomes a failed future). */
struct ttai_future *ttai_wf_activity_start(struct ttai_wf *wf, const char *type,
                                           struct ttai_payload input,
                                           const struct ttai_activity_opts *opts);
/* Schedules an activity and waits for its outcome. */
int ttai_wf_activity(struct ttai_wf *wf, const char *type, struct ttai_payload input,
                     const struct ttai_activity_opts *opts, struct ttai_result *out);
/* Asks a scheduled activity to stop: a running attempt sees
 * TTAI_ECANCELED from its next heartbeat; the future then completes with
 * TTAI_ECANCELED (or with the activity's result if it finished first). */
void ttai_wf_activity_cancel(struct ttai_wf *wf, struct ttai_future *activity);
/* Starts a durable timer. */
struct ttai_future *ttai_wf_timer_start(struct ttai_wf *wf, int64_t duration_ms);
/* Cancels a timer that has not fired (its wait then gives TTAI_ECANCELED). */
void ttai_wf_timer_cancel(struct ttai_wf *wf, struct ttai_future *timer);
/* Sleeps; 0, or TTAI_ECANCELED when the workflow's cancellation was
 * requested while it slept (in a query or signal handler: TTAI_EPERM at
 * once). */
int ttai_wf_sleep(struct ttai_wf *wf, int64_t duration_ms);
/* Waits until one of the futures is done; returns its index. In a query
 * or signal handler, which never waits: count when none is done. */
size_t ttai_wf_wait_any(struct ttai_wf *wf, struct ttai_future *const *futures, size_t count);
/* Waits until every future is done (in a query or signal handler: returns
 * at once). */
void ttai_wf_wait_all(struct ttai_wf *wf, struct ttai_future *const *futures, size_t count);
bool ttai_future_done(const struct ttai_future *f);
/* The outcome of a done future. */
const struct ttai_result *ttai_future_result(const struct ttai_future *f);

/* Waits until cond(state, arg) is true (re-checked after every signal and
 * cancellation request), timeout_ms passes (negative: no timeout), or the
 * run's cancellation request ends it. Returns true when the condition
 * holds (it wins a tie), false otherwise. A run's first cancellation
 * request ends one await that has to wait: the one waiting when it comes
 * (its timer is cancelled), or else the next one whose condition does not
 * hold, which returns at once without a timer; not after a ttai_wf_sleep
 * returned TTAI_ECANCELED for it. That await returns false
 * (ttai_wf_await_rc: TTAI_ECANCELED). Later awaits wait for their condition
 * or timeout again, so that clean-up code can still wait. The ending is
 * recorded as the marker "engine:await-cancel": histories from before it
 * replay unchanged (docs/workflows.md, "Cancellation"). */
typedef bool (*ttai_cond_fn)(const void *state, void *arg);
bool ttai_wf_await(struct ttai_wf *wf, ttai_cond_fn cond, void *arg, int64_t timeout_ms);
/* The same, saying why it returned: 0 (the condition holds),
 * TTAI_ECANCELED (the cancellation request ended it) or TTAI_ETIMEDOUT;
 * in a query or signal handler, which never waits, TTAI_EPERM when the
 * condition does not hold. */
int ttai_wf_await_rc(struct ttai_wf *wf, ttai_cond_fn cond, void *arg, int64_t timeout_ms);

/* Deterministic time: the time of the current workflow task. */
int64_t ttai_wf_now(const struct ttai_wf *wf);
/* A random number, recorded as a marker. */
uint64_t ttai_wf_random(struct ttai_wf *wf);
/* A random uuid (36 characters and a NUL), recorded as a marker. */
void ttai_wf_uuid(struct ttai_wf *wf, char out[TTAI_RUN_ID_TEXT]);
/* Runs fn once and records its result as a marker; replay returns the
 * recorded value without calling fn. The payload is owned by the run. */
typedef void (*ttai_side_effect_fn)(void *arg, struct ttai_buf *out);
struct ttai_payload ttai_wf_side_effect(struct ttai_wf *wf, ttai_side_effect_fn fn, void *arg);
/* Versioning (Temporal's patched): true in new executions (and in
 * replays of histories that recorded the patch), false when replaying a
 * history written before the patch existed. */
bool ttai_wf_patched(struct ttai_wf *wf, const char *patch_id);

/* True once cancellation of this workflow was requested. */
bool ttai_wf_cancel_requested(const struct ttai_wf *wf);
/* The run's history length, and whether the runtime suggests continuing
 * as new (at TTAI_HISTORY_SUGGEST_CAN events). */
uint64_t ttai_wf_history_length(const struct ttai_wf *wf);
bool ttai_wf_continue_as_new_suggested(const struct ttai_wf *wf);
#define TTAI_HISTORY_SUGGEST_CAN 10000
#define TTAI_HISTORY_LIMIT 50000

/* Closing the run. Each ends the workflow function: it does not return. */
void ttai_wf_complete(struct ttai_wf *wf, struct ttai_payload result) TTAI_NORETURN;
void ttai_wf_fail(struct ttai_wf *wf, const char *error_type, const char *message) TTAI_NORETURN;
void ttai_wf_canceled(struct ttai_wf *wf) TTAI_NORETURN;
void ttai_wf_continue_as_new(struct ttai_wf *wf, struct ttai_payload input) TTAI_NORETURN;

/* Memory that lives as long as the run is in memory. Never NULL (aborts
 * when out of memory: workflow code has no error path for it). */
void *ttai_wf_alloc(struct ttai_wf *wf, size_t size);
/* A copy of a payload with the run's lifetime. */
struct ttai_payload ttai_wf_keep(struct ttai_wf *wf, struct ttai_payload p);
/* Identity of the run. */
const char *ttai_wf_id(const struct ttai_wf *wf);
const char *ttai_wf_namespace(const struct ttai_wf *wf);
/* True while the code is being replayed from history (for logging only:
 * behaviour must not depend on it). */
bool ttai_wf_replaying(const struct ttai_wf *wf);

/* ---- Registering workflow types -------------------------------------------- */

/* Signal handlers change the state; the workflow function reacts to it
 * (ttai_wf_await). They run as the signal is delivered, outside the
 * workflow function, so they neither wait nor issue commands: an activity,
 * a timer or a sleep fails with TTAI_EPERM, an await returns TTAI_EPERM
 * unless its condition already holds, wait_any and wait_all return at
 * once, cancelling a future does nothing, and random, uuid, side effects
 * and patches give 0, "", an empty payload and false. They must not close
 * the run (the engine aborts, as for a query). */
typedef void (*ttai_signal_fn)(struct ttai_wf *wf, void *state, struct ttai_payload args);
/* Query handlers read the state and write the answer; any command they try
 * fails with TTAI_EPERM, and they never wait (an await returns TTAI_EPERM,
 * wait_any and wait_all return at once: check ttai_future_done, as the
 * result of a future that is not done reads as 0). They must not close
 * the run (ttai_wf_complete, _fail, _canceled, _continue_as_new do not
 * return, and the engine aborts on one from a query). Return 0, or a
 * negative code with err filled. */
typedef int (*ttai_query_fn)(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                             struct ttai_buf *answer, struct ttai_err *err);
/* The workflow function: runs in a coroutine; state is zeroed memory of
 * state_size bytes. Returning completes the workflow with a nil result. */
typedef void (*ttai_workflow_fn)(struct ttai_wf *wf, void *state, struct ttai_payload input);

struct ttai_signal_def {
    const char *name;
    ttai_signal_fn handle;
};

struct ttai_query_def {
    const char *name;
    ttai_query_fn answer;
};

struct ttai_workflow_def {
    const char *type;
    ttai_workflow_fn run;
    size_t state_size;
    const struct ttai_signal_def *signals;   /* terminated by a {NULL} entry, or NULL */
    const struct ttai_query_def *queries;    /* terminated by a {NULL} entry, or NULL */
};

/* ---- Activities --------------------------------------------------------- */

struct ttai_activity_ctx;

/* An activity: runs on the activity pool. Writes its result into out and
 * returns 0, or returns a negative code after ttai_activity_fail(). */
typedef int (*ttai_activity_fn)(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                                struct ttai_buf *out);

/* Records progress (details: msgpack, copied) and proves the attempt is
 * alive. Returns 0, or TTAI_ECANCELED when the attempt should stop: its
 * workflow asked to cancel it, or one of its timeouts passed (its outcome
 * is then decided without it, and what it returns is ignored). */
int ttai_activity_heartbeat(struct ttai_activity_ctx *ctx, struct ttai_payload details);
/* The details of the last heartbeat of the previous attempt (empty on the
 * first attempt, or when it sent none). Valid during the attempt. */
struct ttai_payload ttai_activity_last_details(const struct ttai_activity_ctx *ctx);
/* Asks, with a failure, for the next attempt after delay_ms instead of the
 * policy's backoff (an HTTP Retry-After, say). */
void ttai_activity_set_retry_delay(struct ttai_activity_ctx *ctx, int64_t delay_ms);

struct ttai_activity_def {
    const char *type;
    ttai_activity_fn run;
};

uint32_t ttai_activity_attempt(const struct ttai_activity_ctx *ctx);
/* "<workflow id>/<run id>/<seq>": stable across attempts (idempotency). */
const char *ttai_activity_idempotency_key(const struct ttai_activity_ctx *ctx);
/* The namespace of the workflow that scheduled the activity. */
const char *ttai_activity_namespace(const struct ttai_activity_ctx *ctx);
/* Marks the attempt failed with an error type and message; returns
 * TTAI_EIO so that `return ttai_activity_fail(...)` reads naturally.
 * retryable false makes the failure final whatever the policy says. */
int ttai_activity_fail(struct ttai_activity_ctx *ctx, const char *error_type, bool retryable,
                       const char *fmt, ...) TTAI_PRINTF(4, 5);

/* A registry of workflow and activity types, shared by engines and tools. */
struct ttai_registry {
    const struct ttai_workflow_def *const *workflows;   /* NULL-terminated */
    const struct ttai_activity_def *const *activities;  /* NULL-terminated */
};

/* ---- The engine ------------------------------------------------------------ */

struct ttai_engine;

/* Where time comes from. The default reads the real clock; tests pass a
 * virtual one (see ttai_testenv in engine/testenv.c). */
struct ttai_clock {
    int64_t (*now_ms)(void *arg);
    void *arg;
};

struct ttai_engine_opts {
    const char *data_dir;                 /* default "./ttai-data" */
    const struct ttai_registry *registry;
    struct ttai_clock clock;              /* zero: the real clock */
    size_t cache_max;                     /* runs kept in memory; 0: 10000 */
    size_t activity_threads;              /* 0: 4 */
    size_t map_bytes_max;                 /* 0: storage default */
    bool no_sync;                         /* tests only: no fsync (store_opts) */
    /* A query to a run that has not run its first workflow task (just
     * started, or just continued as new) waits up to this long (real time)
     * for that task, so that it answers from the state the workflow set up
     * rather than the zeroed one (Temporal waits likewise). 0: 5000 ms;
     * negative: never wait (the virtual-clock test environment, where the
     * caller itself drives the tasks). */
    int64_t query_first_task_wait_ms;
};

int ttai_engine_open(struct ttai_engine **out, const struct ttai_engine_opts *opts,
                     struct ttai_err *err) TTAI_MUST_CHECK;
/* Stops the activity pool (running attempts finish first) and closes the
 * store. NULL: no-op. */
void ttai_engine_close(struct ttai_engine *eng);

enum ttai_id_conflict { TTAI_CONFLICT_FAIL = 0, TTAI_CONFLICT_USE_EXISTING, TTAI_CONFLICT_TERMINATE };
enum ttai_id_reuse { TTAI_REUSE_ALLOW = 0, TTAI_REUSE_REJECT, TTAI_REUSE_ALLOW_FAILED_ONLY };

struct ttai_start_opts {
    int id_conflict;                      /* enum ttai_id_conflict */
    int id_reuse;                         /* enum ttai_id_reuse */
    int64_t execution_timeout_ms;         /* 0: none; spans continue-as-new */
    int64_t run_timeout_ms;               /* 0: none */
};

/* Starts a workflow; returns once WorkflowStarted is durable. run_id_out
 * (optional) gets the new run's id (or the existing one with
 * TTAI_CONFLICT_USE_EXISTING). Errors: TTAI_ENOTFOUND (unknown type),
 * TTAI_EEXIST (id conflict or reuse refused), TTAI_EINVAL, TTAI_ETOOBIG,
 * storage errors. */
int ttai_engine_start(struct ttai_engine *eng, const char *ns, const char *type,
                      const char *workflow_id, struct ttai_payload input,
                      const struct ttai_start_opts *opts, struct ttai_run_id *run_id_out,
                      struct ttai_err *err) TTAI_MUST_CHECK;
/* The same start without waiting for the commit or for the engine, for a
 * caller that drives many starts from one thread (`ttai-bench activities`;
 * ttaid's HTTP loop uses ttai_engine_start_async below): everything up to
 * the commit runs in the call, which then returns TTAI_OK with *op set, and
 * durable_cb(arg) is called once, on the store's writer thread, when the
 * start is durable or refused; it must only hand the op back to the
 * caller's thread, which then calls ttai_engine_start_end. A start answered
 * without a commit (TTAI_CONFLICT_USE_EXISTING on a running workflow)
 * returns TTAI_OK with *op NULL and run_id_out set; an error returns its
 * code with *op NULL and no callback. The call never waits for the engine
 * lock (the engine thread holds it while it runs workflow tasks, which may
 * replay long histories): when the lock is taken it returns TTAI_EBUSY
 * having done nothing, and the caller makes the start with
 * ttai_engine_start on a thread that may wait. */
struct ttai_start_op;
typedef void (*ttai_start_durable_fn)(void *arg);
int ttai_engine_start_begin(struct ttai_engine *eng, const char *ns, const char *type,
                            const char *workflow_id, struct ttai_payload input,
                            const struct ttai_start_opts *opts, ttai_start_durable_fn durable_cb,
                            void *arg, struct ttai_start_op **op, struct ttai_run_id *run_id_out,
                            struct ttai_err *err) TTAI_MUST_CHECK;
/* Finishes an asynchronous start after its durable_cb (frees op): returns
 * what ttai_engine_start would have returned, with the new run's id.
 * Without wait, returns TTAI_EBUSY having done nothing (op kept) when the
 * engine lock is taken; call it again, with wait, from a thread that may
 * wait. */
int ttai_engine_start_end(struct ttai_engine *eng, struct ttai_start_op *op, bool wait,
                          struct ttai_run_id *run_id_out, struct ttai_err *err) TTAI_MUST_CHECK;
/* A start made by the thread that polls the engine, in its next round,
 * for a caller that must not wait (ttaid's HTTP loop). The checks that
 * need neither the lock nor the store are made here: a malformed name or
 * id (TTAI_EINVAL), an unknown type (TTAI_ENOTFOUND), an input over the
 * limit (TTAI_ETOOBIG) and TTAI_ENOMEM return at once, queueing nothing.
 * Otherwise the arguments are copied, TTAI_OK returns, and the poller
 * makes the start as ttai_engine_start does, its batch committed with the
 * round's, and calls ended_cb(arg, rc, run, err) on the polling thread
 * with what ttai_engine_start would have returned: run is the new run's id
 * (or the running one's, with TTAI_CONFLICT_USE_EXISTING) when rc is 0,
 * started says which (true: this start made the run), err is set when rc
 * is not 0. Starts of one workflow id take turns: each is made once the
 * one queued before it is durable or refused, and sees its run. A start
 * whose commit a condition refuses (the execution changed meanwhile) is
 * made again, up to eight times. ended_cb must only hand the outcome back. A
 * poller that waits in ttai_engine_wait is woken. ttai_engine_close ends
 * the starts still queued with TTAI_ECLOSED, and those in a round with
 * their outcome, calling ended_cb on the closing thread: ended_cb and arg
 * must stay valid until ttai_engine_close returns. */
typedef void (*ttai_start_ended_fn)(void *arg, int rc, const struct ttai_run_id *run,
                                    bool started, const struct ttai_err *err);
int ttai_engine_start_async(struct ttai_engine *eng, const char *ns, const char *type,
                            const char *workflow_id, struct ttai_payload input,
                            const struct ttai_start_opts *opts, ttai_start_ended_fn ended_cb,
                            void *arg, struct ttai_err *err) TTAI_MUST_CHECK;
/* Delivers a signal to the current run (run NULL) or a given run; returns
 * once SignalReceived is durable. Errors: TTAI_ENOTFOUND (unknown workflow
 * or signal name: nothing is recorded), TTAI_ECLOSED (run closed). */
int ttai_engine_signal(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                       const struct ttai_run_id *run, const char *name, struct ttai_payload args,
                       struct ttai_err *err) TTAI_MUST_CHECK;
/* Signals the workflow if it is running, or starts it (type, input, opts)
 * with the signal delivered first, atomically. With opts->id_conflict
 * TTAI_CONFLICT_TERMINATE a running run is terminated instead and the new
 * one started with the signal, in the same batch; any other id_conflict
 * signals a running run. Errors as start and signal. */
int ttai_engine_signal_with_start(struct ttai_engine *eng, const char *ns, const char *type,
                                  const char *workflow_id, struct ttai_payload input,
                                  const struct ttai_start_opts *opts, const char *name,
                                  struct ttai_payload args, struct ttai_run_id *run_id_out,
                                  struct ttai_err *err) TTAI_MUST_CHECK;
/* Answers a query from the run's state (replaying it when not cached).
 * The answer is appended to answer. Never journaled. */
int ttai_engine_query(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                      const struct ttai_run_id *run, const char *name, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err) TTAI_MUST_CHECK;
/* Requests cancellation (cooperative) / terminates (forced) of the current
 * run (run NULL) or of a given run, which must be running. Errors:
 * TTAI_ENOTFOUND (unknown workflow, or a run it does not have),
 * TTAI_ECLOSED (the run is closed). */
int ttai_engine_cancel(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                       const struct ttai_run_id *run, const char *reason,
                       struct ttai_err *err) TTAI_MUST_CHECK;
int ttai_engine_terminate(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                          const struct ttai_run_id *run, const char *reason,
                          struct ttai_err *err) TTAI_MUST_CHECK;

/* What describe tells of a run. */
struct ttai_run_info {
    struct ttai_run_id run_id;
    char type[128];
    int status;                           /* enum store_run_status */
    int64_t start_ms, close_ms;
    uint64_t history_length;
    uint32_t pending_activities;
    uint32_t pending_timers;
    bool blocked;                         /* non-determinism: waiting for fixed code */
    char blocked_reason[TTAI_ERR_MSG_MAX];
    uint64_t blocked_event_id;
};
int ttai_engine_describe(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                         const struct ttai_run_id *run, struct ttai_run_info *out,
                         struct ttai_err *err) TTAI_MUST_CHECK;
/* Whether running runs are blocked by non-determinism, for a list, which
 * cannot replay every run it shows. For each of q[0..count): blocked when
 * the run is cached and its code disagreed with its history; a run not
 * cached is loaded (replayed) only when `recorded` says its last event is
 * the TaskFailed that records such a disagreement, so that code deployed
 * since is seen. A run nothing has replayed since a deploy that broke it
 * reads as not blocked until a task or a describe meets it. Takes the
 * engine's lock for each run in turn: call it without a store read open. */
struct ttai_blocked_query {
    struct ttai_run_id run;
    bool recorded;                        /* in: last event is TaskFailed(NonDeterminism) */
    bool blocked;                         /* out, with the two below */
    char reason[TTAI_ERR_MSG_MAX];
    uint64_t event_id;
};
void ttai_engine_blocked(struct ttai_engine *eng, struct ttai_blocked_query *q, size_t count);
/* A pending activity of a run, as describe shows it (Temporal's
 * PendingActivityInfo). */
struct ttai_pending_activity {
    uint64_t seq;                         /* its sequence number in the run */
    char type[128];                       /* activity type */
    const char *state;                    /* "scheduled", "started" or "backing_off" */
    uint32_t attempt;                     /* the current (or next) attempt, from 1 */
    int64_t scheduled_ms;                 /* when the workflow scheduled it */
    int64_t next_attempt_ms;              /* backing_off: when the next attempt starts */
    int64_t started_ms;                   /* started: when this attempt started */
    int64_t last_heartbeat_ms;            /* 0: no heartbeat in this attempt */
    char last_failure_type[64];           /* "" before any failure */
    char last_failure_message[256];
    uint8_t *heartbeat_details;           /* msgpack (this attempt's last, else the previous
                                             attempt's); owned, freed with the array */
    size_t heartbeat_details_len;
};
/* The pending activities of the current run of workflow_id, in sequence
 * order: *out (freed with ttai_pending_activities_free) and *count. */
int ttai_engine_pending_activities(struct ttai_engine *eng, const char *ns,
                                   const char *workflow_id, struct ttai_pending_activity **out,
                                   size_t *count, struct ttai_err *err) TTAI_MUST_CHECK;
void ttai_pending_activities_free(struct ttai_pending_activity *list, size_t count);

/* The result payload of a closed run (appended to out), or TTAI_EBUSY while
 * it runs; a failed run gives TTAI_EIO with its error in err. */
int ttai_engine_result(struct ttai_engine *eng, const char *ns, const char *workflow_id,
                       struct ttai_buf *out, struct ttai_err *err) TTAI_MUST_CHECK;

/* Runs every workflow task, timer and activity completion that is ready
 * now, once. Returns the number of items processed (0: idle), or a
 * negative code. *next_timer_ms (optional) gets the earliest pending timer
 * or INT64_MAX. */
int ttai_engine_poll(struct ttai_engine *eng, int64_t *next_timer_ms) TTAI_MUST_CHECK;
/* Waits (up to timeout_ms real time) until there may be work: an activity
 * outcome arrived, or a start, signal or other call made a run ready. An
 * engine thread loops on ttai_engine_poll() and this (see ttaid). */
void ttai_engine_wait(struct ttai_engine *eng, int64_t timeout_ms);

/* Called once a run's close is durable (completed, failed, canceled,
 * terminated, timed out, continued as new), on the thread that made it
 * durable: the polling thread, or that of the call that closed it
 * (terminate, a start or signal-with-start with terminate_existing). status
 * is an enum store_run_status. close_ev is the closing event as the history
 * holds it (store.h: its type, result payload, failure type and message),
 * borrowed for the call, when the run's own code closed it; NULL when the
 * engine did (terminated, timed out), and then only the history has it.
 * Keep it short; it must not call back into the engine. Set before
 * polling. */
struct store_event;
typedef void (*ttai_close_fn)(void *arg, const char *ns, const char *workflow_id,
                              const struct ttai_run_id *run, int status,
                              const struct store_event *close_ev);
void ttai_engine_on_close(struct ttai_engine *eng, ttai_close_fn close_cb, void *arg);
/* Called on the polling thread around each batch of hand-backs that a
 * poll makes (the close notifications and ttai_engine_start_async
 * outcomes of a round it finishes or prepares): with begin true before
 * the first, false after the last. An embedder that wakes a thread of its
 * own for each can wake it once per batch instead. Keep it short; it must
 * not call back into the engine. Set before polling. */
typedef void (*ttai_batch_fn)(void *arg, bool begin);
void ttai_engine_on_batch(struct ttai_engine *eng, ttai_batch_fn batch_cb, void *arg);

/* The engine's store, for read-only listing and history (store.h reads;
 * never writes). Borrowed for the engine's lifetime. */
struct store *ttai_engine_store(struct ttai_engine *eng);
/* The registry the engine runs (its opts.registry), e.g. to replay one of
 * its runs with ttai_replay_store(). Borrowed for the engine's lifetime. */
const struct ttai_registry *ttai_engine_registry(const struct ttai_engine *eng);

/* True when no activity attempt is running or queued. */
bool ttai_engine_activities_idle(struct ttai_engine *eng);
/* Waits (up to timeout_ms real time) for an activity completion. */
void ttai_engine_wait_activity(struct ttai_engine *eng, int64_t timeout_ms);

/* A latency histogram: samples per bucket (not cumulative). Bucket
 * i < TTAI_LATENCY_BUCKETS - 1 holds the samples up to
 * ttai_latency_bounds_ns[i] (50 us, 100 us, 200 us, 500 us, 1 ms, ... 1 s:
 * each bound 2 or 2.5 times the last); the last bucket the slower ones.
 * The store's commit latency (store_counters) has the same buckets. */
#define TTAI_LATENCY_BUCKETS 15
#define TTAI_GROUP_BUCKETS 15
extern const uint64_t *const ttai_latency_bounds_ns;
struct ttai_latency_hist {
    uint64_t buckets[TTAI_LATENCY_BUCKETS];
    uint64_t count;
    uint64_t sum_ns;
};

/* Counters for metrics and tests. */
struct ttai_engine_stats {
    uint64_t tasks;                       /* workflow tasks run */
    uint64_t tasks_fused;                 /* of which committed with their input */
    uint64_t replays;                     /* runs rebuilt from history */
    uint64_t replayed_events;
    uint64_t cache_hits;
    uint64_t evictions;
    size_t cached;                        /* runs in memory now */
    uint64_t polls;                       /* ttai_engine_poll calls that did work */
    size_t starts_queued;                 /* ttai_engine_start_async: waiting for a round */
    uint64_t commits;                     /* storage: group commits (syncs) */
    uint64_t batches;                     /* storage: batches made durable */
    uint64_t batches_refused;             /* storage: batches refused by a condition */
    uint64_t commit_ns_total;             /* storage: time in commits */
    /* Workflow tasks: from the run becoming ready (an input durable, an
     * activity outcome or a due timer taken by the engine) to the task's
     * batch durable. */
    struct ttai_latency_hist task_latency;
    uint64_t activity_attempts;           /* attempts ended (an outcome reached the engine) */
    uint64_t activity_failures;           /* of which failed (the activity's error) */
    uint64_t activity_timeouts;           /* of which decided by a timeout */
    uint64_t timers_fired;                /* workflow timers (TimerFired made durable) */
    /* From a workflow timer's due time to its TimerFired durable. */
    struct ttai_latency_hist timer_lateness;
    /* storage: batches per group commit; bucket i < TTAI_GROUP_BUCKETS - 1
     * counts the commits of at most 2^i batches (more than 2^(i-1)), the
     * last one the larger commits. */
    uint64_t commit_group_batches[TTAI_GROUP_BUCKETS];
    /* storage: each group commit (mdb_txn_commit, its syncs included). */
    struct ttai_latency_hist commit_latency;
};
void ttai_engine_stats_get(struct ttai_engine *eng, struct ttai_engine_stats *out);
/* Activity dispatch latencies in ns (from the durable schedule to a worker
 * starting the attempt) of up to the last 65,536 attempts, unordered.
 * Returns how many were copied into out (at most max). */
size_t ttai_engine_dispatch_latencies(struct ttai_engine *eng, int64_t *out, size_t max);

/* ---- Test environment -----------------------------------------------------
 *
 * An engine on a virtual clock that only moves when told to, and skips
 * straight to the next timer when everything is waiting: a week of a
 * 10-second monitor loop runs in well under a second. */
struct ttai_testenv;

/* Opens an engine on dir with the clock at start_ms. */
int ttai_testenv_open(struct ttai_testenv **out, const char *dir,
                      const struct ttai_registry *registry, int64_t start_ms,
                      struct ttai_err *err) TTAI_MUST_CHECK;
void ttai_testenv_close(struct ttai_testenv *env);
struct ttai_engine *ttai_testenv_engine(struct ttai_testenv *env);
int64_t ttai_testenv_now(const struct ttai_testenv *env);
/* Runs tasks and activities until nothing is ready, without moving time. */
int ttai_testenv_settle(struct ttai_testenv *env) TTAI_MUST_CHECK;
/* Moves time forward by ms, firing every timer due on the way in order and
 * settling after each. */
int ttai_testenv_advance(struct ttai_testenv *env, int64_t ms) TTAI_MUST_CHECK;
/* Closes and reopens the engine on the same directory (a clean restart;
 * the clock keeps its time). */
int ttai_testenv_restart(struct ttai_testenv *env, struct ttai_err *err) TTAI_MUST_CHECK;
/* Closes the engine, lets ms of virtual time pass with nothing running (an
 * outage: due timers and schedule fires are missed meanwhile), reopens. */
int ttai_testenv_outage(struct ttai_testenv *env, int64_t ms, struct ttai_err *err) TTAI_MUST_CHECK;
/* The same, deploying other code (registry, NULL: keep) and another cache
 * size (0: keep): how a test upgrades workflow code or forces eviction. */
int ttai_testenv_redeploy(struct ttai_testenv *env, const struct ttai_registry *registry,
                          size_t cache_max, struct ttai_err *err) TTAI_MUST_CHECK;

/* ---- Offline replay ------------------------------------------------------ */

/* Replays a stored run read-only with the registry's code, up to event
 * until_event_id (0: all). Returns 0 when the code reproduces the recorded
 * commands, TTAI_ENONDET with err saying which event, the expected and the
 * actual command. With query_name, answers that query as of the last
 * replayed event into answer. */
int ttai_replay(const char *data_dir, const struct ttai_registry *registry, const char *ns,
                const char *workflow_id, const struct ttai_run_id *run, uint64_t until_event_id,
                const char *query_name, struct ttai_payload query_args, struct ttai_buf *answer,
                struct ttai_err *err) TTAI_MUST_CHECK;
/* The same on a store the caller opened (read-only is enough). A process
 * must not open one data directory twice: tools use this form. */
struct store;
int ttai_replay_store(struct store *store, const struct ttai_registry *registry, const char *ns,
                      const char *workflow_id, const struct ttai_run_id *run,
                      uint64_t until_event_id, const char *query_name,
                      struct ttai_payload query_args, struct ttai_buf *answer,
                      struct ttai_err *err) TTAI_MUST_CHECK;

#endif /* TTAI_H */
