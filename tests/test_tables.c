/* test_tables.c: every table of the store through its API: runs and the
 * visibility indexes (status moves, types, newest first, pagination,
 * namespaces that are prefixes of each other), executions, timers (order,
 * bounds, deletes), activity and schedule records, history reads. */
#include "test_util.h"

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

static void put_runs(struct store *store, const struct store_run *runs, size_t n)
{
    struct ttai_err err;
    struct store_batch *b = store_batch_new();
    for (size_t i = 0; i < n; i++)
        ASSERT_OK(store_batch_put_run(b, &runs[i]), &err);
    commit(store, b);
    store_batch_free(b);
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

static size_t vis_count(struct store *store, const struct store_vis_query *q)
{
    struct store_read *rd = test_read(store);
    int64_t starts[64];
    struct ttai_run_id runs[64];
    size_t n = vis_list(rd, q, starts, runs, 64);
    store_read_end(rd);
    return n;
}

static int vis_lists(struct store *store, const struct store_vis_query *q,
                     const struct ttai_run_id *run)
{
    struct store_read *rd = test_read(store);
    int64_t starts[64];
    struct ttai_run_id runs[64];
    size_t n = vis_list(rd, q, starts, runs, 64);
    store_read_end(rd);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found += ttai_run_id_eq(&runs[i], run);
    return found;
}

static int run_id_cmp(const struct ttai_run_id *a, const struct ttai_run_id *b)
{
    return memcmp(a->b, b->b, TTAI_RUN_ID_BYTES);
}

/* Newest first: start descending, then run id descending. */
static void assert_newest_first(const int64_t *starts, const struct ttai_run_id *runs, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        ASSERT(starts[i - 1] >= starts[i]);
        if (starts[i - 1] == starts[i])
            ASSERT_GT(run_id_cmp(&runs[i - 1], &runs[i]), 0);
    }
}

static void store_path(char *dir, size_t size, const char *name)
{
    test_path(dir, size, name);
}

static void assert_run_eq(const struct store_run *a, const struct store_run *b)
{
    ASSERT(ttai_run_id_eq(&a->run_id, &b->run_id));
    ASSERT_STR_EQ(a->ns, b->ns);
    ASSERT_STR_EQ(a->workflow_id, b->workflow_id);
    ASSERT_STR_EQ(a->type, b->type);
    ASSERT_EQ(a->status, b->status);
    ASSERT_EQ(a->start_ms, b->start_ms);
    ASSERT_EQ(a->close_ms, b->close_ms);
    ASSERT(ttai_run_id_eq(&a->prev_run, &b->prev_run));
    ASSERT(ttai_run_id_eq(&a->next_run, &b->next_run));
}

/* ---- Runs ------------------------------------------------------------------ */

void test_tables_run_put_get(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;

    /* Every field, names at their longest. */
    char ns[STORE_NS_MAX + 1], wf[STORE_WORKFLOW_ID_MAX + 1], type[STORE_TYPE_MAX + 1];
    memset(ns, 'n', STORE_NS_MAX);
    ns[STORE_NS_MAX] = '\0';
    memset(wf, 'w', STORE_WORKFLOW_ID_MAX);
    wf[STORE_WORKFLOW_ID_MAX] = '\0';
    memset(type, 't', STORE_TYPE_MAX);
    type[STORE_TYPE_MAX] = '\0';
    struct store_run run;
    run_init_id(&run, 7, ns, wf, type, STORE_RUN_CONTINUED_AS_NEW, -123456789);
    run.close_ms = INT64_MAX;
    run.prev_run = rid(6);
    run.next_run = rid(8);
    run.last_event_id = 999; /* ignored by writes */
    put_runs(store, &run, 1);

    struct store_read *rd = test_read(store);
    struct store_run got;
    memset(&got, 0x77, sizeof(got));
    ASSERT_OK(store_run_get(rd, &run.run_id, &got, &err), &err);
    assert_run_eq(&got, &run);
    ASSERT_U64_EQ(got.last_event_id, 0);
    struct ttai_run_id missing = rid(9);
    ASSERT_EQ(store_run_get(rd, &missing, &got, &err), TTAI_ENOTFOUND);
    ASSERT_EQ(err.rc, TTAI_ENOTFOUND);
    ASSERT(strstr(err.msg, "not found") != NULL);
    /* The long type is listed by the type index. */
    struct store_vis_query q = {.ns = ns, .index = STORE_VIS_TYPE, .type = type};
    int64_t starts[4];
    struct ttai_run_id runs[4];
    ASSERT_EQ(vis_list(rd, &q, starts, runs, 4), 1);
    ASSERT_EQ(starts[0], -123456789);
    store_read_end(rd);

    /* Run iteration: id order, each with its last event id. */
    struct store_run more[5];
    static const unsigned ids[5] = {300, 2, 40, 0x1ff, 5};
    for (int i = 0; i < 5; i++)
        run_init_id(&more[i], ids[i], "default", "wf", "counter", STORE_RUN_RUNNING, i);
    put_runs(store, more, 5);
    struct store_batch *b = store_batch_new();
    for (int i = 0; i < 5; i++) {
        for (int k = 0; k < i; k++) {
            struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = k};
            ASSERT_OK(store_batch_append(b, &more[i].run_id, &ev, &err), &err);
        }
    }
    commit(store, b);
    store_batch_free(b);
    rd = test_read(store);
    struct store_iter it;
    ASSERT_OK(store_run_iter_init(&it, rd, &err), &err);
    int n = 0, rc;
    struct ttai_run_id prev = {{0}};
    while ((rc = store_run_iter_next(&it, &got, &err)) == 1) {
        ASSERT_GT(run_id_cmp(&got.run_id, &prev), 0);
        prev = got.run_id;
        n++;
        for (int i = 0; i < 5; i++)
            if (ttai_run_id_eq(&got.run_id, &more[i].run_id)) {
                assert_run_eq(&got, &more[i]);
                ASSERT_U64_EQ(got.last_event_id, (uint64_t)i);
            }
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 6);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
}

/* Putting a run again with a new status, start or type moves its
 * visibility entries: each index lists it exactly once, under the new
 * values only. */
void test_tables_run_status_moves_vis(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct store_run a, b, c;
    run_init_id(&a, 1, "default", "a", "counter", STORE_RUN_RUNNING, 100);
    run_init_id(&b, 2, "default", "b", "counter", STORE_RUN_RUNNING, 200);
    run_init_id(&c, 3, "default", "c", "counter", STORE_RUN_COMPLETED, 300);
    test_create_run(store, &a);
    test_create_run(store, &b);
    test_create_run(store, &c);

    struct store_vis_query running = {.ns = "default", .index = STORE_VIS_STATUS,
                                      .status = STORE_RUN_RUNNING};
    struct store_vis_query completed = running;
    completed.status = STORE_RUN_COMPLETED;
    struct store_vis_query by_start = {.ns = "default", .index = STORE_VIS_START};
    struct store_vis_query by_type = {.ns = "default", .index = STORE_VIS_TYPE,
                                      .type = "counter"};
    ASSERT_EQ(vis_count(store, &running), 2);
    ASSERT_EQ(vis_lists(store, &running, &a.run_id), 1);
    ASSERT_EQ(vis_lists(store, &completed, &a.run_id), 0);

    /* a completes. */
    a.status = STORE_RUN_COMPLETED;
    a.close_ms = 150;
    put_runs(store, &a, 1);
    ASSERT_EQ(vis_count(store, &running), 1);
    ASSERT_EQ(vis_lists(store, &running, &a.run_id), 0);
    ASSERT_EQ(vis_lists(store, &running, &b.run_id), 1);
    ASSERT_EQ(vis_count(store, &completed), 2);
    ASSERT_EQ(vis_lists(store, &completed, &a.run_id), 1);
    ASSERT_EQ(vis_count(store, &by_start), 3);
    ASSERT_EQ(vis_lists(store, &by_start, &a.run_id), 1);
    ASSERT_EQ(vis_count(store, &by_type), 3);
    /* Newest first: c (300), then a (100) among the completed. */
    struct store_read *rd = test_read(store);
    int64_t starts[8];
    struct ttai_run_id runs[8];
    ASSERT_EQ(vis_list(rd, &completed, starts, runs, 8), 2);
    ASSERT(ttai_run_id_eq(&runs[0], &c.run_id));
    ASSERT(ttai_run_id_eq(&runs[1], &a.run_id));
    ASSERT_EQ(starts[0], 300);
    ASSERT_EQ(starts[1], 100);
    struct store_stats st;
    struct ttai_err err;
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    ASSERT_U64_EQ(st.entries[STORE_T_VIS_STATUS], 3);
    ASSERT_U64_EQ(st.entries[STORE_T_VIS_TYPE], 3);
    ASSERT_U64_EQ(st.entries[STORE_T_VIS_START], 3);
    store_read_end(rd);

    /* Putting the same record again changes nothing. */
    put_runs(store, &a, 1);
    ASSERT_EQ(vis_count(store, &completed), 2);
    ASSERT_EQ(vis_count(store, &by_start), 3);

    /* A new type and start move the type and start entries. */
    a.start_ms = 400;
    snprintf(a.type, sizeof(a.type), "other");
    put_runs(store, &a, 1);
    ASSERT_EQ(vis_lists(store, &by_type, &a.run_id), 0);
    struct store_vis_query other = by_type;
    other.type = "other";
    ASSERT_EQ(vis_lists(store, &other, &a.run_id), 1);
    rd = test_read(store);
    ASSERT_EQ(vis_list(rd, &by_start, starts, runs, 8), 3);
    ASSERT(ttai_run_id_eq(&runs[0], &a.run_id));
    ASSERT_EQ(starts[0], 400);
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    ASSERT_U64_EQ(st.entries[STORE_T_VIS_STATUS], 3);
    ASSERT_U64_EQ(st.entries[STORE_T_VIS_TYPE], 3);
    ASSERT_U64_EQ(st.entries[STORE_T_VIS_START], 3);
    store_read_end(rd);

    /* Every status has its own list. */
    for (int s = 1; s <= STORE_RUN_STATUS_MAX; s++) {
        a.status = s;
        put_runs(store, &a, 1);
        for (int q = 1; q <= STORE_RUN_STATUS_MAX; q++) {
            struct store_vis_query by_status = {.ns = "default", .index = STORE_VIS_STATUS,
                                                .status = q};
            ASSERT_EQ(vis_lists(store, &by_status, &a.run_id), q == s);
        }
    }
    store_close(store);
}

void test_tables_vis_by_type(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    static const char *const types[] = {"t", "tt", "t2", "t", "u", "tt", "t"};
    struct store_run runs[7];
    for (unsigned i = 0; i < 7; i++)
        run_init_id(&runs[i], i + 1, "ns", "wf", types[i], STORE_RUN_RUNNING, (int64_t)i * 10);
    put_runs(store, runs, 7);
    struct store_read *rd = test_read(store);
    static const struct {
        const char *type;
        size_t want;
    } cases[] = {{"t", 3}, {"tt", 2}, {"t2", 1}, {"u", 1}, {"v", 0}, {"a", 0}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct store_vis_query q = {.ns = "ns", .index = STORE_VIS_TYPE, .type = cases[c].type};
        int64_t starts[8];
        struct ttai_run_id got[8];
        size_t n = vis_list(rd, &q, starts, got, 8);
        ASSERT_EQ(n, cases[c].want);
        assert_newest_first(starts, got, n);
        for (size_t i = 0; i < n; i++) {
            unsigned idx = got[i].b[15] - 1u;
            ASSERT_STR_EQ(types[idx], cases[c].type);
            ASSERT_EQ(starts[i], (int64_t)idx * 10);
        }
    }
    store_read_end(rd);
    store_close(store);
}

/* Newest first with ties and negative starts, and paging with has_after
 * that neither skips nor repeats. */
void test_tables_vis_pagination(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    enum { N = 25 };
    struct store_run runs[N];
    for (unsigned i = 0; i < N; i++)
        run_init_id(&runs[i], (i * 7) % N + 1, "ns", "wf", i % 2 ? "odd" : "even",
                    i % 3 ? STORE_RUN_RUNNING : STORE_RUN_FAILED, (int64_t)(i / 3) * 10 - 50);
    put_runs(store, runs, N);

    struct store_vis_query queries[] = {
        {.ns = "ns", .index = STORE_VIS_START},
        {.ns = "ns", .index = STORE_VIS_STATUS, .status = STORE_RUN_RUNNING},
        {.ns = "ns", .index = STORE_VIS_STATUS, .status = STORE_RUN_FAILED},
        {.ns = "ns", .index = STORE_VIS_TYPE, .type = "odd"},
        {.ns = "ns", .index = STORE_VIS_TYPE, .type = "even"},
    };
    struct store_read *rd = test_read(store);
    size_t total = 0;
    for (size_t qi = 0; qi < sizeof(queries) / sizeof(queries[0]); qi++) {
        int64_t all_starts[N + 1];
        struct ttai_run_id all[N + 1];
        size_t n = vis_list(rd, &queries[qi], all_starts, all, N + 1);
        assert_newest_first(all_starts, all, n);
        if (qi > 0)
            total += n;
        else
            ASSERT_EQ(n, N);
        /* Pages of 4 (and 1). */
        for (size_t page = 1; page <= 4; page += 3) {
            struct store_vis_query q = queries[qi];
            size_t seen = 0;
            for (;;) {
                struct store_iter it;
                struct ttai_err err;
                ASSERT_OK(store_vis_iter_init(&it, rd, &q, &err), &err);
                size_t got = 0;
                int64_t start;
                struct ttai_run_id run;
                while (got < page && store_vis_iter_next(&it, &start, &run, &err) == 1) {
                    ASSERT_LT(seen, n);
                    ASSERT_EQ(start, all_starts[seen]);
                    ASSERT(ttai_run_id_eq(&run, &all[seen]));
                    seen++;
                    got++;
                    q.has_after = true;
                    q.after_start_ms = start;
                    q.after_run = run;
                }
                store_iter_release(&it);
                if (got < page)
                    break;
            }
            ASSERT_EQ(seen, n);
        }
        /* A position that is no item: everything older than it. */
        struct store_vis_query q = queries[qi];
        q.has_after = true;
        q.after_start_ms = -15;
        memset(q.after_run.b, 0, sizeof(q.after_run.b));
        int64_t starts[N];
        struct ttai_run_id got[N];
        size_t older = vis_list(rd, &q, starts, got, N);
        size_t want = 0;
        for (size_t i = 0; i < n; i++)
            want += all_starts[i] < -15;
        ASSERT_EQ(older, want);
        /* After the oldest there is nothing. */
        if (n > 0) {
            q.after_start_ms = all_starts[n - 1];
            q.after_run = all[n - 1];
            ASSERT_EQ(vis_list(rd, &q, starts, got, N), 0);
        }
    }
    ASSERT_EQ(total, 2 * N);
    store_read_end(rd);
    store_close(store);
}

/* Namespaces that are prefixes of each other never mix. */
void test_tables_vis_namespaces(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    static const char *const nss[] = {"a", "ab", "b", "a", "ab", "aa"};
    struct store_run runs[6];
    for (unsigned i = 0; i < 6; i++)
        run_init_id(&runs[i], i + 1, nss[i], "wf", "t", STORE_RUN_RUNNING, 1000 - (int64_t)i);
    put_runs(store, runs, 6);
    static const struct {
        const char *ns;
        size_t want;
    } cases[] = {{"a", 2}, {"ab", 2}, {"b", 1}, {"aa", 1}, {"c", 0}, {"0", 0}, {"abc", 0}};
    struct store_read *rd = test_read(store);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int index = STORE_VIS_START; index <= STORE_VIS_TYPE; index++) {
            struct store_vis_query q = {.ns = cases[c].ns, .index = index,
                                        .status = STORE_RUN_RUNNING, .type = "t"};
            int64_t starts[8];
            struct ttai_run_id got[8];
            size_t n = vis_list(rd, &q, starts, got, 8);
            ASSERT_EQ(n, cases[c].want);
            for (size_t i = 0; i < n; i++)
                ASSERT_STR_EQ(nss[got[i].b[15] - 1], cases[c].ns);
        }
    }
    store_read_end(rd);
    store_close(store);
}

/* ---- Executions ---------------------------------------------------------- */

void test_tables_exec_put_get(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    struct ttai_run_id r1 = rid(1), r2 = rid(2), r3 = rid(3);
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_put_exec(b, "a", "bc", &r1), &err);
    ASSERT_OK(store_batch_put_exec(b, "ab", "c", &r2), &err);
    ASSERT_OK(store_batch_put_exec(b, "a", "b", &r3), &err);
    commit(store, b);

    struct store_read *rd = test_read(store);
    struct ttai_run_id got;
    ASSERT_OK(store_exec_get(rd, "a", "bc", &got, &err), &err);
    ASSERT(ttai_run_id_eq(&got, &r1));
    ASSERT_OK(store_exec_get(rd, "ab", "c", &got, &err), &err);
    ASSERT(ttai_run_id_eq(&got, &r2));
    ASSERT_OK(store_exec_get(rd, "a", "b", &got, &err), &err);
    ASSERT(ttai_run_id_eq(&got, &r3));
    ASSERT_EQ(store_exec_get(rd, "a", "c", &got, &err), TTAI_ENOTFOUND);
    ASSERT(strstr(err.msg, "not found") != NULL);
    ASSERT_EQ(store_exec_get(rd, "abc", "", &got, &err), TTAI_EINVAL);
    store_read_end(rd);

    /* Pointing an execution at its next run. */
    store_batch_clear(b);
    ASSERT_OK(store_batch_put_exec(b, "a", "bc", &r2), &err);
    commit(store, b);
    store_batch_free(b);
    rd = test_read(store);
    ASSERT_OK(store_exec_get(rd, "a", "bc", &got, &err), &err);
    ASSERT(ttai_run_id_eq(&got, &r2));

    /* Iteration: (ns, workflow id) order. */
    static const struct {
        const char *ns, *wf;
        unsigned run;
    } want[] = {{"a", "b", 3}, {"a", "bc", 2}, {"ab", "c", 2}};
    struct store_iter it;
    ASSERT_OK(store_exec_iter_init(&it, rd, &err), &err);
    struct store_bytes ns, wf;
    int n = 0, rc;
    while ((rc = store_exec_iter_next(&it, &ns, &wf, &got, &err)) == 1) {
        ASSERT_LT(n, 3);
        ASSERT(bytes_eq_str(ns, want[n].ns));
        ASSERT(bytes_eq_str(wf, want[n].wf));
        struct ttai_run_id expect = rid(want[n].run);
        ASSERT(ttai_run_id_eq(&got, &expect));
        n++;
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 3);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
}

/* ---- Timers --------------------------------------------------------------- */

struct timer_want {
    int64_t fire_ms;
    unsigned run;
    uint64_t seq;
    uint8_t kind;
};

static int timer_want_cmp(const void *pa, const void *pb)
{
    const struct timer_want *a = pa, *b = pb;
    if (a->fire_ms != b->fire_ms)
        return a->fire_ms < b->fire_ms ? -1 : 1;
    if (a->run != b->run)
        return a->run < b->run ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Lists timers up to upto_ms and compares with the wanted ones that fire
 * by then, in order. */
static void check_timers(struct store *store, int64_t upto_ms, const struct timer_want *want,
                         size_t n_want)
{
    struct store_read *rd = test_read(store);
    struct store_iter it;
    struct ttai_err err;
    ASSERT_OK(store_timer_iter_init(&it, rd, upto_ms, &err), &err);
    size_t i = 0;
    struct store_timer t;
    int rc;
    while ((rc = store_timer_iter_next(&it, &t, &err)) == 1) {
        while (i < n_want && want[i].run == 0)
            i++; /* deleted */
        ASSERT_LT(i, n_want);
        ASSERT(want[i].fire_ms <= upto_ms);
        ASSERT_EQ(t.fire_ms, want[i].fire_ms);
        struct ttai_run_id r = rid(want[i].run);
        ASSERT(ttai_run_id_eq(&t.run_id, &r));
        ASSERT_U64_EQ(t.seq, want[i].seq);
        ASSERT_EQ(t.kind, want[i].kind);
        i++;
    }
    ASSERT_EQ(rc, 0);
    while (i < n_want && want[i].run == 0)
        i++;
    /* Nothing that fires by upto_ms was left out. */
    ASSERT(i == n_want || want[i].fire_ms > upto_ms);
    store_iter_release(&it);
    store_read_end(rd);
}

void test_tables_timers(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    struct timer_want want[] = {
        {INT64_MAX, 1, 1, 1}, {1000, 2, 5, 2}, {-1, 1, 2, 3}, {0, 3, 1, 4},
        {INT64_MIN, 2, 9, 5}, {1000, 1, 7, 6}, {1000, 1, 6, 7}, {-1000000, 3, 3, 8},
        {1, 2, UINT64_MAX, 9}, {INT64_MAX - 1, 3, 0, 10}, {1763900000000, 1, 3, 0},
        {-1, 1, 1, 255},
    };
    size_t n = sizeof(want) / sizeof(want[0]);
    struct store_batch *b = store_batch_new();
    for (size_t i = 0; i < n; i++) {
        struct ttai_run_id r = rid(want[i].run);
        ASSERT_OK(store_batch_put_timer(b, want[i].fire_ms, &r, want[i].seq, want[i].kind), &err);
    }
    commit(store, b);
    qsort(want, n, sizeof(want[0]), timer_want_cmp);

    static const int64_t bounds[] = {INT64_MIN, -1000001, -1000000, -2, -1, 0, 999, 1000,
                                     1763900000000, INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
        check_timers(store, bounds[i], want, n);

    /* Delete three (one twice, one that never existed). */
    store_batch_clear(b);
    size_t del[] = {0, 5, n - 1};
    for (size_t i = 0; i < 3; i++) {
        struct ttai_run_id r = rid(want[del[i]].run);
        ASSERT_OK(store_batch_del_timer(b, want[del[i]].fire_ms, &r, want[del[i]].seq), &err);
    }
    struct ttai_run_id r = rid(want[5].run);
    ASSERT_OK(store_batch_del_timer(b, want[5].fire_ms, &r, want[5].seq), &err);
    ASSERT_OK(store_batch_del_timer(b, 12345, &r, 1), &err);
    commit(store, b);
    for (size_t i = 0; i < 3; i++)
        want[del[i]].run = 0;
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
        check_timers(store, bounds[i], want, n);

    /* Putting a timer again replaces its kind. */
    store_batch_clear(b);
    r = rid(want[1].run);
    ASSERT_OK(store_batch_put_timer(b, want[1].fire_ms, &r, want[1].seq, 77), &err);
    commit(store, b);
    want[1].kind = 77;
    check_timers(store, INT64_MAX, want, n);
    store_batch_free(b);
    store_close(store);
}

/* ---- Activities and schedules ----------------------------------------------- */

void test_tables_activities(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    struct ttai_run_id a = rid(0x10), bb = rid(0x11), c = rid(0x0f);
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_put_activity(b, &a, 300, "a300", 4), &err);
    ASSERT_OK(store_batch_put_activity(b, &a, 1, "a1", 2), &err);
    ASSERT_OK(store_batch_put_activity(b, &a, 2, "", 0), &err); /* an empty record */
    ASSERT_OK(store_batch_put_activity(b, &bb, 1, "b1", 2), &err);
    ASSERT_OK(store_batch_put_activity(b, &c, UINT64_MAX, "cmax", 4), &err);
    commit(store, b);

    struct store_read *rd = test_read(store);
    struct store_bytes rec;
    ASSERT_OK(store_activity_get(rd, &a, 300, &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "a300"));
    ASSERT_OK(store_activity_get(rd, &a, 2, &rec, &err), &err);
    ASSERT_EQ(rec.len, 0);
    ASSERT_OK(store_activity_get(rd, &c, UINT64_MAX, &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "cmax"));
    ASSERT_EQ(store_activity_get(rd, &a, 3, &rec, &err), TTAI_ENOTFOUND);
    ASSERT_EQ(store_activity_get(rd, &bb, 300, &rec, &err), TTAI_ENOTFOUND);

    /* Per run, in seq order; another run's records never show. */
    struct store_iter it;
    ASSERT_OK(store_activity_iter_init(&it, rd, &a, &err), &err);
    static const uint64_t a_seqs[] = {1, 2, 300};
    struct ttai_run_id run;
    uint64_t seq;
    int n = 0, rc;
    while ((rc = store_activity_iter_next(&it, &run, &seq, &rec, &err)) == 1) {
        ASSERT_LT(n, 3);
        ASSERT(ttai_run_id_eq(&run, &a));
        ASSERT_U64_EQ(seq, a_seqs[n]);
        n++;
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 3);
    store_iter_release(&it);
    struct ttai_run_id none = rid(0x20);
    ASSERT_OK(store_activity_iter_init(&it, rd, &none, &err), &err);
    ASSERT_EQ(store_activity_iter_next(&it, &run, &seq, &rec, &err), 0);
    store_iter_release(&it);
    /* All runs, in (run, seq) order. */
    ASSERT_OK(store_activity_iter_init(&it, rd, NULL, &err), &err);
    n = 0;
    while ((rc = store_activity_iter_next(&it, &run, &seq, &rec, &err)) == 1)
        n++;
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 5);
    store_iter_release(&it);
    store_read_end(rd);

    /* Replace one, delete two (one of them twice). */
    store_batch_clear(b);
    ASSERT_OK(store_batch_put_activity(b, &a, 1, "replaced", 8), &err);
    ASSERT_OK(store_batch_del_activity(b, &a, 300), &err);
    ASSERT_OK(store_batch_del_activity(b, &bb, 1), &err);
    ASSERT_OK(store_batch_del_activity(b, &bb, 1), &err);
    ASSERT_OK(store_batch_del_activity(b, &none, 5), &err);
    commit(store, b);
    store_batch_free(b);
    rd = test_read(store);
    ASSERT_OK(store_activity_get(rd, &a, 1, &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "replaced"));
    ASSERT_EQ(store_activity_get(rd, &a, 300, &rec, &err), TTAI_ENOTFOUND);
    ASSERT_EQ(store_activity_get(rd, &bb, 1, &rec, &err), TTAI_ENOTFOUND);
    ASSERT_OK(store_activity_iter_init(&it, rd, NULL, &err), &err);
    n = 0;
    while (store_activity_iter_next(&it, &run, &seq, &rec, &err) == 1)
        n++;
    ASSERT_EQ(n, 3);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
}

static int list_schedules(struct store_read *rd, const char *ns, const char **ns_out,
                          const char **id_out, const char **rec_out, int max)
{
    struct store_iter it;
    struct ttai_err err;
    ASSERT_OK(store_schedule_iter_init(&it, rd, ns, &err), &err);
    struct store_bytes got_ns, got_id, rec;
    int n = 0, rc;
    while ((rc = store_schedule_iter_next(&it, &got_ns, &got_id, &rec, &err)) == 1) {
        ASSERT_LT(n, max);
        if (!bytes_eq_str(got_ns, ns_out[n]) || !bytes_eq_str(got_id, id_out[n]) ||
            !bytes_eq_str(rec, rec_out[n]))
            test__fail(__FILE__, __LINE__, "schedule %d of '%s': got '%.*s' '%.*s' '%.*s'", n,
                       ns ? ns : "(all)", (int)got_ns.len, (const char *)got_ns.data,
                       (int)got_id.len, (const char *)got_id.data, (int)rec.len,
                       (const char *)rec.data);
        n++;
    }
    ASSERT_EQ(rc, 0);
    store_iter_release(&it);
    return n;
}

void test_tables_schedules(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    char long_id[STORE_SCHEDULE_ID_MAX + 1];
    memset(long_id, 's', STORE_SCHEDULE_ID_MAX);
    long_id[STORE_SCHEDULE_ID_MAX] = '\0';
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_put_schedule(b, "a", "s2", "a-s2", 4), &err);
    ASSERT_OK(store_batch_put_schedule(b, "ab", "s1", "ab-s1", 5), &err);
    ASSERT_OK(store_batch_put_schedule(b, "a", "s1", "a-s1", 4), &err);
    ASSERT_OK(store_batch_put_schedule(b, "b", long_id, "b-long", 6), &err);
    ASSERT_OK(store_batch_put_schedule(b, "a", "bs1", "a-bs1", 5), &err);
    commit(store, b);

    struct store_read *rd = test_read(store);
    struct store_bytes rec;
    ASSERT_OK(store_schedule_get(rd, "a", "s1", &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "a-s1"));
    ASSERT_OK(store_schedule_get(rd, "ab", "s1", &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "ab-s1"));
    ASSERT_OK(store_schedule_get(rd, "b", long_id, &rec, &err), &err);
    ASSERT(bytes_eq_str(rec, "b-long"));
    ASSERT_EQ(store_schedule_get(rd, "ab", "s2", &rec, &err), TTAI_ENOTFOUND);
    ASSERT_EQ(store_schedule_get(rd, "a", "bs", &rec, &err), TTAI_ENOTFOUND);

    const char *a_ns[] = {"a", "a", "a"}, *a_ids[] = {"bs1", "s1", "s2"},
               *a_recs[] = {"a-bs1", "a-s1", "a-s2"};
    ASSERT_EQ(list_schedules(rd, "a", a_ns, a_ids, a_recs, 3), 3);
    const char *ab_ns[] = {"ab"}, *ab_ids[] = {"s1"}, *ab_recs[] = {"ab-s1"};
    ASSERT_EQ(list_schedules(rd, "ab", ab_ns, ab_ids, ab_recs, 1), 1);
    ASSERT_EQ(list_schedules(rd, "c", NULL, NULL, NULL, 0), 0);
    ASSERT_EQ(list_schedules(rd, "aa", NULL, NULL, NULL, 0), 0);
    const char *all_ns[] = {"a", "a", "a", "ab", "b"},
               *all_ids[] = {"bs1", "s1", "s2", "s1", long_id},
               *all_recs[] = {"a-bs1", "a-s1", "a-s2", "ab-s1", "b-long"};
    ASSERT_EQ(list_schedules(rd, NULL, all_ns, all_ids, all_recs, 5), 5);
    store_read_end(rd);

    store_batch_clear(b);
    ASSERT_OK(store_batch_del_schedule(b, "a", "s1"), &err);
    ASSERT_OK(store_batch_del_schedule(b, "ab", "nope"), &err);
    ASSERT_OK(store_batch_put_schedule(b, "ab", "s1", "ab-new", 6), &err);
    commit(store, b);
    store_batch_free(b);
    rd = test_read(store);
    ASSERT_EQ(store_schedule_get(rd, "a", "s1", &rec, &err), TTAI_ENOTFOUND);
    const char *a2_ns[] = {"a", "a"}, *a2_ids[] = {"bs1", "s2"}, *a2_recs[] = {"a-bs1", "a-s2"};
    ASSERT_EQ(list_schedules(rd, "a", a2_ns, a2_ids, a2_recs, 2), 2);
    const char *ab2_recs[] = {"ab-new"};
    ASSERT_EQ(list_schedules(rd, "ab", ab_ns, ab_ids, ab2_recs, 1), 1);
    store_read_end(rd);
    store_close(store);
}

/* ---- History ------------------------------------------------------------------- */

/* store_last_event_id, store_event_get and history iteration, on runs
 * whose ids are neighbours in key order. */
void test_tables_history(void)
{
    char dir[600];
    store_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    struct ttai_err err;
    /* w (3 events) < x (none) < y (5 events) < z (none, after every key) */
    struct store_run w, x, y;
    run_init_id(&w, 1, "ns", "w", "t", STORE_RUN_RUNNING, 1);
    run_init_id(&x, 2, "ns", "x", "t", STORE_RUN_RUNNING, 1);
    run_init_id(&y, 3, "ns", "y", "t", STORE_RUN_RUNNING, 1);
    struct ttai_run_id z;
    memset(z.b, 0xff, sizeof(z.b));
    struct ttai_run_id before;
    memset(before.b, 0x01, sizeof(before.b));
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_put_run(b, &w), &err);
    ASSERT_OK(store_batch_put_run(b, &x), &err);
    ASSERT_OK(store_batch_put_run(b, &y), &err);
    for (int i = 1; i <= 5; i++) {
        struct store_event ev = {.type = STORE_EV_MARKER_RECORDED, .time_ms = i, .seq = 100 + i};
        char name[16];
        snprintf(name, sizeof(name), "y%d", i);
        ev.name = bytes_of(name);
        ASSERT_OK(store_batch_append(b, &y.run_id, &ev, &err), &err);
        if (i <= 3) {
            snprintf(name, sizeof(name), "w%d", i);
            ev.name = bytes_of(name);
            ASSERT_OK(store_batch_append(b, &w.run_id, &ev, &err), &err);
        }
    }
    commit(store, b);
    /* Interleaved appends still get dense ids per run. */
    for (size_t i = 0; i < 8; i++)
        ASSERT_U64_EQ(store_batch_event_id(b, i), i < 6 ? i / 2 + 1 : i - 2);
    store_batch_free(b);

    struct store_read *rd = test_read(store);
    uint64_t last;
    ASSERT_OK(store_last_event_id(rd, &w.run_id, &last, &err), &err);
    ASSERT_U64_EQ(last, 3);
    ASSERT_OK(store_last_event_id(rd, &x.run_id, &last, &err), &err);
    ASSERT_U64_EQ(last, 0);
    ASSERT_OK(store_last_event_id(rd, &y.run_id, &last, &err), &err);
    ASSERT_U64_EQ(last, 5);
    ASSERT_OK(store_last_event_id(rd, &z, &last, &err), &err);
    ASSERT_U64_EQ(last, 0);
    ASSERT_OK(store_last_event_id(rd, &before, &last, &err), &err);
    ASSERT_U64_EQ(last, 0);

    struct store_event ev;
    ASSERT_OK(store_event_get(rd, &y.run_id, 4, &ev, &err), &err);
    ASSERT_U64_EQ(ev.event_id, 4);
    ASSERT_EQ(ev.type, STORE_EV_MARKER_RECORDED);
    ASSERT(bytes_eq_str(ev.name, "y4"));
    ASSERT_U64_EQ(ev.seq, 104);
    ASSERT_EQ(store_event_get(rd, &y.run_id, 6, &ev, &err), TTAI_ENOTFOUND);
    ASSERT_EQ(store_event_get(rd, &y.run_id, 0, &ev, &err), TTAI_ENOTFOUND);
    ASSERT_EQ(store_event_get(rd, &x.run_id, 1, &ev, &err), TTAI_ENOTFOUND);

    /* From the middle, to the end of this run only. */
    struct store_iter it;
    ASSERT_OK(store_hist_iter_init(&it, rd, &w.run_id, 2, &err), &err);
    int n = 0, rc;
    while ((rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
        ASSERT_U64_EQ(ev.event_id, (uint64_t)n + 2);
        char name[16];
        snprintf(name, sizeof(name), "w%d", n + 2);
        ASSERT(bytes_eq_str(ev.name, name));
        n++;
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 2);
    store_iter_release(&it);
    static const uint64_t froms[] = {0, 1, 5, 6, UINT64_MAX};
    static const int counts[] = {5, 5, 1, 0, 0};
    for (size_t f = 0; f < 5; f++) {
        ASSERT_OK(store_hist_iter_init(&it, rd, &y.run_id, froms[f], &err), &err);
        n = 0;
        while (store_hist_iter_next(&it, &ev, &err) == 1)
            n++;
        ASSERT_EQ(n, counts[f]);
        store_iter_release(&it);
    }
    ASSERT_OK(store_hist_iter_init(&it, rd, &x.run_id, 1, &err), &err);
    ASSERT_EQ(store_hist_iter_next(&it, &ev, &err), 0);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
}

