/* test_space.c: running out of room. The map grows under load (with
 * readers in this process and in another), a capped map refuses writes
 * with TTAI_ENOSPC without latching the store, and a commit that fails on
 * a full disk (a small tmpfs) latches the store fatal until it is reopened.
 * Acknowledged data survives all of it. */
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define MIB ((size_t)1 << 20)

static struct ttai_run_id rid(unsigned i)
{
    struct ttai_run_id id;
    memset(&id, 0, sizeof(id));
    id.b[0] = 0x33;
    id.b[15] = (uint8_t)i;
    return id;
}

static void make_run(struct store *store, unsigned id)
{
    struct store_run run;
    test_run_init(&run, "ns", "wf", "t", STORE_RUN_RUNNING, 1);
    run.run_id = rid(id);
    test_create_run(store, &run);
}

/* Payload bytes of event `id`: a pattern that differs per event. */
static uint8_t pattern(uint64_t id, size_t k)
{
    return (uint8_t)(id * 131 + k * 7 + (k >> 8));
}

static void fill_payload(uint8_t *buf, size_t len, uint64_t id)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = pattern(id, k);
}

static int payload_ok(struct store_bytes p, size_t len, uint64_t id)
{
    if (p.len != len)
        return 0;
    for (size_t k = 0; k < len; k++)
        if (p.data[k] != pattern(id, k))
            return 0;
    return 1;
}

/* A batch of `count` events of `len` payload bytes for run, whose ids
 * will be first_id, first_id + 1, ... */
static struct store_batch *payload_batch(const struct ttai_run_id *run, uint64_t first_id,
                                         size_t count, size_t len)
{
    struct store_batch *b = store_batch_new();
    uint8_t *buf = malloc(len);
    struct ttai_err err;
    for (size_t i = 0; i < count; i++) {
        fill_payload(buf, len, first_id + i);
        struct store_event ev = {.type = STORE_EV_ACTIVITY_COMPLETED, .time_ms = 5};
        ev.payload = (struct store_bytes){buf, len};
        ASSERT_OK(store_batch_append(b, run, &ev, &err), &err);
    }
    free(buf);
    return b;
}

/* Every event 2..last of run has its pattern (1 is WorkflowStarted). */
static void check_history(struct store *store, const struct ttai_run_id *run, uint64_t last,
                          size_t len)
{
    struct store_read *rd = test_read(store);
    struct ttai_err err;
    struct store_iter it;
    ASSERT_OK(store_hist_iter_init(&it, rd, run, 2, &err), &err);
    struct store_event ev;
    uint64_t id = 1;
    int rc;
    while ((rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
        ASSERT_U64_EQ(ev.event_id, ++id);
        if (!payload_ok(ev.payload, len, id))
            test__fail(__FILE__, __LINE__, "event %" PRIu64 " payload is wrong", id);
    }
    ASSERT_EQ(rc, 0);
    ASSERT_U64_EQ(id, last);
    store_iter_release(&it);
    store_read_end(rd);
}

/* ---- Map growth ----------------------------------------------------------- */

struct reader {
    struct store *store;
    struct ttai_run_id run;
    size_t len;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t reads;
};

/* Begins and ends reads in a loop while the writer grows the map; each
 * sees a history no shorter than the previous one, last event intact. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    uint64_t prev = 0;
    while (!atomic_load(&r->stop)) {
        struct store_read *rd = test_read(r->store);
        struct ttai_err err;
        uint64_t last;
        ASSERT_OK(store_last_event_id(rd, &r->run, &last, &err), &err);
        ASSERT_GE(last, prev);
        prev = last;
        if (last >= 2) {
            struct store_event ev;
            ASSERT_OK(store_event_get(rd, &r->run, last, &ev, &err), &err);
            ASSERT(payload_ok(ev.payload, r->len, last));
        }
        store_read_end(rd);
        pthread_mutex_lock(&r->mu);
        r->reads++;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

/* 1 MiB at first, ~20 MiB written: the map grows (several times) while a
 * reader thread keeps reading, and a read-only store in another process,
 * opened while the map was small, adopts the new size. */
void test_space_map_growth(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "data");
    struct test_child child;
    test_child_start(&child, dir, MIB); /* before any thread exists */
    struct store_opts opts = {.dir = dir, .map_bytes_initial = MIB};
    struct store *store = test_open(&opts);
    struct store_counters c;
    store_counters_get(store, &c);
    ASSERT_U64_EQ(c.map_bytes, MIB);
    make_run(store, 1);
    struct ttai_run_id run = rid(1);
    struct test_child_rep rep = test_child_ask(&child, &run);
    ASSERT_EQ(rep.rc, 0);
    ASSERT_U64_EQ(rep.last_event_id, 1);

    enum { BATCHES = 20, PER_BATCH = 40, LEN = 25 * 1024 };
    static struct reader reader;
    reader.store = store;
    reader.run = run;
    reader.len = LEN;
    pthread_mutex_init(&reader.mu, NULL);
    pthread_cond_init(&reader.cv, NULL);
    ASSERT_EQ(pthread_create(&reader.thread, NULL, reader_main, &reader), 0);
    pthread_mutex_lock(&reader.mu);
    while (reader.reads == 0)
        pthread_cond_wait(&reader.cv, &reader.mu);
    pthread_mutex_unlock(&reader.mu);

    uint64_t last = 1;
    struct ttai_err err;
    for (int i = 0; i < BATCHES; i++) {
        struct store_batch *b = payload_batch(&run, last + 1, PER_BATCH, LEN);
        ASSERT_OK(store_commit(store, b, &err), &err);
        ASSERT_U64_EQ(store_batch_event_id(b, 0), last + 1);
        last += PER_BATCH;
        store_batch_free(b);
    }
    atomic_store(&reader.stop, true);
    ASSERT_EQ(pthread_join(reader.thread, NULL), 0);

    store_counters_get(store, &c);
    ASSERT_GT(c.map_grows, 0);
    ASSERT_GE(c.map_bytes, (size_t)BATCHES * PER_BATCH * LEN);
    ASSERT_U64_EQ(c.events, 1 + (uint64_t)BATCHES * PER_BATCH);
    fprintf(stderr, "map grew %" PRIu64 " times to %zu bytes; %" PRIu64 " reads meanwhile\n",
            c.map_grows, c.map_bytes, reader.reads);
    check_history(store, &run, last, LEN);
    struct store_read *rd = test_read(store);
    struct store_stats st;
    ASSERT_OK(store_stats_get(rd, &st, &err), &err);
    ASSERT_U64_EQ(st.map_bytes, c.map_bytes);
    ASSERT_LE(st.used_bytes, st.map_bytes);
    store_read_end(rd);

    /* The other process's map is still 1 MiB: its next read adopts the
     * new size (MDB_MAP_RESIZED) and sees everything. */
    rep = test_child_ask(&child, &run);
    ASSERT_EQ(rep.rc, 0);
    ASSERT_U64_EQ(rep.last_event_id, last);
    store_close(store);
    test_child_stop(&child);

    /* Reopening with a small initial map adopts the file's size. */
    store = test_open(&opts);
    store_counters_get(store, &c);
    ASSERT_GE(c.map_bytes, (size_t)BATCHES * PER_BATCH * LEN);
    check_history(store, &run, last, LEN);
    store_close(store);
    pthread_cond_destroy(&reader.cv);
    pthread_mutex_destroy(&reader.mu);
}

/* Fills a store capped at map_bytes_max with batches of 64 KiB events
 * until TTAI_ENOSPC; returns the last acknowledged event id. */
static uint64_t fill_until_enospc(struct store *store, const struct ttai_run_id *run,
                                  uint64_t last, size_t len)
{
    struct ttai_err err;
    for (int i = 0;; i++) {
        ASSERT_LT(i, 1000);
        struct store_batch *b = payload_batch(run, last + 1, 4, len);
        int rc = store_commit(store, b, &err);
        store_batch_free(b);
        if (rc == TTAI_ENOSPC) {
            ASSERT(strstr(err.msg, "map size limit") != NULL);
            return last;
        }
        ASSERT_OK(rc, &err);
        last += 4;
    }
}

/* A store capped at 2 MiB: a batch too large for it is refused with
 * TTAI_ENOSPC and a clear message, writes nothing, and does not latch the
 * store; filling it up ends the same way; everything acknowledged is
 * intact after reopening. */
void test_space_map_limit(void)
{
    for (int phase = 0; phase < 2; phase++) {
        char dir[600];
        test_path(dir, sizeof(dir), phase == 0 ? "capped" : "capped-growing");
        /* Phase 0: only the cap is given (the default initial size is far
         * larger: the cap must win). Phase 1: grows up to the cap. */
        struct store_opts opts = {.dir = dir, .map_bytes_max = 2 * MIB,
                                  .map_bytes_initial = phase == 0 ? 0 : MIB / 4};
        struct store *store = test_open(&opts);
        struct store_counters c;
        store_counters_get(store, &c);
        ASSERT_LE(c.map_bytes, 2 * MIB);
        make_run(store, 1);
        struct ttai_run_id run = rid(1);
        struct ttai_err err;
        struct store_batch *b = payload_batch(&run, 2, 10, 100);
        ASSERT_OK(store_commit(store, b, &err), &err);
        store_batch_free(b);
        uint64_t last = 11;

        /* 3 MiB in one batch can never fit. */
        b = payload_batch(&run, last + 1, 12, 256 * 1024);
        err.rc = 0;
        ASSERT_EQ(store_commit(store, b, &err), TTAI_ENOSPC);
        ASSERT_EQ(err.rc, TTAI_ENOSPC);
        ASSERT(strstr(err.msg, "map size limit") != NULL);
        store_batch_free(b);
        ASSERT_U64_EQ(test_last_event(store, &run), last);

        /* Not latched: a small batch still commits. */
        b = payload_batch(&run, last + 1, 1, 100);
        ASSERT_OK(store_commit(store, b, &err), &err);
        store_batch_free(b);
        last++;
        check_history(store, &run, last, 100);

        /* Fill it. */
        uint64_t small_last = last;
        last = fill_until_enospc(store, &run, last, 64 * 1024);
        ASSERT_GT(last, small_last);
        store_counters_get(store, &c);
        ASSERT_LE(c.map_bytes, 2 * MIB);
        if (phase == 1) {
            ASSERT_GT(c.map_grows, 0);
            ASSERT_U64_EQ(c.map_bytes, 2 * MIB);
        }
        /* Reads work, and writes are refused for space, never latched. */
        ASSERT_U64_EQ(test_last_event(store, &run), last);
        b = payload_batch(&run, last + 1, 1, 10);
        int rc = store_commit(store, b, &err);
        ASSERT_NE(rc, TTAI_EFATAL);
        ASSERT(rc == 0 || rc == TTAI_ENOSPC);
        uint64_t tiny_id = 0;
        if (rc == 0)
            tiny_id = ++last;
        store_batch_free(b);
        store_close(store);

        store = test_open(&opts);
        ASSERT_U64_EQ(test_last_event(store, &run), last);
        struct store_read *rd = test_read(store);
        struct store_iter it;
        ASSERT_OK(store_hist_iter_init(&it, rd, &run, 2, &err), &err);
        struct store_event ev;
        uint64_t id = 1;
        while ((rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
            ASSERT_U64_EQ(ev.event_id, ++id);
            size_t len = id <= small_last ? 100 : id == tiny_id ? 10 : 64 * 1024;
            ASSERT(payload_ok(ev.payload, len, id));
        }
        ASSERT_EQ(rc, 0);
        ASSERT_U64_EQ(id, last);
        store_iter_release(&it);
        store_read_end(rd);
        store_close(store);
    }
}

/* A store filled to its cap with events that all still wait in the recent
 * table: the merge that comes due copies them into the history before it
 * frees them, which the cap has no room for. The group then goes without
 * it: a small batch still commits, and every event reads back. */
void test_space_map_limit_merge_waits(void)
{
    char dir[600];
    test_path(dir, sizeof(dir), "capped");
    struct store_opts opts = {.dir = dir, .map_bytes_max = 2 * MIB,
                              .recent_merge_stretches = 100000};
    struct store *store = test_open(&opts);
    make_run(store, 1);
    struct ttai_run_id run = rid(1);
    uint64_t last = fill_until_enospc(store, &run, 1, 64 * 1024);
    ASSERT_GT(last, 8);
    store_close(store); /* its final merge does not fit either */

    opts.recent_merge_stretches = 1; /* due at the first group */
    store = test_open(&opts);
    struct ttai_err err;
    struct store_batch *b = payload_batch(&run, last + 1, 1, 10);
    ASSERT_OK(store_commit(store, b, &err), &err);
    store_batch_free(b);
    last++;
    struct store_counters c;
    store_counters_get(store, &c);
    ASSERT_U64_EQ(c.recent_merges, 0);
    struct store_read *rd = test_read(store);
    struct store_iter it;
    ASSERT_OK(store_hist_iter_init(&it, rd, &run, 2, &err), &err);
    struct store_event ev;
    uint64_t id = 1;
    int rc;
    while ((rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
        ASSERT_U64_EQ(ev.event_id, ++id);
        ASSERT(payload_ok(ev.payload, id == last ? 10 : 64 * 1024, id));
    }
    ASSERT_EQ(rc, 0);
    ASSERT_U64_EQ(id, last);
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
}

/* ---- A full disk: the fatal latch ------------------------------------------- */

static char mount_point[600];

static void unmount_at_exit(void)
{
    if (mount_point[0] != '\0')
        (void)umount2(mount_point, MNT_DETACH); /* best effort: the test may have failed */
}

/* Writes to path until the filesystem is full, in ever smaller pieces. */
static void fill_disk(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT(fd >= 0);
    static uint8_t chunk[64 * 1024];
    size_t sizes[] = {sizeof(chunk), 4096, 1};
    for (size_t s = 0; s < 3; s++) {
        for (;;) {
            ssize_t n = write(fd, chunk, sizes[s]);
            if (n < 0) {
                ASSERT_EQ(errno, ENOSPC);
                break;
            }
        }
    }
    close(fd);
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    int rc[2];
    char msg[2][TTAI_ERR_MSG_MAX];
} fatal_cbs = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0, 0}, {"", ""}};

static void fatal_cb(struct store_batch *b, int rc, const struct ttai_err *err, void *arg)
{
    (void)b;
    int which = (int)(intptr_t)arg;
    pthread_mutex_lock(&fatal_cbs.mu);
    fatal_cbs.rc[which] = rc;
    snprintf(fatal_cbs.msg[which], sizeof(fatal_cbs.msg[which]), "%s", err ? err->msg : "");
    fatal_cbs.calls++;
    pthread_cond_broadcast(&fatal_cbs.cv);
    pthread_mutex_unlock(&fatal_cbs.mu);
}

static void wait_fatal_cbs(int calls)
{
    pthread_mutex_lock(&fatal_cbs.mu);
    while (fatal_cbs.calls < calls)
        pthread_cond_wait(&fatal_cbs.cv, &fatal_cbs.mu);
    pthread_mutex_unlock(&fatal_cbs.mu);
}

/* The store's directory on a 2 MiB tmpfs. Once acknowledged data is in,
 * the disk is filled: the next commit fails with TTAI_ENOSPC naming the
 * directory, the store latches (TTAI_EFATAL for every later write), reads
 * still work; after freeing space and reopening, writes work again and
 * every acknowledged event is intact. */
void test_space_fatal_latch(void)
{
    test_path(mount_point, sizeof(mount_point), "small-disk");
    ASSERT_EQ(mkdir(mount_point, 0755), 0);
    if (mount("tmpfs", mount_point, "tmpfs", 0, "size=2m") != 0) {
        fprintf(stderr, "SKIP: cannot mount a tmpfs on '%s': %s (needs root)\n", mount_point,
                strerror(errno));
        mount_point[0] = '\0';
        return;
    }
    atexit(unmount_at_exit); /* runs before the tmpdir is removed */
    char dir[700], filler[700];
    snprintf(dir, sizeof(dir), "%s/data", mount_point);
    snprintf(filler, sizeof(filler), "%s/filler", mount_point);

    struct store_opts opts = {.dir = dir, .group_events_max = 1};
    struct store *store = test_open(&opts);
    make_run(store, 1);
    struct ttai_run_id run = rid(1);
    struct ttai_err err;
    enum { LEN = 3000 };
    uint64_t last = 1;
    for (int i = 0; i < 4; i++) {
        struct store_batch *b = payload_batch(&run, last + 1, 5, LEN);
        ASSERT_OK(store_commit(store, b, &err), &err);
        store_batch_free(b);
        last += 5;
    }
    fill_disk(filler);

    /* A: 400 KiB that cannot be written. B: queued behind it, or refused
     * at once if the store latched first. */
    struct store_batch *a = payload_batch(&run, last + 1, 50, 8 * 1024);
    struct store_batch *b = payload_batch(&run, last + 1, 1, 10);
    ASSERT_OK(store_submit(store, a, fatal_cb, (void *)(intptr_t)0), (struct ttai_err *)NULL);
    int b_rc = store_submit(store, b, fatal_cb, (void *)(intptr_t)1);
    if (b_rc != 0) {
        ASSERT_EQ(b_rc, TTAI_EFATAL);
        store_batch_free(b);
    }
    wait_fatal_cbs(b_rc == 0 ? 2 : 1);
    if (fatal_cbs.rc[0] != TTAI_ENOSPC)
        test__fail(__FILE__, __LINE__, "the failed commit gave %d (%s): %s", fatal_cbs.rc[0],
                   ttai_rc_name(fatal_cbs.rc[0]), fatal_cbs.msg[0]);
    ASSERT(strstr(fatal_cbs.msg[0], dir) != NULL);
    if (b_rc == 0) {
        ASSERT_EQ(fatal_cbs.rc[1], TTAI_EFATAL);
        ASSERT(strstr(fatal_cbs.msg[1], dir) != NULL);
    }

    /* Latched: every later write is refused at once, with the reason. */
    b = payload_batch(&run, last + 1, 1, 10);
    ASSERT_EQ(store_submit(store, b, fatal_cb, (void *)(intptr_t)1), TTAI_EFATAL);
    err.rc = 0;
    ASSERT_EQ(store_commit(store, b, &err), TTAI_EFATAL);
    ASSERT_EQ(err.rc, TTAI_EFATAL);
    ASSERT(strstr(err.msg, dir) != NULL);
    store_batch_free(b);
    struct store_batch *empty = store_batch_new();
    ASSERT_EQ(store_commit(store, empty, &err), TTAI_EFATAL);
    store_batch_free(empty);
    /* Reads still work, and show only what was acknowledged. */
    check_history(store, &run, last, LEN);
    store_close(store);
    ASSERT_EQ(fatal_cbs.calls, b_rc == 0 ? 2 : 1); /* no callback for refused submits */

    /* Free the space and reopen: acknowledged data intact, writes work. */
    ASSERT_EQ(unlink(filler), 0);
    store = test_open(&opts);
    check_history(store, &run, last, LEN);
    b = payload_batch(&run, last + 1, 5, LEN);
    ASSERT_OK(store_commit(store, b, &err), &err);
    ASSERT_U64_EQ(store_batch_event_id(b, 0), last + 1);
    store_batch_free(b);
    last += 5;
    store_close(store);
    store = test_open(&opts);
    check_history(store, &run, last, LEN);
    store_close(store);

    ASSERT_EQ(umount2(mount_point, 0), 0);
    mount_point[0] = '\0';
}
