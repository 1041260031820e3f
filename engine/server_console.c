/* server_console.c: the web console's static files (tools/console,
 * docs/console.md), served on the loop thread from the bytes the daemon
 * compiled in (struct ttai_server_asset).
 *
 *  1. GET / answers index.html, GET /console/{name} the file of that name;
 *     an unknown name is 404, and so is everything when no asset is given
 *     (a server embedded without the console).
 *  2. Every answer carries a strong ETag (FNV-1a 64 of the bytes, computed
 *     once at start) and "Cache-Control: no-cache": the URLs carry no
 *     version, so a browser must revalidate, and If-None-Match makes that a
 *     304 without a body.
 *  3. The files hold no data, so they need no token: the page has to load
 *     before the user can type one. Every call the page makes goes through
 *     the API and its tokens.
 */
#include "server_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#define CONSOLE_INDEX "index.html"

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int srv__console_init(struct ttai_server *srv, struct ttai_err *err)
{
    if (srv->opts.asset_count == 0)
        return 0;
    srv->asset_etags = ttai_calloc(srv->opts.asset_count, sizeof(*srv->asset_etags));
    if (srv->asset_etags == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    for (size_t i = 0; i < srv->opts.asset_count; i++) {
        const struct ttai_server_asset *a = &srv->opts.assets[i];
        snprintf(srv->asset_etags[i], sizeof(srv->asset_etags[i]), "\"%016" PRIx64 "\"",
                 fnv1a64(a->data, a->len));
    }
    return 0;
}

void srv__console_release(struct ttai_server *srv)
{
    ttai_free(srv->asset_etags);
    srv->asset_etags = NULL;
}

/* True when the If-None-Match header lists etag (or is "*"). */
static bool etag_matches(struct evhttp_request *req, const char *etag)
{
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
    if (inm == NULL)
        return false;
    return strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL;
}

int srv__console_serve(struct ttai_server *srv, struct evhttp_request *req, const char *name)
{
    if (name == NULL)
        name = CONSOLE_INDEX;
    size_t i = 0;
    while (i < srv->opts.asset_count && strcmp(srv->opts.assets[i].name, name) != 0)
        i++;
    if (i == srv->opts.asset_count) {
        srv__reply_error(req, 404, "not_found", "no console file '%s'", name);
        return 404;
    }
    const struct ttai_server_asset *a = &srv->opts.assets[i];
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "ETag", srv->asset_etags[i]);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (etag_matches(req, srv->asset_etags[i])) {
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return 304;
    }
    evhttp_add_header(h, "Content-Type", a->content_type);
    struct evbuffer *buf = evbuffer_new();
    if (buf == NULL) {
        srv__reply_error(req, 500, "internal", "out of memory");
        return 500;
    }
    /* The bytes live as long as the server: no copy. */
    evbuffer_add_reference(buf, a->data, a->len, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
    return 200;
}
