/*
 * What registry.c shares with registry_shadow.c (the shadow versions):
 * internal to the rule registry, not for its users.
 */
#pragma once

#include "rules/registry.h"

extern const char s6__reg_shadow_suffix[]; /* ".shadow.lua" */

s6_rule_entry *s6__reg_entry_named(s6_rule_registry *reg, const char *name);
/* <dir>/<rule>.shadow.lua, the name a shadow's errors carry. */
void s6__reg_shadow_chunkname(const s6_rule_entry *e, char *out, size_t len);
/* Counts a fault; 1 when the threshold is reached. */
int s6__reg_charge(const s6_rule_fault *f, unsigned threshold,
                   unsigned *faults, char *msg, size_t len);
/* The live set from the good versions (check: self-check it too). */
int s6__reg_build_set(s6_rule_registry *reg, int check, s6_ruleset **out,
                      char *err, size_t errlen);
/* src (owned from now on) becomes the entry's live version. */
void s6__reg_set_good(s6_rule_entry *e, char *src, size_t len);
void s6__reg_note_params(s6_rule_registry *reg);
void s6__reg_shadow_restart(s6_rule_entry *e);
void s6__reg_drop_shadow(s6_rule_registry *reg, s6_rule_entry *e);
/* t (calloc'd, t->shadow set) becomes a trial of src (owned from now on)
 * standing in for the entry's version, with copies of the other rules. */
void s6__reg_trial_fill(s6_rule_registry *reg, s6_rule_trial *t, int entry,
                        char *src, size_t len);
