-- rules/tp_ladder.lua: take-profit rungs, each fired once.
--
-- The position: 3 BTC at 100 with 25 of isolated margin (entries of 1 then
-- 2 BTC), so a mark 1 away from the entry is exactly 3/25 = 12% ROE.
local kit = require("s6.testkit")

local rule = kit.load("rules/tp_ladder.lua")

local function position(side, mark, extra)
  return kit.with({ side = side, qty = 3, entry = 100, margin = 25, mark = mark,
                    entry_quantities = { 1, 2 } }, extra)
end

describe("tp_ladder", function()
  it("passes its own self-checks", function()
    assert.is_true(kit.run_checks(rule) >= 3)
  end)

  it("defaults to one rung: ROE >= 12% closes the first entry's quantity", function()
    assert.same({ { roe = 0.12, entry = 1 } }, kit.params(rule).steps)
  end)

  for _, side in ipairs({ 1, -1 }) do
    local function at(d) return 100 + side * d end -- mark d in the position's favour

    describe(side == 1 and "a long" or "a short", function()
      it("does nothing below 12% ROE", function()
        local actions, state = kit.eval(rule, position(side, at(0.99)))
        assert.same({}, actions)
        assert.same({}, state)
      end)

      it("at exactly 12% ROE (>=) reduces by entry_quantities[1]", function()
        local pos = position(side, at(1))
        assert.equal(0.12, kit.position(pos).roe)
        local actions, state = kit.eval(rule, pos)
        assert.equal(1, kit.one(actions, "reduce").qty)
        assert.same({ step = 1 }, state)
      end)

      it("closes the whole position when the first entry is all that is left", function()
        kit.one(kit.eval(rule, position(side, at(8), { qty = 1 })), "close")
      end)

      it("closes rather than reduce by more than the position", function()
        kit.one(kit.eval(rule, position(side, at(8), { qty = 0.5 })), "close")
      end)

      it("fires a rung once, by its own state or by the host's tp_step", function()
        assert.same({}, kit.eval(rule, position(side, at(3)), nil, nil, { step = 1 }))
        assert.same({}, kit.eval(rule, position(side, at(3), { tp_step = 1 })))
      end)
    end)
  end

  describe("a ladder of fractions", function()
    local params = { steps = {
      { roe = 0.10, fraction = 0.5 },
      { roe = 0.20, fraction = 0.5 },
      { roe = 0.30, fraction = 1 },
    } }

    it("climbs one rung per evaluation and the next after each fill", function()
      -- ROE 36% passes all three rungs at once
      local pos = position(-1, 97)
      local a, state = kit.eval(rule, pos, nil, params)
      assert.equal(0.5, kit.one(a, "reduce").fraction)
      assert.same({ step = 1 }, state)
      -- the fill halves the position; the ladder re-evaluates on it
      pos = position(-1, 97, { qty = 1.5, margin = 12.5 })
      a, state = kit.eval(rule, pos, { trigger = "fill" }, params, kit.persist(state))
      assert.equal(0.5, kit.one(a, "reduce").fraction)
      assert.same({ step = 2 }, state)
      pos = position(-1, 97, { qty = 0.75, margin = 6.25 })
      a, state = kit.eval(rule, pos, { trigger = "fill" }, params, kit.persist(state))
      kit.one(a, "close")
      assert.same({ step = 3 }, state)
      assert.same({}, kit.eval(rule, pos, nil, params, state))
    end)

    it("waits at a rung whose ROE is not reached", function()
      local a, state = kit.eval(rule, position(1, 101.5), nil, params, { step = 1 })
      assert.same({}, a)
      assert.same({ step = 1 }, state)
    end)

    it("closes for a fraction of 1 or more", function()
      local over = { steps = { { roe = 0.1, fraction = 1.5 } } }
      kit.one(kit.eval(rule, position(1, 102), nil, over), "close")
    end)
  end)

  it("closes the n-th entry's quantity with entry = n", function()
    local params = { steps = { { roe = 0.12, entry = 2 } } }
    local actions = kit.eval(rule, position(1, 101, { qty = 4 }), nil, params)
    assert.equal(2, kit.one(actions, "reduce").qty)
  end)

  it("answers fills but not signals", function()
    assert.equal(1, #kit.eval(rule, position(1, 102), { trigger = "fill" }))
    assert.same({}, kit.eval(rule, position(1, 102), { trigger = "signal" }))
  end)

  describe("bad input", function()
    it("survives every bad view field: no error, nothing invalid", function()
      assert.same({}, kit.bad_input_failures(rule, position(1, 102), {}))
    end)

    for _, entries in ipairs({ {}, { 0 / 0 }, { 0 }, { -1 } }) do
      it("waits, without advancing, when entry_quantities[1] is " .. tostring(entries[1]),
        function()
          local a, state = kit.eval(rule, position(1, 102, { entry_quantities = entries }))
          assert.same({}, a)
          assert.same({}, state)
        end)
    end

    it("proposes nothing for a zero quantity or a NaN ROE", function()
      assert.same({}, kit.eval(rule, position(1, 102, { qty = 0, roe = 0.5 })))
      assert.same({}, kit.eval(rule, position(1, 102, { roe = 0 / 0 })))
    end)

    local BAD_STEPS = {
      "none", { 0.12 }, { { entry = 1 } }, { { roe = "high", entry = 1 } },
      { { roe = 0.1, fraction = 0 } }, { { roe = 0.1, fraction = -0.5 } },
      { { roe = 0.1, fraction = 0 / 0 } }, { { roe = 0.1, fraction = "half" } },
      { { roe = 0.1, entry = 0 } }, { { roe = 0.1, entry = 1.5 } },
      { { roe = 0.1, entry = "first" } }, { { roe = 0.1, entry = 9 } }, { { roe = 0.1 } },
    }
    for i, steps in ipairs(BAD_STEPS) do
      it("proposes nothing with bad steps #" .. i, function()
        local a, state = kit.eval(rule, position(1, 102), nil, { steps = steps })
        assert.same({}, a)
        assert.same({}, state)
      end)
    end
  end)
end)
