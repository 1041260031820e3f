/* smtp_server.c: the loopback SMTP test server (see smtp_server.h).
 *
 * One accept thread; one thread per connection. Every blocking wait is a
 * poll() of at most 50 ms that also checks the stop flag, so stopping
 * never waits on a client that keeps its connection open. */
#include "smtp_server.h"

#include "act_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAILS_MAX 16
#define CONNS_MAX 32
#define LINE_BYTES_MAX 2048
#define DATA_BYTES_MAX (8u << 20)

struct conn {
    struct smtp_srv *srv;
    int fd;
    bool drop;                       /* close at the first RCPT TO */
    char buf[LINE_BYTES_MAX];
    size_t len;
    pthread_t thread;
};

struct smtp_srv {
    int listen_fd;
    int port;
    pthread_t accept_thread;
    atomic_bool stop;
    struct smtp_srv_opts opts;
    pthread_mutex_t mu;              /* guards everything below */
    struct smtp_srv_mail mails[MAILS_MAX];
    int mail_count;
    int connections;
    char mech[16], user[256], pass[256];
    struct conn *conns[CONNS_MAX];
    int conn_count;
};

static void say(struct conn *c, const char *s)
{
    (void)send(c->fd, s, strlen(s), MSG_NOSIGNAL); /* a gone client shows at the next read */
}

/* Reads one CRLF-terminated line (without the CRLF) into out; false at
 * EOF, on error, on an over-long line, or when the server stops. */
static bool read_line(struct conn *c, char *out, size_t size)
{
    for (;;) {
        char *eol = memmem(c->buf, c->len, "\r\n", 2);
        if (eol != NULL) {
            size_t n = (size_t)(eol - c->buf);
            if (n >= size)
                return false;
            memcpy(out, c->buf, n);
            out[n] = '\0';
            memmove(c->buf, eol + 2, c->len - n - 2);
            c->len -= n + 2;
            return true;
        }
        if (c->len == sizeof(c->buf))
            return false;
        struct pollfd p = {c->fd, POLLIN, 0};
        int r = poll(&p, 1, 50);
        if (atomic_load(&c->srv->stop))
            return false;
        if (r <= 0)
            continue;
        ssize_t got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (got <= 0)
            return false;
        c->len += (size_t)got;
    }
}

static bool prefix(const char *line, const char *word)
{
    return strncasecmp(line, word, strlen(word)) == 0;
}

/* Copies what is between < and > in line into out. */
static void angle_copy(const char *line, char *out, size_t size)
{
    const char *a = strchr(line, '<');
    const char *b = a ? strchr(a, '>') : NULL;
    size_t n = a && b ? (size_t)(b - a - 1) : 0;
    ASSERT(n < size);
    memcpy(out, a ? a + 1 : "", n);
    out[n] = '\0';
}

static bool auth_read(struct conn *c, const char *prompt, const char *initial, char *out,
                      size_t size)
{
    char line[LINE_BYTES_MAX];
    if (initial == NULL) {
        say(c, prompt);
        if (!read_line(c, line, sizeof(line)))
            return false;
        initial = line;
    }
    size_t len;
    char *dec = test_base64_decode(initial, strlen(initial), &len);
    ASSERT(len < size);
    memcpy(out, dec, len + 1);
    free(dec);
    return true;
}

static bool auth(struct conn *c, const char *line)
{
    struct smtp_srv *srv = c->srv;
    const char *mech = line + 5;
    char user[256] = "", pass[256] = "", plain[600];
    bool is_plain = prefix(mech, "PLAIN"), is_login = prefix(mech, "LOGIN");
    const char *ir = mech[5] == ' ' ? mech + 6 : NULL;
    if (is_plain) {
        /* authzid NUL authcid NUL password */
        if (!auth_read(c, "334 \r\n", ir, plain, sizeof(plain)))
            return false;
        size_t z = strlen(plain);
        snprintf(user, sizeof(user), "%s", plain + z + 1);
        snprintf(pass, sizeof(pass), "%s", plain + z + 1 + strlen(plain + z + 1) + 1);
    } else if (is_login) {
        if (!auth_read(c, "334 VXNlcm5hbWU6\r\n", ir, user, sizeof(user)) ||
            !auth_read(c, "334 UGFzc3dvcmQ6\r\n", NULL, pass, sizeof(pass)))
            return false;
    } else {
        say(c, "504 5.5.4 mechanism not supported\r\n");
        return true;
    }
    pthread_mutex_lock(&srv->mu);
    snprintf(srv->mech, sizeof(srv->mech), "%s", is_plain ? "PLAIN" : "LOGIN");
    snprintf(srv->user, sizeof(srv->user), "%s", user);
    snprintf(srv->pass, sizeof(srv->pass), "%s", pass);
    pthread_mutex_unlock(&srv->mu);
    if (srv->opts.password != NULL && strcmp(pass, srv->opts.password) != 0)
        say(c, "535 5.7.8 authentication credentials invalid\r\n");
    else
        say(c, "235 2.7.0 authentication successful\r\n");
    return true;
}

/* Reads the DATA lines up to the lone "." into mail. */
static bool read_data(struct conn *c, struct smtp_srv_mail *mail)
{
    size_t cap = 1 << 16;
    mail->data = malloc(cap);
    ASSERT(mail->data != NULL);
    mail->len = 0;
    char line[LINE_BYTES_MAX];
    for (;;) {
        if (!read_line(c, line, sizeof(line)))
            return false;
        if (strcmp(line, ".") == 0)
            break;
        const char *l = line[0] == '.' ? line + 1 : line; /* undo dot-stuffing */
        size_t n = strlen(l);
        ASSERT(mail->len + n + 3 <= DATA_BYTES_MAX);
        while (mail->len + n + 3 > cap)
            cap *= 2;
        mail->data = realloc(mail->data, cap);
        ASSERT(mail->data != NULL);
        memcpy(mail->data + mail->len, l, n);
        memcpy(mail->data + mail->len + n, "\r\n", 3);
        mail->len += n + 2;
    }
    return true;
}

static void mail_store(struct smtp_srv *srv, struct smtp_srv_mail *mail)
{
    pthread_mutex_lock(&srv->mu);
    ASSERT(srv->mail_count < MAILS_MAX);
    srv->mails[srv->mail_count++] = *mail;
    pthread_mutex_unlock(&srv->mu);
    memset(mail, 0, sizeof(*mail));
}

/* One command of the dialogue; false ends the connection. */
static bool command(struct conn *c, const char *line, struct smtp_srv_mail *mail)
{
    if (prefix(line, "EHLO")) {
        say(c, "250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
    } else if (prefix(line, "HELO")) {
        say(c, "250 localhost\r\n");
    } else if (prefix(line, "AUTH ")) {
        return auth(c, line);
    } else if (prefix(line, "MAIL FROM:")) {
        free(mail->data);
        memset(mail, 0, sizeof(*mail));
        angle_copy(line, mail->from, sizeof(mail->from));
        say(c, "250 2.1.0 sender ok\r\n");
    } else if (prefix(line, "RCPT TO:")) {
        if (c->drop)
            return false;
        if (c->srv->opts.reject_rcpt) {
            say(c, "550 5.1.1 mailbox unavailable\r\n");
            return true;
        }
        ASSERT(mail->rcpt_count < SMTP_SRV_RCPTS_MAX);
        angle_copy(line, mail->rcpt[mail->rcpt_count++], sizeof(mail->rcpt[0]));
        say(c, "250 2.1.5 recipient ok\r\n");
    } else if (prefix(line, "DATA")) {
        if (mail->rcpt_count == 0) {
            say(c, "503 5.5.1 no recipients\r\n");
            return true;
        }
        say(c, "354 end data with <CR><LF>.<CR><LF>\r\n");
        if (!read_data(c, mail))
            return false;
        mail_store(c->srv, mail);
        say(c, "250 2.0.0 queued\r\n");
    } else if (prefix(line, "RSET") || prefix(line, "NOOP")) {
        say(c, "250 2.0.0 ok\r\n");
    } else if (prefix(line, "QUIT")) {
        say(c, "221 2.0.0 bye\r\n");
        return false;
    } else {
        say(c, "502 5.5.2 command not recognised\r\n");
    }
    return true;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct smtp_srv_mail mail;
    memset(&mail, 0, sizeof(mail));
    say(c, "220 localhost ESMTP ttai-test\r\n");
    char line[LINE_BYTES_MAX];
    while (read_line(c, line, sizeof(line)) && command(c, line, &mail))
        ;
    free(mail.data);
    close(c->fd);
    c->fd = -1;
    return NULL;
}

static void *accept_main(void *arg)
{
    struct smtp_srv *srv = arg;
    while (!atomic_load(&srv->stop)) {
        struct pollfd p = {srv->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct conn *c = calloc(1, sizeof(*c));
        ASSERT(c != NULL);
        c->srv = srv;
        c->fd = fd;
        pthread_mutex_lock(&srv->mu);
        c->drop = srv->connections < srv->opts.drop_connections;
        srv->connections++;
        ASSERT(srv->conn_count < CONNS_MAX);
        srv->conns[srv->conn_count++] = c;
        pthread_mutex_unlock(&srv->mu);
        ASSERT_EQ(pthread_create(&c->thread, NULL, conn_main, c), 0);
    }
    return NULL;
}

struct smtp_srv *smtp_srv_start(const struct smtp_srv_opts *opts)
{
    struct smtp_srv *srv = calloc(1, sizeof(*srv));
    ASSERT(srv != NULL);
    if (opts != NULL)
        srv->opts = *opts;
    pthread_mutex_init(&srv->mu, NULL);
    srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(srv->listen_fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(srv->listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ASSERT_EQ(listen(srv->listen_fd, 16), 0);
    socklen_t sl = sizeof(sin);
    ASSERT_EQ(getsockname(srv->listen_fd, (struct sockaddr *)&sin, &sl), 0);
    srv->port = ntohs(sin.sin_port);
    ASSERT_EQ(pthread_create(&srv->accept_thread, NULL, accept_main, srv), 0);
    return srv;
}

void smtp_srv_stop(struct smtp_srv *srv)
{
    atomic_store(&srv->stop, true);
    ASSERT_EQ(pthread_join(srv->accept_thread, NULL), 0);
    for (int i = 0; i < srv->conn_count; i++) {
        ASSERT_EQ(pthread_join(srv->conns[i]->thread, NULL), 0);
        free(srv->conns[i]);
    }
    for (int i = 0; i < srv->mail_count; i++)
        free(srv->mails[i].data);
    close(srv->listen_fd);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

int smtp_srv_port(const struct smtp_srv *srv)
{
    return srv->port;
}

int smtp_srv_messages(struct smtp_srv *srv)
{
    pthread_mutex_lock(&srv->mu);
    int n = srv->mail_count;
    pthread_mutex_unlock(&srv->mu);
    return n;
}

int smtp_srv_connections(struct smtp_srv *srv)
{
    pthread_mutex_lock(&srv->mu);
    int n = srv->connections;
    pthread_mutex_unlock(&srv->mu);
    return n;
}

bool smtp_srv_mail(struct smtp_srv *srv, int n, struct smtp_srv_mail *mail)
{
    pthread_mutex_lock(&srv->mu);
    bool ok = n >= 0 && n < srv->mail_count;
    if (ok) {
        *mail = srv->mails[n];
        mail->data = malloc(mail->len + 1);
        ASSERT(mail->data != NULL);
        memcpy(mail->data, srv->mails[n].data, mail->len + 1);
    }
    pthread_mutex_unlock(&srv->mu);
    return ok;
}

void smtp_srv_auth(struct smtp_srv *srv, char *mech, char *user, char *pass, size_t size)
{
    pthread_mutex_lock(&srv->mu);
    snprintf(mech, size, "%s", srv->mech);
    snprintf(user, size, "%s", srv->user);
    snprintf(pass, size, "%s", srv->pass);
    pthread_mutex_unlock(&srv->mu);
}
