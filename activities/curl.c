/* curl.c: libcurl's global setup and the per-thread easy handles that both
 * the HTTP and the SMTP helpers use.
 *
 * Connection reuse: one easy handle per thread, kept in thread-local
 * storage and reused for every request that thread makes. libcurl keeps
 * a connection cache, a DNS cache and a TLS session cache per easy handle,
 * and curl_easy_reset() clears the options but keeps those caches, so a
 * worker that calls the same API again reuses its open connection.
 *
 * Why not a CURLSH sharing one connection cache between threads: the
 * share needs lock callbacks around every cache access, and a shared
 * connection can only be used by one transfer at a time anyway. Activity
 * workers are a fixed set of long-lived threads (engine option
 * activity_threads), so per-thread handles bound the open connections at
 * about 5 (libcurl's CURLOPT_MAXCONNECTS default) per worker, need no
 * locks, and cannot contend. The cost: two workers calling the same host
 * each keep their own connection.
 *
 * Invariants:
 *   1. A handle is only ever used by the thread that created it.
 *   2. A handle is freed by its thread's exit (the key's destructor) or by
 *      act_thread_release(), never both: the release clears the key.
 */
#include "act_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_bool global_ready;          /* act_global_init() succeeded */
static pthread_key_t easy_key;
static pthread_once_t easy_once = PTHREAD_ONCE_INIT;
static bool easy_key_ok;                  /* written once under easy_once */

int act_global_init(struct ttai_err *err)
{
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK)
        return ttai_errf(err, TTAI_EIO, "cannot initialise libcurl: %s", curl_easy_strerror(cc));
    atomic_store(&global_ready, true);
    return TTAI_OK;
}

void act_global_cleanup(void)
{
    if (!atomic_exchange(&global_ready, false))
        return;
    curl_global_cleanup();
}

static void easy_destroy(void *handle)
{
    curl_easy_cleanup(handle);
}

static void easy_key_create(void)
{
    easy_key_ok = pthread_key_create(&easy_key, easy_destroy) == 0;
}

CURL *act__easy_get(void)
{
    /* Using the module before act_global_init() is our caller's bug. */
    TTAI_ASSERT(atomic_load(&global_ready));
    pthread_once(&easy_once, easy_key_create);
    if (!easy_key_ok)
        return NULL;
    CURL *h = pthread_getspecific(easy_key);
    if (h != NULL) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h == NULL)
        return NULL;
    if (pthread_setspecific(easy_key, h) != 0) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

void act_thread_release(void)
{
    pthread_once(&easy_once, easy_key_create);
    if (!easy_key_ok)
        return;
    CURL *h = pthread_getspecific(easy_key);
    if (h == NULL)
        return;
    (void)pthread_setspecific(easy_key, NULL); /* cannot fail for a set key */
    curl_easy_cleanup(h);
}

size_t act__base64(const uint8_t *data, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out[n++] = abc[(v >> 18) & 63];
        out[n++] = abc[(v >> 12) & 63];
        out[n++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[n++] = i + 2 < len ? abc[v & 63] : '=';
    }
    return n;
}

void act__msgf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(dst, size, fmt, ap); /* truncation is fine for messages */
    va_end(ap);
}

void act__strcpy(char *dst, size_t size, const char *src)
{
    act__msgf(dst, size, "%s", src);
}
