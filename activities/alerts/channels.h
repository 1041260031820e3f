/* channels.h: delivering one alert to one channel, as an activity.
 *
 * A channel is a name with a type and settings. The settings (webhook
 * URLs, SMTP credentials, extra headers) come from the process's
 * configuration through alert_channels_configure(), never from an
 * activity's input, so no credential is ever journaled. A workflow
 * schedules one delivery per admitted alert and channel; each delivery
 * retries by itself, so a channel that is down delays only its own
 * deliveries.
 *
 * Configuration: a JSON object of channel name -> settings. A channel's
 * type is its "type" setting, or its name when that is a type name:
 *
 *   {"discord": {"webhook_url": "https://discord.com/api/webhooks/..."},
 *    "slack":   {"webhook_url": "https://hooks.slack.com/services/..."},
 *    "ops":     {"type": "discord", "webhook_url": "..."},
 *    "webhook": {"url": "https://example.com/alerts",
 *                "headers": {"Authorization": "Bearer ..."}},
 *    "email":   {"smtp_url": "smtp://mail.example.com:587", "username": "...",
 *                "password": "...", "from": "alerts@example.com",
 *                "to": ["me@example.com"]},
 *    "console": {}}
 *
 *   discord, slack  webhook_url (required), timeout_ms (default 10000)
 *   webhook         url (required), headers (map of strings), timeout_ms
 *   email           to (an address or an array of 1 to ACT_SMTP_RECIPIENTS_MAX),
 *                   and optionally the SMTP server: smtp_url, username,
 *                   password, from (required with smtp_url), from_name,
 *                   tls ("required", the default, or "none"), ca_file,
 *                   timeout_ms. These become the process's SMTP settings
 *                   (act_smtp_configure(), shared with "send_email"); at
 *                   most one channel may give them. Without smtp_url the
 *                   settings already made with act_smtp_configure() serve.
 *   console, stream no settings; both exist without configuration too
 *
 * Delivery activities. Input {"channel": name, "alert": the alert's
 * canonical map (alert.h)}; "channel" defaults to the activity's own
 * channel type ("deliver_discord" -> "discord").
 *
 *   type               channel type   output
 *   deliver_discord    discord        {channel, type, status}
 *   deliver_slack      slack          {channel, type, status}
 *   deliver_webhook    webhook        {channel, type, status}
 *   deliver_email      email          {channel, type, message_id, recipients}
 *   deliver_console    console        {channel, type}
 *   deliver_stream     stream         {channel, type}
 *   deliver_alert      any: the configured type of "channel" (required)
 *
 * Failures (error types):
 *   AlertInvalid               the input is malformed: final
 *   AlertChannelNotConfigured  no such channel, or the stream has no sink: final
 *   AlertChannelType           the channel has another type: final
 *   Http*                      as act_http_fail(): 5xx, 429 and connection
 *                              problems retry (honouring Retry-After),
 *                              other 4xx are final; messages name the
 *                              channel, never its URL
 *   Smtp*                      as act_smtp_fail()
 *
 * Threads. Configuration and sinks may change at any time; a delivery
 * reads the configuration under a shared lock and a reconfiguration waits
 * for the deliveries in flight.
 *
 * Full documentation: docs/alerts.md.
 */
#ifndef TTAI_ALERTS_CHANNELS_H
#define TTAI_ALERTS_CHANNELS_H

#include <jansson.h>

#include "alert.h"
#include "ttai.h"

#define ALERT_CHANNELS_CONFIGURED_MAX 32
#define ALERT_HTTP_TIMEOUT_MS_DEFAULT 10000    /* the seed's 10 s */

/* Replaces the channel configuration with config (a JSON object as above;
 * NULL clears it). Everything is checked first: on error (TTAI_EINVAL,
 * TTAI_ETOOBIG, TTAI_ENOMEM, with err saying which channel and setting)
 * nothing changes. */
int alert_channels_configure(const json_t *config, struct ttai_err *err) TTAI_MUST_CHECK;

/* The type of the channel name ("discord", "slack", "webhook", "email",
 * "console", "stream"; static storage), or NULL when there is none. */
const char *alert_channel_type(const char *name);

/* Receives one text per call: the alert as compact JSON for the stream
 * (alert_to_json() plus "namespace": the delivering workflow's namespace),
 * the console line (no line end) for the console. Calls are serialised
 * (one at a time, from activity threads) and should return quickly. */
typedef void (*alert_sink_fn)(void *arg, const char *text);

/* Where "stream" deliveries go (the daemon's live alert stream); NULL
 * disconnects, and deliveries then fail as AlertChannelNotConfigured. */
void alert_stream_set_sink(alert_sink_fn fn, void *arg);
/* Where "console" deliveries go; NULL: a line on standard output. */
void alert_console_set_sink(alert_sink_fn fn, void *arg);

extern const struct ttai_activity_def alert_deliver_discord_def;
extern const struct ttai_activity_def alert_deliver_slack_def;
extern const struct ttai_activity_def alert_deliver_webhook_def;
extern const struct ttai_activity_def alert_deliver_email_def;
extern const struct ttai_activity_def alert_deliver_console_def;
extern const struct ttai_activity_def alert_deliver_stream_def;
extern const struct ttai_activity_def alert_deliver_def;
/* All of the above, NULL-terminated, for a registry. */
extern const struct ttai_activity_def *const alert_delivery_activities[];

#endif /* TTAI_ALERTS_CHANNELS_H */
