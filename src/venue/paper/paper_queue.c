/*
 * paper_queue.c — the paper router's queue (a binary heap ordered by due
 * time, then by insertion, so equal times keep their order and a replay is
 * deterministic) and its intent index (open addressing over the orders).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "venue/paper/internal.h"

static bool before(const s6_paper_item *a, const s6_paper_item *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void swap(s6_paper_item *a, s6_paper_item *b)
{
    s6_paper_item t = *a;
    *a = *b;
    *b = t;
}

int s6_paper_queue_push(s6_paper *p, s6_paper_item *it)
{
    if (p->n_heap == p->cap_heap) {
        size_t cap = p->cap_heap ? p->cap_heap * 2 : 64;
        s6_paper_item *h = realloc(p->heap, cap * sizeof *h);
        if (h == NULL)
            return -ENOMEM;
        p->heap = h;
        p->cap_heap = cap;
    }
    it->seq = p->seq++;
    size_t i = p->n_heap++;
    p->heap[i] = *it;
    while (i > 0 && before(&p->heap[i], &p->heap[(i - 1) / 2])) {
        swap(&p->heap[i], &p->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    return 0;
}

bool s6_paper_queue_pop_due(s6_paper *p, double now, s6_paper_item *out)
{
    if (p->n_heap == 0 || p->heap[0].due > now)
        return false;
    *out = p->heap[0];
    p->heap[0] = p->heap[--p->n_heap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->n_heap && before(&p->heap[l], &p->heap[m]))
            m = l;
        if (r < p->n_heap && before(&p->heap[r], &p->heap[m]))
            m = r;
        if (m == i)
            break;
        swap(&p->heap[i], &p->heap[m]);
        i = m;
    }
    return true;
}

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void slot_put(uint32_t *tab, size_t cap, const char *key, uint32_t v)
{
    for (size_t i = hash(key) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (tab[i] == 0) {
            tab[i] = v;
            return;
        }
}

/* Grows at half full so probes stay short. */
static int grow(s6_paper *p)
{
    size_t cap = p->index_cap ? p->index_cap * 2 : 256;
    uint32_t *tab = calloc(cap, sizeof *tab);
    if (tab == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < p->index_cap; i++)
        if (p->index[i] != 0)
            slot_put(tab, cap, p->orders[p->index[i] - 1].intent_id,
                     p->index[i]);
    free(p->index);
    p->index = tab;
    p->index_cap = cap;
    return 0;
}

int s6_paper_index_put(s6_paper *p, size_t order)
{
    if (order >= UINT32_MAX - 1)
        return -ENOMEM;
    if ((p->n_orders + 1) * 2 > p->index_cap && grow(p) != 0)
        return -ENOMEM;
    slot_put(p->index, p->index_cap, p->orders[order].intent_id,
             (uint32_t)order + 1);
    return 0;
}

long s6_paper_index_find(const s6_paper *p, const char *intent_id)
{
    if (p->index_cap == 0)
        return -1;
    size_t mask = p->index_cap - 1;
    for (size_t i = hash(intent_id) & mask; p->index[i] != 0;
         i = (i + 1) & mask)
        if (strcmp(p->orders[p->index[i] - 1].intent_id, intent_id) == 0)
            return (long)p->index[i] - 1;
    return -1;
}

void s6_paper_queue_free(s6_paper *p)
{
    free(p->heap);
    free(p->index);
    p->heap = NULL;
    p->index = NULL;
}
