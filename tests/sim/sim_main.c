/* sim_main.c: ttai-sim, the command line of the deterministic simulator.
 *
 *   ttai-sim [--seed S] [--scenarios N] [--steps N] [--minutes M]
 *            [--self-test] [--verbose] [--tmp DIR]
 *
 * Scenario 0 runs seed S itself (from --seed, else TTAI_SIM_SEED, else the
 * clock); scenario i > 0 runs sim_mix64(S + i). A failure prints the
 * scenario's own seed, the step and the one command that reruns exactly
 * that scenario. Exit status: 0 all passed, 1 an invariant broke, 2 usage,
 * 3 a scenario hung (the watchdog).
 */
#include "sim.h"

#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_STEPS_DEFAULT 40
#define SIM_WATCHDOG_S 120   /* real seconds one scenario may take */

static char watchdog_msg[256];

/* Async-signal-safe: the message was formatted before the alarm. */
static void watchdog_fire(int sig)
{
    (void)sig;
    ssize_t n = write(STDERR_FILENO, watchdog_msg, strlen(watchdog_msg));
    (void)n; /* nothing more to do if stderr is gone */
    _exit(3);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static const char *tmp_default(void)
{
    /* tmpfs when there is one: the store never syncs, but LMDB still writes. */
    if (access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    const char *t = getenv("TMPDIR");
    return t != NULL && *t != '\0' ? t : "/tmp";
}

static void usage(void)
{
    fprintf(stderr, "usage: ttai-sim [--seed S] [--scenarios N] [--steps N] [--minutes M] "
                    "[--self-test] [--verbose] [--tmp DIR]\n");
}

struct cli {
    uint64_t seed;
    bool seed_set;
    uint64_t scenarios;           /* 0: until --minutes pass */
    double minutes;
    struct sim_opts opts;
};

static int cli_parse(int argc, char **argv, struct cli *c)
{
    c->opts.steps = SIM_STEPS_DEFAULT;
    c->opts.tmp_root = tmp_default();
    const char *env = getenv("TTAI_SIM_SEED");
    if (env != NULL && *env != '\0') {
        c->seed = strtoull(env, NULL, 0);
        c->seed_set = true;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--self-test") == 0) {
            c->opts.self_test = true;
        } else if (strcmp(a, "--verbose") == 0) {
            c->opts.verbose = true;
        } else if (v == NULL) {
            usage();
            return -1;
        } else if (strcmp(a, "--seed") == 0) {
            c->seed = strtoull(v, NULL, 0);
            c->seed_set = true;
            i++;
        } else if (strcmp(a, "--scenarios") == 0) {
            c->scenarios = strtoull(v, NULL, 0);
            i++;
        } else if (strcmp(a, "--steps") == 0) {
            c->opts.steps = (uint32_t)strtoul(v, NULL, 0);
            i++;
        } else if (strcmp(a, "--minutes") == 0) {
            c->minutes = strtod(v, NULL);
            i++;
        } else if (strcmp(a, "--tmp") == 0) {
            c->opts.tmp_root = v;
            i++;
        } else {
            usage();
            return -1;
        }
    }
    if (!c->seed_set)
        c->seed = sim_mix64((uint64_t)ttai_wall_ms() ^ ((uint64_t)getpid() << 32));
    if (c->scenarios == 0 && c->minutes <= 0)
        c->scenarios = 100;
    return 0;
}

static void report_failure(const struct cli *c, const struct sim *sim)
{
    fprintf(stderr,
            "ttai-sim: FAIL seed=0x%016" PRIx64 " step=%u%s: %s\n"
            "  data kept in %s\n"
            "  reproduce: TTAI_SIM_SEED=0x%016" PRIx64 " ttai-sim --scenarios 1 --steps %u%s "
            "--verbose\n",
            sim->seed, sim->step, sim->step > c->opts.steps ? " (final phase)" : "",
            sim->failure, sim->dir, sim->seed, c->opts.steps,
            c->opts.self_test ? " --self-test" : "");
}

static void report_figures(const struct cli *c, const struct sim_stats *st, double secs)
{
    double per_min = secs > 0 ? (double)st->scenarios * 60.0 / secs : 0;
    printf("ttai-sim: base seed 0x%016" PRIx64 ", %" PRIu64 " scenarios of %u steps in %.1f s: "
           "%.0f scenarios/min\n",
           c->seed, st->scenarios, c->opts.steps, secs, per_min);
    printf("  steps %" PRIu64 ", restarts %" PRIu64 " (outages %" PRIu64 "), storage faults %" PRIu64
           ", activity faults %" PRIu64 "\n",
           st->steps, st->restarts, st->outages, st->store_faults, st->act_faults);
    printf("  starts %" PRIu64 ", signals %" PRIu64 ", cancels %" PRIu64 ", advances %" PRIu64
           ", queries %" PRIu64 ", replays %" PRIu64 "\n",
           st->starts, st->signals, st->cancels, st->advances, st->queries, st->replays);
}

/* Runs one scenario in a fresh directory. 0 passed, -1 failed (the
 * directory is kept), -2 could not set up. */
static int scenario(struct sim *sim, const struct cli *c)
{
    snprintf(sim->dir, sizeof(sim->dir), "%s/ttai-sim-XXXXXX", c->opts.tmp_root);
    if (mkdtemp(sim->dir) == NULL) {
        perror("ttai-sim: mkdtemp");
        return -2;
    }
    snprintf(watchdog_msg, sizeof(watchdog_msg),
             "ttai-sim: HANG seed=0x%016" PRIx64 ": scenario ran over %d s\n"
             "  reproduce: TTAI_SIM_SEED=0x%016" PRIx64 " ttai-sim --scenarios 1 --steps %u "
             "--verbose\n",
             sim->seed, SIM_WATCHDOG_S, sim->seed, c->opts.steps);
    alarm(SIM_WATCHDOG_S);
    int rc = sim_scenario_run(sim);
    alarm(0);
    sim->stats->scenarios++;
    if (rc == 0)
        (void)nftw(sim->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); /* best effort */
    return rc;
}

int main(int argc, char **argv)
{
    struct cli c = {0};
    if (cli_parse(argc, argv, &c) != 0)
        return 2;
    signal(SIGALRM, watchdog_fire);
    struct sim_stats stats = {0};
    struct sim sim = {.opts = &c.opts, .stats = &stats};
    int64_t t0 = ttai_mono_ns();
    int64_t deadline = c.minutes > 0 ? t0 + (int64_t)(c.minutes * 60e9) : INT64_MAX;
    int status = 0;
    for (uint64_t i = 0; c.scenarios == 0 || i < c.scenarios; i++) {
        if (ttai_mono_ns() >= deadline)
            break;
        sim.seed = i == 0 ? c.seed : sim_mix64(c.seed + i);
        sim.dropped = false;
        int rc = scenario(&sim, &c);
        if (rc == -2)
            return 2;
        if (c.opts.self_test && sim.dropped) {
            /* The model lost an acknowledged add: the checker must say so. */
            if (rc == 0) {
                fprintf(stderr, "ttai-sim: self-test FAILED: seed 0x%016" PRIx64
                                " dropped an add from the model and no invariant broke\n",
                        sim.seed);
                return 1;
            }
            printf("ttai-sim: self-test passed: the dropped add was caught at step %u: %s\n",
                   sim.step, sim.failure);
            (void)nftw(sim.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
            return 0;
        }
        if (rc != 0) {
            report_failure(&c, &sim);
            status = 1;
            break;
        }
    }
    report_figures(&c, &stats, (double)(ttai_mono_ns() - t0) / 1e9);
    if (c.opts.self_test) {
        fprintf(stderr, "ttai-sim: self-test FAILED: no scenario acknowledged an add\n");
        return 1;
    }
    return status;
}
