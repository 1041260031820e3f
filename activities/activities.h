/* activities.h: activity implementations that talk to the outside world:
 * JSON over HTTP and e-mail over SMTP, both through libcurl.
 *
 * Two layers:
 *   - helpers an activity function calls directly (act_http_request(),
 *     act_smtp_send()): they do one network exchange, classify its outcome
 *     into a result struct, and leave it to act_http_fail()/act_smtp_fail()
 *     to turn a failure into ttai_activity_fail() with the right
 *     retryability and retry delay;
 *   - ready-made activity types, "http_json" (act_http_json_def) and
 *     "send_email" (act_send_email_def), for workflows to schedule.
 *
 * Lifecycle. act_global_init() runs once at startup, before any thread
 * uses this module (it initialises libcurl, whose global setup is not to be
 * raced). act_smtp_configure() and act_http_configure() store settings in
 * module-level storage: call them before the engine starts; afterwards they
 * are read-only (activity threads read them without locks). Tests may call
 * them again while no activity of this module runs.
 *
 * Threads. Each thread that sends keeps one libcurl easy handle of its own
 * (see http.c for why), freed when the thread exits. A thread that never
 * exits before the program does (main, in tests and tools) frees its handle
 * with act_thread_release().
 *
 * Signals. libcurl is used with CURLOPT_NOSIGNAL and sends with
 * MSG_NOSIGNAL, so it raises no SIGPIPE of its own; programs should still
 * ignore SIGPIPE as any network daemon does.
 *
 * Full documentation: docs/activities.md, sections "HTTP" and
 * "E-mail (SMTP)".
 */
#ifndef TTAI_ACTIVITIES_H
#define TTAI_ACTIVITIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ttai.h"

/* ---- Module lifecycle ------------------------------------------------------ */

/* Initialises libcurl. Call once, before threads start; TTAI_EIO when
 * libcurl cannot initialise (e.g. its TLS library failed). */
int act_global_init(struct ttai_err *err) TTAI_MUST_CHECK;
/* Undoes act_global_init() after every thread that used this module has
 * exited or called act_thread_release(). */
void act_global_cleanup(void);
/* Frees the calling thread's libcurl handle and its idle connections. A
 * later request in this thread makes a new one. */
void act_thread_release(void);

/* ---- HTTP -------------------------------------------------------------------
 *
 * One request, JSON in and out, with explicit timeouts, TLS verification
 * always on, and a response size limit. */

enum act_http_method { ACT_HTTP_GET = 0, ACT_HTTP_POST, ACT_HTTP_PUT, ACT_HTTP_DELETE };

#define ACT_HTTP_CONNECT_TIMEOUT_MS_DEFAULT 5000
#define ACT_HTTP_TIMEOUT_MS_DEFAULT 30000
#define ACT_HTTP_TIMEOUT_MS_MAX (60 * 60 * 1000)         /* either timeout, at most 1 h */
#define ACT_HTTP_RESPONSE_BYTES_DEFAULT (2u << 20)      /* 2 MiB */
#define ACT_HTTP_RESPONSE_BYTES_MAX (64u << 20)
#define ACT_HTTP_REQUEST_BYTES_MAX (8u << 20)          /* request body */
#define ACT_HTTP_URL_BYTES_MAX 4096
#define ACT_HTTP_HEADERS_MAX 32                         /* caller-given headers */
#define ACT_HTTP_HEADER_BYTES_MAX 8192                  /* "name: value" */
#define ACT_HTTP_RETRY_AFTER_MS_MAX (60 * 60 * 1000)    /* longer Retry-After is clamped */

struct act_http_header {
    const char *name;                /* a token: no spaces, colons or controls */
    const char *value;               /* no CR, LF or NUL */
};

/* A request. Zero fields take the defaults; at most one of body,
 * body_json and body_payload may be set. The strings and the body are
 * borrowed for the duration of act_http_request(). */
struct act_http_request {
    int method;                             /* enum act_http_method */
    const char *url;                        /* http:// or https:// only */
    const struct act_http_header *headers;  /* header_count entries */
    size_t header_count;
    const char *body;                       /* sent as is (JSON text), body_len bytes */
    size_t body_len;
    const json_t *body_json;                /* serialised compactly */
    struct ttai_payload body_payload;       /* msgpack, converted to JSON */
    int64_t connect_timeout_ms;             /* 0: ACT_HTTP_CONNECT_TIMEOUT_MS_DEFAULT */
    int64_t timeout_ms;                     /* whole exchange; 0: ACT_HTTP_TIMEOUT_MS_DEFAULT */
    size_t response_bytes_max;              /* 0: ACT_HTTP_RESPONSE_BYTES_DEFAULT */
    const char *ca_file;                    /* CA bundle (PEM) to verify with; NULL: the default */
    /* When set, the transfer heartbeats the attempt about once a second
     * (empty details, which replace earlier ones) and stops when the
     * heartbeat says TTAI_ECANCELED. */
    struct ttai_activity_ctx *ctx;
};

/* How an exchange ended; each failure has an error type (in brackets). */
enum act_http_outcome {
    ACT_HTTP_OK = 0,        /* a 2xx status */
    ACT_HTTP_CONNECT,       /* [HttpConnect] no connection, or it broke: retryable */
    ACT_HTTP_TIMEOUT,       /* [HttpTimeout] connect or total timeout: retryable */
    ACT_HTTP_5XX,           /* [Http5xx] retryable (honours Retry-After) */
    ACT_HTTP_429,           /* [Http429] retryable (honours Retry-After) */
    ACT_HTTP_4XX,           /* [Http4xx] other 4xx: not retryable */
    ACT_HTTP_STATUS,        /* [HttpStatus] 1xx/3xx as a final status: not retryable */
    ACT_HTTP_TOO_LARGE,     /* [HttpTooLarge] response past the limit: not retryable */
    ACT_HTTP_TLS,           /* [HttpTls] certificate not trusted: not retryable */
    ACT_HTTP_INVALID,       /* [HttpInvalid] bad request arguments: not retryable */
    ACT_HTTP_CANCELED,      /* [HttpCanceled] the heartbeat said stop: not retryable */
    ACT_HTTP_ERROR,         /* [HttpError] any other libcurl failure: retryable */
};

#define ACT_HTTP_CONTENT_TYPE_MAX 128

/* The outcome of act_http_request(). Fields are public; initialise with
 * act_http_result_init() and free with act_http_result_release(). */
struct act_http_result {
    int rc;                          /* 0 for 2xx, else a negative ttai code */
    int outcome;                     /* enum act_http_outcome */
    long status;                     /* HTTP status; 0 when none arrived */
    bool retryable;
    int64_t retry_after_ms;          /* from Retry-After; -1 when absent or unparsable */
    char error_type[32];             /* "" on success */
    char message[TTAI_ERR_MSG_MAX];  /* method, URL (no credentials or query), status */
    char content_type[ACT_HTTP_CONTENT_TYPE_MAX];  /* of the response; "" when none */
    char *body;                      /* owned, NUL-terminated; NULL when empty */
    size_t body_len;
};

void act_http_result_init(struct act_http_result *res);
/* Frees the body and re-initialises res. */
void act_http_result_release(struct act_http_result *res);

/* Performs one request in the calling thread (blocking, at most about
 * connect + total timeout) and fills res, whose previous body is freed.
 * Returns res->rc: 0 when a 2xx response arrived in full. The response
 * body is kept whatever the status (up to the limit). */
int act_http_request(const struct act_http_request *req, struct act_http_result *res);

/* Applies a failed result to the attempt: the Retry-After delay, if any
 * and the failure is retryable, through ttai_activity_set_retry_delay(),
 * then ttai_activity_fail() with res's type, retryability and message.
 * Returns what ttai_activity_fail() returns (TTAI_EIO). */
int act_http_fail(struct ttai_activity_ctx *ctx, const struct act_http_result *res);

/* The response body as a msgpack payload appended to out: its JSON
 * converted (an empty body becomes nil). TTAI_EINVAL when the body is not
 * JSON. */
int act_http_result_payload(const struct act_http_result *res, struct ttai_buf *out,
                            struct ttai_err *err) TTAI_MUST_CHECK;
/* The response body parsed by jansson (caller json_decref()s), or NULL
 * with err filled when it is empty or not JSON. */
json_t *act_http_result_json(const struct act_http_result *res, struct ttai_err *err);

/* Parses a Retry-After value, delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", and the obsolete forms), into a delay
 * from now_ms (wall clock, ms since the epoch): negative delays become 0,
 * delays past ACT_HTTP_RETRY_AFTER_MS_MAX are clamped. False when the value
 * is neither form. */
bool act_http_retry_after_parse(const char *value, int64_t now_ms, int64_t *delay_ms);
/* Copies url into out without its userinfo, query and fragment, truncated
 * to size - 1 bytes (a trailing "..." marks truncation). For messages. */
void act_http_url_redact(const char *url, char *out, size_t size);
/* "GET", "POST", "PUT", "DELETE"; "?" for anything else. */
const char *act_http_method_name(int method);
/* The method named by name (upper case, len bytes); false if unknown. */
bool act_http_method_parse(const char *name, size_t len, int *method);

/* ---- The "http_json" activity ---------------------------------------------
 *
 * Input: a msgpack map
 *   url             string, required
 *   method          "GET" (default), "POST", "PUT" or "DELETE"
 *   headers         map of name -> value strings (journaled: no secrets here)
 *   secret_headers  map of header name -> secret name, resolved from
 *                   act_http_configure()'s secrets when the attempt runs
 *   body            a string is sent as is (it should be JSON text); any
 *                   other value is sent as its JSON form
 *   timeout_ms, connect_timeout_ms, response_bytes_max   integers
 * Output: a map {status: int, body: the response's JSON as msgpack, or the
 * raw text when it is not JSON, or nil when empty}.
 * Failures: act_http_fail() (table above), and HttpInvalid (not
 * retryable) for malformed input or an unknown secret. */
extern const struct ttai_activity_def act_http_json_def;

#define ACT_HTTP_SECRETS_MAX 16
#define ACT_HTTP_SECRET_NAME_MAX 64          /* bytes, with the NUL */
#define ACT_HTTP_SECRET_VALUE_MAX 1024       /* bytes, with the NUL */

struct act_http_secret {
    const char *name;
    const char *value;                       /* e.g. "Bearer xyz" */
};

struct act_http_config {
    const struct act_http_secret *secrets;   /* secret_count entries */
    size_t secret_count;
};

/* Copies cfg into the module's settings (replacing earlier ones); NULL
 * clears them. TTAI_EINVAL / TTAI_ETOOBIG past the limits above (nothing
 * changes then). */
int act_http_configure(const struct act_http_config *cfg, struct ttai_err *err) TTAI_MUST_CHECK;

/* ---- E-mail (SMTP) ----------------------------------------------------------- */

enum act_smtp_tls {
    /* TLS is required: STARTTLS on smtp:// (the transfer fails if the
     * server does not offer it), TLS from the start on smtps://. */
    ACT_SMTP_TLS_REQUIRED = 0,
    /* Plain text. Refused with credentials unless the host is loopback. */
    ACT_SMTP_TLS_NONE = 1,
};

#define ACT_SMTP_CONNECT_TIMEOUT_MS_DEFAULT 10000
#define ACT_SMTP_TIMEOUT_MS_DEFAULT 60000
#define ACT_SMTP_TIMEOUT_MS_MAX (60 * 60 * 1000)
#define ACT_SMTP_URL_MAX 512                  /* bytes of each configured string */
#define ACT_SMTP_CREDENTIAL_MAX 256
#define ACT_SMTP_FROM_NAME_MAX 128
#define ACT_SMTP_RECIPIENTS_MAX 50
#define ACT_SMTP_ADDRESS_MAX 254              /* bytes of one address */
#define ACT_SMTP_SUBJECT_MAX 900              /* bytes of UTF-8 */
#define ACT_SMTP_BODY_BYTES_MAX (1u << 20)    /* each of the text and HTML parts */

/* Where mail goes and as whom. Strings are copied. */
struct act_smtp_config {
    const char *url;                 /* "smtp://host:587" or "smtps://host:465" */
    int tls;                         /* enum act_smtp_tls */
    const char *username;            /* NULL or "": no AUTH */
    const char *password;
    const char *from_address;        /* envelope sender and From: address */
    const char *from_name;           /* display name; NULL: none */
    const char *ca_file;             /* CA bundle (PEM) to verify with; NULL: the default */
    int64_t connect_timeout_ms;      /* 0: ACT_SMTP_CONNECT_TIMEOUT_MS_DEFAULT */
    int64_t timeout_ms;              /* 0: ACT_SMTP_TIMEOUT_MS_DEFAULT */
};

/* Stores cfg as the module's SMTP settings (a copy); NULL clears them.
 * Call before the engine starts: the settings are read-only afterwards.
 * TTAI_EINVAL for a missing or malformed url or from_address, an smtps://
 * url with ACT_SMTP_TLS_NONE, credentials over plain text to a host that
 * is not loopback, or a timeout out of range; TTAI_ETOOBIG for a string
 * past its limit (ACT_SMTP_URL_MAX for url and ca_file,
 * ACT_SMTP_CREDENTIAL_MAX, ACT_SMTP_ADDRESS_MAX, ACT_SMTP_FROM_NAME_MAX,
 * counting the NUL). On error the previous settings stay. */
int act_smtp_configure(const struct act_smtp_config *cfg, struct ttai_err *err) TTAI_MUST_CHECK;

/* One message: a text part and, optionally, an HTML alternative. */
struct act_smtp_message {
    const char *const *to;           /* to_count bare addresses "user@host" */
    size_t to_count;
    const char *subject;             /* UTF-8, no CR or LF */
    const char *text;                /* UTF-8, required */
    const char *html;                /* UTF-8; NULL or "": text/plain only */
    /* Makes the Message-ID a function of this string (the activity's
     * idempotency key), so that every attempt sends the same id and a
     * receiver can drop duplicates. NULL: a random id. */
    const char *message_id_seed;
};

enum act_smtp_outcome {
    ACT_SMTP_OK = 0,
    ACT_SMTP_CONNECT,        /* [SmtpConnect] no connection, or it broke: retryable */
    ACT_SMTP_TIMEOUT,        /* [SmtpTimeout] retryable */
    ACT_SMTP_TRANSIENT,      /* [SmtpTransient] a 4xx reply: retryable */
    ACT_SMTP_REJECTED,       /* [SmtpRejected] a 5xx reply: not retryable */
    ACT_SMTP_AUTH,           /* [SmtpAuth] login refused: not retryable */
    ACT_SMTP_TLS,            /* [SmtpTls] STARTTLS missing or certificate bad: not retryable */
    ACT_SMTP_INVALID,        /* [SmtpInvalid] bad message or settings: not retryable */
    ACT_SMTP_CONFIG,         /* [SmtpConfig] act_smtp_configure() never ran: not retryable */
    ACT_SMTP_ERROR,          /* [SmtpError] any other libcurl failure: retryable */
};

struct act_smtp_result {
    int rc;                          /* 0 when the server accepted the message */
    int outcome;                     /* enum act_smtp_outcome */
    long reply_code;                 /* the server's last reply code; 0 when none */
    bool retryable;
    char error_type[32];
    char message[TTAI_ERR_MSG_MAX];
    char message_id[128];            /* "<...>", set once the message was built */
};

/* Builds msg and sends it with the configured settings, in the calling
 * thread (blocking, at most about connect + total timeout). Every
 * recipient must be accepted or nothing is sent. Returns res->rc. */
int act_smtp_send(const struct act_smtp_message *msg, struct act_smtp_result *res);
/* ttai_activity_fail() with res's type, retryability and message. */
int act_smtp_fail(struct ttai_activity_ctx *ctx, const struct act_smtp_result *res);

/* Builds the RFC 5322 message for msg with the configured From, dated
 * now_ms, into a buffer the caller frees with ttai_free(). CRLF line ends,
 * both parts base64. message_id_out (may be NULL) gets the Message-ID
 * (at least 128 bytes). TTAI_EINVAL / TTAI_ETOOBIG for a bad message. */
int act_smtp_message_build(const struct act_smtp_message *msg, int64_t now_ms, char **out,
                           size_t *out_len, char *message_id_out,
                           struct ttai_err *err) TTAI_MUST_CHECK;

/* ---- The "send_email" activity -------------------------------------------------
 *
 * Input: a msgpack map {to: array of address strings (or one string),
 * subject, text, html (optional)}. The server, credentials and sender come
 * from act_smtp_configure(), never from the input, so no credential is
 * ever journaled. Output: {message_id: string, recipients: int}.
 * Failures: act_smtp_fail() (table above); SmtpInvalid for malformed
 * input, and SmtpConfig (not retryable) when SMTP is not configured. */
extern const struct ttai_activity_def act_send_email_def;

#endif /* TTAI_ACTIVITIES_H */
