/* test_engine.c: "http_json" and "send_email" scheduled by a workflow in
 * the test environment (virtual clock, real activity threads, loopback
 * servers): retries with the engine's policy, final failures at the first
 * attempt, Retry-After driving the retry timer, secrets and SMTP
 * credentials kept out of the journal. */
#include "act_test.h"
#include "http_server.h"
#include "smtp_server.h"
#include "smtp_util.h"

#define START_MS 1763900000000LL

/* ---- A workflow that runs one activity ----------------------------------------
 *
 * Input {activity, args, max_attempts}; it schedules `activity` with `args`
 * as input (retry: 1 s initial, x2 backoff), cancels it on the "cancel"
 * signal, and completes with {rc, attempts, error_type, error_message,
 * value}. */

static struct ttai_payload args_payload(struct ttai_wf *wf, const msgpack_object *args)
{
    if (args == NULL)
        return (struct ttai_payload){NULL, 0};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    ASSERT_EQ(msgpack_pack_object(&pk, *args), 0);
    /* Malloc'd memory may not live across the blocking call: keep a copy. */
    struct ttai_payload p = ttai_wf_keep(wf, (struct ttai_payload){(uint8_t *)sb.data, sb.size});
    msgpack_sbuffer_destroy(&sb);
    return p;
}

struct caller_state {
    bool cancel;                     /* the "cancel" signal arrived */
};

static void caller_cancel(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct caller_state *)state)->cancel = true;
}

static bool caller_wake(const void *state, void *arg)
{
    return ((const struct caller_state *)state)->cancel || ttai_future_done(arg);
}

static void caller_complete(struct ttai_wf *wf, const struct ttai_result *res)
{
    struct ttai_buf out;
    ttai_buf_init(&out);
    ttai_buf_map(&out, 5);
    ttai_buf_str(&out, "rc");
    ttai_buf_str(&out, ttai_rc_name(res->rc));
    ttai_buf_str(&out, "attempts");
    ttai_buf_int(&out, res->attempts);
    ttai_buf_str(&out, "error_type");
    ttai_buf_str(&out, res->error_type);
    ttai_buf_str(&out, "error_message");
    ttai_buf_str(&out, res->error_message ? res->error_message : "");
    ttai_buf_str(&out, "value");
    if (res->value.len)
        ttai_buf_raw(&out, res->value);
    else
        ttai_buf_nil(&out);
    struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    ttai_wf_complete(wf, p);
}

static void caller_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    char type[64] = "";
    int64_t max_attempts = 0;
    struct ttai_payload args = {NULL, 0};
    if (ttai_payload_unpack(&r, input, &o) == 0) {
        ttai_obj_strcpy(ttai_obj_get(&o, "activity"), type, sizeof(type));
        ttai_obj_int(ttai_obj_get(&o, "max_attempts"), &max_attempts);
        args = args_payload(wf, ttai_obj_get(&o, "args"));
    }
    ttai_reader_release(&r);
    struct ttai_activity_opts opts = {.start_to_close_ms = 30000, .retry_initial_ms = 1000,
                                      .retry_backoff = 2.0,
                                      .retry_max_attempts = (uint32_t)max_attempts};
    struct ttai_future *f = ttai_wf_activity_start(wf, type, args, &opts);
    ttai_wf_await(wf, caller_wake, f, -1);
    if (!ttai_future_done(f)) {
        struct ttai_future *futures[] = {f};
        ttai_wf_activity_cancel(wf, f);
        ttai_wf_wait_any(wf, futures, 1);
    }
    (void)state;
    caller_complete(wf, ttai_future_result(f));
}

static const struct ttai_signal_def caller_signals[] = {{"cancel", caller_cancel}, {NULL, NULL}};
static const struct ttai_workflow_def wf_caller = {"caller", caller_run,
                                                   sizeof(struct caller_state), caller_signals,
                                                   NULL};
static const struct ttai_workflow_def *const workflows[] = {&wf_caller, NULL};
static const struct ttai_activity_def *const activities[] = {&act_http_json_def,
                                                             &act_send_email_def, NULL};
static const struct ttai_registry registry = {workflows, activities};

/* ---- Helpers ------------------------------------------------------------------- */

static char data_dir[600];

static struct ttai_testenv *env_open(void)
{
    snprintf(data_dir, sizeof(data_dir), "%s/data", test_tmpdir());
    struct ttai_testenv *env;
    struct ttai_err err;
    ASSERT_OK(ttai_testenv_open(&env, data_dir, &registry, START_MS, &err), &err);
    return env;
}

/* Starts workflow id with input {activity, max_attempts, args: args_json}. */
static void start(struct ttai_testenv *env, const char *id, const char *activity,
                  int max_attempts, const char *args_json)
{
    char json[2048];
    int n = snprintf(json, sizeof(json), "{\"activity\":\"%s\",\"max_attempts\":%d,\"args\":%s}",
                     activity, max_attempts, args_json);
    ASSERT(n > 0 && (size_t)n < sizeof(json));
    struct ttai_buf in;
    ttai_buf_init(&in);
    struct ttai_err err;
    ASSERT_OK(ttai_payload_from_json(json, strlen(json), &in, &err), &err);
    ASSERT_OK(ttai_engine_start(ttai_testenv_engine(env), "default", "caller", id,
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
        char *text = ttai_payload_to_json(ttai_buf_payload(&out));
        ASSERT(text != NULL);
        json_error_t jerr;
        j = json_loads(text, 0, &jerr);
        ASSERT(j != NULL);
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

static void expect_running(struct ttai_testenv *env, const char *id)
{
    json_t *j = result(env, id);
    if (j != NULL) {
        char *text = json_dumps(j, 0);
        test__fail(__FILE__, __LINE__, "workflow '%s' finished too early: %s", id, text);
    }
}

static const char *str_at(json_t *j, const char *path1, const char *path2)
{
    json_t *v = json_object_get(j, path1);
    if (path2 != NULL)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static long long int_at(json_t *j, const char *path1, const char *path2, const char *path3)
{
    json_t *v = json_object_get(j, path1);
    if (path2 != NULL)
        v = json_object_get(v, path2);
    if (path3 != NULL)
        v = json_object_get(v, path3);
    ASSERT(json_is_integer(v));
    return json_integer_value(v);
}

/* ---- HTTP ------------------------------------------------------------------------- */

void test_engine_http_flap_retries(void)
{
    struct http_srv *srv = http_srv_start();
    struct ttai_testenv *env = env_open();
    char url[256], args[512];
    http_srv_url(srv, "/flap?key=f&fail=2&code=503", url, sizeof(url));
    snprintf(args, sizeof(args), "{\"url\":\"%s\"}", url);
    start(env, "flap", "http_json", 0, args);
    /* Attempts at 0 s, 1 s (initial interval) and 3 s (x2 backoff). */
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    ASSERT_EQ(http_srv_flap_count(srv, "f"), 1);
    ASSERT_OK(ttai_testenv_advance(env, 2500), (struct ttai_err *)NULL);
    expect_running(env, "flap");
    ASSERT_EQ(http_srv_flap_count(srv, "f"), 2);
    ASSERT_OK(ttai_testenv_advance(env, 1000), (struct ttai_err *)NULL);
    json_t *j = done(env, "flap");
    ASSERT_STR_EQ(str_at(j, "rc", NULL), "OK");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 3);
    ASSERT_EQ(int_at(j, "value", "status", NULL), 200);
    ASSERT_EQ(int_at(j, "value", "body", "count"), 3);
    ASSERT_STR_EQ(str_at(json_object_get(j, "value"), "body", "key"), "f");
    ASSERT_EQ(http_srv_flap_count(srv, "f"), 3);
    json_decref(j);
    ttai_testenv_close(env);
    http_srv_stop(srv);
}

void test_engine_http_404_final(void)
{
    struct http_srv *srv = http_srv_start();
    struct ttai_testenv *env = env_open();
    char url[256], args[512];
    http_srv_url(srv, "/status?code=404", url, sizeof(url));
    snprintf(args, sizeof(args), "{\"url\":\"%s\"}", url);
    start(env, "nf", "http_json", 5, args);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    json_t *j = done(env, "nf");
    ASSERT_STR_EQ(str_at(j, "rc", NULL), "EIO");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 1);
    ASSERT_STR_EQ(str_at(j, "error_type", NULL), "Http4xx");
    ASSERT_CONTAINS(str_at(j, "error_message", NULL), "GET 'http://127.0.0.1:");
    ASSERT_CONTAINS(str_at(j, "error_message", NULL), "/status' answered 404");
    json_decref(j);
    /* Nothing more happens however long we wait. */
    ASSERT_OK(ttai_testenv_advance(env, 60000), (struct ttai_err *)NULL);
    ASSERT_EQ(http_srv_requests(srv), 1);
    ttai_testenv_close(env);
    http_srv_stop(srv);
}

void test_engine_http_429_retry_after(void)
{
    struct http_srv *srv = http_srv_start();
    struct ttai_testenv *env = env_open();
    char url[256], args[512];
    http_srv_url(srv, "/flap?key=r&fail=1&code=429&retry_after=7", url, sizeof(url));
    snprintf(args, sizeof(args), "{\"url\":\"%s\"}", url);
    start(env, "limited", "http_json", 0, args);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    ASSERT_EQ(http_srv_flap_count(srv, "r"), 1);
    /* The policy alone would retry after 1 s; Retry-After says 7 s. */
    ASSERT_OK(ttai_testenv_advance(env, 6000), (struct ttai_err *)NULL);
    expect_running(env, "limited");
    ASSERT_EQ(http_srv_flap_count(srv, "r"), 1);
    ASSERT_OK(ttai_testenv_advance(env, 2000), (struct ttai_err *)NULL);
    json_t *j = done(env, "limited");
    ASSERT_STR_EQ(str_at(j, "rc", NULL), "OK");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 2);
    ASSERT_EQ(int_at(j, "value", "status", NULL), 200);
    ASSERT_EQ(http_srv_flap_count(srv, "r"), 2);
    json_decref(j);
    ttai_testenv_close(env);
    http_srv_stop(srv);
}

void test_engine_http_post_json(void)
{
    struct http_srv *srv = http_srv_start();
    struct ttai_testenv *env = env_open();
    char url[256], args[768];
    http_srv_url(srv, "/echo", url, sizeof(url));
    snprintf(args, sizeof(args), "{\"url\":\"%s\",\"method\":\"POST\",\"body\":{\"a\":[1,2]},"
             "\"headers\":{\"X-Test\":\"t1\"},\"timeout_ms\":5000}", url);
    start(env, "post", "http_json", 1, args);
    snprintf(args, sizeof(args), "{\"url\":\"%s\",\"method\":\"PUT\",\"body\":\"[true]\"}", url);
    start(env, "put", "http_json", 1, args);
    start(env, "bad", "http_json", 5, "{\"url\":\"http://127.0.0.1:1/\",\"method\":\"PATCH\"}");
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    json_t *j = done(env, "post");
    json_t *body = json_object_get(json_object_get(j, "value"), "body");
    ASSERT_STR_EQ(str_at(body, "method", NULL), "POST");
    ASSERT_STR_EQ(str_at(body, "body", NULL), "{\"a\":[1,2]}");
    ASSERT_STR_EQ(str_at(body, "x_test", NULL), "t1");
    ASSERT_STR_EQ(str_at(body, "content_type", NULL), "application/json");
    json_decref(j);
    j = done(env, "put");
    body = json_object_get(json_object_get(j, "value"), "body");
    ASSERT_STR_EQ(str_at(body, "method", NULL), "PUT");
    ASSERT_STR_EQ(str_at(body, "body", NULL), "[true]");
    json_decref(j);
    j = done(env, "bad");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 1);
    ASSERT_STR_EQ(str_at(j, "error_type", NULL), "HttpInvalid");
    ASSERT_CONTAINS(str_at(j, "error_message", NULL), "'method' must be");
    json_decref(j);
    ttai_testenv_close(env);
    http_srv_stop(srv);
}

void test_engine_http_secret_header(void)
{
    static const char token[] = "Bearer tok-S3CRET-4242";
    struct act_http_secret secrets[] = {{"broker", token}};
    struct act_http_config cfg = {secrets, 1};
    struct ttai_err err;
    ASSERT_OK(act_http_configure(&cfg, &err), &err);
    struct http_srv *srv = http_srv_start();
    http_srv_set_token(srv, token);
    struct ttai_testenv *env = env_open();
    char url[256], args[512];
    http_srv_url(srv, "/private", url, sizeof(url));
    snprintf(args, sizeof(args), "{\"url\":\"%s\",\"secret_headers\":{\"Authorization\":"
             "\"broker\"}}", url);
    start(env, "ok", "http_json", 1, args);
    snprintf(args, sizeof(args), "{\"url\":\"%s\",\"secret_headers\":{\"Authorization\":"
             "\"nope\"}}", url);
    start(env, "unknown", "http_json", 5, args);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    json_t *j = done(env, "ok");
    ASSERT_EQ(int_at(j, "value", "status", NULL), 200);
    ASSERT(json_is_true(json_object_get(json_object_get(json_object_get(j, "value"), "body"),
                                        "ok")));
    json_decref(j);
    j = done(env, "unknown");
    ASSERT_STR_EQ(str_at(j, "error_type", NULL), "HttpInvalid");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 1);
    ASSERT_CONTAINS(str_at(j, "error_message", NULL), "names no configured secret");
    json_decref(j);
    ttai_testenv_close(env);
    /* The server saw the token; the journal never did. */
    ASSERT(test_dir_contains(data_dir, "broker"));
    ASSERT(!test_dir_contains(data_dir, "S3CRET"));
    http_srv_stop(srv);
    ASSERT_OK(act_http_configure(NULL, &err), &err);
}

/* A cancelled attempt stops its transfer at the next heartbeat (about a
 * second) instead of waiting for the server. */
void test_engine_http_cancel_stops_transfer(void)
{
    struct http_srv *srv = http_srv_start();
    struct ttai_testenv *env = env_open();
    char url[256], args[512];
    http_srv_url(srv, "/delay?ms=8000", url, sizeof(url));
    snprintf(args, sizeof(args), "{\"url\":\"%s\"}", url);
    int64_t t0 = test_mono_ms();
    start(env, "slow", "http_json", 1, args);
    /* Settle gives up waiting on the running attempt after about 2 s. */
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    expect_running(env, "slow");
    struct ttai_err err;
    ASSERT_OK(ttai_engine_signal(ttai_testenv_engine(env), "default", "slow", NULL, "cancel",
                                 (struct ttai_payload){NULL, 0}, &err), &err);
    json_t *j = NULL;
    for (int i = 0; i < 100 && j == NULL; i++) {
        ASSERT_OK(ttai_testenv_advance(env, 100), (struct ttai_err *)NULL);
        j = result(env, "slow");
    }
    ASSERT(j != NULL);
    ASSERT_LT(test_mono_ms() - t0, 6000); /* well before the server's 8 s */
    ASSERT_STR_EQ(str_at(j, "rc", NULL), "ECANCELED");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 1);
    json_decref(j);
    ttai_testenv_close(env);
    http_srv_stop(srv);
}

/* ---- E-mail --------------------------------------------------------------------- */

static void smtp_configure_for(struct smtp_srv *srv, const char *password)
{
    char url[128];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", smtp_srv_port(srv));
    struct act_smtp_config cfg = {.url = url, .tls = ACT_SMTP_TLS_NONE, .username = "alerts",
                                  .password = password, .from_address = "alerts@ttai.example",
                                  .timeout_ms = 10000};
    struct ttai_err err;
    ASSERT_OK(act_smtp_configure(&cfg, &err), &err);
}

#define EMAIL_ARGS                                                                      \
    "{\"to\":[\"ops@example.org\",\"trader@example.net\"],\"subject\":\"Alerte : BTC " \
    "> 100 000 €\",\"text\":\"BTC is up.\\n\",\"html\":\"<p>BTC is <b>up</b>.</p>\"}"

void test_engine_email_delivered(void)
{
    static const char password[] = "smtp-pa55word-XYZ";
    struct smtp_srv_opts opts = {.password = password};
    struct smtp_srv *srv = smtp_srv_start(&opts);
    smtp_configure_for(srv, password);
    struct ttai_testenv *env = env_open();
    start(env, "mail", "send_email", 3, EMAIL_ARGS);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    json_t *j = done(env, "mail");
    ASSERT_STR_EQ(str_at(j, "rc", NULL), "OK");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 1);
    ASSERT_EQ(int_at(j, "value", "recipients", NULL), 2);
    const char *id = str_at(json_object_get(j, "value"), "message_id", NULL);
    ASSERT(id != NULL);
    ASSERT_EQ(smtp_srv_messages(srv), 1);
    struct smtp_srv_mail mail;
    ASSERT(smtp_srv_mail(srv, 0, &mail));
    ASSERT_STR_EQ(mail.from, "alerts@ttai.example");
    ASSERT_EQ(mail.rcpt_count, 2);
    ASSERT_STR_EQ(mail.rcpt[0], "ops@example.org");
    ASSERT_STR_EQ(mail.rcpt[1], "trader@example.net");
    char *subject = smtp_header_decode(mail.data, "Subject");
    ASSERT_STR_EQ(subject, "Alerte : BTC > 100 000 €");
    free(subject);
    char want[160];
    snprintf(want, sizeof(want), "\r\nMessage-ID: %s\r\n", id);
    ASSERT_CONTAINS(mail.data, want);
    struct smtp_parts p;
    smtp_parts_parse(mail.data, &p);
    ASSERT_STR_EQ(p.text, "BTC is up.\n");
    ASSERT_STR_EQ(p.html, "<p>BTC is <b>up</b>.</p>");
    smtp_parts_release(&p);
    free(mail.data);
    char mech[64], user[64], pass[64];
    smtp_srv_auth(srv, mech, user, pass, sizeof(mech));
    ASSERT_STR_EQ(user, "alerts");
    ASSERT_STR_EQ(pass, password);
    json_decref(j);
    ttai_testenv_close(env);
    /* The SMTP password never reached the journal; the subject did. */
    ASSERT(test_dir_contains(data_dir, "ops@example.org"));
    ASSERT(!test_dir_contains(data_dir, "pa55word"));
    smtp_srv_stop(srv);
    struct ttai_err err;
    ASSERT_OK(act_smtp_configure(NULL, &err), &err);
}

void test_engine_email_rejected_final(void)
{
    struct smtp_srv_opts opts = {.reject_rcpt = true};
    struct smtp_srv *srv = smtp_srv_start(&opts);
    smtp_configure_for(srv, "pw");
    struct ttai_testenv *env = env_open();
    start(env, "mail", "send_email", 5, EMAIL_ARGS);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    json_t *j = done(env, "mail");
    ASSERT_STR_EQ(str_at(j, "rc", NULL), "EIO");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 1);
    ASSERT_STR_EQ(str_at(j, "error_type", NULL), "SmtpRejected");
    ASSERT_CONTAINS(str_at(j, "error_message", NULL), "(550)");
    json_decref(j);
    ASSERT_EQ(smtp_srv_messages(srv), 0);
    ttai_testenv_close(env);
    smtp_srv_stop(srv);
    struct ttai_err err;
    ASSERT_OK(act_smtp_configure(NULL, &err), &err);
}

void test_engine_email_dropped_retried(void)
{
    struct smtp_srv_opts opts = {.drop_connections = 1};
    struct smtp_srv *srv = smtp_srv_start(&opts);
    smtp_configure_for(srv, "pw");
    struct ttai_testenv *env = env_open();
    start(env, "mail", "send_email", 5, EMAIL_ARGS);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    expect_running(env, "mail");
    ASSERT_EQ(smtp_srv_messages(srv), 0);
    ASSERT_OK(ttai_testenv_advance(env, 1500), (struct ttai_err *)NULL);
    json_t *j = done(env, "mail");
    ASSERT_STR_EQ(str_at(j, "rc", NULL), "OK");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 2);
    ASSERT_EQ(smtp_srv_messages(srv), 1);
    ASSERT_EQ(smtp_srv_connections(srv), 2);
    json_decref(j);
    ttai_testenv_close(env);
    smtp_srv_stop(srv);
    struct ttai_err err;
    ASSERT_OK(act_smtp_configure(NULL, &err), &err);
}

void test_engine_email_not_configured(void)
{
    struct ttai_testenv *env = env_open();
    start(env, "mail", "send_email", 5, EMAIL_ARGS);
    start(env, "bad", "send_email", 5, "{\"to\":[],\"subject\":\"s\",\"text\":\"t\"}");
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
    json_t *j = done(env, "mail");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 1);
    ASSERT_STR_EQ(str_at(j, "error_type", NULL), "SmtpConfig");
    json_decref(j);
    j = done(env, "bad");
    ASSERT_EQ(int_at(j, "attempts", NULL, NULL), 1);
    ASSERT_STR_EQ(str_at(j, "error_type", NULL), "SmtpInvalid");
    json_decref(j);
    ttai_testenv_close(env);
}
