/* test_server_close.c: a start the engine still holds at shutdown is
 * handed back and freed.
 *
 * ttaid's HTTP loop queues a start for the engine thread's next round
 * (ttai_engine_start_async). When the drain deadline passes with the
 * engine stuck, starts are still queued as ttaid stops: the engine's
 * close used to drop them without their callback, and the server's jobs
 * behind them were never freed. Here no thread polls the engine, so the
 * start stays queued; the shutdown, in ttaid's order (inproc_stop), must
 * end it with TTAI_ECLOSED and free its job. The check is
 * AddressSanitizer's leak report at exit (the test suite's build).
 */
#include <stdio.h>
#include <unistd.h>

#include "ttai.h"

#include "../harness/harness.h"
#include "inproc.h"

int main(void)
{
    struct inproc proc;
    inproc_start(&proc, "server-close", &inproc_echo_registry, false);
    int fd = inproc_http_send(proc.port, "POST", "/api/v1/namespaces/default/workflows",
                              "{\"type\": \"echo\", \"id\": \"e1\", \"input\": 1}");
    struct ttai_engine_stats st = {0};
    for (int i = 0; i < 1000 && st.starts_queued == 0; i++) { /* up to 10 s for the loop */
        usleep(10000);
        ttai_engine_stats_get(proc.eng, &st);
    }
    ASSERT_EQ(st.starts_queued, 1);
    inproc_stop(&proc);
    /* The connection went with the server, unanswered. */
    char reply[1024];
    ASSERT_EQ(inproc_http_status(fd, reply, sizeof(reply)), 0);
    printf("ok server close\n");
    return 0;
}
