-- stagnation — flag a position that goes nowhere.
--
-- A position open longer than t_stagnation whose ROE stays inside the band
-- ±roe_min is stagnant (s6.is_stagnant, both comparisons strict):
--
--   duration = mkt.now − pos.opened_at > T    and    |ROE| < ρ_min
--
-- The rule then emits one STAGNATED event (S8 reviews it; nothing is
-- closed).  state.flagged remembers that it did, so the event is not
-- repeated on every tick; it re-arms once ROE leaves the band
-- (|ROE| ≥ ρ_min), and a position that sinks back into it later is
-- flagged again.

local rule = {
  name = "stagnation",
  triggers = { "tick" },
  params = {
    t_stagnation = 14400, -- seconds open before a position can be stagnant (4 h)
    roe_min = 0.02,       -- the band: |ROE| below this is "going nowhere"
  },
  schema = { -- what the configuration may set (docs/rules.md, "Parameter schemas")
    t_stagnation = "number in (0, 2592000]", -- up to 30 days
    roe_min = "number in (0, 1]",
  },
}

function rule.evaluate(pos, mkt, params, state)
  local roe, roe_min = pos.roe, params.roe_min
  local duration = mkt.now - pos.opened_at
  if type(duration) ~= "number" or type(roe) ~= "number" or type(roe_min) ~= "number"
      or type(params.t_stagnation) ~= "number" then
    return nil
  end
  local stagnant = s6.is_stagnant(duration, params.t_stagnation, roe, roe_min)
  if stagnant == nil then return nil end -- invalid input: no verdict, state kept
  if stagnant and not state.flagged then
    local why = string.format("open %.1f h, ROE %.2f%% within ±%.2f%%",
                              duration / 3600, roe * 100, roe_min * 100)
    return { act.event("STAGNATED", why) }, { flagged = true }
  end
  if state.flagged and math.abs(roe) >= roe_min then
    return nil, { flagged = false }
  end
  return nil
end

-- Self-checks (1 BTC at 100 with 10 of margin: 0.1% of price is 1% ROE).
rule.checks = {
  {
    name = "5 h open at ROE 1%: STAGNATED once",
    pos = { side = 1, entry = 100, margin = 10, mark = 100.1, opened_at = 0 },
    mkt = { now = 18000 },
    expect = function(actions, state)
      assert(#actions == 1 and actions[1].type == "event" and actions[1].name == "STAGNATED")
      assert(state.flagged == true)
    end,
  },
  {
    name = "already flagged: no repeat",
    pos = { side = -1, entry = 100, margin = 10, mark = 100.1, opened_at = 0 },
    mkt = { now = 18000 },
    state = { flagged = true },
    expect = function(actions, state)
      assert(#actions == 0 and state.flagged == true)
    end,
  },
  {
    name = "ROE out of the band re-arms",
    pos = { side = 1, entry = 100, margin = 10, mark = 100.5, opened_at = 0 },
    mkt = { now = 18000 },
    state = { flagged = true },
    expect = function(actions, state)
      assert(#actions == 0 and state.flagged == false)
    end,
  },
}

return rule
