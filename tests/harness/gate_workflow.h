/* gate_workflow.h: the `gate` test workflow, for tests that need the engine
 * lock held: its first task waits until the test opens the gate, and the
 * thread running that task holds the engine lock meanwhile (a start runs
 * its first task under the lock, on the starting thread). The test waits
 * for gate_entered, does what it must do while the lock is held, then sets
 * gate_open. Header-only (static): each test program has its own gate. */
#ifndef TTAI_TEST_GATE_WORKFLOW_H
#define TTAI_TEST_GATE_WORKFLOW_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "ttai.h"

static atomic_bool gate_entered, gate_open;

static void gate_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    atomic_store(&gate_entered, true);
    while (!atomic_load(&gate_open))
        sched_yield();
    ttai_wf_complete(wf, (struct ttai_payload){NULL, 0});
}

static const struct ttai_workflow_def wf_gate = {"gate", gate_run, 0, NULL, NULL};

#endif
