-- hedge — hold a SPOT book at its target net exposure with futures.
--
-- For a symbol configured with a target net exposure E* (config
-- symbols.<SYM>:SPOT.target_exposure, quote currency), the spot holding
-- plus the futures held on the symbol's FUT market should be worth E*:
--
--   Q_spot · P + Q_fut · P = E*   =>   Δ = E* / P − Q_spot − Q_fut
--
-- (s6.hedge_fut_qty).  The rule proposes act.hedge(Δ): a signed futures
-- quantity, + buy, − sell.  It answers only for a SPOT position (long by
-- nature) whose view carries a finite target_exposure; pos.hedge_qty is
-- Q_fut, mkt.mark is P.
--
-- The deadband keeps it from trading on noise: nothing is proposed while
-- the gap |Δ| · P is under deadband · |E*|, nor under min_quote (which is
-- what holds when E* = 0, a fully hedged book).  The host rounds Δ toward
-- zero on the futures step, refuses it under the exchange minimums and
-- while an earlier hedge order is in flight, and drops it from a plan that
-- also resizes the spot position (docs/invariants.md), so the rule keeps
-- no state: every evaluation measures the gap afresh.

local rule = {
  name = "hedge",
  triggers = { "tick", "price", "fill" },
  params = {
    deadband = 0.05, -- no trade for a gap under this fraction of |E*|
    min_quote = 10,  -- ... nor under this much quote
  },
  schema = { -- what the configuration may set (docs/rules.md, "Parameter schemas")
    deadband = "number in [0, 1]",
    min_quote = "number in [0, 1e15]",
  },
}

function rule.evaluate(pos, mkt, params)
  if pos.market ~= "SPOT" or pos.side ~= 1 then return nil end
  local target, held, mark = pos.target_exposure, pos.hedge_qty, mkt.mark
  if not finite(target) or not nonneg(params.deadband) or not nonneg(params.min_quote) then
    return nil
  end
  local delta = s6.hedge_fut_qty(pos.qty, held, mark, target)
  if not finite(delta) or delta == 0 then return nil end -- NaN: invalid input
  local gap = math.abs(delta) * mark
  local band = math.max(params.deadband * math.abs(target), params.min_quote)
  if not (gap >= band) then return nil end
  local why = string.format("exposure %.2f, target %.2f: %s %.8g futures",
                            (pos.qty + held) * mark, target,
                            delta > 0 and "buy" or "sell", math.abs(delta))
  return { act.hedge(delta, why) }
end

-- Self-checks (2 BTC spot at 50,000 = 100,000 of exposure).
rule.checks = {
  {
    name = "2 BTC spot, target 50,000, no futures: sell 1",
    pos = { market = "SPOT", qty = 2, entry = 50000, margin = 100000, hedge_qty = 0,
            target_exposure = 50000 },
    mkt = { mark = 50000 },
    expect = function(actions)
      assert(#actions == 1 and actions[1].type == "hedge" and actions[1].qty == -1)
    end,
  },
  {
    name = "inside the deadband: nothing",
    pos = { market = "SPOT", qty = 2, entry = 50000, margin = 100000, hedge_qty = -1.04,
            target_exposure = 50000 },
    mkt = { mark = 50000 },
    expect = function(actions) assert(#actions == 0) end,
  },
  {
    name = "over-hedged after a spot sale: buy back",
    pos = { market = "SPOT", qty = 1, entry = 50000, margin = 50000, hedge_qty = -1,
            target_exposure = 50000 },
    mkt = { mark = 50000 },
    expect = function(actions)
      assert(#actions == 1 and actions[1].qty == 1)
    end,
  },
  {
    name = "no target or a FUT position: nothing",
    pos = { market = "FUT", qty = 2, entry = 50000, margin = 10000, target_exposure = 0 },
    mkt = { mark = 50000 },
    expect = function(actions) assert(#actions == 0) end,
  },
}

return rule
