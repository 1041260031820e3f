/* server_waiters.c: the parked result long-polls, indexed by workflow.
 *
 * A close notification must find the long-polls of its workflow among all
 * that are parked. A list made that a scan of every parked long-poll per
 * close, on the loop thread: with 5,000 parked, W1 lost a fifth of its
 * throughput (docs/performance.md, change 26). Here a close looks at one
 * bucket. The table is a power-of-two array of chains, linked through the
 * jobs themselves (wait_next, and wait_pprev pointing at whatever points
 * at the job, so that a removal needs no search); it doubles when it holds
 * more jobs than buckets and never shrinks. Loop thread only.
 */
#include "server_int.h"

#include <string.h>

#define WAITMAP_BUCKETS_MIN 64

static void chain_push(struct srv_job **head, struct srv_job *job)
{
    job->wait_next = *head;
    if (*head != NULL)
        (*head)->wait_pprev = &job->wait_next;
    *head = job;
    job->wait_pprev = head;
}

/* Doubles the table (or makes the first one); false when out of memory,
 * with the table as it was. */
static bool waitmap_grow(struct srv_waitmap *m)
{
    size_t count = m->buckets == NULL ? WAITMAP_BUCKETS_MIN : (m->mask + 1) * 2;
    struct srv_job **buckets = ttai_calloc(count, sizeof(*buckets));
    if (buckets == NULL)
        return false;
    if (m->buckets != NULL) {
        for (size_t i = 0; i <= m->mask; i++) {
            struct srv_job *job = m->buckets[i];
            while (job != NULL) {
                struct srv_job *next = job->wait_next;
                chain_push(&buckets[job->wait_hash & (count - 1)], job);
                job = next;
            }
        }
        ttai_free(m->buckets);
    }
    m->buckets = buckets;
    m->mask = count - 1;
    m->pop_from = 0;
    return true;
}

bool srv__waitmap_add(struct srv_waitmap *m, struct srv_job *job)
{
    /* A fuller table than one job per bucket only costs longer chains: a
     * failed growth past the first table is not an error. */
    if ((m->buckets == NULL || m->count > m->mask) && !waitmap_grow(m) && m->buckets == NULL)
        return false;
    job->wait_hash = ttai_workflow_hash(job->ns, job->workflow_id);
    size_t b = job->wait_hash & m->mask;
    chain_push(&m->buckets[b], job);
    if (b < m->pop_from)
        m->pop_from = b;
    m->count++;
    return true;
}

void srv__waitmap_remove(struct srv_waitmap *m, struct srv_job *job)
{
    if (job->wait_pprev == NULL)
        return;
    *job->wait_pprev = job->wait_next;
    if (job->wait_next != NULL)
        job->wait_next->wait_pprev = job->wait_pprev;
    job->wait_next = NULL;
    job->wait_pprev = NULL;
    m->count--;
}

/* The first job from `job` on (itself included) that waits for ns and
 * workflow_id under hash h, or NULL. */
static struct srv_job *chain_match(struct srv_job *job, uint64_t h, const char *ns,
                                   const char *workflow_id)
{
    for (; job != NULL; job = job->wait_next)
        if (job->wait_hash == h && strcmp(job->workflow_id, workflow_id) == 0 &&
            strcmp(job->ns, ns) == 0)
            return job;
    return NULL;
}

struct srv_job *srv__waitmap_first(const struct srv_waitmap *m, const char *ns,
                                   const char *workflow_id)
{
    if (m->count == 0)
        return NULL;
    uint64_t h = ttai_workflow_hash(ns, workflow_id);
    return chain_match(m->buckets[h & m->mask], h, ns, workflow_id);
}

struct srv_job *srv__waitmap_next(const struct srv_job *job)
{
    return chain_match(job->wait_next, job->wait_hash, job->ns, job->workflow_id);
}

struct srv_job *srv__waitmap_pop(struct srv_waitmap *m)
{
    if (m->count == 0)
        return NULL;
    /* Buckets before pop_from are empty (an add below it moves it back),
     * so that taking every job out costs one pass over the table. */
    for (; m->pop_from <= m->mask; m->pop_from++) {
        struct srv_job *job = m->buckets[m->pop_from];
        if (job != NULL) {
            srv__waitmap_remove(m, job);
            return job;
        }
    }
    return NULL; /* not reached: count says a job is there */
}

size_t srv__waitmap_count(const struct srv_waitmap *m)
{
    return m->count;
}

void srv__waitmap_release(struct srv_waitmap *m)
{
    ttai_free(m->buckets);
    m->buckets = NULL;
    m->mask = 0;
    m->count = 0;
    m->pop_from = 0;
}
