/*
 * index.h — a string -> int map for the engine's lookups (a position by
 * id, a market by "<market>:<symbol>"): open addressing, linear probing,
 * tombstones on delete, grown at half full.  Keys are copied (at most
 * S6_INDEX_KEY_MAX - 1 characters).  Not thread-safe, like the engine.
 */
#pragma once

#include <stddef.h>

enum { S6_INDEX_KEY_MAX = 48 };

typedef struct s6_index {
    char (*keys)[S6_INDEX_KEY_MAX];
    int *vals;        /* -1 empty, -2 deleted, else the value (>= 0) */
    size_t cap;       /* a power of two, or 0 */
    size_t used;      /* live + deleted */
} s6_index;

/* The value, or -1. */
int s6_index_get(const s6_index *ix, const char *key);
/* Sets key to val (>= 0); 0, or -ENOMEM / -EINVAL (key too long). */
int s6_index_put(s6_index *ix, const char *key, int val);
void s6_index_del(s6_index *ix, const char *key);
void s6_index_free(s6_index *ix);
