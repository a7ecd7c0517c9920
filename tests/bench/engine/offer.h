/*
 * offer.h — price updates offered to Redis at a fixed rate, from a thread
 * of their own, the way a market-data writer would: for each update
 * `HSET md:last:FUT:<symbol>` then `XADD md:prices *` with the same fields
 * (docs/contracts/market-data.md; the order src/replay/price_pub.c uses).
 *
 * The schedule is open-loop: update k is due at start + k / rate, whatever
 * the service is doing, so a slow consumer shows as latency rather than as
 * a lower offered rate (no coordinated omission).  Updates already due are
 * written as one pipeline; each one's send time (uv_hrtime, the clock the
 * S4 peer stamps with) is stored, with release ordering, just before the
 * pipeline is written to the socket.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct offer_update {
    uint32_t pos;      /* symbol index */
    double mark;
    bool cross;        /* crosses a lock-in step: an order is due */
} offer_update;

typedef struct offer {
    /* in */
    char host[64];
    int port;
    const int *slot_port;          /* a cluster: ports[slot], else NULL */
    const offer_update *upd;
    size_t n;
    double rate;                   /* updates per second; INFINITY: every
                                      update in one pipeline */
    const char (*symbols)[16];     /* by offer_update.pos */
    const char *const *regimes;
    size_t n_regimes;
    /* out */
    uint64_t *sent_ns;             /* n of them, the caller's */
    uint64_t started_ns, finished_ns;
    int rc;                        /* 0, or -1 with err */
    char err[160];
    pthread_t thread;
} offer;

/* Starts the writer thread: 0, or -1. */
int offer_start(offer *o);
/* Waits for it; its rc. */
int offer_join(offer *o);
/* The send time of update k, 0 while not yet sent (any thread). */
uint64_t offer_sent(const offer *o, size_t k);
