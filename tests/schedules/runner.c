/* runner.c: runs one schedule test by name (CTest calls `sched_tests NAME`),
 * or lists them (`sched_tests --list`). */
#include "sched_test.h"

#include <stdarg.h>
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

static char tmpdir[512];

static void tmpdir_remove(void)
{
    if (tmpdir[0] == '\0' || getenv("TTAI_KEEP_TMP") != NULL)
        return;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

const char *sched_tmpdir(void)
{
    if (tmpdir[0] != '\0')
        return tmpdir;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof(tmpdir), "%s/ttai-sched-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL)
        test__fail(__FILE__, __LINE__, "mkdtemp failed");
    atexit(tmpdir_remove);
    return tmpdir;
}

int64_t sched_time(const char *rfc3339)
{
    struct ttai_err err = {0};
    int64_t t = 0;
    if (eng_rfc3339_parse(rfc3339, &t, &err) != 0)
        test__fail(__FILE__, __LINE__, "bad test time '%s': %s", rfc3339, err.msg);
    return t;
}

void sched__assert_time(const char *file, int line, const char *expr, int64_t got_s,
                        const char *want)
{
    int64_t want_s = sched_time(want);
    if (got_s != want_s) {
        char got[64];
        test__fail(file, line, "%s: got %s, want %s", expr,
                   eng_rfc3339_format(got_s, got, sizeof(got)), want);
    }
}

struct eng_sched_spec *sched_spec(const char *cron, const char *tz, const char *gap,
                                  const char *repeat, const char *calendar)
{
    struct eng_sched_spec_text text = {cron, tz, gap, repeat, calendar};
    struct eng_sched_spec *spec = NULL;
    struct ttai_err err = {0};
    if (eng_sched_spec_new(&spec, &text, &err) != 0)
        test__fail(__FILE__, __LINE__, "spec '%s' in %s refused: %s", cron, tz ? tz : "UTC",
                   err.msg);
    return spec;
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
        fprintf(stderr, "usage: sched_tests NAME | --list\n");
        return 2;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(argv[1], tests[i].name) == 0) {
            tests[i].fn();
            printf("ok %s\n", tests[i].name);
            return 0;
        }
    }
    fprintf(stderr, "no test named '%s'\n", argv[1]);
    return 2;
}
