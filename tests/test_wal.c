/* test_wal.c: the write-ahead log. Its file format on its own (records
 * walked back in order, a torn record ending the log, the ring wrapping
 * behind checkpoints), and the store's recovery after a machine restart:
 * a writer killed mid-stream, the LMDB pages it never synced thrown away,
 * and every acknowledged batch found again after the checkpoint's
 * snapshot is restored and the log replayed. (A kill without a restart is
 * the crash test's, tests/crash.) */
#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wal.h"

/* ---- The file format ------------------------------------------------- */

struct seen {
    int puts, dels;
    uint32_t last_key;
};

static int count_apply(void *arg, enum wal_op op, int table, const void *key, size_t key_len,
                       const void *val, size_t val_len)
{
    struct seen *s = arg;
    ASSERT_EQ(table, STORE_T_HIST);
    ASSERT_EQ(key_len, 4);
    uint32_t k;
    memcpy(&k, key, 4);
    ASSERT_EQ(k, s->last_key + 1); /* in order, none skipped */
    s->last_key = k;
    if (op == WAL_OP_PUT) {
        ASSERT_EQ(val_len, 100);
        ASSERT_EQ(((const uint8_t *)val)[99], (uint8_t)k);
        s->puts++;
    } else {
        ASSERT_EQ(val_len, 0);
        s->dels++;
    }
    return 0;
}

static struct wal *open_log(const char *dir)
{
    struct wal *wal;
    bool has = false;
    struct ttai_err err;
    ASSERT_OK(wal_open(&wal, dir, 0, false, &has, &err), &err);
    ASSERT(has);
    return wal;
}

/* Builds a record of two operations: a put of key + 1 (100 bytes, the
 * last one the key's low byte) and a delete of key + 2. */
static void build_record(struct wal *wal, uint32_t key)
{
    uint8_t val[100] = {0};
    uint32_t k = key + 1;
    val[99] = (uint8_t)k;
    wal_record_begin(wal);
    ASSERT_OK(wal_record_add(wal, WAL_OP_PUT, STORE_T_HIST, &k, 4, val, sizeof(val)),
              (struct ttai_err *)NULL);
    k++;
    ASSERT_OK(wal_record_add(wal, WAL_OP_DEL, STORE_T_HIST, &k, 4, NULL, 0),
              (struct ttai_err *)NULL);
}

/* Writes `records` records (build_record), keys counting on from *key. */
static void write_records(struct wal *wal, int records, uint32_t *key)
{
    struct ttai_err err;
    for (int r = 0; r < records; r++) {
        build_record(wal, *key);
        *key += 2;
        ASSERT(wal_room(wal, wal_record_bytes(wal)));
        ASSERT_OK(wal_record_write(wal, &err), &err);
    }
}

void test_wal_records_and_torn_tail(void)
{
    char dir[512];
    test_path(dir, sizeof(dir), "log");
    ASSERT_EQ(mkdir(dir, 0755), 0);
    struct wal_checkpoint c = {.txnid = 7, .page_size = 4096};
    struct ttai_err err;
    ASSERT_OK(wal_create(dir, 1 << 20, &c, &err), &err);

    struct wal *wal = open_log(dir);
    struct seen s = {0};
    uint64_t n;
    ASSERT_OK(wal_replay(wal, count_apply, &s, &n, &err), &err);
    ASSERT_EQ(n, 0);
    /* As the store does: a checkpoint after the replay starts the epoch
     * the records that follow belong to (wal.c invariant 3). */
    struct wal_checkpoint c1 = {.txnid = 7, .page_size = 4096};
    wal_position(wal, &c1.lsn, &c1.off);
    ASSERT_OK(wal_checkpoint_write(wal, &c1, &err), &err);
    uint32_t key = 0;
    write_records(wal, 10, &key);
    uint64_t lsn, off;
    wal_position(wal, &lsn, &off);
    wal_close(wal);

    /* All ten come back, in order. */
    wal = open_log(dir);
    s = (struct seen){0};
    ASSERT_OK(wal_replay(wal, count_apply, &s, &n, &err), &err);
    ASSERT_EQ(n, 10);
    ASSERT_EQ(s.puts, 10);
    ASSERT_EQ(s.dels, 10);
    wal_close(wal);

    /* One flipped byte in the seventh record's payload ends the log there. */
    char path[600];
    snprintf(path, sizeof(path), "%s/wal", dir);
    int fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    uint64_t rec_bytes = (off - 8192) / 10;
    uint8_t b;
    off_t at = (off_t)(8192 + 6 * rec_bytes + 40);
    ASSERT_EQ(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    ASSERT_EQ(pwrite(fd, &b, 1, at), 1);
    close(fd);
    wal = open_log(dir);
    s = (struct seen){0};
    ASSERT_OK(wal_replay(wal, count_apply, &s, &n, &err), &err);
    ASSERT_EQ(n, 6);
    ASSERT_EQ(s.last_key, 12);
    /* The log goes on where it ended, in a new epoch, after a checkpoint
     * (as the store does): the old records beyond it never come back. */
    struct wal_checkpoint c2 = {.txnid = 8, .page_size = 4096};
    wal_position(wal, &c2.lsn, &c2.off);
    ASSERT_OK(wal_checkpoint_write(wal, &c2, &err), &err);
    key = 100;
    write_records(wal, 1, &key);
    wal_close(wal);
    wal = open_log(dir);
    struct wal_checkpoint got;
    wal_checkpoint_get(wal, &got);
    ASSERT_U64_EQ(got.txnid, 8);
    s = (struct seen){.last_key = 100};
    ASSERT_OK(wal_replay(wal, count_apply, &s, &n, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(s.last_key, 102);
    wal_close(wal);
}

void test_wal_ring_wraps_behind_checkpoints(void)
{
    char dir[512];
    test_path(dir, sizeof(dir), "ring");
    ASSERT_EQ(mkdir(dir, 0755), 0);
    struct wal_checkpoint c = {.txnid = 1, .page_size = 4096};
    struct ttai_err err;
    ASSERT_OK(wal_create(dir, 64 * 1024, &c, &err), &err); /* a small ring */
    struct wal *wal = open_log(dir);
    struct seen s = {0};
    uint64_t n;
    ASSERT_OK(wal_replay(wal, count_apply, &s, &n, &err), &err);
    uint32_t key = 0, first_key = 0;
    uint64_t txnid = 1;
    int laps_records = 0;
    for (int round = 0; round < 40; round++) {
        /* Fill until the ring has no room; then a checkpoint frees it. */
        int written = 0;
        for (;;) {
            build_record(wal, key);
            if (!wal_room(wal, wal_record_bytes(wal)))
                break;
            ASSERT_OK(wal_record_write(wal, &err), &err);
            key += 2;
            written++;
        }
        ASSERT_GT(written, 0);
        laps_records += written;
        if (round % 2 == 1) {
            /* Every other round the records after the last checkpoint come
             * back from the file, across the wrap. */
            wal_close(wal);
            wal = open_log(dir);
            s = (struct seen){.last_key = first_key};
            ASSERT_OK(wal_replay(wal, count_apply, &s, &n, &err), &err);
            ASSERT_EQ(s.last_key, key);
        }
        struct wal_checkpoint k = {.txnid = ++txnid, .page_size = 4096};
        wal_position(wal, &k.lsn, &k.off);
        ASSERT_OK(wal_checkpoint_write(wal, &k, &err), &err);
        ASSERT_U64_EQ(wal_used_bytes(wal), 0);
        first_key = key;
    }
    ASSERT_GT(laps_records * 140, 64 * 1024 * 10); /* the ring went round many times */
    wal_close(wal);
}

/* ---- Recovery after a machine restart ----------------------------------- */

#define RUNS 40
#define EVENTS_PER_RUN 40

/* The writer: RUNS runs, events appended one batch at a time across them,
 * each acknowledged on the pipe (one byte: the run's index) once durable;
 * then it kills itself without closing anything. */
static void writer_child(const char *dir, int ack_fd, uint64_t merge_stretches)
{
    /* Checkpoints every 2 s: the one taken after the pause below falls in
     * the middle of the stream, and the events after it are only in the log. */
    struct store_opts opts = {.dir = dir, .boot_id = "boot-before", .checkpoint_ms = 2000,
                              .recent_merge_stretches = merge_stretches};
    struct store *store = test_open(&opts);
    struct store_run runs[RUNS];
    for (int i = 0; i < RUNS; i++) {
        char wf[32];
        snprintf(wf, sizeof(wf), "wf-%d", i);
        test_run_init(&runs[i], "default", wf, "t", STORE_RUN_RUNNING, 1000 + i);
        test_create_run(store, &runs[i]);
        uint8_t idx = (uint8_t)i;
        ASSERT_EQ(write(ack_fd, &idx, 1), 1);
    }
    uint8_t payload[300];
    struct ttai_err err;
    /* The checkpoint after the pause must stay the last one: the stream
     * stops well before the next could be due (a loaded machine commits
     * slowly). */
    struct timespec paused = {0};
    for (int e = 0; e < EVENTS_PER_RUN; e++) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (paused.tv_sec != 0 && (now.tv_sec - paused.tv_sec) * 1000 +
                                          (now.tv_nsec - paused.tv_nsec) / 1000000 > 1200)
            break;
        for (int i = 0; i < RUNS; i++) {
            memset(payload, 'a' + (e + i) % 26, sizeof(payload));
            struct store_event ev = {.type = STORE_EV_SIGNAL_RECEIVED, .time_ms = 2000 + e};
            ev.name = bytes_of("add");
            ev.payload = (struct store_bytes){payload, sizeof(payload)};
            struct store_batch *b = store_batch_new();
            ASSERT(b != NULL);
            ASSERT_OK(store_batch_append(b, &runs[i].run_id, &ev, &err), &err);
            ASSERT_OK(store_batch_put_timer(b, 5000 + e, &runs[i].run_id, (uint64_t)e, 1), &err);
            if (e > 0)
                ASSERT_OK(store_batch_del_timer(b, 5000 + e - 1, &runs[i].run_id, (uint64_t)e - 1),
                          &err);
            ASSERT_OK(store_commit(store, b, &err), &err);
            store_batch_free(b);
            uint8_t idx = (uint8_t)i;
            ASSERT_EQ(write(ack_fd, &idx, 1), 1);
        }
        if (e == EVENTS_PER_RUN / 2) {
            usleep(2100 * 1000); /* the next commit takes a checkpoint */
            clock_gettime(CLOCK_MONOTONIC, &paused);
        }
    }
    raise(SIGKILL);
}

/* Offsets in LMDB 0.9's meta page: page header (16), magic, version,
 * address, map size (24), the free and main tables' MDB_db (48 each, the
 * root page last), mm_last_pg, mm_txnid. */
#define LMDB_META_MAIN_ROOT 128
#define LMDB_META_LAST_PG 136
#define LMDB_META_TXNID 144

static int merges_apply(void *arg, enum wal_op op, int table, const void *key, size_t key_len,
                        const void *val, size_t val_len)
{
    (void)table, (void)key, (void)key_len, (void)val, (void)val_len;
    *(int *)arg += op == WAL_OP_MERGE;
    return 0;
}

/* merge_stretches: the writer's store_opts.recent_merge_stretches (0: the
 * default, which this stream never reaches; small: the log after the
 * checkpoint holds many merges of the recent tables, which the replay must
 * redo on the state it rebuilt). */
static void recovery_after_restart(uint64_t merge_stretches)
{
    char dir[512];
    test_path(dir, sizeof(dir), "store");
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        writer_child(dir, fds[1], merge_stretches);
        _exit(1);
    }
    close(fds[1]);
    uint64_t acked[RUNS] = {0}; /* events acknowledged per run */
    uint8_t idx;
    while (read(fds[0], &idx, 1) == 1) {
        ASSERT_LT(idx, RUNS);
        acked[idx]++;
    }
    close(fds[0]);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* A machine restart loses what was never synced: every page after the
     * checkpoint's last one. The meta pages on disk name a later commit,
     * whose new pages are now zeros. */
    struct wal *wal = open_log(dir);
    struct wal_checkpoint c;
    wal_checkpoint_get(wal, &c);
    int merges = 0;
    uint64_t records;
    struct ttai_err err;
    ASSERT_OK(wal_replay(wal, merges_apply, &merges, &records, &err), &err);
    ASSERT_GT(records, 0);
    if (merge_stretches > 0)
        ASSERT_GT(merges, 0); /* the recovery below redoes them */
    wal_close(wal);
    uint64_t last_pg, ckpt_txnid;
    memcpy(&last_pg, c.meta[c.txnid & 1] + LMDB_META_LAST_PG, 8);
    memcpy(&ckpt_txnid, c.meta[c.txnid & 1] + LMDB_META_TXNID, 8);
    ASSERT_U64_EQ(ckpt_txnid, c.txnid);
    char path[600];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    int fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    struct stat st;
    ASSERT_EQ(fstat(fd, &st), 0);
    uint8_t meta[2][WAL_META_BYTES];
    ASSERT_EQ(pread(fd, meta[0], WAL_META_BYTES, 0), WAL_META_BYTES);
    ASSERT_EQ(pread(fd, meta[1], WAL_META_BYTES, c.page_size), WAL_META_BYTES);
    uint64_t t0, t1;
    memcpy(&t0, meta[0] + LMDB_META_TXNID, 8);
    memcpy(&t1, meta[1] + LMDB_META_TXNID, 8);
    ASSERT_GT(t0 > t1 ? t0 : t1, c.txnid); /* commits after the checkpoint reached data.mdb */
    static uint8_t zero[4096];
    for (uint64_t pg = last_pg + 1; (off_t)(pg * c.page_size) < st.st_size; pg++)
        ASSERT_EQ(pwrite(fd, zero, c.page_size, (off_t)(pg * c.page_size)), (ssize_t)c.page_size);
    /* And the newest meta page reached the disk but its tree did not: its
     * main table's root is a page that was never written. */
    int newest = t0 > t1 ? 0 : 1;
    uint64_t nowhere = (uint64_t)st.st_size / c.page_size + 1000;
    memcpy(meta[newest] + LMDB_META_MAIN_ROOT, &nowhere, 8);
    ASSERT_EQ(pwrite(fd, meta[newest], WAL_META_BYTES, (off_t)newest * c.page_size),
              WAL_META_BYTES);
    close(fd);

    /* Read-only openers refuse until a read-write open recovered it. */
    struct store *store;
    struct store_opts ro = {.dir = dir, .read_only = true, .boot_id = "boot-after"};
    ASSERT_EQ(store_open(&store, &ro, &err), TTAI_EBUSY);
    ASSERT(strstr(err.msg, "start ttaid") != NULL);

    struct store_opts rw = {.dir = dir, .boot_id = "boot-after"};
    store = test_open(&rw);
    struct store_counters sc;
    store_counters_get(store, &sc);
    ASSERT_GT(sc.wal_records_replayed, 0);
    /* Every acknowledged batch is there: each run's history holds its acked
     * events, dense, readable; its timer is the last acked one. */
    struct store_read *rd = test_read(store);
    struct store_iter it;
    uint64_t runs_seen = 0;
    ASSERT_OK(store_run_iter_init(&it, rd, &err), &err);
    struct store_run run;
    while (store_run_iter_next(&it, &run, &err) == 1) {
        int i = atoi(run.workflow_id + 3);
        ASSERT(i >= 0 && i < RUNS);
        ASSERT_GT(acked[i], 0);
        /* acked[i] counts the start (event 1) and each appended event; one
         * more may be there (durable, its acknowledgement lost in the kill). */
        uint64_t last;
        ASSERT_OK(store_last_event_id(rd, &run.run_id, &last, &err), &err);
        ASSERT(last == acked[i] || last == acked[i] + 1);
        for (uint64_t id = 1; id <= last; id++) {
            struct store_event ev;
            ASSERT_OK(store_event_get(rd, &run.run_id, id, &ev, &err), &err);
            if (id > 1) {
                ASSERT_EQ(ev.payload.len, 300);
                ASSERT_EQ(ev.payload.data[299], 'a' + (int)(id - 2 + (uint64_t)i) % 26);
            }
        }
        struct store_iter hit;
        struct store_event ev;
        uint64_t next = 1;
        ASSERT_OK(store_hist_iter_init(&hit, rd, &run.run_id, 1, &err), &err);
        while (store_hist_iter_next(&hit, &ev, &err) == 1)
            ASSERT_U64_EQ(ev.event_id, next++);
        ASSERT_U64_EQ(next, last + 1);
        store_iter_release(&hit);
        runs_seen++;
    }
    store_iter_release(&it);
    store_read_end(rd);
    uint64_t runs_acked = 0;
    for (int i = 0; i < RUNS; i++)
        runs_acked += acked[i] > 0;
    ASSERT(runs_seen == runs_acked || runs_seen == runs_acked + 1);
    store_close(store);

    /* Recovered, it opens read-only, and again read-write without replaying. */
    store = test_open(&ro);
    store_close(store);
    store = test_open(&rw);
    store_counters_get(store, &sc);
    ASSERT_U64_EQ(sc.wal_records_replayed, 0);
    store_close(store);
}

void test_wal_recovery_after_restart(void)
{
    recovery_after_restart(0);
}

void test_wal_recovery_replays_merges(void)
{
    recovery_after_restart(8);
}
