-- add_on — add to a winner on a fresh signal in its direction.
--
-- With j = pos.add_on_count adds filled so far, the next add (number j+1)
-- is proposed when all of these hold:
--   * a fresh strategy signal points the position's way (mkt.signal_side == pos.side);
--   * ROE ≥ thresholds[j+1] (defaults 5% for the first add, 10% for the second;
--     no add beyond the list);
--   * j < cap;
--   * at least min_interval seconds since the last add (pos.last_add_at, 0
--     when there was none) and since this rule last proposed one (an add
--     the host refused, or one not filled yet, is not re-proposed sooner).
-- The size decays geometrically from the first entry Q0 = entry_quantities[1]:
--
--   Q_add(j+1) = Q0 · γ^(j+1)      (s6.addon_qty)
--
-- so with γ = 0.5 the first add is Q0/2 and the second Q0/4: an add is
-- always smaller than what came before it.
--
-- After an add fills, the host recomputes the average entry (s6.avg_entry_after_add)
-- and the margin: ROE, and every stop and lock price of the other rules,
-- are measured from the NEW average entry from then on.  ROE usually drops
-- after an add (same PnL over more margin), which is why the thresholds rise.
--
-- state.proposed_at is the host time of the last proposal.  The host still
-- checks cap, interval, risk budget, concurrency, size and leverage limits.

local rule = {
  name = "add_on",
  triggers = { "signal", "tick" },
  params = {
    thresholds = { 0.05, 0.10 }, -- ROE needed for add 1, add 2, ...
    cap = 2,                     -- adds per position at most
    min_interval = 300,          -- seconds between adds
    gamma = 0.5,                 -- size decay, 0 < γ < 1
  },
  schema = { -- what the configuration may set (docs/rules.md, "Parameter schemas")
    thresholds = { list = "number in [0, 10]" },
    cap = "integer in [0, 20]",
    min_interval = "number in [0, 86400]",
    gamma = "number in (0, 1)",
  },
}

-- Seconds since the last add, filled or proposed; huge when there was none.
local function since_last(pos, mkt, state)
  local last = math.max(finite(pos.last_add_at) and pos.last_add_at or 0,
                        finite(state.proposed_at) and state.proposed_at or 0)
  return last > 0 and mkt.now - last or math.huge
end

function rule.evaluate(pos, mkt, params, state)
  local side, roe, j = pos.side, pos.roe, pos.add_on_count
  if (side ~= 1 and side ~= -1) or mkt.signal_side ~= side or not finite(roe)
      or not (finite(j) and j >= 0 and j % 1 == 0) or not finite(mkt.now)
      or type(params.thresholds) ~= "table" or not finite(params.gamma)
      or not (finite(params.cap) and finite(params.min_interval)) then
    return nil
  end
  local threshold = params.thresholds[j + 1]
  if j >= params.cap or not finite(threshold) or roe < threshold
      or since_last(pos, mkt, state) < params.min_interval then
    return nil
  end
  local entries = pos.entry_quantities
  local q0 = type(entries) == "table" and entries[1] or nil
  local qty = finite(q0) and s6.addon_qty(q0, params.gamma, j + 1) or nil
  if not (finite(qty) and qty > 0) then return nil end
  local why = string.format("signal %+d, ROE %.2f%% >= %.2f%%: add %d of %d",
                            side, roe * 100, threshold * 100, j + 1, params.cap)
  return { act.add(qty, why) }, { proposed_at = mkt.now }
end

-- Self-checks (1 BTC at 100 with 10 of margin: 1% of price is 10% ROE).
rule.checks = {
  {
    name = "long, signal long, ROE 6%: first add is Q0·γ",
    pos = { side = 1, qty = 2, entry = 100, margin = 20, mark = 100.6, entry_quantities = { 2 } },
    mkt = { signal_side = 1, now = 1000 },
    expect = function(actions, state)
      assert(#actions == 1 and actions[1].type == "add" and actions[1].qty == 1)
      assert(state.proposed_at == 1000)
    end,
  },
  {
    name = "short: a long signal adds nothing",
    pos = { side = -1, qty = 2, entry = 100, margin = 20, mark = 99 },
    mkt = { signal_side = 1, now = 1000 },
    expect = function(actions) assert(#actions == 0) end,
  },
  {
    name = "second add needs 10% and 300 s since the first",
    pos = { side = -1, qty = 3, entry = 100, margin = 30, mark = 98.9, add_on_count = 1,
            last_add_at = 1000, entry_quantities = { 2, 1 } },
    mkt = { signal_side = -1, now = 1300 },
    expect = function(actions)
      assert(#actions == 1 and actions[1].qty == 0.5)
    end,
  },
}

return rule
