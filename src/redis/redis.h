/*
 * redis.h — an asynchronous Redis client on the service's libuv loop.
 *
 * Built on hiredis 0.14's async API, bound to libuv by our own event binding
 * (redis_io.c) instead of hiredis/adapters/libuv.h, whose poll callback
 * silently drops a refused connection.  The contract (docs/redis.md):
 *
 *   - s6_redis_cmd() returning 0 means the callback runs exactly once, later,
 *     never from inside s6_redis_cmd(): with the reply (code 0), with an error
 *     reply (code S6_EREPLY, reply->type == REDIS_REPLY_ERROR), or with
 *     reply == NULL and a failure code.  A negative return means the command
 *     was not sent and the callback will never run.
 *   - Every command has a deadline (opts.command_timeout_ms, plus the extra
 *     time a blocking command asks for).  When the oldest command in flight
 *     passes it, every command in flight fails with S6_ETIMEDOUT and the
 *     connection is dropped and re-established.
 *   - Commands are accepted while connecting or connected; while the client
 *     waits to reconnect they are refused at once with S6_EDOWN.
 *   - Reconnects back off exponentially from reconnect_min_ms to
 *     reconnect_max_ms, and start again from the minimum after a success.
 *   - Blocking reads (XREADGROUP ... BLOCK) stall their connection: open a
 *     second s6_redis for them.
 *
 * One s6_redis serves one loop thread; nothing here is thread-safe.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/s6_errors.h"
#include "util/log.h"

struct redisReply; /* <hiredis/hiredis.h>; replies are hiredis' own */

typedef enum s6_redis_state {
    S6_REDIS_CONNECTING = 0,
    S6_REDIS_UP,      /* connected and the handshake (PING/SELECT) answered */
    S6_REDIS_DOWN,    /* lost or failed; a reconnect is scheduled */
    S6_REDIS_CLOSED   /* s6_redis_close() was called */
} s6_redis_state;

typedef struct s6_redis s6_redis;

/* code: 0, S6_EREPLY, or a failure (reply NULL).  The reply belongs
 * to hiredis and is freed when the callback returns. */
typedef void (*s6_redis_reply_cb)(s6_redis *r, const struct redisReply *reply,
                                  int code, void *ud);

/* Each state change; code says why a connection went DOWN (else 0). */
typedef void (*s6_redis_state_cb)(s6_redis *r, s6_redis_state state, int code,
                                  void *ud);

typedef struct s6_redis_opts {
    uint32_t connect_timeout_ms; /* 0 → 1000 */
    uint32_t command_timeout_ms; /* 0 → 2000 */
    uint32_t reconnect_min_ms;   /* 0 → 50 */
    uint32_t reconnect_max_ms;   /* 0 → 5000 */
    s6_redis_state_cb on_state;  /* optional */
    void *state_ud;
    s6_log *log;                 /* optional */
    const char *name;            /* in log lines, e.g. "cmd" or "blocking" */
} s6_redis_opts;

typedef struct s6_redis_url {
    char host[256];
    int port;
    int db;
} s6_redis_url;

/* redis://host[:port][/db]; port defaults to 6379, db to 0.  On failure
 * returns S6_EURL and writes what is wrong, and where, into err. */
int s6_redis_url_parse(const char *url, s6_redis_url *out, char *err,
                       size_t errlen);

/* Starts connecting at once (state CONNECTING).  opts may be NULL. */
int s6_redis_open(uv_loop_t *loop, const char *url, const s6_redis_opts *opts,
                  s6_redis **out, char *err, size_t errlen);

/* Fails every command in flight with S6_ECANCELED (each callback once,
 * before this returns), drops the connection and frees the client once the
 * loop has closed its handles.  Safe from inside any callback. */
void s6_redis_close(s6_redis *r);

s6_redis_state s6_redis_get_state(const s6_redis *r);
size_t s6_redis_in_flight(const s6_redis *r);

/* argv form only: binary-safe, nothing is parsed as a format string. */
int s6_redis_cmd(s6_redis *r, s6_redis_reply_cb cb, void *ud, int argc,
                 const char *const *argv, const size_t *argvlen);
/* The same with extra_ms added to this command's deadline (a BLOCK time). */
int s6_redis_cmd_ex(s6_redis *r, uint32_t extra_ms, s6_redis_reply_cb cb,
                    void *ud, int argc, const char *const *argv,
                    const size_t *argvlen);

/* A keyless command (WAIT) for the node that serves a slot (slot.h): on
 * a cluster it goes to the slot's master, behind the slot's earlier
 * commands; on one node the slot is ignored. */
int s6_redis_cmd_at(s6_redis *r, int slot, uint32_t extra_ms,
                    s6_redis_reply_cb cb, void *ud, int argc,
                    const char *const *argv, const size_t *argvlen);

/* ---- thin helpers: each builds one argv; NUL-terminated strings unless a
 * length array is given ---- */

/* A field/value pair with explicit lengths (binary-safe). */
typedef struct s6_redis_kv {
    const char *k;
    size_t klen;
    const char *v;
    size_t vlen;
} s6_redis_kv;

/* XADD stream id k1 v1 ...  (id "*" lets Redis choose). */
int s6_redis_xadd(s6_redis *r, const char *stream, const char *id,
                  const s6_redis_kv *kv, size_t n, s6_redis_reply_cb cb,
                  void *ud);
/* HSET key k1 v1 ... */
int s6_redis_hset(s6_redis *r, const char *key, const s6_redis_kv *kv,
                  size_t n, s6_redis_reply_cb cb, void *ud);
int s6_redis_hgetall(s6_redis *r, const char *key, s6_redis_reply_cb cb,
                     void *ud);
/* SET key value NX PX ttl_ms — the single-writer lease.  Reply: status "OK"
 * when taken, nil when someone else holds it. */
int s6_redis_set_nx_px(s6_redis *r, const char *key, const char *value,
                       uint32_t ttl_ms, s6_redis_reply_cb cb, void *ud);
/* XREADGROUP GROUP g c COUNT n BLOCK ms STREAMS stream id; the deadline is
 * extended by block_ms.  Use a connection of its own. */
int s6_redis_xreadgroup(s6_redis *r, const char *group, const char *consumer,
                        uint32_t count, uint32_t block_ms, const char *stream,
                        const char *id, s6_redis_reply_cb cb, void *ud);
/* EVAL script numkeys keys... args... */
int s6_redis_eval(s6_redis *r, const char *script, const char *const *keys,
                  size_t nkeys, const char *const *args, size_t nargs,
                  s6_redis_reply_cb cb, void *ud);
