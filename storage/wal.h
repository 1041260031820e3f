/* wal.h: the store's write-ahead log (storage-internal; see wal.c).
 *
 * The log makes a group commit durable with one sequential append and one
 * fdatasync, where LMDB's own sync writes every dirty page of the group in
 * place and then the meta page, each synced. LMDB then commits without
 * syncing, and a checkpoint now and then syncs the LMDB file once for many
 * groups and records in the log's header the LMDB snapshot that is on disk.
 * Recovery puts that snapshot back and re-applies the log's records after
 * it. docs/storage.md explains why the snapshot survives a power loss.
 *
 * Ownership: one thread at a time appends (the store's writer, which holds
 * group_busy); the checkpoint thread writes headers; wal_checkpoint_done()
 * and wal_room() synchronise the two through the log's mutex.
 */
#ifndef TTAI_WAL_H
#define TTAI_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct wal;

/* How many bytes of each LMDB meta page a checkpoint keeps: LMDB's meta
 * record (its page header and MDB_meta) is 152 bytes on 64-bit builds. */
#define WAL_META_BYTES 512
/* /proc/sys/kernel/random/boot_id: 36 characters and a NUL. */
#define WAL_BOOT_ID_BYTES 40

/* The LMDB snapshot a checkpoint made durable, and where the log goes on. */
struct wal_checkpoint {
    uint64_t seq;                         /* header generation, set by wal_checkpoint_write */
    uint64_t txnid;                       /* LMDB transaction of the snapshot */
    uint64_t lsn;                         /* first record not in the snapshot */
    uint64_t off;                         /* its offset in the log file */
    uint32_t page_size;                   /* LMDB's page size: where meta page 1 is */
    char boot_id[WAL_BOOT_ID_BYTES];      /* the kernel's boot id when it was taken */
    uint8_t meta[2][WAL_META_BYTES];      /* LMDB's meta pages 0 and 1 at txnid */
};

/* Operations in a record, replayed in order. */
/* WAL_OP_MERGE has no key or value: it runs the recent tables' merge
 * (store__recent_merge), which depends only on the state it finds. */
enum wal_op { WAL_OP_PUT = 1, WAL_OP_DEL = 2, WAL_OP_MERGE = 3 };

/* Opens dir/wal, creating it (with no checkpoint yet) when missing.
 * *has_checkpoint tells whether the file holds a valid checkpoint; a file
 * that exists without one is refused as corrupt (wal_create writes the first
 * checkpoint before the file gets its name). capacity_bytes: the ring's size
 * for a new file (an existing one keeps its own). */
int wal_open(struct wal **out, const char *dir, uint64_t capacity_bytes, bool read_only,
             bool *has_checkpoint, struct ttai_err *err) TTAI_MUST_CHECK;
void wal_close(struct wal *wal);

/* Creates dir/wal holding checkpoint c (atomically: written under another
 * name, synced, renamed, and the directory synced); sets c->seq, c->lsn and
 * c->off (the ring is empty). For a store that has no log yet: a new one,
 * or one written before the log existed. */
int wal_create(const char *dir, uint64_t capacity_bytes, struct wal_checkpoint *c,
               struct ttai_err *err) TTAI_MUST_CHECK;

/* True when the log was opened with (or has since written) a checkpoint. */
bool wal_has_checkpoint(const struct wal *wal);
/* The newest valid checkpoint (after wal_open with *has_checkpoint). */
void wal_checkpoint_get(const struct wal *wal, struct wal_checkpoint *out);

/* Recovery: calls apply for every operation of every record after the
 * checkpoint, in order, stopping at the first record that is torn or from
 * an earlier lap of the ring; the next append goes there. apply returns 0
 * or an error that stops the replay (returned as is). *records gets the
 * number of records replayed. */
typedef int (*wal_apply_fn)(void *arg, enum wal_op op, int table, const void *key, size_t key_len,
                            const void *val, size_t val_len);
int wal_replay(struct wal *wal, wal_apply_fn apply, void *arg, uint64_t *records,
               struct ttai_err *err) TTAI_MUST_CHECK;

/* Recovery in the same boot: the page cache still holds every LMDB commit
 * of the stopped process, so the records after the checkpoint are not
 * needed (an acknowledged group's commit is among them, and a record whose
 * commit never happened was never acknowledged). Starts the next record at
 * the checkpoint, in a new epoch (invariant 3). */
void wal_discard(struct wal *wal);
/* True when a valid record follows the checkpoint (read-only check). */
bool wal_has_records(struct wal *wal);

/* ---- Appending (the writer) ---------------------------------------------- */

/* Starts a new record in the log's buffer, dropping whatever it held. */
void wal_record_begin(struct wal *wal);
/* Adds an operation to the record being built. TTAI_ENOMEM when the buffer
 * cannot grow (the record is then unusable until the next begin). */
int wal_record_add(struct wal *wal, enum wal_op op, int table, const void *key, size_t key_len,
                   const void *val, size_t val_len) TTAI_MUST_CHECK;
/* Bytes the record being built takes in the log. */
size_t wal_record_bytes(const struct wal *wal);
/* True when a record of `bytes` fits in the ring without overwriting a
 * record the last durable checkpoint does not cover. */
bool wal_room(struct wal *wal, size_t bytes);
/* The largest record that fits in the ring at all (an empty ring). */
size_t wal_record_max(const struct wal *wal);
/* Writes the record built and syncs it: once this returns 0 the record is
 * durable. The caller checked wal_room(). On an error nothing of the record
 * counts: its header is cleared (best effort) and the log does not advance. */
int wal_record_write(struct wal *wal, struct ttai_err *err) TTAI_MUST_CHECK;
/* Takes back the record wal_record_write() just made durable (clears its
 * header and syncs): for a group whose LMDB commit failed after its record
 * was written. 0 when the record can no longer be replayed. */
int wal_record_revoke(struct wal *wal) TTAI_MUST_CHECK;

/* ---- Checkpoints ----------------------------------------------------- */

/* Where the next record goes: a checkpoint of the snapshot committed last
 * starts the log there. */
void wal_position(const struct wal *wal, uint64_t *lsn, uint64_t *off);
/* Writes checkpoint c (c->seq is set to the next generation) into the older
 * header slot and syncs it; then frees the ring before c->lsn. The caller
 * made the LMDB file durable up to c->txnid first. */
int wal_checkpoint_write(struct wal *wal, struct wal_checkpoint *c,
                         struct ttai_err *err) TTAI_MUST_CHECK;
/* The ring's size (a new log's may be smaller than asked, on a full disk). */
uint64_t wal_capacity(const struct wal *wal);
/* Bytes of the ring in use: written and not yet covered by a checkpoint. */
uint64_t wal_used_bytes(struct wal *wal);

#endif /* TTAI_WAL_H */
