/* listen_addr.c: see listen_addr.h. */
#include "listen_addr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool listen_addr_split(const char *listen, char *host, size_t size, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen)
        return false;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char *end = NULL;
    errno = 0;
    long long p = strtoll(colon + 1, &end, 10);
    if (hl == 0 || hl >= size || end == colon + 1 || *end != '\0' || errno != 0 || p < 0 ||
        p > 65535)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return true;
}
