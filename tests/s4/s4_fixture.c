/* s4_fixture.c — the S4 suites' shared set-up (s4_fixture.h). */
#include "s4_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void on_log(void *ud, const char *line, size_t len)
{
    fx *f = ud;
    char *t = realloc(f->log_text, f->log_len + len + 1);
    if (!t)
        return;
    memcpy(t + f->log_len, line, len);
    f->log_len += len;
    t[f->log_len] = '\0';
    f->log_text = t;
}

void fx_start(fx *f, const char *orders_json)
{
    fx_start_with(f, orders_json, NULL, NULL);
}

void fx_start_with(fx *f, const char *orders_json,
                   const s6_s4_peer_opts *peer, const char *extra)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(s6_httpc_new(&f->httpc, &f->loop, NULL, NULL), 0);
    assert_int_equal(s6_s4_peer_start(&f->peer, peer), 0);
    char url[64], text[4096];
    s6_s4_peer_url(f->peer, url, sizeof url);
    snprintf(text, sizeof text,
             "{\"services\":{\"s4_url\":\"%s/\",\"request_timeout_ms\":300,"
             "\"connect_timeout_ms\":200},\"orders\":%s%s%s}",
             url, orders_json ? orders_json : "{}", extra ? "," : "",
             extra ? extra : "");
    s6_config_error e;
    if (s6_config_load_text(text, "t.json", &f->cfg, &e) != 0)
        fail_msg("config: %s: %s", e.path, e.message);
    assert_int_equal(s6_metrics_new_service(&f->metrics), 0);
    s6_log_init(&f->log, S6_LOG_INFO);
    s6_log_set_sink(&f->log, on_log, f);
    char err[200] = "";
    int rc = s6_s4_router_new(&f->loop, f->httpc, &f->cfg, &f->log,
                              f->metrics, &f->router, err, sizeof err);
    if (rc != 0)
        fail_msg("router: %s", err);
    s6_s4_router_set_seed(f->router, 42);
    s6_s4_router_edge(f->router, &f->edge);
}

static void on_closed(s6_httpc *c, void *ud)
{
    (void)c;
    *(bool *)ud = true;
}

void fx_stop(fx *f)
{
    s6_s4_router_free(f->router);
    bool closed = false;
    s6_httpc_shutdown(f->httpc, on_closed, &closed);
    while (!closed)
        uv_run(&f->loop, UV_RUN_ONCE);
    s6_httpc_free(f->httpc);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    s6_s4_peer_free(f->peer);
    s6_metrics_free(f->metrics);
    s6_config_free(&f->cfg);
    free(f->log_text);
    assert_false(f->done_in_call);
}

int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fx_start(f, FX_FAST);
    *state = f;
    return 0;
}

int fx_teardown(void **state)
{
    fx_stop(*state);
    free(*state);
    return 0;
}

void fx_order(s6_order *o, const char *intent, const char *symbol,
              int purpose, int type)
{
    memset(o, 0, sizeof *o);
    snprintf(o->intent_id, sizeof o->intent_id, "%s", intent);
    snprintf(o->pos_id, sizeof o->pos_id, "p1");
    snprintf(o->symbol, sizeof o->symbol, "%s", symbol);
    o->market = S6_MARKET_FUT;
    o->type = type;
    o->purpose = purpose;
    o->side = -1;
    o->reduce_only = true;
    o->qty = 0.01;
    snprintf(o->qty_str, sizeof o->qty_str, "0.010");
    if (type == S6_ORDER_STOP_MARKET) {
        o->stop_price = 63000.0;
        snprintf(o->price_str, sizeof o->price_str, "63000.0");
    }
}

static void on_done(void *ud, const char *intent, int outcome,
                    const char *detail)
{
    fx *f = ud;
    if (f->in_call)
        f->done_in_call = true;
    assert_true(f->n_done < FX_MAX_DONE);
    fx_done *d = &f->done[f->n_done++];
    snprintf(d->intent_id, sizeof d->intent_id, "%s", intent);
    d->outcome = outcome;
    snprintf(d->detail, sizeof d->detail, "%s", detail ? detail : "");
}

int fx_submit(fx *f, const s6_order *o)
{
    f->in_call = true;
    int rc = f->edge.submit(f->edge.ud, o, on_done, f);
    f->in_call = false;
    return rc;
}

void fx_send(fx *f, const char *intent, const char *symbol, int purpose,
             int type)
{
    s6_order o;
    fx_order(&o, intent, symbol, purpose, type);
    assert_int_equal(fx_submit(f, &o), 0);
}

int fx_cancel(fx *f, const char *intent, const char *symbol)
{
    f->in_call = true;
    int rc = f->edge.cancel(f->edge.ud, intent, symbol, S6_MARKET_FUT,
                            on_done, f);
    f->in_call = false;
    return rc;
}

static void on_deadline(uv_timer_t *t) { *(bool *)t->data = true; }

void fx_run_until(fx *f, bool (*pred)(void *ud), void *ud, unsigned ms)
{
    bool late = false;
    uv_timer_t t;
    uv_timer_init(&f->loop, &t);
    t.data = &late;
    uv_timer_start(&t, on_deadline, ms, 0);
    while (!pred(ud) && !late)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    if (!pred(ud))
        fail_msg("condition not met after %u ms", ms);
}

typedef struct done_count {
    fx *f;
    size_t n;
} done_count;

static bool enough_done(void *ud)
{
    done_count *c = ud;
    return c->f->n_done >= c->n;
}

void fx_wait_done(fx *f, size_t n, unsigned ms)
{
    done_count c = { f, n };
    fx_run_until(f, enough_done, &c, ms);
}

const fx_done *fx_find(const fx *f, const char *intent)
{
    for (size_t i = 0; i < f->n_done; i++)
        if (strcmp(f->done[i].intent_id, intent) == 0)
            return &f->done[i];
    return NULL;
}
