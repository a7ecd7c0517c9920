/*
 * text_file.c — one reader for the input files of paper trading and
 * replay.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text_file.h"

int s6_read_text_file(const char *path, char **text, char *err,
                      size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char *data = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&data, &len);
    char buf[65536];
    size_t got;
    while (mem != NULL && (got = fread(buf, 1, sizeof buf, fp)) > 0)
        fwrite(buf, 1, got, mem);
    int bad_read = ferror(fp);
    fclose(fp);
    if (mem == NULL || fclose(mem) != 0) {
        free(data);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    const char *why = bad_read ? "read error"
        : memchr(data, '\0', len) ? "contains NUL bytes (not a text file)"
                                  : NULL;
    if (why != NULL) {
        free(data);
        snprintf(err, errlen, "%s: %s", path, why);
        return -EINVAL;
    }
    *text = data;
    return 0;
}

const char *s6_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
