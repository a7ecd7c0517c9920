/*
 * Rule state lives on the C side, not in the Lua state, so a reload (a new
 * Lua state) or a rollback continues from the same steps.  The engine
 * persists these strings with the position (docs/contracts.md).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rules/state_store.h"
#include "core/s6_core.h"

int s6_state_store_init(s6_state_store *st, int nslots, int nrules)
{
    if (st == NULL || nslots < 1 || nrules < 1)
        return S6_EINVAL;
    st->rows = calloc((size_t)nslots, sizeof *st->rows);
    st->nslots = nslots;
    st->nrules = nrules;
    if (st->rows == NULL) {
        s6_state_store_free(st);
        return S6_ERANGE;
    }
    return S6_OK;
}

void s6_state_store_free(s6_state_store *st)
{
    if (st == NULL)
        return;
    for (int s = 0; st->rows != NULL && s < st->nslots; s++) {
        for (int c = 0; st->rows[s] != NULL && c < st->rows[s]->ncells; c++)
            free(st->rows[s]->cells[c].json);
        free(st->rows[s]);
    }
    free(st->rows);
    memset(st, 0, sizeof *st);
}

static bool in_shape(const s6_state_store *st, int slot, int rule_id)
{
    return st != NULL && slot >= 0 && slot < st->nslots && rule_id >= 0 &&
           rule_id < st->nrules;
}

/* The cell, or NULL when the slot never held that rule's state. */
static const struct s6_state_cell *cell(const s6_state_store *st, int slot,
                                        int rule_id)
{
    if (!in_shape(st, slot, rule_id) || st->rows[slot] == NULL ||
        rule_id >= st->rows[slot]->ncells)
        return NULL;
    return &st->rows[slot]->cells[rule_id];
}

/* The slot's row with room for rule_id; NULL on ENOMEM. */
static s6_state_row *row_for(s6_state_store *st, int slot, int rule_id)
{
    s6_state_row *r = st->rows[slot];
    if (r != NULL && rule_id < r->ncells)
        return r;
    int n = rule_id + 1;
    s6_state_row *nr = realloc(r, sizeof *nr + (size_t)n * sizeof nr->cells[0]);
    if (nr == NULL)
        return NULL;
    int had = r != NULL ? nr->ncells : 0;
    if (r == NULL)
        nr->slot_gen = 0;
    memset(&nr->cells[had], 0, (size_t)(n - had) * sizeof nr->cells[0]);
    nr->ncells = n;
    st->rows[slot] = nr;
    return nr;
}

unsigned s6_state_gen(const s6_state_store *st, int slot, int rule_id)
{
    const struct s6_state_cell *c = cell(st, slot, rule_id);
    return c != NULL ? c->gen : 0;
}

const char *s6_state_get(const s6_state_store *st, int slot, int rule_id,
                         size_t *len)
{
    const struct s6_state_cell *c = cell(st, slot, rule_id);
    if (c == NULL || c->json == NULL)
        return NULL;
    if (len != NULL)
        *len = c->len;
    return c->json;
}

/* Returns the new generation; 0 on failure (generations start at 1). */
unsigned s6_state_set(s6_state_store *st, int slot, int rule_id,
                      const char *json, size_t len)
{
    if (!in_shape(st, slot, rule_id))
        return 0;
    char *copy = NULL;
    if (json != NULL) {
        copy = malloc(len + 1);
        if (copy == NULL)
            return 0;
        memcpy(copy, json, len);
        copy[len] = '\0';
    }
    s6_state_row *r = row_for(st, slot, rule_id);
    if (r == NULL) {
        free(copy);
        return 0;
    }
    struct s6_state_cell *c = &r->cells[rule_id];
    free(c->json);
    c->json = copy;
    c->len = copy ? len : 0;
    if (++c->gen == 0 || c->gen == S6_STATE_GEN_NONE)
        c->gen = 1;
    r->slot_gen++;
    return c->gen;
}

unsigned s6_state_slot_gen(const s6_state_store *st, int slot)
{
    return st != NULL && slot >= 0 && slot < st->nslots &&
                   st->rows[slot] != NULL
               ? st->rows[slot]->slot_gen : 0;
}

/* A slot that never held a state has nothing to drop; one that did keeps
 * its row, so its generations keep moving forward for readers that hold
 * one (rules/remote.c). */
void s6_state_store_clear_slot(s6_state_store *st, int slot)
{
    if (st == NULL || slot < 0 || slot >= st->nslots || st->rows[slot] == NULL)
        return;
    for (int r = 0; r < st->rows[slot]->ncells; r++)
        (void)s6_state_set(st, slot, r, NULL, 0);
}
