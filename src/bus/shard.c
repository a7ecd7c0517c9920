#include "bus/shard.h"

#include "bus/state.h"

#include <stdio.h>

uint32_t s6_shard_of(const char *symbol, uint32_t count)
{
    uint32_t h = 2166136261u;

    if (count <= 1)
        return 0;
    for (const unsigned char *p = (const unsigned char *)symbol; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h % count;
}

void s6_shard_lease_key(uint32_t index, uint32_t count, char *out, size_t cap)
{
    if (count <= 1)
        snprintf(out, cap, "s6:lease");
    else
        snprintf(out, cap, "s6:lease:%u", index);
}

void s6_shard_book_key(uint32_t index, uint32_t count, char *out, size_t cap)
{
    if (count <= 1)
        snprintf(out, cap, "%s", S6_STATE_BOOK_KEY);
    else
        snprintf(out, cap, "%s:%u", S6_STATE_BOOK_KEY, index);
}

void s6_shard_group(uint32_t index, uint32_t count, char *out, size_t cap)
{
    if (count <= 1)
        snprintf(out, cap, "s6");
    else
        snprintf(out, cap, "s6-%u", index);
}
