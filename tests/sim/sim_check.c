/* sim_check.c: the invariants, checked against the store and the engine.
 *
 *   S1  every acknowledged start is stored; a refused start stored nothing
 *   S2  every acknowledged "add" is in exactly one SignalReceived event of
 *       its workflow's runs; no refused or unknown add is recorded
 *   S3  a workflow closes at most once (one WorkflowCompleted, Failed,
 *       Canceled, Terminated or TimedOut over its runs), nothing follows a
 *       run's closing event, and at most one run of an id is open
 *   S4  (final) every workflow closed exactly once: a counter completed with
 *       the sum of its acknowledged adds, or was canceled if a cancel was
 *       acknowledged; a torture workflow completed with its steps (or was
 *       canceled after an acknowledged cancel)
 *   S5  (final) every stored run replays with the engine's replay
 *       (ttai_replay_store, what `ttai-history replay` runs), and the
 *       replayed counter (its last run, completed or canceled) answers the
 *       query "value" with the model's total
 *   S6  after every step, the engine's query "value" of a counter equals
 *       the sum of its acknowledged adds
 */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* What the histories of one workflow id showed. */
struct seen {
    uint8_t adds[SIM_ADDS_MAX];   /* times each acknowledged add was recorded */
    uint32_t runs, open_runs, closes;
    int close_type;               /* the last non-continue close event */
    int64_t result;               /* its payload: the counter's total, torture's steps */
};

static struct sim_wf *wf_find(struct sim *sim, const char *id)
{
    for (uint32_t i = 0; i < sim->wf_count; i++)
        if (strcmp(sim->wfs[i].id, id) == 0)
            return &sim->wfs[i];
    return NULL;
}

static bool payload_int(struct store_bytes p, const char *key, int64_t *out)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    bool ok = ttai_payload_unpack(&r, (struct ttai_payload){p.data, p.len}, &o) == 0 &&
              ttai_obj_int(key != NULL ? ttai_obj_get(&o, key) : &o, out);
    ttai_reader_release(&r);
    return ok;
}

static bool final_close(int type)
{
    return store_event_type_closes_run(type) && type != STORE_EV_CONTINUED_AS_NEW;
}

static int check_add(struct sim *sim, struct sim_wf *w, struct seen *s, const struct store_event *ev)
{
    int64_t v;
    if (!payload_int(ev->payload, NULL, &v))
        return sim_fail(sim, "'%s': add event %" PRIu64 " has no integer", w->id, ev->event_id);
    for (uint32_t i = 0; i < w->add_count; i++) {
        if (w->adds[i] != v)
            continue;
        if (++s->adds[i] > 1)
            return sim_fail(sim, "S2: add %" PRId64 " to '%s' is recorded twice", v, w->id);
        return 0;
    }
    for (uint32_t i = 0; i < w->refused_count; i++)
        if (w->refused[i] == v)
            return sim_fail(sim, "S2: add %" PRId64 " to '%s' was refused but is recorded", v,
                            w->id);
    return sim_fail(sim, "S2: add %" PRId64 " to '%s' is recorded but was never acknowledged", v,
                    w->id);
}

/* Walks one run's history into s. */
static int scan_run(struct sim *sim, struct store_read *rd, const struct store_run *run,
                    struct sim_wf *w, struct seen *s)
{
    struct ttai_err err = {0};
    struct store_iter it;
    int rc = store_hist_iter_init(&it, rd, &run->run_id, 1, &err);
    bool closed = false;
    struct store_event ev;
    while (rc == 0 && (rc = store_hist_iter_next(&it, &ev, &err)) == 1) {
        rc = 0;
        if (closed) {
            rc = sim_fail(sim, "S3: '%s' has event %" PRIu64 " after its run closed", w->id,
                          ev.event_id);
            break;
        }
        closed = store_event_type_closes_run(ev.type);
        if (ev.type == STORE_EV_SIGNAL_RECEIVED && ev.name.len == 3 &&
            memcmp(ev.name.data, "add", 3) == 0)
            rc = check_add(sim, w, s, &ev);
        if (final_close(ev.type)) {
            s->closes++;
            s->close_type = ev.type;
            s->result = -1;
            if (ev.type == STORE_EV_WORKFLOW_COMPLETED)
                (void)payload_int(ev.payload, w->kind == SIM_TORTURE ? "steps" : NULL, &s->result);
        }
    }
    store_iter_release(&it);
    if (rc < 0 && sim->failure[0] == '\0')
        return sim_fail(sim, "reading the history of '%s': %s", w->id, err.msg);
    return rc < 0 ? -1 : 0;
}

static int check_final(struct sim *sim, struct sim_wf *w, const struct seen *s)
{
    if (s->closes != 1)
        return sim_fail(sim, "S4: '%s' closed %u times", w->id, s->closes);
    if (w->kind == SIM_COUNTER) {
        /* A counter waits for signals, so an acknowledged cancel ends it
         * (the step settles before the next one could stop it); its total
         * is checked by its replay's query (S5). */
        if (w->cancel_acked) {
            if (s->close_type != STORE_EV_WORKFLOW_CANCELED)
                return sim_fail(sim, "S4: counter '%s' closed with %s after an acknowledged cancel",
                                w->id, store_event_type_name(s->close_type));
            return 0;
        }
        if (s->close_type != STORE_EV_WORKFLOW_COMPLETED || s->result != w->total)
            return sim_fail(sim, "S4: counter '%s' closed with %s %" PRId64 ", the model has %" PRId64,
                            w->id, store_event_type_name(s->close_type), s->result, w->total);
        return 0;
    }
    if (s->close_type == STORE_EV_WORKFLOW_CANCELED && w->cancel_acked)
        return 0;
    if (s->close_type != STORE_EV_WORKFLOW_COMPLETED || s->result != w->steps)
        return sim_fail(sim, "S4: torture '%s' closed with %s %" PRId64 ", expected %" PRId64 " steps",
                        w->id, store_event_type_name(s->close_type), s->result, w->steps);
    return 0;
}

/* Replays one run; for a counter's closed last run, compares its query. */
static int replay_run(struct sim *sim, const struct store_run *run, struct sim_wf *w)
{
    struct store *store = ttai_engine_store(ttai_testenv_engine(sim->env));
    bool ask = w->kind == SIM_COUNTER &&
               (run->status == STORE_RUN_COMPLETED || run->status == STORE_RUN_CANCELED);
    struct ttai_buf answer;
    ttai_buf_init(&answer);
    struct ttai_err err = {0};
    int rc = ttai_replay_store(store, &sim_registry, SIM_NS, w->id, &run->run_id, 0,
                               ask ? "value" : NULL, (struct ttai_payload){NULL, 0}, &answer, &err);
    sim->stats->replays++;
    int64_t v = 0;
    struct ttai_payload p = ttai_buf_payload(&answer);
    bool got = ask && rc == 0 && payload_int((struct store_bytes){p.data, p.len}, NULL, &v);
    ttai_buf_release(&answer);
    if (rc != 0)
        return sim_fail(sim, "S5: replay of a run of '%s' failed: %s", w->id, err.msg);
    if (ask && (!got || v != w->total))
        return sim_fail(sim, "S5: replayed counter '%s' answers %" PRId64 ", the model has %" PRId64,
                        w->id, v, w->total);
    return 0;
}

/* Copies the runs of the simulator's namespace out of a read. */
static int runs_collect(struct sim *sim, struct store_read *rd, struct store_run **out,
                        size_t *count)
{
    struct ttai_err err = {0};
    struct store_iter it;
    size_t cap = 0;
    int rc = store_run_iter_init(&it, rd, &err);
    struct store_run run;
    while (rc == 0 && (rc = store_run_iter_next(&it, &run, &err)) == 1) {
        rc = 0;
        if (strcmp(run.ns, SIM_NS) != 0)
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            struct store_run *grown = ttai_realloc(*out, cap * sizeof(**out));
            TTAI_ASSERT(grown != NULL);
            *out = grown;
        }
        (*out)[(*count)++] = run;
    }
    store_iter_release(&it);
    if (rc < 0)
        return sim_fail(sim, "listing runs: %s", err.msg);
    return 0;
}

static int check_runs(struct sim *sim, struct store_read *rd, const struct store_run *runs,
                      size_t count, struct seen *seen)
{
    for (size_t i = 0; i < count; i++) {
        struct sim_wf *w = wf_find(sim, runs[i].workflow_id);
        if (w == NULL)
            return sim_fail(sim, "S1: unknown workflow '%s' is stored", runs[i].workflow_id);
        if (!w->started)
            return sim_fail(sim, "S1: '%s' is stored but its start was refused", w->id);
        struct seen *s = &seen[w - sim->wfs];
        s->runs++;
        s->open_runs += runs[i].status == STORE_RUN_RUNNING;
        if (scan_run(sim, rd, &runs[i], w, s) != 0)
            return -1;
    }
    return 0;
}

static int check_model(struct sim *sim, const struct seen *seen, bool final)
{
    for (uint32_t i = 0; i < sim->wf_count; i++) {
        struct sim_wf *w = &sim->wfs[i];
        const struct seen *s = &seen[i];
        if (!w->started)
            continue;
        if (s->runs == 0)
            return sim_fail(sim, "S1: acknowledged start of '%s' is not stored", w->id);
        if (s->closes > 1 || s->open_runs > 1)
            return sim_fail(sim, "S3: '%s' closed %u times, %u runs open", w->id, s->closes,
                            s->open_runs);
        for (uint32_t a = 0; a < w->add_count; a++)
            if (s->adds[a] == 0)
                return sim_fail(sim, "S2: acknowledged add %" PRId64 " to '%s' is not recorded",
                                w->adds[a], w->id);
        if (final && check_final(sim, w, s) != 0)
            return -1;
    }
    return 0;
}

int sim_check_histories(struct sim *sim, bool final)
{
    struct store *store = ttai_engine_store(ttai_testenv_engine(sim->env));
    struct ttai_err err = {0};
    struct store_read *rd = NULL;
    if (store_read_begin(store, &rd, &err) != 0)
        return sim_fail(sim, "cannot read the store: %s", err.msg);
    struct store_run *runs = NULL;
    size_t count = 0;
    struct seen seen[SIM_WF_MAX];
    memset(seen, 0, sizeof(seen));
    int rc = runs_collect(sim, rd, &runs, &count);
    if (rc == 0)
        rc = check_runs(sim, rd, runs, count, seen);
    store_read_end(rd);
    if (rc == 0)
        rc = check_model(sim, seen, final);
    for (size_t i = 0; final && rc == 0 && i < count; i++)
        rc = replay_run(sim, &runs[i], wf_find(sim, runs[i].workflow_id));
    ttai_free(runs);
    return rc;
}

int sim_check_queries(struct sim *sim)
{
    for (uint32_t i = 0; i < sim->wf_count; i++) {
        struct sim_wf *w = &sim->wfs[i];
        if (w->kind != SIM_COUNTER || !w->started)
            continue;
        struct ttai_buf answer;
        ttai_buf_init(&answer);
        struct ttai_err err = {0};
        int rc = ttai_engine_query(ttai_testenv_engine(sim->env), SIM_NS, w->id, NULL, "value",
                                   (struct ttai_payload){NULL, 0}, &answer, &err);
        sim->stats->queries++;
        int64_t v = 0;
        struct ttai_payload p = ttai_buf_payload(&answer);
        bool got = rc == 0 && payload_int((struct store_bytes){p.data, p.len}, NULL, &v);
        ttai_buf_release(&answer);
        if (rc != 0)
            return sim_fail(sim, "S6: query of '%s' failed: %s", w->id, err.msg);
        if (!got || v != w->total)
            return sim_fail(sim, "S6: counter '%s' answers %" PRId64 ", the model has %" PRId64,
                            w->id, v, w->total);
    }
    return 0;
}
