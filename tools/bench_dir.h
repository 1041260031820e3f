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

/* True when dir is on tmpfs or ramfs (or cannot be examined). */
bool bench_dir_on_ram_fs(const char *dir);

/* Makes a fresh directory "<parent>/<name>-XXXXXX" into out; parent must
 * exist. parent NULL or empty: under the first of $TMPDIR, /tmp, /var/tmp
 * and . that is on a real disk. A parent that is given is used as it is, or
 * the call fails (errno says why; out is then empty). A directory made here
 * and not removed by bench_dir_remove() is removed when the program exits
 * (not when a signal kills it). */
bool bench_dir_make(const char *parent, const char *name, char *out, size_t size);

/* Removes dir and everything in it; says on stderr what it could not. */
void bench_dir_remove(const char *dir);

#endif
