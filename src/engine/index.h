/*
 * index.h — a string -> int map for the engine's lookups (a position by
 * id, a market by "<market>:<symbol>"): open addressing, linear probing,
 * tombstones on delete, grown at half full.  Keys are copied (at most
 * E_INDEX_KEY_MAX - 1 characters).  Not thread-safe, like the engine.
 */
#pragma once

#include <stddef.h>

enum { E_INDEX_KEY_MAX = 48 };

typedef struct e_index {
    char (*keys)[E_INDEX_KEY_MAX];
    int *vals;        /* -1 empty, -2 deleted, else the value (>= 0) */
    size_t cap;       /* a power of two, or 0 */
    size_t used;      /* live + deleted */
} e_index;

/* The value, or -1. */
int e_index_get(const e_index *ix, const char *key);
/* Sets key to val (>= 0); 0, or -ENOMEM / -EINVAL (key too long). */
int e_index_put(e_index *ix, const char *key, int val);
void e_index_del(e_index *ix, const char *key);
void e_index_free(e_index *ix);
