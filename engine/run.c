/* run.c: a workflow run in memory, the workflow-facing API, and replay.
 *
 * A run's history is a sequence of workflow tasks. Each task is recorded as
 *
 *     inputs ...  TaskCompleted(ref = last input the task saw)  commands ...
 *
 * where inputs are WorkflowStarted, activity outcomes, TimerFired,
 * SignalReceived and CancelRequested, and commands are what the code
 * issued (ActivityScheduled, TimerStarted, TimerCanceled, MarkerRecorded,
 * and the close commands). Inputs that were appended after the task read
 * its inputs may land before its TaskCompleted; `ref` tells replay that they
 * belong to the next task.
 *
 * Replay (eng_run_replay): for each TaskCompleted T in order, deliver the
 * inputs with ids in (processed_through, T.ref], resume the code, and
 * require it to issue exactly the commands recorded after T. Invariants:
 *  1. processed_through only grows, and every input is delivered once.
 *  2. Command sequence numbers are issued in code order; a replay that
 *     issues a different kind, name or sequence than recorded is a
 *     non-determinism error, and the coroutine is never resumed again.
 *  3. Queries and signal handlers never issue commands and never wait
 *     (in_query, in_signal): both run outside the coroutine, a handler
 *     before its task's commands are known on replay.
 */
#include "engine_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define WF_STACK_BYTES (256 * 1024)

bool eng_event_is_input(int type)
{
    switch (type) {
    case STORE_EV_WORKFLOW_STARTED:
    case STORE_EV_ACTIVITY_COMPLETED:
    case STORE_EV_ACTIVITY_FAILED:
    case STORE_EV_ACTIVITY_TIMED_OUT:
    case STORE_EV_ACTIVITY_CANCELED:
    case STORE_EV_TIMER_FIRED:
    case STORE_EV_SIGNAL_RECEIVED:
    case STORE_EV_CANCEL_REQUESTED:
        return true;
    default:
        return false;
    }
}

bool eng_event_is_command(int type)
{
    switch (type) {
    case STORE_EV_ACTIVITY_SCHEDULED:
    case STORE_EV_ACTIVITY_CANCEL_REQUESTED:
    case STORE_EV_TIMER_STARTED:
    case STORE_EV_TIMER_CANCELED:
    case STORE_EV_MARKER_RECORDED:
    case STORE_EV_WORKFLOW_COMPLETED:
    case STORE_EV_WORKFLOW_FAILED:
    case STORE_EV_WORKFLOW_CANCELED:
    case STORE_EV_CONTINUED_AS_NEW:
        return true;
    default:
        return false;
    }
}

const struct ttai_workflow_def *eng_find_workflow(const struct ttai_registry *reg, const char *type)
{
    for (size_t i = 0; reg != NULL && reg->workflows != NULL && reg->workflows[i] != NULL; i++)
        if (strcmp(reg->workflows[i]->type, type) == 0)
            return reg->workflows[i];
    return NULL;
}

const struct ttai_activity_def *eng_find_activity(const struct ttai_registry *reg, const char *type)
{
    for (size_t i = 0; reg != NULL && reg->activities != NULL && reg->activities[i] != NULL; i++)
        if (strcmp(reg->activities[i]->type, type) == 0)
            return reg->activities[i];
    return NULL;
}

const struct ttai_signal_def *eng_find_signal(const struct ttai_workflow_def *def, const char *name)
{
    for (size_t i = 0; def->signals != NULL && def->signals[i].name != NULL; i++)
        if (strcmp(def->signals[i].name, name) == 0)
            return &def->signals[i];
    return NULL;
}

const struct ttai_query_def *eng_find_query(const struct ttai_workflow_def *def, const char *name)
{
    for (size_t i = 0; def->queries != NULL && def->queries[i].name != NULL; i++)
        if (strcmp(def->queries[i].name, name) == 0)
            return &def->queries[i];
    return NULL;
}

/* ---- Life cycle -------------------------------------------------------------- */

struct ttai_wf *eng_run_new(const struct store_run *rec, const struct ttai_workflow_def *def,
                            struct ttai_engine *eng)
{
    struct ttai_wf *wf = ttai_calloc(1, sizeof(*wf));
    if (wf == NULL)
        return NULL;
    wf->rec = *rec;
    wf->def = def;
    wf->eng = eng;
    wf->state = eng_arena_alloc(&wf->arena, def->state_size ? def->state_size : 1);
    memset(wf->state, 0, def->state_size ? def->state_size : 1);
    return wf;
}

void eng_run_free(struct ttai_wf *wf)
{
    if (wf == NULL)
        return;
    if (wf->coro_ready)
        eng_coro_release(&wf->coro);
    ttai_free(wf->cmds);
    eng_arena_release(&wf->arena);
    ttai_free(wf);
}

void *ttai_wf_alloc(struct ttai_wf *wf, size_t size)
{
    return eng_arena_alloc(&wf->arena, size);
}

struct ttai_payload ttai_wf_keep(struct ttai_wf *wf, struct ttai_payload p)
{
    if (p.len == 0)
        return (struct ttai_payload){NULL, 0};
    uint8_t *copy = eng_arena_alloc(&wf->arena, p.len);
    memcpy(copy, p.data, p.len);
    return (struct ttai_payload){copy, p.len};
}

static struct store_bytes keep_bytes(struct ttai_wf *wf, const void *data, size_t len)
{
    struct ttai_payload p = ttai_wf_keep(wf, (struct ttai_payload){data, len});
    return (struct store_bytes){p.data, p.len};
}

static struct store_bytes keep_str(struct ttai_wf *wf, const char *s)
{
    return keep_bytes(wf, s, strlen(s));
}

const char *ttai_wf_id(const struct ttai_wf *wf) { return wf->rec.workflow_id; }
const char *ttai_wf_namespace(const struct ttai_wf *wf) { return wf->rec.ns; }
bool ttai_wf_replaying(const struct ttai_wf *wf) { return wf->replaying; }
int64_t ttai_wf_now(const struct ttai_wf *wf) { return wf->task_time_ms; }
bool ttai_wf_cancel_requested(const struct ttai_wf *wf) { return wf->cancel_requested; }
uint64_t ttai_wf_history_length(const struct ttai_wf *wf) { return wf->last_event_id; }

bool ttai_wf_continue_as_new_suggested(const struct ttai_wf *wf)
{
    return wf->last_event_id >= TTAI_HISTORY_SUGGEST_CAN;
}

/* ---- Commands ---------------------------------------------------------------- */

/* Parks the coroutine for good: used after a non-determinism error or a
 * close command; the scheduler never resumes it again. */
static void TTAI_NORETURN park_forever(struct ttai_wf *wf)
{
    for (;;)
        eng_coro_yield(&wf->coro);
}

static void describe_cmd(const struct store_event *ev, char *buf, size_t size)
{
    const char *type = store_event_type_name(ev->type);
    snprintf(buf, size, "%s(seq %" PRIu64 "%s%.*s)", type ? type : "Unknown", ev->seq,
             ev->name.len ? ", " : "", (int)(ev->name.len > 40 ? 40 : ev->name.len),
             (const char *)ev->name.data);
}

static void set_nondet(struct ttai_wf *wf, const struct store_event *expected,
                       const struct store_event *actual)
{
    char want[80] = "nothing", got[80] = "nothing";
    if (expected != NULL)
        describe_cmd(expected, want, sizeof(want));
    if (actual != NULL)
        describe_cmd(actual, got, sizeof(got));
    wf->nondet = true;
    wf->nondet_event_id = expected != NULL ? expected->event_id : wf->last_event_id;
    snprintf(wf->nondet_msg, sizeof(wf->nondet_msg),
             "non-deterministic workflow code at event %" PRIu64 ": history has %s, code issued %s",
             wf->nondet_event_id, want, got);
}

/* Called on the coroutine's stack: records the mismatch and never returns. */
static void TTAI_NORETURN nondeterminism(struct ttai_wf *wf, const struct store_event *expected,
                                         const struct store_event *actual)
{
    set_nondet(wf, expected, actual);
    park_forever(wf);
}

/* Issues a command. In a live task it is appended to wf->cmds; on replay
 * it must equal the next recorded command, which is returned (markers read
 * their recorded value from it). */
static const struct store_event *command(struct ttai_wf *wf, const struct store_event *cmd)
{
    TTAI_ASSERT(!wf->in_query && !wf->in_signal); /* callers check refuse_command first */
    if (wf->replaying) {
        const struct store_event *want =
            wf->expect_pos < wf->expect_count ? &wf->expect[wf->expect_pos] : NULL;
        if (want == NULL || want->type != cmd->type || want->seq != cmd->seq ||
            want->name.len != cmd->name.len ||
            (cmd->name.len && memcmp(want->name.data, cmd->name.data, cmd->name.len) != 0))
            nondeterminism(wf, want, cmd);
        wf->expect_pos++;
        return want;
    }
    if (wf->cmd_count == wf->cmd_cap) {
        size_t cap = wf->cmd_cap ? wf->cmd_cap * 2 : 8;
        struct store_event *grown = ttai_realloc(wf->cmds, cap * sizeof(*grown));
        TTAI_ASSERT(grown != NULL);
        wf->cmds = grown;
        wf->cmd_cap = cap;
    }
    struct store_event *slot = &wf->cmds[wf->cmd_count++];
    *slot = *cmd;
    slot->time_ms = wf->task_time_ms;
    return slot;
}

/* Whether the caller runs in a query or a signal handler, where code may
 * read and (a handler) change the state but not issue commands or wait:
 * it runs outside the run's coroutine, so a wait would yield from the
 * wrong stack, and on replay a handler runs before its task's recorded
 * commands are set up to be matched. */
static bool refuse_command(const struct ttai_wf *wf)
{
    return wf->in_query || wf->in_signal;
}

#define REFUSED(type, msg)                                                      \
    {.kind = FUT_ACTIVITY, .done = true,                                        \
     .result = {.rc = TTAI_EPERM, .error_type = type, .error_message = msg}}

/* The futures of refused activities and timers: shared by every run and
 * never written (each call that changes a future returns first for one
 * that is done, or not a timer), so that a query or handler that tries on
 * every call allocates nothing in its run's memory. */
static const struct ttai_future refused[2][2] = {
    {REFUSED("QueryCommand", "a query cannot schedule activities"),
     REFUSED("QueryCommand", "a query cannot start timers")},
    {REFUSED("SignalCommand", "a signal handler cannot schedule activities"),
     REFUSED("SignalCommand", "a signal handler cannot start timers")},
};

enum { REFUSED_ACTIVITY = 0, REFUSED_TIMER = 1 };

static struct ttai_future *refused_future(const struct ttai_wf *wf, int what)
{
    /* Read-only memory: a write to one would fault, not change them all. */
    return (struct ttai_future *)&refused[wf->in_query ? 0 : 1][what];
}

static struct ttai_future *future_new(struct ttai_wf *wf, int kind, uint64_t seq)
{
    struct ttai_future *f = eng_arena_alloc(&wf->arena, sizeof(*f));
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->seq = seq;
    f->result.error_message = "";
    f->next = wf->futures;
    wf->futures = f;
    return f;
}

static struct ttai_future *failed_future(struct ttai_wf *wf, int rc, const char *type,
                                         const char *msg)
{
    struct ttai_future *f = future_new(wf, FUT_ACTIVITY, 0);
    f->done = true;
    f->result.rc = rc;
    snprintf(f->result.error_type, sizeof(f->result.error_type), "%s", type);
    size_t len = strlen(msg);
    char *copy = eng_arena_alloc(&wf->arena, len + 1);
    memcpy(copy, msg, len + 1);
    f->result.error_message = copy;
    return f;
}

static void opts_to_store(const struct ttai_activity_opts *o, struct store_activity_opts *s)
{
    memset(s, 0, sizeof(*s));
    s->schedule_to_close_ms = o->schedule_to_close_ms;
    s->schedule_to_start_ms = o->schedule_to_start_ms;
    s->start_to_close_ms = o->start_to_close_ms;
    s->heartbeat_ms = o->heartbeat_ms;
    s->initial_interval_ms = o->retry_initial_ms;
    s->backoff = o->retry_backoff;
    s->max_interval_ms = o->retry_max_interval_ms;
    s->max_attempts = o->retry_max_attempts;
    for (size_t i = 0; o->non_retryable != NULL && o->non_retryable[i] != NULL &&
                       i < STORE_NON_RETRYABLE_MAX; i++) {
        s->non_retryable[i] = (struct store_bytes){(const uint8_t *)o->non_retryable[i],
                                                   strlen(o->non_retryable[i])};
        s->non_retryable_count = (uint32_t)i + 1;
    }
}

struct ttai_future *ttai_wf_activity_start(struct ttai_wf *wf, const char *type,
                                           struct ttai_payload input,
                                           const struct ttai_activity_opts *opts)
{
    if (refuse_command(wf))
        return refused_future(wf, REFUSED_ACTIVITY);
    static const struct ttai_activity_opts none;
    if (opts == NULL)
        opts = &none;
    if (opts->schedule_to_close_ms <= 0 && opts->start_to_close_ms <= 0)
        return failed_future(wf, TTAI_EINVAL, "InvalidOptions",
                             "an activity needs schedule_to_close_ms or start_to_close_ms");
    struct store_event cmd = {.type = STORE_EV_ACTIVITY_SCHEDULED, .seq = ++wf->seq,
                              .name = keep_str(wf, type), .has_opts = true};
    cmd.payload = keep_bytes(wf, input.data, input.len);
    opts_to_store(opts, &cmd.opts);
    for (uint32_t i = 0; i < cmd.opts.non_retryable_count; i++)
        cmd.opts.non_retryable[i] = keep_bytes(wf, cmd.opts.non_retryable[i].data,
                                               cmd.opts.non_retryable[i].len);
    command(wf, &cmd);
    return future_new(wf, FUT_ACTIVITY, cmd.seq);
}

/* Blocks the coroutine until the predicate holds; checked after every
 * task's inputs have been delivered. Not in a query or signal handler,
 * which runs on its caller's stack, outside the run's coroutine, and takes
 * the state as it is: it never waits. */
#define WAIT_UNTIL(wf, pred)                                                    \
    do {                                                                        \
        while (!(pred) && !refuse_command(wf))                                  \
            eng_coro_yield(&(wf)->coro);                                        \
    } while (0)

int ttai_wf_activity(struct ttai_wf *wf, const char *type, struct ttai_payload input,
                     const struct ttai_activity_opts *opts, struct ttai_result *out)
{
    struct ttai_future *f = ttai_wf_activity_start(wf, type, input, opts);
    WAIT_UNTIL(wf, f->done);
    if (out != NULL)
        *out = f->result;
    return f->result.rc;
}

struct ttai_future *ttai_wf_timer_start(struct ttai_wf *wf, int64_t duration_ms)
{
    if (refuse_command(wf))
        return refused_future(wf, REFUSED_TIMER);
    if (duration_ms < 0)
        duration_ms = 0;
    struct store_event cmd = {.type = STORE_EV_TIMER_STARTED, .seq = ++wf->seq,
                              .fire_ms = ttai_add_sat(wf->task_time_ms, duration_ms)};
    const struct store_event *rec = command(wf, &cmd);
    struct ttai_future *f = future_new(wf, FUT_TIMER, cmd.seq);
    f->fire_ms = rec->fire_ms; /* the recorded time on replay */
    return f;
}

void ttai_wf_activity_cancel(struct ttai_wf *wf, struct ttai_future *activity)
{
    if (activity->kind != FUT_ACTIVITY || activity->done || activity->cancel_sent ||
        activity->seq == 0 || refuse_command(wf))
        return;
    struct store_event cmd = {.type = STORE_EV_ACTIVITY_CANCEL_REQUESTED, .seq = activity->seq};
    command(wf, &cmd);
    activity->cancel_sent = true;
}

void ttai_wf_timer_cancel(struct ttai_wf *wf, struct ttai_future *timer)
{
    if (timer->kind != FUT_TIMER || timer->done || timer->cancel_sent || refuse_command(wf))
        return;
    struct store_event cmd = {.type = STORE_EV_TIMER_CANCELED, .seq = timer->seq,
                              .fire_ms = timer->fire_ms};
    command(wf, &cmd);
    timer->cancel_sent = true;
    timer->done = true;
    timer->result.rc = TTAI_ECANCELED;
}

int ttai_wf_sleep(struct ttai_wf *wf, int64_t duration_ms)
{
    struct ttai_future *t = ttai_wf_timer_start(wf, duration_ms);
    WAIT_UNTIL(wf, t->done || wf->cancel_requested);
    if (!t->done) {
        ttai_wf_timer_cancel(wf, t);
        /* The code has seen the request: awaits need not report it again. */
        wf->cancel_reported = true;
        return TTAI_ECANCELED;
    }
    return t->result.rc;
}

static size_t first_done(struct ttai_future *const *futures, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (futures[i]->done)
            return i;
    return count;
}

size_t ttai_wf_wait_any(struct ttai_wf *wf, struct ttai_future *const *futures, size_t count)
{
    TTAI_ASSERT(count > 0);
    WAIT_UNTIL(wf, first_done(futures, count) < count);
    return first_done(futures, count);
}

static bool all_done(struct ttai_future *const *futures, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!futures[i]->done)
            return false;
    return true;
}

void ttai_wf_wait_all(struct ttai_wf *wf, struct ttai_future *const *futures, size_t count)
{
    WAIT_UNTIL(wf, all_done(futures, count));
}

bool ttai_future_done(const struct ttai_future *f) { return f->done; }
const struct ttai_result *ttai_future_result(const struct ttai_future *f) { return &f->result; }

/* A cancellation request that no await has returned for yet. */
static bool cancel_unreported(const struct ttai_wf *wf)
{
    return wf->cancel_requested && !wf->cancel_reported;
}

static bool version_marker(struct ttai_wf *wf, const char *name);

/* Whether the run's cancellation request ends the calling await: the first
 * await waiting when it comes, or else the next one, and only once per run,
 * so that code which goes on waiting afterwards (clean-up, or a workflow
 * that ignores the request) waits for its condition as before instead of
 * spinning. Histories recorded before awaits ended on a request kept
 * waiting at this point: a marker (as ttai_wf_patched's) tells them apart
 * on replay, so that those runs replay and go on as they began. */
static bool cancel_ends_await(struct ttai_wf *wf)
{
    if (!cancel_unreported(wf) || refuse_command(wf))
        return false;
    wf->cancel_reported = true;
    /* Not "patch:...": no patch id of workflow code can be taken for it. */
    return version_marker(wf, "engine:await-cancel");
}

int ttai_wf_await_rc(struct ttai_wf *wf, ttai_cond_fn cond, void *arg, int64_t timeout_ms)
{
    struct ttai_future *t = NULL; /* started once the await has to wait */
    for (;;) {
        /* The condition wins a tie: a signal delivered with the timer
         * firing or with the request, in the same task, is seen (the
         * request then goes to the next await). The request wins over
         * the timer, so that it is reported once. */
        if (cond(wf->state, arg)) {
            if (t != NULL)
                ttai_wf_timer_cancel(wf, t);
            return TTAI_OK;
        }
        if (cancel_ends_await(wf)) {
            if (t != NULL)
                ttai_wf_timer_cancel(wf, t);
            return TTAI_ECANCELED;
        }
        if (t != NULL && t->done)
            return TTAI_ETIMEDOUT;
        if (refuse_command(wf))
            return TTAI_EPERM; /* it would have to wait */
        if (t == NULL && timeout_ms >= 0)
            t = ttai_wf_timer_start(wf, timeout_ms);
        /* Also after a request that an older history did not end the
         * await on (cancel_ends_await has marked it reported). */
        WAIT_UNTIL(wf, cond(wf->state, arg) || cancel_unreported(wf) || (t != NULL && t->done));
    }
}

bool ttai_wf_await(struct ttai_wf *wf, ttai_cond_fn cond, void *arg, int64_t timeout_ms)
{
    return ttai_wf_await_rc(wf, cond, arg, timeout_ms) == TTAI_OK;
}

/* Records a marker whose value is produced by fill() in a live task and
 * read from history on replay. */
static struct ttai_payload marker(struct ttai_wf *wf, const char *name,
                                  void (*fill)(void *arg, struct ttai_buf *out), void *arg)
{
    struct store_event cmd = {.type = STORE_EV_MARKER_RECORDED, .seq = ++wf->seq,
                              .name = keep_str(wf, name)};
    struct ttai_buf buf;
    ttai_buf_init(&buf);
    if (!wf->replaying) {
        fill(arg, &buf);
        struct ttai_payload p = ttai_buf_payload(&buf);
        cmd.payload = keep_bytes(wf, p.data, p.len);
    }
    ttai_buf_release(&buf);
    const struct store_event *rec = command(wf, &cmd);
    return ttai_wf_keep(wf, (struct ttai_payload){rec->payload.data, rec->payload.len});
}

static void fill_random(void *arg, struct ttai_buf *out)
{
    (void)arg;
    struct ttai_run_id r;
    TTAI_ASSERT(ttai_run_id_random(&r) == 0);
    uint64_t v;
    memcpy(&v, r.b, sizeof(v));
    msgpack_pack_uint64(&out->pk, v);
}

uint64_t ttai_wf_random(struct ttai_wf *wf)
{
    if (refuse_command(wf))
        return 0;
    struct ttai_payload p = marker(wf, "random", fill_random, NULL);
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    uint64_t v = 0;
    if (ttai_payload_unpack(&r, p, &o) == 0 && o.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        v = o.via.u64;
    ttai_reader_release(&r);
    return v;
}

static void fill_uuid(void *arg, struct ttai_buf *out)
{
    (void)arg;
    struct ttai_run_id id;
    char text[TTAI_RUN_ID_TEXT];
    TTAI_ASSERT(ttai_run_id_random(&id) == 0);
    ttai_buf_str(out, ttai_run_id_format(&id, text));
}

void ttai_wf_uuid(struct ttai_wf *wf, char out[TTAI_RUN_ID_TEXT])
{
    out[0] = '\0';
    if (refuse_command(wf))
        return;
    struct ttai_payload p = marker(wf, "uuid", fill_uuid, NULL);
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    if (ttai_payload_unpack(&r, p, &o) == 0)
        ttai_obj_strcpy(&o, out, TTAI_RUN_ID_TEXT);
    ttai_reader_release(&r);
}

struct side_effect_call {
    ttai_side_effect_fn fn;
    void *arg;
};

static void fill_side_effect(void *arg, struct ttai_buf *out)
{
    struct side_effect_call *call = arg;
    call->fn(call->arg, out);
}

struct ttai_payload ttai_wf_side_effect(struct ttai_wf *wf, ttai_side_effect_fn fn, void *arg)
{
    if (refuse_command(wf))
        return (struct ttai_payload){NULL, 0};
    struct side_effect_call call = {fn, arg};
    return marker(wf, "side_effect", fill_side_effect, &call);
}

static void fill_nothing(void *arg, struct ttai_buf *out)
{
    (void)arg;
    ttai_buf_bool(out, true);
}

/* A version marker of the given full name (ttai_wf_patched's, or one of
 * the engine's own). */
static bool version_marker(struct ttai_wf *wf, const char *name)
{
    if (wf->replaying) {
        /* Old histories lack the marker: take the old path, issue nothing. */
        const struct store_event *next =
            wf->expect_pos < wf->expect_count ? &wf->expect[wf->expect_pos] : NULL;
        if (next == NULL || next->type != STORE_EV_MARKER_RECORDED ||
            next->name.len != strlen(name) || memcmp(next->name.data, name, next->name.len) != 0)
            return false;
    }
    marker(wf, name, fill_nothing, NULL);
    return true;
}

bool ttai_wf_patched(struct ttai_wf *wf, const char *patch_id)
{
    if (refuse_command(wf))
        return false;
    char name[160];
    snprintf(name, sizeof(name), "patch:%s", patch_id);
    return version_marker(wf, name);
}

static void TTAI_NORETURN close_with(struct ttai_wf *wf, struct store_event *cmd)
{
    /* Neither can return to code that runs outside the coroutine. */
    TTAI_ASSERT(!wf->in_query && !wf->in_signal);
    cmd->seq = ++wf->seq;
    command(wf, cmd);
    wf->closed = true;
    park_forever(wf);
}

void ttai_wf_complete(struct ttai_wf *wf, struct ttai_payload result)
{
    struct store_event cmd = {.type = STORE_EV_WORKFLOW_COMPLETED,
                              .payload = keep_bytes(wf, result.data, result.len)};
    close_with(wf, &cmd);
}

void ttai_wf_fail(struct ttai_wf *wf, const char *error_type, const char *message)
{
    struct store_event cmd = {.type = STORE_EV_WORKFLOW_FAILED,
                              .failure_type = keep_str(wf, error_type ? error_type : "Error"),
                              .failure_message = keep_str(wf, message ? message : "")};
    close_with(wf, &cmd);
}

void ttai_wf_canceled(struct ttai_wf *wf)
{
    struct store_event cmd = {.type = STORE_EV_WORKFLOW_CANCELED};
    close_with(wf, &cmd);
}

void ttai_wf_continue_as_new(struct ttai_wf *wf, struct ttai_payload input)
{
    struct store_event cmd = {.type = STORE_EV_CONTINUED_AS_NEW,
                              .payload = keep_bytes(wf, input.data, input.len)};
    close_with(wf, &cmd);
}

int64_t eng_run_deadline(int64_t start_ms, int64_t run_timeout_ms, int64_t exec_deadline_ms)
{
    int64_t run_deadline = run_timeout_ms > 0 ? ttai_add_sat(start_ms, run_timeout_ms) : 0;
    if (exec_deadline_ms > 0 && (run_deadline == 0 || exec_deadline_ms < run_deadline))
        return exec_deadline_ms;
    return run_deadline;
}

/* ---- Running the code ----------------------------------------------------------- */

static void coro_main(void *arg)
{
    struct ttai_wf *wf = arg;
    wf->def->run(wf, wf->state, wf->input);
    /* Returning from the workflow function completes it with nil. */
    struct store_event cmd = {.type = STORE_EV_WORKFLOW_COMPLETED};
    cmd.seq = ++wf->seq;
    command(wf, &cmd);
    wf->closed = true;
}

static struct ttai_future *find_future(struct ttai_wf *wf, uint64_t seq)
{
    for (struct ttai_future *f = wf->futures; f != NULL; f = f->next)
        if (f->seq == seq)
            return f;
    return NULL;
}

static void resolve(struct ttai_wf *wf, const struct store_event *ev)
{
    struct ttai_future *f = find_future(wf, ev->seq);
    if (f == NULL || f->done)
        return; /* a timer that was cancelled in the same task it fired */
    f->done = true;
    f->result.attempts = ev->attempt;
    switch (ev->type) {
    case STORE_EV_ACTIVITY_COMPLETED:
        f->result.rc = 0;
        f->result.value = ttai_wf_keep(wf, (struct ttai_payload){ev->payload.data, ev->payload.len});
        return;
    case STORE_EV_TIMER_FIRED:
        f->result.rc = 0;
        return;
    default:
        f->result.rc = ev->type == STORE_EV_ACTIVITY_TIMED_OUT ? TTAI_ETIMEDOUT
                       : ev->type == STORE_EV_ACTIVITY_CANCELED ? TTAI_ECANCELED : TTAI_EIO;
        snprintf(f->result.error_type, sizeof(f->result.error_type), "%.*s",
                 (int)ev->failure_type.len, (const char *)ev->failure_type.data);
        char *msg = eng_arena_alloc(&wf->arena, ev->failure_message.len + 1);
        memcpy(msg, ev->failure_message.data, ev->failure_message.len);
        msg[ev->failure_message.len] = '\0';
        f->result.error_message = msg;
        return;
    }
}

/* Delivers one input event to the run's state. */
static void deliver(struct ttai_wf *wf, const struct store_event *ev)
{
    switch (ev->type) {
    case STORE_EV_WORKFLOW_STARTED:
        wf->input = ttai_wf_keep(wf, (struct ttai_payload){ev->payload.data, ev->payload.len});
        wf->exec_deadline_ms = ev->fire_ms;
        wf->run_timeout_ms = ev->run_timeout_ms;
        wf->run_deadline_ms = eng_run_deadline(ev->time_ms, ev->run_timeout_ms, ev->fire_ms);
        if (!wf->coro_ready && !wf->coro_failed) {
            /* Out of address space or mappings is an operating error: the
             * engine drops the run from memory and retries it later. */
            if (eng_coro_init(&wf->coro, WF_STACK_BYTES, coro_main, wf) == 0)
                wf->coro_ready = true;
            else
                wf->coro_failed = true;
        }
        break;
    case STORE_EV_SIGNAL_RECEIVED: {
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)ev->name.len, (const char *)ev->name.data);
        const struct ttai_signal_def *sig = eng_find_signal(wf->def, name);
        if (sig != NULL) { /* names are checked before a signal is recorded */
            wf->in_signal = true;
            sig->handle(wf, wf->state,
                        ttai_wf_keep(wf, (struct ttai_payload){ev->payload.data, ev->payload.len}));
            wf->in_signal = false;
        }
        break;
    }
    case STORE_EV_CANCEL_REQUESTED:
        wf->cancel_requested = true;
        break;
    default:
        resolve(wf, ev);
        break;
    }
}

/* Delivers the inputs among events (consecutive ids from events[0]) whose
 * ids are in (processed_through, through]. */
static void deliver_through(struct ttai_wf *wf, const struct store_event *events, size_t count,
                            uint64_t through)
{
    if (count == 0)
        return;
    uint64_t base = events[0].event_id;
    for (uint64_t id = wf->processed_through + 1; id <= through; id++) {
        if (id < base)
            continue;
        if (id - base >= count)
            break;
        if (eng_event_is_input(events[id - base].type))
            deliver(wf, &events[id - base]);
    }
    if (through > wf->processed_through)
        wf->processed_through = through;
}

static void resume(struct ttai_wf *wf)
{
    if (wf->coro_ready && !wf->coro.finished && !wf->closed && !wf->nondet)
        eng_coro_resume(&wf->coro);
}

int eng_run_replay(struct ttai_wf *wf, const struct store_event *events, size_t count,
                   uint64_t until_id)
{
    if (until_id == 0 || until_id > count)
        until_id = count;
    wf->replaying = true;
    wf->last_event_id = until_id;
    for (size_t t = 0; t < until_id && !wf->nondet; t++) {
        const struct store_event *task = &events[t];
        if (task->type != STORE_EV_TASK_COMPLETED)
            continue;
        size_t n = 0;
        while (t + 1 + n < count && eng_event_is_command(events[t + 1 + n].type))
            n++;
        /* Only whole tasks are replayed: a task whose commands reach past
         * until_id happened after the point asked for. */
        if (t + n >= until_id)
            break;
        deliver_through(wf, events, count, task->ref_event_id);
        wf->expect = &events[t + 1];
        wf->expect_count = n;
        wf->expect_pos = 0;
        wf->task_time_ms = task->time_ms;
        resume(wf);
        if (!wf->nondet && wf->expect_pos < n)
            set_nondet(wf, &wf->expect[wf->expect_pos], NULL);
        t += n;
    }
    /* With until_id, deliver the inputs up to it so queries see them. */
    if (until_id < count && !wf->nondet)
        deliver_through(wf, events, count, until_id);
    wf->replaying = false;
    wf->expect = NULL;
    wf->expect_count = wf->expect_pos = 0;
    return wf->nondet ? TTAI_ENONDET : TTAI_OK;
}

void eng_run_task(struct ttai_wf *wf, const struct store_event *events, size_t count,
                  int64_t now_ms)
{
    wf->cmd_count = 0;
    wf->task_time_ms = now_ms;
    if (count > 0) {
        wf->last_event_id = events[count - 1].event_id;
        deliver_through(wf, events, count, wf->last_event_id);
    }
    resume(wf);
}

int eng_run_query(struct ttai_wf *wf, const char *name, struct ttai_payload args,
                  struct ttai_buf *answer, struct ttai_err *err)
{
    const struct ttai_query_def *q = eng_find_query(wf->def, name);
    if (q == NULL)
        return ttai_errf(err, TTAI_ENOTFOUND, "workflow type '%s' has no query '%s'",
                         wf->def->type, name);
    wf->in_query = true;
    int rc = q->answer(wf, wf->state, args, answer, err);
    wf->in_query = false;
    return rc;
}

/* ---- Loading a history ------------------------------------------------------- */

int eng_history_load(struct store_read *rd, const struct ttai_run_id *run, uint64_t from_id,
                     struct eng_arena *arena, struct store_event **events, size_t *count,
                     struct ttai_err *err)
{
    uint64_t last;
    int rc = store_last_event_id(rd, run, &last, err);
    if (rc != 0)
        return rc;
    if (from_id == 0)
        from_id = 1;
    size_t want = last >= from_id ? (size_t)(last - from_id + 1) : 0;
    struct store_event *evs = eng_arena_alloc(arena, (want ? want : 1) * sizeof(*evs));
    struct store_iter it;
    rc = store_hist_iter_init(&it, rd, run, from_id, err);
    size_t n = 0;
    while (rc == 0 && n < want) {
        int more = store_hist_iter_next(&it, &evs[n], err);
        if (more < 0)
            rc = more;
        if (more <= 0)
            break;
        if (evs[n].event_id != from_id + n) {
            rc = ttai_errf(err, TTAI_ECORRUPT, "history has event %" PRIu64 " where %" PRIu64
                           " belongs", evs[n].event_id, from_id + n);
            break;
        }
        /* Copy every borrowed range out of the read. */
        struct store_event *e = &evs[n];
        struct store_bytes *ranges[] = {&e->name, &e->payload, &e->failure_type,
                                        &e->failure_message, &e->details};
        for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
            if (ranges[i]->len == 0)
                continue;
            uint8_t *copy = eng_arena_alloc(arena, ranges[i]->len);
            memcpy(copy, ranges[i]->data, ranges[i]->len);
            ranges[i]->data = copy;
        }
        e->has_opts = false; /* options are read from the activity record */
        n++;
    }
    store_iter_release(&it);
    *events = evs;
    *count = n;
    return rc;
}
