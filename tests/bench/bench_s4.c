/*
 * Run from the source root after `cmake --build build -j2`:
 *   build/s6-bench-s4 20000 32 50
 *
 * s6-bench-s4: orders through the S4 router to the S4 peer
 * over loopback (docs/performance.md, "S4 router").
 *
 *   s6-bench-s4 [orders] [in_flight] [symbols]
 *
 * A closed loop keeps `in_flight` orders outstanding (each completion
 * submits the next) over `symbols` symbols, with the rate limits at their
 * configured maximum so they do not bind.  Reported: throughput, and the
 * p50/p99 of submit -> S4 has the request (the peer's clock is the same
 * uv_hrtime) and of submit -> done.  Exits non-zero if any order fails or
 * the peer holds a different number of orders.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "httpc/httpc.h"
#include "venue/s4/router.h"
#include "s4_peer.h"

typedef struct bench {
    uv_loop_t loop;
    s6_router edge;
    size_t total, next, done, failed, symbols;
    uint64_t *sent_ns, *done_ns;
} bench;

static void submit_next(bench *b);

static size_t index_of(const char *intent)
{
    return (size_t)strtoul(strrchr(intent, '-') + 1, NULL, 10);
}

static void on_done(void *ud, const char *intent, int outcome,
                    const char *detail)
{
    bench *b = ud;
    b->done_ns[index_of(intent)] = uv_hrtime();
    b->done++;
    if (outcome != S6_ROUTE_OK) {
        b->failed++;
        fprintf(stderr, "%s: outcome %d: %s\n", intent, outcome, detail);
    }
    submit_next(b);
}

static void submit_next(bench *b)
{
    if (b->next >= b->total)
        return;
    size_t i = b->next++;
    s6_order o = { .market = S6_MARKET_FUT, .type = S6_ORDER_MARKET,
                   .purpose = S6_PURPOSE_TP, .side = -1, .reduce_only = true,
                   .qty = 0.01 };
    unsigned sym = (unsigned)(i % b->symbols);
    snprintf(o.intent_id, sizeof o.intent_id, "b%u-tp-%u", sym, (unsigned)i);
    snprintf(o.pos_id, sizeof o.pos_id, "b%u", sym);
    snprintf(o.symbol, sizeof o.symbol, "S%uUSDT", sym);
    snprintf(o.qty_str, sizeof o.qty_str, "0.010");
    b->sent_ns[i] = uv_hrtime();
    if (b->edge.submit(b->edge.ud, &o, on_done, b) != 0) {
        fprintf(stderr, "submit refused\n");
        exit(1);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    printf("  %-22s p50 %7.3f ms   p99 %7.3f ms   max %7.3f ms\n", what,
           v[n / 2] / 1e6, v[(n * 99) / 100] / 1e6, v[n - 1] / 1e6);
}

static void on_closed(s6_httpc *c, void *ud)
{
    (void)c;
    *(bool *)ud = true;
}

int main(int argc, char **argv)
{
    size_t total = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    size_t window = argc > 2 ? strtoul(argv[2], NULL, 10) : 32;
    size_t symbols = argc > 3 ? strtoul(argv[3], NULL, 10) : 50;
    if (total == 0 || window == 0 || symbols == 0)
        return 2;
    bench b = { .total = total, .symbols = symbols };
    b.sent_ns = calloc(total, sizeof *b.sent_ns);
    b.done_ns = calloc(total, sizeof *b.done_ns);
    uv_loop_init(&b.loop);
    s6_s4_peer *peer;
    if (s6_s4_peer_start(&peer, NULL) != 0)
        return 1;
    char url[64], text[512];
    s6_s4_peer_url(peer, url, sizeof url);
    snprintf(text, sizeof text,
             "{\"services\":{\"s4_url\":\"%s\"},\"orders\":{"
             "\"rate_per_symbol_per_s\":1000,\"rate_total_per_s\":10000}}",
             url);
    s6_config cfg;
    s6_config_error ce;
    if (s6_config_load_text(text, "bench", &cfg, &ce) != 0) {
        fprintf(stderr, "config: %s\n", ce.message);
        return 1;
    }
    s6_httpc *httpc;
    s6_s4_router *r;
    char err[200];
    if (s6_httpc_new(&httpc, &b.loop, NULL, NULL) != 0 ||
        s6_s4_router_new(&b.loop, httpc, &cfg, NULL, NULL, &r, err,
                         sizeof err) != 0) {
        fprintf(stderr, "router: %s\n", err);
        return 1;
    }
    s6_s4_router_edge(r, &b.edge);

    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < window; i++)
        submit_next(&b);
    while (b.done < total)
        uv_run(&b.loop, UV_RUN_ONCE);
    double secs = (double)(uv_hrtime() - t0) / 1e9;

    uint64_t *to_peer = calloc(total, sizeof *to_peer);
    uint64_t *to_done = calloc(total, sizeof *to_done);
    size_t n = 0;
    for (size_t i = 0; i < s6_s4_peer_count(peer, S6_S4P_REQUESTS); i++) {
        const s6_s4_peer_rec *rec = s6_s4_peer_get(peer, i);
        json_t *body = json_loads(rec->body, 0, NULL);
        size_t k = index_of(json_string_value(json_object_get(body,
                                                              "intent_id")));
        json_decref(body);
        to_peer[n++] = rec->at_ns - b.sent_ns[k];
    }
    for (size_t i = 0; i < total; i++)
        to_done[i] = b.done_ns[i] - b.sent_ns[i];
    size_t orders = s6_s4_peer_count(peer, S6_S4P_ORDERS);
    printf("s6-bench-s4: %zu orders, %zu in flight, %zu symbols: %.2f s, "
           "%.0f orders/s\n", total, window, symbols, secs, total / secs);
    report("submit -> S4 has it", to_peer, n);
    report("submit -> done", to_done, total);

    s6_s4_router_free(r);
    bool closed = false;
    s6_httpc_shutdown(httpc, on_closed, &closed);
    while (!closed)
        uv_run(&b.loop, UV_RUN_ONCE);
    s6_httpc_free(httpc);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    s6_s4_peer_free(peer);
    s6_config_free(&cfg);
    free(to_peer);
    free(to_done);
    free(b.sent_ns);
    free(b.done_ns);
    if (b.failed || orders != total) {
        fprintf(stderr, "%zu failed, peer holds %zu of %zu\n", b.failed,
                orders, total);
        return 1;
    }
    return 0;
}
