/* bench_parked.h: result long-polls left parked while `ttai-bench e2e`
 * measures (--parked N).
 *
 * A daemon that serves many clients waiting for results (executes of long
 * workflows, dashboards) holds many long-polls while other workflows start
 * and close. This puts N of them in place: N `counter` workflows are
 * started, one connection per workflow sends a result long-poll and is
 * left waiting, and the daemon's ttai_http_long_polls_parked gauge is
 * watched until all N are parked. Closing checks that none was answered
 * early, stops the counters, checks that each long-poll was then answered
 * with its workflow's result, and closes the connections.
 */
#ifndef TTAI_BENCH_PARKED_H
#define TTAI_BENCH_PARKED_H

#include <stdbool.h>
#include <stddef.h>

#include "bench_http.h"

struct bench_parked;

/* Parks n long-polls in namespace ns of the daemon at host:port (token may
 * be NULL), under workflow ids "<tag>-park-<i>", starting the workflows
 * through cl. Returns NULL with a message in err when it could not (the
 * workflows it started are stopped, through a client of its own). */
struct bench_parked *bench_parked_open(struct http_client *cl, const char *host, int port,
                                       const char *token, const char *ns, const char *tag, long n,
                                       char *err, size_t err_size);

/* Stops the workflows (through a client of its own: the benchmark's may
 * have failed) and closes the connections; false with a message in err
 * when a long-poll was answered before its workflow closed, was not
 * answered with its result once it did, or a workflow could not be
 * stopped. Frees p (NULL: nothing). */
bool bench_parked_close(struct bench_parked *p, char *err, size_t err_size);

/* How many open files n parked long-polls need in this process, on top of
 * what it needs anyway: one connection each. */
#define BENCH_PARKED_FILES(n) ((n) + 256)

#endif
