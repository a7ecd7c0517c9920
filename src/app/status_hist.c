/*
 * status_hist.c — the status page's memory of each position.  Rings of
 * fixed size, so a long-running service holds a bounded amount whatever
 * happens; a position not seen for the longest time gives its slot to a
 * new one.
 */
#include "app/status_hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/exact.h"

static double wall_now(void)
{
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) != 0)
        return 0;
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static s6_hist_track *find(const s6_status_hist *h, const char *pos_id)
{
    for (size_t i = 0; i < S6_HIST_MAX_POS; i++)
        if (h->tracks[i] != NULL && strcmp(h->tracks[i]->pos_id, pos_id) == 0)
            return h->tracks[i];
    return NULL;
}

/* A free slot, else the one seen longest ago. */
static size_t slot_for_new(const s6_status_hist *h)
{
    size_t best = 0;
    for (size_t i = 0; i < S6_HIST_MAX_POS; i++) {
        if (h->tracks[i] == NULL)
            return i;
        if (h->tracks[i]->last_seen < h->tracks[best]->last_seen)
            best = i;
    }
    return best;
}

static void track_free(s6_hist_track *t)
{
    if (t != NULL)
        free(t->pts);
    free(t);
}

static s6_hist_track *track_of(s6_status_hist *h, const char *pos_id,
                               const char *symbol, int market)
{
    s6_hist_track *t = find(h, pos_id);
    if (t != NULL || pos_id == NULL || symbol == NULL)
        return t;
    t = calloc(1, sizeof *t);
    if (t == NULL || (t->pts = calloc(S6_HIST_POINTS, sizeof *t->pts)) == NULL) {
        track_free(t);
        return NULL;
    }
    snprintf(t->pos_id, sizeof t->pos_id, "%s", pos_id);
    snprintf(t->symbol, sizeof t->symbol, "%s", symbol);
    t->market = market;
    size_t i = slot_for_new(h);
    track_free(h->tracks[i]);
    h->tracks[i] = t;
    return t;
}

static void add_point(s6_hist_track *t, double ts, double mark, double stop)
{
    if (!(mark > 0))
        return;
    size_t at = (t->head_pts + t->n_pts) % S6_HIST_POINTS;
    if (t->n_pts == S6_HIST_POINTS)
        t->head_pts = (t->head_pts + 1) % S6_HIST_POINTS;
    else
        t->n_pts++;
    t->pts[at] = (s6_hist_point){ ts, mark, stop > 0 ? stop : 0 };
    t->last_seen = ts;
}

/* Newest last; the oldest entry drops off when full. */
#define RING_PUSH(arr, n, cap, val)                                   \
    do {                                                              \
        if ((n) == (cap))                                             \
            memmove(&(arr)[0], &(arr)[1], ((cap) - 1) * sizeof *(arr)); \
        else                                                          \
            (n)++;                                                    \
        (arr)[(n) - 1] = (val);                                       \
    } while (0)

static bool is(const char *type, const char *want)
{
    return type != NULL && strcmp(type, want) == 0;
}

static void note_fill(s6_hist_track *t, const s6_engine_note *n)
{
    json_t *j = n->json != NULL ? json_loads(n->json, 0, NULL) : NULL;
    s6_hist_fill f = { .ts = n->ts, .qty = n->value,
                       .price = s6_exact_value(json_object_get(j, "price")) };
    const char *kind = json_string_value(json_object_get(j, "kind"));
    snprintf(f.kind, sizeof f.kind, "%s", kind != NULL ? kind : "?");
    json_decref(j);
    if (isfinite(f.price))
        RING_PUSH(t->fills, t->n_fills, S6_HIST_FILLS, f);
}

/* A plan's note names no rule: the rules behind it are in the position's
 * record by then ("name@hash8 ...", sorted as jansson keeps them). */
static void plan_rules(s6_status_hist *h, const char *pos_id, char *out,
                       size_t cap)
{
    json_t *p = h->engine ? s6_engine_position_json(h->engine, pos_id) : NULL;
    json_t *v = json_object_get(p, "rule_versions");
    size_t used = 0;
    const char *name;
    json_t *hash;
    out[0] = '\0';
    json_object_foreach(v, name, hash) {
        const char *hs = json_string_value(hash);
        int n = snprintf(out + used, cap - used, "%s%s@%.8s", used ? " " : "",
                         name, hs ? hs : "?");
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
    json_decref(p);
}

void s6_status_hist_note(void *ud, const s6_engine_note *n)
{
    s6_status_hist *h = ud;
    s6_hist_track *t = track_of(h, n->pos_id, n->symbol, -1);
    if (t == NULL)
        return;
    if (is(n->type, "STOP_CONFIRMED") || is(n->type, "STOP_MOVED"))
        t->stop = n->value;
    else if (is(n->type, "POSITION_CLOSED"))
        t->stop = 0;
    else if (is(n->type, "FILL"))
        note_fill(t, n);
    s6_hist_event ev = { .ts = n->ts, .value = n->value };
    snprintf(ev.type, sizeof ev.type, "%s", n->type ? n->type : "");
    snprintf(ev.rule, sizeof ev.rule, "%s",
             n->rule_version ? n->rule_version : "");
    if (ev.rule[0] == '\0' && is(n->type, "PLAN"))
        plan_rules(h, n->pos_id, ev.rule, sizeof ev.rule);
    RING_PUSH(t->events, t->n_events, S6_HIST_EVENTS, ev);
    add_point(t, n->ts, n->price, t->stop);
}

static int market_of(const char *name)
{
    return name != NULL && strcmp(name, "SPOT") == 0 ? S6_MARKET_SPOT
                                                     : S6_MARKET_FUT;
}

void s6_status_hist_sample(s6_status_hist *h, double now)
{
    json_t *list = h->engine ? s6_engine_positions_json(h->engine) : NULL;
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        const char *id = json_string_value(json_object_get(p, "position_id"));
        s6_hist_track *t = track_of(
            h, id, json_string_value(json_object_get(p, "symbol")),
            market_of(json_string_value(json_object_get(p, "market"))));
        if (t == NULL)
            continue;
        t->market = market_of(json_string_value(json_object_get(p, "market")));
        json_t *st = json_object_get(p, "stop");
        double stop = s6_exact_value(json_object_get(st, "price"));
        if (!isfinite(stop))
            stop = s6_exact_value(json_object_get(st, "guard"));
        t->stop = isfinite(stop) ? stop : 0;
        add_point(t, now, s6_exact_value(json_object_get(p, "mark")), t->stop);
    }
    json_decref(list);
}

static void on_sample(uv_timer_t *tm)
{
    s6_status_hist_sample(tm->data, wall_now());
}

int s6_status_hist_start(s6_status_hist *h, uv_loop_t *loop,
                         const s6_config_live *config, uint64_t sample_ms)
{
    *h = (s6_status_hist){ .config = config };
    int rc = uv_timer_init(loop, &h->timer);
    if (rc < 0)
        return rc;
    h->timer.data = h;
    h->timer_on = 1;
    uint64_t ms = sample_ms ? sample_ms : S6_HIST_SAMPLE_MS;
    rc = uv_timer_start(&h->timer, on_sample, ms, ms);
    /* Sampling alone must not keep a stopping loop alive. */
    uv_unref((uv_handle_t *)&h->timer);
    return rc;
}

void s6_status_hist_follow(s6_status_hist *h, s6_engine *engine)
{
    h->engine = engine;
    if (engine != NULL)
        s6_engine_observe(engine, s6_status_hist_note, h);
}

/* ---- the answer ---- */

static const s6_symbol_cfg *symbol_of(const s6_status_hist *h,
                                      const s6_hist_track *t)
{
    if (h->config == NULL)
        return NULL;
    const s6_config *c = s6_config_live_get(h->config);
    const s6_symbol_cfg *s = s6_config_symbol(c, t->market, t->symbol);
    return s != NULL ? s : s6_config_symbol(c, S6_MARKET_FUT, t->symbol);
}

/* Prices at the tick when the symbol is known, else as numbers. */
static json_t *price(double v, const s6_symbol_cfg *s)
{
    if (!(v > 0))
        return json_null();
    return s != NULL ? s6_exact_json(v, s->tick) : json_real(v);
}

static json_t *qty(double v, const s6_symbol_cfg *s)
{
    return s != NULL ? s6_exact_json(v, s->step) : json_real(v);
}

static json_t *points_json(const s6_hist_track *t, const s6_symbol_cfg *s,
                           size_t max_points)
{
    json_t *a = json_array();
    size_t stride = max_points ? t->n_pts / max_points + 1 : 1;
    for (size_t i = 0; i < t->n_pts; i++) {
        const s6_hist_point *p = &t->pts[(t->head_pts + i) % S6_HIST_POINTS];
        bool stop_moved = i > 0 && p->stop != t->pts[(t->head_pts + i - 1) %
                                                     S6_HIST_POINTS].stop;
        if (i % stride != 0 && !stop_moved && i + 1 != t->n_pts)
            continue;
        json_array_append_new(a, json_pack("[f,o,o]", p->ts,
                                           price(p->mark, s),
                                           price(p->stop, s)));
    }
    return a;
}

static json_t *track_json(const s6_status_hist *h, const s6_hist_track *t,
                          size_t max_points)
{
    const s6_symbol_cfg *s = symbol_of(h, t);
    json_t *fills = json_array(), *events = json_array();
    for (size_t i = 0; i < t->n_fills; i++) {
        const s6_hist_fill *f = &t->fills[i];
        json_array_append_new(fills, json_pack("{s:f,s:s,s:o,s:o}", "ts",
                                               f->ts, "kind", f->kind, "price",
                                               price(f->price, s), "qty",
                                               qty(f->qty, s)));
    }
    for (size_t i = 0; i < t->n_events; i++) {
        const s6_hist_event *e = &t->events[i];
        json_array_append_new(events, json_pack("{s:f,s:s,s:s}", "ts", e->ts,
                                                "type", e->type, "rule",
                                                e->rule));
    }
    return json_pack("{s:s,s:s,s:o,s:o,s:o}", "symbol", t->symbol, "market",
                     t->market == S6_MARKET_SPOT ? "SPOT" : "FUT", "points",
                     points_json(t, s, max_points), "fills", fills, "events",
                     events);
}

json_t *s6_status_hist_json(const s6_status_hist *h, size_t max_points)
{
    json_t *pos = json_object();
    for (size_t i = 0; i < S6_HIST_MAX_POS; i++)
        if (h->tracks[i] != NULL)
            json_object_set_new(pos, h->tracks[i]->pos_id,
                                track_json(h, h->tracks[i], max_points));
    return json_pack("{s:f,s:o}", "sample_s",
                     (double)uv_timer_get_repeat(&h->timer) / 1000.0,
                     "positions", pos);
}

void s6_status_hist_stop(s6_status_hist *h)
{
    if (h->timer_on)
        uv_close((uv_handle_t *)&h->timer, NULL);
    h->timer_on = 0;
    h->engine = NULL;
}

void s6_status_hist_free(s6_status_hist *h)
{
    for (size_t i = 0; i < S6_HIST_MAX_POS; i++) {
        track_free(h->tracks[i]);
        h->tracks[i] = NULL;
    }
}
