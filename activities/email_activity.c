/* email_activity.c: the "send_email" activity type, an adapter from a
 * msgpack input map to act_smtp_send().
 *
 * Only the message comes from the input (and so from the journal): the
 * server, the credentials and the sender are the module's settings. The
 * Message-ID derives from the attempt's idempotency key, so a retry after
 * a lost reply sends the same id and the receiver can drop the duplicate.
 */
#include "act_int.h"

#include <string.h>

struct email_input {
    struct act_smtp_message msg;
    const char *to[ACT_SMTP_RECIPIENTS_MAX];
    char *owned[ACT_SMTP_RECIPIENTS_MAX + 3];     /* NUL-terminated copies; ttai_free */
    size_t owned_count;
    char problem[160];
};

static void input_release(struct email_input *in)
{
    for (size_t i = 0; i < in->owned_count; i++)
        ttai_free(in->owned[i]);
}

/* A copy of a string field; NULL (problem set) when absent or not a string
 * and required, or when it holds a NUL. */
static char *input_str(struct email_input *in, const msgpack_object *o, const char *what,
                       bool required)
{
    const char *p;
    size_t len;
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL) {
        if (required)
            act__msgf(in->problem, sizeof(in->problem), "'%s' is required", what);
        return NULL;
    }
    if (!ttai_obj_str(o, &p, &len) || memchr(p, '\0', len) != NULL) {
        act__msgf(in->problem, sizeof(in->problem), "'%s' must be a string", what);
        return NULL;
    }
    TTAI_ASSERT(in->owned_count < sizeof(in->owned) / sizeof(in->owned[0]));
    char *copy = ttai_strndup(p, len);
    if (copy == NULL)
        act__msgf(in->problem, sizeof(in->problem), "out of memory");
    else
        in->owned[in->owned_count++] = copy;
    return copy;
}

static bool input_to(struct email_input *in, const msgpack_object *to)
{
    in->msg.to = in->to;
    if (to != NULL && to->type == MSGPACK_OBJECT_STR) {
        in->to[0] = input_str(in, to, "to", true);
        in->msg.to_count = 1;
        return in->to[0] != NULL;
    }
    if (to == NULL || to->type != MSGPACK_OBJECT_ARRAY || to->via.array.size == 0 ||
        to->via.array.size > ACT_SMTP_RECIPIENTS_MAX) {
        act__msgf(in->problem, sizeof(in->problem), "'to' must be an address or an array of "
                  "1 to %d addresses", ACT_SMTP_RECIPIENTS_MAX);
        return false;
    }
    for (uint32_t i = 0; i < to->via.array.size; i++) {
        in->to[i] = input_str(in, &to->via.array.ptr[i], "to", true);
        if (in->to[i] == NULL)
            return false;
    }
    in->msg.to_count = to->via.array.size;
    return true;
}

static bool input_parse(struct email_input *in, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP) {
        act__msgf(in->problem, sizeof(in->problem), "the input must be a map");
        return false;
    }
    if (!input_to(in, ttai_obj_get(o, "to")))
        return false;
    in->msg.subject = input_str(in, ttai_obj_get(o, "subject"), "subject", true);
    if (in->msg.subject == NULL)
        return false;
    in->msg.text = input_str(in, ttai_obj_get(o, "text"), "text", true);
    if (in->msg.text == NULL)
        return false;
    in->problem[0] = '\0';
    in->msg.html = input_str(in, ttai_obj_get(o, "html"), "html", false);
    return in->problem[0] == '\0';
}

static int send_email_run(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                          struct ttai_buf *out)
{
    struct email_input in;
    memset(&in, 0, sizeof(in));
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int rc;
    if (ttai_payload_unpack(&r, input, &o) != 0) {
        rc = ttai_activity_fail(ctx, "SmtpInvalid", false, "send_email input is not msgpack");
    } else if (!input_parse(&in, &o)) {
        rc = ttai_activity_fail(ctx, "SmtpInvalid", false, "invalid send_email input: %s",
                                in.problem);
    } else {
        in.msg.message_id_seed = ttai_activity_idempotency_key(ctx);
        struct act_smtp_result res;
        rc = act_smtp_send(&in.msg, &res);
        if (rc != 0) {
            rc = act_smtp_fail(ctx, &res);
        } else {
            ttai_buf_map(out, 2);
            ttai_buf_str(out, "message_id");
            ttai_buf_str(out, res.message_id);
            ttai_buf_str(out, "recipients");
            ttai_buf_int(out, (int64_t)in.msg.to_count);
        }
    }
    ttai_reader_release(&r);
    input_release(&in);
    return rc;
}

const struct ttai_activity_def act_send_email_def = {"send_email", send_email_run};
