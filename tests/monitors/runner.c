/* runner.c: runs one monitors test by name (CTest calls `monitors_tests
 * NAME`), or lists them (`monitors_tests --list`). Tests run with libcurl
 * set up and SIGPIPE ignored, as the daemon runs. */
#include "mon_test.h"

#include <signal.h>
#include <stdarg.h>
#include <unistd.h>

#include "activities.h"

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
    snprintf(tmpdir, sizeof(tmpdir), "%s/ttai-mon-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL)
        test__fail(__FILE__, __LINE__, "mkdtemp failed");
    atexit(remove_tmpdir);
    return tmpdir;
}

int main(int argc, char **argv)
{
    size_t count = sizeof(tests) / sizeof(tests[0]);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: monitors_tests NAME [ARG] | --list\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(argv[1], tests[i].name) == 0) {
            if (argc > 2)
                setenv("MONITORS_TEST_ARG", argv[2], 1);
            struct ttai_err err = {0};
            if (act_global_init(&err) != 0)
                test__fail(__FILE__, __LINE__, "act_global_init: %s", err.msg);
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
