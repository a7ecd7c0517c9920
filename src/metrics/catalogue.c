/*
 * catalogue.c — every metric the service exposes, as one table (the same
 * table is docs/metrics.md).  Code looks its handles up by name once:
 *
 *     s6_counter_get(m, "s6_stop_moves_total", 1, S6_LABELS(sym), &h);
 *
 * Money is in the quote currency of the symbol (USDT for BTCUSDT); ratios
 * are fractions (0.05 = 5 %), times are seconds.  Families marked
 * collected are filled by collectors at scrape time from the engine's
 * positions, so they never drift from the state they describe.
 */
#include "metrics/metrics.h"

/* Per-symbol families: a few hundred symbols at most; the cap only stops
 * a runaway label value. */
enum { SYMBOL_SERIES = 2000, POSITION_SERIES = 4000 };

/* Liquidation distance as a fraction of the mark: alarm territory is
 * below 5 %, so resolution is finest there. */
static const double liq_distance_buckets[] = {
    0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1};

/* One batch evaluation of the rules: tens of microseconds when hot; the
 * deadline (docs/sandbox-deadline.md) is in the hundreds of ms. */
static const double rule_eval_buckets[] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

/* Order router round trips over loopback or a LAN, up to the timeout. */
static const double s4_request_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

/* One request on the loop: tens of microseconds when served from memory,
 * longer when a handler waits on Redis or S4. */
static const double http_request_buckets[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1, 2.5, 5, 10};

#define BUCKETS(a) .buckets = (a), .n_buckets = sizeof(a) / sizeof((a)[0])

const s6_metric_desc s6_metrics_catalogue[] = {
    /* ---- positions and risk (collected at scrape time) ---- */
    {.name = "s6_positions", .type = S6_METRIC_GAUGE, .collected = true,
     .labels = {"state", "market", "symbol"}, .max_series = POSITION_SERIES,
     .help = "Positions S6 manages, by state (PENDING_ENTRY, ACTIVE, "
             "PENDING_CLOSING), market (FUT, SPOT) and symbol"},
    {.name = "s6_unrealized_pnl", .type = S6_METRIC_GAUGE, .collected = true,
     .labels = {"market", "symbol"}, .max_series = SYMBOL_SERIES,
     .help = "Unrealized PnL of the open position at mark, quote currency"},
    {.name = "s6_realized_pnl", .type = S6_METRIC_GAUGE, .collected = true,
     .labels = {"market", "symbol"}, .max_series = SYMBOL_SERIES,
     .help = "PnL realized since 00:00 UTC (the daily loss limit's figure), "
             "after fees, quote currency"},
    {.name = "s6_risk_budget_reserved", .type = S6_METRIC_GAUGE, .collected = true,
     .help = "Risk budget held by open positions and in-flight adds, quote currency"},
    {.name = "s6_risk_budget_limit", .type = S6_METRIC_GAUGE, .collected = true,
     .help = "Risk budget of the account (risk:{budget}), quote currency"},
    {.name = "s6_concurrency_used", .type = S6_METRIC_GAUGE, .collected = true,
     .help = "Concurrency slots held by open positions (risk:{concurrency})"},
    {.name = "s6_concurrency_limit", .type = S6_METRIC_GAUGE, .collected = true,
     .help = "Concurrency slots of the account"},
    {.name = "s6_liquidation_distance_min_ratio", .type = S6_METRIC_GAUGE,
     .collected = true,
     .help = "Smallest |mark - liquidation price| / mark over FUT positions; "
             "+Inf when none has a liquidation price"},
    {.name = "s6_liquidation_distance_ratio", .type = S6_METRIC_HISTOGRAM,
     .collected = true, BUCKETS(liq_distance_buckets),
     .help = "Liquidation distance (|mark - liquidation price| / mark) of each "
             "FUT position that has a liquidation price, at scrape time"},
    {.name = "s6_margin_ratio", .type = S6_METRIC_GAUGE, .collected = true,
     .labels = {"symbol"}, .max_series = SYMBOL_SERIES,
     .help = "Margin ratio of the open FUT position (maintenance margin / "
             "margin balance; 1 = liquidation, +Inf when the balance is "
             "gone), 0 when none is open"},
    {.name = "s6_margin_ratio_max", .type = S6_METRIC_GAUGE,
     .collected = true,
     .help = "The worst (highest) margin ratio over the open FUT positions, "
             "0 when none"},
    {.name = "s6_paused", .type = S6_METRIC_GAUGE, .collected = true,
     .labels = {"scope"}, .max_series = SYMBOL_SERIES,
     .help = "1 while the kill switch holds: scope \"all\" or a symbol; "
             "only protective work runs"},

    /* ---- what the engine did (counted as it happens) ---- */
    {.name = "s6_stop_moves_total", .type = S6_METRIC_COUNTER,
     .labels = {"symbol"}, .max_series = SYMBOL_SERIES,
     .help = "Stop-loss moves confirmed by the order router"},
    {.name = "s6_stop_triggers_total", .type = S6_METRIC_COUNTER,
     .labels = {"symbol", "kind"}, .max_series = SYMBOL_SERIES,
     .help = "Stops that closed a position: kind exchange (STOP_MARKET "
             "filled) or guard (S6's local guard stop fired)"},
    {.name = "s6_tp_fills_total", .type = S6_METRIC_COUNTER,
     .labels = {"symbol"}, .max_series = SYMBOL_SERIES,
     .help = "Take-profit ladder steps filled"},
    {.name = "s6_adds_total", .type = S6_METRIC_COUNTER,
     .labels = {"symbol"}, .max_series = SYMBOL_SERIES,
     .help = "Add-on orders filled"},
    {.name = "s6_stagnation_events_total", .type = S6_METRIC_COUNTER,
     .labels = {"symbol"}, .max_series = SYMBOL_SERIES,
     .help = "STAGNATED events emitted"},
    {.name = "s6_transfers_total", .type = S6_METRIC_COUNTER,
     .labels = {"status", "trigger"},
     .help = "Treasury transfers by the status they reached (PENDING, "
             "APPROVED, SUBMITTED, SUCCESS, FAILED, REJECTED, SKIPPED) and "
             "trigger (SCHEDULED, MARGIN_CALL, RISK_LIMIT, PROFIT_TAKING, "
             "INSUFFICIENT_BALANCE)"},
    {.name = "s6_risk_alerts_total", .type = S6_METRIC_COUNTER,
     .labels = {"kind"},
     .help = "Risk alerts raised, by kind (liquidation_distance, "
             "margin_ratio, margin_call, entry_limit, stop_unconfirmed, "
             "daily_loss, "
             "stale_market, mark_jump, rule_rollback)"},
    {.name = "s6_proposals_rejected_total", .type = S6_METRIC_COUNTER,
     .labels = {"code"},
     .help = "Rule and manual proposals the guard dropped, by rejection "
             "code (s6_reject_name, docs/invariants.md)"},

    /* ---- the rule host ---- */
    {.name = "s6_rule_eval_seconds", .type = S6_METRIC_HISTOGRAM,
     BUCKETS(rule_eval_buckets),
     .help = "Wall time of one batch evaluation of the rules"},
    {.name = "s6_rule_errors_total", .type = S6_METRIC_COUNTER,
     .labels = {"rule", "kind"},
     .help = "Rule faults charged to a rule: kind error (raised), overrun "
             "(stopped at the deadline or the memory cap) or worker_killed "
             "(its worker crashed, ran out of memory or overran the hard "
             "wall-clock limit)"},
    {.name = "s6_rule_reloads_total", .type = S6_METRIC_COUNTER,
     .labels = {"result"},
     .help = "Rule reloads by result: ok (swapped in), rejected (failed its "
             "checks, the old version stays), rolled_back (runtime faults "
             "restored the previous version), quarantined (a new rule taken "
             "out for its faults), restarted (the worker came back), "
             "promoted (a shadow version made live)"},
    {.name = "s6_rule_shadow_evals_total", .type = S6_METRIC_COUNTER,
     .labels = {"rule"},
     .help = "Positions on which a rule's shadow version was evaluated and "
             "its plan compared with the live plan"},
    {.name = "s6_rule_shadow_diffs_total", .type = S6_METRIC_COUNTER,
     .labels = {"rule", "kind"},
     .help = "Positions whose plan with the rule's shadow version differed "
             "from the live plan, by what differed (stop, reduce, add, hedge, "
             "event)"},
    {.name = "s6_rule_shadow_errors_total", .type = S6_METRIC_COUNTER,
     .labels = {"rule", "kind"},
     .help = "Faults of a rule's shadow version (error, overrun, "
             "worker_killed); never charged to the live version"},
    {.name = "s6_rule_worker_restarts_total", .type = S6_METRIC_COUNTER,
     .help = "Rule workers killed or found dead under a batch"},
    {.name = "s6_rule_actions_dropped_total", .type = S6_METRIC_COUNTER,
     .labels = {"rule"},
     .help = "Batches in which a rule returned more actions than its cap "
             "(the excess was dropped)"},
    {.name = "s6_plans_refused_total", .type = S6_METRIC_COUNTER,
     .labels = {"reason"},
     .help = "Positions whose proposals the guard refused whole, by reason "
             "(limits, view, too_many)"},

    /* ---- the order router (S4) ---- */
    {.name = "s6_s4_request_seconds", .type = S6_METRIC_HISTOGRAM,
     .labels = {"endpoint"}, BUCKETS(s4_request_buckets),
     .help = "S4 request round trips, by endpoint (orders, cancel, "
             "positions), answered or not"},
    {.name = "s6_s4_request_errors_total", .type = S6_METRIC_COUNTER,
     .labels = {"endpoint", "kind"},
     .help = "Failed S4 requests: kind connect, timeout, http_4xx, "
             "http_5xx, bad_response"},
    {.name = "s6_s4_queued_orders", .type = S6_METRIC_GAUGE,
     .help = "Orders and cancels waiting in the S4 router for rate tokens"},

    /* ---- Redis ---- */
    {.name = "s6_state_waits_total", .type = S6_METRIC_COUNTER,
     .labels = {"result"},
     .help = "WAITs the write-ahead barrier sent (redis.wait_replicas): "
             "ok (enough replicas had the writes) or short (not in "
             "redis.wait_timeout_ms, or failed: the orders stay held)"},

    /* ---- the HTTP API ---- */
    {.name = "s6_http_requests_total", .type = S6_METRIC_COUNTER,
     .labels = {"route", "method", "code"},
     .help = "HTTP requests answered, by route pattern (/positions/{id}, "
             "not the id; \"unmatched\" when no route matched), method and "
             "status code"},
    {.name = "s6_http_request_seconds", .type = S6_METRIC_HISTOGRAM,
     .labels = {"route"}, BUCKETS(http_request_buckets),
     .help = "Time from a request's first byte to the end of its answer's "
             "write, by route pattern"},
};

const size_t s6_metrics_catalogue_len =
    sizeof s6_metrics_catalogue / sizeof s6_metrics_catalogue[0];

int s6_metrics_new_service(s6_metrics **out)
{
    s6_metrics *m;
    int rc = s6_metrics_new(&m);
    if (rc < 0)
        return rc;
    rc = s6_metrics_register_all(m, s6_metrics_catalogue, s6_metrics_catalogue_len);
    if (rc < 0) {
        s6_metrics_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
