#include "util/str_index.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { EMPTY = -1, DELETED = -2 };

static uint32_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

static long find(const s6_index *ix, const char *key, uint32_t h)
{
    if (ix->cap == 0)
        return -1;
    size_t mask = ix->cap - 1;
    for (size_t i = h & mask, n = 0; n < ix->cap; i = (i + 1) & mask, n++) {
        const s6_index_slot *s = &ix->slots[i];
        if (s->val == EMPTY)
            return -1;
        if (s->val >= 0 && s->hash == h && strcmp(s->key, key) == 0)
            return (long)i;
    }
    return -1;
}

int s6_index_get(const s6_index *ix, const char *key)
{
    long i = find(ix, key, hash(key));
    return i >= 0 ? ix->slots[i].val : -1;
}

/* Places a slot's key (owned by the table from now on) where its probe
 * finds it. */
static void place(s6_index *ix, uint32_t h, char *key, int val)
{
    size_t mask = ix->cap - 1, i = h & mask;
    while (ix->slots[i].val >= 0)
        i = (i + 1) & mask;
    if (ix->slots[i].val == EMPTY)
        ix->used++;
    ix->slots[i] = (s6_index_slot){ .hash = h, .val = val, .key = key };
}

/* To at most half full, tombstones dropped. */
static int grow(s6_index *ix)
{
    size_t live = 0;
    for (size_t i = 0; i < ix->cap; i++)
        live += ix->slots[i].val >= 0;
    size_t cap = 16;
    while (cap < (live + 1) * 2)
        cap *= 2;
    s6_index n = {.slots = malloc(cap * sizeof *n.slots), .cap = cap};
    if (n.slots == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < cap; i++)
        n.slots[i] = (s6_index_slot){ .val = EMPTY };
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i].val >= 0)
            place(&n, ix->slots[i].hash, ix->slots[i].key, ix->slots[i].val);
    free(ix->slots);
    *ix = n;
    return 0;
}

int s6_index_put(s6_index *ix, const char *key, int val)
{
    if (key == NULL || strlen(key) >= S6_INDEX_KEY_MAX || val < 0)
        return -EINVAL;
    uint32_t h = hash(key);
    long i = find(ix, key, h);
    if (i >= 0) {
        ix->slots[i].val = val;
        return 0;
    }
    if ((ix->used + 1) * 4 > ix->cap * 3) {
        int rc = grow(ix);
        if (rc != 0)
            return rc;
    }
    char *copy = strdup(key);
    if (copy == NULL)
        return -ENOMEM;
    place(ix, h, copy, val);
    return 0;
}

void s6_index_del(s6_index *ix, const char *key)
{
    long i = find(ix, key, hash(key));
    if (i >= 0) {
        free(ix->slots[i].key);
        ix->slots[i] = (s6_index_slot){ .hash = 0, .val = DELETED };
    }
}

void s6_index_free(s6_index *ix)
{
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i].val >= 0)
            free(ix->slots[i].key);
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = ix->used = 0;
}
