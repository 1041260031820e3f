/* writer.c: write batches and the group-commit writer thread.
 *
 * A batch is a list of conditions and operations, encoded by the submitter
 * (off the writer thread) into one byte buffer. The writer takes every batch
 * waiting in the queue, up to group_events_max events, and for each one in
 * order: checks its conditions against the transaction so far, then applies
 * its operations, or refuses it whole. One log record and its sync (or,
 * without the log, one synced mdb_txn_commit()) make the whole group
 * durable; only then do callbacks run (checkpoint.c). While a submitter
 * holds the group open (store_group_hold: the engine, while it prepares a
 * round), the writer goes on taking and applying the batches queued behind
 * the ones it has, and commits once the hold ends, the group is full, or
 * no batch came for hold_wait_ms: the group is applied while it is built.
 *
 *   batch states:
 *     BUILDING --store_submit--> QUEUED --writer takes--> GROUPED
 *     GROUPED --conditions fail--> REFUSED --callback(rc<0)--> freed
 *     GROUPED --applied, commit ok--> DURABLE --callback(0)--> freed
 *     GROUPED --commit fails--> FAILED (store latched fatal) --callback(rc<0)--> freed
 *     GROUPED --MDB_MAP_FULL--> the map grows, the group is re-run from scratch
 *
 * Invariants:
 *  1. A batch is all-or-nothing: conditions are checked before any of its
 *     operations is applied, and operations cannot fail individually (every
 *     argument was validated when added); a failure while applying (map full,
 *     I/O) aborts the whole group transaction.
 *  2. Event ids are dense: each is the run's last event id in the
 *     transaction plus one.
 *  3. Callbacks run only after the group is durable and committed, or with
 *     an error when nothing of the batch was written.
 */
#include "store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

enum op_kind {
    OP_REQUIRE_RUN_STATUS = 1,
    OP_REQUIRE_EXEC,
    OP_REQUIRE_LAST_EVENT,
    OP_PUT_RUN,
    OP_PUT_EXEC,
    OP_APPEND,
    OP_PUT_TIMER,
    OP_DEL_TIMER,
    OP_PUT_ACT,
    OP_DEL_ACT,
    OP_PUT_SCHED,
    OP_DEL_SCHED,
};

struct batch_op {
    uint8_t kind;                /* enum op_kind */
    int status;                  /* OP_REQUIRE_RUN_STATUS */
    bool has_run;                /* OP_REQUIRE_EXEC: false means "absent" */
    struct ttai_run_id run;
    uint64_t number;             /* OP_REQUIRE_LAST_EVENT: the expected id */
    uint32_t key_off, key_len;   /* into bytes */
    uint32_t val_off, val_len;   /* into bytes */
};

struct store_batch {
    struct batch_op *ops;
    size_t op_count, op_cap;
    uint8_t *bytes;              /* keys and values of every op */
    size_t bytes_len, bytes_cap;
    uint64_t *event_ids;         /* filled at commit, one per OP_APPEND */
    size_t event_count, event_cap;

    /* Owned by the store while queued (writer.c only). */
    struct store_batch *next;
    store_commit_fn commit_cb;
    void *arg;
    struct commit_waiter *waiter; /* store_commit(): signal instead of free */
    uint64_t hold_epoch;         /* the hold open when it was queued; 0: none */
    int rc;
    struct ttai_err err;
};

/* store_commit() waits on a semaphore on its stack. A semaphore rather than
 * a mutex and condition: the writer wakes a whole group of waiters in a row,
 * and sem_post is one atomic and one futex wake, where signalling under a
 * mutex made each woken thread block again on that mutex. glibc's sem_post
 * does not touch the semaphore after the waiter can see the post, so the
 * waiter may destroy it as soon as sem_wait returns. */
struct commit_waiter {
    sem_t done;
};

/* ---- Building batches ------------------------------------------------------- */

struct store_batch *store_batch_new(void)
{
    return ttai_calloc(1, sizeof(struct store_batch));
}

void store_batch_free(struct store_batch *batch)
{
    if (batch == NULL)
        return;
    ttai_free(batch->ops);
    ttai_free(batch->bytes);
    ttai_free(batch->event_ids);
    ttai_free(batch);
}

void store_batch_clear(struct store_batch *batch)
{
    batch->op_count = 0;
    batch->bytes_len = 0;
    batch->event_count = 0;
    batch->next = NULL;
    batch->rc = 0;
}

size_t store_batch_ops(const struct store_batch *batch)
{
    return batch->op_count;
}

size_t store_batch_events(const struct store_batch *batch)
{
    return batch->event_count;
}

uint64_t store_batch_event_id(const struct store_batch *batch, size_t index)
{
    TTAI_ASSERT(index < batch->event_count);
    return batch->event_ids[index];
}

/* Records an op whose key and value already sit in b->bytes. */
static int push_op(struct store_batch *b, const struct batch_op *proto, size_t key_off,
                   size_t key_len, size_t val_off, size_t val_len)
{
    if (store__grow((void **)&b->ops, &b->op_cap, b->op_count + 1, sizeof(*b->ops)) != 0)
        return TTAI_ENOMEM;
    if (proto->kind == OP_APPEND && store__grow((void **)&b->event_ids, &b->event_cap,
                                                b->event_count + 1, sizeof(uint64_t)) != 0)
        return TTAI_ENOMEM;
    struct batch_op *op = &b->ops[b->op_count++];
    *op = *proto;
    op->key_off = (uint32_t)key_off;
    op->key_len = (uint32_t)key_len;
    op->val_off = (uint32_t)val_off;
    op->val_len = (uint32_t)val_len;
    if (proto->kind == OP_APPEND)
        b->event_ids[b->event_count++] = 0;
    return TTAI_OK;
}

/* Adds an op with a key and a value copied into the batch's bytes. On
 * failure the batch is unchanged. */
static int add_op(struct store_batch *b, const struct batch_op *proto, const void *key,
                  size_t key_len, const void *val, size_t val_len)
{
    if (b->bytes_len + key_len + val_len > UINT32_MAX)
        return TTAI_ETOOBIG;
    if (store__grow((void **)&b->bytes, &b->bytes_cap, b->bytes_len + key_len + val_len, 1) != 0)
        return TTAI_ENOMEM;
    size_t key_off = b->bytes_len;
    if (key_len)
        memcpy(b->bytes + key_off, key, key_len);
    if (val_len)
        memcpy(b->bytes + key_off + key_len, val, val_len);
    int rc = push_op(b, proto, key_off, key_len, key_off + key_len, val_len);
    if (rc == 0)
        b->bytes_len += key_len + val_len;
    return rc;
}

static bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max;
}

int store_batch_require_run_status(struct store_batch *batch, const struct ttai_run_id *run,
                                   int status)
{
    if (store_run_status_name(status) == NULL)
        return TTAI_EINVAL;
    struct batch_op op = {.kind = OP_REQUIRE_RUN_STATUS, .status = status, .run = *run};
    return add_op(batch, &op, NULL, 0, NULL, 0);
}

int store_batch_require_exec(struct store_batch *batch, const char *ns, const char *workflow_id,
                             const struct ttai_run_id *run)
{
    if (!name_ok(ns, STORE_NS_MAX) || !name_ok(workflow_id, STORE_WORKFLOW_ID_MAX))
        return TTAI_EINVAL;
    struct batch_op op = {.kind = OP_REQUIRE_EXEC, .has_run = run != NULL};
    if (run != NULL)
        op.run = *run;
    uint8_t key[STORE__KEY_MAX];
    return add_op(batch, &op, key, store__exec_key(key, ns, workflow_id), NULL, 0);
}

int store_batch_require_last_event(struct store_batch *batch, const struct ttai_run_id *run,
                                   uint64_t last_event_id)
{
    struct batch_op op = {.kind = OP_REQUIRE_LAST_EVENT, .run = *run, .number = last_event_id};
    return add_op(batch, &op, NULL, 0, NULL, 0);
}

int store_batch_put_run(struct store_batch *batch, const struct store_run *run)
{
    if (!name_ok(run->ns, STORE_NS_MAX) || !name_ok(run->workflow_id, STORE_WORKFLOW_ID_MAX) ||
        !name_ok(run->type, STORE_TYPE_MAX) || store_run_status_name(run->status) == NULL ||
        ttai_run_id_is_zero(&run->run_id))
        return TTAI_EINVAL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = store__run_encode(run, &buf, &len, &cap);
    struct batch_op op = {.kind = OP_PUT_RUN, .run = run->run_id};
    if (rc == 0)
        rc = add_op(batch, &op, run->run_id.b, TTAI_RUN_ID_BYTES, buf, len);
    ttai_free(buf);
    return rc;
}

int store_batch_put_exec(struct store_batch *batch, const char *ns, const char *workflow_id,
                         const struct ttai_run_id *run)
{
    if (!name_ok(ns, STORE_NS_MAX) || !name_ok(workflow_id, STORE_WORKFLOW_ID_MAX))
        return TTAI_EINVAL;
    uint8_t key[STORE__KEY_MAX];
    struct batch_op op = {.kind = OP_PUT_EXEC, .run = *run};
    return add_op(batch, &op, key, store__exec_key(key, ns, workflow_id), run->b,
                  TTAI_RUN_ID_BYTES);
}

int store_batch_append(struct store_batch *batch, const struct ttai_run_id *run,
                       const struct store_event *ev, struct ttai_err *err)
{
    /* Encode straight into the batch's bytes; the op points at them. */
    size_t before = batch->bytes_len;
    int rc = store_event_encode(ev, &batch->bytes, &batch->bytes_len, &batch->bytes_cap, err);
    if (rc != 0)
        return rc;
    if (batch->bytes_len > UINT32_MAX) {
        batch->bytes_len = before;
        return ttai_errf(err, TTAI_ETOOBIG, "batch is larger than 4 GiB");
    }
    struct batch_op op = {.kind = OP_APPEND, .run = *run, .status = ev->type};
    rc = push_op(batch, &op, before, 0, before, batch->bytes_len - before);
    if (rc != 0) {
        batch->bytes_len = before;
        return ttai_errf(err, rc, "out of memory appending an event");
    }
    return TTAI_OK;
}

int store_batch_put_timer(struct store_batch *batch, int64_t fire_ms, const struct ttai_run_id *run,
                          uint64_t seq, uint8_t kind)
{
    uint8_t key[STORE__KEY_MAX];
    struct batch_op op = {.kind = OP_PUT_TIMER, .run = *run};
    return add_op(batch, &op, key, store__timer_key(key, fire_ms, run, seq), &kind, 1);
}

int store_batch_del_timer(struct store_batch *batch, int64_t fire_ms, const struct ttai_run_id *run,
                          uint64_t seq)
{
    uint8_t key[STORE__KEY_MAX];
    struct batch_op op = {.kind = OP_DEL_TIMER, .run = *run};
    return add_op(batch, &op, key, store__timer_key(key, fire_ms, run, seq), NULL, 0);
}

int store_batch_put_activity(struct store_batch *batch, const struct ttai_run_id *run, uint64_t seq,
                             const void *record, size_t len)
{
    if (len > STORE_RECORD_BYTES_MAX)
        return TTAI_ETOOBIG;
    uint8_t key[STORE__KEY_MAX];
    struct batch_op op = {.kind = OP_PUT_ACT, .run = *run};
    return add_op(batch, &op, key, store__act_key(key, run, seq), record, len);
}

int store_batch_del_activity(struct store_batch *batch, const struct ttai_run_id *run, uint64_t seq)
{
    uint8_t key[STORE__KEY_MAX];
    struct batch_op op = {.kind = OP_DEL_ACT, .run = *run};
    return add_op(batch, &op, key, store__act_key(key, run, seq), NULL, 0);
}

int store_batch_put_schedule(struct store_batch *batch, const char *ns, const char *schedule_id,
                             const void *record, size_t len)
{
    if (!name_ok(ns, STORE_NS_MAX) || !name_ok(schedule_id, STORE_SCHEDULE_ID_MAX))
        return TTAI_EINVAL;
    if (len > STORE_RECORD_BYTES_MAX)
        return TTAI_ETOOBIG;
    uint8_t key[STORE__KEY_MAX];
    struct batch_op op = {.kind = OP_PUT_SCHED};
    return add_op(batch, &op, key, store__exec_key(key, ns, schedule_id), record, len);
}

int store_batch_del_schedule(struct store_batch *batch, const char *ns, const char *schedule_id)
{
    if (!name_ok(ns, STORE_NS_MAX) || !name_ok(schedule_id, STORE_SCHEDULE_ID_MAX))
        return TTAI_EINVAL;
    uint8_t key[STORE__KEY_MAX];
    struct batch_op op = {.kind = OP_DEL_SCHED};
    return add_op(batch, &op, key, store__exec_key(key, ns, schedule_id), NULL, 0);
}

/* ---- Applying a batch inside the group transaction ----------------------- */

/* What the writer holds while it runs one group. */
struct group_txn {
    struct store *store;
    MDB_txn *txn;
    MDB_cursor *hist;            /* last-event lookups in the history */
    MDB_cursor *rr;              /* recent_run: lookups and new stretches */
    uint64_t recent_seq;         /* key of the next stretch in `recent` */
    bool merged;                 /* it began with the recent tables' merge */
    /* What checking the current batch learnt, for applying it: the last
     * event id of the run its OP_REQUIRE_LAST_EVENT named (nothing of the
     * batch is applied in between, so it still holds at its first
     * append). */
    bool known_last;
    struct ttai_run_id known_run;
    uint64_t known_last_id;
};

static MDB_val op_key(const struct store_batch *b, const struct batch_op *op)
{
    return (MDB_val){op->key_len, b->bytes + op->key_off};
}

static MDB_val op_val(const struct store_batch *b, const struct batch_op *op)
{
    return (MDB_val){op->val_len, b->bytes + op->val_off};
}

/* Reads a run record inside the group transaction. */
static int group_run_get(struct group_txn *g, const struct ttai_run_id *run, struct store_run *out)
{
    MDB_val key = {TTAI_RUN_ID_BYTES, (void *)run->b}, val;
    int rc = mdb_get(g->txn, g->store->dbi[STORE_T_RUN], &key, &val);
    if (rc != MDB_SUCCESS)
        return store__rc_from_mdb(rc);
    return store__run_decode(val.mv_data, val.mv_size, out) == 0 ? TTAI_OK : TTAI_ECORRUPT;
}

static bool batch_puts_run_before(const struct store_batch *b, size_t op_index,
                                  const struct ttai_run_id *run)
{
    for (size_t i = 0; i < op_index; i++)
        if (b->ops[i].kind == OP_PUT_RUN && ttai_run_id_eq(&b->ops[i].run, run))
            return true;
    return false;
}

/* Checks every condition of b. Returns 0, TTAI_ECONFLICT/TTAI_ENOTFOUND
 * with b->err filled (the batch is refused), or another code for a failure
 * of the store itself (the group fails). */
static int batch_check(struct group_txn *g, struct store_batch *b)
{
    char text[TTAI_RUN_ID_TEXT];
    const struct ttai_run_id *appendable = NULL; /* run of the last append checked */
    const struct ttai_run_id *found = NULL;      /* a run a status condition found */
    g->known_last = false;
    for (size_t i = 0; i < b->op_count; i++) {
        const struct batch_op *op = &b->ops[i];
        struct store_run run;
        int rc;
        switch (op->kind) {
        case OP_REQUIRE_RUN_STATUS:
            rc = group_run_get(g, &op->run, &run);
            if (rc == TTAI_ENOTFOUND)
                return ttai_errf(&b->err, TTAI_ECONFLICT, "run '%s' does not exist",
                                 ttai_run_id_format(&op->run, text));
            if (rc != 0)
                return rc;
            if (run.status != op->status)
                return ttai_errf(&b->err, TTAI_ECONFLICT, "run '%s' is %s, not %s",
                                 ttai_run_id_format(&op->run, text),
                                 store_run_status_text(run.status),
                                 store_run_status_text(op->status));
            found = &op->run;
            break;
        case OP_REQUIRE_EXEC: {
            MDB_val key = op_key(b, op), val;
            int mrc = mdb_get(g->txn, g->store->dbi[STORE_T_EXEC], &key, &val);
            if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
                return store__rc_from_mdb(mrc);
            bool exists = mrc == MDB_SUCCESS;
            bool same = exists && op->has_run && val.mv_size == TTAI_RUN_ID_BYTES &&
                        memcmp(val.mv_data, op->run.b, TTAI_RUN_ID_BYTES) == 0;
            if (op->has_run ? !same : exists)
                return ttai_errf(&b->err, TTAI_ECONFLICT, "workflow '%.*s' %s",
                                 (int)(op->key_len - strlen((char *)key.mv_data) - 1),
                                 (char *)key.mv_data + strlen((char *)key.mv_data) + 1,
                                 op->has_run ? "has another current run" : "already exists");
            break;
        }
        case OP_REQUIRE_LAST_EVENT: {
            uint64_t last;
            rc = store__run_last_event_id(g->hist, g->rr, &op->run, &last);
            if (rc != 0)
                return rc;
            if (last != op->number)
                return ttai_errf(&b->err, TTAI_ECONFLICT,
                                 "run '%s' has %" PRIu64 " events, not %" PRIu64,
                                 ttai_run_id_format(&op->run, text), last, op->number);
            g->known_last = true;
            g->known_run = op->run;
            g->known_last_id = last;
            break;
        }
        case OP_APPEND:
            /* A batch's appends come in stretches to one run: check the
             * run once per stretch, not once per event (the scan below
             * would make a big batch quadratic). */
            if (appendable != NULL && ttai_run_id_eq(appendable, &op->run))
                break;
            appendable = &op->run;
            /* A status condition on the run found it already. */
            if (found != NULL && ttai_run_id_eq(found, &op->run))
                break;
            if (batch_puts_run_before(b, i, &op->run))
                break;
            rc = group_run_get(g, &op->run, &run);
            if (rc == TTAI_ENOTFOUND)
                return ttai_errf(&b->err, TTAI_ENOTFOUND, "cannot append to run '%s': no such run",
                                 ttai_run_id_format(&op->run, text));
            if (rc != 0)
                return rc;
            break;
        default:
            break;
        }
    }
    return TTAI_OK;
}

/* Every write of a group goes through put, del or the history cursor in
 * batch_apply, which also add it to the group's log record (checkpoint.c). */
static int put_flags(struct group_txn *g, int table, MDB_val key, MDB_val val, unsigned flags)
{
    int rc = mdb_put(g->txn, g->store->dbi[table], &key, &val, flags);
    if (rc == MDB_SUCCESS && g->store->wal != NULL)
        rc = store__wal_add(g->store, WAL_OP_PUT, table, &key, &val);
    return rc;
}

static int put(struct group_txn *g, int table, MDB_val key, MDB_val val)
{
    return put_flags(g, table, key, val, 0);
}

static int del(struct group_txn *g, int table, MDB_val key)
{
    int rc = mdb_del(g->txn, g->store->dbi[table], &key, NULL);
    if (rc == MDB_SUCCESS && g->store->wal != NULL)
        rc = store__wal_add(g->store, WAL_OP_DEL, table, &key, NULL);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/* Moves a run's index entries from old (NULL: a new run) to new_run. An
 * entry whose key is the same in both is left alone: a close changes only
 * the status, which only vis_status's key holds, and a delete and put of
 * the same key would still copy its leaf and the branches above it. */
static int vis_update(struct group_txn *g, const struct store_run *old,
                      const struct store_run *new_run)
{
    static const struct {
        int table;
        size_t (*build)(uint8_t *, const struct store_run *);
    } index[] = {
        {STORE_T_VIS_STATUS, store__vis_status_key},
        {STORE_T_VIS_TYPE, store__vis_type_key},
        {STORE_T_VIS_START, store__vis_start_key},
    };
    uint8_t old_buf[STORE__KEY_MAX], new_buf[STORE__KEY_MAX];
    for (size_t i = 0; i < sizeof(index) / sizeof(index[0]); i++) {
        MDB_val new_key = {index[i].build(new_buf, new_run), new_buf};
        if (old != NULL) {
            MDB_val old_key = {index[i].build(old_buf, old), old_buf};
            if (old_key.mv_size == new_key.mv_size &&
                memcmp(old_key.mv_data, new_key.mv_data, old_key.mv_size) == 0)
                continue;
            int rc = del(g, index[i].table, old_key);
            if (rc != MDB_SUCCESS)
                return rc;
        }
        int rc = put(g, index[i].table, new_key, (MDB_val){0, ""});
        if (rc != MDB_SUCCESS)
            return rc;
    }
    return MDB_SUCCESS;
}

static int apply_put_run(struct group_txn *g, struct store_batch *b, const struct batch_op *op)
{
    struct store_run old, new_run;
    int rc = group_run_get(g, &op->run, &old);
    if (rc != 0 && rc != TTAI_ENOTFOUND)
        return rc == TTAI_ECORRUPT ? MDB_CORRUPTED : MDB_PANIC;
    MDB_val val = op_val(b, op);
    TTAI_ASSERT(store__run_decode(val.mv_data, val.mv_size, &new_run) == 0); /* we encoded it */
    int mrc = put(g, STORE_T_RUN, op_key(b, op), val);
    return mrc != MDB_SUCCESS ? mrc : vis_update(g, rc == 0 ? &old : NULL, &new_run);
}

/* Writes the stretch being built (recent.c): its events under the next
 * key of `recent`, always the table's last, and its entry in recent_run. */
static int stretch_flush(struct group_txn *g, uint64_t last_id)
{
    struct store__stretch_buf *s = &g->store->stretch;
    if (s->count == 0)
        return MDB_SUCCESS;
    uint8_t skey[8], dup[STORE__RECENT_DUP_BYTES];
    uint64_t seq = g->recent_seq++;
    store__put_be64(skey, seq);
    store__recent_dup_encode(dup, seq, s->first, last_id);
    MDB_val key = {sizeof(skey), skey}, val = store__stretch_value(s);
    int rc = put_flags(g, STORE_T_RECENT, key, val, MDB_APPEND);
    MDB_val rkey = {TTAI_RUN_ID_BYTES, s->run.b}, rval = {sizeof(dup), dup};
    if (rc == MDB_SUCCESS)
        rc = put(g, STORE_T_RECENT_RUN, rkey, rval);
    s->count = 0;
    return rc;
}

/* Applies every operation of b. Returns an LMDB code: anything but success
 * fails the whole group (invariant 1). A batch's appends to one run in a
 * row make one stretch in the recent table, except the first events of a
 * run (it has none yet): those go straight into the history, where a new
 * run's neighbours are other new runs (time-ordered ids), so they cost no
 * more pages there and no merge later. */
static int batch_apply(struct group_txn *g, struct store_batch *b)
{
    struct store__stretch_buf *stretch = &g->store->stretch;
    enum { APPENDS_NONE, APPENDS_STRETCH, APPENDS_HIST } appends = APPENDS_NONE;
    struct ttai_run_id run = {0};  /* of the appends in a row */
    size_t event_index = 0;
    uint64_t last_id = 0;
    stretch->count = 0;
    for (size_t i = 0; i < b->op_count; i++) {
        const struct batch_op *op = &b->ops[i];
        int rc = MDB_SUCCESS;
        if (appends != APPENDS_NONE &&
            (op->kind != OP_APPEND || !ttai_run_id_eq(&run, &op->run))) {
            if (appends == APPENDS_STRETCH && (rc = stretch_flush(g, last_id)) != MDB_SUCCESS)
                return rc;
            appends = APPENDS_NONE;
        }
        switch (op->kind) {
        case OP_PUT_RUN: rc = apply_put_run(g, b, op); break;
        case OP_PUT_EXEC: rc = put(g, STORE_T_EXEC, op_key(b, op), op_val(b, op)); break;
        case OP_APPEND: {
            /* Appends in a row to a run look its last event up once,
             * except the batch's first when its check did. */
            if (appends == APPENDS_NONE) {
                if (event_index == 0 && g->known_last && ttai_run_id_eq(&g->known_run, &op->run)) {
                    last_id = g->known_last_id;
                } else if (store__run_last_event_id(g->hist, g->rr, &op->run, &last_id) != 0) {
                    return MDB_PANIC;
                }
                run = op->run;
                appends = last_id == 0 ? APPENDS_HIST : APPENDS_STRETCH;
                if (appends == APPENDS_STRETCH)
                    store__stretch_begin(stretch, &op->run, last_id + 1);
            }
            MDB_val val = op_val(b, op);
            b->event_ids[event_index++] = ++last_id;
            if (appends == APPENDS_STRETCH) {
                rc = store__stretch_add(stretch, val.mv_data, val.mv_size);
                break;
            }
            uint8_t kbuf[TTAI_RUN_ID_BYTES + 8];
            MDB_val key = {store__hist_key(kbuf, &op->run, last_id), kbuf};
            rc = mdb_cursor_put(g->hist, &key, &val, 0);
            if (rc == MDB_SUCCESS && g->store->wal != NULL)
                rc = store__wal_add(g->store, WAL_OP_PUT, STORE_T_HIST, &key, &val);
            break;
        }
        case OP_PUT_TIMER: rc = put(g, STORE_T_TIMER, op_key(b, op), op_val(b, op)); break;
        case OP_DEL_TIMER: rc = del(g, STORE_T_TIMER, op_key(b, op)); break;
        case OP_PUT_ACT: rc = put(g, STORE_T_ACT, op_key(b, op), op_val(b, op)); break;
        case OP_DEL_ACT: rc = del(g, STORE_T_ACT, op_key(b, op)); break;
        case OP_PUT_SCHED: rc = put(g, STORE_T_SCHED, op_key(b, op), op_val(b, op)); break;
        case OP_DEL_SCHED: rc = del(g, STORE_T_SCHED, op_key(b, op)); break;
        default: break; /* conditions: checked already */
        }
        if (rc != MDB_SUCCESS)
            return rc;
    }
    return appends == APPENDS_STRETCH ? stretch_flush(g, last_id) : MDB_SUCCESS;
}

/* ---- The writer thread ---------------------------------------------------- */

static void batch_finish(struct store_batch *b)
{
    if (b->waiter != NULL) {
        struct commit_waiter *w = b->waiter;
        sem_post(&w->done); /* b belongs to the waiter from here on */
        return;
    }
    if (b->commit_cb != NULL)
        b->commit_cb(b, b->rc, b->rc ? &b->err : NULL, b->arg);
    store_batch_free(b);
}

/* Detaches from the queue the batches a group may take: in order, while it
 * stays within its event limit (the first batch always, with first_always)
 * and while they belong to its hold. A batch queued while a hold was open
 * belongs to that hold (hold_epoch); a group takes the first hold it meets
 * (*epoch, 0: none yet) and no batch of a later one, so that it never waits
 * for a hold begun after its own ended. Under mu. NULL when nothing fits. */
static struct store_batch *queue_take(struct store *store, size_t events, uint64_t *epoch,
                                      bool first_always)
{
    struct store_batch *first = store->queue_head, *last = NULL;
    for (struct store_batch *b = first; b != NULL; b = b->next) {
        bool fits = events + b->event_count <= store->group_events_max ||
                    (last == NULL && first_always);
        if (!fits || (b->hold_epoch != 0 && *epoch != 0 && b->hold_epoch != *epoch))
            break;
        if (*epoch == 0)
            *epoch = b->hold_epoch;
        events += b->event_count;
        last = b;
    }
    if (last == NULL)
        return NULL;
    store->queue_head = last->next;
    if (store->queue_head == NULL)
        store->queue_tail = NULL;
    last->next = NULL;
    return first;
}

/* Whether the hold of epoch (one submitter's, begun epoch-th) is still
 * open: holds end in the order they begin (the engine holds one round at a
 * time). Under mu. */
static bool hold_open(const struct store *store, uint64_t epoch)
{
    return epoch != 0 && store->group_releases < epoch;
}

/* A held group that has applied everything up to tail: while its hold
 * (*epoch) lasts, waits for more batches (up to hold_wait_ns after the
 * last) and links what is queued after tail (queue_take). Once the hold
 * has ended, it takes what is queued of it (the holder's last batches) and
 * ends. *held becomes false when the group is complete. */
static void group_take_more(struct store *store, struct store_batch *tail, size_t events,
                            uint64_t *epoch, bool *held)
{
    *held = false;
    if (events >= store->group_events_max || atomic_load(&store->fatal) != 0)
        return; /* full, or the store failed: commit (or fail) what there is */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline); /* work_cv's clock (store.c) */
    int64_t ns = deadline.tv_nsec + store->hold_wait_ns;
    deadline.tv_sec += (time_t)(ns / 1000000000);
    deadline.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&store->mu);
    bool timed_out = false;
    while (hold_open(store, *epoch) && store->queue_head == NULL && !store->stopping && !timed_out)
        timed_out = pthread_cond_timedwait(&store->work_cv, &store->mu, &deadline) == ETIMEDOUT;
    bool lasts = hold_open(store, *epoch) && !timed_out && !store->stopping;
    struct store_batch *first = store->queue_head != NULL
                                    ? queue_take(store, events, epoch, false) : NULL;
    pthread_mutex_unlock(&store->mu);
    tail->next = first;
    *held = first != NULL && lasts;
}

/* Runs one group transaction over the list; a held group (held) first
 * extends the list with the batches queued while it applies. Returns an
 * LMDB code for the group (MDB_SUCCESS when it committed) and sets each
 * batch's rc. */
static int group_run(struct store *store, struct store_batch *list, bool held, uint64_t epoch,
                     bool may_merge, bool *merged, uint64_t *refused, int64_t *commit_ns)
{
    struct group_txn g = {.store = store};
    int rc = mdb_txn_begin(store->env, NULL, 0, &g.txn);
    if (rc != MDB_SUCCESS)
        return rc;
    if (store->wal != NULL)
        wal_record_begin(store->wal);
    /* Enough stretches (or the final group of a close, which has no
     * batches): this group begins by merging them into the history. */
    uint64_t waiting;
    rc = store__recent_state(g.txn, store, &waiting, &g.recent_seq);
    if (rc == MDB_SUCCESS && may_merge && waiting > 0 &&
        (waiting >= store->recent_merge_stretches || list == NULL)) {
        rc = store__recent_merge(store, g.txn);
        if (rc == MDB_SUCCESS && store->wal != NULL)
            rc = store__wal_add(store, WAL_OP_MERGE, STORE_T_RECENT, &(MDB_val){0, NULL}, NULL);
        g.recent_seq = 1;
        g.merged = true;
    }
    *merged = g.merged;
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(g.txn, store->dbi[STORE_T_HIST], &g.hist);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(g.txn, store->dbi[STORE_T_RECENT_RUN], &g.rr);
    *refused = 0;
    size_t events = 0;
    for (struct store_batch *b = list; rc == MDB_SUCCESS && b != NULL; b = b->next) {
        events += b->event_count;
        ttai_err_clear(&b->err);
        b->rc = batch_check(&g, b);
        if (b->rc == TTAI_ECONFLICT || b->rc == TTAI_ENOTFOUND)
            (*refused)++;
        else if (b->rc != 0)
            rc = MDB_CORRUPTED;
        else
            rc = batch_apply(&g, b);
        /* At the end of the list, a held group takes what was queued since. */
        if (rc == MDB_SUCCESS && b->next == NULL && held)
            group_take_more(store, b, events, &epoch, &held);
    }
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(g.txn); /* frees the cursor too */
        return rc;
    }
    mdb_cursor_close(g.hist);
    mdb_cursor_close(g.rr);
    /* An injected failure (fault.c) replaces the commit. */
    int fault = store__fault_check(store);
    if (fault != 0) {
        mdb_txn_abort(g.txn);
        return fault;
    }
    int64_t t0 = ttai_mono_ns();
    rc = store->wal != NULL ? store__wal_commit(store, g.txn) : mdb_txn_commit(g.txn);
    *commit_ns = ttai_mono_ns() - t0;
    pthread_mutex_lock(&store->mu);
    store->counters.commit_ns_total += (uint64_t)*commit_ns;
    if (rc == MDB_SUCCESS && g.merged)
        store->counters.recent_merges++;
    pthread_mutex_unlock(&store->mu);
    return rc;
}

/* Grows the map after MDB_MAP_FULL. Returns false at the limit. */
static bool map_grow(struct store *store)
{
    if (store->map_bytes >= store->map_bytes_max)
        return false;
    size_t next = store->map_bytes * 2;
    if (next > store->map_bytes_max || next < store->map_bytes)
        next = store->map_bytes_max;
    pthread_rwlock_wrlock(&store->resize_lock);
    int rc = mdb_env_set_mapsize(store->env, next);
    pthread_rwlock_unlock(&store->resize_lock);
    if (rc != MDB_SUCCESS)
        return false;
    pthread_mutex_lock(&store->mu);
    store->map_bytes = next;
    store->counters.map_grows++;
    pthread_mutex_unlock(&store->mu);
    return true;
}

static void group_fail_all(struct store_batch *list, int rc, const char *fmt, const char *detail)
{
    for (struct store_batch *b = list; b != NULL; b = b->next)
        if (b->rc == 0)
            ttai_errf(&b->err, rc, fmt, detail);
    for (struct store_batch *b = list; b != NULL; b = b->next)
        if (b->rc == 0)
            b->rc = rc;
}

void store__latch_fatal(struct store *store, int rc, const char *msg)
{
    /* Under mu: the writer and the checkpoint thread may both fail. */
    pthread_mutex_lock(&store->mu);
    if (atomic_load(&store->fatal) == 0) {
        snprintf(store->fatal_msg, sizeof(store->fatal_msg), "%s", msg);
        atomic_store(&store->fatal, rc);
    }
    pthread_mutex_unlock(&store->mu);
}

/* The batches and events of a group's list. */
static void group_size(const struct store_batch *list, size_t *count, size_t *events)
{
    *count = *events = 0;
    for (const struct store_batch *b = list; b != NULL; b = b->next) {
        (*count)++;
        *events += b->event_count;
    }
}

/* Commits one group: retries after growing the map, latches on failure. A
 * held one takes the batches queued meanwhile into its list
 * (group_take_more). */
static void group_commit(struct store *store, struct store_batch *list, bool held,
                         uint64_t epoch)
{
    size_t count, events;
    if (atomic_load(&store->fatal) != 0) {
        group_fail_all(list, TTAI_EFATAL, "store refuses writes after an earlier failure: %s",
                       store->fatal_msg);
        return;
    }
    uint64_t refused = 0;
    int64_t commit_ns = 0;
    int checkpointed = 0;
    bool may_merge = true, merged = false;
    int rc;
    for (;;) {
        rc = group_run(store, list, held, epoch, may_merge, &merged, &refused, &commit_ns);
        /* A full disk: the pages the checkpoint's pin holds are free once a
         * checkpoint moves it; nothing of the group was kept (checkpoint.c),
         * so it can run again. */
        if (rc == ENOSPC && checkpointed++ == 0 && store__ckpt_release(store))
            continue;
        if (rc != MDB_MAP_FULL)
            break;
        /* At the limit, pages that only the checkpoint's pin still holds
         * count as free once a checkpoint of the last commit moves it. */
        if (!map_grow(store) && !(checkpointed++ == 0 && store__ckpt_release(store))) {
            /* The merge copies events before it frees their stretches:
             * at the limit the group goes without it, the merge waits. */
            if (merged) {
                may_merge = false;
                continue;
            }
            char detail[64];
            snprintf(detail, sizeof(detail), "%zu", store->map_bytes);
            for (struct store_batch *b = list; b != NULL; b = b->next)
                b->rc = 0;
            group_fail_all(list, TTAI_ENOSPC,
                           "no space: the store reached its map size limit of %s bytes", detail);
            return;
        }
    }
    group_size(list, &count, &events);
    if (rc != MDB_SUCCESS) {
        char msg[TTAI_ERR_MSG_MAX];
        int code = store__rc_from_mdb(rc);
        uint64_t avail = 0;
        if ((code == TTAI_EIO || code == TTAI_ENOSPC) && store__disk_full(store->dir, &avail))
            code = TTAI_ENOSPC; /* a short write on a full disk comes back as EIO */
        snprintf(msg, sizeof(msg), "commit of %zu batches to '%s' failed: %s", count, store->dir,
                 code == TTAI_ENOSPC ? "no space left on device" : mdb_strerror(rc));
        store__latch_fatal(store, code == TTAI_ENOSPC ? TTAI_ENOSPC : TTAI_EFATAL, msg);
        for (struct store_batch *b = list; b != NULL; b = b->next)
            if (b->rc != TTAI_ECONFLICT && b->rc != TTAI_ENOTFOUND)
                b->rc = 0;
        group_fail_all(list, code == TTAI_ENOSPC ? TTAI_ENOSPC : TTAI_EIO, "%s", msg);
        return;
    }
    /* Refused batches appended nothing: count only the others' events. */
    size_t appended = 0;
    for (struct store_batch *b = list; b != NULL; b = b->next)
        if (b->rc == 0)
            appended += b->event_count;
    TTAI_ASSERT(appended <= events);
    pthread_mutex_lock(&store->mu);
    store->counters.commits++;
    store->counters.batches += count - refused;
    store->counters.batches_refused += refused;
    store->counters.events += appended;
    if (count > store->counters.group_batches_max)
        store->counters.group_batches_max = count;
    size_t bucket = 0;
    while (bucket < STORE_GROUP_BUCKETS - 1 && count > (size_t)1 << bucket)
        bucket++;
    store->counters.group_sizes[bucket]++;
    /* With the commit it times, so that a snapshot has one sample per commit. */
    store_latency_add(&store->counters.commit_latency, commit_ns);
    pthread_mutex_unlock(&store->mu);
    store__ckpt_maybe(store);
}

/* Commits a chain of batches (linked through next, NULL-terminated) in
 * groups of at most group_events_max events (at least one batch each) and
 * finishes every batch. held: the chain belongs to a hold (epoch) still
 * open when it was taken; its last group takes the batches queued meanwhile
 * (not an earlier one: the chain's rest was queued before them). The
 * caller has set group_busy. */
static void commit_chain(struct store *store, struct store_batch *list, bool held,
                         uint64_t epoch)
{
    while (list != NULL) {
        struct store_batch *last = list;
        size_t events = list->event_count;
        while (last->next != NULL && events + last->next->event_count <= store->group_events_max) {
            last = last->next;
            events += last->event_count;
        }
        struct store_batch *rest = last->next;
        last->next = NULL;
        group_commit(store, list, held && rest == NULL, epoch);
        while (list != NULL) {
            struct store_batch *next = list->next;
            list->next = NULL;
            batch_finish(list);
            list = next;
        }
        list = rest;
    }
}

/* Whether stretches wait in `recent`. A read without resize_lock: only this
 * thread resizes the map (invariant 1). */
static bool recent_waiting(struct store *store)
{
    MDB_txn *txn;
    uint64_t stretches = 0, next_seq;
    if (mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
        return false;
    (void)store__recent_state(txn, store, &stretches, &next_seq);
    mdb_txn_abort(txn);
    return stretches > 0;
}

static void *writer_main(void *arg)
{
    struct store *store = arg;
    pthread_setname_np(pthread_self(), "ttai-writer"); /* top -H, perf --sort comm */
    pthread_mutex_lock(&store->mu);
    for (;;) {
        /* An inline commit in progress (group_busy) goes first: batches
         * queued behind it were submitted after it and commit after it. */
        if (store->queue_head == NULL || store->group_busy) {
            if (store->stopping && store->queue_head == NULL && !store->group_busy) {
                /* Drained: a last group merges the recent events, so that
                 * a stopped store holds every history in one place. */
                pthread_mutex_unlock(&store->mu);
                if (recent_waiting(store))
                    group_commit(store, NULL, false, 0);
                pthread_mutex_lock(&store->mu);
                break;
            }
            pthread_cond_wait(&store->work_cv, &store->mu);
            continue;
        }
        /* Take batches up to the group limit (at least one). */
        uint64_t epoch = 0;
        struct store_batch *list = queue_take(store, 0, &epoch, true);
        store->group_busy = true;
        bool held = hold_open(store, epoch);
        pthread_mutex_unlock(&store->mu);

        commit_chain(store, list, held, epoch);
        pthread_mutex_lock(&store->mu);
        store->group_busy = false;
    }
    pthread_mutex_unlock(&store->mu);
    return NULL;
}

int store__writer_start(struct store *store, struct ttai_err *err)
{
    int rc = pthread_create(&store->writer, NULL, writer_main, store);
    if (rc != 0)
        return ttai_errf(err, TTAI_EIO, "cannot start the writer thread: %s", strerror(rc));
    store->writer_running = true;
    return TTAI_OK;
}

void store__writer_stop(struct store *store)
{
    if (!store->writer_running)
        return;
    pthread_mutex_lock(&store->mu);
    store->stopping = true;
    pthread_cond_signal(&store->work_cv);
    pthread_mutex_unlock(&store->mu);
    pthread_join(store->writer, NULL);
    store->writer_running = false;
}

/* Queues a chain of batches (linked through next, already initialised,
 * last->next NULL) in one step, so that the writer sees them together.
 * With inline_commits, when no group is being committed and nothing is
 * queued, the caller commits the chain itself instead: the order of
 * commits is still the order of submits, and the writer thread is neither
 * woken nor waited for. */
static int enqueue_chain(struct store *store, struct store_batch *first, struct store_batch *last)
{
    if (store->read_only)
        return TTAI_EPERM;
    if (atomic_load(&store->fatal) != 0)
        return TTAI_EFATAL;
    pthread_mutex_lock(&store->mu);
    if (store->stopping) {
        pthread_mutex_unlock(&store->mu);
        return TTAI_ECLOSED;
    }
    if (store->inline_commits && !store->group_busy && store->queue_head == NULL) {
        store->group_busy = true;
        pthread_mutex_unlock(&store->mu);
        commit_chain(store, first, false, 0);
        pthread_mutex_lock(&store->mu);
        store->group_busy = false;
        /* The writer waits while a group is busy: batches queued meanwhile,
         * or a close, are its to handle now. */
        if (store->queue_head != NULL || store->stopping)
            pthread_cond_signal(&store->work_cv);
        pthread_mutex_unlock(&store->mu);
        return TTAI_OK;
    }
    /* Batches queued while a hold is open belong to it (queue_take). */
    uint64_t epoch = store->holds_begun > store->group_releases ? store->holds_begun : 0;
    for (struct store_batch *b = first; b != NULL; b = b->next)
        b->hold_epoch = epoch;
    if (store->queue_tail != NULL)
        store->queue_tail->next = first;
    else
        store->queue_head = first;
    store->queue_tail = last;
    pthread_cond_signal(&store->work_cv);
    pthread_mutex_unlock(&store->mu);
    return TTAI_OK;
}

int store_submit_many(struct store *store, struct store_batch *const *batches, size_t count,
                      store_commit_fn commit_cb, void *const *args)
{
    if (count == 0)
        return TTAI_OK;
    for (size_t i = 0; i < count; i++) {
        struct store_batch *b = batches[i];
        b->commit_cb = commit_cb;
        b->arg = args[i];
        b->waiter = NULL;
        b->rc = 0;
        b->next = i + 1 < count ? batches[i + 1] : NULL;
    }
    return enqueue_chain(store, batches[0], batches[count - 1]);
}

void store_group_hold(struct store *store)
{
    if (store->inline_commits)
        return; /* submitters commit their own batches */
    pthread_mutex_lock(&store->mu);
    store->holds_begun++;
    pthread_mutex_unlock(&store->mu);
}

void store_group_release(struct store *store)
{
    if (store->inline_commits)
        return;
    pthread_mutex_lock(&store->mu);
    TTAI_ASSERT(store->holds_begun > store->group_releases);
    store->group_releases++;
    /* The writer may be waiting for more of the held group: it is complete. */
    pthread_cond_signal(&store->work_cv);
    pthread_mutex_unlock(&store->mu);
}

static int enqueue(struct store *store, struct store_batch *batch)
{
    batch->next = NULL;
    batch->rc = 0;
    return enqueue_chain(store, batch, batch);
}

int store_submit(struct store *store, struct store_batch *batch, store_commit_fn commit_cb,
                 void *arg)
{
    batch->commit_cb = commit_cb;
    batch->arg = arg;
    batch->waiter = NULL;
    return enqueue(store, batch);
}

int store_commit(struct store *store, struct store_batch *batch, struct ttai_err *err)
{
    struct commit_waiter w;
    sem_init(&w.done, 0, 0);
    batch->commit_cb = NULL;
    batch->waiter = &w;
    int rc = enqueue(store, batch);
    if (rc == TTAI_OK) {
        while (sem_wait(&w.done) != 0) {
            /* EINTR: a signal handler ran; keep waiting */
        }
        rc = batch->rc;
        if (rc != 0 && err != NULL)
            *err = batch->err;
    } else if (rc == TTAI_EFATAL) {
        ttai_errf(err, rc, "store refuses writes after an earlier failure: %s", store->fatal_msg);
    } else {
        ttai_errf(err, rc, "cannot submit batch: %s", ttai_strerror(rc));
    }
    batch->waiter = NULL;
    sem_destroy(&w.done);
    return rc;
}
