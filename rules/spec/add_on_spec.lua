-- rules/add_on.lua: geometric add-ons to a winner on a same-direction signal.
--
-- Before any add: 2 BTC at 100 with 20 of margin (Q0 = 2), so 1% of price
-- is 10% ROE.  After the first add (1 BTC) the host recomputes the entry
-- and the margin; the specs below give that position as 3 BTC with 30 of
-- margin and ROE measured from its new average entry (here kept at 100 to
-- keep the arithmetic exact).
local kit = require("s6.testkit")

local rule = kit.load("rules/add_on.lua")

local function first(side, mark, extra)
  return kit.with({ side = side, qty = 2, entry = 100, margin = 20, mark = mark,
                    entry_quantities = { 2 } }, extra)
end

local function second(side, mark, extra)
  return kit.with({ side = side, qty = 3, entry = 100, margin = 30, mark = mark,
                    entry_quantities = { 2, 1 }, add_on_count = 1, last_add_at = 1000 }, extra)
end

local function added(actions) return kit.one(actions, "add").qty end

describe("add_on", function()
  it("passes its own self-checks", function()
    assert.is_true(kit.run_checks(rule) >= 3)
  end)

  it("defaults to 5% then 10% ROE, a cap of 2, 300 s apart, γ = 0.5", function()
    assert.same({ thresholds = { 0.05, 0.10 }, cap = 2, min_interval = 300, gamma = 0.5 },
                kit.params(rule))
  end)

  for _, side in ipairs({ 1, -1 }) do
    local function at(d) return 100 + side * d end -- mark d in the position's favour
    local signal = { signal_side = side, now = 5000 }

    describe(side == 1 and "a long" or "a short", function()
      it("adds Q0·γ at exactly 5% ROE (>=) on a signal its way", function()
        local pos = first(side, at(0.5))
        assert.equal(0.05, kit.position(pos).roe)
        local actions, state = kit.eval(rule, pos, signal)
        assert.equal(1, added(actions)) -- 2 · 0.5
        assert.same({ proposed_at = 5000 }, state)
      end)

      it("does not add below 5% ROE", function()
        assert.same({}, kit.eval(rule, first(side, at(0.49)), signal))
      end)

      it("does not add on a signal the other way, or with none", function()
        assert.same({}, kit.eval(rule, first(side, at(2)), { signal_side = -side, now = 5000 }))
        assert.same({}, kit.eval(rule, first(side, at(2)), { signal_side = 0, now = 5000 }))
      end)

      it("needs 10% ROE for the second add, sized Q0·γ²", function()
        assert.same({}, kit.eval(rule, second(side, at(0.99)), signal))
        local pos = second(side, at(1))
        assert.equal(0.10, kit.position(pos).roe)
        assert.equal(0.5, added(kit.eval(rule, pos, signal)))
      end)

      it("stops at the cap of 2 adds", function()
        local pos = second(side, at(5), { add_on_count = 2, qty = 3.5 })
        assert.same({}, kit.eval(rule, pos, signal))
        -- even when a third threshold is listed
        assert.same({}, kit.eval(rule, pos, signal, { thresholds = { 0.05, 0.10, 0.15 } }))
      end)
    end)
  end

  describe("the interval", function()
    local function at_time(now, extra)
      return kit.eval(rule, second(1, 102, extra), { signal_side = 1, now = now })
    end

    it("waits min_interval after the last add: 299 s no, 300 s yes (>=)", function()
      assert.same({}, at_time(1299))
      assert.equal(0.5, added(at_time(1300)))
    end)

    it("does not wait before the first add", function()
      assert.equal(1, added(kit.eval(rule, first(1, 101), { signal_side = 1, now = 5 })))
    end)

    it("does not re-propose an add that has not filled before the interval", function()
      local pos = first(1, 101)
      local _, state = kit.eval(rule, pos, { signal_side = 1, now = 1000 })
      state = kit.persist(state) -- survives a restart
      assert.same({}, kit.eval(rule, pos, { signal_side = 1, now = 1299 }, nil, state))
      local actions, st = kit.eval(rule, pos, { signal_side = 1, now = 1300 }, nil, state)
      assert.equal(1, added(actions))
      assert.same({ proposed_at = 1300 }, st)
    end)
  end)

  describe("parameters", function()
    it("sizes with γ", function()
      assert.near(1.6, added(kit.eval(rule, first(1, 101), { signal_side = 1 }, { gamma = 0.8 })),
                  1e-12)
    end)

    it("adds no more than the thresholds listed, whatever the cap", function()
      local pos = second(1, 105, { add_on_count = 2, qty = 3.5 })
      assert.same({}, kit.eval(rule, pos, { signal_side = 1, now = 5000 }, { cap = 3 }))
      local three = { cap = 3, thresholds = { 0.05, 0.10, 0.15 } }
      assert.equal(0.25, added(kit.eval(rule, pos, { signal_side = 1, now = 5000 }, three)))
    end)
  end)

  it("answers signals and ticks, not fills or price moves", function()
    local pos = first(1, 102)
    assert.equal(1, #kit.eval(rule, pos, { signal_side = 1, trigger = "tick" }))
    assert.same({}, kit.eval(rule, pos, { signal_side = 1, trigger = "fill" }))
    assert.same({}, kit.eval(rule, pos, { signal_side = 1, trigger = "price" }))
  end)

  describe("bad input", function()
    it("survives every bad view field: no error, nothing invalid", function()
      assert.same({}, kit.bad_input_failures(rule, first(1, 102), { signal_side = 1, now = 5000 }))
    end)

    for _, entries in ipairs({ {}, { 0 / 0 }, { 0 }, { -1 } }) do
      it("adds nothing when entry_quantities[1] is " .. tostring(entries[1]), function()
        local pos = first(1, 102, { entry_quantities = entries })
        assert.same({}, kit.eval(rule, pos, { signal_side = 1 }))
      end)
    end

    local BAD_VIEWS = {
      { "a fractional add count", { add_on_count = 0.5 }, {} },
      { "a NaN ROE", { roe = 0 / 0 }, {} },
      { "a NaN clock", {}, { now = 0 / 0 } },
      { "no side", { side = 0 }, { signal_side = 0 } },
    }
    for _, case in ipairs(BAD_VIEWS) do
      it("adds nothing with " .. case[1], function()
        local mkt = kit.with({ signal_side = 1, now = 5000 }, case[3])
        assert.same({}, kit.eval(rule, first(1, 102, case[2]), mkt))
      end)
    end

    local BAD_PARAMS = {
      { gamma = 1 }, { gamma = 0 }, { gamma = 1.5 }, { gamma = "half" }, { cap = "two" },
      { thresholds = "low" }, { thresholds = { "5%" } }, { min_interval = "5 min" },
    }
    for i, params in ipairs(BAD_PARAMS) do
      it("adds nothing with bad params #" .. i, function()
        assert.same({}, kit.eval(rule, first(1, 102), { signal_side = 1, now = 5000 }, params))
      end)
    end
  end)
end)
