/* sim_activity.c: the simulator's activity and its storage fault hook.
 *
 * The torture sample's own "sink_effect" decides its failures from the
 * idempotency key, which contains the run id, and run ids are random: the
 * same seed would then see other failures. The simulator registers its own
 * "sink_effect" under the same type, deciding from (seed, workflow id,
 * sequence number, attempt) only, which a seed fixes.
 *
 * State here is process-wide because activities and the store hook take no
 * pointer the simulator controls across engine restarts; the simulator runs
 * one scenario at a time.
 */
#include "sim.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

uint64_t sim_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t sim_rng_next(struct sim_rng *rng)
{
    rng->state += 0x9e3779b97f4a7c15ULL;
    return sim_mix64(rng->state);
}

uint64_t sim_rng_below(struct sim_rng *rng, uint64_t n)
{
    return sim_rng_next(rng) % n; /* the bias is far below what matters here */
}

/* ---- sink_effect ------------------------------------------------------------- */

static _Atomic uint64_t act_seed;
static _Atomic uint64_t act_faults;

void sim_activity_seed(uint64_t seed) { atomic_store(&act_seed, seed); }
uint64_t sim_activity_faults_take(void) { return atomic_exchange(&act_faults, 0); }

/* 0..99 from the seed, the workflow id and the sequence number in the key
 * "<workflow id>/<run id>/<seq>", and the attempt. */
static int failure_roll(const char *key, uint32_t attempt)
{
    const char *first = strchr(key, '/');
    const char *last = strrchr(key, '/');
    size_t id_len = first != NULL ? (size_t)(first - key) : strlen(key);
    uint64_t h = atomic_load(&act_seed);
    for (size_t i = 0; i < id_len; i++)
        h = sim_mix64(h ^ (uint8_t)key[i]);
    for (const char *p = last != NULL ? last + 1 : ""; *p != '\0'; p++)
        h = sim_mix64(h ^ (uint8_t)*p);
    return (int)(sim_mix64(h ^ attempt) % 100);
}

static int sim_sink_effect(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                           struct ttai_buf *out)
{
    int64_t fail_pct = 0;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    if (ttai_payload_unpack(&r, input, &o) == 0)
        ttai_obj_int(ttai_obj_get(&o, "fail_pct"), &fail_pct);
    ttai_reader_release(&r);
    const char *key = ttai_activity_idempotency_key(ctx);
    if (failure_roll(key, ttai_activity_attempt(ctx)) < fail_pct) {
        atomic_fetch_add(&act_faults, 1);
        return ttai_activity_fail(ctx, "Injected", true, "injected failure");
    }
    ttai_buf_str(out, key);
    return 0;
}

static const struct ttai_activity_def sim_act_sink = {.type = "sink_effect",
                                                      .run = sim_sink_effect};
static const struct ttai_workflow_def *const sim_workflows[] = {&wf_counter, &wf_torture, NULL};
static const struct ttai_activity_def *const sim_activities[] = {&sim_act_sink, NULL};
const struct ttai_registry sim_registry = {sim_workflows, sim_activities};

/* ---- Storage faults -------------------------------------------------------------- */

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t fault_countdown;  /* 0: disarmed; else commits until the failure */
static int fault_errno;
static uint64_t fault_fired;

static int fault_hook(void *arg)
{
    (void)arg;
    int rc = 0;
    pthread_mutex_lock(&fault_mu);
    if (fault_countdown > 0 && --fault_countdown == 0) {
        rc = fault_errno;
        fault_fired++;
    }
    pthread_mutex_unlock(&fault_mu);
    return rc;
}

void sim_fault_arm(uint32_t after_commits, int errno_value)
{
    pthread_mutex_lock(&fault_mu);
    fault_countdown = after_commits;
    fault_errno = errno_value;
    pthread_mutex_unlock(&fault_mu);
}

void sim_fault_disarm(void) { sim_fault_arm(0, 0); }

uint64_t sim_fault_fired_take(void)
{
    pthread_mutex_lock(&fault_mu);
    uint64_t n = fault_fired;
    fault_fired = 0;
    pthread_mutex_unlock(&fault_mu);
    return n;
}

void sim_fault_install(struct ttai_engine *eng)
{
    store_fault_set(ttai_engine_store(eng), fault_hook, NULL);
}
