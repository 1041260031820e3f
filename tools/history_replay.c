/* history_replay.c: `ttai-history replay`: re-runs the workflow code built
 * into this program over stored histories, read-only.
 *
 *   replay WORKFLOW_ID [--run RUN_ID] [--until EVENT_ID] [--query NAME [--input JSON]]
 *   replay --all
 *
 * The code is the registry of workflows/ (wf_builtin_registry): the same as
 * ttaid's, so `replay --all` before deploying tells whether changed code can
 * still replay every stored history. --until replays the whole tasks
 * recorded up to that event and delivers the inputs up to it, so a query
 * answers as of that point (time travel).
 */
#include "history_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "workflows.h"

/* Replays one run; prints its line; returns 0 or 1 (a problem). */
static int replay_one(struct hist_ctx *ctx, const struct store_run *run, uint64_t until,
                      const char *query, struct ttai_payload input)
{
    const struct hist_args *a = ctx->args;
    struct ttai_buf answer;
    ttai_buf_init(&answer);
    struct ttai_err err = {0};
    char rid[TTAI_RUN_ID_TEXT];
    ttai_run_id_format(&run->run_id, rid);
    int rc = ttai_replay_store(ctx->store, &wf_builtin_registry, run->ns, run->workflow_id,
                               &run->run_id, until, query, input, &answer, &err);
    char *json = rc == 0 && query != NULL ? ttai_payload_to_json(ttai_buf_payload(&answer)) : NULL;
    ttai_buf_release(&answer);
    if (a->output == HIST_OUT_JSON && !a->all) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:b}", "namespace", run->ns, "workflow_id",
                              run->workflow_id, "run_id", rid, "events",
                              (json_int_t)(until && until < run->last_event_id ? until
                                                                               : run->last_event_id),
                              "ok", rc == 0);
        if (rc != 0)
            json_object_set_new(o, "error", json_string(err.msg));
        if (json != NULL)
            json_object_set_new(o, "answer", json_loads(json, JSON_DECODE_ANY, NULL));
        hist_json_print(o);
    } else if (rc != 0) {
        printf("run %s (%s/%s): %s\n", rid, run->ns, run->workflow_id, err.msg);
    } else if (!a->all) {
        printf("replayed %s/%s run %s through event %" PRIu64 ": OK\n", run->ns,
               run->workflow_id, rid, until && until < run->last_event_id ? until
                                                                          : run->last_event_id);
        if (json != NULL)
            printf("%s: %s\n", query, json);
    }
    ttai_free(json);
    return rc == 0 ? 0 : 1;
}

/* Every run, read in one snapshot, replayed one by one. */
static int replay_all(struct hist_ctx *ctx)
{
    struct ttai_err err = {0};
    struct store_read *rd;
    if (store_read_begin(ctx->store, &rd, &err) != 0) {
        hist_errorf("%s", err.msg);
        return HIST_EXIT_PROBLEMS;
    }
    struct store_run *runs = NULL;
    size_t count = 0, cap = 0;
    struct store_iter it;
    int more = store_run_iter_init(&it, rd, &err);
    struct store_run run;
    while (more == 0 && (more = store_run_iter_next(&it, &run, &err)) == 1) {
        if (count == cap) {
            cap = cap ? cap * 2 : 256;
            runs = realloc(runs, cap * sizeof(*runs));
            if (runs == NULL) {
                hist_errorf("out of memory");
                exit(HIST_EXIT_USAGE);
            }
        }
        runs[count++] = run;
        more = 0;
    }
    store_iter_release(&it);
    store_read_end(rd);
    int problems = 0;
    for (size_t i = 0; i < count; i++)
        problems += replay_one(ctx, &runs[i], 0, NULL, (struct ttai_payload){0});
    free(runs);
    if (more < 0) {
        hist_errorf("cannot list runs: %s", err.msg);
        return HIST_EXIT_PROBLEMS;
    }
    if (ctx->args->output == HIST_OUT_JSON) {
        json_t *o = json_pack("{s:I, s:I, s:b}", "runs", (json_int_t)count, "problems",
                              (json_int_t)problems, "ok", problems == 0);
        hist_json_print(o);
    } else {
        printf("replayed %zu runs: %s", count, problems ? "" : "OK\n");
        if (problems)
            printf("%d %s\n", problems, problems == 1 ? "problem" : "problems");
    }
    return problems ? HIST_EXIT_PROBLEMS : HIST_EXIT_OK;
}

static int parse_until(const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v == 0) {
        hist_errorf("--until needs a positive event id, not '%s'", text);
        return -1;
    }
    *out = v;
    return 0;
}

int hist_cmd_replay(struct hist_ctx *ctx)
{
    const struct hist_args *a = ctx->args;
    if (a->all)
        return a->arg_count == 0 && a->query == NULL && a->until == NULL
                   ? replay_all(ctx)
                   : (hist_errorf("replay --all takes no workflow id, --until or --query"),
                      HIST_EXIT_USAGE);
    if (a->arg_count != 1) {
        hist_errorf("replay needs a WORKFLOW_ID, or --all");
        return HIST_EXIT_USAGE;
    }
    uint64_t until = 0;
    if (a->until != NULL && parse_until(a->until, &until) != 0)
        return HIST_EXIT_USAGE;
    struct ttai_buf input;
    ttai_buf_init(&input);
    struct ttai_err err = {0};
    if (a->input != NULL && (a->query == NULL || ttai_payload_from_json(a->input, strlen(a->input),
                                                                       &input, &err) != 0)) {
        hist_errorf("%s", a->query == NULL ? "--input goes with --query" : err.msg);
        ttai_buf_release(&input);
        return HIST_EXIT_USAGE;
    }
    struct store_read *rd;
    struct store_run run;
    struct ttai_run_id id;
    int rc = store_read_begin(ctx->store, &rd, &err);
    if (rc == 0 && a->run != NULL && ttai_run_id_parse(a->run, &id) != 0)
        rc = ttai_errf(&err, TTAI_EINVAL, "'%s' is not a run id", a->run);
    else if (rc == 0 && a->run == NULL)
        rc = store_exec_get(rd, a->ns, a->args[0], &id, &err);
    if (rc == 0)
        rc = store_run_get(rd, &id, &run, &err);
    if (rc == 0 && strcmp(run.workflow_id, a->args[0]) != 0)
        rc = ttai_errf(&err, TTAI_ENOTFOUND, "run %s is not a run of '%s'", a->run, a->args[0]);
    store_read_end(rd);
    int status = HIST_EXIT_PROBLEMS;
    if (rc != 0)
        hist_errorf("%s", err.msg);
    else
        status = replay_one(ctx, &run, until, a->query, ttai_buf_payload(&input));
    ttai_buf_release(&input);
    return status;
}
