/* deliver.c: the delivery activities, one alert to one channel
 * (channels.h).
 *
 * Each attempt formats the alert afresh from its input (the same bytes
 * every time: format.c reads no clock), looks the channel up in the
 * process's configuration, and sends once. Retrying is the engine's job:
 * a failure says whether another attempt can help (act_http_fail(),
 * act_smtp_fail()). The webhook request carries the attempt's
 * idempotency key, stable across attempts, so a receiver can drop a
 * repeat after a lost response; e-mail derives its Message-ID from it.
 *
 * Invariant: no failure message contains a channel's URL. Webhook URLs
 * hold their tokens in the path, which act_http_url_redact() keeps, and
 * failure messages are journaled; without_url() takes the URL out.
 */
#include "alerts/channels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "act_int.h"
#include "alerts/alerts_int.h"
#include "alerts/format.h"

typedef int (*send_fn)(struct ttai_activity_ctx *ctx, const struct alert__channel *c,
                       const struct alert *a, struct ttai_buf *out);

/* ---- Input --------------------------------------------------------------------- */

struct delivery {
    struct alert alert;                       /* owns its strings */
    char channel[ALERT_NAME_MAX + 1];
};

static int input_parse(struct ttai_activity_ctx *ctx, const msgpack_object *o,
                       const char *default_channel, struct delivery *d)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return ttai_activity_fail(ctx, "AlertInvalid", false, "a delivery input must be a map");
    const msgpack_object *ch = ttai_obj_get(o, "channel");
    const char *p;
    size_t len;
    if (ch == NULL || ch->type == MSGPACK_OBJECT_NIL) {
        if (default_channel == NULL)
            return ttai_activity_fail(ctx, "AlertInvalid", false, "'channel' is required");
        snprintf(d->channel, sizeof(d->channel), "%s", default_channel);
    } else if (!ttai_obj_str(ch, &p, &len) || len == 0 || len > ALERT_NAME_MAX ||
               memchr(p, '\0', len) != NULL) {
        return ttai_activity_fail(ctx, "AlertInvalid", false, "'channel' must be a name of 1 "
                                  "to %d bytes", ALERT_NAME_MAX);
    } else {
        memcpy(d->channel, p, len);
        d->channel[len] = '\0';
    }
    const msgpack_object *a = ttai_obj_get(o, "alert");
    if (a == NULL)
        return ttai_activity_fail(ctx, "AlertInvalid", false, "'alert' is required");
    struct ttai_err err;
    if (alert_unpack(a, &d->alert, &err) != 0)
        return ttai_activity_fail(ctx, "AlertInvalid", false, "invalid alert: %s", err.msg);
    return TTAI_OK;
}

static int delivery_parse(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                          const char *default_channel, struct delivery *d)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int rc = ttai_payload_unpack(&r, input, &o) == 0
                 ? input_parse(ctx, &o, default_channel, d)
                 : ttai_activity_fail(ctx, "AlertInvalid", false, "a delivery input must be "
                                      "msgpack");
    ttai_reader_release(&r); /* the alert copied what it keeps */
    return rc;
}

/* {channel, type, ...extra entries the caller appends}. */
static void output_begin(struct ttai_buf *out, const struct alert__channel *c, uint32_t extra)
{
    ttai_buf_map(out, 2 + extra);
    ttai_buf_str(out, "channel");
    ttai_buf_str(out, c->name);
    ttai_buf_str(out, "type");
    ttai_buf_str(out, alert__type_names[c->type]);
}

static int fail_no_memory(struct ttai_activity_ctx *ctx, const struct alert__channel *c)
{
    return ttai_activity_fail(ctx, "AlertError", true, "out of memory formatting an alert for "
                              "channel '%s'", c->name);
}

/* ---- HTTP channels --------------------------------------------------------------- */

/* Rewrites res's message as "alert channel 'NAME': <message without the
 * quoted URL>". Channel URLs hold no quote (channels.c checks), so the URL
 * is everything from "'http" to the next quote; without that quote, the
 * rest of the message goes too. */
static void without_url(struct act_http_result *res, const char *name)
{
    char *m = res->message;
    char *q = strstr(m, "'http");
    if (q != NULL) {
        char *end = strchr(q + 1, '\'');
        char *from = q > m && q[-1] == ' ' ? q - 1 : q;
        if (end != NULL)
            memmove(from, end + 1, strlen(end + 1) + 1);
        else
            *from = '\0';
    }
    char buf[sizeof(res->message)];
    act__msgf(buf, sizeof(buf), "alert channel '%s': %s", name, m);
    memcpy(res->message, buf, sizeof(buf));
}

static json_t *http_body(const struct alert__channel *c, const struct alert *a)
{
    switch (c->type) {
    case ALERT__DISCORD:
        return alert_discord_body(a);
    case ALERT__SLACK:
        return alert_slack_body(a);
    default:
        return alert_webhook_body(a);
    }
}

static bool header_configured(const struct alert__channel *c, const char *name)
{
    for (size_t i = 0; i < c->header_count; i++)
        if (strcasecmp(c->headers[i].name, name) == 0)
            return true;
    return false;
}

static int send_http(struct ttai_activity_ctx *ctx, const struct alert__channel *c,
                     const struct alert *a, struct ttai_buf *out)
{
    json_t *body = http_body(c, a);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return fail_no_memory(ctx, c);
    struct act_http_header headers[ACT_HTTP_HEADERS_MAX];
    size_t count = c->header_count;
    for (size_t i = 0; i < count; i++)
        headers[i] = c->headers[i];
    if (c->type == ALERT__WEBHOOK && !header_configured(c, "Idempotency-Key"))
        headers[count++] = (struct act_http_header){"Idempotency-Key",
                                                    ttai_activity_idempotency_key(ctx)};
    struct act_http_request req = {
        .method = ACT_HTTP_POST, .url = c->url, .headers = headers, .header_count = count,
        .body = text, .body_len = strlen(text), .timeout_ms = c->timeout_ms, .ctx = ctx,
    };
    struct act_http_result res;
    act_http_result_init(&res);
    int rc;
    if (act_http_request(&req, &res) == 0) {
        output_begin(out, c, 1);
        ttai_buf_str(out, "status");
        ttai_buf_int(out, res.status);
        rc = TTAI_OK;
    } else {
        without_url(&res, c->name);
        rc = act_http_fail(ctx, &res);
    }
    act_http_result_release(&res);
    free(text);
    return rc;
}

/* ---- E-mail, console, stream -------------------------------------------------------- */

static int send_email(struct ttai_activity_ctx *ctx, const struct alert__channel *c,
                      const struct alert *a, struct ttai_buf *out)
{
    struct alert_email e;
    if (alert_email_format(a, &e) != 0)
        return fail_no_memory(ctx, c);
    struct act_smtp_message msg = {
        .to = (const char *const *)c->to, .to_count = c->to_count, .subject = e.subject,
        .text = e.text, .html = e.html, .message_id_seed = ttai_activity_idempotency_key(ctx),
    };
    struct act_smtp_result res;
    int rc;
    if (act_smtp_send(&msg, &res) == 0) {
        output_begin(out, c, 2);
        ttai_buf_str(out, "message_id");
        ttai_buf_str(out, res.message_id);
        ttai_buf_str(out, "recipients");
        ttai_buf_int(out, (int64_t)c->to_count);
        rc = TTAI_OK;
    } else {
        rc = act_smtp_fail(ctx, &res);
    }
    alert_email_release(&e);
    return rc;
}

static int send_console(struct ttai_activity_ctx *ctx, const struct alert__channel *c,
                        const struct alert *a, struct ttai_buf *out)
{
    char *line = alert_console_line(a);
    if (line == NULL)
        return fail_no_memory(ctx, c);
    alert__console_emit(line);
    ttai_free(line);
    output_begin(out, c, 0);
    return TTAI_OK;
}

static int send_stream(struct ttai_activity_ctx *ctx, const struct alert__channel *c,
                       const struct alert *a, struct ttai_buf *out)
{
    json_t *j = alert_to_json(a);
    /* The stream serves every namespace: it tells them apart by this. */
    if (j != NULL)
        json_object_set_new(j, "namespace", json_string(ttai_activity_namespace(ctx)));
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return fail_no_memory(ctx, c);
    int rc = alert__stream_emit(text);
    free(text);
    if (rc != 0)
        return ttai_activity_fail(ctx, "AlertChannelNotConfigured", false, "alert channel '%s': "
                                  "no live alert stream is connected", c->name);
    output_begin(out, c, 0);
    return TTAI_OK;
}

static const send_fn senders[ALERT__TYPE_COUNT] = {
    [ALERT__DISCORD] = send_http, [ALERT__SLACK] = send_http,      [ALERT__WEBHOOK] = send_http,
    [ALERT__EMAIL] = send_email,  [ALERT__CONSOLE] = send_console, [ALERT__STREAM] = send_stream,
};

/* ---- The activities ------------------------------------------------------------------ */

/* One delivery through a channel of type want (-1: whatever its type). */
static int deliver(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                   struct ttai_buf *out, int want)
{
    struct delivery d;
    memset(&d, 0, sizeof(d));
    alert_init(&d.alert);
    int rc = delivery_parse(ctx, input, want >= 0 ? alert__type_names[want] : NULL, &d);
    if (rc != 0) {
        alert_release(&d.alert);
        return rc;
    }
    const struct alert__channel *c = alert__channel_lock(d.channel);
    if (c == NULL)
        rc = ttai_activity_fail(ctx, "AlertChannelNotConfigured", false, "alert channel '%s' is "
                                "not configured", d.channel);
    else if (want >= 0 && c->type != want)
        rc = ttai_activity_fail(ctx, "AlertChannelType", false, "alert channel '%s' is a %s "
                                "channel, not %s", d.channel, alert__type_names[c->type],
                                alert__type_names[want]);
    else
        rc = senders[c->type](ctx, c, &d.alert, out);
    alert__channels_unlock();
    alert_release(&d.alert);
    return rc;
}

#define DELIVER_AS(fn, type)                                                        \
    static int fn(struct ttai_activity_ctx *ctx, struct ttai_payload input,         \
                  struct ttai_buf *out)                                             \
    {                                                                               \
        return deliver(ctx, input, out, (type));                                    \
    }
DELIVER_AS(deliver_discord, ALERT__DISCORD)
DELIVER_AS(deliver_slack, ALERT__SLACK)
DELIVER_AS(deliver_webhook, ALERT__WEBHOOK)
DELIVER_AS(deliver_email, ALERT__EMAIL)
DELIVER_AS(deliver_console, ALERT__CONSOLE)
DELIVER_AS(deliver_stream, ALERT__STREAM)
DELIVER_AS(deliver_any, -1)
#undef DELIVER_AS

const struct ttai_activity_def alert_deliver_discord_def = {"deliver_discord", deliver_discord};
const struct ttai_activity_def alert_deliver_slack_def = {"deliver_slack", deliver_slack};
const struct ttai_activity_def alert_deliver_webhook_def = {"deliver_webhook", deliver_webhook};
const struct ttai_activity_def alert_deliver_email_def = {"deliver_email", deliver_email};
const struct ttai_activity_def alert_deliver_console_def = {"deliver_console", deliver_console};
const struct ttai_activity_def alert_deliver_stream_def = {"deliver_stream", deliver_stream};
const struct ttai_activity_def alert_deliver_def = {"deliver_alert", deliver_any};

const struct ttai_activity_def *const alert_delivery_activities[] = {
    &alert_deliver_discord_def, &alert_deliver_slack_def,   &alert_deliver_webhook_def,
    &alert_deliver_email_def,   &alert_deliver_console_def, &alert_deliver_stream_def,
    &alert_deliver_def,         NULL,
};
