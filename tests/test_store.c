/* test_store.c: opening and closing the store, meta, reopening, read-only
 * stores, locking, schema versions, argument checks and corrupt records.
 * The tables themselves are in test_tables.c, the write path under
 * concurrency in test_group_commit.c, running out of room in
 * test_space.c. */
#include "test_util.h"

#include <lmdb.h>
#include <sys/stat.h>

/* A run id made from a number: tests that reopen a store know their ids. */
static struct ttai_run_id rid(unsigned i)
{
    struct ttai_run_id id;
    memset(&id, 0, sizeof(id));
    id.b[0] = 0x42;
    id.b[14] = (uint8_t)(i >> 8);
    id.b[15] = (uint8_t)i;
    return id;
}

static void run_init_id(struct store_run *run, unsigned id, const char *ns, const char *wf,
                        const char *type, int status, int64_t start_ms)
{
    test_run_init(run, ns, wf, type, status, start_ms);
    run->run_id = rid(id);
}

static void commit(struct store *store, struct store_batch *b)
{
    struct ttai_err err;
    ASSERT_OK(store_commit(store, b, &err), &err);
}

/* Lists a visibility query into arrays; returns the count. */
static size_t vis_list(struct store_read *rd, const struct store_vis_query *q, int64_t *starts,
                       struct ttai_run_id *runs, size_t max)
{
    struct store_iter it;
    struct ttai_err err;
    ASSERT_OK(store_vis_iter_init(&it, rd, q, &err), &err);
    size_t n = 0;
    int64_t start;
    struct ttai_run_id run;
    int rc;
    while ((rc = store_vis_iter_next(&it, &start, &run, &err)) == 1) {
        ASSERT_LT(n, max);
        starts[n] = start;
        runs[n] = run;
        n++;
    }
    ASSERT_EQ(rc, 0);
    store_iter_release(&it);
    return n;
}

static void store_path(char *dir, size_t size, const char *name)
{
    test_path(dir, size, name);
}

/* ---- The smoke test ------------------------------------------------------ */

void test_store_smoke(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    ASSERT_STR_EQ(store_dir(store), dir);
    struct ttai_err err;
    struct store_run run;
    test_run_init(&run, "default", "wf-1", "counter", STORE_RUN_RUNNING, 1000);
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_require_exec(b, "default", "wf-1", NULL), &err);
    ASSERT_OK(store_batch_put_run(b, &run), &err);
    ASSERT_OK(store_batch_put_exec(b, "default", "wf-1", &run.run_id), &err);
    struct store_event ev = {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = 1000};
    ASSERT_OK(store_batch_append(b, &run.run_id, &ev, &err), &err);
    ev.type = STORE_EV_SIGNAL_RECEIVED;
    ASSERT_OK(store_batch_append(b, &run.run_id, &ev, &err), &err);
    ASSERT_EQ(store_batch_ops(b), 5);
    ASSERT_EQ(store_batch_events(b), 2);
    ASSERT_OK(store_commit(store, b, &err), &err);
    ASSERT_U64_EQ(store_batch_event_id(b, 0), 1);
    ASSERT_U64_EQ(store_batch_event_id(b, 1), 2);

    /* The same start again is refused whole. */
    ASSERT_EQ(store_commit(store, b, &err), TTAI_ECONFLICT);
    ASSERT_EQ(err.rc, TTAI_ECONFLICT);
    ASSERT(strstr(err.msg, "wf-1") != NULL);
    store_batch_free(b);

    struct store_read *rd = test_read(store);
    struct store_run got;
    ASSERT_OK(store_run_get(rd, &run.run_id, &got, &err), &err);
    ASSERT_U64_EQ(got.last_event_id, 2);
    ASSERT_STR_EQ(got.workflow_id, "wf-1");
    struct store_iter it;
    ASSERT_OK(store_hist_iter_init(&it, rd, &run.run_id, 1, &err), &err);
    struct store_event out;
    int n = 0;
    while (store_hist_iter_next(&it, &out, &err) == 1)
        ASSERT_U64_EQ(out.event_id, (uint64_t)++n);
    ASSERT_EQ(n, 2);
    store_iter_release(&it);
    struct store_vis_query q = {.ns = "default", .index = STORE_VIS_STATUS,
                                .status = STORE_RUN_RUNNING};
    ASSERT_OK(store_vis_iter_init(&it, rd, &q, &err), &err);
    int64_t start;
    struct ttai_run_id got_run;
    ASSERT_EQ(store_vis_iter_next(&it, &start, &got_run, &err), 1);
    ASSERT(ttai_run_id_eq(&got_run, &run.run_id));
    ASSERT_EQ(store_vis_iter_next(&it, &start, &got_run, &err), 0);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
}

/* ---- Everything, across reopen and read-only ------------------------------- */

/* Writes one of everything; check_world() verifies it. */
static void put_world(struct store *store)
{
    struct ttai_err err;
    struct store_run r1, r2;
    run_init_id(&r1, 1, "a", "wf-1", "order", STORE_RUN_RUNNING, 100);
    run_init_id(&r2, 2, "ab", "wf-2", "order", STORE_RUN_COMPLETED, 200);
    r2.close_ms = 250;
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_put_run(b, &r1), &err);
    ASSERT_OK(store_batch_put_run(b, &r2), &err);
    ASSERT_OK(store_batch_put_exec(b, "a", "wf-1", &r1.run_id), &err);
    ASSERT_OK(store_batch_put_exec(b, "ab", "wf-2", &r2.run_id), &err);
    for (int i = 0; i < 4; i++) {
        struct store_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = i == 0 ? STORE_EV_WORKFLOW_STARTED : STORE_EV_ACTIVITY_SCHEDULED;
        ev.time_ms = 100 + i;
        ev.seq = (uint64_t)i;
        ev.payload = bytes_of("payload");
        ev.has_opts = i == 2;
        ev.opts.backoff = 1.5;
        ASSERT_OK(store_batch_append(b, &r1.run_id, &ev, &err), &err);
    }
    ASSERT_OK(store_batch_put_timer(b, 5000, &r1.run_id, 1, 2), &err);
    ASSERT_OK(store_batch_put_timer(b, -5, &r2.run_id, 2, 3), &err);
    ASSERT_OK(store_batch_put_activity(b, &r1.run_id, 3, "act-record", 10), &err);
    ASSERT_OK(store_batch_put_schedule(b, "a", "nightly", "sched-record", 12), &err);
    commit(store, b);
    store_batch_free(b);
}

static void check_world(struct store *store)
{
    struct ttai_err err;
    struct store_read *rd = test_read(store);
    struct ttai_run_id r1 = rid(1), r2 = rid(2), got;
    struct store_run run;
    ASSERT_OK(store_run_get(rd, &r1, &run, &err), &err);
    ASSERT_STR_EQ(run.workflow_id, "wf-1");
    ASSERT_U64_EQ(run.last_event_id, 4);
    ASSERT_OK(store_run_get(rd, &r2, &run, &err), &err);
    ASSERT_EQ(run.status, STORE_RUN_COMPLETED);
    ASSERT_EQ(run.close_ms, 250);
    ASSERT_OK(store_exec_get(rd, "ab", "wf-2", &got, &err), &err);
    ASSERT(ttai_run_id_eq(&got, &r2));
    struct store_event ev;
    ASSERT_OK(store_event_get(rd, &r1, 3, &ev, &err), &err);
    ASSERT_EQ(ev.type, STORE_EV_ACTIVITY_SCHEDULED);
    ASSERT(ev.has_opts);
    ASSERT(ev.opts.backoff == 1.5);
    ASSERT(bytes_eq_str(ev.payload, "payload"));
    struct store_iter it;
    struct store_timer t;
    ASSERT_OK(store_timer_iter_init(&it, rd, INT64_MAX, &err), &err);
    ASSERT_EQ(store_timer_iter_next(&it, &t, &err), 1);
    ASSERT_EQ(t.fire_ms, -5);
    ASSERT_EQ(t.kind, 3);
    ASSERT_EQ(store_timer_iter_next(&it, &t, &err), 1);
    ASSERT_EQ(t.fire_ms, 5000);
    ASSERT_EQ(store_timer_iter_next(&it, &t, &err), 0);
    store_iter_release(&it);
    struct store_bytes rec;
    ASSERT_OK(store_activity_get(rd, &r1, 3, &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "act-record"));
    ASSERT_OK(store_schedule_get(rd, "a", "nightly", &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "sched-record"));
    struct store_vis_query q = {.ns = "ab", .index = STORE_VIS_STATUS,
                                .status = STORE_RUN_COMPLETED};
    int64_t starts[4];
    struct ttai_run_id runs[4];
    ASSERT_EQ(vis_list(rd, &q, starts, runs, 4), 1);
    ASSERT(ttai_run_id_eq(&runs[0], &r2));
    struct store_stats st;
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    static const uint64_t want[STORE_T__COUNT] = {
        [STORE_T_META] = 2, [STORE_T_EXEC] = 2, [STORE_T_RUN] = 2, [STORE_T_HIST] = 4,
        [STORE_T_TIMER] = 2, [STORE_T_ACT] = 1, [STORE_T_SCHED] = 1, [STORE_T_VIS_STATUS] = 2,
        [STORE_T_VIS_TYPE] = 2, [STORE_T_VIS_START] = 2};
    for (int tb = 0; tb < STORE_T__COUNT; tb++)
        if (st.entries[tb] != want[tb])
            test__fail(__FILE__, __LINE__, "table %s has %" PRIu64 " entries, want %" PRIu64,
                       store_table_name(tb), st.entries[tb], want[tb]);
    store_read_end(rd);
}

void test_store_stats(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    struct store_read *rd = test_read(store);
    struct store_stats st;
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    store_read_end(rd);
    ASSERT_U64_EQ(st.entries[STORE_T_META], 2);
    for (int t = 1; t < STORE_T__COUNT; t++)
        ASSERT_U64_EQ(st.entries[t], 0);
    put_world(store);
    check_world(store); /* counts every table */
    rd = test_read(store);
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    store_read_end(rd);
    ASSERT_GE(st.page_bytes, 512);
    ASSERT_GT(st.pages[STORE_T_HIST], 0);
    ASSERT_GT(st.used_bytes, 0);
    ASSERT_LE(st.used_bytes, st.map_bytes);
    ASSERT_GT(st.file_bytes, 0);
    struct store_counters c;
    store_counters_get(store, &c);
    ASSERT_U64_EQ(st.map_bytes, c.map_bytes);
    ASSERT_U64_EQ(c.commits, 1);
    ASSERT_U64_EQ(c.batches, 1);
    ASSERT_U64_EQ(c.events, 4);
    store_close(store);
}

void test_store_reopen_keeps_everything(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    put_world(store);
    check_world(store);
    store_close(store);
    for (int i = 0; i < 2; i++) {
        store = test_open_dir(dir);
        check_world(store);
        store_close(store);
    }
    /* And appends continue the ids. */
    store = test_open_dir(dir);
    struct ttai_err err;
    struct store_batch *b = store_batch_new();
    struct ttai_run_id r1 = rid(1);
    struct store_event ev = {.type = STORE_EV_TIMER_FIRED, .time_ms = 5000};
    ASSERT_OK(store_batch_append(b, &r1, &ev, &err), &err);
    commit(store, b);
    ASSERT_U64_EQ(store_batch_event_id(b, 0), 5);
    store_batch_free(b);
    store_close(store);
}

void test_store_meta(void)
{
    char dir[600], dir2[600];
    store_path(dir, sizeof(dir), "data");
    store_path(dir2, sizeof(dir2), "other");
    struct ttai_err err;
    struct ttai_run_id ids[3];
    for (int i = 0; i < 3; i++) {
        struct store_opts opts = {.dir = i < 2 ? dir : dir2, .read_only = i == 1};
        struct store *store = test_open(&opts);
        struct store_read *rd = test_read(store);
        uint32_t version = 0;
        ASSERT_OK(store_meta_get(rd, &version, &ids[i], &err), &err);
        ASSERT_EQ(version, STORE_SCHEMA_VERSION);
        ASSERT(!ttai_run_id_is_zero(&ids[i]));
        store_read_end(rd);
        store_close(store);
    }
    ASSERT(ttai_run_id_eq(&ids[0], &ids[1])); /* stable across reopen */
    ASSERT(!ttai_run_id_eq(&ids[0], &ids[2])); /* each store its own */
}

/* ---- Opening: read-only, missing, busy, versions, bad arguments ---------- */

static int submit_calls;

static void submit_cb(struct store_batch *batch, int rc, const struct ttai_err *err, void *arg)
{
    (void)batch;
    (void)rc;
    (void)err;
    (void)arg;
    submit_calls++;
}

void test_store_read_only(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    put_world(store);
    store_close(store);

    struct store_opts opts = {.dir = dir, .read_only = true};
    store = test_open(&opts);
    check_world(store);
    struct ttai_err err;
    struct store_batch *b = store_batch_new();
    struct ttai_run_id r1 = rid(1);
    struct store_event ev = {.type = STORE_EV_TIMER_FIRED, .time_ms = 5000};
    ASSERT_OK(store_batch_append(b, &r1, &ev, &err), &err);
    ASSERT_EQ(store_submit(store, b, submit_cb, NULL), TTAI_EPERM);
    ASSERT_EQ(store_commit(store, b, &err), TTAI_EPERM);
    ASSERT_EQ(err.rc, TTAI_EPERM);
    store_close(store);
    ASSERT_EQ(submit_calls, 0); /* not even at close */
    ASSERT_EQ(store_batch_events(b), 1); /* still ours */
    store_batch_free(b);

    /* Nothing was written. */
    store = test_open_dir(dir);
    check_world(store);
    store_close(store);
}

void test_store_read_only_missing(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "missing");
    struct ttai_err err;
    struct store_opts opts = {.dir = dir, .read_only = true};
    struct store *store = (struct store *)&opts; /* must be set to NULL */
    ASSERT_EQ(store_open(&store, &opts, &err), TTAI_ENOTFOUND);
    ASSERT(store == NULL);
    ASSERT(strstr(err.msg, dir) != NULL);
    struct stat st;
    ASSERT(stat(dir, &st) != 0); /* and not created */
    /* An existing directory without a store. */
    ASSERT_EQ(mkdir(dir, 0755), 0);
    ASSERT_EQ(store_open(&store, &opts, &err), TTAI_ENOTFOUND);
    ASSERT(store == NULL);
}

void test_store_second_open_busy(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    struct store_opts opts = {.dir = dir};
    struct store *second = (struct store *)&opts;
    ASSERT_EQ(store_open(&second, &opts, &err), TTAI_EBUSY);
    ASSERT(second == NULL);
    ASSERT(strstr(err.msg, dir) != NULL);
    /* The failed open disturbed nothing. */
    put_world(store);
    check_world(store);
    store_close(store);
    store = test_open_dir(dir);
    check_world(store);
    store_close(store);
}

/* Rewrites meta/schema_version with raw LMDB, as a newer build would. */
static void write_schema_version(const char *dir, const void *value, size_t len)
{
    MDB_env *env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 16), 0);
    ASSERT_EQ(mdb_env_open(env, dir, 0, 0644), 0);
    MDB_txn *txn;
    ASSERT_EQ(mdb_txn_begin(env, NULL, 0, &txn), 0);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    MDB_val key = {strlen("schema_version"), "schema_version"};
    MDB_val val = {len, (void *)value};
    ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

void test_store_schema_version_mismatch(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    put_world(store);
    store_close(store);

    static const uint8_t v99[4] = {0, 0, 0, 99};
    write_schema_version(dir, v99, sizeof(v99));
    for (int ro = 0; ro < 2; ro++) {
        struct ttai_err err;
        struct store_opts opts = {.dir = dir, .read_only = ro};
        ASSERT_EQ(store_open(&store, &opts, &err), TTAI_EVERSION);
        ASSERT(store == NULL);
        ASSERT(strstr(err.msg, "99") != NULL);
        ASSERT(strstr(err.msg, dir) != NULL);
    }
    /* A malformed version is corruption, not a version. */
    static const uint8_t v3[3] = {0, 0, 1};
    write_schema_version(dir, v3, sizeof(v3));
    struct ttai_err err;
    struct store_opts opts = {.dir = dir};
    ASSERT_EQ(store_open(&store, &opts, &err), TTAI_ECORRUPT);
    /* Back to ours, and everything is there (the refused opens released
     * the directory lock). */
    static const uint8_t v1[4] = {0, 0, 0, STORE_SCHEMA_VERSION};
    write_schema_version(dir, v1, sizeof(v1));
    store = test_open_dir(dir);
    check_world(store);
    store_close(store);
}

void test_store_open_bad_args(void)
{
    struct ttai_err err;
    struct store *store;
    ASSERT_EQ(store_open(&store, NULL, &err), TTAI_EINVAL);
    struct store_opts opts = {.dir = NULL};
    ASSERT_EQ(store_open(&store, &opts, &err), TTAI_EINVAL);
    opts.dir = "";
    ASSERT_EQ(store_open(&store, &opts, &err), TTAI_EINVAL);
    ASSERT(store == NULL);
    /* A directory that cannot be created. */
    char path[600];
    store_path(path, sizeof(path), "file");
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fclose(f);
    char under[700];
    snprintf(under, sizeof(under), "%s/data", path);
    opts.dir = under;
    int rc = store_open(&store, &opts, &err);
    ASSERT_LT(rc, 0);
    ASSERT(store == NULL);
    ASSERT(strstr(err.msg, under) != NULL);
}

static void check_invalid_reads(struct store *store, const char *ns_long, const char *wf_long,
                                const char *type_long, const char *sched_long);

/* Over-long and empty names, unknown statuses: refused when added, and the
 * batch is left as it was. Reads refuse them too. */
void test_store_invalid_names(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    char ns_long[STORE_NS_MAX + 2], wf_long[STORE_WORKFLOW_ID_MAX + 2],
        type_long[STORE_TYPE_MAX + 2], sched_long[STORE_SCHEDULE_ID_MAX + 2];
    memset(ns_long, 'n', sizeof(ns_long) - 1);
    ns_long[sizeof(ns_long) - 1] = '\0';
    memset(wf_long, 'w', sizeof(wf_long) - 1);
    wf_long[sizeof(wf_long) - 1] = '\0';
    memset(type_long, 't', sizeof(type_long) - 1);
    type_long[sizeof(type_long) - 1] = '\0';
    memset(sched_long, 's', sizeof(sched_long) - 1);
    sched_long[sizeof(sched_long) - 1] = '\0';

    struct store_batch *b = store_batch_new();
    struct ttai_run_id r = rid(1);
    ASSERT_OK(store_batch_put_exec(b, "ns", "wf", &r), &err); /* one good op */
    ASSERT_EQ(store_batch_put_exec(b, "", "wf", &r), TTAI_EINVAL);
    ASSERT_EQ(store_batch_put_exec(b, "ns", "", &r), TTAI_EINVAL);
    ASSERT_EQ(store_batch_put_exec(b, ns_long, "wf", &r), TTAI_EINVAL);
    ASSERT_EQ(store_batch_put_exec(b, "ns", wf_long, &r), TTAI_EINVAL);
    ASSERT_EQ(store_batch_require_exec(b, ns_long, "wf", NULL), TTAI_EINVAL);
    ASSERT_EQ(store_batch_require_exec(b, "ns", "", &r), TTAI_EINVAL);
    ASSERT_EQ(store_batch_require_run_status(b, &r, 0), TTAI_EINVAL);
    ASSERT_EQ(store_batch_require_run_status(b, &r, STORE_RUN_STATUS_MAX + 1), TTAI_EINVAL);
    ASSERT_EQ(store_batch_put_schedule(b, "", "s", "x", 1), TTAI_EINVAL);
    ASSERT_EQ(store_batch_put_schedule(b, "ns", sched_long, "x", 1), TTAI_EINVAL);
    ASSERT_EQ(store_batch_put_schedule(b, ns_long, "s", "x", 1), TTAI_EINVAL);
    ASSERT_EQ(store_batch_del_schedule(b, "ns", ""), TTAI_EINVAL);
    ASSERT_EQ(store_batch_del_schedule(b, "ns", sched_long), TTAI_EINVAL);
    struct store_run run;
    run_init_id(&run, 1, "ns", "wf", "t", STORE_RUN_RUNNING, 0);
    struct store_run bad = run;
    snprintf(bad.ns, sizeof(bad.ns), "%s", "");
    ASSERT_EQ(store_batch_put_run(b, &bad), TTAI_EINVAL);
    bad = run;
    memcpy(bad.type, type_long, STORE_TYPE_MAX);
    bad.type[STORE_TYPE_MAX] = '\0';
    ASSERT_OK(store_batch_put_run(b, &bad), &err); /* exactly the longest is fine */
    bad = run;
    bad.workflow_id[0] = '\0';
    ASSERT_EQ(store_batch_put_run(b, &bad), TTAI_EINVAL);
    bad = run;
    bad.type[0] = '\0';
    ASSERT_EQ(store_batch_put_run(b, &bad), TTAI_EINVAL);
    bad = run;
    bad.status = 0;
    ASSERT_EQ(store_batch_put_run(b, &bad), TTAI_EINVAL);
    bad.status = 99;
    ASSERT_EQ(store_batch_put_run(b, &bad), TTAI_EINVAL);
    bad = run;
    memset(&bad.run_id, 0, sizeof(bad.run_id));
    ASSERT_EQ(store_batch_put_run(b, &bad), TTAI_EINVAL);
    static uint8_t big[STORE_RECORD_BYTES_MAX + 1];
    ASSERT_EQ(store_batch_put_activity(b, &r, 1, big, sizeof(big)), TTAI_ETOOBIG);
    ASSERT_EQ(store_batch_put_schedule(b, "ns", "s", big, sizeof(big)), TTAI_ETOOBIG);
    struct store_event ev = {.type = 0, .time_ms = 1};
    ASSERT_EQ(store_batch_append(b, &r, &ev, &err), TTAI_EINVAL);
    ev.type = STORE_EV_SIGNAL_RECEIVED;
    ev.payload = (struct store_bytes){big, STORE_EVENT_BYTES_MAX};
    ASSERT_EQ(store_batch_append(b, &r, &ev, &err), TTAI_ETOOBIG);
    ASSERT_EQ(store_batch_ops(b), 2);
    ASSERT_EQ(store_batch_events(b), 0);
    /* What was added commits fine. */
    commit(store, b);
    store_batch_free(b);
    check_invalid_reads(store, ns_long, wf_long, type_long, sched_long);
    store_close(store);
}

static void check_invalid_reads(struct store *store, const char *ns_long, const char *wf_long,
                                const char *type_long, const char *sched_long)
{
    struct ttai_err err;
    struct store_read *rd = test_read(store);
    struct ttai_run_id got;
    ASSERT_OK(store_exec_get(rd, "ns", "wf", &got, &err), &err);
    ASSERT_EQ(store_exec_get(rd, "", "wf", &got, &err), TTAI_EINVAL);
    ASSERT_EQ(store_exec_get(rd, ns_long, "wf", &got, &err), TTAI_EINVAL);
    ASSERT_EQ(store_exec_get(rd, "ns", wf_long, &got, &err), TTAI_EINVAL);
    struct store_bytes rec;
    ASSERT_EQ(store_schedule_get(rd, "ns", sched_long, &rec, &err), TTAI_EINVAL);
    ASSERT_EQ(store_schedule_get(rd, "", "s", &rec, &err), TTAI_EINVAL);
    struct store_iter it;
    ASSERT_EQ(store_schedule_iter_init(&it, rd, ns_long, &err), TTAI_EINVAL);
    store_iter_release(&it);
    ASSERT_EQ(store_schedule_iter_init(&it, rd, "", &err), TTAI_EINVAL);
    store_iter_release(&it);
    struct store_vis_query bad_q[] = {
        {.ns = "", .index = STORE_VIS_START},
        {.ns = ns_long, .index = STORE_VIS_START},
        {.ns = "ns", .index = 0},
        {.ns = "ns", .index = 4},
        {.ns = "ns", .index = STORE_VIS_STATUS, .status = 0},
        {.ns = "ns", .index = STORE_VIS_STATUS, .status = STORE_RUN_STATUS_MAX + 1},
        {.ns = "ns", .index = STORE_VIS_TYPE, .type = ""},
        {.ns = "ns", .index = STORE_VIS_TYPE, .type = type_long},
    };
    for (size_t i = 0; i < sizeof(bad_q) / sizeof(bad_q[0]); i++) {
        ASSERT_EQ(store_vis_iter_init(&it, rd, &bad_q[i], &err), TTAI_EINVAL);
        ASSERT(err.msg[0] != '\0');
        store_iter_release(&it);
    }
    store_read_end(rd);
}

/* "Release after an init failure is safe" even when the iterator was
 * never touched before (stack garbage). */
void test_store_iter_release_after_init_failure(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct store_read *rd = test_read(store);
    struct ttai_err err;
    struct store_iter it;
    memset(&it, 0xa5, sizeof(it));
    ASSERT_EQ(store_schedule_iter_init(&it, rd, "", &err), TTAI_EINVAL);
    store_iter_release(&it);
    struct store_vis_query q = {.ns = "ns", .index = 99};
    static const int indexes[] = {99, STORE_VIS_START, STORE_VIS_STATUS, STORE_VIS_TYPE};
    for (size_t i = 0; i < 4; i++) {
        memset(&it, 0xa5, sizeof(it));
        q.index = indexes[i];
        q.ns = i == 1 ? "" : "ns";
        q.status = 0;
        q.type = "";
        ASSERT_EQ(store_vis_iter_init(&it, rd, &q, &err), TTAI_EINVAL);
        store_iter_release(&it);
    }
    store_read_end(rd);
    store_close(store);
}

/* A cleared batch is empty and reusable; event ids are per commit. */
void test_store_batch_clear_reuse(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    struct store_run run;
    run_init_id(&run, 1, "ns", "wf", "t", STORE_RUN_RUNNING, 0);
    test_create_run(store, &run);
    struct store_batch *b = store_batch_new();
    ASSERT_EQ(store_batch_ops(b), 0);
    ASSERT_EQ(store_batch_events(b), 0);
    for (int round = 0; round < 3; round++) {
        store_batch_clear(b);
        ASSERT_EQ(store_batch_ops(b), 0);
        ASSERT_EQ(store_batch_events(b), 0);
        ASSERT_OK(store_batch_require_last_event(b, &run.run_id, 1 + 2 * (uint64_t)round), &err);
        for (int i = 0; i < 2; i++) {
            struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = round};
            ASSERT_OK(store_batch_append(b, &run.run_id, &ev, &err), &err);
        }
        ASSERT_EQ(store_batch_ops(b), 3);
        commit(store, b);
        ASSERT_U64_EQ(store_batch_event_id(b, 0), 2 + 2 * (uint64_t)round);
        ASSERT_U64_EQ(store_batch_event_id(b, 1), 3 + 2 * (uint64_t)round);
    }
    /* An empty batch commits (and changes nothing). */
    store_batch_clear(b);
    commit(store, b);
    ASSERT_U64_EQ(test_last_event(store, &run.run_id), 7);
    store_batch_free(b);
    store_batch_free(NULL);
    store_close(store);
    store_close(NULL);
}

/* ---- Corrupt records ------------------------------------------------------ */

static void raw_put(MDB_txn *txn, MDB_env *env, const char *table, const void *key,
                    size_t key_len, const void *val, size_t val_len)
{
    (void)env;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, table, 0, &dbi), 0);
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Records that do not decode, or keys of the wrong shape (a damaged disk,
 * another program): every read reports TTAI_ECORRUPT with a message, and
 * nothing crashes or reads past a value. */
void test_store_corrupt_records(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    store_close(store);

    MDB_env *env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 16), 0);
    ASSERT_EQ(mdb_env_open(env, dir, 0, 0644), 0);
    MDB_txn *txn;
    ASSERT_EQ(mdb_txn_begin(env, NULL, 0, &txn), 0);
    struct ttai_run_id r1 = rid(1), r2 = rid(2), r3 = rid(3);
    raw_put(txn, env, "run", r1.b, 16, "\xc0", 1);
    uint8_t hk[24];
    memcpy(hk, r2.b, 16);
    put_be64(hk + 16, 1);
    raw_put(txn, env, "hist", hk, 24, "\x81\x00", 2);
    uint8_t long_key[25]; /* (r3, 1) and one byte more */
    memcpy(long_key, r3.b, 16);
    put_be64(long_key + 16, 1);
    long_key[24] = 0;
    raw_put(txn, env, "hist", long_key, 25, "\x82\x00\x01\x01\x01", 5);
    raw_put(txn, env, "exec", "ns\0wf", 5, "abc", 3);
    uint8_t tk[32];
    put_be64(tk, 1000 ^ (1ull << 63));
    memcpy(tk + 8, r1.b, 16);
    put_be64(tk + 24, 1);
    raw_put(txn, env, "timer", tk, 32, "ab", 2);
    raw_put(txn, env, "act", r1.b, 16, "rec", 3);
    raw_put(txn, env, "sched", "no-nul", 6, "rec", 3);
    raw_put(txn, env, "meta", "engine_id", 9, "short", 5);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    store = test_open_dir(dir);
    struct store_read *rd = test_read(store);
    struct ttai_err err;
    struct store_run run;
    err.msg[0] = '\0';
    ASSERT_EQ(store_run_get(rd, &r1, &run, &err), TTAI_ECORRUPT);
    ASSERT(err.msg[0] != '\0');
    struct store_event ev;
    ASSERT_EQ(store_event_get(rd, &r2, 1, &ev, &err), TTAI_ECORRUPT);
    ASSERT_EQ(err.rc, TTAI_ECORRUPT);
    ASSERT(strstr(err.msg, "event 1") != NULL);
    struct ttai_run_id got;
    ASSERT_EQ(store_exec_get(rd, "ns", "wf", &got, &err), TTAI_ECORRUPT);
    uint32_t version;
    ASSERT_EQ(store_meta_get(rd, &version, &got, &err), TTAI_ECORRUPT);
    uint64_t last;
    ASSERT_OK(store_last_event_id(rd, &r3, &last, &err), &err);
    ASSERT_U64_EQ(last, 0); /* the long key is no event of r3 */

    struct store_iter it;
    ASSERT_OK(store_run_iter_init(&it, rd, &err), &err);
    ASSERT_EQ(store_run_iter_next(&it, &run, &err), TTAI_ECORRUPT);
    store_iter_release(&it);
    ASSERT_OK(store_hist_iter_init(&it, rd, &r2, 1, &err), &err);
    ASSERT_EQ(store_hist_iter_next(&it, &ev, &err), TTAI_ECORRUPT);
    ASSERT_EQ(err.rc, TTAI_ECORRUPT);
    store_iter_release(&it);
    ASSERT_OK(store_hist_iter_init(&it, rd, &r3, 1, &err), &err);
    ASSERT_EQ(store_hist_iter_next(&it, &ev, &err), TTAI_ECORRUPT);
    store_iter_release(&it);
    struct store_bytes ns, wf, id, rec;
    ASSERT_OK(store_exec_iter_init(&it, rd, &err), &err);
    ASSERT_EQ(store_exec_iter_next(&it, &ns, &wf, &got, &err), TTAI_ECORRUPT);
    store_iter_release(&it);
    struct store_timer t;
    ASSERT_OK(store_timer_iter_init(&it, rd, INT64_MAX, &err), &err);
    ASSERT_EQ(store_timer_iter_next(&it, &t, &err), TTAI_ECORRUPT);
    store_iter_release(&it);
    uint64_t seq;
    ASSERT_OK(store_activity_iter_init(&it, rd, NULL, &err), &err);
    ASSERT_EQ(store_activity_iter_next(&it, &got, &seq, &rec, &err), TTAI_ECORRUPT);
    store_iter_release(&it);
    ASSERT_OK(store_schedule_iter_init(&it, rd, NULL, &err), &err);
    ASSERT_EQ(store_schedule_iter_next(&it, &ns, &id, &rec, &err), TTAI_ECORRUPT);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
}
