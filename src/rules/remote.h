/*
 * remote.h — a ruleset whose Lua state lives in a worker process
 * (rules/worker.h).  ruleset.c hands every call here when the options name
 * a worker executable, so the registry and the service use one API.
 */
#pragma once

#include "rules/ruleset.h"

typedef struct s6_remote s6_remote;

int s6_remote_new(const s6_ruleset_opts *opts, const s6_rule_src *rules,
                  size_t n, s6_remote **out, char *err, size_t errlen);
int s6_remote_self_check(s6_remote *r, char *err, size_t errlen);
int s6_remote_eval(s6_remote *r, const s6_pos_view *pos,
                   const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                   s6_state_store *store, s6_eval_report *report);
/* The same without waiting (ruleset.h, s6_ruleset_eval_start); *call is
 * NULL when it could not be watched and ran to its end here. */
int s6_remote_eval_start(s6_remote *r, const s6_pos_view *pos,
                         const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                         s6_state_store *store, const s6_eval_async *a,
                         s6_eval_call **call);
int s6_remote_set_slot(s6_remote *r, int slot, const char *id,
                       const char *symbol);
size_t s6_remote_mem_used(const s6_remote *r);
int s6_remote_alive(const s6_remote *r);
void s6_remote_free(s6_remote *r);
