/* smtp_server.h: a tiny loopback SMTP server for the tests: plain SMTP on
 * 127.0.0.1 and an ephemeral port, a thread per connection (libcurl keeps
 * its connection open between messages).
 *
 * It speaks EHLO/HELO, AUTH PLAIN and AUTH LOGIN (with or without an
 * initial response), MAIL FROM, RCPT TO, DATA (undoing dot-stuffing),
 * RSET, NOOP and QUIT, and records every accepted message. */
#ifndef TTAI_TEST_SMTP_SERVER_H
#define TTAI_TEST_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_SRV_RCPTS_MAX 16

struct smtp_srv_opts {
    bool reject_rcpt;          /* answer 550 to every RCPT TO */
    int drop_connections;      /* close the first N connections at their first RCPT TO */
    const char *password;      /* AUTH accepts only this password; NULL: any */
};

/* A received message, as the server saw it. */
struct smtp_srv_mail {
    char from[256];                              /* MAIL FROM:<...> contents */
    char rcpt[SMTP_SRV_RCPTS_MAX][256];
    int rcpt_count;
    char *data;                                  /* the DATA, dot-stuffing undone; free() */
    size_t len;
};

struct smtp_srv;

struct smtp_srv *smtp_srv_start(const struct smtp_srv_opts *opts);
void smtp_srv_stop(struct smtp_srv *srv);
int smtp_srv_port(const struct smtp_srv *srv);
/* Messages accepted and connections accepted so far. */
int smtp_srv_messages(struct smtp_srv *srv);
int smtp_srv_connections(struct smtp_srv *srv);
/* A copy of the n-th accepted message (0-based); false if none. The
 * caller frees mail->data. */
bool smtp_srv_mail(struct smtp_srv *srv, int n, struct smtp_srv_mail *mail);
/* The last AUTH: mechanism ("PLAIN"/"LOGIN"), user and password. */
void smtp_srv_auth(struct smtp_srv *srv, char *mech, char *user, char *pass, size_t size);

#endif
