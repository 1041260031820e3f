/* test_server_bind.c: with no token configured, the server refuses to
 * serve on an address that is not a loopback one, judged on the address
 * it bound (getsockname), not on the name it was given.
 *
 * ttaid also checks the name before it opens anything (tools/ttaid.c); the
 * server's own check is what holds when the name's answer changes between
 * that check and the bind, and for any other program that starts a server.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "server.h"
#include "ttai.h"

#include "../harness/harness.h"
#include "inproc.h"

int main(void)
{
    struct inproc proc;
    inproc_start(&proc, "server-bind", &inproc_echo_registry, false);
    struct event_base *base = event_base_new();
    ASSERT(base != NULL);
    struct ttai_err err = {0};
    struct ttai_server *srv = NULL;
    /* The wildcard address, no tokens: refused, nothing left listening. */
    struct ttai_server_opts open_all = {.host = "0.0.0.0", .port = 0, .workers = 1};
    ASSERT_EQ(ttai_server_start(&srv, base, proc.eng, &open_all, &err), TTAI_EINVAL);
    ASSERT(srv == NULL);
    ASSERT(strstr(err.msg, "non-loopback") != NULL);
    /* The same with a token: served. */
    const char *const everything[] = {"*"};
    const struct ttai_server_token token = {"t0ken", everything, 1};
    struct ttai_server_opts guarded = {.host = "0.0.0.0", .port = 0, .workers = 1,
                                       .tokens = &token, .token_count = 1};
    ASSERT_OK(ttai_server_start(&srv, base, proc.eng, &guarded, &err), &err);
    ASSERT(ttai_server_port(srv) > 0);
    ttai_server_free(srv);
    /* The address check itself. */
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    v4.sin_addr.s_addr = htonl(0x7f000101); /* 127.0.1.1 */
    ASSERT(ttai_sockaddr_loopback((const struct sockaddr *)&v4));
    v4.sin_addr.s_addr = htonl(0x0a000001); /* 10.0.0.1 */
    ASSERT(!ttai_sockaddr_loopback((const struct sockaddr *)&v4));
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    ASSERT(ttai_sockaddr_loopback((const struct sockaddr *)&v6));
    v6.sin6_addr = (struct in6_addr)IN6ADDR_ANY_INIT;
    ASSERT(!ttai_sockaddr_loopback((const struct sockaddr *)&v6));
    event_base_free(base);
    inproc_stop(&proc);
    printf("ok\n");
    return 0;
}
