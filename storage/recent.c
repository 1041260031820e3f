/* recent.c: the recent-events tables, where appends land before they are
 * merged into the per-run history.
 *
 * Why: `hist` clusters each run's events under its run id, so a group that
 * appends to a hundred runs dirties a hundred history leaves, and LMDB
 * copies each of them on write (hundreds of KB per commit for a few KB of
 * events, all of it synced again by the next checkpoint). Appends therefore
 * go to `recent`, keyed by a counter, where one group's events fill a few
 * neighbouring pages; `recent_run` says which stretches belong to which run.
 * Once enough stretches have piled up, one group moves them all into
 * `hist`, writing each run's leaf once for many commits, and empties both
 * tables (store__recent_merge).
 *
 *   recent      key: seq (8, BE)      value: a stretch: run id (16), first
 *                                     event id (8, BE), count (4, BE), then
 *                                     count times: length (4, BE), event
 *   recent_run  key: run id (16)      dup values (sorted, fixed size): seq,
 *                                     first event id, last event id (8 BE
 *                                     each), one per stretch of the run
 *
 * Invariants:
 *  1. A run's events are dense across the two places: `hist` holds ids
 *     below the first id of its first stretch in `recent` (all of them when
 *     it has none), the stretches hold the rest, in seq order.
 *  2. Both tables are emptied together, by the merge, and nothing else
 *     deletes from them.
 */
#include "store_int.h"

#include <errno.h>
#include <string.h>

/* ---- Encodings ----------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void store__recent_dup_encode(uint8_t out[STORE__RECENT_DUP_BYTES], uint64_t seq, uint64_t first,
                              uint64_t last)
{
    store__put_be64(out, seq);
    store__put_be64(out + 8, first);
    store__put_be64(out + 16, last);
}

int store__recent_dup_decode(const MDB_val *val, struct store__recent_dup *out)
{
    if (val->mv_size != STORE__RECENT_DUP_BYTES)
        return TTAI_ECORRUPT;
    const uint8_t *p = val->mv_data;
    out->seq = store__get_be64(p);
    out->first = store__get_be64(p + 8);
    out->last = store__get_be64(p + 16);
    return out->first == 0 || out->last < out->first ? TTAI_ECORRUPT : TTAI_OK;
}

void store__stretch_begin(struct store__stretch_buf *s, const struct ttai_run_id *run,
                          uint64_t first)
{
    s->len = STORE__STRETCH_HEADER_BYTES;
    s->run = *run;
    s->first = first;
    s->count = 0;
}

int store__stretch_add(struct store__stretch_buf *s, const void *event, size_t len)
{
    if (len > UINT32_MAX || s->len + 4 + len > UINT32_MAX)
        return ENOMEM;
    size_t need = s->len + 4 + len;
    if (store__grow((void **)&s->data, &s->cap, need, 1) != TTAI_OK)
        return ENOMEM;
    put_be32(s->data + s->len, (uint32_t)len);
    memcpy(s->data + s->len + 4, event, len);
    s->len = need;
    s->count++;
    return MDB_SUCCESS;
}

MDB_val store__stretch_value(struct store__stretch_buf *s)
{
    memcpy(s->data, s->run.b, TTAI_RUN_ID_BYTES);
    store__put_be64(s->data + TTAI_RUN_ID_BYTES, s->first);
    put_be32(s->data + TTAI_RUN_ID_BYTES + 8, s->count);
    return (MDB_val){s->len, s->data};
}

void store__stretch_buf_free(struct store__stretch_buf *s)
{
    ttai_free(s->data);
    *s = (struct store__stretch_buf){0};
}

int store__stretch_get(MDB_txn *txn, const struct store *store, uint64_t seq, MDB_val *out)
{
    uint8_t key[8];
    store__put_be64(key, seq);
    MDB_val k = {sizeof(key), key};
    int rc = mdb_get(txn, store->dbi[STORE_T_RECENT], &k, out);
    return rc == MDB_NOTFOUND ? TTAI_ECORRUPT : store__rc_from_mdb(rc);
}

int store__stretch_open(const MDB_val *val, const struct store__recent_dup *dup,
                        const struct ttai_run_id *run, struct store__stretch *out)
{
    if (val->mv_size < STORE__STRETCH_HEADER_BYTES)
        return TTAI_ECORRUPT;
    const uint8_t *p = val->mv_data;
    out->next_id = store__get_be64(p + TTAI_RUN_ID_BYTES);
    out->left = get_be32(p + TTAI_RUN_ID_BYTES + 8);
    out->p = p + STORE__STRETCH_HEADER_BYTES;
    out->end = p + val->mv_size;
    bool ok = memcmp(p, run->b, TTAI_RUN_ID_BYTES) == 0 && out->next_id == dup->first &&
              out->left == dup->last - dup->first + 1;
    return ok ? TTAI_OK : TTAI_ECORRUPT;
}

int store__stretch_next(struct store__stretch *s, uint64_t *event_id, MDB_val *event)
{
    if (s->left == 0)
        return s->p == s->end ? 0 : TTAI_ECORRUPT; /* trailing bytes */
    if (s->end - s->p < 4)
        return TTAI_ECORRUPT;
    uint32_t len = get_be32(s->p);
    if ((size_t)(s->end - s->p - 4) < len)
        return TTAI_ECORRUPT;
    *event = (MDB_val){len, (void *)(s->p + 4)};
    *event_id = s->next_id++;
    s->p += 4 + (size_t)len;
    s->left--;
    return 1;
}

/* ---- Lookups --------------------------------------------------------------- */

int store__recent_edge(MDB_cursor *rr, const struct ttai_run_id *run, bool last,
                       struct store__recent_dup *out)
{
    MDB_val key = {TTAI_RUN_ID_BYTES, (void *)run->b}, val;
    int rc = mdb_cursor_get(rr, &key, &val, MDB_SET_KEY);
    if (rc == MDB_SUCCESS && last)
        rc = mdb_cursor_get(rr, &key, &val, MDB_LAST_DUP);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != MDB_SUCCESS)
        return store__rc_from_mdb(rc);
    rc = store__recent_dup_decode(&val, out);
    return rc != 0 ? rc : 1;
}

int store__run_last_event_id(MDB_cursor *hist, MDB_cursor *rr, const struct ttai_run_id *run,
                             uint64_t *out)
{
    if (rr != NULL) {
        struct store__recent_dup dup = {0};
        int rc = store__recent_edge(rr, run, true, &dup);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *out = dup.last;
            return TTAI_OK;
        }
    }
    return store__last_event_id(hist, run, out);
}

int store__recent_state(MDB_txn *txn, const struct store *store, uint64_t *stretches,
                        uint64_t *next_seq)
{
    MDB_stat st;
    MDB_cursor *cursor;
    MDB_val key, val;
    int rc = mdb_stat(txn, store->dbi[STORE_T_RECENT], &st);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, store->dbi[STORE_T_RECENT], &cursor);
    if (rc != MDB_SUCCESS)
        return rc;
    rc = mdb_cursor_get(cursor, &key, &val, MDB_LAST);
    mdb_cursor_close(cursor);
    *stretches = st.ms_entries;
    *next_seq = 1;
    if (rc == MDB_NOTFOUND)
        return MDB_SUCCESS;
    if (rc == MDB_SUCCESS && key.mv_size != 8)
        rc = MDB_CORRUPTED;
    if (rc == MDB_SUCCESS)
        *next_seq = store__get_be64(key.mv_data) + 1;
    return rc;
}

/* ---- The merge ------------------------------------------------------------- */

int store__recent_merge(struct store *store, MDB_txn *txn)
{
    MDB_cursor *rr = NULL, *hist = NULL;
    int rc = mdb_cursor_open(txn, store->dbi[STORE_T_RECENT_RUN], &rr);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, store->dbi[STORE_T_HIST], &hist);
    /* Run by run (recent_run's order), each run's stretches in seq order:
     * the history cursor then moves forward through each run's leaf. A
     * stretch is copied out first: within a replay its page may be dirty,
     * and dirty pages can move while the history grows. */
    uint8_t *copy = NULL;
    size_t copy_cap = 0;
    MDB_val key, val;
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_get(rr, &key, &val, MDB_FIRST);
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(rr, &key, &val, MDB_NEXT)) {
        struct store__recent_dup dup = {0};
        if (key.mv_size != TTAI_RUN_ID_BYTES || store__recent_dup_decode(&val, &dup) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        struct ttai_run_id run;
        memcpy(run.b, key.mv_data, TTAI_RUN_ID_BYTES);
        MDB_val sv;
        int trc = store__stretch_get(txn, store, dup.seq, &sv);
        if (trc != 0) {
            rc = trc == TTAI_ECORRUPT ? MDB_CORRUPTED : MDB_PANIC;
            break;
        }
        if (store__grow((void **)&copy, &copy_cap, sv.mv_size, 1) != TTAI_OK) {
            rc = ENOMEM;
            break;
        }
        memcpy(copy, sv.mv_data, sv.mv_size);
        sv.mv_data = copy;
        struct store__stretch s;
        if (store__stretch_open(&sv, &dup, &run, &s) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint64_t id;
        MDB_val ev;
        int n;
        while ((n = store__stretch_next(&s, &id, &ev)) == 1) {
            uint8_t hk[TTAI_RUN_ID_BYTES + 8];
            MDB_val hkey = {store__hist_key(hk, &run, id), hk};
            rc = mdb_cursor_put(hist, &hkey, &ev, 0);
            if (rc != MDB_SUCCESS)
                break;
        }
        if (rc == MDB_SUCCESS && n != 0)
            rc = MDB_CORRUPTED; /* trailing bytes */
        if (rc != MDB_SUCCESS)
            break;
    }
    ttai_free(copy);
    if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS; /* past the last stretch */
    if (hist != NULL)
        mdb_cursor_close(hist);
    if (rr != NULL)
        mdb_cursor_close(rr);
    if (rc == MDB_SUCCESS)
        rc = mdb_drop(txn, store->dbi[STORE_T_RECENT], 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_drop(txn, store->dbi[STORE_T_RECENT_RUN], 0);
    return rc;
}
