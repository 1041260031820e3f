/* space.c: what the store knows about running out of room, for callers
 * that must tell a full disk from a broken one.
 *
 * LMDB reports a commit that hit a full disk in two ways: ENOSPC when a
 * write(2) failed outright, but EIO when the write was short (the disk
 * filled up in the middle of it), which is the common case for a commit of
 * many pages. store__disk_full() lets the writer name the second one for
 * what it is; store_failure() lets the daemon see and report the latch
 * (store_int.h invariant 2) without waiting for a write to fail.
 */
#include "store_int.h"

#include <stdio.h>
#include <sys/statvfs.h>

/* Below this many bytes available to us, a failed write is blamed on the
 * disk being full: a commit writes at least a page and its meta page, and a
 * few pages of headroom absorb the metadata of the filesystem. */
#define DISK_FULL_BYTES ((uint64_t)1 << 20)

bool store__disk_full(const char *dir, uint64_t *avail_bytes)
{
    struct statvfs st;
    if (statvfs(dir, &st) != 0)
        return false;
    uint64_t avail = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
    if (avail_bytes != NULL)
        *avail_bytes = avail;
    return avail < DISK_FULL_BYTES;
}

int store_failure(const struct store *store, struct ttai_err *err)
{
    int rc = atomic_load(&((struct store *)store)->fatal);
    if (rc == 0)
        return TTAI_OK;
    /* fatal_msg is written once, before fatal is set (invariant 2). */
    return ttai_errf(err, rc, "%s", store->fatal_msg);
}
