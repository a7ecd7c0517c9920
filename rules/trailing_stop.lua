-- trailing_stop — lock in profit in steps as ROE climbs.
--
-- ROE is unrealized PnL over isolated margin (pos.roe, at the current mark,
-- measured from the average entry — after an add-on, the new one).  When it
-- reaches steps[k].roe the stop moves to the price at which closing would
-- still leave steps[k].lock_roe of the margin AFTER the fees already paid
-- and the exit's taker fee; lock_roe = 0 is net breakeven.  Gross, that is
--
--   long   SL_k = max(SL_{k-1}, P_entry + θ_k · margin / Q)
--   short  SL_k = min(SL_{k-1}, P_entry − θ_k · margin / Q)
--
-- and the net price (s6.price_for_roe_net) sits a little further from the
-- entry so that the fees are covered too.
--
-- The highest step reached is kept in state.step and never goes back, so a
-- step fires once even if ROE falls back; a jump past several thresholds
-- goes straight to the highest.  The stop of that step is proposed while
-- the current stop is looser than it by at least min_move × mark, so a
-- move the host could not place is proposed again, and once placed the
-- rule is silent (no churn).  The stop never loosens, and is never
-- proposed at or beyond the mark (after an add-on the lock may sit there
-- until the price moves on).

local rule = {
  name = "trailing_stop",
  triggers = { "tick", "price", "fill" },
  params = {
    -- ROE reached -> ROE locked by the stop (fractions of isolated margin)
    steps = {
      { roe = 0.10, lock_roe = 0.00 }, -- 10% -> net breakeven
      { roe = 0.20, lock_roe = 0.10 }, -- 20% -> the price of 10% ROE, net
    },
    min_move = 0.0005, -- smallest improvement worth a new stop, fraction of the mark
  },
  schema = { -- what the configuration may set (docs/rules.md, "Parameter schemas")
    steps = { list = { roe = "number in [0, 10], required", lock_roe = "number in [-1, 10], required" } },
    min_move = "number in [0, 0.1]",
  },
}

local function usable(step)
  return type(step) == "table" and finite(step.roe) and finite(step.lock_roe)
end

-- The highest usable step whose ROE threshold is met (>=), or `from`.
local function step_reached(steps, roe, from)
  local reached, i = from, 1
  while steps[i] ~= nil do
    if usable(steps[i]) and roe >= steps[i].roe and i > reached then reached = i end
    i = i + 1
  end
  return reached
end

-- The usable step at or below k (a config may have shortened the list).
local function lock_step(steps, k)
  while k > 0 and not usable(steps[k]) do k = k - 1 end
  return k
end

function rule.evaluate(pos, mkt, params, state)
  local side, mark, roe = pos.side, mkt.mark, pos.roe
  local steps, min_move = params.steps, params.min_move
  if (side ~= 1 and side ~= -1) or not (finite(mark) and mark > 0 and finite(roe))
      or type(steps) ~= "table" or not (finite(min_move) and min_move >= 0) then
    return nil
  end
  local before = count(state.step)
  local reached = step_reached(steps, roe, math.max(before, count(pos.stop_step)))
  local new_state = reached > before and { step = reached } or nil
  local k = lock_step(steps, reached)
  if k == 0 then return nil, new_state end

  local lock = s6.price_for_roe_net(side, pos.qty, pos.entry, pos.margin,
                                    pos.fees_paid, pos.exit_fee_rate, steps[k].lock_roe)
  local stop = pos.stop
  local protective = finite(lock) and lock > 0 and side * (mark - lock) > 0
  local gain = stop == 0 and math.huge or side * (lock - stop)
  if not (protective and gain > 0 and gain >= min_move * mark) then
    return nil, new_state
  end
  local why = string.format("ROE %.2f%% reached lock step %d (>= %.2f%%): stop at net ROE %.2f%%",
                            roe * 100, k, steps[k].roe * 100, steps[k].lock_roe * 100)
  -- the stop carries the step it reaches: the host records it with the stop
  return { act.stop(lock, why, reached) }, new_state
end

-- Self-checks, run before a version goes live (1 BTC, 10 of margin: 1% of
-- price is 10% ROE; fees 0.04 paid, 0.04% taker fee on the exit).
local function near(a, b) return math.abs(a - b) < 1e-9 end
local BASE = { qty = 1, entry = 100, margin = 10, fees_paid = 0.04, exit_fee_rate = 0.0004 }
local function with(t)
  local p = {}
  for k, v in pairs(BASE) do p[k] = v end
  for k, v in pairs(t) do p[k] = v end
  return p
end

rule.checks = {
  {
    name = "long at 10% ROE: stop to net breakeven, above the entry",
    pos = with { side = 1, mark = 101 },
    expect = function(actions, state)
      assert(#actions == 1 and actions[1].type == "stop")
      -- zero PnL after 0.04 paid and 0.04% of the exit: P·0.9996 = 100.04
      assert(near(actions[1].price, 100.04 / 0.9996))
      assert(state.step == 1)
    end,
  },
  {
    name = "short jumping to 25% ROE: straight to the 10%-ROE lock",
    pos = with { side = -1, mark = 97.5 },
    expect = function(actions, state)
      -- (100 − P)·1 − 0.04 − 0.0004·P = 1  ->  P = 98.96 / 1.0004
      assert(#actions == 1 and near(actions[1].price, 98.96 / 1.0004))
      assert(state.step == 2)
    end,
  },
  {
    name = "below the first step: nothing",
    pos = with { side = 1, mark = 100.9 },
    expect = function(actions, state)
      assert(#actions == 0 and state.step == nil)
    end,
  },
  {
    name = "a tighter stop is never loosened",
    pos = with { side = 1, mark = 103, stop = 102 },
    state = { step = 2 },
    expect = function(actions) assert(#actions == 0) end,
  },
}

return rule
