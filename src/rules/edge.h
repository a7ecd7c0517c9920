/*
 * edge.h — the engine's s6_rules_edge over the two rule paths:
 *
 *   - the Lua rule service (s6_rules_svc_run): the live rule set under its
 *     watchdog, with a s6_state_store holding each position's rule state;
 *   - the native reference (src/rules/native), for benchmarks and for
 *     comparing the engine's behaviour with compiled rules.
 *
 * Both keep one state per slot, handed to the engine as one JSON object
 * keyed by rule name ({"trailing_stop":{"step":1},...}) so a record holds
 * it and a restart puts it back.
 */
#pragma once

#include "engine/edges.h"

struct s6_rules_svc;
struct s6_native_rules;

/* nslots: the most positions the engine will hold at once.  svc (and nr)
 * must outlive the edge.  The edge owns a sink and the state. */
int s6_rules_edge_lua(struct s6_rules_svc *svc, int nslots,
                      s6_rules_edge *out, char *err, size_t errlen);
int s6_rules_edge_native(const struct s6_native_rules *nr, int nslots,
                         s6_rules_edge *out, char *err, size_t errlen);
void s6_rules_edge_free(s6_rules_edge *edge);
