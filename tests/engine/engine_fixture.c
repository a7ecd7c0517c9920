#include "engine_fixture.h"
#include "util/exact.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "rules/edge.h"

/* BTCUSDT on both markets: tick 0.1 / step 0.001 (FUT, 10x), tick 0.01 /
 * step 0.00001 (SPOT).  ETHUSDT too, its SPOT book hedged flat (target
 * exposure 0). */
static const char *const config_fmt =
    "{\"symbols\":{"
    "\"BTCUSDT\":{\"market\":\"FUT\",\"tick\":0.1,\"step\":0.001,"
    "\"min_qty\":0.001,\"min_notional\":5,\"taker_fee\":0.0005,"
    "\"leverage\":10,\"brackets\":[{\"notional_floor\":0,"
    "\"notional_cap\":50000000,\"mmr\":0.004,\"cum\":0}]},"
    "\"BTCUSDT:SPOT\":{\"market\":\"SPOT\",\"tick\":0.01,\"step\":0.00001,"
    "\"min_qty\":0.00001,\"min_notional\":5,\"taker_fee\":0.001,"
    "\"leverage\":1},"
    "\"ETHUSDT\":{\"market\":\"FUT\",\"tick\":0.01,\"step\":0.001,"
    "\"min_qty\":0.001,\"min_notional\":5,\"leverage\":5,"
    "\"brackets\":[{\"notional_floor\":0,\"notional_cap\":50000000,"
    "\"mmr\":0.005,\"cum\":0}]},"
    "\"ETHUSDT:SPOT\":{\"market\":\"SPOT\",\"tick\":0.01,\"step\":0.0001,"
    "\"min_qty\":0.0001,\"min_notional\":5,\"leverage\":1,"
    "\"target_exposure\":0}},"
    "\"market_data\":{\"max_age_s\":5,\"jump_hold_frac\":0.05},"
    "\"rules\":{\"params\":%s}}";

static const char *params_of(void *ud, const char *rule)
{
    return s6_config_rule_params(ud, rule);
}

static double clock_now(void *ud) { return ((fx *)ud)->now; }

static void sink(void *ud, const char *line, size_t len)
{
    s6_buf_append(ud, line, len);
}

static int r_submit(void *ud, const s6_order *o, s6_route_done done,
                    void *cb_ud)
{
    fx_router *r = ud;
    assert_true(r->n < FX_MAX_CALLS);
    /* money safety: every order carries a key and exact decimals */
    assert_true(o->intent_id[0] != '\0');
    assert_true(o->qty_str[0] != '\0');
    r->calls[r->n++] = (fx_call){.o = *o, .done = done, .cb_ud = cb_ud};
    return 0;
}

static int r_cancel(void *ud, const char *intent_id, const char *symbol,
                    int market, s6_route_done done, void *cb_ud)
{
    fx_router *r = ud;
    assert_true(r->n < FX_MAX_CALLS);
    fx_call *c = &r->calls[r->n++];
    memset(c, 0, sizeof *c);
    c->cancel = true;
    snprintf(c->o.intent_id, sizeof c->o.intent_id, "%s", intent_id);
    snprintf(c->o.symbol, sizeof c->o.symbol, "%s", symbol);
    c->o.market = market;
    c->done = done;
    c->cb_ud = cb_ud;
    return 0;
}

static int r_raise(void *ud, const char *trigger, double amount,
                   double reported)
{
    fx *f = ud;
    (void)amount;
    f->raised++;
    snprintf(f->raised_trigger, sizeof f->raised_trigger, "%s", trigger);
    f->raised_reported = reported;
    return 0;
}

static void new_engine(fx *f)
{
    s6_engine_edges ed = {
        .router = {.submit = r_submit, .cancel = r_cancel, .ud = &f->router},
        .state = s6_mem_state_edge(f->ms),
        .rules = f->wrap != NULL ? f->wrap(f->rules) : f->rules,
        .clock = {.now = clock_now, .ud = f},
        .treasury = {.raise = r_raise, .ud = f},
        .store = f->store,
    };
    char err[256] = "";
    assert_int_equal(s6_engine_new(&f->cfg, &ed, &f->log, f->metrics, &f->e,
                                   err, sizeof err), 0);
}

void fx_setup(fx *f, const char *params_json)
{
    fx_setup_wrapped(f, params_json, NULL);
}

void fx_setup_wrapped(fx *f, const char *params_json,
                      s6_rules_edge (*wrap)(s6_rules_edge inner))
{
    memset(f, 0, sizeof *f);
    f->wrap = wrap;
    char text[4096];
    snprintf(text, sizeof text, config_fmt, params_json ? params_json : "{}");
    s6_config_error cerr;
    if (s6_config_load_text(text, "test", &f->cfg, &cerr) != 0)
        fail_msg("config: %s", cerr.message);
    s6_log_init(&f->log, S6_LOG_INFO);
    s6_log_set_sink(&f->log, sink, &f->logs);
    assert_int_equal(s6_metrics_new_service(&f->metrics), 0);
    f->ms = s6_mem_state_new(10000, 20);
    assert_non_null(f->ms);
    f->now = 1764110000;

    s6_rules_svc_config rc;
    s6_rules_svc_config_default(&rc);
    char lua_dir[512], rules_dir[512], err[512] = "";
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", getenv("S6_SOURCE_DIR"));
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", getenv("S6_SOURCE_DIR"));
    rc.lua_dir = lua_dir;
    rc.rules_dir = rules_dir;
    rc.params_of = params_of;
    rc.params_ud = &f->cfg;
    /* these suites test the engine, not the load deadline (the hostile and
     * rule-host suites do): the self-checks at the realistic dates took
     * over a second with the suite in parallel beside a sanitizer build */
    rc.load_deadline_ms = 10000;
    if (s6_rules_svc_start(&f->rs, NULL, &f->log, f->metrics, &rc, err,
                           sizeof err) != 0)
        fail_msg("rules: %s", err);
    assert_int_equal(s6_rules_edge_lua(&f->rs, 64, &f->rules, err, sizeof err),
                     0);
    new_engine(f);
    assert_int_equal(s6_engine_resume(f->e), 0); /* nothing to restore */
}

void fx_teardown(fx *f)
{
    s6_engine_free(f->e);
    s6_rules_edge_free(&f->rules);
    s6_rules_svc_free(&f->rs);
    s6_mem_state_free(f->ms);
    s6_metrics_free(f->metrics);
    s6_config_free(&f->cfg);
    s6_buf_free(&f->logs);
}

void fx_restart(fx *f)
{
    char err[256] = "";
    if (fx_restart_rc(f, err, sizeof err) != 0)
        fail_msg("restore the book: %s", err);
}

int fx_restart_rc(fx *f, char *book_err, size_t errlen)
{
    s6_engine_free(f->e);
    /* the rule state goes too: the new engine gets it from the records */
    char err[256] = "";
    s6_rules_edge_free(&f->rules);
    assert_int_equal(s6_rules_edge_lua(&f->rs, 64, &f->rules, err, sizeof err),
                     0);
    f->router.n = 0;
    new_engine(f);
    s6_engine_record *recs;
    size_t n;
    if (s6_mem_state_load(f->ms, &recs, &n, err, sizeof err) != 0)
        fail_msg("load: %s", err);
    if (s6_engine_restore(f->e, recs, n, err, sizeof err) != 0)
        fail_msg("restore: %s", err);
    s6_mem_state_free_records(recs, n);
    int rc = s6_engine_restore_book(f->e, s6_mem_state_book(f->ms), book_err,
                                    errlen);
    if (rc == 0)
        assert_int_equal(s6_engine_resume(f->e), 0);
    return rc;
}

static void result_base(fx *f, s6_order_result *r, int kind,
                        const char *intent)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    snprintf(r->result_id, sizeof r->result_id, "r-%u", ++f->rid);
    snprintf(r->intent_id, sizeof r->intent_id, "%s", intent ? intent : "");
    snprintf(r->symbol, sizeof r->symbol, "BTCUSDT");
    r->market = S6_MARKET_FUT;
    r->ts = f->now;
}

int fx_fill(fx *f, const char *intent, int kind, int side, double qty,
            double price, double fee, double sl_px)
{
    s6_order_result r;
    result_base(f, &r, S6_RES_FILL, intent);
    if (intent == NULL && kind == S6_FILL_ENTRY)
        snprintf(r.intent_id, sizeof r.intent_id, "up-%u", f->rid);
    r.fill = (s6_fill){.kind = kind, .side = side, .qty = qty, .price = price,
                       .fee = fee, .ts = f->now};
    r.sl_px = sl_px;
    r.risk_reserved = kind == S6_FILL_ENTRY ? qty * price / 10 : 0;
    r.concurrency_reserved = kind == S6_FILL_ENTRY ? 1 : 0;
    char err[160] = "";
    int rc = s6_engine_on_result(f->e, &r, err, sizeof err);
    if (rc == 0 && f->pos_id[0] == '\0')
        fx_follow(f);
    return rc;
}

void fx_follow(fx *f)
{
    json_t *a = s6_engine_positions_json(f->e);
    json_t *p = json_array_get(a, 0);
    if (p != NULL)
        snprintf(f->pos_id, sizeof f->pos_id, "%s",
                 json_string_value(json_object_get(p, "position_id")));
    json_decref(a);
}

int fx_result(fx *f, int kind, const char *intent, const char *reason)
{
    s6_order_result r;
    result_base(f, &r, kind, intent);
    snprintf(r.reason, sizeof r.reason, "%s", reason ? reason : "");
    char err[160];
    return s6_engine_on_result(f->e, &r, err, sizeof err);
}

int fx_price(fx *f, double mark)
{
    s6_market_update m = {.ts = f->now, .mark = mark, .atr = NAN,
                          .regime = -1, .health = NAN};
    return s6_engine_on_market(f->e, "BTCUSDT", S6_MARKET_FUT, &m);
}

int fx_price_spot(fx *f, double mark, double mid)
{
    s6_market_update m = {.ts = f->now, .mark = mark, .mid = mid, .atr = NAN,
                          .regime = -1, .health = NAN};
    return s6_engine_on_market(f->e, "BTCUSDT", S6_MARKET_SPOT, &m);
}

int fx_tick(fx *f) { return s6_engine_tick(f->e); }

size_t fx_count(const fx *f, int purpose, bool cancel)
{
    size_t n = 0;
    for (size_t i = 0; i < f->router.n; i++)
        n += f->router.calls[i].cancel == cancel &&
             (cancel || purpose == 0 || f->router.calls[i].o.purpose == purpose);
    return n;
}

fx_call *fx_last(fx *f, int purpose, bool cancel)
{
    for (size_t i = f->router.n; i-- > 0;)
        if (f->router.calls[i].cancel == cancel &&
            (cancel || purpose == 0 || f->router.calls[i].o.purpose == purpose))
            return &f->router.calls[i];
    return NULL;
}

fx_call *fx_find(fx *f, const char *intent, bool cancel)
{
    for (size_t i = f->router.n; i-- > 0;)
        if (f->router.calls[i].cancel == cancel &&
            strcmp(f->router.calls[i].o.intent_id, intent) == 0)
            return &f->router.calls[i];
    return NULL;
}

void fx_answer(fx *f, fx_call *c, int outcome)
{
    (void)f;
    assert_non_null(c);
    assert_false(c->answered);
    c->answered = true;
    c->done(c->cb_ud, c->o.intent_id, outcome, "test");
}

size_t fx_answer_all(fx *f, int outcome)
{
    size_t n = 0;
    /* answers may send more: those are answered too, in order */
    for (size_t i = 0; i < f->router.n; i++)
        if (!f->router.calls[i].answered) {
            fx_answer(f, &f->router.calls[i], outcome);
            n++;
        }
    return n;
}

json_t *fx_pos(fx *f)
{
    json_t *p = s6_engine_position_json(f->e, f->pos_id);
    assert_non_null(p);
    return p;
}

/* "stop.price" style paths into the followed position. */
double fx_num(fx *f, const char *path)
{
    json_t *p = fx_pos(f);
    json_t *v = p;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok(buf, "."); k != NULL && v != NULL;
         k = strtok(NULL, "."))
        v = json_object_get(v, k);
    /* prices, quantities and money are decimal strings (util/exact.h) */
    double d = json_is_number(v) || json_is_string(v) ? s6_exact_value(v)
               : json_is_true(v) ? 1 : json_is_null(v) || v == NULL ? NAN : 0;
    json_decref(p);
    return d;
}

size_t fx_events(const fx *f, const char *type)
{
    return s6_mem_state_count(f->ms, type, NULL);
}

const char *fx_last_event(const fx *f, const char *type)
{
    const char *json = NULL;
    for (size_t i = 0; i < s6_mem_state_n_events(f->ms); i++) {
        const s6_mem_event *ev = s6_mem_state_event(f->ms, i);
        if (strcmp(ev->type, type) == 0)
            json = ev->json;
    }
    return json;
}

double fx_realized_today(fx *f)
{
    assert_int_equal(s6_engine_collect(f->metrics, f->e), 0);
    s6_gauge *g;
    const char *l[] = {"FUT", "BTCUSDT"};
    assert_int_equal(s6_gauge_get(f->metrics, "s6_realized_pnl", 2, l, &g), 0);
    return s6_gauge_value(g);
}

double fx_counter(fx *f, const char *name, const char *l1, const char *l2)
{
    const char *vals[2] = {l1, l2};
    size_t n = l1 == NULL ? 0 : l2 == NULL ? 1 : 2;
    s6_counter *c;
    if (s6_counter_get(f->metrics, name, n, vals, &c) != 0)
        return -1;
    return s6_counter_value(c);
}
