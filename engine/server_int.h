/* server_int.h: shared only between server.c (loop, workers, routing),
 * server_api.c (the workflow handlers that run on workers), server_sched.c
 * (the schedule handlers, on workers too), server_stream.c (history
 * streams, result long-polls), server_waiters.c (the long-polls' index)
 * and server_metrics.c (the metrics page). */
#ifndef TTAI_SERVER_INT_H
#define TTAI_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "server.h"
#include "store.h"

enum srv_route {
    R_START = 1, R_LIST, R_DESCRIBE, R_SIGNAL, R_SWS, R_QUERY, R_HISTORY, R_RESULT,
    R_CANCEL, R_TERMINATE, R_METRICS, R_HEALTHZ,
    /* Schedules (server_sched.c): keep them together, R_SCHED_CREATE first and
     * R_SCHED_BACKFILL last (srv__is_sched_route). */
    R_SCHED_CREATE, R_SCHED_LIST, R_SCHED_DESCRIBE, R_SCHED_UPDATE, R_SCHED_DELETE,
    R_SCHED_PAUSE, R_SCHED_UNPAUSE, R_SCHED_TRIGGER, R_SCHED_BACKFILL,
    /* Served on the loop thread: the console's files, the alert stream. */
    R_CONSOLE, R_CONSOLE_ASSET, R_ALERTS,
    R__COUNT /* keep last: sizes the per-route counters */
};

/* One row of the route table (server.c): what routing matches, what
 * srv__routes() lists (the OpenAPI check, tests/daemon), and the name that
 * labels the route's metrics and is its operationId in docs/openapi.yaml. */
struct srv_route_def {
    const char *method;               /* "GET", "POST" or "DELETE" */
    const char *pattern;              /* "/api/v1/namespaces/{ns}/workflows/{workflow_id}" */
    int route;                        /* enum srv_route */
    const char *name;                 /* "describe" */
};

/* Request duration histogram bounds in seconds (the last bucket is +Inf). */
#define SRV_LATENCY_BUCKETS 15
extern const double srv__latency_bounds[SRV_LATENCY_BUCKETS - 1];

/* Per-route counters (any thread). */
struct srv_route_stats {
    atomic_ullong buckets[SRV_LATENCY_BUCKETS]; /* not cumulative */
    atomic_ullong count;
    atomic_ullong duration_ns;        /* arrival to reply queued */
    atomic_ullong wait_ns;            /* submitted to picked up by a worker */
    atomic_ullong handler_ns;         /* on the worker (engine call, durability wait) */
};

/* One request handed to a worker. Created and freed on the loop thread;
 * between submit and reply only the worker touches it. */
struct srv_job {
    struct srv_job *next;             /* queue link */
    /* Parked long-poll (server_waiters.c): its bucket's chain. */
    struct srv_job *wait_next, **wait_pprev;
    uint64_t wait_hash;
    struct ttai_server *srv;
    struct evhttp_request *req;       /* NULL once answered */
    int route;                        /* enum srv_route */
    char ns[STORE_NS_MAX + 1];
    char *workflow_id;                /* decoded path segment, or NULL */
    char *schedule_id;                /* decoded path segment (schedule routes), or NULL */
    char *name;                       /* signal or query name, or NULL */
    char *body;                       /* request body (NUL-terminated), or NULL */
    size_t body_len;
    char *query;                      /* the URI's query string, or NULL */
    int64_t started_ns;               /* arrival (loop thread), for the log and metrics */
    int64_t submitted_ns;             /* handed to the workers */
    int64_t picked_ns, ran_ns;        /* a worker took it / finished it */
    /* Reply, filled by the worker. */
    int status;
    char *reply;                      /* JSON (or text for metrics), ttai_malloc'd */
    bool text;                        /* reply is text/plain (metrics) */
    /* Result long-poll. */
    bool wait;                        /* wait=1 */
    bool execute;                     /* a start with wait=result: once started, a
                                       * result long-poll (route R_RESULT from then on) */
    bool running;                     /* worker found the workflow running */
    struct ttai_run_id result_run;    /* found running: the run it waits for, which a
                                       * check looks at again (zero: none yet) */
    uint64_t closes_before;           /* a start: ttai_server.closes when it was queued */
    bool recheck;                     /* a close arrived while the worker looked */
    bool waiting;                     /* parked: in the waiter index */
    bool busy;                        /* on a worker (submitted, not answered) */
    /* A start parsed on the loop thread (start_on_loop), being made by
     * the engine thread (ttai_engine_start_async). */
    bool start_queued;
    /* What the engine thread reported (start_ended); the loop answers. */
    int start_rc;
    bool start_made;                  /* the start made the run (false: use_existing found it) */
    struct ttai_run_id start_run;
    struct ttai_err start_err;
    int64_t timeout_ms;
    int64_t deadline_ms;
    struct event *timer;
};

struct srv_queue {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct srv_job *head, *tail;
};

struct srv_stream;
struct srv_alerts;

/* The parked long-polls by workflow (server_waiters.c). All zero is an
 * empty map. */
struct srv_waitmap {
    struct srv_job **buckets;         /* chains through srv_job.wait_next */
    size_t mask;                      /* bucket count - 1 */
    size_t count;                     /* jobs in the map */
    size_t pop_from;                  /* no job in a bucket before this one */
};

/* A run closed: queued by the engine thread for the loop thread. */
struct srv_closed {
    struct srv_closed *next;
    uint64_t seq;                     /* ttai_server.closes after this one was counted */
    char ns[STORE_NS_MAX + 1];
    char workflow_id[STORE_WORKFLOW_ID_MAX + 1];
    struct ttai_run_id run;
    int status;                       /* enum store_run_status */
    /* The closing event (type, payload, failure type and message, their
     * bytes in `bytes`) when the close came with it: a long-poll on this
     * run is answered from it, without reading the store. */
    bool has_event;
    struct store_event event;
    uint8_t bytes[];
};

/* Closes the loop has taken, by workflow: each slot holds the largest
 * srv_closed.seq of the workflows hashed to it (ttai_workflow_hash). A
 * start that made its run knows that no close of that run has reached the
 * loop yet when its slot holds nothing after the count it saw when it was
 * queued; a collision only sends it to the store. */
#define SRV_CLOSED_SLOTS 4096
/* The largest closing event (payload, failure type and message) a close
 * notification carries; past it, the long-polls read the store. */
#define SRV_CLOSE_EVENT_MAX (64 * 1024)

struct ttai_server {
    struct ttai_server *servers_next; /* the process's servers (server.c, accept_error_cb) */
    struct event *accept_pause;       /* re-enables accepting after a failed accept */
    uint64_t accepts_paused;          /* accept failures that paused the listener */
    int64_t accept_logged_ms;         /* when the last one was logged (monotonic) */
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct ttai_engine *eng;
    struct store *store;
    struct ttai_server_opts opts;
    int port;
    /* Workers. */
    pthread_t *threads;
    size_t thread_count;
    bool stopping;                    /* under work.mu */
    struct srv_queue work;            /* loop -> workers */
    struct srv_queue done;            /* workers -> loop */
    struct event *done_ev;            /* activated by workers */
    /* Close notifications (engine thread -> loop). */
    pthread_mutex_t closed_mu;
    struct srv_closed *closed_head;
    struct event *closed_ev;
    uint64_t closed_seen[SRV_CLOSED_SLOTS]; /* loop thread only */
    /* Long-polls and streams (loop thread only). */
    struct srv_waitmap waiters;
    struct srv_stream *streams;
    struct event *stream_tick;
    struct srv_alerts *alerts;        /* the alert ring and its streams (server_alerts.c) */
    char (*asset_etags)[24];          /* per opts.assets: "\"<16 hex digits>\"" */
    /* Draining. */
    size_t inflight;                  /* jobs submitted and not answered */
    bool draining;
    void (*drained_cb)(void *arg);
    void *drained_arg;
    /* Counters (any thread). */
    atomic_ullong requests[6];        /* by status class: 1xx..5xx, index 1..5 */
    struct srv_route_stats route_stats[R__COUNT];
    atomic_ullong closes;
    atomic_ullong parked;             /* long-polls in the waiter index (the loop's count, for /metrics) */
    atomic_ullong history_streams;    /* history follows open (for /metrics) */
    atomic_bool store_failed;         /* an engine call met TTAI_EFATAL */
};

/* The closed_seen slot of a workflow (loop thread only). */
static inline uint64_t *srv__closed_seen(struct ttai_server *srv, const char *ns,
                                         const char *workflow_id)
{
    return &srv->closed_seen[ttai_workflow_hash(ns, workflow_id) & (SRV_CLOSED_SLOTS - 1)];
}

/* server.c */
/* Whether the calling thread is inside an engine batch of this server
 * (ttai_server_batch): then a hand-back that would wake the loop notes it
 * instead (which: SRV_WAKE_DONE, SRV_WAKE_CLOSED), and the batch's end
 * wakes it once. */
enum { SRV_WAKE_DONE = 1, SRV_WAKE_CLOSED = 2 };
bool srv__batch_defer(const struct ttai_server *srv, int which);
/* The route table; returns its length. */
size_t srv__routes(const struct srv_route_def **out);
void srv__reply_error(struct evhttp_request *req, int status, const char *code,
                      const char *fmt, ...) TTAI_PRINTF(4, 5);
void srv__reply_json(struct evhttp_request *req, int status, const char *json);
void srv__submit(struct ttai_server *srv, struct srv_job *job);
void srv__job_finish(struct ttai_server *srv, struct srv_job *job);
void srv__result_check(struct ttai_server *srv, struct srv_job *job);
/* Answers a parked long-poll on run from its closing event ev (status:
 * enum store_run_status) and frees it. */
void srv__result_answer_closed(struct ttai_server *srv, struct srv_job *job,
                               const struct ttai_run_id *run, int status,
                               const struct store_event *ev);
/* Hands a job (arg) back to the loop thread, from any thread: a worker's
 * finished job, a start the engine thread made. One wake-up for all the
 * jobs queued before the loop gets to them. */
void srv__job_back(void *arg);
/* Sets the reply of a start the engine thread made (start_queued), from
 * what it reported; on the loop thread. */
void srv__start_answer(struct srv_job *job);
void srv__log_request(struct ttai_server *srv, struct evhttp_request *req, int status,
                      int64_t started_ns);

/* "GET", "POST", "DELETE", ... of a request, for routing and the log. */
const char *srv__method_name(struct evhttp_request *req);

/* server_api.c: runs on a worker; fills job->status and job->reply. */
void srv__job_run(struct ttai_server *srv, struct srv_job *job);
/* Replies left in a job (worker side): an error object; the error of an
 * engine call (its code mapped by srv__status_of); a JSON value (the
 * reference is taken; NULL answers 500). */
void srv__job_fail(struct srv_job *job, int status, const char *code, const char *msg);
void srv__job_reply_rc(struct srv_job *job, int rc, const struct ttai_err *err);
void srv__job_reply_obj(struct srv_job *job, int status, json_t *o);
/* The 202 answer of an execute whose check found it running (job->running,
 * no reply yet): its ids and status, made when it is answered running. */
void srv__result_running_reply(struct srv_job *job);
/* The answer of a result request whose run is running: 202, and the run
 * it waits for (job->result_run). */
void srv__result_running(struct srv_job *job, const struct ttai_run_id *run);
/* The answer of a result request whose run is closed: run and status from
 * its run record, ev its closing event. */
void srv__result_closed_reply(struct srv_job *job, const struct ttai_run_id *run, int status,
                              const struct store_event *ev);
/* A member a request body may have; `inner` lists the members of an
 * object member (NULL: any value, the engine checks it). */
struct srv_member {
    const char *name;
    const char *const *inner;
};
/* Every member of o is in `allowed` or `extra` (lists ended by a NULL
 * name; either may be NULL), and so is every member of an object member
 * that lists its own: a field the API does not know is refused rather
 * than ignored. False with the reply set: 400 "unknown field 'x'", then
 * " (why)" when why is not NULL. */
bool srv__members_check(struct srv_job *job, json_t *o, const struct srv_member *allowed,
                        const struct srv_member *extra, const char *why);
/* The body as a JSON object (new reference): {} for an empty body unless
 * required. NULL with the reply set when malformed. */
json_t *srv__job_body(struct srv_job *job, bool required);
/* An optional (or required: non-empty) string field; false with the reply
 * set when absent or mistyped. */
bool srv__job_field_str(struct srv_job *job, json_t *o, const char *key, bool required,
                        const char **out);

/* server_sched.c: the schedule routes (R_SCHED_*), on a worker. */
static inline bool srv__is_sched_route(int route)
{
    return route >= R_SCHED_CREATE && route <= R_SCHED_BACKFILL;
}
void srv__sched_run(struct ttai_server *srv, struct srv_job *job);
/* A JSON error body (ttai_malloc'd). */
char *srv__error_body(const char *code, const char *msg);
/* An engine code -> HTTP status and error code. */
int srv__status_of(int rc, const char **code);
/* The event as a JSON object (new reference), or NULL. */
json_t *srv__event_json(const struct store_event *ev);
/* A query parameter of a query string (ttai_malloc'd), or NULL. */
char *srv__query_param(const char *query, const char *key);
/* A switch parameter (wait=1, follow=1): *on is true for "1" or "true",
 * false for "0", "false" or none. Any other value answers 400 naming it
 * (so that wait=yes is not a silent "no") and returns false. */
bool srv__query_switch(struct evhttp_request *req, const char *query, const char *key, bool *on);

/* server_stream.c (loop thread). */
void srv__history_follow(struct ttai_server *srv, struct evhttp_request *req, const char *ns,
                         const char *workflow_id, const char *query);
void srv__streams_end(struct ttai_server *srv);
bool srv__is_stream(struct ttai_server *srv, struct evhttp_request *req);
/* Whether a request's client has gone: its connection was freed, or its
 * socket reads end-of-file or an error. libevent frees a connection only
 * when its loop handles the close, and not at all while a request on it
 * waits for an answer (evhttp does not read it then): asking the socket
 * does not wait for that. For waiting requests only (a stream, a parked
 * long-poll): their clients send nothing meanwhile. */
bool srv__client_gone(struct evhttp_request *req);
/* Parks a result long-poll until a close of its workflow, its deadline, or
 * its client leaving (asked every second or so); false when there is no
 * memory to (the caller answers it as at its deadline). */
bool srv__waiter_add(struct ttai_server *srv, struct srv_job *job);
void srv__waiter_remove(struct ttai_server *srv, struct srv_job *job);
void srv__waiters_end(struct ttai_server *srv);
void srv__closed_cb(evutil_socket_t fd, short what, void *arg);

/* server_waiters.c (loop thread). Adds job under its ns and workflow_id
 * (false: out of memory); removes it (a no-op for a job not in it); the
 * jobs waiting for a workflow, first then next (each from its bucket
 * alone); takes out any one job (NULL when empty); frees the table. */
bool srv__waitmap_add(struct srv_waitmap *m, struct srv_job *job);
void srv__waitmap_remove(struct srv_waitmap *m, struct srv_job *job);
struct srv_job *srv__waitmap_first(const struct srv_waitmap *m, const char *ns,
                                   const char *workflow_id);
struct srv_job *srv__waitmap_next(const struct srv_job *job);
struct srv_job *srv__waitmap_pop(struct srv_waitmap *m);
size_t srv__waitmap_count(const struct srv_waitmap *m);
void srv__waitmap_release(struct srv_waitmap *m);

/* server_metrics.c: the /metrics page (Prometheus text) into job->reply. */
void srv__metrics(struct ttai_server *srv, struct srv_job *job);

/* server_console.c (loop thread). */
/* Computes the assets' ETags; TTAI_ENOMEM. */
int srv__console_init(struct ttai_server *srv, struct ttai_err *err) TTAI_MUST_CHECK;
void srv__console_release(struct ttai_server *srv);
/* Answers GET / (name NULL: index.html) and GET /console/{name}; returns
 * the status sent (the request may be gone once answered). */
int srv__console_serve(struct ttai_server *srv, struct evhttp_request *req, const char *name);

/* server_alerts.c. New and free: loop side, at start and free. The
 * stream and its list run on the loop thread; ttai_server_alert_push on any. */
int srv__alerts_new(struct ttai_server *srv, size_t recent_max, struct ttai_err *err) TTAI_MUST_CHECK;
void srv__alerts_free(struct ttai_server *srv);
/* GET .../alerts: the recent alerts as JSON, or with follow=1 the stream. */
void srv__alerts_get(struct ttai_server *srv, struct evhttp_request *req, const char *ns,
                     const char *query);
/* Ends every alert stream (drain, free). */
void srv__alerts_end(struct ttai_server *srv);
bool srv__alerts_is_stream(struct ttai_server *srv, struct evhttp_request *req);
/* Alert streams open (any thread, for /metrics). */
uint64_t srv__alert_streams_open(struct ttai_server *srv);

#endif
