/* bench_dir.h: the directories ttai-bench measures in.
 *
 * Every subcommand makes a fresh directory, measures in it, and removes it;
 * `--data DIR` says where to make it (on a real disk for the figures that
 * include syncs: on tmpfs a sync costs nothing).
 */
#ifndef TTAI_BENCH_DIR_H
#define TTAI_BENCH_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* True when dir is on tmpfs or ramfs (or cannot be examined). */
bool bench_dir_on_ram_fs(const char *dir);

/* Makes a fresh directory "<parent>/<name>-XXXXXX" into out; parent must
 * exist. parent NULL or empty: under the first of $TMPDIR, /tmp, /var/tmp
 * and . that is on a real disk. A parent that is given is used as it is, or
 * the call fails (errno says why; out is then empty). A directory made here
 * and not removed by bench_dir_remove() is removed when the program exits,
 * and when SIGINT, SIGTERM or SIGHUP stops it after
 * bench_dir_catch_signals() (SIGKILL leaves it). */
bool bench_dir_make(const char *parent, const char *name, char *out, size_t size);

/* Call first in main, before any thread: blocks SIGINT, SIGTERM and SIGHUP
 * in every thread but one, which on the first of them stops the child named
 * by bench_dir_fork() (SIGTERM, SIGKILL after 5 s), removes the
 * directories, and ends the process by the signal. */
void bench_dir_catch_signals(void);
/* fork() for the child process to stop before the directories go: in
 * the parent the child is registered before a caught signal can be taken,
 * in the child the signal mask from before bench_dir_catch_signals() is
 * back, so that it takes its signals. Returns what fork() returns; -1
 * with EINTR, without forking, once a caught signal is being handled. */
pid_t bench_dir_fork(void);
/* Takes the child back before stopping and reaping it: false when the
 * signal thread took it first (it stops and reaps it). */
bool bench_dir_child_claim(pid_t pid);

/* Removes dir and everything in it; says on stderr what it could not. */
void bench_dir_remove(const char *dir);

#endif
