/* routes_dump: prints the daemon's route table (engine/server.c), the one
 * list its routing matches against, one route a line:
 *
 *     METHOD PATTERN NAME        e.g. "GET /api/v1/namespaces/{ns}/workflows list"
 *
 * openapi_check.py compares it with docs/openapi.yaml in both directions.
 */
#include <stdio.h>

#include "server_int.h"

int main(void)
{
    const struct srv_route_def *routes;
    size_t n = srv__routes(&routes);
    for (size_t i = 0; i < n; i++)
        printf("%s %s %s\n", routes[i].method, routes[i].pattern, routes[i].name);
    return n > 0 ? 0 : 1;
}
