/* fuzz_http.c: libFuzzer target for ttaid's HTTP front end: libevent's
 * request parser, ttai's routing (path splitting, percent-decoding, the
 * route table, 404/405), query parameters, the body limit, and the JSON
 * body handling of every handler (start, signal, signal-with-start, query,
 * cancel, terminate, schedules...), down to a real engine on a scratch
 * store.
 *
 * Each input is the raw bytes a client sends on one connection: the target
 * connects to the server on loopback, writes the input, and runs the
 * server's loop until it has answered
 * everything and gone quiet, or closed the connection, or a second passed
 * (long-polls and history streams stay open; closing our end ends them).
 *
 * What it checks: no crash, no memory error, no undefined behaviour (ASan,
 * UBSan), and every answer the server wrote starts with an HTTP/1.x status
 * line whose code is one ttai documents (docs/api.md) or a libevent one.
 * The store is opened with no_sync: it is scratch.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "server_int.h"
#include "workflows.h"

#define INPUT_BYTES_MAX (32 * 1024)  /* fits in a socket buffer: one write */
#define REPLY_BYTES_MAX (1 << 20)
#define INPUT_DEADLINE_MS 1000
#define QUIET_MS 5

static struct event_base *base;
static struct ttai_server *srv;
static char *reply;

static int64_t now_ms(void)
{
    return ttai_mono_ns() / 1000000;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char tmpl[] = "/tmp/ttai-fuzz-http-XXXXXX";
    if (mkdtemp(tmpl) == NULL || evthread_use_pthreads() != 0)
        abort();
    ttai_log_setup(TTAI_LOG_ERROR, false);
    struct ttai_err err = {0};
    struct ttai_engine *eng;
    struct ttai_engine_opts eo = {.data_dir = tmpl, .registry = &wf_builtin_registry,
                                  .activity_threads = 1, .no_sync = true};
    if (ttai_engine_open(&eng, &eo, &err) != 0) {
        fprintf(stderr, "fuzz_http: engine: %s\n", err.msg);
        abort();
    }
    base = event_base_new();
    struct ttai_server_opts so = {.host = "127.0.0.1", .port = 0, .max_body_bytes = 16 * 1024,
                                  .workers = 2};
    if (base == NULL || ttai_server_start(&srv, base, eng, &so, &err) != 0) {
        fprintf(stderr, "fuzz_http: server: %s\n", err.msg);
        abort();
    }
    reply = malloc(REPLY_BYTES_MAX + 1);
    if (reply == NULL)
        abort();
    /* A workflow of each kind for the inputs to find. */
    struct ttai_buf in;
    ttai_buf_init(&in);
    ttai_buf_map(&in, 1);
    ttai_buf_str(&in, "every");
    ttai_buf_int(&in, 3);
    if (ttai_engine_start(eng, "default", "counter", "c", ttai_buf_payload(&in), NULL, NULL,
                          &err) != 0)
        abort();
    ttai_buf_release(&in);
    return 0;
}

/* Every status line in the reply carries a known code. */
static void check_reply(const char *r, size_t len)
{
    static const int known[] = {200, 201, 202, 400, 401, 403, 404, 405, 409, 411, 413, 414,
                                422, 431, 500, 501, 503, 505, 507};
    const char *p = r;
    while ((p = strstr(p, "HTTP/1.")) != NULL) {
        if ((size_t)(p - r) + 12 > len)
            break;
        if (p != r && p[-1] != '\n') { /* inside a body: not a status line */
            p++;
            continue;
        }
        /* The code follows the version's space: libevent answers with the
         * request's minor version, which may have several digits
         * ("HTTP/1.112 404"). */
        const char *sp = memchr(p, ' ', len - (size_t)(p - r));
        int code = sp != NULL ? atoi(sp + 1) : 0;
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok = ok || known[i] == code;
        if (code == 500 || !ok) {
            fprintf(stderr, "fuzz_http: answered %d:\n%.*s\n", code, (int)len, r);
            abort();
        }
        p += 12;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_BYTES_MAX)
        return 0;
    /* A loopback connection: the kernel completes it before the server
     * accepts, which it does in the loop below. The linger of 0 resets it
     * on close, so that no port waits in TIME_WAIT. */
    int fds[2] = {-1, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (fds[1] < 0 || setsockopt(fds[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0 ||
        connect(fds[1], (struct sockaddr *)&addr, sizeof(addr)) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fds[1], data + off, size - off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    size_t got = 0;
    int64_t start = now_ms(), last = start;
    bool eof = false;
    while (!eof && now_ms() - start < INPUT_DEADLINE_MS) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        struct pollfd pfd = {.fd = fds[1], .events = POLLIN};
        if (poll(&pfd, 1, 1) == 1) {
            char buf[4096];
            ssize_t n = read(fds[1], buf, sizeof(buf));
            if (n <= 0) {
                eof = true;
            } else {
                size_t keep = got + (size_t)n > REPLY_BYTES_MAX ? REPLY_BYTES_MAX - got : (size_t)n;
                memcpy(reply + got, buf, keep);
                got += keep;
                last = now_ms();
            }
        } else if (srv->inflight == 0 && now_ms() - last > QUIET_MS) {
            break; /* nothing running for us and nothing more to read */
        }
    }
    reply[got] = '\0';
    close(fds[1]);
    /* Let the server see the close and free the connection. */
    for (int i = 0; i < 20; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    check_reply(reply, got);
    return 0;
}
