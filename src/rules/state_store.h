/* Per-position rule state as JSON, keyed by (slot, rule id). */
#pragma once

#include <limits.h>
#include <stddef.h>

#include "contract/s6_rule_abi.h"

/* A generation no cell ever has: what a reader holds when it holds
 * something the store never had (rules/remote.c). */
#define S6_STATE_GEN_NONE UINT_MAX

struct s6_state_store {
    int nslots;
    int nrules;
    char **json;      /* nslots * nrules, NULL = empty state */
    size_t *len;
    unsigned *gen;
    unsigned *slot_gen; /* nslots: moves with any of the slot's cells */
};

int s6_state_store_init(s6_state_store *st, int nslots, int nrules);
void s6_state_store_free(s6_state_store *st);
/* Moves whenever any rule's state of the slot changes (one read, where
 * summing the cells' generations would read every rule's). */
unsigned s6_state_slot_gen(const s6_state_store *st, int slot);
/* Drops every rule's state of a slot, e.g. when its position closed. */
void s6_state_store_clear_slot(s6_state_store *st, int slot);
