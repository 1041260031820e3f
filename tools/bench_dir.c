/* bench_dir.c: the directories ttai-bench measures in (bench_dir.h). */
#include "bench_dir.h"

#include <errno.h>
#include <limits.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

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
 * exit()) removes them too. A run stopped by a signal leaves its own. */
#define MADE_MAX 4
static char made[MADE_MAX][PATH_MAX];
static bool exit_hook;

static void remove_made(void)
{
    for (size_t i = 0; i < MADE_MAX; i++)
        if (made[i][0] != '\0')
            bench_dir_remove(made[i]);
}

static void note_made(const char *dir)
{
    if (!exit_hook)
        exit_hook = atexit(remove_made) == 0;
    for (size_t i = 0; i < MADE_MAX; i++)
        if (made[i][0] == '\0') {
            snprintf(made[i], sizeof(made[i]), "%s", dir);
            return;
        }
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
    if (remove(path) != 0)
        fprintf(stderr, "ttai-bench: cannot remove '%s': %s\n", path, strerror(errno));
    return 0;
}

void bench_dir_remove(const char *dir)
{
    if (dir == NULL || dir[0] == '\0')
        return;
    /* Failures are reported per entry by remove_entry; nothing else to do. */
    (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    /* Forget it (dir may be one of these very strings: nothing reads it
     * after this). */
    for (size_t i = 0; i < MADE_MAX; i++)
        if (strcmp(made[i], dir) == 0)
            made[i][0] = '\0';
}
