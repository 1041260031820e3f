/* market_server.h: a loopback market data provider for the market activity
 * tests (see market_server.c for its routes). */
#ifndef TTAI_MON_MARKET_SERVER_H
#define TTAI_MON_MARKET_SERVER_H

#include "mon_test.h"

struct msrv;

/* Starts the server (asserts on failure); stop joins its thread. */
struct msrv *msrv_start(void);
void msrv_stop(struct msrv *srv);
/* "http://127.0.0.1:PORT/" */
void msrv_url(const struct msrv *srv, char *out, size_t size);
void msrv_price(struct msrv *srv, const char *symbol, double price);
void msrv_news(struct msrv *srv, const char *json_array);
/* Every route answers status with body (status 0: normal answers). */
void msrv_force(struct msrv *srv, int status, const char *body);
/* Requests seen for a path, the last body sent to it, the last X-User-Id. */
int msrv_requests(struct msrv *srv, const char *path);
const char *msrv_last_body(struct msrv *srv, const char *path);
const char *msrv_last_user(struct msrv *srv);

#endif
