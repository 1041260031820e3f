/* bench_e2e.c: `ttai-bench e2e`: the engine through ttaid's HTTP API, as a
 * client sees it.
 *
 *   W1  N `hello` workflows (start, one activity, complete), C in flight,
 *       twice: each workflow one request (POST ?wait=result, answered once
 *       the close is durable), and (after W3) each a start (POST, answered
 *       once WorkflowStarted is durable) followed by a result long-poll
 *       (GET ?wait=1): workflows/s, start-to-result latency p50/p99.
 *   W2  100 `bench_monitor` workflows of 20 iterations each (one activity,
 *       then a 1 ms timer), all in flight, five times over: iterations/s of
 *       the median run.
 *   W3  500 sequential round trips on one `counter`: a signal `add`, then
 *       queries `value` until the total shows it: p50/p99.
 *
 * One thread drives every request (bench_http.c: epoll, one kept-alive
 * connection per flow in flight, a send and a recv per request). The client's
 * CPU time is reported next to the daemon's so that a reader can see it is
 * not the bottleneck. Without --address the benchmark starts its own ttaid
 * (the binary next to ttai-bench) on a fresh directory on a real disk and a
 * free port, and stops it afterwards. Around each workload it reads the
 * daemon's /metrics, and reports the differences per workflow (commits,
 * group sizes, time on the API workers).
 */
#include "bench_e2e.h"
#include "bench_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "bench_http.h"
#include "bench_parked.h"
#include "listen_addr.h"

#define W2_WORKFLOWS 100
#define W2_ITERATIONS 20
#define W2_SLEEP_MS 1
#define W2_RUNS 5                     /* W2 is measured this many times; the median counts */
#define W3_ROUNDS 500
#define W3_ROUND_LIMIT_NS (10 * 1000000000LL) /* a signal never seen: give up */
#define LONG_POLL_MS 60000
#define TTAI_STR_(x) #x
#define TTAI_STR(x) TTAI_STR_(x)
#define DAEMON_START_MS 20000
#define DAEMON_STOP_MS 20000
#define NAMESPACE "bench"

struct e2e_opts {
    long n;                           /* W1 workflows */
    long concurrency;                 /* W1 workflows in flight */
    const char *address;              /* a running daemon, or NULL */
    const char *ttaid;                /* NULL: next to ttai-bench */
    const char *data;                 /* parent of the temporary directory */
    const char *token;
    long parked;                      /* result long-polls parked throughout (--parked) */
    bool json;
};

/* ---- HTTP ---------------------------------------------------------------------- */

/* One request, waited for (nothing else may be in flight). Returns the
 * HTTP status, or -1 when the daemon could not be reached. */
static long call_sync(struct http_client *cl, struct http_call *c, const char *path,
                      const char *body)
{
    c->done = NULL;
    http_call_issue(c, path, body);
    http_client_run(cl);
    return http_client_failed(cl) ? -1 : c->status;
}

/* ---- The daemon ---------------------------------------------------------------- */

struct daemon {
    pid_t pid;                        /* 0: --address, not ours */
    char dir[PATH_MAX];               /* temporary directory (data, log) */
    char log[PATH_MAX + 16];
    int port;
    bool ram_fs;                      /* --data on tmpfs: the figures leave the sync out */
};

/* ttaid next to this program. */
static bool ttaid_path(char *out, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return false;
    *slash = '\0';
    int n_out = snprintf(out, size, "%s/ttaid", self);
    return n_out > 0 && (size_t)n_out < size && access(out, X_OK) == 0;
}

/* The port from ttaid's "listening on 127.0.0.1:PORT" log line, or 0. */
static int log_port(const char *log)
{
    FILE *f = fopen(log, "r");
    if (f == NULL)
        return 0;
    char line[2048];
    int port = 0;
    while (port == 0 && fgets(line, sizeof(line), f) != NULL) {
        const char *at = strstr(line, "listening on 127.0.0.1:");
        if (at != NULL)
            port = atoi(at + strlen("listening on 127.0.0.1:"));
    }
    fclose(f);
    return port;
}

static void log_tail(const char *log)
{
    FILE *f = fopen(log, "r");
    if (f == NULL)
        return;
    char line[2048];
    fprintf(stderr, "ttaid's log (%s):\n", log);
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fclose(f);
}

static bool daemon_start(struct daemon *d, const char *ttaid, const char *parent)
{
    if (!bench_dir_make(parent, "ttai-bench-e2e", d->dir, sizeof(d->dir))) {
        fprintf(stderr, "ttai-bench e2e: cannot make a directory on a real disk (--data DIR)\n");
        return false;
    }
    d->ram_fs = bench_dir_on_ram_fs(d->dir);
    char data[PATH_MAX + 16];
    snprintf(data, sizeof(data), "%s/data", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/ttaid.log", d->dir);
    pid_t pid = bench_dir_fork();
    if (pid < 0) {
        fprintf(stderr, "ttai-bench e2e: fork: %s\n", strerror(errno));
        return false;
    }
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_RDWR);
        if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0 || dup2(null, 0) < 0)
            _exit(127);
        execl(ttaid, "ttaid", "--data", data, "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    for (int waited = 0; waited < DAEMON_START_MS; waited += 10) {
        if ((d->port = log_port(d->log)) != 0)
            return true;
        /* Looked at without reaping (WNOWAIT): reaped only once taken back
         * from the signal thread, which may be stopping it. */
        siginfo_t info = {0};
        int status;
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid &&
            bench_dir_child_claim(pid) && waitpid(pid, &status, 0) == pid) {
            d->pid = 0;
            fprintf(stderr, "ttai-bench e2e: %s exited at start\n", ttaid);
            log_tail(d->log);
            return false;
        }
        usleep(10000);
    }
    fprintf(stderr, "ttai-bench e2e: %s did not start listening\n", ttaid);
    return false;
}

/* Stops our daemon (SIGTERM: a graceful stop) and removes its directory.
 * Returns false when it did not stop cleanly. */
static bool daemon_stop(struct daemon *d)
{
    bool ok = true;
    if (d->pid > 0 && !bench_dir_child_claim(d->pid))
        d->pid = 0; /* a signal is stopping it */
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        int status = 0, waited = 0;
        while (waitpid(d->pid, &status, WNOHANG) == 0) {
            if (waited >= DAEMON_STOP_MS) {
                kill(d->pid, SIGKILL);
                waitpid(d->pid, &status, 0);
                break;
            }
            usleep(10000);
            waited += 10;
        }
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok) {
            fprintf(stderr, "ttai-bench e2e: ttaid did not stop cleanly (status %d)\n", status);
            log_tail(d->log);
        }
        d->pid = 0;
    }
    if (d->dir[0] != '\0')
        bench_dir_remove(d->dir);
    return ok;
}

/* CPU seconds (user + system) of a process: /proc/PID/stat fields 14, 15. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long utime = 0, stime = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                            &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- Metrics snapshots ----------------------------------------------------------- */

/* What a workload cost, from the daemon's /metrics and CPU times. */
struct snapshot {
    double commits, batches, commit_s, events, tasks, cache_hits, replays;
    double route_count[3], route_sum[3], route_wait[3], route_handler[3]; /* start, signal, query */
    double server_cpu, client_cpu;
    bool ok;
};

static const char *const snap_routes[3] = {"start", "signal", "query"};

/* The value of one series ("name" or "name{labels}") in a metrics page. */
static double metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return 0;
}

static void snapshot_take(struct http_client *cl, struct http_call *c, const struct daemon *d,
                          struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->client_cpu = self_cpu_s();
    s->server_cpu = d->pid > 0 ? proc_cpu_s(d->pid) : 0;
    if (call_sync(cl, c, "/metrics", NULL) != 200 || c->resp == NULL)
        return; /* a token without metrics rights: the figures stay without it */
    const char *t = c->resp;
    s->commits = metric(t, "ttai_commits_total");
    s->batches = metric(t, "ttai_commit_batches_total");
    s->commit_s = metric(t, "ttai_commit_seconds_total");
    s->events = metric(t, "ttai_events_total");
    s->tasks = metric(t, "ttai_workflow_tasks_total");
    s->cache_hits = metric(t, "ttai_cache_hits_total");
    s->replays = metric(t, "ttai_replays_total");
    for (int i = 0; i < 3; i++) {
        char series[160];
        snprintf(series, sizeof(series), "ttai_http_request_duration_seconds_count{route=\"%s\"}",
                 snap_routes[i]);
        s->route_count[i] = metric(t, series);
        snprintf(series, sizeof(series), "ttai_http_request_duration_seconds_sum{route=\"%s\"}",
                 snap_routes[i]);
        s->route_sum[i] = metric(t, series);
        snprintf(series, sizeof(series), "ttai_http_worker_wait_seconds_total{route=\"%s\"}",
                 snap_routes[i]);
        s->route_wait[i] = metric(t, series);
        snprintf(series, sizeof(series), "ttai_http_handler_seconds_total{route=\"%s\"}",
                 snap_routes[i]);
        s->route_handler[i] = metric(t, series);
    }
    s->ok = true;
}

/* Per-unit costs between two snapshots, as JSON members of o. */
static void costs_json(json_t *o, const struct snapshot *a, const struct snapshot *b, double units,
                       const char *unit, bool ours)
{
    char key[96];
    if (ours) {
        snprintf(key, sizeof(key), "server_cpu_us_per_%s", unit);
        json_object_set_new(o, key, json_real((b->server_cpu - a->server_cpu) * 1e6 / units));
    }
    snprintf(key, sizeof(key), "client_cpu_us_per_%s", unit);
    json_object_set_new(o, key, json_real((b->client_cpu - a->client_cpu) * 1e6 / units));
    if (!a->ok || !b->ok)
        return;
    double commits = b->commits - a->commits;
    snprintf(key, sizeof(key), "commits_per_%s", unit);
    json_object_set_new(o, key, json_real(commits / units));
    snprintf(key, sizeof(key), "tasks_per_%s", unit);
    json_object_set_new(o, key, json_real((b->tasks - a->tasks) / units));
    snprintf(key, sizeof(key), "events_per_%s", unit);
    json_object_set_new(o, key, json_real((b->events - a->events) / units));
    json_object_set_new(o, "batches_per_commit",
                        json_real(commits > 0 ? (b->batches - a->batches) / commits : 0));
    json_object_set_new(o, "commit_ms", json_real(commits > 0 ? (b->commit_s - a->commit_s) * 1e3 / commits : 0));
    json_object_set_new(o, "replays", json_real(b->replays - a->replays));
    for (int i = 0; i < 3; i++) {
        double count = b->route_count[i] - a->route_count[i];
        if (count <= 0)
            continue;
        snprintf(key, sizeof(key), "%s_server_ms", snap_routes[i]);
        json_object_set_new(o, key, json_real((b->route_sum[i] - a->route_sum[i]) * 1e3 / count));
        snprintf(key, sizeof(key), "%s_worker_wait_ms", snap_routes[i]);
        json_object_set_new(o, key, json_real((b->route_wait[i] - a->route_wait[i]) * 1e3 / count));
        snprintf(key, sizeof(key), "%s_handler_ms", snap_routes[i]);
        json_object_set_new(o, key,
                            json_real((b->route_handler[i] - a->route_handler[i]) * 1e3 / count));
    }
}

/* ---- Latencies ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) in ms; sorts v. */
static double quantile_ms(int64_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_i64);
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return (double)v[(rank > n ? n : rank) - 1] / 1e6;
}

/* ---- W1, W2: workflows started and waited for ------------------------------------- */

struct flows {
    const char *type;
    const char *input;                /* JSON */
    char id_prefix[96];
    long total, issued, finished;
    int64_t t_begin, t_last;
    int64_t *latency_ns;              /* start sent to result received */
    int64_t *start_ns;                /* start sent to its answer */
    double result_sum;                /* numeric results added up (W2: iterations) */
    bool execute;                     /* one request: a start with wait=result */
    bool type_missing;
    char missing[400];
};

struct flow_slot {
    struct http_call call;
    struct flows *f;
    long index;
    int64_t t0;
    bool awaiting_result;
};

static void flow_path(const struct flow_slot *s, char *out, size_t size, const char *suffix)
{
    snprintf(out, size, "/api/v1/namespaces/" NAMESPACE "/workflows/%s-%ld%s", s->f->id_prefix,
             s->index, suffix);
}

static void flow_next(struct http_client *cl, struct flow_slot *s)
{
    struct flows *f = s->f;
    if (f->issued >= f->total || f->type_missing || http_client_failed(cl))
        return;
    s->index = f->issued++;
    s->awaiting_result = false;
    s->t0 = ttai_mono_ns();
    char body[512];
    snprintf(body, sizeof(body), "{\"type\":\"%s\",\"id\":\"%s-%ld\",\"input\":%s}", f->type,
             f->id_prefix, s->index, f->input);
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/namespaces/" NAMESPACE "/workflows%s",
             f->execute ? "?wait=result&timeout_ms=" TTAI_STR(LONG_POLL_MS) : "");
    http_call_issue(&s->call, path, body);
}

static void flow_wait_result(struct flow_slot *s)
{
    char path[300];
    char suffix[64];
    snprintf(suffix, sizeof(suffix), "/result?wait=1&timeout_ms=%d", LONG_POLL_MS);
    flow_path(s, path, sizeof(path), suffix);
    s->awaiting_result = true;
    http_call_issue(&s->call, path, NULL);
}

static void flow_done(struct http_client *cl, struct http_call *c)
{
    struct flow_slot *s = c->owner;
    struct flows *f = s->f;
    int64_t now = ttai_mono_ns();
    if (!s->awaiting_result && f->execute && (c->status == 200 || c->status == 202)) {
        s->awaiting_result = true; /* its answer is the result's */
    } else if (!s->awaiting_result) {
        if (c->status == 201) {
            f->start_ns[s->index] = now - s->t0;
            flow_wait_result(s);
        } else if (c->status == 404) {
            f->type_missing = true; /* a start answers 404 only for an unknown type */
            snprintf(f->missing, sizeof(f->missing), "%s", c->resp ? c->resp : "");
        } else {
            http_client_fail(cl, "start of a '%s' workflow: HTTP %ld %s", f->type, c->status,
                        c->resp ? c->resp : "");
        }
        return;
    }
    if (c->status == 202) { /* the long-poll timed out: ask again */
        flow_wait_result(s);
        return;
    }
    json_t *o = c->status == 200 && c->resp ? json_loads(c->resp, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(o, "status"));
    if (status == NULL || strcmp(status, "completed") != 0) {
        http_client_fail(cl, "result of '%s-%ld': HTTP %ld %s", f->id_prefix, s->index, c->status,
                    c->resp ? c->resp : "");
        json_decref(o);
        return;
    }
    json_t *result = json_object_get(o, "result");
    if (json_is_number(result))
        f->result_sum += json_number_value(result);
    json_decref(o);
    f->latency_ns[s->index] = now - s->t0;
    f->finished++;
    f->t_last = now;
    flow_next(cl, s);
}

/* Runs f with `concurrency` workflows in flight; false when a request failed. */
static bool flows_run(struct http_client *cl, struct flows *f, long concurrency)
{
    f->latency_ns = ttai_calloc((size_t)f->total, sizeof(int64_t));
    f->start_ns = ttai_calloc((size_t)f->total, sizeof(int64_t));
    long slots = concurrency < f->total ? concurrency : f->total;
    struct flow_slot *s = ttai_calloc((size_t)slots, sizeof(*s));
    if (f->latency_ns == NULL || f->start_ns == NULL || s == NULL) {
        http_client_fail(cl, "out of memory");
        ttai_free(s);
        return false;
    }
    long ready = 0;
    for (; ready < slots; ready++) {
        http_call_init(cl, &s[ready].call, &s[ready]);
        s[ready].call.done = flow_done;
        s[ready].f = f;
    }
    f->t_begin = ttai_mono_ns();
    for (long i = 0; i < ready; i++)
        flow_next(cl, &s[i]);
    http_client_run(cl);
    for (long i = 0; i < ready; i++)
        http_call_release(&s[i].call);
    ttai_free(s);
    return !http_client_failed(cl);
}

static void flows_release(struct flows *f)
{
    ttai_free(f->latency_ns);
    ttai_free(f->start_ns);
    f->latency_ns = f->start_ns = NULL;
}

/* ---- W3: signal, then query until the signal shows ----------------------------------- */

struct w3_result {
    int64_t round_ns[W3_ROUNDS];
    int64_t signal_ns[W3_ROUNDS];
    long queries;
};

static bool w3_run(struct http_client *cl, struct http_call *c, const char *tag, struct w3_result *r)
{
    char path[300], id[128];
    snprintf(id, sizeof(id), "%s-w3", tag);
    char body[256];
    snprintf(body, sizeof(body), "{\"type\":\"counter\",\"id\":\"%s\",\"input\":{}}", id);
    long st = call_sync(cl, c, "/api/v1/namespaces/" NAMESPACE "/workflows", body);
    if (st != 201) {
        http_client_fail(cl, "start of the counter: HTTP %ld %s", st, c->resp ? c->resp : "");
        return false;
    }
    char signal_path[300], query_path[300];
    snprintf(signal_path, sizeof(signal_path), "/api/v1/namespaces/" NAMESPACE "/workflows/%s/signals/add", id);
    snprintf(query_path, sizeof(query_path), "/api/v1/namespaces/" NAMESPACE "/workflows/%s/queries/value", id);
    for (long round = 1; round <= W3_ROUNDS; round++) {
        int64_t t0 = ttai_mono_ns();
        st = call_sync(cl, c, signal_path, "{\"input\":1}");
        if (st != 200) {
            http_client_fail(cl, "signal: HTTP %ld %s", st, c->resp ? c->resp : "");
            return false;
        }
        r->signal_ns[round - 1] = ttai_mono_ns() - t0;
        for (;;) {
            st = call_sync(cl, c, query_path, "{}");
            r->queries++;
            json_t *o = st == 200 && c->resp ? json_loads(c->resp, 0, NULL) : NULL;
            json_t *v = json_object_get(o, "result");
            bool seen = json_is_integer(v) && json_integer_value(v) >= round;
            json_decref(o);
            if (st != 200 || v == NULL) {
                http_client_fail(cl, "query: HTTP %ld %s", st, c->resp ? c->resp : "");
                return false;
            }
            if (seen)
                break;
            if (ttai_mono_ns() - t0 > W3_ROUND_LIMIT_NS) {
                http_client_fail(cl, "signal %ld never showed in the counter's value", round);
                return false;
            }
        }
        r->round_ns[round - 1] = ttai_mono_ns() - t0;
    }
    snprintf(path, sizeof(path), "/api/v1/namespaces/" NAMESPACE "/workflows/%s/signals/stop", id);
    (void)call_sync(cl, c, path, "{}"); /* the counter's end is not measured */
    return !http_client_failed(cl);
}

/* ---- Options ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ttai-bench e2e [--n N] [--concurrency C] [--address HOST:PORT] [--token T]\n"
            "                      [--ttaid PATH] [--data DIR] [--parked N] [--output table|json]\n"
            "\n"
            "Measures ttaid through its HTTP API:\n"
            "  W1  N hello workflows (start, one activity, complete), C in flight, each\n"
            "      one request (a start with wait=result), then again each a start and a\n"
            "      result long-poll: workflows/s and start-to-result latency p50/p99;\n"
            "  W2  %d bench_monitor workflows x %d iterations (an activity, then a %d ms\n"
            "      timer), %d times over: iterations/s of the median run;\n"
            "  W3  %d sequential signal-then-query round trips on one counter, until the\n"
            "      signal shows in the query: p50/p99.\n"
            "\n"
            "  --n N              W1 workflows (default 20000)\n"
            "  --concurrency C    W1 workflows in flight (default 64)\n"
            "  --address H:P      a running ttaid (default: start one on a temporary\n"
            "                     directory and a free port, and stop it afterwards)\n"
            "  --token T          bearer token for --address (namespace '" NAMESPACE "')\n"
            "  --ttaid PATH       the daemon to start (default: ttaid next to ttai-bench)\n"
            "  --data DIR         where to make the temporary directory (a real disk)\n"
            "  --parked N         first start N counters and leave a result long-poll\n"
            "                     waiting on each (one connection each) through every\n"
            "                     workload; at the end stop them and check that each\n"
            "                     long-poll was answered by its workflow's close\n"
            "  --output FMT       table (default) or json\n",
            W2_WORKFLOWS, W2_ITERATIONS, W2_SLEEP_MS, W2_RUNS, W3_ROUNDS);
}

static bool parse_long(const char *s, long min, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < min)
        return false;
    *out = v;
    return true;
}

static int parse(int argc, char **argv, struct e2e_opts *o)
{
    static const struct option longopts[] = {
        {"n", required_argument, NULL, 'n'},       {"concurrency", required_argument, NULL, 'c'},
        {"address", required_argument, NULL, 'a'}, {"token", required_argument, NULL, 't'},
        {"ttaid", required_argument, NULL, 'T'},   {"data", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},  {"help", no_argument, NULL, 'h'},
        {"parked", required_argument, NULL, 'p'},  {NULL, 0, NULL, 0},
    };
    o->n = 20000;
    o->concurrency = 64;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'n': ok = parse_long(optarg, 1, &o->n); break;
        case 'c': ok = parse_long(optarg, 1, &o->concurrency); break;
        case 'a': o->address = optarg; break;
        case 't': o->token = optarg; break;
        case 'T': o->ttaid = optarg; break;
        case 'd': o->data = optarg; break;
        case 'p': ok = parse_long(optarg, 0, &o->parked); break;
        case 'o':
            ok = strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0;
            o->json = strcmp(optarg, "json") == 0;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            const char *name = "output";
            for (size_t i = 0; longopts[i].name != NULL; i++)
                if (longopts[i].val == c)
                    name = longopts[i].name;
            fprintf(stderr, "ttai-bench e2e: bad value '%s' for --%s (see --help)\n", optarg, name);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ttai-bench e2e: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (o->address != NULL && strchr(o->address, ':') == NULL) {
        fprintf(stderr, "ttai-bench e2e: --address wants HOST:PORT, not '%s'\n", o->address);
        return 2;
    }
    return 0;
}

/* Room for --parked's connections, and for the daemon's when it is
 * started here (it inherits the limit). */
static bool files_for_parked(long parked)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)BENCH_PARKED_FILES(parked);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
            fprintf(stderr, "ttai-bench e2e: --parked %ld needs %ld open files, and the hard "
                            "limit is %llu (ulimit -Hn)\n",
                    parked, (long)want, (unsigned long long)rl.rlim_max);
            return false;
        }
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "ttai-bench e2e: cannot raise the open-file limit to %ld: %s\n",
                    (long)want, strerror(errno));
            return false;
        }
    }
    return true;
}

/* ---- Report -------------------------------------------------------------------------- */

struct report {
    json_t *w1, *w1_two, *w2, *w3;
};

static void print_table(const struct report *r, const struct e2e_opts *o, const struct daemon *d,
                        const char *address)
{
    json_t *w1 = r->w1, *w1t = r->w1_two, *w2 = r->w2, *w3 = r->w3;
#define NUM(obj, key) json_number_value(json_object_get((obj), (key)))
#define HAS(obj, key) (json_object_get((obj), (key)) != NULL)
    printf("ttai-bench e2e (ttaid at %s%s%s, %s)\n", address,
           d->dir[0] != '\0' ? ", started here on " : "", d->dir,
           d->ram_fs ? "on a RAM file system: syncs cost nothing" : "fsync on every commit");
    if (o->parked > 0)
        printf("with %ld result long-polls parked on other workflows throughout\n", o->parked);
    printf("\n");
    char label[96];
    printf("%-46s %12s %10s %10s\n", "workload", "rate", "p50", "p99");
    snprintf(label, sizeof(label), "W1 hello workflows (%ld, %ld in flight)", o->n, o->concurrency);
    printf("%-46s %9.0f /s %7.2f ms %7.2f ms\n", label, NUM(w1, "per_s"), NUM(w1, "p50_ms"),
           NUM(w1, "p99_ms"));
    printf("%-46s %9.0f /s %7.2f ms %7.2f ms\n", "   the same, start then result (2 requests)",
           NUM(w1t, "per_s"), NUM(w1t, "p50_ms"), NUM(w1t, "p99_ms"));
    snprintf(label, sizeof(label), "W2 monitor iterations (%d x %d, median of %d)", W2_WORKFLOWS,
             W2_ITERATIONS, W2_RUNS);
    if (json_is_number(json_object_get(w2, "iterations_per_s"))) {
        printf("%-46s %9.0f /s  (runs:", label, NUM(w2, "iterations_per_s"));
        json_t *runs = json_object_get(w2, "runs_iterations_per_s");
        for (size_t i = 0; i < json_array_size(runs); i++)
            printf(" %.0f", json_number_value(json_array_get(runs, i)));
        printf(")\n");
    }
    else
        printf("%-46s not run: %s\n", label, json_string_value(json_object_get(w2, "error")));
    snprintf(label, sizeof(label), "W3 signal-then-query round trips (%d)", W3_ROUNDS);
    printf("%-46s %12s %7.2f ms %7.2f ms\n\n", label, "", NUM(w3, "p50_ms"), NUM(w3, "p99_ms"));
    printf("W1 per workflow (one request):");
    if (HAS(w1, "commits_per_workflow"))
        printf(" %.3f commits (%.1f batches, %.2f ms each), %.1f tasks, %.1f events",
               NUM(w1, "commits_per_workflow"), NUM(w1, "batches_per_commit"), NUM(w1, "commit_ms"),
               NUM(w1, "tasks_per_workflow"), NUM(w1, "events_per_workflow"));
    printf("\n");
    if (HAS(w1, "server_cpu_us_per_workflow"))
        printf("   CPU: %.0f us in ttaid, %.0f us in this client\n", NUM(w1, "server_cpu_us_per_workflow"),
               NUM(w1, "client_cpu_us_per_workflow"));
    printf("W1 per workflow (two requests): start answered p50 %.2f ms", NUM(w1t, "start_p50_ms"));
    if (HAS(w1t, "start_handler_ms"))
        printf(" (in the daemon %.2f ms: %.2f waiting for an API worker, %.2f on it)",
               NUM(w1t, "start_server_ms"), NUM(w1t, "start_worker_wait_ms"),
               NUM(w1t, "start_handler_ms"));
    printf("\n");
    if (HAS(w1t, "server_cpu_us_per_workflow"))
        printf("   CPU: %.0f us in ttaid, %.0f us in this client\n",
               NUM(w1t, "server_cpu_us_per_workflow"), NUM(w1t, "client_cpu_us_per_workflow"));
    printf("W3 per round trip: signal answered p50 %.2f ms, %.2f queries", NUM(w3, "signal_p50_ms"),
           NUM(w3, "queries_per_round"));
    if (HAS(w3, "commits_per_round"))
        printf(", %.2f commits (%.2f ms each)", NUM(w3, "commits_per_round"), NUM(w3, "commit_ms"));
    printf("\n");
    if (HAS(w3, "server_cpu_us_per_round"))
        printf("   CPU: %.0f us in ttaid, %.0f us in this client\n", NUM(w3, "server_cpu_us_per_round"),
               NUM(w3, "client_cpu_us_per_round"));
#undef HAS
#undef NUM
}

/* ---- Main ---------------------------------------------------------------------------- */

/* W1 in one of its two forms (execute: one request per workflow); fills
 * out. False when a request failed. */
static bool w1_run(struct http_client *cl, struct http_call *side, const struct daemon *d,
                   const struct e2e_opts *o, const char *tag, bool execute, json_t *out)
{
    struct snapshot s0, s1;
    struct flows w1 = {.type = "hello", .input = "\"bench\"", .total = o->n, .execute = execute};
    snprintf(w1.id_prefix, sizeof(w1.id_prefix), "%s-w1%s", tag, execute ? "x" : "");
    snapshot_take(cl, side, d, &s0);
    bool ok = flows_run(cl, &w1, o->concurrency);
    if (ok && w1.type_missing) {
        http_client_fail(cl, "ttaid has no 'hello' workflow: %s", w1.missing);
        ok = false;
    }
    if (ok) {
        snapshot_take(cl, side, d, &s1);
        double secs = (double)(w1.t_last - w1.t_begin) / 1e9;
        json_object_set_new(out, "per_s", json_real((double)w1.finished / secs));
        json_object_set_new(out, "p50_ms", json_real(quantile_ms(w1.latency_ns, (size_t)w1.total, 0.50)));
        json_object_set_new(out, "p99_ms", json_real(quantile_ms(w1.latency_ns, (size_t)w1.total, 0.99)));
        json_object_set_new(out, "requests_per_workflow", json_integer(execute ? 1 : 2));
        json_object_set_new(out, "workflows", json_integer(w1.finished));
        json_object_set_new(out, "concurrency", json_integer(o->concurrency));
        json_object_set_new(out, "seconds", json_real(secs));
        if (!execute) {
            json_object_set_new(out, "start_p50_ms", json_real(quantile_ms(w1.start_ns, (size_t)w1.total, 0.50)));
            json_object_set_new(out, "start_p99_ms", json_real(quantile_ms(w1.start_ns, (size_t)w1.total, 0.99)));
        }
        costs_json(out, &s0, &s1, (double)w1.finished, "workflow", d->pid > 0);
    }
    flows_release(&w1);
    return ok;
}

int bench_e2e_main(int argc, char **argv)
{
    struct e2e_opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (o.parked > 0 && !files_for_parked(o.parked))
        return 2;
    char ttaid[PATH_MAX];
    if (o.address == NULL) {
        if (o.ttaid != NULL)
            snprintf(ttaid, sizeof(ttaid), "%s", o.ttaid);
        else if (!ttaid_path(ttaid, sizeof(ttaid))) {
            fprintf(stderr, "ttai-bench e2e: no ttaid next to ttai-bench; build it, or pass --ttaid "
                            "PATH or --address HOST:PORT\n");
            return 2;
        }
    }
    struct daemon d = {0};
    char address[300];
    if (o.address == NULL) {
        if (!daemon_start(&d, ttaid, o.data)) {
            daemon_stop(&d);
            return 1;
        }
        snprintf(address, sizeof(address), "127.0.0.1:%d", d.port);
    } else {
        snprintf(address, sizeof(address), "%s", o.address);
    }
    char host[256];
    int port;
    struct http_client *cl = NULL;
    if (!listen_addr_split(address, host, sizeof(host), &port) || port == 0) {
        fprintf(stderr, "ttai-bench e2e: --address wants HOST:PORT, not '%s'\n", address);
        daemon_stop(&d);
        return 2;
    }
    if (http_client_new(&cl, host, port, o.token) != TTAI_OK) {
        fprintf(stderr, "ttai-bench e2e: cannot resolve '%s'\n", host);
        daemon_stop(&d);
        return 1;
    }
    /* Every run gets ids of its own, so that --address can be used again. */
    char tag[64];
    snprintf(tag, sizeof(tag), "e2e-%d-%lld", (int)getpid(), (long long)(ttai_wall_ms() % 100000000));
    struct http_call side;
    struct report r = {json_object(), json_object(), json_object(), json_object()};
    struct snapshot s0, s1;
    http_call_init(cl, &side, NULL);
    bool ok = !http_client_failed(cl);
    char parked_err[512];
    struct bench_parked *parked = NULL;
    if (ok && o.parked > 0) {
        parked = bench_parked_open(cl, host, port, o.token, NAMESPACE, tag, o.parked, parked_err,
                                   sizeof(parked_err));
        if (parked == NULL) {
            http_client_fail(cl, "--parked: %s", parked_err);
            ok = false;
        }
    }

    /* W1 as one request per workflow (a start with wait=result); its form
     * with two requests (a start, then a result long-poll) runs last, so
     * that W2 and W3 find the store as one W1 leaves it. */
    if (ok)
        ok = w1_run(cl, &side, &d, &o, tag, true, r.w1);

    /* W2, W2_RUNS times over (a run lasts about a tenth of a second, too
     * short for one to stand for the daemon on a shared machine): the
     * median run's rate, and every run's. */
    char w2_input[128];
    snprintf(w2_input, sizeof(w2_input), "{\"iterations\":%d,\"sleep_ms\":%d}", W2_ITERATIONS, W2_SLEEP_MS);
    double w2_rates[W2_RUNS];
    int64_t w2_latency[W2_RUNS * W2_WORKFLOWS];
    double w2_iterations = 0, w2_secs = 0;
    bool w2_missing = false;
    if (ok)
        snapshot_take(cl, &side, &d, &s0);
    for (int run = 0; ok && !w2_missing && run < W2_RUNS; run++) {
        struct flows w2 = {.type = "bench_monitor", .input = w2_input, .total = W2_WORKFLOWS};
        snprintf(w2.id_prefix, sizeof(w2.id_prefix), "%s-w2r%d", tag, run);
        ok = flows_run(cl, &w2, W2_WORKFLOWS);
        w2_missing = ok && w2.type_missing;
        if (ok && !w2_missing) {
            double secs = (double)(w2.t_last - w2.t_begin) / 1e9;
            if (w2.result_sum != (double)W2_WORKFLOWS * W2_ITERATIONS) {
                http_client_fail(cl, "W2: the workflows report %.0f iterations, not %d",
                                 w2.result_sum, W2_WORKFLOWS * W2_ITERATIONS);
                ok = false;
            }
            w2_rates[run] = w2.result_sum / secs;
            w2_iterations += w2.result_sum;
            w2_secs += secs;
            memcpy(w2_latency + (size_t)run * W2_WORKFLOWS, w2.latency_ns,
                   W2_WORKFLOWS * sizeof(*w2_latency));
        }
        flows_release(&w2);
    }
    if (ok && w2_missing) {
        json_object_set_new(r.w2, "iterations_per_s", json_null());
        json_object_set_new(r.w2, "error", json_string("ttaid has no 'bench_monitor' workflow type"));
    } else if (ok) {
        snapshot_take(cl, &side, &d, &s1);
        json_t *runs = json_array();
        for (int run = 0; run < W2_RUNS; run++)
            json_array_append_new(runs, json_real(w2_rates[run]));
        double sorted[W2_RUNS];
        memcpy(sorted, w2_rates, sizeof(sorted));
        qsort(sorted, W2_RUNS, sizeof(sorted[0]), cmp_double);
        json_object_set_new(r.w2, "iterations_per_s", json_real(sorted[W2_RUNS / 2]));
        json_object_set_new(r.w2, "runs_iterations_per_s", runs);
        json_object_set_new(r.w2, "workflows", json_integer(W2_WORKFLOWS));
        json_object_set_new(r.w2, "iterations", json_real(w2_iterations / W2_RUNS));
        json_object_set_new(r.w2, "seconds", json_real(w2_secs / W2_RUNS));
        json_object_set_new(r.w2, "p50_ms", json_real(quantile_ms(w2_latency, W2_RUNS * W2_WORKFLOWS, 0.50)));
        costs_json(r.w2, &s0, &s1, w2_iterations, "iteration", d.pid > 0);
    }

    /* W3 */
    struct w3_result *w3 = ttai_calloc(1, sizeof(*w3));
    if (ok && w3 == NULL) {
        http_client_fail(cl, "out of memory");
        ok = false;
    }
    if (ok) {
        snapshot_take(cl, &side, &d, &s0);
        ok = w3_run(cl, &side, tag, w3);
    }
    if (ok) {
        snapshot_take(cl, &side, &d, &s1);
        json_object_set_new(r.w3, "p50_ms", json_real(quantile_ms(w3->round_ns, W3_ROUNDS, 0.50)));
        json_object_set_new(r.w3, "p99_ms", json_real(quantile_ms(w3->round_ns, W3_ROUNDS, 0.99)));
        json_object_set_new(r.w3, "rounds", json_integer(W3_ROUNDS));
        json_object_set_new(r.w3, "signal_p50_ms", json_real(quantile_ms(w3->signal_ns, W3_ROUNDS, 0.50)));
        json_object_set_new(r.w3, "signal_p99_ms", json_real(quantile_ms(w3->signal_ns, W3_ROUNDS, 0.99)));
        json_object_set_new(r.w3, "queries_per_round", json_real((double)w3->queries / W3_ROUNDS));
        costs_json(r.w3, &s0, &s1, W3_ROUNDS, "round", d.pid > 0);
    }
    ttai_free(w3);

    if (ok)
        ok = w1_run(cl, &side, &d, &o, tag, false, r.w1_two);

    if (parked != NULL && !bench_parked_close(parked, parked_err, sizeof(parked_err))) {
        http_client_fail(cl, "--parked: %s", parked_err);
        ok = false;
    }
    http_call_release(&side);
    if (!ok)
        fprintf(stderr, "ttai-bench e2e: %s\n", http_client_error(cl));
    http_client_free(cl);
    if (!daemon_stop(&d))
        ok = false;
    if (ok && o.json) {
        json_t *all = json_pack("{s:o,s:o,s:o,s:o,s:s,s:b,s:b,s:I}", "w1", r.w1, "w1_two_requests",
                                r.w1_two, "w2", r.w2, "w3", r.w3,
                                "address", address, "daemon_started", d.dir[0] != '\0',
                                "ram_fs", d.ram_fs, "parked", (json_int_t)o.parked);
        char *s = json_dumps(all, JSON_REAL_PRECISION(8));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(all);
    } else {
        if (ok)
            print_table(&r, &o, &d, address);
        json_decref(r.w1);
        json_decref(r.w1_two);
        json_decref(r.w2);
        json_decref(r.w3);
    }
    return ok ? 0 : 1;
}
