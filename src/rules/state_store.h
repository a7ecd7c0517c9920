/* Per-position rule state as JSON, keyed by (slot, rule id). */
#pragma once

#include <stddef.h>

#include "contract/s6_rule_abi.h"

struct s6_state_store {
    int nslots;
    int nrules;
    char **json;      /* nslots * nrules, NULL = empty state */
    size_t *len;
    unsigned *gen;
};

int s6_state_store_init(s6_state_store *st, int nslots, int nrules);
void s6_state_store_free(s6_state_store *st);
/* Drops every rule's state of a slot, e.g. when its position closed. */
void s6_state_store_clear_slot(s6_state_store *st, int slot);
