/* s6_bus_feed_snapshot: one HGETALL per instrument, all in one pipeline,
 * one callback when the last reply is in. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/feed.h"
#include "bus/fields.h"

typedef struct snap_ctx snap_ctx;

typedef struct snap_slot {  /* one reply's way back to its answer */
    snap_ctx *ctx;
    size_t i;
} snap_slot;

struct snap_ctx {
    s6_md_regimes regimes;  /* names[] and the strings: one copy, ours */
    s6_feed_snapshot_done done;
    void *ud;
    size_t n, owed;
    s6_md_snap *snaps;
    snap_slot *slots;
};

static void ctx_free(snap_ctx *x)
{
    free((void *)x->regimes.names);
    free(x->snaps);
    free(x->slots);
    free(x);
}

static void one_in(snap_ctx *x)
{
    if (--x->owed > 0)
        return;
    x->done(x->ud, x->snaps, x->n);
    ctx_free(x);
}

static void parse_snap(snap_ctx *x, s6_md_snap *s, const redisReply *rep)
{
    s6_redis_kv kv[S6_BUS_KV_MAX];
    size_t n;
    char key[96];
    if (s6_bus_reply_kv(rep, kv, S6_BUS_KV_MAX, &n) != 0) {
        s->rc = S6_EINVAL;
        snprintf(s->err, sizeof s->err, "not a hash of strings");
        return;
    }
    if (n == 0) {
        s->rc = 1;
        return;
    }
    s6_md_last_key(s->m.market, s->m.symbol, key, sizeof key);
    s6_md_update m;
    s->rc = s6_md_update_parse(kv, n, &x->regimes, key, &m, s->err,
                               sizeof s->err);
    if (s->rc == 0)
        s->m = m;
}

static void on_hash(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    snap_slot *slot = ud;
    snap_ctx *x = slot->ctx;
    s6_md_snap *s = &x->snaps[slot->i];
    (void)r;
    if (code != 0) {
        s->rc = S6_EREDIS;
        snprintf(s->err, sizeof s->err, "%s", s6_strerror(code));
    } else {
        parse_snap(x, s, rep);
    }
    one_in(x);
}

/* One HGETALL; false when it could not be sent (the slot says why). */
static bool ask(s6_redis *r, snap_ctx *x, size_t i)
{
    s6_md_snap *s = &x->snaps[i];
    char key[96];
    if (s6_md_last_key(s->m.market, s->m.symbol, key, sizeof key) != 0) {
        s->rc = S6_EINVAL;
        snprintf(s->err, sizeof s->err, "bad market or symbol");
        return false;
    }
    x->slots[i] = (snap_slot){ x, i };
    if (s6_redis_hgetall(r, key, on_hash, &x->slots[i]) != 0) {
        s->rc = S6_EREDIS;
        snprintf(s->err, sizeof s->err, "not sent");
        return false;
    }
    return true;
}

/* The replies come after the caller's frame is gone (and after a config
 * reload may have freed its regime list): copy the names into one block,
 * the pointer array followed by the strings. */
static int regimes_copy(const s6_md_regimes *in, s6_md_regimes *out)
{
    *out = (s6_md_regimes){ 0 };
    if (in == NULL || in->n == 0)
        return 0;
    size_t bytes = in->n * sizeof(char *);
    for (size_t i = 0; i < in->n; i++)
        bytes += strlen(in->names[i]) + 1;
    char **names = malloc(bytes);
    if (names == NULL)
        return S6_ENOMEM;
    char *p = (char *)(names + in->n);
    for (size_t i = 0; i < in->n; i++) {
        size_t len = strlen(in->names[i]) + 1;
        names[i] = memcpy(p, in->names[i], len);
        p += len;
    }
    *out = (s6_md_regimes){ (const char *const *)names, in->n };
    return 0;
}

int s6_bus_feed_snapshot(s6_redis *r, const s6_md_instrument *ins, size_t n,
                         const s6_md_regimes *regimes,
                         s6_feed_snapshot_done done, void *ud)
{
    if (!r || !done || n == 0 || !ins)
        return S6_EINVAL;
    snap_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return S6_ENOMEM;
    *x = (snap_ctx){ .done = done, .ud = ud, .n = n,
                     .owed = 1, .snaps = calloc(n, sizeof *x->snaps),
                     .slots = calloc(n, sizeof *x->slots) };
    if (!x->snaps || !x->slots || regimes_copy(regimes, &x->regimes) != 0) {
        ctx_free(x);
        return S6_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        x->snaps[i].m.market = ins[i].market;
        snprintf(x->snaps[i].m.symbol, sizeof x->snaps[i].m.symbol, "%s",
                 ins[i].symbol ? ins[i].symbol : "");
        x->owed += ask(r, x, i);
    }
    if (x->owed == 1) { /* nothing went out: no callback, an error */
        ctx_free(x);
        return S6_EREDIS;
    }
    one_in(x);
    return 0;
}
