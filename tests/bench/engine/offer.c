/* offer.c — price updates offered at a fixed rate (offer.h). */
#include "offer.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "bus/md_codec.h"
#include "redis/slot.h"

enum { ARGS_MAX = 3 + 2 * S6_BUS_OUT_MAX, CONNS_MAX = 8 };

/* The writer's connections: one, or one per cluster master (each command
 * goes to its key's master, as a cluster client sends it). */
typedef struct conns {
    int port[CONNS_MAX];
    redisContext *c[CONNS_MAX];
    size_t owed[CONNS_MAX];     /* replies to read at the next flush */
    int n;
} conns;

static redisContext *conn_for(offer *o, conns *cs, const char *key)
{
    int port = o->slot_port
                   ? o->slot_port[s6_redis_key_slot(key, strlen(key))]
                   : o->port;
    for (int i = 0; i < cs->n; i++)
        if (cs->port[i] == port) {
            cs->owed[i]++;
            return cs->c[i];
        }
    if (cs->n == CONNS_MAX)
        return NULL;
    redisContext *c = redisConnect(o->host, port);
    if (c == NULL || c->err) {
        snprintf(o->err, sizeof o->err, "connect: %s",
                 c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    cs->port[cs->n] = port;
    cs->c[cs->n] = c;
    cs->owed[cs->n++] = 1;
    return c;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* HSET then XADD of one update, appended to the pipeline. */
static int append(offer *o, conns *cs, size_t k)
{
    const offer_update *u = &o->upd[k];
    s6_md_update m = { .market = S6_MARKET_FUT };
    snprintf(m.symbol, sizeof m.symbol, "%s", o->symbols[u->pos]);
    m.u = (s6_market_update){ .ts = wall_now(), .mark = u->mark,
                              .regime = -1, .health = NAN };
    s6_md_regimes rg = { o->regimes, o->n_regimes };
    s6_bus_out out;
    char key[96];
    if (s6_md_update_format(&m, &rg, &out, o->err, sizeof o->err) < 0 ||
        s6_md_last_key(m.market, m.symbol, key, sizeof key) < 0)
        return -1;
    const char *argv[ARGS_MAX] = { "XADD", "md:prices", "*" };
    size_t lens[ARGS_MAX] = { 4, 9, 1 };
    for (size_t i = 0; i < out.n; i++) {
        argv[3 + 2 * i] = out.kv[i].k;
        lens[3 + 2 * i] = out.kv[i].klen;
        argv[4 + 2 * i] = out.kv[i].v;
        lens[4 + 2 * i] = out.kv[i].vlen;
    }
    int argc = 3 + 2 * (int)out.n;
    /* The hash first, as price_pub.c: a reader woken by the entry finds
     * the hash at least as new.  HSET <key> takes XADD's first 2 slots. */
    const char *hargv[ARGS_MAX];
    size_t hlens[ARGS_MAX];
    memcpy(hargv, argv, sizeof argv);
    memcpy(hlens, lens, sizeof lens);
    hargv[1] = "HSET";
    hlens[1] = 4;
    hargv[2] = key;
    hlens[2] = strlen(key);
    redisContext *hc = conn_for(o, cs, key);
    if (hc == NULL ||
        redisAppendCommandArgv(hc, argc - 1, hargv + 1, hlens + 1) != REDIS_OK)
        return -1;
    redisContext *xc = conn_for(o, cs, "md:prices");
    if (xc == NULL || redisAppendCommandArgv(xc, argc, argv, lens) != REDIS_OK)
        return -1;
    return 0;
}

/* Writes one connection's pipeline and reads its replies. */
static int flush_one(offer *o, redisContext *c, size_t owed)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            goto fail;
    for (size_t i = 0; i < owed; i++) {
        redisReply *rep;
        if (redisGetReply(c, (void **)&rep) != REDIS_OK)
            goto fail;
        bool bad = rep->type == REDIS_REPLY_ERROR;
        if (bad)
            snprintf(o->err, sizeof o->err, "redis: %s", rep->str);
        freeReplyObject(rep);
        if (bad)
            return -1;
    }
    return 0;
fail:
    snprintf(o->err, sizeof o->err, "write: %s", c->errstr);
    return -1;
}

/* Stamps updates [from, to), writes the pipelines, reads every reply. */
static int flush(offer *o, conns *cs, size_t from, size_t to)
{
    uint64_t now = uv_hrtime();
    for (size_t k = from; k < to; k++)
        __atomic_store_n(&o->sent_ns[k], now, __ATOMIC_RELEASE);
    for (int i = 0; i < cs->n; i++) {
        if (cs->owed[i] && flush_one(o, cs->c[i], cs->owed[i]) != 0)
            return -1;
        cs->owed[i] = 0;
    }
    return 0;
}

static void sleep_until(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u),
                           (long)(ns % 1000000000u) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
           EINTR) {
    }
}

static void *run(void *ud)
{
    offer *o = ud;
    conns cs = { .n = 0 };
    double step_ns = 1e9 / o->rate;
    size_t sent = 0;
    o->started_ns = uv_hrtime();
    while (sent < o->n && o->rc == 0) {
        double elapsed = (double)(uv_hrtime() - o->started_ns);
        size_t due = (size_t)(elapsed / step_ns) + 1;
        if (due > o->n || isinf(o->rate))
            due = o->n;
        for (size_t k = sent; k < due && o->rc == 0; k++)
            o->rc = append(o, &cs, k);
        if (o->rc == 0 && due > sent)
            o->rc = flush(o, &cs, sent, due);
        sent = due;
        if (sent < o->n)
            sleep_until(o->started_ns + (uint64_t)(sent * step_ns));
    }
    o->finished_ns = uv_hrtime();
    for (int i = 0; i < cs.n; i++)
        redisFree(cs.c[i]);
    return NULL;
}

int offer_start(offer *o)
{
    o->rc = 0;
    o->err[0] = '\0';
    if (pthread_create(&o->thread, NULL, run, o) != 0) {
        snprintf(o->err, sizeof o->err, "cannot start the writer thread");
        return -1;
    }
    return 0;
}

int offer_join(offer *o)
{
    pthread_join(o->thread, NULL);
    return o->rc;
}

uint64_t offer_sent(const offer *o, size_t k)
{
    return __atomic_load_n(&o->sent_ns[k], __ATOMIC_ACQUIRE);
}
