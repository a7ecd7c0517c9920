/*
 * price_pub.h — the recorded price replay of the embedded defaults: the
 * price files of a folder (docs/replay.md for the format) published to
 * the market-data contract (XADD md:prices + HSET md:last:<market>:<symbol>,
 * docs/contracts/market-data.md) at `speed` times real time, from a libuv
 * timer, so the service reads them exactly as it reads a real feed.
 *
 * Each update is stamped with the wall clock when it is published, not the
 * file's time: the engine refuses market data older than
 * market_data.max_age_s, and a recording is old by definition.  At the end
 * of the files the replay starts again from the first line.
 */
#pragma once

#include <stddef.h>
#include <uv.h>

#include "redis/redis.h"
#include "util/log.h"

typedef struct s6_price_pub s6_price_pub;

typedef struct s6_price_pub_opts {
    const char *dir;          /* every *.csv in it (sorted by name) */
    double speed;             /* > 0: file seconds per wall second */
    double atr_bar_s;         /* ATR over bars this long, 0: the file's */
    const char *const *regimes; /* config rules.regimes (names) */
    size_t n_regimes;
    s6_log *log;
} s6_price_pub_opts;

/* Loads the files (a bad one: err names the file, the line and why) and
 * starts publishing on r. */
int s6_price_pub_start(uv_loop_t *loop, s6_redis *r,
                       const s6_price_pub_opts *o, s6_price_pub **out,
                       char *err, size_t errlen);
/* Updates published so far. */
size_t s6_price_pub_count(const s6_price_pub *p);
/* Stops the timer; the object is freed once the handle has closed. */
void s6_price_pub_close(s6_price_pub *p);
