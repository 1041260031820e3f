/* bench_dir.c: the directories ttai-bench measures in (bench_dir.h). */
#include "bench_dir.h"

#include <errno.h>
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

bool bench_dir_make(const char *parent, const char *name, char *out, size_t size)
{
    if (parent != NULL) {
        snprintf(out, size, "%s/%s-XXXXXX", parent, name);
        return mkdtemp(out) != NULL;
    }
    const char *bases[] = {getenv("TMPDIR"), "/tmp", "/var/tmp", "."};
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        if (bases[i] == NULL || bases[i][0] == '\0' || bench_dir_on_ram_fs(bases[i]))
            continue;
        snprintf(out, size, "%s/%s-XXXXXX", bases[i], name);
        if (mkdtemp(out) != NULL)
            return true;
    }
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
    /* Failures are reported per entry by remove_entry; nothing else to do. */
    (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
