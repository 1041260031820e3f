/* store.c: opening the LMDB environment, the key layouts, and every read.
 *
 * The write path (batches and group commit) is in writer.c. The tables and
 * their keys are documented in docs/storage.md; the builders below are the
 * only place that knows them.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAP_BYTES_DEFAULT ((size_t)256 << 20)
#define MAP_BYTES_MAX_DEFAULT ((size_t)1 << 40)
#define GROUP_EVENTS_DEFAULT 20000

static const char *const table_names[STORE_T__COUNT] = {
    "meta", "exec", "run", "hist", "timer", "act", "sched", "vis_status", "vis_type", "vis_start",
    "recent", "recent_run",
};

static bool is_recent_table(int t)
{
    return t == STORE_T_RECENT || t == STORE_T_RECENT_RUN;
}

/* recent_run lists each run's stretches as fixed-size sorted duplicates. */
static unsigned table_flags(int t)
{
    return t == STORE_T_RECENT_RUN ? MDB_DUPSORT | MDB_DUPFIXED : 0;
}

const char *store_table_name(int table)
{
    if (table < 0 || table >= STORE_T__COUNT)
        return NULL;
    return table_names[table];
}

int store__rc_from_mdb(int mdb_rc)
{
    switch (mdb_rc) {
    case MDB_SUCCESS: return TTAI_OK;
    case MDB_NOTFOUND: return TTAI_ENOTFOUND;
    case MDB_KEYEXIST: return TTAI_EEXIST;
    case MDB_MAP_FULL: return TTAI_ENOSPC;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_BAD_VALSIZE: return TTAI_ECORRUPT;
    case MDB_VERSION_MISMATCH: return TTAI_EVERSION;
    case MDB_PANIC: return TTAI_EFATAL;
    case MDB_READERS_FULL:
    case MDB_TXN_FULL: return TTAI_EBUSY;
    case ENOSPC: return TTAI_ENOSPC;
    case ENOMEM: return TTAI_ENOMEM;
    case ENOENT: return TTAI_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS: return TTAI_EPERM;
    case EINVAL: return TTAI_EINVAL;
    default: return TTAI_EIO;
    }
}

/* ---- Keys ---------------------------------------------------------------- */

static size_t put_cstr0(uint8_t *key, const char *s)
{
    size_t n = strlen(s);
    memcpy(key, s, n);
    key[n] = 0;
    return n + 1;
}

size_t store__exec_key(uint8_t *key, const char *ns, const char *workflow_id)
{
    size_t o = put_cstr0(key, ns);
    size_t n = strlen(workflow_id);
    memcpy(key + o, workflow_id, n);
    return o + n;
}

size_t store__hist_key(uint8_t *key, const struct ttai_run_id *run, uint64_t event_id)
{
    memcpy(key, run->b, TTAI_RUN_ID_BYTES);
    store__put_be64(key + TTAI_RUN_ID_BYTES, event_id);
    return TTAI_RUN_ID_BYTES + 8;
}

size_t store__timer_key(uint8_t *key, int64_t fire_ms, const struct ttai_run_id *run, uint64_t seq)
{
    store__put_be64(key, store__time_key(fire_ms));
    memcpy(key + 8, run->b, TTAI_RUN_ID_BYTES);
    store__put_be64(key + 8 + TTAI_RUN_ID_BYTES, seq);
    return 8 + TTAI_RUN_ID_BYTES + 8;
}

size_t store__act_key(uint8_t *key, const struct ttai_run_id *run, uint64_t seq)
{
    return store__hist_key(key, run, seq);
}

static size_t put_start_and_run(uint8_t *key, const struct store_run *run)
{
    store__put_be64(key, store__time_key(run->start_ms));
    memcpy(key + 8, run->run_id.b, TTAI_RUN_ID_BYTES);
    return 8 + TTAI_RUN_ID_BYTES;
}

size_t store__vis_status_key(uint8_t *key, const struct store_run *run)
{
    size_t o = put_cstr0(key, run->ns);
    key[o++] = (uint8_t)run->status;
    return o + put_start_and_run(key + o, run);
}

size_t store__vis_type_key(uint8_t *key, const struct store_run *run)
{
    size_t o = put_cstr0(key, run->ns);
    o += put_cstr0(key + o, run->type);
    return o + put_start_and_run(key + o, run);
}

size_t store__vis_start_key(uint8_t *key, const struct store_run *run)
{
    size_t o = put_cstr0(key, run->ns);
    return o + put_start_and_run(key + o, run);
}

int store__last_event_id(MDB_cursor *cursor, const struct ttai_run_id *run, uint64_t *out)
{
    uint8_t kbuf[TTAI_RUN_ID_BYTES + 8];
    store__hist_key(kbuf, run, UINT64_MAX);
    MDB_val key = {sizeof(kbuf), kbuf}, val;
    int rc = mdb_cursor_get(cursor, &key, &val, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_get(cursor, &key, &val, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cursor, &key, &val, MDB_LAST);
    *out = 0;
    if (rc == MDB_NOTFOUND)
        return TTAI_OK;
    if (rc != MDB_SUCCESS)
        return store__rc_from_mdb(rc);
    if (key.mv_size == sizeof(kbuf) && memcmp(key.mv_data, run->b, TTAI_RUN_ID_BYTES) == 0)
        *out = store__get_be64((const uint8_t *)key.mv_data + TTAI_RUN_ID_BYTES);
    return TTAI_OK;
}

/* ---- Open and close ---------------------------------------------------- */

/* Opens every table, creating the missing ones when read-write, except the
 * recent tables: a schema-1 store has none, and creating them is part of
 * its upgrade (check_schema), which must wait for the log's replay. */
static int open_tables(struct store *store, MDB_txn *txn, struct ttai_err *err)
{
    store->has_recent = true;
    for (int t = 0; t < STORE_T__COUNT; t++) {
        bool create = !store->read_only && !is_recent_table(t);
        int rc = mdb_dbi_open(txn, table_names[t], table_flags(t) | (create ? MDB_CREATE : 0),
                              &store->dbi[t]);
        if (rc == MDB_NOTFOUND && is_recent_table(t)) {
            store->has_recent = false;
            continue;
        }
        if (rc != MDB_SUCCESS)
            return ttai_errf(err, store__rc_from_mdb(rc), "cannot open table '%s' in '%s': %s",
                             table_names[t], store->dir, mdb_strerror(rc));
    }
    return TTAI_OK;
}

/* Creates the recent tables and writes the current schema version, in txn. */
static int create_recent(struct store *store, MDB_txn *txn)
{
    int rc = MDB_SUCCESS;
    for (int t = STORE_T_RECENT; rc == MDB_SUCCESS && t <= STORE_T_RECENT_RUN; t++)
        rc = mdb_dbi_open(txn, table_names[t], table_flags(t) | MDB_CREATE, &store->dbi[t]);
    uint8_t version[4] = {0, 0, 0, STORE_SCHEMA_VERSION};
    MDB_val key = {strlen("schema_version"), "schema_version"}, val = {sizeof(version), version};
    if (rc == MDB_SUCCESS)
        rc = mdb_put(txn, store->dbi[STORE_T_META], &key, &val, 0);
    return rc;
}

int store__schema_upgrade(struct store *store, struct ttai_err *err)
{
    if (!store->upgrade_pending)
        return TTAI_OK;
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc == MDB_SUCCESS) {
        rc = create_recent(store, txn);
        rc = rc == MDB_SUCCESS ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc),
                         "cannot upgrade '%s' to schema version %d: %s", store->dir,
                         STORE_SCHEMA_VERSION, mdb_strerror(rc));
    store->upgrade_pending = false;
    store->has_recent = true;
    return TTAI_OK;
}

/* Checks the schema version, writing it (and a new engine id) into a new
 * store. Runs in the open transaction. */
static int check_schema(struct store *store, MDB_txn *txn, struct ttai_err *err)
{
    MDB_val key = {strlen("schema_version"), "schema_version"}, val;
    int rc = mdb_get(txn, store->dbi[STORE_T_META], &key, &val);
    if (rc == MDB_NOTFOUND && !store->read_only) {
        struct ttai_run_id engine_id;
        if (ttai_run_id_random(&engine_id) != 0)
            return ttai_errf(err, TTAI_EIO, "cannot read random bytes for the engine id");
        rc = create_recent(store, txn);
        store->has_recent = true;
        MDB_val id_key = {strlen("engine_id"), "engine_id"};
        MDB_val id_val = {sizeof(engine_id.b), engine_id.b};
        if (rc == MDB_SUCCESS)
            rc = mdb_put(txn, store->dbi[STORE_T_META], &id_key, &id_val, 0);
        if (rc != MDB_SUCCESS)
            return ttai_errf(err, store__rc_from_mdb(rc), "cannot write schema version: %s",
                             mdb_strerror(rc));
        return TTAI_OK;
    }
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, rc == MDB_NOTFOUND ? TTAI_ECORRUPT : store__rc_from_mdb(rc),
                         "cannot read schema version in '%s': %s", store->dir, mdb_strerror(rc));
    if (val.mv_size != 4)
        return ttai_errf(err, TTAI_ECORRUPT, "schema version in '%s' is %zu bytes, not 4",
                         store->dir, val.mv_size);
    const uint8_t *v = val.mv_data;
    uint32_t version = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    /* Schema 1 is schema 2 without the recent tables: read as it is, and
     * upgraded by a read-write open (store__schema_upgrade). */
    if (version == 1 && !store->has_recent) {
        store->upgrade_pending = !store->read_only;
        return TTAI_OK;
    }
    if (version != STORE_SCHEMA_VERSION)
        return ttai_errf(err, TTAI_EVERSION,
                         "data directory '%s' has schema version %u; this build reads version %d",
                         store->dir, version, STORE_SCHEMA_VERSION);
    if (!store->has_recent)
        return ttai_errf(err, TTAI_ECORRUPT, "data directory '%s' lacks its recent-events tables",
                         store->dir);
    return TTAI_OK;
}

static int lock_directory(struct store *store, struct ttai_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/ttai.lock", store->dir);
    store->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (store->lock_fd < 0)
        return ttai_errf(err, store__rc_from_mdb(errno), "cannot open '%s': %s", path,
                         strerror(errno));
    if (flock(store->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return ttai_errf(err, TTAI_EBUSY, "data directory '%s' is in use by another process",
                         store->dir);
    return TTAI_OK;
}

static int env_open(struct store *store, const struct store_opts *opts, struct ttai_err *err)
{
    int rc = mdb_env_create(&store->env);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot create LMDB environment: %s",
                         mdb_strerror(rc));
    mdb_env_set_maxdbs(store->env, STORE_T__COUNT + 2);
    mdb_env_set_maxreaders(store->env, 1024);
    /* store__wal_prepare may have asked for more, to replay the log. */
    size_t initial = opts->map_bytes_initial ? opts->map_bytes_initial : MAP_BYTES_DEFAULT;
    if (initial > store->map_bytes)
        store->map_bytes = initial;
    if (store->map_bytes > store->map_bytes_max)
        store->map_bytes = store->map_bytes_max; /* the cap wins over the (default) initial size */
    rc = mdb_env_set_mapsize(store->env, store->map_bytes);
    /* MDB_NOTLS: read transactions are not tied to threads (the engine
     * hands reads between threads). MDB_NORDAHEAD: random access pattern.
     * Without syncs (test environments), the writer also writes into the
     * map in place (MDB_WRITEMAP): a commit is then memory writes, where
     * it was one pwrite per dirty page and the meta page, the bulk of a
     * small commit's cost. Not with syncs: a stray write into a writable
     * map would reach the file, and msync of the whole map is no cheaper.
     * With syncs the environment opens synced; store__wal_start switches it
     * to unsynced commits once the write-ahead log is in place. */
    bool in_place = opts->no_sync && !store->read_only;
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (store->read_only ? MDB_RDONLY : 0) |
                     (in_place ? MDB_NOSYNC | MDB_WRITEMAP : 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(store->env, store->dir, flags, 0644);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot open data directory '%s': %s",
                         store->dir, mdb_strerror(rc));
    /* An existing file may be larger than the requested map: adopt its size. */
    MDB_envinfo info;
    mdb_env_info(store->env, &info);
    store->map_bytes = info.me_mapsize;
    return TTAI_OK;
}

int store_open(struct store **out, const struct store_opts *opts, struct ttai_err *err)
{
    *out = NULL;
    if (opts == NULL || opts->dir == NULL || opts->dir[0] == '\0')
        return ttai_errf(err, TTAI_EINVAL, "no data directory given");
    if (!opts->read_only && mkdir(opts->dir, 0755) != 0 && errno != EEXIST)
        return ttai_errf(err, store__rc_from_mdb(errno), "cannot create data directory '%s': %s",
                         opts->dir, strerror(errno));
    if (opts->read_only && access(opts->dir, F_OK) != 0)
        return ttai_errf(err, TTAI_ENOTFOUND, "data directory '%s' does not exist", opts->dir);
    struct store *store = ttai_calloc(1, sizeof(*store));
    if (store == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory opening store");
    store->lock_fd = -1;
    store->read_only = opts->read_only;
    store->map_bytes_max = opts->map_bytes_max ? opts->map_bytes_max : MAP_BYTES_MAX_DEFAULT;
    store->group_events_max = opts->group_events_max ? opts->group_events_max : GROUP_EVENTS_DEFAULT;
    store->hold_wait_ns = (opts->hold_wait_ms > 0 ? opts->hold_wait_ms : STORE_HOLD_WAIT_MS) * 1000000;
    store->inline_commits = opts->inline_commits && !store->read_only;
    store->recent_merge_stretches = opts->recent_merge_stretches ? opts->recent_merge_stretches
                                                                 : STORE__RECENT_MERGE_DEFAULT;
    store->dir = ttai_strndup(opts->dir, strlen(opts->dir));
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&store->resize_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&store->mu, NULL);
    /* The writer's waits for a held group time out on the monotonic clock. */
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&store->work_cv, &cattr);
    pthread_condattr_destroy(&cattr);
    pthread_mutex_init(&store->ckpt_mu, NULL);
    pthread_cond_init(&store->ckpt_cv, NULL);
    store->data_fd = -1;
    store->ckpt_interval_ns = (opts->checkpoint_ms > 0 ? opts->checkpoint_ms : 50) * 1000000;
    bool logged = !opts->read_only && !opts->no_sync;

    int rc = store->dir ? TTAI_OK : ttai_errf(err, TTAI_ENOMEM, "out of memory opening store");
    if (rc == 0 && !store->read_only)
        rc = lock_directory(store, err);
    if (rc == 0)
        store__boot_id(store, opts->boot_id);
    if (rc == 0 && logged)
        rc = store__wal_prepare(store, err);
    if (rc == 0 && store->read_only)
        rc = store__wal_check_readable(store, err);
    if (rc == 0)
        rc = env_open(store, opts, err);
    MDB_txn *txn = NULL;
    if (rc == 0) {
        int mrc = mdb_txn_begin(store->env, NULL, store->read_only ? MDB_RDONLY : 0, &txn);
        if (mrc != MDB_SUCCESS)
            rc = ttai_errf(err, store__rc_from_mdb(mrc), "cannot begin transaction in '%s': %s",
                           store->dir, mdb_strerror(mrc));
    }
    if (rc == 0)
        rc = open_tables(store, txn, err);
    if (rc == 0)
        rc = check_schema(store, txn, err);
    if (txn != NULL) {
        int mrc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), MDB_SUCCESS);
        if (mrc != MDB_SUCCESS)
            rc = ttai_errf(err, store__rc_from_mdb(mrc), "cannot initialise '%s': %s",
                           store->dir, mdb_strerror(mrc));
    }
    if (rc == 0 && logged)
        rc = store__wal_start(store, err); /* upgrades the schema after its replay */
    else if (rc == 0)
        rc = store__schema_upgrade(store, err);
    if (rc == 0 && !store->read_only)
        rc = store__writer_start(store, err);
    if (rc != 0) {
        store_close(store);
        return rc;
    }
    store->counters.map_bytes = store->map_bytes;
    *out = store;
    return TTAI_OK;
}

void store_close(struct store *store)
{
    if (store == NULL)
        return;
    store__writer_stop(store);
    store__wal_stop(store);
    store__stretch_buf_free(&store->stretch);
    if (store->env != NULL)
        mdb_env_close(store->env);
    if (store->lock_fd >= 0)
        close(store->lock_fd);
    pthread_rwlock_destroy(&store->resize_lock);
    pthread_mutex_destroy(&store->mu);
    pthread_cond_destroy(&store->work_cv);
    pthread_mutex_destroy(&store->ckpt_mu);
    pthread_cond_destroy(&store->ckpt_cv);
    ttai_free(store->dir);
    ttai_free(store);
}

const char *store_dir(const struct store *store)
{
    return store->dir;
}

const uint64_t store_latency_bounds_ns[STORE_LATENCY_BUCKETS - 1] = {
    50000,    100000,    200000,    500000,    1000000,   2000000,   5000000,
    10000000, 20000000,  50000000,  100000000, 200000000, 500000000, 1000000000,
};

size_t store_latency_bucket(int64_t ns)
{
    uint64_t v = ns > 0 ? (uint64_t)ns : 0;
    size_t i = 0;
    while (i < STORE_LATENCY_BUCKETS - 1 && v > store_latency_bounds_ns[i])
        i++;
    return i;
}

void store_latency_add(struct store_latency_hist *h, int64_t ns)
{
    h->buckets[store_latency_bucket(ns)]++;
    h->count++;
    h->sum_ns += ns > 0 ? (uint64_t)ns : 0;
}

void store_counters_get(struct store *store, struct store_counters *out)
{
    pthread_mutex_lock(&store->mu);
    *out = store->counters;
    out->map_bytes = store->map_bytes;
    pthread_mutex_unlock(&store->mu);
}

/* ---- Reads --------------------------------------------------------------- */

struct store_read {
    struct store *store;
    MDB_txn *txn;
};

int store_read_begin(struct store *store, struct store_read **out, struct ttai_err *err)
{
    *out = NULL;
    struct store_read *read = ttai_malloc(sizeof(*read));
    if (read == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory beginning a read");
    read->store = store;
    for (int attempt = 0;; attempt++) {
        pthread_rwlock_rdlock(&store->resize_lock);
        int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &read->txn);
        if (rc == MDB_SUCCESS)
            break;
        pthread_rwlock_unlock(&store->resize_lock);
        if (rc == MDB_MAP_RESIZED && attempt < 3) {
            /* Another process grew the map: adopt its size (no transaction
             * of ours may be open meanwhile, hence the write lock). */
            pthread_rwlock_wrlock(&store->resize_lock);
            mdb_env_set_mapsize(store->env, 0);
            pthread_rwlock_unlock(&store->resize_lock);
            continue;
        }
        ttai_free(read);
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot begin a read in '%s': %s",
                         store->dir, mdb_strerror(rc));
    }
    *out = read;
    return TTAI_OK;
}

void store_read_end(struct store_read *read)
{
    if (read == NULL)
        return;
    mdb_txn_abort(read->txn);
    pthread_rwlock_unlock(&read->store->resize_lock);
    ttai_free(read);
}

static MDB_dbi dbi_of(struct store_read *read, int table)
{
    return read->store->dbi[table];
}

static int get(struct store_read *read, int table, const void *k, size_t klen, MDB_val *val)
{
    MDB_val key = {klen, (void *)k};
    return mdb_get(read->txn, dbi_of(read, table), &key, val);
}

int store_meta_get(struct store_read *read, uint32_t *schema_version,
                   struct ttai_run_id *engine_id, struct ttai_err *err)
{
    MDB_val val;
    int rc = get(read, STORE_T_META, "schema_version", strlen("schema_version"), &val);
    if (rc != MDB_SUCCESS || val.mv_size != 4)
        return ttai_errf(err, TTAI_ECORRUPT, "schema version is missing or malformed");
    const uint8_t *v = val.mv_data;
    *schema_version = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    rc = get(read, STORE_T_META, "engine_id", strlen("engine_id"), &val);
    if (rc != MDB_SUCCESS || val.mv_size != TTAI_RUN_ID_BYTES)
        return ttai_errf(err, TTAI_ECORRUPT, "engine id is missing or malformed");
    memcpy(engine_id->b, val.mv_data, TTAI_RUN_ID_BYTES);
    return TTAI_OK;
}

/* A cursor on recent_run, or NULL when the store has no recent tables. */
static int recent_cursor_open(struct store_read *read, MDB_cursor **out, struct ttai_err *err)
{
    *out = NULL;
    if (!read->store->has_recent)
        return TTAI_OK;
    int rc = mdb_cursor_open(read->txn, dbi_of(read, STORE_T_RECENT_RUN), out);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot open cursor on 'recent_run': %s",
                         mdb_strerror(rc));
    return TTAI_OK;
}

int store_last_event_id(struct store_read *read, const struct ttai_run_id *run, uint64_t *out,
                        struct ttai_err *err)
{
    MDB_cursor *cursor, *rr;
    int rc = mdb_cursor_open(read->txn, dbi_of(read, STORE_T_HIST), &cursor);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot open history cursor: %s",
                         mdb_strerror(rc));
    rc = recent_cursor_open(read, &rr, err);
    if (rc != 0) {
        mdb_cursor_close(cursor);
        return rc;
    }
    rc = store__run_last_event_id(cursor, rr, run, out);
    mdb_cursor_close(cursor);
    if (rr != NULL)
        mdb_cursor_close(rr);
    if (rc != 0)
        return ttai_errf(err, rc, "cannot find the last event of a run");
    return TTAI_OK;
}

static int run_from_val(struct store_read *read, const MDB_val *val, struct store_run *out,
                        struct ttai_err *err)
{
    if (store__run_decode(val->mv_data, val->mv_size, out) != 0)
        return ttai_errf(err, TTAI_ECORRUPT, "run record of %zu bytes is malformed", val->mv_size);
    return store_last_event_id(read, &out->run_id, &out->last_event_id, err);
}

int store_run_get(struct store_read *read, const struct ttai_run_id *run, struct store_run *out,
                  struct ttai_err *err)
{
    MDB_val val;
    int rc = get(read, STORE_T_RUN, run->b, TTAI_RUN_ID_BYTES, &val);
    if (rc != MDB_SUCCESS) {
        char text[TTAI_RUN_ID_TEXT];
        return ttai_errf(err, store__rc_from_mdb(rc), "run '%s': %s",
                         ttai_run_id_format(run, text),
                         rc == MDB_NOTFOUND ? "not found" : mdb_strerror(rc));
    }
    return run_from_val(read, &val, out, err);
}

static int check_name(const char *what, const char *s, size_t max, struct ttai_err *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return ttai_errf(err, TTAI_EINVAL, "%s '%.64s' must have 1 to %zu bytes", what, s, max);
    return TTAI_OK;
}

int store_exec_get(struct store_read *read, const char *ns, const char *workflow_id,
                   struct ttai_run_id *run_out, struct ttai_err *err)
{
    int rc = check_name("namespace", ns, STORE_NS_MAX, err);
    if (rc == 0)
        rc = check_name("workflow id", workflow_id, STORE_WORKFLOW_ID_MAX, err);
    if (rc != 0)
        return rc;
    uint8_t key[STORE__KEY_MAX];
    size_t klen = store__exec_key(key, ns, workflow_id);
    MDB_val val;
    int mrc = get(read, STORE_T_EXEC, key, klen, &val);
    if (mrc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(mrc), "workflow '%s' in namespace '%s': %s",
                         workflow_id, ns, mrc == MDB_NOTFOUND ? "not found" : mdb_strerror(mrc));
    if (val.mv_size != TTAI_RUN_ID_BYTES)
        return ttai_errf(err, TTAI_ECORRUPT, "execution record of '%s' is malformed", workflow_id);
    memcpy(run_out->b, val.mv_data, TTAI_RUN_ID_BYTES);
    return TTAI_OK;
}

/* Looks for event_id among the run's stretches in the recent table: 1 with
 * its encoding in *val, 0 when it is not there, or a negative code. */
static int recent_event_get(struct store_read *read, const struct ttai_run_id *run,
                            uint64_t event_id, MDB_val *val)
{
    MDB_cursor *rr;
    int rc = recent_cursor_open(read, &rr, NULL);
    if (rc != 0 || rr == NULL)
        return rc;
    /* From the run's last stretch backwards: reads mostly want its newest
     * events. */
    MDB_val key = {TTAI_RUN_ID_BYTES, (void *)run->b}, dval;
    int mrc = mdb_cursor_get(rr, &key, &dval, MDB_SET);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_cursor_get(rr, &key, &dval, MDB_LAST_DUP);
    struct store__recent_dup dup = {0};
    rc = 0;
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(rr, &key, &dval, MDB_PREV_DUP)) {
        rc = store__recent_dup_decode(&dval, &dup);
        if (rc != 0 || event_id >= dup.first)
            break;
    }
    mdb_cursor_close(rr);
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return store__rc_from_mdb(mrc);
    if (rc != 0 || mrc == MDB_NOTFOUND || event_id > dup.last)
        return rc;
    MDB_val sval;
    struct store__stretch s;
    if ((rc = store__stretch_get(read->txn, read->store, dup.seq, &sval)) != 0 ||
        (rc = store__stretch_open(&sval, &dup, run, &s)) != 0)
        return rc;
    uint64_t id;
    while ((rc = store__stretch_next(&s, &id, val)) == 1)
        if (id == event_id)
            return 1;
    return TTAI_ECORRUPT; /* recent_run said it was there */
}

int store_event_get(struct store_read *read, const struct ttai_run_id *run, uint64_t event_id,
                    struct store_event *out, struct ttai_err *err)
{
    uint8_t key[TTAI_RUN_ID_BYTES + 8];
    store__hist_key(key, run, event_id);
    MDB_val val;
    int rc = recent_event_get(read, run, event_id, &val);
    if (rc < 0)
        return ttai_errf(err, rc, "event %" PRIu64 ": cannot read the recent events: %s",
                         event_id, ttai_strerror(rc));
    rc = rc == 1 ? MDB_SUCCESS : get(read, STORE_T_HIST, key, sizeof(key), &val);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "event %" PRIu64 ": %s", event_id,
                         rc == MDB_NOTFOUND ? "not found" : mdb_strerror(rc));
    rc = store_event_decode(val.mv_data, val.mv_size, out, err);
    if (rc != 0) {
        ttai_err_prefix(err, "event %" PRIu64, event_id);
        return err ? (err->rc = TTAI_ECORRUPT) : TTAI_ECORRUPT;
    }
    out->event_id = event_id;
    return TTAI_OK;
}

int store_activity_get(struct store_read *read, const struct ttai_run_id *run, uint64_t seq,
                       struct store_bytes *out, struct ttai_err *err)
{
    uint8_t key[TTAI_RUN_ID_BYTES + 8];
    store__act_key(key, run, seq);
    MDB_val val;
    int rc = get(read, STORE_T_ACT, key, sizeof(key), &val);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "activity %" PRIu64 ": %s", seq,
                         rc == MDB_NOTFOUND ? "not found" : mdb_strerror(rc));
    *out = (struct store_bytes){val.mv_data, val.mv_size};
    return TTAI_OK;
}

int store_schedule_get(struct store_read *read, const char *ns, const char *schedule_id,
                       struct store_bytes *out, struct ttai_err *err)
{
    int rc = check_name("namespace", ns, STORE_NS_MAX, err);
    if (rc == 0)
        rc = check_name("schedule id", schedule_id, STORE_SCHEDULE_ID_MAX, err);
    if (rc != 0)
        return rc;
    uint8_t key[STORE__KEY_MAX];
    size_t klen = store__exec_key(key, ns, schedule_id);
    MDB_val val;
    int mrc = get(read, STORE_T_SCHED, key, klen, &val);
    if (mrc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(mrc), "schedule '%s': %s", schedule_id,
                         mrc == MDB_NOTFOUND ? "not found" : mdb_strerror(mrc));
    *out = (struct store_bytes){val.mv_data, val.mv_size};
    return TTAI_OK;
}

/* ---- Iterators --------------------------------------------------------------- */

static int iter_open(struct store_iter *it, struct store_read *read, int table, int kind,
                     struct ttai_err *err)
{
    memset(it, 0, sizeof(*it));
    it->read = read;
    it->kind = kind;
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(read->txn, dbi_of(read, table), &cursor);
    if (rc != MDB_SUCCESS)
        return ttai_errf(err, store__rc_from_mdb(rc), "cannot open cursor on '%s': %s",
                         table_names[table], mdb_strerror(rc));
    it->cursor = cursor;
    return TTAI_OK;
}

void store_iter_release(struct store_iter *it)
{
    if (it->cursor != NULL)
        mdb_cursor_close(it->cursor);
    if (it->recent_cursor != NULL)
        mdb_cursor_close(it->recent_cursor);
    it->cursor = NULL;
    it->recent_cursor = NULL;
}

/* Moves to the next key within the iterator's prefix (forward from `start`,
 * or backward from below `start` when newest_first). Returns 1 with the
 * key and value, 0 past the end, or a negative code. */
static int iter_step(struct store_iter *it, MDB_val *key, MDB_val *val)
{
    MDB_cursor *cursor = it->cursor;
    int rc;
    if (!it->started) {
        it->started = 1;
        *key = (MDB_val){it->start_len, it->start};
        if (it->start_len == 0)
            rc = mdb_cursor_get(cursor, key, val, it->newest_first ? MDB_LAST : MDB_FIRST);
        else {
            rc = mdb_cursor_get(cursor, key, val, MDB_SET_RANGE);
            if (it->newest_first)
                rc = rc == MDB_SUCCESS ? mdb_cursor_get(cursor, key, val, MDB_PREV)
                     : rc == MDB_NOTFOUND ? mdb_cursor_get(cursor, key, val, MDB_LAST) : rc;
        }
    } else {
        rc = mdb_cursor_get(cursor, key, val, it->newest_first ? MDB_PREV : MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != MDB_SUCCESS)
        return store__rc_from_mdb(rc);
    if (key->mv_size < it->prefix_len || memcmp(key->mv_data, it->prefix, it->prefix_len) != 0)
        return 0;
    return 1;
}

enum { IT_HIST = 1, IT_RUN, IT_EXEC, IT_TIMER, IT_ACT, IT_SCHED, IT_VIS };

int store_hist_iter_init(struct store_iter *it, struct store_read *read,
                         const struct ttai_run_id *run, uint64_t from_event_id,
                         struct ttai_err *err)
{
    int rc = iter_open(it, read, STORE_T_HIST, IT_HIST, err);
    if (rc != 0)
        return rc;
    memcpy(it->prefix, run->b, TTAI_RUN_ID_BYTES);
    it->prefix_len = TTAI_RUN_ID_BYTES;
    it->start_len = store__hist_key(it->start, run, from_event_id);
    it->from_event_id = from_event_id;
    it->recent_first = UINT64_MAX;
    MDB_cursor *rr;
    rc = recent_cursor_open(read, &rr, err);
    if (rc != 0) {
        store_iter_release(it);
        return rc;
    }
    if (rr == NULL)
        return TTAI_OK;
    struct store__recent_dup dup = {0};
    rc = store__recent_edge(rr, run, false, &dup);
    if (rc <= 0) {
        mdb_cursor_close(rr);
        if (rc < 0) {
            store_iter_release(it);
            return ttai_errf(err, rc, "cannot read the recent events: %s", ttai_strerror(rc));
        }
        return TTAI_OK;
    }
    /* The run's events from dup.first on are in its stretches (recent.c
     * invariant 1); the cursor sits on the first. */
    it->recent_cursor = rr;
    it->recent_first = dup.first;
    return TTAI_OK;
}

/* The next event of the run's stretches: 1 with its id and encoding, 0 past
 * the last, or a negative code. it->in_recent: 1 before the first stretch,
 * 2 within them. */
static int recent_step(struct store_iter *it, uint64_t *event_id, MDB_val *val)
{
    struct store__stretch *s = &it->stretch;
    for (;;) {
        if (s->left == 0) {
            MDB_val key, dval;
            int rc = mdb_cursor_get(it->recent_cursor, &key, &dval,
                                    it->in_recent == 1 ? MDB_GET_CURRENT : MDB_NEXT_DUP);
            it->in_recent = 2;
            if (rc == MDB_NOTFOUND)
                return 0;
            if (rc != MDB_SUCCESS)
                return store__rc_from_mdb(rc);
            struct store__recent_dup dup = {0};
            if (store__recent_dup_decode(&dval, &dup) != 0)
                return TTAI_ECORRUPT;
            if (dup.last < it->from_event_id)
                continue;
            struct ttai_run_id run;
            memcpy(run.b, it->prefix, TTAI_RUN_ID_BYTES);
            MDB_val sval;
            if ((rc = store__stretch_get(it->read->txn, it->read->store, dup.seq, &sval)) != 0 ||
                (rc = store__stretch_open(&sval, &dup, &run, s)) != 0) {
                s->left = 0; /* the next call goes on with the next stretch */
                return rc;
            }
        }
        int rc = store__stretch_next(s, event_id, val);
        if (rc < 0)
            s->left = 0; /* the next call goes on with the next stretch */
        if (rc < 0 || (rc == 1 && *event_id >= it->from_event_id))
            return rc;
        /* the stretch is done (s->left is 0), or the event is before from */
    }
}

int store_hist_iter_next(struct store_iter *it, struct store_event *ev, struct ttai_err *err)
{
    TTAI_DEBUG_ASSERT(it->kind == IT_HIST);
    MDB_val key, val;
    uint64_t event_id = 0;
    int rc = 0;
    if (!it->in_recent) {
        rc = iter_step(it, &key, &val);
        if (rc < 0)
            return ttai_errf(err, rc, "cannot read history: %s", ttai_strerror(rc));
        if (rc == 1) {
            if (key.mv_size != TTAI_RUN_ID_BYTES + 8)
                return ttai_errf(err, TTAI_ECORRUPT, "history key of %zu bytes", key.mv_size);
            event_id = store__get_be64((const uint8_t *)key.mv_data + TTAI_RUN_ID_BYTES);
        }
        if (rc == 0 || event_id >= it->recent_first) {
            if (it->recent_cursor == NULL)
                return 0;
            it->in_recent = 1;
            rc = 0;
        }
    }
    if (it->in_recent) {
        rc = recent_step(it, &event_id, &val);
        if (rc <= 0)
            return rc < 0 ? ttai_errf(err, rc, "cannot read the recent events: %s",
                                      ttai_strerror(rc))
                          : 0;
    }
    rc = store_event_decode(val.mv_data, val.mv_size, ev, err);
    if (rc != 0) {
        ttai_err_prefix(err, "event %" PRIu64, event_id);
        if (err != NULL)
            err->rc = TTAI_ECORRUPT;
        return TTAI_ECORRUPT;
    }
    ev->event_id = event_id;
    return 1;
}

int store_run_iter_init(struct store_iter *it, struct store_read *read, struct ttai_err *err)
{
    return iter_open(it, read, STORE_T_RUN, IT_RUN, err);
}

int store_run_iter_next(struct store_iter *it, struct store_run *run, struct ttai_err *err)
{
    MDB_val key, val;
    int rc = iter_step(it, &key, &val);
    if (rc <= 0)
        return rc < 0 ? ttai_errf(err, rc, "cannot read runs: %s", ttai_strerror(rc)) : 0;
    rc = run_from_val(it->read, &val, run, err);
    return rc < 0 ? rc : 1;
}

int store_exec_iter_init(struct store_iter *it, struct store_read *read, struct ttai_err *err)
{
    return iter_open(it, read, STORE_T_EXEC, IT_EXEC, err);
}

int store_exec_iter_next(struct store_iter *it, struct store_bytes *ns,
                         struct store_bytes *workflow_id, struct ttai_run_id *run,
                         struct ttai_err *err)
{
    MDB_val key, val;
    int rc = iter_step(it, &key, &val);
    if (rc <= 0)
        return rc < 0 ? ttai_errf(err, rc, "cannot read executions: %s", ttai_strerror(rc)) : 0;
    const uint8_t *k = key.mv_data;
    const uint8_t *nul = memchr(k, 0, key.mv_size);
    if (nul == NULL || val.mv_size != TTAI_RUN_ID_BYTES)
        return ttai_errf(err, TTAI_ECORRUPT, "execution record is malformed");
    *ns = (struct store_bytes){k, (size_t)(nul - k)};
    *workflow_id = (struct store_bytes){nul + 1, key.mv_size - (size_t)(nul - k) - 1};
    memcpy(run->b, val.mv_data, TTAI_RUN_ID_BYTES);
    return 1;
}

int store_timer_iter_init(struct store_iter *it, struct store_read *read, int64_t upto_ms,
                          struct ttai_err *err)
{
    int rc = iter_open(it, read, STORE_T_TIMER, IT_TIMER, err);
    it->upto_ms = upto_ms;
    return rc;
}

int store_timer_iter_next(struct store_iter *it, struct store_timer *timer, struct ttai_err *err)
{
    MDB_val key, val;
    int rc = iter_step(it, &key, &val);
    if (rc <= 0)
        return rc < 0 ? ttai_errf(err, rc, "cannot read timers: %s", ttai_strerror(rc)) : 0;
    if (key.mv_size != 8 + TTAI_RUN_ID_BYTES + 8 || val.mv_size != 1)
        return ttai_errf(err, TTAI_ECORRUPT, "timer record is malformed");
    const uint8_t *k = key.mv_data;
    timer->fire_ms = store__time_from_key(store__get_be64(k));
    if (timer->fire_ms > it->upto_ms)
        return 0;
    memcpy(timer->run_id.b, k + 8, TTAI_RUN_ID_BYTES);
    timer->seq = store__get_be64(k + 8 + TTAI_RUN_ID_BYTES);
    timer->kind = *(const uint8_t *)val.mv_data;
    return 1;
}

int store_activity_iter_init(struct store_iter *it, struct store_read *read,
                             const struct ttai_run_id *run, struct ttai_err *err)
{
    int rc = iter_open(it, read, STORE_T_ACT, IT_ACT, err);
    if (rc == 0 && run != NULL) {
        memcpy(it->prefix, run->b, TTAI_RUN_ID_BYTES);
        memcpy(it->start, run->b, TTAI_RUN_ID_BYTES);
        it->prefix_len = it->start_len = TTAI_RUN_ID_BYTES;
    }
    return rc;
}

int store_activity_iter_next(struct store_iter *it, struct ttai_run_id *run, uint64_t *seq,
                             struct store_bytes *record, struct ttai_err *err)
{
    MDB_val key, val;
    int rc = iter_step(it, &key, &val);
    if (rc <= 0)
        return rc < 0 ? ttai_errf(err, rc, "cannot read activities: %s", ttai_strerror(rc)) : 0;
    if (key.mv_size != TTAI_RUN_ID_BYTES + 8)
        return ttai_errf(err, TTAI_ECORRUPT, "activity key is malformed");
    memcpy(run->b, key.mv_data, TTAI_RUN_ID_BYTES);
    *seq = store__get_be64((const uint8_t *)key.mv_data + TTAI_RUN_ID_BYTES);
    *record = (struct store_bytes){val.mv_data, val.mv_size};
    return 1;
}

int store_schedule_iter_init(struct store_iter *it, struct store_read *read, const char *ns,
                             struct ttai_err *err)
{
    memset(it, 0, sizeof(*it)); /* release after a failure below is safe */
    if (ns != NULL && check_name("namespace", ns, STORE_NS_MAX, err) != 0)
        return TTAI_EINVAL;
    int rc = iter_open(it, read, STORE_T_SCHED, IT_SCHED, err);
    if (rc == 0 && ns != NULL) {
        it->prefix_len = it->start_len = put_cstr0(it->prefix, ns);
        memcpy(it->start, it->prefix, it->prefix_len);
    }
    return rc;
}

int store_schedule_iter_next(struct store_iter *it, struct store_bytes *ns,
                             struct store_bytes *schedule_id, struct store_bytes *record,
                             struct ttai_err *err)
{
    MDB_val key, val;
    int rc = iter_step(it, &key, &val);
    if (rc <= 0)
        return rc < 0 ? ttai_errf(err, rc, "cannot read schedules: %s", ttai_strerror(rc)) : 0;
    const uint8_t *k = key.mv_data;
    const uint8_t *nul = memchr(k, 0, key.mv_size);
    if (nul == NULL)
        return ttai_errf(err, TTAI_ECORRUPT, "schedule key is malformed");
    *ns = (struct store_bytes){k, (size_t)(nul - k)};
    *schedule_id = (struct store_bytes){nul + 1, key.mv_size - (size_t)(nul - k) - 1};
    *record = (struct store_bytes){val.mv_data, val.mv_size};
    return 1;
}

int store_vis_iter_init(struct store_iter *it, struct store_read *read,
                        const struct store_vis_query *q, struct ttai_err *err)
{
    memset(it, 0, sizeof(*it)); /* release after a failure below is safe */
    int table;
    switch (q->index) {
    case STORE_VIS_START: table = STORE_T_VIS_START; break;
    case STORE_VIS_STATUS: table = STORE_T_VIS_STATUS; break;
    case STORE_VIS_TYPE: table = STORE_T_VIS_TYPE; break;
    default: return ttai_errf(err, TTAI_EINVAL, "unknown visibility index %d", q->index);
    }
    int rc = check_name("namespace", q->ns, STORE_NS_MAX, err);
    if (rc == 0 && q->index == STORE_VIS_STATUS && store_run_status_name(q->status) == NULL)
        rc = ttai_errf(err, TTAI_EINVAL, "unknown run status %d", q->status);
    if (rc == 0 && q->index == STORE_VIS_TYPE)
        rc = check_name("workflow type", q->type, STORE_TYPE_MAX, err);
    if (rc == 0)
        rc = iter_open(it, read, table, IT_VIS, err);
    if (rc != 0)
        return rc;
    /* Reuse the vis key builders with a run that carries the prefix fields. */
    struct store_run probe;
    memset(&probe, 0, sizeof(probe));
    memcpy(probe.ns, q->ns, strlen(q->ns) + 1);
    probe.status = q->status;
    if (q->index == STORE_VIS_TYPE)
        memcpy(probe.type, q->type, strlen(q->type) + 1);
    size_t klen = table == STORE_T_VIS_START ? store__vis_start_key(it->start, &probe)
                  : table == STORE_T_VIS_STATUS ? store__vis_status_key(it->start, &probe)
                  : store__vis_type_key(it->start, &probe);
    it->prefix_len = klen - 8 - TTAI_RUN_ID_BYTES;
    memcpy(it->prefix, it->start, it->prefix_len);
    if (q->has_after) {
        store__put_be64(it->start + it->prefix_len, store__time_key(q->after_start_ms));
        memcpy(it->start + it->prefix_len + 8, q->after_run.b, TTAI_RUN_ID_BYTES);
    } else {
        memset(it->start + it->prefix_len, 0xff, 8 + TTAI_RUN_ID_BYTES);
    }
    it->start_len = klen;
    it->newest_first = 1;
    return TTAI_OK;
}

int store_vis_iter_next(struct store_iter *it, int64_t *start_ms, struct ttai_run_id *run,
                        struct ttai_err *err)
{
    MDB_val key, val;
    int rc = iter_step(it, &key, &val);
    if (rc <= 0)
        return rc < 0 ? ttai_errf(err, rc, "cannot read visibility index: %s",
                                  ttai_strerror(rc)) : 0;
    if (key.mv_size != it->prefix_len + 8 + TTAI_RUN_ID_BYTES)
        return 0; /* a longer name sharing our prefix bytes: not ours */
    const uint8_t *k = (const uint8_t *)key.mv_data + it->prefix_len;
    *start_ms = store__time_from_key(store__get_be64(k));
    memcpy(run->b, k + 8, TTAI_RUN_ID_BYTES);
    return 1;
}

/* ---- Statistics ------------------------------------------------------------ */

int store_stats_get(struct store_read *read, struct store_stats *out, struct ttai_err *err)
{
    memset(out, 0, sizeof(*out));
    for (int t = 0; t < STORE_T__COUNT; t++) {
        if (is_recent_table(t) && !read->store->has_recent)
            continue; /* a schema-1 store: none yet */
        MDB_stat st;
        int rc = mdb_stat(read->txn, dbi_of(read, t), &st);
        if (rc != MDB_SUCCESS)
            return ttai_errf(err, store__rc_from_mdb(rc), "cannot read statistics of '%s': %s",
                             table_names[t], mdb_strerror(rc));
        out->entries[t] = st.ms_entries;
        out->pages[t] = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
        out->page_bytes = st.ms_psize;
    }
    MDB_envinfo info;
    mdb_env_info(read->store->env, &info);
    out->map_bytes = info.me_mapsize;
    out->used_bytes = (uint64_t)(info.me_last_pgno + 1) * out->page_bytes;
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.mdb", read->store->dir);
    struct stat st;
    if (stat(path, &st) == 0)
        out->file_bytes = (uint64_t)st.st_size;
    return TTAI_OK;
}
