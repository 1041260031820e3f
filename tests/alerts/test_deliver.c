/* test_deliver.c: the channel configuration and the delivery activities,
 * scheduled by a workflow in the test environment (virtual clock, real
 * activity threads) against a recording HTTP sink and a loopback SMTP
 * server: exact bodies, retries of 5xx, final 4xx, credentials kept out
 * of the journal, and a down channel that delays only its own deliveries. */
#include "alerts_test.h"
#include "sink.h"
#include "smtp_server.h"
#include "smtp_util.h"

#include <pthread.h>

#define START_MS 1763900000000LL

/* ---- A workflow that runs one activity ------------------------------------------
 *
 * Input {activity, args, max_attempts}: schedules `activity` with `args`
 * (retry: 1 s initial, x2 backoff) and completes with {rc, attempts,
 * error_type, error_message, value}. */

static void once_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    char type[64] = "";
    int64_t max_attempts = 0;
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    if (ttai_payload_unpack(&r, input, &o) == 0) {
        ttai_obj_strcpy(ttai_obj_get(&o, "activity"), type, sizeof(type));
        ttai_obj_int(ttai_obj_get(&o, "max_attempts"), &max_attempts);
        ASSERT_EQ(msgpack_pack_object(&pk, *ttai_obj_get(&o, "args")), 0);
    }
    ttai_reader_release(&r);
    /* Malloc'd memory may not live across the blocking call: keep a copy. */
    struct ttai_payload in = ttai_wf_keep(wf, (struct ttai_payload){(uint8_t *)args.data,
                                                                    args.size});
    msgpack_sbuffer_destroy(&args);
    struct ttai_activity_opts opts = {.start_to_close_ms = 30000, .retry_initial_ms = 1000,
                                      .retry_backoff = 2.0,
                                      .retry_max_attempts = (uint32_t)max_attempts};
    struct ttai_result res;
    (void)ttai_wf_activity(wf, type, in, &opts, &res); /* the outcome is the result */
    struct ttai_buf out;
    ttai_buf_init(&out);
    ttai_buf_map(&out, 5);
    ttai_buf_str(&out, "rc");
    ttai_buf_str(&out, ttai_rc_name(res.rc));
    ttai_buf_str(&out, "attempts");
    ttai_buf_int(&out, res.attempts);
    ttai_buf_str(&out, "error_type");
    ttai_buf_str(&out, res.error_type);
    ttai_buf_str(&out, "error_message");
    ttai_buf_str(&out, res.error_message ? res.error_message : "");
    ttai_buf_str(&out, "value");
    if (res.value.len)
        ttai_buf_raw(&out, res.value);
    else
        ttai_buf_nil(&out);
    struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    ttai_wf_complete(wf, p);
}

static const struct ttai_workflow_def wf_once = {"once", once_run, 8, NULL, NULL};
static const struct ttai_workflow_def *const workflows[] = {&wf_once, NULL};
static const struct ttai_registry registry = {workflows, alert_delivery_activities};

/* ---- Helpers ------------------------------------------------------------------------ */

static char data_dir[600];

static struct ttai_testenv *env_open(void)
{
    snprintf(data_dir, sizeof(data_dir), "%s/data", test_tmpdir());
    struct ttai_testenv *env;
    struct ttai_err err;
    ASSERT_OK(ttai_testenv_open(&env, data_dir, &registry, START_MS, &err), &err);
    return env;
}

static void configure(const char *json)
{
    json_t *cfg = test_json(json);
    struct ttai_err err;
    ASSERT_OK(alert_channels_configure(cfg, &err), &err);
    json_decref(cfg);
}

#define CRITICAL_ALERT "{\"type\":\"pnl_critical\",\"category\":\"portfolio\",\"severity\":" \
    "\"critical\",\"message\":\"CRITICAL: Daily P&L at -5.2%\",\"timestamp_ms\":1763900000000}"
#define WARNING_ALERT "{\"type\":\"concentration_warning\",\"severity\":\"warning\",\"symbol\":" \
    "\"NVDA\",\"message\":\"Concentration warning: NVDA is 32.5% of portfolio\"," \
    "\"timestamp_ms\":1763900000000,\"data\":{\"position_percent\":32.5}}"

/* Starts workflow id: activity with {channel (NULL: none), alert}. */
static void start(struct ttai_testenv *env, const char *id, const char *activity,
                  const char *channel, const char *alert_json, int max_attempts)
{
    char json[4096], ch[128] = "";
    if (channel != NULL)
        snprintf(ch, sizeof(ch), "\"channel\":\"%s\",", channel);
    int n = snprintf(json, sizeof(json), "{\"activity\":\"%s\",\"max_attempts\":%d,\"args\":"
                     "{%s\"alert\":%s}}", activity, max_attempts, ch, alert_json);
    ASSERT(n > 0 && (size_t)n < sizeof(json));
    struct ttai_buf in;
    ttai_buf_init(&in);
    struct ttai_err err;
    ASSERT_OK(ttai_payload_from_json(json, strlen(json), &in, &err), &err);
    ASSERT_OK(ttai_engine_start(ttai_testenv_engine(env), "default", "once", id,
                                ttai_buf_payload(&in), NULL, NULL, &err), &err);
    ttai_buf_release(&in);
}

/* The workflow's result, or NULL while it runs; json_decref(). */
static json_t *result(struct ttai_testenv *env, const char *id)
{
    struct ttai_buf out;
    ttai_buf_init(&out);
    struct ttai_err err;
    int rc = ttai_engine_result(ttai_testenv_engine(env), "default", id, &out, &err);
    ASSERT(rc == 0 || rc == TTAI_EBUSY);
    json_t *j = NULL;
    if (rc == 0) {
        char *text = test_payload_json(ttai_buf_payload(&out));
        j = test_json(text);
        ttai_free(text);
    }
    ttai_buf_release(&out);
    return j;
}

static json_t *done(struct ttai_testenv *env, const char *id)
{
    json_t *j = result(env, id);
    if (j == NULL)
        test__fail(__FILE__, __LINE__, "workflow '%s' is still running", id);
    return j;
}

static const char *str_of(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static long long int_of(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    ASSERT(json_is_integer(v));
    return json_integer_value(v);
}

static void settle(struct ttai_testenv *env)
{
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
}

static void advance(struct ttai_testenv *env, int64_t ms)
{
    ASSERT_OK(ttai_testenv_advance(env, ms), (struct ttai_err *)NULL);
}

/* The n-th body the sink received at path, as JSON; json_decref(). */
static json_t *sink_body(struct sink *s, const char *path, int n, struct sink_request *req_out)
{
    struct sink_request req;
    ASSERT(sink_request(s, path, n, &req));
    json_t *j = test_json(req.body);
    if (req_out != NULL) {
        *req_out = req;
        req_out->body = NULL;
    }
    free(req.body);
    return j;
}

/* ---- Configuration ------------------------------------------------------------------------ */

static void configure_fails(const char *json, const char *msg)
{
    json_t *cfg = test_json(json);
    struct ttai_err err;
    ASSERT_EQ(alert_channels_configure(cfg, &err), TTAI_EINVAL);
    ASSERT_CONTAINS(err.msg, msg);
    json_decref(cfg);
    /* Nothing changed. */
    ASSERT_STR_EQ(alert_channel_type("ops"), "discord");
}

void test_channels_configure_checks(void)
{
    configure("{\"discord\":{\"webhook_url\":\"https://discord.example/api/webhooks/1/t\"},"
              "\"slack\":{\"webhook_url\":\"https://hooks.slack.example/services/T/B/x\","
              "\"timeout_ms\":5000},"
              "\"ops\":{\"type\":\"discord\",\"webhook_url\":\"http://127.0.0.1:9/x\"},"
              "\"webhook\":{\"url\":\"https://example.com/alerts\",\"headers\":{\"X-Team\":\"r\"}},"
              "\"email\":{\"to\":\"me@example.com\"},\"console\":{},\"feed\":{\"type\":\"stream\"}}");
    ASSERT_STR_EQ(alert_channel_type("discord"), "discord");
    ASSERT_STR_EQ(alert_channel_type("ops"), "discord");
    ASSERT_STR_EQ(alert_channel_type("slack"), "slack");
    ASSERT_STR_EQ(alert_channel_type("webhook"), "webhook");
    ASSERT_STR_EQ(alert_channel_type("email"), "email");
    ASSERT_STR_EQ(alert_channel_type("feed"), "stream");
    ASSERT_STR_EQ(alert_channel_type("stream"), "stream");   /* built in */
    ASSERT(alert_channel_type("pager") == NULL);
    configure_fails("[]", "must be an object");
    configure_fails("{\"ops\":{\"type\":\"discord\",\"webhook_url\":\"http://a/b\"},\"x\":3}",
                    "alert channel 'x' must be an object");
    configure_fails("{\"pager\":{}}", "alert channel 'pager' needs a \"type\"");
    configure_fails("{\"discord\":{}}", "alert channel 'discord' needs 'webhook_url'");
    configure_fails("{\"discord\":{\"webhook_url\":\"ftp://x/y\"}}", "http:// or https://");
    configure_fails("{\"discord\":{\"webhook_url\":\"http://x/it's\"}}", "without spaces or quotes");
    configure_fails("{\"discord\":{\"webhok_url\":\"http://x/y\"}}", "unknown setting 'webhok_url'");
    configure_fails("{\"slack\":{\"webhook_url\":\"http://x/y\",\"timeout_ms\":0}}", "'timeout_ms'");
    configure_fails("{\"webhook\":{\"url\":\"http://x/y\",\"headers\":[1]}}", "'headers' must be");
    configure_fails("{\"webhook\":{\"url\":\"http://x/y\",\"headers\":{\"A\":\"b\\r\\nC: d\"}}}",
                    "header 'A' is malformed");
    configure_fails("{\"email\":{}}", "'to' must be");
    configure_fails("{\"email\":{\"to\":[\"not an address\"]}}", "is not a bare address");
    configure_fails("{\"email\":{\"to\":\"a@b.c\",\"smtp_url\":\"smtp://127.0.0.1:25\"}}",
                    "without 'from'");
    configure_fails("{\"email\":{\"to\":\"a@b.c\",\"smtp_url\":\"smtp://127.0.0.1:25\","
                    "\"from\":\"x@y.z\",\"tls\":\"maybe\"}}", "'tls' must be");
    configure_fails("{\"e1\":{\"type\":\"email\",\"to\":\"a@b.c\",\"smtp_url\":\"smtp://127.0.0.1\","
                    "\"from\":\"x@y.z\",\"tls\":\"none\"},\"e2\":{\"type\":\"email\",\"to\":"
                    "\"a@b.c\",\"smtp_url\":\"smtp://127.0.0.1\",\"from\":\"x@y.z\",\"tls\":"
                    "\"none\"}}", "a second SMTP server");
    configure_fails("{\"console\":{\"colour\":true}}", "unknown setting 'colour'");
    /* NULL clears; the built-in channels stay. */
    struct ttai_err err;
    ASSERT_OK(alert_channels_configure(NULL, &err), &err);
    ASSERT(alert_channel_type("ops") == NULL);
    ASSERT_STR_EQ(alert_channel_type("console"), "console");
}

/* ---- HTTP channels ------------------------------------------------------------------------ */

static void configure_sink(struct sink *s)
{
    char discord[256], slack[256], cfg[1024];
    sink_url(s, "/api/webhooks/42/tok-SECRET-1", discord, sizeof(discord));
    sink_url(s, "/services/T0/B0/slack-SECRET-2", slack, sizeof(slack));
    snprintf(cfg, sizeof(cfg), "{\"discord\":{\"webhook_url\":\"%s\"},\"slack\":"
             "{\"webhook_url\":\"%s\"}}", discord, slack);
    configure(cfg);
}

#define DISCORD_PATH "/api/webhooks/42/tok-SECRET-1"
#define SLACK_PATH "/services/T0/B0/slack-SECRET-2"

void test_deliver_discord_and_slack(void)
{
    struct sink *s = sink_start();
    configure_sink(s);
    struct ttai_testenv *env = env_open();
    start(env, "d", "deliver_discord", NULL, CRITICAL_ALERT, 3);
    start(env, "s", "deliver_slack", NULL, WARNING_ALERT, 3);
    start(env, "any", "deliver_alert", "slack", CRITICAL_ALERT, 3);
    settle(env);
    json_t *j = done(env, "d");
    ASSERT_STR_EQ(str_of(j, "rc"), "OK");
    ASSERT_EQ(int_of(j, "attempts"), 1);
    json_t *want = test_json("{\"channel\":\"discord\",\"type\":\"discord\",\"status\":200}");
    ASSERT_JSON_EQ(json_object_get(j, "value"), want);
    json_decref(want);
    json_decref(j);
    j = done(env, "any");
    ASSERT_STR_EQ(str_of(json_object_get(j, "value"), "type"), "slack");
    json_decref(j);
    ASSERT_EQ(sink_count(s, DISCORD_PATH), 1);
    ASSERT_EQ(sink_count(s, SLACK_PATH), 2);
    struct sink_request req;
    json_t *body = sink_body(s, DISCORD_PATH, 0, &req);
    ASSERT_STR_EQ(req.content_type, "application/json");
    want = test_json("{\"embeds\": [{\"title\": \"Pnl Critical\", \"description\": \"CRITICAL: "
                     "Daily P&L at -5.2%\", \"color\": 16711680, \"fields\": [{\"name\": "
                     "\"Symbol\", \"value\": \"N/A\", \"inline\": true}, {\"name\": \"Severity\", "
                     "\"value\": \"Critical\", \"inline\": true}], \"timestamp\": "
                     "\"2025-11-23T12:13:20.000Z\"}]}");
    ASSERT_JSON_EQ(body, want);
    json_decref(want);
    json_decref(body);
    /* The two Slack bodies, in either order: one per alert. */
    json_t *b0 = sink_body(s, SLACK_PATH, 0, NULL), *b1 = sink_body(s, SLACK_PATH, 1, NULL);
    want = test_json("{\"blocks\": [{\"type\": \"header\", \"text\": {\"type\": \"plain_text\", "
                     "\"text\": \":warning: concentration_warning\"}}, {\"type\": \"section\", "
                     "\"text\": {\"type\": \"mrkdwn\", \"text\": \"Concentration warning: NVDA is "
                     "32.5% of portfolio\"}}, {\"type\": \"context\", \"elements\": [{\"type\": "
                     "\"mrkdwn\", \"text\": \"*Symbol:* NVDA | *Severity:* warning\"}]}]}");
    ASSERT(json_equal(b0, want) || json_equal(b1, want));
    ASSERT(!json_equal(b0, b1));
    json_decref(want);
    json_decref(b0);
    json_decref(b1);
    ttai_testenv_close(env);
    sink_stop(s);
}

void test_deliver_500_then_success(void)
{
    struct sink *s = sink_start();
    configure_sink(s);
    static const int codes[] = {500, 503};
    sink_script(s, DISCORD_PATH, codes, 2);
    struct ttai_testenv *env = env_open();
    start(env, "d", "deliver_discord", NULL, CRITICAL_ALERT, 0);
    /* Attempts at 0 s, 1 s (initial interval) and 3 s (x2 backoff). */
    settle(env);
    ASSERT_EQ(sink_count(s, DISCORD_PATH), 1);
    ASSERT(result(env, "d") == NULL);
    advance(env, 1500);
    ASSERT_EQ(sink_count(s, DISCORD_PATH), 2);
    ASSERT(result(env, "d") == NULL);
    advance(env, 1500);
    json_t *j = done(env, "d");
    ASSERT_STR_EQ(str_of(j, "rc"), "OK");
    ASSERT_EQ(int_of(j, "attempts"), 3);
    json_decref(j);
    /* Every attempt sent the same bytes. */
    struct sink_request r0, r2;
    ASSERT(sink_request(s, DISCORD_PATH, 0, &r0));
    ASSERT(sink_request(s, DISCORD_PATH, 2, &r2));
    ASSERT_EQ(r0.status, 500);
    ASSERT_EQ(r2.status, 200);
    ASSERT_STR_EQ(r0.body, r2.body);
    free(r0.body);
    free(r2.body);
    ttai_testenv_close(env);
    sink_stop(s);
}

void test_deliver_400_final(void)
{
    struct sink *s = sink_start();
    configure_sink(s);
    static const int codes[] = {400};
    sink_script(s, DISCORD_PATH, codes, 1);
    struct ttai_testenv *env = env_open();
    start(env, "d", "deliver_discord", NULL, CRITICAL_ALERT, 5);
    settle(env);
    json_t *j = done(env, "d");
    ASSERT_STR_EQ(str_of(j, "rc"), "EIO");
    ASSERT_EQ(int_of(j, "attempts"), 1);
    ASSERT_STR_EQ(str_of(j, "error_type"), "Http4xx");
    ASSERT_STR_EQ(str_of(j, "error_message"), "alert channel 'discord': POST answered 400");
    json_decref(j);
    advance(env, 60000);
    ASSERT_EQ(sink_count(s, DISCORD_PATH), 1);
    /* A channel nobody answers: retried, and its URL is never shown (libcurl's
     * own words name the host and port, which hold no secret). */
    configure("{\"discord\":{\"webhook_url\":\"http://127.0.0.1:1/api/webhooks/7/tok-SECRET-3\"}}");
    start(env, "refused", "deliver_discord", NULL, CRITICAL_ALERT, 2);
    settle(env);
    advance(env, 2000);
    j = done(env, "refused");
    ASSERT_EQ(int_of(j, "attempts"), 2);
    ASSERT_STR_EQ(str_of(j, "error_type"), "HttpConnect");
    ASSERT_CONTAINS(str_of(j, "error_message"), "alert channel 'discord': POST failed to connect");
    ASSERT_NOT_CONTAINS(str_of(j, "error_message"), "SECRET");
    ASSERT_NOT_CONTAINS(str_of(j, "error_message"), "/api/webhooks");
    json_decref(j);
    ttai_testenv_close(env);
    ASSERT(test_dir_contains(data_dir, "Daily P&L")); /* the journal holds the alerts */
    ASSERT(!test_dir_contains(data_dir, "SECRET"));   /* and no channel URL */
    sink_stop(s);
}

void test_deliver_webhook_headers_and_body(void)
{
    struct sink *s = sink_start();
    char url[256], cfg[1024];
    sink_url(s, "/hook", url, sizeof(url));
    snprintf(cfg, sizeof(cfg), "{\"webhook\":{\"url\":\"%s\",\"headers\":{\"Authorization\":"
             "\"Bearer hook-SECRET-4\",\"X-Team\":\"risk\"}}}", url);
    configure(cfg);
    static const int codes[] = {503};
    sink_script(s, "/hook", codes, 1);
    struct ttai_testenv *env = env_open();
    start(env, "w", "deliver_webhook", NULL, WARNING_ALERT, 0);
    settle(env);
    advance(env, 1000);
    json_t *j = done(env, "w");
    ASSERT_EQ(int_of(j, "attempts"), 2);
    ASSERT_EQ(int_of(json_object_get(j, "value"), "status"), 200);
    json_decref(j);
    struct sink_request r0, r1;
    json_t *body = sink_body(s, "/hook", 1, &r1);
    json_decref(sink_body(s, "/hook", 0, &r0));
    json_t *want = test_json("{\"type\":\"concentration_warning\",\"severity\":\"warning\","
                             "\"symbol\":\"NVDA\",\"message\":\"Concentration warning: NVDA is "
                             "32.5% of portfolio\",\"timestamp_ms\":1763900000000,\"timestamp\":"
                             "\"2025-11-23T12:13:20.000Z\",\"data\":{\"position_percent\":32.5}}");
    ASSERT_JSON_EQ(body, want);
    ASSERT_STR_EQ(r1.authorization, "Bearer hook-SECRET-4");
    ASSERT_STR_EQ(r1.x_team, "risk");
    ASSERT_STR_EQ(r1.content_type, "application/json");
    /* The same idempotency key on both attempts: "<workflow>/<run>/<seq>". */
    ASSERT(strncmp(r1.idempotency_key, "w/", 2) == 0);
    ASSERT_STR_EQ(r0.idempotency_key, r1.idempotency_key);
    json_decref(want);
    json_decref(body);
    ttai_testenv_close(env);
    ASSERT(!test_dir_contains(data_dir, "hook-SECRET-4"));
    sink_stop(s);
}

void test_deliver_unconfigured_and_mismatch(void)
{
    struct sink *s = sink_start();
    char url[256], cfg[512];
    sink_url(s, "/slack", url, sizeof(url));
    snprintf(cfg, sizeof(cfg), "{\"slack\":{\"webhook_url\":\"%s\"}}", url);
    configure(cfg);
    alert_stream_set_sink(NULL, NULL);
    struct ttai_testenv *env = env_open();
    start(env, "none", "deliver_discord", NULL, CRITICAL_ALERT, 5);
    start(env, "type", "deliver_discord", "slack", CRITICAL_ALERT, 5);
    start(env, "nochannel", "deliver_alert", NULL, CRITICAL_ALERT, 5);
    start(env, "badalert", "deliver_slack", NULL, "{\"type\":5}", 5);
    start(env, "nostream", "deliver_stream", NULL, CRITICAL_ALERT, 5);
    settle(env);
    static const struct {
        const char *id, *type, *msg;
    } want[] = {
        {"none", "AlertChannelNotConfigured", "alert channel 'discord' is not configured"},
        {"type", "AlertChannelType", "alert channel 'slack' is a slack channel, not discord"},
        {"nochannel", "AlertInvalid", "'channel' is required"},
        {"badalert", "AlertInvalid", "invalid alert: alert 'type' must be a string"},
        {"nostream", "AlertChannelNotConfigured",
         "alert channel 'stream': no live alert stream is connected"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_t *j = done(env, want[i].id);
        ASSERT_EQ(int_of(j, "attempts"), 1);
        ASSERT_STR_EQ(str_of(j, "error_type"), want[i].type);
        ASSERT_STR_EQ(str_of(j, "error_message"), want[i].msg);
        json_decref(j);
    }
    ASSERT_EQ(sink_count(s, NULL), 0);
    ttai_testenv_close(env);
    sink_stop(s);
}

/* ---- E-mail, console, stream --------------------------------------------------------------- */

void test_deliver_email(void)
{
    static const char password[] = "smtp-SECRET-5";
    struct smtp_srv_opts opts = {.password = password};
    struct smtp_srv *srv = smtp_srv_start(&opts);
    char cfg[1024];
    snprintf(cfg, sizeof(cfg), "{\"email\":{\"smtp_url\":\"smtp://127.0.0.1:%d\",\"tls\":\"none\","
             "\"username\":\"alerts\",\"password\":\"%s\",\"from\":\"alerts@ttai.example\","
             "\"to\":[\"ops@example.org\",\"trader@example.net\"]}}", smtp_srv_port(srv), password);
    configure(cfg);
    struct ttai_testenv *env = env_open();
    start(env, "mail", "deliver_email", NULL, CRITICAL_ALERT, 3);
    settle(env);
    json_t *j = done(env, "mail");
    ASSERT_STR_EQ(str_of(j, "rc"), "OK");
    json_t *value = json_object_get(j, "value");
    ASSERT_STR_EQ(str_of(value, "channel"), "email");
    ASSERT_EQ(int_of(value, "recipients"), 2);
    ASSERT_EQ(smtp_srv_messages(srv), 1);
    struct smtp_srv_mail mail;
    ASSERT(smtp_srv_mail(srv, 0, &mail));
    ASSERT_STR_EQ(mail.from, "alerts@ttai.example");
    ASSERT_EQ(mail.rcpt_count, 2);
    ASSERT_STR_EQ(mail.rcpt[1], "trader@example.net");
    char *subject = smtp_header_decode(mail.data, "Subject");
    ASSERT_STR_EQ(subject, "[CRITICAL] pnl_critical");
    free(subject);
    char want[200];
    snprintf(want, sizeof(want), "\r\nMessage-ID: %s\r\n", str_of(value, "message_id"));
    ASSERT_CONTAINS(mail.data, want);
    struct smtp_parts p;
    smtp_parts_parse(mail.data, &p);
    ASSERT_STR_EQ(p.text, "CRITICAL: Daily P&L at -5.2%\n\nSymbol: N/A");
    ASSERT_STR_EQ(p.html, "<html>\n<body>\n<h2>pnl_critical</h2>\n<p>CRITICAL: Daily P&amp;L at "
                          "-5.2%</p>\n<p><strong>Symbol:</strong> N/A</p>\n</body>\n</html>\n");
    smtp_parts_release(&p);
    free(mail.data);
    char mech[64], user[64], pass[64];
    smtp_srv_auth(srv, mech, user, pass, sizeof(mech));
    ASSERT_STR_EQ(user, "alerts");
    json_decref(j);
    ttai_testenv_close(env);
    ASSERT(!test_dir_contains(data_dir, password));
    smtp_srv_stop(srv);
    struct ttai_err err;
    ASSERT_OK(act_smtp_configure(NULL, &err), &err);
}

struct captured {
    pthread_mutex_t mu;
    char texts[4][2048];
    int count;
};

static void capture(void *arg, const char *text)
{
    struct captured *c = arg;
    pthread_mutex_lock(&c->mu);
    ASSERT(c->count < 4);
    snprintf(c->texts[c->count++], sizeof(c->texts[0]), "%s", text);
    pthread_mutex_unlock(&c->mu);
}

void test_deliver_console_and_stream(void)
{
    static struct captured console = {PTHREAD_MUTEX_INITIALIZER, {""}, 0};
    static struct captured stream = {PTHREAD_MUTEX_INITIALIZER, {""}, 0};
    alert_console_set_sink(capture, &console);
    alert_stream_set_sink(capture, &stream);
    configure("{\"feed\":{\"type\":\"stream\"}}");
    struct ttai_testenv *env = env_open();
    start(env, "c", "deliver_console", NULL, WARNING_ALERT, 1);
    start(env, "s", "deliver_stream", NULL, WARNING_ALERT, 1);
    start(env, "f", "deliver_alert", "feed", CRITICAL_ALERT, 1);
    settle(env);
    for (int i = 0; i < 3; i++) {
        json_t *j = done(env, i == 0 ? "c" : i == 1 ? "s" : "f");
        ASSERT_STR_EQ(str_of(j, "rc"), "OK");
        json_decref(j);
    }
    ASSERT_EQ(console.count, 1);
    ASSERT_STR_EQ(console.texts[0], "2025-11-23T12:13:20.000Z [WARNING] concentration_warning "
                                    "NVDA: Concentration warning: NVDA is 32.5% of portfolio");
    ASSERT_EQ(stream.count, 2);
    json_t *a = test_json(stream.texts[0]), *b = test_json(stream.texts[1]);
    json_t *want = test_json("{\"type\":\"concentration_warning\",\"severity\":\"warning\","
                             "\"symbol\":\"NVDA\",\"message\":\"Concentration warning: NVDA is "
                             "32.5% of portfolio\",\"timestamp_ms\":1763900000000,\"timestamp\":"
                             "\"2025-11-23T12:13:20.000Z\",\"data\":{\"position_percent\":32.5},"
                             "\"namespace\":\"default\"}");
    ASSERT(json_equal(a, want) || json_equal(b, want));
    ASSERT(!json_equal(a, b));
    json_decref(a);
    json_decref(b);
    json_decref(want);
    /* Disconnected: the stream refuses, for good. */
    alert_stream_set_sink(NULL, NULL);
    alert_console_set_sink(NULL, NULL);
    start(env, "s2", "deliver_stream", NULL, WARNING_ALERT, 3);
    settle(env);
    json_t *j = done(env, "s2");
    ASSERT_STR_EQ(str_of(j, "error_type"), "AlertChannelNotConfigured");
    ASSERT_EQ(int_of(j, "attempts"), 1);
    json_decref(j);
    ASSERT_EQ(stream.count, 2);
    ttai_testenv_close(env);
}

void test_deliver_down_channel_delays_only_itself(void)
{
    struct sink *s = sink_start();
    configure_sink(s);
    static const int down[] = {503, 503, 503, 503};
    sink_script(s, DISCORD_PATH, down, 4);
    struct ttai_testenv *env = env_open();
    start(env, "discord", "deliver_discord", NULL, CRITICAL_ALERT, 0);
    start(env, "slack", "deliver_slack", NULL, CRITICAL_ALERT, 0);
    settle(env);
    /* Slack is done at once, while Discord keeps failing. */
    json_t *j = done(env, "slack");
    ASSERT_EQ(int_of(j, "attempts"), 1);
    json_decref(j);
    ASSERT(result(env, "discord") == NULL);
    /* Discord's attempts at 0, 1, 3, 7 and 15 s; the fifth gets through. */
    advance(env, 14000);
    ASSERT(result(env, "discord") == NULL);
    ASSERT_EQ(sink_count(s, DISCORD_PATH), 4);
    advance(env, 1000);
    j = done(env, "discord");
    ASSERT_STR_EQ(str_of(j, "rc"), "OK");
    ASSERT_EQ(int_of(j, "attempts"), 5);
    json_decref(j);
    ASSERT_EQ(sink_count(s, SLACK_PATH), 1);
    ttai_testenv_close(env);
    sink_stop(s);
}
