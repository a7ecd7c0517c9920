/* Per-position rule state as JSON, keyed by (slot, rule id). */
#pragma once

#include <limits.h>
#include <stddef.h>

#include "contract/s6_rule_abi.h"

/* A generation no cell ever has: what a reader holds when it holds
 * something the store never had (rules/remote.c). */
#define S6_STATE_GEN_NONE UINT_MAX

/* One slot's cells, made at the slot's first state and grown to the
 * highest rule id it has held: a store sized for thousands of slots and
 * S6_REG_MAX_RULES rules costs a pointer per slot until states arrive. */
typedef struct s6_state_row {
    unsigned slot_gen;  /* moves with any of the slot's cells */
    int ncells;
    struct s6_state_cell {
        char *json;     /* NULL = empty state */
        size_t len;
        unsigned gen;
    } cells[];
} s6_state_row;

struct s6_state_store {
    int nslots;         /* the shape callers index by */
    int nrules;
    s6_state_row **rows; /* nslots, NULL until the slot holds a state */
};

int s6_state_store_init(s6_state_store *st, int nslots, int nrules);
void s6_state_store_free(s6_state_store *st);
/* Moves whenever any rule's state of the slot changes (one read, where
 * summing the cells' generations would read every rule's). */
unsigned s6_state_slot_gen(const s6_state_store *st, int slot);
/* Drops every rule's state of a slot, e.g. when its position closed. */
void s6_state_store_clear_slot(s6_state_store *st, int slot);
