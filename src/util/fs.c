#include "util/fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int make_one(const char *dir)
{
    return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

int s6_fs_make_parents(const char *path)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir)
        return -ENAMETOOLONG;
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = make_one(dir);
        *p = '/';
        if (rc < 0)
            return rc;
    }
    return make_one(dir);
}
