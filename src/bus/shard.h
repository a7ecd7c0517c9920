/*
 * shard.h — which instance serves a symbol when several share the work
 * (docs/operations.md, "Sharded instances").
 *
 * A stable hash: FNV-1a (32 bits) of the symbol's bytes modulo the shard
 * count, the same on every instance, architecture and release, so a symbol
 * never changes hands unless the count does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t s6_shard_of(const char *symbol, uint32_t count);

/* The lease key and the consumer group of shard `index` of `count`:
 * count 1 keeps the single-instance names (s6:lease, s6). */
void s6_shard_lease_key(uint32_t index, uint32_t count, char *out, size_t cap);
void s6_shard_group(uint32_t index, uint32_t count, char *out, size_t cap);
/* The engine's own record of shard `index` (today's PnL, the leftovers:
 * each shard books its own symbols): pos:{state}:book, or
 * pos:{state}:book:<index> with several shards. */
void s6_shard_book_key(uint32_t index, uint32_t count, char *out, size_t cap);
