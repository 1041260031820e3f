/* base.c: result codes, error details, assertions, allocation, clocks and
 * run ids shared by every layer (see base.h). */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

const char *ttai_rc_name(int rc)
{
    switch (rc) {
#define TTAI__RC_NAME(name, value, text) case value: return #name;
        TTAI_RC_MAP(TTAI__RC_NAME)
#undef TTAI__RC_NAME
    }
    return "UNKNOWN";
}

const char *ttai_strerror(int rc)
{
    switch (rc) {
#define TTAI__RC_TEXT(name, value, text) case value: return text;
        TTAI_RC_MAP(TTAI__RC_TEXT)
#undef TTAI__RC_TEXT
    }
    return "unknown error";
}

int ttai_verrf(struct ttai_err *err, int rc, const char *fmt, va_list ap)
{
    if (err != NULL) {
        err->rc = rc;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return rc;
}

int ttai_errf(struct ttai_err *err, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ttai_verrf(err, rc, fmt, ap);
    va_end(ap);
    return rc;
}

void ttai_err_clear(struct ttai_err *err)
{
    if (err != NULL) {
        err->rc = 0;
        err->msg[0] = '\0';
    }
}

void ttai_err_prefix(struct ttai_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[TTAI_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char joined[2 * TTAI_ERR_MSG_MAX + 2];
    int n = snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
    size_t keep = n < 0 ? 0 : (size_t)n < sizeof(err->msg) ? (size_t)n : sizeof(err->msg) - 1;
    memcpy(err->msg, joined, keep);
    err->msg[keep] = '\0';
}

void ttai__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "ttai: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}

/* ---- Allocation ------------------------------------------------------------ */

/* Countdown to an injected allocation failure; 0 means none is armed. */
static _Atomic uint64_t alloc_fail_countdown;

static int alloc_should_fail(void)
{
    uint64_t n = atomic_load_explicit(&alloc_fail_countdown, memory_order_relaxed);
    if (n == 0)
        return 0;
    /* Only the thread that moves the counter from 1 to 0 fails. */
    while (n != 0) {
        if (atomic_compare_exchange_weak(&alloc_fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

void ttai_alloc_fail_after(uint64_t n)
{
    atomic_store(&alloc_fail_countdown, n);
}

void *ttai_malloc(size_t size)
{
    if (alloc_should_fail())
        return NULL;
    return malloc(size == 0 ? 1 : size);
}

void *ttai_calloc(size_t count, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    return calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
}

void *ttai_realloc(void *ptr, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    return realloc(ptr, size == 0 ? 1 : size);
}

void ttai_free(void *ptr)
{
    free(ptr);
}

char *ttai_strndup(const char *s, size_t len)
{
    char *copy = ttai_malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

/* ---- Time ------------------------------------------------------------------ */

int64_t ttai_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ttai_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *ttai_time_format(int64_t ms, char *buf, size_t size)
{
    int64_t secs = ms / 1000;
    int64_t millis = ms % 1000;
    if (millis < 0) {
        millis += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "invalid-time");
        return buf;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)millis);
    return buf;
}

/* ---- Run ids ------------------------------------------------------------------ */

/* Random bytes come from the kernel a page at a time per thread: one
 * getrandom() per run id took 7% of the engine thread's time at 10,000
 * starts a second, a system call costing several microseconds in a VM.
 * A forked child must not hand out its parent's next bytes again: the
 * fork generation (bumped in the child by an atfork handler) empties every
 * thread's buffer. */
#define RANDOM_BUF_BYTES 4096

static atomic_uint random_generation;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;
static _Thread_local struct {
    uint8_t bytes[RANDOM_BUF_BYTES];
    size_t used;                       /* bytes handed out; RANDOM_BUF_BYTES: empty */
    unsigned generation;
} random_buf = {.used = RANDOM_BUF_BYTES};

static void random_forked(void)
{
    atomic_fetch_add(&random_generation, 1);
}

static void random_setup(void)
{
    pthread_atfork(NULL, NULL, random_forked);
}

static int random_fill(void)
{
    size_t got = 0;
    while (got < RANDOM_BUF_BYTES) {
        ssize_t n = getrandom(random_buf.bytes + got, RANDOM_BUF_BYTES - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TTAI_EIO;
        }
        got += (size_t)n;
    }
    random_buf.used = 0;
    random_buf.generation = atomic_load(&random_generation);
    return TTAI_OK;
}

uint64_t ttai_workflow_hash(const char *ns, const char *workflow_id)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)ns; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    h *= 1099511628211ull; /* the NUL between them */
    for (const unsigned char *p = (const unsigned char *)workflow_id; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

int ttai_run_id_random(struct ttai_run_id *out)
{
    pthread_once(&random_once, random_setup);
    if (random_buf.generation != atomic_load(&random_generation) ||
        RANDOM_BUF_BYTES - random_buf.used < sizeof(out->b)) {
        if (random_fill() != 0)
            return TTAI_EIO;
    }
    memcpy(out->b, random_buf.bytes + random_buf.used, sizeof(out->b));
    /* Handed out once: the bytes are wiped as they go. */
    memset(random_buf.bytes + random_buf.used, 0, sizeof(out->b));
    random_buf.used += sizeof(out->b);
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40); /* version 4 */
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    return TTAI_OK;
}

char *ttai_run_id_format(const struct ttai_run_id *id, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < TTAI_RUN_ID_BYTES; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        buf[o++] = hex[id->b[i] >> 4];
        buf[o++] = hex[id->b[i] & 15];
    }
    buf[o] = '\0';
    return buf;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ttai_run_id_parse(const char *text, struct ttai_run_id *out)
{
    size_t len = strlen(text);
    int dashed = len == 36;
    if (!dashed && len != 32)
        return TTAI_EINVAL;
    size_t i = 0;
    for (size_t byte = 0; byte < TTAI_RUN_ID_BYTES; byte++) {
        if (dashed && (byte == 4 || byte == 6 || byte == 8 || byte == 10)) {
            if (text[i] != '-')
                return TTAI_EINVAL;
            i++;
        }
        int hi = hex_value(text[i]);
        int lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0)
            return TTAI_EINVAL;
        out->b[byte] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return TTAI_OK;
}

int ttai_run_id_is_zero(const struct ttai_run_id *id)
{
    for (size_t i = 0; i < TTAI_RUN_ID_BYTES; i++)
        if (id->b[i] != 0)
            return 0;
    return 1;
}

int ttai_run_id_eq(const struct ttai_run_id *a, const struct ttai_run_id *b)
{
    return memcmp(a->b, b->b, TTAI_RUN_ID_BYTES) == 0;
}
