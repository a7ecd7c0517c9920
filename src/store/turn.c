/* turn.c — one history transaction per loop turn (turn.h). */
#include "store/turn.h"

#include <errno.h>
#include <stdlib.h>

struct s6_store_turn {
    uv_prepare_t prepare;
    s6_store *store;
    s6_log *log;
};

/* Runs once per turn, right before the loop waits for I/O. */
static void on_prepare(uv_prepare_t *h)
{
    s6_store_turn *t = h->data;
    s6_store_err err = { "" };
    if (s6_store_flush(t->store, &err) != 0)
        s6_log_error(t->log, "store", "history commit failed",
                     S6_LOG_STR("error", err.msg));
}

int s6_store_turn_start(uv_loop_t *loop, s6_store *st, s6_log *log,
                        s6_store_turn **out)
{
    s6_store_turn *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    *t = (s6_store_turn){ .store = st, .log = log };
    uv_prepare_init(loop, &t->prepare);
    t->prepare.data = t;
    uv_prepare_start(&t->prepare, on_prepare);
    s6_store_group(st, true);
    *out = t;
    return 0;
}

static void on_closed(uv_handle_t *h) { free(h->data); }

void s6_store_turn_stop(s6_store_turn *t)
{
    if (t == NULL)
        return;
    s6_store_group(t->store, false);
    uv_close((uv_handle_t *)&t->prepare, on_closed);
}
