/*
 * replay.c — the replay driver: the engine over the paper router, the
 * in-memory state and a simulated clock, fed by the price feed.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/service.h"
#include "bus/result_codec.h"
#include "engine/engine.h"
#include "engine/mem_state.h"
#include "rules/native/native_rules.h"
#include "venue/paper/positions.h"
#include "replay/replay.h"
#include "replay/report.h"
#include "rules/edge.h"
#include "core/s6_core.h"
#include "replay/timeline.h"
#include "util/clock.h"
#include "util/exact.h"
#include "replay/whatif.h"

/* The feed's ATR: Wilder's 14, on bars of replay.atr_bar_s. */
enum { ATR_PERIOD = 14, MAX_PUMP_ROUNDS = 1000000, REPLAY_DEADLINE_MS = 2000,
       REPLAY_LOAD_DEADLINE_MS = 10000 };

/* A note whose line waits for the end of the step: a plan's rule
 * versions are saved with the record just after its note. */
typedef struct pending {
    s6_engine_note n;
    char *text;     /* pos_id, symbol, type, rule: one allocation */
} pending;

typedef struct rp {
    const s6_replay_opts *o;
    const s6_price_series *s;
    size_t ns;
    const s6_paper_entry *e;
    size_t ne;
    size_t *entry_series;    /* entry -> its series */
    bool *opened;
    s6_timeline_pnl *pnl;    /* per entry */
    int *last_kind;          /* per entry: the last fill's kind */
    double *last_fill;       /* per entry: when */
    double *last_mark;       /* per series */
    long *book;              /* per series: the paper book */
    double now, t0, next_tick, tick_every;
    s6_paper *paper;
    s6_mem_state *ms;
    s6_engine *eng;
    s6_rules_svc svc;
    bool svc_on;
    s6_native_rules nr;
    s6_rules_edge rules;
    bool rules_on;
    s6_report *rep;
    pending *pend;
    size_t n_pend, cap_pend;
    s6_replay_stats st;
    s6_equity_run *eq;       /* per entry, when figures are asked for */
    s6_equity_run total_eq;  /* the summed equity; "open" = any open */
    double last_update;      /* time in market ends here for the open */
} rp;

static double sim_now(void *ud)
{
    return ((rp *)ud)->now;
}

static int64_t sim_ms(void *ud)
{
    return (int64_t)llround(((rp *)ud)->now * 1000);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long entry_of(const rp *r, const char *pos_id, const char *symbol,
                     int market)
{
    for (size_t i = 0; i < r->ne; i++)
        if (pos_id && pos_id[0] ? strcmp(r->e[i].pos_id, pos_id) == 0
                                : r->e[i].market == market &&
                                      strcmp(r->e[i].symbol, symbol) == 0)
            return (long)i;
    return -1;
}

/* ---- what the edges report ---- */

/* "add_on@1a2b3c4d,trailing_stop@5e6f7a8b" from the saved record's
 * {"rule":"hash",...}, names sorted; "" when there is none. */
static void plan_versions(const rp *r, const char *pos_id, char *out,
                          size_t cap)
{
    out[0] = '\0';
    const char *rec = s6_mem_state_record(r->ms, pos_id);
    json_t *doc = rec ? json_loads(rec, 0, NULL) : NULL;
    const char *text = json_string_value(json_object_get(doc,
                                                         "rule_versions"));
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    const char *names[S6_PLAN_MAX_RULES];
    size_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
        if (n < S6_PLAN_MAX_RULES && json_is_string(val))
            names[n++] = key;
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0, len = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s@%.8s",
                                i ? "," : "", names[i],
                                json_string_value(json_object_get(v,
                                                                  names[i])));
    json_decref(v);
    json_decref(doc);
}

static void flush_notes(rp *r)
{
    for (size_t i = 0; i < r->n_pend; i++) {
        s6_engine_note n = r->pend[i].n;
        char versions[256];
        if (n.rule_version[0] == '\0' && strcmp(n.type, "PLAN") == 0) {
            plan_versions(r, n.pos_id, versions, sizeof versions);
            n.rule_version = versions;
        }
        s6_timeline_note(r->o->out, &n);
        free(r->pend[i].text);
    }
    r->n_pend = 0;
}

/* A fill's line says which (entry, add, reduce, stop...) and at what
 * price: the engine's note carries the mark. */
static const s6_engine_note *fill_line(const s6_engine_note *n,
                                       s6_engine_note *out, char *type,
                                       size_t cap)
{
    if (n->type == NULL || strcmp(n->type, "FILL") != 0 || n->json == NULL)
        return n;
    json_t *j = json_loads(n->json, 0, NULL);
    const char *kind = json_string_value(json_object_get(j, "kind"));
    double price = s6_exact_value(json_object_get(j, "price"));
    *out = *n;
    if (kind != NULL && isfinite(price)) {
        snprintf(type, cap, "FILL %s", kind);
        out->type = type;
        out->price = price;
    }
    json_decref(j);
    return out;
}

/* The line as data, for finding where two runs part (figures.h). */
static void keep_event(rp *r, long i, const s6_engine_note *n)
{
    char fill_type[32];
    s6_engine_note nn;
    n = fill_line(n, &nn, fill_type, sizeof fill_type);
    s6_replay_event ev = { .ts = n->ts, .price = n->price, .value = n->value,
                           .pos = i < 0 ? (unsigned)-1 : (unsigned)i };
    snprintf(ev.type, sizeof ev.type, "%s", n->type ? n->type : "");
    s6_replay_result_event(r->o->result, &ev);
}

static void on_note(void *ud, const s6_engine_note *n)
{
    rp *r = ud;
    r->st.notes++;
    long i = entry_of(r, n->pos_id, n->symbol, -1);
    if (i >= 0 && n->type != NULL && strcmp(n->type, "STOP_MOVED") == 0)
        r->pnl[i].stops_moved++;
    if (r->o->result != NULL && r->o->keep_events)
        keep_event(r, i, n);
    if (r->o->out == NULL || !r->o->timeline)
        return;
    if (r->n_pend == r->cap_pend) {
        size_t cap = r->cap_pend ? r->cap_pend * 2 : 16;
        pending *v = realloc(r->pend, cap * sizeof *v);
        if (v == NULL)
            return; /* the line is lost, the replay goes on */
        r->pend = v;
        r->cap_pend = cap;
    }
    char fill_type[32];
    s6_engine_note nn;
    n = fill_line(n, &nn, fill_type, sizeof fill_type);
    const char *f[4] = { n->pos_id, n->symbol, n->type, n->rule_version };
    size_t len[4], total = 0;
    for (int k = 0; k < 4; k++)
        total += (len[k] = f[k] ? strlen(f[k]) : 0) + 1;
    char *text = malloc(total), *at = text;
    if (text == NULL)
        return;
    pending *p = &r->pend[r->n_pend++];
    p->n = *n;
    p->n.json = NULL;
    const char **dst[4] = { &p->n.pos_id, &p->n.symbol, &p->n.type,
                            &p->n.rule_version };
    for (int k = 0; k < 4; k++) {
        memcpy(at, f[k] ? f[k] : "", len[k]);
        at[len[k]] = '\0';
        *dst[k] = at;
        at += len[k] + 1;
    }
    p->text = text;
}

/* The intent id names the action: <pos_id>-<action>-<seq>. */
static bool is_action(const s6_order_result *res, const char *action)
{
    size_t n = strlen(res->pos_id), a = strlen(action);
    const char *id = res->intent_id;
    return n > 0 && strncmp(id, res->pos_id, n) == 0 && id[n] == '-' &&
           strncmp(id + n + 1, action, a) == 0 && id[n + 1 + a] == '-';
}

/* Time in market: the position's quantity after a fill, and whether any
 * position is open. */
static void track_quantity(rp *r, size_t i, double t)
{
    s6_paper_position pos;
    const s6_price_series *s = &r->s[r->entry_series[i]];
    s6_paper_get_position(r->paper, s->symbol, s->market, &pos);
    s6_equity_quantity(&r->eq[i], t, pos.qty);
    double open = 0;
    for (size_t k = 0; k < r->ne; k++)
        open += r->eq[k].open;
    s6_equity_quantity(&r->total_eq, t, open);
}

/* Equity after an update of series k, per position and summed. */
static void sample_equity(rp *r, size_t k, double mark)
{
    double total = 0;
    for (size_t i = 0; i < r->ne; i++) {
        if (r->entry_series[i] == k && r->opened[i]) {
            s6_paper_position pos;
            s6_paper_get_position(r->paper, r->s[k].symbol, r->s[k].market,
                                  &pos);
            s6_equity_sample(&r->eq[i], pos.realized +
                             pos.side * (mark - pos.entry) * pos.qty);
        }
        total += r->eq[i].equity;
    }
    s6_equity_sample(&r->total_eq, total);
}

static void on_result(void *ud, const s6_order_result *res)
{
    rp *r = ud;
    long i = entry_of(r, res->pos_id, res->symbol, res->market);
    if (res->kind == S6_RES_FILL) {
        r->st.fills++;
        if (i >= 0) {
            s6_timeline_pnl *p = &r->pnl[i];
            p->fees += res->fill.fee;
            p->tps += is_action(res, "tp");
            p->adds += is_action(res, "add");
            if (res->fill.kind == S6_FILL_ENTRY)
                p->entry_qty += res->fill.qty;
            r->last_kind[i] = res->fill.kind;
            r->last_fill[i] = res->ts;
            if (r->eq != NULL)
                track_quantity(r, (size_t)i, res->ts);
            if (r->rep != NULL)
                s6_report_marker(r->rep, (size_t)i, res->ts, res->fill.price,
                                 s6_fill_kind_name(res->fill.kind),
                                 res->fill.qty);
        }
    }
    char err[256];
    if (s6_engine_on_result(r->eng, res, err, sizeof err) < 0)
        r->st.refused++;
}

/* Everything due now: router answers and fills, quota answers; each may
 * cause more (a fill makes the engine move its stop). */
static int pump(rp *r)
{
    for (int round = 0; round < MAX_PUMP_ROUNDS; round++)
        if (s6_paper_pump(r->paper) + s6_mem_state_pump(r->ms) == 0)
            return 0;
    return -ELOOP;
}

/* Runs, in time order, the answers, fills and ticks due up to t. */
static int advance_to(rp *r, double t)
{
    for (;;) {
        double due = s6_paper_next_due(r->paper);
        double at = fmin(due, r->next_tick);
        if (at > t)
            break;
        if (at > r->now)
            r->now = at;
        if (r->next_tick <= due) {
            r->next_tick += r->tick_every;
            r->st.ticks++;
            s6_engine_tick(r->eng);
        }
        if (pump(r) != 0)
            return -ELOOP;
    }
    if (t > r->now)
        r->now = t;
    return 0;
}

static int open_due(rp *r, size_t series, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->ne; i++) {
        if (r->opened[i] || r->entry_series[i] != series ||
            r->t0 + r->e[i].at > r->now)
            continue;
        r->opened[i] = true;
        int rc = s6_paper_open(r->paper, &r->e[i], err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void progress(rp *r, size_t done, size_t total)
{
    if (r->o->progress == NULL || total == 0)
        return;
    size_t step = total / 200 + 1;
    if (done % step != 0 && done != total)
        return;
    int width = 40, fill = (int)(width * done / total);
    fprintf(r->o->progress, "\r  [%.*s%*s] %5.1f%%  %zu/%zu updates",
            fill, "========================================", width - fill,
            "", 100.0 * done / total, done, total);
    if (done == total)
        fputc('\n', r->o->progress);
    fflush(r->o->progress);
}

static int step(rp *r, const s6_price_update *u, char *err, size_t errlen)
{
    const s6_price_series *s = &r->s[u->series];
    if (advance_to(r, u->ts) != 0) {
        snprintf(err, errlen, "replay: the engine and the router keep "
                              "answering each other (a loop)");
        return -ELOOP;
    }
    r->last_mark[u->series] = u->mark;
    /* The venue's price first (orders fill at it), then the engine, then
     * the stops the price crossed, so a stop's fill is reported at the
     * mark that triggered it; positions due open at this price. */
    s6_paper_set_mark_id(r->paper, r->book[u->series], u->mark);
    s6_market_update m = { .ts = r->now, .mark = u->mark, .atr = u->atr,
                           .regime = -1, .health = NAN };
    s6_engine_on_market(r->eng, s->symbol, s->market, &m);
    int rc = pump(r);
    if (rc == 0) {
        s6_paper_trigger_id(r->paper, r->book[u->series]);
        rc = pump(r);
    }
    if (rc == 0 && (rc = open_due(r, u->series, err, errlen)) == 0)
        rc = pump(r);
    if (rc == 0 && u->signal != 0) {
        r->st.signals++;
        s6_engine_on_signal(r->eng, s->symbol, u->signal, 1.0, r->now);
        rc = pump(r);
    }
    if (rc == -ELOOP)
        snprintf(err, errlen, "replay: the engine and the router keep "
                              "answering each other (a loop)");
    if (rc != 0)
        return rc;
    r->st.updates++;
    r->last_update = u->ts;
    if (r->eq != NULL)
        sample_equity(r, u->series, u->mark);
    flush_notes(r);
    for (size_t i = 0; r->rep != NULL && i < r->ne; i++)
        if (r->entry_series[i] == u->series)
            s6_report_point(r->rep, i, r->now, u->mark,
                            s6_paper_stop_level(r->paper,
                                                r->book[u->series]));
    return 0;
}

/* ---- setting up and tearing down ---- */

static const char *params_of(void *ud, const char *rule)
{
    return s6_config_rule_params(ud, rule);
}

static int start_rules(rp *r, char *err, size_t errlen)
{
    int nslots = (int)r->ne + 8;
    if (r->o->native) {
        s6_native_rules_init(&r->nr);
        int rc = s6_rules_edge_native(&r->nr, nslots, &r->rules, err, errlen);
        r->rules_on = rc == 0;
        return rc;
    }
    s6_rules_svc_config rcfg;
    s6_rules_svc_config_default(&rcfg);
    s6_rules_svc_config_from(&rcfg, r->o->cfg);
    if (r->o->rules_dir != NULL)
        rcfg.rules_dir = r->o->rules_dir;
    /* The outcome must not depend on the machine's load (a sweep runs a
     * worker per core beside whatever else runs): a rule that overran the
     * live deadline on a busy machine would sit out and change the run,
     * and a rule file whose self-checks overran the live load deadline
     * would fail the whole run. */
    if (rcfg.deadline_ms < REPLAY_DEADLINE_MS)
        rcfg.deadline_ms = REPLAY_DEADLINE_MS;
    if (rcfg.load_deadline_ms < REPLAY_LOAD_DEADLINE_MS)
        rcfg.load_deadline_ms = REPLAY_LOAD_DEADLINE_MS;
    rcfg.params_of = r->o->params_of ? r->o->params_of : params_of;
    rcfg.params_ud = r->o->params_of ? r->o->params_ud : (void *)r->o->cfg;
    int rc = s6_rules_svc_start(&r->svc, NULL, r->o->log, NULL, &rcfg,
                                err, errlen);
    r->svc_on = true;
    if (rc == 0)
        rc = s6_rules_edge_lua(&r->svc, nslots, &r->rules, err, errlen);
    r->rules_on = rc == 0;
    return rc;
}

static int map_entries(rp *r, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->ne; i++) {
        size_t k = 0;
        while (k < r->ns && (r->s[k].market != r->e[i].market ||
                             strcmp(r->s[k].symbol, r->e[i].symbol) != 0))
            k++;
        if (k == r->ns) {
            snprintf(err, errlen, "position %s: no price file for %s",
                     r->e[i].pos_id, r->e[i].symbol);
            return -EINVAL;
        }
        r->entry_series[i] = k;
        r->pnl[i] = (s6_timeline_pnl){ .pos_id = r->e[i].pos_id,
                                       .symbol = r->e[i].symbol,
                                       .side = r->e[i].side };
        if (r->rep != NULL)
            s6_report_track(r->rep, i, r->e[i].pos_id, r->e[i].symbol,
                            r->e[i].side);
    }
    for (size_t k = 0; k < r->ns; k++) {
        if (s6_config_symbol(r->o->cfg, r->s[k].market, r->s[k].symbol) ==
            NULL) {
            snprintf(err, errlen, "%s: symbol %s is not configured",
                     r->s[k].name, r->s[k].symbol);
            return -EINVAL;
        }
        for (size_t j = 0; j < k; j++)
            if (r->s[j].market == r->s[k].market &&
                strcmp(r->s[j].symbol, r->s[k].symbol) == 0) {
                snprintf(err, errlen, "%s: %s has prices in %s already "
                         "(one file per symbol)", r->s[k].name,
                         r->s[k].symbol, r->s[j].name);
                return -EINVAL;
            }
    }
    return 0;
}

static int setup(rp *r, char *err, size_t errlen)
{
    const s6_config *cfg = r->o->cfg;
    r->entry_series = calloc(r->ne + 1, sizeof *r->entry_series);
    r->opened = calloc(r->ne + 1, sizeof *r->opened);
    r->pnl = calloc(r->ne + 1, sizeof *r->pnl);
    r->last_kind = calloc(r->ne + 1, sizeof *r->last_kind);
    r->last_fill = calloc(r->ne + 1, sizeof *r->last_fill);
    r->last_mark = calloc(r->ns + 1, sizeof *r->last_mark);
    r->book = calloc(r->ns + 1, sizeof *r->book);
    if (r->o->result != NULL)
        r->eq = calloc(r->ne + 1, sizeof *r->eq);
    if (!r->entry_series || !r->opened || !r->pnl || !r->last_kind ||
        (r->o->result != NULL && r->eq == NULL) ||
        !r->last_fill || !r->book ||
        !r->last_mark || ((r->o->report || r->o->report_out) &&
                           s6_report_new(r->ne, &r->rep)))
        return snprintf(err, errlen, "replay: out of memory"), -ENOMEM;
    int rc = map_entries(r, err, errlen);
    if (rc != 0)
        return rc;
    s6_paper_opts po;
    s6_paper_opts_from_config(cfg, &po);
    po.clock = (s6_clock){ sim_now, r };
    po.on_result = on_result;
    po.result_ud = r;
    if ((rc = s6_paper_new(cfg, &po, &r->paper, err, errlen)) != 0)
        return rc;
    for (size_t k = 0; k < r->ns; k++)
        r->book[k] = s6_paper_book_id(r->paper, r->s[k].symbol,
                                      r->s[k].market);
    r->ms = s6_mem_state_new(cfg->risk.budget,
                             (int)cfg->risk.max_concurrent_positions);
    if (r->ms == NULL)
        return snprintf(err, errlen, "replay: out of memory"), -ENOMEM;
    if ((rc = start_rules(r, err, errlen)) != 0)
        return rc;
    s6_engine_edges edges = { .router = s6_paper_router(r->paper),
                              .state = s6_mem_state_edge(r->ms),
                              .rules = r->rules,
                              .clock = { sim_now, r } };
    if ((rc = s6_engine_new(cfg, &edges, r->o->log, NULL, &r->eng, err,
                            errlen)) != 0)
        return rc;
    s6_engine_observe(r->eng, on_note, r);
    return s6_engine_resume(r->eng);
}

static void teardown(rp *r)
{
    s6_engine_free(r->eng);
    if (r->rules_on)
        s6_rules_edge_free(&r->rules);
    if (r->svc_on) {
        s6_rules_svc_stop(&r->svc);
        s6_rules_svc_free(&r->svc);
    }
    s6_mem_state_free(r->ms);
    s6_paper_free(r->paper);
    s6_report_free(r->rep);
    free(r->entry_series);
    free(r->opened);
    free(r->pnl);
    free(r->last_kind);
    free(r->last_fill);
    free(r->last_mark);
    free(r->book);
    free(r->eq);
    for (size_t i = 0; i < r->n_pend; i++)
        free(r->pend[i].text);
    free(r->pend);
}

/* ---- the end: PnL from the venue, the report ---- */

static void add_figures(s6_replay_figures *to, const s6_replay_figures *f)
{
    to->realized += f->realized;
    to->unrealized += f->unrealized;
    to->fees += f->fees;
    to->pnl += f->pnl;
    to->stops_moved += f->stops_moved;
    to->tps += f->tps;
    to->adds += f->adds;
}

static void figures_of(rp *r, size_t i, const s6_timeline_pnl *p)
{
    s6_replay_result *res = r->o->result;
    s6_replay_figures *f = &res->pos[i];
    *f = (s6_replay_figures){
        .realized = p->realized, .unrealized = p->unrealized,
        .fees = p->fees, .pnl = p->realized + p->unrealized,
        .max_drawdown = r->eq[i].max_drawdown,
        .time_in_market = s6_equity_time_in_market(&r->eq[i],
                                                   r->last_update),
        .stops_moved = p->stops_moved, .tps = p->tps, .adds = p->adds };
    snprintf(res->pos_id[i], sizeof res->pos_id[i], "%s", p->pos_id);
    snprintf(res->symbol[i], sizeof res->symbol[i], "%s", p->symbol);
    add_figures(&res->total, f);
    res->total.max_drawdown = r->total_eq.max_drawdown;
    res->total.time_in_market = s6_equity_time_in_market(&r->total_eq,
                                                         r->last_update);
}

/* The result's arrays, one row per position. */
static int result_begin(rp *r)
{
    s6_replay_result *res = r->o->result;
    if (res == NULL)
        return 0;
    *res = (s6_replay_result){ .n = r->ne };
    res->pos_id = calloc(r->ne + 1, sizeof *res->pos_id);
    res->symbol = calloc(r->ne + 1, sizeof *res->symbol);
    res->pos = calloc(r->ne + 1, sizeof *res->pos);
    return res->pos_id && res->symbol && res->pos ? 0 : -ENOMEM;
}

static void finish_pnl(rp *r)
{
    for (size_t i = 0; i < r->ne; i++) {
        s6_timeline_pnl *p = &r->pnl[i];
        const s6_price_series *s = &r->s[r->entry_series[i]];
        s6_paper_position pos;
        s6_paper_get_position(r->paper, s->symbol, s->market, &pos);
        p->qty = pos.qty;
        p->mark = r->last_mark[r->entry_series[i]];
        p->realized = pos.realized;
        p->unrealized = pos.side * (p->mark - pos.entry) * pos.qty;
        p->end = pos.qty > 0 ? "open"
            : r->last_kind[i] == S6_FILL_STOP ? "stopped"
            : r->opened[i] ? "closed" : "never opened";
        if (r->eq != NULL)
            figures_of(r, i, p);
        if (r->rep != NULL) {
            s6_report_pnl(r->rep, i, p->realized + p->unrealized);
            s6_report_summary(r->rep, i, p);
            if (pos.qty == 0 && r->opened[i])
                s6_report_closed(r->rep, i, r->last_fill[i]);
        }
    }
}

static int replay_loop(rp *r, char *err, size_t errlen)
{
    s6_price_feed *feed;
    if (s6_price_feed_new(r->s, r->ns, ATR_PERIOD,
                          r->o->cfg->replay.atr_bar_s, &feed) != 0)
        return snprintf(err, errlen, "replay: out of memory"), -ENOMEM;
    size_t total = s6_price_feed_total(feed), done = 0;
    s6_price_update u;
    int rc = 0;
    double start = (double)s6_clock_mono_ns() / 1e9;
    double cpu = s6_clock_cpu_s();
    while (rc == 0 && s6_price_feed_next(feed, &u)) {
        if (done == 0) {
            r->t0 = r->now = u.ts;
            r->next_tick = u.ts + r->tick_every;
        }
        rc = step(r, &u, err, errlen);
        progress(r, ++done, total);
    }
    /* Let the last answers and fills land (no new prices, so the ticks
     * in between find stale data and do not act). */
    for (int round = 0; rc == 0 && done > 0 && round < MAX_PUMP_ROUNDS &&
                        isfinite(s6_paper_next_due(r->paper));
         round++)
        rc = advance_to(r, s6_paper_next_due(r->paper));
    flush_notes(r);
    r->st.wall_s = (double)s6_clock_mono_ns() / 1e9 - start;
    r->st.cpu_s = s6_clock_cpu_s() - cpu;
    s6_price_feed_free(feed);
    return rc;
}

int s6_replay_run(const s6_replay_opts *o, const s6_price_series *series,
                  size_t n_series, const s6_paper_entry *entries,
                  size_t n_entries, s6_replay_stats *st, char *err,
                  size_t errlen)
{
    rp r = { .o = o, .s = series, .ns = n_series, .e = entries,
             .ne = n_entries,
             .tick_every = o->cfg->ticks.manage_interval_s };
    if (o->log != NULL)
        s6_log_set_clock(o->log, sim_ms, &r);
    int rc = setup(&r, err, errlen);
    if (rc == 0 && result_begin(&r) != 0) {
        snprintf(err, errlen, "replay: out of memory");
        rc = -ENOMEM;
    }
    if (rc == 0 && o->out != NULL && o->timeline)
        s6_timeline_header(o->out);
    if (rc == 0)
        rc = replay_loop(&r, err, errlen);
    if (rc == 0) {
        finish_pnl(&r);
        if (o->out != NULL)
            s6_timeline_pnl_table(o->out, r.pnl, r.ne);
        if (o->report_out != NULL) {
            *o->report_out = r.rep;
            r.rep = NULL;
        }
        if (r.rep != NULL)
            rc = s6_report_write(r.rep, o->report,
                                 o->chartjs ? o->chartjs : S6_CHARTJS_DEFAULT,
                                 o->title ? o->title : "", err, errlen);
    }
    if (st != NULL)
        *st = r.st;
    if (o->result != NULL)
        o->result->updates = r.st.updates;
    teardown(&r);
    if (o->log != NULL)
        s6_log_set_clock(o->log, NULL, NULL);
    return rc;
}

int s6_replay_files(const s6_replay_opts *o, const char *const *prices,
                    size_t n_prices, const char *positions,
                    s6_replay_stats *st, char *err, size_t errlen)
{
    s6_replay_inputs in;
    int rc = s6_replay_inputs_load(&in, o->cfg, prices, n_prices, positions,
                                   err, errlen);
    if (rc != 0)
        return rc;
    rc = s6_replay_run(o, in.series, in.n_series, in.entries, in.n_entries,
                       st, err, errlen);
    s6_replay_inputs_free(&in);
    return rc;
}
