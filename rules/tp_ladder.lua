-- tp_ladder — take profit in steps as ROE climbs.
--
-- steps is a ladder, climbed one rung at a time:
--
--   { roe = ρ, fraction = β }   ROE ≥ ρ -> close β × the remaining quantity
--   { roe = ρ, entry = n }      ROE ≥ ρ -> close entry_quantities[n], the
--                               n-th entry fill (1-based: the spec's
--                               entry_quantities[0] is entry = 1)
--
-- A rung whose quantity would be the whole position or more closes it
-- (act.close).  ROE is pos.roe: unrealized PnL over isolated margin at the
-- mark, measured from the average entry.
--
-- Each rung fires once: state.step counts the rungs proposed (the host's
-- pos.tp_step, the rungs done, counts too — the larger wins), so a restart
-- or a reload continues from the next rung.  One rung per evaluation: the
-- rule also answers fills, so after a rung's fill it re-evaluates and the
-- next rung fires if ROE is still past it.  A rung whose size cannot be
-- known (no such entry fill, a bad fraction) proposes nothing and waits.

local rule = {
  name = "tp_ladder",
  triggers = { "tick", "price", "fill" },
  params = {
    steps = {
      { roe = 0.12, entry = 1 }, -- ROE >= 12% -> close the first entry's quantity
    },
  },
  schema = { -- what the configuration may set (docs/rules.md, "Parameter schemas")
    steps = { list = { roe = "number in [0, 10], required", entry = "integer in [1, 100]",
                       fraction = "number in (0, 1]" } },
  },
}

-- The action closing a rung's quantity, or nil when it cannot be sized.
local function rung_action(step, pos, why)
  if step.entry ~= nil then
    local n, entries = step.entry, pos.entry_quantities
    local q = (finite(n) and n >= 1 and n % 1 == 0 and type(entries) == "table") and entries[n] or nil
    if not positive(q) then return nil end
    if q >= pos.qty then return act.close(why) end
    return act.reduce(q, why)
  end
  local f = step.fraction
  if not positive(f) then return nil end
  if f >= 1 then return act.close(why) end
  return act.reduce_fraction(f, why)
end

function rule.evaluate(pos, mkt, params, state)
  local roe, steps = pos.roe, params.steps
  if (pos.side ~= 1 and pos.side ~= -1) or not (positive(pos.qty) and finite(roe))
      or type(steps) ~= "table" then
    return nil
  end
  local i = math.max(count(state.step), count(pos.tp_step)) + 1
  local step = steps[i]
  if type(step) ~= "table" or not finite(step.roe) or roe < step.roe then return nil end
  local why = string.format("ROE %.2f%% reached take-profit step %d (>= %.2f%%)",
                            roe * 100, i, step.roe * 100)
  local action = rung_action(step, pos, why)
  if not action then return nil end
  return { action }, { step = i }
end

-- Self-checks (10 of margin on 1 BTC at 100: 1% of price is 10% ROE).
rule.checks = {
  {
    name = "long at 15% ROE: close the first entry's quantity",
    pos = { side = 1, qty = 3, entry = 100, margin = 30, mark = 101.5, entry_quantities = { 1, 2 } },
    expect = function(actions, state)
      assert(#actions == 1 and actions[1].type == "reduce" and actions[1].qty == 1)
      assert(state.step == 1)
    end,
  },
  {
    name = "short: the first entry is the whole position -> close",
    pos = { side = -1, qty = 1, entry = 100, margin = 10, mark = 98 },
    expect = function(actions, state)
      assert(#actions == 1 and actions[1].type == "close" and state.step == 1)
    end,
  },
  {
    name = "a rung fires once",
    pos = { side = 1, qty = 3, entry = 100, margin = 10, mark = 105, entry_quantities = { 1, 2 } },
    state = { step = 1 },
    expect = function(actions) assert(#actions == 0) end,
  },
}

return rule
