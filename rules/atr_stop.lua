-- atr_stop — a stop k ATRs away from the price, following it.
--
-- With no stop yet (pos.stop == 0) and the ATR known (mkt.atr > 0), the
-- initial stop is k ATRs beyond the entry:
--
--   long   SL_0 = P_entry − k·ATR          short   SL_0 = P_entry + k·ATR
--
-- Once a stop exists it trails the best price since entry (highest mark
-- for a long, lowest for a short), never loosening:
--
--   long   SL = max(SL_prev, highest − k·ATR)
--   short  SL = min(SL_prev, lowest + k·ATR)
--
-- so it follows the price, not just the ATR: a wider ATR never pulls it
-- back.  A trailing move is proposed only when it improves the stop by at
-- least min_move × mark (no churn), and no stop is proposed at or beyond
-- the mark.  The rule keeps no state.

local rule = {
  name = "atr_stop",
  triggers = { "tick", "price" },
  params = {
    k = 2,             -- distance in ATRs
    min_move = 0.0005, -- smallest trailing improvement, fraction of the mark
  },
  schema = { -- what the configuration may set (docs/rules.md, "Parameter schemas")
    k = "number in (0, 100]",
    min_move = "number in [0, 0.1]",
  },
}

-- The stop this evaluation would set, and why; nil when there is none.
local function target(pos, atr, k)
  if pos.stop == 0 then
    return s6.atr_stop(pos.side, pos.entry, atr, k), "initial stop"
  end
  return s6.atr_trail(pos.side, pos.stop, pos.best_price, atr, k), "trailing stop"
end

function rule.evaluate(pos, mkt, params)
  local side, mark, atr, k = pos.side, mkt.mark, mkt.atr, params.k
  local min_move = params.min_move
  if (side ~= 1 and side ~= -1) or not (positive(mark) and positive(atr) and positive(k))
      or not (min_move == 0 or positive(min_move)) then
    return nil
  end
  local price, kind = target(pos, atr, k)
  if not (positive(price) and side * (mark - price) > 0) then return nil end
  if pos.stop ~= 0 then
    local gain = side * (price - pos.stop)
    if not (gain > 0 and gain >= min_move * mark) then return nil end
  end
  return { act.stop(price, string.format("%s %g ATR (ATR %g) from %s", kind, k, atr,
                                         pos.stop == 0 and "the entry" or "the best price")) }
end

-- Self-checks (ATR 2, k 2: the stop sits 4 away).
rule.checks = {
  {
    name = "long without a stop: entry − k·ATR",
    pos = { side = 1, entry = 100, mark = 101 },
    mkt = { atr = 2 },
    expect = function(actions)
      assert(#actions == 1 and actions[1].price == 96)
    end,
  },
  {
    name = "short trails its lowest price: lowest + k·ATR",
    pos = { side = -1, entry = 100, mark = 91, best_price = 90, stop = 104 },
    mkt = { atr = 2 },
    expect = function(actions)
      assert(#actions == 1 and actions[1].price == 94)
    end,
  },
  {
    name = "unknown ATR: nothing",
    pos = { side = 1, entry = 100, mark = 101 },
    mkt = { atr = 0 },
    expect = function(actions) assert(#actions == 0) end,
  },
}

return rule
