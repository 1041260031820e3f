/* crash.h: shared between the crash test's driver (crash_test.c) and its
 * checks of the store (crash_check.c). The writer (crash_writer.c) is a
 * separate program; its output lines are described there. */
#ifndef TTAI_CRASH_H
#define TTAI_CRASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define CRASH_NS "crash"
#define CRASH_SEG_EVENTS_MAX 16

/* One acknowledged `ack` line: count events from first_event_id on were
 * appended to run and reported durable. */
struct crash_ack {
    struct ttai_run_id run;
    uint64_t first_event_id;
    int count;
    uint8_t types[CRASH_SEG_EVENTS_MAX];
    int status;                     /* run status the batch put; 0: none */
    int incarnation;                /* which writer process acknowledged it */
};

/* Figures from one check of the whole store. */
struct crash_stats {
    uint64_t runs;
    uint64_t running;
    uint64_t continued;             /* runs closed as ContinuedAsNew */
    uint64_t closed;                /* closed otherwise */
    uint64_t events;
    uint64_t timers;
    uint64_t activities;
    uint64_t execs;
};

/* Checks that every acknowledged event is in the store in dir, with its
 * type, and that every run an ack closed has that status. Opens the store
 * read-only. Prints each problem; returns how many there were. */
int crash_check_acks(const char *dir, const struct crash_ack *acks, size_t count);

/* Checks the invariants the writer keeps (see crash_check.c) over the whole
 * store and fills *stats. Prints each problem; returns how many. */
int crash_check_store(const char *dir, struct crash_stats *stats);

#endif /* TTAI_CRASH_H */
