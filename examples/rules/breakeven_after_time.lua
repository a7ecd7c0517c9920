-- breakeven_after_time — an example of a custom rule.
--
-- Once a position has stayed in profit (ROE ≥ min_roe) for `after`
-- seconds without a break, move its stop to net breakeven: the price at
-- which closing loses nothing after the fees already paid and the exit's
-- taker fee (s6.price_for_roe_net with a target ROE of 0).  A trade that
-- has worked for a while should not be allowed to turn into a loss.
--
-- state.since is the host time at which the current run in profit began;
-- the clock restarts whenever ROE drops below min_roe.  The stop is never
-- loosened, never proposed at or beyond the mark, and once it is in place
-- the rule is silent.

local rule = {
  name = "breakeven_after_time",
  triggers = { "tick" },
  params = {
    after = 1800,   -- seconds continuously in profit (30 min)
    min_roe = 0.01, -- ROE that counts as "in profit" (1% of margin)
  },
  schema = { -- what the configuration may set: a typo or a value out of range is refused
    after = "number in [0, 604800]",
    min_roe = "number in [0, 10]",
  },
}

function rule.evaluate(pos, mkt, params, state)
  local side, roe, now = pos.side, pos.roe, mkt.now
  if (side ~= 1 and side ~= -1) or not (finite(roe) and finite(now))
      or not (finite(params.after) and finite(params.min_roe)) then
    return nil -- no verdict on bad input; the state is kept
  end
  if roe < params.min_roe then
    if state.since ~= nil then return nil, {} end -- out of profit: the clock restarts
    return nil
  end
  local since, new_state = state.since, nil
  if not finite(since) then since, new_state = now, { since = now } end -- in profit from now
  if now - since < params.after then return nil, new_state end

  local be = s6.price_for_roe_net(side, pos.qty, pos.entry, pos.margin,
                                  pos.fees_paid, pos.exit_fee_rate, 0)
  local tightens = pos.stop == 0 or side * (be - pos.stop) > 0
  if not (finite(be) and be > 0 and side * (mkt.mark - be) > 0 and tightens) then
    return nil, new_state
  end
  local why = string.format("in profit for %d min: stop to net breakeven", (now - since) / 60)
  return { act.stop(be, why) }, new_state
end

-- Self-checks: 1 BTC at 100 with 10 of margin (1% of price is 10% ROE),
-- no fees, so net breakeven is the entry itself.
rule.checks = {
  {
    name = "30 min in profit: stop to breakeven",
    pos = { side = 1, entry = 100, mark = 101 },
    mkt = { now = 2800 },
    state = { since = 1000 },
    expect = function(actions)
      assert(#actions == 1 and actions[1].type == "stop" and actions[1].price == 100)
    end,
  },
  {
    name = "the first tick in profit starts the clock",
    pos = { side = -1, entry = 100, mark = 99 },
    mkt = { now = 1000 },
    expect = function(actions, state)
      assert(#actions == 0 and state.since == 1000)
    end,
  },
}

return rule
