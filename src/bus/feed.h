/*
 * feed.h — the market-data and signal reader (docs/contracts/market-data.md).
 *
 * XREAD BLOCK on `md:prices` and `strategy:signals` together, on a
 * connection of its own, from a remembered id or from "now" (the stream's
 * last id, resolved once at start so nothing written between two reads
 * is skipped).  Each entry goes through md_codec and then to on_market /
 * on_signal, in stream order per stream.  An entry that does not parse is
 * logged with its id and the field, counted, and skipped: a bad price must
 * never reach the engine, and the next one supersedes it anyway.
 *
 * s6_bus_feed_snapshot: pipelined HGETALL of md:last:<market>:<symbol> for
 * a list of instruments, for the manage tick.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/s6_errors.h"
#include "bus/md_codec.h"
#include "redis/redis.h"
#include "util/log.h"

typedef void (*s6_feed_on_market)(void *ud, const char *symbol, int market,
                                  const s6_market_update *u);
typedef void (*s6_feed_on_signal)(void *ud, const char *symbol, int market,
                                  int side, double strength, double ts);

enum { S6_FEED_ID_LEN = 48 };

typedef struct s6_feed_opts {
    const char *url;              /* for the feed's own connection */
    s6_md_regimes regimes;        /* config rules.regimes */
    const char *prices_from;      /* an id to read after, NULL/"$": now */
    const char *signals_from;
    const char *prices_stream;    /* NULL: md:prices */
    const char *signals_stream;   /* NULL: strategy:signals */
    uint32_t count;               /* entries per read and stream, 0 → 256 */
    uint32_t block_ms;            /* 0 → 1000 */
    uint32_t retry_ms;            /* after a failed read, 0 → 500 */
    s6_feed_on_market on_market;
    s6_feed_on_signal on_signal;  /* may be NULL: signals not read */
    /* Once, when the start ids are resolved and the first read is sent:
     * every entry added after this call is delivered.  May be NULL. */
    void (*on_reading)(void *ud);
    void *ud;
    /* Backpressure, may be NULL: while busy(busy_ud) says so, the next
     * read waits (asked again every S6_FEED_BUSY_WAIT_MS).  Updates then
     * queue in the stream, not as commands on a connection that cannot
     * answer them within their timeout (docs/performance.md, "Crash
     * burst"). */
    bool (*busy)(void *busy_ud);
    void *busy_ud;
    s6_log *log;
} s6_feed_opts;

enum { S6_FEED_BUSY_WAIT_MS = 2, S6_FEED_BUSY_IN_FLIGHT = 2000 };

/* The service's busy: the s6_redis command connection (busy_ud) has more
 * than S6_FEED_BUSY_IN_FLIGHT commands unanswered.  A stop move sends
 * about 25 (saves, events, announcements); a read of 256 updates that
 * all move stops sends thousands, and a backlog Redis cannot answer
 * within the command timeout (2 s) would take the connection down and
 * every write in flight with it. */
bool s6_feed_redis_busy(void *redis);

typedef struct s6_feed_stats {
    uint64_t updates, signals, bad;
    char prices_id[S6_FEED_ID_LEN];   /* the last id read: remember it */
    char signals_id[S6_FEED_ID_LEN];
    bool reading;                     /* start ids resolved, reads issued */
} s6_feed_stats;

typedef struct s6_feed s6_feed;

int s6_feed_start(uv_loop_t *loop, const s6_feed_opts *opts, s6_feed **out,
                  char *err, size_t errlen);
/* No callback after this returns. */
void s6_feed_close(s6_feed *f);
void s6_feed_get_stats(const s6_feed *f, s6_feed_stats *st);

/* ---- the manage tick's snapshot ---- */

typedef struct s6_md_instrument {
    int market;
    const char *symbol;
} s6_md_instrument;

typedef struct s6_md_snap {
    int rc;            /* 0, S6_EINVAL (err: the field), S6_EREDIS;
                          1 when the hash does not exist */
    s6_md_update m;
    char err[160];
} s6_md_snap;

/* snaps[i] answers instruments[i]; both arrays belong to the caller. */
typedef void (*s6_feed_snapshot_done)(void *ud, const s6_md_snap *snaps,
                                      size_t n);

/* Pipelines n (>= 1) HGETALLs on r (a non-blocking connection) and calls
 * done once with every answer, later; an instrument whose command could
 * not be sent answers S6_EREDIS.  < 0 when none could be sent: no
 * callback then.  regimes (may be NULL) is copied: the caller's list
 * may go before the answers come. */
int s6_bus_feed_snapshot(s6_redis *r, const s6_md_instrument *instruments,
                         size_t n, const s6_md_regimes *regimes,
                         s6_feed_snapshot_done done, void *ud);
