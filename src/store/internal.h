/*
 * internal.h — what the store's backends share: error formatting, the
 * snapshot's JSON document, and the result helpers.  Not a public header.
 */
#pragma once

#include <jansson.h>

#include "store/store.h"

/* Formats err (may be NULL) and returns rc, so callers `return` it. */
int s6_store_errf(s6_store_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Calls done once with rc and err's message (or "" when rc is 0). */
void s6_store_finish(s6_store_call call, int rc, const s6_store_err *err,
                     const s6_store_result *res);

/* The snapshot as its JSON document (the stored `doc`); NULL on ENOMEM. */
json_t *s6_store_snapshot_to_json(const s6_store_snapshot *s);
/* Fills *s from a stored document; rule_versions is set to a string owned
 * by the caller (*rv_out, free()).  Returns 0 or S6_ECORRUPT. */
int s6_store_snapshot_from_json(const json_t *doc, s6_store_snapshot *s,
                                char **rv_out, s6_store_err *err);

/* Copies src into a fixed array of size n; false when it does not fit. */
bool s6_store_copy(char *dst, size_t n, const char *src);

/* Whether stored transfer `cur` may take update `u`: a status only moves
 * forward (PENDING -> APPROVED -> SUBMITTED -> a finished one, steps may be
 * skipped), a finished status is final (repeating it is allowed: replayed
 * callbacks), attempts never go down.  Returns 0 or S6_ECONFLICT. */
int s6_store_check_transition(const s6_store_transfer *cur,
                              const s6_store_transfer_update *u,
                              s6_store_err *err);

/* Orders and transfers as JSON documents (the ArangoDB backend stores
 * them as they are); from_json returns 0 or S6_ECORRUPT. */
json_t *s6_store_order_to_json(const s6_store_order *o);
json_t *s6_store_transfer_to_json(const s6_store_transfer *t);
int s6_store_order_from_json(const json_t *doc, s6_store_order *o,
                             s6_store_err *err);
int s6_store_transfer_from_json(const json_t *doc, s6_store_transfer *t,
                                s6_store_err *err);

/* The event an accepted upsert of o appends (seq left 0: the backend's
 * own counter gives it), the one row both backends store. */
void s6_store_order_event_of(const s6_store_order *o,
                             s6_store_order_event *ev);
/* The event's document; from_json takes seq from the numeric _key ArangoDB
 * generated, and returns 0 or S6_ECORRUPT. */
json_t *s6_store_order_event_to_json(const s6_store_order_event *ev);
int s6_store_order_event_from_json(const json_t *doc, s6_store_order_event *ev,
                                   s6_store_err *err);
