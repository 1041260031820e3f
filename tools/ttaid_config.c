/* ttaid_config.c: ttaid's settings from the config file, the environment
 * and the flags (see ttaid_config.h and docs/operations.md).
 *
 * Invariants:
 *  1. A failed parse leaves the config valid: every string it holds is owned
 *     and freed by ttaid_config_free(), whatever was applied before the bad
 *     line.
 *  2. Nothing here reads past the given text: lines are cut out of a copy
 *     that ends with a NUL, and a NUL inside the text ends its line.
 */
#include "ttaid_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static bool parse_count(const char *v, long long min, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || n < min)
        return false;
    *out = n;
    return true;
}

/* "TOKEN:ns1,ns2" or "TOKEN ns1,ns2". */
static bool add_token(struct ttaid_config *cfg, const char *spec)
{
    if (cfg->token_count == TTAID_TOKENS_MAX)
        return false;
    char *copy = strdup(spec);
    if (copy == NULL)
        return false;
    char *sep = strpbrk(copy, ": \t");
    if (sep == NULL || sep == copy) {
        free(copy);
        return false;
    }
    *sep = '\0';
    struct ttaid_token_cfg *t = &cfg->tokens[cfg->token_count];
    memset(t, 0, sizeof(*t));
    t->token = copy;
    char *save = NULL;
    for (char *ns = strtok_r(sep + 1, ", \t", &save); ns != NULL; ns = strtok_r(NULL, ", \t", &save)) {
        if (t->ns_count == TTAID_NAMESPACES_MAX)
            break;
        t->ns[t->ns_count++] = ns;
    }
    if (t->ns_count == 0) {
        free(copy);
        t->token = NULL;
        return false;
    }
    cfg->token_count++;
    return true;
}

static bool set_string(char **field, const char *value)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return false;
    free(*field);
    *field = copy;
    return true;
}

bool ttaid_config_apply(struct ttaid_config *cfg, const char *key, const char *value,
                        const char *where)
{
    bool ok = true;
    char k[64];
    snprintf(k, sizeof(k), "%s", key);
    for (char *p = k; *p; p++)
        if (*p == '_')
            *p = '-';
    if (strcmp(k, "data") == 0) {
        ok = set_string(&cfg->data, value);
    } else if (strcmp(k, "listen") == 0) {
        ok = set_string(&cfg->listen, value);
    } else if (strcmp(k, "activity-threads") == 0) {
        ok = parse_count(value, 1, &cfg->activity_threads);
    } else if (strcmp(k, "cache-size") == 0) {
        ok = parse_count(value, 1, &cfg->cache_size);
    } else if (strcmp(k, "workers") == 0) {
        ok = parse_count(value, 1, &cfg->workers);
    } else if (strcmp(k, "max-body") == 0) {
        ok = parse_count(value, 1, &cfg->max_body);
    } else if (strcmp(k, "map-size") == 0) {
        /* At least 1 MiB: below that LMDB cannot hold the tables. */
        ok = parse_count(value, 1024 * 1024, &cfg->map_size);
    } else if (strcmp(k, "log-level") == 0) {
        int l = ttai_log_level_parse(value);
        ok = l >= 0;
        if (ok)
            cfg->log_level = l;
    } else if (strcmp(k, "log-format") == 0) {
        ok = strcmp(value, "text") == 0 || strcmp(value, "json") == 0;
        cfg->log_json = strcmp(value, "json") == 0;
    } else if (strcmp(k, "token") == 0) {
        ok = add_token(cfg, value);
    } else if (strcmp(k, "market-url") == 0) {
        ok = set_string(&cfg->market_url, value);
    } else if (strcmp(k, "alert-channels") == 0) {
        ok = set_string(&cfg->alert_channels, value);
    } else if (strcmp(k, "alert-always") == 0) {
        ok = set_string(&cfg->alert_always, value);
    } else if (strcmp(k, "ttai-system") == 0) {
        ok = strcmp(value, "on") == 0 || strcmp(value, "off") == 0;
        cfg->ttai_system = strcmp(value, "on") == 0;
    } else {
        fprintf(stderr, "ttaid: unknown setting '%s' (%s)\n", key, where);
        return false;
    }
    if (!ok)
        fprintf(stderr, "ttaid: bad value '%s' for %s (%s)\n", value, key, where);
    return ok;
}

bool ttaid_config_load_text(struct ttaid_config *cfg, const char *text, size_t len,
                            const char *name)
{
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        fprintf(stderr, "ttaid: %s: out of memory\n", name);
        return false;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    bool ok = true;
    int lineno = 0;
    char *line = copy;
    while (ok && line != NULL && line < copy + len) {
        char *nl = memchr(line, '\n', (size_t)(copy + len - line));
        if (nl != NULL)
            *nl = '\0';
        lineno++;
        char *s = trim(line);
        line = nl != NULL ? nl + 1 : NULL;
        if (*s == '\0' || *s == '#')
            continue;
        char where[300];
        snprintf(where, sizeof(where), "%s:%d", name, lineno);
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            fprintf(stderr, "ttaid: %s: expected 'key = value'\n", where);
            ok = false;
            break;
        }
        *eq = '\0';
        ok = ttaid_config_apply(cfg, trim(s), trim(eq + 1), where);
    }
    free(copy);
    return ok;
}

bool ttaid_config_load_file(struct ttaid_config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "ttaid: cannot open config '%s': %s\n", path, strerror(errno));
        return false;
    }
    char *text = malloc(TTAID_CONFIG_BYTES_MAX + 1);
    size_t len = text ? fread(text, 1, TTAID_CONFIG_BYTES_MAX + 1, f) : 0;
    bool read_error = text == NULL || ferror(f);
    fclose(f);
    bool ok = false;
    if (read_error)
        fprintf(stderr, "ttaid: cannot read config '%s'\n", path);
    else if (len > TTAID_CONFIG_BYTES_MAX)
        fprintf(stderr, "ttaid: config '%s' is over %d bytes\n", path, TTAID_CONFIG_BYTES_MAX);
    else
        ok = ttaid_config_load_text(cfg, text, len, path);
    free(text);
    return ok;
}

bool ttaid_config_load_env(struct ttaid_config *cfg)
{
    static const char *const vars[][2] = {
        {"TTAI_DATA", "data"},           {"TTAI_LISTEN", "listen"},
        {"TTAI_ACTIVITY_THREADS", "activity-threads"}, {"TTAI_CACHE_SIZE", "cache-size"},
        {"TTAI_WORKERS", "workers"},     {"TTAI_MAX_BODY", "max-body"},
        {"TTAI_MAP_SIZE", "map-size"},
        {"TTAI_LOG_LEVEL", "log-level"}, {"TTAI_LOG_FORMAT", "log-format"},
        {"TTAI_MARKET_URL", "market-url"}, {"TTAI_ALERT_CHANNELS", "alert-channels"},
        {"TTAI_ALERT_ALWAYS", "alert-always"}, {"TTAI_SYSTEM", "ttai-system"},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i][0]);
        if (v != NULL && *v != '\0' && !ttaid_config_apply(cfg, vars[i][1], v, vars[i][0]))
            return false;
    }
    const char *toks = getenv("TTAI_TOKENS");
    if (toks != NULL && *toks != '\0') {
        char *copy = strdup(toks), *save = NULL;
        bool ok = copy != NULL;
        for (char *t = copy ? strtok_r(copy, ";", &save) : NULL; ok && t != NULL;
             t = strtok_r(NULL, ";", &save))
            ok = ttaid_config_apply(cfg, "token", trim(t), "TTAI_TOKENS");
        free(copy);
        if (!ok)
            return false;
    }
    return true;
}

void ttaid_config_free(struct ttaid_config *cfg)
{
    for (size_t i = 0; i < cfg->token_count; i++)
        free(cfg->tokens[i].token);
    free(cfg->data);
    free(cfg->listen);
    free(cfg->market_url);
    free(cfg->alert_channels);
    free(cfg->alert_always);
    memset(cfg, 0, sizeof(*cfg));
}
