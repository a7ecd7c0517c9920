#include "app_engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/edge.h"

static int r_submit(void *ud, const s6_order *o, s6_route_done done,
                    void *cb_ud)
{
    app_engine *ae = ud;
    if (ae->n_calls == AE_MAX_CALLS)
        return -1;
    ae->calls[ae->n_calls++] = (ae_call){ .o = *o, .done = done,
                                          .cb_ud = cb_ud };
    return 0;
}

static int r_cancel(void *ud, const char *intent_id, const char *symbol,
                    int market, s6_route_done done, void *cb_ud)
{
    app_engine *ae = ud;
    if (ae->n_calls == AE_MAX_CALLS)
        return -1;
    ae_call *c = &ae->calls[ae->n_calls++];
    *c = (ae_call){ .cancel = true, .done = done, .cb_ud = cb_ud };
    snprintf(c->o.intent_id, sizeof c->o.intent_id, "%s", intent_id);
    snprintf(c->o.symbol, sizeof c->o.symbol, "%s", symbol);
    c->o.market = market;
    return 0;
}

static double clock_now(void *ud)
{
    return ((app_engine *)ud)->now;
}

static const char *params_of(void *ud, const char *rule)
{
    return s6_config_rule_params(ud, rule);
}

int ae_start(app_engine *ae, s6_app *app, s6_log *log, const s6_config *cfg)
{
    ae->now = 1764110000;
    ae->ms = s6_mem_state_new(cfg->risk.budget, 20);
    char lua_dir[512], rules_dir[512], err[512] = "";
    const char *src = getenv("S6_SOURCE_DIR");
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", src ? src : ".");
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", src ? src : ".");
    s6_rules_svc_config rc;
    s6_rules_svc_config_default(&rc);
    rc.lua_dir = lua_dir;
    rc.rules_dir = rules_dir;
    rc.params_of = params_of;
    rc.params_ud = (void *)cfg;
    if (ae->ms == NULL ||
        s6_rules_svc_start(&ae->rs, NULL, log, app->metrics, &rc, err,
                           sizeof err) != 0 ||
        s6_rules_edge_lua(&ae->rs, 16, &ae->rules, err, sizeof err) != 0) {
        fprintf(stderr, "engine edges: %s\n", err);
        return -1;
    }
    s6_engine_edges ed = {
        .router = { .submit = r_submit, .cancel = r_cancel, .ud = ae },
        .state = s6_mem_state_edge(ae->ms),
        .rules = ae->rules,
        .clock = { .now = clock_now, .ud = ae },
    };
    if (s6_engine_new(cfg, &ed, log, app->metrics, &ae->e, err,
                      sizeof err) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    s6_engine_resume(ae->e); /* nothing to restore or reconcile */
    s6_app_set_engine(app, ae->e);
    app->clock = clock_now;
    app->clock_ud = ae;
    return 0;
}

int ae_attach(fx *f, void *ud)
{
    return ae_start(ud, &f->app, &f->log, s6_config_live_get(&f->config));
}

void ae_free(app_engine *ae)
{
    s6_engine_free(ae->e);
    s6_rules_edge_free(&ae->rules);
    s6_rules_svc_free(&ae->rs);
    s6_mem_state_free(ae->ms);
}

static void result_base(app_engine *ae, s6_order_result *r, int kind,
                        const char *intent)
{
    *r = (s6_order_result){ .kind = kind, .market = S6_MARKET_FUT,
                            .ts = ae->now };
    snprintf(r->result_id, sizeof r->result_id, "r-%u", ++ae->rid);
    snprintf(r->intent_id, sizeof r->intent_id, "%s", intent);
    snprintf(r->symbol, sizeof r->symbol, "BTCUSDT");
}

void ae_settle(app_engine *ae)
{
    for (size_t i = 0; i < ae->n_calls; i++) {
        ae_call *c = &ae->calls[i];
        if (c->answered)
            continue;
        c->answered = true;
        c->done(c->cb_ud, c->o.intent_id, S6_ROUTE_OK, "ok");
        if (c->cancel || c->o.purpose != S6_PURPOSE_STOP)
            continue;
        s6_order_result r;
        result_base(ae, &r, S6_RES_ACCEPTED, c->o.intent_id);
        char err[160];
        if (s6_engine_on_result(ae->e, &r, err, sizeof err) != 0)
            fprintf(stderr, "stop confirmation refused: %s\n", err);
    }
}

int ae_seed_long(app_engine *ae, double qty, double price, double sl_px,
                 double mark)
{
    char entry[32];
    snprintf(entry, sizeof entry, "up-%u", ae->rid + 1);
    s6_order_result r;
    result_base(ae, &r, S6_RES_FILL, entry);
    r.sl_px = sl_px;
    r.risk_reserved = qty * price / 10;
    r.concurrency_reserved = 1;
    r.fill = (s6_fill){ .kind = S6_FILL_ENTRY, .side = 1, .qty = qty,
                        .price = price, .fee = qty * price * 0.0005,
                        .ts = ae->now };
    char err[160] = "";
    int rc = s6_engine_on_result(ae->e, &r, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "seed: %s\n", err);
        return rc;
    }
    s6_market_update m = { .ts = ae->now, .mark = mark, .atr = NAN,
                           .regime = -1, .health = NAN };
    rc = s6_engine_on_market(ae->e, "BTCUSDT", S6_MARKET_FUT, &m);
    ae_settle(ae);
    json_t *all = s6_engine_positions_json(ae->e);
    const char *id = json_string_value(
        json_object_get(json_array_get(all, 0), "position_id"));
    snprintf(ae->pos_id, sizeof ae->pos_id, "%s", id ? id : "");
    json_decref(all);
    return rc != 0 ? rc : ae->pos_id[0] ? 0 : -1;
}

size_t ae_count(const app_engine *ae, int purpose, bool cancel)
{
    size_t n = 0;
    for (size_t i = 0; i < ae->n_calls; i++)
        n += ae->calls[i].cancel == cancel &&
             (purpose == 0 || cancel || ae->calls[i].o.purpose == purpose);
    return n;
}
