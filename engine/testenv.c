/* testenv.c: an engine on a virtual clock, for tests and demos. */
#include "ttai.h"

#include <string.h>

struct ttai_testenv {
    struct ttai_engine *eng;
    char *dir;
    const struct ttai_registry *registry;
    int64_t now_ms;               /* the virtual clock */
    size_t cache_max;             /* 0: the engine's default */
};

static int64_t virtual_now(void *arg)
{
    return ((struct ttai_testenv *)arg)->now_ms;
}

static int engine_open(struct ttai_testenv *env, struct ttai_err *err)
{
    struct ttai_engine_opts opts = {.data_dir = env->dir, .registry = env->registry,
                                    .clock = {virtual_now, env}, .activity_threads = 2,
                                    .cache_max = env->cache_max,
                                    /* A virtual world need not survive a
                                     * power loss; restarts close cleanly. */
                                    .no_sync = true,
                                    /* The test drives the tasks itself. */
                                    .query_first_task_wait_ms = -1};
    return ttai_engine_open(&env->eng, &opts, err);
}

int ttai_testenv_open(struct ttai_testenv **out, const char *dir,
                      const struct ttai_registry *registry, int64_t start_ms,
                      struct ttai_err *err)
{
    struct ttai_testenv *env = ttai_calloc(1, sizeof(*env));
    if (env == NULL)
        return ttai_errf(err, TTAI_ENOMEM, "out of memory");
    env->dir = ttai_strndup(dir, strlen(dir));
    env->registry = registry;
    env->now_ms = start_ms;
    int rc = env->dir ? engine_open(env, err) : TTAI_ENOMEM;
    if (rc != 0) {
        ttai_free(env->dir);
        ttai_free(env);
        return rc;
    }
    *out = env;
    return TTAI_OK;
}

void ttai_testenv_close(struct ttai_testenv *env)
{
    if (env == NULL)
        return;
    ttai_engine_close(env->eng);
    ttai_free(env->dir);
    ttai_free(env);
}

struct ttai_engine *ttai_testenv_engine(struct ttai_testenv *env) { return env->eng; }
int64_t ttai_testenv_now(const struct ttai_testenv *env) { return env->now_ms; }

/* Real time an attempt may run without finishing before settle() decides
 * it is waiting for (virtual) time to pass, e.g. until its heartbeat
 * timeout: 40 waits of 50 ms. */
#define STALL_WAITS_MAX 40

/* Settles and reports the next timer or activity deadline. */
static int settle(struct ttai_testenv *env, int64_t *next_timer_ms)
{
    int stalls = 0;
    for (;;) {
        int n = ttai_engine_poll(env->eng, next_timer_ms);
        if (n < 0)
            return n;
        if (n > 0) {
            stalls = 0;
            continue;
        }
        if (ttai_engine_activities_idle(env->eng))
            return 0;
        if (*next_timer_ms != INT64_MAX && stalls >= STALL_WAITS_MAX)
            return 0;
        ttai_engine_wait_activity(env->eng, 50);
        stalls++;
    }
}

int ttai_testenv_settle(struct ttai_testenv *env)
{
    int64_t next;
    return settle(env, &next);
}

int ttai_testenv_advance(struct ttai_testenv *env, int64_t ms)
{
    int64_t target = env->now_ms + ms;
    for (;;) {
        int64_t next;
        int rc = settle(env, &next);
        if (rc != 0)
            return rc;
        if (next > target) {
            env->now_ms = target;
            return settle(env, &next);
        }
        if (next > env->now_ms)
            env->now_ms = next;
    }
}

int ttai_testenv_restart(struct ttai_testenv *env, struct ttai_err *err)
{
    ttai_engine_close(env->eng);
    env->eng = NULL;
    return engine_open(env, err);
}

int ttai_testenv_outage(struct ttai_testenv *env, int64_t ms, struct ttai_err *err)
{
    ttai_engine_close(env->eng);
    env->eng = NULL;
    env->now_ms += ms;
    return engine_open(env, err);
}

int ttai_testenv_redeploy(struct ttai_testenv *env, const struct ttai_registry *registry,
                          size_t cache_max, struct ttai_err *err)
{
    if (registry != NULL)
        env->registry = registry;
    if (cache_max != 0)
        env->cache_max = cache_max;
    return ttai_testenv_restart(env, err);
}
