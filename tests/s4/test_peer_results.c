/* test_peer_results.c — what the S4 peer publishes on ord:{results}, read
 * back from a real redis-server with the bus's own parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>

#include "bus/result_codec.h"
#include "redis_server.h"
#include "s4_fixture.h"

/* Every entry of the stream, parsed. */
static size_t read_results(const s6test_redis *srv, s6_order_result *out,
                           size_t cap)
{
    redisContext *c = redisConnect("127.0.0.1", srv->port);
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "XRANGE %s - +", S6_RESULTS_STREAM);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    size_t n = 0;
    for (size_t i = 0; i < r->elements && n < cap; i++) {
        redisReply *fields = r->element[i]->element[1];
        s6_redis_kv kv[32];
        size_t m = fields->elements / 2;
        assert_true(m <= 32);
        for (size_t k = 0; k < m; k++)
            kv[k] = (s6_redis_kv){
                fields->element[2 * k]->str, fields->element[2 * k]->len,
                fields->element[2 * k + 1]->str, fields->element[2 * k + 1]->len };
        char err[200];
        if (s6_result_parse(kv, m, &out[n], err, sizeof err) != 0)
            fail_msg("entry %zu: %s", i, err);
        n++;
    }
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static void results_follow_the_orders(void **state)
{
    (void)state;
    s6test_redis srv = { .aof = 0 };
    assert_int_equal(s6test_redis_start(&srv), 0);
    fx *f = calloc(1, sizeof *f);
    s6_s4_peer_opts po = { .redis_url = srv.url };
    fx_start_with(f, FX_FAST, &po, NULL);
    assert_int_equal(s6_s4_peer_set_price(f->peer, "BTCUSDT", 64250.5), 0);
    s6_s4_peer_set_fee_rate(f->peer, 0.0004);

    /* One at a time: the stream's order is then the test's. */
    fx_send(f, "p1-sl-1", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    fx_wait_done(f, 1, 5000);
    fx_send(f, "p1-tp-2", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    fx_wait_done(f, 2, 5000);
    /* a repeat: no second fill */
    fx_send(f, "p1-tp-2", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    fx_send(f, "p1-sl-3", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    /* no price set: taken, no fill */
    fx_send(f, "p1-tp-4", "SOLUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    fx_wait_done(f, 5, 5000);
    assert_int_equal(fx_cancel(f, "p1-sl-1", "BTCUSDT"), 0);
    fx_wait_done(f, 6, 5000);
    assert_int_equal(s6_s4_peer_trigger_stop(f->peer, "p1-sl-3", 62990.0), 0);
    assert_int_equal(s6_s4_peer_trigger_stop(f->peer, "p1-sl-3", 62990.0),
                     -ENOENT);
    assert_int_equal(s6_s4_peer_wait(f->peer, S6_S4P_PUBLISHED, 5, 5000), 0);

    s6_order_result r[8];
    size_t n = read_results(&srv, r, 8);
    assert_int_equal(n, 5);
    assert_int_equal(r[0].kind, S6_RES_ACCEPTED);
    assert_string_equal(r[0].intent_id, "p1-sl-1");
    assert_string_equal(r[0].pos_id, "p1");
    assert_string_equal(r[0].symbol, "BTCUSDT");
    assert_int_equal(r[0].market, S6_MARKET_FUT);
    assert_int_equal(r[1].kind, S6_RES_FILL);
    assert_string_equal(r[1].intent_id, "p1-tp-2");
    assert_int_equal(r[1].fill.kind, S6_FILL_REDUCE);
    assert_int_equal(r[1].fill.side, -1);
    assert_true(r[1].fill.qty == 0.01);
    assert_true(r[1].fill.price == 64250.5);
    assert_true(r[1].fill.fee > 0.2570 && r[1].fill.fee < 0.2571);
    assert_int_equal(r[2].kind, S6_RES_ACCEPTED);
    assert_string_equal(r[2].intent_id, "p1-sl-3");
    assert_int_equal(r[3].kind, S6_RES_CANCELED);
    assert_string_equal(r[3].intent_id, "p1-sl-1");
    assert_int_equal(r[4].kind, S6_RES_FILL);
    assert_int_equal(r[4].fill.kind, S6_FILL_STOP);
    assert_true(r[4].fill.price == 62990.0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(r[i].result_id, r[j].result_id);

    fx_stop(f);
    free(f);
    s6test_redis_destroy(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(results_follow_the_orders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
