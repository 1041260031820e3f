/* store.h: the ttai journal, an LMDB environment in a data directory.
 *
 * This header is the storage module's manual. The engine reaches LMDB only
 * through it. What it offers:
 *
 *   - tables (docs/storage.md): meta, exec, run, hist, timer, act, sched and
 *     the visibility indexes vis_status, vis_type, vis_start;
 *   - the history event codec (msgpack): store_event_encode/_decode;
 *   - a write path with group commit: callers build a struct store_batch of
 *     operations and conditions and submit it; one writer thread coalesces
 *     every waiting batch into one LMDB transaction and one sync, and runs
 *     each batch's callback only after its data is durable (or refused);
 *   - read transactions (struct store_read) that see a consistent snapshot
 *     and never block the writer.
 *
 * Ownership and lifetime. Values that reads return (event payloads, names,
 * activity and schedule records) are *borrowed* from LMDB's map: they stay
 * valid until store_read_end() of the read that produced them, and must not
 * be modified. Copy what must outlive the read.
 *
 * Errors. Every function returns 0 or a negative TTAI_E* code, and fills the
 * optional struct ttai_err with a message. A failed commit (I/O error, full
 * disk, failed sync) latches the store: every later write is refused with
 * TTAI_EFATAL until the store is closed and reopened. A failed sync is never
 * retried: the kernel may already have dropped the dirty pages.
 *
 * Threads. All functions are thread-safe. A thread must not begin a second
 * read while it holds one (the map-resize lock prefers the writer).
 */
#ifndef TTAI_STORE_H
#define TTAI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

/* Changing an on-disk encoding or a key layout? Bump STORE_SCHEMA_VERSION,
 * write the migration in store.c and update docs/storage.md and
 * tools/ttai-history. */
#define STORE_SCHEMA_VERSION 2

#define STORE_NS_MAX 64             /* bytes in a namespace name */
#define STORE_WORKFLOW_ID_MAX 255   /* bytes in a workflow id */
#define STORE_TYPE_MAX 127          /* bytes in a workflow type name */
#define STORE_SCHEDULE_ID_MAX 255   /* bytes in a schedule id */
#define STORE_EVENT_BYTES_MAX (4u << 20) /* an encoded event, payloads included */
#define STORE_RECORD_BYTES_MAX (4u << 20) /* an activity or schedule record */
#define STORE_NON_RETRYABLE_MAX 8   /* non-retryable error types per activity */

/* ---- Borrowed byte ranges --------------------------------------------- */

/* A byte range that someone else owns (see each use for how long it lives).
 * Strings in it are not NUL-terminated: print with "%.*s". */
struct store_bytes {
    const uint8_t *data;
    size_t len;
};

/* ---- History events ------------------------------------------------------ */

#define STORE_EVENT_TYPE_MAP(X)                                                \
    X(WORKFLOW_STARTED, 1, "WorkflowStarted")                                 \
    X(TASK_COMPLETED, 2, "TaskCompleted")                                     \
    X(ACTIVITY_SCHEDULED, 3, "ActivityScheduled")                             \
    X(ACTIVITY_COMPLETED, 4, "ActivityCompleted")                             \
    X(ACTIVITY_FAILED, 5, "ActivityFailed")                                   \
    X(ACTIVITY_TIMED_OUT, 6, "ActivityTimedOut")                              \
    X(ACTIVITY_CANCEL_REQUESTED, 7, "ActivityCancelRequested")                \
    X(ACTIVITY_CANCELED, 8, "ActivityCanceled")                               \
    X(TIMER_STARTED, 9, "TimerStarted")                                       \
    X(TIMER_FIRED, 10, "TimerFired")                                          \
    X(TIMER_CANCELED, 11, "TimerCanceled")                                    \
    X(SIGNAL_RECEIVED, 12, "SignalReceived")                                  \
    X(MARKER_RECORDED, 13, "MarkerRecorded")                                  \
    X(CANCEL_REQUESTED, 14, "CancelRequested")                                \
    X(WORKFLOW_COMPLETED, 15, "WorkflowCompleted")                            \
    X(WORKFLOW_FAILED, 16, "WorkflowFailed")                                  \
    X(WORKFLOW_CANCELED, 17, "WorkflowCanceled")                              \
    X(WORKFLOW_TERMINATED, 18, "WorkflowTerminated")                          \
    X(CONTINUED_AS_NEW, 19, "ContinuedAsNew")                                 \
    X(TASK_FAILED, 20, "TaskFailed")                                          \
    X(WORKFLOW_TIMED_OUT, 21, "WorkflowTimedOut")

enum store_event_type {
#define STORE__EVENT_ENUM(name, value, text) STORE_EV_##name = value,
    STORE_EVENT_TYPE_MAP(STORE__EVENT_ENUM)
#undef STORE__EVENT_ENUM
    STORE_EV__COUNT /* one past the largest type */
};

/* "WorkflowStarted" for STORE_EV_WORKFLOW_STARTED; NULL for an unknown type. */
const char *store_event_type_name(int type);
/* The type for a name, or 0 when the name is unknown. */
int store_event_type_parse(const char *name);
/* True for the events that close a run (completed, failed, canceled,
 * terminated, timed out, continued as new). */
bool store_event_type_closes_run(int type);

/* Retry policy and timeouts of an activity (ActivityScheduled). Zero means
 * "not set": the engine applies Temporal's defaults. */
struct store_activity_opts {
    int64_t schedule_to_close_ms;
    int64_t schedule_to_start_ms;
    int64_t start_to_close_ms;
    int64_t heartbeat_ms;
    int64_t initial_interval_ms;
    double backoff;                   /* backoff coefficient */
    int64_t max_interval_ms;
    uint32_t max_attempts;            /* 0: unlimited */
    uint32_t non_retryable_count;
    struct store_bytes non_retryable[STORE_NON_RETRYABLE_MAX]; /* error types */
};

/* One history event. Attributes not used by a type are zero/empty; which
 * ones each type uses is listed in docs/storage.md. On decode, byte ranges
 * point into the encoded buffer (borrowed from it). */
struct store_event {
    uint64_t event_id;        /* dense from 1 per run; the key, not the value */
    int type;                 /* enum store_event_type */
    int64_t time_ms;          /* engine time, ms since the Unix epoch */
    uint64_t seq;             /* command sequence: activity, timer, marker */
    uint64_t ref_event_id;    /* TaskCompleted/TaskFailed: last event seen */
    uint32_t attempt;         /* activity outcome: attempts made */
    int64_t fire_ms;          /* TimerStarted: when it fires; deadlines */
    struct store_bytes name;  /* workflow/activity type, signal or marker name */
    struct store_bytes payload;         /* input, result, signal or marker value (msgpack) */
    struct store_bytes failure_type;    /* error type, timeout kind, close reason kind */
    struct store_bytes failure_message; /* error text, cancel or terminate reason */
    struct store_bytes details;         /* heartbeat or non-determinism details */
    struct ttai_run_id run_id;          /* continued-from (started) or -to (continued) */
    int64_t exec_timeout_ms;            /* WorkflowStarted */
    int64_t run_timeout_ms;             /* WorkflowStarted */
    bool has_opts;                      /* ActivityScheduled carries opts */
    struct store_activity_opts opts;
};

/* Appends the msgpack encoding of ev (its event_id is not encoded: it is the
 * key) to the caller's growable buffer (buf, len, cap; grown with ttai_realloc).
 * TTAI_EINVAL for an unknown type, TTAI_ETOOBIG past STORE_EVENT_BYTES_MAX,
 * TTAI_ENOMEM. On failure *len is unchanged. */
int store_event_encode(const struct store_event *ev, uint8_t **buf, size_t *len,
                       size_t *cap, struct ttai_err *err) TTAI_MUST_CHECK;

/* Decodes one event from data[0..len). Byte ranges in *out point into data.
 * Unknown fields are skipped; malformed or truncated input, or trailing
 * bytes, give TTAI_EDECODE and never read outside data. out->event_id is
 * left 0 (the caller knows the key). */
int store_event_decode(const uint8_t *data, size_t len, struct store_event *out,
                       struct ttai_err *err) TTAI_MUST_CHECK;

/* Whether data[0..len) is exactly one complete msgpack value, checked
 * without allocating and without reading outside it; every container's
 * count is at most the bytes left. msgpack_unpack() allocates by the counts
 * it reads before it finds the input short: a payload from outside goes
 * through this first (ttai_payload_unpack). */
bool store_msgpack_valid(const uint8_t *data, size_t len);

/* ---- Runs and executions ------------------------------------------------- */

enum store_run_status {
    STORE_RUN_RUNNING = 1,
    STORE_RUN_COMPLETED = 2,
    STORE_RUN_FAILED = 3,
    STORE_RUN_CANCELED = 4,
    STORE_RUN_TERMINATED = 5,
    STORE_RUN_CONTINUED_AS_NEW = 6,
    STORE_RUN_TIMED_OUT = 7,
};
#define STORE_RUN_STATUS_MAX 7

/* "Running", "Completed", ...; NULL for an unknown status. */
const char *store_run_status_name(int status);
/* The status as the API, the CLI and messages name it ("continued_as_new");
 * "unknown" for a value out of range. */
const char *store_run_status_text(int status);
/* The status for a name (any case), or 0. */
int store_run_status_parse(const char *name);

/* One run of a workflow execution (table run). */
struct store_run {
    struct ttai_run_id run_id;
    char ns[STORE_NS_MAX + 1];
    char workflow_id[STORE_WORKFLOW_ID_MAX + 1];
    char type[STORE_TYPE_MAX + 1];
    int status;                   /* enum store_run_status */
    int64_t start_ms;
    int64_t close_ms;             /* 0 while running */
    struct ttai_run_id prev_run;  /* continued from; zero for the first run */
    struct ttai_run_id next_run;  /* continued as; zero unless continued */
    uint64_t last_event_id;       /* filled by reads; ignored by writes */
};

/* ---- The store ---------------------------------------------------------- */

struct store;

struct store_opts {
    const char *dir;              /* data directory; created when missing (rw) */
    bool read_only;               /* open for inspection: no writer, no writes */
    size_t map_bytes_initial;     /* 0: 256 MiB, or the current size if larger */
    size_t map_bytes_max;         /* 0: 1 TiB; growth stops here (ENOSPC) */
    size_t group_events_max;      /* 0: 20000 events per group commit */
    bool no_sync;                 /* commits reach the OS but are not fsynced:
                                     only for test environments, where a
                                     power loss need not be survived */
    int64_t checkpoint_ms;        /* 0: 50 ms. How often data.mdb is synced and
                                     the write-ahead log's checkpoint moved on */
    const char *boot_id;          /* NULL: the kernel's boot id. Tests set
                                     another to make an open recover as after
                                     a machine restart (docs/storage.md) */
    bool inline_commits;          /* a submitter that finds the writer idle
                                     and the queue empty commits its batches
                                     itself (callbacks then run on its thread,
                                     before the submit returns); meant with
                                     no_sync, where a commit costs less than
                                     the two thread wake-ups it saves */
    int64_t hold_wait_ms;         /* 0: STORE_HOLD_WAIT_MS. How long a held
                                     group waits for its next batch before
                                     it commits what it has */
    uint64_t recent_merge_stretches; /* 0: 2048. Appends wait in the recent
                                     table until this many stretches (one
                                     run's events of one batch) are there;
                                     the next group then merges them into
                                     the history (docs/storage.md) */
};

/* Opens (and creates when read-write) the store in opts->dir, checks the
 * schema version and, when read-write, starts the writer thread.
 * On success *out is a new store the caller closes with store_close().
 * Errors: TTAI_EINVAL, TTAI_EIO (with the OS reason), TTAI_EVERSION (the
 * directory was written by a newer schema), TTAI_ENOTFOUND (read-only and
 * nothing is there), TTAI_ENOMEM. */
int store_open(struct store **out, const struct store_opts *opts,
               struct ttai_err *err) TTAI_MUST_CHECK;

/* Drains the write queue (every submitted batch gets its callback), stops
 * the writer and closes the environment. No read may be open. NULL: no-op. */
void store_close(struct store *store);

/* The data directory. Borrowed for the store's lifetime. */
const char *store_dir(const struct store *store);

/* Latency histograms: how many samples fell in each bucket (not
 * cumulative). Bucket i < STORE_LATENCY_BUCKETS - 1 holds the samples up to
 * store_latency_bounds_ns[i] (50 us to 1 s, each bound 2 or 2.5 times the
 * one before); the last bucket holds the slower ones. The engine's
 * histograms (ttai_engine_stats) use the same buckets. */
#define STORE_LATENCY_BUCKETS 15
extern const uint64_t store_latency_bounds_ns[STORE_LATENCY_BUCKETS - 1];
struct store_latency_hist {
    uint64_t buckets[STORE_LATENCY_BUCKETS];
    uint64_t count;
    uint64_t sum_ns;
};
/* The bucket of a latency of ns (negative counts as 0). */
size_t store_latency_bucket(int64_t ns);
/* Adds one sample of ns nanoseconds. */
void store_latency_add(struct store_latency_hist *h, int64_t ns);

/* Group sizes (batches per group commit): bucket i < STORE_GROUP_BUCKETS - 1
 * counts the groups of at most 2^i batches (and more than 2^(i-1)); the
 * last one the larger groups. */
#define STORE_GROUP_BUCKETS 15

/* Counters since open, for metrics and benchmarks. */
struct store_counters {
    uint64_t commits;             /* LMDB transactions committed */
    uint64_t batches;             /* batches made durable */
    uint64_t batches_refused;     /* batches whose conditions failed */
    uint64_t events;              /* events appended */
    uint64_t map_grows;
    uint64_t commit_ns_total;     /* time making groups durable: the write-ahead
                                     log's write and sync, then the LMDB commit */
    uint64_t checkpoints;         /* LMDB file syncs recorded in the log */
    uint64_t checkpoint_ns_total; /* time in them (off the commit path) */
    uint64_t wal_bytes;           /* bytes appended to the write-ahead log */
    uint64_t wal_records_replayed; /* at open: records re-applied after a stop */
    uint64_t group_batches_max;
    uint64_t recent_merges;       /* merges of the recent table into the history */
    size_t map_bytes;             /* current map size */
    uint64_t group_sizes[STORE_GROUP_BUCKETS];  /* batches per group commit */
    struct store_latency_hist commit_latency;   /* each successful group commit, sync
                                                   included (one sample per commit) */
};
void store_counters_get(struct store *store, struct store_counters *out);

/* ---- Write batches ----------------------------------------------------- */

struct store_batch;

/* A new empty batch, or NULL when out of memory. */
struct store_batch *store_batch_new(void);
/* Frees a batch the caller owns. NULL: no-op. */
void store_batch_free(struct store_batch *batch);
/* Empties a batch for reuse (keeps its memory). */
void store_batch_clear(struct store_batch *batch);
/* Number of operations and of appended events in the batch. */
size_t store_batch_ops(const struct store_batch *batch);
size_t store_batch_events(const struct store_batch *batch);

/* Conditions. They are evaluated by the writer against the state before the
 * batch is applied (after every batch committed before it); if any fails,
 * the whole batch is refused with TTAI_ECONFLICT and nothing of it is
 * written. */

/* The run exists and has this status. */
int store_batch_require_run_status(struct store_batch *batch, const struct ttai_run_id *run,
                                   int status) TTAI_MUST_CHECK;
/* The execution (ns, workflow_id) has current run *run, or does not exist
 * when run is NULL. */
int store_batch_require_exec(struct store_batch *batch, const char *ns, const char *workflow_id,
                             const struct ttai_run_id *run) TTAI_MUST_CHECK;
/* The run has exactly last_event_id events (0: none yet). */
int store_batch_require_last_event(struct store_batch *batch, const struct ttai_run_id *run,
                                   uint64_t last_event_id) TTAI_MUST_CHECK;

/* Operations, applied in the order added. Each copies its arguments: the
 * caller may reuse them at once. Errors: TTAI_EINVAL (an over-long name,
 * an unknown status), TTAI_ETOOBIG, TTAI_ENOMEM; a failed add leaves the
 * batch as it was. */

/* Creates or replaces a run record; the visibility indexes follow it. */
int store_batch_put_run(struct store_batch *batch, const struct store_run *run) TTAI_MUST_CHECK;
/* Points execution (ns, workflow_id) at run. */
int store_batch_put_exec(struct store_batch *batch, const char *ns, const char *workflow_id,
                         const struct ttai_run_id *run) TTAI_MUST_CHECK;
/* Appends an event to a run's history. The writer gives it the next event
 * id of the run (dense from 1); store_batch_event_id() tells it after the
 * commit. The run must exist when the batch commits (or be put earlier in
 * the same batch), else the batch is refused with TTAI_ENOTFOUND. */
int store_batch_append(struct store_batch *batch, const struct ttai_run_id *run,
                       const struct store_event *ev, struct ttai_err *err) TTAI_MUST_CHECK;
/* A durable timer; key (fire_ms, run, seq). kind is the engine's tag. */
int store_batch_put_timer(struct store_batch *batch, int64_t fire_ms, const struct ttai_run_id *run,
                          uint64_t seq, uint8_t kind) TTAI_MUST_CHECK;
int store_batch_del_timer(struct store_batch *batch, int64_t fire_ms, const struct ttai_run_id *run,
                          uint64_t seq) TTAI_MUST_CHECK;
/* A pending activity record (opaque to storage); key (run, seq). */
int store_batch_put_activity(struct store_batch *batch, const struct ttai_run_id *run, uint64_t seq,
                             const void *record, size_t len) TTAI_MUST_CHECK;
int store_batch_del_activity(struct store_batch *batch, const struct ttai_run_id *run,
                             uint64_t seq) TTAI_MUST_CHECK;
/* A schedule record (opaque to storage); key (ns, schedule_id). */
int store_batch_put_schedule(struct store_batch *batch, const char *ns, const char *schedule_id,
                             const void *record, size_t len) TTAI_MUST_CHECK;
int store_batch_del_schedule(struct store_batch *batch, const char *ns,
                             const char *schedule_id) TTAI_MUST_CHECK;

/* After a successful commit: the event id given to the index-th event
 * appended to this batch (0-based, in the order of store_batch_append). */
uint64_t store_batch_event_id(const struct store_batch *batch, size_t index);

/* Called on the writer thread once the batch is durable (rc 0) or refused
 * (rc < 0, err says why); with inline_commits possibly on the submitting
 * thread, inside store_submit, so it must not take a lock the submitter
 * holds. Keep it short: hand work to another thread. The store frees the
 * batch when the callback returns. */
typedef void (*store_commit_fn)(struct store_batch *batch, int rc, const struct ttai_err *err,
                                void *arg);

/* Queues batch for the next group commit; ownership of batch moves to the
 * store. On error (TTAI_EFATAL after a failed commit, TTAI_EPERM when
 * read-only, TTAI_ECLOSED while closing) the callback is never called and
 * the caller keeps the batch. */
int store_submit(struct store *store, struct store_batch *batch, store_commit_fn commit_cb,
                 void *arg) TTAI_MUST_CHECK;

/* Queues count batches in order in one step, so that one group commit can
 * take them all; commit_cb runs for each with args[i]. Ownership of every
 * batch moves to the store. On error none is queued, no callback runs and
 * the caller keeps them all. */
int store_submit_many(struct store *store, struct store_batch *const *batches, size_t count,
                      store_commit_fn commit_cb, void *const *args) TTAI_MUST_CHECK;

/* Holds the group being built open: while at least one hold is open, the
 * writer applies batches as they are queued and waits for more instead of
 * committing what it has, so that a submitter queueing one group in pieces
 * has it applied while it builds the rest, and the pieces share one commit.
 * Other submitters' batches join the open group and wait with it: for the
 * holder's release, or for store_opts.hold_wait_ms without a new batch (a
 * holder that stalls), or until the group reaches its event limit or the
 * store fails. Each hold is ended by one store_group_release, which also
 * lets the writer commit: a group held by one hold does not wait for a
 * later one. A holder must release before it waits for a commit of its own
 * (store_commit), or wait hold_wait_ms. No effect with inline_commits,
 * where a submitter commits its batches itself. */
#define STORE_HOLD_WAIT_MS 2
void store_group_hold(struct store *store);
void store_group_release(struct store *store);

/* Submits batch and waits until it is durable or refused; the caller keeps
 * the batch (event ids can be read after). Returns the commit's code. */
int store_commit(struct store *store, struct store_batch *batch,
                 struct ttai_err *err) TTAI_MUST_CHECK;

/* ---- Reads --------------------------------------------------------------- */

struct store_read;

/* Begins a read-only transaction: a consistent snapshot of everything
 * committed so far. End it soon; a long read keeps old pages alive. */
int store_read_begin(struct store *store, struct store_read **out,
                     struct ttai_err *err) TTAI_MUST_CHECK;
/* Ends the read; every value borrowed from it becomes invalid. NULL: no-op. */
void store_read_end(struct store_read *read);

/* The schema version and the engine id recorded in the store. */
int store_meta_get(struct store_read *read, uint32_t *schema_version, struct ttai_run_id *engine_id,
                   struct ttai_err *err) TTAI_MUST_CHECK;

/* Reads a run record (last_event_id included). TTAI_ENOTFOUND, TTAI_ECORRUPT. */
int store_run_get(struct store_read *read, const struct ttai_run_id *run, struct store_run *out,
                  struct ttai_err *err) TTAI_MUST_CHECK;
/* The current run of execution (ns, workflow_id). TTAI_ENOTFOUND. */
int store_exec_get(struct store_read *read, const char *ns, const char *workflow_id,
                   struct ttai_run_id *run_out, struct ttai_err *err) TTAI_MUST_CHECK;
/* The last event id of a run (0 when it has none). */
int store_last_event_id(struct store_read *read, const struct ttai_run_id *run, uint64_t *out,
                        struct ttai_err *err) TTAI_MUST_CHECK;
/* One event by id. Borrowed until the read ends. TTAI_ENOTFOUND. */
int store_event_get(struct store_read *read, const struct ttai_run_id *run, uint64_t event_id,
                    struct store_event *out, struct ttai_err *err) TTAI_MUST_CHECK;
/* A pending activity record. Borrowed until the read ends. TTAI_ENOTFOUND. */
int store_activity_get(struct store_read *read, const struct ttai_run_id *run, uint64_t seq,
                       struct store_bytes *out, struct ttai_err *err) TTAI_MUST_CHECK;
/* A schedule record. Borrowed until the read ends. TTAI_ENOTFOUND. */
int store_schedule_get(struct store_read *read, const char *ns, const char *schedule_id,
                       struct store_bytes *out, struct ttai_err *err) TTAI_MUST_CHECK;

/* ---- Iterators ------------------------------------------------------------
 *
 * An iterator walks one table inside a read. It is stack-allocated; its
 * fields are private. Every _next returns 1 with an item, 0 at the end, or a
 * negative code. Items are borrowed until the read ends. Release every
 * iterator that was initialised (release after an init failure is safe). */
struct store_iter {
    /* Private: use the functions below. */
    void *cursor;
    struct store_read *read;
    int kind;
    int started;
    int newest_first;
    size_t prefix_len;
    uint8_t prefix[STORE_NS_MAX + STORE_TYPE_MAX + 2 + 1];
    uint8_t start[STORE_NS_MAX + STORE_TYPE_MAX + 2 + 1 + 8 + 16];
    size_t start_len;
    int64_t upto_ms;
    /* History iterators: the run's stretches in the recent table. */
    void *recent_cursor;          /* on recent_run; NULL: none to read */
    uint64_t recent_first;        /* first event id there (UINT64_MAX: none) */
    uint64_t from_event_id;
    int in_recent;                /* past hist, reading stretches */
    struct store__stretch {       /* the stretch being read (storage/recent.c) */
        uint64_t next_id;
        uint32_t left;
        const uint8_t *p, *end;
    } stretch;
};

void store_iter_release(struct store_iter *it);

/* History of a run, from event from_event_id (1: the start) in id order. */
int store_hist_iter_init(struct store_iter *it, struct store_read *read,
                         const struct ttai_run_id *run, uint64_t from_event_id,
                         struct ttai_err *err) TTAI_MUST_CHECK;
int store_hist_iter_next(struct store_iter *it, struct store_event *ev,
                         struct ttai_err *err) TTAI_MUST_CHECK;

/* Every run record, in run id order (last_event_id included). */
int store_run_iter_init(struct store_iter *it, struct store_read *read,
                        struct ttai_err *err) TTAI_MUST_CHECK;
int store_run_iter_next(struct store_iter *it, struct store_run *run,
                        struct ttai_err *err) TTAI_MUST_CHECK;

/* Every execution: its namespace, workflow id (borrowed) and current run. */
int store_exec_iter_init(struct store_iter *it, struct store_read *read,
                         struct ttai_err *err) TTAI_MUST_CHECK;
int store_exec_iter_next(struct store_iter *it, struct store_bytes *ns,
                         struct store_bytes *workflow_id, struct ttai_run_id *run,
                         struct ttai_err *err) TTAI_MUST_CHECK;

/* Timers in fire-time order with fire_ms <= upto_ms (INT64_MAX: all). */
struct store_timer {
    int64_t fire_ms;
    struct ttai_run_id run_id;
    uint64_t seq;
    uint8_t kind;
};
int store_timer_iter_init(struct store_iter *it, struct store_read *read, int64_t upto_ms,
                          struct ttai_err *err) TTAI_MUST_CHECK;
int store_timer_iter_next(struct store_iter *it, struct store_timer *timer,
                          struct ttai_err *err) TTAI_MUST_CHECK;

/* Pending activity records, of one run (run not NULL) or of all. */
int store_activity_iter_init(struct store_iter *it, struct store_read *read,
                             const struct ttai_run_id *run, struct ttai_err *err) TTAI_MUST_CHECK;
int store_activity_iter_next(struct store_iter *it, struct ttai_run_id *run, uint64_t *seq,
                             struct store_bytes *record, struct ttai_err *err) TTAI_MUST_CHECK;

/* Schedules of a namespace (ns not NULL) or of all, in id order. */
int store_schedule_iter_init(struct store_iter *it, struct store_read *read, const char *ns,
                             struct ttai_err *err) TTAI_MUST_CHECK;
int store_schedule_iter_next(struct store_iter *it, struct store_bytes *ns,
                             struct store_bytes *schedule_id, struct store_bytes *record,
                             struct ttai_err *err) TTAI_MUST_CHECK;

/* Visibility: runs of a namespace by start time, newest first, optionally
 * only those with a status or a type. Pagination: pass the (start_ms, run)
 * of the last item seen as `after` to continue past it. */
enum store_vis_index { STORE_VIS_START = 1, STORE_VIS_STATUS = 2, STORE_VIS_TYPE = 3 };
struct store_vis_query {
    const char *ns;
    int index;                        /* enum store_vis_index */
    int status;                       /* STORE_VIS_STATUS */
    const char *type;                 /* STORE_VIS_TYPE */
    bool has_after;
    int64_t after_start_ms;
    struct ttai_run_id after_run;
};
int store_vis_iter_init(struct store_iter *it, struct store_read *read,
                        const struct store_vis_query *query, struct ttai_err *err) TTAI_MUST_CHECK;
int store_vis_iter_next(struct store_iter *it, int64_t *start_ms, struct ttai_run_id *run,
                        struct ttai_err *err) TTAI_MUST_CHECK;

/* ---- Statistics ------------------------------------------------------- */

enum store_table {
    STORE_T_META, STORE_T_EXEC, STORE_T_RUN, STORE_T_HIST, STORE_T_TIMER, STORE_T_ACT,
    STORE_T_SCHED, STORE_T_VIS_STATUS, STORE_T_VIS_TYPE, STORE_T_VIS_START,
    STORE_T_RECENT, STORE_T_RECENT_RUN, /* schema 2: appends not yet merged into hist */
    STORE_T__COUNT
};
/* "meta", "exec", ... */
const char *store_table_name(int table);

struct store_stats {
    uint64_t entries[STORE_T__COUNT];
    uint64_t pages[STORE_T__COUNT];  /* branch + leaf + overflow pages */
    uint64_t page_bytes;
    uint64_t map_bytes;              /* map size */
    uint64_t used_bytes;             /* pages in use (last page number * page size) */
    uint64_t file_bytes;             /* size of data.mdb on disk */
};
/* Whether the store still accepts writes: TTAI_OK, or the code of the
 * commit failure that latched it (TTAI_ENOSPC for a full disk, TTAI_EFATAL
 * or TTAI_EIO otherwise) with its message in *err. A latched store refuses
 * every write until it is closed and reopened; reads keep working. Any
 * thread; a read of one atomic (space.c). */
int store_failure(const struct store *store, struct ttai_err *err);

int store_stats_get(struct store_read *read, struct store_stats *out,
                    struct ttai_err *err) TTAI_MUST_CHECK;

/* ---- Fault injection (tests only) ------------------------------------------
 *
 * fault_cb is called on the writer thread before each group commit; it
 * returns 0 to let the commit go ahead, or an errno value (EIO, ENOSPC) to
 * make it fail as if mdb_txn_commit() had returned that value: the group is
 * aborted (nothing of it is written), its batches get TTAI_EIO or
 * TTAI_ENOSPC and the store latches as after a real failed commit. The hook
 * must not call into the store. NULL removes it. Any thread; the hook and
 * arg are used from the next commit on. */
typedef int (*store_fault_fn)(void *arg);
void store_fault_set(struct store *store, store_fault_fn fault_cb, void *arg);

#endif /* TTAI_STORE_H */
