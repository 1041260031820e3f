/* test_waitmap.c: the index of parked result long-polls (server_waiters.c).
 *
 * Jobs are parked under a few hundred workflows in two namespaces, several
 * under some, across many doublings of the table; then removed in a
 * scrambled order. After every step, what the index gives for each
 * workflow (first, then next) must be exactly the jobs a plain scan of
 * the parked ones finds, and the count must match. Also: a namespace and
 * id that run together the same way ("a"/"bc", "ab"/"c") are kept apart,
 * removal is a no-op for a job not parked, and pop empties the index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/harness.h"
#include "server_int.h"

#define WORKFLOWS 300
#define JOBS 2000

static struct srv_job jobs[JOBS];
static char ids[JOBS][32];
static bool parked[JOBS];

/* Every job parked under (ns, id) according to the index, each once, and
 * no job that is not parked under them. */
static void check_workflow(const struct srv_waitmap *m, const char *ns, const char *id)
{
    size_t want = 0;
    for (size_t i = 0; i < JOBS; i++)
        if (parked[i] && strcmp(jobs[i].ns, ns) == 0 && strcmp(jobs[i].workflow_id, id) == 0)
            want++;
    size_t got = 0;
    for (struct srv_job *j = srv__waitmap_first(m, ns, id); j != NULL; j = srv__waitmap_next(j)) {
        size_t i = (size_t)(j - jobs);
        ASSERT(i < JOBS);
        ASSERT(parked[i]);
        ASSERT_STR_EQ(j->ns, ns);
        ASSERT_STR_EQ(j->workflow_id, id);
        got++;
        ASSERT_LE(got, want); /* a job met twice would pass the count */
    }
    ASSERT_EQ(got, want);
}

static void check_all(const struct srv_waitmap *m)
{
    size_t count = 0;
    for (size_t i = 0; i < JOBS; i++)
        count += parked[i];
    ASSERT_EQ(srv__waitmap_count(m), count);
    char id[32];
    for (int w = 0; w < WORKFLOWS; w++) {
        snprintf(id, sizeof(id), "wf-%d", w);
        check_workflow(m, "alpha", id);
        check_workflow(m, "beta", id);
    }
    check_workflow(m, "alpha", "never-parked");
}

static void test_index(void)
{
    struct srv_waitmap m = {0};
    ASSERT(srv__waitmap_first(&m, "alpha", "wf-0") == NULL);
    ASSERT(srv__waitmap_pop(&m) == NULL);
    srand(20261124);
    for (size_t i = 0; i < JOBS; i++) {
        snprintf(ids[i], sizeof(ids[i]), "wf-%d", rand() % WORKFLOWS);
        snprintf(jobs[i].ns, sizeof(jobs[i].ns), "%s", rand() % 3 ? "alpha" : "beta");
        jobs[i].workflow_id = ids[i];
        ASSERT(srv__waitmap_add(&m, &jobs[i]));
        parked[i] = true;
        if (i % 97 == 0)
            check_all(&m);
    }
    check_all(&m);
    /* Removal in a scrambled order, checked as it goes; removing a job
     * twice changes nothing. */
    size_t order[JOBS];
    for (size_t i = 0; i < JOBS; i++)
        order[i] = i;
    for (size_t i = JOBS - 1; i > 0; i--) {
        size_t k = (size_t)rand() % (i + 1), t = order[i];
        order[i] = order[k];
        order[k] = t;
    }
    for (size_t n = 0; n < JOBS / 2; n++) {
        srv__waitmap_remove(&m, &jobs[order[n]]);
        parked[order[n]] = false;
        srv__waitmap_remove(&m, &jobs[order[n]]);
        if (n % 53 == 0)
            check_all(&m);
    }
    check_all(&m);
    /* Parked again after removal: found again. */
    ASSERT(srv__waitmap_add(&m, &jobs[order[0]]));
    parked[order[0]] = true;
    check_all(&m);
    /* Pop takes each parked job once. */
    size_t popped = 0;
    struct srv_job *j;
    while ((j = srv__waitmap_pop(&m)) != NULL) {
        size_t i = (size_t)(j - jobs);
        ASSERT(i < JOBS && parked[i]);
        parked[i] = false;
        popped++;
    }
    ASSERT_EQ(srv__waitmap_count(&m), 0);
    for (size_t i = 0; i < JOBS; i++)
        ASSERT(!parked[i]);
    ASSERT_GT(popped, JOBS / 2);
    srv__waitmap_release(&m);
}

/* What srv__closed_cb does: the next job taken before the current one is
 * answered and removed; every job of the workflow is met once, and the
 * others stay. */
static void test_remove_while_walking(void)
{
    struct srv_waitmap m = {0};
    static struct srv_job w[200];
    for (int i = 0; i < 200; i++) {
        snprintf(w[i].ns, sizeof(w[i].ns), "ns");
        w[i].workflow_id = i % 3 == 0 ? "closing" : "other";
        ASSERT(srv__waitmap_add(&m, &w[i]));
    }
    int met = 0;
    for (struct srv_job *j = srv__waitmap_first(&m, "ns", "closing"); j != NULL;) {
        struct srv_job *next = srv__waitmap_next(j);
        ASSERT_STR_EQ(j->workflow_id, "closing");
        srv__waitmap_remove(&m, j);
        met++;
        j = next;
    }
    ASSERT_EQ(met, 67);
    ASSERT(srv__waitmap_first(&m, "ns", "closing") == NULL);
    ASSERT_EQ(srv__waitmap_count(&m), 133);
    int others = 0;
    for (struct srv_job *j = srv__waitmap_first(&m, "ns", "other"); j != NULL; j = srv__waitmap_next(j))
        others++;
    ASSERT_EQ(others, 133);
    /* Pop after an add below where popping had got to finds that job too. */
    struct srv_job *first = srv__waitmap_pop(&m);
    ASSERT(first != NULL);
    ASSERT(srv__waitmap_add(&m, first));
    int popped = 0;
    while (srv__waitmap_pop(&m) != NULL)
        popped++;
    ASSERT_EQ(popped, 133);
    srv__waitmap_release(&m);
}

static void test_joined_names(void)
{
    struct srv_waitmap m = {0};
    static struct srv_job a, b;
    snprintf(a.ns, sizeof(a.ns), "a");
    a.workflow_id = "bc";
    snprintf(b.ns, sizeof(b.ns), "ab");
    b.workflow_id = "c";
    ASSERT(srv__waitmap_add(&m, &a));
    ASSERT(srv__waitmap_add(&m, &b));
    ASSERT(srv__waitmap_first(&m, "a", "bc") == &a);
    ASSERT(srv__waitmap_next(&a) == NULL);
    ASSERT(srv__waitmap_first(&m, "ab", "c") == &b);
    ASSERT(srv__waitmap_next(&b) == NULL);
    ASSERT(srv__waitmap_first(&m, "abc", "") == NULL);
    srv__waitmap_remove(&m, &a);
    ASSERT(srv__waitmap_first(&m, "a", "bc") == NULL);
    ASSERT(srv__waitmap_first(&m, "ab", "c") == &b);
    srv__waitmap_release(&m);
}

int main(void)
{
    test_index();
    test_remove_while_walking();
    test_joined_names();
    printf("ok waitmap\n");
    return 0;
}
