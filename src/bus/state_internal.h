/*
 * state_internal.h — the state edge's insides, shared by its two files
 * (state.c: the writes; state_load.c: the restart read).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "state.h"

struct redisReply;

enum { KEY_MAX = 96 };

struct s6_state {
    s6_redis *r;
    s6_state_opts o;
    bool closed;
    unsigned refs;          /* replies owed to us */
    uint64_t seq;           /* commands issued */
    uint64_t replied;       /* replies seen (they come in issue order) */
    uint64_t fail_seq;      /* the latest failed command's number */
    uint64_t barrier_seq;   /* the latest barrier's number */
    s6_state_stats st;
};

/* Every command of the edge goes through send, in order; each reply
 * callback calls account (false: it failed, and the next barrier will say
 * so) and then unref. */
int s6_state_send(s6_state *s, s6_redis_reply_cb cb, void *ud, int argc,
                  const char *const *argv);
bool s6_state_account(s6_state *s, const struct redisReply *rep, int code);
void s6_state_unref(s6_state *s);
/* [A-Za-z0-9_-], 1..max. */
bool s6_state_id_ok(const char *id, size_t max);
/* fmt with one %s: 0, or S6_BUS_ERANGE when it does not fit KEY_MAX. */
int s6_state_key(char out[KEY_MAX], const char *fmt, const char *id);
