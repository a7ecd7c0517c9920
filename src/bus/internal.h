/*
 * internal.h — the state edge's insides, shared by its two files
 * (state.c: the writes; state_load.c: the restart read).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bus/state.h"

struct redisReply;

enum { KEY_MAX = 96 };

typedef struct st_batch st_batch;

struct s6_state {
    s6_redis *r;
    s6_state_opts o;
    bool closed;
    unsigned refs;          /* replies owed to us */
    uint64_t seq;           /* commands issued */
    uint64_t replied;       /* replies seen (they come in issue order) */
    uint64_t fail_seq;      /* the latest failed command's number */
    uint64_t barrier_seq;   /* the latest barrier's number */
    /* saves and releases not yet confirmed (state_retry.c) */
    st_batch **buckets;
    size_t n_buckets, n_batches;
    st_batch *dirty;        /* failed: the next barrier sends them again */
    size_t n_dirty;
    /* slots written and not yet confirmed by wait_replicas replicas
     * (state_wait.c): the slot and the number of its latest command */
    struct st_unrepl { int slot; uint64_t seq; } *unrepl;
    size_t n_unrepl, cap_unrepl;
    s6_state_stats st;
};

/* Every command of the edge goes through send, in order; each reply
 * callback calls account (false: it failed, and the next barrier will say
 * so) and then unref. */
int s6_state_send(s6_state *s, s6_redis_reply_cb cb, void *ud, int argc,
                  const char *const *argv);
int s6_state_send_len(s6_state *s, s6_redis_reply_cb cb, void *ud, int argc,
                      const char *const *argv, const size_t *len);
/* The same for a keyless command to the node of slot (-1: any), with
 * extra_ms more before its deadline. */
int s6_state_send_at(s6_state *s, int slot, uint32_t extra_ms,
                     s6_redis_reply_cb cb, void *ud, int argc,
                     const char *const *argv);
bool s6_state_account(s6_state *s, const struct redisReply *rep, int code);
void s6_state_unref(s6_state *s);
/* [A-Za-z0-9_-], 1..max. */
bool s6_state_id_ok(const char *id, size_t max);
/* fmt with one %s: 0, or S6_ERANGE when it does not fit KEY_MAX. */
int s6_state_key(char out[KEY_MAX], const char *fmt, const char *id);

/* ---- writes kept until confirmed (state_retry.c) ---- */

/* A new batch for (kind, pos_id); it replaces the position's previous one
 * of that kind, which is then never sent again.  NULL on ENOMEM. */
st_batch *s6_state_batch_begin(s6_state *s, char kind, const char *pos_id);
/* Appends a copy of one command. */
int s6_state_batch_add(st_batch *b, int argc, const char *const *argv);
/* Called with the last command's reply when the whole batch succeeded. */
void s6_state_batch_on_ok(st_batch *b,
                          void (*fn)(s6_state *s, const struct redisReply *));
/* Sends every command; on a failure to send it is kept for the barrier. */
int s6_state_batch_send(st_batch *b);
/* Drops a batch that was never sent (building it failed). */
void s6_state_batch_drop(s6_state *s, st_batch *b);
/* Sends the failed batches again (the barrier, before its PING). */
size_t s6_state_resend_dirty(s6_state *s);
/* Quotas on a cluster, one key per script (state_quota_split.c). */
int s6_state_reserve_split(s6_state *s, const char *pos_id, const char *b,
                           const char *c, void (*done)(void *cb_ud, bool ok),
                           void *cb_ud);
int s6_state_release_split(s6_state *s, st_batch *bt, const char *pos_id,
                           const char *neg_b, const char *neg_c,
                           const char *when);
/* The engine's own record (state_book.c): the edge's book_save. */
int s6_state_book_save(void *ud, const char *json);
/* When the edge itself goes. */
void s6_state_batches_free(s6_state *s);

/* ---- replicas before "durable" (state_wait.c) ---- */

/* Remembers the slot of a command just sent (wait_replicas > 0 only). */
int s6_state_wait_note(s6_state *s, int argc, const char *const *argv,
                       const size_t *len);
/* The barrier, before its PING: a WAIT to each slot written since its
 * writes were last confirmed; a shortfall fails the barrier. */
void s6_state_wait_send(s6_state *s);
