/*
 * state.h — the Redis s6_state_edge (docs/contracts/redis-state.md).
 *
 * Every write goes out on one connection, in call order, so the barrier is
 * a PING: its reply means every earlier reply is in, and it answers ok
 * only when none of the commands issued since the previous barrier failed
 * (each failure is reported to exactly one barrier, the first after it).
 * With wait_replicas set, WAITs go before the PING (state_wait.c).
 *
 *   save          MULTI; HSET pos:{sl}:level:<id> {price, step, intent_id,
 *                 confirmed}; HSET pos:{tp}:ladder:<id> {step}; HSET
 *                 pos:{adds}:<id> {count, last_add_at}; DEL + HSET
 *                 pos:{rules}:<id> {<rule>: <json>}; HSET pos:{state}:<id>
 *                 {record, state, symbol, market}; SADD or SREM
 *                 pos:{state}:open <id>; EXEC
 *   event         XADD pos:events:{<SYMBOL>} MAXLEN ~ n * type, pos_id,
 *                 ts and the JSON object's fields
 *   announce      XADD <stream> * <fields>
 *   quota_reserve EVAL (risk:{budget}, risk:{concurrency}): both or none
 *   quota_release EVAL: SET NX of risk:{budget}:released:<id>, then both
 *                 hashes' `used` down, never below 0
 *   book_save     HSET pos:{state}:book record <json> (opts.book_key)
 *
 * Restart: s6_state_load reads every position of pos:{state}:open,
 * s6_state_load_book the engine's own record.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/s6_errors.h"
#include "engine/edges.h"
#include "redis/redis.h"
#include "util/log.h"

#define S6_STATE_OPEN_SET "pos:{state}:open"
#define S6_STATE_BOOK_KEY "pos:{state}:book"
#define S6_QUOTA_BUDGET_KEY "risk:{budget}"
#define S6_QUOTA_CONCURRENCY_KEY "risk:{concurrency}"

typedef struct s6_state_opts {
    uint32_t events_maxlen;   /* pos:events:{SYMBOL} MAXLEN ~, 0 → 100000 */
    s6_clock clock;           /* event ts when the JSON has none; NULL now()
                                 → wall clock */
    s6_log *log;
    /* Sharded instances: the load returns (and rewrites the views of) only
     * the positions whose symbol this says are ours.  NULL: all. */
    bool (*owns)(void *ud, const char *symbol);
    void *owns_ud;
    /* The engine's own record (today's PnL, the leftovers): one per
     * instance or shard (s6_shard_book_key).  NULL: pos:{state}:book. */
    const char *book_key;
    /* Replication before "durable" (docs/operations.md, "Replicas before
     * an order"): with wait_replicas > 0 the barrier also sends WAIT
     * wait_replicas wait_timeout_ms to every node written since its
     * writes were last confirmed by that many replicas, and answers
     * "durable" only when each WAIT reached them.  A shortfall is a
     * failed barrier: the orders stay held and the next barrier waits
     * again.  0: off (the master's reply is enough). */
    uint32_t wait_replicas;
    uint32_t wait_timeout_ms; /* 0 → 1000 */
    struct s6_metrics *metrics; /* s6_state_waits_total; may be NULL */
} s6_state_opts;

typedef struct s6_state_stats {
    uint64_t saves, events, announces;
    uint64_t reserves_ok, reserves_refused;
    uint64_t releases_applied;   /* a release that found no marker */
    uint64_t releases_repeated;  /* a second release: a no-op */
    uint64_t failures;           /* commands that failed */
    uint64_t resent;             /* failed saves/releases sent again */
    uint64_t waits_ok;           /* WAITs that reached wait_replicas */
    uint64_t waits_short;        /* WAITs that did not (or failed) */
} s6_state_stats;

typedef struct s6_state s6_state;

/* r: the connection every write of this edge uses (may be shared with
 * other non-blocking users). */
int s6_state_new(s6_redis *r, const s6_state_opts *opts, s6_state **out);
/* No callback runs after this; memory goes once the replies owed are in. */
void s6_state_free(s6_state *s);
s6_state_edge s6_state_edge_of(s6_state *s);
void s6_state_get_stats(const s6_state *s, s6_state_stats *st);

/* Restart: every record of the open set, decoded (the rule state from
 * pos:{rules}:<id>).  rc 0: recs (malloc'd, n of them; free with
 * s6_state_free_records) are the callback's; rc < 0: err says what, and
 * which position — a record that does not decode fails the whole load
 * (starting without a position is worse than not starting). */
typedef void (*s6_state_loaded)(void *ud, int rc, s6_engine_record *recs,
                                size_t n, const char *err);
int s6_state_load(s6_state *s, s6_state_loaded done, void *ud);
void s6_state_free_records(s6_engine_record *recs, size_t n);

/* Restart: the engine's own record as book_save wrote it, for
 * s6_engine_restore_book.  rc 0: json is the text (NULL: none saved yet),
 * borrowed for the call; rc < 0: err says what. */
typedef void (*s6_state_book_loaded)(void *ud, int rc, const char *json,
                                     const char *err);
int s6_state_load_book(s6_state *s, s6_state_book_loaded done, void *ud);
