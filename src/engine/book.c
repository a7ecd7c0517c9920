/*
 * book.c — the book: the position records in their slots (a slot is also
 * the rules edge's index for the position's rule state), the market table
 * per (market, symbol) with its open position, the hashed lookups
 * (index.c), and the risk budget the book holds, kept as it changes.
 * The life cycle (engine.c) and everything else find positions here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

e_pos *e_find(s6_engine *e, const char *pos_id)
{
    int i = pos_id != NULL ? s6_index_get(&e->by_id, pos_id) : -1;
    return i >= 0 && (size_t)i < e->n_pos && e->pos[i].used &&
                   strcmp(e->pos[i].rec.pos.id, pos_id) == 0
               ? &e->pos[i] : NULL;
}

static bool is_open(const e_pos *p)
{
    return p->used && p->rec.pos.state != S6_POS_CLOSED;
}

e_pos *e_find_open(s6_engine *e, int market, const char *symbol)
{
    int mi = e_mkt_find(e, market, symbol);
    int s = mi >= 0 ? e->mkts[mi].open_slot : -1;
    return s >= 0 && (size_t)s < e->n_pos && is_open(&e->pos[s]) &&
                   e->pos[s].mkt == mi
               ? &e->pos[s] : NULL;
}

/* Keys are "<pos_id>-<action>-<seq>" and neither action nor seq holds a
 * '-', so the position is what precedes the last two. */
e_pos *e_by_intent(s6_engine *e, const char *intent_id)
{
    char id[S6_INTENT_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", intent_id != NULL ? intent_id : "");
    for (int cut = 0; cut < 2; cut++) {
        char *dash = strrchr(id, '-');
        if (dash == NULL)
            return NULL;
        *dash = '\0';
    }
    return e_find(e, id);
}

size_t e_slot(const s6_engine *e, const e_pos *p)
{
    return (size_t)(p - e->pos);
}

/* "<market>:<symbol>", twice per price update: snprintf was a fifth of a
 * replay's time. */
static void mkt_key(int market, const char *symbol, char out[S6_INDEX_KEY_MAX])
{
    if (market < 0 || market > 9) {
        snprintf(out, S6_INDEX_KEY_MAX, "%d:%.30s", market, symbol);
        return;
    }
    size_t len = strnlen(symbol, 30);
    out[0] = (char)('0' + market);
    out[1] = ':';
    memcpy(out + 2, symbol, len);
    out[2 + len] = '\0';
}

int e_mkt_find(const s6_engine *e, int market, const char *symbol)
{
    char key[S6_INDEX_KEY_MAX];
    mkt_key(market, symbol, key);
    return s6_index_get(&e->by_mkt, key);
}

int e_mkt_index(s6_engine *e, int market, const char *symbol)
{
    int found = e_mkt_find(e, market, symbol);
    if (found >= 0)
        return found;
    char key[S6_INDEX_KEY_MAX];
    mkt_key(market, symbol, key);
    int si = s6_index_get(&e->by_sym, key);
    if (si < 0)
        return -ENOENT;
    const s6_symbol_cfg *sym = &e->cfg->symbols[si];
    if (e->n_mkts == e->cap_mkts) {
        size_t nc = e->cap_mkts ? e->cap_mkts * 2 : 16;
        e_mkt *nv = realloc(e->mkts, nc * sizeof *nv);
        if (nv == NULL)
            return -ENOMEM;
        e->mkts = nv;
        e->cap_mkts = nc;
    }
    e_mkt *m = &e->mkts[e->n_mkts];
    memset(m, 0, sizeof *m);
    snprintf(m->symbol, sizeof m->symbol, "%s", symbol);
    m->market = market;
    m->sym = sym;
    m->health = 1;
    m->open_slot = -1;
    if (s6_index_put(&e->by_mkt, key, (int)e->n_mkts) != 0)
        return -ENOMEM;
    return (int)e->n_mkts++;
}

/* The symbol's config through the market table (a hash lookup; the
 * config's own lookup walks its list). */
const s6_symbol_cfg *e_symbol(s6_engine *e, int market, const char *symbol)
{
    int mi = e_mkt_index(e, market, symbol);
    return mi >= 0 ? e->mkts[mi].sym : NULL;
}

const s6_symbol_cfg *e_sym(const s6_engine *e, const e_pos *p)
{
    return e->mkts[p->mkt].sym;
}

e_pos *e_new_pos(s6_engine *e, const char *id, const char *symbol,
                 int market, double leverage, char *err, size_t errlen)
{
    int mi = e_mkt_index(e, market, symbol);
    if (mi < 0)
        return (void)e_fail(err, errlen, mi, "symbol: %s is not configured for "
                          "that market", symbol), NULL;
    size_t slot = e->free_hint;
    while (slot < e->n_pos && e->pos[slot].used)
        slot++;
    int max = e->edges.rules.max_slots;
    if (max > 0 && slot >= (size_t)max)
        return (void)e_fail(err, errlen, -ENOSPC, "%s: no free slot for a new "
                          "position", symbol), NULL;
    if (slot == e->cap_pos) {
        size_t nc = e->cap_pos ? e->cap_pos * 2 : 64;
        e_pos *nv = realloc(e->pos, nc * sizeof *nv);
        if (nv == NULL)
            return NULL;
        e->pos = nv;
        e->cap_pos = nc;
    }
    e_pos *p = &e->pos[slot];
    memset(p, 0, sizeof *p);
    if (s6_position_init(&p->rec.pos, id, symbol, market, leverage, err,
                         errlen) != 0)
        return NULL;
    if (s6_index_put(&e->by_id, id, (int)slot) != 0)
        return NULL;
    p->used = true;
    p->mkt = mi;
    e->open_known = false;
    e->free_hint = slot + 1;
    if (slot == e->n_pos)
        e->n_pos++;
    int *open = &e->mkts[mi].open_slot;
    if (*open < 0 || !is_open(&e->pos[*open]))
        *open = (int)slot;
    if (e->edges.rules.state_drop != NULL)
        e->edges.rules.state_drop(e->edges.rules.ud, (int)slot);
    return p;
}

/* The config's symbols by (market, name): its own lookup walks the list,
 * which a book of thousands of symbols cannot afford per new position. */
int e_index_symbols(s6_index *ix, const s6_config *cfg)
{
    for (size_t i = 0; i < cfg->n_symbols; i++) {
        char key[S6_INDEX_KEY_MAX];
        mkt_key(cfg->symbols[i].market, cfg->symbols[i].name, key);
        int rc = s6_index_put(ix, key, (int)i);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Every change of what a position holds goes through here, so the book's
 * total stays the sum of its positions. */
void e_reserve(s6_engine *e, e_pos *p, double budget)
{
    p->rec.risk_reserved += budget;
    if (!p->rec.quota_released)
        e->reserved += budget;
}

void e_free_pos(s6_engine *e, e_pos *p)
{
    size_t slot = e_slot(e, p);
    if (!p->used)
        return;
    e_drop_state(p);
    if (!p->rec.quota_released)
        e->reserved -= p->rec.risk_reserved;
    p->used = false;
    e->open_known = false;
    s6_index_del(&e->by_id, p->rec.pos.id);
    if (e->mkts[p->mkt].open_slot == (int)slot)
        e->mkts[p->mkt].open_slot = -1;
    if (slot < e->free_hint)
        e->free_hint = slot;
}
