-- rules/trailing_stop.lua: ROE lock-in steps, net of fees.
--
-- The position throughout: 1 BTC at 100 with 10 of isolated margin, so
-- every 1% of price is 10% ROE; 0.04 of fees paid, 0.04% taker fee on the
-- exit.  Expected lock prices are worked by hand from "closing at P leaves
-- θ·margin after all fees":
--   long   Q·(P − E) − fees − f·Q·P = θ·M   ->  P = (θ·M + fees + Q·E) / (Q·(1 − f))
--   short  Q·(E − P) − fees − f·Q·P = θ·M   ->  P = (Q·E − θ·M − fees) / (Q·(1 + f))
local kit = require("s6.testkit")

local rule = kit.load("rules/trailing_stop.lua")

local FEES, F = 0.04, 0.0004
local function lock(side, theta, entry, qty, margin)
  entry, qty, margin = entry or 100, qty or 1, margin or 10
  if side == 1 then return (theta * margin + FEES + qty * entry) / (qty * (1 - F)) end
  return (qty * entry - theta * margin - FEES) / (qty * (1 + F))
end

local BASE = { qty = 1, entry = 100, margin = 10, fees_paid = FEES, exit_fee_rate = F }
local function position(t) return kit.with(BASE, t) end
local function stop_of(actions) return kit.one(actions, "stop").price end

describe("trailing_stop", function()
  it("passes its own self-checks", function()
    assert.is_true(kit.run_checks(rule) >= 4)
  end)

  for _, side in ipairs({ 1, -1 }) do
    local name = side == 1 and "a long" or "a short"
    local function at(pct) return 100 + side * pct / 10 end -- mark at ROE pct%

    describe(name, function()
      it("does nothing below 10% ROE", function()
        local actions, state = kit.eval(rule, position { side = side, mark = at(9.99) })
        assert.same({}, actions)
        assert.same({}, state)
      end)

      it("at exactly 10% ROE (>= fires) moves the stop to net breakeven", function()
        local pos = position { side = side, mark = at(10) }
        assert.equal(0.10, kit.position(pos).roe) -- the boundary really is hit
        local actions, state = kit.eval(rule, pos)
        assert.near(lock(side, 0), stop_of(actions), 1e-9)
        assert.same({ step = 1 }, state)
      end)

      it("puts net breakeven beyond the gross one, so both fees are covered", function()
        local actions = kit.eval(rule, position { side = side, mark = at(15) })
        assert.is_true(side * (stop_of(actions) - 100) > 0)
      end)

      it("at 20% ROE locks the price of 10% ROE, net", function()
        local actions, state = kit.eval(rule, position { side = side, mark = at(20) },
                                        nil, nil, { step = 1 })
        assert.near(lock(side, 0.10), stop_of(actions), 1e-9)
        assert.same({ step = 2 }, state)
      end)

      it("jumps straight past both thresholds to the highest step", function()
        local actions, state = kit.eval(rule, position { side = side, mark = at(35) })
        assert.near(lock(side, 0.10), stop_of(actions), 1e-9)
        assert.same({ step = 2 }, state)
      end)

      it("never loosens a tighter stop", function()
        local tighter = lock(side, 0.10) + side * 0.5
        local actions = kit.eval(rule, position { side = side, mark = at(35), stop = tighter })
        assert.same({}, actions)
      end)

      it("tightens a looser stop", function()
        local looser = 100 - side * 2
        local actions = kit.eval(rule, position { side = side, mark = at(12), stop = looser })
        assert.near(lock(side, 0), stop_of(actions), 1e-9)
      end)

      it("fires a step once: silent while its stop is in place, even as ROE moves", function()
        local _, state = kit.eval(rule, position { side = side, mark = at(12) })
        for _, pct in ipairs({ 12, 19.9, 10, 9, 5 }) do
          local actions, st = kit.eval(rule, position { side = side, mark = at(pct),
                                                        stop = lock(side, 0) }, nil, nil, state)
          assert.same({}, actions)
          assert.same({ step = 1 }, st)
        end
      end)

      it("keeps a reached step when ROE falls back, and re-proposes a lock not yet placed",
        function()
          local actions, state = kit.eval(rule, position { side = side, mark = at(5) },
                                          nil, nil, { step = 1 })
          assert.near(lock(side, 0), stop_of(actions), 1e-9)
          assert.same({ step = 1 }, state)
        end)

      it("answers fills (an add changes the entry) but not signals", function()
        local pos = position { side = side, mark = at(12) }
        assert.equal(1, #kit.eval(rule, pos, { trigger = "fill" }))
        assert.same({}, kit.eval(rule, pos, { trigger = "signal" }))
      end)
    end)
  end

  describe("after an add-on", function()
    -- 1 BTC more at 102: 2 BTC at an average of 101 with 20 of margin.
    local function added(mark, stop)
      return position { side = 1, qty = 2, entry = 101, margin = 20, mark = mark, stop = stop }
    end

    it("measures the lock from the new average entry", function()
      local old_stop = lock(1, 0)
      local actions = kit.eval(rule, added(102, old_stop), nil, nil, { step = 1 })
      assert.near(lock(1, 0, 101, 2, 20), stop_of(actions), 1e-9)
      assert.is_true(stop_of(actions) > 101)
    end)

    it("does not propose a lock that would sit at or beyond the mark", function()
      -- step 2 was reached before the add; from the new entry its lock
      -- (10% ROE, about 102.05) is above the mark of 101.5.
      local actions, state = kit.eval(rule, added(101.5, lock(1, 0)), nil, nil, { step = 2 })
      assert.same({}, actions)
      assert.same({ step = 2 }, state)
    end)
  end)

  describe("min_move", function()
    -- mark 128 and min_move 1/128: the threshold is exactly 1.0 of price.
    -- Without fees the step-2 lock is exactly 101.
    local params = { min_move = 1 / 128 }
    local function pos(stop)
      return { side = 1, qty = 1, entry = 100, margin = 10, mark = 128, stop = stop }
    end

    it("proposes a move of exactly min_move × mark (>=)", function()
      local actions = kit.eval(rule, pos(100), nil, params, { step = 2 })
      assert.equal(101, stop_of(actions))
    end)

    it("skips a smaller improvement (no churn)", function()
      assert.same({}, kit.eval(rule, pos(100.5), nil, params, { step = 2 }))
    end)

    it("at 0 still never re-proposes the stop already in place", function()
      assert.same({}, kit.eval(rule, pos(101), nil, { min_move = 0 }, { step = 2 }))
    end)

    it("does not apply when there is no stop at all", function()
      assert.equal(101, stop_of(kit.eval(rule, pos(0), nil, params, { step = 2 })))
    end)

    it("defaults to 0.05% of the mark", function()
      assert.equal(0.0005, kit.params(rule).min_move)
      local base = lock(1, 0.10)
      -- at mark 102 the default threshold is 0.051
      local near_miss = position { side = 1, mark = 102, stop = base - 0.05 }
      local enough = position { side = 1, mark = 102, stop = base - 0.052 }
      assert.same({}, kit.eval(rule, near_miss, nil, nil, { step = 2 }))
      assert.equal(1, #kit.eval(rule, enough, nil, nil, { step = 2 }))
    end)
  end)

  describe("state across restarts and reloads", function()
    it("continues from the persisted step", function()
      local _, state = kit.eval(rule, position { side = -1, mark = 98.5 })
      state = kit.persist(state) -- stored as JSON, read back after a restart
      assert.same({ step = 1 }, state)
      local placed = position { side = -1, mark = 98.8, stop = lock(-1, 0) }
      assert.same({}, kit.eval(rule, placed, nil, nil, state))
      local actions, st = kit.eval(rule, position { side = -1, mark = 98, stop = lock(-1, 0) },
                                   nil, nil, kit.persist(state))
      assert.near(lock(-1, 0.10), stop_of(actions), 1e-9)
      assert.same({ step = 2 }, st)
    end)

    it("honours the host's pos.stop_step when the state was lost", function()
      local actions, state = kit.eval(rule, position { side = 1, mark = 101.5, stop_step = 2 })
      assert.near(lock(1, 0.10), stop_of(actions), 1e-9)
      assert.same({ step = 2 }, state)
    end)

    it("uses the highest step left when a reload shortened the ladder", function()
      local params = { steps = { { roe = 0.10, lock_roe = 0 } } }
      local actions = kit.eval(rule, position { side = 1, mark = 103 }, nil, params, { step = 2 })
      assert.near(lock(1, 0), stop_of(actions), 1e-9)
    end)

    it("takes a ladder from config whole, never blended with the default", function()
      local params = kit.params(rule, { steps = { { roe = 0.05, lock_roe = 0.01 } } })
      assert.equal(1, #params.steps)
      local actions = kit.eval(rule, position { side = 1, mark = 100.5 }, nil,
                               { steps = params.steps })
      assert.near(lock(1, 0.01), stop_of(actions), 1e-9)
    end)
  end)

  describe("bad input", function()
    it("survives every bad view field: no error, nothing invalid", function()
      assert.same({}, kit.bad_input_failures(rule, position { side = 1, mark = 103 }, {}))
    end)

    local NOTHING = {
      { "zero quantity", { qty = 0, roe = 0.3 } },
      { "NaN ROE", { roe = 0 / 0 } },
      { "no side", { side = 0, roe = 0.3 } },
      { "zero margin", { margin = 0, roe = 0.3 } },
      { "NaN entry", { entry = 0 / 0, roe = 0.3 } },
      { "NaN current stop", { stop = 0 / 0 } },
    }
    for _, case in ipairs(NOTHING) do
      it("proposes nothing with " .. case[1], function()
        local pos = kit.with(position { side = 1, mark = 103 }, case[2])
        assert.same({}, kit.eval(rule, pos))
      end)
    end

    it("proposes nothing with a NaN mark", function()
      assert.same({}, kit.eval(rule, position { side = 1, roe = 0.3 }, { mark = 0 / 0 }))
    end)

    local BAD_PARAMS = {
      { steps = "none" }, { steps = { { roe = "high", lock_roe = 0 } } },
      { steps = { 0.1, 0.2 } }, { min_move = -1 }, { min_move = 0 / 0 },
    }
    for i, params in ipairs(BAD_PARAMS) do
      it("proposes nothing with bad params #" .. i, function()
        local actions = kit.eval(rule, position { side = 1, mark = 103 }, nil, params)
        assert.same({}, actions)
      end)
    end

    it("treats a garbled state step as none", function()
      for _, bad in ipairs({ "two", -3, true }) do
        local actions, state = kit.eval(rule, position { side = 1, mark = 101.5 }, nil, nil,
                                        { step = bad })
        assert.near(lock(1, 0), stop_of(actions), 1e-9)
        assert.same({ step = 1 }, state)
      end
    end)
  end)
end)
