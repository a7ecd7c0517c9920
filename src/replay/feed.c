/*
 * feed.c — price series merged into one time-ordered stream of updates
 * (prices.h).  Bars open -> nearer extreme -> farther extreme -> close is
 * the usual assumption when only OHLC is known; what matters here is that
 * it never looks ahead: the ATR an update carries is that of bars already
 * closed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "replay/prices.h"
#include "core/s6_core.h"

enum { SUBS_PER_BAR = 4 };

typedef struct head {
    size_t bar;
    int sub;
    s6_atr_state atr;
    double atr_now;
    bool open;               /* an ATR bar is being built */
    double hi, lo;
    double next_t;           /* head_time, kept: the merge reads it often */
} head;

struct s6_price_feed {
    const s6_price_series *s;
    size_t n;
    head *h;
    size_t *heap;            /* series with updates left, earliest first */
    size_t n_heap;
    size_t total;
    double atr_bar_s;
};

static int subs(const s6_price_series *s)
{
    return s->has_mark ? 1 : SUBS_PER_BAR;
}

static double interval(const s6_price_series *s, size_t i)
{
    if (i + 1 < s->n)
        return s->bars[i + 1].t - s->bars[i].t;
    return i > 0 ? s->bars[i].t - s->bars[i - 1].t : 60;
}

static double head_time(const s6_price_feed *f, size_t k)
{
    const s6_price_series *s = &f->s[k];
    const head *h = &f->h[k];
    if (h->bar >= s->n)
        return INFINITY;
    return s->bars[h->bar].t + interval(s, h->bar) * h->sub / SUBS_PER_BAR;
}

static double head_mark(const s6_price_feed *f, size_t k)
{
    const s6_price_bar *b = &f->s[k].bars[f->h[k].bar];
    if (f->s[k].has_mark)
        return b->mark;
    bool rising = b->close >= b->open;
    const double path[SUBS_PER_BAR] = {
        b->open, rising ? b->low : b->high, rising ? b->high : b->low,
        b->close
    };
    return path[f->h[k].sub];
}

/* Earlier first; the same time in the order the series were given. */
static bool earlier(const s6_price_feed *f, size_t a, size_t b)
{
    double ta = f->h[a].next_t, tb = f->h[b].next_t;
    return ta < tb || (ta == tb && a < b);
}

static void heap_down(s6_price_feed *f, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < f->n_heap && earlier(f, f->heap[l], f->heap[m]))
            m = l;
        if (r < f->n_heap && earlier(f, f->heap[r], f->heap[m]))
            m = r;
        if (m == i)
            return;
        size_t t = f->heap[i];
        f->heap[i] = f->heap[m];
        f->heap[m] = t;
        i = m;
    }
}

static void heap_push(s6_price_feed *f, size_t k)
{
    size_t i = f->n_heap++;
    f->heap[i] = k;
    while (i > 0 && earlier(f, f->heap[i], f->heap[(i - 1) / 2])) {
        size_t p = (i - 1) / 2, t = f->heap[i];
        f->heap[i] = f->heap[p];
        f->heap[p] = t;
        i = p;
    }
}

int s6_price_feed_new(const s6_price_series *series, size_t n, int atr_period,
                      double atr_bar_s, s6_price_feed **out)
{
    s6_price_feed *f = calloc(1, sizeof *f);
    if (f == NULL || (f->h = calloc(n ? n : 1, sizeof *f->h)) == NULL ||
        (f->heap = calloc(n ? n : 1, sizeof *f->heap)) == NULL) {
        if (f != NULL)
            free(f->h);
        free(f);
        return -ENOMEM;
    }
    f->s = series;
    f->n = n;
    f->atr_bar_s = atr_bar_s;
    for (size_t k = 0; k < n; k++) {
        if (s6_atr_init(&f->h[k].atr, atr_period) != 0) {
            s6_price_feed_free(f);
            return -EINVAL;
        }
        f->h[k].atr_now = NAN;
        f->h[k].next_t = head_time(f, k);
        if (series[k].n > 0)
            heap_push(f, k);
        f->total += series[k].n * (size_t)subs(&series[k]);
    }
    *out = f;
    return 0;
}

void s6_price_feed_free(s6_price_feed *f)
{
    if (f == NULL)
        return;
    free(f->h);
    free(f->heap);
    free(f);
}

static bool same_atr_bar(const s6_price_feed *f, double a, double b)
{
    return f->atr_bar_s > 0 &&
           floor(a / f->atr_bar_s) == floor(b / f->atr_bar_s);
}

/* A file bar completed: it extends the ATR bar, which is pushed once its
 * last file bar is done (the next starts another, or there is none). */
static void close_bar(s6_price_feed *f, size_t k)
{
    head *h = &f->h[k];
    const s6_price_series *s = &f->s[k];
    const s6_price_bar *b = &s->bars[h->bar];
    h->hi = h->open ? fmax(h->hi, b->high) : b->high;
    h->lo = h->open ? fmin(h->lo, b->low) : b->low;
    h->open = true;
    if (h->bar + 1 < s->n && same_atr_bar(f, b->t, s->bars[h->bar + 1].t))
        return;
    double atr = NAN;
    s6_atr_push(&h->atr, h->hi, h->lo, b->close, &atr);
    h->atr_now = atr;
    h->open = false;
}

bool s6_price_feed_next(s6_price_feed *f, s6_price_update *u)
{
    if (f->n_heap == 0)
        return false;
    size_t best = f->heap[0];
    head *h = &f->h[best];
    *u = (s6_price_update){ .series = best, .ts = h->next_t,
                            .mark = head_mark(f, best), .atr = h->atr_now,
                            .signal = h->sub == 0
                                ? f->s[best].bars[h->bar].signal : 0 };
    if (++h->sub == subs(&f->s[best])) {
        close_bar(f, best);
        h->sub = 0;
        h->bar++;
    }
    h->next_t = head_time(f, best);
    if (h->bar >= f->s[best].n)
        f->heap[0] = f->heap[--f->n_heap];
    heap_down(f, 0);
    return true;
}

size_t s6_price_feed_total(const s6_price_feed *f)
{
    return f->total;
}
