/* harness.c: the suites' runner and the helpers of harness.h. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What test_main() was given, for test_arg() and the temporary directory's
 * name. */
static const char *program = "test";
static const char *arg;

static char tmpdir[512];

/* ---- The runner ---------------------------------------------------------- */

static const struct test_case *find_case(const char *name)
{
    for (size_t i = 0; i < test__case_count; i++)
        if (strcmp(test__cases[i].name, name) == 0)
            return &test__cases[i];
    return NULL;
}

static int run_one(const struct test_case *tc, const struct test_hooks *hooks)
{
    if (hooks != NULL && hooks->setup != NULL)
        hooks->setup();
    tc->run();
    if (hooks != NULL && hooks->teardown != NULL)
        hooks->teardown();
    printf("ok %s\n", tc->name);
    return 0;
}

/* Runs `self NAME` and waits for it: the test gets a fresh process, exactly
 * as under CTest. Returns its exit status, or -1 when it did not exit. */
static int run_child(char *self, const char *name)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", program, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char *child_argv[] = {self, (char *)name, NULL};
        execvp(self, child_argv);
        fprintf(stderr, "%s: exec %s: %s\n", program, self, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(status))
        fprintf(stderr, "%s: killed by signal %d\n", name, WTERMSIG(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_all(char *self)
{
    size_t passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < test__case_count; i++) {
        const char *name = test__cases[i].name;
        int status = run_child(self, name);
        if (status == 0) {
            passed++;
        } else if (status == TEST_SKIP_CODE) {
            skipped++;
            printf("skip %s\n", name);
        } else {
            failed++;
            printf("FAIL %s (exit %d)\n", name, status);
        }
    }
    printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
}

int test_main(int argc, char **argv, const struct test_hooks *hooks)
{
    const char *slash = strrchr(argv[0], '/');
    program = slash != NULL ? slash + 1 : argv[0];
    if (argc == 1)
        return run_all(argv[0]);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < test__case_count; i++)
            printf("%s\n", test__cases[i].name);
        return 0;
    }
    if (argc > 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s [NAME [ARG] | --list]\n", program);
        return 2;
    }
    const struct test_case *tc = find_case(argv[1]);
    if (tc == NULL) {
        fprintf(stderr, "no test named '%s'\n", argv[1]);
        return 2;
    }
    arg = argc == 3 ? argv[2] : NULL;
    return run_one(tc, hooks);
}

const char *test_arg(void)
{
    return arg;
}

/* ---- Assertions ---------------------------------------------------------- */

void test__json_eq(const char *file, int line, const char *what, const json_t *got,
                   const json_t *want)
{
    if (got != NULL && json_equal(got, want))
        return;
    char *g = got != NULL ? json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    test__fail(file, line, "%s:\n  got  %s\n  want %s", what, g ? g : "(null)", w ? w : "?");
}

/* ---- Helpers ------------------------------------------------------------- */

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
    int n = snprintf(tmpdir, sizeof(tmpdir), "%s/ttai-%s-XXXXXX", base, program);
    if (n < 0 || (size_t)n >= sizeof(tmpdir) || mkdtemp(tmpdir) == NULL)
        test__fail(__FILE__, __LINE__, "mkdtemp %s failed", tmpdir);
    atexit(remove_tmpdir);
    return tmpdir;
}

uint64_t test_seed(void)
{
    static uint64_t seed;
    if (seed != 0)
        return seed;
    const char *env = getenv("TTAI_SEED");
    if (env != NULL)
        seed = strtoull(env, NULL, 10);
    else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_sec;
    }
    if (seed == 0)
        seed = 1;
    fprintf(stderr, "seed: TTAI_SEED=%" PRIu64 "\n", seed);
    return seed;
}

uint64_t test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

json_t *test_json(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        test__fail(__FILE__, __LINE__, "not JSON (%s): %s", jerr.text, text);
    return j;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        test__fail(__FILE__, __LINE__, "cannot read %s: %s", path, strerror(errno));
    size_t n = strlen(needle), cap = (size_t)1 << 16, len = 0;
    ASSERT(n > 0 && n < cap);
    char *buf = malloc(cap);
    ASSERT(buf != NULL);
    bool found = false;
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

bool test_dir_contains(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        test__fail(__FILE__, __LINE__, "cannot list %s: %s", dir, strerror(errno));
    bool found = false;
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
