/* fuzz_config.c: libFuzzer target for ttaid's settings parser
 * (tools/ttaid_config.c): the config file text, and the listen address.
 *
 * Checks: no crash, no read outside the input (ASan), no leak once the
 * config is freed (LeakSanitizer), and that whatever was applied is
 * well-formed (tokens have namespaces, counts are in range).
 * Run it with -close_fd_mask=2: the parser reports bad lines on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen_addr.h"
#include "ttaid_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    struct ttaid_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    (void)ttaid_config_load_text(&cfg, (const char *)data, size, "fuzz");
    for (size_t i = 0; i < cfg.token_count; i++)
        if (cfg.tokens[i].token == NULL || cfg.tokens[i].ns_count == 0)
            abort();
    if (cfg.activity_threads < 0 || cfg.cache_size < 0 || cfg.workers < 0 || cfg.max_body < 0 ||
        (cfg.map_size != 0 && cfg.map_size < 1024 * 1024))
        abort();
    if (cfg.listen != NULL) {
        char host[256];
        int port = -1;
        if (listen_addr_split(cfg.listen, host, sizeof(host), &port) &&
            (port < 0 || port > 65535 || strlen(host) == 0))
            abort();
    }
    ttaid_config_free(&cfg);
    return 0;
}
