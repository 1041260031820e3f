/* runner.c: runs one activities test by name (CTest calls `act_tests NAME`),
 * or lists them (`act_tests --list`). Each test runs with libcurl set up
 * (act_global_init) and SIGPIPE ignored, as a daemon would run. */
#include "act_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
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
    snprintf(tmpdir, sizeof(tmpdir), "%s/ttai-act-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL)
        test__fail(__FILE__, __LINE__, "mkdtemp failed");
    atexit(remove_tmpdir);
    return tmpdir;
}

int64_t test_mono_ms(void)
{
    return ttai_mono_ns() / 1000000;
}

void test_nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

char *test_base64_decode(const char *s, size_t n, size_t *len)
{
    char *out = malloc(n + 1);
    ASSERT(out != NULL);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n' || s[i] == ' ' || s[i] == '=')
            continue;
        int v = b64_value(s[i]);
        ASSERT(v >= 0);
        acc = (acc << 6) | (uint32_t)v;
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

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t n = strlen(needle), cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ASSERT(buf != NULL);
    int found = 0;
    /* Keeps the last n-1 bytes between reads so a match may straddle them. */
    while (!found) {
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
        found = memmem(buf, len, needle, n) != NULL;
        if (len >= n) {
            memmove(buf, buf + len - (n - 1), n - 1);
            len = n - 1;
        }
    }
    free(buf);
    fclose(f);
    return found;
}

int test_dir_contains(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int found = 0;
    for (struct dirent *e = readdir(d); !found && e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        found = S_ISDIR(st.st_mode) ? test_dir_contains(path, needle) : file_contains(path, needle);
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
        fprintf(stderr, "usage: act_tests NAME | --list\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(argv[1], tests[i].name) == 0) {
            struct ttai_err err;
            ASSERT_OK(act_global_init(&err), &err);
            tests[i].fn();
            act_thread_release();
            act_global_cleanup();
            printf("ok %s\n", tests[i].name);
            return 0;
        }
    }
    fprintf(stderr, "no test named '%s'\n", argv[1]);
    return 2;
}
