#include "bus/feed.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fields.h"

enum { STREAM_PRICES = 0, STREAM_SIGNALS = 1 };

struct s6_feed {
    s6_redis *blk;
    uv_timer_t retry;
    s6_feed_opts o;
    char stream[2][128];
    char id[2][S6_FEED_ID_LEN];   /* "$" until resolved */
    int n_streams;
    bool closed;
    unsigned refs;
    s6_feed_stats st;
};

static const char *comp = "feed";

static void read_next(s6_feed *f);

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

static void on_retry(uv_timer_t *t)
{
    read_next(t->data);
}

static void retry_later(s6_feed *f, const char *what, int code)
{
    s6_log_warn(f->o.log, comp, "retrying", S6_LOG_STR("after", what),
                S6_LOG_STR("error", s6_strerror(code)));
    uv_timer_start(&f->retry, on_retry, f->o.retry_ms, 0);
}

static int issue(s6_feed *f, uint32_t extra_ms, s6_redis_reply_cb cb, int argc,
                 const char *const *argv)
{
    int rc = s6_bus_cmd(f->blk, extra_ms, cb, f, argc, argv);
    if (rc == 0)
        f->refs++;
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
    s6_feed *f = ud;
    (void)r;
    if (!reply_live(f))
        return;
    if (code != 0) {
        retry_later(f, "XREAD", code);
        return;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements &&
                       !f->closed; i++)
        take_stream(f, rep->element[i]);
    if (!f->closed)
        read_next(f);
}

/* ---- start: "$" becomes the stream's last id ---- */

static bool resolved(const s6_feed *f)
{
    for (int i = 0; i < f->n_streams; i++)
        if (strcmp(f->id[i], "$") == 0)
            return false;
    return true;
}

static void on_last_id(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_feed *f = ud;
    (void)r;
    if (!reply_live(f))
        return;
    int which = resolved(f) ? -1 : strcmp(f->id[0], "$") == 0 ? 0 : 1;
    if (code != 0 || which < 0) {
        retry_later(f, "XREVRANGE", code);
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
    read_next(f);
}

static void read_next(s6_feed *f)
{
    int rc;
    const char *what;
    if (!resolved(f)) {
        int which = strcmp(f->id[0], "$") == 0 ? 0 : 1;
        const char *argv[] = { "XREVRANGE", f->stream[which], "+", "-",
                               "COUNT", "1" };
        what = "XREVRANGE";
        rc = issue(f, 0, on_last_id, 6, argv);
    } else {
        char count[16], block[16];
        snprintf(count, sizeof count, "%u", f->o.count);
        snprintf(block, sizeof block, "%u", f->o.block_ms);
        const char *argv[10] = { "XREAD", "COUNT", count, "BLOCK", block,
                                 "STREAMS" };
        int argc = 6;
        for (int i = 0; i < f->n_streams; i++)
            argv[argc++] = f->stream[i];
        for (int i = 0; i < f->n_streams; i++)
            argv[argc++] = f->id[i];
        what = "XREAD";
        bool first = !f->st.reading;
        f->st.reading = true;
        /* From here on nothing written to the streams is missed: the
         * caller may say it is live. */
        if (first && f->o.on_reading != NULL)
            f->o.on_reading(f->o.ud);
        rc = issue(f, f->o.block_ms, on_read, argc, argv);
    }
    if (rc != 0)
        retry_later(f, what, rc);
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
    s6_redis_opts ro = { .log = opts->log, .name = "feed-blocking" };
    if (rc == 0 && s6_redis_open(loop, opts->url, &ro, &f->blk, err, errlen))
        rc = S6_EREDIS;
    if (rc != 0) {
        free(f);
        return rc;
    }
    uv_timer_init(loop, &f->retry);
    f->retry.data = f;
    f->refs = 1; /* the timer's */
    read_next(f);
    *out = f;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    unref(h->data);
}

void s6_feed_close(s6_feed *f)
{
    if (!f || f->closed)
        return;
    f->closed = true;
    s6_redis_close(f->blk);
    uv_close((uv_handle_t *)&f->retry, on_timer_closed);
}

void s6_feed_get_stats(const s6_feed *f, s6_feed_stats *st)
{
    *st = f->st;
    snprintf(st->prices_id, sizeof st->prices_id, "%s", f->id[0]);
    snprintf(st->signals_id, sizeof st->signals_id, "%s", f->id[1]);
}
