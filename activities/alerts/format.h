/* format.h: an alert rendered for each channel. Pure functions of the
 * alert: the same alert gives the same bytes (no clock: times come from
 * alert->timestamp_ms).
 *
 * Discord (the seed's _format_discord_embed), body {"embeds": [embed]}:
 *   title        alert->title, or the type with "_" as spaces in title
 *                case ("pnl_critical" -> "Pnl Critical"), "Alert" when unset
 *   description  the message
 *   color        critical 0xFF0000, warning 0xFFA500, info 0x00FF00,
 *                any other severity 0x808080
 *   fields       [{"name": "Symbol", "value": symbol or "N/A", "inline": true},
 *                 {"name": "Severity", "value": severity in title case, "inline": true}]
 *   timestamp    RFC 3339 UTC of timestamp_ms ("2026-11-23T10:00:00.000Z")
 * Slack (the seed's _format_slack_blocks), body {"blocks": blocks}:
 *   header   plain_text "<emoji> <title or type or Alert>", emoji
 *            :rotating_light: / :warning: / :information_source: by
 *            severity, "" for any other
 *   section  mrkdwn message
 *   context  mrkdwn "*Symbol:* <symbol or N/A> | *Severity:* <severity>"
 * E-mail (the seed's _send_email): subject "[<SEVERITY>] <title or type or
 * Alert>", text "<message>\n\nSymbol: <symbol or N/A>", and an HTML part
 * with the same content, HTML-escaped.
 * Webhook: the alert as JSON (alert_to_json()).
 * Console: one line, "<timestamp> [<SEVERITY>] <type>[ <symbol>]: <message>",
 * with control characters replaced by spaces.
 *
 * Title case is Python's str.title() over ASCII: a letter is upper case
 * when the character before it is not a letter, lower case otherwise;
 * bytes of multi-byte UTF-8 characters are kept as they are and count as
 * letters.
 *
 * Every function returns NULL (or TTAI_ENOMEM) when out of memory or when
 * the alert fails alert_check().
 */
#ifndef TTAI_ALERTS_FORMAT_H
#define TTAI_ALERTS_FORMAT_H

#include <jansson.h>

#include "alert.h"

#define ALERT_COLOR_CRITICAL 0xFF0000
#define ALERT_COLOR_WARNING 0xFFA500
#define ALERT_COLOR_INFO 0x00FF00
#define ALERT_COLOR_OTHER 0x808080

/* The embed object, and the webhook body {"embeds": [embed]}. json_decref(). */
json_t *alert_discord_embed(const struct alert *a);
json_t *alert_discord_body(const struct alert *a);
/* The blocks array, and the webhook body {"blocks": blocks}. json_decref(). */
json_t *alert_slack_blocks(const struct alert *a);
json_t *alert_slack_body(const struct alert *a);
/* The generic webhook body: alert_to_json(). json_decref(). */
json_t *alert_webhook_body(const struct alert *a);

/* An e-mail's parts, each owned (ttai_free via alert_email_release()). */
struct alert_email {
    char *subject;
    char *text;
    char *html;
};
/* Fills out (zeroed first). TTAI_ENOMEM, or TTAI_EINVAL for an invalid
 * alert; out holds nothing then. */
int alert_email_format(const struct alert *a, struct alert_email *out) TTAI_MUST_CHECK;
void alert_email_release(struct alert_email *e);

/* The console line, without a line end; ttai_free(). */
char *alert_console_line(const struct alert *a);

#endif /* TTAI_ALERTS_FORMAT_H */
