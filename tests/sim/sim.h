/* sim.h: the deterministic simulator of the engine (tests/sim, ttai-sim).
 *
 * A scenario is a pure function of a 64-bit seed: the seed drives a
 * splitmix64 generator that picks every operation (starts, signals,
 * queries, cancels, clock advances, restarts, outages), its arguments, the
 * activity failures (sim_activity.c: a hash of the seed, the workflow id,
 * the activity's sequence number and the attempt) and the storage faults
 * (a commit failing with EIO or ENOSPC). The simulator keeps a model of what
 * was acknowledged and checks the store and the engine against it after
 * every step (sim_check.c). docs/reliability.md says what the seed does not
 * fix.
 */
#ifndef TTAI_SIM_H
#define TTAI_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "workflows.h"

#define SIM_NS "sim"
#define SIM_WF_MAX 24            /* workflow ids per scenario */
#define SIM_ADDS_MAX 256         /* acknowledged adds per counter */
#define SIM_T0_MS 1763900000000LL /* the virtual clock's start */

/* ---- Seeded randomness ---------------------------------------------------- */

struct sim_rng {
    uint64_t state;
};

uint64_t sim_rng_next(struct sim_rng *rng);
/* Uniform in [0, n); n > 0. */
uint64_t sim_rng_below(struct sim_rng *rng, uint64_t n);
/* splitmix64's finaliser: a good 64-bit mix, also used for hashing. */
uint64_t sim_mix64(uint64_t x);

/* ---- The model of what was acknowledged ------------------------------------ */

enum sim_kind { SIM_COUNTER = 1, SIM_TORTURE = 2 };

struct sim_wf {
    char id[16];
    int kind;                     /* enum sim_kind */
    bool started;                 /* its start was acknowledged */
    bool start_refused;           /* its start failed: nothing may be stored */
    bool stop_acked;              /* counter: a "stop" was acknowledged */
    bool cancel_acked;            /* a cancel was acknowledged */
    int64_t every;                /* counter: continue as new every N adds */
    int64_t steps;                /* torture: steps to run */
    int64_t total;                /* counter: sum of acknowledged adds */
    int64_t adds[SIM_ADDS_MAX];   /* counter: the acknowledged add values */
    uint32_t add_count;
    int64_t refused[SIM_ADDS_MAX]; /* counter: adds refused with an error */
    uint32_t refused_count;
};

/* Figures over a whole run of the tool. */
struct sim_stats {
    uint64_t scenarios, steps, restarts, outages, store_faults, act_faults;
    uint64_t starts, signals, queries, cancels, advances, replays;
};

struct sim_opts {
    uint32_t steps;               /* operations per scenario */
    bool self_test;               /* drop an acknowledged add from the model */
    bool verbose;                 /* print each step */
    const char *tmp_root;         /* where scenario directories go */
};

struct sim {
    uint64_t seed;
    const struct sim_opts *opts;
    struct sim_rng rng;
    struct ttai_testenv *env;
    char dir[256];
    struct sim_wf wfs[SIM_WF_MAX];
    uint32_t wf_count;
    int64_t next_value;           /* add values are unique in a scenario */
    uint32_t step;                /* the current step, from 1 */
    bool dropped;                 /* self-test: an add was dropped */
    struct sim_stats *stats;
    char failure[1024];           /* the first broken invariant, "" if none */
};

/* ---- Scenarios (sim_scenario.c) -------------------------------------------- */

/* Runs the scenario of sim->seed. Returns 0, or -1 with sim->failure and
 * sim->step saying what broke where. */
int sim_scenario_run(struct sim *sim);
/* Records the first failure (printf-style); returns -1. */
int sim_fail(struct sim *sim, const char *fmt, ...) TTAI_PRINTF(2, 3);

/* ---- Invariants (sim_check.c) ---------------------------------------------- */

/* Checks the store's histories against the model: acknowledged starts and
 * adds are recorded (each add once), refused ones are not, each workflow
 * closes at most once (final: exactly once, with the expected result), and,
 * when final, every run replays. Returns 0 or sim_fail(). */
int sim_check_histories(struct sim *sim, bool final);
/* Queries every started counter and compares with the model. */
int sim_check_queries(struct sim *sim);

/* ---- The simulated activity and faults (sim_activity.c) --------------------- */

/* The registry the simulator runs: counter, torture, and a "sink_effect"
 * whose failures are decided by the seed. */
extern const struct ttai_registry sim_registry;
/* Sets the seed the activity's failures derive from (before a scenario). */
void sim_activity_seed(uint64_t seed);
/* Activity failures injected since the last call (resets the count). */
uint64_t sim_activity_faults_take(void);

/* Arms a storage fault: the after_commits-th commit from now (1: the next)
 * fails with errno_value. One at a time; sim_fault_disarm() clears it. */
void sim_fault_arm(uint32_t after_commits, int errno_value);
void sim_fault_disarm(void);
/* Commits failed by the hook since the last call (resets the count). */
uint64_t sim_fault_fired_take(void);
/* Installs the hook on an engine's store (after every open). */
void sim_fault_install(struct ttai_engine *eng);

#endif /* TTAI_SIM_H */
