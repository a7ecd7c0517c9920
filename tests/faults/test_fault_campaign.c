/*
 * test_fault_campaign.c — the service under a fault campaign: positions
 * opened, climbing lock-in steps, taking profit and stopped out on three
 * symbols while the process is SIGKILLed at random moments, S4 fails,
 * stalls, drops the connection or loses its answer, and Redis stalls or is
 * killed and restarted on its append-only file.  Then every fault is
 * lifted and the end state is checked against the venue:
 *
 *   - every position open in S6 is open at the venue with the same size,
 *     and the reverse (nothing merged, nothing leaked);
 *   - every open position has exactly one resting stop, reduce-only on the
 *     protective side of the mark, for its full quantity;
 *   - no intent reached S4 as two different orders (every POST naming an
 *     intent carries the same body);
 *   - the quotas hold exactly what the open positions reserved;
 *   - every fill is booked: per symbol, the realized PnL of S6's records
 *     (pos:{state}:<id>, closed and open) is what the venue's fills
 *     realized, net of their fees;
 *   - the day's realized PnL S6 reports per symbol (s6_realized_pnl, what
 *     the daily loss limit sums) is what the venue's fills realized since
 *     the campaign started, across every SIGKILL and Redis restart;
 *   - the service is up and ready.
 *
 * The real binary, a real redis-server (AOF, fsync always) and the S4 peer
 * keeping a venue book.  Arguments: the seed ("random": from the clock)
 * and the rounds; S6_FAULT_SEED and S6_FAULT_ROUNDS override them;
 * S6_FAULT_DUMP=<file> writes ord:{results} and the event streams there
 * when the end state fails (docs/testing.md "Fault campaign").
 */
#include <hiredis/hiredis.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fixture.h"

enum { N_SYM = 3, RISK_PER_POS = 100 };
static const char *const SYMS[N_SYM] = { "BTCUSDT", "ETHUSDT", "SOLUSDT" };
static const double START[N_SYM] = { 60000, 3000, 150 };
static const double QTY[N_SYM] = { 0.01, 0.2, 4 };

typedef struct campaign {
    svc_fx f;
    unsigned seed, seed0;   /* the generator's state; the seed given */
    double px[N_SYM];
    char open_id[N_SYM][24]; /* what the test opened, "" when flat */
    unsigned opened, kills, s4_faults, redis_stalls, redis_restarts;
    double day_of_start;    /* the UTC day the campaign started on */
} campaign;

static unsigned rnd(campaign *c, unsigned n)
{
    c->seed = c->seed * 1103515245u + 12345u;
    return (c->seed >> 16) % n;
}

static void edit(json_t *cfg)
{
    svc_edit_common(cfg);
    svc_set(cfg, "ticks", "reconcile_interval_s", json_integer(5));
    /* dozens of start-ups, each checking the rules, on a loaded machine
     * (ctest -j2): the campaign is about faults, not that deadline */
    svc_set(cfg, "rules", "load_deadline_ms", json_integer(10000));
    json_t *syms = json_object_get(cfg, "symbols");
    json_t *sol = json_deep_copy(json_object_get(syms, "ETHUSDT"));
    json_object_set_new(sol, "tick", json_real(0.01));
    json_object_set_new(sol, "step", json_real(0.1));
    json_object_set_new(sol, "min_qty", json_real(0.1));
    json_object_set_new(syms, "SOLUSDT", sol);
}

/* The test's own connection comes back after Redis did. */
static void reconnect(campaign *c)
{
    redisFree(c->f.rc);
    c->f.rc = redisConnect("127.0.0.1", c->f.redis.port);
    assert_true(c->f.rc != NULL && c->f.rc->err == 0);
}

/* The upstream risk service's side of an entry: the reservation. */
static void reserve(campaign *c)
{
    freeReplyObject(svc_redis(&c->f, "HINCRBYFLOAT risk:{budget} used %d",
                              RISK_PER_POS));
    freeReplyObject(svc_redis(&c->f, "HINCRBY risk:{concurrency} used 1"));
}

static void open_position(campaign *c, int s)
{
    snprintf(c->open_id[s], sizeof c->open_id[s], "fc%u", ++c->opened);
    int side = rnd(c, 2) ? 1 : -1;
    reserve(c);
    s6_s4_peer_entry_fill e = {
        .pos_id = c->open_id[s], .symbol = SYMS[s], .side = side,
        .qty = QTY[s], .price = c->px[s], .risk_reserved = RISK_PER_POS,
        .concurrency_reserved = 1, .seq = 1,
    };
    assert_int_equal(s6_s4_peer_entry(c->f.peer, &e), 0);
}

static void move(campaign *c, int s)
{
    /* A drift that takes positions through lock-in steps and stops. */
    double step = (double)((int)rnd(c, 200) - 96) / 10000.0;
    c->px[s] *= 1 + step;
    s6_s4_peer_move(c->f.peer, SYMS[s], c->px[s]);
    if (c->f.redis.pid != 0)
        svc_price(&c->f, "FUT", SYMS[s], c->px[s], 0);
}

static void s4_fault(campaign *c)
{
    static const s6_s4_peer_mode modes[] = { S6_S4P_FAIL, S6_S4P_STALL,
                                             S6_S4P_DROP };
    s6_s4_peer_rule r = { .mode = modes[rnd(c, 3)], .times = 1 + rnd(c, 8) };
    s6_s4_peer_rule_path(c->f.peer, rnd(c, 3) ? "/orders" : "/cancel", &r);
    c->s4_faults++;
}

static void redis_fault(campaign *c)
{
    if (rnd(c, 2)) {
        freeReplyObject(svc_redis(&c->f, "DEBUG SLEEP 3"));
        c->redis_stalls++;
        return;
    }
    assert_int_equal(s6test_redis_stop(&c->f.redis), 0);
    pump(&c->f.p, 500 + rnd(c, 1500));
    assert_int_equal(s6test_redis_restart(&c->f.redis), 0);
    reconnect(c);
    c->redis_restarts++;
}

static void round_of(campaign *c)
{
    for (int s = 0; s < N_SYM; s++) {
        s6_s4_peer_book b;
        bool flat = s6_s4_peer_book_get(c->f.peer, SYMS[s], NULL, &b) != 0 ||
                    b.qty == 0;
        if (flat && rnd(c, 4) == 0)
            open_position(c, s);
        move(c, s);
    }
    unsigned dice = rnd(c, 100);
    if (dice < 3) {
        svc_kill(&c->f);
        c->kills++;
        svc_start(&c->f);
    } else if (dice < 9) {
        s4_fault(c);
    } else if (dice < 11) {
        redis_fault(c);
    }
    pump(&c->f.p, 20);
}

/* ---- the end state ------------------------------------------------- */

typedef struct verdict {
    char why[512];
} verdict;

static bool bad(verdict *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
    return false;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? atof(json_string_value(v)) : json_number_value(v);
}

/* S6's open positions against the venue and their stops at the peer. */
static bool books_agree(campaign *c, json_t *list, verdict *v)
{
    double held[N_SYM] = { 0 };
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        const char *id = json_string_value(json_object_get(p, "position_id"));
        const char *sym = json_string_value(json_object_get(p, "symbol"));
        const char *side = json_string_value(json_object_get(p, "side"));
        double qty = num(p, "qty");
        int s = 0;
        while (s < N_SYM && strcmp(SYMS[s], sym ? sym : "") != 0)
            s++;
        if (s == N_SYM)
            return bad(v, "S6 holds %s on an unknown symbol", id);
        int sign = side && strcmp(side, "LONG") == 0 ? 1 : -1;
        held[s] += sign * qty;
        s6_s4_peer_order stop;
        int n = svc_resting_stop(&c->f, id, &stop);
        if (n != 1)
            return bad(v, "%s has %d resting stops", id, n);
        double sp = atof(stop.stop_price);
        if (!stop.reduce_only || fabs(atof(stop.quantity) - qty) > 1e-9 ||
            (sign > 0 ? sp >= c->px[s] : sp <= c->px[s]))
            return bad(v, "%s: stop %s x %s (qty %.8g, mark %.2f)", id,
                       stop.stop_price, stop.quantity, qty, c->px[s]);
    }
    for (int s = 0; s < N_SYM; s++) {
        s6_s4_peer_book b = { 0 };
        s6_s4_peer_book_get(c->f.peer, SYMS[s], NULL, &b);
        if (fabs(b.qty - held[s]) > 1e-9)
            return bad(v, "%s: venue holds %.8g, S6 %.8g", SYMS[s], b.qty,
                       held[s]);
    }
    return true;
}

/* No intent reached S4 as two orders: every POST naming it is the same. */
static bool one_body_per_intent(campaign *c, verdict *v)
{
    const s6_s4_peer_rec *a, *b;
    for (size_t i = 0; (a = s6_s4_peer_get(c->f.peer, i)) != NULL; i++) {
        if (strcmp(a->path, "/orders") != 0)
            continue;
        for (size_t j = i + 1; (b = s6_s4_peer_get(c->f.peer, j)) != NULL; j++)
            if (strcmp(b->path, "/orders") == 0 &&
                strcmp(a->idem_key, b->idem_key) == 0 &&
                strcmp(a->body, b->body) != 0)
                return bad(v, "intent %s sent with two bodies", a->idem_key);
    }
    return true;
}

static bool quotas_match(campaign *c, size_t n_open, verdict *v)
{
    char b[64], k[64];
    double used = atof(svc_hget(&c->f, "risk:{budget}", "used", b, sizeof b));
    double slots = atof(svc_hget(&c->f, "risk:{concurrency}", "used", k,
                                 sizeof k));
    if (fabs(used - (double)n_open * RISK_PER_POS) > 1e-6 ||
        fabs(slots - (double)n_open) > 1e-9)
        return bad(v, "quotas: budget %s, slots %s for %zu open", b, k,
                   n_open);
    return true;
}

/* What S6 booked on the positions of a symbol: the realized PnL (net of
 * fees) of every record pos:{state}:<id> in Redis, closed or open, the
 * durable books a restart reads.  (Not the POSITION_CLOSED events: an
 * event Redis does not take is not written again:
 * docs/contracts/redis-state.md.) */
static double booked_realized(campaign *c, const char *sym, size_t *n_closed)
{
    double sum = 0;
    *n_closed = 0;
    char cursor[32] = "0";
    do {
        redisReply *r = svc_redis(&c->f, "SCAN %s MATCH pos:{state}:* TYPE hash "
                                  "COUNT 1000", cursor);
        assert_true(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            redisReply *h = svc_redis(&c->f, "HMGET %s symbol state record",
                                      keys->element[i]->str);
            if (h->type == REDIS_REPLY_ARRAY && h->elements == 3 &&
                h->element[0]->str && strcmp(h->element[0]->str, sym) == 0 &&
                h->element[1]->str && h->element[2]->str) {
                json_t *rec = json_loads(h->element[2]->str, 0, NULL);
                sum += num(json_object_get(rec, "pos"), "realized_pnl");
                *n_closed += strcmp(h->element[1]->str, "CLOSED") == 0;
                json_decref(rec);
            }
            freeReplyObject(h);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return sum;
}

/* What the venue's fills on a symbol realized, net of their fees. */
static double venue_net(campaign *c, int s)
{
    s6_s4_peer_book b = { 0 };
    s6_s4_peer_book_get(c->f.peer, SYMS[s], NULL, &b);
    return b.realized - b.fees;
}

/* Every fill booked: what S6 realized on each symbol (its closed records
 * and its open positions) is what the venue's fills realized, net of
 * their fees (a fill S6 never applied, or applied twice, or to another
 * position, shows here; so does a loss closed away as venue_flat). */
static bool fills_booked(campaign *c, verdict *v)
{
    for (int s = 0; s < N_SYM; s++) {
        size_t n_closed = 0;
        double ours = booked_realized(c, SYMS[s], &n_closed);
        double venue = venue_net(c, s);
        double tol = 1e-6 * (double)(n_closed + 1) * (1 + fabs(venue));
        if (fabs(ours - venue) > tol)
            return bad(v, "%s: S6 realized %.6f, the venue's fills %.6f "
                       "(%zu closed positions)", SYMS[s], ours, venue,
                       n_closed);
    }
    return true;
}

/* Today's realized PnL S6 reports per symbol: s6_realized_pnl on
 * /metrics, the parts of the figure the daily loss limit reads. */
static bool day_figures(campaign *c, double out[N_SYM])
{
    s6_buf body = { 0 };
    pump_in_background(&c->f.p);
    long st = http_get(c->f.port, "/metrics", &body);
    pump_stop(&c->f.p);
    int found = 0;
    for (char *line = body.data; st == 200 && line != NULL && *line;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        const char *value = strrchr(line, ' ');
        for (int s = 0; value != NULL && s < N_SYM; s++) {
            char sym[48];
            snprintf(sym, sizeof sym, "symbol=\"%s\"", SYMS[s]);
            if (strncmp(line, "s6_realized_pnl{", 16) == 0 &&
                strstr(line, "market=\"FUT\"") != NULL &&
                strstr(line, sym) != NULL) {
                out[s] = atof(value + 1);
                found++;
            }
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    s6_buf_free(&body);
    return found == N_SYM;
}

static double utc_day(void)
{
    return floor((double)time(NULL) / 86400.0);
}

/* The daily loss figure books every fill, and survives the kills and
 * Redis restarts: S6's day figure of each symbol is what the venue's
 * fills realized net of fees since the campaign (and its fresh Redis)
 * started.  A UTC day that began during the run starts the figure at 0:
 * that is said, and only the other checks hold then. */
static bool day_booked(campaign *c, verdict *v)
{
    double now[N_SYM];
    if (!day_figures(c, now))
        return bad(v, "s6_realized_pnl of a symbol missing from /metrics");
    if (utc_day() != c->day_of_start) {
        fprintf(stderr, "fault campaign: a UTC day began during the run, "
                        "the day figures are not compared\n");
        return true;
    }
    for (int s = 0; s < N_SYM; s++) {
        double venue = venue_net(c, s);
        if (fabs(now[s] - venue) > 1e-6 * (1 + fabs(venue)))
            return bad(v, "%s: S6's day figure is %.6f, the venue's fills "
                       "realized %.6f", SYMS[s], now[s], venue);
    }
    return true;
}

static bool end_state(svc_fx *f, void *ud)
{
    campaign *c = (campaign *)f;
    verdict *v = ud;
    json_t *doc = NULL;
    if (svc_http(f, "GET", "/positions", SVC_TOKEN, NULL, &doc) != 200)
        return bad(v, "GET /positions failed");
    json_t *list = json_object_get(doc, "positions");
    bool ok = books_agree(c, list, v) && one_body_per_intent(c, v) &&
              quotas_match(c, json_array_size(list), v) &&
              fills_booked(c, v) && day_booked(c, v);
    json_decref(doc);
    if (ok && svc_http(f, "GET", "/ready", NULL, NULL, NULL) != 200)
        ok = bad(v, "not ready");
    return ok;
}

static void dump_stream(campaign *c, const char *key, FILE *out)
{
    redisReply *r = svc_redis(&c->f, "XRANGE %s - +", key);
    for (size_t i = 0; r && i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        fprintf(out, "%s %s", key, r->element[i]->element[0]->str);
        for (size_t k = 0; k + 1 < kv->elements; k += 2)
            fprintf(out, " %s=%s", kv->element[k]->str, kv->element[k + 1]->str);
        fprintf(out, "\n");
    }
    freeReplyObject(r);
}

static void dump(campaign *c)
{
    const char *d = getenv("S6_FAULT_DUMP");
    if (!d)
        return;
    FILE *out = fopen(d, "w");
    dump_stream(c, "ord:{results}", out);
    for (int s = 0; s < N_SYM; s++) {
        char k[64];
        snprintf(k, sizeof k, "pos:events:{%s}", SYMS[s]);
        dump_stream(c, k, out);
    }
    fclose(out);
}

/* The faults lifted, a last price, then the end state must hold within
 * the guard time (converging may take a reconciliation or two). */
static void settle(campaign *c, const char *after)
{
    s6_s4_peer_rule_path(c->f.peer, "/orders", NULL);
    s6_s4_peer_rule_path(c->f.peer, "/cancel", NULL);
    fprintf(stderr, "fault campaign, after %s: %u positions, %u kills, "
                    "%u S4 faults, %u Redis stalls, %u Redis restarts\n",
            after, c->opened, c->kills, c->s4_faults, c->redis_stalls,
            c->redis_restarts);
    for (int s = 0; s < N_SYM; s++)
        move(c, s);
    verdict v = { "" };
    long deadline = now_ms() + 3 * GUARD_MS;
    while (!end_state(&c->f, &v)) {
        if (now_ms() > deadline) {
            svc_print_log(&c->f);
            dump(c);
            fail_msg("seed %u, after %s: the end state never held: %s",
                     c->seed0, after, v.why);
        }
        pump(&c->f.p, 100);
    }
}

/* The run's seed and length: S6_FAULT_SEED and S6_FAULT_ROUNDS, else
 * the arguments ctest gives ("random" or a seed, then the rounds), else
 * a seed from the clock and 1500 rounds. */
static const char *arg_seed = "random", *arg_rounds = "1500";

static unsigned seed_of(void)
{
    const char *s = getenv("S6_FAULT_SEED");
    if (s == NULL || *s == '\0')
        s = arg_seed;
    return strcmp(s, "random") != 0 ? (unsigned)strtoul(s, NULL, 10)
                                    : (unsigned)time(NULL);
}

static unsigned rounds_of(void)
{
    const char *r = getenv("S6_FAULT_ROUNDS");
    return (unsigned)atoi(r != NULL && *r ? r : arg_rounds);
}

static void campaign_runs(void **state)
{
    (void)state;
    campaign *c = calloc(1, sizeof *c);
    c->seed = c->seed0 = seed_of();
    unsigned seed = c->seed;
    unsigned rounds = rounds_of();
    fprintf(stderr, "fault campaign: seed %u, %u rounds (rerun: "
                    "S6_FAULT_SEED=%u S6_FAULT_ROUNDS=%u)\n", seed, rounds,
            seed, rounds);
    svc_fx_setup_aof(&c->f, edit);
    freeReplyObject(svc_redis(&c->f, "HSET risk:{budget} limit 1000000"));
    freeReplyObject(svc_redis(&c->f, "HSET risk:{concurrency} limit 1000"));
    s6_s4_peer_venue_book(c->f.peer, true);
    s6_s4_peer_set_fee_rate(c->f.peer, 0.0005);
    for (int s = 0; s < N_SYM; s++)
        c->px[s] = START[s];
    c->day_of_start = utc_day();
    svc_start(&c->f);
    for (unsigned i = 0; i < rounds; i++)
        round_of(c);
    settle(c, "the campaign");
    svc_fx_teardown(&c->f);
    free(c);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        arg_seed = argv[1];
    if (argc > 2)
        arg_rounds = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(campaign_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
