/*
 * s12_peer.h — an S12 (approvals) stand-in for the treasury tests,
 * speaking docs/contracts/treasury.md:
 *
 *   POST /treasury/transfer        Idempotency-Key: <transfer_id>
 *     {"transfer_id","trigger_id","trigger_type","from","to","amount",...}
 *     202 {"transfer_id","status":"PENDING"}   (or the decision, if made)
 *   GET /treasury/transfer/<id>
 *     200 {"transfer_id","status":"PENDING"|"APPROVED"|"REJECTED","reason"}
 *     404 when it never got the request
 *
 * The decision is the test's: s6_s12_peer_decide() sets what polls see
 * (and what later POSTs answer).  A mode makes POSTs fail with 503 or
 * stall; the decision callback to S6 is sent by the test itself.
 *
 * Runs on the test's loop (no thread).
 */
#pragma once

#include <stddef.h>
#include <uv.h>

typedef struct s6_s12_peer s6_s12_peer;

typedef enum s6_s12_peer_mode {
    S6_S12P_OK = 0,
    S6_S12P_UNAVAILABLE, /* POST answers 503, nothing recorded */
    S6_S12P_STALL        /* POST recorded, never answered */
} s6_s12_peer_mode;

int s6_s12_peer_new(s6_s12_peer **out, uv_loop_t *loop);
void s6_s12_peer_free(s6_s12_peer *p);
const char *s6_s12_peer_url(const s6_s12_peer *p, char *buf, size_t cap);

void s6_s12_peer_set_mode(s6_s12_peer *p, s6_s12_peer_mode mode, unsigned times);
/* The decision for every request from now on: "PENDING" (the default),
 * "APPROVED" or "REJECTED". */
void s6_s12_peer_decide(s6_s12_peer *p, const char *status);

size_t s6_s12_peer_posts(const s6_s12_peer *p);     /* POSTs received */
size_t s6_s12_peer_polls(const s6_s12_peer *p);     /* GETs received */
size_t s6_s12_peer_requests(const s6_s12_peer *p);  /* distinct transfers */
/* The transfer_id S12 was last asked about for the first time. */
const char *s6_s12_peer_last_id(const s6_s12_peer *p);
