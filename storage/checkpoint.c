/* checkpoint.c: group commits through the write-ahead log, checkpoints,
 * and recovery.
 *
 * With syncs on, a group commit is: the group's LMDB writes are collected
 * into one log record while they are applied; the record is appended and
 * synced (wal.c); only then is the LMDB transaction committed, without a
 * sync (MDB_NOSYNC), so readers never see a group before it is durable.
 * Every store_opts.checkpoint_ms (50 ms), or when a quarter of the ring is in use, the
 * writer takes a checkpoint of the snapshot it committed last: a read
 * transaction that pins it, LMDB's two meta pages as they are now, and the
 * log position. The checkpoint thread then syncs data.mdb once and records
 * the checkpoint in the log's header; the ring before it is free again and
 * the previous pin is dropped.
 *
 * Why the checkpoint's snapshot survives a power loss: LMDB writes a commit
 * into pages no snapshot that a reader holds points to, and the pin is such
 * a reader, so no later commit writes into the snapshot's pages. Later
 * commits' meta pages may reach the disk before their data pages do (they
 * are not synced), which is why recovery writes the checkpoint's meta pages
 * back before LMDB opens the file: LMDB then sees exactly the snapshot, and
 * the log's records after it redo everything acknowledged since.
 *
 * Invariants:
 *  1. A group's batches are acknowledged only after its record is durable
 *     (or, for a group too large for the ring, after a checkpoint covering
 *     its commit is).
 *  2. A checkpoint is written to the log only after data.mdb was synced
 *     with the snapshot it names in it.
 *  3. `pin` always holds the snapshot of the checkpoint in the log's
 *     header; it moves only after a newer checkpoint is durable.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_CAPACITY_BYTES ((uint64_t)64 << 20)
/* Operations per transaction while replaying: keeps LMDB's dirty list small. */
#define REPLAY_OPS_PER_TXN 20000

/* ---- Taking and recording checkpoints -------------------------------- */

static int read_meta_pages(struct store *store, struct wal_checkpoint *c)
{
    for (int i = 0; i < 2; i++) {
        ssize_t r = pread(store->data_fd, c->meta[i], WAL_META_BYTES, (off_t)i * store->page_size);
        if (r != WAL_META_BYTES)
            return r < 0 ? errno : EIO;
    }
    return 0;
}

/* Captures the snapshot committed last (writer thread, between commits or
 * with a write transaction open: neither changes the committed snapshot;
 * or the open, before the log exists).
 * *pin gets the read transaction that holds it. */
static int ckpt_capture(struct store *store, struct wal_checkpoint *c, MDB_txn **pin)
{
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, pin);
    if (rc != MDB_SUCCESS)
        return rc;
    memset(c, 0, sizeof(*c));
    c->txnid = mdb_txn_id(*pin);
    c->page_size = store->page_size;
    rc = read_meta_pages(store, c);
    if (rc != 0) {
        mdb_txn_abort(*pin);
        *pin = NULL;
        return rc;
    }
    if (store->wal != NULL) /* without one, wal_create places the first record */
        wal_position(store->wal, &c->lsn, &c->off);
    memcpy(c->boot_id, store->boot_id, sizeof(c->boot_id));
    store->ckpt_last_ns = ttai_mono_ns();
    return 0;
}

/* Syncs data.mdb, then records c (invariant 2). */
static int ckpt_record(struct store *store, struct wal_checkpoint *c, struct ttai_err *err)
{
    int64_t t0 = ttai_mono_ns();
    if (fdatasync(store->data_fd) != 0)
        return ttai_errf(err, errno == ENOSPC ? TTAI_ENOSPC : TTAI_EIO,
                         "cannot sync '%s/data.mdb' for a checkpoint: %s", store->dir,
                         strerror(errno));
    int rc = wal_checkpoint_write(store->wal, c, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&store->mu);
    store->counters.checkpoints++;
    store->counters.checkpoint_ns_total += (uint64_t)(ttai_mono_ns() - t0);
    pthread_mutex_unlock(&store->mu);
    return TTAI_OK;
}

/* Moves the pin to a durable checkpoint's snapshot (invariant 3). */
static void pin_move(struct store *store, MDB_txn *pin)
{
    pthread_mutex_lock(&store->ckpt_mu);
    MDB_txn *old = store->pin;
    store->pin = pin;
    pthread_mutex_unlock(&store->ckpt_mu);
    if (old != NULL)
        mdb_txn_abort(old);
}

static void ckpt_failed(struct store *store, const struct ttai_err *err)
{
    store__latch_fatal(store, err->rc == TTAI_ENOSPC ? TTAI_ENOSPC : TTAI_EFATAL, err->msg);
}

static void *ckpt_main(void *arg)
{
    struct store *store = arg;
    pthread_setname_np(pthread_self(), "ttai-checkpoint"); /* top -H, perf --sort comm */
    pthread_mutex_lock(&store->ckpt_mu);
    for (;;) {
        if (!store->ckpt_busy) {
            if (store->ckpt_stop)
                break;
            pthread_cond_wait(&store->ckpt_cv, &store->ckpt_mu);
            continue;
        }
        struct wal_checkpoint job = store->ckpt_job;
        MDB_txn *job_pin = store->ckpt_job_pin;
        pthread_mutex_unlock(&store->ckpt_mu);

        struct ttai_err err = {0};
        int rc = ckpt_record(store, &job, &err);
        if (rc == 0) {
            pin_move(store, job_pin);
        } else {
            mdb_txn_abort(job_pin);
            ckpt_failed(store, &err);
        }
        pthread_mutex_lock(&store->ckpt_mu);
        store->ckpt_job_pin = NULL;
        store->ckpt_busy = false;
        pthread_cond_broadcast(&store->ckpt_cv);
    }
    pthread_mutex_unlock(&store->ckpt_mu);
    return NULL;
}

/* Waits until no checkpoint is being made. */
static void ckpt_wait_idle(struct store *store)
{
    pthread_mutex_lock(&store->ckpt_mu);
    while (store->ckpt_busy)
        pthread_cond_wait(&store->ckpt_cv, &store->ckpt_mu);
    pthread_mutex_unlock(&store->ckpt_mu);
}

/* A checkpoint made on the calling thread (the writer, or open and close),
 * after any in flight. */
static int ckpt_now(struct store *store, struct ttai_err *err)
{
    ckpt_wait_idle(store);
    struct wal_checkpoint c;
    MDB_txn *pin = NULL;
    int rc = ckpt_capture(store, &c, &pin);
    if (rc != 0)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot take a checkpoint of '%s': %s",
                         store->dir, mdb_strerror(rc));
    rc = ckpt_record(store, &c, err);
    if (rc != 0) {
        mdb_txn_abort(pin);
        return rc;
    }
    pin_move(store, pin);
    return TTAI_OK;
}

bool store__ckpt_release(struct store *store)
{
    if (store->wal == NULL)
        return false;
    struct ttai_err err = {0};
    int rc = ckpt_now(store, &err);
    if (rc != 0)
        ckpt_failed(store, &err);
    return rc == 0;
}

void store__ckpt_maybe(struct store *store)
{
    if (store->wal == NULL)
        return;
    int64_t now = ttai_mono_ns();
    if (now - store->ckpt_last_ns < store->ckpt_interval_ns &&
        wal_used_bytes(store->wal) < wal_capacity(store->wal) / 4)
        return;
    pthread_mutex_lock(&store->ckpt_mu);
    bool busy = store->ckpt_busy;
    pthread_mutex_unlock(&store->ckpt_mu);
    if (busy)
        return;
    struct wal_checkpoint c;
    MDB_txn *pin = NULL;
    if (ckpt_capture(store, &c, &pin) != 0)
        return; /* tried again after the next commit */
    pthread_mutex_lock(&store->ckpt_mu);
    store->ckpt_job = c;
    store->ckpt_job_pin = pin;
    store->ckpt_busy = true;
    pthread_cond_signal(&store->ckpt_cv);
    pthread_mutex_unlock(&store->ckpt_mu);
}

/* ---- Group commits ------------------------------------------------------ */

int store__wal_add(struct store *store, enum wal_op op, int table, const MDB_val *key,
                   const MDB_val *val)
{
    int rc = wal_record_add(store->wal, op, table, key->mv_data, key->mv_size,
                            val ? val->mv_data : NULL, val ? val->mv_size : 0);
    return rc == 0 ? MDB_SUCCESS : ENOMEM;
}

static int errno_of(int ttai_rc)
{
    return ttai_rc == TTAI_ENOSPC ? ENOSPC : ttai_rc == TTAI_ENOMEM ? ENOMEM : EIO;
}

int store__wal_commit(struct store *store, MDB_txn *txn)
{
    struct wal *wal = store->wal;
    struct ttai_err err = {0};
    size_t bytes = wal_record_bytes(wal);
    if (bytes > wal_record_max(wal)) {
        /* Larger than the ring: commit, then a checkpoint makes it durable
         * (invariant 1). Should that fail, readers may have seen the group:
         * the store latches (the caller does on any error). */
        int rc = mdb_txn_commit(txn);
        if (rc != MDB_SUCCESS)
            return rc;
        rc = ckpt_now(store, &err);
        /* Never ENOSPC here, which would make the caller run the group
         * again: it is committed (the caller tells a full disk apart). */
        return rc == 0 ? MDB_SUCCESS : EIO;
    }
    while (!wal_room(wal, bytes)) {
        /* The ring is full of records no checkpoint covers yet: wait for
         * the one in flight, or make one here. */
        pthread_mutex_lock(&store->ckpt_mu);
        bool busy = store->ckpt_busy;
        pthread_mutex_unlock(&store->ckpt_mu);
        int rc = busy ? (ckpt_wait_idle(store), 0) : ckpt_now(store, &err);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return errno_of(rc);
        }
    }
    int rc = wal_record_write(wal, &err);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return errno_of(rc);
    }
    pthread_mutex_lock(&store->mu);
    store->counters.wal_bytes += bytes;
    pthread_mutex_unlock(&store->mu);
    int mrc = mdb_txn_commit(txn);
    if (mrc != MDB_SUCCESS && wal_record_revoke(wal) != 0) {
        /* Durable in the log but not committed, and the record cannot be
         * taken back: a restart would replay it. Nothing here can say
         * whether the group happened; the store latches (the caller). */
        return MDB_PANIC;
    }
    return mrc;
}

/* ---- Open: restore, replay, start ----------------------------------------- */

/* LMDB's last transaction id in data.mdb as it is on disk, by opening it. */
static int disk_txnid(struct store *store, uint64_t *out, struct ttai_err *err)
{
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc == MDB_SUCCESS) {
        mdb_env_set_maxdbs(env, STORE_T__COUNT + 2);
        rc = mdb_env_open(env, store->dir, MDB_NOTLS | MDB_RDONLY, 0644);
        if (rc == MDB_SUCCESS) {
            MDB_envinfo info;
            mdb_env_info(env, &info);
            *out = info.me_last_txnid;
        }
        mdb_env_close(env);
    }
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot read '%s/data.mdb': %s", store->dir,
                         mdb_strerror(rc));
    return TTAI_OK;
}

void store__boot_id(struct store *store, const char *given)
{
    memset(store->boot_id, 0, sizeof(store->boot_id));
    if (given != NULL) {
        snprintf(store->boot_id, sizeof(store->boot_id), "%s", given);
        return;
    }
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* unknown: every open recovers as after a restart */
    ssize_t n = read(fd, store->boot_id, sizeof(store->boot_id) - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i++)
        if (store->boot_id[i] == '\n')
            store->boot_id[i] = '\0';
    if (n < 0)
        store->boot_id[0] = '\0';
}

int store__wal_check_readable(struct store *store, struct ttai_err *err)
{
    struct wal *wal = NULL;
    bool has_ckpt = false;
    int rc = wal_open(&wal, store->dir, WAL_CAPACITY_BYTES, true, &has_ckpt, err);
    if (rc != 0) {
        wal_close(wal);
        return rc;
    }
    struct wal_checkpoint c;
    bool pending = false;
    if (has_ckpt) {
        wal_checkpoint_get(wal, &c);
        pending = (store->boot_id[0] == '\0' || strcmp(c.boot_id, store->boot_id) != 0) &&
                  wal_has_records(wal);
    }
    wal_close(wal);
    if (pending)
        return ttai_errf(err, TTAI_EBUSY,
                         "'%s' was not recovered since the machine restarted: its write-ahead "
                         "log holds changes data.mdb may lack; start ttaid on it once",
                         store->dir);
    return TTAI_OK;
}

/* A log whose checkpoint names a later LMDB transaction than data.mdb has
 * belongs to another data.mdb: restoring its meta pages would point LMDB at
 * pages this file does not hold. */
static int log_newer_than_data(struct store *store, uint64_t ckpt_txnid, uint64_t data_txnid,
                               struct ttai_err *err)
{
    return ttai_errf(err, TTAI_ECORRUPT,
                     "'%s/wal' belongs to a newer data.mdb (transaction %" PRIu64
                     ", data.mdb has %" PRIu64 "): if data.mdb was restored from a backup, "
                     "remove '%s/wal' and start again",
                     store->dir, ckpt_txnid, data_txnid, store->dir);
}

int store__wal_prepare(struct store *store, struct ttai_err *err)
{
    bool has_ckpt = false;
    int rc = wal_open(&store->wal, store->dir, WAL_CAPACITY_BYTES, false, &has_ckpt, err);
    if (rc != 0 || !has_ckpt)
        return rc; /* no log: store__wal_start creates it */
    struct wal_checkpoint c;
    wal_checkpoint_get(store->wal, &c);
    /* In the boot that wrote the checkpoint, the page cache holds every
     * commit made since; with no record after the checkpoint (a clean stop)
     * nothing was committed since it. Either way data.mdb is whole as it
     * is (wal_discard), and store__wal_start checks that it is not older
     * than the log once LMDB has opened it. */
    store->data_whole = (store->boot_id[0] != '\0' && strcmp(c.boot_id, store->boot_id) == 0) ||
                        !wal_has_records(store->wal);
    if (store->data_whole)
        return TTAI_OK;
    /* Before the meta pages below overwrite it, the same check on the disk. */
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.mdb", store->dir);
    struct stat st;
    uint64_t on_disk = 0;
    if (stat(path, &st) != 0 || (rc = disk_txnid(store, &on_disk, err)) != 0 || on_disk < c.txnid)
        return rc != 0 ? rc : log_newer_than_data(store, c.txnid, on_disk, err);
    /* Put the checkpoint's meta pages back (see the top of this file). */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    int e = fd < 0 ? errno : 0;
    for (int i = 0; e == 0 && i < 2; i++) {
        uint8_t now[WAL_META_BYTES];
        off_t at = (off_t)i * c.page_size;
        if (pread(fd, now, sizeof(now), at) == (ssize_t)sizeof(now) &&
            memcmp(now, c.meta[i], sizeof(now)) == 0)
            continue;
        if (pwrite(fd, c.meta[i], WAL_META_BYTES, at) != (ssize_t)WAL_META_BYTES)
            e = errno ? errno : EIO;
    }
    if (e == 0 && fdatasync(fd) != 0)
        e = errno;
    if (fd >= 0)
        close(fd);
    if (e != 0)
        return ttai_errf(err, TTAI_EIO, "cannot restore the checkpoint in '%s': %s", path,
                         strerror(e));
    /* Room for the replay, whatever the map's configured limit: the records
     * fitted before the stop. */
    uint64_t want = (uint64_t)st.st_size + 2 * wal_capacity(store->wal);
    if (want > store->map_bytes)
        store->map_bytes = (size_t)want;
    if (store->map_bytes > store->map_bytes_max)
        store->map_bytes_max = store->map_bytes;
    return TTAI_OK;
}

struct replay {
    struct store *store;
    MDB_txn *txn;
    size_t ops;
};

static int replay_apply(void *arg, enum wal_op op, int table, const void *key, size_t key_len,
                        const void *val, size_t val_len)
{
    struct replay *r = arg;
    if (table < 0 || table >= STORE_T__COUNT ||
        (!r->store->has_recent && (table == STORE_T_RECENT || table == STORE_T_RECENT_RUN)))
        return TTAI_ECORRUPT;
    if (r->ops >= REPLAY_OPS_PER_TXN) {
        int rc = mdb_txn_commit(r->txn);
        r->txn = NULL;
        if (rc == MDB_SUCCESS)
            rc = mdb_txn_begin(r->store->env, NULL, 0, &r->txn);
        if (rc != MDB_SUCCESS)
            return store__rc_from_mdb(rc);
        r->ops = 0;
    }
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    int rc = op == WAL_OP_MERGE ? store__recent_merge(r->store, r->txn)
             : op == WAL_OP_PUT ? mdb_put(r->txn, r->store->dbi[table], &k, &v, 0)
                                : mdb_del(r->txn, r->store->dbi[table], &k, NULL);
    if (rc == MDB_NOTFOUND && op == WAL_OP_DEL)
        rc = MDB_SUCCESS;
    r->ops++;
    return store__rc_from_mdb(rc);
}

int store__wal_start(struct store *store, struct ttai_err *err)
{
    int rc;
    store->page_size = 0;
    MDB_stat ms;
    if (mdb_env_stat(store->env, &ms) == MDB_SUCCESS)
        store->page_size = ms.ms_psize;
    if (mdb_env_get_fd(store->env, &store->data_fd) != MDB_SUCCESS || store->page_size == 0)
        return ttai_errf(err, TTAI_EIO, "cannot get data.mdb's descriptor in '%s'", store->dir);

    struct wal_checkpoint c;
    MDB_txn *pin = NULL;
    if (store->wal == NULL || !wal_has_checkpoint(store->wal)) {
        /* No log yet: data.mdb was synced by every commit so far (the
         * environment is still in synced mode). Its snapshot is the first
         * checkpoint. */
        wal_close(store->wal);
        store->wal = NULL;
        rc = ckpt_capture(store, &c, &pin);
        if (rc != 0)
            return ttai_errf(err, store__rc_from_mdb(rc), "cannot read '%s/data.mdb': %s",
                             store->dir, mdb_strerror(rc));
        bool has_ckpt = false;
        rc = wal_create(store->dir, WAL_CAPACITY_BYTES, &c, err);
        if (rc == 0)
            rc = wal_open(&store->wal, store->dir, WAL_CAPACITY_BYTES, false, &has_ckpt, err);
        if (rc == 0 && !has_ckpt)
            rc = ttai_errf(err, TTAI_ECORRUPT, "'%s/wal' has no checkpoint after creation",
                           store->dir);
        if (rc != 0) {
            mdb_txn_abort(pin);
            return rc;
        }
    } else {
        wal_checkpoint_get(store->wal, &c);
        MDB_envinfo info;
        mdb_env_info(store->env, &info);
        rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &pin);
        if (rc != MDB_SUCCESS)
            return ttai_errf(err, store__rc_from_mdb(rc), "cannot read '%s/data.mdb': %s",
                             store->dir, mdb_strerror(rc));
        if (store->data_whole && info.me_last_txnid < c.txnid) {
            mdb_txn_abort(pin);
            return log_newer_than_data(store, c.txnid, info.me_last_txnid, err);
        }
        if (!store->data_whole && (info.me_last_txnid != c.txnid || mdb_txn_id(pin) != c.txnid)) {
            mdb_txn_abort(pin);
            return ttai_errf(err, TTAI_ECORRUPT,
                             "data.mdb in '%s' is at transaction %zu after restoring the "
                             "checkpoint of transaction %" PRIu64,
                             store->dir, info.me_last_txnid, c.txnid);
        }
    }
    store->pin = pin;
    /* From here on LMDB does not sync: the log and checkpoints do. */
    rc = mdb_env_set_flags(store->env, MDB_NOSYNC, 1);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot switch '%s' to logged commits: %s",
                         store->dir, mdb_strerror(rc));

    struct replay r = {.store = store};
    rc = mdb_txn_begin(store->env, NULL, 0, &r.txn);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot replay the log of '%s': %s",
                         store->dir, mdb_strerror(rc));
    uint64_t records = 0;
    if (store->data_whole)
        wal_discard(store->wal);
    else
        rc = wal_replay(store->wal, replay_apply, &r, &records, err);
    if (rc == 0) {
        int mrc = mdb_txn_commit(r.txn);
        r.txn = NULL;
        if (mrc != MDB_SUCCESS)
            rc = ttai_errf(err, store__rc_from_mdb(mrc), "cannot replay the log of '%s': %s",
                           store->dir, mdb_strerror(mrc));
    }
    if (r.txn != NULL)
        mdb_txn_abort(r.txn);
    if (rc == 0)
        rc = store__schema_upgrade(store, err); /* made durable by the checkpoint */
    if (rc == 0)
        rc = ckpt_now(store, err); /* starts the log's new epoch (wal.c invariant 3) */
    if (rc != 0)
        return rc;
    store->counters.wal_records_replayed = records;

    rc = pthread_create(&store->ckpt_thread, NULL, ckpt_main, store);
    if (rc != 0)
        return ttai_errf(err, TTAI_EIO, "cannot start the checkpoint thread: %s", strerror(rc));
    store->ckpt_running = true;
    return TTAI_OK;
}

void store__wal_stop(struct store *store)
{
    if (store->wal == NULL)
        return;
    if (store->ckpt_running) {
        pthread_mutex_lock(&store->ckpt_mu);
        store->ckpt_stop = true;
        pthread_cond_signal(&store->ckpt_cv);
        pthread_mutex_unlock(&store->ckpt_mu);
        pthread_join(store->ckpt_thread, NULL);
        store->ckpt_running = false;
        /* A clean stop leaves nothing to replay. */
        struct ttai_err err = {0};
        if (atomic_load(&store->fatal) == 0 && ckpt_now(store, &err) != 0)
            ckpt_failed(store, &err);
    }
    if (store->pin != NULL)
        mdb_txn_abort(store->pin);
    store->pin = NULL;
    wal_close(store->wal);
    store->wal = NULL;
}
