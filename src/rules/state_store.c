/*
 * Rule state lives on the C side, not in the Lua state, so a reload (a new
 * Lua state) or a rollback continues from the same steps.  The engine
 * persists these strings with the position (docs/contracts.md).
 */
#include <stdlib.h>
#include <string.h>

#include "rules/state_store.h"
#include "core/s6_core.h"

int s6_state_store_init(s6_state_store *st, int nslots, int nrules)
{
    if (st == NULL || nslots < 1 || nrules < 1)
        return S6_EINVAL;
    size_t n = (size_t)nslots * (size_t)nrules;
    st->json = calloc(n, sizeof *st->json);
    st->len = calloc(n, sizeof *st->len);
    st->gen = calloc(n, sizeof *st->gen);
    st->slot_gen = calloc((size_t)nslots, sizeof *st->slot_gen);
    st->nslots = nslots;
    st->nrules = nrules;
    if (st->json == NULL || st->len == NULL || st->gen == NULL ||
        st->slot_gen == NULL) {
        s6_state_store_free(st);
        return S6_ERANGE;
    }
    return S6_OK;
}

void s6_state_store_free(s6_state_store *st)
{
    if (st == NULL)
        return;
    if (st->json != NULL)
        for (size_t i = 0; i < (size_t)st->nslots * (size_t)st->nrules; i++)
            free(st->json[i]);
    free(st->json);
    free(st->len);
    free(st->gen);
    free(st->slot_gen);
    memset(st, 0, sizeof *st);
}

static long cell(const s6_state_store *st, int slot, int rule_id)
{
    if (st == NULL || slot < 0 || slot >= st->nslots || rule_id < 0 ||
        rule_id >= st->nrules)
        return -1;
    return (long)slot * st->nrules + rule_id;
}

unsigned s6_state_gen(const s6_state_store *st, int slot, int rule_id)
{
    long c = cell(st, slot, rule_id);
    return c < 0 ? 0 : st->gen[c];
}

const char *s6_state_get(const s6_state_store *st, int slot, int rule_id,
                         size_t *len)
{
    long c = cell(st, slot, rule_id);
    if (c < 0 || st->json[c] == NULL)
        return NULL;
    if (len != NULL)
        *len = st->len[c];
    return st->json[c];
}

/* Returns the new generation; 0 on failure (generations start at 1). */
unsigned s6_state_set(s6_state_store *st, int slot, int rule_id,
                      const char *json, size_t len)
{
    long c = cell(st, slot, rule_id);
    if (c < 0)
        return 0;
    char *copy = NULL;
    if (json != NULL) {
        copy = malloc(len + 1);
        if (copy == NULL)
            return 0;
        memcpy(copy, json, len);
        copy[len] = '\0';
    }
    free(st->json[c]);
    st->json[c] = copy;
    st->len[c] = copy ? len : 0;
    if (++st->gen[c] == 0 || st->gen[c] == S6_STATE_GEN_NONE)
        st->gen[c] = 1;
    st->slot_gen[slot]++;
    return st->gen[c];
}

unsigned s6_state_slot_gen(const s6_state_store *st, int slot)
{
    return st != NULL && slot >= 0 && slot < st->nslots ? st->slot_gen[slot]
                                                        : 0;
}

void s6_state_store_clear_slot(s6_state_store *st, int slot)
{
    for (int r = 0; st != NULL && r < st->nrules; r++)
        (void)s6_state_set(st, slot, r, NULL, 0);
}
