/*
 * index.h — a string -> int map for the engine's lookups (a position by
 * id, a market by "<market>:<symbol>"): open addressing, linear probing on
 * a stored hash, tombstones on delete, grown at three quarters full to
 * half.  Keys are copied (at most E_INDEX_KEY_MAX - 1 characters), each in
 * its own block: a slot is 16 bytes, so the table costs about 60 bytes per
 * key where inline keys at a quarter full cost 200 to 400.  Not
 * thread-safe, like the engine.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum { E_INDEX_KEY_MAX = 48 };

typedef struct e_index_slot {
    uint32_t hash;
    int val;          /* -1 empty, -2 deleted, else the value (>= 0) */
    char *key;        /* owned while val >= 0 */
} e_index_slot;

typedef struct e_index {
    e_index_slot *slots;
    size_t cap;       /* a power of two, or 0 */
    size_t used;      /* live + deleted */
} e_index;

/* The value, or -1. */
int e_index_get(const e_index *ix, const char *key);
/* Sets key to val (>= 0); 0, or -ENOMEM / -EINVAL (key too long). */
int e_index_put(e_index *ix, const char *key, int val);
void e_index_del(e_index *ix, const char *key);
void e_index_free(e_index *ix);
