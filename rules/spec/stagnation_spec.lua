-- rules/stagnation.lua: one STAGNATED event for a position open longer
-- than T whose |ROE| stays below ρ_min; re-armed when ROE leaves the band.
--
-- Positions are opened at host time 0, so mkt.now is the duration; ROE is
-- given directly where a boundary needs it exact.
local kit = require("s6.testkit")

local rule = kit.load("rules/stagnation.lua")

local H = 3600

local function eval(roe, now, state, side, params)
  return kit.eval(rule, { side = side or 1, entry = 100, margin = 10, roe = roe, opened_at = 0 },
                  { now = now }, params, state)
end

local function stagnated(actions) return kit.one(actions, "event", "STAGNATED") end

describe("stagnation", function()
  it("passes its own self-checks", function()
    assert.is_true(kit.run_checks(rule) >= 3)
  end)

  it("defaults to 4 h and a band of ±2% ROE", function()
    assert.same({ t_stagnation = 14400, roe_min = 0.02 }, kit.params(rule))
  end)

  for _, side in ipairs({ 1, -1 }) do
    describe(side == 1 and "a long" or "a short", function()
      it("is flagged after 4 h with ROE inside the band, with a reason", function()
        local actions, state = eval(0.01, 4 * H + 1, nil, side)
        assert.is_string(stagnated(actions).reason)
        assert.same({ flagged = true }, state)
      end)

      it("is flagged when losing a little too", function()
        stagnated(eval(-0.015, 5 * H, nil, side))
      end)

      it("is not flagged at exactly 4 h (duration must exceed T)", function()
        assert.same({}, eval(0.01, 4 * H, nil, side))
      end)

      it("is not flagged at exactly |ROE| = 2% (|ROE| must be below ρ_min)", function()
        assert.same({}, eval(0.02, 5 * H, nil, side))
        assert.same({}, eval(-0.02, 5 * H, nil, side))
        stagnated(eval(0.0199, 5 * H, nil, side))
      end)

      it("derives ROE from the mark like the host (0.1% of price = 1% ROE)", function()
        local pos = { side = side, entry = 100, margin = 10, mark = 100 + side * 0.1 }
        stagnated(kit.eval(rule, pos, { now = 5 * H }))
        pos.mark = 100 + side * 0.5
        assert.same({}, kit.eval(rule, pos, { now = 5 * H }))
      end)
    end)
  end

  describe("once, until ROE leaves the band", function()
    it("does not repeat while flagged", function()
      local _, state = eval(0.01, 5 * H)
      for _, now in ipairs({ 5 * H + 30, 6 * H, 48 * H }) do
        local actions, st = eval(0.005, now, state)
        assert.same({}, actions)
        assert.same({ flagged = true }, st)
      end
    end)

    it("re-arms when ROE leaves the band, and flags again when it sinks back", function()
      local _, state = eval(0.01, 5 * H)
      local actions
      actions, state = eval(0.03, 5 * H + 60, kit.persist(state))
      assert.same({}, actions)
      assert.same({ flagged = false }, state)
      actions, state = eval(-0.01, 6 * H, kit.persist(state))
      stagnated(actions)
      assert.same({ flagged = true }, state)
    end)

    it("stays flagged inside the band even if a reload lengthens T", function()
      local params = { t_stagnation = 8 * H }
      local actions, state = eval(0.01, 5 * H, { flagged = true }, 1, params)
      assert.same({}, actions)
      assert.same({ flagged = true }, state)
      assert.same({}, eval(0.01, 9 * H, state, 1, params))
    end)

    it("re-arms at exactly |ROE| = ρ_min", function()
      local _, state = eval(-0.02, 5 * H, { flagged = true })
      assert.same({ flagged = false }, state)
    end)
  end)

  it("takes T and ρ_min from its params", function()
    local params = { t_stagnation = 600, roe_min = 0.05 }
    stagnated(eval(0.04, 601, nil, 1, params))
    assert.same({}, eval(0.04, 600, nil, 1, params))
  end)

  it("answers the manage tick only", function()
    local pos = { side = 1, entry = 100, margin = 10, roe = 0.01, opened_at = 0 }
    assert.same({}, kit.eval(rule, pos, { now = 5 * H, trigger = "price" }))
    assert.same({}, kit.eval(rule, pos, { now = 5 * H, trigger = "fill" }))
  end)

  describe("bad input", function()
    it("survives every bad view field: no error, nothing invalid", function()
      local base = { side = 1, entry = 100, margin = 10, roe = 0.01, opened_at = 0 }
      for _, state in ipairs({ {}, { flagged = true } }) do
        assert.same({}, kit.bad_input_failures(rule, base, { now = 5 * H }, nil, state))
      end
    end)

    it("gives no verdict, and keeps its state, on a NaN ROE or clock", function()
      for _, state in ipairs({ {}, { flagged = true } }) do
        local a, st = eval(0 / 0, 5 * H, state)
        assert.same({}, a)
        assert.same(state, st)
        a, st = eval(0.01, 0 / 0, state)
        assert.same({}, a)
        assert.same(state, st)
      end
    end)

    it("gives no verdict for a position opened in the future", function()
      local pos = { side = 1, entry = 100, margin = 10, roe = 0.01, opened_at = 9 * H }
      assert.same({}, kit.eval(rule, pos, { now = 5 * H }))
    end)

    local BAD_PARAMS = {
      { t_stagnation = 0 }, { t_stagnation = "4h" }, { t_stagnation = 0 / 0 },
      { roe_min = 0 }, { roe_min = -0.02 }, { roe_min = "2%" },
    }
    for i, params in ipairs(BAD_PARAMS) do
      it("proposes nothing, and keeps its state, with bad params #" .. i, function()
        assert.same({}, eval(0.01, 5 * H, nil, 1, params))
        local actions, state = eval(0.01, 5 * H, { flagged = true }, 1, params)
        assert.same({}, actions)
        assert.same({ flagged = true }, state)
      end)
    end
  end)
end)
