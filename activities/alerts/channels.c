/* channels.c: the channel configuration and the stream and console sinks
 * (channels.h). The delivery activities that use them are in deliver.c.
 *
 * Invariants:
 *   1. A configuration is checked whole before it replaces the current
 *      one: a failed alert_channels_configure() changes nothing.
 *   2. The configuration changes only under the write lock; a delivery
 *      holds the read lock from lookup to the end of its send, so the
 *      channel it uses is never freed under it.
 *   3. A sink is called only under its mutex, so once a setter returns
 *      the previous sink is never called again (its arg may be freed).
 *   4. Channel URLs contain no "'" and no spaces: deliver.c finds a URL
 *      in an HTTP failure message by its quotes and removes it (a webhook
 *      URL is a credential).
 */
#include "alerts/channels.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "act_int.h"
#include "alerts/alerts_int.h"

const char *const alert__type_names[ALERT__TYPE_COUNT] = {
    [ALERT__DISCORD] = "discord", [ALERT__SLACK] = "slack",     [ALERT__WEBHOOK] = "webhook",
    [ALERT__EMAIL] = "email",     [ALERT__CONSOLE] = "console", [ALERT__STREAM] = "stream",
};

struct channel_set {
    size_t count;
    struct alert__channel ch[ALERT_CHANNELS_CONFIGURED_MAX];
};

static pthread_rwlock_t config_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct channel_set *config;               /* NULL: none configured */

/* Console and stream exist without configuration. */
static const struct alert__channel builtin_console = {.name = "console", .type = ALERT__CONSOLE};
static const struct alert__channel builtin_stream = {.name = "stream", .type = ALERT__STREAM};

static void channel_release(struct alert__channel *c)
{
    ttai_free(c->name);
    ttai_free(c->url);
    for (size_t i = 0; i < c->header_count; i++) {
        ttai_free((char *)c->headers[i].name);
        ttai_free((char *)c->headers[i].value);
    }
    ttai_free(c->headers);
    for (size_t i = 0; i < c->to_count; i++)
        ttai_free(c->to[i]);
    ttai_free(c->to);
    memset(c, 0, sizeof(*c));
}

static void set_free(struct channel_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->count; i++)
        channel_release(&s->ch[i]);
    ttai_free(s);
}

/* ---- Parsing one channel ------------------------------------------------------- */

/* What a channel's settings are being parsed into. */
struct parse {
    const char *name;                 /* the channel, for messages */
    json_t *settings;
    struct alert__channel *ch;
    struct act_smtp_config *smtp;     /* filled when the channel gives a server */
    bool has_smtp;
    struct ttai_err *err;
};

static int settings_known(struct parse *p, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(p->settings, key, value) {
        bool known = strcmp(key, "type") == 0;
        for (size_t i = 0; !known && allowed[i] != NULL; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known)
            return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s' has an unknown setting "
                             "'%.64s'", p->name, key);
    }
    return TTAI_OK;
}

/* The string setting key (borrowed from the JSON), or NULL when absent;
 * TTAI_EINVAL when it is not a string, TTAI_ETOOBIG past max bytes. */
static int setting_str(struct parse *p, const char *key, size_t max, const char **out)
{
    json_t *v = json_object_get(p->settings, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return TTAI_OK;
    if (!json_is_string(v))
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': '%s' must be a string",
                         p->name, key);
    if (json_string_length(v) > max)
        return ttai_errf(p->err, TTAI_ETOOBIG, "alert channel '%s': '%s' exceeds %zu bytes",
                         p->name, key, max);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': '%s' contains a NUL byte",
                         p->name, key);
    *out = json_string_value(v);
    return TTAI_OK;
}

static int setting_dup(struct parse *p, const char *value, char **out)
{
    *out = ttai_strndup(value, strlen(value));
    return *out != NULL ? TTAI_OK : ttai_errf(p->err, TTAI_ENOMEM, "out of memory");
}

static int setting_timeout(struct parse *p, int64_t max_ms, int64_t *out)
{
    json_t *v = json_object_get(p->settings, "timeout_ms");
    if (v == NULL)
        return TTAI_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max_ms)
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': 'timeout_ms' must be 1 to "
                         "%lld", p->name, (long long)max_ms);
    *out = json_integer_value(v);
    return TTAI_OK;
}

static int parse_url(struct parse *p, const char *key)
{
    const char *url;
    int rc = setting_str(p, key, ACT_HTTP_URL_BYTES_MAX - 1, &url);
    if (rc != 0)
        return rc;
    if (url == NULL)
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s' needs '%s'", p->name, key);
    bool ok = strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
    for (const char *c = url; ok && *c; c++)
        ok = (unsigned char)*c > 0x20 && *c != 0x7f && *c != '\'';
    if (!ok)
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': '%s' must be an http:// or "
                         "https:// URL without spaces or quotes", p->name, key);
    return setting_dup(p, url, &p->ch->url);
}

static int parse_headers(struct parse *p)
{
    json_t *h = json_object_get(p->settings, "headers");
    if (h == NULL || json_is_null(h))
        return TTAI_OK;
    /* One header slot stays free for the Idempotency-Key. */
    if (!json_is_object(h) || json_object_size(h) > ACT_HTTP_HEADERS_MAX - 1)
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': 'headers' must be a map of "
                         "at most %d strings", p->name, ACT_HTTP_HEADERS_MAX - 1);
    p->ch->headers = ttai_calloc(json_object_size(h) + 1, sizeof(*p->ch->headers));
    if (p->ch->headers == NULL)
        return ttai_errf(p->err, TTAI_ENOMEM, "out of memory");
    const char *key;
    json_t *value;
    json_object_foreach(h, key, value) {
        const char *v = json_string_value(value);
        if (v == NULL || key[0] == '\0' || strpbrk(key, " \t\r\n:") != NULL ||
            strpbrk(v, "\r\n") != NULL || strlen(key) + strlen(v) + 2 >= ACT_HTTP_HEADER_BYTES_MAX)
            return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': header '%.64s' is "
                             "malformed", p->name, key);
        struct act_http_header *slot = &p->ch->headers[p->ch->header_count];
        slot->name = ttai_strndup(key, strlen(key));
        slot->value = ttai_strndup(v, strlen(v));
        p->ch->header_count++;
        if (slot->name == NULL || slot->value == NULL)
            return ttai_errf(p->err, TTAI_ENOMEM, "out of memory");
    }
    return TTAI_OK;
}

static int parse_http(struct parse *p)
{
    static const char *const hook_keys[] = {"webhook_url", "timeout_ms", NULL};
    static const char *const webhook_keys[] = {"url", "headers", "timeout_ms", NULL};
    bool generic = p->ch->type == ALERT__WEBHOOK;
    p->ch->timeout_ms = ALERT_HTTP_TIMEOUT_MS_DEFAULT;
    int rc = settings_known(p, generic ? webhook_keys : hook_keys);
    if (rc == 0)
        rc = parse_url(p, generic ? "url" : "webhook_url");
    if (rc == 0)
        rc = setting_timeout(p, ACT_HTTP_TIMEOUT_MS_MAX, &p->ch->timeout_ms);
    if (rc == 0 && generic)
        rc = parse_headers(p);
    return rc;
}

static int parse_recipient(struct parse *p, json_t *v)
{
    const char *address = json_string_value(v);
    if (address == NULL || strlen(address) > ACT_SMTP_ADDRESS_MAX ||
        !act__smtp_address_ok(address))
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': '%.64s' is not a bare "
                         "address user@host", p->name, address != NULL ? address : "(not a string)");
    return setting_dup(p, address, &p->ch->to[p->ch->to_count++]);
}

static int parse_recipients(struct parse *p)
{
    json_t *to = json_object_get(p->settings, "to");
    size_t n = json_is_string(to) ? 1 : json_is_array(to) ? json_array_size(to) : 0;
    if (n == 0 || n > ACT_SMTP_RECIPIENTS_MAX)
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': 'to' must be an address or "
                         "an array of 1 to %d addresses", p->name, ACT_SMTP_RECIPIENTS_MAX);
    p->ch->to = ttai_calloc(n, sizeof(*p->ch->to));
    if (p->ch->to == NULL)
        return ttai_errf(p->err, TTAI_ENOMEM, "out of memory");
    if (json_is_string(to))
        return parse_recipient(p, to);
    for (size_t i = 0; i < n; i++) {
        int rc = parse_recipient(p, json_array_get(to, i));
        if (rc != 0)
            return rc;
    }
    return TTAI_OK;
}

/* The SMTP server settings, when the channel gives them (smtp_url). */
static int parse_smtp(struct parse *p)
{
    const char *url, *tls;
    int rc = setting_str(p, "smtp_url", ACT_SMTP_URL_MAX - 1, &url);
    if (rc != 0 || url == NULL)
        return rc;
    struct act_smtp_config *s = p->smtp;
    memset(s, 0, sizeof(*s));
    s->url = url;
    const struct {
        const char *key;
        size_t max;                   /* bytes without the NUL */
        const char **out;
    } fields[] = {
        {"username", ACT_SMTP_CREDENTIAL_MAX - 1, &s->username},
        {"password", ACT_SMTP_CREDENTIAL_MAX - 1, &s->password},
        {"from", ACT_SMTP_ADDRESS_MAX, &s->from_address},
        {"from_name", ACT_SMTP_FROM_NAME_MAX - 1, &s->from_name},
        {"ca_file", ACT_SMTP_URL_MAX - 1, &s->ca_file},
        {"tls", 16, &tls},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        rc = setting_str(p, fields[i].key, fields[i].max, fields[i].out);
        if (rc != 0)
            return rc;
    }
    rc = setting_timeout(p, ACT_SMTP_TIMEOUT_MS_MAX, &s->timeout_ms);
    if (rc != 0)
        return rc;
    if (s->from_address == NULL)
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s' gives 'smtp_url' without "
                         "'from'", p->name);
    if (tls != NULL && strcmp(tls, "required") != 0 && strcmp(tls, "none") != 0)
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s': 'tls' must be \"required\" "
                         "or \"none\"", p->name);
    s->tls = tls != NULL && strcmp(tls, "none") == 0 ? ACT_SMTP_TLS_NONE : ACT_SMTP_TLS_REQUIRED;
    p->has_smtp = true;
    return TTAI_OK;
}

static int parse_email(struct parse *p)
{
    static const char *const keys[] = {"to", "smtp_url", "username", "password", "from",
                                       "from_name", "tls", "ca_file", "timeout_ms", NULL};
    int rc = settings_known(p, keys);
    if (rc == 0)
        rc = parse_recipients(p);
    if (rc == 0)
        rc = parse_smtp(p);
    return rc;
}

static int parse_type(struct parse *p)
{
    json_t *t = json_object_get(p->settings, "type");
    const char *type = t != NULL ? json_string_value(t) : p->name;
    for (int i = 0; type != NULL && i < ALERT__TYPE_COUNT; i++) {
        if (strcmp(type, alert__type_names[i]) == 0) {
            p->ch->type = i;
            return TTAI_OK;
        }
    }
    return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s' needs a \"type\": discord, slack, "
                     "webhook, email, console or stream", p->name);
}

static int parse_channel(struct parse *p)
{
    static const char *const no_keys[] = {NULL};
    size_t len = strlen(p->name);
    if (len == 0 || len > ALERT_NAME_MAX || !alert__utf8_ok(p->name, len))
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel names are 1 to %d bytes of UTF-8",
                         ALERT_NAME_MAX);
    if (!json_is_object(p->settings))
        return ttai_errf(p->err, TTAI_EINVAL, "alert channel '%s' must be an object", p->name);
    int rc = parse_type(p);
    if (rc == 0)
        rc = setting_dup(p, p->name, &p->ch->name);
    if (rc != 0)
        return rc;
    switch (p->ch->type) {
    case ALERT__DISCORD:
    case ALERT__SLACK:
    case ALERT__WEBHOOK:
        return parse_http(p);
    case ALERT__EMAIL:
        return parse_email(p);
    default:
        return settings_known(p, no_keys);
    }
}

/* ---- The configuration ------------------------------------------------------------ */

static int set_parse(const json_t *cfg, struct channel_set *set, struct act_smtp_config *smtp,
                     bool *has_smtp, struct ttai_err *err)
{
    if (!json_is_object(cfg))
        return ttai_errf(err, TTAI_EINVAL, "the alert channel configuration must be an object");
    if (json_object_size(cfg) > ALERT_CHANNELS_CONFIGURED_MAX)
        return ttai_errf(err, TTAI_EINVAL, "%zu alert channels exceed %d", json_object_size(cfg),
                         ALERT_CHANNELS_CONFIGURED_MAX);
    const char *name;
    json_t *settings;
    json_object_foreach((json_t *)cfg, name, settings) {
        struct act_smtp_config channel_smtp;
        struct parse p = {name, settings, &set->ch[set->count++], &channel_smtp, false, err};
        int rc = parse_channel(&p);
        if (rc != 0)
            return rc;
        if (p.has_smtp && *has_smtp)
            return ttai_errf(err, TTAI_EINVAL, "alert channel '%s' gives a second SMTP server; "
                             "one process has one", name);
        if (p.has_smtp) {
            *smtp = channel_smtp;
            *has_smtp = true;
        }
    }
    return TTAI_OK;
}

int alert_channels_configure(const json_t *cfg, struct ttai_err *err)
{
    struct channel_set *set = NULL;
    if (cfg != NULL) {
        set = ttai_calloc(1, sizeof(*set));
        if (set == NULL)
            return ttai_errf(err, TTAI_ENOMEM, "out of memory");
        struct act_smtp_config smtp;
        bool has_smtp = false;
        int rc = set_parse(cfg, set, &smtp, &has_smtp, err);
        /* The SMTP settings are the last thing that can fail: after them
         * nothing can, so a failure leaves everything as it was. */
        if (rc == 0 && has_smtp)
            rc = act_smtp_configure(&smtp, err);
        if (rc != 0) {
            set_free(set);
            return rc;
        }
    }
    TTAI_ASSERT(pthread_rwlock_wrlock(&config_lock) == 0);
    struct channel_set *old = config;
    config = set;
    TTAI_ASSERT(pthread_rwlock_unlock(&config_lock) == 0);
    set_free(old);
    return TTAI_OK;
}

const struct alert__channel *alert__channel_lock(const char *name)
{
    TTAI_ASSERT(pthread_rwlock_rdlock(&config_lock) == 0);
    for (size_t i = 0; config != NULL && i < config->count; i++)
        if (strcmp(config->ch[i].name, name) == 0)
            return &config->ch[i];
    if (strcmp(name, builtin_console.name) == 0)
        return &builtin_console;
    if (strcmp(name, builtin_stream.name) == 0)
        return &builtin_stream;
    return NULL;
}

void alert__channels_unlock(void)
{
    TTAI_ASSERT(pthread_rwlock_unlock(&config_lock) == 0);
}

const char *alert_channel_type(const char *name)
{
    const struct alert__channel *c = alert__channel_lock(name);
    const char *type = c != NULL ? alert__type_names[c->type] : NULL;
    alert__channels_unlock();
    return type;
}

/* ---- Sinks ------------------------------------------------------------------------- */

struct sink {
    pthread_mutex_t mu;
    alert_sink_fn fn;
    void *arg;
};

static struct sink stream_sink = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL};
static struct sink console_sink = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL};

static void sink_set(struct sink *s, alert_sink_fn fn, void *arg)
{
    TTAI_ASSERT(pthread_mutex_lock(&s->mu) == 0);
    s->fn = fn;
    s->arg = fn != NULL ? arg : NULL;
    TTAI_ASSERT(pthread_mutex_unlock(&s->mu) == 0);
}

void alert_stream_set_sink(alert_sink_fn fn, void *arg)
{
    sink_set(&stream_sink, fn, arg);
}

void alert_console_set_sink(alert_sink_fn fn, void *arg)
{
    sink_set(&console_sink, fn, arg);
}

int alert__stream_emit(const char *text)
{
    TTAI_ASSERT(pthread_mutex_lock(&stream_sink.mu) == 0);
    int rc = TTAI_ENOTFOUND;
    if (stream_sink.fn != NULL) {
        stream_sink.fn(stream_sink.arg, text);
        rc = TTAI_OK;
    }
    TTAI_ASSERT(pthread_mutex_unlock(&stream_sink.mu) == 0);
    return rc;
}

void alert__console_emit(const char *line)
{
    TTAI_ASSERT(pthread_mutex_lock(&console_sink.mu) == 0);
    if (console_sink.fn != NULL) {
        console_sink.fn(console_sink.arg, line);
    } else {
        /* The console channel's whole purpose is this line; a failed write
         * to a closed stdout has nobody to report to. */
        (void)fprintf(stdout, "%s\n", line);
        (void)fflush(stdout);
    }
    TTAI_ASSERT(pthread_mutex_unlock(&console_sink.mu) == 0);
}
