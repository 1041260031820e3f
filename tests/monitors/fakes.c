/* fakes.c: deterministic stand-ins for the data activities and for
 * route_alerts, registered under the real names. They run on the engine's
 * activity threads; everything they share with the test is under one
 * mutex. */
#include "mon_test.h"

#include <pthread.h>

struct call {
    char type[32];
    char *input;                /* JSON */
    int64_t at_ms;
};

static struct {
    pthread_mutex_t mu;
    struct call *calls;
    size_t count, cap;
    json_t *quotes;             /* symbol -> price */
    json_t *volumes;            /* symbol -> volume, when set */
    char *news, *portfolio, *screener, *analyses;
    char *(*portfolio_fn)(const char *as_of, const char *account);
    int news_per_call, news_next;
    json_t *news_previous;
    json_t *failing;            /* type -> true */
    int64_t (*now)(void);
} F = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void set_text(char **slot, const char *text)
{
    pthread_mutex_lock(&F.mu);
    free(*slot);
    *slot = text ? strdup(text) : NULL;
    pthread_mutex_unlock(&F.mu);
}

void fakes_reset(void)
{
    pthread_mutex_lock(&F.mu);
    for (size_t i = 0; i < F.count; i++)
        free(F.calls[i].input);
    free(F.calls);
    F.calls = NULL;
    F.count = F.cap = 0;
    json_decref(F.quotes);
    json_decref(F.volumes);
    json_decref(F.failing);
    json_decref(F.news_previous);
    F.quotes = json_object();
    F.volumes = json_object();
    F.failing = json_object();
    F.news_previous = json_array();
    free(F.news);
    free(F.portfolio);
    free(F.screener);
    free(F.analyses);
    F.news = strdup("[]");
    F.portfolio = strdup("{}");
    F.screener = strdup("{\"candidates_screened\": 0, \"recommendations\": []}");
    F.analyses = strdup("[]");
    F.portfolio_fn = NULL;
    F.news_per_call = 0;
    F.news_next = 1;
    pthread_mutex_unlock(&F.mu);
}

void fakes_set_clock(int64_t (*now)(void))
{
    F.now = now;
}

static void record(const char *type, struct ttai_payload input)
{
    char *json = ttai_payload_to_json(input);
    ASSERT(json != NULL);
    pthread_mutex_lock(&F.mu);
    if (F.count == F.cap) {
        F.cap = F.cap ? 2 * F.cap : 64;
        F.calls = realloc(F.calls, F.cap * sizeof(*F.calls));
        ASSERT(F.calls != NULL);
    }
    struct call *c = &F.calls[F.count++];
    snprintf(c->type, sizeof(c->type), "%s", type);
    c->input = strdup(json);
    c->at_ms = F.now ? F.now() : 0;
    pthread_mutex_unlock(&F.mu);
    ttai_free(json);
}

static const struct call *nth(const char *type, size_t i)
{
    for (size_t k = 0; k < F.count; k++)
        if (strcmp(F.calls[k].type, type) == 0 && i-- == 0)
            return &F.calls[k];
    return NULL;
}

size_t fake_calls(const char *type)
{
    size_t n = 0;
    pthread_mutex_lock(&F.mu);
    for (size_t k = 0; k < F.count; k++)
        n += strcmp(F.calls[k].type, type) == 0;
    pthread_mutex_unlock(&F.mu);
    return n;
}

const char *fake_input(const char *type, size_t i)
{
    pthread_mutex_lock(&F.mu);
    const struct call *c = nth(type, i);
    char *copy = c ? strdup(c->input) : NULL;
    pthread_mutex_unlock(&F.mu);
    if (copy == NULL)
        test__fail(__FILE__, __LINE__, "no call %zu of %s", i, type);
    return mt_keep(copy);
}

int64_t fake_call_time(const char *type, size_t i)
{
    pthread_mutex_lock(&F.mu);
    const struct call *c = nth(type, i);
    int64_t at = c ? c->at_ms : -1;
    pthread_mutex_unlock(&F.mu);
    ASSERT(at >= 0);
    return at;
}

void fake_fail(const char *type, bool on)
{
    pthread_mutex_lock(&F.mu);
    if (on)
        json_object_set_new(F.failing, type, json_true());
    else
        json_object_del(F.failing, type);
    pthread_mutex_unlock(&F.mu);
}

void fake_quote_volume(const char *symbol, double volume)
{
    pthread_mutex_lock(&F.mu);
    json_object_set_new(F.volumes, symbol, json_real(volume));
    pthread_mutex_unlock(&F.mu);
}

void fake_quote(const char *symbol, double price)
{
    pthread_mutex_lock(&F.mu);
    if (price > 0)
        json_object_set_new(F.quotes, symbol, json_real(price));
    else
        json_object_del(F.quotes, symbol);
    pthread_mutex_unlock(&F.mu);
}

void fake_news(const char *json_array)
{
    set_text(&F.news, json_array);
}

void fake_news_generate(int per_call)
{
    pthread_mutex_lock(&F.mu);
    F.news_per_call = per_call;
    pthread_mutex_unlock(&F.mu);
}

void fake_portfolio(const char *json_object)
{
    set_text(&F.portfolio, json_object);
}

void fake_portfolio_fn(char *(*fn)(const char *as_of, const char *account))
{
    pthread_mutex_lock(&F.mu);
    F.portfolio_fn = fn;
    pthread_mutex_unlock(&F.mu);
}

void fake_screener(const char *json_object)
{
    set_text(&F.screener, json_object);
}

void fake_analyses(const char *json_array)
{
    set_text(&F.analyses, json_array);
}

/* ---- The activities ---------------------------------------------------------------- */

/* Records the call; true when the test made this type fail. */
static bool begin(const char *type, struct ttai_payload input)
{
    record(type, input);
    pthread_mutex_lock(&F.mu);
    bool failing = json_object_get(F.failing, type) != NULL;
    pthread_mutex_unlock(&F.mu);
    return failing;
}

static int answer_json(struct ttai_activity_ctx *ctx, json_t *j, struct ttai_buf *out)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    ASSERT(text != NULL);
    int rc = ttai_payload_from_json(text, strlen(text), out, NULL);
    free(text);
    return rc == 0 ? 0 : ttai_activity_fail(ctx, "FakeBroken", false, "bad fake JSON");
}

static int answer_text(struct ttai_activity_ctx *ctx, char *const *slot, struct ttai_buf *out)
{
    pthread_mutex_lock(&F.mu);
    json_t *j = test_json(*slot);
    pthread_mutex_unlock(&F.mu);
    return answer_json(ctx, j, out);
}

static int fake_route(struct ttai_activity_ctx *ctx, struct ttai_payload in, struct ttai_buf *out)
{
    if (begin("route_alerts", in))
        return ttai_activity_fail(ctx, "FakeDown", false, "route_alerts is down");
    ttai_buf_map(out, 1);
    ttai_buf_str(out, "routed");
    ttai_buf_bool(out, true);
    return 0;
}

/* The alert router's delivery: records {"channel", "alert"} and succeeds. */
static int fake_deliver_alert(struct ttai_activity_ctx *ctx, struct ttai_payload in,
                              struct ttai_buf *out)
{
    if (begin("deliver_alert", in))
        return ttai_activity_fail(ctx, "FakeDown", false, "deliver_alert is down");
    ttai_buf_map(out, 1);
    ttai_buf_str(out, "delivered");
    ttai_buf_bool(out, true);
    return 0;
}

static int fake_fetch_quotes(struct ttai_activity_ctx *ctx, struct ttai_payload in,
                             struct ttai_buf *out)
{
    if (begin("fetch_quotes", in))
        return ttai_activity_fail(ctx, "FakeDown", false, "fetch_quotes is down");
    char *text = ttai_payload_to_json(in);
    json_t *req = test_json(text), *list = json_is_object(req) ? json_object_get(req, "symbols") : req;
    ttai_free(text);
    json_t *answer = json_object();
    size_t i;
    json_t *s;
    pthread_mutex_lock(&F.mu);
    json_array_foreach(list, i, s) {
        json_t *price = json_object_get(F.quotes, json_string_value(s));
        json_t *volume = json_object_get(F.volumes, json_string_value(s));
        json_t *quote = price ? json_pack("{s:O, s:O}", "symbol", s, "price", price) : NULL;
        if (quote != NULL && volume != NULL)
            json_object_set(quote, "volume", volume);
        if (quote != NULL)
            json_object_set_new(answer, json_string_value(s), quote);
    }
    pthread_mutex_unlock(&F.mu);
    json_decref(req);
    return answer_json(ctx, answer, out);
}

static int fake_check_news(struct ttai_activity_ctx *ctx, struct ttai_payload in,
                           struct ttai_buf *out)
{
    if (begin("check_news", in))
        return ttai_activity_fail(ctx, "FakeDown", false, "check_news is down");
    pthread_mutex_lock(&F.mu);
    int per_call = F.news_per_call;
    pthread_mutex_unlock(&F.mu);
    if (per_call == 0)
        return answer_text(ctx, &F.news, out);
    json_t *fresh = json_array();
    pthread_mutex_lock(&F.mu);
    for (int k = 0; k < per_call; k++) {
        char id[32], msg[64];
        snprintf(id, sizeof(id), "gen-%d", F.news_next);
        snprintf(msg, sizeof(msg), "AAPL: generated article %d", F.news_next++);
        json_array_append_new(fresh, json_pack("{s:s, s:s, s:s, s:s}", "article_id", id, "type",
                                               "news", "symbol", "AAPL", "message", msg));
    }
    json_t *answer = json_copy(fresh);
    json_array_extend(answer, F.news_previous);
    json_decref(F.news_previous);
    F.news_previous = fresh;
    pthread_mutex_unlock(&F.mu);
    return answer_json(ctx, answer, out);
}

static int fake_fetch_portfolio(struct ttai_activity_ctx *ctx, struct ttai_payload in,
                                struct ttai_buf *out)
{
    if (begin("fetch_portfolio", in))
        return ttai_activity_fail(ctx, "FakeDown", false, "fetch_portfolio is down");
    pthread_mutex_lock(&F.mu);
    char *(*fn)(const char *, const char *) = F.portfolio_fn;
    pthread_mutex_unlock(&F.mu);
    if (fn == NULL)
        return answer_text(ctx, &F.portfolio, out);
    char *text = ttai_payload_to_json(in);
    json_t *req = test_json(text);
    ttai_free(text);
    const char *account = json_is_string(req) ? json_string_value(req)
                                              : json_string_value(json_object_get(req, "account_id"));
    char *answer = fn(json_string_value(json_object_get(req, "as_of")), account);
    json_decref(req);
    json_t *j = test_json(answer);
    free(answer);
    return answer_json(ctx, j, out);
}

static int fake_run_screener(struct ttai_activity_ctx *ctx, struct ttai_payload in,
                             struct ttai_buf *out)
{
    if (begin("run_screener", in))
        return ttai_activity_fail(ctx, "FakeDown", false, "run_screener is down");
    return answer_text(ctx, &F.screener, out);
}

static int fake_fetch_analyses(struct ttai_activity_ctx *ctx, struct ttai_payload in,
                               struct ttai_buf *out)
{
    if (begin("fetch_analysis_history", in))
        return ttai_activity_fail(ctx, "FakeDown", false, "fetch_analysis_history is down");
    return answer_text(ctx, &F.analyses, out);
}

const struct ttai_activity_def fake_route_alerts_def = {"route_alerts", fake_route};
static const struct ttai_activity_def fake_deliver_def = {"deliver_alert", fake_deliver_alert};
static const struct ttai_activity_def fake_quotes_def = {"fetch_quotes", fake_fetch_quotes};
static const struct ttai_activity_def fake_news_def = {"check_news", fake_check_news};
static const struct ttai_activity_def fake_portfolio_def = {"fetch_portfolio",
                                                            fake_fetch_portfolio};
static const struct ttai_activity_def fake_screener_def = {"run_screener", fake_run_screener};
static const struct ttai_activity_def fake_analyses_def = {"fetch_analysis_history",
                                                           fake_fetch_analyses};

const struct ttai_activity_def *const fake_data_activities[] = {
    &fake_quotes_def, &fake_news_def, &fake_portfolio_def, &fake_screener_def,
    &fake_analyses_def, &fake_deliver_def, NULL,
};
