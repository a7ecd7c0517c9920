/*
 * turn.h — the history store's group commit on a libuv loop: the writes of
 * one loop turn share one transaction, committed before the loop waits
 * for I/O again (store.h, s6_store_group).  A crash burst moves thousands
 * of stops in a few turns; a transaction per history row spent more of
 * the loop on commits (WAL appends, file locks) than on the rows.
 */
#pragma once

#include <uv.h>

#include "store/store.h"
#include "util/log.h"

typedef struct s6_store_turn s6_store_turn;

/* Groups st's writes and commits them once per turn of loop; a failed
 * commit is logged (the turn's history rows are lost, nothing else).
 * 0 or -ENOMEM. */
int s6_store_turn_start(uv_loop_t *loop, s6_store *st, s6_log *log,
                        s6_store_turn **out);
/* Commits what is open, ends the grouping and frees the handle once the
 * loop has closed it.  NULL is a no-op. */
void s6_store_turn_stop(s6_store_turn *t);
