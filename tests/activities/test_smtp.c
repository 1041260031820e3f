/* test_smtp.c: the SMTP helper without the engine: the message it builds
 * (headers, RFC 2047 subjects, the two MIME parts), delivery to the
 * loopback server with login and several recipients, and the failure
 * classes (5xx to RCPT, dropped connection, refused login, refused
 * connection, STARTTLS required but not offered), plus the settings'
 * checks. */
#include "act_test.h"
#include "smtp_server.h"
#include "smtp_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const two_rcpts[] = {"ops@example.org", "trader@example.net"};

static void configure(int port, const char *user, const char *pass, int tls)
{
    char url[128];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
    struct act_smtp_config cfg = {.url = url, .tls = tls, .username = user, .password = pass,
                                  .from_address = "alerts@ttai.example",
                                  .from_name = "TTAI Alerts", .timeout_ms = 10000};
    struct ttai_err err;
    ASSERT_OK(act_smtp_configure(&cfg, &err), &err);
}

static struct act_smtp_message message(void)
{
    return (struct act_smtp_message){.to = two_rcpts, .to_count = 2,
                                     .subject = "Price alert: BTC",
                                     .text = "BTC crossed 100000.\n.\nA line with a dot.\n",
                                     .html = "<p>BTC crossed <b>100000</b>.</p>"};
}

void test_smtp_message_format(void)
{
    configure(2525, NULL, NULL, ACT_SMTP_TLS_NONE);
    struct act_smtp_message msg = message();
    msg.message_id_seed = "wf-1/0f0e/3";
    char *data;
    size_t len;
    char id[128];
    struct ttai_err err;
    ASSERT_OK(act_smtp_message_build(&msg, 1763900000000LL, &data, &len, id, &err), &err);
    ASSERT_EQ(strlen(data), len);
    smtp_check_lines(data);
    ASSERT(strncmp(data, "Date: Sun, 23 Nov 2025 12:13:20 +0000\r\n", 39) == 0);
    ASSERT_CONTAINS(data, "\r\nFrom: \"TTAI Alerts\" <alerts@ttai.example>\r\n");
    ASSERT_CONTAINS(data, "\r\nTo: ops@example.org,\r\n trader@example.net\r\n");
    ASSERT_CONTAINS(data, "\r\nSubject: Price alert: BTC\r\n");
    ASSERT_CONTAINS(data, "\r\nMIME-Version: 1.0\r\n");
    ASSERT_CONTAINS(data, "\r\nContent-Type: multipart/alternative; boundary=\"ttai-alt-");
    char want[160];
    snprintf(want, sizeof(want), "\r\nMessage-ID: %s\r\n", id);
    ASSERT_CONTAINS(data, want);
    ASSERT(strncmp(id, "<", 1) == 0);
    ASSERT_CONTAINS(id, ".ttai@ttai.example>");
    struct smtp_parts p;
    smtp_parts_parse(data, &p);
    ASSERT_STR_EQ(p.text, msg.text);
    ASSERT_STR_EQ(p.html, msg.html);
    smtp_parts_release(&p);
    /* The same seed gives the same id (retries), another seed another. */
    char *again;
    char id2[128], id3[128], id4[128];
    ASSERT_OK(act_smtp_message_build(&msg, 1763900999000LL, &again, &len, id2, &err), &err);
    ttai_free(again);
    ASSERT_STR_EQ(id2, id);
    msg.message_id_seed = "wf-1/0f0e/4";
    ASSERT_OK(act_smtp_message_build(&msg, 1763900000000LL, &again, &len, id3, &err), &err);
    ttai_free(again);
    ASSERT(strcmp(id3, id) != 0);
    msg.message_id_seed = NULL;
    ASSERT_OK(act_smtp_message_build(&msg, 1763900000000LL, &again, &len, id4, &err), &err);
    ttai_free(again);
    ASSERT(strcmp(id4, id) != 0 && strcmp(id4, id3) != 0);
    ttai_free(data);
    /* Without HTML: one text/plain body, no multipart. */
    msg.html = NULL;
    ASSERT_OK(act_smtp_message_build(&msg, 1763900000000LL, &data, &len, NULL, &err), &err);
    smtp_check_lines(data);
    ASSERT_NOT_CONTAINS(data, "multipart");
    ASSERT_CONTAINS(data, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n");
    ttai_free(data);
    ASSERT_OK(act_smtp_configure(NULL, &err), &err);
}

void test_smtp_subject_encoding(void)
{
    char url[] = "smtp://127.0.0.1:2525";
    struct act_smtp_config cfg = {.url = url, .tls = ACT_SMTP_TLS_NONE,
                                  .from_address = "alerts@ttai.example",
                                  .from_name = "Trésor \"TTAI\""};
    struct ttai_err err;
    ASSERT_OK(act_smtp_configure(&cfg, &err), &err);
    static const char subject[] = "Alerte prix : le BTC a dépassé 100 000 € — vendre ? "
                                  "Ελληνικά και 日本語のテキストも含まれています";
    struct act_smtp_message msg = message();
    msg.subject = subject;
    char *data;
    size_t len;
    ASSERT_OK(act_smtp_message_build(&msg, 1763900000000LL, &data, &len, NULL, &err), &err);
    smtp_check_lines(data);
    char *decoded = smtp_header_decode(data, "Subject");
    ASSERT_STR_EQ(decoded, subject);
    free(decoded);
    decoded = smtp_header_decode(data, "From");
    ASSERT_STR_EQ(decoded, "Trésor \"TTAI\" <alerts@ttai.example>");
    free(decoded);
    ttai_free(data);
    /* A long ASCII subject is encoded too, rather than overflow a line. */
    char long_subject[300];
    memset(long_subject, 'x', sizeof(long_subject) - 1);
    long_subject[sizeof(long_subject) - 1] = '\0';
    msg.subject = long_subject;
    ASSERT_OK(act_smtp_message_build(&msg, 1763900000000LL, &data, &len, NULL, &err), &err);
    smtp_check_lines(data);
    decoded = smtp_header_decode(data, "Subject");
    ASSERT_STR_EQ(decoded, long_subject);
    free(decoded);
    ttai_free(data);
    ASSERT_OK(act_smtp_configure(NULL, &err), &err);
}

void test_smtp_send_multipart(void)
{
    struct smtp_srv_opts opts = {.password = "pa55"};
    struct smtp_srv *srv = smtp_srv_start(&opts);
    configure(smtp_srv_port(srv), "alerts", "pa55", ACT_SMTP_TLS_NONE);
    struct act_smtp_message msg = message();
    struct act_smtp_result res;
    ASSERT_EQ(act_smtp_send(&msg, &res), 0);
    ASSERT_EQ(res.outcome, ACT_SMTP_OK);
    ASSERT_EQ(res.reply_code, 250);
    ASSERT_EQ(smtp_srv_messages(srv), 1);
    struct smtp_srv_mail mail;
    ASSERT(smtp_srv_mail(srv, 0, &mail));
    ASSERT_STR_EQ(mail.from, "alerts@ttai.example");
    ASSERT_EQ(mail.rcpt_count, 2);
    ASSERT_STR_EQ(mail.rcpt[0], "ops@example.org");
    ASSERT_STR_EQ(mail.rcpt[1], "trader@example.net");
    ASSERT_CONTAINS(mail.data, "\r\nSubject: Price alert: BTC\r\n");
    ASSERT_CONTAINS(mail.data, "\r\nTo: ops@example.org,\r\n trader@example.net\r\n");
    char want[160];
    snprintf(want, sizeof(want), "\r\nMessage-ID: %s\r\n", res.message_id);
    ASSERT_CONTAINS(mail.data, want);
    struct smtp_parts p;
    smtp_parts_parse(mail.data, &p);
    ASSERT_STR_EQ(p.text, msg.text);
    ASSERT_STR_EQ(p.html, msg.html);
    smtp_parts_release(&p);
    free(mail.data);
    char mech[64], user[64], pass[64];
    smtp_srv_auth(srv, mech, user, pass, sizeof(mech));
    ASSERT_STR_EQ(user, "alerts");
    ASSERT_STR_EQ(pass, "pa55");
    /* A second message goes over the same connection. */
    ASSERT_EQ(act_smtp_send(&msg, &res), 0);
    ASSERT_EQ(smtp_srv_messages(srv), 2);
    ASSERT_EQ(smtp_srv_connections(srv), 1);
    act_thread_release();
    smtp_srv_stop(srv);
}

void test_smtp_rcpt_rejected_final(void)
{
    struct smtp_srv_opts opts = {.reject_rcpt = true};
    struct smtp_srv *srv = smtp_srv_start(&opts);
    configure(smtp_srv_port(srv), NULL, NULL, ACT_SMTP_TLS_NONE);
    struct act_smtp_message msg = message();
    struct act_smtp_result res;
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EIO);
    ASSERT_EQ(res.outcome, ACT_SMTP_REJECTED);
    ASSERT_STR_EQ(res.error_type, "SmtpRejected");
    ASSERT(!res.retryable);
    ASSERT_EQ(res.reply_code, 550);
    ASSERT_CONTAINS(res.message, "rejected the message (550)");
    ASSERT_CONTAINS(res.message, "smtp://127.0.0.1:");
    ASSERT_EQ(smtp_srv_messages(srv), 0);
    act_thread_release();
    smtp_srv_stop(srv);
}

void test_smtp_dropped_retryable(void)
{
    struct smtp_srv_opts opts = {.drop_connections = 1};
    struct smtp_srv *srv = smtp_srv_start(&opts);
    configure(smtp_srv_port(srv), NULL, NULL, ACT_SMTP_TLS_NONE);
    struct act_smtp_message msg = message();
    struct act_smtp_result res;
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EUNAVAIL);
    ASSERT_EQ(res.outcome, ACT_SMTP_CONNECT);
    ASSERT_STR_EQ(res.error_type, "SmtpConnect");
    ASSERT(res.retryable);
    ASSERT_EQ(smtp_srv_messages(srv), 0);
    /* The retry reaches the server on a new connection. */
    ASSERT_EQ(act_smtp_send(&msg, &res), 0);
    ASSERT_EQ(smtp_srv_messages(srv), 1);
    ASSERT_EQ(smtp_srv_connections(srv), 2);
    act_thread_release();
    smtp_srv_stop(srv);
}

void test_smtp_auth_refused(void)
{
    struct smtp_srv_opts opts = {.password = "right"};
    struct smtp_srv *srv = smtp_srv_start(&opts);
    configure(smtp_srv_port(srv), "alerts", "wrong", ACT_SMTP_TLS_NONE);
    struct act_smtp_message msg = message();
    struct act_smtp_result res;
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EPERM);
    ASSERT_EQ(res.outcome, ACT_SMTP_AUTH);
    ASSERT_STR_EQ(res.error_type, "SmtpAuth");
    ASSERT(!res.retryable);
    ASSERT_NOT_CONTAINS(res.message, "wrong"); /* the password never shows */
    ASSERT_EQ(smtp_srv_messages(srv), 0);
    act_thread_release();
    smtp_srv_stop(srv);
}

/* TLS required, and a server that offers no STARTTLS: nothing is sent,
 * the credentials least of all. */
void test_smtp_starttls_required(void)
{
    struct smtp_srv *srv = smtp_srv_start(NULL);
    configure(smtp_srv_port(srv), "alerts", "pa55", ACT_SMTP_TLS_REQUIRED);
    struct act_smtp_message msg = message();
    struct act_smtp_result res;
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EIO);
    ASSERT_EQ(res.outcome, ACT_SMTP_TLS);
    ASSERT_STR_EQ(res.error_type, "SmtpTls");
    ASSERT(!res.retryable);
    ASSERT_EQ(smtp_srv_messages(srv), 0);
    char mech[64], user[64], pass[64];
    smtp_srv_auth(srv, mech, user, pass, sizeof(mech));
    ASSERT_STR_EQ(user, "");
    ASSERT_STR_EQ(pass, "");
    act_thread_release();
    smtp_srv_stop(srv);
}

void test_smtp_connection_refused(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t sl = sizeof(sin);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    close(fd);
    configure(ntohs(sin.sin_port), NULL, NULL, ACT_SMTP_TLS_NONE);
    struct act_smtp_message msg = message();
    struct act_smtp_result res;
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EUNAVAIL);
    ASSERT_EQ(res.outcome, ACT_SMTP_CONNECT);
    ASSERT(res.retryable);
}

void test_smtp_invalid_message(void)
{
    struct smtp_srv *srv = smtp_srv_start(NULL);
    configure(smtp_srv_port(srv), NULL, NULL, ACT_SMTP_TLS_NONE);
    static const char *const bad_to[][1] = {{"a b@example.org"}, {"<a@example.org>"},
                                            {"no-at-sign"}, {"a@b@c"}, {"a@example.org\r\n"},
                                            {"@example.org"}, {"a@"}};
    struct act_smtp_result res;
    for (size_t i = 0; i < sizeof(bad_to) / sizeof(bad_to[0]); i++) {
        struct act_smtp_message msg = message();
        msg.to = bad_to[i];
        msg.to_count = 1;
        ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EINVAL);
        ASSERT_STR_EQ(res.error_type, "SmtpInvalid");
        ASSERT(!res.retryable);
    }
    struct act_smtp_message msg = message();
    msg.subject = "two\r\nBcc: evil@example.org";
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EINVAL);
    msg = message();
    msg.to_count = 0;
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EINVAL);
    msg = message();
    msg.text = NULL;
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EINVAL);
    const char *many[ACT_SMTP_RECIPIENTS_MAX + 1];
    for (size_t i = 0; i <= ACT_SMTP_RECIPIENTS_MAX; i++)
        many[i] = "a@example.org";
    msg = message();
    msg.to = many;
    msg.to_count = ACT_SMTP_RECIPIENTS_MAX + 1;
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EINVAL);
    ASSERT_EQ(smtp_srv_connections(srv), 0); /* nothing reached the server */
    smtp_srv_stop(srv);
}

void test_smtp_configure_checks(void)
{
    struct ttai_err err;
    struct act_smtp_message msg = message();
    struct act_smtp_result res;
    ASSERT_OK(act_smtp_configure(NULL, &err), &err);
    ASSERT_EQ(act_smtp_send(&msg, &res), TTAI_EINVAL);
    ASSERT_STR_EQ(res.error_type, "SmtpConfig");
    ASSERT(!res.retryable);
    configure(2525, NULL, NULL, ACT_SMTP_TLS_NONE);
    struct act_smtp_config bad[] = {
        {.url = NULL, .from_address = "a@b.c"},
        {.url = "http://mail.example.com", .from_address = "a@b.c"},
        {.url = "smtps://mail.example.com", .tls = ACT_SMTP_TLS_NONE, .from_address = "a@b.c"},
        {.url = "smtp://mail.example.com:25", .tls = ACT_SMTP_TLS_NONE, .username = "u",
         .password = "p", .from_address = "a@b.c"},
        {.url = "smtp://mail.example.com", .from_address = "not an address"},
        {.url = "smtp://mail.example.com", .from_address = "a@b.c", .from_name = "x\r\nBcc: y"},
        {.url = "smtp://mail.example.com", .from_address = "a@b.c", .timeout_ms = -1},
        {.url = "smtp://mail.example.com", .from_address = "a@b.c", .tls = 7},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ASSERT_EQ(act_smtp_configure(&bad[i], &err), TTAI_EINVAL);
    char long_password[ACT_SMTP_CREDENTIAL_MAX + 1];
    memset(long_password, 'p', sizeof(long_password) - 1);
    long_password[sizeof(long_password) - 1] = '\0';
    struct act_smtp_config too_long = {.url = "smtp://mail.example.com", .username = "u",
                                       .password = long_password, .from_address = "a@b.c"};
    ASSERT_EQ(act_smtp_configure(&too_long, &err), TTAI_ETOOBIG);
    /* Refused settings leave the earlier ones in place. */
    char *data;
    size_t len;
    ASSERT_OK(act_smtp_message_build(&msg, 0, &data, &len, NULL, &err), &err);
    ASSERT_CONTAINS(data, "From: \"TTAI Alerts\" <alerts@ttai.example>");
    ttai_free(data);
    /* Credentials are fine with TLS, and in plain text to loopback. */
    struct act_smtp_config good[] = {
        {.url = "smtp://mail.example.com:587", .username = "u", .password = "p",
         .from_address = "a@b.c"},
        {.url = "smtps://mail.example.com", .username = "u", .password = "p",
         .from_address = "a@b.c"},
        {.url = "smtp://localhost:25", .tls = ACT_SMTP_TLS_NONE, .username = "u",
         .password = "p", .from_address = "a@b.c"},
        {.url = "smtp://[::1]:25", .tls = ACT_SMTP_TLS_NONE, .username = "u", .password = "p",
         .from_address = "a@b.c"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ASSERT_OK(act_smtp_configure(&good[i], &err), &err);
    ASSERT_OK(act_smtp_configure(NULL, &err), &err);
}
