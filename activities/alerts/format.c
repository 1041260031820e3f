/* format.c: the channel payloads of an alert (format.h).
 *
 * The Discord and Slack shapes are the seed's, key for key, so that a
 * receiver written against the seed's router reads ours unchanged; the
 * tests compare them with JSON written from the seed. The timestamp is the
 * alert's own time, not the time of sending, so that every retry of a
 * delivery sends the same bytes.
 */
#include "alerts/format.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alerts/alerts_int.h"

/* ---- Text helpers ------------------------------------------------------------- */

static bool is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static bool ascii_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Python's str.title() over ASCII, with "_" turned into " " first when
 * underscores is set, into out. The callers' buffers hold the longest
 * name (alert_check() bounds it), so nothing is cut. */
static char *title_case(const char *in, bool underscores, char *out, size_t size)
{
    TTAI_ASSERT(strlen(in) < size);
    bool after_letter = false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        unsigned char c = *p;
        if (underscores && c == '_')
            c = ' ';
        if (ascii_letter(c)) {
            bool upper = c >= 'A' && c <= 'Z';
            if (!after_letter && !upper)
                c = (unsigned char)(c - 'a' + 'A');
            else if (after_letter && upper)
                c = (unsigned char)(c - 'A' + 'a');
            after_letter = true;
        } else {
            after_letter = c >= 0x80; /* part of a non-ASCII character: a letter */
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return out;
}

static void ascii_upper(const char *in, char *out, size_t size)
{
    TTAI_ASSERT(strlen(in) < size);
    size_t n = 0;
    for (; in[n]; n++)
        out[n] = in[n] >= 'a' && in[n] <= 'z' ? (char)(in[n] - 'a' + 'A') : in[n];
    out[n] = '\0';
}

/* The heading Slack and e-mail show: the title, else the type, else "Alert". */
static const char *plain_heading(const struct alert *a)
{
    return is_set(a->title) ? a->title : is_set(a->type) ? a->type : "Alert";
}

/* A formatted string from ttai_malloc(); NULL when out of memory. */
static char *text_printf(const char *fmt, ...) TTAI_PRINTF(1, 2);

static char *text_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = ttai_malloc((size_t)n + 1);
    if (s == NULL)
        return NULL;
    va_start(ap, fmt);
    (void)vsnprintf(s, (size_t)n + 1, fmt, ap); /* the size was measured above */
    va_end(ap);
    return s;
}

/* s with &, <, >, " and ' escaped for HTML text and attributes; ttai_free(). */
static char *html_escape(const char *s)
{
    char *out = ttai_malloc(strlen(s) * 6 + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (; *s; s++) {
        const char *rep = *s == '&'    ? "&amp;"
                          : *s == '<'  ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&#39;"
                                       : NULL;
        if (rep != NULL) {
            memcpy(o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* ---- Discord ------------------------------------------------------------------ */

static int discord_color(const char *severity)
{
    if (strcmp(severity, "critical") == 0)
        return ALERT_COLOR_CRITICAL;
    if (strcmp(severity, "warning") == 0)
        return ALERT_COLOR_WARNING;
    if (strcmp(severity, "info") == 0)
        return ALERT_COLOR_INFO;
    return ALERT_COLOR_OTHER;
}

json_t *alert_discord_embed(const struct alert *a)
{
    if (alert_check(a, NULL) != 0)
        return NULL;
    char title[ALERT_TITLE_MAX + 1], severity[ALERT_NAME_MAX + 1], when[40];
    if (is_set(a->title))
        snprintf(title, sizeof(title), "%s", a->title);
    else
        title_case(is_set(a->type) ? a->type : "Alert", true, title, sizeof(title));
    title_case(alert_severity(a), false, severity, sizeof(severity));
    return json_pack("{s:s, s:s, s:i, s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}], s:s}",
                     "title", title,
                     "description", alert__str(a->message),
                     "color", discord_color(alert_severity(a)),
                     "fields",
                     "name", "Symbol", "value", alert_symbol_or_na(a), "inline", 1,
                     "name", "Severity", "value", severity, "inline", 1,
                     "timestamp", ttai_time_format(a->timestamp_ms, when, sizeof(when)));
}

json_t *alert_discord_body(const struct alert *a)
{
    json_t *embed = alert_discord_embed(a);
    return embed != NULL ? json_pack("{s:[o]}", "embeds", embed) : NULL;
}

/* ---- Slack ---------------------------------------------------------------------- */

static const char *slack_emoji(const char *severity)
{
    if (strcmp(severity, "critical") == 0)
        return ":rotating_light:";
    if (strcmp(severity, "warning") == 0)
        return ":warning:";
    if (strcmp(severity, "info") == 0)
        return ":information_source:";
    return "";
}

json_t *alert_slack_blocks(const struct alert *a)
{
    if (alert_check(a, NULL) != 0)
        return NULL;
    const char *severity = alert_severity(a);
    char *header = text_printf("%s %s", slack_emoji(severity), plain_heading(a));
    char *context = text_printf("*Symbol:* %s | *Severity:* %s", alert_symbol_or_na(a), severity);
    json_t *blocks = NULL;
    if (header != NULL && context != NULL)
        blocks = json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}, {s:s, s:[{s:s, s:s}]}]",
                           "type", "header", "text", "type", "plain_text", "text", header,
                           "type", "section", "text", "type", "mrkdwn", "text",
                           alert__str(a->message),
                           "type", "context", "elements", "type", "mrkdwn", "text", context);
    ttai_free(header);
    ttai_free(context);
    return blocks;
}

json_t *alert_slack_body(const struct alert *a)
{
    json_t *blocks = alert_slack_blocks(a);
    return blocks != NULL ? json_pack("{s:o}", "blocks", blocks) : NULL;
}

/* ---- Webhook, e-mail, console ------------------------------------------------------ */

json_t *alert_webhook_body(const struct alert *a)
{
    return alert_to_json(a);
}

void alert_email_release(struct alert_email *e)
{
    ttai_free(e->subject);
    ttai_free(e->text);
    ttai_free(e->html);
    memset(e, 0, sizeof(*e));
}

int alert_email_format(const struct alert *a, struct alert_email *out)
{
    memset(out, 0, sizeof(*out));
    if (alert_check(a, NULL) != 0)
        return TTAI_EINVAL;
    char severity[ALERT_NAME_MAX + 1];
    ascii_upper(alert_severity(a), severity, sizeof(severity));
    const char *heading = plain_heading(a);
    const char *message = alert__str(a->message);
    const char *symbol = alert_symbol_or_na(a);
    out->subject = text_printf("[%s] %s", severity, heading);
    out->text = text_printf("%s\n\nSymbol: %s", message, symbol);
    char *h = html_escape(heading), *m = html_escape(message), *s = html_escape(symbol);
    if (h != NULL && m != NULL && s != NULL)
        out->html = text_printf("<html>\n<body>\n<h2>%s</h2>\n<p>%s</p>\n"
                                "<p><strong>Symbol:</strong> %s</p>\n</body>\n</html>\n",
                                h, m, s);
    ttai_free(h);
    ttai_free(m);
    ttai_free(s);
    if (out->subject == NULL || out->text == NULL || out->html == NULL) {
        alert_email_release(out);
        return TTAI_ENOMEM;
    }
    return TTAI_OK;
}

char *alert_console_line(const struct alert *a)
{
    if (alert_check(a, NULL) != 0)
        return NULL;
    char severity[ALERT_NAME_MAX + 1], when[40];
    ascii_upper(alert_severity(a), severity, sizeof(severity));
    char *line = text_printf("%s [%s] %s%s%s: %s",
                             ttai_time_format(a->timestamp_ms, when, sizeof(when)), severity,
                             is_set(a->type) ? a->type : "alert", is_set(a->symbol) ? " " : "",
                             is_set(a->symbol) ? a->symbol : "", alert__str(a->message));
    /* One alert, one line, whatever the message holds. */
    for (char *p = line; p != NULL && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return line;
}
