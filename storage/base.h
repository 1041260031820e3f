/* base.h: what every layer of ttai shares: result codes, error details,
 * assertions, allocation and time units.
 *
 * It lives in storage/ because storage is the bottom layer: every other
 * folder links ttai_storage, and nothing here knows of LMDB, workflows or
 * the network. Public API of the engine re-exports these names.
 */
#ifndef TTAI_BASE_H
#define TTAI_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Result codes ------------------------------------------------------
 *
 * 0 is success; every failure is negative. One table yields the enum,
 * ttai_rc_name() and ttai_strerror(). Foreign codes (LMDB, errno, curl)
 * are translated where they are met and never travel upward. */
#define TTAI_RC_MAP(X)                                                          \
    X(OK,        0, "success")                                                  \
    X(EINVAL,   -1, "invalid argument")                                         \
    X(ENOMEM,   -2, "out of memory")                                            \
    X(ENOTFOUND,-3, "not found")                                                \
    X(EEXIST,   -4, "already exists")                                           \
    X(ECONFLICT,-5, "precondition failed")                                      \
    X(ECORRUPT, -6, "stored data is corrupt")                                   \
    X(EIO,      -7, "input/output error")                                       \
    X(ENOSPC,   -8, "no space left on device")                                  \
    X(EFATAL,   -9, "store failed earlier and refuses writes until reopened")   \
    X(EBUSY,   -10, "resource busy")                                            \
    X(ETOOBIG, -11, "too large")                                                \
    X(EVERSION,-12, "unsupported format version")                               \
    X(ECLOSED, -13, "closed")                                                   \
    X(EDECODE, -14, "malformed encoding")                                       \
    X(ETIMEDOUT,-15, "timed out")                                               \
    X(ECANCELED,-16, "canceled")                                                \
    X(ENONDET, -17, "non-deterministic workflow code")                          \
    X(EPERM,   -18, "operation not permitted")                                  \
    X(EUNAVAIL,-19, "unavailable")

enum ttai_rc {
#define TTAI__RC_ENUM(name, value, text) TTAI_##name = value,
    TTAI_RC_MAP(TTAI__RC_ENUM)
#undef TTAI__RC_ENUM
};

/* The symbolic name of a code ("ENOTFOUND"), or "UNKNOWN". Static storage. */
const char *ttai_rc_name(int rc);
/* A short description of a code. Static storage. */
const char *ttai_strerror(int rc);

#if defined(__GNUC__)
#define TTAI_MUST_CHECK __attribute__((warn_unused_result))
#define TTAI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define TTAI_NORETURN __attribute__((noreturn))
#else
#define TTAI_MUST_CHECK
#define TTAI_PRINTF(fmt, args)
#define TTAI_NORETURN
#endif

/* ---- Error details -----------------------------------------------------
 *
 * Callers pass a struct ttai_err (stack-allocated; fields are public) to
 * learn what went wrong. It may be NULL when the caller only wants the code.
 * Messages follow git: lower case, no final period, failure first. */
#define TTAI_ERR_MSG_MAX 256

struct ttai_err {
    int rc;                       /* last failure code, 0 when none */
    char msg[TTAI_ERR_MSG_MAX];   /* human-readable, NUL-terminated */
};

/* Fills err (if not NULL) with rc and a formatted message; returns rc, so
 * that a failing path reads `return ttai_errf(err, TTAI_EINVAL, "...")`. */
int ttai_errf(struct ttai_err *err, int rc, const char *fmt, ...) TTAI_PRINTF(3, 4);
int ttai_verrf(struct ttai_err *err, int rc, const char *fmt, va_list ap);
/* Clears err to "no error". NULL is a no-op. */
void ttai_err_clear(struct ttai_err *err);
/* Prefixes the message already in err with a context "ctx: ". */
void ttai_err_prefix(struct ttai_err *err, const char *fmt, ...) TTAI_PRINTF(2, 3);

/* ---- Assertions ---------------------------------------------------------
 *
 * Assertions catch our own bugs, never bad input. TTAI_ASSERT stays on in
 * every build (release included) and aborts after printing the expression.
 * TTAI_DEBUG_ASSERT and the *_check() functions run in debug and sanitizer
 * builds only. */
void ttai__assert_fail(const char *expr, const char *file, int line) TTAI_NORETURN;

#define TTAI_ASSERT(e) ((e) ? (void)0 : ttai__assert_fail(#e, __FILE__, __LINE__))
#ifdef NDEBUG
#define TTAI_DEBUG_ASSERT(e) ((void)0)
#else
#define TTAI_DEBUG_ASSERT(e) TTAI_ASSERT(e)
#endif

/* ---- Allocation ---------------------------------------------------------
 *
 * All allocation goes through these, so that tests can fail the N-th one.
 * ttai_malloc/ttai_calloc/ttai_realloc return NULL on failure (never abort);
 * ttai_free(NULL) is a no-op. */
void *ttai_malloc(size_t size);
void *ttai_calloc(size_t count, size_t size);
void *ttai_realloc(void *ptr, size_t size);
void ttai_free(void *ptr);
/* A NUL-terminated copy of len bytes of s; NULL when out of memory. */
char *ttai_strndup(const char *s, size_t len);

/* Tests only: make the allocation that is n-th from now fail (0 disables). */
void ttai_alloc_fail_after(uint64_t n);

/* ---- Time ------------------------------------------------------------------ */

/* Milliseconds since the Unix epoch from the real clock (CLOCK_REALTIME).
 * Only the clock module and tools call this; the engine reads its own clock. */
int64_t ttai_wall_ms(void);
/* Monotonic nanoseconds, for measuring durations. */
int64_t ttai_mono_ns(void);

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds,
 * "2026-11-23T10:00:00.000Z", into buf (at least 32 bytes). Returns buf. */
char *ttai_time_format(int64_t ms, char *buf, size_t size);

/* ---- Identifiers -------------------------------------------------------- */

/* A run id is 16 random bytes, printed as a lower-case RFC 4122 uuid. */
#define TTAI_RUN_ID_BYTES 16
#define TTAI_RUN_ID_TEXT 37 /* 36 characters and the NUL */

struct ttai_run_id {
    uint8_t b[TTAI_RUN_ID_BYTES];
};

/* A 64-bit hash of a workflow's name, its namespace and id (FNV-1a over
 * both with a NUL between, so that "a" "bc" and "ab" "c" differ); for
 * in-memory tables only, never stored. */
uint64_t ttai_workflow_hash(const char *ns, const char *workflow_id);

/* A new random (version 4) run id from the OS's random source. */
int ttai_run_id_random(struct ttai_run_id *out) TTAI_MUST_CHECK;
/* Formats id into buf (at least TTAI_RUN_ID_TEXT bytes). Returns buf. */
char *ttai_run_id_format(const struct ttai_run_id *id, char *buf);
/* Parses the 36-character form (or 32 hex digits); TTAI_EINVAL if malformed. */
int ttai_run_id_parse(const char *text, struct ttai_run_id *out) TTAI_MUST_CHECK;
/* 1 when every byte is zero (the "no run" value). */
int ttai_run_id_is_zero(const struct ttai_run_id *id);
int ttai_run_id_eq(const struct ttai_run_id *a, const struct ttai_run_id *b);

/* a + b, saturating at the ends of int64_t. For a time plus a duration
 * that comes from a request or workflow code, so that "never" (a huge
 * timeout) does not wrap into the past, and for sums of input values. */
static inline int64_t ttai_add_sat(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

#endif /* TTAI_BASE_H */
