/*
 * price_pub.c — the recorded prices published on a timer (price_pub.h).
 *
 * The file clock and the wall clock are tied at the start of each pass: an
 * update whose file time lies dt after the first one is published dt/speed
 * wall seconds after the start.  A 20 ms timer publishes whatever is due,
 * so a fast replay sends small bursts rather than one timer per update.
 */
#include "replay/price_pub.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/md_codec.h"
#include "replay/prices.h"
#include "util/clock.h"

enum { PUB_PERIOD_MS = 20, PUB_MAX_FILES = 16, PUB_MAX_BURST = 4096,
       ATR_PERIOD = 14 };

struct s6_price_pub {
    uv_timer_t timer;
    s6_redis *redis;
    s6_log *log;
    s6_md_regimes regimes;
    double speed;
    double atr_bar_s;
    s6_price_series series[PUB_MAX_FILES];
    size_t n_series;
    s6_price_feed *feed;
    s6_price_update next;     /* the update waiting for its time */
    bool have_next;
    double file_t0;           /* file time of the first update of a pass */
    uint64_t wall_t0_ms;      /* uv_now when that pass started */
    size_t published;
    unsigned failures;        /* Redis errors, logged once per burst */
};

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_csv(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".csv") == 0 && name[0] != '.';
}

/* The *.csv files of dir in name order, loaded; a bad one stops it all. */
static int load_dir(s6_price_pub *p, const char *dir, char *err,
                    size_t errlen)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "replay.dir %s: %s", dir, strerror(errno));
        return -EINVAL;
    }
    char *names[PUB_MAX_FILES];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < PUB_MAX_FILES)
        if (is_csv(de->d_name))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int rc = n == 0 ? -ENOENT : 0;
    if (rc < 0)
        snprintf(err, errlen, "replay.dir %s: no *.csv price file", dir);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rc == 0 && names[i] != NULL) {
            rc = s6_prices_load(path, &p->series[p->n_series], err, errlen);
            if (rc == 0)
                p->n_series++;
        }
        free(names[i]);
    }
    return rc < 0 ? rc : 0;
}

static int rewind_feed(s6_price_pub *p, uint64_t now_ms)
{
    s6_price_feed_free(p->feed);
    p->feed = NULL;
    int rc = s6_price_feed_new(p->series, p->n_series, ATR_PERIOD,
                               p->atr_bar_s,
                               &p->feed);
    if (rc < 0)
        return rc;
    p->have_next = s6_price_feed_next(p->feed, &p->next);
    p->file_t0 = p->next.ts;
    p->wall_t0_ms = now_ms;
    return p->have_next ? 0 : -ENOENT;
}

static void on_reply(s6_redis *r, const struct redisReply *reply, int code,
                     void *ud)
{
    (void)r;
    (void)reply;
    s6_price_pub *p = ud;
    if (code != 0 && p->failures++ == 0)
        s6_log_warn(p->log, "replay", "cannot publish a price update",
                    S6_LOG_STR("error", s6_strerror(code)));
}

static int publish(s6_price_pub *p, const s6_price_update *u, double wall_s)
{
    const s6_price_series *s = &p->series[u->series];
    s6_md_update m = { .market = s->market };
    snprintf(m.symbol, sizeof m.symbol, "%s", s->symbol);
    m.u = (s6_market_update){ .ts = wall_s, .mark = u->mark,
                              .atr = isnan(u->atr) ? 0 : u->atr,
                              .regime = -1, .health = NAN };
    s6_bus_out out;
    char err[160], key[96];
    if (s6_md_update_format(&m, &p->regimes, &out, err, sizeof err) < 0 ||
        s6_md_last_key(m.market, m.symbol, key, sizeof key) < 0) {
        s6_log_error(p->log, "replay", "price update not publishable",
                     S6_LOG_STR("error", err));
        return -EINVAL;
    }
    /* The hash first: a reader woken by the stream entry finds the hash
     * already at least as new. */
    if (s6_redis_hset(p->redis, key, out.kv, out.n, on_reply, p) < 0 ||
        s6_redis_xadd(p->redis, "md:prices", "*", out.kv, out.n, on_reply,
                      p) < 0)
        return -EIO;
    p->published++;
    if (u->signal == 0)
        return 0;
    /* A recorded strategy signal travels like a live one. */
    s6_md_signal sig = { .market = s->market, .side = u->signal,
                         .strength = 1, .ts = wall_s };
    snprintf(sig.symbol, sizeof sig.symbol, "%s", s->symbol);
    if (s6_md_signal_format(&sig, &out, err, sizeof err) < 0 ||
        s6_redis_xadd(p->redis, "strategy:signals", "*", out.kv, out.n,
                      on_reply, p) < 0)
        return -EIO;
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    s6_price_pub *p = t->data;
    uint64_t now_ms = uv_now(t->loop);
    double wall_s = s6_clock_wall_s();
    double file_now = p->file_t0 +
                      (double)(now_ms - p->wall_t0_ms) / 1000.0 * p->speed;
    p->failures = 0;
    for (int burst = 0; burst < PUB_MAX_BURST; burst++) {
        if (!p->have_next && rewind_feed(p, now_ms) < 0)
            return;
        if (p->next.ts > file_now)
            return;
        if (publish(p, &p->next, wall_s) < 0)
            return;
        p->have_next = s6_price_feed_next(p->feed, &p->next);
        if (!p->have_next) {
            s6_log_info(p->log, "replay", "price files replayed; again "
                        "from the start",
                        S6_LOG_INT("updates", (long long)p->published));
            return; /* the next tick rewinds with a fresh time origin */
        }
    }
}

int s6_price_pub_start(uv_loop_t *loop, s6_redis *r,
                       const s6_price_pub_opts *o, s6_price_pub **out,
                       char *err, size_t errlen)
{
    if (!(o->speed > 0) || o->dir == NULL) {
        snprintf(err, errlen, "replay.speed must be > 0 and replay.dir set");
        return -EINVAL;
    }
    s6_price_pub *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->redis = r;
    p->log = o->log;
    p->speed = o->speed;
    p->atr_bar_s = o->atr_bar_s;
    p->regimes = (s6_md_regimes){ o->regimes, o->n_regimes };
    int rc = load_dir(p, o->dir, err, errlen);
    if (rc == 0)
        rc = rewind_feed(p, uv_now(loop));
    if (rc < 0) {
        if (err[0] == '\0')
            snprintf(err, errlen, "replay.dir %s: no price update", o->dir);
        for (size_t i = 0; i < p->n_series; i++)
            s6_prices_free(&p->series[i]);
        s6_price_feed_free(p->feed);
        free(p);
        return rc;
    }
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_timer, 0, PUB_PERIOD_MS);
    s6_log_info(p->log, "replay", "publishing recorded prices",
                S6_LOG_STR("dir", o->dir),
                S6_LOG_INT("files", (long long)p->n_series),
                S6_LOG_NUM("speed", o->speed));
    *out = p;
    return 0;
}

size_t s6_price_pub_count(const s6_price_pub *p)
{
    return p->published;
}

static void on_closed(uv_handle_t *h)
{
    s6_price_pub *p = h->data;
    for (size_t i = 0; i < p->n_series; i++)
        s6_prices_free(&p->series[i]);
    s6_price_feed_free(p->feed);
    free(p);
}

void s6_price_pub_close(s6_price_pub *p)
{
    if (p == NULL)
        return;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_closed);
}
