/* history_show.c: `ttai-history show`, and history events as JSON.
 *
 * An event becomes a JSON object holding every attribute it sets; the
 * table output is rendered from that object too, so both outputs always
 * show the same attributes. Payloads (and details) are msgpack written by
 * workflow code: they are shown as JSON when they decode as exactly one
 * msgpack value, else as hex.
 *
 * Payloads come from disk, so decoding them is bounded: a pre-scan
 * (store_msgpack_valid) checks that no container claims more items than
 * there are bytes left (else msgpack_unpack would allocate for the claim), msgpack-c refuses nesting
 * deeper than its MSGPACK_EMBED_STACK_SIZE (32), and the conversion to JSON
 * walks with an explicit stack (MP_DEPTH_MAX) instead of recursing.
 */
#include "history_int.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <string.h>

/* ---- msgpack payloads -------------------------------------------------------- */

/* Containers nested deeper are shown as hex. msgpack-c stops at 32 already;
 * the bound here keeps the walk safe with any build of it. */
#define MP_DEPTH_MAX 32

/* Sets key to v (stealing it, as jansson's _new functions do even when
 * they fail); false when v is NULL or o cannot take it. */
static bool set(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

/* A value msgpack has and JSON lacks: {"bin": length, "hex": "..."}, and
 * likewise {"ext": type, ...} and {"str": length, ...} for a string that
 * is not UTF-8. */
static json_t *mp_tagged(const char *tag, json_t *tag_value, struct store_bytes data)
{
    json_t *o = json_object();
    bool ok = set(o, tag, tag_value);
    if (!set(o, "hex", hist_json_hex(data)) || !ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A new JSON value for o; containers come back empty (the walk fills them). */
static json_t *mp_value_new(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        /* Past INT64_MAX JSON integers (json_int_t) end; a real keeps the magnitude. */
        return o->via.u64 <= INT64_MAX ? json_integer((json_int_t)o->via.u64)
                                       : json_real((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isfinite(o->via.f64))
            return json_real(o->via.f64);
        return json_string(isnan(o->via.f64) ? "NaN" : o->via.f64 > 0 ? "Infinity" : "-Infinity");
    case MSGPACK_OBJECT_STR: {
        json_t *v = json_stringn(o->via.str.ptr, o->via.str.size); /* NULL unless UTF-8 */
        return v != NULL ? v : mp_tagged("str", json_integer(o->via.str.size),
                                         (struct store_bytes){(const uint8_t *)o->via.str.ptr,
                                                              o->via.str.size});
    }
    case MSGPACK_OBJECT_BIN:
        return mp_tagged("bin", json_integer(o->via.bin.size),
                         (struct store_bytes){(const uint8_t *)o->via.bin.ptr, o->via.bin.size});
    case MSGPACK_OBJECT_EXT:
        return mp_tagged("ext", json_integer(o->via.ext.type),
                         (struct store_bytes){(const uint8_t *)o->via.ext.ptr, o->via.ext.size});
    case MSGPACK_OBJECT_ARRAY: return json_array();
    case MSGPACK_OBJECT_MAP: return json_object();
    }
    return NULL;
}

/* Adds child to the map: a string key as itself, any other key as its JSON
 * text (a container key as "<array>" or "<map>"). */
static int mp_map_add(json_t *map, const msgpack_object *key, json_t *child)
{
    if (key->type == MSGPACK_OBJECT_STR) {
        /* set_new drops a reference to child even when it fails (as it does
         * for a key that is not UTF-8): take one more for the fallback. */
        json_incref(child);
        if (json_object_setn_new(map, key->via.str.ptr, key->via.str.size, child) == 0) {
            json_decref(child);
            return 0;
        }
    }
    if (key->type == MSGPACK_OBJECT_ARRAY || key->type == MSGPACK_OBJECT_MAP)
        return json_object_set_new(map, key->type == MSGPACK_OBJECT_MAP ? "<map>" : "<array>",
                                   child);
    json_t *k = mp_value_new(key);
    char *text = k ? json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    int rc = json_object_set_new(map, text ? text : "?", child);
    free(text); /* jansson's allocation */
    json_decref(k);
    return rc;
}

struct mp_frame {
    const msgpack_object *obj;   /* an array or a map */
    json_t *json;                /* its value, owned by the parent (or the root) */
    uint32_t next;               /* next child to convert */
};

/* The JSON form of root, walked with an explicit stack. NULL when out of
 * memory or nested deeper than msgpack-c itself allows. */
static json_t *mp_to_json(const msgpack_object *root)
{
    struct mp_frame stack[MP_DEPTH_MAX];
    size_t depth = 0;
    json_t *top = mp_value_new(root);
    if (top != NULL && (root->type == MSGPACK_OBJECT_ARRAY || root->type == MSGPACK_OBJECT_MAP))
        stack[depth++] = (struct mp_frame){root, top, 0};
    while (top != NULL && depth > 0) {
        struct mp_frame *f = &stack[depth - 1];
        bool is_map = f->obj->type == MSGPACK_OBJECT_MAP;
        uint32_t size = is_map ? f->obj->via.map.size : f->obj->via.array.size;
        if (f->next == size) {
            depth--;
            continue;
        }
        const msgpack_object *child = is_map ? &f->obj->via.map.ptr[f->next].val
                                             : &f->obj->via.array.ptr[f->next];
        json_t *cv = mp_value_new(child);
        int rc = cv == NULL ? -1
                 : is_map   ? mp_map_add(f->json, &f->obj->via.map.ptr[f->next].key, cv)
                            : json_array_append_new(f->json, cv);
        f->next++;
        bool container = child->type == MSGPACK_OBJECT_ARRAY || child->type == MSGPACK_OBJECT_MAP;
        if (rc != 0 || (container && depth == sizeof(stack) / sizeof(stack[0]))) {
            json_decref(top);
            top = NULL;
        } else if (container) {
            stack[depth++] = (struct mp_frame){child, cv, 0}; /* cv is borrowed from f->json */
        }
    }
    return top;
}

/* The payload as JSON when it is one msgpack value, else NULL. */
static json_t *payload_json(struct store_bytes b)
{
    if (!store_msgpack_valid(b.data, b.len))
        return NULL;
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 2048))
        return NULL;
    msgpack_object obj;
    size_t off = 0;
    json_t *v = NULL;
    if (msgpack_unpack((const char *)b.data, b.len, &off, &zone, &obj) == MSGPACK_UNPACK_SUCCESS)
        v = mp_to_json(&obj);
    msgpack_zone_destroy(&zone);
    return v;
}

/* ---- Events --------------------------------------------------------------------- */

/* Sets "key" to the payload as JSON, or "key_hex" when it is not msgpack;
 * and "key_bytes" to its length. */
static bool set_payload(json_t *o, const char *key, struct store_bytes b)
{
    char name[32];
    json_t *v = payload_json(b);
    snprintf(name, sizeof(name), "%s%s", key, v != NULL ? "" : "_hex");
    bool ok = set(o, name, v != NULL ? v : hist_json_hex(b));
    snprintf(name, sizeof(name), "%s_bytes", key);
    return set(o, name, json_integer((json_int_t)b.len)) && ok;
}

static json_t *opts_json(const struct store_activity_opts *opts)
{
    json_t *o = json_object();
    bool ok = o != NULL;
#define OPT_INT(field)                                                          \
    if (opts->field != 0)                                                       \
        ok = set(o, #field, json_integer(opts->field)) && ok;
    OPT_INT(schedule_to_close_ms)
    OPT_INT(schedule_to_start_ms)
    OPT_INT(start_to_close_ms)
    OPT_INT(heartbeat_ms)
    OPT_INT(initial_interval_ms)
    if (opts->backoff != 0)
        ok = set(o, "backoff", json_real(opts->backoff)) && ok;
    OPT_INT(max_interval_ms)
    OPT_INT(max_attempts)
#undef OPT_INT
    if (opts->non_retryable_count != 0) {
        json_t *list = json_array();
        for (uint32_t i = 0; list != NULL && i < opts->non_retryable_count; i++)
            ok = json_array_append_new(list, hist_json_bytes_str(opts->non_retryable[i])) == 0
                 && ok;
        ok = set(o, "non_retryable", list) && ok;
    }
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

/* The name of the run id attribute, which says which way the link goes. */
static const char *run_id_key(int type)
{
    switch (type) {
    case STORE_EV_WORKFLOW_STARTED: return "continued_from";
    case STORE_EV_CONTINUED_AS_NEW: return "continued_as";
    default: return "run_id";
    }
}

json_t *hist_event_json(const struct store_event *ev)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    const char *type = store_event_type_name(ev->type);
    bool ok = set(o, "event_id", json_integer((json_int_t)ev->event_id));
    ok = set(o, "time", hist_json_time(ev->time_ms)) && ok;
    ok = set(o, "time_ms", json_integer(ev->time_ms)) && ok;
    ok = set(o, "type", type ? json_string(type) : json_sprintf("unknown(%d)", ev->type)) && ok;
    if (ev->name.len != 0)
        ok = set(o, "name", hist_json_bytes_str(ev->name)) && ok;
    if (ev->seq != 0)
        ok = set(o, "seq", json_integer((json_int_t)ev->seq)) && ok;
    if (ev->ref_event_id != 0)
        ok = set(o, "ref_event_id", json_integer((json_int_t)ev->ref_event_id)) && ok;
    if (ev->attempt != 0)
        ok = set(o, "attempt", json_integer(ev->attempt)) && ok;
    if (ev->fire_ms != 0) {
        ok = set(o, "fire_time", hist_json_time(ev->fire_ms)) && ok;
        ok = set(o, "fire_ms", json_integer(ev->fire_ms)) && ok;
    }
    if (ev->failure_type.len != 0)
        ok = set(o, "failure_type", hist_json_bytes_str(ev->failure_type)) && ok;
    if (ev->failure_message.len != 0)
        ok = set(o, "failure_message", hist_json_bytes_str(ev->failure_message)) && ok;
    if (ev->payload.len != 0)
        ok = set_payload(o, "payload", ev->payload) && ok;
    if (ev->details.len != 0)
        ok = set_payload(o, "details", ev->details) && ok;
    if (!ttai_run_id_is_zero(&ev->run_id))
        ok = set(o, run_id_key(ev->type), hist_json_run_id(&ev->run_id)) && ok;
    if (ev->exec_timeout_ms != 0)
        ok = set(o, "exec_timeout_ms", json_integer(ev->exec_timeout_ms)) && ok;
    if (ev->run_timeout_ms != 0)
        ok = set(o, "run_timeout_ms", json_integer(ev->run_timeout_ms)) && ok;
    if (ev->has_opts)
        ok = set(o, "opts", opts_json(&ev->opts)) && ok;
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void hist_json_text(const json_t *v, struct hist_text *t, size_t width_max)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    if (text == NULL) {
        hist_text_cstr(t, "?");
        return;
    }
    size_t len = strlen(text);
    hist_text_raw(t, text, len < width_max ? len : width_max);
    if (len > width_max)
        hist_text_cstr(t, "...");
    free(text); /* jansson's allocation */
}

/* ---- The table -------------------------------------------------------------------- */

#define VALUE_WIDTH_MAX 120 /* bytes of a payload in the table */

/* Keys the table shows in columns of their own, or not at all. */
static bool key_in_details(const char *key)
{
    static const char *const skip[] = {"event_id", "time", "time_ms", "type", "fire_ms"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcmp(key, skip[i]) == 0)
            return false;
    size_t n = strlen(key);
    return !(n > 6 && strcmp(key + n - 6, "_bytes") == 0);
}

static void print_event_row(const json_t *ev)
{
    char details[2048];
    struct hist_text t;
    hist_text_init(&t, details, sizeof(details));
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)ev, key, value) {
        if (!key_in_details(key))
            continue;
        if (t.len > 0)
            hist_text_cstr(&t, " ");
        hist_text_cstr(&t, key);
        hist_text_cstr(&t, "=");
        /* Payloads are user data: always JSON (a string payload quoted), and
         * cut. Our own strings read bare unless they hold a space. */
        bool user_data = strcmp(key, "payload") == 0 || strcmp(key, "details") == 0;
        const char *s = json_string_value(value);
        if (!user_data && s != NULL && s[0] != '\0' && strchr(s, ' ') == NULL)
            hist_text_cstr(&t, s);
        else
            hist_json_text(value, &t, user_data ? VALUE_WIDTH_MAX : sizeof(details));
    }
    printf("%6" JSON_INTEGER_FORMAT "  %-24s  %-23s  %s\n",
           json_integer_value(json_object_get(ev, "event_id")),
           json_string_value(json_object_get(ev, "time")),
           json_string_value(json_object_get(ev, "type")), details);
}

static void print_run_header(const struct store_run *run)
{
    char text[TTAI_RUN_ID_TEXT], start[HIST_TIME_TEXT], close[HIST_TIME_TEXT];
    char name[1200];
    struct hist_text t;
    hist_text_init(&t, name, sizeof(name));
    hist_text_cstr(&t, run->ns);
    hist_text_cstr(&t, "/");
    hist_text_cstr(&t, run->workflow_id);
    printf("workflow        %s\n", name);
    printf("run             %s\n", ttai_run_id_format(&run->run_id, text));
    hist_text_init(&t, name, sizeof(name));
    hist_text_cstr(&t, run->type);
    printf("type            %s\n", name);
    printf("status          %s\n", store_run_status_name(run->status));
    printf("started         %s\n", hist_time_text(run->start_ms, start));
    printf("closed          %s\n", hist_time_text(run->close_ms, close));
    if (!ttai_run_id_is_zero(&run->prev_run))
        printf("continued from  %s\n", ttai_run_id_format(&run->prev_run, text));
    if (!ttai_run_id_is_zero(&run->next_run))
        printf("continued as    %s\n", ttai_run_id_format(&run->next_run, text));
    printf("events          %" PRIu64 "\n\n", run->last_event_id);
    printf("%6s  %-24s  %-23s  %s\n", "ID", "TIME", "TYPE", "DETAILS");
}

/* ---- show ------------------------------------------------------------------------- */

/* Finds the run to show: --run, or the execution's current run. */
static int show_find_run(struct hist_ctx *ctx, struct store_read *rd, struct store_run *run)
{
    const struct hist_args *a = ctx->args;
    const char *wf = a->args[0];
    struct ttai_run_id id;
    struct ttai_err err = {0};
    if (a->run != NULL && ttai_run_id_parse(a->run, &id) != 0) {
        hist_errorf("invalid run id '%s'", a->run);
        return HIST_EXIT_USAGE;
    }
    if (a->run == NULL && store_exec_get(rd, a->ns, wf, &id, &err) != 0) {
        hist_errorf("%s", err.msg);
        return err.rc == TTAI_EINVAL ? HIST_EXIT_USAGE : HIST_EXIT_PROBLEMS;
    }
    if (store_run_get(rd, &id, run, &err) != 0) {
        hist_errorf("%s", err.msg);
        return HIST_EXIT_PROBLEMS;
    }
    if (strcmp(run->ns, a->ns) != 0 || strcmp(run->workflow_id, wf) != 0) {
        char text[TTAI_RUN_ID_TEXT];
        hist_errorf("run '%s' belongs to workflow '%s' in namespace '%s', not '%s' in '%s'",
                    ttai_run_id_format(&run->run_id, text), run->workflow_id, run->ns, wf,
                    a->ns);
        return HIST_EXIT_PROBLEMS;
    }
    return HIST_EXIT_OK;
}

/* Prints every event of the run; an event that cannot be read is shown as
 * an error row (table) or an {"error": ...} element (JSON). */
static int show_events(struct hist_ctx *ctx, struct store_read *rd, const struct store_run *run)
{
    bool json = ctx->args->output == HIST_OUT_JSON;
    struct hist_json_stream stream;
    struct store_iter it;
    struct ttai_err err = {0};
    unsigned errors = 0;
    int status = HIST_EXIT_OK;
    if (store_hist_iter_init(&it, rd, &run->run_id, 1, &err) != 0) {
        hist_errorf("%s", err.msg);
        store_iter_release(&it);
        return HIST_EXIT_PROBLEMS;
    }
    if (json)
        hist_json_stream_begin(&stream);
    uint64_t last_id = 0;
    for (;;) {
        struct store_event ev;
        int rc = store_hist_iter_next(&it, &ev, &err);
        if (rc == 0)
            break;
        json_t *row = rc > 0 ? hist_event_json(&ev) : NULL;
        last_id = rc > 0 ? ev.event_id : hist_unreadable_id(rd, run, last_id + 1);
        if (row == NULL) {
            const char *why = rc > 0 ? "out of memory" : err.msg;
            status = HIST_EXIT_PROBLEMS;
            if (json)
                hist_json_stream_item(&stream, json_pack("{s:I, s:s}", "event_id",
                                                         (json_int_t)last_id, "error", why));
            else
                printf("%6" PRIu64 "  %-24s  %-23s  %s\n", last_id, "-", "(unreadable)", why);
            if (last_id == 0)
                break; /* lost our place in the history */
        } else if (json) {
            hist_json_stream_item(&stream, row);
        } else {
            print_event_row(row);
            json_decref(row);
        }
        if (rc < 0 && !hist_walk_go_on(&errors))
            break;
    }
    store_iter_release(&it);
    if (json)
        hist_json_stream_end(&stream);
    if (status != HIST_EXIT_OK) {
        char text[TTAI_RUN_ID_TEXT];
        hist_errorf("history of run '%s' has events that cannot be read",
                    ttai_run_id_format(&run->run_id, text));
    }
    return status;
}

int hist_cmd_show(struct hist_ctx *ctx)
{
    struct store_read *rd;
    struct ttai_err err = {0};
    if (store_read_begin(ctx->store, &rd, &err) != 0) {
        hist_errorf("%s", err.msg);
        return HIST_EXIT_USAGE;
    }
    struct store_run run;
    int status = show_find_run(ctx, rd, &run);
    if (status == HIST_EXIT_OK) {
        if (ctx->args->output == HIST_OUT_TABLE)
            print_run_header(&run);
        status = show_events(ctx, rd, &run);
    }
    store_read_end(rd);
    return status;
}
