#include "util/stream_id.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static bool parse(const char *s, uint64_t *ms, uint64_t *seq)
{
    *ms = *seq = 0;
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    char *end;
    *ms = strtoull(s, &end, 10);
    if (*end == '\0')
        return true;
    if (*end != '-' || end[1] < '0' || end[1] > '9')
        return false;
    *seq = strtoull(end + 1, &end, 10);
    return *end == '\0';
}

int s6_stream_id_cmp(const char *a, const char *b)
{
    uint64_t am, as, bm, bs;
    bool ha = parse(a, &am, &as), hb = parse(b, &bm, &bs);
    if (!ha || !hb)
        return (int)ha - (int)hb;
    if (am != bm)
        return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs ? 1 : 0;
}
