#include "redis/redis_io.h"

#include <hiredis/async.h>
#include <stdlib.h>

#include "redis/redis.h"

/* Heap-allocated so it can outlive the hiredis context: hiredis calls
 * cleanup from redisAsyncFree, but the poll handle is only released by the
 * loop in a later close callback. */
typedef struct s6_redis_io {
    uv_poll_t poll;
    redisAsyncContext *ac; /* NULL once hiredis has let go */
    int events;
} s6_redis_io;

static void io_on_poll(uv_poll_t *h, int status, int events)
{
    s6_redis_io *io = h->data;

    if (status < 0) {
        /* A refused connect or a reset: let hiredis read the socket error
         * itself (SO_ERROR before connect, read() after), so the connect or
         * disconnect callback runs and pending replies are failed. */
        if (io->ac)
            redisAsyncHandleRead(io->ac);
        return;
    }
    if (io->ac && (events & UV_READABLE))
        redisAsyncHandleRead(io->ac);
    if (io->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(io->ac);
}

static void io_update(s6_redis_io *io, int add, int del)
{
    io->events = (io->events | add) & ~del;
    if (io->events)
        uv_poll_start(&io->poll, io->events, io_on_poll);
    else
        uv_poll_stop(&io->poll);
}

static void io_add_read(void *p) { io_update(p, UV_READABLE, 0); }
static void io_del_read(void *p) { io_update(p, 0, UV_READABLE); }
static void io_add_write(void *p) { io_update(p, UV_WRITABLE, 0); }
static void io_del_write(void *p) { io_update(p, 0, UV_WRITABLE); }

static void io_on_closed(uv_handle_t *h) { free(h->data); }

static void io_cleanup(void *p)
{
    s6_redis_io *io = p;

    io->ac = NULL;
    uv_close((uv_handle_t *)&io->poll, io_on_closed);
}

int s6_redis_io_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    s6_redis_io *io = calloc(1, sizeof(*io));

    if (!io)
        return S6_ENOMEM;
    if (uv_poll_init(loop, &io->poll, ac->c.fd) != 0) {
        free(io);
        return S6_ECONNECT;
    }
    io->poll.data = io;
    io->ac = ac;
    ac->ev.data = io;
    ac->ev.addRead = io_add_read;
    ac->ev.delRead = io_del_read;
    ac->ev.addWrite = io_add_write;
    ac->ev.delWrite = io_del_write;
    ac->ev.cleanup = io_cleanup;
    return 0;
}
