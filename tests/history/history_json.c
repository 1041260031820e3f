/* history_json: picks one value out of a JSON document, for the shell tests
 * (a fresh Debian machine has no jq).
 *
 *   history_json PATH < doc.json
 *
 * PATH is "." for the whole document, or segments joined by '.': a number
 * indexes an array, anything else names an object key, and a final "#"
 * gives the number of elements. A string prints bare; any other value
 * prints as compact JSON. Exit status 1 when the path leads nowhere, 2 when
 * the input is not JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *step(json_t *v, const char *seg)
{
    if (json_is_array(v)) {
        char *end;
        long i = strtol(seg, &end, 10);
        return *end == '\0' && i >= 0 ? json_array_get(v, (size_t)i) : NULL;
    }
    return json_is_object(v) ? json_object_get(v, seg) : NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: history_json PATH < doc.json\n");
        return 2;
    }
    json_error_t jerr;
    json_t *root = json_loadf(stdin, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "history_json: input is not JSON: %s (line %d)\n", jerr.text, jerr.line);
        return 2;
    }
    char *path = strdup(argv[1]);
    json_t *v = root;
    int status = 0;
    if (strcmp(path, ".") != 0) {
        for (char *save = NULL, *seg = strtok_r(path, ".", &save); seg != NULL && v != NULL;
             seg = strtok_r(NULL, ".", &save)) {
            if (strcmp(seg, "#") == 0) {
                size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
                printf("%zu\n", n);
                status = -1;
                break;
            }
            v = step(v, seg);
        }
    }
    if (status == 0 && v == NULL) {
        fprintf(stderr, "history_json: no value at '%s'\n", argv[1]);
        status = 1;
    } else if (status == 0 && json_is_string(v)) {
        printf("%s\n", json_string_value(v));
    } else if (status == 0) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s\n", text ? text : "?");
        free(text);
    }
    free(path);
    json_decref(root);
    return status < 0 ? 0 : status;
}
