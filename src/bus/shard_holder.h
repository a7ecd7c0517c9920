/*
 * shard_holder.h — where a position is served when several instances
 * share the symbols (docs/operations.md, "Sharded instances"): its
 * symbol from its record, the symbol's shard, and that shard's live
 * holder with the address it advertises (lease.h, opts.holder).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "redis/redis.h"

typedef struct s6_shard_where {
    int rc;              /* 0, or why Redis could not say (the rest unset) */
    bool known;          /* the position has a record (pos:{state}:<id>) */
    char symbol[32];
    uint32_t shard;
    bool held;           /* the shard's lease is held right now */
    char instance[64];   /* its holder (the lease key's value) */
    char http[256];      /* the holder's advertised address; "" unknown */
} s6_shard_where;

typedef void (*s6_shard_located)(void *ud, const s6_shard_where *w);

/* pos_id: [A-Za-z0-9_-], 1..24.  done runs once, later (never from inside
 * this call); a negative return means it will not run. */
int s6_shard_locate(s6_redis *r, const char *pos_id, uint32_t count,
                    s6_shard_located done, void *ud);
