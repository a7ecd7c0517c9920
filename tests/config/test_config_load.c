/*
 * test_config_load: the shipped config loads; omitted keys take the
 * table's defaults; each kind of bad input is refused with the key path
 * and the reason and leaves the output alone; environment overrides.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

/* A good FUT symbol, two brackets, spliced into the cases below. */
#define BR0 "{\"notional_floor\":0,\"notional_cap\":50000,\"mmr\":0.004,\"cum\":0}"
#define BR1 "{\"notional_floor\":50000,\"notional_cap\":500000,\"mmr\":0.005,\"cum\":50}"
#define FUT_BODY "\"tick\":0.1,\"step\":0.001,\"min_qty\":0.001"
#define FUT(extra) "{" FUT_BODY ",\"brackets\":[" BR0 "," BR1 "]" extra "}"
#define SYMS(body) "{\"symbols\":" body "}"

static const char *source_path(const char *rel, char *buf, size_t n)
{
    const char *root = getenv("S6_SOURCE_DIR");
    snprintf(buf, n, "%s/%s", root ? root : ".", rel);
    return buf;
}

static void load_ok(const char *text, s6_config *c)
{
    s6_config_error e;
    int rc = s6_config_load_text(text, "t.json", c, &e);
    if (rc != 0)
        fail_msg("refused: %s", e.message);
}

static void clear_env(void);

/* ---- the shipped file ---- */

static void shipped_config_loads_and_is_the_defaults(void **state)
{
    (void)state;
    char path[4096];
    s6_config c;
    s6_config_error e;
    int rc = s6_config_load_file(source_path("config/s6.json", path,
                                             sizeof path), &c, &e);
    if (rc != 0)
        fail_msg("%s", e.message);
    /* Every global key's shipped value is the table's default, so the
     * file a newcomer reads is what an omitted key means. */
    for (size_t i = 0; i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        if (k->def == NULL || strncmp(k->path, "symbols.", 8) == 0 ||
            strcmp(k->path, "rules.params") == 0)
            continue;
        json_t *def = json_loads(k->def, JSON_DECODE_ANY, NULL);
        json_t *v = c.doc;
        char seg[256], *save = NULL;
        snprintf(seg, sizeof seg, "%s", k->path);
        for (char *s = strtok_r(seg, ".", &save); s && v;
             s = strtok_r(NULL, ".", &save))
            v = json_object_get(v, s);
        if (v == NULL || !json_equal(v, def))
            fail_msg("%s: shipped value differs from the default %s",
                     k->path, k->def);
        json_decref(def);
    }
    const s6_symbol_cfg *btc = s6_config_symbol(&c, S6_MARKET_FUT, "BTCUSDT");
    assert_non_null(btc);
    assert_true(btc->brackets.n >= 2);
    assert_non_null(s6_config_symbol(&c, S6_MARKET_SPOT, "BTCUSDT"));
    assert_null(s6_config_symbol(&c, S6_MARKET_SPOT, "ETHUSDT"));
    /* every shipped rule has its parameters in the config */
    static const char *rules[] = { "trailing_stop", "atr_stop", "tp_ladder",
                                   "add_on", "stagnation" };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        assert_non_null(s6_config_rule_params(&c, rules[i]));
    s6_config_free(&c);
}

/* ---- the key table ---- */

/* Two keys writing one field would make one of them a silent no-op. */
static void every_key_has_its_own_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < s6_config_nkeys; i++) {
        const s6_cfg_key *a = &s6_config_keys[i];
        bool sym_a = strncmp(a->path, "symbols.*.", 10) == 0;
        assert_true(a->off < (sym_a ? sizeof(s6_symbol_cfg)
                                    : sizeof(s6_config)));
        assert_true(a->min <= a->max);
        for (size_t j = i + 1; j < s6_config_nkeys; j++) {
            const s6_cfg_key *b = &s6_config_keys[j];
            bool sym_b = strncmp(b->path, "symbols.*.", 10) == 0;
            if (strcmp(a->path, b->path) == 0 ||
                (sym_a == sym_b && a->off == b->off))
                fail_msg("%s and %s share a path or a field", a->path,
                         b->path);
        }
    }
    for (size_t i = 0; i < s6_config_nenvs; i++) {
        size_t j = 0;
        while (j < s6_config_nkeys &&
               strcmp(s6_config_keys[j].path, s6_config_envs[i].path))
            j++;
        if (j == s6_config_nkeys)
            fail_msg("%s overrides %s, no key", s6_config_envs[i].var,
                     s6_config_envs[i].path);
    }
}

/* ---- defaults ---- */

static void omitted_keys_take_their_defaults(void **state)
{
    (void)state;
    s6_config c;
    load_ok("{}", &c);
    for (size_t i = 0; i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        assert_non_null(k->path);
        assert_non_null(k->doc);
        if (strncmp(k->path, "symbols.", 8) == 0)
            continue;
        assert_non_null(k->def); /* every global key has one */
    }
    assert_string_equal(c.http.host, "0.0.0.0");
    assert_int_equal(c.http.port, 8086);
    assert_int_equal(c.http.max_body_bytes, 1048576);
    assert_string_equal(c.redis.url, "redis://127.0.0.1:6379/0");
    assert_int_equal(c.s4.mode, S6_S4_PAPER);
    assert_int_equal(c.ticks.manage_interval_s, 10);
    assert_int_equal(c.ticks.treasury_interval_s, 300);
    assert_true(c.market_data.jump_hold_frac == 0.05);
    assert_int_equal(c.rules.deadline_ms, 50);
    assert_int_equal(c.rules.mem_limit_mb, 64);
    assert_int_equal(c.rules.regimes.n, 4);
    assert_string_equal(c.rules.regimes.v[0], "normal");
    assert_int_equal(c.rules.params.n, 0);
    assert_int_equal(c.history.backend, S6_HISTORY_SQLITE);
    assert_true(c.treasury.enabled);
    assert_false(c.treasury.full_auto);
    assert_false(c.treasury.profit_taking.enabled);
    assert_int_equal(c.treasury.margin_call.min_interval_s, 60);
    assert_string_equal(c.auth.token, "");
    assert_int_equal(c.log.level, S6_LOG_INFO);
    assert_int_equal(c.n_symbols, 0);
    s6_config_free(&c);
}

static void symbol_defaults_and_suffixes(void **state)
{
    (void)state;
    s6_config c;
    load_ok(SYMS("{\"BTCUSDT\":" FUT("") ",\"BTCUSDT:SPOT\":{\"tick\":0.01,"
                 "\"step\":0.00001,\"min_qty\":0.00001,"
                 "\"target_exposure\":-2500}}"), &c);
    assert_int_equal(c.n_symbols, 2);
    const s6_symbol_cfg *f = s6_config_symbol(&c, S6_MARKET_FUT, "BTCUSDT");
    const s6_symbol_cfg *s = s6_config_symbol(&c, S6_MARKET_SPOT, "BTCUSDT");
    assert_non_null(f);
    assert_non_null(s);
    assert_true(f->taker_fee == 0.0005 && f->maker_fee == 0.0002);
    assert_true(f->leverage == 1 && f->min_notional == 0);
    assert_false(f->target_exposure.set);
    assert_int_equal(f->brackets.n, 2);
    assert_true(f->brackets.v[1].cum == 50);
    assert_true(s->target_exposure.set && s->target_exposure.v == -2500);
    assert_int_equal(s->brackets.n, 0);
    s6_config_free(&c);
}

/* The symbols are kept decoded, not as JSON: the document holds none,
 * equal bracket tables are one copy, and what is shown and what the
 * environment's rebuild reads are written back from the decoded form. */
static void symbols_kept_compact_and_shown_as_loaded(void **state)
{
    (void)state;
    clear_env();
    s6_config c;
    load_ok(SYMS("{\"BTCUSDT\":" FUT(",\"leverage\":10") ",\"ETHUSDT\":"
                 FUT("") ",\"SOLUSDT\":{" FUT_BODY ",\"brackets\":[" BR0
                 "]},\"BTCUSDT:SPOT\":{\"tick\":0.01,\"step\":0.00001,"
                 "\"min_qty\":0.00001,\"target_exposure\":-2500.5}}"), &c);
    assert_null(json_object_get(c.doc, "symbols"));
    const s6_symbol_cfg *btc = s6_config_symbol(&c, S6_MARKET_FUT, "BTCUSDT");
    const s6_symbol_cfg *eth = s6_config_symbol(&c, S6_MARKET_FUT, "ETHUSDT");
    const s6_symbol_cfg *sol = s6_config_symbol(&c, S6_MARKET_FUT, "SOLUSDT");
    assert_ptr_equal(eth->brackets.v, btc->brackets.v);
    assert_true(eth->brackets.borrowed && !btc->brackets.borrowed);
    assert_ptr_not_equal(sol->brackets.v, btc->brackets.v);
    assert_int_equal(sol->brackets.n, 1);

    json_t *pub = s6_config_public_json(&c);
    json_t *syms = json_object_get(pub, "symbols");
    assert_int_equal(json_object_size(syms), 4);
    json_t *b = json_object_get(syms, "BTCUSDT");
    assert_int_equal(json_integer_value(json_object_get(b, "leverage")), 10);
    assert_string_equal(json_string_value(json_object_get(b, "market")), "FUT");
    assert_true(json_real_value(json_object_get(b, "tick")) == 0.1);
    json_t *br = json_array_get(json_object_get(b, "brackets"), 1);
    assert_true(json_number_value(json_object_get(br, "mmr")) == 0.005);
    assert_int_equal(json_integer_value(json_object_get(br, "cum")), 50);
    json_t *s = json_object_get(syms, "BTCUSDT:SPOT");
    assert_string_equal(json_string_value(json_object_get(s, "market")),
                        "SPOT");
    assert_true(json_real_value(json_object_get(s, "target_exposure")) ==
                -2500.5);
    assert_true(json_is_null(json_object_get(b, "target_exposure")));
    json_decref(pub);

    /* the environment's rebuild keeps every symbol as it was */
    setenv("PORT", "9191", 1);
    s6_config_error e;
    if (s6_config_apply_env(&c, &e) != 0)
        fail_msg("%s", e.message);
    unsetenv("PORT");
    assert_int_equal(c.http.port, 9191);
    assert_int_equal(c.n_symbols, 4);
    const s6_symbol_cfg *spot = s6_config_symbol(&c, S6_MARKET_SPOT, "BTCUSDT");
    assert_non_null(spot);
    assert_true(spot->target_exposure.set &&
                spot->target_exposure.v == -2500.5 && spot->tick == 0.01);
    btc = s6_config_symbol(&c, S6_MARKET_FUT, "BTCUSDT");
    assert_true(btc->leverage == 10 && btc->brackets.n == 2 &&
                btc->brackets.v[1].cum == 50);
    s6_config_free(&c);
}

static void params_become_rule_host_json(void **state)
{
    (void)state;
    s6_config c;
    load_ok("{\"rules\":{\"params\":{\"atr_stop\":{\"base\":{\"k\":2.5},"
            "\"regimes\":{\"volatile\":{\"k\":3}}}}}}", &c);
    assert_string_equal(s6_config_rule_params(&c, "atr_stop"),
                        "{\"base\":{\"k\":2.5},\"regimes\":{\"volatile\":"
                        "{\"k\":3}}}");
    assert_null(s6_config_rule_params(&c, "tp_ladder"));
    /* a misspelt rule name is caught against the loaded rules */
    static const char *const loaded[] = { "tp_ladder", "atr_stop" };
    s6_config_error e;
    assert_int_equal(s6_config_check_rule_names(&c, loaded, 2, &e), 0);
    assert_int_equal(s6_config_check_rule_names(&c, loaded, 1, &e), -EINVAL);
    assert_string_equal(e.path, "rules.params.atr_stop");
    assert_non_null(strstr(e.reason, "no rule of that name"));
    s6_config_free(&c);
}

/* ---- bad input ---- */

typedef struct bad_case {
    const char *text;
    const char *path;   /* expected key path */
    const char *reason; /* expected in the reason */
    int line;           /* > 0: a syntax error at this line */
} bad_case;

static const bad_case BAD[] = {
    /* JSON syntax: the line and column */
    { "{\n  \"http\": {\n    \"port\": 80,,\n  }\n}", "", "", 3 },
    { "{\"http\": {\"port\": 99999999999999999999}}", "", "too big", 1 },
    { "{\"risk\": {\"budget\": 1e400}}", "", "overflow", 1 },
    { SYMS("{\"BTCUSDT\":" FUT("") ",\n \"BTCUSDT\":" FUT("") "}"), "",
      "duplicate", 2 },
    { "[1, 2]", "", "top level must be a JSON object", 0 },
    /* wrong type */
    { "{\"http\":{\"port\":\"8086\"}}", "http.port", "must be an integer", 0 },
    { "{\"http\":{\"port\":8086.5}}", "http.port", "must be an integer", 0 },
    { "{\"treasury\":{\"enabled\":1}}", "treasury.enabled", "true or false", 0 },
    { "{\"http\":5}", "http", "must be an object", 0 },
    { "{\"http\":{\"host\":\"\"}}", "http.host", "length", 0 },
    { "{\"http\":{\"host\":\"0.0.0.0 \"}}", "http.host", "not a host", 0 },
    { "{\"http\":{\"host\":\"a\\u0000b\"}}", "", "\\u0000 is not allowed", 1 },
    { "{\"s4\":{\"mode\":\"live\"}}", "s4.mode", "paper|http", 0 },
    { "{\"log\":{\"level\":\"loud\"}}", "log.level", "one of", 0 },
    /* ranges, huge and negative numbers */
    { "{\"http\":{\"port\":70000}}", "http.port", "between 1 and 65535", 0 },
    { "{\"http\":{\"port\":-1}}", "http.port", "between 1 and 65535", 0 },
    { "{\"ticks\":{\"manage_interval_s\":60}}", "ticks.manage_interval_s",
      "between 5 and 30", 0 },
    { "{\"ticks\":{\"manage_interval_s\":0}}", "ticks.manage_interval_s",
      "between 5 and 30", 0 },
    { "{\"risk\":{\"budget\":-5}}", "risk.budget", "must be > 0", 0 },
    { "{\"risk\":{\"budget\":0}}", "risk.budget", "must be > 0", 0 },
    { "{\"risk\":{\"budget\":1e300}}", "risk.budget", "<= 1e+15", 0 },
    { "{\"market_data\":{\"max_age_s\":0}}", "market_data.max_age_s",
      "must be > 0", 0 },
    { "{\"market_data\":{\"jump_hold_frac\":1.5}}",
      "market_data.jump_hold_frac", "<= 1", 0 },
    /* unknown keys: a typo never falls back to a default */
    { "{\"htp\":{}}", "htp", "unknown key", 0 },
    { "{\"http\":{\"prot\":8087}}", "http.prot", "unknown key", 0 },
    { "{\"http.port\":8087}", "http.port", "unknown key", 0 },
    { SYMS("{\"BTCUSDT\":" FUT(",\"tik\":0.1") "}"), "symbols.BTCUSDT.tik",
      "unknown key", 0 },
    { "{\"treasury\":{\"triggers\":{\"margin_cal\":{}}}}",
      "treasury.triggers.margin_cal", "unknown key", 0 },
    /* URLs */
    { "{\"services\":{\"s4_url\":\"htp://x:1\"}}", "services.s4_url",
      "scheme not allowed", 0 },
    { "{\"services\":{\"s4_url\":\"http://\"}}", "services.s4_url",
      "missing host", 0 },
    { "{\"services\":{\"s1_url\":\"http://host:99999\"}}", "services.s1_url",
      "port must be", 0 },
    { "{\"services\":{\"s12_url\":\"http:/host\"}}", "services.s12_url",
      "://", 0 },
    { "{\"services\":{\"s12_url\":\"http://ho st\"}}", "services.s12_url",
      "spaces", 0 },
    { "{\"redis\":{\"url\":\"http://127.0.0.1:6379\"}}", "redis.url",
      "scheme not allowed", 0 },
    /* symbols and their brackets */
    { SYMS("{\"btcusdt\":" FUT("") "}"), "symbols.btcusdt", "A-Z", 0 },
    { SYMS("{\"BTCUSDT:PERP\":" FUT("") "}"), "symbols.BTCUSDT:PERP",
      ":SPOT", 0 },
    { SYMS("{\"BTCUSDT\":" FUT("") ",\"BTCUSDT:FUT\":" FUT("") "}"),
      "symbols.BTCUSDT:FUT", "duplicate symbol", 0 },
    { SYMS("{\"BTCUSDT:SPOT\":" FUT(",\"market\":\"FUT\"") "}"),
      "symbols.BTCUSDT:SPOT.market", "disagrees", 0 },
    { SYMS("{\"BTCUSDT\":{\"step\":0.001,\"min_qty\":0.001}}"),
      "symbols.BTCUSDT.tick", "required", 0 },
    { SYMS("{\"BTCUSDT\":{\"tick\":0.1,\"step\":-0.001,\"min_qty\":0.001}}"),
      "symbols.BTCUSDT.step", "must be > 0", 0 },
    { SYMS("{\"BTCUSDT\":{\"tick\":0,\"step\":0.001,\"min_qty\":0.001}}"),
      "symbols.BTCUSDT.tick", "must be > 0", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY "}}"), "symbols.BTCUSDT.brackets",
      "required for a FUT symbol", 0 },
    { SYMS("{\"ETHUSDT\":{\"market\":\"SPOT\"," FUT_BODY ",\"brackets\":["
           BR0 "]}}"), "symbols.ETHUSDT.brackets", "only FUT", 0 },
    { SYMS("{\"ETHUSDT\":{\"market\":\"SPOT\"," FUT_BODY
           ",\"leverage\":3}}"), "symbols.ETHUSDT.leverage", "must be 1", 0 },
    { SYMS("{\"BTCUSDT\":" FUT(",\"leverage\":50") "}"),
      "symbols.BTCUSDT.leverage", "risk.max_leverage", 0 },
    { SYMS("{\"BTCUSDT\":{\"tick\":0.1,\"step\":0.001,\"min_qty\":0.0015,"
           "\"brackets\":[" BR0 "]}}"), "symbols.BTCUSDT.min_qty",
      "multiple of step", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY ",\"brackets\":[" BR1 "," BR0 "]}}"),
      "symbols.BTCUSDT.brackets[0]", "starts at 0", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY ",\"brackets\":[" BR0 ",{\"notional_floor"
           "\":60000,\"notional_cap\":500000,\"mmr\":0.005,\"cum\":50}]}}"),
      "symbols.BTCUSDT.brackets[1]", "contiguous", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY ",\"brackets\":[" BR0 ",{\"notional_floor"
           "\":50000,\"notional_cap\":500000,\"mmr\":0.005,\"cum\":40}]}}"),
      "symbols.BTCUSDT.brackets[1]", "cum must be 50", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY ",\"brackets\":[" BR0 ",{\"notional_floor"
           "\":50000,\"notional_cap\":500000,\"mmr\":0.003,\"cum\":0}]}}"),
      "symbols.BTCUSDT.brackets[1]", "must not fall", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY ",\"brackets\":[{\"notional_floor\":0,"
           "\"notional_cap\":0,\"mmr\":0.004,\"cum\":0}]}}"),
      "symbols.BTCUSDT.brackets[0]", "notional_cap must be >", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY ",\"brackets\":[{\"notional_floor\":0,"
           "\"notional_cap\":10,\"mmr\":0.004}]}}"),
      "symbols.BTCUSDT.brackets[0].cum", "required", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY ",\"brackets\":[{\"notional_floor\":0,"
           "\"notional_cap\":10,\"mmr\":0.004,\"cum\":0,\"mmrr\":1}]}}"),
      "symbols.BTCUSDT.brackets[0].mmrr", "unknown key", 0 },
    { SYMS("{\"BTCUSDT\":{" FUT_BODY ",\"brackets\":{}}}"),
      "symbols.BTCUSDT.brackets", "array", 0 },
    /* rule parameters and regimes */
    { "{\"rules\":{\"params\":{\"atr_stop\":{\"bsae\":{}}}}}",
      "rules.params.atr_stop.bsae", "unknown key", 0 },
    { "{\"rules\":{\"params\":{\"atr_stop\":{\"base\":3}}}}",
      "rules.params.atr_stop.base", "must be an object", 0 },
    { "{\"rules\":{\"params\":{\"atr_stop\":{\"regimes\":{\"crazy\":{}}}}}}",
      "rules.params.atr_stop.regimes.crazy", "not a regime", 0 },
    { "{\"rules\":{\"params\":{\"ATR\":{}}}}", "rules.params.ATR",
      "rule names", 0 },
    { "{\"rules\":{\"regimes\":[\"normal\",\"normal\"]}}", "rules.regimes[1]",
      "duplicate", 0 },
    { "{\"rules\":{\"regimes\":[]}}", "rules.regimes", "1 to 32", 0 },
    /* rules across keys */
    { "{\"orders\":{\"rate_per_symbol_per_s\":50,\"rate_total_per_s\":10}}",
      "orders.rate_total_per_s", ">= orders.rate_per_symbol_per_s", 0 },
    { "{\"orders\":{\"retry_initial_ms\":5000,\"retry_max_ms\":100}}",
      "orders.retry_max_ms", ">= orders.retry_initial_ms", 0 },
    { "{\"treasury\":{\"max_per_transfer\":9000,\"max_per_day\":100}}",
      "treasury.max_per_day", ">= treasury.max_per_transfer", 0 },
    { "{\"treasury\":{\"profit_ceiling\":100}}", "treasury.profit_ceiling",
      "> treasury.min_free_fut", 0 },
    { "{\"auth\":{\"token\":\"short\"}}", "auth.token", "at least 16", 0 },
    { "{\"auth\":{\"token\":\"0123456789abcdef\",\"token_env\":\"X\"}}",
      "auth.token_env", "not both", 0 },
    { "{\"auth\":{\"token_env\":\"S6_TEST_UNSET_TOKEN\"}}", "auth.token_env",
      "is not set", 0 },
    { "{\"auth\":{\"token_env\":\"bad-name\"}}", "auth.token_env",
      "environment variable name", 0 },
};

static void bad_input_names_key_and_reason(void **state)
{
    (void)state;
    unsetenv("S6_TEST_UNSET_TOKEN");
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_case *b = &BAD[i];
        s6_config out, before;
        memset(&out, 0x5a, sizeof out);
        before = out;
        s6_config_error e;
        int rc = s6_config_load_text(b->text, "t.json", &out, &e);
        if (rc != -EINVAL)
            fail_msg("case %zu (%s): rc %d, expected a refusal", i, b->path,
                     rc);
        if (strcmp(e.path, b->path) != 0 || !strstr(e.reason, b->reason))
            fail_msg("case %zu: got \"%s\": \"%s\"; expected \"%s\": \"%s\"",
                     i, e.path, e.reason, b->path, b->reason);
        if (memcmp(&out, &before, sizeof out) != 0)
            fail_msg("case %zu: the output was changed", i);
        char want[64];
        if (b->line > 0) {
            assert_int_equal(e.line, b->line);
            assert_true(e.column > 0);
            snprintf(want, sizeof want, "t.json:%d:%d: ", e.line, e.column);
        } else {
            snprintf(want, sizeof want, "t.json: %s", b->path);
        }
        if (strncmp(e.message, want, strlen(want)) != 0)
            fail_msg("case %zu: message \"%s\" does not start \"%s\"", i,
                     e.message, want);
    }
}

static void syntax_error_column_and_missing_file(void **state)
{
    (void)state;
    s6_config c;
    s6_config_error e;
    assert_int_equal(s6_config_load_text("{\"http\": {\"port\": 80 x}}", "a",
                                         &c, &e), -EINVAL);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, 22);
    assert_int_equal(s6_config_load_file("/nonexistent/s6.json", &c, &e),
                     -EINVAL);
    assert_non_null(strstr(e.message, "/nonexistent/s6.json"));
    assert_int_equal(e.line, 0);
}

/* ---- environment ---- */

static void clear_env(void)
{
    for (size_t i = 0; i < s6_config_nenvs; i++)
        unsetenv(s6_config_envs[i].var);
}

static void env_overrides_deploy_basics(void **state)
{
    (void)state;
    clear_env();
    s6_config c;
    setenv("S6_TEST_TOKEN", "file-token-0123456789", 1);
    load_ok("{\"auth\":{\"token_env\":\"S6_TEST_TOKEN\"}}", &c);
    assert_string_equal(c.auth.token, "file-token-0123456789");
    setenv("PORT", "9090", 1);
    setenv("S6_REDIS_URL", "redis://cache:6380/2", 1);
    setenv("S6_S4_URL", "https://s4.internal:8443/api", 1);
    setenv("S6_LOG_LEVEL", "debug", 1);
    setenv("S6_AUTH_TOKEN", "env-token-abcdefghijkl", 1);
    setenv("S6_HISTORY_PATH", "/var/lib/s6/h.sqlite", 1);
    setenv("S6_S1_URL", "", 1); /* empty counts as unset */
    s6_config_error e;
    if (s6_config_apply_env(&c, &e) != 0)
        fail_msg("%s", e.message);
    assert_int_equal(c.http.port, 9090);
    assert_string_equal(c.redis.url, "redis://cache:6380/2");
    assert_string_equal(c.services.s4_url, "https://s4.internal:8443/api");
    assert_string_equal(c.services.s1_url, "http://127.0.0.1:8081");
    assert_int_equal(c.log.level, S6_LOG_DEBUG);
    assert_string_equal(c.auth.token, "env-token-abcdefghijkl");
    assert_string_equal(c.auth.token_env, "");
    assert_string_equal(c.history.path, "/var/lib/s6/h.sqlite");
    /* the token never shows in what /health may print */
    json_t *pub = s6_config_public_json(&c);
    char *text = json_dumps(pub, 0);
    assert_null(strstr(text, "env-token"));
    assert_non_null(strstr(text, "\"***\""));
    free(text);
    json_decref(pub);
    s6_config_free(&c);
    clear_env();
    unsetenv("S6_TEST_TOKEN");
}

typedef struct env_case {
    const char *var, *value, *path, *reason;
} env_case;

static const env_case BAD_ENV[] = {
    { "PORT", "abc", "http.port", "from environment PORT: not a valid integer" },
    { "PORT", "70000", "http.port", "between 1 and 65535" },
    { "PORT", "-1", "http.port", "not a valid integer" },
    { "PORT", "99999999999999999999", "http.port", "not a valid integer" },
    { "S6_S4_URL", "ftp://s4", "services.s4_url", "scheme not allowed" },
    { "S6_REDIS_URL", "redis://", "redis.url", "missing host" },
    { "S6_LOG_LEVEL", "loud", "log.level", "from environment S6_LOG_LEVEL" },
    { "S6_S4_MODE", "live", "s4.mode", "paper|http" },
    { "S6_AUTH_TOKEN", "short", "auth.token", "at least 16" },
    { "S6_HISTORY_BACKEND", "mysql", "history.backend", "sqlite|arangodb" },
};

static void bad_env_values_change_nothing(void **state)
{
    (void)state;
    clear_env();
    for (size_t i = 0; i < sizeof BAD_ENV / sizeof BAD_ENV[0]; i++) {
        const env_case *b = &BAD_ENV[i];
        s6_config c;
        load_ok("{}", &c);
        json_t *doc = c.doc;
        setenv(b->var, b->value, 1);
        s6_config_error e;
        int rc = s6_config_apply_env(&c, &e);
        unsetenv(b->var);
        if (rc != -EINVAL || strcmp(e.path, b->path) != 0 ||
            !strstr(e.reason, b->reason))
            fail_msg("%s=%s: rc %d, \"%s\": \"%s\"", b->var, b->value, rc,
                     e.path, e.reason);
        assert_ptr_equal(c.doc, doc); /* the same config, untouched */
        assert_int_equal(c.http.port, 8086);
        assert_int_equal(c.log.level, S6_LOG_INFO);
        s6_config_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key_has_its_own_field),
        cmocka_unit_test(shipped_config_loads_and_is_the_defaults),
        cmocka_unit_test(omitted_keys_take_their_defaults),
        cmocka_unit_test(symbol_defaults_and_suffixes),
        cmocka_unit_test(symbols_kept_compact_and_shown_as_loaded),
        cmocka_unit_test(params_become_rule_host_json),
        cmocka_unit_test(bad_input_names_key_and_reason),
        cmocka_unit_test(syntax_error_column_and_missing_file),
        cmocka_unit_test(env_overrides_deploy_basics),
        cmocka_unit_test(bad_env_values_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
