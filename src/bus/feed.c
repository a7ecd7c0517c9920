#include "bus/feed.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fields.h"
#include "redis/cluster.h"
#include "redis/slot.h"

enum { STREAM_PRICES = 0, STREAM_SIGNALS = 1 };

/* A blocking reader over streams [first, first + n).  One lane reads both
 * streams; on a Redis Cluster, where the two stream keys lie in different
 * slots and one XREAD cannot name both, each stream gets a lane (and a
 * blocking connection) of its own. */
typedef struct feed_lane {
    s6_feed *f;
    s6_redis *blk;
    uv_timer_t retry;
    int first, n;
    bool reading;
} feed_lane;

struct s6_feed {
    feed_lane lane[2];
    int n_lanes;
    s6_feed_opts o;
    char stream[2][128];
    char id[2][S6_FEED_ID_LEN];   /* "$" until resolved */
    int n_streams;
    bool closed;
    unsigned refs;
    s6_feed_stats st;
};

static const char *comp = "feed";

static void read_next(feed_lane *l);

static void unref(s6_feed *f)
{
    if (--f->refs == 0 && f->closed)
        free(f);
}

static bool reply_live(s6_feed *f)
{
    bool live = !f->closed;
    unref(f);
    return live;
}

static void read_or_wait(feed_lane *l);

bool s6_feed_redis_busy(void *redis)
{
    return s6_redis_in_flight(redis) > S6_FEED_BUSY_IN_FLIGHT;
}

static void on_retry(uv_timer_t *t)
{
    read_or_wait(t->data);
}

/* The next read, unless the consumer is busy: then a little later. */
static void read_or_wait(feed_lane *l)
{
    s6_feed *f = l->f;
    if (f->o.busy != NULL && f->o.busy(f->o.busy_ud))
        uv_timer_start(&l->retry, on_retry, S6_FEED_BUSY_WAIT_MS, 0);
    else
        read_next(l);
}

static void retry_later(feed_lane *l, const char *what, int code)
{
    s6_feed *f = l->f;
    s6_log_warn(f->o.log, comp, "retrying", S6_LOG_STR("after", what),
                S6_LOG_STR("error", s6_strerror(code)));
    uv_timer_start(&l->retry, on_retry, f->o.retry_ms, 0);
}

static int issue(feed_lane *l, uint32_t extra_ms, s6_redis_reply_cb cb,
                 int argc, const char *const *argv)
{
    int rc = s6_bus_cmd(l->blk, extra_ms, cb, l, argc, argv);
    if (rc == 0)
        l->f->refs++;
    return rc;
}

/* ---- one entry ---- */

static void bad_entry(s6_feed *f, int which, const char *id, const char *err)
{
    f->st.bad++;
    s6_log_warn(f->o.log, comp, "market entry refused",
                S6_LOG_STR("stream", f->stream[which]), S6_LOG_STR("id", id),
                S6_LOG_STR("error", err));
}

static void deliver(s6_feed *f, int which, const char *id,
                    const redisReply *fields)
{
    s6_redis_kv kv[S6_BUS_KV_MAX];
    size_t n;
    char err[256];
    if (s6_bus_reply_kv(fields, kv, S6_BUS_KV_MAX, &n) != 0) {
        bad_entry(f, which, id, "fields are not string pairs");
        return;
    }
    if (which == STREAM_PRICES) {
        s6_md_update m;
        if (s6_md_update_parse(kv, n, &f->o.regimes, f->stream[which], &m,
                               err, sizeof err) != 0) {
            bad_entry(f, which, id, err);
            return;
        }
        f->st.updates++;
        f->o.on_market(f->o.ud, m.symbol, m.market, &m.u);
        return;
    }
    s6_md_signal s;
    if (s6_md_signal_parse(kv, n, &s, err, sizeof err) != 0) {
        bad_entry(f, which, id, err);
        return;
    }
    f->st.signals++;
    f->o.on_signal(f->o.ud, s.symbol, s.market, s.side, s.strength, s.ts);
}

static int stream_index(const s6_feed *f, const redisReply *name)
{
    for (int i = 0; i < f->n_streams; i++)
        if (name->type == REDIS_REPLY_STRING &&
            strlen(f->stream[i]) == name->len &&
            memcmp(f->stream[i], name->str, name->len) == 0)
            return i;
    return -1;
}

static void take_stream(s6_feed *f, const redisReply *s)
{
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
        s->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    int which = stream_index(f, s->element[0]);
    if (which < 0)
        return;
    const redisReply *entries = s->element[1];
    for (size_t i = 0; i < entries->elements && !f->closed; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[0]->len >= S6_FEED_ID_LEN)
            continue;
        /* Moved before delivery: a callback that closes us loses nothing
         * it has not seen. */
        memcpy(f->id[which], e->element[0]->str, e->element[0]->len);
        f->id[which][e->element[0]->len] = '\0';
        deliver(f, which, f->id[which], e->element[1]);
    }
}

static void on_read(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    feed_lane *l = ud;
    s6_feed *f = l->f;
    (void)r;
    if (!reply_live(f))
        return;
    if (code != 0) {
        retry_later(l, "XREAD", code);
        return;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements &&
                       !f->closed; i++)
        take_stream(f, rep->element[i]);
    if (!f->closed)
        read_or_wait(l);
}

/* ---- start: "$" becomes the stream's last id ---- */

/* The lane's first stream still at "$", or -1. */
static int unresolved(const feed_lane *l)
{
    for (int i = l->first; i < l->first + l->n; i++)
        if (strcmp(l->f->id[i], "$") == 0)
            return i;
    return -1;
}

static void on_last_id(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    feed_lane *l = ud;
    s6_feed *f = l->f;
    (void)r;
    if (!reply_live(f))
        return;
    int which = unresolved(l);
    if (code != 0 || which < 0) {
        retry_later(l, "XREVRANGE", code);
        return;
    }
    const redisReply *last = rep->type == REDIS_REPLY_ARRAY && rep->elements
                                 ? rep->element[0] : NULL;
    if (last && last->type == REDIS_REPLY_ARRAY && last->elements == 2 &&
        last->element[0]->len < S6_FEED_ID_LEN)
        snprintf(f->id[which], S6_FEED_ID_LEN, "%.*s",
                 (int)last->element[0]->len, last->element[0]->str);
    else
        strcpy(f->id[which], "0-0"); /* empty: everything from now on */
    read_next(l);
}

/* Every lane has sent its first read: nothing written from now on is
 * missed, and the caller may say it is live. */
static void lane_reading(feed_lane *l)
{
    s6_feed *f = l->f;
    if (l->reading)
        return;
    l->reading = true;
    for (int i = 0; i < f->n_lanes; i++)
        if (!f->lane[i].reading)
            return;
    f->st.reading = true;
    if (f->o.on_reading != NULL)
        f->o.on_reading(f->o.ud);
}

static void read_next(feed_lane *l)
{
    s6_feed *f = l->f;
    int rc;
    const char *what;
    int which = unresolved(l);
    if (which >= 0) {
        const char *argv[] = { "XREVRANGE", f->stream[which], "+", "-",
                               "COUNT", "1" };
        what = "XREVRANGE";
        rc = issue(l, 0, on_last_id, 6, argv);
    } else {
        char count[16], block[16];
        snprintf(count, sizeof count, "%u", f->o.count);
        snprintf(block, sizeof block, "%u", f->o.block_ms);
        const char *argv[10] = { "XREAD", "COUNT", count, "BLOCK", block,
                                 "STREAMS" };
        int argc = 6;
        for (int i = l->first; i < l->first + l->n; i++)
            argv[argc++] = f->stream[i];
        for (int i = l->first; i < l->first + l->n; i++)
            argv[argc++] = f->id[i];
        what = "XREAD";
        lane_reading(l);
        if (f->closed) /* on_reading may close the feed */
            return;
        rc = issue(l, f->o.block_ms, on_read, argc, argv);
    }
    if (rc != 0)
        retry_later(l, what, rc);
}

static int set_name(char *dst, const char *v, const char *dflt,
                    const char *field, char *err, size_t errlen)
{
    v = v && v[0] ? v : dflt;
    if (strlen(v) >= S6_FEED_ID_LEN * 2) {
        snprintf(err, errlen, "feed: %s is too long", field);
        return S6_EINVAL;
    }
    strcpy(dst, v);
    return 0;
}

static int configure(s6_feed *f, const s6_feed_opts *o, char *err,
                     size_t errlen)
{
    f->o = *o;
    if (!f->o.count)
        f->o.count = 256;
    if (!f->o.block_ms)
        f->o.block_ms = 1000;
    if (!f->o.retry_ms)
        f->o.retry_ms = 500;
    f->n_streams = o->on_signal ? 2 : 1;
    const char *from[2] = { o->prices_from, o->signals_from };
    int rc = set_name(f->stream[0], o->prices_stream, S6_MD_PRICES_STREAM,
                      "prices_stream", err, errlen);
    if (rc == 0)
        rc = set_name(f->stream[1], o->signals_stream, S6_MD_SIGNALS_STREAM,
                      "signals_stream", err, errlen);
    for (int i = 0; rc == 0 && i < 2; i++) {
        const char *v = from[i] && from[i][0] ? from[i] : "$";
        if (strlen(v) >= S6_FEED_ID_LEN ||
            strspn(v, "$0123456789-") != strlen(v)) {
            snprintf(err, errlen, "feed: %s '%s' is not a stream id",
                     i ? "signals_from" : "prices_from", v);
            rc = S6_EINVAL;
        } else {
            strcpy(f->id[i], v);
        }
    }
    return rc;
}

int s6_feed_start(uv_loop_t *loop, const s6_feed_opts *opts, s6_feed **out,
                  char *err, size_t errlen)
{
    if (!loop || !opts || !opts->url || !opts->on_market) {
        snprintf(err, errlen, "feed: loop, url and on_market are required");
        return S6_EINVAL;
    }
    s6_feed *f = calloc(1, sizeof *f);
    if (!f)
        return S6_ENOMEM;
    int rc = configure(f, opts, err, errlen);
    /* One XREAD names every stream, unless a cluster keeps them apart. */
    bool apart = f->n_streams == 2 && s6_cluster_url_is(opts->url) &&
                 s6_redis_key_slot(f->stream[0], strlen(f->stream[0])) !=
                     s6_redis_key_slot(f->stream[1], strlen(f->stream[1]));
    f->n_lanes = apart ? 2 : 1;
    for (int i = 0; i < f->n_lanes; i++)
        f->lane[i] = (feed_lane){ .f = f, .first = apart ? i : 0,
                                  .n = apart ? 1 : f->n_streams };
    s6_redis_opts ro = { .log = opts->log, .name = "feed-blocking" };
    for (int i = 0; rc == 0 && i < f->n_lanes; i++)
        if (s6_redis_open(loop, opts->url, &ro, &f->lane[i].blk, err, errlen))
            rc = S6_EREDIS;
    if (rc != 0) {
        for (int i = 0; i < f->n_lanes; i++)
            if (f->lane[i].blk)
                s6_redis_close(f->lane[i].blk);
        free(f);
        return rc;
    }
    f->refs = (unsigned)f->n_lanes; /* the timers' */
    for (int i = 0; i < f->n_lanes; i++) {
        uv_timer_init(loop, &f->lane[i].retry);
        f->lane[i].retry.data = &f->lane[i];
    }
    *out = f;
    for (int i = 0; i < f->n_lanes && !f->closed; i++)
        read_next(&f->lane[i]);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    feed_lane *l = h->data;
    unref(l->f);
}

void s6_feed_close(s6_feed *f)
{
    if (!f || f->closed)
        return;
    f->closed = true;
    for (int i = 0; i < f->n_lanes; i++) {
        s6_redis_close(f->lane[i].blk);
        uv_close((uv_handle_t *)&f->lane[i].retry, on_timer_closed);
    }
}

void s6_feed_get_stats(const s6_feed *f, s6_feed_stats *st)
{
    *st = f->st;
    snprintf(st->prices_id, sizeof st->prices_id, "%s", f->id[0]);
    snprintf(st->signals_id, sizeof st->signals_id, "%s", f->id[1]);
}
