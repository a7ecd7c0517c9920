/*
 * slot.h — Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its
 * hash tag, modulo 16384, and where a command keeps its key.
 */
#pragma once

#include <stddef.h>

enum {
    S6_REDIS_SLOTS = 16384,
    S6_REDIS_SLOT_NONE = -1, /* the command names no key (PING, CLUSTER) */
    S6_REDIS_SLOT_CROSS = -2 /* its keys lie in different slots */
};

/* The slot of one key: the part between the first '{' and the next '}'
 * when that part is not empty, else the whole key. */
int s6_redis_key_slot(const char *key, size_t len);

/* The slot every key of the command lies in, S6_REDIS_SLOT_NONE or
 * S6_REDIS_SLOT_CROSS.  Knows where EVAL/EVALSHA, XREAD/XREADGROUP, XGROUP,
 * XINFO and the keyless commands keep their keys; anything else has its
 * key at argv[1]. */
int s6_redis_cmd_slot(int argc, const char *const *argv, const size_t *lens);
