/* store_int.h: shared only between the storage module's own files. */
#ifndef TTAI_STORE_INT_H
#define TTAI_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "store.h"
#include "wal.h"

/* A stretch being built by the writer (its buffer is reused). */
struct store__stretch_buf {
    uint8_t *data;
    size_t len, cap;
    struct ttai_run_id run;
    uint64_t first;
    uint32_t count;
};

/* ---- The open store -------------------------------------------------------
 *
 * Invariants:
 *  1. Only the writer thread opens write transactions, and only it calls
 *     mdb_env_set_mapsize() (after MDB_MAP_FULL), holding resize_lock for
 *     writing; every read transaction of this process holds it for reading,
 *     because LMDB requires that no transaction be open during a resize.
 *  2. Once `fatal` is set it is never cleared: a store that failed a commit
 *     writes nothing more until it is reopened.
 *  3. Batches in the queue are owned by the store until their callback has
 *     returned (or, for store_commit(), until the waiter is signalled).
 *  4. See `pin` below.
 */
struct store {
    MDB_env *env;
    MDB_dbi dbi[STORE_T__COUNT];
    char *dir;
    bool read_only;
    int lock_fd;                       /* flock'd ttai.lock; -1 when read-only */
    size_t map_bytes;                  /* current map size */
    size_t map_bytes_max;
    size_t group_events_max;
    pthread_rwlock_t resize_lock;      /* see invariant 1 */

    /* Writer. */
    pthread_t writer;
    bool writer_running;
    pthread_mutex_t mu;                /* guards queue, stopping, counters */
    pthread_cond_t work_cv;            /* signalled when the queue fills */
    struct store_batch *queue_head;
    struct store_batch *queue_tail;
    bool stopping;
    bool inline_commits;               /* store_opts.inline_commits */
    bool group_busy;                   /* a group is being committed (by the
                                          writer or inline by a submitter) */
    /* store_group_hold and store_group_release calls so far: a hold is
     * open while the first runs ahead. */
    uint64_t holds_begun;
    uint64_t group_releases;
    int64_t hold_wait_ns;              /* store_opts.hold_wait_ms */
    _Atomic int fatal;                 /* see invariant 2: 0 or the first failure rc */
    char fatal_msg[TTAI_ERR_MSG_MAX];  /* written once, before fatal is set */
    struct store_counters counters;
    /* The write-ahead log and its checkpoints (wal.c, checkpoint.c); wal is
     * NULL for read-only and no_sync stores, which commit through LMDB
     * alone. Invariant 4: while the log is open, `pin` is a read
     * transaction on the snapshot of the durable checkpoint, so LMDB never
     * reuses a page of it: after a power loss that snapshot is whole. */
    struct wal *wal;
    int data_fd;                       /* data.mdb (LMDB's descriptor) */
    unsigned page_size;
    char boot_id[WAL_BOOT_ID_BYTES];   /* this boot's (store_opts.boot_id) */
    bool data_whole;                   /* data.mdb holds every acknowledged
                                          commit: no restore, no replay */
    MDB_txn *pin;                      /* see invariant 4 */
    pthread_t ckpt_thread;
    bool ckpt_running;
    pthread_mutex_t ckpt_mu;           /* guards the fields below and pin */
    pthread_cond_t ckpt_cv;
    bool ckpt_busy;                    /* ckpt_job is being made durable */
    bool ckpt_stop;
    struct wal_checkpoint ckpt_job;
    MDB_txn *ckpt_job_pin;             /* becomes pin once the job is durable */
    int64_t ckpt_last_ns;              /* when the last checkpoint was taken */
    int64_t ckpt_interval_ns;          /* store_opts.checkpoint_ms */
    /* Recent events (recent.c). has_recent is false only for a read-only
     * open of a schema-1 store, which has no such tables. The stretch
     * buffer is the writer's (whoever holds group_busy). */
    bool has_recent;
    bool upgrade_pending;              /* a schema-1 store opened read-write */
    uint64_t recent_merge_stretches;   /* store_opts.recent_merge_stretches */
    struct store__stretch_buf stretch; /* scratch for the stretch being built */
    /* Fault injection (fault.c, tests only): guarded by mu. */
    store_fault_fn fault_cb;
    void *fault_arg;
};

/* Upgrades a schema-1 store opened read-write (creates the recent tables):
 * after the log's replay, which must find the store as it was. */
int store__schema_upgrade(struct store *store, struct ttai_err *err);

/* Starts and stops the writer thread (writer.c). */
int store__writer_start(struct store *store, struct ttai_err *err);
void store__writer_stop(struct store *store);

/* The write-ahead log (checkpoint.c). Before the environment opens:
 * opens the log and puts the checkpoint's snapshot back in data.mdb. */
int store__wal_prepare(struct store *store, struct ttai_err *err);
/* Sets store->boot_id: given, or the kernel's ("" when unknown). */
void store__boot_id(struct store *store, const char *given);
/* Read-only opens: TTAI_EBUSY when the log holds changes data.mdb may lack
 * (a crash, then a machine restart, and no read-write open since). */
int store__wal_check_readable(struct store *store, struct ttai_err *err);
/* After the environment opened (synced commits): creates the log for a
 * store without one, replays the log, checkpoints, switches LMDB to
 * unsynced commits and starts the checkpoint thread. */
int store__wal_start(struct store *store, struct ttai_err *err);
/* Makes the group in txn durable through the log and commits it; returns an
 * LMDB or errno code (txn is gone either way). Writer only. */
int store__wal_commit(struct store *store, MDB_txn *txn);
/* Adds an operation of the group being built to the log's record. */
int store__wal_add(struct store *store, enum wal_op op, int table, const MDB_val *key,
                   const MDB_val *val);
/* A checkpoint of the last commit made now, so that the pages the previous
 * pin held can be reused; false without a log or when it failed. Writer. */
bool store__ckpt_release(struct store *store);
/* After a commit: hands a checkpoint to the checkpoint thread when one is due. */
void store__ckpt_maybe(struct store *store);
/* Final checkpoint and teardown (after the writer stopped). */
void store__wal_stop(struct store *store);

/* Latches the store (invariant 2) with rc and msg, unless it already is. */
void store__latch_fatal(struct store *store, int rc, const char *msg);

/* Translates an LMDB or errno code into a ttai code. */
int store__rc_from_mdb(int mdb_rc);
/* True when the filesystem of dir has (nearly) no space left for us;
 * *avail_bytes (optional) gets what is left (space.c). */
bool store__disk_full(const char *dir, uint64_t *avail_bytes);
/* The fault hook's answer for the next commit: 0, or an errno value the
 * commit must fail with (fault.c). Writer thread only. */
int store__fault_check(struct store *store);

/* Key builders; each returns the key length. Buffers must be large enough
 * (STORE__KEY_MAX). */
#define STORE__KEY_MAX 512
size_t store__exec_key(uint8_t *key, const char *ns, const char *workflow_id);
size_t store__hist_key(uint8_t *key, const struct ttai_run_id *run, uint64_t event_id);
size_t store__timer_key(uint8_t *key, int64_t fire_ms, const struct ttai_run_id *run, uint64_t seq);
size_t store__act_key(uint8_t *key, const struct ttai_run_id *run, uint64_t seq);
size_t store__vis_status_key(uint8_t *key, const struct store_run *run);
size_t store__vis_type_key(uint8_t *key, const struct store_run *run);
size_t store__vis_start_key(uint8_t *key, const struct store_run *run);

/* The last event id of a run in `hist` alone (0 when none), using cursor. */
int store__last_event_id(MDB_cursor *cursor, const struct ttai_run_id *run, uint64_t *out);

/* ---- Recent events (recent.c) ----------------------------------------------
 *
 * Appends go to `recent` in stretches (one run's events of one batch) and
 * are merged into `hist` in bulk; see recent.c for the layout and why. */
#define STORE__STRETCH_HEADER_BYTES (TTAI_RUN_ID_BYTES + 8 + 4)
#define STORE__RECENT_DUP_BYTES 24
/* Stretches in `recent` that make the next group merge them into `hist`. */
#define STORE__RECENT_MERGE_DEFAULT 2048

/* One stretch of a run, as recent_run lists it. */
struct store__recent_dup {
    uint64_t seq;      /* its key in `recent` */
    uint64_t first;    /* its first and last event ids */
    uint64_t last;
};
void store__recent_dup_encode(uint8_t out[STORE__RECENT_DUP_BYTES], uint64_t seq, uint64_t first,
                              uint64_t last);
int store__recent_dup_decode(const MDB_val *val, struct store__recent_dup *out);

void store__stretch_begin(struct store__stretch_buf *s, const struct ttai_run_id *run,
                          uint64_t first);
/* Adds one encoded event: MDB_SUCCESS or ENOMEM. */
int store__stretch_add(struct store__stretch_buf *s, const void *event, size_t len);
/* The value to put in `recent` (valid until the next change of s). */
MDB_val store__stretch_value(struct store__stretch_buf *s);
void store__stretch_buf_free(struct store__stretch_buf *s);

/* Reading a stretch (struct store__stretch, in store.h for the history
 * iterator): its events borrowed from the value. The value of stretch seq
 * (TTAI_ECORRUPT when recent_run names one that is not there): */
int store__stretch_get(MDB_txn *txn, const struct store *store, uint64_t seq, MDB_val *out);
/* Starts reading val as the stretch dup describes, of run; TTAI_ECORRUPT
 * when it is not that. */
int store__stretch_open(const MDB_val *val, const struct store__recent_dup *dup,
                        const struct ttai_run_id *run, struct store__stretch *out);
/* 1 with the next event and its id, 0 at the end, TTAI_ECORRUPT. */
int store__stretch_next(struct store__stretch *s, uint64_t *event_id, MDB_val *event);

/* The first (or, with last, the last) stretch of run via a recent_run
 * cursor: 1 found, 0 none, or a negative code. */
int store__recent_edge(MDB_cursor *rr, const struct ttai_run_id *run, bool last,
                       struct store__recent_dup *out);
/* The last event id of a run (0 when none): its last stretch in `recent`,
 * else the end of its range in `hist`. rr NULL: the store has no recent
 * tables (a read-only open of a schema-1 store). */
int store__run_last_event_id(MDB_cursor *hist, MDB_cursor *rr, const struct ttai_run_id *run,
                             uint64_t *out);
/* The stretches waiting in `recent` and the key of the next, in txn.
 * Returns an LMDB code. */
int store__recent_state(MDB_txn *txn, const struct store *store, uint64_t *stretches,
                        uint64_t *next_seq);
/* Moves every stretch into `hist` and empties both recent tables, in txn.
 * Returns an LMDB code. */
int store__recent_merge(struct store *store, MDB_txn *txn);

/* ---- A bounds-checked msgpack reader ------------------------------------
 *
 * Decoding is done by this cursor rather than by msgpack_unpack(): it
 * borrows every string from the input, allocates nothing, and skips unknown
 * values of any nesting depth without recursion (a skip keeps a count of
 * items still to pass). Every read checks the remaining length first, so
 * no input can make it read outside [p, end). */
struct store__mp {
    const uint8_t *p;
    const uint8_t *end;
};

int store__mp_read_map(struct store__mp *r, uint32_t *count);
int store__mp_read_array(struct store__mp *r, uint32_t *count);
int store__mp_read_uint(struct store__mp *r, uint64_t *out);
int store__mp_read_int(struct store__mp *r, int64_t *out);
int store__mp_read_double(struct store__mp *r, double *out);
int store__mp_read_bool(struct store__mp *r, bool *out);
/* A str or bin value, borrowed from the input. */
int store__mp_read_bytes(struct store__mp *r, struct store_bytes *out);
/* Skips one complete value (containers included). */
int store__mp_skip(struct store__mp *r);

/* ---- A growable output buffer for msgpack-c's packer ---------------- */
struct store__buf {
    uint8_t **data;
    size_t *len;
    size_t *cap;
    size_t limit;      /* toobig: writes past it fail */
    int failed;        /* TTAI_ENOMEM or TTAI_ETOOBIG once a write failed */
};
int store__buf_write(void *data, const char *bytes, size_t len);

/* Run record codec (table run). */
int store__run_encode(const struct store_run *run, uint8_t **buf, size_t *len, size_t *cap);
int store__run_decode(const uint8_t *data, size_t len, struct store_run *out);

/* Grows the array *ptr of *cap items of item bytes to hold need items
 * (doubling from 8). TTAI_OK or TTAI_ENOMEM, *ptr untouched on failure. */
static inline int store__grow(void **ptr, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return TTAI_OK;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *grown = ttai_realloc(*ptr, n * item);
    if (grown == NULL)
        return TTAI_ENOMEM;
    *ptr = grown;
    *cap = n;
    return TTAI_OK;
}

/* Big-endian helpers for keys. */
static inline void store__put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t store__get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Times are signed but stored in keys as unsigned with the sign bit
 * flipped, so that byte order equals numeric order. */
static inline uint64_t store__time_key(int64_t ms)
{
    return (uint64_t)ms ^ (1ull << 63);
}

static inline int64_t store__time_from_key(uint64_t k)
{
    return (int64_t)(k ^ (1ull << 63));
}

#endif /* TTAI_STORE_INT_H */
