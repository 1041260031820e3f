/* test_recent.c: the recent-events tables (storage/recent.c). Appends wait
 * there in stretches and are merged into the history in bulk; every read
 * (last event id, one event, a history from any event on) must see one
 * dense history whichever side of a merge each event is on, in the open
 * store, after a reopen and from a read-only opener. Also: the upgrade of a
 * schema-1 store, and stretches that do not hold what recent_run says. */
#include "test_util.h"

#include <inttypes.h>
#include <lmdb.h>

#define RUNS 3
#define ROUNDS 40

/* The payload of event id of run i: what every read must give back. */
static void payload_of(char *out, size_t size, int run, uint64_t id)
{
    snprintf(out, size, "run%d-event%" PRIu64, run, id);
}

/* Checks run i holds exactly events 1..last with their payloads, through
 * every read: the last id, each event alone, and the history from a few
 * starting points (the first, a middle one, the last, past the end). */
static void check_run(struct store_read *rd, const struct ttai_run_id *run, int i, uint64_t last)
{
    struct ttai_err err;
    uint64_t got_last;
    ASSERT_OK(store_last_event_id(rd, run, &got_last, &err), &err);
    ASSERT_U64_EQ(got_last, last);
    char want[64];
    struct store_event ev;
    for (uint64_t id = 2; id <= last; id++) {
        ASSERT_OK(store_event_get(rd, run, id, &ev, &err), &err);
        ASSERT_U64_EQ(ev.event_id, id);
        payload_of(want, sizeof(want), i, id);
        if (!bytes_eq_str(ev.payload, want))
            test__fail(__FILE__, __LINE__, "run %d event %" PRIu64 ": payload '%.*s', want '%s'",
                       i, id, (int)ev.payload.len, (const char *)ev.payload.data, want);
    }
    ASSERT_EQ(store_event_get(rd, run, last + 1, &ev, &err), TTAI_ENOTFOUND);
    const uint64_t starts[] = {1, last / 2 + 1, last, last + 1};
    for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        struct store_iter it;
        ASSERT_OK(store_hist_iter_init(&it, rd, run, starts[s], &err), &err);
        uint64_t next = starts[s];
        int rc;
        while ((rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
            ASSERT_U64_EQ(ev.event_id, next);
            if (next > 1) {
                payload_of(want, sizeof(want), i, next);
                ASSERT(bytes_eq_str(ev.payload, want));
            }
            next++;
        }
        ASSERT_EQ(rc, 0);
        ASSERT_U64_EQ(next, last + 1);
        store_iter_release(&it);
    }
}

/* RUNS run records wf-0.. with fresh ids; with a store, each is created
 * there with its WorkflowStarted (event 1). */
static void make_runs(struct store_run *runs, struct store *store)
{
    for (int i = 0; i < RUNS; i++) {
        char wf[16];
        snprintf(wf, sizeof(wf), "wf-%d", i);
        test_run_init(&runs[i], "ns", wf, "t", STORE_RUN_RUNNING, 1000 + i);
        if (store != NULL)
            test_create_run(store, &runs[i]);
    }
}

/* Commits event id of run i (its payload per payload_of) alone. */
static void commit_event(struct store *store, const struct store_run *run, int i, uint64_t id,
                         int64_t time_ms)
{
    struct ttai_err err;
    char text[64];
    payload_of(text, sizeof(text), i, id);
    struct store_batch *b = store_batch_new();
    ASSERT(b != NULL);
    struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = time_ms};
    ev.payload = bytes_of(text);
    ASSERT_OK(store_batch_append(b, &run->run_id, &ev, &err), &err);
    ASSERT_OK(store_commit(store, b, &err), &err);
    ASSERT_U64_EQ(store_batch_event_id(b, 0), id);
    store_batch_free(b);
}

static void check_all(struct store *store, const struct store_run *runs, const uint64_t *last)
{
    struct store_read *rd = test_read(store);
    for (int i = 0; i < RUNS; i++)
        check_run(rd, &runs[i].run_id, i, last[i]);
    store_read_end(rd);
}

static uint64_t entries(struct store *store, int table)
{
    struct store_read *rd = test_read(store);
    struct store_stats st;
    struct ttai_err err;
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    store_read_end(rd);
    return st.entries[table];
}

/* Round r appends to each run 1 + (r + i) % 3 events, in batches of one
 * run or of all, some with a last-event condition; every few rounds the
 * merge threshold (7 stretches) is crossed. After each round every read
 * is checked, so runs are read with their events all in the history, all
 * in stretches, and split between the two. */
void test_recent_reads_across_merges(void)
{
    char dir[512];
    test_path(dir, sizeof(dir), "store");
    for (int logged = 0; logged < 2; logged++) {
        char sub[600];
        snprintf(sub, sizeof(sub), "%s-%d", dir, logged);
        /* A reader in another process, forked while no store (so no
         * thread) is open. */
        struct test_child child;
        test_child_start(&child, sub, 0);
        struct store_opts opts = {.dir = sub, .no_sync = !logged, .recent_merge_stretches = 7};
        struct store *store = test_open(&opts);
        struct store_run runs[RUNS];
        uint64_t last[RUNS] = {1, 1, 1};
        make_runs(runs, store);
        /* A run's first events (here its WorkflowStarted) go straight into
         * the history, next to other new runs (time-ordered ids). */
        ASSERT_U64_EQ(entries(store, STORE_T_HIST), RUNS);
        ASSERT_U64_EQ(entries(store, STORE_T_RECENT), 0);
        bool split_seen = false;
        struct ttai_err err;
        for (int r = 0; r < ROUNDS; r++) {
            struct store_batch *b = store_batch_new();
            ASSERT(b != NULL);
            for (int i = 0; i < RUNS; i++) {
                if (r % 2 == 1)
                    ASSERT_OK(store_batch_require_last_event(b, &runs[i].run_id, last[i]), &err);
                for (int k = 0; k < 1 + (r + i) % 3; k++) {
                    char text[64];
                    payload_of(text, sizeof(text), i, ++last[i]);
                    struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = 2000 + r};
                    ev.name = bytes_of("s");
                    ev.payload = bytes_of(text);
                    ASSERT_OK(store_batch_append(b, &runs[i].run_id, &ev, &err), &err);
                }
                if (r % 3 == 0) { /* one batch per run this round */
                    ASSERT_OK(store_commit(store, b, &err), &err);
                    ASSERT_U64_EQ(store_batch_event_id(b, store_batch_events(b) - 1), last[i]);
                    store_batch_clear(b);
                }
            }
            if (store_batch_events(b) > 0)
                ASSERT_OK(store_commit(store, b, &err), &err);
            store_batch_free(b);
            if (entries(store, STORE_T_RECENT) > 0 && entries(store, STORE_T_HIST) > RUNS)
                split_seen = true;
            check_all(store, runs, last);
        }
        ASSERT(split_seen);
        struct store_counters c;
        store_counters_get(store, &c);
        ASSERT_GE(c.recent_merges, 5);
        ASSERT_GT(entries(store, STORE_T_RECENT), 0);
        /* Another process sees the same last ids, stretches included. */
        for (int i = 0; i < RUNS; i++) {
            struct test_child_rep rep = test_child_ask(&child, &runs[i].run_id);
            ASSERT_EQ(rep.rc, 0);
            ASSERT_U64_EQ(rep.last_event_id, last[i]);
        }
        test_child_stop(&child);
        store_close(store);

        /* The close merged everything; a reopen reads it all from the
         * history and appends go on from the last id. */
        store = test_open(&opts);
        ASSERT_U64_EQ(entries(store, STORE_T_RECENT), 0);
        ASSERT_U64_EQ(entries(store, STORE_T_RECENT_RUN), 0);
        check_all(store, runs, last);
        commit_event(store, &runs[0], 0, ++last[0], 9000);
        check_all(store, runs, last);
        store_close(store);
    }
}

/* A store left with stretches by a crash (no close, so no final merge)
 * reopens with them: reads see them and new stretches follow their keys. */
void test_recent_survive_kill(void)
{
    char dir[512];
    test_path(dir, sizeof(dir), "store");
    struct store_run runs[RUNS];
    make_runs(runs, NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        struct store_opts opts = {.dir = dir, .recent_merge_stretches = 10};
        struct store *store = test_open(&opts);
        for (int i = 0; i < RUNS; i++)
            test_create_run(store, &runs[i]);
        for (uint64_t id = 2; id <= 30; id++)
            for (int i = 0; i < RUNS; i++)
                commit_event(store, &runs[i], i, id, 2000);
        raise(SIGKILL);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* A higher threshold now: the appends below go on after the stretches
     * left, under the next keys (no merge resets them). */
    struct store_opts opts = {.dir = dir, .recent_merge_stretches = 100};
    struct store *store = test_open(&opts);
    /* 87 stretches (the starts went into the history), merged by each
     * group that found 10 waiting: the last 7 are left. */
    ASSERT_U64_EQ(entries(store, STORE_T_RECENT), 7);
    uint64_t last[RUNS] = {30, 30, 30};
    check_all(store, runs, last);
    for (int n = 0; n < 20; n++)
        commit_event(store, &runs[n % RUNS], n % RUNS, ++last[n % RUNS], 3000);
    ASSERT_U64_EQ(entries(store, STORE_T_RECENT), 27);
    struct store_counters c;
    store_counters_get(store, &c);
    ASSERT_U64_EQ(c.recent_merges, 0);
    check_all(store, runs, last);
    store_close(store);
}

/* ---- Schema 1 ---------------------------------------------------------- */

static MDB_env *raw_open(const char *dir, MDB_txn **txn)
{
    MDB_env *env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 16), 0);
    ASSERT_EQ(mdb_env_open(env, dir, 0, 0644), 0);
    ASSERT_EQ(mdb_txn_begin(env, NULL, 0, txn), 0);
    return env;
}

static uint32_t schema_version(struct store *store)
{
    struct store_read *rd = test_read(store);
    uint32_t version;
    struct ttai_run_id id;
    struct ttai_err err;
    ASSERT_OK(store_meta_get(rd, &version, &id, &err), &err);
    store_read_end(rd);
    return version;
}

/* Makes a closed (so merged) store look like schema 1: no recent tables,
 * version 1. */
static void downgrade_to_schema1(const char *dir)
{
    MDB_txn *txn;
    MDB_env *env = raw_open(dir, &txn);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, "recent", 0, &dbi), 0);
    ASSERT_EQ(mdb_drop(txn, dbi, 1), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "recent_run", MDB_DUPSORT | MDB_DUPFIXED, &dbi), 0);
    ASSERT_EQ(mdb_drop(txn, dbi, 1), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    static const uint8_t v1[4] = {0, 0, 0, 1};
    MDB_val key = {strlen("schema_version"), "schema_version"}, val = {4, (void *)v1};
    ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* A store written before the recent tables existed (schema 1: no such
 * tables, version 1) is read as it is by read-only openers and upgraded by
 * the first read-write open, logged or not. */
void test_recent_schema1_upgrade(void)
{
    char dir[512];
    test_path(dir, sizeof(dir), "store");
    struct store_run runs[RUNS];
    uint64_t last[RUNS] = {1, 1, 1};
    struct ttai_err err;
    struct store *store = test_open_dir(dir);
    make_runs(runs, store);
    for (int i = 0; i < RUNS; i++)
        for (int k = 0; k < 5; k++)
            commit_event(store, &runs[i], i, ++last[i], 2000);
    store_close(store); /* merges: every event in hist, as schema 1 kept them */
    downgrade_to_schema1(dir);

    struct store_opts ro = {.dir = dir, .read_only = true};
    store = test_open(&ro);
    ASSERT_EQ(schema_version(store), 1);
    check_all(store, runs, last);
    struct store_read *rd = test_read(store);
    struct store_stats st;
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    store_read_end(rd);
    ASSERT_U64_EQ(st.entries[STORE_T_HIST], RUNS * 6);
    ASSERT_U64_EQ(st.entries[STORE_T_RECENT], 0);
    store_close(store);

    for (int logged = 1; logged >= 0; logged--) {
        if (!logged)
            downgrade_to_schema1(dir); /* the logged pass upgraded it */
        struct store_opts opts = {.dir = dir, .no_sync = !logged};
        store = test_open(&opts);
        ASSERT_EQ(schema_version(store), STORE_SCHEMA_VERSION);
        check_all(store, runs, last);
        commit_event(store, &runs[1], 1, ++last[1], 3000);
        ASSERT_U64_EQ(entries(store, STORE_T_RECENT), 1);
        check_all(store, runs, last);
        store_close(store);
    }
    /* A schema-2 store without its recent tables is damaged, not old. */
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_env *env = raw_open(dir, &txn);
    ASSERT_EQ(mdb_dbi_open(txn, "recent", 0, &dbi), 0);
    ASSERT_EQ(mdb_drop(txn, dbi, 1), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    ASSERT_EQ(store_open(&store, &ro, &err), TTAI_ECORRUPT);
    ASSERT(strstr(err.msg, "recent") != NULL);
}

/* recent_run naming stretches that are torn, missing or hold another run's
 * events: every read of those events says the store is corrupt, a history
 * walk reports each bad stretch once and goes on, and other runs read on. */
static void raw_stretch(MDB_txn *txn, MDB_dbi recent, MDB_dbi rr, uint64_t seq,
                        const struct ttai_run_id *owner, const struct ttai_run_id *listed,
                        uint64_t first, bool torn)
{
    uint8_t skey[8], dup[24];
    for (int b = 0; b < 8; b++) {
        skey[b] = (uint8_t)(seq >> (56 - 8 * b));
        dup[b] = skey[b];
        dup[8 + b] = dup[16 + b] = (uint8_t)(first >> (56 - 8 * b));
    }
    if (owner != NULL) {
        uint8_t stretch[16 + 8 + 4 + 4 + 2] = {0};
        memcpy(stretch, owner->b, 16);
        memcpy(stretch + 16, dup + 8, 8); /* first id */
        stretch[27] = 1;                  /* one event */
        stretch[31] = 2;                  /* of two bytes */
        stretch[32] = 0x81;               /* {0: 9}: a valid event, if read */
        stretch[33] = 0x00;
        MDB_val k = {8, skey}, v = {torn ? sizeof(stretch) - 1 : sizeof(stretch), stretch};
        ASSERT_EQ(mdb_put(txn, recent, &k, &v, 0), 0);
    }
    MDB_val rk = {16, (void *)listed->b}, rv = {24, dup};
    ASSERT_EQ(mdb_put(txn, rr, &rk, &rv, 0), 0);
}

void test_recent_corrupt(void)
{
    char dir[512];
    test_path(dir, sizeof(dir), "store");
    struct store *store = test_open_dir(dir);
    struct store_run good, bad, other;
    test_run_init(&good, "ns", "good", "t", STORE_RUN_RUNNING, 1);
    test_run_init(&bad, "ns", "bad", "t", STORE_RUN_RUNNING, 2);
    test_run_init(&other, "ns", "other", "t", STORE_RUN_RUNNING, 3);
    test_create_run(store, &good);
    test_create_run(store, &bad);
    test_create_run(store, &other);
    store_close(store);

    MDB_txn *txn;
    MDB_env *env = raw_open(dir, &txn);
    MDB_dbi recent, rr;
    ASSERT_EQ(mdb_dbi_open(txn, "recent", 0, &recent), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "recent_run", MDB_DUPSORT | MDB_DUPFIXED, &rr), 0);
    /* bad's event 2: a torn stretch; 3: a stretch that is not there; 4: a
     * stretch of another run. */
    raw_stretch(txn, recent, rr, 1, &bad.run_id, &bad.run_id, 2, true);
    raw_stretch(txn, recent, rr, 2, NULL, &bad.run_id, 3, false);
    raw_stretch(txn, recent, rr, 3, &other.run_id, &bad.run_id, 4, false);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    struct store_opts ro = {.dir = dir, .read_only = true};
    store = test_open(&ro);
    struct store_read *rd = test_read(store);
    struct ttai_err err;
    struct store_event ev;
    uint64_t lastid;
    ASSERT_OK(store_last_event_id(rd, &bad.run_id, &lastid, &err), &err);
    ASSERT_U64_EQ(lastid, 4); /* what recent_run says */
    for (uint64_t id = 2; id <= 4; id++)
        ASSERT_EQ(store_event_get(rd, &bad.run_id, id, &ev, &err), TTAI_ECORRUPT);
    ASSERT_OK(store_event_get(rd, &bad.run_id, 1, &ev, &err), &err);
    ASSERT_EQ(store_event_get(rd, &bad.run_id, 5, &ev, &err), TTAI_ENOTFOUND);
    struct store_iter it;
    ASSERT_OK(store_hist_iter_init(&it, rd, &bad.run_id, 1, &err), &err);
    ASSERT_EQ(store_hist_iter_next(&it, &ev, &err), 1);
    ASSERT_U64_EQ(ev.event_id, 1);
    for (int n = 0; n < 3; n++) { /* each bad stretch once */
        ASSERT_EQ(store_hist_iter_next(&it, &ev, &err), TTAI_ECORRUPT);
        ASSERT(strstr(err.msg, "recent") != NULL);
    }
    ASSERT_EQ(store_hist_iter_next(&it, &ev, &err), 0);
    store_iter_release(&it);
    ASSERT_OK(store_hist_iter_init(&it, rd, &good.run_id, 1, &err), &err);
    ASSERT_EQ(store_hist_iter_next(&it, &ev, &err), 1);
    ASSERT_EQ(store_hist_iter_next(&it, &ev, &err), 0);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);

    /* A writer refuses to merge them: the group fails and latches. */
    struct store_opts opts = {.dir = dir, .recent_merge_stretches = 1};
    store = test_open(&opts);
    struct store_batch *b = store_batch_new();
    ev = (struct store_event){.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = 5};
    ASSERT_OK(store_batch_append(b, &good.run_id, &ev, &err), &err);
    ASSERT(store_commit(store, b, &err) < 0);
    store_batch_free(b);
    store_close(store);
}
