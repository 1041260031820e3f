/* smtp.c: e-mail through SMTP with libcurl: the module's SMTP settings,
 * one send, the classification of its outcome, and the "send_email"
 * activity type.
 *
 * The settings (server, TLS, credentials, sender) live here, set once
 * before the engine starts and read-only afterwards: activity threads read
 * them without a lock. They never come from a workflow's input, so no
 * credential is ever journaled.
 *
 * A send, with libcurl's SMTP state machine doing the dialogue:
 *
 *   connect -> greeting -> EHLO -> [STARTTLS -> EHLO] -> [AUTH] ->
 *   MAIL FROM -> RCPT TO (each recipient) -> DATA -> message -> QUIT
 *
 * The first negative reply ends it; the reply's class decides the
 * outcome (5xx final, 4xx retryable), a broken connection is retryable.
 */
#include "act_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static struct act__smtp_settings smtp_settings;

const struct act__smtp_settings *act__smtp_settings(void)
{
    return &smtp_settings;
}

/* ---- Settings ----------------------------------------------------------------- */

static bool host_is_loopback(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    bool loopback = false;
    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        loopback = strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
                   strcmp(host, "[::1]") == 0;
    curl_free(host);
    curl_url_cleanup(u);
    return loopback;
}

/* Copies src (NULL: "") into dst of size bytes; false when it does not fit. */
static bool setting_copy(char *dst, size_t size, const char *src)
{
    if (src == NULL)
        src = "";
    if (strlen(src) >= size)
        return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

static int settings_check(const struct act_smtp_config *cfg, struct ttai_err *err)
{
    bool smtps = cfg->url != NULL && strncasecmp(cfg->url, "smtps://", 8) == 0;
    if (cfg->url == NULL || (!smtps && strncasecmp(cfg->url, "smtp://", 7) != 0))
        return ttai_errf(err, TTAI_EINVAL, "the SMTP url must start with smtp:// or smtps://");
    if (cfg->tls != ACT_SMTP_TLS_REQUIRED && cfg->tls != ACT_SMTP_TLS_NONE)
        return ttai_errf(err, TTAI_EINVAL, "unknown SMTP tls setting %d", cfg->tls);
    if (smtps && cfg->tls == ACT_SMTP_TLS_NONE)
        return ttai_errf(err, TTAI_EINVAL, "an smtps:// url always uses TLS: tls cannot be none");
    if (cfg->from_address == NULL || !act__smtp_address_ok(cfg->from_address))
        return ttai_errf(err, TTAI_EINVAL, "malformed SMTP from address '%.100s'",
                         cfg->from_address ? cfg->from_address : "(null)");
    if (cfg->from_name != NULL && strpbrk(cfg->from_name, "\r\n") != NULL)
        return ttai_errf(err, TTAI_EINVAL, "the SMTP from name has a line break");
    if (cfg->connect_timeout_ms < 0 || cfg->connect_timeout_ms > ACT_SMTP_TIMEOUT_MS_MAX ||
        cfg->timeout_ms < 0 || cfg->timeout_ms > ACT_SMTP_TIMEOUT_MS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "SMTP timeouts must be between 0 and %d ms",
                         ACT_SMTP_TIMEOUT_MS_MAX);
    bool login = cfg->username != NULL && cfg->username[0] != '\0';
    if (login && cfg->tls == ACT_SMTP_TLS_NONE && !host_is_loopback(cfg->url))
        return ttai_errf(err, TTAI_EINVAL, "refusing to send SMTP credentials without TLS to a "
                         "host that is not loopback");
    return TTAI_OK;
}

int act_smtp_configure(const struct act_smtp_config *cfg, struct ttai_err *err)
{
    if (cfg == NULL) {
        memset(&smtp_settings, 0, sizeof(smtp_settings));
        return TTAI_OK;
    }
    int rc = settings_check(cfg, err);
    if (rc != 0)
        return rc;
    struct act__smtp_settings s = {.configured = true, .tls = cfg->tls};
    if (!setting_copy(s.url, sizeof(s.url), cfg->url) ||
        !setting_copy(s.username, sizeof(s.username), cfg->username) ||
        !setting_copy(s.password, sizeof(s.password), cfg->password) ||
        !setting_copy(s.from_address, sizeof(s.from_address), cfg->from_address) ||
        !setting_copy(s.from_name, sizeof(s.from_name), cfg->from_name) ||
        !setting_copy(s.ca_file, sizeof(s.ca_file), cfg->ca_file))
        return ttai_errf(err, TTAI_ETOOBIG, "an SMTP setting exceeds its length limit");
    s.connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms
                                                   : ACT_SMTP_CONNECT_TIMEOUT_MS_DEFAULT;
    s.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : ACT_SMTP_TIMEOUT_MS_DEFAULT;
    smtp_settings = s;
    return TTAI_OK;
}

/* ---- One send ------------------------------------------------------------------ */

static const struct {
    const char *type;
    bool retryable;
    int rc;
} smtp_outcomes[] = {
    [ACT_SMTP_OK] = {"", false, TTAI_OK},
    [ACT_SMTP_CONNECT] = {"SmtpConnect", true, TTAI_EUNAVAIL},
    [ACT_SMTP_TIMEOUT] = {"SmtpTimeout", true, TTAI_ETIMEDOUT},
    [ACT_SMTP_TRANSIENT] = {"SmtpTransient", true, TTAI_EUNAVAIL},
    [ACT_SMTP_REJECTED] = {"SmtpRejected", false, TTAI_EIO},
    [ACT_SMTP_AUTH] = {"SmtpAuth", false, TTAI_EPERM},
    [ACT_SMTP_TLS] = {"SmtpTls", false, TTAI_EIO},
    [ACT_SMTP_INVALID] = {"SmtpInvalid", false, TTAI_EINVAL},
    [ACT_SMTP_CONFIG] = {"SmtpConfig", false, TTAI_EINVAL},
    [ACT_SMTP_ERROR] = {"SmtpError", true, TTAI_EIO},
};

static int smtp_result_set(struct act_smtp_result *res, int outcome, const char *fmt, ...)
    TTAI_PRINTF(3, 4);

static int smtp_result_set(struct act_smtp_result *res, int outcome, const char *fmt, ...)
{
    res->outcome = outcome;
    res->rc = smtp_outcomes[outcome].rc;
    res->retryable = smtp_outcomes[outcome].retryable;
    act__strcpy(res->error_type, sizeof(res->error_type), smtp_outcomes[outcome].type);
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(res->message, sizeof(res->message), fmt, ap); /* truncation is fine */
    va_end(ap);
    return res->rc;
}

struct upload {
    const char *data;
    size_t len;
    size_t off;
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t n = size * nitems;
    if (n > u->len - u->off)
        n = u->len - u->off;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

static bool easy_setup(CURL *h, const struct act__smtp_settings *s, struct curl_slist *rcpt,
                       struct upload *u, const char *mail_from, char *errbuf)
{
    bool failed = false;
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_ERRORBUFFER, errbuf);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_URL, s->url);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_NOSIGNAL, 1L);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_timeout_ms);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_USE_SSL, s->tls == ACT_SMTP_TLS_NONE
                                                        ? (long)CURLUSESSL_NONE
                                                        : (long)CURLUSESSL_ALL);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_SSL_VERIFYPEER, 1L);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->ca_file[0] != '\0')
        failed |= ACT__SETOPT_FAILED(h, CURLOPT_CAINFO, s->ca_file);
    if (s->username[0] != '\0') {
        failed |= ACT__SETOPT_FAILED(h, CURLOPT_USERNAME, s->username);
        failed |= ACT__SETOPT_FAILED(h, CURLOPT_PASSWORD, s->password);
    }
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_MAIL_FROM, mail_from);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_MAIL_RCPT, rcpt);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_READFUNCTION, on_read);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_READDATA, u);
    failed |= ACT__SETOPT_FAILED(h, CURLOPT_UPLOAD, 1L);
    return !failed;
}

static int classify(struct act_smtp_result *res, CURLcode cc, const char *url, const char *why)
{
    long code = res->reply_code;
    switch (cc) {
    case CURLE_OK:
        res->outcome = ACT_SMTP_OK;
        res->rc = TTAI_OK;
        return TTAI_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return smtp_result_set(res, ACT_SMTP_TIMEOUT, "SMTP to '%s' timed out: %s", url, why);
    case CURLE_LOGIN_DENIED:
        return smtp_result_set(res, ACT_SMTP_AUTH, "SMTP login to '%s' refused: %s", url, why);
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
        return smtp_result_set(res, ACT_SMTP_TLS, "SMTP to '%s' failed TLS: %s", url, why);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return smtp_result_set(res, ACT_SMTP_INVALID, "SMTP url '%s' is not usable: %s", url,
                               why);
    default:
        break;
    }
    /* A negative reply ended the dialogue: its class decides. */
    if (code >= 500 && code <= 599)
        return smtp_result_set(res, ACT_SMTP_REJECTED, "SMTP server '%s' rejected the message "
                               "(%ld): %s", url, code, why);
    if (code >= 400 && code <= 499)
        return smtp_result_set(res, ACT_SMTP_TRANSIENT, "SMTP server '%s' deferred the message "
                               "(%ld): %s", url, code, why);
    if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT ||
        cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
        cc == CURLE_WEIRD_SERVER_REPLY || cc == CURLE_SSL_CONNECT_ERROR ||
        cc == CURLE_PARTIAL_FILE)
        return smtp_result_set(res, ACT_SMTP_CONNECT, "SMTP to '%s' failed to connect or lost "
                               "the connection: %s", url, why);
    return smtp_result_set(res, ACT_SMTP_ERROR, "SMTP to '%s' failed: %s", url, why);
}

static int transfer(CURL *h, const struct act__smtp_settings *s, const struct act_smtp_message *msg,
                    const char *data, size_t len, struct act_smtp_result *res, const char *url)
{
    struct curl_slist *rcpt = NULL;
    char addr[ACT_SMTP_ADDRESS_MAX + 3];
    for (size_t i = 0; i < msg->to_count; i++) {
        snprintf(addr, sizeof(addr), "<%s>", msg->to[i]);
        struct curl_slist *l = curl_slist_append(rcpt, addr);
        if (l == NULL) {
            curl_slist_free_all(rcpt);
            return smtp_result_set(res, ACT_SMTP_ERROR, "SMTP to '%s' failed: out of memory",
                                   url);
        }
        rcpt = l;
    }
    char from[ACT_SMTP_ADDRESS_MAX + 3];
    snprintf(from, sizeof(from), "<%s>", s->from_address);
    struct upload u = {data, len, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode cc = CURLE_FAILED_INIT;
    if (easy_setup(h, s, rcpt, &u, from, errbuf))
        cc = curl_easy_perform(h);
    long code = 0;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
        res->reply_code = code;
    curl_easy_reset(h); /* the handle lives on: drop errbuf, u and rcpt */
    curl_slist_free_all(rcpt);
    return classify(res, cc, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

int act_smtp_send(const struct act_smtp_message *msg, struct act_smtp_result *res)
{
    memset(res, 0, sizeof(*res));
    const struct act__smtp_settings *s = act__smtp_settings();
    if (!s->configured)
        return smtp_result_set(res, ACT_SMTP_CONFIG, "SMTP is not configured "
                               "(act_smtp_configure was not called)");
    char url[128];
    act_http_url_redact(s->url, url, sizeof(url));
    char *data = NULL;
    size_t len = 0;
    struct ttai_err err;
    /* The Date header needs the real time: this is I/O, not workflow code. */
    if (act_smtp_message_build(msg, ttai_wall_ms(), &data, &len, res->message_id, &err) != 0)
        return smtp_result_set(res, ACT_SMTP_INVALID, "invalid e-mail: %s", err.msg);
    CURL *h = act__easy_get();
    int rc = h != NULL ? transfer(h, s, msg, data, len, res, url)
                       : smtp_result_set(res, ACT_SMTP_ERROR, "SMTP to '%s' failed: no libcurl "
                                         "handle", url);
    ttai_free(data);
    return rc;
}

int act_smtp_fail(struct ttai_activity_ctx *ctx, const struct act_smtp_result *res)
{
    TTAI_ASSERT(res->rc != 0);
    return ttai_activity_fail(ctx, res->error_type, res->retryable, "%s", res->message);
}
