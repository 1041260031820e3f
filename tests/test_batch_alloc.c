/* test_batch_alloc.c: allocation failures while batches are built (and
 * while a batch, a read or the store itself is created). Every call that
 * fails with TTAI_ENOMEM must leave the batch exactly as it was and usable:
 * the same call then succeeds, and the batch commits what was added. */
#include "test_util.h"

static struct ttai_run_id rid(unsigned i)
{
    struct ttai_run_id id;
    memset(&id, 0, sizeof(id));
    id.b[0] = 0x5a;
    id.b[13] = (uint8_t)(i >> 16);
    id.b[14] = (uint8_t)(i >> 8);
    id.b[15] = (uint8_t)i;
    return id;
}

static void an_append(struct store_batch *b, const struct ttai_run_id *run, const char *name)
{
    struct ttai_err err;
    struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = 1};
    ev.name = bytes_of(name);
    ASSERT_OK(store_batch_append(b, run, &ev, &err), &err);
}

enum {
    AF_REQ_STATUS, AF_REQ_EXEC, AF_REQ_LAST, AF_PUT_RUN, AF_PUT_EXEC, AF_APPEND, AF_APPEND_BIG,
    AF_PUT_TIMER, AF_DEL_TIMER, AF_PUT_ACT, AF_DEL_ACT, AF_PUT_SCHED, AF_DEL_SCHED, AF__COUNT
};

struct af_ctx {
    struct ttai_run_id run;       /* exists, with 1 event */
    struct ttai_run_id other;     /* put by AF_PUT_RUN */
    char wf[32], other_wf[32], sched_pre[32], sched_new[32];
    uint32_t prefix_events;
    int64_t fire;
};

static uint8_t af_big[100000];

static int af_call(struct store_batch *b, int op, const struct af_ctx *c)
{
    struct ttai_err err;
    struct store_event ev = {.type = STORE_EV_ACTIVITY_COMPLETED, .time_ms = 7};
    switch (op) {
    case AF_REQ_STATUS: return store_batch_require_run_status(b, &c->run, STORE_RUN_RUNNING);
    case AF_REQ_EXEC: return store_batch_require_exec(b, "ns", c->wf, &c->run);
    case AF_REQ_LAST: return store_batch_require_last_event(b, &c->run, 1);
    case AF_PUT_RUN: {
        struct store_run run;
        test_run_init(&run, "ns", c->other_wf, "t", STORE_RUN_RUNNING, 5);
        run.run_id = c->other;
        return store_batch_put_run(b, &run);
    }
    case AF_PUT_EXEC: return store_batch_put_exec(b, "ns", c->other_wf, &c->run);
    case AF_APPEND:
        ev.name = bytes_of("target");
        return store_batch_append(b, &c->run, &ev, &err);
    case AF_APPEND_BIG:
        ev.name = bytes_of("target");
        ev.payload = (struct store_bytes){af_big, sizeof(af_big)};
        return store_batch_append(b, &c->run, &ev, &err);
    case AF_PUT_TIMER: return store_batch_put_timer(b, c->fire + 1, &c->run, 2, 9);
    case AF_DEL_TIMER: return store_batch_del_timer(b, c->fire, &c->run, 1);
    case AF_PUT_ACT: return store_batch_put_activity(b, &c->run, 2, af_big, 5000);
    case AF_DEL_ACT: return store_batch_del_activity(b, &c->run, 1);
    case AF_PUT_SCHED: return store_batch_put_schedule(b, "ns", c->sched_new, "new", 3);
    default: return store_batch_del_schedule(b, "ns", c->sched_pre);
    }
}

/* What the prefix and the target op together must have left. */
static void af_verify(struct store *store, int op, const struct af_ctx *c)
{
    struct store_read *rd = test_read(store);
    struct ttai_err err;
    uint64_t last;
    bool appended = op == AF_APPEND || op == AF_APPEND_BIG;
    ASSERT_OK(store_last_event_id(rd, &c->run, &last, &err), &err);
    ASSERT_U64_EQ(last, 1 + c->prefix_events + appended);
    for (uint64_t id = 2; id <= last; id++) {
        struct store_event ev;
        ASSERT_OK(store_event_get(rd, &c->run, id, &ev, &err), &err);
        if (appended && id == last) {
            ASSERT(bytes_eq_str(ev.name, "target"));
            ASSERT_EQ(ev.payload.len, op == AF_APPEND_BIG ? sizeof(af_big) : 0);
        } else {
            char name[16];
            snprintf(name, sizeof(name), "p%" PRIu64, id - 2);
            ASSERT(bytes_eq_str(ev.name, name));
        }
    }
    struct store_bytes rec;
    int rc = store_activity_get(rd, &c->run, 1, &rec, &err);
    ASSERT_EQ(rc, op == AF_DEL_ACT ? TTAI_ENOTFOUND : 0);
    rc = store_activity_get(rd, &c->run, 2, &rec, &err);
    ASSERT_EQ(rc, op == AF_PUT_ACT ? 0 : TTAI_ENOTFOUND);
    if (rc == 0)
        ASSERT_EQ(rec.len, 5000);
    rc = store_schedule_get(rd, "ns", c->sched_pre, &rec, &err);
    ASSERT_EQ(rc, op == AF_DEL_SCHED ? TTAI_ENOTFOUND : 0);
    rc = store_schedule_get(rd, "ns", c->sched_new, &rec, &err);
    ASSERT_EQ(rc, op == AF_PUT_SCHED ? 0 : TTAI_ENOTFOUND);
    struct store_run run;
    rc = store_run_get(rd, &c->other, &run, &err);
    ASSERT_EQ(rc, op == AF_PUT_RUN ? 0 : TTAI_ENOTFOUND);
    struct ttai_run_id got;
    rc = store_exec_get(rd, "ns", c->other_wf, &got, &err);
    ASSERT_EQ(rc, op == AF_PUT_EXEC ? 0 : TTAI_ENOTFOUND);
    /* Timers of this run: the prefix's (unless deleted), the new one. */
    struct store_iter it;
    ASSERT_OK(store_timer_iter_init(&it, rd, INT64_MAX, &err), &err);
    struct store_timer t;
    int pre = 0, added = 0;
    while (store_timer_iter_next(&it, &t, &err) == 1) {
        if (!ttai_run_id_eq(&t.run_id, &c->run))
            continue;
        pre += t.fire_ms == c->fire && t.seq == 1;
        added += t.fire_ms == c->fire + 1 && t.seq == 2 && t.kind == 9;
    }
    store_iter_release(&it);
    ASSERT_EQ(pre, op == AF_DEL_TIMER ? 0 : 1);
    ASSERT_EQ(added, op == AF_PUT_TIMER ? 1 : 0);
    store_read_end(rd);
}

/* One attempt: a fresh run and a batch of prefix_events appends and three
 * other ops, then op with the n-th allocation failing. On TTAI_ENOMEM the
 * batch must be unchanged, and the op then succeeds; either way the batch
 * commits exactly what was added. Returns whether the allocation failed. */
static bool af_attempt(struct store *store, int op, uint32_t prefix_events, uint64_t n,
                       unsigned unique)
{
    struct af_ctx c;
    memset(&c, 0, sizeof(c));
    c.run = rid(unique * 2);
    c.other = rid(unique * 2 + 1);
    snprintf(c.wf, sizeof(c.wf), "wf-%u", unique);
    snprintf(c.other_wf, sizeof(c.other_wf), "other-%u", unique);
    snprintf(c.sched_pre, sizeof(c.sched_pre), "pre-%u", unique);
    snprintf(c.sched_new, sizeof(c.sched_new), "new-%u", unique);
    c.prefix_events = prefix_events;
    c.fire = 1000 * (int64_t)unique;
    struct store_run run;
    test_run_init(&run, "ns", c.wf, "t", STORE_RUN_RUNNING, 1);
    run.run_id = c.run;
    test_create_run(store, &run);

    struct ttai_err err;
    struct store_batch *b = store_batch_new();
    for (uint32_t i = 0; i < c.prefix_events; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%u", i);
        an_append(b, &c.run, name);
    }
    ASSERT_OK(store_batch_put_timer(b, c.fire, &c.run, 1, 1), &err);
    ASSERT_OK(store_batch_put_activity(b, &c.run, 1, "pre", 3), &err);
    ASSERT_OK(store_batch_put_schedule(b, "ns", c.sched_pre, "pre", 3), &err);
    size_t ops0 = store_batch_ops(b), events0 = store_batch_events(b);

    ttai_alloc_fail_after(n);
    int rc = af_call(b, op, &c);
    ttai_alloc_fail_after(0);
    bool failed = rc != 0;
    if (failed) {
        if (rc != TTAI_ENOMEM)
            test__fail(__FILE__, __LINE__, "op %d prefix %u n %" PRIu64 ": rc %d", op,
                       c.prefix_events, n, rc);
        ASSERT_EQ(store_batch_ops(b), ops0);
        ASSERT_EQ(store_batch_events(b), events0);
        ASSERT_OK(af_call(b, op, &c), (struct ttai_err *)NULL);
    }
    ASSERT_EQ(store_batch_ops(b), ops0 + 1);
    ASSERT_OK(store_commit(store, b, &err), &err);
    store_batch_free(b);
    af_verify(store, op, &c);
    return failed;
}

/* For every builder call, at batch sizes where its buffers must grow, the
 * n-th allocation fails for n = 1, 2, ... until the call makes fewer than
 * n allocations (af_attempt). Then the same for store_batch_new,
 * store_read_begin and store_open. */
void test_batch_alloc_failures(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct store *store = test_open_dir(dir);
    static const uint32_t prefixes[] = {0, 5, 8};
    unsigned unique = 0;
    int failures_seen = 0;
    for (int op = 0; op < AF__COUNT; op++) {
        for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
            for (uint64_t n = 1;; n++) {
                ASSERT_LT(n, 50);
                if (!af_attempt(store, op, prefixes[p], n, ++unique))
                    break; /* n is past the call's last allocation */
                failures_seen++;
            }
        }
    }
    ASSERT_GT(failures_seen, AF__COUNT);
    /* store_batch_new itself. */
    ttai_alloc_fail_after(1);
    struct store_batch *b = store_batch_new();
    ttai_alloc_fail_after(0);
    ASSERT(b == NULL);
    /* And a read. */
    struct store_read *rd = (struct store_read *)&b;
    struct ttai_err err;
    ttai_alloc_fail_after(1);
    int rc = store_read_begin(store, &rd, &err);
    ttai_alloc_fail_after(0);
    ASSERT_EQ(rc, TTAI_ENOMEM);
    ASSERT(rd == NULL);
    store_close(store);

    /* Opening: each of its allocations, until it succeeds. */
    for (uint64_t n = 1;; n++) {
        ASSERT_LT(n, 20);
        struct store *s = NULL;
        struct store_opts opts = {.dir = dir};
        ttai_alloc_fail_after(n);
        rc = store_open(&s, &opts, &err);
        ttai_alloc_fail_after(0);
        if (rc == 0) {
            store_close(s);
            break;
        }
        ASSERT_EQ(rc, TTAI_ENOMEM);
        ASSERT(s == NULL);
    }
}
