/* runner.c: runs one alert test by name (CTest calls `alerts_tests NAME`),
 * or lists them (`alerts_tests --list`). Each test runs with libcurl set
 * up and SIGPIPE ignored, as the daemon runs. */
#include "alerts_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST(name) void test_##name(void);
#include "test_list.h"
#undef TEST

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
#define TEST(name) {#name, test_##name},
#include "test_list.h"
#undef TEST
};

static char tmpdir[512];

void test__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void remove_tmpdir(void)
{
    if (tmpdir[0] == '\0' || getenv("TTAI_KEEP_TMP") != NULL)
        return;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

const char *test_tmpdir(void)
{
    if (tmpdir[0] != '\0')
        return tmpdir;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof(tmpdir), "%s/ttai-alerts-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL)
        test__fail(__FILE__, __LINE__, "mkdtemp failed");
    atexit(remove_tmpdir);
    return tmpdir;
}

/* The SMTP test server and smtp_util.h decode base64 with this. */
char *test_base64_decode(const char *s, size_t n, size_t *len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(n + 1);
    ASSERT(out != NULL);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n' || s[i] == ' ' || s[i] == '=')
            continue;
        const char *at = memchr(alphabet, s[i], 64);
        ASSERT(at != NULL);
        acc = (acc << 6) | (uint32_t)(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    if (len != NULL)
        *len = o;
    return out;
}

json_t *test_json(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        test__fail(__FILE__, __LINE__, "not JSON (%s): %s", jerr.text, text);
    return j;
}

void test__json_eq(const char *file, int line, const char *what, const json_t *got,
                   const json_t *want)
{
    if (got != NULL && json_equal(got, want))
        return;
    char *g = got != NULL ? json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    test__fail(file, line, "%s:\n  got  %s\n  want %s", what, g ? g : "(null)", w ? w : "?");
}

char *test_payload_json(struct ttai_payload p)
{
    char *text = ttai_payload_to_json(p);
    ASSERT(text != NULL);
    return text;
}

/* True when some file under dir holds needle. */
bool test_dir_has(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    ASSERT(d != NULL);
    bool found = false;
    for (struct dirent *e = readdir(d); !found && e != NULL; e = readdir(d)) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            found = test_dir_has(path, needle);
            continue;
        }
        FILE *f = fopen(path, "rb");
        ASSERT(f != NULL);
        char *buf = malloc((size_t)st.st_size + 1);
        ASSERT(buf != NULL);
        size_t n = fread(buf, 1, (size_t)st.st_size, f);
        found = memmem(buf, n, needle, strlen(needle)) != NULL;
        free(buf);
        fclose(f);
    }
    closedir(d);
    return found;
}

int main(int argc, char **argv)
{
    size_t count = sizeof(tests) / sizeof(tests[0]);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: alerts_tests NAME | --list\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(argv[1], tests[i].name) == 0) {
            struct ttai_err err;
            ASSERT_OK(act_global_init(&err), &err);
            tests[i].fn();
            ASSERT_OK(alert_channels_configure(NULL, &err), &err);
            act_thread_release();
            act_global_cleanup();
            printf("ok %s\n", tests[i].name);
            return 0;
        }
    }
    fprintf(stderr, "no test named '%s'\n", argv[1]);
    return 2;
}
