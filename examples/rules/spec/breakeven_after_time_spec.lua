-- What breakeven_after_time promises, as a trader would put it.
--
-- The trade: 1 BTC at 100 with 10 of isolated margin (so 1% of price is
-- 10% ROE); 0.04 of fees paid on entry, 0.04% taker fee on the exit.
-- Net breakeven, worked by hand: closing at P must leave nothing after fees
--   long   (P − 100) − 0.04 − 0.0004·P = 0   ->  P = 100.04 / 0.9996
--   short  (100 − P) − 0.04 − 0.0004·P = 0   ->  P =  99.96 / 1.0004
local kit = require("s6.testkit")

local rule = kit.load("examples/rules/breakeven_after_time.lua")

local BREAKEVEN = { [1] = 100.04 / 0.9996, [-1] = 99.96 / 1.0004 }
local MIN = 60

local function trade(side, mark, stop)
  return { side = side, qty = 1, entry = 100, margin = 10, mark = mark, stop = stop or 0,
           fees_paid = 0.04, exit_fee_rate = 0.0004 }
end

describe("breakeven_after_time", function()
  it("passes its own self-checks", function()
    assert.is_true(kit.run_checks(rule) >= 2)
  end)

  for _, side in ipairs({ 1, -1 }) do
    local up = 100 + side * 0.5 -- 5% ROE in the trade's favour
    local down = 100 - side * 0.5

    describe(side == 1 and "on a long" or "on a short", function()
      it("starts the clock on the first tick in profit", function()
        local actions, state = kit.eval(rule, trade(side, up), { now = 1000 })
        assert.same({}, actions)
        assert.same({ since = 1000 }, state)
      end)

      it("waits 30 minutes in profit", function()
        local actions = kit.eval(rule, trade(side, up), { now = 1000 + 29 * MIN }, nil,
                                 { since = 1000 })
        assert.same({}, actions)
      end)

      it("moves the stop to net breakeven after exactly 30 minutes", function()
        local actions = kit.eval(rule, trade(side, up), { now = 1000 + 30 * MIN }, nil,
                                 { since = 1000 })
        assert.near(BREAKEVEN[side], kit.one(actions, "stop").price, 1e-9)
      end)

      it("restarts the clock when the trade slips out of profit", function()
        local actions, state = kit.eval(rule, trade(side, down), { now = 1000 + 20 * MIN },
                                        nil, { since = 1000 })
        assert.same({}, actions)
        assert.same({}, state)
        _, state = kit.eval(rule, trade(side, up), { now = 1000 + 25 * MIN }, nil, state)
        assert.same({ since = 1000 + 25 * MIN }, state)
        assert.same({}, kit.eval(rule, trade(side, up), { now = 1000 + 50 * MIN }, nil, state))
      end)

      it("never loosens a tighter stop, and is silent once breakeven is set", function()
        local later, since = { now = 9000 }, { since = 1000 }
        assert.same({}, kit.eval(rule, trade(side, up, 100 + side * 0.2), later, nil, since))
        assert.same({}, kit.eval(rule, trade(side, up, BREAKEVEN[side]), later, nil, since))
      end)

      it("keeps counting across a restart", function()
        local _, state = kit.eval(rule, trade(side, up), { now = 1000 })
        local actions = kit.eval(rule, trade(side, up), { now = 1000 + 31 * MIN }, nil,
                                 kit.persist(state))
        assert.equal(1, #actions)
      end)
    end)
  end

  it("takes the waiting time and the profit bar from config", function()
    local params = { after = 5 * MIN, min_roe = 0.08 }
    assert.same({}, kit.eval(rule, trade(1, 100.5), { now = 9000 }, params, { since = 1000 }))
    assert.equal(1, #kit.eval(rule, trade(1, 100.9), { now = 9000 }, params, { since = 1000 }))
  end)

  it("shrugs off bad data: no error, no bad stop, state kept", function()
    assert.same({}, kit.bad_input_failures(rule, trade(1, 101), { now = 9000 }, nil,
                                           { since = 1000 }))
    local actions, state = kit.eval(rule, trade(1, 101), { now = 0 / 0 }, nil, { since = 1000 })
    assert.same({}, actions)
    assert.same({ since = 1000 }, state)
  end)
end)
