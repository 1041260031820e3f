/* crash_test.c: kills a writer process at random moments and checks that
 * nothing it acknowledged is lost and that the store stays consistent.
 *
 *   crash_test --writer PATH [--history PATH] [--kills N] [--dir-base DIR]
 *              [--threads N] [--delay-ms MIN MAX] [--keep]
 *
 * The writer (crash_writer.c) appends batches in a loop and prints an `ack`
 * line for each batch once it is durable. Each round this driver starts it
 * on the same directory, waits for `ready` (it recovered the open runs),
 * lets it run for a random MIN..MAX ms (20..300 by default) and kills it
 * with SIGKILL; one round in six kills it at a random moment of its start
 * instead. After every kill:
 *
 *   - `ttai-history --data DIR verify` (with --history) must exit 0;
 *   - every event acknowledged so far, by this writer or an earlier one, is
 *     in the store with the acknowledged type, and every acknowledged close
 *     is there (crash_check_acks);
 *   - the store keeps the writer's invariants (crash_check_store);
 *   - the next writer must report as many open runs as the store has.
 *
 * A last round stops the writer with SIGTERM: it must finish the batches in
 * flight, close the store and exit 0. The acks of one run must follow each
 * other without gap within a round and never overlap across rounds.
 *
 * Randomness comes from one seeded PRNG: the seed is printed and
 * TTAI_SEED=... replays the same delays (the kill moments still race with
 * the writer, so a replay is close, not identical). TTAI_CRASH_KILLS
 * overrides --kills. The data directory is removed after a pass and kept
 * (its path printed) after a failure.
 */
#include "crash.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 30000      /* a writer must recover within this */
#define STOP_TIMEOUT_MS 60000       /* and stop cleanly within this */
#define EARLY_KILL_MS_MAX 40        /* kills during start-up land in 0..this */
#define LINE_MAX_ 4096
#define TOOL_OUTPUT_MAX 16384

enum round_mode { ROUND_KILL_RUNNING, ROUND_KILL_EARLY, ROUND_STOP };

/* The last acknowledged event of a run, for the gap/overlap check. */
struct run_seen {
    struct ttai_run_id run;
    uint64_t last_event_id;
    int round;
    bool used;
};

struct driver {
    const char *writer;
    const char *history;            /* ttai-history, or NULL */
    int kills;
    int threads;
    int delay_ms_min, delay_ms_max;
    bool keep;
    char base[PATH_MAX];            /* our temporary directory */
    char dir[PATH_MAX + 16];        /* the store in it */
    uint64_t seed, rng;

    struct crash_ack *acks;
    size_t ack_count, ack_cap;
    struct run_seen *seen;          /* open addressing, cap a power of two */
    size_t seen_count, seen_cap;
    long running_expected;          /* open runs at the last check; -1: unknown */
    int failures;

    /* The round in progress. */
    int round;
    bool ready, bye;
    size_t round_first_ack;
    uint64_t runs_taken_over;       /* acked in a later round than their first */
    uint64_t acked_closes, acked_continues;
};

static void failf(struct driver *d, const char *fmt, ...) TTAI_PRINTF(2, 3);

static void failf(struct driver *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crash_test: round %d: ", d->round);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    d->failures++;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static int64_t now_ms(void)
{
    return ttai_mono_ns() / 1000000;
}

static void *xrealloc(void *p, size_t size)
{
    void *grown = ttai_realloc(p, size);
    if (grown == NULL) {
        fprintf(stderr, "crash_test: out of memory\n");
        exit(1);
    }
    return grown;
}

/* ---- Runs seen in acks --------------------------------------------------------- */

static struct run_seen *seen_slot(struct driver *d, const struct ttai_run_id *run)
{
    uint64_t h = 0;
    memcpy(&h, run->b, sizeof(h)); /* run ids are random */
    size_t mask = d->seen_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask)
        if (!d->seen[i].used || ttai_run_id_eq(&d->seen[i].run, run))
            return &d->seen[i];
}

static struct run_seen *seen_get(struct driver *d, const struct ttai_run_id *run)
{
    if (2 * (d->seen_count + 1) > d->seen_cap) {
        struct run_seen *old = d->seen;
        size_t old_cap = d->seen_cap;
        d->seen_cap = old_cap ? old_cap * 2 : 1024;
        d->seen = ttai_calloc(d->seen_cap, sizeof(*d->seen));
        if (d->seen == NULL) {
            fprintf(stderr, "crash_test: out of memory\n");
            exit(1);
        }
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].used)
                *seen_slot(d, &old[i].run) = old[i];
        ttai_free(old);
    }
    struct run_seen *s = seen_slot(d, run);
    if (!s->used) {
        *s = (struct run_seen){.run = *run, .round = -1, .used = true};
        d->seen_count++;
    }
    return s;
}

/* ---- The writer's output -------------------------------------------------------- */

static bool parse_ack(const char *line, struct crash_ack *a)
{
    char run_text[64], types[256];
    int status;
    memset(a, 0, sizeof(*a));
    if (sscanf(line, "ack %63s %" SCNu64 " %d %255s %d", run_text, &a->first_event_id, &a->count,
               types, &status) != 5)
        return false;
    if (ttai_run_id_parse(run_text, &a->run) != 0 || a->count < 1 ||
        a->count > CRASH_SEG_EVENTS_MAX || a->first_event_id == 0)
        return false;
    a->status = status;
    int n = 0;
    for (char *tok = strtok(types, ","); tok != NULL; tok = strtok(NULL, ",")) {
        int type = atoi(tok);
        if (n == a->count || store_event_type_name(type) == NULL)
            return false;
        a->types[n++] = (uint8_t)type;
    }
    return n == a->count;
}

static void on_ack(struct driver *d, const char *line)
{
    struct crash_ack a;
    if (!parse_ack(line, &a)) {
        failf(d, "malformed line from the writer: '%s'", line);
        return;
    }
    a.incarnation = d->round;
    struct run_seen *s = seen_get(d, &a.run);
    char id[TTAI_RUN_ID_TEXT];
    if (s->round == d->round && a.first_event_id != s->last_event_id + 1)
        failf(d, "run %s: ack of events from %" PRIu64 " after %" PRIu64,
              ttai_run_id_format(&a.run, id), a.first_event_id, s->last_event_id);
    if (s->round != d->round && a.first_event_id <= s->last_event_id)
        failf(d, "run %s: ack of events from %" PRIu64 " overlaps an earlier ack to %" PRIu64,
              ttai_run_id_format(&a.run, id), a.first_event_id, s->last_event_id);
    if (s->round >= 0 && s->round != d->round)
        d->runs_taken_over++;
    s->round = d->round;
    s->last_event_id = a.first_event_id + (uint64_t)a.count - 1;
    d->acked_closes += a.status > STORE_RUN_RUNNING && a.status != STORE_RUN_CONTINUED_AS_NEW;
    d->acked_continues += a.status == STORE_RUN_CONTINUED_AS_NEW;
    if (d->ack_count == d->ack_cap) {
        d->ack_cap = d->ack_cap ? d->ack_cap * 2 : 4096;
        d->acks = xrealloc(d->acks, d->ack_cap * sizeof(*d->acks));
    }
    d->acks[d->ack_count++] = a;
}

static void on_line(struct driver *d, const char *line)
{
    long open_runs;
    if (strncmp(line, "ack ", 4) == 0) {
        on_ack(d, line);
    } else if (sscanf(line, "ready %ld", &open_runs) == 1) {
        if (d->running_expected >= 0 && open_runs != d->running_expected)
            failf(d, "the writer took over %ld open runs; the store has %ld", open_runs,
                  d->running_expected);
        d->ready = true;
    } else if (strcmp(line, "bye") == 0) {
        d->bye = true;
    } else {
        failf(d, "unexpected line from the writer: '%s'", line);
    }
}

struct line_reader {
    int fd;
    char buf[LINE_MAX_];
    size_t len;
    bool eof;
};

/* Reads what the writer wrote until deadline_ms (monotonic), EOF, or, when
 * until_ready, its ready line. */
static void pump(struct driver *d, struct line_reader *lr, int64_t deadline_ms, bool until_ready)
{
    while (!lr->eof && !(until_ready && d->ready)) {
        int64_t left = deadline_ms - now_ms();
        if (left <= 0)
            return;
        struct pollfd pfd = {.fd = lr->fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
        if (n <= 0)
            continue;
        ssize_t got = read(lr->fd, lr->buf + lr->len, sizeof(lr->buf) - lr->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            lr->eof = true;
            if (lr->len > 0)
                failf(d, "the writer's output ends in a partial line");
            return;
        }
        lr->len += (size_t)got;
        char *start = lr->buf, *nl;
        while ((nl = memchr(start, '\n', lr->len - (size_t)(start - lr->buf))) != NULL) {
            *nl = '\0';
            on_line(d, start);
            start = nl + 1;
        }
        lr->len -= (size_t)(start - lr->buf);
        memmove(lr->buf, start, lr->len);
        if (lr->len == sizeof(lr->buf)) {
            failf(d, "a line from the writer is too long");
            lr->len = 0;
        }
    }
}

/* ---- One round ---------------------------------------------------------------------- */

static pid_t spawn_writer(struct driver *d, int *out_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        perror("crash_test: pipe");
        exit(1);
    }
    char threads[16], seed[32];
    snprintf(threads, sizeof(threads), "%d", d->threads);
    snprintf(seed, sizeof(seed), "%" PRIu64, rng_next(&d->rng));
    char *argv[] = {(char *)d->writer, d->dir, "--threads", threads, "--seed", seed, NULL};
    pid_t pid = fork();
    if (pid < 0) {
        perror("crash_test: fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        execv(d->writer, argv);
        fprintf(stderr, "crash_test: cannot run '%s': %s\n", d->writer, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

static const char *status_text(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "ended with wait status %d", status);
    return buf;
}

/* Runs one writer process to its end. Returns the ms it ran after ready
 * (or after its start, for an early kill). */
static int64_t run_round(struct driver *d, enum round_mode mode)
{
    struct line_reader lr = {0};
    d->ready = d->bye = false;
    d->round_first_ack = d->ack_count;
    pid_t pid = spawn_writer(d, &lr.fd);
    int64_t t0 = now_ms(), deadline;
    int span = d->delay_ms_max - d->delay_ms_min + 1;
    if (mode == ROUND_KILL_EARLY) {
        deadline = t0 + (int64_t)(rng_next(&d->rng) % (EARLY_KILL_MS_MAX + 1));
    } else {
        pump(d, &lr, t0 + READY_TIMEOUT_MS, true);
        if (!d->ready)
            failf(d, "the writer did not become ready within %d ms", READY_TIMEOUT_MS);
        t0 = now_ms();
        deadline = t0 + d->delay_ms_min + (int64_t)(rng_next(&d->rng) % (uint64_t)span);
    }
    pump(d, &lr, deadline, false);
    bool died_early = lr.eof;
    int64_t ran_ms = now_ms() - t0;
    /* pid is our own child, not yet reaped: the signal cannot reach another process. */
    kill(pid, mode == ROUND_STOP ? SIGTERM : SIGKILL);
    pump(d, &lr, now_ms() + STOP_TIMEOUT_MS, false);
    if (!lr.eof)
        failf(d, "the writer's output did not end after the signal");
    close(lr.fd);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char text[96];
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (mode == ROUND_STOP && !(WIFEXITED(status) && WEXITSTATUS(status) == 0 && d->bye))
        failf(d, "the writer did not stop cleanly: it %s", status_text(status, text, sizeof(text)));
    if (mode != ROUND_STOP && (died_early || !killed))
        failf(d, "the writer %s before it was killed", status_text(status, text, sizeof(text)));
    return ran_ms;
}

/* ---- Checks ------------------------------------------------------------------------- */

/* Runs `ttai-history --data DIR verify`; prints its output when it fails. */
static void run_verify(struct driver *d)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        perror("crash_test: pipe");
        exit(1);
    }
    char *argv[] = {(char *)d->history, "--data", d->dir, "verify", NULL};
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execv(d->history, argv);
        fprintf(stderr, "cannot run '%s': %s\n", d->history, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    static char out[TOOL_OUTPUT_MAX];
    size_t len = 0;
    ssize_t got;
    while ((got = read(fds[0], out + len, sizeof(out) - 1 - len)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        len += (size_t)got;
        if (len == sizeof(out) - 1) {
            char sink[4096]; /* keep draining so the tool never blocks */
            while (read(fds[0], sink, sizeof(sink)) > 0) {
            }
            break;
        }
    }
    out[len] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char text[96];
        failf(d, "ttai-history verify %s:\n%s", status_text(status, text, sizeof(text)), out);
    }
}

static void check_round(struct driver *d, const char *how, int64_t ran_ms)
{
    if (d->history != NULL)
        run_verify(d);
    int problems = crash_check_acks(d->dir, d->acks, d->ack_count);
    struct crash_stats st;
    problems += crash_check_store(d->dir, &st);
    if (problems > 0)
        failf(d, "%d problems in the store", problems);
    d->running_expected = (long)st.running;
    printf("round %2d: %-13s %4" PRId64 " ms, %5zu acks | store: %5" PRIu64 " runs (%2" PRIu64
           " open), %7" PRIu64 " events, %2" PRIu64 " timers, %2" PRIu64 " activities%s\n",
           d->round, how, ran_ms, d->ack_count - d->round_first_ack, st.runs, st.running,
           st.events, st.timers, st.activities, d->history != NULL ? ", verify ok" : "");
    fflush(stdout);
}

/* ---- Set-up ------------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "crash_test: cannot remove '%s': %s\n", path, strerror(errno));
    return 0;
}

static bool on_ram_fs(const char *dir)
{
    struct statfs st;
    return statfs(dir, &st) != 0 || st.f_type == 0x01021994 /* tmpfs */ ||
           st.f_type == (typeof(st.f_type))0x858458f6 /* ramfs */;
}

static void make_dirs(struct driver *d, const char *base)
{
    const char *bases[] = {base, getenv("TMPDIR"), "/var/tmp", "/tmp", "."};
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        if (bases[i] == NULL || bases[i][0] == '\0' || on_ram_fs(bases[i]))
            continue;
        snprintf(d->base, sizeof(d->base), "%s/crash-XXXXXX", bases[i]);
        if (mkdtemp(d->base) != NULL) {
            snprintf(d->dir, sizeof(d->dir), "%s/store", d->base);
            return;
        }
    }
    fprintf(stderr, "crash_test: no directory on a real disk for the store\n");
    exit(1);
}

static int usage(void)
{
    fprintf(stderr, "usage: crash_test --writer PATH [--history PATH] [--kills N] "
                    "[--dir-base DIR] [--threads N] [--delay-ms MIN MAX] [--keep]\n");
    return 2;
}

static int parse_args(struct driver *d, int argc, char **argv, const char **base)
{
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--writer") == 0 && has_value)
            d->writer = argv[++i];
        else if (strcmp(argv[i], "--history") == 0 && has_value)
            d->history = argv[++i];
        else if (strcmp(argv[i], "--kills") == 0 && has_value)
            d->kills = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dir-base") == 0 && has_value)
            *base = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && has_value)
            d->threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--delay-ms") == 0 && i + 2 < argc) {
            d->delay_ms_min = atoi(argv[++i]);
            d->delay_ms_max = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--keep") == 0)
            d->keep = true;
        else
            return usage();
    }
    const char *env = getenv("TTAI_CRASH_KILLS");
    if (env != NULL)
        d->kills = atoi(env);
    if (d->writer == NULL || d->kills < 1 || d->threads < 1 || d->delay_ms_min < 0 ||
        d->delay_ms_max < d->delay_ms_min)
        return usage();
    return 0;
}

static void seed_rng(struct driver *d)
{
    const char *env = getenv("TTAI_SEED");
    d->seed = env != NULL ? strtoull(env, NULL, 10)
                          : (uint64_t)ttai_wall_ms() ^ ((uint64_t)getpid() << 32);
    if (d->seed == 0)
        d->seed = 1;
    d->rng = d->seed;
    printf("seed: TTAI_SEED=%" PRIu64 "\n", d->seed);
}

int main(int argc, char **argv)
{
    static struct driver d = {.kills = 25, .threads = 4, .delay_ms_min = 20,
                              .delay_ms_max = 300, .running_expected = -1};
    const char *base = NULL;
    if (parse_args(&d, argc, argv, &base) != 0)
        return 2;
    seed_rng(&d);
    make_dirs(&d, base);
    printf("store: %s; %d kills; writer %s%s%s\n", d.dir, d.kills, d.writer,
           d.history ? "; verify with " : "", d.history ? d.history : "");
    for (d.round = 0; d.round <= d.kills; d.round++) {
        enum round_mode mode = d.round == d.kills ? ROUND_STOP
                               : d.round > 0 && rng_next(&d.rng) % 6 == 0 ? ROUND_KILL_EARLY
                               : ROUND_KILL_RUNNING;
        int64_t ran_ms = run_round(&d, mode);
        check_round(&d, mode == ROUND_STOP ? "stopped" : mode == ROUND_KILL_EARLY
                                                             ? "killed early" : "killed",
                    ran_ms);
        if (d.failures > 0)
            break;
    }
    printf("acks: %zu; closes acked: %" PRIu64 "; continue-as-new acked: %" PRIu64
           "; runs taken over by a later writer: %" PRIu64 "\n",
           d.ack_count, d.acked_closes, d.acked_continues, d.runs_taken_over);
    if (d.failures == 0 && d.kills >= 10 &&
        (d.acked_closes == 0 || d.acked_continues == 0 || d.runs_taken_over == 0))
        failf(&d, "the rounds did not cover closes, continues and take-overs");
    if (d.failures > 0 || d.keep) {
        printf("%s: data kept in %s (replay with TTAI_SEED=%" PRIu64 ")\n",
               d.failures ? "FAIL" : "ok", d.base, d.seed);
    } else {
        /* Failures are reported per entry by remove_entry. */
        (void)nftw(d.base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        printf("ok\n");
    }
    ttai_free(d.acks);
    ttai_free(d.seen);
    return d.failures > 0 ? 1 : 0;
}
