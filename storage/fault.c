/* fault.c: a fault-injection hook for simulation tests (tests/sim).
 *
 * The writer thread asks the hook once per group transaction, after the
 * group's operations were applied and just before mdb_txn_commit(). When
 * the hook answers an errno value, the transaction is aborted instead of
 * committed and the writer treats that value as the commit's failure: the
 * group's batches get the error and the store latches (store_int.h
 * invariant 2), exactly the path a real failed commit takes. Because the
 * abort happens before LMDB writes a page, nothing of the group is durable,
 * which is what a test may then check. The daemon never sets a hook.
 */
#include "store_int.h"

void store_fault_set(struct store *store, store_fault_fn fault_cb, void *arg)
{
    pthread_mutex_lock(&store->mu);
    store->fault_cb = fault_cb;
    store->fault_arg = arg;
    pthread_mutex_unlock(&store->mu);
}

int store__fault_check(struct store *store)
{
    pthread_mutex_lock(&store->mu);
    store_fault_fn cb = store->fault_cb;
    void *arg = store->fault_arg;
    pthread_mutex_unlock(&store->mu);
    /* Called without the lock: the hook may take its own. */
    return cb != NULL ? cb(arg) : 0;
}
