/*
 * wire.h — what S6 and S4 say to each other over HTTP (docs/contracts/s4.md):
 * the POST /orders and /cancel bodies, the checks that keep an order S4
 * cannot take from being sent, and the reading of S4's answers.  No I/O:
 * router.c queues, rate-limits and sends what these build.
 */
#pragma once

#include "engine/engine.h"
#include "httpc/httpc.h"

/* "FUT", "SPOT"; "?" out of range. */
const char *s6_s4_market_name(int market);

/* The field that makes the order or cancel unfit for S4, or NULL. */
const char *s6_s4_order_bad_field(const s6_order *o);
const char *s6_s4_cancel_bad_field(const char *intent_id, const char *symbol,
                                   int market);

/* Compact JSON, fields in the contract's order; the caller frees it.
 * NULL when out of memory.  Only for what the checks above let pass. */
char *s6_s4_order_body(const s6_order *o);
char *s6_s4_cancel_body(const char *intent_id, const char *symbol,
                        int market);

/* A margin add (POST /positions/margin): the unfit field or NULL, and the
 * body {"intent_id","pos_id","symbol","market","type":"ADD","amount"}. */
const char *s6_s4_margin_bad_field(const s6_margin_order *m);
char *s6_s4_margin_body(const s6_margin_order *m);

/* pos_id of an intent "<pos_id>-<action>-<seq>" ("" when not of that
 * form), for logging a cancel. */
void s6_s4_pos_of_intent(const char *intent, char *out, size_t cap);

/* The error kind of a transport failure or an unexpected status, for
 * s6_s4_request_errors_total; NULL for a cancellation of S6's own. */
const char *s6_s4_error_kind(const s6_httpc_result *res);
/* What an answer means for the order (order_intent) or the cancel (NULL):
 * S6_ROUTE_OK (a 404 to a cancel: already gone), S6_ROUTE_REJECTED (a 4xx
 * other than 429: never retried; detail is S4's "code: message") or
 * S6_ROUTE_FAILED (also a 2xx naming another intent); detail says why and
 * *kind is the metric's error kind (NULL when none). */
int s6_s4_answer_outcome(const s6_httpc_result *res, const char *order_intent,
                         const char **kind, char *detail, size_t cap);
