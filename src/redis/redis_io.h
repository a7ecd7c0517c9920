/*
 * redis_io.h — binds one hiredis async context to a libuv loop.
 *
 * Our own binding rather than hiredis/adapters/libuv.h (0.14): that adapter
 * returns early when uv_poll reports an error status, which is how libuv
 * reports a refused connect (POLLERR), so the connect callback never runs
 * and the context hangs; it also defines a file-static on_close that clashes
 * with anything of that name in the including file.
 */
#pragma once

#include <uv.h>

struct redisAsyncContext;

/* 0, or S6_ENOMEM / S6_ECONNECT (uv_poll_init refused the fd).
 * On failure nothing is attached and the caller still owns the context. */
int s6_redis_io_attach(struct redisAsyncContext *ac, uv_loop_t *loop);
