/* ttaid_config.h: ttaid's settings and their parsers (ttaid_config.c).
 *
 * Settings come from, in increasing precedence: defaults, the config file,
 * the environment (TTAI_*), the flags; docs/operations.md lists them. The
 * parsers are plain functions of their input (the environment aside) so that
 * a fuzz target (tests/fuzz/fuzz_config.c) can drive them. Every message
 * goes to stderr, "ttaid: " first.
 */
#ifndef TTAI_TTAID_CONFIG_H
#define TTAI_TTAID_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define TTAID_TOKENS_MAX 64
#define TTAID_NAMESPACES_MAX 64
#define TTAID_CONFIG_BYTES_MAX (1024 * 1024)   /* a config file over this is refused */

struct ttaid_token_cfg {
    char *token;                      /* owns the string ns[] point into */
    char *ns[TTAID_NAMESPACES_MAX];
    size_t ns_count;
};

/* Zero-initialise; release with ttaid_config_free(). Strings are malloc'd. */
struct ttaid_config {
    char *data;
    char *listen;
    long long activity_threads;
    long long cache_size;
    long long max_body;
    long long workers;
    long long map_size;               /* bytes; 0: the store's default limit */
    int log_level;
    bool log_json;
    struct ttaid_token_cfg tokens[TTAID_TOKENS_MAX];
    size_t token_count;
    char *market_url;                 /* the TTAI system (ttaid_system.h) */
    char *alert_channels;
    char *alert_always;
    bool ttai_system;
};

/* Applies one setting (key with '_' or '-'); false with a message naming
 * `where` when the key is unknown or the value bad. */
bool ttaid_config_apply(struct ttaid_config *cfg, const char *key, const char *value,
                        const char *where);
/* Parses "key = value" lines (blank lines and '#' comments skipped) from
 * text[0..len); name labels messages ("FILE:LINE"). Stops at the first bad
 * line and returns false. */
bool ttaid_config_load_text(struct ttaid_config *cfg, const char *text, size_t len,
                            const char *name);
/* Reads a file (at most TTAID_CONFIG_BYTES_MAX) and parses it. */
bool ttaid_config_load_file(struct ttaid_config *cfg, const char *path);
/* Applies the TTAI_* environment variables. */
bool ttaid_config_load_env(struct ttaid_config *cfg);
/* Frees every string the config owns and zeroes it. */
void ttaid_config_free(struct ttaid_config *cfg);

#endif /* TTAI_TTAID_CONFIG_H */
