/* The ord:{results}, md:prices and strategy:signals codecs: round trips,
 * and every bad field refused with an error naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "bus/md_codec.h"
#include "bus/result_codec.h"

#define MAX_KV 32

typedef struct entry {
    s6_redis_kv kv[MAX_KV];
    size_t n;
} entry;

/* "k1", "v1", ..., NULL */
static void entry_of(entry *e, const char *const *pairs)
{
    e->n = 0;
    for (size_t i = 0; pairs[i]; i += 2)
        e->kv[e->n++] = (s6_redis_kv){ pairs[i], strlen(pairs[i]),
                                       pairs[i + 1], strlen(pairs[i + 1]) };
}

/* The contract's example entry. */
static const char *const fill_example[] = {
    "result_id", "r-1001", "kind", "FILL", "intent_id", "up-77",
    "symbol", "BTCUSDT", "market", "FUT", "side", "BUY",
    "fill_kind", "ENTRY", "qty", "0.010", "price", "64250.1",
    "fee", "0.257", "fee_asset", "QUOTE", "sl_px", "63000",
    "leverage", "10", "risk_reserved", "64.25",
    "concurrency_reserved", "1", "ts", "1764110000.250", NULL
};

static void test_result_example(void **state)
{
    (void)state;
    entry e;
    entry_of(&e, fill_example);
    s6_order_result r;
    char err[256] = "";
    assert_int_equal(s6_result_parse(e.kv, e.n, &r, err, sizeof err), 0);
    assert_int_equal(r.kind, S6_RES_FILL);
    assert_string_equal(r.result_id, "r-1001");
    assert_string_equal(r.fill.result_id, "r-1001");
    assert_string_equal(r.intent_id, "up-77");
    assert_string_equal(r.fill.intent_id, "up-77");
    assert_string_equal(r.pos_id, "");
    assert_string_equal(r.symbol, "BTCUSDT");
    assert_int_equal(r.market, S6_MARKET_FUT);
    assert_int_equal(r.fill.side, 1);
    assert_int_equal(r.fill.kind, S6_FILL_ENTRY);
    assert_true(r.fill.qty == 0.010);
    assert_true(r.fill.price == 64250.1);
    assert_true(r.fill.fee == 0.257);
    assert_false(r.fill.fee_in_base);
    assert_true(r.sl_px == 63000);
    assert_true(r.leverage == 10);
    assert_true(r.risk_reserved == 64.25);
    assert_int_equal(r.concurrency_reserved, 1);
    assert_true(r.ts == 1764110000.250);
    assert_true(r.fill.ts == r.ts);
}

static void roundtrip(const s6_order_result *r)
{
    s6_bus_out o;
    char err[256] = "";
    assert_int_equal(s6_result_format(r, &o, err, sizeof err), 0);
    s6_order_result back;
    assert_int_equal(s6_result_parse(o.kv, o.n, &back, err, sizeof err), 0);
    assert_memory_equal(&back, r, sizeof *r);
}

static void test_result_roundtrip(void **state)
{
    (void)state;
    s6_order_result r;
    memset(&r, 0, sizeof r);
    r.kind = S6_RES_FILL;
    strcpy(r.result_id, "paper-000017");
    strcpy(r.intent_id, "p1-tp-3");
    strcpy(r.pos_id, "p1");
    strcpy(r.symbol, "ETHUSDT");
    r.market = S6_MARKET_SPOT;
    r.fill = (s6_fill){ .kind = S6_FILL_REDUCE, .side = -1, .qty = 0.1 + 0.2,
                        .price = 3123.456789012345, .fee = 1e-7,
                        .fee_in_base = true, .ts = 1764110000.123456 };
    strcpy(r.fill.result_id, r.result_id);
    strcpy(r.fill.intent_id, r.intent_id);
    r.ts = r.fill.ts;
    roundtrip(&r);

    s6_order_result rej;
    memset(&rej, 0, sizeof rej);
    rej.kind = S6_RES_REJECTED;
    strcpy(rej.result_id, "r-9");
    strcpy(rej.intent_id, "p1-sl-4");
    strcpy(rej.symbol, "BTCUSDT");
    strcpy(rej.reason, "Order would immediately trigger.");
    rej.ts = 17;
    roundtrip(&rej);

    s6_order_result fund;
    memset(&fund, 0, sizeof fund);
    fund.kind = S6_RES_FUNDING;
    strcpy(fund.result_id, "fund-8");
    strcpy(fund.symbol, "BTCUSDT");
    fund.funding_amount = -0.6425;
    fund.funding_rate = 0.0001;
    fund.ts = 1764115200;
    roundtrip(&fund);
}

static void entry_with(entry *e, const char *const *base, const char *field,
                       const char *value);

/* A funding payment: amount (signed) and rate, documented in
 * order-results.md; both required on FUNDING, refused by name. */
static void test_result_funding(void **state)
{
    (void)state;
    static const char *const funding[] = {
        "result_id", "f-1", "kind", "FUNDING", "symbol", "BTCUSDT",
        "market", "FUT", "amount", "-0.6425", "rate", "0.0001",
        "ts", "1764115200", NULL
    };
    entry e;
    entry_of(&e, funding);
    s6_order_result r;
    char err[256] = "";
    assert_int_equal(s6_result_parse(e.kv, e.n, &r, err, sizeof err), 0);
    assert_int_equal(r.kind, S6_RES_FUNDING);
    assert_true(r.funding_amount == -0.6425);
    assert_true(r.funding_rate == 0.0001);
    assert_string_equal(r.intent_id, "");
    static const struct {
        const char *field, *value, *expect;
    } bad[] = {
        { "amount", NULL, "field 'amount': missing" },
        { "rate", NULL, "field 'rate': missing" },
        { "rate", "2", "field 'rate'" },
        { "amount", "NaN", "field 'amount'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        entry_with(&e, funding, bad[i].field, bad[i].value);
        err[0] = '\0';
        assert_int_not_equal(s6_result_parse(e.kv, e.n, &r, err, sizeof err),
                             0);
        if (!strstr(err, bad[i].expect))
            fail_msg("%s: '%s', want '%s'", bad[i].field, err, bad[i].expect);
    }
}

/* base with one field replaced, added, or (value NULL) removed. */
static void entry_with(entry *e, const char *const *base, const char *field,
                       const char *value)
{
    const char *pairs[2 * MAX_KV + 1];
    size_t n = 0;
    bool replaced = false;
    for (size_t i = 0; base[i]; i += 2) {
        bool hit = strcmp(base[i], field) == 0;
        replaced |= hit;
        if (hit && !value)
            continue;
        pairs[n++] = base[i];
        pairs[n++] = hit ? value : base[i + 1];
    }
    if (!replaced && value) {
        pairs[n++] = field;
        pairs[n++] = value;
    }
    pairs[n] = NULL;
    entry_of(e, pairs);
}

static int parse_with(const char *field, const char *value, char *err,
                      size_t errlen)
{
    entry e;
    entry_with(&e, fill_example, field, value);
    s6_order_result r;
    memset(&r, 0x5a, sizeof r);
    int rc = s6_result_parse(e.kv, e.n, &r, err, errlen);
    if (rc != 0) {
        s6_order_result zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&r, &zero, sizeof r); /* nothing half-parsed */
    }
    return rc;
}

static const struct {
    const char *field, *value, *expect;
} bad_results[] = {
    { "result_id", NULL, "field 'result_id': missing" },
    { "result_id", "", "field 'result_id': missing" },
    { "result_id", "r 1", "field 'result_id': has a space" },
    { "kind", "FILLED", "field 'kind': unknown value" },
    { "kind", NULL, "field 'kind': missing" },
    { "symbol", NULL, "field 'symbol': missing" },
    { "symbol", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "field 'symbol': longer than 24" },
    { "market", "PERP", "field 'market': unknown value" },
    { "market", NULL, "field 'market': missing" },
    { "side", "LONG", "field 'side': unknown value" },
    { "side", NULL, "field 'side': missing" },
    { "fill_kind", "TP", "field 'fill_kind': unknown value" },
    { "fill_kind", NULL, "field 'fill_kind': missing" },
    { "qty", "-0.5", "field 'qty': negative" },
    { "qty", "0", "field 'qty': must be greater than 0" },
    { "qty", "NaN", "field 'qty': NaN" },
    { "qty", NULL, "field 'qty': missing" },
    { "qty", "0x10", "field 'qty': not a decimal number" },
    { "qty", " 1", "field 'qty': not a decimal number" },
    { "qty", "1e999", "field 'qty': out of range" },
    { "price", "inf", "field 'price': infinite" },
    { "price", "abc", "field 'price': not a decimal number" },
    { "fee", "-0.1", "field 'fee': negative" },
    { "fee_asset", "USDT", "field 'fee_asset': unknown value" },
    { "sl_px", "-1", "field 'sl_px': negative" },
    { "leverage", "2000", "field 'leverage': outside" },
    { "risk_reserved", "-nan", "field 'risk_reserved': NaN" },
    { "concurrency_reserved", "1.5", "field 'concurrency_reserved': not a whole" },
    { "concurrency_reserved", "-1", "field 'concurrency_reserved': negative" },
    { "ts", "yesterday", "field 'ts': not a decimal number" },
    { "intent_id", "0123456789012345678901234567890123456789", "field 'intent_id': longer than 36" },
    { "pos_id", "pos\x01", "field 'pos_id': has a space or control" },
};

static void test_result_bad_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_results / sizeof bad_results[0]; i++) {
        char err[256] = "";
        int rc = parse_with(bad_results[i].field, bad_results[i].value, err,
                            sizeof err);
        if (rc != S6_EINVAL || !strstr(err, bad_results[i].expect))
            fail_msg("%s=%s: rc %d err '%s', want '%s'", bad_results[i].field,
                     bad_results[i].value ? bad_results[i].value : "(absent)",
                     rc, err, bad_results[i].expect);
        assert_non_null(strstr(err, "ord:{results}"));
    }
}

static void test_result_duplicate_and_unknown(void **state)
{
    (void)state;
    char err[256] = "";
    /* A field given twice is ambiguous. */
    const char *dup[] = { "result_id", "r-1", "kind", "ACCEPTED", "symbol",
                          "X", "market", "FUT", "kind", "FILL", NULL };
    entry e;
    entry_of(&e, dup);
    s6_order_result r;
    assert_int_equal(s6_result_parse(e.kv, e.n, &r, err, sizeof err),
                     S6_EINVAL);
    assert_non_null(strstr(err, "field 'kind': given twice"));
    /* Unknown fields are a writer's extension, ignored. */
    assert_int_equal(parse_with("venue_order_id", "123", err, sizeof err), 0);
    /* A non-fill needs no order fields. */
    const char *acc[] = { "result_id", "r-2", "kind", "ACCEPTED", "symbol",
                          "BTCUSDT", "market", "FUT", NULL };
    entry_of(&e, acc);
    assert_int_equal(s6_result_parse(e.kv, e.n, &r, err, sizeof err), 0);
    assert_int_equal(r.kind, S6_RES_ACCEPTED);
}

static void test_result_reason_is_free_text(void **state)
{
    (void)state;
    /* A wordy or odd rejection must still reach the engine. */
    char long_reason[300];
    memset(long_reason, 'x', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    long_reason[3] = '\n';
    s6_order_result r;
    char err[256] = "";
    entry e;
    entry_with(&e, fill_example, "reason", long_reason);
    assert_int_equal(s6_result_parse(e.kv, e.n, &r, err, sizeof err), 0);
    assert_int_equal(strlen(r.reason), sizeof r.reason - 1);
    assert_int_equal(r.reason[3], '?');
}

/* The contract's third example, with or without the machine-readable
 * code, parsed. */
static int parse_rejection(const char *kind, const char *reason,
                           const char *code, s6_order_result *r)
{
    const char *pairs[] = { "result_id", "r-1003", "kind", kind,
                            "intent_id", "p1-sl-2", "symbol", "BTCUSDT",
                            "market", "FUT", "reason", reason,
                            code ? "code" : NULL, code, NULL };
    entry e;
    entry_of(&e, pairs);
    char err[256] = "";
    int rc = s6_result_parse(e.kv, e.n, r, err, sizeof err);
    assert_string_equal(err, "");
    return rc;
}

static void test_result_code(void **state)
{
    (void)state;
    static const struct {
        const char *kind, *reason, *code;
        int want;
    } cases[] = {
        /* The code says it; the words are for people. */
        { "REJECTED", "margin is short", "INSUFFICIENT_BALANCE",
          S6_RCODE_INSUFFICIENT_BALANCE },
        { "CANCELED", "", "REDUCE_ONLY_REJECTED",
          S6_RCODE_REDUCE_ONLY_REJECTED },
        { "REJECTED", "insufficient_balance", "REDUCE_ONLY_REJECTED",
          S6_RCODE_REDUCE_ONLY_REJECTED },
        /* A code from a newer S4: known to be a refusal, nothing more. */
        { "REJECTED", "self trade", "SELF_TRADE_PREVENTED", S6_RCODE_UNKNOWN },
        { "REJECTED", "", "UNKNOWN", S6_RCODE_UNKNOWN },
        /* An older S4 without the code: read from its words. */
        { "REJECTED", "insufficient_balance: margin is short", NULL,
          S6_RCODE_INSUFFICIENT_BALANCE },
        { "CANCELED", "reduce_only_rejected", NULL,
          S6_RCODE_REDUCE_ONLY_REJECTED },
        { "REJECTED", "would_trigger_immediately", NULL, S6_RCODE_NONE },
        { "ACCEPTED", "insufficient_balance", NULL, S6_RCODE_NONE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s6_order_result r;
        assert_int_equal(parse_rejection(cases[i].kind, cases[i].reason,
                                         cases[i].code, &r), 0);
        assert_int_equal(r.code, cases[i].want);
    }
}

static void test_result_code_written(void **state)
{
    (void)state;
    s6_order_result r;
    memset(&r, 0, sizeof r);
    r.kind = S6_RES_REJECTED;
    strcpy(r.result_id, "r-10");
    strcpy(r.symbol, "BTCUSDT");
    strcpy(r.reason, "margin is short");
    r.code = S6_RCODE_INSUFFICIENT_BALANCE;
    roundtrip(&r);
    s6_bus_out o;
    char err[256] = "";
    assert_int_equal(s6_result_format(&r, &o, err, sizeof err), 0);
    size_t found = 0;
    for (size_t i = 0; i < o.n; i++)
        if (strcmp(o.kv[i].k, "code") == 0) {
            assert_string_equal(o.kv[i].v, "INSUFFICIENT_BALANCE");
            found++;
        }
    assert_int_equal(found, 1);
    r.code = S6_RCODE_COUNT;
    assert_int_equal(s6_result_format(&r, &o, err, sizeof err), S6_EINVAL);
}

static void test_result_format_refuses(void **state)
{
    (void)state;
    s6_order_result r;
    memset(&r, 0, sizeof r);
    strcpy(r.result_id, "r-3");
    strcpy(r.symbol, "BTCUSDT");
    s6_bus_out o;
    char err[256] = "";
    r.kind = 9;
    assert_int_equal(s6_result_format(&r, &o, err, sizeof err), S6_EINVAL);
    r.kind = S6_RES_FILL; /* a fill without qty and price */
    assert_int_equal(s6_result_format(&r, &o, err, sizeof err), S6_EINVAL);
    assert_non_null(strstr(err, "field 'side'"));
    r.fill = (s6_fill){ .kind = S6_FILL_ENTRY, .side = 1, .qty = NAN,
                        .price = 1 };
    assert_int_equal(s6_result_format(&r, &o, err, sizeof err), S6_EINVAL);
}

static const char *const regime_names[] = { "normal", "trend", "chop" };
static const s6_md_regimes regimes = { regime_names, 3 };

static void test_md_update(void **state)
{
    (void)state;
    const char *pairs[] = { "symbol", "BTCUSDT", "market", "FUT", "mark",
                            "64250.5", "mid", "64250.4", "atr", "310.25",
                            "regime", "trend", "health", "0.9", "ts",
                            "1764110000.5", NULL };
    entry e;
    entry_of(&e, pairs);
    s6_md_update m;
    char err[256] = "";
    assert_int_equal(s6_md_update_parse(e.kv, e.n, &regimes, NULL, &m, err,
                                        sizeof err), 0);
    assert_string_equal(m.symbol, "BTCUSDT");
    assert_int_equal(m.market, S6_MARKET_FUT);
    assert_true(m.u.mark == 64250.5 && m.u.mid == 64250.4);
    assert_true(m.u.last == 0);
    assert_true(m.u.atr == 310.25 && m.u.health == 0.9);
    assert_int_equal(m.u.regime, 1);
    assert_true(m.u.ts == 1764110000.5);

    s6_bus_out o;
    assert_int_equal(s6_md_update_format(&m, &regimes, &o, err, sizeof err), 0);
    s6_md_update back;
    assert_int_equal(s6_md_update_parse(o.kv, o.n, &regimes, NULL, &back,
                                        err, sizeof err), 0);
    assert_memory_equal(&back, &m, sizeof m);

    /* Only the required fields: regime unchanged, health unchanged. */
    const char *minimal[] = { "symbol", "ETHUSDT", "market", "SPOT", "mark",
                              "3000", "ts", "5", NULL };
    entry_of(&e, minimal);
    assert_int_equal(s6_md_update_parse(e.kv, e.n, &regimes, NULL, &m, err,
                                        sizeof err), 0);
    assert_int_equal(m.u.regime, -1);
    assert_true(isnan(m.u.health));
    assert_int_equal(m.market, S6_MARKET_SPOT);
    assert_int_equal(s6_md_update_format(&m, &regimes, &o, err, sizeof err), 0);
    assert_int_equal(o.n, 4);
}

static const struct {
    const char *field, *value, *expect;
} bad_md[] = {
    { "mark", "0", "field 'mark': must be greater than 0" },
    { "mark", "-5", "field 'mark': negative" },
    { "mark", "nan", "field 'mark': NaN" },
    { "mark", NULL, "field 'mark': missing" },
    { "ts", NULL, "field 'ts': missing" },
    { "symbol", NULL, "field 'symbol': missing" },
    { "market", "spot", "field 'market': unknown value" },
    { "regime", "panic", "field 'regime': unknown value, expected normal trend chop" },
    { "health", "1.5", "field 'health': outside" },
    { "atr", "-1", "field 'atr': negative" },
    { "last", "0", "field 'last': must be greater than 0" },
    { "mid", "x", "field 'mid': not a decimal" },
};

static void test_md_update_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_md / sizeof bad_md[0]; i++) {
        static const char *const base[] = { "symbol", "BTCUSDT", "market",
                                            "FUT", "mark", "1", "ts", "2",
                                            "regime", "normal", NULL };
        entry e;
        entry_with(&e, base, bad_md[i].field, bad_md[i].value);
        s6_md_update m;
        memset(&m, 0x33, sizeof m);
        s6_md_update before = m;
        char err[256] = "";
        int rc = s6_md_update_parse(e.kv, e.n, &regimes, "md:last:FUT:BTCUSDT",
                                    &m, err, sizeof err);
        if (rc != S6_EINVAL || !strstr(err, bad_md[i].expect))
            fail_msg("%s: rc %d err '%s', want '%s'", bad_md[i].field, rc,
                     err, bad_md[i].expect);
        assert_non_null(strstr(err, "md:last:FUT:BTCUSDT"));
        assert_memory_equal(&m, &before, sizeof m);
    }
}

static void test_md_signal(void **state)
{
    (void)state;
    const char *pairs[] = { "symbol", "SOLUSDT", "market", "FUT", "side",
                            "SELL", "strength", "0.75", "ts", "100.5", NULL };
    entry e;
    entry_of(&e, pairs);
    s6_md_signal s;
    char err[256] = "";
    assert_int_equal(s6_md_signal_parse(e.kv, e.n, &s, err, sizeof err), 0);
    assert_string_equal(s.symbol, "SOLUSDT");
    assert_int_equal(s.side, -1);
    assert_true(s.strength == 0.75 && s.ts == 100.5);
    s6_bus_out o;
    assert_int_equal(s6_md_signal_format(&s, &o, err, sizeof err), 0);
    s6_md_signal back;
    assert_int_equal(s6_md_signal_parse(o.kv, o.n, &back, err, sizeof err), 0);
    assert_memory_equal(&back, &s, sizeof s);

    const char *bad[] = { "symbol", "SOLUSDT", "market", "FUT", "side",
                          "SELL", "strength", "1.01", "ts", "100.5", NULL };
    entry_of(&e, bad);
    assert_int_equal(s6_md_signal_parse(e.kv, e.n, &s, err, sizeof err),
                     S6_EINVAL);
    assert_non_null(strstr(err, "strategy:signals: field 'strength': outside"));
    const char *noside[] = { "symbol", "SOLUSDT", "market", "FUT",
                             "strength", "1", "ts", "100.5", NULL };
    entry_of(&e, noside);
    assert_int_equal(s6_md_signal_parse(e.kv, e.n, &s, err, sizeof err),
                     S6_EINVAL);
    assert_non_null(strstr(err, "field 'side': missing"));
    s.side = 0;
    assert_int_equal(s6_md_signal_format(&s, &o, err, sizeof err),
                     S6_EINVAL);
}

static void test_md_last_key(void **state)
{
    (void)state;
    char key[64];
    assert_int_equal(s6_md_last_key(S6_MARKET_FUT, "BTCUSDT", key, sizeof key), 0);
    assert_string_equal(key, "md:last:FUT:BTCUSDT");
    assert_int_equal(s6_md_last_key(S6_MARKET_SPOT, "ETHUSDT", key, sizeof key), 0);
    assert_string_equal(key, "md:last:SPOT:ETHUSDT");
    assert_int_equal(s6_md_last_key(S6_MARKET_SPOT, "ETHUSDT", key, 10),
                     S6_ERANGE);
    assert_int_equal(s6_md_last_key(7, "ETHUSDT", key, sizeof key),
                     S6_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_example),
        cmocka_unit_test(test_result_roundtrip),
        cmocka_unit_test(test_result_funding),
        cmocka_unit_test(test_result_bad_fields),
        cmocka_unit_test(test_result_duplicate_and_unknown),
        cmocka_unit_test(test_result_reason_is_free_text),
        cmocka_unit_test(test_result_format_refuses),
        cmocka_unit_test(test_result_code),
        cmocka_unit_test(test_result_code_written),
        cmocka_unit_test(test_md_update),
        cmocka_unit_test(test_md_update_bad),
        cmocka_unit_test(test_md_signal),
        cmocka_unit_test(test_md_last_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
