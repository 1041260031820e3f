/* crash_engine.c: SIGKILL a process running the engine, restart, and check
 * that nothing acknowledged was lost and nothing was applied twice.
 *
 *   crash_engine child DIR     runs counters: starts them and sends "add"
 *                              signals, printing "sent ID V" before and
 *                              "ack ID V" after each durable signal
 *   crash_engine drive DIR HISTORY_TOOL [KILLS]
 *                              runs the child, kills it at random moments,
 *                              checks `ttai-history verify` after each kill,
 *                              then restarts once more and checks every
 *                              counter: acked sum <= value <= sent sum.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workflows.h"

#define COUNTERS 8

static int child(const char *dir)
{
    struct ttai_err err;
    struct ttai_testenv *env;
    if (ttai_testenv_open(&env, dir, &wf_samples_registry, 1763900000000LL, &err) != 0) {
        fprintf(stderr, "child: %s\n", err.msg);
        return 1;
    }
    if (ttai_testenv_settle(env) != 0)
        return 1;
    struct ttai_engine *eng = ttai_testenv_engine(env);
    unsigned seed = (unsigned)getpid();
    for (;;) {
        char id[32];
        snprintf(id, sizeof(id), "crash-%d", rand_r(&seed) % COUNTERS);
        struct ttai_buf b;
        ttai_buf_init(&b);
        ttai_buf_map(&b, 1);
        ttai_buf_str(&b, "every");
        ttai_buf_int(&b, 5);
        struct ttai_start_opts use = {.id_conflict = TTAI_CONFLICT_USE_EXISTING};
        if (ttai_engine_start(eng, "default", "counter", id, ttai_buf_payload(&b), &use, NULL,
                              &err) != 0) {
            fprintf(stderr, "child: start: %s\n", err.msg);
            return 1;
        }
        int v = 1 + rand_r(&seed) % 100;
        ttai_buf_reset(&b);
        ttai_buf_int(&b, v);
        printf("sent %s %d\n", id, v);
        fflush(stdout);
        if (ttai_engine_signal(eng, "default", id, NULL, "add", ttai_buf_payload(&b), &err) != 0) {
            fprintf(stderr, "child: signal: %s\n", err.msg);
            return 1;
        }
        printf("ack %s %d\n", id, v);
        fflush(stdout);
        ttai_buf_release(&b);
        if (ttai_testenv_settle(env) != 0)
            return 1;
    }
}

struct totals {
    long acked[COUNTERS];
    long unacked_max[COUNTERS]; /* sent but not acked: at most one per kill */
    long pending[COUNTERS];     /* the value sent last, not yet acked */
};

static void read_log(const char *path, struct totals *t)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char kind[8];
    int n, v;
    while (fscanf(f, "%7s crash-%d %d", kind, &n, &v) == 3) {
        if (n < 0 || n >= COUNTERS)
            continue;
        if (strcmp(kind, "sent") == 0) {
            t->pending[n] = v;
        } else if (strcmp(kind, "ack") == 0) {
            t->acked[n] += v;
            t->pending[n] = 0;
        }
    }
    fclose(f);
    for (int i = 0; i < COUNTERS; i++) {
        t->unacked_max[i] += t->pending[i];
        t->pending[i] = 0;
    }
}

static pid_t spawn_child(const char *self, const char *dir, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        FILE *out = freopen(log, "w", stdout);
        if (out == NULL)
            _exit(3);
        execl(self, self, "child", dir, (char *)NULL);
        _exit(4);
    }
    return pid;
}

static int verify(const char *tool, const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "'%s' --data '%s' verify > /dev/null", tool, dir);
    return system(cmd);
}

static int drive(const char *self, const char *dir, const char *tool, int kills)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    if (getenv("TTAI_SEED") != NULL)
        seed = (unsigned)strtoul(getenv("TTAI_SEED"), NULL, 10);
    fprintf(stderr, "seed: TTAI_SEED=%u\n", seed);
    struct totals t;
    memset(&t, 0, sizeof(t));
    char log[1100];
    for (int k = 0; k < kills; k++) {
        snprintf(log, sizeof(log), "%s.log%d", dir, k);
        pid_t pid = spawn_child(self, dir, log);
        struct timespec ts = {0, (long)(50 + rand_r(&seed) % 250) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status)) {
            fprintf(stderr, "FAIL: child exited by itself (status %d) in round %d\n", status, k);
            return 1;
        }
        read_log(log, &t);
        unlink(log);
        /* Killed before it created the store (a slow start under load; the
         * directory is made before LMDB's data.mdb in it): nothing was
         * acknowledged, so there is nothing to verify. */
        struct stat st;
        char data_file[1100];
        snprintf(data_file, sizeof(data_file), "%s/data.mdb", dir);
        if (stat(data_file, &st) != 0)
            continue;
        if (verify(tool, dir) != 0) {
            fprintf(stderr, "FAIL: verify failed after kill %d\n", k);
            return 1;
        }
    }
    /* Restart once more and check every counter. */
    struct ttai_err err;
    struct ttai_testenv *env;
    if (ttai_testenv_open(&env, dir, &wf_samples_registry, 1763900000000LL, &err) != 0 ||
        ttai_testenv_settle(env) != 0) {
        fprintf(stderr, "FAIL: reopen: %s\n", err.msg);
        return 1;
    }
    int failures = 0;
    long acked_total = 0;
    for (int i = 0; i < COUNTERS; i++) {
        char id[32];
        snprintf(id, sizeof(id), "crash-%d", i);
        struct ttai_buf ans;
        ttai_buf_init(&ans);
        long value = 0;
        if (ttai_engine_query(ttai_testenv_engine(env), "default", id, NULL, "value",
                              (struct ttai_payload){0}, &ans, &err) == 0) {
            char *json = ttai_payload_to_json(ttai_buf_payload(&ans));
            value = json ? strtol(json, NULL, 10) : -1;
            ttai_free(json);
        } else if (t.acked[i] != 0) {
            fprintf(stderr, "FAIL: %s: %s\n", id, err.msg);
            failures++;
        }
        ttai_buf_release(&ans);
        if (value < t.acked[i] || value > t.acked[i] + t.unacked_max[i]) {
            fprintf(stderr, "FAIL: %s = %ld, acked %ld, sent-unacked %ld\n", id, value,
                    t.acked[i], t.unacked_max[i]);
            failures++;
        }
        acked_total += t.acked[i];
    }
    ttai_testenv_close(env);
    if (verify(tool, dir) != 0) {
        fprintf(stderr, "FAIL: verify failed at the end\n");
        failures++;
    }
    printf("%d kills, %ld acknowledged in counters: %s\n", kills, acked_total,
           failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child(argv[2]);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "drive") == 0)
        return drive(argv[0], argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 12);
    fprintf(stderr, "usage: crash_engine child DIR | drive DIR HISTORY_TOOL [KILLS]\n");
    return 2;
}
