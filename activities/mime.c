/* mime.c: builds the e-mail message that act_smtp_send() uploads: RFC 5322
 * headers and a MIME multipart/alternative body (RFC 2045/2046), built by
 * hand so that every header and byte is known and tested.
 *
 *   Date, From, To, Subject, Message-ID, MIME-Version, Content-Type
 *   --boundary  text/plain; charset=UTF-8, base64
 *   --boundary  text/html; charset=UTF-8, base64
 *   --boundary--
 *
 * Without HTML the body is the text/plain part alone.
 *
 * Invariants:
 *   1. Every line ends in CRLF and stays far under RFC 5322's 998
 *      characters: body lines are 76, lines with encoded-words at most 76
 *      (RFC 2047), To: has one address (at most 254 bytes) per line.
 *   2. Both parts are base64, so the body is 7-bit, no line starts with a
 *      '.', and no line can equal a boundary: base64 has no '-'.
 *   3. Header text that is not printable ASCII goes out as RFC 2047
 *      encoded-words, split between UTF-8 characters, never inside one.
 */
#include "act_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Room for two base64 parts of ACT_SMTP_BODY_BYTES_MAX and the headers. */
#define MIME_MESSAGE_BYTES_MAX ((size_t)3 * ACT_SMTP_BODY_BYTES_MAX + (256u << 10))
/* Input bytes per base64 line (76 characters) and per encoded-word (52
 * characters of payload: a 64-character word, so that "Subject: " and a
 * word fit RFC 2047's 76-character line). */
#define MIME_LINE_BYTES 57
#define MIME_WORD_BYTES 39

/* A growable buffer that refuses to pass MIME_MESSAGE_BYTES_MAX. */
struct mbuf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;             /* out of memory or past the limit */
};

static void mbuf_add(struct mbuf *b, const char *s, size_t len)
{
    if (b->failed)
        return;
    if (len > MIME_MESSAGE_BYTES_MAX - b->len) {
        b->failed = true;
        return;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = ttai_realloc(b->data, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void mbuf_str(struct mbuf *b, const char *s)
{
    mbuf_add(b, s, strlen(s));
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* RFC 2047 "B" encoded-words for s, folded onto continuation lines. */
static void mbuf_encoded_words(struct mbuf *b, const char *s)
{
    size_t len = strlen(s);
    size_t i = 0;
    while (i < len) {
        size_t n = len - i < MIME_WORD_BYTES ? len - i : MIME_WORD_BYTES;
        /* Back off to a character start: continuation bytes are 10xxxxxx. */
        while (n > 1 && i + n < len && ((unsigned char)s[i + n] & 0xc0) == 0x80)
            n--;
        char word[4 * (MIME_WORD_BYTES + 2) / 3 + 16];
        size_t w = act__base64((const uint8_t *)s + i, n, word);
        mbuf_str(b, i > 0 ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
        mbuf_add(b, word, w);
        mbuf_str(b, "?=");
        i += n;
    }
}

static void mbuf_base64_lines(struct mbuf *b, const char *s)
{
    size_t len = strlen(s);
    char line[4 * MIME_LINE_BYTES / 3 + 4];
    for (size_t i = 0; i < len; i += MIME_LINE_BYTES) {
        size_t n = len - i < MIME_LINE_BYTES ? len - i : MIME_LINE_BYTES;
        size_t w = act__base64((const uint8_t *)s + i, n, line);
        mbuf_add(b, line, w);
        mbuf_str(b, "\r\n");
    }
}

/* ---- Headers -------------------------------------------------------------------- */

bool act__smtp_address_ok(const char *address)
{
    size_t len = strlen(address);
    const char *at = strchr(address, '@');
    if (len == 0 || len > ACT_SMTP_ADDRESS_MAX || at == NULL || at == address ||
        at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return false;
    for (const char *p = address; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
            strchr("<>()[]\\,;:\"", *p) != NULL)
            return false;
    return true;
}

static void header_date(struct mbuf *b, int64_t now_ms)
{
    /* Names written out: strftime's %a and %b follow the locale. */
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    char line[64];
    if (gmtime_r(&t, &tm) == NULL) {
        b->failed = true;
        return;
    }
    snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    mbuf_str(b, line);
}

static void header_from(struct mbuf *b, const struct act__smtp_settings *s)
{
    mbuf_str(b, "From: ");
    if (s->from_name[0] != '\0' && printable_ascii(s->from_name)) {
        mbuf_str(b, "\"");
        for (const char *p = s->from_name; *p; p++) {
            if (*p == '"' || *p == '\\')
                mbuf_str(b, "\\");
            mbuf_add(b, p, 1);
        }
        mbuf_str(b, "\" ");
    } else if (s->from_name[0] != '\0') {
        mbuf_encoded_words(b, s->from_name);
        mbuf_str(b, "\r\n "); /* the address on its own line keeps invariant 1 */
    }
    mbuf_str(b, "<");
    mbuf_str(b, s->from_address);
    mbuf_str(b, ">\r\n");
}

static void header_to(struct mbuf *b, const struct act_smtp_message *msg)
{
    mbuf_str(b, "To: ");
    for (size_t i = 0; i < msg->to_count; i++) {
        mbuf_str(b, msg->to[i]);
        mbuf_str(b, i + 1 < msg->to_count ? ",\r\n " : "\r\n");
    }
}

static void header_subject(struct mbuf *b, const char *subject)
{
    mbuf_str(b, "Subject: ");
    /* Short printable ASCII goes as is; anything else is encoded, which
     * also keeps long subjects within the line limit. */
    if (printable_ascii(subject) && strlen(subject) <= 78 - 9)
        mbuf_str(b, subject);
    else
        mbuf_encoded_words(b, subject);
    mbuf_str(b, "\r\n");
}

static uint64_t fnv1a64(const char *s, uint64_t h)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* "<32 hex digits@domain of the sender>" from the seed, or random. */
static int message_id(const struct act_smtp_message *msg, const char *from, char *out,
                      size_t size, struct ttai_err *err)
{
    uint64_t h1, h2;
    if (msg->message_id_seed != NULL) {
        h1 = fnv1a64(msg->message_id_seed, 0xcbf29ce484222325ULL);
        h2 = fnv1a64(msg->message_id_seed, 0x84222325cbf29ce4ULL);
    } else {
        struct ttai_run_id r;
        int rc = ttai_run_id_random(&r);
        if (rc != 0)
            return ttai_errf(err, rc, "cannot make a random Message-ID");
        memcpy(&h1, r.b, 8);
        memcpy(&h2, r.b + 8, 8);
    }
    snprintf(out, size, "<%016llx%016llx.ttai@%s>", (unsigned long long)h1,
             (unsigned long long)h2, strchr(from, '@') + 1);
    return TTAI_OK;
}

/* ---- The message ---------------------------------------------------------------- */

static int message_check(const struct act_smtp_message *msg, struct ttai_err *err)
{
    if (msg->to_count == 0 || msg->to_count > ACT_SMTP_RECIPIENTS_MAX)
        return ttai_errf(err, TTAI_EINVAL, "a message needs 1 to %d recipients, not %zu",
                         ACT_SMTP_RECIPIENTS_MAX, msg->to_count);
    for (size_t i = 0; i < msg->to_count; i++)
        if (msg->to[i] == NULL || !act__smtp_address_ok(msg->to[i]))
            return ttai_errf(err, TTAI_EINVAL, "malformed recipient address '%.100s'",
                             msg->to[i] ? msg->to[i] : "(null)");
    if (msg->subject == NULL || strpbrk(msg->subject, "\r\n") != NULL)
        return ttai_errf(err, TTAI_EINVAL, "the subject is missing or has a line break");
    if (strlen(msg->subject) > ACT_SMTP_SUBJECT_MAX)
        return ttai_errf(err, TTAI_ETOOBIG, "the subject exceeds %d bytes", ACT_SMTP_SUBJECT_MAX);
    if (msg->text == NULL)
        return ttai_errf(err, TTAI_EINVAL, "the message has no text part");
    if (strlen(msg->text) > ACT_SMTP_BODY_BYTES_MAX ||
        (msg->html != NULL && strlen(msg->html) > ACT_SMTP_BODY_BYTES_MAX))
        return ttai_errf(err, TTAI_ETOOBIG, "a part of the message exceeds %u bytes",
                         ACT_SMTP_BODY_BYTES_MAX);
    return TTAI_OK;
}

static void body_part(struct mbuf *b, const char *boundary, const char *type, const char *text)
{
    if (boundary != NULL) {
        mbuf_str(b, "--");
        mbuf_str(b, boundary);
        mbuf_str(b, "\r\n");
    }
    mbuf_str(b, "Content-Type: ");
    mbuf_str(b, type);
    /* The blank line ends the part's headers (or the message's). */
    mbuf_str(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    mbuf_base64_lines(b, text);
}

int act_smtp_message_build(const struct act_smtp_message *msg, int64_t now_ms, char **out,
                           size_t *out_len, char *message_id_out, struct ttai_err *err)
{
    const struct act__smtp_settings *s = act__smtp_settings();
    if (!s->configured)
        return ttai_errf(err, TTAI_EINVAL, "SMTP is not configured");
    char id[128];
    int rc = message_check(msg, err);
    if (rc == 0)
        rc = message_id(msg, s->from_address, id, sizeof(id), err);
    if (rc != 0)
        return rc;
    bool alternative = msg->html != NULL && msg->html[0] != '\0';
    char boundary[64];
    /* The id's hex digits: unique per message, and base64 cannot hold '-'. */
    snprintf(boundary, sizeof(boundary), "ttai-alt-%.32s", id + 1);
    struct mbuf b = {0};
    header_date(&b, now_ms);
    header_from(&b, s);
    header_to(&b, msg);
    header_subject(&b, msg->subject);
    mbuf_str(&b, "Message-ID: ");
    mbuf_str(&b, id);
    mbuf_str(&b, "\r\nMIME-Version: 1.0\r\n");
    if (alternative) {
        mbuf_str(&b, "Content-Type: multipart/alternative; boundary=\"");
        mbuf_str(&b, boundary);
        mbuf_str(&b, "\"\r\n\r\n");
        body_part(&b, boundary, "text/plain", msg->text);
        body_part(&b, boundary, "text/html", msg->html);
        mbuf_str(&b, "--");
        mbuf_str(&b, boundary);
        mbuf_str(&b, "--\r\n");
    } else {
        body_part(&b, NULL, "text/plain", msg->text);
    }
    if (b.failed) {
        ttai_free(b.data);
        return ttai_errf(err, TTAI_ENOMEM, "out of memory building the message");
    }
    if (message_id_out != NULL)
        act__strcpy(message_id_out, 128, id);
    *out = b.data;
    *out_len = b.len;
    return TTAI_OK;
}
