/* ttai-bench.c: benchmarks of ttai's subsystems, one subcommand each.
 *
 *   ttai-bench journal [--data DIR] [--seconds N] [--output table|json] ...
 *
 * `journal` measures the storage module (storage/store.h) in one run:
 *
 *   (a) durable commits/s: one producer, one event per batch, store_commit()
 *       in a loop, so every commit is one LMDB transaction and one sync;
 *   (b) durable events/s through group commit: P producer threads (64), each
 *       appending B-event batches (10) to its own run and waiting for each
 *       batch to be durable before building the next;
 *   (c) history read speed: a large history (1,000,000 events over 100 runs)
 *       read back with store_hist_iter, every event decoded; the median of
 *       several passes.
 *
 * (a) and (b) also report p50/p99 commit latency (submit to durable), and
 * (b) the mean number of batches per LMDB commit (store_counters).
 *
 * The data directory must be on a real disk: on tmpfs a sync costs nothing
 * and the figures mean nothing. The benchmark makes a fresh directory under
 * --data DIR (default: $TMPDIR, /tmp, /var/tmp or the current directory,
 * whichever is first not a RAM file system) and removes it afterwards.
 *
 * Adding a subcommand: write `static int cmd_NAME(int argc, char **argv)`
 * and add a row to `subcommands` below.
 */
#include "bench_activities.h"
#include "bench_dir.h"
#include "bench_e2e.h"
#include "bench_runtime.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <lmdb.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_VARIANTS 64         /* distinct payloads the events cycle through */
#define PAYLOAD_BYTES_MIN 32
#define PAYLOAD_BYTES_MAX 100
#define LOAD_BATCH_EVENTS 10000     /* events per batch when loading the read history */
#define REPEAT_MAX 20
#define PASSES_MAX 50

/* ---- Options --------------------------------------------------------------- */

struct journal_opts {
    const char *data_dir;           /* NULL: a fresh temporary directory */
    bool json;                      /* --output json */
    double seconds;                 /* per timed phase */
    int producers;                  /* phase (b) threads */
    int batch_events;               /* phase (b) events per batch */
    uint64_t read_events;           /* phase (c) history size */
    int read_runs;                  /* phase (c) runs the history is spread over */
    int read_passes;                /* phase (c) passes; the median is reported */
    int repeat;                     /* whole measurement repeated; medians reported */
};

/* ---- Small helpers ----------------------------------------------------------- */

static void die(const char *what, const struct ttai_err *err, int rc)
{
    fprintf(stderr, "ttai-bench: %s: %s (%s)\n", what,
            err != NULL && err->msg[0] ? err->msg : ttai_strerror(rc), ttai_rc_name(rc));
    exit(1);
}

static void *xcalloc(size_t count, size_t size)
{
    void *p = ttai_calloc(count, size);
    if (p == NULL) {
        fprintf(stderr, "ttai-bench: out of memory\n");
        exit(1);
    }
    return p;
}

static double seconds_since(int64_t t0_ns)
{
    return (double)(ttai_mono_ns() - t0_ns) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The median of n values (sorts them in place). */
static double median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- Latency samples ---------------------------------------------------------- */

struct latencies {
    int64_t *ns;                    /* one per commit, submit to durable */
    size_t count, cap;
};

static void latencies_add(struct latencies *l, int64_t ns)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        int64_t *grown = ttai_realloc(l->ns, cap * sizeof(*grown));
        if (grown == NULL) {
            fprintf(stderr, "ttai-bench: out of memory\n");
            exit(1);
        }
        l->ns = grown;
        l->cap = cap;
    }
    l->ns[l->count++] = ns;
}

static void latencies_merge(struct latencies *into, const struct latencies *from)
{
    for (size_t i = 0; i < from->count; i++)
        latencies_add(into, from->ns[i]);
}

/* The q-quantile (nearest rank) in microseconds; sorts the samples. */
static double latencies_quantile_us(struct latencies *l, double q)
{
    if (l->count == 0)
        return 0;
    qsort(l->ns, l->count, sizeof(*l->ns), cmp_i64);
    size_t rank = (size_t)(q * (double)l->count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > l->count)
        rank = l->count;
    return (double)l->ns[rank - 1] / 1e3;
}

static void latencies_release(struct latencies *l)
{
    ttai_free(l->ns);
    *l = (struct latencies){0};
}

/* ---- The data directory and the machine ------------------------------------ */

/* Facts about the machine and the data directory, printed with the figures. */
struct machine {
    char fs_type[64];               /* of the mount holding the data directory */
    char fs_device[512];
    char fs_mount[512];
    long cores;
    char cpu[128];
    char kernel[160];
    char lmdb[64];
};

/* Finds the mount holding dir: the longest mount point that prefixes it. */
static void machine_find_mount(struct machine *m, const char *dir)
{
    char real[PATH_MAX];
    if (realpath(dir, real) == NULL)
        snprintf(real, sizeof(real), "%s", dir);
    FILE *f = fopen("/proc/self/mounts", "r");
    if (f == NULL)
        return;
    char dev[512], mnt[512], type[64];
    size_t best = 0;
    while (fscanf(f, "%511s %511s %63s %*[^\n]", dev, mnt, type) == 3) {
        size_t n = strlen(mnt);
        bool prefix = strncmp(real, mnt, n) == 0 &&
                      (real[n] == '/' || real[n] == '\0' || strcmp(mnt, "/") == 0);
        if (prefix && n >= best) {
            best = n;
            snprintf(m->fs_type, sizeof(m->fs_type), "%s", type);
            snprintf(m->fs_device, sizeof(m->fs_device), "%s", dev);
            snprintf(m->fs_mount, sizeof(m->fs_mount), "%s", mnt);
        }
    }
    fclose(f);
}

static void machine_probe(struct machine *m, const char *dir)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->fs_type, sizeof(m->fs_type), "unknown");
    machine_find_mount(m, dir);
    m->cores = sysconf(_SC_NPROCESSORS_ONLN);
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(m->cpu, sizeof(m->cpu), "%s", colon + 2);
            m->cpu[strcspn(m->cpu, "\n")] = '\0';
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof(m->kernel), "%s %s", u.sysname, u.release);
    int major, minor, patch;
    mdb_version(&major, &minor, &patch);
    snprintf(m->lmdb, sizeof(m->lmdb), "%d.%d.%d", major, minor, patch);
}

/* ---- Realistic events ------------------------------------------------------- */

/* Activity results as an engine would journal them: small msgpack maps of
 * 32 to 100 bytes, e.g. {"id": 17, "status": "filled", "px": 187.25,
 * "note": "..."}. Built once; events point at them. */
struct payloads {
    msgpack_sbuffer buf[PAYLOAD_VARIANTS];
    size_t bytes_total;
};

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void payloads_init(struct payloads *p)
{
    static const char *const statuses[] = {"filled", "partial", "rejected", "sent"};
    static const char text[] = "order routed to primary venue; fill confirmed by broker "
                               "at the quoted price, no slippage recorded for this leg";
    p->bytes_total = 0;
    for (int i = 0; i < PAYLOAD_VARIANTS; i++) {
        size_t target = PAYLOAD_BYTES_MIN +
                        (size_t)i * (PAYLOAD_BYTES_MAX - PAYLOAD_BYTES_MIN) / (PAYLOAD_VARIANTS - 1);
        msgpack_sbuffer_init(&p->buf[i]);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &p->buf[i], msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 4);
        pack_cstr(&pk, "id");
        msgpack_pack_uint32(&pk, 100000u + (uint32_t)i * 7919u);
        pack_cstr(&pk, "status");
        pack_cstr(&pk, statuses[i % 4]);
        pack_cstr(&pk, "px");
        msgpack_pack_double(&pk, 100.0 + i * 0.25);
        pack_cstr(&pk, "note");
        /* The note fills the rest: its header is 1 byte up to 31, else 2. */
        size_t used = p->buf[i].size, note = 0;
        if (target > used + 1)
            note = target - used - 1;
        if (note > 31 && note > 1)
            note--;
        if (note > sizeof(text) - 1)
            note = sizeof(text) - 1;
        msgpack_pack_str(&pk, note);
        msgpack_pack_str_body(&pk, text, note);
        p->bytes_total += p->buf[i].size;
    }
}

static void payloads_release(struct payloads *p)
{
    for (int i = 0; i < PAYLOAD_VARIANTS; i++)
        msgpack_sbuffer_destroy(&p->buf[i]);
}

/* An ActivityCompleted event for activity seq, with the k-th payload. */
static struct store_event completed_event(const struct payloads *p, uint64_t seq, uint64_t k)
{
    const msgpack_sbuffer *b = &p->buf[k % PAYLOAD_VARIANTS];
    return (struct store_event){
        .type = STORE_EV_ACTIVITY_COMPLETED,
        .time_ms = 1795428000000 + (int64_t)k,
        .seq = seq,
        .attempt = 1,
        .payload = {(const uint8_t *)b->data, b->size},
    };
}

/* Creates a Running run with its WorkflowStarted event; durable on return. */
static void create_run(struct store *store, struct ttai_run_id *out, const char *workflow_id)
{
    struct store_run run = {.status = STORE_RUN_RUNNING, .start_ms = ttai_wall_ms()};
    struct ttai_err err;
    int rc = ttai_run_id_random(&run.run_id);
    if (rc != 0)
        die("cannot make a run id", NULL, rc);
    snprintf(run.ns, sizeof(run.ns), "bench");
    snprintf(run.workflow_id, sizeof(run.workflow_id), "%s", workflow_id);
    snprintf(run.type, sizeof(run.type), "order_flow");
    struct store_event started = {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = run.start_ms,
                                  .name = {(const uint8_t *)"order_flow", 10}};
    struct store_batch *b = store_batch_new();
    if (b == NULL)
        die("cannot create a batch", NULL, TTAI_ENOMEM);
    rc = store_batch_put_run(b, &run);
    if (rc == 0)
        rc = store_batch_put_exec(b, run.ns, run.workflow_id, &run.run_id);
    if (rc == 0)
        rc = store_batch_append(b, &run.run_id, &started, &err);
    if (rc == 0)
        rc = store_commit(store, b, &err);
    if (rc != 0)
        die("cannot create a run", &err, rc);
    store_batch_free(b);
    *out = run.run_id;
}

/* ---- (a) Durable commits, one event each -------------------------------------- */

struct figures {
    double raw_commits_per_s;       /* bare LMDB, for comparison */
    double commits_per_s;
    double commit_p50_us, commit_p99_us;
    double group_events_per_s;
    double group_p50_us, group_p99_us;
    double group_batches_per_commit;
    double group_commits_per_s;
    double group_sync_ms;           /* mean time in mdb_txn_commit per group */
    double read_events_per_s;
    double read_pass_s;             /* median pass duration */
};

static void phase_commits(struct store *store, const struct journal_opts *o,
                          const struct payloads *p, struct figures *fig)
{
    struct ttai_run_id run;
    create_run(store, &run, "bench-commits");
    struct store_batch *b = store_batch_new();
    if (b == NULL)
        die("cannot create a batch", NULL, TTAI_ENOMEM);
    struct latencies lat = {0};
    struct ttai_err err;
    uint64_t commits = 0;
    int64_t t0 = ttai_mono_ns();
    while (seconds_since(t0) < o->seconds) {
        store_batch_clear(b);
        struct store_event ev = completed_event(p, commits + 1, commits);
        int rc = store_batch_append(b, &run, &ev, &err);
        int64_t c0 = ttai_mono_ns();
        if (rc == 0)
            rc = store_commit(store, b, &err);
        if (rc != 0)
            die("commit failed", &err, rc);
        latencies_add(&lat, ttai_mono_ns() - c0);
        commits++;
    }
    double elapsed = seconds_since(t0);
    fig->commits_per_s = (double)commits / elapsed;
    fig->commit_p50_us = latencies_quantile_us(&lat, 0.50);
    fig->commit_p99_us = latencies_quantile_us(&lat, 0.99);
    latencies_release(&lat);
    store_batch_free(b);
}

/* ---- (r) Bare LMDB, the floor under (a) ------------------------------------------- */

/* One mdb_put of a 66-byte value per transaction, with LMDB's default
 * durable commit (the same sync the store does), in its own environment in
 * DIR/raw-lmdb, removed afterwards. What (a) is to be compared with. */
static void phase_raw_lmdb(const char *data_dir, const struct journal_opts *o,
                           struct figures *fig)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/raw-lmdb", data_dir);
    MDB_env *env = NULL;
    MDB_dbi dbi = 0;
    MDB_txn *txn = NULL;
    int rc = mkdir(dir, 0755) != 0 && errno != EEXIST ? errno : mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, (size_t)256 << 20);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_NORDAHEAD, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    uint8_t key[8], val[66] = {0};
    uint64_t commits = 0;
    int64_t t0 = ttai_mono_ns();
    while (rc == 0 && seconds_since(t0) < o->seconds) {
        for (int i = 0; i < 8; i++)
            key[i] = (uint8_t)(commits >> (56 - 8 * i));
        MDB_val k = {sizeof(key), key}, v = {sizeof(val), val};
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (rc == 0 && (rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
            mdb_txn_abort(txn);
        else if (rc == 0)
            rc = mdb_txn_commit(txn);
        commits++;
    }
    if (rc != 0) {
        fprintf(stderr, "ttai-bench: raw LMDB in '%s': %s\n", dir, mdb_strerror(rc));
        exit(1);
    }
    fig->raw_commits_per_s = (double)commits / seconds_since(t0);
    mdb_env_close(env);
    bench_dir_remove(dir);
}

/* ---- (b) Group commit from many producers -------------------------------------- */

struct producer {
    pthread_t thread;
    struct store *store;
    const struct journal_opts *opts;
    const struct payloads *payloads;
    pthread_barrier_t *start;
    atomic_bool *stop;
    int index;
    uint64_t events;                /* made durable during the timed window */
    struct latencies lat;
};

static void *producer_main(void *arg)
{
    struct producer *pr = arg;
    char workflow_id[64];
    snprintf(workflow_id, sizeof(workflow_id), "bench-group-%d", pr->index);
    struct ttai_run_id run;
    create_run(pr->store, &run, workflow_id);
    struct store_batch *b = store_batch_new();
    if (b == NULL)
        die("cannot create a batch", NULL, TTAI_ENOMEM);
    struct ttai_err err;
    uint64_t k = (uint64_t)pr->index * 1000003u;
    pthread_barrier_wait(pr->start);
    while (!atomic_load_explicit(pr->stop, memory_order_relaxed)) {
        store_batch_clear(b);
        for (int i = 0; i < pr->opts->batch_events; i++, k++) {
            struct store_event ev = completed_event(pr->payloads, k, k);
            int rc = store_batch_append(b, &run, &ev, &err);
            if (rc != 0)
                die("cannot append", &err, rc);
        }
        int64_t c0 = ttai_mono_ns();
        int rc = store_commit(pr->store, b, &err);
        if (rc != 0)
            die("commit failed", &err, rc);
        latencies_add(&pr->lat, ttai_mono_ns() - c0);
        pr->events += (uint64_t)pr->opts->batch_events;
    }
    store_batch_free(b);
    return NULL;
}

static void phase_group(struct store *store, const struct journal_opts *o,
                        const struct payloads *p, struct figures *fig)
{
    int n = o->producers;
    struct producer *prs = xcalloc((size_t)n, sizeof(*prs));
    pthread_barrier_t start;
    atomic_bool stop = false;
    pthread_barrier_init(&start, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        prs[i] = (struct producer){.store = store, .opts = o, .payloads = p, .start = &start,
                                   .stop = &stop, .index = i};
        int rc = pthread_create(&prs[i].thread, NULL, producer_main, &prs[i]);
        if (rc != 0) {
            fprintf(stderr, "ttai-bench: cannot start a producer: %s\n", strerror(rc));
            exit(1);
        }
    }
    pthread_barrier_wait(&start); /* every producer has its run */
    struct store_counters c0, c1;
    store_counters_get(store, &c0);
    int64_t t0 = ttai_mono_ns();
    struct timespec ts = {(time_t)o->seconds, (long)((o->seconds - (double)(time_t)o->seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    atomic_store(&stop, true);
    struct latencies lat = {0};
    uint64_t events = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(prs[i].thread, NULL);
        events += prs[i].events;
        latencies_merge(&lat, &prs[i].lat);
        latencies_release(&prs[i].lat);
    }
    double elapsed = seconds_since(t0);
    store_counters_get(store, &c1);
    uint64_t commits = c1.commits - c0.commits;
    fig->group_events_per_s = (double)events / elapsed;
    fig->group_commits_per_s = (double)commits / elapsed;
    fig->group_sync_ms =
        commits ? (double)(c1.commit_ns_total - c0.commit_ns_total) / (double)commits / 1e6 : 0;
    fig->group_batches_per_commit =
        commits ? (double)(c1.batches - c0.batches) / (double)commits : 0;
    fig->group_p50_us = latencies_quantile_us(&lat, 0.50);
    fig->group_p99_us = latencies_quantile_us(&lat, 0.99);
    latencies_release(&lat);
    pthread_barrier_destroy(&start);
    ttai_free(prs);
}

/* ---- (c) History reads ----------------------------------------------------------- */

/* The runs of the read history; loaded once, read by every repeat. */
struct read_set {
    struct ttai_run_id *runs;
    int run_count;
    uint64_t events;                /* events in those runs, WorkflowStarted included */
    double load_s;
};

static void read_set_load(struct store *store, const struct journal_opts *o,
                          const struct payloads *p, struct read_set *rs)
{
    rs->run_count = o->read_runs;
    rs->runs = xcalloc((size_t)rs->run_count, sizeof(*rs->runs));
    rs->events = 0;
    struct store_batch *b = store_batch_new();
    if (b == NULL)
        die("cannot create a batch", NULL, TTAI_ENOMEM);
    struct ttai_err err;
    int64_t t0 = ttai_mono_ns();
    uint64_t per_run = o->read_events / (uint64_t)rs->run_count;
    for (int r = 0; r < rs->run_count; r++) {
        char workflow_id[64];
        snprintf(workflow_id, sizeof(workflow_id), "bench-read-%d", r);
        create_run(store, &rs->runs[r], workflow_id);
        rs->events++;
        /* The first run takes the remainder, so the total is exact. */
        uint64_t want = per_run - 1 + (r == 0 ? o->read_events % (uint64_t)rs->run_count : 0);
        for (uint64_t done = 0; done < want;) {
            store_batch_clear(b);
            for (; done < want && store_batch_events(b) < LOAD_BATCH_EVENTS; done++) {
                struct store_event ev = completed_event(p, done + 1, done);
                int rc = store_batch_append(b, &rs->runs[r], &ev, &err);
                if (rc != 0)
                    die("cannot append", &err, rc);
            }
            int rc = store_commit(store, b, &err);
            if (rc != 0)
                die("commit failed", &err, rc);
            rs->events += store_batch_events(b);
        }
    }
    rs->load_s = seconds_since(t0);
    store_batch_free(b);
}

/* Reads every event of the set once; returns the seconds it took. */
static double read_pass(struct store *store, const struct read_set *rs)
{
    struct ttai_err err;
    struct store_read *rd;
    uint64_t events = 0, payload_bytes = 0;
    int64_t t0 = ttai_mono_ns();
    int rc = store_read_begin(store, &rd, &err);
    if (rc != 0)
        die("cannot begin a read", &err, rc);
    for (int r = 0; r < rs->run_count; r++) {
        struct store_iter it;
        rc = store_hist_iter_init(&it, rd, &rs->runs[r], 1, &err);
        struct store_event ev;
        while (rc == 0 && (rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
            events++;
            payload_bytes += ev.payload.len;
            rc = 0;
        }
        store_iter_release(&it);
        if (rc < 0)
            die("cannot read history", &err, rc);
    }
    store_read_end(rd);
    double s = seconds_since(t0);
    if (events != rs->events || (payload_bytes == 0 && events > (uint64_t)rs->run_count)) {
        fprintf(stderr, "ttai-bench: read %" PRIu64 " events, expected %" PRIu64 "\n", events,
                rs->events);
        exit(1);
    }
    return s;
}

static void phase_read(struct store *store, const struct journal_opts *o,
                       const struct read_set *rs, struct figures *fig)
{
    double rates[PASSES_MAX], secs[PASSES_MAX];
    for (int i = 0; i < o->read_passes; i++) {
        secs[i] = read_pass(store, rs);
        rates[i] = (double)rs->events / secs[i];
    }
    fig->read_events_per_s = median(rates, (size_t)o->read_passes);
    fig->read_pass_s = median(secs, (size_t)o->read_passes);
}

/* ---- Reporting ---------------------------------------------------------------- */

/* The median of each figure over the repeats. */
static struct figures figures_median(const struct figures *all, int n)
{
    struct figures m;
    double v[REPEAT_MAX];
#define MEDIAN_OF(field)                                                        \
    for (int i = 0; i < n; i++)                                                 \
        v[i] = all[i].field;                                                    \
    m.field = median(v, (size_t)n);
    MEDIAN_OF(raw_commits_per_s)
    MEDIAN_OF(commits_per_s)
    MEDIAN_OF(commit_p50_us)
    MEDIAN_OF(commit_p99_us)
    MEDIAN_OF(group_events_per_s)
    MEDIAN_OF(group_p50_us)
    MEDIAN_OF(group_p99_us)
    MEDIAN_OF(group_batches_per_commit)
    MEDIAN_OF(group_commits_per_s)
    MEDIAN_OF(group_sync_ms)
    MEDIAN_OF(read_events_per_s)
    MEDIAN_OF(read_pass_s)
#undef MEDIAN_OF
    return m;
}

static json_t *figures_json(json_t *obj, const struct figures *f)
{
    json_object_set_new(obj, "commits_per_s", json_real(f->commits_per_s));
    json_object_set_new(obj, "group_events_per_s", json_real(f->group_events_per_s));
    json_object_set_new(obj, "read_events_per_s", json_real(f->read_events_per_s));
    json_object_set_new(obj, "raw_lmdb_commits_per_s", json_real(f->raw_commits_per_s));
    json_object_set_new(obj, "commit_p50_us", json_real(f->commit_p50_us));
    json_object_set_new(obj, "commit_p99_us", json_real(f->commit_p99_us));
    json_object_set_new(obj, "group_p50_us", json_real(f->group_p50_us));
    json_object_set_new(obj, "group_p99_us", json_real(f->group_p99_us));
    json_object_set_new(obj, "group_batches_per_commit", json_real(f->group_batches_per_commit));
    json_object_set_new(obj, "group_commits_per_s", json_real(f->group_commits_per_s));
    json_object_set_new(obj, "group_sync_ms", json_real(f->group_sync_ms));
    json_object_set_new(obj, "read_pass_s", json_real(f->read_pass_s));
    return obj;
}

struct report {
    const struct journal_opts *opts;
    const struct machine *machine;
    const char *data_dir;
    const struct read_set *read_set;
    double payload_bytes_mean;
    const struct figures *runs;     /* one per repeat */
    struct figures median;
};

static void report_json(const struct report *r)
{
    const struct journal_opts *o = r->opts;
    json_t *obj = figures_json(json_object(), &r->median);
    json_object_set_new(obj, "seconds_per_phase", json_real(o->seconds));
    json_object_set_new(obj, "producers", json_integer(o->producers));
    json_object_set_new(obj, "batch_events", json_integer(o->batch_events));
    json_object_set_new(obj, "read_events", json_integer((json_int_t)r->read_set->events));
    json_object_set_new(obj, "read_runs", json_integer(r->read_set->run_count));
    json_object_set_new(obj, "read_passes", json_integer(o->read_passes));
    json_object_set_new(obj, "read_load_s", json_real(r->read_set->load_s));
    json_object_set_new(obj, "payload_bytes_mean", json_real(r->payload_bytes_mean));
    json_object_set_new(obj, "repeat", json_integer(o->repeat));
    json_t *runs = json_array();
    for (int i = 0; i < o->repeat; i++)
        json_array_append_new(runs, figures_json(json_object(), &r->runs[i]));
    json_object_set_new(obj, "runs", runs);
    json_object_set_new(obj, "data_dir", json_string(r->data_dir));
    json_object_set_new(obj, "fs_type", json_string(r->machine->fs_type));
    json_object_set_new(obj, "fs_device", json_string(r->machine->fs_device));
    json_object_set_new(obj, "cores", json_integer(r->machine->cores));
    json_object_set_new(obj, "cpu", json_string(r->machine->cpu));
    json_object_set_new(obj, "kernel", json_string(r->machine->kernel));
    json_object_set_new(obj, "lmdb", json_string(r->machine->lmdb));
    json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', stdout);
    json_decref(obj);
}

static void report_table(const struct report *r)
{
    const struct journal_opts *o = r->opts;
    const struct machine *m = r->machine;
    const struct figures *f = &r->median;
    char when[32];
    printf("ttai-bench journal, %s\n", ttai_time_format(ttai_wall_ms(), when, sizeof(when)));
    printf("  data dir   %s\n", r->data_dir);
    printf("  disk       %s on %s (mounted at %s)\n", m->fs_type, m->fs_device, m->fs_mount);
    printf("  machine    %ld cores, %s, %s, LMDB %s\n", m->cores, m->cpu[0] ? m->cpu : "cpu ?",
           m->kernel, m->lmdb);
    printf("  events     ActivityCompleted, msgpack payload %d-%d bytes (mean %.0f)\n",
           PAYLOAD_BYTES_MIN, PAYLOAD_BYTES_MAX, r->payload_bytes_mean);
    printf("  %s\n\n", o->repeat > 1 ? "figures are medians over the repeats" : "one repeat");
    printf("%-44s %12s %-5s %10s %10s\n", "phase", "rate", "", "p50", "p99");
    char what[64];
    printf("%-44s %12.0f /s\n", "(r) bare LMDB, 1 put per synced commit", f->raw_commits_per_s);
    printf("%-44s %12.0f %-5s %7.0f us %7.0f us\n", "(a) durable commits, 1 event each",
           f->commits_per_s, "/s", f->commit_p50_us, f->commit_p99_us);
    snprintf(what, sizeof(what), "(b) group commit, %d producers x %d events", o->producers,
             o->batch_events);
    printf("%-44s %12.0f %-5s %7.0f us %7.0f us\n", what, f->group_events_per_s, "ev/s",
           f->group_p50_us, f->group_p99_us);
    printf("%-44s %12.0f %-5s (%.1f batches per commit, %.2f ms in mdb_txn_commit)\n",
           "    LMDB commits during (b)", f->group_commits_per_s, "/s",
           f->group_batches_per_commit, f->group_sync_ms);
    snprintf(what, sizeof(what), "(c) history read, %" PRIu64 " events decoded",
             r->read_set->events);
    printf("%-44s %12.0f %-5s (median of %d passes, %.3f s each)\n", what,
           f->read_events_per_s, "ev/s", o->read_passes, f->read_pass_s);
    printf("%-44s %12.1f s     (%d runs, batches of up to %d events)\n",
           "    loading that history", r->read_set->load_s, r->read_set->run_count,
           LOAD_BATCH_EVENTS);
    if (o->repeat > 1) {
        printf("\nrepeat  raw LMDB/s  commits/s  group ev/s  batches/commit  read ev/s\n");
        for (int i = 0; i < o->repeat; i++)
            printf("%6d %11.0f %10.0f %11.0f %15.1f %10.0f\n", i + 1,
                   r->runs[i].raw_commits_per_s, r->runs[i].commits_per_s,
                   r->runs[i].group_events_per_s, r->runs[i].group_batches_per_commit,
                   r->runs[i].read_events_per_s);
    }
}

/* ---- journal ------------------------------------------------------------------ */

static void journal_usage(FILE *out)
{
    fprintf(out,
            "usage: ttai-bench journal [options]\n"
            "\n"
            "Measures the LMDB journal: (a) durable commits/s with one event per commit,\n"
            "(b) durable events/s through group commit from many producers, (c) decoded\n"
            "history events/s read back.\n"
            "\n"
            "  --data DIR          an existing directory to make the store's temporary\n"
            "                      directory in, removed afterwards (default: $TMPDIR,\n"
            "                      /tmp, /var/tmp or ., the first on a real disk)\n"
            "  --output FORMAT     table (default) or json\n"
            "  --seconds N         seconds per timed phase (default 3)\n"
            "  --producers N       phase (b) producer threads (default 64)\n"
            "  --batch-events N    phase (b) events per batch (default 10)\n"
            "  --read-events N     phase (c) history size in events (default 1000000)\n"
            "  --read-runs N       phase (c) runs the history is spread over (default 100)\n"
            "  --read-passes N     phase (c) read passes; the median is reported (default 5)\n"
            "  --repeat N          repeat (a)-(c) N times and report medians (default 1)\n"
            "  -h, --help          this help\n");
}

static bool parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Parses journal's options into o. Returns 0 to run, 1 after --help, 2 on a
 * usage error (already reported). */
static int journal_parse(int argc, char **argv, struct journal_opts *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},       {"output", required_argument, NULL, 'o'},
        {"seconds", required_argument, NULL, 's'},    {"producers", required_argument, NULL, 'p'},
        {"batch-events", required_argument, NULL, 'b'},
        {"read-events", required_argument, NULL, 'e'}, {"read-runs", required_argument, NULL, 'r'},
        {"read-passes", required_argument, NULL, 'n'}, {"repeat", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    *o = (struct journal_opts){.seconds = 3, .producers = 64, .batch_events = 10,
                               .read_events = 1000000, .read_runs = 100, .read_passes = 5,
                               .repeat = 1};
    int c, li = 0;
    long v = 0;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        switch (c) {
        case 'd': o->data_dir = optarg; break;
        case 'o':
            ok = strcmp(optarg, "table") == 0 || strcmp(optarg, "json") == 0;
            o->json = strcmp(optarg, "json") == 0;
            break;
        case 's':
            o->seconds = strtod(optarg, NULL);
            ok = o->seconds >= 0.1 && o->seconds <= 3600;
            break;
        case 'p': ok = parse_int(optarg, 1, 4096, &v); o->producers = (int)v; break;
        case 'b': ok = parse_int(optarg, 1, 10000, &v); o->batch_events = (int)v; break;
        case 'e': ok = parse_int(optarg, 1, 1000000000, &v); o->read_events = (uint64_t)v; break;
        case 'r': ok = parse_int(optarg, 1, 100000, &v); o->read_runs = (int)v; break;
        case 'n': ok = parse_int(optarg, 1, PASSES_MAX, &v); o->read_passes = (int)v; break;
        case 'R': ok = parse_int(optarg, 1, REPEAT_MAX, &v); o->repeat = (int)v; break;
        case 'h': journal_usage(stdout); return 1;
        default: journal_usage(stderr); return 2; /* getopt said what is wrong */
        }
        if (!ok)
            fprintf(stderr, "ttai-bench journal: bad value '%s' for --%s\n", optarg,
                    longopts[li].name);
    }
    if (ok && optind < argc) {
        fprintf(stderr, "ttai-bench journal: unexpected argument '%s'\n", argv[optind]);
        ok = false;
    }
    if (ok && o->read_events < (uint64_t)o->read_runs) {
        fprintf(stderr, "ttai-bench journal: --read-events must be at least --read-runs\n");
        ok = false;
    }
    if (!ok)
        journal_usage(stderr);
    return ok ? 0 : 2;
}

/* Runs every repeat on an open store and prints the report. */
static void journal_measure(struct store *store, const struct journal_opts *o,
                            const char *data_dir)
{
    struct payloads p;
    payloads_init(&p);
    struct machine m;
    machine_probe(&m, data_dir);
    if (strcmp(m.fs_type, "tmpfs") == 0 || strcmp(m.fs_type, "ramfs") == 0)
        fprintf(stderr, "ttai-bench: warning: '%s' is on %s: syncs cost nothing there\n",
                data_dir, m.fs_type);
    struct figures runs[REPEAT_MAX];
    struct read_set rs = {0};
    for (int i = 0; i < o->repeat; i++) {
        fprintf(stderr, "repeat %d/%d: (r) bare LMDB commits...\n", i + 1, o->repeat);
        phase_raw_lmdb(data_dir, o, &runs[i]);
        fprintf(stderr, "repeat %d/%d: (a) durable commits...\n", i + 1, o->repeat);
        phase_commits(store, o, &p, &runs[i]);
        fprintf(stderr, "repeat %d/%d: (b) group commit...\n", i + 1, o->repeat);
        phase_group(store, o, &p, &runs[i]);
        if (i == 0) {
            fprintf(stderr, "loading %" PRIu64 " events for (c)...\n", o->read_events);
            read_set_load(store, o, &p, &rs);
            fprintf(stderr, "loaded in %.1f s\n", rs.load_s);
        }
        fprintf(stderr, "repeat %d/%d: (c) history read...\n", i + 1, o->repeat);
        phase_read(store, o, &rs, &runs[i]);
    }
    struct report r = {.opts = o, .machine = &m, .data_dir = data_dir, .read_set = &rs,
                       .payload_bytes_mean = (double)p.bytes_total / PAYLOAD_VARIANTS,
                       .runs = runs, .median = figures_median(runs, o->repeat)};
    if (o->json)
        report_json(&r);
    else
        report_table(&r);
    ttai_free(rs.runs);
    payloads_release(&p);
}

static int cmd_journal(int argc, char **argv)
{
    struct journal_opts o;
    int prc = journal_parse(argc, argv, &o);
    if (prc != 0)
        return prc == 1 ? 0 : 2;
    char dir[PATH_MAX];
    if (!bench_dir_make(o.data_dir, "ttai-bench", dir, sizeof(dir))) {
        if (o.data_dir != NULL)
            fprintf(stderr, "ttai-bench: cannot make a directory in '%s': %s\n", o.data_dir,
                    strerror(errno));
        else
            fprintf(stderr, "ttai-bench: no temporary directory on a real disk "
                            "(tried $TMPDIR, /tmp, /var/tmp, .); use --data DIR\n");
        return 1;
    }
    struct store *store;
    struct ttai_err err;
    struct store_opts so = {.dir = dir};
    int rc = store_open(&store, &so, &err);
    if (rc != 0) {
        fprintf(stderr, "ttai-bench: %s\n", err.msg);
        bench_dir_remove(dir);
        return 1;
    }
    journal_measure(store, &o, dir);
    store_close(store);
    bench_dir_remove(dir);
    return 0;
}

/* ---- Subcommands ---------------------------------------------------------------- */

static const struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);  /* argv[0] is the subcommand's name */
    const char *summary;
} subcommands[] = {
    {"journal", cmd_journal, "durable commits/s, group-commit events/s, history reads/s"},
    {"runtime", bench_runtime_main,
     "replay events/s, memory per cached idle workflow, resume after restart"},
    {"activities", bench_activities_main,
     "no-op activities/s through workflows, dispatch latency p50/p99"},
    {"e2e", bench_e2e_main, "workflows/s, timer loops/s, signal-query latency through ttaid's API"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ttai-bench COMMAND [options]    (ttai-bench COMMAND --help)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
}

int main(int argc, char **argv)
{
    bench_dir_catch_signals(); /* a run stopped by Ctrl-C removes its directories */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ttai-bench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
