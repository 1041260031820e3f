/* smtp_util.h: reading back the messages act_smtp builds, independently
 * of how they were built: line checks, MIME parts, RFC 2047 headers.
 * Static inline so that each test file uses what it needs. */
#ifndef TTAI_TEST_SMTP_UTIL_H
#define TTAI_TEST_SMTP_UTIL_H

#include "act_test.h"

/* Every line ends in CRLF (no bare CR or LF), none passes 998 characters,
 * and a line holding an encoded-word or base64 stays within 76. */
static inline void smtp_check_lines(const char *data)
{
    const char *line = data;
    while (*line) {
        const char *eol = strstr(line, "\r\n");
        ASSERT(eol != NULL);
        size_t n = (size_t)(eol - line);
        ASSERT(memchr(line, '\r', n) == NULL && memchr(line, '\n', n) == NULL);
        ASSERT_LE(n, 998);
        if (memmem(line, n, "=?UTF-8?B?", 10) != NULL)
            ASSERT_LE(n, 76);
        line = eol + 2;
    }
}

/* True when s (n bytes) is whole UTF-8: no character cut at either end. */
static inline bool smtp_utf8_whole(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                  : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

/* The unfolded value of header name with its encoded-words decoded (each
 * must hold whole characters); free(). Asserts the header exists. */
static inline char *smtp_header_decode(const char *data, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\r\n%s: ", name);
    const char *v = strncmp(data, key + 2, strlen(key + 2)) == 0 ? data + strlen(key + 2)
                                                                  : strstr(data, key);
    ASSERT(v != NULL);
    if (v != data + strlen(key + 2))
        v += strlen(key);
    char *out = malloc(strlen(v) + 1);
    ASSERT(out != NULL);
    size_t o = 0;
    bool last_was_word = false;
    for (;;) {
        if (strncmp(v, "\r\n ", 3) == 0) { /* folding: the CRLF goes, the space stays */
            v += 2;
            continue;
        }
        if (strncmp(v, "\r\n", 2) == 0 || *v == '\0')
            break;
        if (strncmp(v, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(v + 10, "?=");
            ASSERT(end != NULL);
            ASSERT_LE(end + 2 - v, 75);
            /* Whitespace between two encoded-words is not part of the text. */
            while (last_was_word && o > 0 && out[o - 1] == ' ')
                o--;
            size_t n;
            char *dec = test_base64_decode(v + 10, (size_t)(end - v - 10), &n);
            ASSERT(smtp_utf8_whole(dec, n));
            memcpy(out + o, dec, n);
            o += n;
            free(dec);
            v = end + 2;
            last_was_word = true;
            continue;
        }
        if (*v != ' ')
            last_was_word = false;
        out[o++] = *v++;
    }
    out[o] = '\0';
    return out;
}

struct smtp_parts {
    char *text;                      /* decoded text/plain part; free() */
    char *html;                      /* decoded text/html part or NULL; free() */
};

/* The base64 body after the blank line that follows at, up to the next
 * "\r\n--" (or the end), decoded. */
static inline char *smtp_part_body(const char *at)
{
    const char *body = strstr(at, "\r\n\r\n");
    ASSERT(body != NULL);
    body += 4;
    const char *end = strstr(body, "\r\n--");
    size_t n = end != NULL ? (size_t)(end - body) : strlen(body);
    ASSERT(strspn(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n") >=
           n);
    return test_base64_decode(body, n, NULL);
}

/* Splits a message into its text and HTML parts (checking the MIME
 * structure on the way). */
static inline void smtp_parts_parse(const char *data, struct smtp_parts *p)
{
    memset(p, 0, sizeof(*p));
    const char *ct = strstr(data, "\r\nContent-Type: multipart/alternative; boundary=\"");
    if (ct == NULL) {
        const char *plain = strstr(data, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                                         "Content-Transfer-Encoding: base64\r\n");
        ASSERT(plain != NULL);
        p->text = smtp_part_body(plain);
        return;
    }
    const char *b = ct + strlen("\r\nContent-Type: multipart/alternative; boundary=\"");
    size_t blen = strcspn(b, "\"");
    ASSERT(blen > 0 && blen < 70);
    char delim[96], close[96];
    snprintf(delim, sizeof(delim), "\r\n--%.*s\r\n", (int)blen, b);
    snprintf(close, sizeof(close), "\r\n--%.*s--\r\n", (int)blen, b);
    const char *first = strstr(data, delim);
    ASSERT(first != NULL);
    const char *second = strstr(first + 1, delim);
    ASSERT(second != NULL);
    ASSERT(strstr(second + 1, delim) == NULL); /* exactly two parts */
    const char *last = strstr(second, close);
    ASSERT(last != NULL && strcmp(last, close) == 0); /* the closing delimiter ends it */
    const char *h1 = first + strlen(delim), *h2 = second + strlen(delim);
    const char *want_text = "Content-Type: text/plain; charset=UTF-8\r\n"
                            "Content-Transfer-Encoding: base64\r\n\r\n";
    const char *want_html = "Content-Type: text/html; charset=UTF-8\r\n"
                            "Content-Transfer-Encoding: base64\r\n\r\n";
    ASSERT(strncmp(h1, want_text, strlen(want_text)) == 0);
    ASSERT(strncmp(h2, want_html, strlen(want_html)) == 0);
    p->text = smtp_part_body(h1);
    p->html = smtp_part_body(h2);
}

static inline void smtp_parts_release(struct smtp_parts *p)
{
    free(p->text);
    free(p->html);
}

#endif
