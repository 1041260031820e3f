/* bench_activities.c: `ttai-bench activities`: no-op activities completed
 * per second through workflows, and the dispatch latency.
 *
 * W workflows each run K no-op activities one after another, so W are in
 * flight at any time: every activity costs a durable workflow task (the
 * ActivityScheduled command and its pending record), a dispatch to the
 * pool, and a durable ActivityCompleted; group commit shares each sync
 * among everything ready at once. The engine runs on the real clock on a
 * real disk (fsync on every commit); one thread polls it, as ttaid's engine
 * thread does.
 */
#include "bench_activities.h"
#include "bench_dir.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workflows.h"

static atomic_long noops_done;

static int noop_activity(struct ttai_activity_ctx *ctx, struct ttai_payload in, struct ttai_buf *out)
{
    (void)ctx;
    (void)in;
    (void)out;
    atomic_fetch_add(&noops_done, 1);
    return 0;
}

static void noop_loop_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int64_t count = 0;
    if (ttai_payload_unpack(&r, input, &o) == 0)
        ttai_obj_int(&o, &count);
    ttai_reader_release(&r);
    struct ttai_activity_opts opts = {.start_to_close_ms = 60000};
    for (int64_t i = 0; i < count; i++)
        ttai_wf_activity(wf, "noop", (struct ttai_payload){0}, &opts, NULL);
}

static const struct ttai_workflow_def wf_noop_loop = {"noop_loop", noop_loop_run, 0, NULL, NULL};
static const struct ttai_activity_def act_noop = {"noop", noop_activity};
static const struct ttai_workflow_def *const bench_workflows[] = {&wf_noop_loop, NULL};
static const struct ttai_activity_def *const bench_activities[] = {&act_noop, NULL};
static const struct ttai_registry bench_registry = {bench_workflows, bench_activities};

struct poller {
    struct ttai_engine *eng;
    atomic_bool stop;
};

/* The engine thread: poll, and sleep on the pool when nothing is ready. */
static void *poller_main(void *arg)
{
    struct poller *p = arg;
    while (!atomic_load(&p->stop)) {
        int n = ttai_engine_poll(p->eng, NULL);
        if (n == 0)
            ttai_engine_wait_activity(p->eng, 1);
    }
    return NULL;
}

/* The starts, made from one thread without waiting for each commit
 * (ttai_engine_start_begin): the writer's callback hands each durable
 * start back, and the same thread ends it (ttai_engine_start_end
 * dispatches the first activity). */
struct start_slot {
    struct starts *all;
    struct ttai_start_op *op;
};

struct starts {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct start_slot **durable;        /* handed back, not ended yet */
    size_t durable_count;
    long ended;
};

static void start_durable(void *arg)
{
    struct start_slot *slot = arg;
    struct starts *all = slot->all;
    pthread_mutex_lock(&all->mu);
    all->durable[all->durable_count++] = slot;
    pthread_cond_signal(&all->cv);
    pthread_mutex_unlock(&all->mu);
}

/* Ends the starts handed back so far; with wait, waits for one first. */
static int starts_end(struct ttai_engine *eng, struct starts *all, bool wait, struct ttai_err *err)
{
    pthread_mutex_lock(&all->mu);
    while (wait && all->durable_count == 0)
        pthread_cond_wait(&all->cv, &all->mu);
    size_t n = all->durable_count;
    struct start_slot *taken[256];
    if (n > 256)
        n = 256;
    all->durable_count -= n;
    memcpy(taken, all->durable + all->durable_count, n * sizeof(*taken));
    pthread_mutex_unlock(&all->mu);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int one = ttai_engine_start_end(eng, taken[i]->op, true, NULL, err);
        if (one != 0 && rc == 0)
            rc = one;
        all->ended++;
    }
    return rc;
}

static int start_all(struct ttai_engine *eng, long workflows, long per_workflow, struct ttai_err *err)
{
    struct starts all = {.durable = calloc((size_t)workflows, sizeof(struct start_slot *))};
    struct start_slot *slots = calloc((size_t)workflows, sizeof(*slots));
    if (all.durable == NULL || slots == NULL) {
        free(all.durable);
        free(slots);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&all.mu, NULL);
    pthread_cond_init(&all.cv, NULL);
    struct ttai_buf in;
    ttai_buf_init(&in);
    ttai_buf_int(&in, per_workflow);
    int rc = 0;
    long begun = 0;
    for (long i = 0; i < workflows && rc == 0; i++) {
        char id[48];
        snprintf(id, sizeof(id), "noop-%ld", i);
        slots[i].all = &all;
        rc = ttai_engine_start_begin(eng, "bench", "noop_loop", id, ttai_buf_payload(&in), NULL,
                                     start_durable, &slots[i], &slots[i].op, NULL, err);
        if (rc == TTAI_EBUSY) /* the engine holds its lock: this one waits for it */
            rc = ttai_engine_start(eng, "bench", "noop_loop", id, ttai_buf_payload(&in), NULL, NULL,
                                   err);
        else if (rc == 0 && slots[i].op != NULL)
            begun++;
        if (rc == 0)
            rc = starts_end(eng, &all, false, err);
    }
    while (all.ended < begun) {
        int one = starts_end(eng, &all, true, err);
        if (one != 0 && rc == 0)
            rc = one;
    }
    ttai_buf_release(&in);
    pthread_cond_destroy(&all.cv);
    pthread_mutex_destroy(&all.mu);
    free(all.durable);
    free(slots);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

struct acts_opts {
    const char *data;
    long workflows, per_workflow;
    int threads;
    int json;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ttai-bench activities [--data DIR] [--workflows W] [--activities K]\n"
            "                             [--threads T] [--output table|json]\n"
            "\n"
            "Runs W workflows of K sequential no-op activities each (W in flight) on a\n"
            "durable store and prints activities completed per second and the dispatch\n"
            "latency p50/p99 (from the durable schedule to a worker starting it).\n"
            "\n"
            "  --data DIR        where to make the temporary directory, removed afterwards\n"
            "                    (default: /var/tmp)\n"
            "  --workflows W     concurrent workflows (default 2000)\n"
            "  --activities K    activities per workflow (default 50)\n"
            "  --threads T       activity pool threads (default 4)\n"
            "  --output FMT      table (default) or json\n");
}

static int parse(int argc, char **argv, struct acts_opts *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},      {"workflows", required_argument, NULL, 'w'},
        {"activities", required_argument, NULL, 'k'}, {"threads", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    o->workflows = 2000;
    o->per_workflow = 50;
    o->threads = 4;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'w': o->workflows = strtol(optarg, NULL, 10); break;
        case 'k': o->per_workflow = strtol(optarg, NULL, 10); break;
        case 't': o->threads = atoi(optarg); break;
        case 'o':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
                fprintf(stderr, "ttai-bench activities: --output must be table or json\n");
                return 2;
            }
            o->json = strcmp(optarg, "json") == 0;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || o->workflows < 1 || o->per_workflow < 1 || o->threads < 1) {
        fprintf(stderr, "ttai-bench activities: bad arguments; see --help\n");
        return 2;
    }
    return 0;
}

int bench_activities_main(int argc, char **argv)
{
    struct acts_opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    char dir[PATH_MAX];
    if (!bench_dir_make(o.data != NULL ? o.data : "/var/tmp", "ttai-bench-activities", dir,
                        sizeof(dir))) {
        fprintf(stderr, "ttai-bench activities: cannot make a directory in '%s': %s\n",
                o.data != NULL ? o.data : "/var/tmp", strerror(errno));
        return 1;
    }
    struct ttai_err err;
    struct ttai_engine *eng;
    struct ttai_engine_opts eo = {.data_dir = dir, .registry = &bench_registry,
                                  .activity_threads = (size_t)o.threads,
                                  .cache_max = (size_t)o.workflows + 64};
    if (ttai_engine_open(&eng, &eo, &err) != 0) {
        fprintf(stderr, "ttai-bench activities: %s\n", err.msg);
        bench_dir_remove(dir);
        return 1;
    }
    struct poller p = {.eng = eng};
    pthread_t thread;
    pthread_create(&thread, NULL, poller_main, &p);
    long total = o.workflows * o.per_workflow;
    int64_t t0 = ttai_mono_ns();
    rc = start_all(eng, o.workflows, o.per_workflow, &err);
    double start_s = (double)(ttai_mono_ns() - t0) / 1e9;
    struct ttai_engine_stats at_start;
    ttai_engine_stats_get(eng, &at_start);
    while (rc == 0 && atomic_load(&noops_done) < total)
        usleep(1000);
    double seconds = (double)(ttai_mono_ns() - t0) / 1e9;
    atomic_store(&p.stop, true);
    pthread_join(thread, NULL);
    int64_t *lat = malloc(ENG_LATENCY_MAX * sizeof(*lat));
    size_t n = lat ? ttai_engine_dispatch_latencies(eng, lat, ENG_LATENCY_MAX) : 0;
    struct ttai_engine_stats st;
    ttai_engine_stats_get(eng, &st);
    ttai_engine_close(eng);
    bench_dir_remove(dir);
    if (rc != 0) {
        fprintf(stderr, "ttai-bench activities: start: %s\n", err.msg);
        free(lat);
        return 1;
    }
    qsort(lat, n, sizeof(*lat), cmp_i64);
    double p50 = n ? (double)lat[n / 2] / 1e6 : 0, p99 = n ? (double)lat[n * 99 / 100] / 1e6 : 0;
    free(lat);
    double per_s = (double)total / seconds;
    if (o.json) {
        printf("{\"activities_per_s\": %.0f, \"dispatch_p50_ms\": %.3f, \"dispatch_p99_ms\": %.3f, "
               "\"activities\": %ld, \"workflows\": %ld, \"seconds\": %.3f, \"tasks\": %llu}\n",
               per_s, p50, p99, total, o.workflows, seconds, (unsigned long long)st.tasks);
        return 0;
    }
    printf("ttai-bench activities (measured in %s, since removed; fsync on every commit)\n", dir);
    printf("  %-40s %12.0f /s  (%ld activities, %ld workflows, %.2f s)\n",
           "no-op activities through workflows", per_s, total, o.workflows, seconds);
    printf("  %-40s %12.3f ms p50, %.3f ms p99 (last %zu attempts)\n", "dispatch latency", p50,
           p99, n);
    printf("  %-40s %12.3f s, %llu commits (until every start is durable)\n", "starts",
           start_s, (unsigned long long)at_start.commits);
    printf("  %-40s %12llu polls, %llu commits, %.1f batches/commit, %.2f ms/commit\n",
           "engine", (unsigned long long)st.polls, (unsigned long long)st.commits,
           st.commits ? (double)st.batches / (double)st.commits : 0.0,
           st.commits ? (double)st.commit_ns_total / 1e6 / (double)st.commits : 0.0);
    return 0;
}
