/*
 * results.h — the ord:{results} consumer (docs/contracts/order-results.md).
 *
 * One consumer of group `s6`, named by the instance id.  On start it
 * creates the group (MKSTREAM, from the stream's start so nothing written
 * before S6 first ran is missed), reclaims entries other consumers left
 * pending for longer than min_idle_ms (XAUTOCLAIM: a crashed instance's
 * unacknowledged results), then reads its own pending list (id 0) and only
 * then new entries (`>`, XREADGROUP BLOCK on a connection of its own).
 * The reclaim (and the pending list after it) runs again every
 * min_idle_ms, between two reads: an instance that died shortly before
 * this one started, or while it runs, leaves entries not yet idle enough.
 *
 * One batch (COUNT n) at a time: every entry is parsed and handed to
 * on_result; then the barrier is asked, and only when it answers "durable"
 * are the batch's entries acknowledged (XACK) and the next batch read.  A
 * barrier failure acknowledges nothing: the batch is read again from the
 * pending list after retry_ms (the engine refuses duplicates by result
 * id).  An entry that does not parse, or that on_result refuses, can never
 * become valid: it is logged with its id and the reason, copied to
 * `ord:{results}:dead` and acknowledged with the batch.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/s6_errors.h"
#include "engine/edges.h"
#include "redis/redis.h"
#include "util/log.h"

#define S6_RESULTS_GROUP "s6"
#define S6_RESULTS_DEAD_STREAM "ord:{results}:dead"

/* on_result's answer "not now" (the engine is not ready, say): this entry
 * and the rest of its batch stay pending, in order, and are delivered
 * again after retry_ms.  The entries before it are acknowledged as usual. */
#define S6_RESULTS_RETRY 1

/* 0 applied (or a duplicate); S6_RESULTS_RETRY; < 0 refused for good,
 * err says why (the entry is dead-lettered). */
typedef int (*s6_results_on_result)(void *ud, const s6_order_result *r,
                                    char *err, size_t errlen);
/* s6_state_edge.barrier's shape: done(cb_ud, ok) once, maybe at once. */
typedef int (*s6_results_barrier)(void *ud,
                                  void (*done)(void *cb_ud, bool ok),
                                  void *cb_ud);

typedef struct s6_results_opts {
    const char *url;            /* for the consumer's blocking connection */
    const char *consumer;       /* the instance id */
    const char *stream;         /* NULL: ord:{results} */
    const char *group;          /* NULL: s6 */
    uint32_t count;             /* entries per batch, 0 → 64 */
    uint32_t block_ms;          /* XREADGROUP BLOCK, 0 → 1000 */
    uint32_t min_idle_ms;       /* reclaim others' entries idle this long,
                                   0 → 30000 */
    uint32_t retry_ms;          /* after a failed read/barrier/ack, 0 → 500 */
    s6_results_on_result on_result;
    void *result_ud;
    s6_results_barrier barrier;
    void *barrier_ud;
    /* NULL, or called with current = true each time the consumer has
     * handled everything the stream held (an empty non-blocking read after
     * its own backlog), and with false when a failure sends it back to
     * its pending list: between the two, views of the venue may be ahead
     * of what was applied. */
    void (*on_current)(void *ud, bool current);
    void *current_ud;
    s6_log *log;
} s6_results_opts;

typedef struct s6_results_stats {
    uint64_t delivered;   /* entries handed to on_result */
    uint64_t acked;       /* entries acknowledged (incl. dead letters) */
    uint64_t dead;        /* entries copied to the dead-letter stream */
    uint64_t reclaimed;   /* entries taken over from other consumers */
    uint64_t barrier_failures;
    uint64_t held_back;   /* S6_RESULTS_RETRY answers */
    bool live;            /* reading new entries (`>`), start-up done */
} s6_results_stats;

typedef struct s6_results s6_results;

/* cmd: the shared command connection (XGROUP, XAUTOCLAIM, XADD, XACK);
 * the blocking reads get a connection of their own, opened from url.
 * Starts at once; nothing is delivered from inside this call. */
int s6_results_start(uv_loop_t *loop, s6_redis *cmd,
                     const s6_results_opts *opts, s6_results **out,
                     char *err, size_t errlen);
/* No callback runs after this returns; nothing more is acknowledged (a
 * batch waiting for its barrier stays pending, to be read again). */
void s6_results_close(s6_results *c);
void s6_results_get_stats(const s6_results *c, s6_results_stats *st);
/* How far the stream has been read: the group's last-delivered-id at
 * start (everything before it was applied by some consumer, or waits in a
 * pending list read before on_current), then the id of the last entry
 * handled (applied, refused or dead-lettered). */
const char *s6_results_read_to(const s6_results *c);
