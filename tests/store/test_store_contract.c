/*
 * test_store_contract.c — the store's behaviour, written against store.h only and run
 * against every backend: round trips of each record, idempotent transfer
 * creation, status rules, the unfinished list, the latest snapshot, bad
 * input refused with the field named and nothing written, a reopen that
 * keeps the data, and calls made from inside a completion.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "contract.h"

typedef struct ctx {
    const contract_backend *b;
    void *bstate;
    s6_store *st;
} ctx;

void got_done(void *ud, int rc, const char *msg, const s6_store_result *res)
{
    got *g = ud;
    g->calls++;
    g->rc = rc;
    snprintf(g->msg, sizeof g->msg, "%s", msg);
    g->found = res->found;
    g->existed = res->existed;
    if (res->snapshot) {
        g->snap = *res->snapshot;
        snprintf(g->rule_versions, sizeof g->rule_versions, "%s",
                 res->snapshot->rule_versions);
        g->snap.rule_versions = g->rule_versions;
    }
    if (res->order)
        g->order = *res->order;
    if (res->transfer)
        g->transfer = *res->transfer;
    g->n_list = res->n_transfers;
    for (size_t i = 0; i < res->n_transfers && i < 16; i++)
        g->list[i] = res->transfers[i];
    g->n_events = res->n_events;
    for (size_t i = 0; i < res->n_events && i < 16; i++)
        g->events[i] = res->events[i];
}

/* An operation accepted by the store completes exactly once. */
static void settle(ctx *c, int returned, const s6_store_err *e, got *g)
{
    if (returned != 0)
        fail_msg("refused (%d): %s", returned, e->msg);
    c->b->wait(&c->bstate, &g->calls);
    assert_int_equal(g->calls, 1);
}

/* Runs one call expression with a fresh `got g` and settles it. */
#define DO(c, g, call)                                                     \
    do {                                                                   \
        s6_store_err e_;                                                   \
        memset(&(g), 0, sizeof(g));                                        \
        settle((c), (call), &e_, &(g));                                    \
    } while (0)

#define OK(c, g, call)                                                     \
    do {                                                                   \
        DO(c, g, call);                                                    \
        if ((g).rc != 0)                                                   \
            fail_msg("%s: rc %d: %s", #call, (g).rc, (g).msg);             \
    } while (0)

/* ---- fixtures ------------------------------------------------------- */

static s6_store_snapshot snap_of(const char *pos_id, int64_t ts)
{
    s6_store_snapshot s = {
        .market = "FUT", .state = "ACTIVE", .side = "LONG", .symbol = "BTCUSDT",
        .qty = 0.003, .entry_px = 64123.1, .mark_px = 0.1 + 0.2,
        .roe = -0.123456789012345, .liq_px = 58000.5, .stop_px = 63900.4,
        .stop_step = 2, .tp_step = 1, .adds = 3, .realized_pnl = -1e-9,
        .unrealized_pnl = 12345.678901234567, .plan_id = "plan-7",
        .rule_versions = "{\"lockin\":\"ab12\",\"tp_ladder\":\"cd34\"}",
        .ts_ms = ts,
    };
    snprintf(s.pos_id, sizeof s.pos_id, "%s", pos_id);
    return s;
}

static s6_store_order order_of(const char *intent, const char *status,
                               int64_t created, int64_t updated)
{
    s6_store_order o = { .pos_id = "p1", .kind = "STOP", .price = 63900.4,
                         .qty = 0.003, .created_ms = created,
                         .updated_ms = updated, .symbol = "BTCUSDT" };
    snprintf(o.intent_id, sizeof o.intent_id, "%s", intent);
    snprintf(o.status, sizeof o.status, "%s", status);
    return o;
}

static s6_store_transfer transfer_of(const char *id, s6_transfer_status st,
                                     int64_t created)
{
    s6_store_transfer t = { .trigger_id = "trg-1", .trigger_type = "MARGIN_CALL",
                            .from = "SPOT", .to = "FUT", .amount = 250.5,
                            .status = st, .reason = "need 250.5",
                            .attempts = 0, .created_ms = created,
                            .updated_ms = created };
    snprintf(t.transfer_id, sizeof t.transfer_id, "%s", id);
    return t;
}

static void assert_snap_equal(const s6_store_snapshot *a,
                              const s6_store_snapshot *b)
{
    assert_string_equal(a->pos_id, b->pos_id);
    assert_string_equal(a->symbol, b->symbol);
    assert_string_equal(a->market, b->market);
    assert_string_equal(a->state, b->state);
    assert_string_equal(a->side, b->side);
    const double *na[] = { &a->qty, &a->entry_px, &a->mark_px, &a->roe,
                           &a->liq_px, &a->stop_px, &a->realized_pnl,
                           &a->unrealized_pnl };
    const double *nb[] = { &b->qty, &b->entry_px, &b->mark_px, &b->roe,
                           &b->liq_px, &b->stop_px, &b->realized_pnl,
                           &b->unrealized_pnl };
    for (size_t i = 0; i < sizeof na / sizeof na[0]; i++)
        if (memcmp(na[i], nb[i], sizeof(double)) != 0) /* bit-exact */
            fail_msg("number %zu: %.17g != %.17g", i, *na[i], *nb[i]);
    assert_int_equal(a->stop_step, b->stop_step);
    assert_int_equal(a->tp_step, b->tp_step);
    assert_int_equal(a->adds, b->adds);
    assert_string_equal(a->plan_id, b->plan_id);
    assert_int_equal(a->ts_ms, b->ts_ms);
}

static void assert_transfer_equal(const s6_store_transfer *a,
                                  const s6_store_transfer *b)
{
    assert_string_equal(a->transfer_id, b->transfer_id);
    assert_string_equal(a->trigger_id, b->trigger_id);
    assert_string_equal(a->trigger_type, b->trigger_type);
    assert_string_equal(a->from, b->from);
    assert_string_equal(a->to, b->to);
    assert_true(a->amount == b->amount);
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->reason, b->reason);
    assert_int_equal(a->attempts, b->attempts);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->updated_ms, b->updated_ms);
}

static void assert_order_equal(const s6_store_order *a, const s6_store_order *b)
{
    assert_string_equal(a->intent_id, b->intent_id);
    assert_string_equal(a->pos_id, b->pos_id);
    assert_string_equal(a->kind, b->kind);
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->s4_order_id, b->s4_order_id);
    assert_true(a->price == b->price);
    assert_true(a->qty == b->qty);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->updated_ms, b->updated_ms);
}

/* ---- snapshots ------------------------------------------------------ */

static void snapshot_round_trip_and_latest(void **state)
{
    ctx *c = *state;
    got g;
    s6_store_snapshot a = snap_of("p1", 1000), b = snap_of("p1", 2000);
    b.stop_step = 3;
    strcpy(b.state, "PENDING_CLOSING");

    OK(c, g, s6_store_latest_snapshot(c->st, "p1", got_done, &g, &e_));
    assert_false(g.found);
    OK(c, g, s6_store_append_snapshot(c->st, &b, got_done, &g, &e_));
    OK(c, g, s6_store_append_snapshot(c->st, &a, got_done, &g, &e_));
    /* Latest by timestamp, not by arrival. */
    OK(c, g, s6_store_latest_snapshot(c->st, "p1", got_done, &g, &e_));
    assert_true(g.found);
    assert_snap_equal(&g.snap, &b);
    assert_string_equal(g.rule_versions,
                        "{\"lockin\":\"ab12\",\"tp_ladder\":\"cd34\"}");
    /* Same timestamp: the one appended last wins. */
    s6_store_snapshot b2 = b;
    b2.adds = 4;
    b2.rule_versions = NULL;
    OK(c, g, s6_store_append_snapshot(c->st, &b2, got_done, &g, &e_));
    OK(c, g, s6_store_latest_snapshot(c->st, "p1", got_done, &g, &e_));
    assert_snap_equal(&g.snap, &b2);
    assert_string_equal(g.rule_versions, "{}");
    /* Another position's history is its own. */
    OK(c, g, s6_store_latest_snapshot(c->st, "p2", got_done, &g, &e_));
    assert_false(g.found);
}

/* ---- orders --------------------------------------------------------- */

static void order_upsert_round_trip(void **state)
{
    ctx *c = *state;
    got g;
    s6_store_order o = order_of("p1-sl-1", "NEW", 100, 100);

    OK(c, g, s6_store_get_order(c->st, "p1-sl-1", got_done, &g, &e_));
    assert_false(g.found);
    OK(c, g, s6_store_upsert_order(c->st, &o, got_done, &g, &e_));
    assert_order_equal(&g.order, &o);
    OK(c, g, s6_store_get_order(c->st, "p1-sl-1", got_done, &g, &e_));
    assert_true(g.found);
    assert_order_equal(&g.order, &o);

    /* S4 acknowledged: status and id move, created_ms stays the first. */
    s6_store_order ack = order_of("p1-sl-1", "ACKED", 150, 200);
    strcpy(ack.s4_order_id, "s4-991");
    ack.price = 63950.1;
    OK(c, g, s6_store_upsert_order(c->st, &ack, got_done, &g, &e_));
    s6_store_order want = ack;
    want.created_ms = 100;
    assert_order_equal(&g.order, &want);

    /* An update without the S4 id keeps the one S4 gave. */
    s6_store_order cancel = order_of("p1-sl-1", "CANCELED", 100, 300);
    cancel.price = ack.price;
    OK(c, g, s6_store_upsert_order(c->st, &cancel, got_done, &g, &e_));
    want = cancel;
    strcpy(want.s4_order_id, "s4-991");
    assert_order_equal(&g.order, &want);

    /* The same key for another position is a bug upstream: refused. */
    s6_store_order other = order_of("p1-sl-1", "NEW", 100, 400);
    strcpy(other.pos_id, "p9");
    DO(c, g, s6_store_upsert_order(c->st, &other, got_done, &g, &e_));
    assert_int_equal(g.rc, S6_ECONFLICT);
    assert_non_null(strstr(g.msg, "p1-sl-1"));
    assert_non_null(strstr(g.msg, "p9"));
    OK(c, g, s6_store_get_order(c->st, "p1-sl-1", got_done, &g, &e_));
    assert_order_equal(&g.order, &want);

    /* The life: every accepted upsert, in turn, the refused one not. */
    const s6_store_order *life[] = { &o, &ack, &cancel };
    OK(c, g, s6_store_order_events(c->st, "p1-sl-1", got_done, &g, &e_));
    assert_true(g.found);
    assert_int_equal(g.n_events, 3);
    for (size_t i = 0; i < 3; i++) {
        const s6_store_order_event *ev = &g.events[i];
        assert_string_equal(ev->intent_id, "p1-sl-1");
        assert_string_equal(ev->pos_id, "p1");
        assert_string_equal(ev->symbol, "BTCUSDT");
        assert_string_equal(ev->kind, "STOP");
        assert_string_equal(ev->status, life[i]->status);
        assert_true(ev->price == life[i]->price);
        assert_true(ev->qty == life[i]->qty);
        assert_int_equal(ev->ts_ms, life[i]->updated_ms);
        if (i > 0)
            assert_true(ev->seq > g.events[i - 1].seq);
    }
    /* Another order's life is its own. */
    OK(c, g, s6_store_order_events(c->st, "p1-sl-2", got_done, &g, &e_));
    assert_false(g.found);
    assert_int_equal(g.n_events, 0);
}

/* Two orders moving in turn: each life keeps its own statuses in order,
 * the same status twice included (a replayed answer is a fact too). */
static void order_lives_interleave(void **state)
{
    ctx *c = *state;
    got g;
    static const char *const A[] = { "SENT", "ACKED", "PARTIALLY_FILLED",
                                     "PARTIALLY_FILLED", "FILLED" };
    static const char *const B[] = { "SENT", "REJECTED" };
    for (int i = 0; i < 5; i++) {
        s6_store_order a = order_of("p1-tp-1", A[i], 100, 100 + i);
        strcpy(a.kind, "TAKE_PROFIT");
        a.qty = 0.001 * (i + 1);
        OK(c, g, s6_store_upsert_order(c->st, &a, got_done, &g, &e_));
        if (i < 2) {
            s6_store_order b = order_of("p1-cl-1", B[i], 100, 100 + i);
            strcpy(b.kind, "CLOSE");
            b.symbol[0] = '\0'; /* may be empty */
            OK(c, g, s6_store_upsert_order(c->st, &b, got_done, &g, &e_));
        }
    }
    OK(c, g, s6_store_order_events(c->st, "p1-tp-1", got_done, &g, &e_));
    assert_int_equal(g.n_events, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(g.events[i].status, A[i]);
        assert_true(g.events[i].qty == 0.001 * (double)(i + 1));
    }
    OK(c, g, s6_store_order_events(c->st, "p1-cl-1", got_done, &g, &e_));
    assert_int_equal(g.n_events, 2);
    assert_string_equal(g.events[0].status, "SENT");
    assert_string_equal(g.events[1].status, "REJECTED");
    assert_string_equal(g.events[1].symbol, "");
}

/* ---- transfers ------------------------------------------------------ */

static void transfer_create_is_idempotent(void **state)
{
    ctx *c = *state;
    got g;
    s6_store_transfer t = transfer_of("tr-1", S6_TRANSFER_PENDING, 1000);

    OK(c, g, s6_store_create_transfer(c->st, &t, got_done, &g, &e_));
    assert_false(g.existed);
    assert_transfer_equal(&g.transfer, &t);

    /* A repeated trigger with other numbers gets the stored row back. */
    s6_store_transfer again = transfer_of("tr-1", S6_TRANSFER_PENDING, 2000);
    again.amount = 999;
    OK(c, g, s6_store_create_transfer(c->st, &again, got_done, &g, &e_));
    assert_true(g.existed);
    assert_transfer_equal(&g.transfer, &t);

    OK(c, g, s6_store_list_unfinished_transfers(c->st, got_done, &g, &e_));
    assert_int_equal(g.n_list, 1);
    assert_transfer_equal(&g.list[0], &t);
    OK(c, g, s6_store_get_transfer(c->st, "tr-1", got_done, &g, &e_));
    assert_true(g.found);
    assert_transfer_equal(&g.transfer, &t);
    OK(c, g, s6_store_get_transfer(c->st, "tr-2", got_done, &g, &e_));
    assert_false(g.found);
}

static void update(ctx *c, got *g, const char *id, s6_transfer_status st,
                   const char *reason, int attempts, int64_t ts)
{
    s6_store_transfer_update u = { .status = st, .reason = reason,
                                   .attempts = attempts, .updated_ms = ts };
    DO(c, *g, s6_store_update_transfer(c->st, id, &u, got_done, g, &e_));
}

static void transfer_status_moves_forward_only(void **state)
{
    ctx *c = *state;
    got g;
    s6_store_transfer t = transfer_of("tr-1", S6_TRANSFER_PENDING, 1000);
    OK(c, g, s6_store_create_transfer(c->st, &t, got_done, &g, &e_));

    update(c, &g, "tr-1", S6_TRANSFER_APPROVED, "approved by S12", 0, 1100);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.transfer.status, S6_TRANSFER_APPROVED);
    assert_string_equal(g.transfer.reason, "approved by S12");
    update(c, &g, "tr-1", S6_TRANSFER_SUBMITTED, NULL, 1, 1200);
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.transfer.reason, "approved by S12"); /* kept */
    assert_int_equal(g.transfer.attempts, 1);
    assert_int_equal(g.transfer.updated_ms, 1200);
    assert_int_equal(g.transfer.created_ms, 1000);

    update(c, &g, "tr-1", S6_TRANSFER_PENDING, NULL, 1, 1250);
    assert_int_equal(g.rc, S6_ECONFLICT);
    assert_non_null(strstr(g.msg, "SUBMITTED to PENDING"));
    update(c, &g, "tr-1", S6_TRANSFER_SUBMITTED, NULL, 0, 1250);
    assert_int_equal(g.rc, S6_ECONFLICT);
    assert_non_null(strstr(g.msg, "attempts"));

    update(c, &g, "tr-1", S6_TRANSFER_SUCCESS, "S1 confirmed", 2, 1300);
    assert_int_equal(g.rc, 0);
    /* A replayed confirmation is harmless; another outcome is refused. */
    update(c, &g, "tr-1", S6_TRANSFER_SUCCESS, "S1 confirmed", 2, 1400);
    assert_int_equal(g.rc, 0);
    update(c, &g, "tr-1", S6_TRANSFER_FAILED, "late failure", 3, 1500);
    assert_int_equal(g.rc, S6_ECONFLICT);
    assert_non_null(strstr(g.msg, "SUCCESS is final"));
    OK(c, g, s6_store_get_transfer(c->st, "tr-1", got_done, &g, &e_));
    assert_int_equal(g.transfer.status, S6_TRANSFER_SUCCESS);
    assert_int_equal(g.transfer.attempts, 2);
    assert_int_equal(g.transfer.updated_ms, 1400);

    update(c, &g, "tr-404", S6_TRANSFER_FAILED, NULL, 0, 1500);
    assert_int_equal(g.rc, S6_ENOTFOUND);
    assert_non_null(strstr(g.msg, "tr-404"));
}

static void every_status_round_trips(void **state)
{
    ctx *c = *state;
    got g;
    for (int s = 0; s < S6_TRANSFER_STATUS_COUNT; s++) {
        char id[16];
        snprintf(id, sizeof id, "tr-s%d", s);
        s6_store_transfer t = transfer_of(id, (s6_transfer_status)s, 10 + s);
        OK(c, g, s6_store_create_transfer(c->st, &t, got_done, &g, &e_));
        OK(c, g, s6_store_get_transfer(c->st, id, got_done, &g, &e_));
        assert_transfer_equal(&g.transfer, &t);
        s6_transfer_status back;
        assert_int_equal(s6_transfer_status_parse(
                             s6_transfer_status_name((s6_transfer_status)s),
                             &back), 0);
        assert_int_equal(back, s);
    }
}

static void unfinished_list_is_oldest_first(void **state)
{
    ctx *c = *state;
    got g;
    static const struct { const char *id; s6_transfer_status st; int64_t ts; }
    rows[] = {
        { "a-success", S6_TRANSFER_SUCCESS, 10 },
        { "b-submitted", S6_TRANSFER_SUBMITTED, 40 },
        { "c-pending", S6_TRANSFER_PENDING, 20 },
        { "d-skipped", S6_TRANSFER_SKIPPED, 5 },
        { "e-approved", S6_TRANSFER_APPROVED, 30 },
        { "f-rejected", S6_TRANSFER_REJECTED, 1 },
        { "g-failed", S6_TRANSFER_FAILED, 2 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        s6_store_transfer t = transfer_of(rows[i].id, rows[i].st, rows[i].ts);
        OK(c, g, s6_store_create_transfer(c->st, &t, got_done, &g, &e_));
    }
    OK(c, g, s6_store_list_unfinished_transfers(c->st, got_done, &g, &e_));
    assert_int_equal(g.n_list, 3);
    assert_string_equal(g.list[0].transfer_id, "c-pending");
    assert_string_equal(g.list[1].transfer_id, "e-approved");
    assert_string_equal(g.list[2].transfer_id, "b-submitted");

    update(c, &g, "e-approved", S6_TRANSFER_FAILED, "S1 down", 5, 50);
    assert_int_equal(g.rc, 0);
    OK(c, g, s6_store_list_unfinished_transfers(c->st, got_done, &g, &e_));
    assert_int_equal(g.n_list, 2);
    assert_string_equal(g.list[1].transfer_id, "b-submitted");
}

/* ---- bad input ------------------------------------------------------ */

typedef struct bad_case {
    const char *field; /* must appear in the message */
    void (*mutate)(s6_store_snapshot *, s6_store_order *, s6_store_transfer *);
} bad_case;

#define MUT(name, body)                                                     \
    static void name(s6_store_snapshot *s, s6_store_order *o,               \
                     s6_store_transfer *t)                                  \
    {                                                                       \
        (void)s; (void)o; (void)t;                                          \
        body;                                                               \
    }

MUT(s_empty_pos, s->pos_id[0] = 0)
MUT(s_space_pos, strcpy(s->pos_id, "p 1"))
MUT(s_slash_pos, strcpy(s->pos_id, "p/1"))
MUT(s_unterminated_pos, memset(s->pos_id, 'x', sizeof s->pos_id))
MUT(s_nan_mark, s->mark_px = NAN)
MUT(s_inf_roe, s->roe = INFINITY)
MUT(s_neg_qty, s->qty = -1)
MUT(s_bad_state, strcpy(s->state, "OPEN"))
MUT(s_bad_market, strcpy(s->market, "fut"))
MUT(s_bad_side, strcpy(s->side, "BUY"))
MUT(s_neg_step, s->stop_step = -1)
MUT(s_zero_ts, s->ts_ms = 0)
MUT(s_rv_array, s->rule_versions = "[1]")
MUT(s_rv_text, s->rule_versions = "{\"a\":")
MUT(s_rv_number, s->rule_versions = "{\"a\":1}")
MUT(o_empty_intent, o->intent_id[0] = 0)
MUT(o_bad_kind, strcpy(o->kind, "STOPLOSS"))
MUT(o_bad_status, strcpy(o->status, "DONE"))
MUT(o_nan_price, o->price = NAN)
MUT(o_zero_qty, o->qty = 0)
MUT(o_updated_before_created, o->updated_ms = o->created_ms - 1)
MUT(o_space_symbol, strcpy(o->symbol, "BTC USDT"))
MUT(t_empty_id, t->transfer_id[0] = 0)
MUT(t_unknown_status, t->status = (s6_transfer_status)99)
MUT(t_negative_status, t->status = (s6_transfer_status)-1)
MUT(t_nan_amount, t->amount = NAN)
MUT(t_neg_amount, t->amount = -5)
MUT(t_same_accounts, strcpy(t->to, "SPOT"))
MUT(t_bad_from, strcpy(t->from, "MARGIN"))
MUT(t_lower_trigger, strcpy(t->trigger_type, "margin_call"))
MUT(t_neg_attempts, t->attempts = -1)

static const struct { const char *field; int kind; void (*m)(
    s6_store_snapshot *, s6_store_order *, s6_store_transfer *); } BAD[] = {
    { "pos_id: empty", 0, s_empty_pos },
    { "pos_id: character 0x20", 0, s_space_pos },
    { "pos_id: character 0x2f", 0, s_slash_pos },
    { "pos_id: longer than 64", 0, s_unterminated_pos },
    { "mark_px: not a finite", 0, s_nan_mark },
    { "roe: not a finite", 0, s_inf_roe },
    { "qty: -1 is below 0", 0, s_neg_qty },
    { "state: unknown value \"OPEN\"", 0, s_bad_state },
    { "market: unknown value \"fut\"", 0, s_bad_market },
    { "side: unknown value \"BUY\"", 0, s_bad_side },
    { "stop_step: -1 is below 0", 0, s_neg_step },
    { "ts_ms: 0 is below 1", 0, s_zero_ts },
    { "rule_versions: not a JSON object", 0, s_rv_array },
    { "rule_versions: not JSON", 0, s_rv_text },
    { "rule_versions.a: not a string", 0, s_rv_number },
    { "intent_id: empty", 1, o_empty_intent },
    { "kind: unknown value \"STOPLOSS\"", 1, o_bad_kind },
    { "status: unknown value \"DONE\"", 1, o_bad_status },
    { "price: not a finite", 1, o_nan_price },
    { "qty: must be above 0", 1, o_zero_qty },
    { "updated_ms: 99 is below 100", 1, o_updated_before_created },
    { "symbol: character 0x20", 1, o_space_symbol },
    { "transfer_id: empty", 2, t_empty_id },
    { "status: unknown status 99", 2, t_unknown_status },
    { "status: unknown status -1", 2, t_negative_status },
    { "amount: not a finite", 2, t_nan_amount },
    { "amount: -5 is below 0", 2, t_neg_amount },
    { "to: same account as from (SPOT)", 2, t_same_accounts },
    { "from: unknown value \"MARGIN\"", 2, t_bad_from },
    { "trigger_type: \"margin_call\" is not an upper-case", 2, t_lower_trigger },
    { "attempts: -1 is below 0", 2, t_neg_attempts },
};

/* Nothing of any kind may have been written. */
static void assert_store_empty(ctx *c)
{
    got g;
    OK(c, g, s6_store_latest_snapshot(c->st, "p1", got_done, &g, &e_));
    assert_false(g.found);
    OK(c, g, s6_store_get_order(c->st, "p1-sl-1", got_done, &g, &e_));
    assert_false(g.found);
    OK(c, g, s6_store_order_events(c->st, "p1-sl-1", got_done, &g, &e_));
    assert_int_equal(g.n_events, 0);
    OK(c, g, s6_store_get_transfer(c->st, "tr-1", got_done, &g, &e_));
    assert_false(g.found);
    OK(c, g, s6_store_list_unfinished_transfers(c->st, got_done, &g, &e_));
    assert_int_equal(g.n_list, 0);
}

static void bad_records_are_refused_and_nothing_written(void **state)
{
    ctx *c = *state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        s6_store_snapshot s = snap_of("p1", 1000);
        s6_store_order o = order_of("p1-sl-1", "NEW", 100, 100);
        s6_store_transfer t = transfer_of("tr-1", S6_TRANSFER_PENDING, 100);
        BAD[i].m(&s, &o, &t);
        got g = { 0 };
        s6_store_err e = { "" };
        int rc = BAD[i].kind == 0
                     ? s6_store_append_snapshot(c->st, &s, got_done, &g, &e)
                 : BAD[i].kind == 1
                     ? s6_store_upsert_order(c->st, &o, got_done, &g, &e)
                     : s6_store_create_transfer(c->st, &t, got_done, &g, &e);
        if (rc != S6_EINVAL || !strstr(e.msg, BAD[i].field))
            fail_msg("case %zu: rc %d, message \"%s\", wanted \"%s\"", i, rc,
                     e.msg, BAD[i].field);
        assert_int_equal(g.calls, 0); /* refused: done never runs */
    }
    assert_store_empty(c);
}

static void bad_keys_and_arguments_are_refused(void **state)
{
    ctx *c = *state;
    got g = { 0 };
    s6_store_err e;
    s6_store_transfer_update u = { .status = S6_TRANSFER_SUCCESS,
                                   .updated_ms = 5 };
    s6_store_snapshot s = snap_of("p1", 1000);

    assert_int_equal(s6_store_latest_snapshot(c->st, NULL, got_done, &g, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "pos_id: missing (NULL)");
    assert_int_equal(s6_store_get_order(c->st, "", got_done, &g, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "intent_id: empty");
    assert_int_equal(s6_store_order_events(c->st, NULL, got_done, &g, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "intent_id: missing (NULL)");
    assert_int_equal(s6_store_get_transfer(c->st, "a\tb", got_done, &g, &e),
                     S6_EINVAL);
    assert_non_null(strstr(e.msg, "transfer_id: character 0x09"));
    assert_int_equal(s6_store_update_transfer(c->st, NULL, &u, got_done, &g, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "transfer_id: missing (NULL)");
    u.status = (s6_transfer_status)42;
    assert_int_equal(s6_store_update_transfer(c->st, "tr-1", &u, got_done, &g,
                                              &e), S6_EINVAL);
    assert_string_equal(e.msg, "status: unknown status 42");
    u.status = S6_TRANSFER_FAILED;
    u.updated_ms = 0;
    assert_int_equal(s6_store_update_transfer(c->st, "tr-1", &u, got_done, &g,
                                              &e), S6_EINVAL);
    assert_string_equal(e.msg, "updated_ms: 0 is below 1");
    assert_int_equal(s6_store_update_transfer(c->st, "tr-1", NULL, got_done,
                                              &g, &e), S6_EINVAL);
    assert_string_equal(e.msg, "update: missing (NULL)");
    assert_int_equal(s6_store_append_snapshot(c->st, NULL, got_done, &g, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "snapshot: missing (NULL)");
    assert_int_equal(s6_store_append_snapshot(c->st, &s, NULL, &g, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "done: a completion callback is required");
    assert_int_equal(s6_store_append_snapshot(NULL, &s, got_done, &g, &e),
                     S6_ECLOSED);
    assert_int_equal(s6_transfer_status_parse("pending", &u.status),
                     S6_EINVAL);
    assert_int_equal(g.calls, 0);
    assert_store_empty(c);
}

/* ---- restart and re-entry ------------------------------------------- */

static void reopen_keeps_the_data(void **state)
{
    ctx *c = *state;
    got g;
    s6_store_snapshot s = snap_of("p1", 1000);
    s6_store_order o = order_of("p1-sl-1", "ACKED", 100, 200);
    s6_store_transfer t = transfer_of("tr-1", S6_TRANSFER_SUBMITTED, 100);
    OK(c, g, s6_store_append_snapshot(c->st, &s, got_done, &g, &e_));
    OK(c, g, s6_store_upsert_order(c->st, &o, got_done, &g, &e_));
    OK(c, g, s6_store_create_transfer(c->st, &t, got_done, &g, &e_));

    c->st = c->b->reopen(&c->bstate, c->st);
    assert_non_null(c->st);
    OK(c, g, s6_store_latest_snapshot(c->st, "p1", got_done, &g, &e_));
    assert_snap_equal(&g.snap, &s);
    assert_string_equal(g.rule_versions,
                        "{\"lockin\":\"ab12\",\"tp_ladder\":\"cd34\"}");
    OK(c, g, s6_store_get_order(c->st, "p1-sl-1", got_done, &g, &e_));
    assert_order_equal(&g.order, &o);
    OK(c, g, s6_store_list_unfinished_transfers(c->st, got_done, &g, &e_));
    assert_int_equal(g.n_list, 1);
    assert_transfer_equal(&g.list[0], &t);
    /* Still idempotent after the restart. */
    OK(c, g, s6_store_create_transfer(c->st, &t, got_done, &g, &e_));
    assert_true(g.existed);
    /* The order's life goes on where it was, in sequence. */
    s6_store_order filled = order_of("p1-sl-1", "FILLED", 100, 300);
    OK(c, g, s6_store_upsert_order(c->st, &filled, got_done, &g, &e_));
    OK(c, g, s6_store_order_events(c->st, "p1-sl-1", got_done, &g, &e_));
    assert_int_equal(g.n_events, 2);
    assert_string_equal(g.events[0].status, "ACKED");
    assert_string_equal(g.events[1].status, "FILLED");
    assert_true(g.events[1].seq > g.events[0].seq);
}

typedef struct nested {
    ctx *c;
    got outer, inner_get, inner_list;
    int inner_rc_get, inner_rc_list;
} nested;

/* A completion that calls the store again, as the treasury does when a
 * create answers and it reads the unfinished list at once. */
static void nested_done(void *ud, int rc, const char *msg,
                        const s6_store_result *res)
{
    nested *n = ud;
    got_done(&n->outer, rc, msg, res);
    s6_store_err e;
    n->inner_rc_get = s6_store_get_transfer(n->c->st, "tr-1", got_done,
                                            &n->inner_get, &e);
    n->inner_rc_list = s6_store_list_unfinished_transfers(
        n->c->st, got_done, &n->inner_list, &e);
    /* The outer result must still be intact after the inner calls. */
    assert_string_equal(res->transfer->transfer_id, "tr-1");
}

static void calls_from_inside_a_completion(void **state)
{
    ctx *c = *state;
    nested n = { .c = c };
    s6_store_err e;
    s6_store_transfer t = transfer_of("tr-1", S6_TRANSFER_PENDING, 100);
    assert_int_equal(s6_store_create_transfer(c->st, &t, nested_done, &n, &e),
                     0);
    c->b->wait(&c->bstate, &n.outer.calls);
    c->b->wait(&c->bstate, &n.inner_get.calls);
    c->b->wait(&c->bstate, &n.inner_list.calls);
    assert_int_equal(n.outer.calls, 1);
    assert_int_equal(n.inner_rc_get, 0);
    assert_int_equal(n.inner_rc_list, 0);
    assert_int_equal(n.inner_get.calls, 1);
    assert_true(n.inner_get.found);
    assert_transfer_equal(&n.inner_get.transfer, &t);
    assert_int_equal(n.inner_list.n_list, 1);
}

/* Several operations in flight at once (an async backend has them on the
 * wire together): two creates of the same id make one transfer. */
static void several_calls_in_flight(void **state)
{
    ctx *c = *state;
    got a = { 0 }, b = { 0 }, l = { 0 };
    s6_store_err e;
    s6_store_transfer t = transfer_of("tr-1", S6_TRANSFER_PENDING, 100);
    s6_store_transfer u = transfer_of("tr-2", S6_TRANSFER_APPROVED, 200);
    assert_int_equal(s6_store_create_transfer(c->st, &t, got_done, &a, &e), 0);
    assert_int_equal(s6_store_create_transfer(c->st, &t, got_done, &b, &e), 0);
    got g2 = { 0 };
    assert_int_equal(s6_store_create_transfer(c->st, &u, got_done, &g2, &e), 0);
    c->b->wait(&c->bstate, &a.calls);
    c->b->wait(&c->bstate, &b.calls);
    c->b->wait(&c->bstate, &g2.calls);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_int_equal(g2.rc, 0);
    assert_true(a.existed != b.existed); /* exactly one made it */
    assert_int_equal(s6_store_list_unfinished_transfers(c->st, got_done, &l,
                                                        &e), 0);
    c->b->wait(&c->bstate, &l.calls);
    assert_int_equal(l.calls, 1);
    assert_int_equal(l.n_list, 2);
}

/* ---- the suite ------------------------------------------------------ */

static int setup(void **state)
{
    ctx *c = *state;
    c->bstate = NULL;
    c->st = c->b->open_fresh(&c->bstate);
    return c->st ? 0 : -1;
}

static int teardown(void **state)
{
    ctx *c = *state;
    c->b->teardown(&c->bstate, c->st);
    c->st = NULL;
    return 0;
}

#define T(f) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, &c)

int contract_run(const contract_backend *b)
{
    ctx c = { .b = b };
    const struct CMUnitTest tests[] = {
        T(snapshot_round_trip_and_latest),
        T(order_upsert_round_trip),
        T(order_lives_interleave),
        T(transfer_create_is_idempotent),
        T(transfer_status_moves_forward_only),
        T(every_status_round_trips),
        T(unfinished_list_is_oldest_first),
        T(bad_records_are_refused_and_nothing_written),
        T(bad_keys_and_arguments_are_refused),
        T(reopen_keeps_the_data),
        T(calls_from_inside_a_completion),
        T(several_calls_in_flight),
    };
    return _cmocka_run_group_tests(b->name, tests,
                                   sizeof tests / sizeof tests[0], NULL, NULL);
}
