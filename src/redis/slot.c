#include "redis/slot.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

/* CRC16-CCITT (XMODEM), polynomial 0x1021, init 0: the cluster spec's. */
static uint16_t crc16(const char *p, size_t n)
{
    uint16_t crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)((unsigned char)p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

int s6_redis_key_slot(const char *key, size_t len)
{
    size_t open = 0;

    while (open < len && key[open] != '{')
        open++;
    if (open < len) {
        size_t close = open + 1;
        while (close < len && key[close] != '}')
            close++;
        if (close < len && close > open + 1)
            return crc16(key + open + 1, close - open - 1) & (S6_REDIS_SLOTS - 1);
    }
    return crc16(key, len) & (S6_REDIS_SLOTS - 1);
}

static bool is(const char *arg, size_t len, const char *word)
{
    size_t n = 0;
    while (word[n])
        n++;
    return len == n && strncasecmp(arg, word, n) == 0;
}

static bool keyless(const char *cmd, size_t len)
{
    static const char *const words[] = { "PING", "ECHO", "CLUSTER", "INFO",
                                         "TIME", "ASKING", "READONLY",
                                         "SELECT", "SCRIPT", "DBSIZE",
                                         "FLUSHALL", "FLUSHDB", "MULTI",
                                         "EXEC", "DISCARD", "WAIT" };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (is(cmd, len, words[i]))
            return true;
    return false;
}

/* Keys [first, first + n) of argv. */
static int keys_slot(const char *const *argv, const size_t *lens, int first,
                     int n)
{
    int slot = S6_REDIS_SLOT_NONE;

    for (int i = first; i < first + n; i++) {
        int s = s6_redis_key_slot(argv[i], lens[i]);
        if (slot != S6_REDIS_SLOT_NONE && s != slot)
            return S6_REDIS_SLOT_CROSS;
        slot = s;
    }
    return slot;
}

static int streams_slot(int argc, const char *const *argv, const size_t *lens)
{
    for (int i = 1; i < argc; i++)
        if (is(argv[i], lens[i], "STREAMS")) {
            int n = (argc - i - 1) / 2;
            return n > 0 ? keys_slot(argv, lens, i + 1, n) : S6_REDIS_SLOT_NONE;
        }
    return S6_REDIS_SLOT_NONE;
}

int s6_redis_cmd_slot(int argc, const char *const *argv, const size_t *lens)
{
    const char *cmd = argv[0];
    size_t len = lens[0];

    if (keyless(cmd, len) || argc < 2)
        return S6_REDIS_SLOT_NONE;
    if (is(cmd, len, "EVAL") || is(cmd, len, "EVALSHA")) {
        long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
        if (n <= 0 || n > argc - 3)
            return S6_REDIS_SLOT_NONE;
        return keys_slot(argv, lens, 3, (int)n);
    }
    if (is(cmd, len, "XREAD") || is(cmd, len, "XREADGROUP"))
        return streams_slot(argc, argv, lens);
    if (is(cmd, len, "XGROUP") || is(cmd, len, "XINFO"))
        return argc > 2 ? keys_slot(argv, lens, 2, 1) : S6_REDIS_SLOT_NONE;
    if (is(cmd, len, "MGET") || is(cmd, len, "DEL") || is(cmd, len, "EXISTS") ||
        is(cmd, len, "UNLINK"))
        return keys_slot(argv, lens, 1, argc - 1);
    return keys_slot(argv, lens, 1, 1);
}
