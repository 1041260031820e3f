/* act_int.h: what the files of activities/ share and nobody else uses. */
#ifndef TTAI_ACT_INT_H
#define TTAI_ACT_INT_H

#include <curl/curl.h>

#include "activities.h"

/* The calling thread's easy handle, reset to libcurl's defaults but with
 * its connection, DNS and TLS session caches intact; NULL when libcurl
 * cannot make one (out of memory). Owned by the thread: never freed by
 * the caller. */
CURL *act__easy_get(void);

/* True for a curl_easy_setopt() that failed: options we set are all known
 * to this libcurl, so a failure means out of memory or a value libcurl
 * refuses (e.g. a URL it cannot store). */
#define ACT__SETOPT_FAILED(h, opt, val) (curl_easy_setopt((h), (opt), (val)) != CURLE_OK)

/* Appends base64 of len bytes to out (no line breaks, '=' padded); out
 * must hold 4 * ((len + 2) / 3) more bytes. Returns the bytes written. */
size_t act__base64(const uint8_t *data, size_t len, char *out);

/* Formats like snprintf into a fixed buffer, truncating (messages only). */
void act__msgf(char *dst, size_t size, const char *fmt, ...) TTAI_PRINTF(3, 4);

/* Sets a result's error type (a string literal of ours). */
void act__strcpy(char *dst, size_t size, const char *src);

/* The SMTP settings act_smtp_configure() stored (smtp.c). */
struct act__smtp_settings {
    bool configured;
    char url[ACT_SMTP_URL_MAX];
    int tls;                                  /* enum act_smtp_tls */
    char username[ACT_SMTP_CREDENTIAL_MAX];   /* "": no AUTH */
    char password[ACT_SMTP_CREDENTIAL_MAX];
    char from_address[ACT_SMTP_ADDRESS_MAX + 1];
    char from_name[ACT_SMTP_FROM_NAME_MAX];
    char ca_file[ACT_SMTP_URL_MAX];           /* "": libcurl's default bundle */
    int64_t connect_timeout_ms;               /* defaults applied */
    int64_t timeout_ms;
};

const struct act__smtp_settings *act__smtp_settings(void);

/* True for a bare address "local@domain" we are willing to put in an
 * envelope and a header: printable ASCII without specials or spaces. */
bool act__smtp_address_ok(const char *address);

#endif
