/* history_verify.c: `ttai-history verify`, the integrity of every history.
 *
 * Everything is read in one read transaction, so that the checks see one
 * consistent snapshot even while ttaid commits: a run closed between two
 * reads would otherwise look like a run with a close event but an open
 * status. The price is that a verify of a large store keeps old pages
 * alive for its duration (LMDB cannot reuse them until the read ends).
 *
 * What holds in a sound store (each broken rule is one problem line):
 *  1. Event ids of a run are dense from 1, and every event decodes.
 *  2. The first event is WorkflowStarted.
 *  3. A closed run (status other than Running) has exactly one close event
 *     (store_event_type_closes_run), it is the last event, and its type
 *     matches the status; an open run has none.
 *  4. A ContinuedAsNew run names its next run, which exists, belongs to
 *     the same namespace and workflow id and points back at it; the
 *     ContinuedAsNew event names the same next run. A run that names a
 *     previous run is that run's next run.
 *  5. Closed runs own no timers and no activity records; every timer and
 *     activity record belongs to an existing run.
 *  6. Every execution record points at an existing run of the same
 *     namespace and workflow id that has not continued as new, and every
 *     run has an execution record.
 * The list is mirrored in docs/ttai-history.md.
 */
#include "history_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

struct verify {
    struct store_read *rd;
    json_t *problems;            /* JSON output: the problems so far; else NULL */
    uint64_t runs;
    uint64_t events;             /* history entries, readable or not */
    uint64_t problem_count;
};

/* What one pass over a run's history saw. */
struct hist_seen {
    uint64_t count;              /* entries */
    uint64_t last_id;
    int first_type;              /* type of event 1; 0 when it is missing or unreadable */
    int last_type;               /* type of the last entry; 0 when unreadable */
    struct ttai_run_id started_from; /* run_id of WorkflowStarted */
    uint64_t closes;             /* close events */
    uint64_t close_id;           /* the first close event */
    int close_type;
    struct ttai_run_id close_run_id;
};

/* Reports one problem; run, ns and wf may be NULL when unknown. */
static void problem(struct verify *v, const struct ttai_run_id *run, const char *ns,
                    const char *wf, const char *fmt, ...) TTAI_PRINTF(5, 6);

static void problem(struct verify *v, const struct ttai_run_id *run, const char *ns,
                    const char *wf, const char *fmt, ...)
{
    char msg[768], id[TTAI_RUN_ID_TEXT], where[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->problem_count++;
    if (run != NULL)
        ttai_run_id_format(run, id);
    if (v->problems != NULL) {
        json_array_append_new(v->problems,
                              json_pack("{s:s?, s:s?, s:s?, s:s}", "run_id", run ? id : NULL,
                                        "namespace", ns, "workflow_id", wf, "problem", msg));
        return;
    }
    struct hist_text t;
    hist_text_init(&t, where, sizeof(where));
    hist_text_cstr(&t, ns ? ns : "?");
    hist_text_cstr(&t, "/");
    hist_text_cstr(&t, wf ? wf : "?");
    printf("run %s (%s): %s\n", run ? id : "?", where, msg);
}

#define RUN_PROBLEM(v, r, ...) problem((v), &(r)->run_id, (r)->ns, (r)->workflow_id, __VA_ARGS__)

static const char *run_id_text(const struct ttai_run_id *id, char *buf)
{
    return ttai_run_id_is_zero(id) ? strcpy(buf, "none") : ttai_run_id_format(id, buf);
}

/* ---- Histories --------------------------------------------------------------- */

static void seen_event(struct hist_seen *h, const struct store_event *ev)
{
    h->last_type = ev->type;
    if (ev->event_id == 1)
        h->first_type = ev->type;
    if (ev->type == STORE_EV_WORKFLOW_STARTED && ev->event_id == 1)
        h->started_from = ev->run_id;
    if (store_event_type_closes_run(ev->type) && h->closes++ == 0) {
        h->close_id = ev->event_id;
        h->close_type = ev->type;
        h->close_run_id = ev->run_id;
    }
}

/* Reads the whole history of run: checks rule 1 and fills *h. */
static void verify_history(struct verify *v, const struct store_run *run, struct hist_seen *h)
{
    struct store_iter it;
    struct ttai_err err = {0};
    unsigned errors = 0;
    uint64_t expected = 1;
    memset(h, 0, sizeof(*h));
    int rc = store_hist_iter_init(&it, v->rd, &run->run_id, 1, &err);
    if (rc != 0)
        RUN_PROBLEM(v, run, "%s", err.msg);
    while (rc == 0) {
        struct store_event ev;
        int n = store_hist_iter_next(&it, &ev, &err);
        if (n == 0)
            break;
        uint64_t id = n > 0 ? ev.event_id : hist_unreadable_id(v->rd, run, expected);
        if (n < 0)
            RUN_PROBLEM(v, run, "cannot decode %s", err.msg);
        if (id == 0)
            break; /* unreadable, and no id to go on from: reported above */
        if (id == expected + 1)
            RUN_PROBLEM(v, run, "event %" PRIu64 " is missing", expected);
        else if (id > expected)
            RUN_PROBLEM(v, run, "events %" PRIu64 " to %" PRIu64 " are missing", expected, id - 1);
        expected = id + 1;
        h->count++;
        h->last_id = id;
        h->last_type = 0;
        if (n > 0)
            seen_event(h, &ev);
        else if (!hist_walk_go_on(&errors))
            break;
    }
    store_iter_release(&it);
    v->events += h->count;
}

/* The name of an event type; the codec accepts types this build does not know. */
static const char *type_text(int type)
{
    const char *name = store_event_type_name(type);
    return name != NULL ? name : "an event of unknown type";
}

/* The close event that a run of this status ends with; 0 for Running. */
static int close_type_of(int status)
{
    switch (status) {
    case STORE_RUN_COMPLETED: return STORE_EV_WORKFLOW_COMPLETED;
    case STORE_RUN_FAILED: return STORE_EV_WORKFLOW_FAILED;
    case STORE_RUN_CANCELED: return STORE_EV_WORKFLOW_CANCELED;
    case STORE_RUN_TERMINATED: return STORE_EV_WORKFLOW_TERMINATED;
    case STORE_RUN_TIMED_OUT: return STORE_EV_WORKFLOW_TIMED_OUT;
    case STORE_RUN_CONTINUED_AS_NEW: return STORE_EV_CONTINUED_AS_NEW;
    default: return 0;
    }
}

/* Rules 2 and 3, and the links that the events themselves carry (rule 4). */
static void verify_events(struct verify *v, const struct store_run *run, const struct hist_seen *h)
{
    const char *status = store_run_status_name(run->status);
    char a[TTAI_RUN_ID_TEXT], b[TTAI_RUN_ID_TEXT];
    if (h->count == 0) {
        RUN_PROBLEM(v, run, "history is empty");
        return;
    }
    if (h->first_type != 0 && h->first_type != STORE_EV_WORKFLOW_STARTED)
        RUN_PROBLEM(v, run, "first event is %s, not WorkflowStarted", type_text(h->first_type));
    if (run->status == STORE_RUN_RUNNING && h->closes != 0)
        RUN_PROBLEM(v, run, "open run has a close event (%" PRIu64 " %s)", h->close_id,
                    store_event_type_name(h->close_type));
    /* An unreadable last entry may be the close event: the decode problem
     * is reported already, and guessing more would only add noise. */
    bool closed = run->status != STORE_RUN_RUNNING && (h->last_type != 0 || h->closes != 0);
    if (closed && h->closes == 0)
        RUN_PROBLEM(v, run, "%s run has no close event", status);
    if (closed && h->closes > 1)
        RUN_PROBLEM(v, run, "%s run has %" PRIu64 " close events", status, h->closes);
    if (closed && h->closes != 0 && h->close_id != h->last_id)
        RUN_PROBLEM(v, run, "close event %" PRIu64 " (%s) is not the last event (%" PRIu64 " is)",
                    h->close_id, store_event_type_name(h->close_type), h->last_id);
    if (closed && h->closes != 0 && h->close_type != close_type_of(run->status))
        RUN_PROBLEM(v, run, "status is %s but the close event is %s", status,
                    store_event_type_name(h->close_type));
    if (h->close_type == STORE_EV_CONTINUED_AS_NEW &&
        !ttai_run_id_eq(&h->close_run_id, &run->next_run))
        RUN_PROBLEM(v, run, "ContinuedAsNew event %" PRIu64 " names run %s, the run record %s",
                    h->close_id, run_id_text(&h->close_run_id, a), run_id_text(&run->next_run, b));
    if (!ttai_run_id_is_zero(&h->started_from) && !ttai_run_id_is_zero(&run->prev_run) &&
        !ttai_run_id_eq(&h->started_from, &run->prev_run))
        RUN_PROBLEM(v, run, "WorkflowStarted names previous run %s, the run record %s",
                    run_id_text(&h->started_from, a), run_id_text(&run->prev_run, b));
}

/* ---- Links between records ----------------------------------------------------- */

/* Reads a run that another record names. 0, or a problem reported. */
static int linked_run_get(struct verify *v, const struct store_run *from, const char *what,
                          const struct ttai_run_id *id, struct store_run *out)
{
    struct ttai_err err = {0};
    char text[TTAI_RUN_ID_TEXT];
    int rc = store_run_get(v->rd, id, out, &err);
    if (rc == TTAI_ENOTFOUND)
        RUN_PROBLEM(v, from, "%s %s does not exist", what, ttai_run_id_format(id, text));
    else if (rc != 0)
        RUN_PROBLEM(v, from, "cannot read %s: %s", what, err.msg);
    return rc;
}

/* Rule 4 on the run records, and the execution half of rule 6. */
static void verify_links(struct verify *v, const struct store_run *run)
{
    char a[TTAI_RUN_ID_TEXT], b[TTAI_RUN_ID_TEXT];
    struct store_run other;
    bool has_next = !ttai_run_id_is_zero(&run->next_run);
    if (has_next && run->status != STORE_RUN_CONTINUED_AS_NEW)
        RUN_PROBLEM(v, run, "%s run names a next run %s", store_run_status_name(run->status),
                    ttai_run_id_format(&run->next_run, a));
    if (!has_next && run->status == STORE_RUN_CONTINUED_AS_NEW)
        RUN_PROBLEM(v, run, "ContinuedAsNew run names no next run");
    if (has_next && linked_run_get(v, run, "next run", &run->next_run, &other) == 0) {
        if (!ttai_run_id_eq(&other.prev_run, &run->run_id))
            RUN_PROBLEM(v, run, "next run %s does not point back (its previous run is %s)",
                        ttai_run_id_format(&run->next_run, a), run_id_text(&other.prev_run, b));
        if (strcmp(other.ns, run->ns) != 0 || strcmp(other.workflow_id, run->workflow_id) != 0)
            RUN_PROBLEM(v, run, "next run %s belongs to workflow '%s' in namespace '%s'",
                        ttai_run_id_format(&run->next_run, a), other.workflow_id, other.ns);
    }
    if (!ttai_run_id_is_zero(&run->prev_run) &&
        linked_run_get(v, run, "previous run", &run->prev_run, &other) == 0 &&
        !ttai_run_id_eq(&other.next_run, &run->run_id))
        RUN_PROBLEM(v, run, "previous run %s does not continue as this run (it names %s)",
                    ttai_run_id_format(&run->prev_run, a), run_id_text(&other.next_run, b));
    struct ttai_run_id current;
    if (store_exec_get(v->rd, run->ns, run->workflow_id, &current, NULL) == TTAI_ENOTFOUND)
        RUN_PROBLEM(v, run, "workflow has no execution record");
}

static void verify_run(const struct store_run *run, struct verify *v)
{
    struct hist_seen h;
    v->runs++;
    verify_history(v, run, &h);
    verify_events(v, run, &h);
    verify_links(v, run);
}

/* ---- Timers, activities, executions ------------------------------------------- */

/* The run that a timer or activity record belongs to, which must exist and
 * be open (rule 5). */
static void verify_owner(struct verify *v, const struct ttai_run_id *id, const char *what)
{
    struct store_run run;
    struct ttai_err err = {0};
    int rc = store_run_get(v->rd, id, &run, &err);
    if (rc == TTAI_ENOTFOUND)
        problem(v, id, NULL, NULL, "%s belongs to no run", what);
    else if (rc != 0)
        problem(v, id, NULL, NULL, "cannot read the run of %s: %s", what, err.msg);
    else if (run.status != STORE_RUN_RUNNING)
        RUN_PROBLEM(v, &run, "%s run still has %s", store_run_status_name(run.status), what);
}

static void verify_timers(struct verify *v)
{
    struct store_iter it;
    struct ttai_err err = {0};
    unsigned errors = 0;
    int rc = store_timer_iter_init(&it, v->rd, INT64_MAX, &err);
    while (rc == 0) {
        struct store_timer timer;
        int n = store_timer_iter_next(&it, &timer, &err);
        if (n == 0)
            break;
        if (n < 0) {
            problem(v, NULL, NULL, NULL, "%s", err.msg);
            if (!hist_walk_go_on(&errors))
                break;
            continue;
        }
        char what[96], when[HIST_TIME_TEXT];
        snprintf(what, sizeof(what), "timer seq %" PRIu64 " firing at %s", timer.seq,
                 ttai_time_format(timer.fire_ms, when, sizeof(when)));
        verify_owner(v, &timer.run_id, what);
    }
    if (rc != 0)
        problem(v, NULL, NULL, NULL, "%s", err.msg);
    store_iter_release(&it);
}

static void verify_activities(struct verify *v)
{
    struct store_iter it;
    struct ttai_err err = {0};
    unsigned errors = 0;
    int rc = store_activity_iter_init(&it, v->rd, NULL, &err);
    while (rc == 0) {
        struct ttai_run_id run;
        uint64_t seq;
        struct store_bytes record;
        int n = store_activity_iter_next(&it, &run, &seq, &record, &err);
        if (n == 0)
            break;
        if (n < 0) {
            problem(v, NULL, NULL, NULL, "%s", err.msg);
            if (!hist_walk_go_on(&errors))
                break;
            continue;
        }
        char what[64];
        snprintf(what, sizeof(what), "activity record seq %" PRIu64, seq);
        verify_owner(v, &run, what);
    }
    if (rc != 0)
        problem(v, NULL, NULL, NULL, "%s", err.msg);
    store_iter_release(&it);
}

/* Copies borrowed bytes into a NUL-terminated buffer of `size`, cutting. */
static const char *bytes_cstr(struct store_bytes b, char *buf, size_t size)
{
    size_t n = b.len < size - 1 ? b.len : size - 1;
    memcpy(buf, b.data, n);
    buf[n] = '\0';
    return buf;
}

/* The record half of rule 6, for one execution. */
static void verify_exec(struct verify *v, const char *ns, const char *wf,
                        const struct ttai_run_id *id)
{
    struct store_run run;
    struct ttai_err err = {0};
    char next[TTAI_RUN_ID_TEXT];
    int rc = store_run_get(v->rd, id, &run, &err);
    if (rc == TTAI_ENOTFOUND)
        problem(v, id, ns, wf, "execution record points at a missing run");
    else if (rc != 0)
        problem(v, id, ns, wf, "cannot read the current run: %s", err.msg);
    else if (strcmp(run.ns, ns) != 0 || strcmp(run.workflow_id, wf) != 0)
        problem(v, id, ns, wf, "execution record points at a run of workflow '%s' in '%s'",
                run.workflow_id, run.ns);
    else if (run.status == STORE_RUN_CONTINUED_AS_NEW)
        problem(v, id, ns, wf, "execution record points at a run that continued as %s",
                run_id_text(&run.next_run, next));
}

static void verify_execs(struct verify *v)
{
    struct store_iter it;
    struct ttai_err err = {0};
    unsigned errors = 0;
    int rc = store_exec_iter_init(&it, v->rd, &err);
    while (rc == 0) {
        struct store_bytes ns, wf;
        struct ttai_run_id run;
        int n = store_exec_iter_next(&it, &ns, &wf, &run, &err);
        if (n == 0)
            break;
        if (n < 0) {
            problem(v, NULL, NULL, NULL, "%s", err.msg);
            if (!hist_walk_go_on(&errors))
                break;
            continue;
        }
        char ns_text[STORE_NS_MAX + 1], wf_text[STORE_WORKFLOW_ID_MAX + 1];
        verify_exec(v, bytes_cstr(ns, ns_text, sizeof(ns_text)),
                    bytes_cstr(wf, wf_text, sizeof(wf_text)), &run);
    }
    if (rc != 0)
        problem(v, NULL, NULL, NULL, "%s", err.msg);
    store_iter_release(&it);
}

/* ---- The command ----------------------------------------------------------------- */

static void verify_runs(struct verify *v)
{
    struct store_iter it;
    struct ttai_err err = {0};
    unsigned errors = 0;
    int rc = store_run_iter_init(&it, v->rd, &err);
    while (rc == 0) {
        struct store_run run;
        int n = store_run_iter_next(&it, &run, &err);
        if (n == 0)
            break;
        if (n > 0) {
            verify_run(&run, v);
            continue;
        }
        problem(v, NULL, NULL, NULL, "%s", err.msg);
        if (!hist_walk_go_on(&errors))
            break;
    }
    if (rc != 0)
        problem(v, NULL, NULL, NULL, "%s", err.msg);
    store_iter_release(&it);
}

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

int hist_cmd_verify(struct hist_ctx *ctx)
{
    struct verify v = {0};
    struct ttai_err err = {0};
    bool json = ctx->args->output == HIST_OUT_JSON;
    if (json && (v.problems = json_array()) == NULL) {
        hist_errorf("out of memory");
        return HIST_EXIT_USAGE;
    }
    if (store_read_begin(ctx->store, &v.rd, &err) != 0) {
        hist_errorf("%s", err.msg);
        json_decref(v.problems);
        return HIST_EXIT_USAGE;
    }
    verify_runs(&v);
    verify_timers(&v);
    verify_activities(&v);
    verify_execs(&v);
    store_read_end(v.rd);
    int status = v.problem_count == 0 ? HIST_EXIT_OK : HIST_EXIT_PROBLEMS;
    if (json) {
        json_t *report = json_pack("{s:I, s:I, s:I, s:b, s:o}", "runs", (json_int_t)v.runs,
                                   "events", (json_int_t)v.events,
                                   "problem_count", (json_int_t)v.problem_count,
                                   "ok", v.problem_count == 0, "problems", v.problems);
        return hist_json_print(report) != 0 ? HIST_EXIT_USAGE : status;
    }
    printf("verified %" PRIu64 " run%s, %" PRIu64 " event%s: ", v.runs, plural(v.runs), v.events,
           plural(v.events));
    if (v.problem_count == 0)
        printf("OK\n");
    else
        printf("%" PRIu64 " problem%s\n", v.problem_count, plural(v.problem_count));
    return status;
}
