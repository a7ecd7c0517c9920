/*
 * lease.h — the single-writer lease: exactly one S6 instance acts at a
 * time (design.md §4; docs/contracts/redis-state.md "Lease").
 *
 * Acquire: a script that sets s6:lease <instance-id> PX ttl when the key
 * is free, or extends it when it already holds our own id (the same
 * instance restarted after a crash goes on at once; instance ids are
 * unique among running instances).  Renew every ttl/6 with a script that
 * extends the key only while it still holds our id.  The holder declares
 * the lease lost (on_lost) when the key holds someone else's id, or when
 * no renewal sent in the last 3/4 ttl has succeeded — before Redis can
 * expire it and hand it to another instance, whose clock starts only after
 * ours ran out — so a stall of Redis shorter than about half the ttl is
 * ridden out.  A holder that lost it, like a waiting instance, goes on
 * trying every ttl/6 and takes the lease (back) once the key has lapsed or
 * holds its own id.  On on_lost the service stops acting at
 * once; it acts again only after on_acquired.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/s6_errors.h"
#include "redis/redis.h"
#include "util/log.h"

#define S6_LEASE_KEY "s6:lease"

typedef struct s6_lease_opts {
    const char *key;            /* NULL: s6:lease */
    const char *instance_id;    /* 1..63 characters, unique per instance */
    uint32_t ttl_ms;            /* 0 → 10000; at least 30 */
    void (*on_acquired)(void *ud);
    void (*on_lost)(void *ud, const char *why);
    void *ud;
    s6_log *log;
    /* Who holds it, for other instances to name (a JSON object such as
     * {"instance":"s6-b","http":"http://10.0.0.7:8086"}); NULL: nothing.
     * Written to <key>:holder with the lease's ttl after every acquire
     * and renewal that succeeded.  The lease key itself keeps the bare
     * instance id, so every reader of it goes on working; a reader of the
     * holder key trusts it only while its "instance" is the lease key's
     * value (s6_shard_holder). */
    const char *holder;
} s6_lease_opts;

#define S6_LEASE_HOLDER_SUFFIX ":holder"

typedef struct s6_lease_stats {
    uint64_t attempts;      /* acquire scripts sent while not holding */
    uint64_t renewals;      /* renewals that extended our key */
    uint64_t acquired, lost;
    bool held;
} s6_lease_stats;

typedef struct s6_lease s6_lease;

/* r: a non-blocking connection (renewals must not wait behind a blocking
 * read).  The first attempt goes out at once. */
int s6_lease_start(uv_loop_t *loop, s6_redis *r, const s6_lease_opts *opts,
                   s6_lease **out, char *err, size_t errlen);
/* Stops renewing; no callback after this returns.  release: delete the
 * key if it is still ours, so a successor need not wait out the ttl
 * (a crash is close without release). */
void s6_lease_close(s6_lease *l, bool release);
bool s6_lease_held(const s6_lease *l);
void s6_lease_get_stats(const s6_lease *l, s6_lease_stats *st);
