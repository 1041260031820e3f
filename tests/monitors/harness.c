/* harness.c: one engine on the virtual clock per test, JSON in and out, and
 * the offline replay check (see mon_test.h). */
#include "mon_test.h"

#include "market.h"
#include "store.h"
#include "workflows.h"

static struct ttai_testenv *env;
static char env_dir[600];
static int env_seq;
static char **kept;
static size_t kept_count, kept_cap;

const char *mt_keep(char *malloced)
{
    ASSERT(malloced != NULL);
    if (kept_count == kept_cap) {
        kept_cap = kept_cap ? 2 * kept_cap : 64;
        kept = realloc(kept, kept_cap * sizeof(*kept));
        ASSERT(kept != NULL);
    }
    kept[kept_count++] = malloced;
    return malloced;
}

static void release_kept(void)
{
    for (size_t i = 0; i < kept_count; i++)
        free(kept[i]);
    free(kept);
    kept = NULL;
    kept_count = kept_cap = 0;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void to_payload(const char *json_text, struct ttai_buf *b)
{
    struct ttai_err err = {0};
    ttai_buf_reset(b);
    if (json_text != NULL &&
        ttai_payload_from_json(json_text, strlen(json_text), b, &err) != 0)
        test__fail(__FILE__, __LINE__, "bad JSON: %s: %s", err.msg, json_text);
}

char *mt_canon(const char *json_text)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    to_payload(json_text, &b);
    char *t = ttai_payload_to_json(ttai_buf_payload(&b));
    ttai_buf_release(&b);
    ASSERT(t != NULL);
    char *copy = strdup(t);
    ttai_free(t);
    return copy;
}

void mt_assert_json(const char *file, int line, const char *actual, const char *expected)
{
    if (actual == NULL)
        test__fail(file, line, "no JSON; want %s", expected);
    char *a = mt_canon(actual), *e = mt_canon(expected);
    if (strcmp(a, e) != 0)
        test__fail(file, line, "JSON differs:\n  got  %s\n  want %s", a, e);
    free(a);
    free(e);
}

/* ---- The "call" workflow: runs one activity (market tests) ---------------------------- */

static void call_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    char type[64] = "";
    struct ttai_payload arg = {0};
    if (ttai_payload_unpack(&r, input, &o) == 0) {
        ttai_obj_strcpy(ttai_obj_get(&o, "type"), type, sizeof(type));
        const msgpack_object *in = ttai_obj_get(&o, "input");
        if (in != NULL) {
            msgpack_sbuffer sb;
            msgpack_packer pk;
            msgpack_sbuffer_init(&sb);
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_object(&pk, *in);
            arg = ttai_wf_keep(wf, (struct ttai_payload){(const uint8_t *)sb.data, sb.size});
            msgpack_sbuffer_destroy(&sb);
        }
    }
    ttai_reader_release(&r);
    struct ttai_activity_opts opts = {.start_to_close_ms = 10000, .retry_max_attempts = 1};
    struct ttai_result res;
    if (ttai_wf_activity(wf, type, arg, &opts, &res) != 0)
        ttai_wf_fail(wf, res.error_type, res.error_message);
    ttai_wf_complete(wf, res.value);
}

static const struct ttai_workflow_def wf_call = {.type = "call", .run = call_run};

/* ---- The engine ------------------------------------------------------------------------ */

static const struct ttai_workflow_def *workflows[16];
static const struct ttai_activity_def *activities[16];
static struct ttai_registry registry = {workflows, activities};

static int64_t engine_now(void)
{
    return env ? ttai_testenv_now(env) : 0;
}

void mt_open(enum mt_activities acts, int64_t start_ms)
{
    size_t w = 0, a = 0;
    for (size_t i = 0; wf_ttai_workflows[i] != NULL; i++)
        workflows[w++] = wf_ttai_workflows[i];
    workflows[w++] = &wf_call;
    workflows[w] = NULL;
    const struct ttai_activity_def *const *data =
        acts == MT_MARKET ? market_activities : fake_data_activities;
    for (size_t i = 0; data[i] != NULL; i++)
        activities[a++] = data[i];
    activities[a++] = &fake_route_alerts_def;
    activities[a] = NULL;
    fakes_reset();
    fakes_set_clock(engine_now);
    snprintf(env_dir, sizeof(env_dir), "%s/env-%d", test_tmpdir(), env_seq++);
    struct ttai_err err = {0};
    if (ttai_testenv_open(&env, env_dir, &registry, start_ms, &err) != 0)
        test__fail(__FILE__, __LINE__, "testenv: %s", err.msg);
}

void mt_close(void)
{
    ttai_testenv_close(env);
    env = NULL;
    fakes_reset();
    release_kept();
}

struct ttai_engine *mt_engine(void)
{
    return ttai_testenv_engine(env);
}

int64_t mt_now(void)
{
    return ttai_testenv_now(env);
}

void mt_settle(void)
{
    ASSERT(ttai_testenv_settle(env) == 0);
}

void mt_advance(int64_t ms)
{
    ASSERT(ttai_testenv_advance(env, ms) == 0);
}

void mt_restart(void)
{
    struct ttai_err err = {0};
    if (ttai_testenv_restart(env, &err) != 0)
        test__fail(__FILE__, __LINE__, "restart: %s", err.msg);
}

void mt_cache_max(size_t runs)
{
    struct ttai_err err = {0};
    if (ttai_testenv_redeploy(env, NULL, runs, &err) != 0)
        test__fail(__FILE__, __LINE__, "redeploy: %s", err.msg);
}

void mt_start_ns(const char *ns, const char *type, const char *id, const char *input_json)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    to_payload(input_json, &b);
    struct ttai_err err = {0};
    if (ttai_engine_start(mt_engine(), ns, type, id, ttai_buf_payload(&b), NULL, NULL, &err) != 0)
        test__fail(__FILE__, __LINE__, "start %s: %s", id, err.msg);
    ttai_buf_release(&b);
}

void mt_start(const char *type, const char *id, const char *input_json)
{
    mt_start_ns("default", type, id, input_json);
}

void mt_signal_with_start(const char *type, const char *id, const char *input_json,
                          const char *signal, const char *args_json)
{
    struct ttai_buf in, args;
    ttai_buf_init(&in);
    ttai_buf_init(&args);
    to_payload(input_json, &in);
    to_payload(args_json, &args);
    struct ttai_err err = {0};
    if (ttai_engine_signal_with_start(mt_engine(), "default", type, id, ttai_buf_payload(&in),
                                      NULL, signal, ttai_buf_payload(&args), NULL, &err) != 0)
        test__fail(__FILE__, __LINE__, "signal-with-start %s: %s", id, err.msg);
    ttai_buf_release(&in);
    ttai_buf_release(&args);
}

void mt_signal_ns(const char *ns, const char *id, const char *name, const char *args_json)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    to_payload(args_json, &b);
    struct ttai_err err = {0};
    if (ttai_engine_signal(mt_engine(), ns, id, NULL, name, ttai_buf_payload(&b), &err) != 0)
        test__fail(__FILE__, __LINE__, "signal %s to %s: %s", name, id, err.msg);
    ttai_buf_release(&b);
}

void mt_signal(const char *id, const char *name, const char *args_json)
{
    mt_signal_ns("default", id, name, args_json);
}

void mt_cancel(const char *ns, const char *id)
{
    struct ttai_err err = {0};
    if (ttai_engine_cancel(mt_engine(), ns, id, NULL, "test", &err) != 0)
        test__fail(__FILE__, __LINE__, "cancel %s: %s", id, err.msg);
}

static char *payload_json(struct ttai_buf *b)
{
    char *t = ttai_payload_to_json(ttai_buf_payload(b));
    ASSERT(t != NULL);
    char *copy = strdup(t);
    ttai_free(t);
    return copy;
}

const char *mt_query_ns(const char *ns, const char *id, const char *name)
{
    struct ttai_buf ans;
    ttai_buf_init(&ans);
    struct ttai_err err = {0};
    if (ttai_engine_query(mt_engine(), ns, id, NULL, name, (struct ttai_payload){0}, &ans,
                          &err) != 0)
        test__fail(__FILE__, __LINE__, "query %s of %s: %s", name, id, err.msg);
    char *json = payload_json(&ans);
    ttai_buf_release(&ans);
    return mt_keep(json);
}

const char *mt_query(const char *id, const char *name)
{
    return mt_query_ns("default", id, name);
}

const char *mt_result(const char *id)
{
    struct ttai_buf out;
    ttai_buf_init(&out);
    struct ttai_err err = {0};
    int rc = ttai_engine_result(mt_engine(), "default", id, &out, &err);
    char *text;
    if (rc == 0) {
        text = payload_json(&out);
    } else {
        text = malloc(TTAI_ERR_MSG_MAX + 32);
        ASSERT(text != NULL);
        snprintf(text, TTAI_ERR_MSG_MAX + 32, "%s: %s", ttai_rc_name(rc), err.msg);
    }
    ttai_buf_release(&out);
    return mt_keep(text);
}

int mt_status(const char *ns, const char *id)
{
    struct ttai_run_info info;
    struct ttai_err err = {0};
    if (ttai_engine_describe(mt_engine(), ns, id, NULL, &info, &err) != 0)
        test__fail(__FILE__, __LINE__, "describe %s: %s", id, err.msg);
    return info.status;
}

const char *mt_run_id(const char *ns, const char *id)
{
    struct ttai_run_info info;
    struct ttai_err err = {0};
    if (ttai_engine_describe(mt_engine(), ns, id, NULL, &info, &err) != 0)
        test__fail(__FILE__, __LINE__, "describe %s: %s", id, err.msg);
    char *text = malloc(TTAI_RUN_ID_TEXT);
    ASSERT(text != NULL);
    ttai_run_id_format(&info.run_id, text);
    return mt_keep(text);
}

void mt_check_replay(const char *ns, const char *id, const char *query)
{
    struct ttai_buf ans;
    ttai_buf_init(&ans);
    struct ttai_err err = {0};
    if (ttai_replay_store(ttai_engine_store(mt_engine()), &registry, ns, id, NULL, 0, query,
                          (struct ttai_payload){0}, query ? &ans : NULL, &err) != 0)
        test__fail(__FILE__, __LINE__, "replay of %s: %s", id, err.msg);
    if (query != NULL) {
        char *replayed = payload_json(&ans);
        const char *live = mt_query_ns(ns, id, query);
        if (strcmp(replayed, live) != 0)
            test__fail(__FILE__, __LINE__, "replayed %s of %s differs:\n  replay %s\n  live   %s",
                       query, id, replayed, live);
        free(replayed);
    }
    ttai_buf_release(&ans);
}

int mt_find_call(const char *type, const char *json)
{
    char *want = mt_canon(json);
    int found = -1;
    for (size_t i = 0; i < fake_calls(type) && found < 0; i++) {
        char *got = mt_canon(fake_input(type, i));
        if (strcmp(got, want) == 0)
            found = (int)i;
        free(got);
    }
    free(want);
    return found;
}
