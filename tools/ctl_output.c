/* ctl_output.c: how ttaictl prints: aligned tables, events, JSON.
 *
 * Tables are for people: columns aligned to their widest cell, times as
 * ttaid gives them (RFC 3339 UTC), "-" for what is not there, control
 * characters shown as '?' so that a strange id cannot break the layout.
 * JSON is for scripts: indented documents, or one value per line for
 * streams (flushed at once, so a reader sees each event when it happens).
 */
#include "ctl_int.h"

#include <stdlib.h>
#include <string.h>

#define DETAILS_CHARS_MAX 160 /* of an event's attributes in a table row */

/* ---- Tables ----------------------------------------------------------------- */

void ctl_table_init(struct ctl_table *t, int cols)
{
    TTAI_ASSERT(cols > 0 && cols <= CTL_TABLE_COLS_MAX);
    t->cols = cols;
    t->rows = t->cap = 0;
    t->cells = NULL;
    t->full = false;
}

/* A copy of s for a cell: control characters become '?'. */
static char *cell_dup(const char *s)
{
    char *c = ttai_strndup(s ? s : "-", strlen(s ? s : "-"));
    ctl_printable(c);
    return c;
}

int ctl_table_add(struct ctl_table *t, const char *const *cells)
{
    if (t->rows >= CTL_TABLE_ROWS_MAX) {
        t->full = true;
        return -1;
    }
    if (t->rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **grown = ttai_realloc(t->cells, cap * (size_t)t->cols * sizeof(char *));
        if (grown == NULL)
            return -1;
        t->cells = grown;
        t->cap = cap;
    }
    char **row = t->cells + t->rows * (size_t)t->cols;
    for (int c = 0; c < t->cols; c++) {
        row[c] = cell_dup(cells[c]);
        if (row[c] == NULL) {
            for (int k = 0; k < c; k++)
                ttai_free(row[k]);
            return -1;
        }
    }
    t->rows++;
    return 0;
}

void ctl_table_print(const struct ctl_table *t)
{
    size_t width[CTL_TABLE_COLS_MAX] = {0};
    for (size_t r = 0; r < t->rows; r++)
        for (int c = 0; c < t->cols; c++) {
            size_t w = strlen(t->cells[r * (size_t)t->cols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->cols; c++) {
            const char *cell = t->cells[r * (size_t)t->cols + c];
            if (c == t->cols - 1)
                printf("%s\n", cell);
            else
                printf("%-*s  ", (int)width[c], cell);
        }
    }
    if (t->full)
        ctl_errorf("only the first %d rows are shown; use --output json for all of them",
                   CTL_TABLE_ROWS_MAX);
}

void ctl_table_release(struct ctl_table *t)
{
    for (size_t i = 0; i < t->rows * (size_t)t->cols; i++)
        ttai_free(t->cells[i]);
    ttai_free(t->cells);
    ctl_table_init(t, t->cols);
}

/* ---- JSON ------------------------------------------------------------------- */

int ctl_json_print(const json_t *v)
{
    if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) != 0)
        return -1;
    fputc('\n', stdout);
    return ferror(stdout) ? -1 : 0;
}

int ctl_json_print_line(const json_t *v)
{
    if (json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        return -1;
    fputc('\n', stdout);
    return fflush(stdout) != 0 ? -1 : 0;
}

char *ctl_json_cell(const json_t *v)
{
    if (v == NULL || json_is_null(v))
        return ttai_strndup("-", 1);
    if (json_is_string(v)) {
        /* A terminal must not get an id's or a result's escapes. */
        char *c = ttai_strndup(json_string_value(v), json_string_length(v));
        ctl_printable(c);
        return c;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *copy = text ? ttai_strndup(text, strlen(text)) : NULL;
    free(text); /* jansson's allocation */
    return copy;
}

/* Appends s as one shell word: as it is when it holds only characters a
 * shell leaves alone, else in single quotes (a quote inside as '\''). */
static void shell_word(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);
    bool plain = s[0] != '\0';
    for (const char *p = s; *p != '\0' && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@%+=,", *p) != NULL;
    if (plain) {
        snprintf(buf + n, size - n, "%s", s);
        return;
    }
    if (n + 1 < size)
        buf[n++] = '\'';
    for (const char *p = s; *p != '\0' && n + 5 < size; p++) {
        if (*p == '\'') {
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *p;
        }
    }
    if (n + 1 < size)
        buf[n++] = '\'';
    buf[n] = '\0';
}

const char *ctl_show_command(const struct ctl_args *a, bool follow, char *buf, size_t size)
{
    snprintf(buf, size, CTL_PROG " ");
    if (strcmp(a->ns, NAMESPACE_DEFAULT) != 0) {
        snprintf(buf + strlen(buf), size - strlen(buf), "-n ");
        shell_word(buf, size, a->ns);
        snprintf(buf + strlen(buf), size - strlen(buf), " ");
    }
    snprintf(buf + strlen(buf), size - strlen(buf), "workflow show --id ");
    shell_word(buf, size, a->id);
    if (follow)
        snprintf(buf + strlen(buf), size - strlen(buf), " --follow");
    ctl_printable(buf);
    return buf;
}

void ctl_printable(char *s)
{
    for (char *p = s; p != NULL && *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

/* ---- Events ------------------------------------------------------------------ */

#define EVENT_ROW_FORMAT "%5s  %-24s  %-24s  %s\n"

void ctl_event_header_print(void)
{
    printf(EVENT_ROW_FORMAT, "ID", "TIME", "TYPE", "DETAILS");
}

/* Appends " key=value" to details (cut at DETAILS_CHARS_MAX). Strings are
 * quoted when they hold a space, so that the pairs stay readable. */
static void details_add(char *details, size_t size, const char *key, const json_t *value)
{
    size_t len = strlen(details);
    if (len >= DETAILS_CHARS_MAX)
        return;
    char *text;
    if (json_is_string(value) && strpbrk(json_string_value(value), " \"=") != NULL) {
        char *quoted = json_dumps(value, JSON_ENCODE_ANY);
        text = quoted ? ttai_strndup(quoted, strlen(quoted)) : NULL;
        free(quoted); /* jansson's allocation */
    } else {
        text = ctl_json_cell(value);
    }
    snprintf(details + len, size - len, "%s%s=%s", len ? " " : "", key, text ? text : "?");
    ttai_free(text);
    if (strlen(details) > DETAILS_CHARS_MAX)
        memcpy(details + DETAILS_CHARS_MAX - 3, "...", 4);
}

void ctl_event_row_print(const json_t *event)
{
    char id[32] = "?";
    const json_t *event_id = json_object_get(event, "event_id");
    if (json_is_integer(event_id))
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(event_id));
    const char *time = json_string_value(json_object_get(event, "time"));
    const char *type = json_string_value(json_object_get(event, "type"));
    char details[DETAILS_CHARS_MAX + 64] = "";
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)event, key, value) {
        if (strcmp(key, "event_id") != 0 && strcmp(key, "time") != 0 && strcmp(key, "type") != 0)
            details_add(details, sizeof(details), key, value);
    }
    for (char *p = details; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
    printf(EVENT_ROW_FORMAT, id, time ? time : "-", type ? type : "?", details);
}

void ctl_objects_table_print(const json_t *objects, const char *const *keys,
                             const char *const *header, int cols)
{
    struct ctl_table t;
    ctl_table_init(&t, cols);
    (void)ctl_table_add(&t, header);
    size_t i;
    const json_t *o;
    json_array_foreach(objects, i, o) {
        char *cells[CTL_TABLE_COLS_MAX];
        for (int c = 0; c < cols; c++)
            cells[c] = ctl_json_cell(json_object_get(o, keys[c]));
        (void)ctl_table_add(&t, (const char *const *)cells); /* out of memory: row left out */
        for (int c = 0; c < cols; c++)
            ttai_free(cells[c]);
    }
    ctl_table_print(&t);
    ctl_table_release(&t);
}
