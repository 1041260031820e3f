/* bench_dir.c: the directories ttai-bench measures in (bench_dir.h). */
#include "bench_dir.h"

#include <errno.h>
#include <limits.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* From linux/magic.h, without the kernel headers. */
#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6

bool bench_dir_on_ram_fs(const char *dir)
{
    struct statfs st;
    if (statfs(dir, &st) != 0)
        return true; /* unusable either way */
    return (unsigned long)st.f_type == TMPFS_MAGIC_ || (unsigned long)st.f_type == RAMFS_MAGIC_;
}

/* Directories made and not yet removed: an exit on an error path (die(),
 * exit()) removes them too, and so does a stop by a signal that
 * bench_dir_catch_signals() catches. Under made_mu: the signal thread
 * reads them while the benchmark runs. */
#define MADE_MAX 4
static char made[MADE_MAX][PATH_MAX];
static pthread_mutex_t made_mu = PTHREAD_MUTEX_INITIALIZER;
static bool exit_hook;
static atomic_bool signal_taken;      /* the signal thread is removing them */
static void remove_made_locked(void);
static pthread_t signal_thread;

/* One removal at a time: the exit path and the signal thread may both
 * come here. */
static pthread_mutex_t remove_mu = PTHREAD_MUTEX_INITIALIZER;

static void remove_made(void)
{
    pthread_mutex_lock(&remove_mu);
    remove_made_locked();
    pthread_mutex_unlock(&remove_mu);
}

static void remove_made_locked(void)
{
    char dir[PATH_MAX];
    for (size_t i = 0; i < MADE_MAX; i++) {
        pthread_mutex_lock(&made_mu);
        memcpy(dir, made[i], sizeof(dir));
        pthread_mutex_unlock(&made_mu);
        if (dir[0] != '\0')
            bench_dir_remove(dir);
    }
}

/* At exit. A benchmark that meets errors because a signal is stopping its
 * daemon may exit first: it leaves the removal and the end to the signal
 * thread. */
static void remove_made_at_exit(void)
{
    pthread_mutex_lock(&remove_mu);
    bool taken = atomic_load(&signal_taken);
    if (!taken)
        remove_made_locked();
    pthread_mutex_unlock(&remove_mu); /* before waiting: the signal thread takes it */
    while (taken)
        pause(); /* the signal thread removes them and ends the process */
}

static void note_made(const char *dir)
{
    pthread_mutex_lock(&made_mu);
    if (!exit_hook)
        exit_hook = atexit(remove_made_at_exit) == 0;
    for (size_t i = 0; i < MADE_MAX; i++)
        if (made[i][0] == '\0') {
            snprintf(made[i], sizeof(made[i]), "%s", dir);
            break;
        }
    pthread_mutex_unlock(&made_mu);
}

/* ---- Stops by a signal ------------------------------------------------------- */

static sigset_t caught_signals, mask_before;
static atomic_int child_pid;          /* the daemon to stop first, or 0 */
/* Held from fork() until the child's pid is in child_pid (bench_dir_fork),
 * and by the signal thread when it takes the pid: a signal that comes in
 * between cannot miss a child that was just forked. */
static pthread_mutex_t child_mu = PTHREAD_MUTEX_INITIALIZER;

/* Takes the first caught signal, stops the child, removes the directories
 * and dies of the signal, as the process would have without all this. */
static void *signal_main(void *arg)
{
    (void)arg;
    int sig;
    if (sigwait(&caught_signals, &sig) != 0)
        return NULL;
    atomic_store(&signal_taken, true);
    fprintf(stderr, "ttai-bench: %s: stopping, and removing what this run made\n", strsignal(sig));
    pthread_mutex_lock(&child_mu);
    pid_t pid = atomic_exchange(&child_pid, 0);
    pthread_mutex_unlock(&child_mu);
    if (pid > 0) {
        /* The daemon writes into one of the directories: it goes first,
         * with its own graceful stop if that comes within 5 s. Claimed
         * above, it is this thread's alone to reap (bench_dir_child_claim). */
        kill(pid, SIGTERM);
        bool reaped = false;
        for (int waited = 0; waited < 500 && !reaped; waited++) {
            reaped = waitpid(pid, NULL, WNOHANG) != 0;
            if (!reaped)
                usleep(10000);
        }
        if (!reaped) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    remove_made();
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached: the default action of these ends the process */
}

void bench_dir_catch_signals(void)
{
    /* A signal the caller ignores (nohup, a background job of a script)
     * stays ignored: taking it here would end the run. */
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    sigemptyset(&caught_signals);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaddset(&caught_signals, sigs[i]);
    }
    if (pthread_sigmask(SIG_BLOCK, &caught_signals, &mask_before) != 0)
        return;
    if (pthread_create(&signal_thread, NULL, signal_main, NULL) != 0) {
        pthread_sigmask(SIG_SETMASK, &mask_before, NULL); /* as before: a stop leaves them */
        return;
    }
    pthread_detach(signal_thread);
}

pid_t bench_dir_fork(void)
{
    pthread_mutex_lock(&child_mu);
    if (atomic_load(&signal_taken)) {
        /* The signal thread has looked for a child already: one forked now
         * would outlive the run. */
        pthread_mutex_unlock(&child_mu);
        errno = EINTR;
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The child execs or exits: it never uses the copy of child_mu. */
        sigprocmask(SIG_SETMASK, &mask_before, NULL);
        return 0;
    }
    if (pid > 0)
        atomic_store(&child_pid, pid);
    pthread_mutex_unlock(&child_mu);
    return pid;
}

bool bench_dir_child_claim(pid_t pid)
{
    int expected = pid;
    return atomic_compare_exchange_strong(&child_pid, &expected, 0);
}

/* Makes "<base>/<name>-XXXXXX"; out is empty on failure (errno says why). */
static bool make_under(const char *base, const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s-XXXXXX", base, name);
    if (n < 0 || (size_t)n >= size || (size_t)n >= PATH_MAX) {
        out[0] = '\0';
        errno = ENAMETOOLONG;
        return false;
    }
    if (mkdtemp(out) == NULL) {
        int e = errno;
        out[0] = '\0';
        errno = e;
        return false;
    }
    note_made(out);
    return true;
}

bool bench_dir_make(const char *parent, const char *name, char *out, size_t size)
{
    if (size == 0)
        return false;
    out[0] = '\0';
    if (parent != NULL && parent[0] != '\0')
        return make_under(parent, name, out, size);
    const char *bases[] = {getenv("TMPDIR"), "/tmp", "/var/tmp", "."};
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        if (bases[i] == NULL || bases[i][0] == '\0' || bench_dir_on_ram_fs(bases[i]))
            continue;
        if (make_under(bases[i], name, out, size))
            return true;
    }
    errno = ENOENT;
    return false;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT) /* gone already is as good */
        fprintf(stderr, "ttai-bench: cannot remove '%s': %s\n", path, strerror(errno));
    return 0;
}

void bench_dir_remove(const char *dir)
{
    if (dir == NULL || dir[0] == '\0')
        return;
    if (atomic_load(&signal_taken) && !pthread_equal(pthread_self(), signal_thread))
        return; /* the signal thread removes it */
    /* Failures are reported per entry by remove_entry; nothing else to do. */
    (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    /* Forget it (dir may be one of these very strings: nothing reads it
     * after this). */
    pthread_mutex_lock(&made_mu);
    for (size_t i = 0; i < MADE_MAX; i++)
        if (strcmp(made[i], dir) == 0)
            made[i][0] = '\0';
    pthread_mutex_unlock(&made_mu);
}
