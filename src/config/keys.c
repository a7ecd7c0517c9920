/*
 * keys.c — every configuration key, once: path, type, range, default,
 * unit and meaning.  The loader, the environment overrides, the docs test
 * and docs/configuration.md all read this table; add a key here and in the
 * s6_config struct, nowhere else.
 */
#include <stddef.h>

#include "config/config.h"

/* GK(U32, http.port): the type tag and the field's offset, and a compile
 * error unless the field has the C type the tag stores (CT_U32 below). */
#define OFF(S, f, T) (offsetof(S, f) + 0 * sizeof(_Generic(((S *)0)->f, T: 1)))
#define GK(t, f) S6_CT_##t, OFF(s6_config, f, CT_##t)
#define SK(t, f) S6_CT_##t, OFF(s6_symbol_cfg, f, CT_##t)
#define CT_BOOL bool
#define CT_U32 uint32_t
#define CT_NUM double
#define CT_OPTNUM s6_opt_num
#define CT_STR char *
#define CT_HOST char *
#define CT_URL char *
#define CT_ENVNAME char *
#define CT_ENUM int
#define CT_STRLIST s6_str_list
#define CT_PARAMS s6_rule_params_list
#define CT_BRACKETS s6_bracket_list
#define R S6_CK_RESTART
#define GT S6_CK_GT_MIN
#define BIG 1e15

/* A trigger's three keys; its threshold's meaning differs per trigger. */
#define TRIGGER(name, en, iv, th, thmax, thunit, thdoc)                      \
    { "treasury.triggers." #name ".enabled",                                 \
      GK(BOOL, treasury.name.enabled), en, 0, 0, NULL, 0, "",                \
      "whether this trigger may start a transfer" },                         \
    { "treasury.triggers." #name ".min_interval_s",                          \
      GK(U32, treasury.name.min_interval_s), iv, 0, 86400, NULL, 0, "s",     \
      "least time between two transfers started by this trigger" },          \
    { "treasury.triggers." #name ".threshold",                               \
      GK(NUM, treasury.name.threshold), th, 0, thmax, NULL, 0, thunit, thdoc }

const s6_cfg_key s6_config_keys[] = {
    /* http: the server (read at start) */
    { "http.host", GK(HOST, http.host), "\"0.0.0.0\"", 1, 255, NULL, R, "",
      "address to listen on" },
    { "http.port", GK(U32, http.port), "8086", 1, 65535, NULL, R, "",
      "TCP port to listen on" },
    { "http.max_body_bytes", GK(U32, http.max_body_bytes), "1048576",
      1024, 67108864, NULL, R, "bytes", "larger request bodies get 413" },
    { "http.header_timeout_ms", GK(U32, http.header_timeout_ms), "10000",
      100, 600000, NULL, R, "ms", "connect or first byte to end of headers" },
    { "http.idle_timeout_ms", GK(U32, http.idle_timeout_ms), "60000",
      100, 3600000, NULL, R, "ms", "keep-alive wait and body inactivity" },
    /* peers */
    { "redis.url", GK(URL, redis.url), "\"redis://127.0.0.1:6379/0\"",
      1, 1024, "redis|redis+cluster|unix", R, "",
      "Redis server (state, streams, lease); redis+cluster://h:p,h:p/ "
      "for a Redis Cluster" },
    { "redis.wait_replicas", GK(U32, redis.wait_replicas), "0", 0, 16,
      NULL, R, "count", "an order leaves only once the state naming it is "
      "on this many replicas too (WAIT); 0: the master's reply is enough" },
    { "redis.wait_timeout_ms", GK(U32, redis.wait_timeout_ms), "1000", 1,
      60000, NULL, R, "ms", "one WAIT's limit; short of replicas, the orders "
      "stay held and the next barrier waits again" },
    { "services.s4_url", GK(URL, services.s4_url),
      "\"http://127.0.0.1:8084\"", 1, 1024, "http|https", 0, "",
      "S4, the order router (POST /orders, /cancel)" },
    { "services.s1_url", GK(URL, services.s1_url),
      "\"http://127.0.0.1:8081\"", 1, 1024, "http|https", 0, "",
      "S1, the exchange gateway (treasury transfers)" },
    { "services.s12_url", GK(URL, services.s12_url),
      "\"http://127.0.0.1:8092\"", 1, 1024, "http|https", 0, "",
      "S12, approvals of treasury transfers" },
    { "services.connect_timeout_ms", GK(U32, services.connect_timeout_ms),
      "2000", 1, 60000, NULL, 0, "ms", "outbound HTTP connect timeout" },
    { "services.request_timeout_ms", GK(U32, services.request_timeout_ms),
      "5000", 1, 300000, NULL, 0, "ms", "outbound HTTP whole-request timeout" },
    { "s4.mode", GK(ENUM, s4.mode), "\"paper\"", 0, 0, "paper|http", R, "",
      "paper: fills simulated in-process; http: real orders through S4" },
    /* ticks */
    { "ticks.manage_interval_s", GK(U32, ticks.manage_interval_s), "10",
      5, 30, NULL, 0, "s", "periodic manage tick over every position" },
    { "ticks.reconcile_interval_s", GK(U32, ticks.reconcile_interval_s),
      "60", 5, 3600, NULL, 0, "s", "reconciliation with S4's positions and orders" },
    { "ticks.treasury_interval_s", GK(U32, ticks.treasury_interval_s),
      "300", 10, 86400, NULL, 0, "s", "scheduled treasury run" },
    /* sharding (docs/operations.md, "Sharded instances") */
    { "shard.count", GK(U32, shard.count), "1", 1, 64, NULL, R, "",
      "instances share the symbols in this many shards, by a stable hash" },
    { "shard.index", GK(U32, shard.index), "0", 0, 63, NULL, R, "",
      "the shard this instance serves (0..count-1); S6_SHARD" },
    { "shard.http_url", GK(STR, shard.http_url), "\"\"", 0, 1024, NULL, R,
      "", "the address other shards name for this instance's positions; "
      "\"\": http://<http.host>:<http.port>; S6_HTTP_URL" },
    /* market data hygiene */
    { "market_data.max_age_s", GK(NUM, market_data.max_age_s), "5",
      0, 3600, NULL, GT, "s", "no action on market data older than this" },
    { "market_data.jump_hold_frac", GK(NUM, market_data.jump_hold_frac),
      "0.05", 0, 1, NULL, GT, "fraction",
      "a mark moving more than this against the last is held for confirmation" },
    /* the rule host */
    { "rules.dir", GK(STR, rules.dir), "\"rules\"", 1, 4095, NULL, R, "",
      "folder of the rule scripts (hot-reloaded)" },
    { "rules.deadline_ms", GK(U32, rules.deadline_ms), "50", 1, 10000,
      NULL, R, "ms", "deadline of one evaluation batch ..." },
    { "rules.deadline_us_per_eval", GK(NUM, rules.deadline_us_per_eval),
      "10", 0, 10000, NULL, R, "us", "... plus this per position in the batch" },
    { "rules.mem_limit_mb", GK(U32, rules.mem_limit_mb), "64", 1, 4096,
      NULL, R, "MiB", "memory cap of the rules' Lua state" },
    { "rules.load_deadline_ms", GK(U32, rules.load_deadline_ms), "1000",
      1, 60000, NULL, R, "ms", "compiling and self-checking a rule version" },
    { "rules.rollback_faults", GK(U32, rules.rollback_faults), "5", 1,
      1000, NULL, R, "count",
      "runtime faults of a new rule version before it is rolled back" },
    { "rules.clean_batches", GK(U32, rules.clean_batches), "20", 1, 1000000,
      NULL, R, "count",
      "batches in a row without a fault that prove a rule version: what a "
      "rollback returns to" },
    { "rules.shadow_promote_after_s", GK(NUM, rules.shadow_promote_after_s),
      "0", 0, 2592000, NULL, R, "s",
      "a shadow rule version that ran this long without a fault is promoted; "
      "0: only by POST /rules/promote" },
    { "rules.regimes", GK(STRLIST, rules.regimes),
      "[\"normal\", \"trending\", \"ranging\", \"volatile\"]", 1, 32, NULL, R,
      "", "market regime names; the first is the default" },
    { "rules.params", GK(PARAMS, rules.params), "{}", 0, 0, NULL, 0, "",
      "per-rule overrides: {\"<rule>\": {\"base\": {...}, \"regimes\": "
      "{\"<regime>\": {...}}}}; omitted parameters keep the rule's defaults" },
    /* symbols: one object per symbol name */
    { "symbols.*.market", SK(ENUM, market), "\"FUT\"", 0, 0, "FUT|SPOT",
      0, "", "FUT: USD-M perpetual, isolated, one-way; SPOT: spot" },
    { "symbols.*.tick", SK(NUM, tick), NULL, 0, BIG, NULL, GT, "quote",
      "price tick size" },
    { "symbols.*.step", SK(NUM, step), NULL, 0, BIG, NULL, GT, "base",
      "quantity step size" },
    { "symbols.*.min_qty", SK(NUM, min_qty), NULL, 0, BIG, NULL, GT,
      "base", "smallest order quantity" },
    { "symbols.*.min_notional", SK(NUM, min_notional), "0", 0, BIG, NULL,
      0, "quote", "smallest order notional (0: none)" },
    { "symbols.*.taker_fee", SK(NUM, taker_fee), "0.0005", 0, 0.01, NULL,
      0, "fraction", "taker fee rate (exits, stops, market orders)" },
    { "symbols.*.maker_fee", SK(NUM, maker_fee), "0.0002", -0.01, 0.01,
      NULL, 0, "fraction", "maker fee rate (negative: rebate)" },
    { "symbols.*.leverage", SK(NUM, leverage), "1", 1, 125, NULL, 0, "x",
      "leverage; must be 1 for SPOT and at most risk.max_leverage" },
    { "symbols.*.brackets", SK(BRACKETS, brackets), "[]", 0, 64, NULL, 0,
      "", "maintenance brackets [{notional_floor, notional_cap, mmr, cum}], "
      "FUT only and required there: sorted, contiguous, first floor 0" },
    { "symbols.*.target_exposure", SK(OPTNUM, target_exposure), "null",
      -BIG, BIG, NULL, 0, "quote",
      "hedge: net spot + futures exposure to hold (null: no hedging)" },
    /* risk */
    { "risk.max_position_qty", GK(NUM, risk.max_position_qty), "1000000",
      0, BIG, NULL, GT, "base", "largest position quantity" },
    { "risk.max_position_notional", GK(NUM, risk.max_position_notional),
      "100000", 0, BIG, NULL, GT, "quote", "largest position notional" },
    { "risk.max_leverage", GK(NUM, risk.max_leverage), "20", 1, 125, NULL,
      0, "x", "no symbol may use more" },
    { "risk.enforce_entry_limits", GK(BOOL, risk.enforce_entry_limits),
      "false", 0, 0, NULL, 0, "",
      "an entry above risk.max_position_qty or _notional is reduced to the "
      "limit (false: alert and RISK event only)" },
    { "risk.daily_loss_limit", GK(NUM, risk.daily_loss_limit), "1000", 0,
      BIG, NULL, GT, "quote", "realized loss in a UTC day that stops new risk" },
    { "risk.budget", GK(NUM, risk.budget), "10000", 0, BIG, NULL, GT,
      "quote", "total risk (loss to the stops) across open positions" },
    { "risk.max_concurrent_positions", GK(U32,
      risk.max_concurrent_positions), "20", 1, 100000, NULL, 0, "count",
      "open positions at most" },
    { "risk.add_on_cap", GK(U32, risk.add_on_cap), "2", 0, 20, NULL, 0,
      "count", "adds per position at most (host limit over any rule)" },
    { "risk.add_on_min_interval_s", GK(U32, risk.add_on_min_interval_s),
      "300", 0, 86400, NULL, 0, "s", "least time between two adds" },
    { "risk.first_stop_max_loss_roe", GK(NUM,
      risk.first_stop_max_loss_roe), "0.25", 0, 1, NULL, GT, "fraction",
      "the cap on the first stop: the price of this loss of margin, used "
      "when it is tighter than the ATR stop or no ATR is known "
      "(docs/engine.md)" },
    { "risk.liq_distance_alert_frac", GK(NUM,
      risk.liq_distance_alert_frac), "0.05", 0, 1, NULL, GT, "fraction",
      "alert when the mark is this close to the liquidation price" },
    { "risk.stop_min_move_frac", GK(NUM, risk.stop_min_move_frac),
      "0.0005", 0, 0.1, NULL, 0, "fraction",
      "smallest stop improvement worth a replace, fraction of the mark" },
    { "risk.margin_alert_ratio", GK(NUM, risk.margin_alert_ratio), "0.5", 0,
      1, NULL, GT, "fraction",
      "MARGIN_ALERT when a FUT position's margin ratio (maintenance margin "
      "/ margin balance) reaches this; MARGIN_CALL at "
      "treasury.triggers.margin_call.threshold" },
    { "risk.margin_add_enabled", GK(BOOL, risk.margin_add_enabled), "true",
      0, 0, NULL, 0, "",
      "at MARGIN_CALL, add isolated margin from the futures wallet" },
    { "risk.margin_add_target_ratio", GK(NUM, risk.margin_add_target_ratio),
      "0.4", 0, 1, NULL, GT, "fraction",
      "a margin add brings the margin ratio down to this" },
    { "risk.margin_add_max", GK(NUM, risk.margin_add_max), "1000", 0, BIG,
      NULL, GT, "quote", "largest single margin add" },
    { "risk.margin_add_min_interval_s", GK(U32,
      risk.margin_add_min_interval_s), "60", 0, 86400, NULL, 0, "s",
      "least time between two margin adds to one position" },
    /* reconcile: the venue's books against ours */
    { "reconcile.entry_tolerance_frac", GK(NUM,
      reconcile.entry_tolerance_frac), "0.0001", 0, 0.1, NULL, 0,
      "fraction", "the venue's entry price is adopted when it differs from "
      "ours by more than this fraction" },
    { "reconcile.margin_tolerance", GK(NUM, reconcile.margin_tolerance),
      "0.01", 0, BIG, NULL, 0, "quote",
      "the venue's isolated margin is adopted when it differs from ours by "
      "more than this" },
    /* orders */
    { "orders.rate_per_symbol_per_s", GK(NUM,
      orders.rate_per_symbol_per_s), "5", 0, 1000, NULL, GT, "1/s",
      "outbound orders per symbol" },
    { "orders.rate_total_per_s", GK(NUM, orders.rate_total_per_s), "20",
      0, 10000, NULL, GT, "1/s", "outbound orders overall" },
    { "orders.retry_initial_ms", GK(U32, orders.retry_initial_ms), "200",
      1, 60000, NULL, 0, "ms", "first retry backoff, doubled each attempt" },
    { "orders.retry_max_ms", GK(U32, orders.retry_max_ms), "10000", 1,
      600000, NULL, 0, "ms", "backoff cap" },
    { "orders.retry_max_attempts", GK(U32, orders.retry_max_attempts),
      "5", 0, 100, NULL, 0, "count", "retries before an intent fails" },
    /* history store */
    { "history.backend", GK(ENUM, history.backend), "\"sqlite\"", 0, 0,
      "sqlite|arangodb", R, "", "where snapshots and transfers are kept" },
    { "history.path", GK(STR, history.path), "\"var/s6-history.sqlite\"",
      1, 4095, NULL, R, "", "sqlite: the database file" },
    { "history.arangodb_url", GK(URL, history.arangodb_url),
      "\"http://127.0.0.1:8529\"", 1, 1024, "http|https", R, "",
      "arangodb: server URL" },
    { "history.database", GK(STR, history.database), "\"s6\"", 1, 64,
      NULL, R, "", "arangodb: database name" },
    { "history.user", GK(STR, history.user), "\"s6\"", 1, 64, NULL, R,
      "", "arangodb: user" },
    { "history.password_env", GK(ENVNAME, history.password_env),
      "\"S6_ARANGODB_PASSWORD\"", 0, 128, NULL, R, "",
      "arangodb: environment variable holding the password" },
    /* treasury */
    { "treasury.enabled", GK(BOOL, treasury.enabled), "true", 0, 0, NULL,
      0, "", "run the treasury at all" },
    { "treasury.full_auto", GK(BOOL, treasury.full_auto), "false", 0, 0,
      NULL, 0, "", "true: call S1 directly; false: S12 approves each transfer" },
    { "treasury.min_free_fut", GK(NUM, treasury.min_free_fut), "500", 0,
      BIG, NULL, 0, "quote", "keep the futures free balance above this" },
    { "treasury.spot_buffer", GK(NUM, treasury.spot_buffer), "100", 0,
      BIG, NULL, 0, "quote", "transfer only when free spot >= need + this" },
    { "treasury.max_per_transfer", GK(NUM, treasury.max_per_transfer),
      "1000", 0, BIG, NULL, GT, "quote", "cap of one transfer" },
    { "treasury.max_per_day", GK(NUM, treasury.max_per_day), "5000", 0,
      BIG, NULL, GT, "quote", "cap of all transfers in a UTC day" },
    { "treasury.min_spot_retained", GK(NUM, treasury.min_spot_retained),
      "1000", 0, BIG, NULL, 0, "quote", "spot balance never moved" },
    { "treasury.profit_ceiling", GK(NUM, treasury.profit_ceiling),
      "10000", 0, BIG, NULL, GT, "quote",
      "PROFIT_TAKING sweeps futures free balance above this back to spot" },
    { "treasury.approval_poll_s", GK(U32, treasury.approval_poll_s), "30",
      1, 3600, NULL, 0, "s", "polling S12 when its callback does not come" },
    { "treasury.balances_max_age_s", GK(U32, treasury.balances_max_age_s),
      "60", 1, 86400, NULL, 0, "s",
      "older treasury:balances refuse a transfer (stale)" },
    TRIGGER(scheduled, "true", "300", "0", 0, "", "unused (0)"),
    TRIGGER(margin_call, "true", "60", "0.8", 1, "fraction",
            "margin ratio at which a position counts as a margin call"),
    TRIGGER(risk_limit, "true", "60", "0.9", 1, "fraction",
            "risk-budget usage that asks for more margin"),
    TRIGGER(profit_taking, "false", "3600", "100", BIG, "quote",
            "smallest sweep worth a transfer"),
    TRIGGER(insufficient_balance, "true", "30", "0", 0, "",
            "unused (0): S4's insufficient_balance result starts a run"),
    /* auth, log */
    { "auth.token", GK(STR, auth.token), "\"\"", 0, 4096, NULL,
      S6_CK_SECRET, "", "bearer token of mutating endpoints (16+ characters; "
      "empty: mutating endpoints refuse everyone)" },
    { "auth.token_env", GK(ENVNAME, auth.token_env), "\"\"", 0, 128, NULL,
      0, "", "take the token from this environment variable instead" },
    { "log.level", GK(ENUM, log.level), "\"info\"", 0, 0,
      "debug|info|warn|error", 0, "", "least level written" },
    /* the paper router (s4.mode = paper) and the price replay feeding it */
    { "paper.slippage_bps", GK(NUM, paper.slippage_bps), "2", 0, 1000,
      NULL, 0, "bp", "market and triggered stop fills move this far against "
      "the order from the mark" },
    { "paper.latency_ms", GK(U32, paper.latency_ms), "50", 0, 60000, NULL,
      0, "ms", "from an order to its answer and its (first) fill" },
    { "paper.partial_fills", GK(U32, paper.partial_fills), "1", 1, 100,
      NULL, 0, "count", "a market order fills in this many parts, one "
      "latency apart" },
    { "paper.spot_balance", GK(NUM, paper.spot_balance), "10000", 0, BIG,
      NULL, R, "quote", "starting free spot balance" },
    { "paper.fut_balance", GK(NUM, paper.fut_balance), "10000", 0, BIG,
      NULL, R, "quote", "starting free futures balance" },
    { "paper.positions", GK(STR, paper.positions),
      "\"examples/positions/demo.json\"", 0, 4095, NULL, R, "",
      "positions opened at start by entry fills (\"\": none)" },
    { "replay.dir", GK(STR, replay.dir), "\"examples/data\"", 1, 4095,
      NULL, R, "", "every *.csv price file here is replayed to md:prices" },
    { "replay.speed", GK(NUM, replay.speed), "300", 0, 1e6, NULL, GT | R,
      "x", "recorded seconds per wall-clock second" },
    { "replay.atr_bar_s", GK(U32, replay.atr_bar_s), "3600", 0, 86400, NULL,
      R, "s", "ATR published with the prices is measured on bars this long "
      "(0: the file's own bars)" },
};
const size_t s6_config_nkeys = sizeof s6_config_keys / sizeof s6_config_keys[0];

/* The deploy basics a container or unit file sets. */
const s6_cfg_env s6_config_envs[] = {
    { "PORT", "http.port" },
    { "S6_HOST", "http.host" },
    { "S6_REDIS_URL", "redis.url" },
    { "S6_SHARD", "shard.index" },
    { "S6_SHARDS", "shard.count" },
    { "S6_HTTP_URL", "shard.http_url" },
    { "S6_S4_URL", "services.s4_url" },
    { "S6_S1_URL", "services.s1_url" },
    { "S6_S12_URL", "services.s12_url" },
    { "S6_S4_MODE", "s4.mode" },
    { "S6_LOG_LEVEL", "log.level" },
    { "S6_AUTH_TOKEN", "auth.token" },
    { "S6_HISTORY_BACKEND", "history.backend" },
    { "S6_HISTORY_PATH", "history.path" },
    { "S6_ARANGODB_URL", "history.arangodb_url" },
    { "S6_RULES_DIR", "rules.dir" },
};
const size_t s6_config_nenvs = sizeof s6_config_envs / sizeof s6_config_envs[0];
