/* test_util.h: helpers shared by the storage tests (paths, stores, runs,
 * a child process that reads the store, and a tiny msgpack writer for
 * hand-made encodings).
 *
 * Everything here is static inline so that a test file may use any subset
 * without unused-function warnings. */
#ifndef TTAI_TEST_UTIL_H
#define TTAI_TEST_UTIL_H

#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"

/* ---- Paths and stores ------------------------------------------------- */

/* out = "<test tmpdir>/name". */
static inline void test_path(char *out, size_t size, const char *name)
{
    int n = snprintf(out, size, "%s/%s", test_tmpdir(), name);
    ASSERT(n > 0 && (size_t)n < size);
}

static inline struct store *test_open(const struct store_opts *opts)
{
    struct store *store;
    struct ttai_err err;
    ASSERT_OK(store_open(&store, opts, &err), &err);
    return store;
}

static inline struct store *test_open_dir(const char *dir)
{
    struct store_opts opts = {.dir = dir};
    return test_open(&opts);
}

static inline struct store_read *test_read(struct store *store)
{
    struct store_read *rd;
    struct ttai_err err;
    ASSERT_OK(store_read_begin(store, &rd, &err), &err);
    return rd;
}

static inline struct store_bytes bytes_of(const char *s)
{
    return (struct store_bytes){(const uint8_t *)s, strlen(s)};
}

static inline int bytes_eq_str(struct store_bytes b, const char *s)
{
    return b.len == strlen(s) && (b.len == 0 || memcmp(b.data, s, b.len) == 0);
}

/* A run record with a fresh random id. */
static inline void test_run_init(struct store_run *run, const char *ns, const char *wf,
                                 const char *type, int status, int64_t start_ms)
{
    memset(run, 0, sizeof(*run));
    ASSERT_OK(ttai_run_id_random(&run->run_id), (struct ttai_err *)NULL);
    snprintf(run->ns, sizeof(run->ns), "%s", ns);
    snprintf(run->workflow_id, sizeof(run->workflow_id), "%s", wf);
    snprintf(run->type, sizeof(run->type), "%s", type);
    run->status = status;
    run->start_ms = start_ms;
}

/* Commits a batch that creates run (and its execution) with one
 * WorkflowStarted event. */
static inline void test_create_run(struct store *store, const struct store_run *run)
{
    struct ttai_err err;
    struct store_batch *b = store_batch_new();
    ASSERT(b != NULL);
    ASSERT_OK(store_batch_put_run(b, run), &err);
    ASSERT_OK(store_batch_put_exec(b, run->ns, run->workflow_id, &run->run_id), &err);
    struct store_event ev = {.type = STORE_EV_WORKFLOW_STARTED, .time_ms = run->start_ms};
    ev.name = bytes_of(run->type);
    ASSERT_OK(store_batch_append(b, &run->run_id, &ev, &err), &err);
    ASSERT_OK(store_commit(store, b, &err), &err);
    store_batch_free(b);
}

static inline uint64_t test_last_event(struct store *store, const struct ttai_run_id *run)
{
    struct store_read *rd = test_read(store);
    struct ttai_err err;
    uint64_t last;
    ASSERT_OK(store_last_event_id(rd, run, &last, &err), &err);
    store_read_end(rd);
    return last;
}

/* ---- A reader in another process ---------------------------------------
 *
 * Forked before the test starts any thread (fork is only safe then). The
 * child opens the store read-only on its first request and answers each
 * request (a run id) with that run's last event id in a fresh read, so the
 * parent can check what another process sees. The child never runs the
 * parent's atexit handlers (it leaves with _exit). */
struct test_child {
    pid_t pid;
    int to_child;
    int from_child;
};

struct test_child_req {
    struct ttai_run_id run;
};

struct test_child_rep {
    int rc;              /* of the open, the read or store_last_event_id */
    uint64_t last_event_id;
};

static inline int test__read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static inline int test__write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static inline void test__child_main(int in, int out, const char *dir, size_t map_bytes_initial)
{
    struct store *store = NULL;
    struct test_child_req req;
    while (test__read_full(in, &req, sizeof(req)) == 0) {
        struct test_child_rep rep;
        memset(&rep, 0, sizeof(rep));
        struct ttai_err err;
        if (store == NULL) {
            struct store_opts opts = {.dir = dir, .read_only = true,
                                      .map_bytes_initial = map_bytes_initial};
            rep.rc = store_open(&store, &opts, &err);
        }
        struct store_read *rd = NULL;
        if (rep.rc == 0)
            rep.rc = store_read_begin(store, &rd, &err);
        if (rep.rc == 0)
            rep.rc = store_last_event_id(rd, &req.run, &rep.last_event_id, &err);
        store_read_end(rd);
        if (rep.rc != 0)
            fprintf(stderr, "child reader: rc %d %s\n", rep.rc, err.msg);
        if (test__write_full(out, &rep, sizeof(rep)) != 0)
            break;
    }
    store_close(store);
    _exit(0);
}

static inline void test_child_start(struct test_child *c, const char *dir, size_t map_bytes_initial)
{
    int down[2], up[2];
    ASSERT_EQ(pipe(down), 0);
    ASSERT_EQ(pipe(up), 0);
    fflush(NULL);
    c->pid = fork();
    ASSERT(c->pid >= 0);
    if (c->pid == 0) {
        close(down[1]);
        close(up[0]);
        test__child_main(down[0], up[1], dir, map_bytes_initial);
    }
    close(down[0]);
    close(up[1]);
    c->to_child = down[1];
    c->from_child = up[0];
}

/* The last event id of run as the child sees it in a new read. */
static inline struct test_child_rep test_child_ask(struct test_child *c, const struct ttai_run_id *run)
{
    /* Zeroed whole, padding included: the bytes cross a pipe (and
     * valgrind checks that every byte written was set). */
    struct test_child_req req;
    memset(&req, 0, sizeof(req));
    memcpy(&req.run, run, sizeof(req.run));
    struct test_child_rep rep;
    memset(&rep, 0, sizeof(rep));
    rep.rc = -1;
    if (test__write_full(c->to_child, &req, sizeof(req)) != 0 ||
        test__read_full(c->from_child, &rep, sizeof(rep)) != 0)
        rep.rc = -1000;
    return rep;
}

static inline void test_child_stop(struct test_child *c)
{
    close(c->to_child);
    close(c->from_child);
    int status;
    ASSERT_EQ(waitpid(c->pid, &status, 0), c->pid);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* ---- A minimal msgpack writer for hand-made (and malformed) input ------ */

struct mpw {
    uint8_t *buf;
    size_t len;
    size_t cap;
};

static inline void mpw_raw(struct mpw *w, const void *data, size_t len)
{
    if (w->len + len > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + len)
            cap *= 2;
        w->buf = realloc(w->buf, cap);
        ASSERT(w->buf != NULL);
        w->cap = cap;
    }
    if (len)
        memcpy(w->buf + w->len, data, len);
    w->len += len;
}

static inline void mpw_byte(struct mpw *w, uint8_t b)
{
    mpw_raw(w, &b, 1);
}

/* A type byte followed by v in n big-endian bytes. */
static inline void mpw_be(struct mpw *w, uint8_t type, uint64_t v, size_t n)
{
    uint8_t tmp[9];
    tmp[0] = type;
    for (size_t i = 0; i < n; i++)
        tmp[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    mpw_raw(w, tmp, 1 + n);
}

/* The shortest encoding of a non-negative integer. */
static inline void mpw_uint(struct mpw *w, uint64_t v)
{
    if (v <= 0x7f)
        mpw_byte(w, (uint8_t)v);
    else if (v <= 0xff)
        mpw_be(w, 0xcc, v, 1);
    else if (v <= 0xffff)
        mpw_be(w, 0xcd, v, 2);
    else if (v <= 0xffffffffu)
        mpw_be(w, 0xce, v, 4);
    else
        mpw_be(w, 0xcf, v, 8);
}

static inline void mpw_int(struct mpw *w, int64_t v)
{
    if (v >= 0)
        mpw_uint(w, (uint64_t)v);
    else if (v >= -32)
        mpw_byte(w, (uint8_t)(int8_t)v);
    else if (v >= INT8_MIN)
        mpw_be(w, 0xd0, (uint64_t)v, 1);
    else if (v >= INT16_MIN)
        mpw_be(w, 0xd1, (uint64_t)v, 2);
    else if (v >= INT32_MIN)
        mpw_be(w, 0xd2, (uint64_t)v, 4);
    else
        mpw_be(w, 0xd3, (uint64_t)v, 8);
}

static inline void mpw_map(struct mpw *w, uint32_t n)
{
    if (n <= 15)
        mpw_byte(w, (uint8_t)(0x80 | n));
    else if (n <= 0xffff)
        mpw_be(w, 0xde, n, 2);
    else
        mpw_be(w, 0xdf, n, 4);
}

static inline void mpw_array(struct mpw *w, uint32_t n)
{
    if (n <= 15)
        mpw_byte(w, (uint8_t)(0x90 | n));
    else if (n <= 0xffff)
        mpw_be(w, 0xdc, n, 2);
    else
        mpw_be(w, 0xdd, n, 4);
}

static inline void mpw_str(struct mpw *w, const char *s)
{
    size_t n = strlen(s);
    if (n <= 31)
        mpw_byte(w, (uint8_t)(0xa0 | n));
    else if (n <= 0xff)
        mpw_be(w, 0xd9, n, 1);
    else if (n <= 0xffff)
        mpw_be(w, 0xda, n, 2);
    else
        mpw_be(w, 0xdb, n, 4);
    mpw_raw(w, s, n);
}

static inline void mpw_bin(struct mpw *w, const void *data, size_t n)
{
    if (n <= 0xff)
        mpw_be(w, 0xc4, n, 1);
    else if (n <= 0xffff)
        mpw_be(w, 0xc5, n, 2);
    else
        mpw_be(w, 0xc6, n, 4);
    mpw_raw(w, data, n);
}

static inline void mpw_double(struct mpw *w, double d)
{
    uint64_t raw;
    memcpy(&raw, &d, sizeof(raw));
    mpw_be(w, 0xcb, raw, 8);
}

static inline void mpw_float(struct mpw *w, float f)
{
    uint32_t raw;
    memcpy(&raw, &f, sizeof(raw));
    mpw_be(w, 0xca, raw, 4);
}

static inline void mpw_free(struct mpw *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

/* A heap copy of exactly len bytes, so that ASan catches any read past it. */
static inline uint8_t *test_exact_copy(const void *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    ASSERT(copy != NULL);
    if (len)
        memcpy(copy, data, len);
    return copy;
}

#endif
