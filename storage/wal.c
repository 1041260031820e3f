/* wal.c: the write-ahead log's file: a header with two checkpoint slots,
 * then a ring of records.
 *
 *   offset 0      checkpoint slot 0 (4 KiB)
 *   offset 4096   checkpoint slot 1 (4 KiB)
 *   offset 8192   records, back to back, each 8-byte aligned, up to the
 *                 ring's capacity; then again from 8192
 *
 * A checkpoint slot holds the LMDB snapshot that was durable when it was
 * written (transaction id and the two meta pages), the sequence number of
 * the first record after it (lsn), that record's offset, and the log's
 * epoch; a CRC32C covers it. The slot with the highest generation whose CRC
 * holds is the checkpoint; a torn slot write leaves the other one.
 *
 * A record: magic, kind (data or wrap), epoch, lsn, payload length, CRC32C
 * over the header (CRC zero) and the payload. A data record's payload is a
 * list of operations (op, table, key length, value length, key, value). A
 * wrap record says the next record is at the ring's start; with less room
 * than a record header before the end, the wrap is implicit.
 *
 * Invariants:
 *  1. Records are found only by walking from the checkpoint: a record counts
 *     when its epoch is the checkpoint's, its lsn the next expected and its
 *     CRC right. The first that is not ends the log.
 *  2. The ring never overwrites a record the durable checkpoint does not
 *     cover (wal_room), so the walk always finds every durable record.
 *  3. Every open that replays starts a new epoch, written in a checkpoint
 *     before any new record: a record written before the crash at a place
 *     and lsn the new epoch reuses cannot be taken for a new one.
 *  4. A record is durable before wal_record_write returns 0.
 */
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

#define WAL_FILE "wal"
#define WAL_SLOT_BYTES 4096
#define WAL_RING_START (2 * WAL_SLOT_BYTES)
#define WAL_MAGIC 0x314c415749415454ull /* "TTAIWAL1" */
#define WAL_VERSION 1
#define REC_MAGIC 0x52574154u           /* "TAWR" */
#define REC_DATA 1u
#define REC_WRAP 2u
#define OP_HEADER_BYTES 12
#define WAL_CAPACITY_MIN ((uint64_t)1 << 20)

struct slot_disk {
    uint64_t magic;
    uint32_t version;
    uint32_t page_size;
    uint64_t seq, epoch, txnid, lsn, off, capacity;
    uint8_t meta[2][WAL_META_BYTES];
    char boot_id[WAL_BOOT_ID_BYTES];
    uint32_t crc;
    uint32_t pad;
};
_Static_assert(sizeof(struct slot_disk) <= WAL_SLOT_BYTES, "a checkpoint fits its slot");

struct rec_header {
    uint32_t magic;
    uint32_t kind;
    uint64_t epoch;
    uint64_t lsn;
    uint32_t len;   /* payload bytes */
    uint32_t crc;
};
#define REC_HEADER_BYTES ((uint64_t)sizeof(struct rec_header))
_Static_assert(sizeof(struct rec_header) == 32, "record header layout");

struct wal {
    int fd;
    char *path;
    uint64_t capacity;
    uint64_t epoch;
    struct wal_checkpoint ckpt;    /* the newest durable checkpoint */
    bool has_ckpt;

    /* Appending (the writer only). */
    uint64_t head_off, head_lsn;   /* where the next record goes */
    uint64_t last_off;             /* the record written last (for revoke) */
    uint64_t last_lsn;
    uint64_t last_head_off;        /* head before it */
    uint8_t *buf;                  /* record header + payload being built */
    size_t len, cap;               /* len includes the header */
    bool buf_failed;

    /* The ring's live region starts here (the durable checkpoint); under mu. */
    pthread_mutex_t mu;
    uint64_t tail_off, tail_lsn;
};

/* ---- CRC32C -------------------------------------------------------------- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[i] = c;
    }
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; n > 0; p++, n--)
        c32 = __builtin_ia32_crc32qi(c32, *p);
    return c32;
}
#endif

/* CRC32C (Castagnoli), continuing from crc (0 to start). */
static uint32_t crc32c(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc_hw(crc, p, n);
#endif
    pthread_once(&crc_once, crc_table_init);
    for (; n > 0; p++, n--)
        crc = crc_table[(crc ^ *p) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- Small I/O helpers -------------------------------------------------- */

static uint64_t align8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

static int write_all(int fd, const void *data, size_t n, uint64_t off)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return EIO;
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Reads n bytes at off; ENODATA when the file ends first. */
static int read_all(int fd, void *data, size_t n, uint64_t off)
{
    uint8_t *p = data;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            return ENODATA;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int io_code(int e)
{
    return e == ENOSPC || e == EDQUOT ? TTAI_ENOSPC : e == ENOMEM ? TTAI_ENOMEM : TTAI_EIO;
}

/* ---- Checkpoint slots ----------------------------------------------------- */

static void slot_encode(struct slot_disk *s, const struct wal_checkpoint *c, uint64_t epoch,
                        uint64_t capacity)
{
    memset(s, 0, sizeof(*s));
    s->magic = WAL_MAGIC;
    s->version = WAL_VERSION;
    s->page_size = c->page_size;
    s->seq = c->seq;
    s->epoch = epoch;
    s->txnid = c->txnid;
    s->lsn = c->lsn;
    s->off = c->off;
    s->capacity = capacity;
    memcpy(s->meta, c->meta, sizeof(s->meta));
    memcpy(s->boot_id, c->boot_id, sizeof(s->boot_id));
    s->boot_id[WAL_BOOT_ID_BYTES - 1] = '\0';
    s->crc = crc32c(0, s, offsetof(struct slot_disk, crc));
}

static bool slot_valid(const struct slot_disk *s)
{
    return s->magic == WAL_MAGIC && s->version == WAL_VERSION &&
           s->crc == crc32c(0, s, offsetof(struct slot_disk, crc)) &&
           s->capacity > WAL_RING_START + REC_HEADER_BYTES && s->off >= WAL_RING_START &&
           s->off < s->capacity && s->page_size >= WAL_META_BYTES;
}

static void slot_decode(const struct slot_disk *s, struct wal_checkpoint *c)
{
    c->seq = s->seq;
    c->txnid = s->txnid;
    c->lsn = s->lsn;
    c->off = s->off;
    c->page_size = s->page_size;
    memcpy(c->meta, s->meta, sizeof(c->meta));
    memcpy(c->boot_id, s->boot_id, sizeof(c->boot_id));
    c->boot_id[WAL_BOOT_ID_BYTES - 1] = '\0';
}

/* On the stack: the checkpoint thread must not fail for want of memory. */
static int slot_write(int fd, const struct wal_checkpoint *c, uint64_t epoch, uint64_t capacity)
{
    struct slot_disk s;
    slot_encode(&s, c, epoch, capacity);
    int e = write_all(fd, &s, sizeof(s), (c->seq & 1) * WAL_SLOT_BYTES);
    if (e == 0 && fdatasync(fd) != 0)
        e = errno;
    return e;
}

/* ---- Open, create, close --------------------------------------------------- */

static char *wal_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = ttai_malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Writes zeros over the allocated ring. fallocate leaves its blocks
 * unwritten, and the first write into each turns it into a written extent,
 * which every sync then has to record as well: on ext4 here an append and
 * fdatasync took 0.51 ms into unwritten blocks and 0.32-0.38 ms into
 * written ones (medians of 400, 40 KiB each). Filling 64 MiB once takes
 * about 65 ms. Without memory for the zeros, the ring stays as it is. */
static int zero_fill(int fd, uint64_t bytes)
{
    enum { CHUNK = 1 << 20 };
    void *zeros = ttai_calloc(1, CHUNK);
    if (zeros == NULL)
        return 0;
    int e = 0;
    for (uint64_t off = 0; off < bytes && e == 0; off += CHUNK) {
        uint64_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        e = write_all(fd, zeros, (size_t)n, off);
    }
    ttai_free(zeros);
    return e;
}

int wal_create(const char *dir, uint64_t capacity_bytes, struct wal_checkpoint *c,
               struct ttai_err *err)
{
    char *tmp = wal_path(dir, WAL_FILE ".new"), *path = wal_path(dir, WAL_FILE);
    int rc = TTAI_OK;
    if (tmp == NULL || path == NULL) {
        rc = ttai_errf(err, TTAI_ENOMEM, "out of memory creating the write-ahead log");
        goto out;
    }
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = ttai_errf(err, io_code(errno), "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    /* The ring's room is taken now, so that an append never needs a block
     * from a full disk; with less room than asked, a smaller ring. */
    int e = 0;
    bool allocated = true;
    while (fallocate(fd, 0, 0, (off_t)capacity_bytes) != 0) {
        e = errno;
        if (e == EOPNOTSUPP) { /* the filesystem cannot: the ring grows as it is written */
            e = 0;
            allocated = false;
            break;
        }
        if (e != ENOSPC && e != EFBIG)
            break;
        if (capacity_bytes / 2 < WAL_CAPACITY_MIN) {
            e = ENOSPC;
            break;
        }
        capacity_bytes /= 2;
        e = 0;
    }
    c->seq = 1;
    c->lsn = 1;
    c->off = WAL_RING_START;
    if (e == 0 && allocated)
        e = zero_fill(fd, capacity_bytes);
    if (e == 0)
        e = slot_write(fd, c, 1, capacity_bytes); /* syncs the zeros too */
    close(fd);
    if (e == 0 && rename(tmp, path) != 0)
        e = errno;
    if (e == 0) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            e = errno;
        if (dfd >= 0)
            close(dfd);
    }
    if (e != 0) {
        unlink(tmp);
        rc = ttai_errf(err, io_code(e), "cannot create the write-ahead log '%s': %s", path,
                       strerror(e));
    }
out:
    ttai_free(tmp);
    ttai_free(path);
    return rc;
}

int wal_open(struct wal **out, const char *dir, uint64_t capacity_bytes, bool read_only,
             bool *has_checkpoint, struct ttai_err *err)
{
    *out = NULL;
    *has_checkpoint = false;
    struct wal *wal = ttai_calloc(1, sizeof(*wal));
    if (wal == NULL || (wal->path = wal_path(dir, WAL_FILE)) == NULL) {
        ttai_free(wal);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory opening the write-ahead log");
    }
    pthread_mutex_init(&wal->mu, NULL);
    wal->capacity = capacity_bytes;
    wal->fd = open(wal->path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (wal->fd < 0) {
        int e = errno;
        if (e == ENOENT) {
            *out = wal; /* no log yet: the caller creates one */
            return TTAI_OK;
        }
        wal_close(wal);
        return ttai_errf(err, io_code(e), "cannot open '%s/" WAL_FILE "': %s", dir, strerror(e));
    }
    struct slot_disk *s = ttai_malloc(2 * sizeof(*s));
    if (s == NULL) {
        wal_close(wal);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory opening the write-ahead log");
    }
    int best = -1;
    for (int i = 0; i < 2; i++) {
        if (read_all(wal->fd, &s[i], sizeof(s[i]), (uint64_t)i * WAL_SLOT_BYTES) == 0 &&
            slot_valid(&s[i]) && (best < 0 || s[i].seq > s[best].seq))
            best = i;
    }
    if (best < 0) {
        ttai_free(s);
        wal_close(wal);
        return ttai_errf(err, TTAI_ECORRUPT,
                         "the write-ahead log '%s/" WAL_FILE "' has no valid checkpoint", dir);
    }
    slot_decode(&s[best], &wal->ckpt);
    wal->epoch = s[best].epoch;
    wal->capacity = s[best].capacity;
    ttai_free(s);
    wal->has_ckpt = true;
    wal->head_off = wal->tail_off = wal->ckpt.off;
    wal->head_lsn = wal->tail_lsn = wal->ckpt.lsn;
    *has_checkpoint = true;
    *out = wal;
    return TTAI_OK;
}

void wal_close(struct wal *wal)
{
    if (wal == NULL)
        return;
    if (wal->fd >= 0)
        close(wal->fd);
    pthread_mutex_destroy(&wal->mu);
    ttai_free(wal->buf);
    ttai_free(wal->path);
    ttai_free(wal);
}

bool wal_has_checkpoint(const struct wal *wal)
{
    return wal != NULL && wal->has_ckpt;
}

void wal_checkpoint_get(const struct wal *wal, struct wal_checkpoint *out)
{
    *out = wal->ckpt;
}

/* ---- Replay -------------------------------------------------------------- */

static bool header_valid(const struct rec_header *h, uint64_t epoch, uint64_t lsn,
                         uint64_t room)
{
    return h->magic == REC_MAGIC && h->epoch == epoch && h->lsn == lsn &&
           (h->kind == REC_DATA || h->kind == REC_WRAP) && REC_HEADER_BYTES + h->len <= room;
}

static uint32_t record_crc(const struct rec_header *h, const uint8_t *payload)
{
    struct rec_header z = *h;
    z.crc = 0;
    return crc32c(crc32c(0, &z, sizeof(z)), payload, h->len);
}

static int apply_payload(const uint8_t *p, size_t n, wal_apply_fn apply, void *arg)
{
    while (n > 0) {
        if (n < OP_HEADER_BYTES)
            return TTAI_ECORRUPT;
        uint32_t klen, vlen;
        memcpy(&klen, p + 4, 4);
        memcpy(&vlen, p + 8, 4);
        if ((uint64_t)klen + vlen > n - OP_HEADER_BYTES || (p[0] != WAL_OP_PUT && p[0] != WAL_OP_DEL && p[0] != WAL_OP_MERGE))
            return TTAI_ECORRUPT;
        const uint8_t *key = p + OP_HEADER_BYTES;
        int rc = apply(arg, (enum wal_op)p[0], p[1], key, klen, key + klen, vlen);
        if (rc != 0)
            return rc;
        p += OP_HEADER_BYTES + klen + vlen;
        n -= OP_HEADER_BYTES + klen + vlen;
    }
    return TTAI_OK;
}

int wal_replay(struct wal *wal, wal_apply_fn apply, void *arg, uint64_t *records,
               struct ttai_err *err)
{
    *records = 0;
    TTAI_ASSERT(wal->has_ckpt);
    uint64_t off = wal->ckpt.off, lsn = wal->ckpt.lsn;
    uint8_t *payload = NULL;
    size_t payload_cap = 0;
    int rc = TTAI_OK;
    for (;;) {
        if (wal->capacity - off < REC_HEADER_BYTES)
            off = WAL_RING_START; /* implicit wrap */
        struct rec_header h;
        if (read_all(wal->fd, &h, sizeof(h), off) != 0 ||
            !header_valid(&h, wal->epoch, lsn, wal->capacity - off))
            break;
        if (h.len > payload_cap) {
            uint8_t *p = ttai_realloc(payload, h.len);
            if (p == NULL) {
                rc = ttai_errf(err, TTAI_ENOMEM, "out of memory replaying the write-ahead log");
                break;
            }
            payload = p;
            payload_cap = h.len;
        }
        if (read_all(wal->fd, payload, h.len, off + REC_HEADER_BYTES) != 0 ||
            record_crc(&h, payload) != h.crc)
            break; /* torn: the log ends here */
        if (h.kind == REC_DATA) {
            rc = apply_payload(payload, h.len, apply, arg);
            if (rc != 0) {
                ttai_errf(err, rc, "cannot replay record %llu of the write-ahead log: %s",
                          (unsigned long long)lsn, ttai_strerror(rc));
                break;
            }
            (*records)++;
            off += align8(REC_HEADER_BYTES + h.len);
        } else {
            off = WAL_RING_START;
        }
        lsn++;
    }
    ttai_free(payload);
    if (rc != 0)
        return rc;
    wal->head_off = off;
    wal->head_lsn = lsn;
    /* Invariant 3: the records from here on belong to a new epoch, which
     * the checkpoint that follows the replay records before any of them. */
    wal->epoch++;
    return TTAI_OK;
}

void wal_discard(struct wal *wal)
{
    TTAI_ASSERT(wal->has_ckpt);
    wal->head_off = wal->ckpt.off;
    wal->head_lsn = wal->ckpt.lsn;
    wal->epoch++;
}

bool wal_has_records(struct wal *wal)
{
    if (!wal->has_ckpt)
        return false;
    uint64_t off = wal->ckpt.off;
    if (wal->capacity - off < REC_HEADER_BYTES)
        off = WAL_RING_START;
    struct rec_header h;
    return read_all(wal->fd, &h, sizeof(h), off) == 0 &&
           header_valid(&h, wal->epoch, wal->ckpt.lsn, wal->capacity - off);
}

/* ---- Appending --------------------------------------------------------- */

void wal_record_begin(struct wal *wal)
{
    wal->len = REC_HEADER_BYTES;
    wal->buf_failed = false;
}

static bool buf_reserve(struct wal *wal, size_t more)
{
    if (wal->len + more <= wal->cap)
        return true;
    size_t cap = wal->cap ? wal->cap : 64 * 1024;
    while (cap < wal->len + more)
        cap *= 2;
    uint8_t *p = ttai_realloc(wal->buf, cap);
    if (p == NULL)
        return false;
    wal->buf = p;
    wal->cap = cap;
    return true;
}

int wal_record_add(struct wal *wal, enum wal_op op, int table, const void *key, size_t key_len,
                   const void *val, size_t val_len)
{
    if (wal->len < REC_HEADER_BYTES)
        wal_record_begin(wal);
    if (wal->buf_failed || key_len > UINT32_MAX || val_len > UINT32_MAX ||
        !buf_reserve(wal, OP_HEADER_BYTES + key_len + val_len)) {
        wal->buf_failed = true;
        return TTAI_ENOMEM;
    }
    uint8_t *p = wal->buf + wal->len;
    uint32_t k = (uint32_t)key_len, v = (uint32_t)val_len;
    p[0] = (uint8_t)op;
    p[1] = (uint8_t)table;
    p[2] = p[3] = 0;
    memcpy(p + 4, &k, 4);
    memcpy(p + 8, &v, 4);
    if (key_len)
        memcpy(p + OP_HEADER_BYTES, key, key_len);
    if (val_len)
        memcpy(p + OP_HEADER_BYTES + key_len, val, val_len);
    wal->len += OP_HEADER_BYTES + key_len + val_len;
    return TTAI_OK;
}

size_t wal_record_bytes(const struct wal *wal)
{
    size_t len = wal->len < REC_HEADER_BYTES ? REC_HEADER_BYTES : wal->len;
    return (size_t)align8(len);
}

size_t wal_record_max(const struct wal *wal)
{
    return (size_t)(wal->capacity - WAL_RING_START - REC_HEADER_BYTES);
}

/* Where a record of `bytes` goes from head: *at, and whether a wrap record
 * must be written at head first. */
static void place(const struct wal *wal, uint64_t bytes, uint64_t *at, bool *wrap_record)
{
    uint64_t head = wal->head_off;
    *wrap_record = false;
    if (wal->capacity - head < REC_HEADER_BYTES) {
        *at = WAL_RING_START;
    } else if (wal->capacity - head < bytes) {
        *at = WAL_RING_START;
        *wrap_record = true;
    } else {
        *at = head;
    }
}

bool wal_room(struct wal *wal, size_t bytes)
{
    uint64_t need = align8(bytes);
    if (need > wal->capacity - WAL_RING_START)
        return false;
    pthread_mutex_lock(&wal->mu);
    uint64_t tail = wal->tail_off;
    bool empty = wal->tail_lsn == wal->head_lsn;
    pthread_mutex_unlock(&wal->mu);
    if (empty)
        return true;
    uint64_t at;
    bool wrap;
    place(wal, need, &at, &wrap);
    uint64_t head = wal->head_off;
    if (tail < head) /* live: [tail, head) */
        return at == head || at + need <= tail;
    if (tail > head) /* live: [tail, end of lap) and [start, head) */
        return at == head && head + need <= tail;
    return false; /* tail == head and not empty: full */
}

int wal_record_write(struct wal *wal, struct ttai_err *err)
{
    if (wal->buf_failed)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory building a write-ahead log record");
    if (wal->len < REC_HEADER_BYTES)
        wal_record_begin(wal);
    if (!buf_reserve(wal, 8))
        return ttai_errf(err, TTAI_ENOMEM, "out of memory building a write-ahead log record");
    uint64_t bytes = align8(wal->len);
    memset(wal->buf + wal->len, 0, (size_t)(bytes - wal->len));
    uint64_t at;
    bool wrap;
    place(wal, bytes, &at, &wrap);
    uint64_t lsn = wal->head_lsn;
    int e = 0;
    if (wrap) {
        struct rec_header w = {.magic = REC_MAGIC, .kind = REC_WRAP, .epoch = wal->epoch, .lsn = lsn};
        w.crc = record_crc(&w, NULL);
        e = write_all(wal->fd, &w, sizeof(w), wal->head_off);
        lsn++;
    }
    struct rec_header h = {.magic = REC_MAGIC,
                           .kind = REC_DATA,
                           .epoch = wal->epoch,
                           .lsn = lsn,
                           .len = (uint32_t)(wal->len - REC_HEADER_BYTES)};
    h.crc = record_crc(&h, wal->buf + REC_HEADER_BYTES);
    memcpy(wal->buf, &h, sizeof(h));
    if (e == 0)
        e = write_all(wal->fd, wal->buf, (size_t)bytes, at);
    if (e == 0 && fdatasync(wal->fd) != 0)
        e = errno;
    if (e != 0) {
        /* Nothing of it may count: clear the header (a short write or a
         * failed sync may have left it whole on disk). */
        static const struct rec_header zero;
        if (write_all(wal->fd, &zero, sizeof(zero), at) == 0)
            (void)fdatasync(wal->fd);
        return ttai_errf(err, io_code(e), "cannot write the write-ahead log '%s': %s", wal->path,
                         strerror(e));
    }
    wal->last_head_off = wal->head_off;
    wal->last_off = at;
    wal->last_lsn = lsn;
    wal->head_off = at + bytes;
    wal->head_lsn = lsn + 1;
    return TTAI_OK;
}

int wal_record_revoke(struct wal *wal)
{
    static const struct rec_header zero;
    int e = write_all(wal->fd, &zero, sizeof(zero), wal->last_off);
    if (e == 0 && fdatasync(wal->fd) != 0)
        e = errno;
    if (e != 0)
        return io_code(e);
    /* A wrap record before it stays: the walk follows it to the cleared
     * header and stops, and the next record is written over both. */
    wal->head_off = wal->last_head_off;
    wal->head_lsn = wal->last_lsn;
    if (wal->last_off != wal->last_head_off && wal->capacity - wal->last_head_off >= REC_HEADER_BYTES)
        wal->head_lsn--; /* the wrap record's lsn is reused by what comes next */
    return TTAI_OK;
}

/* ---- Checkpoints --------------------------------------------------------- */

void wal_position(const struct wal *wal, uint64_t *lsn, uint64_t *off)
{
    *lsn = wal->head_lsn;
    *off = wal->head_off;
}

int wal_checkpoint_write(struct wal *wal, struct wal_checkpoint *c, struct ttai_err *err)
{
    c->seq = wal->ckpt.seq + 1;
    int e = slot_write(wal->fd, c, wal->epoch, wal->capacity);
    if (e != 0)
        return ttai_errf(err, io_code(e), "cannot write a checkpoint to '%s': %s", wal->path,
                         strerror(e));
    wal->ckpt = *c;
    pthread_mutex_lock(&wal->mu);
    wal->tail_off = c->off;
    wal->tail_lsn = c->lsn;
    pthread_mutex_unlock(&wal->mu);
    return TTAI_OK;
}

uint64_t wal_capacity(const struct wal *wal)
{
    return wal->capacity;
}

uint64_t wal_used_bytes(struct wal *wal)
{
    pthread_mutex_lock(&wal->mu);
    uint64_t tail = wal->tail_off;
    bool empty = wal->tail_lsn == wal->head_lsn;
    pthread_mutex_unlock(&wal->mu);
    if (empty)
        return 0;
    uint64_t head = wal->head_off;
    return head > tail ? head - tail : wal->capacity - tail + head - WAL_RING_START;
}
