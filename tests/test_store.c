/* test_store.c: tables, batches and group commit. */
#include "test.h"

#include "store.h"

static struct store *open_store(const char *dir)
{
    struct store *store;
    struct ttai_err err;
    struct store_opts opts = {.dir = dir};
    ASSERT_OK(store_open(&store, &opts, &err), &err);
    return store;
}

static void new_run(struct store_run *run, const char *wf)
{
    memset(run, 0, sizeof(*run));
    ASSERT_OK(ttai_run_id_random(&run->run_id), (struct ttai_err *)NULL);
    strcpy(run->ns, "default");
    strcpy(run->workflow_id, wf);
    strcpy(run->type, "counter");
    run->status = STORE_RUN_RUNNING;
    run->start_ms = 1000;
}

void test_store_smoke(void)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/data", test_tmpdir());
    struct store *store = open_store(dir);
    struct ttai_err err;
    struct store_run run;
    new_run(&run, "wf-1");
    struct store_batch *b = store_batch_new();
    ASSERT_OK(store_batch_require_exec(b, "default", "wf-1", NULL), &err);
    ASSERT_OK(store_batch_put_run(b, &run), &err);
    ASSERT_OK(store_batch_put_exec(b, "default", "wf-1", &run.run_id), &err);
    struct store_event ev = {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = 1000};
    ASSERT_OK(store_batch_append(b, &run.run_id, &ev, &err), &err);
    ev.type = STORE_EV_SIGNAL_RECEIVED;
    ASSERT_OK(store_batch_append(b, &run.run_id, &ev, &err), &err);
    ASSERT_OK(store_commit(store, b, &err), &err);
    ASSERT_U64_EQ(store_batch_event_id(b, 0), 1);
    ASSERT_U64_EQ(store_batch_event_id(b, 1), 2);

    /* The same start again is refused whole. */
    ASSERT_EQ(store_commit(store, b, &err), TTAI_ECONFLICT);
    store_batch_free(b);

    struct store_read *rd;
    ASSERT_OK(store_read_begin(store, &rd, &err), &err);
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
    struct ttai_run_id rid;
    ASSERT_EQ(store_vis_iter_next(&it, &start, &rid, &err), 1);
    ASSERT(ttai_run_id_eq(&rid, &run.run_id));
    ASSERT_EQ(store_vis_iter_next(&it, &start, &rid, &err), 0);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
}
