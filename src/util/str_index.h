/*
 * str_index.h — a string -> int map for the hot lookups (the engine's
 * position by id and market by "<market>:<symbol>", the S4 router's rate
 * bucket by symbol): open addressing, linear probing on
 * a stored hash, tombstones on delete, grown at three quarters full to
 * half.  Keys are copied (at most S6_INDEX_KEY_MAX - 1 characters), each in
 * its own block: a slot is 16 bytes, so the table costs about 60 bytes per
 * key where inline keys at a quarter full cost 200 to 400.  Not
 * thread-safe, like its users' loops.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum { S6_INDEX_KEY_MAX = 48 };

typedef struct s6_index_slot {
    uint32_t hash;
    int val;          /* -1 empty, -2 deleted, else the value (>= 0) */
    char *key;        /* owned while val >= 0 */
} s6_index_slot;

typedef struct s6_index {
    s6_index_slot *slots;
    size_t cap;       /* a power of two, or 0 */
    size_t used;      /* live + deleted */
} s6_index;

/* The value, or -1. */
int s6_index_get(const s6_index *ix, const char *key);
/* Sets key to val (>= 0); 0, or -ENOMEM / -EINVAL (key too long). */
int s6_index_put(s6_index *ix, const char *key, int val);
void s6_index_del(s6_index *ix, const char *key);
void s6_index_free(s6_index *ix);
