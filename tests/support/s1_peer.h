/*
 * s1_peer.h — an S1 (exchange gateway) stand-in for the treasury tests,
 * speaking docs/contracts/treasury.md:
 *
 *   POST /xchg/treasury/transfer   Idempotency-Key: <transfer_id>
 *     {"transfer_id","from","to","asset","amount"}
 *     200 {"transfer_id","status":"SUCCESS","tx_id"}   executed
 *     200 {"transfer_id","status":"FAILED","reason"}   refused by the venue
 *     400 {"error":{"code","message"}}                 bad request
 *
 * Deduplicated by transfer_id like S1: a repeat answers the first outcome
 * and never executes twice.  A mode makes the next requests fail: a venue
 * refusal (FAILED), a 4xx, a 503 (nothing done), or a stall (executed, the
 * answer never sent, as when an answer is lost).
 *
 * Runs on the test's loop (no thread); the test runs the loop until what it
 * waits for has been recorded.
 */
#pragma once

#include <stddef.h>
#include <uv.h>

typedef struct s6_s1_peer s6_s1_peer;

typedef enum s6_s1_peer_mode {
    S6_S1P_OK = 0,
    S6_S1P_VENUE_FAILED, /* 200 status FAILED, nothing executed */
    S6_S1P_REJECT,       /* 400, nothing executed */
    S6_S1P_UNAVAILABLE,  /* 503, nothing executed */
    S6_S1P_STALL         /* executed, never answered */
} s6_s1_peer_mode;

int s6_s1_peer_new(s6_s1_peer **out, uv_loop_t *loop);
/* Answers what is stalled with 503, shuts down, runs the loop until the
 * server has closed, frees. */
void s6_s1_peer_free(s6_s1_peer *p);
/* "http://127.0.0.1:<port>" into buf. */
const char *s6_s1_peer_url(const s6_s1_peer *p, char *buf, size_t cap);

/* The next `times` requests (0: all from now on) get mode, then OK. */
void s6_s1_peer_set_mode(s6_s1_peer *p, s6_s1_peer_mode mode, unsigned times);

size_t s6_s1_peer_calls(const s6_s1_peer *p);    /* POSTs received */
size_t s6_s1_peer_executed(const s6_s1_peer *p); /* distinct transfers done */
/* The amount executed for transfer_id, or -1 when none. */
double s6_s1_peer_amount(const s6_s1_peer *p, const char *transfer_id);
/* The body and Idempotency-Key of the last POST ("" when none). */
const char *s6_s1_peer_last_body(const s6_s1_peer *p);
const char *s6_s1_peer_last_key(const s6_s1_peer *p);
