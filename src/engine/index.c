#include "engine/index.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { EMPTY = -1, DELETED = -2 };

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot holding key, or -1. */
static long find(const e_index *ix, const char *key)
{
    if (ix->cap == 0)
        return -1;
    size_t mask = ix->cap - 1;
    for (size_t i = hash(key) & mask, n = 0; n < ix->cap; i = (i + 1) & mask, n++) {
        if (ix->vals[i] == EMPTY)
            return -1;
        if (ix->vals[i] != DELETED && strcmp(ix->keys[i], key) == 0)
            return (long)i;
    }
    return -1;
}

int e_index_get(const e_index *ix, const char *key)
{
    long i = find(ix, key);
    return i >= 0 ? ix->vals[i] : -1;
}

static void insert(e_index *ix, const char *key, int val)
{
    size_t mask = ix->cap - 1, i = hash(key) & mask;
    while (ix->vals[i] >= 0)
        i = (i + 1) & mask;
    if (ix->vals[i] == EMPTY)
        ix->used++;
    memcpy(ix->keys[i], key, strlen(key) + 1);
    ix->vals[i] = val;
}

/* Rebuilds at a capacity that keeps the table under half full; drops
 * the tombstones on the way. */
static int grow(e_index *ix)
{
    size_t live = 0;
    for (size_t i = 0; i < ix->cap; i++)
        live += ix->vals[i] >= 0;
    size_t cap = 64;
    while (cap < (live + 1) * 4)
        cap *= 2;
    e_index n = {.keys = malloc(cap * sizeof *n.keys),
                  .vals = malloc(cap * sizeof *n.vals), .cap = cap};
    if (n.keys == NULL || n.vals == NULL) {
        free(n.keys);
        free(n.vals);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cap; i++)
        n.vals[i] = EMPTY;
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->vals[i] >= 0)
            insert(&n, ix->keys[i], ix->vals[i]);
    e_index_free(ix);
    *ix = n;
    return 0;
}

int e_index_put(e_index *ix, const char *key, int val)
{
    if (key == NULL || strlen(key) >= E_INDEX_KEY_MAX || val < 0)
        return -EINVAL;
    long i = find(ix, key);
    if (i >= 0) {
        ix->vals[i] = val;
        return 0;
    }
    if ((ix->used + 1) * 2 > ix->cap) {
        int rc = grow(ix);
        if (rc != 0)
            return rc;
    }
    insert(ix, key, val);
    return 0;
}

void e_index_del(e_index *ix, const char *key)
{
    long i = find(ix, key);
    if (i >= 0)
        ix->vals[i] = DELETED;
}

void e_index_free(e_index *ix)
{
    free(ix->keys);
    free(ix->vals);
    ix->keys = NULL;
    ix->vals = NULL;
    ix->cap = ix->used = 0;
}
