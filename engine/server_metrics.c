/* server_metrics.c: the /metrics page, in the Prometheus text format
 * (version 0.0.4).
 *
 * Every family is written as "# HELP", "# TYPE", then its samples. The
 * engine's and the store's counters come from one snapshot
 * (ttai_engine_stats_get), taken under the engine lock; the HTTP counters
 * are atomics read one by one. Histograms are written cumulative, with
 * _count equal to the +Inf bucket of the same read, so the two agree even
 * while work goes on during the scrape.
 */
#include "server_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct ns_counts {
    char ns[STORE_NS_MAX + 1];
    uint64_t by_status[STORE_RUN_STATUS_MAX + 1];
};


/* A label value as the exposition format wants it: a namespace is any
 * UTF-8 text, and a '"', '\\' or line break left raw would end the label
 * (or the line) there and make the whole scrape invalid. out holds twice
 * the namespace limit. */
static void label_escape(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in != '\0'; in++) {
        bool pair = *in == '\\' || *in == '"' || *in == '\n';
        if (n + (pair ? 2 : 1) >= size)
            break; /* not reached: out holds twice the longest namespace */
        if (pair) {
            out[n++] = '\\';
            out[n++] = *in == '\n' ? 'n' : *in;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

static void metrics_workflows(struct ttai_server *srv, struct evbuffer *out)
{
    struct ns_counts *tab = NULL;
    size_t n = 0, cap = 0;
    struct store_read *rd;
    if (store_read_begin(srv->store, &rd, NULL) != 0)
        return;
    struct store_iter it;
    struct store_run r;
    if (store_run_iter_init(&it, rd, NULL) == 0) {
        while (store_run_iter_next(&it, &r, NULL) == 1) {
            size_t i = 0;
            while (i < n && strcmp(tab[i].ns, r.ns) != 0)
                i++;
            if (i == n) {
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 8;
                    struct ns_counts *t = ttai_realloc(tab, ncap * sizeof(*tab));
                    if (t == NULL)
                        break;
                    tab = t;
                    cap = ncap;
                }
                memset(&tab[n], 0, sizeof(tab[n]));
                snprintf(tab[n].ns, sizeof(tab[n].ns), "%s", r.ns);
                n++;
            }
            if (r.status >= 1 && r.status <= STORE_RUN_STATUS_MAX)
                tab[i].by_status[r.status]++;
        }
    }
    store_iter_release(&it);
    store_read_end(rd);
    evbuffer_add_printf(out, "# HELP ttai_workflows Workflow runs by namespace and status.\n"
                             "# TYPE ttai_workflows gauge\n");
    for (size_t i = 0; i < n; i++) {
        char label[STORE_NS_MAX * 2 + 1];
        label_escape(tab[i].ns, label, sizeof(label));
        for (int s = 1; s <= STORE_RUN_STATUS_MAX; s++)
            evbuffer_add_printf(out, "ttai_workflows{namespace=\"%s\",status=\"%s\"} %" PRIu64 "\n",
                                label, store_run_status_text(s), tab[i].by_status[s]);
    }
    ttai_free(tab);
}

static void counter(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name,
                        name, v);
}

/* Per route: the request duration histogram (arrival to the reply handed to
 * libevent; a result long-poll's wait included), and the time jobs waited
 * for a worker and spent on one (the engine call, its durability wait
 * included). Routes that never ran show zeros. */
static void metrics_routes(struct ttai_server *srv, struct evbuffer *out)
{
    const struct srv_route_def *routes;
    size_t n = srv__routes(&routes);
    evbuffer_add_printf(out, "# HELP ttai_http_request_duration_seconds Time from a request's "
                             "arrival to its reply, by route.\n"
                             "# TYPE ttai_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        const struct srv_route_stats *rs = &srv->route_stats[routes[i].route];
        unsigned long long cum = 0;
        for (int b = 0; b < SRV_LATENCY_BUCKETS; b++) {
            cum += atomic_load_explicit(&rs->buckets[b], memory_order_relaxed);
            if (b < SRV_LATENCY_BUCKETS - 1)
                evbuffer_add_printf(out, "ttai_http_request_duration_seconds_bucket{route=\"%s\","
                                         "le=\"%g\"} %llu\n", routes[i].name, srv__latency_bounds[b], cum);
            else
                evbuffer_add_printf(out, "ttai_http_request_duration_seconds_bucket{route=\"%s\","
                                         "le=\"+Inf\"} %llu\n", routes[i].name, cum);
        }
        /* The count is the +Inf bucket read above, so that the two agree
         * even while requests finish during the scrape. */
        evbuffer_add_printf(out, "ttai_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                                 "ttai_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                            routes[i].name, (double)atomic_load(&rs->duration_ns) / 1e9,
                            routes[i].name, cum);
    }
    evbuffer_add_printf(out, "# HELP ttai_http_worker_wait_seconds_total Time requests waited for "
                             "an API worker, by route.\n"
                             "# TYPE ttai_http_worker_wait_seconds_total counter\n");
    for (size_t i = 0; i < n; i++)
        evbuffer_add_printf(out, "ttai_http_worker_wait_seconds_total{route=\"%s\"} %.9f\n",
                            routes[i].name,
                            (double)atomic_load(&srv->route_stats[routes[i].route].wait_ns) / 1e9);
    evbuffer_add_printf(out, "# HELP ttai_http_handler_seconds_total Time requests spent on an API "
                             "worker (the engine call, its durability wait included), by route.\n"
                             "# TYPE ttai_http_handler_seconds_total counter\n");
    for (size_t i = 0; i < n; i++)
        evbuffer_add_printf(out, "ttai_http_handler_seconds_total{route=\"%s\"} %.9f\n",
                            routes[i].name,
                            (double)atomic_load(&srv->route_stats[routes[i].route].handler_ns) / 1e9);
}

/* A histogram of seconds from one of the engine's latency histograms
 * (fixed buckets, ttai_latency_bounds_ns). */
static void histogram_seconds(struct evbuffer *out, const char *name, const char *help,
                              const struct ttai_latency_hist *h)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int b = 0; b < TTAI_LATENCY_BUCKETS - 1; b++) {
        cum += h->buckets[b];
        evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
                            (double)ttai_latency_bounds_ns[b] / 1e9, cum);
    }
    cum += h->buckets[TTAI_LATENCY_BUCKETS - 1];
    evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.9f\n"
                             "%s_count %" PRIu64 "\n",
                        name, cum, name, (double)h->sum_ns / 1e9, name, cum);
}

/* Batches per group commit: buckets of at most 1, 2, 4, ... batches. */
static void histogram_groups(struct evbuffer *out, const struct ttai_engine_stats *st)
{
    static const char name[] = "ttai_commit_group_batches";
    evbuffer_add_printf(out, "# HELP %s Batches per group commit (refused ones included).\n"
                             "# TYPE %s histogram\n", name, name);
    uint64_t cum = 0;
    for (int b = 0; b < TTAI_GROUP_BUCKETS - 1; b++) {
        cum += st->commit_group_batches[b];
        evbuffer_add_printf(out, "%s_bucket{le=\"%llu\"} %" PRIu64 "\n", name, 1ULL << b, cum);
    }
    cum += st->commit_group_batches[TTAI_GROUP_BUCKETS - 1];
    evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %" PRIu64 "\n"
                             "%s_count %" PRIu64 "\n",
                        name, cum, name, st->batches + st->batches_refused, name, cum);
}

/* The engine's distributions and attempt counters (ttai_engine_stats). */
static void metrics_engine(struct evbuffer *out, const struct ttai_engine_stats *st)
{
    counter(out, "ttai_workflow_tasks_fused_total",
            "Workflow tasks committed in one batch with the input that triggered them.",
            st->tasks_fused);
    histogram_seconds(out, "ttai_workflow_task_duration_seconds",
                      "Workflow task latency: from the run becoming ready to the task's batch "
                      "durable.", &st->task_latency);
    histogram_groups(out, st);
    histogram_seconds(out, "ttai_commit_duration_seconds",
                      "Group commit duration (one LMDB commit, its syncs included).",
                      &st->commit_latency);
    counter(out, "ttai_activity_attempts_total", "Activity attempts ended.",
            st->activity_attempts);
    counter(out, "ttai_activity_failures_total", "Activity attempts failed by the activity.",
            st->activity_failures);
    counter(out, "ttai_activity_timeouts_total", "Activity attempts ended by a timeout.",
            st->activity_timeouts);
    counter(out, "ttai_timers_fired_total", "Workflow timers fired (TimerFired durable).",
            st->timers_fired);
    histogram_seconds(out, "ttai_timer_lateness_seconds",
                      "From a workflow timer's due time to its TimerFired durable.",
                      &st->timer_lateness);
}

void srv__metrics(struct ttai_server *srv, struct srv_job *job)
{
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        job->status = 503;
        job->reply = srv__error_body("unavailable", "out of memory");
        return;
    }
    metrics_workflows(srv, out);
    struct ttai_engine_stats st;
    ttai_engine_stats_get(srv->eng, &st);
    struct store_counters sc;
    store_counters_get(srv->store, &sc);
    counter(out, "ttai_workflow_tasks_total", "Workflow tasks run.", st.tasks);
    counter(out, "ttai_replays_total", "Runs rebuilt from history.", st.replays);
    counter(out, "ttai_replayed_events_total", "Events replayed.", st.replayed_events);
    counter(out, "ttai_cache_hits_total", "Workflow tasks on a cached run.", st.cache_hits);
    counter(out, "ttai_cache_evictions_total", "Runs evicted from the cache.", st.evictions);
    evbuffer_add_printf(out, "# HELP ttai_cached_runs Runs in memory.\n# TYPE ttai_cached_runs gauge\n"
                             "ttai_cached_runs %zu\n", st.cached);
    counter(out, "ttai_polls_total", "Engine polls that did work.", st.polls);
    counter(out, "ttai_commits_total", "Group commits (one sync each).", st.commits);
    counter(out, "ttai_commit_batches_total", "Batches made durable.", st.batches);
    counter(out, "ttai_commit_batches_refused_total", "Batches refused by a condition.",
            sc.batches_refused);
    counter(out, "ttai_events_total", "History events appended.", sc.events);
    evbuffer_add_printf(out, "# HELP ttai_commit_seconds_total Time in commits, sync included.\n"
                             "# TYPE ttai_commit_seconds_total counter\n"
                             "ttai_commit_seconds_total %.6f\n", (double)st.commit_ns_total / 1e9);
    counter(out, "ttai_store_map_grows_total", "Times the LMDB map was grown.", sc.map_grows);
    counter(out, "ttai_checkpoints_total",
            "Checkpoints: data.mdb synced and recorded in the write-ahead log.", sc.checkpoints);
    evbuffer_add_printf(out, "# HELP ttai_checkpoint_seconds_total Time in checkpoints (off the "
                             "commit path).\n# TYPE ttai_checkpoint_seconds_total counter\n"
                             "ttai_checkpoint_seconds_total %.6f\n",
                        (double)sc.checkpoint_ns_total / 1e9);
    counter(out, "ttai_wal_bytes_total", "Bytes appended to the write-ahead log.", sc.wal_bytes);
    counter(out, "ttai_recent_merges_total",
            "Merges of the recent-events table into the per-run history.", sc.recent_merges);
    evbuffer_add_printf(out, "# HELP ttai_wal_replayed_records Write-ahead log records re-applied "
                             "when the store opened.\n# TYPE ttai_wal_replayed_records gauge\n"
                             "ttai_wal_replayed_records %" PRIu64 "\n", sc.wal_records_replayed);
    evbuffer_add_printf(out, "# HELP ttai_commit_group_batches_max Most batches one group commit "
                             "has held.\n# TYPE ttai_commit_group_batches_max gauge\n"
                             "ttai_commit_group_batches_max %" PRIu64 "\n", sc.group_batches_max);
    evbuffer_add_printf(out, "# HELP ttai_store_map_bytes Size of the LMDB map.\n"
                             "# TYPE ttai_store_map_bytes gauge\nttai_store_map_bytes %zu\n",
                        sc.map_bytes);
    metrics_engine(out, &st);
    size_t max = 65536;
    int64_t *lat = ttai_malloc(max * sizeof(*lat));
    size_t got = lat ? ttai_engine_dispatch_latencies(srv->eng, lat, max) : 0;
    evbuffer_add_printf(out, "# HELP ttai_activity_dispatch_seconds Activity dispatch latency "
                             "(durable schedule to a worker starting), recent attempts.\n"
                             "# TYPE ttai_activity_dispatch_seconds summary\n");
    double sum = 0;
    if (got > 0) {
        qsort(lat, got, sizeof(*lat), cmp_i64);
        static const double qs[] = {0.5, 0.9, 0.99};
        for (int i = 0; i < 3; i++) {
            size_t k = (size_t)(qs[i] * (double)(got - 1));
            evbuffer_add_printf(out, "ttai_activity_dispatch_seconds{quantile=\"%g\"} %.9f\n", qs[i],
                                (double)lat[k] / 1e9);
        }
        for (size_t i = 0; i < got; i++)
            sum += (double)lat[i] / 1e9;
    }
    evbuffer_add_printf(out, "ttai_activity_dispatch_seconds_sum %.9f\n"
                             "ttai_activity_dispatch_seconds_count %zu\n", sum, got);
    ttai_free(lat);
    evbuffer_add_printf(out, "# HELP ttai_http_requests_total HTTP requests answered by status class.\n"
                             "# TYPE ttai_http_requests_total counter\n");
    for (int c = 1; c <= 5; c++)
        evbuffer_add_printf(out, "ttai_http_requests_total{class=\"%dxx\"} %llu\n", c,
                            (unsigned long long)atomic_load(&srv->requests[c]));
    metrics_routes(srv, out);
    counter(out, "ttai_runs_closed_total", "Runs closed since start.", atomic_load(&srv->closes));
    evbuffer_add_printf(out, "# HELP ttai_http_long_polls_parked Result long-polls waiting for "
                             "their workflow to close.\n# TYPE ttai_http_long_polls_parked gauge\n"
                             "ttai_http_long_polls_parked %llu\n",
                        (unsigned long long)atomic_load(&srv->parked));
    evbuffer_add_printf(out, "# HELP ttai_http_streams_open Server-sent event streams open, by "
                             "kind.\n# TYPE ttai_http_streams_open gauge\n"
                             "ttai_http_streams_open{kind=\"history\"} %llu\n"
                             "ttai_http_streams_open{kind=\"alerts\"} %llu\n",
                        (unsigned long long)atomic_load(&srv->history_streams),
                        (unsigned long long)srv__alert_streams_open(srv));
    size_t len = evbuffer_get_length(out);
    job->reply = ttai_malloc(len + 1);
    if (job->reply != NULL) {
        evbuffer_remove(out, job->reply, len);
        job->reply[len] = '\0';
        job->status = 200;
        job->text = true;
    } else {
        job->status = 503;
        job->reply = srv__error_body("unavailable", "out of memory");
    }
    evbuffer_free(out);
}
