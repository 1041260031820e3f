/* listen_addr.h: the HOST:PORT of the tools' --listen flags (ttaid,
 * ttai-marketsim). */
#ifndef TTAI_LISTEN_ADDR_H
#define TTAI_LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Splits HOST:PORT ([v6]:PORT too) into host (size bytes) and *port
 * (0 to 65535); false when malformed. */
bool listen_addr_split(const char *listen, char *host, size_t size, int *port);

#endif
