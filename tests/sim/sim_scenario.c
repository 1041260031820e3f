/* sim_scenario.c: one scenario: seeded operations on a test environment,
 * the model of what was acknowledged, and recovery after storage faults.
 *
 * A step is one operation followed by a settle: every workflow task and
 * activity attempt that is ready runs to completion before the next step,
 * so the order in which the engine's threads finish within a step cannot
 * change what the next step sees (the clock only moves when a step says
 * so). When the store has latched after an injected fault, the step ends
 * with a restart, which is the documented recovery.
 *
 * Error contract the steps expect (docs/reliability.md):
 *   - 0: acknowledged, so durable: the model records it;
 *   - TTAI_EIO, TTAI_ENOSPC, TTAI_EFATAL: only while the store is latched
 *     after an injected fault; nothing of the request may be stored;
 *   - TTAI_ECLOSED: only for a workflow the model knows may be closed (a
 *     counter after an acknowledged stop or cancel);
 *   - anything else is a failure of the engine.
 */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sim_fail(struct sim *sim, const char *fmt, ...)
{
    if (sim->failure[0] != '\0')
        return -1; /* keep the first: later ones are usually its echoes */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sim->failure, sizeof(sim->failure), fmt, ap);
    va_end(ap);
    return -1;
}

static struct ttai_engine *engine(struct sim *sim) { return ttai_testenv_engine(sim->env); }

static bool latched(struct sim *sim)
{
    return store_failure(ttai_engine_store(engine(sim)), NULL) != 0;
}

static bool storage_error(int rc)
{
    return rc == TTAI_EIO || rc == TTAI_ENOSPC || rc == TTAI_EFATAL;
}

/* A refusal is expected only while the store is latched. */
static int expect_refusal(struct sim *sim, const char *what, int rc, const struct ttai_err *err)
{
    if (storage_error(rc) && latched(sim))
        return 0;
    return sim_fail(sim, "%s: unexpected %s: %s", what, ttai_rc_name(rc), err->msg);
}

static void verbose(struct sim *sim, const char *fmt, ...) TTAI_PRINTF(2, 3);
static void verbose(struct sim *sim, const char *fmt, ...)
{
    if (!sim->opts->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "step %u: ", sim->step);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A counter closes on an acknowledged stop or cancel (a stop in the same
 * task wins: completed). */
static bool counter_may_be_closed(const struct sim_wf *w)
{
    return w->stop_acked || w->cancel_acked;
}

/* A started workflow of the given kind (0: any), or NULL; with
 * open_counter_only, no counter that may be closed. */
static struct sim_wf *pick(struct sim *sim, int kind, bool open_counter_only)
{
    struct sim_wf *c[SIM_WF_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < sim->wf_count; i++) {
        struct sim_wf *w = &sim->wfs[i];
        if (!w->started || (kind != 0 && w->kind != kind))
            continue;
        if (open_counter_only && counter_may_be_closed(w))
            continue;
        c[n++] = w;
    }
    return n == 0 ? NULL : c[sim_rng_below(&sim->rng, n)];
}

/* ---- Operations --------------------------------------------------------------- */

static int op_start(struct sim *sim, int kind)
{
    if (sim->wf_count == SIM_WF_MAX)
        return 0;
    struct sim_wf *w = &sim->wfs[sim->wf_count];
    memset(w, 0, sizeof(*w));
    w->kind = kind;
    snprintf(w->id, sizeof(w->id), "%c%u", kind == SIM_COUNTER ? 'c' : 't', sim->wf_count);
    sim->wf_count++;
    struct ttai_buf in;
    ttai_buf_init(&in);
    if (kind == SIM_COUNTER) {
        w->every = (int64_t)sim_rng_below(&sim->rng, 5); /* 0: never continues */
        ttai_buf_map(&in, 1);
        ttai_buf_str(&in, "every");
        ttai_buf_int(&in, w->every);
    } else {
        w->steps = 1 + (int64_t)sim_rng_below(&sim->rng, 5);
        int64_t sleep_ms = (int64_t)sim_rng_below(&sim->rng, 3) * 2000;
        int64_t fail_pct = (int64_t)sim_rng_below(&sim->rng, 4) * 20;
        int64_t can_every = (int64_t)sim_rng_below(&sim->rng, 3);
        ttai_buf_map(&in, 5);
        ttai_buf_str(&in, "steps");
        ttai_buf_int(&in, w->steps);
        ttai_buf_str(&in, "sleep_ms");
        ttai_buf_int(&in, sleep_ms);
        ttai_buf_str(&in, "fail_pct");
        ttai_buf_int(&in, fail_pct);
        ttai_buf_str(&in, "can_every");
        ttai_buf_int(&in, can_every);
        ttai_buf_str(&in, "done");
        ttai_buf_int(&in, 0);
    }
    struct ttai_start_opts so = {0};
    struct ttai_err err = {0};
    int rc = ttai_engine_start(engine(sim), SIM_NS, kind == SIM_COUNTER ? "counter" : "torture",
                               w->id, ttai_buf_payload(&in), &so, NULL, &err);
    ttai_buf_release(&in);
    verbose(sim, "start %s: %s", w->id, ttai_rc_name(rc));
    sim->stats->starts++;
    if (rc == 0) {
        w->started = true;
        return 0;
    }
    w->start_refused = true;
    return expect_refusal(sim, "start", rc, &err);
}

/* A second start of a running counter's id must be refused as a conflict. */
static int op_start_again(struct sim *sim)
{
    struct sim_wf *w = pick(sim, SIM_COUNTER, true);
    if (w == NULL)
        return 0;
    struct ttai_start_opts so = {0};
    struct ttai_err err = {0};
    struct ttai_buf in;
    ttai_buf_init(&in);
    ttai_buf_map(&in, 0);
    int rc = ttai_engine_start(engine(sim), SIM_NS, "counter", w->id, ttai_buf_payload(&in), &so,
                               NULL, &err);
    ttai_buf_release(&in);
    verbose(sim, "start again %s: %s", w->id, ttai_rc_name(rc));
    if (rc == TTAI_EEXIST)
        return 0;
    if (rc == 0)
        return sim_fail(sim, "second start of running workflow '%s' was accepted", w->id);
    return expect_refusal(sim, "start again", rc, &err);
}

static int op_add(struct sim *sim)
{
    /* Counters whose start was refused are picked too: they must answer
     * not found. */
    struct sim_wf *c[SIM_WF_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < sim->wf_count; i++)
        if (sim->wfs[i].kind == SIM_COUNTER && sim->wfs[i].add_count < SIM_ADDS_MAX &&
            sim->wfs[i].refused_count < SIM_ADDS_MAX)
            c[n++] = &sim->wfs[i];
    if (n == 0)
        return 0;
    struct sim_wf *w = c[sim_rng_below(&sim->rng, n)];
    int64_t v = ++sim->next_value;
    struct ttai_buf args;
    ttai_buf_init(&args);
    ttai_buf_int(&args, v);
    struct ttai_err err = {0};
    int rc = ttai_engine_signal(engine(sim), SIM_NS, w->id, NULL, "add", ttai_buf_payload(&args),
                                &err);
    ttai_buf_release(&args);
    verbose(sim, "add %" PRId64 " to %s: %s", v, w->id, ttai_rc_name(rc));
    sim->stats->signals++;
    if (rc == 0) {
        if (!w->started)
            return sim_fail(sim, "add to '%s', whose start was refused, was accepted", w->id);
        if (sim->opts->self_test && !sim->dropped) {
            sim->dropped = true; /* the deliberate violation: forget an acknowledged add */
            return 0;
        }
        w->adds[w->add_count++] = v;
        w->total += v;
        return 0;
    }
    w->refused[w->refused_count++] = v;
    if (rc == TTAI_ENOTFOUND && !w->started)
        return 0;
    if (rc == TTAI_ECLOSED && counter_may_be_closed(w))
        return 0;
    return expect_refusal(sim, "add", rc, &err);
}

static int op_stop(struct sim *sim)
{
    struct sim_wf *w = pick(sim, SIM_COUNTER, true);
    if (w == NULL)
        return 0;
    struct ttai_err err = {0};
    int rc = ttai_engine_signal(engine(sim), SIM_NS, w->id, NULL, "stop",
                                (struct ttai_payload){NULL, 0}, &err);
    verbose(sim, "stop %s: %s", w->id, ttai_rc_name(rc));
    sim->stats->signals++;
    if (rc == 0) {
        w->stop_acked = true;
        return 0;
    }
    if (rc == TTAI_ECLOSED && counter_may_be_closed(w))
        return 0;
    return expect_refusal(sim, "stop", rc, &err);
}

static int op_cancel(struct sim *sim)
{
    struct sim_wf *w = pick(sim, 0, false);
    if (w == NULL)
        return 0;
    struct ttai_err err = {0};
    int rc = ttai_engine_cancel(engine(sim), SIM_NS, w->id, NULL, "sim", &err);
    verbose(sim, "cancel %s: %s", w->id, ttai_rc_name(rc));
    sim->stats->cancels++;
    if (rc == 0) {
        w->cancel_acked = true;
        return 0;
    }
    /* A torture workflow may have completed meanwhile; a counter closes
     * only after a stop or a cancel. */
    if (rc == TTAI_ECLOSED && (w->kind == SIM_TORTURE || counter_may_be_closed(w)))
        return 0;
    return expect_refusal(sim, "cancel", rc, &err);
}

static int op_advance(struct sim *sim)
{
    uint64_t r = sim_rng_below(&sim->rng, 10);
    int64_t ms = (int64_t)sim_rng_below(&sim->rng, r < 6 ? 2000 : r < 9 ? 20000 : 600000);
    int rc = ttai_testenv_advance(sim->env, ms);
    verbose(sim, "advance %" PRId64 " ms: %s", ms, ttai_rc_name(rc));
    sim->stats->advances++;
    if (rc != 0 && !latched(sim))
        return sim_fail(sim, "advance of %" PRId64 " ms failed: %s", ms, ttai_rc_name(rc));
    return 0;
}

static int restart(struct sim *sim, int64_t outage_ms)
{
    struct ttai_err err = {0};
    int rc = outage_ms > 0 ? ttai_testenv_outage(sim->env, outage_ms, &err)
                           : ttai_testenv_restart(sim->env, &err);
    if (rc != 0)
        return sim_fail(sim, "reopening the engine failed: %s", err.msg);
    sim_fault_install(engine(sim));
    sim->stats->restarts++;
    sim->stats->outages += outage_ms > 0;
    return 0;
}

static int op_fault(struct sim *sim)
{
    uint32_t after = 1 + (uint32_t)sim_rng_below(&sim->rng, 4);
    int e = sim_rng_below(&sim->rng, 2) ? EIO : ENOSPC;
    verbose(sim, "arm fault: commit %u from now fails with %s", after, e == EIO ? "EIO" : "ENOSPC");
    sim_fault_arm(after, e);
    return 0;
}

/* Operation weights, out of 100. */
static int step_op(struct sim *sim)
{
    uint64_t r = sim_rng_below(&sim->rng, 100);
    if (r < 12)
        return op_start(sim, SIM_COUNTER);
    if (r < 20)
        return op_start(sim, SIM_TORTURE);
    if (r < 23)
        return op_start_again(sim);
    if (r < 50)
        return op_add(sim);
    if (r < 55)
        return op_stop(sim);
    if (r < 59)
        return op_cancel(sim);
    if (r < 80)
        return op_advance(sim);
    if (r < 86) {
        verbose(sim, "restart");
        return restart(sim, 0);
    }
    if (r < 90) {
        int64_t ms = (int64_t)sim_rng_below(&sim->rng, 120000);
        verbose(sim, "outage of %" PRId64 " ms", ms);
        return restart(sim, ms);
    }
    return op_fault(sim);
}

/* ---- Steps ---------------------------------------------------------------------- */

/* Settles the engine; a store latched by an injected fault (during the
 * operation or the settle) is recovered by restarting. Bounded: each
 * recovery consumes the armed fault. */
static int settle(struct sim *sim)
{
    for (int round = 0; round < 4; round++) {
        uint64_t fired = sim_fault_fired_take();
        sim->stats->store_faults += fired;
        if (latched(sim)) {
            if (fired == 0)
                return sim_fail(sim, "the store latched without an injected fault");
            verbose(sim, "store latched: restart");
            if (restart(sim, 0) != 0)
                return -1;
        }
        int rc = ttai_testenv_settle(sim->env);
        if (rc == 0 && !latched(sim))
            return 0;
        if (rc != 0 && !latched(sim))
            return sim_fail(sim, "settle failed: %s", ttai_rc_name(rc));
    }
    return sim_fail(sim, "the engine did not recover from a storage fault in 4 restarts");
}

static int step_check(struct sim *sim)
{
    if (sim_check_histories(sim, false) != 0)
        return -1;
    return sim_check_queries(sim);
}

static bool all_closed(struct sim *sim)
{
    for (uint32_t i = 0; i < sim->wf_count; i++) {
        if (!sim->wfs[i].started)
            continue;
        struct ttai_run_info info;
        struct ttai_err err;
        if (ttai_engine_describe(engine(sim), SIM_NS, sim->wfs[i].id, NULL, &info, &err) != 0 ||
            info.status == STORE_RUN_RUNNING || info.status == STORE_RUN_CONTINUED_AS_NEW)
            return false;
    }
    return true;
}

/* Stops every counter and lets virtual time run until every workflow
 * closed; then the final checks. */
static int finish(struct sim *sim)
{
    sim_fault_disarm();
    if (settle(sim) != 0)
        return -1;
    for (uint32_t i = 0; i < sim->wf_count; i++) {
        struct sim_wf *w = &sim->wfs[i];
        if (w->kind != SIM_COUNTER || !w->started || w->stop_acked)
            continue;
        struct ttai_err err = {0};
        int rc = ttai_engine_signal(engine(sim), SIM_NS, w->id, NULL, "stop",
                                    (struct ttai_payload){NULL, 0}, &err);
        if (rc == TTAI_ECLOSED && w->cancel_acked)
            continue; /* canceled */
        if (rc != 0)
            return sim_fail(sim, "final stop of '%s' failed: %s", w->id, err.msg);
        w->stop_acked = true;
    }
    for (int i = 0; i < 200 && !all_closed(sim); i++)
        if (ttai_testenv_advance(sim->env, 60000) != 0)
            return sim_fail(sim, "final advance failed");
    if (!all_closed(sim))
        return sim_fail(sim, "workflows still open after 200 virtual minutes");
    if (sim_check_histories(sim, true) != 0)
        return -1;
    return sim_check_queries(sim);
}

int sim_scenario_run(struct sim *sim)
{
    struct ttai_err err = {0};
    sim->rng.state = sim->seed;
    sim->failure[0] = '\0';
    sim_activity_seed(sim->seed);
    sim_fault_disarm();
    (void)sim_fault_fired_take();  /* a previous scenario's leftovers */
    (void)sim_activity_faults_take();
    sim->step = 0;
    sim->wf_count = 0;
    sim->next_value = 0;
    memset(sim->wfs, 0, sizeof(sim->wfs));
    if (ttai_testenv_open(&sim->env, sim->dir, &sim_registry, SIM_T0_MS, &err) != 0)
        return sim_fail(sim, "cannot open a test environment in '%s': %s", sim->dir, err.msg);
    sim_fault_install(engine(sim));
    int rc = 0;
    for (sim->step = 1; rc == 0 && sim->step <= sim->opts->steps; sim->step++) {
        rc = step_op(sim);
        if (rc == 0)
            rc = settle(sim);
        if (rc == 0)
            rc = step_check(sim);
        sim->stats->steps++;
    }
    if (rc == 0) {
        sim->step = sim->opts->steps + 1; /* the final phase */
        rc = finish(sim);
    } else {
        sim->step--; /* the loop moved past the failing step */
    }
    sim->stats->act_faults += sim_activity_faults_take();
    sim->stats->store_faults += sim_fault_fired_take();
    sim_fault_disarm();
    ttai_testenv_close(sim->env);
    sim->env = NULL;
    return rc;
}
